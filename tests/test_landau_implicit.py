"""Implicit Landau: the exact linearisation, the positive TR-BDF2 on large and coarse boxes, and the explicit step guard."""

from __future__ import annotations

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.core.finite_volume import divergence
from fieldflow.core.metrics import loglog_slope
from fieldflow.core.problem import PDE
from fieldflow.core.steppers.explicit import MAX_EXPLICIT_STEPS
from fieldflow.landau import BKW, Landau


def _random_positive(grid, seed, spread=1.0):
    return np.exp(spread * np.random.default_rng(seed).standard_normal(grid.shape))


# ----------------------------------------------------------------------------- the linearisation


@pytest.mark.parametrize("dim, n", [(2, 8), (3, 5)])
@pytest.mark.parametrize("gamma", [0.0, -3.0])
def test_jvp_is_the_derivative_of_the_rhs(dim, n, gamma):
    """``jvp`` against a central difference of ``rhs``: truncation ``O(e²)`` ~1e-12 and round-off ``eps/e`` ~1e-10
    relative at ``e = 1e-6`` (measured 1e-10 to 8e-10), so 1e-7 is three orders above both and a missing term
    (an ``O(1)`` relative error) fails."""
    grid = ff.Grid.box(n, 3.0, dim=dim)
    pde = Landau(grid, gamma)
    f = _random_positive(grid, 1)
    v = np.random.default_rng(2).standard_normal(grid.shape)
    e = 1e-6
    fd = (pde.rhs(f + e * v) - pde.rhs(f - e * v)) / (2 * e)
    assert np.max(np.abs(pde.jvp(f, v) - fd)) <= 1e-7 * np.max(np.abs(fd))


@pytest.mark.parametrize("dim, n", [(2, 7), (3, 5)])
def test_local_jacobian_is_the_matrix_of_the_local_terms(dim, n):
    """The assembled stencil matrix equals the matrix-free variation without the convolution terms (round-off)."""
    grid = ff.Grid.box(n, 3.0, dim=dim)
    pde = Landau(grid, 0.0)
    f = _random_positive(grid, 3)
    v = np.random.default_rng(4).standard_normal(grid.shape)
    local = -divergence(pde._flux_variation(f, v, nonlocal_part=False), grid.spacing, np)
    assert np.max(np.abs(pde.local_jacobian(f) @ v.ravel() - local.ravel())) <= 1e-13 * np.max(np.abs(local))


def test_preconditioner_is_accurate_relative_to_f_in_every_cell():
    """``M ≈ (I − cT)^{-1}`` applied as ``D S^{-1} D^{-1}``: per cell, the residual of ``(I − cT) M v = v`` is below
    1e-12 of that row's scale ``Σ_j |(I − cT)_ij||y_j|`` (measured 4.7e-14: a backward-stable solve cell by cell) on a
    Maxwellian whose corners are 1e-32 of its peak.  An LU of ``I − cT`` itself is backward stable only in the norm:
    its worst cell is off by 0.7 of its scale, and the test fails it."""
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    grid = ff.Grid.box(24, 9.0, dim=2)
    pde = Landau(grid, 0.0)
    f = pde.validate(ff.densities.gaussian(grid, 0.0, 1.0))
    assert f.min() < 1e-32 * f.max()
    c = 0.05
    v = (f * np.random.default_rng(5).standard_normal(grid.shape)).ravel()
    A = sp.identity(grid.size) - c * pde.local_jacobian(f)

    def worst_cell(y):
        return np.max(np.abs(A @ y - v) / (abs(A) @ np.abs(y)))

    assert worst_cell(pde.preconditioner(f, c)(v)) < 1e-12
    assert worst_cell(spla.splu(A.tocsc()).solve(v)) > 1e-3


# ----------------------------------------------------------------------------- the implicit runs


def _bkw(n, extent, t0, t1, stepper=None):
    exact = BKW(2)
    grid = ff.Grid.box(n, extent, dim=2)
    pde = Landau(grid, 0.0)
    f0 = exact.density(grid.points, t0)
    method = None if stepper is None else stepper(pde)
    traj = ff.evolve(pde, f0 / grid.integrate(f0), t1 - t0, method=method, diagnostics_every=1)
    return grid, pde, traj, grid.integrate(np.abs(traj.final - exact.density(grid.points, t1)))


