"""Finite-volume building blocks on a cell-centred box, shared by the conservative solvers.

Fluxes live on the *interior* faces of each axis (``n_a − 1`` of them along axis ``a``); the walls
carry none, which is what makes every scheme built on :func:`divergence` conserve mass to
round-off: the face contributions telescope.

Two-point schemes — the flux through the face between cells ``i`` and ``i + e_a`` depends on those
two cells only, ``J_{a,f} = c⁻_{a,f} u_i + c⁺_{a,f} u_{i+e_a}`` — are given by their face
coefficients ``(c⁻_a, c⁺_a)`` per axis: :func:`two_point_fluxes` evaluates the fluxes and
:func:`face_operator` assembles the sparse matrix of ``u ↦ divergence(two_point_fluxes(u))``.
Scharfetter–Gummel (``c⁻ = D B(δ)/h``, ``c⁺ = −D B(−δ)/h``), upwind fluxes and the Jacobian of a
nonlinear face flux (``c^∓ = ∂J_f/∂u`` of the lower/upper cell) all have this form.
"""

from __future__ import annotations

from typing import Any, Sequence

from .backend import optional_import
from .grids import Grid

__all__ = ["axis_slice", "lower_cells", "upper_cells", "divergence", "two_point_fluxes", "face_operator",
           "wall_ratio"]


def axis_slice(axis: int, dim: int, start: int | None, stop: int | None) -> tuple[slice, ...]:
    """The index that takes ``start:stop`` along ``axis`` and everything along the other axes."""
    index = [slice(None)] * dim
    index[axis] = slice(start, stop)
    return tuple(index)


def lower_cells(axis: int, dim: int) -> tuple[slice, ...]:
    """Cells on the lower side of each interior face of ``axis`` (``i`` for face ``i + 1/2``)."""
    return axis_slice(axis, dim, None, -1)


def upper_cells(axis: int, dim: int) -> tuple[slice, ...]:
    """Cells on the upper side of each interior face of ``axis`` (``i + 1`` for face ``i + 1/2``)."""
    return axis_slice(axis, dim, 1, None)


def divergence(fluxes: Sequence[Any], spacing: Sequence[float], xp: Any) -> Any:
    """``−∇·J`` in cell ``i``: ``−Σ_a (J_{a, i+1/2} − J_{a, i−1/2}) / h_a`` with zero flux on the walls.

    ``fluxes[a]`` holds ``J`` on the interior faces of axis ``a`` (shape ``n_a − 1`` along it).
    Returns the cell-wise rate of change ``∂t u`` of the conservation law ``∂t u + ∇·J = 0``.
    """
    out = None
    for axis, (J, h) in enumerate(zip(fluxes, spacing)):
        shape = list(J.shape)
        shape[axis] = 1
        zero = xp.zeros(shape, dtype=J.dtype)
        term = xp.diff(xp.concatenate([zero, J, zero], axis=axis), axis=axis) / h
        out = -term if out is None else out - term
    return out


def two_point_fluxes(u: Any, coefficients: Sequence[tuple[Any, Any]]) -> list[Any]:
    """``J_a = c⁻_a u_i + c⁺_a u_{i+e_a}`` on the interior faces of every axis ``a`` (one array per axis).

    ``coefficients[a] = (c⁻_a, c⁺_a)``, arrays of the face shape of axis ``a`` (``n_a − 1`` along it)
    or scalars.  The result is what :func:`divergence` takes.
    """
    d = u.ndim
    return [lo * u[lower_cells(a, d)] + hi * u[upper_cells(a, d)] for a, (lo, hi) in enumerate(coefficients)]


def _face_values(c: Any, face_shape: tuple[int, ...], axis: int, xp: Any) -> Any:
    """Coefficients of one axis as a flat float array over its interior faces (a scalar is broadcast)."""
    c = xp.asarray(c, dtype=float)
    if c.ndim and tuple(c.shape) != tuple(face_shape):
        raise ValueError(f"the face coefficients of axis {axis} have shape {tuple(c.shape)}, but its interior faces "
                         f"have shape {tuple(face_shape)} (one fewer than the cells along axis {axis}); pass one value "
                         "per interior face or a scalar")
    return xp.broadcast_to(c, face_shape).ravel()


