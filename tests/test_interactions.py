"""Fourier interactions: values, derivatives and the torus convolutions W*q, W'*q (see docs/conventions.rst, McKean–Vlasov)."""

import math

import numpy as np
import pytest

from fieldflow.core.grids import Grid
from fieldflow.mckean_vlasov.interactions import Fourier, kuramoto, kuramoto_daido


def test_constructors_and_attributes():
    W = kuramoto_daido(0.7)
    assert W.coefficients == {1: 1.0, 2: 0.7}
    assert W.max_mode == 2 and W.modes == (1, 2)
    assert kuramoto() == Fourier({1: 1.0}) == kuramoto_daido(0.0)
    theta = np.linspace(0, 2 * np.pi, 9)
    np.testing.assert_allclose(W.value(theta), np.cos(theta) + 0.7 * np.cos(2 * theta), atol=1e-15)
    np.testing.assert_allclose(W.derivative(theta), -np.sin(theta) - 1.4 * np.sin(2 * theta), atol=1e-15)


def test_derivative_is_the_derivative_of_value():
    W = Fourier({0: 0.3, 1: -0.4, 3: 1.1})
    theta = np.linspace(0, 2 * np.pi, 50)
    h = 1e-6
    fd = (W.value(theta + h) - W.value(theta - h)) / (2 * h)
    np.testing.assert_allclose(W.derivative(theta), fd, atol=1e-8)


def test_convolution_matches_direct_quadrature(backend):
    """(W*q)(θ_i) = ∫ W(θ_i − φ) q(φ) dφ; the trapezoidal rule is exact here (W has 3 modes, n = 64)."""
    grid = Grid.torus(64, backend=backend)
    xp = grid.xp
    theta = np.asarray(grid.axes[0].get() if backend == "cupy" else grid.axes[0])
    q = np.exp(np.sin(theta) + 0.5 * np.cos(2 * theta))
    q /= q.sum() * 2 * np.pi / 64
    W = Fourier({0: 0.2, 1: 1.0, 3: -0.6})
    direct = (W.value(theta[:, None] - theta[None, :]) * q[None, :]).sum(axis=1) * 2 * np.pi / 64
    direct_d = (W.derivative(theta[:, None] - theta[None, :]) * q[None, :]).sum(axis=1) * 2 * np.pi / 64
    conv = W.convolve(xp.asarray(q), grid)
    convd = W.convolve_derivative(xp.asarray(q), grid)
    to_np = (lambda a: a.get()) if backend == "cupy" else np.asarray
    np.testing.assert_allclose(to_np(conv), direct, atol=1e-14)
    np.testing.assert_allclose(to_np(convd), direct_d, atol=1e-14)


def test_convolution_of_cosine_follows_the_unnormalised_convention():
    """∫ cos(θ−φ) cos(φ) dφ = π cos θ: the convolution is not normalised by 2π."""
    grid = Grid.torus(32)
    theta = grid.axes[0]
    np.testing.assert_allclose(kuramoto().convolve(np.cos(theta), grid), math.pi * np.cos(theta), atol=1e-14)
    np.testing.assert_allclose(Fourier({0: 1.0, 1: 1.0}).convolve(np.ones(32) / (2 * math.pi), grid), np.ones(32),
                               atol=1e-14)


@pytest.mark.parametrize(
    "coefficients, match",
    [({}, "non-empty"), ({-1: 1.0}, "integers k >= 0"), ({1.5: 1.0}, "integers"), ({1: float("nan")}, "finite"),
     ({0: 1.0}, "no mode k >= 1"), ([1.0], "mapping")],
)
def test_bad_coefficients(coefficients, match):
    with pytest.raises(ValueError, match=match):
        Fourier(coefficients)


def test_bad_grids():
    W = Fourier({1: 1.0, 5: 0.1})
    with pytest.raises(ValueError, match="Grid.torus"):
        W.convolve(np.ones(16), Grid.box(16, 1.0))
    with pytest.raises(ValueError, match="cannot resolve mode 5"):
        W.convolve(np.ones(10), Grid.torus(10))
    with pytest.raises(ValueError, match="does not match"):
        W.convolve(np.ones(20), Grid.torus(16))
    with pytest.raises(ValueError, match="m must be a finite number"):
        kuramoto_daido(float("inf"))
