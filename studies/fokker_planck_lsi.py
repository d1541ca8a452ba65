"""KL decay of the Fokker–Planck flow and its measured log-Sobolev rates."""
from fieldflow.cli import run_study_script

if __name__ == "__main__":
    run_study_script("fokker_planck_lsi")
