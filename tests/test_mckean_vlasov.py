"""McKean–Vlasov on the torus: convention, ETDRK4 order, structure, stationary limit, bad input."""

import math

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.core.evolve import evolve
from fieldflow.core.grids import Grid
from fieldflow.mckean_vlasov.interactions import kuramoto, kuramoto_daido
from fieldflow.core.metrics import loglog_slope
from fieldflow.mckean_vlasov.pde import McKeanVlasov
from fieldflow.mckean_vlasov import free_energy_minimizer
from fieldflow.core.steppers import make_stepper
from fieldflow.core.steppers.exponential import ETDRK4, phi_functions


def von_mises(grid, kappa, k=1):
    return ff.densities.from_function(grid, lambda x: np.exp(kappa * np.cos(k * x[..., 0])))


@pytest.mark.parametrize("K, m", [(0.9, 0.8), (1.2, 0.8), (0.4, 2.0)])
def test_linear_growth_rates_of_the_uniform_state(K, m):
    """q = 1/2π + ε cos kθ grows at k²(K c_k − 1)/2 — hence K_# = min(1, 1/m) for Kuramoto–Daido."""
    grid = Grid.torus(64)
    pde = McKeanVlasov(grid, kuramoto_daido(m), K)
    eps = 1e-7
    theta = grid.axes[0]
    q0 = 1 / (2 * math.pi) + eps * (np.cos(theta) + np.cos(2 * theta))
    traj = evolve(pde, q0, t_end=2.0, dt=0.05, adaptive=False, save_times=[2.0])
    for k, c in ((1, 1.0), (2, m)):
        rate = k * k * (K * c - 1) / 2
        measured = traj[f"r{k}"][-1] / (math.pi * eps)  # |z_k| of ε cos kθ is π ε
        assert measured == pytest.approx(math.exp(rate * 2.0), rel=1e-5)


def test_fourth_order_in_time():
    """ETDRK4 against SciPy's DOP853 on the same right-hand side (rtol 1e-13: its error ≤ 1e-12, below the smallest
    error fitted, ≈ 2e-10 at dt = 1/160), not against ETDRK4 itself at a tiny step."""
    from scipy.integrate import solve_ivp

    grid = Grid.torus(64)
    pde = McKeanVlasov(grid, kuramoto_daido(0.7), 1.6)
    q0 = ff.densities.from_function(grid, lambda x: np.exp(np.cos(x[..., 0]) + 0.5 * np.sin(2 * x[..., 0])))

    def run(dt):
        return evolve(pde, q0, t_end=1.0, dt=dt, adaptive=False, check=False).states[-1]

    ref = solve_ivp(lambda t, y: pde.rhs(y, t), (0.0, 1.0), q0, method="DOP853", rtol=1e-13, atol=1e-15).y[:, -1]
    dts = np.array([1 / 20, 1 / 40, 1 / 80, 1 / 160])  # asymptotic range (local orders 3.7, 3.8, 3.9)
    errors = np.array([np.max(np.abs(run(dt) - ref)) for dt in dts])
    order = loglog_slope(dts, errors)
    assert 3.7 < order < 4.3, (order, errors)


@pytest.mark.parametrize("W, K, t_end", [(kuramoto(), 1.5, 40.0), (kuramoto_daido(0.8), 1.2, 80.0)])
def test_converges_to_the_self_consistent_state_with_monotone_free_energy(W, K, t_end):
    n = 128
    grid = Grid.torus(n)
    pde = McKeanVlasov(grid, W, K)
    traj = evolve(pde, von_mises(grid, 3.0), t_end=t_end, save_every=5.0)  # checks mass, positivity, monotone F
    target = free_energy_minimizer(W, K, n=n)
    assert abs(traj["free_energy"][-1] - target.free_energy) < 1e-10
    assert np.all(np.diff(traj["free_energy"]) <= 1e-14)
    assert np.max(np.abs(np.asarray(traj["mass"]) - 1)) < 1e-13
    assert traj["r1"][-1] == pytest.approx(target.order_parameters[0], abs=1e-5)
    assert traj["dissipation"][-1] < 1e-10


def test_dissipation_is_minus_the_free_energy_rate():
    grid = Grid.torus(128)
    pde = McKeanVlasov(grid, kuramoto_daido(1.5), 1.0)
    q0 = von_mises(grid, 1.0)
    delta = 1e-3
    traj = evolve(pde, q0, t_end=0.5 + delta, dt=delta / 4, adaptive=False, save_times=[0.5 - delta, 0.5])
    F = dict(zip(np.round(traj["t"], 9), traj["free_energy"]))
    D = dict(zip(np.round(traj["t"], 9), traj["dissipation"]))
    rate = (F[round(0.5 + delta, 9)] - F[round(0.5 - delta, 9)]) / (2 * delta)
    assert -rate == pytest.approx(D[0.5], rel=1e-5)  # central difference: O(δ²) relative error


