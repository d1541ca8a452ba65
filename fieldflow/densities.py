"""Probability densities on a :class:`~fieldflow.core.grids.Grid`: construction and validation.

Every density fieldflow returns is a grid array ``ρ`` with ``ρ ≥ 0`` and
``grid.integrate(ρ) = Σ_i ρ_i |cell| = 1`` to round-off.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .core.grids import Grid
from .core.validation import as_covariance, validate_density

__all__ = ["gaussian", "uniform", "from_function", "normalize", "validate_density"]


def normalize(grid: Grid, rho: Any) -> Any:
    """``rho / grid.integrate(rho)`` after validating ``rho`` (any positive mass, silently: that is its job)."""
    return validate_density(grid, rho, normalise=True, mass_tol=None)


def from_function(grid: Grid, func: Callable[[Any], Any]) -> Any:
    """Evaluate an unnormalised density ``func(points)`` (points of shape ``(..., dim)``) and normalise it."""
    return normalize(grid, grid.evaluate(func))


def uniform(grid: Grid) -> Any:
    """The uniform density ``1/|domain|``."""
    return normalize(grid, grid.xp.ones(grid.shape))


def gaussian(grid: Grid, mean: float | Sequence[float] = 0.0, cov: Any = 1.0) -> Any:
    """The Gaussian density ``N(mean, cov)`` sampled at the grid points and normalised on the grid.

    ``cov`` may be a scalar (isotropic variance), a vector of variances, or a full
    ``dim × dim`` covariance matrix (:func:`~fieldflow.core.validation.as_covariance` checks it).
    Evaluated in the log domain, so tiny tails never underflow to NaN.
    """
    d = grid.dim
    m = np.atleast_1d(np.asarray(mean, dtype=float))
    if m.ndim != 1 or m.size not in (1, d):
        raise ValueError(f"mean must be a number or a length-{d} vector for this {d}D grid, got "
                         f"{np.asarray(mean).tolist()} (shape {np.asarray(mean).shape})")
    m = np.broadcast_to(m, (d,))
    P = grid.xp.asarray(np.linalg.inv(as_covariance(cov, d)))
    z = grid.points - grid.xp.asarray(m)
    logp = -0.5 * grid.xp.einsum("...i,ij,...j->...", z, P, z)
    return normalize(grid, grid.xp.exp(logp - grid.xp.max(logp)))
