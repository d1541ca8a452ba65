"""Fokker–Planck / Langevin: ``∂t μ = ∇·(D∇μ + μ∇V)`` on a grid, and overdamped Langevin particles.

* :class:`FokkerPlanck` — the finite-volume (Scharfetter–Gummel) solver (:mod:`~fieldflow.fokker_planck.pde`);
* :class:`TimeDependentFokkerPlanck` — the same with ``D(t)``, ``V(t, x)`` (:mod:`~fieldflow.fokker_planck.time_dependent`);
* :mod:`~fieldflow.fokker_planck.langevin` — Euler–Maruyama particles, the independent cross-check.
"""

from . import langevin
from .pde import FokkerPlanck, bernoulli
from .time_dependent import TimeDependentFokkerPlanck

__all__ = ["FokkerPlanck", "TimeDependentFokkerPlanck", "bernoulli", "langevin"]
