"""Particle SVGD with the Duncan kernel (the independent cross-check of :class:`fieldflow.SVGDFlow`), and classic
RBF-kernel SVGD (Liu–Wang, :class:`RBFSVGDParticles`) for comparison.

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
on NumPy or CuPy arrays alike (the namespace of the particles).  :class:`SVGDParticles` is this system as a
:class:`~fieldflow.core.problem.ParticleSystem`; :func:`fieldflow.evolve` steps it explicitly: forward Euler
(``"forward-euler"``, plain SVGD with ``ε = dt``, the default) or Heun (``"heun"``, second order in ``ε``, for
cross-checks against the PDE)::

    traj = ff.evolve(ff.svgd.SVGDParticles(V, kernel, alpha), x0, t_end=1.0, dt=0.01, method="heun")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._compat import legacy_result, warn_moved
from ..core.backend import DEVICE_BLOCK_BYTES, block_rows, namespace_of
from ..core.evolve import evolve
from ..core.problem import Particles, ParticleSystem
from .kernels import Kernel
from ..core.validation import integer, real_array, real_number
from ..potentials import Potential, check_potential

__all__ = ["SVGDParticles", "RBFSVGDParticles", "velocity", "rbf_velocity", "median_bandwidth", "simulate",
           "self_interaction"]

#: particles used by :func:`median_bandwidth` (a strided subset beyond this many)
MEDIAN_SUBSET = 4096


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


class SVGDParticles(ParticleSystem):
    """Particle SVGD with the Duncan kernel: ``dX_i/dt = v_i`` (:func:`velocity`), a deterministic particle system.

    The state is an ``(N, d)`` array (or :class:`~fieldflow.core.problem.Particles`); default stepper
    ``"forward-euler"`` (``"heun"`` for second order).

    Parameters
    ----------
    V : Potential
        The target ``π ∝ e^{−V}``.
    kernel : Kernel
        The translation-invariant kernel ``k`` (e.g. :class:`~fieldflow.svgd.Bessel`).
    alpha, beta : float
        ``V0 = α|x|² + β`` of the Duncan weight ``a = e^{V − V0/2}`` (``α > 0``).
    memory_bytes, self_radius : optional
        Block size bound of the pair sum; radius of the self-interaction ball of singular kernels.
    """

    def __init__(self, V: Potential, kernel: Kernel, alpha: float, beta: float = 0.0, memory_bytes: int = 2**27,
                 self_radius: float | None = None):
        if not isinstance(kernel, Kernel):
            raise ValueError(f"kernel must be a fieldflow.svgd.kernels.Kernel, got {kernel!r}")
        self.V, self.kernel = check_potential(V), kernel
        self.alpha = real_number(alpha, "alpha", positive=True, hint="V0 = α|x|² + β")
        self.beta = real_number(beta, "beta", hint="V0 = α|x|² + β")
        self.memory_bytes = None if memory_bytes is None else integer(memory_bytes, "memory_bytes", minimum=1)
        self.self_radius = None if self_radius is None else real_number(self_radius, "self_radius", positive=True)

    def drift(self, state: Particles, t: float) -> Any:
        """The SVGD velocity :func:`velocity` of every particle."""
        return velocity(state.x, self.V, self.kernel, self.alpha, self.beta, self.memory_bytes, self.self_radius)

    def validate(self, state0: Any) -> Particles:
        p = super().validate(state0)
        _check(p.x, self.kernel, self.alpha)
        return p

    def describe(self) -> dict[str, Any]:
        return {"problem": "SVGDParticles", "V": repr(self.V), "kernel": repr(self.kernel), "alpha": self.alpha,
                "beta": self.beta, "self_radius": self.self_radius}


def median_bandwidth(x: Any) -> float:
    """Liu–Wang's median heuristic ``h = med²/log(N + 1)``, ``med`` the median distance between distinct particles.

    With ``k = e^{−|x−y|²/h}`` a particle's own kernel weight ``1`` balances the ``N`` others' ``≈ N e^{−med²/h}``.
    Beyond ``MEDIAN_SUBSET`` (4096) particles the median is taken over a strided subset of that many.
    """
    x = real_array(x, "particles", ndim=2, xp=namespace_of(x), hint="shape (N, d)")
    if int(x.shape[0]) < 2:
        raise ValueError(f"the median heuristic needs at least 2 particles, got {int(x.shape[0])}")
    return _median_bandwidth(x)


def _median_bandwidth(x: Any) -> float:
    """:func:`median_bandwidth` of checked particles (the drift's hot path: no finiteness read)."""
    xp = namespace_of(x)
    n = int(x.shape[0])
    sub = x[:: -(-n // MEDIAN_SUBSET)]
    m = int(sub.shape[0])
    z = sub[:, None, :] - sub[None, :, :]
    d2 = xp.sum(z * z, axis=-1)
    upper = xp.triu(xp.ones((m, m), dtype=bool), k=1)
    med2 = float(xp.median(d2[upper]))
    if not med2 > 0:
        raise ValueError("the particles coincide: the median distance is 0, so the median heuristic has no bandwidth")
    return med2 / np.log(n + 1)


def rbf_velocity(x: Any, V: Potential, bandwidth: float | None = None, memory_bytes: int | None = None) -> Any:
    """Classic SVGD (Liu–Wang 2016) with the Gaussian RBF kernel ``k(x, y) = e^{−|x−y|²/h}``: the update direction

    .. math:: v_i = \\frac1N\\sum_j \\Big[-k(X_j, X_i)\\,\\nabla V(X_j) + \\nabla_{X_j} k(X_j, X_i)\\Big]
              = \\frac1N\\sum_j k_{ij}\\Big[-\\nabla V(X_j) + \\frac{2}{h}(X_i - X_j)\\Big],

    with ``h`` the :func:`median_bandwidth` of the current particles unless ``bandwidth`` is given.  Blocked
    over rows (memory below ``memory_bytes``); NumPy or CuPy.
    """
    x = real_array(x, "particles", ndim=2, xp=namespace_of(x), hint="shape (N, d)")
    if int(x.shape[0]) < 2 and bandwidth is None:
        raise ValueError(f"the median heuristic needs at least 2 particles, got {int(x.shape[0])}")
    return _rbf_velocity(x, check_potential(V), None if bandwidth is None else real_number(
        bandwidth, "bandwidth", positive=True, hint="or None: the median heuristic"),
        None if memory_bytes is None else integer(memory_bytes, "memory_bytes", minimum=1))


def _rbf_velocity(x: Any, V: Potential, bandwidth: float | None, memory_bytes: int | None) -> Any:
    """:func:`rbf_velocity` of checked arguments (the drift's hot path: no finiteness read)."""
    xp = namespace_of(x)
    n, dim = int(x.shape[0]), int(x.shape[1])
    h = _median_bandwidth(x) if bandwidth is None else bandwidth
    grad = V.gradient(x)
    block = block_rows(n, 8 * (dim + 2), xp, memory_bytes or 2**27, memory_bytes or DEVICE_BLOCK_BYTES)
    out = xp.empty_like(x)
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        z = x[i0:i1, None, :] - x[None, :, :]
        k = xp.exp(-xp.sum(z * z, axis=-1) / h)
        out[i0:i1] = -k @ grad + (2.0 / h) * xp.sum(k[..., None] * z, axis=1)
    return out / n


class RBFSVGDParticles(ParticleSystem):
    """Classic particle SVGD (Liu–Wang): Gaussian RBF kernel, median-heuristic bandwidth recomputed at every drift.

    ``dX_i/dt = v_i`` (:func:`rbf_velocity`); with ``"forward-euler"`` and ``dt = ε`` it is Liu–Wang's update with a
    fixed step size.  Its kernel is not of the Duncan form (no ``e^{V − V0/2}`` weights), so no
    Stein-log-Sobolev inequality is known for it; its bandwidth shrinks like ``1/log N``, so it has no
    ``N``-independent mean-field limit either.

    Parameters
    ----------
    V : Potential
        The target ``π ∝ e^{−V}``.
    bandwidth : float, optional
        A fixed ``h`` instead of the median heuristic.
    memory_bytes : int
        Block size bound of the pair sum.
    """

    def __init__(self, V: Potential, bandwidth: float | None = None, memory_bytes: int = 2**27):
        self.V = check_potential(V)
        self.bandwidth = None if bandwidth is None else real_number(
            bandwidth, "bandwidth", positive=True, hint="or None: the median heuristic")
        self.memory_bytes = integer(memory_bytes, "memory_bytes", minimum=1)

    def drift(self, state: Particles, t: float) -> Any:
        """The RBF-SVGD direction :func:`rbf_velocity` of every particle."""
        return _rbf_velocity(state.x, self.V, self.bandwidth, self.memory_bytes)

    def validate(self, state0: Any) -> Particles:
        p = super().validate(state0)
        if p.x.ndim != 2 or int(p.x.shape[0]) < 2:
            raise ValueError(f"RBF SVGD needs particles of shape (N, d) with N ≥ 2, got {tuple(p.x.shape)}")
        return p

    def describe(self) -> dict[str, Any]:
        return {"problem": "RBFSVGDParticles", "V": repr(self.V), "bandwidth": self.bandwidth}


#: the ``method`` of :func:`simulate` -> the particle stepper of the registry
_METHODS = {"euler": "forward-euler", "heun": "heun"}


def simulate(x0: Any, V: Potential, kernel: Kernel, alpha: float, beta: float = 0.0, *, t_end: float, dt: float,
             method: str = "euler", save_times: Sequence[float] | None = None,
             memory_bytes: int | None = None, self_radius: float | None = None, progress: bool | None = None,
             checkpoint: str | Path | None = None, checkpoint_every: float = 60.0,
             resume: str | Path | bool | None = None) -> tuple[np.ndarray, list[Any]]:
    """Deprecated: ``ff.evolve(SVGDParticles(V, kernel, alpha, beta), x0, t_end, dt=dt, method=...)``.

    ``method``: ``"euler"`` (``"forward-euler"``) or ``"heun"``.  Returns the save times after ``0`` (``t_end``
    included; after a Ctrl-C they end at the interruption) and the particle arrays there.
    """
    warn_moved("fieldflow.svgd.particles.simulate(x0, V, kernel, alpha, ...)",
               "fieldflow.evolve(fieldflow.svgd.SVGDParticles(V, kernel, alpha, beta), x0, t_end, dt=dt)")
    if method not in _METHODS:
        raise ValueError(f"method must be 'euler' or 'heun', got {method!r}")
    problem = SVGDParticles(V, kernel, alpha, beta, memory_bytes, self_radius)
    traj = evolve(problem, x0, t_end, dt=dt, method=_METHODS[method], save_times=save_times, progress=progress,
                  checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume)
    return legacy_result(traj, x0)