def face_operator(grid: Grid, coefficients: Sequence[tuple[Any, Any]], spacing: Sequence[float] | None = None) -> Any:
    """The sparse matrix ``M`` of the two-point flux scheme with no-flux walls, ``M u = divergence(J(u), spacing)``.

    .. math:: (M u)_i = -\\sum_a \\frac{J_{a,i+e_a/2} - J_{a,i-e_a/2}}{h_a}, \\qquad
              J_{a,i+e_a/2} = c^-_{a,i+e_a/2}\\,u_i + c^+_{a,i+e_a/2}\\,u_{i+e_a},

    and ``J = 0`` through the walls.  Each interior face couples its two cells only: cell ``i``
    loses ``J/h_a``, cell ``i + e_a`` gains it, so every column of ``M`` sums to zero (mass is
    conserved) whatever the coefficients.  ``c⁺ ≤ 0 ≤ c⁻`` makes ``M`` an M-matrix (off-diagonals
    ``≥ 0``), hence backward Euler positivity-preserving.

    Parameters
    ----------
    grid : Grid
        A box grid; rows and columns follow its C-order flattening.
    coefficients : sequence of (array, array)
        ``(c⁻_a, c⁺_a)`` per axis, each of the face shape of axis ``a`` (``n_a − 1`` along it, the
        grid's size along the others) or a scalar; in the grid's namespace.
    spacing : sequence of float, optional
        The ``h_a`` of the divergence (default ``grid.spacing``; pass ones when the coefficients
        already hold ``1/h_a``).

    Returns
    -------
    sparse matrix
        ``grid.size × grid.size`` CSR, in ``scipy.sparse`` (NumPy grids) or ``cupyx.scipy.sparse``
        (CuPy grids), assembled where the coefficients live (no host round trip).
    """
    if grid.periodic:
        raise ValueError("face_operator assembles no-flux box schemes; build the grid with Grid.box(...)")
    xp, d, n = grid.xp, grid.dim, grid.size
    spacing = grid.spacing if spacing is None else tuple(spacing)
    if len(coefficients) != d or len(spacing) != d:
        raise ValueError(f"need one (lower, upper) coefficient pair and one spacing per axis ({d}), "
                         f"got {len(coefficients)} pairs and {len(spacing)} spacings")
    sparse = optional_import("cupyx.scipy.sparse" if grid.backend == "cupy" else "scipy.sparse")
    index = xp.arange(n).reshape(grid.shape)
    rows, cols, vals = [], [], []
    for a, ((lo, hi), h) in enumerate(zip(coefficients, spacing)):
        p = index[lower_cells(a, d)]
        q = index[upper_cells(a, d)]
        c_lo, c_hi = (_face_values(c, p.shape, a, xp) / h for c in (lo, hi))
        p, q = p.ravel(), q.ravel()
        # J = c_lo u_p + c_hi u_q leaves cell p and enters cell q
        rows += [p, p, q, q]
        cols += [p, q, p, q]
        vals += [-c_lo, -c_hi, c_lo, c_hi]
    return sparse.coo_matrix((xp.concatenate(vals), (xp.concatenate(rows), xp.concatenate(cols))),
                             shape=(n, n)).tocsr()


def wall_ratio(f: Any, xp: Any) -> float:
    """``max f`` over the wall cells (first and last cell along every axis) divided by ``max f``.

    A box is large enough for a decaying density when this is small; the solvers compare it with a ``wall_tol``.
    """
    dim = f.ndim
    wall = max(float(xp.max(f[axis_slice(a, dim, i, i + 1 if i == 0 else None)])) for a in range(dim) for i in (0, -1))
    return wall / float(xp.max(f))
