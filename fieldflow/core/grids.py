"""Uniform grids shared by every equation: cell-centred no-flux boxes and periodic tori.

A :class:`Grid` knows its coordinates, spacing, cell volume, Fourier wavenumbers and how to
integrate.  Arrays it creates live in its backend's namespace (NumPy or CuPy).

* ``Grid.box(n, extent, dim)``: the box :math:`[-L, L]^d` cut into ``n`` equal cells per
  axis; values sit at cell centres :math:`x_i = -L + (i + \\tfrac12) h`, :math:`h = 2L/n`.
  Finite-volume solvers impose zero flux on its faces.
* ``Grid.torus(n, dim)``: the torus :math:`(\\mathbb R / 2\\pi\\mathbb Z)^d` with nodes
  :math:`\\theta_j = 2\\pi j / n`, the natural grid of pseudo-spectral methods.

``integrate(f)`` is the midpoint / trapezoidal rule :math:`\\sum_i f_i\\,|{\\rm cell}|`, spectrally
accurate for smooth periodic functions and second order on the box.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType
from typing import Any, Sequence

import numpy as np

from .backend import get_backend, get_namespace
from .transfer import deferring
from .validation import integer, one_of, real_number, shown

__all__ = ["Grid"]


#: cells (box) or nodes (torus) per axis allowed: far above any grid that fits in memory
MAX_POINTS_PER_AXIS = 2**31


def _per_axis(value: Any, dim: int, name: str, check: Any) -> tuple:
    """``value`` (one entry or one per axis) as a ``dim``-tuple, each entry checked by ``check(entry, name)``."""
    if not isinstance(value, (list, tuple, range)) and getattr(value, "ndim", 0) == 0:
        values = (value,) * dim
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise TypeError(f"{name} must be a number or one number per axis, got {shown(value)}") from None
    if len(values) != dim:
        raise ValueError(f"{name} has {len(values)} entries but the grid has dim={dim}; pass one number, or {dim}")
    return tuple(check(v, name if len(values) == 1 else f"{name}[{a}]") for a, v in enumerate(values))


def _cells(value: Any, name: str) -> int:
    return integer(value, name, minimum=2, maximum=MAX_POINTS_PER_AXIS,
                   hint=f"{name} is the number of cells (box) or nodes (torus) per axis, at least 2")


def _extent(value: Any, name: str) -> float:
    return real_number(value, name, positive=True, hint="the box is [-extent, extent]: pass its half-width")


def _dim(dim: Any, n: Any, extent: Any = 0.0) -> int:
    """``dim`` checked, or (``None``) the number of entries of ``n`` or ``extent``."""
    if dim is None:
        lengths = [len(v) for v in (n, extent) if isinstance(v, (list, tuple, range)) or getattr(v, "ndim", 0) > 0]
        dim = max(lengths, default=1)
    dim = integer(dim, "dim", hint="grids are 1, 2 or 3 dimensional")
    return one_of(dim, "dim", (1, 2, 3))


def _backend(backend: Any) -> str:
    return get_backend() if backend is None else one_of(backend, "backend", ("numpy", "cupy"))


@dataclass(frozen=True, eq=True)
class Grid:
    """A uniform rectangular grid (box or torus) in ``dim`` dimensions.

    Parameters
    ----------
    kind : {"box", "torus"}
        ``"box"``: cell-centred, no-flux walls. ``"torus"``: periodic nodes.
    shape : tuple of int
        Number of cells (box) or nodes (torus) per axis.
    lower, upper : tuple of float
        The domain is the product of ``[lower[a], upper[a]]``.
    backend : {"numpy", "cupy"}
        Array namespace of the arrays this grid creates.
    """

    kind: str
    shape: tuple[int, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    backend: str = "numpy"

    def __post_init__(self) -> None:
        one_of(self.kind, "grid kind", ("box", "torus"))
        dim = _dim(len(self.shape) if isinstance(self.shape, tuple) else None, self.shape)
        object.__setattr__(self, "shape", _per_axis(self.shape, dim, "shape", _cells))
        object.__setattr__(self, "lower", _per_axis(self.lower, dim, "lower", real_number))
        object.__setattr__(self, "upper", _per_axis(self.upper, dim, "upper", real_number))
        if any(u <= l for l, u in zip(self.lower, self.upper)):
            raise ValueError(f"empty domain: lower={self.lower}, upper={self.upper}; every upper bound must exceed "
                             "its lower bound")
        object.__setattr__(self, "backend", _backend(self.backend))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def box(
        cls,
        n: int | Sequence[int],
        extent: float | Sequence[float],
        dim: int | None = None,
        backend: str | None = None,
    ) -> "Grid":
        """Cell-centred box ``[-extent, extent]^dim`` with ``n`` cells per axis.

        ``n`` and ``extent`` may be tuples (one entry per axis); ``dim`` defaults to their length
        (or 1 when both are scalars).
        """
        dim = _dim(dim, n, extent)
        shape = _per_axis(n, dim, "n", _cells)
        ext = _per_axis(extent, dim, "extent", _extent)
        return cls("box", shape, tuple(-e for e in ext), ext, _backend(backend))

    @classmethod
    def torus(cls, n: int | Sequence[int], dim: int | None = None, backend: str | None = None) -> "Grid":
        """Periodic grid on ``[0, 2π)^dim`` with ``n`` equispaced nodes per axis."""
        dim = _dim(dim, n)
        shape = _per_axis(n, dim, "n", _cells)
        return cls("torus", shape, (0.0,) * dim, (2 * math.pi,) * dim, _backend(backend))

    def with_backend(self, backend: str) -> "Grid":
        """The same grid whose arrays live in another namespace."""
        return Grid(self.kind, self.shape, self.lower, self.upper, backend)

    # ------------------------------------------------------------------ geometry
    @cached_property
    def xp(self) -> ModuleType:
        """Array namespace (``numpy`` or ``cupy``)."""
        return get_namespace(self.backend)

    @property
    def dim(self) -> int:
        return len(self.shape)

    @property
    def periodic(self) -> bool:
        return self.kind == "torus"

    @cached_property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def lengths(self) -> tuple[float, ...]:
        return tuple(u - l for l, u in zip(self.lower, self.upper))

    @cached_property
    def spacing(self) -> tuple[float, ...]:
        """Cell width (box) or node spacing (torus) per axis."""
        return tuple(L / n for L, n in zip(self.lengths, self.shape))

    @cached_property
    def cell_volume(self) -> float:
        return float(np.prod(self.spacing))

    @cached_property
    def axes(self) -> tuple[Any, ...]:
        """1D coordinate arrays: cell centres (box) or nodes (torus)."""
        xp = self.xp
        offset = 0.5 if self.kind == "box" else 0.0
        return tuple(
            xp.asarray(l + (np.arange(n) + offset) * h) for l, n, h in zip(self.lower, self.shape, self.spacing)
        )

    @cached_property
    def mesh(self) -> tuple[Any, ...]:
        """Coordinate arrays of full grid shape, one per axis (``indexing='ij'``)."""
        return tuple(self.xp.meshgrid(*self.axes, indexing="ij"))

    @cached_property
    def points(self) -> Any:
        """All grid points as an array of shape ``(*shape, dim)`` (the layout potentials take)."""
        return self.xp.stack(self.mesh, axis=-1)

    def wavenumbers(self, real: bool = False) -> tuple[Any, ...]:
        """Angular wavenumbers ``2π k / L`` per axis, shaped to broadcast over the FFT of a grid array.

        With ``real=True`` the last axis holds the non-negative half used by ``rfftn``.
        """
        xp = self.xp
        out = []
        for a, (n, h) in enumerate(zip(self.shape, self.spacing)):
            if real and a == self.dim - 1:
                k = 2 * np.pi * np.fft.rfftfreq(n, d=h)
            else:
                k = 2 * np.pi * np.fft.fftfreq(n, d=h)
            shape = [1] * self.dim
            shape[a] = k.size
            out.append(xp.asarray(k.reshape(shape)))
        return tuple(out)

    # ------------------------------------------------------------------ arrays
    def zeros(self, dtype: Any = float) -> Any:
        return self.xp.zeros(self.shape, dtype=dtype)

    def asarray(self, values: Any, dtype: Any = float) -> Any:
        """``values`` as a grid array in this grid's namespace, checked to have the grid's shape."""
        arr = self.xp.asarray(values, dtype=dtype)
        if tuple(arr.shape) != self.shape:
            raise ValueError(f"array of shape {tuple(arr.shape)} does not match the grid shape {self.shape}")
        return arr

    def evaluate(self, func: Any) -> Any:
        """Evaluate ``func`` at the grid points; ``func`` takes an array of shape ``(..., dim)``."""
        return self.asarray(func(self.points))

    def integrate(self, f: Any) -> float:
        """Midpoint/trapezoidal rule ``Σ_i f_i |cell|`` over the whole grid (a Python float).

        Inside :func:`fieldflow.core.transfer.deferred_scalars` a non-NumPy grid returns the 0-d device
        array instead, so that several integrals come back to the host in one transfer.
        """
        if self.backend != "numpy" and deferring():
            return self.xp.sum(f) * self.cell_volume
        return float(self.xp.sum(f)) * self.cell_volume

    def __repr__(self) -> str:
        dom = " x ".join(f"[{l:g}, {u:g}]" for l, u in zip(self.lower, self.upper))
        return f"Grid.{self.kind}(shape={self.shape}, domain={dom}, backend={self.backend!r})"
