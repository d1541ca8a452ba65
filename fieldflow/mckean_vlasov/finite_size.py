"""Finite-``N`` oscillators across the transition: ``K`` ramps (hysteresis), finite-size scaling, switching times.

The ``N`` oscillators ``dθ_i = (K/N) Σ_j W'(θ_i − θ_j) dt + dB_i`` (:mod:`~fieldflow.mckean_vlasov.particles`)
have the invariant law ``∝ exp(N K Σ_k c_k |Z_k|²)`` (``Z_k = (1/N) Σ_j e^{ikθ_j}``); by Cramér's theorem
the law of the moments is ``≈ exp(−2N ΔF̃_K(Z))`` with the constrained free energy ``ΔF̃``
(:mod:`~fieldflow.mckean_vlasov.landscape`).  Three consequences are measured here:

* **Bands around the mean-field branches.**  Near a stable state ``q`` the moments are Gaussian with
  covariance ``(Σ_q^{-1} − 2K C)^{-1}/N`` (:func:`~fieldflow.mckean_vlasov.particles.order_parameter_std`):
  ``|Z_1|`` has mean ``r_1(q)`` and standard deviation ``σ_N ∝ N^{-1/2}``; at the uniform state ``|Z_1|``
  is Rayleigh, mean ``√(π/2) σ_N`` and standard deviation ``√(2 − π/2) σ_N``.  A time average has the same
  mean and a smaller spread, so a ramp's ``⟨|Z_1|⟩`` lies in ``mean ± 3·sd`` of a stable branch
  (:func:`order_parameter_band`) — once it has relaxed: next to a continuous transition or a fold the
  relaxation time ``1/|λ|`` of ``L_q`` diverges, leaving an unstable state takes ``log √(2N)/λ``, and a
  segment beyond a fold needs the passage time through its ghost (:func:`ghost_passage_time`)
  (:func:`unrelaxed`).
* **Finite-size scaling at a continuous transition** (critical mode ``k``, ``K_c = 1/c_k``).  Expanding
  ``Λ(a) = log⟨e^{a_1 cos θ + a_2 cos 2θ}⟩_{unif} = (a_1² + a_2²)/4 + a_1²a_2/8 − a_1⁴/64 + …`` and
  taking the Legendre transform (``I(r) = |r|² − T(2r) + |∇T(2r)|² − Q_4(2r)``, ``T, Q_4`` the cubic
  and quartic terms) gives ``Λ*(r) = r_1² + r_2² − r_1² r_2 + r_1⁴/2 + …``, so at ``K = 1/c_1``

  .. math::  2\\Delta\\tilde F = (1 - Kc_2)\\,r_2^2 - r_1^2 r_2 + \\tfrac12 r_1^4 + \\dots
             \\ \\xrightarrow{\\ \\min_{r_2}\\ }\\ b\\,r_1^4, \\qquad
             b = \\frac12 - \\frac1{4(1 - c_2/c_1)}

  (``b = 1/4`` for Kuramoto, ``(1 − 2m)/(4(1 − m))`` for Kuramoto–Daido, vanishing at the tricritical
  ``m = 1/2``).  With ``|Z_1|`` the modulus of a planar vector of density ``∝ e^{−N b |z|⁴}``,

  .. math::  \\langle |Z_1| \\rangle_{K_c} = \\frac{\\Gamma(3/4)}{\\Gamma(1/2)}\\,(bN)^{-1/4}
             \\big(1 + O(N^{-1/2})\\big),

  against ``⟨|Z_1|⟩ = √(π/(4N(1 − Kc_1)))`` below ``K_c`` and ``r_1 + O(N^{-1})`` above: the
  ``N^{-1/4}`` and ``N^{-1/2}`` laws (:func:`critical_order_parameter`, :func:`subcritical_order_parameter`).
* **Switching at a discontinuous transition.**  At ``K_c`` the uniform and ordered states have equal
  ``F``; they are separated by the unstable branch (the saddle) with barrier ``ΔF‡``, so the mean
  residence times grow like ``e^{2NΔF‡}`` (Kramers–Arrhenius).

All particle runs go through ``_advance``, the one call into the particle time loop: a ramp is a
sequence of segments at fixed ``K``, the state carried over, each segment seeded from
``(seed, segment)``; ramps checkpoint after every segment.  Sweeps over ``N`` (and directions, replicas)
run through :func:`fieldflow.core.sweep.sweep` (processes by default, or a Dask client).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..core.evolve import evolve
from ..core.validation import MAX_SAVES, boolean, check_step_count, integer, real_array, real_number, shown
from . import particles
from .interactions import Fourier

__all__ = ["euler_maruyama_coupling", "default_time_step", "sample_state", "KRamp", "k_ramp", "hysteresis_loops",
           "critical_quartic_coefficient", "critical_order_parameter", "subcritical_order_parameter",
           "order_parameter_band", "ghost_passage_time", "unrelaxed", "OrderParameterScaling",
           "mean_order_parameter", "order_parameter_scaling", "SwitchingTimes", "switching_times"]


# ---------------------------------------------------------------------------- the one call into the time loop


def euler_maruyama_coupling(W: Fourier, K: float, dt: float) -> float:
    """The coupling at which Euler–Maruyama with step ``dt`` has the equation's linear rate at the uniform state.

    One step maps the angles by ``θ ↦ θ + dt·b(θ) + √dt ξ``.  For ``q = 1/2π + ε cos kθ`` the transport
    multiplies mode ``k`` by ``1 + dt K c_k k²/2`` (exactly, to first order in ``ε``) and the Gaussian
    increment by ``e^{−k² dt/2}``; the equation multiplies it by ``e^{dt k²(K c_k − 1)/2}``.  They agree for

    .. math::  K_{dt} = \\frac{2\\,(e^{dt\\,k^2 K c_k/2} - 1)}{dt\\,k^2 c_k} = K\\,(1 + dt\\,k^2 K c_k/4 + O(dt^2)),

    ``k`` the mode of the largest ``c_k``.  Running the particles at ``K_{dt}`` removes the ``O(dt)`` shift of
    their critical coupling (``dt/4`` for Kuramoto), to which ``⟨|Z_1|⟩`` at ``K_c`` is very sensitive.
    """
    K = real_number(K, "the coupling K", positive=True, hint="the interaction strength of K W")
    dt = real_number(dt, "dt", positive=True, hint="the Euler–Maruyama step")
    k = _critical_mode(W)
    x = dt * k * k * K * W.coefficient(k) / 2
    if x > 700:
        raise ValueError(f"dt = {dt:g} at K = {K:g} gives x = dt·k²·K·c_k/2 = {x:.3g} (mode k = {k}) and the corrected "
                         f"coupling K(e^x − 1)/x overflows: the step is far beyond the stability of Euler–Maruyama; "
                         f"use dt ≤ {1400 / (k * k * K * W.coefficient(k)):.3g}")
    return K if x == 0 else float(K * math.expm1(x) / x)


def _advance(W: Fourier, K: float, theta: np.ndarray, duration: float, dt: float, seed: int,
             every: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the ``N`` oscillators for ``duration`` at the equation's coupling ``K`` from ``theta``.

    The one call into the particle time loop (Euler–Maruyama at :func:`euler_maruyama_coupling`).
    Returns the sample times (``every`` apart, ``duration`` last), the moments ``|Z_k|``,
    ``k = 1..max(2, max_mode)``, there (shape ``(S, k)``) and the final angles.
    """
    save = np.append(np.arange(every, duration - 0.5 * every, every), duration)
    traj = evolve(particles.Oscillators(W, euler_maruyama_coupling(W, K, dt)), theta, duration, dt=dt, seed=seed,
                  save_times=save, progress=False)
    times, states = traj.times[1:], traj.states[1:]
    kmax = max(2, W.max_mode)
    Z = np.array([np.abs(particles.moments(s, range(1, kmax + 1))) for s in states])
    return np.asarray(times), Z, np.asarray(states[-1])


