"""The renormalised measures by JKO steps in the time-dependent metric of ``Ċ_t``.

With ``Γ_t = C_∞ − C_t``, ``π_t = N(0, Γ_t/2)`` and ``F_t = ½ KL(·‖π_t)`` (:ref:`conventions-polchinski`), the scheme is

.. math:: σ_{k+1} = \\arg\\min_σ\\ F_{t_{k+1}}(σ) + \\frac{W_{2,Ċ_{t_{k+1}}}^2(σ, σ_k)}{2τ},
          \\qquad W_{2,Ċ}^2(σ, σ') = \\inf_{X∼σ, X'∼σ'} E\\big[(X − X')^{\\mathsf T} Ċ^{-1} (X − X')\\big],

whose limit ``τ → 0`` is ``∂_t σ = ½ ∇·(Ċ_t σ ∇\\log(σ/π_t))``, the equation of ``ν_t``
(:mod:`~fieldflow.polchinski.measure`).  Two exact reductions of one step:

**One site, any σ** (:class:`QuantileJKO`).  ``W_{2,Ċ}² = W_2²/Ċ``, so one step minimises
``KL(σ‖π) + W_2²(σ, σ_k)/(τĊ)``: a JKO step for ``π ∝ e^{−V}``, ``V(x) = x²/Γ_t``, with step
``τĊ_t/2``.  In one dimension ``W_2(σ, σ_k)² = ∫_0^1 |X(m) − X_k(m)|² dm`` for the quantile functions,
and ``∫ σ log σ = −∫_0^1 \\log X'(m) dm``, so with ``N`` quantiles ``X_i`` at ``m_i = (i − ½)/N`` each step
minimises the strictly convex (for ``τ Ċ \\inf V'' > −1``) function

.. math:: G(X) = −\\sum_{i=1}^{N-1} \\log(X_{i+1} − X_i) + \\sum_i V_t(X_i)
          + \\frac{1}{2τĊ_t} \\sum_i (X_i − X^k_i)²

(``N ×`` the discrete functional, constants dropped, here with ``τĊ_t`` standing for the step
``τĊ_t/2``) by Newton's method with its tridiagonal Hessian and a backtracking line search that keeps
the ``X_i`` increasing (:func:`jko_step`).  ``V'' = 2/Γ_t > 0``: every step is convex.

**Centred Gaussians with a translation-invariant covariance, any lattice** (:class:`GaussianJKO`).
For commuting covariances ``S``, ``Ċ``, ``Γ`` (symbols ``s``, ``ċ``, ``g`` on the Fourier modes ``k``),
``KL(N(0,S)‖N(0,Γ/2)) = Σ_k ½(2s/g − 1 − \\log(2s/g))`` and
``W_{2,Ċ}²(N(0,S), N(0,S')) = Σ_k (\\sqrt{s} − \\sqrt{s'})²/ċ``, and the minimiser over all measures
is this Gaussian (the first-order condition holds for a linear map, and ``F_t`` is ``1/g``-convex), so
a step is one scalar problem per mode.  In ``r = \\sqrt{s}`` it is
``¼(2r²/g − 2\\log r) + (r − r_k)²/(2τċ)``, whose stationarity condition ``(1 + τċ/g) r² − r_k r − τċ/2 = 0`` gives

.. math:: r_{k+1} = \\frac{r_k + \\sqrt{r_k^2 + 2τċ\\,(1 + τċ/g)}}{2(1 + τċ/g)} .

Each problem class has the step-map contract of the time loop (``step(state, t, dt)``,
``validate``, ``diagnostics``, ``describe``; ``conserved``, ``positive``, ``monotone``,
``default_method``); :func:`measure_flow_jko` builds one and runs it.  No diagnostic is monotone:
``F_t(ν_t)`` rises and falls along the flow because ``π_t`` moves.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.backend import to_numpy
from ..core.grids import Grid
from ..core.evolve import evolve
from ..core.jko import density_quantiles, jko_step
from ..core.problem import StepMap
from ..core.trajectory import Trajectory
from .covariance import CovarianceDecomposition, FourierOperator, _negated_index
from .potentials import FieldPotential

__all__ = ["jko_step", "QuantileJKO", "GaussianJKO", "measure_flow_jko", "measure_quantiles", "density_quantiles"]


def measure_quantiles(V0: FieldPotential, decomposition: CovarianceDecomposition, count: int) -> np.ndarray:
    """The quantiles of ``ν_0 ∝ e^{−V_0} N(0, C_∞)`` (one site) at ``m_i = (i − ½)/count``.

    From the piecewise-linear CDF of the density on ``2^16`` cells of a box that holds all but
    ``e^{−50}`` of it (found by doubling ``8 C_∞^{1/2}``); the quantile error is ``O(h²)``.
    """
    if decomposition.lattice.size != 1:
        raise ValueError(f"quantiles describe one site; the lattice has {decomposition.lattice.size}")
    if not (isinstance(count, (int, np.integer)) and count >= 3):
        raise ValueError(f"count must be an integer ≥ 3, got {count!r}")
    c_inf = float(decomposition.symbol(math.inf).ravel()[0])

    def log_density(x: np.ndarray) -> np.ndarray:
        v = np.asarray(to_numpy(V0(x[:, None], ndim=1)), dtype=float)
        return -v - 0.5 * x**2 / c_inf

    extent = 8.0 * math.sqrt(c_inf)
    for _ in range(30):
        x = np.linspace(-extent, extent, 4097)
        ld = log_density(x)
        if not np.all(np.isfinite(ld)):
            raise ValueError("V0 is not finite where ν_0 lives")
        if max(ld[0], ld[-1]) < ld.max() - 50:
            break
        extent *= 2
    else:
        raise ValueError("ν_0 ∝ e^{−V_0} N(0, C_∞) is not normalisable: e^{−V_0} grows as fast as the Gaussian decays")
    inside = np.flatnonzero(ld >= ld.max() - 50)
    lo, hi = x[max(inside[0] - 1, 0)], x[min(inside[-1] + 1, x.size - 1)]
    grid = Grid("box", (2**16,), (float(lo),), (float(hi),), "numpy")
    ld = log_density(np.asarray(grid.axes[0]))
    rho = np.exp(ld - ld.max())
    return density_quantiles(grid, rho / grid.integrate(rho), (np.arange(count) + 0.5) / count)


def _coefficients(decomposition: CovarianceDecomposition, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Symbols ``(ċ, g)`` of ``Ċ_t`` and ``Γ_t = C_∞ − C_t`` on the full spectrum."""
    c = decomposition.derivative_symbol(t)
    g = decomposition.covariance(math.inf, t).full_symbol if t > 0 else decomposition.symbol(math.inf)
    c_inf = decomposition.symbol(math.inf)
    if np.any(g <= 1e-12 * c_inf):
        raise ValueError(f"Γ_t = C_∞ − C_t is lost to round-off at t={t:g} (ν_t is a point mass to working precision)")
    return c, g


