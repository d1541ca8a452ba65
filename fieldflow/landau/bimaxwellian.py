"""Temperature relaxation of a bi-Maxwellian under the Landau equation: exact rate and Gaussian closure.

For a Gaussian ``f`` with zero mean and diagonal covariance ``Σ = diag(T_∥, T_⊥[, T_⊥])`` (velocity dimension
``d = 2`` or ``3``, the ``d − 1`` perpendicular temperatures equal), the Landau velocity field driven by a
*linear* score ``F(v) = −P v``, ``P = diag(p_∥, p_⊥[, p_⊥])``, is

.. math::  u(v) = \\int A(v - v_*)\\,P\\,(v - v_*)\\, f(v_*)\\,dv_* ,

and the anisotropy ``ΔT = ∫ (v_∥² − v_⊥²) f`` changes at the rate (symmetrising over the pair ``v, v_*``, with
``z = v − v_*`` distributed as ``N(0, 2Σ)``, ``A(z)z = 0`` and ``ω = z/|z|``)

.. math::

    \\frac{d\\,ΔT}{dt} = C\\,(p_∥ - p_⊥)\\;\\mathbb{E}\\big[|z|^{γ+4}\\, ω_∥^2\\,(1 - ω_∥^2 + ω_⊥^2)\\big].

The expectation is a one-dimensional integral: the radial part is a Gamma function,
``∫_0^∞ r^{γ+3+d} e^{−r²q(ω)/2} dr = ½ (2/q)^{(γ+4+d)/2} Γ((γ+4+d)/2)`` with ``q(ω) = ωᵀ(2Σ)^{−1}ω``, and the
angular part is an integral over ``μ = ω_∥ = cos θ`` (3D, after averaging over the azimuth) or ``θ`` (2D).

* The Landau equation itself has ``P = Σ^{−1}`` (the exact score of the Gaussian): :func:`anisotropy_rate`
  with ``epsilon = 0`` is the exact initial relaxation rate of a bi-Maxwellian, the reference for the grid
  solver (:class:`~fieldflow.Landau`).
* The blob particle method (:class:`~fieldflow.landau.particles.BlobLandau`) replaces the score by the gradient
  of the first variation of the mollified entropy, ``∇ψ_ε*log(ψ_ε*f)``; for a Gaussian ``ψ_ε*f`` has covariance
  ``Σ + ε²I``, the log is quadratic and the outer mollification leaves its gradient unchanged, so
  ``P = (Σ + ε²I)^{−1}`` exactly: in the limit of many particles at fixed ``ε`` the blob rate is the exact rate
  times ``r(ε) = T_∥T_⊥/((T_∥ + ε²)(T_⊥ + ε²))`` (:func:`blob_rate_factor`).

:func:`closure_relaxation` integrates the Gaussian closure ``dT_∥/dt = ((d−1)/d)·dΔT/dt`` (energy
``T_∥ + (d−1)T_⊥`` conserved), which assumes ``f`` stays bi-Maxwellian — a model for the Landau solution (its
deviation measures how non-Gaussian the true relaxation is), and, with ``epsilon``, for the blob method.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..core.backend import namespace_of
from ..core.grids import Grid

from .collision import check_gamma

__all__ = ["anisotropy_rate", "blob_rate_factor", "closure_relaxation", "grid_anisotropy_rate",
           "particle_anisotropy_rate"]


def _temperatures(temperatures: Sequence[float]) -> tuple[int, float, float]:
    T = [float(x) for x in temperatures]
    if len(T) not in (2, 3):
        raise ValueError(f"temperatures must be (T_par, T_perp) in 2D or (T_par, T_perp, T_perp) in 3D, got {T}")
    if not all(math.isfinite(x) and x > 0 for x in T):
        raise ValueError(f"temperatures must be positive and finite, got {T}")
    if len(T) == 3 and not math.isclose(T[1], T[2], rel_tol=1e-12):
        raise ValueError(f"the two perpendicular temperatures must be equal (axisymmetric bi-Maxwellian), got {T}")
    return len(T), T[0], T[1]


def blob_rate_factor(temperatures: Sequence[float], epsilon: float) -> float:
    """``r(ε) = T_∥T_⊥/((T_∥ + ε²)(T_⊥ + ε²))``: blob rate / exact rate for a bi-Maxwellian (``N → ∞``)."""
    _, Tp, Tq = _temperatures(temperatures)
    e2 = float(epsilon) ** 2
    return Tp * Tq / ((Tp + e2) * (Tq + e2))


def anisotropy_rate(temperatures: Sequence[float], gamma: float, C: float, epsilon: float = 0.0) -> float:
    """``d(T_∥ − T_⊥)/dt`` at ``t = 0`` for a centred bi-Maxwellian of unit mass (module docstring).

    Parameters
    ----------
    temperatures : (T_par, T_perp) or (T_par, T_perp, T_perp)
        Temperatures (velocity² units); the dimension is their number.
    gamma, C : float
        Kernel ``A(z) = C|z|^{γ+2}(I − ẑ⊗ẑ)``, ``γ ∈ [−3, 1]``.
    epsilon : float
        Blob mollifier width: ``0`` for the Landau equation, ``ε > 0`` for the ``N → ∞`` limit of the blob method.

    Returns
    -------
    float
        The rate (velocity²/time); negative when ``T_∥ > T_⊥`` (relaxation).  Accurate to ~1e-12 relative.
    """
    from scipy.integrate import quad

    d, Tp, Tq = _temperatures(temperatures)
    gamma, C = check_gamma(gamma, C)
    e2 = float(epsilon) ** 2
    if not (math.isfinite(e2) and epsilon >= 0):
        raise ValueError(f"epsilon must be non-negative and finite, got {epsilon!r}")
    sp, sq = 2 * Tp, 2 * Tq  # covariance of z = v − v_*
    m = (gamma + 4 + d) / 2
    radial = 0.5 * math.gamma(m) * 2**m

    if d == 3:
        def integrand(mu: float) -> float:
            q = mu * mu / sp + (1 - mu * mu) / sq
            return 2 * math.pi * mu * mu * (1 - mu * mu + (1 - mu * mu) / 2) * radial * q ** (-m)

        angular, _ = quad(integrand, -1.0, 1.0, epsabs=0.0, epsrel=1e-13, limit=200)
        norm = (2 * math.pi) ** -1.5 / math.sqrt(sp * sq * sq)
    else:
        def integrand(theta: float) -> float:
            c2, s2 = math.cos(theta) ** 2, math.sin(theta) ** 2
            q = c2 / sp + s2 / sq
            return 2 * c2 * s2 * radial * q ** (-m)

        angular, _ = quad(integrand, 0.0, 2 * math.pi, epsabs=0.0, epsrel=1e-13, limit=200)
        norm = 1 / (2 * math.pi * math.sqrt(sp * sq))
    return C * (1 / (Tp + e2) - 1 / (Tq + e2)) * norm * angular


def closure_relaxation(temperatures: Sequence[float], gamma: float, C: float, times: Sequence[float],
                       epsilon: float = 0.0) -> np.ndarray:
    """``(T_∥(t), T_⊥(t))`` at ``times`` (shape ``(len(times), 2)``) under the bi-Maxwellian closure.

    Solves ``dΔT/dt = R(T_∥, T_⊥)`` (:func:`anisotropy_rate`) with ``T_∥ + (d−1)T_⊥`` fixed, by an adaptive
    Runge–Kutta method to relative tolerance 1e-10.
    """
    from scipy.integrate import solve_ivp

    d, Tp, Tq = _temperatures(temperatures)
    times = np.asarray(times, dtype=float)
    if times.ndim != 1 or times.size == 0 or np.any(np.diff(times) < 0) or times[0] < 0:
        raise ValueError("times must be a non-empty, non-decreasing sequence of non-negative times")
    energy = Tp + (d - 1) * Tq

    def split(dT: float) -> tuple[float, float]:
        perp = (energy - dT) / d
        return perp + dT, perp

    def rhs(_t: float, y: np.ndarray) -> list[float]:
        par, perp = split(float(y[0]))
        if math.isclose(par, perp, rel_tol=1e-14):
            return [0.0]
        return [anisotropy_rate((par, *[perp] * (d - 1)), gamma, C, epsilon)]

    sol = solve_ivp(rhs, (0.0, float(times[-1])), [Tp - Tq], t_eval=times, rtol=1e-10, atol=1e-13, method="RK45")
    if not sol.success:
        raise RuntimeError(f"closure integration failed: {sol.message}")
    return np.array([split(dT) for dT in sol.y[0]])


def grid_anisotropy_rate(grid: Grid, dfdt: Any) -> float:
    """``d/dt ∫ (v_1² − v_d²) f dv = ∫ (v_1² − v_d²) ∂_t f dv`` for a grid time derivative ``dfdt``.

    Equal to ``d(T_∥ − T_⊥)/dt`` for centred data of unit mass (momentum is conserved, so the mean stays 0).
    """
    X = grid.points
    return float(grid.integrate(dfdt * (X[..., 0] ** 2 - X[..., -1] ** 2)))


def particle_anisotropy_rate(v: Any, w: Any, u: Any) -> float:
    """``d/dt Σ_i w_i (v_{i,1}² − v_{i,d}²) = Σ_i 2 w_i (v_{i,1}u_{i,1} − v_{i,d}u_{i,d})`` for particles ``v`` with
    weights ``w`` moving with velocities ``u``; ``d(T_∥ − T_⊥)/dt`` for centred particles of unit mass."""
    xp = namespace_of(v)
    return float(xp.sum(w * 2 * (v[:, 0] * u[:, 0] - v[:, -1] * u[:, -1])))
