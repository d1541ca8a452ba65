"""Checkpoints of :func:`fieldflow.evolve`: the live state in one small file, the history appended to another.

``checkpoint="run.npz"`` writes two files:

* ``run.npz`` — rewritten (atomically) at every checkpoint: the live state (grid array or particles with
  weights and extras), the time, the step count, the next step size and the stepper's own state, the
  random generator's state, the problem's description and fingerprint, and how much of the history
  belongs to this checkpoint;
* ``run.npz.history`` — append-only: every saved state and every diagnostics row, written once, when the
  first checkpoint after it is taken.

So a checkpoint costs the live state plus what was computed since the previous one, and the bytes written
over a run grow linearly with its length (a checkpoint that rewrote the whole trajectory each time made
them grow quadratically).  The history is a sequence of ``.npy`` records (NumPy's format, read without
pickle): a JSON header, then the arrays it announces.  Bytes past the length recorded in ``run.npz``
(a run killed while appending) are ignored and cut when the run resumes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .backend import to_numpy
from .trajectory import Trajectory

__all__ = ["CheckpointWriter", "load_checkpoint", "history_path"]


def history_path(path: str | Path) -> Path:
    """The append-only history file that goes with checkpoint ``path``."""
    path = Path(path)
    return path.with_name(path.name + ".history")


def _encode(record: dict[str, Any]) -> np.ndarray:
    """JSON as UTF-8 bytes (a ``uint8`` array: a NumPy string array would store 4 bytes per character)."""
    return np.frombuffer(json.dumps(record, default=str).encode(), dtype=np.uint8)


def _decode(array: np.ndarray) -> dict[str, Any]:
    return json.loads(array.tobytes().decode())


def _header(fh: Any, record: dict[str, Any]) -> None:
    np.lib.format.write_array(fh, _encode(record), allow_pickle=False)


class CheckpointWriter:
    """Writes the checkpoints of one run to ``path`` (see the module docstring).

    ``resumed``: the number of states and diagnostics rows already in the history (a resumed run);
    ``None`` starts a new history.
    """

    def __init__(self, path: str | Path, resumed: tuple[int, int] | None = None):
        self.path = Path(path)
        self.history = history_path(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resumed is None:
            self.history.write_bytes(b"")
            resumed = (0, 0)
        self.states_written, self.rows_written = resumed

    def _append(self, traj: Trajectory) -> int:
        """Append the states and diagnostics rows not yet in the history; its length in bytes."""
        with open(self.history, "ab") as fh:
            for i in range(self.states_written, len(traj.states)):
                names = sorted(traj.extras)
                _header(fh, {"record": "state", "t": float(traj.times[i]), "extras": names})
                np.lib.format.write_array(fh, np.ascontiguousarray(traj.states[i]), allow_pickle=False)
                for name in names:
                    np.lib.format.write_array(fh, np.ascontiguousarray(traj.extras[name][i]), allow_pickle=False)
            series = traj.diagnostics
            n = len(series["t"])
            if n > self.rows_written:
                rows = [[series["t"][i], {k: v[i] for k, v in series.items() if k != "t" and i < len(v)}]
                        for i in range(self.rows_written, n)]
                _header(fh, {"record": "diagnostics", "rows": rows})
            self.states_written, self.rows_written = len(traj.states), n
            fh.flush()
            return fh.tell()

    def write(self, traj: Trajectory, live: dict[str, Any], meta: dict[str, Any]) -> None:
        """Append the new history, then atomically replace the live file (``live``: arrays; ``meta``: JSON)."""
        size = self._append(traj)
        # the grid's axes are the problem's (restored from it on resume): not rewritten at every checkpoint
        info = {key: value for key, value in traj.info.items() if key != "axes"}
        meta = {**meta, "history_bytes": size, "states": self.states_written, "rows": self.rows_written, "info": info}
        arrays = {name: to_numpy(value) for name, value in live.items()}
        if traj.weights is not None:
            arrays["weights"] = traj.weights
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, meta=_encode(meta), **arrays)
        tmp.replace(self.path)


def load_checkpoint(path: str | Path) -> tuple[Trajectory, dict[str, np.ndarray], dict[str, Any]]:
    """The trajectory up to a checkpoint, its live arrays and its metadata; the history is cut to its length."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no checkpoint at {path}; run once with checkpoint={str(path)!r} first")
    with np.load(path, allow_pickle=False) as data:
        if "meta" not in data.files:
            raise ValueError(f"{path} is not a checkpoint of this version of fieldflow.evolve (no metadata); "
                             "start the run again")
        arrays = {name: data[name] for name in data.files}
    meta = _decode(arrays.pop("meta"))
    traj = Trajectory(info=meta["info"])
    traj.weights = arrays.pop("weights", None)
    history, size = history_path(path), int(meta["history_bytes"])
    if not history.exists() or history.stat().st_size < size:
        raise ValueError(f"the history {history} of checkpoint {path} is missing or shorter than recorded "
                         f"({size} bytes); start the run again")
    with open(history, "rb") as fh:
        while fh.tell() < size:
            record = _decode(np.lib.format.read_array(fh, allow_pickle=False))
            if record["record"] == "state":
                state = np.lib.format.read_array(fh, allow_pickle=False)
                extras = {name: np.lib.format.read_array(fh, allow_pickle=False) for name in record["extras"]}
                traj.add_state(record["t"], state, extras)
            else:
                for t, values in record["rows"]:
                    traj.add_diagnostics(t, values)
    os.truncate(history, size)
    return traj, arrays, meta
