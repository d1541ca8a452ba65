"""Mean-field SVGD with the Duncan kernel, and its local limit, as KL-dissipating finite volumes.

The equation (:ref:`conventions-svgd`), with ``V0(x) = α|x|^q + β ≤ V(x)`` (``q = 2`` in the theorem;
``q ∈ (0, 2)`` is the open case of heavier tails) and ``u = ρ e^{V}``:

.. math:: \\partial_t\\rho = \\nabla\\cdot\\big(u\\,e^{-V_0/2}\\; k * (e^{-V_0/2}\\nabla u)\\big),
          \\qquad \\frac{d}{dt}{\\rm KL}(\\rho\\|\\rho_\\infty) = -\\mathbb D^2
          = -\\int g\\cdot(k*g)\\,dx,\\quad g = e^{-V_0/2}\\nabla u,

and its local limit ``k → δ``: ``∂t ϱ = ∇·(u e^{−V0} ∇u)``.

Overflow-free variables.  With the discrete target ``ρ∞,i = e^{−V_i}/Z_h`` the solver works with
the likelihood ratio ``r = ρ/ρ∞,h = Z_h u`` (``= 1`` at equilibrium) and the scaled weight
``ω = e^{−V0/2}/Z_h``, so ``u e^{−V0/2} = r ω`` and ``e^{−V0/2}∇u = ω∇r``; no factor ``e^{V}``
is ever formed.

The scheme (cell-centred box, zero flux through the walls; ``h_a`` the spacing along axis ``a``).
On the interior face ``f`` between cells ``i`` and ``i + e_a``:

.. math:: g^a_f = \\omega_f\\,\\frac{r_{i+e_a} - r_i}{h_a}, \\qquad
          F^a_f = -\\,\\omega_f\\,\\Lambda(r_i, r_{i+e_a})\\,(K_h g^a)_f, \\qquad
          \\dot\\rho_i = -\\sum_a \\frac{F^a_{i+e_a/2} - F^a_{i-e_a/2}}{h_a},

with ``ω_f`` evaluated at the face centre, ``Λ(a, b) = (b − a)/(log b − log a)`` the
*logarithmic mean* and ``K_h`` the discrete convolution of each face component on its own face
lattice: zero padding to a periodic lattice and multiplication by ``k̂`` there
(:class:`fieldflow.core.convolve.PaddedFourierMultiplier`).  The logarithmic mean is the face average
for which the chain rule holds exactly, ``Λ(r_i, r_j)(log r_j − log r_i) = r_j − r_i``; summation
by parts then gives the **discrete dissipation identity**

.. math:: \\frac{d}{dt}{\\rm KL}_h = h^d \\sum_i \\dot\\rho_i \\log r_i
          = -\\,h^d \\sum_a \\sum_f g^a_f\\,(K_h g^a)_f = -\\mathbb D_h^2 \\le 0,

because ``K_h`` is a principal submatrix of a circulant matrix with eigenvalues ``k̂(ξ_m) ≥ 0``
(positive semi-definite; definite for the Bessel kernel, so ``𝔻_h = 0`` only at ``ρ = ρ∞,h``).
An upwind face density breaks this identity (and can raise KL); see docs/equations/svgd.rst.

Time stepping: the transport speed grows like ``e^{(1−α)|x|²/2}`` toward the box edges, so
explicit steps are impractical.  The default is the shared L-stable TR-BDF2 with
Jacobian-free Newton–GMRES whose Jacobian-vector products are exact (one FFT convolution
each, :meth:`SVGDFlow.jvp`); backward Euler (``method="euler"``) even dissipates ``KL_h`` at
every step size, ``KL_h(ρ^{n+1}) + Δt 𝔻_h²(ρ^{n+1}) ≤ KL_h(ρ^n)``, by convexity of ``KL_h``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..core.backend import namespace_of, to_numpy
from ..core.convolve import PaddedFourierMultiplier
from ..core.validation import boolean, real_number, validate_density
from ..core.finite_volume import divergence, face_operator, lower_cells, upper_cells
from ..core.grids import Grid
from ..core.linalg import approximate_inverse, shifted, sparse_modules, stencil_matrix
from .kernels import Kernel
from ..potentials import Potential, potential_on_grid
from ..core.problem import PDE
from ..core.steppers.log_density import LogTRBDF2

_ = LogTRBDF2  # registers the "log-trbdf2" stepper, the default of these equations

__all__ = ["SVGDFlow", "LocalSVGDFlow", "log_mean", "log_mean_partials", "limited_log_mean", "mobility_ratio",
           "limiter_factor"]

_SMALL = 1e-3  # |log(b/a)| below which series are used
_TINY = np.finfo(float).tiny


def _log_ratio(a: Any, b: Any, xp: Any) -> Any:
    return xp.log(b) - xp.log(a)


def log_mean(a: Any, b: Any, xp: Any = np) -> Any:
    """Logarithmic mean ``Λ(a, b) = (b − a)/(log b − log a)``, ``Λ(a, a) = a``, for ``a, b > 0``.

    Stable for all positive inputs: for ``|log(b/a)| < 10⁻³`` the series
    ``√(ab)(1 + x²/24 + x⁴/1920)``, ``x = log(b/a)``, is used.
    """
    x = _log_ratio(a, b, xp)
    small = xp.abs(x) < _SMALL
    safe = xp.where(small, 1.0, x)
    return xp.where(small, xp.sqrt(a * b) * (1 + x * x / 24 + x**4 / 1920), (b - a) / safe)


def _e2(x: Any, xp: Any) -> Any:
    """``(e^x − 1 − x)/x²``: ``∂Λ/∂a`` at ``x = log(b/a)`` (capped at ``x = 700`` to stay finite)."""
    x = xp.minimum(x, 700.0)
    small = xp.abs(x) < _SMALL
    safe = xp.where(small, 1.0, x)
    return xp.where(small, 0.5 + x / 6 + x * x / 24 + x**3 / 120, (xp.expm1(safe) - safe) / (safe * safe))


def log_mean_partials(a: Any, b: Any, xp: Any = np) -> tuple[Any, Any, Any]:
    """``Λ(a, b)``, ``∂Λ/∂a = E(x)`` and ``∂Λ/∂b = E(−x)`` with ``E(x) = (e^x − 1 − x)/x²``, ``x = log(b/a)``."""
    x = _log_ratio(a, b, xp)
    return log_mean(a, b, xp), _e2(x, xp), _e2(-x, xp)


def limited_log_mean(a: Any, b: Any, kappa: float, xp: Any = np) -> tuple[Any, ...]:
    """Face mobility ``M = min(Λ(a, b), κ min(a, b))`` and ``S = M/Λ``, with their partial derivatives.

    Returns ``(M, ∂M/∂a, ∂M/∂b, S, ∂S/∂a, ∂S/∂b)``.  ``S = 1`` (``M = Λ``) unless ``|log(b/a)|``
    exceeds the root ``x₀`` of ``x/(e^x − 1) = 1/κ``, i.e. unless ``log r`` jumps between the two cells.
    """
    L, La, Lb = log_mean_partials(a, b, xp)
    a_min = a <= b
    cap = kappa * xp.where(a_min, a, b)
    limited = cap < L
    M = xp.where(limited, cap, L)
    Ma = xp.where(limited, kappa * a_min, La)
    Mb = xp.where(limited, kappa * ~a_min, Lb)
    Ls = xp.where(limited, L, 1.0)  # limited faces have L > cap ≥ 0
    S = xp.where(limited, cap / Ls, 1.0)
    Sa = xp.where(limited, (kappa * a_min - S * La) / Ls, 0.0)
    Sb = xp.where(limited, (kappa * ~a_min - S * Lb) / Ls, 0.0)
    return M, Ma, Mb, S, Sa, Sb


def mobility_ratio(x: Any, x0: float, kappa: float, xp: Any = np) -> tuple[Any, Any]:
    """``m(x) = M(a, b)/a`` and ``m'(x)`` for the limited mobility ``M`` of :func:`limited_log_mean`, ``x = log(b/a)``.

    ``M`` is homogeneous of degree one, so ``M/a`` depends on ``x`` alone: ``m = φ(x) = (e^x − 1)/x`` where
    ``|x| ≤ x₀`` (``φ(x₀) = κ``), ``κ`` for ``x > x₀`` and ``κ e^x`` for ``x < −x₀``.  Finite for every real ``x``
    (no ``a`` or ``b`` is formed): the log-density form of :class:`SVGDFlow` divides fluxes by the cell's own
    density through it.
    """
    xc = xp.clip(x, -x0, x0)
    small = xp.abs(xc) < _SMALL
    safe = xp.where(small, 1.0, xc)
    e = xp.expm1(safe)
    phi = xp.where(small, 1 + xc / 2 + xc * xc / 6 + xc**3 / 24, e / safe)
    dphi = xp.where(small, 0.5 + xc / 3 + xc * xc / 8, (safe * (e + 1) - e) / (safe * safe))
    tail = kappa * xp.exp(xp.minimum(x, 0.0))
    inside = xp.abs(x) <= x0
    return xp.where(inside, phi, tail), xp.where(inside, dphi, xp.where(x < 0, tail, 0.0))


def limiter_factor(x: Any, x0: float, kappa: float, xp: Any = np) -> tuple[Any, Any]:
    """``S(x) = M/Λ`` of :func:`limited_log_mean` and ``S'(x)`` as functions of ``x = log(b/a)`` alone.

    ``S = 1`` for ``|x| ≤ x₀``, else ``S = κ y q/(1 − q)`` with ``y = |x|``, ``q = e^{−y}`` (written so that nothing
    overflows), and ``S' = sign(x) κ q (1 − q − y)/(1 − q)²``.
    """
    y = xp.maximum(xp.abs(x), x0)
    q = xp.exp(-y)
    inside = xp.abs(x) <= x0
    S = xp.where(inside, 1.0, kappa * y * q / (1 - q))
    dS = xp.where(inside, 0.0, xp.sign(x) * kappa * q * (1 - q - y) / ((1 - q) * (1 - q)))
    return S, dS


class _DuncanFlow(PDE):
    """Common set-up of :class:`SVGDFlow` and :class:`LocalSVGDFlow`: target, ``V0``, face lattices, weights."""

    conserved = ("mass",)
    positive = True
    monotone = "kl"
    default_method = "log-trbdf2"

    def __init__(self, grid: Grid, V: Potential | Callable[[Any], Any] | Any, alpha: float, beta: float = 0.0,
                 allow_violation: bool = False, q: float = 2.0):
        if not isinstance(grid, Grid) or grid.periodic:
            raise ValueError(f"{type(self).__name__} is a no-flux box solver; build the grid with Grid.box(...)")
        self.grid, self.potential = grid, V
        self.alpha = real_number(alpha, "alpha", positive=True, hint="V0 = α|x|^q + β")
        self.beta = real_number(beta, "beta", hint="V0 = α|x|^q + β")
        self.q = real_number(q, "q", positive=True, hint="V0 = α|x|^q + β; 2 in the theorem")
        self.allow_violation = boolean(allow_violation, "allow_violation")
        xp = grid.xp
        self.V = potential_on_grid(grid, V)
        self.V0 = self._v0(grid.points) + self.beta
        self.violation = self._check_v0(allow_violation)
        # discrete target, in the log domain
        v_min = float(xp.min(self.V))  # log Z_h = −min V + log(h^d Σ e^{−(V − min V)}), without underflow
        self.log_Z = -v_min + math.log(float(xp.sum(xp.exp(v_min - self.V))) * grid.cell_volume)
        self.log_rho_inf = -self.V - self.log_Z
        worst = float(xp.max(-self.log_rho_inf))
        if worst > 700:
            raise ValueError(
                f"the box is too large for this V: the target e^(-V)/Z falls to e^(-{worst:.0f}) at its edge, below the "
                "floating-point range; shrink the box to where V - min V < ~650"
            )
        #: ``max_i (V − V0/2)``: the logarithm of the largest Duncan weight ``e^{V − V0/2}`` on the box.  The tail
        #: cells' transport speed is the bulk's nonlocal velocity amplified by it; runs up to 48 (1D) and 36 (2D) are
        #: measured to work, 180 (the banana b = 1 on [−4, 4]²) exhausts double precision (docs/equations/svgd.rst,
        #: "Limits")
        self.log_weight_max = float(xp.max(self.V - 0.5 * self.V0))
        self.rho_inf = xp.exp(self.log_rho_inf)
        self.inv_rho_inf = xp.exp(-self.log_rho_inf)
        # face lattices: per axis, the interior faces between cells i and i + e_a
        self.face_weights, self.face_grids = [], []
        for a, h in enumerate(grid.spacing):
            shape = list(grid.shape)
            shape[a] -= 1
            lower, upper = list(grid.lower), list(grid.upper)
            lower[a] += 0.5 * h
            upper[a] -= 0.5 * h
            face_grid = Grid("box", tuple(shape), tuple(lower), tuple(upper), grid.backend)
            self.face_grids.append(face_grid)
            v0 = self._v0(face_grid.points) + self.beta
            self.face_weights.append(xp.exp(-0.5 * v0 - self.log_Z))

    def _v0(self, points: Any) -> Any:
        """``α|x|^q`` at ``points`` (shape ``(..., d)``)."""
        xp = self.grid.xp
        sq = xp.sum(points**2, axis=-1)
        return self.alpha * (sq if self.q == 2.0 else sq ** (0.5 * self.q))

    # ------------------------------------------------------------------ hypothesis V ≥ V0
    def _check_v0(self, allow: bool) -> dict[str, Any] | None:
        xp, grid = self.grid.xp, self.grid
        gap = self.V - self.V0
        bad = gap < -1e-12 * xp.maximum(1.0, xp.abs(self.V))
        if not bool(xp.any(bad)):
            return None
        pts = to_numpy(grid.points[bad])
        gap_np = to_numpy(gap)
        worst = int(np.argmin(gap_np))
        worst_x = to_numpy(grid.points.reshape(-1, grid.dim)[worst])
        beta_max = float(to_numpy(xp.min(self.V - self._v0(grid.points))))
        region = " x ".join(f"[{lo:.3g}, {hi:.3g}]" for lo, hi in zip(pts.min(axis=0), pts.max(axis=0)))
        info = {"cells": int(pts.shape[0]), "region": region, "worst_gap": float(gap_np.ravel()[worst]),
                "worst_x": worst_x.tolist(), "beta_max": beta_max}
        if not allow:
            raise ValueError(
                f"V < V0 = {self.alpha:g}|x|^{self.q:g} + {self.beta:g} on {info['cells']} of {grid.size} cells, in the region "
                f"{region} (worst V - V0 = {info['worst_gap']:.3g} at x = {np.round(worst_x, 3).tolist()}); the theorem "
                f"needs V ≥ V0. With this alpha choose beta ≤ {beta_max:.4g} (or a smaller alpha), or pass "
                "allow_violation=True to run outside the theorem's hypothesis"
            )
        return info

    # ------------------------------------------------------------------ helpers
    def ratio(self, rho: Any) -> Any:
        """The likelihood ratio ``r = ρ/ρ∞,h`` (``= Z_h ρ e^{V}``)."""
        return rho * self.inv_rho_inf

    def _face_pairs(self, r: Any, a: int) -> tuple[Any, Any]:
        return r[lower_cells(a, self.grid.dim)], r[upper_cells(a, self.grid.dim)]

    def _gradients(self, r: Any) -> list[Any]:
        """``g^a_f = ω_f (r_{i+e_a} − r_i)/h_a`` on each face lattice."""
        out = []
        for a, h in enumerate(self.grid.spacing):
            lo, hi = self._face_pairs(r, a)
            out.append(self.face_weights[a] * (hi - lo) / h)
        return out

    def _means(self, r: Any, partials: bool = False) -> list[Any]:
        xp = self.grid.xp
        r = xp.maximum(r, _TINY)  # only Newton iterates can leave ρ > 0; Λ is defined for positive arguments
        f = log_mean_partials if partials else log_mean
        return [f(*self._face_pairs(r, a), xp) for a in range(self.grid.dim)]

    # ------------------------------------------------------------------ diagnostics
    def kl(self, rho: Any) -> float:
        """``KL_h(ρ‖ρ∞,h) = h^d Σ ρ log(ρ/ρ∞,h)`` (``0 log 0 = 0``)."""
        xp = self.grid.xp
        pos = rho > 0
        logr = xp.log(xp.where(pos, rho, 1.0)) - self.log_rho_inf
        return self.grid.integrate(xp.where(pos, rho * logr, 0.0))

    def monotone_value(self, rho: Any) -> float:
        """``KL_h`` (the ``monotone`` diagnostic): the scheme dissipates it exactly, so the implicit steppers reject
        a trial step that raises it (:mod:`fieldflow.core.steppers.implicit`)."""
        return self.kl(rho)

    def dissipation(self, rho: Any) -> float:
        raise NotImplementedError

    def diagnostics(self, rho: Any, t: float) -> dict[str, float]:
        return {"mass": self.grid.integrate(rho), "kl": self.kl(rho), "dissipation": self.dissipation(rho)}

    def kl_rate(self, rho: Any) -> float:
        """``d KL_h/dt = h^d Σ_i (∂t ρ)_i log r_i`` evaluated from the right-hand side (equals ``−𝔻_h²``)."""
        xp = self.grid.xp
        logr = xp.log(xp.maximum(rho, _TINY)) - self.log_rho_inf
        return self.grid.integrate(self.rhs(rho, 0.0) * logr)

    def validate(self, state: Any) -> Any:
        """Normalise ``ρ0`` and check it is strictly positive and that the SVGD flux is finite for it."""
        rho = validate_density(self.grid, state, name="initial density", normalise=True)
        xp = self.grid.xp
        zero = rho <= 0
        if bool(xp.any(zero)):
            raise ValueError(
                f"the initial density vanishes on {int(xp.sum(zero))} cells; {type(self).__name__} needs ρ0 > 0 everywhere "
                "(the KL-dissipating logarithmic-mean face density never refills an empty cell); add a small positive floor"
            )
        flux = self.rhs(rho, 0.0)
        if not bool(xp.all(xp.isfinite(flux))):
            r = self.ratio(rho)
            i = int(xp.argmax(r))
            x = to_numpy(self.grid.points.reshape(-1, self.grid.dim)[i])
            raise ValueError(
                f"the SVGD flux overflows for this initial density: ρ0/ρ∞ reaches {float(r.ravel()[i]):.3g} at "
                f"x = {np.round(x, 3).tolist()}. ρ0 is far heavier-tailed than the target there; use an initial "
                "density with tails no heavier than e^(-V), or a smaller box"
            )
        return rho

    def describe(self) -> dict[str, Any]:
        out = {"equation": type(self).__name__, "grid": repr(self.grid), "alpha": self.alpha, "beta": self.beta,
               "V": repr(self.potential), "allow_violation": self.allow_violation,
               "V_checksum": float(to_numpy(self.grid.xp.sum(self.V * self.V)))}
        if self.q != 2.0:  # absent for the theorem's q = 2, so earlier checkpoints still match
            out["q"] = self.q
        return out


class SVGDFlow(_DuncanFlow):
    """Mean-field SVGD ``∂t ρ = ∇·(u e^{−V0/2} k*(e^{−V0/2}∇u))``, ``u = ρe^V``, on a no-flux box (1D–3D).

    Parameters
    ----------
    grid : Grid
        A box grid (``Grid.box``); it should hold the target (``e^{−V}`` negligible at the walls).
    V : Potential, callable or array
        The potential of the target ``ρ∞ ∝ e^{−V}``.
    kernel : fieldflow.svgd.kernels.Kernel
        The translation-invariant part ``k`` of the Duncan kernel, e.g. ``kernels.Bessel(scale=ℓ)``;
        applied through its symbol ``k̂`` with zero padding.
    alpha, beta : float
        ``V0(x) = α|x|^q + β``; ``V ≥ V0`` is checked at every cell centre.
    q : float
        The exponent of ``V0`` (default 2, the theorem's case; ``q ∈ (0, 2)``: targets with heavier tails,
        outside the theorem).
    allow_violation : bool
        Run even where ``V < V0`` (outside the theorem's hypothesis, e.g. the banana target); the
        violated region is kept in ``self.violation``.
    wrap_tol : float
        Bound on the wrap-around error of the padded FFT convolution, relative to ``max|g|``.
    max_padding : float
        Largest padded-lattice size per axis relative to the grid; a kernel whose tail needs more
        raises ``ValueError`` (box too small for the kernel).
    jump_limit : float
        ``x₀``: faces where ``|log r|`` jumps by more than ``x₀`` get the limited mobility
        ``M = κ min(r_i, r_j)``, ``κ = (e^{x₀} − 1)/x₀`` (keeps ρ > 0; the dissipation identity stays exact).
    fft : str, optional
        FFT provider.

    Notes
    -----
    Diagnostics: ``mass``, ``kl`` (``KL_h(ρ‖ρ∞,h)``) and ``dissipation`` (``𝔻_h²``, so ``dKL_h/dt = −𝔻_h²`` exactly
    for the semi-discrete scheme).  Units: ``t`` is the flow's time; ``𝔻²`` has units of KL per time.
    """

    capabilities = frozenset({"log_density"})

    def __init__(self, grid: Grid, V: Potential | Callable[[Any], Any] | Any, kernel: Kernel, alpha: float,
                 beta: float = 0.0, *, q: float = 2.0, allow_violation: bool = False, wrap_tol: float = 1e-8,
                 max_padding: float = 8.0, jump_limit: float = 2.0, fft: str | None = None):
        if not isinstance(kernel, Kernel):
            raise ValueError(f"kernel must be a fieldflow.svgd.kernels.Kernel (e.g. kernels.Bessel(scale=1.0)), got {kernel!r}")
        if isinstance(grid, Grid):
            kernel.check_dim(grid.dim)
        super().__init__(grid, V, alpha, beta, allow_violation, q)
        wrap_tol = real_number(wrap_tol, "wrap_tol", positive=True)
        max_padding = real_number(max_padding, "max_padding", positive=True)
        self.kernel = kernel
        self.jump_limit = real_number(jump_limit, "jump_limit", positive=True, maximum=700.0,
                                      hint="e^jump_limit must be finite")
        self.kappa = math.expm1(self.jump_limit) / self.jump_limit
        dim = grid.dim
        self.convolution = PaddedFourierMultiplier(
            grid, kernel.symbol_on, tail_mass=lambda R: kernel.tail_mass(R, dim), tol=wrap_tol,
            max_padding=max_padding, fft=fft,
        )
        self._buffer_shape = (dim,) + self.convolution.padded_shape
        self._face_slices = [(a,) + tuple(slice(0, n) for n in fg.shape) for a, fg in enumerate(self.face_grids)]
        self._cache: tuple[Any, Any] | None = None
        self._log_cache: tuple[Any, Any] | None = None
        self._kappa: dict[tuple[int, ...], float] | None = None  # κ = F_P⁻¹ k̂ on the stencil offsets, at first use

    # ------------------------------------------------------------------ the operator K_h
    def convolve_faces(self, components: list[Any]) -> list[Any]:
        """``K_h`` applied to one array per face lattice (one batched pair of FFTs for all components)."""
        xp = self.grid.xp
        buf = xp.zeros(self._buffer_shape)
        for s, c in zip(self._face_slices, components):
            buf[s] = c
        out = self.convolution.periodic(buf)
        return [out[s] for s in self._face_slices]

    # ------------------------------------------------------------------ physics
    def _faces(self, r: Any) -> tuple[list[Any], list[Any], list[Any]]:
        """Mobility data (``limited_log_mean`` per axis), limited gradients ``S g`` and ``K_h(S g)``."""
        xp = self.grid.xp
        r = xp.maximum(r, _TINY)
        mob = [limited_log_mean(*self._face_pairs(r, a), self.kappa, xp) for a in range(self.grid.dim)]
        sg = [m[3] * g for m, g in zip(mob, self._gradients(r))]
        return mob, sg, self.convolve_faces(sg)

    def _state(self, rho: Any) -> tuple[list[Any], list[Any], list[Any], Any]:
        """``_faces`` at ``rho`` and ``r``; cached for the repeated ``jvp`` calls of one Newton iteration."""
        if self._cache is not None and self._cache[0] is rho:
            return self._cache[1]
        r = self.ratio(rho)
        out = (*self._faces(r), r)
        self._cache = (rho, out)
        return out

    def rhs(self, rho: Any, t: float) -> Any:
        mob, _, ksg = self._faces(self.ratio(rho))
        return divergence([-w * m[0] * c for w, m, c in zip(self.face_weights, mob, ksg)], self.grid.spacing, self.grid.xp)

    def _limited_gradient_jvp(self, mob: list[Any], r: Any, dr: Any) -> list[Any]:
        """``δ(S g)`` for a perturbation ``δr``."""
        out = []
        for a, (m, w, h) in enumerate(zip(mob, self.face_weights, self.grid.spacing)):
            lo, hi = self._face_pairs(r, a)
            dlo, dhi = self._face_pairs(dr, a)
            out.append(w / h * ((m[4] * dlo + m[5] * dhi) * (hi - lo) + m[3] * (dhi - dlo)))
        return out

    def jvp(self, rho: Any, v: Any, t: float) -> Any:
        """Exact Jacobian-vector product ``(∂ rhs/∂ρ) v`` (one batched FFT convolution)."""
        mob, _, ksg, r = self._state(rho)
        dr = self.ratio(v)
        kd = self.convolve_faces(self._limited_gradient_jvp(mob, r, dr))
        fluxes = []
        for a, (w, m, c, d) in enumerate(zip(self.face_weights, mob, ksg, kd)):
            dlo, dhi = self._face_pairs(dr, a)
            fluxes.append(-w * ((m[1] * dlo + m[2] * dhi) * c + m[0] * d))
        return divergence(fluxes, self.grid.spacing, self.grid.xp)

    # ------------------------------------------------------------------ preconditioner
    def local_jacobian(self, rho: Any) -> Any:
        """The entries of ``∂ rhs/∂ρ`` on the nearest-neighbour stencil ``{0, ±e_b}`` (sparse CSR, grid namespace).

        Exact on those entries.  The flux ``F^a = −ω_f M_f (K_h S g^a)_f`` depends on ``r`` in two ways:

        * through the mobility ``M`` of its two cells — the *transport part*
          ``−∇·(ω (∂M) δr K_h(Sg))``, which lives on the stencil entirely (``_transport_part``);
        * through the convolved limited gradient ``K_h(S g)`` — the *kernel part*, nonlocal; on the stencil
          it collects the circulant's first column ``κ = F_P⁻¹ k̂`` at the offsets ``0, ±e_a, ±2e_a,
          ±e_a ± e_b`` (``_kernel_part``).  With ``A = ωM`` and ``B = ∂(Sg)/∂r`` on the left/right
          faces of each cell (zero at the walls), axis ``a`` contributes to column ``i + m``

          .. math:: \\frac{r'_{i+m}}{h_a^2}\\big[A^r_i(\\kappa(e_a - m) B^l_{i+m} - \\kappa(-m) B^r_{i+m})
                    - A^l_i(\\kappa(-m) B^l_{i+m} - \\kappa(-e_a - m) B^r_{i+m})\\big],

        ``r' = 1/ρ∞,h`` (the chain rule from ``r`` to ``ρ``, applied to the columns).  Used to precondition
        GMRES (the neglected entries are smooth and non-stiff).  Assembled from device arrays: on CuPy the
        matrix never visits the host.
        """
        dim = self.grid.dim
        mob, _, ksg, r = self._state(rho)
        xp = self.grid.xp
        coefficients = {m: xp.zeros(self.grid.shape) for m in self._stencil}
        for a in range(dim):
            self._kernel_part(coefficients, a, mob[a], r)
            self._transport_part(coefficients, a, mob[a], ksg[a])
        return stencil_matrix(self.grid, coefficients, column_scale=self.inv_rho_inf)

    @property
    def _stencil(self) -> list[tuple[int, ...]]:
        """The offsets ``0, +e_1, −e_1, ..., +e_d, −e_d`` of the local Jacobian."""
        dim = self.grid.dim
        return [(0,) * dim] + [tuple(s * int(b == a) for b in range(dim)) for a in range(dim) for s in (1, -1)]

    def _kernel_weights(self) -> dict[tuple[int, ...], float]:
        """``κ(m)``, the circulant's first column ``F_P⁻¹ k̂`` at the offsets the stencil needs (computed once).

        The column is computed on the grid's namespace; only its few needed entries come to the host.
        """
        if self._kappa is None:
            dim, P = self.grid.dim, self.convolution.padded_shape
            column = self.convolution.fft.irfftn(self.convolution.symbol, s=P, axes=tuple(range(-dim, 0)))
            units = [tuple(int(b == a) for b in range(dim)) for a in range(dim)]
            offsets = sorted({tuple(s * e - x for e, x in zip(unit, m)) for m in self._stencil for unit in units
                              for s in (1, 0, -1)})
            index = tuple(self.grid.xp.asarray([m[a] % P[a] for m in offsets]) for a in range(dim))
            self._kappa = dict(zip(offsets, to_numpy(column[index]).tolist()))
        return self._kappa

    @staticmethod
    def _cell_faces(face: Any, a: int) -> tuple[Any, Any]:
        """Values on the left and right faces (along axis ``a``) of every cell, zero at the walls."""
        xp = namespace_of(face)
        dim = face.ndim
        pad = [(0, 0)] * dim
        pad[a] = (1, 1)
        full = xp.pad(face, pad)
        return full[lower_cells(a, dim)], full[upper_cells(a, dim)]

    def _kernel_part(self, coefficients: dict, a: int, mobility: tuple, r: Any) -> None:
        """Add axis ``a``'s ``−∇·(ω M K_h(∂(Sg)/∂r δr))`` on the stencil (the bracket of :meth:`local_jacobian`)."""
        M, _, _, S, Sa, Sb = mobility
        w, h = self.face_weights[a], self.grid.spacing[a]
        lo, hi = self._face_pairs(r, a)
        A_left, A_right = self._cell_faces(w * M, a)
        # ∂(Sg)_f/∂r_hi on the face whose upper cell this is, −∂(Sg)_f/∂r_lo on the face whose lower cell it is
        B_left, _ = self._cell_faces(w * (S + (hi - lo) * Sb) / h, a)
        _, B_right = self._cell_faces(w * (S - (hi - lo) * Sa) / h, a)
        self._add_kernel_stencil(coefficients, a, (A_left, A_right), (B_left, B_right))

    def _add_kernel_stencil(self, coefficients: dict, a: int, A: tuple[Any, Any], B: tuple[Any, Any]) -> None:
        """The bracket of :meth:`local_jacobian` for per-cell face factors ``A = (A^l, A^r)``, ``B = (B^l, B^r)``."""
        A_left, A_right = A
        B_left, B_right = B
        h = self.grid.spacing[a]
        kappa = self._kernel_weights()
        e = tuple(int(b == a) for b in range(self.grid.dim))
        for m in self._stencil:
            k_next = kappa[tuple(x - y for x, y in zip(e, m))]
            k_here = kappa[tuple(-y for y in m)]
            k_prev = kappa[tuple(-x - y for x, y in zip(e, m))]
            Bl, Br = shifted(B_left, m), shifted(B_right, m)
            coefficients[m] += (A_right * (k_next * Bl - k_here * Br) - A_left * (k_here * Bl - k_prev * Br)) / h

    def _transport_part(self, coefficients: dict, a: int, mobility: tuple, ksg: Any) -> None:
        """Add axis ``a``'s ``−∇·(v ∂M/∂r δr)`` with the face velocity ``v = −ω K_h(Sg)``:
        ``rhs_i = −(δF_{i+1/2} − δF_{i−1/2})/h``, ``δF = v (∂M/∂r_lo δr_lo + ∂M/∂r_hi δr_hi)``."""
        _, Ma, Mb, *_ = mobility
        h, dim = self.grid.spacing[a], self.grid.dim
        v_left, v_right = self._cell_faces(-self.face_weights[a] * ksg, a)
        Ma_left, Ma_right = self._cell_faces(Ma, a)
        Mb_left, Mb_right = self._cell_faces(Mb, a)
        e = tuple(int(b == a) for b in range(dim))
        coefficients[(0,) * dim] += -(v_right * Ma_right - v_left * Mb_left) / h
        coefficients[e] += -v_right * Mb_right / h
        coefficients[tuple(-x for x in e)] += v_left * Ma_left / h

    def preconditioner(self, rho: Any, c: float, t: float) -> Any:
        """An approximate inverse of ``I − c T``, ``T`` the :meth:`local_jacobian`.

        :func:`~fieldflow.core.linalg.preconditioners.approximate_inverse`: sparse LU on the host with
        NumPy, a device preconditioner with CuPy (the implicit solver's ``preconditioner=`` chooses).
        """
        T = self.local_jacobian(rho)
        sp, _ = sparse_modules(self.grid.xp)
        return approximate_inverse((sp.identity(T.shape[0], format="csr") - c * T).tocsr(), self.grid)

    # ------------------------------------------------------------------ log-density form (capability "log_density")
    def _log_faces(self, s: Any) -> tuple[Any, list[tuple[Any, ...]], list[Any], list[Any]]:
        """At ``s = log ρ``: ``r = e^{s − log ρ∞}`` (underflowing harmlessly to 0) and, per axis, the face data
        ``(x, r_lo, r_hi, m(x), m'(x), m(−x), m'(−x), S, S')`` with ``x = log r_hi − log r_lo``, the limited gradients
        ``S g`` and the face velocities ``v = −ω K_h(S g)``."""
        xp = self.grid.xp
        ell = s - self.log_rho_inf
        with np.errstate(under="ignore"):
            r = xp.exp(ell)
        x0, kappa = self.jump_limit, self.kappa
        faces, sg = [], []
        for a, (w, h) in enumerate(zip(self.face_weights, self.grid.spacing)):
            lo, hi = self._face_pairs(ell, a)
            r_lo, r_hi = self._face_pairs(r, a)
            x = hi - lo
            S, dS = limiter_factor(x, x0, kappa, xp)
            faces.append((x, r_lo, r_hi, *mobility_ratio(x, x0, kappa, xp), *mobility_ratio(-x, x0, kappa, xp), S, dS))
            sg.append(S * w * (r_hi - r_lo) / h)
        velocity = [-w * c for w, c in zip(self.face_weights, self.convolve_faces(sg))]
        return r, faces, sg, velocity

    def _log_state(self, s: Any) -> tuple[Any, list[tuple[Any, ...]], list[Any], list[Any]]:
        """:meth:`_log_faces`, cached for the repeated ``log_jvp`` calls of one Newton iteration."""
        if self._log_cache is not None and self._log_cache[0] is s:
            return self._log_cache[1]
        out = self._log_faces(s)
        self._log_cache = (s, out)
        return out

    def _per_cell(self, right: list[Any], left: list[Any]) -> Any:
        """``−Σ_a (R^a_{i+e_a/2} − L^a_{i−e_a/2})/(h_a ρ∞,i)`` from face arrays ``R`` (the cell is the face's lower
        cell) and ``L`` (its upper cell); zero flux through the walls."""
        total = 0.0
        for a, (R, L, h) in enumerate(zip(right, left, self.grid.spacing)):
            _, R_right = self._cell_faces(R, a)
            L_left, _ = self._cell_faces(L, a)
            total = total - (R_right - L_left) / h
        return total * self.inv_rho_inf

    def log_rate(self, s: Any, t: float) -> Any:
        """``ṡ = (∂t ρ)/ρ`` at ``ρ = e^s``, evaluated without forming ``ρ`` or dividing by it.

        The flux through face ``f = (i, j)`` divided by the density of its cell ``i`` is
        ``F_f/ρ_i = v_f (M_f/r_i)/ρ∞,i`` with ``M_f/r_i = m(log r_j − log r_i)`` (:func:`mobility_ratio`), so
        ``ṡ`` is a smooth function of ``s`` for every real ``s``: a cell drained to ``ρ = e^{−1000}`` (which
        underflows) keeps a finite, exact rate.  Equal to ``rhs(e^s)/e^s`` wherever that is representable.
        """
        _, faces, _, velocity = self._log_state(s)
        return self._per_cell([v * f[3] for v, f in zip(velocity, faces)], [v * f[5] for v, f in zip(velocity, faces)])

    def log_jvp(self, s: Any, v: Any, t: float) -> Any:
        """``(∂ṡ/∂s) v`` for :meth:`log_rate` (exact; one batched FFT convolution)."""
        _, faces, _, velocity = self._log_state(s)
        dsg = []
        for a, ((x, r_lo, r_hi, *_, S, dS), w, h) in enumerate(zip(faces, self.face_weights, self.grid.spacing)):
            v_lo, v_hi = self._face_pairs(v, a)
            dsg.append(w / h * (dS * (v_hi - v_lo) * (r_hi - r_lo) + S * (r_hi * v_hi - r_lo * v_lo)))
        dvel = [-w * c for w, c in zip(self.face_weights, self.convolve_faces(dsg))]
        right, left = [], []
        for a, (f, u, du) in enumerate(zip(faces, velocity, dvel)):
            v_lo, v_hi = self._face_pairs(v, a)
            dx = v_hi - v_lo
            right.append(du * f[3] + u * f[4] * dx)
            left.append(du * f[5] - u * f[6] * dx)
        return self._per_cell(right, left)

    def log_local_jacobian(self, s: Any) -> Any:
        """The entries of ``∂ṡ/∂s`` (:meth:`log_rate`) on the nearest-neighbour stencil (sparse CSR, grid namespace).

        The same two parts as :meth:`local_jacobian`, written with ``M_f/r_i = m(x_f)`` and ``∂/∂s = r ∂/∂r`` inside
        each product, so that no entry is formed as a huge times a tiny number: the kernel part with
        ``A = ω m(±x)/ρ∞,i`` and ``B = ∂(S g)/∂ log r``, the transport part
        ``−(v_r ∂m(x_r) − v_l ∂m(−x_l))/(h ρ∞,i)``.  Exact on the stencil.
        """
        xp = self.grid.xp
        _, faces, _, velocity = self._log_state(s)
        coefficients = {m: xp.zeros(self.grid.shape) for m in self._stencil}
        dim = self.grid.dim
        for a, ((x, r_lo, r_hi, mp, dmp, mm, dmm, S, dS), w, h, u) in enumerate(
                zip(faces, self.face_weights, self.grid.spacing, velocity)):
            _, A_right = self._cell_faces(w * mp, a)
            A_left, _ = self._cell_faces(w * mm, a)
            jump = dS * (r_hi - r_lo)
            B_left, _ = self._cell_faces(w * (jump + S * r_hi) / h, a)
            _, B_right = self._cell_faces(w * (jump + S * r_lo) / h, a)
            self._add_kernel_stencil(coefficients, a, (A_left * self.inv_rho_inf, A_right * self.inv_rho_inf),
                                     (B_left, B_right))
            _, u_dmp = self._cell_faces(u * dmp, a)
            u_dmm, _ = self._cell_faces(u * dmm, a)
            e = tuple(int(b == a) for b in range(dim))
            coefficients[(0,) * dim] += (u_dmp - u_dmm) / h * self.inv_rho_inf
            coefficients[e] += -u_dmp / h * self.inv_rho_inf
            coefficients[tuple(-c for c in e)] += u_dmm / h * self.inv_rho_inf
        return stencil_matrix(self.grid, coefficients)

    def velocity(self, rho: Any) -> list[Any]:
        """Face velocities ``v^a_f = −ω_f (K_h S g^a)_f``, so that the flux is ``F^a_f = M_f v^a_f`` (one array per axis)."""
        _, _, ksg = self._faces(self.ratio(rho))
        return [-w * c for w, c in zip(self.face_weights, ksg)]

    def dissipation(self, rho: Any) -> float:
        """``𝔻_h² = h^d Σ_a Σ_f (S g^a)_f (K_h S g^a)_f ≥ 0``."""
        _, sg, ksg = self._faces(self.ratio(rho))
        xp = self.grid.xp
        return float(sum(xp.sum(a * b) for a, b in zip(sg, ksg))) * self.grid.cell_volume

    def stable_dt(self, rho: Any, t: float = 0.0) -> float:
        """Forward-Euler limit ``1/max_i |J_ii|`` from the exact diagonal of the Jacobian (:meth:`local_jacobian`).

        Only for explicit methods; it is tiny on boxes that hold the target.
        """
        xp = self.grid.xp
        return float(1.0 / xp.maximum(xp.max(xp.abs(self.local_jacobian(rho).diagonal())), 1e-300))

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out.update(self.kernel.describe())
        out["padded_shape"] = list(self.convolution.padded_shape)
        return out


class LocalSVGDFlow(_DuncanFlow):
    """The local limit ``∂t ϱ = ∇·(u e^{−V0} ∇u)``, ``u = ϱ e^{V}`` (``k → δ`` in :class:`SVGDFlow`).

    Same scheme with ``K_h`` replaced by the identity: ``F^a_f = −ω_f² Λ(r_i, r_{i+e_a})(r_{i+e_a} − r_i)/h_a``,
    so ``d KL_h/dt = −h^d Σ ω_f² ((r_{i+e_a} − r_i)/h_a)² = −𝔻_{h,loc}²`` exactly.  A degenerate
    nonlinear diffusion; its exact sparse Jacobian is provided for Newton's method.
    Parameters as for :class:`SVGDFlow` without the kernel.
    """

    def __init__(self, grid: Grid, V: Potential | Callable[[Any], Any] | Any, alpha: float, beta: float = 0.0, *,
                 q: float = 2.0, allow_violation: bool = False):
        super().__init__(grid, V, alpha, beta, allow_violation, q)
        self._cache: tuple[Any, Any] | None = None

    def _fluxes(self, rho: Any) -> list[Any]:
        r = self.ratio(rho)
        return [-w * L * g for w, L, g in zip(self.face_weights, self._means(r), self._gradients(r))]

    def rhs(self, rho: Any, t: float) -> Any:
        return divergence(self._fluxes(rho), self.grid.spacing, self.grid.xp)

    def dissipation(self, rho: Any) -> float:
        """``𝔻_{h,loc}² = h^d Σ_a Σ_f (g^a_f)²``."""
        xp = self.grid.xp
        return float(sum(xp.sum(g * g) for g in self._gradients(self.ratio(rho)))) * self.grid.cell_volume

    def jacobian(self, rho: Any, t: float) -> Any:
        """The exact sparse Jacobian ``∂ rhs/∂ρ`` (CSR in the grid's sparse namespace, C-order flattening).

        The flux through each face depends on its two cells only, so the Jacobian is the two-point face
        operator (:func:`~fieldflow.core.finite_volume.face_operator`) of the flux derivatives.
        """
        r = self.ratio(rho)
        coefficients = []
        for a, ((L, dLa, dLb), w, h) in enumerate(zip(self._means(r, partials=True), self.face_weights, self.grid.spacing)):
            lo, hi = self._face_pairs(r, a)
            inv_lo, inv_hi = self._face_pairs(self.inv_rho_inf, a)
            c = w * w / h
            # F = -c L (hi - lo):  dF/dlo = -c (dLa (hi - lo) - L),  dF/dhi = -c (dLb (hi - lo) + L); dr = dρ/ρ∞
            coefficients.append((-c * (dLa * (hi - lo) - L) * inv_lo, -c * (dLb * (hi - lo) + L) * inv_hi))
        return face_operator(self.grid, coefficients)

    def local_jacobian(self, rho: Any) -> Any:
        """The exact Jacobian (the flux is local), cached for repeated calls at one state."""
        if self._cache is None or self._cache[0] is not rho:
            self._cache = (rho, self.jacobian(rho, 0.0))
        return self._cache[1]

    def jvp(self, rho: Any, v: Any, t: float) -> Any:
        """``J v`` with the exact sparse Jacobian."""
        xp = self.grid.xp
        return xp.asarray(self.local_jacobian(rho) @ v.ravel()).reshape(v.shape)

    def stable_dt(self, rho: Any, t: float = 0.0) -> float:
        """Forward-Euler limit ``1/max_i |J_ii|`` from the exact Jacobian."""
        xp = self.grid.xp
        return float(1.0 / xp.maximum(xp.max(xp.abs(self.jacobian(rho, t).diagonal())), 1e-300))
