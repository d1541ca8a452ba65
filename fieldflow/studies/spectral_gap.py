"""Spectral gap of the linearised McKean–Vlasov operator L_q at the free-energy minimiser (Kuramoto–Daido).

For ``W = cos θ + m cos 2θ`` and the minimiser ``q`` of ``F_K``, ``gap(L_q)`` is the decay rate of
small perturbations (modulo rotation).  The linear-stability theorem of Mun–Rosenzweig (talk in
``reference/``) asserts, for ``K > 1`` and ``0 < m ≤ 8.568e-4`` (``1.590e-4`` in another statement),
that the spectrum of ``L_q`` is pure point in ``(−∞, 0]``, ``0`` is simple with eigenvector ``q'``,
and ``gap(L_q) ≥ C(K, m) > 0``.  This study measures the gap where the theorem applies and far
beyond it.  Outputs:

* ``gap_vs_K.csv`` / ``gap_vs_K.png`` — ``gap(L_q)`` against ``K`` for the Kuramoto model and
  several ``m`` (both small values of the theorem, ``m`` near 1/2, 1 and ``m_*``, and beyond),
  ``K_c(m)`` marked;
* ``gap_map.csv`` / ``gap_map.png`` — ``log10 gap`` over ``(m, K)`` (via the sweep layer) with
  ``K_c(m)``, ``K = 1`` and ``m_*``;
* ``eigenfunctions.png`` — ``q`` and the first eigenfunctions of ``L_q`` for three states;
* ``relaxation.csv`` / ``relaxation.png`` — the time-domain cross-check: fitted decay rates of the
  linearised and nonlinear flows against the gap;
* ``kuramoto_gaps.csv`` — the Kuramoto gap at ``K = 1.5, 2, 3`` (8 digits, with its two-resolution
  error estimate).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

from ..mckean_vlasov.interactions import kuramoto, kuramoto_daido
from ..plotting import pyplot, save_figure
from ..mckean_vlasov import (free_energy_minimizer, kuramoto_daido_m_star, linearized_spectrum, relaxation_rate)
from ..mckean_vlasov.gap_map import kuramoto_daido_gap_map, minimizer_gaps
from ..core.sweep import sweep

TITLE = "Spectral gap of L_q for the Kuramoto–Daido minimiser: gap(K), the (m, K) gap map, eigenfunctions"
DEFAULT = True

#: the theorem's two thresholds on m, then 1/2, 1, m_* (filled in at run time) and beyond
THEOREM_MS = (1.590e-4, 8.568e-4)


def _curve(args: tuple[float, tuple[float, ...]]) -> dict:
    m, Ks = args
    return minimizer_gaps(kuramoto_daido(m), Ks, modes=40)


def run(out: Path, quick: bool = True) -> dict[str, str]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plt = pyplot()
    summary: dict[str, str] = {}
    m_star, _ = kuramoto_daido_m_star()

    # ---------------------------------------------------------------- gap against K
    Ks = np.linspace(0.05, 3.0, 60 if quick else 300)
    ms = (0.0,) + THEOREM_MS + (0.25, 0.5, 0.75, 1.0, round(m_star, 6), 1.5, 2.0)
    curves = sweep(_curve, [(m, tuple(Ks)) for m in ms], chunks=len(ms))
    with open(out / "gap_vs_K.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["m", "K", "gap", "r1", "r2", "K_c"])
        for m, c in zip(ms, curves):
            for K, g, r in zip(c["K"], c["gap"], c["moments"]):
                r2 = r[1] if len(r) > 1 else 0.0
                w.writerow([f"{m:.6g}", f"{K:.6f}", f"{g:.12e}", f"{r[0]:.10f}", f"{r2:.10f}", f"{float(c['K_c']):.10f}"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for m, c in zip(ms, curves):
        label = "Kuramoto" if m == 0 else (f"m = {m:.4g}" + (" (m*)" if m == round(m_star, 6) else ""))
        for ax in axes:
            ax.plot(c["K"], c["gap"], label=label, lw=1.2)
    axes[0].set_ylim(-0.05, 1.6)
    axes[1].set_yscale("log")
    axes[1].set_ylim(1e-8, 10)
    for ax in axes:
        ax.axvline(1.0, color="0.6", ls=":", lw=0.8)
        ax.set_xlabel("K")
        ax.set_ylabel("gap(L_q) at the minimiser")
    axes[0].legend(fontsize=7, ncol=2)
    axes[0].set_title("gap(L_q) against K (K < K_c: uniform state)")
    axes[1].set_title("same, log scale")
    save_figure(fig, out / "gap_vs_K.png")
    small = [c for m, c in zip(ms, curves) if m in THEOREM_MS]
    above = [np.nanmin(c["gap"][c["K"] > 1.05]) for c in small]
    summary["theorem regime"] = (f"min gap over K in [1.05, 3] is {min(above):.4f} for m = "
                                 f"{', '.join(f'{m:g}' for m in THEOREM_MS)} (positive, as the theorem asserts)")

    # ---------------------------------------------------------------- the gap map
    t0 = time.perf_counter()
    gm_ms = np.linspace(0.0, 2.0, 40 if quick else 200)
    gm_Ks = np.linspace(0.05, 3.0, 40 if quick else 200)
    gmap = kuramoto_daido_gap_map(gm_ms, gm_Ks)
    t_map = time.perf_counter() - t0
    with open(out / "gap_map.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["m", "K", "gap", "r1", "r2"])
        for i, m in enumerate(gm_ms):
            for j, K in enumerate(gm_Ks):
                w.writerow([f"{m:.6f}", f"{K:.6f}", f"{gmap.gap[i, j]:.10e}", f"{gmap.r1[i, j]:.8f}", f"{gmap.r2[i, j]:.8f}"])
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    data = np.log10(np.clip(gmap.gap, 1e-10, None)).T
    im = ax.pcolormesh(gm_ms, gm_Ks, data, shading="auto", cmap="viridis", vmin=-8, vmax=1)
    fig.colorbar(im, ax=ax, label="log10 gap(L_q) at the minimiser")
    ax.plot(gm_ms, gmap.K_c, color="w", lw=1.5, label="K_c(m)")
    ax.axhline(1.0, color="w", ls=":", lw=1, label="K = 1")
    ax.axvline(m_star, color="r", ls="--", lw=1, label=f"m* = {m_star:.5f}")
    ax.axvspan(0, 8.568e-4, ymin=(1 - gm_Ks[0]) / (gm_Ks[-1] - gm_Ks[0]), color="orange", alpha=0.9,
               label="theorem: m ≤ 8.568e-4, K > 1")
    ax.set_xlabel("m")
    ax.set_ylabel("K")
    ax.legend(fontsize=7, loc="upper right")
    save_figure(fig, out / "gap_map.png")
    summary["gap map"] = (f"{gm_ms.size}×{gm_Ks.size} in {t_map:.1f} s; gap > 0 at every minimiser above K_c "
                          f"(min {np.nanmin(gmap.gap[gmap.r1 ** 2 + gmap.r2 ** 2 > 0]):.2e}); "
                          f"{int(np.isnan(gmap.gap).sum())} unconverged points")

    # ---------------------------------------------------------------- eigenfunctions
    cases = [(kuramoto(), 2.0, "Kuramoto, K = 2"), (kuramoto_daido(1.2), 1.2, "m = 1.2, K = 1.2"),
             (kuramoto_daido(2.0), 1.5, "m = 2, K = 1.5")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, (W, K, title) in zip(axes, cases):
        sp = linearized_spectrum(W, K, modes=48, count=5)
        half = sp.grid.shape[0] // 2  # plot on [−π, π) so that the cluster at θ = 0 is centred
        theta = np.roll(np.asarray(sp.grid.axes[0]), half)
        theta = np.where(theta >= np.pi, theta - 2 * np.pi, theta)
        ax.plot(theta, np.roll(sp.q, half) / np.abs(sp.q).max(), "k", lw=2, label="q / max q")
        for j, (lam, u) in enumerate(zip(sp.eigenvalues, sp.eigenfunctions)):
            tag = "zero mode ∝ q'" if j == sp.zero_mode else f"λ = {lam:.4g}"
            ax.plot(theta, np.roll(u, half) / np.abs(u).max(), lw=1, label=tag)
        ax.set_title(f"{title}: gap {sp.spectral_gap:.4g}")
        ax.set_xlabel("θ")
        ax.legend(fontsize=7)
    save_figure(fig, out / "eigenfunctions.png")

    # ---------------------------------------------------------------- time-domain cross-check
    fig, ax = plt.subplots(figsize=(5.5, 4))
    with open(out / "relaxation.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["case", "gap", "linear_rate", "nonlinear_rate", "linear_rel_err", "nonlinear_rel_err"])
        worst = 0.0
        for W, K, title in cases[:2]:
            st = free_energy_minimizer(W, K, n=128)
            gap = linearized_spectrum(W, K, st, modes=32, count=4).spectral_gap
            lin = relaxation_rate(W, K, st, t_end=12.0, window=(6.0, 12.0))
            non = relaxation_rate(W, K, st, nonlinear=True, amplitude=3e-4, t_end=12.0, window=(6.0, 12.0))
            e1, e2 = lin.rate / gap - 1, non.rate / gap - 1
            worst = max(worst, abs(e1), abs(e2))
            w.writerow([title, f"{gap:.12f}", f"{lin.rate:.12f}", f"{non.rate:.12f}", f"{e1:.2e}", f"{e2:.2e}"])
            ax.bar([f"{title}\nlinear", f"{title}\nnonlinear"], [abs(e1), abs(e2)])
    ax.set_yscale("log")
    ax.axhline(1e-3, color="r", ls="--", label="1e-3")
    ax.set_ylabel("|fitted rate / gap − 1|")
    ax.tick_params(axis="x", labelsize=7)
    ax.legend()
    save_figure(fig, out / "relaxation.png")
    summary["time-domain check"] = f"fitted decay rates match the gap to {worst:.1e} relative (linear and nonlinear)"

    # ---------------------------------------------------------------- the Kuramoto table
    with open(out / "kuramoto_gaps.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["K", "gap", "error_estimate", "r"])
        rows = []
        for K in (1.5, 2.0, 3.0):
            coarse = linearized_spectrum(kuramoto(), K, modes=48, count=4)
            fine = linearized_spectrum(kuramoto(), K, modes=96, count=4)
            st = free_energy_minimizer(kuramoto(), K)
            w.writerow([K, f"{fine.spectral_gap:.8f}", f"{abs(fine.spectral_gap - coarse.spectral_gap):.1e}", f"{st.r:.10f}"])
            rows.append(f"{fine.spectral_gap:.8f}")
    summary["Kuramoto gaps K=1.5, 2, 3"] = ", ".join(rows)
    return summary
