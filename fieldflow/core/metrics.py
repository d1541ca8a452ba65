"""Distances between densities and samples (KL, L1, exact 1D Wasserstein distances, MMD, the kernel Stein
discrepancy, moments) and the log-log slope that convergence orders are fitted with.

Grid densities are arrays on a :class:`~fieldflow.core.grids.Grid`; samples are ``(N, d)`` arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .backend import block_rows, namespace_of, to_numpy
from .grids import Grid
from .validation import integer, real_array, real_number

__all__ = ["kl_divergence", "l1_distance", "moments", "grid_cdf", "w1_samples_to_grid", "w1_expected_bound",
           "mmd_gaussian", "kernel_stein_discrepancy", "loglog_slope"]


def kl_divergence(grid: Grid, p: Any, q: Any) -> float:
    """``KL(p‖q) = ∫ p log(p/q)`` on the grid (``0 log 0 = 0``; ``+inf`` where ``q = 0 < p``)."""
    p, q = to_numpy(p), to_numpy(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - np.log(q)), 0.0)
    return float(np.sum(terms) * grid.cell_volume)


def l1_distance(grid: Grid, p: Any, q: Any) -> float:
    """``∫ |p − q| dx`` on the grid."""
    return float(np.sum(np.abs(to_numpy(p) - to_numpy(q))) * grid.cell_volume)


def moments(grid: Grid, rho: Any) -> dict[str, Any]:
    """Mass, mean vector and covariance matrix of a grid density."""
    rho = to_numpy(rho)
    pts = to_numpy(grid.points).reshape(-1, grid.dim)
    w = rho.ravel() * grid.cell_volume
    mass = w.sum()
    mean = w @ pts / mass
    z = pts - mean
    cov = (z * w[:, None]).T @ z / mass
    return {"mass": float(mass), "mean": mean, "cov": cov}


def grid_cdf(grid: Grid, rho: Any) -> tuple[np.ndarray, np.ndarray]:
    """Cell faces and the CDF of a 1D cell-centred density at them (piecewise-constant density)."""
    if grid.dim != 1:
        raise ValueError("grid_cdf needs a 1D grid")
    rho = to_numpy(rho)
    h = grid.spacing[0]
    faces = grid.lower[0] + h * np.arange(grid.shape[0] + 1)
    cdf = np.concatenate([[0.0], np.cumsum(rho) * h])
    return faces, cdf / cdf[-1]


def w1_samples_to_grid(grid: Grid, rho: Any, samples: Any) -> float:
    """Exact ``W1 = ∫ |F_N(x) − F(x)| dx`` between samples and a 1D grid density (piecewise constant).

    Samples outside the box count with their distance to it.
    """
    x = np.sort(to_numpy(samples).ravel())
    faces, cdf = grid_cdf(grid, rho)
    # merge breakpoints; both CDFs are piecewise linear / constant between them
    pts = np.unique(np.concatenate([faces, x]))
    F = np.interp(pts, faces, cdf, left=0.0, right=1.0)
    Fn = np.searchsorted(x, pts, side="right") / x.size
    # on each interval the empirical CDF is constant (value at the left end), F is linear
    a, b = F[:-1], F[1:]
    c = Fn[:-1]
    width = np.diff(pts)
    # ∫ |linear - c| over the interval, exactly
    lo, hi = a - c, b - c
    same = lo * hi >= 0
    integral = np.where(same, 0.5 * np.abs(lo + hi), 0.5 * (lo**2 + hi**2) / np.maximum(np.abs(hi - lo), 1e-300)) * width
    return float(np.sum(integral))


def w1_expected_bound(grid: Grid, rho: Any, n: int) -> float:
    """``∫ sqrt(F(1 − F)) dx / sqrt(n)``: a bound on ``E W1(empirical_n, ρ)`` in 1D (Jensen)."""
    faces, cdf = grid_cdf(grid, rho)
    mid = 0.5 * (cdf[1:] + cdf[:-1])
    return float(np.sum(np.sqrt(np.clip(mid * (1 - mid), 0, None))) * grid.spacing[0] / np.sqrt(n))


def mmd_gaussian(grid: Grid, rho: Any, samples: Any, bandwidth: float = 1.0) -> float:
    """Squared MMD with the Gaussian kernel ``exp(−|x−y|²/(2σ²))`` between a grid density and samples."""
    pts = to_numpy(grid.points).reshape(-1, grid.dim)
    w = to_numpy(rho).ravel() * grid.cell_volume
    w = w / w.sum()
    x = to_numpy(samples).reshape(len(samples), -1)

    def gram(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d2 = np.sum(a * a, 1)[:, None] + np.sum(b * b, 1)[None, :] - 2 * a @ b.T
        return np.exp(-np.maximum(d2, 0) / (2 * bandwidth**2))

    keep = w > 1e-14 * w.max()
    pts, w = pts[keep], w[keep]
    kgg = w @ gram(pts, pts) @ w
    kss = gram(x, x).mean()
    kgs = (w @ gram(pts, x)).mean()
    return float(kgg + kss - 2 * kgs)


def kernel_stein_discrepancy(samples: Any, score: Any, weights: Any = None, *, scale: float = 1.0,
                             exponent: float = -0.5, unbiased: bool = False, memory_bytes: int = 2**27) -> float:
    """Squared kernel Stein discrepancy ``KSD²(μ, π)`` of weighted samples against a target with score ``s = ∇log π``.

    .. math:: {\\rm KSD}^2 = \\sum_{i,j} w_i w_j\\, k_\\pi(x_i, x_j), \\qquad
              k_\\pi(x, y) = s(x)\\cdot s(y)\\,k + s(x)\\cdot\\nabla_y k + s(y)\\cdot\\nabla_x k
              + \\nabla_x\\cdot\\nabla_y k,

    with the inverse multiquadric kernel ``k(x, y) = (c² + |x − y|²)^β`` (``c = scale``, ``β = exponent ∈ (−1, 0)``;
    Gorham–Mackey: with it, KSD → 0 implies weak convergence to ``π`` for distantly dissipative targets).  With
    ``z = x − y``, ``u = c² + |z|²``: ``∇_x k = −∇_y k = 2β u^{β−1} z`` and ``∇_x·∇_y k = −2βd u^{β−1} −
    4β(β−1) u^{β−2}|z|²``.  The target enters only through its score: a known normalising constant is never needed.

    Parameters
    ----------
    samples : array ``(N, d)``
        Points (NumPy or CuPy; the sum runs in their namespace, in row blocks of at most ``memory_bytes``).
    score : callable or array
        ``s(x)`` as a function of an ``(N, d)`` array, or its values at the samples (e.g. ``−V.gradient(x)``).
    weights : array ``(N,)``, optional
        Non-negative weights (normalised here); default ``1/N``.
    unbiased : bool
        The U-statistic (``i ≠ j``, equal weights only) instead of the V-statistic.

    Returns
    -------
    float
        ``KSD²`` (units of score², i.e. 1/length²).
    """
    xp = namespace_of(samples)
    x = real_array(samples, "samples", ndim=2, xp=xp, hint="shape (N, d)")
    if int(x.shape[0]) < 2:
        raise ValueError(f"samples must have shape (N, d) with N ≥ 2, got {tuple(x.shape)}")
    # the diagonal terms carry (c²)^(β−2) ≤ c^(−6): finite (and multiplied by |z|² = 0 without a NaN) for c ≥ 1e-40
    scale = real_number(scale, "scale", minimum=1e-40, hint="the IMQ kernel's c > 0")
    exponent = real_number(exponent, "exponent", hint="the IMQ kernel's β in (-1, 0)")
    if not -1.0 < exponent < 0.0:
        raise ValueError(f"exponent must lie in (-1, 0) (the IMQ kernel's β), got {exponent!r}")
    n, d = int(x.shape[0]), int(x.shape[1])
    s = score(x) if callable(score) else xp.asarray(score)
    if tuple(s.shape) != (n, d):
        raise ValueError(f"the score must have the samples' shape {(n, d)}, got {tuple(s.shape)}")
    if weights is None:
        w = xp.full(n, 1.0 / n)
    else:
        if unbiased:
            raise ValueError("unbiased=True is the equal-weight U-statistic; pass weights=None")
        w = real_array(weights, "weights", shape=(n,), nonnegative=True, xp=xp)
        total_weight = float(xp.sum(w))
        if not 0 < total_weight < math.inf:
            raise ValueError(f"weights must have a positive finite sum, got {total_weight!r}")
        w = w / total_weight
    beta, c2 = float(exponent), float(scale) ** 2
    block = block_rows(n, 8 * (d + 4), xp, integer(memory_bytes, "memory_bytes", minimum=1))
    total = xp.zeros(())
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        z = x[i0:i1, None, :] - x[None, :, :]
        r2 = xp.sum(z * z, axis=-1)
        u = c2 + r2
        k = u**beta
        dk = 2 * beta * u ** (beta - 1)  # ∇_x k = dk z
        ss = s[i0:i1] @ s.T
        sz = xp.sum((s[i0:i1, None, :] - s[None, :, :]) * z, axis=-1)  # (s(x) − s(y))·z
        kp = ss * k - dk * sz - 2 * beta * d * u ** (beta - 1) - 4 * beta * (beta - 1) * u ** (beta - 2) * r2
        if unbiased:
            rows = xp.arange(i1 - i0)
            kp[rows, rows + i0] = 0.0
        total = total + w[i0:i1] @ kp @ w
    value = float(total)
    return value * n / (n - 1) if unbiased else value


def loglog_slope(x: Any, y: Any) -> float:
    """Least-squares slope of ``log y`` against ``log x``: the fitted exponent ``p`` of ``y ∝ x^p``.

    With ``x`` a mesh width and ``y`` an error it is the convergence order; with ``x`` a resolution ``n`` it is minus
    the order.  ``x`` and ``y`` must be positive.
    """
    x, y = np.asarray(to_numpy(x), dtype=float), np.asarray(to_numpy(y), dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2 or np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("loglog_slope needs two equally long 1D sequences of at least 2 positive values")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])
