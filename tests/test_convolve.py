"""FFT convolutions against direct quadrature (box) and direct sums (torus)."""

from __future__ import annotations

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.core.backend import to_numpy
from fieldflow.core.convolve import FourierMultiplier, LinearConvolution


@pytest.mark.parametrize("dim, n", [(1, 40), (2, (12, 10))])
def test_linear_convolution_equals_direct_quadrature(dim, n, backend):
    g = ff.Grid.box(n=n, extent=3.0, dim=dim, backend=backend)
    kernel = lambda z: np.exp(-np.sum(z**2, axis=-1)) * (1 + z[..., 0])  # noqa: E731  (not even: tests orientation)
    conv = LinearConvolution(g, lambda z: g.xp.asarray(kernel(to_numpy(z))))
    rng = np.random.default_rng(0)
    f = rng.random(g.shape)
    fast = to_numpy(conv(g.xp.asarray(f)))
    pts = to_numpy(g.points).reshape(-1, dim)
    direct = (kernel(pts[:, None, :] - pts[None, :, :]) @ f.ravel() * g.cell_volume).reshape(g.shape)
    assert np.max(np.abs(fast - direct)) < 1e-13 * np.max(np.abs(direct))


def test_fourier_multiplier_is_periodic_convolution_on_the_torus():
    g = ff.Grid.torus(n=32)
    theta = to_numpy(g.axes[0])
    f = np.exp(np.sin(theta))
    # kernel cos θ has coefficients 1/2 at k = ±1; ∫ cos(θ−φ) f(φ) dφ = π (f̂₁ e^{iθ} + c.c.)/(N/2π)…
    conv = FourierMultiplier(g, lambda k: np.where(np.abs(k[0]) == 1, np.pi, 0.0))
    direct = np.array([np.sum(np.cos(t - theta) * f) * g.spacing[0] for t in theta])
    assert np.max(np.abs(conv(f) - direct)) < 1e-12


def test_singular_kernel_values_are_refused():
    g = ff.Grid.box(n=8, extent=1.0, dim=2)
    with pytest.raises(ValueError, match="not finite"):
        with np.errstate(divide="ignore"):
            LinearConvolution(g, lambda z: 1 / np.sqrt(np.sum(z**2, axis=-1)))
