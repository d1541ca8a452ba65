"""Continuation of every even stationary branch: references, folds, bifurcations, stability, K_c.

Tolerances, derived:

* Kuramoto.  A continuation point solves ``r = ⟨cos⟩`` to ``|f| < 1e-14`` on a quadrature exact to
  round-off (``n = 64`` resolves ``e^{2Kr cos θ}`` for ``K ≤ 3`` below ``1e-14``).  ``A(x) = I_1(x)/I_0(x)``
  has ``A' ≥ 1/(2(1+x)²)``, so ``K_ref(r) = A^{-1}(r)/(2r)`` moves by at most ``2(1+x)²·1e-14/(2r)``:
  below ``1e-12`` for ``r ≥ 0.01``, ``x ≤ 6``.  ``r_ref(K)`` is conditioned by ``1/|1 − 2K Var cos|``
  ``≈ 1/(2r²)`` near ``K = 1``: ``1e-14/(2·0.01²) = 5e-11`` at the first step, so ``1e-12`` is asked
  from ``r ≥ 0.1`` on.
* Folds and ``K_c`` are roots of smooth functions solved to round-off by Newton's method; the
  spectral fold is Brent's root of the ``L_q`` eigenvalue (converged to 1e-8 between resolutions)
  in ``x_1``, where ``K`` is quadratic: the issue's ``1e-8`` and ``1e-10`` leave a wide margin.
"""

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import iv, ive

from fieldflow.core.grids import Grid
from fieldflow.mckean_vlasov import (bifurcation_diagram, critical_coupling, non_even_states,
                                     spectral_fold)
from fieldflow.mckean_vlasov.interactions import Fourier, kuramoto, kuramoto_daido
from fieldflow.mckean_vlasov.self_consistency import SelfConsistency, even_up_to_rotation
from fieldflow.mckean_vlasov.stationary import _Moments, _state_from_moments, stationary_states


def A(x):
    return ive(1, x) / ive(0, x)


def test_kuramoto_branch_matches_bessel_self_consistency():
    d = bifurcation_diagram(kuramoto(), (0.5, 3.0), spectra=False)
    assert [p.K for p in d.bifurcations] == [1.0] and d.folds == []
    branch = next(b for b in d.branches if not b.uniform)
    assert branch.K[0] == 1.0 and branch.K[-1] == 3.0 and np.all(np.diff(branch.K) > 0)
    r = branch.moments[1:, 0]
    K = branch.K[1:]
    assert r.min() >= 0.01
    K_ref = np.array([brentq(lambda x: A(x) - ri, 1e-300, 1e4, xtol=1e-300, rtol=1e-15) / (2 * ri) for ri in r])
    assert np.max(np.abs(K - K_ref)) < 1e-12
    far = r >= 0.1
    r_ref = np.array([brentq(lambda s: s - A(2 * Ki * s), 1e-12, 1, xtol=1e-16, rtol=1e-15) for Ki in K[far]])
    assert np.max(np.abs(r[far] - r_ref)) < 1e-12


def test_kuramoto_stability_from_the_spectrum():
    d = bifurcation_diagram(kuramoto(), (0.5, 2.0))
    uniform, ordered = d.branches
    assert uniform.uniform
    assert np.all(uniform.unstable[uniform.K < 1] == 0) and np.all(uniform.unstable[uniform.K > 1] == 2)
    # the ordered branch is stable: every eigenvalue but the zero mode negative, the top one -gap
    assert np.all(ordered.unstable[1:] == 0)
    gap_at_2 = -ordered.eigenvalues[ordered.K == 2.0, 0][0]
    assert gap_at_2 == pytest.approx(1.14824842, abs=1e-8)  # docs/equations/linearized_mckean_vlasov.rst
    assert d.K_c == 1.0 and d.kind == "continuous"


