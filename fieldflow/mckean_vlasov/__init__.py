"""McKean–Vlasov dynamics on the torus: ``∂t q = ½ q'' − K (q (W'*q))'`` and its spectral analysis.

* interactions ``W = Σ_k w_k cos kθ`` — :func:`kuramoto`, :func:`kuramoto_daido` (:mod:`~fieldflow.mckean_vlasov.interactions`);
* :class:`McKeanVlasov` — the pseudo-spectral solver, with :func:`free_energy` and :func:`order_parameters`
  (:mod:`~fieldflow.mckean_vlasov.pde`); the linearised evolution :class:`LinearizedMcKeanVlasov`;
* :class:`Oscillators` — interacting oscillators, the particle system behind the equation
  (:mod:`~fieldflow.mckean_vlasov.particles`);
* stationary states ``q ∝ exp(2K W*q)`` — :func:`stationary_states`, :func:`free_energy_minimizer`
  (:mod:`~fieldflow.mckean_vlasov.stationary`);
* the phase transition — :func:`critical_coupling`, :func:`phase_diagram`, :func:`kuramoto_daido_m_star`
  (:mod:`~fieldflow.mckean_vlasov.phase`);
* every stationary branch — :func:`bifurcation_diagram` (pseudo-arclength continuation, folds, bifurcation
  points, stability from ``L_q``; :mod:`~fieldflow.mckean_vlasov.continuation`) on the reduced self-consistency
  system (:mod:`~fieldflow.mckean_vlasov.self_consistency`, with :func:`non_even_states`); free-energy
  landscapes (:mod:`~fieldflow.mckean_vlasov.landscape`); finite-``N`` oscillators across the transition
  (:mod:`~fieldflow.mckean_vlasov.finite_size`);
* the linearised operator ``L_q``, its spectrum and gap — :func:`linearized_operator`,
  :func:`linearized_spectrum` (:mod:`~fieldflow.mckean_vlasov.linearized`), gap maps over ``(m, K)``
  (:mod:`~fieldflow.mckean_vlasov.gap_map`), the time-domain check :func:`relaxation_rate`.
"""

from . import finite_size, particles
from .continuation import BifurcationDiagram, Branch, SpecialPoint, bifurcation_diagram, spectral_fold
from .gap_map import GapMap, kuramoto_daido_gap_map, minimizer_gaps
from .interactions import Fourier, kuramoto, kuramoto_daido
from .landscape import Landscape, constrained_free_energy, free_energy_landscape, kuramoto_free_energy_profile
from .linearized import (LinearizedOperator, LinearizedSpectrum, linearized_operator, linearized_spectrum,
                         uniform_eigenvalues)
from .linearized_pde import LinearizedMcKeanVlasov
from .particles import Oscillators
from .pde import McKeanVlasov, free_energy, order_parameters
from .phase import (CriticalCoupling, coupling_ratio, critical_coupling, kuramoto_daido_m_star, linear_threshold,
                    phase_diagram)
from .relaxation import default_perturbation, relaxation_rate
from .self_consistency import NonEvenState, SelfConsistency, non_even_states
from .stationary import (StationaryState, default_resolution, free_energy_minimizer, self_consistency_residual,
                         stationary_states)

__all__ = [
    "Fourier", "kuramoto", "kuramoto_daido", "McKeanVlasov", "free_energy", "order_parameters",
    "LinearizedMcKeanVlasov", "particles", "Oscillators",
    "StationaryState", "stationary_states", "free_energy_minimizer", "default_resolution",
    "self_consistency_residual",
    "CriticalCoupling", "critical_coupling", "phase_diagram", "linear_threshold", "coupling_ratio",
    "kuramoto_daido_m_star",
    "LinearizedOperator", "LinearizedSpectrum", "linearized_operator", "linearized_spectrum", "uniform_eigenvalues",
    "relaxation_rate", "default_perturbation", "GapMap", "minimizer_gaps", "kuramoto_daido_gap_map",
    "BifurcationDiagram", "Branch", "SpecialPoint", "bifurcation_diagram", "spectral_fold",
    "SelfConsistency", "NonEvenState", "non_even_states",
    "Landscape", "constrained_free_energy", "free_energy_landscape", "kuramoto_free_energy_profile", "finite_size",
]
