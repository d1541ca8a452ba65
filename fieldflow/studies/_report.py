"""What a study hands a person: findings with verdicts, and tables with units and run metadata.

A study's summary is a list of :class:`Finding` s — each one the quantity, its value and unit, the
reference it is compared with, and a verdict (``pass``, ``approximate``, ``fail``).  The verdict is
decided here, from the value, the reference and a stated tolerance, never written by hand.  Its tables
are written by :func:`write_table`: no float noise (``0.8999999999999999`` is written ``0.9``), ranges
as two numeric columns, and a sidecar ``NAME.json`` next to ``NAME.csv`` with each column's unit and
meaning and the run's metadata (study, fieldflow version, commit, date, quick/full, machine,
parameters).

Adopting it in a study (the recipe)::

    from . import _report as report

    info = report.RunInfo.create("my_study", quick, n=n, t_end=t_end)      # parameters worth keeping
    report.write_table(out / "rates.csv", rows, {"rate": ("1/time", "fitted KL decay rate"), ...}, info)
    findings = [report.compare("KL decay rate", fit.rate, 2 * gap, against="2·gap", rtol=1e-3, unit="1/time"),
                report.fitted_rate("KL decay rate", fit, 2 * gap, against="2·gap", rtol=1e-3)]
    return report.finish(out, findings, info)                               # findings.json + summary dict

``finish`` returns the ``{quantity: line}`` dictionary that ``run`` returns to the command line, e.g.::

    KL decay rate, V = x²: 3.9971 1/time vs 2·gap = 3.9971 (rel. diff 7.5e-6, tol 1e-3) → PASS

Tolerances are the study's claim, stated once where the finding is made; a fit (:class:`RateFit`) adds
its R², window and whether the window looked pre-asymptotic, and a poor fit is never a ``PASS``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .. import __version__
from ..core.trajectory import RateFit

__all__ = ["PASS", "APPROX", "FAIL", "Finding", "RunInfo", "compare", "bound", "check", "fitted_rate",
           "clean_number", "write_table", "finish", "announce"]

PASS, APPROX, FAIL = "pass", "approximate", "fail"
_VERDICTS = (PASS, APPROX, FAIL)
#: R² below which a fitted rate is at best approximate
MIN_R_SQUARED = 0.99


def _fmt(x: Any, digits: int = 5) -> str:
    """A number with ``digits`` significant digits (integers and strings as they are)."""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.{digits}g}"
    return str(x)


@dataclass(frozen=True)
class Finding:
    """One result of a study: the quantity, its value, what it is compared with, and the verdict.

    Attributes
    ----------
    quantity : str
        What was measured, readable without the docs (``"KL decay rate, double well"``).
    value : float or str
        The measured value.
    reference : str
        What it is compared with, with the comparison and its tolerance
        (``"2·gap = 0.6656 (rel. diff 1e-4, tol 1e-3)"``).
    verdict : str
        ``"pass"``, ``"approximate"`` or ``"fail"``.
    unit : str
        Unit of ``value`` (``""`` for a pure number).
    note : str
        Anything a reader needs to judge the verdict (fit window, R², why a tolerance).
    """

    quantity: str
    value: float | str
    reference: str
    verdict: str
    unit: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in _VERDICTS:
            raise ValueError(f"verdict must be one of {_VERDICTS}, got {self.verdict!r}")
        if not self.quantity or not self.reference:
            raise ValueError("a finding needs a quantity and a reference to compare with")

    def line(self) -> str:
        """``value unit vs reference → VERDICT (note)``: the summary line without the quantity."""
        unit = f" {self.unit}" if self.unit else ""
        note = f"; {self.note}" if self.note else ""
        return f"{_fmt(self.value)}{unit} vs {self.reference} → {self.verdict.upper()}{note}"

    def __str__(self) -> str:
        return f"{self.quantity}: {self.line()}"


def compare(quantity: str, value: float, reference: float, *, against: str, rtol: float,
            approx_rtol: float | None = None, atol: float = 0.0, unit: str = "", note: str = "") -> Finding:
    """``value`` against ``reference``: ``pass`` within ``rtol`` (relative; plus ``atol``), ``approximate``
    within ``approx_rtol`` (default ``10·rtol``), ``fail`` beyond."""
    approx_rtol = 10 * rtol if approx_rtol is None else approx_rtol
    diff = abs(value - reference)
    rel = diff / abs(reference) if reference != 0 else math.inf
    if not (math.isfinite(value) and math.isfinite(reference)):
        verdict = FAIL
    elif diff <= atol + rtol * abs(reference):
        verdict = PASS
    elif diff <= atol + approx_rtol * abs(reference):
        verdict = APPROX
    else:
        verdict = FAIL
    what = f"rel. diff {rel:.1e}" if reference != 0 else f"diff {diff:.1e}"
    text = f"{against} = {_fmt(reference)} ({what}, tol {rtol:.0e})"
    return Finding(quantity, float(value), text, verdict, unit, note)


def bound(quantity: str, value: float, limit: float, *, kind: str, against: str, slack: float = 0.0,
          unit: str = "", note: str = "") -> Finding:
    """``value`` against a bound: ``kind="≤"`` passes for ``value ≤ limit``, ``"≥"`` for ``value ≥ limit``;
    within ``slack`` (relative) on the wrong side it is ``approximate``, beyond it ``fail``."""
    if kind not in ("≤", "≥"):
        raise ValueError(f"kind must be '≤' or '≥', got {kind!r}")
    sign = 1.0 if kind == "≤" else -1.0
    excess = sign * (value - limit)
    if not math.isfinite(value):
        verdict = FAIL
    elif excess <= 0:
        verdict = PASS
    elif excess <= slack * abs(limit):
        verdict = APPROX
    else:
        verdict = FAIL
    slack_text = f", slack {slack:.0e}" if slack else ""
    return Finding(quantity, float(value), f"{kind} {_fmt(limit)} ({against}{slack_text})", verdict, unit, note)


def check(quantity: str, value: Any, ok: bool, *, reference: str, unit: str = "", note: str = "") -> Finding:
    """A yes/no claim (``entropy non-increasing``): ``pass`` if ``ok`` else ``fail``."""
    return Finding(quantity, value if isinstance(value, str) else _fmt(value), reference, PASS if ok else FAIL,
                   unit, note)


def fitted_rate(quantity: str, fit: RateFit, reference: float, *, against: str, rtol: float = 0.0,
                approx_rtol: float | None = None, kind: str = "=", slack: float = 0.0, unit: str = "1/time",
                note: str = "") -> Finding:
    """A fitted exponential rate against a reference value (``kind="="``, see :func:`compare`) or a bound
    (``kind="≥"``/``"≤"``, see :func:`bound`), reporting the fit's window and R².

    A fit with ``R² < MIN_R_SQUARED`` or a pre-asymptotic window (:attr:`RateFit.pre_asymptotic`) is at
    best ``approximate``, whatever the agreement: the number is not the rate it claims to be.
    """
    if kind == "=":
        base = compare(quantity, fit.rate, reference, against=against, rtol=rtol, approx_rtol=approx_rtol, unit=unit)
    else:
        base = bound(quantity, fit.rate, reference, kind=kind, against=against, slack=slack, unit=unit)
    notes = [f"fit on t ∈ [{_fmt(fit.window[0], 3)}, {_fmt(fit.window[1], 3)}], R² = {fit.r_squared:.4f}"]
    verdict = base.verdict
    if fit.r_squared < MIN_R_SQUARED:
        notes.append(f"R² < {MIN_R_SQUARED}: not a single exponential")
    if getattr(fit, "pre_asymptotic", False):
        notes.append(f"window pre-asymptotic (its halves decay at {fit.half_rates[0]:.3g} and {fit.half_rates[1]:.3g})")
    if len(notes) > 1 and verdict == PASS:
        verdict = APPROX
    if note:
        notes.append(note)
    return Finding(base.quantity, base.value, base.reference, verdict, unit, "; ".join(notes))


# ---------------------------------------------------------------------------------------------- tables
def clean_number(x: Any, digits: int = 10) -> Any:
    """``x`` as written in a table: floats rounded to ``digits`` significant digits (no float noise),
    NumPy scalars as Python numbers, booleans as they are, anything else unchanged."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return float(f"{x:.{digits}g}") if math.isfinite(x) else x
    return x