def _segment_seed(seed: int, segment: int) -> int:
    """An independent 63-bit seed for segment ``segment`` of a run seeded ``seed``."""
    return int(np.random.SeedSequence([int(seed), int(segment)]).generate_state(1, np.uint64)[0] >> np.uint64(1))


# ---------------------------------------------------------------------------- initial states


def sample_state(W: Fourier, K: float, N: int, seed: int, ordered: bool = True, n: int = 4096) -> np.ndarray:
    """``N`` angles drawn from the free-energy minimiser at ``K`` (``ordered``) or from the uniform law.

    Inverse-CDF sampling of ``q`` on ``n`` nodes (seeded).
    """
    from .stationary import free_energy_minimizer

    N = integer(N, "N", minimum=1, maximum=10**8, hint="the number of oscillators")
    n = integer(n, "n", minimum=16, maximum=2**24, hint="the nodes of the inverse-CDF table")
    seed = integer(seed, "seed", minimum=0, hint="a non-negative integer")
    ordered = boolean(ordered, "ordered", hint="True: from the free-energy minimiser; False: uniform")
    rng = np.random.default_rng(seed)
    if not ordered:
        return rng.uniform(0, 2 * np.pi, N)
    state = free_energy_minimizer(W, K)
    theta = 2 * np.pi * (np.arange(n) + 0.5) / n
    exponent = sum(2 * K * W.coefficient(k) * r * np.cos(k * theta) for k, r in zip(W.modes, state.moments))
    q = np.exp(exponent - np.max(exponent))  # shifted: a strong coupling would overflow e^{2Kr cos θ}
    cdf = np.cumsum(q) / q.sum()
    return np.interp(rng.uniform(0, 1, N), np.concatenate([[0.0], cdf]), np.concatenate([[0.0], theta + np.pi / n]))


