"""Exponential time differencing for semilinear equations that are diagonal in Fourier space.

For ``∂t u = L u + N(u)`` with ``L`` a Fourier multiplier (e.g. diffusion ``½∂²``, ``L̂_k = −k²/2``),
the fourth-order Cox–Matthews scheme ETDRK4 (with the φ-functions evaluated without
cancellation, Kassam–Trefethen 2005) integrates ``L`` exactly and ``N`` explicitly:

.. math::
    a &= e^{zh/2}\\hat u + \\tfrac h2 \\varphi_1(z/2) N(\\hat u), \\\\
    b &= e^{zh/2}\\hat u + \\tfrac h2 \\varphi_1(z/2) N(a), \\\\
    c &= e^{zh/2} a + \\tfrac h2 \\varphi_1(z/2) \\big(2N(b) - N(\\hat u)\\big), \\\\
    \\hat u_{+} &= e^{z}\\hat u + h\\big[(\\varphi_1 - 3\\varphi_2 + 4\\varphi_3) N(\\hat u)
        + (2\\varphi_2 - 4\\varphi_3)(N(a) + N(b)) + (4\\varphi_3 - \\varphi_2) N(c)\\big],

with ``z = h L̂`` and ``φ_1(z) = (e^z − 1)/z``, ``φ_2 = (e^z − 1 − z)/z²``,
``φ_3 = (e^z − 1 − z − z²/2)/z³`` (Taylor series for ``|z| < 1``).  The stiff linear part
never limits the step: the step is bounded only by the explicit nonlinear term
(``pde.stable_dt``), independently of the resolution when that term is a transport by a
band-limited velocity.  Fixed points of the scheme are exactly the zeros of ``L u + N(u)``
(for every ``h``), so steady states are reached without time-discretisation error.

The equation provides the capabilities ``"semilinear_fourier"`` and ``"stable_dt"`` of the
:class:`~fieldflow.core.problem.PDE` contract (the interface :class:`SemilinearFourier`): ``linear_symbol``
(on the ``rfft`` half-spectrum), ``nonlinear_hat(û, t)``, ``to_fourier(state)``, ``from_fourier(û)`` and
``stable_dt(state, t)``; :func:`~fieldflow.core.steppers.make_stepper` refuses an equation without them.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from ..backend import to_numpy
from ..validation import real_number
from .base import Stepper, StepResult

__all__ = ["ETDRK4", "SemilinearFourier", "phi_functions"]


class SemilinearFourier(Protocol):
    """What :class:`ETDRK4` needs from an equation ``∂t u = L u + N(u)``."""

    grid: Any
    linear_symbol: Any

    def nonlinear_hat(self, u_hat: Any, t: float) -> Any: ...

    def to_fourier(self, state: Any) -> Any: ...

    def from_fourier(self, u_hat: Any) -> Any: ...

    def stable_dt(self, state: Any, t: float) -> float: ...


def phi_functions(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``φ_1, φ_2, φ_3`` at real or complex ``z`` (NumPy), accurate to round-off for all ``z``.

    ``|z| < 1``: 30-term Taylor series ``φ_j(z) = Σ_m z^m/(m+j)!``; otherwise the closed forms.
    """
    z = np.asarray(z)
    small = np.abs(z) < 1.0
    zs = np.where(small, z, 0.0)
    series = []
    for j in (1, 2, 3):
        total = np.zeros_like(zs)
        coef = 1.0 / float(np.prod(np.arange(1, j + 1)))  # 1/j!
        power = np.ones_like(zs)
        for m in range(30):
            total = total + coef * power
            power = power * zs
            coef /= m + j + 1
        series.append(total)
    zb = np.where(small, 1.0, z)
    ez = np.exp(zb)
    direct = ((ez - 1) / zb, (ez - 1 - zb) / zb**2, (ez - 1 - zb - zb**2 / 2) / zb**3)
    return tuple(np.where(small, s, d) for s, d in zip(series, direct))  # type: ignore[return-value]


