"""The contract between a problem and the one time loop :func:`fieldflow.evolve`.

A problem knows its physics — what its state is, how it changes, what it preserves — and nothing
about time stepping, progress bars, storage or checkpoints, which live in :func:`fieldflow.evolve`.
There are three kinds, all subclasses of :class:`Problem`:

``PDE`` (``kind = "pde"``)
    A density on a grid with a right-hand side ``∂t u = rhs(u, t)``; steppers ``"trbdf2"``,
    ``"euler"``, ``"ssprk3"``, ``"log-trbdf2"``, ``"etdrk4"``; adaptive or fixed steps.
``ParticleSystem`` (``kind = "particles"``)
    Weighted particles :class:`Particles` moving by ``dX = drift(X, t) dt + √(2·diffusion) dB``,
    optionally carrying per-particle arrays (``extras``); steppers ``"forward-euler"``, ``"heun"``,
    ``"heun-energy"``, ``"midpoint"``, ``"euler-maruyama"``; ``ceil(t_end/dt)`` equal steps.
``StepMap`` (``kind = "map"``)
    A map ``state ↦ step(state, t, dt)`` applied at equal steps (e.g. one JKO minimisation); stepper
    ``"step-map"``.

What every problem provides (:class:`Problem`)
----------------------------------------------
* ``validate(state0) -> state`` — check (``ValueError`` saying what is wrong and what to change) and
  normalise the initial state;
* ``diagnostics(state, t) -> dict[str, float]`` — recorded at every save time (and every
  ``diagnostics_every`` steps);
* ``describe() -> dict`` — JSON-serialisable parameters that identify the problem: stored with the
  trajectory, and a checkpoint is only resumed by a problem with the same description;
* structure flags, checked by ``evolve`` at each diagnostics sample: ``conserved`` (diagnostics that
  must stay constant, e.g. ``("mass",)``), ``positive`` (the state is a density: non-negativity),
  ``monotone`` (the diagnostic that must never increase, e.g. ``"free_energy"``);
* ``default_method`` (the stepper of ``evolve(method=None)``), ``diagnostics_every`` (the default
  cadence), ``stepper_options`` (options of the default stepper, e.g. a tolerance chosen at construction);
* ``array_namespace(state)`` — ``numpy`` or ``cupy``;
* ``stochastic`` — whether the dynamics draws random numbers; ``evolve(..., seed=...)`` then makes the
  generator, hands it to the stepper and checkpoints its state, so a resumed run continues the same stream;
* ``capabilities`` — the optional interfaces it implements (below), checked against what a stepper
  ``requires`` when the stepper is chosen.

A step map implements only ``step(state, t, dt)`` besides these; this is all a new scheme of that kind
(e.g. a JKO step with a time-dependent metric) has to write::

    class MyScheme(StepMap):
        monotone = "free_energy"            # flags: conserved = (), positive = False by default

        def validate(self, state0): ...     # -> the array evolve starts from (ValueError otherwise)
        def step(self, state, t, dt): ...   # -> the state at t + dt
        def diagnostics(self, state, t): ...  # -> {"free_energy": ..., ...}
        def describe(self): ...             # -> {"problem": "MyScheme", parameters...}

    traj = fieldflow.evolve(MyScheme(...), state0, t_end, dt=tau)   # ceil(t_end/tau) equal steps

Its diagnostics are recorded after every step (``diagnostics_every = 1``) unless the class or ``evolve`` says
otherwise.  The state is an array, or :class:`Particles` for a particle scheme whose step is a map (e.g.
:class:`fieldflow.landau.JKOLandau`: velocities, weights and the transported ``log f`` as an extra): ``evolve`` then
saves the positions as the states, the weights once (``traj.weights``) and every extra (``traj.extras[name]``),
and checkpoints them all.  ``positive`` is a check of array states (densities); a :class:`Particles` state leaves it
``False`` and checks its weights in ``validate``.

Capabilities
------------
A stepper names what it needs in ``requires``; a problem that lacks it is refused with a
``ValueError`` naming both.  A problem declares a capability by implementing the optional method of
the contract (the table :data:`PDE_CAPABILITIES`; the class attribute ``capabilities`` then contains
it) or by listing it in ``capabilities`` (for interfaces with no single method).

=======================  ==================================================================  ==================
capability               what the problem provides                                           used by
=======================  ==================================================================  ==================
``stable_dt``            ``stable_dt(state, t)``: the explicit (forward Euler) step limit    ``ssprk3``, ``etdrk4``
``linear_operator``      ``linear_operator(t)``: sparse ``L`` with ``rhs = L u``             ``euler``, ``trbdf2``,
                                                                                             ``krylov-exp``
``jacobian``             ``jacobian(state, t)``: sparse ``∂ rhs/∂u``                         ``euler``, ``trbdf2``
``jvp``                  ``jvp(state, v, t)``: an exact Jacobian-vector product              ``euler``, ``trbdf2``
``preconditioner``       ``preconditioner(state, c, t)`` ``≈ (I − cJ)^{-1}``                 Newton–GMRES
``local_jacobian``       ``local_jacobian(state)``: the sparse nearest-neighbour part of J   ``log-trbdf2``
``monotone_value``       ``monotone_value(state)``: the ``monotone`` diagnostic alone,       ``trbdf2``, ``euler``,
                         cheap enough for every trial step; a step that raises it is         ``log-trbdf2``
                         rejected and retried smaller
``log_density``          ``log_rate(s, t)``, ``log_jvp(s, v, t)``,                           ``log-trbdf2``
                         ``log_local_jacobian(s)``: the equation for ``s = log ρ`` without
                         dividing by ``ρ`` (finite for every real ``s``; declared in
                         ``capabilities``)
``reversible_measure``   ``reversible_measure(t)``: ``log π`` with detailed balance          multigrid solves of
                         ``L_ij π_j = L_ji π_i`` (``L`` symmetrisable)                       ``euler``, ``trbdf2``;
                                                                                             ``krylov-exp``
``semilinear_fourier``   ``linear_symbol`` (attribute), ``nonlinear_hat(û, t)``,             ``etdrk4``
                         ``to_fourier(u)``, ``from_fourier(û)``: ``∂t u = L u + N(u)``
                         with ``L`` diagonal in Fourier space
``deterministic``        a particle system without noise (``diffusion is None``)             ``forward-euler``, ``heun``,
                                                                                             ``heun-energy``, ``midpoint``
``noise``                a particle system with ``diffusion > 0``                            ``euler-maruyama``
``kinetic_energy``       particles whose ODE conserves ``Σ w``, ``Σ w x`` and ``Σ w |x|²``   ``heun-energy``
=======================  ==================================================================  ==================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .backend import namespace_of
from .grids import Grid
from .validation import real_array, validate_density

__all__ = ["Problem", "PDE", "ParticleSystem", "StepMap", "Particles", "PDE_CAPABILITIES", "CAPABILITIES"]

#: every capability a stepper may require, and what it means (used in error messages)
CAPABILITIES: dict[str, str] = {
    "stable_dt": "an explicit stability limit stable_dt(state, t)",
    "linear_operator": "a sparse linear operator linear_operator(t)",
    "jacobian": "a sparse Jacobian jacobian(state, t)",
    "jvp": "an exact Jacobian-vector product jvp(state, v, t)",
    "preconditioner": "a preconditioner preconditioner(state, c, t)",
    "local_jacobian": "a sparse local Jacobian local_jacobian(state)",
    "monotone_value": "the monotone diagnostic at a trial state, monotone_value(state)",
    "log_density": "the equation for s = log ρ: log_rate(s, t), log_jvp(s, v, t), log_local_jacobian(s)",
    "reversible_measure": "the log of a measure π with L_ij π_j = L_ji π_i, reversible_measure(t)",
    "semilinear_fourier": "a semilinear Fourier equation (linear_symbol, nonlinear_hat, to_fourier, from_fourier)",
    "deterministic": "deterministic particles (diffusion None)",
    "noise": "particles with noise (diffusion > 0)",
    "kinetic_energy": "particles whose ODE conserves Σw, Σw·x and Σw|x|² (declared in capabilities)",
}

#: capability -> the optional methods of :class:`PDE` whose implementation declares it
PDE_CAPABILITIES: dict[str, tuple[str, ...]] = {
    "stable_dt": ("stable_dt",),
    "linear_operator": ("linear_operator",),
    "jacobian": ("jacobian",),
    "jvp": ("jvp",),
    "preconditioner": ("preconditioner",),
    "local_jacobian": ("local_jacobian",),
    "monotone_value": ("monotone_value",),
    "reversible_measure": ("reversible_measure",),
    "semilinear_fourier": ("nonlinear_hat", "to_fourier", "from_fourier"),
}


def _implemented(cls: type, contract: type, table: dict[str, tuple[str, ...]]) -> frozenset[str]:
    """The capabilities of ``table`` whose methods ``cls`` implements (overrides from ``contract``)."""
    return frozenset(name for name, methods in table.items()
                     if all(getattr(cls, m) is not getattr(contract, m) for m in methods))


class Problem:
    """What every problem solved by :func:`fieldflow.evolve` provides (see the module docstring)."""

    #: ``"pde"``, ``"particles"`` or ``"map"``: which steppers can advance it
    kind: ClassVar[str] = "abstract"
    #: diagnostics whose value must stay constant (checked to ``mass_tol``)
    conserved: tuple[str, ...] = ()
    #: whether the state is a density (non-negativity is checked)
    positive: bool = False
    #: diagnostic that must be non-increasing in time (``None``: no such check)
    monotone: str | None = None
    #: stepper used when ``evolve(method=None)``
    default_method: str = ""
    #: options of the default stepper (``evolve``'s keyword options take precedence)
    stepper_options: dict[str, Any] = {}
    #: diagnostics every this many steps (``0``: at the save times only) when ``evolve`` is not told
    diagnostics_every: int = 1
    #: whether the dynamics draws random numbers (``evolve(seed=...)``)
    stochastic: bool = False
    #: optional interfaces this problem implements (see the module docstring)
    capabilities: frozenset[str] = frozenset()

    def validate(self, state0: Any) -> Any:
        """Check an initial state and return the state ``evolve`` starts from."""
        raise NotImplementedError

    def diagnostics(self, state: Any, t: float) -> dict[str, float]:
        """Scalar diagnostics of ``state`` at time ``t``."""
        return {}

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable parameters that identify this problem (trajectories, checkpoints)."""
        return {"problem": type(self).__name__}

    def array_namespace(self, state: Any) -> Any:
        """The array module (``numpy`` or ``cupy``) of ``state``."""
        return namespace_of(state.x if isinstance(state, Particles) else state)

    def stable_dt(self, state: Any, t: float) -> float:
        """Largest stable explicit (forward Euler) step; ``inf`` if unlimited."""
        return math.inf

    @property
    def supports(self) -> frozenset[str]:
        """Every capability a stepper may require of this problem (``capabilities`` and those of its kind)."""
        return frozenset(self.capabilities)


