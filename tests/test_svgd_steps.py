"""SVGD with default steps on every resolution: the reproducer ladder, the step-rejection hooks, the normalisation.

The reproducer (a new user's first run): 1D, ``V = x²/2``, ``SVGDFlow(grid, V, Bessel(1), α = 0.25, β = 0)`` on
``Grid.box(n, 6)``, ``ρ0 = N(2, 0.25)``, ``evolve(pde, ρ0, t_end, save_every=0.5)`` with defaults.  Before the
fixes n = 512 raised a StructureError on its first step (a nearly empty edge cell, ``ṡ = inflow/ρ ≈ 1e6``, was
filled by a wrong amount that the start-of-step error weights could not see) and ``method="euler"`` stopped on
a Newton failure at ``t = 0.02``.
"""

import math

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.core.evolve import StructureError
from fieldflow.core.problem import PDE
from fieldflow.core.steppers.implicit import MONOTONE_TOL, TRBDF2, _ImplicitSolver
from fieldflow.core.steppers.log_density import LogTRBDF2

Q1 = ff.potentials.Quadratic(1.0)


def _reproducer(n):
    grid = ff.Grid.box(n, 6.0, 1)
    pde = ff.SVGDFlow(grid, Q1, kernel=ff.svgd.Bessel(scale=1), alpha=0.25, beta=0)
    return pde, ff.densities.gaussian(grid, mean=2, cov=0.25)


def _kl_at(traj, times):
    t = np.asarray(traj["t"])
    return np.array([traj["kl"][int(np.argmin(np.abs(t - s)))] for s in times])


@pytest.mark.parametrize("method", [None, "euler"])
def test_reproducer_n512_runs_with_defaults(method):
    """The first steps that failed (StructureError at t = 6.1e-5; Newton failure at t = 0.02) now pass evolve's checks."""
    pde, rho0 = _reproducer(512)
    traj = ff.evolve(pde, rho0, t_end=0.5, save_every=0.5, **({} if method is None else {"method": method}))
    assert traj.info["status"] == "done"
    kl = np.asarray(traj["kl"])
    assert np.all(np.diff(kl) <= 1e-10 * kl[:-1]) and kl[-1] < 0.6 * kl[0]


@pytest.mark.slow
def test_reproducer_converges_in_n():
    """n = 128 … 1024 with defaults; KL(t) at t = 0.5, 1, 1.5, 2 converges at second order in h.

    The scheme is second order in space (tests/test_svgd_pde.py), so successive differences of KL(t) must
    shrink by ≈ 4 per doubling; TR-BDF2's own error (rtol = 1e-5 relative to max ρ) is ≈ 1e-5 in KL, below the
    finest difference measured (≈ 5e-5), so the fitted slope of the differences against h must lie in [1.5, 2.5].
    """
    ns, kls = [128, 256, 512, 1024], []
    for n in ns:
        pde, rho0 = _reproducer(n)
        traj = ff.evolve(pde, rho0, t_end=2.0, save_every=0.5)
        kl = np.asarray(traj["kl"])
        assert np.all(np.diff(kl) <= 1e-10 * kl[:-1])
        kls.append(_kl_at(traj, [0.5, 1.0, 1.5, 2.0]))
    diffs = np.abs(np.diff(np.array(kls), axis=0))  # (3, 4)
    orders = np.log2(diffs[0] / diffs[2]) / 2  # differences at h, h/2, h/4 (h = 12/128): d ∝ h^p
    assert np.all((1.5 < orders) & (orders < 2.5)), (diffs, orders)


class _OldWeights(LogTRBDF2):
    """LogTRBDF2 with the error weights taken at the step's start only (the rule before the fix)."""

    def error_weights(self, s, s_new):
        return super().error_weights(s, s)


