"""Positivity-preserving implicit time stepping for density equations: TR-BDF2 on ``s = log ρ``.

Second-order implicit methods cannot keep positivity for every step size (Bolley–Crouzeix): on a
stiff draining cell, ``ρ̇ = λρ`` with ``cλ < −1``, the trapezoidal stage of TR-BDF2 asks for
``ρ* = ρ(1 + cλ)/(1 − cλ) < 0``.  Densities whose tails are stiff (mean-field SVGD with the
Duncan kernel: transport speeds ``~ e^{(1−α)|x|²/2}`` at the box edge) hit this on every run.

Written for ``s = log ρ``, the same equation reads ``ṡ = f(e^s)/e^s`` and a draining cell is
``ṡ = λ``: any step keeps ``ρ = e^s > 0``.  :class:`LogTRBDF2` runs the shared
:class:`~fieldflow.core.steppers.TRBDF2` (adaptive, L-stable, Jacobian-free Newton–GMRES) on the
adapter :class:`LogDensity`, whose Jacobian-vector product and preconditioner are those of the
density equation conjugated by ``D = diag(ρ)``:

.. math:: J_s = D^{-1} J D - {\\rm diag}(f/\\rho), \\qquad
          I - cJ_s = D^{-1}\\big(I - cJ + c\\,{\\rm diag}(f/\\rho)\\big) D .

After each step the mass, which the conservative semi-discrete scheme keeps exactly but the
change of variables does not, is restored by the scaling ``ρ ← ρ · m₀/m`` (an ``O(local error)``
correction).  The local error is measured in ``ρ``: :meth:`LogTRBDF2.error_weights` hands TR-BDF2
the per-cell tolerances ``(rtol + atol)·max ρ/ρ`` on ``δs``, so far tails with negligible mass never
limit the step size.

Equations that declare the capability ``log_density`` (:class:`fieldflow.SVGDFlow`) evaluate ``ṡ``, its
Jacobian-vector product and its stencil Jacobian themselves, without forming ``ρ = e^s`` or dividing by it: ``s``
may then fall far below the float range of ``ρ`` (a wall cell drained to ``e^{−10⁴}``, whose ``ρ`` underflows to 0 in
the returned density but whose ``s`` the stepper keeps for the next step) and refill later.  Their stages are solved
by ``_DensityNewton`` when the shared residual-based Newton fails (``newton="auto"``): tail cells whose rates are
slaved to the bulk with gains up to ``e^{V−V0/2}`` have residual rows of pure rounding noise, so this Newton
measures convergence by the density each update moves and leaves empty cells (below ``e^{−700}`` of ``max ρ``)
out of the linear solves.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

from ..linalg import approximate_inverse, as_operator, gmres, sparse_modules
from ..problem import PDE
from .base import Stepper, StepResult
from .implicit import TRBDF2, _ImplicitSolver

__all__ = ["LogDensity", "LogTRBDF2"]


class LogDensity(PDE):
    """The equation ``∂t ρ = f(ρ)`` of a positive-density PDE written for ``s = log ρ``."""

    positive = False
    conserved = ()
    monotone = None

    def __init__(self, pde: PDE):
        self.pde = pde
        self.grid = pde.grid
        self.time_dependent = pde.time_dependent
        self.monotone = pde.monotone if "monotone_value" in pde.supports else None
        #: whether the equation evaluates ``ṡ`` itself (capability ``log_density``): then no ``ρ = e^s`` is divided by
        #: and ``s`` may go below the floating-point range of ``ρ`` (a cell drained to ``e^{−1000}``)
        self.log_form = "log_density" in pde.supports
        #: the mass a step restores (:meth:`LogTRBDF2.step` sets it to the mass of the state it starts from)
        self.mass: Any = None
        self._cache: tuple[Any, float, Any, Any, Any] | None = None

    @property
    def supports(self) -> frozenset[str]:
        """The class's capabilities, with ``monotone_value`` only when the density equation has it."""
        own = frozenset(self.capabilities) - {"monotone_value"}
        return own | ({"monotone_value"} if self.monotone is not None else frozenset())

    def monotone_value(self, s: Any) -> float:
        """The density equation's ``monotone`` diagnostic at ``ρ = e^s`` scaled to :attr:`mass` (the state a
        :class:`LogTRBDF2` step would return)."""
        xp = self.grid.xp
        with np.errstate(over="ignore", under="ignore"):
            rho = xp.exp(xp.clip(s, -745.0, 709.0))
        if self.mass is not None:
            rho = rho * (self.mass / xp.sum(rho))
        return self.pde.monotone_value(rho)

    def density(self, s: Any) -> Any:
        """``ρ = e^s``; ``FloatingPointError`` (a rejected step for TR-BDF2) if a Newton iterate left the float range."""
        xp = self.grid.xp
        if not bool(xp.all(xp.abs(s) < 700.0)):
            raise FloatingPointError("a Newton iterate of log ρ left the floating-point range")
        return xp.exp(s)

    def _at(self, s: Any, t: float) -> tuple[Any, Any, Any]:
        """``ρ = e^s``, ``f(ρ)`` and the rate ``f/ρ``, cached for the repeated calls of one Newton iteration (same ``s``).

        With the capability ``log_density`` the rate is the equation's own ``log_rate(s)`` (``ρ`` may underflow to 0
        and ``f`` is not formed: ``None``).  ``FloatingPointError`` (a rejected step for TR-BDF2) when ``s ≥ 700``
        somewhere (``|s| ≥ 700`` without ``log_density``) or the rate is not finite — both checked with one
        device→host read.
        """
        if self._cache is not None and self._cache[0] is s and self._cache[1] == t:
            return self._cache[2:]
        xp = self.grid.xp
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            if self.log_form:
                inside = xp.all(s < 700.0)
                rho, f = xp.exp(xp.minimum(s, 700.0)), None
                rate = self.pde.log_rate(s, t)
            else:
                inside = xp.all(xp.abs(s) < 700.0)
                rho = xp.exp(xp.clip(s, -700.0, 700.0))
                f = self.pde.rhs(rho, t)
                rate = f / rho
            if not bool(inside & xp.all(xp.isfinite(rate))):
                raise FloatingPointError("a Newton iterate of log ρ left the floating-point range, or the equation "
                                         "overflowed there")
        self._cache = (s, t, rho, f, rate)
        return rho, f, rate

    def rhs(self, s: Any, t: float) -> Any:
        return self._at(s, t)[2]

    def live(self, s: Any) -> Any:
        """Cells whose density is within ``e^{−EMPTY_SPAN}`` of the largest (the others are empty to double precision:
        their fluxes ``∝ r_i`` and limited gradients vanish, so the rest of the grid sees them as walls)."""
        xp = self.grid.xp
        return s > xp.max(s) - EMPTY_SPAN

    def jvp(self, s: Any, v: Any, t: float) -> Any:
        """``J_s v``; a non-finite product is left for GMRES to reject (no device→host check per product)."""
        rho, f, _ = self._at(s, t)
        with np.errstate(over="ignore", invalid="ignore"):
            if self.log_form:
                return self.pde.log_jvp(s, v, t)
            return (self.pde.jvp(rho, rho * v, t) - f * v) / rho

    def preconditioner(self, s: Any, c: float, t: float) -> Any:
        """``(I − cJ_s)^{-1} ≈ D^{-1}(I − cT + c diag(f/ρ))^{-1} D`` with ``T`` the density equation's sparse local Jacobian.

        The inverse is :func:`~fieldflow.core.linalg.preconditioners.approximate_inverse` (sparse LU on
        NumPy, a device preconditioner on CuPy); ``D^{-1}`` spans up to ``e^1400``, so an image may
        overflow to ``inf``: GMRES then rejects the iterate (a rejected step for TR-BDF2).  With the capability
        ``log_density`` it is the inverse of ``I − c J_s`` itself, ``J_s`` the equation's ``log_local_jacobian``,
        with identity rows and columns for the empty cells (:meth:`live`).
        """
        xp = self.grid.xp
        sp, _ = sparse_modules(xp)
        if self.log_form:  # the s-Jacobian itself: no conjugation by diag(ρ)
            self._at(s, t)
            with np.errstate(over="ignore", invalid="ignore"):
                Js = self.pde.log_local_jacobian(s)
                live = self.live(s).ravel().astype(float)
                keep = sp.diags(live, format="csr")  # empty cells: identity rows and columns (decoupled, see live)
                A = sp.identity(Js.shape[0], format="csr") - c * Js
                A = (sp.diags(1.0 - live, format="csr") + keep @ A @ keep).tocsr()
            if xp.__name__ == "numpy" and not np.all(np.isfinite(A.data)):
                raise FloatingPointError("the local Jacobian overflowed at a Newton iterate of log ρ")
            return approximate_inverse(A, self.grid)
        if "local_jacobian" not in self.pde.supports:
            return None
        rho, _, rate = self._at(s, t)
        with np.errstate(over="ignore", invalid="ignore"):
            T = self.pde.local_jacobian(rho)
            A = (sp.identity(T.shape[0], format="csr") - c * T + c * sp.diags(rate.ravel(), format="csr")).tocsr()
        if xp.__name__ == "numpy" and not np.all(np.isfinite(A.data)):
            raise FloatingPointError("the local Jacobian overflowed at a Newton iterate of log ρ")
        inverse = approximate_inverse(A, self.grid)
        r = rho.ravel()

        def solve(v: Any) -> Any:
            with np.errstate(over="ignore", invalid="ignore"):
                return inverse.matvec(r * v) / r

        return solve


