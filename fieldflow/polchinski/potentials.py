"""Initial potentials ``V_0`` of the Polchinski flow: sums of single-site potentials and quadratic forms.

A field ``φ`` is an array whose trailing ``ndim`` axes index sites (``ndim = 1`` for a small set of
sites listed along the last axis, as on a field-space grid; ``ndim = d`` for a lattice field).

* :func:`phi4` — ``V_0(φ) = Σ_x (g/4) φ_x⁴ + (ν/2) φ_x²`` (``ν < 0`` is a double well);
* :func:`sine_gordon` — ``V_0(φ) = Σ_x z cos(β φ_x)``, periodic with period ``2π/β``;
* :class:`QuadraticPotential` — ``V_0(φ) = ½ (φ, Q φ)`` with ``Q`` a scalar (on-site), a matrix or a
  :class:`~fieldflow.polchinski.covariance.FourierOperator`; the Gaussian case where the flow is exact.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..core.backend import namespace_of
from ..core.validation import function, real_array, real_number, shown
from .covariance import FourierOperator

__all__ = ["FieldPotential", "SitePotential", "QuadraticPotential", "phi4", "sine_gordon"]


def field_potential(V0: Any, name: str = "V0") -> "FieldPotential":
    """``V0`` checked to be a :class:`FieldPotential` (``TypeError`` naming the constructors otherwise)."""
    if not isinstance(V0, FieldPotential):
        raise TypeError(f"{name} must be a FieldPotential (phi4, sine_gordon, QuadraticPotential), got {shown(V0)}")
    return V0


class FieldPotential:
    """Base class: ``V_0(φ, ndim)`` sums over the trailing ``ndim`` site axes."""

    #: period in every field direction (``None``: not periodic)
    period: float | None = None

    def __call__(self, phi: Any, ndim: int = 1) -> Any:
        raise NotImplementedError

    def quadratic_form(self) -> Any | None:
        """``Q`` if ``V_0 = ½(φ, Qφ)`` exactly (scalar, matrix or FourierOperator), else ``None``."""
        return None


class SitePotential(FieldPotential):
    """``V_0(φ) = Σ_x v(φ_x)`` for a single-site potential ``v`` with its first two derivatives.

    Parameters
    ----------
    site, site_derivative, site_second_derivative : callables
        ``v``, ``v'``, ``v''`` acting elementwise on arrays.
    name : str
    period : float, optional
        Period of ``v`` (for periodic field grids).
    quadratic : float, optional
        ``q`` when ``v(s) = q s²/2`` exactly.
    """

    def __init__(self, site: Callable[[Any], Any], site_derivative: Callable[[Any], Any],
                 site_second_derivative: Callable[[Any], Any], name: str = "V0", period: float | None = None,
                 quadratic: float | None = None):
        for f, what in ((site, "site"), (site_derivative, "site_derivative"),
                        (site_second_derivative, "site_second_derivative")):
            function(f, what, hint="a function acting elementwise on arrays of field values")
        self.site, self.site_derivative, self.site_second_derivative = site, site_derivative, site_second_derivative
        self.name = str(name)
        self.period = None if period is None else real_number(period, "period", positive=True)
        self._q = None if quadratic is None else real_number(quadratic, "quadratic", hint="q when v(s) = q s²/2")

    def __call__(self, phi: Any, ndim: int = 1) -> Any:
        xp = namespace_of(phi)
        values = self.site(phi)
        return xp.sum(values, axis=tuple(range(-ndim, 0))) if ndim else values

    def gradient(self, phi: Any) -> Any:
        """``∂V_0/∂φ_x = v'(φ_x)`` (same shape as ``φ``)."""
        return self.site_derivative(phi)

    def quadratic_form(self) -> float | None:
        return self._q

    def __repr__(self) -> str:
        return self.name


def phi4(g: float, nu: float) -> SitePotential:
    """The φ⁴ potential ``v(s) = (g/4) s⁴ + (ν/2) s²`` (``g ≥ 0``; ``g = 0`` needs the Gaussian reference to confine).

    ``ν < 0`` gives a double well with minima at ``±√(−ν/g)``.
    """
    g = real_number(g, "g", nonnegative=True, hint="the quartic coupling of (g/4) s⁴")
    nu = real_number(nu, "nu", hint="the quadratic coefficient of (ν/2) s² (ν < 0: a double well)")
    return SitePotential(lambda s: 0.25 * g * s**4 + 0.5 * nu * s**2,
                         lambda s: g * s**3 + nu * s,
                         lambda s: 3 * g * s**2 + nu,
                         name=f"phi4(g={g:g}, nu={nu:g})", quadratic=nu if g == 0 else None)


def sine_gordon(z: float, beta: float) -> SitePotential:
    """The sine-Gordon potential ``v(s) = z cos(β s)``, periodic with period ``2π/β``."""
    z = real_number(z, "z", hint="the amplitude of z cos(β s)")
    beta = real_number(beta, "beta", minimum=1e-100, hint="the frequency of z cos(β s), positive (period 2π/β)")

    def site(s):
        return z * namespace_of(s).cos(beta * s)

    def d1(s):
        return -z * beta * namespace_of(s).sin(beta * s)

    def d2(s):
        return -z * beta**2 * namespace_of(s).cos(beta * s)

    return SitePotential(site, d1, d2, name=f"sine_gordon(z={z:g}, beta={beta:g})", period=2 * np.pi / beta,
                         quadratic=0.0 if z == 0 else None)


class QuadraticPotential(FieldPotential):
    """``V_0(φ) = ½ (φ, Q φ)``.

    Parameters
    ----------
    Q : float, (N, N) array or FourierOperator
        On-site ``q`` (``½ q Σ_x φ_x²``), a symmetric matrix acting on the last axis (``ndim = 1``),
        or a translation-invariant operator on lattice fields.
    """

    def __init__(self, Q: Any):
        if isinstance(Q, FourierOperator):
            self.Q = Q
        elif not isinstance(Q, (list, tuple, np.ndarray)) and np.ndim(Q) == 0:
            self.Q = real_number(Q, "Q", hint="an on-site q, a symmetric matrix or a FourierOperator")
        else:
            Q = real_array(Q, "Q", hint="a scalar, a symmetric square matrix or a FourierOperator")
            if Q.ndim != 2 or Q.shape[0] != Q.shape[1] or not np.allclose(Q, Q.T):
                raise ValueError(f"Q must be a scalar, a symmetric square matrix or a FourierOperator, got shape {Q.shape}")
            self.Q = Q

    def __call__(self, phi: Any, ndim: int = 1) -> Any:
        xp = namespace_of(phi)
        axes = tuple(range(-ndim, 0))
        if isinstance(self.Q, FourierOperator):
            return 0.5 * xp.sum(phi * self.Q.apply(phi), axis=self.Q.lattice.axes)
        if isinstance(self.Q, float):
            return 0.5 * self.Q * xp.sum(phi * phi, axis=axes)
        if ndim != 1:
            raise ValueError("a matrix Q acts on fields listed along the last axis (ndim=1)")
        return 0.5 * xp.sum((phi @ xp.asarray(self.Q)) * phi, axis=-1)

    def quadratic_form(self) -> Any:
        return self.Q

    def __repr__(self) -> str:
        return f"QuadraticPotential({self.Q!r})"
