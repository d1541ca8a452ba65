"""Interacting oscillators on the torus: the particle system behind the McKean–Vlasov equation.

.. math::  d\\theta_i = \\frac KN \\sum_{j=1}^N W'(\\theta_i - \\theta_j)\\,dt + dB_i ,

whose empirical measure converges to the solution of
``∂t q = ½ q'' − K (q (W'*q))'`` as ``N → ∞`` (:ref:`conventions-mckean-vlasov`).  For ``W = Σ_k c_k cos kθ`` the
drift is computed through the empirical Fourier moments ``Z_k = (1/N) Σ_j e^{ikθ_j}``:

.. math::  \\frac1N \\sum_j W'(\\theta_i - \\theta_j) = -\\sum_k k\\,c_k\\,
           \\mathrm{Im}\\big(e^{ik\\theta_i}\\,\\overline{Z_k}\\big),

so a step costs ``O(N M)`` (``M`` modes), not ``O(N²)``.  :class:`Oscillators` is this system as a
:class:`~fieldflow.core.problem.ParticleSystem` (diffusion ``½``, angles wrapped to ``[0, 2π)``);
:func:`fieldflow.evolve` steps it by Euler–Maruyama (weak order 1), seeded::

    traj = ff.evolve(ff.mckean_vlasov.Oscillators(W, K), theta0, t_end=40.0, dt=0.01, seed=0)

Finite-``N`` statistics (used by the tests).  The ``N``-particle system is a gradient diffusion
with invariant law ``∝ exp(N K Σ_k c_k |Z_k|²)``.  Around a stationary ``q`` of the mean-field
equation, its large deviations have rate ``2N (F(μ) − F(q))``, so the moment vector
``v = (Re Z_k, Im Z_k)_k − (moments of q)`` is asymptotically Gaussian with covariance

.. math::  \\frac1N \\big(\\Sigma_q^{-1} - 2K\\,\\mathrm{diag}(c, c)\\big)^{-1},

``Σ_q`` the covariance of ``(cos kθ, sin kθ)`` under ``q`` (the rotation direction excepted).
See :func:`order_parameter_std`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._compat import legacy_result, warn_moved
from ..core.backend import namespace_of
from ..core.evolve import evolve
from ..core.problem import Particles, ParticleSystem
from ..core.validation import real_number
from .interactions import Fourier

__all__ = ["Oscillators", "drift", "moments", "simulate", "order_parameter_std"]


def _phases(theta: Any, modes: Sequence[int]) -> dict[int, Any]:
    """``e^{ikθ}`` for each ``k`` in ``modes``: one complex exponential, then powers by multiplication."""
    xp = namespace_of(theta)
    base = xp.exp(1j * theta)
    out: dict[int, Any] = {}
    power, current = 1, base
    for k in sorted(modes):
        while power < k:
            current, power = current * base, power + 1
        out[k] = current
    return out


def moments(theta: Any, modes: Sequence[int]) -> Any:
    """Empirical moments ``Z_k = (1/N) Σ_j e^{ikθ_j}`` for ``k`` in ``modes`` (complex array ``(M,)``)."""
    xp = namespace_of(theta)
    phases = _phases(theta, modes)
    return xp.stack([xp.mean(phases[k]) for k in modes])


def drift(theta: Any, W: Fourier, K: float) -> Any:
    """``(K/N) Σ_j W'(θ_i − θ_j)`` for every particle, in ``O(N M)`` through the moments."""
    xp = namespace_of(theta)
    phases = _phases(theta, W.modes)
    out = xp.zeros_like(theta)
    for k in W.modes:
        p = phases[k]
        out -= (K * k * W.coefficient(k)) * (p * xp.conj(xp.mean(p))).imag
    return out


