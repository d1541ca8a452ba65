"""Log-Sobolev constants: the Bauerschmidt–Bodineau bound along the Polchinski flow, and the true ones.

Convention: ``ν`` satisfies LSI(γ) if ``Ent_ν(F) ≤ (1/2γ) E_ν[|∇F|²/F]`` for all ``F > 0``; the
Gaussian ``N(0, σ²)`` has ``γ = 1/σ²`` and Bakry–Émery gives ``γ = κ`` for ``Hess H ⪰ κ``.  In the
``λ KL ≤ I`` convention of :ref:`conventions-log-sobolev`, ``λ = 2γ``.  LSI(γ) implies the Poincaré inequality with
constant ``γ``, so ``γ ≤ gap``.

**Multiscale Bakry–Émery criterion** (Bauerschmidt–Bodineau).  Let ``ν_0 ∝ e^{−V_0} N(0, C_∞)``.  If

.. math::  Ċ_t \\,{\\rm Hess}\\, V_t(φ)\\, Ċ_t − ½ \\ddot C_t \\ \\succeq\\ \\dot λ_t\\, Ċ_t
           \\quad\\text{for all } φ,\\ t > 0,

then with ``λ_t = ∫_0^t λ̇_s ds``, ``Ent_{ν_0}(F) ≤ ½ ∫_0^∞ e^{−2λ_t} dt · E_{ν_0}[(∇F, Ċ_0∇F)/F]``, so
``ν_0`` satisfies LSI(γ) with ``1/γ = ‖Ċ_0‖ ∫_0^∞ e^{−2λ_t} dt``.  For commuting ``Ċ_t``, ``C̈_t`` the best
rate is ``λ̇_t = inf_φ λ_min(Ċ_t^{1/2} Hess V_t Ċ_t^{1/2} − ½ C̈_t Ċ_t^{-1})``.  One site, Pauli–Villars,
``V_0 = νφ²/2``: ``V_t'' = ν/(1 + C_tν)`` and the bound is exact, ``γ = ν + m²``.

The true constants of a one-dimensional ``ν ∝ e^{−H}`` are computed directly on a grid
(Sturm–Liouville): :func:`spectral_gap` solves ``−(e^{−H}f')' = μ e^{−H} f`` (finite volumes, zero
flux, second order), and :func:`lsi_constant` minimises ``2E_ν|f'|²/Ent_ν(f²)`` over ``f = e^{u/2}``
with the same discrete Dirichlet form.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.backend import to_numpy
from ..core.grids import Grid
from .flow import FieldSpaceFlow, _hessian

__all__ = ["flow_lsi_bound", "spectral_gap", "lsi_constant", "lsi_quotient", "single_site_hamiltonian"]


def _sym_pow(M: np.ndarray, p: float) -> np.ndarray:
    w, U = np.linalg.eigh(M)
    return (U * w**p) @ U.T


def flow_lsi_bound(flow: FieldSpaceFlow, t_max: float | None = None, points: int = 160) -> dict[str, Any]:
    """The Bauerschmidt–Bodineau rate ``λ̇_t`` along the flow and the LSI constant ``γ`` it implies.

    ``inf_φ`` is taken over the grid nodes where ``V_t`` is finite (``V_t`` is assumed more convex
    outside the box, as for φ⁴).  Times: ``t = 0`` (``V_0``), then ``points`` log-spaced times from
    the smallest ``t`` the grid resolves to ``t_max`` (default ``10³ / λ_min(A)``); ``λ_t`` and
    ``∫ e^{−2λ_t} dt`` by the trapezoid rule.  Beyond ``t_max`` the curvature ``κ`` is frozen and the
    tail integrated exactly along the slowest mode ``c`` of ``Ċ`` (largest eigenvalue):
    ``e^{−2λ_T} (1 − e^{−2κ(C_∞ − C_T)}) / (2κ Ċ_T)``.

    Returns
    -------
    dict
        ``t``, ``rate`` (``λ̇_t``), ``lam`` (``λ_t``), ``kappa`` (``inf λ_min Hess V_t``), ``gamma``
        (the LSI constant), ``tail_fraction`` (share of ``1/γ`` from the tail).
    """
    dec, grid = flow.decomposition, flow.grid
    A_min = float(dec.A.min())
    if t_max is None and A_min <= 0:
        raise ValueError("give t_max: the default 10³/λ_min(A) needs a mass m > 0")
    t_max = float(t_max or 1e3 / A_min)
    # smallest resolvable t: λ_min(C_t) ≥ 25 h²/(2π²)·(1.01)
    h = max(grid.spacing)
    need = 1.01 * 25 * h**2 / (2 * math.pi**2)
    t_min = 1e-8
    while float(dec.symbol(t_min).min()) < need:
        t_min *= 1.5
    times = np.concatenate([[0.0], np.geomspace(t_min, t_max, points)])
    rates, kappas = [], []
    for t in times:
        H = to_numpy(_hessian(grid, flow.potential(t)))
        H = H[np.all(np.isfinite(H), axis=(-2, -1))]
        if H.size == 0:
            raise ValueError(f"no finite Hess V_t on the grid at t={t:g}; enlarge the field box")
        Cd, Cdd = dec.derivative(t).matrix(), dec.second_derivative(t).matrix()
        root = _sym_pow(Cd, 0.5)
        shift = 0.5 * Cdd @ np.linalg.inv(Cd)
        M = root @ H @ root - 0.5 * (shift + shift.T)
        rates.append(float(np.linalg.eigvalsh(M).min()))
        kappas.append(float(np.linalg.eigvalsh(H).min()))
    rates, kappas = np.asarray(rates), np.asarray(kappas)
    lam = np.concatenate([[0.0], np.cumsum(0.5 * (rates[1:] + rates[:-1]) * np.diff(times))])
    weight = np.exp(-2 * lam)
    body = float(np.sum(0.5 * (weight[1:] + weight[:-1]) * np.diff(times)))
    cT = float(dec.derivative_symbol(t_max).max())
    C_gap = float((dec.symbol(math.inf) - dec.symbol(t_max))[np.unravel_index(np.argmax(dec.derivative_symbol(t_max)),
                                                                              dec.lattice.shape)])
    kappa = kappas[-1]
    factor = C_gap if abs(kappa * C_gap) < 1e-12 else -math.expm1(-2 * kappa * C_gap) / (2 * kappa)
    tail = weight[-1] * factor / cT
    norm0 = float(dec.derivative_symbol(0.0).max())
    total = body + tail
    return {"t": times, "rate": rates, "lam": lam, "kappa": kappas, "gamma": 1.0 / (norm0 * total),
            "tail_fraction": tail / total}


def single_site_hamiltonian(V0: Any, variance: float, grid: Grid) -> Any:
    """``H(φ) = V_0(φ) + φ²/(2 C_∞)`` on a 1D grid: ``ν_0 ∝ e^{−H}`` for one site with ``C_∞ = variance``."""
    if grid.dim != 1:
        raise ValueError("single_site_hamiltonian needs a 1D grid")
    x = grid.points
    return V0(x, ndim=1) + 0.5 * x[..., 0] ** 2 / variance


def _dirichlet(grid: Grid, H: Any) -> tuple[np.ndarray, np.ndarray, float]:
    if grid.dim != 1 or grid.periodic:
        raise ValueError("the Sturm–Liouville problem is solved on a 1D box grid (Grid.box(n, extent))")
    H = to_numpy(H).astype(float)
    H = H - H.min()
    h = grid.spacing[0]
    mass = np.exp(-H) * h
    face = np.exp(-0.5 * (H[1:] + H[:-1])) / h
    Z = mass.sum()
    return mass / Z, face / Z, h


def spectral_gap(grid: Grid, H: Any, count: int = 1) -> tuple[float, np.ndarray]:
    """The spectral gap of ``L f = f'' − H'f'`` on ``L²(e^{−H})`` and its eigenfunction (mean zero, ``max|f| = 1``).

    Finite volumes with zero flux: ``Σ_faces a_f (f_{i+1} − f_i)² = μ Σ_i m_i f_i²`` with
    ``a_f = e^{−H_f}/h``, ``m_i = e^{−H_i} h`` (second order in ``h``).  ``count > 1`` returns the
    ``count`` smallest non-zero eigenvalues as an array.
    """
    from scipy.linalg import eigh_tridiagonal

    m, a, _ = _dirichlet(grid, H)
    diag = (np.concatenate([a, [0.0]]) + np.concatenate([[0.0], a])) / m
    off = -a / np.sqrt(m[1:] * m[:-1])
    w, v = eigh_tridiagonal(diag, off, select="i", select_range=(0, count))
    f = v[:, 1] / np.sqrt(m)
    f = f - np.sum(m * f)
    f = f / np.max(np.abs(f))
    return (float(w[1]) if count == 1 else w[1:]), f


def _quotient(m: np.ndarray, a: np.ndarray, u: np.ndarray) -> tuple[float, np.ndarray]:
    """``J(u) = 2E_ν|f'|²/Ent_ν(f²)`` for ``f = e^{u/2}`` with the discrete forms ``(m, a)``, and ``dJ/du``."""
    u = u - np.sum(m * u)
    f = np.exp(0.5 * u)
    df = np.diff(f)
    energy = np.sum(a * df * df)
    F = f * f
    EF = np.sum(m * F)
    ent = np.sum(m * F * u) - EF * math.log(EF)
    J = 2 * energy / ent
    # dE/dv = (dE/df)(f/2); dEnt/dv_i = m_i F_i (v_i − log E[F]); J is shift invariant so dJ/du = dJ/dv
    dE = np.zeros_like(f)
    dE[:-1] -= 2 * a * df
    dE[1:] += 2 * a * df
    dJ_du = 2 * (dE * 0.5 * f) / ent - (2 * energy / ent**2) * (m * F * (u - math.log(EF)))
    return J, dJ_du


