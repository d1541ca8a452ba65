"""The stepper interface: one step of a problem's state, and the next step size it proposes.

A stepper declares what it advances and needs, so that :func:`~fieldflow.core.steppers.make_stepper`
refuses a mismatch with a clear error before the run starts:

* ``kind`` — the problem kind it advances (``"pde"``, ``"particles"``, ``"map"``);
* ``requires`` — capabilities the problem must provide (``problem.supports``; see
  :mod:`fieldflow.core.problem`);
* its options — the keyword parameters of its ``__init__`` (and of the classes it forwards ``**options``
  to, listed in ``forwards_options_to``); any other option is a ``TypeError`` naming the known ones;
* ``equal_steps`` — ``True`` for steppers that take ``ceil(t_end/dt)`` equal steps (particles, maps);
  ``evolve`` then rounds save times to steps;
* ``stochastic`` — ``True`` for steppers that draw from the generator ``evolve`` makes (``rng``).

A stepper with state that must survive a checkpoint (e.g. the step-size ladder of TR-BDF2) returns it
from :meth:`Stepper.checkpoint_state` and takes it back in :meth:`Stepper.restore_state`, so a resumed
run takes exactly the steps of the uninterrupted one.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["Stepper", "StepResult"]

#: parameters every stepper takes from ``evolve`` itself (not options a person passes)
LOOP_PARAMETERS = ("self", "pde", "problem", "dt", "adaptive", "rng")


@dataclass
class StepResult:
    """Outcome of one accepted step: the new state, the step taken, and the next proposal."""

    state: Any
    dt: float
    dt_next: float


class Stepper:
    """Interface: ``step(state, t, dt_max)`` returns a :class:`StepResult` with ``dt ≤ dt_max``."""

    name = "abstract"
    order = 0
    #: the problem kind this stepper advances
    kind: ClassVar[str] = "pde"
    #: capabilities the problem must provide
    requires: ClassVar[tuple[str, ...]] = ()
    #: ``ceil(t_end/dt)`` equal steps (save times are rounded to steps)
    equal_steps: ClassVar[bool] = False
    #: whether the stepper draws random numbers from ``rng``
    stochastic: ClassVar[bool] = False
    #: whether an adaptive step is bounded by the problem's explicit stability limit (``stable_dt``), so that
    #: ``evolve`` can tell the number of steps before the run
    explicit: ClassVar[bool] = False
    #: classes that receive this stepper's ``**options`` (their keyword parameters are options too)
    forwards_options_to: ClassVar[tuple[type, ...]] = ()

    def __init__(self, pde: Any, dt: float | None = None, adaptive: bool = True):
        check_compatible(type(self), pde)
        self.pde = pde
        self.dt = dt
        self.adaptive = adaptive

    @property
    def problem(self) -> Any:
        """The problem this stepper advances (``pde`` is its historical name)."""
        return self.pde

    @classmethod
    def known_options(cls) -> tuple[str, ...]:
        """The options this stepper accepts (keyword parameters, without those ``evolve`` passes itself)."""
        cached = cls.__dict__.get("_known_options")
        if cached is not None:
            return cached
        names: list[str] = []
        for owner in (cls, *cls.forwards_options_to):
            init = owner.known_options() if isinstance(owner, type) and issubclass(owner, Stepper) and owner is not cls \
                else [p.name for p in inspect.signature(owner.__init__).parameters.values()
                      if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in LOOP_PARAMETERS]
            names += [n for n in init if n not in names]
        cls._known_options = tuple(names)  # signatures do not change: inspected once per class
        return cls._known_options

    def initial_dt(self, state: Any, t: float, t_end: float) -> float:
        return self.dt if self.dt is not None else (t_end - t) / 100

    def step(self, state: Any, t: float, dt_max: float) -> StepResult:
        raise NotImplementedError

    def checkpoint_state(self) -> dict[str, Any]:
        """JSON-serialisable state a resumed run needs to continue with the same steps (default: none)."""
        return {}

    def restore_state(self, saved: dict[str, Any]) -> None:
        """Take back what :meth:`checkpoint_state` returned."""


def check_compatible(stepper: type[Stepper], problem: Any) -> None:
    """``ValueError`` unless ``problem`` is of the stepper's kind and provides every capability it requires."""
    from ..problem import CAPABILITIES, Problem

    name = type(problem).__name__
    if not isinstance(problem, Problem):
        raise TypeError(f"stepper {stepper.name!r} advances a fieldflow.core.problem.Problem; got {name}")
    if problem.kind != stepper.kind:
        raise ValueError(f"stepper {stepper.name!r} advances {stepper.kind!r} problems but {name} is a "
                         f"{problem.kind!r} problem; {_choices(problem)}")
    missing = [c for c in stepper.requires if c not in problem.supports]
    if missing:
        needs = "; ".join(CAPABILITIES.get(c, c) for c in missing)
        raise ValueError(f"stepper {stepper.name!r} needs {needs}; {name} provides {sorted(problem.supports)}; "
                         f"{_choices(problem)}")


def _choices(problem: Any) -> str:
    from .registry import steppers_for

    return f"steppers for {type(problem).__name__}: {steppers_for(problem)}"
