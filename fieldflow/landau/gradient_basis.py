"""Gradient fields linear in their parameters, ``u_θ = ∇(θ·φ)``, with the derivatives an adjoint needs.

``φ`` = the monomials ``v^α`` of degree ``2 ≤ |α| ≤ degree`` and Gaussian radial basis functions
``exp(−|v − c_k|²/(2ℓ²))``.  Why this basis for the Landau JKO method (:mod:`~fieldflow.landau.jko`):

* the velocity field that minimises the Landau-metric action for a given ``∂_t f`` is a gradient, and the JKO
  optimum is ``u(1) = −Δt ∇log f^{n+1}``, a score — so the basis is the score model's
  (:mod:`fieldflow.core.score_matching`: quadratics represent every Maxwellian exactly, RBFs at Nyström centres
  carry the rest);
* no linear monomials: constant fields are in the null space of every Landau pair sum (``A(z)(u_i − u_j) = 0``);
* monomials up to degree 4 (default): for a potential ``ψ`` in the unpenalised span, the optimality condition of
  the JKO step makes ``Σ_i w_i ∇ψ(v_i)·V_i`` equal to ``Δt`` times the Landau weak-form rate ``d/dt ∫ψ f`` of the
  empirical measure (see the JKO docs), so the moments up to order 4 — energy, the temperature tensor, ``E|v|⁴``
  — follow the Landau moment equations (closed for Maxwell molecules) instead of the RBF fit's noise.

:class:`GradientBasis` evaluates ``u`` and its (symmetric) Jacobian ``H = ∇u`` at particles, and pulls gradients
with respect to ``(u_i, H_i)`` back to ``θ`` and to the particle positions (the latter needs the third
derivatives of ``θ·φ``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.backend import namespace_of

__all__ = ["GradientBasis", "monomial_exponents"]


def monomial_exponents(dim: int, degree: int) -> np.ndarray:
    """Multi-indices ``α`` with ``2 ≤ |α| ≤ degree`` in ``dim`` variables (graded, then lexicographic); ``(P, dim)``."""
    out = [alpha for n in range(2, degree + 1)
           for alpha in sorted(itertools.product(range(n + 1), repeat=dim), reverse=True) if sum(alpha) == n]
    return np.array(out, dtype=int).reshape(-1, dim)


def _derivative_table(exps: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients ``(P, d, …)`` and exponents ``(P, d, …, d)`` of the ``order``-th partial derivatives of ``v^α``."""
    P, d = exps.shape
    shape = (P,) + (d,) * order
    coef = np.ones(shape)
    power = np.broadcast_to(exps.reshape((P,) + (1,) * order + (d,)), shape + (d,)).copy()
    for axes in itertools.product(range(d), repeat=order):
        for k in range(P):
            e = exps[k].copy()
            c = 1.0
            for a in axes:
                c *= e[a]
                e[a] = max(e[a] - 1, 0)
            coef[(k,) + axes] = c
            power[(k,) + axes] = e
    return coef, power


