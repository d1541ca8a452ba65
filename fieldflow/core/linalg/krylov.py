"""Restarted GMRES written against the array namespace, so NumPy and CuPy run the same iteration.

Right-preconditioned GMRES(m) for ``A x = b`` with an approximate inverse ``M ≈ A^{-1}``: the Krylov
space of ``A M`` is built from ``r₀ = b − A x₀`` by Arnoldi's process and ``x = x₀ + M V_k y_k`` with
``y_k`` minimising ``‖β e₁ − H̄_k y‖₂`` (Saad & Schultz 1986).  With right preconditioning the
least-squares residual *is* the true residual ``‖b − A x_k‖₂`` (in exact arithmetic), so the stopping
test

.. math:: \\|b - A x_k\\|_2 \\le \\max(\\text{rtol}\\,\\|b\\|_2,\\ \\text{atol})

is checked after every Arnoldi step, inside the restart cycle, from the Givens-rotated right-hand side;
the true residual is recomputed (one product with ``A``) at the end of each cycle before restarting.

Where the work happens.  The Krylov basis ``V`` (``m + 1`` vectors of length ``n``) and every
vector operation stay in the namespace of ``b``; orthogonalisation is classical Gram–Schmidt with one
re-orthogonalisation (CGS2: four matrix–vector products with ``V``, as accurate as modified
Gram–Schmidt and without its ``k`` dependent reductions).  Per Arnoldi step one small vector — the new
Hessenberg column, at most ``m + 2`` numbers — comes to the host, where the Givens rotations and the
``(m + 1) × m`` triangular solve run; ``y`` (at most ``m`` numbers) goes back once per cycle.

Breakdown.  A column with ``h_{k+1,k} ≤ ε ‖A M v_k‖`` means the Krylov space is invariant: the
least-squares solution is exact and the cycle ends.  A non-finite value in a column (the operator or
preconditioner left the floating-point range) raises ``FloatingPointError`` — for Newton's method a
rejected step — instead of propagating ``nan`` into the iterate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..backend import namespace_of, to_numpy

__all__ = ["gmres", "cg", "KrylovResult", "as_operator"]

_EPS = np.finfo(float).eps


@dataclass
class KrylovResult:
    """Outcome of :func:`gmres`.

    Attributes
    ----------
    x : array
        The approximate solution (namespace and shape of ``b``).
    converged : bool
        Whether ``‖b − A x‖₂ ≤ max(rtol ‖b‖₂, atol)`` was reached.
    iterations : int
        Arnoldi steps taken (over all restart cycles).
    matvecs : int
        Products with ``A`` (Arnoldi steps plus one residual per cycle).
    residual : float
        ``‖b − A x‖₂`` at return (the Arnoldi estimate when the last cycle converged inside).
    """

    x: Any
    converged: bool
    iterations: int
    matvecs: int
    residual: float


def as_operator(op: Any) -> Callable[[Any], Any] | None:
    """``v ↦ op v`` for a callable, a matrix (``@``) or an object with ``matvec`` (a ``LinearOperator``)."""
    if op is None or callable(op) and not hasattr(op, "matvec"):
        return op
    if hasattr(op, "matvec"):
        return op.matvec
    return lambda v: op @ v


def _givens(a: float, b: float) -> tuple[float, float, float]:
    """``(c, s, r)`` with ``[c s; −s c] [a; b] = [r; 0]`` (real rotation, LAPACK's ``lartg`` convention)."""
    if b == 0.0:
        return 1.0, 0.0, a
    r = math.hypot(a, b)
    return a / r, b / r, r


def gmres(A: Any, b: Any, *, M: Any = None, x0: Any = None, rtol: float = 1e-8, atol: float = 0.0,
          restart: int = 50, max_restarts: int = 20) -> KrylovResult:
    """Solve ``A x = b`` by right-preconditioned restarted GMRES(``restart``).

    Parameters
    ----------
    A : callable, matrix or LinearOperator
        The operator on flat vectors of ``b``'s namespace.
    b : array
        Right-hand side (1-D, NumPy or CuPy).
    M : callable, matrix or LinearOperator, optional
        Approximate inverse of ``A`` (right preconditioner); default the identity.
    x0 : array, optional
        Initial guess (default zero).
    rtol, atol : float
        Stop when ``‖b − A x‖₂ ≤ max(rtol ‖b‖₂, atol)``.
    restart : int
        Krylov vectors per cycle (``m``).
    max_restarts : int
        Cycles before giving up (at most ``restart × max_restarts`` Arnoldi steps).

    Returns
    -------
    KrylovResult
        ``converged`` is ``False`` when the cycles ran out; ``x`` is then the best iterate found.

    Raises
    ------
    FloatingPointError
        When the operator or the preconditioner returns a non-finite value.
    ValueError
        For a non-positive ``restart`` or ``max_restarts``, or negative tolerances.
    """
    if restart < 1 or max_restarts < 1:
        raise ValueError(f"restart and max_restarts must be positive, got {restart} and {max_restarts}")
    if rtol < 0 or atol < 0:
        raise ValueError(f"rtol and atol must be non-negative, got {rtol} and {atol}")
    xp = namespace_of(b)
    apply_A = as_operator(A)
    apply_M = as_operator(M) or (lambda v: v)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is detected and raised below, not warned
        return _cycles(xp, apply_A, apply_M, b, x0, rtol, atol, min(restart, b.shape[0]), max_restarts)


def _cycles(xp: Any, apply_A: Callable, apply_M: Callable, b: Any, x0: Any, rtol: float, atol: float, m: int,
            max_restarts: int) -> KrylovResult:
    """The restart cycles of :func:`gmres` (arguments checked there)."""
    bnorm = float(xp.linalg.norm(b))
    if not math.isfinite(bnorm):
        raise FloatingPointError("GMRES: the right-hand side left the floating-point range")
    target = max(rtol * bnorm, atol)
    x = xp.zeros_like(b) if x0 is None else x0.copy()
    if bnorm == 0.0 and x0 is None:
        return KrylovResult(x, True, 0, 0, 0.0)
    r = b if x0 is None else b - apply_A(x0)
    matvecs = 0 if x0 is None else 1
    beta = bnorm if x0 is None else _finite_norm(r, xp)
    iterations = 0
    V = xp.empty((m + 1, b.shape[0]), dtype=b.dtype)
    for _ in range(max_restarts):
        if beta <= target:
            return KrylovResult(x, True, iterations, matvecs, beta)
        V[0] = r / beta
        R = np.zeros((m, m))  # the rotated Hessenberg matrix (upper triangular)
        g = np.zeros(m + 1)  # the rotated right-hand side β e₁
        g[0] = beta
        rotations: list[tuple[float, float]] = []
        k, estimate, invariant = 0, beta, False
        while k < m and estimate > target and not invariant:
            column, invariant = _arnoldi_step(xp, apply_A, apply_M, V, k)
            matvecs += 1
            iterations += 1
            for i, (c, s) in enumerate(rotations):
                column[i], column[i + 1] = c * column[i] + s * column[i + 1], -s * column[i] + c * column[i + 1]
            c, s, column[k] = _givens(column[k], column[k + 1])
            rotations.append((c, s))
            g[k], g[k + 1] = c * g[k], -s * g[k]
            R[: k + 1, k] = column[: k + 1]
            k += 1
            estimate = abs(g[k])
        y = _upper_triangular_solve(R[:k, :k], g[:k])
        x = x + apply_M(V[:k].T @ xp.asarray(y))
        if estimate <= target:
            return KrylovResult(x, True, iterations, matvecs, estimate)
        r = b - apply_A(x)
        matvecs += 1
        beta = _finite_norm(r, xp)
    return KrylovResult(x, beta <= target, iterations, matvecs, beta)


def _arnoldi_step(xp: Any, apply_A: Callable, apply_M: Callable, V: Any, k: int) -> tuple[np.ndarray, bool]:
    """Orthogonalise ``A M v_k`` against ``v_0..v_k`` (CGS2), store ``v_{k+1}``; return the Hessenberg
    column ``h_{0..k+1, k}`` on the host and whether the Krylov space became invariant."""
    w = apply_A(apply_M(V[k]))
    basis = V[: k + 1]
    h = basis @ w
    w = w - basis.T @ h
    h2 = basis @ w
    w = w - basis.T @ h2
    norm = xp.linalg.norm(w)
    column = to_numpy(xp.concatenate([h + h2, norm[None]]))  # the one device→host read of the step
    if not np.all(np.isfinite(column)):
        raise FloatingPointError("GMRES: the preconditioned operator left the floating-point range "
                                 f"(non-finite Hessenberg entry at Krylov step {k + 1})")
    invariant = column[-1] <= _EPS * float(np.linalg.norm(column))
    if not invariant:
        V[k + 1] = w / norm
    return column, invariant


def _finite_norm(r: Any, xp: Any) -> float:
    norm = float(xp.linalg.norm(r))
    if not math.isfinite(norm):
        raise FloatingPointError("GMRES: the residual left the floating-point range")
    return norm


def _upper_triangular_solve(R: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Back substitution ``R y = g`` (``R`` upper triangular, ``k ≤ restart``, on the host)."""
    k = g.shape[0]
    y = np.zeros(k)
    for i in range(k - 1, -1, -1):
        y[i] = (g[i] - R[i, i + 1:] @ y[i + 1:]) / R[i, i] if R[i, i] != 0 else 0.0
    return y


def cg(A: Any, b: Any, *, M: Any = None, x0: Any = None, rtol: float = 1e-10, atol: float = 0.0,
       maxiter: int = 500) -> KrylovResult:
    """Solve ``A x = b`` for symmetric positive definite ``A`` by preconditioned conjugate gradients.

    Hestenes–Stiefel CG with a symmetric positive definite preconditioner ``M ≈ A^{-1}`` (e.g. a
    multigrid V-cycle, :class:`fieldflow.core.linalg.multigrid.VCycle`).  It stops when the true
    recurrence residual satisfies ``‖b − A x‖₂ ≤ max(rtol ‖b‖₂, atol)``.  Per iteration one product with
    ``A``, one with ``M`` and one device→host read of two numbers (``‖r‖₂`` and ``rᵀz``); everything
    else stays in the namespace of ``b``.

    Parameters
    ----------
    A, M : callable, matrix or LinearOperator
        The operator and the preconditioner (default the identity) on flat vectors of ``b``'s namespace.
    b : array
        Right-hand side (1-D).
    x0 : array, optional
        Initial guess (default zero).
    rtol, atol : float
        The stopping test above.
    maxiter : int
        Iterations before giving up (``converged=False``, the last iterate returned).

    Returns
    -------
    KrylovResult
        ``iterations`` = ``matvecs`` − (1 with ``x0``) products with ``A``.

    Raises
    ------
    FloatingPointError
        When a residual or a curvature ``pᵀAp`` is not finite, or ``pᵀAp ≤ 0`` (``A`` or ``M`` is not
        positive definite).
    """
    if maxiter < 1:
        raise ValueError(f"maxiter must be positive, got {maxiter}")
    if rtol < 0 or atol < 0:
        raise ValueError(f"rtol and atol must be non-negative, got {rtol} and {atol}")
    xp = namespace_of(b)
    apply_A = as_operator(A)
    apply_M = as_operator(M) or (lambda v: v)
    x = xp.zeros_like(b) if x0 is None else x0.copy()
    r = b if x0 is None else b - apply_A(x)
    matvecs = 0 if x0 is None else 1
    z = apply_M(r)
    norms = to_numpy(xp.stack([xp.linalg.norm(b), xp.linalg.norm(r), r @ z]))  # one read for the three
    if not np.all(np.isfinite(norms)):
        raise FloatingPointError("CG: the right-hand side or the preconditioned residual left the floating-point range")
    bnorm, rnorm, rz = (float(v) for v in norms)
    target = max(rtol * bnorm, atol)
    p = z
    iterations = 0
    while rnorm > target and iterations < maxiter:
        q = apply_A(p)
        curvature = p @ q
        alpha = rz / curvature  # a device scalar: no read here
        x = x + alpha * p
        r = r - alpha * q
        z = apply_M(r)
        values = to_numpy(xp.stack([xp.linalg.norm(r), r @ z, curvature]))  # the one read of the iteration
        matvecs += 1
        iterations += 1
        if not (np.all(np.isfinite(values)) and values[2] > 0):
            raise FloatingPointError(f"CG: the operator or the preconditioner is not positive definite or left the "
                                     f"floating-point range (pᵀAp = {values[2]:.3e} at iteration {iterations})")
        rnorm, rz_new = float(values[0]), float(values[1])
        p = z + (rz_new / rz) * p
        rz = rz_new
    return KrylovResult(x, rnorm <= target, iterations, matvecs, rnorm)
