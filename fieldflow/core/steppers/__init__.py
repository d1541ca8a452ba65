"""Time steppers used by :func:`fieldflow.evolve`, chosen by name from one registry.

Each stepper advances a :class:`~fieldflow.core.problem.PDE` state by one step and proposes the
next step size.  Chosen by name:

``"ssprk3"``
    Shu–Osher strong-stability-preserving Runge–Kutta, order 3.  Explicit: every step is
    limited to ``cfl × pde.stable_dt(state)``; since it is a convex combination of forward
    Euler steps, it keeps positivity and monotonicity of any scheme whose forward Euler step
    does under that limit.
``"euler"``
    Backward Euler, order 1, L-stable.  For finite-volume schemes whose matrix is an
    M-matrix it preserves positivity for every step size.
``"trbdf2"``
    TR-BDF2 (Bank et al.; Hosea–Shampine), order 2, L-stable, with the embedded error
    estimate of Hosea–Shampine for adaptive steps.  Both stages share the matrix
    ``I − (γ/2) dt L`` (``γ = 2 − √2``), so a linear problem needs one factorisation per step
    size; adaptive step sizes are restricted to ``dt₀·2^k`` so the factorisations are reused.

Linear equations (``pde.linear_operator`` not ``None``) use sparse LU factorisations.
Nonlinear ones use Newton's method with ``pde.jacobian`` (sparse direct) or, without it,
Jacobian-free Newton–GMRES with ``pde.jvp``, preconditioned by ``pde.preconditioner`` when the
equation provides one.  A Newton failure inside an adaptive TR-BDF2 step rejects the step and
halves it.

``"etdrk4"``
    Exponential time differencing RK4 (:mod:`fieldflow.core.steppers.exponential`) for semilinear
    equations diagonal in Fourier space; imported when first asked for.

An equation may also provide its own stepper object (e.g. an IMEX or exponential integrator):
any object with the :class:`Stepper` interface can be passed as ``evolve(method=...)``.
"""


from .base import Stepper, StepResult
from .explicit import SSPRK3
from .implicit import TRBDF2, BackwardEuler
from .registry import STEPPERS, make_stepper, stepper_class

__all__ = ["Stepper", "StepResult", "SSPRK3", "BackwardEuler", "TRBDF2", "make_stepper", "stepper_class", "STEPPERS"]
