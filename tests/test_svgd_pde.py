"""SVGDFlow / LocalSVGDFlow: discrete dissipation identity, exact Jacobians, convergence, local limit, bad input."""

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.core.metrics import loglog_slope
from fieldflow.core.steppers.log_density import LogTRBDF2
from fieldflow.svgd.pde import limited_log_mean, log_mean, log_mean_partials
from fieldflow.svgd.slsi import energy_dissipation_defect

Q1 = ff.potentials.Quadratic(1.0)
Q2 = ff.potentials.Quadratic(1.0, dim=2)


def _pde(n=40, dim=1, ell=0.5, alpha=0.5, extent=5.0, **kw):
    g = ff.Grid.box(n, extent, dim)
    return g, ff.SVGDFlow(g, Q1 if dim == 1 else Q2, ff.svgd.Bessel(ell), alpha=alpha, **kw)


def _rough(g, seed=0, jumps=False):
    """A positive density; with ``jumps`` its log jumps by up to ±6 between cells (the limiter is active)."""
    rng = np.random.default_rng(seed)
    rho = np.asarray(ff.densities.gaussian(g, mean=[0.7] * g.dim, cov=0.6))
    rho = rho * np.exp(rng.uniform(-6, 6, g.shape) if jumps else 0.3 * rng.standard_normal(g.shape))
    return rho / g.integrate(rho)


def test_log_mean_and_partials():
    a = np.array([1.0, 2.0, 1e-3, 5.0, 1.0 + 1e-9])
    b = np.array([1.0, 3.0, 7.0, 5.0 * (1 + 1e-5), 1.0])
    L, La, Lb = log_mean_partials(a, b)
    x = np.log1p((b - a) / a)  # accurate log(b/a); Λ = a (e^x − 1)/x
    exact = np.where(x == 0, a, a * np.expm1(x) / np.where(x == 0, 1, x))
    np.testing.assert_allclose(L, exact, rtol=1e-12)
    np.testing.assert_allclose(log_mean(a, b), log_mean(b, a), rtol=1e-15)
    eps = 1e-7
    np.testing.assert_allclose(La, (log_mean(a * (1 + eps), b) - log_mean(a * (1 - eps), b)) / (2 * eps * a), rtol=1e-6)
    np.testing.assert_allclose(Lb, (log_mean(a, b * (1 + eps)) - log_mean(a, b * (1 - eps))) / (2 * eps * b), rtol=1e-6)
    # chain rule: Λ (log b − log a) = b − a
    np.testing.assert_allclose(L * (np.log(b) - np.log(a)), b - a, rtol=1e-12, atol=1e-15)
    M, *_ , S, _, _ = limited_log_mean(np.array([1.0, 1.0]), np.array([1.5, 1e4]), kappa=np.expm1(2.0) / 2.0)
    assert S[0] == 1.0 and M[0] == log_mean(1.0, 1.5) and S[1] < 1 and M[1] == pytest.approx(np.expm1(2.0) / 2.0)


@pytest.mark.parametrize("dim,n", [(1, 60), (2, 16)])
@pytest.mark.parametrize("jumps", [False, True])
def test_discrete_dissipation_identity_is_exact(dim, n, jumps):
    """d KL_h/dt = Σ ρ̇ log r h^d equals −𝔻_h² = −Σ (Sg)·K_h(Sg) h^d to round-off (limiter on or off)."""
    g, pde = _pde(n, dim)
    rho = _rough(g, jumps=jumps)
    d2 = pde.dissipation(rho)
    assert d2 > 0
    assert pde.kl_rate(rho) == pytest.approx(-d2, rel=1e-11)


def test_equilibrium_is_exact_and_the_only_zero_of_the_dissipation():
    g, pde = _pde(50, 1)
    assert np.max(np.abs(pde.rhs(pde.rho_inf, 0.0))) < 1e-14 * np.max(pde.rho_inf)
    assert abs(pde.dissipation(pde.rho_inf)) < 1e-28 and pde.kl(pde.rho_inf) == pytest.approx(0.0, abs=1e-14)
    for seed in range(5):
        assert pde.dissipation(_rough(g, seed)) > 0


