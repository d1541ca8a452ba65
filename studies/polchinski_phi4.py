"""Polchinski flow of the single-site φ⁴ double well: convexification, LSI bound, free-field sampling."""
from fieldflow.cli import run_study_script

if __name__ == "__main__":
    run_study_script("polchinski_phi4")
