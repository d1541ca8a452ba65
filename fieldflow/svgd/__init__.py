"""Mean-field Stein variational gradient descent with the Duncan kernel.

* kernels ``k`` with their Fourier symbols and the SLSI constants (:mod:`~fieldflow.svgd.kernels`);
* :class:`SVGDFlow` and its local limit :class:`LocalSVGDFlow` (:mod:`~fieldflow.svgd.pde`);
* :class:`SVGDParticles` — particle SVGD, the independent cross-check (:mod:`~fieldflow.svgd.particles`);
* measured and theoretical SLSI rates (:mod:`~fieldflow.svgd.slsi`).
"""

from . import particles
from .particles import SVGDParticles
from .kernels import Bessel, Gaussian, Kernel, SLSIBounds, check_slsi_bounds
from .pde import LocalSVGDFlow, SVGDFlow, limited_log_mean, log_mean, log_mean_partials
from .slsi import energy_dissipation_defect, kl_rate, slsi_quotient, theorem_rate

__all__ = ["Kernel", "Bessel", "Gaussian", "SLSIBounds", "check_slsi_bounds", "SVGDFlow", "LocalSVGDFlow",
           "log_mean", "log_mean_partials", "limited_log_mean", "kl_rate", "slsi_quotient", "theorem_rate",
           "energy_dissipation_defect", "particles", "SVGDParticles"]
