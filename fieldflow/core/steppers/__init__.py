"""Time steppers used by :func:`fieldflow.evolve`, chosen by name from one registry (:data:`STEPPERS`).

Each stepper advances the state of one kind of :class:`~fieldflow.core.problem.Problem` by one step and
proposes the next step size; it declares the kind it advances, the capabilities it ``requires`` of the
problem and the options it knows (:mod:`~fieldflow.core.steppers.base`), and
:func:`make_stepper` refuses a mismatch before the run.

Grid PDEs (``kind = "pde"``)
----------------------------
``"ssprk3"``
    Shu–Osher strong-stability-preserving Runge–Kutta, order 3.  Explicit: every step is
    limited to ``cfl × pde.stable_dt(state)`` (requires ``stable_dt``); since it is a convex
    combination of forward Euler steps, it keeps positivity and monotonicity of any scheme whose
    forward Euler step does under that limit.  A run projected to take more than 10⁷ steps is refused
    before it starts, naming the limit and the problem's implicit method.  Options ``cfl``,
    ``max_explicit_steps``.
``"euler"``
    Backward Euler, order 1, L-stable.  For finite-volume schemes whose matrix is an
    M-matrix it preserves positivity for every step size.
``"trbdf2"``
    TR-BDF2 (Bank et al.; Hosea–Shampine), order 2, L-stable, with the embedded error
    estimate of Hosea–Shampine for adaptive steps.  Both stages share the matrix
    ``I − (γ/2) dt L`` (``γ = 2 − √2``), so a linear problem needs one factorisation per step
    size; adaptive step sizes are restricted to ``dt₀·2^k`` so the factorisations are reused.
    Options ``rtol``, ``atol``, ``positivity_tol`` and those of the implicit solves.
``"log-trbdf2"``
    TR-BDF2 on ``log ρ`` (:mod:`~fieldflow.core.steppers.log_density`): positive for every step;
    preconditioned with the equation's ``local_jacobian`` when it provides one.
``"positive-trbdf2"``
    TR-BDF2 on ``ρ`` with Newton iterates ``ρ = e^s`` (:mod:`~fieldflow.core.steppers.positive`):
    the linear invariants of a conservative scheme to the Newton tolerance *and* positive iterates, for
    equations defined for ``ρ > 0`` only (log-form schemes); requires an exact ``jvp``.
``"etdrk4"``
    Exponential time differencing RK4 (:mod:`~fieldflow.core.steppers.exponential`) for semilinear
    equations diagonal in Fourier space (requires ``semilinear_fourier`` and ``stable_dt``).

Linear equations (``pde.linear_operator`` not ``None``) use sparse LU factorisations, or
multigrid-preconditioned conjugate gradients on the symmetrised operator (3D, large 2D, CuPy; with
``pde.reversible_measure``), or preconditioned GMRES.  Nonlinear ones use Newton's method with ``pde.jacobian`` (sparse direct) or, without it,
Jacobian-free Newton–GMRES with ``pde.jvp``, preconditioned by ``pde.preconditioner`` when the
equation provides one.  A Newton failure inside an adaptive TR-BDF2 step rejects the step and
halves it.  Options of the implicit solves: ``newton_tol``, ``max_newton``, ``gmres_tol``,
``linear_solver`` (``"auto"``, ``"direct"``, ``"multigrid"``, ``"iterative"``), ``iterative_tol``,
``direct_limit``, ``preconditioner``; of TR-BDF2's error control: ``rtol``, ``atol``, ``error_norm``
(``"l1"`` for densities, ``"rms"``), ``safety``.

Particle systems (``kind = "particles"``) and step maps (``kind = "map"``)
--------------------------------------------------------------------------
``"forward-euler"``, ``"heun"``, ``"heun-energy"``, ``"midpoint"`` (options ``tol``, ``max_iter``),
``"euler-maruyama"`` and ``"step-map"``: equal steps, see :mod:`~fieldflow.core.steppers.particle`.

An equation may also bring its own stepper object (e.g. an IMEX integrator): any
:class:`Stepper` instance can be passed as ``evolve(method=...)``.
"""


from .base import Stepper, StepResult
from .explicit import SSPRK3
from .implicit import TRBDF2, BackwardEuler
from .registry import STEPPERS, make_stepper, stepper_class, steppers_for

__all__ = ["Stepper", "StepResult", "SSPRK3", "BackwardEuler", "TRBDF2", "make_stepper", "stepper_class",
           "steppers_for", "STEPPERS"]
