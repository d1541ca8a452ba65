"""Critical coupling and the Kuramoto–Daido phase diagram (the four regimes of the theorem, m_*)."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy.optimize import minimize

from fieldflow.mckean_vlasov.interactions import Fourier, kuramoto, kuramoto_daido
from fieldflow.mckean_vlasov import (coupling_ratio, critical_coupling, free_energy_minimizer, kuramoto_daido_m_star,
                                linear_threshold, phase_diagram, stationary_states)

M_STAR = kuramoto_daido_m_star()


def _mixed_branch_gap(m: float) -> tuple[float, np.ndarray]:
    """``g(m) = min_{a₁ ≠ 0} H/P − 1/m`` over ``q ∝ e^{a₁cos θ + a₂cos 2θ}``, by the test's own route: the quadrature
    of :func:`_ratio_general` (256 nodes) and Nelder–Mead from the mixed-branch seeds — not the package's BFGS."""
    best = min((minimize(lambda a: _ratio_general([a[0], a[1], 0.0], m), x0, method="Nelder-Mead",
                         options={"xatol": 1e-11, "fatol": 1e-15, "maxiter": 10000})
                for x0 in ([0.8, 0.95], [1.5, 1.5], [3.0, 3.0])), key=lambda r: r.fun)
    return best.fun - 1.0 / m, best.x


def independent_m_star() -> float:
    """``m_*`` as the root of :func:`_mixed_branch_gap` (Brent's method on the test's own ``g``)."""
    from scipy.optimize import brentq

    return brentq(lambda m: _mixed_branch_gap(m)[0], 1.2, 1.3, xtol=1e-12)


def test_m_star_is_where_the_mixed_minimiser_ties_with_the_linear_threshold():
    """At ``m_*`` the mixed state's free energy ties with the uniform one at ``K = 1/m``: ``F_K(q) − F_K(1/2π)
    = H − K P = P·g`` vanishes, ``g(m) = min_{a₁≠0} H/P − 1/m``.  ``g`` is computed here by an independent route
    (:func:`_mixed_branch_gap`).  Measured: ``g(m_*) = −6.6e-14``, ``g'(m_*) = 0.286``; so ``|g(m_*)| ≤ 1e-11``
    pins ``m_*`` to 3.5e-11 (the package claims 1e-7 relative), and ``g`` changes sign across ``m_* ∓ 1e-9``
    (``|g| ≈ 2.9e-10``, 3000× Nelder–Mead's floor of 1e-13).  The minimiser is on the mixed branch (``a₁ ≠ 0``)."""
    m_star, error = M_STAR
    assert error < 1e-7 * m_star
    gap, a = _mixed_branch_gap(m_star)
    assert abs(gap) <= 1e-11 and abs(a[0]) > 0.5, (gap, a)
    assert _mixed_branch_gap(m_star - 1e-9)[0] < 0 < _mixed_branch_gap(m_star + 1e-9)[0]


@pytest.mark.parametrize("m", [0.0, 0.25, 0.5])
def test_continuous_at_one_for_m_up_to_one_half(m):
    c = critical_coupling(kuramoto_daido(m))
    assert c.kind == "continuous" and c.K_c == 1.0 and c.K_sharp == 1.0
    assert c.jump == (0.0, 0.0)


@pytest.mark.parametrize("m", [0.6, 0.8, 1.0])
def test_discontinuous_below_one_for_m_between_one_half_and_one(m):
    c = critical_coupling(kuramoto_daido(m))
    assert c.kind == "discontinuous" and c.K_c < 1.0 - 1e-6 and c.K_sharp == 1.0
    assert c.jump[0] > 0.1 and c.error < 1e-10


@pytest.mark.parametrize("offset", [0.1, 0.01])
def test_discontinuous_below_one_over_m_between_one_and_m_star(offset):
    m = M_STAR[0] - offset
    c = critical_coupling(kuramoto_daido(m))
    assert c.kind == "discontinuous" and c.K_c < 1 / m and c.K_sharp == pytest.approx(1 / m, abs=1e-15)
    assert c.jump[0] > 0.1


@pytest.mark.parametrize("offset", [0.01, 0.5, 1.5])
def test_continuous_at_one_over_m_above_m_star(offset):
    m = M_STAR[0] + offset
    c = critical_coupling(kuramoto_daido(m))
    assert c.kind == "continuous" and c.K_c == pytest.approx(1 / m, abs=1e-15)


