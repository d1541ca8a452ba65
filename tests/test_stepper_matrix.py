"""Every stepper of the registry through the one ``evolve``, on the problem kind it advances, against an
independent reference; the registry's checks: problem/stepper mismatches and unknown options.

Orders are fitted on step halvings (``loglog_slope``) against references that no stepper of fieldflow
computed: ``expm_multiply`` for the linear Fokker–Planck semi-discretisation, SciPy's DOP853 at
``rtol = 1e-12`` for the McKean–Vlasov and blob-particle ODEs (their errors ≤ 1e-11, far below the smallest
error fitted), and the exact discrete moments of Euler–Maruyama for Langevin particles.  Tolerance on a
fitted order: ±0.25 (the pre-asymptotic drift measured on these ladders is ≤ 0.1, except ETDRK4's, see there).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.sparse.linalg import expm_multiply

import fieldflow as ff
from fieldflow.core.metrics import loglog_slope
from fieldflow.core.steppers import STEPPERS, make_stepper, stepper_class, steppers_for
from fieldflow.landau import BKW, BlobLandau

Q1 = ff.potentials.Quadratic(1.0)


def _fokker_planck():
    grid = ff.Grid.box(n=48, extent=4.0)
    return ff.FokkerPlanck(grid, Q1), ff.densities.gaussian(grid, mean=0.5, cov=0.6)


@pytest.mark.parametrize("method, order, dts", [
    ("euler", 1, [0.1, 0.05]),
    ("trbdf2", 2, [0.1, 0.05]),
    ("log-trbdf2", 2, [0.1, 0.05]),
    ("ssprk3", 3, [0.01, 0.005]),  # below the stability limit 0.0122
])
def test_grid_steppers_converge_at_their_order(method, order, dts):
    """Measured: euler 0.94, trbdf2 2.03, log-trbdf2 2.04, ssprk3 3.03."""
    pde, rho0 = _fokker_planck()
    T = 0.4
    exact = expm_multiply(pde.linear_operator() * T, rho0)  # the semi-discrete solution
    errors = []
    for dt in dts:
        traj = ff.evolve(pde, rho0, T, method=method, dt=dt, adaptive=False)
        assert traj.info["method"] == method and traj.info["steps"] == round(T / dt)
        errors.append(pde.grid.integrate(np.abs(traj.final - exact)))
    assert abs(loglog_slope(dts, errors) - order) < 0.25, errors


@pytest.mark.parametrize("dt", [None, 0.1, 0.03])
def test_krylov_exponential_is_exact_in_time(dt):
    """``krylov-exp`` (the Fokker–Planck default) has no time-discretisation error: with any step (one step to
    T, or fixed steps 0.1 and 0.03 — the last ending on a shorter one) it equals SciPy's ``expm_multiply`` to 1e-12
    in L1 (its default rtol is 1e-10 per step in the 2-norm; measured ≤ 3e-15)."""
    pde, rho0 = _fokker_planck()
    T = 0.4
    exact = expm_multiply(pde.linear_operator() * T, rho0)
    options = {} if dt is None else {"dt": dt, "adaptive": False}
    traj = ff.evolve(pde, rho0, T, **options)
    assert traj.info["method"] == "krylov-exp" and traj.info["steps"] == (1 if dt is None else int(np.ceil(T / dt - 1e-9)))
    assert pde.grid.integrate(np.abs(traj.final - exact)) <= 1e-12


def test_etdrk4_converges_at_fourth_order():
    """Kuramoto–Daido on the torus against DOP853 (rtol 1e-13).  Measured local orders 3.69, 3.87 on this ladder
    (the stiff modes of the 32-point grid make the approach to 4 slow), fitted 3.78: asserted in [3.5, 4.25]."""
    pde = ff.McKeanVlasov(ff.Grid.torus(32), ff.mckean_vlasov.kuramoto_daido(1.3), 1.5)
    q0 = ff.densities.from_function(pde.grid, lambda x: np.exp(np.cos(x[..., 0])))
    T = 0.4
    exact = solve_ivp(lambda t, y: pde.rhs(y, t), (0, T), q0, method="DOP853", rtol=1e-13, atol=1e-15).y[:, -1]
    dts = [0.04, 0.02, 0.01]
    errors = [pde.grid.integrate(np.abs(ff.evolve(pde, q0, T, method="etdrk4", dt=dt, adaptive=False).final - exact))
              for dt in dts]
    assert 3.5 <= loglog_slope(dts, errors) <= 4.25, errors


@pytest.mark.parametrize("method, order", [("forward-euler", 1), ("heun", 2), ("heun-energy", 2), ("midpoint", 2)])
def test_deterministic_particle_steppers_converge_at_their_order(method, order):
    """Blob particles (2D BKW, 80 particles) against DOP853 on ``dv/dt = u(v)``.  Measured: 0.94, 1.99, 1.99, 2.00.
    ``heun-energy`` and ``midpoint`` also keep the energy to round-off (Σw|v|² ≈ 2, so 1e-13 is 50 ulps)."""
    grid = ff.Grid.box(12, 7.0, dim=2)
    blob = BlobLandau(grid)
    f0 = BKW(2).density(grid.points, 0.5)
    v, w = blob.initial_particles(f0)
    T = 0.2
    exact = solve_ivp(lambda t, y: blob.velocity(y.reshape(-1, 2), w).ravel(), (0, T), v.ravel(), method="DOP853",
                      rtol=1e-12, atol=1e-14).y[:, -1].reshape(-1, 2)
    dts, errors = [0.05, 0.025], []
    for dt in dts:
        traj = ff.evolve(blob, f0, T, dt=dt, method=method, save_every=dt)
        errors.append(np.max(np.abs(traj.final - exact)))
        if method in ("heun-energy", "midpoint"):
            assert np.max(np.abs(traj["energy"] - traj["energy"][0])) < 1e-13
    assert abs(loglog_slope(dts, errors) - order) < 0.25, errors


def test_euler_maruyama_has_the_exact_discrete_moments():
    """Langevin with V = x²/2: Euler–Maruyama's mean and variance obey ``m ← (1 − h)m``,
    ``s² ← (1 − h)² s² + 2Dh`` exactly.  The sample mean and variance of N = 40000 particles must match these
    to 4 standard errors (``sd(mean) = s/√N``, ``sd(var) ≈ s²√(2/N)`` for Gaussian particles)."""
    N, h, D, T = 40_000, 0.1, 0.7, 1.0
    x0 = ff.fokker_planck.langevin.sample_gaussian(N, mean=2.0, cov=0.25, dim=1, seed=1)
    traj = ff.evolve(ff.fokker_planck.Langevin(Q1, D), x0, T, dt=h, seed=7)
    assert traj.info["method"] == "euler-maruyama"
    m, s2 = float(np.mean(x0)), float(np.var(x0))
    for _ in range(10):
        m, s2 = (1 - h) * m, (1 - h) ** 2 * s2 + 2 * D * h
    assert abs(traj["mean_0"][-1] - m) < 4 * np.sqrt(s2 / N)
    assert abs(traj["variance_0"][-1] - s2) < 4 * s2 * np.sqrt(2 / N)
    # and it is not forward Euler: without the noise the variance would have shrunk to (0.9)^20 · 0.25
    assert traj["variance_0"][-1] > 10 * 0.9**20 * 0.25


def test_step_map_stepper_runs_the_problems_step():
    """``"step-map"``: equal steps ``t_end/ceil(t_end/dt)`` of ``problem.step``; a linear JKO mean is implicit Euler:
    ``m ← m/(1 + h)`` exactly (the entropy's gradient sums to zero), to the Newton tolerance."""
    X0 = 2.0 + np.linspace(-1.5, 1.5, 64)
    traj = ff.evolve(ff.fokker_planck.QuantileJKO(Q1), X0, 1.0, dt=0.3, save_every=0.25)
    assert traj.info["method"] == "step-map" and traj.info["steps"] == 4
    np.testing.assert_allclose(traj.times, [0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(traj["mean"], 2.0 / 1.25 ** np.arange(5), rtol=1e-9)


# ---------------------------------------------------------------------------- the registry's checks


def test_every_registered_stepper_declares_a_kind_and_known_options():
    kinds = {name: stepper_class(name).kind for name in STEPPERS}
    assert {k for k in kinds.values()} == {"pde", "particles", "map"}
    assert "cfl" in stepper_class("ssprk3").known_options()
    trbdf2 = stepper_class("trbdf2").known_options()
    assert {"rtol", "atol", "newton_tol", "gmres_tol", "linear_solver"} <= set(trbdf2)
    assert "error_weights" not in stepper_class("log-trbdf2").known_options()
    assert set(stepper_class("midpoint").known_options()) == {"tol", "max_iter"}


def test_capabilities_are_declared_by_the_contract():
    pde, _ = _fokker_planck()
    assert {"linear_operator", "stable_dt"} <= pde.supports and "semilinear_fourier" not in pde.supports
    mv = ff.McKeanVlasov(ff.Grid.torus(32), ff.mckean_vlasov.kuramoto(), 1.0)
    assert "semilinear_fourier" in mv.supports
    svgd = ff.SVGDFlow(ff.Grid.box(16, 3.0), Q1, ff.svgd.Bessel(1.0), alpha=0.5)
    assert {"jvp", "preconditioner", "local_jacobian"} <= svgd.supports
    assert steppers_for(pde) == ["ssprk3", "euler", "trbdf2", "log-trbdf2", "krylov-exp"]
    assert steppers_for(mv) == ["ssprk3", "euler", "trbdf2", "log-trbdf2", "etdrk4"]
    assert steppers_for(ff.fokker_planck.Langevin(Q1)) == ["euler-maruyama"]
    assert steppers_for(BlobLandau(ff.Grid.box(8, 4.0, dim=2))) == ["forward-euler", "heun", "heun-energy", "midpoint"]


@pytest.mark.parametrize("problem, state, method, message", [
    (lambda: _fokker_planck()[0], lambda: _fokker_planck()[1], "etdrk4", "semilinear Fourier"),
    (lambda: _fokker_planck()[0], lambda: _fokker_planck()[1], "heun", "'particles' problems"),
    (lambda: ff.fokker_planck.Langevin(Q1), lambda: np.zeros((4, 1)), "trbdf2", "'pde' problems"),
    (lambda: ff.fokker_planck.Langevin(Q1), lambda: np.zeros((4, 1)), "heun", "deterministic particles"),
    (lambda: ff.svgd.SVGDParticles(Q1, ff.svgd.Bessel(1.0), 0.5), lambda: np.zeros((4, 1)), "euler-maruyama",
     "with noise"),
    (lambda: ff.svgd.SVGDParticles(Q1, ff.svgd.Bessel(1.0), 0.5), lambda: np.zeros((4, 1)), "heun-energy",
     "conserves"),
    (lambda: ff.fokker_planck.QuantileJKO(Q1), lambda: np.linspace(-1, 1, 8), "forward-euler", "'map' problem"),
])
def test_a_stepper_that_cannot_advance_the_problem_is_refused(problem, state, method, message):
    with pytest.raises(ValueError, match=message) as info:
        ff.evolve(problem(), state(), 1.0, dt=0.1, method=method)
    assert "steppers for" in str(info.value)  # and the message says what would work


@pytest.mark.parametrize("method, options, known", [
    ("ssprk3", dict(cfll=0.1), "cfl"),
    ("etdrk4", dict(rtol=1e-6), "cfl"),
    ("trbdf2", dict(rtl=1e-6), "rtol"),
    ("euler", dict(rtol=1e-6), "newton_tol"),
    ("log-trbdf2", dict(error_weights=None), "rtol"),
])
def test_an_unknown_option_is_a_type_error_naming_the_known_ones(method, options, known):
    pde = ff.McKeanVlasov(ff.Grid.torus(32), ff.mckean_vlasov.kuramoto(), 1.0)
    q0 = ff.densities.uniform(pde.grid)
    with pytest.raises(TypeError, match=rf"has no option.*{known}"):
        ff.evolve(pde, q0, 1.0, method=method, **options)


def test_particle_options_and_fixed_steps():
    blob = BlobLandau(ff.Grid.box(12, 7.0, dim=2))
    f0 = BKW(2).density(blob.grid.points, 0.5)
    with pytest.raises(TypeError, match=r"has no option 'rtol'.*\['tol', 'max_iter'\]"):
        ff.evolve(blob, f0, 0.1, dt=0.05, method="midpoint", rtol=1e-3)
    with pytest.raises(TypeError, match="has no option 'tol'"):
        ff.evolve(blob, f0, 0.1, dt=0.05, method="heun", tol=1e-3)
    with pytest.raises(ValueError, match="pass a fixed dt"):
        ff.evolve(blob, f0, 0.1)
    with pytest.raises(ValueError, match="pass a fixed dt"):
        ff.evolve(blob, f0, 0.1, dt=0.05, adaptive=True)
    with pytest.raises(ValueError, match="seed is for stochastic problems"):
        ff.evolve(blob, f0, 0.1, dt=0.05, seed=1)
    with pytest.raises(TypeError, match="needs a fieldflow.core.problem.Problem"):
        ff.evolve(object(), f0, 0.1, dt=0.05)
    # a stepper instance is checked too, and takes no further options
    stepper = make_stepper("midpoint", blob, dt=0.05)
    with pytest.raises(TypeError, match="Stepper instance"):
        make_stepper(stepper, blob, tol=1e-3)
    with pytest.raises(ValueError, match="'particles' problems"):
        make_stepper(stepper, _fokker_planck()[0])
