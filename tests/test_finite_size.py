"""Finite-N oscillators across the transition: ramps, finite-size scaling, switching times.

Tolerances of the slow tests, derived:

* bands: ``|Z_1|`` near a stable state has mean ``r_1`` (uniform: ``√(π/2)σ_N``) and standard deviation
  ``σ_N`` (uniform: ``√(2 − π/2)σ_N``), so a segment average lies within 3 standard deviations with
  probability ≥ 99.7 % for Gaussian, ≥ 89 % by Chebyshev; the Euler–Maruyama bias is below ``0.6 σ_N``
  (:func:`~fieldflow.mckean_vlasov.finite_size.default_time_step`).
* exponents: the replicas are independent, so the weighted fit's standard error is honest; the leading
  law has relative corrections ``O(N^{-1/2})`` (10 % at ``N = 100``), which move a fitted exponent over
  ``N = 100…1600`` by about ``0.03``: asked is ``|p − p_theory| < 3σ_p + 0.03``.
"""

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from fieldflow.mckean_vlasov import critical_coupling, free_energy_minimizer, stationary_states
from fieldflow.mckean_vlasov import particles
from fieldflow.mckean_vlasov.finite_size import (_residences, critical_order_parameter, critical_quartic_coefficient,
                                                 default_time_step, euler_maruyama_coupling, hysteresis_loops, k_ramp,
                                                 mean_order_parameter, order_parameter_band, order_parameter_scaling,
                                                 sample_state, subcritical_order_parameter, switching_times, unrelaxed)
from fieldflow.mckean_vlasov.interactions import kuramoto, kuramoto_daido


def test_ramp_is_reproducible_and_resumes_exactly(tmp_path):
    W, Ks = kuramoto_daido(0.8), [0.9, 1.0, 1.1, 1.2]
    a = k_ramp(W, Ks, 50, t_segment=2.0, dt=0.05, seed=3)
    path = tmp_path / "ramp.npz"
    b = k_ramp(W, Ks, 50, t_segment=2.0, dt=0.05, seed=3, checkpoint=path)
    np.testing.assert_array_equal(a.mean, b.mean)
    # an interrupted run: the checkpoint after two segments
    with np.load(path) as saved:
        data = dict(saved)
    first = k_ramp(W, Ks[:2], 50, t_segment=2.0, dt=0.05, seed=3)
    data.update(done=2, theta=_angles_after(W, Ks[:2]), mean=np.where(np.arange(4)[:, None] < 2, data["mean"], np.nan))
    np.savez(path, **data)
    np.testing.assert_array_equal(first.mean, a.mean[:2])
    c = k_ramp(W, Ks, 50, t_segment=2.0, dt=0.05, seed=3, checkpoint=path, resume=True)
    np.testing.assert_array_equal(c.mean, a.mean)
    np.testing.assert_array_equal(c.drift, a.drift)
    with pytest.raises(ValueError, match="another ramp"):
        k_ramp(W, Ks, 50, t_segment=2.0, dt=0.05, seed=4, checkpoint=path, resume=True)
    d = k_ramp(W, Ks, 50, t_segment=2.0, dt=0.05, seed=4)
    assert not np.array_equal(d.mean, a.mean)


def _angles_after(W, Ks):
    """The angles after the first segments of the seed-3 ramp, by the same public calls the ramp makes."""
    from fieldflow.mckean_vlasov.finite_size import _advance, _segment_seed

    theta = sample_state(W, Ks[0], 50, 3, ordered=False)
    for j, K in enumerate(Ks):
        _, _, theta = _advance(W, K, theta, 2.0, 0.05, _segment_seed(3, j), 0.5)
    return theta


def test_hysteresis_loops_over_executors_agree():
    W = kuramoto_daido(0.8)
    serial = hysteresis_loops(W, (0.9, 1.0), [20, 30], n_K=2, t_segment=1.0, every=0.25, executor="serial")
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = hysteresis_loops(W, (0.9, 1.0), [20, 30], n_K=2, t_segment=1.0, every=0.25, executor=pool)
    for N in (20, 30):
        for s, t in zip(serial[N], threaded[N]):
            np.testing.assert_array_equal(s.mean, t.mean)
        up, down = serial[N]
        np.testing.assert_array_equal(up.K, down.K[::-1])
        assert up.dt == down.dt == default_time_step(N) == 0.05


def test_residences_of_a_synthetic_series():
    t = np.arange(12.0)
    r = np.array([0.1, 0.1, 0.5, 0.9, 0.9, 0.5, 0.1, 0.1, 0.1, 0.9, 0.9, 0.1])
    uniform, ordered = _residences(t, r, 0.3, 0.7)
    # the first residence (from t = 0) and the last (to the end) are censored
    assert ordered == [3.0, 2.0] and uniform == [3.0]