def test_diffusion_does_not_limit_the_step():
    """The step limit is the same at n = 64 and n = 2048 (diffusion is exact; the limit depends on
    max|W'*q| sampled on the nodes, hence 1e-2), and a run at
    n = 2048 takes ~100 steps where an explicit scheme would need dt < 4/k_max² ≈ 4e-6."""
    W, K = kuramoto_daido(0.8), 1.2
    limits = []
    for n in (64, 2048):
        grid = Grid.torus(n)
        limits.append(McKeanVlasov(grid, W, K).stable_dt(von_mises(grid, 2.0)))
    assert limits[1] == pytest.approx(limits[0], rel=1e-2)
    grid = Grid.torus(2048)
    traj = evolve(McKeanVlasov(grid, W, K), von_mises(grid, 2.0), t_end=5.0)
    assert traj.info["steps"] < 200
    assert traj.info["method"] == "etdrk4"


def test_stationary_state_is_a_fixed_point_of_etdrk4_for_any_step():
    W, K = kuramoto_daido(1.5), 1.3
    s = free_energy_minimizer(W, K, n=128)
    pde = McKeanVlasov(s.grid, W, K)
    stepper = ETDRK4(pde, dt=0.5, adaptive=False)
    new = stepper.step(s.q, 0.0, 0.5).state
    assert np.max(np.abs(new - s.q)) < 1e-9 * np.max(s.q)
    assert np.max(np.abs(pde.rhs(s.q))) < 1e-9


def test_phi_functions_are_continuous_across_the_series_switch():
    z = np.array([-1 + 1e-9, -1 - 1e-9, 1 - 1e-9, 1 + 1e-9, 0.0, -40.0])
    p1, p2, p3 = phi_functions(z)
    np.testing.assert_allclose(p1[0], p1[1], rtol=1e-8)
    np.testing.assert_allclose(p2[2], p2[3], rtol=1e-8)
    np.testing.assert_allclose(p3[0], p3[1], rtol=1e-8)
    assert (p1[4], p2[4], p3[4]) == (1.0, 0.5, pytest.approx(1 / 6))
    np.testing.assert_allclose(p1[5], (math.exp(-40) - 1) / -40, rtol=1e-15)


def test_make_stepper_knows_etdrk4():
    grid = Grid.torus(32)
    pde = McKeanVlasov(grid, kuramoto(), 1.0)
    assert isinstance(make_stepper("etdrk4", pde, dt=0.1, adaptive=False), ETDRK4)
    assert isinstance(make_stepper(None, pde), ETDRK4)
    with pytest.raises(ValueError, match="etdrk4"):
        make_stepper("nope", pde)
    with pytest.raises(ValueError, match="semilinear Fourier"):
        ETDRK4(ff.FokkerPlanck(Grid.box(16, 3.0), lambda x: x[..., 0] ** 2))
    with pytest.raises(ValueError, match="needs a fixed dt"):
        ETDRK4(pde, adaptive=False)


def test_bad_input():
    grid = Grid.torus(64)
    for K in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="coupling K"):
            McKeanVlasov(grid, kuramoto(), K)
    with pytest.raises(TypeError, match="coupling K"):
        McKeanVlasov(grid, kuramoto(), True)
    with pytest.raises(ValueError, match="Grid.torus"):
        McKeanVlasov(Grid.box(64, 3.0), kuramoto(), 1.0)
    with pytest.raises(ValueError, match="Grid.torus"):
        McKeanVlasov(Grid.torus(16, dim=2), kuramoto(), 1.0)
    with pytest.raises(ValueError, match="Fourier"):
        McKeanVlasov(grid, np.cos, 1.0)
    with pytest.raises(ValueError, match="too coarse"):
        McKeanVlasov(Grid.torus(8), kuramoto_daido(0.5), 1.0)
    q = np.ones(64)
    q[3] = -0.1
    with pytest.raises(ValueError, match="negative"):
        evolve(McKeanVlasov(grid, kuramoto(), 1.0), q, t_end=1.0)


def test_same_steps_on_every_backend(backend):
    """The CuPy path runs the same code under another namespace (skipped without a GPU)."""
    from fieldflow.core.backend import to_numpy

    results = []
    for name in ("numpy", backend):
        grid = Grid.torus(128, backend=name)
        pde = McKeanVlasov(grid, kuramoto_daido(0.8), 1.2)
        q0 = grid.asarray(np.exp(np.cos(np.arange(128) * 2 * np.pi / 128)))
        traj = evolve(pde, q0, t_end=1.0, dt=0.1, adaptive=False)
        results.append(to_numpy(traj.states[-1]))
    np.testing.assert_allclose(results[1], results[0], atol=1e-12)
