"""Blob and score-based particle methods for the Landau equation against BKW; conservation; bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.landau import BKW
from fieldflow.studies.landau_bkw import blob_m4_error
from fieldflow.landau import BlobLandau, ScoreLandau, fit_score, landau_velocity


def test_pair_velocity_conserves_momentum_and_energy_for_any_F():
    rng = np.random.default_rng(0)
    for d in (2, 3):
        for gamma in (0.0, -3.0):
            v, F, w = rng.standard_normal((60, d)), rng.standard_normal((60, d)), rng.random(60)
            u, _ = landau_velocity(v, w, F, gamma, 0.1, block=7)
            assert np.max(np.abs(w @ u)) < 1e-13
            assert abs(np.sum(w * np.sum(v * u, 1))) < 1e-13


def test_blob_conserves_to_roundoff_and_entropy_decreases():
    err, run = blob_m4_error(14, t1=0.7, extent=6.0)
    assert np.max(np.abs(run["mass"] - 1)) < 1e-14
    assert max(np.max(np.abs(run[f"momentum_{a}"])) for a in range(2)) < 1e-14
    assert np.max(np.abs(run["energy"] - run["energy"][0])) < 1e-13
    assert run["entropy"][-1] < run["entropy"][0]


def test_blob_midpoint_conserves_energy_without_correction():
    grid = ff.Grid.box(14, 7.0, dim=2)
    blob = BlobLandau(grid, 0.0, method="midpoint")
    f0 = BKW(2).density(grid.points, 0.5)
    run = ff.evolve(blob, f0, 0.2, dt=0.02, save_times=[0.1])
    assert np.max(np.abs(run["energy"] - run["energy"][0])) < 1e-13
    assert np.all(np.diff(run["entropy"]) < 0)


def test_blob_error_decreases_with_N_at_the_claimed_rate():
    """The claim: error O(ε²) = O(h²) = O(N^{-1}) in 2D for ε = h.  Fourth-moment change over [0.5, 0.55].

    Tested out of sample: the pre-asymptotic form of an O(ε²) error, ``E = aε²/(1 + bε²)``, is fitted to the two
    coarse meshes (n = 24, 32) and must predict the error of the fine one (n = 48), which the fit never saw, to 5 %.
    The same form with another order p (``aε^p/(1 + bε^p)``) mispredicts it by 20 % (p = 1), 11 % (p = 1.5), 8 %
    (p = 2.5) and 17 % (p = 3).  Tolerance: the one-step prediction error of the ε² form measured on a coarser
    triple (n = 20, 24 → 32) is 1.5 %; 5 % allows three times that.  Measured here: +1.6 %.
    """
    ns = (24, 32, 48)
    errors = [blob_m4_error(n)[0] for n in ns]
    x = (9.0 / np.array(ns)) ** 2
    assert errors[0] > errors[1] > errors[2]
    # 1/E = 1/(a x) + b/a is linear in 1/x: the two coarse meshes fix a and b
    slope, intercept = np.polyfit(1 / x[:2], 1 / np.array(errors[:2]), 1)
    a, b = 1 / slope, intercept / slope
    predicted = a * x[2] / (1 + b * x[2])
    assert abs(predicted / errors[2] - 1) <= 0.05, (errors, predicted)


def test_score_model_recovers_bkw_score():
    """Relative Fisher information E_f|s_θ − ∇log f|² / E_f|∇log f|² of the closed-form fit, on held-out samples."""
    exact = BKW(2)
    for t, bound in ((0.5, 0.12), (2.0, 0.06)):
        v = exact.sample(2000, t, seed=1)
        model = fit_score(v, np.full(2000, 1 / 2000), n_centres=32, ridge=1e-2)
        test = exact.sample(20000, t, seed=9)
        s = exact.score(test, t)
        rel = np.mean(np.sum((model(test) - s) ** 2, 1)) / np.mean(np.sum(s * s, 1))
        assert rel < bound, (t, rel)


def test_score_model_is_exact_for_a_maxwellian():
    """No model bias for a Maxwellian: what is left is estimation variance, relative size ≈ p/N for p parameters.

    (For a well-specified linear model, score matching's excess risk is ≈ p/N times the score's scale.)
    Bound: 3 p/N with p = 3 + 6 + 16 = 25, N = 4000.
    """
    v = np.random.default_rng(0).standard_normal((4000, 3)) * np.array([1.3, 0.8, 1.0])
    model = fit_score(v, np.full(4000, 1 / 4000), n_centres=16)
    cov = np.cov(v.T, bias=True)
    exact = -(v - v.mean(0)) @ np.linalg.inv(cov)
    rel = np.mean(np.sum((model(v) - exact) ** 2, 1)) / np.mean(np.sum(exact**2, 1))
    assert rel < 3 * 25 / 4000


def _relative_score_error(model, test, score):
    """``E_f|s_θ − ∇log f|² / E_f|∇log f|²`` on held-out samples ``test`` with exact scores ``score``."""
    return np.mean(np.sum((model(test) - score) ** 2, 1)) / np.mean(np.sum(score * score, 1))


def _dissipation(v, w, s, C=BKW(2).C):
    """``D(s) = ½ΣΣ w_i w_j (s_i − s_j)·A_ij(s_i − s_j) = −Σ_i w_i s_i·u_i`` (Maxwell molecules)."""
    u, _ = landau_velocity(v, w, s, 0.0, C)
    return -np.sum(w[:, None] * s * u)


def test_cross_validated_score_is_reproducible_and_no_worse_than_the_fixed_fit():
    """CV selection: same seed → same (M, λ, θ); held-out score error ≤ that of the old fixed fit (64, 1e-3).

    Measured (BKW 2D, N = 1000, t = 2, seeds 0–7): CV relative error mean 0.038 (0.011–0.156; the worst seed
    picks the low-ridge candidate (64, 3e-4), whose noisy CV loss won by chance), fixed fit mean 0.074
    (0.038–0.109).  The claim is about the mean over the seeds, so the comparison is of means.
    """
    exact = BKW(2)
    t, n = 2.0, 1000
    w = np.full(n, 1 / n)
    test = exact.sample(20000, t, seed=99)
    score = exact.score(test, t)
    errors_cv, errors_fixed = [], []
    for seed in range(8):
        v = exact.sample(n, t, seed=seed)
        model = fit_score(v, w)
        again = fit_score(v.copy(), w)
        assert (again.n_centres, again.ridge, again.cv_loss) == (model.n_centres, model.ridge, model.cv_loss)
        np.testing.assert_array_equal(again.theta, model.theta)
        assert model.n_centres in (16, 32, 64, 128) and model.cv_loss < 0
        errors_cv.append(_relative_score_error(model, test, score))
        errors_fixed.append(_relative_score_error(fit_score(v, w, n_centres=64, ridge=1e-3), test, score))
    assert np.mean(errors_cv) <= np.mean(errors_fixed), (errors_cv, errors_fixed)


def test_cross_validated_score_removes_the_dissipation_bias():
    """Entropy dissipation ``D(s_cv)`` over 8 independent samples (BKW 2D, N = 1000, t = 2) against −dH/dt.

    The tolerance is fixed, not the spread of the estimates under test: the CV fit's ratios ``D(s_cv)/rate`` have a
    seed-to-seed standard deviation σ = 0.50, measured once on 16 other samples (seeds 100–115: mean 0.94, median
    0.79), so zero bias is tested as ``|mean − 1| ≤ 3σ/√8 + b`` with the quadrature bias ``b = |mean D(∇log f)/rate −
    1|`` of the exact score on the same samples (≈ 0.006).  Measured: CV ratios 1.70, 0.67, 0.59, 0.88, 0.87, 1.36,
    3.36, 0.81 (mean 1.28: |0.28| ≤ 0.54).  The former fixed fit ``(M, λ) = (64, 1e-3)`` has mean 2.37 and a score
    scaled by 1.4 has mean 2.5; both fail (the tolerance would have grown with their own spread before).
    """
    exact = BKW(2)
    t, n, e = 2.0, 1000, 1e-4
    rate = -(exact.entropy(t + e) - exact.entropy(t - e)) / (2 * e)
    w = np.full(n, 1 / n)
    cv, quadrature = [], []
    for seed in range(8):
        v = exact.sample(n, t, seed=seed)
        cv.append(_dissipation(v, w, fit_score(v, w)(v)) / rate)
        quadrature.append(_dissipation(v, w, exact.score(v, t)) / rate)
    cv = np.array(cv)
    bias = abs(np.mean(quadrature) - 1)
    sigma = 0.50  # measured on seeds 100–115, see the docstring
    assert abs(cv.mean() - 1) <= 3 * sigma / math.sqrt(cv.size) + bias, (cv, bias)


def test_fit_score_bad_input():
    v = BKW(2).sample(50, 1.0)
    w = np.full(50, 1 / 50)
    for ridge in (-1.0, np.nan, [1e-3, -1e-3]):
        with pytest.raises(ValueError, match="ridge must be non-negative"):
            fit_score(v, w, ridge=ridge)
    with pytest.raises(ValueError, match="'cv'"):
        fit_score(v, w, ridge="auto")
    with pytest.raises(ValueError, match="ridge is an empty"):
        fit_score(v, w, ridge=[])
    with pytest.raises(ValueError, match="n_centres is an empty"):
        fit_score(v, w, n_centres=())
    with pytest.raises(ValueError, match="n_centres must be"):
        fit_score(v, w, n_centres=[16, -4])
    with pytest.raises(ValueError, match="folds must be"):
        fit_score(v, w, folds=1)
    with pytest.raises(ValueError, match="at least 5 particles"):
        fit_score(v[:4], w[:4])
    fit_score(v[:4], w[:4], n_centres=2, ridge=1e-3)  # a single candidate needs no folds
    with pytest.raises(ValueError, match="ridge must be non-negative"):
        ScoreLandau(2, ridge=-1.0)


def test_score_method_entropy_decay_against_bkw():
    """Entropy dissipation −dH/dt of the score method vs the exact BKW rate; conservation to round-off.

    Two references independent of the fit: the exact rate −dH/dt of BKW, and the dissipation of the *exact* score on
    the same particles, ``D(∇log f)``, which checks that the particles carry the right law (quadrature noise only:
    measured 1.007 ± 0.045 and 1.000 ± 0.036 at t = 0.5, 0.8 over 16 samples; asserted within 4σ = 0.18).  The fit
    itself (M = 32, λ = 1e-2, N = 1200) shrinks the score: ``D(s_θ)/rate`` measured once over 16 other samples is
    0.82 ± 0.13 at t = 0.5 and 0.92 ± 0.17 at t = 0.8, so the band is fixed at mean ± 3σ, [0.42, 1.43], whatever
    the fit in this run — a velocity from a score scaled by 1.4 (ratio × 1.96 ≈ 1.7) fails it, where the former
    tolerance, built from the run's own fit error, passed it.
    """
    exact = BKW(2)
    t0, t1, n = 0.5, 0.8, 1200
    v0 = exact.sample(n, t0, seed=2)
    method = ScoreLandau(2, 0.0, n_centres=32, ridge=1e-2)
    v0 = ff.Particles(v0, extras={"log_f": np.log(exact.density(v0, t0))})
    run = ff.evolve(method, v0, t1 - t0, dt=0.05, save_times=[0.15])
    e = 1e-4
    for t, state, dis in zip(t0 + run.times, run.states, run["dissipation"]):
        rate = -(exact.entropy(t + e) - exact.entropy(t - e)) / (2 * e)
        assert abs(_dissipation(state, run.weights, exact.score(state, t)) / rate - 1) <= 0.18, t
        assert 0.42 <= dis / rate <= 1.43, (t, dis / rate)
    # entropy transported along trajectories: within 5 Monte Carlo standard errors of the exact H(t)
    se = np.std(v0.extras["log_f"]) / math.sqrt(n)
    for t, H in zip(t0 + run.times, run["entropy"]):
        assert abs(H - exact.entropy(t)) < 5 * se + 0.02, (t, H, exact.entropy(t))
    assert max(np.max(np.abs(run[f"momentum_{a}"] - run[f"momentum_{a}"][0])) for a in range(2)) < 1e-14
    assert np.max(np.abs(run["energy"] - run["energy"][0])) < 1e-13


def test_particle_bad_input():
    grid = ff.Grid.box(14, 7.0, dim=2)
    blob = BlobLandau(grid)
    good = BKW(2).density(grid.points, 0.5)
    with pytest.raises(ValueError, match="negative"):
        ff.evolve(blob, good - 1.0, 0.1, dt=0.01)
    with pytest.raises(ValueError, match="unstable"):
        ff.evolve(blob, good, 10.0, dt=5.0)
    method = ScoreLandau(2)
    v = BKW(2).sample(50, 0.5)
    with pytest.raises(ValueError, match="NaN"):
        ff.evolve(method, ff.Particles(np.where(np.arange(50)[:, None] == 3, np.nan, v), extras={"log_f": np.zeros(50)}),
                  0.1, dt=0.01)
    with pytest.raises(ValueError, match="shape"):
        ff.evolve(method, ff.Particles(v[:, :1], extras={"log_f": np.zeros(50)}), 0.1, dt=0.01)
    with pytest.raises(ValueError, match="log_f"):
        ff.evolve(method, v, 0.1, dt=0.01)
    with pytest.raises(ValueError, match="method"):
        BlobLandau(grid, method="rk4")