def lsi_quotient(grid: Grid, H: Any, u: Any) -> float:
    """The log-Sobolev quotient ``2E_ν|f'|²/Ent_ν(f²)`` of ``f = e^{u/2}`` under ``ν ∝ e^{−H}`` on a 1D grid.

    Every ``u`` gives an upper bound on the LSI constant; as ``u = a·g → 0`` the quotient tends to the
    Poincaré quotient of ``g`` (the spectral gap for the gap eigenfunction).  Same discrete Dirichlet form
    as :func:`spectral_gap` and :func:`lsi_constant`.
    """
    m, a, _ = _dirichlet(grid, H)
    u = np.asarray(to_numpy(u), dtype=float)
    if u.shape != m.shape:
        raise ValueError(f"u must be given on the grid, shape {m.shape}, got shape {u.shape}")
    return float(_quotient(m, a, u)[0])


def lsi_constant(grid: Grid, H: Any, amplitudes: tuple[float, ...] = (1.0, 4.0), maxiter: int = 400) -> float:
    """The log-Sobolev constant ``γ = inf_f 2E_ν|f'|²/Ent_ν(f²)`` of ``ν ∝ e^{−H}`` on a 1D grid.

    Minimised over ``f = e^{u/2}`` by L-BFGS with the exact gradient, from ``u = a·g`` (``g`` the
    gap eigenfunction and the identity ``x``, several amplitudes ``a``); small amplitudes give
    ``≈ gap``, so the result is at most the gap.  Non-convex: the result is the best local minimum
    found, an upper bound on the true constant that converges to it as the starts cover the minimiser.
    When no start goes below the gap the gap itself is returned: the search then found no function
    whose quotient beats the Poincaré limit (:func:`lsi_quotient` traces the quotient along such starts).
    """
    from scipy.optimize import minimize

    m, a, h = _dirichlet(grid, H)
    gap, g = spectral_gap(grid, H)
    x = to_numpy(grid.axes[0])

    best = gap
    for shape in (g, x / np.max(np.abs(x))):
        for amp in amplitudes:
            res = minimize(lambda u: _quotient(m, a, u), amp * shape, jac=True, method="L-BFGS-B",
                           options={"maxiter": maxiter, "gtol": 1e-9, "ftol": 1e-13})
            if np.isfinite(res.fun):
                best = min(best, float(res.fun))
    return best
