"""Free-energy landscapes: the talk's F_K(r) and the constrained free energy ΔF̃_K(r).

Both are checked against quantities computed independently: the stationary states of
fieldflow.mckean_vlasov.stationary (self-consistency by Newton on its own quadrature) and their free
energies F(q) (evaluated on the density itself, fieldflow.mckean_vlasov.pde.free_energy); the Landau
coefficient b of the finite-size module against ΔF̃ minimised numerically over r_2.
"""

import math

import numpy as np
import pytest
from scipy.special import ive

from fieldflow.mckean_vlasov import (constrained_free_energy, free_energy_landscape, kuramoto_free_energy_profile,
                                     stationary_states)
from fieldflow.mckean_vlasov.finite_size import critical_quartic_coefficient
from fieldflow.mckean_vlasov.interactions import kuramoto, kuramoto_daido

F_UNIFORM = -0.5 * math.log(2 * math.pi)


@pytest.mark.parametrize("K", [0.8, 1.0, 1.2, 2.0])
def test_kuramoto_profile_critical_points_are_the_stationary_states(K):
    """F_K'(r) = 2K(r − I_1(2Kr)/I_0(2Kr)) (finite differences), zero at the states, where F_K = 2ΔF."""
    r = np.linspace(-0.9, 0.9, 37)
    h = 1e-6
    derivative = (kuramoto_free_energy_profile(K, r + h) - kuramoto_free_energy_profile(K, r - h)) / (2 * h)
    np.testing.assert_allclose(derivative, 2 * K * (r - ive(1, 2 * K * r) / ive(0, 2 * K * r)), atol=1e-8)
    for s in stationary_states(kuramoto(), K):
        r0 = s.moments[0]
        assert kuramoto_free_energy_profile(K, r0) == pytest.approx(2 * (s.free_energy - F_UNIFORM), abs=1e-13)
        assert 2 * constrained_free_energy(kuramoto(), K, [[r0]])[0] == pytest.approx(2 * (s.free_energy - F_UNIFORM),
                                                                                      abs=1e-13)


def test_constrained_free_energy_bounds_every_state_from_below():
    """ΔF̃(r) ≤ F(q) − F(uniform) for any q with moments r: here von Mises mixtures with the same moments."""
    W, K = kuramoto_daido(0.8), 0.95
    n = 512
    theta = 2 * np.pi * np.arange(n) / n
    rng = np.random.default_rng(5)
    for _ in range(5):
        kappa, mu, w = rng.uniform(0.5, 3), rng.uniform(-1, 1), rng.uniform(0.2, 0.8)
        q = w * np.exp(kappa * np.cos(theta - mu)) + (1 - w) * np.exp(kappa * np.cos(theta + mu))  # even
        q /= q.sum() * 2 * np.pi / n
        r = np.array([np.sum(q * np.cos(k * theta)) * 2 * np.pi / n for k in (1, 2)])
        F = 0.5 * np.sum(q * np.log(q)) * 2 * np.pi / n - 0.5 * K * (r[0] ** 2 + 0.8 * r[1] ** 2)
        assert constrained_free_energy(W, K, r) <= F - F_UNIFORM + 1e-13


@pytest.mark.parametrize("m", [0.8, 1.2])
def test_landscape_at_the_stationary_states(m):
    W = kuramoto_daido(m)
    c = 0.95 if m == 0.8 else 0.81
    L = free_energy_landscape(W, c, np.linspace(-1, 1, 21), np.linspace(-1, 1, 21))
    assert L.r1.shape == L.r2.shape == (21,) and L.values.shape == (21, 21)
    assert np.isnan(L.values[0, 0]) and np.isnan(L.values[10, 0])  # below the parabola r_2 = 2r_1² − 1
    assert np.isfinite(L.values[10, 10])
    assert L.values[10, 10] == pytest.approx(0.0, abs=1e-14)  # the uniform state
    values = constrained_free_energy(W, c, np.array([[s["r1"], s["r2"]] for s in L.states]))
    np.testing.assert_allclose(values, [s["delta_free_energy"] for s in L.states], atol=1e-12)
    # the least value on the grid is not below the least stationary value (the minimiser is a state)
    assert np.nanmin(L.values) >= min(s["delta_free_energy"] for s in L.states) - 1e-14


@pytest.mark.parametrize("m", [-1.0, 0.0, 0.25])
def test_landau_coefficient_of_the_finite_size_law(m):
    """2 min_{r_2} ΔF̃(r_1, r_2) / r_1⁴ → b = 1/2 − 1/(4(1 − m)) at K = 1 as r_1 → 0 (error O(r_1²))."""
    W = kuramoto_daido(m) if m else kuramoto()
    b = critical_quartic_coefficient(W)
    r1 = 0.02
    if m:
        r2 = np.linspace(-0.002, 0.002, 4001)
        values = constrained_free_energy(W, 1.0, np.stack([np.full_like(r2, r1), r2], axis=-1))
        measured = 2 * np.nanmin(values) / r1**4
    else:
        measured = 2 * constrained_free_energy(W, 1.0, [[r1]])[0] / r1**4
    assert measured == pytest.approx(b, rel=2e-2)


def test_bad_input():
    with pytest.raises(ValueError, match="last axis"):
        constrained_free_energy(kuramoto_daido(0.5), 1.0, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="coupling K"):
        kuramoto_free_energy_profile(-1.0, 0.5)
    with pytest.raises(ValueError, match="modes"):
        free_energy_landscape(kuramoto(), 1.0, [0.0], [0.0])
    assert np.isnan(constrained_free_energy(kuramoto(), 1.0, [[1.2]])[0])
