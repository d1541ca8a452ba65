"""SVGD with the Duncan kernel on the Gaussian, mixture and banana targets (grid vs particles, KL decay)."""
from fieldflow.cli import run_study_script

if __name__ == "__main__":
    run_study_script("svgd_targets")
