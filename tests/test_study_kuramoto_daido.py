"""The Kuramoto–Daido studies (phase diagram, branches) run and write their figures and tables."""

import csv

import pytest

from fieldflow.studies import load


def test_studies_are_registered():
    study = load("kuramoto_daido_phase_diagram")
    assert study.DEFAULT and "Kuramoto–Daido" in study.TITLE
    branches = load("kuramoto_daido_branches")
    assert branches.DEFAULT and "Kuramoto–Daido" in branches.TITLE


@pytest.mark.slow
def test_study_quick_run(tmp_path):
    summary = load("kuramoto_daido_phase_diagram").run(tmp_path, quick=True)
    for name in ("phase_diagram.png", "phase_diagram.csv", "bifurcation.png", "bifurcation.csv"):
        assert (tmp_path / name).stat().st_size > 0
    rows = list(csv.DictReader(open(tmp_path / "phase_diagram.csv")))
    kinds = {round(float(r["m"]), 3): r["kind"] for r in rows}
    assert kinds[0.25] == "continuous" and kinds[0.75] == "discontinuous" and kinds[2.0] == "continuous"
    assert kinds[-1.0] == "continuous" and kinds[-2.0] == "continuous"
    assert all(float(r["K_c"]) == 1.0 for r in rows if float(r["m"]) < 0)
    m_star = next(line for name, line in summary.items() if name.startswith("m_*"))
    assert "m_* = 1.26729250" in m_star and "→ PASS" in m_star
    assert all("→ PASS" in line for line in summary.values()), summary


@pytest.mark.slow
def test_branches_study_quick_run(tmp_path):
    summary = load("kuramoto_daido_branches").run(tmp_path, quick=True)
    for name in ("bifurcation_diagrams.png", "branches.csv", "special_points.csv", "checks.csv", "non_even.csv",
                 "kuramoto_free_energy.png", "landscapes.png", "hysteresis.png", "hysteresis.csv",
                 "finite_size_scaling.png", "finite_size_scaling.csv", "switching.png", "switching.csv"):
        assert (tmp_path / name).stat().st_size > 0, name
    checks = list(csv.DictReader(open(tmp_path / "checks.csv")))
    assert max(float(r["difference"]) for r in checks if r["check"].startswith("Kuramoto")) < 1e-12
    assert max(float(r["difference"]) for r in checks if r["check"].startswith("fold")) < 1e-8
    assert max(float(r["difference"]) for r in checks if r["check"].startswith("K_c")) < 1e-10
    special = list(csv.DictReader(open(tmp_path / "special_points.csv")))
    assert {r["kind"] for r in special} >= {"fold", "bifurcation"}
    assert "5 of 5 agree" in summary["K_c: kind of transition, branches vs critical_coupling"]
    assert all("→ FAIL" not in line for line in summary.values()), summary
