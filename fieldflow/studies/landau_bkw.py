"""Landau equation, Maxwell molecules: grid solver, blob and score-based particles against the exact BKW solution.

Writes ``grid_errors.csv`` (L1 error at the final time, fitted order, mass/momentum/energy drift per grid),
``blob_errors.csv`` (fourth-moment error against N, fitted exponent), ``score.csv`` (CV-chosen score model, relative score
error, entropy dissipation and the flow's true entropy production against the exact rate), and ``slices.png``, ``entropy.png``, ``convergence.png``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..core.evolve import evolve
from ..core.grids import Grid
from ..landau.collision import BKW
from ..core.metrics import loglog_slope
from ..core.problem import Particles
from ..landau.particles import BlobLandau, ScoreLandau, landau_velocity
from ..landau.pde import Landau
from ..plotting import pyplot, save_figure

TITLE = "Landau/BKW: grid order in 2D and 3D, blob error against N, score-based entropy decay"
DEFAULT = True


def _write(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def grid_study(dim: int, ns: tuple[int, ...], extent: float, t0: float, t1: float):
    exact = BKW(dim)
    rows, runs = [], {}
    for n in ns:
        grid = Grid.box(n, extent, dim=dim)
        pde = Landau(grid, 0.0)
        traj = evolve(pde, exact.density(grid.points, t0), t1 - t0, method="ssprk3", save_every=(t1 - t0) / 4,
                      diagnostics_every=10)
        error = grid.integrate(np.abs(traj.final - exact.density(grid.points, t1)))
        rows.append({"dim": dim, "n": n, "h": grid.spacing[0], "L1_error": error,
                     "mass_drift": float(np.max(np.abs(traj["mass"] - 1))),
                     "momentum_drift": float(max(np.max(np.abs(traj[f"momentum_{a}"])) for a in range(dim))),
                     "energy_drift": float(abs(traj["energy"][-1] - traj["energy"][0])),
                     "entropy_monotone": bool(np.all(np.diff(traj["entropy"]) <= 1e-14)),
                     "steps": traj.info["steps"]})
        runs[n] = (grid, traj)
    order = loglog_slope([r["h"] for r in rows], [r["L1_error"] for r in rows])
    for r in rows:
        r["fitted_order"] = order
    return rows, runs, order


def blob_m4_error(n: int, t0: float = 0.5, t1: float = 0.55, extent: float = 4.5) -> tuple[float, object]:
    """Blob particles (2D BKW, n×n cells on [−extent, extent]², ε = h): error of the fourth-moment change.

    ``|(m4(t1) − m4(t0)) − (m4_BKW(t1) − m4_BKW(t0))|`` — the change, so the initial quadrature error (~1e-5)
    cancels.  Returns the error and the particle :class:`~fieldflow.core.trajectory.Trajectory`.
    """
    exact = BKW(2)
    grid = Grid.box(n, extent, dim=2)
    blob = BlobLandau(grid, 0.0)
    f0 = exact.density(grid.points, t0)
    v, w = blob.initial_particles(f0)
    res = evolve(blob, f0, t1 - t0, dt=min(0.8 / blob.lipschitz(v, w), t1 - t0))
    m4 = [float(np.sum(res.weights * np.sum(x**2, 1) ** 2)) for x in (res.states[0], res.states[-1])]
    change = exact.moments(t1)["fourth_moment"] - exact.moments(t0)["fourth_moment"]
    return abs(m4[1] - m4[0] - change), res


def extrapolated_order(eps, errors) -> tuple[float, np.ndarray]:
    """Local orders ``p = log(E₁/E₂)/log(ε₁/ε₂)`` at ``ε² = ε₁ε₂``, extrapolated linearly in ε² to ε → 0.

    The blob error is a smooth function of ε² alone, ``E = aε²(1 + cε² + …)``, so ``p(ε) = 2 + 2cε² + O(ε⁴)``;
    at reachable N the data are pre-asymptotic (``E ≈ aε²/(1 + bε²)``, ``b ≈ 3``), hence the extrapolation.
    Returns ``(p₀, local orders)``.
    """
    eps, errors = np.asarray(eps, float), np.asarray(errors, float)
    p = np.log(errors[:-1] / errors[1:]) / np.log(eps[:-1] / eps[1:])
    x = eps[:-1] * eps[1:]
    return float(np.polyval(np.polyfit(x, p, 1), 0.0)) if len(p) > 1 else float("nan"), p


def run(out: Path, quick: bool = True) -> dict[str, str]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plt = pyplot()
    summary = {}
    # ---------------------------------------------------------------- grid, 2D and 3D
    t0, t1 = 0.5, 1.5 if quick else 3.0
    rows2, runs2, p2 = grid_study(2, (24, 32, 48) if quick else (32, 64, 128), 6.0, t0, t1)
    s0, s1 = 6.0, 6.05 if quick else 7.0
    rows3, _, p3 = grid_study(3, (16, 20) if quick else (16, 24, 32), 6.0, s0, s1)
    _write(out / "grid_errors.csv", rows2 + rows3)
    summary["grid order"] = f"2D {p2:.2f}, 3D {p3:.2f} (L1 error vs h at the final time)"
    summary["grid conservation"] = (f"mass {max(r['mass_drift'] for r in rows2 + rows3):.1e}, momentum "
                                    f"{max(r['momentum_drift'] for r in rows2 + rows3):.1e}, energy "
                                    f"{rows2[-1]['energy_drift']:.1e} (2D finest); entropy monotone: "
                                    f"{all(r['entropy_monotone'] for r in rows2 + rows3)}")
    exact2 = BKW(2)
    grid, traj = runs2[max(runs2)]
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    x = grid.axes[0]
    mid = grid.shape[1] // 2
    for t, state in zip(traj.times, traj.states):
        ax[0].plot(x, state[:, mid], label=f"t={t0 + t:.2f}")
        ax[0].plot(x, exact2.density(grid.points, t0 + t)[:, mid], "k:", lw=1)
    ax[0].set_xlabel("v_x (v_y ≈ 0)")
    ax[0].set_title("grid (solid) vs BKW (dotted)")
    ax[0].legend(fontsize=7)
    tt = t0 + traj["t"]
    ax[1].plot(tt, traj["entropy"], label="grid H_h")
    ax[1].plot(tt, [exact2.entropy(t) for t in tt], "k:", label="BKW H")
    ax[1].set_xlabel("t")
    ax[1].legend()
    save_figure(fig, out / "slices.png")
    # ---------------------------------------------------------------- blob particles
    blob_rows = []
    for n in ((24, 32, 48) if quick else (24, 32, 48, 64)):  # ε = h, particles on n×n cells, t 0.5 → 0.55
        err, res = blob_m4_error(n)
        blob_rows.append({"N": res.weights.size, "epsilon": 9.0 / n, "m4_change_error": err,
                          "energy_drift": float(np.max(np.abs(res["energy"] - res["energy"][0]))),
                          "momentum_drift": float(np.max(np.abs(res["momentum_0"])))})
    p0, local = extrapolated_order([r["epsilon"] for r in blob_rows], [r["m4_change_error"] for r in blob_rows])
    for r, p in zip(blob_rows, [np.nan, *local]):
        r["local_order_eps"] = p
        r["extrapolated_order_eps"] = p0
    _write(out / "blob_errors.csv", blob_rows)
    summary["blob"] = (f"fourth-moment error: local orders in eps {', '.join(f'{p:.2f}' for p in local)}, "
                       f"extrapolated {p0:.2f} (claim 2, i.e. N^-1); energy drift "
                       f"{max(r['energy_drift'] for r in blob_rows):.1e}")
    # ---------------------------------------------------------------- score-based particles
    # Default ScoreLandau: (n_centres, ridge) chosen by 5-fold CV of the score-matching loss at every step.
    n = 1000 if quick else 6000
    v0 = exact2.sample(n, 0.5, seed=0)
    method = ScoreLandau(2, 0.0)
    res = evolve(method, Particles(v0, extras={"log_f": np.log(exact2.density(v0, 0.5))}), 0.6 if quick else 3.0,
                 dt=0.05, save_times=np.arange(0.1, 3.0, 0.1 if quick else 0.25))
    score_rows = []
    for t, state, H, D in zip(res.times, res.states, res["entropy"], res["dissipation"]):
        model = method.fit(state, res.weights)
        s = exact2.score(state, 0.5 + t)
        rel = float(np.sum(res.weights * np.sum((model(state) - s) ** 2, 1)) / np.sum(res.weights * np.sum(s * s, 1)))
        e = 1e-4
        rate = -(exact2.entropy(0.5 + t + e) - exact2.entropy(0.5 + t - e)) / (2 * e)
        # the flow's true entropy production −∫ f ∇log f · u: bilinear in (exact score, model), so free of the
        # positive noise term that the quadratic D(s_θ, s_θ) carries
        u, _ = landau_velocity(state, res.weights, model(state), 0.0, exact2.C)
        production = -float(np.sum(res.weights[:, None] * s * u))
        score_rows.append({"t": 0.5 + t, "n_centres": model.n_centres, "ridge": model.ridge,
                           "relative_score_error": rel, "entropy": H, "entropy_exact": exact2.entropy(0.5 + t),
                           "dissipation": D, "dissipation_exact": rate, "dissipation_ratio": D / rate,
                           "entropy_production": production, "entropy_production_ratio": production / rate})
    _write(out / "score.csv", score_rows)
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.5))
    ts = [r["t"] for r in score_rows]
    ax[0].plot(ts, [r["dissipation"] for r in score_rows], "o-", label="D(s_θ, s_θ) (CV fit)")
    ax[0].plot(ts, [r["entropy_production"] for r in score_rows], "s-", label="flow's production D(s_θ, ∇log f)")
    ax[0].plot(ts, [r["dissipation_exact"] for r in score_rows], "k:", label="BKW")
    ax[0].set_title("entropy decay rate −dH/dt")
    ax[0].set_xlabel("t")
    ax[0].legend()
    ax[1].plot(ts, [r["entropy"] for r in score_rows], "o-", label="score particles")
    ax[1].plot(ts, [r["entropy_exact"] for r in score_rows], "k:", label="BKW")
    ax[1].set_title("entropy H(t)")
    ax[1].set_xlabel("t")
    ax[1].legend()
    save_figure(fig, out / "entropy.png")
    ratios = [r["dissipation_ratio"] for r in score_rows]
    production = [r["entropy_production_ratio"] for r in score_rows]
    chosen = sorted({(r["n_centres"], r["ridge"]) for r in score_rows})
    summary["score"] = (f"relative score error {max(r['relative_score_error'] for r in score_rows):.3f} (max over t); "
                        f"dissipation / exact rate {min(ratios):.2f}–{max(ratios):.2f} (mean {np.mean(ratios):.2f}); "
                        f"the flow's entropy production / exact {min(production):.2f}–{max(production):.2f}; "
                        f"CV-chosen (n_centres, ridge): {', '.join(f'({m}, {lam:.0e})' for m, lam in chosen)}")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.loglog([r["h"] for r in rows2], [r["L1_error"] for r in rows2], "o-", label=f"grid 2D (order {p2:.2f})")
    ax.loglog([r["h"] for r in rows3], [r["L1_error"] for r in rows3], "s-", label=f"grid 3D (order {p3:.2f})")
    ax.set_xlabel("h")
    ax.set_ylabel("L1 error")
    ax.legend()
    save_figure(fig, out / "convergence.png")
    return summary