# ---------------------------------------------------------------------------- ramps


@dataclass
class KRamp:
    """``⟨|Z_k|⟩`` of ``N`` oscillators along a sequence of couplings (one segment each).

    Attributes
    ----------
    K : ndarray (S,)
        The couplings of the segments, in the order run.
    mean, std : ndarray (S, k)
        Time average and standard deviation of ``|Z_k|`` (``k = 1..max(2, max_mode)``) over the last
        ``average`` time of each segment.
    drift : ndarray (S, k)
        Mean of ``|Z_k|`` over the second half of that window minus the mean over the first half: of the
        order of the fluctuations in a stationary segment, large in one during which the system jumps.
    N : int
    t_segment, average, dt : float
    seed : int
    """

    K: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    drift: np.ndarray
    N: int
    t_segment: float
    average: float
    dt: float
    seed: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def r1(self) -> np.ndarray:
        return self.mean[:, 0]

    @property
    def r2(self) -> np.ndarray:
        return self.mean[:, 1]

    def __repr__(self) -> str:
        return (f"KRamp(N={self.N}, {self.K.size} segments, K {self.K[0]:.5g} → {self.K[-1]:.5g}, "
                f"mean |Z_1| {self.r1[0]:.4g} → {self.r1[-1]:.4g}, t_segment={self.t_segment:g}, dt={self.dt:g}, "
                f"seed={self.seed})")


def _check_positive(name: str, value: Any) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return value


def default_time_step(N: int) -> float:
    """``min(0.05, 1/√N)``: keeps the Euler–Maruyama bias of ``⟨|Z_1|⟩`` in an ordered state below ``0.6 σ_N``.

    Measured (Kuramoto–Daido ``m = 0.25``, ``K = 1.3``, ``N = 2000``): the bias is ``≈ −0.4 dt`` (``dt = 0.1,
    0.05, 0.02``), and ``σ_N ≈ 0.63/√N``, so the ratio is ``≈ 0.6 dt √N``.
    """
    N = integer(N, "N", minimum=1, hint="the number of oscillators")
    return min(0.05, 1 / math.sqrt(N))


