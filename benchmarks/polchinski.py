"""Polchinski flow speed: exact FFT sampling of a 64² massive free field, and 2D field-space convolution.

Prints
* samples/s of ``N(0, C_∞)``, ``C_∞ = (−Δ_ε + m²)^{-1}`` on a 64² torus, and the same rate as a
  fraction of the floor set by what it needs: the normal variates (drawn in 2 threads) and one
  inverse real FFT per field (batched);
* the wall time of ``renormalized_potential`` for two sites on a 1024² field-space grid, and of the
  bare zero-padded FFT convolution it contains.

Run: ``PYTHONPATH=. python benchmarks/polchinski.py``
"""

from __future__ import annotations

import math
import time

import numpy as np

import fieldflow.polchinski as P
from fieldflow.polchinski.renormalize import gaussian_convolution


def best(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def sampling(batch: int = 2000) -> None:
    lat = P.Lattice(64, 1, 2)
    C = P.PauliVillars(lat, 0.5).covariance(math.inf)
    C.sample(batch, seed=0)  # plans, sampler set-up
    sampler = C._sampler
    total = best(lambda: C.sample(batch, seed=1))
    # floor: the same normal variates in the same 2 threads, and one batched inverse FFT
    rng_time = best(lambda: sampler.noise(batch, seed=1))
    xi = sampler.noise(batch, seed=1) * sampler.amplitude
    fft_time = best(lambda: sampler.fft.irfftn(xi, s=lat.shape, axes=lat.axes))
    floor = rng_time + fft_time
    print(f"64^2 massive free field, batch {batch}:")
    print(f"  rate               {batch / total:10.0f} samples/s")
    print(f"  floor (RNG + FFT)  {batch / floor:10.0f} samples/s   (RNG {rng_time / batch * 1e6:.1f} us, "
          f"irfft {fft_time / batch * 1e6:.1f} us per field)")
    print(f"  rate / floor       {floor / total:10.2f}")


def field_grid_convolution(n: int = 1024) -> None:
    dec = P.PauliVillars(P.Lattice(2, 1, 1), 1.0)
    C = dec.covariance(0.5).matrix()
    grid = P.field_grid(2, n, 3.8)
    V0 = P.phi4(1.0, -1.0)
    f = np.exp(-V0(grid.points, ndim=1))
    gaussian_convolution(grid, C, f)
    bare = best(lambda: gaussian_convolution(grid, C, f), 3)
    full = best(lambda: P.renormalized_potential(V0, C, grid), 3)
    Vt = P.renormalized_potential(V0, C, grid)
    print(f"2-site field-space grid {n}^2 (phi4 g=1, nu=-1, Pauli-Villars t=0.5):")
    print(f"  zero-padded FFT convolution      {bare * 1e3:8.1f} ms")
    print(f"  renormalized_potential (checks, log domain)  {full * 1e3:8.1f} ms   "
          f"({np.isfinite(Vt).mean() * 100:.0f}% of the box free of truncation)")


if __name__ == "__main__":
    sampling()
    field_grid_convolution()