@pytest.mark.parametrize("dim,n", [(1, 40), (2, 10)])
def test_jvp_and_local_jacobian_are_exact(dim, n):
    g, pde = _pde(n, dim)
    rho = _rough(g, 3, jumps=True)
    v = np.random.default_rng(4).standard_normal(g.shape) * rho
    eps = 1e-6
    fd = (pde.rhs(rho + eps * v, 0) - pde.rhs(rho - eps * v, 0)) / (2 * eps)
    assert np.max(np.abs(pde.jvp(rho, v, 0) - fd)) <= 1e-6 * np.max(np.abs(fd))
    J = np.array([pde.jvp(rho, e.reshape(g.shape), 0).ravel() for e in np.eye(g.size)]).T
    T = pde.local_jacobian(rho).toarray()
    mask = T != 0
    assert mask.sum() >= g.size
    np.testing.assert_allclose(T[mask], J[mask], rtol=1e-10, atol=1e-12 * np.abs(J).max())


def test_local_flow_jacobian_is_exact():
    g = ff.Grid.box(30, 5.0, 2)
    pde = ff.svgd.LocalSVGDFlow(g, Q2, alpha=0.5)
    rho = _rough(g, 5)
    v = np.random.default_rng(6).standard_normal(g.shape) * rho
    eps = 1e-6
    fd = (pde.rhs(rho + eps * v, 0) - pde.rhs(rho - eps * v, 0)) / (2 * eps)
    assert np.max(np.abs(pde.jvp(rho, v, 0) - fd)) <= 1e-6 * np.max(np.abs(fd))
    assert pde.kl_rate(rho) == pytest.approx(-pde.dissipation(rho), rel=1e-11)


def test_run_keeps_mass_positivity_and_dissipates_kl():
    """evolve's checks: mass to 1e-10, ρ > 0, KL non-increasing; the heavy-edge transients of the Duncan weight included."""
    g, pde = _pde(96, 1, ell=1.0, alpha=0.1, extent=5.0)
    traj = ff.evolve(pde, ff.densities.gaussian(g, mean=1.5, cov=0.5), 4.0, save_every=1.0)
    assert traj.info["status"] == "done" and traj.info["method"] == "log-trbdf2"
    assert np.all(np.diff(traj["kl"]) <= 1e-10) and traj["kl"][-1] < 0.2 * traj["kl"][0]
    assert min(s.min() for s in traj.states) > 0
    assert abs(traj["mass"][-1] - 1) < 1e-12


def test_energy_dissipation_identity_converges_at_second_order_in_time():
    """KL(t) + ∫₀ᵗ 𝔻² = KL(0): exact semi-discretely, so the defect is the O(Δt²) time error (TR-BDF2 + trapezoid)."""
    g, pde = _pde(64, 1)
    rho0 = ff.densities.gaussian(g, mean=1.0, cov=0.5)
    dts, defects = [0.1, 0.05, 0.025], []
    for dt in dts:
        traj = ff.evolve(pde, rho0, 1.0, method=LogTRBDF2(pde, dt=dt, adaptive=False))
        defects.append(abs(energy_dissipation_defect(traj)[-1]))
    order = loglog_slope(dts, defects)
    assert 1.7 < order < 2.5, (defects, order)
    assert defects[-1] < 1e-3


