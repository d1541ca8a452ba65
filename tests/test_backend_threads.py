"""The pyFFTW provider runs small transforms on one thread (same results, no thread start-up cost)."""

import numpy as np
import pytest

from fieldflow.backend import get_fft

pyfftw = pytest.importorskip("pyfftw")


def test_small_transforms_single_threaded_and_exact():
    fft = get_fft("pyfftw", threads=2)
    assert fft.threads_for((64,), (128,)) == 1
    assert fft.threads_for((1024, 1024)) == 2
    a = np.random.default_rng(0).standard_normal((3, 100))
    np.testing.assert_allclose(fft.rfftn(a, s=(256,), axes=(-1,)), np.fft.rfftn(a, s=(256,), axes=(-1,)), atol=1e-12)
    b = np.random.default_rng(1).standard_normal((256, 256))
    np.testing.assert_allclose(fft.irfftn(fft.rfftn(b), s=b.shape), b, atol=1e-12)
