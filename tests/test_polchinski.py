"""Polchinski flow on a lattice torus: covariances, sampling, renormalised potentials, semigroup, LSI.

The renormalised measures as a gradient flow (PDE, JKO): tests/test_polchinski_measure.py.
"""

import math

import numpy as np
import pytest

import fieldflow as ff
import fieldflow.polchinski as P
from fieldflow.core.metrics import loglog_slope
from fieldflow.polchinski.flow import FieldSpaceFlow, gaussian_measure_covariance, semigroup_mc
from fieldflow.polchinski.lsi import flow_lsi_bound, lsi_constant, single_site_hamiltonian, spectral_gap

ONE_SITE = P.Lattice(1, 1, 1)


def laplacian_matrix(lat):
    return np.array([lat.laplacian(e.reshape(lat.shape)).ravel() for e in np.eye(lat.size)]).T


# ---------------------------------------------------------------------------- lattice and covariances


def test_lattice_laplacian_and_bad_spacing():
    lat = P.Lattice(6.0, 0.5, 2)
    f = np.random.default_rng(0).standard_normal(lat.shape)
    by_fft = np.fft.ifftn(-lat.laplacian_symbol() * np.fft.fftn(f)).real
    np.testing.assert_allclose(lat.laplacian(f), by_fft, atol=1e-12)
    with pytest.raises(ValueError, match="not a positive integer"):
        P.Lattice(1.0, 0.3, 1)


@pytest.mark.parametrize("cls", [P.PauliVillars, P.HeatKernel])
def test_decompositions_reach_the_massive_green_function(cls):
    lat, m = P.Lattice(5, 1, 2), 0.7
    dec = cls(lat, m)
    green = np.linalg.inv(-laplacian_matrix(lat) + m**2 * np.eye(lat.size))
    np.testing.assert_allclose(dec.covariance(math.inf).matrix(), green, atol=1e-13)
    # C_t = ∫_0^t Ċ_s ds, checked against the user-symbol decomposition integrated by quadrature
    user = P.FromDerivative(lat, lambda t, k, _d=dec: _d.derivative_symbol(t))
    np.testing.assert_allclose(user.symbol(1.3), dec.symbol(1.3), rtol=1e-9)
    np.testing.assert_allclose(user.symbol(math.inf), dec.symbol(math.inf), rtol=1e-8)
    # C̈ = d/dt Ċ (centred difference, error O(δ²) ≈ 1e-10)
    d = 1e-5
    fd = (dec.derivative_symbol(0.9 + d) - dec.derivative_symbol(0.9 - d)) / (2 * d)
    np.testing.assert_allclose(dec.second_derivative_symbol(0.9), fd, atol=1e-8)
    f = np.random.default_rng(1).standard_normal((3,) + lat.shape)
    np.testing.assert_allclose(dec.apply_sqrt(dec.apply_sqrt(f, 2.0), 2.0), dec.apply(f, 2.0), atol=1e-12)
    np.testing.assert_allclose(dec.apply_derivative(f, 0.5), (f.reshape(3, -1) @ dec.derivative(0.5).matrix()).reshape(f.shape), atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 7), (2, 6), (2, 5), (3, 4)])
def test_exact_fft_sampling_covariance(shape):
    """Empirical covariance of M samples: each entry has standard error ≤ √(2/M)·max C (Wick), test at 5σ."""
    dim, n = shape
    lat = P.Lattice(n * 0.5, 0.5, dim)
    C = P.PauliVillars(lat, 0.8).covariance(2.0)
    M = 40000
    x = C.sample(M, seed=3).reshape(M, -1)
    emp = x.T @ x / M
    exact = C.matrix()
    assert np.max(np.abs(emp - exact)) < 5 * math.sqrt(2 / M) * exact.max()
    assert abs(x.mean()) < 5 * math.sqrt(exact.max() / M)


def test_sampling_is_seeded_and_independent_of_threads():
    C = P.HeatKernel(P.Lattice(16, 1, 2), 1.0).covariance(3.0)
    a = C.sample(700, seed=11, workers=1)
    b = C.sample(700, seed=11, workers=2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, C.sample(700, seed=12))


