"""The renormalised measures ν_t as a gradient flow: the definition, the PDE and JKO, checked against each other.

References are derived here, independently of the solvers: the literal definition
``ν_t ∝ γ_{Γ_t} · (γ_{C_t} * e^{−V_0})`` by direct quadrature, the completed square
``ν_t = law(a_t Ψ + N(0, Σ_t))`` and the moment ODEs of ``∂_t ν = ½∇·(Ċ(∇ν + 2νΓ^{-1}φ))``.
"""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import fieldflow as ff
import fieldflow.polchinski as P
from fieldflow.core.metrics import loglog_slope
from fieldflow.polchinski.flow import FieldSpaceFlow
from fieldflow.polchinski.jko import density_quantiles

ONE_SITE = P.Lattice(1, 1, 1)
PV1 = P.PauliVillars(ONE_SITE, 1.0)
PHI4 = P.phi4(1.0, -1.0)
TIMES = (0.25, 0.5, 1.0, 2.0)
HALF_ONE_MINUS_LOG2 = 0.5 * (1 - math.log(2))


def scalars(dec, t):
    """(C_t, Γ_t, Ċ_t, C_∞) of one site."""
    c_inf = float(dec.symbol(math.inf).ravel()[0])
    c_t = float(dec.symbol(t).ravel()[0])
    return c_t, c_inf - c_t, float(dec.derivative_symbol(t).ravel()[0]), c_inf


def definition_density(V0, dec, t, phi, R=7.0, n=2801):
    """ν_t(φ) = γ_Γ(φ) ∫ γ_{C_t}(φ − ψ) e^{−V_0(ψ)} dψ / ∫ γ_{C_∞} e^{−V_0}, trapezoid on [−R, R]^N (sites in site coordinates).

    ``phi`` has shape (..., N); the kernel and e^{−V_0} are resolved far beyond double precision
    (spacing ≤ 0.2 of the narrowest standard deviation used here).
    """
    N = dec.lattice.size
    Ct = dec.covariance(t).matrix()
    G = dec.covariance(math.inf, t).matrix()
    Cinf = dec.covariance(math.inf).matrix()
    axis = np.linspace(-R, R, n)
    h = axis[1] - axis[0]
    psi = np.stack(np.meshgrid(*[axis] * N, indexing="ij"), -1).reshape(-1, N)
    v0 = potential_values(V0, psi)
    Pi, Pg = np.linalg.inv(Cinf), np.linalg.inv(G)
    a = -v0 - 0.5 * np.einsum("ij,jk,ik->i", psi, Pi, psi)
    logZ = a.max() + math.log(np.exp(a - a.max()).sum() * h**N) - 0.5 * math.log(np.linalg.det(2 * np.pi * Cinf))
    # whitened coordinates: (φ − ψ)ᵀC_t⁻¹(φ − ψ) = |w_φ − w_ψ|², so the exponent is one matrix product
    L = np.linalg.cholesky(Ct)
    flat = phi.reshape(-1, N)
    wpsi, wphi = np.linalg.solve(L, psi.T).T, np.linalg.solve(L, flat.T).T
    base = -v0 - 0.5 * np.sum(wpsi**2, axis=1)
    out = np.empty(len(flat))
    for s in range(0, len(flat), 256):
        q = base[None] + wphi[s:s + 256] @ wpsi.T
        m = q.max(axis=1)
        out[s:s + 256] = m + np.log(np.exp(q - m[:, None]).sum(axis=1) * h**N) - 0.5 * np.sum(wphi[s:s + 256] ** 2, axis=1)
    out += -0.5 * np.einsum("mi,ij,mj->m", flat, Pg, flat)
    out -= 0.5 * math.log(np.linalg.det(2 * np.pi * Ct)) + 0.5 * math.log(np.linalg.det(2 * np.pi * G)) + logZ
    return np.exp(out).reshape(phi.shape[:-1])


def potential_values(V0, psi):
    return np.asarray(V0(psi, ndim=1), dtype=float)


