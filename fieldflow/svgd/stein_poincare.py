"""The Stein–Poincaré constant of mean-field SVGD on the grid: the flow linearised at the target.

Write a density near the discrete target as ``ρ = ρ∞,h (1 + φ)``.  To first order in ``φ`` the scheme of
:class:`~fieldflow.svgd.SVGDFlow` (and of :class:`~fieldflow.svgd.LocalSVGDFlow`) is linear: the face mobility
is ``Λ(r_i, r_j) = 1 + O(φ)`` and the limiter is off (``S = 1``), so

.. math:: B\\,\\dot\\phi = -A\\,\\phi, \\qquad B = h^d\\,{\\rm diag}(\\rho_{\\infty,h}), \\qquad
          A = h^d \\sum_a G_a^\\top W_a K_a W_a G_a,

with ``G_a`` the face difference ``(φ_{i+e_a} − φ_i)/h_a``, ``W_a = diag(ω_f)`` the scaled Duncan weights on the
faces of axis ``a`` and ``K_a`` the matrix of the discrete convolution ``K_h`` on that face lattice (the identity
for the local flow).  ``A`` is symmetric positive semi-definite with the constants as its kernel, and to second
order ``KL_h = ½ φᵀBφ``, ``𝔻_h² = φᵀAφ``.  The **Stein–Poincaré constant**

.. math:: \\mu_1 = \\min_{\\phi^\\top B 1 = 0} \\frac{\\phi^\\top A\\phi}{\\phi^\\top B\\phi}

is the smallest non-zero eigenvalue of the generalised symmetric eigenproblem ``A v = μ B v``.  Near
equilibrium ``𝔻² ≥ 2μ₁ KL``, and along a solution ``KL(t) ≈ C e^{−2μ₁ t}``: the asymptotic KL decay rate is
``2μ₁``, and the Stein-log-Sobolev constant (``λ KL ≤ 𝔻²`` for all ``ρ``) is at most ``2μ₁``.  Units:
``μ₁`` is 1/time of the flow.

The eigenproblem is solved densely on the host (``scipy.linalg.eigh``): it is analysis, not a time step,
and grids up to a few thousand cells suffice (``max_cells``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.backend import to_numpy

__all__ = ["SteinPoincare", "linearised_forms", "stein_poincare", "rayleigh_quotient"]

#: largest grid handled densely by default (the face-lattice kernel matrices are dense)
MAX_CELLS = 4096


@dataclass(frozen=True)
class SteinPoincare:
    """The spectrum of the linearised flow ``A v = μ B v`` (without the zero eigenvalue of the constants).

    Attributes
    ----------
    constant : float
        ``μ₁``, the Stein–Poincaré constant (1/time).
    eigenvalues : numpy.ndarray
        ``μ₁ ≤ μ₂ ≤ …`` (1/time), as many as asked for.
    modes : numpy.ndarray
        The density perturbations ``δρ = ρ∞,h φ_k`` of the eigenvectors, shape ``(count,) + grid.shape``,
        normalised to ``φᵀBφ = 1``.
    """

    constant: float
    eigenvalues: np.ndarray
    modes: np.ndarray

    @property
    def kl_rate(self) -> float:
        """``2μ₁``: the asymptotic decay rate of ``KL(ρ_t‖ρ∞)`` (1/time)."""
        return 2.0 * self.constant


def _face_difference(shape: tuple[int, ...], a: int, h: float) -> Any:
    """The sparse face difference ``(φ_{i+e_a} − φ_i)/h`` from cells (C order) to the faces of axis ``a``."""
    import scipy.sparse as sp

    factors = [sp.identity(n, format="csr") for n in shape]
    n = shape[a]
    factors[a] = sp.diags([-np.ones(n - 1), np.ones(n - 1)], [0, 1], shape=(n - 1, n), format="csr") / h
    out = factors[0]
    for f in factors[1:]:
        out = sp.kron(out, f, format="csr")
    return out


def _kernel_matrix(column: np.ndarray, face_shape: tuple[int, ...]) -> np.ndarray:
    """Dense ``K[f, f'] = c[(f − f') mod P]`` on a face lattice, ``c`` the circulant's first column on the padded lattice."""
    index = np.indices(face_shape).reshape(len(face_shape), -1)
    P = column.shape
    offsets = tuple((index[a][:, None] - index[a][None, :]) % P[a] for a in range(len(face_shape)))
    return column[offsets]


