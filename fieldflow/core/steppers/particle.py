"""Steppers of particle systems and step maps: equal steps ``dt``, explicit, implicit-midpoint and stochastic.

For a :class:`~fieldflow.core.problem.ParticleSystem` ``dX = u(X, t) dt + √(2D) dB`` with weights ``w``
(``u`` = ``problem.drift``, ``D`` = ``problem.diffusion``), one step of size ``h`` from ``X``:

``"forward-euler"`` (order 1)
    ``X + h u(X)`` — plain SVGD with ``ε = h``, the Euler step of the Landau particle papers.
``"heun"`` (order 2)
    ``X + h/2 [u(X) + u(X + h u(X))]`` (explicit trapezoidal rule).
``"heun-energy"`` (order 2)
    Heun, then the velocities are rescaled about their weighted mean, ``X ← X̄ + λ(X − X̄)``, so that
    ``Σ w|X|²`` keeps its value from the start of the step.  For systems whose ODE conserves ``Σw``, ``Σ wX``
    and ``Σ w|X|²`` (capability ``"kinetic_energy"``: the Landau particle methods) the mean is exact and the
    rescaling changes ``X`` by Heun's ``O(h³)`` energy error, so the order is kept and mass, momentum and
    energy are conserved to round-off.
``"midpoint"`` (order 2)
    Implicit midpoint ``X⁺ = X + h u((X + X⁺)/2)`` by fixed-point iteration to ``max|ΔX| ≤ tol·max|X|``
    (at most ``max_iter`` iterations; it converges for ``h·Lip(u) < 2``).  It preserves every quadratic
    invariant of the ODE, so energy is conserved without correction.
``"euler-maruyama"`` (weak order 1, strong order ½)
    ``X + h u(X) + √(2Dh) ξ``, ``ξ ~ N(0, I)`` drawn from the generator ``evolve(seed=...)`` makes.

Every particle stepper calls ``problem.prepare_step(state, t)`` first, advances the extras by one
forward-Euler step of ``problem.extra_rates(state, t)`` and maps the positions back with
``problem.wrap``; a step ``dt ≥ problem.stable_dt`` is refused before the run, and non-finite positions
stop it with ``FloatingPointError``.

``"step-map"`` advances a :class:`~fieldflow.core.problem.StepMap` by its own ``step(state, t, dt)``.
"""

from __future__ import annotations

import math
from typing import Any

from ..backend import namespace_of
from ..problem import Particles
from .base import Stepper, StepResult

__all__ = ["ParticleStepper", "ForwardEuler", "Heun", "HeunEnergy", "ImplicitMidpoint", "EulerMaruyama",
           "StepMapStepper", "restore_kinetic_energy"]


class _EqualSteps(Stepper):
    """A fixed step ``dt`` (``evolve`` takes ``ceil(t_end/dt)`` equal steps)."""

    equal_steps = True

    def __init__(self, problem: Any, dt: float | None = None, adaptive: bool = False):
        super().__init__(problem, dt, adaptive)
        if dt is None or adaptive:
            raise ValueError(f"stepper {self.name!r} takes equal steps: pass a fixed dt (evolve(..., dt=...)) "
                             "and no adaptive=True")

    def initial_dt(self, state: Any, t: float, t_end: float) -> float:
        return self.dt


class ParticleStepper(_EqualSteps):
    """Shared by the particle steppers: the step check, ``prepare_step``, the extras, ``wrap``, finiteness."""

    kind = "particles"
    requires = ("deterministic",)

    def initial_dt(self, state: Particles, t: float, t_end: float) -> float:
        limit = self.pde.stable_dt(state, t)
        if self.dt >= limit:
            raise ValueError(f"dt={self.dt:g} is unstable for {type(self.pde).__name__}: its stability limit "
                             f"(stable_dt) is {limit:.3g}; use dt ≤ {0.5 * limit:.3g}")
        return self.dt

    def move(self, state: Particles, t: float, h: float) -> Any:
        """The new positions (without ``wrap``)."""
        raise NotImplementedError

    def step(self, state: Particles, t: float, dt_max: float) -> StepResult:
        problem, h = self.pde, dt_max
        problem.prepare_step(state, t)
        rates = problem.extra_rates(state, t)
        x = problem.wrap(self.move(state, t, h))
        xp = namespace_of(x)
        if not bool(xp.all(xp.isfinite(x))):
            raise FloatingPointError(f"particles became non-finite at t={t + h:.4g}; reduce dt")
        extras = {name: state.extras[name] + h * rate for name, rate in rates.items()}
        return StepResult(state.replace(x, extras), h, h)


