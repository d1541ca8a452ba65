"""Matplotlib figures: one shared style for the studies, helpers that keep figures readable, and a checker.

The ``Agg`` backend is used when no display is set.  What a study figure should have, and the helper
that gives it:

* labelled axes with units on every panel — :func:`subplots` starts from the shared :data:`STYLE`
  (constrained layout, so labels and outside legends are never cut);
* legends that never cover data — :func:`legend_outside` puts them beside or below the axes;
* a colour bar for every colour-coded panel, its range that of the data — :func:`colorbar`
  (with :func:`data_norm`, linear or logarithmic over the finite, positive data);
* references drawn as references — :func:`identity_line` (``y = x`` for "measured against predicted")
  and :func:`reference_curve` (a theory curve: black, dashed, drawn on top);
* :func:`figure_problems` lists what a figure lacks (an axis without a label, a legend over data, a
  colour bar far from its data) from matplotlib's artists, not pixels; the figure tests run it on
  every study figure, which :func:`save_figure` records while :func:`recording` is active.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

__all__ = ["STYLE", "pyplot", "subplots", "plot_series", "save_figure", "legend_outside", "data_norm", "colorbar",
           "identity_line", "reference_curve", "figure_problems", "recording"]

#: rcParams of every study figure
STYLE: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 110,
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "lines.linewidth": 1.5,
    "lines.markersize": 4,
    "image.cmap": "viridis",
}

_RECORDED: list[list[tuple[Path, Any]]] = []


def pyplot() -> Any:
    """``matplotlib.pyplot``, switched to the non-interactive ``Agg`` backend on a headless machine."""
    import matplotlib

    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def subplots(nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Any, Any]:
    """``plt.subplots`` in the shared :data:`STYLE` with constrained layout (legends outside stay in the figure)."""
    plt = pyplot()
    plt.rcParams.update(STYLE)
    fig, axes = plt.subplots(nrows, ncols, layout="constrained", **kwargs)
    return fig, axes


def plot_series(t: np.ndarray, series: Mapping[str, np.ndarray], ax: Any = None, logy: bool = True,
                **kwargs: Any) -> Any:
    """Plot named time series against ``t`` on one axes (semilog by default; non-positive values skipped there).

    Returns the axes, with the x axis labelled ``time t`` and a legend naming the series.
    """
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
    for name, y in series.items():
        y = np.asarray(y, dtype=float)
        keep = np.isfinite(y) & ((y > 0) if logy else True)
        ax.plot(np.asarray(t)[keep], y[keep], label=name, **kwargs)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("time t")
    ax.legend()
    return ax


def save_figure(fig: Any, path: str | Path, dpi: int | None = None, close: bool = True) -> Path:
    """Save a figure (creating the folder) and close it unless ``close=False``; returns the path.

    While :func:`recording` is active the figure is also handed to the recorder (closing a figure only
    detaches it from pyplot: its artists stay inspectable).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    fig.savefig(path, dpi=dpi or STYLE["savefig.dpi"])
    for record in _RECORDED:
        record.append((path, fig))
    if close:
        pyplot().close(fig)
    return path


@contextlib.contextmanager
def recording() -> Iterator[list[tuple[Path, Any]]]:
    """Collect ``(path, figure)`` of every figure :func:`save_figure` writes inside the ``with`` block."""
    record: list[tuple[Path, Any]] = []
    _RECORDED.append(record)
    try:
        yield record
    finally:
        _RECORDED.remove(record)


def legend_outside(ax: Any, where: str = "right", **kwargs: Any) -> Any:
    """A legend beside (``where="right"``) or below (``"below"``) the axes, so it never covers data."""
    if where == "right":
        return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **kwargs)
    if where == "below":
        kwargs.setdefault("ncol", 2)
        return ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), borderaxespad=0.0, **kwargs)
    raise ValueError(f"where must be 'right' or 'below', got {where!r}")


def data_norm(values: Any, log: bool = False, decades: float | None = None) -> Any:
    """A colour norm spanning the finite data (``log``: the finite positive data, at most ``decades`` below the max)."""
    from matplotlib.colors import LogNorm, Normalize

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & ((v > 0) if log else True)]
    if v.size == 0:
        raise ValueError("no finite" + (" positive" if log else "") + " values to set the colour range from")
    lo, hi = float(v.min()), float(v.max())
    if log:
        if decades is not None:
            lo = max(lo, hi * 10.0 ** (-decades))
        return LogNorm(vmin=lo, vmax=hi if hi > lo else lo * 10)
    return Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1)


