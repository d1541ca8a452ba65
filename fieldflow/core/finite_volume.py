"""Finite-volume building blocks on a cell-centred box, shared by the conservative solvers.

Fluxes live on the *interior* faces of each axis (``n_a − 1`` of them along axis ``a``); the walls
carry none, which is what makes every scheme built on :func:`divergence` conserve mass to
round-off: the face contributions telescope.
"""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["axis_slice", "lower_cells", "upper_cells", "divergence", "wall_ratio"]


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


def wall_ratio(f: Any, xp: Any) -> float:
    """``max f`` over the wall cells (first and last cell along every axis) divided by ``max f``.

    A box is large enough for a decaying density when this is small; the solvers compare it with a ``wall_tol``.
    """
    dim = f.ndim
    wall = max(float(xp.max(f[axis_slice(a, dim, i, i + 1 if i == 0 else None)])) for a in range(dim) for i in (0, -1))
    return wall / float(xp.max(f))
