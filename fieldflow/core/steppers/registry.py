"""The stepper registry: every stepper :func:`fieldflow.evolve` can choose by name, in one explicit table.

Nothing registers itself by being imported: the table below names each stepper's module and class,
and :func:`make_stepper` imports the module when the stepper is first asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..problem import PDE
from .base import Stepper

__all__ = ["STEPPERS", "make_stepper", "stepper_class"]

#: name -> (module, class) of every stepper known by name
STEPPERS: dict[str, tuple[str, str]] = {
    "ssprk3": ("fieldflow.core.steppers.explicit", "SSPRK3"),
    "euler": ("fieldflow.core.steppers.implicit", "BackwardEuler"),
    "trbdf2": ("fieldflow.core.steppers.implicit", "TRBDF2"),
    "log-trbdf2": ("fieldflow.core.steppers.log_density", "LogTRBDF2"),
    "etdrk4": ("fieldflow.core.steppers.exponential", "ETDRK4"),
}


def stepper_class(name: str) -> type[Stepper]:
    """The stepper class registered as ``name``; ``ValueError`` naming the known ones otherwise."""
    if name not in STEPPERS:
        raise ValueError(f"unknown method {name!r}; choose one of {sorted(STEPPERS)} or pass a Stepper")
    module, cls = STEPPERS[name]
    return getattr(importlib.import_module(module), cls)


def make_stepper(method: str | Stepper | None, pde: PDE, **options: Any) -> Stepper:
    """A stepper by name (see :data:`STEPPERS`; default ``pde.default_method``), or the given instance."""
    if isinstance(method, Stepper):
        return method
    return stepper_class(method or pde.default_method)(pde, **options)
