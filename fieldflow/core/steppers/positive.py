"""TR-BDF2 on a positive density ``ρ`` with Newton iterates ``ρ = e^s``: conservative *and* positive.

``"log-trbdf2"`` (:mod:`~fieldflow.core.steppers.log_density`) keeps ``ρ > 0`` by stepping the equation
for ``log ρ``; its stages combine ``log ρ``, so the linear invariants of a conservative scheme (mass,
momentum, energy: ``ℓ(rhs(ρ)) = 0`` for a fixed linear functional ``ℓ``) are lost, and mass is restored by
a rescaling.  :class:`PositiveTRBDF2` keeps the TR-BDF2 stages of the density equation itself,

.. math:: ρ^* - c\\,f(ρ^*) = ρ^n + c\\,f(ρ^n), \\qquad
          ρ^{n+1} - c\\,f(ρ^{n+1}) = \\tfrac{1}{γ(2-γ)}ρ^* - \\tfrac{(1-γ)^2}{γ(2-γ)}ρ^n,
          \\qquad c = \\tfrac{γ}{2}Δt,

so ``ℓ(ρ^{n+1}) = ℓ(ρ^n) + ℓ(\\text{Newton residuals})``: every linear invariant of the semi-discrete scheme
is kept to the solve tolerance.  Only the *iteration* that solves each stage equation ``G(ρ) = ρ − c f(ρ)
− b = 0`` is written in ``s = log ρ``:

* Newton's step for ``s`` solves ``D^{-1}(I − cJ)D δs = −D^{-1}G`` (``D = diag ρ``, ``J = ∂f/∂ρ``) by
  GMRES (:func:`~fieldflow.core.linalg.krylov.gmres`), with the equation's preconditioner
  ``M ≈ (I − cJ)^{-1}`` conjugated, ``D^{-1} M D``.  Both the residual and the Krylov vectors are relative
  to ``ρ`` in every cell, so a tail where ``ρ`` is 1e-60 is solved as accurately as the bulk (in ``ρ``
  itself, a GMRES tolerance relative to ``‖G‖₂`` leaves such cells at round-off noise of the bulk, and
  the ``ρ``-update ``ρ + δρ`` turns them negative);
* ``ρ ← ρ e^{δs}`` is positive for any ``δs``; the step is clipped to ``|δs| ≤ max_log_step`` per
  cell (a trust region: in stiff tails the linearisation can overshoot by orders of magnitude);
* the iteration stops when ``‖G‖₂ ≤ newton_tol ‖b‖₂`` (the test of :class:`~fieldflow.core.steppers.TRBDF2`;
  a linear invariant ``ℓ`` then changes by ``|ℓ(G)|`` per stage).  The default ``newton_tol = 1e-13`` keeps
  mass to ~1e-14 per run (the loop's mass check is 1e-10); TR-BDF2's default 1e-10 would drift by
  ~1e-11 per step.  There is no per-cell relative test: where a cell holds 1e-20 of the bulk its
  residual is set by the round-off of the fluxes from its neighbours, and a relative accuracy there is
  unattainable (and irrelevant to the error, which TR-BDF2 measures against ``atol·max|ρ|``).

The stage equations have positive solutions for any right-hand side ``b`` when ``f`` has a log barrier
(``f_i → +∞`` as ``ρ_i → 0``, as in log-form entropic schemes); a stage whose Newton iteration fails
raises ``FloatingPointError``, which TR-BDF2 treats as a rejected step (halved).  The equation must be
defined for ``ρ > 0`` only: it provides an exact ``jvp`` (capability ``"jvp"``; a finite difference
cannot resolve cells 60 orders of magnitude below the bulk) and, for speed, a ``preconditioner`` whose
image is accurate relative to ``ρ`` (e.g. applied as ``D S^{-1} D^{-1}`` with ``S = D^{-1}(I − cT)D``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..linalg import as_operator, gmres, preconditioning, resolve_method
from ..problem import PDE
from .base import StepResult
from .implicit import TRBDF2

__all__ = ["PositiveTRBDF2", "LogNewton"]


class LogNewton:
    """Solves ``ρ − c f(ρ, t) = b`` for ``ρ > 0`` by Newton's method in ``s = log ρ`` (see the module docstring).

    Parameters
    ----------
    pde : PDE
        A positive-density equation with an exact ``jvp``.
    newton_tol : float
        ``‖G‖₂ ≤ newton_tol ‖b‖₂`` (absolute residual, in the units of ``ρ``).
    max_newton : int
        Iterations before the stage is declared failed (``FloatingPointError``: a rejected step).
    gmres_tol : float
        Relative residual of each GMRES solve.
    max_log_step : float
        Largest change of ``log ρ`` per cell and iteration (``ρ`` changes by at most ``e^{±max_log_step}``).
    refresh_after : int
        The preconditioner is built at the first Newton iteration after :meth:`forget` (called by
        :class:`PositiveTRBDF2` at the start of every step) and kept (frozen coefficients) while ``c`` stays the
        same, GMRES converges in at most this many iterations and Newton's residual at least halves per
        iteration; otherwise it is rebuilt at the current iterate.
    preconditioner : str
        Method of :func:`~fieldflow.core.linalg.approximate_inverse` for the equation's preconditioner
        (``"auto"``: LU on NumPy in 1D/2D, ILU in 3D — a 3D stencil's LU fills in like ``n^{4/3}``, measured
        1.5× slower on the Landau 16³ runs — and Jacobi on CuPy).
    """

    linear = False

    def __init__(self, pde: PDE, newton_tol: float = 1e-13, max_newton: int = 60,
                 gmres_tol: float = 1e-8, max_log_step: float = 2.0, refresh_after: int = 5,
                 preconditioner: str = "auto"):
        for name, value in (("newton_tol", newton_tol), ("gmres_tol", gmres_tol),
                            ("max_log_step", max_log_step)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if isinstance(max_newton, bool) or not isinstance(max_newton, int) or max_newton < 1:
            raise ValueError(f"max_newton must be a positive integer, got {max_newton!r}")
        resolve_method(preconditioner, pde.grid.xp)  # checks the name
        if preconditioner == "auto" and pde.grid.xp.__name__ == "numpy" and pde.grid.dim >= 3:
            preconditioner = "ilu"
        self.pde = pde
        self.xp = pde.grid.xp
        self.newton_tol, self.max_newton = newton_tol, max_newton
        self.gmres_tol, self.max_log_step, self.preconditioner = gmres_tol, max_log_step, preconditioner
        if isinstance(refresh_after, bool) or not isinstance(refresh_after, int) or refresh_after < 1:
            raise ValueError(f"refresh_after must be a positive integer, got {refresh_after!r}")
        self.refresh_after = refresh_after
        self._frozen: tuple[float, Any] | None = None
        self.iterations = 0  # Newton iterations over all solves (cost counters)
        self.builds = 0  # preconditioners built
        self.krylov_iterations = 0  # GMRES iterations

    def _inverse(self, rho: Any, c: float, t: float) -> Any:
        """The equation's ``M ≈ (I − cJ(ρ))^{-1}`` built with this solver's preconditioner method (or ``None``)."""
        with preconditioning(self.preconditioner):
            return as_operator(self.pde.preconditioner(rho, c, t))

    def _frozen_inverse(self, rho: Any, c: float, t: float, fresh: bool) -> Any:
        """``M`` frozen at the state it was last built at: rebuilt when ``c`` changed or ``fresh``."""
        if fresh or self._frozen is None or self._frozen[0] != c:
            self._frozen = (c, self._inverse(rho, c, t))
            self.builds += 1
        return self._frozen[1]

    def forget(self) -> None:
        """Drop the frozen preconditioner (the next solve builds one): a step then depends only on its state, time
        and size, so a resumed run repeats the uninterrupted one bit for bit."""
        self._frozen = None

    def filter(self, v: Any, rho: Any, c: float, t: float) -> Any:
        """``M v`` (identity without a preconditioner): TR-BDF2's filter of its error estimate."""
        M = self._frozen_inverse(rho, c, t, fresh=False)
        return v if M is None else M(v.ravel()).reshape(v.shape)

    def solve(self, b: Any, c: float, t: float, guess: Any, rough: bool = False) -> Any:
        """``ρ > 0`` with ``ρ − c f(ρ, t) = b``, starting from the positive ``guess``."""
        xp, pde = self.xp, self.pde
        shape = b.shape
        with np.errstate(divide="ignore", invalid="ignore"):
            s = xp.log(guess)
        bnorm = float(xp.linalg.norm(b)) + 1e-300
        fresh, previous = False, math.inf
        for _ in range(self.max_newton):
            rho = xp.exp(s)
            with np.errstate(over="ignore", invalid="ignore"):
                G = rho - c * pde.rhs(rho, t) - b
                norms = xp.stack([xp.linalg.norm(G), xp.max(xp.abs(s))])
            absolute, size = (float(x) for x in norms)  # one device→host read per iteration
            if not (math.isfinite(absolute) and size < 700.0):
                raise FloatingPointError(f"a Newton iterate left the floating-point range at t={t:.4g} (c={c:.3e}); "
                                         "reduce dt or rtol")
            if absolute <= self.newton_tol * bnorm:
                return rho
            self.iterations += 1
            r = rho.ravel()
            M = self._frozen_inverse(rho, c, t, fresh or absolute > 0.5 * previous)
            previous = absolute

            def newton_matrix(x: Any) -> Any:
                return x - c * pde.jvp(rho, (x * r).reshape(shape), t).ravel() / r

            precondition = None if M is None else (lambda y: M(y * r) / r)
            result = gmres(newton_matrix, -(G / rho).ravel(), M=precondition, rtol=self.gmres_tol, restart=50,
                           max_restarts=20)
            self.krylov_iterations += result.iterations
            fresh = result.iterations > self.refresh_after
            # an unconverged GMRES step is still a descent direction; Newton's test decides
            s = s + xp.clip(result.x.reshape(shape), -self.max_log_step, self.max_log_step)
        raise FloatingPointError(f"Newton's method in log ρ did not converge in {self.max_newton} iterations at "
                                 f"t={t:.4g} (c={c:.3e}); reduce dt or rtol")


