"""Cost curves for every family: time against problem size, the fitted exponent, and each row's floor.

Run from the repository root (about five minutes on two cores; ``--quick`` about one)::

    PYTHONPATH=. OPENBLAS_NUM_THREADS=1 python benchmarks/scaling.py [--quick] [--only NAME ...]

For each family the script times one unit of work at several sizes (the minimum of a few repeats, after
an untimed warm-up that pays plans, factorisations and imports), fits ``time ∝ size^p`` by least squares in
log–log (:func:`fieldflow.core.metrics.loglog_slope`), and times, in the same run and at the same sizes, the
floor that unit cannot beat:

==========================  =========================================  ===========================================
family                      unit of work                               floor
==========================  =========================================  ===========================================
Fokker–Planck 1D, 2D        one TR-BDF2 step (dt = 1/16, LU cached)    one product with the sparse ``L`` (memory
                                                                       bandwidth of the 3- or 5-point stencil)
Fokker–Planck 3D            one TR-BDF2 step (multigrid CG)            the same SpMV
McKean–Vlasov               one ETDRK4 step, ``n`` nodes               the 10 real FFTs of length ``n`` it needs
SVGD 2D                     one right-hand side, ``n²`` cells          the FFTs it calls (counted and timed)
Landau 2D, 3D (grid)        one right-hand side, ``n^d`` cells         one rfftn + irfftn pair on the ``(2n)^d``
                                                                       zero-padded grid (the ratio is in pairs)
Landau blob, score (3D     one Coulomb velocity evaluation (blob,     ``N²`` pairs at the ns per pair of a bare
Coulomb), JKO (2D BKW)      score) or one JKO step, ``N`` particles    NumPy Gaussian pair sum (measured here)
L_q spectrum                ``linearized_spectrum`` at ``M`` modes     ``numpy.linalg.eig`` of an ``M × M`` matrix
Polchinski sampler          a batch of 256 free fields on ``L²``       the normal variates + one batched irfft
==========================  =========================================  ===========================================

The ratio column is time / floor at the largest size; the exponent of the floor is printed beside the
family's, so a family whose exponent exceeds its floor's is paying more than the floor's growth.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fieldflow as ff  # noqa: E402
from fieldflow.core.metrics import loglog_slope  # noqa: E402


def best(fn: Callable[[], Any], repeat: int = 3) -> float:
    """Minimum wall time of at least ``repeat`` calls (more for fast ones: about half a second of repeats, at
    most 30) after one untimed warm-up."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    repeat = max(repeat, min(30, int(0.5 / max(first, 1e-6))))
    out = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t0)
    return out


# --------------------------------------------------------------------------- families: size -> (time, floor)


def fokker_planck(dim: int) -> Callable[[int], tuple[float, float, int]]:
    def measure(n: int) -> tuple[float, float, int]:
        grid = ff.Grid.box(n, 6.0, dim)
        pde = ff.FokkerPlanck(grid, ff.potentials.Quadratic(dim=dim))
        rho = pde.validate(ff.densities.gaussian(grid, mean=[1.0, -0.5, 0.25][:dim], cov=0.25))
        stepper = ff.core.steppers.implicit.TRBDF2(pde, dt=1 / 16, adaptive=False)
        stepper.initial_dt(rho, 0.0, 1.0)
        step = best(lambda: stepper.step(rho, 0.0, 1 / 16))
        L, x = pde.linear_operator(), rho.ravel()
        return step, best(lambda: L @ x, 5), grid.size
    return measure


def fokker_planck_exponential(dim: int) -> Callable[[int], tuple[float, float, int]]:
    """The default Fokker–Planck step, ``exp(L)ρ₀`` to ``t = 1`` by Lanczos (``krylov-exp``)."""
    from fieldflow.core.steppers.krylov_exponential import KrylovExponential

    def measure(n: int) -> tuple[float, float, int]:
        grid = ff.Grid.box(n, 6.0, dim)
        pde = ff.FokkerPlanck(grid, ff.potentials.Quadratic(dim=dim))
        rho = pde.validate(ff.densities.gaussian(grid, mean=[1.0, -0.5, 0.25][:dim], cov=0.25))
        stepper = KrylovExponential(pde)
        stepper.initial_dt(rho, 0.0, 1.0)
        step = best(lambda: stepper.step(rho, 0.0, 1.0))
        L, x = pde.linear_operator(), rho.ravel()
        return step, best(lambda: L @ x, 5), grid.size
    return measure


def mckean_vlasov(n: int) -> tuple[float, float, int]:
    from fieldflow.core.steppers.exponential import ETDRK4
    from fieldflow.mckean_vlasov.interactions import kuramoto_daido
    from fieldflow.mckean_vlasov.pde import McKeanVlasov

    grid = ff.Grid.torus(n)
    pde = McKeanVlasov(grid, kuramoto_daido(0.8), 1.2)
    q = ff.densities.from_function(grid, lambda x: np.exp(2 * np.cos(x[..., 0])))
    stepper = ETDRK4(pde, dt=0.05, adaptive=False)
    q_hat = pde.fft.rfftn(q, axes=(-1,))

    def ten_ffts():
        for _ in range(5):
            pde.fft.rfftn(q, axes=(-1,))
            pde.fft.irfftn(q_hat, s=grid.shape, axes=(-1,))
    return best(lambda: stepper.step(q, 0.0, 0.05), 5), best(ten_ffts, 5), n


