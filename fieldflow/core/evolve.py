"""The one time loop: ``fieldflow.evolve(problem, state0, t_end, ...) -> Trajectory``.

``evolve`` owns everything about time for every kind of problem (:mod:`fieldflow.core.problem`: grid
PDEs, particle systems, step maps): the stepper, the save schedule, diagnostics, the structure checks,
the progress bar, the random generator of stochastic problems, checkpoints, resuming and Ctrl-C.
Problems own only their physics, steppers only one step.

Two schedules, one loop:

* grid PDEs with the steppers ``"trbdf2"``, ``"euler"``, ``"ssprk3"``, ``"log-trbdf2"``, ``"etdrk4"``,
  ``"krylov-exp"``: adaptive or fixed steps, shortened to land exactly on the save times;
* particle systems and step maps (steppers with ``equal_steps``): ``n = ceil(t_end/dt)`` equal steps
  ``h = t_end/n``, ``t_k = k h``; save times are rounded to the nearest step.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time as _time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .backend import to_numpy
from .checkpoint import CheckpointWriter, load_checkpoint
from .problem import Particles, Problem
from .steppers import Stepper, make_stepper, stepper_class
from .steppers.registry import default_method
from .trajectory import Trajectory
from .transfer import sample_diagnostics
from .validation import (MAX_SAVES, boolean, check_step_count, function, integer, real_array, real_number,
                         writable_path)

__all__ = ["evolve", "StructureError", "progress_bar", "step_count", "PARTICLE_GROWTH"]


class StructureError(RuntimeError):
    """A structure the equation must preserve (mass, positivity, monotone free energy) was violated.

    ``.trajectory`` holds everything computed up to the violation.
    """

    def __init__(self, message: str, trajectory: Trajectory):
        super().__init__(message)
        self.trajectory = trajectory


def step_count(t_end: float, dt: float) -> int:
    """``ceil(t_end/dt)`` (a ``dt`` above ``t_end`` is one step) after checking both are positive and finite."""
    t_end = real_number(t_end, "t_end", positive=True)
    dt = real_number(dt, "dt", positive=True)
    return max(1, int(math.ceil(t_end / dt - 1e-9)))


class _Checks:
    """Conserved quantities, positivity and monotonicity, checked on each diagnostics sample."""

    def __init__(self, problem: Problem, mass_tol: float, positivity_tol: float, monotone_tol: float):
        self.problem = problem
        self.mass_tol, self.positivity_tol, self.monotone_tol = mass_tol, positivity_tol, monotone_tol
        self.reference: dict[str, float] = {}
        self.last_monotone: float | None = None
        self.size: float | None = None  # max|x| of the first particle sample

    def resume(self, diagnostics: dict[str, list[float]]) -> None:
        """Re-seed the references from a recorded history."""
        for name in self.problem.conserved:
            if name in diagnostics:
                self.reference[name] = diagnostics[name][0]
        if self.problem.monotone and self.problem.monotone in diagnostics:
            self.last_monotone = diagnostics[self.problem.monotone][-1]

    def __call__(self, state: Any, t: float, values: dict[str, float]) -> str | None:
        problem = self.problem
        for name in problem.conserved:
            if name not in values:
                continue
            ref = self.reference.setdefault(name, values[name])
            if abs(values[name] - ref) > self.mass_tol * max(1.0, abs(ref)):
                return f"{name} drifted from {ref:.15g} to {values[name]:.15g} at t={t:.6g} (tolerance {self.mass_tol:g})"
        if problem.positive:
            xp = problem.array_namespace(state)
            lo, hi = float(xp.min(state)), float(xp.max(xp.abs(state)))
            if not math.isfinite(lo) or not math.isfinite(hi):
                return f"the state became non-finite at t={t:.6g}"
            if lo < -self.positivity_tol * hi:
                return f"the density became negative (min {lo:.3e}, max {hi:.3e}) at t={t:.6g}; reduce dt or rtol"
        if isinstance(state, Particles):
            violation = self._particles(state, t)
            if violation:
                return violation
        if problem.monotone and problem.monotone in values:
            value = values[problem.monotone]
            if self.last_monotone is not None and value > self.last_monotone + self.monotone_tol * max(1.0, abs(self.last_monotone)):
                return (f"{problem.monotone} increased from {self.last_monotone:.15g} to {value:.15g} at t={t:.6g}; "
                        "the scheme must dissipate it — reduce dt or rtol")
            self.last_monotone = value
        return None


    def _particles(self, state: Particles, t: float) -> str | None:
        """Positions non-finite, or grown by more than :data:`PARTICLE_GROWTH` over the run: an unstable step."""
        xp = self.problem.array_namespace(state)
        size = float(xp.max(xp.abs(state.x))) if state.x.size else 0.0
        if self.size is None:
            self.size = max(size, 1.0)
        if not math.isfinite(size):
            return (f"particle positions became non-finite at t={t:.6g}: the step is above the stability limit of "
                    "the particle dynamics; reduce dt")
        if size > PARTICLE_GROWTH * self.size:
            return (f"particle positions grew from max|x| = {self.size:.3g} to {size:.3g} by t={t:.6g}: the particles "
                    "blew up (a step above the stability limit of the particle dynamics); reduce dt")
        return None


#: growth of ``max|x|`` over a particle run that counts as a blow-up (``evolve(check=True)``): confined particle
#: dynamics keep their spread within a few orders of magnitude of the initial one and of 1
PARTICLE_GROWTH = 1e8


def progress_bar(enabled: bool | None, t0: float, t_end: float, label: str) -> Any:
    """A tqdm bar over simulated time ``[t0, t_end]`` (``None`` when disabled; default: on for a terminal)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=t_end - t0, desc=label, unit="t", bar_format="{l_bar}{bar}| t={n:.4g}/{total:.4g} [{elapsed}<{remaining}]")


