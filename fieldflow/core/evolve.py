"""The one time loop: ``fieldflow.evolve(pde, rho0, t_end, ...) -> Trajectory``.

``evolve`` owns everything about time: the stepper, save times, diagnostics, the structure
checks, the progress bar, checkpoints, resuming and Ctrl-C.  Equations own only their
physics (:class:`~fieldflow.core.problem.PDE`).
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
from .problem import PDE
from .steppers import Stepper, make_stepper
from .trajectory import Trajectory
from .transfer import sample_diagnostics

__all__ = ["evolve", "StructureError", "progress_bar"]


class StructureError(RuntimeError):
    """A structure the equation must preserve (mass, positivity, monotone free energy) was violated.

    ``.trajectory`` holds everything computed up to the violation.
    """

    def __init__(self, message: str, trajectory: Trajectory):
        super().__init__(message)
        self.trajectory = trajectory


def _fingerprint(pde: PDE) -> str:
    return hashlib.sha256(json.dumps(pde.describe(), sort_keys=True, default=str).encode()).hexdigest()[:16]


class _Checks:
    """Mass, positivity and monotonicity checks run on each diagnostics sample."""

    def __init__(self, pde: PDE, mass_tol: float, positivity_tol: float, monotone_tol: float):
        self.pde = pde
        self.mass_tol, self.positivity_tol, self.monotone_tol = mass_tol, positivity_tol, monotone_tol
        self.reference: dict[str, float] = {}
        self.last_monotone: float | None = None

    def __call__(self, state: Any, t: float, values: dict[str, float]) -> str | None:
        pde = self.pde
        for name in pde.conserved:
            if name not in values:
                continue
            ref = self.reference.setdefault(name, values[name])
            if abs(values[name] - ref) > self.mass_tol * max(1.0, abs(ref)):
                return f"{name} drifted from {ref:.15g} to {values[name]:.15g} at t={t:.6g} (tolerance {self.mass_tol:g})"
        if pde.positive:
            xp = pde.grid.xp
            lo, hi = float(xp.min(state)), float(xp.max(xp.abs(state)))
            if not math.isfinite(lo) or not math.isfinite(hi):
                return f"the state became non-finite at t={t:.6g}"
            if lo < -self.positivity_tol * hi:
                return f"the density became negative (min {lo:.3e}, max {hi:.3e}) at t={t:.6g}; reduce dt or rtol"
        if pde.monotone and pde.monotone in values:
            value = values[pde.monotone]
            if self.last_monotone is not None and value > self.last_monotone + self.monotone_tol * max(1.0, abs(self.last_monotone)):
                return (f"{pde.monotone} increased from {self.last_monotone:.15g} to {value:.15g} at t={t:.6g}; "
                        "the scheme must dissipate it — reduce dt or rtol")
            self.last_monotone = value
        return None


def progress_bar(enabled: bool | None, t0: float, t_end: float, label: str) -> Any:
    """A tqdm bar over simulated time ``[t0, t_end]`` (``None`` when disabled; default: on for a terminal)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=t_end - t0, desc=label, unit="t", bar_format="{l_bar}{bar}| t={n:.4g}/{total:.4g} [{elapsed}<{remaining}]")


