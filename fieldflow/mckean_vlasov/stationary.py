"""Stationary states of the McKean–Vlasov equation on the torus and their stability.

Stationary states (:ref:`conventions-mckean-vlasov`) solve the self-consistency equation

.. math::  q = \\frac{e^{2K\\,W*q}}{Z}, \\qquad Z = \\int_{\\mathbb T} e^{2K\\,W*q}.

For the even interaction ``W = Σ_k c_k cos kθ`` and a *centred* (even) state, ``W*q`` only
depends on the real moments ``r_k = ∫ cos(kθ) q(θ) dθ`` of the modes of ``W``:
``W*q = c_0 + Σ_k c_k r_k cos kθ``.  So the stationary states are the solutions
``r ∈ [−1, 1]^M`` (``M`` = number of modes of ``W``) of the finite system

.. math::  r_k = \\langle \\cos k\\theta \\rangle_{a(r)}, \\qquad
           a_k(r) = 2K c_k r_k, \\qquad
           \\langle f\\rangle_a = \\frac{\\int f\\, e^{\\sum_j a_j\\cos j\\theta}}{\\int e^{\\sum_j a_j \\cos j\\theta}},

solved by Newton's method from many starting points (the Jacobian is
``I − 2K Cov_a(cos jθ, cos kθ) c_k``).  The integrals use the trapezoidal rule on
``Grid.torus(n)``, which converges exponentially in ``n`` for these entire integrands.

Stability (strict local minimum of ``F`` modulo rotations) is decided on the reduced second
variation.  At a critical point ``q``, ``d²F[u,u] = ½∫u²/q − K∫u (W*u)`` on mean-zero ``u``;
minimising the first term at fixed moments ``v = (∫cos kθ u, ∫ sin kθ u)_k`` gives
``½ vᵀ Σ⁻¹ v`` with ``Σ`` the covariance of the features ``cos kθ, sin kθ`` under ``q``, so

.. math::  d^2F \\succ 0 \\iff H = \\tfrac12 \\Sigma^{-1} - K\\,\\mathrm{diag}(c, c) \\succ 0 ,

and ``H`` has the same inertia as ``½ I − K Lᵀ diag(c,c) L`` (``Σ = L Lᵀ``), whose eigenvalues
are reported as ``hessian_eigenvalues``.  For a non-uniform state one eigenvalue is zero: the
rotation ``u = q'``; it is excluded from the test.  For the uniform state ``Σ = ½ I`` and the
eigenvalues are ``½(1 − K c_k)``, so it is stable exactly for ``K < 1/max_k c_k``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.grids import Grid
from .interactions import Fourier
from .pde import free_energy as _free_energy
from .pde import order_parameters as _order_parameters

__all__ = ["StationaryState", "stationary_states", "free_energy_minimizer", "default_resolution",
           "self_consistency_residual"]

#: states whose moments differ by less than this are the same state
_SAME = 1e-7
#: a moment below this is zero (for centring and classification)
_ZERO = 1e-9
#: a Newton limit is a state only if max|r| · σ_min(Jacobian) exceeds this (1000 × round-off)
_RESOLVABLE = 1e-13


@dataclass
class StationaryState:
    """A stationary state ``q ∝ exp(2K W*q)`` with its free energy and stability.

    Attributes
    ----------
    q : ndarray
        The density on ``grid`` (NumPy), normalised by the trapezoidal rule.
    grid : Grid
        ``Grid.torus(n)``.
    K : float
        Coupling strength.
    W : Fourier
        The interaction.
    moments : tuple of float
        Signed ``r_k = ∫ cos(kθ) q`` for the modes ``k`` of ``W`` (``W.modes``); the state is
        centred: even in θ, with the first non-zero odd moment positive (π-periodic states
        likewise in 2θ, and so on).
    free_energy : float
        ``F(q) = ½∫ q log q − (K/2)∫ q (W*q)`` (trapezoidal rule).
    order_parameters : tuple of float
        ``(|z_1|, |z_2|, ...)``, ``z_k = ∫ e^{ikθ} q``, up to ``max(2, W.max_mode)``.
    stable : bool
        Strict local minimiser of ``F`` modulo rotations.
    hessian_eigenvalues : ndarray
        Eigenvalues of ``½ I − K Lᵀ diag(c, c) L`` (same signs as the reduced second variation);
        the rotation's zero eigenvalue is included.
    residual : float
        ``max_k |r_k − ⟨cos kθ⟩|`` of the self-consistency equation.
    """

    q: np.ndarray
    grid: Grid
    K: float
    W: Fourier
    moments: tuple[float, ...]
    free_energy: float
    order_parameters: tuple[float, ...]
    stable: bool
    hessian_eigenvalues: np.ndarray = field(repr=False)
    residual: float = 0.0

    @property
    def uniform(self) -> bool:
        """Whether this is the uniform state ``q = 1/2π``."""
        return max(abs(r) for r in self.moments) < _ZERO

    @property
    def r(self) -> float:
        """The Kuramoto order parameter ``|z_1| = |∫ e^{iθ} q|``."""
        return self.order_parameters[0]

    def __repr__(self) -> str:
        shape = "uniform" if self.uniform else "moments (" + ", ".join(f"{r:.6g}" for r in self.moments) + ")"
        return (f"StationaryState(K={self.K:.6g}, {shape}, free_energy={self.free_energy:.10g}, "
                f"{'stable' if self.stable else 'unstable'}, n={self.grid.shape[0]}, W={self.W!r})")


# ---------------------------------------------------------------------------- input checks


def _check(W: Fourier, K: float) -> float:
    if not isinstance(W, Fourier):
        raise ValueError(f"W must be a fieldflow.mckean_vlasov.interactions.Fourier interaction, got {type(W).__name__}")
    K = float(K)
    if not (math.isfinite(K) and K > 0):
        raise ValueError(f"the coupling K must be positive and finite, got {K!r}")
    return K


def default_resolution(W: Fourier, K: float) -> int:
    """A power of two ``n`` resolving every stationary state of ``(W, K)`` to round-off.

    A state is ``e^{Σ a_k cos kθ}/Z`` with ``|a_k| ≤ 2K|c_k|``; its Fourier coefficients decay
    like ``(A/2)^j / j!`` in the combined mode ``j`` (``A = Σ|a_k|``), below 1e-17 once
    ``j ≳ e·A/2 + 40``, so ``n = 4 max_mode (A + 16)`` (rounded up to a power of two) is ample.
    """
    A = 2 * K * sum(abs(c) for k, c in W.coefficients.items() if k)
    need = 4 * W.max_mode * (A + 16)
    return int(max(64, 2 ** math.ceil(math.log2(need))))


# ---------------------------------------------------------------------------- the reduced system


class _Moments:
    """Trapezoidal averages ``⟨cos kθ⟩_a`` and covariances for a batch of exponents ``a``."""

    def __init__(self, W: Fourier, n: int):
        self.W, self.n = W, n
        theta = 2 * np.pi * np.arange(n) / n
        self.modes = np.array(W.modes)
        self.c = np.array([W.coefficient(k) for k in W.modes])
        self.cos = np.cos(np.outer(self.modes, theta))  # (M, n)
        self.sin = np.sin(np.outer(self.modes, theta))

    def weights(self, a: np.ndarray) -> np.ndarray:
        """Normalised weights ``e^{a·cos}/Σ e^{a·cos}`` of shape ``(S, n)`` (log-sum-exp stabilised)."""
        e = a @ self.cos
        e -= e.max(axis=-1, keepdims=True)
        w = np.exp(e)
        return w / w.sum(axis=-1, keepdims=True)

    def mean_cov(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``⟨cos kθ⟩`` (S, M), ``Cov(cos jθ, cos kθ)`` and ``Cov(sin jθ, sin kθ)`` (S, M, M)."""
        w = self.weights(a)
        mean = w @ self.cos.T
        cc = np.einsum("sn,jn,kn->sjk", w, self.cos, self.cos) - mean[:, :, None] * mean[:, None, :]
        smean = w @ self.sin.T
        ss = np.einsum("sn,jn,kn->sjk", w, self.sin, self.sin) - smean[:, :, None] * smean[:, None, :]
        return mean, cc, ss