def test_not_positive_definite_covariances_raise():
    lat = P.Lattice(4, 1, 1)
    with pytest.raises(ValueError, match="not positive semidefinite"):
        P.LatticeCovariance(lat, [1.0, -0.5, 1.0, -0.5])
    with pytest.raises(ValueError, match="not positive definite"):
        P.renormalized_potential(P.phi4(1, 1), [[1.0, 2.0], [2.0, 1.0]], P.field_grid(2, 32, 4.0))
    with pytest.raises(ValueError, match="not positive definite"):
        P.renormalized_potential(P.phi4(1, 1), -0.1, np.zeros((3, 1)), method="mc")
    with pytest.raises(ValueError, match="t ≥ s"):
        P.PauliVillars(lat, 1.0).covariance(1.0, 2.0)


# ---------------------------------------------------------------------------- renormalised potential


def test_quadratic_grid_monte_carlo_and_fourier_agree():
    """Two sites, V0 = ν|φ|²/2: the grid quadrature is spectrally accurate (kernel and V0 resolved to e^{-25})
    and matches the per-mode formula to 1e-9; Monte Carlo agrees within 4 standard errors."""
    lat = P.Lattice(2, 1, 1)
    dec = P.PauliVillars(lat, 1.0)
    V0 = P.phi4(0.0, 0.7)
    grid = P.field_grid(2, 160, 12.0)
    exact_grid = P.renormalized_potential(V0, dec.covariance(0.8), grid, method="exact")
    on_grid = P.renormalized_potential(V0, dec.covariance(0.8), grid, method="grid")
    ok = np.isfinite(on_grid)
    assert ok.mean() > 0.2
    assert np.max(np.abs(on_grid[ok] - exact_grid[ok])) < 1e-9
    # the per-Fourier-mode formula on the lattice covariance equals the matrix formula
    phi = np.random.default_rng(0).standard_normal((5, 2))
    np.testing.assert_allclose(P.renormalized_potential(V0, dec.covariance(0.8), phi),
                               P.renormalized_potential(V0, dec.covariance(0.8).matrix(), phi), atol=1e-12)
    idx = [(80, 80), (50, 110), (120, 40)]
    pts = np.array([to_np(grid.points)[i] for i in idx])
    mc = P.renormalized_potential(V0, dec.covariance(0.8), pts, method="mc", samples=20000, seed=5)
    truth = np.array([exact_grid[i] for i in idx])
    assert np.all(np.abs(mc.value - truth) < 4 * mc.error)


def to_np(a):
    return ff.backend.to_numpy(a)


def test_quadratic_lattice_fourier_vs_monte_carlo():
    lat = P.Lattice(8, 1, 2)
    dec = P.HeatKernel(lat, 1.0)
    V0 = P.QuadraticPotential(0.3)
    phi = dec.sample(math.inf, 3, seed=1)
    exact = P.renormalized_potential(V0, dec.covariance(1.5), phi)
    mc = P.renormalized_potential(V0, dec.covariance(1.5), phi, method="mc", samples=20000, seed=2)
    assert np.all(np.abs(mc.value - exact) < 4 * mc.error)
    # a Fourier-operator Q: V0 = ½(φ, (−Δ)φ)·0.5, exact per mode
    Q = P.FourierOperator(lat, 0.5 * lat.laplacian_symbol())
    V0 = P.QuadraticPotential(Q)
    exact = P.renormalized_potential(V0, dec.covariance(1.5), phi)
    mc = P.renormalized_potential(V0, dec.covariance(1.5), phi, method="mc", samples=20000, seed=3)
    assert np.all(np.abs(mc.value - exact) < 4 * mc.error)


def test_zero_potential_stays_constant():
    C = P.PauliVillars(P.Lattice(2, 1, 1), 1.0).covariance(0.7)
    torus = P.periodic_field_grid(2, 32, 2 * np.pi)
    assert np.max(np.abs(P.renormalized_potential(P.sine_gordon(0.0, 1.0), C, torus, method="grid"))) < 1e-14
    assert np.max(np.abs(P.renormalized_potential(P.QuadraticPotential(0.0), C, torus.points))) == 0
    mc = P.renormalized_potential(P.sine_gordon(0.0, 1.0), C, np.ones((2, 2)), method="mc", samples=100, seed=0)
    assert np.all(mc.value == 0) and np.all(mc.error == 0)


def test_sine_gordon_periodic_grid_against_monte_carlo():
    V0 = P.sine_gordon(1.5, 2.0)
    grid = P.periodic_field_grid(1, 64, np.pi)
    Vt = P.renormalized_potential(V0, 0.4, grid)
    pts = to_np(grid.points)[[0, 16, 40]]
    mc = P.renormalized_potential(V0, 0.4, pts, method="mc", samples=40000, seed=7)
    assert np.all(np.abs(mc.value - to_np(Vt)[[0, 16, 40]]) < 4 * mc.error)


