"""McKean–Vlasov equation on the torus (DESIGN.md §3): free energy and order parameters.

.. math::  \\partial_t q = \\tfrac12 q'' - K\\,\\big(q\\,(W' * q)\\big)', \\qquad
           F(q) = \\tfrac12 \\int q\\log q - \\tfrac K2 \\int q\\,(W*q).
"""

from __future__ import annotations

import math
from typing import Any

from ..backend import get_fft
from ..grids import Grid
from ..interactions import Fourier

__all__ = ["free_energy", "order_parameters"]


def free_energy(q: Any, grid: Grid, W: Fourier, K: float) -> float:
    """``F(q) = ½∫ q log q − (K/2) ∫ q (W*q)`` by the trapezoidal rule (``0 log 0 = 0``).

    Dimensionless; the uniform density has ``F = −½ log 2π − (K/2)·2π c_0``.
    """
    xp = grid.xp
    pos = q > 0
    entropy = grid.integrate(xp.where(pos, q * xp.log(xp.where(pos, q, 1.0)), 0.0))
    interaction = grid.integrate(q * W.convolve(q, grid))
    return 0.5 * entropy - 0.5 * K * interaction


def order_parameters(q: Any, grid: Grid, kmax: int = 2) -> tuple[float, ...]:
    """``(|z_1|, ..., |z_kmax|)`` with the moments ``z_k = ∫ e^{ikθ} q(θ) dθ`` (trapezoidal rule)."""
    n = grid.shape[0]
    if not 1 <= kmax < n // 2:
        raise ValueError(f"kmax must be between 1 and n/2 - 1 = {n // 2 - 1}, got {kmax}")
    qhat = get_fft(backend=grid.backend).rfftn(q, axes=(-1,))
    h = 2 * math.pi / n
    return tuple(float(abs(qhat[k])) * h for k in range(1, kmax + 1))