def k_ramp(W: Fourier, Ks: Sequence[float], N: int, *, t_segment: float = 40.0, average: float | None = None,
           dt: float | None = None, every: float = 0.5, seed: int = 0, initial: str | np.ndarray = "uniform",
           checkpoint: str | Path | None = None, resume: bool = False) -> KRamp:
    """Sweep ``K`` through ``Ks``: ``t_segment`` at each coupling, the particles carried over.

    Parameters
    ----------
    W : Fourier
    Ks : sequence of float
        Couplings in the order to run (increasing for an up-ramp, decreasing for a down-ramp).
    N : int
        Oscillators.
    t_segment : float
        Time at each coupling.
    average : float, optional
        Average ``|Z_k|`` over the last ``average`` of each segment (default ``t_segment/2``).
    dt, every : float
        Euler–Maruyama step (default :func:`default_time_step`) and sampling interval of ``|Z_k|``;
        ``dt ≤ every ≤ average/2`` (the window's drift compares two halves, each with a sample at least).
    seed : int
        Segment ``j`` is seeded from ``(seed, j)``, so a ramp is reproducible and resumable.
    initial : {"uniform", "ordered"} or array
        Initial angles: uniform, drawn from the free-energy minimiser at ``Ks[0]`` (:func:`sample_state`),
        or given.
    checkpoint : path, optional
        ``.npz`` written after every segment (completed segments and the angles).
    resume : bool
        Continue from ``checkpoint`` (same problem, checked), skipping the completed segments: the
        result equals the uninterrupted ramp exactly.
    """
    if not isinstance(W, Fourier):
        raise ValueError(f"W must be a fieldflow.mckean_vlasov.interactions.Fourier interaction, got {type(W).__name__}")
    Ks = real_array(Ks, "Ks", ndim=1, positive=True, hint="Ks are the positive couplings of the ramp, in the order to run")
    if Ks.size == 0:
        raise ValueError("Ks must hold at least one coupling")
    N = integer(N, "N", minimum=2, hint="the number of oscillators")
    seed = integer(seed, "seed", minimum=0)
    t_segment = real_number(t_segment, "t_segment", positive=True)
    average = real_number(t_segment / 2 if average is None else average, "average", positive=True)
    if average > t_segment:
        raise ValueError(f"average = {average} exceeds t_segment = {t_segment}")
    dt = real_number(default_time_step(N) if dt is None else dt, "dt", positive=True)
    every = real_number(every, "every", positive=True)
    if 2 * every > average:
        raise ValueError(f"every = {every} is more than half of average = {average}: the averaging window needs two "
                         "samples at least (its drift compares its halves); lower every")
    if dt > every:
        raise ValueError(f"dt = {dt} exceeds every = {every}: the samples need steps no longer than their spacing; "
                         "lower dt")
    if t_segment / every > MAX_SAVES:
        raise ValueError(f"t_segment/every = {t_segment / every:.3g} samples per segment, more than the "
                         f"{MAX_SAVES:.0e} a run may keep; raise every")
    check_step_count(Ks.size * math.ceil(t_segment / dt), f"{Ks.size} segments of t_segment/dt = {t_segment / dt:.3g}",
                     "raise dt or shorten t_segment")
    if isinstance(initial, str):
        if initial not in ("uniform", "ordered"):
            raise ValueError(f"initial must be 'uniform', 'ordered' or an array of N angles, got {initial!r}")
        theta = sample_state(W, float(Ks[0]), int(N), seed, ordered=initial == "ordered")
    else:
        theta = np.array(real_array(initial, "initial", shape=(N,), hint="'uniform', 'ordered' or N angles"))
    kmax = max(2, W.max_mode)
    mean, std, drift = (np.full((Ks.size, kmax), np.nan) for _ in range(3))
    fingerprint = json.dumps({"W": repr(W), "Ks": Ks.tolist(), "N": int(N), "t_segment": t_segment, "average": average,
                              "dt": dt, "every": every, "seed": int(seed)}, sort_keys=True)
    start = 0
    path = Path(checkpoint) if checkpoint is not None else None
    if resume:
        if path is None or not path.exists():
            raise ValueError(f"resume=True needs an existing checkpoint file, got {checkpoint!r}")
        with np.load(path) as saved:
            if str(saved["fingerprint"]) != fingerprint:
                raise ValueError(f"checkpoint {path} belongs to another ramp: {saved['fingerprint']}")
            start = int(saved["done"])
            theta = saved["theta"]
            for name, array in (("mean", mean), ("std", std), ("drift", drift)):
                array[:start] = saved[name][:start]
    for j in range(start, Ks.size):
        times, Z, theta = _advance(W, float(Ks[j]), theta, t_segment, dt, _segment_seed(seed, j), every)
        Zw = Z[times > t_segment - average - 1e-9]
        half = len(Zw) // 2
        mean[j], std[j], drift[j] = Zw.mean(axis=0), Zw.std(axis=0), Zw[half:].mean(axis=0) - Zw[:half].mean(axis=0)
        if path is not None:
            np.savez(path, fingerprint=fingerprint, done=j + 1, theta=theta, mean=mean, std=std, drift=drift)
    return KRamp(K=Ks, mean=mean, std=std, drift=drift, N=int(N), t_segment=t_segment, average=average, dt=dt,
                 seed=int(seed))


def _ramp_task(args: tuple) -> KRamp:
    W, Ks, N, initial, options = args
    return k_ramp(W, Ks, N, initial=initial, **options)


def hysteresis_loops(W: Fourier, K_range: tuple[float, float], Ns: Sequence[int], n_K: int = 21, *,
                     executor: Any = None, max_workers: int | None = None,
                     **options: Any) -> dict[int, tuple[KRamp, KRamp]]:
    """Up- and down-ramps over ``n_K`` equispaced couplings in ``K_range`` for each ``N``.

    The up-ramp starts uniform at ``K0``, the down-ramp from the minimiser at ``K1``; the ``2 len(Ns)``
    ramps are independent tasks of :func:`fieldflow.core.sweep.sweep` (``executor``: a process pool by
    default, a Dask client, or ``"serial"``).  ``options`` go to :func:`k_ramp` (``t_segment``, ``dt``,
    ``seed``, ...).

    Returns
    -------
    dict
        ``{N: (up, down)}``.
    """
    from ..core.sweep import sweep

    K0, K1 = (float(v) for v in K_range)
    if not 0 < K0 < K1:
        raise ValueError(f"K_range must satisfy 0 < K0 < K1, got {K_range!r}")
    Ks = np.linspace(K0, K1, n_K)
    tasks = [(W, Ks if up else Ks[::-1], int(N), "uniform" if up else "ordered", options)
             for N in Ns for up in (True, False)]
    ramps = sweep(_ramp_task, tasks, executor=executor, max_workers=max_workers, chunks=len(tasks))
    return {int(N): (ramps[2 * i], ramps[2 * i + 1]) for i, N in enumerate(Ns)}


