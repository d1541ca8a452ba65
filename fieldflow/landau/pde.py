"""The homogeneous Landau equation on a velocity box: an entropic, conservative, FFT-accelerated scheme.

.. math::

    \\partial_t f = \\nabla\\cdot\\big((A*f)\\nabla f - (b*f) f\\big)
                  = \\nabla\\cdot\\Big(f \\int A(v-w)\\,\\big(\\nabla\\log f(v) - \\nabla\\log f(w)\\big) f(w)\\,dw\\Big),

``A(z) = C|z|^{γ+2}(I − z⊗z/|z|²)``, ``b = ∇·A`` (so ``b*f = A*∇f = A*(f∇log f)``).  Velocity
dimension 2 or 3, cell-centred box ``[−L, L]^d`` with zero flux through the walls.

Scheme (a Degond–Lucquin-Desreux type discretisation of the log form, made second order by symmetry):
with ``L = log f`` at the cell centres, a one-sided difference ``D^σ`` (``σ = +``: forward, ``σ = −``:
backward; zero in the wall row), ``g^σ = D^σ L`` and

.. math::  U^\\sigma_i = f_i \\sum_j A(v_i - v_j)\\, f_j\\,(g^\\sigma_i - g^\\sigma_j)\\, h^d
           = f_i\\big[(A*f)_i\\, g^\\sigma_i - \\big(A*(f g^\\sigma)\\big)_i\\big],

the right-hand side is ``∂t f = −½ Σ_σ (D^σ)^T U^σ``: a flux difference whose face flux is the average
``(U⁺_i + U⁻_{i+1})/2``.  Both convolutions are exact discrete linear convolutions computed by zero-padded
FFT (:class:`~fieldflow.core.convolve.LinearConvolution`), ``d(d+1)/2`` kernel components by symmetry:
``O(n^d log n)`` per right-hand side instead of the ``O(n^{2d})`` double sum (:meth:`Landau.rhs_direct`).

What it preserves, semi-discretely and exactly (to round-off):

* **mass** — flux differences with zero wall flux;
* **entropy decay** — ``dH_h/dt = −¼ Σ_σ Σ_{ij} f_i f_j (g^σ_i − g^σ_j)·A_{ij}(g^σ_i − g^σ_j) h^{2d} ≤ 0``
  because ``A(z)`` is positive semi-definite;
* **momentum and energy up to the wall flux** — ``D^σ v = e`` and ``D^σ|v|² = 2v ± h``, so the pair sums
  vanish by the antisymmetry of ``A_{ij}(g_i − g_j)`` and by ``A(z) z = 0``; what is left is the flux
  that would cross the wall rows, of the size of ``f`` there (the ``wall_tol`` check keeps it small);
* **positivity** — ``log f_i → −∞`` as ``f_i → 0`` acts as a barrier (``∂t f_i → +∞``).

Time stepping (``Landau.default_method = "positive-trbdf2"``, :mod:`fieldflow.core.steppers.positive`): TR-BDF2
on ``f`` with Newton iterates ``f = e^s``.  Its stages are linear combinations of ``f`` and ``rhs``, so every
linear invariant of the semi-discrete scheme — mass exactly, momentum and energy up to the wall flux — is kept
to the Newton residual, and every iterate is positive.  The Newton systems are solved by GMRES with the exact
:meth:`Landau.jvp` and :meth:`Landau.preconditioner`, the inverse of the local (stiff) part of the Jacobian.
The explicit ``"ssprk3"`` is limited by :meth:`Landau.stable_dt`, set by the tails of the box, where the log
form weighs neighbours by ``f_k/f_{k+1} ≈ e^{|v|h}`` (1e-5 for BKW data on ``Grid.box(36, 9.0)``, 1e-10 for a Gaussian on ``Grid.box(4, 12.0)``).

Second order in ``h`` (forward and backward errors cancel).  The self-interaction ``j = i`` drops out
(``g_i − g_i = 0``), so ``A(0)`` is never used: for the Coulomb case ``γ = −3`` the kernel's ``|z|^{−1}``
singularity multiplies ``f_j (g_i − g_j) = O(|z|)``, an integrable (bounded) integrand, and the lattice sum
over ``j ≠ i`` is a consistent quadrature with no extra regularisation parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.backend import to_numpy
from ..core.convolve import LinearConvolution, offset_points
from ..core.validation import validate_density
from ..core.finite_volume import divergence, lower_cells, upper_cells, wall_ratio
from ..core.grids import Grid
from ..core.linalg import approximate_inverse, shifted, sparse_modules, stencil_matrix
from .collision import bkw_constant, check_gamma, collision_kernel
from ..core.problem import PDE

__all__ = ["Landau"]


@dataclass
class _State:
    """What the right-hand side and its linearisation share at one ``f`` (see ``Landau._linearisation``)."""

    Kf: Any
    g: dict[int, list[Any]]
    R: dict[int, list[Any]]
    q: dict[int, list[Any]]


class Landau(PDE):
    """The homogeneous Landau equation ``∂t f = ∇·((A*f)∇f − (b*f) f)`` in 2D or 3D velocity space.

    Parameters
    ----------
    grid : Grid
        A box grid ``Grid.box(n, extent, dim)`` with ``dim`` 2 or 3 (velocity units; ``h`` the cell width).
    gamma : float
        Kernel exponent in ``[−3, 1]``: ``0`` Maxwell molecules, ``−3`` Coulomb.
    C : float, optional
        Collision constant (units velocity^{−(γ+2)}/time); default 1/16 (2D) or 1/24 (3D), the BKW normalisation.
    wall_tol : float
        ``validate`` rejects data whose value on the wall cells exceeds ``wall_tol × max f``.
    fft : str, optional
        FFT provider.

    Time stepping: ``ff.evolve(Landau(...), f0, t_end)`` uses ``"positive-trbdf2"`` (adaptive, implicit; step set
    by ``rtol``, not by the box); ``method="ssprk3"`` steps explicitly under :meth:`stable_dt`.

    Diagnostics
    -----------
    ``mass``; ``momentum_a`` and ``temperature_a`` per axis (``T_a = ∫ (v_a − u_a)² f / ∫ f``);
    ``energy = ∫ |v|² f``; ``entropy = Σ f log f h^d`` (non-increasing); ``dissipation = −dH_h/dt ≥ 0``.
    """

    conserved = ("mass",)
    positive = True
    monotone = "entropy"
    default_method = "positive-trbdf2"
    #: the error control resolves every cell above 1e-12 of the maximum (see the equations page: with TR-BDF2's
    #: default 1e-8, tail cells holding 1e-8 of the mass are left unresolved and their error can raise the entropy)
    stepper_options = {"atol": 1e-12}

    def __init__(self, grid: Grid, gamma: float = 0.0, C: float | None = None, wall_tol: float = 1e-6,
                 fft: str | None = None):
        if grid.periodic:
            raise ValueError("Landau is solved on a velocity box; build the grid with Grid.box(n, extent, dim)")
        if grid.dim not in (2, 3):
            raise ValueError(f"the Landau equation is implemented in velocity dimension 2 or 3, got dim={grid.dim}")
        self.grid = grid
        self.gamma, self.C = check_gamma(gamma, bkw_constant(grid.dim) if C is None else C)
        if not 0 < wall_tol < 1:
            raise ValueError(f"wall_tol must lie in (0, 1), got {wall_tol}")
        self.wall_tol = float(wall_tol)
        d = grid.dim
        self._pairs = [(a, b) for a in range(d) for b in range(a, d)]
        self._component = [[0] * d for _ in range(d)]
        for k, (a, b) in enumerate(self._pairs):
            self._component[a][b] = self._component[b][a] = k
        A = collision_kernel(offset_points(grid), self.gamma, self.C)
        values = grid.xp.stack([A[..., a, b] for a, b in self._pairs])
        self.conv = LinearConvolution(grid, values, fft=fft)
        self._v2 = sum(x * x for x in grid.mesh)
        self._cache: tuple[Any, _State] | None = None

    # ------------------------------------------------------------------ input
    def validate(self, f: Any) -> Any:
        """Check ``f`` (positive, finite, decayed at the walls) and normalise it to unit mass.

        Raises
        ------
        ValueError
            Negative or non-finite values, zeros (the log-form scheme needs ``f > 0``), or ``f`` on the
            walls above ``wall_tol × max f`` (box too small for the support, or data too heavy-tailed to
            have finite mass and energy).
        """
        f = validate_density(self.grid, f, name="initial density f", normalise=True)
        xp, d = self.grid.xp, self.grid.dim
        zeros = int(xp.sum(f == 0))
        if zeros:
            raise ValueError(
                f"f vanishes in {zeros} cells; the entropic log-form scheme needs f > 0 everywhere — "
                "add a small Maxwellian background (e.g. f + 1e-12·M) or use a smooth positive profile"
            )
        ratio = wall_ratio(f, xp)
        if ratio > self.wall_tol:
            raise ValueError(
                f"f on the box walls is {ratio:.2e} of its maximum (> wall_tol={self.wall_tol:g}): the box "
                f"[{self.grid.lower[0]:g}, {self.grid.upper[0]:g}]^{d} is too small for the support of f, or f "
                "decays too slowly to be integrable with finite energy; enlarge extent"
            )
        return f

    # ------------------------------------------------------------------ the scheme
    def _gradient(self, L: Any, axis: int, sign: int) -> Any:
        """One-sided difference of ``L`` along ``axis`` (forward ``sign=+1``/backward ``−1``), zero in the wall row."""
        xp, d = self.grid.xp, self.grid.dim
        h = self.grid.spacing[axis]
        out = xp.zeros_like(L)
        lo, hi = lower_cells(axis, d), upper_cells(axis, d)
        out[lo if sign > 0 else hi] = (L[hi] - L[lo]) / h
        return out

    def _matrix_field(self, Kf: Any, a: int, vectors: list[Any]) -> Any:
        """``Σ_b M_ab x_b`` for a symmetric matrix field stored by components."""
        return sum(Kf[self._component[a][b]] * x for b, x in enumerate(vectors))

    def _linearisation(self, f: Any, fresh: bool = False) -> "_State":
        """``A*f`` and per pattern ``g^σ``, ``R^σ = (A*f) g^σ − A*(f g^σ)`` (``U^σ = f R^σ``) and the neighbour
        ratios ``q^σ_b = f_k/f_{k+σe_b} = exp(−σ h_b g^σ_b)``.

        Kept for the repeated calls at one state (the ``jvp`` products, the preconditioner and ``stable_dt`` after
        ``rhs`` of the same array object); ``fresh`` recomputes it (``rhs`` always does, so that an array changed
        in place is never answered from the cache)."""
        if not fresh and self._cache is not None and self._cache[0] is f:
            return self._cache[1]
        xp, d = self.grid.xp, self.grid.dim
        conv = self.conv
        L = xp.log(xp.maximum(f, 1e-300))
        Kf = conv(f)
        g, R, q = {}, {}, {}
        for sign in (1, -1):
            g[sign] = [self._gradient(L, a, sign) for a in range(d)]
            W = self._convolve_vectors(xp.stack([f * gb for gb in g[sign]]))
            R[sign] = [self._matrix_field(Kf, a, g[sign]) - W[a] for a in range(d)]
            q[sign] = [xp.exp(-sign * h * gb) for h, gb in zip(self.grid.spacing, g[sign])]
        state = _State(Kf, g, R, q)
        self._cache = (f, state)
        return state

    def _convolve_vectors(self, x: Any) -> Any:
        """``Σ_b A_ab * x_b`` for a stack of ``d`` arrays (``d`` forward and ``d`` inverse FFTs)."""
        conv, d = self.conv, self.grid.dim
        xhat = conv.forward(x)
        return conv.backward(self.grid.xp.stack([
            sum(conv.kernel_hat[self._component[a][b]] * xhat[b] for b in range(d)) for a in range(d)
        ]))

    def _scaled_gradient(self, v: Any, state: "_State", b: int, sign: int) -> Any:
        """``f D^σ_b(v/f)`` without dividing by ``f``: ``σ(q^σ_b v_{k+σe_b} − v_k)/h_b`` (zero in the wall row)."""
        xp, d = self.grid.xp, self.grid.dim
        out = xp.zeros_like(v)
        lo, hi = lower_cells(b, d), upper_cells(b, d)
        here, there = (lo, hi) if sign > 0 else (hi, lo)
        out[here] = sign * (state.q[sign][b][here] * v[there] - v[here]) / self.grid.spacing[b]
        return out

    def _flux_variation(self, f: Any, v: Any, nonlocal_part: bool = True) -> list[Any]:
        """``δQ`` on the interior faces for a perturbation ``v`` of ``f`` (``nonlocal_part=False``: the local terms only).

        ``δU^σ_a = v R^σ_a + Σ_b (A*f)_ab φ^σ_b + f[Σ_b (A*v)_ab g^σ_b − Σ_b A_ab*(v g^σ_b + φ^σ_b)]`` with
        ``φ^σ_b = f D^σ_b(v/f)``; the bracket is the variation through the two convolutions.
        """
        xp, d = self.grid.xp, self.grid.dim
        state = self._linearisation(f)
        Kv = self.conv(v) if nonlocal_part else None
        dU = {}
        for sign in (1, -1):
            g = state.g[sign]
            phi = [self._scaled_gradient(v, state, b, sign) for b in range(d)]
            local = [v * state.R[sign][a] + self._matrix_field(state.Kf, a, phi) for a in range(d)]
            if nonlocal_part:
                Wv = self._convolve_vectors(xp.stack([v * gb + pb for gb, pb in zip(g, phi)]))
                local = [u + f * (self._matrix_field(Kv, a, g) - Wv[a]) for a, u in enumerate(local)]
            dU[sign] = local
        return [0.5 * (dU[1][a][lower_cells(a, d)] + dU[-1][a][upper_cells(a, d)]) for a in range(d)]

    def jvp(self, f: Any, v: Any, t: float = 0.0) -> Any:
        """The exact Jacobian-vector product ``(∂ rhs/∂f) v`` (the linearisation of every term, FFTs as in ``rhs``)."""
        return -divergence(self._flux_variation(f, v), self.grid.spacing, self.grid.xp)

    def _scaled_local_coefficients(self, f: Any) -> dict[tuple[int, ...], Any]:
        """The stencil coefficients of ``D^{-1} T D`` (``D = diag f``, ``T`` the :meth:`local_jacobian`), all of them bounded.

        With ``v = f x`` the local terms are ``δU^σ_{a,k}/f_k = α^σ_{a,k} x_k + Σ_b β^σ_{ab,k} x_{k+σe_b}``,
        ``α = R^σ_a − σ Σ_b (A*f)_ab/h_b``, ``β = σ (A*f)_ab/h_b`` (the ``b`` terms only where ``k + σe_b`` is a cell),
        and ``rhs_j/f_j = Σ_{σ,a} σ(δU^σ_{a,j}/f_j − ρ^σ_{a,j} δU^σ_{a,j−σe_a}/f_{j−σe_a})/(2h_a)`` with the neighbour
        ratio ``ρ^σ_{a,j} = f_{j−σe_a}/f_j``: offsets ``0``, ``±e_a`` and ``±(e_b − e_a)``.
        """
        xp, d = self.grid.xp, self.grid.dim
        state = self._linearisation(f)
        zero = (0,) * d
        unit = [tuple(int(b == a) for b in range(d)) for a in range(d)]
        coefficients: dict[tuple[int, ...], Any] = {}

        def add(offset: tuple[int, ...], values: Any) -> None:
            coefficients[offset] = coefficients[offset] + values if offset in coefficients else values

        for sign in (1, -1):
            inside = []  # 1 where k + σ e_b is a cell (the one-sided difference is zero in the wall row)
            for b in range(d):
                mask = xp.zeros(self.grid.shape)
                mask[lower_cells(b, d) if sign > 0 else upper_cells(b, d)] = 1.0
                inside.append(mask)
            for a in range(d):
                w = sign / (2 * self.grid.spacing[a]) * inside[a]
                back = tuple(-sign * x for x in unit[a])
                ratio = shifted(state.q[sign][a], back)  # f_{j−σe_a}/f_j
                beta = [w * sign * state.Kf[self._component[a][b]] * inside[b] / self.grid.spacing[b] for b in range(d)]
                alpha = w * state.R[sign][a] - sum(beta)
                add(zero, alpha)
                add(back, -ratio * shifted(alpha, back))
                for b in range(d):
                    ahead = tuple(sign * x for x in unit[b])
                    add(ahead, beta[b])
                    add(tuple(x + y for x, y in zip(ahead, back)), -ratio * shifted(beta[b], back))
        return coefficients

    def local_jacobian(self, f: Any) -> Any:
        """The local part ``T`` of ``∂ rhs/∂f``: every term that does not pass through a convolution.

        The variation of ``U^σ_a = f R^σ_a`` through the prefactor and through ``g^σ = D^σ log f``; a sparse matrix
        on the offsets ``0``, ``±e_a`` and ``±(e_b − e_a)`` (``_scaled_local_coefficients`` gives ``D^{-1}TD``).
        ``T_{k,k±e_a}`` carries the neighbour ratio ``f_k/f_{k±e_a} ≈ e^{|v|h}`` of the Maxwellian tails.  The rest of
        the Jacobian (the variations of ``A*f`` and ``A*(f g)``) is dense; in a tail row it carries the same ratio,
        but it is smooth in the column index, so GMRES preconditioned by ``(I − cT)^{-1}`` resolves it in a few
        iterations (6 per Newton iteration on ``Grid.box(36, 9.0)``).  CSR in the grid's sparse namespace
        (assembled on the device with CuPy).
        """
        coefficients = self._scaled_local_coefficients(f)
        return stencil_matrix(self.grid, {m: c * f for m, c in coefficients.items()}, column_scale=1.0 / f)

    def preconditioner(self, f: Any, c: float, t: float = 0.0) -> Any:
        """``(I − cT)^{-1}`` (``T`` the :meth:`local_jacobian`) for Newton–GMRES, applied as ``D S^{-1} D^{-1}``.

        ``S = I − c D^{-1}TD`` (``D = diag f``) has bounded entries, while ``T`` spans the range of ``f`` (1e-60 in
        the tails of a Maxwellian on a large box); ``S`` is inverted with
        :func:`~fieldflow.core.linalg.preconditioners.approximate_inverse` (sparse LU on the host with NumPy, a
        device preconditioner with CuPy; the implicit solver's ``preconditioner=`` option chooses), so its
        image is accurate *relative to f in every cell* — what a Newton iteration in ``log f`` needs.
        """
        sp, _ = sparse_modules(self.grid.xp)
        S = stencil_matrix(self.grid, self._scaled_local_coefficients(f))
        inverse = approximate_inverse((sp.identity(S.shape[0], format="csr") - c * S).tocsr(), self.grid)
        scale = f.ravel()

        def apply(v: Any) -> Any:
            return inverse.matvec(v / scale) * scale

        return apply

    def face_fluxes(self, f: Any) -> list[Any]:
        """Fluxes ``J`` on the interior faces of each axis (``∂t f_k = Σ_a (J_{k+½} − J_{k−½})/h_a``)."""
        d = self.grid.dim
        state = self._linearisation(f, fresh=True)
        return [0.5 * (f[lower_cells(a, d)] * state.R[1][a][lower_cells(a, d)]
                       + f[upper_cells(a, d)] * state.R[-1][a][upper_cells(a, d)]) for a in range(d)]

    def rhs(self, f: Any, t: float = 0.0) -> Any:
        # face_fluxes returns the collision flux Q with ∂t f = ∇·Q, i.e. J = −Q in ∂t f + ∇·J = 0
        return -divergence(self.face_fluxes(f), self.grid.spacing, self.grid.xp)

    def rhs_direct(self, f: Any, block: int = 256) -> Any:
        """The same discrete operator by the direct ``O(n^{2d})`` double sum (blocked over target cells).

        The reference for tests and for ``benchmarks/landau.py``; it does not use the FFT.
        """
        grid, d = self.grid, self.grid.dim
        f_np = to_numpy(f)
        L = np.log(np.maximum(f_np, 1e-300))
        pts = to_numpy(grid.points).reshape(-1, d)
        fv = f_np.ravel()
        fluxes = {}
        for sign in (1, -1):
            g = np.stack([to_numpy(self._gradient(grid.xp.asarray(L), a, sign)) for a in range(d)], -1).reshape(-1, d)
            U = np.empty_like(g)
            for s in range(0, len(pts), block):
                A = collision_kernel(pts[s:s + block, None, :] - pts[None, :, :], self.gamma, self.C)
                diff = g[s:s + block, None, :] - g[None, :, :]
                U[s:s + block] = fv[s:s + block, None] * np.einsum("ijab,ijb,j->ia", A, diff, fv) * grid.cell_volume
            fluxes[sign] = U.reshape(grid.shape + (d,))
        J = [0.5 * (fluxes[1][..., a][lower_cells(a, d)] + fluxes[-1][..., a][upper_cells(a, d)]) for a in range(d)]
        return grid.xp.asarray(-divergence(J, grid.spacing, np))

    def stable_dt(self, f: Any, t: float = 0.0) -> float:
        """Forward-Euler limit ``1/max_k Λ_k``, ``Λ_k`` a Gershgorin bound of row ``k`` of the local Jacobian.

        For each pattern ``σ`` and axis ``a`` the face flux ``U^σ_{a,k}`` depends on ``f_k`` (prefactor and
        ``g_k``) and on the neighbours ``f_{k+σe_b}`` through ``g_{b,k}``; its partial derivatives are bounded by
        ``ρ^σ_{a,k} = |U^σ_{a,k}|/f_k + Σ_b |(A*f)_{ab,k}| (1 + f_k/f_{k+σ e_b})/h_b``, and row ``k`` of the
        right-hand side collects ``(ρ^σ_{a,k} + ρ^σ_{a,k−σe_a})/(2h_a)``.  The convolution weights ``A_{ij} h^d``
        of the non-local dependence are ``O(h^d)`` each and are left out.
        """
        xp, d = self.grid.xp, self.grid.dim
        state = self._linearisation(f)
        row = xp.zeros_like(f)
        for sign in (1, -1):
            for a in range(d):
                h = self.grid.spacing[a]
                rho = xp.abs(state.R[sign][a])  # |U^σ_a|/f
                for b in range(d):
                    # f_k / f_{k+σ e_b} = q^σ_b   (g_b = 0 in the wall row, ratio 1 there)
                    rho = rho + xp.abs(state.Kf[self._component[a][b]]) * (1 + state.q[sign][b]) / self.grid.spacing[b]
                shifted = xp.zeros_like(rho)
                lo, hi = lower_cells(a, d), upper_cells(a, d)
                if sign > 0:
                    shifted[hi] = rho[lo]
                else:
                    shifted[lo] = rho[hi]
                row = row + (rho + shifted) / (2 * h)
        return float(2.0 / float(xp.max(row)))

    # ------------------------------------------------------------------ diagnostics
    def entropy(self, f: Any) -> float:
        """``H_h = Σ f log f h^d`` (``0 log 0 = 0``)."""
        xp = self.grid.xp
        pos = f > 0
        return self.grid.integrate(xp.where(pos, f * xp.log(xp.where(pos, f, 1.0)), 0.0))

    def moments(self, f: Any) -> dict[str, float]:
        """Mass, momentum and temperature per axis, and energy ``∫|v|² f``."""
        grid = self.grid
        mass = grid.integrate(f)
        out = {"mass": mass, "energy": grid.integrate(self._v2 * f)}
        for a, x in enumerate(grid.mesh):
            p = grid.integrate(x * f)
            out[f"momentum_{a}"] = p
            out[f"temperature_{a}"] = grid.integrate((x - p / mass) ** 2 * f) / mass
        return out

    def diagnostics(self, f: Any, t: float) -> dict[str, float]:
        xp = self.grid.xp
        values = self.moments(f)
        values["entropy"] = self.entropy(f)
        values["dissipation"] = -self.grid.integrate(xp.log(xp.maximum(f, 1e-300)) * self.rhs(f, t))
        return values

    def describe(self) -> dict[str, Any]:
        return {"equation": "Landau", "grid": repr(self.grid), "gamma": self.gamma, "C": self.C}
