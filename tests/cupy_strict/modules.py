"""The stand-in modules ``cupy``, ``cupy.fft``, ``cupy.linalg``, ``cupy.random``, ``cupy.cuda``, ``cupyx``, ``cupyx.scipy.*``.

Every module exposes exactly the names the recorded CuPy release has (``names.json``).  A name is
either implemented on NumPy/SciPy with CuPy's rules (:mod:`.array`), or — where the stand-in cannot
emulate it (raw CUDA kernels, memory pools) — raises ``NotImplementedError`` when used.  Names the
release lacks raise ``AttributeError``, and keyword arguments its signature lacks raise ``TypeError``.
"""

from __future__ import annotations

import contextlib
import types
from typing import Any, Callable

import numpy as np
import scipy.fft
import scipy.linalg
import scipy.special

from .device_array import ndarray, unwrap, unwrap_call, wrap
from .ledger import LEDGER
from .names import NAMES, spec, version

MODULES: dict[str, "StrictModule"] = {}


class StrictModule(types.ModuleType):
    """A module with the recorded names only."""

    def __init__(self, name: str, implemented: dict[str, Any]):
        super().__init__(name)
        self.__dict__["_recorded"] = NAMES["modules"].get(name, {})
        for attr, value in implemented.items():
            # submodules count: CuPy imports some lazily, so they are missing from the recorded dir()
            if attr in self._recorded or attr.startswith("_") or isinstance(value, types.ModuleType):
                setattr(self, attr, value)
        MODULES[name] = self

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        if attr in self._recorded:
            return _missing(f"{self.__name__}.{attr}")
        raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r} (CuPy {version()} has no such name)")

    def __dir__(self) -> list[str]:
        return sorted(self._recorded)


class _Missing:
    """A recorded name the stand-in does not emulate: using it raises ``NotImplementedError``."""

    def __init__(self, qualname: str):
        self._qualname = qualname

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{self._qualname} exists in CuPy {version()} but the strict stand-in does not "
                                  "emulate it; add it to tests/cupy_strict if fieldflow needs it")

    __call__ = _fail

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        self._fail()


def _missing(qualname: str) -> _Missing:
    return _Missing(qualname)


def check_signature(module: str, name: str, args: tuple, kwargs: dict) -> None:
    """``TypeError`` for arguments the recorded signature of ``module.name`` does not take."""
    recorded = spec(module, name) or {}
    params = recorded.get("params")
    if params is None:
        return
    if len(args) > len(params) and not recorded.get("var_positional"):
        raise TypeError(f"{module}.{name}() takes {len(params)} positional arguments in CuPy {version()}, got {len(args)}")
    if not recorded.get("var_keyword"):
        for key in kwargs:
            if key not in params:
                raise TypeError(f"{module}.{name}() got an unexpected keyword argument {key!r}; in CuPy {version()} "
                                f"its parameters are ({', '.join(params)})")


def device_function(module: str, name: str, impl: Callable, sequences: bool = True,
                    post: Callable[[Any], Any] = wrap) -> Callable:
    """``impl`` (a NumPy/SciPy function) run on unwrapped device arguments, its results on the device."""
    def function(*args: Any, **kwargs: Any) -> Any:
        check_signature(module, name, args, kwargs)
        args, kwargs = unwrap_call(args, kwargs, f"{module}.{name}", sequences)
        return post(impl(*args, **kwargs))

    function.__name__ = function.__qualname__ = name
    function.__module__ = module
    return function


