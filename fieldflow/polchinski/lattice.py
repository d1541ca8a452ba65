"""The lattice torus ``Λ = (εℤ^d)/(Lℤ^d)`` and its lattice Laplacian.

A field is a real array ``φ ∈ ℝ^Λ`` of shape ``(n,)*d`` with ``n = L/ε`` sites per axis (leading
axes of an array are a batch).  Inner products are the plain Euclidean ones ``(φ, ψ) = Σ_x φ_x ψ_x``
(no ``ε^d`` weight), so covariances are ordinary symmetric matrices on ``ℝ^Λ``.

The lattice Laplacian is

.. math:: (\\Delta_\\varepsilon f)(x) = \\sum_{i=1}^d
          \\frac{f(x + \\varepsilon e_i) - 2 f(x) + f(x - \\varepsilon e_i)}{\\varepsilon^2},

diagonal in the discrete Fourier basis ``e^{ik·x}``, ``k ∈ (2π/L) ℤ^d`` mod ``2π/ε``, with symbol

.. math:: -\\widehat{\\Delta_\\varepsilon}(k) = \\sum_i \\frac{4}{\\varepsilon^2}\\sin^2\\frac{k_i\\varepsilon}{2} \\ \\ge 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from ..core.backend import get_backend, get_namespace
from ..core.validation import integer, one_of, real_number

__all__ = ["Lattice"]


@dataclass(frozen=True)
class Lattice:
    """The torus ``(εℤ^d)/(Lℤ^d)`` with ``n = L/ε`` sites per axis (``n ≥ 1``; one site is allowed).

    Parameters
    ----------
    L : float
        Side length of the torus (> 0).
    eps : float
        Lattice spacing (> 0); ``L/eps`` must be an integer.
    dim : int
        Dimension ``d ∈ {1, 2, 3}``.
    backend : {"numpy", "cupy"}, optional
        Array namespace of the arrays this lattice creates.
    """

    L: float
    eps: float
    dim: int = 1
    backend: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "L", real_number(self.L, "L", positive=True, hint="the side length of the torus"))
        object.__setattr__(self, "eps", real_number(self.eps, "eps", positive=True, hint="the lattice spacing"))
        object.__setattr__(self, "dim", one_of(integer(self.dim, "dim"), "dim", (1, 2, 3)))
        ratio = self.L / self.eps
        if abs(ratio - round(ratio)) > 1e-9 * max(1.0, ratio) or round(ratio) < 1:
            raise ValueError(
                f"L/eps = {ratio:.12g} is not a positive integer: the torus (εZ^d)/(LZ^d) needs L to be a "
                f"multiple of eps; use e.g. L = {max(1, round(ratio)) * self.eps:g}"
            )
        object.__setattr__(self, "backend", one_of(self.backend, "backend", ("", "numpy", "cupy")) or get_backend())

    @property
    def xp(self) -> ModuleType:
        return get_namespace(self.backend)

    @property
    def n(self) -> int:
        """Sites per axis ``L/ε``."""
        return int(round(self.L / self.eps))

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n,) * self.dim

    @property
    def half_shape(self) -> tuple[int, ...]:
        """Shape of the real-FFT half spectrum ``(n, …, n, n//2 + 1)``."""
        return (self.n,) * (self.dim - 1) + (self.n // 2 + 1,)

    @property
    def size(self) -> int:
        """Number of sites ``|Λ| = n^d``."""
        return self.n**self.dim

    @property
    def axes(self) -> tuple[int, ...]:
        """The trailing array axes that index sites."""
        return tuple(range(-self.dim, 0))

    def wavenumbers(self, real: bool = False) -> tuple[np.ndarray, ...]:
        """Angular wavenumbers ``2πm/L`` per axis (NumPy, broadcastable; ``real``: rfft half on the last axis)."""
        out = []
        for a in range(self.dim):
            if real and a == self.dim - 1:
                k = 2 * np.pi * np.fft.rfftfreq(self.n, d=self.eps)
            else:
                k = 2 * np.pi * np.fft.fftfreq(self.n, d=self.eps)
            shape = [1] * self.dim
            shape[a] = k.size
            out.append(k.reshape(shape))
        return tuple(out)

    def laplacian_symbol(self, real: bool = False) -> np.ndarray:
        """Eigenvalues of ``−Δ_ε``: ``Σ_i (4/ε²) sin²(k_i ε/2)`` on the (half) spectrum (NumPy)."""
        k = self.wavenumbers(real)
        return sum((4.0 / self.eps**2) * np.sin(ki * self.eps / 2) ** 2 for ki in k) + np.zeros(
            self.half_shape if real else self.shape
        )

    def laplacian(self, f: Any) -> Any:
        """``Δ_ε f`` by nearest-neighbour differences over the trailing ``dim`` axes."""
        xp = get_namespace(self.backend)
        out = -2.0 * self.dim * f
        for axis in self.axes:
            out = out + xp.roll(f, 1, axis=axis) + xp.roll(f, -1, axis=axis)
        return out / self.eps**2

    def sites(self) -> np.ndarray:
        """Site coordinates, shape ``(*shape, dim)``."""
        axes = [np.arange(self.n) * self.eps] * self.dim
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)

    def __repr__(self) -> str:
        return f"Lattice(L={self.L:g}, eps={self.eps:g}, dim={self.dim}, n={self.n})"
