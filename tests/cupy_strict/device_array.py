"""``cupy.ndarray`` of the stand-in: a NumPy array that follows CuPy's rules about the host.

* implicit conversion to NumPy raises ``TypeError`` (``np.asarray(x)``, ``np.array(x)``), as in CuPy;
* a host ``numpy.ndarray`` (0-d included) in arithmetic, in a ufunc or in a ``cupy`` function raises
  ``TypeError: Unsupported type <class 'numpy.ndarray'>``, as in CuPy; Python and NumPy scalars are fine;
* reductions and single-element indexing return 0-d device arrays, so ``float(x)``, ``bool(x)``,
  ``int(x)`` and ``x.item()`` are device→host reads and are counted (:mod:`.ledger`), as are
  ``x.get()``, ``x.tolist()``, ``repr(x)`` and data-dependent output sizes (boolean masks, ``nonzero``);
* NumPy functions called on device arrays dispatch to the stand-in (``__array_function__``,
  ``__array_ufunc__``), as they do to CuPy;
* methods and attributes that ``cupy.ndarray`` lacks in the recorded release are missing here too.
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import numpy as np

from .ledger import LEDGER
from .names import NAMES, version

IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy "
            "array explicitly.")
_ATTRIBUTES = set(NAMES["classes"]["cupy:ndarray"])


def unsupported(value: Any, where: str) -> TypeError:
    """CuPy's error for a host array handed to the device, with where it happened."""
    return TypeError(f"Unsupported type {type(value)} (in {where}): a host numpy.ndarray cannot enter CuPy "
                     "arithmetic; upload it once with cupy.asarray, or build it on the device")


