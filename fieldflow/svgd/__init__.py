"""Mean-field Stein variational gradient descent with the Duncan kernel.

* kernels ``k`` with their Fourier symbols and the SLSI constants (:mod:`~fieldflow.svgd.kernels`);
* :class:`SVGDFlow` and its local limit :class:`LocalSVGDFlow` (:mod:`~fieldflow.svgd.pde`);
* :class:`SVGDParticles` — particle SVGD, the independent cross-check (:mod:`~fieldflow.svgd.particles`);
* measured and theoretical SLSI rates (:mod:`~fieldflow.svgd.slsi`) and the Stein–Poincaré constant of the
  flow linearised at the target (:mod:`~fieldflow.svgd.stein_poincare`);
* :class:`RBFSVGDParticles` — classic SVGD with the Gaussian RBF kernel and the median heuristic (Liu–Wang).
"""

from . import particles
from .particles import RBFSVGDParticles, SVGDParticles
from .kernels import Bessel, Gaussian, Kernel, SLSIBounds, check_slsi_bounds
from .pde import LocalSVGDFlow, SVGDFlow, limited_log_mean, log_mean, log_mean_partials
from .slsi import energy_dissipation_defect, kl_rate, slsi_constant, slsi_quotient, theorem_rate
from .stein_poincare import SteinPoincare, linearised_forms, rayleigh_quotient, stein_poincare

__all__ = ["Kernel", "Bessel", "Gaussian", "SLSIBounds", "check_slsi_bounds", "SVGDFlow", "LocalSVGDFlow",
           "log_mean", "log_mean_partials", "limited_log_mean", "kl_rate", "slsi_quotient", "theorem_rate",
           "energy_dissipation_defect", "particles", "SVGDParticles", "RBFSVGDParticles", "slsi_constant",
           "SteinPoincare", "linearised_forms", "stein_poincare", "rayleigh_quotient"]
