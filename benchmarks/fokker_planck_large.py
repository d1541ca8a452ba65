"""3D and large 2D Fokker–Planck: the exact-in-time default (Lanczos) and TR-BDF2's multigrid solves.

The Ornstein–Uhlenbeck problem of ``fokker_planck_peers.py`` in 3D (``V = |x|²/2``, ``D = 1``, box
``[-6, 6]³``, ``ρ₀ = N((1, −½, ¼), ¼ I)``, exact Gaussian solution) evolved to ``t = 1`` on ``n³`` grids
(``--dim 2``: the same in 2D, ``ρ₀ = N((1, −½), ¼ I)``, on ``n²`` grids).
For each grid and setting the script prints the wall time (set-up included: operator, symmetrisation,
multigrid hierarchy), the L1 error against the exact solution at the cell centres, the steps, and the
CG iteration counts per solve (per step size ``c = γ dt/2``: mean and maximum), then fits
``time ∝ cells^p`` over the multigrid rows of each setting.

Settings: ``evolve`` defaults (``krylov-exp``: one Lanczos exponential ``exp(L)ρ₀``, no time error), and
TR-BDF2 (``method="trbdf2"``) at its default rtol = 1e-5, at ``rtol=1e-3, error_norm="l1"`` and with a fixed
step ``dt = 1/8``, all with the multigrid solver (TR-BDF2's default in 3D beyond 5000 cells and in 2D beyond
4·10⁵); ``--old`` adds, for the TR-BDF2 rtol = 1e-5 row, the solver multigrid replaced on the grids up to
``--old-max``, timed in the same run: GMRES preconditioned by ILU in 3D (``linear_solver="iterative"``),
sparse LU in 2D.

    PYTHONPATH=. OPENBLAS_NUM_THREADS=1 python benchmarks/fokker_planck_large.py --sizes 32 48 64 96 128 --old
    PYTHONPATH=. OPENBLAS_NUM_THREADS=1 python benchmarks/fokker_planck_large.py --dim 2 --sizes 256 512 1024 --old
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MEANS = {2: (1.0, -0.5), 3: (1.0, -0.5, 0.25)}
VAR0 = 0.25
SETTINGS = {"defaults": {}, "trbdf2": {"method": "trbdf2"},
            "rtol=1e-3 L1": {"method": "trbdf2", "rtol": 1e-3, "error_norm": "l1"},
            "dt=1/8": {"method": "trbdf2", "dt": 1 / 8, "adaptive": False}}


def exact(points: np.ndarray, t: float, dim: int) -> np.ndarray:
    mean = np.asarray(MEANS[dim]) * math.exp(-t)
    var = 1.0 + (VAR0 - 1.0) * math.exp(-2 * t)
    return np.exp(-np.sum((points - mean) ** 2, axis=-1) / (2 * var)) / (2 * math.pi * var) ** (dim / 2)


def run(n: int, dim: int, options: dict, linear_solver: str = "multigrid") -> dict:
    from fieldflow import FokkerPlanck, Grid, evolve
    from fieldflow.densities import gaussian
    from fieldflow.potentials import Quadratic

    t0 = time.perf_counter()
    grid = Grid.box(n=n, extent=6.0, dim=dim)
    pde = FokkerPlanck(grid, Quadratic(dim=dim), D=1.0)
    solver = {"linear_solver": linear_solver} if options.get("method") == "trbdf2" else {}
    traj = evolve(pde, gaussian(grid, MEANS[dim], VAR0), 1.0, progress=False, **solver, **options)
    seconds = time.perf_counter() - t0
    error = float(np.sum(np.abs(traj.final - exact(np.asarray(grid.points), 1.0, dim))) * grid.cell_volume)
    cache = pde.__dict__.get("_implicit_solver_cache", {}) if solver else {}
    iterations = [it for _, factor in cache.get("factors", {}).values() for it in getattr(factor, "iterations", [])]
    algorithm = None
    if not solver:  # the default: the Krylov dimension of each Lanczos step, or the Chebyshev degree
        exp_cache = pde.__dict__.get("_krylov_exponential_cache", {})
        algorithm = "Chebyshev" if exp_cache.get("degrees") else "Lanczos"
        iterations = list(exp_cache.get("degrees" if algorithm == "Chebyshev" else "dims", {}).values())
    levels = cache["hierarchy"][1].hierarchy.levels if "hierarchy" in cache else 0
    return {"seconds": seconds, "error": error, "steps": traj.info["steps"], "iterations": iterations,
            "algorithm": algorithm,
            "levels": levels, "mass": abs(traj["mass"][-1] - traj["mass"][0])}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=3, choices=[2, 3])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 48, 64])
    parser.add_argument("--default-max", type=int, default=None,
                        help="largest n for the TR-BDF2 rtol 1e-5 row (50-70 steps; default 64 in 3D, 1024 in 2D)")
    parser.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--old", action="store_true", help="also time the replaced solver (3D ILU-GMRES, 2D LU)")
    parser.add_argument("--old-max", type=int, default=48, help="largest n for the replaced solver")
    args = parser.parse_args(argv)
    if args.default_max is None:
        args.default_max = 64 if args.dim == 3 else 1024
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    run(12, args.dim, SETTINGS["dt=1/8"])  # untimed: imports and first calls
    rows = []
    for name in args.settings:
        for n in args.sizes:
            if name == "trbdf2" and n > args.default_max:
                continue
            # the old path is the old default: timed for the TR-BDF2 rtol 1e-5 row only
            old = "iterative" if args.dim == 3 else "direct"
            solvers = ["multigrid"] + ([old] if args.old and n <= args.old_max and name == "trbdf2" else [])
            for solver in solvers:
                out = run(n, args.dim, SETTINGS[name], solver)
                its = out["iterations"]
                rows.append((name, n, solver, out))
                print(f"{name:10s} n={n:4d} {solver:10s} {out['seconds']:8.2f} s  L1 {out['error']:.3e}  steps "
                      f"{out['steps']:3d}  iterations/solve mean {np.mean(its) if its else 0:.1f} max "
                      f"{max(its) if its else 0}  levels {out['levels']}  |Δmass| {out['mass']:.1e}", flush=True)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
    power = "³" if args.dim == 3 else "²"
    print(f"| setting | n{power} | solver | time | L1 error | steps | CG iterations per solve, or Lanczos vectors / "
          "Chebyshev degree (mean / max) | levels |")
    print("|---|---|---|---|---|---|---|---|")
    for name, n, solver, out in rows:
        its = out["iterations"]
        label = f"exp(L): {out['algorithm']}" if name == "defaults" else \
            {"multigrid": "multigrid CG", "iterative": "ILU GMRES (old default)", "direct": "sparse LU"}[solver]
        iters = f"{np.mean(its):.1f} / {max(its)}" if solver == "multigrid" and its else "–"  # multigrid or Lanczos
        print(f"| {name} | {n}{power} | {label} | {out['seconds']:.2f} s | {out['error']:.2e} | {out['steps']} | {iters} | "
              f"{out['levels'] or '–'} |")
    print()
    for name in args.settings:
        mg = [(n, out["seconds"]) for s, n, solver, out in rows if s == name and solver == "multigrid"]
        if len(mg) >= 2:
            p = np.polyfit(np.log([n**args.dim for n, _ in mg]), np.log([t for _, t in mg]), 1)[0]
            print(f"{name}: multigrid time ∝ cells^{p:.2f} over n = {', '.join(str(n) for n, _ in mg)}")
        for n in args.sizes:
            pair = {solver: out for s, m, solver, out in rows if s == name and m == n}
            for old in ("iterative", "direct"):
                if old in pair:
                    print(f"{name} n={n}: {old} / multigrid = {pair[old]['seconds'] / pair['multigrid']['seconds']:.1f}× "
                          f"(L1 {pair[old]['error']:.3e} vs {pair['multigrid']['error']:.3e})")


if __name__ == "__main__":
    main()
