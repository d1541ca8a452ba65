"""The stepper registry: every stepper :func:`fieldflow.evolve` can choose by name, in one explicit table.

Nothing registers itself by being imported: the table below names each stepper's module and class,
and :func:`make_stepper` imports the module when the stepper is first asked for.  :func:`make_stepper`
also checks the choice before the run: the problem must be of the stepper's kind and provide what it
``requires`` (``ValueError`` naming both and the steppers that fit), and every option must be one the
stepper knows (``TypeError`` naming the known ones).
"""

from __future__ import annotations

import importlib
from typing import Any

from .base import Stepper, check_compatible

__all__ = ["STEPPERS", "make_stepper", "stepper_class", "steppers_for"]

#: name -> (module, class) of every stepper known by name
STEPPERS: dict[str, tuple[str, str]] = {
    # grid PDEs
    "ssprk3": ("fieldflow.core.steppers.explicit", "SSPRK3"),
    "euler": ("fieldflow.core.steppers.implicit", "BackwardEuler"),
    "trbdf2": ("fieldflow.core.steppers.implicit", "TRBDF2"),
    "log-trbdf2": ("fieldflow.core.steppers.log_density", "LogTRBDF2"),
    "positive-trbdf2": ("fieldflow.core.steppers.positive", "PositiveTRBDF2"),
    "etdrk4": ("fieldflow.core.steppers.exponential", "ETDRK4"),
    # particle systems
    "forward-euler": ("fieldflow.core.steppers.particle", "ForwardEuler"),
    "heun": ("fieldflow.core.steppers.particle", "Heun"),
    "heun-energy": ("fieldflow.core.steppers.particle", "HeunEnergy"),
    "midpoint": ("fieldflow.core.steppers.particle", "ImplicitMidpoint"),
    "euler-maruyama": ("fieldflow.core.steppers.particle", "EulerMaruyama"),
    # step maps
    "step-map": ("fieldflow.core.steppers.particle", "StepMapStepper"),
}


def stepper_class(name: str) -> type[Stepper]:
    """The stepper class registered as ``name``; ``ValueError`` naming the known ones otherwise."""
    if name not in STEPPERS:
        raise ValueError(f"unknown method {name!r}; choose one of {sorted(STEPPERS)} or pass a Stepper")
    module, cls = STEPPERS[name]
    return getattr(importlib.import_module(module), cls)


def steppers_for(problem: Any) -> list[str]:
    """Names of the registered steppers that can advance ``problem`` (its kind, its capabilities)."""
    out = []
    for name in STEPPERS:
        cls = stepper_class(name)
        if cls.kind == problem.kind and all(c in problem.supports for c in cls.requires):
            out.append(name)
    return out


def make_stepper(method: str | Stepper | None, pde: Any, *, dt: float | None = None, adaptive: bool | None = None,
                 rng: Any = None, **options: Any) -> Stepper:
    """A stepper by name (see :data:`STEPPERS`; default ``pde.default_method``), or the given instance.

    ``dt``, ``adaptive`` and (for stochastic steppers) ``rng`` come from :func:`fieldflow.evolve`; ``options``
    are the stepper's own (``rtol``, ``cfl``, ``tol``, ...).  Raises ``ValueError`` for an unknown name or a
    stepper that cannot advance ``pde``, ``TypeError`` for an option the stepper does not know.
    """
    if isinstance(method, Stepper):
        check_compatible(type(method), pde)
        if options:
            raise TypeError(f"options {sorted(options)} cannot be applied to a Stepper instance; pass them to its "
                            "constructor or choose the stepper by name")
        return method
    name = method or pde.default_method
    cls = stepper_class(name)
    check_compatible(cls, pde)
    if method is None or method == pde.default_method:
        options = {**pde.stepper_options, **options}
    known = cls.known_options()
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(f"stepper {name!r} has no option {', '.join(map(repr, unknown))}; "
                        f"its options are {list(known)}")
    loop: dict[str, Any] = {"dt": dt}
    if adaptive is not None:
        loop["adaptive"] = adaptive
    if cls.stochastic:
        loop["rng"] = rng
    return cls(pde, **loop, **options)