def _kl_gaussian_1d(mean_log_density: float, second_moment: float, variance: float) -> float:
    """``KL(σ‖N(0, v)) = ∫σ log σ + E_σ[x²]/(2v) + ½ log(2πv)``."""
    return mean_log_density + second_moment / (2 * variance) + 0.5 * math.log(2 * math.pi * variance)


class QuantileJKO(StepMap):
    """JKO steps of the measure flow for one site, on ``N`` quantiles (the state: an increasing array).

    Parameters
    ----------
    decomposition : CovarianceDecomposition
        On a lattice of one site, with ``C_∞`` finite.

    Notes
    -----
    Diagnostics: ``second_moment`` ``E φ²``, ``fourth_moment`` ``E φ⁴``, ``kl`` ``KL(σ‖π_t)`` and
    ``kl_free`` ``KL(σ‖N(0, Γ_t))`` with the discrete entropy ``−mean_i log(N(X_{i+1} − X_i))``
    (error ``O(log N / N)``), ``free_energy`` ``½ kl``.
    """

    conserved: tuple[str, ...] = ()
    positive = False  # the state is a quantile function, not a density
    monotone: str | None = None

    def __init__(self, decomposition: CovarianceDecomposition):
        if not isinstance(decomposition, CovarianceDecomposition):
            raise TypeError(f"decomposition must be a CovarianceDecomposition, got {type(decomposition).__name__}")
        if decomposition.lattice.size != 1:
            raise ValueError(f"quantile JKO is for one site; the lattice has {decomposition.lattice.size} "
                             "(use GaussianJKO for Gaussian measures on a lattice)")
        self.decomposition = decomposition

    def _scalars(self, t: float) -> tuple[float, float]:
        c, g = _coefficients(self.decomposition, t)
        return float(c.ravel()[0]), float(g.ravel()[0])

    def step(self, state: np.ndarray, t: float, dt: float) -> np.ndarray:
        """One JKO minimisation with ``F_{t+dt}`` and the metric ``Ċ_{t+dt}``."""
        c, g = self._scalars(t + dt)

        def V(x: np.ndarray, nu: int) -> np.ndarray:  # −log π_{t+dt} and its derivatives
            return x * x / g if nu == 0 else (2 * x / g if nu == 1 else np.full_like(x, 2 / g))

        return jko_step(state, V, dt * c / 2)

    def validate(self, state: Any) -> np.ndarray:
        X = np.asarray(to_numpy(state), dtype=float)
        if X.ndim != 1 or X.size < 3 or not np.all(np.isfinite(X)) or np.any(np.diff(X) <= 0):
            raise ValueError(f"the state must be ≥ 3 finite, strictly increasing quantiles, got shape {X.shape}")
        return X

    def diagnostics(self, state: np.ndarray, t: float) -> dict[str, float]:
        N = state.size
        c, g = self._scalars(t)
        entropy = -float(np.mean(np.log(N * np.diff(state))))
        m2 = float(np.mean(state**2))
        kl = _kl_gaussian_1d(entropy, m2, g / 2)
        return {"second_moment": m2, "fourth_moment": float(np.mean(state**4)), "kl": kl, "free_energy": 0.5 * kl,
                "kl_free": _kl_gaussian_1d(entropy, m2, g)}

    def describe(self) -> dict[str, Any]:
        return {"equation": "PolchinskiMeasureJKO", "representation": "quantiles",
                "decomposition": repr(self.decomposition)}