def test_derived_laws():
    assert critical_quartic_coefficient(kuramoto()) == pytest.approx(0.25)
    for m in (-1.0, 0.25, 0.4):
        assert critical_quartic_coefficient(kuramoto_daido(m)) == pytest.approx((1 - 2 * m) / (4 * (1 - m)))
    # m > 1: the critical mode is 2 (no mode 4): b = 1/4 for |Z_2|
    assert critical_quartic_coefficient(kuramoto_daido(2.0)) == pytest.approx(0.25)
    with pytest.raises(ValueError, match="not continuous"):
        critical_order_parameter(kuramoto_daido(0.8), 100)
    assert critical_order_parameter(kuramoto(), 10000) == pytest.approx(
        math.gamma(0.75) / math.gamma(0.5) * (0.25 * 1e4) ** -0.25)
    assert subcritical_order_parameter(kuramoto(), 0.5, 100) == pytest.approx(math.sqrt(math.pi / 200))
    N, K = 400, 0.5
    sigma = math.sqrt(1 / (2 * N * (1 - K)))
    mean, half = order_parameter_band(kuramoto(), K, [0.0], N)
    assert mean == pytest.approx(math.sqrt(math.pi / 2) * sigma)
    assert half == pytest.approx(3 * math.sqrt(2 - math.pi / 2) * sigma)
    # at K_c = 1 the band is that of the density ∝ r e^{−Nb r⁴} (moments by quadrature here)
    from scipy.integrate import quad

    a = 0.25 * N
    Z = quad(lambda r: r * np.exp(-a * r**4), 0, np.inf)[0]
    m1 = quad(lambda r: r * r * np.exp(-a * r**4), 0, np.inf)[0] / Z
    m2 = quad(lambda r: r**3 * np.exp(-a * r**4), 0, np.inf)[0] / Z
    mean, half = order_parameter_band(kuramoto(), 1.0, [0.0], N)
    assert mean == pytest.approx(m1, rel=1e-8) and half == pytest.approx(3 * math.sqrt(m2 - m1 * m1), rel=1e-7)
    # Euler–Maruyama coupling: K(1 + dt K c/4) to first order, K as dt → 0
    assert euler_maruyama_coupling(kuramoto(), 1.0, 1e-6) == pytest.approx(1.0, abs=1e-6)
    dt = 1e-3
    assert euler_maruyama_coupling(kuramoto(), 1.0, dt) - 1 == pytest.approx(dt / 4, rel=1e-3)
    assert default_time_step(100) == 0.05 and default_time_step(10000) == pytest.approx(0.01)


def test_sample_state_draws_from_the_minimiser():
    W, K, N = kuramoto_daido(0.8), 1.2, 20000
    state = free_energy_minimizer(W, K)
    theta = sample_state(W, K, N, seed=1)
    z1 = abs(np.mean(np.exp(1j * theta)))
    # iid samples: sd of the empirical mean of cos θ is sqrt(Var cos θ / N) ≤ sqrt(1/(2N))
    assert abs(z1 - state.order_parameters[0]) < 4 * math.sqrt(1 / (2 * N))
    u = sample_state(W, K, N, seed=1, ordered=False)
    assert abs(np.mean(np.exp(1j * u))) < 4 / math.sqrt(N)


def test_bad_input():
    W = kuramoto_daido(0.8)
    with pytest.raises(ValueError, match=r"dt = 10000 .* far beyond the stability of Euler–Maruyama; use dt ≤"):
        euler_maruyama_coupling(W, 1.0, 1e4)
    with pytest.raises(ValueError, match="N must be a positive integer"):
        sample_state(W, 1.0, 2.5, seed=0)
    with pytest.raises(TypeError, match="ordered must be True or False"):
        sample_state(W, 1.0, 10, seed=0, ordered="yes")
    with pytest.raises(ValueError, match="N must be"):
        default_time_step(0)
    with pytest.raises(ValueError, match="positive couplings"):
        k_ramp(W, [0.9, -1.0], 10)
    with pytest.raises(ValueError, match="N must be"):
        k_ramp(W, [0.9], 1)
    with pytest.raises(ValueError, match="exceeds"):
        k_ramp(W, [0.9], 10, t_segment=1.0, average=2.0)
    with pytest.raises(ValueError, match="shape"):
        k_ramp(W, [0.9], 10, initial=np.zeros(3))
    with pytest.raises(ValueError, match="initial"):
        k_ramp(W, [0.9], 10, initial="hot")
    with pytest.raises(ValueError, match="resume"):
        k_ramp(W, [0.9], 10, resume=True)
    with pytest.raises(ValueError, match="Fourier"):
        k_ramp(np.cos, [0.9], 10)
    with pytest.raises(ValueError, match="replicas"):
        order_parameter_scaling(W, 1.0, [10, 20], replicas=1)
    with pytest.raises(ValueError, match="different"):
        order_parameter_scaling(W, 1.0, [10, 10])
    with pytest.raises(ValueError, match="initial"):
        mean_order_parameter(W, 1.0, 10, initial="hot")
    with pytest.raises(ValueError, match="thresholds"):
        switching_times(W, 0.94, [10], 0.5, 0.2)
    with pytest.raises(ValueError, match="K_range"):
        hysteresis_loops(W, (1.0, 0.9), [10])


