"""Probability densities on a :class:`~fieldflow.grids.Grid`: construction and validation.

Every density fieldflow returns is a grid array ``ρ`` with ``ρ ≥ 0`` and
``grid.integrate(ρ) = Σ_i ρ_i |cell| = 1`` to round-off.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .grids import Grid

__all__ = ["gaussian", "uniform", "from_function", "normalize", "validate_density"]


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


def normalize(grid: Grid, rho: Any) -> Any:
    """``rho / grid.integrate(rho)`` after validating ``rho``."""
    return validate_density(grid, rho, normalise=True)


def from_function(grid: Grid, func: Callable[[Any], Any]) -> Any:
    """Evaluate an unnormalised density ``func(points)`` (points of shape ``(..., dim)``) and normalise it."""
    return normalize(grid, grid.evaluate(func))


def uniform(grid: Grid) -> Any:
    """The uniform density ``1/|domain|``."""
    return normalize(grid, grid.xp.ones(grid.shape))


def gaussian(grid: Grid, mean: float | Sequence[float] = 0.0, cov: Any = 1.0) -> Any:
    """The Gaussian density ``N(mean, cov)`` sampled at the grid points and normalised on the grid.

    ``cov`` may be a scalar (isotropic variance), a vector of variances, or a full
    ``dim × dim`` covariance matrix. Evaluated in the log domain, so tiny tails never underflow to NaN.
    """
    d = grid.dim
    m = np.broadcast_to(np.asarray(mean, dtype=float), (d,))
    C = np.asarray(cov, dtype=float)
    if C.ndim == 0:
        C = C * np.eye(d)
    elif C.ndim == 1:
        C = np.diag(C)
    if C.shape != (d, d):
        raise ValueError(f"cov must be a scalar, a length-{d} vector or a {d}x{d} matrix, got shape {C.shape}")
    try:
        np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        raise ValueError(f"cov must be symmetric positive definite, got {C.tolist()}") from None
    P = grid.xp.asarray(np.linalg.inv(C))
    z = grid.points - grid.xp.asarray(m)
    logp = -0.5 * grid.xp.einsum("...i,ij,...j->...", z, P, z)
    return normalize(grid, grid.xp.exp(logp - grid.xp.max(logp)))