def test_default_is_the_implicit_method():
    assert Landau.default_method == "positive-trbdf2"
    assert "positive-trbdf2" in ff.core.steppers.steppers_for(Landau(ff.Grid.box(8, 4.0, dim=2)))


def test_implicit_bkw_keeps_order_two_and_the_explicit_errors():
    """n = 20, 30, 40 on [−6, 6]²: fitted order in (1.7, 2.6) as for SSPRK3, whose errors on the same ladder are
    0.01379, 0.005671, 0.003414 (t = 0.5 → 1): the implicit errors match them to 1% (its time error at rtol 1e-5
    is below the spatial error), in 12–24 steps instead of 300–500.  Mass and momentum to 1e-12, entropy monotone."""
    explicit = [0.01379153075195575, 0.005671460002417739, 0.0034135676454973615]
    hs, errors = [], []
    for n, reference in zip((20, 30, 40), explicit):
        grid, _, traj, error = _bkw(n, 6.0, 0.5, 1.0)
        hs.append(grid.spacing[0])
        errors.append(error)
        assert abs(error - reference) < 0.01 * reference
        assert traj.info["steps"] < 30
        assert np.max(np.abs(traj["mass"] - 1)) < 1e-12
        assert max(np.max(np.abs(traj[f"momentum_{a}"])) for a in range(2)) < 1e-13
        assert np.all(np.diff(traj["entropy"]) <= 0)
    assert 1.7 < loglog_slope(hs, errors) < 2.6, errors


def test_larger_box_runs_in_a_few_steps():
    """``Grid.box(36, 9.0)`` (the spacing of box(32, 8.0)): the explicit limit is 1e-5 (~1e5 SSPRK3 steps to t = 1);
    the implicit run takes ~24 steps with the error of box(32, 8.0), and keeps mass, momentum and energy to round-off
    (the wall flux at |v| = 9 is ~1e-30) and the entropy decay.  The preconditioner (the local part of the Jacobian)
    leaves the convolution terms to GMRES: 6 GMRES iterations per Newton iteration (measured 904/145)."""
    from fieldflow.core.steppers.positive import PositiveTRBDF2

    steppers = []

    def stepper(pde):
        steppers.append(PositiveTRBDF2(pde, **pde.stepper_options))
        return steppers[-1]

    grid, pde, traj, error = _bkw(36, 9.0, 0.5, 1.5, stepper)
    solver = steppers[0].solver
    assert solver.krylov_iterations <= 10 * solver.iterations
    f0 = BKW(2).density(grid.points, 0.5)
    assert pde.stable_dt(f0 / grid.integrate(f0)) < 2e-5
    assert traj.info["steps"] < 60
    _, _, _, error_32 = _bkw(32, 8.0, 0.5, 1.5)
    assert abs(error - error_32) < 0.01 * error_32
    assert np.max(np.abs(traj["mass"] - 1)) < 1e-12
    assert max(np.max(np.abs(traj[f"momentum_{a}"])) for a in range(2)) < 1e-13
    assert np.ptp(traj["energy"]) < 1e-11
    assert np.all(np.diff(traj["entropy"]) <= 0)


def test_coarse_box_runs_and_changes_moments_only_by_the_wall_flux():
    """``Grid.box(4, 12.0)``: every cell but the centre 2×2 is a wall cell and the explicit limit is 1e-10.  The
    implicit run to t = 2 keeps mass to 1e-11 and the entropy decay; momentum and energy change by the
    semi-discrete wall flux, bounded by ``t·max|dℓ/dt|`` over the saved states (measured: energy 7.9e-6 against
    ``dE/dt`` 3.8e-6 at t = 0)."""
    grid = ff.Grid.box(4, 12.0, dim=2)
    pde = Landau(grid, 0.0)
    f0 = pde.validate(ff.densities.gaussian(grid, np.array([0.5, -0.3]), np.array([2.0, 1.5])))
    assert pde.stable_dt(f0) < 1e-9
    traj = ff.evolve(pde, f0, 2.0, save_every=0.25, diagnostics_every=1)
    assert traj.info["steps"] < 200
    assert np.max(np.abs(traj["mass"] - 1)) < 1e-11
    assert np.all(np.diff(traj["entropy"]) <= 0)
    v2 = sum(x * x for x in grid.mesh)
    for name, weight in (("energy", v2), ("momentum_0", grid.mesh[0]), ("momentum_1", grid.mesh[1])):
        rate = max(abs(grid.integrate(weight * pde.rhs(f))) for f in traj.states)
        assert abs(traj[name][-1] - traj[name][0]) <= 2.0 * 1.5 * rate + 1e-12, name
    assert np.all(traj.final > 0)


