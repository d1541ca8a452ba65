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
import math
import os
import sys
import threading
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Iterator, Sequence

import numpy as np

__all__ = [
    "set_backend",
    "get_backend",
    "check_cupy",
    "CUPY_MIN_VERSION",
    "get_namespace",
    "namespace_of",
    "to_numpy",
    "block_rows",
    "DEVICE_BLOCK_BYTES",
    "optional_import",
    "available_fft_providers",
    "get_fft",
    "FFT",
]

_BACKENDS = ("numpy", "cupy")
_state: dict[str, Any] = {"backend": "numpy", "fft": None}

_EXTRA = {"cupy": "gpu", "cupyx": "gpu", "dask": "distributed", "distributed": "distributed", "h5py": "io",
          "xarray": "io"}


def optional_import(name: str) -> ModuleType:
    """Import ``name`` on first use; a missing package raises ``ImportError`` with the pip command to fix it.

    Every optional dependency (cupy, dask, h5py, xarray, pyfftw) goes through here, so none is
    imported when ``fieldflow`` is.
    """
    module = sys.modules.get(name)
    if module is not None:
        return module
    try:
        return importlib.import_module(name)
    except ImportError as exc:  # pragma: no cover - depends on the machine
        top = name.split(".")[0]
        hint = f"pip install 'fieldflow[{_EXTRA[top]}]'" if top in _EXTRA else f"pip install {top}"
        if top in ("cupy", "cupyx"):
            hint = _CUPY_INSTALL + " (needs an NVIDIA GPU)"
        raise ImportError(f"{name} is not available: {hint}") from exc


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Host BLAS/LAPACK limited to one thread inside the block (threadpoolctl).

    For code that makes many small dense solves (matrices of a few hundred rows, e.g. the cross-validated
    score fits): there a multithreaded BLAS gains nothing and, on a loaded machine, loses 10–100× to thread
    hand-offs (measured on 2 shared cores: a 0.04 s fit took 0.7–4 s).  Arrays on a GPU are unaffected.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


#: the oldest CuPy release whose ``cupyx.scipy`` has what the solvers call (sparse assembly, ``splu``, ``dctn``)
CUPY_MIN_VERSION = (14, 0)
_CUPY_INSTALL = ("pip install 'fieldflow[gpu]' (CUDA 12) or pip install 'cupy-cuda13x>=14' (CUDA 13)")


def check_cupy(cupy: ModuleType) -> ModuleType:
    """``cupy`` if it is recent enough and sees a CUDA device; otherwise one line saying what to install or check.

    Raises
    ------
    ImportError
        CuPy older than :data:`CUPY_MIN_VERSION`.
    RuntimeError
        No CUDA device (or no working driver) visible to CuPy.
    """
    version = str(getattr(cupy, "__version__", "0"))
    found = tuple(int(p) if p.isdigit() else 0 for p in version.split(".")[:2])
    if found < CUPY_MIN_VERSION:
        raise ImportError(f"fieldflow needs CuPy >= {'.'.join(map(str, CUPY_MIN_VERSION))}, found {version}: "
                          f"{_CUPY_INSTALL}")
    try:
        devices = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError without a driver
        raise RuntimeError(f"CuPy {version} finds no CUDA device ({type(exc).__name__}: {exc}); check the NVIDIA "
                           "driver and CUDA_VISIBLE_DEVICES, or use the 'numpy' backend") from exc
    if devices < 1:
        raise RuntimeError(f"CuPy {version} finds no CUDA device; check the NVIDIA driver and CUDA_VISIBLE_DEVICES, "
                           "or use the 'numpy' backend")
    return cupy


def set_backend(name: str) -> None:
    """Select the global array namespace: ``"numpy"`` or ``"cupy"``.

    Objects created afterwards without an explicit ``backend=`` use it.  ``"cupy"`` is checked at once
    (:func:`check_cupy`): an old CuPy or a machine without a CUDA device gives a one-line error saying
    what to install or check.
    """
    if name not in _BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {_BACKENDS}")
    if name == "cupy":
        check_cupy(optional_import("cupy"))
    _state["backend"] = name


def get_backend() -> str:
    """Name of the current global array namespace."""
    return _state["backend"]


