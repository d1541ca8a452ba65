"""The studies: one module per published result we reproduce.

Each study module defines

* ``TITLE`` — one line;
* ``DEFAULT`` — whether ``fieldflow run --default`` includes it;
* ``run(out: Path, quick: bool = True) -> dict[str, str]`` — writes its figures (PNG) and tables
  (CSV) into ``out`` and returns a short summary (name → one line) for the end-of-run screen.

Studies are discovered from this package, so adding one is adding a module.  The scripts in
the repository's top-level ``studies/`` folder run the same modules (``python studies/NAME.py``).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

__all__ = ["available", "load"]


def available() -> dict[str, ModuleType]:
    """All study modules by name."""
    out = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            out[info.name] = importlib.import_module(f"{__name__}.{info.name}")
    return out


def load(name: str) -> ModuleType:
    """The study module ``name``; ``ValueError`` naming the available ones otherwise."""
    studies = available()
    if name not in studies:
        raise ValueError(f"no study {name!r}; available: {', '.join(sorted(studies))}")
    return studies[name]
