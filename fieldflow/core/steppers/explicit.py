"""Explicit steppers: strong-stability-preserving Runge–Kutta under the problem's stability limit."""

from __future__ import annotations

import math
from typing import Any

from ..problem import PDE
from ..validation import integer, real_number
from .base import Stepper, StepResult

__all__ = ["SSPRK3", "MAX_EXPLICIT_STEPS"]

#: an explicit run projected to take more steps than this is refused before its first step
MAX_EXPLICIT_STEPS = 10_000_000


class SSPRK3(Stepper):
    """Third-order SSP Runge–Kutta with ``dt ≤ cfl · pde.stable_dt(state)``.

    Before the first step the run's length is projected from the step it will take — the stability limit
    ``cfl · stable_dt`` at the initial state (adaptive) or the given ``dt`` (fixed) — and a run of more than
    ``max_explicit_steps`` steps (default :data:`~fieldflow.core.steppers.explicit.MAX_EXPLICIT_STEPS`, 10⁷)
    stops at once with a ``ValueError`` naming the limit and an implicit method: a stiff problem (e.g. a
    log-form scheme on a large box, whose tails set the limit) would otherwise run for days with no warning.
    """

    name = "ssprk3"
    order = 3
    requires = ("stable_dt",)
    explicit = True

    def __init__(self, pde: PDE, dt: float | None = None, adaptive: bool = True, cfl: float = 0.9,
                 max_explicit_steps: int = MAX_EXPLICIT_STEPS):
        super().__init__(pde, dt, adaptive)
        cfl = real_number(cfl, "cfl", positive=True, maximum=1, hint="the fraction of the stability limit a step takes")
        max_explicit_steps = integer(max_explicit_steps, "max_explicit_steps", minimum=1,
                                     hint="the most steps an explicit run may take before it is refused")
        self.cfl = cfl
        self.max_explicit_steps = max_explicit_steps

    def _limit(self, state: Any, t: float) -> float:
        return self.cfl * self.pde.stable_dt(state, t)

    def _check_length(self, step: float, limit: float, t: float, t_end: float) -> None:
        """``ValueError`` when ``(t_end − t)/step`` exceeds ``max_explicit_steps``."""
        steps = (t_end - t) / step if step > 0 else math.inf
        if steps <= self.max_explicit_steps:
            return
        name = type(self.pde).__name__
        implicit = self.pde.default_method if self.pde.default_method != self.name else "trbdf2"
        raise ValueError(
            f"{name} with the explicit method 'ssprk3' would take about {steps:.2e} steps to reach t={t_end:g}: "
            f"its stability limit is dt ≤ {limit:.3e} (cfl={self.cfl} × stable_dt at t={t:g}), and more than "
            f"{self.max_explicit_steps:.0e} explicit steps are refused; use evolve(..., method={implicit!r}), "
            f"whose step is not limited by stability (or raise max_explicit_steps)"
        )

    def initial_dt(self, state, t, t_end):
        limit = self._limit(state, t)
        if self.dt is not None:
            if self.dt > limit * (1 + 1e-12):
                raise ValueError(
                    f"dt={self.dt:.3e} is above the explicit stability limit {limit:.3e} "
                    f"(cfl={self.cfl} × stable_dt); use dt ≤ {limit:.3e} or an implicit method ('trbdf2')"
                )
            self._check_length(self.dt, limit, t, t_end)
            return self.dt
        self._check_length(limit, limit, t, t_end)
        return min(limit, t_end - t)

    def step(self, state, t, dt_max):
        limit = self._limit(state, t)
        dt = min(dt_max, limit) if self.adaptive else dt_max
        f = self.pde.rhs
        u1 = state + dt * f(state, t)
        u2 = 0.75 * state + 0.25 * (u1 + dt * f(u1, t + dt))
        u3 = state / 3 + (2 / 3) * (u2 + dt * f(u2, t + 0.5 * dt))
        return StepResult(u3, dt, self._limit(u3, t + dt) if self.adaptive else (self.dt or dt))
