"""The ``fieldflow`` command: list and run the studies.

  fieldflow studies                          list the studies with their expected run times
  fieldflow run NAME [NAME ...] --out DIR    run some (quick; --full for full resolution)
  fieldflow run --default --out DIR          run the default set
  fieldflow --version

Each study writes its figures (PNG) and tables (CSV) into DIR/NAME and appends its results, under a
header naming the version, commit, date, mode and machine, to DIR/summary.txt.
"""

from __future__ import annotations

import argparse
import difflib
import os
import platform
import subprocess
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime, timezone
from pathlib import Path

from . import __version__, studies

__all__ = ["main", "run_studies", "run_study_script", "run_header"]


class UsageError(Exception):
    """A command line that cannot be run; reported in one line with exit code 2."""


def _commit() -> str:
    """The git commit of the package's checkout (``"unknown"`` for an installed copy)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if out.returncode != 0:
        return "unknown"
    dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=5).stdout.strip()
    return out.stdout.strip() + ("+changes" if dirty else "")


def run_header(names: list[str], quick: bool) -> str:
    """The header of one run's block in ``summary.txt``: version, commit, date, mode, machine."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    machine = f"{platform.node() or 'unknown host'}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return (f"# fieldflow {__version__} (commit {_commit()}) — {now} — {'quick' if quick else 'full'} run of "
            f"{len(names)} stud{'y' if len(names) == 1 else 'ies'} — {machine}")


def _run_one(name: str, out: Path, quick: bool) -> tuple[str, str, float, dict[str, str], str]:
    """Run one study; never raises. Returns (name, status, wall seconds, summary, error text)."""
    module = studies.load(name)
    t0 = time.perf_counter()
    try:
        summary, status, error = module.run(out / name, quick=quick), "ok", ""
    except Exception:  # keep going: one broken study must not lose the others
        summary, status, error = {}, "FAILED", traceback.format_exc()
    return name, status, time.perf_counter() - t0, dict(summary), error


def _block(name: str, status: str, wall: float, summary: dict[str, str], out: Path) -> str:
    lines = [f"== {name} [{status}, {wall:.1f} s] -> {out / name}"]
    lines += [f"   {k}: {v}" for k, v in summary.items()]
    return "\n".join(lines) + "\n"


def run_studies(names: list[str], out: Path, quick: bool = True, jobs: int = 1) -> int:
    """Run studies into ``out/NAME`` and append their results to ``out/summary.txt``; returns the number failed.

    Each study's block is printed and appended as soon as it finishes, so an interrupted run keeps the
    studies that completed.  ``jobs > 1`` runs that many studies in parallel processes.
    """
    out.mkdir(parents=True, exist_ok=True)
    summary_path = out / "summary.txt"
    header = run_header(names, quick)
    with summary_path.open("a", encoding="utf-8") as f:
        f.write(("\n" if summary_path.stat().st_size else "") + header + "\n")
    print(header, flush=True)
    failed = 0

    def report(result: tuple[str, str, float, dict[str, str], str]) -> None:
        nonlocal failed
        name, status, wall, summary, error = result
        if error:
            print(error, file=sys.stderr, end="", flush=True)
        failed += status != "ok"
        text = _block(name, status, wall, summary, out)
        with summary_path.open("a", encoding="utf-8") as f:
            f.write(text)
        print(text, end="", flush=True)

    if jobs <= 1 or len(names) == 1:
        for name in names:
            print(f"[fieldflow] {name}: {studies.load(name).TITLE}", flush=True)
            report(_run_one(name, out, quick))
    else:
        with ProcessPoolExecutor(max_workers=min(jobs, len(names))) as pool:
            futures = [pool.submit(_run_one, name, out, quick) for name in names]
            print(f"[fieldflow] running {len(names)} studies, {min(jobs, len(names))} at a time", flush=True)
            for future in as_completed(futures):
                report(future.result())
    print(f"[fieldflow] {len(names) - failed} of {len(names)} studies ok; results appended to {summary_path}",
          flush=True)
    return failed


def _check_names(names: list[str], found: dict) -> None:
    for name in names:
        if name not in found:
            close = difflib.get_close_matches(name, list(found), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"no study {name!r}{hint} (`fieldflow studies` lists them)")


def run_study_script(name: str) -> None:
    """Entry point of the top-level ``studies/NAME.py`` scripts."""
    parser = argparse.ArgumentParser(description=studies.load(name).TITLE)
    parser.add_argument("--out", default="results", help="output folder; the study writes into OUT/NAME")
    parser.add_argument("--full", action="store_true", help="full resolution (slow) instead of quick")
    args = parser.parse_args()
    sys.exit(1 if run_studies([name], Path(args.out), quick=not args.full) else 0)


def _expected(module: object, quick: bool) -> str:
    seconds = getattr(module, "EXPECTED_SECONDS", None)
    if not seconds:
        return "?"
    s = seconds[0 if quick else 1]
    return f"~{s:.0f} s" if s < 120 else f"~{s / 60:.0f} min"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fieldflow", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"fieldflow {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("studies", help="list the studies with their expected run times")
    run = sub.add_parser("run", help="run studies")
    run.add_argument("names", nargs="*", help="study names (see: fieldflow studies)")
    run.add_argument("--default", action="store_true", help="run the default set")
    run.add_argument("--out", default="results", help="output folder (default: results)")
    run.add_argument("--full", action="store_true", help="full resolution instead of quick")
    run.add_argument("--jobs", type=int, default=1, metavar="N", help="run N studies in parallel (default: 1)")
    args = parser.parse_args(argv)
    found = studies.available()
    if args.command == "studies":
        print(f"{'study':32s} {'default':8s} {'quick':>8s} {'full':>8s}  title")
        for name, module in sorted(found.items()):
            default = "yes" if getattr(module, "DEFAULT", False) else ""
            print(f"{name:32s} {default:8s} {_expected(module, True):>8s} {_expected(module, False):>8s}  "
                  f"{module.TITLE}")
        return
    names = list(args.names)
    if args.default:
        names += [n for n, m in sorted(found.items()) if getattr(m, "DEFAULT", False) and n not in names]
    try:
        if not names:
            raise UsageError("name at least one study, or pass --default (`fieldflow studies` lists them)")
        _check_names(names, found)
        if args.jobs < 1:
            raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    except UsageError as exc:
        print(f"fieldflow: error: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.exit(1 if run_studies(names, Path(args.out), quick=not args.full, jobs=args.jobs) else 0)


if __name__ == "__main__":
    main()
