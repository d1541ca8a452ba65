"""Multigrid-preconditioned CG, the symmetrised Fokker–Planck solves, mass restoration, nearby factorisations.

The reference for every solve is SciPy's sparse LU of the same matrix; tolerances follow from the stopping
tests (a relative residual ``r`` bounds the relative error by ``κ r``, κ the condition number of the
symmetrised ``I − cK``, which the tests bound by ``1 + c·max|diag L|·2``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import fieldflow as ff
from fieldflow.core.linalg import Multigrid, cg
from fieldflow.core.steppers.implicit import TRBDF2, _ImplicitSolver, _NearbyFactor
from fieldflow.potentials import Quadratic


def _fp(n, dim, **kw):
    grid = ff.Grid.box(n, 5.0, dim)
    return ff.FokkerPlanck(grid, Quadratic(dim=dim) if dim > 1 else Quadratic(1.0), **kw)


def _symmetrised(pde):
    L = pde.linear_operator()
    half = np.exp(0.5 * (pde.log_rho_inf.ravel() - pde.log_rho_inf.max()))
    K = sp.diags(1 / half) @ L @ sp.diags(half)
    return ((K + K.T) * 0.5).tocsr()


def test_cg_solves_spd_systems_and_refuses_indefinite_ones():
    rng = np.random.default_rng(0)
    n = 60
    Q = rng.standard_normal((n, n))
    A = Q @ Q.T + n * np.eye(n)
    b = rng.standard_normal(n)
    result = cg(A, b, rtol=1e-12)
    assert result.converged and np.linalg.norm(A @ result.x - b) <= 1e-12 * np.linalg.norm(b) * 1.0001
    with pytest.raises(FloatingPointError, match="positive definite"):
        cg(-A, b)
    with pytest.raises(ValueError, match="maxiter"):
        cg(A, b, maxiter=0)
    assert not cg(A, b, rtol=1e-14, maxiter=2).converged


@pytest.mark.parametrize("dim", [2, 3])
def test_vcycle_is_symmetric_positive_definite(dim):
    """CG needs an SPD preconditioner: ⟨Mx, y⟩ = ⟨x, My⟩ and ⟨Mx, x⟩ > 0 (symmetric Jacobi sweeps around a
    Galerkin correction; fails if pre- and post-smoothing differ or ω exceeds the Gershgorin bound)."""
    pde = _fp(16 if dim == 3 else 40, dim)
    K = _symmetrised(pde)
    cycle = Multigrid(K, pde.grid, coarse_size=64).cycle(1.0, -0.3)
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, K.shape[0]))
    assert abs(cycle(x) @ y - x @ cycle(y)) <= 1e-12 * np.linalg.norm(cycle(x)) * np.linalg.norm(y)
    assert all(v @ cycle(v) > 0 for v in rng.standard_normal((5, K.shape[0])))


def test_multigrid_iterations_stay_bounded_under_refinement():
    """h-independent convergence: CG iterations to 1e-10 at c = 0.1 on 32², 64², 128² (and 16³, 32³) change by at
    most 3 (piecewise-constant interpolation, the cheaper alternative, grows from 13 to 19 over 32³–64³)."""
    for dim, sizes in ((2, (32, 64, 128)), (3, (16, 32))):
        counts = []
        for n in sizes:
            pde = _fp(n, dim)
            K = _symmetrised(pde)
            A = (sp.identity(K.shape[0]) - 0.1 * K).tocsr()
            b = np.exp(-np.sum((np.asarray(pde.grid.points) - 0.5) ** 2, axis=-1)).ravel()
            result = cg(A, b, M=Multigrid(K, pde.grid, coarse_size=64).cycle(1.0, -0.1), rtol=1e-10)
            assert result.converged
            exact = spla.spsolve(A.tocsc(), b)
            kappa = 1 + 0.2 * float(np.max(np.abs(K.diagonal())))
            assert np.linalg.norm(result.x - exact) <= 1.01 * kappa * 1e-10 * np.linalg.norm(exact)
            counts.append(result.iterations)
        assert max(counts) <= 15 and max(counts) - min(counts) <= 3, (dim, counts)


def test_multigrid_steps_match_lu_steps_and_keep_mass():
    """Fixed TR-BDF2 steps in 3D: multigrid CG (relative residual 1e-10) against sparse LU; the mass is restored
    to round-off by the conservative correction."""
    pde = _fp(12, 3)
    rho0 = ff.densities.gaussian(pde.grid, mean=[1.0, -0.5, 0.3], cov=0.5)
    direct = ff.evolve(pde, rho0, 0.25, dt=1 / 16, adaptive=False, linear_solver="direct")
    multigrid = ff.evolve(_fp(12, 3), rho0, 0.25, dt=1 / 16, adaptive=False, linear_solver="multigrid")
    kappa = 1 + (0.29 / 16) * 2 * float(np.max(np.abs(pde.linear_operator().diagonal())))
    steps = 4
    assert np.max(np.abs(multigrid.final - direct.final)) <= 2 * steps * kappa * 1e-10 * np.max(direct.final)
    assert abs(multigrid["mass"][-1] - 1.0) < 1e-13


def test_loose_iterative_tolerance_keeps_the_mass_check():
    """With a 1e-6 residual the solves alone would drift the mass by ~1e-7 per step; the correction keeps it to
    round-off, so evolve's 1e-10 mass check passes (it fails without the correction)."""
    pde = _fp(12, 3)
    rho0 = ff.densities.gaussian(pde.grid, mean=[1.0, -0.5, 0.3], cov=0.5)
    traj = ff.evolve(pde, rho0, 0.5, dt=1 / 8, adaptive=False, linear_solver="multigrid", iterative_tol=1e-6,
                     diagnostics_every=1)
    assert np.max(np.abs(np.asarray(traj["mass"]) - 1.0)) < 1e-13
    solver = _ImplicitSolver(pde, linear_solver="multigrid", iterative_tol=1e-6)
    b = np.asarray(rho0)
    raw = solver._factor(0.1, 0.0).solve(b.ravel())
    assert abs(raw.sum() - b.sum()) > 1e-10 * b.sum()  # what the correction has to fix
    assert abs(solver.solve(b, 0.1, 0.0, b).sum() - b.sum()) < 1e-13 * b.sum()


