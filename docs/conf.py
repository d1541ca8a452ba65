"""Sphinx configuration for the fieldflow documentation (built by CI with -W)."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "fieldflow"
author = "fieldflow developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax", "sphinx.ext.viewcode"]
autodoc_mock_imports = ["cupy", "cupyx", "dask", "distributed", "h5py", "xarray"]
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
napoleon_numpy_docstring = True
napoleon_google_docstring = False
nitpicky = False
# docstring types such as "array of shape (n,)" make napoleon emit ambiguous name lookups (shape, grid)
suppress_warnings = ["ref.python"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
napoleon_use_ivar = True
