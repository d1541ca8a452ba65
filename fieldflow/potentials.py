"""Confining potentials ``V`` with values and gradients, for targets ``ρ∞ ∝ e^{−V}``.

Every potential takes points as an array of shape ``(..., d)`` — the grid layout
``grid.points`` of shape ``(*grid.shape, d)`` and the particle layout ``(N, d)`` alike —
and returns values of shape ``(...)`` and gradients of shape ``(..., d)``.  They work on
NumPy and CuPy arrays (the namespace of the input is used).  :func:`potential_on_grid` is the one
place where a potential given as a :class:`Potential`, a callable or an array of values becomes the
checked array of its values at a grid's points; every grid solver goes through it.

``hessian_lower_bound`` is the convexity constant ``κ`` with ``∇²V ⪰ κ`` where it is known
(``None`` otherwise); by Bakry–Émery the Fokker–Planck flow with ``D = 1`` then satisfies a
log-Sobolev inequality with ``λ = 2κ`` in the convention ``λ KL ≤ I`` of :ref:`conventions-log-sobolev`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .core.backend import namespace_of, to_numpy
from .core.grids import Grid
from .core.validation import MAX_DIMENSION, as_covariance, function, grid_of, integer, real_array, real_number, shown

__all__ = ["Potential", "Quadratic", "GaussianMixture", "Banana", "DoubleWell", "FromFunctions", "potential_on_grid",
           "check_potential"]


def potential_on_grid(grid: Grid, V: "Potential | Callable[[Any], Any] | Any", name: str = "V") -> Any:
    """The values of ``V`` at the points of ``grid`` (cell centres of a box, nodes of a torus), checked finite.

    Parameters
    ----------
    grid : Grid
        Where to evaluate.
    V : Potential, callable or array
        A :class:`Potential`, a callable on points of shape ``(..., d)`` (as ``grid.points``), or the
        values themselves (an array of the grid's shape).
    name : str
        How error messages call ``V``.

    Returns
    -------
    array
        Float array of ``grid.shape`` in the grid's namespace.

    Raises
    ------
    ValueError
        If the values do not have the grid's shape, or are NaN/inf at some grid point (the message
        says how many and where: shrink the box or fix ``V`` there).
    """
    grid_of(grid)
    if isinstance(V, Potential):
        values = V.value(grid.points)
    elif callable(V):
        values = V(grid.points)
    else:
        values = V
    values = real_array(values, name, shape=grid.shape, finite=False, xp=grid.xp,
                        hint="pass a Potential, a callable on points of shape (..., d), or its values on the grid")
    xp = grid.xp
    bad = ~xp.isfinite(values)
    if bool(xp.any(bad)):
        where = to_numpy(grid.points[bad])
        raise ValueError(
            f"{name} is not finite on {int(xp.sum(bad))} of {grid.size} grid points (e.g. at x = "
            f"{np.round(where[0], 6).tolist()}); V must be finite at every grid point: shrink the box or fix V there"
        )
    return values


def check_potential(V: Any, name: str = "V") -> "Potential":
    """``V`` checked to be a :class:`Potential` (what particle methods need: values and gradients).

    ``TypeError`` otherwise, naming the potentials there are and :class:`FromFunctions` for a user's own.
    """
    if not isinstance(V, Potential):
        raise TypeError(f"{name} must be a fieldflow Potential (Quadratic, GaussianMixture, Banana, DoubleWell, or "
                        f"FromFunctions(value, gradient) for your own), got {shown(V)}")
    return V


def _dimension(dim: Any) -> int | None:
    """``dim`` checked to be ``None`` (any dimension) or a positive integer."""
    return None if dim is None else integer(dim, "dim", minimum=1, maximum=MAX_DIMENSION,
                                            hint="or None for a potential of any dimension")


def _is_scalar(cov: Any) -> bool:
    """Whether ``cov`` is one number (ragged nesting is not: ``as_covariance`` refuses it with its message)."""
    try:
        return np.ndim(to_numpy(cov)) == 0
    except ValueError:
        return False


def _leading_length(cov: Any) -> int:
    """Length of the first axis of ``cov`` (1 for a scalar or for input that ``as_covariance`` will refuse)."""
    try:
        shape = np.shape(cov)
    except ValueError:  # ragged nesting
        return 1
    return shape[0] if shape else 1


class Potential:
    """Base class: subclasses implement :meth:`value` and :meth:`gradient` on ``(..., d)`` arrays."""

    #: spatial dimension the potential is defined in (``None``: any)
    dim: int | None = None
    #: ``κ`` with ``∇²V ⪰ κ I`` everywhere, if known
    hessian_lower_bound: float | None = None

    def value(self, x: Any) -> Any:
        raise NotImplementedError

    def gradient(self, x: Any) -> Any:
        raise NotImplementedError

    def __call__(self, x: Any) -> Any:
        return self.value(x)

    def _check(self, x: Any) -> Any:
        if x.ndim < 1:
            raise ValueError("points must have shape (..., d) (the grid layout grid.points or particles (N, d)), "
                             "got a scalar")
        if self.dim is not None and x.shape[-1] != self.dim:
            raise ValueError(
                f"{self!r} is defined in {self.dim}D but got points of dimension {x.shape[-1]} (shape "
                f"{tuple(x.shape)}); build it for {x.shape[-1]}D (e.g. dim={x.shape[-1]}, or a mean/means of length "
                f"{x.shape[-1]}), or evaluate it on a {self.dim}D grid")
        return x

    def on_grid(self, grid: Grid) -> Any:
        """``V`` at the points of ``grid`` (array of the grid's shape): :func:`potential_on_grid` of this potential."""
        return potential_on_grid(grid, self, name=repr(self))


class Quadratic(Potential):
    """``V(x) = ½ (x − m)ᵀ Σ⁻¹ (x − m)``: the Gaussian target ``N(m, Σ)``; ``κ = 1/λ_max(Σ)``.

    With a scalar ``cov`` and a scalar ``mean`` (and no ``dim``) it is isotropic and takes its dimension
    from the points it is evaluated on — ``Quadratic(1.0)`` is the standard Gaussian on a grid of any
    dimension.  A vector mean, a vector or matrix ``cov``, or ``dim=d`` fixes the dimension to ``d``.
    """

    def __init__(self, cov: Any = 1.0, mean: float | Sequence[float] = 0.0, dim: int | None = None):
        mean_arr = np.atleast_1d(real_array(mean, "mean", ndim=(0, 1), hint="pass a number or a vector"))
        dim = _dimension(dim)
        if dim is None and mean_arr.size == 1 and _is_scalar(cov):
            self.dim = None  # isotropic: any dimension
            self.mean = mean_arr
            self.cov = as_covariance(cov, 1)
        else:
            if dim is None:  # from the mean, else from the covariance's first axis (as_covariance checks the rest)
                dim = mean_arr.size if mean_arr.size > 1 else _leading_length(cov)
            if mean_arr.size not in (1, dim):
                raise ValueError(f"mean has {mean_arr.size} entries but the potential is {dim}-dimensional; "
                                 f"pass a scalar or a length-{dim} mean")
            self.dim = int(dim)
            self.mean = np.broadcast_to(mean_arr, (self.dim,)).copy()
            self.cov = as_covariance(cov, self.dim)
        self.precision = np.linalg.inv(self.cov)
        self.hessian_lower_bound = float(np.linalg.eigvalsh(self.precision).min())

    def _centred(self, x: Any) -> tuple[Any, Any]:
        """``(x − m, Σ⁻¹)`` in the namespace of ``x`` (the isotropic case broadcast to the points' dimension)."""
        x = self._check(x)
        xp = namespace_of(x)
        if self.dim is None:
            return x - float(self.mean[0]), float(self.precision[0, 0])
        return x - xp.asarray(self.mean), xp.asarray(self.precision)

    def gradient(self, x):
        z, P = self._centred(x)
        return z * P if self.dim is None else z @ P

    def value(self, x):
        z, P = self._centred(x)
        xp = namespace_of(z)
        return 0.5 * xp.sum((z * P if self.dim is None else z @ P) * z, axis=-1)

    def __repr__(self) -> str:
        if self.dim is None:
            return f"Quadratic(mean={float(self.mean[0])}, cov={float(self.cov[0, 0])}, any dimension)"
        return f"Quadratic(mean={self.mean.tolist()}, cov={self.cov.tolist()})"


class GaussianMixture(Potential):
    """``V(x) = −log Σ_k w_k exp(−½ (x − m_k)ᵀ Σ⁻¹ (x − m_k))`` (common covariance ``Σ``).

    Evaluated with a log-sum-exp, so it is finite and smooth far from the means.
    """

    def __init__(self, means: Sequence[Sequence[float]] | Sequence[float], cov: Any = 1.0, weights: Sequence[float] | None = None):
        m = real_array(means, "means", ndim=(1, 2), hint="pass one mean per row (K, d), or K numbers in 1D")
        if m.ndim == 1:
            m = m[:, None]
        if m.shape[0] == 0 or m.shape[1] == 0:
            raise ValueError(f"means must hold at least one mean, got shape {m.shape}")
        self.means = m
        self.dim = m.shape[1]
        self.cov = as_covariance(cov, self.dim)
        self.precision = np.linalg.inv(self.cov)
        w = np.full(len(m), 1.0 / len(m)) if weights is None else \
            real_array(weights, "weights", shape=(len(m),), positive=True,
                       hint="pass one positive weight per mean of means")
        self.log_weights = np.log(w / w.sum())

    def _log_terms(self, x):
        xp = namespace_of(x)
        z = x[..., None, :] - xp.asarray(self.means)  # (..., K, d)
        q = xp.sum((z @ xp.asarray(self.precision)) * z, axis=-1)
        return xp.asarray(self.log_weights) - 0.5 * q, z

    def value(self, x):
        x = self._check(x)
        xp = namespace_of(x)
        a, _ = self._log_terms(x)
        amax = xp.max(a, axis=-1)
        return -(amax + xp.log(xp.sum(xp.exp(a - amax[..., None]), axis=-1)))

    def gradient(self, x):
        x = self._check(x)
        xp = namespace_of(x)
        a, z = self._log_terms(x)
        r = xp.exp(a - xp.max(a, axis=-1, keepdims=True))
        r = r / xp.sum(r, axis=-1, keepdims=True)
        return xp.sum(r[..., None] * (z @ xp.asarray(self.precision)), axis=-2)

    def __repr__(self) -> str:
        return f"GaussianMixture(means={self.means.tolist()}, cov={self.cov.tolist()})"


class Banana(Potential):
    """The 2D banana ``V(x) = x₁²/(2a²) + (x₂ − b x₁²)²/(2σ²)``.

    Along the ridge ``x₂ = b x₁²`` it grows only like ``x₁²/(2a²)`` while ``|x|² ~ b² x₁⁴``,
    so ``V ≥ α|x|² + β`` fails for every ``α > 0`` (the open case of the SVGD theory).
    """

    dim = 2

    def __init__(self, a: float = 1.0, b: float = 1.0, sigma: float = 1.0):
        self.a = real_number(a, "a", positive=True, hint="a is the width of the banana along x₁")
        self.b = real_number(b, "b", hint="b is the curvature of the ridge x₂ = b x₁²")
        self.sigma = real_number(sigma, "sigma", positive=True, hint="sigma is the width across the ridge")

    def value(self, x):
        x = self._check(x)
        x1, x2 = x[..., 0], x[..., 1]
        return x1**2 / (2 * self.a**2) + (x2 - self.b * x1**2) ** 2 / (2 * self.sigma**2)

    def gradient(self, x):
        x = self._check(x)
        xp = namespace_of(x)
        x1, x2 = x[..., 0], x[..., 1]
        r = (x2 - self.b * x1**2) / self.sigma**2
        return xp.stack([x1 / self.a**2 - 2 * self.b * x1 * r, r], axis=-1)

    def __repr__(self) -> str:
        return f"Banana(a={self.a}, b={self.b}, sigma={self.sigma})"


class DoubleWell(Potential):
    """``V(x) = h ((x₁/s)² − 1)² + ½ Σ_{i≥2} x_i²``: wells at ``x₁ = ±s`` separated by a barrier of height ``h``.

    Takes its dimension from the points it is evaluated on unless ``dim`` fixes it.
    """

    def __init__(self, barrier: float = 1.0, separation: float = 1.0, dim: int | None = None):
        self.h = real_number(barrier, "barrier", positive=True, hint="the barrier height h between the wells")
        self.s = real_number(separation, "separation", positive=True, hint="the wells sit at x₁ = ±separation")
        self.dim = _dimension(dim)

    def value(self, x):
        x = self._check(x)
        xp = namespace_of(x)
        v = self.h * ((x[..., 0] / self.s) ** 2 - 1) ** 2
        if x.shape[-1] > 1:
            v = v + 0.5 * xp.sum(x[..., 1:] ** 2, axis=-1)
        return v

    def gradient(self, x):
        x = self._check(x)
        xp = namespace_of(x)
        g0 = 4 * self.h * ((x[..., 0] / self.s) ** 2 - 1) * x[..., 0] / self.s**2
        return xp.concatenate([g0[..., None], x[..., 1:]], axis=-1)

    def __repr__(self) -> str:
        return f"DoubleWell(barrier={self.h}, separation={self.s}, dim={self.dim})"


class FromFunctions(Potential):
    """A user potential from two callables on ``(..., d)`` arrays: ``value(x)`` and ``gradient(x)``."""

    def __init__(self, value: Callable[[Any], Any], gradient: Callable[[Any], Any], dim: int | None = None,
                 hessian_lower_bound: float | None = None):
        self._value = function(value, "value", hint="pass a function of points (..., d) returning V")
        self._gradient = function(gradient, "gradient", hint="pass a function of points (..., d) returning ∇V")
        self.dim = _dimension(dim)
        self.hessian_lower_bound = None if hessian_lower_bound is None else \
            real_number(hessian_lower_bound, "hessian_lower_bound", hint="κ with ∇²V ⪰ κ I, or None if unknown")

    def value(self, x):
        return self._value(self._check(x))

    def gradient(self, x):
        return self._gradient(self._check(x))

    def __repr__(self) -> str:
        # the functions' qualified names, not their addresses, so that checkpoint fingerprints (built from the
        # repr) are the same in the process that resumes a run
        def name(f: Callable[[Any], Any]) -> str:
            return f"{getattr(f, '__module__', '?')}.{getattr(f, '__qualname__', type(f).__name__)}"

        return (f"FromFunctions(value={name(self._value)}, gradient={name(self._gradient)}, dim={self.dim}, "
                f"hessian_lower_bound={self.hessian_lower_bound})")
