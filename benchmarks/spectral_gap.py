"""Spectral-gap speed: the spectrum of L_q at 128 modes, and a 200 × 200 Kuramoto–Daido gap map.

Run from the repository root::

    PYTHONPATH=. python benchmarks/spectral_gap.py [--modes 128] [--grid 200] [--workers 2]

Prints

* the time of ``linearized_spectrum(W, K, q, modes=128)`` (two resolutions, 128 and 160 modes,
  all converged eigenpairs; median of 10 warm runs) for the Kuramoto minimiser at ``K = 2`` and the
  Kuramoto–Daido minimiser at ``m = 1.2, K = 1.2``, against the target 0.1 s; the same with
  eigenvalues only (``vectors=False``) and the time of the free-energy minimiser it needs when
  ``q`` is omitted;
* the wall time of ``kuramoto_daido_gap_map`` over ``grid × grid`` points
  (``m ∈ [0, 2]``, ``K ∈ [0.05, 3]``) on a process pool of ``workers`` processes (target: under
  two minutes on 2 cores), the CPU time its workers used (their wall time on idle cores), and
  the machine's load average (the CPUs may be shared).
"""

from __future__ import annotations

import os

# one BLAS thread per process: the matrices here (≤ 320²) gain nothing from threads, and on a
# shared 2-core machine OpenBLAS threads spin against the other process (measured: 10-30× slower)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from fieldflow.mckean_vlasov.interactions import kuramoto, kuramoto_daido  # noqa: E402
from fieldflow.mckean_vlasov import free_energy_minimizer, linearized_spectrum  # noqa: E402
from fieldflow.mckean_vlasov.gap_map import kuramoto_daido_gap_map  # noqa: E402


def _median_time(func, repeat: int = 10) -> tuple[float, float]:
    """Median wall and CPU (this process) seconds of ``func()`` over ``repeat`` warm runs."""
    func()  # warm: FFT plans, imports
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        func()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", type=int, default=128)
    parser.add_argument("--grid", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-map", action="store_true", help="only time the spectrum")
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    for W, K, name in [(kuramoto(), 2.0, "Kuramoto K=2"), (kuramoto_daido(1.2), 1.2, "Kuramoto–Daido m=1.2 K=1.2")]:
        state = free_energy_minimizer(W, K)
        t_full, c_full = _median_time(lambda: linearized_spectrum(W, K, state, modes=args.modes))
        t_vals, c_vals = _median_time(lambda: linearized_spectrum(W, K, state, modes=args.modes, vectors=False))
        t_min, c_min = _median_time(lambda: free_energy_minimizer(W, K), repeat=3)
        sp = linearized_spectrum(W, K, state, modes=args.modes)
        print(f"{name}: spectrum at {args.modes} modes ({sp.n_converged} converged eigenpairs) "
              f"{t_full * 1e3:.1f} ms wall / {c_full * 1e3:.1f} ms CPU (target 100 ms, ratio {t_full / 0.1:.2f}); "
              f"eigenvalues only {t_vals * 1e3:.1f} / {c_vals * 1e3:.1f} ms; "
              f"free-energy minimiser {t_min * 1e3:.1f} / {c_min * 1e3:.1f} ms")

    if args.skip_map:
        return
    ms = np.linspace(0.0, 2.0, args.grid)
    Ks = np.linspace(0.05, 3.0, args.grid)
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    gmap = kuramoto_daido_gap_map(ms, Ks, max_workers=args.workers)
    wall = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    print(f"gap map {args.grid}x{args.grid} on {args.workers} workers: {wall:.1f} s wall "
          f"(target 120 s, ratio {wall / 120:.2f}); worker CPU {cpu:.1f} s = {cpu / args.workers:.1f} s per worker "
          f"(the wall time on {args.workers} idle cores); {int(np.isnan(gmap.gap).sum())} unconverged points; "
          f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
