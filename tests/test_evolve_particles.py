"""Particle systems through the one time loop: Ctrl-C keeps the run, checkpoints resume bit-for-bit (the
transported extras and the random generator's state included), wrong checkpoints are refused."""

from __future__ import annotations

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.landau import BKW
from fieldflow.landau.particles import BlobLandau, ScoreLandau


def _blob():
    grid = ff.Grid.box(14, 7.0, dim=2)
    return BlobLandau(grid, 0.0), BKW(2).density(grid.points, 0.5)


def _interrupt_after(obj, calls: int) -> None:
    """Make ``obj.velocity`` raise KeyboardInterrupt (a Ctrl-C) on its ``calls``-th call."""
    original, count = obj.velocity, [0]

    def velocity(v, w):
        count[0] += 1
        if count[0] == calls:
            raise KeyboardInterrupt
        return original(v, w)

    obj.velocity = velocity


def test_ctrl_c_keeps_the_run_and_the_checkpoint_resumes_bit_for_bit(tmp_path):
    blob, f0 = _blob()
    full = ff.evolve(blob, f0, 0.2, dt=0.02, save_times=[0.1])
    assert full.info["status"] == "done" and full.info["steps"] == 10

    stopped, f0 = _blob()
    # lipschitz() makes 4 evaluations, each Heun step 2: the 11th call is inside step 4
    _interrupt_after(stopped, 4 + 2 * 3 + 1)
    path = tmp_path / "blob.npz"
    part = ff.evolve(stopped, f0, 0.2, dt=0.02, save_times=[0.1], checkpoint=path)
    assert part.info["status"] == "interrupted" and part.info["steps"] == 3
    np.testing.assert_allclose(part.times, [0.0, 0.06])
    assert path.exists()

    resumed, f0 = _blob()
    rest = ff.evolve(resumed, f0, 0.2, dt=0.02, save_times=[0.1], resume=path)
    assert rest.info["status"] == "done"
    np.testing.assert_allclose(rest.times, [0.0, 0.06, 0.1, 0.2])
    np.testing.assert_array_equal(rest.states[-1], full.states[-1])
    np.testing.assert_array_equal(rest.states[2], full.states[1])
    np.testing.assert_array_equal(rest["entropy"][[0, 2, 3]], full["entropy"])


def test_score_method_checkpoints_the_transported_log_density(tmp_path):
    exact = BKW(2)
    v0 = exact.sample(300, 0.5, seed=4)
    state0 = ff.Particles(v0, extras={"log_f": np.log(exact.density(v0, 0.5))})
    kwargs = dict(save_times=[0.1])
    full = ff.evolve(ScoreLandau(2, 0.0), state0, 0.2, dt=0.05, **kwargs)
    path = tmp_path / "score.npz"
    stopped = ScoreLandau(2, 0.0)
    _interrupt_after(stopped, 4 + 2 * 2 + 1)
    part = ff.evolve(stopped, state0, 0.2, dt=0.05, checkpoint=path, **kwargs)
    assert part.info["steps"] == 2
    rest = ff.evolve(ScoreLandau(2, 0.0), state0, 0.2, dt=0.05, resume=path, **kwargs)
    np.testing.assert_array_equal(rest.states[-1], full.states[-1])
    np.testing.assert_array_equal(rest.extras["log_f"][-1], full.extras["log_f"][-1])
    assert rest["entropy"][-1] == full["entropy"][-1]


def test_resume_refuses_another_problem(tmp_path):
    blob, f0 = _blob()
    path = tmp_path / "blob.npz"
    ff.evolve(blob, f0, 0.04, dt=0.02, checkpoint=path)
    other = BlobLandau(blob.grid, 0.0, epsilon=0.5)
    with pytest.raises(ValueError, match="another problem"):
        ff.evolve(other, f0, 0.1, dt=0.02, resume=path)
    with pytest.raises(ValueError, match="time step"):
        ff.evolve(BlobLandau(blob.grid, 0.0), f0, 0.1, dt=0.01, resume=path)
    with pytest.raises(ValueError, match="no checkpoint"):
        ff.evolve(blob, f0, 0.1, dt=0.02, resume=tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="needs checkpoint"):
        ff.evolve(ff.fokker_planck.Langevin(ff.potentials.Quadratic(1.0)), np.zeros((2, 1)), 1.0, dt=0.5, seed=0,
                  resume=True)


def test_progress_bar_does_not_change_the_result():
    blob, f0 = _blob()
    a = ff.evolve(blob, f0, 0.04, dt=0.02, progress=True)
    b = ff.evolve(blob, f0, 0.04, dt=0.02, progress=False)
    np.testing.assert_array_equal(a.states[-1], b.states[-1])


