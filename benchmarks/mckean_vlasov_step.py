"""McKean–Vlasov speed: one ETDRK4 step against the FFTs it needs, and a 400-point phase diagram.

Run from the repository root::

    PYTHONPATH=. python benchmarks/mckean_vlasov_step.py [--n 4096] [--points 400] [--workers 2]

Prints

* the time of one ETDRK4 step of ``McKeanVlasov`` at ``n`` nodes, the time of the 10 real FFTs
  of length ``n`` that step performs (5 forward + 5 inverse, same provider, single thread), and
  their ratio (the target: at most 3);
* the wall time of ``fieldflow.mckean_vlasov.phase_diagram`` over ``points`` values of
  ``m ∈ [0, 3]`` on a process pool of ``workers`` processes (the target: under a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import time
import timeit

import numpy as np

import fieldflow as ff
from fieldflow.mckean_vlasov.interactions import kuramoto_daido
from fieldflow.mckean_vlasov.pde import McKeanVlasov
from fieldflow.mckean_vlasov import phase_diagram
from fieldflow.core.steppers.exponential import ETDRK4


def best_time(func, number: int, repeat: int = 7) -> float:
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number


def step_benchmark(n: int) -> None:
    grid = ff.Grid.torus(n)
    pde = McKeanVlasov(grid, kuramoto_daido(0.8), 1.2)
    q = ff.densities.from_function(grid, lambda x: np.exp(2 * np.cos(x[..., 0])))
    stepper = ETDRK4(pde, dt=0.05, adaptive=False)
    stepper.step(q, 0.0, 0.05)  # plans and φ-coefficients
    q_hat = pde.fft.rfftn(q, axes=(-1,))

    def ten_ffts():
        for _ in range(5):
            pde.fft.rfftn(q, axes=(-1,))
            pde.fft.irfftn(q_hat, s=grid.shape, axes=(-1,))

    # interleaved rounds, best of each: both timings see the same machine load
    steps, fft_times, nonlinear_times = [], [], []
    for _ in range(25):
        steps.append(best_time(lambda: stepper.step(q, 0.0, 0.05), number=50, repeat=1))
        fft_times.append(best_time(ten_ffts, number=50, repeat=1))
        nonlinear_times.append(best_time(lambda: pde.nonlinear_hat(q_hat), number=50, repeat=1))
    step, ffts, nonlinear = min(steps), min(fft_times), min(nonlinear_times)
    print(f"n = {n}, FFT provider {pde.fft.name} (1 thread)")
    print(f"  one ETDRK4 step                 {step * 1e6:9.1f} us")
    print(f"  the 10 real FFTs it needs       {ffts * 1e6:9.1f} us")
    print(f"  one nonlinear evaluation        {nonlinear * 1e6:9.1f} us (2 FFTs + O(nM) work)")
    print(f"  ratio step / FFTs               {step / ffts:9.2f}   (target <= 3)")


def phase_diagram_benchmark(points: int, workers: int) -> None:
    ms = np.linspace(0.0, 3.0, points)
    t0 = time.perf_counter()
    result = phase_diagram(ms, max_workers=workers)
    wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    phase_diagram(ms[:: max(1, points // 40)], executor="serial")
    per_point = (time.perf_counter() - t0) / len(ms[:: max(1, points // 40)])
    disc = sum(c.kind == "discontinuous" for c in result)
    print(f"phase diagram: {points} values of m in [0, 3], {workers} processes: {wall:.1f} s "
          f"(target < 60 s); serial cost {per_point * 1e3:.0f} ms per m; {disc} discontinuous")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--points", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    step_benchmark(args.n)
    phase_diagram_benchmark(args.points, args.workers)
