"""The JKO variational particle method for the homogeneous Landau equation (after Huang–Wang).

The Landau equation is the gradient flow of the entropy ``H(f) = ∫ f log f`` in the Landau metric

.. math::

    d_L^2(f_0, f_1) = \\inf \\int_0^1 \\tfrac12\\iint (u - u_*)\\cdot A(v - v_*)(u - u_*)\\, f f_*\\,dv\\,dv_*\\,dt,
    \\qquad \\partial_t f + \\nabla\\cdot\\Big(f\\int A(v - v_*)(u - u_*) f_*\\,dv_*\\Big) = 0,

and one JKO step ``f^{n+1} ∈ argmin d_L²(f, f^n) + 2Δt H(f)`` is solved on weighted particles
``f^n ≈ Σ_i w_i δ_{v_i}``: minimise over velocity fields ``u(t, ·)``

.. math::

    Φ(u) = \\int_0^1 \\tfrac12 \\sum_{ij} w_i w_j\\,|u(t, v_i) - u(t, v_j)|^2_{A(v_i - v_j)}\\,dt
           - 2Δt \\sum_i w_i\\,\\ell_i(1),

    \\dot v_i = V_i = \\sum_j w_j A(v_i - v_j)\\big(u(t, v_i) - u(t, v_j)\\big),\\qquad
    \\dot\\ell_i = \\nabla_{v_i}\\cdot V_i,\\qquad \\ell_i(0) = 0,

then ``v_i^{n+1} = v_i(1)`` and ``log f^{n+1}(v_i^{n+1}) = log f^n(v_i^n) − ℓ_i(1)`` (``ℓ`` is the log-Jacobian
of the flow map, so ``Σ_i w_i log f_i`` is the entropy of the pushed-forward density and
``2ΔtH(f^{n+1}) = 2ΔtH(f^n) − 2ΔtΣ_i w_i ℓ_i(1)``: ``Φ`` is the JKO functional up to a constant).

**Optimality.**  The first variation of ``Φ`` at the end of the inner interval gives ``u(1, ·) = −Δt ∇log f^{n+1}``
(up to the null space ``αv + c`` of the metric): a JKO step is an *implicit* score step.  For small ``Δt`` the
inner velocity is ``V = Δt U[f^n] + O(Δt²)`` with ``U[f] = −∫A(v − v_*)(∇log f − ∇_*log f_*) f_*``, the
velocity of the score method (:class:`~fieldflow.landau.particles.ScoreLandau`); the tests check this.

**Discretisation.**  ``u(t, ·) = ∇(θ_m·φ)`` on inner step ``m`` (``M`` steps of ``h = 1/M``), ``φ`` the basis of
:class:`~fieldflow.landau.gradient_basis.GradientBasis` (quadratic monomials + Gaussian RBFs; centres,
bandwidth and ridge chosen on the current particles by the cross-validated score fit
:func:`~fieldflow.core.score_matching.fit_score`, which is justified by the optimality condition: ``u`` is a
score).  Inner steps are forward Euler, ``v^{m+1} = v^m + hV^m``.  The log-Jacobian ``ℓ``:

* ``jacobian="logdet"`` (default): ``ℓ += log det(I + h ∇V^m(v_i^m))`` — the exact log-Jacobian of each inner
  step's map (``∇V`` is the analytic Jacobian of the pair velocity, :mod:`~fieldflow.landau.pair_sums`), so
  ``f^{n+1}`` is the exact push-forward of ``f^n`` under the discrete inner map, and ``−log det`` is a barrier
  that keeps the map invertible: the step cannot overshoot however large ``Δt`` is;
* ``jacobian="trace"``: ``ℓ += h ∇·V^m(v_i^m)`` — forward Euler on ``dℓ/dt = ∇·V``.  With ``M = 1`` the problem is
  quadratic, ``Φ = θᵀKθ − 2Δt θᵀb``, ``K_kl = ½Σ_ij w_iw_j(∇φ_k(v_i) − ∇φ_k(v_j))·A_ij(∇φ_l(v_i) − ∇φ_l(v_j))``,
  ``b_k = Σ_i w_i ∇·V[∇φ_k](v_i)``, solved in closed form: ``θ = Δt K^{−1}b``.  Since ``Σ_i w_i ∇·V[φ](v_i) ≈
  −Σ_i w_i V[φ](v_i)·∇log f(v_i) = −⟨∇φ, ∇log f⟩_L`` (integration by parts), this is *score matching in the
  Landau metric* ``⟨a, b⟩_L = ½Σ_ij w_iw_j (a_i − a_j)·A_ij(b_i − b_j)`` instead of ``L²(f)``, followed by one
  explicit Euler step: the ``M = 1`` trace scheme *is* an explicit score method (with the same step-size limit).

``conserve_energy`` (default ``True``): the Euler inner steps raise the energy by ``h²Σ_m Σ_i w_i|V_i^m|²``
(``Σ_i w_i v_i·V_i = 0`` exactly, so only the second-order term is left: ``O(Δt²/M)`` per outer step, ``O(Δt/M)``
over a fixed time).  With ``conserve_energy`` the inner map ends with the dilation about the (exactly
conserved) mean that restores the energy, ``v ← v̄ + λ(v − v̄)``, whose log-Jacobian ``d log λ`` is added to
``ℓ`` *inside* the minimisation — energy is then conserved to round-off and the entropy decrease below still
holds.

**Structure.**  Mass: weights never change.  Momentum: ``Σ_i w_i V_i = 0`` by pairwise antisymmetry, to
round-off.  Entropy: ``u = 0`` is admissible with ``Φ = 0``, so the minimiser has ``Φ ≤ 0``, i.e.
``Σ_i w_i ℓ_i(1) ≥ (kinetic + ridge)/(2Δt) ≥ 0``: ``Σ_i w_i log f_i`` never increases (the step falls back to
``u = 0`` if the optimiser ends above ``Φ = 0``, and reports it).

**Minimisation.**  ``Φ`` and its gradient are computed by a forward sweep over the inner steps and the adjoint
sweep back (:func:`~fieldflow.landau.pair_sums.pair_flow_vjp` for the pair sums, the basis' pullback for the
chain rule through ``u`` and ``∇u``), then minimised by SciPy's L-BFGS-B in the variables ``Lᵀθ_m/Δt``
(``LLᵀ = K + λcR``, the ``M = 1`` Hessian/2), from the ``M = 1`` trace solution (halved while ``Φ > 0``).  Below
``det(I + h∇V) = DET_FLOOR`` the objective continues ``log det`` by its second-order Taylor polynomial, so that the
line search's trial points are finite; accepted steps are re-scored with the exact ``log det``.  Cost
``O(M N² d²)`` per evaluation, or ``O(M N n_B d²)`` with random batches (``batch_size``).

The moments of the monomial potentials in the basis (unpenalised) move, in the ``M = 1`` trace step, by exactly
``Δt`` times the Landau weak-form rate of the empirical measure (the normal equations), so with ``degree = 4`` the
moments up to order 4 follow the Landau moment equations (closed for Maxwell molecules).
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._compat import warn_moved
from ..core.backend import namespace_of, to_numpy
from ..core.evolve import evolve
from ..core.problem import Particles, StepMap
from ..core.score_matching import DEFAULT_CENTRES, centre_candidates, fit_score, ridge_candidates
from ..core.trajectory import Trajectory
from .collision import bkw_constant, check_gamma
from .gradient_basis import GradientBasis
from .moments import particle_moments
from .pair_sums import pair_flow, pair_flow_features, pair_flow_vjp, random_batches

__all__ = ["JKOLandau", "JKOStep", "entropy_increases"]


@dataclass
class JKOStep:
    """One solved JKO step: the new state (:class:`~fieldflow.core.problem.Particles` with the extra ``"log_f"``),
    the field's parameters ``theta`` ``(M, K)`` on ``basis``, the inner velocities, and the record (objective ``Φ``,
    the discrete Landau action ≈ ``d_L²(f^n, f^{n+1})``, optimiser iterations, fallback)."""

    state: Particles
    theta: Any
    basis: GradientBasis
    velocities: list[Any]
    record: dict[str, float]


#: below this determinant of an inner step's map ``I + h∇V`` the objective continues ``log det`` by its second-order
#: Taylor polynomial (finite for the optimiser's trial points; an accepted step must keep every determinant > 0)
DET_FLOOR = 0.05


def _log_barrier(det: Any, floor: float) -> tuple[Any, Any]:
    """``log x`` for ``x ≥ floor``, else ``log δ + (x − δ)/δ − (x − δ)²/(2δ²)`` (``δ = floor``; C², concave, ≥ log x),
    and its derivative."""
    xp = namespace_of(det)
    above = det >= floor
    r = (det - floor) / floor
    value = xp.where(above, xp.log(xp.maximum(det, floor)), math.log(floor) + r - 0.5 * r * r)
    slope = xp.where(above, 1.0 / xp.maximum(det, floor), (1.0 - r) / floor)
    return value, slope


def _cho_solve(L: Any, b: Any) -> Any:
    """``(L Lᵀ)^{-1} b``."""
    xp = namespace_of(L)
    return xp.linalg.solve(L.T, xp.linalg.solve(L, b))


def _adjugate(M: Any) -> Any:
    """Adjugate of a stack of 2×2 or 3×3 matrices (``det(M) M^{-1}``, defined for singular ``M`` too)."""
    xp = namespace_of(M)
    if M.shape[-1] == 2:
        return xp.stack([xp.stack([M[..., 1, 1], -M[..., 0, 1]], -1), xp.stack([-M[..., 1, 0], M[..., 0, 0]], -1)], -2)
    rows = []
    for i in range(3):
        row = []
        for j in range(3):
            r = [k for k in range(3) if k != j]  # cofactor C_ji (transpose of the cofactor matrix)
            c = [k for k in range(3) if k != i]
            minor = M[..., r[0], c[0]] * M[..., r[1], c[1]] - M[..., r[0], c[1]] * M[..., r[1], c[0]]
            row.append((-1) ** (i + j) * minor)
        rows.append(xp.stack(row, -1))
    return xp.stack(rows, -2)


@dataclass
class _Problem:
    """Everything one step's objective needs (fixed during the minimisation)."""

    v0: Any
    w: Any
    dt: float
    basis: GradientBasis
    ridge: float
    groups: list[Any]
    mean: Any
    thermal: float


