"""JKO variational particles for the Landau equation: cost per step against the score method; random batches.

Run:  OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/landau_jko.py [--quick]

1. Seconds per step on the same particles, one process: the score method (ScoreLandau, Heun, cross-validated
   score every step) and JKOLandau variants — M = 1 logdet (default), M = 2 logdet, M = 1 trace (closed form),
   M = 1 logdet with random batches of 64 — for 2D BKW (Maxwell, C = 1/4, Δt = 0.5) at N = 500 and 1000, and the
   3D Coulomb bi-Maxwellian (C = 1, Δt = 0.25) at N = 500.  Ratios JKO / score are the figures to quote.
2. Random-batch bias and variance: 2D BKW, C = 1/4, N = 400, Δt = 0.5 to t = 2, batch sizes 25, 50, 100 and all
   pairs, 4 batch seeds each: mean and standard deviation of the errors in E|v|⁴ and in the entropy change.

One BLAS thread: on the shared 2-core machine OpenBLAS's threading made the small (≈140×140) solves of the score
fit 18× slower, which would swamp both methods.
"""

from __future__ import annotations

import sys
import time

import numpy as np

import fieldflow as ff
from fieldflow.landau import BKW, JKOLandau, ScoreLandau
from fieldflow.studies.landau_jko import bimaxwellian_particles, bkw_errors, bkw_particles


def per_step(fn, steps: int) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) / steps


def cost(quick: bool) -> None:
    print(f"{'case':<22} {'N':>5} {'score [s]':>9} {'variant':<18} {'JKO [s]':>8} {'JKO/score':>9} {'L-BFGS it':>9}")
    cases = [("BKW 2D Maxwell", 2, 0.0, 0.25, 0.5, n) for n in ((500,) if quick else (500, 1000))]
    cases.append(("Coulomb 3D", 3, -3.0, 1.0, 0.25, 300 if quick else 500))
    variants = [("M=1 logdet", {}), ("M=2 logdet", {"inner_steps": 2}),
                ("M=1 trace (closed)", {"jacobian": "trace"}), ("M=1 logdet, batch 64", {"batch_size": 64})]
    for name, d, gamma, C, dt, n in cases:
        if d == 2:
            v, logf = bkw_particles(BKW(2, C=C), n, 0.0)
        else:
            v, logf = bimaxwellian_particles(n)
        w = np.full(n, 1.0 / n)
        steps = 4
        score = per_step(lambda: ff.evolve(ScoreLandau(d, gamma, C=C), ff.Particles(v, w, {"log_f": logf}),
                                           steps * dt, dt=dt), steps)
        for label, opts in variants:
            runs = {}

            def go():
                runs["traj"] = ff.evolve(JKOLandau(d, gamma, C=C, **opts), ff.Particles(v, w, {"log_f": logf}),
                                         steps * dt, dt=dt)

            t = per_step(go, steps)
            it = float(np.mean(runs["traj"]["iterations"][1:]))
            print(f"{name:<22} {n:>5} {score:>9.3f} {label:<18} {t:>8.3f} {t / score:>9.1f} {it:>9.1f}")


def batches(quick: bool) -> None:
    C, n, dt, t_end = 0.25, 400, 0.5, 2.0
    exact = BKW(2, C=C)
    v, logf = bkw_particles(exact, n, 0.0)
    seeds = (0, 1) if quick else (0, 1, 2, 3)
    print(f"\n{'batch':>6} {'m4 err mean':>11} {'m4 err sd':>9} {'dH err mean':>11} {'dH err sd':>9} {'s/step':>7}")
    for size in (25, 50, 100, None):
        m4, dH, secs = [], [], []
        for seed in (seeds if size else (0,)):
            t0 = time.perf_counter()
            traj = ff.evolve(JKOLandau(2, 0.0, C=C, batch_size=size, seed=seed),
                             ff.Particles(v, extras={"log_f": logf}), t_end, dt=dt)
            secs.append((time.perf_counter() - t0) / traj.info["steps"])
            err = bkw_errors({"t": traj["t"], "fourth_moment": traj["fourth_moment"], "entropy": traj["entropy"]},
                             exact)
            m4.append(err["fourth_moment"][-1])
            dH.append(err["entropy"][-1])
        sd = (lambda x: np.std(x, ddof=1)) if len(m4) > 1 else (lambda x: 0.0)
        print(f"{str(size or 'all'):>6} {np.mean(m4):>11.4f} {sd(m4):>9.4f} {np.mean(dH):>11.4f} {sd(dH):>9.4f} "
              f"{np.mean(secs):>7.3f}")


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    cost(quick)
    batches(quick)