def test_log_domain_fallback_matches_direct_quadrature():
    """Strong coupling: e^{-V0} spans e^{-200}; values below the FFT floor come from the exact log-sum-exp."""
    V0 = P.phi4(1.0, -4.0)
    grid = P.field_grid(1, 600, 6.0)
    c = 0.05
    Vt = to_np(P.renormalized_potential(V0, c, grid))
    x = to_np(grid.axes[0])
    h = grid.spacing[0]
    v0 = to_np(V0(grid.points, ndim=1))
    ok = np.flatnonzero(np.isfinite(Vt))
    assert np.ptp(Vt[ok]) > 60  # far beyond the 1e-6 FFT floor
    for i in ok[:: 25]:
        a = -v0 - (x[i] - x) ** 2 / (2 * c)
        direct = -(a.max() + np.log(np.sum(np.exp(a - a.max())) * h / np.sqrt(2 * np.pi * c)))
        assert abs(Vt[i] - direct) < 1e-9 * max(1, abs(direct))


def test_grid_errors_are_clear():
    with pytest.raises(ValueError, match="too coarse for e\\^\\(-V0\\)"):
        P.renormalized_potential(P.phi4(1e4, 0.0), 0.5, P.field_grid(1, 32, 4.0))
    with pytest.raises(ValueError, match="too narrow"):
        P.renormalized_potential(P.phi4(1.0, 0.0), 1e-4, P.field_grid(1, 64, 4.0))
    with pytest.raises(ValueError, match="box is too small"):
        P.renormalized_potential(P.phi4(0.0, 0.1), 0.5, P.field_grid(1, 64, 4.0), method="grid")
    with pytest.raises(ValueError, match="not periodic"):
        P.renormalized_potential(P.phi4(1.0, 1.0), 0.5, P.periodic_field_grid(1, 64, 4.0))
    with pytest.raises(ValueError, match="multiple of the period"):
        P.renormalized_potential(P.sine_gordon(1.0, 1.0), 0.5, P.periodic_field_grid(1, 64, 4.0))
    with pytest.raises(ValueError, match="quadratic"):
        P.renormalized_potential(P.phi4(1.0, 1.0), 0.5, np.zeros((2, 1)), method="exact")


# ---------------------------------------------------------------------------- Polchinski equation and semigroup


def test_grid_potential_solves_polchinski_at_second_order():
    flow_of = lambda n: FieldSpaceFlow(P.phi4(1.0, -1.0), P.PauliVillars(ONE_SITE, 1.0), P.field_grid(1, n, 5.0))
    ns, res = [128, 256, 512], []
    for n in ns:
        flow = flow_of(n)
        x = to_np(flow.grid.axes[0])
        r = to_np(flow.residual(0.5))
        res.append(np.max(np.abs(r[np.abs(x) < 2.5])))
    assert 1.9 < loglog_slope(10.0 / np.array(ns), res) < 2.1, res


def test_two_site_polchinski_residual_decreases_at_second_order():
    dec = P.HeatKernel(P.Lattice(2, 1, 1), 1.0)
    res = []
    for n in (64, 128):
        flow = FieldSpaceFlow(P.phi4(0.5, -0.5), dec, P.field_grid(2, n, 4.5))
        r = to_np(flow.residual(0.6))
        pts = to_np(flow.grid.points)
        res.append(np.nanmax(np.abs(r[np.all(np.abs(pts) < 2.0, axis=-1)])))
    assert 3.4 < res[0] / res[1] < 4.6, res


