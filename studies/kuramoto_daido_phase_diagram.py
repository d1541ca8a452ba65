"""Kuramoto–Daido phase diagram: K_c(m), K_#(m), m_* and hysteresis of r_1(K)."""
from fieldflow.cli import run_study_script

if __name__ == "__main__":
    run_study_script("kuramoto_daido_phase_diagram")
