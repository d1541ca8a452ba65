"""Counts of host↔device traffic under the stand-in, by kind and by the fieldflow source line that caused it.

Kinds:

``sync``
    a device→host read of at most :data:`SMALL` numbers (``float(x)``, ``bool(x)``, ``x.item()``,
    ``x.get()`` of a Krylov coefficient vector, a data-dependent output size such as ``x[mask]``):
    on a GPU its cost is one round trip (~10 µs), not the bytes.
``d2h``
    a device→host copy of an array of more than :data:`SMALL` numbers (``x.get()``, ``cupy.asnumpy``, ``print(x)``).
``upload``
    a host→device copy of at most :data:`SMALL` numbers (``cupy.asarray(3.0)``, the coefficients of a Krylov update).
``h2d``
    a host→device copy of more than :data:`SMALL` numbers (``cupy.asarray(numpy_array)``, a SciPy-factorised matrix).

A steady time step of a GPU-clean solver has ``d2h == h2d == 0``; its ``sync`` count is its latency bill.
"""

from __future__ import annotations

import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: transfers of at most this many numbers are latency-bound reads/writes, not array copies (a GMRES(50)
#: Hessenberg column has at most 52)
SMALL = 64
KINDS = ("sync", "d2h", "upload", "h2d")

_HERE = str(Path(__file__).resolve().parent)


def _package_root() -> str:
    """The repository root (``tests/cupy_strict`` sits two levels below it, next to ``fieldflow/``)."""
    return str(Path(__file__).resolve().parents[2])


class Ledger:
    """Event counter: ``counts[kind]``, ``where[kind][\"fieldflow/...py:line\"]`` and ``elements[kind]``."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.elements: Counter = Counter()
        self.where: dict[str, Counter] = {kind: Counter() for kind in KINDS}
        self._root: str | None = None
        #: an exception class raised by device→host reads (``cupyx.allow_synchronize(False)``), or None
        self.forbid: type[Exception] | None = None

    def reset(self) -> None:
        self.counts.clear()
        self.elements.clear()
        for counter in self.where.values():
            counter.clear()

    def record(self, direction: str, size: int) -> None:
        """Count one transfer of ``size`` numbers; ``direction`` is ``"d2h"`` or ``"h2d"``."""
        small = size <= SMALL
        if direction == "d2h" and self.forbid is not None:
            raise self.forbid(f"device→host read of {size} numbers inside cupyx.allow_synchronize(False)")
        kind = ("sync" if small else "d2h") if direction == "d2h" else ("upload" if small else "h2d")
        self.counts[kind] += 1
        self.elements[kind] += size
        self.where[kind][self._caller()] += 1

    def _caller(self) -> str:
        """``path:line`` of the innermost frame in fieldflow (else the innermost frame outside the stand-in)."""
        if self._root is None:
            self._root = _package_root()
        frame = sys._getframe(2)
        outside = None
        while frame is not None:
            filename = frame.f_code.co_filename
            if frame.f_code.co_name == "to_numpy" and filename.endswith("core/backend.py"):
                frame = frame.f_back  # a pass-through: the read belongs to its caller
                continue
            if not filename.startswith(_HERE):
                if filename.startswith(self._root + "/fieldflow/"):
                    return f"{Path(filename).relative_to(self._root)}:{frame.f_lineno}"
                if outside is None:
                    outside = f"{Path(filename).name}:{frame.f_lineno}"
            frame = frame.f_back
        return outside or "?"

    def snapshot(self) -> dict[str, int]:
        return {kind: self.counts[kind] for kind in KINDS}

    def report(self, kinds: tuple[str, ...] = KINDS, top: int = 6) -> str:
        """One line per kind: the count and the busiest source lines."""
        lines = []
        for kind in kinds:
            if self.counts[kind]:
                spots = ", ".join(f"{where} ×{n}" for where, n in self.where[kind].most_common(top))
                lines.append(f"{kind}: {self.counts[kind]} ({spots})")
        return "; ".join(lines) or "no host↔device traffic"


#: the ledger of the installed stand-in
LEDGER = Ledger()


@contextmanager
def counting() -> Iterator[Ledger]:
    """A fresh count of what happens inside the block (the global ledger is reset on entry)."""
    LEDGER.reset()
    yield LEDGER