@pytest.mark.parametrize("m", [0.6, 1.2])
def test_fold_equals_the_zero_crossing_of_the_spectrum(m):
    W = kuramoto_daido(m)
    d = bifurcation_diagram(W, (0.5, 1.4), spectra=False)
    assert len(d.folds) == 1
    fold = d.folds[0]
    K_spectral, x = spectral_fold(W, fold)
    assert abs(K_spectral - fold.K) < 1e-8
    assert np.max(np.abs(x - fold.moments)) < 1e-6
    # the fold is the least K of the ordered states: none below it
    assert all(b.K.min() >= fold.K - 1e-13 for b in d.branches if not b.uniform)


@pytest.mark.parametrize("m", [-1.0, 0.25, 0.8, 1.0, 1.2, 2.0])
def test_critical_coupling_from_the_free_energy_tie(m):
    W = kuramoto_daido(m)
    ref = critical_coupling(W)
    d = bifurcation_diagram(W, (0.6 * ref.K_sharp, 1.3 * max(1.0, ref.K_sharp)), spectra=False)
    assert abs(d.K_c - ref.K_c) < 1e-10
    assert d.kind == ref.kind


def test_secondary_pitchfork_off_the_pi_periodic_branch():
    """On the π-periodic branch q ∝ e^{a cos 2θ} the cos θ direction has f_x = 1 − 2K Var(cos θ) and
    Var(cos θ) = (1 + r_2)/2, so the mixed branch leaves where r_2 = 1/K − 1, with
    |r_2| = A(2Km|r_2|): a scalar equation solved here by Brent's method."""
    for m, K_range in ((2.0, (0.3, 1.4)), (0.8, (0.6, 1.6))):
        d = bifurcation_diagram(kuramoto_daido(m), K_range, spectra=False)
        secondary = [p for p in d.bifurcations if p.mode is None]
        assert len(secondary) == 1
        p = secondary[0]

        def g(K):
            s = abs(1 / K - 1)
            return s - A(2 * K * m * s)

        lo, hi = (0.55, 0.9) if m == 2.0 else (1.1, 1.5)
        K_ref = brentq(g, lo, hi, xtol=1e-15, rtol=1e-15)
        assert abs(p.K - K_ref) < 1e-10
        assert abs(p.moments[1] - (1 / K_ref - 1)) < 1e-9 and abs(p.moments[0]) < 1e-6


def test_unstable_count_equals_the_free_energy_hessian_index():
    """L_q = −AH with A > 0: positive eigenvalues of L_q ↔ negative directions of the Hessian of F
    (computed independently on the reduced moments by fieldflow.mckean_vlasov.stationary)."""
    W = kuramoto_daido(0.8)
    d = bifurcation_diagram(W, (0.6, 1.6))
    n = d.n
    grid = Grid.torus(n)
    mom = _Moments(W, n)
    checked = 0
    for b in d.branches[1:]:
        for i in range(1, len(b), 2):
            lam = b.eigenvalues[i]
            if np.nanmin(np.abs(lam)) < 1e-6:
                continue  # next to a fold or branch point
            st = _state_from_moments(W, float(b.K[i]), b.moments[i], grid, mom, 0.0)
            h = np.sort(st.hessian_eigenvalues)
            h = np.delete(h, np.argmin(np.abs(h)))  # the rotation
            assert int(np.sum(h < 0)) == b.unstable[i], (b.K[i], h, lam)
            checked += 1
    assert checked > 50


def test_general_even_interaction():
    """W = e^{κ cos θ} (a callable) has c_k = 2 I_k(κ): the uniform state bifurcates at 1/c_1."""
    kappa = 1.0
    d = bifurcation_diagram(lambda t: np.exp(kappa * np.cos(t)), (0.5, 1.5))
    assert d.W.coefficient(1) == pytest.approx(2 * iv(1, kappa), rel=1e-14)
    assert d.bifurcations[0].K == pytest.approx(1 / (2 * iv(1, kappa)), rel=1e-14)
    ref = critical_coupling(d.W)
    assert d.kind == ref.kind == "continuous" and d.K_c == pytest.approx(ref.K_c, abs=1e-12)
    assert np.all(d.branches[1].unstable[1:] == 0)