def test_start_only_weights_reproduce_the_failure_and_the_monotone_hook_catches_it():
    """Without the fix the first step raises KL (evolve's StructureError); with the stepper's KL check the same
    step is rejected and retried smaller, and the run passes — the hook alone is a sufficient guard."""
    pde, rho0 = _reproducer(512)
    with pytest.raises(StructureError, match="kl increased"):
        ff.evolve(pde, rho0, 0.001, method=_OldWeights(pde, check_monotone=False))
    traj = ff.evolve(pde, rho0, 0.001, method=_OldWeights(pde))
    kl = np.asarray(traj["kl"])
    assert traj.info["status"] == "done" and np.all(np.diff(kl) <= MONOTONE_TOL * np.maximum(1, kl[:-1]))


class _Blowup(PDE):
    """``u' = u²`` in every cell: ``u − c u² = b`` has no real root for ``4cb > 1``, so Newton diverges."""

    positive = False
    conserved = ()
    monotone = None

    def __init__(self):
        self.grid = ff.Grid.box(2, 1.0, 1)
        self.preconditioners = 0

    def rhs(self, u, t):
        return u * u

    def jvp(self, u, v, t):
        return 2 * u * v

    def preconditioner(self, u, c, t):
        self.preconditioners += 1
        return lambda v: v / (1 - 2 * c * u.ravel())


def test_newton_rejects_a_growing_residual_before_factorising_again():
    pde = _Blowup()
    solver = _ImplicitSolver(pde)
    with pytest.raises(FloatingPointError, match="residual grew"):
        solver.solve(np.ones(2), 1.0, 0.0, np.ones(2))
    # one preconditioner per accepted (shrinking) iterate, none for the iterate whose residual grew
    assert 1 <= pde.preconditioners < solver.max_newton
    solvable = _ImplicitSolver(pde).solve(np.full(2, 0.1), 0.1, 0.0, np.full(2, 0.1))
    assert solvable == pytest.approx((1 - math.sqrt(1 - 0.04)) / 0.2, rel=1e-12)  # the root near b still converges


class _FakeRise(PDE):
    """``u' = −u`` whose declared monotone value rises on any step longer than 0.1 (to test the rejection)."""

    positive = False
    conserved = ()
    monotone = "fake"

    def __init__(self):
        self.grid = ff.Grid.box(4, 1.0, 1)

    def rhs(self, u, t):
        return -u

    def jvp(self, u, v, t):
        return -v

    def monotone_value(self, u):
        return float(np.sum(u)) if float(u.ravel()[0]) > math.exp(-0.1) * 1.0001 else 10.0

    def diagnostics(self, u, t):
        return {"fake": 0.0}


def test_trbdf2_rejects_steps_that_raise_the_monotone_value():
    pde = _FakeRise()
    assert "monotone_value" in pde.supports
    u0 = np.ones(4)
    steps = []
    for check in (True, False):
        stepper = TRBDF2(pde, rtol=1.0, atol=1.0, check_monotone=check)  # loose: the error control accepts dt = 0.5
        stepper.initial_dt(u0, 0.0, 1.0)
        steps.append(stepper.step(u0, 0.0, 0.5).dt)
    assert steps == [0.0625, 0.5]  # 0.5 → 0.25 → 0.125 rejected by the monotone value, 0.0625 accepted


def test_discrete_target_is_normalised_whatever_min_v():
    """ρ∞,h = e^{−V}/Z_h has unit mass and KL_h(ρ∞,h) = 0 also when min V ≠ 0 (a mixture, a shifted quadratic)."""
    g = ff.Grid.box(24, 4.0, 2)
    for V in (ff.potentials.GaussianMixture(means=[[-1.5, 0.0], [1.5, 0.0]], cov=1.0),
              lambda x: 0.5 * np.sum(x**2, -1) + 7.0):
        pde = ff.SVGDFlow(g, V, ff.svgd.Bessel(1.0), alpha=0.1, beta=-1.0)
        assert g.integrate(pde.rho_inf) == pytest.approx(1.0, abs=1e-13)
        assert abs(pde.kl(pde.rho_inf)) < 1e-13
        assert float(np.exp(pde.log_Z)) == pytest.approx(g.integrate(np.exp(-np.asarray(pde.V))), rel=1e-13)
