"""The linearised McKean–Vlasov operator at a stationary state: Galerkin matrices and spectrum.

At a stationary state ``q`` of ``∂t q = ½ q'' − K (q (W'*q))'`` (DESIGN.md §4) a mean-zero
perturbation ``u`` evolves to first order by

.. math::  L_q u = \\tfrac12 u'' - K\\big(q\\,(W'*u) + u\\,(W'*q)\\big)' .

**Fourier–Galerkin matrix.**  Write ``u = Σ_n û_n e^{inθ}``, ``û_n = (2π)^{-1}∫u e^{-inθ}``.  With
``W = Σ_k c_k cos kθ`` the convolution is the multiplier ``(W'*u)^_n = iπ n c_{|n|} û_n`` and a
product ``q v`` is the discrete convolution ``(qv)^_m = Σ_n q̂_{m−n} v̂_n``, so on the modes
``0 < |m|, |n| ≤ N``

.. math::  (L_N)_{mn} = -\\tfrac{m^2}{2}\\,\\delta_{mn}
           + K\\pi\\, m\\, \\hat q_{m-n}\\,\\big(n\\,c_{|n|} + (m-n)\\,c_{|m-n|}\\big).

The ``q̂_k`` come from one FFT of ``q``; every product with ``q`` is the exact (alias-free)
Galerkin product, i.e. a Toeplitz matrix of ``q̂`` built with index arrays (or, for the sparse
solver, from its numerically non-zero diagonals) — no loops over modes.  Matrices are returned in
the real basis ``cos nθ, sin nθ`` (``n = 1..N``).

**Self-adjoint form.**  Because ``q`` is stationary, ``(log q)' = 2K W'*q =: ℓ`` and

.. math::  L_q = -A H, \\qquad A v = -(q v')' , \\qquad H u = \\frac{u}{2q} - K\\, W*u ,

with the mobility ``A`` symmetric positive definite on mean-zero functions and the free-energy
Hessian ``H`` symmetric.  So ``L_q`` is self-adjoint in the weighted ``H^{-1}`` product
``⟨u, v⟩_{A^{-1}} = ∫ q φ_u' φ_v'`` (``u = Aφ_u``) and its spectrum is real.  In the potential
``φ`` (``u = Aφ``) the eigenproblem ``L_q u = λu`` is the symmetric pencil

.. math::  b(\\psi,\\varphi) = \\lambda\\, a(\\psi,\\varphi), \\qquad
           a(\\psi,\\varphi) = \\int q\\,\\psi'\\varphi', \\qquad
           b(\\psi,\\varphi) = -\\tfrac12\\int q\\,(G\\psi)(G\\varphi)
                               + K\\int (A\\psi)\\, W*(A\\varphi),

``Gφ = φ'' + ℓφ'`` (using ``Aφ = −q Gφ``).  ``ℓ`` is a trigonometric polynomial of degree
``max_mode(W)`` and ``W*`` keeps only the modes of ``W``, so for ``φ`` in the span of the modes
``1..N`` both forms are evaluated *exactly* from ``q̂`` — a Rayleigh–Ritz method: its eigenvalues
are real, approach the true ones from below as ``N`` grows, and never appear above them.  With
``a = R Rᵀ`` (Cholesky), ``S = R^{-1} b R^{-T}`` is the symmetric matrix of ``L_q`` in an
``⟨·,·⟩_{A^{-1}}``-orthonormal basis.  Unlike ``H`` itself (which contains ``1/q``, as large as
``e^{4K Σ|c_k|}``), only ``q`` and ``ℓ`` enter, so the form stays well conditioned.

Units: ``θ`` in radians, ``q`` in 1/radian, eigenvalues in 1/time (the time of the PDE).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..backend import get_fft, to_numpy
from ..grids import Grid

__all__ = [
    "LinearizedOperator",
    "LinearizedSpectrum",
    "linearized_operator",
    "linearized_spectrum",
    "uniform_eigenvalues",
]

#: relative size of the top Fourier coefficients of ``q`` above which it counts as under-resolved
_RESOLVED = 1e-11
#: Fourier coefficients of ``q`` below this (relative to the mean) are dropped by the sparse solver
_NEGLIGIBLE = 1e-17
#: largest ``2N`` solved densely by ``method="auto"``
_DENSE_MAX = 600
#: stationarity residual (relative) above which ``q`` is rejected
_STATIONARY = 1e-8


# ---------------------------------------------------------------------------- input handling


def _fft(backend: str) -> Any:
    """The FFT provider for ``backend``, single-threaded: these 1D transforms are far too short to share."""
    return get_fft(backend=backend, threads=1)


def _coefficients(W: Any, kmax: int) -> np.ndarray:
    """``c_k`` for ``k = 0..kmax`` from an interaction with a ``coefficients`` mapping."""
    coeffs = getattr(W, "coefficients", None)
    if not isinstance(coeffs, dict):
        raise ValueError(
            "W must be a torus interaction with Fourier coefficients (fieldflow.interactions.Fourier), "
            f"got {type(W).__name__}"
        )
    c = np.zeros(kmax + 1)
    for k, value in coeffs.items():
        if k <= kmax:
            c[k] = value
    return c


def _max_mode(W: Any) -> int:
    _coefficients(W, 0)
    return max(k for k, v in W.coefficients.items() if v != 0)


def _check_coupling(K: Any) -> float:
    try:
        K = float(K)
    except (TypeError, ValueError):
        raise ValueError(f"the coupling K must be a positive number, got {K!r}") from None
    if not (math.isfinite(K) and K > 0):
        raise ValueError(f"the coupling K must be positive and finite, got {K!r}")
    return K


def _check_modes(modes: Any) -> int:
    if isinstance(modes, bool) or not isinstance(modes, (int, np.integer)) or modes < 2:
        raise ValueError(f"modes must be an integer >= 2 (the Fourier modes 1..N kept), got {modes!r}")
    return int(modes)


def _density(q: Any, grid: Grid | None) -> tuple[Any, Grid]:
    """The density array and its torus grid, from an array or a stationary-state object."""
    if hasattr(q, "q") and hasattr(q, "grid"):
        q, grid = q.q, q.grid
    if grid is None:
        shape = np.shape(to_numpy(q))
        if len(shape) != 1:
            raise ValueError(f"q must be a 1D array on Grid.torus(n), got shape {shape}")
        grid = Grid.torus(shape[0])
    if not grid.periodic or grid.dim != 1:
        raise ValueError(f"the linearised McKean–Vlasov operator lives on a 1D torus; give q on Grid.torus(n), got {grid!r}")
    from ..densities import validate_density

    q = validate_density(grid, grid.xp.asarray(q), name="stationary density q")
    mass = grid.integrate(q)
    if abs(mass - 1) > 1e-8:
        raise ValueError(f"q must be a probability density (mass 1), its mass is {mass:.12g}; normalise it")
    return q, grid


def uniform_eigenvalues(W: Any, K: float, modes: int) -> np.ndarray:
    """Closed-form eigenvalues of ``L_q`` at the uniform state ``q = 1/2π``.

    ``L_q e^{inθ} = −½ n² (1 − K c_{|n|}) e^{inθ}``, so each mode ``n = 1..N`` gives the double
    eigenvalue ``λ_n = −½ n² (1 − K c_n)`` (eigenfunctions ``cos nθ`` and ``sin nθ``).

    Returns
    -------
    ndarray of shape (2N,)
        The eigenvalues in the order of the real basis ``(cos nθ)_{n=1..N}, (sin nθ)_{n=1..N}``.
    """
    K = _check_coupling(K)
    N = _check_modes(modes)
    n = np.arange(1, N + 1)
    lam = -0.5 * n**2 * (1 - K * _coefficients(W, N)[1:])
    return np.concatenate([lam, lam])


# ---------------------------------------------------------------------------- matrix assembly


class _Assembler:
    """Builds Galerkin matrices over contiguous signed mode ranges ``−P..P`` (dense ``xp`` or scipy.sparse)."""

    def __init__(self, kmax: int, xp: Any, sparse: bool):
        self.kmax, self.xp, self.sparse = kmax, xp, sparse
        if sparse:
            import scipy.sparse as sp

            self.sp = sp

    def scale(self, X: Any, left: np.ndarray | None = None, right: np.ndarray | None = None) -> Any:
        """``diag(left) X diag(right)`` (row and column scaling)."""
        if self.sparse:
            if left is not None:
                X = self.sp.diags(left) @ X
            if right is not None:
                X = X @ self.sp.diags(right)
            return X.tocsr()
        xp = self.xp
        if left is not None:
            X = xp.asarray(left)[:, None] * X
        if right is not None:
            X = X * xp.asarray(right)[None, :]
        return X

    def toeplitz(self, symbol: Any, rows: int, cols: int) -> Any:
        """``X[j, k] = symbol[j − k]`` for modes ``j ∈ −rows..rows``, ``k ∈ −cols..cols``.

        ``symbol`` is indexed by offset ``+ kmax``; offsets beyond ``±kmax`` are zero.
        """
        if self.sparse:
            sym = to_numpy(symbol)
            offsets = np.flatnonzero(np.abs(sym) > _NEGLIGIBLE * np.abs(sym).max()) - self.kmax
            j = np.arange(-rows, rows + 1)
            diagonals, offs = [], []
            for d in offsets:  # mode offset d = j − k sits on scipy's diagonal (col − row) = cols − rows − d
                count = int(np.sum(np.abs(j - d) <= cols))
                if count:
                    offs.append(int(cols - rows - d))
                    diagonals.append(np.full(count, sym[d + self.kmax]))
            return self.sp.diags(diagonals, offs, shape=(2 * rows + 1, 2 * cols + 1), dtype=complex).tocsr()
        xp = self.xp
        d = np.arange(-rows, rows + 1)[:, None] - np.arange(-cols, cols + 1)[None, :]
        ok = np.abs(d) <= self.kmax
        if ok.all():
            return symbol[xp.asarray(d + self.kmax)]
        out = xp.zeros(d.shape, dtype=complex)
        out[xp.asarray(ok)] = symbol[xp.asarray(d[ok] + self.kmax)]
        return out

    def to_real(self, X: Any, P: int) -> Any:
        """Real ``(cos, sin)``-basis matrix of a real operator given on the complex modes ``−P..P``.

        With ``û_{±n} = (a_n ∓ i b_n)/2``, ``a_m = 2 Re (Xû)_m`` and ``b_m = −2 Im (Xû)_m`` (``m > 0``):
        ``[[Re S, −Im D], [−Im S, −Re D]]`` with ``S = X[m, n] + X[m, −n]``, ``D = X[m, −n] − X[m, n]``.
        The same matrix represents a Hermitian form ``Σ conj(ψ̂) X φ̂`` up to the factor ``1/2``.
        """
        pos = np.arange(P + 1, 2 * P + 1)
        neg = np.arange(P - 1, -1, -1)
        if self.sparse:
            Xr = X[pos]
            Xpp, Xpm = Xr[:, pos], Xr[:, neg]
            S, D = Xpp + Xpm, Xpm - Xpp
            return self.sp.bmat([[S.real, -D.imag], [-S.imag, -D.real]], format="csr")
        xp = self.xp
        Xpp, Xpm = X[P + 1 :, P + 1 :], X[P + 1 :, xp.asarray(neg)]
        S, D = Xpp + Xpm, Xpm - Xpp
        return xp.concatenate([xp.concatenate([S.real, -D.imag], axis=1), xp.concatenate([-S.imag, -D.real], axis=1)])


def _fourier_coefficients(q: Any, grid: Grid, kmax: int) -> Any:
    """``q̂_k = (2π)^{-1}∫ q e^{-ikθ}`` for ``k = −kmax..kmax`` (index ``k + kmax``), zero beyond the grid."""
    xp = grid.xp
    n = grid.shape[0]
    qh = _fft(grid.backend).rfftn(xp.asarray(q, dtype=float), axes=(0,)) / n  # modes 0..n/2
    lo = max(1, (2 * n) // 5)
    tail = float(xp.max(xp.abs(qh[lo:])))
    if tail > _RESOLVED * abs(complex(qh[0])):
        raise ValueError(
            f"q is under-resolved on Grid.torus({n}): its Fourier coefficients near mode n/2 are "
            f"{tail:.2e} relative to the mean; pass q on a finer grid"
        )
    top = min(kmax, n // 2 - 1)  # highest unambiguous mode (the Nyquist mode is dropped)
    out = xp.zeros(2 * kmax + 1, dtype=complex)
    out[kmax : kmax + top + 1] = qh[: top + 1]
    out[kmax - top : kmax + 1] = xp.conj(qh[: top + 1])[::-1]
    return out


def _stationarity_residual(qhat: Any, c: np.ndarray, K: float, kmax: int, xp: Any) -> float:
    """``max_k |(½q' − K q (W'*q))^_k| / q̂_0``, exact in Fourier space for ``|k| ≤ kmax − max_mode``."""
    M = len(c) - 1
    k = np.arange(-kmax, kmax + 1)
    p = xp.asarray(1j * math.pi * k * np.where(np.abs(k) <= M, c[np.minimum(np.abs(k), M)], 0.0)) * qhat
    # (q p)^_j = Σ_{|i| ≤ M} p̂_i q̂_{j−i} for |j| ≤ kmax − M
    j = np.arange(-(kmax - M), kmax - M + 1)
    i = np.arange(-M, M + 1)
    qp = (qhat[xp.asarray(j[:, None] - i[None, :] + kmax)] * p[xp.asarray(i + kmax)][None, :]).sum(axis=1)
    res = 0.5j * xp.asarray(j) * qhat[xp.asarray(j + kmax)] - K * qp
    return float(xp.max(xp.abs(res))) / abs(complex(qhat[kmax]))


@dataclass(frozen=True)
class LinearizedOperator:
    """Fourier–Galerkin discretisation of ``L_q`` on the modes ``1..N`` in the real basis ``cos, sin``.

    Coefficient vectors are ``x = (a_1..a_N, b_1..b_N)`` for ``u = Σ a_n cos nθ + b_n sin nθ``.

    Attributes
    ----------
    W, K
        The interaction and coupling.
    q : array
        The stationary density on ``grid``.
    grid : Grid
        ``Grid.torus(n)`` of ``q``.
    modes : int
        ``N``; the matrices are ``2N × 2N``.
    matrix : array
        The Galerkin matrix ``L_N`` of ``L_q`` (coefficients of ``u`` to those of ``L_q u``).
    mobility : array
        The Galerkin matrix of ``A v = −(q v')'``; symmetric positive definite, and
        ``π xᵀ mobility y = ∫ q φ_x' φ_y'`` is the form ``a``.
    stiffness : array
        The symmetric matrix of the form ``b(ψ, φ) = ⟨ψ, L_q Aφ⟩`` (divided by π), exact for
        ``ψ, φ`` in the span of the modes ``1..N``.
    stationarity_residual : float
        ``max_k |(½q' − K q (W'*q))^_k| / q̂_0``.
    sparse : bool
        Whether the matrices are ``scipy.sparse`` (host) rather than dense ``grid.xp`` arrays.
    """

    W: Any
    K: float
    q: Any
    grid: Grid
    modes: int
    matrix: Any
    mobility: Any
    stiffness: Any
    stationarity_residual: float
    sparse: bool = False
    _qhat: Any = field(default=None, repr=False)

    @cached_property
    def _symmetrized(self) -> tuple[Any, Any]:
        if self.sparse:
            raise ValueError("the symmetric form is dense; build the operator with sparse=False")
        xp = self.grid.xp
        if xp is np:
            from scipy.linalg import solve_triangular
        else:  # pragma: no cover - GPU only
            from cupyx.scipy.linalg import solve_triangular
        R = xp.linalg.cholesky(self.mobility)
        S = solve_triangular(R, solve_triangular(R, self.stiffness, lower=True).T, lower=True).T
        return 0.5 * (S + S.T), R

    @property
    def symmetric(self) -> Any:
        """``S = R⁻¹ B R⁻ᵀ`` (``mobility = R Rᵀ``, ``B = stiffness``): ``L_q`` in an ``A^{-1}``-orthonormal basis.

        An eigenvector ``v`` of ``S`` gives the potential coefficients ``x = R⁻ᵀ v`` and the
        eigenfunction ``u = Aφ_x`` of ``L_q`` with ``⟨u, u⟩_{A^{-1}} = π``.
        """
        return self._symmetrized[0]

    @property
    def cholesky(self) -> Any:
        """Lower-triangular ``R`` with ``mobility = R Rᵀ``."""
        return self._symmetrized[1]

    # ------------------------------------------------------------------ basis maps
    def to_grid(self, coefficients: Any, grid: Grid | None = None) -> Any:
        """Values of ``u = Σ a_n cos nθ + b_n sin nθ`` at the nodes of ``grid`` (default: ``q``'s).

        ``coefficients`` has shape ``(2N,)`` or ``(2N, k)``; the result ``(n,)`` or ``(k, n)``.
        """
        grid = grid or self.grid
        xp = grid.xp
        theta = grid.axes[0]
        n = xp.arange(1, self.modes + 1, dtype=float)
        basis = xp.concatenate([xp.cos(n[:, None] * theta[None, :]), xp.sin(n[:, None] * theta[None, :])])
        c = xp.asarray(coefficients)
        return (c.T @ basis) if c.ndim == 2 else c @ basis

    def from_grid(self, u: Any) -> Any:
        """The coefficients ``(a_1..a_N, b_1..b_N)`` of grid functions (last axis; modes above ``N`` dropped)."""
        xp, n = self.grid.xp, self.grid.shape[0]
        if self.modes >= n // 2:
            raise ValueError(f"Grid.torus({n}) resolves modes < {n // 2}, the operator keeps {self.modes}; use a finer grid")
        uh = _fft(self.grid.backend).rfftn(xp.asarray(u, dtype=float), axes=(-1,)) / n
        part = uh[..., 1 : self.modes + 1]
        return xp.concatenate([2 * part.real, -2 * part.imag], axis=-1)

    def mobility_to_grid(self, potentials: Any) -> Any:
        """``u = Aφ = −(q φ')'`` on the grid of ``q`` for potential coefficients (columns of) ``potentials``.

        Computed exactly in Fourier space (``(Aφ)^_m = Σ_n m n q̂_{m−n} φ̂_n``) for every mode the
        grid resolves, then synthesised; shape ``(n,)`` or ``(k, n)``.
        """
        xp, n, N = self.grid.xp, self.grid.shape[0], self.modes
        x = xp.asarray(potentials, dtype=float)
        single = x.ndim == 1
        x = x[:, None] if single else x
        phi = xp.zeros((2 * N + 1, x.shape[1]), dtype=complex)  # modes −N..N
        phi[N + 1 :] = 0.5 * (x[:N] - 1j * x[N:])
        phi[:N] = (0.5 * (x[:N] + 1j * x[N:]))[::-1]
        P = n // 2 - 1
        kmax = P + N
        qhat = _fourier_coefficients(self.q, self.grid, kmax)
        T = _Assembler(kmax, xp, sparse=False).toeplitz(qhat, P, N)[P:]  # rows: modes 0..P
        m = xp.asarray(np.arange(0, P + 1, dtype=float))
        k = xp.asarray(np.arange(-N, N + 1, dtype=float))
        uh = m[:, None] * (T @ (k[:, None] * phi))  # modes 0..P of the real function u
        full = xp.zeros((n // 2 + 1, x.shape[1]), dtype=complex)
        full[: P + 1] = uh
        u = _fft(self.grid.backend).irfftn(full.T * n, s=(n,), axes=(-1,))
        return u[0] if single else u


def linearized_operator(W: Any, K: float, q: Any, modes: int | None = None, grid: Grid | None = None,
                        sparse: bool = False) -> LinearizedOperator:
    """The Fourier–Galerkin matrix of ``L_q u = ½u'' − K(q(W'*u) + u(W'*q))'`` and its self-adjoint form.

    Parameters
    ----------
    W : fieldflow.interactions.Fourier
        Even interaction ``W = Σ c_k cos kθ``.
    K : float
        Coupling strength (> 0).
    q : array or StationaryState
        Stationary density on ``Grid.torus(n)`` (an object with ``.q`` and ``.grid`` is accepted).
        It must be resolved on its grid (Fourier coefficients near ``n/2`` below 1e-11 of the
        mean) and stationary (``½q' = K q W'*q`` to 1e-8 relative).
    modes : int, optional
        Number ``N`` of Fourier modes kept (default ``n/4``); the matrices are ``2N × 2N``.
    grid : Grid, optional
        The grid of ``q`` when ``q`` is an array (default ``Grid.torus(len(q))``).
    sparse : bool
        Assemble ``scipy.sparse`` matrices from the numerically non-zero diagonals of ``q̂``
        (for large ``N``; host memory) instead of dense ``grid.xp`` arrays.

    Returns
    -------
    LinearizedOperator
        With ``matrix`` (``L_N``), ``mobility`` (``A_N``), ``stiffness`` (the form ``b``) and,
        for dense operators, ``symmetric`` (``R⁻¹ b R⁻ᵀ``).
    """
    K = _check_coupling(K)
    q, grid = _density(q, grid)
    N = _check_modes(modes if modes is not None else max(2, grid.shape[0] // 4))
    M = _max_mode(W)
    xp = grid.xp
    kmax = 2 * N + 2 * M
    c = _coefficients(W, M)
    cfull = np.zeros(kmax + 1)
    cfull[: M + 1] = c
    qhat = _fourier_coefficients(q, grid, kmax)
    residual = _stationarity_residual(qhat, c, K, kmax, xp)
    if residual > _STATIONARY:
        raise ValueError(
            f"q is not a stationary state: ½q' − K q (W'*q) has relative size {residual:.2e} (> {_STATIONARY:g}); "
            "L_q is linearised at a solution of q ∝ exp(2K W*q) (see fieldflow.spectral.stationary_states)"
        )
    asm = _Assembler(kmax, xp, sparse)
    offsets = np.arange(-kmax, kmax + 1)
    ck = cfull[np.abs(offsets)]
    # symbols (indexed by offset + kmax) of the Toeplitz factors
    kcq = xp.asarray(offsets * ck) * qhat                       # k c_|k| q̂_k
    ell = xp.asarray(2j * K * math.pi * offsets * ck) * qhat     # ℓ̂_k, ℓ = 2K W'*q = (log q)'
    n_N = np.arange(-N, N + 1).astype(complex)
    Tq = asm.toeplitz(qhat, N, N)
    # direct Galerkin L_N = −½D² + Kπ D (T_q D C + T_{kcq}),  D = diag(n), C = diag(c_|n|)
    L = K * math.pi * asm.scale(asm.scale(Tq, right=n_N * cfull[np.abs(np.arange(-N, N + 1))]) + asm.toeplitz(kcq, N, N), left=n_N)
    L = L + asm.scale(asm.toeplitz(xp.asarray((offsets == 0).astype(complex)), N, N), left=-0.5 * n_N**2)
    A = asm.scale(Tq, n_N, n_N)
    # form b / (2π) = −½ Gᴴ T_q G + πK Eᴴ C E  with  Gφ = φ'' + ℓφ' = (−D² + T_ℓ iD) φ  and  E = D_M T_q D.
    # ℓ has modes |k| ≤ M, so every product of Toeplitz factors below is the exact Toeplitz matrix of the
    # convolved symbols (no truncation):  Gᴴ T_q G = D²T_qD² − iD²T_{qℓ}D + iDT_{ℓq}D² + DT_{ℓqℓ}D.
    ell_M = ell[kmax - M : kmax + M + 1]
    q_ell = xp.convolve(qhat, ell_M, mode="same")        # (qℓ)^, exact for |k| ≤ kmax − M
    ell_q_ell = xp.convolve(q_ell, ell_M, mode="same")   # (ℓqℓ)^, exact for |k| ≤ kmax − 2M = 2N
    T_qell = asm.toeplitz(q_ell, N, N)
    GTG = (asm.scale(Tq, n_N**2, n_N**2) + 1j * (asm.scale(T_qell, n_N, n_N**2) - asm.scale(T_qell, n_N**2, n_N))
           + asm.scale(asm.toeplitz(ell_q_ell, N, N), n_N, n_N))
    k_M = np.arange(-M, M + 1)
    E = asm.scale(asm.toeplitz(qhat, M, N), k_M.astype(complex), n_N)
    CE = asm.scale(E, left=cfull[np.abs(k_M)].astype(complex))
    B = -0.5 * GTG + math.pi * K * (E.conj().T @ CE)
    matrix = asm.to_real(L, N)
    mobility = asm.to_real(A, N)
    stiffness = asm.to_real(B, N)
    if not sparse:
        mobility = 0.5 * (mobility + mobility.T)
        stiffness = 0.5 * (stiffness + stiffness.T)
    return LinearizedOperator(W, K, q, grid, N, matrix, mobility, stiffness, residual, sparse, qhat)


# ---------------------------------------------------------------------------- the spectrum


@dataclass
class LinearizedSpectrum:
    """Converged leading eigenvalues and eigenfunctions of ``L_q``.

    Attributes
    ----------
    eigenvalues : ndarray
        The converged leading eigenvalues, real, in decreasing order (1/time).
    eigenfunctions : ndarray, shape (k, n)
        Eigenfunctions on the grid of ``q``, orthonormal in ``⟨u, v⟩_{A^{-1}} = ∫ q φ_u' φ_v'``;
        the zero mode is oriented along ``+q'``, the others so that the first significant Fourier
        coefficient (order ``cos θ, sin θ, cos 2θ, ...``) of their potential ``φ`` (``u = −(qφ')'``)
        is positive.
    errors : ndarray
        ``|λ(N) − λ(N₂)|`` between the two resolutions, the error estimate of each eigenvalue.
    zero_mode : int or None
        Index of the eigenvalue 0 (eigenfunction ∝ ``q'``) for a non-uniform ``q``; ``None`` at the
        uniform state.
    spectral_gap : float
        ``−max{λ : λ not the zero mode}``: the distance from 0 to the rest of the spectrum when
        ``q`` is linearly stable; negative when ``q`` is linearly unstable.
    n_converged : int
        How many leading eigenvalues agreed between the two resolutions to ``rtol`` (all later
        ones are rejected as unconverged or spurious).
    modes : tuple of int
        The two resolutions ``(N, N₂)``; the reported eigenvalues are those of ``N₂``.
    method : {"dense", "sparse"}
    q, grid, W, K
        The state and problem.
    operator : LinearizedOperator
        The operator at ``N₂`` modes.
    """

    eigenvalues: np.ndarray
    eigenfunctions: np.ndarray
    errors: np.ndarray
    zero_mode: int | None
    spectral_gap: float
    n_converged: int
    modes: tuple[int, int]
    method: str
    q: Any = field(repr=False)
    grid: Grid = field(repr=False)
    W: Any = field(repr=False)
    K: float = 0.0
    operator: LinearizedOperator | None = field(default=None, repr=False)


def _dense_pencil(B: Any, A: Any, xp: Any, vectors: bool = True) -> tuple[np.ndarray, Any]:
    """Eigenpairs of ``B x = λ A x`` (``A`` SPD), decreasing ``λ``, ``xᵀ A x = 1``.

    NumPy: LAPACK's generalised symmetric solver (``scipy.linalg.eigh``); CuPy: Cholesky
    ``A = R Rᵀ`` and ``eigh`` of ``R⁻¹ B R⁻ᵀ``.
    """
    if xp is np:
        import scipy.linalg as sla

        if not vectors:
            return sla.eigh(B, A, eigvals_only=True)[::-1], None
        lam, X = sla.eigh(B, A)
        return lam[::-1], X[:, ::-1]
    from cupyx.scipy.linalg import solve_triangular  # pragma: no cover - GPU only

    R = xp.linalg.cholesky(A)
    S = solve_triangular(R, solve_triangular(R, B, lower=True).T, lower=True).T
    lam, V = xp.linalg.eigh(0.5 * (S + S.T))
    X = solve_triangular(R, V, lower=True, trans="T") if vectors else None
    return to_numpy(lam)[::-1], (X[:, ::-1] if vectors else None)


def _sparse_pencil(B: Any, A: Any, k: int, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` eigenpairs of ``B x = λ A x`` nearest ``sigma`` (shift-invert Lanczos), decreasing ``λ``."""
    from scipy.sparse.linalg import eigsh

    k = min(k, A.shape[0] - 2)
    lam, X = eigsh(B.tocsc(), k=k, M=A.tocsc(), sigma=sigma, which="LM")
    order = np.argsort(-lam)
    return lam[order], X[:, order]


def _converged_count(fine: np.ndarray, coarse: np.ndarray, rtol: float) -> tuple[int, np.ndarray]:
    """Length of the leading run of ``fine`` eigenvalues that have a ``coarse`` partner within ``rtol``."""
    errors = np.abs(coarse[None, :] - fine[:, None]).min(axis=1) if coarse.size else np.full(fine.shape, np.inf)
    ok = errors <= rtol * np.maximum(1.0, np.abs(fine))
    return (int(np.argmin(ok)) if not ok.all() else ok.size), errors


def linearized_spectrum(
    W: Any,
    K: float,
    q: Any = None,
    modes: int = 64,
    *,
    count: int | None = None,
    rtol: float = 1e-8,
    method: str = "auto",
    n: int | None = None,
) -> LinearizedSpectrum:
    """Leading spectrum of ``L_q`` with unconverged eigenvalues rejected by a second resolution.

    Solves the symmetric pencil ``b = λ a`` of the Rayleigh–Ritz form (see the module docstring)
    at ``N₂ = N + max(4, N/4)`` modes and at ``N`` modes (a principal sub-pencil, so one assembly
    serves both), and keeps the leading eigenvalues whose ``N`` and ``N₂`` values agree to
    ``rtol·max(1, |λ|)``.

    Parameters
    ----------
    W : fieldflow.interactions.Fourier
    K : float
        Coupling (> 0).
    q : array or StationaryState, optional
        Stationary density on ``Grid.torus``; default: the free-energy minimiser
        (:func:`fieldflow.spectral.free_energy_minimizer` with ``n`` nodes).
    modes : int
        ``N``, the coarser of the two resolutions.
    count : int, optional
        Return at most this many eigenvalues (the sparse solver computes ``count + 2``; default 8).
    rtol : float
        Agreement required between the two resolutions.
    method : {"auto", "dense", "sparse"}
        ``"dense"``: all eigenpairs (Cholesky + symmetric eigensolver, NumPy or CuPy).
        ``"sparse"``: banded sparse assembly and shift-invert Lanczos (scipy ``eigsh``) for the
        ``count`` eigenvalues nearest a shift above the spectrum.  ``"auto"``: dense for
        ``2N₂ ≤ 600``.
    n : int, optional
        Grid points used to compute ``q`` when it is omitted.

    Returns
    -------
    LinearizedSpectrum

    Raises
    ------
    ValueError
        Bad parameters, a non-stationary or under-resolved ``q``, no converged eigenvalue, or a
        non-uniform ``q`` whose zero mode was not found (increase ``modes``).
    """
    K = _check_coupling(K)
    N = _check_modes(modes)
    if method not in ("auto", "dense", "sparse"):
        raise ValueError(f"method must be 'auto', 'dense' or 'sparse', got {method!r}")
    if count is not None and (isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1):
        raise ValueError(f"count must be a positive integer, got {count!r}")
    if not 0 < rtol < 1:
        raise ValueError(f"rtol must be in (0, 1), got {rtol!r}")
    if q is None:
        from .stationary import free_energy_minimizer

        q = free_energy_minimizer(W, K, n=n)
    N2 = N + max(4, N // 4)
    if method == "auto":
        method = "dense" if 2 * N2 <= _DENSE_MAX else "sparse"
    op = linearized_operator(W, K, q, modes=N2, sparse=method == "sparse")
    xp = op.grid.xp
    sub = np.concatenate([np.arange(N), N2 + np.arange(N)])
    if method == "dense":
        isub = xp.asarray(sub)
        lam_c, _ = _dense_pencil(op.stiffness[isub][:, isub], op.mobility[isub][:, isub], xp, vectors=False)
        lam, X = _dense_pencil(op.stiffness, op.mobility, xp)
    else:
        k = (count or 8) + 2
        small = np.concatenate([np.arange(16), N2 + np.arange(16)])
        top, _ = _dense_pencil(op.stiffness[small][:, small].toarray(), op.mobility[small][:, small].toarray(), np, False)
        sigma = float(top[0]) + 0.5 * (1 + abs(float(top[0])))  # Ritz values lie below the true ones
        lam_c, _ = _sparse_pencil(op.stiffness[sub][:, sub], op.mobility[sub][:, sub], k, sigma)
        lam, X = _sparse_pencil(op.stiffness, op.mobility, k, sigma)
        X = xp.asarray(X)
    n_conv, errors = _converged_count(lam, lam_c, rtol)
    if n_conv == 0:
        raise ValueError(
            f"no eigenvalue of L_q agreed between {N} and {N2} modes to rtol={rtol:g} "
            f"(top values {lam_c[0]:.6g} and {lam[0]:.6g}); increase modes"
        )
    keep = min(n_conv, count) if count is not None else n_conv
    lam, errors, X = lam[:keep], errors[:keep], X[:, :keep]
    # eigenfunctions u = Aφ, normalised to ⟨u, u⟩_{A^{-1}} = π xᵀ A_N x = 1
    U = to_numpy(op.mobility_to_grid(X / math.sqrt(math.pi)))
    grid = op.grid
    qhat = to_numpy(op._qhat)
    kq = (len(qhat) - 1) // 2
    zero = None
    dq = _derivative(to_numpy(op.q))
    if np.abs(qhat[kq + 1 :]).max() > 1e-10 * abs(qhat[kq]):
        zero = int(np.argmin(np.abs(lam)))
        u = U[zero]
        corr = float(u @ dq) / (np.linalg.norm(u) * np.linalg.norm(dq))
        if abs(corr) < 1 - 1e-6 or abs(lam[zero]) > 1e-6 * max(1.0, abs(lam).max()):
            raise ValueError(
                f"the zero mode q' of the non-uniform state was not resolved (eigenvalue {lam[zero]:.3e}, "
                f"correlation with q' {corr:.8f}); increase modes"
            )
    # orientation: the zero mode along +q'; the others with the first significant Fourier
    # coefficient of their potential φ (order a_1, b_1, a_2, b_2, ...) positive
    Xh = to_numpy(X).reshape(2, N2, keep).transpose(1, 0, 2).reshape(2 * N2, keep)
    for j in range(keep):
        col = Xh[:, j]
        ref = float(U[j] @ dq) if j == zero else col[np.argmax(np.abs(col) > 1e-6 * np.abs(col).max())]
        if ref < 0:
            U[j] = -U[j]
    rest = np.delete(lam, zero) if zero is not None else lam
    if rest.size == 0:
        raise ValueError(f"only the zero mode converged between {N} and {N2} modes; increase modes")
    return LinearizedSpectrum(
        eigenvalues=lam, eigenfunctions=U, errors=errors, zero_mode=zero, spectral_gap=float(-rest.max()),
        n_converged=n_conv, modes=(N, N2), method=method, q=op.q, grid=grid, W=W, K=K, operator=op,
    )


def _derivative(f: np.ndarray) -> np.ndarray:
    """Spectral derivative of a periodic grid function on ``[0, 2π)``."""
    n = f.shape[-1]
    fft = _fft("numpy")
    k = np.arange(n // 2 + 1, dtype=float)
    if n % 2 == 0:
        k[-1] = 0.0  # the Nyquist mode has no derivative
    return fft.irfftn(1j * k * fft.rfftn(f, axes=(-1,)), s=(n,), axes=(-1,))
