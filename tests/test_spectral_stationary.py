"""Stationary states q ∝ exp(2K W*q): Kuramoto self-consistency, spectral convergence, stability."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import i0e, i1e

from fieldflow.mckean_vlasov.interactions import Fourier, kuramoto, kuramoto_daido
from fieldflow.mckean_vlasov import free_energy_minimizer, stationary_states
from fieldflow.mckean_vlasov.stationary import self_consistency_residual


def kuramoto_r(K: float) -> float:
    """Root r > 0 of r = I1(2Kr)/I0(2Kr) (scaled Bessel functions: no overflow), to round-off."""
    return brentq(lambda r: r - i1e(2 * K * r) / i0e(2 * K * r), 1e-6, 1.0, xtol=1e-16, rtol=8.9e-16)


@pytest.mark.parametrize("K", [1.05, 1.5, 2.0, 4.0])
def test_kuramoto_order_parameter_matches_bessel_root(K):
    states = stationary_states(kuramoto(), K)
    assert len(states) == 2 and states[0].uniform
    r = states[1]
    assert abs(r.r - kuramoto_r(K)) < 1e-12
    assert abs(r.moments[0] - kuramoto_r(K)) < 1e-12
    assert r.stable and not states[0].stable
    assert free_energy_minimizer(kuramoto(), K) is not None
    assert free_energy_minimizer(kuramoto(), K).r == pytest.approx(r.r, abs=1e-15)


def test_below_threshold_only_the_uniform_state():
    states = stationary_states(kuramoto(), 0.9)
    assert len(states) == 1 and states[0].uniform and states[0].stable
    assert states[0].free_energy == pytest.approx(-0.5 * math.log(2 * math.pi), abs=1e-15)
    np.testing.assert_allclose(states[0].q, 1 / (2 * math.pi), rtol=1e-14)


def test_spectral_convergence_in_the_number_of_modes():
    """Error of r(n) against the Bessel root decays faster than any power of n (K = 2)."""
    ref = kuramoto_r(2.0)
    ns = np.arange(6, 20, 2)
    errors = np.array([abs(stationary_states(kuramoto(), 2.0, n=int(n))[1].r - ref) for n in ns])
    slope, _ = np.polyfit(ns, np.log10(errors), 1)
    assert slope < -0.6  # at least 0.6 decades per node: exponential, not algebraic
    assert np.all(errors[1:] / errors[:-1] < 0.1)
    # and the rate accelerates (super-geometric, as the coefficients (Kr)^k/k! of e^{2Kr cos θ})
    assert errors[-1] / errors[-2] < errors[1] / errors[0]
    assert abs(stationary_states(kuramoto(), 2.0, n=24)[1].r - ref) < 1e-14


def test_states_are_centred_self_consistent_and_ordered():
    W = kuramoto_daido(1.5)
    states = stationary_states(W, 1.2)
    assert states[0].uniform
    energies = [s.free_energy for s in states[1:]]
    assert energies == sorted(energies)
    for s in states:
        theta = s.grid.axes[0]
        h = 2 * math.pi / s.grid.shape[0]
        assert s.grid.integrate(s.q) == pytest.approx(1.0, abs=1e-14)
        np.testing.assert_allclose(s.q[1:], s.q[1:][::-1], atol=1e-13)  # even in θ
        assert abs(np.sum(np.sin(theta) * s.q) * h) < 1e-14
        # q ∝ exp(2K W*q) on the grid
        p = np.exp(2 * s.K * W.convolve(s.q, s.grid))
        np.testing.assert_allclose(s.q, p / (p.sum() * h), rtol=1e-11)
        assert np.max(np.abs(self_consistency_residual(W, 1.2, s.moments, n=s.grid.shape[0]))) < 1e-12
    # centring: the first non-zero odd moment is positive; the pure mode-2 state has r_2 > 0
    kinds = {(abs(s.moments[0]) > 1e-9, s.moments[1] > 0) for s in states[1:]}
    assert (False, True) in kinds
    assert all(s.moments[0] > 0 for s in states[1:] if abs(s.moments[0]) > 1e-9)
    assert sum(s.stable for s in states) == 1


def test_uniform_state_loses_stability_at_one_over_max_c():
    """Hessian eigenvalues of the uniform state are ½(1 − K c_k) (twice: cos and sin)."""
    W = kuramoto_daido(2.0)
    for K, stable in [(0.45, True), (0.55, False)]:
        u = stationary_states(W, K)[0]
        assert u.stable is stable
        np.testing.assert_allclose(np.sort(u.hessian_eigenvalues), np.sort(0.5 * (1 - K * np.array([1, 2, 1, 2]))),
                                   atol=1e-13)


@pytest.mark.parametrize("eps", [1e-6, 1e-8])
def test_small_states_next_to_the_bifurcation_are_found(eps):
    """Kuramoto at K = 1 + ε: r ≈ √(2ε) is found although tiny.

    Conditioning: the Jacobian of the self-consistency map has the eigenvalue ~2ε there, so a
    residual at round-off (1e-16) moves r by ~1e-16/(2ε); relative to r = √(2ε) that is
    ~1e-16/(2ε)^{3/2}·10 (safety 10): 1e-6 for ε = 1e-8.
    """
    states = stationary_states(kuramoto(), 1 + eps)
    assert len(states) == 2
    r = kuramoto_r(1 + eps)
    assert r == pytest.approx(math.sqrt(2 * eps), rel=2 * eps)
    assert states[1].r == pytest.approx(r, rel=max(1e-12, 1e-15 / (2 * eps) ** 1.5))


def test_subcritical_branch_has_an_unstable_state():
    """m = 0.8 < 1, K = 0.95 < 1: uniform (stable), a stable ordered state and the unstable one between."""
    states = stationary_states(kuramoto_daido(0.8), 0.95)
    assert len(states) == 3
    assert [s.stable for s in states] == [True, True, False]
    assert states[1].r > states[2].r > 0


def test_bad_input():
    with pytest.raises(ValueError, match="coupling K must be a positive"):
        stationary_states(kuramoto(), 0.0)
    with pytest.raises(ValueError, match="coupling K must be a positive"):
        stationary_states(kuramoto(), -1.0)
    with pytest.raises(ValueError, match="Fourier"):
        stationary_states(np.cos, 1.0)
    with pytest.raises(ValueError, match="cannot resolve"):
        stationary_states(Fourier({1: 1.0, 4: 1.0}), 1.0, n=8)