class _CountingFFT:
    """Wraps an FFT provider and adds up the time of its calls."""

    def __init__(self, inner: Any):
        self.inner, self.time = inner, 0.0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            out = attr(*args, **kwargs)
            self.time += time.perf_counter() - t0
            return out
        return timed


def svgd(n: int) -> tuple[float, float, int]:
    grid = ff.Grid.box(n, 4.0, 2)
    pde = ff.SVGDFlow(grid, ff.potentials.Quadratic(1.0, dim=2), ff.svgd.Bessel(1.0), alpha=0.5)
    rho = pde.validate(ff.densities.gaussian(grid, mean=[1.0, 0.5], cov=0.5))
    rhs = best(lambda: pde.rhs(rho, 0.0))
    counter = _CountingFFT(pde.convolution.fft)
    pde.convolution.fft = counter
    pde.rhs(rho, 0.0)
    return rhs, counter.time, grid.size


def landau(dim: int) -> Callable[[int], tuple[float, float, int]]:
    def measure(n: int) -> tuple[float, float, int]:
        from fieldflow.core.backend import get_fft

        grid = ff.Grid.box(n, 6.0, dim)
        pde = ff.landau.Landau(grid, 0.0)
        f = ff.landau.BKW(dim).density(grid.points, 1.0 if dim == 2 else 6.0)
        fft = get_fft()
        padded = np.zeros((2 * n,) * dim)
        spectrum = fft.rfftn(padded)
        pair = best(lambda: fft.irfftn(fft.rfftn(padded), s=padded.shape), 5)
        del spectrum
        return best(lambda: pde.rhs(f)), pair, grid.size
    return measure


def _pair_ns(dim: int, N: int = 2000) -> float:
    """ns per pair of a bare NumPy Gaussian-kernel pair sum ``Σ_j e^{-|x_i−x_j|²} (x_i − x_j)`` in blocks."""
    x = np.random.default_rng(0).standard_normal((N, dim))

    squares = np.sum(x * x, axis=1)

    def pair_sum():
        out = np.empty_like(x)
        for start in range(0, N, 256):
            block = x[start:start + 256]
            r2 = squares[start:start + 256, None] + squares[None, :] - 2.0 * block @ x.T
            E = np.exp(-r2)
            out[start:start + 256] = block * E.sum(axis=1)[:, None] - E @ x
        return out
    return best(pair_sum) / N**2 * 1e9


_NS_PER_PAIR: dict[int, float] = {}


def _pair_floor(dim: int, N: int) -> float:
    if dim not in _NS_PER_PAIR:
        _NS_PER_PAIR[dim] = _pair_ns(dim)
    return _NS_PER_PAIR[dim] * 1e-9 * N**2


_TEMPERATURES = (1.3, 0.85, 0.85)


def blob(n: int) -> tuple[float, float, int]:
    """Coulomb (γ = −3) blob velocity in 3D: every cell of the ``n³`` mesh above ``drop_tol`` is a particle."""
    grid = ff.Grid.box(n, 7.0, 3)
    model = ff.landau.BlobLandau(grid, -3.0, C=1.0, epsilon=0.8)
    v, w = model.initial_particles(ff.densities.gaussian(grid, 0.0, _TEMPERATURES))
    return best(lambda: model.velocity(v, w), 2), _pair_floor(3, v.shape[0]), v.shape[0]


def score(N: int) -> tuple[float, float, int]:
    """Coulomb score-particle velocity in 3D (the score fitted once, untimed; the O(N²) Landau sum timed)."""
    from fieldflow.studies.landau_jko import bimaxwellian_particles

    v, _ = bimaxwellian_particles(N, _TEMPERATURES)
    w = np.full(N, 1.0 / N)
    model = ff.landau.ScoreLandau(3, -3.0, C=1.0)
    model.fit(v, w)
    return best(lambda: model.velocity(v, w), 2), _pair_floor(3, N), N


def jko(N: int) -> tuple[float, float, int]:
    from fieldflow.studies.landau_jko import bkw_particles

    exact = ff.landau.BKW(2, C=0.25)
    v, logf = bkw_particles(exact, N, 0.0)
    steps = 2

    def run():
        ff.landau.JKOLandau(2, 0.0, C=0.25).run(v, logf, steps * 0.5, 0.5)
    return best(run, 1) / steps, _pair_floor(2, N), N


def spectrum(modes: int) -> tuple[float, float, int]:
    from fieldflow.mckean_vlasov import free_energy_minimizer, linearized_spectrum
    from fieldflow.mckean_vlasov.interactions import kuramoto_daido

    W, K = kuramoto_daido(1.2), 1.2
    state = free_energy_minimizer(W, K)
    A = np.random.default_rng(0).standard_normal((modes, modes))
    return best(lambda: linearized_spectrum(W, K, state, modes=modes)), best(lambda: np.linalg.eig(A)), modes


