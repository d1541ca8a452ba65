"""The homogeneous Landau equation ``∂t f = ∇·∫ A(v − v*)(f* ∇f − f ∇* f*) dv*``.

* the collision kernel ``A``, ``b = ∇·A`` and the exact BKW solution (:mod:`~fieldflow.landau.collision`);
* exact bi-Maxwellian relaxation rates and the Gaussian closure (:mod:`~fieldflow.landau.bimaxwellian`);
* :class:`Landau` — the conservative finite-volume grid solver (:mod:`~fieldflow.landau.pde`);
* :class:`BlobLandau` and :class:`ScoreLandau` — deterministic particle methods (:mod:`~fieldflow.landau.particles`),
  with the moments every particle method reports (:mod:`~fieldflow.landau.moments`);
* :class:`JKOLandau` — the implicit JKO variational particle method (:mod:`~fieldflow.landau.jko`), with its pair sums
  for a general field and their adjoints (:mod:`~fieldflow.landau.pair_sums`) and its basis
  (:mod:`~fieldflow.landau.gradient_basis`).
"""

from .bimaxwellian import (anisotropy_rate, blob_rate_factor, closure_relaxation, grid_anisotropy_rate,
                           particle_anisotropy_rate)
from .collision import BKW, bkw, bkw_constant, check_gamma, collision_kernel, kernel_divergence
from ..core.score_matching import DEFAULT_CENTRES, DEFAULT_RIDGES, ScoreModel, fit_score
from .particles import BlobLandau, ScoreLandau, landau_velocity
from .pde import Landau
from .moments import particle_moments
from .gradient_basis import GradientBasis
from .jko import JKOLandau, JKOStep, entropy_increases
from .pair_sums import pair_flow, pair_flow_features, pair_flow_vjp, random_batches

__all__ = ["collision_kernel", "kernel_divergence", "bkw_constant", "BKW", "bkw", "check_gamma",
           "anisotropy_rate", "blob_rate_factor", "closure_relaxation", "grid_anisotropy_rate",
           "particle_anisotropy_rate", "Landau", "landau_velocity", "BlobLandau", "ScoreModel", "fit_score",
           "ScoreLandau", "DEFAULT_CENTRES", "DEFAULT_RIDGES", "JKOLandau", "JKOStep", "entropy_increases", "GradientBasis",
           "pair_flow", "pair_flow_features", "pair_flow_vjp", "random_batches", "particle_moments"]