#: the smallest positive double (``log`` of it: −744.4)
_SMALLEST = float(np.nextafter(0.0, 1.0))

#: cells more than this many e-folds below the largest density are empty (``e^{−700}`` of ``max ρ``)
EMPTY_SPAN = 700.0

#: the largest rise of ``log ρ`` in one Newton iterate (larger proposals are damped to it)
MAX_RISE = 10.0

#: the density-weighted Newton stops when its update moves no cell by more than this fraction of the step's error
#: tolerance ``(rtol + atol)·max ρ`` (or ``newton_tol·max ρ``, whichever is larger)
NEWTON_FRACTION = 1e-3

#: iterates whose density update grows before Newton counts as diverging (damped tail cells and rounding can
#: make single updates grow on the way to convergence)
MAX_STRIKES = 2

#: density weights ``ρ_i/max ρ`` below this count as this in the Newton–GMRES norm.  A floor far below the tolerance
#: (1e-30) lets Krylov noise into the updates of the tail cells, which then drift upward by MAX_RISE per iterate;
#: measured on the banana b = 0.3, [−4, 4]² (60 s runs, density_tol = newton_tol), the time reached: 0.0765 (floor
#: 1e-30), 0.24 (1e-8), 0.99 (1e-4), 0.34 (1e-2), 0.13 (1)
WEIGHT_FLOOR = 1e-4


