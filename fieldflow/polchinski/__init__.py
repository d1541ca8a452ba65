"""The Polchinski renormalisation flow on a lattice torus (:ref:`conventions-polchinski`).

* :mod:`~fieldflow.polchinski.lattice` — the torus ``Λ = (εℤ^d)/(Lℤ^d)`` and ``Δ_ε``;
* :mod:`~fieldflow.polchinski.covariance` — covariance decompositions ``C_t`` as Fourier multipliers,
  exact FFT sampling of ``N(0, C_t)``;
* :mod:`~fieldflow.polchinski.potentials` — ``phi4``, ``sine_gordon``, quadratic ``V_0``;
* :mod:`~fieldflow.polchinski.renormalize` — ``renormalized_potential`` (exact / grid / Monte Carlo);
* :mod:`~fieldflow.polchinski.flow` — the semigroup ``P_{s,t}`` and the renormalised measure ``ν_t``;
* :mod:`~fieldflow.polchinski.lsi` — the Bauerschmidt–Bodineau log-Sobolev bound and the true constants;
* :mod:`~fieldflow.polchinski.jko` — JKO with a time-dependent metric on quantile functions.
"""

from .covariance import (CovarianceDecomposition, FourierOperator, FromDerivative, GaussianFieldSampler,
                         HeatKernel, LatticeCovariance, PauliVillars)
from .lattice import Lattice
from .potentials import FieldPotential, QuadraticPotential, SitePotential, phi4, sine_gordon
from .renormalize import (MonteCarloEstimate, covariance_matrix, field_grid, gaussian_convolution,
                          log_gaussian_convolution, periodic_field_grid, renormalized_potential)

__all__ = [
    "Lattice", "FourierOperator", "LatticeCovariance", "GaussianFieldSampler", "CovarianceDecomposition",
    "PauliVillars", "HeatKernel", "FromDerivative", "FieldPotential", "SitePotential", "QuadraticPotential",
    "phi4", "sine_gordon", "MonteCarloEstimate", "covariance_matrix", "field_grid", "periodic_field_grid",
    "gaussian_convolution", "log_gaussian_convolution", "renormalized_potential",
]
