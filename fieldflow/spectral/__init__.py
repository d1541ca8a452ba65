"""Spectral analysis of McKean–Vlasov gradient flows: stationary states, phase transitions.

* :func:`stationary_states`, :func:`free_energy_minimizer` — solutions of ``q ∝ exp(2K W*q)``.
"""

from .stationary import StationaryState, default_resolution, free_energy_minimizer, stationary_states

__all__ = ["StationaryState", "stationary_states", "free_energy_minimizer", "default_resolution"]