class Oscillators(ParticleSystem):
    """``N`` interacting oscillators ``dθ_i = (K/N) Σ_j W'(θ_i − θ_j) dt + dB_i`` on the torus (stochastic).

    The state is the array of angles ``(N,)`` (``N ≥ 2``); positions are wrapped to ``[0, 2π)`` after each step.
    Diagnostics: ``mass`` and the order parameters ``r1, r2, …`` (``|Z_k|``, ``k ≤ max(2, max mode)``), as for
    :class:`~fieldflow.mckean_vlasov.McKeanVlasov`.  Default stepper ``"euler-maruyama"``.

    Parameters
    ----------
    W : Fourier
        The interaction (e.g. :func:`~fieldflow.mckean_vlasov.kuramoto`).
    K : float
        The coupling (> 0).
    """

    default_method = "euler-maruyama"
    diffusion = 0.5

    def __init__(self, W: Fourier, K: float):
        if not isinstance(W, Fourier):
            raise ValueError(f"W must be a fieldflow.mckean_vlasov.interactions.Fourier interaction, got {type(W).__name__}")
        self.W, self.K = W, real_number(K, "the coupling K", positive=True, hint="the interaction strength of K W")
        self._modes = list(range(1, max(2, W.max_mode) + 1))

    def drift(self, state: Particles, t: float) -> Any:
        """``(K/N) Σ_j W'(θ_i − θ_j)`` (:func:`drift`)."""
        return drift(state.x, self.W, self.K)

    def wrap(self, x: Any) -> Any:
        return x % (2 * math.pi)

    def validate(self, state0: Any) -> Particles:
        p = state0.x if isinstance(state0, Particles) else state0
        if getattr(p, "ndim", 0) != 1 or p.size < 2:
            raise ValueError(f"theta0 must be a 1D array of at least 2 angles, got shape {tuple(getattr(p, 'shape', ()))}")
        return super().validate(state0)

    def diagnostics(self, state: Particles, t: float) -> dict[str, float]:
        xp = namespace_of(state.x)
        w = state.weights
        mass = float(xp.sum(w))
        phases = _phases(state.x, self._modes)
        return {"mass": mass, **{f"r{k}": float(abs(xp.sum(w * phases[k]))) / mass for k in self._modes}}

    def describe(self) -> dict[str, Any]:
        return {"problem": "Oscillators", "W": repr(self.W), "K": self.K}


def simulate(W: Fourier, K: float, theta0: Any, t_end: float, dt: float, seed: int | None = 0,
             save_times: Sequence[float] | None = None, *, progress: bool | None = None,
             checkpoint: str | Path | None = None, checkpoint_every: float = 60.0,
             resume: str | Path | bool | None = None) -> tuple[np.ndarray, list[Any]]:
    """Deprecated: ``ff.evolve(Oscillators(W, K), theta0, t_end, dt=dt, seed=seed, save_times=...)``.

    Returns the save times after ``0`` (``t_end`` included; after a Ctrl-C they end at the interruption) and the
    angles (in ``[0, 2π)``) at those times.
    """
    warn_moved("fieldflow.mckean_vlasov.particles.simulate(W, K, theta0, ...)",
               "fieldflow.evolve(fieldflow.mckean_vlasov.Oscillators(W, K), theta0, t_end, dt=dt, seed=seed)")
    traj = evolve(Oscillators(W, K), theta0, t_end, dt=dt, seed=seed, save_times=save_times, progress=progress,
                  checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume)
    return legacy_result(traj, theta0)


def order_parameter_std(W: Fourier, K: float, moments_q: Sequence[float], N: int, n: int = 512) -> float:
    """Asymptotic standard deviation of the empirical ``|Z_1|`` of ``N`` oscillators around ``q``.

    ``q ∝ exp(2K Σ_k c_k r_k cos kθ)`` is the centred stationary state with moments ``r_k``
    (``moments_q``, one per mode of ``W``).  Returns ``sqrt(G_11 / N)`` with
    ``G = (Σ_cc^{-1} − 2K diag(c))^{-1}`` on the cos block (see the module docstring); for the
    uniform state and ``W = cos`` this is ``sqrt(1/(2N(1 − K)))``, and then ``|Z_1|`` is
    Rayleigh-distributed with mean ``sqrt(π/2)`` times it.
    """
    theta = 2 * np.pi * np.arange(n) / n
    modes = np.array(W.modes)
    c = np.array([W.coefficient(k) for k in modes])
    cos = np.cos(np.outer(modes, theta))
    e = (2 * K * c * np.asarray(moments_q, dtype=float)) @ cos
    w = np.exp(e - e.max())
    w /= w.sum()
    mean = cos @ w
    cov = (cos * w) @ cos.T - np.outer(mean, mean)
    G = np.linalg.inv(np.linalg.inv(cov) - 2 * K * np.diag(c))
    if G[0, 0] <= 0:
        raise ValueError("the state is not a strict local minimiser of F; finite-N fluctuations are not Gaussian there")
    return math.sqrt(G[0, 0] / N)