@dataclass
class GradientBasis:
    """``u_θ(v) = ∇(θ·φ(v))``: ``φ`` = monomials of degree 2…``degree``, then ``exp(−|v − c_k|²/(2ℓ²))``.

    Parameters
    ----------
    centres : array ``(K_rbf, d)``
        RBF centres.
    bandwidth : float
        RBF width ``ℓ`` (velocity units).
    degree : int
        Highest monomial degree (``≥ 2``; 2 = the score model's quadratics).
    """

    centres: Any
    bandwidth: float
    degree: int = 4
    _tables: list[tuple[np.ndarray, np.ndarray]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.degree, bool) or not isinstance(self.degree, (int, np.integer)) or self.degree < 2:
            raise ValueError(f"degree must be an integer ≥ 2, got {self.degree!r}")
        self.exponents = monomial_exponents(self.dim, int(self.degree))
        self._tables = [_derivative_table(self.exponents, k) for k in (1, 2, 3)]

    @property
    def dim(self) -> int:
        return int(self.centres.shape[1])

    @property
    def n_polynomial(self) -> int:
        return int(self.exponents.shape[0])

    @property
    def size(self) -> int:
        """Number of parameters ``K``."""
        return self.n_polynomial + int(self.centres.shape[0])

    @property
    def rbf(self) -> slice:
        """The RBF coefficients within ``θ`` (the block a ridge acts on)."""
        return slice(self.n_polynomial, self.size)

    def _monomials(self, v: Any, order: int) -> Any:
        """All ``order``-th derivatives of every monomial at ``v``: shape ``(N, P) + (d,)*order``."""
        xp = namespace_of(v)
        coef, power = self._tables[order - 1]
        pw = xp.asarray(power)
        base = v.reshape((v.shape[0],) + (1,) * (pw.ndim - 1) + (v.shape[1],))
        return xp.asarray(coef)[None] * xp.prod(base ** pw[None], axis=-1)

    def _rbf(self, v: Any) -> tuple[Any, Any]:
        """Offsets ``x_ik = v_i − c_k`` (``(N, K, d)``) and ``φ_ik`` (``(N, K)``)."""
        xp = namespace_of(v)
        x = v[:, None, :] - self.centres[None, :, :]
        return x, xp.exp(-xp.sum(x * x, axis=-1) / (2 * self.bandwidth**2))

    def field(self, v: Any, theta: Any) -> tuple[Any, Any, tuple[Any, Any, Any]]:
        """``u_θ(v_i)`` (``(N, d)``), ``H_i = ∇u_θ(v_i)`` (``(N, d, d)``) and the tape for :meth:`pullback`."""
        xp = namespace_of(v)
        d = self.dim
        tp = theta[:self.n_polynomial]
        grad, hess = self._monomials(v, 1), self._monomials(v, 2)
        x, phi = self._rbf(v)
        l2 = self.bandwidth**2
        cphi = phi * theta[self.rbf][None, :]
        u = xp.einsum("npd,p->nd", grad, tp) - xp.matmul(cphi[:, None, :], x)[:, 0, :] / l2
        H = (xp.einsum("npab,p->nab", hess, tp) + xp.matmul(x.swapaxes(1, 2) * cphi[:, None, :], x) / l2**2
             - xp.sum(cphi, axis=1)[:, None, None] * xp.eye(d) / l2)
        return u, H, (grad, hess, x, phi)

    def gradients(self, v: Any) -> Any:
        """``∇φ_k(v_i)`` for every feature, shape ``(N, K, d)``."""
        xp = namespace_of(v)
        x, phi = self._rbf(v)
        return xp.concatenate([self._monomials(v, 1), -x * (phi / self.bandwidth**2)[..., None]], axis=1)

    def pullback(self, v: Any, theta: Any, H: Any, tape: tuple[Any, Any, Any, Any], gu: Any, gH: Any,
                 need_v: bool = True) -> tuple[Any, Any]:
        """Chain rule for a scalar ``S(u, H)`` with ``∂S/∂u_i = gu_i``, ``∂S/∂H_i = gH_i``.

        Returns ``∂S/∂θ`` (``(K,)``) and, if ``need_v``, ``∂S/∂v_i = H_i gu_i + Σ_ab gH_i,ab ∇∂_a∂_b(θ·φ)(v_i)``
        (``(N, d)``; ``None`` otherwise).  For the RBF ``φ`` with ``x = v − c``:
        ``Σ_ab X_ab ∂_a∂_b∂_c φ = φ[−(xᵀXx) x_c/ℓ⁶ + (tr X x_c + 2(sym(X) x)_c)/ℓ⁴]``; for the monomials the third
        derivatives come from the exponent tables.
        """
        xp = namespace_of(v)
        grad, hess, x, phi = tape
        l2 = self.bandwidth**2
        poly = xp.einsum("npd,nd->p", grad, gu) + xp.einsum("npab,nab->p", hess, gH)
        xg = xp.matmul(x, gu[:, :, None])[..., 0]
        xHx = xp.sum(xp.matmul(x, gH) * x, axis=-1)
        tr = xp.einsum("naa->n", gH)
        rbf = xp.sum(phi * (-xg / l2 + xHx / l2**2 - tr[:, None] / l2), axis=0)
        gtheta = xp.concatenate([poly, rbf])
        if not need_v:
            return gtheta, None
        cphi = phi * theta[self.rbf][None, :]
        S = 0.5 * (gH + gH.swapaxes(-1, -2))
        coef = cphi * (-xHx / l2**3 + tr[:, None] / l2**2)
        third = (xp.matmul(coef[:, None, :], x)[:, 0, :]
                 + 2 * xp.matmul(S, xp.matmul(cphi[:, None, :], x)[:, 0, :, None])[..., 0] / l2**2)
        if self.degree > 2:
            third = third + xp.einsum("npabc,nab,p->nc", self._monomials(v, 3), gH, theta[:self.n_polynomial])
        return gtheta, xp.matmul(H, gu[:, :, None])[..., 0] + third