def _commit() -> str:
    from ..cli import _commit as commit  # lazy: the CLI imports the studies

    return commit()


@dataclass(frozen=True)
class RunInfo:
    """Metadata of one study run, written next to every table it produces."""

    study: str
    mode: str
    fieldflow: str
    commit: str
    date: str
    machine: str
    parameters: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(cls, study: str, quick: bool, **parameters: Any) -> "RunInfo":
        """The run of ``study`` now, on this machine (``parameters``: the resolution and settings used)."""
        return cls(study, "quick" if quick else "full", __version__, _commit(),
                   datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
                   f"{platform.node() or 'unknown host'}, {os.cpu_count()} cores, Python {platform.python_version()}",
                   {k: clean_number(v) if np.ndim(v) == 0 else np.asarray(v).tolist() for k, v in parameters.items()})


def write_table(path: str | Path, rows: Sequence[Mapping[str, Any]], columns: Mapping[str, tuple[str, str]],
                info: RunInfo, digits: int = 10) -> Path:
    """Write ``rows`` to the CSV ``path`` and the sidecar ``path.with_suffix(".json")``.

    Parameters
    ----------
    rows : sequence of mappings
        One mapping per row, with exactly the keys of ``columns``.
    columns : mapping name → (unit, meaning)
        Every column's unit (``""`` for a pure number) and one-line meaning; the CSV's columns in this order.
    info : RunInfo
        The run's metadata, stored in the sidecar.
    digits : int
        Significant digits of floats (10: round-off noise gone, every digit that carries information kept).

    Raises
    ------
    ValueError
        If a row lacks a column or has one that ``columns`` does not describe.
    """
    path = Path(path)
    names = list(columns)
    for i, row in enumerate(rows):
        if set(row) != set(names):
            missing, extra = sorted(set(names) - set(row)), sorted(set(row) - set(names))
            raise ValueError(f"row {i} of {path.name}: columns missing {missing}, undescribed {extra}; "
                             "describe every column as name: (unit, meaning)")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(names)
        writer.writerows([[clean_number(row[n], digits) for n in names] for row in rows])
    sidecar = {"table": path.name, "columns": {n: {"unit": u, "meaning": m} for n, (u, m) in columns.items()},
               "run": asdict(info)}
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def finish(out: str | Path, findings: Iterable[Finding], info: RunInfo) -> dict[str, str]:
    """Write ``findings.json`` into ``out`` and return the summary ``{quantity: line}`` for the command line."""
    findings = list(findings)
    names = [f.quantity for f in findings]
    if len(set(names)) != len(names):
        raise ValueError(f"two findings share a quantity name: {sorted(n for n in names if names.count(n) > 1)}")
    data = {"run": asdict(info), "findings": [asdict(f) for f in findings]}
    Path(out, "findings.json").write_text(json.dumps(data, indent=1, ensure_ascii=False, default=clean_number) + "\n",
                                          encoding="utf-8")
    return {f.quantity: f.line() for f in findings}


def announce(study: str, case: str) -> None:
    """One line naming the part of a study that starts: the trace of the run when progress bars are off
    (output not a terminal); on a terminal the bars that follow are named by their case (``evolve(label=)``,
    ``sweep(label=)``, :func:`fieldflow.core.sweep.case_progress`)."""
    print(f"[{study}] {case}", flush=True)