# ---------------------------------------------------------------------------- slow: the physics


@pytest.mark.slow
def test_hysteresis_loop_of_the_discontinuous_transition_lies_in_the_bands():
    """Every segment average lies in the ±3-sd band of a stable mean-field state, unless the derived passage
    time (fold ghost, escape from the unstable uniform state) had not elapsed or the system switched
    within the window."""
    from fieldflow.mckean_vlasov import bifurcation_diagram

    W = kuramoto_daido(0.8)  # fold 0.9310, K_c 0.9418, K_# = 1
    folds = bifurcation_diagram(W, (0.86, 1.06), spectra=False).folds
    loops = hysteresis_loops(W, (0.86, 1.06), [1000], n_K=16, t_segment=20.0, seed=7)
    up, down = loops[1000]
    inside = 0
    for ramp in (up, down):
        late = unrelaxed(W, ramp, folds)
        for K, r, drift, slow in zip(ramp.K, ramp.r1, ramp.drift[:, 0], late):
            bands = [order_parameter_band(W, K, s.moments, ramp.N) for s in stationary_states(W, K) if s.stable]
            ok = any(abs(r - m) <= h for m, h in bands)
            switching = abs(drift) > max(h / 3 for _, h in bands)
            assert ok or slow or switching, (K, r, bands)
            inside += ok
    assert inside >= 26  # of 32
    # hysteresis: the up-ramp orders at a larger K than the one at which the down-ramp disorders
    K_up = up.K[np.argmax(up.r1 > 0.35)]
    K_down = down.K[np.argmax(down.r1 < 0.35)]
    assert K_up > K_down + 0.02


@pytest.mark.slow
def test_finite_size_exponents_at_and_below_the_continuous_transition():
    W = kuramoto_daido(0.25)
    at = order_parameter_scaling(W, 1.0, [100, 400, 1600], t_end=600.0, burn_in=100.0, replicas=4, seed=1)
    assert at.exponent_error < 0.05
    assert abs(at.exponent + 0.25) < 3 * at.exponent_error + 0.03, (at.exponent, at.exponent_error)
    np.testing.assert_allclose(at.mean, critical_order_parameter(W, at.N), rtol=0.15)
    below = order_parameter_scaling(W, 0.8, [100, 400, 1600], t_end=200.0, burn_in=20.0, replicas=4, seed=2)
    assert abs(below.exponent + 0.5) < 3 * below.exponent_error + 0.03, (below.exponent, below.exponent_error)


@pytest.mark.slow
def test_euler_maruyama_coupling_removes_the_shift_of_the_critical_point():
    """At K_c = 1, N = 400, dt = 0.2: uncorrected, the scheme's critical point is 1 + dt/4 = 1.05, so K = 1 is
    subcritical for it (√N·0.05 = 1) and ⟨|Z_1|⟩ is far too low; at euler_maruyama_coupling it is
    significantly higher and at least twice closer to the fine-step (dt = 0.05) value.  (What remains is
    the O(dt) change of the quartic coefficient, which the linear correction does not touch.)"""
    W, N = kuramoto_daido(0.25), 400
    options = dict(t_end=600.0, burn_in=100.0, replicas=6)
    c, ce = mean_order_parameter(W, 1.0, N, dt=0.2, seed=3, **options)
    f, fe = mean_order_parameter(W, 1.0, N, dt=0.05, seed=4, **options)
    means = []
    for j in range(6):
        theta0 = sample_state(W, 1.0, N, seed=50 + j, ordered=False)
        _, states = particles.simulate(W, 1.0, theta0, 600.0, 0.2, seed=60 + j, save_times=np.arange(100.0, 600.0, 0.5))
        means.append(np.mean([abs(np.mean(np.exp(1j * s))) for s in states]))
    plain, plain_err = np.mean(means), np.std(means, ddof=1) / math.sqrt(6)
    assert plain < c - 5 * math.hypot(ce, plain_err)
    assert abs(c - f) < 0.5 * abs(plain - f)


@pytest.mark.slow
def test_switching_times_grow_with_N_at_the_discontinuous_K_c():
    W = kuramoto_daido(0.8)
    c = critical_coupling(W)
    sw = switching_times(W, c.K_c, [300, 900], 0.21, 0.43, t_end=6000.0, dt=0.05, seed=5)
    geometric = np.sqrt(sw.uniform * sw.ordered)
    assert np.all(sw.switches >= 6)
    # Arrhenius: e^{2·600·ΔF‡} = e^{1.33} = 3.8 (ΔF‡ = 1.107e-3); residence times of ≥ 6 switches are within ±40 %
    assert geometric[1] > 1.5 * geometric[0]
