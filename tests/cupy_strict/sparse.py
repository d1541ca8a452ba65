"""``cupyx.scipy.sparse`` and ``cupyx.scipy.sparse.linalg`` of the stand-in (SciPy underneath).

Stricter than CuPy in one place, on purpose: a SciPy matrix handed to a constructor is refused
(``TypeError``).  Real CuPy would upload it — a host→device copy of the whole matrix, every time it
is rebuilt (each Newton iteration for a Jacobian) — so matrices must be assembled from device arrays.
Host arrays are refused everywhere, as by CuPy.  ``splu`` and ``spilu`` factorise on the host in CuPy
too: the stand-in counts their download of the matrix and upload of the factors; their ``solve`` runs
on the device.  ``spilu(..., fill_factor=1)`` (CuPy's device ILU(0) with cuSPARSE) is not emulated.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as ssp
import scipy.sparse.linalg as sspla

from .device_array import ndarray, unsupported, wrap
from .ledger import LEDGER
from .modules import _missing, check_signature
from .names import NAMES, version

_SCIPY_REFUSED = ("cupyx.scipy.sparse (strict stand-in) refuses a SciPy matrix: uploading a host-assembled matrix "
                  "costs a host→device copy of the whole matrix each time it is rebuilt; assemble it on the device "
                  "from cupy arrays, e.g. csr_matrix((data, (row, col)), shape=...)")


def _to_scipy(value: Any, where: str) -> Any:
    """The SciPy/NumPy object behind a stand-in argument (device arrays and matrices), recursively."""
    if isinstance(value, spmatrix):
        return value._m
    if isinstance(value, ndarray):
        return value._a
    if ssp.issparse(value):
        raise TypeError(f"{where}: {_SCIPY_REFUSED}")
    if isinstance(value, np.ndarray):
        raise unsupported(value, where)
    if isinstance(value, (list, tuple)):
        return type(value)(_to_scipy(v, where) for v in value)
    return value


def _from_scipy(value: Any) -> Any:
    if ssp.issparse(value):
        return _matrix(value)
    if isinstance(value, np.matrix):
        return wrap(np.asarray(value))
    return wrap(value)


def _matrix(m: Any) -> "spmatrix":
    cls = {"csr": csr_matrix, "csc": csc_matrix, "coo": coo_matrix, "dia": dia_matrix}.get(m.format)
    if cls is None:
        m, cls = m.tocsr(), csr_matrix
    out = object.__new__(cls)
    out._m = m
    return out


class spmatrix:
    """Base of the stand-in's sparse matrices; ``._m`` is the SciPy matrix underneath."""

    format = "abstract"
    __array_priority__ = 101  # as CuPy's: NumPy scalars defer to the matrix's reflected operators

    def __init__(self, arg1: Any, shape: Any = None, dtype: Any = None, copy: bool = False):
        where = f"cupyx.scipy.sparse.{type(self).__name__}"
        if ssp.issparse(arg1):
            raise TypeError(f"{where}: {_SCIPY_REFUSED}")
        if isinstance(arg1, spmatrix):
            m = arg1._m.asformat(self.format, copy=copy)
        elif isinstance(arg1, tuple) and len(arg1) == 2 and all(isinstance(v, (int, np.integer)) for v in arg1):
            m = ssp.csr_matrix(arg1, dtype=dtype).asformat(self.format)
        elif isinstance(arg1, tuple):
            parts = _to_scipy(arg1, where)
            m = self._scipy(parts, shape=shape, dtype=dtype, copy=copy)
        elif isinstance(arg1, ndarray):
            m = self._scipy(arg1._a, shape=shape, dtype=dtype)
        else:
            raise TypeError(f"{where}: unsupported input {type(arg1)}; give cupy arrays or a cupyx sparse matrix")
        if dtype is not None:
            m = m.astype(dtype)
        self._m = m

    def _scipy(self, arg: Any, **kw: Any) -> Any:
        return getattr(ssp, f"{self.format}_matrix")(arg, **kw)

    # ------------------------------------------------------------- attributes (no transfer)
    shape = property(lambda self: self._m.shape)
    nnz = property(lambda self: self._m.nnz)
    dtype = property(lambda self: self._m.dtype)
    ndim = property(lambda self: 2)

    def __getattr__(self, name: str) -> Any:
        allowed = NAMES["classes"].get(f"cupyx.scipy.sparse:{type(self).__name__}", ())
        if name.startswith("_") or name not in allowed or not hasattr(self._m, name):
            raise AttributeError(f"cupyx.scipy.sparse.{type(self).__name__} has no attribute {name!r} in CuPy "
                                 f"{version()} (or the strict stand-in does not emulate it)")
        value = getattr(self._m, name)
        if not callable(value):
            return _from_scipy(value)

        def method(*args: Any, **kwargs: Any) -> Any:
            where = f"cupyx.scipy.sparse.{type(self).__name__}.{name}"
            return _from_scipy(value(*_to_scipy(args, where), **_to_scipy(kwargs, where)))

        return method

    def get(self, stream: Any = None) -> Any:
        """A SciPy copy on the host (counted)."""
        LEDGER.record("d2h", self._m.nnz)
        return self._m.copy()

    @property
    def T(self) -> "spmatrix":
        return _matrix(self._m.T)

    def transpose(self, axes: Any = None, copy: bool = False) -> "spmatrix":
        return _matrix(self._m.transpose())

    def __repr__(self) -> str:
        return f"<cupyx.scipy.sparse.{type(self).__name__} (strict stand-in) of shape {self.shape}, nnz={self.nnz}>"

    # ------------------------------------------------------------- arithmetic
    def _other(self, other: Any, op: str) -> Any:
        return _to_scipy(other, f"cupyx.scipy.sparse.{type(self).__name__}.{op}")

    def __matmul__(self, other: Any) -> Any:
        return _from_scipy(self._m @ self._other(other, "__matmul__"))

    def __rmatmul__(self, other: Any) -> Any:
        return _from_scipy(self._other(other, "__rmatmul__") @ self._m)

    def __mul__(self, other: Any) -> Any:
        other = self._other(other, "__mul__")
        return _from_scipy(self._m * other if np.isscalar(other) else self._m @ other)

    def __rmul__(self, other: Any) -> Any:
        other = self._other(other, "__rmul__")
        return _from_scipy(other * self._m if np.isscalar(other) else other @ self._m)

    def __truediv__(self, other: Any) -> Any:
        return _from_scipy(self._m / self._other(other, "__truediv__"))

    def __add__(self, other: Any) -> Any:
        return _from_scipy(self._m + self._other(other, "__add__"))

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return _from_scipy(self._m - self._other(other, "__sub__"))

    def __rsub__(self, other: Any) -> Any:
        return _from_scipy(self._other(other, "__rsub__") - self._m)

    def __neg__(self) -> Any:
        return _matrix(-self._m)

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError("Implicit conversion to a NumPy array is not allowed; use .get()")


