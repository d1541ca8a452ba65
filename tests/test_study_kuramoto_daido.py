"""The Kuramoto–Daido phase-diagram study runs and writes its figures and tables."""

import csv

import pytest

from fieldflow.studies import load
from test_spectral_phase import independent_m_star


def test_study_is_registered():
    study = load("kuramoto_daido_phase_diagram")
    assert study.DEFAULT and "Kuramoto–Daido" in study.TITLE


@pytest.mark.slow
def test_study_quick_run(tmp_path):
    summary = load("kuramoto_daido_phase_diagram").run(tmp_path, quick=True)
    for name in ("phase_diagram.png", "phase_diagram.csv", "bifurcation.png", "bifurcation.csv"):
        assert (tmp_path / name).stat().st_size > 0
    rows = list(csv.DictReader(open(tmp_path / "phase_diagram.csv")))
    kinds = {round(float(r["m"]), 3): r["kind"] for r in rows}
    assert kinds[0.25] == "continuous" and kinds[0.75] == "discontinuous" and kinds[2.0] == "continuous"
    # m_* against the root of the test's own g(m) = min_{a₁≠0} H/P − 1/m (quadrature and minimiser of its own, see
    # test_spectral_phase): the summary prints 10 decimals, so they agree to 1e-10 (measured: 2e-13 apart)
    assert abs(float(summary["m_star"].split()[0]) - independent_m_star()) <= 1e-10
