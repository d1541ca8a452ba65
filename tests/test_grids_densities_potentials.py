"""Grids, densities and potentials: geometry, quadrature, validation, gradients (property tests included)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import fieldflow as ff
from fieldflow.core.backend import to_numpy
from fieldflow.potentials import Banana, DoubleWell, GaussianMixture, Quadratic


def test_box_geometry():
    g = ff.Grid.box(n=(4, 8), extent=(2.0, 1.0))
    assert g.dim == 2 and g.shape == (4, 8) and g.spacing == (1.0, 0.25)
    assert np.allclose(to_numpy(g.axes[0]), [-1.5, -0.5, 0.5, 1.5])
    assert g.points.shape == (4, 8, 2)
    assert math.isclose(g.integrate(g.xp.ones(g.shape)), 8.0)


def test_torus_geometry_and_wavenumbers():
    g = ff.Grid.torus(n=8)
    assert np.allclose(to_numpy(g.axes[0]), 2 * np.pi * np.arange(8) / 8)
    (k,) = g.wavenumbers()
    assert np.allclose(to_numpy(k).ravel(), np.fft.fftfreq(8, 1 / 8))
    # spectral accuracy of the trapezoidal rule for a smooth periodic function
    assert abs(g.integrate(np.exp(np.cos(to_numpy(g.axes[0])))) - 2 * np.pi * 1.2660658777520082) < 1e-5


@pytest.mark.parametrize("kwargs, message", [
    (dict(n=1, extent=1.0), "at least 2"),
    (dict(n=8, extent=-1.0), "extent"),
    (dict(n=(8, 8), extent=(1.0, 1.0, 1.0)), "entries"),
    (dict(n=8, extent=1.0, dim=4), "dim"),
])
def test_bad_grids_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ff.Grid.box(**kwargs)


def test_gaussian_density_is_normalised_with_the_right_moments(backend):
    g = ff.Grid.box(n=(64, 64), extent=6.0, backend=backend)
    cov = [[0.8, 0.3], [0.3, 0.5]]
    rho = ff.densities.gaussian(g, mean=(0.5, -0.25), cov=cov)
    mom = ff.metrics.moments(g, rho)
    assert abs(mom["mass"] - 1) < 1e-14
    assert np.allclose(mom["mean"], [0.5, -0.25], atol=1e-10)
    assert np.allclose(mom["cov"], cov, atol=3e-3)  # midpoint rule on cells of width h: O(h²) = O(0.035)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, 16, elements=st.one_of(st.floats(-1e3, 1e3), st.sampled_from([np.nan, np.inf, 0.0]))))
def test_validate_density_accepts_exactly_the_admissible_arrays(values):
    g = ff.Grid.box(n=16, extent=1.0)
    admissible = np.all(np.isfinite(values)) and np.all(values >= 0) and values.sum() > 0
    if admissible:
        rho = ff.densities.normalize(g, values)
        assert abs(g.integrate(rho) - 1) < 1e-12 and rho.min() >= 0
    else:
        with pytest.raises(ValueError):
            ff.densities.normalize(g, values)


def test_complex_density_is_refused():
    g = ff.Grid.box(n=8, extent=1.0)
    with pytest.raises(ValueError, match="real"):
        ff.densities.normalize(g, np.ones(8, dtype=complex))


POTENTIALS = [
    Quadratic([[1.0, 0.3], [0.3, 0.5]], mean=(0.2, -0.1)),
    GaussianMixture(means=[(-2, 0), (2, 0.5)], cov=0.5, weights=[0.3, 0.7]),
    Banana(a=1.2, b=0.8),
    DoubleWell(barrier=2.0, separation=1.5, dim=2),
]


@pytest.mark.parametrize("V", POTENTIALS, ids=lambda v: type(v).__name__)
def test_gradients_match_finite_differences_on_particles_and_grids(V):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 2)) * 2
    eps = 1e-6
    fd = np.stack([(V.value(x + eps * e) - V.value(x - eps * e)) / (2 * eps) for e in np.eye(2)], axis=-1)
    assert np.allclose(V.gradient(x), fd, rtol=1e-6, atol=1e-6)
    g = ff.Grid.box(n=(6, 5), extent=3.0)
    assert V.value(g.points).shape == (6, 5) and V.gradient(g.points).shape == (6, 5, 2)


def test_mixture_is_finite_far_away_and_banana_violates_every_quadratic_lower_bound():
    V = GaussianMixture(means=[(-2, 0), (2, 0)], cov=0.5)
    assert np.all(np.isfinite(V.value(np.array([[1e3, 1e3]]))))
    B = Banana()
    x1 = np.array([10.0, 100.0, 1000.0])
    ridge = np.stack([x1, x1**2], axis=-1)
    ratio = B.value(ridge) / np.sum(ridge**2, axis=-1)  # V/|x|² → 0 along x₂ = x₁²
    assert np.all(np.diff(ratio) < 0) and ratio[-1] < 1e-6


def test_potential_errors():
    with pytest.raises(ValueError, match="positive definite"):
        Quadratic([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="2D"):
        Banana().value(np.zeros((3, 3)))


def test_loglog_slope_recovers_a_power_law_and_rejects_bad_input():
    from fieldflow.core.metrics import loglog_slope

    h = np.array([0.4, 0.2, 0.1, 0.05])
    assert loglog_slope(h, 3.0 * h**2.5) == pytest.approx(2.5, abs=1e-12)
    with pytest.raises(ValueError, match="positive"):
        loglog_slope(h, h - 0.1)
    with pytest.raises(ValueError, match="equally long"):
        loglog_slope(h, h[:3])
