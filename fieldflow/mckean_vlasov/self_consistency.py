"""The self-consistency equation ``q ∝ exp(2K W*q)`` reduced to the moments of ``q``, with its derivatives.

For ``W = Σ_k c_k cos kθ`` and a probability density ``q`` with moments
``z_k = ∫ e^{ikθ} q = x_k + i y_k``, ``W*q = c_0 + Σ_k c_k (x_k cos kθ + y_k sin kθ)``.  So a
stationary state is ``q_x ∝ exp(Σ_i a_i φ_i)`` with features ``φ_i ∈ {cos kθ, sin kθ}`` (``k`` a mode of
``W``), exponents ``a = 2K c∘x`` and moments ``x`` solving the finite system

.. math::  f(x, K) = x - \\mu(a) = 0, \\qquad \\mu_i(a) = \\langle \\varphi_i\\rangle_a =
           \\frac{\\int \\varphi_i\\, e^{a\\cdot\\varphi}}{\\int e^{a\\cdot\\varphi}} .

With ``Σ(a)`` the covariance and ``T(a)`` the third cumulant of the features under ``q_a``,

.. math::  f_x = I - 2K\\,\\Sigma\\,C, \\qquad f_K = -2\\,\\Sigma\\,C x, \\qquad
           \\partial_{x_l}(f_x v) = -4K^2 c_l\\, T_{\\cdot\\cdot l}\\, C v, \\qquad
           \\partial_K (f_x v) = -4K\\,T[Cx]\\,C v - 2\\Sigma C v ,

``C = diag(c)``.  The second derivatives are what a fold needs (:mod:`~fieldflow.mckean_vlasov.continuation`).
On a solution the free energy ``F(q) = ½∫q log q − (K/2)∫q(W*q)`` relative to the uniform state is

.. math::  \\Delta F(x, K) = \\tfrac K2 \\sum_i c_i x_i^2 - \\tfrac12 \\Lambda(2K c\\circ x), \\qquad
           \\Lambda(a) = \\log \\frac1{2\\pi}\\int e^{a\\cdot\\varphi},

whose gradient ``(K c∘(x − μ), ½ Σ c x² − c∘x·μ)`` vanishes in ``x`` on solutions (``dΔF/dK = −½Σ c x²``
along a branch).  Integrals use the trapezoidal rule on ``n`` equispaced nodes, exponentially
accurate for these entire integrands (:func:`~fieldflow.mckean_vlasov.stationary.default_resolution`).

*Even* states use the cosine features only (``y = 0``); the *full* system adds the sines of every mode
but the first, whose phase is fixed (``y_{k_0} = 0``) to remove the rotations.  That equation is then
implied by the others whenever ``x_{k_0} ≠ 0``: rotation invariance of
``G(z) = K Σ c_k |z_k|² − Λ(2K c z)``, whose gradient is ``2K c∘f``, gives
``Σ_k k c_k (x_k f^y_k − y_k f^x_k) = 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..core.grids import Grid
from ..core.validation import boolean, integer, real_number
from .interactions import Fourier

__all__ = ["SelfConsistency", "NonEvenState", "non_even_states", "even_up_to_rotation"]


class SelfConsistency:
    """The reduced system ``x = ⟨φ⟩_{2K c∘x}`` on cosine (and optionally sine) features of the modes of ``W``.

    Parameters
    ----------
    W : Fourier
        Even interaction.
    n : int
        Trapezoidal nodes (``Grid.torus(n)``); must resolve the states (``n ≥ 4·max_mode``).
    full : bool
        Also the sine features of every mode but the first (non-even states, phase fixed by ``y_{k_0} = 0``).

    Attributes
    ----------
    features : list of (str, int)
        ``("cos", k)`` for every mode of ``W``, then ``("sin", k)`` for the modes but the first if ``full``.
    c : ndarray
        ``c_k`` of each feature.
    """

    def __init__(self, W: Fourier, n: int, full: bool = False):
        if not isinstance(W, Fourier):
            raise ValueError("W must be a fieldflow.mckean_vlasov.interactions.Fourier interaction, "
                             f"got {type(W).__name__}")
        n = integer(n, "n", maximum=2**20, hint="the number of quadrature nodes on the circle")
        if n < 4 * W.max_mode:
            raise ValueError(f"n = {n} nodes cannot resolve mode {W.max_mode} of W; use n >= {4 * W.max_mode}")
        self.W, self.n, self.full = W, n, boolean(full, "full")
        theta = 2 * np.pi * np.arange(self.n) / self.n
        self.features = [("cos", k) for k in W.modes] + ([("sin", k) for k in W.modes[1:]] if full else [])
        self.phi = np.array([np.cos(k * theta) if kind == "cos" else np.sin(k * theta) for kind, k in self.features])
        self.c = np.array([W.coefficient(k) for _, k in self.features])
        self.theta = theta
        P = len(self.features)
        self._pairs = (self.phi[:, None, :] * self.phi[None, :, :]).reshape(P * P, self.n)  # φ_i φ_j, for Σ

    @property
    def size(self) -> int:
        """Number of unknowns ``P``."""
        return len(self.features)

    # ------------------------------------------------------------------ averages under q_a
    def weights(self, a: np.ndarray) -> np.ndarray:
        """Quadrature weights of ``q_a ∝ e^{a·φ}`` (rows sum to 1), shape ``(..., n)``."""
        e = np.asarray(a) @ self.phi
        e = e - e.max(axis=-1, keepdims=True)
        w = np.exp(e)
        return w / w.sum(axis=-1, keepdims=True)

    def log_partition(self, a: np.ndarray) -> np.ndarray:
        """``Λ(a) = log((1/2π)∫ e^{a·φ})`` (log-sum-exp stabilised), shape ``a.shape[:-1]``."""
        e = np.asarray(a) @ self.phi
        top = e.max(axis=-1)
        return top + np.log(np.exp(e - top[..., None]).mean(axis=-1))

    def mean_covariance(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``μ`` (..., P) and ``Σ`` (..., P, P) for quadrature weights ``w`` (..., n): two matrix products."""
        mu = w @ self.phi.T
        second = (w @ self._pairs.T).reshape(w.shape[:-1] + (self.size, self.size))
        return mu, second - mu[..., :, None] * mu[..., None, :]

    def cumulants(self, a: np.ndarray, third: bool = False) -> tuple[np.ndarray, ...]:
        """Mean ``μ`` (P,), covariance ``Σ`` (P, P) and, if asked, third cumulant ``T`` (P, P, P) under ``q_a``."""
        w = self.weights(a)
        mu, cov = self.mean_covariance(w)
        if not third:
            return mu, cov
        d = self.phi - mu[:, None]
        return mu, cov, np.einsum("in,jn,ln->ijl", d * w, d, d)

    # ------------------------------------------------------------------ the system
    def exponents(self, x: np.ndarray, K: Any) -> np.ndarray:
        """``a = 2K c∘x`` (``K`` a number or an array of shape ``x.shape[:-1]``)."""
        return 2 * np.asarray(K, dtype=float)[..., None] * self.c * np.asarray(x)

    def residual(self, x: np.ndarray, K: float) -> np.ndarray:
        """``f = x − μ(2K c∘x)`` (batched over leading axes)."""
        x = np.asarray(x, dtype=float)
        return x - self.weights(self.exponents(x, K)) @ self.phi.T

    def jacobian(self, x: np.ndarray, K: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``f``, ``f_x = I − 2KΣC`` and ``f_K = −2ΣCx`` at one point."""
        x = np.asarray(x, dtype=float)
        mu, cov = self.cumulants(self.exponents(x, K))
        J = np.eye(self.size) - 2 * K * cov * self.c[None, :]
        return x - mu, J, -2 * cov @ (self.c * x)

    def jacobian_derivative(self, x: np.ndarray, K: float, v: np.ndarray) -> np.ndarray:
        """``∂_y (f_x v)`` for ``y = (x, K)``: the ``(P, P+1)`` matrix whose column ``l`` is ``∂(f_x v)/∂y_l``."""
        mu, cov, T = self.cumulants(self.exponents(x, K), third=True)
        Cv = self.c * v
        dx = -4 * K * K * np.einsum("ijl,j->il", T, Cv) * self.c[None, :]
        dK = -4 * K * np.einsum("ijl,l,j->i", T, self.c * x, Cv) - 2 * cov @ Cv
        return np.column_stack([dx, dK])

    def delta_free_energy(self, x: np.ndarray, K: float) -> np.ndarray:
        """``ΔF = (K/2)Σ c x² − ½Λ(2K c∘x)``: ``F(q) − F(uniform)`` on a solution (batched)."""
        x = np.asarray(x, dtype=float)
        return 0.5 * np.asarray(K) * (self.c * x * x).sum(axis=-1) - 0.5 * self.log_partition(self.exponents(x, K))

    def delta_free_energy_gradient(self, x: np.ndarray, K: float) -> np.ndarray:
        """``(∂ΔF/∂x, ∂ΔF/∂K) = (K c∘(x − μ), ½Σ c x² − c∘x·μ)``."""
        x = np.asarray(x, dtype=float)
        mu = self.weights(self.exponents(x, K)) @ self.phi.T
        return np.append(K * self.c * (x - mu), 0.5 * float(self.c @ (x * x)) - float((self.c * x) @ mu))

    # ------------------------------------------------------------------ Newton
    def newton(self, x: np.ndarray, K: float, iterations: int = 60,
               tol: float = 1e-14) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Vectorised Newton for ``f(x, K) = 0`` from the rows of ``x`` (moments clipped to ``[−1, 1]``).

        Returns the limits, their residuals ``max|f|`` and the smallest singular value of ``f_x`` there.
        """
        x = np.array(x, dtype=float, ndmin=2)
        eye = np.eye(self.size)
        active = np.arange(len(x))
        for _ in range(iterations):
            xa = x[active]
            mu, cov = self.mean_covariance(self.weights(self.exponents(xa, K)))
            J = eye - 2 * K * cov * self.c[None, None, :]
            try:
                step = np.linalg.solve(J, (xa - mu)[..., None])[..., 0]
            except np.linalg.LinAlgError:
                step = np.einsum("sjk,sk->sj", np.linalg.pinv(J), xa - mu)
            x[active] = np.clip(xa - step, -1.0, 1.0)
            active = active[np.max(np.abs(step), axis=1) > tol]
            if active.size == 0:
                break
        mu, cov = self.mean_covariance(self.weights(self.exponents(x, K)))
        res = np.max(np.abs(x - mu), axis=1)
        sigma = np.linalg.svd(eye - 2 * K * cov * self.c[None, None, :], compute_uv=False)[:, -1]
        return x, res, sigma

    # ------------------------------------------------------------------ the state itself
    def density(self, x: np.ndarray, K: float, grid: Grid | None = None) -> np.ndarray:
        """``q_x = e^{2K c∘x·φ}/Z`` on the ``n`` nodes (mass 1 by the trapezoidal rule), NumPy."""
        if grid is not None and grid.shape[0] != self.n:
            raise ValueError(f"the grid has {grid.shape[0]} nodes, the system {self.n}")
        return self.weights(self.exponents(x, K)) * self.n / (2 * np.pi)

    def order_parameters(self, x: np.ndarray, K: float, kmax: int) -> np.ndarray:
        """``|z_k| = |∫ e^{ikθ} q_x|`` for ``k = 1..kmax`` (batched)."""
        w = self.weights(self.exponents(x, K))
        k = np.arange(1, kmax + 1)
        return np.abs(w @ np.exp(1j * np.outer(k, self.theta)).T)


# ---------------------------------------------------------------------------- non-even states


@dataclass
class NonEvenState:
    """A stationary state that no rotation makes even.

    Attributes
    ----------
    K : float
    moments : ndarray of complex
        ``z_k = ∫ e^{ikθ} q`` for the modes of ``W``, rotated so that ``z_{k_0}`` is real and positive.
    delta_free_energy : float
        ``F(q) − F(uniform)``.
    residual : float
        ``max |f|`` of the full self-consistency system.
    """

    K: float
    moments: np.ndarray
    delta_free_energy: float
    residual: float


def even_up_to_rotation(z: np.ndarray, modes: Sequence[int], tol: float = 1e-6) -> bool:
    """Whether the state with moments ``z_k`` (``z_{k_0}`` real, ``k_0 = modes[0]``) is even about some point.

    ``q(φ + θ) = q(φ − θ)`` iff every ``z_k e^{−ikφ}`` is real; with ``z_{k_0}`` real and non-zero the
    candidates are ``φ = jπ/k_0``.
    """
    ks = np.asarray(modes)
    for j in range(2 * ks[0]):
        if np.max(np.abs((z * np.exp(-1j * ks * j * np.pi / ks[0])).imag)) < tol:
            return True
    return False


def _seeds_full(P: int, per_axis: int) -> np.ndarray:
    """A box of starting moments in ``[−0.95, 0.95]^P`` (first coordinate positive: the rotation by π)."""
    axes = [np.linspace(0.05, 0.95, per_axis)] + [np.linspace(-0.95, 0.95, per_axis)] * (P - 1)
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, P)


