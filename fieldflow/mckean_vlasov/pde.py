"""McKean–Vlasov equation on the torus (:ref:`conventions-mckean-vlasov`), pseudo-spectral in space, ETDRK4 in time.

.. math::  \\partial_t q = \\tfrac12 q'' - K\\,\\big(q\\,(W' * q)\\big)'
           = \\big(q\\,\\partial_\\theta \\tfrac{\\delta F}{\\delta q}\\big)', \\qquad
           F(q) = \\tfrac12 \\int q\\log q - \\tfrac K2 \\int q\\,(W*q),

on ``T = ℝ/2πℤ`` with ``(f*g)(θ) = ∫ f(θ−φ) g(φ) dφ`` and an even interaction
``W = Σ c_k cos kθ`` (:class:`~fieldflow.mckean_vlasov.interactions.Fourier`).  Along solutions

.. math::  \\frac{dF}{dt} = -\\int \\frac{|\\tfrac12 q' - K q\\,(W'*q)|^2}{q}\\,d\\theta \\le 0 .

Discretisation (on ``Grid.torus(n)``, state = nodal values ``q_j``):

* Fourier collocation: ``q̂ = rfft(q)``; ``½q''`` is the multiplier ``−k²/2``, integrated exactly
  by :class:`~fieldflow.core.steppers.exponential.ETDRK4`;
* the velocity ``v = W'*q`` has only the modes of ``W``: ``v̂_k = i k π c_k q̂_k``, synthesised
  directly on the nodes (``O(n M)``, ``M`` modes);
* the flux ``q v`` is formed on the nodes; since ``v`` has modes ``≤ M``, aliasing of the product
  only reaches the top ``M`` wavenumbers, which are dropped (``|k| ≥ n/2 − M``): the
  band-limited version of the 2/3 rule, removing all aliasing error;
* mass: the ``k = 0`` mode of ``−K ik (qv)^`` is zero and ``e^{0} = 1``, so ``∫q`` is conserved to
  round-off; positivity and the decay of ``F`` are monitored by :func:`fieldflow.evolve`.

Each ETDRK4 step costs 4 evaluations of the nonlinear term (one inverse and one forward real
FFT each) plus one forward and one inverse FFT of the state: 10 real FFTs of length ``n``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.backend import get_fft
from ..core.grids import Grid
from .interactions import Fourier
from ..core.problem import PDE
from ..core.validation import real_number

__all__ = ["McKeanVlasov", "free_energy", "order_parameters"]


def free_energy(q: Any, grid: Grid, W: Fourier, K: float) -> float:
    """``F(q) = ½∫ q log q − (K/2) ∫ q (W*q)`` by the trapezoidal rule (``0 log 0 = 0``).

    Dimensionless; the uniform density has ``F = −½ log 2π − π K c_0``.
    """
    xp = grid.xp
    pos = q > 0
    entropy = grid.integrate(xp.where(pos, q * xp.log(xp.where(pos, q, 1.0)), 0.0))
    interaction = grid.integrate(q * W.convolve(q, grid))
    return 0.5 * entropy - 0.5 * K * interaction


def order_parameters(q: Any, grid: Grid, kmax: int = 2) -> tuple[float, ...]:
    """``(|z_1|, ..., |z_kmax|)`` with the moments ``z_k = ∫ e^{ikθ} q(θ) dθ`` (trapezoidal rule)."""
    n = grid.shape[0]
    if not 1 <= kmax < n // 2:
        raise ValueError(f"kmax must be between 1 and n/2 - 1 = {n // 2 - 1}, got {kmax}")
    qhat = get_fft(backend=grid.backend).rfftn(q, axes=(-1,))
    h = 2 * math.pi / n
    return tuple(float(abs(qhat[k])) * h for k in range(1, kmax + 1))


class McKeanVlasov(PDE):
    """``∂t q = ½ q'' − K (q (W'*q))'`` on ``Grid.torus(n)`` (pseudo-spectral, ETDRK4 by default).

    Parameters
    ----------
    grid : Grid
        A 1D torus grid, ``Grid.torus(n)`` with ``n > 2 (max_mode + 1)``.
    W : Fourier
        Even interaction, e.g. :func:`fieldflow.mckean_vlasov.interactions.kuramoto_daido`.
    K : float
        Coupling strength (> 0).
    fft : str, optional
        FFT provider (default: the fastest for the grid's backend; short transforms run on one thread).

    Notes
    -----
    Diagnostics: ``mass``; ``free_energy`` (``F(q)``); ``dissipation`` (``−dF/dt``, see
    :meth:`dissipation`); ``r1``, ``r2``, ... the order parameters ``|∫ e^{ikθ} q|`` up to
    ``max(2, W.max_mode)``.

    Examples
    --------
    >>> import fieldflow as ff
    >>> grid = ff.Grid.torus(128)
    >>> pde = ff.McKeanVlasov(grid, ff.mckean_vlasov.kuramoto_daido(0.8), K=1.2)
    >>> q0 = ff.densities.from_function(grid, lambda x: 1 + 0.1 * np.cos(x[..., 0]))
    >>> traj = ff.evolve(pde, q0, t_end=20.0, save_every=1.0)
    """

    conserved = ("mass",)
    positive = True
    monotone = "free_energy"
    default_method = "etdrk4"

    def __init__(self, grid: Grid, W: Fourier, K: float, fft: str | None = None):
        if not isinstance(grid, Grid) or not grid.periodic or grid.dim != 1:
            raise ValueError(f"McKeanVlasov lives on the circle: build the grid with Grid.torus(n), got {grid!r}")
        if not isinstance(W, Fourier):
            raise ValueError(
                f"W must be a fieldflow.mckean_vlasov.interactions.Fourier interaction (e.g. kuramoto_daido(m)), got {type(W).__name__}"
            )
        K = real_number(K, "the coupling K", positive=True, hint="the interaction strength of K W")
        W._check_grid(grid)
        n = grid.shape[0]
        if n < 4 * (W.max_mode + 1):
            raise ValueError(f"Grid.torus({n}) is too coarse for modes up to {W.max_mode}; use n >= {4 * (W.max_mode + 1)}")
        self.grid, self.W, self.K = grid, W, float(K)
        xp = self._xp = grid.xp
        self.fft = get_fft(fft, backend=grid.backend)
        k = np.arange(n // 2 + 1)
        self.wavenumbers = xp.asarray(k.astype(float))
        self.linear_symbol = xp.asarray(-0.5 * k.astype(float) ** 2)
        # -K i k on the modes kept after dealiasing (|k| < n/2 - M)
        keep = k < n // 2 - W.max_mode
        self._flux_symbol = xp.asarray(np.where(keep, -self.K * 1j * k, 0.0))
        self._derivative = xp.asarray(1j * k)
        # velocity synthesis v(θ_j) = Σ_k Re(w_k q̂_k) cos kθ_j − Im(w_k q̂_k) sin kθ_j,
        # w_k = (2/n) i k π c_k (v̂_k = i k π c_k q̂_k): one real (2M,) @ (2M, n) product
        modes = np.array(W.modes)
        theta = 2 * np.pi * np.arange(n) / n
        self._modes = xp.asarray(modes)
        self._weights = xp.asarray(2j * np.pi * modes * np.array([W.coefficient(m) for m in modes]) / n)
        self._table = xp.asarray(np.concatenate([np.cos(np.outer(modes, theta)), -np.sin(np.outer(modes, theta))]))
        self._kmax = max(2, W.max_mode)

    # ------------------------------------------------------------------ semilinear Fourier form
    def to_fourier(self, q: Any) -> Any:
        return self.fft.rfftn(q, axes=(-1,))

    def from_fourier(self, q_hat: Any) -> Any:
        return self.fft.irfftn(q_hat, s=self.grid.shape, axes=(-1,))

    def _velocity_from_hat(self, q_hat: Any) -> Any:
        """``W'*q`` on the nodes from ``q̂`` (only the modes of ``W``)."""
        coef = self._weights * q_hat[self._modes]
        return self._xp.concatenate([coef.real, coef.imag]) @ self._table

    def velocity(self, q: Any) -> Any:
        """``(W'*q)(θ_j)`` on the nodes."""
        return self._velocity_from_hat(self.to_fourier(q))

    def nonlinear_hat(self, q_hat: Any, t: float = 0.0) -> Any:
        """``−K ik (q (W'*q))^`` with the top ``M`` aliased wavenumbers removed."""
        flux = self.from_fourier(q_hat)
        flux *= self._velocity_from_hat(q_hat)
        out = self.fft.rfftn(flux, axes=(-1,))
        out *= self._flux_symbol
        return out

    # ------------------------------------------------------------------ PDE contract
    def rhs(self, q: Any, t: float = 0.0) -> Any:
        q_hat = self.to_fourier(q)
        return self.from_fourier(self.linear_symbol * q_hat + self.nonlinear_hat(q_hat, t))

    def stable_dt(self, q: Any, t: float = 0.0) -> float:
        """Step limit of the explicit (nonlinear) part, independent of ``n``.

        Mode ``k`` of the frozen-coefficient problem has the exactly integrated rate ``−k²/2``
        and the explicit transport rate ``i k U``, ``U = K max|W'*q|``, plus the mean-field
        rate ``K c_k k²/2`` on the modes of ``W``.  Transport matters where it is not dominated
        by diffusion, ``k ≲ 2U``, where ``h k U ≲ 2`` asks ``h ≲ 1/U²``; the mean-field rate
        asks ``h K c_k k²/2 ≲ 1``.  Hence ``1 / (U² + K Σ_k |c_k| k²/2)``.
        """
        U = self.K * float(self.grid.xp.max(self.grid.xp.abs(self.velocity(q))))
        growth = self.K * sum(abs(c) * k * k / 2 for k, c in self.W.coefficients.items())
        return 1.0 / (U * U + growth)

    # ------------------------------------------------------------------ diagnostics
    def free_energy(self, q: Any) -> float:
        """``F(q) = ½∫ q log q − (K/2) ∫ q (W*q)``."""
        return free_energy(q, self.grid, self.W, self.K)

    def order_parameters(self, q: Any) -> tuple[float, ...]:
        """``(|z_1|, ..., |z_M|)``, ``z_k = ∫ e^{ikθ} q``, ``M = max(2, W.max_mode)``."""
        return order_parameters(q, self.grid, self._kmax)

    def dissipation(self, q: Any) -> float:
        """``−dF/dt = ∫ |½ q' − K q (W'*q)|² / q`` (spectral ``q'``; ``inf`` if ``q`` has a non-positive node)."""
        xp = self.grid.xp
        if float(xp.min(q)) <= 0:
            return math.inf
        q_hat = self.to_fourier(q)
        flux = 0.5 * self.from_fourier(self._derivative * q_hat) - self.K * q * self._velocity_from_hat(q_hat)
        return self.grid.integrate(flux * flux / q)

    def diagnostics(self, q: Any, t: float = 0.0) -> dict[str, float]:
        out = {"mass": self.grid.integrate(q), "free_energy": self.free_energy(q), "dissipation": self.dissipation(q)}
        out.update({f"r{k}": r for k, r in enumerate(self.order_parameters(q), start=1)})
        return out

    def describe(self) -> dict[str, Any]:
        return {"equation": "McKeanVlasov", "grid": repr(self.grid), "W": repr(self.W), "K": self.K}
