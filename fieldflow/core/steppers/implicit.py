"""Implicit steppers: backward Euler and TR-BDF2, with sparse direct, iterative and Newton–Krylov solves.

Linear equations (``pde.linear_operator`` not ``None``) use sparse LU factorisations (or preconditioned
GMRES where LU fill-in is too large).  Nonlinear ones use Newton's method with ``pde.jacobian`` (sparse
direct) or, without it, Jacobian-free Newton–GMRES with ``pde.jvp``, preconditioned by
``pde.preconditioner`` when the equation provides one.  GMRES is :func:`fieldflow.core.linalg.krylov.gmres`,
written against the array namespace, so NumPy and CuPy run the same iteration.  Newton stops when the residual
``‖u − c f(u) − b‖₂ ≤ newton_tol·‖b‖₂`` or the update ``‖δu‖₂ ≤ newton_tol·‖u‖₂``: in very stiff rows the
residual cannot fall below the rounding error of the large terms that cancel in ``c f(u)``, while the update,
divided by those same large terms, still measures the error.

Step rejection (adaptive steps).  A step is rejected and retried with half the step when

* Newton's method fails: it has not converged in ``max_newton`` iterations, or an iterate's residual is not
  finite, or **an iterate's residual is larger than the previous one's** — a full Newton step that increases
  the residual is outside the region where Newton converges, and continuing would only factorise the
  preconditioner at ever worse iterates (a smaller step starts closer to the solution);
* the equation declares the capability ``monotone_value`` (:mod:`fieldflow.core.problem`: a diagnostic its
  scheme dissipates exactly, e.g. a relative entropy) and the trial step raises it by more than
  :data:`MONOTONE_TOL` relative: the exact flow cannot, so the trial state is an unconverged or inaccurate
  step, not physics (option ``check_monotone``, on by default).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..linalg import approximate_inverse, as_operator, gmres, preconditioning, resolve_method, sparse_modules
from ..problem import PDE
from .base import Stepper, StepResult

__all__ = ["BackwardEuler", "TRBDF2", "MONOTONE_TOL"]

#: relative increase of the ``monotone`` diagnostic over a trial step that rejects it (``max(1, |value|)``
#: relative; 100× stricter than :func:`fieldflow.evolve`'s default ``monotone_tol``, far above round-off)
MONOTONE_TOL = 1e-12


class _MonotoneGuard:
    """Rejects trial steps that raise the equation's ``monotone`` diagnostic (capability ``monotone_value``).

    Inert (no evaluation, no device→host read) unless the equation declares the capability and the check is on.
    """

    def __init__(self, pde: PDE, enabled: bool):
        self.pde = pde if enabled and "monotone_value" in pde.supports else None

    def start(self, state: Any) -> float | None:
        """The diagnostic at the start of a step (``None``: not checked)."""
        return None if self.pde is None else float(self.pde.monotone_value(state))

    def raised(self, before: float | None, state: Any) -> bool:
        """Whether ``state`` raises the diagnostic above ``before`` by more than :data:`MONOTONE_TOL` (or is NaN)."""
        if before is None:
            return False
        after = float(self.pde.monotone_value(state))
        return not after <= before + MONOTONE_TOL * max(1.0, abs(before))


class _IterativeFactor:
    """``A x = b`` by GMRES (:func:`~fieldflow.core.linalg.krylov.gmres`) with an approximate inverse of ``A``.

    Used where a sparse LU fills in too much (3D) and on CuPy beyond the direct limit; the
    preconditioner is a host ILU on NumPy and the device ``"dct"`` one on CuPy unless chosen
    (:mod:`fieldflow.core.linalg.preconditioners`).
    """

    def __init__(self, A: Any, grid: Any, tol: float, preconditioner: str = "auto"):
        method = resolve_method(preconditioner, grid.xp, host_default="ilu", device_default="dct")
        self.A, self.tol = A, tol
        self.M = approximate_inverse(A, grid, method)

    def solve(self, b: Any, tol: float | None = None) -> Any:
        result = gmres(self.A, b, M=self.M, rtol=tol or self.tol, restart=50, max_restarts=20)
        if not result.converged:
            raise FloatingPointError(f"GMRES did not converge in {result.iterations} steps (relative residual "
                                     f"{result.residual:.2e}); reduce dt or use linear_solver='direct'")
        return result.x


class _ImplicitSolver:
    """Solves ``u − c f(u, t) = b`` for the implicit stages (linear: cached factorisation; nonlinear: Newton).

    ``linear_solver``: ``"direct"`` (sparse LU, exact to round-off), ``"iterative"`` (preconditioned GMRES
    to relative residual ``iterative_tol``) or ``"auto"`` (direct up to ``direct_limit`` unknowns in 1D/2D and
    in 3D, where LU fill-in grows like ``n^{4/3}``, up to 5000 unknowns).  ``preconditioner`` chooses the
    approximate inverses (:mod:`fieldflow.core.linalg.preconditioners`): on the iterative path
    (``"auto"``: ILU on NumPy, the device ``"dct"`` on CuPy) and in the equation's Newton–GMRES
    preconditioner (``"auto"``: LU on NumPy, the device ``"jacobi"`` on CuPy).
    On CuPy the direct path factorises on the host once per step size (CuPy's ``splu``) and solves on the
    device; the iterative path never leaves the device, and ``"auto"`` takes it for time-dependent
    operators (a factorisation per stage time would be a host round trip per stage).
    """

    def __init__(self, pde: PDE, newton_tol: float = 1e-10, max_newton: int = 30, gmres_tol: float = 1e-8,
                 linear_solver: str = "auto", iterative_tol: float = 1e-14, direct_limit: int = 2_000_000,
                 preconditioner: str = "auto"):
        if linear_solver not in ("auto", "direct", "iterative"):
            raise ValueError(f"linear_solver must be 'auto', 'direct' or 'iterative', got {linear_solver!r}")
        resolve_method(preconditioner, pde.grid.xp)  # checks the name
        self.pde = pde
        self.xp = pde.grid.xp
        self.sp, self.spla = sparse_modules(self.xp)
        self.newton_tol, self.max_newton, self.gmres_tol = newton_tol, max_newton, gmres_tol
        self._lu: dict[tuple, Any] = {}
        self.linear = pde.linear_operator(0.0) is not None
        if linear_solver == "auto":
            limit = 5000 if pde.grid.dim == 3 else direct_limit
            # on CuPy a direct factorisation is a host trip, worth it only when reused: not for L(t)
            host_trip = self.xp.__name__ != "numpy" and pde.time_dependent
            linear_solver = "direct" if pde.grid.size <= limit and not host_trip else "iterative"
        self.linear_solver, self.iterative_tol, self.preconditioner = linear_solver, iterative_tol, preconditioner

    def _factor(self, c: float, t: float) -> Any:
        key = (c, t if self.pde.time_dependent else None)
        lu = self._lu.get(key)
        if lu is None:
            L = self.pde.linear_operator(t)
            n = L.shape[0]
            A = (self.sp.identity(n, format="csr") - c * L).tocsr()
            if self.linear_solver == "iterative":
                lu = _IterativeFactor(A, self.pde.grid, self.iterative_tol, self.preconditioner)
            elif self.xp.__name__ == "numpy":
                lu = self.spla.splu(A.tocsc(), permc_spec="MMD_AT_PLUS_A")  # best ordering for structurally symmetric stencils
            else:
                # CuPy: factorised on the host once per step size (same ordering), solved on the device
                lu = self.spla.splu(A, permc_spec="MMD_AT_PLUS_A")
            if len(self._lu) >= 8:
                self._lu.pop(next(iter(self._lu)))
            self._lu[key] = lu
        return lu

    def solve(self, b: Any, c: float, t: float, guess: Any, rough: bool = False) -> Any:
        """``u`` with ``u − c f(u, t) = b``; ``rough=True`` allows a 1e-6 relative residual (error estimates)."""
        shape = b.shape
        if self.linear:
            factor = self._factor(c, t)
            if rough and isinstance(factor, _IterativeFactor):
                return factor.solve(b.ravel(), tol=1e-6).reshape(shape)
            return factor.solve(b.ravel()).reshape(shape)
        return self._newton(b, c, t, guess)

    def filter(self, v: Any, u: Any, c: float, t: float) -> Any:
        """``M v`` with the equation's preconditioner ``M ≈ (I − c J(u))^{-1}`` (identity without one).

        Used to filter TR-BDF2's error estimate on nonlinear problems, as the exact ``(I − cL)^{-1}`` is
        for linear ones, so stiff components that the L-stable method damps do not shrink the step.
        """
        M = self._preconditioner(u, c, t) if self.pde.jacobian(u, t) is None else None
        if M is None:
            return v
        return as_operator(M)(v.ravel()).reshape(v.shape)

    def _preconditioner(self, u: Any, c: float, t: float) -> Any:
        """``pde.preconditioner(u, c, t)`` built with this solver's ``preconditioner`` method."""
        with preconditioning(self.preconditioner):
            return self.pde.preconditioner(u, c, t)

    def _residual_norm(self, residual: Any, t: float, c: float) -> float:
        """``‖residual‖₂``; ``FloatingPointError`` (a rejected step) when it is not a finite float.

        GMRES squares the norms of its inputs: an iterate whose residual norm overflows is rejected
        before GMRES sees it (non-finite operator or preconditioner images are rejected by GMRES).
        """
        with np.errstate(over="ignore", invalid="ignore"):
            norm = float(self.xp.linalg.norm(residual))
        if not math.isfinite(norm):
            raise FloatingPointError(f"the Newton residual left the floating-point range at t={t:.4g} (c={c:.3e}); "
                                     "reduce dt or rtol")
        return norm

    def _update_norm(self, v: Any) -> float:
        """``‖v‖₂`` as a float (``inf`` when not finite: never counts as converged)."""
        with np.errstate(over="ignore", invalid="ignore"):
            norm = float(self.xp.linalg.norm(v))
        return norm if math.isfinite(norm) else math.inf

    def _newton(self, b, c, t, guess):
        pde = self.pde
        u = guess.copy()
        shape = u.shape
        scale = self._residual_norm(b, t, c) + 1e-300
        previous = math.inf
        for _ in range(self.max_newton):
            residual = u - c * pde.rhs(u, t) - b
            norm = self._residual_norm(residual, t, c)
            if norm <= self.newton_tol * scale:
                return u
            if norm > previous:  # diverging: reject before anything is factorised at this iterate
                raise FloatingPointError(f"Newton's residual grew from {previous:.3e} to {norm:.3e} at t={t:.4g} "
                                         f"(c={c:.3e}); reduce dt")
            previous = norm
            J = pde.jacobian(u, t)
            if J is not None:
                A = (self.sp.identity(u.size, format="csr") - c * J).tocsr()
                du = self.spla.spsolve(A, -residual.ravel()).reshape(shape)
            else:
                def newton_matrix(v: Any) -> Any:
                    return (v.reshape(shape) - c * pde.jvp(u, v.reshape(shape), t)).ravel()

                result = gmres(newton_matrix, -residual.ravel(), M=self._preconditioner(u, c, t), rtol=self.gmres_tol,
                               restart=50, max_restarts=20)
                du = result.x.reshape(shape)  # an unconverged step is still a descent step; Newton decides
            u = u + du
            if self._update_norm(du) <= self.newton_tol * self._update_norm(u):
                return u  # converged in the update: stiff rows hold the residual at its rounding floor
        raise FloatingPointError(
            f"Newton's method did not converge in {self.max_newton} iterations at t={t:.4g} (c={c:.3e}); "
            "reduce dt or rtol"
        )


class BackwardEuler(Stepper):
    """Backward Euler: ``u_{n+1} = u_n + dt f(u_{n+1})``.

    Fixed steps (``dt`` with ``adaptive=False``), or (``adaptive=True``) steps of the first proposal ``dt₀``
    (``dt``, or ``t_end/100``) that are halved when rejected (see the module docstring: Newton failure, a
    raised ``monotone`` diagnostic) and doubled again after each accepted step, up to ``dt₀``.
    """

    name = "euler"
    order = 1
    forwards_options_to = (_ImplicitSolver,)

    def __init__(self, pde: PDE, dt: float | None = None, adaptive: bool = False, check_monotone: bool = True,
                 **options: Any):
        super().__init__(pde, dt, adaptive)
        self.solver = _ImplicitSolver(pde, **options)
        self.monotone = _MonotoneGuard(pde, check_monotone)
        self._dt0: float | None = None

    def initial_dt(self, state, t, t_end):
        self._dt0 = super().initial_dt(state, t, t_end)
        return self._dt0

    def checkpoint_state(self) -> dict[str, Any]:
        return {"dt0": self._dt0}

    def restore_state(self, saved: dict[str, Any]) -> None:
        self._dt0 = saved["dt0"]

    def step(self, state, t, dt_max):
        if not self.adaptive:
            return StepResult(self.solver.solve(state, dt_max, t + dt_max, state), dt_max, self.dt or dt_max)
        dt, before = dt_max, self.monotone.start(state)
        for _ in range(60):
            try:
                new = self.solver.solve(state, dt, t + dt, state)
            except FloatingPointError:
                new = None
            if new is not None and not self.monotone.raised(before, new):
                return StepResult(new, dt, max(dt, min(2 * dt, self._dt0 or dt_max)))
            dt /= 2
        raise FloatingPointError(f"backward Euler step size underflow at t={t:.4g}; the problem may be ill-posed")


class TRBDF2(Stepper):
    """TR-BDF2 with Hosea–Shampine error control (``rtol``, ``atol`` relative to ``max|u₀|``).

    The local error ``e`` is accepted when ``sqrt(mean((e/w)²)) ≤ 1`` with the weights
    ``w = atol·max|u₀| + rtol·max(|u_n|, |u_{n+1}|)``; ``error_weights(u_n, u_{n+1}) -> w`` (an array of
    the state's shape, or a scalar, in the state's units) replaces that rule, for states whose error
    is naturally measured otherwise (e.g. :class:`~fieldflow.core.steppers.log_density.LogTRBDF2`, which
    steps ``log ρ`` and measures the error in ``ρ``).  It also weights the first-step heuristic
    (``u_n = u_{n+1} = u₀``).

    For densities (``pde.positive``) a step whose minimum falls below ``−positivity_tol·max|u|`` is
    rejected and retried with half the step, so adaptive runs stay non-negative to that tolerance; so is a
    step whose Newton solve fails and, for equations with the capability ``monotone_value``
    (``check_monotone``), a step that raises the ``monotone`` diagnostic (see the module docstring).

    With ``adaptive=False`` and ``dt`` given, every step is exactly ``dt`` (for order studies).
    """

    name = "trbdf2"
    order = 2
    gamma = 2 - math.sqrt(2)
    forwards_options_to = (_ImplicitSolver,)

    def __init__(self, pde: PDE, dt: float | None = None, adaptive: bool = True, rtol: float = 1e-5,
                 atol: float = 1e-8, positivity_tol: float = 1e-12,
                 error_weights: Callable[[Any, Any], Any] | None = None, check_monotone: bool = True,
                 **options: Any):
        super().__init__(pde, dt, adaptive)
        self.positivity_tol = positivity_tol
        self.monotone = _MonotoneGuard(pde, check_monotone)
        self.error_weights = error_weights
        if not adaptive and dt is None:
            raise ValueError("TRBDF2 with adaptive=False needs a fixed dt")
        self.rtol, self.atol = rtol, atol
        self.solver = _ImplicitSolver(pde, **options)
        g = self.gamma
        self.d = g / 2
        self.w = (1 - g) / (2 - g)
        self.err_const = (-3 * g * g + 4 * g - 2) / (6 * (2 - g))
        self._dt0: float | None = None
        self._scale: float | None = None

    def initial_dt(self, state, t, t_end):
        xp = self.pde.grid.xp
        self._scale = float(xp.max(xp.abs(state))) or 1.0
        if self.dt is not None:
            self._dt0 = self.dt
            return self.dt
        # first step from the solution's own time scale (Hairer–Nørsett–Wanner's h₀ = 0.01 ‖u‖/‖f(u)‖ in
        # the error weights), snapped to the ladder (t_end − t)·2^{-k} so later steps land on it
        weight = self._weights(state, state)
        d0 = float(xp.sqrt(xp.mean((state / weight) ** 2)))
        d1 = float(xp.sqrt(xp.mean((self.pde.rhs(state, t) / weight) ** 2)))
        span = t_end - t
        h0 = 0.01 * d0 / d1 if d1 > 1e-5 * d0 and d1 > 0 else span
        k = min(max(math.ceil(math.log2(span / min(h0, span))), 0), 30)
        self._dt0 = span * 2.0**-k
        return self._dt0

    def checkpoint_state(self) -> dict[str, Any]:
        """The step-size ladder ``dt₀`` and the error scale ``max|u₀|`` fixed by :meth:`initial_dt`."""
        return {"dt0": self._dt0, "scale": self._scale}

    def restore_state(self, saved: dict[str, Any]) -> None:
        self._dt0, self._scale = saved["dt0"], saved["scale"]

    def _weights(self, u: Any, u_new: Any) -> Any:
        """The error weights ``w`` (see the class docstring)."""
        if self.error_weights is not None:
            return self.error_weights(u, u_new)
        xp = self.pde.grid.xp
        return self.atol * self._scale + self.rtol * xp.maximum(xp.abs(u), xp.abs(u_new))

    def _attempt(self, u, t, dt):
        g, f, solve = self.gamma, self.pde.rhs, self.solver.solve
        f0 = f(u, t)
        c = self.d * dt
        u_star = solve(u + c * f0, c, t + g * dt, u)
        a = 1 / (g * (2 - g))
        b = (1 - g) ** 2 / (g * (2 - g))
        u_new = solve(a * u_star - b * u, c, t + dt, u_star)
        if not self.adaptive:
            return u_new, 0.0
        # Hosea–Shampine estimate of the local error, filtered by (I - c L)^{-1} to stay bounded when stiff
        f_star = (u_star - u) / c - f0  # = f(u_star) without another evaluation
        f_new = (u_new - a * u_star + b * u) / c
        est = self.err_const * dt * (f0 / g - f_star / (g * (1 - g)) + f_new / (1 - g))
        if self.solver.linear:
            est = solve(est, c, t + dt, est, rough=True)
        else:
            est = self.solver.filter(est, u_new, c, t + dt)
        xp = self.pde.grid.xp
        err = float(xp.sqrt(xp.mean((est / self._weights(u, u_new)) ** 2)))
        return u_new, err

    def step(self, state, t, dt_max):
        if not self.adaptive:
            u_new, _ = self._attempt(state, t, dt_max)
            return StepResult(u_new, dt_max, self.dt)
        dt = dt_max
        xp = self.pde.grid.xp
        before = self.monotone.start(state)
        for _ in range(60):
            try:
                u_new, err = self._attempt(state, t, dt)
            except FloatingPointError:  # Newton failed to converge: reject the step and halve it
                u_new, err = None, math.inf
            # TR-BDF2's stability function changes sign, so large steps can undershoot below zero:
            # densities reject such steps like any other error
            if u_new is not None and self.pde.positive and \
                    float(xp.min(u_new)) < -self.positivity_tol * float(xp.max(xp.abs(u_new))):
                err = max(err, 2.0)
            if err <= 1.0 and self.monotone.raised(before, u_new):  # the scheme dissipates it: not a valid step
                err = 2.0
            if err <= 1.0:
                # next proposal (order 2: local error ~ dt^3): the largest power-of-2 growth, at most 8,
                # that keeps the predicted error below 0.5; staying on the ladder reuses factorisations
                k = round(math.log2(dt / self._dt0)) if dt > 0 else 0
                base = self._dt0 * 2.0**k
                growth = 8.0 if err <= 0 else 2.0 ** min(3, max(0, math.floor(math.log2((0.5 / err) ** (1 / 3)))))
                return StepResult(u_new, dt, max(base * growth, dt))
            dt = self._dt0 * 2.0 ** (math.floor(math.log2(dt / self._dt0) + 1e-9) - 1)
        raise FloatingPointError(f"TR-BDF2 step size underflow at t={t:.4g}; the problem may be ill-posed")
