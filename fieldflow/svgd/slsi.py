"""Stein-log-Sobolev tools: the measured KL decay rate, the theorem's constant, the energy-dissipation identity.

For mean-field SVGD (:ref:`conventions-svgd`) the Stein-log-Sobolev inequality ``λ KL(ρ‖ρ∞) ≤ 𝔻²(ρ)`` gives
``KL(t) ≤ e^{−λt} KL(0)``; Carrillo–Skrzeczkowski–Warnett prove it for ``V ≥ α|x|² + β`` and kernels
with ``k̂(ξ) ≥ (1/C)(1 + |ξ|²)^{-1}``, with

.. math:: \\lambda = \\lambda_0\\,(\\alpha\\wedge 1)\\,e^{\\beta}\\,\\frac{1}{C^2\\,\\|e^{-V}\\|_{L^1}}

for a dimension-free ``λ₀``.  Along a solution, ``KL(t) + ∫₀ᵗ 𝔻² ds = KL(0)``.
"""

from __future__ import annotations


import numpy as np

from .kernels import Kernel, check_slsi_bounds
from ..core.trajectory import RateFit, Trajectory
from ..core.validation import real_number

__all__ = ["kl_rate", "slsi_quotient", "slsi_constant", "theorem_rate", "energy_dissipation_defect"]


def kl_rate(traj: Trajectory, window: tuple[float, float] | None = None) -> RateFit:
    """The measured constant: least-squares fit ``KL(t) ≈ C e^{−λt}`` (see :meth:`Trajectory.fit_exponential_rate`)."""
    return traj.fit_exponential_rate("kl", window=window, full=True)


def slsi_quotient(traj: Trajectory) -> np.ndarray:
    """``𝔻²/KL`` along the run: every value bounds the best SLSI constant from above (``λ ≤ inf_t 𝔻²/KL``)."""
    kl, d2 = traj["kl"], traj["dissipation"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(kl > 0, d2 / kl, np.nan)


def slsi_constant(traj: Trajectory) -> float:
    """``inf_t 𝔻²/KL`` over the recorded diagnostics: an upper bound on the best Stein-log-Sobolev constant
    ``λ* = inf_ρ 𝔻²(ρ)/KL(ρ)`` estimated along one trajectory (samples where KL is at round-off excluded:
    ``KL > 1e-12·KL(0)``).  Near equilibrium ``𝔻²/KL → 2μ₁`` (:func:`fieldflow.svgd.stein_poincare`), so the
    estimate is at most ``2μ₁`` up to the trajectory's sampling."""
    kl, d2 = traj["kl"], traj["dissipation"]
    keep = np.isfinite(kl) & np.isfinite(d2) & (kl > 1e-12 * kl[0])
    if not keep.any():
        raise ValueError("no diagnostics sample with KL above round-off; record 'kl' and 'dissipation' along the run")
    return float(np.min(d2[keep] / kl[keep]))


def theorem_rate(alpha: float, beta: float, kernel: Kernel, mass_e_minus_v: float) -> float:
    """``(α∧1) e^β / (C² ‖e^{−V}‖_{L¹})`` — the theorem's rate without its unknown factor ``λ₀``.

    ``C`` is ``C0`` of :func:`fieldflow.svgd.kernels.check_slsi_bounds` (``ValueError`` for kernels outside
    the theorem's class); ``mass_e_minus_v = ∫ e^{−V} dx`` (e.g. ``exp(pde.log_Z)``).
    """
    alpha = real_number(alpha, "alpha", positive=True)
    beta = real_number(beta, "beta", maximum=700.0, hint="e^β must be finite")
    mass_e_minus_v = real_number(mass_e_minus_v, "mass_e_minus_v", positive=True, hint="∫e^(-V) dx")
    C = check_slsi_bounds(kernel).C0
    return float(min(alpha, 1.0) * np.exp(beta) / (C**2 * mass_e_minus_v))


def energy_dissipation_defect(traj: Trajectory) -> np.ndarray:
    """``(KL(t) + ∫₀ᵗ 𝔻² ds − KL(0)) / KL(0)`` at the diagnostics times (trapezoidal rule in time).

    Zero for the exact flow; for the semi-discrete scheme the identity is exact, so the defect
    measures the time discretisation (``O(Δt²)`` for TR-BDF2 with diagnostics at every step).
    """
    t, kl, d2 = traj["t"], traj["kl"], traj["dissipation"]
    if t.size < 2 or not (np.all(np.isfinite(kl)) and np.all(np.isfinite(d2))):
        raise ValueError("the trajectory needs finite 'kl' and 'dissipation' diagnostics at two or more times")
    integral = np.concatenate([[0.0], np.cumsum(0.5 * (d2[1:] + d2[:-1]) * np.diff(t))])
    return (kl + integral - kl[0]) / kl[0]
