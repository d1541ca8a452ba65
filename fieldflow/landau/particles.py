"""Deterministic particle methods for the homogeneous Landau equation: blob and score-based.

Both move weighted particles ``f ≈ Σ_i w_i δ(v − v_i)`` with the Landau velocity field

.. math::  \\dot v_i = -\\sum_j w_j\\, A(v_i - v_j)\\,(F_i - F_j),

where ``F ≈ ∇ log f`` is supplied by the method.  Whatever ``F`` is, ``Σ_i w_i \\dot v_i = 0`` (the pair
terms are antisymmetric) and ``Σ_i w_i v_i·\\dot v_i = ½Σ_{ij} w_i w_j (v_i − v_j)·A_{ij}(F_i − F_j) = 0``
(``A(z)z = 0``): mass, momentum and energy are invariants of the particle ODE (capability
``"kinetic_energy"``).  Both are :class:`~fieldflow.core.problem.ParticleSystem` problems, run by
:func:`fieldflow.evolve` with equal steps (``ff.evolve(BlobLandau(grid), f0, t_end, dt=...)``) and the particle
steppers of :mod:`fieldflow.core.steppers.particle`: ``"heun-energy"`` (the default) — Heun's second-order method
followed by a rescaling of the velocities about their (exactly conserved) mean that restores the energy, a change
of the size of the step's ``O(dt³)`` energy error, so the order is kept and mass, momentum and energy are conserved
to round-off; ``"midpoint"`` — implicit midpoint by fixed-point iteration (to ``tol``), which preserves every
quadratic invariant of such an ODE, so energy is conserved without correction; ``"forward-euler"`` — the forward
Euler step of the papers (momentum exact, energy drift ``O(dt)``).  ``evolve`` checks mass and momentum at every
save time; a step with ``dt·L ≥ 1`` (``L`` the Lipschitz constant of the velocity field,
:meth:`~BlobLandau.lipschitz`) is refused before the run.
The pair sums are blocked: ``O(N²)`` work with ``O(block·N·d)`` memory, never an ``N×N×d×d`` array.

* :class:`BlobLandau` — Carrillo–Hu–Wang–Wu (2020): ``F_i = ∇ δH_ε/δf (v_i)`` for the regularised entropy
  ``H_ε = ∫ (ψ_ε*f) log(ψ_ε*f)`` with a Gaussian mollifier ``ψ_ε``; the outer integral is the midpoint rule
  on the grid the particles start from, so ``F_i = Σ_l h^d (log f_ε(x_l) + 1) ∇ψ_ε(v_i − x_l)`` is the exact
  gradient of the discrete ``H_{ε,h}``, which therefore decreases along the ODE.  Particles start at the cell
  centres with weights ``f0(v_i) h^d``.  Error ``O(ε²) = O(h²) = O(N^{−2/d})`` for ``ε ∝ h``.
* :class:`ScoreLandau` — in the spirit of Huang–Wang (2025): ``F = s_θ``, a score learnt from the current
  particles by (implicit) score matching, ``min_θ Σ_i w_i (|s_θ(v_i)|² + 2 ∇·s_θ(v_i))``.  Instead of a neural
  network the model is linear in its parameters, ``s_θ = ∇(θ·φ)`` with ``φ`` = linear and quadratic monomials
  plus Gaussian radial basis functions; the loss is then the quadratic ``θᵀGθ + 2θᵀβ``, minimised in closed form
  by one ``M×M`` solve (ridge ``λ`` on the RBF part only).  Why this model: the quadratic part represents every
  Maxwellian exactly (the equilibrium has zero model error), the RBFs carry the non-Gaussian part, the fit is
  deterministic, needs no optimiser, learning rate or framework, and costs ``O(N M² + M³)``.  The number of
  centres and the ridge are chosen by K-fold cross-validation of the held-out score-matching loss (see
  :func:`fit_score`): a fixed choice overfits, and since the entropy dissipation is quadratic in the score the
  overfitted score biases it high (×1.8–3 on BKW at ``t = 2``, ``N = 1000``).  The density along trajectories
  follows the continuity equation, ``d log f(v_i)/dt = −∇·u(v_i)``, as in Huang–Wang, giving the entropy estimate
  ``H ≈ Σ_i w_i log f_i`` with no density estimation: ``log f_i`` is the extra ``"log_f"`` of the particles
  (``ff.Particles(v0, extras={"log_f": log_f0})``), advanced by one forward-Euler step per step.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._compat import warn_moved
from ..core.backend import block_rows, namespace_of
from ..core.evolve import evolve
from ..core.validation import validate_density
from ..core.finite_volume import wall_ratio
from ..core.grids import Grid
from ..core.particle_loop import ParticleRun
from ..core.problem import Particles, ParticleSystem
from .collision import bkw_constant, check_gamma
from .moments import particle_moments
from .pair_sums import pair_flow
from ..core.score_matching import DEFAULT_CENTRES, ScoreModel, centre_candidates, fit_score, ridge_candidates

__all__ = ["landau_velocity", "BlobLandau", "ScoreLandau"]


def _block(n: int, width: int, xp: Any = None, budget: int = 250_000) -> int:
    """Rows per block so that ``width`` temporaries of shape ``(block, n)`` stay small (:func:`block_rows`)."""
    return block_rows(n, 8 * width, xp, 8 * budget)


def landau_velocity(v: Any, w: Any, F: Any, gamma: float, C: float, hessian: Any = None,
                    block: int | None = None) -> tuple[Any, Any]:
    """``u_i = −Σ_j w_j A(v_i − v_j)(F_i − F_j)`` and, with ``hessian`` ``H_i = ∇F(v_i)``, ``∇·u(v_i)``.

    ``∇·u(v_i) = −Σ_j w_j [b(v_i − v_j)·(F_i − F_j) + A(v_i − v_j) : H_i]`` with ``b = ∇·A``; the ``j = i`` term is
    zero.  The pair sum is :func:`~fieldflow.landau.pair_sums.pair_flow` with the field ``−F`` (blocked rows of
    ``block``); for Maxwell molecules without ``hessian`` the ``O(N d²)`` moment expansion
    (``_maxwell_velocity``).  Returns ``(u, div)`` (``div`` is ``None`` without ``hessian``).
    """
    if gamma == 0.0 and hessian is None:
        return _maxwell_velocity(v, w, F, C), None
    u, _, div = pair_flow(v, w, -F, None if hessian is None else -hessian, gamma, C,
                          None if hessian is None else "trace", block=block)
    return u, div


def _maxwell_velocity(v: Any, w: Any, F: Any, C: float) -> Any:
    """The Maxwell-molecule (``γ = 0``) case of :func:`landau_velocity` in ``O(N d²)`` by expanding the pair sum.

    ``A(z)y = C(|z|²y − z(z·y))`` is polynomial in ``z = v_i − v_j``, so with ``y = F_i − F_j``
    ``Σ_j w_j |z|²y = F_i(m|v_i|² − 2v_i·V + S) − (|v_i|²F̄ − 2M_{FV}v_i + Σ_j w_j|v_j|²F_j)`` and
    ``Σ_j w_j z(z·y) = v_i(m v_i·F_i − v_i·F̄ − V·F_i + T) − (V v_i·F_i − M_{VF}v_i − M_{VV}F_i + R)``, with the
    weighted sums ``m = Σw``, ``V = Σwv``, ``F̄ = ΣwF``, ``S = Σw|v|²``, ``T = Σw v·F``, ``R = Σw v(v·F)``,
    ``M_{VF} = Σw v⊗F``, ``M_{FV} = M_{VF}ᵀ``, ``M_{VV} = Σw v⊗v``.  Same field as the pair sum up to round-off.
    """
    xp = namespace_of(v)
    m = xp.sum(w)
    V, Fbar = w @ v, w @ F
    v2, vF = xp.sum(v * v, axis=1), xp.sum(v * F, axis=1)
    S, T = w @ v2, w @ vF
    M_VF = (v * w[:, None]).T @ F
    M_VV = (v * w[:, None]).T @ v
    R = (w * vF) @ v
    WF = (w * v2) @ F
    norm = F * (m * v2 - 2 * (v @ V) + S)[:, None] - (v2[:, None] * Fbar[None, :] - 2 * v @ M_VF + WF[None, :])
    proj = v * (m * vF - v @ Fbar - F @ V + T)[:, None] - (vF[:, None] * V[None, :] - v @ M_VF.T - F @ M_VV + R[None, :])
    return -C * (norm - proj)


#: the ``method`` of the constructors -> the particle stepper of the registry
_METHODS = {"heun": "heun-energy", "midpoint": "midpoint", "euler": "forward-euler"}


class _LandauParticles(ParticleSystem):
    """What the particle methods share: the drift ``u``, the contract's flags, the Lipschitz step limit and the
    choice of stepper (``method``: ``"heun"`` → ``"heun-energy"``, ``"midpoint"``, ``"euler"`` → ``"forward-euler"``)."""

    capabilities = frozenset({"kinetic_energy"})
    default_method = "heun-energy"
    gamma: float
    C: float
    dim: int

    def _setup(self, dim: int, gamma: float, C: float | None, method: str, tol: float, max_iter: int) -> None:
        if dim not in (2, 3):
            raise ValueError(f"the Landau equation is implemented in velocity dimension 2 or 3, got {dim}")
        self.dim = dim
        self.gamma, self.C = check_gamma(gamma, bkw_constant(dim) if C is None else C)
        if method not in _METHODS:
            raise ValueError(f"method must be 'heun', 'midpoint' or 'euler', got {method!r}")
        self.method, self.tol, self.max_iter = method, float(tol), int(max_iter)
        self.default_method = _METHODS[method]
        self.stepper_options = {"tol": self.tol, "max_iter": self.max_iter} if method == "midpoint" else {}
        self.conserved = ("mass",) + tuple(f"momentum_{a}" for a in range(dim))

    def lipschitz(self, v: Any, w: Any, iterations: int = 3, seed: int = 0) -> float:
        """Power-iteration estimate of the spectral radius of ``∂u/∂v`` (finite differences, ``iterations`` steps).

        Explicit Euler is stable and the midpoint fixed point contracts for ``dt · L < 1``.
        """
        xp = namespace_of(v)
        rng = np.random.default_rng(seed)
        u0 = self.velocity(v, w)
        delta = xp.asarray(rng.standard_normal(v.shape))
        size = 1e-6 * (float(xp.max(xp.abs(v))) + 1.0)
        estimate = 0.0
        for _ in range(iterations):
            delta = delta / float(xp.linalg.norm(delta))
            change = (self.velocity(v + size * delta, w) - u0) / size
            estimate = float(xp.linalg.norm(change))
            delta = change
        return estimate

    def stable_dt(self, state: Particles, t: float) -> float:
        """``1/L`` with ``L`` from :meth:`lipschitz`: ``evolve`` refuses a step ``dt ≥ 1/L``."""
        return 1.0 / self.lipschitz(state.x, state.weights)

    def velocity(self, v: Any, w: Any) -> Any:
        raise NotImplementedError

    def drift(self, state: Particles, t: float) -> Any:
        """The Landau velocity field ``u`` at the particles (:meth:`velocity`)."""
        return self.velocity(state.x, state.weights)

    def validate(self, state0: Any) -> Particles:
        """:class:`~fieldflow.core.problem.Particles` (or an array, equal weights) with velocities of shape
        ``(N, dim)``: finite, with non-negative weights of positive mass."""
        p = super().validate(state0)
        if p.x.ndim != 2 or p.x.shape[1] != self.dim:
            raise ValueError(f"particle velocities must have shape (N, {self.dim}), got {tuple(p.x.shape)}")
        return p

    def describe(self) -> dict[str, Any]:
        """The method and its parameters (JSON-serialisable): the fingerprint that checkpoints are checked against."""
        return {"method": type(self).__name__, "dim": self.dim, "gamma": self.gamma, "C": self.C}


# ============================================================================ blob method


class BlobLandau(_LandauParticles):
    """Blob method (Carrillo–Hu–Wang–Wu) with a Gaussian mollifier on the grid the particles start from.

    Parameters
    ----------
    grid : Grid
        Box grid in 2D or 3D velocity: the particles start at its cell centres (weights ``f0 h^d``) and its
        cells are the quadrature mesh of the regularised entropy.  It must cover the particles as they move.
    gamma, C : float
        Kernel exponent and constant (as :class:`fieldflow.Landau`).
    epsilon : float, optional
        Mollifier width; default ``1.0 · h`` (then the mesh aliasing ``e^{−2π²ε²/h²} ≈ 3e−9`` is negligible and
        the smoothing error ``ε²Δf/2`` is second order).
    method : {"heun", "midpoint", "euler"}
        The default stepper of ``evolve``: ``"heun-energy"``, ``"midpoint"`` or ``"forward-euler"`` (see the
        module docstring); default ``"heun"``. ``tol``/``max_iter``: midpoint fixed-point iteration.
    wall_tol : float
        :meth:`initial_particles` rejects data whose mollified density ``f_ε`` on the mesh's wall cells exceeds
        ``wall_tol × max f_ε``.  The mesh truncates the outer integral of ``F``; the truncation error of the
        velocity field is of the size of ``f_ε`` at the walls (measured for a Coulomb bi-Maxwellian: wall ratio
        1.6e-3 → 4.7 % error in the relaxation rate, 9.5e-5 → 0.3 %, 3e-6 → below 0.05 %).
    drop_tol : float
        Cells whose weight is below ``drop_tol × max`` get no particle (the mesh keeps all cells).  A box large
        enough for ``f_ε`` has many such cells: for the Coulomb bi-Maxwellian on ``[−7, 7]³`` the default 1e-12
        keeps 1632 of 2744 particles (3448 of 5832), drops mass 3e-12 (the kept weights are renormalised) and
        leaves the relaxation rate unchanged to 4 digits, while the ``O(N²)`` pair sum gets 2–3× cheaper.
    """

    def __init__(self, grid: Grid, gamma: float = 0.0, C: float | None = None, epsilon: float | None = None,
                 method: str = "heun", tol: float = 1e-14, max_iter: int = 60, wall_tol: float = 1e-4,
                 drop_tol: float = 1e-12):
        if grid.periodic:
            raise ValueError("BlobLandau needs a box grid (Grid.box) as its quadrature mesh")
        self._setup(grid.dim, gamma, C, method, tol, max_iter)
        if not 0 < wall_tol < 1:
            raise ValueError(f"wall_tol must lie in (0, 1), got {wall_tol}")
        if not 0 <= drop_tol < 1:
            raise ValueError(f"drop_tol must lie in [0, 1), got {drop_tol}")
        self.wall_tol, self.drop_tol = float(wall_tol), float(drop_tol)
        self.grid = grid
        h = max(grid.spacing)
        self.epsilon = float(h if epsilon is None else epsilon)
        if not (math.isfinite(self.epsilon) and self.epsilon > 0):
            raise ValueError(f"epsilon must be positive, got {epsilon!r}")
        self.mesh = grid.points.reshape(-1, grid.dim)
        self._norm = (2 * math.pi * self.epsilon**2) ** (-grid.dim / 2)
        # Local stencil: mesh cells within CUTOFF·ε of a particle (the Gaussian beyond is < e^{−24.5} ≈ 2e−11 of
        # its peak); used instead of the dense (N, M) matrices when it has fewer cells than the mesh.
        radius = [int(math.ceil(self.CUTOFF * self.epsilon / hs)) for hs in grid.spacing]
        offsets = np.stack(np.meshgrid(*[np.arange(-r, r + 1) for r in radius], indexing="ij"), -1).reshape(-1, grid.dim)
        self._offsets = grid.xp.asarray(offsets) if offsets.shape[0] < self.mesh.shape[0] else None
        self._strides = np.cumprod((grid.shape[1:] + (1,))[::-1])[::-1].copy()

    CUTOFF = 7.0

    def _neighbours(self, v: Any) -> tuple[Any, Any]:
        """Flat mesh indices ``(N, K)`` of the stencil cells around each particle and ``ψ_ε(x_l − v_i)`` there
        (zero for cells outside the box)."""
        xp = namespace_of(v)
        grid = self.grid
        lower = xp.asarray([float(ax[0]) for ax in grid.axes])
        h = xp.asarray(grid.spacing)
        base = xp.rint((v - lower) / h).astype(int)
        idx = base[:, None, :] + self._offsets[None, :, :]  # (N, K, d)
        inside = xp.all((idx >= 0) & (idx < xp.asarray(grid.shape)), axis=-1)
        diff = lower + idx * h - v[:, None, :]
        g = xp.where(inside, self._norm * xp.exp(-xp.sum(diff * diff, -1) / (2 * self.epsilon**2)), 0.0)
        flat = xp.where(inside, idx @ xp.asarray(self._strides), 0)
        return flat, g

    def _mesh_density(self, v: Any, w: Any) -> Any:
        """``f_ε`` at the mesh cells (flat), from the local stencil when it is smaller than the mesh."""
        if self._offsets is None:
            return self.blob_density(v, w, self.mesh)
        xp = namespace_of(v)
        out = xp.zeros(self.mesh.shape[0])
        block = _block(self._offsets.shape[0], 2 * self.dim, xp)
        for s in range(0, v.shape[0], block):
            flat, g = self._neighbours(v[s:s + block])
            out += xp.bincount(flat.ravel(), weights=(g * w[s:s + block, None]).ravel(), minlength=out.shape[0])
        return out

    def initial_particles(self, f0: Any) -> tuple[Any, Any]:
        """Particles at the cell centres and weights ``f0_i h^d`` (``f0`` validated, normalised to mass 1).

        Cells with ``f0 < drop_tol × max f0`` get no particle; the kept weights are renormalised to mass 1.
        Raises ``ValueError`` for invalid ``f0`` (negative, NaN/inf, wrong shape) and when the mollified density
        on the mesh walls exceeds ``wall_tol`` of its maximum (the box is too small for ``ψ_ε * f0``).
        """
        xp = self.grid.xp
        f0 = validate_density(self.grid, f0, name="initial density f0", normalise=True).reshape(-1)
        keep = f0 >= self.drop_tol * float(xp.max(f0))
        v, w = self.mesh[keep], f0[keep] * self.grid.cell_volume
        w = w / xp.sum(w)
        ratio = wall_ratio(self._mesh_density(v, w).reshape(self.grid.shape), xp)
        if ratio > self.wall_tol:
            raise ValueError(
                f"the mollified density f_ε = ψ_ε * f0 on the walls of the blob mesh is {ratio:.2e} of its maximum "
                f"(> wall_tol={self.wall_tol:g}): the box [{self.grid.lower[0]:g}, {self.grid.upper[0]:g}]^{self.dim} "
                f"is too small for f0 smoothed at ε = {self.epsilon:.3g}; enlarge extent (or reduce epsilon)"
            )
        return v, w

    def _gauss(self, x: Any, y: Any) -> Any:
        """``ψ_ε(x_p − y_q)`` as a ``(P, Q)`` matrix."""
        xp = namespace_of(x)
        r2 = sum((x[:, a:a + 1] - y[None, :, a]) ** 2 for a in range(self.dim))
        return self._norm * xp.exp(-r2 / (2 * self.epsilon**2))

    def blob_density(self, v: Any, w: Any, points: Any) -> Any:
        """The blob reconstruction ``f_ε(x) = Σ_k w_k ψ_ε(x − v_k)`` at ``points`` of shape ``(..., d)``."""
        xp = namespace_of(v)
        flat = points.reshape(-1, self.dim)
        out = xp.empty(flat.shape[0])
        block = _block(v.shape[0], 2, xp)
        for s in range(0, flat.shape[0], block):
            out[s:s + block] = self._gauss(flat[s:s + block], v) @ w
        return out.reshape(points.shape[:-1])

    def entropy_gradient(self, v: Any, w: Any) -> Any:
        """``F_i = Σ_l h^d (log f_ε(x_l) + 1)(x_l − v_i)/ε² ψ_ε(x_l − v_i)``, the gradient of ``H_{ε,h}``."""
        xp = namespace_of(v)
        fe = self._mesh_density(v, w)
        weight = (xp.log(xp.maximum(fe, 1e-300)) + 1) * self.grid.cell_volume
        F = xp.empty_like(v)
        if self._offsets is not None:
            block = _block(self._offsets.shape[0], 2 * self.dim, xp)
            for s in range(0, v.shape[0], block):
                flat, g = self._neighbours(v[s:s + block])
                gw = g * weight[flat]
                F[s:s + block] = (xp.einsum("nk,nkd->nd", gw, self.mesh[flat])
                                  - v[s:s + block] * xp.sum(gw, 1)[:, None]) / self.epsilon**2
            return F
        wx = self.mesh * weight[:, None]
        block = _block(self.mesh.shape[0], 2, xp)
        for s in range(0, v.shape[0], block):
            g = self._gauss(v[s:s + block], self.mesh)  # (B, M)
            F[s:s + block] = (g @ wx - v[s:s + block] * (g @ weight)[:, None]) / self.epsilon**2
        return F

    def regularised_entropy(self, v: Any, w: Any) -> float:
        """``H_{ε,h} = Σ_l h^d f_ε(x_l) log f_ε(x_l)`` — non-increasing along the particle ODE."""
        xp = namespace_of(v)
        fe = self._mesh_density(v, w)
        return float(xp.sum(xp.where(fe > 0, fe * xp.log(xp.maximum(fe, 1e-300)), 0.0))) * self.grid.cell_volume

    def velocity(self, v: Any, w: Any) -> Any:
        return landau_velocity(v, w, self.entropy_gradient(v, w), self.gamma, self.C)[0]

    def validate(self, state0: Any) -> Particles:
        """Grid data ``f0`` (an array of the grid's shape: :meth:`initial_particles`) or particles."""
        if not isinstance(state0, Particles) and tuple(getattr(state0, "shape", ())) == tuple(self.grid.shape):
            state0 = Particles(*self.initial_particles(state0))
        return super().validate(state0)

    def diagnostics(self, state: Particles, t: float) -> dict[str, float]:
        """Moments (mass, momentum and temperature per axis, energy) and the regularised entropy ``H_{ε,h}``."""
        v, w = state.x, state.weights
        out = particle_moments(v, w)
        out["entropy"] = self.regularised_entropy(v, w)
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "epsilon": self.epsilon, "grid": repr(self.grid), "drop_tol": self.drop_tol}

    def run(self, f0: Any, t_end: float, dt: float, save_times: Sequence[float] | None = None, *,
            progress: bool | None = None, checkpoint: str | Path | None = None, checkpoint_every: float = 60.0,
            resume: str | Path | bool | None = None) -> ParticleRun:
        """Deprecated: ``ParticleRun.from_trajectory(ff.evolve(blob, f0, t_end, dt=dt, save_times=...))``."""
        warn_moved("BlobLandau.run(f0, t_end, dt, ...)", "fieldflow.evolve(blob, f0, t_end, dt=dt, ...)")
        return ParticleRun.from_trajectory(evolve(self, f0, t_end, dt=dt, save_times=save_times, progress=progress,
                                                  checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                                                  resume=resume))


