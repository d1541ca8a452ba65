"""Coulomb (γ = −3) bi-Maxwellian relaxation: exact initial rate, grid solver, blob particles, Gaussian closure."""

from __future__ import annotations

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.landau.bimaxwellian import (anisotropy_rate, blob_rate_factor, closure_relaxation, grid_anisotropy_rate,
                                    particle_anisotropy_rate)
from fieldflow.core.metrics import loglog_slope
from fieldflow.landau.particles import BlobLandau

T3 = (1.3, 0.85, 0.85)


@pytest.mark.parametrize("temperatures", [(1.3, 0.7), T3])
def test_maxwell_rate_is_the_closed_form(temperatures):
    """γ = 0: the second moments obey a closed linear ODE, ``dΔT/dt = −4dC ΔT``; with ε the factor is r(ε)."""
    d = len(temperatures)
    dT = temperatures[0] - temperatures[1]
    rate = anisotropy_rate(temperatures, 0.0, 0.3)
    assert rate == pytest.approx(-4 * d * 0.3 * dT, rel=1e-11)
    for eps in (0.3, 0.8):
        ratio = anisotropy_rate(temperatures, 0.0, 0.3, eps) / rate
        assert ratio == pytest.approx(blob_rate_factor(temperatures, eps), rel=1e-11)


@pytest.mark.parametrize("temperatures,gamma", [(T3, -3.0), ((1.3, 0.7), -3.0), (T3, 1.0)])
def test_rate_formula_against_monte_carlo(temperatures, gamma):
    """``C(p_∥ − p_⊥) E[|z|^{γ+4} ω_∥²(1 − ω_∥² + ω_⊥²)]`` with z ~ N(0, 2Σ) sampled: within 4 standard errors."""
    rng = np.random.default_rng(3)
    S = 2 * np.array(temperatures)
    z = rng.standard_normal((1_000_000, len(S))) * np.sqrt(S)
    r2 = np.sum(z * z, 1)
    sample = r2 ** ((gamma + 4) / 2) * z[:, 0] ** 2 / r2 * (1 - (z[:, 0] ** 2 - z[:, -1] ** 2) / r2)
    p = 1 / np.array(temperatures)
    scale = 0.7 * (p[0] - p[-1])
    mc, se = scale * sample.mean(), abs(scale) * sample.std() / np.sqrt(sample.size)
    assert abs(anisotropy_rate(temperatures, gamma, 0.7) - mc) < 4 * se


def test_grid_coulomb_rate_converges_to_the_exact_rate():
    """Grid solver, 3D Coulomb: ``∫ rhs(f)(v_x² − v_z²)`` for the bi-Maxwellian against :func:`anisotropy_rate`.

    The scheme is second order in ``h``; this symmetric functional of a Gaussian converges faster (measured
    relative errors 2.8e-2, 9.1e-3, 3.8e-3, 1.8e-3 for n = 12, 16, 20, 24: fitted order 3.9).  Asserted: the
    scheme's order 2 at least, and monotone decrease.
    """
    exact = anisotropy_rate(T3, -3.0, 1.0)
    ns = (12, 16, 20, 24)
    errors, hs = [], []
    for n in ns:
        grid = ff.Grid.box(n, 6.5, dim=3)
        f = ff.densities.gaussian(grid, 0.0, T3)
        rhs = ff.Landau(grid, -3.0, C=1.0).rhs(f, 0.0)
        errors.append(grid_anisotropy_rate(grid, rhs) / exact - 1)
        hs.append(grid.spacing[0])
    assert np.all(np.diff(np.abs(errors)) < 0), errors
    assert loglog_slope(hs, np.abs(errors)) >= 2.0, errors