def unwrap(value: Any, where: str, sequences: bool = True) -> Any:
    """The NumPy array behind ``value`` for a device operation; host arrays are refused."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, np.ndarray):
        raise unsupported(value, where)
    if isinstance(value, (list, tuple)):
        if not sequences:
            raise TypeError(f"Unsupported type {type(value)} (in {where}): CuPy ufuncs take arrays or scalars")
        return type(value)(unwrap(v, where) for v in value)
    return value


def unwrap_call(args: tuple, kwargs: dict, where: str, sequences: bool = True) -> tuple[tuple, dict]:
    return (tuple(unwrap(a, where, sequences) for a in args),
            {k: unwrap(v, where, sequences) for k, v in kwargs.items()})


def wrap(value: Any) -> Any:
    """NumPy results as device results: arrays and NumPy scalars become (0-d) device arrays."""
    if isinstance(value, np.ndarray):
        return ndarray._of(value)
    if isinstance(value, np.generic):
        return ndarray._of(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(wrap(v) for v in value)
    if isinstance(value, list):
        return [wrap(v) for v in value]
    return value


def _index(key: Any, where: str) -> Any:
    """An index for a device array: device arrays pass, host index arrays are uploaded (counted)."""
    if isinstance(key, tuple):
        return tuple(_index(k, where) for k in key)
    if isinstance(key, ndarray):
        if key._a.dtype == bool:
            LEDGER.record("d2h", 1)  # CuPy reads the mask's count to size the result
        return key._a
    if isinstance(key, np.ndarray) or isinstance(key, list):
        arr = np.asarray(key)
        LEDGER.record("h2d", arr.size)
        if arr.dtype == bool:
            LEDGER.record("d2h", 1)
        return arr
    return key


def _operand(other: Any, where: str) -> Any:
    if isinstance(other, ndarray):
        return other._a
    if isinstance(other, np.ndarray):
        raise unsupported(other, where)
    if isinstance(other, (int, float, complex, bool, np.generic)):
        return other
    return NotImplemented


class ndarray:  # noqa: N801 - CuPy's name
    """The stand-in's device array (``cupy.ndarray``); ``._a`` is the NumPy array underneath."""

    __slots__ = ("_a", "__weakref__")
    __array_priority__ = 100.0
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, shape: Any, dtype: Any = float, order: str = "C") -> None:
        self._a = np.empty(shape, dtype=dtype, order=order)

    @classmethod
    def _of(cls, a: np.ndarray) -> "ndarray":
        out = object.__new__(cls)
        out._a = a
        return out

    # ---------------------------------------------------------------- metadata (no transfer)
    shape = property(lambda self: self._a.shape)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    dtype = property(lambda self: self._a.dtype)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: ndarray._of(self._a.T))
    real = property(lambda self: ndarray._of(self._a.real))
    imag = property(lambda self: ndarray._of(self._a.imag))

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        for i in range(len(self._a)):
            yield wrap(self._a[i])

    # ---------------------------------------------------------------- explicit transfers (counted)
    def get(self, stream: Any = None, order: str = "C", out: Any = None, blocking: bool = True) -> np.ndarray:
        LEDGER.record("d2h", self._a.size)
        return np.array(self._a, order=order)

    def set(self, arr: np.ndarray, stream: Any = None) -> None:
        arr = np.asarray(arr)
        LEDGER.record("h2d", arr.size)
        self._a[...] = arr

    def item(self, *args: Any) -> Any:
        LEDGER.record("d2h", 1)
        return self._a.item(*args)

    def tolist(self) -> Any:
        LEDGER.record("d2h", self._a.size)
        return self._a.tolist()

    def _scalar(self, kind: Callable) -> Any:
        if self._a.size != 1:
            raise TypeError("only size-1 arrays can be converted to Python scalars")
        LEDGER.record("d2h", 1)
        return kind(self._a.reshape(()).item())

    def __float__(self) -> float:
        return self._scalar(float)

    def __int__(self) -> int:
        return self._scalar(int)

    def __complex__(self) -> complex:
        return self._scalar(complex)

    def __index__(self) -> int:
        if self._a.dtype.kind not in "iub":
            raise TypeError("only integer arrays with one element can be converted to an index")
        return self._scalar(int)

    def __bool__(self) -> bool:
        if self._a.size != 1:
            raise ValueError("The truth value of an array with more than one element is ambiguous. Use a.any() or a.all()")
        return self._scalar(bool)

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(IMPLICIT)

    def __repr__(self) -> str:
        LEDGER.record("d2h", self._a.size)
        return repr(self._a)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._a.ndim == 0:
            LEDGER.record("d2h", 1)
            return format(self._a.item(), spec)
        return format(repr(self), spec)

    # ---------------------------------------------------------------- indexing
    def __getitem__(self, key: Any) -> Any:
        return wrap(self._a[_index(key, "cupy.ndarray.__getitem__")])

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(value, np.ndarray):
            LEDGER.record("h2d", value.size)  # CuPy uploads a host value
            v = value
        elif isinstance(value, (list, tuple)):
            v = np.asarray(unwrap(value, "cupy.ndarray.__setitem__"))
            LEDGER.record("h2d", v.size)
        else:
            v = unwrap(value, "cupy.ndarray.__setitem__")
        self._a[_index(key, "cupy.ndarray.__setitem__")] = v

    # ---------------------------------------------------------------- methods of the recorded release
    def copy(self, order: str = "C") -> "ndarray":
        return ndarray._of(self._a.copy(order=order))

    def astype(self, dtype: Any, order: str = "K", casting: Any = None, subok: Any = None, copy: bool = True) -> "ndarray":
        return ndarray._of(self._a.astype(dtype, order=order, copy=copy))

    def nonzero(self) -> tuple:
        LEDGER.record("d2h", 1)
        return wrap(self._a.nonzero())

    def __getattr__(self, name: str) -> Any:
        if name in _ATTRIBUTES and hasattr(np.ndarray, name):
            method = getattr(self._a, name)
            if not callable(method):
                return wrap(method)

            def bound(*args: Any, **kwargs: Any) -> Any:
                args, kwargs = unwrap_call(args, kwargs, f"cupy.ndarray.{name}")
                return wrap(method(*args, **kwargs))

            bound.__name__ = name
            return bound
        raise AttributeError(f"'cupy.ndarray' object has no attribute {name!r} (not in CuPy {version()}, or not "
                             "emulated by the strict stand-in)")

    # ---------------------------------------------------------------- dispatch from NumPy
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        for x in inputs:
            if isinstance(x, np.ndarray):
                raise unsupported(x, f"numpy.{ufunc.__name__} on a cupy.ndarray")
        if ufunc.__name__ not in NAMES["modules"]["cupy"]:
            return NotImplemented
        args, kwargs = unwrap_call(inputs, kwargs, f"cupy.{ufunc.__name__}")
        return wrap(getattr(ufunc, method)(*args, **kwargs))

    def __array_function__(self, func: Any, types: Any, args: tuple, kwargs: dict) -> Any:
        from .modules import MODULES

        module = func.__module__.replace("numpy", "cupy", 1)
        target = MODULES.get(module)
        if target is None or func.__name__ not in NAMES["modules"].get(module, {}):
            return NotImplemented
        return getattr(target, func.__name__)(*args, **kwargs)


def _binary(name: str, inplace: bool = False) -> Callable:
    def op(self: ndarray, other: Any) -> Any:
        if type(other).__name__ in ("spmatrix", "LinearOperator"):
            return NotImplemented
        value = _operand(other, f"cupy.ndarray.{name}")
        if value is NotImplemented:
            return NotImplemented
        result = getattr(self._a, name)(value)
        if inplace:
            return self
        return wrap(result)

    op.__name__ = name
    return op


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor",
              "lshift", "rshift", "divmod"):
    setattr(ndarray, f"__{_name}__", _binary(f"__{_name}__"))
    setattr(ndarray, f"__r{_name}__", _binary(f"__r{_name}__"))
    if _name != "divmod":
        setattr(ndarray, f"__i{_name}__", _binary(f"__i{_name}__", inplace=True))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(ndarray, f"__{_name}__", _binary(f"__{_name}__"))
for _name, _fn in (("neg", operator.neg), ("pos", operator.pos), ("abs", operator.abs), ("invert", operator.invert)):
    setattr(ndarray, f"__{_name}__", (lambda fn: lambda self: ndarray._of(fn(self._a)))(_fn))
ndarray.__module__ = "cupy"
