"""Translation-invariant interaction kernels ``k(x − y)`` with Fourier and real-space forms.

Every kernel here is radial and normalised to unit mass, ``k̂(0) = ∫ k = 1``, with the
Fourier convention ``k̂(ξ) = ∫ k(x) e^{−iξ·x} dx``.  A kernel offers

* ``symbol(xi2)`` — ``k̂`` as a function of ``|ξ|²`` (what grid solvers apply through FFTs);
* ``radial(r, dim)`` and ``radial_derivative(r, dim)`` — ``k`` and ``dk/dr`` at distance ``r`` in
  ``dim`` dimensions (what particle methods evaluate); ``value(z)`` and ``gradient(z)`` on offsets
  ``z`` of shape ``(..., dim)``;
* ``tail_mass(R, dim)`` — ``∫_{|z| ≥ R} |k(z)| dz``, which bounds the wrap-around error of a
  periodic FFT convolution whose nearest periodic image is at distance ``R``
  (see :class:`fieldflow.core.convolve.PaddedFourierMultiplier`);
* ``slsi_bounds()`` — the constants of the two-sided bound of the Carrillo–Skrzeczkowski–Warnett
  theorem,

  .. math:: \\frac{1}{C_0}\\,\\frac{1}{1+|\\xi|^2} \\le \\hat k(\\xi) \\le C_1\\,\\frac{1}{1+|\\xi|^2},
            \\qquad C_0, C_1 \\ge 1,

  under which mean-field SVGD with the Duncan kernel satisfies a Stein-log-Sobolev inequality.

Kernels:

:class:`Bessel` ``(scale=ℓ)``
    ``k̂(ξ) = (1 + ℓ²|ξ|²)^{-1}``, the Green's function of ``1 − ℓ²Δ``:
    ``k(x) = e^{−|x|/ℓ}/(2ℓ)`` in 1D, ``K₀(|x|/ℓ)/(2πℓ²)`` in 2D, ``e^{−|x|/ℓ}/(4πℓ²|x|)`` in 3D
    (singular at 0 in 2D and 3D, hence applied through its symbol on grids).  Admissible, with
    ``C₀ = max(1, ℓ²)`` and ``C₁ = max(1, ℓ^{−2})`` exactly.
:class:`Gaussian` ``(scale=σ)``
    ``k(x) = (2πσ²)^{−d/2} e^{−|x|²/(2σ²)}``, ``k̂ = e^{−σ²|ξ|²/2}``: the usual SVGD kernel, for
    comparison.  Not admissible: ``k̂(ξ)(1 + |ξ|²) → 0``, so no ``C₀`` exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.backend import namespace_of
from ..core.metrics import loglog_slope
from ..core.validation import integer, one_of, real_number

__all__ = ["Kernel", "Bessel", "Gaussian", "SLSIBounds", "check_slsi_bounds"]


def _special(xp: Any) -> Any:
    """``scipy.special`` or ``cupyx.scipy.special`` matching the array namespace."""
    if xp.__name__ == "cupy":
        import cupyx.scipy.special as special
    else:
        import scipy.special as special
    return special


@dataclass(frozen=True)
class SLSIBounds:
    """Constants of ``k̂(ξ)(1+|ξ|²) ∈ [1/C0, C1]``; ``admissible`` is False when no finite ``C0``/``C1`` exists.

    ``C0`` is the constant ``C`` of the theorem's rate ``λ = λ₀ (α∧1) e^β / (C² ‖e^{−V}‖_{L¹})``.
    """

    C0: float
    C1: float
    admissible: bool
    detail: str


class Kernel:
    """Base class of radial unit-mass kernels (see the module docstring for the interface)."""

    #: spatial dimension the kernel is pinned to (``None``: any of 1, 2, 3)
    dim: int | None = None
    #: length scale (``ℓ`` or ``σ``)
    scale: float

    def __init__(self, scale: float, dim: int | None = None):
        self.scale = real_number(scale, "the kernel scale", positive=True, hint="the length scale ℓ of k")
        self.dim = None if dim is None else one_of(integer(dim, "dim"), "dim", (1, 2, 3), hint="or None")

    # ------------------------------------------------------------------ Fourier side
    def symbol(self, xi2: Any) -> Any:
        """``k̂`` as a function of ``|ξ|²`` (any array namespace)."""
        raise NotImplementedError

    def symbol_on(self, wavenumbers: tuple[Any, ...]) -> Any:
        """``k̂`` on a tuple of broadcastable angular-wavenumber arrays (``Grid.wavenumbers``)."""
        xi2 = sum(k * k for k in wavenumbers)
        return self.symbol(xi2)

    # ------------------------------------------------------------------ real space
    def singular(self, dim: int) -> bool:
        """Whether ``k(0)`` is infinite in ``dim`` dimensions."""
        return False

    def radial(self, r: Any, dim: int) -> Any:
        """``k`` at distance ``r ≥ 0`` in ``dim`` dimensions (``inf`` at ``r = 0`` if singular)."""
        raise NotImplementedError

    def radial_derivative(self, r: Any, dim: int) -> Any:
        """``dk/dr`` at distance ``r > 0`` (the value at ``r = 0`` is never used: ``∇k(0) = 0`` by symmetry)."""
        raise NotImplementedError

    def value(self, z: Any) -> Any:
        """``k(z)`` for offsets ``z`` of shape ``(..., dim)``."""
        xp = namespace_of(z)
        return self.radial(xp.sqrt(xp.sum(z * z, axis=-1)), self._dim_of(z))

    def gradient(self, z: Any) -> Any:
        """``∇k(z) = k'(|z|) z/|z|`` for offsets of shape ``(..., dim)``, with ``∇k(0) = 0``."""
        xp = namespace_of(z)
        dim = self._dim_of(z)
        r = xp.sqrt(xp.sum(z * z, axis=-1))
        pos = r > 0
        safe = xp.where(pos, r, 1.0)
        factor = xp.where(pos, self.radial_derivative(safe, dim) / safe, 0.0)
        return factor[..., None] * z

    def tail_mass(self, R: float, dim: int) -> float:
        """``∫_{|z| ≥ R} |k(z)| dz`` in ``dim`` dimensions."""
        raise NotImplementedError

    def _dim_of(self, z: Any) -> int:
        dim = int(z.shape[-1])
        self.check_dim(dim)
        return dim

    def check_dim(self, dim: int) -> None:
        """Raise ``ValueError`` if the kernel is pinned to another dimension than ``dim``."""
        if dim not in (1, 2, 3):
            raise ValueError(f"kernels are defined in 1, 2 or 3 dimensions, got dim={dim}")
        if self.dim is not None and dim != self.dim:
            raise ValueError(
                f"kernel/grid mismatch: {self!r} was built for dim={self.dim} but is used in dim={dim}; "
                f"build it without dim (any dimension) or with dim={dim}"
            )

    # ------------------------------------------------------------------ theory
    def slsi_bounds(self, s_max: float = 1e6, num: int = 4001) -> SLSIBounds:
        """Estimate ``C0, C1`` from ``r(s) = k̂(s)(1+s²)`` on ``s ∈ [0, s_max]`` (log-spaced).

        The estimate is ``C0 = max(1, 1/min r)``, ``C1 = max(1, max r)``.  A kernel is declared
        inadmissible when ``r`` vanishes or diverges on the range, or when ``log r`` still has a
        slope (``|d log r / d log s| > 1e-3`` over the last decade), i.e. ``k̂`` decays at another
        rate than ``|ξ|^{-2}``.  Kernels with known constants override this.
        """
        s = np.concatenate([[0.0], np.logspace(-4, math.log10(s_max), num)])
        ratio = np.asarray(self.symbol(s * s), dtype=float) * (1 + s * s)
        lo, hi = float(ratio.min()), float(ratio.max())
        if not (lo > 0 and math.isfinite(hi)):
            return SLSIBounds(math.inf, hi if math.isfinite(hi) else math.inf, False,
                              f"k̂(ξ)(1+|ξ|²) ranges over [{lo:.3g}, {hi:.3g}] on |ξ| ≤ {s_max:g}: no finite C0/C1")
        last = s >= s_max / 10
        slope = loglog_slope(s[last], ratio[last])
        if abs(slope) > 1e-3:
            return SLSIBounds(math.inf if slope < 0 else max(1.0, 1 / lo), math.inf if slope > 0 else max(1.0, hi), False,
                              f"k̂(ξ)(1+|ξ|²) behaves like |ξ|^{slope:.3g} for large |ξ|: k̂ is not comparable to (1+|ξ|²)^-1")
        return SLSIBounds(max(1.0, 1 / lo), max(1.0, hi), True, f"numerical estimate on |ξ| ≤ {s_max:g}")

    def describe(self) -> dict[str, Any]:
        return {"kernel": type(self).__name__, "scale": self.scale, "dim": self.dim}

    def __repr__(self) -> str:
        dim = "" if self.dim is None else f", dim={self.dim}"
        return f"{type(self).__name__}(scale={self.scale:g}{dim})"