def test_semigroup_property_and_invariance():
    F = lambda p: np.cos(p[..., 0]) + p[..., 0] ** 2
    s, t, u = 0.3, 0.8, 2.0
    flow = FieldSpaceFlow(P.phi4(1.0, -1.0), P.PauliVillars(ONE_SITE, 1.0), P.field_grid(1, 1024, 5.0))
    x = to_np(flow.grid.axes[0])
    inner = np.abs(x) < 2.5
    # composition order of the definition of P_{s,t} (see docs/conventions.rst, section Polchinski flow on a
    # lattice torus): P_{t,u}(P_{s,t}F) = P_{s,u}F
    two = to_np(flow.semigroup(flow.semigroup(F, s, t), t, u))
    one = to_np(flow.semigroup(F, s, u))
    assert np.max(np.abs(two - one)[inner]) < 1e-9
    assert np.max(np.abs(to_np(flow.semigroup(lambda p: np.ones(p.shape[:-1]), s, u)) - 1)[inner]) < 1e-12
    assert abs(flow.expectation(flow.semigroup(F, s, t), t) - flow.expectation(F, s)) < 1e-9
    # periodic sine-Gordon: both identities to round-off
    sg = FieldSpaceFlow(P.sine_gordon(1.5, 2.0), P.PauliVillars(ONE_SITE, 1.0), P.periodic_field_grid(1, 64, np.pi))
    G = lambda p: np.cos(2 * p[..., 0]) + np.sin(4 * p[..., 0])
    assert np.max(np.abs(sg.semigroup(sg.semigroup(G, s, t), t, u) - sg.semigroup(G, s, u))) < 1e-13
    assert abs(sg.expectation(sg.semigroup(G, s, t), t) - sg.expectation(G, s)) < 1e-13


def test_renormalised_measure_three_backends():
    F = lambda p: p[..., 0] ** 2
    dec = P.PauliVillars(ONE_SITE, 1.0)
    # quadratic: ν_t is Gaussian with an exact covariance
    quad = FieldSpaceFlow(P.phi4(0.0, 2.0), dec, P.field_grid(1, 512, 9.0))
    for t in (0.0, 0.5, 2.0):
        assert abs(quad.expectation(F, t) - gaussian_measure_covariance(P.phi4(0.0, 2.0), dec, t)[0, 0]) < 1e-9
    # φ⁴: E_{ν_0}[F] = P_{0,∞}F(0) by Monte Carlo, within 4 standard errors
    flow = FieldSpaceFlow(P.phi4(1.0, -1.0), dec, P.field_grid(1, 512, 5.0))
    mc = semigroup_mc(P.phi4(1.0, -1.0), dec.covariance(math.inf), F, np.zeros(1), samples=100000, seed=4)
    assert abs(mc.value - flow.expectation(F, 0.0)) < 4 * mc.error
    assert flow.expectation(F, math.inf) == 0.0


# ---------------------------------------------------------------------------- log-Sobolev


def test_flow_lsi_bound_is_exact_for_gaussian():
    """V0 = νφ²/2, C_∞ = 1/m²: the bound equals ν + m² = 3; the t-trapezoid on 160 log-spaced times is ~1e-3."""
    flow = FieldSpaceFlow(P.phi4(0.0, 2.0), P.PauliVillars(ONE_SITE, 1.0), P.field_grid(1, 512, 8.0))
    bound = flow_lsi_bound(flow)
    assert abs(bound["gamma"] - 3.0) < 3e-3
    # the discrete LSI constant of the discretised Gaussian is exact up to O(h²) (h = 1/16: observed 4.4e-3)
    grid = ff.Grid.box(256, 8.0)
    H = single_site_hamiltonian(P.phi4(0.0, 2.0), 1.0, grid)
    constant = lsi_constant(grid, H, amplitudes=(1.0,), maxiter=200)
    assert abs(constant - 3.0) < 2 * grid.spacing[0] ** 2 and constant <= spectral_gap(grid, H)[0] + 1e-12


def test_spectral_gap_second_order():
    errors, ns = [], [64, 128, 256]
    for n in ns:
        grid = ff.Grid.box(n, 8.0)
        gap, _ = spectral_gap(grid, single_site_hamiltonian(P.phi4(0.0, 2.0), 1.0, grid))
        errors.append(abs(gap - 3.0))
    assert 1.8 < loglog_slope(16.0 / np.array(ns), errors) < 2.2, errors


def test_double_well_flow_bound_below_true_constants():
    V0 = P.phi4(1.0, -2.0)
    flow = FieldSpaceFlow(V0, P.PauliVillars(ONE_SITE, 1.0), P.field_grid(1, 512, 5.0))
    bound = flow_lsi_bound(flow, points=80)
    grid = ff.Grid.box(128, 5.0)
    H = single_site_hamiltonian(V0, 1.0, grid)
    gap, _ = spectral_gap(grid, H)
    lsi = lsi_constant(grid, H, amplitudes=(1.0,), maxiter=150)
    assert 0 < bound["gamma"] < lsi <= gap + 1e-12
    assert bound["rate"][0] < 0 < bound["rate"][-1]  # non-convex at t = 0, convexified along the flow