class PositiveTRBDF2(TRBDF2):
    """Adaptive TR-BDF2 (order 2, L-stable) on ``ρ`` with Newton iterates ``ρ = e^s`` (module docstring).

    Keeps every linear invariant of the semi-discrete scheme to the Newton tolerance and ``ρ > 0`` at
    every iterate.  Options: ``rtol``, ``atol`` (error control of :class:`~fieldflow.core.steppers.TRBDF2`)
    and those of :class:`LogNewton` (``newton_tol``, ``max_newton``, ``gmres_tol``,
    ``max_log_step``, ``preconditioner``).  Requires an exact ``jvp`` and a strictly positive initial state.
    """

    name = "positive-trbdf2"
    requires = ("jvp",)
    forwards_options_to = (LogNewton,)

    def __init__(self, pde: PDE, dt: float | None = None, adaptive: bool = True, rtol: float = 1e-5,
                 atol: float = 1e-8, **options: Any):
        super().__init__(pde, dt, adaptive, rtol=rtol, atol=atol)
        self.solver = LogNewton(pde, **options)

    def step(self, state: Any, t: float, dt_max: float) -> StepResult:
        """One TR-BDF2 step; both stages and the error filter share a preconditioner built at its start."""
        self.solver.forget()
        return super().step(state, t, dt_max)

    def initial_dt(self, state: Any, t: float, t_end: float) -> float:
        xp = self.pde.grid.xp
        if not bool(xp.all(state > 0)):
            raise ValueError(f"{self.name!r} needs a strictly positive state (its Newton iterates are e^s); "
                             f"{type(self.pde).__name__}'s initial state has zeros or negative values")
        return super().initial_dt(state, t, t_end)
