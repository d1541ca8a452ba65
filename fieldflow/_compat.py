"""Import paths of fieldflow 0.1, kept for one release with a ``DeprecationWarning``.

fieldflow 0.2 moved every module into the core (``fieldflow.core``) or into the package of its
equation family (``fieldflow.fokker_planck``, ``fieldflow.svgd``, ``fieldflow.mckean_vlasov``,
``fieldflow.landau``, ``fieldflow.polchinski``).  A study script written against 0.1 still runs:
importing an old module path (``fieldflow.pdes.svgd``, ``fieldflow.spectral``, ``fieldflow.kernels``,
...) returns a stand-in that forwards every attribute to the new module and warns once with the new
path.  :data:`MOVED` is the whole table.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType
from typing import Any

__all__ = ["MOVED", "install"]

#: old module path -> new module path (``None``: an old package that only held submodules)
MOVED: dict[str, str | None] = {
    "fieldflow.backend": "fieldflow.core.backend",
    "fieldflow.grids": "fieldflow.core.grids",
    "fieldflow.convolve": "fieldflow.core.convolve",
    "fieldflow.finite_volume": "fieldflow.core.finite_volume",
    "fieldflow.steppers": "fieldflow.core.steppers",
    "fieldflow.steppers_etd": "fieldflow.core.steppers.exponential",
    "fieldflow.evolve": "fieldflow.core.evolve",
    "fieldflow.trajectory": "fieldflow.core.trajectory",
    "fieldflow.sweep": "fieldflow.core.sweep",
    "fieldflow.metrics": "fieldflow.core.metrics",
    "fieldflow.pdes": "fieldflow.core.problem",
    "fieldflow.pdes.base": "fieldflow.core.problem",
    "fieldflow.pdes.log_density": "fieldflow.core.steppers.log_density",
    "fieldflow.pdes.fokker_planck": "fieldflow.fokker_planck.pde",
    "fieldflow.pdes.fokker_planck_time": "fieldflow.fokker_planck.time_dependent",
    "fieldflow.pdes.svgd": "fieldflow.svgd.pde",
    "fieldflow.pdes.mckean_vlasov": "fieldflow.mckean_vlasov.pde",
    "fieldflow.pdes.linearized_mckean_vlasov": "fieldflow.mckean_vlasov.linearized_pde",
    "fieldflow.pdes.landau": "fieldflow.landau.pde",
    "fieldflow.particles": None,
    "fieldflow.particles.loop": "fieldflow.core.particle_loop",
    "fieldflow.particles.langevin": "fieldflow.fokker_planck.langevin",
    "fieldflow.particles.svgd": "fieldflow.svgd.particles",
    "fieldflow.particles.interacting": "fieldflow.mckean_vlasov.particles",
    "fieldflow.particles.landau": "fieldflow.landau.particles",
    "fieldflow.kernels": "fieldflow.svgd.kernels",
    "fieldflow.slsi": "fieldflow.svgd.slsi",
    "fieldflow.interactions": "fieldflow.mckean_vlasov.interactions",
    "fieldflow.spectral": "fieldflow.mckean_vlasov",
    "fieldflow.spectral.stationary": "fieldflow.mckean_vlasov.stationary",
    "fieldflow.spectral.phase": "fieldflow.mckean_vlasov.phase",
    "fieldflow.spectral.linearized": "fieldflow.mckean_vlasov.linearized",
    "fieldflow.spectral.gap_map": "fieldflow.mckean_vlasov.gap_map",
    "fieldflow.spectral.relaxation": "fieldflow.mckean_vlasov.relaxation",
    "fieldflow.bimaxwellian": "fieldflow.landau.bimaxwellian",
}

_PACKAGES = {name.rsplit(".", 1)[0] for name in MOVED if name.count(".") > 1}


def warn_moved(old: str, new: str | None, stacklevel: int = 3) -> None:
    """The one ``DeprecationWarning`` text for an old path."""
    where = f"; use {new}" if new else " (its modules moved to the core and the equation families)"
    warnings.warn(f"{old} is deprecated since fieldflow 0.2 and will be removed in 0.3{where}",
                  DeprecationWarning, stacklevel=stacklevel)


def legacy_result(traj: Any, like: Any) -> tuple[Any, list[Any]]:
    """What the 0.1 ``simulate`` functions returned: the save times after ``0`` and the states there, as arrays of
    ``like``'s namespace (NumPy or CuPy)."""
    from .core.backend import namespace_of

    xp = namespace_of(like)
    return traj.times[1:], [xp.asarray(state) for state in traj.states[1:]]


class _Moved(ModuleType):
    """Stand-in for an old module path: forwards attributes (and old submodules) to the new module."""

    def __init__(self, name: str, target: str | None):
        super().__init__(name, f"moved to {target}" if target else "moved")
        self.__dict__["_target"] = target
        if name in _PACKAGES:
            self.__path__ = []  # submodules are found by the finder below

    def __getattr__(self, attr: str) -> Any:
        sub = f"{self.__name__}.{attr}"
        if sub in MOVED:
            return importlib.import_module(sub)
        target = self.__dict__["_target"]
        if target is None or attr.startswith("__"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}")
        return getattr(importlib.import_module(target), attr)

    def __dir__(self) -> list[str]:
        target = self.__dict__["_target"]
        return sorted(set(dir(importlib.import_module(target))) if target else set())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # ``import fieldflow.evolve`` binds this stand-in to the package attribute ``fieldflow.evolve``,
        # which is also the function: keep ``fieldflow.evolve(...)`` working after such an import
        if self.__name__ == "fieldflow.evolve":
            from .core.evolve import evolve

            return evolve(*args, **kwargs)
        raise TypeError(f"module {self.__name__!r} is not callable")


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=fullname in _PACKAGES)

    def create_module(self, spec: Any) -> ModuleType:
        return _Moved(spec.name, MOVED[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        warn_moved(module.__name__, MOVED[module.__name__], stacklevel=3)


def install() -> None:
    """Put the finder of old paths first on ``sys.meta_path`` (idempotent)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
