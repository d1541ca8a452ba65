"""Exact-in-time steps of a linear, time-independent, reversible equation: ``u(t + τ) = exp(τL) u(t)``.

For ``∂t u = L u`` with a constant generator ``L`` in detailed balance with ``π``
(``L_ij π_j = L_ji π_i``: the Fokker–Planck operator with a static potential), the solution at any later
time is ``exp(τL) u``, and ``K = Π^{-1/2} L Π^{1/2}`` is symmetric negative semi-definite, so

.. math:: u(t + \\tau) = \\Pi^{1/2} \\exp(\\tau K)\\, \\Pi^{-1/2} u(t)

is computed to a stated tolerance with no time-discretisation error — one step per save interval, whatever
its length, no factorisation and no linear solve — in one of three ways:

* grids of at most ``dense_limit`` cells: from one eigen-decomposition ``K = QΛQᵀ`` (cached on the equation),
  ``exp(τK)y = Q e^{τΛ} Qᵀ y``, exact to round-off;
* the Lanczos process (:func:`~fieldflow.core.linalg.lanczos.expm_multiply_symmetric`), adaptive, while its
  basis fits in memory: a number of products with ``K`` that grows like ``\\sqrt{ρτ}`` for the spectrum
  ``[−ρ, 0]`` and stays bounded as ``τ → ∞``;
* beyond that, the Chebyshev expansion (:func:`~fieldflow.core.linalg.chebyshev.expm_multiply_chebyshev`),
  whose degree an a-priori bound fixes, in one pass with three vectors.

Accuracy.  ``‖Π^{1/2} e‖₂ ≤ ‖e‖₂`` (``max Π^{1/2} = 1``), so an error ``‖e‖₂ ≤ rtol·‖u‖₂`` in the
symmetrised variable bounds the error of the step in ``u`` by ``rtol·‖u‖₂``.  The semigroup is a
contraction in ``L²(1/π)``, so errors of earlier steps do not grow.  When ``‖Π^{-1/2}u‖₂`` exceeds
``‖u‖₂`` so much that this tolerance sits below round-off of the symmetrised vector (``u`` far heavier
than ``π`` in the tails of a wide box), the step is taken by TR-BDF2 with its own error control instead.

Structure.  ``exp(τL)`` maps densities to densities and keeps ``Σ u`` (``1ᵀL = 0``); the computed result
is within the tolerance of it, and the stepper makes both exact: negative round-off values are set to zero and
the mass is restored by one multiplicative factor (a change of the size of the tolerance).  The
free energy decreases along the exact flow, so the structure checks of :func:`~fieldflow.evolve` hold.
"""

from __future__ import annotations

import math
from typing import Any


from ..backend import to_numpy
from ..linalg import conserves_mass, expm_multiply_symmetric, restore_mass, symmetrise
from ..linalg.chebyshev import chebyshev_degree, expm_multiply_chebyshev, spectral_radius_bound
from ..linalg.lanczos import BASIS_MEMORY
from ..problem import PDE
from ..validation import integer, one_of
from .base import Stepper, StepResult

__all__ = ["KrylovExponential"]

#: round-off floor of the Lanczos error relative to the symmetrised vector's norm
_ATTAINABLE = 1e-14

#: default ``dense_limit``: grids of at most this many cells take ``exp(τK)`` from one eigen-decomposition of ``K``
#: (cached per operator): two dense products per step instead of a Lanczos process
DENSE_LIMIT = 2048


