"""Landau equation: cost per right-hand side, FFT scheme vs the direct O(n^{2d}) double sum; blob particles per step.

Run:  PYTHONPATH=. python benchmarks/landau.py [--fft numpy|scipy|pyfftw] [--backend numpy|cupy]

Prints, for several n in 2D and 3D, the time of one right-hand side by zero-padded FFT and by the direct
double sum (the same discrete operator, checked equal), their ratio, and the exponents fitted to
time ∝ N_cells^p (FFT: p ≈ 1, direct: p ≈ 2).  Then the time per step of the blob method at N = 10⁴ in 2D,
and the Coulomb (γ = −3) 3D comparison of grid and blob: time of one right-hand side / velocity evaluation and
the relative error of the initial bi-Maxwellian relaxation rate against the exact one
(:func:`fieldflow.landau.bimaxwellian.anisotropy_rate`).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from fieldflow.core.backend import to_numpy
from fieldflow.landau.bimaxwellian import anisotropy_rate, grid_anisotropy_rate, particle_anisotropy_rate
from fieldflow.densities import gaussian
from fieldflow.core.grids import Grid
from fieldflow.landau import BKW
from fieldflow.core.metrics import loglog_slope
from fieldflow.landau.particles import BlobLandau
from fieldflow.landau.pde import Landau


def timed(fn, repeat: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fft", default=None)
    parser.add_argument("--backend", default="numpy")
    parser.add_argument("--skip-blob", action="store_true")
    args = parser.parse_args()
    print(f"{'dim':>3} {'n':>4} {'cells':>8} {'fft [s]':>10} {'direct [s]':>11} {'ratio':>8} {'max rel diff':>12}")
    for dim, ns, direct_max, t in ((2, (16, 32, 64, 128, 256), 64, 1.0), (3, (8, 12, 16, 24, 32, 48), 12, 6.0)):
        cells, t_fft, t_dir, cells_dir = [], [], [], []
        for n in ns:
            grid = Grid.box(n, 6.0, dim=dim, backend=args.backend)
            pde = Landau(grid, 0.0, fft=args.fft)
            f = BKW(dim).density(grid.points, t)
            tf = timed(lambda: pde.rhs(f), 3)
            cells.append(grid.size)
            t_fft.append(tf)
            td, diff = float("nan"), float("nan")
            if n <= direct_max:
                td = timed(lambda: pde.rhs_direct(f), 1)
                ref = pde.rhs_direct(f)
                diff = float(np.max(np.abs(to_numpy(pde.rhs(f)) - to_numpy(ref))) / np.max(np.abs(to_numpy(ref))))
                t_dir.append(td)
                cells_dir.append(grid.size)
            print(f"{dim:>3} {n:>4} {grid.size:>8} {tf:>10.4f} {td:>11.4f} {td / tf:>8.1f} {diff:>12.1e}")
        p_fft = loglog_slope(cells[1:], t_fft[1:])
        p_dir = loglog_slope(cells_dir, t_dir)
        print(f"    {dim}D fitted exponents (time ∝ cells^p): FFT p = {p_fft:.2f}, direct p = {p_dir:.2f}")
    if args.skip_blob:
        return
    grid = Grid.box(100, 5.0, dim=2, backend=args.backend)
    blob = BlobLandau(grid, 0.0, drop_tol=0.0)  # keep all 10⁴ cells as particles
    f0 = BKW(2).density(grid.points, 0.5)
    v, w = blob.initial_particles(f0)
    t_vel = timed(lambda: blob.velocity(v, w), 1)
    t_step = timed(lambda: blob._step(v, w, 1e-3), 1)
    print(f"blob 2D N={v.shape[0]}: velocity evaluation {t_vel:.2f} s, Heun step (2 evaluations) {t_step:.2f} s")
    coulomb_grid_vs_blob(args.backend)


def coulomb_grid_vs_blob(backend: str) -> None:
    """Coulomb 3D bi-Maxwellian: cost and initial-rate error, grid right-hand side vs blob velocity field."""
    temps = (1.3, 0.85, 0.85)
    exact = anisotropy_rate(temps, -3.0, 1.0)
    print(f"Coulomb 3D, T = {temps}: relative error of d(T_x - T_z)/dt at t = 0 (exact {exact:.6f})")
    print(f"{'method':>22} {'unknowns':>9} {'eval [s]':>9} {'error vs exact':>15} {'error vs own limit':>19}")
    for n in (12, 16, 24, 32):
        grid = Grid.box(n, 6.5, dim=3, backend=backend)
        pde = Landau(grid, -3.0, C=1.0)
        f = gaussian(grid, 0.0, temps)
        rate = grid_anisotropy_rate(grid, pde.rhs(f))
        print(f"{'grid n=' + str(n):>22} {grid.size:>9} {timed(lambda: pde.rhs(f), 3):>9.3f} {abs(rate / exact - 1):>15.1e} {'':>19}")
    times, sizes = [], []
    for n in (12, 14, 16, 18):
        blob = BlobLandau(Grid.box(n, 7.0, dim=3, backend=backend), -3.0, C=1.0, epsilon=0.8)
        v, w = blob.initial_particles(gaussian(blob.grid, 0.0, temps))
        u = blob.velocity(v, w)
        rate = particle_anisotropy_rate(v, w, u)
        t_vel = timed(lambda: blob.velocity(v, w), 1)
        limit = anisotropy_rate(temps, -3.0, 1.0, 0.8)
        times.append(t_vel)
        sizes.append(v.shape[0])
        print(f"{'blob eps=0.8 N=' + str(v.shape[0]):>22} {v.shape[0]:>9} {t_vel:>9.3f} {abs(rate / exact - 1):>15.1e} "
              f"{abs(rate / limit - 1):>19.1e}")
    print(f"    blob velocity evaluation: time ∝ N^{loglog_slope(sizes, times):.2f}")


if __name__ == "__main__":
    main()
