"""SVGD benchmarks (prints ratios).

1. A 2D 256² SVGDFlow right-hand side and one implicit step against the FFTs they perform
   (the FFT provider is wrapped to count and time every transform).
2. Grid solver against particle SVGD at equal accuracy in 2D: the error of each against a fine grid
   reference at t = T, measured as the mean over both axes of the exact 1D W1 distance between
   marginals; wall time of the grid run at resolution n against particles at N with the same error.

    PYTHONPATH=. python benchmarks/svgd.py [--quick]
"""

from __future__ import annotations

import sys
import time

import numpy as np

import fieldflow as ff
from fieldflow.svgd import particles as psvgd
from fieldflow.fokker_planck.langevin import sample_gaussian

QUICK = "--quick" in sys.argv
V2 = ff.potentials.Quadratic(1.0, dim=2)
KERNEL, ALPHA = ff.svgd.Bessel(1.0), 0.5


class CountingFFT:
    """Wraps an FFT provider, timing every call."""

    def __init__(self, inner):
        self.inner, self.time, self.calls = inner, 0.0, 0

    def __getattr__(self, name):
        fn = getattr(self.inner, name)

        def timed(*a, **k):
            t0 = time.perf_counter()
            out = fn(*a, **k)
            self.time += time.perf_counter() - t0
            self.calls += 1
            return out

        return timed


def fft_floor():
    n = 128 if QUICK else 256
    g = ff.Grid.box(n, 4.0, 2)
    pde = ff.SVGDFlow(g, V2, KERNEL, alpha=ALPHA)
    counter = CountingFFT(pde.convolution.fft)
    pde.convolution.fft = counter
    rho = pde.validate(ff.densities.gaussian(g, mean=[1.0, 0.5], cov=0.5))
    pde.rhs(rho, 0.0)
    counter.time, counter.calls = 0.0, 0
    t0 = time.perf_counter()
    reps = 20
    for _ in range(reps):
        pde.rhs(rho, 0.0)
    wall = time.perf_counter() - t0
    print(f"[rhs] {n}² grid, padded {pde.convolution.padded_shape}: {wall / reps * 1e3:.1f} ms per evaluation, "
          f"{counter.calls // reps} FFT calls taking {counter.time / reps * 1e3:.1f} ms -> ratio {wall / counter.time:.2f}")
    rho = ff.evolve(pde, rho, 0.1, rtol=1e-4).final  # past the stiff initial transient
    stepper = ff.core.steppers.log_density.LogTRBDF2(pde, dt=0.02, adaptive=False)
    stepper.initial_dt(rho, 0.1, 1.0)
    counter.time, counter.calls = 0.0, 0
    t0 = time.perf_counter()
    stepper.step(rho, 0.1, 0.02)
    wall = time.perf_counter() - t0
    print(f"[step] one LogTRBDF2 step dt=0.02 at t=0.1: {wall:.2f} s, {counter.calls} FFT calls taking {counter.time:.2f} s "
          f"-> ratio {wall / counter.time:.1f}")


def marginal_w1(grid, rho, samples):
    out = []
    for axis in range(2):
        g1 = ff.Grid.box(grid.shape[axis], grid.upper[axis], 1)
        marg = np.sum(np.asarray(rho), axis=1 - axis) * grid.spacing[1 - axis]
        out.append(ff.metrics.w1_samples_to_grid(g1, marg, np.asarray(samples)[:, axis]))
    return float(np.mean(out))


def marginal_w1_grids(fine, rho_f, coarse, rho_c):
    out = []
    for axis in range(2):
        def cdf(grid, rho):
            marg = np.sum(np.asarray(rho), axis=1 - axis) * grid.spacing[1 - axis]
            faces = grid.lower[axis] + grid.spacing[axis] * np.arange(grid.shape[axis] + 1)
            return faces, np.concatenate([[0], np.cumsum(marg) * grid.spacing[axis]])
        ff_, Ff = cdf(fine, rho_f)
        fc, Fc = cdf(coarse, rho_c)
        xs = np.linspace(fine.lower[axis], fine.upper[axis], 20001)
        out.append(np.trapezoid(np.abs(np.interp(xs, ff_, Ff) - np.interp(xs, fc, Fc)), xs))
    return float(np.mean(out))


def grid_vs_particles():
    T, extent, mean0 = 0.5, 4.0, [1.0, 0.5]
    ref_n = 64 if QUICK else 96
    fine = ff.Grid.box(ref_n, extent, 2)
    ref = ff.evolve(ff.SVGDFlow(fine, V2, KERNEL, alpha=ALPHA), ff.densities.gaussian(fine, mean=mean0, cov=0.5), T,
                    rtol=1e-6).final
    grid_pts = []
    for n in ([8, 16] if QUICK else [8, 16, 32]):
        g = ff.Grid.box(n, extent, 2)
        t0 = time.perf_counter()
        rho = ff.evolve(ff.SVGDFlow(g, V2, KERNEL, alpha=ALPHA), ff.densities.gaussian(g, mean=mean0, cov=0.5), T,
                        rtol=1e-4).final
        wall = time.perf_counter() - t0
        grid_pts.append((marginal_w1_grids(fine, ref, g, rho), wall))
        print(f"[grid] n={n}: W1 {grid_pts[-1][0]:.2e} in {wall:.2f} s")
    part_pts = []
    for N in ([100, 400] if QUICK else [100, 400, 1600]):
        x0 = sample_gaussian(N, mean=mean0, cov=0.5, dim=2, seed=0)
        speed = float(np.max(np.linalg.norm(psvgd.velocity(x0, V2, KERNEL, ALPHA), axis=1)))
        dt = T / np.ceil(T / min(0.005, 0.2 / speed))
        t0 = time.perf_counter()
        xs = ff.evolve(psvgd.SVGDParticles(V2, KERNEL, ALPHA), x0, T, dt=dt).states
        wall = time.perf_counter() - t0
        part_pts.append((marginal_w1(fine, ref, xs[-1]), wall))
        print(f"[particles] N={N}: W1 {part_pts[-1][0]:.2e} in {wall:.2f} s (dt {dt:.2g})")
    # time the grid needs to reach the best particle accuracy (log-log interpolation, or its best run)
    target = min(p[0] for p in part_pts)
    gw = np.array(grid_pts)
    order = np.argsort(gw[:, 0])
    grid_time = float(np.exp(np.interp(np.log(target), np.log(gw[order, 0]), np.log(gw[order, 1]))))
    part_time = [p[1] for p in part_pts if p[0] == target][0]
    print(f"[equal W1 {target:.2e}] particles {part_time:.2f} s vs grid {grid_time:.3f} s -> ratio {part_time / grid_time:.0f}x")


if __name__ == "__main__":
    fft_floor()
    grid_vs_particles()