class csr_matrix(spmatrix):  # noqa: N801 - CuPy's names
    format = "csr"


class csc_matrix(spmatrix):  # noqa: N801
    format = "csc"


class coo_matrix(spmatrix):  # noqa: N801
    format = "coo"


class dia_matrix(spmatrix):  # noqa: N801
    format = "dia"


for _cls in (spmatrix, csr_matrix, csc_matrix, coo_matrix, dia_matrix):
    _cls.__module__ = "cupyx.scipy.sparse"


def _function(module: str, name: str, impl: Callable) -> Callable:
    def function(*args: Any, **kwargs: Any) -> Any:
        check_signature(module, name, args, kwargs)
        where = f"{module}.{name}"
        return _from_scipy(impl(*_to_scipy(args, where), **_to_scipy(kwargs, where)))

    function.__name__ = name
    return function


def namespace() -> dict[str, Any]:
    """``cupyx.scipy.sparse``."""
    out: dict[str, Any] = {"spmatrix": spmatrix, "csr_matrix": csr_matrix, "csc_matrix": csc_matrix,
                           "coo_matrix": coo_matrix, "dia_matrix": dia_matrix,
                           "issparse": lambda x: isinstance(x, spmatrix), "isspmatrix": lambda x: isinstance(x, spmatrix)}
    for fmt in ("csr", "csc", "coo", "dia"):
        out[f"isspmatrix_{fmt}"] = (lambda f: lambda x: isinstance(x, spmatrix) and x.format == f)(fmt)
    for name in NAMES["modules"]["cupyx.scipy.sparse"]:
        if name not in out and hasattr(ssp, name) and callable(getattr(ssp, name)) \
                and NAMES["modules"]["cupyx.scipy.sparse"][name]["kind"] == "function":
            out[name] = _function("cupyx.scipy.sparse", name, getattr(ssp, name))
    return out


# ------------------------------------------------------------------------------------------- linalg
class LinearOperator:
    """``cupyx.scipy.sparse.linalg.LinearOperator``: ``matvec`` takes and must return device arrays."""

    def __init__(self, shape: Any, matvec: Callable, rmatvec: Callable | None = None, matmat: Callable | None = None,
                 dtype: Any = None, rmatmat: Callable | None = None):
        self.shape, self.dtype, self._matvec = tuple(shape), np.dtype(dtype or float), matvec

    def matvec(self, x: Any) -> Any:
        if not isinstance(x, ndarray):
            raise TypeError(f"LinearOperator.matvec needs a cupy.ndarray, got {type(x)}")
        y = self._matvec(x)
        if not isinstance(y, ndarray):
            raise TypeError(f"a cupyx LinearOperator's matvec returned {type(y)}, not a cupy.ndarray")
        return y

    __call__ = matvec
    dot = matvec

    def __matmul__(self, x: Any) -> Any:
        return self.matvec(x)


