"""Array namespaces (NumPy or CuPy) and one FFT interface over several providers.

The array namespace is chosen by name, globally with :func:`set_backend` or per object
(every grid takes ``backend=``).  CuPy, pyFFTW and SciPy are imported lazily, the first
time they are asked for, so that ``import fieldflow`` never pulls in a GPU stack.

FFT normalisation is NumPy's ``"backward"`` convention on every provider: the forward
transform is unnormalised and the inverse carries the factor ``1/N``,

.. math::  \\hat f_k = \\sum_j f_j e^{-2\\pi i jk/N}, \\qquad
           f_j = \\frac1N \\sum_k \\hat f_k e^{2\\pi i jk/N}.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any, Sequence

__all__ = [
    "set_backend",
    "get_backend",
    "get_namespace",
    "namespace_of",
    "to_numpy",
    "available_fft_providers",
    "get_fft",
    "FFT",
]

_BACKENDS = ("numpy", "cupy")
_state: dict[str, Any] = {"backend": "numpy", "fft": None}

_INSTALL_HINT = {
    "cupy": "install the GPU extra: pip install 'fieldflow[gpu]' (needs an NVIDIA GPU and CUDA)",
    "pyfftw": "pip install pyfftw",
    "scipy": "pip install scipy",
}


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - depends on the machine
        top = name.split(".")[0]
        raise ImportError(f"{name} is not available: {_INSTALL_HINT.get(top, 'pip install ' + top)}") from exc


def set_backend(name: str) -> None:
    """Select the global array namespace: ``"numpy"`` or ``"cupy"``.

    Objects created afterwards without an explicit ``backend=`` use it.
    """
    if name not in _BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {_BACKENDS}")
    if name == "cupy":
        _import("cupy")
    _state["backend"] = name


def get_backend() -> str:
    """Name of the current global array namespace."""
    return _state["backend"]


def get_namespace(name: str | None = None) -> ModuleType:
    """The array module (``numpy`` or ``cupy``) for ``name`` (default: the global backend)."""
    name = name or _state["backend"]
    if name not in _BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {_BACKENDS}")
    return _import(name)


def namespace_of(array: Any) -> ModuleType:
    """The array module an array belongs to (cupy arrays → ``cupy``, anything else → ``numpy``)."""
    module = type(array).__module__.split(".")[0]
    if module == "cupy":
        return _import("cupy")
    return _import("numpy")


def to_numpy(array: Any) -> Any:
    """Copy an array to the host as a NumPy array (no-op for NumPy input)."""
    if type(array).__module__.split(".")[0] == "cupy":
        return array.get()
    import numpy as np

    return np.asarray(array)


# --------------------------------------------------------------------------- FFT providers


class FFT:
    """A uniform FFT interface: ``rfftn``/``irfftn`` for real data, ``fftn``/``ifftn`` for complex.

    Every provider uses the ``"backward"`` normalisation. ``axes`` defaults to all axes.
    ``s`` is the transform shape (zero padding or truncation as in NumPy).
    """

    name = "abstract"

    def rfftn(self, a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None) -> Any:
        raise NotImplementedError

    def irfftn(self, a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None) -> Any:
        raise NotImplementedError

    def fftn(self, a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None) -> Any:
        raise NotImplementedError

    def ifftn(self, a: Any, s: Sequence[int] | None = None, axes: Sequence[int] | None = None) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<FFT provider {self.name}>"


class _ModuleFFT(FFT):
    """Providers whose module already has the NumPy call shape (numpy.fft, scipy.fft, cupy.fft)."""

    def __init__(self, name: str, module: str, workers: int | None = None):
        self.name = name
        self._mod = _import(module)
        self._kw = {"workers": workers} if workers is not None else {}

    def rfftn(self, a, s=None, axes=None):
        return self._mod.rfftn(a, s=s, axes=axes, **self._kw)

    def irfftn(self, a, s=None, axes=None):
        return self._mod.irfftn(a, s=s, axes=axes, **self._kw)

    def fftn(self, a, s=None, axes=None):
        return self._mod.fftn(a, s=s, axes=axes, **self._kw)

    def ifftn(self, a, s=None, axes=None):
        return self._mod.ifftn(a, s=s, axes=axes, **self._kw)


class _PyFFTW(FFT):
    """pyFFTW with one cached plan per (kind, shape, dtype, s, axes) and multithreading.

    Plans are built once with ``planner_effort`` (default ``FFTW_MEASURE`` via the
    ``FIELDFLOW_FFTW_EFFORT`` environment variable, else ``FFTW_ESTIMATE``) and reused; each
    call writes into a fresh aligned output array so results never alias a plan's buffers.
    """

    name = "pyfftw"

    def __init__(self, threads: int | None = None, planner_effort: str | None = None):
        self._pyfftw = _import("pyfftw")
        self._builders = _import("pyfftw.builders")
        self.threads = threads or os.cpu_count() or 1
        self.planner_effort = planner_effort or os.environ.get("FIELDFLOW_FFTW_EFFORT", "FFTW_ESTIMATE")
        self._plans: dict[tuple, Any] = {}

    def _plan(self, kind: str, a, s, axes):
        key = (kind, a.shape, a.dtype.str, None if s is None else tuple(s), None if axes is None else tuple(axes))
        plan = self._plans.get(key)
        if plan is None:
            builder = getattr(self._builders, kind)
            template = self._pyfftw.empty_aligned(a.shape, dtype=a.dtype)
            plan = builder(
                template,
                s=s,
                axes=axes,
                threads=self.threads,
                planner_effort=self.planner_effort,
                avoid_copy=False,
                auto_align_input=True,
                auto_contiguous=True,
            )
            self._plans[key] = plan
        return plan

    def _run(self, kind, a, s, axes):
        import numpy as np

        a = np.asarray(a)
        if kind == "rfftn":
            if a.dtype not in (np.float32, np.float64):
                a = a.astype(np.float64)
        elif a.dtype.kind != "c":
            a = a.astype(np.complex128, copy=False)
        elif kind == "irfftn":
            # FFTW's complex-to-real transforms overwrite their input; never destroy the caller's array
            a = a.copy()
        plan = self._plan(kind, a, s, axes)
        out = self._pyfftw.empty_aligned(plan.output_shape, dtype=plan.output_dtype)
        plan(a, out)
        return out

    def rfftn(self, a, s=None, axes=None):
        return self._run("rfftn", a, s, axes)

    def irfftn(self, a, s=None, axes=None):
        return self._run("irfftn", a, s, axes)

    def fftn(self, a, s=None, axes=None):
        return self._run("fftn", a, s, axes)

    def ifftn(self, a, s=None, axes=None):
        return self._run("ifftn", a, s, axes)


_PREFERENCE = {"numpy": ("pyfftw", "scipy", "numpy"), "cupy": ("cupy",)}


def available_fft_providers(backend: str | None = None) -> list[str]:
    """FFT providers importable here for ``backend``, fastest first (see ``benchmarks/fft_providers.py``)."""
    backend = backend or _state["backend"]
    found = []
    for name in _PREFERENCE[backend]:
        module = {"pyfftw": "pyfftw", "scipy": "scipy.fft", "numpy": "numpy.fft", "cupy": "cupy.fft"}[name]
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        found.append(name)
    return found


_providers: dict[tuple, FFT] = {}


def get_fft(provider: str | None = None, backend: str | None = None, threads: int | None = None) -> FFT:
    """The FFT provider ``provider`` (``"pyfftw"``, ``"scipy"``, ``"numpy"``, ``"cupy"``).

    Without a name, the fastest installed provider for ``backend`` is used: pyFFTW, then
    ``scipy.fft`` (multithreaded), then ``numpy.fft`` on the host; ``cupy.fft`` on the GPU.
    Providers are cached, so plans survive between calls.
    """
    backend = backend or _state["backend"]
    if provider is None:
        found = available_fft_providers(backend)
        if not found:
            raise ImportError(f"no FFT provider for backend {backend!r}: {_INSTALL_HINT.get(backend, '')}")
        provider = found[0]
    key = (provider, threads)
    if key in _providers:
        return _providers[key]
    if provider == "pyfftw":
        fft: FFT = _PyFFTW(threads=threads)
    elif provider == "scipy":
        fft = _ModuleFFT("scipy", "scipy.fft", workers=threads or os.cpu_count() or 1)
    elif provider == "numpy":
        fft = _ModuleFFT("numpy", "numpy.fft")
    elif provider == "cupy":
        fft = _ModuleFFT("cupy", "cupy.fft")
    else:
        raise ValueError(f"unknown FFT provider {provider!r}; choose pyfftw, scipy, numpy or cupy")
    _providers[key] = fft
    return fft
