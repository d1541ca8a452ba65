"""The Landau collision kernel and the exact BKW solution for Maxwell molecules.

The homogeneous Landau equation (:ref:`conventions-landau`) in velocity dimension ``d ∈ {2, 3}``,

.. math::

    \\partial_t f = \\nabla\\cdot\\int A(v - v_*)\\,\\big(f_* \\nabla f - f\\, \\nabla_* f_*\\big)\\,dv_*
                  = \\nabla\\cdot\\big((A*f)\\nabla f - (b*f) f\\big),

    A(z) = C\\,|z|^{\\gamma+2}\\Big(I - \\frac{z\\otimes z}{|z|^2}\\Big), \\qquad
    b(z) = \\nabla\\cdot A(z) = -C\\,(d-1)\\,|z|^{\\gamma} z .

Maxwell molecules (``γ = 0``) have the exact Bobylev–Krook–Wu solution.  **Derivation for this
normalisation.**  For ``γ = 0`` and ``f`` with unit mass, zero mean and second-moment matrix ``M``,
``A*f (v) = C[(|v|² + tr M) I − v⊗v − M]`` and ``b*f (v) = −C(d−1) v``.  If ``f`` is radial with
energy ``tr M = d`` (temperature 1), ``M = I`` and ``(A*f)∇f = C(d−1)∇f`` (because ``∇f ∥ v``), so the
equation reduces to the Ornstein–Uhlenbeck equation ``∂t f = c ∇·(∇f + v f)`` with ``c = C(d−1)``,
whose solution in Fourier variables is ``f̂(t, ξ) = f̂(0, ξ e^{−ct}) e^{−|ξ|²(1−e^{−2ct})/2}``.  The
two-parameter family

.. math::

    f(t, v) = \\frac{e^{-|v|^2/(2K)}}{(2\\pi K)^{d/2}}\\Big(P + Q|v|^2\\Big),\\qquad
    P = \\frac{(d+2)K - d}{2K},\\quad Q = \\frac{1-K}{2K^2},

has unit mass, zero mean and energy ``d`` for every ``K`` (these fix ``P`` and ``Q``), and Fourier
transform ``e^{−K|ξ|²/2}(1 − (1−K)|ξ|²/2)``; inserting it in the OU solution formula shows that it
is preserved with ``1 − K(t) = (1 − K(0)) e^{−2ct}``.  Hence

.. math::  K(t) = 1 - \\alpha\\, e^{-2C(d-1)t},

and with the customary constants ``C = 1/16`` in 2D (``α = 1/2``: ``K = 1 − e^{−t/8}/2``) and
``C = 1/24`` in 3D (``α = 1``: ``K = 1 − e^{−t/6}``, positive only for ``K ≥ 3/5``, i.e.
``t ≥ 6 log(5/2) ≈ 5.498``).  Moments: mass 1, momentum 0, energy ``∫|v|²f = d``, and
``∫|v|⁴ f = d(d+2) K (2 − K)``.  The tests check numerically that this ``f`` satisfies the Landau
equation itself (not only the OU reduction), with the grid solver's right-hand side.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.backend import namespace_of
from ..core.grids import Grid
from ..core.validation import integer, one_of, real_number

__all__ = ["collision_kernel", "kernel_divergence", "bkw_constant", "BKW", "bkw", "check_gamma"]


def bkw_constant(dim: int) -> float:
    """The collision constant ``C`` of the BKW normalisation: ``1/16`` in 2D and ``1/24`` in 3D."""
    if dim not in (2, 3):
        raise ValueError(f"the Landau equation is implemented in velocity dimension 2 or 3, got {dim}")
    return 1.0 / 16.0 if dim == 2 else 1.0 / 24.0


def check_gamma(gamma: float, C: float) -> tuple[float, float]:
    """Validate the kernel exponent ``γ ∈ [−3, 1]`` and the constant ``C > 0``."""
    gamma = real_number(gamma, "gamma", minimum=-3.0, maximum=1.0,
                        hint="−3: Coulomb, 0: Maxwell molecules, 1: hard spheres")
    C = real_number(C, "the collision constant C", positive=True)
    return gamma, C


def _unit_interval(value: Any, name: str) -> float:
    """``value`` checked to lie in the open interval ``(0, 1)`` (a relative tolerance)."""
    x = real_number(value, name, positive=True, maximum=1.0, hint="a fraction in (0, 1)")
    if x == 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got 1.0; a fraction in (0, 1)")
    return x


def collision_kernel(z: Any, gamma: float, C: float) -> Any:
    """``A(z) = C |z|^{γ+2} (I − z⊗z/|z|²)`` for offsets ``z`` of shape ``(..., d)``; shape ``(..., d, d)``.

    ``A(0)`` is set to ``0``: every use in fieldflow multiplies ``A(v − v*)`` by a difference that
    vanishes at ``v = v*`` (``∇log f − ∇*log f*``), so the self-interaction never contributes, and for
    ``γ ≤ −2`` the kernel's singularity at the origin is integrable against it (see the Coulomb notes in
    ``docs/equations/landau.rst``).
    """
    xp = namespace_of(z)
    d = z.shape[-1]
    r2 = xp.sum(z * z, axis=-1)
    zero = r2 == 0
    safe = xp.where(zero, 1.0, r2)
    scale = xp.where(zero, 0.0, C * safe ** ((gamma + 2) / 2))
    eye = xp.eye(d)
    proj = eye - z[..., :, None] * z[..., None, :] / safe[..., None, None]
    return scale[..., None, None] * proj


def kernel_divergence(z: Any, gamma: float, C: float) -> Any:
    """``b(z) = ∇·A(z) = −C (d−1) |z|^γ z`` (row divergence), with ``b(0) = 0``; shape ``(..., d)``."""
    xp = namespace_of(z)
    d = z.shape[-1]
    r2 = xp.sum(z * z, axis=-1)
    zero = r2 == 0
    safe = xp.where(zero, 1.0, r2)
    scale = xp.where(zero, 0.0, -C * (d - 1) * safe ** (gamma / 2))
    return scale[..., None] * z


class BKW:
    """The BKW solution of the Maxwell-molecule (``γ = 0``) Landau equation with constant ``C``.

    ``f(t, v) = (2πK)^{−d/2} e^{−|v|²/(2K)} (P + Q|v|²)``, ``K(t) = 1 − α e^{−2C(d−1)t}`` (see the module
    docstring for the derivation); unit mass, zero momentum, energy ``d`` (temperature 1).

    Parameters
    ----------
    dim : {2, 3}
        Velocity dimension.
    C : float, optional
        Collision constant (default :func:`bkw_constant`: 1/16 in 2D, 1/24 in 3D).
    alpha : float, optional
        ``1 − K(0)``; default 1/2 in 2D and 1 in 3D (the customary choices). ``f`` is a density
        (non-negative) exactly when ``K ≥ d/(d+2)``.
    """

    def __init__(self, dim: int, C: float | None = None, alpha: float | None = None):
        self.dim = one_of(integer(dim, "dim"), "dim", (2, 3), hint="the BKW solution is implemented in 2D and 3D")
        self.C = bkw_constant(self.dim) if C is None else check_gamma(0.0, C)[1]
        self.alpha = (0.5 if self.dim == 2 else 1.0) if alpha is None else \
            real_number(alpha, "alpha", minimum=0.0, maximum=1.0, hint="alpha = 1 − K(0)")
        self.rate = 2 * self.C * (self.dim - 1)
        d = self.dim
        # earliest time at which f ≥ 0: K(t) = d/(d+2)
        k_min = d / (d + 2)
        self.t_min = 0.0 if 1 - self.alpha >= k_min else math.log(self.alpha / (1 - k_min)) / self.rate

    # ------------------------------------------------------------------ parameters
    def K(self, t: Any) -> Any:
        """``K(t) = 1 − α e^{−2C(d−1)t}``."""
        return 1.0 - self.alpha * np.exp(-self.rate * np.asarray(t, dtype=float))

    def _check_time(self, t: float) -> float:
        t = real_number(t, "t", hint="the time of the BKW profile")
        if not (math.isfinite(t) and t >= self.t_min - 1e-12):
            raise ValueError(
                f"the {self.dim}D BKW profile is a density only for t ≥ {self.t_min:.6g} (K ≥ d/(d+2)); got t={t}"
            )
        return t

    def coefficients(self, t: float) -> tuple[float, float, float]:
        """``(K, P, Q)`` at time ``t``."""
        K = float(self.K(self._check_time(t)))
        d = self.dim
        return K, ((d + 2) * K - d) / (2 * K), (1 - K) / (2 * K * K)

    # ------------------------------------------------------------------ pointwise
    def density(self, v: Any, t: float) -> Any:
        """``f(t, v)`` at velocities ``v`` of shape ``(..., d)``."""
        xp = namespace_of(v)
        K, P, Q = self.coefficients(t)
        r2 = xp.sum(v * v, axis=-1)
        return xp.exp(-r2 / (2 * K)) * (P + Q * r2) / (2 * math.pi * K) ** (self.dim / 2)

    def score(self, v: Any, t: float) -> Any:
        """``∇ log f(t, v) = v (2Q/(P + Q|v|²) − 1/K)``, shape ``(..., d)``."""
        xp = namespace_of(v)
        K, P, Q = self.coefficients(t)
        r2 = xp.sum(v * v, axis=-1)
        return v * (2 * Q / (P + Q * r2) - 1 / K)[..., None]

    def time_derivative(self, v: Any, t: float) -> Any:
        """``∂t f(t, v)`` in closed form (used to check that ``f`` solves the Landau equation)."""
        xp = namespace_of(v)
        K, P, Q = self.coefficients(t)
        d = self.dim
        dK = self.rate * (1 - K)
        dP = d / (2 * K * K) * dK
        dQ = (-(1 / (2 * K * K)) - (1 - K) / K**3) * dK
        r2 = xp.sum(v * v, axis=-1)
        g = xp.exp(-r2 / (2 * K)) / (2 * math.pi * K) ** (d / 2)
        dlogg = (-d / (2 * K) + r2 / (2 * K * K)) * dK
        return g * (dlogg * (P + Q * r2) + dP + dQ * r2)

    # ------------------------------------------------------------------ integrals
    def moments(self, t: float) -> dict[str, float]:
        """Mass, momentum (zero), energy ``∫|v|² f = d``, temperature 1, fourth moment ``d(d+2)K(2−K)``."""
        K, _, _ = self.coefficients(t)
        d = self.dim
        return {"mass": 1.0, "momentum": 0.0, "energy": float(d), "temperature": 1.0,
                "fourth_moment": d * (d + 2) * K * (2 - K)}

    def _radial(self, t: float, integrand: Any) -> float:
        """``∫ g dv`` for radial ``g = integrand(r, log f, P + Q r², K, Q)`` (zero where ``f`` vanishes)."""
        from scipy.integrate import quad

        K, P, Q = self.coefficients(t)
        d = self.dim
        area = 2 * math.pi ** (d / 2) / math.gamma(d / 2)
        rmax = math.sqrt(K) * 40.0

        def radial(r: float) -> float:
            poly = P + Q * r * r
            if poly <= 0:
                return 0.0
            logf = -r * r / (2 * K) + math.log(poly) - (d / 2) * math.log(2 * math.pi * K)
            return area * r ** (d - 1) * integrand(r, logf, poly, K, Q)

        value, _ = quad(radial, 0.0, rmax, limit=400, epsabs=1e-14, epsrel=1e-12, points=[math.sqrt(K)])
        return value

    def entropy(self, t: float) -> float:
        """Boltzmann entropy ``H(t) = ∫ f log f dv`` (radial quadrature, ~1e-12 accurate)."""
        return self._radial(t, lambda r, logf, poly, K, Q: math.exp(logf) * logf)

    def fisher(self, t: float) -> float:
        """Fisher information ``I(t) = ∫ f |∇ log f|² dv`` (``∂_r log f = r (2Q/(P + Q r²) − 1/K)``)."""
        return self._radial(t, lambda r, logf, poly, K, Q: math.exp(logf) * (r * (2 * Q / poly - 1 / K)) ** 2)

    # ------------------------------------------------------------------ samples
    def sample(self, n: int, t: float, seed: int | None = 0) -> np.ndarray:
        """``n`` independent samples of ``f(t, ·)``, shape ``(n, d)``.

        ``f`` is the mixture ``P·N(0, K I) + (Q d K)·ρ₂`` with ``ρ₂ ∝ |v|² e^{−|v|²/(2K)}``, whose radius
        is that of a ``(d+2)``-dimensional ``N(0, K I)`` vector.
        """
        K, P, Q = self.coefficients(t)
        d = self.dim
        rng = np.random.default_rng(seed)
        second = rng.random(n) < Q * d * K
        gauss = rng.standard_normal((n, d)) * math.sqrt(K)
        radius = np.linalg.norm(rng.standard_normal((n, d + 2)), axis=1) * math.sqrt(K)
        direction = rng.standard_normal((n, d))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        return np.where(second[:, None], radius[:, None] * direction, gauss)


def bkw(v: Grid | Any, t: float, dim: int | None = None, C: float | None = None, alpha: float | None = None) -> Any:
    """The BKW density ``f(t, v)`` (Maxwell molecules) at velocities ``v`` or on a grid.

    Parameters
    ----------
    v : Grid or array
        A box :class:`~fieldflow.core.grids.Grid` (returns the grid array) or velocities of shape ``(..., d)``.
    t : float
        Time (``t ≥ 6 log(5/2)`` in 3D with the default ``alpha``).
    dim : int, optional
        Velocity dimension (default: from ``v``).
    C, alpha : float, optional
        See :class:`BKW`.

    Examples
    --------
    >>> import fieldflow as ff
    >>> grid = ff.Grid.box(64, 6.0, dim=2)
    >>> f = ff.landau.bkw(grid, t=1.0)          # 2D, C = 1/16
    >>> round(grid.integrate(f), 6)
    1.0
    """
    points = v.points if isinstance(v, Grid) else v
    d = int(points.shape[-1]) if dim is None else int(dim)
    return BKW(d, C=C, alpha=alpha).density(points, t)