# ============================================================================ grid PDEs


class PDE(Problem):
    """A density on a grid with a right-hand side: ``∂t u = rhs(u, t)``.

    An equation implements ``rhs(state, t)`` and ``diagnostics(state, t)``, and optionally (each
    declaring its capability, see the module docstring): ``stable_dt``, ``linear_operator``,
    ``jacobian`` or ``jvp`` (nonlinear implicit steps; without them a finite-difference product is
    used), ``preconditioner`` (Jacobian-free Newton–GMRES), ``local_jacobian`` (the sparse local part of
    the Jacobian, for ``log-trbdf2``'s preconditioner) and the semilinear Fourier split of ``etdrk4``.
    """

    kind: ClassVar[str] = "pde"
    conserved = ("mass",)
    positive = True
    monotone = "free_energy"
    default_method = "trbdf2"
    #: whether ``linear_operator``/``rhs`` depend on time explicitly
    time_dependent: bool = False

    grid: Grid

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.capabilities = frozenset(cls.capabilities) | _implemented(cls, PDE, PDE_CAPABILITIES)

    def array_namespace(self, state: Any) -> Any:
        return self.grid.xp

    # ------------------------------------------------------------------ physics
    def rhs(self, state: Any, t: float) -> Any:
        raise NotImplementedError

    def diagnostics(self, state: Any, t: float) -> dict[str, float]:
        return {"mass": self.grid.integrate(state)}

    def linear_operator(self, t: float) -> Any | None:
        """Sparse matrix ``L`` with ``rhs(u) = L @ u.ravel()``, or ``None`` for nonlinear equations."""
        return None

    def jacobian(self, state: Any, t: float) -> Any | None:
        """Sparse Jacobian ``∂ rhs / ∂ state`` (flattened), or ``None`` to use ``jvp``."""
        return None

    def jvp(self, state: Any, v: Any, t: float) -> Any:
        """Jacobian-vector product; the default is a first-order finite difference of ``rhs``.

        The increment ``ε = √eps_mach (1 + ‖state‖)/‖v‖`` stays a scalar of the state's namespace (no
        device→host read per product); ``v = 0`` gives ``0``.
        """
        xp = self.grid.xp
        scale = xp.linalg.norm(v)
        eps = np.sqrt(np.finfo(float).eps) * (1 + xp.linalg.norm(state)) / xp.where(scale > 0, scale, 1.0)
        return (self.rhs(state + eps * v, t) - self.rhs(state, t)) / eps

    def preconditioner(self, state: Any, c: float, t: float) -> Any | None:
        """An approximation of ``(I − c J(state))^{-1}`` for GMRES on flattened vectors of the state's
        namespace (a callable, or an object with ``matvec``), or ``None`` (the default: no preconditioning).

        Build it with :func:`fieldflow.core.linalg.approximate_inverse` from a sparse matrix of the grid's
        namespace, so that it follows the implicit solver's ``preconditioner=`` option (host LU on NumPy,
        a device method on CuPy)."""
        return None

    def reversible_measure(self, t: float) -> Any | None:
        """``log π`` (grid-shaped) of a measure with detailed balance ``L_ij π_j = L_ji π_i`` for
        ``linear_operator(t)``, or ``None`` (the default).

        With it ``Π^{-1/2} L Π^{1/2}`` is symmetric, and the implicit solver's multigrid path solves by
        conjugate gradients instead of GMRES."""
        return None

    def local_jacobian(self, state: Any) -> Any:
        """The sparse (SciPy) nearest-neighbour part of ``∂ rhs/∂ state``, for preconditioners."""
        raise NotImplementedError(f"{type(self).__name__} provides no local Jacobian")

    def monotone_value(self, state: Any) -> float:
        """The diagnostic named by ``monotone`` at ``state`` (capability ``"monotone_value"``).

        An equation whose scheme dissipates that diagnostic exactly provides it so that the implicit steppers
        can treat an increase over a trial step as a failed step (an unconverged Newton solve or a step too
        large for the error estimate) and retry smaller, instead of handing it to ``evolve``'s structure check.
        """
        raise NotImplementedError(f"{type(self).__name__} provides no monotone_value")

    # semilinear split ∂t u = L u + N(u), L = diag(linear_symbol) in Fourier space (capability "semilinear_fourier")
    def nonlinear_hat(self, u_hat: Any, t: float) -> Any:
        """``N(u)`` in Fourier space."""
        raise NotImplementedError(f"{type(self).__name__} is not a semilinear Fourier equation")

    def to_fourier(self, state: Any) -> Any:
        """``û`` (the transform ``linear_symbol`` is diagonal in)."""
        raise NotImplementedError(f"{type(self).__name__} is not a semilinear Fourier equation")

    def from_fourier(self, u_hat: Any) -> Any:
        """The inverse of :meth:`to_fourier`."""
        raise NotImplementedError(f"{type(self).__name__} is not a semilinear Fourier equation")

    # ------------------------------------------------------------------ input and identity
    def validate(self, state: Any) -> Any:
        """Check an initial state; densities are validated and normalised to mass 1."""
        return validate_density(self.grid, state, name="initial density", normalise=True)

    def describe(self) -> dict[str, Any]:
        """Parameters that identify this problem (stored with trajectories and checkpoints)."""
        return {"equation": type(self).__name__, "grid": repr(self.grid)}


