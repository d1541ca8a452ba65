"""Sphinx configuration for the fieldflow documentation (CI builds it with ``-n -W``: nitpicky, warnings are errors).

Maths is rendered by MathJax 3 served from the built site itself (``sphinx-mathjax-offline`` ships the files and
copies them to ``_static/mathjax``), so equations render with no network.  The theme is Sphinx's built-in
``alabaster`` with ``_static/custom.css``: a wider page and code blocks that scroll instead of being cut off.
"""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "fieldflow"
author = "fieldflow developers"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx-mathjax-offline",  # MathJax 3 bundled with the build: no CDN
]
autodoc_mock_imports = ["cupy", "cupyx", "dask", "distributed", "h5py", "xarray"]
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_ivar = True
# parameter and return types are written as prose ("array of shape (N, d)", "{'numpy', 'cupy'}"): render them as
# text, not as cross-references (a type field turned into references splits such prose into bogus targets)
napoleon_use_param = False
napoleon_use_rtype = False
napoleon_preprocess_types = False
exclude_patterns = ["_build"]

# -n: every cross-reference must resolve.  Types from outside fieldflow (NumPy, the standard library) have no
# inventory offline (no intersphinx: the build needs no network), and NumPy-style docstrings use plain words
# for types ("array", "optional", "callable"); those, and only those, are listed here.
nitpicky = True
nitpick_ignore = [
    ("py:class", name)
    for name in (
        "numpy.ndarray", "ndarray", "np.ndarray", "numpy.random.Generator", "numpy.random._generator.Generator", "numpy.random.bit_generator.SeedSequence",
        "numpy.random.SeedSequence", "pathlib.Path", "Path", "types.ModuleType", "concurrent.futures.Executor",
        "Executor", "optional", "array", "array-like", "array_like", "callable", "callables", "sequence", "iterable",
        "mapping", "sparse matrix", "path", "dict", "int", "float", "str", "bool", "tuple", "list", "None",
        "scipy.sparse.csr_matrix", "scipy.sparse.spmatrix", "tqdm", "Any", "Callable", "Sequence", "Mapping",
        "Iterable", "Iterator", "Figure", "matplotlib.figure.Figure", "Axes", "matplotlib.axes.Axes",
        "concurrent.futures.ProcessPoolExecutor", "concurrent.futures._base.Executor",
    )
] + [("py:mod", "concurrent.futures")]
# fragments of a subscripted annotation in a signature Sphinx cannot parse (a dataclass default shown as <factory>)
nitpick_ignore_regex = [("py:class", r"[\w.]+\[.*")]
# "more than one target" for words in prose types ("array of shape (n,)" finds Grid.shape and Lattice.shape)
suppress_warnings = ["ref.python"]

html_theme = "alabaster"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {"page_width": "1180px", "sidebar_width": "230px", "fixed_sidebar": True}


# ---------------------------------------------------------------------------------------------------------------
# Cross-references by public name.  The API pages document each object where it is defined
# (``fieldflow.fokker_planck.pde.FokkerPlanck``); prose and docstrings name it the way a user imports it
# (``fieldflow.FokkerPlanck``, ``fieldflow.mckean_vlasov.stationary_states``, or a name imported into the
# current module).  A reference that does not resolve as written is imported, and resolved to the documented
# object that is the same Python object; one that still does not resolve stays a warning (an error under -W).
import importlib  # noqa: E402


def _import_dotted(path):
    """The object ``path`` names, by attribute access from the shortest importable module (so that
    ``fieldflow.evolve`` is the function a user gets, not the deprecated module of the same name)."""
    parts = path.split(".")
    for i in range(1, len(parts) + 1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except Exception:
            return None
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            continue
        return obj
    return None


def _resolve_public_name(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".~")
    modname, clsname = node.get("py:module"), node.get("py:class")
    paths = [target, f"fieldflow.{target}"]
    if modname:  # the current class and module, then each enclosing package (a family's public names)
        parts = modname.split(".")
        paths = ([f"{modname}.{clsname}.{target}"] if clsname else []) + \
            [".".join(parts[:i] + [target]) for i in range(len(parts), 1, -1)] + paths
    last = target.rsplit(".", 1)[-1]
    domain = env.get_domain("py")
    for path in filter(None, paths):
        obj = _import_dotted(path)
        if obj is None:
            continue
        matches = [name for name in domain.objects
                   if name.rsplit(".", 1)[-1] == last and name != target and _import_dotted(name) is obj]
        if len(matches) == 1:
            new = node.deepcopy()
            new["reftarget"] = matches[0]
            return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], matches[0], new, contnode)
    if node.get("refspecific") and node["reftype"] in ("class", "obj") and not target.startswith("fieldflow"):
        # a word of a prose type in a parameter/attribute field ("array of shape (len(ms),)"): text, not a link
        return contnode
    return None


def _public_bases(app, name, obj, options, bases):
    """Show a private base class (``_DuncanFlow``) as the public classes it derives from."""
    i = 0
    while i < len(bases):
        if bases[i].__name__.startswith("_"):
            bases[i:i + 1] = [b for b in bases[i].__bases__ if b is not object] or []
        else:
            i += 1


def setup(app):
    app.connect("missing-reference", _resolve_public_name)
    app.connect("autodoc-process-bases", _public_bases)
