"""Gap of the free-energy minimiser along K (continuation) and the Kuramoto–Daido gap map."""

from __future__ import annotations

import numpy as np
import pytest

from fieldflow.mckean_vlasov.interactions import kuramoto_daido
from fieldflow.mckean_vlasov import critical_coupling, linearized_spectrum
from fieldflow.mckean_vlasov.gap_map import kuramoto_daido_gap_map, minimizer_gaps


@pytest.mark.parametrize("m", [0.3, 1.2, 2.0])
def test_minimizer_gaps_match_direct_minimiser(m):
    """Continuation in K gives the gap of the global minimiser (checked against the global search).

    m = 2 crosses a pitchfork (two-cluster → mixed state) inside the range, where the fallback to
    the global search is needed; below K_c the closed form at the uniform state is used.
    """
    W = kuramoto_daido(m)
    Ks = np.linspace(0.3, 2.5, 23)
    out = minimizer_gaps(W, Ks, modes=40)
    K_c = critical_coupling(W).K_c
    assert float(out["K_c"]) == pytest.approx(K_c)
    for j in range(0, Ks.size, 3):
        direct = linearized_spectrum(W, Ks[j], modes=48, count=3).spectral_gap
        assert out["gap"][j] == pytest.approx(direct, abs=1e-9, rel=1e-8)
    above = Ks > K_c
    assert np.all(out["gap"][above] > 0)  # a minimiser is linearly stable
    below = ~above
    expected = np.minimum((1 - Ks[below]) / 2, 2 * (1 - m * Ks[below]))
    assert np.max(np.abs(out["gap"][below] - np.minimum(expected, 4.5))) <= 1e-14
    assert np.all(out["moments"][below] == 0)


def test_gap_map_serial_equals_columns():
    ms, Ks = np.array([0.0, 0.8]), np.linspace(0.5, 2.0, 7)
    gmap = kuramoto_daido_gap_map(ms, Ks, executor="serial", modes=32)
    assert gmap.gap.shape == (2, 7) and not np.isnan(gmap.gap).any()
    for i, m in enumerate(ms):
        col = minimizer_gaps(kuramoto_daido(m), Ks, modes=32)
        assert np.array_equal(gmap.gap[i], col["gap"])
        assert np.array_equal(gmap.r1[i], col["moments"][:, 0])
    assert np.all(gmap.r2[0] == 0)  # m = 0 has no second mode
    assert gmap.K_c == pytest.approx([1.0, critical_coupling(kuramoto_daido(0.8)).K_c])


def test_bad_input():
    with pytest.raises(ValueError, match="Ks"):
        minimizer_gaps(kuramoto_daido(0.5), [])
    with pytest.raises(ValueError, match="Ks"):
        minimizer_gaps(kuramoto_daido(0.5), [1.0, -2.0])
    with pytest.raises(ValueError, match="ms"):
        kuramoto_daido_gap_map([-1.0], [1.0], executor="serial")