# ---------------------------------------------------------------------------- the derived laws


def _critical_mode(W: Fourier) -> int:
    if not isinstance(W, Fourier):
        raise TypeError(f"W must be a fieldflow.mckean_vlasov.interactions.Fourier interaction, got {shown(W)}")
    positive = {k: c for k, c in W.coefficients.items() if k >= 1 and c > 0}
    if not positive:
        raise ValueError(f"{W!r} has no positive coefficient: the uniform state never loses stability")
    top = max(positive.values())
    modes = [k for k, c in positive.items() if c == top]
    if len(modes) > 1:
        raise ValueError(f"{W!r} has several modes with the largest coefficient: the critical mode is degenerate")
    return modes[0]


def critical_quartic_coefficient(W: Fourier) -> float:
    """``b`` in ``2ΔF̃ ≈ b r_k⁴`` at ``K_# = 1/c_k`` (``k`` the mode of the largest ``c_k``): ``½ − 1/(4(1 − c_{2k}/c_k))``.

    Positive for a continuous (supercritical) transition at ``K_#``; see the module docstring.
    """
    k = _critical_mode(W)
    return 0.5 - 0.25 / (1 - W.coefficient(2 * k) / W.coefficient(k))


def critical_order_parameter(W: Fourier, N: Any) -> np.ndarray:
    """Leading-order ``⟨|Z_k|⟩`` of ``N`` oscillators at a continuous ``K_c = 1/c_k``: ``Γ(3/4)/Γ(1/2) (bN)^{-1/4}``."""
    b = critical_quartic_coefficient(W)
    if b <= 0:
        raise ValueError(f"b = {b:.4g} <= 0: the transition of {W!r} at K_# is not continuous")
    N = real_array(N, "N", positive=True, hint="the number(s) of oscillators")
    return math.gamma(0.75) / math.gamma(0.5) * (b * N) ** -0.25


def subcritical_order_parameter(W: Fourier, K: float, N: Any) -> np.ndarray:
    """``⟨|Z_1|⟩ = √(π/(4N(1 − K c_1)))`` of ``N`` oscillators at the uniform state, ``K c_1 < 1``."""
    if not isinstance(W, Fourier):
        raise TypeError(f"W must be a fieldflow.mckean_vlasov.interactions.Fourier interaction, got {shown(W)}")
    K = real_number(K, "the coupling K", hint="the interaction strength of K W (K c_1 < 1)")
    N = real_array(N, "N", positive=True, hint="the number(s) of oscillators")
    c1 = W.coefficient(1)
    if not K * c1 < 1:
        raise ValueError(f"K c_1 = {K * c1:.4g} >= 1: the uniform state is not stable; the coupling K must be below "
                         f"1/c_1 = {1 / c1:.4g}")
    return np.sqrt(math.pi / (4 * N * (1 - K * c1)))


def order_parameter_band(W: Fourier, K: float, moments: Sequence[float], N: int, width: float = 3.0) -> tuple[float, float]:
    """``(mean, half-width)`` of ``|Z_1|`` for ``N`` oscillators around the stable state with moments ``r_k``.

    Uniform state: Rayleigh, mean ``√(π/2) σ_N``, standard deviation ``√(2 − π/2) σ_N``; ordered: mean
    ``r_1``, standard deviation ``σ_N`` (:func:`~fieldflow.mckean_vlasov.particles.order_parameter_std`).
    At a continuous ``K_c = 1/c_1`` the uniform state is marginal and ``|Z_1|`` has the density
    ``∝ r e^{−Nb r⁴}``: mean :func:`critical_order_parameter`, standard deviation
    ``(bN)^{-1/4} √(1/√π − Γ(3/4)²/π)``.  The half-width is ``width`` standard deviations.
    """
    uniform = max(abs(r) for r in moments) < 1e-12
    if (uniform and abs(K * W.coefficient(1) - 1) < 1e-12 and _critical_mode(W) == 1
            and critical_quartic_coefficient(W) > 0):
        scale = (critical_quartic_coefficient(W) * N) ** -0.25
        return float(critical_order_parameter(W, N)), width * scale * math.sqrt(1 / math.sqrt(math.pi)
                                                                                 - math.gamma(0.75) ** 2 / math.pi)
    sigma = particles.order_parameter_std(W, K, moments, N)
    if uniform:
        return math.sqrt(math.pi / 2) * sigma, width * math.sqrt(2 - math.pi / 2) * sigma
    return abs(float(moments[0])), width * sigma


