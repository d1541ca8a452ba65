"""JKO steps with a time-dependent metric for a one-dimensional measure, on quantile functions.

The scheme (DESIGN.md §5; Kopfer–Sturm for time-dependent metric measure spaces):

.. math:: σ_{k+1} = \\arg\\min_σ\\ \\mathrm{KL}(σ\\,\\|\\,π_{t_{k+1}})
          + \\frac{W_2^2(σ, σ_k)}{2τ\\, Ċ_{t_{k+1}}},

the metric ``W_{2,t}² = W_2²/Ċ_t`` being the one of ``⟨x, y⟩_{Ċ_t} = x Ċ_t^{-1} y`` for one site.  Its
limit ``τ → 0`` is ``∂_t σ = Ċ_t ∂_x(σ ∂_x \\log(σ/π_t))``, a Fokker–Planck equation with ``D = Ċ_t``
and potential ``Ċ_t V_t`` when ``π_t ∝ e^{−V_t}``.

In one dimension ``W_2(σ, σ_k)² = ∫_0^1 |X(m) − X_k(m)|² dm`` for the quantile functions, and
``∫ σ log σ = −∫_0^1 \\log X'(m) dm``, so with ``N`` quantiles ``X_i`` at ``m_i = (i − ½)/N`` each step
minimises the strictly convex (for ``τ Ċ \\inf V'' > −1``) function

.. math:: G(X) = −\\sum_{i=1}^{N-1} \\log(X_{i+1} − X_i) + \\sum_i V_t(X_i)
          + \\frac{1}{2τĊ_t} \\sum_i (X_i − X^k_i)²

(``N ×`` the discrete functional, constants dropped) by Newton's method with its tridiagonal
Hessian and a backtracking line search that keeps the ``X_i`` increasing.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..core.backend import to_numpy
from ..core.jko import density_quantiles, jko_step
from .flow import FieldSpaceFlow

__all__ = ["PotentialPath", "jko_step", "jko_quantiles", "density_quantiles"]


class PotentialPath:
    """``t ↦ V_t`` of a one-site Polchinski flow as cubic splines (value, first, second derivative).

    Parameters
    ----------
    flow : FieldSpaceFlow
        A one-site flow on a 1D field grid; the spline covers the nodes where ``V_t`` is finite.
    """

    def __init__(self, flow: FieldSpaceFlow):
        if flow.grid.dim != 1:
            raise ValueError("PotentialPath needs a one-site flow (1D field grid)")
        self.flow = flow
        self._cache: dict[float, Any] = {}

    def spline(self, t: float) -> Any:
        from scipy.interpolate import CubicSpline

        t = float(t)
        if t not in self._cache:
            V = to_numpy(self.flow.potential(t))
            x = to_numpy(self.flow.grid.axes[0])
            ok = np.isfinite(V)
            self._cache[t] = (CubicSpline(x[ok], V[ok]), float(x[ok][0]), float(x[ok][-1]))
            if len(self._cache) > 16:
                self._cache.pop(next(iter(self._cache)))
        return self._cache[t]

    def __call__(self, t: float, x: Any, nu: int = 0) -> np.ndarray:
        """``∂_x^ν V_t(x)``; ``ValueError`` outside the region where ``V_t`` is known."""
        s, lo, hi = self.spline(t)
        x = np.asarray(x, dtype=float)
        if x.size and (x.min() < lo or x.max() > hi):
            raise ValueError(f"x in [{x.min():.3g}, {x.max():.3g}] leaves the region [{lo:.3g}, {hi:.3g}] where V_t "
                             f"is known at t={t:g}; enlarge the field grid of the flow")
        return s(x, nu)


def jko_quantiles(V: Callable[[float, np.ndarray, int], np.ndarray], metric: Callable[[float], float],
                  X0: np.ndarray, tau: float, t_end: float, t0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Iterate the JKO scheme with time-dependent potential and metric from ``t0`` to ``t_end``.

    Parameters
    ----------
    V : callable
        ``V(t, x, ν)`` → ``∂_x^ν V_t(x)`` (e.g. a :class:`PotentialPath`); ``π_t ∝ e^{−V_t}``.
    metric : callable
        ``metric(t)`` → ``Ċ_t > 0``.
    X0 : array
        Initial quantiles (strictly increasing), e.g. at ``m_i = (i − ½)/N``.
    tau : float
        Step; ``(t_end − t0)/tau`` must be an integer.

    Returns
    -------
    times, X : arrays of shape ``(K+1,)`` and ``(K+1, N)``.
    """
    steps = (t_end - t0) / tau
    if not (tau > 0 and abs(steps - round(steps)) < 1e-9 and round(steps) >= 1):
        raise ValueError(f"(t_end − t0)/tau = {steps:.6g} must be a positive integer")
    X = [np.asarray(X0, dtype=float)]
    times = t0 + tau * np.arange(int(round(steps)) + 1)
    for t in times[1:]:
        c = float(metric(t))
        if not c > 0:
            raise ValueError(f"the metric Ċ_t must be positive, got {c!r} at t={t:g}")
        X.append(jko_step(X[-1], lambda x, nu, _t=t: V(_t, x, nu), tau * c))
    return times, np.asarray(X)
