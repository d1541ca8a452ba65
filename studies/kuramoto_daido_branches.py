"""Kuramoto–Daido branches: continuation of every stationary state, landscapes, N oscillators across K_c."""
from fieldflow.cli import run_study_script

if __name__ == "__main__":
    run_study_script("kuramoto_daido_branches")