def nu0_moments(V0, c_inf, R=8.0, n=40001):
    """E_{ν_0}[φ²], E_{ν_0}[φ⁴] for one site by the trapezoid rule (spectrally accurate)."""
    x = np.linspace(-R, R, n)
    w = np.exp(-potential_values(V0, x[:, None]) - 0.5 * x**2 / c_inf)
    return float(np.sum(w * x**2) / np.sum(w)), float(np.sum(w * x**4) / np.sum(w))


def moment_ode(V0, dec, times):
    """d/dt E φ² = Ċ − 2(Ċ/Γ) E φ², d/dt E φ⁴ = 6Ċ E φ² − 4(Ċ/Γ) E φ⁴: the moments of the forward equation."""
    def f(t, y):
        _, g, c, _ = scalars(dec, t)
        return [c - 2 * c / g * y[0], 6 * c * y[0] - 4 * c / g * y[1]]
    m2, m4 = nu0_moments(V0, scalars(dec, 1.0)[3])
    sol = solve_ivp(f, [0, max(times)], [m2, m4], t_eval=times, rtol=1e-12, atol=1e-14, method="DOP853")
    return sol.y


def to_np(a):
    return ff.backend.to_numpy(a)


# ---------------------------------------------------------------------------- the derivation, checked numerically


def test_fourier_basis_diagonalises_translation_invariant_matrices():
    for lat in (P.Lattice(1, 1, 1), P.Lattice(2, 1, 1), P.Lattice(3, 1, 1), P.Lattice(4, 1, 2), P.Lattice(3, 1, 2)):
        U, modes = P.fourier_basis(lat)
        assert np.max(np.abs(U.T @ U - np.eye(lat.size))) < 1e-13
        for C in (P.PauliVillars(lat, 0.7).covariance(1.3), P.HeatKernel(lat, 1.1).derivative(0.4)):
            M = U.T @ C.matrix() @ U
            assert np.max(np.abs(M - np.diag(C.full_symbol.ravel()[modes]))) < 1e-13


def test_nu_t_is_the_law_of_the_completed_square():
    """ν_t ∝ γ_Γ e^{−V_t} (FieldSpaceFlow, grid convolution) equals ∫ν_0(ψ) N(Γ C_∞^{-1}ψ, C_t Γ C_∞^{-1}) dψ.

    Both are quadratures of smooth integrands whose kernels are resolved to e^{-25}: agreement to 1e-10.
    """
    flow = FieldSpaceFlow(PHI4, PV1, P.field_grid(1, 1024, 5.0))
    x = to_np(flow.grid.axes[0])
    h = x[1] - x[0]
    nu0 = to_np(flow.density(0.0))
    for t in TIMES:
        c_t, g, _, c_inf = scalars(PV1, t)
        a, S = g / c_inf, c_t * g / c_inf
        mixture = np.sum(nu0[None, :] * np.exp(-0.5 * (x[:, None] - a * x[None, :]) ** 2 / S), axis=1) * h
        mixture /= math.sqrt(2 * math.pi * S)
        inner = np.abs(x) < 4
        assert np.max(np.abs(to_np(flow.density(t)) - mixture)[inner]) < 1e-10
        # the package's direct quadrature of the definition (any points) agrees with the grid route
        assert np.max(np.abs(P.measure_density(PHI4, PV1, t, x) - to_np(flow.density(t)))) < 1e-10
    # two sites, matrix-valued a_t and Σ_t: E[φφᵀ] = a M₂ a + Σ with M₂ = E_{ν_0}[φφᵀ]
    dec = P.HeatKernel(P.Lattice(2, 1, 1), 1.0)
    flow2 = FieldSpaceFlow(P.phi4(0.5, -0.5), dec, P.field_grid(2, 160, 4.5))
    pair = lambda i, j: (lambda p: p[..., i] * p[..., j])
    M2 = np.array([[flow2.expectation(pair(i, j), 0.0) for j in range(2)] for i in range(2)])
    Cinf = dec.covariance(math.inf).matrix()
    for t in (0.3, 0.6):
        G = dec.covariance(math.inf, t).matrix()
        a = G @ np.linalg.inv(Cinf)
        expected = a @ M2 @ a.T + dec.covariance(t).matrix() @ G @ np.linalg.inv(Cinf)
        got = np.array([[flow2.expectation(pair(i, j), t) for j in range(2)] for i in range(2)])
        assert np.max(np.abs(got - expected)) < 1e-9


