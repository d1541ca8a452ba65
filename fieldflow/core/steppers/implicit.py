"""Implicit steppers: backward Euler and TR-BDF2, with sparse direct, multigrid, iterative and Newton–Krylov solves.

Linear equations (``pde.linear_operator`` not ``None``) use sparse LU factorisations, conjugate gradients
preconditioned by geometric multigrid on the symmetrised operator (3D, large 2D, and 2D/3D on CuPy), or
preconditioned GMRES.  Nonlinear ones use Newton's method with ``pde.jacobian`` (sparse direct) or,
without it, Jacobian-free Newton–GMRES with ``pde.jvp``, preconditioned by ``pde.preconditioner`` when
the equation provides one.  The Krylov solvers are :mod:`fieldflow.core.linalg.krylov`, written against
the array namespace, so NumPy and CuPy run the same iteration.  Newton stops when the residual
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

from ..linalg import (Multigrid, approximate_inverse, as_operator, cg, conserves_mass, gmres, preconditioning,
                      resolve_method, restore_mass, sparse_modules, symmetrise)
from ..problem import PDE
from .base import Stepper, StepResult

__all__ = ["BackwardEuler", "TRBDF2", "RTOL", "MONOTONE_TOL"]

#: TR-BDF2's default ``rtol`` (see :class:`TRBDF2` for what it bounds)
RTOL = 1e-5


def _check_converged(result: Any, method: str, advice: str) -> Any:
    if not result.converged:
        raise FloatingPointError(f"{method} did not converge in {result.iterations} steps (relative residual "
                                 f"{result.residual:.2e}); {advice}")
    return result.x


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
        self.iterations: list[int] = []

    def solve(self, b: Any, tol: float | None = None) -> Any:
        result = gmres(self.A, b, M=self.M, rtol=tol or self.tol, restart=50, max_restarts=20)
        self.iterations.append(result.iterations)
        return _check_converged(result, "GMRES", "reduce dt or use linear_solver='direct'")


class _NearbyFactor:
    """``(I − cL) x = b`` by GMRES preconditioned with the LU factors of ``I − c'L`` for a nearby ``c'``, or, for
    a small step (``c·max|L_ii| ≤ 0.1``), with ``diag(I − cL)^{-1}``.

    The preconditioned operator ``(I − cL)(I − c'L)^{-1}`` has the eigenvalues ``(1 − cλ)/(1 − c'λ)``,
    ``λ ≤ 0`` the (real) eigenvalues of a detailed-balance ``L``, all between ``1`` and ``c/c'``; for
    ``c/c' ∈ [0.8, 1.25]`` GMRES reaches ``1e-13`` in about a dozen triangular solves, cheaper than a new
    factorisation for a step size used once (the step that lands on a save time).  For a small step
    ``I − cL`` is within 20 % of its diagonal (Gershgorin) and Jacobi-preconditioned GMRES needs about
    ten products with the matrix: the probe step that starts an adaptive run factorises nothing.
    """

    def __init__(self, A: Any, lu: Any, tol: float):
        self.A, self.tol = A, tol
        self.M = lu.solve if lu is not None else (lambda v, d=1.0 / A.diagonal(): d * v)
        self.iterations: list[int] = []
        self._own_lu: Any = None

    def solve(self, b: Any, tol: float | None = None) -> Any:
        if self._own_lu is not None:
            return self._own_lu.solve(b)
        result = gmres(self.A, b, M=self.M, rtol=tol or self.tol, restart=40, max_restarts=5)
        self.iterations.append(result.iterations)
        if result.converged:
            return result.x
        # an operator far from the assumptions above (not symmetrisable, strongly non-normal): factorise after all
        from scipy.sparse.linalg import splu

        self._own_lu = splu(self.A.tocsc(), permc_spec="MMD_AT_PLUS_A")
        return self._own_lu.solve(b)


class _SymmetrisedOperator:
    """The multigrid hierarchy of ``L`` for the systems ``(I − cL) μ = b`` of every step size ``c``.

    When ``L`` satisfies detailed balance with respect to ``π`` (``L_ij π_j = L_ji π_i``, from
    ``pde.reversible_measure``), ``K = Π^{-1/2} L Π^{1/2}`` (``Π = diag π``) is symmetric and
    ``I − cK`` is symmetric positive definite for ``c > 0``: the solve is conjugate gradients on
    ``(I − cK) y = Π^{-1/2} b``, ``μ = Π^{1/2} y``, preconditioned by a multigrid V-cycle
    (:class:`~fieldflow.core.linalg.multigrid.Multigrid`, whose Galerkin hierarchies of ``I`` and ``K`` are
    built once and combined per ``c``).  Without a reversible measure (or one spanning more than
    ``e^{1300}``) it is GMRES on ``I − cL`` with the V-cycle of ``L``'s hierarchy.
    """

    def __init__(self, pde: PDE, L: Any, t: float):
        grid, xp = pde.grid, pde.grid.xp
        self.xp, self.grid = xp, grid
        self.sp, _ = sparse_modules(xp)
        log_pi = pde.reversible_measure(t)
        symmetric = None if log_pi is None else symmetrise(L, log_pi, xp)
        K, self.half = (L, None) if symmetric is None else symmetric
        self.K, self.symmetric = K, self.half is not None
        self.hierarchy = Multigrid(K, grid)


class _MultigridFactor:
    """``(I − cL) x = b`` by multigrid-preconditioned CG (symmetrised) or GMRES (see :class:`_SymmetrisedOperator`)."""

    def __init__(self, operator: _SymmetrisedOperator, L: Any, c: float, tol: float):
        self.op, self.tol = operator, tol
        sp = operator.sp
        self.A = (sp.identity(L.shape[0], format="csr") - c * (operator.K if operator.symmetric else L)).tocsr()
        self.M = operator.hierarchy.cycle(1.0, -c)
        self.iterations: list[int] = []

    def solve(self, b: Any, tol: float | None = None, x0: Any = None) -> Any:
        op = self.op
        if op.symmetric:
            result = cg(self.A, b / op.half, M=self.M, x0=None if x0 is None else x0 / op.half, rtol=tol or self.tol,
                        maxiter=200)
            x = _check_converged(result, "multigrid-preconditioned CG", "reduce dt or use linear_solver='direct'") \
                * op.half
        else:
            result = gmres(self.A, b, M=self.M, x0=x0, rtol=tol or self.tol, restart=30, max_restarts=10)
            x = _check_converged(result, "multigrid-preconditioned GMRES", "reduce dt or use linear_solver='direct'")
        self.iterations.append(result.iterations)
        return x


class _ImplicitSolver:
    """Solves ``u − c f(u, t) = b`` for the implicit stages (linear: cached factorisation; nonlinear: Newton).

    ``linear_solver``:

    ``"direct"``
        sparse LU (exact to round-off), factorised once per step size;
    ``"multigrid"``
        conjugate gradients on the symmetrised system preconditioned by a geometric multigrid V-cycle
        (:class:`_SymmetrisedOperator`), to relative residual ``iterative_tol`` (default ``1e-10``); work
        and memory grow like the number of cells, the hierarchy is built once per operator and reused
        for every step size, and it never leaves the device on CuPy;
    ``"iterative"``
        GMRES preconditioned by ``preconditioner`` (``"auto"``: ILU on NumPy, the device ``"dct"`` on
        CuPy), to relative residual ``iterative_tol`` (default ``1e-14``);
    ``"auto"``
        for linear operators that do not depend on time: ``"multigrid"`` in 3D beyond 5000 cells (where
        LU fill-in grows like ``n^{4/3}``), in 2D beyond ``direct_limit`` cells (default ``4·10⁵``: below
        it a sparse LU of the 5-point stencil is faster), and on CuPy in 2D and 3D (no host
        factorisation); ``"direct"`` otherwise.  Time-dependent operators take ``"direct"`` on NumPy
        and ``"iterative"`` on CuPy (a host factorisation per stage time would be a round trip per stage).

    Iterative solves of a mass-conserving operator (``1ᵀL = 0``) restore the exact mass ``1ᵀx = 1ᵀb``
    afterwards by adding ``(1ᵀb − 1ᵀx)·|x|/1ᵀ|x|`` (a correction of the size of the residual that keeps
    the sign of every cell), so the mass check of ``evolve`` holds to round-off whatever the tolerance.

    Factorisations and hierarchies are cached on the equation object (per operator and step size), so
    a second ``evolve`` of the same problem reuses them.
    """

    def __init__(self, pde: PDE, newton_tol: float = 1e-10, max_newton: int = 30, gmres_tol: float = 1e-8,
                 linear_solver: str = "auto", iterative_tol: float | None = None, direct_limit: int | None = None,
                 preconditioner: str = "auto"):
        if linear_solver not in ("auto", "direct", "iterative", "multigrid"):
            raise ValueError(f"linear_solver must be 'auto', 'direct', 'iterative' or 'multigrid', got {linear_solver!r}")
        resolve_method(preconditioner, pde.grid.xp)  # checks the name
        self.pde = pde
        self.xp = pde.grid.xp
        self.sp, self.spla = sparse_modules(self.xp)
        self.newton_tol, self.max_newton, self.gmres_tol = newton_tol, max_newton, gmres_tol
        self.linear = pde.linear_operator(0.0) is not None
        if linear_solver == "auto":
            linear_solver = self._auto(direct_limit)
        if linear_solver == "multigrid" and pde.time_dependent:
            raise ValueError("linear_solver='multigrid' builds its hierarchy once per operator; for a time-dependent "
                             "operator use 'iterative' or 'direct'")
        if iterative_tol is None:
            iterative_tol = 1e-10 if linear_solver == "multigrid" else 1e-14
        self.linear_solver, self.iterative_tol, self.preconditioner = linear_solver, iterative_tol, preconditioner
        # per equation object: factorisations survive from one evolve call to the next
        self._cache: dict[str, Any] = pde.__dict__.setdefault("_implicit_solver_cache", {"factors": {}})
        self._lu: dict[tuple, Any] = self._cache["factors"]
        self._conservative: dict[int, bool] = {}

    def _auto(self, direct_limit: int | None) -> str:
        pde, device = self.pde, self.xp.__name__ != "numpy"
        if pde.time_dependent:
            # on CuPy a direct factorisation is a host trip, worth it only when reused: not for L(t)
            return "iterative" if device else "direct"
        grid = pde.grid
        if grid.dim == 1:
            return "direct"
        if device:
            return "multigrid"
        limit = 5000 if grid.dim == 3 else (400_000 if direct_limit is None else direct_limit)
        return "direct" if grid.size <= limit else "multigrid"

    def _factor(self, c: float, t: float) -> Any:
        time_key = t if self.pde.time_dependent else None
        key = (self.linear_solver, self.preconditioner, self.iterative_tol, c, time_key)
        L = self.pde.linear_operator(t)
        cached = self._lu.get(key)
        if cached is not None and cached[0] is L:
            return cached[1]
        n = L.shape[0]
        if self.linear_solver == "multigrid":
            lu = _MultigridFactor(self._hierarchy(L, t), L, c, self.iterative_tol)
        else:
            A = (self.sp.identity(n, format="csr") - c * L).tocsr()
            host_direct = self.linear_solver == "direct" and self.xp.__name__ == "numpy"
            nearby = self._nearby(c, time_key, L) if host_direct else None
            if nearby is not None:
                # a step size off the ladder (landing on a save time): Krylov with a ladder factor, not cached
                return _NearbyFactor(A, nearby, 1e-13)
            if host_direct and self.pde.grid.dim >= 2 and c * self._diagonal_scale(L) <= 0.1:
                lu = _NearbyFactor(A, None, 1e-13)  # a small (probe) step: Jacobi-GMRES, no factorisation
                self._lu[key] = (L, lu)
                return lu
            if self.linear_solver == "iterative":
                lu = _IterativeFactor(A, self.pde.grid, self.iterative_tol, self.preconditioner)
            elif self.xp.__name__ == "numpy":
                lu = self.spla.splu(A.tocsc(), permc_spec="MMD_AT_PLUS_A")  # best ordering for structurally symmetric stencils
            else:
                # CuPy: factorised on the host once per step size (same ordering), solved on the device
                lu = self.spla.splu(A, permc_spec="MMD_AT_PLUS_A")
        if len(self._lu) >= 12:
            self._lu.pop(next(iter(self._lu)))
        self._lu[key] = (L, lu)
        return lu

    def _diagonal_scale(self, L: Any) -> float:
        """``max|L_ii|`` (cached per operator)."""
        cached = self._cache.get("diagonal")
        if cached is None or cached[0] is not L:
            cached = self._cache["diagonal"] = (L, float(abs(L.diagonal()).max()))
        return cached[1]

    def _nearby(self, c: float, time_key: Any, L: Any) -> Any:
        """The cached LU of ``I − c'L`` with ``c/c' ∈ [0.8, 1.25]`` (closest first), or ``None``."""
        best = None
        for key, (L_cached, lu) in self._lu.items():
            if key[0] != "direct" or key[4] != time_key or L_cached is not L or not hasattr(lu, "solve") \
                    or isinstance(lu, (_IterativeFactor, _MultigridFactor, _NearbyFactor)):
                continue
            ratio = c / key[3]
            if 0.8 <= ratio <= 1.25 and (best is None or abs(math.log(ratio)) < best[0]):
                best = (abs(math.log(ratio)), lu)
        return None if best is None else best[1]

    def _hierarchy(self, L: Any, t: float) -> _SymmetrisedOperator:
        """The multigrid hierarchy of ``L`` (built once per operator, shared by every step size)."""
        cached = self._cache.get("hierarchy")
        if cached is None or cached[0] is not L:
            cached = self._cache["hierarchy"] = (L, _SymmetrisedOperator(self.pde, L, t))
        return cached[1]

    def _is_conservative(self, L: Any) -> bool:
        """Whether ``1ᵀL = 0`` to round-off (one host read per operator)."""
        known = self._conservative.get(id(L))
        if known is None:
            known = conserves_mass(L, self.xp)
            self._conservative = {id(L): known}
        return known

    def solve(self, b: Any, c: float, t: float, guess: Any, rough: bool = False) -> Any:
        """``u`` with ``u − c f(u, t) = b``; ``rough=True`` allows a 1e-6 relative residual (error estimates)."""
        shape = b.shape
        if not self.linear:
            return self._newton(b, c, t, guess)
        factor = self._factor(c, t)
        if not isinstance(factor, (_IterativeFactor, _MultigridFactor, _NearbyFactor)):
            return factor.solve(b.ravel()).reshape(shape)
        if rough:
            return factor.solve(b.ravel(), tol=1e-6).reshape(shape)
        # the stage's predictor (u_n, then u*) starts the multigrid iteration: fewer cycles to the same residual
        x = factor.solve(b.ravel(), x0=guess.ravel()) if isinstance(factor, _MultigridFactor) else factor.solve(b.ravel())
        if self._is_conservative(self.pde.linear_operator(t)):
            x = restore_mass(x, self.xp.sum(b), self.xp)
        return x.reshape(shape)

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

    The local error estimate ``e`` of a step is measured against the weights
    ``w = atol·max|u₀| + rtol·max(|u_n|, |u_{n+1}|)`` in one of two norms (``error_norm``):

    ``"rms"`` (the default)
        accepted when ``sqrt(mean((e/w)²)) ≤ 1``: a relative error ``rtol`` in every cell above
        ``atol·max|u₀|``, so pointwise (and tail) values are accurate to ``rtol`` per step.
    ``"l1"``
        accepted when ``Σ|e_i| ≤ Σ w_i``: for a density ``rtol`` bounds the mass the step misplaces, as a
        fraction of the total mass (``atol·max|u₀|`` adds an absolute floor per cell) — the norm of L1
        errors; it does not chase relative accuracy in far tails that carry no mass, so it takes fewer
        steps (60 instead of 94 on the 1D OU run at ``rtol = 1e-5``) at a similar L1 error.

    ``error_weights(u_n, u_{n+1}) -> w`` (an array of the state's shape, or a scalar, in the state's
    units) replaces the weights, for states whose error is naturally measured otherwise (e.g.
    :class:`~fieldflow.core.steppers.log_density.LogTRBDF2`, which steps ``log ρ`` and weights the error
    by ``ρ``).  The weights and the norm also measure the
    first-step heuristic (``u_n = u_{n+1} = u₀``).

    Step sizes stay on the ladder ``dt₀·2^k`` so that the factorisations of ``I − (γ/2) dt L`` (or the
    multigrid hierarchies) are reused; the step after an accepted one is the largest ladder step, up to
    ``8×`` larger, whose predicted error (``∝ dt³``) stays below ``safety`` (default ``0.8``).

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

    def __init__(self, pde: PDE, dt: float | None = None, adaptive: bool = True, rtol: float = RTOL,
                 atol: float = 1e-8, positivity_tol: float = 1e-12,
                 error_weights: Callable[[Any, Any], Any] | None = None, error_norm: str | None = None,
                 safety: float = 0.8, check_monotone: bool = True, **options: Any):
        super().__init__(pde, dt, adaptive)
        self.positivity_tol = positivity_tol
        self.monotone = _MonotoneGuard(pde, check_monotone)
        self.error_weights = error_weights
        if error_norm is None:
            error_norm = "rms"
        if error_norm not in ("rms", "l1"):
            raise ValueError(f"error_norm must be 'l1' or 'rms', got {error_norm!r}")
        if not 0 < safety <= 1:
            raise ValueError(f"safety must lie in (0, 1], got {safety!r}")
        self.error_norm, self.safety = error_norm, safety
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
        self._t0: float | None = None

    def initial_dt(self, state, t, t_end):
        xp = self.pde.grid.xp
        self._scale = float(xp.max(xp.abs(state))) or 1.0
        self._t0 = t
        if self.dt is not None:
            self._dt0 = self.dt
            return self.dt
        # first step from the solution's own time scale (Hairer–Nørsett–Wanner's h₀ = 0.01 ‖u‖/‖f(u)‖ in
        # the error weights), snapped to the ladder (t_end − t)·2^{-k} so later steps land on it
        d0 = self._norm(state, state, state)
        d1 = self._norm(self.pde.rhs(state, t), state, state)
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

    def _norm(self, e: Any, u: Any, u_new: Any) -> float:
        """``‖e‖`` in units of the weights (``≤ 1``: within tolerance; see the class docstring)."""
        xp = self.pde.grid.xp
        w = self._weights(u, u_new)
        if self.error_norm == "l1":
            return float(xp.sum(xp.abs(e)) / xp.sum(w * xp.ones_like(e)))
        return float(xp.sqrt(xp.mean((e / w) ** 2)))

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
        return u_new, self._norm(est, u, u_new)

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
                # that keeps the predicted error below `safety`; staying on the ladder reuses factorisations
                k = round(math.log2(dt / self._dt0)) if dt > 0 else 0
                base = self._dt0 * 2.0**k
                # the first step (dt₀ from the heuristic in initial_dt, typically far below the
                # solution's time scale) is a probe: its successor may grow up to 64×
                cap = 6 if t == self._t0 and dt == self._dt0 else 3
                growth = 2.0**cap if err <= 0 else \
                    2.0 ** min(cap, max(0, math.floor(math.log2((self.safety / err) ** (1 / 3)))))
                return StepResult(u_new, dt, max(base * growth, dt))
            dt = self._dt0 * 2.0 ** (math.floor(math.log2(dt / self._dt0) + 1e-9) - 1)
        raise FloatingPointError(f"TR-BDF2 step size underflow at t={t:.4g}; the problem may be ill-posed")