class KrylovExponential(Stepper):
    """``u ← exp(τL) u`` on the symmetrised generator, exact in time (eigen-decomposition, Lanczos or Chebyshev;
    see the module).

    Parameters
    ----------
    pde : PDE
        A linear, time-independent equation with capabilities ``linear_operator`` and
        ``reversible_measure`` (e.g. :class:`~fieldflow.fokker_planck.FokkerPlanck`).
    dt : float, optional
        With ``adaptive=False``: every step is ``dt`` (each exact).  Otherwise each step runs to the next
        save time (or ``t_end``), halved only if the Krylov space would exceed ``max_dim``.
    rtol, atol : float
        Bound on each step's error: ``‖u_{n+1} − exp(τL)u_n‖₂ ≤ rtol·‖u_n‖₂ + atol·‖u₀‖₂`` (defaults
        ``1e-10`` and ``0``; the names and the meaning of TR-BDF2's, which bound its local error).
    max_dim : int
        Largest Krylov dimension per step (default 1000); beyond it the step is halved.
    dense_limit : int
        Grids of at most this many cells (default 2048) use one eigen-decomposition of ``K`` (cached on the
        equation) instead of the Lanczos process: ``exp(τK)y = Q e^{τΛ} Qᵀ y``, exact to round-off.
    algorithm : {"auto", "lanczos", "chebyshev"}
        Beyond ``dense_limit``: the Lanczos process (adaptive; one pass while its basis fits in 256 MB) or the
        Chebyshev expansion (:mod:`fieldflow.core.linalg.chebyshev`: a-priori degree, one pass, three vectors).
        ``"auto"`` takes Chebyshev when Lanczos would need a second pass and is not known to need fewer than
        half as many vectors for this step size.
    """

    name = "krylov-exp"
    order = math.inf
    requires = ("linear_operator", "reversible_measure")

    def __init__(self, pde: PDE, dt: float | None = None, adaptive: bool = True, rtol: float = 1e-10,
                 atol: float = 0.0, max_dim: int = 1000, dense_limit: int = DENSE_LIMIT, algorithm: str = "auto"):
        super().__init__(pde, dt, adaptive)
        if getattr(pde, "time_dependent", False):
            raise ValueError(f"stepper 'krylov-exp' needs a time-independent operator; {type(pde).__name__} "
                             "depends on time: use method='trbdf2'")
        if not adaptive and dt is None:
            raise ValueError("krylov-exp with adaptive=False needs a fixed dt")
        self.rtol, self.atol = float(rtol), float(atol)
        self.max_dim = integer(max_dim, "max_dim", minimum=2, hint="the largest Krylov dimension per step")
        self.dense_limit = integer(dense_limit, "dense_limit", minimum=0,
                                   hint="cells up to which exp(τK) comes from an eigen-decomposition")
        self.algorithm = one_of(algorithm, "algorithm", ("auto", "lanczos", "chebyshev"))
        self._scale: float | None = None
        self._last: tuple[float, int] = (math.nan, 8)  # (τ, Krylov dimension) of the last step
        self.fallback: Stepper | None = None
        self._t_end = math.inf

    def initial_dt(self, state: Any, t: float, t_end: float) -> float:
        self._t_end = t_end
        self._scale = float(self.pde.grid.xp.linalg.norm(state.ravel()))
        return self.dt if self.dt is not None else t_end - t

    def checkpoint_state(self) -> dict[str, Any]:
        """What a resumed run needs to take the same steps: ``‖u₀‖₂`` (the scale of ``atol``), the end time,
        the last step's ``(τ, Krylov dimension)`` (the first convergence check) and the TR-BDF2 fallback's ladder."""
        tau, dim = self._last
        return {"scale": self._scale, "t_end": self._t_end if math.isfinite(self._t_end) else None,
                "last": [None if math.isnan(tau) else tau, dim],
                "fallback": None if self.fallback is None else self.fallback.checkpoint_state()}

    def restore_state(self, saved: dict[str, Any]) -> None:
        self._scale = saved["scale"]
        self._t_end = math.inf if saved["t_end"] is None else saved["t_end"]
        tau, dim = saved["last"]
        self._last = (math.nan if tau is None else tau, int(dim))
        if saved["fallback"] is not None:
            self._make_fallback().restore_state(saved["fallback"])

    def _operator(self) -> dict[str, Any] | None:
        """What the steps of the equation's ``L`` share, cached on the equation (``None``: ``L`` cannot be
        symmetrised): ``K`` (CSR) and ``half`` ``= Π^{1/2}``, ``product`` (``K`` in the storage its products are
        fastest in), ``conservative``, and per step size the Krylov ``dims`` and Chebyshev ``degrees``."""
        pde, xp = self.pde, self.pde.grid.xp
        L = pde.linear_operator(0.0)
        cache = pde.__dict__.setdefault("_krylov_exponential_cache", {})
        if cache.get("L") is not L:
            symmetric = symmetrise(L, pde.reversible_measure(0.0), xp)
            cache.clear()
            cache.update(L=L, conservative=conserves_mass(L, xp), dims={}, degrees={})
            if symmetric is not None:
                K, half = symmetric
                # a stencil matrix: SciPy's diagonal storage multiplies it ~1.6× faster than CSR (no column indices)
                cache.update(K=K, half=half, product=K.todia() if xp.__name__ == "numpy" else K)
        return cache if "K" in cache else None

    def _make_fallback(self) -> Stepper:
        if self.fallback is None:
            from .implicit import TRBDF2

            self.fallback = TRBDF2(self.pde)
        return self.fallback

    def _by_trbdf2(self, state: Any, t: float, dt_max: float) -> StepResult:
        """A step of TR-BDF2 (its own error control) where the exponential cannot reach the tolerance."""
        if self.fallback is None:
            end = self._t_end if math.isfinite(self._t_end) else t + dt_max
            self._make_fallback().initial_dt(state, t, end)
        return self.fallback.step(state, t, dt_max)

    def step(self, state: Any, t: float, dt_max: float) -> StepResult:
        xp = self.pde.grid.xp
        cache = self._operator()
        if cache is None:
            return self._by_trbdf2(state, t, dt_max)
        K, half, conservative = cache["product"], cache["half"], cache["conservative"]
        u = state.ravel()
        y = u / half
        # norms scaled by the largest entry, so that tails far heavier than π do not overflow the squares
        top_u, top_y = (float(v) for v in to_numpy(xp.stack([xp.max(xp.abs(u)), xp.max(xp.abs(y))])))
        if top_u == 0.0:
            return StepResult(state.copy(), dt_max, self._next(t, dt_max))
        norm_u = top_u * float(xp.linalg.norm(u / top_u))
        norm_y = top_y * float(xp.linalg.norm(y / top_y))
        atol = self.rtol * norm_u + self.atol * (self._scale if self._scale is not None else norm_u)
        if atol < _ATTAINABLE * norm_y:
            return self._by_trbdf2(state, t, dt_max)
        mass = xp.sum(u)
        if u.size <= self.dense_limit:  # a small grid: exp(τK) from the eigen-decomposition, exact to round-off
            if "eigen" not in cache:
                # K = Q diag(λ) Qᵀ, once per operator
                cache["eigen"] = xp.linalg.eigh(cache["K"].toarray())
            ev, Q = cache["eigen"]
            u_new = (Q @ (xp.exp(dt_max * ev) * (Q.T @ y))) * half
            return self._finish(u_new, mass, conservative, state.shape, dt_max, self._next(t, dt_max))
        dims = cache["dims"]  # τ -> the Krylov dimension that sufficed, per equation
        if self.algorithm != "lanczos":
            if "rho" not in cache:
                cache["rho"] = spectral_radius_bound(cache["K"], xp)
            degree = chebyshev_degree(dt_max, cache["rho"], atol / norm_y)
            fits = degree * u.size * 8 <= BASIS_MEMORY
            known = dims.get(dt_max)
            if self.algorithm == "chebyshev" or not (fits or (known is not None and 2 * known < degree)):
                x, products = expm_multiply_chebyshev(K, y, dt_max, cache["rho"], atol)
                cache["degrees"][dt_max] = products  # for reports: products per step size
                return self._finish(x * half, mass, conservative, state.shape, dt_max, self._next(t, dt_max))
        tau, first = dt_max, self._last[1] if dt_max == self._last[0] else dims.get(dt_max, 8)
        for _ in range(60):
            result = expm_multiply_symmetric(K, y, tau, atol, max_dim=self.max_dim, first_check=first)
            if not result.converged:
                tau, first = tau / 2, 8
                continue
            u_new = result.x * half
            if not conservative or abs(float(xp.sum(u_new) - mass)) <= math.sqrt(u.size) * atol + 1e-13 * norm_u:
                break
            # the error estimate missed a slow component (tiny in y, large in u): the exact flow keeps Σu, so
            # ask for a larger space; none up to max_dim: TR-BDF2 takes this step
            if 2 * result.dimension > self.max_dim:
                return self._by_trbdf2(state, t, dt_max)
            first = 2 * result.dimension
        else:
            raise FloatingPointError(f"Lanczos did not reach rtol={self.rtol:g} with {self.max_dim} vectors even for "
                                     f"a step of {tau:.3g} at t={t:.4g}; raise max_dim or rtol")
        self._last = (tau, max(result.dimension, 2))
        if len(dims) < 64:
            dims[tau] = self._last[1]
        return self._finish(u_new, mass, conservative, state.shape, tau, self._next(t, tau) if tau == dt_max else tau)

    def _finish(self, u_new: Any, mass: Any, conservative: bool, shape: tuple, tau: float,
                dt_next: float) -> StepResult:
        """Positivity and mass made exact (changes of the size of the tolerance; see the module docstring)."""
        xp = self.pde.grid.xp
        if self.pde.positive:
            u_new = xp.maximum(u_new, 0.0)  # exp(τL) keeps densities non-negative
        if conservative:
            u_new = restore_mass(u_new, mass, xp)  # exp(τL) keeps Σu exactly
        return StepResult(u_new.reshape(shape), tau, dt_next)

    def _next(self, t: float, tau: float) -> float:
        """The next proposal: the fixed ``dt``, or (adaptive) the rest of the run (``evolve`` stops it at saves)."""
        if not self.adaptive:
            return self.dt
        rest = self._t_end - t - tau
        return max(2 * tau, rest) if math.isfinite(rest) else 2 * tau
