"""fieldflow's Fokker–Planck solver against fplanck and py-pde at equal accuracy.

The problem (1D and 2D): the Ornstein–Uhlenbeck equation

.. math::  \\partial_t \\rho = \\nabla\\cdot(\\nabla\\rho + \\rho\\nabla V), \\qquad V = |x|^2/2,\\ D = 1,

on the box ``[-6, 6]^d`` (no flux; the tails there are ``< 1e-8``, far below the target), from
``ρ₀ = N(m₀, ½² I)`` with ``m₀ = 1`` (1D) or ``(1, −½)`` (2D).  The exact solution is Gaussian,

.. math::  \\rho(t) = N\\big(m_0 e^{-t},\\ (1 + (\\tfrac14 - 1) e^{-2t}) I\\big),

and every solver is scored by the L1 error ``Σ_i |ρ_i − ρ(x_i, 1)| h^d`` at ``t = 1`` over its
own grid points ``x_i``, computed in this script for every timed setting (a setting must reach
L1 ≤ 1e-3, and the next coarser grid must not, so the grid is the smallest that passes).

Solvers and their knobs:

``fieldflow``  ``FokkerPlanck`` (Scharfetter–Gummel) + ``evolve``: its defaults (``krylov-exp``: exact in
               time, one Lanczos exponential), TR-BDF2 at its default rtol = 1e-5, at
               ``rtol=1e-3, error_norm="l1"``, or with a fixed step; structure checks on.
``fplanck``    ``FokkerPlanck(temperature=1/k_B, drag=1, ...)`` + ``propagate`` (exact in time:
               ``expm_multiply`` of its master-equation matrix), so only ``n``.
``py-pde``     ``PDE({"p": "laplace(p) + divergence(p * gradient(V))"})``, Neumann walls, at its best: the
               ``scipy`` solver (RK45, ``rtol``) on the ``numba`` backend.  It compiles for every new
               grid (a minute or more per grid on two cores: the "first run" column).

Timing protocol (one process, the machine's load printed): each setting is built once (grid, equation
object, py-pde's compiled operators) and solved once untimed ("first run in process", which for
py-pde includes numba's compilation); then ``--rounds`` rounds (default 7) time every setting in turn
(interleaved, so load changes hit all alike) and the minimum is kept, both for a solve on the
already-built objects ("warm solve": factorisations and compiled code reused, as in a parameter
study) and, for fieldflow and fplanck, for building everything anew and solving ("build + solve").
"Fresh process" is the wall time of a new Python process that imports the package and solves once
(time to first result; py-pde's is its import plus the first run).

The peers are not fieldflow dependencies: build their environment with ``benchmarks/peers/setup.sh``
(fplanck 1.x needs Python ≥ 3.12) and run ::

    bash benchmarks/peers/setup.sh .venv-peers
    PYTHONPATH=. .venv-peers/bin/python -W ignore benchmarks/fokker_planck_peers.py

A peer that is not importable is skipped with a message.  ``--search`` scans each solver's knobs over
a ladder of grids for the smallest robust ``n`` (slow: py-pde compiles per grid) instead of timing
the settings in ``SETTINGS``.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOL = 1e-3
EXTENT = 6.0
VAR0 = 0.25
T_END = 1.0
MEANS = {1: (1.0,), 2: (1.0, -0.5), 3: (1.0, -0.5, 0.25)}
GRIDS = {1: [48, 64, 80, 96, 112, 128, 160, 192, 256], 2: [48, 64, 80, 96, 112, 128, 160], 3: [64, 80, 96, 112, 128]}


def exact(points: np.ndarray, t: float, dim: int) -> np.ndarray:
    """The OU density at time ``t`` on points of shape ``(..., dim)``."""
    mean = np.asarray(MEANS[dim]) * math.exp(-t)
    var = 1.0 + (VAR0 - 1.0) * math.exp(-2 * t)
    z2 = np.sum((points - mean) ** 2, axis=-1)
    return np.exp(-z2 / (2 * var)) / (2 * math.pi * var) ** (dim / 2)


# --------------------------------------------------------------------------- solvers


class Solver:
    """One package: ``knobs``, ``build(dim, n, knob) -> handle`` (everything reusable) and
    ``run(handle) -> (ρ at T_END, points, h^d)``."""

    name = "abstract"
    knobs: list[Any] = [None]
    #: the import statement and the call a fresh process times (``{dim}``, ``{n}``, ``{knob}`` filled in)
    fresh_code = ""

    def missing(self) -> str | None:
        """Why the package cannot run here, or ``None``."""
        return None

    def build(self, dim: int, n: int, knob: Any) -> Any:
        raise NotImplementedError

    def run(self, handle: Any) -> tuple[np.ndarray, np.ndarray, float]:
        raise NotImplementedError

    def knob_label(self, knob: Any) -> str:
        return "exact in time" if knob is None else str(knob)


class FieldflowSolver(Solver):
    name = "fieldflow"
    knobs = [("defaults", None), ("trbdf2", None), ("rtol", 1e-3), ("dt", 1 / 8)]  # rtol: with error_norm="l1"
    fresh_code = ("from fieldflow import FokkerPlanck, Grid, evolve\n"
                  "from fieldflow.densities import gaussian\n"
                  "from fieldflow.potentials import Quadratic\n"
                  "g = Grid.box(n={n}, extent={extent}, dim={dim})\n"
                  "evolve(FokkerPlanck(g, Quadratic(dim={dim}), D=1.0), gaussian(g, {mean}, {var0}), {t_end}, "
                  "progress=False, **{options})\n")

    @staticmethod
    def options(knob: Any) -> dict[str, Any]:
        kind, value = knob
        if kind == "defaults":
            return {}
        if kind == "trbdf2":
            return {"method": "trbdf2"}
        if kind == "rtol":
            return {"method": "trbdf2", "rtol": value, "error_norm": "l1"}
        return {"method": "trbdf2", "dt": value, "adaptive": False}

    def build(self, dim, n, knob):
        from fieldflow import FokkerPlanck, Grid
        from fieldflow.densities import gaussian
        from fieldflow.potentials import Quadratic

        grid = Grid.box(n=n, extent=EXTENT, dim=dim)
        return grid, FokkerPlanck(grid, Quadratic(dim=dim), D=1.0), gaussian(grid, MEANS[dim], VAR0), knob

    def run(self, handle):
        from fieldflow import evolve

        grid, pde, rho0, knob = handle
        traj = evolve(pde, rho0, T_END, progress=False, **self.options(knob))
        return np.asarray(traj.final), np.asarray(grid.points), grid.cell_volume

    def knob_label(self, knob):
        kind, value = knob
        if kind == "defaults":
            return "evolve defaults (krylov-exp)"
        if kind == "trbdf2":
            return "TR-BDF2 defaults (rtol=1e-5)"
        return f"TR-BDF2 rtol={value:g} L1 norm" if kind == "rtol" else f"TR-BDF2 dt=1/{round(1 / value)}"


class FplanckSolver(Solver):
    name = "fplanck"
    fresh_code = ("import numpy as np\n"
                  "from scipy import constants\n"
                  "from fplanck.solver import FokkerPlanck\n"
                  "from fplanck.utility import Boundary\n"
                  "h = 2 * {extent} / {n}\n"
                  "sim = FokkerPlanck(temperature=1 / constants.k, drag=1.0, extent=[2 * {extent}] * {dim}, "
                  "resolution=h, potential=lambda *x: 0.5 * sum(xi**2 for xi in x), boundary=Boundary.REFLECTING)\n"
                  "m = np.asarray({mean})\n"
                  "sim.propagate(lambda *x: np.exp(-sum((xi - mi)**2 for xi, mi in zip(x, m)) / (2 * {var0})), {t_end})\n")

    def missing(self):
        try:
            import fplanck.solver  # noqa: F401
        except ImportError as exc:
            return f"fplanck is not importable ({exc}); build the peer environment with benchmarks/peers/setup.sh"
        return None

    def build(self, dim, n, knob):
        from scipy import constants

        from fplanck.solver import FokkerPlanck
        from fplanck.utility import Boundary

        h = 2 * EXTENT / n
        # D = k_B T / drag = 1 and mobility 1/drag = 1, so that βU = V
        sim = FokkerPlanck(temperature=1 / constants.k, drag=1.0, extent=[2 * EXTENT] * dim, resolution=h,
                           potential=lambda *x: 0.5 * sum(xi**2 for xi in x), boundary=Boundary.REFLECTING)
        return sim, dim, h

    def run(self, handle):
        sim, dim, h = handle
        p = sim.propagate(lambda *x: exact(np.stack(x, axis=-1), 0.0, dim), T_END)  # probabilities per node
        return p / h**dim, np.stack(sim.grid, axis=-1), h**dim


class PyPDESolver(Solver):
    name = "py-pde"
    knobs = [("scipy", 1e-3), ("scipy", 1e-2)]

    def missing(self):
        try:
            import pde  # noqa: F401
            import numba  # noqa: F401
        except ImportError as exc:
            return f"py-pde with numba is not importable ({exc}); build the peer environment with benchmarks/peers/setup.sh"
        return None

    def build(self, dim, n, knob):
        import pde

        grid = pde.CartesianGrid([[-EXTENT, EXTENT]] * dim, n)
        points = grid.cell_coords
        V = pde.ScalarField(grid, 0.5 * np.sum(points**2, axis=-1))
        eq = pde.PDE({"p": "laplace(p) + divergence(p * gradient(V))"}, bc={"derivative": 0}, consts={"V": V})
        return eq, pde.ScalarField(grid, exact(points, 0.0, dim)), points, float(np.prod(grid.discretization)), knob

    def run(self, handle):
        eq, state, points, cell, (solver, tol) = handle
        result = eq.solve(state, t_range=T_END, solver=solver, tracker=None, backend="numba", method="RK45",
                          rtol=tol, atol=tol * 1e-3)
        return result.data, points, cell

    def knob_label(self, knob):
        solver, tol = knob
        return f"{solver} RK45 rtol={tol:g}, numba"


SOLVERS: dict[str, Callable[[], Solver]] = {"fieldflow": FieldflowSolver, "fplanck": FplanckSolver,
                                            "py-pde": PyPDESolver}

#: the timed settings (solver, dim) -> [(n, knob index), ...]: the smallest robust n for each knob, found
#: with ``--search`` (py-pde: by a search over n = 96–160 on the numba backend, whose compilation per grid
#: makes a full scan take an hour; its coarser-grid check is skipped in the default run for that reason)
SETTINGS: dict[tuple[str, int], list[tuple[int, int]]] = {
    ("fieldflow", 1): [(96, 0), (96, 1), (96, 2), (80, 3)],
    ("fieldflow", 2): [(112, 0), (112, 1), (96, 2), (96, 3)],
    ("fplanck", 1): [(96, 0)],
    ("fplanck", 2): [(112, 0)],
    ("py-pde", 1): [(112, 0)],
    ("py-pde", 2): [(112, 0)],
    # 3D (``--dims 3 --rounds 1 --no-rebuild --no-fresh``: each solve takes a minute or more)
    ("fieldflow", 3): [(112, 0), (96, 3)],
    ("fplanck", 3): [(112, 0)],
}


# --------------------------------------------------------------------------- measuring


@dataclass
class Row:
    solver: Solver
    dim: int
    n: int
    knob: Any
    handle: Any = None
    error: float = math.inf
    first: float = math.inf
    warm: float = math.inf
    rebuilt: float = math.inf
    fresh: float = math.inf

    @property
    def label(self) -> str:
        return f"n={self.n}{'²' if self.dim == 2 else ''}, {self.solver.knob_label(self.knob)}"


def l1_error(solver: Solver, handle: Any, dim: int) -> float:
    rho, points, cell = solver.run(handle)
    return float(np.sum(np.abs(rho - exact(points, T_END, dim))) * cell)


def first_run(row: Row) -> None:
    """Build and solve once (untimed for the table's warm columns; its wall time is "first run")."""
    t0 = time.perf_counter()
    row.handle = row.solver.build(row.dim, row.n, row.knob)
    rho, points, cell = row.solver.run(row.handle)
    row.first = time.perf_counter() - t0
    row.error = float(np.sum(np.abs(rho - exact(points, T_END, row.dim))) * cell)
    print(f"  {row.solver.name:9s} {row.dim}D {row.label:52s} L1={row.error:.2e} first run {row.first * 1e3:.0f} ms",
          flush=True)


def coarser_fails(row: Row) -> bool:
    """Whether the next coarser grid of the ladder misses the target (so ``row.n`` is the smallest)."""
    coarser = [m for m in GRIDS[row.dim] if m < row.n][-1:]
    if not coarser:
        return True
    error = l1_error(row.solver, row.solver.build(row.dim, coarser[0], row.knob), row.dim)
    print(f"    coarser n={coarser[0]}: L1={error:.2e} ({'fails' if error > TOL else 'PASSES: n is not the smallest'})")
    return error > TOL


def timed_rounds(rows: list[Row], rounds: int, rebuild: bool = True) -> None:
    """``rounds`` interleaved rounds; keep each row's minimum warm solve and build + solve."""
    for _ in range(rounds):
        for row in rows:
            t0 = time.perf_counter()
            row.solver.run(row.handle)
            row.warm = min(row.warm, time.perf_counter() - t0)
            if rebuild and row.solver.name != "py-pde":  # a new py-pde grid recompiles: its rebuild is the first run
                t0 = time.perf_counter()
                row.solver.run(row.solver.build(row.dim, row.n, row.knob))
                row.rebuilt = min(row.rebuilt, time.perf_counter() - t0)


def fresh_process(row: Row, repeats: int = 3) -> float:
    """Min wall time of a new interpreter that imports the package and solves once."""
    if not row.solver.fresh_code:
        return math.inf
    kind = row.knob[0] if isinstance(row.knob, tuple) else None
    options = FieldflowSolver.options(row.knob) if row.solver.name == "fieldflow" and kind else {}
    code = row.solver.fresh_code.format(n=row.n, dim=row.dim, extent=EXTENT, mean=list(MEANS[row.dim]), var0=VAR0,
                                        t_end=T_END, options=options)
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True, env=env)
        best = min(best, time.perf_counter() - t0)
    return best