@pytest.mark.parametrize("form", ["forward", "backward"])
def test_both_forms_of_the_measure_equation_hold_on_nu_t_at_second_order(form):
    """∂_tν = ½∇·(Ċ(∇ν + 2νΓ^{-1}φ)) and ∂_tν = −½∇·(Ċ∇ν) − ∇·(νĊ∇V_t), residuals on ν_t from the definition.

    Centred differences in φ and t with dt = h: the residual is O(h²); fitted over three grids.
    """
    res = []
    ns = (128, 256, 512)
    for n in ns:
        flow = FieldSpaceFlow(PHI4, PV1, P.field_grid(1, n, 5.0))
        x = to_np(flow.grid.axes[0])
        res.append(np.nanmax(np.abs(to_np(flow.measure_residual(0.5, form)))[np.abs(x) < 4]))
    assert 1.9 < loglog_slope(10.0 / np.array(ns), res) < 2.1, res


def test_both_forms_hold_on_two_sites():
    """Two sites, Ċ_t and Γ_t full 2×2 matrices: h ↦ h/1.5 divides both residuals by 2.25 (dt = 0.02 fixed, its
    O(dt²) part is below 1e-4 of the finest residual)."""
    dec = P.PauliVillars(P.Lattice(2, 1, 1), 1.0)
    res = []
    for n in (96, 144):
        flow = FieldSpaceFlow(PHI4, dec, P.field_grid(2, n, 4.0))
        pts = to_np(flow.grid.points)
        inner = np.all(np.abs(pts) < 3.0, axis=-1)
        res.append([np.nanmax(np.abs(to_np(flow.measure_residual(0.5, form, dt=0.02)))[inner])
                    for form in ("forward", "backward")])
    ratios = np.divide(*res)
    assert np.all((2.0 < ratios) & (ratios < 2.5)), res


def test_the_old_flow_with_pi_proportional_to_exp_minus_V_t_is_not_nu_t():
    """The flow ∂σ = Ċ∂(σ∂log(σ e^{V_t})) of the earlier specification leaves ν_t at once: its E φ² grows."""
    flow = FieldSpaceFlow(PHI4, PV1, P.field_grid(1, 512, 5.0))
    x = to_np(flow.grid.axes[0])
    nu = to_np(flow.density(0.25))
    V = to_np(flow.potential(0.25))
    ok = np.isfinite(V)
    c = scalars(PV1, 0.25)[2]
    # d/dt E φ² = 2c(1 − E[φ V_t']) under the old flow, versus the true slope of E_{ν_t}[φ²]
    dV = np.gradient(np.where(ok, V, 0.0), x)
    old_slope = 2 * c * (1 - np.sum((nu * x * dV)[ok]) / np.sum(nu[ok]))
    true_slope = (flow.expectation(lambda p: p[..., 0] ** 2, 0.26) - flow.expectation(lambda p: p[..., 0] ** 2, 0.24)) / 0.02
    assert old_slope > 0 > true_slope


# ---------------------------------------------------------------------------- the PDE against the definition


