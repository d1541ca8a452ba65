"""Landau equation: the JKO variational particle method against BKW and the score method; Coulomb relaxation.

* **Step-size comparison** (2D BKW, Maxwell molecules, strong collisions ``C = 1/4``: ``E|v|⁴`` relaxes at rate
  ``4C(d−1) = 1``, so ``λΔt`` runs from 0.1 to 4 over ``Δt ∈ {0.1, 0.5, 1, 2, 4}``): the fourth moment and the entropy
  change against the exact ones up to ``t = 4``, for :class:`~fieldflow.landau.jko.JKOLandau` and
  :class:`~fieldflow.landau.particles.ScoreLandau` on the same particles; a method *fails* at a step size when it
  refuses it, blows up, raises the entropy, or ends with an ``E|v|⁴`` error above half the relaxation amplitude.
  Writes ``comparison.csv`` and ``comparison.png`` (the talk's figure).
* **Convergence** at ``t = 1``: errors in ``E|v|⁴`` and the entropy change against ``Δt`` (fitted order) and ``N``.
  Writes ``convergence_dt.csv``, ``convergence_n.csv``, ``convergence.png``.
* **Coulomb** (3D, ``γ = −3``, ``C = 1``, bi-Maxwellian ``T = (1.3, 0.85, 0.85)``): the JKO relaxation of
  ``T_x − T_z`` against the bi-Maxwellian closure and its initial rate against the exact one.  Writes
  ``coulomb.csv``, ``coulomb.png``.

Particles: BKW radii at the midpoint quantiles of the exact radial law, uniformly random directions (the density
is radial, so ``E|v|⁴``, the energy and ``Σ w log f`` depend on the radii only and start quadrature-accurate), then
centred and scaled to the exact energy; bi-Maxwellian samples are centred and scaled per axis to the exact
temperatures.  Quasi-lattices (Fibonacci spheres) are *not* used: the cross-validated score fit overfits their
regular structure (relative score error ≈ 20 on a 3D Fibonacci lattice, 0.001–0.02 on random samples).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..core.evolve import StructureError, evolve
from ..core.metrics import loglog_slope
from ..core.problem import Particles
from ..landau.bimaxwellian import anisotropy_rate, closure_relaxation
from ..landau.collision import BKW
from ..landau.jko import JKOLandau, entropy_increases
from ..landau.particles import ScoreLandau
from ..plotting import pyplot, save_figure
from . import _report as report

TITLE = "Landau/JKO: variational particles vs the score method at large steps (BKW), Coulomb relaxation"
DEFAULT = True
EXPECTED_SECONDS = (40, 1500)

C_STRONG = 0.25
STEPS = (0.1, 0.5, 1.0, 2.0, 4.0)
T_END = 4.0
TEMPERATURES = (1.3, 0.85, 0.85)


# ============================================================================ particles


def bkw_particles(exact: BKW, n: int, t: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` particles of the BKW density at time ``t`` and ``log f`` there (equal weights).

    Radii at the midpoint quantiles ``(k − ½)/n`` of the exact radial law (a mixture of ``Γ(d/2)`` and ``Γ(d/2+1)``
    laws in ``|v|²/(2K)``, inverted by bisection), directions uniformly random; centred, then scaled about the
    origin to the exact energy ``d``.
    """
    from scipy.special import gammainc

    K, P, Q = exact.coefficients(t)
    d = exact.dim
    u = (np.arange(n) + 0.5) / n
    lo, hi = np.zeros(n), np.full(n, 400.0)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        below = P * gammainc(d / 2, mid) + Q * d * K * gammainc(d / 2 + 1, mid) < u
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    radius = np.sqrt(2 * K * 0.5 * (lo + hi))
    direction = np.random.default_rng(seed).standard_normal((n, d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    v = radius[:, None] * direction
    v -= v.mean(axis=0)
    v *= math.sqrt(d / np.mean(np.sum(v * v, axis=1)))
    return v, np.log(exact.density(v, t))


def bimaxwellian_particles(n: int, temperatures: Sequence[float] = TEMPERATURES,
                           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples of the centred Gaussian with variances ``temperatures``, centred and scaled per axis to them."""
    T = np.asarray(temperatures, dtype=float)
    v = np.random.default_rng(seed).standard_normal((n, T.size)) * np.sqrt(T)
    v -= v.mean(axis=0)
    v *= np.sqrt(T) / v.std(axis=0)
    return v, -0.5 * np.sum(v * v / T, axis=1) - 0.5 * float(np.sum(np.log(2 * np.pi * T)))


# ============================================================================ the two methods


def score_run(v0: np.ndarray, log_f0: np.ndarray, C: float, t_end: float, dt: float, gamma: float = 0.0,
              save_every: float | None = None) -> dict[str, Any]:
    """Run :class:`~fieldflow.landau.particles.ScoreLandau` (default settings) and return its series, or why it failed.

    The one place that calls the score method, so that its call shape can change in one place.
    """
    n, d = v0.shape
    w = np.full(n, 1.0 / n)
    every = dt if save_every is None else save_every
    wall = time.perf_counter()
    try:
        run = evolve(ScoreLandau(d, gamma, C=C), Particles(v0, w, {"log_f": log_f0}), t_end, dt=dt,
                     save_times=np.arange(every, t_end, every))
    except (ValueError, FloatingPointError, StructureError) as exc:
        return {"status": f"refused/failed: {str(exc).split(';')[0]}"}
    m4 = np.array([float(np.sum(w * np.sum(s * s, axis=1) ** 2)) for s in run.states])
    return {"status": "ok", "t": run.times, "fourth_moment": m4, "entropy": run["entropy"],
            "energy": run["energy"], "seconds_per_step": (time.perf_counter() - wall) / run.info["steps"],
            "states": run.states, "temperature": [run[f"temperature_{a}"] for a in range(d)]}


def jko_run(v0: np.ndarray, log_f0: np.ndarray, C: float, t_end: float, dt: float, gamma: float = 0.0,
            save_every: float | None = None, **options: Any) -> dict[str, Any]:
    """Run :class:`~fieldflow.landau.jko.JKOLandau` (``options`` to its constructor) and return its series."""
    n, d = v0.shape
    wall = time.perf_counter()
    try:
        traj = evolve(JKOLandau(d, gamma, C=C, **options), Particles(v0, extras={"log_f": log_f0}), t_end, dt=dt,
                      save_every=save_every)
    except StructureError as exc:  # the loop stops a run whose entropy rises (or whose moments drift)
        traj = exc.trajectory
    status = "ok" if traj.info["status"] == "done" and not entropy_increases(traj) else "entropy increased"
    return {"status": status, "t": traj["t"], "fourth_moment": traj["fourth_moment"], "entropy": traj["entropy"],
            "energy": traj["energy"], "momentum": traj["momentum"], "iterations": traj["iterations"][1:],
            "seconds_per_step": (time.perf_counter() - wall) / traj.info["steps"], "trajectory": traj,
            "temperature": [traj[f"temperature_{a}"] for a in range(d)]}


def bkw_errors(series: dict[str, Any], exact: BKW, t0: float = 0.0) -> dict[str, np.ndarray]:
    """Errors against BKW along a run: ``E|v|⁴ − m4(t)`` and the entropy *change* ``(H_i − H_0) − (H(t) − H(t0))``
    (the change, so the quadrature error of the initial ``Σ w log f0`` cancels)."""
    t = series["t"]
    m4 = np.array([exact.moments(t0 + s)["fourth_moment"] for s in t])
    H = np.array([exact.entropy(t0 + s) for s in t])
    return {"t": t, "fourth_moment": series["fourth_moment"] - m4,
            "entropy": (series["entropy"] - series["entropy"][0]) - (H - H[0])}


# ============================================================================ parts of the study


def backward_euler_m4(m4_0: float, energy: float, dim: int, C: float, dt: float, t: float) -> float:
    """``E|v|⁴`` at ``t`` by backward Euler on the Maxwell-molecule moment equation of an isotropic state,
    ``d/dt (m4 − m4_eq) = −4C(d−1)(m4 − m4_eq)``, ``m4_eq = (d+2)E²/d`` (the Maxwellian of energy ``E``; 8 for the
    2D BKW normalisation) — what a first-order implicit scheme with exact moment dynamics gives (BKW:
    ``m4 − 8 = −8(1−K)²``, ``1 − K ∝ e^{−2C(d−1)t}``)."""
    eq = (dim + 2) * energy**2 / dim
    return eq + (m4_0 - eq) * (1 + 4 * C * (dim - 1) * dt) ** (-round(t / dt))


def comparison(n: int, steps: Sequence[float] = STEPS, C: float = C_STRONG, t_end: float = T_END, seed: int = 0,
               methods: dict[str, dict[str, Any] | None] | None = None) -> tuple[list[dict[str, Any]], dict]:
    """Every method at every step size on the same 2D BKW particles (from ``t = 0``, ``K = ½``) up to ``t_end``.

    ``methods``: name → JKO options (``None`` for the score method); default JKO (defaults) and score.  A run
    *fails* when the method refuses the step or blows up, when its entropy rises, or when at ``t_end`` its error in
    ``E|v|⁴`` exceeds half the exact change of ``E|v|⁴`` or its error in the entropy change half the exact change.
    """
    exact = BKW(2, C=C)
    v0, log_f0 = bkw_particles(exact, n, 0.0, seed)
    amplitude = abs(exact.moments(t_end)["fourth_moment"] - exact.moments(0.0)["fourth_moment"])
    drop = abs(exact.entropy(t_end) - exact.entropy(0.0))
    rows, curves = [], {}
    for dt in steps:
        for method, options in (methods or {"jko": {}, "score": None}).items():
            res = (score_run(v0, log_f0, C, t_end, dt) if options is None
                   else jko_run(v0, log_f0, C, t_end, dt, **options))
            curves[(method, dt)] = res
            row: dict[str, Any] = {"method": method, "dt": dt, "lambda_dt": 4 * C * dt, "N": n}
            if res["status"] == "ok" and np.all(np.isfinite(res["fourth_moment"])):
                err = bkw_errors(res, exact)
                row.update(m4_error_end=abs(err["fourth_moment"][-1]),
                           m4_error_max=float(np.max(np.abs(err["fourth_moment"][1:]))),
                           m4_backward_euler_error=abs(backward_euler_m4(float(res["fourth_moment"][0]),
                                                                         float(res["energy"][0]), 2, C, dt, t_end)
                                                       - exact.moments(t_end)["fourth_moment"]),
                           entropy_error_end=abs(err["entropy"][-1]),
                           entropy_error_max=float(np.max(np.abs(err["entropy"][1:]))),
                           entropy_monotone=bool(np.all(np.diff(res["entropy"]) <= 1e-12)),
                           energy_drift=float(np.max(np.abs(res["energy"] - res["energy"][0]))),
                           seconds_per_step=res["seconds_per_step"])
                failed = (row["m4_error_end"] > 0.5 * amplitude or row["entropy_error_end"] > 0.5 * drop
                          or not row["entropy_monotone"])
                row["status"] = "fails (inaccurate)" if failed else "ok"
            else:
                row["status"] = res["status"] if res["status"] != "ok" else "fails (non-finite)"
            rows.append(row)
    return rows, curves


def convergence_dt(n: int, steps: Sequence[float] = (1.0, 0.5, 0.25, 0.125), C: float = C_STRONG,
                   t_end: float = 1.0, seed: int = 0, **options: Any) -> tuple[list[dict[str, Any]], float, float]:
    """JKO errors at ``t_end`` against ``Δt`` on one particle set; fitted orders for ``E|v|⁴`` and the entropy change."""
    exact = BKW(2, C=C)
    v0, log_f0 = bkw_particles(exact, n, 0.0, seed)
    rows = []
    for dt in steps:
        res = jko_run(v0, log_f0, C, t_end, dt, **options)
        err = bkw_errors(res, exact)
        rows.append({"dt": dt, "N": n, "m4_error": abs(err["fourth_moment"][-1]),
                     "entropy_error": abs(err["entropy"][-1]), "iterations": float(np.mean(res["iterations"])),
                     "seconds_per_step": res["seconds_per_step"]})
    p_m4 = loglog_slope(steps, [r["m4_error"] for r in rows])
    p_h = loglog_slope(steps, [r["entropy_error"] for r in rows])
    return rows, p_m4, p_h


def convergence_n(sizes: Sequence[int], dt: float = 0.125, C: float = C_STRONG, t_end: float = 1.0,
                  seeds: Sequence[int] = (0, 1), **options: Any) -> tuple[list[dict[str, Any]], float]:
    """JKO entropy-change error at ``t_end`` against ``N`` (mean over ``seeds``), at a step ``dt`` small enough for the
    time error to be below it; fitted exponent."""
    exact = BKW(2, C=C)
    rows = []
    for n in sizes:
        errs = []
        for seed in seeds:
            v0, log_f0 = bkw_particles(exact, n, 0.0, seed)
            errs.append(bkw_errors(jko_run(v0, log_f0, C, t_end, dt, **options), exact))
        rows.append({"N": n, "dt": dt, "entropy_error": float(np.mean([abs(e["entropy"][-1]) for e in errs])),
                     "m4_error": float(np.mean([abs(e["fourth_moment"][-1]) for e in errs]))})
    return rows, loglog_slope(sizes, [r["entropy_error"] for r in rows])


def coulomb(n: int, dt: float, t_end: float, seed: int = 0) -> dict[str, Any]:
    """JKO relaxation of the Coulomb bi-Maxwellian; its initial rate (first step) against the exact rate."""
    v0, log_f0 = bimaxwellian_particles(n, TEMPERATURES, seed)
    res = jko_run(v0, log_f0, 1.0, t_end, dt, gamma=-3.0)
    gap = res["temperature"][0] - res["temperature"][2]
    exact_rate = anisotropy_rate(TEMPERATURES, -3.0, 1.0)
    closure = closure_relaxation(TEMPERATURES, -3.0, 1.0, res["t"])
    return {"t": res["t"], "gap": gap, "closure_gap": closure[:, 0] - closure[:, 1],
            "rate": (gap[1] - gap[0]) / dt, "exact_rate": exact_rate, "energy": res["energy"],
            "momentum": res["momentum"], "entropy": res["entropy"], "seconds_per_step": res["seconds_per_step"]}


# ============================================================================ the study


COMPARISON_COLUMNS = {
    "method": ("", "jko (JKOLandau defaults), score (ScoreLandau defaults) or jko (degree 2) (the score model's basis)"),
    "dt": ("time", "step size"),
    "lambda_dt": ("", "step size times the relaxation rate 4C(d−1) = 1 of E|v|⁴"),
    "N": ("", "particles"),
    "status": ("", "ok, fails (inaccurate: an error above half the exact change, or the entropy rose), or why it failed"),
    "m4_error_end": ("velocity⁴", "|E|v|⁴ − exact| at t = 4 (empty: the run failed)"),
    "m4_error_max": ("velocity⁴", "largest |E|v|⁴ − exact| over the saved times"),
    "m4_backward_euler_error": ("velocity⁴", "the same error of backward Euler on the exact moment equation, same Δt"),
    "entropy_error_end": ("", "|entropy change − exact change| at t = 4"),
    "entropy_error_max": ("", "largest entropy-change error over the saved times"),
    "entropy_monotone": ("", "Σ w log f non-increasing at every saved time"),
    "energy_drift": ("velocity²", "largest |energy − energy(0)|"),
    "seconds_per_step": ("s", "wall time per step (shared 2-core machine)"),
}
CONVERGENCE_DT_COLUMNS = {
    "dt": ("time", "step size"), "N": ("", "particles"),
    "m4_error": ("velocity⁴", "|E|v|⁴ − exact| at t = 1"),
    "entropy_error": ("", "|entropy change − exact change| at t = 1"),
    "m4_backward_euler_error": ("velocity⁴", "backward Euler on the exact moment equation, same Δt"),
    "iterations": ("", "L-BFGS iterations per step, mean"),
    "seconds_per_step": ("s", "wall time per step (shared 2-core machine)"),
}
CONVERGENCE_N_COLUMNS = {
    "N": ("", "particles"), "dt": ("time", "step size"),
    "entropy_error": ("", "|entropy change − exact change| at t = 1, mean over the particle sets"),
    "m4_error": ("velocity⁴", "|E|v|⁴ − exact| at t = 1, mean over the particle sets"),
}
COULOMB_COLUMNS = {
    "t": ("time", "time"), "gap": ("velocity²", "T_x − T_z of the JKO particles"),
    "closure_gap": ("velocity²", "T_x − T_z of the bi-Maxwellian closure"),
    "energy": ("velocity²", "Σ w|v|²"), "entropy": ("", "Σ w log f"),
}


def _complete(rows: list[dict[str, Any]], columns: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """Rows with every column (a failed run has no errors: NaN)."""
    return [{name: row.get(name, math.nan) for name in columns} for row in rows]


def run(out: Path, quick: bool = True) -> dict[str, str]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plt = pyplot()
    exact = BKW(2, C=C_STRONG)
    n = 300 if quick else 1000
    info = report.RunInfo.create("landau_jko", quick, N=n, C=C_STRONG, steps=list(STEPS), t_end=T_END)
    findings: list[report.Finding] = []
    # ---------------------------------------------------------------- step-size comparison (the talk's figure)
    report.announce("landau_jko", f"JKO and score method at Δt = {', '.join(f'{s:g}' for s in STEPS)}, N = {n}")
    rows, curves = comparison(n)
    ablation, _ = comparison(n, (0.5, 4.0) if quick else STEPS, methods={"jko (degree 2)": {"degree": 2}})
    report.write_table(out / "comparison.csv", _complete(rows + ablation, COMPARISON_COLUMNS), COMPARISON_COLUMNS, info)
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    tt = np.linspace(0, T_END, 200)
    ax[0].plot(tt, [exact.moments(s)["fourth_moment"] for s in tt], "k-", lw=2, label="BKW")
    ax[1].plot(tt, [exact.entropy(s) - exact.entropy(0) for s in tt], "k-", lw=2, label="BKW")
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(STEPS)))
    for colour, dt in zip(colours, STEPS):
        for method, style in (("jko", "o-"), ("score", "x--")):
            res = curves[(method, dt)]
            row = next(r for r in rows if r["method"] == method and r["dt"] == dt)
            if "t" not in res:
                continue
            tag = "" if row["status"] == "ok" else " (fails)"
            ax[0].plot(res["t"], res["fourth_moment"], style, color=colour, ms=4, label=f"{method} Δt={dt:g}{tag}")
            ax[1].plot(res["t"], res["entropy"] - res["entropy"][0], style, color=colour, ms=4)
    failed = [f"{r['method']} Δt={r['dt']:g}: {r['status'].split(':')[0]}" for r in rows if r["status"] != "ok"]
    m4_0, m4_eq = exact.moments(0.0)["fourth_moment"], 8.0  # 2D BKW: d(d+2)K(2−K) → 8 as K → 1
    ax[0].set_ylim(m4_0 - 0.5, m4_eq + 1.5)
    drop = exact.entropy(T_END) - exact.entropy(0.0)
    ax[1].set_ylim(3 * drop, 0.3 * abs(drop))
    ax[0].set_title("fourth moment (strong collisions, C = 1/4)")
    ax[0].set_ylabel("E|v|⁴ (velocity⁴)")
    ax[1].set_title("entropy change")
    ax[1].set_ylabel("H(t) − H(0)")
    for a in ax:
        a.set_xlabel("t")
    ax[0].legend(fontsize=6, ncol=2, loc="lower right")
    if failed:
        ax[1].text(0.98, 0.98, "fails:\n" + "\n".join(failed), transform=ax[1].transAxes, fontsize=6, va="top",
                   ha="right")
    save_figure(fig, out / "comparison.png")
    jko = [r for r in rows if r["method"] == "jko"]
    score = [r for r in rows if r["method"] == "score"]
    jko_failed = [r["dt"] for r in jko if r["status"] != "ok"]
    findings.append(report.check(f"JKO runs failing, Δt ∈ {{{', '.join(f'{s:g}' for s in STEPS)}}} (λΔt up to 4)",
                                 len(jko_failed), not jko_failed, reference="0: stable, monotone and within half the "
                                 "exact change at every step size"))
    ok = [r for r in jko if "m4_error_end" in r]
    if ok:
        excess = max(abs(r["m4_error_end"] - r["m4_backward_euler_error"]) for r in ok)
        findings.append(report.bound("JKO E|v|⁴ error at t = 4 minus backward Euler's, worst over Δt", excess, 0.05,
                                     kind="≤", against="a particle part ≤ 0.04 measured at N = 300",
                                     unit="velocity⁴"))
        findings.append(report.bound("JKO energy drift, max over runs", max(r["energy_drift"] for r in ok), 1e-12,
                                     kind="≤", against="round-off (the dilation restores it)", unit="velocity²"))
        momentum = max(float(np.max(curves[("jko", r["dt"])]["momentum"])) for r in ok)
        findings.append(report.bound("JKO momentum |Σ w v|, max over runs", momentum, 1e-12, kind="≤",
                                     against="round-off (pairwise antisymmetry)", unit="velocity"))
        findings.append(report.check("JKO entropy non-increasing, every run", all(r["entropy_monotone"] for r in ok),
                                     all(r["entropy_monotone"] for r in ok), reference="Φ ≤ 0 at every step"))
    score_ok = sorted(r["dt"] for r in score if r["status"] == "ok")
    findings.append(report.check("score method: step sizes it runs accurately", ", ".join(f"{s:g}" for s in score_ok)
                                 or "none", all(s < 1.0 for s in score_ok) and 0.1 in score_ok,
                                 reference="λΔt < 1 only (explicit: fails or refuses from λΔt = 1)"))
    # ---------------------------------------------------------------- convergence
    report.announce("landau_jko", "convergence in Δt and N at t = 1")
    dt_rows, p_m4, p_h = convergence_dt(300 if quick else 1000)
    for r in dt_rows:
        m4_0 = exact.moments(0.0)["fourth_moment"]
        r["m4_backward_euler_error"] = abs(backward_euler_m4(m4_0, 2.0, 2, C_STRONG, r["dt"], 1.0)
                                           - exact.moments(1.0)["fourth_moment"])
    p_be = loglog_slope([r["dt"] for r in dt_rows], [r["m4_backward_euler_error"] for r in dt_rows])
    report.write_table(out / "convergence_dt.csv", dt_rows, CONVERGENCE_DT_COLUMNS, info)
    findings.append(report.compare("JKO E|v|⁴ error at t = 1: fitted order in Δt (1, ½, ¼, ⅛)", p_m4, p_be,
                                   against="backward Euler's slope on the same ladder", rtol=0.2))
    sizes = (150, 300, 600) if quick else (250, 500, 1000, 2000)
    n_rows, p_n = convergence_n(sizes, seeds=(0,) if quick else (0, 1, 2))
    report.write_table(out / "convergence_n.csv", n_rows, CONVERGENCE_N_COLUMNS, info)
    findings.append(report.bound(f"JKO entropy-change error at t = 1, N = {sizes[-1]}", n_rows[-1]["entropy_error"],
                                 0.02, kind="≤", against=f"particle part (falls like N^-0.66; fitted here N^{p_n:.2f})"))
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    dts = [r["dt"] for r in dt_rows]
    ax[0].loglog(dts, [r["m4_error"] for r in dt_rows], "o-", label=f"E|v|⁴ (order {p_m4:.2f})")
    ax[0].loglog(dts, [r["m4_backward_euler_error"] for r in dt_rows], "k:", label=f"backward Euler (order {p_be:.2f})")
    ax[0].loglog(dts, [r["entropy_error"] for r in dt_rows], "s-", label=f"entropy (order {p_h:.2f})")
    ax[0].set_xlabel("Δt")
    ax[0].set_ylabel("error at t = 1")
    ax[0].set_title("JKO error against Δt")
    ax[0].legend(fontsize=7)
    ax[1].loglog([r["N"] for r in n_rows], [r["entropy_error"] for r in n_rows], "o-", label=f"entropy (N^{p_n:.2f})")
    ax[1].loglog([r["N"] for r in n_rows], [r["m4_error"] for r in n_rows], "s-", label="E|v|⁴")
    ax[1].set_xlabel("N")
    ax[1].set_ylabel("error at t = 1")
    ax[1].set_title("against N (Δt = ⅛)")
    ax[1].legend(fontsize=7)
    save_figure(fig, out / "convergence.png")
    # ---------------------------------------------------------------- Coulomb 3D
    report.announce("landau_jko", "Coulomb bi-Maxwellian, 3D")
    n_c = 300 if quick else 1000
    res = coulomb(n_c, 0.25, 1.0 if quick else 4.0)
    report.write_table(out / "coulomb.csv", [{"t": t, "gap": g, "closure_gap": c, "energy": e, "entropy": h}
                                             for t, g, c, e, h in zip(res["t"], res["gap"], res["closure_gap"],
                                                                      res["energy"], res["entropy"])],
                       COULOMB_COLUMNS, info)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(res["t"], res["gap"], "o-", label="JKO particles")
    ax.plot(res["t"], res["closure_gap"], "k:", label="bi-Maxwellian closure")
    ax.set_xlabel("t")
    ax.set_ylabel("T_x − T_z")
    ax.legend()
    save_figure(fig, out / "coulomb.png")
    spread = 1.9 / math.sqrt(n_c)  # seed-to-seed spread of the Coulomb weak form (a 1/|z| U-statistic)
    lag = 1 / (1 - 0.25 * res["exact_rate"] / res["gap"][0])  # an implicit (backward-Euler-like) first step
    findings.append(report.compare(f"Coulomb first-step rate of T_x − T_z / exact rate (Δt = 0.25, N = {n_c})",
                                   res["rate"] / res["exact_rate"], lag, rtol=round(2 * spread, 2),
                                   against="backward Euler's lag 1/(1 + λΔt) of the exact relaxation",
                                   note=f"two standard deviations of the particles' weak form, 1.9/√N = {spread:.2f}"))
    findings.append(report.bound("Coulomb |T_x − T_z − closure|, max over t", float(np.max(np.abs(res["gap"] - res["closure_gap"]))),
                                 0.05, kind="≤", against="bi-Maxwellian closure (non-Gaussian part + particle noise)",
                                 unit="velocity²"))
    findings.append(report.bound("Coulomb energy drift", float(np.max(np.abs(res["energy"] - res["energy"][0]))), 1e-12,
                                 kind="≤", against="round-off", unit="velocity²"))
    return report.finish(out, findings, info)