class Bessel(Kernel):
    """The Bessel kernel ``k̂(ξ) = (1 + ℓ²|ξ|²)^{-1}`` (``ℓ = scale``), Green's function of ``1 − ℓ²Δ``.

    Real space: ``e^{−r/ℓ}/(2ℓ)`` (1D), ``K₀(r/ℓ)/(2πℓ²)`` (2D), ``e^{−r/ℓ}/(4πℓ² r)`` (3D); it is a
    probability density with ``∫_{|z|≥R} k = e^{−R/ℓ}``, ``(R/ℓ) K₁(R/ℓ)``, ``(1 + R/ℓ) e^{−R/ℓ}``.
    As ``ℓ → 0`` it tends to the Dirac mass (the local limit of SVGD).
    """

    def symbol(self, xi2):
        return 1.0 / (1.0 + self.scale**2 * xi2)

    def singular(self, dim: int) -> bool:
        return dim >= 2

    def radial(self, r, dim):
        xp = namespace_of(r)
        l = self.scale
        if dim == 1:
            return xp.exp(-r / l) / (2 * l)
        pos = r > 0
        safe = xp.where(pos, r, 1.0)
        if dim == 2:
            val = _special(xp).k0(safe / l) / (2 * np.pi * l * l)
        else:
            val = xp.exp(-safe / l) / (4 * np.pi * l * l * safe)
        return xp.where(pos, val, np.inf)

    def radial_derivative(self, r, dim):
        xp = namespace_of(r)
        l = self.scale
        if dim == 1:
            return -xp.exp(-r / l) / (2 * l * l)
        if dim == 2:
            return -_special(xp).k1(r / l) / (2 * np.pi * l**3)
        return -xp.exp(-r / l) * (r + l) / (4 * np.pi * l**3 * r * r)

    def tail_mass(self, R, dim):
        x = R / self.scale
        if dim == 1:
            return math.exp(-x)
        if dim == 2:
            import scipy.special as special

            return float(x * special.k1(x)) if x > 0 else 1.0
        return (1 + x) * math.exp(-x)

    def slsi_bounds(self, s_max: float = 1e6, num: int = 4001) -> SLSIBounds:
        """Exact: ``k̂(1+|ξ|²) = (1+|ξ|²)/(1+ℓ²|ξ|²)`` runs monotonically from 1 to ``ℓ^{-2}``."""
        l2 = self.scale**2
        return SLSIBounds(max(1.0, l2), max(1.0, 1 / l2), True, "exact: (1+s²)/(1+ℓ²s²) lies between 1 and ℓ⁻²")