class _LandingClock:
    """Adaptive or fixed steps shortened to land exactly on the save times."""

    def __init__(self, targets: np.ndarray):
        self.targets = [float(s) for s in targets]

    @staticmethod
    def reached(t: float, steps: int, target: float) -> bool:
        return t >= target - 1e-12 * max(1.0, abs(target))

    @staticmethod
    def dt_max(t: float, dt_next: float, target: float) -> float:
        return min(dt_next, target - t)

    @staticmethod
    def advance(t: float, steps: int, dt: float, target: float) -> float:
        return target if abs(target - (t + dt)) <= 1e-12 * max(1.0, abs(target)) else t + dt


class _EqualClock:
    """``t_k = k h``; the targets are step indices."""

    def __init__(self, h: float, targets: list[int]):
        self.h, self.targets = h, targets

    @staticmethod
    def reached(t: float, steps: int, target: int) -> bool:
        return steps >= target

    def dt_max(self, t: float, dt_next: float, target: int) -> float:
        return self.h

    def advance(self, t: float, steps: int, dt: float, target: int) -> float:
        return (steps + 1) * self.h


def _save_targets(t_end: float, save_every: float | None, save_times: Any) -> np.ndarray:
    """The save times in ``(0, t_end]`` (``t_end`` included)."""
    if save_times is not None:
        if save_every is not None:
            raise ValueError("pass save_every or save_times, not both")
        times = real_array(save_times, "save_times", ndim=(0, 1), hint="pass the times in [0, t_end] to save at").ravel()
        outside = times[(times < 0) | (times > t_end * (1 + 1e-12))]
        if outside.size:
            raise ValueError(f"save_times must lie in [0, t_end] = [0, {t_end:g}], got {outside.size} outside it "
                             f"(e.g. {outside[0]:g}); drop them or raise t_end")
        if times.size > MAX_SAVES:
            raise ValueError(f"save_times has {times.size} times, more than the {MAX_SAVES:.0e} snapshots a run keeps")
        return np.unique(np.append(np.minimum(times, t_end), t_end))
    if save_every is not None:
        save_every = real_number(save_every, "save_every", positive=True, hint="the time between snapshots")
        if t_end / save_every > MAX_SAVES:
            raise ValueError(f"save_every={save_every:g} asks for {t_end / save_every:.3g} snapshots of a run to "
                             f"t_end={t_end:g}, more than the {MAX_SAVES:.0e} a run keeps; save less often "
                             f"(save_every ≥ {t_end / MAX_SAVES:.3g})")
        targets = np.append(np.arange(1, int(math.floor(t_end / save_every + 1e-9)) + 1) * save_every, t_end)
        return np.unique(np.round(targets, 12))
    return np.array([t_end])