LinearOperator.__module__ = "cupyx.scipy.sparse.linalg"


def aslinearoperator(A: Any) -> LinearOperator:
    if isinstance(A, LinearOperator):
        return A
    if isinstance(A, (spmatrix, ndarray)):
        return LinearOperator(A.shape, lambda v: A @ v, dtype=A.dtype)
    raise TypeError(f"cannot make a cupyx LinearOperator from {type(A)}")


def _host_operator(A: Any) -> Any:
    """A SciPy operator that runs the device operator ``A`` (the stand-in's internal trips are not counted)."""
    op = aslinearoperator(A)
    return sspla.LinearOperator(op.shape, matvec=lambda v: op.matvec(ndarray._of(np.asarray(v).ravel()))._a,
                                dtype=op.dtype)


def _krylov(name: str) -> Callable:
    solver = getattr(sspla, name)

    def solve(A: Any, b: Any, *args: Any, **kwargs: Any) -> tuple[Any, int]:
        check_signature("cupyx.scipy.sparse.linalg", name, (A, b) + args, kwargs)
        where = f"cupyx.scipy.sparse.linalg.{name}"
        if not isinstance(b, ndarray):
            raise unsupported(b, where) if isinstance(b, np.ndarray) else TypeError(f"{where}: b must be a cupy.ndarray")
        kwargs = dict(kwargs)
        for key in ("M",):
            if kwargs.get(key) is not None:
                kwargs[key] = _host_operator(kwargs[key])
        if kwargs.get("x0") is not None:
            kwargs["x0"] = _to_scipy(kwargs["x0"], where)
        kwargs.pop("callback_type", None) if name != "gmres" else None
        x, info = solver(_host_operator(A), b._a, *args, **kwargs)
        return wrap(x), info

    solve.__name__ = name
    return solve


class SuperLU:
    """CuPy's ``SuperLU``: factors computed on the host (counted copies), ``solve`` on the device."""

    def __init__(self, lu: Any):
        self._lu = lu
        self.shape, self.nnz = lu.shape, lu.nnz
        LEDGER.record("h2d", lu.L.nnz + lu.U.nnz)

    def solve(self, rhs: Any, trans: str = "N") -> Any:
        if not isinstance(rhs, ndarray):
            raise TypeError("ojb must be cupy.ndarray")  # CuPy's message
        return wrap(self._lu.solve(rhs._a, trans=trans))


SuperLU.__module__ = "cupyx.scipy.sparse.linalg"


def _factorisation(name: str) -> Callable:
    factor = getattr(sspla, name)

    def run(A: Any, *args: Any, **kwargs: Any) -> SuperLU:
        check_signature("cupyx.scipy.sparse.linalg", name, (A,) + args, kwargs)
        if not isinstance(A, spmatrix):
            raise TypeError("A must be cupyx.scipy.sparse.spmatrix")
        if name == "spilu" and kwargs.get("fill_factor") == 1:
            raise NotImplementedError("spilu(fill_factor=1) is CuPy's device ILU(0) (cuSPARSE csrilu02); the strict "
                                      "stand-in does not emulate it")
        LEDGER.record("d2h", A.nnz)  # CuPy: A.get() before SciPy's factorisation
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        return SuperLU(factor(A._m.tocsc(), *args, **kwargs))

    run.__name__ = name
    return run


def linalg_namespace() -> dict[str, Any]:
    """``cupyx.scipy.sparse.linalg``."""
    module = "cupyx.scipy.sparse.linalg"
    out: dict[str, Any] = {
        "LinearOperator": LinearOperator,
        "aslinearoperator": aslinearoperator,
        "SuperLU": SuperLU,
        "splu": _factorisation("splu"),
        "spilu": _factorisation("spilu"),
        "spsolve": _function(module, "spsolve", sspla.spsolve),
        "spsolve_triangular": _function(module, "spsolve_triangular", sspla.spsolve_triangular),
        "norm": _function(module, "norm", sspla.norm),
        "factorized": lambda A: _factorisation("splu")(A).solve,
    }
    for name in ("gmres", "cg", "cgs", "bicgstab", "minres"):
        if name in NAMES["modules"][module]:
            out[name] = _krylov(name)
    for name in NAMES["modules"][module]:
        out.setdefault(name, _missing(f"{module}.{name}"))
    return out
