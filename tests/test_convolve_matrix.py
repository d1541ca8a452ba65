"""LinearConvolution with batched (matrix) kernels and the forward/backward halves."""

import numpy as np

from fieldflow.core.convolve import LinearConvolution, offset_points
from fieldflow.core.grids import Grid


def _direct(grid, kernel, f):
    """``Σ_j k(x_i − x_j) f_j |cell|`` by brute force."""
    pts = grid.points.reshape(-1, grid.dim)
    z = pts[:, None, :] - pts[None, :, :]
    return (kernel(z) @ f.ravel()).reshape(grid.shape) * grid.cell_volume


def test_matrix_kernel_sum_matches_direct_sum():
    grid = Grid.box((6, 5), (2.0, 1.5))
    rng = np.random.default_rng(0)
    f = rng.random((2,) + grid.shape)
    kernels = [[lambda z: np.exp(-np.sum(z**2, -1)), lambda z: z[..., 0] * z[..., 1]],
               [lambda z: z[..., 0] * z[..., 1], lambda z: np.cos(z[..., 0]) + z[..., 1] ** 2]]
    z = offset_points(grid)
    values = np.stack([np.stack([k(z) for k in row]) for row in kernels])  # (2, 2, 12, 10)
    conv = LinearConvolution(grid, values)
    assert conv.kernel_hat.shape[:2] == (2, 2)
    fhat = conv.forward(f)
    for a in range(2):
        got = conv.backward(sum(conv.kernel_hat[a, b] * fhat[b] for b in range(2)))
        want = sum(_direct(grid, kernels[a][b], f[b]) for b in range(2))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # batched kernels in __call__: one f against a stack of kernels
    stacked = conv(f[0])
    assert stacked.shape == (2, 2) + grid.shape
    np.testing.assert_allclose(stacked[1, 1], _direct(grid, kernels[1][1], f[0]), rtol=1e-12, atol=1e-12)
