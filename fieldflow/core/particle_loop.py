"""The time loop of deterministic particle methods: equal steps, save times, progress bar, Ctrl-C, checkpoints.

A method supplies ``step(v, dt) -> v`` (which may also advance per-particle arrays kept in ``extra``, e.g. the
transported ``log f`` of the score method) and ``diagnostics(v) -> dict``; :func:`integrate_particles` does the
rest the way :func:`fieldflow.evolve` does it for grids:

* ``ceil(t_end/dt)`` equal steps; states and diagnostics at ``0``, the save times (rounded to steps) and ``t_end``;
* a tqdm progress bar (default: on when stderr is a terminal);
* **Ctrl-C** stops the run and returns what was computed, with the state at the interruption appended and
  ``info["status"] = "interrupted"``;
* **checkpoints**: with ``checkpoint=path`` the loop state (particles, ``extra``, the random generator's state, the
  step index, everything saved so far, a fingerprint of the problem) is written as ``.npz`` every ``checkpoint_every`` seconds of wall time, on
  Ctrl-C and at the end; ``resume=path`` continues from it — bit-for-bit the run that was not interrupted.
"""

from __future__ import annotations

import json
import math
import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .backend import namespace_of, to_numpy
from .evolve import progress_bar

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


def step_count(t_end: float, dt: float) -> int:
    """``ceil(t_end/dt)`` after checking that both are positive and finite and ``dt ≤ t_end``."""
    if not (math.isfinite(t_end) and t_end > 0):
        raise ValueError(f"t_end must be positive and finite, got {t_end!r}")
    if not (math.isfinite(dt) and 0 < dt <= t_end):
        raise ValueError(f"dt must be positive and at most t_end, got {dt!r}")
    return int(math.ceil(t_end / dt - 1e-9))


def _rng_state(rng: Any) -> str:
    """The JSON state of a NumPy ``Generator`` (what a checkpoint needs to continue the same random stream)."""
    state = getattr(getattr(rng, "bit_generator", None), "state", None)
    if not isinstance(state, dict):
        raise ValueError(f"cannot checkpoint the random generator {type(rng).__name__} (CuPy generators expose no "
                         "state); run without checkpoint/resume or with NumPy arrays")
    return json.dumps(state)


def _save(path: Path, k: int, dt: float, v: Any, w: Any, extra: dict[str, Any], times: list[float],
          states: list[np.ndarray], diags: list[dict[str, float]], fingerprint: dict[str, Any], rng: Any) -> None:
    arrays = {f"extra_{name}": to_numpy(value) for name, value in extra.items()}
    if rng is not None:
        arrays["rng_state"] = np.array(_rng_state(rng))
    arrays.update({f"diag_{name}": np.array([d[name] for d in diags]) for name in diags[0]})
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, k=k, dt=dt, v=to_numpy(v), w=to_numpy(w), times=np.array(times), states=np.stack(states),
             fingerprint=json.dumps(fingerprint, sort_keys=True), **arrays)
    tmp.replace(path)


def _load(path: Path, dt: float, w: Any, fingerprint: dict[str, Any]) -> dict[str, Any]:
    if not path.exists():
        raise ValueError(f"no checkpoint at {path}; run once with checkpoint={str(path)!r} first")
    with np.load(path) as data:
        saved = {name: data[name] for name in data.files}
    if json.loads(str(saved["fingerprint"])) != json.loads(json.dumps(fingerprint, sort_keys=True)):
        raise ValueError(f"checkpoint {path} belongs to another problem ({str(saved['fingerprint'])}); "
                         f"this one is {json.dumps(fingerprint, sort_keys=True)}")
    if not math.isclose(float(saved["dt"]), dt, rel_tol=1e-12) or not np.array_equal(saved["w"], to_numpy(w)):
        raise ValueError(f"checkpoint {path} was written with another time step or other particle weights; "
                         "resume with the same t_end/dt and initial data")
    return saved


