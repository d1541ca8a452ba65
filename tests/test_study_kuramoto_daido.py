"""The Kuramoto–Daido phase-diagram study runs and writes its figures and tables."""

import csv

import pytest

from fieldflow.studies import load


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
    assert summary["m_star"].startswith("1.26729250")
