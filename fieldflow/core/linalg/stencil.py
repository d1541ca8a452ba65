"""Sparse matrices of nearest-neighbour stencils on a grid, assembled in the grid's own namespace.

A finite-volume operator on a cell-centred box couples cell ``i`` to ``i + m`` for a few offsets ``m``
(``0`` and ``±e_a`` for the fluxes of :mod:`fieldflow.core.finite_volume`, whose
:func:`~fieldflow.core.finite_volume.face_operator` assembles the two-point flux schemes).
:func:`stencil_matrix` builds the matrix from one coefficient array per offset, in the grid's namespace
(``scipy.sparse`` for NumPy, ``cupyx.scipy.sparse`` for CuPy), so a CuPy matrix never passes through
the host.  Rows and columns
follow the C-order flattening of the grid.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..grids import Grid

__all__ = ["sparse_module", "sparse_modules", "stencil_matrix", "shifted"]


def sparse_module(xp: Any) -> Any:
    """The sparse-matrix module for an array namespace (SciPy's or ``cupyx.scipy``'s), without its ``linalg``
    (whose import costs a tenth of a second at start-up)."""
    if xp.__name__ == "cupy":
        from ..backend import optional_import

        return optional_import("cupyx.scipy.sparse")
    import scipy.sparse as sp

    return sp


def sparse_modules(xp: Any) -> tuple[Any, Any]:
    """``(sparse, sparse.linalg)`` for an array namespace: SciPy's for NumPy, ``cupyx.scipy``'s for CuPy."""
    if xp.__name__ == "cupy":
        from ..backend import optional_import

        return optional_import("cupyx.scipy.sparse"), optional_import("cupyx.scipy.sparse.linalg")
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    return sp, spla


def _region(offset: Sequence[int], shape: Sequence[int]) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """Slices of the cells ``i`` with ``i + offset`` inside the grid, and of those ``i + offset``."""
    here = tuple(slice(max(-m, 0), n - max(m, 0)) for m, n in zip(offset, shape))
    there = tuple(slice(max(m, 0), n + min(m, 0)) for m, n in zip(offset, shape))
    return here, there


def shifted(values: Any, offset: Sequence[int]) -> Any:
    """``values[i + offset]`` on the grid, zero where ``i + offset`` lies outside."""
    here, there = _region(offset, values.shape)
    xp = _namespace(values)
    out = xp.zeros_like(values)
    out[here] = values[there]
    return out


def _namespace(values: Any) -> Any:
    from ..backend import namespace_of

    return namespace_of(values)


def stencil_matrix(grid: Grid, coefficients: Mapping[tuple[int, ...], Any], column_scale: Any = None) -> Any:
    """The CSR matrix ``A`` with ``A[i, i + m] = coefficients[m][i] · column_scale[i + m]``.

    Parameters
    ----------
    grid : Grid
        Fixes the shape and the namespace.
    coefficients : mapping offset -> array
        One grid-shaped array per stencil offset ``m`` (a tuple of ``dim`` integers); entries whose
        ``i + m`` falls outside the grid are ignored.
    column_scale : array, optional
        A grid-shaped factor applied to each column (a chain rule ``∂/∂ρ = s ∂/∂r`` with ``r = s ρ``).
    """
    xp = grid.xp
    sp, _ = sparse_modules(xp)
    index = xp.arange(grid.size, dtype=xp.int32).reshape(grid.shape)
    rows, cols, vals = [], [], []
    for offset, coef in coefficients.items():
        here, there = _region(offset, grid.shape)
        rows.append(index[here].ravel())
        cols.append(index[there].ravel())
        values = coef[here] if column_scale is None else coef[here] * column_scale[there]
        vals.append(values.ravel())
    data = (xp.concatenate(vals), (xp.concatenate(rows), xp.concatenate(cols)))
    return sp.coo_matrix(data, shape=(grid.size, grid.size)).tocsr()
