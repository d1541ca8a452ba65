"""The documentation builds clean with ``-n -W`` and renders its maths offline.

The build (or the one CI made, named by ``FIELDFLOW_DOCS_HTML``) must load MathJax only from its own ``_static``
folder — no page may load a script or a stylesheet from the network.  Where a headless Chromium is installed,
a page is opened from disk with the network unreachable by construction (``file://``) and its equations must
have been typeset (MathJax replaces the TeX by ``mjx-container`` elements).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    given = os.environ.get("FIELDFLOW_DOCS_HTML")
    if given:
        return Path(given).resolve()  # CI passes a path relative to the repository (file:// URIs need it absolute)
    pytest.importorskip("sphinx")
    out = tmp_path_factory.mktemp("html")
    run = subprocess.run([sys.executable, "-m", "sphinx", "-n", "-W", "--keep-going", "-q", "-b", "html",
                          str(ROOT / "docs"), str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    return out


@pytest.mark.slow
def test_pages_load_mathjax_and_everything_else_from_the_build_itself(html):
    mathjax = html / "_static" / "mathjax" / "tex-chtml.js"
    assert mathjax.stat().st_size > 100_000, "MathJax is not bundled into the build (sphinx-mathjax-offline)"
    assert (html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    pages = sorted(html.rglob("*.html"))
    remote = re.compile(r"<(?:script|link)[^>]+(?:src|href)=\"(?:https?:)?//[^\"]+\"")
    with_maths = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not remote.search(text), f"{page.relative_to(html)} loads {remote.search(text).group(0)}"
        if "\\(" in text or "\\[" in text:
            with_maths += 1
            assert "_static/mathjax/tex-chtml.js" in text, page.relative_to(html)
    assert with_maths >= 10


@pytest.mark.slow
def test_equations_are_typeset_in_a_page_opened_from_disk(html):
    browser = next((shutil.which(b) for b in ("chromium-headless-shell", "chromium", "google-chrome") if shutil.which(b)),
                   None)
    if browser is None:
        pytest.skip("no headless Chromium here (apt-get install chromium-headless-shell)")
    page = html / "equations" / "fokker_planck.html"
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert dom.count("<mjx-container") >= 10, "equations were not typeset offline"
