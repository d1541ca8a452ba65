"""FFT convolutions on a grid: Fourier multipliers (periodic) and zero-padded linear convolution (box).

Two operators, one job each:

* :class:`FourierMultiplier` — ``f ↦ F⁻¹[ m(ξ) F f ]`` on the grid's periodic FFT lattice.  On a
  torus this *is* the periodic convolution with the kernel whose Fourier coefficients are
  ``m``; on a box it is periodic convolution over the box, whose wrap-around error is the
  kernel's mass outside the box (say so when you use it, and size the box accordingly).
* :class:`LinearConvolution` — the discrete linear convolution on a box,

  .. math:: (k * f)(x_i) \\approx \\sum_j k(x_i - x_j)\\, f_j\\, |{\\rm cell}|,

  computed exactly (to round-off, no wrap-around) by zero padding to ``2n`` per axis.  The
  kernel is sampled at the ``2n − 1`` offsets ``(i − j) h``; a singular kernel can be passed
  as already-regularised offset values.
* :class:`PaddedFourierMultiplier` — the linear convolution on a box with a kernel given by its
  Fourier *symbol* ``k̂`` (for kernels singular at the origin, such as the 2D/3D Bessel kernel):
  zero-pad ``f`` to a periodic lattice of ``P ≥ n`` points per axis, multiply by ``k̂`` at that
  lattice's wavenumbers, crop.  The padding is chosen so that the nearest periodic image of the
  box lies where the kernel's tail mass is below ``tol``: the wrap-around error is then at most
  ``tol · max|f|`` (stated as ``wrap_error_bound``).  Restricted to the box, the operator is a
  principal submatrix of a circulant matrix whose eigenvalues are the symbol values, so it is
  symmetric positive semi-definite whenever ``k̂ ≥ 0``.

All keep their kernel transform (plans are cached by the FFT provider), so one application
costs one forward and one inverse real FFT.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .backend import get_fft
from .grids import Grid

__all__ = ["FourierMultiplier", "LinearConvolution", "PaddedFourierMultiplier", "offset_points", "padded_length"]


class FourierMultiplier:
    """Apply the Fourier multiplier ``symbol`` to real grid arrays.

    Parameters
    ----------
    grid : Grid
    symbol : callable or array
        ``symbol(k)`` with ``k`` the tuple ``grid.wavenumbers(real=True)`` of angular wavenumbers
        (broadcastable arrays), or the multiplier values on that half-spectrum directly.
    fft : str, optional
        FFT provider name (default: fastest for the grid's backend).
    """

    def __init__(self, grid: Grid, symbol: Callable[..., Any] | Any, fft: str | None = None):
        self.grid = grid
        self.fft = get_fft(fft, backend=grid.backend)
        k = grid.wavenumbers(real=True)
        values = symbol(k) if callable(symbol) else symbol
        shape = tuple(grid.shape[:-1]) + (grid.shape[-1] // 2 + 1,)
        self.symbol = grid.xp.broadcast_to(grid.xp.asarray(values), shape)
        self._axes = tuple(range(-grid.dim, 0))

    def __call__(self, f: Any) -> Any:
        """``F⁻¹[m F f]`` over the last ``grid.dim`` axes (leading axes are batched)."""
        fhat = self.fft.rfftn(f, axes=self._axes)
        return self.fft.irfftn(fhat * self.symbol, s=self.grid.shape, axes=self._axes)


def offset_points(grid: Grid) -> Any:
    """The offsets ``(i − j) h`` of a box grid laid out in FFT order on the padded ``2n`` lattice.

    Shape ``(*(2n), dim)``; entry ``m`` along an axis is the offset ``m h`` for ``m < n`` and
    ``(m − 2n) h`` for ``m > n``; index ``n`` (offset ``± n h``, never needed) holds ``n h``.
    """
    axes = []
    for n, h in zip(grid.shape, grid.spacing):
        m = np.arange(2 * n)
        m = np.where(m <= n, m, m - 2 * n)
        axes.append(m * h)
    mesh = np.meshgrid(*axes, indexing="ij")
    return grid.xp.asarray(np.stack(mesh, axis=-1))


class LinearConvolution:
    """Zero-padded FFT convolution ``(k*f)(x_i) = Σ_j k(x_i − x_j) f_j |cell|`` on a box grid.

    Parameters
    ----------
    grid : Grid
        A box grid (on a torus use :class:`FourierMultiplier`).
    kernel : callable or array
        ``kernel(z)`` for offsets ``z`` of shape ``(..., dim)`` (see :func:`offset_points`), or
        the kernel values on the padded offset lattice directly (shape ``2n`` per axis), e.g.
        cell-averaged values of a singular kernel.  Values may carry leading axes (a batch of
        kernels, e.g. the components of a matrix kernel): ``kernel_hat`` then keeps them, and
        ``__call__`` broadcasts them against the leading axes of ``f``.
    fft : str, optional
        FFT provider name.

    Notes
    -----
    ``forward``/``backward`` expose the two halves of ``__call__`` so that several kernels can share
    one transform of ``f`` and sums ``Σ_b k_{ab} * f_b`` (matrix kernels) cost one inverse transform
    per output component: ``backward(sum_b kernel_hat[a, b] * forward(f_b))``.
    """

    def __init__(self, grid: Grid, kernel: Callable[[Any], Any] | Any, fft: str | None = None):
        if grid.periodic:
            raise ValueError("LinearConvolution is for box grids; on a torus use FourierMultiplier")
        self.grid = grid
        self.fft = get_fft(fft, backend=grid.backend)
        self.padded_shape = tuple(2 * n for n in grid.shape)
        self._axes = tuple(range(-grid.dim, 0))
        values = kernel(offset_points(grid)) if callable(kernel) else grid.xp.asarray(kernel)
        if tuple(values.shape[-grid.dim:]) != self.padded_shape:
            raise ValueError(f"kernel values must have shape {self.padded_shape} on the padded lattice, got {values.shape}")
        if not bool(grid.xp.all(grid.xp.isfinite(values))):
            raise ValueError("kernel values are not finite; regularise a singular kernel at the origin first")
        self.kernel_hat = self.fft.rfftn(values * grid.cell_volume, axes=self._axes)

    def forward(self, f: Any) -> Any:
        """The zero-padded real FFT of grid values ``f`` (leading axes batched), ready to multiply ``kernel_hat``."""
        return self.fft.rfftn(f, s=self.padded_shape, axes=self._axes)

    def backward(self, product_hat: Any) -> Any:
        """Inverse of :meth:`forward` followed by the crop to the grid: the convolution values at the grid points."""
        full = self.fft.irfftn(product_hat, s=self.padded_shape, axes=self._axes)
        index = (Ellipsis,) + tuple(slice(0, n) for n in self.grid.shape)
        return full[index]

    def __call__(self, f: Any) -> Any:
        """The convolution at the grid points (leading axes of ``f`` and of the kernel are batched)."""
        return self.backward(self.forward(f) * self.kernel_hat)


def _fast_length(n: int) -> int:
    """The smallest 5-smooth integer ``≥ n`` (fast for every FFT provider)."""
    import scipy.fft

    return int(scipy.fft.next_fast_len(int(n), real=True))


def padded_length(n: int, h: float, tail_mass: Callable[[float], float], tol: float) -> int:
    """Smallest fast FFT length ``P ≥ n`` whose periodic images sit at distance ``R = (P − n + 1) h``
    with ``tail_mass(R) ≤ tol``.

    Points of an ``n``-point lattice are at most ``(n − 1) h`` apart, so on the ``P``-periodic
    lattice every image of another point is at least ``(P − n + 1) h`` away.
    """
    if tail_mass(0.0) <= tol:
        return _fast_length(n)
    hi = h
    while tail_mass(hi) > tol:
        hi *= 2
        if hi > 1e12 * h:
            raise ValueError(f"the kernel's tail mass does not fall below tol={tol:g}; it cannot be padded")
    lo = hi / 2
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if tail_mass(mid) <= tol else (mid, hi)
    return _fast_length(n - 1 + math.ceil(hi / h))


class PaddedFourierMultiplier:
    """Linear convolution ``f ↦ k * f`` on a box grid through the kernel's Fourier symbol and zero padding.

    .. math:: (k * f)_i \\approx \\Big[\\mathcal F_P^{-1}\\big(\\hat k(\\xi)\\,
              \\mathcal F_P(\\text{pad}_P f)\\big)\\Big]_i, \\qquad
              \\xi_m = \\frac{2\\pi m}{P h},

    the spectral (trapezoidal) approximation of ``∫_box k(x_i − y) f(y) dy``: a Fourier mode
    resolved by the lattice is multiplied by the exact ``k̂``.  The kernel never needs to be
    sampled, so kernels singular at 0 are fine.

    Parameters
    ----------
    grid : Grid
        A box grid (or any uniform lattice built as a box grid, e.g. a face lattice).
    symbol : callable or array
        ``symbol(k)`` with ``k`` the tuple of angular wavenumbers of the padded lattice
        (broadcastable, last axis halved as for ``rfftn``), or its values directly.
    padded_shape : tuple of int, optional
        ``P`` per axis.  Default: from ``tail_mass`` and ``tol`` (:func:`padded_length`).
    tail_mass : callable, optional
        ``R ↦ ∫_{|z|≥R} |k(z)| dz`` (e.g. ``lambda R: kernel.tail_mass(R, dim)``).
    tol : float
        Wrap-around tolerance relative to ``max|f|`` (used with ``tail_mass``).
    max_padding : float
        Largest allowed ``P/n`` per axis; a kernel whose tail needs more is too wide for this box
        (``ValueError``).
    fft : str, optional
        FFT provider name.
    threads : int, optional
        FFT threads; default 1 for padded lattices under 2¹⁶ points (threading small transforms
        only costs synchronisation), else the provider's default.

    Attributes
    ----------
    padded_shape : tuple of int
    wrap_error_bound : float
        ``tail_mass(min_a (P_a − n_a + 1) h_a)``: ``|error| ≤ wrap_error_bound · max|f|`` from
        periodic images (``nan`` when no ``tail_mass`` is given).
    """

    def __init__(self, grid: Grid, symbol: Callable[..., Any] | Any, padded_shape: tuple[int, ...] | None = None, *,
                 tail_mass: Callable[[float], float] | None = None, tol: float = 1e-8, max_padding: float = 8.0,
                 fft: str | None = None, threads: int | None = None):
        if grid.periodic:
            raise ValueError("PaddedFourierMultiplier is for box grids; on a torus use FourierMultiplier")
        if not (0 < tol < 1):
            raise ValueError(f"tol must lie in (0, 1), got {tol!r}")
        self.grid = grid
        xp = grid.xp
        if padded_shape is None:
            if tail_mass is None:
                raise ValueError("give padded_shape, or tail_mass (with tol) so the padding can be chosen")
            padded_shape = tuple(padded_length(n, h, tail_mass, tol) for n, h in zip(grid.shape, grid.spacing))
            for n, P, h in zip(grid.shape, padded_shape, grid.spacing):
                if P > max_padding * n:
                    raise ValueError(
                        f"box too small for the kernel: its tail needs a padded FFT lattice of {P} points per axis "
                        f"({P / n:.1f}x the {n} grid points, above max_padding={max_padding:g}) to keep the wrap-around "
                        f"error below tol={tol:g}; the kernel reaches {(P - n + 1) * h:.3g} beyond a box of length {n * h:.3g}. "
                        "Enlarge the box, shorten the kernel's scale, raise tol or raise max_padding"
                    )
        padded_shape = tuple(int(P) for P in padded_shape)
        if threads is None and grid.backend == "numpy" and math.prod(padded_shape) < 2**16:
            threads = 1
        self.fft = get_fft(fft, backend=grid.backend, threads=threads)
        if len(padded_shape) != grid.dim or any(P < n for P, n in zip(padded_shape, grid.shape)):
            raise ValueError(f"padded_shape {padded_shape} must have one entry ≥ n per axis of the grid shape {grid.shape}")
        self.padded_shape = padded_shape
        self._axes = tuple(range(-grid.dim, 0))
        k = []
        for a, (P, h) in enumerate(zip(padded_shape, grid.spacing)):
            freq = np.fft.rfftfreq(P, d=h) if a == grid.dim - 1 else np.fft.fftfreq(P, d=h)
            shape = [1] * grid.dim
            shape[a] = freq.size
            k.append(xp.asarray(2 * np.pi * freq.reshape(shape)))
        values = symbol(tuple(k)) if callable(symbol) else symbol
        half = padded_shape[:-1] + (padded_shape[-1] // 2 + 1,)
        self.symbol = xp.broadcast_to(xp.asarray(values, dtype=float), half)
        if not bool(xp.all(xp.isfinite(self.symbol))):
            raise ValueError("the symbol is not finite on the padded lattice")
        gap = min((P - n + 1) * h for P, n, h in zip(padded_shape, grid.shape, grid.spacing))
        self.wrap_error_bound = float(tail_mass(gap)) if tail_mass is not None else float("nan")
        self._crop = (Ellipsis,) + tuple(slice(0, n) for n in grid.shape)

    def periodic(self, f_padded: Any) -> Any:
        """The circulant ``F_P⁻¹[k̂ F_P f]`` on the padded lattice (trailing shape ``padded_shape``; leading axes batched)."""
        fhat = self.fft.rfftn(f_padded, axes=self._axes)
        return self.fft.irfftn(fhat * self.symbol, s=self.padded_shape, axes=self._axes)

    def __call__(self, f: Any) -> Any:
        """``k * f`` at the grid points; ``f`` has the grid's shape in its trailing axes."""
        fhat = self.fft.rfftn(f, s=self.padded_shape, axes=self._axes)
        full = self.fft.irfftn(fhat * self.symbol, s=self.padded_shape, axes=self._axes)
        return full[self._crop]
