"""The contract between an equation and the time loop.

A :class:`PDE` knows its physics — right-hand side, free energy, dissipation, the structure
it preserves — and nothing about time stepping, progress bars or storage, which live in
:mod:`fieldflow.evolve`.  An equation implements:

* ``rhs(state, t)`` — ``∂t state``;
* ``diagnostics(state, t)`` — a dict of floats (``mass``, ``free_energy``, ``kl``, ...);
* optionally ``stable_dt(state, t)`` — the explicit stability limit (``inf`` if none);
* optionally ``linear_operator(t)`` — a sparse matrix ``L`` with ``rhs = L @ state.ravel()``
  for linear equations (implicit steppers then factorise it once per step size);
* optionally ``jacobian(state, t)`` (sparse matrix) or ``jvp(state, v, t)`` (Jacobian-vector
  product) for nonlinear implicit steps; without either, a finite-difference product is used;
* optionally, for Jacobian-free Newton–GMRES, ``preconditioner(state, c, t)`` (an approximate
  inverse of ``I − c J(state)``), or ``local_jacobian(state)`` (a sparse approximation of ``J`` that
  :class:`~fieldflow.core.steppers.log_density.LogTRBDF2` turns into its preconditioner).

Class attributes tell :func:`fieldflow.evolve` what to check as it runs:
``conserved`` (e.g. ``("mass",)``), ``positive`` (the state is a density), and ``monotone``
(the diagnostic that must never increase, e.g. ``"free_energy"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .validation import validate_density
from .grids import Grid

__all__ = ["PDE"]


class PDE:
    """Base class of every equation solved by :func:`fieldflow.evolve`."""

    #: diagnostics whose value must stay constant (checked to ``mass_tol``)
    conserved: tuple[str, ...] = ("mass",)
    #: whether the state is a probability density (non-negativity is checked)
    positive: bool = True
    #: diagnostic that must be non-increasing in time (``None``: no such check)
    monotone: str | None = "free_energy"
    #: stepper used when ``evolve(method=None)``
    default_method: str = "trbdf2"
    #: whether ``linear_operator``/``rhs`` depend on time explicitly
    time_dependent: bool = False

    grid: Grid

    # ------------------------------------------------------------------ physics
    def rhs(self, state: Any, t: float) -> Any:
        raise NotImplementedError

    def diagnostics(self, state: Any, t: float) -> dict[str, float]:
        return {"mass": self.grid.integrate(state)}

    def stable_dt(self, state: Any, t: float) -> float:
        """Largest explicit (forward Euler) step that keeps the scheme stable; ``inf`` if unlimited."""
        return float("inf")

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

    # ------------------------------------------------------------------ input and identity
    def validate(self, state: Any) -> Any:
        """Check an initial state; densities are validated and normalised to mass 1."""
        return validate_density(self.grid, state, name="initial density", normalise=True)

    def describe(self) -> dict[str, Any]:
        """Parameters that identify this problem (stored with trajectories and checkpoints)."""
        return {"equation": type(self).__name__, "grid": repr(self.grid)}
