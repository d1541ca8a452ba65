"""The 0.1 particle call shapes, kept for one release: each warns and returns what the new path computes.

``simulate(...)`` returned ``(save times after 0, particle arrays there)``; ``run(...)`` a ``ParticleRun``; the
former loop's ``integrate_particles``/``integrate_samples`` took a ``step(v, dt)`` callable.  Each is compared
bit-for-bit with the same run through ``ff.evolve``.
"""

from __future__ import annotations

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.core.particle_loop import ParticleRun, integrate_particles, integrate_samples
from fieldflow.landau import BKW, BlobLandau, ScoreLandau

Q1 = ff.potentials.Quadratic(1.0)


def _same(old, new_traj):
    times, states = old
    np.testing.assert_array_equal(times, new_traj.times[1:])
    assert len(states) == len(new_traj.states) - 1
    for a, b in zip(states, new_traj.states[1:]):
        np.testing.assert_array_equal(a, b)


def test_langevin_simulate():
    x0 = ff.fokker_planck.langevin.sample_gaussian(30, mean=1.0, cov=0.3, dim=2, seed=1)
    with pytest.warns(DeprecationWarning, match="Langevin"):
        old = ff.fokker_planck.langevin.simulate(ff.potentials.Quadratic(1.0, dim=2), x0, 0.2, 0.05, D=0.7,
                                                 seed=3, save_times=[0.1])
    new = ff.evolve(ff.fokker_planck.Langevin(ff.potentials.Quadratic(1.0, dim=2), D=0.7), x0, 0.2, dt=0.05,
                    seed=3, save_times=[0.1])
    _same(old, new)


@pytest.mark.parametrize("method, stepper", [("euler", "forward-euler"), ("heun", "heun")])
def test_svgd_simulate(method, stepper):
    from fieldflow.svgd import particles as psvgd

    x0 = np.random.default_rng(2).standard_normal((25, 1))
    with pytest.warns(DeprecationWarning, match="SVGDParticles"):
        old = psvgd.simulate(x0, Q1, ff.svgd.Bessel(1.0), 0.5, t_end=0.1, dt=0.02, method=method, save_times=[0.04])
    new = ff.evolve(ff.svgd.SVGDParticles(Q1, ff.svgd.Bessel(1.0), 0.5), x0, 0.1, dt=0.02, method=stepper,
                    save_times=[0.04])
    _same(old, new)


def test_oscillators_simulate():
    from fieldflow.mckean_vlasov import particles

    theta0 = np.linspace(0.0, 6.0, 30)
    W = ff.mckean_vlasov.kuramoto()
    with pytest.warns(DeprecationWarning, match="Oscillators"):
        old = particles.simulate(W, 1.2, theta0, 0.2, 0.02, seed=4, save_times=[0.1])
    _same(old, ff.evolve(ff.mckean_vlasov.Oscillators(W, 1.2), theta0, 0.2, dt=0.02, seed=4, save_times=[0.1]))
    assert np.all((old[1][-1] >= 0) & (old[1][-1] < 2 * np.pi))


def _same_run(old: ParticleRun, new):
    assert isinstance(old, ParticleRun)
    np.testing.assert_array_equal(old.times, new.times)
    np.testing.assert_array_equal(old.weights, new.weights)
    np.testing.assert_array_equal(old.states[-1], new.states[-1])
    assert set(old.diagnostics) == set(new.diagnostics) - {"t"}
    for name in old.diagnostics:
        np.testing.assert_array_equal(old[name], new[name])
    assert old.info["status"] == "done" and old.info["steps"] == new.info["steps"]


def test_blob_run():
    grid = ff.Grid.box(12, 7.0, dim=2)
    f0 = BKW(2).density(grid.points, 0.5)
    with pytest.warns(DeprecationWarning, match="BlobLandau.run"):
        old = BlobLandau(grid, method="midpoint").run(f0, 0.1, 0.05, save_times=[0.05])
    _same_run(old, ff.evolve(BlobLandau(grid), f0, 0.1, dt=0.05, save_times=[0.05], method="midpoint"))


def test_score_run():
    exact = BKW(2)
    v0 = exact.sample(120, 0.5, seed=3)
    log_f0 = np.log(exact.density(v0, 0.5))
    w = np.random.default_rng(0).uniform(0.5, 1.5, 120)
    with pytest.warns(DeprecationWarning, match="ScoreLandau.run"):
        old = ScoreLandau(2, n_centres=8, ridge=1e-2).run(v0, log_f0, 0.01, 0.005, weights=w)
    new = ff.evolve(ScoreLandau(2, n_centres=8, ridge=1e-2), ff.Particles(v0, w, {"log_f": log_f0}), 0.01, dt=0.005)
    _same_run(old, new)


def test_integrate_particles_and_samples():
    """The former loop's callables become a step map; the caller's ``extra`` dictionary is kept up to date."""
    x0 = np.linspace(0.0, 1.0, 5)[:, None]
    extra = {"age": np.zeros(5)}

    def step(x, h):
        extra["age"] = extra["age"] + h
        return 0.5 * x

    with pytest.warns(DeprecationWarning, match="integrate_particles"):
        run = integrate_particles(x0, np.full(5, 0.2), 0.3, 0.1, step, lambda x: {"m": float(x.sum())},
                                  extra=extra, save_times=[0.1])
    np.testing.assert_allclose(run.times, [0.0, 0.1, 0.3])
    np.testing.assert_array_equal(run.states[-1], x0 / 8)
    np.testing.assert_array_equal(run["m"], [2.5, 1.25, 2.5 / 8])
    np.testing.assert_allclose(extra["age"], 0.3)
    with pytest.warns(DeprecationWarning, match="integrate_particles"):
        times, states = integrate_samples(x0, 0.2, 0.1, lambda x, h: x + h)
    np.testing.assert_allclose(times, [0.2])
    np.testing.assert_allclose(states[-1], x0 + 0.2)
