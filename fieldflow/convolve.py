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

Both keep their kernel transform (plans are cached by the FFT provider), so one application
costs one forward and one inverse real FFT.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .backend import get_fft
from .grids import Grid

__all__ = ["FourierMultiplier", "LinearConvolution", "offset_points"]


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
