"""Shared fixtures: every backend-aware test runs on NumPy, and on CuPy where a GPU is present."""

from __future__ import annotations

import importlib

import pytest


def _cupy_usable() -> bool:
    try:
        cupy = importlib.import_module("cupy")
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


CUPY = _cupy_usable()


@pytest.fixture(params=["numpy", pytest.param("cupy", marks=pytest.mark.skipif(not CUPY, reason="no CuPy/GPU here"))])
def backend(request) -> str:
    """Backend name; the CuPy case is skipped cleanly on machines without a GPU."""
    return request.param