@lru_cache(maxsize=1024)
def _states_and_rates(W: Fourier, K: float) -> tuple[tuple[Any, float], ...]:
    """Every centred stationary state at ``(W, K)`` with the largest non-zero eigenvalue of its ``L_q`` (cached)."""
    from .linearized import linearized_spectrum, uniform_eigenvalues
    from .stationary import stationary_states

    out = []
    for state in stationary_states(W, K):
        if state.uniform:
            lam = float(np.max(uniform_eigenvalues(W, K, max(2, W.max_mode))))
        else:
            sp = linearized_spectrum(W, K, state, modes=32, count=4, vectors=False)
            lam = float(np.delete(sp.eigenvalues, sp.zero_mode)[0])
        out.append((state, lam))
    return tuple(out)


def ghost_passage_time(W: Fourier, fold: Any, K: float) -> float:
    """Time to pass the ghost of the saddle-node ``fold`` at a coupling ``K`` beyond it (0 on the other side).

    Near a fold the dynamics on the centre manifold is ``ẋ = μ − c x²`` with ``μ ∝ K − K_f``: where the
    branch exists the stable state has the eigenvalue ``λ = −2√(cμ)``; beyond the fold the passage through
    the bottleneck takes ``π/√(c|μ|)``.  Eliminating ``c`` gives ``T(K) = 2π/|λ(2K_f − K)|``, ``λ`` the leading
    non-zero eigenvalue of ``L_q`` at the stable state of the mirrored coupling (the one nearest the
    fold).  ``fold`` is a :class:`~fieldflow.mckean_vlasov.continuation.SpecialPoint`.
    """
    mirrored = 2 * fold.K - K
    if mirrored <= 0:
        return 0.0
    stable = [(s, lam) for s, lam in _states_and_rates(W, float(mirrored)) if s.stable and not s.uniform]
    if not stable:
        return 0.0  # K is on the side where the branch exists
    near, lam = min(stable, key=lambda p: float(np.max(np.abs(np.asarray(p[0].moments) - fold.moments))))
    if np.max(np.abs(np.asarray(near.moments) - fold.moments)) > 0.3:
        return 0.0
    return 2 * math.pi / abs(lam)


def unrelaxed(W: Fourier, ramp: KRamp, folds: Sequence[Any] = ()) -> np.ndarray:
    """Segments of ``ramp`` that, by derived relaxation times, may not have relaxed when their window starts.

    The window of a segment starts ``t_w = t_segment − average`` after the coupling was set.  With
    ``s`` the stationary state at the new coupling nearest (in ``(|z_1|, |z_2|)``) to the previous
    segment's average, and ``λ`` the largest non-zero eigenvalue of ``L_q`` at ``s``:

    * ``s`` stable: the distance ``δ`` of the previous average from the mean of ``|Z_1|`` at ``s`` decays
      like ``e^{λt}``; flagged when ``δ e^{λ t_w}`` exceeds the standard deviation of ``|Z_1|`` there
      (:func:`order_parameter_band`) — critical slowing down next to a continuous transition or a fold;
    * ``s`` unstable: fluctuations of size ``1/√(2N)`` grow like ``e^{λt}``, so leaving ``s`` takes
      ``log √(2N)/λ``; flagged while the time spent near ``s`` (this and the preceding such segments) is
      shorter;
    * beyond a fold in ``folds`` (where its branch is gone): flagged while the time spent beyond it is
      shorter than :func:`ghost_passage_time`.
    """
    lead = ramp.t_segment - ramp.average
    flags = np.zeros(ramp.K.size, dtype=bool)
    for fold in folds:
        since, outside = None, False  # segment at which the ramp went beyond the fold, from this side of it
        for j, K in enumerate(ramp.K):
            T = ghost_passage_time(W, fold, float(K))
            if T <= 0:
                since, outside = None, True
                continue
            if since is None and outside:
                since = j
            if since is not None and T > (j - since) * ramp.t_segment + lead:
                flags[j] = True
    escaping = 0.0  # time already spent near unstable states
    for j in range(1, ramp.K.size):
        K = float(ramp.K[j])
        start = ramp.mean[j - 1, :2]
        s, lam = min(_states_and_rates(W, K),
                     key=lambda p: float(np.linalg.norm(np.asarray(p[0].order_parameters[:2]) - start)))
        if lam >= -1e-12:  # unstable, or marginal (leaving it takes ever longer)
            escaping += ramp.t_segment
            flags[j] |= lam <= 0 or math.log(math.sqrt(2 * ramp.N)) / lam > escaping - ramp.t_segment + lead
            continue
        escaping = 0.0
        mean, sd = order_parameter_band(W, K, s.moments, ramp.N, width=1.0)
        flags[j] |= abs(float(ramp.mean[j - 1, 0]) - mean) * math.exp(lam * lead) > sd
    return flags


