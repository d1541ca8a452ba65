"""Particle SVGD with the Duncan kernel: the independent cross-check of :class:`fieldflow.SVGDFlow`.

With ``K(x, y) = a(x) k(x − y) a(y)``, ``a = e^{V − V0/2}``, ``V0 = α|x|² + β``, the SVGD update

.. math:: X_i \\leftarrow X_i + \\frac{\\varepsilon}{N}\\sum_j \\big[\\nabla_y K(X_i, X_j)
          - K(X_i, X_j)\\nabla V(X_j)\\big]

simplifies, since ``∇_y K(x, y) = a(x) a(y) [−∇k(x − y) + k(x − y)(∇V − ½∇V0)(y)]``, to

.. math:: v_i = \\frac{a_i}{N}\\sum_j a_j\\Big[-\\nabla k(X_i - X_j) - \\tfrac12 k(X_i - X_j)\\,
          \\nabla V_0(X_j)\\Big], \\qquad \\nabla V_0(x) = 2\\alpha x,

(the ``∇V`` terms cancel).  The kernel is fixed (no bandwidth heuristic).  The self-interaction
``j = i`` is the confining term ``−a_i² k(0) α X_i/N`` (``∇k(0) = 0`` by symmetry); without it an
isolated particle is only repelled and runs away along the growing weight ``a``.  For kernels
singular at the origin (the 2D/3D Bessel kernel) ``k(0)`` is replaced by the kernel's mean over the
ball of radius ``ε`` (``self_radius``, default ``ℓ N^{−1/d}``, which vanishes as ``N`` grows so the
``O(k̄_ε(0)/N) = O(log N / N)`` self term disappears in the mean-field limit):
``k̄_ε(0) = (1 − tail_mass(ε))/|B_ε|``.  The double sum is evaluated in row blocks so that
memory stays below ``memory_bytes`` whatever ``N`` (``O(N²)`` work, ``O(block·N)`` memory); it runs
on NumPy or CuPy arrays alike (the namespace of the particles).  Steps are explicit: forward Euler
(plain SVGD) or Heun (second order in ``ε``, for cross-checks against the PDE).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..core.backend import DEVICE_BLOCK_BYTES, block_rows, namespace_of
from .kernels import Kernel
from ..potentials import Potential
from ..core.particle_loop import integrate_samples

__all__ = ["velocity", "simulate", "self_interaction"]


def _check(x: Any, kernel: Kernel, alpha: float) -> int:
    if x.ndim != 2:
        raise ValueError(f"particles must have shape (N, d), got {tuple(x.shape)}")
    if not isinstance(kernel, Kernel):
        raise ValueError(f"kernel must be a fieldflow.svgd.kernels.Kernel, got {kernel!r}")
    kernel.check_dim(int(x.shape[1]))
    if not (np.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be positive and finite, got {alpha!r}")
    return int(x.shape[1])


def self_interaction(kernel: Kernel, dim: int, n: int, self_radius: float | None = None) -> float:
    """``k(0)``, or for a singular kernel its mean over the ball of radius ``ε`` (default ``ℓ n^{−1/d}``)."""
    if not kernel.singular(dim):
        return float(kernel.radial(np.zeros(1), dim)[0])
    eps = kernel.scale * n ** (-1.0 / dim) if self_radius is None else float(self_radius)
    if not eps > 0:
        raise ValueError(f"self_radius must be positive, got {self_radius!r}")
    ball = {2: np.pi * eps**2, 3: 4 / 3 * np.pi * eps**3}[dim]
    return (1.0 - kernel.tail_mass(eps, dim)) / ball


def velocity(x: Any, V: Potential, kernel: Kernel, alpha: float, beta: float = 0.0,
             memory_bytes: int | None = None, self_radius: float | None = None) -> Any:
    """The SVGD velocity ``v_i`` of every particle (shape ``(N, d)``), blocked to ``memory_bytes`` (default 128 MiB
    on the host, :data:`~fieldflow.core.backend.DEVICE_BLOCK_BYTES` on a GPU)."""
    dim = _check(x, kernel, alpha)
    xp = namespace_of(x)
    n = int(x.shape[0])
    k_self = self_interaction(kernel, dim, n, self_radius)
    log_a = V.value(x) - 0.5 * (alpha * xp.sum(x * x, axis=-1) + beta)
    grad_v0 = 2 * alpha * x
    block = block_rows(n, 8 * (dim + 1) * 4, xp, memory_bytes or 2**27, memory_bytes or DEVICE_BLOCK_BYTES)
    out = xp.empty_like(x)
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        z = x[i0:i1, None, :] - x[None, :, :]
        r = xp.sqrt(xp.sum(z * z, axis=-1))
        pos = r > 0
        safe = xp.where(pos, r, 1.0)
        k = kernel.radial(safe, dim)
        k = xp.where(pos, k, k_self)
        dk = xp.where(pos, kernel.radial_derivative(safe, dim) / safe, 0.0)
        w = xp.exp(log_a[i0:i1, None] + log_a[None, :])
        out[i0:i1] = -xp.sum((w * dk)[..., None] * z, axis=1) - 0.5 * (w * k) @ grad_v0
    out /= n
    if not bool(xp.all(xp.isfinite(out))):
        raise FloatingPointError("the SVGD velocity overflowed: particles reached a region where e^(2V - V0) is huge")
    return out


def simulate(x0: Any, V: Potential, kernel: Kernel, alpha: float, beta: float = 0.0, *, t_end: float, dt: float,
             method: str = "euler", save_times: Sequence[float] | None = None,
             memory_bytes: int | None = None, self_radius: float | None = None, progress: bool | None = None,
             checkpoint: str | Path | None = None, checkpoint_every: float = 60.0,
             resume: str | Path | bool | None = None) -> tuple[np.ndarray, list[Any]]:
    """Run particle SVGD from ``x0`` (shape ``(N, d)``) to ``t_end`` in ``ceil(t_end/dt)`` equal steps.

    ``method``: ``"euler"`` (``X ← X + dt v(X)``, the SVGD update with ``ε = dt``) or ``"heun"``
    (explicit trapezoidal, order 2 in ``dt``).  Returns the save times (rounded to steps, ``t_end`` included)
    and the particle arrays there.  ``progress``, ``checkpoint``, ``checkpoint_every``, ``resume``: progress bar,
    checkpoints and resuming as in :func:`~fieldflow.core.particle_loop.integrate_particles`; after a Ctrl-C the
    returned times end at the interruption.
    """
    if method not in ("euler", "heun"):
        raise ValueError(f"method must be 'euler' or 'heun', got {method!r}")
    if not (dt > 0 and t_end > 0):
        raise ValueError("dt and t_end must be positive")
    xp = namespace_of(x0)
    x = xp.array(x0, dtype=float, copy=True)
    _check(x, kernel, alpha)

    def v(y: Any) -> Any:
        return velocity(y, V, kernel, alpha, beta, memory_bytes, self_radius)

    def step(y: Any, h: float) -> Any:
        v0 = v(y)
        if method == "euler":
            return y + h * v0
        return y + 0.5 * h * (v0 + v(y + h * v0))

    fingerprint = {"method": "svgd", "step": method, "V": repr(V), "kernel": repr(kernel), "alpha": alpha,
                   "beta": beta, "self_radius": self_radius}
    return integrate_samples(x, t_end, dt, step, save_times=save_times, progress=progress, checkpoint=checkpoint,
                             checkpoint_every=checkpoint_every, resume=resume, fingerprint=fingerprint,
                             label="SVGD particles")