def _generator(problem: Problem, state: Any, seed: Any) -> Any:
    """The random generator of a stochastic problem (``None`` for a deterministic one)."""
    if not problem.stochastic:
        if seed is not None:
            raise ValueError(f"seed is for stochastic problems; {type(problem).__name__} draws no random numbers")
        return None
    if isinstance(seed, np.random.SeedSequence) or seed is None:
        return problem.array_namespace(state).random.default_rng(seed)
    if hasattr(seed, "bit_generator") or hasattr(seed, "standard_normal"):
        return seed  # a generator made by the caller
    seed = integer(seed, "seed", minimum=0, hint="pass a non-negative integer or a numpy.random.Generator")
    return problem.array_namespace(state).random.default_rng(seed)


def _rng_state(rng: Any) -> str:
    """The JSON state of a NumPy ``Generator`` (what a checkpoint needs to continue the same random stream)."""
    state = getattr(getattr(rng, "bit_generator", None), "state", None)
    if not isinstance(state, dict):
        raise ValueError(f"cannot checkpoint the random generator {type(rng).__name__} (CuPy generators expose no "
                         "state); run without checkpoint/resume or with NumPy arrays")
    return json.dumps(state)


def _fingerprint(problem: Problem, state: Any, seed: Any) -> str:
    x = state.x if isinstance(state, Particles) else state
    identity = {"problem": problem.describe(), "kind": problem.kind, "shape": list(x.shape)}
    if problem.stochastic:
        identity["seed"] = int(seed) if isinstance(seed, (int, np.integer)) else None
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _host(state: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Host copies of a state (positions of particles) and its per-particle extras."""
    if isinstance(state, Particles):
        return to_numpy(state.x), {k: to_numpy(v) for k, v in state.extras.items()}
    return to_numpy(state), {}


def evolve(
    problem: Problem,
    state0: Any,
    t_end: float,
    *,
    method: str | Stepper | None = None,
    dt: float | None = None,
    adaptive: bool | None = None,
    save_every: float | None = None,
    save_times: Any = None,
    diagnostics_every: int | None = None,
    check: bool = True,
    mass_tol: float = 1e-10,
    positivity_tol: float = 1e-10,
    monotone_tol: float = 1e-10,
    progress: bool | None = None,
    label: str | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: float = 60.0,
    resume: str | Path | bool | None = None,
    callback: Callable[[float, Any], None] | None = None,
    max_steps: int | None = None,
    seed: Any = None,
    **stepper_options: Any,
) -> Trajectory:
    """Evolve ``problem`` from ``state0`` to ``t_end`` and return the :class:`~fieldflow.core.trajectory.Trajectory`.

    Parameters
    ----------
    problem : Problem
        A grid PDE (e.g. :class:`fieldflow.FokkerPlanck`), a particle system (e.g.
        :class:`fieldflow.fokker_planck.Langevin`) or a step map (e.g.
        :class:`fieldflow.fokker_planck.QuantileJKO`); see :mod:`fieldflow.core.problem`.
    state0 : array or Particles
        Initial state, checked by ``problem.validate`` (``ValueError`` on a negative, NaN, zero-mass or
        wrongly shaped density; grid densities are normalised).  Particle systems take an ``(N, ...)`` array
        (equal weights) or :class:`~fieldflow.core.problem.Particles` (weights, extras).
    t_end : float
        Final time (> 0).
    method : str or Stepper, optional
        Stepper by name (default ``problem.default_method``): ``"trbdf2"``, ``"euler"``, ``"ssprk3"``,
        ``"log-trbdf2"``, ``"etdrk4"``, ``"krylov-exp"`` for grids; ``"forward-euler"``, ``"heun"``,
        ``"heun-energy"``, ``"midpoint"``, ``"euler-maruyama"`` for particles; ``"step-map"`` for step maps.
        A stepper that cannot advance ``problem`` is refused (``ValueError``).  The static Fokker–Planck
        equation defaults to ``"krylov-exp"`` (exact in time: one exponential ``exp(τL)`` per save interval);
        given options that only TR-BDF2 knows (``error_norm``, ``linear_solver``, …) it runs ``"trbdf2"``.
    dt : float, optional
        Grids: fixed step (with ``adaptive=False``) or first step; for ``"ssprk3"`` a ``dt`` above the
        stability limit raises ``ValueError``.  Particles and step maps (required): the step; the run takes
        ``ceil(t_end/dt)`` equal steps ``t_end/ceil(t_end/dt)``.
    adaptive : bool, optional
        Grids: error-controlled (``"trbdf2"``), stability-limited (``"ssprk3"``, ``"etdrk4"``) or
        save-to-save (``"krylov-exp"``) steps; default on unless a fixed ``dt`` is given.  Particles and step
        maps have no adaptive steps.
    save_every, save_times : optional
        Snapshot spacing or explicit snapshot times (``t_end`` is always saved).  Grid steps land on them
        exactly; equal steps round them to the nearest step.
    diagnostics_every : int, optional
        Also record diagnostics every this many steps, besides each save time (``0``: at the save times
        only).  Default ``problem.diagnostics_every``: grid PDEs 1 except the static Fokker–Planck equation 0
        (at the save times only: on small grids its diagnostics would cost as much as its steps), particles 0,
        step maps 1.
    check : bool
        At each diagnostics sample check the ``problem.conserved`` diagnostics (to ``mass_tol``
        relative), positivity of densities (``min ≥ −positivity_tol·max``) and the ``problem.monotone``
        diagnostic (non-increasing to ``monotone_tol``); raise :class:`StructureError` with the trajectory
        so far when violated.
    progress : bool, optional
        tqdm progress bar; default on when stderr is a terminal.
    label : str, optional
        The progress bar's description, naming the case (``"double well, n = 256"``); default the
        problem's class name.
    checkpoint : path, optional
        Write a checkpoint every ``checkpoint_every`` seconds of wall time, on Ctrl-C, on a structure
        error and at the end (:mod:`fieldflow.core.checkpoint`: the live state is rewritten, the history
        appended, so the bytes written grow linearly with the run).
    resume : path or True, optional
        Continue from a checkpoint (``True``: from ``checkpoint``).  The problem must match its description
        (and seed); particles and step maps also the step ``t_end/ceil(t_end/dt)`` and the weights.  The
        resumed run is bit-for-bit the uninterrupted one: the stepper's step sizes and the random
        generator's state are part of the checkpoint.
    callback : callable, optional
        ``callback(t, state)`` at every save time (``state``: the array, or the ``Particles``).
    max_steps : int, optional
        Stop (with ``info["status"] = "max_steps"``) after this many steps.
    seed : int or numpy.random.Generator, optional
        Stochastic problems only: the seed of the generator ``evolve`` makes (``default_rng(seed)`` in the
        state's array namespace), or a generator to draw from.
    **stepper_options
        Options of the stepper (``rtol``, ``atol``, ``cfl``, ``newton_tol``, ``tol``, ...); an option the
        stepper does not know raises ``TypeError`` naming those it knows.

    Returns
    -------
    Trajectory
        With ``info["status"]`` ``"done"``, ``"interrupted"`` (Ctrl-C: what was computed is kept, the state
        at the interruption and its diagnostics appended, and checkpointed if ``checkpoint`` is set) or
        ``"max_steps"``.  Particle runs also carry ``weights`` and ``extras``.
    """
    if not isinstance(problem, Problem):
        raise TypeError(f"evolve needs a fieldflow.core.problem.Problem (a PDE, ParticleSystem or StepMap), "
                        f"got {type(problem).__name__}")
    t_end = real_number(t_end, "t_end", positive=True, hint="the final time of the run")
    dt = None if dt is None else real_number(dt, "dt", positive=True, hint="the (first) time step")
    adaptive = None if adaptive is None else boolean(adaptive, "adaptive")
    diagnostics_every = None if diagnostics_every is None else integer(diagnostics_every, "diagnostics_every", minimum=0)
    check = boolean(check, "check")
    round_off = "a tolerance below round-off (1e-14) would flag the round-off of every step"
    mass_tol = real_number(mass_tol, "mass_tol", minimum=1e-14, hint=round_off)
    monotone_tol = real_number(monotone_tol, "monotone_tol", minimum=1e-14, hint=round_off)
    positivity_tol = real_number(positivity_tol, "positivity_tol", nonnegative=True)
    progress = None if progress is None else boolean(progress, "progress")
    checkpoint = None if checkpoint is None else writable_path(checkpoint, "checkpoint")
    checkpoint_every = real_number(checkpoint_every, "checkpoint_every", nonnegative=True,
                                   hint="seconds of wall time between checkpoints")
    callback = None if callback is None else function(callback, "callback", hint="callback(t, state) at each save time")
    max_steps = None if max_steps is None else integer(max_steps, "max_steps", minimum=0)
    if resume is True and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=path (or resume=path)")
    if resume is not None and not isinstance(resume, bool):
        resume = writable_path(resume, "resume")
    name = default_method(problem, stepper_options) if method is None else method
    equal_steps = (type(method) if isinstance(method, Stepper) else stepper_class(name)).equal_steps
    h = None
    if equal_steps:
        if isinstance(method, Stepper):
            dt = method.dt
        if dt is None or adaptive:
            raise ValueError(f"{type(problem).__name__} is a {problem.kind!r} problem, stepped with equal steps: "
                             "pass a fixed dt (evolve(..., dt=...)) and no adaptive=True")
        h = t_end / step_count(t_end, dt)
        dt, adaptive = h, False
    elif adaptive is None:
        adaptive = dt is None

    state = problem.validate(state0)
    rng = _generator(problem, state, seed)
    stepper = make_stepper(method, problem, dt=dt, adaptive=adaptive, rng=rng, **stepper_options)
    # a stepper with its own length guard (SSPRK3's ``max_explicit_steps``) says what to do in its own words
    own_guard = getattr(stepper, "max_explicit_steps", None) is not None
    if max_steps is None and (equal_steps or not stepper.adaptive) and dt is not None and not own_guard:
        check_step_count(t_end / dt, f"t_end/dt = {t_end:g}/{dt:g}",
                         "raise dt, or pass max_steps=... to run that many steps anyway")
    if diagnostics_every is None:
        diagnostics_every = problem.diagnostics_every
    keep_rng = rng is not None and (checkpoint is not None or bool(resume))
    if keep_rng:
        _rng_state(rng)  # fail before the run, not at its first checkpoint

    traj = Trajectory(info={
        "equation": problem.describe(), "kind": problem.kind, "method": stepper.name,
        "fingerprint": _fingerprint(problem, state, seed),
    })
    if problem.kind == "pde":
        traj.info["axes"] = [to_numpy(a).tolist() for a in problem.grid.axes]
    if isinstance(state, Particles):
        traj.weights = to_numpy(state.weights).copy()
    t, steps, dt_next, written = 0.0, 0, None, None
    if resume:
        path = Path(checkpoint if resume is True else resume)
        state, t, steps, dt_next, traj, written = _resume(path, problem, stepper, state, traj, h, t_end, rng)

    # save schedule
    targets = _save_targets(t_end, save_every, save_times)
    if equal_steps:
        n = step_count(t_end, h)
        clock: Any = _EqualClock(h, sorted({k for k in (int(round(s / h)) for s in targets) if steps < k <= n}))
    else:
        clock = _LandingClock(targets[(targets > t + 1e-14) & (targets <= t_end)])

    checks = _Checks(problem, mass_tol, positivity_tol, monotone_tol) if check else None
    if dt_next is None:
        dt_next = stepper.initial_dt(state, t, t_end)
    if max_steps is None and stepper.adaptive and stepper.explicit and dt_next > 0 and not own_guard:
        check_step_count((t_end - t) / dt_next, f"the explicit {stepper.name!r} run at its stability limit "
                         f"(cfl × stable_dt) dt = {dt_next:.3g}", "use an implicit method (method='trbdf2'), a coarser grid, or pass "
                         "max_steps=... to run that many steps anyway")
    writer = None
    if checkpoint is not None:  # a resumed run appends to the history it was resumed from
        same = resume and Path(checkpoint).resolve() == Path(checkpoint if resume is True else resume).resolve()
        writer = CheckpointWriter(checkpoint, written if same else None)

    def record(t_now: float, s: Any) -> None:
        values = sample_diagnostics(problem, s, t_now)  # one device→host read for the whole sample
        traj.add_diagnostics(t_now, values)
        if checks is not None:
            violation = checks(s, t_now, values)
            if violation:
                traj.info.update(status="structure_error", steps=steps)
                raise StructureError(f"{type(problem).__name__}: {violation}", traj)

    def save(t_now: float, s: Any) -> None:
        traj.add_state(t_now, *_host(s))

    def write_checkpoint() -> None:
        x, extras = _host(state)
        live = {"state": x, **{f"extra_{k}": v for k, v in extras.items()}}
        writer.write(traj, live, {
            "t": t, "steps": steps, "dt_next": dt_next, "h": h, "stepper": stepper.checkpoint_state(),
            "rng": _rng_state(rng) if rng is not None else None, "extras": sorted(extras),
        })

    if not traj.diagnostics["t"]:
        save(t, state)
        record(t, state)
    elif checks is not None:
        checks.resume(traj.diagnostics)

    bar = progress_bar(progress, t, t_end, type(problem).__name__ if label is None else str(label))
    wall0 = last_checkpoint = _time.perf_counter()
    traj.info["status"] = "running"
    in_step, rng_before = False, None
    try:
        for target in clock.targets:
            while not clock.reached(t, steps, target):
                if max_steps is not None and steps >= max_steps:
                    traj.info["status"] = "max_steps"
                    raise _Stop
                if keep_rng:  # so that a Ctrl-C inside a step leaves the stream where the step found it
                    rng_before = rng.bit_generator.state
                in_step = True
                result = stepper.step(state, t, clock.dt_max(t, dt_next, target))
                state, t_prev = result.state, t
                t = clock.advance(t, steps, result.dt, target)
                dt_next = result.dt_next
                steps += 1
                in_step = False
                if bar is not None:
                    bar.update(t - t_prev)
                if diagnostics_every and steps % diagnostics_every == 0 and not clock.reached(t, steps, target):
                    record(t, state)
                if writer is not None and _time.perf_counter() - last_checkpoint >= checkpoint_every:
                    write_checkpoint()
                    last_checkpoint = _time.perf_counter()
            save(t, state)
            record(t, state)
            if callback is not None:
                callback(t, state)
        traj.info["status"] = "done"
    except _Stop:
        pass
    except KeyboardInterrupt:
        traj.info["status"] = "interrupted"
        traj.info["interrupted"] = True
        if in_step and rng_before is not None:
            rng.bit_generator.state = rng_before
        if traj.times[-1] < t:
            save(t, state)
        if traj.diagnostics["t"][-1] < t:
            record(t, state)
    except StructureError:
        if writer is not None:
            write_checkpoint()
        raise
    finally:
        if bar is not None:
            bar.close()
    traj.info.update(steps=steps, wall_time=_time.perf_counter() - wall0, t=t)
    if writer is not None:
        write_checkpoint()
    return traj


class _Stop(Exception):
    pass


def _resume(path: Path, problem: Problem, stepper: Stepper, state: Any, fresh: Trajectory, h: float | None,
            t_end: float, rng: Any) -> tuple[Any, float, int, float, Trajectory, tuple[int, int]]:
    """The live state, time, step count, next step and trajectory of a checkpoint, checked against this run."""
    saved, arrays, meta = load_checkpoint(path)
    if saved.info.get("fingerprint") != fresh.info["fingerprint"]:
        raise ValueError(f"checkpoint {path} belongs to another problem ({saved.info.get('equation')}); "
                         f"this one is {fresh.info['equation']}")
    if h is not None and not math.isclose(float(meta["h"]), h, rel_tol=1e-12):
        raise ValueError(f"checkpoint {path} was written with another time step ({meta['h']:g}, this run {h:g}); "
                         "resume with the same t_end/dt")
    if fresh.weights is not None and not np.array_equal(saved.weights, fresh.weights):
        raise ValueError(f"checkpoint {path} was written for other particle weights; resume with the same "
                         "initial data")
    t, steps = float(meta["t"]), int(meta["steps"])
    if t > t_end * (1 + 1e-12):
        raise ValueError(f"checkpoint {path} is at t={t:g}, beyond t_end={t_end:g}: its state is later than the "
                         f"run asks for; resume with t_end ≥ {t:g}, or load the saved states with "
                         "fieldflow.core.checkpoint.load_checkpoint")
    xp = problem.array_namespace(state)
    live = xp.asarray(arrays["state"])
    if isinstance(state, Particles):
        live = Particles(live, state.weights, {k: xp.asarray(arrays[f"extra_{k}"]) for k in meta["extras"]})
    if rng is not None:
        rng.bit_generator.state = json.loads(meta["rng"])
    stepper.restore_state(meta["stepper"])
    for key in ("interrupted", "status"):
        saved.info.pop(key, None)
    saved.info = {**fresh.info, **saved.info, "method": stepper.name}
    return live, t, steps, float(meta["dt_next"]), saved, (int(meta["states"]), int(meta["rows"]))
