"""Study results that explain themselves: findings with verdicts, tables without float noise, with units."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from fieldflow.core.trajectory import RateFit
from fieldflow.studies import _report as report


def test_compare_decides_the_verdict_from_the_stated_tolerance():
    assert report.compare("rate", 1.0005, 1.0, against="exact", rtol=1e-3).verdict == report.PASS
    assert report.compare("rate", 1.005, 1.0, against="exact", rtol=1e-3).verdict == report.APPROX
    assert report.compare("rate", 1.05, 1.0, against="exact", rtol=1e-3).verdict == report.FAIL
    assert report.compare("rate", math.nan, 1.0, against="exact", rtol=1.0).verdict == report.FAIL


def test_a_summary_line_names_value_reference_tolerance_and_verdict():
    f = report.compare("KL decay rate, double well", 0.66562, 0.66555, against="2·gap", rtol=1e-3, unit="1/time")
    line = f.line()
    for part in ("0.66562 1/time", "2·gap = 0.66555", "rel. diff 1.1e-04", "tol 1e-03", "PASS"):
        assert part in line, (part, line)
    assert str(f).startswith("KL decay rate, double well: ")


def test_bounds_and_checks():
    assert report.bound("drift", 1e-15, 1e-12, kind="≤", against="round-off").verdict == report.PASS
    assert report.bound("order", 1.95, 2.0, kind="≥", against="2", slack=0.05).verdict == report.APPROX
    assert report.bound("order", 1.5, 2.0, kind="≥", against="2", slack=0.05).verdict == report.FAIL
    assert report.check("monotone", True, False, reference="H-theorem").verdict == report.FAIL
    with pytest.raises(ValueError, match="kind"):
        report.bound("x", 1.0, 2.0, kind="<", against="y")
    with pytest.raises(ValueError, match="verdict"):
        report.Finding("x", 1.0, "y", "ok")


def test_a_poor_or_pre_asymptotic_fit_is_never_a_pass():
    good = RateFit(0.5, 1.0, (1.0, 5.0), 0.9999, 40, (0.5, 0.5))
    noisy = RateFit(0.5, 1.0, (1.0, 5.0), 0.946, 40, (0.5, 0.5))
    early = RateFit(0.5, 1.0, (1.0, 5.0), 0.9999, 40, (0.6, 0.45))
    assert report.fitted_rate("r", good, 0.5, against="exact", rtol=1e-3).verdict == report.PASS
    bad = report.fitted_rate("r", noisy, 0.5, against="exact", rtol=1e-3)
    assert bad.verdict == report.APPROX and "R² = 0.9460" in bad.note and "not a single exponential" in bad.note
    assert "pre-asymptotic" in report.fitted_rate("r", early, 0.5, against="exact", rtol=1e-3).note
    assert report.fitted_rate("r", early, 0.4, against="bound", kind="≥").verdict == report.APPROX


def test_tables_have_no_float_noise_units_in_a_sidecar_and_refuse_undescribed_columns(tmp_path):
    info = report.RunInfo.create("demo", quick=True, n=np.int64(64), t_end=np.float64(0.1 * 3))
    rows = [{"t": 0.1 * 9, "rate": np.float64(1 / 3), "ok": np.True_}, {"t": 2.0, "rate": 0.25, "ok": False}]
    columns = {"t": ("time", "time"), "rate": ("1/time", "fitted rate"), "ok": ("", "passed")}
    path = report.write_table(tmp_path / "rates.csv", rows, columns, info)
    text = path.read_text()
    assert "0.8999999999999999" not in text and "0.9," in text and "0.3333333333," in text
    assert list(csv.reader(text.splitlines()))[0] == ["t", "rate", "ok"]
    meta = json.loads((tmp_path / "rates.json").read_text())
    assert meta["columns"]["rate"] == {"unit": "1/time", "meaning": "fitted rate"}
    assert meta["run"]["study"] == "demo" and meta["run"]["mode"] == "quick" and meta["run"]["parameters"]["t_end"] == 0.3
    for key in ("fieldflow", "commit", "date", "machine"):
        assert meta["run"][key]
    with pytest.raises(ValueError, match="undescribed \\['extra'\\]"):
        report.write_table(tmp_path / "x.csv", [{**rows[0], "extra": 1}], columns, info)


def test_finish_writes_findings_and_returns_the_summary(tmp_path):
    info = report.RunInfo.create("demo", quick=False)
    findings = [report.compare("a", 1.0, 1.0, against="b", rtol=1e-3), report.bound("c", 0.0, 1.0, kind="≤", against="d")]
    summary = report.finish(tmp_path, findings, info)
    assert list(summary) == ["a", "c"] and all(v.endswith("PASS") for v in summary.values())
    data = json.loads((tmp_path / "findings.json").read_text())
    assert [f["verdict"] for f in data["findings"]] == ["pass", "pass"] and data["run"]["mode"] == "full"
    with pytest.raises(ValueError, match="share a quantity"):
        report.finish(tmp_path, findings + findings[:1], info)
