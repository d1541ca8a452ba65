"""Validation of what users hand the solvers: one place for the checks and their messages.

Every public constructor and entry point checks its arguments with the functions here, so that bad input
fails at once, where it was given, with one kind of message::

    NAME must be WHAT IS ALLOWED, got VALUE (TYPE); WHAT TO CHANGE

* numbers — :func:`real_number`, :func:`integer`: finite and real unless told otherwise, integral where
  required (``10.0`` is the integer 10, ``10.7`` is refused), Python and NumPy scalars alike (``np.int64(2)``
  and 0-d arrays are numbers), ``bool`` refused;
* arrays — :func:`real_array`: real dtype, shape, finiteness, sign;
* choices and flags — :func:`one_of` (with a "did you mean" for a near miss), :func:`boolean`,
  :func:`function`;
* files — :func:`writable_path` (no regular file in the way of the folders to create);
* densities and covariances — :func:`validate_density`, :func:`as_covariance`.

A wrong *type* (a string, a complex number, an array where one number is wanted) is a ``TypeError``; a
value of the right type outside what is allowed (NaN, negative, not an integer, out of range) is a
``ValueError``.  Set-ups that run but are unlikely to mean what was intended (a density's mass at a wall, a
width below the grid spacing) warn with :class:`SetupWarning`; a run that would take more than
:data:`MAX_STEPS` steps or keep more than :data:`MAX_SAVES` snapshots is refused before it starts.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import numbers
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from .backend import to_numpy

if TYPE_CHECKING:  # grids imports this module
    from .grids import Grid

__all__ = ["real_number", "integer", "boolean", "one_of", "real_array", "function", "writable_path",
           "check_step_count", "checksum", "validate_density", "as_covariance", "RenormalisedDensityWarning", "SetupWarning",
           "MASS_TOL", "MAX_STEPS", "MAX_SAVES", "MAX_DIMENSION", "MIN_VARIANCE", "shown", "grid_of"]

#: steps above which a run is refused before it starts (``evolve(..., max_steps=...)`` lifts the limit): at
#: ~10 µs per step of the smallest problem, 10⁷ steps are minutes of pure loop overhead, and a count above it
#: is almost always a step size or a save spacing off by orders of magnitude
MAX_STEPS = 10**7

#: snapshots above which a run is refused: each is a host copy of the state
MAX_SAVES = 10**6

#: largest dimension of a point (a covariance is ``dim × dim``, dense)
MAX_DIMENSION = 1000

#: smallest variance a covariance may have: the precision ``1/σ²`` (and its products with squared distances) must
#: stay finite
MIN_VARIANCE = 1e-100


class SetupWarning(UserWarning):
    """A set-up that runs but is unlikely to mean what was intended (mass at a wall, a width below the spacing)."""


def shown(value: Any, limit: int = 60) -> str:
    """``value`` as a message shows it: ``VALUE (TYPE)``, arrays by shape, long reprs cut."""
    kind = type(value).__name__
    if isinstance(value, np.generic):
        return f"{value.item()!r} ({kind})"
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype") and len(shape) > 0:
        return f"an array of shape {tuple(shape)} and dtype {value.dtype} ({kind})"
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{text} ({kind})"


def _fail(exc: type[Exception], name: str, allowed: str, value: Any, hint: str) -> Exception:
    return exc(f"{name} must be {allowed}, got {shown(value)}" + (f"; {hint}" if hint else ""))


def _scalar(value: Any) -> Any:
    """``value`` as a host scalar if it is a real number of any array library, else ``None``."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Real):
        return value
    if getattr(value, "ndim", None) == 0 and getattr(getattr(value, "dtype", None), "kind", "") in "iuf":
        return to_numpy(value).item()
    return None


