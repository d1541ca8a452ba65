"""One JKO step of a one-dimensional measure on its quantile function, by Newton's method.

In one dimension the Wasserstein distance is the ``L²`` distance of quantile functions,
``W_2(σ, σ_k)² = ∫_0^1 |X(m) − X_k(m)|² dm``, and the entropy is ``∫ σ log σ = −∫_0^1 \\log X'(m) dm``.
With ``N`` quantiles ``X_i`` at the levels ``m_i = (i − ½)/N`` (:func:`quantile_levels`) the JKO step
``argmin_σ ∫ σ log σ + ∫ V dσ + W_2²(σ, σ_k)/(2s)`` becomes the minimisation of the strictly convex
(for ``s \\inf V'' > −1``) function

.. math:: G(X) = −\\sum_{i=1}^{N-1} \\log(X_{i+1} − X_i) + \\sum_i V(X_i) + \\frac{1}{2s} \\sum_i (X_i − Y_i)²

(``N ×`` the discrete functional, constants dropped), done by :func:`jko_step` with its tridiagonal Hessian
and a backtracking line search that keeps the ``X_i`` increasing.  It knows no equation: a Fokker–Planck
flow ``∂t ρ = ∂_x(D ∂_x ρ + ρ ∂_x U)`` is ``V = U/D``, ``s = τ D``
(:class:`fieldflow.fokker_planck.QuantileJKO`); a time-dependent metric ``W_2²/Ċ_t`` is ``s = τ Ċ_t``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .grids import Grid

__all__ = ["jko_step", "density_quantiles", "quantile_levels"]


def quantile_levels(n: int) -> np.ndarray:
    """The levels ``m_i = (i − ½)/n``, ``i = 1..n``, of ``n`` quantiles carrying mass ``1/n`` each."""
    if not (isinstance(n, (int, np.integer)) and n >= 2):
        raise ValueError(f"the number of quantiles must be an integer ≥ 2, got {n!r}")
    return (np.arange(n) + 0.5) / n


def jko_step(Y: np.ndarray, V: Callable[[np.ndarray, int], np.ndarray], step: float, tol: float = 1e-12,
             max_iter: int = 100) -> np.ndarray:
    """One JKO step on quantiles: ``argmin_X G(X)`` (module docstring) with ``s = step``.

    ``V(x, ν)`` returns the ``ν``-th derivative of the potential (``ν = 0, 1, 2``; the second may be
    approximate: it only enters the Newton matrix).  Newton's method on the tridiagonal Hessian, started
    from ``Y``; stops when the Newton decrement is below ``tol·max(1, |G|)``.
    """
    from scipy.linalg import solve_banded

    X = np.array(Y, dtype=float)
    if np.any(np.diff(X) <= 0):
        raise ValueError("the quantiles must be strictly increasing")

    def energy(Z):
        d = np.diff(Z)
        if np.any(d <= 0):
            return math.inf
        return -np.sum(np.log(d)) + np.sum(V(Z, 0)) + np.sum((Z - Y) ** 2) / (2 * step)

    G = energy(X)
    for _ in range(max_iter):
        d = np.diff(X)
        inv, inv2 = 1.0 / d, 1.0 / d**2
        grad = V(X, 1) + (X - Y) / step
        grad[:-1] += inv
        grad[1:] -= inv
        diag = V(X, 2) + 1.0 / step
        diag[:-1] += inv2
        diag[1:] += inv2
        ab = np.zeros((3, X.size))
        ab[0, 1:] = -inv2
        ab[1] = diag
        ab[2, :-1] = -inv2
        dx = solve_banded((1, 1), ab, -grad)
        decrement = -float(grad @ dx)
        if decrement < 0:
            raise FloatingPointError("the JKO functional is not convex here; reduce the step (step · inf V'' > −1 "
                                     "is needed)")
        if decrement <= tol * max(1.0, abs(G)):
            return X
        alpha = 1.0
        while True:
            Xn = X + alpha * dx
            Gn = energy(Xn)
            if Gn <= G - 1e-4 * alpha * decrement or alpha < 1e-12:
                break
            alpha *= 0.5
        X, G = Xn, Gn
    raise FloatingPointError(f"the JKO step did not converge in {max_iter} Newton iterations")


def density_quantiles(grid: Grid, rho: Any, m: np.ndarray) -> np.ndarray:
    """Quantiles ``F^{-1}(m)`` of a cell-centred 1D density (piecewise-constant, so the CDF is piecewise linear)."""
    from .metrics import grid_cdf

    faces, cdf = grid_cdf(grid, rho)
    keep = np.concatenate([[True], np.diff(cdf) > 0])
    return np.interp(m, cdf[keep], faces[keep])
