"""SVGD: measured KL decay rate against alpha, the kernel scale and the SLSI theorem's constant."""
from fieldflow.cli import run_study_script

if __name__ == "__main__":
    run_study_script("svgd_slsi_rate")
