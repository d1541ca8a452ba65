"""``exp(τA) b`` by Lanczos and the exact-in-time Fokker–Planck stepper ``krylov-exp`` (the default).

References are independent of the code under test: a dense eigen-decomposition of the symmetrised
operator (``numpy.linalg.eigh``), the exact Ornstein–Uhlenbeck Gaussian, and TR-BDF2 at rtol 1e-10.
"""

from __future__ import annotations

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.core.linalg import expm_multiply_symmetric, symmetrise
from fieldflow.core.linalg.chebyshev import chebyshev_degree, expm_multiply_chebyshev, spectral_radius_bound
from fieldflow.core.steppers.krylov_exponential import KrylovExponential
from fieldflow.potentials import DoubleWell, Quadratic


def _fp(n: int, dim: int, extent: float = 12.0, V=None) -> ff.FokkerPlanck:
    return ff.FokkerPlanck(ff.Grid.box(n, extent, dim), V or Quadratic(dim=dim), D=1.0)


def _start(pde: ff.FokkerPlanck) -> np.ndarray:
    dim = pde.grid.dim
    return ff.densities.gaussian(pde.grid, mean=1.0 if dim == 1 else [1.0, -0.5, 0.3][:dim], cov=0.25)


def _dense_exp(pde: ff.FokkerPlanck, tau: float, u: np.ndarray) -> np.ndarray:
    K, half = symmetrise(pde.linear_operator(), pde.reversible_measure(), np)
    ev, Q = np.linalg.eigh(K.toarray())
    return half * (Q @ (np.exp(tau * ev) * (Q.T @ (u.ravel() / half))))


@pytest.mark.parametrize("dim,n", [(1, 96), (2, 24)])
@pytest.mark.parametrize("tau", [0.01, 1.0, 100.0])
def test_lanczos_matches_a_dense_eigendecomposition(dim, n, tau):
    """Error ≤ the requested 1e-12·‖b‖ (measured ≤ 7e-13 relative at τ = 100, ≤ 4e-14 otherwise), in one
    pass and in two passes (basis not stored), which agree to round-off."""
    pde = _fp(n, dim, 12.0 if dim == 1 else 8.0)
    u = _start(pde).ravel()
    K, half = symmetrise(pde.linear_operator(), pde.reversible_measure(), np)
    b = u / half
    exact = _dense_exp(pde, tau, u) / half
    one = expm_multiply_symmetric(K, b, tau, atol=1e-12 * np.linalg.norm(b))
    two = expm_multiply_symmetric(K, b, tau, atol=1e-12 * np.linalg.norm(b), memory=0)
    assert one.converged and one.passes == 1 and two.passes == 2 and one.dimension == two.dimension
    assert np.linalg.norm(one.x - exact) <= 1e-12 * np.linalg.norm(b)
    assert np.linalg.norm(two.x - one.x) <= 1e-14 * np.linalg.norm(b)
    assert one.dimension <= 64  # bounded as τ grows: the slow modes alone matter


@pytest.mark.parametrize("dim,n", [(1, 96), (2, 24)])
@pytest.mark.parametrize("tau", [0.01, 1.0, 100.0])
def test_chebyshev_matches_a_dense_eigendecomposition_within_its_a_priori_bound(dim, n, tau):
    """The truncated expansion errs by at most the requested 1e-12·‖b‖ (its tail bound, plus round-off of about
    degree·ε; measured ≤ 7e-13), with the degree ``chebyshev_degree`` announces; Gershgorin bounds the spectrum."""
    pde = _fp(n, dim, 12.0 if dim == 1 else 8.0)
    u = _start(pde).ravel()
    K, half = symmetrise(pde.linear_operator(), pde.reversible_measure(), np)
    b = u / half
    rho = spectral_radius_bound(K)
    assert rho >= -np.linalg.eigvalsh(K.toarray()).min()
    x, products = expm_multiply_chebyshev(K, b, tau, rho, atol=1e-12 * np.linalg.norm(b))
    assert products == chebyshev_degree(tau, rho, 1e-12)
    assert np.linalg.norm(x - _dense_exp(pde, tau, u) / half) <= (1e-12 + 10 * products * 2.2e-16) * np.linalg.norm(b)


def test_lanczos_is_exact_on_an_invariant_space_and_reports_non_convergence():
    pde = _fp(64, 1)
    K, half = symmetrise(pde.linear_operator(), pde.reversible_measure(), np)
    # the equilibrium is the kernel: exp(τK)√π = √π, found with one vector (breakdown)
    res = expm_multiply_symmetric(K, half, 5.0, atol=1e-12)
    assert res.converged and res.dimension == 1 and np.allclose(res.x, half, rtol=1e-13, atol=1e-15)
    # too few vectors allowed: converged is False, not a silent answer
    u = _start(pde).ravel() / half
    short = expm_multiply_symmetric(K, u, 1.0, atol=1e-12, max_dim=6)
    assert not short.converged and short.estimate > 1e-12


@pytest.mark.parametrize("options", [{}, {"dense_limit": 0, "algorithm": "lanczos"},
                                     {"dense_limit": 0, "algorithm": "chebyshev"}],
                         ids=["eigendecomposition", "lanczos", "chebyshev"])
