"""Polchinski flow of φ⁴: the renormalised double well, its LSI bound, a sampled free field, and the
renormalised measures ``ν_t`` as a gradient flow.

Produces (in ``out``):

* ``potential.png`` / ``potential.csv`` — ``V_t − V_t(0)`` of ``V_0 = φ⁴/4·g + νφ²/2`` (``ν < 0``, a
  double well) under the Pauli–Villars flow of one site (``C_t = t/(1 + t m²)``), for several ``t``,
  and ``min V_t''`` against ``t``: the flow convexifies the double well.
* ``lsi.png`` / ``lsi.csv`` — the Bauerschmidt–Bodineau rate ``λ̇_t`` along the flow and the LSI
  constant it implies, against the spectral gap and the LSI constant of ``ν_0 ∝ e^{−V_0 − m²φ²/2}``
  computed directly (1D Sturm–Liouville).
* ``free_field.png`` / ``free_field.csv`` — one exact FFT sample of the 2D massive free field
  ``N(0, C_∞)``, ``C_∞ = (−Δ_ε + m²)^{-1}`` on a 64² torus, and the covariance ``C_∞(x, 0)`` measured
  from many samples against the exact one.
* ``measure_flow.png`` / ``measure_flow.csv`` — the renormalised measures ``ν_t`` of one site
  (Pauli–Villars ``m = 1``, same ``V_0``) three ways: from the definition ``ν_t ∝ γ_{Γ_t} e^{−V_t}``,
  from the PDE ``∂_t ν = ½∇·(Ċ_t ν ∇log(ν/π_t))``, ``π_t = N(0, Γ_t/2)``, and from JKO steps in the
  metric of ``Ċ_t``: ``E_{ν_t}[φ²]`` against ``t`` and density snapshots.
* ``long_time.png`` / ``long_time.csv`` — ``KL(ν_t‖π_t)``, ``F_t(ν_t) = ½KL`` and ``KL(ν_t‖N(0, Γ_t))``
  to ``t = 10³`` (``10⁴`` full) in the rescaled variable ``Γ_t^{-1/2}φ``, with the definition at a few
  times: the first two are not monotone and tend to ``½(1 − log 2)``, ``¼(1 − log 2)``; the last decreases to 0.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from .. import polchinski as P
from ..core.backend import to_numpy
from ..core.grids import Grid
from ..plotting import pyplot, save_figure
from ..core.evolve import evolve
from ..polchinski.flow import FieldSpaceFlow, measure_density
from ..polchinski.lsi import flow_lsi_bound, lsi_constant, single_site_hamiltonian, spectral_gap

TITLE = ("Polchinski flow of φ⁴: convexification of the double well, LSI bound vs true constant, free field, "
         "renormalised measures as a gradient flow")
DEFAULT = True


def _write_csv(path: Path, header: list[str], rows) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def run(out: Path, quick: bool = True) -> dict[str, str]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plt = pyplot()
    g, nu, mass = 1.0, -1.0, 0.5
    V0 = P.phi4(g, nu)
    dec = P.PauliVillars(P.Lattice(1, 1, 1), mass)
    grid = P.field_grid(1, 512 if quick else 2048, 5.0)
    flow = FieldSpaceFlow(V0, dec, grid)
    x = to_numpy(grid.axes[0])

    # ---------------------------------------------------------------- V_t across t
    times = [0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0]
    window = np.abs(x) <= 2.5
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    rows = []
    for t in times:
        V = to_numpy(flow.potential(t))
        V0c = V - V[np.argmin(np.abs(x))]
        a1.plot(x[window], V0c[window], label=f"t = {t:g}")
        rows += [[t, xi, vi] for xi, vi in zip(x[window][::4], V0c[window][::4])]
    a1.set_xlabel("φ")
    a1.set_ylabel("V_t(φ) − V_t(0)")
    a1.set_title(f"single-site φ⁴, g={g:g}, ν={nu:g}, Pauli–Villars m={mass:g}")
    a1.legend(fontsize=7)
    _write_csv(out / "potential.csv", ["t", "phi", "V_t(phi)-V_t(0)"], rows)

    bound = flow_lsi_bound(flow, points=80 if quick else 200)
    t_axis = bound["t"][1:]
    a2.semilogx(t_axis, bound["kappa"][1:], label="min V_t''")
    a2.semilogx(t_axis, bound["rate"][1:], label="rate λ̇_t = Ċ_t min V_t'' − C̈_t/(2Ċ_t)")
    a2.axhline(0, color="k", lw=0.5)
    a2.set_xlabel("t")
    a2.legend(fontsize=7)
    a2.set_title("convexification along the flow")
    save_figure(fig, out / "potential.png")
    t_convex = float(t_axis[np.argmax(bound["kappa"][1:] > 0)]) if np.any(bound["kappa"] > 0) else math.inf

    # ---------------------------------------------------------------- LSI: flow bound vs direct
    sl = Grid.box(256 if quick else 1024, 5.0)
    H = single_site_hamiltonian(V0, 1.0 / mass**2, sl)
    gap, _ = spectral_gap(sl, H)
    lsi = lsi_constant(sl, H, amplitudes=(1.0, 4.0), maxiter=200 if quick else 1000)
    nus = [-2.0, -1.0, -0.5, 0.0, 1.0] if quick else list(np.linspace(-3.0, 2.0, 11))
    rows = []
    for n_ in nus:
        V = P.phi4(g, n_)
        b = flow_lsi_bound(FieldSpaceFlow(V, dec, grid), points=60 if quick else 200)
        Hn = single_site_hamiltonian(V, 1.0 / mass**2, sl)
        gp, _ = spectral_gap(sl, Hn)
        rows.append([n_, b["gamma"], gp])
    _write_csv(out / "lsi.csv", ["nu", "gamma_flow", "spectral_gap"], rows)
    fig, (b1, b2) = plt.subplots(1, 2, figsize=(10, 3.8))
    b1.semilogx(t_axis, bound["lam"][1:], label="λ_t = ∫ λ̇")
    b1.set_xlabel("t")
    b1.set_title(f"ν={nu:g}: γ_flow={bound['gamma']:.3f}, LSI={lsi:.3f}, gap={gap:.3f}")
    b1.legend(fontsize=7)
    r = np.asarray(rows)
    b2.plot(r[:, 0], r[:, 1], "o-", label="LSI constant from the flow (Bauerschmidt–Bodineau)")
    b2.plot(r[:, 0], r[:, 2], "s--", label="spectral gap (Sturm–Liouville)")
    b2.set_xlabel("ν")
    b2.set_ylabel("constant")
    b2.legend(fontsize=7)
    save_figure(fig, out / "lsi.png")

    # ---------------------------------------------------------------- 2D massive free field
    lat = P.Lattice(64, 1, 2)
    C = P.PauliVillars(lat, 0.5).covariance(math.inf)
    M = 4000 if quick else 40000
    fields = C.sample(M, seed=2025)
    # covariance c(x) = E φ_x φ_0 measured with translation averaging (|FFT|² estimator)
    spec = np.mean(np.abs(np.fft.rfftn(fields, axes=(1, 2))) ** 2, axis=0) / lat.size
    measured = np.fft.irfftn(spec, s=lat.shape)
    exact = np.fft.irfftn(C.full_symbol[..., : lat.n // 2 + 1], s=lat.shape)
    r_axis = np.arange(lat.n // 2 + 1)
    fig, (c1, c2) = plt.subplots(1, 2, figsize=(10, 4))
    im = c1.imshow(to_numpy(fields[0]), cmap="RdBu_r")
    fig.colorbar(im, ax=c1, shrink=0.8)
    c1.set_title("one sample of N(0, C_∞), 64², m = 0.5")
    c2.plot(r_axis, exact[0, : r_axis.size], "k-", label="C_∞(x, 0) exact")
    c2.plot(r_axis, measured[0, : r_axis.size], "o", ms=3, label=f"measured, {M} samples")
    c2.set_xlabel("x₁ (x₂ = 0)")
    c2.legend()
    save_figure(fig, out / "free_field.png")
    _write_csv(out / "free_field.csv", ["x1", "C_exact", "C_measured"],
               [[int(i), float(exact[0, i]), float(measured[0, i])] for i in r_axis])
    rel = float(np.max(np.abs(measured - exact)) / exact.max())
    summary = {
        "convexification": f"min V_t'' = {bound['kappa'][0]:.2f} at t=0, > 0 from t ≈ {t_convex:.3g}",
        "lsi": f"ν={nu:g}: γ_flow = {bound['gamma']:.4f} ≤ γ_LSI = {lsi:.4f} ≤ gap = {gap:.4f}",
        "free_field": f"max |C_measured − C_∞| / C_∞(0) = {rel:.3g} with {M} samples (64², m=0.5)",
    }
    summary.update(_measure_flow(out, plt, V0, quick))
    summary.update(_long_time(out, plt, V0, quick))
    return summary


def _measure_flow(out: Path, plt, V0, quick: bool) -> dict[str, str]:
    """E_{ν_t}[φ²] and the density of ν_t by definition, PDE and JKO (one site, Pauli–Villars m = 1)."""
    dec = P.PauliVillars(P.Lattice(1, 1, 1), 1.0)
    t_end, snaps = 2.0, [0.0, 0.25, 0.5, 1.0, 2.0]
    definition = FieldSpaceFlow(V0, dec, P.field_grid(1, 2048, 5.0))
    t_def = np.linspace(0.0, t_end, 41)
    m2_def = np.array([definition.expectation(lambda p: p[..., 0] ** 2, t) for t in t_def])
    pde = P.measure_flow(V0, dec, P.field_grid(1, 200 if quick else 800, 5.0))
    traj = evolve(pde, pde.initial_density(), t_end, save_times=np.union1d(t_def[1:], snaps[1:]), rtol=1e-8)
    taus = (0.05,) if quick else (0.05, 0.0125)
    N = 1000 if quick else 4000
    jko = {tau: P.measure_flow_jko(V0, dec, t_end, tau, quantiles=N) for tau in taus}

    fig, (a1, a3, a2) = plt.subplots(1, 3, figsize=(15, 4))
    m2_pde = np.array([pde.expectation(lambda p: p[..., 0] ** 2, s, t) for t, s in zip(traj.times, traj.states)])
    a1.plot(t_def, m2_def, "k-", lw=2, label="definition  ν_t ∝ γ_Γ e^(−V_t)")
    a1.plot(traj.times, m2_pde, "o", ms=4, mfc="none", label=f"PDE (Scharfetter–Gummel, {pde.grid.shape[0]} cells)")
    for tau, tr in jko.items():
        a1.plot(tr["t"], tr["second_moment"], "--", label=f"JKO τ = {tau:g} ({N} quantiles)")
    a1.set_xlabel("t")
    a1.set_ylabel("E_ν_t[φ²]")
    a1.set_title("φ⁴ (g=1, ν=−1), one site, Pauli–Villars m = 1")
    a1.legend(fontsize=7)
    on_def = np.isin(np.round(traj.times, 12), np.round(t_def, 12))
    a3.semilogy(traj.times[on_def][1:], np.abs(m2_pde[on_def] - m2_def)[1:], "o-", ms=3, label="PDE − definition")
    for tau, tr in jko.items():
        sel = np.isin(np.round(tr["t"], 12), np.round(t_def, 12))  # the JKO times where the definition was computed
        a3.semilogy(tr["t"][sel][1:], np.abs(tr["second_moment"][sel] - m2_def)[1:], "--",
                    label=f"JKO τ = {tau:g} − definition")
    a3.set_xlabel("t")
    a3.set_title("|E_ν_t[φ²] − definition|")
    a3.legend(fontsize=7)
    x = to_numpy(definition.grid.axes[0])
    xp = to_numpy(pde.grid.axes[0])
    rows = []
    finest = jko[taus[-1]]
    for j, t in enumerate(snaps):
        colour = f"C{j}"
        rho = to_numpy(definition.density(t))
        a2.plot(x, rho, "-", color=colour, label=f"t = {t:g}")
        state = traj.states[int(np.argmin(np.abs(traj.times - t)))]
        a2.plot(xp[::6], state[::6], "o", ms=3, mfc="none", color=colour)
        X = finest.states[int(np.argmin(np.abs(finest.times - t)))]
        mid, dens = 0.5 * (X[1:] + X[:-1]), 1.0 / (N * np.diff(X))
        a2.plot(mid[::10], dens[::10], "--", color=colour, lw=0.8)
        rows += [[t, float(xi), float(r)] for xi, r in zip(x[::16], rho[::16])]
    a2.set_xlabel("φ")
    a2.set_ylabel("density of ν_t")
    a2.set_xlim(-3, 3)
    a2.set_title(f"lines: definition, circles: PDE, dashes: JKO τ = {taus[-1]:g}")
    a2.legend(fontsize=7)
    save_figure(fig, out / "measure_flow.png")

    def at(t: float, times: np.ndarray, values: np.ndarray) -> float:
        return float(values[int(np.argmin(np.abs(times - t)))])

    table = []
    for t in t_def:
        row = [t, at(t, t_def, m2_def), pde.expectation(lambda p: p[..., 0] ** 2, traj.states[int(np.argmin(np.abs(traj.times - t)))], t)]
        row += [at(t, tr["t"], tr["second_moment"]) for tr in jko.values()]
        table.append(row)
    _write_csv(out / "measure_flow.csv", ["t", "E_phi2_definition", "E_phi2_pde"] + [f"E_phi2_jko_tau{tau:g}" for tau in taus],
               table)
    _write_csv(out / "measure_flow_density.csv", ["t", "phi", "density_definition"], rows)
    pick = [table[int(np.argmin(np.abs(t_def - t)))] for t in snaps[1:]]
    fmt = lambda col: ", ".join(f"{r[col]:.4f}" for r in pick)
    return {
        "measure_flow": (f"E_ν_t[φ²] at t = ¼, ½, 1, 2: definition {fmt(1)}; PDE {fmt(2)}; "
                         + "; ".join(f"JKO τ={tau:g} {fmt(3 + i)}" for i, tau in enumerate(taus))),
    }


def _long_time(out: Path, plt, V0, quick: bool) -> dict[str, str]:
    """KL(ν_t‖π_t) and KL(ν_t‖N(0, Γ_t)) to large t in the rescaled variable, PDE and definition."""
    dec = P.PauliVillars(P.Lattice(1, 1, 1), 1.0)
    t_end = 1e3 if quick else 1e4
    pde = P.measure_flow(V0, dec, P.field_grid(1, 240 if quick else 960, 8.0), rescaled=True)
    checks = [0.1, 1.0, 10.0, 100.0, 1000.0] + ([] if quick else [1e4])
    traj = evolve(pde, pde.initial_density(), t_end, save_times=checks, rtol=1e-8)
    z = to_numpy(pde.grid.axes[0])
    h = pde.grid.spacing[0]
    target, free = np.exp(-z**2), np.exp(-0.5 * z**2)
    target, free = target / (target.sum() * h), free / (free.sum() * h)
    kl = lambda p, q: float(np.sum(p * np.log(np.maximum(p, 1e-300) / q)) * h)
    rows, defs = [], []
    for t in [0.0] + checks:
        rho = measure_density(V0, dec, t, z, rescaled=True)
        rho = rho / (rho.sum() * h)
        defs.append((t, kl(rho, target), kl(rho, free)))
    ts, K, Kf = traj["t"], traj["kl"], traj["kl_free"]
    limit = 0.5 * (1 - math.log(2))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    tt = np.maximum(ts, 1e-3)
    a1.semilogx(tt, K, "-", label="KL(ν_t‖π_t), π_t = N(0, Γ_t/2)  (PDE)")
    a1.semilogx(tt, 0.5 * K, "-", label="F_t(ν_t) = ½ KL(ν_t‖π_t)")
    a1.semilogx(tt, Kf, "-", label="KL(ν_t‖N(0, Γ_t))  (free-field flow)")
    d = np.asarray(defs)
    a1.semilogx(np.maximum(d[:, 0], 1e-3), d[:, 1], "ko", mfc="none", label="definition")
    a1.semilogx(np.maximum(d[:, 0], 1e-3), d[:, 2], "ko", mfc="none")
    a1.axhline(limit, color="k", lw=0.6, ls=":", label="½(1 − log 2)")
    a1.set_xlabel("t (t = 0 drawn at 10⁻³)")
    a1.set_title("relative entropies along the measure flow")
    a1.legend(fontsize=7)
    m2 = traj["second_moment"]
    gamma = np.array([float(dec.covariance(math.inf, t).full_symbol.ravel()[0]) if t > 0 else 1.0 for t in ts])
    a2.loglog(tt, m2, "-", label="E_{ν_t}[φ²]  (PDE, rescaled variable)")
    a2.loglog(tt, gamma, "--", label="Γ_t = C_∞ − C_t (the free-field value)")
    a2.set_xlabel("t")
    a2.set_title("ν_t → δ_0 as Γ_t → 0")
    a2.legend(fontsize=7)
    save_figure(fig, out / "long_time.png")
    _write_csv(out / "long_time.csv", ["t", "kl_pi_t", "free_energy", "kl_free", "E_phi2"],
               [[float(a), float(b), float(0.5 * b), float(c), float(e)] for a, b, c, e in zip(ts, K, Kf, m2)])
    i_min = int(np.argmin(K))
    worst = max(abs(float(np.interp(t, ts, K)) - k) for t, k, _ in defs)
    return {
        "long_time": (f"KL(ν_t‖π_t) = {K[0]:.4f} at t=0, min {K[i_min]:.4f} at t ≈ {ts[i_min]:.3g}, {K[-1]:.4f} at "
                      f"t = {ts[-1]:g} (limit ½(1−log 2) = {limit:.4f}); KL(ν_t‖N(0,Γ_t)) decreases "
                      f"{Kf[0]:.4f} → {Kf[-1]:.2e}; PDE vs definition KL max diff {worst:.1e}"),
    }