def _ladder(V0, extent, ns, reference_V0=None):
    """Errors of the field-variable measure flow (1 site) in E φ², E φ⁴ and the density at TIMES."""
    m2, m4 = moment_ode(V0, PV1, list(TIMES))
    errors = []
    for n in ns:
        pde = P.measure_flow(V0, PV1, P.field_grid(1, n, extent))
        traj = ff.evolve(pde, pde.initial_density(), 2.0, save_times=TIMES, rtol=1e-9)
        x = to_np(pde.grid.axes[0])
        row = []
        for k, t in enumerate(TIMES):
            state = traj.states[k + 1]
            e2 = abs(pde.expectation(lambda p: p[..., 0] ** 2, state, t) - m2[k])
            e4 = abs(pde.expectation(lambda p: p[..., 0] ** 4, state, t) - m4[k])
            ed = np.max(np.abs(state - definition_density(V0, PV1, t, x[:, None])))
            row.append((e2, e4, ed))
        errors.append(row)
    return np.asarray(errors)  # (grid, time, quantity)


def test_measure_flow_reproduces_nu_t_phi4_one_site_at_second_order():
    """φ⁴ (g = 1, ν = −1), Pauli–Villars m = 1: E_{ν_t}[φ²] = 0.676, 0.593, 0.523, 0.419, 0.297 at t = 0, ¼, ½, 1, 2.

    Scharfetter–Gummel is second order; TR-BDF2 at rtol 1e-9 keeps the time error far below the
    finest spatial error.  The fitted order of every error (E φ², E φ⁴, max density error) at every t is in [1.8, 2.2].
    """
    m2 = moment_ode(PHI4, PV1, [0.25, 0.5, 1.0])[0]
    np.testing.assert_allclose(m2, [0.5926, 0.5227, 0.4190], atol=1e-4)  # the numbers
    ns = (100, 200, 400)
    errors = _ladder(PHI4, 5.0, ns)
    for k in range(len(TIMES)):
        for q in range(3):
            assert 1.8 < loglog_slope(10.0 / np.array(ns), errors[:, k, q]) < 2.2, (TIMES[k], q, errors[:, k, q])


def test_measure_flow_reproduces_nu_t_sine_gordon_one_site():
    """sine-Gordon z = 1, β = 2 (ν_0 ∝ e^{−cos 2φ} N(0, 1)) on a box: second order in E φ², E φ⁴, the density;
    E cos 2φ agrees with the periodic definition route (FieldSpaceFlow on one period)."""
    V0 = P.sine_gordon(1.0, 2.0)
    ns = (140, 280)
    errors = _ladder(V0, 7.0, ns)
    ratios = errors[0] / errors[1]
    assert np.all((3.5 < ratios) & (ratios < 4.5)), ratios
    periodic = FieldSpaceFlow(V0, PV1, P.periodic_field_grid(1, 64, math.pi))
    pde = P.measure_flow(V0, PV1, P.field_grid(1, 280, 7.0))
    traj = ff.evolve(pde, pde.initial_density(), 2.0, save_times=TIMES, rtol=1e-9)
    for k, t in enumerate(TIMES):
        cos_pde = pde.expectation(lambda p: np.cos(2 * p[..., 0]), traj.states[k + 1], t)
        assert abs(cos_pde - periodic.expectation(lambda p: np.cos(2 * p[..., 0]), t)) < 2 * errors[1, k].max() + 1e-6


