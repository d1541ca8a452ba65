"""Shared-stepper extensions: pde.preconditioner in Newton–GMRES, Newton failure = rejected step, LogTRBDF2."""

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.core.metrics import loglog_slope
from fieldflow.core.steppers.log_density import LogTRBDF2
from fieldflow.core.steppers import TRBDF2
from fieldflow.core.steppers.implicit import _ImplicitSolver


def _svgd_flow(n=40):
    g = ff.Grid.box(n, 4.0, 1)
    return g, ff.SVGDFlow(g, ff.potentials.Quadratic(1.0), ff.svgd.Bessel(0.5), alpha=0.5)


def test_preconditioner_is_used_and_does_not_change_the_solution(monkeypatch):
    g, pde = _svgd_flow()
    rho = pde.validate(ff.densities.gaussian(g, mean=1.0, cov=0.5))
    b = rho.copy()
    calls = []
    original = type(pde).preconditioner
    monkeypatch.setattr(type(pde), "preconditioner", lambda self, u, c, t: calls.append(c) or original(self, u, c, t))
    with_m = _ImplicitSolver(pde).solve(b, 0.01, 0.0, rho)
    assert calls
    monkeypatch.setattr(type(pde), "preconditioner", lambda self, u, c, t: None)
    without = _ImplicitSolver(pde).solve(b, 0.01, 0.0, rho)
    np.testing.assert_allclose(with_m, without, rtol=1e-7, atol=1e-12)


def test_newton_failure_rejects_and_halves_the_step(monkeypatch):
    g, pde = _svgd_flow()
    rho = pde.validate(ff.densities.gaussian(g, mean=1.0, cov=0.5))
    stepper = TRBDF2(pde)
    stepper.initial_dt(rho, 0.0, 1.0)
    original = _ImplicitSolver.solve

    def fragile(self, b, c, t, guess):
        if c > 1e-3:
            raise FloatingPointError("Newton did not converge")
        return original(self, b, c, t, guess)

    monkeypatch.setattr(_ImplicitSolver, "solve", fragile)
    result = stepper.step(rho, 0.0, 0.1)
    assert stepper.d * result.dt <= 1e-3 and result.dt > 0


def test_log_trbdf2_is_second_order_and_conserves_mass():
    from scipy.integrate import solve_ivp

    g, pde = _svgd_flow(48)
    rho0 = ff.densities.gaussian(g, mean=1.0, cov=0.5)
    # the reference: SciPy's Radau on the same right-hand side (rtol 1e-12), not LogTRBDF2 at a small step
    ref = solve_ivp(lambda t, y: pde.rhs(y, t), (0.0, 0.5), pde.validate(rho0), method="Radau", rtol=1e-12,
                    atol=1e-14).y[:, -1]
    errs = []
    for steps in (8, 16, 32):
        traj = ff.evolve(pde, rho0, 0.5, method=LogTRBDF2(pde, dt=0.5 / steps, adaptive=False))
        assert abs(traj["mass"][-1] - 1) < 1e-13
        errs.append(np.max(np.abs(traj.final - ref)))
    order = -loglog_slope([8, 16, 32], errs)
    assert 1.8 < order < 2.4, (errs, order)
    with pytest.raises(ValueError, match="strictly positive"):
        LogTRBDF2(pde).initial_dt(np.zeros(g.shape), 0.0, 1.0)


@pytest.mark.parametrize("where", ["residual", "preconditioned"])
def test_newton_rejects_unrepresentable_iterates_before_gmres(monkeypatch, where):
    """An iterate whose (preconditioned) residual would overflow GMRES's norms is a rejected step, not a GMRES call."""
    import warnings

    import scipy.sparse.linalg as spla

    g, pde = _svgd_flow()
    rho = pde.validate(ff.densities.gaussian(g, mean=1.0, cov=0.5))
    huge = 1e300  # finite, but its square overflows
    if where == "residual":
        monkeypatch.setattr(type(pde), "rhs", lambda self, u, t: np.full_like(u, huge))
    else:
        monkeypatch.setattr(type(pde), "preconditioner", lambda self, u, c, t: spla.LinearOperator(
            (u.size, u.size), dtype=float, matvec=lambda v: np.full_like(v, huge)))
    monkeypatch.setattr(spla, "gmres", lambda *a, **k: pytest.fail("GMRES called on an unrepresentable residual"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FloatingPointError, match="left the floating-point range"):
            _ImplicitSolver(pde).solve(rho, 0.01, 0.0, rho * 1.01)


def test_trbdf2_error_weights_hook_replaces_the_default_rule():
    """``error_weights`` equal to the default rule changes nothing; a 1000× looser one takes a longer step."""
    g = ff.Grid.box(32, 4.0, 1)
    pde = ff.FokkerPlanck(g, ff.potentials.Quadratic(1.0))
    rho = pde.validate(ff.densities.gaussian(g, mean=1.0, cov=0.3))

    def step(**kw):
        stepper = TRBDF2(pde, rtol=1e-6, atol=1e-9, **kw)
        dt0 = stepper.initial_dt(rho, 0.0, 1.0)
        return dt0, stepper.step(rho, 0.0, 1.0)

    scale = float(np.max(rho))

    def default(u, u_new):
        return 1e-9 * scale + 1e-6 * np.maximum(np.abs(u), np.abs(u_new))

    dt0, plain = step()
    dt0_hook, hooked = step(error_weights=default)
    assert dt0 == dt0_hook and plain.dt == hooked.dt
    np.testing.assert_array_equal(plain.state, hooked.state)
    calls = []
    _, loose = step(error_weights=lambda u, u_new: calls.append(1) or 1e3 * default(u, u_new))
    assert calls and loose.dt > plain.dt
