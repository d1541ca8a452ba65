"""Particle SVGD: the velocity formula, blocking, and convergence to the PDE solution as N grows."""

import numpy as np
import pytest
from scipy import special
from scipy.stats import norm

import fieldflow as ff
from fieldflow.core.metrics import loglog_slope
from fieldflow.svgd import particles as psvgd
from fieldflow.fokker_planck.langevin import sample_gaussian

Q1 = ff.potentials.Quadratic(1.0)


@pytest.mark.parametrize("dim", [1, 2])
def test_velocity_is_the_svgd_update_of_the_duncan_kernel(dim):
    """v_i = (1/N) Σ_j [∇_y K(X_i, X_j) − K(X_i, X_j) ∇V(X_j)] with K = a(x) k(x−y) a(y), a = e^{V − V0/2}."""
    V = ff.potentials.GaussianMixture(means=[[-1.0] * dim, [1.0] * dim], cov=0.7)
    kernel, alpha, beta = ff.svgd.Bessel(0.8), 0.2, -0.3
    x = np.random.default_rng(0).normal(size=(25, dim))
    a = lambda y: np.exp(V.value(y) - 0.5 * (alpha * np.sum(y * y, -1) + beta))

    def K(xi, y):
        z = xi - y
        r = np.linalg.norm(z, axis=-1)
        k = np.where(r > 0, kernel.radial(np.where(r > 0, r, 1.0), dim), np.nan if dim > 1 else 1 / (2 * kernel.scale))
        return a(xi) * k * a(y)

    eps = 1e-6
    expected = np.zeros_like(x)
    for i in range(len(x)):
        grad_y = np.stack([(K(x[i], x + eps * e) - K(x[i], x - eps * e)) / (2 * eps) for e in np.eye(dim)], -1)
        if dim == 1:  # self term, ∇k(0) = 0 by symmetry: ∇_y K(x, x) = a(x) k(0) ∇a(x), ∇a = a (∇V − αx)
            grad_y[i] = a(x[i]) ** 2 * (V.gradient(x[i]) - alpha * x[i]) / (2 * kernel.scale)
        else:  # singular kernels: k(0) is the ball mean k̄_ε(0), ε = ℓ N^{-1/2}
            ball = kernel.scale / np.sqrt(len(x))
            kbar = (1 - ball / kernel.scale * special.k1(ball / kernel.scale)) / (np.pi * ball**2)
            grad_y[i] = a(x[i]) ** 2 * kbar * (V.gradient(x[i]) - alpha * x[i])
        Kx = K(x[i], x)
        Kx[i] = Kx[i] if dim == 1 else a(x[i]) ** 2 * kbar
        expected[i] = np.mean(grad_y - Kx[:, None] * V.gradient(x), axis=0)
    got = psvgd.velocity(x, V, kernel, alpha, beta)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(psvgd.velocity(x, V, kernel, alpha, beta, memory_bytes=4000), got, rtol=1e-13)


def test_particles_converge_to_the_pde_solution_at_rate_one_over_n():
    """1D, quantile initial particles X_i(0) = F₀⁻¹((i − ½)/N).

    Derivation of the expected rate: the initial empirical measure is at W1 = O(1/N) from ρ0
    (midpoint quantiles), the mean-field particle flow is W1-stable on [0, T] (the velocity field of a
    smooth density is Lipschitz), so W1(μ_N(T), ρ(T)) ≤ C/N + e_dt + e_h.  Heun's e_dt = O(dt²) ≈ 1e-5
    and the grid's e_h = O(h²) ≈ 1e-5 (n = 800) are far below the smallest W1 here (≈ 3e-3), so the
    fitted slope of log W1 against log N must be −1 up to the curvature these floors add (|Δ| < 0.1).
    """
    kernel, alpha, T = ff.svgd.Bessel(0.5), 0.5, 0.5
    g = ff.Grid.box(800, 5.0, 1)
    rho_T = ff.evolve(ff.SVGDFlow(g, Q1, kernel, alpha=alpha), ff.densities.gaussian(g, mean=1.0, cov=0.5), T,
                      rtol=1e-7).final
    ns, w1 = [50, 100, 200, 400], []
    for n in ns:
        x0 = norm.ppf((np.arange(n) + 0.5) / n, loc=1.0, scale=np.sqrt(0.5))[:, None]
        x_T = ff.evolve(psvgd.SVGDParticles(Q1, kernel, alpha), x0, T, dt=0.01, method="heun").final
        w1.append(ff.metrics.w1_samples_to_grid(g, rho_T, x_T))
    slope = loglog_slope(ns, w1)
    assert -1.1 < slope < -0.9, (w1, slope)


def test_2d_singular_kernel_particles_approach_the_grid_density():
    """2D Bessel kernel (K0, singular; self term from the ball mean): MMD² to the PDE solution falls as N grows.

    With i.i.d. initial particles MMD² has mean ≈ c/N; between N = 64 and N = 512 it must fall by
    more than half the factor 8 (the spread of MMD² over seeds is O(1/N) too, so one seed each).
    """
    kernel, alpha, T = ff.svgd.Bessel(0.7), 0.5, 0.3
    V = ff.potentials.Quadratic(1.0, dim=2)
    g = ff.Grid.box(40, 4.5, 2)
    rho_T = ff.evolve(ff.SVGDFlow(g, V, kernel, alpha=alpha), ff.densities.gaussian(g, mean=[1.0, 0.0], cov=0.5), T).final
    mmd = []
    for n in (64, 512):
        x0 = sample_gaussian(n, mean=[1.0, 0.0], cov=0.5, dim=2, seed=1)
        x_T = ff.evolve(psvgd.SVGDParticles(V, kernel, alpha), x0, T, dt=0.01).final
        mmd.append(ff.metrics.mmd_gaussian(g, rho_T, x_T, bandwidth=0.5))
    assert mmd[1] < mmd[0] / 4, mmd


def test_bad_particle_input():
    with pytest.raises(ValueError, match="shape"):
        psvgd.velocity(np.zeros(5), Q1, ff.svgd.Bessel(1.0), 0.5)
    with pytest.raises(ValueError, match="kernel/grid mismatch"):
        psvgd.velocity(np.zeros((5, 1)), Q1, ff.svgd.Bessel(1.0, dim=2), 0.5)
    with pytest.raises(ValueError, match="method"):
        ff.evolve(psvgd.SVGDParticles(Q1, ff.svgd.Bessel(1.0), 0.5), np.zeros((5, 1)), 1.0, dt=0.1, method="rk4")
    with pytest.raises(ValueError, match="kernel/grid mismatch"):
        ff.evolve(psvgd.SVGDParticles(Q1, ff.svgd.Bessel(1.0, dim=2), 0.5), np.zeros((5, 1)), 1.0, dt=0.1)