def test_convergence_in_space_1d():
    """Self-convergence at t = 1 with factor-3 refinement (coarse cell centres are fine cell centres): order 2."""
    sols = {}
    for n in (16, 48, 144, 432):
        g, pde = _pde(n, 1, extent=5.0)
        sols[n] = ff.evolve(pde, ff.densities.gaussian(g, mean=1.0, cov=0.5), 1.0, rtol=1e-8).final
    errors = [np.max(np.abs(sols[n] - sols[432][(432 // n) // 2::432 // n])) for n in (16, 48, 144)]
    order = -loglog_slope([16, 48, 144], errors)
    assert 1.7 < order < 2.4, (errors, order)


def test_convergence_in_space_2d():
    """Self-convergence at t = 1 with factor-2 refinement, the fine solution restricted by cell averages: order 2."""
    sols = {}
    for n in (12, 24, 48):
        g = ff.Grid.box(n, 4.5, 2)
        pde = ff.SVGDFlow(g, Q2, ff.svgd.Bessel(0.5), alpha=0.5)
        sols[n] = ff.evolve(pde, ff.densities.gaussian(g, mean=[1.0, 0.5], cov=0.5), 1.0, rtol=1e-7).final

    def restrict(f):
        return 0.25 * (f[::2, ::2] + f[1::2, ::2] + f[::2, 1::2] + f[1::2, 1::2])

    e12 = np.max(np.abs(sols[12] - restrict(sols[24])))
    e24 = np.max(np.abs(sols[24] - restrict(sols[48])))
    assert 1.6 < np.log2(e12 / e24) < 2.5, (e12, e24)


def test_local_limit():
    """‖ρ_ℓ(1) − ϱ(1)‖_{L¹} = O(ℓ²) as ℓ → 0 (k̂ − 1 = −ℓ²|ξ|²/(1+ℓ²|ξ|²))."""
    g = ff.Grid.box(150, 5.0, 1)
    rho0 = ff.densities.gaussian(g, mean=1.0, cov=0.5)
    loc = ff.evolve(ff.svgd.LocalSVGDFlow(g, Q1, alpha=0.5), rho0, 1.0, rtol=1e-8).final
    ells = [0.4, 0.2, 0.1]
    diffs = [g.integrate(np.abs(ff.evolve(ff.SVGDFlow(g, Q1, ff.svgd.Bessel(l), alpha=0.5), rho0, 1.0,
                                          rtol=1e-8).final - loc)) for l in ells]
    order = loglog_slope(ells, diffs)
    assert 1.8 < order < 2.2, (diffs, order)


def test_v_below_v0_is_refused_with_the_region_and_can_be_overridden():
    g = ff.Grid.box(40, 4.0, 2)
    banana = ff.potentials.Banana(a=1.0, b=0.5, sigma=0.7)
    with pytest.raises(ValueError, match=r"V < V0 .* in the region \[.*\] x \[.*\].*allow_violation=True"):
        ff.SVGDFlow(g, banana, ff.svgd.Bessel(1.0), alpha=0.3)
    pde = ff.SVGDFlow(g, banana, ff.svgd.Bessel(1.0), alpha=0.3, allow_violation=True)
    assert pde.violation["cells"] > 0 and pde.violation["worst_gap"] < 0
    with pytest.raises(ValueError, match="choose beta ≤"):
        ff.SVGDFlow(ff.Grid.box(40, 4.0, 1), Q1, ff.svgd.Bessel(1.0), alpha=0.5, beta=0.5)


def test_bad_input():
    g1 = ff.Grid.box(32, 4.0, 1)
    k = ff.svgd.Bessel(1.0)
    with pytest.raises(ValueError, match="not finite"):
        ff.SVGDFlow(g1, lambda x: np.where(np.abs(x[..., 0]) < 3, 0.5 * x[..., 0] ** 2, np.nan), k, alpha=0.1)
    with pytest.raises(ValueError, match="kernel/grid mismatch"):
        ff.SVGDFlow(g1, Q1, ff.svgd.Bessel(1.0, dim=2), alpha=0.1)
    with pytest.raises(ValueError, match="box too small for the kernel"):
        ff.SVGDFlow(ff.Grid.box(32, 1.0, 1), Q1, ff.svgd.Bessel(10.0), alpha=0.1)
    with pytest.raises(ValueError, match="Grid.box"):
        ff.SVGDFlow(ff.Grid.torus(32, 1), Q1, k, alpha=0.1)
    with pytest.raises(ValueError, match="alpha"):
        ff.SVGDFlow(g1, Q1, k, alpha=0.0)
    with pytest.raises(ValueError, match="Kernel"):
        ff.SVGDFlow(g1, Q1, "bessel", alpha=0.1)
    with pytest.raises(ValueError, match="too large for this V"):
        ff.SVGDFlow(ff.Grid.box(32, 40.0, 1), Q1, k, alpha=0.1)
    pde = ff.SVGDFlow(g1, Q1, k, alpha=0.1)
    rho = np.asarray(ff.densities.gaussian(g1, 0.0, 1.0))
    rho[:3] = 0
    with pytest.raises(ValueError, match="vanishes"):
        pde.validate(rho)