def test_measure_flow_phi4_two_sites_rescaled_at_second_order():
    """Two sites (Pauli–Villars m = 1: C_∞ eigenvalues 1 and 1/5), rescaled variable z = Γ_t^{-1/2}Uᵀφ.

    E φ_1², E φ_1⁴ and E φ_1φ_2 against FieldSpaceFlow in site coordinates on a fine grid (the definition
    by grid convolution), the density against the direct quadrature of the definition at the nodes.
    """
    lat = P.Lattice(2, 1, 1)
    dec = P.PauliVillars(lat, 1.0)
    ref = FieldSpaceFlow(PHI4, dec, P.field_grid(2, 320, 4.0))
    F = [lambda p: p[..., 0] ** 2, lambda p: p[..., 0] ** 4, lambda p: p[..., 0] * p[..., 1]]
    exact = np.array([[ref.expectation(f, t) for f in F] for t in TIMES])
    errors, dens = [], []
    for n in (32, 64):
        pde = P.measure_flow(PHI4, dec, P.field_grid(2, n, 7.0), rescaled=True)
        traj = ff.evolve(pde, pde.initial_density(), 2.0, save_times=TIMES, rtol=1e-5)
        errors.append([[abs(pde.expectation(f, traj.states[k + 1], t) - exact[k, j]) for j, f in enumerate(F)]
                       for k, t in enumerate(TIMES)])
        row = []
        for k in (1, 3):
            t = TIMES[k]
            jac = math.prod(np.sqrt(pde.coefficients(t)[1]))  # density of z = density of y · Π g_a^{1/2}
            truth = definition_density(PHI4, dec, t, to_np(pde.fields(t)), R=4.5, n=121) * jac
            row.append(np.max(np.abs(traj.states[k + 1] - truth)))
        dens.append(row)
    ratios = np.asarray(errors[0]) / np.asarray(errors[1])
    assert np.all((3.5 < ratios) & (ratios < 4.5)), ratios
    assert np.all((3.5 < np.divide(*dens)) & (np.divide(*dens) < 4.5)), dens


@pytest.mark.slow
def test_measure_flow_phi4_two_sites_field_variable():
    """The field variable on two sites at t = ¼ (anisotropic grid: the C_∞ = 1/5 mode is narrow); h ↦ h/1.5
    divides the errors by 2.25 (second order)."""
    dec = P.PauliVillars(P.Lattice(2, 1, 1), 1.0)
    ref = FieldSpaceFlow(PHI4, dec, P.field_grid(2, 320, 4.0))
    F = [lambda p: p[..., 0] ** 2, lambda p: p[..., 0] ** 4, lambda p: p[..., 0] * p[..., 1]]
    exact = [ref.expectation(f, 0.25) for f in F]
    errors = []
    for n0, n1 in ((52, 120), (78, 180)):
        pde = P.measure_flow(PHI4, dec, ff.Grid.box((n0, n1), (4.0, 3.0)))
        assert pde.t_max >= 0.25
        traj = ff.evolve(pde, pde.initial_density(), 0.25, rtol=1e-6)
        errors.append([abs(pde.expectation(f, traj.states[-1], 0.25) - e) for f, e in zip(F, exact)])
    ratios = np.asarray(errors[0]) / np.asarray(errors[1])
    assert np.all((2.0 < ratios) & (ratios < 2.5)), ratios


@pytest.mark.slow
def test_measure_flow_three_sites_gaussian():
    """Three sites, quadratic V_0 (ν_t Gaussian, covariance ((C_∞ − C_t)^{-1} + Q_t)^{-1} exactly), rescaled variable
    on 14³ and 21³ cells: the covariance error at t = ½ falls by about (21/14)² = 2.25 (measured 2.15)."""
    dec = P.PauliVillars(P.Lattice(3, 1, 1), 1.0)
    V0 = P.phi4(0.0, 0.5)
    exact = P.gaussian_measure_covariance(V0, dec, 0.5)
    errors = []
    for n in (14, 21):
        pde = P.measure_flow(V0, dec, P.field_grid(3, n, 7.0), rescaled=True)
        state = ff.evolve(pde, pde.initial_density(), 0.5, rtol=1e-4).states[-1]
        C = np.array([[pde.expectation(lambda p: p[..., i] * p[..., j], state, 0.5) for j in range(3)] for i in range(3)])
        errors.append(np.max(np.abs(C - exact)))
    assert 1.9 < errors[0] / errors[1] < 2.6, errors


# ---------------------------------------------------------------------------- long times


