"""benchmarks/gpu_validate.py runs end to end on the CPU (``--dry-run``: the strict CuPy stand-in, small sizes)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_validate.py"


def _script():
    spec = importlib.util.spec_from_file_location("gpu_validate", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dry_run_writes_every_section(tmp_path, capsys):
    """All solver sections produce rows (no error), GPU and NumPy agree, and the table and JSON are written.

    The ``tests`` section (a pytest subprocess) is left out here; the stand-in is removed afterwards.
    """
    gpu_validate = _script()
    before = sys.modules.get("cupy")
    assert gpu_validate.main(["--dry-run", "--skip", "tests", "--out", str(tmp_path)]) == 0
    assert sys.modules.get("cupy") is before
    report = json.loads((tmp_path / "gpu_validate.json").read_text())
    sections = report["sections"]
    assert set(sections) == set(gpu_validate.SECTIONS) - {"tests"}
    errors = {name: entry["error"] for name, entry in sections.items() if "error" in entry}
    assert not errors, errors
    rows = [r for name in ("fft", "mckean_vlasov", "fokker_planck", "landau", "svgd", "blob_pairs")
            for r in sections[name]["result"]]
    assert len(rows) == 14  # 3 FFT sizes, 1 McKean–Vlasov, 3 Fokker–Planck TR-BDF2 + 3 krylov-exp, 2 Landau, 1 SVGD, 1 pair sum
    for r in rows:  # the stand-in computes what NumPy does: only FFT providers' round-off differs, except where the
        # backends' default solvers differ (multigrid CG to relative residual 1e-10 against LU: a few steps, κ ≲ 10)
        assert r["rel_diff"] < (1e-8 if "CPU sparse LU" in r.get("note", "") else 1e-12), r
    blob = sections["coulomb_blob"]["result"]
    assert blob["blob_over_r_exact"] == pytest.approx(1.0, abs=0.05)  # the blob's own ε-limit, N ≈ 10³
    table = (tmp_path / "gpu_validate.md").read_text()
    assert "Dry run" in table and "| Landau Coulomb rhs |" in table and "Raw blob/grid" in table


def test_bad_section_names_are_refused():
    with pytest.raises(SystemExit):
        _script().main(["--dry-run", "--only", "fft,warp"])
