"""One covariance parser and one potential → grid evaluation, shared by every caller.

``as_covariance`` serves ``Quadratic``, ``GaussianMixture``, ``densities.gaussian`` and
``fokker_planck.langevin.sample_gaussian``; ``potential_on_grid`` serves ``FokkerPlanck``,
``TimeDependentFokkerPlanck``, ``SVGDFlow``/``LocalSVGDFlow`` and ``Potential.on_grid``.  The tests
check the parser's values and refusals, that every caller refuses the same bad input with the same
message (so none keeps a private copy), and the sampled covariance of ``sample_gaussian``.
"""

from __future__ import annotations

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.core.validation import as_covariance
from fieldflow.fokker_planck.langevin import sample_gaussian
from fieldflow.fokker_planck.time_dependent import TimeDependentFokkerPlanck
from fieldflow.potentials import GaussianMixture, Quadratic, potential_on_grid


def test_the_three_forms_of_a_covariance():
    np.testing.assert_array_equal(as_covariance(0.5, 3), 0.5 * np.eye(3))
    np.testing.assert_array_equal(as_covariance([0.5, 2.0], 2), np.diag([0.5, 2.0]))
    full = [[0.8, 0.3], [0.3, 0.5]]
    np.testing.assert_array_equal(as_covariance(full, 2), np.array(full))
    # integers are accepted as numbers; round-off asymmetry is symmetrised exactly
    np.testing.assert_array_equal(as_covariance(2, 1), [[2.0]])
    C = as_covariance([[1.0, 0.2], [0.2 * (1 + 1e-15), 1.0]], 2)
    assert np.array_equal(C, C.T)


BAD = [
    (np.nan, ValueError, "NaN or infinite"),
    ([[1.0, np.inf], [np.inf, 1.0]], ValueError, "NaN or infinite"),
    (-1.0, ValueError, "scalar cov is the variance .* must be positive, got -1.0"),
    (0.0, ValueError, "must be positive"),
    ([1.0, 0.0], ValueError, r"variances in cov must be positive, got \[1.0, 0.0\]"),
    ([1.0, 2.0, 3.0], ValueError, "needs 2 entries, got 3"),
    (np.ones((2, 2, 2)), ValueError, r"a 2x2 matrix, got shape \(2, 2, 2\)"),
    (np.eye(3), ValueError, r"got shape \(3, 3\)"),
    ([[1.0, 0.5], [0.4, 1.0]], ValueError, "must be symmetric, but max|C - Cᵀ| = 0.1"),
    ([[1.0, 2.0], [2.0, 1.0]], ValueError, r"must be positive definite, but its eigenvalues are \[-1.0, 3.0\]"),
    ([[1.0, 1.0], [1.0, 1.0]], ValueError, "positive definite"),
    ("wide", TypeError, "real numbers"),
    (1.0 + 1.0j, TypeError, "real numbers"),
    ([[1.0, 0.0], [0.0]], TypeError, "real numbers"),
]

CALLERS = {
    "as_covariance": lambda cov: as_covariance(cov, 2),
    "Quadratic": lambda cov: Quadratic(cov, mean=(0.0, 0.0)),
    "GaussianMixture": lambda cov: GaussianMixture(means=[(-1.0, 0.0), (1.0, 0.0)], cov=cov),
    "densities.gaussian": lambda cov: ff.densities.gaussian(ff.Grid.box(8, 3.0, 2), cov=cov),
    "sample_gaussian": lambda cov: sample_gaussian(10, cov=cov, dim=2),
}


@pytest.mark.parametrize("caller", sorted(CALLERS))
@pytest.mark.parametrize("cov,error,message", BAD)
def test_every_caller_refuses_a_bad_covariance_with_the_same_message(caller, cov, error, message):
    with pytest.raises(error, match=message):
        CALLERS[caller](cov)


def test_dimension_must_be_a_positive_integer():
    for dim in (0, -1, 1.5):
        with pytest.raises(ValueError, match="positive integer"):
            as_covariance(1.0, dim)
    with pytest.raises(TypeError, match="positive integer"):
        as_covariance(1.0, True)