def python_startup() -> float:
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        best = min(best, time.perf_counter() - t0)
    return best


def search(solver: Solver, dim: int) -> list[tuple[int, Any, float]]:
    """For every knob, the smallest ``n`` of the ladder with L1 ≤ TOL whose next finer grid passes too."""
    found = []
    for knob in solver.knobs:
        previous = None
        for n in GRIDS[dim]:
            error = l1_error(solver, solver.build(dim, n, knob), dim)
            print(f"  {solver.name} {dim}D n={n} {solver.knob_label(knob)}: L1={error:.2e}", flush=True)
            if error <= TOL and previous is not None and previous[1] <= TOL:
                found.append((previous[0], knob, previous[1]))
                break
            previous = (n, error)
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", action="store_true", help="scan every solver's knobs over the grid ladder")
    parser.add_argument("--dims", type=int, nargs="+", default=[1, 2], choices=[1, 2, 3])
    parser.add_argument("--solvers", nargs="+", default=list(SOLVERS), choices=list(SOLVERS))
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds (default 7)")
    parser.add_argument("--no-fresh", action="store_true", help="skip the fresh-process timings")
    parser.add_argument("--no-rebuild", action="store_true", help="time warm solves only (no build + solve)")
    parser.add_argument("--no-coarser", action="store_true", help="skip the next-coarser-grid check")
    args = parser.parse_args(argv)

    solvers = {}
    for name in args.solvers:
        solver = SOLVERS[name]()
        reason = solver.missing()
        if reason:
            print(f"[skip] {name}: {reason}")
        else:
            solvers[name] = solver
    if args.search:
        for dim in args.dims:
            for name, solver in solvers.items():
                for n, knob, error in search(solver, dim):
                    print(f"SMALLEST ROBUST: {name} {dim}D n={n} {solver.knob_label(knob)} L1={error:.2e}")
        return
    print(f"Python {sys.version.split()[0]}, NumPy {np.__version__}; load average before: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    rows = [Row(solver, dim, n, solver.knobs[k]) for dim in args.dims for name, solver in solvers.items()
            for n, k in SETTINGS.get((name, dim), [])]
    robust = {}
    for row in rows:
        first_run(row)
        robust[id(row)] = row.error <= TOL and (row.solver.name == "py-pde" or args.no_coarser or coarser_fails(row))
    timed_rounds(rows, args.rounds, rebuild=not args.no_rebuild)
    if not args.no_fresh:
        startup = python_startup()
        print(f"\nfresh processes (a bare `python -c pass` takes {startup * 1e3:.0f} ms):")
        import_pde = None
        for row in rows:
            if row.solver.name == "py-pde":
                if import_pde is None:
                    t0 = time.perf_counter()
                    subprocess.run([sys.executable, "-W", "ignore", "-c", "import pde, numba"], check=True)
                    import_pde = time.perf_counter() - t0
                row.fresh = import_pde + row.first
            else:
                row.fresh = fresh_process(row)
            print(f"  {row.solver.name:9s} {row.dim}D {row.label:52s} {row.fresh * 1e3:.0f} ms", flush=True)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    report(rows, robust, args.dims)