def _factors(pde: Any, max_cells: int) -> list[tuple[Any, np.ndarray | None]]:
    """Per axis ``(W_a G_a, K_a)`` (sparse, and dense or ``None`` for the local flow), with ``𝔻_h² = h^d Σ_a
    (W_a G_a φ)ᵀ K_a (W_a G_a φ)`` to second order."""
    from .pde import LocalSVGDFlow, SVGDFlow

    if not isinstance(pde, (SVGDFlow, LocalSVGDFlow)):
        raise ValueError(f"expected an SVGDFlow or LocalSVGDFlow, got {type(pde).__name__}")
    grid = pde.grid
    if grid.size > max_cells:
        raise ValueError(f"the grid has {grid.size} cells, above max_cells={max_cells}: the linearised operator is "
                         "assembled densely; use a coarser grid or raise max_cells (memory grows like cells²)")
    column = None
    if isinstance(pde, SVGDFlow):
        conv = pde.convolution
        column = to_numpy(conv.fft.irfftn(conv.symbol, s=conv.padded_shape, axes=tuple(range(-grid.dim, 0))))
    out = []
    for a, (h, w) in enumerate(zip(grid.spacing, pde.face_weights)):
        WG = _face_difference(grid.shape, a, h).multiply(to_numpy(w).ravel()[:, None]).tocsr()
        out.append((WG, None if column is None else _kernel_matrix(column, pde.face_grids[a].shape)))
    return out


def linearised_forms(pde: Any, max_cells: int = MAX_CELLS) -> tuple[np.ndarray, np.ndarray]:
    """``(A, b)``: the dense matrix ``A`` of the linearised dissipation ``𝔻_h² = φᵀAφ`` and the diagonal ``b`` of
    ``B`` (``KL_h = ½ φᵀBφ``) at ``ρ∞,h`` (see the module docstring), as host arrays.

    ``pde`` is an :class:`~fieldflow.svgd.SVGDFlow` or :class:`~fieldflow.svgd.LocalSVGDFlow`; ``ValueError`` for
    grids above ``max_cells`` cells (the kernel matrices are dense).
    """
    A = np.zeros((pde.grid.size, pde.grid.size))
    for WG, K in _factors(pde, max_cells):
        A += (WG.T @ WG).toarray() if K is None else WG.T.toarray() @ (K @ WG.toarray())
    A = 0.5 * (A + A.T) * pde.grid.cell_volume
    return A, to_numpy(pde.rho_inf).ravel() * pde.grid.cell_volume


