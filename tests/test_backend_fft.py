"""Every FFT provider against ``numpy.fft``: same normalisation, ``s=`` and ``axes=``, plans reused,
caller arrays never written, results never aliased.

The reference is ``numpy.fft`` in double precision.  Two correct double-precision FFTs of size
``N`` differ by ``O(ε log N)`` relative to the largest coefficient (ε ≈ 2.2e-16), i.e. ≲ 1e-14
for the sizes here, so ``1e-12`` relative to ``max|reference|`` leaves two decades of margin while
still catching any wrong normalisation, axis or padding (those are O(1) errors).
"""

from __future__ import annotations

import numpy as np
import pytest

from fieldflow.core import backend

ALL_PROVIDERS = ("pyfftw", "scipy", "numpy", "cupy")
RTOL = 1e-12


@pytest.fixture(params=ALL_PROVIDERS)
def fft(request):
    name = request.param
    backend_name = "cupy" if name == "cupy" else "numpy"
    try:
        found = backend.available_fft_providers(backend_name)
    except ImportError:  # pragma: no cover - depends on the machine
        found = []
    if name not in found:
        pytest.skip(f"FFT provider {name!r} is not installed here")
    if name == "cupy":
        try:
            usable = backend.get_namespace("cupy").cuda.runtime.getDeviceCount() > 0
        except Exception:  # pragma: no cover - depends on the machine
            usable = False
        if not usable:
            pytest.skip("no CuPy/GPU here")
    return backend.get_fft(name, backend=backend_name)


def _xp(fft):
    return backend.get_namespace("cupy" if fft.name == "cupy" else "numpy")


def _close(result, reference) -> None:
    result = backend.to_numpy(result)
    assert result.shape == reference.shape
    err = np.max(np.abs(result - reference)) / np.max(np.abs(reference))
    assert err <= RTOL, f"relative error {err:.2e} > {RTOL:g}"


# (shape, s, axes): whole array, padding, truncation, odd sizes, a subset of axes, negative axes
CASES = [
    ((64,), None, None),
    ((63,), (80,), (0,)),
    ((32, 48), None, None),
    ((32, 48), (64, 96), (0, 1)),
    ((33, 47), (20, 31), (0, 1)),
    ((16, 12, 10), None, None),
    ((16, 12, 10), (24,), (-1,)),
    ((16, 12, 10), (16, 9), (0, 2)),
    ((16, 12, 10), None, (1,)),
]


def _full_axes(shape, s, axes):
    """Explicit axes for numpy (it deprecates ``s`` without ``axes``)."""
    if axes is not None:
        return axes
    return tuple(range(len(shape)))


@pytest.mark.parametrize("shape,s,axes", CASES)
def test_real_transforms_match_numpy(fft, shape, s, axes):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(shape)
    ax = _full_axes(shape, s, axes)
    reference = np.fft.rfftn(a, s=s, axes=ax)
    spectrum = fft.rfftn(_xp(fft).asarray(a), s=s, axes=axes)
    _close(spectrum, reference)
    # inverse, back to the transform shape given by s (or the original shape)
    out_s = s if s is not None else tuple(shape[i] for i in ax)
    inv_reference = np.fft.irfftn(reference, s=out_s, axes=ax)
    _close(fft.irfftn(_xp(fft).asarray(reference), s=out_s, axes=axes if axes is not None else ax), inv_reference)


@pytest.mark.parametrize("shape,s,axes", CASES)
def test_complex_transforms_match_numpy(fft, shape, s, axes):
    rng = np.random.default_rng(2)
    z = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    ax = _full_axes(shape, s, axes)
    _close(fft.fftn(_xp(fft).asarray(z), s=s, axes=axes), np.fft.fftn(z, s=s, axes=ax))
    _close(fft.ifftn(_xp(fft).asarray(z), s=s, axes=axes), np.fft.ifftn(z, s=s, axes=ax))


