"""The worked example of ``docs/design.rst`` (``docs/examples/new_particle_method.py``) runs as shown and is right.

For ``dx/dt = −k x`` (each particle's offset from the conserved mean) Heun's step multiplies by
``R(z) = 1 − z + z²/2``, ``z = k dt``, so after ``n = T/dt`` steps the largest error is exactly
``max|x0 − x̄| · |R(z)^n − e^{−kT}|``: checked to round-off, for both step sizes of the example.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "new_particle_method.py"


def test_the_design_example_runs_and_is_heun_on_the_exact_solution(capsys):
    ns = runpy.run_path(str(EXAMPLE))
    traj, x0, mean = ns["traj"], ns["x0"], ns["mean"]
    assert traj.info["status"] == "done" and traj.info["method"] == "heun"
    np.testing.assert_allclose(traj.times, [0.0, 0.25, 0.5, 0.75, 1.0])
    assert np.max(np.abs(traj["mean_0"] - mean[0])) < 1e-14  # the conserved mean (also checked by evolve)
    spread = np.max(np.abs(x0 - mean))
    for dt, error in ns["errors"].items():
        z, n = 2.0 * dt, round(1.0 / dt)
        assert abs(error - spread * abs((1 - z + z * z / 2) ** n - np.exp(-2.0))) < 1e-12
    assert 3.9 < ns["errors"][0.05] / ns["errors"][0.025] < 4.3
    assert "done" in capsys.readouterr().out


def test_the_design_page_shows_the_example_in_full():
    page = (EXAMPLE.parents[1] / "design.rst").read_text(encoding="utf-8")
    assert ".. literalinclude:: examples/new_particle_method.py" in page