def colorbar(fig: Any, mappable: Any, ax: Any, label: str, **kwargs: Any) -> Any:
    """A labelled colour bar for ``mappable`` beside ``ax`` (or a list of axes sharing it)."""
    cb = fig.colorbar(mappable, ax=ax, **kwargs)
    cb.set_label(label)
    return cb


def identity_line(ax: Any, label: str = "y = x", **kwargs: Any) -> Any:
    """The line ``y = x`` across the axes' current data range (for "measured against predicted" plots)."""
    lo = min(ax.get_xlim()[0], ax.get_ylim()[0])
    hi = max(ax.get_xlim()[1], ax.get_ylim()[1])
    if ax.get_xscale() == "log":
        lo = max(lo, min(v for v in (*ax.get_xlim(), *ax.get_ylim()) if v > 0))
    kwargs = {"color": "k", "ls": "--", "lw": 1.0, "zorder": 5, **kwargs}
    line, = ax.plot([lo, hi], [lo, hi], label=label, **kwargs)
    return line


def reference_curve(ax: Any, x: Any, y: Any, label: str, **kwargs: Any) -> Any:
    """A theory or reference curve: black, dashed, drawn above the data."""
    kwargs = {"color": "k", "ls": "--", "lw": 1.0, "zorder": 5, **kwargs}
    line, = ax.plot(x, y, label=label, **kwargs)
    return line


# ------------------------------------------------------------------------------------------ checking
def _is_colorbar_axes(ax: Any) -> bool:
    return getattr(ax, "_colorbar", None) is not None


def _has_data(ax: Any) -> bool:
    return bool(ax.lines or ax.collections or ax.images or ax.patches)


def _label_present(ax: Any, which: str) -> bool:
    """An axis label on ``ax`` or on an axes it shares that axis with, or a figure-wide label."""
    get = "get_xlabel" if which == "x" else "get_ylabel"
    shared = ax.get_shared_x_axes() if which == "x" else ax.get_shared_y_axes()
    if any(getattr(a, get)().strip() for a in shared.get_siblings(ax)):
        return True
    sup = getattr(ax.figure, "_supxlabel" if which == "x" else "_supylabel", None)
    return bool(sup is not None and sup.get_text().strip())


def _data_points(ax: Any, n_per_segment: int = 40) -> np.ndarray:
    """Display coordinates of the axes' plotted data: points along lines, scatter offsets, image corners."""
    from matplotlib.collections import PathCollection

    pts = []
    for line in ax.lines:
        if not line.get_visible():
            continue
        xy = line.get_transform().transform(np.column_stack(line.get_data()).astype(float))
        xy = xy[np.all(np.isfinite(xy), axis=1)]
        if len(xy) >= 2 and line.get_linestyle() not in ("None", "", " "):
            s = np.linspace(0, 1, n_per_segment)[:, None]
            xy = np.concatenate([a + s * (b - a) for a, b in zip(xy[:-1], xy[1:])] + [xy])
        pts.append(xy)
    for coll in ax.collections:
        if isinstance(coll, PathCollection) and coll.get_visible() and len(coll.get_offsets()):
            pts.append(coll.get_offset_transform().transform(np.asarray(coll.get_offsets(), dtype=float)))
    if pts:
        return np.concatenate(pts)
    return np.zeros((0, 2))


def _covered_fraction(box: Any, ax: Any, cells: int = 16) -> float:
    """Fraction of the legend box's cells (``cells × cells``) that contain plotted data of ``ax``."""
    if ax.images or any(type(c).__name__ == "QuadMesh" for c in ax.collections):
        inner = box.intersection(box, ax.get_window_extent())
        return 0.0 if inner is None else inner.width * inner.height / (box.width * box.height)
    pts = _data_points(ax)
    axbox = ax.get_window_extent()
    pts = pts[(pts[:, 0] >= axbox.x0) & (pts[:, 0] <= axbox.x1) & (pts[:, 1] >= axbox.y0) & (pts[:, 1] <= axbox.y1)]
    inside = pts[(pts[:, 0] >= box.x0) & (pts[:, 0] <= box.x1) & (pts[:, 1] >= box.y0) & (pts[:, 1] <= box.y1)]
    if len(inside) == 0:
        return 0.0
    i = np.minimum(((inside[:, 0] - box.x0) / box.width * cells).astype(int), cells - 1)
    j = np.minimum(((inside[:, 1] - box.y0) / box.height * cells).astype(int), cells - 1)
    return len(set(zip(i.tolist(), j.tolist()))) / cells**2


