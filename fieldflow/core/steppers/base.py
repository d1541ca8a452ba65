"""The stepper interface: one step of a problem's state, and the next step size it proposes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..problem import PDE

__all__ = ["Stepper", "StepResult"]


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

    def __init__(self, pde: PDE, dt: float | None = None, adaptive: bool = True, **options: Any):
        self.pde = pde
        self.dt = dt
        self.adaptive = adaptive
        self.options = options

    def initial_dt(self, state: Any, t: float, t_end: float) -> float:
        return self.dt if self.dt is not None else (t_end - t) / 100

    def step(self, state: Any, t: float, dt_max: float) -> StepResult:
        raise NotImplementedError
