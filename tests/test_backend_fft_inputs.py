"""Every FFT provider leaves its input untouched (FFTW's c2r transforms overwrite theirs by default)."""

import numpy as np
import pytest

from fieldflow.core.backend import available_fft_providers, get_fft


@pytest.mark.parametrize("provider", available_fft_providers("numpy"))
@pytest.mark.parametrize("shape", [(64,), (16, 12)])
def test_inverse_real_fft_preserves_its_input(provider, shape):
    rng = np.random.default_rng(1)
    fft = get_fft(provider)
    spectrum = np.fft.rfftn(rng.standard_normal(shape))
    before = spectrum.copy()
    back = fft.irfftn(spectrum, s=shape, axes=tuple(range(len(shape))))
    np.testing.assert_array_equal(spectrum, before)
    np.testing.assert_allclose(np.fft.rfftn(back), before, atol=1e-12)