def _number_words(positive: bool, nonnegative: bool, integer: bool, finite: bool,
                  minimum: float | None, maximum: float | None) -> str:
    """What a number must be, in words: "a positive finite number", "an integer ≥ 2", ..."""
    if integer and minimum == 1:
        positive, minimum = True, None
    words = ["positive"] if positive else ["non-negative"] if nonnegative else []
    if finite and not integer:
        words.append("finite")
    words.append("integer" if integer else "number")
    text = ("an " if words[0][0] in "aeiou" else "a ") + " ".join(words)
    if minimum is not None and maximum is not None:
        text += f" in [{_bound(minimum)}, {_bound(maximum)}]"
    elif minimum is not None:
        text += f" ≥ {_bound(minimum)}"
    elif maximum is not None:
        text += f" ≤ {_bound(maximum)}"
    return text


def _bound(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e16 else f"{x:g}"


def real_number(value: Any, name: str, *, positive: bool = False, nonnegative: bool = False,
                integer: bool = False, finite: bool = True, minimum: float | None = None,
                maximum: float | None = None, hint: str = "") -> Any:
    """``value`` checked to be one real number, returned as a Python ``float`` (``int`` with ``integer=True``).

    Parameters
    ----------
    value : number
        A Python or NumPy real scalar, or a 0-d array (NumPy or CuPy).  ``bool`` is not a number here.
    name : str
        The argument's name, as the message starts.
    positive, nonnegative : bool
        Require ``value > 0`` / ``value ≥ 0``.
    integer : bool
        Require an integral value (``10.0`` passes as 10; ``10.7`` and NaN do not).
    finite : bool
        Refuse NaN and ±inf (``finite=False`` still refuses NaN).
    minimum, maximum : float, optional
        Inclusive bounds.
    hint : str
        What to change, appended to the message.

    Raises
    ------
    TypeError
        Not one real number: a string, a complex number, an array with more than one entry, ``None``, ``bool``.
    ValueError
        NaN, infinite (with ``finite``), not integral (with ``integer``), or out of the allowed range.
    """
    allowed = _number_words(positive, nonnegative, integer, finite, minimum, maximum)
    x = _scalar(value)
    if x is None:
        if isinstance(value, (complex, np.complexfloating)) or getattr(getattr(value, "dtype", None), "kind", "") == "c":
            hint = hint or "pass a real number (its real part if the imaginary part is round-off)"
        raise _fail(TypeError, name, allowed, value, hint)
    if isinstance(x, numbers.Integral):
        x = int(x)
        if not integer:
            try:
                x = float(x)
            except OverflowError:
                raise _fail(ValueError, name, allowed, value, hint) from None
    else:
        x = float(x)
        if math.isnan(x) or (finite and math.isinf(x)):
            raise _fail(ValueError, name, allowed, value, hint)
        if integer:
            if not x.is_integer():
                whole = f" (e.g. {round(x)})" if math.isfinite(x) else ""
                raise _fail(ValueError, name, allowed, value, f"pass a whole number{whole}" + (f"; {hint}" if hint else ""))
            x = int(x)
    if (positive and not x > 0) or (nonnegative and not x >= 0) or (minimum is not None and x < minimum) or \
            (maximum is not None and x > maximum):
        raise _fail(ValueError, name, allowed, value, hint)
    return x


def integer(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None,
            hint: str = "") -> int:
    """``value`` checked to be an integer in ``[minimum, maximum]`` (see :func:`real_number`), as a Python ``int``."""
    return real_number(value, name, integer=True, minimum=minimum, maximum=maximum, hint=hint)


def boolean(value: Any, name: str, hint: str = "") -> bool:
    """``value`` checked to be ``True`` or ``False`` (Python or NumPy ``bool``): ``TypeError`` otherwise."""
    if not isinstance(value, (bool, np.bool_)):
        raise _fail(TypeError, name, "True or False", value, hint)
    return bool(value)


def _same(value: Any, choice: Any) -> bool:
    if value is choice:
        return True
    if isinstance(value, (bool, np.bool_)) or isinstance(choice, bool) or isinstance(value, str) != isinstance(choice, str):
        return False
    try:
        return bool(value == choice)
    except Exception:  # an array compared with a choice
        return False


def one_of(value: Any, name: str, choices: Iterable[Any], hint: str = "") -> Any:
    """``value`` checked to be one of ``choices`` (returned as the matching choice).

    ``ValueError`` for a value of the choices' kind (a misspelt name: the message suggests the closest),
    ``TypeError`` for another kind (a number where names are expected).
    """
    choices = list(choices)
    for choice in choices:
        if _same(value, choice):
            return choice
    if not hint and isinstance(value, str):
        close = difflib.get_close_matches(value, [c for c in choices if isinstance(c, str)], n=1)
        hint = f"did you mean {close[0]!r}?" if close else ""
    same_kind = any(isinstance(value, str) == isinstance(c, str) and
                    (isinstance(value, str) or _scalar(value) is not None) for c in choices if c is not None)
    listed = ", ".join(repr(c) for c in choices)
    raise _fail(ValueError if same_kind else TypeError, name, f"one of {listed}", value, hint)


def function(value: Any, name: str, hint: str = "") -> Any:
    """``value`` checked to be callable (``TypeError`` otherwise)."""
    if not callable(value):
        raise _fail(TypeError, name, "callable", value, hint)
    return value


def real_array(value: Any, name: str, *, shape: Sequence[int | None] | None = None,
               ndim: int | Sequence[int] | None = None, finite: bool = True, nonnegative: bool = False,
               positive: bool = False, xp: Any = np, hint: str = "") -> Any:
    """``value`` as a float64 array of ``xp`` (default NumPy), checked (not copied if it already is one).

    Parameters
    ----------
    shape : tuple, optional
        Required shape; ``None`` entries match any length.
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    finite, nonnegative, positive : bool
        Refuse NaN/inf entries (``finite=False``: no check, for callers with their own message), negative
        entries, non-positive entries.

    Raises
    ------
    TypeError
        Not an array of real numbers (strings, complex numbers, ragged nesting, ``None``).
    ValueError
        Wrong shape or number of dimensions, NaN/inf entries, entries of the wrong sign.
    """
    try:
        if xp is np and not isinstance(value, (list, tuple)):
            value = to_numpy(value)  # a device array to the host
        arr = xp.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nesting
        raise _fail(TypeError, name, "an array of real numbers", value,
                    hint or "nested lists need rows of equal length") from exc
    if arr.dtype.kind not in "iuf" or isinstance(value, (bool, np.bool_)):
        what = "complex" if arr.dtype.kind == "c" else f"dtype {arr.dtype}"
        raise TypeError(f"{name} must be an array of real numbers, got {shown(value)} ({what})"
                        + (f"; {hint}" if hint else ""))
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            words = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must have {words} dimension(s), got shape {tuple(arr.shape)}"
                             + (f"; {hint}" if hint else ""))
    if shape is not None:
        ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
        if not ok:
            wanted = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
            raise ValueError(f"{name} must have shape {wanted}, got shape {tuple(arr.shape)}"
                             + (f"; {hint}" if hint else ""))
    arr = arr.astype(xp.float64, copy=False)
    if arr.size:
        count = int(xp.sum(~xp.isfinite(arr))) if finite else 0
        if count:
            raise ValueError(f"{name} must be finite, got {count} NaN/inf entr{'y' if count == 1 else 'ies'} "
                             f"in an array of shape {tuple(arr.shape)}" + (f"; {hint}" if hint else ""))
        if positive or nonnegative:
            wrong = arr <= 0 if positive else arr < 0
            count = int(xp.sum(wrong))
            if count:
                sign = "positive" if positive else "non-negative"
                raise ValueError(f"{name} must be {sign}, got {count} entr{'y' if count == 1 else 'ies'} "
                                 f"{'≤' if positive else '<'} 0 (minimum {float(xp.min(arr)):.3g})"
                                 + (f"; {hint}" if hint else ""))
    return arr


