"""The ``fieldflow`` command: list and run the studies.

``fieldflow studies``                    list them
``fieldflow run NAME [NAME ...] --out DIR [--full]``   run some
``fieldflow run --default --out DIR``     run the default set (quick), then print a summary
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from . import studies

__all__ = ["main", "run_studies", "run_study_script"]


def run_studies(names: list[str], out: Path, quick: bool = True) -> int:
    """Run studies one after another into ``out/NAME``; write ``out/summary.txt``. Returns the number failed."""
    out.mkdir(parents=True, exist_ok=True)
    lines, failed = [], 0
    for name in names:
        module = studies.load(name)
        print(f"[fieldflow] {name}: {module.TITLE}", flush=True)
        t0 = time.perf_counter()
        try:
            summary = module.run(out / name, quick=quick)
            status = "ok"
        except Exception:  # keep going: one broken study must not lose the others
            traceback.print_exc()
            summary, status = {}, "FAILED"
            failed += 1
        wall = time.perf_counter() - t0
        lines.append(f"== {name} [{status}, {wall:.1f} s] -> {out / name}")
        lines += [f"   {k}: {v}" for k, v in summary.items()]
    text = "\n".join(lines) + "\n"
    (out / "summary.txt").write_text(text)
    print("\n" + text, end="")
    return failed


def run_study_script(name: str) -> None:
    """Entry point of the top-level ``studies/NAME.py`` scripts."""
    parser = argparse.ArgumentParser(description=studies.load(name).TITLE)
    parser.add_argument("--out", default="results", help="output folder; the study writes into OUT/NAME")
    parser.add_argument("--full", action="store_true", help="full resolution (slow) instead of quick")
    args = parser.parse_args()
    sys.exit(1 if run_studies([name], Path(args.out), quick=not args.full) else 0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fieldflow", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("studies", help="list the studies")
    run = sub.add_parser("run", help="run studies")
    run.add_argument("names", nargs="*", help="study names (see `fieldflow studies`)")
    run.add_argument("--default", action="store_true", help="run the default set")
    run.add_argument("--out", default="results", help="output folder (default: results)")
    run.add_argument("--full", action="store_true", help="full resolution instead of quick")
    args = parser.parse_args(argv)
    found = studies.available()
    if args.command == "studies":
        for name, module in sorted(found.items()):
            print(f"{name:32s} {'[default] ' if getattr(module, 'DEFAULT', False) else ''}{module.TITLE}")
        return
    names = list(args.names)
    if args.default:
        names += [n for n, m in sorted(found.items()) if getattr(m, "DEFAULT", False) and n not in names]
    if not names:
        parser.error("name at least one study, or pass --default")
    sys.exit(1 if run_studies(names, Path(args.out), quick=not args.full) else 0)


if __name__ == "__main__":
    main()
