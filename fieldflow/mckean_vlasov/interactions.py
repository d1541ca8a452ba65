"""Even interaction potentials on the torus :math:`\\mathbb T = \\mathbb R/2\\pi\\mathbb Z`, given by Fourier coefficients.

.. math::  W(\\theta) = \\sum_{k \\ge 0} c_k \\cos(k\\theta), \\qquad
           W'(\\theta) = -\\sum_{k \\ge 1} k\\, c_k \\sin(k\\theta).

Convolutions follow :ref:`conventions-mckean-vlasov` (not normalised by :math:`2\\pi`):

.. math::  (W * q)(\\theta) = \\int_{\\mathbb T} W(\\theta - \\varphi)\\, q(\\varphi)\\, d\\varphi .

In terms of the moments :math:`z_k = \\int e^{ik\\varphi} q(\\varphi)\\,d\\varphi` of a probability
density ``q``, :math:`(W*q)(\\theta) = c_0 + \\sum_{k\\ge1} c_k\\,\\mathrm{Re}\\big(\\bar z_k e^{ik\\theta}\\big)`.
On a ``Grid.torus(n)`` with the DFT :math:`\\hat q_k = \\sum_j q_j e^{-ik\\theta_j}`, this is the
Fourier multiplier

.. math::  \\widehat{(W*q)}_k = \\sigma_k\\,\\hat q_k, \\qquad \\sigma_0 = 2\\pi c_0, \\quad
           \\sigma_k = \\pi c_{|k|}\\ (k \\neq 0),

and :math:`\\widehat{(W'*q)}_k = i k\\,\\sigma_k \\hat q_k`.  Both are exact (to round-off) for the
trapezoidal-rule moments, because ``W`` has finitely many modes; the grid must resolve them
(``max_mode < n/2``).

Units: ``θ`` in radians, ``q`` in 1/radian; ``W`` and ``W*q`` are dimensionless.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from ..core.backend import get_fft
from ..core.grids import Grid

__all__ = ["Fourier", "kuramoto", "kuramoto_daido"]


class Fourier:
    """The even torus interaction ``W(θ) = Σ_k c_k cos(kθ)`` with finitely many coefficients.

    Parameters
    ----------
    coefficients : mapping int -> float
        ``{k: c_k}`` with integer ``k ≥ 0``; zero coefficients are dropped.  ``c_0`` is an
        additive constant, which does not change the dynamics.

    Attributes
    ----------
    coefficients : dict[int, float]
        The non-zero coefficients, sorted by mode.
    max_mode : int
        The largest ``k`` with ``c_k ≠ 0`` (0 for a constant ``W``).
    modes : tuple[int, ...]
        The modes ``k ≥ 1`` with ``c_k ≠ 0``, increasing.

    Examples
    --------
    >>> W = Fourier({1: 1.0, 2: 0.7})          # Kuramoto–Daido with m = 0.7
    >>> float(W.value(0.0))
    1.7
    """

    def __init__(self, coefficients: Mapping[int, float]):
        if not isinstance(coefficients, Mapping) or not coefficients:
            raise ValueError("coefficients must be a non-empty mapping {mode k: c_k}, e.g. {1: 1.0, 2: 0.5}")
        clean: dict[int, float] = {}
        for k, c in coefficients.items():
            if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
                raise ValueError(f"Fourier modes must be integers k >= 0, got {k!r}")
            c = float(c)
            if not math.isfinite(c):
                raise ValueError(f"coefficient c_{k} must be finite, got {c!r}")
            if c != 0.0:
                clean[int(k)] = c
        if not any(k >= 1 for k in clean):
            raise ValueError("W has no mode k >= 1: a constant interaction does not act on the density")
        self.coefficients = dict(sorted(clean.items()))
        self.modes = tuple(k for k in self.coefficients if k >= 1)
        self.max_mode = max(self.modes)

    @classmethod
    def from_function(cls, W: Any, n: int = 256, tol: float = 1e-13) -> "Fourier":
        """The cosine series of an even, ``2π``-periodic function ``W(θ)``, truncated where it falls below ``tol``.

        ``c_0 = (1/2π)∫W`` and ``c_k = (1/π)∫ W cos kθ`` are computed by the trapezoidal rule on ``n``
        nodes (exact for trigonometric polynomials of degree ``< n/2``, exponentially accurate for
        analytic ``W``); coefficients with ``|c_k| ≤ tol·max_j |c_j|`` are dropped.

        Parameters
        ----------
        W : callable
            Vectorised ``θ ↦ W(θ)`` (radians in, dimensionless values out).
        n : int
            Nodes (even, ≥ 16).
        tol : float
            Relative truncation threshold.

        Raises
        ------
        ValueError
            ``W`` is not callable, not real and finite, not even (``|W(θ) − W(−θ)| > 1e-10·max|W|``), or
            its coefficients near ``n/2`` exceed ``tol`` (not resolved: raise ``n``, or ``W`` is not smooth).
        """
        if not callable(W):
            raise ValueError(f"W must be a callable θ -> W(θ), got {type(W).__name__}")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 16 or n % 2:
            raise ValueError(f"n must be an even integer >= 16, got {n!r}")
        theta = 2 * np.pi * np.arange(n) / n
        values = np.asarray(W(theta), dtype=float)
        if values.shape != theta.shape or not np.all(np.isfinite(values)):
            raise ValueError("W(θ) must return finite real values of the shape of θ")
        scale = max(float(np.max(np.abs(values))), 1e-300)
        mirrored = np.asarray(W(-theta), dtype=float)
        if np.max(np.abs(values - mirrored)) > 1e-10 * scale:
            raise ValueError(f"W is not even: max |W(θ) − W(−θ)| = {np.max(np.abs(values - mirrored)):.2e}; "
                             "interactions on the torus here are even functions of θ")
        c = np.fft.rfft(values).real / n
        c[1:] *= 2
        top = max(float(np.max(np.abs(c))), 1e-300)
        if np.max(np.abs(c[(2 * n) // 5 :])) > tol * top:
            raise ValueError(f"the cosine coefficients of W have not decayed below tol = {tol:g} by mode "
                             f"{(2 * n) // 5} of n = {n} nodes; pass a larger n (or a smoother W)")
        return cls({k: float(ck) for k, ck in enumerate(c[: n // 2]) if abs(ck) > tol * top})

    # ------------------------------------------------------------------ pointwise values
    def value(self, theta: Any) -> Any:
        """``W(θ) = Σ_k c_k cos(kθ)`` (array in, array out; NumPy or CuPy)."""
        return sum(c * np.cos(k * theta) if k else c + 0 * theta for k, c in self.coefficients.items())

    def derivative(self, theta: Any) -> Any:
        """``W'(θ) = −Σ_k k c_k sin(kθ)``."""
        return sum(-k * c * np.sin(k * theta) for k, c in self.coefficients.items() if k)

    def coefficient(self, k: int) -> float:
        """``c_k`` (0 for a mode not present)."""
        return self.coefficients.get(abs(int(k)), 0.0)

    # ------------------------------------------------------------------ on a grid
    def _check_grid(self, grid: Grid) -> None:
        if not isinstance(grid, Grid) or not grid.periodic or grid.dim != 1:
            raise ValueError(f"interactions act on a 1D periodic grid; build it with Grid.torus(n), got {grid!r}")
        n = grid.shape[0]
        if 2 * self.max_mode >= n:
            raise ValueError(
                f"Grid.torus({n}) cannot resolve mode {self.max_mode} of W (needs n > {2 * self.max_mode}); "
                "use more grid points"
            )

    def symbol(self, grid: Grid, derivative: bool = False) -> Any:
        """The multiplier ``σ_k`` of ``q ↦ W*q`` (or ``i k σ_k`` for ``W'*q``) on ``rfft`` wavenumbers."""
        self._check_grid(grid)
        n = grid.shape[0]
        xp = grid.xp  # built on the device: no host array is uploaded per call
        sigma = xp.zeros(n // 2 + 1, dtype=complex if derivative else float)
        for k, c in self.coefficients.items():
            sigma[k] = 2 * math.pi * c if k == 0 else math.pi * c
        if derivative:
            sigma = 1j * xp.arange(n // 2 + 1) * sigma
        return sigma

    def _apply(self, q: Any, grid: Grid, derivative: bool) -> Any:
        self._check_grid(grid)
        xp = grid.xp
        q = xp.asarray(q, dtype=float)
        if q.shape[-1] != grid.shape[0]:
            raise ValueError(f"array of shape {tuple(q.shape)} does not match the grid shape {grid.shape}")
        fft = get_fft(backend=grid.backend)
        qhat = fft.rfftn(q, axes=(-1,))
        return fft.irfftn(qhat * self.symbol(grid, derivative), s=grid.shape, axes=(-1,))

    def convolve(self, q: Any, grid: Grid) -> Any:
        """``(W*q)(θ_j) = ∫ W(θ_j − φ) q(φ) dφ`` on the nodes of ``grid`` (leading axes batched)."""
        return self._apply(q, grid, derivative=False)

    def convolve_derivative(self, q: Any, grid: Grid) -> Any:
        """``(W'*q)(θ_j) = ∫ W'(θ_j − φ) q(φ) dφ = (W*q)'(θ_j)``."""
        return self._apply(q, grid, derivative=True)

    # ------------------------------------------------------------------ identity
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Fourier) and other.coefficients == self.coefficients

    def __hash__(self) -> int:
        return hash(tuple(self.coefficients.items()))

    def __repr__(self) -> str:
        return f"Fourier({self.coefficients})"


def kuramoto() -> Fourier:
    """The Kuramoto interaction ``W(θ) = cos θ``."""
    return Fourier({1: 1.0})


def kuramoto_daido(m: float) -> Fourier:
    """The Kuramoto–Daido interaction ``W(θ) = cos θ + m cos 2θ``.

    ``m = 0`` reduces to :func:`kuramoto`.
    """
    m = float(m)
    if not math.isfinite(m):
        raise ValueError(f"m must be finite, got {m!r}")
    return Fourier({1: 1.0, 2: m})
