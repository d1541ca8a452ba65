"""The renormalised potential ``V_t(φ) = −log E_{C_t}[e^{−V_0(φ+ζ)}]`` by three back-ends.

``e^{−V_t}`` is the Gaussian convolution of ``e^{−V_0}`` with covariance ``C_t`` (:ref:`conventions-polchinski`).

``"exact"``
    For quadratic ``V_0 = ½(φ, Qφ)``: ``V_t = ½(φ, Q(1 + C_tQ)^{-1}φ) + ½ log det(1 + C_tQ)``; for a
    translation-invariant ``C_t`` and on-site or Fourier ``Q`` this is one formula per Fourier mode,
    ``q_t(k) = q(k)/(1 + c_t(k) q(k))`` and ``½ Σ_k log(1 + c_t(k) q(k))``.
``"grid"``
    For ``N = 1, 2, 3`` sites, on a grid in field space ``ℝ^N``: the quadrature
    ``e^{−V_t(φ_i)} ≈ Σ_j γ_C(φ_i − φ_j) e^{−V_0(φ_j)} h^N`` by one zero-padded FFT convolution
    (:class:`~fieldflow.core.convolve.LinearConvolution`) on a box, or exactly by the Fourier symbol
    ``e^{−kᵀCk/2}`` on a periodic grid when ``V_0`` is periodic (sine-Gordon).  The trapezoid rule of a
    Gaussian of covariance ``C`` on a lattice of spacing ``h`` has relative error
    ``≈ Σ_{m≠0} e^{−2π² mᵀCm/h²} ≤ 2N e^{−2π² λ_min(C)/h²}`` (Poisson summation), so the box needs
    ``2π² λ_min(C)/h² ≥ 25``.  Log-domain stable: ``e^{−(V_0 − min V_0)} ≤ 1`` never overflows, and
    the field values where the FFT result is below ``rel_floor`` of its maximum (where round-off of
    the FFT, ``≈ 10^{-16}`` of the maximum, would dominate) are recomputed by an exact log-sum-exp.
``"mc"``
    Monte Carlo with exact samples ``ζ_i ~ N(0, C)`` (FFT sampling on a lattice, Cholesky for a
    matrix): ``V_t ≈ −log M^{-1} Σ_i e^{−V_0(φ+ζ_i)}`` with the delta-method standard error
    ``std(w)/(√M mean(w))``, ``w_i = e^{−V_0(φ+ζ_i)}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.backend import to_numpy
from ..core.convolve import FourierMultiplier, LinearConvolution
from ..core.grids import Grid
from .covariance import FourierOperator, LatticeCovariance
from .potentials import FieldPotential

__all__ = [
    "MonteCarloEstimate",
    "covariance_matrix",
    "field_grid",
    "periodic_field_grid",
    "gaussian_convolution",
    "log_gaussian_convolution",
    "renormalized_potential",
]

#: 2π² λ_min(C)/h² must exceed this on a box (trapezoid error of the Gaussian ≤ 2N e^{-25} ≈ 3e-11·N)
KERNEL_RESOLUTION = 25.0
#: e^{-V_0} below e^{-SIGNIFICANT} of its maximum does not count when checking the resolution of V_0
SIGNIFICANT = 40.0
#: relative truncation error above which a box value is replaced by NaN (see ``renormalized_potential``)
TRUNCATION_TOL = 1e-10


@dataclass
class MonteCarloEstimate:
    """A Monte Carlo estimate with its standard error (one standard deviation)."""

    value: Any
    error: Any
    samples: int

    def __repr__(self) -> str:
        value, error = np.asarray(to_numpy(self.value)), np.asarray(to_numpy(self.error))
        if value.size == 1:
            return f"MonteCarloEstimate({float(value):.6g} ± {float(error):.2g}, {self.samples} samples)"
        return (f"MonteCarloEstimate(values of shape {value.shape} in [{np.nanmin(value):.4g}, {np.nanmax(value):.4g}], "
                f"errors up to {np.nanmax(error):.2g}, {self.samples} samples)")


def covariance_matrix(covariance: Any, name: str = "covariance") -> np.ndarray:
    """``covariance`` as a checked symmetric positive definite ``(N, N)`` matrix.

    A scalar is a one-site variance; a :class:`LatticeCovariance` gives its dense matrix.
    """
    if isinstance(covariance, FourierOperator):
        C = covariance.matrix()
    else:
        C = np.asarray(to_numpy(covariance), dtype=float)
        if C.ndim == 0:
            C = C.reshape(1, 1)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"the {name} must be a scalar or a square matrix, got shape {C.shape}")
    if not np.all(np.isfinite(C)):
        raise ValueError(f"the {name} is not finite")
    if not np.allclose(C, C.T, rtol=1e-12, atol=1e-14 * np.abs(C).max()):
        raise ValueError(f"the {name} matrix is not symmetric")
    ev = np.linalg.eigvalsh(C)
    if ev.min() <= 1e-14 * max(abs(ev).max(), 1e-300):
        raise ValueError(f"the {name} is not positive definite (eigenvalues {np.array2string(ev, precision=3)}); "
                         "a Gaussian convolution needs C ≻ 0 (for C_t − C_s take t > s)")
    return 0.5 * (C + C.T)


def field_grid(sites: int, n: int, extent: float, backend: str | None = None) -> Grid:
    """A box ``[−extent, extent]^sites`` with ``n`` cells per axis: the field space of 1–3 sites."""
    if sites not in (1, 2, 3):
        raise ValueError(f"field-space grids exist for 1, 2 or 3 sites, got {sites}; use Monte Carlo for more")
    return Grid.box(n, extent, dim=sites, backend=backend)


def periodic_field_grid(sites: int, n: int, period: float, backend: str | None = None) -> Grid:
    """A periodic grid ``[−P/2, P/2)^sites`` (``n`` nodes per axis) for a ``V_0`` of period ``P``."""
    if sites not in (1, 2, 3):
        raise ValueError(f"field-space grids exist for 1, 2 or 3 sites, got {sites}; use Monte Carlo for more")
    if not (math.isfinite(period) and period > 0):
        raise ValueError(f"period must be positive, got {period!r}")
    return Grid("torus", (int(n),) * sites, (-period / 2,) * sites, (period / 2,) * sites,
                backend or Grid.box(2, 1.0).backend)


# ---------------------------------------------------------------------------- grid back-end


def _check_kernel_resolution(grid: Grid, C: np.ndarray) -> None:
    if grid.periodic:
        return
    lam, h = float(np.linalg.eigvalsh(C).min()), max(grid.spacing)
    if 2 * math.pi**2 * lam / h**2 < KERNEL_RESOLUTION:
        need = math.sqrt(2 * math.pi**2 * lam / KERNEL_RESOLUTION)
        raise ValueError(
            f"the covariance is too narrow for the field grid: its smallest standard deviation {math.sqrt(lam):.3g} "
            f"needs a spacing h ≤ {need:.3g}, the grid has h = {h:.3g}; refine the grid (more nodes) or use a larger t"
        )


def gaussian_convolution(grid: Grid, C: Any, f: Any) -> Any:
    """``Σ_j γ_C(φ_i − φ_j) f_j h^N`` on a box (zero padding) or ``F⁻¹[e^{−kᵀCk/2} F f]`` on a torus.

    ``f`` may carry leading batch axes.  ``C`` is checked (symmetric positive definite, resolved by the grid).
    """
    C = covariance_matrix(C)
    if C.shape[0] != grid.dim:
        raise ValueError(f"a {C.shape[0]}-site covariance needs a {C.shape[0]}-dimensional field grid, got dim={grid.dim}")
    _check_kernel_resolution(grid, C)
    xp = grid.xp
    if grid.periodic:
        def symbol(k):
            q = 0
            for a in range(grid.dim):
                for b in range(grid.dim):
                    q = q + C[a, b] * k[a] * k[b]
            return xp.exp(-0.5 * q)
        return FourierMultiplier(grid, symbol)(f)
    P = np.linalg.inv(C)
    lognorm = -0.5 * (grid.dim * math.log(2 * math.pi) + math.log(np.linalg.det(C)))

    def kernel(z):
        q = xp.sum((z @ xp.asarray(P)) * z, axis=-1)
        return xp.exp(lognorm - 0.5 * q)

    return LinearConvolution(grid, kernel)(f)


def _direct_log_convolution(grid: Grid, C: np.ndarray, logf: Any, index: Any, chunk: int = 2**22) -> np.ndarray:
    """``log Σ_j γ_C(φ_i − φ_j) e^{logf_j} h^N`` at the flat grid indices ``index`` by log-sum-exp (box only)."""
    pts = to_numpy(grid.points).reshape(-1, grid.dim)
    lf = to_numpy(logf).ravel()
    # whitened coordinates: (x − y)ᵀC⁻¹(x − y) = |w_x − w_y|², so the quadratic form is one matrix product
    w = np.linalg.solve(np.linalg.cholesky(C), pts.T).T
    sq = np.sum(w * w, axis=1)
    lognorm = -0.5 * (grid.dim * math.log(2 * math.pi) + math.log(np.linalg.det(C))) + math.log(grid.cell_volume)
    base = lf - 0.5 * sq
    out = np.empty(len(index))
    rows = max(1, chunk // pts.shape[0])
    for s in range(0, len(index), rows):
        i = index[s:s + rows]
        a = base[None, :] + w[i] @ w.T - 0.5 * sq[i, None]
        amax = a.max(axis=1)
        out[s:s + rows] = amax + np.log(np.exp(a - amax[:, None]).sum(axis=1)) + lognorm
    return out


def log_gaussian_convolution(grid: Grid, C: Any, logf: Any, rel_floor: float = 1e-6,
                             direct_budget: float = 3e8) -> Any:
    """``log`` of the Gaussian convolution of ``e^{logf}``, stable for any range of ``logf``.

    The FFT result is used where it exceeds ``rel_floor`` times its maximum; elsewhere the value is
    recomputed by an exact log-sum-exp of the same quadrature (box grids) while the work
    (points × nodes) stays below ``direct_budget``, and is NaN otherwise.
    """
    xp = grid.xp
    C = covariance_matrix(C)
    shift = float(xp.max(logf))
    conv = gaussian_convolution(grid, C, xp.exp(logf - shift))
    top = float(xp.max(conv))
    reliable = conv > rel_floor * top
    out = xp.where(reliable, xp.log(xp.where(reliable, conv, 1.0)), xp.nan) + shift
    bad = np.flatnonzero(~to_numpy(reliable).ravel())
    if bad.size and not grid.periodic and bad.size * grid.size <= direct_budget:
        flat = to_numpy(out).ravel().copy()
        flat[bad] = _direct_log_convolution(grid, C, logf, bad)
        out = xp.asarray(flat.reshape(grid.shape))
    return out


def _check_potential_resolution(grid: Grid, V: Any, max_curvature: float) -> None:
    """``|V_0(y+h) − 2V_0(y) + V_0(y−h)| ≈ V_0'' h² ≤ max_curvature`` wherever ``e^{−V_0}`` matters.

    The trapezoid rule resolves a Gaussian factor ``e^{−a y²/2}`` to ``e^{−2π²/(a h²)}``, so
    ``a h² ≤ 2π²/25`` gives the same ``e^{−25}`` as the kernel criterion.
    """
    xp = grid.xp
    m = float(xp.min(V))
    significant = (V - m) <= SIGNIFICANT
    worst = 0.0
    for axis, n in enumerate(grid.shape):
        if n < 3:
            continue
        idx = [[slice(None)] * grid.dim for _ in range(3)]
        for j, sl in enumerate((slice(0, -2), slice(1, -1), slice(2, None))):
            idx[j][axis] = sl
        second = xp.abs(V[tuple(idx[0])] - 2 * V[tuple(idx[1])] + V[tuple(idx[2])])
        mask = significant[tuple(idx[1])]
        if bool(xp.any(mask)):
            worst = max(worst, float(xp.max(xp.where(mask, second, 0.0))))
    if worst > max_curvature:
        n_new = int(math.ceil(max(grid.shape) * math.sqrt(worst / max_curvature)))
        raise ValueError(
            f"the field grid is too coarse for e^(-V0): V0'' h^2 reaches {worst:.3g} where e^(-V0) matters "
            f"(limit {max_curvature:.3g}); use about n = {n_new} nodes per axis or a smaller extent"
        )


def _grid_potential(V0: FieldPotential, C: np.ndarray, grid: Grid, rel_floor: float, max_curvature: float) -> Any:
    xp = grid.xp
    if C.shape[0] != grid.dim:
        raise ValueError(f"a {C.shape[0]}-site covariance needs a {C.shape[0]}-dimensional field grid, got dim={grid.dim}")
    V = V0(grid.points, ndim=1)
    if not bool(xp.all(xp.isfinite(V))):
        raise ValueError("V0 is not finite on the field grid")
    if grid.periodic:
        if V0.period is None:
            raise ValueError(f"{V0!r} is not periodic; a periodic field grid needs a periodic V0 (sine_gordon), "
                             "use field_grid(...) (a box) instead")
        for L in grid.lengths:
            if abs(L / V0.period - round(L / V0.period)) > 1e-9 or round(L / V0.period) < 1:
                raise ValueError(f"the periodic field grid has length {L:g}, not a multiple of the period "
                                 f"{V0.period:g} of {V0!r}")
    _check_potential_resolution(grid, V, max_curvature)
    m = float(xp.min(V))
    Vt = -log_gaussian_convolution(grid, C, -(V - m), rel_floor) + m
    if not grid.periodic:
        # truncation: mass of e^{-(V0-m)} outside the box ≤ e^{-edge_gap} (V0 ≥ its boundary minimum outside the
        # box), relative to e^{-(V_t(φ)-m)} at φ; mark the values where that ratio exceeds TRUNCATION_TOL
        edge = min(float(xp.min(xp.take(V, xp.asarray([0, n - 1]), axis=a))) for a, n in enumerate(grid.shape))
        limit = (edge - m) + math.log(TRUNCATION_TOL)
        Vt = xp.where(Vt - m <= limit, Vt, xp.nan)
        if not bool(xp.any(xp.isfinite(Vt))):
            raise ValueError(
                f"the field box is too small for {V0!r}: e^(-V0) at its edge is e^({m - edge:.3g}) of its maximum, so "
                "no value is free of truncation; enlarge the extent (V0 must grow outside the box), or use "
                "periodic_field_grid for a periodic V0")
    return Vt


# ---------------------------------------------------------------------------- exact and Monte Carlo back-ends


def _exact_potential(V0: FieldPotential, covariance: Any, phi: Any) -> Any:
    Q = V0.quadratic_form()
    if Q is None:
        raise ValueError(f"method='exact' needs a quadratic V0 (QuadraticPotential or phi4 with g=0), got {V0!r}")
    if isinstance(covariance, LatticeCovariance):
        lat = covariance.lattice
        c = covariance.full_symbol
        q = Q.full_symbol if isinstance(Q, FourierOperator) else np.full(lat.shape, float(np.asarray(Q)))
        if np.ndim(Q) == 2:
            raise ValueError("a matrix Q with a lattice covariance: pass QuadraticPotential(FourierOperator) instead")
        one = 1.0 + c * q
        if one.min() <= 0:
            raise ValueError("e^(-V0) is not integrable against N(0, C): 1 + c(k) q(k) ≤ 0 for some mode; "
                             "C^{-1} + Q must be positive definite")
        Qt = FourierOperator(lat, q / one, name="Q_t")
        return 0.5 * lat.xp.sum(phi * Qt.apply(phi), axis=lat.axes) + 0.5 * float(np.sum(np.log(one)))
    C = covariance_matrix(covariance)
    N = C.shape[0]
    Qm = Q.matrix() if isinstance(Q, FourierOperator) else (float(Q) * np.eye(N) if np.ndim(Q) == 0 else np.asarray(Q))
    if Qm.shape != (N, N):
        raise ValueError(f"Q has shape {Qm.shape} but the covariance is {N}x{N}")
    R = np.linalg.cholesky(C)
    inner = np.eye(N) + R.T @ Qm @ R  # similar to 1 + CQ, symmetric
    ev = np.linalg.eigvalsh(inner)
    if ev.min() <= 0:
        raise ValueError("e^(-V0) is not integrable against N(0, C): C^{-1} + Q is not positive definite")
    Qt = np.linalg.solve(np.eye(N) + Qm @ C, Qm)
    Qt = 0.5 * (Qt + Qt.T)
    phi = np.asarray(to_numpy(phi), dtype=float)
    if phi.shape[-1] != N:
        raise ValueError(f"fields must have {N} sites along the last axis, got shape {phi.shape}")
    return 0.5 * np.einsum("...i,ij,...j->...", phi, Qt, phi) + 0.5 * float(np.sum(np.log(ev)))


def gaussian_fluctuations(covariance: Any, samples: int, seed: Any) -> tuple[Any, int, tuple[int, ...], Any]:
    """``samples`` draws of ``ζ ~ N(0, C)`` for a lattice covariance (FFT sampling) or a matrix/scalar ``C``.

    Returns the array namespace, the number of site axes, the site shape and ``ζ`` of shape
    ``(samples, *site_shape)``.
    """
    if not (isinstance(samples, (int, np.integer)) and samples >= 2):
        raise ValueError(f"samples must be an integer ≥ 2, got {samples!r}")
    if isinstance(covariance, LatticeCovariance):
        lat = covariance.lattice
        return lat.xp, lat.dim, lat.shape, covariance.sample(samples, seed)
    C = covariance_matrix(covariance)
    z = np.random.default_rng(seed).standard_normal((samples, C.shape[0]))
    return np, 1, (C.shape[0],), z @ np.linalg.cholesky(C).T


def _mc_potential(V0: FieldPotential, covariance: Any, phi: Any, samples: int, seed: Any) -> MonteCarloEstimate:
    xp, ndim, site_shape, zeta = gaussian_fluctuations(covariance, samples, seed)
    phi = xp.asarray(phi, dtype=float)
    if tuple(phi.shape[phi.ndim - len(site_shape):]) != site_shape:
        raise ValueError(f"fields must end in the site shape {site_shape}, got shape {tuple(phi.shape)}")
    batch = phi.shape[: phi.ndim - len(site_shape)]
    flat = phi.reshape((-1,) + site_shape)
    values, errors = [], []
    for f in flat:
        logw = -V0(f + zeta, ndim=ndim)
        top = xp.max(logw)
        w = xp.exp(logw - top)
        mean = xp.mean(w)
        values.append(-(float(top) + math.log(float(mean))))
        errors.append(float(xp.std(w, ddof=1)) / (math.sqrt(samples) * float(mean)))
    return MonteCarloEstimate(np.asarray(values).reshape(batch), np.asarray(errors).reshape(batch), int(samples))


def renormalized_potential(V0: FieldPotential, covariance: Any, phi: Any, method: str = "auto", *,
                           samples: int = 4096, seed: Any = None, rel_floor: float = 1e-6,
                           max_curvature: float = 2 * math.pi**2 / KERNEL_RESOLUTION) -> Any:
    """``V_t(φ) = −log E_{C}[e^{−V_0(φ+ζ)}]``, ``ζ ~ N(0, C)``, with ``C = C_t``.

    Parameters
    ----------
    V0 : FieldPotential
        E.g. :func:`~fieldflow.polchinski.phi4`, :func:`~fieldflow.polchinski.sine_gordon`,
        :class:`~fieldflow.polchinski.QuadraticPotential`.
    covariance : float, (N, N) array or LatticeCovariance
        ``C_t`` (a scalar means one site).  Must be positive definite.
    phi : Grid or array
        A field-space grid (``field_grid`` / ``periodic_field_grid``, dimension ``N``) for
        ``method="grid"``; otherwise fields of shape ``(..., N)`` (matrix covariance) or
        ``(..., *lattice.shape)`` (lattice covariance).
    method : {"auto", "exact", "grid", "mc"}
        ``"auto"``: exact for quadratic ``V_0``, grid when ``phi`` is a grid, Monte Carlo otherwise.
    samples, seed : Monte Carlo sample size and seed.
    rel_floor : float
        Grid: FFT values below this fraction of the maximum are recomputed in the log domain.
    max_curvature : float
        Grid: the largest second difference ``≈ V_0'' h²`` allowed where ``e^{−V_0}`` matters
        (``V_0 − min V_0 ≤ 40``); a larger one raises ``ValueError`` (grid too coarse for ``e^{−V_0}``).

    Returns
    -------
    array or MonteCarloEstimate
        ``V_t`` on the grid / at the fields.  On a box, values whose relative truncation error
        (mass of ``e^{−V_0}`` outside the box, assuming ``V_0`` there is at least its minimum on
        the boundary) could exceed ``1e-10`` are NaN: they sit near the edge of the box.
        Monte Carlo returns ``MonteCarloEstimate(value, error, samples)``.
    """
    if not isinstance(V0, FieldPotential):
        raise ValueError(f"V0 must be a FieldPotential (phi4, sine_gordon, QuadraticPotential), got {type(V0).__name__}")
    if method == "auto":
        if V0.quadratic_form() is not None:
            method = "exact"
        elif isinstance(phi, Grid):
            method = "grid"
        else:
            method = "mc"
    if method == "exact":
        return _exact_potential(V0, covariance, to_numpy(phi.points) if isinstance(phi, Grid) else phi)
    if method == "grid":
        if not isinstance(phi, Grid):
            raise ValueError("method='grid' needs phi to be a field-space Grid (field_grid or periodic_field_grid)")
        return _grid_potential(V0, covariance_matrix(covariance), phi, rel_floor, max_curvature)
    if method == "mc":
        return _mc_potential(V0, covariance, to_numpy(phi.points) if isinstance(phi, Grid) else phi, samples, seed)
    raise ValueError(f"unknown method {method!r}; choose 'auto', 'exact', 'grid' or 'mc'")