def test_long_time_kl_to_the_moving_target_does_not_vanish():
    """Rescaled 1-site flow to t = 10³: ν̃_t → N(0, 1) while π̃_t = N(0, ½), so KL(ν_t‖π_t) → ½(1 − log 2) = 0.1534;
    it is not monotone (it dips first), while KL(ν_t‖N(0, Γ_t)) decreases to 0 (checked at every step by
    evolve: it is the scheme's own equilibrium).  The density matches the definition at t = 10, 100, 1000."""
    pde = P.measure_flow(PHI4, PV1, P.field_grid(1, 240, 8.0), rescaled=True)
    assert pde.monotone == "kl_free"
    traj = ff.evolve(pde, pde.initial_density(), 1000.0, save_times=(10.0, 100.0), rtol=1e-8)
    kl, free = traj["kl"], traj["kl_free"]
    assert abs(kl[-1] - HALF_ONE_MINUS_LOG2) < 2e-3
    assert kl.min() < kl[0] - 5e-3 and kl.min() < kl[-1]  # first down, then up: not monotone
    assert np.all(np.diff(free) <= 1e-12) and free[-1] < 1e-6
    z = to_np(pde.grid.axes[0])
    for t, state in zip(traj.times[1:], traj.states[1:]):
        c_t, g, _, _ = scalars(PV1, t)
        truth = definition_density(PHI4, PV1, t, (math.sqrt(g) * z)[:, None]) * math.sqrt(g)
        assert np.max(np.abs(state - truth)) < 1e-4


def test_field_variable_refuses_times_it_cannot_resolve():
    pde = P.measure_flow(PHI4, PV1, P.field_grid(1, 100, 5.0))
    # π_t = N(0, Γ_t/2) with Γ_t = 1/(1 + t) must span 4 cells of h = 0.1: Γ_t ≥ 0.32, t ≤ 2.125
    assert abs(pde.t_max - 2.125) < 1e-9
    with pytest.raises(ValueError, match="rescaled=True"):
        ff.evolve(pde, pde.initial_density(), 3.0)
    with pytest.raises(ValueError, match="too coarse already at t=0"):
        P.measure_flow(PHI4, PV1, P.field_grid(1, 20, 5.0))


# ---------------------------------------------------------------------------- JKO


def test_quantile_jko_converges_to_nu_t_at_first_order():
    """W₂ between the JKO quantiles and the quantiles of ν_t (definition, fine grid) at t = 1 and 2, and the error of
    E φ² against the same N-point quadrature of ν_t: fitted order in τ in [0.9, 1.1] (N = 1600 quantiles keep the
    spatial error of the scheme, ≈1e-4 in W₂, well below the smallest τ-error)."""
    N = 1600
    m = (np.arange(N) + 0.5) / N
    grid = ff.Grid.box(8000, 4.0)
    x = to_np(grid.axes[0])
    exact = {t: density_quantiles(grid, definition_density(PHI4, PV1, t, x[:, None]), m) for t in (1.0, 2.0)}
    taus = (0.1, 0.05, 0.025)
    w2 = {1.0: [], 2.0: []}
    e2 = {1.0: [], 2.0: []}
    for tau in taus:
        traj = P.measure_flow_jko(PHI4, PV1, 2.0, tau, quantiles=N, save_every=0.5)
        for t in (1.0, 2.0):
            X = traj.states[int(np.argmin(np.abs(traj.times - t)))]
            w2[t].append(np.sqrt(np.mean((X - exact[t]) ** 2)))
            e2[t].append(abs(np.mean(X**2) - np.mean(exact[t] ** 2)))
    for t in (1.0, 2.0):
        assert 0.9 < loglog_slope(taus, w2[t]) < 1.1, w2
        assert 0.9 < loglog_slope(taus, e2[t]) < 1.1, e2


def _exact_symbol(dec, q, t):
    """Covariance symbol of ν_t for V_0 = q|φ|²/2 from the definition ν_t ∝ γ_Γ e^{−V_t}: (1/g + q_t)^{-1}, q_t = q/(1 + c_t q)."""
    g = dec.covariance(math.inf, t).full_symbol
    return 1.0 / (1.0 / g + q / (1.0 + dec.symbol(t) * q))


