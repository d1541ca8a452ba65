"""The one time loop against the loops it replaced: speed of a grid and a particle run, bytes of checkpoints.

The code before the loops were merged (commit ``cf8fbe0``: ``evolve`` for grids, ``particle_loop`` for
particles) is exported with ``git archive`` into a temporary folder; each case runs in a fresh subprocess
with ``PYTHONPATH`` on the old or the new tree, alternately, and the minimum wall time over ``--repeats``
runs is kept.  Cases:

* ``fokker-planck``: the quick-start run — 1D double well, ``n = 256``, ``evolve`` defaults (adaptive
  TR-BDF2), ``t_end = 20``, ``save_every = 0.1``;
* ``langevin``: ``N = 32000`` Langevin particles in 1D, 1000 Euler–Maruyama steps (old:
  ``langevin.simulate``; new: ``ff.evolve(Langevin(V), x0, 1.0, dt=1e-3, seed=0)``);
* ``checkpoint-bytes``: bytes written (``/proc/self/io`` ``wchar``) by a 1D Fokker–Planck run of 200 backward
  Euler steps on ``n = 2048`` cells that saves every step and checkpoints at every step
  (``checkpoint_every=0``), old against new (run once: the old loop needs ~30 s for it).

Run:  python benchmarks/evolve_loop.py [--repeats 5] [--old cf8fbe0]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES = {
    "fokker-planck": ("""
        grid = ff.Grid.box(n=256, extent=6.0, dim=1)
        pde = ff.FokkerPlanck(grid, ff.potentials.DoubleWell(barrier=1.0, separation=1.5))
        rho0 = ff.densities.gaussian(grid, mean=2.5, cov=0.1)
        t0 = time.perf_counter()
        traj = ff.evolve(pde, rho0, t_end=20.0, save_every=0.1, progress=False)
        wall = time.perf_counter() - t0
        check = traj.final
    """, None),
    "langevin": ("""
        from fieldflow.fokker_planck import langevin
        V = ff.potentials.Quadratic(1.0)
        x0 = langevin.sample_gaussian(32000, mean=2.0, cov=0.25, dim=1, seed=1)
        t0 = time.perf_counter()
        _, (check,) = langevin.simulate(V, x0, 1.0, 1e-3, seed=0, progress=False)
        wall = time.perf_counter() - t0
    """, """
        V = ff.potentials.Quadratic(1.0)
        x0 = ff.fokker_planck.langevin.sample_gaussian(32000, mean=2.0, cov=0.25, dim=1, seed=1)
        t0 = time.perf_counter()
        check = ff.evolve(ff.fokker_planck.Langevin(V), x0, 1.0, dt=1e-3, seed=0, progress=False).final
        wall = time.perf_counter() - t0
    """),
    "checkpoint-bytes": ("""
        grid = ff.Grid.box(n=2048, extent=6.0, dim=1)
        pde = ff.FokkerPlanck(grid, ff.potentials.Quadratic(1.0))
        rho0 = ff.densities.gaussian(grid, mean=1.0, cov=0.5)
        before = wchar()
        t0 = time.perf_counter()
        traj = ff.evolve(pde, rho0, 1.0, method="euler", dt=1 / 200, adaptive=False, save_every=1 / 200,
                         checkpoint=os.path.join(tmp, "run.npz"), checkpoint_every=0.0, progress=False)
        wall = time.perf_counter() - t0
        written = wchar() - before
        check = traj.final
    """, None),
}

PRELUDE = """
import os, sys, time, json, tempfile, warnings
import numpy as np
warnings.simplefilter("ignore", DeprecationWarning)
import fieldflow as ff
tmp = tempfile.mkdtemp()
def wchar():
    with open("/proc/self/io") as fh:
        return int(next(line for line in fh if line.startswith("wchar")).split()[1])
written = 0
"""

EPILOGUE = """
assert ff.__file__.startswith(os.environ["PYTHONPATH"]), ff.__file__
np.save(os.path.join(sys.argv[1]), np.asarray(check))
print(json.dumps({"wall": wall, "written": written}))
"""


def run(tree: Path, code: str, out: Path) -> dict[str, float]:
    import json

    script = PRELUDE + textwrap.dedent(code) + EPILOGUE
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    # run from the output folder: with ``-c`` the working directory comes first on sys.path
    result = subprocess.run([sys.executable, "-c", script, str(out)], env=env, capture_output=True, text=True,
                            check=False, cwd=out.parent)
    if result.returncode:
        raise RuntimeError(f"case failed in {tree}:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--old", default="cf8fbe0", help="the commit before the loops were merged")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.old, "fieldflow"], capture_output=True,
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        print(f"old: {args.old} (git archive), new: {ROOT}; load average {os.getloadavg()[0]:.2f}")
        print(f"{'case':18s} {'old':>12s} {'new':>12s} {'new/old':>8s}  same result")
        for name, (old_code, new_code) in CASES.items():
            walls: dict[str, list[float]] = {"old": [], "new": []}
            written: dict[str, float] = {}
            results: dict[str, np.ndarray] = {}
            for _ in range(1 if name == "checkpoint-bytes" else args.repeats):
                for label, tree, code in (("old", old, old_code), ("new", ROOT, new_code or old_code)):
                    out = Path(tmp) / f"{label}.npy"
                    figures = run(tree, code, out)
                    walls[label].append(figures["wall"])
                    written[label] = figures["written"]
                    results[label] = np.load(out)
            same = "bit-for-bit" if np.array_equal(results["old"], results["new"]) else \
                f"max diff {np.max(np.abs(results['old'] - results['new'])):.1e}"
            o, n = min(walls["old"]), min(walls["new"])
            print(f"{name + ' [s]':18s} {o:12.3f} {n:12.3f} {n / o:8.2f}  {same}")
            if name == "checkpoint-bytes":
                wo, wn = written["old"], written["new"]
                print(f"{name + ' [MB]':18s} {wo / 1e6:12.1f} {wn / 1e6:12.1f} {wn / wo:8.3f}")
        print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
