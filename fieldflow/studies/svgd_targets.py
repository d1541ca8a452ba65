"""Mean-field SVGD (Duncan kernel, Bessel k) on the three targets of the reference talk, grid and particles side by side.

Targets in 2D: the standard Gaussian, a two-component Gaussian mixture (means (±1.5, 0), unit
covariance) and the banana ``x₁²/2 + (x₂ − 0.3x₁²)²/2``.  For the first two, ``(α, β)`` maximise the
theorem's factor ``(α∧1)e^β`` over ``α ∈ [0.05, 0.5]`` with ``β(α)`` the largest value with
``V ≥ α|x|² + β`` on the grid (a large ``e^{−β}`` also makes particle SVGD stiff); the banana violates ``V ≥ α|x|² + β`` for every ``α > 0``
(along its ridge ``V`` grows like ``x₁²/2`` while ``|x|² ~ 0.09 x₁⁴``) and is run with
``allow_violation=True``; the violated region on the box is reported.  For each target: snapshots of
the grid density and of particle SVGD with the same kernel (N particles, explicit Euler), the KL decay
on a semilog plot and the fitted exponential rate, compared with the theorem's rate ``(α∧1)e^β/(C0²‖e^{−V}‖₁)``
(``λ₀ = 1``); the particles' MMD² to the grid density is compared with the MMD² that ``N`` i.i.d. samples of
the grid density would have on average.  Writes ``snapshots_<target>.png``, ``kl_decay.png``,
``kl_<target>.csv``, ``rates.csv`` (each with a ``.json`` sidecar: units, meanings, run metadata) and
``findings.json``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

TITLE = "SVGD with the Duncan kernel: Gaussian, mixture and banana targets (grid vs particles, KL decay)"
DEFAULT = True
EXPECTED_SECONDS = (90, 900)

ELL, DT, BANANA_ALPHA = 1.0, 0.005, 0.4
#: bandwidth of the Gaussian kernel of the particle-vs-grid MMD²
MMD_BANDWIDTH = 0.5

COLUMNS = {
    "target": ("", "target potential (gaussian, mixture, banana)"),
    "alpha": ("", "α of the flow"), "beta": ("", "β of the flow (V ≥ α|x|² + β on the box, except the banana)"),
    "ell": ("length", "Bessel kernel scale ℓ"),
    "rate": ("1/time", "fitted λ in KL ≈ C e^{−λt} on [T/4, T]"),
    "fit_t0": ("time", "start of the fit window"), "fit_t1": ("time", "end of the fit window"),
    "r_squared": ("", "R² of the fit of log KL"),
    "theorem_rate": ("1/time", "(α∧1) e^β / (C0² ‖e^{−V}‖_{L¹}), the theorem's rate with λ₀ = 1"),
    "kl0": ("", "KL(ρ0 ‖ ρ∞)"), "kl_end": ("", "KL(ρ_T ‖ ρ∞)"),
    "particle_mmd2": ("", "squared MMD (Gaussian kernel, bandwidth 0.5) between the particles and the grid density at T"),
    "iid_mmd2": ("", "mean squared MMD of as many i.i.d. samples of the grid density (the Monte Carlo level)"),
    "particle_dt": ("time", "explicit Euler step of the particles"),
    "violated_cells": ("cells", "cells where V < α|x|² + β (the theorem's hypothesis fails)"),
    "violated_region": ("", "bounding box of those cells"),
}


def best_v0(values, sq_norm):
    """``(α, β)`` maximising ``α e^β`` subject to ``V ≥ α|x|² + β`` on the grid, ``α ∈ [0.05, 0.5]``."""
    alphas = np.linspace(0.05, 0.5, 46)
    betas = np.array([float(np.min(values - a * sq_norm)) for a in alphas])
    i = int(np.argmax(np.log(alphas) + betas))
    return float(alphas[i]), betas[i]


def mmd_noise_floor(grid, rho, n: int, bandwidth: float) -> float:
    """Mean squared MMD (biased V-statistic, as :func:`fieldflow.core.metrics.mmd_gaussian`) between the grid
    density and ``n`` i.i.d. samples of it: ``(1 − E k(x, y)) / n`` with ``x, y ~ ρ`` independent."""
    pts = np.asarray(grid.points).reshape(-1, grid.dim)
    w = np.asarray(rho).ravel() * grid.cell_volume
    w = w / w.sum()
    d2 = np.sum(pts**2, 1)[:, None] + np.sum(pts**2, 1)[None, :] - 2 * pts @ pts.T
    return float((1.0 - w @ np.exp(-np.maximum(d2, 0) / (2 * bandwidth**2)) @ w) / n)


def _targets():
    import fieldflow as ff

    return {
        "gaussian": (ff.potentials.Quadratic(1.0, dim=2), 4.0, (1.5, 1.5)),
        "mixture": (ff.potentials.GaussianMixture(means=[[-1.5, 0.0], [1.5, 0.0]], cov=1.0), 4.0, (0.0, 1.5)),
        "banana": (ff.potentials.Banana(a=1.0, b=0.3, sigma=1.0), 3.0, (0.0, 0.5)),
    }


def run(out: Path, quick: bool = True) -> dict[str, str]:
    import fieldflow as ff
    from fieldflow.svgd import particles as psvgd
    from fieldflow.fokker_planck.langevin import sample_gaussian
    from fieldflow.plotting import legend_outside, save_figure, subplots
    from fieldflow.core.trajectory import PreAsymptoticFitWarning
    from fieldflow.svgd.slsi import theorem_rate

    from . import _report as report

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n, t_end, n_particles = (32, 3.0, 120) if quick else (64, 8.0, 1500)
    info = report.RunInfo.create("svgd_targets", quick, n=n, t_end=t_end, particles=n_particles, ell=ELL, rtol=1e-4,
                                 initial_cov=0.5, mmd_bandwidth=MMD_BANDWIDTH)
    kernel = ff.svgd.Bessel(ELL)
    findings, rows = [], []
    fig_kl, ax_kl = subplots(figsize=(7.5, 3.8))
    for k, (name, (V, extent, mean0)) in enumerate(_targets().items()):
        report.announce("svgd_targets", f"{name} target: grid SVGD to t = {t_end:g}, then {n_particles} particles")
        grid = ff.Grid.box(n, extent, 2)
        banana = name == "banana"
        if banana:
            alpha, beta = BANANA_ALPHA, 0.0
        else:
            alpha, beta = best_v0(np.asarray(V.on_grid(grid)), np.asarray(np.sum(grid.points**2, -1)))
        pde = ff.SVGDFlow(grid, V, kernel, alpha=alpha, beta=beta, allow_violation=banana)
        rho0 = ff.densities.gaussian(grid, mean=mean0, cov=0.5)
        times = [0.0, t_end / 4, t_end]
        traj = ff.evolve(pde, rho0, t_end, save_times=times[1:], rtol=1e-4, label=f"{name}: grid SVGD")
        x0 = sample_gaussian(n_particles, mean=mean0, cov=0.5, dim=2, seed=0)
        # explicit steps: no particle may move more than 0.2 per step at the start (stiff Duncan weights)
        speed = float(np.max(np.linalg.norm(psvgd.velocity(x0, V, kernel, alpha, beta), axis=1)))
        dt = t_end / np.ceil(t_end / min(DT, 0.2 / speed))
        xs = ff.evolve(psvgd.SVGDParticles(V, kernel, alpha, beta), x0, t_end, dt=dt, save_times=times[1:],
                       label=f"{name}: {n_particles} SVGD particles").states
        with warnings.catch_warnings():  # a pre-asymptotic window is reported in the findings instead
            warnings.simplefilter("ignore", PreAsymptoticFitWarning)
            fit = traj.fit_exponential_rate("kl", window=(t_end / 4, t_end), full=True)
        mmd = ff.metrics.mmd_gaussian(grid, traj.final, xs[-1], bandwidth=MMD_BANDWIDTH)
        floor = mmd_noise_floor(grid, traj.final, n_particles, MMD_BANDWIDTH)
        theorem = theorem_rate(alpha, beta, kernel, float(np.exp(pde.log_Z)))
        _snapshots(out / f"snapshots_{name}.png", grid, pde, traj, xs, extent,
                   f"SVGD, {name} target (α = {alpha:.3g}, β = {beta:.3g}, ℓ = {ELL:g}): "
                   f"grid ρ_t − ρ∞ (top), {n_particles} particles (bottom); contours: ρ∞")
        t, kl = traj["t"], traj["kl"]
        ax_kl.semilogy(t, kl, color=f"C{k}", label=f"{name}: KL(ρ_t‖ρ∞)")
        tt = np.linspace(*fit.window, 30)
        ax_kl.semilogy(tt, fit.prefactor * np.exp(-fit.rate * tt), color="k", ls="--", lw=1.0, zorder=5,
                       label="fitted exponential on [T/4, T]" if k == 0 else None)
        ax_kl.semilogy(t, kl[0] * np.exp(-theorem * t), color=f"C{k}", ls=":", lw=1.2,
                       label=rf"{name}: $\mathrm{{KL}}(0)\,e^{{-\lambda_{{thm}} t}}$, $\lambda_{{thm}}$ = {theorem:.3g}")
        report.write_table(out / f"kl_{name}.csv", [{"t": a, "kl": b, "dissipation": c} for a, b, c in
                                                    zip(t, kl, traj["dissipation"])],
                           {"t": ("time", "time"), "kl": ("", "KL(ρ_t ‖ ρ∞) of the grid solution (nats)"),
                            "dissipation": ("1/time", "Stein–Fisher dissipation 𝔻²(ρ_t) = −dKL/dt")}, info)
        violated = pde.violation["cells"] if pde.violation else 0
        region = pde.violation["region"] if pde.violation else ""
        rows.append({"target": name, "alpha": alpha, "beta": beta, "ell": ELL, "rate": fit.rate, "fit_t0": fit.window[0],
                     "fit_t1": fit.window[1], "r_squared": fit.r_squared, "theorem_rate": theorem, "kl0": kl[0],
                     "kl_end": kl[-1], "particle_mmd2": mmd, "iid_mmd2": floor, "particle_dt": dt,
                     "violated_cells": violated, "violated_region": region})
        hypothesis = (f"V < α|x|² + β on {violated} of {grid.size} cells ({region}): the theorem does not apply, "
                      "run on purpose (open case)" if violated else "V ≥ α|x|² + β on the whole box")
        findings.append(report.fitted_rate(f"KL decay rate, {name} (α = {alpha:.3g}, β = {beta:.3g})", fit, theorem,
                                           kind="≥", against="the theorem's rate with λ₀ = 1", note=hypothesis))
        findings.append(report.bound(f"particle MMD² to the grid density at t = {t_end:g}, {name}", mmd, 3 * floor,
                                     kind="≤", slack=2.0, against=f"3 × the mean MMD² of {n_particles} i.i.d. samples",
                                     note=f"i.i.d. level {floor:.2e}; particle dt = {dt:.2g}"))
    ax_kl.set_xlabel("time t")
    ax_kl.set_ylabel("KL(ρ_t ‖ ρ∞)")
    ax_kl.set_title(f"KL decay, Bessel kernel ℓ = {ELL:g} (dotted: theorem's rate, λ₀ = 1)")
    legend_outside(ax_kl, where="right")
    save_figure(fig_kl, out / "kl_decay.png")
    report.write_table(out / "rates.csv", rows, COLUMNS, info)
    return report.finish(out, findings, info)


def _snapshots(path: Path, grid, pde, traj, xs, extent: float, title: str) -> None:
    """Grid ``ρ_t − ρ∞`` (top; one diverging colour scale) and particles (bottom) at the saved times."""
    from matplotlib.colors import TwoSlopeNorm

    from fieldflow.plotting import colorbar, save_figure, subplots

    fig, axes = subplots(2, 3, figsize=(10.5, 6.6), sharex=True, sharey=True)
    ext = [-extent, extent, -extent, extent]
    rho_inf = np.asarray(pde.rho_inf)
    diffs = [np.asarray(state) - rho_inf for state in traj.states]
    top = max(float(np.max(np.abs(d))) for d in diffs)
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-top, vmax=top)
    mesh = [np.asarray(a) for a in grid.mesh]
    for j, (t, diff, x) in enumerate(zip(traj.times, diffs, xs)):
        image = axes[0, j].imshow(diff.T, origin="lower", extent=ext, cmap="RdBu_r", norm=norm)
        axes[0, j].contour(*mesh, rho_inf, levels=5, colors="k", linewidths=0.5)
        axes[0, j].set_title(f"grid, t = {t:g}")
        axes[1, j].scatter(np.asarray(x)[:, 0], np.asarray(x)[:, 1], s=3, c="k")
        axes[1, j].contour(*mesh, rho_inf, levels=5, colors="C1", linewidths=0.6)
        axes[1, j].set_title(f"particles, t = {t:g}")
        axes[1, j].set_xlim(-extent, extent)
        axes[1, j].set_ylim(-extent, extent)
        axes[1, j].set_xlabel("x₁")
    for row in axes:
        row[0].set_ylabel("x₂")
    colorbar(fig, image, list(axes[0]), "ρ_t − ρ∞", shrink=0.9)
    fig.suptitle(title, fontsize=9.5)
    save_figure(fig, path)
