"""core.linalg: GMRES(m) against SciPy's and a dense solve, stencil matrices against the operators they represent,
device preconditioners (iteration counts on the implicit problems), and the implicit solver's iterative path."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import fieldflow as ff
from fieldflow.core.linalg import approximate_inverse, gmres, preconditioning, stencil_matrix
from fieldflow.core.linalg.preconditioners import resolve_method
from fieldflow.core.steppers.implicit import _ImplicitSolver


def _convection_diffusion(n: int, peclet: float) -> sp.csr_matrix:
    """A nonsymmetric 1D convection–diffusion matrix (central differences): GMRES needs many steps unpreconditioned."""
    return sp.diags([-1 - peclet, 2.0 + 0.01, -1 + peclet], [-1, 0, 1], shape=(n, n)).tocsr()


@pytest.mark.parametrize("restart", [5, 30, 200])
def test_gmres_solves_to_the_requested_true_residual(restart):
    """‖b − A x‖ ≤ rtol ‖b‖ on return (right preconditioning: the Arnoldi estimate is the true residual)."""
    A = _convection_diffusion(300, 0.3)
    b = np.random.default_rng(0).standard_normal(300)
    result = gmres(A, b, rtol=1e-10, restart=restart, max_restarts=200)
    true = np.linalg.norm(b - A @ result.x) / np.linalg.norm(b)
    assert result.converged and true <= 1.01e-10, (true, result)
    np.testing.assert_allclose(result.x, spla.spsolve(A.tocsc(), b), rtol=1e-7, atol=1e-9)
    # counts: one product per Arnoldi step, one residual per finished cycle
    cycles = -(-result.iterations // restart)
    assert result.matvecs in (result.iterations + cycles - 1, result.iterations + cycles)


def test_gmres_stops_inside_the_cycle_and_matches_scipy_iterations():
    """With an exact preconditioner one step suffices (SciPy's old call cost the full cycle on CuPy)."""
    A = _convection_diffusion(200, 0.2)
    b = np.ones(200)
    lu = spla.splu(A.tocsc())
    assert gmres(A, b, M=lu.solve, rtol=1e-12).iterations == 1
    ours = gmres(A, b, rtol=1e-8, restart=50).iterations
    count = [0]
    spla.gmres(A, b, rtol=1e-8, restart=50, callback=lambda _: count.__setitem__(0, count[0] + 1),
               callback_type="pr_norm")
    assert abs(ours - count[0]) <= 2, (ours, count[0])


def test_gmres_edge_cases_and_bad_input():
    A = _convection_diffusion(50, 0.1)
    zero = gmres(A, np.zeros(50))
    assert zero.converged and zero.iterations == 0 and not zero.x.any()
    # invariant Krylov space (b an eigenvector of the identity): exact after one step
    assert gmres(lambda v: 3.0 * v, np.ones(50)).iterations == 1
    with pytest.raises(FloatingPointError, match="left the floating-point range"):
        gmres(lambda v: np.full_like(v, np.inf), np.ones(50))
    with pytest.raises(ValueError, match="restart"):
        gmres(A, np.ones(50), restart=0)
    with pytest.raises(ValueError, match="rtol"):
        gmres(A, np.ones(50), rtol=-1.0)
    stalled = gmres(A, np.ones(50), rtol=1e-14, restart=2, max_restarts=1)
    assert not stalled.converged and stalled.iterations == 2


def test_stencil_matrix_places_each_offset():
    g = ff.Grid.box((7, 5), 2.0)
    rng = np.random.default_rng(1)
    coef = {(0, 0): rng.standard_normal(g.shape), (1, 0): rng.standard_normal(g.shape)}
    A = stencil_matrix(g, coef).toarray()
    assert A[0, 5] == coef[(1, 0)][0, 0] and A[6 * 5, 7 * 5 - 5 + 5 - 5] == coef[(0, 0)][6, 0]
    assert np.count_nonzero(A) == g.size + 6 * 5  # the offset (1, 0) has no column beyond the last row


@pytest.mark.parametrize("dim,n", [(2, 48), (3, 16)])
def test_device_preconditioners_on_the_fokker_planck_matrix(dim, n):
    """``I − cL`` for Fokker–Planck: LU one step; the DCT preconditioner at most about half of Jacobi's and
    far below none (measured 2D: 35 vs 68 vs 69 at c = 0.1, 86 vs 195 vs 192 at c = 1)."""
    g = ff.Grid.box(n, 5.0, dim)
    L = ff.FokkerPlanck(g, ff.potentials.Quadratic(1.0, dim=dim)).linear_operator()
    b = np.random.default_rng(0).standard_normal(g.size)
    for c in (0.1, 1.0):
        A = (sp.identity(g.size) - c * L).tocsr()
        steps = {m: gmres(A, b, M=approximate_inverse(A, g, m), rtol=1e-8, max_restarts=40) for m in ("lu", "jacobi", "dct")}
        none = gmres(A, b, rtol=1e-8, max_restarts=40)
        assert all(r.converged for r in steps.values())
        assert steps["lu"].iterations == 1
        assert steps["dct"].iterations <= 0.8 * steps["jacobi"].iterations
        assert steps["dct"].iterations <= 0.8 * none.iterations


def test_the_dct_preconditioner_is_exact_for_constant_diffusion():
    """``I − c D Δ_h`` with zero-flux walls is diagonal in the DCT-II basis: the preconditioner is its inverse
    (while ``2cD Σ h⁻² ≤ 1``, where the floor of the constant term is inactive: here 0.96)."""
    g = ff.Grid.box((12, 9), 3.0)
    L = ff.FokkerPlanck(g, lambda x: 0.0 * x[..., 0], D=0.7).linear_operator()
    c = 0.48 / (0.7 * sum(h**-2 for h in g.spacing))
    A = (sp.identity(g.size) - c * L).tocsr()
    M = approximate_inverse(A, g, "dct")
    v = np.random.default_rng(2).standard_normal(g.size)
    np.testing.assert_allclose(A @ M.matvec(v), v, rtol=1e-12, atol=1e-12)


def test_preconditioner_names_and_host_only_methods():
    import types

    cupy_like = types.SimpleNamespace(__name__="cupy")
    assert resolve_method("auto", np) == "lu" and resolve_method("auto", cupy_like) == "jacobi"
    assert resolve_method("auto", np, host_default="ilu", device_default="dct") == "ilu"
    with pytest.raises(ValueError, match="factorises on the host"):
        resolve_method("lu", cupy_like)
    with pytest.raises(ValueError, match="preconditioner must be one of"):
        resolve_method("amg", np)
    with pytest.raises(ValueError, match="preconditioner must be one of"):
        with preconditioning("ilu0"):
            pass
    g = ff.Grid.box(8, 1.0)
    with pytest.raises(ValueError, match="preconditioner must be one of"):
        _ImplicitSolver(ff.FokkerPlanck(g, ff.potentials.Quadratic(1.0)), preconditioner="amg")


@pytest.mark.parametrize("preconditioner", ["ilu", "dct", "jacobi"])
def test_iterative_path_matches_the_direct_solve(preconditioner):
    """3D Fokker–Planck TR-BDF2 steps with ``linear_solver='iterative'`` reproduce the sparse LU steps to the
    iterative tolerance (1e-14 relative residual, amplified by ``‖(I − cL)^{-1}‖ ≤ 1`` for this M-matrix)."""
    g = ff.Grid.box(10, 4.0, 3)
    pde = ff.FokkerPlanck(g, ff.potentials.Quadratic(1.0, dim=3))
    rho0 = ff.densities.gaussian(g, mean=[0.5, 0.0, -0.5], cov=0.5)
    direct = ff.evolve(pde, rho0, 0.1, dt=0.025, adaptive=False, linear_solver="direct").final
    iterative = ff.evolve(pde, rho0, 0.1, dt=0.025, adaptive=False, linear_solver="iterative",
                          preconditioner=preconditioner).final
    assert np.max(np.abs(iterative - direct)) <= 1e-12 * np.max(direct)


def test_svgd_newton_gmres_iterations_by_preconditioner():
    """Newton–GMRES steps of a 2D SVGD implicit step: LU, Jacobi (the CuPy default) and none, with the same answer.

    Measured (48², c = 0.1): LU 5 GMRES steps per Newton iteration, Jacobi 19, none 21; at the heavy-edge
    1D problem (α = 0.1, c = 1) LU 7, Jacobi 46, none 197.  Asserted loosely (orders of magnitude), the
    agreement of the answers to the Newton tolerance exactly.
    """
    g = ff.Grid.box(24, 4.0, 2)
    pde = ff.SVGDFlow(g, ff.potentials.Quadratic(1.0, dim=2), ff.svgd.Bessel(1.0), alpha=0.5)
    rho = pde.validate(ff.densities.gaussian(g, mean=[1.0, 0.5], cov=0.5))
    counts, answers = {}, {}
    for method in ("lu", "jacobi"):
        solver = _ImplicitSolver(pde, preconditioner=method)
        calls = []
        original = pde.jvp
        pde.jvp = lambda u, v, t, _calls=calls: _calls.append(1) or original(u, v, t)
        try:
            answers[method] = solver.solve(rho.copy(), 0.1, 0.0, rho)
        finally:
            del pde.jvp
        counts[method] = len(calls)
    assert counts["lu"] < counts["jacobi"] <= 20 * counts["lu"], counts
    np.testing.assert_allclose(answers["jacobi"], answers["lu"], rtol=1e-8, atol=1e-10 * np.max(rho))