def test_default_fokker_planck_runs_are_exact_in_time(options):
    """The default stepper of FokkerPlanck is krylov-exp, one step per save (96 cells: from the cached
    eigen-decomposition; ``dense_limit=0``: by Lanczos or by the Chebyshev expansion); every save agrees with an independent dense
    exp(tL)ρ₀ to 1e-10 in L1 (the default rtol; TR-BDF2 at rtol 1e-10 is 1e-8 off, in 5268 steps), keeps the
    mass to 1e-14 and positivity, and lowers the KL at every save."""
    pde = _fp(96, 1)
    rho0 = _start(pde)
    traj = ff.evolve(pde, rho0, 2.0, save_every=0.25, **options)
    assert traj.info["method"] == "krylov-exp" and traj.info["steps"] == 8
    h = pde.grid.cell_volume
    for t, state in zip(traj.times, traj.states):
        assert np.sum(np.abs(state.ravel() - _dense_exp(pde, t, rho0))) * h <= 1e-10
    assert np.all(np.abs(np.array(traj["mass"]) - 1.0) <= 1e-14)
    assert min(float(s.min()) for s in traj.states) >= 0.0
    assert np.all(np.diff(traj["kl"]) < 0)


def _ou_l1(n: int, extent: float) -> float:
    """L1 error at t = 1 against the exact OU Gaussian N(e^{-1}, 1 − ¾e^{-2}) (1D, D = 1, V = x²/2)."""
    pde = _fp(n, 1, extent)
    traj = ff.evolve(pde, _start(pde), 1.0)
    x = np.asarray(pde.grid.points).ravel()
    var = 1 - 0.75 * np.exp(-2.0)
    exact = np.exp(-(x - np.exp(-1.0)) ** 2 / (2 * var)) / np.sqrt(2 * np.pi * var)
    return float(np.sum(np.abs(traj.final - exact)) * pde.grid.cell_volume)


@pytest.mark.parametrize("extent", [12.0, 24.0])
def test_defaults_converge_at_order_two_in_space_on_a_refinement_ladder(extent):
    """No time error left: the defaults' L1 error against the exact Gaussian falls like h² (Scharfetter–Gummel)
    over n = 32·2^k, on the box and on one twice as large (same spacings at 2n)."""
    ns = [32, 64, 128, 256] if extent == 12.0 else [64, 128, 256, 512]
    errors = [_ou_l1(n, extent) for n in ns]
    orders = -np.diff(np.log(errors)) / np.log(2.0)
    assert np.all(np.abs(orders - 2.0) < 0.1), orders


def test_heavy_tails_are_stepped_by_trbdf2():
    """A start far heavier than π in the tails (‖Π^{-1/2}u‖ ≫ ‖u‖: the Lanczos tolerance would sit below
    round-off) is stepped by TR-BDF2 instead; the answer agrees with an explicit TR-BDF2 run."""
    pde = _fp(200, 1, 8.0, V=DoubleWell())
    rho0 = ff.densities.gaussian(pde.grid, mean=0.0, cov=4.0)
    stepper = KrylovExponential(pde, dense_limit=0)
    stepper.initial_dt(rho0, 0.0, 0.5)
    stepper.step(rho0, 0.0, 0.5)
    assert stepper.fallback is not None
    default = ff.evolve(pde, rho0, 0.5)
    ref = ff.evolve(pde, rho0, 0.5, method="trbdf2")
    np.testing.assert_allclose(default.final, ref.final, rtol=0, atol=1e-12)


def test_options_of_trbdf2_choose_trbdf2_and_unknown_options_are_named():
    pde = _fp(32, 1)
    rho0 = _start(pde)
    assert ff.evolve(pde, rho0, 0.1, error_norm="l1").info["method"] == "trbdf2"
    assert ff.evolve(pde, rho0, 0.1, rtol=1e-8).info["method"] == "krylov-exp"
    with pytest.raises(TypeError, match="max_dim"):
        ff.evolve(pde, rho0, 0.1, method="krylov-exp", error_norm="l1")
    with pytest.raises(ValueError, match="max_dim"):
        ff.evolve(pde, rho0, 0.1, max_dim=1)
    with pytest.raises(ValueError, match="dense_limit"):
        ff.evolve(pde, rho0, 0.1, dense_limit=-1)
    with pytest.raises(ValueError, match="algorithm"):
        ff.evolve(pde, rho0, 0.1, algorithm="arnoldi")


def test_time_dependent_operators_are_refused():
    from fieldflow.fokker_planck.time_dependent import TimeDependentFokkerPlanck

    g = ff.Grid.box(16, 6.0)
    pde = TimeDependentFokkerPlanck(g, lambda t: Quadratic(dim=1), lambda t: 1.0 + t)
    assert pde.default_method == "trbdf2"
    with pytest.raises(ValueError, match="time-independent"):
        KrylovExponential(pde)


def test_a_too_small_max_dim_halves_the_step():
    """With room for 12 vectors only, a step to t = 1 is split until each piece converges; still exact."""
    pde = _fp(96, 1)
    rho0 = _start(pde)
    small = ff.evolve(pde, rho0, 1.0, max_dim=12, dense_limit=0)
    assert small.info["steps"] > 1
    np.testing.assert_allclose(small.final, ff.evolve(pde, rho0, 1.0).final, rtol=0, atol=1e-9)
