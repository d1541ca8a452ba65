"""Kernels: Fourier/real-space consistency, tail masses, gradients, the SLSI two-sided bound."""

import math

import numpy as np
import pytest
from scipy import integrate, special

from fieldflow.svgd import kernels


def _fourier_radial(kernel, xi, dim):
    """k̂(ξ) from the real-space form by radial quadrature (1D cosine, 2D Hankel, 3D sine transform)."""
    if dim == 1:
        f = lambda r: 2 * kernel.radial(np.array(r), 1) * np.cos(xi * r)
    elif dim == 2:
        f = lambda r: 2 * np.pi * r * kernel.radial(np.array(r), 2) * special.j0(xi * r)
    else:
        f = lambda r: 4 * np.pi * r * kernel.radial(np.array(r), 3) * np.sin(xi * r) / xi
    L = 60 * kernel.scale
    return integrate.quad(f, 0, L, limit=400, epsabs=1e-12, epsrel=1e-10)[0]


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("kernel", [kernels.Bessel(0.7), kernels.Gaussian(0.6)])
def test_real_space_form_is_the_inverse_of_the_symbol(kernel, dim):
    for xi in (0.3, 1.0, 2.5):
        assert _fourier_radial(kernel, xi, dim) == pytest.approx(float(kernel.symbol(xi**2)), rel=2e-6, abs=1e-9)


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("kernel", [kernels.Bessel(0.8), kernels.Gaussian(1.3)])
def test_tail_mass_matches_quadrature(kernel, dim):
    surface = {1: 2.0, 2: 2 * np.pi, 3: 4 * np.pi}[dim]
    for R in (0.5, 2.0, 5.0):
        mass = integrate.quad(lambda r: surface * r ** (dim - 1) * kernel.radial(np.array(r), dim), R, np.inf)[0]
        assert kernel.tail_mass(R, dim) == pytest.approx(mass, rel=1e-7)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_gradient_is_the_derivative_of_the_value(dim):
    kernel = kernels.Bessel(0.9)
    z = np.random.default_rng(1).normal(size=(20, dim))
    eps = 1e-6
    fd = np.stack([(kernel.value(z + eps * e) - kernel.value(z - eps * e)) / (2 * eps) for e in np.eye(dim)], -1)
    np.testing.assert_allclose(kernel.gradient(z), fd, rtol=1e-6, atol=1e-9)
    assert np.all(kernel.gradient(np.zeros((1, dim))) == 0)


def test_singularity_at_origin():
    k = kernels.Bessel(1.0)
    assert not k.singular(1) and k.singular(2) and k.singular(3)
    assert np.isinf(k.radial(np.zeros(1), 2)).all() and np.isfinite(k.radial(np.zeros(1), 1)).all()


@pytest.mark.parametrize("scale", [0.3, 1.0, 2.5])
def test_bessel_slsi_constants_are_exact_and_match_the_numerical_check(scale):
    k = kernels.Bessel(scale)
    exact = kernels.check_slsi_bounds(k)
    assert exact.admissible and exact.C0 == pytest.approx(max(1, scale**2)) and exact.C1 == pytest.approx(max(1, scale**-2))
    numeric = kernels.Kernel.slsi_bounds(k)  # the generic estimate, bypassing the exact override
    assert numeric.admissible
    assert numeric.C0 == pytest.approx(exact.C0, rel=1e-6) and numeric.C1 == pytest.approx(exact.C1, rel=1e-6)
    # the bound itself on random frequencies
    s = np.abs(np.random.default_rng(0).standard_cauchy(1000)) * 10
    ratio = k.symbol(s * s) * (1 + s * s)
    assert np.all(ratio >= 1 / exact.C0 - 1e-12) and np.all(ratio <= exact.C1 + 1e-12)


class _Steep(kernels.Kernel):
    """k̂ = (1+|ξ|²)^{-1.1}: decays a little too fast for the theorem."""

    def symbol(self, xi2):
        return (1 + xi2) ** -1.1


def test_kernels_outside_the_theorem_are_rejected():
    for k in (kernels.Gaussian(1.0), _Steep(1.0)):
        bounds = k.slsi_bounds()
        assert not bounds.admissible and math.isinf(bounds.C0)
        with pytest.raises(ValueError, match="two-sided bound"):
            kernels.check_slsi_bounds(k)


def test_bad_kernel_input():
    with pytest.raises(ValueError, match="positive finite"):
        kernels.Bessel(0.0)
    with pytest.raises(ValueError, match="dim"):
        kernels.Bessel(1.0, dim=4)
    with pytest.raises(ValueError, match="kernel/grid mismatch"):
        kernels.Bessel(1.0, dim=2).value(np.zeros((3, 1)))
