"""The project's own docs are the reference for its equations: nothing cites the unshipped design notes.

Every source, test, benchmark, study and docs page that names a convention points at a section of
``docs/conventions.rst`` (``:ref:`conventions-…``` in docstrings and pages, "docs/conventions.rst,
section …" in comments); each of those labels must exist, and every family has its section.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("fieldflow", "docs", "tests", "benchmarks", "studies", "README.md")
#: spelled in two pieces so that this file does not match itself
NOTES = "DESIGN" + ".md"
TEXT_SUFFIXES = {".py", ".rst", ".md", ".txt", ".toml", ".cfg", ".ini", ".yml", ".yaml"}
FAMILY_LABELS = ("conventions-fokker-planck", "conventions-svgd", "conventions-mckean-vlasov",
                 "conventions-linearized-mckean-vlasov", "conventions-polchinski", "conventions-landau")


def _files():
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from (p for p in sorted(path.rglob("*")) if p.is_file() and p.suffix in TEXT_SUFFIXES
                        and "_build" not in p.parts and "__pycache__" not in p.parts)


def _labels() -> set[str]:
    text = (ROOT / "docs" / "conventions.rst").read_text(encoding="utf-8")
    return set(re.findall(r"^\.\. _([\w-]+):\s*$", text, flags=re.M))


def test_nothing_cites_the_design_notes():
    pattern = re.compile(NOTES)  # a regular expression, as grep reads it: the dot matches any character
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in _files()
            for i, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
            if pattern.search(line)]
    assert not hits, f"cite a section of docs/conventions.rst instead of the design notes: {hits}"


def test_every_family_has_a_labelled_section():
    missing = set(FAMILY_LABELS) - _labels()
    assert not missing, f"docs/conventions.rst lacks the sections {sorted(missing)}"


def test_every_reference_to_the_conventions_resolves():
    labels = _labels()
    refs = {}
    for p in _files():
        for label in re.findall(r":ref:`(conventions[\w-]*)`", p.read_text(encoding="utf-8", errors="replace")):
            refs.setdefault(label, []).append(str(p.relative_to(ROOT)))
    assert refs, "no :ref: to docs/conventions.rst found; the scan is broken"
    unknown = {label: where for label, where in refs.items() if label not in labels}
    assert not unknown, f"references to labels that docs/conventions.rst does not define: {unknown}"


@pytest.mark.parametrize("page", ["index.rst"])
def test_the_conventions_page_is_in_the_guide(page):
    index = (ROOT / "docs" / page).read_text(encoding="utf-8")
    guide = index.split(":caption: Guide", 1)[1].split(".. toctree::", 1)[0]
    assert re.search(r"^\s+conventions\s*$", guide, flags=re.M)
