"""Landau grid solver against the BKW solution; structure of the entropic scheme; bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fieldflow as ff
from fieldflow.landau import BKW, bkw, collision_kernel, kernel_divergence
from fieldflow.core.metrics import loglog_slope
from fieldflow.landau.pde import Landau


# ----------------------------------------------------------------------------- BKW and the kernel


def test_kernel_divergence_is_div_A():
    """``b = ∇·A = −C(d−1)|z|^γ z`` checked by central differences of ``A`` in 2D and 3D."""
    rng = np.random.default_rng(0)
    for d in (2, 3):
        for gamma in (0.0, -3.0, 0.5):
            z = rng.standard_normal((4, d))
            e = 1e-6
            div = np.zeros((4, d))
            for b in range(d):
                dz = np.zeros(d)
                dz[b] = e
                div += (collision_kernel(z + dz, gamma, 0.3)[..., :, b] - collision_kernel(z - dz, gamma, 0.3)[..., :, b]) / (2 * e)
            np.testing.assert_allclose(div, kernel_divergence(z, gamma, 0.3), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dim, t", [(2, 1.0), (3, 6.0)])
def test_bkw_moments_and_sampler(dim, t):
    exact = BKW(dim)
    grid = ff.Grid.box(64 if dim == 2 else 40, 9.0, dim=dim)
    f = bkw(grid, t)
    r2 = sum(x * x for x in grid.mesh)
    mom = exact.moments(t)
    assert grid.integrate(f) == pytest.approx(1.0, abs=1e-10)
    assert grid.integrate(r2 * f) == pytest.approx(mom["energy"], abs=1e-9)
    assert grid.integrate(r2 * r2 * f) == pytest.approx(mom["fourth_moment"], abs=1e-8)
    # f log f has a log singularity at |v| = ±i·sqrt(P/Q) (0.53i in 3D at t = 6), so the midpoint rule
    # converges like exp(−2π·0.53/h) ≈ 6e-4 relative at h = 0.45: the bound below is that, not a fudge
    assert grid.integrate(f * np.log(f)) == pytest.approx(exact.entropy(t), abs=1e-5)
    # samples: |mean of |v|^2 − d| within 5 standard errors (sd of |v|^2 ≤ sqrt(m4))
    x = exact.sample(40000, t, seed=3)
    se = math.sqrt(mom["fourth_moment"] / 40000)
    assert abs(np.mean(np.sum(x**2, 1)) - dim) < 5 * se


def test_bkw_rejects_times_where_it_is_not_a_density():
    with pytest.raises(ValueError, match="density only for t"):
        BKW(3).density(np.zeros((1, 3)), 1.0)


@pytest.mark.parametrize("dim, ns, extent, t", [(2, (32, 64, 128), 7.0, 1.0), (3, (16, 24, 32), 6.5, 6.0)])
def test_bkw_solves_landau_rhs_converges_at_second_order(dim, ns, extent, t):
    """The grid right-hand side at the BKW profile converges to its exact ``∂t f`` at order 2.

    This is also the numerical check that the BKW formula solves the Landau equation (not just its
    OU reduction) for C = 1/16 (2D) and C = 1/24 (3D).
    """
    exact = BKW(dim)
    errors, hs = [], []
    for n in ns:
        grid = ff.Grid.box(n, extent, dim=dim)
        pde = Landau(grid, 0.0)
        r = pde.rhs(exact.density(grid.points, t))
        errors.append(grid.integrate(np.abs(r - exact.time_derivative(grid.points, t))))
        hs.append(grid.spacing[0])
    p = loglog_slope(hs, errors)
    assert 1.7 < p < 2.5, (errors, p)


def test_fft_rhs_equals_direct_double_sum():
    for dim, n in ((2, 8), (3, 5)):
        grid = ff.Grid.box(n, 3.0, dim=dim)
        rng = np.random.default_rng(dim)
        f = np.exp(rng.standard_normal(grid.shape))
        for gamma in (0.0, -3.0):
            pde = Landau(grid, gamma)
            fast, slow = pde.rhs(f), pde.rhs_direct(f)
            assert np.max(np.abs(fast - slow)) <= 1e-12 * np.max(np.abs(slow))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10**6), gamma=st.sampled_from([0.0, -1.0, -3.0, 1.0]))
def test_semidiscrete_mass_and_entropy_dissipation_exact(seed, gamma):
    """For any positive f: Σ rhs = 0 to round-off, and −Σ log f · rhs = ¼Σ_σ Σ_ij f_i f_j Δg·A Δg ≥ 0."""
    grid = ff.Grid.box((6, 5), 2.0)
    rng = np.random.default_rng(seed)
    f = np.exp(2 * rng.standard_normal(grid.shape))
    pde = Landau(grid, gamma)
    r = pde.rhs(f)
    assert abs(grid.integrate(r)) <= 1e-13 * grid.integrate(np.abs(r))
    L = np.log(f)
    pts = grid.points.reshape(-1, 2)
    A = collision_kernel(pts[:, None] - pts[None], gamma, pde.C)
    fv = f.ravel()
    pair = 0.0
    for sign in (1, -1):
        g = np.stack([pde._gradient(L, a, sign) for a in range(2)], -1).reshape(-1, 2)
        dg = g[:, None] - g[None]
        pair += 0.25 * np.einsum("i,j,ija,ijab,ijb->", fv, fv, dg, A, dg) * grid.cell_volume**2
    dissipation = -grid.integrate(L * r)
    assert pair >= 0
    assert dissipation == pytest.approx(pair, rel=1e-10, abs=1e-14)


def _bkw_run(n, extent, t0, t1, dim=2):
    exact = BKW(dim)
    grid = ff.Grid.box(n, extent, dim=dim)
    pde = Landau(grid, 0.0)
    traj = ff.evolve(pde, exact.density(grid.points, t0), t1 - t0, method="ssprk3", diagnostics_every=10)
    error = grid.integrate(np.abs(traj.final - exact.density(grid.points, t1)))
    return grid, traj, error


def test_grid_solver_against_bkw_2d_order_and_structure():
    """Fitted spatial order of the L1 error at t; mass to 1e-12, momentum to round-off, energy drift → 0; H monotone."""
    hs, errors, energy = [], [], []
    for n in (20, 30, 40):
        grid, traj, error = _bkw_run(n, 6.0, 0.5, 1.0)
        hs.append(grid.spacing[0])
        errors.append(error)
        energy.append(abs(traj["energy"][-1] - traj["energy"][0]))
        assert np.max(np.abs(traj["mass"] - 1)) < 1e-12
        assert np.max(np.abs(traj["momentum_0"])) < 1e-13 and np.max(np.abs(traj["momentum_1"])) < 1e-13
        assert np.all(np.diff(traj["entropy"]) <= 1e-14)
        assert np.all(traj["dissipation"] >= 0)
    p = loglog_slope(hs, errors)
    assert 1.7 < p < 2.6, (errors, p)
    # energy leaves only through the wall rows: drift far below the error and decreasing with n
    assert energy[-1] < energy[0] and energy[-1] < 1e-2 * errors[-1]


def test_grid_solver_3d_short_run_structure():
    grid, traj, error = _bkw_run(16, 6.0, 6.0, 6.02, dim=3)
    assert np.max(np.abs(traj["mass"] - 1)) < 1e-12
    assert np.all(np.diff(traj["entropy"]) <= 1e-14)
    assert max(abs(traj[f"momentum_{a}"]).max() for a in range(3)) < 1e-13
    assert error < 0.05


@pytest.mark.slow
@pytest.mark.parametrize("dim, ns, extent, t0, t1", [(2, (32, 64, 96), 6.0, 0.5, 2.5), (3, (16, 24, 32), 6.0, 6.0, 7.0)])
def test_grid_solver_against_bkw_order_slow(dim, ns, extent, t0, t1):
    hs, errors = [], []
    for n in ns:
        grid, traj, error = _bkw_run(n, extent, t0, t1, dim=dim)
        hs.append(grid.spacing[0])
        errors.append(error)
        assert np.max(np.abs(traj["mass"] - 1)) < 1e-12
        assert np.all(np.diff(traj["entropy"]) <= 1e-14)
    assert 1.7 < loglog_slope(hs, errors) < 2.6, errors


# ----------------------------------------------------------------------------- Coulomb


def bi_maxwellian(grid, temperatures):
    return ff.densities.gaussian(grid, 0.0, np.asarray(temperatures, float))


def test_coulomb_3d_temperature_relaxation_conserves():
    """Anisotropic bi-Maxwellian, γ = −3: temperatures approach each other, mass/momentum/energy kept, H decreases."""
    grid = ff.Grid.box(16, 6.5, dim=3)
    pde = Landau(grid, -3.0, C=1.0)
    f0 = bi_maxwellian(grid, (1.2, 0.9, 0.9))
    traj = ff.evolve(pde, f0, 0.3, method="ssprk3", save_every=0.1, diagnostics_every=5)
    Tx, Tz = traj["temperature_0"], traj["temperature_2"]
    gap = Tx - Tz
    assert np.all(np.diff(gap) < 0) and gap[-1] < 0.9 * gap[0]
    assert np.max(np.abs(traj["mass"] - 1)) < 1e-12
    assert abs(traj["energy"][-1] - traj["energy"][0]) < 1e-6
    assert np.all(np.diff(traj["entropy"]) <= 1e-14)


# ----------------------------------------------------------------------------- bad input


def test_bad_input_raises_clear_errors():
    grid = ff.Grid.box(16, 6.0, dim=2)
    pde = Landau(grid)
    good = BKW(2).density(grid.points, 1.0)
    with pytest.raises(ValueError, match="negative"):
        pde.validate(good - 0.01)
    singular = good.copy()
    singular[8, 8] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        pde.validate(singular)
    heavy = (1 + np.sum(grid.points**2, -1)) ** -1.5  # infinite energy: does not decay at the walls
    with pytest.raises(ValueError, match="too small"):
        pde.validate(heavy)
    with pytest.raises(ValueError, match="too small"):
        Landau(ff.Grid.box(16, 2.5, dim=2)).validate(BKW(2).density(ff.Grid.box(16, 2.5, dim=2).points, 1.0))
    zero = good.copy()
    zero[0, 0] = 0.0
    with pytest.raises(ValueError, match="vanishes"):
        pde.validate(zero)
    with pytest.raises(ValueError, match="stability limit"):
        ff.evolve(pde, good, 1.0, method="ssprk3", dt=0.5)
    with pytest.raises(ValueError, match="gamma"):
        Landau(grid, gamma=-4.0)
    with pytest.raises(ValueError, match="dimension"):
        Landau(ff.Grid.box(16, 6.0, dim=1))
    with pytest.raises(ValueError, match="box"):
        Landau(ff.Grid.torus(16, dim=2))