# ----------------------------------------------------------------------------- the explicit guard


class _Decay(PDE):
    """``∂t u = −λ u`` on a box (a stiff problem with a known stability limit ``2/λ``)."""

    monotone = None
    conserved = ()
    positive = False

    def __init__(self, rate):
        self.grid = ff.Grid.box(4, 1.0)
        self.rate = rate

    def rhs(self, u, t):
        return -self.rate * u

    def stable_dt(self, u, t=0.0):
        return 2.0 / self.rate

    def diagnostics(self, u, t):
        return {}


def test_explicit_runs_beyond_ten_million_steps_stop_at_once():
    """Any problem: ``t_end/(cfl·stable_dt) > 1e7`` is refused before the first step, naming the limit and the
    problem's implicit method; the coarse Landau box (1e14 steps) names ``positive-trbdf2``."""
    assert MAX_EXPLICIT_STEPS == 10_000_000
    grid = ff.Grid.box(4, 12.0, dim=2)
    pde = Landau(grid, 0.0)
    f0 = ff.densities.gaussian(grid, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"stability limit is dt ≤ .*positive-trbdf2") as info:
        ff.evolve(pde, f0, 1.0, method="ssprk3")
    assert "e+14 steps" in str(info.value)

    stiff = _Decay(2e7)  # limit 0.9e-7: 1.1e7 steps to t = 1
    u0 = np.ones(4)
    with pytest.raises(ValueError, match="'trbdf2'"):
        ff.evolve(stiff, u0, 1.0, method="ssprk3")
    with pytest.raises(ValueError, match="1e\\+07 explicit steps are refused"):
        ff.evolve(stiff, u0, 1.0, method="ssprk3", dt=5e-8)  # a fixed step: t_end/dt = 2e7
    # below the limit, or with the limit raised, the run starts (and stops at max_steps)
    traj = ff.evolve(stiff, u0, 0.5, method="ssprk3", max_steps=3)
    assert traj.info["status"] == "max_steps"
    traj = ff.evolve(stiff, u0, 1.0, method="ssprk3", max_explicit_steps=20_000_000, max_steps=3)
    assert traj.info["status"] == "max_steps"
    with pytest.raises(ValueError, match="max_explicit_steps"):
        ff.evolve(stiff, u0, 1.0, method="ssprk3", max_explicit_steps=0)


# ----------------------------------------------------------------------------- bad input


def test_positive_trbdf2_refuses_what_it_cannot_do():
    grid = ff.Grid.box(12, 7.0, dim=2)
    pde = Landau(grid, 0.0)
    f0 = ff.densities.gaussian(grid, 0.0, 1.0)
    with pytest.raises(TypeError, match="newton_tol"):
        ff.evolve(pde, f0, 0.1, newton_tolerance=1e-12)
    for bad in (dict(newton_tol=0.0), dict(max_log_step=-1.0), dict(max_newton=0), dict(refresh_after=0),
                dict(preconditioner="cholesky")):
        with pytest.raises(ValueError, match=next(iter(bad))):
            ff.evolve(pde, f0, 0.1, **bad)
    # a problem without an exact jvp is refused by name
    fp = ff.FokkerPlanck(ff.Grid.box(16, 4.0), ff.potentials.Quadratic(1.0))
    with pytest.raises(ValueError, match="Jacobian-vector product"):
        ff.evolve(fp, ff.densities.gaussian(fp.grid), 0.1, method="positive-trbdf2")
    # a state with zeros (FokkerPlanck accepts them; the log-Newton iterates cannot start there)
    from fieldflow.core.steppers.positive import PositiveTRBDF2

    stepper = PositiveTRBDF2(pde)
    with pytest.raises(ValueError, match="strictly positive"):
        stepper.initial_dt(np.where(grid.mesh[0] > 0, f0, 0.0), 0.0, 1.0)


def test_an_array_changed_in_place_is_not_answered_from_the_cache():
    grid = ff.Grid.box(8, 4.0, dim=2)
    pde = Landau(grid, 0.0)
    f = _random_positive(grid, 7)
    pde.rhs(f)
    f *= np.exp(0.3 * np.random.default_rng(8).standard_normal(grid.shape))
    np.testing.assert_array_equal(pde.rhs(f), Landau(grid, 0.0).rhs(f.copy()))