def test_blob_coulomb_rate_converges_to_the_regularised_rate():
    """Blob particles at fixed ε: the initial rate → ``r(ε) ×`` exact (bimaxwellian module) as ``h → 0``.

    For a Gaussian the blob score is exactly ``−(Σ + ε²I)^{-1}v`` (mesh quadrature of ``ψ_ε`` is spectrally
    accurate for ``h ≲ ε``), so what is left is the lattice pair sum of the rate integrand, homogeneous of degree
    ``γ + 4 = 1`` at ``z = 0``: by the Lyness–Ninham expansion for lattice sums with a homogeneous singularity
    its error is ``O(h^{d+γ+4}) = O(h⁴)``.  Measured (L = 7, ε = 0.8): relative errors 3.6e-2, 2.0e-2, 1.2e-2
    for n = 12, 14, 16 (local orders 3.75, 3.9; 3.97 at n = 18).  Asserted: fitted order within 0.5 of 4.
    """
    eps = 0.8
    exact = anisotropy_rate(T3, -3.0, 1.0, epsilon=eps)
    errors, hs = [], []
    for n in (12, 14, 16):
        blob = BlobLandau(ff.Grid.box(n, 7.0, dim=3), -3.0, C=1.0, epsilon=eps)
        v, w = blob.initial_particles(ff.densities.gaussian(blob.grid, 0.0, T3))
        errors.append(particle_anisotropy_rate(v, w, blob.velocity(v, w)) / exact - 1)
        hs.append(blob.grid.spacing[0])
    assert abs(loglog_slope(hs, np.abs(errors)) - 4.0) <= 0.5, errors


@pytest.mark.slow
def test_blob_coulomb_rate_order_slow():
    """As above on finer meshes (n = 16, 18, 21, 24; measured local orders 3.97, 4.04, 4.1): |p − 4| ≤ 0.25."""
    eps = 0.8
    exact = anisotropy_rate(T3, -3.0, 1.0, epsilon=eps)
    errors, hs = [], []
    for n in (16, 18, 21, 24):
        blob = BlobLandau(ff.Grid.box(n, 7.0, dim=3), -3.0, C=1.0, epsilon=eps)
        v, w = blob.initial_particles(ff.densities.gaussian(blob.grid, 0.0, T3))
        errors.append(particle_anisotropy_rate(v, w, blob.velocity(v, w)) / exact - 1)
        hs.append(blob.grid.spacing[0])
    assert abs(loglog_slope(hs, np.abs(errors)) - 4.0) <= 0.25, errors


def test_blob_rejects_a_box_too_small_for_the_mollified_density():
    blob = BlobLandau(ff.Grid.box(10, 4.0, dim=3), -3.0, C=1.0)
    with pytest.raises(ValueError, match="too small"):
        blob.initial_particles(ff.densities.gaussian(blob.grid, 0.0, T3))
    with pytest.raises(ValueError, match="wall_tol"):
        BlobLandau(ff.Grid.box(10, 4.0, dim=3), wall_tol=2.0)


