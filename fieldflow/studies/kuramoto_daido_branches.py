"""Kuramoto–Daido: every stationary branch, the free-energy landscapes, and N oscillators across the transition.

For ``W = cos θ + m cos 2θ`` (Kuramoto: ``m = 0``):

* **bifurcation diagrams** (:func:`~fieldflow.mckean_vlasov.bifurcation_diagram`) for
  ``m ∈ {0.25, 0.8, 1.2, m_*, 2}`` — every even branch, stable solid / unstable dashed (number of
  positive eigenvalues of ``L_q``), folds and bifurcation points, ``K_c`` from the free energies;
* **checks**: the Kuramoto branch against ``r = I_1(2Kr)/I_0(2Kr)``; each fold against the ``K`` where
  the leading non-zero eigenvalue of ``L_q`` crosses 0 (:func:`~fieldflow.mckean_vlasov.spectral_fold`);
  ``K_c`` from the branches against :func:`~fieldflow.mckean_vlasov.critical_coupling` over ``m ∈ [−2, 3]``;
* **non-even states** searched at each ``m`` (:func:`~fieldflow.mckean_vlasov.non_even_states`);
* **landscapes**: the talk's ``F_K(r)`` for Kuramoto at ``K ∈ {0.8, 1, 1.2}``, and the constrained free
  energy on the ``(r_1, r_2)`` plane just below and above ``K_c`` for one ``m`` in each of the five regimes;
* **particles**: hysteresis loops of ``|Z_1|`` for ``N`` oscillators ramped up and down through ``K_c``
  against the mean-field branches and their finite-``N`` bands; finite-size scaling of ``⟨|Z_1|⟩`` at
  ``K_c`` (continuous regime) with the fitted exponent; mean switching times between the coexisting
  states at ``K_c`` (discontinuous regime) against the Arrhenius law ``e^{2NΔF‡}``.
"""

from __future__ import annotations

import csv
import math
import os
import time
from concurrent.futures import Executor, ProcessPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import ive

from ..core.sweep import sweep
from ..mckean_vlasov import (bifurcation_diagram, constrained_free_energy, critical_coupling, free_energy_landscape,
                             kuramoto_daido_m_star, kuramoto_free_energy_profile, non_even_states, spectral_fold,
                             stationary_states)
from ..mckean_vlasov.finite_size import (critical_order_parameter, hysteresis_loops, order_parameter_band,
                                         order_parameter_scaling, subcritical_order_parameter, switching_times,
                                         unrelaxed)
from ..mckean_vlasov.interactions import kuramoto, kuramoto_daido
from ..plotting import pyplot, save_figure

TITLE = "Kuramoto–Daido branches: continuation of every stationary state, landscapes, N oscillators across K_c"
DEFAULT = True

#: couplings shown for each m of the bifurcation diagrams (m_* is filled in at run time)
RANGES = {0.25: (0.6, 1.6), 0.8: (0.6, 1.6), 1.2: (0.5, 1.4), "m*": (0.5, 1.4), 2.0: (0.3, 1.4)}
#: m of the K_c comparison (negative m: K_c = 1, continuous)
KC_MS = (-2.0, -1.0, -0.5, 0.0, 0.25, 0.5, 0.6, 0.8, 1.0, 1.2, 1.25, 1.5, 2.0, 3.0)
#: discontinuous m whose fold is checked against the spectrum of L_q
FOLD_MS = (0.6, 0.8, 1.0, 1.2, 1.25)


def _diagram(args: tuple[float, tuple[float, float], bool]) -> Any:
    m, K_range, spectra = args
    return bifurcation_diagram(kuramoto_daido(m) if m else kuramoto(), K_range, spectra=spectra)


def _landscape(args: tuple[float, float, int]) -> Any:
    m, K, points = args
    return free_energy_landscape(kuramoto_daido(m), K, np.linspace(-1, 1, points), np.linspace(-1, 1, points))