def get_namespace(name: str | None = None) -> ModuleType:
    """The array module (``numpy`` or ``cupy``) for ``name`` (default: the global backend)."""
    name = name or _state["backend"]
    if name not in _BACKENDS:
        raise ValueError(f"unknown backend {name!r}; choose one of {_BACKENDS}")
    module = optional_import(name)
    if name == "cupy" and module not in _checked:
        _checked.add(check_cupy(module))
    return module


_checked: set[ModuleType] = set()


def namespace_of(array: Any) -> ModuleType:
    """The array module an array belongs to (cupy arrays → ``cupy``, anything else → ``numpy``)."""
    module = type(array).__module__.split(".")[0]
    if module == "cupy":
        return optional_import("cupy")
    return optional_import("numpy")


#: bytes of pair temporaries a blocked ``O(N²)`` sum may hold per block on a GPU: each kernel launch then
#: covers ≥ 1e7 pairs, so the ~10 µs launch latency is a few per cent of the work (host sums choose their
#: own, cache-sized, blocks)
DEVICE_BLOCK_BYTES = 2**30


def block_rows(n: int, bytes_per_pair: int, xp: Any, host_bytes: int, device_bytes: int = DEVICE_BLOCK_BYTES) -> int:
    """Rows per block of a blocked pair sum over ``n`` columns with ``bytes_per_pair`` bytes of temporaries per pair.

    ``host_bytes`` on NumPy (the caller's cache- or memory-sized budget), ``device_bytes`` on CuPy.
    """
    budget = host_bytes if xp is None or xp.__name__ == "numpy" else device_bytes
    return max(1, int(budget // max(1, n * bytes_per_pair)))


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


def _default_axes(s: Sequence[int] | None, axes: Sequence[int] | None) -> Sequence[int] | None:
    """NumPy's long-standing meaning of ``s`` without ``axes``: the last ``len(s)`` axes.

    Passing it explicitly keeps NumPy ≥ 2.0 from warning (and from changing meaning later).
    """
    if s is not None and axes is None:
        return tuple(range(-len(s), 0))
    return axes


class _ModuleFFT(FFT):
    """Providers whose module already has the NumPy call shape (numpy.fft, scipy.fft, cupy.fft)."""

    def __init__(self, name: str, module: str, workers: int | None = None):
        self.name = name
        self._mod = optional_import(module)
        self._kw = {"workers": workers} if workers is not None else {}

    def rfftn(self, a, s=None, axes=None):
        return self._mod.rfftn(a, s=s, axes=_default_axes(s, axes), **self._kw)

    def irfftn(self, a, s=None, axes=None):
        return self._mod.irfftn(a, s=s, axes=_default_axes(s, axes), **self._kw)

    def fftn(self, a, s=None, axes=None):
        return self._mod.fftn(a, s=s, axes=_default_axes(s, axes), **self._kw)

    def ifftn(self, a, s=None, axes=None):
        return self._mod.ifftn(a, s=s, axes=_default_axes(s, axes), **self._kw)


#: transforms with at least this many points use ``cpu_count`` FFTW threads, smaller ones one
#: thread.  Measured with ``benchmarks/fft_providers.py --variants`` (see
#: ``benchmarks/results/fft_providers.md``): below ~2^20 points a second thread gains at most
#: 1.3–2× on an idle machine but costs 5–17 ms per call (10–10000×) when the cores are shared,
#: because FFTW's OpenMP workers must wait for a time slice; from 2^20 points up the transform
#: itself takes ≥ 10 ms, so that wait is at worst comparable while the idle gain is ~2×.
THREADS_MIN_POINTS = 2**20


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _points(kind: str, shape: tuple[int, ...], s: tuple[int, ...] | None, axes: tuple[int, ...] | None) -> int:
    """Number of real-space points a transform touches (its size for the thread policy)."""
    if s is None:
        n = math.prod(shape)
        return 2 * n if kind == "irfftn" else n
    axes = axes if axes is not None else tuple(range(-len(s), 0))
    kept = {ax % len(shape) for ax in axes}
    return math.prod(n for i, n in enumerate(shape) if i not in kept) * math.prod(s)


class _PyFFTW(FFT):
    """pyFFTW with one cached plan per (kind, shape, dtype, s, axes).

    Plans are built once with ``planner_effort`` (``FIELDFLOW_FFTW_EFFORT``, default
    ``FFTW_ESTIMATE``: ``FFTW_MEASURE`` runs 1.2–2× faster but takes 0.3 s to minutes to plan)
    and reused.  ``threads``: a fixed count, or ``None`` for one thread below
    :data:`THREADS_MIN_POINTS` points and all available cores from there up (the environment
    variable ``FIELDFLOW_FFT_THREADS`` fixes the count instead).

    Caller arrays are never written: FFTW may destroy the input of complex-to-real transforms,
    and pyFFTW keeps the last input array as the plan's own, so an input that is not a
    contiguous, aligned array of the plan's dtype (and every ``irfftn`` input) is copied into a
    buffer private to the plan; the others are transformed in place of the plan's input.
    Each call writes into a fresh aligned output array, so results never alias a plan's buffers.

    Thread-safe: a pyFFTW plan owns its arrays (and its private buffer), so each plan is executed under its
    own lock, and plans are built under the provider's lock (FFTW's planner is not re-entrant).  Without
    them, threads sharing a plan (a thread-pool sweep) silently got each other's transforms.
    """

    name = "pyfftw"

    def __init__(self, threads: int | None = None, planner_effort: str | None = None):
        self._pyfftw = optional_import("pyfftw")
        self._builders = optional_import("pyfftw.builders")
        env = os.environ.get("FIELDFLOW_FFT_THREADS")
        self.threads = threads if threads is not None else (int(env) if env else None)
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be a positive integer, got {self.threads}")
        self.planner_effort = planner_effort or os.environ.get("FIELDFLOW_FFTW_EFFORT", "FFTW_ESTIMATE")
        self._plans: dict[tuple, tuple[Any, Any, bool, threading.Lock]] = {}
        self._planning = threading.Lock()

    def _threads_for(self, points: int) -> int:
        if self.threads is not None:
            return self.threads
        return _cpu_count() if points >= THREADS_MIN_POINTS else 1

    def _plan(self, kind: str, a, s, axes) -> tuple[Any, Any, bool, threading.Lock]:
        """``(fftw, buffer, direct, lock)``: the plan, its private input buffer, whether a matching
        caller array may be handed to FFTW directly (never for c2r, which may destroy its input), and
        the lock its executions hold."""
        key = (kind, a.shape, a.dtype, s, axes)
        entry = self._plans.get(key)
        if entry is not None:
            return entry
        with self._planning:
            entry = self._plans.get(key)  # another thread may have built it meanwhile
            if entry is not None:
                return entry
            builder = getattr(self._builders, kind)
            buffer = self._pyfftw.empty_aligned(a.shape, dtype=a.dtype)
            fftw = builder(buffer, s=s, axes=axes, threads=self._threads_for(_points(kind, a.shape, s, axes)),
                           planner_effort=self.planner_effort, avoid_copy=False,
                           auto_align_input=True, auto_contiguous=True)
            # builders return a wrapper that always copies into its own array when s pads or
            # truncates; a plain FFTW object works on whatever array it is given
            plain = type(fftw) is self._pyfftw.FFTW
            if plain:
                fftw.update_arrays(buffer, fftw.output_array)
            entry = (fftw, buffer if plain else None, plain and kind != "irfftn", threading.Lock())
            self._plans[key] = entry
        return entry

    def _run(self, kind, a, s, axes):
        a = np.asarray(a)
        if kind == "rfftn":
            if a.dtype != np.float64 and a.dtype != np.float32:
                a = a.astype(np.float64)
        elif a.dtype.kind != "c":
            a = a.astype(np.complex128)
        fftw, buffer, direct, lock = self._plan(kind, a, None if s is None else tuple(s),
                                                None if axes is None else tuple(axes))
        out = self._pyfftw.empty_aligned(fftw.output_shape, dtype=fftw.output_dtype)
        with lock:
            if buffer is None:  # wrapper: copies into its own array
                fftw(a, out)
            elif direct and a.strides == buffer.strides and self._pyfftw.is_byte_aligned(a, fftw.input_alignment):
                fftw(a, out)
            else:
                buffer[...] = a
                fftw(buffer, out)
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
            raise ImportError(f"no FFT provider for backend {backend!r}; install numpy/scipy (host) or cupy (GPU)")
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
