"""Write ``names.json``: the public names (and call signatures) of the real CuPy release.

The strict stand-in (:mod:`tests.cupy_strict`) exposes exactly these names, so code that calls
something the installed CuPy lacks (``cupyx.scipy.sparse.linalg.bicgstab`` in CuPy 13, ``rtol=`` of
its ``gmres``) fails on the CPU as it would on the GPU.  CuPy's wheel imports without a GPU; this
script also stubs the CUDA math libraries (cuBLAS, cuSOLVER, cuSPARSE, ...) that some ``cupyx``
modules load at import time, so no CUDA toolkit is needed either.  Regenerate for a new release::

    pip download --no-deps "cupy-cuda13x==14.*" -d /tmp/cupywheel
    python -m venv --system-site-packages /tmp/cupyvenv
    /tmp/cupyvenv/bin/pip install --no-deps /tmp/cupywheel/*.whl "cuda-pathfinder==1.*"
    READTHEDOCS=True /tmp/cupyvenv/bin/python tests/cupy_strict/generate_names.py

(``READTHEDOCS=True`` is CuPy's own switch for building its documentation without CUDA libraries.)
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import types
from pathlib import Path

#: the modules the stand-in impersonates
MODULES = (
    "cupy", "cupy.fft", "cupy.linalg", "cupy.random", "cupy.cuda", "cupy.cuda.runtime",
    "cupyx", "cupyx.scipy", "cupyx.scipy.sparse", "cupyx.scipy.sparse.linalg", "cupyx.scipy.fft",
    "cupyx.scipy.special", "cupyx.scipy.linalg",
)
#: classes whose attributes are recorded (``module:qualname``)
CLASSES = (
    "cupy:ndarray", "cupy.random:Generator", "cupy.random:RandomState",
    "cupyx.scipy.sparse:csr_matrix", "cupyx.scipy.sparse:csc_matrix", "cupyx.scipy.sparse:coo_matrix",
    "cupyx.scipy.sparse:dia_matrix", "cupyx.scipy.sparse.linalg:LinearOperator",
    "cupyx.scipy.sparse.linalg:SuperLU",
)
_CUDA_LIBRARIES = ("cublas", "cusolver", "cusparse", "curand", "nccl", "cutensor", "cusparselt", "nvtx")


class _Library(types.ModuleType):
    """Placeholder for a CUDA library binding: any attribute is a dummy (never called at import)."""

    def __getattr__(self, name: str) -> int:
        if name.startswith("__"):
            raise AttributeError(name)
        return 0


def _stub_cuda_libraries() -> None:
    for lib in _CUDA_LIBRARIES:
        name = f"cupy_backends.cuda.libs.{lib}"
        sys.modules.setdefault(name, _Library(name))


def _describe(obj: object) -> dict:
    """Kind of a public object and, for callables with a Python signature, its parameters."""
    if inspect.ismodule(obj):
        return {"kind": "module"}
    if inspect.isclass(obj):
        return {"kind": "class"}
    if type(obj).__name__ == "ufunc":
        return {"kind": "ufunc", "nin": getattr(obj, "nin", None)}
    if callable(obj):
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            return {"kind": "function", "params": None}
        params = [p.name for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        kinds = {p.kind for p in sig.parameters.values()}
        return {"kind": "function", "params": params, "var_keyword": inspect.Parameter.VAR_KEYWORD in kinds,
                "var_positional": inspect.Parameter.VAR_POSITIONAL in kinds}
    return {"kind": "value"}


def collect() -> dict:
    _stub_cuda_libraries()
    import cupy

    out: dict = {"cupy_version": cupy.__version__, "modules": {}, "classes": {}}
    for name in MODULES:
        module = importlib.import_module(name)
        out["modules"][name] = {attr: _describe(getattr(module, attr)) for attr in sorted(dir(module))
                                if not attr.startswith("_") and attr != "annotations"}
    for spec in CLASSES:
        module, qualname = spec.split(":")
        cls = getattr(importlib.import_module(module), qualname)
        out["classes"][spec] = sorted(a for a in dir(cls) if not a.startswith("_") or a in _DUNDERS)
    return out


#: special methods whose presence matters (operators, conversions)
_DUNDERS = ("__array__", "__array_function__", "__array_ufunc__", "__matmul__", "__rmatmul__", "__float__", "__int__",
            "__bool__", "__index__", "__complex__", "__iter__", "__len__", "__dlpack__", "__cuda_array_interface__")


def main() -> None:
    names = collect()
    path = Path(__file__).with_name("names.json")
    path.write_text(json.dumps(names, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    total = sum(len(v) for v in names["modules"].values())
    print(f"CuPy {names['cupy_version']}: {total} public names in {len(MODULES)} modules -> {path}")


if __name__ == "__main__":
    main()
