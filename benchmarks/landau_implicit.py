"""Landau grid solver: the implicit default (``positive-trbdf2``) against the explicit SSPRK3 on boxes where the tails set
the explicit limit.

Run:  OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python benchmarks/landau_implicit.py [--explicit-budget SECONDS]

For each case: the explicit limit ``0.9·stable_dt`` at t = 0 and the SSPRK3 step count it implies; the SSPRK3 run
itself when its projected wall time (from timing 20 of its steps) is within ``--explicit-budget`` (default 120 s);
the implicit run: steps, Newton and GMRES iterations, wall time; the L1 error against the exact BKW solution where
there is one; and the drift of mass, momentum and energy and the largest entropy increase (``max ΔH``, ≤ 0:
monotone) over the run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fieldflow as ff
from fieldflow.core.steppers.positive import PositiveTRBDF2
from fieldflow.landau import BKW, Landau


def cases():
    """(label, pde, f0, t_end, exact final density or None)."""
    bkw2, bkw3 = BKW(2), BKW(3)
    out = []
    for n, extent in ((32, 8.0), (36, 9.0)):
        grid = ff.Grid.box(n, extent, dim=2)
        out.append((f"2D BKW box({n}, {extent:g}) t 0.5→1.5", Landau(grid, 0.0), bkw2.density(grid.points, 0.5), 1.0,
                    bkw2.density(grid.points, 1.5)))
    grid = ff.Grid.box(4, 12.0, dim=2)
    out.append(("2D shifted Gaussian box(4, 12) t 0→2", Landau(grid, 0.0),
                ff.densities.gaussian(grid, np.array([0.5, -0.3]), np.array([2.0, 1.5])), 2.0, None))
    grid = ff.Grid.box(16, 6.0, dim=3)
    out.append(("3D BKW box(16, 6) t 6→7", Landau(grid, 0.0), bkw3.density(grid.points, 6.0), 1.0,
                bkw3.density(grid.points, 7.0)))
    grid = ff.Grid.box(16, 6.5, dim=3)
    out.append(("3D Coulomb bi-Maxwellian box(16, 6.5) t 0→0.3", Landau(grid, -3.0, C=1.0),
                ff.densities.gaussian(grid, 0.0, np.array([1.2, 0.9, 0.9])), 0.3, None))
    return out


def summary(pde, traj, exact):
    grid = pde.grid
    d = grid.dim
    error = grid.integrate(np.abs(traj.final - exact)) if exact is not None else float("nan")
    drift = {k: float(np.ptp(traj[k])) for k in ["mass", "energy"] + [f"momentum_{a}" for a in range(d)]}
    return error, drift, float(np.max(np.diff(traj["entropy"])))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--explicit-budget", type=float, default=120.0)
    args = parser.parse_args()
    print(f"{'case':<46} {'method':<16} {'steps':>9} {'newton':>7} {'gmres':>7} {'wall [s]':>9} {'L1 error':>9} "
          f"{'mass':>8} {'momentum':>8} {'energy':>8} {'max ΔH':>9}")
    for label, pde, f0, t_end, exact in cases():
        f0 = pde.validate(f0)
        limit = 0.9 * pde.stable_dt(f0)
        projected = t_end / limit
        # explicit: time 20 steps, run it all if the projection is within budget
        t0 = time.perf_counter()
        ff.evolve(pde, f0, 20 * limit, method="ssprk3", diagnostics_every=0, max_explicit_steps=10**12)
        per_step = (time.perf_counter() - t0) / 20
        if projected * per_step <= args.explicit_budget:
            t0 = time.perf_counter()
            traj = ff.evolve(pde, f0, t_end, method="ssprk3", diagnostics_every=10)
            wall = time.perf_counter() - t0
            error, drift, dh = summary(pde, traj, exact)
            print(f"{label:<46} {'ssprk3':<16} {traj.info['steps']:>9} {'':>7} {'':>7} {wall:>9.2f} {error:>9.3e} "
                  f"{drift['mass']:>8.1e} {max(v for k, v in drift.items() if 'momentum' in k):>8.1e} "
                  f"{drift['energy']:>8.1e} {dh:>9.1e}")
        else:
            print(f"{label:<46} {'ssprk3':<16} {projected:>9.1e} {'':>7} {'':>7} {projected * per_step:>9.1e} "
                  f"(projected: limit {limit:.2e}, {per_step * 1e3:.1f} ms/step; not run)")
        stepper = PositiveTRBDF2(pde, **pde.stepper_options)
        t0 = time.perf_counter()
        traj = ff.evolve(pde, f0, t_end, method=stepper, diagnostics_every=1)
        wall = time.perf_counter() - t0
        error, drift, dh = summary(pde, traj, exact)
        solver = stepper.solver
        print(f"{'':<46} {'positive-trbdf2':<16} {traj.info['steps']:>9} {solver.iterations:>7} "
              f"{solver.krylov_iterations:>7} {wall:>9.2f} {error:>9.3e} {drift['mass']:>8.1e} "
              f"{max(v for k, v in drift.items() if 'momentum' in k):>8.1e} {drift['energy']:>8.1e} {dh:>9.1e}")


if __name__ == "__main__":
    main()