def test_closure_is_exact_for_maxwell_molecules_and_conserves_energy():
    times = np.linspace(0.0, 3.0, 7)
    C = 0.2
    for temps in ((1.3, 0.7), T3):
        d = len(temps)
        curve = closure_relaxation(temps, 0.0, C, times)
        dT = (temps[0] - temps[1]) * np.exp(-4 * d * C * times)
        np.testing.assert_allclose(curve[:, 0] - curve[:, 1], dT, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(curve[:, 0] + (d - 1) * curve[:, 1], temps[0] + (d - 1) * temps[1], rtol=1e-13)
    coulomb = closure_relaxation(T3, -3.0, 1.0, times)
    assert np.all(np.diff(coulomb[:, 0] - coulomb[:, 1]) < 0)
    with pytest.raises(ValueError, match="perpendicular"):
        anisotropy_rate((1.3, 0.8, 0.9), -3.0, 1.0)
    with pytest.raises(ValueError, match="positive"):
        anisotropy_rate((1.3, -0.8), -3.0, 1.0)
    with pytest.raises(ValueError, match="epsilon"):
        anisotropy_rate(T3, -3.0, 1.0, epsilon=-0.1)
    with pytest.raises(ValueError, match="gamma"):
        anisotropy_rate(T3, -4.0, 1.0)
    with pytest.raises(ValueError, match="times"):
        closure_relaxation(T3, -3.0, 1.0, [1.0, 0.5])


def test_coulomb_blob_and_grid_temperature_curves_agree_after_the_blob_correction():
    """Grid solver and blob particles, Coulomb 3D, temperatures to t = 1.

    The blob method at width ε relaxes the anisotropy ``r(ε)`` times slower (0.35 here), so the raw curves differ
    by far more than either method's error.  Corrected blob: ``T_blob + (T_closure,0 − T_closure,ε)`` — the
    difference of the bi-Maxwellian closures with and without the blob's regularisation.  Tolerance, derived:
    each method's error in the temperature change is at most its measured relative error in the initial rate
    (against :func:`anisotropy_rate`) times that change; the closure correction is exact for a Gaussian, and the
    non-Gaussian part ``δ = T_grid − T_closure,0`` enters the corrected difference as ``(1 − r(ε))δ`` at most.
    Measured: T_x(1) grid 1.19573, blob 1.25605 (raw gap 6.0e-2), corrected blob 1.19610 (gap 3.7e-4, tolerance
    3.4e-3 from rate errors 0.9 % grid / 3.6 % blob).
    """
    t_end = 1.0
    grid = ff.Grid.box(16, 6.5, dim=3)
    pde = ff.Landau(grid, -3.0, C=1.0)
    f = ff.densities.gaussian(grid, 0.0, T3)
    traj = ff.evolve(pde, f, t_end, method="ssprk3", save_times=[t_end], progress=False)
    grid_error = abs(grid_anisotropy_rate(grid, pde.rhs(f, 0.0)) / anisotropy_rate(T3, -3, 1.0) - 1)
    Tgrid = pde.moments(traj.states[-1])["temperature_0"]

    blob = BlobLandau(ff.Grid.box(12, 7.0, dim=3), -3.0, C=1.0, epsilon=0.8)
    f0 = ff.densities.gaussian(blob.grid, 0.0, T3)
    v, w = blob.initial_particles(f0)
    blob_error = abs(particle_anisotropy_rate(v, w, blob.velocity(v, w)) / anisotropy_rate(T3, -3, 1.0, 0.8) - 1)
    run = ff.evolve(blob, f0, t_end, dt=0.5)
    Tblob = run["temperature_0"][-1]

    exact, smoothed = closure_relaxation(T3, -3.0, 1.0, [t_end]), closure_relaxation(T3, -3.0, 1.0, [t_end], 0.8)
    corrected = Tblob + exact[0, 0] - smoothed[0, 0]
    r = blob_rate_factor(T3, 0.8)
    tol = grid_error * abs(Tgrid - T3[0]) + blob_error * abs(Tblob - T3[0]) + (1 - r) * abs(Tgrid - exact[0, 0])
    assert abs(corrected - Tgrid) <= tol, (corrected, Tgrid, tol)
    assert abs(Tblob - Tgrid) > 10 * tol  # the correction is what makes them agree
    assert np.max(np.abs(run["energy"] - run["energy"][0])) < 1e-12


def test_blob_drops_negligible_cells_without_changing_the_dynamics():
    """Default ``drop_tol = 1e-12``: fewer particles, unit mass, and the initial rate unchanged.

    The dropped mass is at most ``drop_tol · max w · N`` ≲ 1e-10 here and the rate is linear in the weights, so the
    relative change of the rate is bounded by the dropped mass times the rate integrand's range (a few units):
    asserted below 1e-8.  Measured: 496 of 1000 particles kept, relative rate change 6e-11.
    """
    rates, sizes = [], []
    for drop in (0.0, 1e-12):
        blob = BlobLandau(ff.Grid.box(10, 7.5, dim=3), -3.0, C=1.0, epsilon=0.9, drop_tol=drop)
        f = ff.densities.gaussian(blob.grid, 0.0, T3)
        v, w = blob.initial_particles(f)
        assert abs(w.sum() - 1) < 1e-15
        rates.append(particle_anisotropy_rate(v, w, blob.velocity(v, w)))
        sizes.append(v.shape[0])
    assert sizes[1] < sizes[0] == f.size
    assert abs(rates[1] / rates[0] - 1) < 1e-8, rates
    with pytest.raises(ValueError, match="drop_tol"):
        BlobLandau(ff.Grid.box(10, 7.0, dim=3), drop_tol=1.5)
