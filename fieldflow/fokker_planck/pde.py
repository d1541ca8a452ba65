"""Finite-volume Fokker–Planck equation with the Scharfetter–Gummel (exponentially fitted) flux.

.. math::  \\partial_t \\mu = \\nabla\\cdot(D\\nabla\\mu + \\mu\\nabla V)
           = \\nabla\\cdot\\big(D\\,\\mu\\,\\nabla \\log(\\mu/\\rho_\\infty)\\big),
           \\qquad \\rho_\\infty = e^{-V/D}/Z,

on a cell-centred box with zero flux through its walls.  Across the face between cells
``i`` and ``i+1`` along an axis of spacing ``h``, with ``δ = (V_{i+1} − V_i)/D`` and the
Bernoulli function ``B(z) = z/(e^z − 1)``,

.. math::  J_{i+1/2} = \\frac{D}{h}\\big(B(\\delta)\\,\\mu_i - B(-\\delta)\\,\\mu_{i+1}\\big)
           = \\frac{D}{h} B(\\delta) e^{-V_i/D}\\,(u_i - u_{i+1}),\\quad u = \\mu e^{V/D},

and ``dμ_i/dt = −(J_{i+1/2} − J_{i−1/2})/h``.  Properties (all to round-off):

* **exact discrete equilibrium** ``μ ∝ e^{−V/D}`` at the cell centres (``u`` constant ⇒ ``J = 0``);
* **mass**: fluxes telescope, walls carry none;
* **positivity**: the matrix is an M-matrix (off-diagonals ``D B(±δ)/h² > 0``), so backward
  Euler keeps ``μ > 0`` for every ``dt`` and forward Euler for ``dt ≤ 1/max|L_ii|``;
* **free-energy dissipation**: with ``KL_h = Σ μ_i log(μ_i/ρ∞_i) h^d``,
  ``d KL_h/dt = −D I_h``, where the discrete relative Fisher information

  .. math:: I_h = \\sum_{\\rm faces} \\frac{B(\\delta) e^{-V_i/D}}{h^2}
            (u_{i+1} - u_i)(\\log u_{i+1} - \\log u_i)\\, h^d \\ \\ge 0;

* **second order** in ``h`` for smooth data (the flux is exact for the 1D two-point problem
  with piecewise-linear ``V``).

An optional diagonal **mobility** ``M = diag(m_1, …, m_d)`` (constant in space, ``m_a > 0``) gives
``∂_t μ = ∇·(M(D∇μ + μ∇V))``: the fluxes of axis ``a`` are multiplied by ``m_a``.  The equilibrium,
the M-matrix structure and the dissipation identity (with ``I_h`` weighted by ``M``) are unchanged.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..core.backend import to_numpy
from ..core.finite_volume import divergence, face_operator, two_point_fluxes
from ..core.grids import Grid
from ..potentials import Potential, potential_on_grid
from ..core.problem import PDE
from ..core.validation import real_array, real_number, shown

__all__ = ["FokkerPlanck", "bernoulli"]


def bernoulli(z: Any, xp: Any = np) -> Any:
    """``B(z) = z / (e^z − 1)`` with ``B(0) = 1``, stable for all real ``z`` (no overflow warnings)."""
    z = xp.asarray(z, dtype=float)
    small = xp.abs(z) < 1e-6
    safe = xp.where(small, 1.0, z)
    with np.errstate(over="ignore"):
        big = safe > 700.0
        val = xp.where(big, safe * xp.exp(-xp.minimum(safe, 700.0)), safe / xp.expm1(xp.minimum(safe, 700.0)))
    # Taylor series 1 − z/2 + z²/12 near 0 (evaluated on the small entries only: z² of a huge z overflows)
    zs = xp.where(small, z, 0.0)
    return xp.where(small, 1.0 - zs / 2 + zs * zs / 12, val)


class FokkerPlanck(PDE):
    """``∂t μ = ∇·(D∇μ + μ∇V)`` on a no-flux box, Scharfetter–Gummel finite volumes (1D, 2D, 3D).

    Parameters
    ----------
    grid : Grid
        A box grid (``Grid.box``).
    V : Potential, callable or array
        The potential: a :class:`~fieldflow.potentials.Potential`, a callable on points of shape
        ``(..., d)``, or its values on the grid.
    D : float
        Diffusion coefficient (> 0); the equilibrium is ``e^{−V/D}/Z``.
    mobility : sequence of float, optional
        Per-axis factors ``m_a > 0`` of a diagonal mobility ``M``: ``∂_t μ = ∇·(M(D∇μ + μ∇V))``
        (default: ``M = I``).

    Notes
    -----
    Diagnostics: ``mass``, ``free_energy`` (``Σ (D μ log μ + μ V) h^d``), ``kl`` (to the discrete ``ρ∞``),
    ``fisher`` (discrete relative Fisher information ``I_h``) and ``dissipation`` (``D I_h = −dKL/dt``).
    """

    conserved = ("mass",)
    positive = True
    monotone = "kl"
    default_method = "krylov-exp"
    #: what ``evolve(method=None)`` runs when given options of TR-BDF2 only (``error_norm``, ``linear_solver``, …)
    alternative_methods = ("trbdf2",)
    #: diagnostics (and the structure checks) at the save times only: on small grids evaluating them after
    #: every step costs as much as the step (``evolve(..., diagnostics_every=k)`` adds every k-th step)
    diagnostics_every = 0

    def __init__(self, grid: Grid, V: Potential | Callable[[Any], Any] | Any, D: float = 1.0,
                 mobility: Any = None):
        if not isinstance(grid, Grid):
            raise TypeError(f"grid must be a fieldflow Grid (Grid.box(n, extent)), got {shown(grid)}")
        if grid.periodic:
            raise ValueError("FokkerPlanck is a no-flux box solver; build the grid with Grid.box(...)")
        D = real_number(D, "the diffusion coefficient D", positive=True, hint="ρ∞ ∝ e^{−V/D}; e.g. D=1.0")
        self.grid, self.potential = grid, V
        self._set_coefficients(potential_on_grid(grid, V), D, mobility)

    def _check_mobility(self, mobility: Any) -> tuple[float, ...] | None:
        if mobility is None:
            return None
        m = real_array(mobility, "the mobility", finite=False).ravel()
        if m.size != self.grid.dim or not np.all(np.isfinite(m) & (m > 0)):
            raise ValueError(f"the mobility must be {self.grid.dim} positive finite per-axis factors, got {mobility!r}")
        return tuple(float(v) for v in m)

    def _set_coefficients(self, values: Any, D: float, mobility: Any = None) -> None:
        """Store ``V`` on the grid, the discrete equilibrium and the Scharfetter–Gummel face weights.

        Subclasses with time-dependent ``V``, ``D`` or mobility call this again when they change.
        """
        xp, grid = self.grid.xp, self.grid
        self.V, self.D, self.mobility = values, float(D), self._check_mobility(mobility)
        # equilibrium, in the log domain so e^{-V/D} never under/overflows
        logm = -values / self.D
        logm = logm - xp.max(logm)
        self.log_rho_inf = logm - np.log(float(xp.sum(xp.exp(logm))) * grid.cell_volume)
        self.rho_inf = xp.exp(self.log_rho_inf)
        # two-point face coefficients per axis: J/h = c_lower * mu_i + c_upper * mu_{i+1}
        self._faces = []
        for axis, h in enumerate(grid.spacing):
            delta = xp.diff(values, axis=axis) / self.D
            weight = self.D / h**2 * (self.mobility[axis] if self.mobility else 1.0)
            self._faces.append((weight * bernoulli(delta, xp), -(weight * bernoulli(-delta, xp))))
        self._L = None

    # ------------------------------------------------------------------ physics
    def _face_fluxes(self, mu: Any) -> list[Any]:
        """``J/h`` on the interior faces of each axis."""
        return two_point_fluxes(mu, self._faces)

    def rhs(self, mu: Any, t: float) -> Any:
        # the stored face fluxes are J/h, so the divergence takes unit spacing
        return divergence(self._face_fluxes(mu), (1.0,) * self.grid.dim, self.grid.xp)

    def linear_operator(self, t: float = 0.0) -> Any:
        """The sparse matrix ``L`` (CSR, in the grid's sparse namespace) with ``rhs(μ) = L μ`` (flattened in C order)."""
        if self._L is None:
            # the stored coefficients hold 1/h already, as in rhs
            self._L = face_operator(self.grid, self._faces, spacing=(1.0,) * self.grid.dim)
        return self._L

    def reversible_measure(self, t: float = 0.0) -> Any:
        """``log ρ∞``: ``L`` satisfies detailed balance ``L_ij ρ∞_j = L_ji ρ∞_i`` (see :meth:`spectral_gap`)."""
        return self.log_rho_inf

    def stable_dt(self, mu: Any = None, t: float = 0.0) -> float:
        """Forward-Euler positivity/stability limit ``1 / max_i |L_ii|`` (state-independent: computed once per ``L``)."""
        L = self.linear_operator()
        if getattr(self, "_stable", None) is None or self._stable[0] is not L:
            xp = self.grid.xp
            self._stable = (L, float(1.0 / xp.max(-L.diagonal())))
        return self._stable[1]

    def spectral_gap(self) -> float:
        """Smallest non-zero eigenvalue of ``−L``: the discrete Poincaré constant times ``D``.

        ``L`` satisfies detailed balance with respect to ``ρ∞`` (``L_ij ρ∞_j = L_ji ρ∞_i``), so
        ``S = diag(ρ∞)^{-1/2} L diag(ρ∞)^{1/2}`` is symmetric with the same spectrum; its two eigenvalues
        nearest 0 come from shift-invert Lanczos.  The KL of any run decays asymptotically like
        ``e^{−2·gap·t}``, and every log-Sobolev constant satisfies ``λ ≤ 2·gap`` (Rothaus).
        """
        import scipy.sparse as sp
        import scipy.sparse.linalg as spla

        L = self.linear_operator()
        L = L.get() if hasattr(L, "get") else L
        L = sp.coo_matrix(L)
        logr = to_numpy(self.log_rho_inf).ravel()
        S = sp.csc_matrix((L.data * np.exp(0.5 * (logr[L.col] - logr[L.row])), (L.row, L.col)), shape=L.shape)
        S = 0.5 * (S + S.T)  # symmetric up to round-off; make it exactly so for Lanczos
        if S.shape[0] <= 2:
            raise ValueError("the grid is too small for a spectral gap")
        values = spla.eigsh(-S, k=2, sigma=-1.0, which="LM", return_eigenvectors=False)
        return float(np.max(values))

    # ------------------------------------------------------------------ diagnostics
    def kl(self, mu: Any) -> float:
        """``KL(μ‖ρ∞) = Σ μ log(μ/ρ∞) h^d`` (``0 log 0 = 0``)."""
        xp = self.grid.xp
        pos = mu > 0
        logmu = xp.log(xp.where(pos, mu, 1.0))
        return self.grid.integrate(xp.where(pos, mu * (logmu - self.log_rho_inf), 0.0))

    def free_energy(self, mu: Any) -> float:
        """``F(μ) = Σ (D μ log μ + μ V) h^d``; ``F = D KL − D log Z``."""
        xp = self.grid.xp
        pos = mu > 0
        logmu = xp.log(xp.where(pos, mu, 1.0))
        return self.grid.integrate(xp.where(pos, self.D * mu * logmu, 0.0) + mu * self.V)

    def fisher(self, mu: Any) -> float:
        """Discrete relative Fisher information ``I_h`` (so that ``d KL_h/dt = −D I_h`` exactly)."""
        xp = self.grid.xp
        logu = xp.log(xp.maximum(mu, 1e-300)) - self.log_rho_inf
        total = 0.0
        for axis, F in enumerate(self._face_fluxes(mu)):
            dlogu = xp.diff(logu, axis=axis)
            total += float(xp.sum(-F * dlogu)) / self.D
        return total * self.grid.cell_volume

    def diagnostics(self, mu: Any, t: float) -> dict[str, float]:
        fisher = self.fisher(mu)
        return {
            "mass": self.grid.integrate(mu),
            "free_energy": self.free_energy(mu),
            "kl": self.kl(mu),
            "fisher": fisher,
            "dissipation": self.D * fisher,
        }

    def describe(self) -> dict[str, Any]:
        out = {"equation": "FokkerPlanck", "grid": repr(self.grid), "D": self.D, "V": repr(self.potential),
               "V_checksum": float(to_numpy(self.grid.xp.sum(self.V * self.V)))}
        if self.mobility:
            out["mobility"] = list(self.mobility)
        return out