class ForwardEuler(ParticleStepper):
    """``X + h u(X)``."""

    name = "forward-euler"
    order = 1

    def move(self, state, t, h):
        return state.x + h * self.pde.drift(state, t)


class Heun(ParticleStepper):
    """``X + h/2 [u(X) + u(X + h u(X))]``."""

    name = "heun"
    order = 2

    def move(self, state, t, h):
        u0 = self.pde.drift(state, t)
        return state.x + 0.5 * h * (u0 + self.pde.drift(state.replace(state.x + h * u0), t + h))


def restore_kinetic_energy(x: Any, w: Any, energy: float) -> Any:
    """Rescale ``x`` about its weighted mean so that ``Σ w|x|² = energy``.

    ``x ← x̄ + λ(x − x̄)`` keeps ``Σw`` and ``Σwx``; unchanged when the thermal part or its target is not positive.
    """
    xp = namespace_of(x)
    mass = float(xp.sum(w))
    mean = xp.sum(w[:, None] * x, axis=0) / mass
    thermal = float(xp.sum(w * xp.sum((x - mean) ** 2, axis=1)))
    target = energy - mass * float(xp.sum(mean * mean))
    if not (thermal > 0 and target > 0):
        return x
    return mean + math.sqrt(target / thermal) * (x - mean)


class HeunEnergy(Heun):
    """Heun, then :func:`restore_kinetic_energy` to the energy at the start of the step."""

    name = "heun-energy"
    requires = ("deterministic", "kinetic_energy")

    def move(self, state, t, h):
        xp = namespace_of(state.x)
        energy = float(xp.sum(state.weights * xp.sum(state.x * state.x, axis=1)))
        return restore_kinetic_energy(super().move(state, t, h), state.weights, energy)


class ImplicitMidpoint(ParticleStepper):
    """``X⁺ = X + h u((X + X⁺)/2)`` by fixed-point iteration (``tol`` relative to ``max|X|``, ``max_iter``)."""

    name = "midpoint"
    order = 2

    def __init__(self, problem: Any, dt: float | None = None, adaptive: bool = False, tol: float = 1e-14,
                 max_iter: int = 60):
        super().__init__(problem, dt, adaptive)
        if not (tol > 0 and max_iter >= 1):
            raise ValueError(f"midpoint needs tol > 0 and max_iter ≥ 1, got tol={tol!r}, max_iter={max_iter!r}")
        self.tol, self.max_iter = float(tol), int(max_iter)

    def move(self, state, t, h):
        x, drift = state.x, self.pde.drift
        xp = namespace_of(x)
        scale = float(xp.max(xp.abs(x)))
        new = x + h * drift(state, t)
        for _ in range(self.max_iter):
            nxt = x + h * drift(state.replace(0.5 * (x + new)), t + 0.5 * h)
            change = float(xp.max(xp.abs(nxt - new)))
            new = nxt
            if change <= self.tol * scale:
                return new
        raise FloatingPointError(f"the implicit-midpoint iteration did not converge in {self.max_iter} iterations "
                                 f"(last change {change:.2e}); reduce dt")


class EulerMaruyama(ParticleStepper):
    """``X + h u(X) + √(2Dh) ξ`` with ``ξ`` from ``rng`` (the generator of ``evolve(seed=...)``)."""

    name = "euler-maruyama"
    order = 1
    requires = ("noise",)
    stochastic = True

    def __init__(self, problem: Any, dt: float | None = None, adaptive: bool = False, rng: Any = None):
        super().__init__(problem, dt, adaptive)
        if rng is None:
            raise ValueError("euler-maruyama draws random numbers: run it through evolve(..., seed=...)")
        self.rng = rng

    def move(self, state, t, h):
        x = state.x
        return x + h * self.pde.drift(state, t) + math.sqrt(2 * self.pde.diffusion * h) * self.rng.standard_normal(x.shape)


class StepMapStepper(_EqualSteps):
    """``state ↦ problem.step(state, t, dt)`` at equal steps."""

    name = "step-map"
    kind = "map"

    def step(self, state: Any, t: float, dt_max: float) -> StepResult:
        return StepResult(self.pde.step(state, t, dt_max), dt_max, dt_max)