class _NoMeasure(ff.FokkerPlanck):
    def reversible_measure(self, t=0.0):
        return None


def test_multigrid_without_a_reversible_measure_uses_gmres():
    pde = _NoMeasure(ff.Grid.box(24, 5.0, 2), Quadratic(dim=2))
    rho0 = ff.densities.gaussian(pde.grid, mean=[1.0, -0.5], cov=0.5)
    got = ff.evolve(pde, rho0, 0.25, dt=1 / 8, adaptive=False, linear_solver="multigrid")
    ref = ff.evolve(_fp(24, 2), rho0, 0.25, dt=1 / 8, adaptive=False, linear_solver="direct")
    hierarchy = pde._implicit_solver_cache["hierarchy"][1]
    assert not hierarchy.symmetric
    assert np.max(np.abs(got.final - ref.final)) <= 1e-8 * np.max(ref.final)


def test_off_ladder_step_sizes_reuse_a_nearby_factorisation():
    """A step size within 25 % of a factorised one is solved by GMRES with that LU, to 1e-13 of the exact solve."""
    pde = _fp(32, 2)
    solver = _ImplicitSolver(pde, linear_solver="direct")
    b = np.asarray(pde.validate(ff.densities.gaussian(pde.grid, mean=[1.0, 0.0], cov=0.4)))
    solver.solve(b, 0.1, 0.0, b)
    factor = solver._factor(0.11, 0.0)
    assert isinstance(factor, _NearbyFactor)
    A = (sp.identity(b.size) - 0.11 * pde.linear_operator()).tocsc()
    exact = spla.spsolve(A, b.ravel())
    got = solver.solve(b, 0.11, 0.0, b).ravel()
    kappa = 1 + 0.22 * float(np.max(np.abs(pde.linear_operator().diagonal())))
    assert np.linalg.norm(got - exact) <= kappa * 1e-13 * np.linalg.norm(exact)
    assert not isinstance(solver._factor(0.2, 0.0), _NearbyFactor)  # beyond 25 %: factorised


def test_factorisations_are_reused_by_a_second_evolve():
    pde = _fp(32, 2)
    rho0 = ff.densities.gaussian(pde.grid, mean=[1.0, 0.0], cov=0.4)
    first = ff.evolve(pde, rho0, 0.5, method="trbdf2")
    cached = {key: entry[1] for key, entry in pde._implicit_solver_cache["factors"].items()}
    second = ff.evolve(pde, rho0, 0.5, method="trbdf2")
    after = pde._implicit_solver_cache["factors"]
    assert all(after[key][1] is value for key, value in cached.items())
    np.testing.assert_array_equal(first.final, second.final)


