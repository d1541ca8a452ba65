"""Fokker–Planck / Langevin: ``∂t μ = ∇·(D∇μ + μ∇V)`` on a grid, and overdamped Langevin particles.

* :class:`FokkerPlanck` — the finite-volume (Scharfetter–Gummel) solver (:mod:`~fieldflow.fokker_planck.pde`);
* :class:`TimeDependentFokkerPlanck` — the same with ``D(t)``, ``V(t, x)`` (:mod:`~fieldflow.fokker_planck.time_dependent`);
* :class:`Langevin` — overdamped Langevin particles, the independent cross-check (:mod:`~fieldflow.fokker_planck.langevin`);
* :class:`QuantileJKO` — the 1D flow by JKO steps on quantiles, a step map (:mod:`~fieldflow.fokker_planck.jko`).

All of them run through :func:`fieldflow.evolve`.
"""

from . import langevin
from .jko import QuantileJKO
from .langevin import Langevin
from .pde import FokkerPlanck, bernoulli
from .time_dependent import TimeDependentFokkerPlanck

__all__ = ["FokkerPlanck", "TimeDependentFokkerPlanck", "bernoulli", "langevin", "Langevin", "QuantileJKO"]
