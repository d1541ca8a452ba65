"""fieldflow: grid-based solvers and spectral analysis for gradient flows of probability densities.

Top-level names are imported lazily (``fieldflow.FokkerPlanck`` imports only what it needs),
so ``import fieldflow`` is fast and never imports optional dependencies.

>>> import fieldflow as ff
>>> grid = ff.Grid.box(n=128, extent=6.0, dim=1)
>>> pde = ff.FokkerPlanck(grid, ff.potentials.Quadratic(1.0))
>>> traj = ff.evolve(pde, ff.densities.gaussian(grid, mean=2.0, cov=0.5), t_end=2.0, save_every=0.1)
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

__version__ = "0.2.0"

# The function ``evolve`` shares its name with the 0.1 module ``fieldflow.evolve``: bind it eagerly.
from .core.evolve import StructureError, evolve  # noqa: E402
from ._compat import _Moved, install as _install_old_paths, warn_moved as _warn_moved  # noqa: E402

_install_old_paths()


class _Package(ModuleType):
    """``fieldflow`` itself: importing a 0.1 path binds nothing to the package.

    ``import fieldflow.evolve`` (an old path) would otherwise replace the function ``fieldflow.evolve`` by
    a module, and ``import fieldflow.kernels`` would make ``fieldflow.kernels`` skip its warning.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, _Moved):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

# name -> (module, attribute or None for the module itself)
_EXPORTS: dict[str, tuple[str, str | None]] = {
    # the core
    "set_backend": ("fieldflow.core.backend", "set_backend"),
    "get_backend": ("fieldflow.core.backend", "get_backend"),
    "get_fft": ("fieldflow.core.backend", "get_fft"),
    "Grid": ("fieldflow.core.grids", "Grid"),
    "Trajectory": ("fieldflow.core.trajectory", "Trajectory"),
    "Problem": ("fieldflow.core.problem", "Problem"),
    "PDE": ("fieldflow.core.problem", "PDE"),
    "ParticleSystem": ("fieldflow.core.problem", "ParticleSystem"),
    "StepMap": ("fieldflow.core.problem", "StepMap"),
    "Particles": ("fieldflow.core.problem", "Particles"),
    "core": ("fieldflow.core", None),
    "backend": ("fieldflow.core.backend", None),
    "grids": ("fieldflow.core.grids", None),
    "convolve": ("fieldflow.core.convolve", None),
    "steppers": ("fieldflow.core.steppers", None),
    "metrics": ("fieldflow.core.metrics", None),
    "sweep": ("fieldflow.core.sweep", None),
    # shared targets and initial data, what a person touches
    "densities": ("fieldflow.densities", None),
    "potentials": ("fieldflow.potentials", None),
    "plotting": ("fieldflow.plotting", None),
    # the equation families
    "fokker_planck": ("fieldflow.fokker_planck", None),
    "svgd": ("fieldflow.svgd", None),
    "mckean_vlasov": ("fieldflow.mckean_vlasov", None),
    "landau": ("fieldflow.landau", None),
    "polchinski": ("fieldflow.polchinski", None),
    # the equations every study starts from
    "FokkerPlanck": ("fieldflow.fokker_planck", "FokkerPlanck"),
    "SVGDFlow": ("fieldflow.svgd", "SVGDFlow"),
    "McKeanVlasov": ("fieldflow.mckean_vlasov", "McKeanVlasov"),
    "Landau": ("fieldflow.landau", "Landau"),
}

#: 0.1 names, kept for one release with a ``DeprecationWarning``: name -> (module, attribute)
_DEPRECATED: dict[str, tuple[str, str | None]] = {
    "LocalSVGDFlow": ("fieldflow.svgd", "LocalSVGDFlow"),
    "kernels": ("fieldflow.svgd.kernels", None),
    "interactions": ("fieldflow.mckean_vlasov.interactions", None),
    "spectral": ("fieldflow.mckean_vlasov", None),
    "pdes": ("fieldflow.pdes", None),
    "particles": ("fieldflow.particles", None),
}

__all__ = sorted([*_EXPORTS, "evolve", "StructureError"]) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        module, attr = _DEPRECATED[name]
        mod = importlib.import_module(module)  # an old package path warns itself
        if not module.startswith(f"fieldflow.{name}"):
            _warn_moved(f"fieldflow.{name}", module if attr is None else f"{module}.{attr}")
        return mod if attr is None else getattr(mod, attr)
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'fieldflow' has no attribute {name!r}") from None
    mod = importlib.import_module(module)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