def test_plot_styles():
    d = bifurcation_diagram(kuramoto_daido(0.8), (0.8, 1.1))
    ax = d.plot()
    styles = {line.get_label(): line.get_linestyle() for line in ax.get_lines()}
    assert styles["stable"] == "-"
    assert any(label.startswith("unstable") and style == "--" for label, style in styles.items())
    assert styles["fold"] == "None" and styles["bifurcation point"] == "None"
    assert ax.get_xlabel() == "coupling $K$"
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_non_even_search_finds_the_even_states_and_nothing_else():
    """Positive control: the full (x, y) system's Newton limits with z_1 ≠ 0 (where the phase fix y_1 = 0
    applies) are exactly the even states of stationary_states with r_1 ≠ 0, up to θ → θ + π; the search
    reports no non-even state for Kuramoto–Daido."""
    W, K = kuramoto_daido(0.8), 1.3
    system = SelfConsistency(W, 256, full=True)
    x, res, _ = system.newton(np.random.default_rng(0).uniform(-0.9, 0.9, (300, 3)), K)
    found = [xi for xi, e in zip(x, res) if e < 1e-12 and abs(xi[0]) > 1e-6]
    limits = {(round(abs(xi[0]), 8), round(xi[1], 8)) for xi in found}
    even = {(round(s.moments[0], 8), round(s.moments[1], 8)) for s in stationary_states(W, K, n=256)
            if abs(s.moments[0]) > 1e-6}
    assert limits == even and len(even) == 2  # the stable mixed state and the secondary branch (r_2 < 0)
    assert all(abs(xi[2]) < 1e-10 for xi in found)
    assert non_even_states(W, K) == []
    # even_up_to_rotation: a state with z_2 real and z_3 imaginary is even about π/2
    assert even_up_to_rotation(np.array([0.3, 0.2j]), (2, 3))
    assert not even_up_to_rotation(np.array([0.3, 0.2 + 0.1j]), (2, 3))


def test_bad_input():
    with pytest.raises(ValueError, match="K_range"):
        bifurcation_diagram(kuramoto(), (1.5, 0.5))
    with pytest.raises(ValueError, match="K_range"):
        bifurcation_diagram(kuramoto(), 1.0)
    with pytest.raises(ValueError, match="even function"):
        bifurcation_diagram("cos", (0.5, 1.5))
    with pytest.raises(ValueError, match="h_max"):
        bifurcation_diagram(kuramoto(), (0.5, 1.5), h_max=0)
    with pytest.raises(ValueError, match="not even"):
        bifurcation_diagram(np.sin, (0.5, 1.5))
    with pytest.raises(ValueError, match="nodes"):
        SelfConsistency(Fourier({1: 1.0, 40: 0.1}), 64)
    with pytest.raises(ValueError, match="coupling K"):
        non_even_states(kuramoto_daido(0.8), -1.0)


def test_fourier_from_function():
    W = Fourier.from_function(lambda t: np.cos(t) + 0.8 * np.cos(2 * t) + 0.25)
    assert W.coefficients == pytest.approx({0: 0.25, 1: 1.0, 2: 0.8}, abs=1e-15)
    assert set(W.coefficients) == {0, 1, 2}
    with pytest.raises(ValueError, match="decayed"):
        Fourier.from_function(lambda t: np.abs(np.sin(t / 2)), n=64)  # a kink at 0: algebraic decay
    with pytest.raises(ValueError, match="callable"):
        Fourier.from_function([1.0, 2.0])
    with pytest.raises(ValueError, match="even integer"):
        Fourier.from_function(np.cos, n=15)
    assert math.isfinite(Fourier.from_function(lambda t: np.exp(np.cos(t)), n=64).coefficient(10))
