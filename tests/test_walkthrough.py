"""The newcomer walkthrough (docs/walkthrough.rst) runs as written: its console commands (all but the install,
which CI runs before the tests), its script, and the numbers it shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "walkthrough.rst").read_text()


def _blocks(language: str) -> list[str]:
    """The bodies of the page's ``.. code-block:: language`` directives, dedented."""
    out = []
    for match in re.finditer(rf"\.\. code-block:: {language}\n\n((?:   .*\n|\n)+)", PAGE):
        out.append("\n".join(line[3:] for line in match.group(1).splitlines()).strip() + "\n")
    return out


@pytest.mark.slow
def test_the_walkthrough_runs_as_written(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    installed = Path(sys.executable).parent / "fieldflow"
    shim = bin_dir / "fieldflow"  # the console script `pip install .` creates, for a checkout run without installing
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m fieldflow.cli \"$@\"\n")
    shim.chmod(0o755)
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    env["PATH"] = f"{installed.parent if installed.exists() else bin_dir}{os.pathsep}{env['PATH']}"
    commands = [line[2:] for block in _blocks("console") for line in block.splitlines() if line.startswith("$ ")]
    assert commands[0].startswith("python3 -m venv") and "pip install ." in commands[0]
    outputs = {}
    for command in commands[1:]:
        run = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, (command, run.stderr[-2000:])
        outputs[command] = run.stdout
    assert "fokker_planck_lsi" in outputs["fieldflow studies"]
    summary = outputs["cat results/summary.txt"]
    shown = _blocks("text")[0]
    assert summary.startswith("# fieldflow ") and "quick run of 1 study" in summary
    line = next(l for l in shown.splitlines() if "double well" in l)
    assert line.split(":")[0].strip() in summary  # the finding the page explains is in the real summary
    assert all(l.endswith("PASS") or "→ PASS;" in l for l in summary.splitlines() if "fitted rate" in l)
    assert "rates.json" in outputs["ls results/fokker_planck_lsi"] and "kl_decay.png" in outputs["ls results/fokker_planck_lsi"]
    assert outputs["head -3 results/fokker_planck_lsi/rates.csv"].startswith("target,fitted_rate,fit_t0,fit_t1")
    # the image the page embeds is the study's figure (refreshed from a quick run)
    assert (ROOT / "docs" / "_static" / "studies" / "fokker_planck_lsi" / "kl_decay.png").exists()

    script = tmp_path / "barrier.py"
    script.write_text(_blocks("python")[0])
    run = subprocess.run([sys.executable, "-W", "error::UserWarning", str(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    numbers = re.compile(r"barrier ([\d.]+): fitted rate ([\d.]+), 2·gap = ([\d.]+), R² ([\d.]+)")
    got, expected = numbers.findall(run.stdout), numbers.findall(_blocks("text")[1])
    assert len(got) == len(expected) == 2
    for g, e in zip(got, expected):  # the page's numbers, to the digits it prints
        assert g == e, (g, e)
        assert abs(float(g[1]) / float(g[2]) - 1) < 1e-3
    assert (tmp_path / "kl_barrier_2.png").stat().st_size > 5000