class GaussianJKO(StepMap):
    """JKO steps of the measure flow for centred Gaussians with translation-invariant covariance, any lattice.

    The state is the symbol ``s(k)`` of the covariance on the full spectrum (shape ``lattice.shape``);
    one step is the closed form of the module docstring, mode by mode.

    Notes
    -----
    Diagnostics: ``second_moment`` (``E φ_x²``, the mean of ``s``), ``kl`` ``KL(σ‖π_t)``, ``free_energy``
    ``½ kl`` and ``kl_free`` ``KL(σ‖N(0, Γ_t))``, all exact for the Gaussian.
    """

    conserved: tuple[str, ...] = ()
    positive = False  # the state is a covariance symbol, not a density
    monotone: str | None = None

    def __init__(self, decomposition: CovarianceDecomposition):
        if not isinstance(decomposition, CovarianceDecomposition):
            raise TypeError(f"decomposition must be a CovarianceDecomposition, got {type(decomposition).__name__}")
        self.decomposition = decomposition

    def step(self, state: np.ndarray, t: float, dt: float) -> np.ndarray:
        """``r_{k+1}`` per mode (module docstring) with ``ċ``, ``g`` at ``t + dt``; returns ``r_{k+1}²``."""
        c, g = _coefficients(self.decomposition, t + dt)
        step = dt * c
        r = np.sqrt(state)
        a = 1.0 + step / g
        r = (r + np.sqrt(r * r + 2 * step * a)) / (2 * a)
        return r * r

    def validate(self, state: Any) -> np.ndarray:
        lat = self.decomposition.lattice
        s = np.asarray(to_numpy(state), dtype=float)
        if s.shape != lat.shape:
            s = np.broadcast_to(s, lat.shape).copy() if s.ndim == 0 else s
        if s.shape != lat.shape or not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise ValueError(f"the state must be the positive covariance symbol on the spectrum, shape {lat.shape}, "
                             f"got shape {s.shape}")
        if np.max(np.abs(s - s[np.ix_(*[i.ravel() for i in _negated_index(lat)])])) > 1e-12 * s.max():
            raise ValueError("the covariance symbol must be even in k (a real field's covariance is symmetric)")
        return s

    def diagnostics(self, state: np.ndarray, t: float) -> dict[str, float]:
        g = _coefficients(self.decomposition, t)[1]

        def kl(v: np.ndarray) -> float:
            q = state / v
            return float(np.sum(0.5 * (q - 1 - np.log(q))))

        value = kl(g / 2)
        return {"second_moment": float(np.mean(state)), "kl": value, "free_energy": 0.5 * value, "kl_free": kl(g)}

    def describe(self) -> dict[str, Any]:
        return {"equation": "PolchinskiMeasureJKO", "representation": "gaussian",
                "decomposition": repr(self.decomposition)}