# ---------------------------------------------------------------------------- finite-size scaling


@dataclass
class OrderParameterScaling:
    """``⟨|Z_1|⟩`` at one coupling for several ``N``, with a fitted power law.

    Attributes
    ----------
    K : float
    N : ndarray
    mean, error : ndarray
        Mean of ``|Z_1|`` over replicas and time, and its standard error (from the spread of the
        replica means, which are independent).
    exponent, exponent_error : float
        Weighted least-squares slope of ``log mean`` against ``log N`` and its standard error.
    prefactor : float
        ``mean ≈ prefactor · N^exponent``.
    replicas : int
    t_end, burn_in : float
    """

    K: float
    N: np.ndarray
    mean: np.ndarray
    error: np.ndarray
    exponent: float
    exponent_error: float
    prefactor: float
    replicas: int
    t_end: float
    burn_in: float


def _replica_mean(args: tuple) -> float:
    W, K, N, t_end, burn_in, dt, seed, initial = args
    theta = sample_state(W, K, N, seed, ordered=initial == "ordered")
    times, Z, _ = _advance(W, K, theta, t_end, dt, _segment_seed(seed, 0), 0.5)
    return float(Z[times > burn_in, 0].mean())


def _power_law(N: np.ndarray, y: np.ndarray, dy: np.ndarray) -> tuple[float, float, float]:
    """Weighted fit ``log y = log A + p log N``: ``(p, σ_p, A)`` (``σ_p`` from the covariance of the fit)."""
    X = np.column_stack([np.ones(N.size), np.log(N)])
    w = 1.0 / np.maximum(dy / y, 1e-12) ** 2
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = cov @ X.T @ (w * np.log(y))
    return float(beta[1]), float(math.sqrt(cov[1, 1])), float(math.exp(beta[0]))


def _replica_means(W: Fourier, K: float, Ns: np.ndarray, t_end: float, burn_in: float, replicas: int, dt: float,
                   seed: int, initial: str, executor: Any, max_workers: int | None) -> np.ndarray:
    """``(len(Ns), replicas)`` time averages of ``|Z_1|``, one independent seeded run each, through the sweep layer."""
    from ..core.sweep import sweep

    K = _check_positive("K", K)
    if isinstance(replicas, bool) or not isinstance(replicas, (int, np.integer)) or replicas < 2:
        raise ValueError(f"replicas must be an integer >= 2 (the error bar comes from their spread), got {replicas!r}")
    if not 0 <= burn_in < t_end:
        raise ValueError(f"need 0 <= burn_in < t_end, got burn_in={burn_in}, t_end={t_end}")
    if initial not in ("uniform", "ordered"):
        raise ValueError(f"initial must be 'uniform' or 'ordered', got {initial!r}")
    tasks = [(W, K, int(N), float(t_end), float(burn_in), float(dt), _segment_seed(seed, i * replicas + j), initial)
             for i, N in enumerate(Ns) for j in range(replicas)]
    return np.array(sweep(_replica_mean, tasks, executor=executor, max_workers=max_workers,
                          chunks=len(tasks))).reshape(len(Ns), replicas)


def mean_order_parameter(W: Fourier, K: float, N: int, *, t_end: float = 2000.0, burn_in: float = 200.0,
                         replicas: int = 4, dt: float = 0.05, seed: int = 0, initial: str = "uniform",
                         executor: Any = None, max_workers: int | None = None) -> tuple[float, float]:
    """``⟨|Z_1|⟩`` of ``N`` oscillators at ``K`` and its standard error, from ``replicas`` independent runs.

    Each replica starts from ``initial`` (:func:`sample_state`), runs ``t_end`` and averages ``|Z_1|``
    after ``burn_in``; the runs are tasks of :func:`fieldflow.core.sweep.sweep`.
    """
    values = _replica_means(W, K, np.array([N]), t_end, burn_in, replicas, dt, seed, initial, executor,
                            max_workers)[0]
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(replicas))


def order_parameter_scaling(W: Fourier, K: float, Ns: Sequence[int], *, t_end: float = 2000.0,
                            burn_in: float = 200.0, replicas: int = 4, dt: float = 0.05, seed: int = 0,
                            initial: str = "uniform", executor: Any = None,
                            max_workers: int | None = None) -> OrderParameterScaling:
    """:func:`mean_order_parameter` for each ``N`` (all runs one sweep), and the fitted exponent of ``N``.

    At a continuous ``K_c`` the exponent should approach ``−1/4`` (:func:`critical_order_parameter`),
    below it ``−1/2`` (:func:`subcritical_order_parameter`).
    """
    Ns = np.asarray(Ns, dtype=int)
    if Ns.ndim != 1 or np.unique(Ns).size < 2 or np.any(Ns < 2):
        raise ValueError(f"Ns must list at least two different particle numbers >= 2, got {Ns!r}")
    values = _replica_means(W, K, Ns, t_end, burn_in, replicas, dt, seed, initial, executor, max_workers)
    mean = values.mean(axis=1)
    error = values.std(axis=1, ddof=1) / math.sqrt(replicas)
    p, dp, A = _power_law(Ns.astype(float), mean, error)
    return OrderParameterScaling(K=float(K), N=Ns, mean=mean, error=error, exponent=p, exponent_error=dp,
                                 prefactor=A, replicas=int(replicas), t_end=float(t_end), burn_in=float(burn_in))