class UFunc:
    """A CuPy ufunc: NumPy's (or SciPy's) on device arrays and scalars only (no lists, no host arrays)."""

    def __init__(self, module: str, name: str, impl: Any):
        self.__name__, self._where, self._u = name, f"{module}.{name}", impl
        self.nin, self.nout = getattr(impl, "nin", 1), getattr(impl, "nout", 1)

    def _run(self, method: Callable, args: tuple, kwargs: dict) -> Any:
        args, kwargs = unwrap_call(args, kwargs, self._where, sequences=False)
        return wrap(method(*args, **kwargs))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(self._u, args, kwargs)

    def reduce(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(self._u.reduce, args, kwargs)

    def accumulate(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(self._u.accumulate, args, kwargs)

    def outer(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(self._u.outer, args, kwargs)

    def at(self, a: Any, indices: Any, b: Any = None) -> None:
        args = (unwrap(a, self._where), unwrap(indices, self._where)) + (() if b is None else (unwrap(b, self._where),))
        self._u.at(*args)

    def __repr__(self) -> str:
        return f"<ufunc '{self.__name__}' (cupy-strict)>"


def _namespace(module: str, sources: tuple[Any, ...], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Implementations of the recorded names of ``module`` from the first source module that has each."""
    out = dict(overrides or {})
    for name, info in NAMES["modules"].get(module, {}).items():
        if name in out:
            continue
        impl = next((getattr(s, name) for s in sources if hasattr(s, name)), None)
        if impl is None:
            continue
        kind = info["kind"]
        if kind == "ufunc" or isinstance(impl, np.ufunc):
            out[name] = UFunc(module, name, impl)
        elif kind == "function" and callable(impl):
            out[name] = device_function(module, name, impl)
        elif kind in ("class", "value") and not isinstance(impl, types.ModuleType):
            out[name] = impl
    return out


# ------------------------------------------------------------------------------------------- cupy
def _host_content(value: Any) -> tuple[Any, bool]:
    """``(numpy value, is_host)`` for a creation function's input (nested lists may mix device scalars)."""
    if isinstance(value, ndarray):
        return value._a, False
    if isinstance(value, (list, tuple)):
        parts = [_host_content(v) for v in value]
        return [p for p, _ in parts], all(host for _, host in parts) if parts else True
    return value, True


def _creation(name: str, impl: Callable) -> Callable:
    def create(obj: Any, dtype: Any = None, *args: Any, **kwargs: Any) -> ndarray:
        check_signature("cupy", name, (obj, dtype) + args, kwargs)
        kwargs.pop("blocking", None)
        value, host = _host_content(obj)
        out = impl(value, dtype, *args, **kwargs)
        if host:
            LEDGER.record("h2d", np.size(out))
        return ndarray._of(np.asarray(out))

    create.__name__ = name
    return create


def asnumpy(a: Any, stream: Any = None, order: str = "C", out: Any = None, blocking: bool = True) -> np.ndarray:
    if isinstance(a, ndarray):
        return a.get(order=order)
    return np.asarray(a, order=order)


def get_array_module(*args: Any) -> types.ModuleType:
    return MODULES["cupy"] if any(isinstance(a, ndarray) for a in args) else np


def _data_dependent(name: str, impl: Callable) -> Callable:
    """Functions whose output size depends on the data: CuPy reads a count back (one sync)."""
    inner = device_function("cupy", name, impl)

    def function(*args: Any, **kwargs: Any) -> Any:
        LEDGER.record("d2h", 1)
        return inner(*args, **kwargs)

    function.__name__ = name
    return function


def _where(condition: Any, x: Any = None, y: Any = None) -> Any:
    if x is None and y is None:
        LEDGER.record("d2h", 1)
        return wrap(np.nonzero(unwrap(condition, "cupy.where")))
    return wrap(np.where(unwrap(condition, "cupy.where"), unwrap(x, "cupy.where"), unwrap(y, "cupy.where")))


def _device_scalar(name: str, impl: Callable) -> Callable:
    """NumPy functions returning a Python scalar that CuPy returns as a 0-d device array."""
    inner = device_function("cupy", name, impl, post=lambda v: ndarray._of(np.asarray(v)))
    inner.__name__ = name
    return inner


def _fuse(*args: Any, **kwargs: Any) -> Any:
    """``cupy.fuse``: the fused kernel computes what the Python function does on device arrays."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda f: f


class _MemoryPool:
    def used_bytes(self) -> int:
        return 0

    def total_bytes(self) -> int:
        return 0

    def free_all_blocks(self) -> None:
        return None


_POOL = _MemoryPool()


def _cupy_overrides() -> dict[str, Any]:
    out: dict[str, Any] = {
        "ndarray": ndarray,
        "asnumpy": asnumpy,
        "get_array_module": get_array_module,
        "where": _where,
        "fuse": _fuse,
        "is_available": lambda: True,
        "get_default_memory_pool": lambda: _POOL,
        "get_default_pinned_memory_pool": lambda: _POOL,
        "show_config": lambda *a, **k: print(f"cupy-strict stand-in (NumPy {np.__version__}) for CuPy {version()}"),
        "__version__": version(),
    }
    for name, impl in (("asarray", np.asarray), ("array", np.array), ("asanyarray", np.asarray),
                       ("ascontiguousarray", np.ascontiguousarray)):
        out[name] = _creation(name, impl)
    for name in ("nonzero", "flatnonzero", "argwhere", "unique", "compress", "extract"):
        out[name] = _data_dependent(name, getattr(np, name))
    for name in ("count_nonzero", "allclose", "array_equal", "array_equiv", "isclose"):
        out[name] = _device_scalar(name, getattr(np, name))
    return out


# ------------------------------------------------------------------------------------------- cupy.random
class _Random:
    """``cupy.random.Generator`` / ``RandomState`` on NumPy's bit generators (so streams equal NumPy's)."""

    _qualname = "cupy.random:Generator"

    def __init__(self, inner: Any):
        self._inner = inner
        self._allowed = set(NAMES["classes"][self._qualname])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._allowed or not hasattr(self._inner, name):
            raise AttributeError(f"{self._qualname.replace(':', '.')} has no attribute {name!r} in the strict stand-in")
        method = getattr(self._inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            args, kwargs = unwrap_call(args, kwargs, f"{self._qualname}.{name}")
            return wrap(method(*args, **kwargs))

        return call


class Generator(_Random):
    pass


class RandomState(_Random):
    _qualname = "cupy.random:RandomState"

    def __init__(self, seed: Any = None):
        super().__init__(np.random.RandomState(seed))


_GLOBAL_STATE = RandomState()


def _random_namespace() -> dict[str, Any]:
    out: dict[str, Any] = {
        "default_rng": lambda seed=None: Generator(np.random.default_rng(seed)),
        "Generator": Generator,
        "RandomState": RandomState,
        "seed": lambda seed=None: _GLOBAL_STATE._inner.seed(seed),
        "get_random_state": lambda: _GLOBAL_STATE,
    }
    for name in NAMES["modules"]["cupy.random"]:
        if name not in out and hasattr(np.random.RandomState, name) and not name.startswith("_"):
            out[name] = (lambda n: lambda *a, **k: getattr(_GLOBAL_STATE, n)(*a, **k))(name)
    return out


# ------------------------------------------------------------------------------------------- cupy.cuda
class Device:
    """``cupy.cuda.Device``: one device, id 0."""

    def __init__(self, device: int | None = None):
        self.id = 0 if device is None else int(device)
        if self.id != 0:
            raise RuntimeError("cudaErrorInvalidDevice: the strict stand-in has one device (id 0)")
        self.compute_capability = "90"

    def synchronize(self) -> None:
        return None

    def use(self) -> None:
        return None

    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    @property
    def mem_info(self) -> tuple[int, int]:
        return (1 << 34, 1 << 34)


class _Stream:
    def synchronize(self) -> None:
        return None

    def __enter__(self) -> "_Stream":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None


class _Event:
    def __init__(self, *args: Any, **kwargs: Any):
        import time

        self._time = time.perf_counter
        self.t = None

    def record(self, stream: Any = None) -> None:
        self.t = self._time()

    def synchronize(self) -> None:
        return None


def _elapsed_ms(start: _Event, end: _Event) -> float:
    return 1e3 * (end.t - start.t)


def _runtime_namespace() -> dict[str, Any]:
    props = {"name": b"cupy-strict stand-in (NumPy on the CPU)", "totalGlobalMem": 1 << 34, "major": 9, "minor": 0,
             "multiProcessorCount": 1}
    return {
        "getDeviceCount": lambda: 1,
        "getDevice": lambda: 0,
        "getDeviceProperties": lambda device=0: dict(props),
        "runtimeGetVersion": lambda: 13000,
        "driverGetVersion": lambda: 13000,
        "memGetInfo": lambda: (1 << 34, 1 << 34),
        "deviceSynchronize": lambda: None,
        "is_hip": False,
    }


def _cuda_namespace(runtime: StrictModule) -> dict[str, Any]:
    return {
        "Device": Device,
        "Stream": lambda *a, **k: _Stream(),
        "Event": _Event,
        "get_elapsed_time": _elapsed_ms,
        "get_current_stream": lambda *a: _Stream(),
        "get_device_id": lambda: 0,
        "is_available": lambda: True,
        "runtime": runtime,
    }


# ------------------------------------------------------------------------------------------- cupyx
class DeviceSynchronized(RuntimeError):
    """Raised by a device→host read inside ``cupyx.allow_synchronize(False)``."""


@contextlib.contextmanager
def allow_synchronize(allow: bool):
    previous = LEDGER.forbid
    LEDGER.forbid = None if allow else DeviceSynchronized
    try:
        yield
    finally:
        LEDGER.forbid = previous


def _scatter(name: str, ufunc: np.ufunc) -> Callable:
    def scatter(a: ndarray, slices: Any, value: Any) -> None:
        ufunc.at(unwrap(a, f"cupyx.{name}"), unwrap(slices, f"cupyx.{name}"), unwrap(value, f"cupyx.{name}"))

    scatter.__name__ = name
    return scatter


def _cupyx_overrides(scipy_module: StrictModule) -> dict[str, Any]:
    return {
        "errstate": np.errstate,
        "geterr": np.geterr,
        "seterr": np.seterr,
        "scatter_add": _scatter("scatter_add", np.add),
        "scatter_max": _scatter("scatter_max", np.maximum),
        "scatter_min": _scatter("scatter_min", np.minimum),
        "rsqrt": UFunc("cupyx", "rsqrt", lambda x, **k: 1.0 / np.sqrt(x, **k)),
        "allow_synchronize": allow_synchronize,
        "DeviceSynchronized": DeviceSynchronized,
        "get_runtime_info": lambda *a, **k: f"cupy-strict stand-in for CuPy {version()}",
        "scipy": scipy_module,
    }


def build() -> dict[str, types.ModuleType]:
    """Fresh stand-in modules, keyed by their import names."""
    from . import sparse

    MODULES.clear()
    fft = StrictModule("cupy.fft", _namespace("cupy.fft", (np.fft,)))
    linalg = StrictModule("cupy.linalg", _namespace("cupy.linalg", (np.linalg,)))
    random = StrictModule("cupy.random", _random_namespace())
    runtime = StrictModule("cupy.cuda.runtime", _runtime_namespace())
    cuda = StrictModule("cupy.cuda", _cuda_namespace(runtime))
    cupy = StrictModule("cupy", _namespace("cupy", (np,), {**_cupy_overrides(), "fft": fft, "linalg": linalg,
                                                           "random": random, "cuda": cuda}))
    sx_fft = StrictModule("cupyx.scipy.fft", _namespace("cupyx.scipy.fft", (scipy.fft,)))
    sx_special = StrictModule("cupyx.scipy.special", _namespace("cupyx.scipy.special", (scipy.special,)))
    sx_linalg = StrictModule("cupyx.scipy.linalg", _namespace("cupyx.scipy.linalg", (scipy.linalg,)))
    sx_sparse_linalg = StrictModule("cupyx.scipy.sparse.linalg", sparse.linalg_namespace())
    sx_sparse = StrictModule("cupyx.scipy.sparse", {**sparse.namespace(), "linalg": sx_sparse_linalg})
    sx = StrictModule("cupyx.scipy", {"fft": sx_fft, "special": sx_special, "linalg": sx_linalg, "sparse": sx_sparse})
    StrictModule("cupyx", _cupyx_overrides(sx))
    return dict(MODULES)