def grid_of(grid: Any, name: str = "grid", kind: str | None = None) -> "Grid":
    """``grid`` checked to be a :class:`~fieldflow.core.grids.Grid` (of ``kind`` ``"box"`` or ``"torus"`` if given)."""
    from .grids import Grid

    build = {"box": "Grid.box(n, extent)", "torus": "Grid.torus(n)", None: "Grid.box(n, extent) or Grid.torus(n)"}
    if not isinstance(grid, Grid):
        raise TypeError(f"{name} must be a fieldflow Grid ({build[kind]}), got {shown(grid)}")
    if kind is not None and grid.kind != kind:
        raise ValueError(f"{name} must be a {kind} grid ({build[kind]}), got {grid!r}")
    return grid


def writable_path(value: Any, name: str) -> Path:
    """``value`` as a ``Path`` whose folder exists or can be created: ``TypeError`` if it is not a path,
    ``ValueError`` naming the regular file that stands where a folder is needed (or the path if it is a folder)."""
    if not isinstance(value, (str, os.PathLike)) or isinstance(value, bytes) or value == "":
        raise _fail(TypeError, name, "a file path (str or pathlib.Path)", value, "")
    path = Path(value)
    if path.is_dir():
        raise ValueError(f"{name} must be a file path, got {str(path)!r}, which is a folder; name a file in it "
                         f"(e.g. {str(path / 'run.npz')!r})")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{name} = {str(path)!r} needs the folder {str(parent)!r}, but that is a regular "
                                 "file; choose another path or move the file")
            break
    return path


