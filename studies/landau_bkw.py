"""Landau/BKW: grid solver order, blob particle error against N, score-based entropy decay."""
from fieldflow.cli import run_study_script

if __name__ == "__main__":
    run_study_script("landau_bkw")