def non_even_states(W: Fourier, K: float, n: int | None = None, per_axis: int | None = None,
                    tol: float = 1e-12) -> list[NonEvenState]:
    """Stationary states of ``(W, K)`` that are not even about any point (multi-start Newton, phase fixed).

    Solves the full system of :class:`SelfConsistency` (cosines of every mode, sines of every mode but
    the first, ``y_{k_0} = 0``) by Newton from a box of starting moments; keeps the limits with residual
    below ``tol`` and ``x_{k_0} > 1e-6`` (the phase fix needs ``z_{k_0} ≠ 0``) that are not even about any
    point (:func:`even_up_to_rotation`); deduplicates the mirror images ``y → −y``.  States with
    ``z_{k_0} = 0`` (``2π/k``-periodic for a larger ``k``) are not searched.

    Returns
    -------
    list of NonEvenState
        By increasing free energy (empty when every stationary state found is even).
    """
    from .stationary import _check, default_resolution

    K = _check(W, K)
    if len(W.modes) < 2:
        return []  # one mode: every state is e^{a cos k(θ − θ_0)}, even about θ_0
    tol = real_number(tol, "tol", positive=True, hint="the residual below which a Newton root counts")
    n = default_resolution(W, K) if n is None else n
    system = SelfConsistency(W, n, full=True)
    P = system.size
    per_axis = {3: 11, 4: 7, 5: 5}.get(P, 3) if per_axis is None else integer(per_axis, "per_axis", minimum=1,
                                                                               maximum=64, hint="seeds per axis")
    x, res, _ = system.newton(_seeds_full(P, per_axis), K)
    M = len(W.modes)
    found: list[NonEvenState] = []
    for xi, ei in zip(x, res):
        z = xi[:M] + 1j * np.concatenate([[0.0], xi[M:]])
        if not (ei < tol and xi[0] > 1e-6) or even_up_to_rotation(z, W.modes):
            continue
        y = xi[M:] * np.sign(xi[M:][np.argmax(np.abs(xi[M:]) > 1e-6)])  # mirror θ → −θ: first sine moment > 0
        z = xi[:M] + 1j * np.concatenate([[0.0], y])
        if any(np.max(np.abs(z - s.moments)) < 1e-7 for s in found):
            continue
        dF = float(system.delta_free_energy(np.concatenate([xi[:M], y]), K))
        found.append(NonEvenState(K=K, moments=z, delta_free_energy=dF, residual=float(ei)))
    return sorted(found, key=lambda s: s.delta_free_energy)

