"""Geometric multigrid for cell-centred stencil matrices, written against the array namespace.

The hierarchy coarsens the box grid by two along every axis longer than three cells (a coarse cell is
the union of two fine cells per axis) and interpolates cell-centred values linearly: along one axis the
fine cells ``2J`` and ``2J+1`` lie a quarter of a coarse cell left and right of the coarse centre ``J``,
so

.. math:: (P e)_{2J} = \\tfrac34 e_J + \\tfrac14 e_{J-1}, \\qquad (P e)_{2J+1} = \\tfrac34 e_J + \\tfrac14 e_{J+1},

with the missing neighbour's weight given to ``e_J`` at a wall (the mirror image of a zero-flux wall);
in ``d`` dimensions ``P`` is the Kronecker product of the per-axis matrices.  Coarse operators are
Galerkin products ``A_{l+1} = Pᵀ A_l P``, so no equation has to be re-discretised and the coarse
problems inherit the variable coefficients (drift, mobility, the confining potential of a symmetrised
Fokker–Planck operator).

Implicit time steppers solve ``(I − cK) x = b`` for a few step sizes ``c`` with the same ``K``; a
:class:`Multigrid` holds the Galerkin hierarchies of ``I`` and of ``K`` once, and :meth:`Multigrid.cycle`
combines them for any ``c`` at the cost of a sparse sum per level (no new matrix products).

One V-cycle (:class:`VCycle`): ``ν`` damped-Jacobi sweeps (two on the finest level, one on the coarser ones) ``x ← x + ω D^{-1}(r − A x)`` with
``ω = 4/(3 λ)`` with Gershgorin's bound ``λ ≥ λ_max(D^{-1}A)`` (for the Laplacian ``λ = 2`` and
``ω = 2/3``, the weight that damps the upper half of its spectrum best; an upper bound keeps every
sweep a contraction, so the cycle stays positive definite), the coarse correction, and ``ν``
sweeps again; the coarsest level (at most ``coarse_size`` cells) is solved by a dense inverse
computed at set-up.  Pre- and post-smoothing are the same symmetric sweeps, so for a symmetric
positive definite ``A`` the cycle is a symmetric positive definite preconditioner, fit for conjugate
gradients (:func:`fieldflow.core.linalg.krylov.cg`).  Everything is sparse matrix–vector products and
elementwise operations in the grid's namespace: the same cycle runs on CuPy without a host transfer.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..grids import Grid
from .stencil import sparse_modules

__all__ = ["Multigrid", "VCycle", "interpolation", "prolong", "restrict"]


def interpolation(xp: Any, sp: Any, n: int) -> tuple[Any, int]:
    """The ``n × m`` linear cell-centred interpolation from ``m = ceil(n/2)`` coarse cells (see above)."""
    m = (n + 1) // 2
    fine = xp.arange(n)
    parent = fine // 2
    side = xp.where(fine % 2 == 0, -1, 1)  # the other coarse neighbour: left for even cells, right for odd
    other = parent + side
    inside = (other >= 0) & (other < m)
    other = xp.where(inside, other, parent)
    rows = xp.concatenate([fine, fine])
    cols = xp.concatenate([parent, other])
    vals = xp.concatenate([xp.where(inside, 0.75, 1.0), xp.where(inside, 0.25, 0.0)])
    P = sp.coo_matrix((vals, (rows, cols)), shape=(n, m)).tocsr()
    return P, m


def prolong(xp: Any, e: Any, fine: Sequence[int]) -> Any:
    """``P e`` for a coarse grid array ``e`` (the Kronecker product applied one axis at a time)."""
    for axis, n in enumerate(fine):
        if e.shape[axis] == n:
            continue
        c = xp.moveaxis(e, axis, 0)
        left = xp.concatenate([c[:1], c[:-1]])  # e_{J−1}, mirrored at the wall
        right = xp.concatenate([c[1:], c[-1:]])  # e_{J+1}, mirrored at the wall
        out = xp.empty((n,) + c.shape[1:], dtype=c.dtype)
        out[0::2] = 0.75 * c + 0.25 * left
        half = n // 2
        out[1::2] = 0.75 * c[:half] + 0.25 * right[:half]
        e = xp.moveaxis(out, 0, axis)
    return e


def restrict(xp: Any, f: Any, coarse: Sequence[int]) -> Any:
    """``Pᵀ f`` for a fine grid array ``f`` (the transpose of :func:`prolong`)."""
    for axis, m in enumerate(coarse):
        if f.shape[axis] == m:
            continue
        c = xp.moveaxis(f, axis, 0)
        even, odd = c[0::2], c[1::2]
        k = odd.shape[0]
        out = 0.75 * even
        out[:k] += 0.75 * odd
        out[:-1] += 0.25 * even[1:]  # fine 2J (J ≥ 1) gives a quarter to J − 1
        out[:1] += 0.25 * even[:1]  # fine 0: its left neighbour is the wall, the quarter stays at 0
        inner = min(k, m - 1)
        out[1:inner + 1] += 0.25 * odd[:inner]  # fine 2J + 1 gives a quarter to J + 1
        if k == m:
            out[m - 1:] += 0.25 * odd[m - 1:]  # the last odd cell's right neighbour is the wall
        f = xp.moveaxis(out, 0, axis)
    return f


def _prolongation(xp: Any, sp: Any, shape: Sequence[int]) -> tuple[Any, tuple[int, ...]]:
    """``P`` for the grid ``shape`` (axes of at most three cells are not coarsened) and the coarse shape."""
    P, coarse = None, []
    for n in shape:
        if n > 3:
            Pa, m = interpolation(xp, sp, n)
        else:
            Pa, m = sp.identity(n, format="csr"), n
        coarse.append(m)
        P = Pa if P is None else sp.kron(P, Pa, format="csr")
    return P, tuple(coarse)


class Multigrid:
    """Galerkin hierarchies of the pencil ``a·I + b·K`` on a box grid.

    Parameters
    ----------
    K : sparse matrix
        A stencil matrix on ``grid`` (rows in the C order of the grid's cells), in the grid's sparse
        namespace.
    grid : Grid
        Fixes the shape, the namespace and the coarsening.
    identity : bool
        Also build the hierarchy of ``I`` (``PᵀP`` on the coarse levels), needed for ``a ≠ 0``.
    coarse_size : int
        Coarsen until a level has at most this many cells (or no axis is longer than three cells); that
        level is solved exactly.
    sweeps, coarse_sweeps : int
        Jacobi sweeps before and after each coarse correction on the finest level, and on the coarser ones
        (one there: measured on the 3D Fokker–Planck systems, a second sweep on the wide Galerkin stencils
        saves no iteration and costs 20 % of the cycle).
    """

    def __init__(self, K: Any, grid: Grid, identity: bool = True, coarse_size: int = 512, sweeps: int = 2,
                 coarse_sweeps: int = 1):
        if sweeps < 1 or coarse_sweeps < 1:
            raise ValueError(f"sweeps and coarse_sweeps must be at least 1, got {sweeps} and {coarse_sweeps}")
        self.grid, self.xp, self.sweeps, self.coarse_sweeps = grid, grid.xp, sweeps, coarse_sweeps
        self.sp, _ = sparse_modules(self.xp)
        K = K.tocsr()
        shape = tuple(grid.shape)
        self.K = [K]
        self.M: list[Any] = [None]  # the identity of the finest level is implicit
        self.P: list[Any] = []
        self.shapes = [shape]
        self.identity = identity
        while _size(shape) > coarse_size and max(shape) > 3:
            P, shape = _prolongation(self.xp, self.sp, shape)
            R = P.T.tocsr()
            self.P.append((P, R))
            self.K.append((R @ (self.K[-1] @ P)).tocsr())
            if identity:
                previous = self.M[-1]
                self.M.append((R @ P).tocsr() if previous is None else (R @ (previous @ P)).tocsr())
            self.shapes.append(shape)
        # Σ_j |K_ij| and Σ_j |M_ij| per level: a·M + b·K has row sums ≤ |a|·(Σ|M|) + |b|·(Σ|K|), which
        # bounds its Gershgorin radius without a matrix product per step size
        self._abs_rows = [(_abs_row_sums(K, self.xp), None if M is None else _abs_row_sums(M, self.xp))
                          for K, M in zip(self.K, self.M if identity else [None] * len(self.K))]
        self._cycles: dict[tuple[float, float], VCycle] = {}

    @property
    def levels(self) -> int:
        """Number of levels (the finest included)."""
        return len(self.K)

    def cycle(self, a: float = 1.0, b: float = -1.0) -> "VCycle":
        """The V-cycle approximating ``(a·I + b·K)^{-1}`` (cached per ``(a, b)``, a few at a time)."""
        key = (float(a), float(b))
        cycle = self._cycles.get(key)
        if cycle is None:
            if a != 0.0 and not self.identity:
                raise ValueError("this hierarchy was built without the identity (identity=False); a must be 0")
            operators, bounds = [], []
            for level, K in enumerate(self.K):
                k_rows, m_rows = self._abs_rows[level]
                if a == 0.0:
                    operators.append(b * K)
                    bounds.append(abs(b) * k_rows)
                    continue
                M = self.sp.identity(K.shape[0], format="csr") if level == 0 else self.M[level]
                operators.append((a * M + b * K).tocsr())
                bounds.append(abs(b) * k_rows + abs(a) * (1.0 if m_rows is None else m_rows))
            cycle = VCycle(operators, self.P, self.xp, (self.sweeps, self.coarse_sweeps), bounds, self.shapes)
            if len(self._cycles) >= 8:
                self._cycles.pop(next(iter(self._cycles)))
            self._cycles[key] = cycle
        return cycle


class VCycle:
    """One multigrid V-cycle for the level operators ``A_l`` (a ``matvec`` on flat vectors; see the module)."""

    def __init__(self, operators: list[Any], transfers: list[tuple[Any, Any]], xp: Any, sweeps: tuple[int, int],
                 row_bounds: list[Any] | None = None, shapes: list[tuple[int, ...]] | None = None):
        self.A, self.transfers, self.xp = operators, transfers, xp
        self.sweeps = [sweeps[0]] + [sweeps[1]] * (len(operators) - 1)
        self.shapes = shapes
        self.smoothers = []
        for level, A in enumerate(operators[:-1]):
            d = A.diagonal()
            inverse = 1.0 / xp.where(d == 0, 1.0, d)
            rows = _abs_row_sums(A, xp) if row_bounds is None else row_bounds[level]
            self.smoothers.append(4.0 / (3.0 * xp.max(rows * xp.abs(inverse))) * inverse)
        self.coarse_inverse = xp.linalg.inv(operators[-1].toarray())

    def matvec(self, r: Any) -> Any:
        return self._cycle(0, r)

    __call__ = matvec

    def _cycle(self, level: int, r: Any) -> Any:
        if level == len(self.A) - 1:
            return self.coarse_inverse @ r
        A, D, sweeps = self.A[level], self.smoothers[level], self.sweeps[level]
        x = D * r
        for _ in range(sweeps - 1):
            x = x + D * (r - A @ x)
        if self.shapes is None:
            P, R = self.transfers[level]
            x = x + P @ self._cycle(level + 1, R @ (r - A @ x))
        else:  # the same products, axis by axis on the grid (cheaper than the Kronecker-product matrices)
            fine, coarse = self.shapes[level], self.shapes[level + 1]
            residual = restrict(self.xp, (r - A @ x).reshape(fine), coarse).ravel()
            x = x + prolong(self.xp, self._cycle(level + 1, residual).reshape(coarse), fine).ravel()
        for _ in range(sweeps):
            x = x + D * (r - A @ x)
        return x


def _abs_row_sums(A: Any, xp: Any) -> Any:
    """``Σ_j |A_ij|`` per row (with the diagonal: Gershgorin's ``λ_max(D^{-1}A) ≤ max_i Σ_j |A_ij|/|A_ii|``)."""
    return A.multiply(A).sqrt() @ xp.ones(A.shape[0])


def _size(shape: Sequence[int]) -> int:
    out = 1
    for n in shape:
        out *= n
    return out
