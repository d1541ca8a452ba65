"""Validation of what users hand the solvers: one place for the checks and their messages."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .backend import to_numpy
from .grids import Grid

__all__ = ["validate_density", "as_covariance", "RenormalisedDensityWarning", "MASS_TOL"]

#: ``max|C − Cᵀ|`` allowed, relative to ``max|C|``, before a covariance matrix counts as non-symmetric
SYMMETRY_TOL = 1e-10


#: relative mass error ``|∫ρ − 1|`` above which renormalising a density warns: larger than the quadrature
#: error of a normalised density on a resolved grid, so it means the input was not normalised
MASS_TOL = 1e-4


class RenormalisedDensityWarning(UserWarning):
    """A density handed to a solver did not have mass 1 and was divided by its mass."""


def validate_density(grid: Grid, rho: Any, name: str = "density", normalise: bool = False,
                     mass_tol: float | None = MASS_TOL) -> Any:
    """Check that ``rho`` is an admissible density on ``grid`` and return it as a float grid array.

    Parameters
    ----------
    grid : Grid
        The grid ``rho`` lives on.
    rho : array
        Values at the grid points, shape ``grid.shape``.
    name : str
        How messages call ``rho``.
    normalise : bool
        Divide by the mass ``grid.integrate(rho)``.  If the mass is off 1 by more than ``mass_tol``
        (relative), a :class:`~fieldflow.core.validation.RenormalisedDensityWarning` says so: the solver then evolves ``rho/mass``,
        not what was passed.
    mass_tol : float or None
        Tolerance of that warning; ``None`` renormalises silently (for inputs that are unnormalised by
        design, as in :func:`fieldflow.densities.normalize`).

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
        if mass_tol is not None and abs(float(mass) - 1.0) > mass_tol:
            warnings.warn(
                f"{name} has mass {float(mass):.6g}, not 1: it is divided by its mass, so the run starts from a "
                f"density {1 / float(mass):.4g} times the one given; normalise it first "
                "(ff.densities.normalize(grid, rho)) to make this explicit", RenormalisedDensityWarning, stacklevel=3)
        arr = arr / mass
    return arr


def as_covariance(cov: Any, dim: int, name: str = "cov") -> np.ndarray:
    """The ``dim × dim`` covariance matrix ``Σ`` that ``cov`` stands for, checked (a NumPy array).

    ``cov`` may be

    * a scalar ``σ²`` (isotropic: ``Σ = σ² I``),
    * a length-``dim`` vector of variances (diagonal: ``Σ = diag(σ₁², …, σ_d²)``),
    * a full ``dim × dim`` matrix, symmetric to ``SYMMETRY_TOL`` relative to its largest entry
      (returned exactly symmetric, ``(Σ + Σᵀ)/2``).

    Units: those of ``x²`` for a law of ``x``.  The matrix lives on the host (it is ``dim × dim``);
    callers move what they derive from it (precision, Cholesky factor) to their array namespace.

    Raises
    ------
    TypeError
        If ``cov`` is not made of real numbers (complex, strings, ragged nesting).
    ValueError
        If it has NaN/inf entries, the wrong shape, a non-positive variance, or is a matrix that is
        not symmetric or not positive definite.  The message gives what was passed and what to change.
    """
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"the dimension of a covariance must be a positive integer, got {dim!r}")
    dim = int(dim)
    try:
        C = np.asarray(to_numpy(cov))
    except ValueError as exc:  # ragged nesting
        raise TypeError(f"{name} must be a number, a vector or a matrix of real numbers, got {cov!r}") from exc
    if C.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be made of real numbers, got {cov!r} (dtype {C.dtype})")
    C = C.astype(float)
    if not np.all(np.isfinite(C)):
        raise ValueError(f"{name} has NaN or infinite entries: {C.tolist()}; every variance must be finite")
    if C.ndim == 0:
        if not C > 0:
            raise ValueError(f"a scalar {name} is the variance σ² of every coordinate and must be positive, got {float(C)}")
        return float(C) * np.eye(dim)
    if C.ndim == 1:
        if C.shape != (dim,):
            raise ValueError(f"a vector {name} holds one variance per coordinate: it needs {dim} entries, got {C.shape[0]}")
        if np.any(C <= 0):
            raise ValueError(f"the variances in {name} must be positive, got {C.tolist()}")
        return np.diag(C)
    if C.shape != (dim, dim):
        raise ValueError(
            f"{name} must be a scalar variance, a length-{dim} vector of variances or a {dim}x{dim} matrix, "
            f"got shape {C.shape}"
        )
    asym = float(np.max(np.abs(C - C.T)))
    if asym > SYMMETRY_TOL * float(np.max(np.abs(C))):
        raise ValueError(
            f"the covariance matrix {name} must be symmetric, but max|C - Cᵀ| = {asym:.3g} for {C.tolist()}; "
            "pass (C + C.T)/2 if the asymmetry is round-off"
        )
    C = 0.5 * (C + C.T)
    eigenvalues = np.linalg.eigvalsh(C)
    if not eigenvalues[0] > 0:
        raise ValueError(
            f"the covariance matrix {name} must be positive definite, but its eigenvalues are {eigenvalues.tolist()} "
            f"for {C.tolist()}; every direction needs a positive variance"
        )
    return C
