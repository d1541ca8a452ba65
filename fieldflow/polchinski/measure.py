"""The renormalised measures ``ν_t`` as a gradient flow on a time-dependent metric: the field-space PDE.

With ``Γ_t = C_∞ − C_t`` and commuting (translation-invariant) covariances, ``ν_t`` is the law of
``Γ_t C_∞^{-1} Ψ + N(0, C_t Γ_t C_∞^{-1})``, ``Ψ ~ ν_0``, and solves

.. math:: ∂_t ν = ½ ∇·\\big(Ċ_t (∇ν + 2ν Γ_t^{-1} φ)\\big) = ½ ∇·\\big(Ċ_t\\, ν\\, ∇ \\log(ν/π_t)\\big),
          \\qquad π_t = N(0, Γ_t/2),

the gradient flow of ``F_t = ½ KL(·‖π_t)`` in the metric of ``Ċ_t`` (:ref:`conventions-polchinski`;
the derivation is on the Polchinski equations page).

All covariances are diagonal in the real orthonormal Fourier basis ``U`` of the lattice
(:func:`fourier_basis`), which does not depend on ``t``.  In the coordinates ``y = Uᵀφ`` the
equation separates: ``∂_t ν = Σ_a ½ ċ_a ∂_a(∂_a ν + 2ν y_a/g_a)``, with ``ċ_a``, ``g_a`` the eigenvalues of
``Ċ_t`` and ``Γ_t``.  That is a Fokker–Planck equation with the diagonal mobility ``M = diag(ċ_a/2)``
and potential ``W_t = Σ_a y_a²/g_a`` (``π_t ∝ e^{−W_t}``), solved by
:class:`fieldflow.fokker_planck.TimeDependentFokkerPlanck` (Scharfetter–Gummel fluxes, ``D = 1``).

``ν_t → δ_0`` as ``Γ_t → 0`` (like ``t^{-1/2}`` for Pauli–Villars), so a fixed field grid stops
resolving it.  :class:`MeasureFlow` raises ``ValueError`` at the first time beyond
``MeasureFlow.t_max`` (``π_t``'s smallest standard deviation under ``resolution`` cells), or solves
in the rescaled variable ``z_a = y_a / g_a^{1/2}`` (``rescaled=True``), in which

.. math:: ∂_t ν̃ = \\sum_a \\frac{ċ_a}{2 g_a}\\, ∂_{z_a}\\big(∂_{z_a} ν̃ + z_a ν̃\\big)

(the change of variable adds the drift ``ġ_a/(2g_a) = −ċ_a/(2g_a)``): a fixed Ornstein–Uhlenbeck
operator with a time-dependent mobility, whose equilibrium ``N(0, 1)`` is the rescaled law of the
free measure ``N(0, Γ_t)``.  ``ν̃_t → N(0, I)`` for every ``ν_0``, while ``π_t`` is ``N(0, ½)`` in ``z``:
``KL(ν_t‖π_t) → ½(1 − log 2)`` per mode, the flow does not approach its moving target.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from .. import fokker_planck
from ..core.finite_volume import wall_ratio
from ..core.grids import Grid
from ..core.validation import boolean, real_number
from .covariance import CovarianceDecomposition, _negated_index, decomposition_of
from .lattice import Lattice
from .potentials import FieldPotential, field_potential

__all__ = ["fourier_basis", "MeasureFlow", "measure_flow"]

#: the field variable needs π_t's smallest standard deviation to span this many cells
RESOLUTION = 4.0
#: a density whose wall cells exceed this fraction of its maximum is truncated by the box
WALL_TOL = 1e-9


def fourier_basis(lattice: Lattice) -> tuple[np.ndarray, np.ndarray]:
    """The real orthonormal Fourier basis that diagonalises every translation-invariant matrix on ``ℝ^Λ``.

    Returns
    -------
    U : (N, N) array
        Orthonormal columns: ``cos(k·x)/√N`` for the self-conjugate modes (``k ≡ −k``), and
        ``√(2/N) cos(k·x)``, ``√(2/N) sin(k·x)`` for each pair ``±k`` (sites in C order).
    modes : (N,) int array
        The flat index (into ``lattice.shape``) of the mode of each column: a translation-invariant
        ``C`` with symbol ``c`` satisfies ``Uᵀ C U = diag(c.ravel()[modes])``.
    """
    N, n = lattice.size, lattice.n
    sites = np.stack(np.meshgrid(*[np.arange(n)] * lattice.dim, indexing="ij"), -1).reshape(N, lattice.dim)
    negated = np.ravel_multi_index(tuple(np.broadcast_to(i, lattice.shape).ravel()
                                         for i in _negated_index(lattice)), lattice.shape)
    # _negated_index maps the array position k to −k; sites and modes share the index set (ℤ/n)^d
    columns, modes, done = [], [], set()
    for j in range(N):
        if j in done:
            continue
        phase = 2 * math.pi * (sites @ sites[j]) / n
        partner = int(negated[j])
        if partner == j:
            columns.append(np.cos(phase) / math.sqrt(N))
            modes.append(j)
        else:
            columns += [math.sqrt(2.0 / N) * np.cos(phase), math.sqrt(2.0 / N) * np.sin(phase)]
            modes += [j, partner]
            done.add(partner)
    return np.stack(columns, axis=1), np.asarray(modes)


class MeasureFlow(fokker_planck.TimeDependentFokkerPlanck):
    """``∂_t ν = ½∇·(Ċ_t ν ∇log(ν/π_t))``, ``π_t = N(0, Γ_t/2)``: the renormalised measures ``ν_t`` on a field grid.

    Parameters
    ----------
    V0 : FieldPotential
        The initial potential; ``ν_0 ∝ e^{−V_0} N(0, C_∞)`` is :meth:`initial_density`.
    decomposition : CovarianceDecomposition
        On a lattice of 1, 2 or 3 sites with ``C_∞`` finite (mass ``m > 0``).
    grid : Grid
        A box of dimension ``|Λ|`` (``field_grid``).  Its axes are the Fourier coordinates
        ``y = Uᵀφ`` (:func:`fourier_basis`; ``y = φ`` for one site), or ``z = Γ_t^{-1/2} y`` with
        ``rescaled=True``.
    rescaled : bool
        Solve for the law of ``z`` (resolved for all ``t``, see the module docstring); the diagnostic
        ``kl_free`` is then the KL divergence to the scheme's own equilibrium and is checked to decrease.
    resolution : float
        Field variable: ``ν_t`` counts as resolved while ``π_t``'s smallest standard deviation
        ``min_a (g_a/2)^{1/2}`` spans at least this many cells; ``t_max`` is the last such time.

    Notes
    -----
    Diagnostics: ``mass``; ``second_moment`` ``E_{ν_t}|φ|²/|Λ|``; ``kl`` ``KL(ν_t‖π_t)``; ``free_energy``
    ``F_t(ν_t) = ½ kl``; ``kl_free`` ``KL(ν_t‖N(0, Γ_t))``, the divergence from the flow of the free
    field (``V_0 = 0``), non-increasing along the exact flow (both measures are pushed by the same
    Markov kernel); ``wall`` (the largest wall value over the maximum).  KL's are those of the grid
    densities with the Gaussians normalised on the grid.
    """

    positive = True
    conserved = ("mass",)
    default_method = "trbdf2"

    def __init__(self, V0: FieldPotential, decomposition: CovarianceDecomposition, grid: Grid,
                 rescaled: bool = False, resolution: float = RESOLUTION):
        field_potential(V0)
        decomposition_of(decomposition)
        rescaled = boolean(rescaled, "rescaled")
        resolution = real_number(resolution, "resolution", positive=True)
        N = decomposition.lattice.size
        if N not in (1, 2, 3):
            raise ValueError(f"the measure flow on a field grid needs 1, 2 or 3 sites, the lattice has {N}; "
                             "for a lattice use measure_flow_jko (Gaussian) or measure_mc")
        if not isinstance(grid, Grid) or grid.periodic or grid.dim != N:
            raise ValueError(f"the measure flow needs a box field grid of dimension {N} (field_grid({N}, n, extent)), "
                             f"got {grid!r}: ν_t is not periodic even when V_0 is")
        self.V0, self.decomposition, self.rescaled, self.resolution = V0, decomposition, bool(rescaled), float(resolution)
        self.basis, self.modes = fourier_basis(decomposition.lattice)
        self.c_inf = decomposition.symbol(math.inf).ravel()[self.modes]
        self.grid = grid
        lower = np.minimum(-np.asarray(grid.lower), np.asarray(grid.upper))
        # the widest Gaussian part of ν_t: N(0, 1) in z; N(0, max_t C_tΓ_t/C_∞ = C_∞/4) in y
        width = np.ones(N) if self.rescaled else np.sqrt(self.c_inf / 4)
        tail = float(np.max(np.exp(-0.5 * (lower / width) ** 2)))
        if tail > WALL_TOL:
            need = width * math.sqrt(2 * math.log(1 / WALL_TOL))
            raise ValueError(f"the box is too small: ν_t reaches the walls (Gaussian tail {tail:.2e} > {WALL_TOL:g}); "
                             f"use extents of at least {np.array2string(need, precision=3)}"
                             + (" (ν_t → N(0, 1) in the rescaled variable)" if self.rescaled else ""))
        self.t_max = math.inf if self.rescaled else self._last_resolved_time()
        self.monotone = "kl_free" if self.rescaled else None
        super().__init__(grid, self._potential, 1.0, mobility_of_t=self._mobility)

    # ------------------------------------------------------------------ coefficients
    def coefficients(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """``(ċ_a, g_a)``: the eigenvalues of ``Ċ_t`` and ``Γ_t = C_∞ − C_t`` along the grid axes."""
        t = real_number(t, "t", nonnegative=True, hint="the flow time")
        c = self.decomposition.derivative_symbol(t).ravel()[self.modes]
        g = (self.c_inf - self.decomposition.symbol(t).ravel()[self.modes]) if t > 0 else self.c_inf.copy()
        if np.any(g <= 1e-10 * self.c_inf):
            raise ValueError(f"Γ_t = C_∞ − C_t ({np.array2string(g, precision=3)}) is lost to round-off at t={t:g}: "
                             "ν_t is a point mass to working precision; take a smaller t")
        return c, g

    def _last_resolved_time(self) -> float:
        h = np.asarray(self.grid.spacing)

        def resolved(t: float) -> bool:
            try:
                g = self.coefficients(t)[1]
            except ValueError:
                return False
            return bool(np.all(np.sqrt(g / 2) >= self.resolution * h))

        if not resolved(0.0):
            raise ValueError(f"the field grid is too coarse already at t=0: π_0 = N(0, C_∞/2) has standard deviation "
                             f"{np.array2string(np.sqrt(self.c_inf / 2), precision=3)}, under {self.resolution:g} cells "
                             f"of {np.array2string(h, precision=3)}; refine the grid")
        hi = 1.0
        while resolved(hi):
            hi *= 2
            if hi > 1e12:
                return math.inf
        lo = 0.0 if hi == 1.0 else hi / 2
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if resolved(mid) else (lo, mid)
        return lo

    def _check_time(self, t: float) -> None:
        if t > self.t_max:
            g = self.coefficients(t)[1]
            raise ValueError(
                f"at t={t:g} the field grid no longer resolves ν_t: π_t = N(0, Γ_t/2) has standard deviation "
                f"{math.sqrt(g.min() / 2):.3g} < {self.resolution:g} cells of {max(self.grid.spacing):.3g} (ν_t → δ_0 like "
                f"Γ_t^(1/2)); this grid holds up to t_max = {self.t_max:.4g}. Integrate to t ≤ t_max, refine the grid, "
                "or use measure_flow(..., rescaled=True), whose variable Γ_t^(-1/2)φ stays at unit scale")

    def _weights(self, t: float) -> np.ndarray:
        """``w_a`` with ``W_t = Σ_a w_a x_a²/2`` in the grid variable."""
        return np.ones(self.grid.dim) if self.rescaled else 2.0 / self.coefficients(t)[1]

    def _potential(self, t: float) -> Any:
        self._check_time(t)
        w = self.grid.xp.asarray(self._weights(t))
        return 0.5 * self.grid.xp.sum(w * self.grid.points**2, axis=-1)

    def _mobility(self, t: float) -> np.ndarray:
        self._check_time(t)
        c, g = self.coefficients(t)
        return c / (2 * g) if self.rescaled else c / 2

    # ------------------------------------------------------------------ fields and densities
    def fields(self, t: float) -> Any:
        """The field ``φ`` at each grid node at time ``t``, shape ``(*grid.shape, |Λ|)`` (``φ = U y``)."""
        xp = self.grid.xp
        y = self.grid.points
        if self.rescaled:
            y = y * xp.asarray(np.sqrt(self.coefficients(t)[1]))
        return y @ xp.asarray(self.basis.T)

    def _normalised(self, logd: Any) -> Any:
        xp = self.grid.xp
        d = xp.exp(logd - xp.max(logd))
        return d / self.grid.integrate(d)

    def initial_density(self) -> Any:
        """``ν_0 ∝ e^{−V_0(φ)} N(0, C_∞)(dφ)`` in the grid variable, normalised."""
        xp = self.grid.xp
        phi = self.fields(0.0)
        x = self.grid.points
        scale = np.ones(self.grid.dim) if self.rescaled else self.c_inf
        logd = -self.V0(phi, ndim=1) - 0.5 * xp.sum(x**2 / xp.asarray(scale), axis=-1)
        if not bool(xp.all(xp.isfinite(logd))):
            raise ValueError("V0 is not finite on the field grid")
        return self._normalised(logd)

    def target(self, t: float) -> Any:
        """``π_t = N(0, Γ_t/2)`` in the grid variable (``N(0, ½)`` in ``z``), normalised on the grid."""
        return self._normalised(-0.5 * self.grid.xp.sum(2.0 / self._variances(t) * self.grid.points**2, axis=-1))

    def _variances(self, t: float) -> Any:
        """Variances of ``π_t`` along the grid axes."""
        return self.grid.xp.asarray(np.full(self.grid.dim, 0.5) if self.rescaled else self.coefficients(t)[1] / 2)

    def expectation(self, F: Callable[[Any], Any], state: Any, t: float) -> float:
        """``E[F(φ)]`` under the grid density ``state`` at time ``t`` (``F`` acts on fields ``(..., |Λ|)``)."""
        xp = self.grid.xp
        return float(xp.sum(state * F(self.fields(t))) / xp.sum(state))

    # ------------------------------------------------------------------ diagnostics
    def _kl_gaussian(self, state: Any, variances: Any) -> float:
        xp = self.grid.xp
        ref = -0.5 * xp.sum(self.grid.points**2 / variances, axis=-1)
        ref = ref - xp.max(ref)
        logref = ref - math.log(self.grid.integrate(xp.exp(ref)))
        pos = state > 0
        mass = self.grid.integrate(state)
        p = state / mass
        return self.grid.integrate(xp.where(pos, p * (xp.log(xp.where(pos, p, 1.0)) - logref), 0.0))

    def validate(self, state: Any) -> Any:
        """Check and normalise an initial density; ``ValueError`` when it is not negligible on the walls."""
        state = super().validate(state)
        ratio = wall_ratio(state, self.grid.xp)
        if ratio > WALL_TOL:
            raise ValueError(f"the initial density on the walls is {ratio:.2e} of its maximum (> {WALL_TOL:g}): "
                             "the box truncates it; enlarge the extent of the field grid")
        return state

    def diagnostics(self, state: Any, t: float) -> dict[str, float]:
        xp = self.grid.xp
        phi = self.fields(t)
        mass = self.grid.integrate(state)
        kl = self._kl_gaussian(state, self._variances(t))
        free = xp.asarray(np.ones(self.grid.dim)) if self.rescaled else 2 * self._variances(t)
        return {
            "mass": mass,
            "second_moment": self.grid.integrate(state * xp.sum(phi**2, axis=-1)) / (mass * self.grid.dim),
            "kl": kl,
            "free_energy": 0.5 * kl,
            "kl_free": self._kl_gaussian(state, free),
            "wall": wall_ratio(xp.abs(state), xp),
        }

    def describe(self) -> dict[str, Any]:
        return {"equation": "PolchinskiMeasureFlow", "V0": repr(self.V0), "decomposition": repr(self.decomposition),
                "grid": repr(self.grid), "rescaled": self.rescaled, "resolution": self.resolution}


def measure_flow(V0: FieldPotential, decomposition: CovarianceDecomposition, grid: Grid, rescaled: bool = False,
                 resolution: float = RESOLUTION) -> MeasureFlow:
    """The PDE of the renormalised measures ``ν_t`` on a field grid, for :func:`fieldflow.evolve`.

    >>> import fieldflow as ff, fieldflow.polchinski as P
    >>> pde = P.measure_flow(P.phi4(1.0, -1.0), P.PauliVillars(P.Lattice(1, 1), 1.0), P.field_grid(1, 200, 5.0))
    >>> traj = ff.evolve(pde, pde.initial_density(), 1.0, save_times=[0.25, 0.5])
    >>> round(traj["second_moment"][-1], 3)      # E_{ν_1}[φ²] = 0.419 from the definition
    0.419

    See :class:`MeasureFlow` for the parameters.
    """
    return MeasureFlow(V0, decomposition, grid, rescaled, resolution)
