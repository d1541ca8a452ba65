"""Shared fixtures: every backend-aware test runs on NumPy, on the strict CuPy stand-in, and on CuPy where a GPU is present.

``backend`` yields the name a grid takes (``"numpy"`` or ``"cupy"``).  Its ``cupy-strict`` case swaps
the stand-in of :mod:`cupy_strict` in for ``cupy``/``cupyx`` (NumPy underneath, CuPy's rules enforced,
host↔device traffic counted) for the duration of the test, so the CuPy code paths run on every
machine; the ``cupy`` case needs a real GPU and is skipped cleanly without one.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the stand-in package ``cupy_strict``

import cupy_strict  # noqa: E402


def _cupy_usable() -> bool:
    try:
        cupy = importlib.import_module("cupy")
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


CUPY = _cupy_usable()


@pytest.fixture
def strict_cupy():
    """The strict stand-in installed as ``cupy`` for one test; yields its :class:`cupy_strict.Ledger`."""
    with cupy_strict.installed() as ledger:
        yield ledger


@pytest.fixture(params=["numpy", "cupy-strict",
                        pytest.param("cupy", marks=pytest.mark.skipif(not CUPY, reason="no CuPy/GPU here"))])
def backend(request) -> str:
    """Backend name for ``Grid(..., backend=...)``; ``cupy-strict`` runs ``"cupy"`` on the stand-in."""
    if request.param == "cupy-strict":
        request.getfixturevalue("strict_cupy")
        return "cupy"
    return request.param


#: lines for the terminal summary: (test id, message), filled by the strict solver tests
SYNC_REPORT: list[tuple[str, str]] = []


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if SYNC_REPORT:
        terminalreporter.section("host↔device traffic per steady step under the strict CuPy stand-in")
        for test, line in SYNC_REPORT:
            terminalreporter.write_line(f"{test}: {line}")
