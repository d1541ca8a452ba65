"""The Polchinski semigroup ``P_{s,t}`` and the renormalised measures ``ν_t`` (:ref:`conventions-polchinski`).

.. math::
    P_{s,t}F(φ) = e^{V_t(φ)}\\, E_{C_t − C_s}\\big[e^{−V_s(φ+ζ)} F(φ+ζ)\\big], \\qquad
    E_{ν_t}[F] = e^{V_∞(0)}\\, E_{C_∞ − C_t}\\big[e^{−V_t(ζ)} F(ζ)\\big].

Since Gaussian convolutions compose (``C_t = C_s + (C_t − C_s)``), ``e^{−V_t} = E_{C_t−C_s}[e^{−V_s(·+ζ)}]``,
so ``P_{s,t}`` is the self-normalised Gaussian average
``P_{s,t}F = E[e^{−V_s}F]/E[e^{−V_s}]`` (``P_{s,t}1 = 1`` exactly) and ``E_{ν_t}`` the normalised
``E[e^{−V_t}F]/E[e^{−V_t}]`` under ``N(0, C_∞ − C_t)``.  The semigroup property
``P_{s,t}P_{t,u} = P_{s,u}`` and the invariance ``E_{ν_t}[P_{s,t}F] = E_{ν_s}[F]`` follow.

``ν_t`` from its definition, by four back-ends:

* :class:`FieldSpaceFlow` — ``V_t``, ``P_{s,t}F``, the density and expectations of ``ν_t`` on a
  field-space grid for 1–3 sites (grid convolution), and the residual of the equation of ``ν_t``
  (:meth:`FieldSpaceFlow.measure_residual`);
* :func:`measure_density` — one site, the density of ``ν_t`` at any points by direct quadrature of
  the definition, also in the variable ``Γ_t^{-1/2}φ`` that stays at unit scale as ``ν_t → δ_0``;
* :func:`measure_mc` — ``E_{ν_t}[F]`` by Monte Carlo on any lattice;
* :func:`gaussian_measure_covariance` — exact for quadratic ``V_0`` (``ν_t`` is then Gaussian).

:func:`semigroup_mc` is the Monte Carlo back-end of ``P_{0,t}F``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..core.backend import to_numpy
from ..core.grids import Grid
from ..core.validation import boolean, function, integer, real_array, real_number, shown
from .covariance import CovarianceDecomposition, FourierOperator, decomposition_of
from .potentials import FieldPotential, field_potential
from .renormalize import (KERNEL_RESOLUTION, MonteCarloEstimate, _grid_potential, covariance_matrix, gaussian_fluctuations,
                          gaussian_convolution)

__all__ = ["FieldSpaceFlow", "semigroup_mc", "measure_mc", "measure_density", "gaussian_measure_covariance"]


class FieldSpaceFlow:
    """``V_t``, ``P_{s,t}F``, ``E_{ν_t}[F]``, ``∇V_t``, ``Hess V_t`` and the Polchinski residual on a field grid.

    Parameters
    ----------
    V0 : FieldPotential
    decomposition : CovarianceDecomposition
        On a lattice of 1, 2 or 3 sites (e.g. ``PauliVillars(Lattice(1, 1), mass)`` for one site).
    grid : Grid
        Field-space grid of dimension ``|Λ|`` (``field_grid`` or ``periodic_field_grid``).
    rel_floor : float
        FFT values below this fraction of their maximum are recomputed in the log domain
        (``V_t``) or marked NaN (``P_{s,t}F``, whose ``F`` may change sign).
    """

    def __init__(self, V0: FieldPotential, decomposition: CovarianceDecomposition, grid: Grid, rel_floor: float = 1e-6):
        field_potential(V0)
        decomposition_of(decomposition)
        if not isinstance(grid, Grid):
            raise TypeError(f"grid must be a field-space Grid (field_grid or periodic_field_grid), got {shown(grid)}")
        rel_floor = real_number(rel_floor, "rel_floor", positive=True, maximum=1.0)
        N = decomposition.lattice.size
        if N != grid.dim:
            raise ValueError(f"the lattice has {N} sites but the field grid has dimension {grid.dim}")
        self.V0, self.decomposition, self.grid, self.rel_floor = V0, decomposition, grid, rel_floor
        self._V: dict[float, Any] = {}

    # ------------------------------------------------------------------ covariances
    def covariance(self, t: float, s: float = 0.0) -> np.ndarray:
        """The matrix ``C_t − C_s``."""
        return self.decomposition.covariance(t, s).matrix()

    def _values(self, F: Any) -> Any:
        if callable(F):
            return self.grid.asarray(F(self.grid.points))
        return self.grid.asarray(F)

    # ------------------------------------------------------------------ potential
    def potential(self, t: float) -> Any:
        """``V_t`` on the grid (cached; NaN where truncation by the box could matter, see ``renormalized_potential``)."""
        t = float(t)
        if t not in self._V:
            if t == 0:
                self._V[t] = self.V0(self.grid.points, ndim=1)
            else:
                self._V[t] = _grid_potential(self.V0, covariance_matrix(self.covariance(t)), self.grid,
                                             self.rel_floor, 2 * math.pi**2 / KERNEL_RESOLUTION)
            if len(self._V) > 64:
                self._V.pop(next(iter(self._V)))
        return self._V[t]

    def gradient(self, t: float) -> Any:
        """``∇V_t`` by second-order centred differences, shape ``(*grid.shape, N)`` (NaN on the outer nodes of a box)."""
        return _gradient(self.grid, self.potential(t))

    def hessian(self, t: float) -> Any:
        """``Hess V_t`` by second-order centred differences, shape ``(*grid.shape, N, N)``."""
        return _hessian(self.grid, self.potential(t))

    def residual(self, t: float, dt: float | None = None) -> Any:
        """Residual of Polchinski's equation ``∂_tV − ½ tr(Ċ_t Hess V) + ½ ∇Vᵀ Ċ_t ∇V`` on the grid.

        ``∂_t V`` is a centred difference with step ``dt`` (default: the grid spacing), all space
        derivatives centred differences: the residual of the exact ``V_t`` is ``O(h² + dt²)``.
        """
        xp = self.grid.xp
        dt = float(dt if dt is not None else max(self.grid.spacing))
        if dt >= t:
            raise ValueError(f"the time step dt={dt:g} must be smaller than t={t:g}")
        dV = (self.potential(t + dt) - self.potential(t - dt)) / (2 * dt)
        Cd = xp.asarray(self.decomposition.derivative(t).matrix())
        g, H = self.gradient(t), self.hessian(t)
        lap = xp.einsum("ij,...ji->...", Cd, H)
        quad = xp.einsum("...i,ij,...j->...", g, Cd, g)
        return dV - 0.5 * lap + 0.5 * quad

    # ------------------------------------------------------------------ semigroup and measure
    def semigroup(self, F: Any, s: float, t: float) -> Any:
        """``P_{s,t}F`` on the grid (``F``: values on the grid or a callable on points ``(..., N)``).

        NaN where the Gaussian average of ``e^{−V_s}`` is below ``rel_floor`` of its maximum (there
        the FFT cannot resolve a sign-changing ``F``) or where ``V_s`` is NaN.
        """
        if t < s:
            raise ValueError(f"P_(s,t) needs s ≤ t, got s={s}, t={t}")
        xp = self.grid.xp
        Fv = self._values(F)
        if t == s:
            return Fv
        Vs = self.potential(s)
        finite = xp.isfinite(Vs)
        m = float(xp.min(xp.where(finite, Vs, xp.inf)))
        w = xp.where(finite, xp.exp(-(xp.where(finite, Vs, m) - m)), 0.0)
        C = self.covariance(t, s)
        num = gaussian_convolution(self.grid, C, w * Fv)
        den = gaussian_convolution(self.grid, C, w)
        ok = den > self.rel_floor * float(xp.max(den))
        return xp.where(ok, num / xp.where(ok, den, 1.0), xp.nan)

    def _log_measure(self, t: float) -> Any:
        """``log`` of the unnormalised ``ν_t`` at the grid nodes: ``log γ_{C_∞−C_t} − V_t`` (``−inf`` where ``V_t`` is NaN)."""
        xp = self.grid.xp
        D = covariance_matrix(self.covariance(math.inf, t), name="covariance C_∞ − C_t")
        Vt = self.potential(t)
        if self.grid.periodic:
            logg = xp.log(xp.maximum(self._periodised_gaussian(D), 1e-300))
        else:
            lam, h = float(np.linalg.eigvalsh(D).min()), max(self.grid.spacing)
            if 2 * math.pi**2 * lam / h**2 < KERNEL_RESOLUTION:
                raise ValueError(f"C_∞ − C_t is too narrow for the field grid at t={t:g} (smallest std "
                                 f"{math.sqrt(lam):.3g}, spacing {h:.3g}); refine the grid or take a smaller t")
            pts = self.grid.points
            logg = -0.5 * xp.sum((pts @ xp.asarray(np.linalg.inv(D))) * pts, axis=-1)
        return xp.where(xp.isfinite(Vt), logg - Vt, -xp.inf)

    def density(self, t: float) -> Any:
        """The density of ``ν_t ∝ γ_{C_∞−C_t} e^{−V_t}`` on the grid, normalised (``grid.integrate`` gives 1).

        On a periodic grid it is the density of ``φ`` modulo the period (the Gaussian periodised).
        Zero where ``V_t`` is NaN (near the edge of a box, where ``ν_t`` is negligible).
        """
        xp = self.grid.xp
        logw = self._log_measure(t)
        w = xp.exp(logw - xp.max(logw))
        return w / self.grid.integrate(w)

    def expectation(self, F: Any, t: float) -> float:
        """``E_{ν_t}[F]``; ``t = inf`` gives ``F(0)`` (``ν_∞ = δ_0``), which needs ``F`` callable.

        On a periodic grid ``F`` must have the period of ``V_0``; the Gaussian of ``C_∞ − C_t`` is then
        periodised exactly (its Fourier series).
        """
        xp = self.grid.xp
        if math.isinf(t):
            if not callable(F):
                raise ValueError("E_{ν_∞}[F] = F(0) needs F as a callable")
            return float(to_numpy(F(xp.zeros((1, self.grid.dim))))[0])
        rho = self.density(t)
        return float(xp.sum(rho * self._values(F)) / xp.sum(rho))

    def measure_residual(self, t: float, form: str = "forward", dt: float | None = None) -> Any:
        """Residual of the equation of ``ν_t`` on ``ν_t`` itself (box grids), in one of its two forms.

        ``"forward"`` (Fokker–Planck, the gradient flow of ``½KL(·‖π_t)``, ``π_t = N(0, Γ_t/2)``)::

            ∂_t ν = ½ ∇·(Ċ_t (∇ν + 2ν Γ_t^{-1} φ)),      Γ_t = C_∞ − C_t,

        ``"backward"`` (the adjoint of the Polchinski semigroup, with negative diffusion)::

            ∂_t ν = −½ ∇·(Ċ_t ∇ν) − ∇·(ν Ċ_t ∇V_t).

        Both fluxes equal ``½ Ċ_t ν (Γ_t^{-1}φ − ∇V_t)`` on ``ν_t ∝ γ_{Γ_t} e^{−V_t}``.  ``∂_t ν`` is a centred
        difference with step ``dt`` (default: the grid spacing), the fluxes and their divergence centred
        differences, so the residual is ``O(h² + dt²)``; NaN on the two outer layers of nodes.
        """
        if self.grid.periodic:
            raise ValueError("measure_residual needs a box grid: ν_t is not periodic")
        if form not in ("forward", "backward"):
            raise ValueError(f"form must be 'forward' or 'backward', got {form!r}")
        xp = self.grid.xp
        dt = float(dt if dt is not None else max(self.grid.spacing))
        if dt >= t:
            raise ValueError(f"the time step dt={dt:g} must be smaller than t={t:g}")
        dnu = (self.density(t + dt) - self.density(t - dt)) / (2 * dt)
        nu = self.density(t)
        Cd = xp.asarray(self.decomposition.derivative(t).matrix())
        if form == "forward":
            G = covariance_matrix(self.covariance(math.inf, t), name="covariance C_∞ − C_t")
            v = _gradient(self.grid, nu) + 2 * nu[..., None] * (self.grid.points @ xp.asarray(np.linalg.inv(G)))
        else:
            v = -_gradient(self.grid, nu) - 2 * nu[..., None] * self.gradient(t)
        flux = 0.5 * (v @ Cd)  # Ċ symmetric
        div = sum(_central(self.grid, flux[..., a], a) for a in range(self.grid.dim))
        return dnu - div

    def _periodised_gaussian(self, D: np.ndarray) -> Any:
        """``Σ_{m ∈ ℤ^N} γ_D(y + P m)`` at the nodes of a periodic grid, from its Fourier series ``e^{−kᵀDk/2}``."""
        grid, xp = self.grid, self.grid.xp
        k = grid.wavenumbers()
        quad = sum(D[a, b] * k[a] * k[b] for a in range(grid.dim) for b in range(grid.dim))
        phase = sum(k[a] * grid.lower[a] for a in range(grid.dim))
        series = xp.exp(-0.5 * quad + 1j * phase)
        return xp.real(xp.fft.ifftn(series)) * (grid.size / float(np.prod(grid.lengths)))


def _central(grid: Grid, V: Any, axis: int) -> Any:
    xp = grid.xp
    h = grid.spacing[axis]
    d = (xp.roll(V, -1, axis=axis) - xp.roll(V, 1, axis=axis)) / (2 * h)
    if not grid.periodic:
        d = _blank_edges(xp, d, axis)
    return d


def _blank_edges(xp: Any, a: Any, axis: int) -> Any:
    a = a.copy()
    idx = [slice(None)] * a.ndim
    for j in (0, -1):
        idx[axis] = j
        a[tuple(idx)] = xp.nan
    return a


def _gradient(grid: Grid, V: Any) -> Any:
    return grid.xp.stack([_central(grid, V, a) for a in range(grid.dim)], axis=-1)


def _hessian(grid: Grid, V: Any) -> Any:
    xp = grid.xp
    N = grid.dim
    rows = []
    for a in range(N):
        row = []
        for b in range(N):
            if a == b:
                h = grid.spacing[a]
                d = (xp.roll(V, -1, axis=a) - 2 * V + xp.roll(V, 1, axis=a)) / h**2
                if not grid.periodic:
                    d = _blank_edges(xp, d, a)
            else:
                d = _central(grid, _central(grid, V, a), b)
            row.append(d)
        rows.append(xp.stack(row, axis=-1))
    return xp.stack(rows, axis=-2)


def semigroup_mc(V0: FieldPotential, covariance: Any, F: Callable[[Any], Any], phi: Any, samples: int = 4096,
                 seed: Any = None) -> MonteCarloEstimate:
    """``P_{0,t}F(φ) = E[e^{−V_0(φ+ζ)} F(φ+ζ)] / E[e^{−V_0(φ+ζ)}]``, ``ζ ~ N(0, C_t)``, by Monte Carlo.

    ``covariance`` is ``C_t`` (a :class:`LatticeCovariance`, a matrix or a scalar); with ``C_∞`` and
    ``φ = 0`` this is ``E_{ν_0}[F]``.  ``F`` maps fields ``(M, *sites)`` to ``(M,)``.  The error is the
    delta-method standard error of the ratio estimator, ``std(w(F − P))/(√M mean(w))``.
    """
    field_potential(V0)
    function(F, "F", hint="F maps fields (M, *sites) to (M,)")
    xp, ndim, site_shape, zeta = gaussian_fluctuations(covariance, samples, seed)
    phi = real_array(phi, "phi", xp=xp)
    batch = phi.shape[: phi.ndim - len(site_shape)]
    values, errors = [], []
    for f in phi.reshape((-1,) + site_shape):
        fields = f + zeta
        logw = -V0(fields, ndim=ndim)
        w = xp.exp(logw - xp.max(logw))
        Fv = F(fields)
        est = float(xp.sum(w * Fv) / xp.sum(w))
        values.append(est)
        errors.append(float(xp.std(w * (Fv - est), ddof=1)) / (math.sqrt(samples) * float(xp.mean(w))))
    return MonteCarloEstimate(np.asarray(values).reshape(batch), np.asarray(errors).reshape(batch), int(samples))


def measure_mc(V0: FieldPotential, decomposition: CovarianceDecomposition, t: float, F: Callable[[Any], Any],
               samples: int = 4096, seed: Any = None) -> MonteCarloEstimate:
    """``E_{ν_t}[F]`` by Monte Carlo on any lattice, straight from the definition.

    With ``ζ ~ N(0, C_∞ − C_t)`` and ``ξ ~ N(0, C_t)`` independent (exact FFT samples),
    ``e^{−V_t(ζ)} = E[e^{−V_0(ζ + ξ)} | ζ]``, so ``E_{ν_t}[F] = E[w F(ζ)] / E[w]`` with
    ``w = e^{−V_0(ζ + ξ)}`` (note ``ζ + ξ ~ N(0, C_∞)``).  ``F`` maps fields ``(M, *lattice.shape)`` to
    ``(M,)``.  The error is the delta-method standard error of the ratio estimator.
    """
    field_potential(V0)
    decomposition_of(decomposition)
    t = real_number(t, "t", nonnegative=True, hint="the flow time")
    function(F, "F", hint="F maps fields (M, *lattice.shape) to (M,)")
    lat = decomposition.lattice
    xp = lat.xp
    samples = integer(samples, "samples", minimum=2, hint="the Monte Carlo sample size")
    seeds = (seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)).spawn(2)
    zeta = decomposition.covariance(math.inf, t).sample(samples, seeds[0])
    fields = zeta + decomposition.sample(t, samples, seeds[1]) if t > 0 else zeta
    logw = -V0(fields, ndim=lat.dim)
    w = xp.exp(logw - xp.max(logw))
    Fv = F(zeta)
    est = float(xp.sum(w * Fv) / xp.sum(w))
    err = float(xp.std(w * (Fv - est), ddof=1)) / (math.sqrt(samples) * float(xp.mean(w)))
    return MonteCarloEstimate(est, err, int(samples))


def measure_density(V0: FieldPotential, decomposition: CovarianceDecomposition, t: float, phi: Any,
                    rescaled: bool = False, max_nodes: int = 2**17) -> np.ndarray:
    """The density of ``ν_t`` of one site at the points ``phi`` by direct quadrature of the definition.

    .. math:: ν_t(φ) = γ_{Γ_t}(φ) \\int γ_{C_t}(φ − ψ) e^{−V_0(ψ)}\\,dψ \\Big/ \\int γ_{C_∞}(ψ) e^{−V_0(ψ)}\\,dψ,
              \\qquad Γ_t = C_∞ − C_t,

    (``ν_0 = e^{−V_0} γ_{C_∞}/Z``), both integrals by the trapezoid rule on one ψ-grid with spacing
    ``≤ 0.5 C_t^{1/2}`` (Gaussian kernel resolved to ``e^{−2π²·4} ≈ 10^{-34}``) in the log domain.

    Parameters
    ----------
    V0 : FieldPotential
    decomposition : CovarianceDecomposition
        On a lattice of one site.
    t : float
        ``t ≥ 0``.
    phi : array
        Points (any shape): field values, or with ``rescaled=True`` values of ``z = Γ_t^{-1/2}φ``; the
        density is then that of ``z`` (``Γ_t^{1/2} ν_t(Γ_t^{1/2} z)``), which tends to ``N(0, 1)`` as
        ``t → ∞`` while ``ν_t → δ_0``.
    max_nodes : int
        Largest ψ-grid allowed (``ValueError`` when a small ``t`` would need more).
    """
    field_potential(V0)
    decomposition_of(decomposition)
    if decomposition.lattice.size != 1:
        raise ValueError(f"measure_density is for one site; the lattice has {decomposition.lattice.size} "
                         "(use FieldSpaceFlow.density for 2–3 sites or measure_mc for a lattice)")
    t = real_number(t, "t", nonnegative=True, hint="the flow time")
    rescaled = boolean(rescaled, "rescaled")
    max_nodes = integer(max_nodes, "max_nodes", minimum=2)
    phi = real_array(phi, "phi", hint="the points at which to evaluate the density")
    c_inf = float(decomposition.symbol(math.inf).ravel()[0])
    c_t = float(decomposition.symbol(t).ravel()[0]) if t > 0 else 0.0
    gamma = float(decomposition.covariance(math.inf, t).full_symbol.ravel()[0]) if t > 0 else c_inf
    if not gamma > 1e-12 * c_inf:
        raise ValueError(f"Γ_t = C_∞ − C_t = {gamma:.3g} is lost to round-off at t={t:g}; take a smaller t")
    z = np.asarray(to_numpy(phi), dtype=float)
    x = z * math.sqrt(gamma) if rescaled else z
    # ψ-grid: covers ν_0 (and Z) and every point ± 12 standard deviations of the kernel
    half = 14.0 * math.sqrt(c_inf)
    spread = 12.0 * math.sqrt(c_t) if t > 0 else 0.0
    lo = min(-half, float(x.min(initial=0.0)) - spread)
    hi = max(half, float(x.max(initial=0.0)) + spread)
    h = (hi - lo) / 8192
    if t > 0:
        h = min(h, 0.5 * math.sqrt(c_t))
    n = int(math.ceil((hi - lo) / h)) + 1
    if n > max_nodes:
        raise ValueError(f"t={t:g} needs {n} quadrature nodes (C_t = {c_t:.3g} is narrow); use t = 0, a larger t, "
                         f"or raise max_nodes={max_nodes}")
    psi = np.linspace(lo, hi, n)
    h = psi[1] - psi[0]
    v0 = np.asarray(to_numpy(V0(psi[:, None], ndim=1)), dtype=float)
    if not np.all(np.isfinite(v0)):
        raise ValueError("V0 is not finite on the quadrature grid")
    a = -v0 - 0.5 * psi**2 / c_inf
    logZ = a.max() + math.log(np.sum(np.exp(a - a.max())) * h / math.sqrt(2 * math.pi * c_inf))
    flat = x.ravel()
    if t == 0:
        logd = -np.asarray(to_numpy(V0(flat[:, None], ndim=1)), dtype=float)
        logd += -0.5 * flat**2 / c_inf - 0.5 * math.log(2 * math.pi * c_inf) - logZ
    else:
        logd = np.empty(flat.size)
        rows = max(1, 2**22 // n)
        for s in range(0, flat.size, rows):
            q = -v0[None, :] - 0.5 * (flat[s:s + rows, None] - psi[None, :]) ** 2 / c_t
            m = q.max(axis=1)
            logd[s:s + rows] = m + np.log(np.exp(q - m[:, None]).sum(axis=1) * h / math.sqrt(2 * math.pi * c_t))
        logd += -0.5 * flat**2 / gamma - 0.5 * math.log(2 * math.pi * gamma) - logZ
    dens = np.exp(logd).reshape(z.shape)
    return dens * math.sqrt(gamma) if rescaled else dens


def gaussian_measure_covariance(V0: FieldPotential, decomposition: CovarianceDecomposition, t: float) -> np.ndarray:
    """Covariance of ``ν_t`` for quadratic ``V_0 = ½(φ,Qφ)``: ``((C_∞ − C_t)^{-1} + Q_t)^{-1}``, ``Q_t = Q(1 + C_tQ)^{-1}``.

    ``ν_t`` is then the centred Gaussian with this covariance (the exact back-end for ``E_{ν_t}``).
    """
    Q = field_potential(V0).quadratic_form()
    decomposition_of(decomposition)
    t = real_number(t, "t", nonnegative=True, hint="the flow time")
    if Q is None:
        raise ValueError(f"the exact renormalised measure needs a quadratic V0, got {V0!r}")
    N = decomposition.lattice.size
    Qm = Q.matrix() if isinstance(Q, FourierOperator) else (float(Q) * np.eye(N) if np.ndim(Q) == 0 else np.asarray(Q))
    Ct = decomposition.covariance(t).matrix() if t > 0 else np.zeros((N, N))
    Qt = np.linalg.solve(np.eye(N) + Qm @ Ct, Qm)
    D = covariance_matrix(decomposition.covariance(math.inf, t), name="covariance C_∞ − C_t")
    return np.linalg.inv(np.linalg.inv(D) + 0.5 * (Qt + Qt.T))
