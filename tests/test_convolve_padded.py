"""PaddedFourierMultiplier: linear convolution through the symbol, against direct quadrature; no wrap-around; PSD."""

import numpy as np
import pytest
from scipy import integrate

import fieldflow as ff
from fieldflow.core.convolve import PaddedFourierMultiplier, padded_length
from fieldflow.core.metrics import loglog_slope


def _conv(grid, kernel, tol=1e-12, **kw):
    return PaddedFourierMultiplier(grid, kernel.symbol_on, tail_mass=lambda R: kernel.tail_mass(R, grid.dim), tol=tol, **kw)


def test_1d_second_order_against_quadrature_with_data_that_jumps_at_the_walls():
    """f = cos x + 1.5 on [-3, 3], zero outside: the box integral ∫_box k(x−y) f(y) dy by adaptive quadrature."""
    k, L = ff.svgd.Bessel(0.7), 3.0
    errors, ns = [], [64, 128, 256]
    for n in ns:
        g = ff.Grid.box(n, L, 1)
        x = np.asarray(g.axes[0])
        out = _conv(g, k)(np.cos(x) + 1.5)
        exact = [integrate.quad(lambda y: k.radial(np.array(abs(xi - y)), 1) * (np.cos(y) + 1.5), -L, L,
                                points=[xi], epsabs=1e-13, epsrel=1e-13)[0] for xi in x]
        errors.append(np.max(np.abs(out - exact)))
    order = -loglog_slope(ns, errors)
    assert order > 1.8, (errors, order)


def test_2d_singular_kernel_against_polar_quadrature():
    """K0 kernel (log-singular) on a smooth Gaussian: spectral accuracy, checked at a few points."""
    k = ff.svgd.Bessel(0.5)
    g = ff.Grid.box(64, 6.0, 2)
    f = lambda p: np.exp(-0.5 * np.sum((np.asarray(p) - [0.5, 0.0]) ** 2, axis=-1))
    out = _conv(g, k)(g.evaluate(f))
    for idx in [(32, 32), (20, 40), (45, 10)]:
        x = np.asarray(g.points[idx])
        val = integrate.dblquad(lambda th, r: r * k.radial(np.array(r), 2) * f(x + r * np.array([np.cos(th), np.sin(th)])),
                                0, 30 * k.scale, 0, 2 * np.pi, epsabs=1e-11, epsrel=1e-10)[0]
        assert out[idx] == pytest.approx(val, abs=2e-7)


def test_wrap_around_error_is_below_the_stated_bound():
    k = ff.svgd.Bessel(2.0)  # long tail compared with the box
    g = ff.Grid.box(40, 2.0, 1)
    f = np.random.default_rng(0).uniform(0.5, 1.5, g.shape)
    for tol in (1e-4, 1e-8):
        auto = _conv(g, k, tol=tol, max_padding=20)
        huge = PaddedFourierMultiplier(g, k.symbol_on, padded_shape=(40 * 40,))
        assert auto.wrap_error_bound <= tol
        assert np.max(np.abs(auto(f) - huge(f))) <= auto.wrap_error_bound * np.max(np.abs(f)) * (1 + 1e-6)


def test_padded_length_is_minimal_and_fast():
    tail = lambda R: np.exp(-R)
    P = padded_length(100, 0.1, tail, 1e-6)
    assert (P - 100 + 1) * 0.1 >= -np.log(1e-6)
    assert P == padded_length(100, 0.1, tail, 1e-6) and P < 100 + np.ceil(-np.log(1e-6) / 0.1) + 20


@pytest.mark.parametrize("dim,n", [(1, 50), (2, 9)])
@pytest.mark.parametrize("kernel", [ff.svgd.Bessel(0.8), ff.svgd.Gaussian(0.8)])
def test_discrete_operator_is_symmetric_positive_semidefinite(dim, n, kernel):
    """K_h is a principal submatrix of a circulant with eigenvalues k̂(ξ_m) ≥ 0."""
    g = ff.Grid.box(n, 3.0, dim)
    C = _conv(g, kernel, tol=1e-6)
    N = g.size
    A = np.array([C(e.reshape(g.shape)).ravel() for e in np.eye(N)])
    np.testing.assert_allclose(A, A.T, atol=1e-14 * np.abs(A).max())
    assert np.linalg.eigvalsh(0.5 * (A + A.T)).min() >= -1e-13 * np.abs(A).max()


def test_box_too_small_for_the_kernel():
    g = ff.Grid.box(32, 1.0, 1)
    with pytest.raises(ValueError, match="box too small for the kernel"):
        _conv(g, ff.svgd.Bessel(5.0), tol=1e-10)
    with pytest.raises(ValueError, match="padded_shape"):
        PaddedFourierMultiplier(g, ff.svgd.Bessel(1.0).symbol_on, padded_shape=(16,))
    with pytest.raises(ValueError, match="box grids"):
        PaddedFourierMultiplier(ff.Grid.torus(16, 1), ff.svgd.Bessel(1.0).symbol_on, padded_shape=(32,))
