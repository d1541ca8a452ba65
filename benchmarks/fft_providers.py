"""FFT providers compared: each one's time for a forward+inverse transform, as a ratio to the fastest.

For 1D sizes ``2^10 … 2^22`` and 2D sizes ``256² … 2048²`` it times, for every provider that
:func:`fieldflow.core.backend.available_fft_providers` finds (pyFFTW, ``scipy.fft``, ``numpy.fft``;
``cupy.fft`` with ``--backend cupy``),

* ``real``:    ``irfftn(rfftn(a), s=a.shape)`` on float64 data,
* ``complex``: ``ifftn(fftn(z))`` on complex128 data,

through the same :func:`fieldflow.core.backend.get_fft` objects the solvers use (so plan caching,
copies and allocations are all counted).  Each figure is the minimum over repeats of the mean of
an inner loop long enough (≥ 2 ms) for the clock to resolve it; the first call (plan
construction) is excluded.  The table prints ``ratio (ms)`` with ratio = time / fastest time of
that row; the provider :func:`~fieldflow.core.backend.get_fft` picks by default is marked ``*``.

``--variants`` adds diagnostic pyFFTW configurations that explain where pyFFTW's time goes:
``pyfftw-Nthr`` (fieldflow's wrapper with all N cores at every size, the policy before
:data:`fieldflow.core.backend.THREADS_MIN_POINTS`), and bare plans executed on pre-aligned arrays
without the wrapper, with N or one thread, and one thread with ``FFTW_MEASURE`` plans (only up to
2^18 points: larger ones take minutes to plan).  A second table gives each first call (planning).

Usage::

    python benchmarks/fft_providers.py            # all sizes (~1-2 min on 2 idle cores)
    python benchmarks/fft_providers.py --quick    # 2^10, 2^14, 2^18, 2^22 and 256², 1024²
    python benchmarks/fft_providers.py --variants # plus the pyFFTW diagnostics (~5-10 min)

Timings on a machine shared with other processes are unreliable for multithreaded providers:
the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fieldflow.core import backend  # noqa: E402

SIZES_1D = [2**k for k in range(10, 23)]
SIZES_2D = [256, 512, 1024, 2048]
QUICK_1D = [2**10, 2**14, 2**18, 2**22]
QUICK_2D = [256, 1024]
MEASURE_MAX_POINTS = 2**18  # FFTW_MEASURE planning of larger transforms takes minutes on 2 cores


def best_time(fn: Callable[[], Any], budget: float, min_repeats: int = 3) -> tuple[float, float]:
    """``(best, first)``: the minimum over repeats of the mean time of ``fn``, and its first call's time.

    The first call (plan construction, caches) is timed separately and excluded. The inner loop
    grows 1, 2, 5, 10, … calls until it lasts ≥ 2 ms, so that the clock resolves it.
    """
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    inner = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= 2e-3:
            break
        inner *= 5 if str(inner)[0] == "2" else 2
    best = elapsed / inner
    start = time.perf_counter()
    repeats = 1
    while repeats < min_repeats or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t0) / inner)
        repeats += 1
    return best, first


class _BarePlans:
    """pyFFTW plans executed on pre-aligned arrays into pre-allocated outputs: what pyFFTW costs
    without fieldflow's wrapper (no checks, copies or allocations).  Diagnostic only (``--variants``)."""

    def __init__(self, threads: int, effort: str):
        import pyfftw
        import pyfftw.builders

        self.pyfftw, self.builders, self.threads, self.effort = pyfftw, pyfftw.builders, threads, effort
        self.cache: dict[tuple, Callable[[], Any]] = {}

    def roundtrip(self, kind: str, a: np.ndarray) -> Callable[[], Any]:
        key = (kind, a.shape)
        if key not in self.cache:
            fwd, inv = ("rfftn", "irfftn") if kind == "real" else ("fftn", "ifftn")
            src = self.pyfftw.empty_aligned(a.shape, dtype=a.dtype)
            f = getattr(self.builders, fwd)(src, threads=self.threads, planner_effort=self.effort, avoid_copy=True)
            spec = self.pyfftw.empty_aligned(f.output_shape, dtype=f.output_dtype)
            g = getattr(self.builders, inv)(spec, s=a.shape, threads=self.threads, planner_effort=self.effort,
                                             avoid_copy=True)
            back = self.pyfftw.empty_aligned(g.output_shape, dtype=g.output_dtype)
            src[...] = a  # planning may overwrite the arrays
            f.update_arrays(src, spec)
            g.update_arrays(spec, back)

            def run() -> None:
                f.execute()
                g.execute()

            self.cache[key] = run
        return self.cache[key]


def providers(with_variants: bool) -> dict[str, Any]:
    """Name → provider object (``get_fft`` ones, plus diagnostic pyFFTW variants when asked)."""
    out: dict[str, Any] = {name: backend.get_fft(name) for name in backend.available_fft_providers()}
    if with_variants and "pyfftw" in out:
        cores = backend._cpu_count()
        out[f"pyfftw-{cores}thr"] = backend.get_fft("pyfftw", threads=cores)  # all cores at every size
        out[f"pyfftw-bare-{cores}thr"] = _BarePlans(cores, "FFTW_ESTIMATE")
        out["pyfftw-bare-1thr"] = _BarePlans(1, "FFTW_ESTIMATE")
        out["pyfftw-bare-1thr-MEASURE"] = _BarePlans(1, "FFTW_MEASURE")
    return out