def test_gaussian_jko_on_a_32x32_free_field_converges_to_the_exact_covariance():
    lat = P.Lattice(32, 1, 2)
    dec = P.PauliVillars(lat, 1.0)
    V0 = P.QuadraticPotential(0.5)
    # the per-mode formula is the dense matrix formula, checked on a small lattice
    small = P.PauliVillars(P.Lattice(4, 1, 2), 1.0)
    U, modes = P.fourier_basis(small.lattice)
    dense = U.T @ P.gaussian_measure_covariance(V0, small, 1.0) @ U
    assert np.max(np.abs(dense - np.diag(_exact_symbol(small, 0.5, 1.0).ravel()[modes]))) < 1e-13
    taus, errors = (0.05, 0.025, 0.0125, 0.00625), []
    for tau in taus:
        traj = P.measure_flow_jko(V0, dec, 1.0, tau)
        exact = _exact_symbol(dec, 0.5, 1.0)
        errors.append(np.max(np.abs(traj.states[-1] - exact) / exact))
        assert abs(traj["second_moment"][-1] - exact.mean()) < 2 * errors[-1] * exact.mean()
    assert 0.95 < loglog_slope(taus, errors) < 1.05, errors
    # the diagnostics are the exact Gaussian KL's
    s, g = traj.states[-1], dec.covariance(math.inf, 1.0).full_symbol
    assert abs(traj["kl"][-1] - np.sum(0.5 * (2 * s / g - 1 - np.log(2 * s / g)))) < 1e-9


def test_gaussian_and_quantile_jko_agree_on_one_site():
    """Same τ, quadratic V_0 on one site: the two reductions of one JKO step give the same measures
    (quantile discretisation error O(1/N) only)."""
    V0 = P.phi4(0.0, 0.7)
    g_traj = P.measure_flow_jko(V0, PV1, 1.0, 0.05, method="gaussian")
    q_traj = P.measure_flow_jko(V0, PV1, 1.0, 0.05, method="quantile", quantiles=4000)
    from scipy.stats import norm
    m = (np.arange(4000) + 0.5) / 4000
    X = math.sqrt(float(g_traj.states[-1].ravel()[0])) * norm.ppf(m)
    assert np.sqrt(np.mean((q_traj.states[-1] - X) ** 2)) < 2e-3


def test_measure_mc_on_a_lattice_agrees_with_the_exact_gaussian_and_the_grid():
    lat = P.Lattice(8, 1, 2)
    dec = P.PauliVillars(lat, 1.0)
    est = P.measure_mc(P.QuadraticPotential(0.5), dec, 0.5, lambda f: f[:, 0, 0] ** 2, samples=40000, seed=1)
    assert abs(est.value - _exact_symbol(dec, 0.5, 0.5).mean()) < 4 * est.error
    one = P.measure_mc(PHI4, PV1, 1.0, lambda f: f[:, 0] ** 2, samples=100000, seed=2)
    assert abs(one.value - moment_ode(PHI4, PV1, [1.0])[0][0]) < 4 * one.error


# ---------------------------------------------------------------------------- the shared solver's mobility


