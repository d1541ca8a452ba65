"""Matplotlib figures used by the studies (the ``Agg`` backend is used when no display is set)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import numpy as np

__all__ = ["pyplot", "plot_series", "save_figure"]


def pyplot() -> Any:
    """``matplotlib.pyplot``, switched to the non-interactive ``Agg`` backend on a headless machine."""
    import matplotlib

    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_series(t: np.ndarray, series: Mapping[str, np.ndarray], ax: Any = None, logy: bool = True,
                **kwargs: Any) -> Any:
    """Plot named time series against ``t`` on one axes (semilog by default)."""
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    for name, y in series.items():
        y = np.asarray(y, dtype=float)
        keep = np.isfinite(y) & ((y > 0) if logy else True)
        ax.plot(np.asarray(t)[keep], y[keep], label=name, **kwargs)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.legend()
    return ax


def save_figure(fig: Any, path: str | Path, dpi: int = 120) -> Path:
    """Save and close a figure, creating the folder; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return path
