"""A strict CuPy stand-in for CPU machines: ``cupy``/``cupyx`` on NumPy, with CuPy's rules enforced.

Why.  Code written for "NumPy or CuPy" passes every NumPy test and still breaks on the first GPU: a
SciPy routine fed device arrays, a host array mixed into device arithmetic, a ``cupyx`` name the
installed release lacks.  This package makes those failures happen on the CPU, in the ordinary test
run, and counts what a GPU would pay for: every device→host read and host↔device copy, by the
fieldflow source line that caused it (:mod:`.ledger`).

The rules (each as CuPy enforces it, unless noted):

* implicit conversion of a device array to NumPy raises ``TypeError`` (``np.asarray``, SciPy calls);
* a host ``numpy.ndarray`` mixed into device arithmetic, ufuncs or ``cupy`` functions raises ``TypeError``;
* ``cupyx.scipy.sparse`` refuses SciPy matrices (stricter than CuPy, which would upload them: a copy of
  the whole matrix each time it is rebuilt);
* only the names of the recorded CuPy release exist, with their keyword arguments (``names.json``,
  written from the real wheel by ``generate_names.py``);
* reductions and single-element indexing return 0-d device arrays; ``float``/``bool``/``int``/``.item()``
  on them are counted syncs.

Under the stand-in ``cupy.random`` draws NumPy's streams (CuPy's differ), so seeded particle runs
reproduce their NumPy results exactly.

Use::

    from cupy_strict import installed
    with installed() as ledger:
        grid = Grid.box(64, 4.0, 2, backend="cupy")   # arrays are stand-in device arrays
        ...
        print(ledger.report())
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

from .ledger import LEDGER, SMALL, Ledger, counting
from .names import version

__all__ = ["install", "uninstall", "installed", "active", "LEDGER", "Ledger", "counting", "SMALL", "version"]

_saved: dict[str, object] | None = None


def _ours(name: str) -> bool:
    return name in ("cupy", "cupyx") or name.startswith(("cupy.", "cupyx.", "cupy_backends"))


def _forget_fieldflow_caches() -> None:
    """Drop fieldflow's cached CuPy FFT providers so they are rebuilt on the current ``cupy``."""
    backend = sys.modules.get("fieldflow.core.backend")
    if backend is not None:
        for key in [k for k in backend._providers if k[0] == "cupy"]:
            del backend._providers[key]


def install() -> Ledger:
    """Put the stand-in in ``sys.modules`` as ``cupy``/``cupyx`` (a real CuPy is set aside); returns the ledger."""
    global _saved
    if _saved is not None:
        return LEDGER
    from .modules import build

    _saved = {name: module for name, module in sys.modules.items() if _ours(name)}
    for name in _saved:
        del sys.modules[name]
    sys.modules.update(build())
    _forget_fieldflow_caches()
    LEDGER.reset()
    return LEDGER


def uninstall() -> None:
    """Remove the stand-in and restore whatever ``cupy`` was imported before."""
    global _saved
    if _saved is None:
        return
    for name in [n for n in sys.modules if _ours(n)]:
        del sys.modules[name]
    sys.modules.update(_saved)
    _saved = None
    _forget_fieldflow_caches()


def active() -> bool:
    return _saved is not None


@contextmanager
def installed() -> Iterator[Ledger]:
    """The stand-in for the duration of the block."""
    was = active()
    ledger = install()
    try:
        yield ledger
    finally:
        if not was:
            uninstall()
