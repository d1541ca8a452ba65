"""Spectral analysis of McKean–Vlasov gradient flows on the torus.

* :func:`stationary_states`, :func:`free_energy_minimizer` — solutions of ``q ∝ exp(2K W*q)``,
  their free energies and stability (:mod:`fieldflow.spectral.stationary`);
* :func:`critical_coupling`, :func:`phase_diagram`, :func:`kuramoto_daido_m_star` — the phase
  transition of the free energy (:mod:`fieldflow.spectral.phase`).
"""

from .phase import (CriticalCoupling, coupling_ratio, critical_coupling, kuramoto_daido_m_star, linear_threshold,
                    phase_diagram)
from .stationary import StationaryState, default_resolution, free_energy_minimizer, stationary_states

__all__ = [
    "StationaryState", "stationary_states", "free_energy_minimizer", "default_resolution",
    "CriticalCoupling", "critical_coupling", "phase_diagram", "linear_threshold", "coupling_ratio",
    "kuramoto_daido_m_star",
]

# the linearised operator L_q and its spectral gap
from .linearized import (LinearizedOperator, LinearizedSpectrum, linearized_operator, linearized_spectrum,  # noqa: E402
                         uniform_eigenvalues)
from .relaxation import relaxation_rate  # noqa: E402

__all__ += ["LinearizedOperator", "LinearizedSpectrum", "linearized_operator", "linearized_spectrum", "uniform_eigenvalues",
            "relaxation_rate"]
