"""Landau/JKO: variational particles vs the score method at large steps (BKW), convergence, Coulomb relaxation."""
from fieldflow.cli import run_study_script

if __name__ == "__main__":
    run_study_script("landau_jko")
