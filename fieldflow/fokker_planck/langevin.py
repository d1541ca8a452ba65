"""Overdamped Langevin particles: the independent cross-check of the Fokker–Planck solver.

Euler–Maruyama for :math:`dX = -\\nabla V(X)\\,dt + \\sqrt{2D}\\,dB`,

.. math:: X_{n+1} = X_n - \\nabla V(X_n)\\,\\Delta t + \\sqrt{2D\\,\\Delta t}\\,\\xi_n,
          \\qquad \\xi_n \\sim N(0, I),

vectorised over ``N`` particles of shape ``(N, d)``, seeded (``numpy.random.default_rng``
or ``cupy.random.default_rng`` by the array namespace), weak order 1 in ``Δt``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..core.backend import get_namespace
from ..potentials import Potential
from ..core.particle_loop import integrate_samples

__all__ = ["simulate", "sample_gaussian"]


def sample_gaussian(n: int, mean: Sequence[float] | float = 0.0, cov: Any = 1.0, dim: int = 1, seed: int | None = 0,
                    backend: str | None = None) -> Any:
    """``n`` samples of ``N(mean, cov)`` as an ``(n, dim)`` array."""
    from ..core.validation import as_covariance

    xp = get_namespace(backend)
    chol = np.linalg.cholesky(as_covariance(cov, dim))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)) @ chol.T + np.broadcast_to(np.asarray(mean, dtype=float), (dim,))
    return xp.asarray(x)


def simulate(V: Potential, x0: Any, t_end: float, dt: float, D: float = 1.0, seed: int | None = 0,
             save_times: Sequence[float] | None = None, *, progress: bool | None = None,
             checkpoint: str | Path | None = None, checkpoint_every: float = 60.0,
             resume: str | Path | bool | None = None) -> tuple[np.ndarray, list[Any]]:
    """Run Euler–Maruyama from particles ``x0`` (shape ``(N, d)``) to ``t_end`` in ``ceil(t_end/dt)`` equal steps.

    Returns the save times (rounded to steps, ``t_end`` always included) and the particle arrays at those times.
    ``progress``, ``checkpoint``, ``checkpoint_every``, ``resume``: as in
    :func:`~fieldflow.core.particle_loop.integrate_particles` (the generator's state is checkpointed, so a resumed run
    draws the same noise; NumPy arrays only); after a Ctrl-C the returned times end at the interruption.
    """
    if x0.ndim != 2:
        raise ValueError(f"particles must have shape (N, d), got {tuple(x0.shape)}")
    if not (D > 0 and np.isfinite(D)):
        raise ValueError(f"D must be positive and finite, got {D!r}")
    if not (dt > 0 and t_end > 0):
        raise ValueError("dt and t_end must be positive")
    xp = get_namespace("cupy" if type(x0).__module__.startswith("cupy") else "numpy")
    rng = xp.random.default_rng(seed)
    x = xp.array(x0, dtype=float, copy=True)

    def step(y: Any, h: float) -> Any:
        return y - V.gradient(y) * h + math.sqrt(2 * D * h) * rng.standard_normal(y.shape)

    fingerprint = {"method": "langevin", "V": repr(V), "D": D, "seed": seed}
    return integrate_samples(x, t_end, dt, step, save_times=save_times, progress=progress, checkpoint=checkpoint,
                             checkpoint_every=checkpoint_every, resume=resume, fingerprint=fingerprint, rng=rng,
                             label="Langevin particles")