def test_svgd_particles_resume_bit_for_bit(tmp_path, monkeypatch):
    import fieldflow.svgd.particles as psvgd

    x0 = np.random.default_rng(1).standard_normal((40, 1))
    V, kernel = ff.potentials.Quadratic(1.0), ff.svgd.Bessel(1.0)
    problem = psvgd.SVGDParticles(V, kernel, 0.5)
    full = ff.evolve(problem, x0, 0.1, dt=0.01, save_times=[0.05])
    original, count = psvgd.velocity, [0]

    def interrupted(*args):
        count[0] += 1
        if count[0] == 4:
            raise KeyboardInterrupt
        return original(*args)

    path = tmp_path / "svgd.npz"
    monkeypatch.setattr(psvgd, "velocity", interrupted)
    part = ff.evolve(problem, x0, 0.1, dt=0.01, save_times=[0.05], checkpoint=path)
    np.testing.assert_allclose(part.times[1:], [0.03])
    monkeypatch.setattr(psvgd, "velocity", original)
    rest = ff.evolve(problem, x0, 0.1, dt=0.01, save_times=[0.05], resume=path)
    np.testing.assert_allclose(full.times[1:], [0.05, 0.1])
    np.testing.assert_allclose(rest.times[1:], [0.03, 0.05, 0.1])
    np.testing.assert_array_equal(rest.final, full.final)
    with pytest.raises(ValueError, match="another problem"):
        ff.evolve(psvgd.SVGDParticles(V, kernel, 0.7), x0, 0.1, dt=0.01, resume=path)


def test_stochastic_particles_resume_the_same_random_stream(tmp_path, monkeypatch):
    """Langevin and interacting oscillators: the generator state is checkpointed, so resuming after a Ctrl-C
    reproduces the uninterrupted run exactly."""
    from fieldflow.fokker_planck import Langevin, langevin

    V = ff.potentials.Quadratic(1.0)
    x0 = langevin.sample_gaussian(50, mean=1.0, cov=0.25, dim=1, seed=3)
    full = ff.evolve(Langevin(V), x0, 0.1, dt=0.01, seed=5)
    calls = [0]
    original = V.gradient

    def gradient(x):
        calls[0] += 1
        if calls[0] == 6:
            raise KeyboardInterrupt
        return original(x)

    path = tmp_path / "langevin.npz"
    monkeypatch.setattr(V, "gradient", gradient)
    part = ff.evolve(Langevin(V), x0, 0.1, dt=0.01, seed=5, checkpoint=path)
    np.testing.assert_allclose(part.times[1:], [0.05])
    monkeypatch.setattr(V, "gradient", original)
    rest = ff.evolve(Langevin(V), x0, 0.1, dt=0.01, seed=5, resume=path)
    np.testing.assert_array_equal(rest.final, full.final)
    with pytest.raises(ValueError, match="another problem"):  # another seed is another random stream
        ff.evolve(Langevin(V), x0, 0.1, dt=0.01, seed=6, resume=path)

    W, theta0 = ff.mckean_vlasov.kuramoto(), np.linspace(0.0, 6.0, 40)
    oscillators = ff.mckean_vlasov.Oscillators(W, 1.5)
    full = ff.evolve(oscillators, theta0, 0.2, dt=0.02, seed=2)
    path = tmp_path / "kuramoto.npz"
    ff.evolve(oscillators, theta0, 0.1, dt=0.02, seed=2, checkpoint=path)  # a run that stopped at t = 0.1
    rest = ff.evolve(oscillators, theta0, 0.2, dt=0.02, seed=2, resume=path)
    np.testing.assert_array_equal(rest.final, full.final)


def test_a_generator_without_state_cannot_be_checkpointed(tmp_path):
    class Stateless:
        def standard_normal(self, shape):
            return np.zeros(shape)

    with pytest.raises(ValueError, match="cannot checkpoint the random generator"):
        ff.evolve(ff.fokker_planck.Langevin(ff.potentials.Quadratic(1.0)), np.zeros((2, 1)), 1.0, dt=0.5,
                  seed=Stateless(), checkpoint=tmp_path / "x.npz")


class _Aging(ff.ParticleSystem):
    """Particles at rest that carry their age, ``d age/dt = 1``: the extras machinery on its own."""

    extras = ("age",)
    conserved = ("mass",)

    def drift(self, state, t):
        return np.zeros_like(state.x)

    def extra_rates(self, state, t):
        return {"age": np.ones(state.x.shape[0])}

    def diagnostics(self, state, t):
        return {**super().diagnostics(state, t), "mean_age": float(state.weights @ state.extras["age"])}


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_particle_trajectory_keeps_weights_and_extras_on_disk(tmp_path, suffix):
    if suffix == ".h5":
        pytest.importorskip("h5py")
    x0, w = np.arange(6.0).reshape(3, 2), np.array([0.2, 0.3, 0.5])
    traj = ff.evolve(_Aging(), ff.Particles(x0, w, {"age": np.array([0.0, 1.0, 2.0])}), 1.0, dt=0.125,
                     save_every=0.5)
    np.testing.assert_allclose(traj.extras["age"][-1], [1.0, 2.0, 3.0], rtol=0, atol=1e-15)
    np.testing.assert_allclose(traj["mean_age"], [1.3, 1.8, 2.3])
    np.testing.assert_array_equal(traj.weights, w)
    back = ff.Trajectory.load(traj.save(tmp_path / f"aging{suffix}"))
    np.testing.assert_array_equal(back.weights, w)
    np.testing.assert_array_equal(back.extras["age"][1], traj.extras["age"][1])
    np.testing.assert_array_equal(back.final, x0)
    assert back.info["kind"] == "particles"


def test_particle_trajectory_to_xarray():
    pytest.importorskip("xarray")
    V = ff.potentials.Quadratic(1.0)
    traj = ff.evolve(ff.fokker_planck.Langevin(V), np.zeros((5, 1)), 0.2, dt=0.1, seed=0)
    ds = traj.to_xarray()
    assert ds["particles"].shape == (2, 5, 1) and ds["weights"].shape == (5,)
    assert "variance_0" in ds and repr(V) in str(ds.attrs["equation"])