def stein_poincare(pde: Any, count: int = 4, max_cells: int = MAX_CELLS) -> SteinPoincare:
    """The Stein–Poincaré constant ``μ₁`` and the next ``count − 1`` eigenvalues of the linearised flow.

    Solves ``A v = μ B v`` (:func:`linearised_forms`) through its inverse, so that the *smallest* eigenvalues are
    the best-resolved ones however large the Duncan weights ``e^{V−V0}`` at the box's edge are: with ``Â = A +
    τ (B1)(B1)ᵀ`` (symmetric positive definite; it moves the zero eigenvalue of the constants to ``τ·1ᵀB1``
    and leaves the others), ``1/μ`` are the largest eigenvalues of ``B^{1/2} Â^{-1} B^{1/2} = XᵀX``,
    ``X = L^{-1}B^{1/2}``, ``Â = LLᵀ`` (Cholesky, whose rounding errors are relative to the diagonal of ``Â``).
    The eigenvector of the constants, if among the computed ones, is recognised by its overlap with them and dropped.
    (The Rayleigh quotient ``φᵀAφ/φᵀBφ`` is *not* a refinement here: ``φ = B^{-1/2}ψ`` amplifies the eigenvector's
    rounding errors in the far tail by ``ρ∞^{-1/2}``.)
    """
    import scipy.linalg as la

    if not (isinstance(count, (int, np.integer)) and count >= 1):
        raise ValueError(f"count must be a positive integer, got {count!r}")
    A, b = linearised_forms(pde, max_cells)
    n = b.size
    count = min(int(count), n - 1)
    # τ b bᵀ no larger than A's diagonal, so the rank-one term does not swamp A's bulk (the constants' eigenvalue
    # τ·1ᵀB1 may then be among the smallest: it is recognised and dropped below)
    tau = float(np.max(np.diag(A))) / float(np.sum(b)) ** 2
    try:
        L = la.cholesky(A + tau * np.outer(b, b), lower=True)
    except la.LinAlgError:
        raise ValueError(
            "the linearised dissipation is below round-off (relative to the mass constraint) on cells where ρ∞ "
            f"carries mass (smallest A_ii/b_i = {float(np.min(np.diag(A) / b)):.2g}): μ₁ is too small to resolve "
            "here; bound it from above with rayleigh_quotient(pde, φ) for test functions φ") from None
    X = la.solve_triangular(L, np.diag(np.sqrt(b)), lower=True)
    values, vectors = la.eigh(X.T @ X, subset_by_index=[n - count - 1, n - 1])
    values, vectors = values[::-1], vectors[:, ::-1]
    constant = np.sqrt(b) / np.linalg.norm(np.sqrt(b))
    overlap = np.abs(constant @ vectors)
    keep = [k for k in range(count + 1) if overlap[k] < 0.5][:count]
    # eigenvectors ψ of B^{1/2}Â^{-1}B^{1/2} are ψ = B^{1/2}φ (φᵀBφ = ψᵀψ = 1); δρ = ρ∞,h φ = √(ρ∞,h/h^d) ψ
    mu = 1.0 / values[keep]
    weight = np.sqrt(to_numpy(pde.rho_inf).ravel() / pde.grid.cell_volume)
    modes = np.stack([(weight * vectors[:, k]).reshape(pde.grid.shape) for k in keep])
    return SteinPoincare(float(mu[0]), mu, modes)


def rayleigh_quotient(pde: Any, phi: Any, max_cells: int = MAX_CELLS) -> float:
    """``𝔻_h²(φ)/Var_{ρ∞,h}(φ)`` for a perturbation ``ρ = ρ∞,h(1 + φ)``: an upper bound on ``μ₁`` for every
    non-constant ``φ`` (Rayleigh–Ritz), equal to it at the first eigenmode.

    Formed from face differences, ``𝔻_h²(φ) = h^d Σ_a (W_a G_a φ)ᵀK_a(W_a G_a φ)``, so it is accurate to round-off
    relative to itself however small (no cancellation against the mass constraint, unlike the eigensolver).
    """
    phi = np.asarray(to_numpy(phi), dtype=float).ravel()
    b = to_numpy(pde.rho_inf).ravel() * pde.grid.cell_volume
    if phi.size != b.size:
        raise ValueError(f"phi must have the grid's {b.size} values, got {phi.size}")
    mean = float(b @ phi) / float(np.sum(b))
    variance = float(b @ (phi - mean) ** 2)
    weighted = phi[b > 0]
    if weighted.size == 0 or np.all(weighted == weighted[0]) or not variance > 0:
        raise ValueError("phi is constant where ρ∞ carries mass: its Rayleigh quotient is undefined")
    dissipation = 0.0
    for WG, K in _factors(pde, max_cells):
        g = WG @ phi
        dissipation += float(g @ g) if K is None else float(g @ (K @ g))
    return dissipation * pde.grid.cell_volume / variance
