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

import csv
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


def _write(path: Path, rows: list[dict]) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def run(out: Path, quick: bool = True) -> dict[str, str]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plt = pyplot()
    summary: dict[str, str] = {}
    exact = BKW(2, C=C_STRONG)
    # ---------------------------------------------------------------- step-size comparison (the talk's figure)
    n = 300 if quick else 1000
    rows, curves = comparison(n)
    ablation, _ = comparison(n, (0.5, 4.0) if quick else STEPS, methods={"jko (degree 2)": {"degree": 2}})
    _write(out / "comparison.csv", rows + ablation)
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
    ax[0].set_title("E|v|⁴ (strong collisions, C = 1/4)")
    ax[1].set_title("entropy change H(t) − H(0)")
    for a in ax:
        a.set_xlabel("t")
    ax[0].legend(fontsize=6, ncol=2)
    if failed:
        ax[1].text(0.02, 0.02, "fails:\n" + "\n".join(failed), transform=ax[1].transAxes, fontsize=6, va="bottom")
    save_figure(fig, out / "comparison.png")

    def cell(method: str, dt: float) -> str:
        r = next(r for r in rows if r["method"] == method and r["dt"] == dt)
        return (f"{r['m4_error_end']:.2g}/{r['entropy_error_end']:.2g}" if "m4_error_end" in r and r["status"] == "ok"
                else r["status"].split(":")[0])

    summary["comparison"] = (f"N={n}, errors at t=4 in E|v|^4 / entropy change, per dt {', '.join(f'{s:g}' for s in STEPS)}: "
                             f"JKO {'; '.join(cell('jko', s) for s in STEPS)} | score "
                             f"{'; '.join(cell('score', s) for s in STEPS)}")
    ratio = [next(r for r in rows if r["method"] == "jko" and r["dt"] == s)["seconds_per_step"]
             / next(r for r in rows if r["method"] == "score" and r["dt"] == s)["seconds_per_step"]
             for s in STEPS if "seconds_per_step" in next(r for r in rows if r["method"] == "score" and r["dt"] == s)]
    if ratio:
        summary["cost"] = f"JKO / score seconds per step: {', '.join(f'{x:.0f}' for x in ratio)} (shared machine)"
    summary["ablation"] = ("JKO with the score model's degree-2 basis, errors at t=4 (E|v|^4 / entropy): "
                           + "; ".join(f"dt={r['dt']:g}: {r.get('m4_error_end', math.nan):.2g}/"
                                       f"{r.get('entropy_error_end', math.nan):.2g}" for r in ablation))
    jko_rows = [r for r in rows if r["method"] == "jko" and "energy_drift" in r]
    summary["JKO structure"] = (f"energy drift {max(r['energy_drift'] for r in jko_rows):.1e}, entropy monotone "
                                f"{all(r['entropy_monotone'] for r in jko_rows)}, momentum "
                                f"{max(float(np.max(curves[('jko', r['dt'])]['momentum'])) for r in jko_rows):.1e}")
    # ---------------------------------------------------------------- convergence
    dt_rows, p_m4, p_h = convergence_dt(300 if quick else 1000)
    _write(out / "convergence_dt.csv", dt_rows)
    sizes = (150, 300, 600) if quick else (250, 500, 1000, 2000)
    n_rows, p_n = convergence_n(sizes, seeds=(0,) if quick else (0, 1, 2))
    _write(out / "convergence_n.csv", n_rows)
    errors_n = ", ".join(f"{r['entropy_error']:.2g}" for r in n_rows)
    summary["convergence"] = (f"t=1: order in dt {p_m4:.2f} (E|v|^4), {p_h:.2f} (entropy); entropy error vs N "
                              f"{errors_n} (N^{p_n:.2f})")
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    dts = [r["dt"] for r in dt_rows]
    ax[0].loglog(dts, [r["m4_error"] for r in dt_rows], "o-", label=f"E|v|⁴ (order {p_m4:.2f})")
    ax[0].loglog(dts, [r["entropy_error"] for r in dt_rows], "s-", label=f"entropy (order {p_h:.2f})")
    ax[0].set_xlabel("Δt")
    ax[0].set_title("JKO error at t = 1")
    ax[0].legend(fontsize=7)
    ax[1].loglog([r["N"] for r in n_rows], [r["entropy_error"] for r in n_rows], "o-", label=f"entropy (N^{p_n:.2f})")
    ax[1].loglog([r["N"] for r in n_rows], [r["m4_error"] for r in n_rows], "s-", label="E|v|⁴")
    ax[1].set_xlabel("N")
    ax[1].legend(fontsize=7)
    save_figure(fig, out / "convergence.png")
    # ---------------------------------------------------------------- Coulomb 3D
    res = coulomb(300 if quick else 1000, 0.25, 1.0 if quick else 4.0)
    _write(out / "coulomb.csv", [{"t": t, "gap": g, "closure_gap": c, "energy": e, "entropy": h}
                                 for t, g, c, e, h in zip(res["t"], res["gap"], res["closure_gap"], res["energy"],
                                                          res["entropy"])])
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(res["t"], res["gap"], "o-", label="JKO particles")
    ax.plot(res["t"], res["closure_gap"], "k:", label="bi-Maxwellian closure")
    ax.set_xlabel("t")
    ax.set_ylabel("T_x − T_z")
    ax.legend()
    save_figure(fig, out / "coulomb.png")
    summary["coulomb"] = (f"initial rate {res['rate']:.4f} vs exact {res['exact_rate']:.4f} (ratio "
                          f"{res['rate'] / res['exact_rate']:.3f}); max |gap − closure| "
                          f"{np.max(np.abs(res['gap'] - res['closure_gap'])):.3f}; energy drift "
                          f"{np.max(np.abs(res['energy'] - res['energy'][0])):.1e}")
    return summary
