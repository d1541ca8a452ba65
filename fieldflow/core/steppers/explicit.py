"""Explicit steppers: strong-stability-preserving Runge–Kutta under the problem's stability limit."""

from __future__ import annotations

from typing import Any

from ..problem import PDE
from ..validation import real_number
from .base import Stepper, StepResult

__all__ = ["SSPRK3"]


class SSPRK3(Stepper):
    """Third-order SSP Runge–Kutta with ``dt ≤ cfl · pde.stable_dt(state)``."""

    name = "ssprk3"
    order = 3
    requires = ("stable_dt",)
    explicit = True

    def __init__(self, pde: PDE, dt: float | None = None, adaptive: bool = True, cfl: float = 0.9):
        super().__init__(pde, dt, adaptive)
        cfl = real_number(cfl, "cfl", positive=True, maximum=1, hint="the fraction of the stability limit a step takes")
        self.cfl = cfl

    def _limit(self, state: Any, t: float) -> float:
        return self.cfl * self.pde.stable_dt(state, t)

    def initial_dt(self, state, t, t_end):
        limit = self._limit(state, t)
        if self.dt is not None:
            if self.dt > limit * (1 + 1e-12):
                raise ValueError(
                    f"dt={self.dt:.3e} is above the explicit stability limit {limit:.3e} "
                    f"(cfl={self.cfl} × stable_dt); use dt ≤ {limit:.3e} or an implicit method ('trbdf2')"
                )
            return self.dt
        return min(limit, t_end - t)

    def step(self, state, t, dt_max):
        limit = self._limit(state, t)
        dt = min(dt_max, limit) if self.adaptive else dt_max
        f = self.pde.rhs
        u1 = state + dt * f(state, t)
        u2 = 0.75 * state + 0.25 * (u1 + dt * f(u1, t + dt))
        u3 = state / 3 + (2 / 3) * (u2 + dt * f(u2, t + 0.5 * dt))
        return StepResult(u3, dt, self._limit(u3, t + dt) if self.adaptive else (self.dt or dt))
