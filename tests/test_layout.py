"""The layout's rules, checked on the source: what may import what.

* nothing under ``fieldflow/core/`` imports an equation family (or the shared targets, studies, CLI);
* a family imports another family only through its public package (``fieldflow.svgd``), never its
  internals (``fieldflow.svgd.pde``) — and today no family needs another at all;
* nothing under ``fieldflow/`` except the CLI and ``plotting`` imports matplotlib at module level;
* every 0.1 import path still works, with a ``DeprecationWarning`` naming the new one.
"""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path

import pytest

import fieldflow
from fieldflow._compat import MOVED

PACKAGE = Path(fieldflow.__file__).parent
FAMILIES = ("fokker_planck", "svgd", "mckean_vlasov", "landau", "polchinski")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool = False) -> list[tuple[str, int]]:
    """Absolute module names imported by ``path`` (relative imports resolved), with line numbers."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    nodes = tree.body if top_level_only else ast.walk(tree)
    out = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((module, node.lineno))
            # names imported from a package that are its submodules (``from . import particles``)
            out += [(f"{module}.{alias.name}", node.lineno) for alias in node.names
                    if _is_module(f"{module}.{alias.name}")]
    return out


def _is_module(name: str) -> bool:
    """Whether ``name`` (``fieldflow.…``) is a module or package of the source tree."""
    if not name.startswith("fieldflow."):
        return False
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def _family(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "fieldflow" and parts[1] in FAMILIES else None


def test_the_core_imports_no_family():
    allowed = ("fieldflow.core", "fieldflow._compat")
    bad = [f"{p.relative_to(PACKAGE)}:{line} imports {m}" for p in _sources(PACKAGE / "core")
           for m, line in _imports(p) if m.startswith("fieldflow") and not m.startswith(allowed)
           and m != "fieldflow"]
    # the plotting helpers are imported lazily inside Trajectory.plot: what a person touches, not a family
    bad = [b for b in bad if not b.endswith("imports fieldflow.plotting") and "fieldflow.plotting." not in b]
    assert not bad, "the core must not import families or shared targets:\n" + "\n".join(bad)


def test_families_import_no_other_familys_internals():
    bad = []
    for family in FAMILIES:
        for path in _sources(PACKAGE / family):
            for module, line in _imports(path):
                other = _family(module)
                if other is not None and other != family and module.count(".") > 1:
                    bad.append(f"{path.relative_to(PACKAGE)}:{line} imports {module}")
    assert not bad, "a family may use another only through its public package:\n" + "\n".join(bad)


def test_shared_targets_import_only_the_core():
    bad = [f"{name}:{line} imports {m}" for name in ("potentials.py", "densities.py")
           for m, line in _imports(PACKAGE / name) if _family(m)]
    assert not bad, "\n".join(bad)


def test_only_cli_and_plotting_import_matplotlib_at_module_level():
    bad = [f"{p.relative_to(PACKAGE)}:{line}" for p in _sources(PACKAGE)
           if p.name not in ("cli.py", "plotting.py")
           for m, line in _imports(p, top_level_only=True) if m.split(".")[0] == "matplotlib"]
    assert not bad, "matplotlib imported at module level in: " + ", ".join(bad)


def test_import_fieldflow_loads_no_family_and_no_optional_dependency():
    import subprocess
    import sys

    code = ("import sys, fieldflow; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('cupy', 'dask', 'h5py', 'xarray', 'matplotlib') or m.startswith(('fieldflow.svgd', "
            "'fieldflow.landau', 'fieldflow.mckean_vlasov', 'fieldflow.polchinski', 'fieldflow.fokker_planck'))]; "
            "print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("old", sorted(MOVED))
def test_every_old_import_path_works_with_a_deprecation_warning(old):
    import sys

    for name in [m for m in sys.modules if m == old or m.startswith(old + ".")]:
        if name in MOVED:
            del sys.modules[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert any(issubclass(w.category, DeprecationWarning) and old in str(w.message) for w in caught)
    new = MOVED[old]
    if new is not None:
        target = importlib.import_module(new)
        public = [n for n in getattr(target, "__all__", []) if not n.startswith("_")]
        assert public, f"{new} declares no public names"
        assert all(getattr(module, n) is getattr(target, n) for n in public)


def test_old_top_level_names_warn_and_resolve():
    import fieldflow as ff

    with pytest.warns(DeprecationWarning, match="fieldflow.svgd.LocalSVGDFlow"):
        cls = ff.LocalSVGDFlow
    assert cls is ff.svgd.LocalSVGDFlow
    with pytest.warns(DeprecationWarning, match="fieldflow.svgd.kernels"):
        assert ff.kernels.Bessel is ff.svgd.Bessel