def test_l1_error_control_meets_rtol_in_l1():
    """``error_norm="l1"`` (rtol 1e-5): each step misplaces at most rtol of the mass, so the time error at t = 1 is
    at most steps × rtol (each TR-BDF2 stage is an L1 contraction for the M-matrix L) against a reference at
    the exact-in-time default (krylov-exp); measured 1.9e-5 with 60 steps.  TR-BDF2's default norm stays the
    cell-wise "rms"."""
    pde = _fp(96, 1)
    rho0 = ff.densities.gaussian(pde.grid, mean=1.0, cov=0.25)
    ref = ff.evolve(pde, rho0, 1.0).final  # exact in time (krylov-exp)
    traj = ff.evolve(pde, rho0, 1.0, error_norm="l1")
    assert traj.info["method"] == "trbdf2"  # error_norm is an option of TR-BDF2 only: it chooses TR-BDF2
    error = float(np.sum(np.abs(traj.final - ref)) * pde.grid.cell_volume)
    assert error <= traj.info["steps"] * 1e-5
    default = ff.evolve(pde, rho0, 1.0, method="trbdf2")
    assert TRBDF2(pde).error_norm == "rms" and default.info["steps"] > traj.info["steps"]


def test_bad_solver_options_are_refused():
    pde = _fp(16, 1)
    with pytest.raises(ValueError, match="error_norm"):
        TRBDF2(pde, error_norm="max")
    with pytest.raises(ValueError, match="safety"):
        TRBDF2(pde, safety=1.5)
    with pytest.raises(ValueError, match="linear_solver"):
        _ImplicitSolver(pde, linear_solver="amg")
    from fieldflow.fokker_planck.time_dependent import TimeDependentFokkerPlanck

    timed = TimeDependentFokkerPlanck(ff.Grid.box(16, 5.0, 1), lambda t: Quadratic(1.0 + t))
    with pytest.raises(ValueError, match="time-dependent"):
        _ImplicitSolver(timed, linear_solver="multigrid")
    with pytest.raises(ValueError, match="sweeps"):
        Multigrid(pde.linear_operator(), pde.grid, sweeps=0)
    assert math.isfinite(pde.stable_dt())


@pytest.mark.parametrize("shape", [(9,), (8,), (7, 10), (5, 6, 9), (3, 8)])
def test_axis_by_axis_transfers_are_the_kronecker_matrices(shape):
    """The V-cycle applies P and Pᵀ one axis at a time; they must equal the sparse Kronecker products the Galerkin
    operators are built with (odd lengths, uncoarsened short axes and the wall rows included)."""
    from fieldflow.core.linalg.multigrid import _prolongation, prolong, restrict

    P, coarse = _prolongation(np, sp, shape)
    rng = np.random.default_rng(2)
    e, f = rng.standard_normal(coarse), rng.standard_normal(shape)
    np.testing.assert_allclose(prolong(np, e, shape).ravel(), P @ e.ravel(), rtol=0, atol=1e-14)
    np.testing.assert_allclose(restrict(np, f, coarse).ravel(), P.T @ f.ravel(), rtol=0, atol=1e-14)


def test_multigrid_preconditioner_for_gmres_on_a_nonsymmetric_matrix():
    """``approximate_inverse(A, grid, "multigrid")``: one V-cycle of A's own Galerkin hierarchy (no symmetrisation)
    makes GMRES converge on the non-symmetric I − cL in far fewer steps than Jacobi, to the LU solution."""
    from fieldflow.core.linalg import approximate_inverse, gmres

    pde = _fp(64, 2)
    A = (sp.identity(pde.grid.size) - 0.1 * pde.linear_operator()).tocsr()
    b = np.exp(-np.sum((np.asarray(pde.grid.points) - 0.5) ** 2, axis=-1)).ravel()
    exact = spla.spsolve(A.tocsc(), b)
    mg = gmres(A, b, M=approximate_inverse(A, pde.grid, "multigrid"), rtol=1e-10)
    jacobi = gmres(A, b, M=approximate_inverse(A, pde.grid, "jacobi"), rtol=1e-10)
    assert mg.converged and mg.iterations * 3 < jacobi.iterations
    kappa = 1 + 0.2 * float(np.max(np.abs(A.diagonal())))
    assert np.linalg.norm(mg.x - exact) <= kappa * 1e-10 * np.linalg.norm(exact)
