"""Fokker–Planck with a time-dependent potential, diffusion coefficient and (diagonal) mobility.

.. math::  \\partial_t \\mu = \\nabla\\cdot\\big(M(t)\\,(D(t)\\nabla\\mu + \\mu\\nabla V(\\cdot, t))\\big),

discretised exactly as :class:`~fieldflow.fokker_planck.pde.FokkerPlanck` (Scharfetter–Gummel
fluxes) with the coefficients recomputed at every time the steppers ask for: ``rhs(μ, t)`` and
``linear_operator(t)`` first set ``V(·, t)``, ``D(t)`` and ``M(t)``.  With ``time_dependent = True`` the
implicit steppers factorise ``I − c L(t)`` at each stage time.  Mass and positivity are kept as in
the autonomous scheme (the matrix is an M-matrix at every ``t``); the KL divergence to the moving
equilibrium ``e^{−V(·,t)/D(t)}`` need not decrease, so nothing is checked for monotonicity.

Example: a gradient flow in a time-dependent metric, ``∂_t σ = ½ Ċ_t ∂_x(σ ∂_x log(σ/π_t))`` for a
moving target ``π_t`` (the renormalised measures of the Polchinski flow, see
:ref:`conventions-polchinski`), is this equation with ``D(t) = Ċ_t/2`` and potential
``V(·, t) = −(Ċ_t/2) log π_t``; on several sites the metric becomes the per-axis mobility
``M(t) = diag(ċ_a/2)`` in Fourier coordinates (:mod:`fieldflow.polchinski.measure`).
"""

from __future__ import annotations

from typing import Any, Callable

from ..core.grids import Grid
from ..core.validation import function, integer, real_number
from ..potentials import potential_on_grid
from .pde import FokkerPlanck

__all__ = ["TimeDependentFokkerPlanck"]


class TimeDependentFokkerPlanck(FokkerPlanck):
    """``∂t μ = ∇·(D(t)∇μ + μ∇V(·,t))`` on a no-flux box, Scharfetter–Gummel finite volumes.

    Diagnostics are those of :class:`FokkerPlanck`, taken with the coefficients at the sample time.

    Parameters
    ----------
    grid : Grid
        A box grid.
    V_of_t : callable
        ``V_of_t(t)`` → the potential at time ``t``: a :class:`~fieldflow.potentials.Potential`, a
        callable on points ``(..., d)``, or its values on the grid.
    D_of_t : callable or float
        ``D_of_t(t)`` → the diffusion coefficient (> 0) at time ``t``.
    mobility_of_t : callable, optional
        ``mobility_of_t(t)`` → the per-axis factors ``m_a(t) > 0`` of the diagonal mobility ``M(t)``
        (default ``M = I``).
    cache : int
        Number of recent times whose coefficients are kept (the stages of a step revisit them).
    """

    time_dependent = True
    default_method = "trbdf2"  # exp(τL) needs a constant L
    #: diagnostics after every step, as for grid PDEs in general (the static equation records them at the save
    #: times only): subclasses check free energies relative to a moving target step by step
    diagnostics_every = 1
    monotone = None

    def __init__(self, grid: Grid, V_of_t: Callable[[float], Any], D_of_t: Callable[[float], float] | float = 1.0,
                 cache: int = 8, mobility_of_t: Callable[[float], Any] | None = None):
        if not callable(V_of_t):
            raise ValueError("V_of_t must be a callable t -> potential (for a fixed V use FokkerPlanck)")
        if not callable(D_of_t):
            D_of_t = real_number(D_of_t, "D_of_t", positive=True, hint="a positive number or a callable t -> D(t)")
        if mobility_of_t is not None:
            function(mobility_of_t, "mobility_of_t", hint="a callable t -> per-axis mobility, or None")
        cache = integer(cache, "cache", minimum=1)
        self.V_of_t = V_of_t
        self.D_of_t = D_of_t if callable(D_of_t) else (lambda t, _D=float(D_of_t): _D)
        self.mobility_of_t = mobility_of_t
        self._cache: dict[float, tuple] = {}
        self._cache_size = int(cache)
        self._t: float | None = None
        super().__init__(grid, V_of_t(0.0), self.D_of_t(0.0), mobility_of_t(0.0) if mobility_of_t else None)
        self._remember(0.0)

    def _values_at(self, t: float) -> tuple[Any, float, Any]:
        values = potential_on_grid(self.grid, self.V_of_t(t), name=f"V(·, t={t:g})")
        D = real_number(self.D_of_t(t), "D(t)", positive=True, hint=f"D_of_t returned it at t={t:g}")
        return values, D, self.mobility_of_t(t) if self.mobility_of_t else None

    def _remember(self, t: float) -> None:
        self._cache[t] = (self.V, self.D, self.mobility, self.log_rho_inf, self.rho_inf, self._faces, self._L)
        while len(self._cache) > self._cache_size:
            self._cache.pop(next(iter(self._cache)))
        self._t = t

    def set_time(self, t: float) -> None:
        """Set ``V``, ``D`` and the mobility (and everything derived from them) to their values at time ``t``."""
        t = float(t)
        if t == self._t:
            return
        if self._t is not None:
            self._cache[self._t] = (self.V, self.D, self.mobility, self.log_rho_inf, self.rho_inf, self._faces,
                                   self._L)
        if t in self._cache:
            self.V, self.D, self.mobility, self.log_rho_inf, self.rho_inf, self._faces, self._L = self._cache[t]
            self._t = t
            return
        self._set_coefficients(*self._values_at(t))
        self._remember(t)

    def rhs(self, mu: Any, t: float) -> Any:
        self.set_time(t)
        return super().rhs(mu, t)

    def linear_operator(self, t: float = 0.0) -> Any:
        self.set_time(t)
        return super().linear_operator(t)

    def reversible_measure(self, t: float = 0.0) -> Any:
        self.set_time(t)
        return super().reversible_measure(t)

    def stable_dt(self, mu: Any = None, t: float = 0.0) -> float:
        self.set_time(t)
        return super().stable_dt(mu, t)

    def diagnostics(self, mu: Any, t: float) -> dict[str, float]:
        self.set_time(t)
        return super().diagnostics(mu, t)

    def describe(self) -> dict[str, Any]:
        out = {"equation": "TimeDependentFokkerPlanck", "grid": repr(self.grid), "V_of_t": repr(self.V_of_t),
               "D_of_t": repr(self.D_of_t)}
        if self.mobility_of_t is not None:
            out["mobility_of_t"] = repr(self.mobility_of_t)
        return out