def _non_even(args: tuple[float, float, int]) -> tuple[float, float, int, float, float]:
    m, K, per_axis = args
    W = kuramoto_daido(m)
    found = non_even_states(W, K, per_axis=per_axis)
    even = min(s.free_energy for s in stationary_states(W, K)) + 0.5 * math.log(2 * math.pi)
    return m, K, len(found), min((s.delta_free_energy for s in found), default=math.nan), even


def _fold_check(m: float) -> tuple[float, float, float]:
    W = kuramoto_daido(m)
    fold = bifurcation_diagram(W, (0.5, 1.4), spectra=False).folds[0]
    return m, fold.K, spectral_fold(W, fold)[0]


def _kc_check(m: float) -> tuple[float, float, str, float, str]:
    W = kuramoto_daido(m)
    ref = critical_coupling(W)
    K_sharp = ref.K_sharp
    diagram = bifurcation_diagram(W, (0.6 * K_sharp, 1.3 * max(1.0, K_sharp)), spectra=False)
    return m, diagram.K_c, diagram.kind, ref.K_c, ref.kind


def run(out: Path, quick: bool = True) -> dict[str, str]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # one pool for every sweep
        return _run(out, quick, pool)


def _run(out: Path, quick: bool, pool: Executor) -> dict[str, str]:
    summary: dict[str, str] = {}
    t_start = t0 = time.perf_counter()
    m_star_future = pool.submit(kuramoto_daido_m_star)

    # ------------------------------------------------------------ bifurcation diagrams and checks
    folds = sweep(_fold_check, FOLD_MS, executor=pool, chunks=len(FOLD_MS))
    kcs = sweep(_kc_check, KC_MS if not quick else (-1.0, 0.25, 0.8, 1.2, 2.0), executor=pool, chunks=4)
    m_star, _ = m_star_future.result()
    ranges = {(m_star if m == "m*" else m): r for m, r in RANGES.items()}
    ms = list(ranges)
    tasks = [(m, ranges[m], True) for m in ms] + [(0.0, (0.5, 3.0), True)]
    diagrams = sweep(_diagram, tasks, executor=pool, chunks=len(tasks))
    kuramoto_diagram = diagrams.pop()
    t_diagrams = time.perf_counter() - t0
    _write_branches(out, ms, diagrams)
    _plot_diagrams(out / "bifurcation_diagrams.png", ms, diagrams, m_star)
    k_err, r_err = _kuramoto_check(kuramoto_diagram)
    with open(out / "checks.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["check", "m", "continuation", "reference", "difference"])
        w.writerow(["Kuramoto max|K - K_ref(r)|", 0, "", "", f"{k_err:.2e}"])
        w.writerow(["Kuramoto max|r - r_ref(K)|", 0, "", "", f"{r_err:.2e}"])
        for m, K_fold, K_spec in folds:
            w.writerow(["fold K: bordered system vs L_q eigenvalue crossing", m, f"{K_fold:.15f}", f"{K_spec:.15f}",
                        f"{abs(K_fold - K_spec):.1e}"])
        for m, K_c, kind, K_ref, kind_ref in kcs:
            w.writerow([f"K_c: F tie on the branches ({kind}) vs critical_coupling ({kind_ref})", m, f"{K_c:.15f}",
                        f"{K_ref:.15f}", f"{abs(K_c - K_ref):.1e}"])
    summary["continuation"] = (f"{sum(len(b) for d in diagrams for b in d.branches)} points on "
                               f"{sum(len(d.branches) for d in diagrams)} branches, "
                               f"{sum(len(d.folds) for d in diagrams)} folds, "
                               f"{sum(len(d.bifurcations) for d in diagrams)} bifurcation points ({t_diagrams:.1f} s)")
    summary["Kuramoto branch"] = f"max|K - K_ref(r)| = {k_err:.1e}, max|r - r_ref(K)| = {r_err:.1e} (Bessel ratio)"
    summary["folds"] = (f"bordered vs L_q crossing: max |ΔK| = {max(abs(a - b) for _, a, b in folds):.1e} "
                        f"over m = {', '.join(f'{m:g}' for m in FOLD_MS)}")
    summary["K_c"] = (f"F tie vs critical_coupling: max |ΔK_c| = {max(abs(a - b) for _, a, _, b, _ in kcs):.1e} "
                      f"over {len(kcs)} values of m in [-2, 3]; kinds agree: "
                      f"{all(k == kr for _, _, k, _, kr in kcs)}")

    # ------------------------------------------------------------ non-even states
    t0 = time.perf_counter()
    ranges_ne = {**ranges, -1.0: (0.6, 1.6)}
    Ks_ne = {m: np.linspace(*ranges_ne[m], 4 if quick else 8) for m in ranges_ne}
    non_even = sweep(_non_even, [(m, float(K), 5 if quick else 9) for m in Ks_ne for K in Ks_ne[m]], executor=pool)
    with open(out / "non_even.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["m", "K", "non_even_states", "least_delta_F_non_even", "least_delta_F_even"])
        w.writerows([[f"{m:.10g}", f"{K:.6f}", n, f"{f:.10g}", f"{e:.10g}"] for m, K, n, f, e in non_even])
    lower = [row for row in non_even if row[2] and row[3] < row[4]]
    summary["non-even states"] = (f"{sum(row[2] for row in non_even)} found at {len(non_even)} (m, K); "
                                  f"{len(lower)} lower F than the even minimiser ({time.perf_counter() - t0:.0f} s)")

    # ------------------------------------------------------------ landscapes
    t0 = time.perf_counter()
    _plot_kuramoto_profile(out / "kuramoto_free_energy.png")
    regimes = [(0.25, "① m ≤ 1/2: continuous, K_c = 1"), (0.8, "② 1/2 < m ≤ 1: discontinuous, K_c < 1"),
               (1.2, "③ 1 < m < m*: discontinuous, K_c < 1/m"), (m_star, "④ m = m*: K_c = 1/m"),
               (2.0, "⑤ m > m*: continuous, K_c = 1/m")]
    couplings = []
    for m, _ in regimes:
        c = critical_coupling(kuramoto_daido(m))
        delta = 0.01 if c.kind == "discontinuous" or m == m_star else 0.05
        couplings.append((c.K_c * (1 - delta), c.K_c * (1 + delta)))
    points = 61 if quick else 161
    landscapes = sweep(_landscape, [(m, K, points) for (m, _), Ks in zip(regimes, couplings) for K in Ks],
                       executor=pool)
    _plot_landscapes(out / "landscapes.png", regimes, landscapes)
    summary["landscapes"] = (f"F_K(r) at K = 0.8, 1, 1.2; {len(landscapes)} planes of {points}² points "
                             f"({time.perf_counter() - t0:.0f} s)")

    # ------------------------------------------------------------ particles: hysteresis loops
    t0 = time.perf_counter()
    Ns = (100, 1000) if quick else (100, 1000, 10000)
    loop_ms = {0.25: (0.8, 1.2), 0.8: (0.86, 1.06)} if quick else {0.25: (0.8, 1.2), 0.8: (0.86, 1.06),
                                                                   1.2: (0.76, 0.9)}
    loops = {m: hysteresis_loops(kuramoto_daido(m), K_range, Ns, n_K=16 if quick else 21,
                                 t_segment=20.0 if quick else 30.0, seed=7, executor=pool)
             for m, K_range in loop_ms.items()}
    t_loops = time.perf_counter() - t0
    by_m = {m: d for m, d in zip(ms, diagrams)}
    folds = {m: (by_m[m].folds if m in by_m else bifurcation_diagram(kuramoto_daido(m), K_range, spectra=False).folds)
             for m, K_range in loop_ms.items()}
    inside, total, excused, unexplained = _write_loops(out, loops, folds)
    _plot_loops(out / "hysteresis.png", loops, by_m)
    summary["hysteresis"] = (f"{inside}/{total} segment averages inside the ±3σ_N band of a stable branch; of the "
                             f"{total - inside} outside, {excused} had not relaxed by the derived times (1/|λ| of "
                             f"L_q, escape from an unstable state, fold ghost) or switched, {unexplained} "
                             f"unexplained; "
                             f"N = {', '.join(map(str, Ns))} ({t_loops:.0f} s)")

    # ------------------------------------------------------------ finite-size scaling at K_c
    t0 = time.perf_counter()
    W = kuramoto_daido(0.25)
    fss_Ns = (100, 300, 1000) if quick else (100, 1000, 10000)
    at_kc = order_parameter_scaling(W, 1.0, fss_Ns, t_end=400.0 if quick else 3000.0,
                                    burn_in=40.0 if quick else 300.0, replicas=3 if quick else 4, seed=11, executor=pool)
    below = order_parameter_scaling(W, 0.8, fss_Ns, t_end=200.0 if quick else 400.0, burn_in=20.0,
                                    replicas=3 if quick else 4, seed=12, executor=pool)
    t_fss = time.perf_counter() - t0
    _write_scaling(out, W, at_kc, below)
    summary["finite-size scaling"] = (
        f"<|Z_1|> at K_c = 1 (m = 0.25): exponent {at_kc.exponent:.3f} ± {at_kc.exponent_error:.3f} (theory −1/4); "
        f"at K = 0.8: {below.exponent:.3f} ± {below.exponent_error:.3f} (theory −1/2) ({t_fss:.0f} s)")

    # ------------------------------------------------------------ switching times at K_c (discontinuous)
    t0 = time.perf_counter()
    m_sw = 0.8
    W = kuramoto_daido(m_sw)
    c = critical_coupling(W)
    states = stationary_states(W, c.K_c)
    saddle = min((s for s in states if not s.stable), key=lambda s: abs(s.order_parameters[0] - 0.3))
    ordered = max(states, key=lambda s: s.order_parameters[0])
    barrier = saddle.free_energy - states[0].free_energy
    sw_Ns = (300, 500) if quick else (400, 600, 800, 1000)
    low = 0.5 * (float(subcritical_order_parameter(W, c.K_c, sw_Ns[-1])) + saddle.order_parameters[0])
    high = 0.5 * (saddle.order_parameters[0] + ordered.order_parameters[0])
    sw = switching_times(W, c.K_c, sw_Ns, low, high, t_end=1000.0 if quick else 10000.0, dt=0.05 if quick else 0.025,
                         seed=3, executor=pool)
    t_sw = time.perf_counter() - t0
    slope, slope_err = _write_switching(out, sw, barrier)
    summary["switching"] = (f"m = {m_sw}, K_c = {c.K_c:.6f}, barrier ΔF‡ = {barrier:.3e}: τ_uniform = "
                            f"{', '.join(f'{t:.0f}' for t in sw.uniform)}, τ_ordered = "
                            f"{', '.join(f'{t:.0f}' for t in sw.ordered)} for N = {', '.join(map(str, sw.N))}; "
                            f"d log√(τ_u τ_o)/dN = {slope:.2e} ± {slope_err:.1e} vs 2ΔF‡ = {2 * barrier:.2e} "
                            f"({t_sw:.0f} s)")
    summary["figures"] = ("bifurcation_diagrams.png, kuramoto_free_energy.png, landscapes.png, hysteresis.png, "
                          f"finite_size_scaling.png, switching.png (+ CSV); total {time.perf_counter() - t_start:.0f} s")
    return summary


# ---------------------------------------------------------------------------- checks


def _kuramoto_check(diagram: Any) -> tuple[float, float]:
    """``max|K − K_ref(r)|`` and ``max|r − r_ref(K)|`` on the ordered Kuramoto branch (Bessel-ratio references).

    ``A(x) = I_1(x)/I_0(x)`` increases from 0 to 1, so ``K_ref(r) = A^{-1}(r)/(2r)`` is well conditioned at
    every ``r``; ``r_ref(K)`` solves ``r = A(2Kr)`` (ill-conditioned next to ``K = 1``, where ``dr/dK → ∞``).
    """
    A = lambda x: ive(1, x) / ive(0, x)  # noqa: E731
    branch = next(b for b in diagram.branches if not b.uniform)
    k_err, r_err = 0.0, 0.0
    for K, r in zip(branch.K, branch.moments[:, 0]):
        if r <= 0:
            continue
        x = brentq(lambda x: A(x) - r, 1e-300, 1e4, xtol=1e-300, rtol=1e-15)
        k_err = max(k_err, abs(K - x / (2 * r)))
        if K > 1:
            r_ref = brentq(lambda s: s - A(2 * K * s), 1e-12, 1.0, xtol=1e-16, rtol=1e-15)
            r_err = max(r_err, abs(r - r_ref))
    return k_err, r_err


# ---------------------------------------------------------------------------- tables and figures


def _label(m: float, m_star: float) -> str:
    return f"m = m* = {m:.6f}" if m == m_star else f"m = {m:g}"


def _write_branches(out: Path, ms: list[float], diagrams: list[Any]) -> None:
    with open(out / "branches.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["m", "branch", "K", "r1", "r2", "delta_free_energy", "unstable_eigenvalues", "top_eigenvalue"])
        for m, d in zip(ms, diagrams):
            for row in d.rows():
                w.writerow([f"{m:.10g}", row["branch"], f"{row['K']:.12f}", f"{row['r1']:.12f}", f"{row['r2']:.12f}",
                            f"{row['delta_free_energy']:.12e}", row["unstable"], f"{row['top_eigenvalue']:.8e}"])
    with open(out / "special_points.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["m", "kind", "K", "r1", "r2", "delta_free_energy", "uniform_mode"])
        for m, d in zip(ms, diagrams):
            for p in d.folds + d.bifurcations:
                w.writerow([f"{m:.10g}", p.kind, f"{p.K:.15f}", f"{p.r1:.10f}", f"{p.r2:.10f}",
                            f"{p.delta_free_energy:.6e}", p.mode or ""])
            w.writerow([f"{m:.10g}", f"K_c ({d.kind})", f"{d.K_c:.15f}", "", "", "", ""])


def _plot_diagrams(path: Path, ms: list[float], diagrams: list[Any], m_star: float) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(2, len(ms), figsize=(3.3 * len(ms) + 2.2, 6.2), squeeze=False)
    for j, (m, d) in enumerate(zip(ms, diagrams)):
        for i, order in enumerate((1, 2)):
            ax = axes[i, j]
            d.plot(ax, order=order, legend=False)
            ax.set_ylim(-0.03, 1.0)
            if i == 0:
                ax.set_title(_label(m, m_star), fontsize=10)
    handles = {}
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if not lab.startswith("$K_c$"):
                handles.setdefault(lab, h)
    order = sorted(handles, key=lambda lab: (lab[0] != "s", lab[0] != "u", lab.split("(")[-1], lab))
    axes[0, -1].legend([handles[lab] for lab in order], order, fontsize=8, loc="upper left", bbox_to_anchor=(1.04, 1.0),
                       borderaxespad=0, title="solid: stable, dashed: unstable\n(positive eigenvalues of $L_q$)",
                       title_fontsize=7)
    fig.suptitle("Kuramoto–Daido $W = \\cos\\theta + m\\cos 2\\theta$: every even stationary branch "
                 "(dotted line: $K_c$ from the free energies)", fontsize=10)
    save_figure(fig, path)


def _plot_kuramoto_profile(path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    r = np.linspace(-0.95, 0.95, 381)
    for K, colour in ((0.8, "tab:blue"), (1.0, "tab:green"), (1.2, "tab:red")):
        ax.plot(r, kuramoto_free_energy_profile(K, r), color=colour, lw=1.8, label=f"$F_K(r)$, K = {K}")
        ax.plot(r, 2 * constrained_free_energy(kuramoto(), K, r[:, None]), color=colour, lw=1, ls="--",
                label=f"$2\\Delta\\tilde F_K(r)$, K = {K}")
        for s in stationary_states(kuramoto(), K):
            for sign in (1, -1):
                x = sign * s.moments[0]
                ax.plot(x, kuramoto_free_energy_profile(K, x), "o" if s.stable else "x", color=colour, ms=6,
                        mfc=colour if s.stable else "none")
    ax.set_xlabel("$r = \\int \\cos\\theta\\, q$")
    ax.set_ylabel("free energy (dimensionless)")
    ax.set_ylim(-0.08, 0.25)
    ax.set_title("Kuramoto: $F_K(r) = Kr^2 - \\log I_0(2Kr)$ (talk) and the constrained free energy\n"
                 "markers: stationary states (filled stable, × unstable)", fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    save_figure(fig, path)


def _plot_landscapes(path: Path, regimes: list[tuple[float, str]], landscapes: list[Any]) -> None:
    plt = pyplot()
    from matplotlib.colors import SymLogNorm

    # differences of F span 1e-6 (next to K_c) to 1: symmetric-log colours, linear within ±1e-5
    decades = 10.0 ** np.arange(-5, 0)
    levels = np.concatenate([-decades[::-1], [0.0], decades])
    levels = np.unique(np.concatenate([levels, levels[:-1] * 3.0]))
    norm = SymLogNorm(linthresh=1e-5, vmin=-0.1, vmax=0.1, base=10)
    fig, axes = plt.subplots(2, len(regimes), figsize=(3.4 * len(regimes) + 1.5, 7.0), squeeze=False)
    for j, (m, title) in enumerate(regimes):
        for i in range(2):
            L = landscapes[2 * j + i]
            ax = axes[i, j]
            cs = ax.contourf(L.r1, L.r2, L.values.T, levels=levels, norm=norm, cmap="RdBu_r", extend="both")
            ax.contour(L.r1, L.r2, L.values.T, levels=[0.0], colors="k", linewidths=0.6)
            for s in L.states:
                ax.plot(s["r1"], s["r2"], "o" if s["stable"] else "x", color="k" if s["stable"] else "tab:orange",
                        ms=6 if s["stable"] else 7, mfc="yellow" if s["stable"] else "none", mew=1.5)
            c = np.linspace(-1, 1, 101)
            ax.plot(c, 2 * c * c - 1, color="0.3", lw=0.8)
            ax.set_xlim(-1, 1)
            ax.set_ylim(-1, 1)
            ax.set_aspect("equal")
            ax.set_title(f"{title}\nm = {m:.4g}, K = {L.K:.5f}" if i == 0 else f"K = {L.K:.5f}", fontsize=8)
            ax.set_xlabel("$r_1 = \\int\\cos\\theta\\, q$")
            ax.set_ylabel("$r_2 = \\int\\cos 2\\theta\\, q$")
            fig.colorbar(cs, ax=ax, shrink=0.7, label="$F - F_{uniform}$", ticks=[-1e-2, -1e-4, 0, 1e-4, 1e-2],
                         format="%.0e")
    fig.suptitle("Constrained free energy $\\Delta\\tilde F_K(r_1, r_2)$ just below (top) and above (bottom) $K_c$; "
                 "yellow: stable stationary states, orange ×: unstable; black contour: $\\Delta\\tilde F = 0$; "
                 "grey: edge of the moment space", fontsize=9)
    save_figure(fig, path)


@lru_cache(maxsize=4096)
def _stable_moments(m: float, K: float) -> tuple[tuple[float, ...], ...]:
    """Moments of the stable states at ``(m, K)``, and of the uniform state where it is marginal (``K = 1``)."""
    states = stationary_states(kuramoto_daido(m), K)
    return tuple(s.moments for s in states if s.stable or (s.uniform and abs(K - 1) < 1e-12 and m < 0.5))


def _bands(m: float, K: float, N: int) -> list[tuple[float, float]]:
    """``(mean, half-width)`` of ``|Z_1|`` around each stable mean-field state at ``(m, K)``."""
    return [order_parameter_band(kuramoto_daido(m), K, r, N) for r in _stable_moments(m, K)]


def _write_loops(out: Path, loops: dict[float, dict[int, tuple[Any, Any]]],
                 folds: dict[float, list[Any]]) -> tuple[int, int, int, int]:
    """Table of the loops; returns (in band, segments, outside but unrelaxed or switching, outside otherwise)."""
    inside = total = excused = unexplained = 0
    with open(out / "hysteresis.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["m", "N", "direction", "K", "r1_mean", "r1_std", "r1_drift", "in_band", "unrelaxed", "switching"])
        for m, by_N in loops.items():
            W = kuramoto_daido(m)
            for N, pair in by_N.items():
                for direction, ramp in zip(("up", "down"), pair):
                    late = unrelaxed(W, ramp, folds.get(m, []))
                    for K, r, sd, drift, slow in zip(ramp.K, ramp.r1, ramp.std[:, 0], ramp.drift[:, 0], late):
                        bands = _bands(m, float(K), N)
                        ok = any(abs(r - mean) <= half for mean, half in bands)
                        switching = abs(drift) > max(half / 3 for _, half in bands)  # > 1 σ of the widest band
                        total += 1
                        inside += ok
                        excused += (not ok) and (slow or switching)
                        unexplained += not (ok or slow or switching)
                        w.writerow([m, N, direction, f"{K:.5f}", f"{r:.6f}", f"{sd:.6f}", f"{drift:.6f}", int(ok),
                                    int(slow), int(switching)])
    return inside, total, excused, unexplained


def _plot_loops(path: Path, loops: dict[float, dict[int, tuple[Any, Any]]], diagrams: dict[float, Any]) -> None:
    plt = pyplot()
    Ns = sorted(next(iter(loops.values())))
    fig, axes = plt.subplots(len(loops), len(Ns), figsize=(3.6 * len(Ns) + 2.0, 3.3 * len(loops)), squeeze=False)
    for i, (m, by_N) in enumerate(loops.items()):
        for j, N in enumerate(Ns):
            ax = axes[i, j]
            up, down = by_N[N]
            K_grid = np.linspace(up.K.min(), up.K.max(), 61)
            bands = [sorted(_bands(m, float(K), N)) for K in K_grid]  # by mean: uniform first
            for rank in range(max(len(b) for b in bands)):
                lo = np.array([b[rank][0] - b[rank][1] if len(b) > rank else np.nan for b in bands])
                hi = np.array([b[rank][0] + b[rank][1] if len(b) > rank else np.nan for b in bands])
                ax.fill_between(K_grid, np.maximum(lo, 0), hi, where=np.isfinite(lo), color="0.85", lw=0, zorder=0)
            d = diagrams.get(m)
            if d is not None:
                for br in d.branches:
                    keep = (br.K >= up.K.min()) & (br.K <= up.K.max())
                    for stable in (True, False):
                        sel = keep & (br.stable == stable)
                        y = np.where(sel, br.r1, np.nan)
                        ax.plot(br.K, y, "k-" if stable else "k--", lw=1.2 if stable else 0.8)
            ax.plot(up.K, up.r1, "^", color="tab:red", ms=5, label="ramp up")
            ax.plot(down.K, down.r1, "v", color="tab:blue", ms=5, mfc="none", label="ramp down")
            ax.set_xlim(up.K.min(), up.K.max())
            ax.set_ylim(0, 1)
            ax.set_title(f"m = {m:g}, N = {N}", fontsize=9)
            ax.set_xlabel("coupling $K$")
            ax.set_ylabel("time-averaged $|Z_1|$")
    axes[0, -1].plot([], [], "k-", label="mean field, stable")
    axes[0, -1].plot([], [], "k--", label="mean field, unstable")
    axes[0, -1].plot([], [], color="0.85", lw=6, label="±3σ_N band (stable states)")
    axes[0, -1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.04, 1.0), borderaxespad=0)
    save_figure(fig, path)


def _write_scaling(out: Path, W: Any, at_kc: Any, below: Any) -> None:
    with open(out / "finite_size_scaling.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["K", "N", "mean_abs_Z1", "standard_error", "prediction", "fitted_exponent", "exponent_error"])
        for fit, law in ((at_kc, critical_order_parameter(W, at_kc.N)),
                         (below, subcritical_order_parameter(W, below.K, below.N))):
            for N, y, e, p in zip(fit.N, fit.mean, fit.error, law):
                w.writerow([fit.K, N, f"{y:.6f}", f"{e:.6f}", f"{p:.6f}", f"{fit.exponent:.4f}",
                            f"{fit.exponent_error:.4f}"])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    N = np.geomspace(at_kc.N.min() / 1.5, at_kc.N.max() * 1.5, 50)
    for fit, law, colour, name in ((at_kc, critical_order_parameter(W, N), "tab:red", "$K = K_c = 1$"),
                                   (below, subcritical_order_parameter(W, below.K, N), "tab:blue", "$K = 0.8$")):
        ax.errorbar(fit.N, fit.mean, yerr=fit.error, fmt="o", color=colour, capsize=3, label=f"particles, {name}")
        ax.plot(N, fit.prefactor * N ** fit.exponent, color=colour, lw=1,
                label=f"fit: $N^{{{fit.exponent:.3f} \\pm {fit.exponent_error:.3f}}}$")
        ax.plot(N, law, color=colour, ls="--", lw=1,
                label="theory $\\Gamma(3/4)/\\Gamma(1/2)\\,(bN)^{-1/4}$" if fit is at_kc else
                "theory $\\sqrt{\\pi/(4N(1-K))}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of oscillators $N$")
    ax.set_ylabel("$\\langle |Z_1| \\rangle$")
    ax.set_title("m = 0.25 (continuous): finite-size scaling of the order parameter", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    save_figure(fig, out / "finite_size_scaling.png")


def _write_switching(out: Path, sw: Any, barrier: float) -> tuple[float, float]:
    """Table and figure; returns the Arrhenius slope of ``log √(τ_u τ_o)`` in ``N`` and its standard error."""
    ok = np.isfinite(sw.uniform) & np.isfinite(sw.ordered)
    y = 0.5 * (np.log(sw.uniform) + np.log(sw.ordered))
    dy = 0.5 * np.hypot(sw.uniform_error / sw.uniform, sw.ordered_error / sw.ordered)
    slope = slope_err = math.nan
    if ok.sum() >= 2:
        X = np.column_stack([np.ones(ok.sum()), sw.N[ok]])
        wgt = 1 / dy[ok] ** 2
        cov = np.linalg.inv(X.T @ (wgt[:, None] * X))
        beta = cov @ X.T @ (wgt * y[ok])
        slope, slope_err = float(beta[1]), float(math.sqrt(cov[1, 1]))
    with open(out / "switching.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["N", "tau_uniform", "err", "tau_ordered", "err", "switches", "2N_barrier"])
        for i, N in enumerate(sw.N):
            w.writerow([N, f"{sw.uniform[i]:.2f}", f"{sw.uniform_error[i]:.2f}", f"{sw.ordered[i]:.2f}",
                        f"{sw.ordered_error[i]:.2f}", sw.switches[i], f"{2 * N * barrier:.3f}"])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9.5, 4.2))
    ax.errorbar(sw.N, np.exp(y), yerr=np.exp(y) * dy, fmt="D", color="k", capsize=3,
                label="$\\sqrt{\\tau_u \\tau_o}$")
    ax.errorbar(sw.N, sw.uniform, yerr=sw.uniform_error, fmt="o", color="tab:blue", capsize=3,
                label="mean time in the uniform state")
    ax.errorbar(sw.N, sw.ordered, yerr=sw.ordered_error, fmt="s", color="tab:red", capsize=3,
                label="mean time in the ordered state")
    if ok.any():
        ref = float(np.exp(y[ok][0]))
        N = np.linspace(sw.N.min(), sw.N.max(), 20)
        ax.plot(N, ref * np.exp(2 * barrier * (N - sw.N[ok][0])), "k--", lw=1,
                label="Arrhenius $e^{2N\\Delta F^\\ddagger}$ (through $\\sqrt{\\tau_u\\tau_o}$ at the first N)")
    ax.set_yscale("log")
    ax.set_xlabel("number of oscillators $N$")
    ax.set_ylabel("mean residence time (time units)")
    ax.set_title(f"m = 0.8 at $K_c$: switching between the coexisting states, $\\Delta F^\\ddagger$ = {barrier:.2e}",
                 fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    save_figure(fig, out / "switching.png")
    return slope, slope_err