def polchinski(L: int) -> tuple[float, float, int]:
    import fieldflow.polchinski as P

    batch = 256
    C = P.PauliVillars(P.Lattice(L, 1, 2), 0.5).covariance(math.inf)
    C.sample(batch, seed=0)
    sampler = C._sampler
    total = best(lambda: C.sample(batch, seed=1))
    noise = best(lambda: sampler.noise(batch, seed=1))
    xi = sampler.noise(batch, seed=1) * sampler.amplitude
    lattice = C.lattice if hasattr(C, "lattice") else P.Lattice(L, 1, 2)
    fft = best(lambda: sampler.fft.irfftn(xi, s=lattice.shape, axes=lattice.axes))
    return total, noise + fft, L * L


#: name -> (measure(size), sizes, quick sizes, size label, unit of work, floor)
FAMILIES: dict[str, tuple[Callable, list[int], list[int], str, str, str]] = {
    "fokker_planck_1d": (fokker_planck(1), [1024, 4096, 16384, 65536], [256, 1024, 4096], "cells", "TR-BDF2 step",
                         "SpMV with L"),
    "fokker_planck_2d": (fokker_planck(2), [64, 128, 256, 512], [64, 128, 256], "cells", "TR-BDF2 step (LU)",
                         "SpMV with L"),
    "fokker_planck_3d": (fokker_planck(3), [24, 32, 48, 64], [24, 32, 40], "cells", "TR-BDF2 step (multigrid CG)",
                         "SpMV with L"),
    "fokker_planck_2d_exp": (fokker_planck_exponential(2), [64, 128, 256, 512], [64, 128, 256], "cells",
                             "exp(L)ρ₀ to t = 1 (default)", "SpMV with L"),
    "fokker_planck_3d_exp": (fokker_planck_exponential(3), [24, 32, 48, 64], [24, 32, 40], "cells",
                             "exp(L)ρ₀ to t = 1 (default)", "SpMV with L"),
    "mckean_vlasov": (mckean_vlasov, [1024, 4096, 16384, 65536], [1024, 4096, 16384], "nodes", "ETDRK4 step",
                      "10 real FFTs"),
    "svgd_2d": (svgd, [64, 128, 256], [32, 64, 128], "cells", "right-hand side", "its FFT calls"),
    "landau_2d": (landau(2), [16, 32, 64, 128], [16, 32, 64], "cells", "right-hand side", "FFT pair, (2n)²"),
    "landau_3d": (landau(3), [8, 12, 16, 24], [8, 12, 16], "cells", "right-hand side", "FFT pair, (2n)³"),
    "landau_blob_3d": (blob, [8, 10, 12], [7, 8, 9], "particles", "Coulomb velocity evaluation",
                       "N² Gaussian pairs"),
    "landau_score_3d": (score, [500, 1000, 2000], [250, 500, 1000], "particles", "Coulomb velocity evaluation",
                        "N² Gaussian pairs"),
    "landau_jko_2d": (jko, [100, 200, 400], [100, 200], "particles", "JKO step (Δt = 0.5)", "N² Gaussian pairs"),
    "lq_spectrum": (spectrum, [32, 64, 128, 256], [32, 64, 128], "modes", "linearized_spectrum", "eig of M×M"),
    "polchinski_sampler": (polchinski, [32, 64, 128, 256], [32, 64, 128], "sites", "256 free fields",
                           "RNG + batched irfft"),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    parser.add_argument("--only", nargs="+", choices=list(FAMILIES), help="these families only")
    args = parser.parse_args(argv)
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    table = []
    for name in args.only or FAMILIES:
        measure, sizes, quick, unit_size, unit, floor_name = FAMILIES[name]
        rows = []
        for size in quick if args.quick else sizes:
            seconds, floor, count = measure(size)
            rows.append((count, seconds, floor))
            print(f"  {name:20s} {unit_size} {count:>9d}: {seconds * 1e3:10.3f} ms   floor {floor * 1e3:10.3f} ms   "
                  f"ratio {seconds / floor:7.2f}", flush=True)
        counts, times, floors = (np.array(col, dtype=float) for col in zip(*rows))
        table.append((name, unit, unit_size, counts, times, floors, floor_name))
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}\n")
    print("| family | unit of work | sizes | time at the largest | fitted exponent | floor | floor's exponent | "
          "time / floor at the largest |")
    print("|---|---|---|---|---|---|---|---|")
    for name, unit, unit_size, counts, times, floors, floor_name in table:
        sizes = f"{int(counts[0])}–{int(counts[-1])} {unit_size}"
        print(f"| {name} | {unit} | {sizes} | {times[-1] * 1e3:.3g} ms | {loglog_slope(counts, times):.2f} | "
              f"{floor_name} | {loglog_slope(counts, floors):.2f} | {times[-1] / floors[-1]:.2f} |")
    if _NS_PER_PAIR:
        print("\nbare NumPy Gaussian pair sum: " + ", ".join(f"{d}D {ns:.2f} ns per pair" for d, ns in _NS_PER_PAIR.items()))


if __name__ == "__main__":
    main()
