"""Device→host reads gathered: the scalar results of a step come back in one transfer.

On a GPU every ``float(x)`` of a device scalar is a synchronisation (~10 µs of latency, and the
device idles while the host waits).  A diagnostics sample of ``evolve`` asks for several integrals —
mass, free energy, KL, moments — each through :meth:`~fieldflow.core.grids.Grid.integrate`.  Inside
:func:`deferred_scalars` that method returns the integral as a 0-d array of the grid's namespace
instead of a float, so the sample is built on the device, and :func:`gather` brings every such value
back with one read.  On NumPy nothing changes (``integrate`` keeps returning floats).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

import numpy as np

from .backend import namespace_of, to_numpy

__all__ = ["deferred_scalars", "deferring", "gather", "sample_diagnostics"]

_DEFERRED: ContextVar[bool] = ContextVar("fieldflow_deferred_scalars", default=False)


@contextmanager
def deferred_scalars() -> Iterator[None]:
    """Within the block, reductions that would return a float to the host may return a device scalar."""
    token = _DEFERRED.set(True)
    try:
        yield
    finally:
        _DEFERRED.reset(token)


def deferring() -> bool:
    """Whether the caller is inside :func:`deferred_scalars`."""
    return _DEFERRED.get()


def _on_device(value: Any) -> bool:
    return namespace_of(value).__name__ != "numpy"


def gather(values: dict[str, Any]) -> dict[str, float]:
    """``values`` with every device scalar replaced by a float, read back in a single transfer."""
    device = [name for name, value in values.items() if _on_device(value)]
    out = {name: float(value) for name, value in values.items() if name not in device}
    if device:
        xp = namespace_of(values[device[0]])
        host = to_numpy(xp.stack([xp.asarray(values[name], dtype=float).reshape(()) for name in device]))
        out.update({name: float(v) for name, v in zip(device, host)})
    return {name: out[name] for name in values}


def sample_diagnostics(problem: Any, state: Any, t: float) -> dict[str, float]:
    """``problem.diagnostics(state, t)`` as floats; a grid problem's integrals are read back in one transfer."""
    grid = getattr(problem, "grid", None)
    if grid is None:
        return problem.diagnostics(state, t)
    with deferred_scalars():
        values = problem.diagnostics(state, t)
    return values if grid.xp is np else gather(values)