def test_sample_gaussian_has_the_requested_covariance():
    """Sample covariance of n = 40000 draws within 5 standard errors, ``√((Σ_aa Σ_bb + Σ_ab²)/n)`` per entry."""
    n = 40_000
    for cov, expected in [(0.7, 0.7 * np.eye(2)), ([0.5, 2.0], np.diag([0.5, 2.0])),
                          ([[0.8, 0.3], [0.3, 0.5]], np.array([[0.8, 0.3], [0.3, 0.5]]))]:
        x = sample_gaussian(n, mean=(1.0, -2.0), cov=cov, dim=2, seed=3)
        S = np.cov(x.T)
        d = np.sqrt(np.diag(expected))
        se = np.sqrt((np.outer(d**2, d**2) + expected**2) / n)
        assert np.all(np.abs(S - expected) <= 5 * se), (cov, S)
        assert np.all(np.abs(x.mean(axis=0) - [1.0, -2.0]) <= 5 * d / np.sqrt(n))


# ---------------------------------------------------------------------------------------------- potential → grid


def test_potential_callable_and_values_give_the_same_grid_array(backend):
    grid = ff.Grid.box((6, 5), (2.0, 3.0), backend=backend)
    V = ff.potentials.DoubleWell(barrier=2.0, separation=1.0, dim=2)
    from_potential = potential_on_grid(grid, V)
    assert from_potential.shape == grid.shape and type(from_potential) is type(grid.points)
    x, y = (np.asarray(ff.core.backend.to_numpy(m)) for m in grid.mesh)
    exact = 2.0 * (x**2 - 1) ** 2 + 0.5 * y**2  # written out, not through DoubleWell
    np.testing.assert_allclose(ff.core.backend.to_numpy(from_potential), exact, rtol=1e-14)
    for other in (V.value, grid.xp.asarray(exact), exact.tolist()):
        np.testing.assert_array_equal(ff.core.backend.to_numpy(potential_on_grid(grid, other)), exact)
    np.testing.assert_array_equal(ff.core.backend.to_numpy(V.on_grid(grid)), ff.core.backend.to_numpy(from_potential))


def test_bad_potential_values_are_refused_with_where_and_how_many():
    grid = ff.Grid.box(8, 4.0)
    logV = ff.potentials.FromFunctions(lambda x: np.log(x[..., 0] + 3.0), lambda x: 1 / (x[..., 0] + 3.0), dim=1)
    # cell centres −3.5, −2.5, …: log of a negative number at −3.5 only
    with pytest.warns(RuntimeWarning):
        with pytest.raises(ValueError, match=r"not finite on 1 of 8 grid points \(e.g. at x = \[-3.5\]\)"):
            potential_on_grid(grid, logV)
    with pytest.raises(ValueError, match=r"V must have shape \(8,\), got shape \(7,\)"):
        potential_on_grid(grid, np.zeros(7))


def _nan_outside(x):
    return np.where(np.abs(x[..., 0]) < 3, 0.5 * x[..., 0] ** 2, np.nan)


@pytest.mark.parametrize("build", [
    lambda g, V: ff.FokkerPlanck(g, V),
    lambda g, V: TimeDependentFokkerPlanck(g, lambda t: V),
    lambda g, V: ff.SVGDFlow(g, V, ff.svgd.Bessel(1.0), alpha=0.1),
    lambda g, V: ff.svgd.LocalSVGDFlow(g, V, alpha=0.1),
])
def test_every_grid_solver_refuses_a_non_finite_potential_the_same_way(build):
    grid = ff.Grid.box(32, 4.0)  # |x| ≥ 3 on the four outermost cell centres of each side
    with pytest.raises(ValueError, match=r"not finite on 8 of 32 grid points \(e.g. at x = \[-3.875\]\)"):
        build(grid, _nan_outside)


def test_time_dependent_potential_names_the_time_in_its_error():
    grid = ff.Grid.box(16, 2.0)
    V_of_t = lambda t: (lambda x: 0.5 * x[..., 0] ** 2 / (1.0 - t))  # noqa: E731
    pde = TimeDependentFokkerPlanck(grid, V_of_t)
    with pytest.raises(ValueError, match=r"V\(·, t=1\) is not finite"):
        with np.errstate(divide="ignore", invalid="ignore"):
            pde.set_time(1.0)