# ============================================================================ particle systems


@dataclass
class Particles:
    """The state of a particle system: positions ``x`` (``(N, ...)``), weights ``(N,)`` and per-particle extras.

    ``extras`` maps names to arrays of shape ``(N, ...)`` that move with the particles (e.g. the transported
    ``log f(X_i)`` of :class:`fieldflow.landau.ScoreLandau`).  ``weights=None`` means equal weights ``1/N``.
    """

    x: Any
    weights: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.weights is None:
            xp = namespace_of(self.x)
            n = int(self.x.shape[0]) if getattr(self.x, "ndim", 0) else 0
            self.weights = xp.full(n, 1.0 / max(n, 1))

    def replace(self, x: Any, extras: dict[str, Any] | None = None) -> "Particles":
        """The same particles (and weights) at new positions, with ``extras`` updated by the given arrays."""
        return Particles(x, self.weights, self.extras if not extras else {**self.extras, **extras})


class ParticleSystem(Problem):
    """Weighted particles ``dX_i = drift_i(X, t) dt + √(2·diffusion) dB_i``, stepped with a fixed ``dt``.

    A particle method implements ``drift(state, t)`` (the velocity of every particle, shape of ``state.x``;
    it may depend on all particles, their weights and extras) and sets ``diffusion`` (``None``: no noise).
    Optionally:

    * ``extras`` (names) and ``extra_rates(state, t) -> {name: d/dt}``: per-particle arrays carried along;
      every particle stepper advances them by one forward-Euler step of the rates evaluated at the start of
      the step (first order in ``dt``, whatever the order of the particle step);
    * ``prepare_step(state, t)``: called once at the start of every step, before ``extra_rates`` and
      ``drift`` — a method whose velocity field depends on a fit to the particles (a learnt score) fits it
      here, and the field stays frozen over the step;
    * ``wrap(x)``: maps positions back to the domain after each step (e.g. angles to ``[0, 2π)``);
    * ``stable_dt(state, t)``: a step ``dt ≥ stable_dt`` is refused before the run starts.
    """

    kind: ClassVar[str] = "particles"
    default_method = "forward-euler"
    diagnostics_every = 0
    #: ``D`` in ``√(2D) dB`` (``None``: deterministic particles)
    diffusion: float | None = None
    #: names of the per-particle arrays the system carries (required in the initial state)
    extras: tuple[str, ...] = ()

    @property
    def stochastic(self) -> bool:  # type: ignore[override]
        return self.diffusion is not None

    @property
    def supports(self) -> frozenset[str]:
        return frozenset(self.capabilities) | {"noise" if self.stochastic else "deterministic"}

    def drift(self, state: Particles, t: float) -> Any:
        """``dX/dt`` of every particle (without the noise)."""
        raise NotImplementedError

    def prepare_step(self, state: Particles, t: float) -> None:
        """Called at the start of every step (default: nothing)."""

    def extra_rates(self, state: Particles, t: float) -> dict[str, Any]:
        """Time derivatives of the extras at the start of a step (default: none)."""
        return {}

    def wrap(self, x: Any) -> Any:
        """Positions mapped back into the domain (default: unchanged)."""
        return x

    def validate(self, state0: Any) -> Particles:
        """An array ``(N, ...)`` (equal weights) or :class:`Particles`: finite positions, non-negative
        weights of positive mass, every name of ``extras`` present as a finite ``(N, ...)`` array.  Copied."""
        x0 = state0.x if isinstance(state0, Particles) else state0
        xp = namespace_of(x0)
        x = real_array(x0, "particle positions", xp=xp, hint="the initial data must be finite real positions (N, ...)")
        x = xp.array(x, copy=True)
        if x.ndim < 1 or x.shape[0] < 1:
            raise ValueError(f"particles must be an array of shape (N, ...), got shape {tuple(x.shape)}")
        p = state0 if isinstance(state0, Particles) else Particles(x)
        n = x.shape[0]
        w = xp.array(real_array(p.weights, "weights", shape=(n,), nonnegative=True, xp=xp,
                                hint="weights are the masses of the particles, one per particle"), copy=True)
        if not float(xp.sum(w)) > 0:
            raise ValueError("particle weights have zero total mass")
        missing = [name for name in self.extras if name not in p.extras]
        if missing:
            raise ValueError(f"{type(self).__name__} carries per-particle arrays {list(self.extras)}; the initial "
                             f"state lacks {missing}: pass Particles(x, weights, extras={{...}})")
        extras = {}
        for name, value in p.extras.items():
            arr = xp.array(real_array(value, f"extra {name!r}", xp=xp), copy=True)
            if arr.ndim < 1 or arr.shape[0] != n:
                raise ValueError(f"extra {name!r} must be finite values at the {n} particles, got shape "
                                 f"{tuple(arr.shape)}")
            extras[name] = arr
        return Particles(x, w, extras)

    def diagnostics(self, state: Particles, t: float) -> dict[str, float]:
        """``mass`` ``Σw``, and per component the weighted ``mean`` and ``variance`` (suffix ``_a`` for axis ``a``)."""
        xp = namespace_of(state.x)
        w = state.weights
        mass = float(xp.sum(w))
        x = state.x.reshape(state.x.shape[0], -1)
        mean = (w @ x) / mass
        var = (w @ (x - mean) ** 2) / mass
        out = {"mass": mass}
        suffix = [""] if state.x.ndim == 1 else [f"_{a}" for a in range(x.shape[1])]
        for a, s in enumerate(suffix):
            out[f"mean{s}"], out[f"variance{s}"] = float(mean[a]), float(var[a])
        return out


# ============================================================================ step maps


class StepMap(Problem):
    """A state advanced by a map applied at equal steps: ``state_{k+1} = step(state_k, t_k, dt)``.

    Implement ``step``, ``validate``, ``diagnostics`` and ``describe`` and set the structure flags; ``evolve``
    runs it with the stepper ``"step-map"`` (``ceil(t_end/dt)`` equal steps ``dt``).  The state is an array or
    :class:`Particles` (positions, weights, per-particle extras; with ``positive = False``).
    """

    kind: ClassVar[str] = "map"
    default_method = "step-map"

    def step(self, state: Any, t: float, dt: float) -> Any:
        """The state at ``t + dt`` from the state at ``t``."""
        raise NotImplementedError
