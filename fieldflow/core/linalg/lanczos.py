"""The action of the exponential of a symmetric matrix, ``exp(τA) b``, by the Lanczos process.

For symmetric ``A`` the Krylov space ``K_m = span{b, Ab, …, A^{m−1}b}`` has an orthonormal basis
``V_m = [v_1 … v_m]`` (``v_1 = b/β₀``, ``β₀ = ‖b‖₂``) built by the three-term recurrence

.. math:: \\beta_j v_{j+1} = A v_j - \\alpha_j v_j - \\beta_{j-1} v_{j-1},

with ``T_m = V_mᵀ A V_m`` tridiagonal (``α`` on the diagonal, ``β`` beside it), and

.. math:: \\exp(\\tau A)\\, b \\approx \\beta_0 V_m \\exp(\\tau T_m) e_1 .

For ``A`` negative semi-definite with spectrum in ``[−ρ, 0]`` the error falls super-linearly once
``m ≳ \\sqrt{ρτ}`` (Hochbruck & Lubich 1997), and for large ``τ`` it is the slow modes alone that the space
must resolve, so ``m`` stays bounded as ``τ → ∞`` (measured: 56 vectors for ``τ = 100`` on a 96-cell
Fokker–Planck operator, 40 on 24²).  The stopping test is Saad's (1992) a-posteriori estimate of the
error ``β₀ β_m |e_mᵀ exp(τT_m) e_1|`` (the size of the first neglected term), checked every few steps
from the eigen-decomposition of ``T_m`` (``m ≤`` a few hundred: a host computation of ``O(m²)``).
No re-orthogonalisation: the loss of orthogonality of the plain recurrence does not spoil the
approximation of ``f(A)b`` for bounded ``f`` (Greenbaum 1989; Musco, Musco & Sidford 2018); the tests
compare with a dense eigen-decomposition to ``1e-13``.

Memory.  The basis is kept while it fits in ``memory`` bytes; beyond that the recurrence runs a second
time from ``b`` with the coefficients of the first pass (the same operations in the same order, so the
same vectors bit for bit) and the result is accumulated vector by vector: ``O(n)`` memory at twice
the products with ``A``.

Everything runs in the namespace of ``b`` (NumPy or CuPy); per check one small read (the ``α``, ``β``
found so far) comes to the host, and the coefficients ``y`` (``m`` numbers) go back once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from ..backend import namespace_of, to_numpy

__all__ = ["expm_multiply_symmetric", "ExponentialResult"]

#: bytes the stored Lanczos basis may take before the two-pass variant is used
BASIS_MEMORY = 2**28


@dataclass
class ExponentialResult:
    """Outcome of :func:`expm_multiply_symmetric`.

    Attributes
    ----------
    x : array
        The approximation of ``exp(τA) b`` (namespace and shape of ``b``).
    converged : bool
        Whether the error estimate reached ``atol``.
    dimension : int
        Krylov dimension ``m`` used (products with ``A`` in the first pass).
    estimate : float
        The a-posteriori error estimate ``β₀ β_m |e_mᵀ exp(τT_m) e_1|`` at return (2-norm).
    passes : int
        1 if the basis was stored, 2 if the recurrence ran twice.
    """

    x: Any
    converged: bool
    dimension: int
    estimate: float
    passes: int


def _recurrence(A: Any, v: Any, alpha: Any, beta: Any, count: int, known: bool) -> Iterator[Any]:
    """Yield ``v_1, v_2, …`` (at most ``count``), each once its ``α_j`` and ``β_j`` are in the arrays;
    ``known``: take ``α, β`` from the arrays (a second pass) instead of computing them."""
    xp = namespace_of(v)
    previous = None
    tiny = np.finfo(float).tiny
    for j in range(count):
        w = A @ v
        if previous is not None:
            w -= beta[j - 1] * previous
        if not known:
            alpha[j] = v @ w
        w -= alpha[j] * v
        if not known:
            beta[j] = xp.linalg.norm(w)
        yield v
        # a breakdown (β = 0: the space is invariant) is found at the next check; until then divide safely
        previous, v = v, w / xp.maximum(beta[j], tiny)


def _coefficients(a: np.ndarray, b: np.ndarray, tau: float) -> np.ndarray:
    """``exp(τT) e_1`` for the tridiagonal ``T`` with diagonal ``a`` and off-diagonal ``b``."""
    if a.size == 1:
        return np.array([math.exp(tau * a[0])])
    from scipy.linalg import eigh_tridiagonal  # imported on first use: scipy.linalg costs ~0.1 s at start-up

    ev, Q = eigh_tridiagonal(a, b, check_finite=False)  # finite: checked on reading
    return Q @ (np.exp(tau * ev) * Q[0])


def expm_multiply_symmetric(A: Any, b: Any, tau: float, atol: float, max_dim: int = 1000,
                            memory: int = BASIS_MEMORY, first_check: int = 8) -> ExponentialResult:
    """``exp(τA) b`` for a symmetric negative semi-definite ``A`` (sparse matrix or operator with ``@``).

    Parameters
    ----------
    A : sparse matrix
        Symmetric, with spectrum in ``(−∞, 0]`` (e.g. a symmetrised generator ``Π^{-1/2} L Π^{1/2}``).
    b : array, shape (n,)
        The vector (NumPy or CuPy).
    tau : float
        The time ``τ ≥ 0``.
    atol : float
        Absolute tolerance on the 2-norm error, as estimated (see the module docstring).
    max_dim : int
        Largest Krylov dimension; not converged by then: ``converged = False`` (shorten ``τ``).
    memory : int
        Bytes the stored basis may take (beyond them: two passes).
    first_check : int
        Dimension of the first convergence check (later ones every ``max(4, m/8)`` vectors); a caller
        repeating a step of the same ``τ`` passes the dimension that sufficed last time.

    Returns
    -------
    ExponentialResult
    """
    xp = namespace_of(b)
    n = b.shape[0]
    beta0 = float(xp.linalg.norm(b))
    if beta0 == 0.0 or tau == 0.0:
        return ExponentialResult(b.copy(), True, 0, 0.0, 1)
    stored = max(2, min(max_dim, int(memory // (8 * n))))
    alpha, beta = xp.zeros(max_dim), xp.zeros(max_dim)
    basis = xp.empty((stored, n))
    m, estimate, converged, y = 0, math.inf, False, None
    next_check = max(2, min(first_check, max_dim))
    for m, v in enumerate(_recurrence(A, b / beta0, alpha, beta, max_dim, known=False), start=1):
        if m <= stored:
            basis[m - 1] = v
        if m < next_check and m < max_dim:
            continue
        next_check = m + max(4, m // 8)
        a, bt = (to_numpy(z) for z in (alpha[:m], beta[:m]))  # one read of what the recurrence found
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(bt))):
            raise FloatingPointError("the Lanczos recurrence left the floating-point range (a non-finite operator "
                                     "or vector)")
        small = np.flatnonzero(bt <= 1e-14 * max(np.max(np.abs(a)), np.finfo(float).tiny))
        if small.size:  # K_k nearly invariant: done with k vectors if the neglected part is within atol
            k = int(small[0]) + 1
            y_k = _coefficients(a[:k], bt[:k - 1], tau)
            estimate_k = beta0 * float(bt[k - 1] * abs(y_k[-1]))
            if estimate_k <= atol:
                m, y, estimate, converged = k, y_k, estimate_k, True
                break
        y = _coefficients(a, bt[:m - 1], tau)
        estimate = beta0 * float(bt[m - 1] * abs(y[-1]))
        if estimate <= atol or m >= max_dim:
            converged = estimate <= atol
            break
    coefficients = xp.asarray(beta0 * y)
    if m <= stored:
        return ExponentialResult(coefficients @ basis[:m], converged, m, estimate, 1)
    x = xp.zeros_like(b)
    for j, v in enumerate(_recurrence(A, b / beta0, alpha, beta, m, known=True)):
        x += coefficients[j] * v
    return ExponentialResult(x, converged, m, estimate, 2)
