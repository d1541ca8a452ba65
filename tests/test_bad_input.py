"""Bad input as a new user gives it, by class: each example fails (or warns) with a message that says what was given,
what is allowed and what to change.  The table of the documentation (``docs/bad_input_table.inc``, included by
``docs/bad_input.rst``) is generated from :data:`CASES` and the messages they produce; a test compares it with the
file (``FIELDFLOW_UPDATE_DOCS=1`` rewrites it).

Every example runs as written in the table (``exec`` of its code), in a fresh folder, so the table cannot drift
from what fieldflow does.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.core.sweep import SweepError
from fieldflow.core.validation import SetupWarning

TABLE = Path(__file__).resolve().parents[1] / "docs" / "bad_input_table.inc"

#: names every example may use
SETUP = """
import numpy as np
import fieldflow as ff
from fieldflow.core.sweep import sweep
grid = ff.Grid.box(n=32, extent=4.0)
pde = ff.FokkerPlanck(grid, ff.potentials.Quadratic(1.0))
rho = ff.densities.gaussian(grid, mean=0.5, cov=0.5)
"""


@dataclass(frozen=True)
class Case:
    """One bad input: its class, the code a user writes, and what must come back (an exception or a warning)."""

    kind: str
    code: str
    error: type
    match: str
    prepare: str = ""  # code run before (writes the files of file cases)


CASES = [
    # ---------------------------------------------------------------- numbers that are not what they look like
    Case("number", "ff.Grid.box(n=10.7, extent=4.0)", ValueError, r"n must be an integer .* got 10.7 \(float\); pass a whole"),
    Case("number", "ff.Grid.box(n=float('nan'), extent=4.0)", ValueError, r"n must be an integer .* got nan"),
    Case("number", "ff.potentials.Banana(a=float('nan'))", ValueError, r"a must be a positive finite number, got nan"),
    Case("number", "ff.FokkerPlanck(grid, ff.potentials.Quadratic(1.0), D=np.array([1.0, 2.0]))", TypeError,
         r"D must be a positive finite number, got an array of shape \(2,\)"),
    Case("number", "ff.FokkerPlanck(grid, ff.potentials.Quadratic(1.0), D='1')", TypeError,
         r"D must be a positive finite number, got '1' \(str\)"),
    Case("number", "ff.mckean_vlasov.Fourier({1: 1 + 1j})", TypeError, r"c_1 must be a finite number, got \(1\+1j\)"),
    Case("number", "ff.Grid.torus(n=True)", TypeError, r"n must be an integer .* got True \(bool\)"),
    # ---------------------------------------------------------------- options out of range or ignored
    Case("option", "ff.evolve(pde, rho, 1.0, rtol=-1e-6)", ValueError, r"rtol must be a positive finite number"),
    Case("option", "ff.evolve(pde, rho, 1.0, method='trbdf', dt=0.1)", ValueError, r"did you mean 'trbdf2'|unknown method"),
    Case("option", "ff.evolve(pde, rho, 1.0, method='ssprk3', rtol=1e-6)", TypeError, r"stepper 'ssprk3' has no option 'rtol'"),
    Case("option", "ff.evolve(pde, rho, 1.0, method='trbdf2', dt=0.1, adaptive=False, rtol=1e-8)", SetupWarning,
         r"adaptive=False takes fixed steps and ignores rtol"),
    Case("option", "ff.evolve(pde, rho, 1.0, save_times=[0.5, 2.0])", ValueError, r"save_times must lie in \[0, t_end\]"),
    Case("option", "ff.evolve(pde, rho, 1.0, save_every=0.1, save_times=[0.5])", ValueError,
         r"save_every or save_times, not both"),
    Case("option", "ff.mckean_vlasov.critical_coupling(ff.mckean_vlasov.kuramoto_daido(0.8), n=2)", ValueError,
         r"n must be an integer in \[24, 65536\], got 2"),
    Case("option", "ff.evolve(pde, rho, 1.0, mass_tol=0.0)", ValueError, r"mass_tol must be a finite number ≥ 1e-14"),
    # ---------------------------------------------------------------- physically meaningless set-ups
    Case("set-up", "ff.densities.gaussian(grid, mean=10.0, cov=0.5)", SetupWarning,
         r"mean \[10.0\] lies outside the box .* piled against the wall"),
    Case("set-up", "ff.densities.gaussian(grid, mean=0.0, cov=1e-4)", SetupWarning,
         r"standard deviation .* below half the grid spacing"),
    Case("set-up", "ff.evolve(ff.fokker_planck.Langevin(ff.potentials.Quadratic(1.0)), np.zeros((100, 1)), 300.0, "
                   "dt=3.0, seed=0)", ff.StructureError, r"particles blew up .* reduce dt"),
    Case("set-up", "ff.evolve(pde, -rho, 1.0)", ValueError, r"initial density is negative in 32 cells"),
    # ---------------------------------------------------------------- runs that would never end
    Case("never ends", "ff.evolve(pde, rho, 1.0, save_every=1e-7)", ValueError,
         r"asks for 1e\+07 snapshots .* save less often"),
    Case("never ends", "ff.evolve(pde, rho, 1.0, method='euler', dt=1e-8)", ValueError,
         r"t_end/dt = 1/1e-08 is 1e\+08 steps, more than the 1e\+07 .* max_steps"),
    Case("never ends", "ff.evolve(ff.FokkerPlanck(ff.Grid.box(4096, 4.0), ff.potentials.Quadratic(1.0)), "
                       "ff.densities.gaussian(ff.Grid.box(4096, 4.0)), 1e4, method='ssprk3')", ValueError,
         r"explicit method 'ssprk3' would take about .* steps .* use evolve\(\.\.\., method="),
    # ---------------------------------------------------------------- files
    Case("file", "ff.Trajectory.load('run.npz')", ValueError,
         r"run.npz is not a fieldflow trajectory: it is not a readable .npz file",
         "open('run.npz', 'wb').write(b'PK garbage')"),
    Case("file", "ff.Trajectory.load('foreign.npz')", ValueError, r"foreign.npz is not a fieldflow trajectory: it has no 'info'",
         "np.savez('foreign.npz', a=np.ones(3))"),
    Case("file", "ff.evolve(pde, rho, 2.0, checkpoint='run.npz', resume=True)", ValueError,
         r"checkpoint run.npz cannot be used: it is not a readable .npz file",
         "ff.evolve(pde, rho, 1.0, checkpoint='run.npz'); "
         "data = open('run.npz', 'rb').read(); open('run.npz', 'wb').write(data[: len(data) // 2])"),
    Case("file", "ff.evolve(pde, rho, 2.0, checkpoint='run.npz', resume=True)", ValueError,
         r"the array 'state' fails its SHA-256 checksum",
         "ff.evolve(pde, rho, 1.0, checkpoint='run.npz'); d = dict(np.load('run.npz')); "
         "d['state'] = d['state'] * (1 + 1e-12); np.savez('run.npz', **d)"),
    Case("file", "ff.evolve(pde, rho, 0.5, checkpoint='run.npz', resume=True)", ValueError,
         r"is at t=1, beyond t_end=0.5: .* resume with t_end ≥ 1", "ff.evolve(pde, rho, 1.0, checkpoint='run.npz')"),
    Case("file", "ff.evolve(pde, rho, 1.0, resume=True)", ValueError, r"resume=True needs checkpoint=path"),
    Case("file", "ff.evolve(pde, rho, 1.0, checkpoint='notes.txt/run.npz')", ValueError,
         r"needs the folder 'notes.txt', but that is a regular file", "open('notes.txt', 'w').write('x')"),
    # ---------------------------------------------------------------- sweeps
    Case("sweep", "sweep(np.log, [1.0, 'two', 3.0], executor='serial')", SweepError,
         r"1 of 3 sweep points failed .* the other 2 results are in .results"),
]

KINDS = {"number": "Numbers that are not what they look like", "option": "Options out of range, unknown or ignored",
         "set-up": "Physically meaningless set-ups", "never ends": "Runs that would never end", "file": "Files",
         "sweep": "Sweeps"}


def run_case(case: Case, folder: Path) -> tuple[type, str]:
    """Run ``case`` in ``folder``; the exception (or warning) type it gives and its message."""
    namespace: dict = {}
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        exec(SETUP, namespace)
        if case.prepare:
            exec(case.prepare, namespace)
        with warnings.catch_warnings():
            warnings.simplefilter("error", SetupWarning)
            try:
                exec(case.code, namespace)
            except Exception as exc:  # noqa: BLE001 - what comes back is what the table shows
                return type(exc), str(exc)
    finally:
        os.chdir(cwd)
    return type(None), "(no error)"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}-{i}" for i, c in enumerate(CASES)])
def test_bad_input_gives_a_message_that_says_what_to_change(case, tmp_path):
    error, message = run_case(case, tmp_path)
    assert issubclass(error, case.error), (error, message)
    assert re.search(case.match, message, flags=re.S), message


def _first_line(message: str) -> str:
    return message.splitlines()[0]


def render_table(rows: list[tuple[str, str, str, str]]) -> str:
    """The RST list table of the docs: class, example, what comes back, message."""
    out = [".. list-table::", "   :header-rows: 1", "   :widths: 14 38 10 38", "",
           "   * - class", "     - example", "     - raises", "     - message"]
    for kind, code, error, message in rows:
        out += [f"   * - {kind}", f"     - ``{code}``", f"     - ``{error}``", f"     - {_rst_text(message)}"]
    return "\n".join(out) + "\n"


def _rst_text(message: str) -> str:
    """A message as inline RST text (literal, so that `*`, backquotes and underscores stay as written)."""
    return "``" + message.replace("``", "` `") + "``"


def test_the_documentation_table_is_generated_from_these_cases(tmp_path):
    rows = []
    for i, case in enumerate(CASES):
        folder = tmp_path / str(i)
        folder.mkdir()
        error, message = run_case(case, folder)
        rows.append((KINDS[case.kind], case.code, error.__name__, _first_line(message)))
    table = render_table(rows)
    if os.environ.get("FIELDFLOW_UPDATE_DOCS"):
        TABLE.write_text(table)
    assert TABLE.read_text() == table, ("docs/bad_input_table.inc is out of date: run "
                                        "FIELDFLOW_UPDATE_DOCS=1 pytest tests/test_bad_input.py")


def test_every_class_of_the_issue_has_cases():
    counts = {kind: sum(c.kind == kind for c in CASES) for kind in KINDS}
    assert all(n >= 1 for n in counts.values()) and len(CASES) >= 30, counts