def evolve(
    pde: PDE,
    rho0: Any,
    t_end: float,
    *,
    method: str | Stepper | None = None,
    dt: float | None = None,
    adaptive: bool | None = None,
    save_every: float | None = None,
    save_times: Any = None,
    diagnostics_every: int = 1,
    check: bool = True,
    mass_tol: float = 1e-10,
    positivity_tol: float = 1e-10,
    monotone_tol: float = 1e-10,
    progress: bool | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: float = 60.0,
    resume: str | Path | bool | None = None,
    callback: Callable[[float, Any], None] | None = None,
    max_steps: int | None = None,
    **stepper_options: Any,
) -> Trajectory:
    """Evolve ``pde`` from ``rho0`` to ``t_end`` and return the :class:`~fieldflow.core.trajectory.Trajectory`.

    Parameters
    ----------
    pde : PDE
        The equation (e.g. :class:`fieldflow.FokkerPlanck`).
    rho0 : array
        Initial state on ``pde.grid``; validated (``ValueError`` on a negative, NaN, zero-mass or
        wrongly shaped density) and normalised.
    t_end : float
        Final time (> 0).
    method : {"trbdf2", "euler", "ssprk3"} or Stepper, optional
        Time stepper (default: ``pde.default_method``).
    dt : float, optional
        Fixed step (with ``adaptive=False``) or first step. For ``"ssprk3"`` a ``dt`` above the
        stability limit raises ``ValueError``.
    adaptive : bool, optional
        Error-controlled (``"trbdf2"``) or stability-limited (``"ssprk3"``) steps; default on
        unless a fixed ``dt`` is given.
    save_every, save_times : optional
        Snapshot spacing or explicit snapshot times (``t_end`` is always saved). Steps land on them exactly.
    diagnostics_every : int
        Also record diagnostics every this many steps (besides each save time).
    check : bool
        Check mass (to ``mass_tol``), positivity (``min ≥ −positivity_tol·max``) and the monotone
        diagnostic (to ``monotone_tol``) at each diagnostics sample; raise :class:`StructureError`
        with the trajectory so far when violated.
    progress : bool, optional
        tqdm progress bar; default on when stderr is a terminal.
    checkpoint : path, optional
        Write a checkpoint ``.npz`` every ``checkpoint_every`` seconds of wall time, on Ctrl-C and on error.
    resume : path or True, optional
        Continue from a checkpoint (``True``: from ``checkpoint``); the equation must match.
    callback : callable, optional
        ``callback(t, state)`` at every save time.
    max_steps : int, optional
        Stop (with ``info["status"] = "max_steps"``) after this many steps.
    **stepper_options
        Passed to the stepper (``rtol``, ``atol``, ``cfl``, ``newton_tol``, ...).

    Returns
    -------
    Trajectory
        With ``info["status"]`` ``"done"``, ``"interrupted"`` (Ctrl-C: what was computed is kept,
        and checkpointed if ``checkpoint`` is set) or ``"max_steps"``.
    """
    if not (isinstance(t_end, (int, float)) and math.isfinite(t_end) and t_end > 0):
        raise ValueError(f"t_end must be a positive finite number, got {t_end!r}")
    if dt is not None and not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be positive and finite, got {dt!r}")
    if adaptive is None:
        adaptive = dt is None
    options = dict(stepper_options)
    if not isinstance(method, Stepper):
        options.update(dt=dt, adaptive=adaptive)
    stepper = make_stepper(method, pde, **options)

    state = pde.validate(rho0)
    t = 0.0
    traj = Trajectory(info={
        "equation": pde.describe(), "fingerprint": _fingerprint(pde), "method": stepper.name,
        "axes": [to_numpy(a).tolist() for a in pde.grid.axes],
    })
    steps = 0
    if resume:
        path = Path(checkpoint if resume is True else resume)
        state, t, steps, traj = _load_checkpoint(path, pde, traj)

    # save schedule
    if save_times is not None:
        targets = np.unique(np.append(np.asarray(save_times, dtype=float), t_end))
    elif save_every is not None:
        if save_every <= 0:
            raise ValueError("save_every must be positive")
        targets = np.append(np.arange(1, int(math.floor(t_end / save_every + 1e-9)) + 1) * save_every, t_end)
        targets = np.unique(np.round(targets, 12))
    else:
        targets = np.array([t_end])
    targets = targets[(targets > t + 1e-14) & (targets <= t_end)]

    checks = _Checks(pde, mass_tol, positivity_tol, monotone_tol) if check else None

    def record(t_now: float, s: Any) -> None:
        values = sample_diagnostics(pde, s, t_now)  # one device→host read for the whole sample
        traj.add_diagnostics(t_now, values)
        if checks is not None:
            problem = checks(s, t_now, values)
            if problem:
                traj.info.update(status="structure_error", steps=steps)
                raise StructureError(f"{type(pde).__name__}: {problem}", traj)

    if not traj.diagnostics["t"]:
        traj.add_state(t, to_numpy(state))
        record(t, state)
    elif checks is not None:  # resuming: re-seed the references from the recorded history
        for name in pde.conserved:
            if name in traj.diagnostics:
                checks.reference[name] = traj.diagnostics[name][0]
        if pde.monotone and pde.monotone in traj.diagnostics:
            checks.last_monotone = traj.diagnostics[pde.monotone][-1]

    bar = progress_bar(progress, t, t_end, type(pde).__name__)
    wall0 = last_checkpoint = _time.perf_counter()
    dt_next = stepper.initial_dt(state, t, t_end)
    traj.info["status"] = "running"
    try:
        for target in targets:
            while t < target - 1e-12 * max(1.0, abs(target)):
                if max_steps is not None and steps >= max_steps:
                    traj.info["status"] = "max_steps"
                    raise _Stop
                result = stepper.step(state, t, min(dt_next, target - t))
                state, t_prev = result.state, t
                t = target if abs(target - (t + result.dt)) <= 1e-12 * max(1.0, abs(target)) else t + result.dt
                dt_next = result.dt_next
                steps += 1
                if bar is not None:
                    bar.update(t - t_prev)
                if diagnostics_every and steps % diagnostics_every == 0 and t < target:
                    record(t, state)
                if checkpoint and _time.perf_counter() - last_checkpoint > checkpoint_every:
                    _save_checkpoint(checkpoint, state, t, steps, traj)
                    last_checkpoint = _time.perf_counter()
            traj.add_state(t, to_numpy(state))
            record(t, state)
            if callback is not None:
                callback(t, state)
        traj.info["status"] = "done"
    except _Stop:
        pass
    except KeyboardInterrupt:
        traj.info["status"] = "interrupted"
        traj.info["interrupted"] = True
        if not traj.states or traj.times[-1] < t:
            traj.add_state(t, to_numpy(state))
    except StructureError:
        if checkpoint:
            _save_checkpoint(checkpoint, state, t, steps, traj)
        raise
    finally:
        if bar is not None:
            bar.close()
    traj.info.update(steps=steps, wall_time=_time.perf_counter() - wall0, t=t)
    if checkpoint:
        _save_checkpoint(checkpoint, state, t, steps, traj)
    return traj


class _Stop(Exception):
    pass


def _save_checkpoint(path: str | Path, state: Any, t: float, steps: int, traj: Trajectory) -> None:
    """Atomically write state, time, step count and the trajectory so far."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ckpt = Trajectory(traj.times.copy(), list(traj.states), traj.diagnostics, dict(traj.info))
    ckpt.info["checkpoint"] = {"t": t, "steps": steps}
    ckpt.states.append(to_numpy(state))  # the live state goes last
    ckpt.save(path)


def _load_checkpoint(path: Path, pde: PDE, fresh: Trajectory) -> tuple[Any, float, int, Trajectory]:
    if not path.exists():
        raise ValueError(f"no checkpoint at {path}; run once with checkpoint={str(path)!r} first")
    saved = Trajectory.load(path)
    if saved.info.get("fingerprint") != fresh.info["fingerprint"]:
        raise ValueError(
            f"checkpoint {path} belongs to another problem ({saved.info.get('equation')}); "
            f"this one is {fresh.info['equation']}"
        )
    meta = saved.info.pop("checkpoint")
    live = saved.states.pop()
    state = pde.grid.xp.asarray(live)
    saved.info.pop("interrupted", None)
    return state, float(meta["t"]), int(meta["steps"]), saved