def self_consistency_residual(W: Fourier, K: float, r: Any, n: int | None = None) -> np.ndarray:
    """``r_k − ⟨cos kθ⟩_{a(r)}`` for moments ``r`` of shape ``(..., M)`` (``M = len(W.modes)``)."""
    K = _check(W, K)
    n = n or default_resolution(W, K)
    mom = _Moments(W, n)
    r = np.asarray(r, dtype=float)
    flat = r.reshape(-1, len(W.modes))
    mean = mom.weights(2 * K * mom.c * flat) @ mom.cos.T
    return (flat - mean).reshape(r.shape)


def _newton(mom: _Moments, K: float, r: np.ndarray, iterations: int = 60) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised Newton iteration for ``r = ⟨cos⟩_{2Kcr}`` from the rows of ``r``.

    Returns the limits, the residuals ``max_k |r_k − ⟨cos kθ⟩|`` and a *resolvability* measure
    ``max|r| · σ_min(J)``.  Next to a degenerate root (a bifurcation point of the uniform
    state, where ``J`` is singular) the residual is ``O(|r|³)`` and reaches round-off while
    ``r ~ 1e-5``: such a limit is not distinguishable from the uniform state, because a residual
    error ``ε ≈ 1e-16`` moves ``r`` by ``ε/σ_min(J)``.  A genuine state needs
    ``|r| ≫ ε/σ_min(J)``, i.e. a resolvability well above ``1e-16``.
    """
    M = r.shape[1]
    eye = np.eye(M)
    r = r.copy()
    active = np.arange(len(r))
    for _ in range(iterations):
        ra = r[active]
        mean, cc, _ = mom.mean_cov(2 * K * mom.c * ra)
        J = eye - 2 * K * cc * mom.c[None, None, :]
        try:
            sa = np.linalg.solve(J, (ra - mean)[..., None])[..., 0]
        except np.linalg.LinAlgError:
            sa = np.einsum("sjk,sk->sj", np.linalg.pinv(J), ra - mean)
        # stay inside the moment box [-1, 1]^M (moments of a density)
        r[active] = np.clip(ra - sa, -1.0, 1.0)
        moving = np.max(np.abs(sa), axis=1) > 1e-15
        active = active[moving]
        if active.size == 0:
            break
    mean = mom.weights(2 * K * mom.c * r) @ mom.cos.T
    residual = np.max(np.abs(r - mean), axis=1)
    _, cc, _ = mom.mean_cov(2 * K * mom.c * r)
    sigma_min = np.linalg.svd(eye - 2 * K * cc * mom.c[None, None, :], compute_uv=False)[:, -1]
    return r, residual, np.max(np.abs(r), axis=1) * sigma_min


def _centre(modes: tuple[int, ...], r: np.ndarray) -> np.ndarray:
    """The canonical representative of ``r`` under the rotations that keep the state even.

    θ → θ + π maps ``r_k → (−1)^k r_k``: choose the sign making the first non-zero odd moment
    positive.  If all odd moments vanish, the state is π-periodic and the same rule applies to
    it as a function of 2θ (rotation by π/2), and so on.
    """
    r = r.copy()
    scale = 1
    ks = np.array(modes)
    while True:
        active = ks % scale == 0
        sub = ks // scale
        odd = active & (sub % 2 == 1) & (np.abs(r) > _ZERO)
        if np.any(odd):
            first = np.flatnonzero(odd)[0]
            if r[first] < 0:
                r[active] = r[active] * (-1.0) ** sub[active]
            return r
        if not np.any(active & (np.abs(r) > _ZERO)):
            return r
        scale *= 2


def _seeds(M: int) -> np.ndarray:
    """Starting moments: a grid over ``[−1, 1]^M`` plus small amplitudes along each mode axis.

    The axis seeds (down to ``1e-4``) catch the small states next to a bifurcation from the
    uniform state, which bifurcate along the mode axes.
    """
    per_axis = {1: 41, 2: 25, 3: 11}.get(M, 5)
    axes = [np.linspace(-0.98, 0.98, per_axis)] * M
    box = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, M)
    amplitudes = np.concatenate([np.geomspace(1e-4, 0.5, 16), -np.geomspace(1e-4, 0.5, 16)])
    small = (np.eye(M)[:, None, :] * amplitudes[None, :, None]).reshape(-1, M)
    return np.concatenate([box, small])


def _state_from_moments(W: Fourier, K: float, r: np.ndarray, grid: Grid, mom: _Moments, residual: float) -> StationaryState:
    a = 2 * K * mom.c * r
    w = mom.weights(a[None, :])[0]
    h = 2 * np.pi / grid.shape[0]
    q = w / h
    qg = grid.xp.asarray(q)
    F = _free_energy(qg, grid, W, K)
    orders = _order_parameters(qg, grid, max(2, W.max_mode))
    # reduced second variation, features (cos k, sin k)_k
    _, cc, ss = mom.mean_cov(a[None, :])
    eig = []
    zero_mode = not bool(np.all(np.abs(r) < _ZERO))
    values = []
    for cov in (cc[0], ss[0]):
        L = np.linalg.cholesky(cov + 1e-300 * np.eye(len(r)))
        H = 0.5 * np.eye(len(r)) - K * L.T @ np.diag(mom.c) @ L
        values.append(np.linalg.eigvalsh(0.5 * (H + H.T)))
    eig = np.concatenate(values)
    test = list(values[0]) + list(values[1])
    if zero_mode:
        # drop the rotation mode: the sin-block eigenvalue closest to zero
        sin_vals = list(values[1])
        sin_vals.pop(int(np.argmin(np.abs(values[1]))))
        test = list(values[0]) + sin_vals
    stable = bool(min(test, default=1.0) > 1e-10)
    return StationaryState(q=q, grid=grid, K=K, W=W, moments=tuple(float(x) for x in r), free_energy=F,
                           order_parameters=orders, stable=stable, hessian_eigenvalues=eig, residual=float(residual))


def stationary_states(W: Fourier, K: float, n: int | None = None, tol: float = 1e-12) -> list[StationaryState]:
    """All centred stationary states ``q ∝ exp(2K W*q)`` of the McKean–Vlasov equation.

    Parameters
    ----------
    W : Fourier
        Even interaction (e.g. :func:`fieldflow.mckean_vlasov.interactions.kuramoto_daido`).
    K : float
        Coupling strength (> 0).
    n : int, optional
        Grid points of the returned ``Grid.torus(n)`` and of the quadrature (default
        :func:`default_resolution`).
    tol : float
        Accept a Newton limit when the self-consistency residual is below ``tol``.

    Returns
    -------
    list of StationaryState
        The uniform state first, then the non-uniform ones by increasing free energy.  States
        are found by Newton's method from a grid of starting moments in ``[−1, 1]^M`` and
        deduplicated up to rotation; only reflection-symmetric (even) states are searched.
    """
    K = _check(W, K)
    n = int(n or default_resolution(W, K))
    grid = Grid.torus(n)
    W._check_grid(grid)
    mom = _Moments(W, n)
    M = len(W.modes)
    r, res, resolvable = _newton(mom, K, _seeds(M))
    found: list[np.ndarray] = [np.zeros(M)]
    residuals = [0.0]
    for ri, ei, si in zip(r, res, resolvable):
        if not (ei < tol and si > _RESOLVABLE) or np.max(np.abs(ri)) < _ZERO:
            continue
        c = _centre(W.modes, ri) + 0.0
        if any(np.max(np.abs(c - f)) < _SAME for f in found):
            continue
        found.append(c)
        residuals.append(float(ei))
    states = [_state_from_moments(W, K, f, grid, mom, e) for f, e in zip(found, residuals)]
    return [states[0]] + sorted(states[1:], key=lambda s: s.free_energy)


def free_energy_minimizer(W: Fourier, K: float, n: int | None = None) -> StationaryState:
    """The stationary state of least free energy (the uniform state included)."""
    return min(stationary_states(W, K, n=n), key=lambda s: s.free_energy)
