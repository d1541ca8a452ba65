"""The homogeneous Landau equation ``∂t f = ∇·∫ A(v − v*)(f* ∇f − f ∇* f*) dv*``.

* the collision kernel ``A``, ``b = ∇·A`` and the exact BKW solution (:mod:`~fieldflow.landau.collision`);
* exact bi-Maxwellian relaxation rates and the Gaussian closure (:mod:`~fieldflow.landau.bimaxwellian`);
* :class:`Landau` — the conservative finite-volume grid solver (:mod:`~fieldflow.landau.pde`);
* :class:`BlobLandau` and :class:`ScoreLandau` — deterministic particle methods (:mod:`~fieldflow.landau.particles`).
"""

from .bimaxwellian import (anisotropy_rate, blob_rate_factor, closure_relaxation, grid_anisotropy_rate,
                           particle_anisotropy_rate)
from .collision import BKW, bkw, bkw_constant, check_gamma, collision_kernel, kernel_divergence
from ..core.score_matching import DEFAULT_CENTRES, DEFAULT_RIDGES, ScoreModel, fit_score
from .particles import BlobLandau, ScoreLandau, landau_velocity
from .pde import Landau

__all__ = ["collision_kernel", "kernel_divergence", "bkw_constant", "BKW", "bkw", "check_gamma",
           "anisotropy_rate", "blob_rate_factor", "closure_relaxation", "grid_anisotropy_rate",
           "particle_anisotropy_rate", "Landau", "landau_velocity", "BlobLandau", "ScoreModel", "fit_score",
           "ScoreLandau", "DEFAULT_CENTRES", "DEFAULT_RIDGES"]
