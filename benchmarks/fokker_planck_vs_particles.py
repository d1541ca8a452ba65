"""Grid against particles on the 1D OU problem at equal W1 accuracy.

Problem: V = x²/2, D = 1, μ₀ = N(2, 0.25); exact μ₁ = N(2e^{-1}, 0.25e^{-2} + 1 − e^{-2}).
For each target accuracy ε, the grid solver's cheapest run with W1(μ_h(1), μ₁) ≤ ε (doubling n)
is timed against Euler–Maruyama Langevin particles with the N and Δt that reach the same
expected W1: N from E W1 ≈ ∫sqrt(F(1−F)) dx · sqrt(2/(πN)) (the CLT limit of the empirical CDF)
at ε/2, and Δt = ε/4 (Euler–Maruyama's weak error here is ≈ (m₀e^{-1}/2 + 1/4) Δt ≈ 0.6 Δt in W1:
the bias of the mean plus that of the spread).  The particle W1 is then measured (one seed).

Run:  python benchmarks/fokker_planck_vs_particles.py [--eps 1e-2 3e-3 1e-3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import norm

import fieldflow as ff
from fieldflow.fokker_planck import langevin
from fieldflow.potentials import Quadratic

M0, V0 = 2.0, 0.25
M1, V1 = M0 * np.exp(-1), V0 * np.exp(-2) + 1 - np.exp(-2)


def w1_to_exact(grid: ff.Grid, rho: np.ndarray) -> float:
    faces, cdf = ff.metrics.grid_cdf(grid, rho)
    x = np.linspace(faces[0], faces[-1], 200_001)
    F = np.interp(x, faces, cdf)
    return float(np.trapezoid(np.abs(F - norm.cdf(x, M1, np.sqrt(V1))), x))


def grid_run(eps: float) -> tuple[int, float, float]:
    n = 16
    while True:
        grid = ff.Grid.box(n=n, extent=7.0)
        pde = ff.FokkerPlanck(grid, Quadratic(1.0))
        rho0 = ff.densities.gaussian(grid, mean=M0, cov=V0)
        t0 = time.perf_counter()
        final = ff.evolve(pde, rho0, 1.0, rtol=eps * 1e-2, atol=eps * 1e-3, diagnostics_every=0).final
        wall = time.perf_counter() - t0
        err = w1_to_exact(grid, final)
        if err <= eps:
            return n, wall, err
        n *= 2


def particle_run(eps: float, seed: int = 0) -> tuple[int, float, float, float]:
    x = np.linspace(-6, 6, 20_001)
    F = norm.cdf(x, M1, np.sqrt(V1))
    c = np.trapezoid(np.sqrt(F * (1 - F)), x) * np.sqrt(2 / np.pi)
    n = int(np.ceil((2 * c / eps) ** 2))
    dt = 1.0 / np.ceil(4.0 / eps)
    x0 = langevin.sample_gaussian(n, mean=M0, cov=V0, dim=1, seed=seed)
    t0 = time.perf_counter()
    x1 = ff.evolve(langevin.Langevin(Quadratic(1.0)), x0, 1.0, dt=dt, seed=seed).final
    wall = time.perf_counter() - t0
    grid = ff.Grid.box(n=4096, extent=7.0)
    exact = norm.pdf(np.asarray(grid.axes[0]), M1, np.sqrt(V1))
    err = ff.metrics.w1_samples_to_grid(grid, exact, x1)
    return n, dt, wall, err


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eps", type=float, nargs="+", default=[1e-2, 3e-3])
    args = parser.parse_args()
    print(f"{'eps':>8} {'grid n':>7} {'grid s':>9} {'grid W1':>9} {'N':>9} {'dt':>7} {'part. s':>9} {'part. W1':>9} {'particles/grid':>15}")
    for eps in args.eps:
        n, tg, eg = grid_run(eps)
        N, dt, tp, ep = particle_run(eps)
        print(f"{eps:8.0e} {n:7d} {tg:9.4f} {eg:9.2e} {N:9d} {dt:7.0e} {tp:9.3f} {ep:9.2e} {tp / tg:15.0f}")


if __name__ == "__main__":
    main()