class _DensityNewton(_ImplicitSolver):
    """Newton's method for the stages ``s − c ṡ(s) = b`` of :class:`LogTRBDF2`, measured by the density it moves.

    A cell whose rate is slaved to the bulk with a huge gain (a tail cell of the Duncan kernel, ``∂ṡ_i/∂s_j`` up
    to ``e^{V−V0/2−dist/ℓ}``) has a residual row that is rounding noise of that size at every iterate: neither the
    residual nor an unweighted Krylov norm can measure convergence there.  Each iterate here

    * solves for the update ``δs`` of the *live* cells (density above ``e^{−EMPTY_SPAN}·max ρ``) by GMRES on the
      system left-preconditioned by the equation's ``(I − cJ)^{-1}`` and weighted by ``max(ρ_i/max ρ,
      WEIGHT_FLOOR)``, so that GMRES's residual is (up to the floor) the density it leaves out;
    * gives each *empty* cell its stage value ``b + c ṡ`` from the others (its faces carry no limited gradient and
      no mobility to round-off, so nothing else depends on it), at most up to the edge of the live range;
    * damps a rise of ``s`` to ``MAX_RISE`` e-folds (a tail cell filling by hundreds of e-folds is far outside its
      linearisation);
    * has converged when no cell's density moves by more than ``density_tol·max ρ``
      (``max_i |ρ_i (e^{δs_i} − 1)|``), and diverges (a rejected step) when that change grows on more than
      ``MAX_STRIKES`` iterates.

    ``newton``: ``"density"`` (this iteration only), ``"residual"`` (the shared solver's residual-based Newton only)
    or ``"auto"`` (the default: the residual-based Newton first, and this one from the same guess when it fails —
    steps the residual criterion can settle are unchanged —, its answer then polished by the residual-based Newton
    where that converges from it: the density criterion leaves the log of nearly empty cells loose, and a cell
    left far too low refills only linearly in ``log ρ``).
    """

    def __init__(self, pde: PDE, newton: str = "auto", density_tol: float | None = None, **options: Any):
        if newton not in ("auto", "density", "residual"):
            raise ValueError(f"newton must be 'auto', 'density' or 'residual', got {newton!r}")
        super().__init__(pde, **options)
        self.newton = newton
        #: the density change (relative to ``max ρ``) below which the density-weighted Newton has converged
        self.density_tol = self.newton_tol if density_tol is None else max(density_tol, self.newton_tol)

    def _newton(self, b: Any, c: float, t: float, guess: Any) -> Any:
        if self.newton != "density":
            try:
                return super()._newton(b, c, t, guess)
            except FloatingPointError:
                if self.newton == "residual":
                    raise
        u = self._density_newton(b, c, t, guess)
        if self.newton == "auto":
            # the density criterion leaves the log of nearly empty cells loose; where the residual Newton can
            # settle them from here, take its answer
            try:
                return super()._newton(b, c, t, u)
            except FloatingPointError:
                pass
        return u

    def _density_newton(self, b: Any, c: float, t: float, guess: Any) -> Any:
        pde, xp = self.pde, self.xp
        u = guess.copy()
        shape = u.shape
        previous, strikes = math.inf, 0
        for _ in range(self.max_newton):
            rate = pde.rhs(u, t)
            residual = (u - c * rate - b).ravel()
            live = pde.live(u).ravel()
            with np.errstate(under="ignore"):
                density = xp.exp(u - xp.max(u)).ravel()  # ρ_i/max ρ
            w = xp.where(live, xp.maximum(density, WEIGHT_FLOOR), 1.0)
            M = as_operator(self._preconditioner(u, c, t)) or (lambda v: v)

            def weighted(y: Any) -> Any:
                x = xp.where(live, y / w, 0.0)
                return xp.where(live, w * M(x - c * pde.jvp(u, x.reshape(shape), t).ravel()), y)

            with np.errstate(over="ignore", invalid="ignore"):
                result = gmres(weighted, xp.where(live, -w * M(residual), 0.0), rtol=self.gmres_tol, restart=50,
                               max_restarts=20)
                # empty cells are decoupled from the rest (their faces carry S = 0 and M = 0 to round-off): each
                # takes its own stage value b + c ṡ given the others
                du = xp.where(live, result.x / w, -residual).reshape(shape)
                top = xp.max(u)
                # damped rises: a live cell by at most MAX_RISE e-folds per iterate (a tail cell filling by hundreds
                # of e-folds is nonlinear far beyond its linearisation), an empty one at most to the edge of the live
                # range (then Newton takes it over)
                du = xp.where(live.reshape(shape), xp.minimum(du, MAX_RISE), xp.minimum(du, top - EMPTY_SPAN + 1.0 - u))
                moved = float(xp.max(xp.where(live, xp.abs(density * xp.expm1(du.ravel())), 0.0)))
            strikes += moved > previous
            if not math.isfinite(moved) or strikes > MAX_STRIKES:
                raise FloatingPointError(f"Newton's density update grew from {previous:.3e} to {moved:.3e} at t={t:.4g} "
                                         f"(c={c:.3e}); reduce dt")
            u = u + du
            if moved <= self.density_tol:
                return u
            previous = moved
        raise FloatingPointError(f"Newton's method did not converge in {self.max_newton} iterations at t={t:.4g} "
                                 f"(c={c:.3e}); reduce dt or rtol")


