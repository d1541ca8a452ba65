"""Translation-invariant covariances on the lattice torus, as Fourier multipliers.

A translation-invariant symmetric matrix ``C`` on ``ℝ^Λ`` is diagonal in the Fourier basis:
``Ĉf(k) = c(k) f̂(k)`` with a real, even symbol ``c``.  It is a covariance (positive definite) iff
``c > 0``.  Applying ``C``, ``C^{1/2}`` or ``Ċ_t`` costs one real FFT and one inverse.

Covariance decompositions ``C_t = ∫_0^t Ċ_s ds`` (:ref:`conventions-polchinski`), with ``A = −Δ_ε + m²``:

* :class:`PauliVillars`: ``C_t = (A + 1/t)^{-1}``, ``Ċ_t = (1 + tA)^{-2}``, ``C_∞ = A^{-1}``;
* :class:`HeatKernel`: ``Ċ_t = e^{-tA}``, ``C_t = (1 − e^{-tA}) A^{-1}``, ``C_∞ = A^{-1}``;
* :class:`FromDerivative`: a user symbol ``Ċ_t(k)``; ``C_t`` by adaptive quadrature in ``t``.

Exact sampling of ``N(0, C)`` (:class:`GaussianFieldSampler`) draws the Fourier coefficients
directly: ``φ̂(k) = (|Λ| c(k))^{1/2} ξ(k)`` with ``ξ`` standard complex Gaussian made Hermitian
(``ξ(−k) = \\overline{ξ(k)}``, real on self-conjugate modes), then one inverse real FFT.  Then
``E φ_x φ_y = |Λ|^{-2} Σ_k |Λ| c(k) e^{ik(x−y)} = C(x − y)`` exactly; the cost is ``≈|Λ|``
normal variates and one ``irfftn`` per field.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numpy as np

from ..core.backend import get_fft
from ..core.validation import function, integer, real_array, real_number, shown
from .lattice import Lattice

__all__ = [
    "FourierOperator",
    "LatticeCovariance",
    "GaussianFieldSampler",
    "CovarianceDecomposition",
    "PauliVillars",
    "HeatKernel",
    "FromDerivative",
]


def _negated_index(lattice: Lattice) -> tuple[np.ndarray, ...]:
    """Index arrays mapping each mode ``k`` to ``−k`` on the full spectrum."""
    neg = (-np.arange(lattice.n)) % lattice.n
    return tuple(neg.reshape([-1 if a == b else 1 for b in range(lattice.dim)]) for a in range(lattice.dim))


def _lattice(lattice: Any) -> Lattice:
    if not isinstance(lattice, Lattice):
        raise TypeError(f"lattice must be a fieldflow.polchinski.Lattice, got {shown(lattice)}")
    return lattice


class FourierOperator:
    """A translation-invariant symmetric operator on ``ℝ^Λ`` given by its real, even symbol.

    Parameters
    ----------
    lattice : Lattice
    symbol : array
        Values on the full spectrum (shape ``lattice.shape``), NumPy; checked real, finite and even.
    fft : str, optional
        FFT provider.
    """

    def __init__(self, lattice: Lattice, symbol: Any, fft: str | None = None, name: str = "operator"):
        _lattice(lattice)
        symbol = real_array(symbol, f"the {name} symbol", finite=False,
                            hint="the eigenvalues on the full spectrum, shape lattice.shape (or broadcastable)")
        if symbol.shape != lattice.shape:
            symbol = np.broadcast_to(symbol, lattice.shape).copy()
        if not np.all(np.isfinite(symbol)):
            raise ValueError(f"the {name} symbol is not finite; check the mass (m > 0 is needed for C_∞)")
        scale = max(float(np.max(np.abs(symbol))), 1e-300)
        if np.max(np.abs(symbol - symbol[np.ix_(*[i.ravel() for i in _negated_index(lattice)])])) > 1e-10 * scale:
            raise ValueError(f"the {name} symbol is not even in k, so the matrix would not be symmetric")
        self.lattice, self.name = lattice, name
        self.full_symbol = symbol
        self.fft = get_fft(fft, backend=lattice.backend)
        xp = lattice.xp
        self.symbol = xp.asarray(np.ascontiguousarray(symbol[..., : lattice.n // 2 + 1]))

    def apply(self, f: Any) -> Any:
        """The operator applied to fields ``f`` of shape ``(..., *lattice.shape)``."""
        axes = self.lattice.axes
        return self.fft.irfftn(self.fft.rfftn(f, axes=axes) * self.symbol, s=self.lattice.shape, axes=axes)

    __call__ = apply

    def power(self, p: float) -> "FourierOperator":
        """``C^p`` (symbol ``c^p``)."""
        return FourierOperator(self.lattice, self.full_symbol**p, name=f"{self.name}^{p:g}")

    @property
    def eigenvalues(self) -> np.ndarray:
        """All eigenvalues (the symbol on the full spectrum), flattened."""
        return self.full_symbol.ravel()

    def matrix(self) -> np.ndarray:
        """The dense ``|Λ|×|Λ|`` matrix (sites in C order); for small lattices only."""
        N = self.lattice.size
        if N > 4096:
            raise ValueError(f"a dense matrix of a lattice with {N} sites is too large; apply the operator instead")
        lat = self.lattice
        kernel = np.fft.ifftn(self.full_symbol).real  # c(x) = C(x, 0)
        idx = np.stack(np.meshgrid(*[np.arange(lat.n)] * lat.dim, indexing="ij"), -1).reshape(N, lat.dim)
        diff = (idx[:, None, :] - idx[None, :, :]) % lat.n
        return kernel[tuple(diff[..., a] for a in range(lat.dim))]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, {self.lattice!r})"


class LatticeCovariance(FourierOperator):
    """A translation-invariant covariance: a :class:`FourierOperator` with a non-negative symbol.

    Raises ``ValueError`` when the symbol has a negative entry (the matrix is not positive semidefinite).
    """

    def __init__(self, lattice: Lattice, symbol: Any, fft: str | None = None, name: str = "covariance"):
        super().__init__(lattice, symbol, fft, name)
        lo, hi = float(self.full_symbol.min()), float(self.full_symbol.max())
        if lo < -1e-12 * max(hi, 1e-300):
            raise ValueError(f"the {name} is not positive semidefinite: its smallest Fourier eigenvalue is {lo:.3e}; "
                             "a covariance needs a non-negative symbol (for C_t − C_s use t ≥ s)")
        self.full_symbol = np.maximum(self.full_symbol, 0.0)
        self.symbol = lattice.xp.maximum(self.symbol, 0.0)
        self._sampler: GaussianFieldSampler | None = None

    @property
    def positive_definite(self) -> bool:
        return float(self.full_symbol.min()) > 1e-14 * float(self.full_symbol.max())

    def sqrt(self) -> FourierOperator:
        """``C^{1/2}``."""
        return self.power(0.5)

    def sample(self, size: int, seed: int | np.random.SeedSequence | None = None, workers: int | None = None) -> Any:
        """``size`` independent exact samples of ``N(0, C)``, shape ``(size, *lattice.shape)`` (see :class:`GaussianFieldSampler`)."""
        if self._sampler is None:
            self._sampler = GaussianFieldSampler(self)
        return self._sampler.sample(size, seed, workers)


class GaussianFieldSampler:
    """Exact, seeded, batched samples of ``N(0, C)`` for a :class:`LatticeCovariance` by one inverse FFT each.

    Fields are produced in blocks of ``block`` samples; block ``j`` uses the ``j``-th child of
    ``SeedSequence(seed)``, so the output depends only on ``seed`` (not on ``workers``).  The
    normal variates of different blocks are drawn in parallel threads (NumPy's generators release
    the GIL); the inverse FFT of the whole batch is one multithreaded call.
    """

    def __init__(self, covariance: LatticeCovariance, block: int = 256):
        if not isinstance(covariance, LatticeCovariance):
            raise TypeError(f"covariance must be a LatticeCovariance, got {shown(covariance)}")
        lat = covariance.lattice
        self.lattice, self.block, self.fft = lat, integer(block, "block", minimum=1), covariance.fft
        xp = lat.xp
        self.amplitude = xp.sqrt(covariance.symbol * float(lat.size))
        # modes on the last-axis planes k_last = 0 and (n even) n/2 must be made Hermitian by hand
        self._planes = [0] + ([lat.n // 2] if lat.n % 2 == 0 and lat.n > 1 else [])
        self._neg = tuple(xp.asarray(i) for i in np.ix_(*[i.ravel() for i in _negated_index(lat)[:-1]]))  # open mesh, on the device

    def _noise(self, seed: np.random.SeedSequence, count: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        z = rng.standard_normal((count, *self.lattice.half_shape, 2))
        z *= math.sqrt(0.5)
        return z.view(np.complex128)[..., 0]

    def noise(self, size: int, seed: Any = None, workers: int | None = None) -> Any:
        """The Hermitian standard complex Gaussian half-spectra ``ξ``, shape ``(size, *half_shape)``."""
        lat, xp = self.lattice, self.lattice.xp
        size = integer(size, "size", minimum=1, hint="the number of samples")
        workers = None if workers is None else integer(workers, "workers", minimum=1)
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        counts = [min(self.block, size - s) for s in range(0, size, self.block)]
        children = ss.spawn(len(counts))
        workers = workers or 2
        if workers > 1 and len(counts) > 1:
            with ThreadPoolExecutor(workers) as pool:
                parts = list(pool.map(self._noise, children, counts))
        else:
            parts = [self._noise(c, k) for c, k in zip(children, counts)]
        xi = parts[0] if len(parts) == 1 else np.concatenate(parts)
        xi = xp.asarray(xi)
        for p in self._planes:
            plane = xi[..., p]
            flipped = plane[(Ellipsis,) + self._neg] if lat.dim > 1 else plane
            xi[..., p] = (plane + xp.conj(flipped)) / math.sqrt(2.0)
        return xi

    def sample(self, size: int, seed: Any = None, workers: int | None = None) -> Any:
        size = integer(size, "size", minimum=1, hint="the number of samples")
        lat = self.lattice
        xi = self.noise(int(size), seed, workers)
        return self.fft.irfftn(xi * self.amplitude, s=lat.shape, axes=lat.axes)


# ---------------------------------------------------------------------------- decompositions


def decomposition_of(decomposition: Any, name: str = "decomposition") -> "CovarianceDecomposition":
    """``decomposition`` checked to be a :class:`CovarianceDecomposition` (``TypeError`` otherwise)."""
    if not isinstance(decomposition, CovarianceDecomposition):
        raise TypeError(f"{name} must be a CovarianceDecomposition (PauliVillars, HeatKernel, FromDerivative), got "
                        f"{shown(decomposition)}")
    return decomposition


class CovarianceDecomposition:
    """``C_t = ∫_0^t Ċ_s ds`` with translation-invariant ``Ċ_s ⪰ 0`` (subclasses give the symbols).

    Subclasses implement ``_derivative(t, k, A)``, ``_integral(t, k, A)`` and
    ``_second_derivative(t, k, A)`` on the full spectrum, with ``k`` the wavenumber tuple and ``A``
    the symbol of ``−Δ_ε + m²``.
    """

    def __init__(self, lattice: Lattice, mass: float = 1.0, fft: str | None = None):
        _lattice(lattice)
        mass = real_number(mass, "mass", nonnegative=True, hint="the mass m of A = −Δ_ε + m²")
        self.lattice, self.mass, self._fft = lattice, mass, fft
        self.A = lattice.laplacian_symbol() + self.mass**2
        self._k = lattice.wavenumbers()
        self._cache: dict[tuple, Any] = {}

    # -- symbols (full spectrum, NumPy)
    def _check_t(self, t: float) -> float:
        return real_number(t, "t", nonnegative=True, finite=False, hint="the flow time (inf for C_∞)")

    def symbol(self, t: float) -> np.ndarray:
        """Eigenvalues of ``C_t`` (``t = inf`` allowed when ``C_∞`` exists)."""
        t = self._check_t(t)
        if t == 0:
            return np.zeros(self.lattice.shape)
        return np.asarray(self._integral(t, self._k, self.A), dtype=float) + np.zeros(self.lattice.shape)

    def derivative_symbol(self, t: float) -> np.ndarray:
        """Eigenvalues of ``Ċ_t``."""
        t = self._check_t(t)
        d = np.asarray(self._derivative(t, self._k, self.A), dtype=float) + np.zeros(self.lattice.shape)
        if np.any(d < 0) or not np.all(np.isfinite(d)):
            raise ValueError(f"Ċ_t at t={t:g} is not positive semidefinite (min eigenvalue {d.min():.3e})")
        return d

    def second_derivative_symbol(self, t: float) -> np.ndarray:
        """Eigenvalues of ``C̈_t = ∂_t Ċ_t``."""
        return np.asarray(self._second_derivative(self._check_t(t), self._k, self.A), dtype=float) + np.zeros(
            self.lattice.shape)

    # -- operators
    def covariance(self, t: float, s: float = 0.0) -> LatticeCovariance:
        """``C_t − C_s`` (``t ≥ s``) as a :class:`LatticeCovariance`; ``t = inf`` gives ``C_∞ − C_s``."""
        key = ("C", float(t), float(s))
        if key not in self._cache:
            if float(t) < float(s):
                raise ValueError(f"C_t − C_s needs t ≥ s, got t={t}, s={s}")
            sym = self.symbol(t) - (self.symbol(s) if s > 0 else 0.0)
            self._cache[key] = LatticeCovariance(self.lattice, sym, self._fft, name=f"C_{t:g} - C_{s:g}")
            if len(self._cache) > 64:
                self._cache.pop(next(iter(self._cache)))
        return self._cache[key]

    def derivative(self, t: float) -> LatticeCovariance:
        """``Ċ_t`` as a :class:`LatticeCovariance`."""
        return LatticeCovariance(self.lattice, self.derivative_symbol(t), self._fft, name=f"dC/dt at {t:g}")

    def second_derivative(self, t: float) -> FourierOperator:
        """``C̈_t`` as a :class:`FourierOperator`."""
        return FourierOperator(self.lattice, self.second_derivative_symbol(t), self._fft, name=f"d2C/dt2 at {t:g}")

    def apply(self, f: Any, t: float) -> Any:
        """``C_t f``."""
        return self.covariance(t).apply(f)

    def apply_derivative(self, f: Any, t: float) -> Any:
        """``Ċ_t f``."""
        return self.derivative(t).apply(f)

    def apply_sqrt(self, f: Any, t: float, s: float = 0.0) -> Any:
        """``(C_t − C_s)^{1/2} f``."""
        return self.covariance(t, s).sqrt().apply(f)

    def sample(self, t: float, size: int, seed: Any = None, s: float = 0.0, workers: int | None = None) -> Any:
        """``size`` exact samples of ``N(0, C_t − C_s)``, shape ``(size, *lattice.shape)``."""
        return self.covariance(t, s).sample(size, seed, workers)

    # -- subclass hooks
    def _derivative(self, t, k, A):  # pragma: no cover - abstract
        raise NotImplementedError

    def _integral(self, t, k, A):  # pragma: no cover - abstract
        raise NotImplementedError

    def _second_derivative(self, t, k, A):  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.lattice!r}, mass={self.mass:g})"


def _inverse(A: np.ndarray) -> np.ndarray:
    if np.any(A <= 0):
        raise ValueError("C_∞ = A^{-1} does not exist for mass 0 (the zero mode has infinite variance); use m > 0")
    return 1.0 / A


class PauliVillars(CovarianceDecomposition):
    """Pauli–Villars decomposition ``C_t = (A + 1/t)^{-1} = t (1 + tA)^{-1}``, ``Ċ_t = (1 + tA)^{-2}``."""

    def _integral(self, t, k, A):
        return _inverse(A) if math.isinf(t) else t / (1.0 + t * A)

    def _derivative(self, t, k, A):
        return 0.0 * A if math.isinf(t) else 1.0 / (1.0 + t * A) ** 2

    def _second_derivative(self, t, k, A):
        return -2.0 * A / (1.0 + t * A) ** 3


class HeatKernel(CovarianceDecomposition):
    """Heat-kernel decomposition ``Ċ_t = e^{-tA}``, ``C_t = (1 − e^{-tA}) A^{-1}`` (``= t`` on a zero mode)."""

    def _integral(self, t, k, A):
        if math.isinf(t):
            return _inverse(A)
        safe = np.where(A > 0, A, 1.0)
        return np.where(A > 0, -np.expm1(-t * safe) / safe, t)

    def _derivative(self, t, k, A):
        return 0.0 * A if math.isinf(t) else np.exp(-t * A)

    def _second_derivative(self, t, k, A):
        return -A * np.exp(-t * A)


class FromDerivative(CovarianceDecomposition):
    """A user-supplied symbol ``Ċ_t(k)``; ``C_t = ∫_0^t Ċ_s ds`` by adaptive quadrature (``scipy.integrate.quad_vec``).

    Parameters
    ----------
    lattice : Lattice
    derivative : callable
        ``derivative(t, k)`` → the eigenvalues of ``Ċ_t`` at wavenumbers ``k`` (a tuple of broadcastable
        arrays, angular wavenumbers ``2πm/L``); must be real, even in ``k`` and non-negative.
    second_derivative : callable, optional
        ``∂_t Ċ_t`` in the same form; default: a centred finite difference of ``derivative``.
    rtol : float
        Relative tolerance of the quadrature in ``t``.
    """

    def __init__(self, lattice: Lattice, derivative: Callable[[float, tuple], Any],
                 second_derivative: Callable[[float, tuple], Any] | None = None, rtol: float = 1e-10,
                 fft: str | None = None):
        super().__init__(lattice, 0.0, fft)
        function(derivative, "derivative", hint="derivative(t, k) returns the eigenvalues of Ċ_t")
        if second_derivative is not None:
            function(second_derivative, "second_derivative", hint="or None for a finite difference")
        self._user, self._user2 = derivative, second_derivative
        self.rtol = real_number(rtol, "rtol", positive=True, hint="the relative tolerance of the quadrature in t")

    def _derivative(self, t, k, A):
        return np.asarray(self._user(t, k), dtype=float)

    def _integral(self, t, k, A):
        from scipy.integrate import quad_vec

        shape = self.lattice.shape
        value, _ = quad_vec(lambda s: (np.asarray(self._user(s, k), dtype=float) + np.zeros(shape)).ravel(),
                            0.0, t, epsrel=self.rtol, epsabs=0.0)
        if not np.all(np.isfinite(value)):
            raise ValueError(f"∫_0^{t:g} Ċ_s ds diverges for the user symbol; C_t must be finite")
        return value.reshape(shape)

    def _second_derivative(self, t, k, A):
        if self._user2 is not None:
            return np.asarray(self._user2(t, k), dtype=float)
        h = 1e-5 * max(1.0, t)
        lo = max(t - h, 0.0)
        return (np.asarray(self._user(t + h, k)) - np.asarray(self._user(lo, k))) / (t + h - lo)
