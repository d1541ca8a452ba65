"""The shared two-point face assembly (``face_operator``, ``two_point_fluxes``) against an independent dense build.

The reference below never slices arrays by face: it walks over every cell and every neighbour
``i ± e_a`` with explicit integer indices, writes the flux through each face of that cell from the
face coefficients, and fills a dense matrix column by column (the image of each unit vector).  The
shared block must agree entry by entry; both only add and multiply the same numbers, so the
tolerance is a few ulps of the largest entry (``1e-14`` relative).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.core.finite_volume import divergence, face_operator, two_point_fluxes


def _coefficients(grid, seed):
    """Random two-point coefficients of mixed signs, one pair per axis, of the face shapes."""
    rng = np.random.default_rng(seed)
    out = []
    for a in range(grid.dim):
        shape = list(grid.shape)
        shape[a] -= 1
        out.append((rng.uniform(-2, 3, shape), rng.uniform(-3, 2, shape)))
    return out


def _dense_reference(grid, coefficients, spacing):
    """``(M u)_i = −Σ_a (J_{a,i+½} − J_{a,i−½})/h_a`` by loops over cells; ``J`` zero through the walls."""
    shape, n = grid.shape, grid.size
    M = np.zeros((n, n))
    for j in range(n):  # column j: the image of the j-th unit vector
        u = np.zeros(n)
        u[j] = 1.0
        u = u.reshape(shape)
        out = np.zeros(shape)
        for cell in itertools.product(*(range(m) for m in shape)):
            for a, ((lo, hi), h) in enumerate(zip(coefficients, spacing)):
                up = list(cell)
                up[a] += 1
                down = list(cell)
                down[a] -= 1
                # the face above the cell has index `cell` in the face array, the one below index `down`
                J_up = lo[cell] * u[cell] + hi[cell] * u[tuple(up)] if up[a] < shape[a] else 0.0
                J_down = lo[tuple(down)] * u[tuple(down)] + hi[tuple(down)] * u[cell] if down[a] >= 0 else 0.0
                out[cell] -= (J_up - J_down) / h
        M[:, j] = out.ravel()
    return M


@pytest.mark.parametrize("shape,extent", [((7,), 2.0), ((4, 5), (1.0, 3.0)), ((3, 4, 3), 1.5)])
def test_face_operator_matches_an_independent_dense_build(shape, extent, backend):
    grid = ff.Grid.box(shape, extent, backend=backend)
    coefficients = _coefficients(grid, seed=len(shape))
    expected = _dense_reference(grid, coefficients, grid.spacing)
    xp = grid.xp
    M = face_operator(grid, [(xp.asarray(lo), xp.asarray(hi)) for lo, hi in coefficients])
    M = M.get() if hasattr(M, "get") else M
    assert M.format == "csr" and M.shape == (grid.size, grid.size)
    np.testing.assert_allclose(M.toarray(), expected, rtol=0, atol=1e-14 * np.abs(expected).max())
    # every interior face couples exactly its two cells: 4 structural entries per face, no wall entries
    faces = sum(grid.size // m * (m - 1) for m in shape)
    assert np.count_nonzero(expected) <= M.nnz <= 4 * faces
    # mass: every column sums to zero whatever the coefficients
    assert np.max(np.abs(M.sum(axis=0))) <= 1e-14 * np.abs(expected).max()


def test_matrix_and_matrix_free_fluxes_agree_and_spacing_is_honoured():
    grid = ff.Grid.box((6, 5), (2.0, 1.0))
    coefficients = _coefficients(grid, seed=7)
    u = np.random.default_rng(8).standard_normal(grid.shape)
    fluxes = two_point_fluxes(u, coefficients)
    assert [J.shape for J in fluxes] == [(5, 5), (6, 4)]
    applied = face_operator(grid, coefficients) @ u.ravel()
    np.testing.assert_allclose(applied, divergence(fluxes, grid.spacing, np).ravel(), rtol=1e-13, atol=1e-13)
    # unit spacing: the coefficients hold 1/h themselves
    unit = face_operator(grid, coefficients, spacing=(1.0, 1.0)).toarray()
    np.testing.assert_allclose(unit, _dense_reference(grid, coefficients, (1.0, 1.0)), rtol=0, atol=1e-13)


def test_scalar_coefficients_give_the_neumann_laplacian():
    """``c⁻ = −c⁺ = 1/h``: the 3-point Laplacian with reflecting walls, ``(u_{i−1} − 2u_i + u_{i+1})/h²``."""
    grid = ff.Grid.box(5, 1.0)
    h = grid.spacing[0]
    M = face_operator(grid, [(1 / h, -1 / h)]).toarray()
    lap = (np.diag(np.full(4, 1.0), -1) - 2 * np.eye(5) + np.diag(np.full(4, 1.0), 1)) / h**2
    lap[0, 0] = lap[-1, -1] = -1 / h**2
    np.testing.assert_allclose(M, lap, rtol=1e-15)


def test_face_operator_rejects_bad_input():
    with pytest.raises(ValueError, match="Grid.box"):
        face_operator(ff.Grid.torus(8), [(1.0, -1.0)])
    with pytest.raises(ValueError, match="one .* per axis"):
        face_operator(ff.Grid.box(4, 1.0, 2), [(1.0, -1.0)])
    with pytest.raises(ValueError, match=r"axis 0 have shape \(4, 4\), but its interior faces have shape \(3, 4\)"):
        face_operator(ff.Grid.box(4, 1.0, 2), [(np.ones((4, 4)), 1.0), (1.0, 1.0)])