class LogTRBDF2(Stepper):
    """Adaptive TR-BDF2 (order 2, L-stable) for a positive density, stepping ``s = log ρ``; mass restored per step.

    Parameters are those of :class:`~fieldflow.core.steppers.TRBDF2` (``dt``, ``adaptive``, ``rtol``,
    ``atol``, ``newton_tol``, ...).  ``rtol`` bounds the local error of ``ρ`` relative to ``max ρ``
    (tails are measured by the mass they carry, not by their relative change).

    ``newton`` (equations with the capability ``log_density`` only): ``"auto"`` (default) solves each stage with
    the shared residual-based Newton and, where that fails, with the density-weighted one (``_DensityNewton``:
    converged when no cell's density moves by more than ``10⁻³(rtol + atol)·max ρ``); ``"residual"`` or
    ``"density"`` use one of them only.
    """

    name = "log-trbdf2"
    order = 2
    forwards_options_to = (TRBDF2,)

    def __init__(self, pde: PDE, dt: float | None = None, adaptive: bool = True, rtol: float = 1e-5,
                 atol: float = 1e-8, newton: str = "auto", **options: Any):
        super().__init__(pde, dt, adaptive)
        self.log_pde = LogDensity(pde)
        self.rtol, self.atol = float(rtol), float(atol)
        self.inner = TRBDF2(self.log_pde, dt=dt, adaptive=adaptive, error_weights=self.error_weights, **options)
        if newton not in ("auto", "density", "residual"):
            raise ValueError(f"newton must be 'auto', 'density' or 'residual', got {newton!r}")
        if self.log_pde.log_form:
            own = inspect.signature(TRBDF2.__init__).parameters
            self.inner.solver = _DensityNewton(self.log_pde, newton, NEWTON_FRACTION * (self.rtol + self.atol),
                                               **{k: v for k, v in options.items() if k not in own})
        self._last: tuple[Any, Any] | None = None  # (the density the last step returned, its log)

    @classmethod
    def known_options(cls) -> tuple[str, ...]:
        return tuple(n for n in super().known_options() if n != "error_weights")  # the log-density weights are its own

    def checkpoint_state(self) -> dict[str, Any]:
        return self.inner.checkpoint_state()

    def restore_state(self, saved: dict[str, Any]) -> None:
        self.inner.restore_state(saved)

    def error_weights(self, s: Any, s_new: Any) -> Any:
        """Tolerance on ``δs`` per cell, ``(rtol + atol)·max ρ/ρ`` with ``ρ`` the larger of its values at the
        step's two ends (capped at 1e300).

        ``δρ = ρ δs``, so this bounds the local error of ``ρ`` by ``(rtol + atol)·max ρ`` in every cell.  The
        larger end matters: a nearly empty cell that fills up during the step (``ṡ = inflow/ρ`` huge) must be
        measured by the mass it ends with, or a step that fills it with a wrong amount passes unseen.
        """
        xp = self.pde.grid.xp
        top = xp.maximum(s, s_new)
        ratio = xp.exp(xp.minimum(xp.max(top) - top, 700.0))  # max ρ/ρ, kept finite
        return xp.minimum((self.rtol + self.atol) * ratio, 1e300)

    def _log(self, rho: Any) -> Any:
        """``log ρ``; the log the previous step returned when ``rho`` is its density (cells below ``e^{−745}``
        underflow to 0 in ``ρ`` but keep their ``s``).  Otherwise (a new or resumed run) zeros are accepted for
        equations with the capability ``log_density`` only, as ``s = log(5e-324)`` (the bottom of the float range:
        an underflowed cell of a checkpointed run restarts there)."""
        if self._last is not None and self._last[0] is rho:
            return self._last[1]
        xp = self.pde.grid.xp
        bad = rho < 0 if self.log_pde.log_form else rho <= 0
        if bool(xp.any(bad)) or not bool(xp.any(rho > 0)):
            raise ValueError("LogTRBDF2 needs a strictly positive density")
        with np.errstate(divide="ignore"):
            return xp.log(xp.maximum(rho, _SMALLEST)) if self.log_pde.log_form else xp.log(rho)

    def initial_dt(self, state: Any, t: float, t_end: float) -> float:
        return self.inner.initial_dt(self._log(state), t, t_end)

    def step(self, state: Any, t: float, dt_max: float) -> StepResult:
        xp = self.pde.grid.xp
        s = self._log(state)
        self.log_pde.mass = xp.sum(state)
        result = self.inner.step(s, t, dt_max)
        with np.errstate(under="ignore"):
            new = xp.exp(result.state)
        correction = xp.sum(state) / xp.sum(new)
        new = new * correction
        self._last = (new, result.state + xp.log(correction))
        return StepResult(new, result.dt, result.dt_next)
