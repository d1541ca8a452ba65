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

with ``m_*`` computed here (the theorem only brackets it in ``(1, 2)``).  ``K_c`` at a few ``m`` is checked
against an independent method, the free-energy tie on the continued branches
(:func:`~fieldflow.mckean_vlasov.bifurcation_diagram`).  Outputs (tables with ``.json`` sidecars):

* ``phase_diagram.csv`` / ``phase_diagram.png`` — ``K_c``, ``K_#``, kind and jump over ``m ∈ [−2, 3]``;
* ``bifurcation.csv`` / ``bifurcation.png`` — every stationary state's ``r_1 = |∫e^{iθ}q|`` against
  ``K`` for several ``m``, stable ones filled, with ``K_c`` and ``K_#`` marked: where the transition
  is discontinuous, the stable uniform and stable ordered states coexist on ``[K_fold, K_#]``
  (hysteresis);
* ``findings.json`` — the findings, each with its reference, tolerance and verdict.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.sweep import sweep
from ..mckean_vlasov import critical_coupling, kuramoto_daido_m_star, linear_threshold, phase_diagram, stationary_states
from ..mckean_vlasov.interactions import kuramoto_daido
from ..plotting import legend_outside, save_figure, subplots
from . import _report as report
from .kuramoto_daido_branches import kc_from_branches

TITLE = "Kuramoto–Daido phase diagram: K_c(m), K_#(m), m_* and hysteresis of r_1(K)"
DEFAULT = True
EXPECTED_SECONDS = (35, 120)

BIFURCATION_MS = (-1.0, 0.3, 0.8, 1.2, 2.0)
#: K_c from the minimisation of H/P against the free-energy tie on the branches: both converge to round-off
#: (the branches study finds differences ≤ 2e-15); 1e-9 leaves room for the quadrature's estimated error
KC_RTOL = 1e-9
#: a transition counts as K_c = 1/m when it matches to this (the continuous case sets K_c = K_# exactly)
SAME_K = 1e-10
#: distance from m_* at which the kind is checked by the branches
M_STAR_OFFSET = 0.02

PHASE_COLUMNS = {
    "m": ("", "coefficient of cos 2θ in W = cos θ + m cos 2θ"),
    "K_c": ("", "critical coupling: least K with a non-uniform minimiser of F_K"),
    "K_sharp": ("", "linear threshold K_# = 1/max(1, m) of the uniform state"),
    "kind": ("", "continuous or discontinuous transition"),
    "jump_r1": ("", "|∫e^{iθ}q| of the ordered minimiser at K_c (0 if continuous)"),
    "jump_r2": ("", "|∫e^{2iθ}q| of that minimiser"),
    "K_c_error": ("", "error estimate of K_c (quadrature n vs 2n plus optimiser tolerance)"),
}
BIFURCATION_COLUMNS = {
    "m": ("", "coefficient of cos 2θ"), "K": ("", "coupling strength"),
    "r1": ("", "|∫e^{iθ}q| of the stationary state"), "r2": ("", "|∫e^{2iθ}q|"),
    "free_energy": ("", "F(q) = ½∫q log q − (K/2)∫q W*q"),
    "stable": ("", "1 if a strict local minimiser of F modulo rotations, else 0"),
}


def _states_row(args: tuple[float, float]) -> list[tuple[float, float, float, float, float, bool]]:
    """(m, K, r1, r2, F, stable) for every stationary state at (m, K)."""
    m, K = args
    return [(m, K, s.order_parameters[0], s.order_parameters[1], s.free_energy, s.stable)
            for s in stationary_states(kuramoto_daido(m), K, n=256)]


def _regime(m: float, m_star: float) -> tuple[str, str]:
    """The theorem's regime of ``m``: (name, the claim for K_c and the kind)."""
    if m < 0:
        return "m < 0", "K_c = 1, continuous"
    if m <= 0.5:
        return "0 ≤ m ≤ 1/2", "K_c = 1, continuous"
    if m <= 1:
        return "1/2 < m ≤ 1", "K_c < 1, discontinuous"
    if m < m_star:
        return "1 < m < m*", "K_c < 1/m, discontinuous"
    return "m > m*", "K_c = 1/m, continuous"


def _obeys(m: float, c, m_star: float) -> bool:
    """Whether ``c`` (a CriticalCoupling at ``m``) is what the theorem says for ``m``."""
    threshold = 1 / max(1.0, m)
    if m <= 0.5 or m > m_star:
        return c.kind == "continuous" and abs(c.K_c - threshold) <= SAME_K
    return c.kind == "discontinuous" and c.K_c < threshold


def run(out: Path, quick: bool = True) -> dict[str, str]:
    """The phase diagram over m, the bifurcation diagrams, and the checks of the theorem's regimes."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ms = np.linspace(-2.0, 3.0, 201 if quick else 501)
    n_K = 28 if quick else 80
    info = report.RunInfo.create("kuramoto_daido_phase_diagram", quick, m_values=ms.size, m_range=(-2.0, 3.0),
                                 bifurcation_m=BIFURCATION_MS, K_values=n_K, n=256)
    report.announce("kuramoto_daido_phase_diagram", f"K_c(m) at {ms.size} values of m")
    diagram = phase_diagram(ms, label="phase diagram, one m per case")
    m_star, m_star_error = kuramoto_daido_m_star()
    report.write_table(out / "phase_diagram.csv", [
        {"m": m, "K_c": c.K_c, "K_sharp": c.K_sharp, "kind": c.kind, "jump_r1": c.jump[0], "jump_r2": c.jump[1],
         "K_c_error": c.error} for m, c in zip(ms, diagram)], PHASE_COLUMNS, info)

    # bifurcation diagrams r_1(K); K grids avoid the bifurcation points themselves
    report.announce("kuramoto_daido_phase_diagram", f"stationary states at {n_K} couplings for m = "
                    + ", ".join(f"{m:g}" for m in BIFURCATION_MS))
    tasks = [(m, float(K)) for m in BIFURCATION_MS
             for K in np.linspace(0.5, 1.6, n_K) * linear_threshold(kuramoto_daido(m)) + 1.3e-3]
    rows = [row for chunk in sweep(_states_row, tasks, label="stationary states, one (m, K) per case") for row in chunk]
    report.write_table(out / "bifurcation.csv", [
        {"m": m, "K": K, "r1": r1, "r2": r2, "free_energy": F, "stable": int(st)} for m, K, r1, r2, F, st in rows],
        BIFURCATION_COLUMNS, info)
    _plot_phase_diagram(out / "phase_diagram.png", ms, diagram, m_star)
    couplings = {m: critical_coupling(kuramoto_daido(m)) for m in BIFURCATION_MS}
    _plot_bifurcations(out / "bifurcation.png", rows, couplings)

    findings = [report.check("m_*, where the transition turns continuous again", m_star, 1 < m_star < 2,
                             reference="∈ (1, 2), the theorem's bracket",
                             note=f"m_* = {m_star:.10f} ± {m_star_error:.0e} "
                                  "(Brent root of min R_m − 1/m, n = 256 vs 512)")]
    report.announce("kuramoto_daido_phase_diagram", "K_c from the free-energy tie on the continued branches")
    checks = sweep(kc_from_branches, [1.0, m_star - M_STAR_OFFSET, m_star + M_STAR_OFFSET], chunks=3,
                   label="K_c by continuation, one m per case")
    (_, kc_branch, kind_branch, kc_ref, _), below, above = checks
    findings.append(report.compare("K_c(m = 1), minimisation of H/P", kc_ref, kc_branch,
                                   against=f"free-energy tie on the branches ({kind_branch})", rtol=KC_RTOL,
                                   note=f"K_c = {kc_ref:.10f}; the theorem: K_c < 1, discontinuous"))
    findings.append(report.check(f"kind of transition at m_* ∓ {M_STAR_OFFSET:g}, by continuation",
                                 f"{below[2]}, {above[2]}", below[2] == "discontinuous" and above[2] == "continuous",
                                 reference="discontinuous below m_*, continuous above",
                                 note=f"K_c = {below[1]:.6f} < 1/m = {1 / below[0]:.6f}; K_c = {above[1]:.6f} "
                                      f"vs 1/m = {1 / above[0]:.6f}"))
    by_regime: dict[tuple[str, str], list[tuple[float, bool]]] = {}
    for m, c in zip(ms, diagram):
        by_regime.setdefault(_regime(float(m), m_star), []).append((float(m), _obeys(float(m), c, m_star)))
    for (name, claim), results in by_regime.items():
        wrong = [m for m, ok in results if not ok]
        findings.append(report.check(f"regime {name}: {claim}", f"{len(results) - len(wrong)} of {len(results)} values of m",
                                     not wrong, reference=f"all {len(results)} (the theorem)",
                                     note=("disagrees at m = " + ", ".join(f"{m:g}" for m in wrong) if wrong
                                           else f"continuous: K_c = K_# to {SAME_K:.0e}" if "continuous" in claim
                                           and "dis" not in claim else "discontinuous: K_c below K_# with a jump")))
    for m in (0.8, 1.2):
        sel = [(K, r1) for mm, K, r1, _, _, st in rows if mm == m and st and r1 > 1e-6]
        lowest = min(K for K, _ in sel)
        K_sharp = couplings[m].K_sharp
        findings.append(report.bound(f"m = {m:g}: least K on the grid with a stable ordered state", lowest, K_sharp,
                                     kind="≤", against="K_#, where the uniform state loses stability",
                                     note=f"stable uniform and ordered states coexist on [{lowest:.4f}, {K_sharp:.4f}]"
                                          f": hysteresis (K_c = {couplings[m].K_c:.5f})"))
    return report.finish(out, findings, info)


def _plot_phase_diagram(path: Path, ms: np.ndarray, diagram: list, m_star: float) -> None:
    fig, ax = subplots(figsize=(10.0, 4.5))
    K_c = np.array([c.K_c for c in diagram])
    K_sharp = np.array([c.K_sharp for c in diagram])
    disc = np.array([c.kind == "discontinuous" for c in diagram])
    ax.fill_between(ms, K_c, K_sharp, where=disc, color="tab:orange", alpha=0.3,
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
    legend_outside(ax, where="right")
    ax.set_title("Kuramoto–Daido: ordered phase above $K_c(m)$")
    save_figure(fig, path)


def _plot_bifurcations(path: Path, rows: list, couplings: dict) -> None:
    fig, axes = subplots(1, len(BIFURCATION_MS), figsize=(3.3 * len(BIFURCATION_MS) + 2.5, 3.9), sharey=True)
    data = np.array([(m, K, r1, st, r2) for m, K, r1, r2, _, st in rows], dtype=float)
    for ax, m in zip(np.ravel(axes), BIFURCATION_MS):
        sel = data[np.isclose(data[:, 0], m)]
        stable = sel[:, 3] > 0.5
        c = couplings[m]
        if c.kind == "discontinuous":
            ordered = sel[stable & (sel[:, 2] > 1e-6)]
            if ordered.size:
                ax.axvspan(ordered[:, 1].min(), c.K_sharp, color="tab:orange", alpha=0.2, lw=0,
                           label="hysteresis: stable uniform and ordered")
        ax.axvline(c.K_c, color="tab:blue", lw=1, label="$K_c$")
        ax.axvline(c.K_sharp, color="k", ls=":", lw=1, label="$K_\\#$")
        ax.plot(sel[stable, 1], sel[stable, 4], "^", ms=3, color="0.6", label="$r_2$ of stable states")
        ax.plot(sel[stable, 1], sel[stable, 2], "o", ms=3.5, color="tab:blue", label="$r_1$ stable (local min of F)")
        ax.plot(sel[~stable, 1], sel[~stable, 2], "o", ms=3.5, mfc="none", color="tab:red", label="$r_1$ unstable")
        ax.set_title(f"m = {m:g}: $K_c$ = {c.K_c:.5f} ({c.kind[:4]}.)\n$K_\\#$ = {c.K_sharp:.4f}", fontsize=8.5)
        ax.set_xlabel("coupling K")
    axes[0].set_ylabel("$r_k = |\\int e^{ik\\theta} q|$")
    handles, labels = axes[2].get_legend_handles_labels()  # m = 0.8 has every kind of mark
    axes[-1].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.04, 1.0), borderaxespad=0)
    save_figure(fig, path)
