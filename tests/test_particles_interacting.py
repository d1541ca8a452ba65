"""Interacting oscillators: O(NM) mean field, and the N^{-1/2} cross-check of the mean-field order parameter."""

import math

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.mckean_vlasov.interactions import kuramoto, kuramoto_daido
from fieldflow.mckean_vlasov.particles import Oscillators, drift, moments, order_parameter_std
from fieldflow.mckean_vlasov import free_energy_minimizer


def test_drift_equals_the_pairwise_sum():
    rng = np.random.default_rng(0)
    theta = rng.uniform(0, 2 * np.pi, 50)
    W, K = kuramoto_daido(1.3), 0.7
    pairwise = K * np.mean(W.derivative(theta[:, None] - theta[None, :]), axis=1)
    np.testing.assert_allclose(drift(theta, W, K), pairwise, atol=1e-14)
    np.testing.assert_allclose(moments(theta, [1, 2]), [np.mean(np.exp(1j * theta)), np.mean(np.exp(2j * theta))],
                               atol=1e-15)


def test_uniform_std_formula():
    """Uniform state, W = cos: std of |Z_1| components is sqrt(1/(2N(1 − K)))."""
    assert order_parameter_std(kuramoto(), 0.5, [0.0], 100) == pytest.approx(math.sqrt(1 / (2 * 100 * 0.5)), rel=1e-12)


@pytest.mark.parametrize("K", [0.5, 1.5])  # both sides of K_c = 1
@pytest.mark.parametrize("N", [400, 3200])
def test_empirical_order_parameter_matches_mean_field(K, N):
    """Time-averaged |Z_1| of N Kuramoto oscillators vs the mean-field r(K).

    Tolerance (derived in fieldflow.mckean_vlasov.particles): the fluctuations of the moment
    vector are Gaussian with covariance (Σ_q^{-1} − 2K C)^{-1}/N, so |Z_1| − r has standard
    deviation σ_N = order_parameter_std(...) ∝ N^{-1/2}; below K_c (r = 0) |Z_1| is Rayleigh
    with mean √(π/2) σ_N ≈ 1.25 σ_N.  Averaging over t ∈ [10, 40] only shrinks the spread, and the
    Euler–Maruyama bias (dt = 0.01, weak order 1) is below 0.1 σ_N (measured at N = 5000 with
    dt = 0.01 vs 0.005).  So |⟨|Z_1|⟩ − r| ≤ 3 σ_N, and the error shrinks like N^{-1/2}.
    """
    W = kuramoto()
    state = free_energy_minimizer(W, K)
    rng = np.random.default_rng(11)
    theta0 = rng.vonmises(0.0, 2.0, N) if K > 1 else rng.uniform(0, 2 * np.pi, N)
    snapshots = ff.evolve(Oscillators(W, K), theta0, 40.0, dt=0.01, seed=N, save_times=np.arange(10.0, 40.0, 0.5)).states[1:]
    empirical = np.mean([abs(np.mean(np.exp(1j * th))) for th in snapshots])
    sigma = order_parameter_std(W, K, state.moments, N)
    assert abs(empirical - state.r) <= 3 * sigma, (empirical, state.r, sigma)
    if K < 1:
        assert empirical == pytest.approx(math.sqrt(math.pi / 2) * sigma, rel=0.5)


def test_bad_input():
    theta = np.zeros(10)
    with pytest.raises(ValueError, match="coupling K"):
        Oscillators(kuramoto(), 0.0)
    with pytest.raises(ValueError, match="dt must be a positive"):
        ff.evolve(Oscillators(kuramoto(), 1.0), theta, 1.0, dt=-0.1)
    with pytest.raises(ValueError, match="1D array"):
        ff.evolve(Oscillators(kuramoto(), 1.0), np.zeros((3, 2)), 1.0, dt=0.1)
    with pytest.raises(ValueError, match="Fourier"):
        Oscillators(np.cos, 1.0)
    with pytest.raises(ValueError, match="save_times"):
        ff.evolve(Oscillators(kuramoto(), 1.0), theta, 1.0, dt=0.1, save_times=[-0.5])
