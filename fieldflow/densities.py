"""Probability densities on a :class:`~fieldflow.core.grids.Grid`: construction and validation.

Every density fieldflow returns is a grid array ``ρ`` with ``ρ ≥ 0`` and
``grid.integrate(ρ) = Σ_i ρ_i |cell| = 1`` to round-off.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from .core.grids import Grid
from .core.validation import SetupWarning, as_covariance, function, grid_of, real_array, validate_density

__all__ = ["gaussian", "uniform", "from_function", "normalize", "validate_density"]


def normalize(grid: Grid, rho: Any) -> Any:
    """``rho / grid.integrate(rho)`` after validating ``rho`` (any positive mass, silently: that is its job)."""
    grid_of(grid)
    return validate_density(grid, rho, normalise=True, mass_tol=None)


def from_function(grid: Grid, func: Callable[[Any], Any]) -> Any:
    """Evaluate an unnormalised density ``func(points)`` (points of shape ``(..., dim)``) and normalise it."""
    grid_of(grid)
    function(func, "func", hint="pass a function of points (..., dim) returning the unnormalised density")
    return normalize(grid, grid.evaluate(func))


def uniform(grid: Grid) -> Any:
    """The uniform density ``1/|domain|``."""
    grid_of(grid)
    return normalize(grid, grid.xp.ones(grid.shape))


def gaussian(grid: Grid, mean: float | Sequence[float] = 0.0, cov: Any = 1.0) -> Any:
    """The Gaussian density ``N(mean, cov)`` sampled at the grid points and normalised on the grid.

    ``cov`` may be a scalar (isotropic variance), a vector of variances, or a full
    ``dim × dim`` covariance matrix (:func:`~fieldflow.core.validation.as_covariance` checks it).
    Evaluated in the log domain, so tiny tails never underflow to NaN.

    Warns (:class:`~fieldflow.core.validation.SetupWarning`) when the result is not the Gaussian asked for:
    a mean outside a box grid (what the box holds is a tail piled against a wall), or a standard deviation
    below half the grid spacing along an axis (a spike of one or two cells, not a resolved Gaussian).
    """
    d = grid_of(grid).dim
    m = np.atleast_1d(real_array(mean, "mean", ndim=(0, 1), hint=f"pass a number or a length-{d} vector"))
    if m.size not in (1, d):
        raise ValueError(f"mean must be a number or a length-{d} vector for this {d}D grid, got "
                         f"{np.asarray(mean).tolist()} (shape {np.asarray(mean).shape})")
    m = np.broadcast_to(m, (d,))
    C = as_covariance(cov, d)
    _check_resolved(grid, m, C)
    P = grid.xp.asarray(np.linalg.inv(C))
    z = grid.points - grid.xp.asarray(m)
    logp = -0.5 * grid.xp.einsum("...i,ij,...j->...", z, P, z)
    return normalize(grid, grid.xp.exp(logp - grid.xp.max(logp)))


def _check_resolved(grid: Grid, mean: np.ndarray, cov: np.ndarray) -> None:
    """:class:`~fieldflow.core.validation.SetupWarning` if ``N(mean, cov)`` sampled on ``grid`` is not that Gaussian."""
    std = np.sqrt(np.diag(cov))
    for a, (s, h) in enumerate(zip(std, grid.spacing)):
        if s < 0.5 * h:
            warnings.warn(
                f"the Gaussian's standard deviation along axis {a} is {s:.3g}, below half the grid spacing {h:.3g}: on "
                f"this grid it is a spike of one or two cells, not a resolved Gaussian; widen it (cov ≥ "
                f"{(h / 2) ** 2:.3g}) or refine the grid (n ≥ {math.ceil(grid.lengths[a] / (2 * s))})",
                SetupWarning, stacklevel=3)
    if grid.periodic:
        return
    outside = [a for a in range(grid.dim) if not grid.lower[a] <= mean[a] <= grid.upper[a]]
    if outside:
        inside = math.prod(0.5 * (math.erf((grid.upper[a] - mean[a]) / (math.sqrt(2) * std[a]))
                                  - math.erf((grid.lower[a] - mean[a]) / (math.sqrt(2) * std[a]))) for a in outside)
        a = outside[0]
        warnings.warn(
            f"the Gaussian's mean {mean.tolist()} lies outside the box along axis {a} ([{grid.lower[a]:g}, "
            f"{grid.upper[a]:g}]): the box holds {inside:.3g} of its mass, and the normalised density is that tail "
            "piled against the wall; move the mean inside or enlarge the box", SetupWarning, stacklevel=3)