class JKOLandau(StepMap):
    """JKO variational particle method (the module docstring has the scheme, its structure and its cost).

    A step map run by the one time loop: ``ff.evolve(JKOLandau(2), ff.Particles(v0, weights, extras={"log_f":
    log_f0}), t_end, dt=dt)`` takes ``ceil(t_end/dt)`` JKO steps (``weights`` default ``1/N``; ``log_f0 = log f0(v0)``),
    with the loop's checks (mass, momentum and energy conserved to 1e-10, entropy ``Σ w log f`` non-increasing:
    a step that raised it would stop the run with a :class:`~fieldflow.core.evolve.StructureError`), its progress
    bar, checkpoints and resume.  The trajectory's states are the velocities, ``traj.extras["log_f"]`` the
    transported ``log f`` and ``traj.weights`` the weights.

    Parameters
    ----------
    dim : {2, 3}
        Velocity dimension.
    gamma, C : float
        Kernel ``A(z) = C|z|^{γ+2}(I − ẑ⊗ẑ)``, ``γ ∈ [−3, 1]``; ``C`` defaults to the BKW constant.
    inner_steps : int
        ``M ≥ 1`` forward-Euler steps on the inner interval ``[0, 1]``.
    jacobian : {"logdet", "trace"}
        How ``ℓ`` advances over an inner step: the exact ``log det(I + h∇V)`` or ``h ∇·V``.
    conserve_energy : bool
        End each inner map with the energy-restoring dilation (inside the minimisation).
    n_centres, bandwidth, ridge, folds :
        Basis selection, as for :func:`~fieldflow.core.score_matching.fit_score` (default: ``(n_centres, ridge)``
        by 5-fold cross-validation at every step).  The ridge ``λ`` penalises ``λ c h Σ_m |θ_m,rbf|²`` with ``c``
        the mean RBF diagonal of ``K`` (relative, as in the score fit).
    degree : int
        Highest degree of the monomial potentials in the basis (:class:`~fieldflow.landau.gradient_basis.GradientBasis`;
        default 4: the moments up to order 4 follow the Landau moment equations, see the docs).
    batch_size : int, optional
        Random-batch pair sums over batches of this size (a fresh partition per inner step and outer step,
        fixed during the minimisation); ``None``: all pairs.
    seed : int
        Seed of the batches (each outer step draws from ``(seed, t)``, so runs are reproducible).
    gtol, ftol, max_iter :
        L-BFGS-B tolerances on the projected gradient and the relative decrease of ``Φ/Δt²`` (in the preconditioned
        variables ``Lᵀθ/Δt``), and its iteration limit (5–20 iterations are typical).

    Structure flags for the time loop: ``conserved`` (``mass``, ``momentum`` and, with ``conserve_energy``,
    ``energy``), ``monotone = "entropy"``; ``positive`` is ``False`` (the state is particles, not a density).
    Diagnostics (:meth:`diagnostics`) include the record of the step that produced the state (``iterations``,
    ``objective``, ``entropy_drop`` ``≥ 0``, ``fallback``, ...).
    """

    conserved: tuple[str, ...] = ("mass", "momentum")
    positive = False
    monotone: str | None = "entropy"

    def __init__(self, dim: int, gamma: float = 0.0, C: float | None = None, inner_steps: int = 1,
                 jacobian: str = "logdet", conserve_energy: bool = True,
                 n_centres: int | Sequence[int] = DEFAULT_CENTRES, bandwidth: float | None = None,
                 ridge: float | str | Sequence[float] = "cv", folds: int = 5, batch_size: int | None = None,
                 degree: int = 4, seed: int = 0, gtol: float = 1e-6, ftol: float = 1e-10, max_iter: int = 200):
        if dim not in (2, 3):
            raise ValueError(f"the Landau equation is implemented in velocity dimension 2 or 3, got {dim}")
        self.dim = int(dim)
        self.gamma, self.C = check_gamma(gamma, bkw_constant(dim) if C is None else C)
        if isinstance(inner_steps, bool) or not isinstance(inner_steps, (int, np.integer)) or inner_steps < 1:
            raise ValueError(f"inner_steps (M) must be an integer ≥ 1, got {inner_steps!r}")
        if jacobian not in ("logdet", "trace"):
            raise ValueError(f"jacobian must be 'logdet' or 'trace', got {jacobian!r}")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                       or batch_size < 2):
            raise ValueError(f"batch_size must be None (all pairs) or an integer ≥ 2, got {batch_size!r}")
        if not (math.isfinite(gtol) and gtol > 0 and math.isfinite(ftol) and ftol > 0) or int(max_iter) < 1:
            raise ValueError(f"gtol and ftol must be positive and max_iter ≥ 1, got gtol={gtol!r}, ftol={ftol!r}, "
                             f"max_iter={max_iter!r}")
        centre_candidates(n_centres, 1)
        ridge_candidates(ridge)
        self.inner_steps, self.jacobian, self.conserve_energy = int(inner_steps), jacobian, bool(conserve_energy)
        self.n_centres, self.bandwidth, self.ridge, self.folds = n_centres, bandwidth, ridge, folds
        GradientBasis(np.zeros((0, self.dim)), 1.0, degree)  # validates the degree now
        self.batch_size, self.seed, self.degree = batch_size, int(seed), int(degree)
        self.gtol, self.ftol, self.max_iter = float(gtol), float(ftol), int(max_iter)
        if self.conserve_energy:
            self.conserved = ("mass", "momentum", "energy")
        self._last: tuple[Particles, dict[str, float]] | None = None

    # ------------------------------------------------------------------ the step-map contract
    def initial_state(self, v0: Any, log_f0: Any, weights: Any = None) -> Particles:
        """Particles ``v0`` ``(N, d)`` with ``log_f0 = log f0(v0)`` and weights (default ``1/N``), validated."""
        xp = namespace_of(v0)
        v0 = xp.asarray(v0, dtype=float)
        n = v0.shape[0] if v0.ndim == 2 else 0
        w = xp.full(n, 1.0 / max(n, 1)) if weights is None else xp.asarray(weights, dtype=float)
        return self.validate(Particles(v0, w, {"log_f": xp.asarray(log_f0, dtype=float)}))

    def validate(self, state0: Any) -> Particles:
        """A copy of ``state0`` — :class:`~fieldflow.core.problem.Particles` with the extra ``"log_f"`` — after checking
        that it is ``N ≥ 2`` finite particles in ``d`` dimensions with positive weights summing to 1 and finite
        ``log f`` (``ValueError`` otherwise)."""
        if not isinstance(state0, Particles) or "log_f" not in state0.extras:
            raise ValueError("JKOLandau advances Particles(v, weights, extras={'log_f': log f(v)}) (log f at the particles "
                             f"is part of the state); got {type(state0).__name__}"
                             + ("" if not isinstance(state0, Particles) else " without the extra 'log_f'"))
        xp = namespace_of(state0.x)
        v = xp.asarray(state0.x, dtype=float)
        w = xp.asarray(state0.weights, dtype=float)
        logf = xp.asarray(state0.extras["log_f"], dtype=float)
        if v.ndim != 2 or v.shape[1] != self.dim or v.shape[0] < 2:
            raise ValueError(f"particle velocities must have shape (N, {self.dim}) with N ≥ 2, got {tuple(v.shape)}")
        n = v.shape[0]
        if not bool(xp.all(xp.isfinite(v))):
            raise ValueError(f"{int(xp.sum(~xp.isfinite(v)))} particle velocity entries are NaN/inf; "
                             "the particles must be finite samples of f0")
        if w.shape != (n,) or not bool(xp.all(xp.isfinite(w))) or bool(xp.any(w <= 0)):
            raise ValueError(f"weights must be {n} positive finite numbers (one per particle)")
        total = float(xp.sum(w))
        if abs(total - 1.0) > 1e-10:
            raise ValueError(f"weights sum to {total!r}, not 1; pass weights / weights.sum() (the weights are the "
                             "particles' masses of a probability density)")
        if logf.shape != (n,) or not bool(xp.all(xp.isfinite(logf))):
            raise ValueError(f"log f must be {n} finite values log f0(v_i) (f0 > 0 at every particle)")
        return Particles(v.copy(), w.copy(), {"log_f": logf.copy()})

    def describe(self) -> dict[str, Any]:
        """The method and its parameters (JSON-serialisable)."""
        nc = self.n_centres if np.ndim(self.n_centres) == 0 else list(self.n_centres)
        rd = self.ridge if isinstance(self.ridge, str) or np.ndim(self.ridge) == 0 else list(self.ridge)
        return {"problem": "JKOLandau", "dim": self.dim, "gamma": self.gamma, "C": self.C,
                "inner_steps": self.inner_steps, "jacobian": self.jacobian, "conserve_energy": self.conserve_energy,
                "degree": self.degree, "n_centres": nc, "bandwidth": self.bandwidth, "ridge": rd, "folds": self.folds,
                "batch_size": self.batch_size, "seed": self.seed, "gtol": self.gtol, "ftol": self.ftol,
                "max_iter": self.max_iter}

    def diagnostics(self, state: Particles, t: float) -> dict[str, float]:
        """Moments (:func:`~fieldflow.landau.moments.particle_moments`), ``momentum`` ``|Σ w v|``, ``fourth_moment``
        ``Σ w|v|⁴``, ``entropy`` ``Σ w log f``, and, for the state the last :meth:`step` returned, that step's record."""
        xp = namespace_of(state.x)
        v, w = state.x, state.weights
        out = particle_moments(v, w)
        out["momentum"] = float(xp.linalg.norm(xp.sum(w[:, None] * v, axis=0)))
        out["fourth_moment"] = float(xp.sum(w * xp.sum(v * v, axis=1) ** 2))
        out["entropy"] = float(xp.sum(w * state.extras["log_f"]))
        if self._last is not None and self._last[0] is state:
            out.update(self._last[1])
        return out

    def step(self, state: Particles, t: float, dt: float) -> Particles:
        """One JKO step of size ``dt`` from time ``t`` (``t`` only seeds the random batches)."""
        return self.solve(state, t, dt).state

    # ------------------------------------------------------------------ one step
    def _setup(self, state: Particles, t: float, dt: float) -> _Problem:
        xp = namespace_of(state.x)
        v, w = state.x, state.weights
        model = fit_score(v, w, self.n_centres, self.bandwidth, self.ridge, folds=self.folds)
        basis = GradientBasis(model.centres, model.bandwidth, self.degree)
        groups: list[Any] = [None] * self.inner_steps
        if self.batch_size is not None:
            bits = int(np.float64(t).view(np.uint64))
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, bits]))
            groups = [[(xp.asarray(i), f) for i, f in random_batches(v.shape[0], self.batch_size, rng)]
                      for _ in range(self.inner_steps)]
        mean = xp.sum(w[:, None] * v, axis=0)
        thermal = float(xp.sum(w * xp.sum((v - mean) ** 2, axis=1)))
        return _Problem(v, w, float(dt), basis, float(model.ridge), groups, mean, thermal)

    def _quadratic(self, P: _Problem) -> tuple[Any, Any, float]:
        """``K``, ``b`` of the ``M = 1`` trace problem at the start, and the ridge weight ``λc``."""
        xp = namespace_of(P.v0)
        basis, v, w = P.basis, P.v0, P.w
        G = basis.gradients(v)
        W = pair_flow_features(v, w, G, self.gamma, self.C, P.groups[0])
        K = sum((G[:, :, a] * w[:, None]).T @ W[:, :, a] for a in range(self.dim))
        K = 0.5 * (K + K.T)
        zero = xp.zeros(basis.size)
        u, H, tape = basis.field(v, zero)
        _, gu, gH = pair_flow_vjp(v, w, u, H, self.gamma, self.C, q=w, groups=P.groups[0], need_v=False)
        b, _ = basis.pullback(v, zero, H, tape, gu, gH, need_v=False)
        diag = xp.diagonal(K)[basis.rbf]
        scale = float(xp.mean(diag)) if diag.size else 0.0
        return K, b, P.ridge * scale

    def _evaluate(self, P: _Problem, theta: Any, lam_c: float, gradient: bool) -> tuple[float, Any, dict[str, Any]]:
        """``Φ(θ)``, its gradient (``None`` unless ``gradient``) and the end state (``v``, ``ℓ``, action, velocities).

        ``Φ = h Σ_m Σ_i w_i u_i^m·V_i^m + λc h Σ_m |θ_m,rbf|² − 2Δt Σ_i w_i ℓ_i`` (module docstring).  With
        ``jacobian="logdet"`` the objective uses :func:`_log_barrier` (``log det`` continued below ``DET_FLOOR``, so
        that it is finite for the optimiser's trial points); ``out["ell"]`` is the exact ``Σ log det`` and
        ``out["min_det"]`` the smallest inner-step determinant (the step is valid only if it is positive).
        """
        xp = namespace_of(P.v0)
        M, d = self.inner_steps, self.dim
        h, dt, w, basis = 1.0 / M, P.dt, P.w, P.basis
        full = self.jacobian == "logdet"
        v = P.v0
        ell = ell_exact = xp.zeros(v.shape[0])
        smallest = math.inf
        action = 0.0
        tape, velocities = [], []
        for m in range(M):
            u, H, rbf_tape = basis.field(v, theta[m])
            V, _, J = pair_flow(v, w, u, H, self.gamma, self.C, "full" if full else "trace", P.groups[m])
            action += h * float(xp.sum(w[:, None] * u * V))
            if full:
                step_map = xp.eye(d)[None] + h * J
                det = xp.linalg.det(step_map)
                value, slope = _log_barrier(det, DET_FLOOR)
                ell = ell + value
                ell_exact = ell_exact + xp.log(xp.maximum(det, 1e-300))
                smallest = min(smallest, float(xp.min(det)))
            else:
                step_map = slope = None
                ell = ell + h * J
                ell_exact = ell
            tape.append((v, u, H, V, step_map, slope, rbf_tape))
            velocities.append(V)
            v = v + h * V
        log_lam = 0.0
        spread = None
        if self.conserve_energy:
            spread = float(xp.sum(w * xp.sum((v - P.mean) ** 2, axis=1)))
            log_lam = 0.5 * (math.log(P.thermal) - math.log(spread))
            ell, ell_exact = ell + d * log_lam, ell_exact + d * log_lam
            v_end = P.mean + math.exp(log_lam) * (v - P.mean)
        else:
            v_end = v
        penalty = lam_c * h * float(xp.sum(theta[:, basis.rbf] ** 2))
        phi = action + penalty - 2 * dt * float(xp.sum(w * ell))
        exact = (math.inf if smallest <= 0 else action + penalty - 2 * dt * float(xp.sum(w * ell_exact)))
        out = {"v": v_end, "ell": ell_exact, "action": action, "velocities": velocities, "log_dilation": log_lam,
               "min_det": smallest, "objective": exact}
        if not gradient:
            return phi, None, out
        grad = xp.zeros_like(theta)
        # adjoint of v^M: the dilation's −2Δt d log λ, log λ = ½(log S0 − log S(v^M))
        lam = (2 * dt * d / spread) * w[:, None] * (v - P.mean) if self.conserve_energy else xp.zeros_like(v)
        for m in reversed(range(M)):
            vm, u, H, V, step_map, slope, rbf_tape = tape[m]
            a = h * lam + h * w[:, None] * u
            if full:
                q, Gamma = -2 * dt * w, h * slope[:, None, None] * _adjugate(step_map).swapaxes(-1, -2)
            else:
                q, Gamma = -2 * dt * h * w, None
            gv, gu, gH = pair_flow_vjp(vm, w, u, H, self.gamma, self.C, a=a, q=q, Gamma=Gamma, groups=P.groups[m],
                                       need_v=m > 0)
            gu = gu + h * w[:, None] * V
            g_theta, gv_basis = basis.pullback(vm, theta[m], H, rbf_tape, gu, gH, need_v=m > 0)
            g_theta[basis.rbf] += 2 * lam_c * h * theta[m, basis.rbf]
            grad[m] = g_theta
            if m > 0:
                lam = lam + gv + gv_basis
        return phi, grad, out

    def solve(self, state: Particles, t: float, dt: float) -> JKOStep:
        """Solve one JKO step (what :meth:`step` returns the state of), with the field and the optimiser's record."""
        from scipy.optimize import minimize

        dt = float(dt)
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"dt must be positive and finite, got {dt!r}")
        xp = namespace_of(state.x)
        wall = _time.perf_counter()
        P = self._setup(state, t, dt)
        K, b, lam_c = self._quadratic(P)
        # K + λcR: the Hessian/2 of the M = 1 trace problem.  K is singular along the null field u = v (b is orthogonal
        # to it), so a relative jitter makes it definite without changing the solution.
        R = xp.zeros(P.basis.size)
        R[P.basis.rbf] = lam_c
        Kr = K + xp.diag(R)
        L = xp.linalg.cholesky(Kr + 1e-10 * float(xp.mean(xp.diagonal(Kr))) * xp.eye(P.basis.size))
        theta1 = _cho_solve(L, b)  # the M = 1 trace minimiser θ = Δt (K + λcR)^{-1} b, refined once against
        theta1 = dt * (theta1 + _cho_solve(L, b - Kr @ theta1))  # the un-jittered matrix
        theta = xp.tile(theta1, (self.inner_steps, 1))
        record: dict[str, float] = {"iterations": 0.0, "fallback": 0.0}
        if not (self.inner_steps == 1 and self.jacobian == "trace"):
            shrink = 0
            while not self._evaluate(P, theta, lam_c, False)[0] <= 0.0:
                theta = 0.5 * theta  # the explicit start overshoots (Φ > 0): shorten it
                shrink += 1
                if shrink > 60:
                    theta = xp.zeros_like(theta)
                    break
            # variables x_m = Lᵀθ_m/Δt: the quadratic part of Φ/Δt² becomes h Σ_m |x_m|²
            Lt = L.T

            def to_theta(x: np.ndarray) -> Any:
                return dt * xp.linalg.solve(Lt, xp.asarray(x.reshape(theta.shape)).T).T

            def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
                phi, g, _ = self._evaluate(P, to_theta(x), lam_c, True)
                return phi / dt**2, to_numpy(xp.linalg.solve(L, g.T).T).ravel() / dt

            res = minimize(fun, to_numpy((theta @ L) / dt).ravel(), jac=True, method="L-BFGS-B",
                           options={"maxiter": self.max_iter, "gtol": self.gtol, "ftol": self.ftol, "maxcor": 20})
            theta = to_theta(res.x)
            record.update(iterations=float(res.nit), evaluations=float(res.nfev), start_shrink=float(shrink),
                          gradient_norm=float(np.max(np.abs(res.jac))))
        out = self._evaluate(P, theta, lam_c, False)[2]
        if not out["objective"] <= 0.0:  # never accept a step that raises the entropy (u = 0 has Φ = 0) or folds the map
            theta = xp.zeros_like(theta)
            out = self._evaluate(P, theta, lam_c, False)[2]
            record["fallback"] = 1.0
        phi = out["objective"]
        record.update(objective=phi / dt**2, action=out["action"], min_det=out["min_det"], entropy_drop=float(xp.sum(P.w * out["ell"])),
                      log_dilation=float(out["log_dilation"]), step_seconds=_time.perf_counter() - wall,
                      n_basis=float(P.basis.size), ridge=P.ridge)
        new = Particles(out["v"], P.w, {"log_f": state.extras["log_f"] - out["ell"]})
        self._last = (new, record)
        return JKOStep(new, theta, P.basis, out["velocities"], record)

    # ------------------------------------------------------------------ deprecated driver
    def run(self, v0: Any, log_f0: Any, t_end: float, dt: float, weights: Any = None,
            save_every: float | None = None, *, progress: bool | None = None, checkpoint: str | Path | None = None,
            resume: str | Path | bool | None = None) -> Trajectory:
        """Deprecated: ``ff.evolve(jko, ff.Particles(v0, weights, extras={"log_f": log_f0}), t_end, dt=dt, ...)``.

        The trajectory of :func:`fieldflow.evolve`, with ``info["entropy_increases"]``: the steps at which ``Σ w log f``
        rose above 1e-12 (relative) — ``[]`` for a monotone run (an increase beyond the loop's ``monotone_tol``
        stops the run with a :class:`~fieldflow.core.evolve.StructureError`).
        """
        warn_moved("JKOLandau.run(v0, log_f0, t_end, dt, ...)",
                   "fieldflow.evolve(jko, fieldflow.Particles(v0, weights, extras={'log_f': log_f0}), t_end, dt=dt)")
        traj = evolve(self, self.initial_state(v0, log_f0, weights), t_end, dt=dt, save_every=save_every,
                      progress=progress, checkpoint=checkpoint, resume=resume)
        traj.info["entropy_increases"] = entropy_increases(traj)
        return traj


def entropy_increases(traj: Trajectory, tol: float = 1e-12) -> list[tuple[float, float]]:
    """``(t, increase)`` for every recorded step at which the entropy rose above ``tol·max(1, |H|)`` (``[]``: monotone)."""
    H, t = traj["entropy"], traj["t"]
    rise = np.diff(H)
    return [(float(t[k + 1]), float(rise[k])) for k in np.flatnonzero(rise > tol * np.maximum(1.0, np.abs(H[:-1])))]