def gaussian_initial_symbol(V0: FieldPotential, decomposition: CovarianceDecomposition) -> np.ndarray:
    """Covariance symbol of ``ν_0 ∝ e^{−V_0} N(0, C_∞)`` for ``V_0 = ½(φ, Qφ)`` with on-site or Fourier ``Q``:
    ``s_0 = c_∞/(1 + c_∞ q)``."""
    Q = V0.quadratic_form() if isinstance(V0, FieldPotential) else None
    if Q is None:
        raise ValueError(f"the Gaussian JKO needs a quadratic V0 (QuadraticPotential or phi4 with g=0), got {V0!r}")
    if not (isinstance(Q, FourierOperator) or np.ndim(Q) == 0):
        raise ValueError("the Gaussian JKO needs a translation-invariant Q (a scalar or a FourierOperator), got a matrix")
    lat = decomposition.lattice
    q = Q.full_symbol if isinstance(Q, FourierOperator) else np.full(lat.shape, float(Q))
    c_inf = decomposition.symbol(math.inf)
    one = 1.0 + c_inf * q
    if one.min() <= 0:
        raise ValueError("ν_0 is not normalisable: C_∞^{-1} + Q is not positive definite")
    return c_inf / one


def _check_step_counts(t_end: float, tau: float, save_every: float | None) -> None:
    """``t_end`` and ``save_every`` must be whole numbers of JKO steps (``evolve`` would shorten ``tau``)."""
    steps = t_end / tau
    if not (tau > 0 and math.isfinite(t_end) and t_end > 0 and abs(steps - round(steps)) < 1e-9 and round(steps) >= 1):
        raise ValueError(f"t_end/tau = {t_end:g}/{tau:g} = {steps:.6g} must be a positive integer")
    if save_every is not None:
        every = save_every / tau
        if abs(every - round(every)) > 1e-9 or round(every) < 1:
            raise ValueError(f"save_every = {save_every!r} must be a positive multiple of tau = {tau:g}")


def measure_flow_jko(V0: FieldPotential, decomposition: CovarianceDecomposition, t_end: float, tau: float, *,
                     method: str = "auto", quantiles: int = 1000, save_every: float | None = None,
                     label: str | None = None) -> Trajectory:
    """The renormalised measures ``ν_t`` by JKO steps of size ``tau`` from ``σ_0 = ν_0`` to ``t_end``.

    Parameters
    ----------
    V0 : FieldPotential
    decomposition : CovarianceDecomposition
        ``C_∞`` must be finite (mass ``m > 0``).
    t_end, tau : float
        ``t_end/tau`` must be an integer.
    method : {"auto", "quantile", "gaussian"}
        ``"quantile"``: one site, any ``V_0`` (:class:`QuantileJKO`); ``"gaussian"``: any lattice,
        quadratic translation-invariant ``V_0`` (:class:`GaussianJKO`, exact per Fourier mode).
        ``"auto"``: Gaussian for such a ``V_0``, quantiles otherwise.
    quantiles : int
        Number of quantiles ``N`` (``"quantile"``).
    save_every : float, optional
        Snapshot spacing, a multiple of ``tau`` (default: every step).
    label : str, optional
        Description of the progress bar (:func:`fieldflow.evolve`; default the problem's class name).

    Returns
    -------
    Trajectory
        States: quantiles ``X_i`` at ``m_i = (i − ½)/N`` or the covariance symbols ``s(k)``; the
        diagnostics of the problem class.
    """
    if not isinstance(V0, FieldPotential):
        raise TypeError(f"V0 must be a FieldPotential (phi4, sine_gordon, QuadraticPotential), got {type(V0).__name__}")
    if method == "auto":
        Q = V0.quadratic_form()
        gaussian = Q is not None and (isinstance(Q, FourierOperator) or np.ndim(Q) == 0)
        method = "gaussian" if gaussian else "quantile"
    if method == "gaussian":
        problem: Any = GaussianJKO(decomposition)
        state0 = gaussian_initial_symbol(V0, decomposition)
    elif method == "quantile":
        problem = QuantileJKO(decomposition)
        state0 = measure_quantiles(V0, decomposition, quantiles)
    else:
        raise ValueError(f"unknown method {method!r}; choose 'auto', 'quantile' or 'gaussian'")
    _check_step_counts(float(t_end), float(tau), save_every)
    return evolve(problem, state0, float(t_end), dt=float(tau), save_every=save_every, label=label)
