"""Free-energy landscapes over the order parameters: the talk's ``F_K(r)`` and the constrained free energy.

**The Kuramoto profile.**  For ``W = cos θ`` a centred stationary state is ``q ∝ e^{2Kr cos θ}`` with
``r = I_1(2Kr)/I_0(2Kr)``; equivalently ``r`` is a critical point of

.. math::  F_K(r) = K r^2 - \\log\\Big(\\frac1{2\\pi}\\int e^{2Kr\\cos\\theta}\\,d\\theta\\Big) = K r^2 - \\log I_0(2Kr),

since ``F_K'(r) = 2K(r − I_1(2Kr)/I_0(2Kr))``.  At a critical point ``F_K(r) = 2(F(q) − F(1/2π))``.

**The constrained free energy** over the moments ``r = (r_k)`` of the modes of ``W``,

.. math::  \\Delta\\tilde F_K(r) = \\min\\Big\\{F(q) - F(\\tfrac1{2\\pi}) : \\int\\cos(k\\theta)\\,q = r_k,\\
           \\int \\sin(k\\theta)\\,q = 0\\Big\\} = \\tfrac12\\Lambda^*(r) - \\tfrac K2 \\sum_k c_k r_k^2 ,

because the interaction term is fixed by the moments and the entropy term is minimised by the
exponential family ``q_a ∝ e^{Σ a_k cos kθ}`` with ``⟨cos kθ⟩_a = r`` (maximum entropy):
``Λ*(r) = sup_a (a·r − Λ(a))``, ``Λ(a) = log (1/2π)∫e^{a·cos}``, the relative entropy of ``q_a``.
Its critical points are the stationary states (``a = 2K c∘r``), where it equals ``F − F(uniform)``,
and it is finite exactly on the interior of the moment space (for ``(cos θ, cos 2θ)``:
``2r_1² − 1 < r_2 < 1``).  ``Λ*`` is evaluated by Newton's method on the convex ``Λ(a) − a·r``
(gradient ``μ(a) − r``, Hessian ``Σ(a)``) with backtracking, vectorised over the points.  Unlike
``F_K(r)``, ``ΔF̃`` is a free energy at every ``r``: its minimum over ``r`` is the minimum of ``F``
over even states.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ive

from ..core.validation import integer, real_array, real_number
from .interactions import Fourier
from .self_consistency import SelfConsistency

__all__ = ["kuramoto_free_energy_profile", "constrained_free_energy", "Landscape", "free_energy_landscape"]


def kuramoto_free_energy_profile(K: float, r: Any) -> np.ndarray:
    """The parameterised Kuramoto free energy ``F_K(r) = K r² − log I_0(2Kr)`` (dimensionless).

    ``log I_0(x) = log(ive(0, x)) + |x|`` keeps full precision for large ``x``; beyond ``|x| = 10⁸`` (where SciPy's
    ``ive`` stops) the asymptotic ``log I_0(x) = |x| − ½ log(2π|x|) + log(1 + 1/(8|x|)) + O(x⁻²)`` is exact to
    round-off.  ``r`` is an order parameter, in ``[−1, 1]``.
    """
    K = real_number(K, "the coupling K", positive=True, hint="the interaction strength of K W")
    r = real_array(r, "r", hint="the order parameter(s) r in [−1, 1]")
    if r.size and np.max(np.abs(r)) > 1:
        raise ValueError(f"r must lie in [−1, 1] (an order parameter |∫e^{{iθ}}q|), got max|r| = "
                         f"{np.max(np.abs(r)):.6g}; pass values in [−1, 1]")
    x = 2 * K * r
    ax = np.abs(x)
    large = ax > 1e8
    far = np.where(large, ax, 1e8)
    log_i0 = ax + np.where(large, -0.5 * np.log(2 * math.pi * far) + np.log1p(1 / (8 * far)),
                           np.log(ive(0, np.where(large, 0.0, x))))
    return K * r * r - log_i0


def _legendre(system: SelfConsistency, r: np.ndarray, a_max: float, tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray]:
    """``Λ*(r)`` and the maximiser ``a`` for the rows of ``r``; NaN where ``|a|`` would exceed ``a_max``."""
    a = 2 * r.copy()  # μ(a) ≈ a/2 for small a
    value = system.log_partition(a) - (a * r).sum(axis=1)
    active = np.arange(len(r))
    for _ in range(80):
        if active.size == 0:
            break
        mu, cov = system.mean_covariance(system.weights(a[active]))
        grad = mu - r[active]
        done = np.max(np.abs(grad), axis=1) < tol
        active, grad, cov = active[~done], grad[~done], cov[~done]
        if active.size == 0:
            break
        step = np.linalg.solve(cov, grad[..., None])[..., 0]
        trial = a[active] - step
        f = system.log_partition(trial) - (trial * r[active]).sum(axis=1)
        for _ in range(40):  # backtracking (the objective may not rise beyond round-off), on the failing points only
            bad = np.flatnonzero(f > value[active] + 1e-14 * np.maximum(1.0, np.abs(value[active])))
            if bad.size == 0:
                break
            step[bad] /= 2
            trial[bad] = a[active[bad]] - step[bad]
            f[bad] = system.log_partition(trial[bad]) - (trial[bad] * r[active[bad]]).sum(axis=1)
        a[active], value[active] = trial, f
        escaped = np.max(np.abs(trial), axis=1) > a_max
        a[active[escaped]] = np.nan
        active = active[~escaped]
    out = -value
    out[np.any(np.isnan(a), axis=1)] = np.nan
    out[active] = np.nan  # not converged
    return out, a


def constrained_free_energy(W: Fourier, K: float, moments: Any, n: int = 1024, a_max: float = 60.0) -> np.ndarray:
    """``ΔF̃_K(r) = ½Λ*(r) − (K/2)Σ c_k r_k²``: the least ``F(q) − F(uniform)`` among even ``q`` with moments ``r``.

    Parameters
    ----------
    W : Fourier
    K : float
        Coupling (> 0).
    moments : array (..., M)
        ``r_k = ∫ cos(kθ) q`` for the modes of ``W`` (``M = len(W.modes)``).
    n : int
        Quadrature nodes (resolves exponents up to ``a_max``).
    a_max : float
        Points whose maximum-entropy exponent exceeds this (the edge of the moment space) give NaN.

    Returns
    -------
    ndarray of shape ``moments.shape[:-1]`` (NaN outside the moment space or beyond ``a_max``).
    """
    if not isinstance(W, Fourier):
        raise ValueError(f"W must be a Fourier interaction, got {type(W).__name__}")
    K = real_number(K, "the coupling K", positive=True, hint="the interaction strength of K W")
    n = integer(n, "n", minimum=16, maximum=2**20, hint="the quadrature nodes on the circle")
    a_max = real_number(a_max, "a_max", positive=True, maximum=700, hint="the largest maximum-entropy exponent")
    r = real_array(moments, "moments", hint="the moments r_k = ∫cos(kθ)q, one per mode of W on the last axis")
    M = len(W.modes)
    if r.shape[-1:] != (M,):
        raise ValueError(f"moments must have a last axis of length {M} (one per mode {W.modes}), got shape {r.shape}")
    system = SelfConsistency(W, n)
    flat = r.reshape(-1, M)
    out = np.full(flat.shape[0], np.nan)
    inside = np.all(np.abs(flat) < 1, axis=1)
    entropy, _ = _legendre(system, flat[inside], a_max)
    out[inside] = 0.5 * entropy - 0.5 * K * (flat[inside] ** 2 * system.c).sum(axis=1)
    return out.reshape(r.shape[:-1])


@dataclass
class Landscape:
    """``ΔF̃_K`` on a grid of ``(r_1, r_2)`` with the stationary states at ``K``.

    Attributes
    ----------
    K : float
    r1, r2 : ndarray
        Grid axes (``r_k = ∫ cos(kθ) q``).
    values : ndarray (len(r1), len(r2))
        ``ΔF̃_K`` (NaN outside the moment space).
    states : list of dict
        ``{"r1", "r2", "delta_free_energy", "stable"}`` for each centred stationary state
        (:func:`~fieldflow.mckean_vlasov.stationary_states`) and its even images: under ``θ → θ + π``, and
        under ``θ → θ + π/2`` for a ``π``-periodic state.
    """

    K: float
    r1: np.ndarray
    r2: np.ndarray
    values: np.ndarray
    states: list[dict[str, Any]]

    def __repr__(self) -> str:
        stable = sum(bool(s["stable"]) for s in self.states)
        return (f"Landscape(K={self.K:.6g}, {self.r1.size} × {self.r2.size} points on (r1, r2), "
                f"{len(self.states)} stationary states ({stable} stable), "
                f"min ΔF̃ = {np.nanmin(self.values):.4g})")


def free_energy_landscape(W: Fourier, K: float, r1: Any, r2: Any, n: int = 512, a_max: float = 40.0) -> Landscape:
    """:func:`constrained_free_energy` of a two-mode interaction (modes 1 and 2) on the grid ``r1 × r2``.

    Points outside the moment space ``2r_1² − 1 < r_2 < 1`` are NaN without computation; ``n`` and
    ``a_max`` as in :func:`constrained_free_energy`.
    """
    from .stationary import stationary_states

    if not isinstance(W, Fourier) or W.modes != (1, 2):
        raise ValueError(f"W must be a Fourier interaction with modes (1, 2) (free_energy_landscape draws the "
                         f"(r_1, r_2) plane), e.g. kuramoto_daido(m) with m != 0; got {W!r}")
    r1 = real_array(r1, "r1", ndim=(0, 1), hint="the values of the moment r_1 = ∫cos θ q")
    r2 = real_array(r2, "r2", ndim=(0, 1), hint="the values of the moment r_2 = ∫cos 2θ q")
    for name, r in (("r1", r1), ("r2", r2)):
        if r.size and np.max(np.abs(r)) > 1:
            raise ValueError(f"{name} must lie in [−1, 1] (a moment ∫cos(kθ)q of a probability density), got "
                             f"max|{name}| = {np.max(np.abs(r)):.6g}; pass values in [−1, 1]")
    grid = np.stack(np.meshgrid(r1, r2, indexing="ij"), axis=-1)
    # the moment space of (cos θ, cos 2θ) = (c, 2c² − 1), c ∈ [−1, 1], is the region above the parabola
    inside = (grid[..., 1] > 2 * grid[..., 0] ** 2 - 1) & (grid[..., 1] < 1)
    values = np.full(inside.shape, np.nan)
    values[inside] = constrained_free_energy(W, K, grid[inside], n=n, a_max=a_max)
    F0 = -0.5 * math.log(2 * math.pi)
    states = []
    for s in stationary_states(W, K):
        x1, x2 = s.moments
        # the images under θ → θ + π (r_1 → −r_1) and, for π-periodic states, θ → θ + π/2 (r_2 → −r_2)
        images = {(x1, x2), (-x1, x2)} if abs(x1) > 1e-12 else {(0.0, x2), (0.0, -x2)}
        states += [{"r1": a, "r2": b, "delta_free_energy": s.free_energy - F0, "stable": s.stable}
                   for a, b in sorted(images)]
    return Landscape(K=float(K), r1=r1, r2=r2, values=values, states=states)
