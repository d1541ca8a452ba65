"""Classic RBF-kernel SVGD (Liu–Wang, median heuristic) against Duncan-kernel SVGD particles, at equal wall time.

Targets in 2D (as in the svgd_targets study): standard Gaussian, the mixture of N((±1.5, 0), I), the banana
``x₁²/2 + (x₂ − 0.3x₁²)²/2``; start N(mean0, 0.5 I) (i.i.d., seed 0).  For each method and particle number N the
particles run by ``ff.evolve`` with forward Euler; every ``T/8`` of flow time the benchmark records the wall time so
far and

* KSD² with the IMQ kernel (``fieldflow.core.metrics.kernel_stein_discrepancy``, score ``−∇V``);
* the marginal W1 to the target (exact 1D W1 of each axis against a fine grid's marginals, averaged);
* for the Duncan particles, the marginal W1 to the mean-field grid solution at the same time (what the PDE
  predicts for N → ∞), and that solution's KL — the KL the particles approach as N grows.

"Equal wall time": each method's KSD² and W1 at the other's wall times are interpolated (log–log in wall time along
its own run), and the N-dependence of the final values is fitted (log–log slope in N).  Step sizes: RBF ε = 0.05;
Duncan ``min(0.005, 0.2/max speed at t = 0)`` (the weights ``e^{V − V0/2}`` make it stiff).

    PYTHONPATH=. python benchmarks/svgd_particles.py [--quick]
"""

from __future__ import annotations

import sys
import time

import numpy as np

import fieldflow as ff
from fieldflow.core.metrics import kernel_stein_discrepancy, loglog_slope
from fieldflow.fokker_planck.langevin import sample_gaussian
from fieldflow.studies.svgd_targets import best_v0
from fieldflow.svgd import particles as psvgd
from svgd import marginal_w1  # benchmarks/svgd.py (this script's folder is on sys.path)

QUICK = "--quick" in sys.argv
NS = [50, 100] if QUICK else [50, 100, 200]
T_RBF, EPS_RBF = 100.0, 0.05
T_DUNCAN, ELL = 6.0, 1.0
SAVES = 8


def targets():
    return {
        "gaussian": (ff.potentials.Quadratic(1.0, dim=2), 4.0, (1.5, 1.5), None),
        "mixture": (ff.potentials.GaussianMixture(means=[[-1.5, 0.0], [1.5, 0.0]], cov=1.0), 4.0, (0.0, 1.5), None),
        "banana": (ff.potentials.Banana(a=1.0, b=0.3, sigma=1.0), 3.0, (0.0, 0.5), 0.4),
    }


def timed_run(problem, x0, t_end, dt):
    """Positions and wall times at ``SAVES`` equally spaced flow times (one run)."""
    marks, t0 = [], time.perf_counter()
    ff.evolve(problem, x0, t_end, dt=dt, save_every=t_end / SAVES,
              callback=lambda t, s: marks.append((t, time.perf_counter() - t0, np.array(s.x))))
    return marks


def main():
    rows = []
    for name, (V, extent, mean0, banana_alpha) in targets().items():
        fine = ff.Grid.box(128, extent, 2)
        target = np.asarray(ff.SVGDFlow(fine, V, ff.svgd.Bessel(ELL), alpha=0.1, allow_violation=True).rho_inf)
        score = lambda y: -V.gradient(y)
        grid = ff.Grid.box(32, extent, 2)
        if banana_alpha is None:
            alpha, beta = best_v0(np.asarray(V.on_grid(grid)), np.asarray(np.sum(grid.points**2, -1)))
        else:
            alpha, beta = banana_alpha, 0.0
        pde = ff.SVGDFlow(grid, V, ff.svgd.Bessel(ELL), alpha=alpha, beta=beta, allow_violation=banana_alpha is not None)
        mean_field = ff.evolve(pde, ff.densities.gaussian(grid, mean=mean0, cov=0.5), T_DUNCAN,
                               save_every=T_DUNCAN / SAVES, rtol=1e-5)
        for N in NS:
            x0 = sample_gaussian(N, mean=mean0, cov=0.5, dim=2, seed=0)
            speed = float(np.max(np.linalg.norm(psvgd.velocity(x0, V, ff.svgd.Bessel(ELL), alpha, beta), axis=1)))
            dt = T_DUNCAN / np.ceil(T_DUNCAN / min(0.005, 0.2 / speed))
            for method, problem, t_end, step in (
                    ("rbf", psvgd.RBFSVGDParticles(V), T_RBF, EPS_RBF),
                    ("duncan", psvgd.SVGDParticles(V, ff.svgd.Bessel(ELL), alpha, beta), T_DUNCAN, dt)):
                for t, wall, x in timed_run(problem, x0, t_end, step):
                    row = {"target": name, "method": method, "N": N, "t": t, "wall": wall,
                           "ksd2": kernel_stein_discrepancy(x, score), "w1_target": marginal_w1(fine, target, x)}
                    if method == "duncan":
                        k = int(np.argmin(np.abs(np.asarray(mean_field.times) - t)))
                        row["w1_mean_field"] = marginal_w1(grid, mean_field.states[k], x)
                        row["kl_mean_field"] = float(pde.kl(mean_field.states[k]))
                    rows.append(row)
                last = rows[-1]
                extra = (f", W1 to the mean-field solution {last['w1_mean_field']:.3g} (its KL {last['kl_mean_field']:.3g})"
                         if method == "duncan" else "")
                print(f"[{name}] {method:6s} N={N:4d} dt={step:.2g}: t={last['t']:.3g} in {last['wall']:.2f} s, "
                      f"KSD² {last['ksd2']:.3g}, W1 to target {last['w1_target']:.3g}{extra}", flush=True)
        summarise(name, [r for r in rows if r["target"] == name])


def summarise(name, rows):
    """N-slopes of the final KSD² and W1, and each method's values at the other's wall times."""
    for method in ("rbf", "duncan"):
        final = [max((r for r in rows if r["method"] == method and r["N"] == N), key=lambda r: r["t"]) for N in NS]
        print(f"[{name}] {method}: final KSD² ~ N^{loglog_slope(NS, [r['ksd2'] for r in final]):.2f}, "
              f"W1 to target ~ N^{loglog_slope(NS, [r['w1_target'] for r in final]):.2f}"
              + (f", W1 to the mean-field solution ~ N^{loglog_slope(NS, [r['w1_mean_field'] for r in final]):.2f}"
                 if method == "duncan" else ""))
    for N in NS:
        rbf = [r for r in rows if r["method"] == "rbf" and r["N"] == N]
        dun = [r for r in rows if r["method"] == "duncan" and r["N"] == N]
        wall = min(rbf[-1]["wall"], dun[-1]["wall"])

        def at(run, key):
            w = np.log([r["wall"] for r in run])
            return float(np.exp(np.interp(np.log(wall), w, np.log([r[key] for r in run]))))

        print(f"[{name}] N={N}, equal wall time {wall:.2f} s: KSD² rbf {at(rbf, 'ksd2'):.3g} vs duncan "
              f"{at(dun, 'ksd2'):.3g}; W1 rbf {at(rbf, 'w1_target'):.3g} vs duncan {at(dun, 'w1_target'):.3g}")


if __name__ == "__main__":
    main()