def test_s_without_axes_means_last_axes(fft):
    """``s`` alone transforms the last ``len(s)`` axes (NumPy's long-standing convention)."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((6, 8, 10))
    _close(fft.rfftn(_xp(fft).asarray(a), s=(12, 20)), np.fft.rfftn(a, s=(12, 20), axes=(1, 2)))


def test_round_trip_is_identity_and_backward_normalised(fft):
    """``irfftn(rfftn(a)) = a`` and ``rfftn(1)[0] = N`` (forward unnormalised, inverse carries 1/N)."""
    xp = _xp(fft)
    a = np.random.default_rng(4).standard_normal((30, 20))
    _close(fft.irfftn(fft.rfftn(xp.asarray(a)), s=a.shape), a)
    _close(fft.ifftn(fft.fftn(xp.asarray(a + 0j))), a + 0j)
    assert float(backend.to_numpy(fft.rfftn(xp.ones((30, 20))))[0, 0].real) == pytest.approx(600.0, rel=1e-14)


def test_caller_arrays_are_never_written(fft):
    """c2r transforms may destroy their input in FFTW, and pyFFTW keeps the last input as the plan's
    own array: neither may touch a caller's data, whatever the layout of the next call's input."""
    xp = _xp(fft)
    rng = np.random.default_rng(5)
    first = xp.asarray(rng.standard_normal((32, 32)))
    first_copy = first.copy()
    fft.rfftn(first)
    strided = xp.asarray(rng.standard_normal((32, 64)))[:, ::2]  # same shape, not contiguous
    _close(fft.rfftn(strided), np.fft.rfftn(backend.to_numpy(strided)))
    assert bool(xp.all(first == first_copy)), "a later call overwrote an earlier caller's input"
    spectrum = fft.rfftn(first)
    spectrum_copy = spectrum.copy()
    fft.irfftn(spectrum, s=(32, 32))
    assert bool(xp.all(spectrum == spectrum_copy)), "irfftn destroyed its input"


def test_results_do_not_alias(fft):
    xp = _xp(fft)
    a, b = xp.ones((16, 16)), xp.zeros((16, 16))
    ra = fft.rfftn(a)
    ra_copy = ra.copy()
    rb = fft.rfftn(b)
    assert ra is not rb and bool(xp.all(ra == ra_copy)), "the second result overwrote the first"


def test_providers_and_plans_are_cached():
    assert backend.get_fft("numpy") is backend.get_fft("numpy")
    if "pyfftw" not in backend.available_fft_providers("numpy"):
        pytest.skip("pyfftw not installed")
    fft = backend.get_fft("pyfftw")
    assert fft is backend.get_fft("pyfftw")
    a = np.random.default_rng(6).standard_normal((24, 40))
    fft.irfftn(fft.rfftn(a, axes=[0, 1]), s=[24, 40], axes=[0, 1])  # lists as well as tuples
    before = dict(fft._plans)
    for _ in range(3):
        fft.irfftn(fft.rfftn(a, axes=(0, 1)), s=(24, 40), axes=(0, 1))
        fft.rfftn(np.asfortranarray(a), axes=(0, 1))  # another layout: a copy, not a new plan
    assert fft._plans.keys() == before.keys()
    assert all(fft._plans[k][0] is before[k][0] for k in before)


def test_pyfftw_thread_policy(monkeypatch):
    """One thread below THREADS_MIN_POINTS points, all cores from there up; explicit counts win."""
    pytest.importorskip("pyfftw")
    monkeypatch.delenv("FIELDFLOW_FFT_THREADS", raising=False)
    auto = backend._PyFFTW()
    cores = backend._cpu_count()
    assert auto._threads_for(backend.THREADS_MIN_POINTS - 1) == 1
    assert auto._threads_for(backend.THREADS_MIN_POINTS) == cores
    assert backend._PyFFTW(threads=3)._threads_for(10) == 3
    monkeypatch.setenv("FIELDFLOW_FFT_THREADS", "2")
    assert backend._PyFFTW()._threads_for(10**9) == 2
    with pytest.raises(ValueError, match="threads"):
        backend._PyFFTW(threads=0)
    # the size that decides: real-space points, including zero padding by s
    assert backend._points("rfftn", (512, 512), (1024, 1024), (0, 1)) == 2**20
    assert backend._points("irfftn", (512, 257), None, None) == 2 * 512 * 257
    assert backend._points("fftn", (8, 512, 512), (1024,), (-1,)) == 8 * 512 * 1024


def test_unknown_provider_raises():
    with pytest.raises(ValueError, match="unknown FFT provider"):
        backend.get_fft("fftpack")