def check_step_count(steps: float, what: str, hint: str) -> None:
    """``ValueError`` if a run would take more than :data:`MAX_STEPS` steps (``what`` says which, ``hint`` how to fix)."""
    if steps > MAX_STEPS:
        raise ValueError(f"{what} is {steps:.3g} steps, more than the {MAX_STEPS:.0e} a run may take; {hint}")


def checksum(*arrays: Any) -> str:
    """SHA-256 (hex) of NumPy arrays — dtype, shape and bytes of each — to verify files on loading."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


#: ``max|C − Cᵀ|`` allowed, relative to ``max|C|``, before a covariance matrix counts as non-symmetric
SYMMETRY_TOL = 1e-10


#: relative mass error ``|∫ρ − 1|`` above which renormalising a density warns: larger than the quadrature
#: error of a normalised density on a resolved grid, so it means the input was not normalised
MASS_TOL = 1e-4


class RenormalisedDensityWarning(UserWarning):
    """A density handed to a solver did not have mass 1 and was divided by its mass."""


def validate_density(grid: Grid, rho: Any, name: str = "density", normalise: bool = False,
                     mass_tol: float | None = MASS_TOL) -> Any:
    """Check that ``rho`` is an admissible density on ``grid`` and return it as a float grid array.

    Parameters
    ----------
    grid : Grid
        The grid ``rho`` lives on.
    rho : array
        Values at the grid points, shape ``grid.shape``.
    name : str
        How messages call ``rho``.
    normalise : bool
        Divide by the mass ``grid.integrate(rho)``.  If the mass is off 1 by more than ``mass_tol``
        (relative), a :class:`~fieldflow.core.validation.RenormalisedDensityWarning` says so: the solver then evolves ``rho/mass``,
        not what was passed.
    mass_tol : float or None
        Tolerance of that warning; ``None`` renormalises silently (for inputs that are unnormalised by
        design, as in :func:`fieldflow.densities.normalize`).

    Raises
    ------
    ValueError
        If ``rho`` has the wrong shape, a complex or non-numeric dtype, NaN/inf entries, negative
        entries, or zero mass. The message says which cells are wrong and what to change.
    """
    xp = grid.xp
    try:
        arr = xp.asarray(rho)
    except Exception as exc:  # pragma: no cover - exotic input
        raise ValueError(f"{name} could not be converted to an array: {exc}") from exc
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be a real array, got dtype {arr.dtype}")
    if tuple(arr.shape) != grid.shape:
        raise ValueError(
            f"{name} has shape {tuple(arr.shape)} but the grid has shape {grid.shape}; "
            "evaluate it on the same grid (grid.points / grid.mesh)"
        )
    arr = arr.astype(xp.float64)
    bad = ~xp.isfinite(arr)
    if bool(xp.any(bad)):
        raise ValueError(f"{name} has {int(xp.sum(bad))} non-finite (NaN/inf) entries; it must be finite everywhere")
    neg = arr < 0
    if bool(xp.any(neg)):
        raise ValueError(
            f"{name} is negative in {int(xp.sum(neg))} cells (minimum {float(xp.min(arr)):.3e}); "
            "a probability density must be non-negative"
        )
    mass = grid.integrate(arr)
    if not mass > 0:
        raise ValueError(f"{name} has zero mass; it cannot be normalised to a probability density")
    if normalise:
        if mass_tol is not None and abs(float(mass) - 1.0) > mass_tol:
            warnings.warn(
                f"{name} has mass {float(mass):.6g}, not 1: it is divided by its mass, so the run starts from a "
                f"density {1 / float(mass):.4g} times the one given; normalise it first "
                "(ff.densities.normalize(grid, rho)) to make this explicit", RenormalisedDensityWarning, stacklevel=3)
        arr = arr / mass
    return arr


def as_covariance(cov: Any, dim: int, name: str = "cov") -> np.ndarray:
    """The ``dim × dim`` covariance matrix ``Σ`` that ``cov`` stands for, checked (a NumPy array).

    ``cov`` may be

    * a scalar ``σ²`` (isotropic: ``Σ = σ² I``),
    * a length-``dim`` vector of variances (diagonal: ``Σ = diag(σ₁², …, σ_d²)``),
    * a full ``dim × dim`` matrix, symmetric to ``SYMMETRY_TOL`` relative to its largest entry
      (returned exactly symmetric, ``(Σ + Σᵀ)/2``).

    Units: those of ``x²`` for a law of ``x``.  The matrix lives on the host (it is ``dim × dim``);
    callers move what they derive from it (precision, Cholesky factor) to their array namespace.

    Raises
    ------
    TypeError
        If ``cov`` is not made of real numbers (complex, strings, ragged nesting).
    ValueError
        If it has NaN/inf entries, the wrong shape, a non-positive variance, or is a matrix that is
        not symmetric or not positive definite.  The message gives what was passed and what to change.
    """
    dim = integer(dim, f"the dimension of {name}", minimum=1, maximum=MAX_DIMENSION)
    try:
        C = np.asarray(to_numpy(cov))
    except ValueError as exc:  # ragged nesting
        raise TypeError(f"{name} must be a number, a vector or a matrix of real numbers, got {cov!r}") from exc
    if C.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be made of real numbers, got {cov!r} (dtype {C.dtype})")
    C = C.astype(float)
    if not np.all(np.isfinite(C)):
        raise ValueError(f"{name} has NaN or infinite entries: {C.tolist()}; every variance must be finite")
    if C.ndim == 0:
        if not C >= MIN_VARIANCE:
            raise ValueError(f"a scalar {name} is the variance σ² of every coordinate and must be positive, got "
                             f"{float(C)}; pass a variance ≥ {MIN_VARIANCE:g}")
        return float(C) * np.eye(dim)
    if C.ndim == 1:
        if C.shape != (dim,):
            raise ValueError(f"a vector {name} holds one variance per coordinate: it needs {dim} entries, got {C.shape[0]}")
        if np.any(C < MIN_VARIANCE):
            raise ValueError(f"the variances in {name} must be positive, got {C.tolist()}; pass variances ≥ "
                             f"{MIN_VARIANCE:g}")
        return np.diag(C)
    if C.shape != (dim, dim):
        raise ValueError(
            f"{name} must be a scalar variance, a length-{dim} vector of variances or a {dim}x{dim} matrix, "
            f"got shape {C.shape}"
        )
    asym = float(np.max(np.abs(C - C.T)))
    if asym > SYMMETRY_TOL * float(np.max(np.abs(C))):
        raise ValueError(
            f"the covariance matrix {name} must be symmetric, but max|C - Cᵀ| = {asym:.3g} for {C.tolist()}; "
            "pass (C + C.T)/2 if the asymmetry is round-off"
        )
    C = 0.5 * (C + C.T)
    eigenvalues = np.linalg.eigvalsh(C)
    if not eigenvalues[0] >= MIN_VARIANCE:
        raise ValueError(
            f"the covariance matrix {name} must be positive definite, but its eigenvalues are {eigenvalues.tolist()} "
            f"for {C.tolist()}; every direction needs a positive variance"
        )
    return C