# ---------------------------------------------------------------------------- switching times


@dataclass
class SwitchingTimes:
    """Mean residence times in the uniform and ordered states of ``N`` oscillators at one coupling.

    A switch is counted when ``|Z_1|`` crosses from below ``low`` to above ``high`` (uniform → ordered)
    or back; a residence time is the time between consecutive switches.

    Attributes
    ----------
    N : ndarray
    uniform, ordered : ndarray
        Mean residence times (time units of the equation; NaN when no complete residence).
    uniform_error, ordered_error : ndarray
        Standard errors ``τ/√count`` (residence times are close to exponential).
    switches : ndarray of int
        Number of switches in the run.
    t_end : float
    low, high : float
    """

    K: float
    N: np.ndarray
    uniform: np.ndarray
    ordered: np.ndarray
    uniform_error: np.ndarray
    ordered_error: np.ndarray
    switches: np.ndarray
    t_end: float
    low: float
    high: float


def _residences(times: np.ndarray, r: np.ndarray, low: float, high: float) -> tuple[list[float], list[float]]:
    """Residence times in the uniform (``r < low``) and ordered (``r > high``) states from a time series."""
    state, since = None, None
    uniform, ordered = [], []
    for t, x in zip(times, r):
        new = "u" if x < low else ("o" if x > high else state)
        if new != state:
            if state is not None and since is not None:
                (uniform if state == "u" else ordered).append(t - since)
            since = t if state is not None else None  # the first residence is censored at t = 0
            state = new
    return uniform, ordered


def _switching_task(args: tuple) -> tuple[list[float], list[float]]:
    W, K, N, t_end, dt, chunk, seed, low, high = args
    theta = sample_state(W, K, N, seed, ordered=False)
    offset = 0.0
    series_t, series_r = [], []
    for j in range(int(math.ceil(t_end / chunk))):
        times, Z, theta = _advance(W, K, theta, chunk, dt, _segment_seed(seed, j), 0.5)
        series_t.append(times + offset)
        series_r.append(Z[:, 0])
        offset += chunk
    return _residences(np.concatenate(series_t), np.concatenate(series_r), low, high)


def switching_times(W: Fourier, K: float, Ns: Sequence[int], low: float, high: float, *, t_end: float = 20000.0,
                    dt: float = 0.05, chunk: float = 500.0, seed: int = 0, executor: Any = None,
                    max_workers: int | None = None) -> SwitchingTimes:
    """Mean residence times between the coexisting uniform and ordered states for each ``N`` (one run of ``t_end`` each).

    ``low < high`` are thresholds on ``|Z_1|`` (e.g. halfway from the uniform state's ``⟨|Z_1|⟩`` to the
    saddle's ``r_1``, and halfway from the saddle to the ordered state); the runs are tasks of
    :func:`fieldflow.core.sweep.sweep`, each in chunks of ``chunk`` time.
    """
    from ..core.sweep import sweep

    K = _check_positive("K", K)
    if not 0 < low < high < 1:
        raise ValueError(f"need thresholds 0 < low < high < 1 on |Z_1|, got low={low}, high={high}")
    Ns = np.asarray(Ns, dtype=int)
    tasks = [(W, K, int(N), float(t_end), float(dt), float(min(chunk, t_end)), _segment_seed(seed, i), low, high)
             for i, N in enumerate(Ns)]
    out = sweep(_switching_task, tasks, executor=executor, max_workers=max_workers, chunks=len(tasks))

    def stats(values: list[float]) -> tuple[float, float]:
        if not values:
            return math.nan, math.nan
        return float(np.mean(values)), float(np.mean(values) / math.sqrt(len(values)))

    u = np.array([stats(o[0]) for o in out])
    o = np.array([stats(o[1]) for o in out])
    switches = np.array([len(a) + len(b) for a, b in out])
    return SwitchingTimes(K=K, N=Ns, uniform=u[:, 0], ordered=o[:, 0], uniform_error=u[:, 1], ordered_error=o[:, 1],
                          switches=switches, t_end=float(t_end), low=float(low), high=float(high))
