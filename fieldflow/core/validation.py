"""Validation of what users hand the solvers: one place for the checks and their messages."""

from __future__ import annotations

from typing import Any

from .grids import Grid

__all__ = ["validate_density"]


def validate_density(grid: Grid, rho: Any, name: str = "density", normalise: bool = False) -> Any:
    """Check that ``rho`` is an admissible density on ``grid`` and return it as a float grid array.

    Raises
    ------
    ValueError
        If ``rho`` has the wrong shape, a complex or non-numeric dtype, NaN/inf entries, negative
        entries, or zero mass. The message says which cells are wrong and what to change.
    """
    xp = grid.xp
    try:
        arr = xp.asarray(rho)
    except Exception as exc:  # pragma: no cover - exotic input
        raise ValueError(f"{name} could not be converted to an array: {exc}") from exc
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be a real array, got dtype {arr.dtype}")
    if tuple(arr.shape) != grid.shape:
        raise ValueError(
            f"{name} has shape {tuple(arr.shape)} but the grid has shape {grid.shape}; "
            "evaluate it on the same grid (grid.points / grid.mesh)"
        )
    arr = arr.astype(xp.float64)
    bad = ~xp.isfinite(arr)
    if bool(xp.any(bad)):
        raise ValueError(f"{name} has {int(xp.sum(bad))} non-finite (NaN/inf) entries; it must be finite everywhere")
    neg = arr < 0
    if bool(xp.any(neg)):
        raise ValueError(
            f"{name} is negative in {int(xp.sum(neg))} cells (minimum {float(xp.min(arr)):.3e}); "
            "a probability density must be non-negative"
        )
    mass = grid.integrate(arr)
    if not mass > 0:
        raise ValueError(f"{name} has zero mass; it cannot be normalised to a probability density")
    if normalise:
        arr = arr / mass
    return arr
