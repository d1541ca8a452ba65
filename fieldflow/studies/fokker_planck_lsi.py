"""KL decay of the Fokker–Planck flow and its measured log-Sobolev rates.

Three targets ``ρ∞ ∝ e^{−V}`` (``D = 1``):

* a strongly convex quadratic ``V = x²`` (``∇²V = 2``), where Bakry–Émery gives ``λ ≥ 2κ = 4``;
* a symmetric two-component Gaussian mixture (non-convex, bimodal);
* a double well ``V = h((x/s)² − 1)²`` with barrier ``h``.

For each, KL(t) is computed on the grid, the exponential rate is fitted where KL has fallen
below half its initial value, and compared with ``2·gap`` (the asymptotic rate, and by
Rothaus an upper bound on every LSI constant; ``gap`` is the discrete operator's spectral gap)
and with the Bakry–Émery lower bound where ``V`` is convex.  Writes ``kl_decay.png`` (KL against
time with the fitted exponentials; the local rate ``−d log KL/dt`` against ``2·gap`` and Bakry–Émery),
``rates.csv`` (+ ``rates.json``: units, meanings, run metadata), ``findings.json`` and one trajectory
``.npz`` per target.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import fieldflow as ff
from fieldflow.plotting import legend_outside, save_figure, subplots
from fieldflow.potentials import DoubleWell, GaussianMixture, Quadratic

from . import _report as report

TITLE = "Fokker–Planck: KL decay and measured log-Sobolev rates (convex, mixture, double well)"
DEFAULT = True
EXPECTED_SECONDS = (5, 60)

#: (label, key, V, initial mean, initial variance, t_end)
CASES = [
    ("strongly convex (V = x²)", "convex", Quadratic(0.5), 2.0, 0.3, 3.0),
    ("Gaussian mixture (±1.5, σ² = 0.5)", "mixture", GaussianMixture(means=[-1.5, 1.5], cov=0.5), 2.5, 0.2, 30.0),
    ("double well (h = 1, s = 1.5)", "double_well", DoubleWell(barrier=1.0, separation=1.5), 2.5, 0.1, 20.0),
]
#: the measured rate equals 2·gap up to what the fit window keeps of faster modes (the default steps are exact in
#: time, Lanczos rtol 1e-8; measured 7e-5–1.3e-4): 1e-3 relative
RATE_RTOL = 1e-3
#: the discrete gap of the convex case is below the continuum's 2κ by O(h²): 7e-4 at n = 256
BAKRY_EMERY_SLACK = 2e-3

COLUMNS = {
    "target": ("", "target potential (convex, mixture, double_well)"),
    "fitted_rate": ("1/time", "rate λ of the least-squares fit KL ≈ C e^{−λt} over the fit window"),
    "fit_t0": ("time", "start of the fit window (KL has covered half its log-decrease)"),
    "fit_t1": ("time", "end of the fit window (last sample above 1e-12·KL(0))"),
    "r_squared": ("", "R² of the fit of log KL"),
    "two_times_gap": ("1/time", "2 × spectral gap of the discrete Fokker–Planck operator (asymptotic KL rate)"),
    "bakry_emery_bound": ("1/time", "2κ with ∇²V ⪰ κ (lower bound on the LSI constant); nan where V is not convex"),
    "n": ("cells", "grid cells on [−6, 6]"),
}


def run(out: Path, quick: bool = True) -> dict[str, str]:
    """Run the three targets; write the figure, the table and the trajectories into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n = 256 if quick else 1024
    info = report.RunInfo.create("fokker_planck_lsi", quick, n=n, extent=6.0, D=1.0, rtol=1e-8)
    fig, (ax, ax_rate) = subplots(1, 2, figsize=(10, 3.8))
    rows, findings = [], []
    for k, (label, key, V, m0, v0, t_end) in enumerate(CASES):
        report.announce("fokker_planck_lsi", f"{label}: evolving to t = {t_end:g}")
        grid = ff.Grid.box(n=n, extent=6.0)
        pde = ff.FokkerPlanck(grid, V)
        traj = ff.evolve(pde, ff.densities.gaussian(grid, mean=m0, cov=v0), t_end, save_every=t_end / 200,
                         rtol=1e-8, atol=1e-12, label=label)
        traj.save(out / f"{key}.npz")
        t, kl = traj["t"], traj["kl"]
        fit = traj.fit_exponential_rate("kl", full=True)
        gap = pde.spectral_gap()
        kappa = V.hessian_lower_bound
        be = 2 * kappa if kappa and kappa > 0 else float("nan")
        rows.append({"target": key, "fitted_rate": fit.rate, "fit_t0": fit.window[0], "fit_t1": fit.window[1],
                     "r_squared": fit.r_squared, "two_times_gap": 2 * gap, "bakry_emery_bound": be, "n": n})
        findings.append(report.fitted_rate(f"fitted rate of KL decay, {label}", fit, 2 * gap, against="2·gap",
                                           rtol=RATE_RTOL))
        if be == be:
            findings.append(report.bound(f"2·gap against Bakry–Émery, {label}", 2 * gap, be, kind="≥",
                                         against="2κ", slack=BAKRY_EMERY_SLACK, unit="1/time",
                                         note=f"the discrete gap is O(h²) below the continuum's at n = {n}"))
        colour = f"C{k}"
        keep = kl > 1e-12 * kl[0]
        ax.semilogy(t[keep], kl[keep], color=colour, label=label)
        tt = np.linspace(*fit.window, 50)
        ax.semilogy(tt, fit.prefactor * np.exp(-fit.rate * tt), color="k", ls="--", lw=1.0, zorder=5,
                    label="fitted exponential on its window" if k == 0 else None)
        local = -np.gradient(np.log(kl[keep]), t[keep])
        ax_rate.plot(t[keep][1:-1], local[1:-1], color=colour, label=f"{label}: −d log KL/dt")
        ax_rate.axhline(2 * gap, color=colour, ls="--", lw=1.0, zorder=5, label=f"2·gap = {2 * gap:.4f}")
        if be == be:
            ax_rate.axhline(be, color="k", ls=":", lw=1.2, zorder=5, label=f"Bakry–Émery 2κ = {be:g}")
    ax.set_xlabel("time t")
    ax.set_ylabel("KL(ρ_t ‖ ρ∞)")
    ax.set_title("KL decay (dashed: fitted exponentials)")
    ax_rate.set_xscale("log")
    ax_rate.set_yscale("log")
    ax_rate.set_xlabel("time t")
    ax_rate.set_ylabel("local decay rate −d log KL/dt (1/time)")
    ax_rate.set_title("local rate → 2·gap (dashed, same colour)")
    legend_outside(ax, where="below", ncol=1)
    legend_outside(ax_rate, where="right")
    save_figure(fig, out / "kl_decay.png")
    report.write_table(out / "rates.csv", rows, COLUMNS, info)
    return report.finish(out, findings, info)