def test_fokker_planck_with_a_diagonal_mobility_is_second_order():
    """∂μ = ∇·(M(∇μ + μx)), M = diag(1, ¼): each axis variance relaxes as v_a = 1 + (v_0 − 1)e^{−2m_a t}."""
    m = (1.0, 0.25)
    exact = [1 + (0.3 - 1) * math.exp(-2 * m[0] * 0.5), 1 + (0.3 - 1) * math.exp(-2 * m[1] * 0.5)]
    errs = []
    for n in (24, 48):
        grid = ff.Grid.box(n, 5.0, dim=2)
        pde = ff.FokkerPlanck(grid, lambda p: 0.5 * np.sum(p**2, axis=-1), 1.0, mobility=m)
        traj = ff.evolve(pde, ff.densities.gaussian(grid, (0.0, 0.0), 0.3), 0.5, rtol=1e-8)  # checks KL decreases
        X, Y = (to_np(a) for a in grid.mesh)
        errs.append([abs(grid.integrate(traj.states[-1] * X**2) - exact[0]),
                     abs(grid.integrate(traj.states[-1] * Y**2) - exact[1])])
    ratios = np.divide(*errs)
    assert np.all((3.7 < ratios) & (ratios < 4.3)), errs
    # the time-dependent solver sets M(t): its operator at t = 0.3 is the autonomous one with M = (1.3, ½)
    from fieldflow.fokker_planck import TimeDependentFokkerPlanck

    grid = ff.Grid.box(16, 4.0, dim=2)
    V = lambda p: 0.5 * np.sum(p**2, axis=-1) + 0.3 * p[..., 0]
    td = TimeDependentFokkerPlanck(grid, lambda t: V, 1.0, mobility_of_t=lambda t: (1.0 + t, 0.5))
    auto = ff.FokkerPlanck(grid, V, 1.0, mobility=(1.3, 0.5))
    rho = ff.densities.gaussian(grid, (0.5, 0.0), 0.5)
    np.testing.assert_allclose(td.rhs(rho, 0.3), auto.rhs(rho, 0.0), rtol=0, atol=1e-14)
    with pytest.raises(ValueError, match="mobility"):
        ff.FokkerPlanck(grid, V, mobility=(1.0, -1.0))


# ---------------------------------------------------------------------------- bad input


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="1, 2 or 3 sites"):
        P.measure_flow(PHI4, P.PauliVillars(P.Lattice(4, 1, 1), 1.0), P.field_grid(1, 64, 5.0))
    with pytest.raises(ValueError, match="box field grid of dimension 2"):
        P.measure_flow(PHI4, P.PauliVillars(P.Lattice(2, 1, 1), 1.0), P.field_grid(1, 64, 5.0))
    with pytest.raises(ValueError, match="not periodic"):
        P.measure_flow(P.sine_gordon(1, 1), PV1, P.periodic_field_grid(1, 64, 2 * math.pi))
    with pytest.raises(ValueError, match="box is too small"):
        P.measure_flow(PHI4, PV1, P.field_grid(1, 400, 6.0), rescaled=True)
    with pytest.raises(ValueError, match="walls"):
        pde = P.measure_flow(P.phi4(0.0, -0.5), PV1, P.field_grid(1, 200, 4.0))
        pde.validate(pde.initial_density())
    with pytest.raises(TypeError, match="FieldPotential"):
        P.measure_flow(lambda p: p, PV1, P.field_grid(1, 64, 5.0))
    with pytest.raises(ValueError, match="positive integer"):
        P.measure_flow_jko(PHI4, PV1, 1.0, 0.3)
    with pytest.raises(TypeError, match="FieldPotential"):
        P.measure_flow_jko(lambda p: p, PV1, 1.0, 0.1)
    with pytest.raises(ValueError, match="multiple of tau"):
        P.measure_flow_jko(PHI4, PV1, 1.0, 0.1, save_every=0.25)
    with pytest.raises(ValueError, match="quadratic V0"):
        P.measure_flow_jko(PHI4, PV1, 1.0, 0.1, method="gaussian")
    with pytest.raises(ValueError, match="one site"):
        P.measure_flow_jko(PHI4, P.PauliVillars(P.Lattice(2, 1, 1), 1.0), 1.0, 0.1)
    with pytest.raises(ValueError, match="method must be one of 'auto', 'quantile', 'gaussian'"):
        P.measure_flow_jko(PHI4, PV1, 1.0, 0.1, method="newton")
    with pytest.raises(ValueError, match="one site"):
        P.measure_density(PHI4, P.PauliVillars(P.Lattice(2, 1, 1), 1.0), 1.0, np.zeros(3))
    with pytest.raises(ValueError, match="strictly increasing"):
        P.QuantileJKO(PV1).validate([0.0, 1.0, 0.5])
    with pytest.raises(ValueError, match="even in k"):
        P.GaussianJKO(P.PauliVillars(P.Lattice(4, 1, 1), 1.0)).validate([1.0, 2.0, 1.0, 1.0])
