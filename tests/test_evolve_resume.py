"""Ctrl-C, checkpoints and resuming behave the same for every kind of problem: a grid PDE (adaptive TR-BDF2, whose
step-size ladder is part of the checkpoint), deterministic and stochastic particles, a step map.  A run stopped by
Ctrl-C — in a callback at a save time, or inside a step — and resumed from its checkpoint ends bit-for-bit where
the uninterrupted run ends, with the same diagnostics at the common times.  Checkpoints append their history, so
the bytes written grow linearly with the run.
"""

from __future__ import annotations

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.core.checkpoint import CheckpointWriter, history_path

Q1 = ff.potentials.Quadratic(1.0)


def _grid():
    grid = ff.Grid.box(n=64, extent=5.0)
    pde = ff.FokkerPlanck(grid, ff.potentials.DoubleWell(barrier=1.0, separation=1.5))
    return pde, ff.densities.gaussian(grid, mean=2.0, cov=0.2), dict(save_every=0.25)


def _svgd():
    x0 = np.random.default_rng(1).standard_normal((30, 1))
    return ff.svgd.SVGDParticles(Q1, ff.svgd.Bessel(1.0), 0.5), x0, dict(dt=0.025, save_every=0.25, method="heun")


def _langevin():
    x0 = ff.fokker_planck.langevin.sample_gaussian(200, mean=1.0, cov=0.3, dim=2, seed=2)
    return ff.fokker_planck.Langevin(ff.potentials.Quadratic(1.0, dim=2)), x0, dict(dt=0.025, save_every=0.25, seed=9)


def _jko():
    return ff.fokker_planck.QuantileJKO(Q1), 2.0 + np.linspace(-1.0, 1.0, 40), dict(dt=0.05, save_every=0.25)


def _landau():
    """An implicit nonlinear grid PDE (``positive-trbdf2``): its preconditioner is rebuilt at every step
    (``LogNewton.forget``), so a step depends only on its state, time and size."""
    grid = ff.Grid.box(16, 7.0, dim=2)
    return ff.landau.Landau(grid, 0.0), ff.landau.BKW(2).density(grid.points, 0.5), dict(save_every=0.25)


KINDS = {"grid": _grid, "implicit": _landau, "particles": _svgd, "stochastic": _langevin, "map": _jko}


def _same(rest, full):
    np.testing.assert_array_equal(rest.final, full.final)
    assert rest.info["steps"] == full.info["steps"]
    common = np.isin(rest["t"], full["t"])
    for name in full.diagnostics:
        np.testing.assert_array_equal(rest[name][common], full[name])


@pytest.mark.parametrize("kind", KINDS)
def test_ctrl_c_in_a_callback_then_resume_is_the_uninterrupted_run(kind, tmp_path):
    problem, state0, options = KINDS[kind]()
    full = ff.evolve(problem, state0, 1.0, **options)
    calls = []

    def interrupt(t, state):
        calls.append(t)
        if len(calls) == 2:
            raise KeyboardInterrupt

    path = tmp_path / "run.npz"
    part = ff.evolve(problem, state0, 1.0, callback=interrupt, checkpoint=path, **options)
    assert part.info["status"] == "interrupted" and part.interrupted
    np.testing.assert_allclose(part.times, [0.0, 0.25, 0.5])  # what was computed is kept
    assert path.exists() and history_path(path).exists()
    rest = ff.evolve(problem, state0, 1.0, checkpoint=path, resume=True, **options)
    assert rest.info["status"] == "done"
    np.testing.assert_array_equal(rest.times, full.times)
    for a, b in zip(rest.states, full.states):
        np.testing.assert_array_equal(a, b)
    _same(rest, full)


@pytest.mark.parametrize("kind", KINDS)
def test_ctrl_c_inside_a_step_then_resume_is_the_uninterrupted_run(kind, tmp_path):
    """The stepper raises KeyboardInterrupt in the middle of its 7th step (for the stochastic run: after it drew
    its random numbers, which the loop puts back)."""
    problem, state0, options = KINDS[kind]()
    full = ff.evolve(problem, state0, 1.0, **options)
    traj = ff.evolve(problem, state0, 1.0, max_steps=0, **options)  # the stepper's name
    method = ff.core.steppers.stepper_class(traj.info["method"])
    original, count = method.step, [0]

    def step(self, state, t, dt):
        result = original(self, state, t, dt)
        count[0] += 1
        if count[0] == 7:
            raise KeyboardInterrupt
        return result

    path = tmp_path / "run.npz"
    method.step = step
    try:
        part = ff.evolve(problem, state0, 1.0, checkpoint=path, **options)
    finally:
        method.step = original
    assert part.info["status"] == "interrupted" and part.info["steps"] == 6
    assert part.times[-1] == part["t"][-1] == part.info["t"] > 0  # the state and diagnostics at the interruption
    rest = ff.evolve(problem, state0, 1.0, resume=path, **options)
    _same(rest, full)


def test_a_stochastic_run_resumed_with_another_seed_is_refused(tmp_path):
    problem, state0, options = _langevin()
    path = tmp_path / "run.npz"
    ff.evolve(problem, state0, 0.5, checkpoint=path, **options)
    with pytest.raises(ValueError, match="another problem"):
        ff.evolve(problem, state0, 1.0, resume=path, **{**options, "seed": 10})


def test_checkpoint_bytes_grow_linearly_with_the_run(tmp_path, monkeypatch):
    """A checkpoint at every step of a run that saves every step: each writes the live state and the one new
    state, so the bytes written are ``O(steps × state)``.  (Rewriting the trajectory, as before, wrote
    ``O(steps² × state)``: 200 steps of a 4096-cell state would be ~330 MB; measured here: about 13 MB.)"""
    written = []
    original = CheckpointWriter.write

    def write(self, traj, live, meta):
        before = self.history.stat().st_size
        original(self, traj, live, meta)
        written.append(self.history.stat().st_size - before + self.path.stat().st_size)

    monkeypatch.setattr(CheckpointWriter, "write", write)
    grid = ff.Grid.box(n=4096, extent=6.0)
    pde = ff.FokkerPlanck(grid, Q1)
    steps, state_bytes = 200, 4096 * 8
    traj = ff.evolve(pde, ff.densities.gaussian(grid, mean=1.0, cov=0.5), 1.0, method="euler", dt=1.0 / steps,
                     adaptive=False, save_every=1.0 / steps, checkpoint=tmp_path / "run.npz", checkpoint_every=0.0)
    assert len(traj.states) == steps + 1 and len(written) == steps + 1  # every step, and once at the end
    # per checkpoint: the live state + one history record + headers and metadata (a few kB)
    assert max(written) < 2 * state_bytes + 8_000, max(written)
    assert sum(written) < steps * (2 * state_bytes + 8_000)
    back = ff.evolve(pde, ff.densities.gaussian(grid, mean=1.0, cov=0.5), 1.0, method="euler", dt=1.0 / steps,
                     adaptive=False, save_every=1.0 / steps, resume=tmp_path / "run.npz")
    assert len(back.states) == steps + 1 and back.info["status"] == "done"
    np.testing.assert_array_equal(back.states[57], traj.states[57])
