"""The Kuramoto–Daido phase diagram: K_c(m), K_#(m), the kind of transition, m_*, and hysteresis.

For ``W = cos θ + m cos 2θ`` the free energy ``F_K`` of the McKean–Vlasov equation has its
critical coupling ``K_c(m)`` (smallest ``K`` with a non-uniform minimiser) and the uniform state
its linear threshold ``K_#(m) = 1/max(1, m)``.  The theorem this reproduces:

* ``m < 0``: ``K_c = 1``, continuous (Vukadinovic 2023; here the Landau coefficient
  ``b(m) = (1 − 2m)/(4(1 − m)) > 0`` of :mod:`fieldflow.mckean_vlasov.finite_size` and the minimisation of
  ``H/P`` agree);
* ``0 ≤ m ≤ 1/2``: ``K_c = 1``, continuous;
* ``1/2 < m ≤ 1``: ``K_c < 1``, discontinuous;
* ``1 < m < m_*``: ``K_c < 1/m``, discontinuous;
* ``m > m_*``: ``K_c = 1/m``, continuous;

with ``m_*`` computed here (the theorem only brackets it in ``(1, 2)``).  Outputs:

* ``phase_diagram.csv`` / ``phase_diagram.png`` — ``K_c``, ``K_#``, kind and jump over ``m ∈ [−2, 3]``;
* ``bifurcation.csv`` / ``bifurcation.png`` — every stationary state's ``r_1 = |∫e^{iθ}q|`` against
  ``K`` for several ``m``, stable ones filled, with ``K_c`` and ``K_#`` marked: where the transition
  is discontinuous, the stable uniform and stable ordered states coexist on ``[K_fold, K_#]``
  (hysteresis).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

from ..mckean_vlasov.interactions import kuramoto_daido
from ..plotting import pyplot, save_figure
from ..mckean_vlasov import (critical_coupling, kuramoto_daido_m_star, linear_threshold, phase_diagram,
                             stationary_states)
from ..core.sweep import sweep

TITLE = "Kuramoto–Daido phase diagram: K_c(m), K_#(m), m_* and hysteresis of r_1(K)"
DEFAULT = True

BIFURCATION_MS = (-1.0, 0.3, 0.8, 1.2, 2.0)


def _states_row(args: tuple[float, float]) -> list[tuple[float, float, float, float, float, bool]]:
    """(m, K, r1, r2, F, stable) for every stationary state at (m, K)."""
    m, K = args
    return [(m, K, s.order_parameters[0], s.order_parameters[1], s.free_energy, s.stable)
            for s in stationary_states(kuramoto_daido(m), K, n=256)]


def run(out: Path, quick: bool = True) -> dict[str, str]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    ms = np.linspace(-2.0, 3.0, 201 if quick else 501)
    diagram = phase_diagram(ms)
    t_diagram = time.perf_counter() - t0
    m_star, m_star_error = kuramoto_daido_m_star()

    with open(out / "phase_diagram.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["m", "K_c", "K_sharp", "kind", "jump_r1", "jump_r2", "K_c_error"])
        for m, c in zip(ms, diagram):
            writer.writerow([f"{m:.6f}", f"{c.K_c:.12f}", f"{c.K_sharp:.12f}", c.kind, f"{c.jump[0]:.8f}",
                             f"{c.jump[1]:.8f}", f"{c.error:.2e}"])

    # bifurcation diagrams r_1(K); K grids avoid the bifurcation points themselves
    n_K = 28 if quick else 80
    tasks = [(m, float(K)) for m in BIFURCATION_MS
             for K in np.linspace(0.5, 1.6, n_K) * linear_threshold(kuramoto_daido(m)) + 1.3e-3]
    rows = [row for chunk in sweep(_states_row, tasks) for row in chunk]
    with open(out / "bifurcation.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["m", "K", "r1", "r2", "free_energy", "stable"])
        writer.writerows([[f"{m:.4f}", f"{K:.6f}", f"{r1:.10f}", f"{r2:.10f}", f"{F:.12f}", int(st)]
                          for m, K, r1, r2, F, st in rows])

    _plot_phase_diagram(out / "phase_diagram.png", ms, diagram, m_star)
    _plot_bifurcations(out / "bifurcation.png", rows, {m: c for m, c in zip(ms, diagram)})

    at_one = phase_diagram([1.0], executor="serial")[0]
    kinds = [c.kind for c in diagram]
    return {
        "m_star": f"{m_star:.10f} ± {m_star_error:.1e} (Brent root of min R_m − 1/m, n = 256 vs 512)",
        "K_c(m=1)": f"{at_one.K_c:.10f} (discontinuous, jump r1 = {at_one.jump[0]:.6f})",
        "phase_diagram": f"{len(ms)} values of m in [-2, 3] in {t_diagram:.1f} s; "
                         f"{kinds.count('discontinuous')} discontinuous",
        "m < 0": f"K_c = 1, continuous at all {int(np.sum(ms < 0))} values of m < 0: "
                 f"{all(c.K_c == 1.0 and c.continuous for m, c in zip(ms, diagram) if m < 0)}",
        "figures": "phase_diagram.png, bifurcation.png (+ CSV)",
    }


def _plot_phase_diagram(path: Path, ms: np.ndarray, diagram: list, m_star: float) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10.0, 4.5))
    K_c = np.array([c.K_c for c in diagram])
    K_sharp = np.array([c.K_sharp for c in diagram])
    disc = np.array([c.kind == "discontinuous" for c in diagram])
    ax.fill_between(ms, K_c, K_sharp, where=disc, color="tab:orange", alpha=0.3, step=None,
                    label="discontinuous: metastable uniform state ($K_c < K < K_\\#$)")
    ax.plot(ms, K_sharp, "k--", lw=1.2, label="$K_\\#(m) = 1/\\max(1, m)$ (linear instability)")
    ax.plot(ms, K_c, "tab:blue", lw=2, label="$K_c(m)$ (critical coupling)")
    for x, text in ((0.0, "$m = 0$"), (0.5, "$m = 1/2$"), (1.0, "$m = 1$"), (m_star, f"$m_* = {m_star:.6f}$")):
        ax.axvline(x, color="gray", lw=0.8, ls=":")
        ax.text(x + 0.02, 1.14, text, fontsize=8, rotation=90, va="top")
    ax.text(-1.5, 0.93, "continuous ($m < 0$: $K_c = 1$)", fontsize=9)
    ax.text(0.1, 0.93, "continuous", fontsize=9)
    ax.text(2.0, 0.55, "continuous", fontsize=9)
    ax.text(0.58, 0.72, "discontinuous", fontsize=9, color="tab:red")
    ax.set_xlabel("$m$ in $W(\\theta) = \\cos\\theta + m\\cos 2\\theta$")
    ax.set_ylabel("coupling $K$ (dimensionless)")
    ax.set_ylim(0.2, 1.2)
    ax.set_xlim(ms[0], ms[-1])
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    ax.set_title("Kuramoto–Daido: ordered phase above $K_c(m)$")
    save_figure(fig, path)


def _plot_bifurcations(path: Path, rows: list, diagram: dict) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, len(BIFURCATION_MS), figsize=(3.6 * len(BIFURCATION_MS), 3.8))
    data = np.array([(m, K, r1, st, r2) for m, K, r1, r2, _, st in rows], dtype=float)
    for ax, m in zip(np.ravel(axes), BIFURCATION_MS):
        sel = data[np.isclose(data[:, 0], m)]
        stable = sel[:, 3] > 0.5
        ax.plot(sel[stable, 1], sel[stable, 4], "^", ms=3, color="0.6", label="$r_2$ of stable states")
        ax.plot(sel[stable, 1], sel[stable, 2], "o", ms=3.5, color="tab:blue", label="$r_1$ stable (local min of F)")
        ax.plot(sel[~stable, 1], sel[~stable, 2], "o", ms=3.5, mfc="none", color="tab:red", label="$r_1$ unstable")
        c = critical_coupling(kuramoto_daido(m))
        ax.axvline(c.K_c, color="tab:blue", lw=1, label=f"$K_c$ = {c.K_c:.5f} ({c.kind})")
        ax.axvline(c.K_sharp, color="k", ls=":", lw=1, label=f"$K_\\#$ = {c.K_sharp:.4f}")
        if c.kind == "discontinuous":
            ordered = sel[stable & (sel[:, 2] > 1e-6)]
            if ordered.size:
                ax.axvspan(ordered[:, 1].min(), c.K_sharp, color="tab:orange", alpha=0.2, label="hysteresis")
        ax.set_title(f"m = {m}")
        ax.set_xlabel("K")
        ax.set_ylabel("$r_k = |\\int e^{ik\\theta} q|$")
        ax.legend(fontsize=7, loc="upper left")
    save_figure(fig, path)
