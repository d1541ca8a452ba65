"""The time loop: checkpoints and resume, Ctrl-C, structure checks, trajectories on disk, rate fits."""

from __future__ import annotations

import re

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.core.trajectory import DIAGNOSTIC_LABELS
from fieldflow.potentials import DoubleWell, Quadratic


@pytest.fixture
def problem():
    grid = ff.Grid.box(n=64, extent=5.0)
    return ff.FokkerPlanck(grid, DoubleWell(barrier=1.0, separation=1.5)), ff.densities.gaussian(grid, mean=2.0, cov=0.2)


def test_resume_from_checkpoint_reproduces_the_uninterrupted_run(problem, tmp_path):
    pde, rho0 = problem
    full = ff.evolve(pde, rho0, 2.0, method="euler", dt=0.01, adaptive=False, save_every=0.5)
    ckpt = tmp_path / "run.npz"
    part = ff.evolve(pde, rho0, 2.0, method="euler", dt=0.01, adaptive=False, save_every=0.5, checkpoint=ckpt, max_steps=73)
    assert part.info["status"] == "max_steps" and ckpt.exists()
    rest = ff.evolve(pde, rho0, 2.0, method="euler", dt=0.01, adaptive=False, save_every=0.5, checkpoint=ckpt, resume=True)
    assert rest.info["status"] == "done"
    assert np.allclose(rest.times, full.times)
    assert np.max(np.abs(rest.final - full.final)) < 1e-13
    assert np.allclose(rest["kl"], full["kl"], rtol=1e-12)


def test_resume_refuses_another_problem(problem, tmp_path):
    pde, rho0 = problem
    ckpt = tmp_path / "run.npz"
    ff.evolve(pde, rho0, 0.5, checkpoint=ckpt)
    other = ff.FokkerPlanck(pde.grid, Quadratic(1.0))
    with pytest.raises(ValueError, match="another problem"):
        ff.evolve(other, rho0, 1.0, checkpoint=ckpt, resume=True)
    with pytest.raises(ValueError, match="no checkpoint"):
        ff.evolve(pde, rho0, 1.0, resume=tmp_path / "missing.npz")


def test_ctrl_c_keeps_what_was_computed(problem, tmp_path):
    pde, rho0 = problem
    calls = []

    def interrupt(t, state):
        calls.append(t)
        if len(calls) == 3:
            raise KeyboardInterrupt

    ckpt = tmp_path / "interrupted.npz"
    traj = ff.evolve(pde, rho0, 5.0, save_every=0.25, callback=interrupt, checkpoint=ckpt)
    assert traj.interrupted and traj.info["status"] == "interrupted"
    assert len(traj.states) == 4 and np.isclose(traj.times[-1], 0.75)
    resumed = ff.evolve(pde, rho0, 5.0, save_every=0.25, checkpoint=ckpt, resume=True)
    assert resumed.info["status"] == "done" and np.isclose(resumed.times[-1], 5.0)
    assert len(resumed.states) == 21


class _LeakyFokkerPlanck(ff.FokkerPlanck):
    """A broken scheme that creates mass (for the structure checks)."""

    def rhs(self, mu, t):
        return super().rhs(mu, t) + 0.01 * mu


def test_structure_violation_raises_with_the_trajectory_so_far():
    grid = ff.Grid.box(n=32, extent=4.0)
    pde = _LeakyFokkerPlanck(grid, Quadratic(1.0))
    with pytest.raises(ff.StructureError, match="mass drifted") as info:
        ff.evolve(pde, ff.densities.gaussian(grid), 1.0, method="ssprk3")
    assert len(info.value.trajectory["t"]) >= 2


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_trajectory_save_load_roundtrip(problem, tmp_path, suffix):
    if suffix == ".h5":
        pytest.importorskip("h5py")
    pde, rho0 = problem
    traj = ff.evolve(pde, rho0, 1.0, save_every=0.25)
    path = traj.save(tmp_path / f"traj{suffix}")
    back = ff.Trajectory.load(path)
    assert np.allclose(back.times, traj.times)
    assert np.allclose(back.final, traj.final, rtol=0, atol=0)
    assert np.allclose(back["kl"], traj["kl"])
    assert back.info["equation"]["equation"] == "FokkerPlanck"


def test_to_xarray(problem):
    pytest.importorskip("xarray")
    pde, rho0 = problem
    ds = ff.evolve(pde, rho0, 1.0, save_every=0.5).to_xarray()
    assert ds["density"].shape == (3, 64)
    assert "kl" in ds and np.allclose(ds["x0"].values, np.asarray(pde.grid.axes[0]))


def test_fit_exponential_rate_recovers_a_known_rate():
    traj = ff.Trajectory()
    for t in np.linspace(0, 5, 51):
        traj.add_diagnostics(t, {"kl": 3.0 * np.exp(-1.7 * t)})
    fit = traj.fit_exponential_rate("kl", full=True)
    assert abs(fit.rate - 1.7) < 1e-12 and abs(fit.prefactor - 3.0) < 1e-10 and fit.r_squared > 1 - 1e-12
    with pytest.raises(ValueError, match="fewer than 3"):
        traj.fit_exponential_rate("kl", window=(10, 11))


def test_progress_bar_and_diagnostics_every(problem, capsys):
    """The bar (tqdm, on stderr) counts simulated time: it ends at t = 0.5 of 0.5 and names the problem; without
    ``progress`` nothing is written."""
    pde, rho0 = problem
    traj = ff.evolve(pde, rho0, 0.5, method="trbdf2", dt=0.01, adaptive=False, diagnostics_every=10, progress=True)
    assert len(traj["t"]) == 1 + 4 + 1  # t=0, every 10 steps before the end, t_end
    bar = capsys.readouterr().err
    assert "FokkerPlanck" in bar and "100%" in bar and re.search(r"t=0\.5/0\.5", bar), bar[-300:]
    ff.evolve(pde, rho0, 0.5, dt=0.01, adaptive=False, diagnostics_every=10, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("kwargs, message", [
    (dict(t_end=-1.0), "t_end"),
    (dict(t_end=1.0, dt=0.0), "dt must be a positive"),
    (dict(t_end=1.0, method="rk45"), "unknown method"),
    (dict(t_end=1.0, save_every=-0.1), "save_every"),
])
def test_bad_evolve_arguments(problem, kwargs, message):
    pde, rho0 = problem
    with pytest.raises(ValueError, match=message):
        ff.evolve(pde, rho0, **kwargs)


def test_plot_returns_the_figure(problem, tmp_path):
    """The figure draws the trajectory's series (the same numbers, semilog), labelled with the readable names, and
    ``path`` writes it."""
    pde, rho0 = problem
    traj = ff.evolve(pde, rho0, 1.0, save_every=0.1)
    fig = traj.plot(["kl", "fisher"], path=tmp_path / "kl.png")
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert len(lines) == 2 and ax.get_yscale() == "log"
    for line, name in zip(lines, ("kl", "fisher")):
        assert np.array_equal(line.get_xdata(), traj["t"]) and np.array_equal(line.get_ydata(), traj[name])
    assert [line.get_label() for line in lines] == [DIAGNOSTIC_LABELS["kl"], DIAGNOSTIC_LABELS["fisher"]]
    assert DIAGNOSTIC_LABELS["kl"] in ax.get_ylabel() and ax.get_xlabel()
    assert (tmp_path / "kl.png").stat().st_size > 1000
