"""The Polchinski renormalisation flow on a lattice torus (:ref:`conventions-polchinski`).

* :mod:`~fieldflow.polchinski.lattice` — the torus ``Λ = (εℤ^d)/(Lℤ^d)`` and ``Δ_ε``;
* :mod:`~fieldflow.polchinski.covariance` — covariance decompositions ``C_t`` as Fourier multipliers,
  exact FFT sampling of ``N(0, C_t)``;
* :mod:`~fieldflow.polchinski.potentials` — ``phi4``, ``sine_gordon``, quadratic ``V_0``;
* :mod:`~fieldflow.polchinski.renormalize` — ``renormalized_potential`` (exact / grid / Monte Carlo);
* :mod:`~fieldflow.polchinski.flow` — the semigroup ``P_{s,t}`` and the renormalised measure ``ν_t``
  from its definition (grid, quadrature, Monte Carlo, exact);
* :mod:`~fieldflow.polchinski.measure` — ``ν_t`` as the gradient flow of ``½KL(·‖N(0, Γ_t/2))`` in the
  metric of ``Ċ_t``: the field-space PDE (:func:`measure_flow`);
* :mod:`~fieldflow.polchinski.jko` — the same flow by JKO steps (:func:`measure_flow_jko`);
* :mod:`~fieldflow.polchinski.lsi` — the Bauerschmidt–Bodineau log-Sobolev bound and the true constants.
"""

from .covariance import (CovarianceDecomposition, FourierOperator, FromDerivative, GaussianFieldSampler,
                         HeatKernel, LatticeCovariance, PauliVillars)
from .flow import FieldSpaceFlow, gaussian_measure_covariance, measure_density, measure_mc
from .jko import GaussianJKO, QuantileJKO, measure_flow_jko
from .lattice import Lattice
from .measure import MeasureFlow, fourier_basis, measure_flow
from .potentials import FieldPotential, QuadraticPotential, SitePotential, phi4, sine_gordon
from .renormalize import (MonteCarloEstimate, covariance_matrix, field_grid, gaussian_convolution,
                          log_gaussian_convolution, periodic_field_grid, renormalized_potential)

__all__ = [
    "Lattice", "FourierOperator", "LatticeCovariance", "GaussianFieldSampler", "CovarianceDecomposition",
    "PauliVillars", "HeatKernel", "FromDerivative", "FieldPotential", "SitePotential", "QuadraticPotential",
    "phi4", "sine_gordon", "MonteCarloEstimate", "covariance_matrix", "field_grid", "periodic_field_grid",
    "gaussian_convolution", "log_gaussian_convolution", "renormalized_potential",
    "FieldSpaceFlow", "measure_density", "measure_mc", "gaussian_measure_covariance",
    "MeasureFlow", "measure_flow", "fourier_basis", "QuantileJKO", "GaussianJKO", "measure_flow_jko",
]
