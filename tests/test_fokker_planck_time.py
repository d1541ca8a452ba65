"""Time-dependent Fokker–Planck: exact Gaussian solution of a time-dependent OU process, fitted orders."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import fieldflow as ff
from fieldflow.core.metrics import loglog_slope
from fieldflow.fokker_planck.time_dependent import TimeDependentFokkerPlanck


def a(t):
    return 1.0 + 0.5 * np.sin(2 * t)


def b(t):
    return np.cos(t)


def D(t):
    return 0.5 + 0.25 * t


def V(t):
    return lambda x: 0.5 * a(t) * (x[..., 0] - b(t)) ** 2


def exact_moments(T):
    """dX = −a(t)(X − b(t))dt + √(2D(t))dB keeps Gaussians Gaussian: m' = −a(m − b), v' = −2av + 2D."""
    sol = solve_ivp(lambda t, y: [-a(t) * (y[0] - b(t)), -2 * a(t) * y[1] + 2 * D(t)], [0, T], [0.5, 0.3],
                    rtol=1e-12, atol=1e-14)
    return sol.y[:, -1]


def test_space_order_two_against_exact_gaussian():
    m, v = exact_moments(1.0)
    ns, errors = [40, 80, 160], []
    for n in ns:
        grid = ff.Grid.box(n, 6.0)
        traj = ff.evolve(TimeDependentFokkerPlanck(grid, V, D), ff.densities.gaussian(grid, 0.5, 0.3), 1.0,
                         dt=2e-3, adaptive=False)
        errors.append(ff.metrics.l1_distance(grid, traj.states[-1], ff.densities.gaussian(grid, m, v)))
    assert 1.8 < loglog_slope(12.0 / np.array(ns), errors) < 2.2, errors


def test_time_order_two_trbdf2_refactorises_per_t():
    """A stepper that kept L(0) (or one L per step) would be first order or inconsistent; TR-BDF2 must show 2.

    The reference is the semi-discrete system ``ρ' = L(t)ρ`` solved by SciPy's Radau (order 5, rtol 1e-12, the
    Jacobian ``L(t)``), not TR-BDF2 at a small step."""
    grid = ff.Grid.box(100, 6.0)
    rho0 = ff.densities.gaussian(grid, 0.5, 0.3)
    pde = TimeDependentFokkerPlanck(grid, V, D)
    ref = solve_ivp(lambda t, y: pde.rhs(y, t), (0.0, 1.0), rho0, method="Radau", rtol=1e-12, atol=1e-14,
                    jac=lambda t, y: pde.linear_operator(t)).y[:, -1]
    dts, errors = [1 / 10, 1 / 20, 1 / 40], []
    for dt in dts:
        traj = ff.evolve(TimeDependentFokkerPlanck(grid, V, D), rho0, 1.0, dt=dt, adaptive=False)
        errors.append(ff.metrics.l1_distance(grid, traj.states[-1], ref))
    assert 1.8 < loglog_slope(dts, errors) < 2.3, errors


def test_mass_positivity_and_bad_input():
    grid = ff.Grid.box(60, 5.0)
    pde = TimeDependentFokkerPlanck(grid, V, D)
    traj = ff.evolve(pde, ff.densities.gaussian(grid, 0.5, 0.3), 2.0, method="euler", dt=0.05, adaptive=False)
    assert abs(traj["mass"][-1] - 1) < 1e-12 and traj.states[-1].min() >= 0
    with pytest.raises(ValueError, match="D\\(t\\) must be a positive"):
        ff.evolve(TimeDependentFokkerPlanck(grid, V, lambda t: 1.0 - t), ff.densities.gaussian(grid, 0.0, 1.0), 2.0,
                  method="euler", dt=0.1, adaptive=False)
    with pytest.raises(ValueError, match="callable"):
        TimeDependentFokkerPlanck(grid, V(0.0)(grid.points), 1.0)