def _mappables(ax: Any) -> list[Any]:
    """Colour-coded artists of ``ax``: images, meshes, scatter with a colour array (contour sets excluded)."""
    from matplotlib.contour import ContourSet

    out = list(ax.images)
    for c in ax.collections:
        if isinstance(c, ContourSet):
            continue
        if c.get_array() is not None and np.size(c.get_array()) > 1:
            out.append(c)
    return out


def figure_problems(fig: Any, max_legend_overlap: float = 0.08, max_colorbar_decades: float = 1.0) -> list[str]:
    """What a figure lacks, from its artists: one line per problem, empty when it is fine.

    Checks every visible axes with data (colour-bar axes apart):

    * an x or y axis without a label (a label on an axes sharing that axis, or ``fig.supxlabel``, counts);
    * a legend covering plotted data on more than ``max_legend_overlap`` of its area (the legend box cut
      into 16 × 16 cells; a cell is covered when a line, marker or image of any axes passes through it);
    * a colour-coded artist without a colour bar (sharing the norm of one that has a bar counts), a colour
      bar without a label, or one whose range is more than ``max_colorbar_decades`` decades (log
      scale) or 10× (linear) wider than the data it colours.
    """
    problems = []
    fig.draw_without_rendering()
    axes = [a for a in fig.axes if a.get_visible() and not _is_colorbar_axes(a) and _has_data(a)]
    legends = [(a, a.get_legend()) for a in fig.axes if a.get_legend() is not None] + [(None, lg) for lg in fig.legends]
    for ax in axes:
        name = ax.get_title() or f"axes {fig.axes.index(ax)}"
        for which in ("x", "y"):
            if not _label_present(ax, which):
                problems.append(f"{name!r}: the {which} axis has no label")
    for owner, legend in legends:
        if not legend.get_visible():
            continue
        box = legend.get_window_extent()
        for ax in axes:
            frac = _covered_fraction(box, ax)
            if frac > max_legend_overlap:
                problems.append(f"{(ax.get_title() or 'axes')!r}: legend covers data on {frac:.0%} of its area "
                                f"(> {max_legend_overlap:.0%}); put it outside (plotting.legend_outside)")
    barred = {id(m.norm) for ax in fig.axes for m in _mappables(ax) if getattr(m, "colorbar", None) is not None}
    for ax in axes:
        for m in _mappables(ax):
            name = ax.get_title() or "axes"
            cb = getattr(m, "colorbar", None)
            if cb is None and id(m.norm) not in barred:
                problems.append(f"{name!r}: a colour-coded {type(m).__name__} without a colour bar")
                continue
            if cb is not None and not (cb.ax.get_ylabel().strip() or cb.ax.get_xlabel().strip()):
                problems.append(f"{name!r}: colour bar without a label")
            data = np.ma.masked_invalid(np.asarray(np.ma.filled(m.get_array(), np.nan), dtype=float)).compressed()
            vmin, vmax = m.norm.vmin, m.norm.vmax
            if data.size == 0 or vmin is None or vmax is None:
                continue
            if m.norm.__class__.__name__ == "LogNorm":
                pos = data[data > 0]
                if pos.size == 0:
                    continue
                gap = max(np.log10(pos.min()) - np.log10(vmin), np.log10(vmax) - np.log10(pos.max()), 0.0)
                if gap > max_colorbar_decades:
                    problems.append(f"{name!r}: colour bar spans [{vmin:.2g}, {vmax:.2g}] but the data lie in "
                                    f"[{pos.min():.2g}, {pos.max():.2g}] ({gap:.1f} decades off)")
            else:
                span = max(float(data.max() - data.min()), 1e-300)
                if (vmax - vmin) > 10 * span:
                    problems.append(f"{name!r}: colour bar spans [{vmin:.2g}, {vmax:.2g}], > 10× the data range "
                                    f"[{data.min():.2g}, {data.max():.2g}]")
    return problems
