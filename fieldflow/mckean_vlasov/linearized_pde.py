"""The linearised McKean–Vlasov equation ``∂t u = L_q u`` at a stationary state (:ref:`conventions-linearized-mckean-vlasov`).

.. math::  \\partial_t u = L_q u = \\tfrac12 u'' - K\\big(q\\,(W'*u) + u\\,(W'*q)\\big)', \\qquad \\int u = 0 .

Same discretisation as :class:`~fieldflow.mckean_vlasov.pde.McKeanVlasov` (it reuses its
machinery): Fourier collocation on ``Grid.torus(n)``, ``½u''`` integrated exactly by ETDRK4,
the (now linear) transport term explicit.  ``W'*u`` has only the modes of ``W`` (synthesised on
the nodes); the product ``u (W'*q)`` aliases only into the top ``M`` wavenumbers, which are
dropped; ``q (W'*u)`` is alias-free when ``q`` is resolved on the grid.  ``∫u`` is conserved to
round-off.

This is the time-domain counterpart of :func:`fieldflow.mckean_vlasov.linearized_spectrum`: for
generic ``u_0``, ``‖L_q u(t)‖ ∝ e^{−gap·t}`` at late times (the zero mode ``q'`` is annihilated
by ``L_q``), which the diagnostic ``rhs_norm`` records.
"""

from __future__ import annotations

import math
from typing import Any

from ..core.grids import Grid
from .interactions import Fourier
from .pde import McKeanVlasov

__all__ = ["LinearizedMcKeanVlasov"]


class LinearizedMcKeanVlasov(McKeanVlasov):
    """``∂t u = L_q u`` on mean-zero perturbations ``u`` of a stationary density ``q``.

    Parameters
    ----------
    grid : Grid
        ``Grid.torus(n)``, the grid of ``q``.
    W : Fourier
        The interaction.
    K : float
        Coupling (> 0).
    q : array or StationaryState
        The stationary density on ``grid`` (stationarity is the caller's responsibility; for a
        non-stationary ``q`` this is still the linearisation of the flow's right-hand side at ``q``).

    Diagnostics
    -----------
    ``mass`` ``∫u`` (conserved, 0); ``norm`` ``‖u‖_{L²}``; ``rhs_norm`` ``‖L_q u‖_{L²}``.
    """

    conserved = ("mass",)
    positive = False
    monotone = None

    def __init__(self, grid: Grid, W: Fourier, K: float, q: Any, fft: str | None = None):
        super().__init__(grid, W, K, fft=fft)
        from ..core.validation import validate_density

        q = getattr(q, "q", q)
        self.q = validate_density(grid, q, name="stationary density q")
        self._transport = self.velocity(self.q)  # W'*q on the nodes

    def nonlinear_hat(self, u_hat: Any, t: float = 0.0) -> Any:
        """``−K ik (q (W'*u) + u (W'*q))^`` with the top ``M`` aliased wavenumbers removed."""
        u = self.from_fourier(u_hat)
        flux = self.q * self._velocity_from_hat(u_hat) + u * self._transport
        return self._flux_symbol * self.fft.rfftn(flux, axes=(-1,))

    def stable_dt(self, u: Any, t: float = 0.0) -> float:
        """Explicit-part limit ``1/(U² + 2π max q · K Σ|c_k| k²/2)``, ``U = K max|W'*q|`` (cf. the parent)."""
        xp = self.grid.xp
        U = self.K * float(xp.max(xp.abs(self._transport)))
        scale = 2 * math.pi * float(xp.max(self.q))
        growth = scale * self.K * sum(abs(c) * k * k / 2 for k, c in self.W.coefficients.items())
        return 1.0 / (U * U + growth)

    def validate(self, u: Any) -> Any:
        """A real, finite, mean-zero perturbation on the grid (``ValueError`` otherwise)."""
        xp = self.grid.xp
        arr = xp.asarray(u)
        if arr.dtype.kind not in "fiu" or tuple(arr.shape) != self.grid.shape:
            raise ValueError(f"the perturbation must be a real array of shape {self.grid.shape}, got {arr.dtype} {tuple(arr.shape)}")
        arr = arr.astype(xp.float64)
        if not bool(xp.all(xp.isfinite(arr))):
            raise ValueError("the perturbation has NaN/inf entries")
        mass = self.grid.integrate(arr)
        if abs(mass) > 1e-10 * max(self.grid.integrate(xp.abs(arr)), 1e-300):
            raise ValueError(f"the perturbation must have zero mass (∫u = {mass:.3e}); subtract its mean")
        return arr

    def diagnostics(self, u: Any, t: float = 0.0) -> dict[str, float]:
        r = self.rhs(u, t)
        return {
            "mass": self.grid.integrate(u),
            "norm": math.sqrt(self.grid.integrate(u * u)),
            "rhs_norm": math.sqrt(self.grid.integrate(r * r)),
        }

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "equation": "LinearizedMcKeanVlasov"}