# ============================================================================ score-based method


class ScoreLandau(_LandauParticles):
    """Score-based particle method (Huang–Wang) with the closed-form score model of :func:`fit_score`.

    The state is :class:`~fieldflow.core.problem.Particles` with the extra ``"log_f"`` (``log f0`` at the
    particles).  Diagnostics: moments; ``entropy`` ``Σ_i w_i log f_i`` with ``log f_i`` transported by
    ``d log f_i/dt = −∇·u(v_i)``; ``dissipation`` ``½Σ_{ij} w_i w_j (s_i − s_j)·A_{ij}(s_i − s_j)`` (``= −dH/dt``).

    Parameters
    ----------
    dim : {2, 3}
    gamma, C : float
        Kernel exponent and constant.
    n_centres, bandwidth, ridge, folds : optional
        Score model (see :func:`fit_score`), refitted on the current particles at every step.  Default:
        ``(n_centres, ridge)`` selected at every step by ``folds``-fold cross-validation over
        :data:`DEFAULT_CENTRES` × :data:`DEFAULT_RIDGES`; pass an int and a float for a fixed model.  Measured
        cost of the selection (2 cores, ``benchmarks/landau_score.py``): 0.035–0.04 s for ``N = 1000`` and
        0.11 s (2D) / 0.14 s (3D) for ``N = 6000``, against 0.03–0.04 s and 0.7–1.0 s for the step's ``O(N²)``
        divergence ``∇·u``: it about doubles a step at ``N = 1000`` and adds 15% at ``N = 6000``, so it is done
        at every step.
    method : {"heun", "midpoint", "euler"}
        The default stepper, as for :class:`BlobLandau`.  The score is fitted at the start of every step and
        frozen over it.
    """

    extras = ("log_f",)

    def __init__(self, dim: int, gamma: float = 0.0, C: float | None = None,
                 n_centres: int | Sequence[int] = DEFAULT_CENTRES, bandwidth: float | None = None,
                 ridge: float | str | Sequence[float] = "cv", folds: int = 5, method: str = "heun",
                 tol: float = 1e-14, max_iter: int = 60):
        self._setup(dim, gamma, C, method, tol, max_iter)
        centre_candidates(n_centres, 1)  # validate now rather than at the first step
        ridge_candidates(ridge)
        self.n_centres, self.bandwidth, self.ridge, self.folds = n_centres, bandwidth, ridge, folds
        self.model: ScoreModel | None = None

    def fit(self, v: Any, w: Any) -> ScoreModel:
        """Fit (and keep) the score model on the particles ``v`` with weights ``w``."""
        self.model = fit_score(v, w, self.n_centres, self.bandwidth, self.ridge, folds=self.folds)
        return self.model

    def velocity(self, v: Any, w: Any) -> Any:
        if self.model is None:
            self.fit(v, w)
        return landau_velocity(v, w, self.model(v), self.gamma, self.C)[0]

    def dissipation(self, v: Any, w: Any) -> float:
        """``½ Σ_{ij} w_i w_j (s_i − s_j)·A_{ij}(s_i − s_j) = −Σ_i w_i s_i·u_i`` for the current model."""
        xp = namespace_of(v)
        if self.model is None:
            self.fit(v, w)
        s = self.model(v)
        u, _ = landau_velocity(v, w, s, self.gamma, self.C)
        return -float(xp.sum(w[:, None] * s * u))

    def stable_dt(self, state: Particles, t: float) -> float:
        """``1/L`` for the score fitted on ``state`` (:meth:`lipschitz`)."""
        self.fit(state.x, state.weights)
        return super().stable_dt(state, t)

    def prepare_step(self, state: Particles, t: float) -> None:
        """Fit the score on the particles; it stays frozen over the step."""
        self.fit(state.x, state.weights)

    def extra_rates(self, state: Particles, t: float) -> dict[str, Any]:
        """``d log f_i/dt = −∇·u(v_i)`` with the frozen score."""
        v, w = state.x, state.weights
        _, div = landau_velocity(v, w, self.model(v), self.gamma, self.C, hessian=self.model.hessian(v))
        return {"log_f": -div}

    def diagnostics(self, state: Particles, t: float) -> dict[str, float]:
        """Moments, ``entropy`` ``Σ_i w_i log f_i`` and ``dissipation`` (with the score fitted on ``state``)."""
        v, w = state.x, state.weights
        xp = namespace_of(v)
        self.fit(v, w)
        return {**particle_moments(v, w), "entropy": float(xp.sum(w * state.extras["log_f"])),
                "dissipation": self.dissipation(v, w)}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "n_centres": self.n_centres, "bandwidth": self.bandwidth, "ridge": self.ridge,
                "folds": self.folds}

    def run(self, v0: Any, log_f0: Any, t_end: float, dt: float, weights: Any = None,
            save_times: Sequence[float] | None = None, *, progress: bool | None = None,
            checkpoint: str | Path | None = None, checkpoint_every: float = 60.0,
            resume: str | Path | bool | None = None) -> ParticleRun:
        """Deprecated: ``ff.evolve(method, ff.Particles(v0, weights, extras={"log_f": log_f0}), t_end, dt=dt, ...)``."""
        warn_moved("ScoreLandau.run(v0, log_f0, t_end, dt, ...)",
                   "fieldflow.evolve(method, fieldflow.Particles(v0, weights, extras={'log_f': log_f0}), t_end, dt=dt)")
        state0 = Particles(v0, weights, {"log_f": log_f0})
        return ParticleRun.from_trajectory(evolve(self, state0, t_end, dt=dt, save_times=save_times,
                                                  progress=progress, checkpoint=checkpoint,
                                                  checkpoint_every=checkpoint_every, resume=resume))
