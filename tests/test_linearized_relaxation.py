"""Time-domain cross-check of the spectral gap: linearised and nonlinear McKean–Vlasov relaxation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fieldflow.core.evolve import evolve
from fieldflow.mckean_vlasov.interactions import kuramoto, kuramoto_daido
from fieldflow.mckean_vlasov.linearized_pde import LinearizedMcKeanVlasov
from fieldflow.mckean_vlasov import free_energy_minimizer, linearized_spectrum, relaxation_rate
from fieldflow.mckean_vlasov.relaxation import default_perturbation

CASES = [(kuramoto(), 2.0), (kuramoto_daido(1.2), 1.2)]


@pytest.fixture(scope="module")
def cases():
    out = []
    for W, K in CASES:
        st = free_energy_minimizer(W, K, n=128)
        out.append((W, K, st, linearized_spectrum(W, K, st, modes=32, count=4).spectral_gap))
    return out


@pytest.mark.parametrize("index", range(len(CASES)))
def test_linearized_relaxation_rate_matches_gap(index, cases):
    """Fitted decay of ‖L_q u(t)‖ = spectral gap to 1e-3 relative.

    Window [6, 12]: the next eigenvalue is ≥ 1.3 below the gap in both cases, so its relative
    weight in the fit is ≲ e^{−1.3·6} ≈ 4e-4 at the window's start (its effect on the fitted
    slope is smaller still), and ETDRK4 at dt = 0.05 has a rate error O(dt⁴) ≈ 1e-6.
    """
    W, K, st, gap = cases[index]
    fit = relaxation_rate(W, K, st, t_end=12.0, window=(6.0, 12.0))
    assert fit.r_squared > 0.9999
    assert fit.rate == pytest.approx(gap, rel=1e-3)


@pytest.mark.parametrize("index", range(len(CASES)))
def test_nonlinear_relaxation_rate_matches_gap(index, cases):
    """The full McKean–Vlasov flow from q + ε u0: dissipation ∝ e^{−2·gap·t}, to 1e-3 relative.

    ε = 3e-4: the nonlinear correction to the rate is O(ε) relative (≈ 1e-4 measured), and the
    dissipation at t = 12 (flux ~ ε e^{−gap t} ≳ 1e-10) stays far above its round-off floor (~1e-16
    in the flux, from the cancellation in ½q' − K q W'*q).
    """
    W, K, st, gap = cases[index]
    fit = relaxation_rate(W, K, st, nonlinear=True, amplitude=3e-4, t_end=12.0, window=(6.0, 12.0))
    assert fit.rate == pytest.approx(gap, rel=1e-3)


def test_linearized_pde_structure(cases):
    """∫u is conserved, the zero mode q' is a steady state, and the rhs equals L_N on resolved modes."""
    W, K, st, _ = cases[0]
    pde = LinearizedMcKeanVlasov(st.grid, W, K, st, fft="numpy")
    n = st.q.size
    k = np.fft.rfftfreq(n, 1.0 / n)
    k[-1] = 0
    dq = np.fft.irfft(1j * k * np.fft.rfft(st.q), n=n)
    assert np.max(np.abs(pde.rhs(dq))) <= 1e-10 * np.max(np.abs(dq))
    u0 = default_perturbation(st.q, st.grid)
    traj = evolve(pde, u0, 2.0, method="etdrk4", dt=0.05, adaptive=False, save_every=0.5, progress=False)
    assert max(abs(m) for m in traj["mass"]) <= 1e-13
    op = linearized_spectrum(W, K, st, modes=24, count=2).operator
    # Galerkin matrix against the pseudo-spectral rhs on a smooth mean-zero u (modes ≤ 24 of both)
    x = op.from_grid(u0)
    assert np.max(np.abs(op.matrix @ x - op.from_grid(pde.rhs(op.to_grid(x))))) <= 1e-9


def test_bad_input(cases):
    W, K, st, _ = cases[0]
    pde = LinearizedMcKeanVlasov(st.grid, W, K, st)
    with pytest.raises(ValueError, match="zero mass"):
        pde.validate(np.ones(st.q.size))
    with pytest.raises(ValueError, match="shape"):
        pde.validate(np.zeros(3))
    with pytest.raises(ValueError, match="amplitude"):
        relaxation_rate(W, K, st, nonlinear=True, amplitude=0.5)
    with pytest.raises(ValueError, match="stationary state"):
        relaxation_rate(W, K, st.q)
    with pytest.raises(ValueError, match="negative"):
        LinearizedMcKeanVlasov(st.grid, W, K, -st.q)
    assert math.isfinite(pde.stable_dt(np.zeros(st.q.size)))
