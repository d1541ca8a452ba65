"""Damaged, truncated and foreign files: every load path refuses them with one ValueError naming the file and what
is wrong, never half-uses them; checkpoints are verified by their checksums."""

from __future__ import annotations

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.core.checkpoint import history_path, load_checkpoint


@pytest.fixture
def run(tmp_path):
    """A Fokker–Planck run with a checkpoint, its problem and initial density."""
    grid = ff.Grid.box(16, 3.0)
    pde = ff.FokkerPlanck(grid, ff.potentials.Quadratic(1.0))
    rho = ff.densities.gaussian(grid, 0.5, 0.5)
    path = tmp_path / "run.npz"
    ff.evolve(pde, rho, 0.5, save_every=0.1, checkpoint=path)
    return pde, rho, path


def _flip(path, offset_from_end):
    """Flip one byte ``offset_from_end`` bytes before the end of ``path``."""
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0xFF
    path.write_bytes(bytes(data))


def _resume(pde, rho, path, t_end=1.0):
    return ff.evolve(pde, rho, t_end, save_every=0.1, checkpoint=path, resume=True)


def test_an_intact_checkpoint_resumes(run):
    pde, rho, path = run
    assert _resume(pde, rho, path).info["status"] == "done"


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "not a readable .npz file"),
    (lambda p: p.write_bytes(b"PK\x03\x04 not a zip"), "not a readable .npz file"),
    (lambda p: np.savez(p, a=np.ones(3)), "no metadata"),
    (lambda p: np.savez(p, meta=np.frombuffer(b'{"format": "other"}', dtype=np.uint8)), "names the format 'other'"),
    (lambda p: np.savez(p, meta=np.frombuffer(b"{not json", dtype=np.uint8)), "not valid JSON"),
])
def test_a_damaged_or_foreign_checkpoint_is_refused(run, damage, message):
    pde, rho, path = run
    damage(path)
    with pytest.raises(ValueError, match=message) as info:
        _resume(pde, rho, path)
    assert str(path) in str(info.value) and "start the run again" in str(info.value)


def test_a_changed_live_array_fails_its_checksum(run):
    """The live state rewritten with one value changed (a valid .npz, CRCs and all): only the checksum can tell."""
    pde, rho, path = run
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["state"] = arrays["state"].copy()
    arrays["state"][3] *= 1.0 + 1e-12
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="'state' fails its SHA-256 checksum"):
        _resume(pde, rho, path)


def test_a_damaged_history_is_refused(run):
    pde, rho, path = run
    history = history_path(path)
    size = history.stat().st_size
    _flip(history, size // 3)  # inside a saved state (or its header)
    with pytest.raises(ValueError, match=f"the history {history}") as info:
        _resume(pde, rho, path)
    assert "checksum" in str(info.value) or "unreadable" in str(info.value)


def test_a_truncated_history_is_refused(run):
    pde, rho, path = run
    history = history_path(path)
    history.write_bytes(history.read_bytes()[:-10])
    with pytest.raises(ValueError, match="missing or shorter than recorded"):
        _resume(pde, rho, path)


def test_resuming_a_grid_run_from_a_particle_checkpoint_is_refused(run, tmp_path):
    pde, rho, _ = run
    particles = tmp_path / "particles.npz"
    x0 = np.linspace(-1, 1, 20)[:, None]
    ff.evolve(ff.fokker_planck.Langevin(ff.potentials.Quadratic(1.0)), x0, 0.1, dt=0.01, seed=1, checkpoint=particles)
    with pytest.raises(ValueError, match="belongs to another problem"):
        ff.evolve(pde, rho, 1.0, resume=particles)


def test_resume_before_the_checkpoint_time_is_refused_not_answered_with_the_later_state(run):
    pde, rho, path = run
    with pytest.raises(ValueError, match=r"at t=0.5, beyond t_end=0.2.*resume with t_end ≥ 0.5"):
        _resume(pde, rho, path, t_end=0.2)


def test_checkpoint_paths_that_cannot_be_written(run, tmp_path):
    pde, rho, _ = run
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="needs the folder .* but that is a regular file"):
        ff.evolve(pde, rho, 0.1, checkpoint=blocker / "run.npz")
    with pytest.raises(ValueError, match="which is a folder"):
        ff.evolve(pde, rho, 0.1, checkpoint=tmp_path)
    with pytest.raises(ValueError, match="resume=True needs checkpoint=path"):
        ff.evolve(pde, rho, 0.1, resume=True)
    with pytest.raises(TypeError, match="checkpoint must be a file path"):
        ff.evolve(pde, rho, 0.1, checkpoint=3)
    with pytest.raises(ValueError, match="is not a file"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("suffix", [".npz", ".h5"])
def test_a_trajectory_file_is_verified_on_loading(run, tmp_path, suffix):
    if suffix == ".h5":
        pytest.importorskip("h5py")
    pde, rho, _ = run
    traj = ff.evolve(pde, rho, 0.2, save_every=0.1)
    path = traj.save(tmp_path / f"traj{suffix}")
    back = ff.Trajectory.load(path)
    assert np.array_equal(back.final, traj.final) and back["kl"].tolist() == traj["kl"].tolist()
    if suffix == ".npz":  # a valid archive with one value changed: only the checksum can tell
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        arrays["states"] = arrays["states"].copy()
        arrays["states"][-1, 2] += 1e-9
        np.savez(path, **arrays)
    else:
        import h5py

        with h5py.File(path, "r+") as f:
            f["states"][-1, 2] += 1e-9
    with pytest.raises(ValueError, match="fail their SHA-256 checksum") as info:
        ff.Trajectory.load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("write, message", [
    (lambda p: p.write_bytes(b"garbage"), "not a readable"),
    (lambda p: np.savez(p, a=np.ones(3)), "no 'info' entry"),
    (lambda p: np.savez(p, info=np.array("{}"), times=np.zeros(2), states=np.zeros((3, 4)), diag_t=np.zeros(2)),
     "3 states but 2 save times"),
    (lambda p: np.savez(p, info=np.array("{"), times=np.zeros(0), states=np.zeros(0), diag_t=np.zeros(0)),
     "not valid JSON"),
])
def test_a_foreign_or_damaged_trajectory_file_is_refused(tmp_path, write, message):
    path = tmp_path / "x.npz"
    write(path)
    with pytest.raises(ValueError, match=message) as info:
        ff.Trajectory.load(path)
    assert str(path) in str(info.value)
    with pytest.raises(ValueError, match="no trajectory file"):
        ff.Trajectory.load(tmp_path / "missing.npz")
