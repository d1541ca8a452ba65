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
from typing import Any

__version__ = "0.1.0"

# The function ``evolve`` shares its name with its module: bind it eagerly, so that a later
# ``import fieldflow.evolve`` (which would set the package attribute to the module) cannot shadow it.
from .evolve import StructureError, evolve  # noqa: E402

# name -> (module, attribute or None for the module itself)
_EXPORTS: dict[str, tuple[str, str | None]] = {
    # shared layer
    "set_backend": ("fieldflow.backend", "set_backend"),
    "get_backend": ("fieldflow.backend", "get_backend"),
    "get_fft": ("fieldflow.backend", "get_fft"),
    "Grid": ("fieldflow.grids", "Grid"),
    "Trajectory": ("fieldflow.trajectory", "Trajectory"),
    "backend": ("fieldflow.backend", None),
    "grids": ("fieldflow.grids", None),
    "densities": ("fieldflow.densities", None),
    "potentials": ("fieldflow.potentials", None),
    "convolve": ("fieldflow.convolve", None),
    "steppers": ("fieldflow.steppers", None),
    "metrics": ("fieldflow.metrics", None),
    "plotting": ("fieldflow.plotting", None),
    "sweep": ("fieldflow.sweep", None),
    "particles": ("fieldflow.particles", None),
    "pdes": ("fieldflow.pdes", None),
    "spectral": ("fieldflow.spectral", None),
    # equations
    "FokkerPlanck": ("fieldflow.pdes.fokker_planck", "FokkerPlanck"),
    "McKeanVlasov": ("fieldflow.pdes.mckean_vlasov", "McKeanVlasov"),
    "SVGDFlow": ("fieldflow.pdes.svgd", "SVGDFlow"),
    "LocalSVGDFlow": ("fieldflow.pdes.svgd", "LocalSVGDFlow"),
    "Landau": ("fieldflow.pdes.landau", "Landau"),
    "kernels": ("fieldflow.kernels", None),
    "interactions": ("fieldflow.interactions", None),
    "landau": ("fieldflow.landau", None),
    "polchinski": ("fieldflow.polchinski", None),
}

__all__ = sorted([*_EXPORTS, "evolve", "StructureError"]) + ["__version__"]


def __getattr__(name: str) -> Any:
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