class Gaussian(Kernel):
    """The Gaussian kernel ``(2πσ²)^{−d/2} e^{−|x|²/(2σ²)}``, ``k̂ = e^{−σ²|ξ|²/2}`` (``σ = scale``).

    Smooth and bounded (``k(0) = (2πσ²)^{−d/2}``), but outside the theorem's class: its symbol decays
    faster than ``(1+|ξ|²)^{-1}``.
    """

    def symbol(self, xi2):
        xp = namespace_of(xi2)
        return xp.exp(-0.5 * self.scale**2 * xi2)

    def radial(self, r, dim):
        xp = namespace_of(r)
        s2 = self.scale**2
        return xp.exp(-0.5 * r * r / s2) / (2 * np.pi * s2) ** (dim / 2)

    def radial_derivative(self, r, dim):
        return -r / self.scale**2 * self.radial(r, dim)

    def tail_mass(self, R, dim):
        import scipy.special as special

        return float(special.gammaincc(dim / 2, 0.5 * (R / self.scale) ** 2))


def check_slsi_bounds(kernel: Kernel) -> SLSIBounds:
    """The theorem's constants for ``kernel``; ``ValueError`` saying why if it is not admissible."""
    if not isinstance(kernel, Kernel):
        raise ValueError(f"expected a fieldflow.svgd.kernels.Kernel, got {type(kernel).__name__}")
    bounds = kernel.slsi_bounds()
    if not bounds.admissible:
        raise ValueError(
            f"{kernel!r} does not satisfy the two-sided bound (1/C0)(1+|ξ|²)^-1 ≤ k̂(ξ) ≤ C1 (1+|ξ|²)^-1 "
            f"of the Stein-log-Sobolev theorem: {bounds.detail}; use e.g. fieldflow.svgd.kernels.Bessel(scale)"
        )
    return bounds
