"""The stepper registry: every stepper :func:`fieldflow.evolve` can choose by name, in one explicit table.

Nothing registers itself by being imported: the table below names each stepper's module and class,
and :func:`make_stepper` imports the module when the stepper is first asked for.  :func:`make_stepper`
also checks the choice before the run: the problem must be of the stepper's kind and provide what it
``requires`` (``ValueError`` naming both and the steppers that fit), and every option must be one the
stepper knows (``TypeError`` naming the known ones).
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from typing import Any

from ..validation import SetupWarning, real_number, shown
from .base import Stepper, check_compatible

__all__ = ["STEPPERS", "OPTION_RANGES", "ADAPTIVE_ONLY_OPTIONS", "make_stepper", "default_method", "stepper_class",
           "steppers_for", "check_options"]

#: name -> (module, class) of every stepper known by name
STEPPERS: dict[str, tuple[str, str]] = {
    # grid PDEs
    "ssprk3": ("fieldflow.core.steppers.explicit", "SSPRK3"),
    "euler": ("fieldflow.core.steppers.implicit", "BackwardEuler"),
    "trbdf2": ("fieldflow.core.steppers.implicit", "TRBDF2"),
    "log-trbdf2": ("fieldflow.core.steppers.log_density", "LogTRBDF2"),
    "positive-trbdf2": ("fieldflow.core.steppers.positive", "PositiveTRBDF2"),
    "etdrk4": ("fieldflow.core.steppers.exponential", "ETDRK4"),
    "krylov-exp": ("fieldflow.core.steppers.krylov_exponential", "KrylovExponential"),
    # particle systems
    "forward-euler": ("fieldflow.core.steppers.particle", "ForwardEuler"),
    "heun": ("fieldflow.core.steppers.particle", "Heun"),
    "heun-energy": ("fieldflow.core.steppers.particle", "HeunEnergy"),
    "midpoint": ("fieldflow.core.steppers.particle", "ImplicitMidpoint"),
    "euler-maruyama": ("fieldflow.core.steppers.particle", "EulerMaruyama"),
    # step maps
    "step-map": ("fieldflow.core.steppers.particle", "StepMapStepper"),
}


#: what the numeric options steppers share may be (keywords of :func:`fieldflow.core.validation.real_number`)
OPTION_RANGES: dict[str, dict[str, Any]] = {
    "rtol": dict(positive=True), "atol": dict(nonnegative=True), "cfl": dict(positive=True, maximum=1.0),
    "tol": dict(positive=True), "newton_tol": dict(positive=True), "gmres_tol": dict(positive=True),
    "iterative_tol": dict(positive=True), "positivity_tol": dict(nonnegative=True),
    "max_newton": dict(integer=True, minimum=1), "direct_limit": dict(integer=True, minimum=0),
}

#: stepper -> options only its adaptive steps use (with ``adaptive=False`` they would be ignored)
ADAPTIVE_ONLY_OPTIONS: dict[str, tuple[str, ...]] = {
    "trbdf2": ("rtol", "atol", "positivity_tol"),
    "log-trbdf2": ("rtol", "atol", "positivity_tol"),
    "krylov-exp": ("max_dim",),
    "etdrk4": ("cfl",),
}


def check_options(name: str, options: dict[str, Any], adaptive: bool | None) -> dict[str, Any]:
    """``options`` of stepper ``name`` with their values checked against :data:`OPTION_RANGES`; a
    :class:`~fieldflow.core.validation.SetupWarning` for those fixed steps (``adaptive=False``) would ignore."""
    checked = {key: real_number(value, key, **OPTION_RANGES[key]) if key in OPTION_RANGES else value
               for key, value in options.items()}
    unused = [key for key in ADAPTIVE_ONLY_OPTIONS.get(name, ()) if key in options]
    if adaptive is False and unused:
        warnings.warn(f"stepper {name!r} with adaptive=False takes fixed steps and ignores {', '.join(unused)}; "
                      "drop them, or leave adaptive steps on", SetupWarning, stacklevel=4)
    return checked


def stepper_class(name: str) -> type[Stepper]:
    """The stepper class registered as ``name``; ``ValueError`` naming the known ones otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"method must be a stepper name (one of {sorted(STEPPERS)}) or a Stepper, got "
                        f"{shown(name)}")
    if name not in STEPPERS:
        close = difflib.get_close_matches(name, STEPPERS, n=1)
        raise ValueError(f"unknown method {name!r}; " + (f"did you mean {close[0]!r}? " if close else "")
                         + f"choose one of {sorted(STEPPERS)} or pass a Stepper")
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


def default_method(problem: Any, options: dict[str, Any]) -> str:
    """The stepper ``evolve(method=None, **options)`` uses: ``problem.default_method``, or the first of
    ``problem.alternative_methods`` that knows every option when the default does not (so that, e.g.,
    ``linear_solver=`` or ``error_norm=`` on a Fokker–Planck run, options of TR-BDF2 only, choose TR-BDF2)."""
    name = problem.default_method
    if set(options) <= set(stepper_class(name).known_options()):
        return name
    for alternative in getattr(problem, "alternative_methods", ()):
        if set(options) <= set(stepper_class(alternative).known_options()):
            return alternative
    return name


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
    name = method or default_method(pde, options)
    cls = stepper_class(name)
    check_compatible(cls, pde)
    known = cls.known_options()
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(f"stepper {name!r} has no option {', '.join(map(repr, unknown))}; "
                        f"its options are {list(known)}")
    options = check_options(name, options, adaptive)
    if method is None or method == pde.default_method:
        options = {**pde.stepper_options, **options}
    loop: dict[str, Any] = {"dt": dt}
    if adaptive is not None:
        loop["adaptive"] = adaptive
    if cls.stochastic:
        loop["rng"] = rng
    return cls(pde, **loop, **options)
