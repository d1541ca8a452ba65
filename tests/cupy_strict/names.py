"""The recorded namespace of the real CuPy release (``names.json``, written by ``generate_names.py``)."""

from __future__ import annotations

import json
from pathlib import Path

NAMES: dict = json.loads(Path(__file__).with_name("names.json").read_text(encoding="utf-8"))


def version() -> str:
    """The CuPy release the names were recorded from."""
    return NAMES["cupy_version"]


def spec(module: str, name: str) -> dict | None:
    """What the release has under ``module.name`` (``None``: no such name)."""
    return NAMES["modules"].get(module, {}).get(name)
