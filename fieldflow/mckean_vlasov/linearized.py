"""The linearised McKean–Vlasov operator at a stationary state: Galerkin matrices and spectrum.

At a stationary state ``q`` of ``∂t q = ½ q'' − K (q (W'*q))'`` (:ref:`conventions-linearized-mckean-vlasov`) a mean-zero
perturbation ``u`` evolves to first order by

.. math::  L_q u = \\tfrac12 u'' - K\\big(q\\,(W'*u) + u\\,(W'*q)\\big)' .

**Fourier–Galerkin matrix.**  Write ``u = Σ_n û_n e^{inθ}``, ``û_n = (2π)^{-1}∫u e^{-inθ}``.  With
``W = Σ_k c_k cos kθ`` the convolution is the multiplier ``(W'*u)^_n = iπ n c_{|n|} û_n`` and a
product ``q v`` is the discrete convolution ``(qv)^_m = Σ_n q̂_{m−n} v̂_n``, so on the modes
``0 < |m|, |n| ≤ N``

.. math::  (L_N)_{mn} = -\\tfrac{m^2}{2}\\,\\delta_{mn}
           + K\\pi\\, m\\, \\hat q_{m-n}\\,\\big(n\\,c_{|n|} + (m-n)\\,c_{|m-n|}\\big).

The ``q̂_k`` come from one FFT of ``q``; every product with ``q`` is the exact (alias-free)
Galerkin product, i.e. a Toeplitz matrix of ``q̂`` built with index arrays (or, for the sparse
solver, from its numerically non-zero diagonals) — no loops over modes.  Matrices are returned in
the real basis ``cos nθ, sin nθ`` (``n = 1..N``).

**Self-adjoint form.**  Because ``q`` is stationary, ``(log q)' = 2K W'*q =: ℓ`` and

.. math::  L_q = -A H, \\qquad A v = -(q v')' , \\qquad H u = \\frac{u}{2q} - K\\, W*u ,

with the mobility ``A`` symmetric positive definite on mean-zero functions and the free-energy
Hessian ``H`` symmetric.  So ``L_q`` is self-adjoint in the weighted ``H^{-1}`` product
``⟨u, v⟩_{A^{-1}} = ∫ q φ_u' φ_v'`` (``u = Aφ_u``) and its spectrum is real.  In the potential
``φ`` (``u = Aφ``) the eigenproblem ``L_q u = λu`` is the symmetric pencil

.. math::  b(\\psi,\\varphi) = \\lambda\\, a(\\psi,\\varphi), \\qquad
           a(\\psi,\\varphi) = \\int q\\,\\psi'\\varphi', \\qquad
           b(\\psi,\\varphi) = -\\tfrac12\\int q\\,(G\\psi)(G\\varphi)
                               + K\\int (A\\psi)\\, W*(A\\varphi),

``Gφ = φ'' + ℓφ'`` (using ``Aφ = −q Gφ``).  ``ℓ`` is a trigonometric polynomial of degree
``max_mode(W)`` and ``W*`` keeps only the modes of ``W``, so for ``φ`` in the span of the modes
``1..N`` both forms are evaluated *exactly* from ``q̂`` — a Rayleigh–Ritz method: its eigenvalues
are real, approach the true ones from below as ``N`` grows, and never appear above them.  With
``a = R Rᵀ`` (Cholesky), ``S = R^{-1} b R^{-T}`` is the symmetric matrix of ``L_q`` in an
``⟨·,·⟩_{A^{-1}}``-orthonormal basis.  Only ``q`` and ``ℓ`` enter (never ``1/q``), but the
mobility itself has condition number ``≈ N² max q / min q`` (up to ``e^{4K Σ|c_k|}``), and the
potentials ``φ`` of the eigenfunctions grow like ``1/q`` where ``q`` is small; so the symmetric
form is accurate for moderately concentrated states (``max q / min q ≲ 1e6``), while the direct
Galerkin matrix ``L_N``, which involves ``q`` only, converges exponentially to round-off for any
resolved ``q``.  :func:`linearized_spectrum` therefore solves ``L_N x = λx`` (and reports the
imaginary parts, round-off), and the tests check both forms against each other.

Units: ``θ`` in radians, ``q`` in 1/radian, eigenvalues in 1/time (the time of the PDE).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..core.backend import get_fft, namespace_of, to_numpy
from ..core.grids import Grid

__all__ = [
    "LinearizedOperator",
    "LinearizedSpectrum",
    "linearized_operator",
    "linearized_spectrum",
    "uniform_eigenvalues",
]

#: relative size of the top Fourier coefficients of ``q`` above which it counts as under-resolved
_RESOLVED = 1e-11
#: Fourier coefficients of ``q`` below this (relative to the mean) are dropped by the sparse solver
_NEGLIGIBLE = 1e-17
#: largest ``2N`` solved densely by ``method="auto"``
_DENSE_MAX = 600
#: stationarity residual (relative) above which ``q`` is rejected
_STATIONARY = 1e-8


# ---------------------------------------------------------------------------- input handling


def _fft(backend: str) -> Any:
    """The FFT provider for ``backend`` (the shared policy already runs these short 1D transforms on one thread)."""
    return get_fft(backend=backend)


def _coefficients(W: Any, kmax: int) -> np.ndarray:
    """``c_k`` for ``k = 0..kmax`` from an interaction with a ``coefficients`` mapping."""
    coeffs = getattr(W, "coefficients", None)
    if not isinstance(coeffs, dict):
        raise ValueError(
            "W must be a torus interaction with Fourier coefficients (fieldflow.mckean_vlasov.interactions.Fourier), "
            f"got {type(W).__name__}"
        )
    c = np.zeros(kmax + 1)
    for k, value in coeffs.items():
        if k <= kmax:
            c[k] = value
    return c


def _max_mode(W: Any) -> int:
    _coefficients(W, 0)
    return max(k for k, v in W.coefficients.items() if v != 0)


def _check_coupling(K: Any) -> float:
    try:
        K = float(K)
    except (TypeError, ValueError):
        raise ValueError(f"the coupling K must be a positive number, got {K!r}") from None
    if not (math.isfinite(K) and K > 0):
        raise ValueError(f"the coupling K must be positive and finite, got {K!r}")
    return K


def _check_modes(modes: Any) -> int:
    if isinstance(modes, bool) or not isinstance(modes, (int, np.integer)) or modes < 2:
        raise ValueError(f"modes must be an integer >= 2 (the Fourier modes 1..N kept), got {modes!r}")
    return int(modes)


def _density(q: Any, grid: Grid | None) -> tuple[Any, Grid]:
    """The density array and its torus grid, from an array or a stationary-state object."""
    if hasattr(q, "q") and hasattr(q, "grid"):
        q, grid = q.q, q.grid
    if grid is None:
        shape = np.shape(to_numpy(q))
        if len(shape) != 1:
            raise ValueError(f"q must be a 1D array on Grid.torus(n), got shape {shape}")
        grid = Grid.torus(shape[0], backend=namespace_of(q).__name__)
    if not grid.periodic or grid.dim != 1:
        raise ValueError(f"the linearised McKean–Vlasov operator lives on a 1D torus; give q on Grid.torus(n), got {grid!r}")
    from ..core.validation import validate_density

    q = validate_density(grid, grid.xp.asarray(q), name="stationary density q")
    mass = grid.integrate(q)
    if abs(mass - 1) > 1e-8:
        raise ValueError(f"q must be a probability density (mass 1), its mass is {mass:.12g}; normalise it")
    return q, grid


def uniform_eigenvalues(W: Any, K: float, modes: int) -> np.ndarray:
    """Closed-form eigenvalues of ``L_q`` at the uniform state ``q = 1/2π``.

    ``L_q e^{inθ} = −½ n² (1 − K c_{|n|}) e^{inθ}``, so each mode ``n = 1..N`` gives the double
    eigenvalue ``λ_n = −½ n² (1 − K c_n)`` (eigenfunctions ``cos nθ`` and ``sin nθ``).

    Returns
    -------
    ndarray of shape (2N,)
        The eigenvalues in the order of the real basis ``(cos nθ)_{n=1..N}, (sin nθ)_{n=1..N}``.
    """
    K = _check_coupling(K)
    N = _check_modes(modes)
    n = np.arange(1, N + 1)
    lam = -0.5 * n**2 * (1 - K * _coefficients(W, N)[1:])
    return np.concatenate([lam, lam])


# ---------------------------------------------------------------------------- matrix assembly


class _Assembler:
    """Builds Galerkin matrices over contiguous signed mode ranges ``−P..P`` (dense ``xp`` or scipy.sparse)."""

    def __init__(self, kmax: int, xp: Any, sparse: bool):
        self.kmax, self.xp, self.sparse = kmax, xp, sparse
        if sparse:
            import scipy.sparse as sp

            self.sp = sp

    def scale(self, X: Any, left: np.ndarray | None = None, right: np.ndarray | None = None) -> Any:
        """``diag(left) X diag(right)`` (row and column scaling)."""
        if self.sparse:
            if left is not None:
                X = self.sp.diags(left) @ X
            if right is not None:
                X = X @ self.sp.diags(right)
            return X.tocsr()
        xp = self.xp
        if left is not None:
            X = xp.asarray(left)[:, None] * X
        if right is not None:
            X = X * xp.asarray(right)[None, :]
        return X

    def toeplitz(self, symbol: Any, rows: int, cols: int) -> Any:
        """``X[j, k] = symbol[j − k]`` for modes ``j ∈ −rows..rows``, ``k ∈ −cols..cols``.

        ``symbol`` is indexed by offset ``+ kmax``; offsets beyond ``±kmax`` are zero.
        """
        if self.sparse:
            sym = to_numpy(symbol)
            offsets = np.flatnonzero(np.abs(sym) > _NEGLIGIBLE * np.abs(sym).max()) - self.kmax
            j = np.arange(-rows, rows + 1)
            diagonals, offs = [], []
            for d in offsets:  # mode offset d = j − k sits on scipy's diagonal (col − row) = cols − rows − d
                count = int(np.sum(np.abs(j - d) <= cols))
                if count:
                    offs.append(int(cols - rows - d))
                    diagonals.append(np.full(count, sym[d + self.kmax]))
            return self.sp.diags(diagonals, offs, shape=(2 * rows + 1, 2 * cols + 1), dtype=complex).tocsr()
        xp = self.xp
        d = np.arange(-rows, rows + 1)[:, None] - np.arange(-cols, cols + 1)[None, :]
        ok = np.abs(d) <= self.kmax
        if ok.all():
            return symbol[xp.asarray(d + self.kmax)]
        out = xp.zeros(d.shape, dtype=complex)
        out[xp.asarray(ok)] = symbol[xp.asarray(d[ok] + self.kmax)]
        return out

    def to_real(self, X: Any, P: int) -> Any:
        """Real ``(cos, sin)``-basis matrix of a real operator given on the complex modes ``−P..P``.

        With ``û_{±n} = (a_n ∓ i b_n)/2``, ``a_m = 2 Re (Xû)_m`` and ``b_m = −2 Im (Xû)_m`` (``m > 0``):
        ``[[Re S, −Im D], [−Im S, −Re D]]`` with ``S = X[m, n] + X[m, −n]``, ``D = X[m, −n] − X[m, n]``.
        The same matrix represents a Hermitian form ``Σ conj(ψ̂) X φ̂`` up to the factor ``1/2``.
        """
        pos = np.arange(P + 1, 2 * P + 1)
        neg = np.arange(P - 1, -1, -1)
        if self.sparse:
            Xr = X[pos]
            Xpp, Xpm = Xr[:, pos], Xr[:, neg]
            S, D = Xpp + Xpm, Xpm - Xpp
            return self.sp.bmat([[S.real, -D.imag], [-S.imag, -D.real]], format="csr")
        xp = self.xp
        Xpp, Xpm = X[P + 1 :, P + 1 :], X[P + 1 :, xp.asarray(neg)]
        S, D = Xpp + Xpm, Xpm - Xpp
        return xp.concatenate([xp.concatenate([S.real, -D.imag], axis=1), xp.concatenate([-S.imag, -D.real], axis=1)])


def _fourier_coefficients(q: Any, grid: Grid, kmax: int) -> Any:
    """``q̂_k = (2π)^{-1}∫ q e^{-ikθ}`` for ``k = −kmax..kmax`` (index ``k + kmax``), zero beyond the grid."""
    xp = grid.xp
    n = grid.shape[0]
    qh = _fft(grid.backend).rfftn(xp.asarray(q, dtype=float), axes=(0,)) / n  # modes 0..n/2
    lo = max(1, (2 * n) // 5)
    tail = float(xp.max(xp.abs(qh[lo:])))
    if tail > _RESOLVED * abs(complex(qh[0])):
        raise ValueError(
            f"q is under-resolved on Grid.torus({n}): its Fourier coefficients near mode n/2 are "
            f"{tail:.2e} relative to the mean; pass q on a finer grid"
        )
    top = min(kmax, n // 2 - 1)  # highest unambiguous mode (the Nyquist mode is dropped)
    out = xp.zeros(2 * kmax + 1, dtype=complex)
    out[kmax : kmax + top + 1] = qh[: top + 1]
    out[kmax - top : kmax + 1] = xp.conj(qh[: top + 1])[::-1]
    return out


def _stationarity_residual(qhat: Any, c: np.ndarray, K: float, kmax: int, xp: Any) -> float:
    """``max_k |(½q' − K q (W'*q))^_k| / q̂_0``, exact in Fourier space for ``|k| ≤ kmax − max_mode``."""
    M = len(c) - 1
    k = np.arange(-kmax, kmax + 1)
    p = xp.asarray(1j * math.pi * k * np.where(np.abs(k) <= M, c[np.minimum(np.abs(k), M)], 0.0)) * qhat
    # (q p)^_j = Σ_{|i| ≤ M} p̂_i q̂_{j−i} for |j| ≤ kmax − M
    j = np.arange(-(kmax - M), kmax - M + 1)
    i = np.arange(-M, M + 1)
    qp = (qhat[xp.asarray(j[:, None] - i[None, :] + kmax)] * p[xp.asarray(i + kmax)][None, :]).sum(axis=1)
    res = 0.5j * xp.asarray(j) * qhat[xp.asarray(j + kmax)] - K * qp
    return float(xp.max(xp.abs(res))) / abs(complex(qhat[kmax]))


@dataclass(frozen=True)
class LinearizedOperator:
    """Fourier–Galerkin discretisation of ``L_q`` on the modes ``1..N`` in the real basis ``cos, sin``.

    Coefficient vectors are ``x = (a_1..a_N, b_1..b_N)`` for ``u = Σ a_n cos nθ + b_n sin nθ``.

    Attributes
    ----------
    W, K
        The interaction and coupling.
    q : array
        The stationary density on ``grid``.
    grid : Grid
        ``Grid.torus(n)`` of ``q``.
    modes : int
        ``N``; the matrices are ``2N × 2N``.
    matrix : array
        The Galerkin matrix ``L_N`` of ``L_q`` (coefficients of ``u`` to those of ``L_q u``).
    stationarity_residual : float
        ``max_k |(½q' − K q (W'*q))^_k| / q̂_0``.
    sparse : bool
        Whether the matrices are ``scipy.sparse`` (host) rather than dense ``grid.xp`` arrays.
    """

    W: Any
    K: float
    q: Any
    grid: Grid
    modes: int
    matrix: Any
    stationarity_residual: float
    sparse: bool = False
    _qhat: Any = field(default=None, repr=False)
    _c: np.ndarray = field(default=None, repr=False)

    # ------------------------------------------------------------------ the symmetric (Ritz) forms
    @property
    def _asm(self) -> "_Assembler":
        return _Assembler((len(self._c) - 1), self.grid.xp, self.sparse)

    @cached_property
    def mobility(self) -> Any:
        """The Galerkin matrix of ``A v = −(q v')'``: ``(A)_{mn} = m n q̂_{m−n}`` (computed on first use).

        Symmetric positive definite; ``π xᵀ mobility y = ∫ q φ_x' φ_y'`` is the form ``a``.
        """
        asm, N = self._asm, self.modes
        n_N = np.arange(-N, N + 1).astype(complex)
        A = asm.to_real(asm.scale(asm.toeplitz(self._qhat, N, N), n_N, n_N), N)
        return A if self.sparse else 0.5 * (A + A.T)

    @cached_property
    def stiffness(self) -> Any:
        """The symmetric matrix of the form ``b(ψ, φ) = ⟨ψ, L_q Aφ⟩`` (divided by π), exact on the modes ``1..N``.

        Computed on first use.

        ``b/(2π) = −½ Gᴴ T_q G + πK Eᴴ C E`` with ``Gφ = φ'' + ℓφ' = (−D² + T_ℓ iD)φ`` and
        ``E = D_M T_q D`` (``D = diag(n)``, ``C = diag(c_|k|)``, ``|k| ≤ M``).  ``ℓ`` has modes
        ``|k| ≤ M``, so every product of Toeplitz factors is the exact Toeplitz matrix of the
        convolved symbols: ``Gᴴ T_q G = D²T_qD² − iD²T_{qℓ}D + iDT_{ℓq}D² + DT_{ℓqℓ}D``.
        """
        asm, N, K, xp, qhat, c = self._asm, self.modes, self.K, self.grid.xp, self._qhat, self._c
        kmax = len(c) - 1
        M = _max_mode(self.W)
        offsets = np.arange(-kmax, kmax + 1)
        ell = xp.asarray(2j * K * math.pi * offsets * c[np.abs(offsets)]) * qhat  # ℓ̂_k, ℓ = 2K W'*q = (log q)'
        ell_M = ell[kmax - M : kmax + M + 1]
        q_ell = xp.convolve(qhat, ell_M, mode="same")        # (qℓ)^, exact for |k| ≤ kmax − M
        ell_q_ell = xp.convolve(q_ell, ell_M, mode="same")   # (ℓqℓ)^, exact for |k| ≤ kmax − 2M = 2N
        n_N = np.arange(-N, N + 1).astype(complex)
        T_qell = asm.toeplitz(q_ell, N, N)
        GTG = (asm.scale(asm.toeplitz(qhat, N, N), n_N**2, n_N**2)
               + 1j * (asm.scale(T_qell, n_N, n_N**2) - asm.scale(T_qell, n_N**2, n_N))
               + asm.scale(asm.toeplitz(ell_q_ell, N, N), n_N, n_N))
        k_M = np.arange(-M, M + 1)
        E = asm.scale(asm.toeplitz(qhat, M, N), k_M.astype(complex), n_N)
        CE = asm.scale(E, left=c[np.abs(k_M)].astype(complex))
        B = asm.to_real(-0.5 * GTG + math.pi * K * (E.conj().T @ CE), N)
        return B if self.sparse else 0.5 * (B + B.T)

    @cached_property
    def _symmetrized(self) -> tuple[Any, Any]:
        if self.sparse:
            raise ValueError("the symmetric form is dense; build the operator with sparse=False")
        xp = self.grid.xp
        if xp is np:
            from scipy.linalg import solve_triangular
        else:  # pragma: no cover - GPU only
            from cupyx.scipy.linalg import solve_triangular
        R = xp.linalg.cholesky(self.mobility)
        S = solve_triangular(R, solve_triangular(R, self.stiffness, lower=True).T, lower=True).T
        return 0.5 * (S + S.T), R

    @property
    def symmetric(self) -> Any:
        """``S = R⁻¹ B R⁻ᵀ`` (``mobility = R Rᵀ``, ``B = stiffness``): ``L_q`` in an ``A^{-1}``-orthonormal basis.

        An eigenvector ``v`` of ``S`` gives the potential coefficients ``x = R⁻ᵀ v`` and the
        eigenfunction ``u = Aφ_x`` of ``L_q`` with ``⟨u, u⟩_{A^{-1}} = π``.
        """
        return self._symmetrized[0]

    @property
    def cholesky(self) -> Any:
        """Lower-triangular ``R`` with ``mobility = R Rᵀ``."""
        return self._symmetrized[1]

    # ------------------------------------------------------------------ basis maps
    def to_grid(self, coefficients: Any, grid: Grid | None = None) -> Any:
        """Values of ``u = Σ a_n cos nθ + b_n sin nθ`` at the nodes of ``grid`` (default: ``q``'s).

        ``coefficients`` has shape ``(2N,)`` or ``(2N, k)``; the result ``(n,)`` or ``(k, n)``.
        """
        grid = grid or self.grid
        xp = grid.xp
        theta = grid.axes[0]
        n = xp.arange(1, self.modes + 1, dtype=float)
        basis = xp.concatenate([xp.cos(n[:, None] * theta[None, :]), xp.sin(n[:, None] * theta[None, :])])
        c = xp.asarray(coefficients)
        return (c.T @ basis) if c.ndim == 2 else c @ basis

    def from_grid(self, u: Any) -> Any:
        """The coefficients ``(a_1..a_N, b_1..b_N)`` of grid functions (last axis; modes above ``N`` dropped)."""
        xp, n = self.grid.xp, self.grid.shape[0]
        if self.modes >= n // 2:
            raise ValueError(f"Grid.torus({n}) resolves modes < {n // 2}, the operator keeps {self.modes}; use a finer grid")
        uh = _fft(self.grid.backend).rfftn(xp.asarray(u, dtype=float), axes=(-1,)) / n
        part = uh[..., 1 : self.modes + 1]
        return xp.concatenate([2 * part.real, -2 * part.imag], axis=-1)

    def mobility_to_grid(self, potentials: Any) -> Any:
        """``u = Aφ = −(q φ')'`` on the grid of ``q`` for potential coefficients (columns of) ``potentials``.

        Computed exactly in Fourier space (``(Aφ)^_m = Σ_n m n q̂_{m−n} φ̂_n``) for every mode the
        grid resolves, then synthesised; shape ``(n,)`` or ``(k, n)``.
        """
        xp, n, N = self.grid.xp, self.grid.shape[0], self.modes
        x = xp.asarray(potentials, dtype=float)
        single = x.ndim == 1
        x = x[:, None] if single else x
        phi = xp.zeros((2 * N + 1, x.shape[1]), dtype=complex)  # modes −N..N
        phi[N + 1 :] = 0.5 * (x[:N] - 1j * x[N:])
        phi[:N] = (0.5 * (x[:N] + 1j * x[N:]))[::-1]
        P = n // 2 - 1
        kmax = P + N
        qhat = _fourier_coefficients(self.q, self.grid, kmax)
        T = _Assembler(kmax, xp, sparse=False).toeplitz(qhat, P, N)[P:]  # rows: modes 0..P
        m = xp.asarray(np.arange(0, P + 1, dtype=float))
        k = xp.asarray(np.arange(-N, N + 1, dtype=float))
        uh = m[:, None] * (T @ (k[:, None] * phi))  # modes 0..P of the real function u
        full = xp.zeros((n // 2 + 1, x.shape[1]), dtype=complex)
        full[: P + 1] = uh
        u = _fft(self.grid.backend).irfftn(full.T * n, s=(n,), axes=(-1,))
        return u[0] if single else u


def linearized_operator(W: Any, K: float, q: Any, modes: int | None = None, grid: Grid | None = None,
                        sparse: bool = False) -> LinearizedOperator:
    """The Fourier–Galerkin matrix of ``L_q u = ½u'' − K(q(W'*u) + u(W'*q))'`` and its self-adjoint form.

    Parameters
    ----------
    W : fieldflow.mckean_vlasov.interactions.Fourier
        Even interaction ``W = Σ c_k cos kθ``.
    K : float
        Coupling strength (> 0).
    q : array or StationaryState
        Stationary density on ``Grid.torus(n)`` (an object with ``.q`` and ``.grid`` is accepted).
        It must be resolved on its grid (Fourier coefficients near ``n/2`` below 1e-11 of the
        mean) and stationary (``½q' = K q W'*q`` to 1e-8 relative).
    modes : int, optional
        Number ``N`` of Fourier modes kept (default ``n/4``); the matrices are ``2N × 2N``.
    grid : Grid, optional
        The grid of ``q`` when ``q`` is an array (default ``Grid.torus(len(q))``).
    sparse : bool
        Assemble ``scipy.sparse`` matrices from the numerically non-zero diagonals of ``q̂``
        (for large ``N``; host memory) instead of dense ``grid.xp`` arrays.

    Returns
    -------
    LinearizedOperator
        With ``matrix`` (``L_N``), ``mobility`` (``A_N``), ``stiffness`` (the form ``b``) and,
        for dense operators, ``symmetric`` (``R⁻¹ b R⁻ᵀ``).
    """
    K = _check_coupling(K)
    q, grid = _density(q, grid)
    N = _check_modes(modes if modes is not None else max(2, grid.shape[0] // 4))
    M = _max_mode(W)
    xp = grid.xp
    kmax = 2 * N + 2 * M
    c = _coefficients(W, M)
    cfull = np.zeros(kmax + 1)
    cfull[: M + 1] = c
    qhat = _fourier_coefficients(q, grid, kmax)
    residual = _stationarity_residual(qhat, c, K, kmax, xp)
    if residual > _STATIONARY:
        raise ValueError(
            f"q is not a stationary state: ½q' − K q (W'*q) has relative size {residual:.2e} (> {_STATIONARY:g}); "
            "L_q is linearised at a solution of q ∝ exp(2K W*q) (see fieldflow.mckean_vlasov.stationary_states)"
        )
    asm = _Assembler(kmax, xp, sparse)
    offsets = np.arange(-kmax, kmax + 1)
    kcq = xp.asarray(offsets * cfull[np.abs(offsets)]) * qhat  # symbol k c_|k| q̂_k
    n_N = np.arange(-N, N + 1).astype(complex)
    # direct Galerkin L_N = −½D² + Kπ D (T_q D C + T_{kcq}),  D = diag(n), C = diag(c_|n|)
    L = K * math.pi * asm.scale(asm.scale(asm.toeplitz(qhat, N, N), right=n_N * cfull[np.abs(np.arange(-N, N + 1))])
                                + asm.toeplitz(kcq, N, N), left=n_N)
    L = L + asm.scale(asm.toeplitz(xp.asarray((offsets == 0).astype(complex)), N, N), left=-0.5 * n_N**2)
    return LinearizedOperator(W, K, q, grid, N, asm.to_real(L, N), residual, sparse, qhat, cfull)


# ---------------------------------------------------------------------------- the spectrum


@dataclass
class LinearizedSpectrum:
    """Converged leading eigenvalues and eigenfunctions of ``L_q``.

    Attributes
    ----------
    eigenvalues : ndarray
        The converged leading eigenvalues, real, in decreasing order (1/time).
    eigenfunctions : ndarray, shape (k, n), or None
        Eigenfunctions on the grid of ``q``, normalised in ``L²`` (``∫u² = 1``); the zero mode is
        oriented along ``+q'``, the others so that their first significant Fourier coefficient
        (order ``cos θ, sin θ, cos 2θ, ...``) is positive.
    errors : ndarray
        ``|λ(N) − λ(N₂)|`` between the two resolutions, the error estimate of each eigenvalue.
    zero_mode : int or None
        Index of the eigenvalue 0 (eigenvector ∝ ``q'``) for a non-uniform ``q``; ``None`` at the
        uniform state.
    spectral_gap : float
        ``−max{λ : λ not the zero mode}``: the distance from 0 to the rest of the spectrum when
        ``q`` is linearly stable; negative when ``q`` is linearly unstable.
    n_converged : int
        How many leading eigenvalues agreed between the two resolutions to ``rtol`` (all later
        ones are rejected as unconverged or spurious).
    imaginary : float
        Largest ``|Im λ|`` among the reported eigenvalues (round-off; the spectrum is real).
    modes : tuple of int
        The two resolutions ``(N, N₂)``; the reported eigenvalues are those of ``N₂``.
    method : {"dense", "sparse"}
    q, grid, W, K
        The state and problem.
    operator : LinearizedOperator
        The operator at ``N₂`` modes.
    """

    eigenvalues: np.ndarray
    eigenfunctions: np.ndarray | None
    errors: np.ndarray
    zero_mode: int | None
    spectral_gap: float
    n_converged: int
    imaginary: float
    modes: tuple[int, int]
    method: str
    q: Any = field(repr=False)
    grid: Grid = field(repr=False)
    W: Any = field(repr=False)
    K: float = 0.0
    operator: LinearizedOperator | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        shown = ", ".join(f"{lam:.6g}" for lam in self.eigenvalues[:4]) + (", ..." if len(self.eigenvalues) > 4 else "")
        zero = "none (uniform q)" if self.zero_mode is None else str(self.zero_mode)
        return (f"LinearizedSpectrum(K={self.K:.6g}, spectral_gap={self.spectral_gap:.8g}, eigenvalues=[{shown}] "
                f"({self.n_converged} converged), zero_mode={zero}, modes={tuple(self.modes)}, {self.method})")


def _sorted(lam: np.ndarray, X: Any = None) -> tuple[np.ndarray, Any]:
    order = np.argsort(-lam.real, kind="stable")
    return lam[order], (None if X is None else X[:, order])


def _dense_eig(L: Any, vectors: bool, even: bool = False) -> tuple[np.ndarray, Any]:
    """Eigenpairs of the real matrix ``L`` (host LAPACK ``geev``), by decreasing real part.

    ``even``: ``L`` is block diagonal in the ``(cos, sin)`` basis (an even ``q`` keeps parity), and
    the two halves are solved separately (4× less work).
    """
    import scipy.linalg as sla

    L = to_numpy(L)
    if even:
        h = L.shape[0] // 2
        blocks = [_dense_eig(L[:h, :h], vectors), _dense_eig(L[h:, h:], vectors)]
        lam = np.concatenate([b[0] for b in blocks])
        X = None
        if vectors:
            X = np.zeros((2 * h, 2 * h), dtype=complex)
            X[:h, :h], X[h:, h:] = blocks[0][1], blocks[1][1]
        return _sorted(lam, X)
    if not vectors:
        return _sorted(sla.eigvals(L))
    return _sorted(*sla.eig(L))


def _sparse_eig(L: Any, k: int, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` eigenpairs of the sparse ``L`` nearest ``sigma`` (shift-invert Arnoldi), by decreasing real part."""
    from scipy.sparse.linalg import eigs

    k = min(k, L.shape[0] - 2)
    return _sorted(*eigs(L.tocsc(), k=k, sigma=sigma, which="LM"))


def _converged_count(fine: np.ndarray, coarse: np.ndarray, rtol: float) -> tuple[int, np.ndarray]:
    """Length of the leading run of ``fine`` eigenvalues that have a ``coarse`` partner within ``rtol``."""
    errors = np.abs(coarse[None, :] - fine[:, None]).min(axis=1)
    ok = errors <= rtol * np.maximum(1.0, np.abs(fine))
    return (int(np.argmin(ok)) if not ok.all() else ok.size), errors


def _derivative_coefficients(op: LinearizedOperator) -> np.ndarray:
    """Real-basis coefficients of ``q'`` on the modes ``1..N``: ``(q')^_n = i n q̂_n``."""
    qhat = to_numpy(op._qhat)
    kq = (len(qhat) - 1) // 2
    n = np.arange(1, op.modes + 1)
    d = 1j * n * qhat[kq + n]
    return np.concatenate([2 * d.real, -2 * d.imag])


def linearized_spectrum(
    W: Any,
    K: float,
    q: Any = None,
    modes: int = 64,
    *,
    count: int | None = None,
    rtol: float = 1e-8,
    method: str = "auto",
    n: int | None = None,
    vectors: bool = True,
) -> LinearizedSpectrum:
    """Leading spectrum of ``L_q`` with unconverged and spurious eigenvalues rejected by a second resolution.

    Solves the Fourier–Galerkin eigenproblem ``L_N x = λ x`` at ``N₂ = N + max(4, N/4)`` modes
    and at ``N`` modes (a principal submatrix, so one assembly serves both), and keeps the leading
    eigenvalues (by real part) whose ``N`` and ``N₂`` values agree to ``rtol·max(1, |λ|)``.  The
    eigenvalues are real up to round-off (``L_q`` is self-adjoint in ``⟨·,·⟩_{A^{-1}}``); the
    largest imaginary part is reported.  The non-symmetric ``L_N`` is used rather than the
    symmetric form (:attr:`LinearizedOperator.symmetric`) because it involves only ``q``, not
    the mobility's inverse, whose condition number grows like ``max q / min q`` (``≈ e^{4K Σ c_k}``).

    Parameters
    ----------
    W : fieldflow.mckean_vlasov.interactions.Fourier
    K : float
        Coupling (> 0).
    q : array or StationaryState, optional
        Stationary density on ``Grid.torus``; default: the free-energy minimiser
        (:func:`fieldflow.mckean_vlasov.free_energy_minimizer` with ``n`` nodes).
    modes : int
        ``N``, the coarser of the two resolutions.
    count : int, optional
        Return at most this many eigenvalues (the sparse solver computes ``count + 2``; default 8).
    rtol : float
        Agreement required between the two resolutions.
    method : {"auto", "dense", "sparse"}
        ``"dense"``: all eigenpairs (LAPACK).  ``"sparse"``: banded sparse assembly and
        shift-invert Arnoldi (scipy ``eigs``) for the ``count`` eigenvalues nearest a shift above
        the spectrum.  ``"auto"``: dense for ``2N₂ ≤ 600``.
    n : int, optional
        Grid points used to compute ``q`` when it is omitted.
    vectors : bool
        Evaluate the eigenfunctions on the grid (``False``: ``eigenfunctions`` is ``None``).

    Returns
    -------
    LinearizedSpectrum

    Raises
    ------
    ValueError
        Bad parameters, a non-stationary or under-resolved ``q``, no converged eigenvalue, or a
        non-uniform ``q`` whose zero mode was not resolved (increase ``modes``).
    """
    K = _check_coupling(K)
    N = _check_modes(modes)
    if method not in ("auto", "dense", "sparse"):
        raise ValueError(f"method must be 'auto', 'dense' or 'sparse', got {method!r}")
    if count is not None and (isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1):
        raise ValueError(f"count must be a positive integer, got {count!r}")
    if not 0 < rtol < 1:
        raise ValueError(f"rtol must be in (0, 1), got {rtol!r}")
    if q is None:
        from .stationary import free_energy_minimizer

        q = free_energy_minimizer(W, K, n=n)
    N2 = N + max(4, N // 4)
    if method == "auto":
        method = "dense" if 2 * N2 <= _DENSE_MAX else "sparse"
    op = linearized_operator(W, K, q, modes=N2, sparse=method == "sparse")
    sub = np.concatenate([np.arange(N), N2 + np.arange(N)])
    L = op.matrix
    if method == "dense":
        qhat = to_numpy(op._qhat)
        even = bool(np.abs(qhat.imag).max() <= 1e-14 * abs(qhat[(len(qhat) - 1) // 2]))
        lam_c, _ = _dense_eig(to_numpy(L)[np.ix_(sub, sub)], vectors=False, even=even)
        lam, X = _dense_eig(L, vectors=True, even=even)
    else:
        k = (count or 8) + 2
        small = np.concatenate([np.arange(16), N2 + np.arange(16)])
        top, _ = _dense_eig(L[small][:, small].toarray(), vectors=False)
        sigma = float(top[0].real) + 0.5 * (1 + abs(float(top[0].real)))
        lam_c, _ = _sparse_eig(L[sub][:, sub], k, sigma)
        lam, X = _sparse_eig(L, k, sigma)
    n_conv, errors = _converged_count(lam, lam_c, rtol)
    if n_conv == 0:
        raise ValueError(
            f"no eigenvalue of L_q agreed between {N} and {N2} modes to rtol={rtol:g} "
            f"(top values {lam_c[0].real:.6g} and {lam[0].real:.6g}); increase modes"
        )
    keep = min(n_conv, count) if count is not None else n_conv
    lam, errors, X = lam[:keep], errors[:keep], X[:, :keep]
    imaginary = float(np.abs(lam.imag).max())
    lam = lam.real.copy()
    # the zero mode: the eigenvector along q' (non-uniform q only)
    x0 = _derivative_coefficients(op)
    zero = None
    if np.linalg.norm(x0) > 1e-10 * math.sqrt(op.modes):
        corr = np.abs(x0 @ X) / (np.linalg.norm(x0) * np.linalg.norm(X, axis=0))
        zero = int(np.argmax(corr))
        if corr[zero] < 1 - 1e-6 or abs(lam[zero]) > 1e-6 * max(1.0, abs(lam).max()):
            raise ValueError(
                f"the zero mode q' of the non-uniform state was not resolved (eigenvalue {lam[zero]:.3e}, "
                f"correlation with q' {corr[zero]:.8f}); increase modes"
            )
    rest = np.delete(lam, zero) if zero is not None else lam
    if rest.size == 0:
        raise ValueError(f"only the zero mode converged between {N} and {N2} modes; increase modes")
    U = _eigenfunctions(op, X, x0, zero) if vectors else None
    return LinearizedSpectrum(
        eigenvalues=lam, eigenfunctions=U, errors=errors, zero_mode=zero, spectral_gap=float(-rest.max()),
        n_converged=n_conv, imaginary=imaginary, modes=(N, N2), method=method, q=op.q, grid=op.grid, W=W, K=K,
        operator=op,
    )


def _eigenfunctions(op: LinearizedOperator, X: np.ndarray, x0: np.ndarray, zero: int | None) -> np.ndarray:
    """Real, ``L²``-normalised, oriented grid eigenfunctions from complex eigenvector coefficients ``X``."""
    # a real eigenvalue has a real eigenvector up to a phase: rotate its largest entry onto the real axis
    rows = np.argmax(np.abs(X), axis=0)
    phase = X[rows, np.arange(X.shape[1])]
    Xr = (X * (np.abs(phase) / phase)[None, :]).real
    Xr = Xr / np.sqrt(math.pi * (Xr * Xr).sum(axis=0))[None, :]  # ∫u² = π Σ(a² + b²) = 1
    N2 = op.modes
    interleaved = Xr.reshape(2, N2, -1).transpose(1, 0, 2).reshape(2 * N2, -1)  # a_1, b_1, a_2, b_2, ...
    for j in range(Xr.shape[1]):
        col = interleaved[:, j]
        ref = float(x0 @ Xr[:, j]) if j == zero else col[np.argmax(np.abs(col) > 1e-6 * np.abs(col).max())]
        if ref < 0:
            Xr[:, j] = -Xr[:, j]
    return to_numpy(op.to_grid(op.grid.xp.asarray(Xr)))