def integrate_particles(v: Any, w: Any, t_end: float, dt: float, step: Callable[[Any, float], Any],
                        diagnostics: Callable[[Any], dict[str, float]], *,
                        save_times: Sequence[float] | None = None, extra: dict[str, Any] | None = None,
                        progress: bool | None = None, checkpoint: str | Path | None = None,
                        checkpoint_every: float = 60.0, resume: str | Path | bool | None = None,
                        fingerprint: dict[str, Any] | None = None, rng: Any = None,
                        label: str = "particles") -> ParticleRun:
    """Advance particles ``v`` (weights ``w``) to ``t_end`` in ``ceil(t_end/dt)`` equal steps of ``step``.

    Parameters
    ----------
    v, w : arrays ``(N, d)``, ``(N,)``
        Initial particles and weights (ignored in favour of the checkpoint's particles when resuming).
    t_end, dt : float
        Final time and the largest step; the step used is ``t_end / ceil(t_end/dt)``.
    step, diagnostics : callables
        ``step(v, dt) -> v`` advances the particles and replaces the arrays in ``extra`` by their new values
        (it must assign them only once the step has succeeded, so that a Ctrl-C leaves a consistent state);
        ``diagnostics(v) -> dict`` is recorded at the save times.
    save_times : sequence of float, optional
        Times (rounded to steps) at which states and diagnostics are kept, besides ``0`` and ``t_end``.
    extra : dict of arrays, optional
        Per-particle state that ``step`` updates; checkpointed and restored with the particles.
    progress : bool, optional
        tqdm progress bar; default on when stderr is a terminal.
    checkpoint, checkpoint_every : path, float
        Write the loop state every ``checkpoint_every`` seconds of wall time, on Ctrl-C and at the end.
    resume : path or True, optional
        Continue from a checkpoint (``True``: from ``checkpoint``); ``fingerprint``, ``dt`` and ``w`` must match.
    fingerprint : dict, optional
        JSON-serialisable description of the problem, stored in and checked against checkpoints.
    rng : numpy.random.Generator, optional
        The generator a stochastic ``step`` draws from: its state is checkpointed and restored, so a resumed run
        continues the same random stream.
    """
    steps = step_count(t_end, dt)
    dt = t_end / steps
    extra = {} if extra is None else extra
    fingerprint = dict(fingerprint or {}, N=int(w.shape[0]))
    wanted = np.unique(np.append(np.asarray(save_times if save_times is not None else [], float), t_end))
    save_steps = {int(round(s / dt)) for s in wanted}
    path = Path(checkpoint) if checkpoint is not None else None
    if path is not None and rng is not None:
        _rng_state(rng)  # fail before the run, not at its first checkpoint
    if resume:
        if resume is True and path is None:
            raise ValueError("resume=True needs checkpoint=path")
        saved = _load(Path(checkpoint if resume is True else resume), dt, w, fingerprint)
        xp = namespace_of(v)
        k0, v = int(saved["k"]), xp.asarray(saved["v"])
        for name in extra:
            extra[name] = xp.asarray(saved[f"extra_{name}"])
        if rng is not None:
            _rng_state(rng)  # a clear error for generators without a state
            rng.bit_generator.state = json.loads(str(saved["rng_state"]))
        times, states = list(saved["times"]), list(saved["states"])
        names = [key[len("diag_"):] for key in saved if key.startswith("diag_")]
        diags = [{name: float(saved[f"diag_{name}"][i]) for name in names} for i in range(len(times))]
        if k0 > steps:
            raise ValueError(f"checkpoint is at t={k0 * dt:g}, beyond t_end={t_end:g}")
    else:
        k0, times, states, diags = 0, [0.0], [to_numpy(v).copy()], [diagnostics(v)]
    bar = progress_bar(progress, k0 * dt, t_end, label)
    status, done = "done", k0  # done: steps completed; v (and extra) is the state after them
    wall0 = last = _time.perf_counter()
    keep_rng = rng is not None and path is not None
    rng_before = None
    try:
        for k in range(k0 + 1, steps + 1):
            if keep_rng:  # so that a Ctrl-C inside a step leaves the stream where the step found it
                rng_before = rng.bit_generator.state
            new = step(v, dt)
            xp = namespace_of(new)
            if not bool(xp.all(xp.isfinite(new))):
                raise FloatingPointError(f"particles became non-finite at t={k * dt:.4g}; reduce dt")
            v, done = new, k
            if bar is not None:
                bar.update(dt)
            if k in save_steps:
                record = diagnostics(v)
                times.append(k * dt)
                states.append(to_numpy(v).copy())
                diags.append(record)
            if path is not None and _time.perf_counter() - last > checkpoint_every:
                _save(path, done, dt, v, w, extra, times, states, diags, fingerprint, rng)
                last = _time.perf_counter()
    except KeyboardInterrupt:
        status = "interrupted"
        if keep_rng and rng_before is not None and done < k:
            rng.bit_generator.state = rng_before
        if times[-1] < done * dt:
            record = diagnostics(v)
            times.append(done * dt)
            states.append(to_numpy(v).copy())
            diags.append(record)
    finally:
        if bar is not None:
            bar.close()
    if path is not None:
        _save(path, done, dt, v, w, extra, times, states, diags, fingerprint, rng)
    series = {name: np.array([d[name] for d in diags]) for name in diags[0]}
    info = {"status": status, "steps": done, "t": done * dt, "wall_time": _time.perf_counter() - wall0}
    return ParticleRun(np.array(times), states, to_numpy(w), series, info)


def integrate_samples(x: Any, t_end: float, dt: float, step: Callable[[Any, float], Any], *,
                      save_times: Sequence[float] | None = None, **options: Any) -> tuple[np.ndarray, list[Any]]:
    """:func:`integrate_particles` for equally weighted samples ``x`` (``(N, ...)``) without diagnostics.

    Returns the save times after ``0`` (``t_end`` included; after a Ctrl-C they end at the interruption) and the
    samples there, in the array namespace of ``x``.  A ``dt`` above ``t_end`` is taken as one step.  ``options``:
    the keyword arguments of :func:`integrate_particles` (``progress``, ``checkpoint``, ``resume``, ``rng``, ...).
    """
    xp = namespace_of(x)
    run = integrate_particles(x, xp.full(x.shape[0], 1.0 / x.shape[0]), t_end, min(dt, t_end), step,
                              lambda _: {}, save_times=save_times, **options)
    return run.times[1:], [xp.asarray(state) for state in run.states[1:]]
