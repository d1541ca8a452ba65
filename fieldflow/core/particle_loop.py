"""Deprecated: the former time loop of particle methods, now a thin layer over :func:`fieldflow.evolve`.

Particle methods are :class:`~fieldflow.core.problem.ParticleSystem` problems run by the one time loop
(``ff.evolve(problem, particles0, t_end, dt=..., seed=...)``, which returns a
:class:`~fieldflow.core.trajectory.Trajectory`).  Kept for one release:

* :class:`ParticleRun` — the result type of the deprecated ``BlobLandau.run`` / ``ScoreLandau.run``;
* :func:`integrate_particles`, :func:`integrate_samples` — the former loop's call shapes (a ``step(v, dt)``
  callable), run through :func:`fieldflow.evolve` as a step map; they warn with ``DeprecationWarning``;
* :func:`step_count` — ``ceil(t_end/dt)``, the number of equal steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .._compat import warn_moved
from .backend import namespace_of, to_numpy
from .evolve import evolve, step_count
from .problem import Particles, StepMap
from .trajectory import Trajectory

__all__ = ["ParticleRun", "integrate_particles", "integrate_samples", "step_count"]


@dataclass
class ParticleRun:
    """Result of a particle run: save times, particle velocities ``(N, d)`` at those times, diagnostics series.

    ``info``: ``status`` (``"done"`` or ``"interrupted"``), ``steps`` taken, ``t`` reached, ``wall_time`` [s].
    """

    times: np.ndarray
    states: list[np.ndarray]
    weights: np.ndarray
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.diagnostics[name]

    @classmethod
    def from_trajectory(cls, traj: Trajectory) -> "ParticleRun":
        """The times, particles, weights and diagnostics (without ``"t"``) of a particle :class:`Trajectory`."""
        info = {key: traj.info[key] for key in ("status", "steps", "t", "wall_time")}
        series = {name: traj[name] for name in traj.diagnostics if name != "t"}
        return cls(traj.times, traj.states, traj.weights, series, info)


class _Callables(StepMap):
    """A step map from the callables of :func:`integrate_particles`; its state is :class:`Particles`."""

    diagnostics_every = 0

    def __init__(self, step: Callable[[Any, float], Any], diagnostics: Callable[[Any], dict[str, float]],
                 extra: dict[str, Any], fingerprint: dict[str, Any], stochastic: bool):
        self._step, self._diagnostics, self._extra = step, diagnostics, extra
        self.fingerprint, self.stochastic = fingerprint, stochastic

    def validate(self, state0: Particles) -> Particles:
        return state0

    def step(self, state: Particles, t: float, dt: float) -> Particles:
        self._extra.update(state.extras)  # a resumed run restores the extras into the caller's dictionary
        new = self._step(state.x, dt)
        xp = namespace_of(new)
        if not bool(xp.all(xp.isfinite(new))):
            raise FloatingPointError(f"particles became non-finite at t={t + dt:.4g}; reduce dt")
        return Particles(new, state.weights, dict(self._extra))

    def diagnostics(self, state: Particles, t: float) -> dict[str, float]:
        return self._diagnostics(state.x)

    def describe(self) -> dict[str, Any]:
        return self.fingerprint


def integrate_particles(v: Any, w: Any, t_end: float, dt: float, step: Callable[[Any, float], Any],
                        diagnostics: Callable[[Any], dict[str, float]], *,
                        save_times: Sequence[float] | None = None, extra: dict[str, Any] | None = None,
                        progress: bool | None = None, checkpoint: str | Path | None = None,
                        checkpoint_every: float = 60.0, resume: str | Path | bool | None = None,
                        fingerprint: dict[str, Any] | None = None, rng: Any = None,
                        label: str = "particles") -> ParticleRun:
    """Deprecated: write a :class:`~fieldflow.core.problem.ParticleSystem` and run it with :func:`fieldflow.evolve`.

    Advances particles ``v`` (weights ``w``) to ``t_end`` in ``ceil(t_end/dt)`` equal steps of ``step(v, dt)``
    (which may replace the arrays of ``extra``), recording ``diagnostics(v)`` at the save times; ``rng``: the
    generator ``step`` draws from (checkpointed).  ``label`` is ignored (the progress bar names the run).
    """
    warn_moved("fieldflow.core.particle_loop.integrate_particles", "fieldflow.evolve with a ParticleSystem")
    extra = {} if extra is None else extra
    xp = namespace_of(v)
    state0 = Particles(xp.asarray(v), xp.asarray(w), {k: xp.array(a, copy=True) for k, a in extra.items()})
    problem = _Callables(step, diagnostics, extra, dict(fingerprint or {}), rng is not None)
    traj = evolve(problem, state0, t_end, dt=dt, save_times=save_times, progress=progress, checkpoint=checkpoint,
                  checkpoint_every=checkpoint_every, resume=resume, seed=rng)
    traj.weights = to_numpy(w)
    return ParticleRun.from_trajectory(traj)


def integrate_samples(x: Any, t_end: float, dt: float, step: Callable[[Any, float], Any], *,
                      save_times: Sequence[float] | None = None, **options: Any) -> tuple[np.ndarray, list[Any]]:
    """Deprecated: :func:`integrate_particles` for equally weighted samples ``x`` without diagnostics.

    Returns the save times after ``0`` (``t_end`` included; after a Ctrl-C they end at the interruption) and the
    samples there, in the array namespace of ``x``.
    """
    xp = namespace_of(x)
    run = integrate_particles(x, xp.full(x.shape[0], 1.0 / x.shape[0]), t_end, min(dt, t_end), step,
                              lambda _: {}, save_times=save_times, **options)
    return run.times[1:], [xp.asarray(state) for state in run.states[1:]]
