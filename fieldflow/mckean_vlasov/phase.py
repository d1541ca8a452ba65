"""Phase transitions of the McKean–Vlasov free energy: critical coupling, its kind, phase diagrams.

Variational characterisation used here
--------------------------------------
With ``P(q) = ∫ q (W*q) − c_0 = Σ_k c_k |z_k|²`` (``z_k = ∫ e^{ikθ} q``) and the relative
entropy ``H(q) = ∫ q log(2π q)``, the free energy of :ref:`conventions-mckean-vlasov` satisfies

.. math::  F_K(q) - F_K(1/2\\pi) = \\tfrac12 H(q) - \\tfrac K2 P(q),

so a non-uniform ``q`` has ``F_K(q) ≤ F_K(\\text{uniform})`` iff ``K ≥ H(q)/P(q)`` (and ``P > 0``).
Hence the critical coupling — the smallest ``K`` with a non-uniform minimiser of ``F`` — is

.. math::  K_c = \\inf_{q \\ne 1/2\\pi,\\ P(q) > 0} \\frac{H(q)}{P(q)} .

At fixed moments, ``H`` is minimised by the exponential family ``q_a ∝ e^{Σ_k a_k cos kθ}``
(maximum entropy), so for centred states ``K_c = \\inf_a R(a)`` with

.. math::  R(a) = \\frac{a\\cdot m(a) - \\log\\big(Z(a)/2\\pi\\big)}{\\sum_k c_k\\, m_k(a)^2},
           \\qquad m_k(a) = \\langle\\cos k\\theta\\rangle_a ,

a smooth function on ``ℝ^M \\ {0}``.  Its critical points are exactly the stationary states at
``K = R(a)``: ``∇R = Σ_a (a − 2R\\,C m)/D`` (``Σ_a`` the covariance of the ``cos kθ``), which vanishes
iff ``a = 2R C m(a)``, the self-consistency equation.  As ``a → 0``, ``R → Σ a_k² / Σ c_k a_k²
≥ 1/\\max_k c_k = K_\\#``, the linear-instability threshold of the uniform state; as
``|a| → ∞``, ``R → ∞``.  So

* if ``\\inf R < K_\\#``, it is attained at some ``a^* \\ne 0``: the transition is
  **discontinuous**, ``K_c = R(a^*)``, and the order parameters jump from 0 to those of
  ``q_{a^*}``;
* otherwise ``K_c = K_\\#`` and the transition is **continuous** (the minimiser bifurcates from
  the uniform state).

Accuracy: ``R`` is evaluated with ``expm1``/``log1p`` so that numerator and denominator, both
``O(|a|²)``, keep full relative precision for small ``a``; the trapezoidal rule on ``n``
nodes is exponentially accurate; and at a minimiser the error in ``R`` is quadratic in the
error of ``a``.  ``critical_coupling`` reports the difference between ``n`` and ``2n`` as its
error estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy.optimize import brentq, minimize

from .interactions import Fourier, kuramoto_daido

__all__ = ["CriticalCoupling", "critical_coupling", "phase_diagram", "linear_threshold", "coupling_ratio",
           "kuramoto_daido_m_star"]

#: the transition is called discontinuous when inf R < K_# (1 − this)
_DISCONTINUITY = 1e-11


@dataclass
class CriticalCoupling:
    """The phase transition of ``F_K`` for one interaction ``W``.

    Attributes
    ----------
    K_c : float
        Critical coupling: the smallest ``K`` with a non-uniform minimiser of ``F``.
    kind : {"continuous", "discontinuous"}
    K_sharp : float
        Linear-instability threshold of the uniform state, ``1 / max_k c_k`` (``inf`` if no ``c_k > 0``).
    jump : tuple of float
        ``(|z_1|, |z_2|, ...)`` of the non-uniform minimiser at ``K_c`` (zeros if continuous).
    moments : tuple of float
        Signed ``r_k = ∫ cos(kθ) q`` of that minimiser, for the modes of ``W``.
    error : float
        Estimated error of ``K_c``: ``|K_c(n) − K_c(2n)|`` plus the optimiser's tolerance.
    W : Fourier
    n : int
        Quadrature nodes.
    """

    K_c: float
    kind: str
    K_sharp: float
    jump: tuple[float, ...]
    moments: tuple[float, ...]
    error: float
    W: Fourier = field(repr=False)
    n: int = field(repr=False, default=0)

    @property
    def continuous(self) -> bool:
        return self.kind == "continuous"

    def __repr__(self) -> str:
        jump = ", ".join(f"{z:.6g}" for z in self.jump)
        return (f"CriticalCoupling(K_c={self.K_c:.10g} ± {self.error:.1e}, {self.kind}, K_sharp={self.K_sharp:.6g}, "
                f"jump |z_k| = ({jump}), W={self.W!r})")


def linear_threshold(W: Fourier) -> float:
    """``K_# = 1 / max_k c_k``: the uniform state is linearly stable iff ``K < K_#``.

    Derivation: ``q = 1/2π + ε cos kθ`` gives ``W'*cos kθ = −π c_k k sin kθ``, so the linearised
    equation ``∂t u = ½u'' − (K/2π)(W'*u)'`` has growth rate ``k²(K c_k − 1)/2`` for mode ``k``.
    """
    positive = [c for k, c in W.coefficients.items() if k >= 1 and c > 0]
    return 1.0 / max(positive) if positive else math.inf


class _Ratio:
    """``R(a)`` and its gradient on the trapezoidal grid of ``n`` nodes (``a`` has one entry per mode)."""

    def __init__(self, W: Fourier, n: int):
        theta = 2 * np.pi * np.arange(n) / n
        self.W, self.n = W, n
        self.modes = np.array(W.modes)
        self.c = np.array([W.coefficient(k) for k in W.modes])
        self.cos = np.cos(np.outer(self.modes, theta))

    def parts(self, a: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
        """Numerator ``N``, denominator ``D``, moments ``m`` and covariance ``Σ`` at ``a``."""
        e = a @ self.cos
        top = float(e.max())
        if top < 1.0:
            # small exponents: full relative precision for N, D = O(|a|²).  On the grid the mean of
            # e is exactly 0 (modes 0 < k < n/2), so mean(e^e) − 1 = mean(y), y = e^e − 1 − e ≥ 0,
            # summed from its series without cancellation.
            y = _exp_minus_1_minus_x(e)
            mean_y = float(y.mean())
            mean_exp = 1.0 + mean_y
            log_z = math.log1p(mean_y)
            x = e + y
            m = (self.cos @ x) / (self.n * mean_exp)
            w = (1.0 + x) / (self.n * mean_exp)
            a_dot_m = float(e @ x) / (self.n * mean_exp)
        else:
            x = np.exp(e - top)
            s = float(x.mean())
            log_z = top + math.log(s)
            w = x / (self.n * s)
            m = self.cos @ w
            a_dot_m = float(e @ w)
        cov = (self.cos * w) @ self.cos.T - np.outer(m, m)
        N = a_dot_m - log_z
        D = float(self.c @ (m * m))
        return N, D, m, cov

    def value_and_gradient(self, a: np.ndarray) -> tuple[float, np.ndarray]:
        N, D, m, cov = self.parts(a)
        if D <= 1e-300:
            # outside {P > 0}: a steep wall keeps the minimiser out
            return 1e6 * (1 + float(a @ a)), 2e6 * a
        R = N / D
        return R, cov @ (a - 2 * R * self.c * m) / D

    def __call__(self, a: np.ndarray) -> float:
        N, D, _, _ = self.parts(np.asarray(a, dtype=float))
        return N / D if D > 0 else math.inf


def _exp_minus_1_minus_x(x: np.ndarray) -> np.ndarray:
    """``e^x − 1 − x`` for ``|x| ≤ 1`` from its Taylor series (relative error ~1e-16, no cancellation)."""
    term = x * x / 2
    total = term.copy()
    for j in range(3, 21):
        term = term * x / j
        total += term
    return total


def coupling_ratio(W: Fourier, a: Sequence[float], n: int = 256) -> float:
    """``R(a) = H(q_a)/P(q_a)``: the coupling at which ``q_a ∝ e^{Σ a_k cos kθ}`` ties with the uniform state."""
    return _Ratio(W, n)(np.asarray(a, dtype=float))


def _seeds(M: int) -> np.ndarray:
    """Starting exponents: a fan of directions in the half-space fixed by θ → θ + π."""
    radii = np.array([2.5])
    if M == 1:
        dirs = np.array([[1.0]])
    elif M == 2:
        phi = np.linspace(-np.pi / 2, np.pi / 2, 7)
        dirs = np.stack([np.cos(phi), np.sin(phi)], axis=1)
    else:
        rng = np.random.default_rng(0)
        dirs = rng.standard_normal((6 * M, M))
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    return (dirs[:, None, :] * radii[None, :, None]).reshape(-1, M)


#: a BFGS run whose iterate comes this close to a = 0 is heading for the uniform limit R → K_#
#: and is stopped.  A discontinuous minimum that close to 0 (order-parameter jump below ~0.005)
#: lies within ~1e-10 of K_# (Landau expansion near the tricritical point), far below the 1e-8
#: accuracy asked of K_c, and is reported as continuous.
_UNIFORM_LIMIT = 0.01


def _minimise(ratio: _Ratio, seeds: np.ndarray) -> tuple[float, np.ndarray]:
    """Smallest local minimum of ``R`` over BFGS runs from ``seeds`` (``inf`` if all head to ``a = 0``)."""
    best, best_a = math.inf, np.zeros(seeds.shape[1])

    def towards_uniform(intermediate_result: Any) -> None:
        if np.linalg.norm(intermediate_result.x) < _UNIFORM_LIMIT:
            raise StopIteration

    for a0 in seeds:
        res = minimize(ratio.value_and_gradient, a0, jac=True, method="BFGS", callback=towards_uniform,
                       options={"gtol": 1e-10, "maxiter": 400})
        if np.linalg.norm(res.x) >= _UNIFORM_LIMIT and res.fun < best:
            best, best_a = float(res.fun), res.x
    return best, best_a


def _resolution(a: np.ndarray, W: Fourier) -> int:
    """Nodes resolving ``e^{Σ a_k cos kθ}`` to round-off (see :func:`~fieldflow.mckean_vlasov.stationary.default_resolution`)."""
    A = float(np.sum(np.abs(a)))
    return int(max(64, 2 ** math.ceil(math.log2(2 * W.max_mode * (A + 16)))))


def critical_coupling(W: Fourier, n: int | None = None) -> CriticalCoupling:
    """The critical coupling ``K_c`` of ``F_K`` for the interaction ``W``, and the kind of transition.

    Parameters
    ----------
    W : Fourier
        Even interaction with at least one positive coefficient ``c_k`` (``k ≥ 1``).
    n : int, optional
        Quadrature nodes (default: enough for the minimiser found, checked against ``2n``).

    Returns
    -------
    CriticalCoupling
        ``K_c``, ``kind``, ``K_sharp``, the order-parameter ``jump`` and an ``error`` estimate.

    Notes
    -----
    Minimises ``R(a) = H(q_a)/P(q_a)`` (see the module docstring) by BFGS from a fan of
    starting exponents; ``K_c = min(K_#, min R)``.  Only centred (even) states are searched.
    """
    if not isinstance(W, Fourier):
        raise ValueError(f"W must be a fieldflow.mckean_vlasov.interactions.Fourier interaction, got {type(W).__name__}")
    K_sharp = linear_threshold(W)
    if not math.isfinite(K_sharp):
        raise ValueError(f"{W!r} has no positive coefficient c_k (k >= 1): F_K has no phase transition for any K > 0")
    M = len(W.modes)
    ratio = _Ratio(W, n or 128)
    best, a = _minimise(ratio, _seeds(M))
    n_used = n or _resolution(a, W)
    if n is None and n_used != ratio.n:
        ratio = _Ratio(W, n_used)
        best, a = _minimise(ratio, np.array([a]))
    fine = _Ratio(W, 2 * n_used)
    error = abs(fine(a) - best) + 1e-14
    if best < K_sharp * (1 - _DISCONTINUITY):
        _, _, m, _ = ratio.parts(a)
        orders = _order_parameters_of(a, W, n_used)
        moments = _centre_sign(W, m)
        return CriticalCoupling(best, "discontinuous", K_sharp, orders, moments, error, W, n_used)
    zeros = tuple(0.0 for _ in range(max(2, W.max_mode)))
    return CriticalCoupling(K_sharp, "continuous", K_sharp, zeros, tuple(0.0 for _ in W.modes), 0.0, W, n_used)


def _order_parameters_of(a: np.ndarray, W: Fourier, n: int) -> tuple[float, ...]:
    theta = 2 * np.pi * np.arange(n) / n
    e = sum(ak * np.cos(k * theta) for ak, k in zip(a, W.modes))
    w = np.exp(e - e.max())
    w /= w.sum()
    return tuple(float(abs(np.sum(w * np.exp(1j * k * theta)))) for k in range(1, max(2, W.max_mode) + 1))


def _centre_sign(W: Fourier, m: np.ndarray) -> tuple[float, ...]:
    from .stationary import _centre

    return tuple(float(x) + 0.0 for x in _centre(W.modes, np.asarray(m)))


def _kd_critical(m: float) -> CriticalCoupling:
    return critical_coupling(kuramoto_daido(m))


def phase_diagram(ms: Sequence[float], executor: Any = None, max_workers: int | None = None,
                  label: str | None = None) -> list[CriticalCoupling]:
    """:func:`critical_coupling` of the Kuramoto–Daido interaction ``cos θ + m cos 2θ`` for each ``m``.

    Parameters
    ----------
    ms : sequence of float
        Values of ``m``.
    executor : Executor, dask Client, "serial" or None
        Where to run (see :func:`fieldflow.core.sweep.sweep`; default: a process pool).
    max_workers : int, optional
        Processes of the default pool.
    label : str, optional
        Name of a progress bar over the ``m`` (shown on a terminal).
    """
    from ..core.sweep import sweep

    return sweep(_kd_critical, [float(m) for m in ms], executor=executor, max_workers=max_workers, label=label)


def kuramoto_daido_m_star(bracket: tuple[float, float] = (1.1, 1.35), xtol: float = 1e-12) -> tuple[float, float]:
    """The Kuramoto–Daido ``m_*``: for ``1 < m < m_*`` the transition is discontinuous, for ``m > m_*`` continuous.

    ``m_*`` is the root of ``g(m) = R_m(a^*(m)) − 1/m``, where ``a^*(m)`` is the local minimiser of
    ``R_m`` on the mixed branch (``a_1 ≠ 0``), followed continuously in ``m``: below ``m_*`` the
    mixed minimiser beats the linear threshold ``1/m``; above, ``1/m`` wins.  Solved by Brent's
    method to ``xtol``.

    Returns
    -------
    (m_star, error)
        ``error`` bounds the root-finding error plus the change of ``m_*`` when the quadrature
        nodes are doubled.
    """

    def g(m: float, n: int) -> float:
        W = kuramoto_daido(m)
        ratio = _Ratio(W, n)
        value, a = _minimise(ratio, _mixed_seeds)
        if abs(a[0]) < 1e-3:
            raise RuntimeError(f"lost the mixed branch at m={m}")
        return value - 1.0 / m

    _mixed_seeds = np.array([[0.8, 0.95], [1.5, 1.5], [3.0, 3.0]])
    roots = []
    for n in (256, 512):
        lo, hi = bracket
        g_lo, g_hi = g(lo, n), g(hi, n)
        if not (g_lo < 0 < g_hi):
            raise RuntimeError(f"m_* is not bracketed by {bracket}: g = {g_lo:.3g}, {g_hi:.3g}")
        roots.append(brentq(lambda m: g(m, n), lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps))
    return roots[-1], abs(roots[1] - roots[0]) + xtol