def _ms(seconds: float) -> str:
    return "–" if not math.isfinite(seconds) else f"{seconds * 1e3:.1f} ms" if seconds < 10 else f"{seconds:.1f} s"


def report(rows: list[Row], robust: dict[int, bool], dims: list[int]) -> None:
    """The table, then each peer's time as a multiple of fieldflow's defaults and best setting."""
    print("\n| dim | solver | settings | L1 error | warm solve | build + solve | first run in process | "
          "fresh process |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        mark = "" if robust[id(row)] else " (not robust)"
        print(f"| {row.dim}D | {row.solver.name} | {row.label}{mark} | {row.error:.2e} | {_ms(row.warm)} | "
              f"{_ms(row.rebuilt)} | {_ms(row.first)} | {_ms(row.fresh)} |")
    print()
    for dim in dims:
        ours = [r for r in rows if r.dim == dim and r.solver.name == "fieldflow" and robust[id(r)]]
        peers = [r for r in rows if r.dim == dim and r.solver.name != "fieldflow" and robust[id(r)]]
        if not ours or not peers:
            continue
        defaults = next((r for r in ours if r.knob[0] == "defaults"), None)
        best = min(ours, key=lambda r: r.warm)
        for peer in peers:
            parts = []
            for label, mine in (("defaults", defaults), (f"best ({best.solver.knob_label(best.knob)})", best)):
                if mine is None:
                    continue
                text = f"{label}: warm {peer.warm / mine.warm:.1f}×"
                if math.isfinite(peer.rebuilt) and math.isfinite(mine.rebuilt):
                    text += f", build + solve {peer.rebuilt / mine.rebuilt:.1f}×"
                parts.append(text)
            print(f"{dim}D {peer.solver.name} ({peer.label}) time / fieldflow's — " + "; ".join(parts)
                  + f"; first run {peer.first / defaults.first:.1f}×; fresh process {peer.fresh / defaults.fresh:.2f}×"
                  if defaults else "")


if __name__ == "__main__":
    main()
