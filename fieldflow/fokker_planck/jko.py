"""The one-dimensional Fokker–Planck equation by the JKO scheme on quantiles: a step map run by ``evolve``.

``∂t ρ = ∂_x(D ∂_x ρ + ρ ∂_x V)`` is the Wasserstein gradient flow of ``F(ρ) = ∫ V ρ + D ∫ ρ log ρ``
(Jordan–Kinderlehrer–Otto); one step of size ``τ`` is

.. math:: ρ_{k+1} = \\arg\\min_ρ\\ F(ρ) + \\frac{W_2^2(ρ, ρ_k)}{2τ}.

On ``N`` quantiles ``X_i`` of mass ``1/N`` (levels ``m_i = (i − ½)/N``) this is
:func:`fieldflow.core.jko.jko_step` with the potential ``V/D`` and step ``τD``: a strictly convex
minimisation (for ``τ inf V'' > −1``) solved by Newton's method on a tridiagonal Hessian.  Whatever ``τ``:
the quantiles stay ordered (the entropy's barrier ``−Σ log(X_{i+1} − X_i)``), the mass is that of the
``N`` quanta, and the discrete free energy

.. math:: F_N(X) = \\frac1N \\sum_i V(X_i) - \\frac DN \\sum_{i=1}^{N-1} \\log\\big(N (X_{i+1} − X_i)\\big)

never increases (``F_N(X_{k+1}) + W_2^2/(2τ) ≤ F_N(X_k)``), which ``evolve`` checks as the ``monotone``
diagnostic.  The scheme is first order in ``τ`` (implicit Euler in the Wasserstein metric)::

    X0 = ff.core.jko.density_quantiles(grid, rho0, ff.core.jko.quantile_levels(400))
    traj = ff.evolve(ff.fokker_planck.QuantileJKO(V, D=1.0), X0, t_end=1.0, dt=0.01)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.jko import jko_step
from ..core.problem import StepMap
from ..core.validation import real_number
from ..potentials import Potential, check_potential

__all__ = ["QuantileJKO"]


class QuantileJKO(StepMap):
    """1D Fokker–Planck flow by JKO steps on ``N`` quantiles (see the module docstring).

    The state is the increasing array of quantiles ``X`` (shape ``(N,)``, ``N ≥ 2``); diagnostics
    ``free_energy`` (``F_N``), ``mean``, ``variance``.

    Parameters
    ----------
    V : Potential
        A 1D potential (``V.value``, ``V.gradient`` on ``(N, 1)`` points).  The Newton matrix uses ``V''`` by
        central differences of the gradient (it only affects the convergence rate, not the minimiser).
    D : float
        Diffusion coefficient (> 0).
    tol : float
        Newton tolerance on the decrement, relative to ``max(1, |G|)``.
    """

    monotone = "free_energy"

    def __init__(self, V: Potential, D: float = 1.0, tol: float = 1e-12):
        if check_potential(V).dim not in (None, 1):
            raise ValueError(f"QuantileJKO is one-dimensional; V is defined in {V.dim}D")
        self.V = V
        self.D = real_number(D, "D", positive=True, hint="the diffusion coefficient")
        self.tol = real_number(tol, "tol", positive=True, hint="the Newton tolerance of each JKO step")

    def potential(self, x: np.ndarray, nu: int) -> np.ndarray:
        """``∂_x^ν V(x)/D`` for ``ν = 0, 1, 2`` (the second by central differences of the gradient)."""
        if nu == 0:
            return self.V.value(x[:, None]) / self.D
        if nu == 1:
            return self.V.gradient(x[:, None])[:, 0] / self.D
        e = 1e-4 * (1.0 + np.abs(x))
        return (self.V.gradient((x + e)[:, None])[:, 0] - self.V.gradient((x - e)[:, None])[:, 0]) / (2 * e * self.D)

    def validate(self, state0: Any) -> np.ndarray:
        """A strictly increasing, finite array of ``N ≥ 2`` quantiles (copied)."""
        X = np.array(state0, dtype=float, copy=True)
        if X.ndim != 1 or X.size < 2:
            raise ValueError(f"the state of QuantileJKO is the array of N ≥ 2 quantiles, got shape {X.shape}")
        if not np.all(np.isfinite(X)) or np.any(np.diff(X) <= 0):
            raise ValueError("the quantiles must be finite and strictly increasing (X_i = F⁻¹((i − ½)/N))")
        return X

    def step(self, state: np.ndarray, t: float, dt: float) -> np.ndarray:
        """One JKO step of size ``dt``: :func:`~fieldflow.core.jko.jko_step` with ``V/D`` and step ``dt·D``."""
        return jko_step(state, self.potential, dt * self.D, tol=self.tol)

    def diagnostics(self, state: np.ndarray, t: float) -> dict[str, float]:
        n = state.size
        free_energy = float(np.mean(self.V.value(state[:, None])) - self.D * np.sum(np.log(n * np.diff(state))) / n)
        return {"free_energy": free_energy, "mean": float(np.mean(state)), "variance": float(np.var(state))}

    def describe(self) -> dict[str, Any]:
        return {"problem": "QuantileJKO", "V": repr(self.V), "D": self.D, "tol": self.tol}