@pytest.mark.parametrize("m", [0.8, 1.2])
def test_critical_coupling_to_1e_8_by_an_independent_route(m):
    """At K_c ∓ 1e-8 the self-consistency solver's free-energy minimiser switches uniform → ordered,
    and at K_c the ordered state ties with the uniform one (F equal to 1e-11)."""
    W = kuramoto_daido(m)
    c = critical_coupling(W)
    below = free_energy_minimizer(W, c.K_c - 1e-8)
    above = free_energy_minimizer(W, c.K_c + 1e-8)
    assert below.uniform and not above.uniform
    assert above.order_parameters[0] == pytest.approx(c.jump[0], abs=1e-3)
    states = stationary_states(W, c.K_c)
    tie = min((s for s in states if not s.uniform), key=lambda s: abs(s.order_parameters[0] - c.jump[0]))
    assert tie.free_energy == pytest.approx(states[0].free_energy, abs=1e-11)
    assert tie.stable


def test_at_m_star_the_mixed_state_ties_with_the_uniform_state_at_one_over_m():
    m = M_STAR[0]
    W = kuramoto_daido(m)
    states = stationary_states(W, 1 / m)
    mixed = [s for s in states if not s.uniform and abs(s.moments[0]) > 0.1 and s.stable]
    assert len(mixed) == 1
    assert mixed[0].free_energy == pytest.approx(states[0].free_energy, abs=1e-9)


def _ratio_general(params, m, n=256):
    """H/P for q ∝ exp(a1 cos θ + a2 cos 2θ + b2 sin 2θ): the non-even family (b1 = 0 by rotation)."""
    theta = 2 * np.pi * np.arange(n) / n
    a1, a2, b2 = params
    e = a1 * np.cos(theta) + a2 * np.cos(2 * theta) + b2 * np.sin(2 * theta)
    w = np.exp(e - e.max())
    q = w / (w.sum() * 2 * np.pi / n)
    H = np.sum(q * np.log(2 * np.pi * q)) * 2 * np.pi / n
    z1, z2 = (abs(np.sum(q * np.exp(1j * k * theta)) * 2 * np.pi / n) for k in (1, 2))
    P = z1**2 + m * z2**2
    return H / P if P > 1e-12 else 1e6


@pytest.mark.parametrize("m", [0.8, 1.2])
def test_even_states_suffice_for_the_critical_coupling(m):
    """Minimising H/P over non-even exponential families (sin 2θ term) does not go below the even K_c."""
    c = critical_coupling(kuramoto_daido(m))
    rng = np.random.default_rng(3)
    best = min(minimize(_ratio_general, x0, args=(m,), method="Nelder-Mead",
                        options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 4000}).fun
               for x0 in rng.uniform(-3, 3, size=(6, 3)))
    assert best >= c.K_c - 1e-9
    a_even = 2 * c.K_c * np.array([1.0, m]) * np.array(c.moments)
    assert _ratio_general([a_even[0], a_even[1], 0.0], m) == pytest.approx(c.K_c, abs=1e-12)
    assert coupling_ratio(kuramoto_daido(m), a_even) == pytest.approx(c.K_c, abs=1e-12)


def test_linear_threshold_and_kuramoto():
    assert linear_threshold(kuramoto_daido(0.3)) == 1.0
    assert linear_threshold(kuramoto_daido(2.5)) == pytest.approx(0.4)
    assert linear_threshold(Fourier({1: 0.5, 3: 0.25})) == 2.0
    c = critical_coupling(kuramoto())
    assert c.kind == "continuous" and c.K_c == 1.0


def test_phase_diagram_over_executors_agrees():
    ms = [0.3, 0.9, 1.2, 2.5]
    serial = phase_diagram(ms, executor="serial")
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = phase_diagram(ms, executor=pool)
    assert [c.kind for c in serial] == ["continuous", "discontinuous", "discontinuous", "continuous"]
    assert [c.K_c for c in serial] == [c.K_c for c in threaded]


def test_bad_input():
    with pytest.raises(ValueError, match="no positive coefficient"):
        critical_coupling(Fourier({1: -1.0}))
    with pytest.raises(ValueError, match="Fourier"):
        critical_coupling({1: 1.0})
