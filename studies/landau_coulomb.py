"""Landau/Coulomb 3D: bi-Maxwellian temperature relaxation, grid solver vs blob particles."""
from fieldflow.cli import run_study_script

if __name__ == "__main__":
    run_study_script("landau_coulomb")
