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

Both files carry SHA-256 checksums — ``run.npz`` of every live array, each history header of the arrays
that follow it — and :func:`load_checkpoint` verifies them: a damaged, truncated or foreign file is refused
with one ``ValueError`` naming the file and what is wrong, never half-used.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from .backend import to_numpy
from .trajectory import Trajectory
from .validation import checksum

__all__ = ["CheckpointWriter", "load_checkpoint", "history_path"]

#: what the metadata of a checkpoint names itself (a foreign ``.npz`` with a ``meta`` entry is refused)
FORMAT = "fieldflow.evolve checkpoint 2"
#: metadata every checkpoint has
_META_KEYS = ("format", "t", "steps", "dt_next", "h", "stepper", "rng", "extras", "history_bytes", "states",
              "rows", "info", "sha256")


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


class _Damaged(Exception):
    """What is wrong with a checkpoint file (turned into one ``ValueError`` naming the file)."""


class CheckpointWriter:
    """Writes the checkpoints of one run to ``path`` (see the module docstring).

    ``resumed``: the number of states and diagnostics rows already in the history (a resumed run);
    ``None`` starts a new history.
    """

    def __init__(self, path: str | Path, resumed: tuple[int, int] | None = None):
        self.path = Path(path)
        self.history = history_path(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if resumed is None:
                self.history.write_bytes(b"")
        except OSError as exc:
            raise ValueError(f"cannot write the checkpoint {str(self.path)!r}: {exc.strerror or exc}; choose a "
                             "writable path") from exc
        self.states_written, self.rows_written = resumed or (0, 0)

    def _append(self, traj: Trajectory) -> int:
        """Append the states and diagnostics rows not yet in the history; its length in bytes."""
        with open(self.history, "ab") as fh:
            for i in range(self.states_written, len(traj.states)):
                names = sorted(traj.extras)
                arrays = [np.ascontiguousarray(traj.states[i])] + [np.ascontiguousarray(traj.extras[name][i])
                                                                   for name in names]
                _header(fh, {"record": "state", "t": float(traj.times[i]), "extras": names,
                             "sha256": checksum(*arrays)})
                for array in arrays:
                    np.lib.format.write_array(fh, array, allow_pickle=False)
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
        arrays = {name: np.asarray(to_numpy(value)) for name, value in live.items()}
        if traj.weights is not None:
            arrays["weights"] = np.asarray(traj.weights)
        meta = {**meta, "format": FORMAT, "history_bytes": size, "states": self.states_written,
                "rows": self.rows_written, "info": info, "sha256": {k: checksum(v) for k, v in arrays.items()}}
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, meta=_encode(meta), **arrays)
        tmp.replace(self.path)


def load_checkpoint(path: str | Path) -> tuple[Trajectory, dict[str, np.ndarray], dict[str, Any]]:
    """The trajectory up to a checkpoint, its live arrays and its metadata; the history is cut to its length.

    Raises
    ------
    ValueError
        No checkpoint at ``path``, or a file that is not a checkpoint of :func:`fieldflow.evolve`, is truncated,
        or fails its checksums (the live file or its history); the message names the file and what is wrong.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"no checkpoint at {path}; run once with checkpoint={str(path)!r} first")
    if not path.is_file():
        raise ValueError(f"checkpoint {path} is not a file; pass the path of the checkpoint file (e.g. run.npz)")
    try:
        arrays, meta = _read_live(path)
    except _Damaged as exc:
        raise ValueError(f"checkpoint {path} cannot be used: {exc}; start the run again (or resume from another "
                         "checkpoint)") from None
    history, size = history_path(path), int(meta["history_bytes"])
    if not history.exists() or history.stat().st_size < size:
        raise ValueError(f"the history {history} of checkpoint {path} is missing or shorter than recorded "
                         f"({size} bytes); start the run again")
    traj = Trajectory(info=meta["info"])
    traj.weights = arrays.pop("weights", None)
    try:
        _read_history(history, size, traj)
    except _Damaged as exc:
        raise ValueError(f"the history {history} of checkpoint {path} cannot be used: {exc}; start the run "
                         "again") from None
    os.truncate(history, size)
    return traj, arrays, meta


def _read_live(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The live arrays and metadata of a checkpoint, checked (format, keys, checksums)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            names = list(data.files)
            if "meta" not in names:
                raise _Damaged("it has no metadata (not a checkpoint of this version of fieldflow.evolve)")
            arrays = {name: data[name] for name in names}
    except _Damaged:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, KeyError) as exc:
        raise _Damaged(f"it is not a readable .npz file ({type(exc).__name__}: {exc})") from None
    try:
        meta = _decode(arrays.pop("meta"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _Damaged(f"its metadata is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise _Damaged(f"its metadata names the format {found!r}, not {FORMAT!r} (another program, or an older "
                       "fieldflow)")
    missing = [key for key in _META_KEYS if key not in meta]
    if missing:
        raise _Damaged(f"its metadata lacks {missing}")
    if sorted(meta["sha256"]) != sorted(arrays):
        raise _Damaged(f"it holds the arrays {sorted(arrays)}, but its checksums are for {sorted(meta['sha256'])}")
    for name, array in arrays.items():
        if checksum(array) != meta["sha256"][name]:
            raise _Damaged(f"the array {name!r} fails its SHA-256 checksum (the file was damaged after writing)")
    if "state" not in arrays:
        raise _Damaged("it has no live state")
    return arrays, meta


def _read_history(history: Path, size: int, traj: Trajectory) -> None:
    """Append the states and diagnostics of the first ``size`` bytes of ``history`` to ``traj``, checked."""
    with open(history, "rb") as fh:
        while fh.tell() < size:
            try:
                record = _decode(np.lib.format.read_array(fh, allow_pickle=False))
                if record["record"] == "state":
                    arrays = [np.lib.format.read_array(fh, allow_pickle=False) for _ in range(1 + len(record["extras"]))]
                    if checksum(*arrays) != record["sha256"]:
                        raise _Damaged(f"the state saved at t={record['t']:g} fails its SHA-256 checksum")
                    traj.add_state(record["t"], arrays[0], dict(zip(record["extras"], arrays[1:])))
                elif record["record"] == "diagnostics":
                    for t, values in record["rows"]:
                        traj.add_diagnostics(t, values)
                else:
                    raise _Damaged(f"unknown record {record['record']!r}")
            except _Damaged:
                raise
            except (ValueError, KeyError, TypeError, EOFError, UnicodeDecodeError) as exc:
                raise _Damaged(f"the record at byte {fh.tell()} is unreadable ({type(exc).__name__}: {exc})") from None
        end = fh.tell()
    if end != size:
        raise _Damaged(f"its records end at byte {end}, not at the recorded length {size}")
