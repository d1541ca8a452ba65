"""Spectral gap of the linearised McKean–Vlasov operator at the Kuramoto–Daido minimiser."""
from fieldflow.cli import run_study_script

if __name__ == "__main__":
    run_study_script("spectral_gap")
