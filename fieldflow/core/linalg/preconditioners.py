"""Approximate inverses of stencil matrices ``A`` (``I − c J`` of an implicit stage) for GMRES.

Three choices, by what they cost on each backend:

``"lu"``
    Sparse LU (SuperLU, minimum-degree ordering on ``A + Aᵀ``, the best for structurally symmetric
    stencils): the exact inverse, so GMRES converges in a handful of steps.  Host only — with CuPy it
    would download the matrix and upload the factors at every Newton iteration.
``"ilu"``
    Incomplete LU (SuperLU's ILUTP, drop tolerance 1e-5, fill factor 20): nearly exact at a fraction
    of LU's fill-in in 3D.  Host only.
``"jacobi"``
    ``diag(A)^{-1}``: one elementwise division on the device.  Captures the stiff diagonal (fast
    draining or filling cells); GMRES needs 5–10× the steps of ``"lu"`` on the SVGD problems.
``"dct"``
    Jacobi scaling followed by the inverse of a frozen-coefficient Neumann Laplacian.  With
    ``S = |diag A|`` the scaled matrix ``Ã = S^{-1/2} A S^{-1/2}`` has unit diagonal and couplings
    ``−κ_f`` across the faces ``f`` of axis ``a``; freezing them at their mean ``κ_a`` gives

    .. math:: \\tilde A \\approx P = \\max\\big(1 - 2\\textstyle\\sum_a \\kappa_a,\\ \\tfrac12\\big)
              + \\sum_a \\kappa_a\\, 4\\sin^2\\frac{\\pi k_a}{2 n_a},

    the symbol of ``Ã`` with constant coefficients and zero-flux walls in the DCT-II basis (the
    eigenvectors of the cell-centred Neumann Laplacian), so ``M = S^{-1/2} C^{-1} P^{-1} C S^{-1/2}``
    costs one forward and one inverse DCT on the device.  Exact for constant-coefficient diffusion
    ``I − cDΔ_h`` while ``2cD Σ_a h_a^{-2} ≤ 1`` (the wall rows get their missing mirror coupling back
    in ``S``, so ``S`` is constant there); beyond, the floor ½ on the constant term keeps ``P`` away from
    zero where drift makes ``1 − 2Σκ_a`` small or negative.  Measured on 12 Fokker–Planck matrices
    (quadratic and double-well ``V`` on ``[−5, 5]^d``, 2D 64² and 3D 20³, ``c = 0.01, 0.1, 1``): 612
    GMRES(50) steps in all to ``rtol = 1e-8``, Jacobi 1068, no floor 6219 (two double-well cases do not
    converge in 2000 steps).  For strongly varying coefficients it degrades toward Jacobi.

``"multigrid"``
    One geometric multigrid V-cycle of ``A`` (:class:`~fieldflow.core.linalg.multigrid.Multigrid`: Galerkin
    coarse operators of ``A`` itself, damped Jacobi, a dense coarsest solve): work and memory linear in
    the cells and bounded GMRES iterations under refinement for diffusion-dominated stencils, on either
    backend.  Its set-up is a few sparse matrix products, so it pays where the matrix is reused for
    several solves.

``"auto"`` is a host factorisation on NumPy and a device method on CuPy; each caller says which
(:func:`resolve_method`): ``"lu"``/``"jacobi"`` for the Newton preconditioners of nonlinear equations,
``"ilu"``/``"dct"`` for the iterative path of linear ones.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

import numpy as np

from ..grids import Grid
from .stencil import sparse_modules

__all__ = ["PRECONDITIONERS", "approximate_inverse", "resolve_method", "preconditioning", "SparseLU", "Jacobi",
           "NeumannDCT"]

#: the methods :func:`approximate_inverse` knows
PRECONDITIONERS = ("auto", "lu", "ilu", "jacobi", "dct", "multigrid")
_HOST_ONLY = ("lu", "ilu")


def resolve_method(method: str, xp: Any, host_default: str = "lu", device_default: str = "jacobi") -> str:
    """``method`` with ``"auto"`` resolved for the namespace ``xp``.

    Raises
    ------
    ValueError
        For an unknown name, or a host factorisation (``"lu"``, ``"ilu"``) asked for on CuPy.
    """
    if method not in PRECONDITIONERS:
        raise ValueError(f"preconditioner must be one of {PRECONDITIONERS}, got {method!r}")
    device = xp.__name__ != "numpy"
    if method == "auto":
        return device_default if device else host_default
    if device and method in _HOST_ONLY:
        raise ValueError(f"preconditioner={method!r} factorises on the host; with CuPy arrays choose 'jacobi', 'dct' or 'multigrid'")
    return method


class SparseLU:
    """``A^{-1}`` (``incomplete=False``) or an ILU of ``A`` by SuperLU on the host (SciPy matrices only)."""

    def __init__(self, A: Any, incomplete: bool = False):
        _, spla = sparse_modules(np)
        try:
            if incomplete:
                self._lu = spla.spilu(A.tocsc(), drop_tol=1e-5, fill_factor=20)
            else:  # minimum degree on A + Aᵀ: the best ordering for structurally symmetric stencils
                self._lu = spla.splu(A.tocsc(), permc_spec="MMD_AT_PLUS_A")
        except RuntimeError as exc:  # exactly singular: for Newton's method a rejected step
            raise FloatingPointError(f"the preconditioner matrix is singular ({exc})") from exc

    def matvec(self, v: Any) -> Any:
        return self._lu.solve(v)


class Jacobi:
    """``diag(A)^{-1}`` (a zero diagonal entry is left alone)."""

    def __init__(self, A: Any, xp: Any):
        d = A.diagonal()
        self._inverse = 1.0 / xp.where(d == 0, 1.0, d)

    def matvec(self, v: Any) -> Any:
        return v * self._inverse


class NeumannDCT:
    """Jacobi-scaled frozen-coefficient Neumann Laplacian, inverted by DCT-II (see the module docstring)."""

    def __init__(self, A: Any, grid: Grid):
        if grid.periodic:
            raise ValueError("the 'dct' preconditioner is for no-flux box grids")
        xp = grid.xp
        self.grid, self._dct = grid, _dct_module(xp)
        d = xp.abs(A.diagonal().reshape(grid.shape) + _wall_couplings(A, grid))
        d = xp.where(d == 0, 1.0, d)
        self._scale = 1.0 / xp.sqrt(d)
        couplings = _face_couplings(A, grid, self._scale)
        symbol = xp.zeros(grid.shape)
        for a, (kappa, n) in enumerate(zip(couplings, grid.shape)):
            k = xp.arange(n, dtype=float)
            shape = [1] * grid.dim
            shape[a] = n
            symbol = symbol + kappa * (4.0 * xp.sin(math.pi * k / (2 * n)) ** 2).reshape(shape)
        # the constant term is floored at ½ (see the module docstring)
        self._inverse_symbol = 1.0 / (xp.maximum(1.0 - 2.0 * sum(couplings), 0.5) + symbol)

    def matvec(self, v: Any) -> Any:
        u = v.reshape(self.grid.shape) * self._scale
        u = self._dct.idctn(self._dct.dctn(u, type=2, norm="ortho") * self._inverse_symbol, type=2, norm="ortho")
        return (u * self._scale).ravel()


def _dct_module(xp: Any) -> Any:
    if xp.__name__ == "cupy":
        from ..backend import optional_import

        return optional_import("cupyx.scipy.fft")
    import scipy.fft

    return scipy.fft


def _wall_couplings(A: Any, grid: Grid) -> Any:
    """``|A_{i,i∓e_a}|`` of the missing neighbour's mirror image, added to the diagonal of wall cells.

    The Neumann Laplacian's boundary rows lack one coupling; restoring it makes the scaling ``S`` constant
    for constant coefficients, so that the scaled matrix is exactly the frozen-coefficient model there.
    With ``χ`` the indicator of the plane next to a wall, ``(A χ)`` on the wall plane is the coupling
    to that neighbour (two products with ``A`` per axis).
    """
    xp, dim = grid.xp, grid.dim
    out = xp.zeros(grid.shape)
    for a, n in enumerate(grid.shape):
        shape = [1] * dim
        shape[a] = n
        index = xp.arange(n).reshape(shape)
        for wall, inner in ((0, 1), (n - 1, n - 2)):
            plane = xp.broadcast_to(index == inner, grid.shape).astype(float)
            image = (A @ plane.ravel()).reshape(grid.shape)
            out = out + xp.where(xp.broadcast_to(index == wall, grid.shape), xp.abs(image), 0.0)
    return out


def _face_couplings(A: Any, grid: Grid, scale: Any) -> list[Any]:
    """Per axis ``a``, the mean over interior faces of ``−(Ã_pq + Ã_qp)/2``, ``Ã = S^{-1/2} A S^{-1/2}`` (0-d arrays).

    Two products with ``A`` per axis and no gathering: with ``χ`` the indicator of cells whose index
    along ``a`` is even, ``(Ã χ)_p`` at an odd cell ``p`` is ``Ã_{p,p−e_a} + Ã_{p,p+e_a}`` (its other
    neighbours share its parity), and symmetrically with ``1 − χ``; summed, every face counts twice.
    """
    xp, dim = grid.xp, grid.dim
    out = []
    for a, n in enumerate(grid.shape):
        shape = [1] * dim
        shape[a] = n
        even = xp.broadcast_to((xp.arange(n) % 2 == 0).reshape(shape), grid.shape).astype(float)
        odd = 1.0 - even
        total = 0.0
        for source, target in ((even, odd), (odd, even)):
            image = (A @ (source * scale).ravel()).reshape(grid.shape) * scale
            total = total + xp.sum(image * target)
        faces = grid.size // n * (n - 1)
        out.append(-total / (2 * faces))
    return out


_METHOD: ContextVar[str] = ContextVar("fieldflow_preconditioner", default="auto")


@contextmanager
def preconditioning(method: str) -> Iterator[None]:
    """Within the block, :func:`approximate_inverse` without a ``method`` uses ``method``.

    The implicit solver wraps its calls of ``pde.preconditioner`` in it, so an equation's preconditioner
    follows the solver's ``preconditioner=`` option without the equation knowing about it.
    """
    if method not in PRECONDITIONERS:
        raise ValueError(f"preconditioner must be one of {PRECONDITIONERS}, got {method!r}")
    token = _METHOD.set(method)
    try:
        yield
    finally:
        _METHOD.reset(token)


def approximate_inverse(A: Any, grid: Grid, method: str | None = None) -> Any:
    """An approximate inverse of the stencil matrix ``A`` (a ``matvec`` object on flat vectors).

    Parameters
    ----------
    A : sparse matrix
        In the grid's sparse namespace (``scipy.sparse`` / ``cupyx.scipy.sparse``).
    grid : Grid
        The grid whose cells index ``A``'s rows.
    method : {"lu", "ilu", "jacobi", "dct", "multigrid"} or "auto", optional
        See the module docstring; ``"auto"`` is ``"lu"`` on NumPy and ``"jacobi"`` on CuPy.  Default:
        the method of the enclosing :func:`preconditioning` block, else ``"auto"``.
    """
    method = resolve_method(_METHOD.get() if method is None else method, grid.xp)
    if method in ("lu", "ilu"):
        return SparseLU(A, incomplete=method == "ilu")
    if method == "jacobi":
        return Jacobi(A, grid.xp)
    if method == "multigrid":
        from .multigrid import Multigrid

        return Multigrid(A, grid, identity=False).cycle(0.0, 1.0)
    return NeumannDCT(A, grid)