def make_roundtrip(provider: Any, kind: str, a: Any) -> Callable[[], Any]:
    """The timed operation: forward then inverse transform of ``a``."""
    if isinstance(provider, _BarePlans):
        return lambda: provider.roundtrip(kind, a)()  # plans built on the first call, which is timed apart
    if kind == "real":
        return lambda: provider.irfftn(provider.rfftn(a), s=a.shape)
    return lambda: provider.ifftn(provider.fftn(a))


def sample(shape: tuple[int, ...], kind: str, xp: Any) -> Any:
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape)
    if kind == "complex":
        a = a + 1j * rng.standard_normal(shape)
    return xp.asarray(a)


def skipped(provider: Any, shape: tuple[int, ...], backend_name: str) -> bool:
    if not isinstance(provider, _BarePlans):
        return False
    return backend_name == "cupy" or (provider.effort == "FFTW_MEASURE" and int(np.prod(shape)) > MEASURE_MAX_POINTS)


def run(quick: bool, with_variants: bool, budget: float, backend_name: str) -> list[dict[str, Any]]:
    backend.set_backend(backend_name)
    xp = backend.get_namespace()
    provs = providers(with_variants)
    default = backend.get_fft().name
    sync = (lambda: xp.cuda.Device().synchronize()) if backend_name == "cupy" else (lambda: None)
    cases = [(n,) for n in (QUICK_1D if quick else SIZES_1D)] + [(n, n) for n in (QUICK_2D if quick else SIZES_2D)]
    rows = []
    print(f"# providers: {', '.join(provs)}; default (get_fft()): {default}; cores={backend._cpu_count()}; "
          f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    for kind in ("real", "complex"):
        for shape in cases:
            a = sample(shape, kind, xp)
            times, first = {}, {}
            for name, prov in provs.items():
                if skipped(prov, shape, backend_name):
                    continue
                fn = make_roundtrip(prov, kind, a)
                times[name], first[name] = best_time(lambda: (fn(), sync()), budget)
            rows.append({"kind": kind, "shape": shape, "times": times, "first": first})
            fastest = min(times.values())
            cells = " | ".join(f"{n} {t / fastest:.2f} ({t * 1e3:.4g} ms)" for n, t in times.items())
            print(f"# {kind} {'x'.join(map(str, shape))}: {cells}", flush=True)
    print(f"# load average after: {os.getloadavg()[0]:.2f}")
    return rows


def report(rows: list[dict[str, Any]], default: str) -> None:
    """Markdown tables: ratio to the fastest (ms), first-call times for variants, and a verdict."""
    names = list(rows[0]["times"])
    label = lambda row: f"{row['kind']} | {'×'.join(map(str, row['shape']))}"  # noqa: E731
    print()
    print("| transform | size | " + " | ".join(f"{n}{'*' if n == default else ''}" for n in names) + " |")
    print("|---|---|" + "---|" * len(names))
    for row in rows:
        fastest = min(row["times"].values())
        cells = " | ".join(f"{row['times'][n] / fastest:.2f} ({row['times'][n] * 1e3:.3g} ms)"
                           if n in row["times"] else "–" for n in names)
        print(f"| {label(row)} | {cells} |")
    if any(n.startswith("pyfftw-") for n in names):
        print()
        print("first call (plan construction + one round trip), ms:")
        print()
        print("| transform | size | " + " | ".join(names) + " |")
        print("|---|---|" + "---|" * len(names))
        for row in rows:
            cells = " | ".join(f"{row['first'][n] * 1e3:.3g}" if n in row["first"] else "–" for n in names)
            print(f"| {label(row)} | {cells} |")
    official = [n for n in names if n in backend.available_fft_providers()]
    wins = dict.fromkeys(official, 0)
    for row in rows:
        wins[min(official, key=lambda n: row["times"][n])] += 1
    slow = [row for row in rows if row["times"][default] > 1.1 * min(row["times"][n] for n in official)]
    print()
    print("fastest provider per row (among get_fft providers): " + ", ".join(f"{n} {k}" for n, k in wins.items()))
    print(f"default {default!r} is more than 10% slower than the fastest provider in {len(slow)} of {len(rows)} rows"
          + (": " + ", ".join(label(r).replace(" |", "") for r in slow) if slow else ""))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes")
    parser.add_argument("--variants", action="store_true", help="add diagnostic pyFFTW configurations")
    parser.add_argument("--budget", type=float, default=0.25, help="seconds of repeats per cell (default 0.25)")
    parser.add_argument("--backend", default="numpy", choices=["numpy", "cupy"])
    args = parser.parse_args(argv)
    rows = run(args.quick, args.variants, args.budget, args.backend)
    report(rows, backend.get_fft().name)


if __name__ == "__main__":
    main()