class ETDRK4(Stepper):
    """Cox–Matthews ETDRK4 for semilinear Fourier-diagonal equations (order 4, ``L`` exact).

    Parameters
    ----------
    pde : SemilinearFourier
    dt : float, optional
        Fixed step (with ``adaptive=False``) or upper bound.
    adaptive : bool
        Limit each step to ``cfl × pde.stable_dt(state)`` (the explicit nonlinear term's limit),
        rounded down to a power of ``2^{1/4}``.
    cfl : float
        Safety factor in ``(0, 1]``.
    """

    name = "etdrk4"
    order = 4
    requires = ("semilinear_fourier", "stable_dt")
    explicit = True

    def __init__(self, pde: Any, dt: float | None = None, adaptive: bool = True, cfl: float = 1.0):
        super().__init__(pde, dt, adaptive)
        cfl = real_number(cfl, "cfl", positive=True, maximum=1, hint="the fraction of the stability limit a step takes")
        if not adaptive and dt is None:
            raise ValueError("ETDRK4 with adaptive=False needs a fixed dt")
        self.cfl = cfl
        self._coefficients: dict[float, tuple] = {}

    def _limit(self, state: Any, t: float) -> float:
        """``cfl × stable_dt`` rounded down to the ladder ``2^{j/4}``, so that the φ-coefficients
        of adaptive steps are computed once per rung and reused."""
        limit = self.cfl * self.pde.stable_dt(state, t)
        return 2.0 ** (math.floor(4 * math.log2(limit)) / 4)

    def initial_dt(self, state: Any, t: float, t_end: float) -> float:
        if not self.adaptive:
            return self.dt
        limit = self._limit(state, t)
        return min(limit, self.dt or limit, t_end - t)

    def coefficients(self, h: float) -> tuple:
        """``(e^{z/2}, (h/2)φ_1(z/2), e^z, h b_1, h b_2, h b_4)`` for ``z = h L̂`` (cached per ``h``)."""
        coeffs = self._coefficients.get(h)
        if coeffs is None:
            xp = self.pde.grid.xp
            z = h * to_numpy(self.pde.linear_symbol)
            p1h, _, _ = phi_functions(z / 2)
            p1, p2, p3 = phi_functions(z)
            host = (np.exp(z / 2), h / 2 * p1h, np.exp(z), h * (p1 - 3 * p2 + 4 * p3), h * (2 * p2 - 4 * p3),
                    h * (4 * p3 - p2))
            coeffs = tuple(xp.asarray(c) for c in host)
            if len(self._coefficients) >= 16:
                self._coefficients.pop(next(iter(self._coefficients)))
            self._coefficients[h] = coeffs
        return coeffs

    def advance(self, u_hat: Any, t: float, h: float) -> Any:
        """One ETDRK4 step of length ``h`` in Fourier space."""
        E2, Q, E, b1, b2, b4 = self.coefficients(h)
        N = self.pde.nonlinear_hat
        Eu = E2 * u_hat
        Nu = N(u_hat, t)
        a = Q * Nu
        a += Eu
        Na = N(a, t + h / 2)
        b = Q * Na
        b += Eu
        Nb = N(b, t + h / 2)
        c = 2 * Nb
        c -= Nu
        c *= Q
        c += E2 * a
        Nc = N(c, t + h)
        Na += Nb
        Na *= b2
        Nc *= b4
        Nu *= b1
        out = E * u_hat
        out += Nu
        out += Na
        out += Nc
        return out

    def step(self, state: Any, t: float, dt_max: float) -> StepResult:
        h = min(dt_max, self._limit(state, t), self.dt or np.inf) if self.adaptive else dt_max
        new = self.pde.from_fourier(self.advance(self.pde.to_fourier(state), t, h))
        if not self.adaptive:
            return StepResult(new, h, self.dt)
        return StepResult(new, h, min(self._limit(new, t + h), self.dt or np.inf))
