"""Overdamped Langevin particles: the independent cross-check of the Fokker–Planck solver.

:class:`Langevin` is the particle system :math:`dX = -\\nabla V(X)\\,dt + \\sqrt{2D}\\,dB`, whose law solves
``∂t μ = ∇·(D∇μ + μ∇V)``.  :func:`fieldflow.evolve` runs it with Euler–Maruyama (``"euler-maruyama"``),

.. math:: X_{n+1} = X_n - \\nabla V(X_n)\\,\\Delta t + \\sqrt{2D\\,\\Delta t}\\,\\xi_n,
          \\qquad \\xi_n \\sim N(0, I),

vectorised over ``N`` particles of shape ``(N, d)``, weak order 1 in ``Δt``, seeded
(``evolve(..., seed=...)`` makes ``numpy.random.default_rng(seed)`` or ``cupy.random.default_rng(seed)`` by the
array namespace of the particles, and checkpoints its state)::

    traj = ff.evolve(ff.fokker_planck.Langevin(V, D=1.0), x0, t_end=1.0, dt=1e-3, seed=0)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._compat import legacy_result, warn_moved
from ..core.backend import get_namespace
from ..core.evolve import evolve
from ..core.problem import Particles, ParticleSystem
from ..core.validation import MAX_DIMENSION, as_covariance, integer, real_array, real_number
from ..potentials import Potential, check_potential

__all__ = ["Langevin", "simulate", "sample_gaussian"]


def sample_gaussian(n: int, mean: Sequence[float] | float = 0.0, cov: Any = 1.0, dim: int = 1, seed: int | None = 0,
                    backend: str | None = None) -> Any:
    """``n`` samples of ``N(mean, cov)`` as an ``(n, dim)`` array."""
    n = integer(n, "n", minimum=1, maximum=10**8, hint="the number of samples (draw larger sets in parts)")
    dim = integer(dim, "dim", minimum=1, maximum=MAX_DIMENSION)
    seed = None if seed is None else integer(seed, "seed", minimum=0)
    mean = real_array(mean, "mean", ndim=(0, 1), hint=f"a number or a length-{dim} vector")
    if mean.size not in (1, dim):
        raise ValueError(f"mean has {mean.size} entries but dim={dim}; pass a number or a length-{dim} vector")
    xp = get_namespace(backend)
    chol = np.linalg.cholesky(as_covariance(cov, dim))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)) @ chol.T + np.broadcast_to(mean, (dim,))
    return xp.asarray(x)


class Langevin(ParticleSystem):
    """Overdamped Langevin particles ``dX = −∇V(X) dt + √(2D) dB`` (a stochastic particle system).

    The state is an ``(N, d)`` array (or :class:`~fieldflow.core.problem.Particles`); diagnostics: ``mass``,
    per axis ``mean_a`` and ``variance_a``.  Default stepper ``"euler-maruyama"``.

    Parameters
    ----------
    V : Potential
        The confining potential (``ρ∞ ∝ e^{−V/D}``).
    D : float
        Diffusion coefficient (> 0).
    """

    default_method = "euler-maruyama"

    def __init__(self, V: Potential, D: float = 1.0):
        self.V = check_potential(V)
        self.D = real_number(D, "D", positive=True, hint="the diffusion coefficient of √(2D) dB")
        self.diffusion = self.D

    def drift(self, state: Particles, t: float) -> Any:
        """``−∇V(X)``."""
        return -self.V.gradient(state.x)

    def validate(self, state0: Any) -> Particles:
        p = super().validate(state0)
        if p.x.ndim != 2:
            raise ValueError(f"particles must have shape (N, d), got {tuple(p.x.shape)}")
        return p

    def describe(self) -> dict[str, Any]:
        return {"problem": "Langevin", "V": repr(self.V), "D": self.D}


def simulate(V: Potential, x0: Any, t_end: float, dt: float, D: float = 1.0, seed: int | None = 0,
             save_times: Sequence[float] | None = None, *, progress: bool | None = None,
             checkpoint: str | Path | None = None, checkpoint_every: float = 60.0,
             resume: str | Path | bool | None = None) -> tuple[np.ndarray, list[Any]]:
    """Deprecated: ``ff.evolve(Langevin(V, D), x0, t_end, dt=dt, seed=seed, save_times=...)``.

    Returns the save times after ``0`` (``t_end`` included; after a Ctrl-C they end at the interruption) and the
    particle arrays at those times.
    """
    warn_moved("fieldflow.fokker_planck.langevin.simulate(V, x0, ...)",
               "fieldflow.evolve(fieldflow.fokker_planck.Langevin(V, D), x0, t_end, dt=dt, seed=seed)")
    traj = evolve(Langevin(V, D), x0, t_end, dt=dt, seed=seed, save_times=save_times, progress=progress,
                  checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume)
    return legacy_result(traj, x0)
