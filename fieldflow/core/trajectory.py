"""Results of a run: save times, snapshots and diagnostic time series.

A :class:`Trajectory` holds host (NumPy) copies of the saved states, the diagnostics as
time series (``traj["kl"]`` with times ``traj["t"]``), and ``info`` about the run (equation
parameters, stepper, steps, wall time, whether it was interrupted).  For particle systems the
states are the particle positions, ``weights`` their (constant) weights and ``extras`` the
per-particle arrays they carry, one per saved state.  It saves to ``.npz`` (always) or ``.h5``
(with the ``io`` extra), converts to an ``xarray.Dataset``, fits exponential rates and plots its
diagnostics.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .backend import optional_import
from .validation import checksum, writable_path

__all__ = ["Trajectory", "RateFit", "PreAsymptoticFitWarning", "DIAGNOSTIC_LABELS"]


class PreAsymptoticFitWarning(UserWarning):
    """A fitted rate whose window is not yet in the single-exponential regime (see :attr:`RateFit.pre_asymptotic`)."""


@dataclass
class RateFit:
    """Least-squares fit ``log y(t) ≈ log C − rate · t`` over ``window``.

    ``half_rates`` are the rates fitted separately to the first and the second half of the window's
    samples: for a single exponential they agree; when they differ (a faster mode not yet gone, or a
    transient) the window is *pre-asymptotic* and ``rate`` is not the asymptotic rate.
    """

    rate: float
    prefactor: float
    window: tuple[float, float]
    r_squared: float
    points: int
    half_rates: tuple[float, float] = (float("nan"), float("nan"))
    #: relative difference of ``half_rates`` above which the window counts as pre-asymptotic
    drift_tol: float = 0.05

    def __float__(self) -> float:
        return self.rate

    @property
    def drift(self) -> float:
        """``|rate(first half) − rate(second half)| / |rate|`` (NaN when a half has fewer than 3 samples)."""
        a, b = self.half_rates
        return abs(a - b) / abs(self.rate) if self.rate != 0 else float("nan")

    @property
    def pre_asymptotic(self) -> bool:
        """Whether the two halves of the window give rates differing by more than ``drift_tol``."""
        return bool(self.drift > self.drift_tol)

    def __repr__(self) -> str:
        flag = ", PRE-ASYMPTOTIC" if self.pre_asymptotic else ""
        return (f"RateFit(rate={self.rate:.6g}, window=[{self.window[0]:.4g}, {self.window[1]:.4g}], "
                f"R²={self.r_squared:.5f}, points={self.points}, half rates {self.half_rates[0]:.4g}/"
                f"{self.half_rates[1]:.4g}{flag})")


@dataclass
class Trajectory:
    """Times, snapshots and diagnostics of one run (see :func:`fieldflow.evolve`).

    ``weights`` (particle systems): the particle weights ``(N,)``; ``extras``: name -> the per-particle
    array at each save time (``extras[name][i]`` goes with ``states[i]``).
    """

    times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    states: list[np.ndarray] = field(default_factory=list)
    diagnostics: dict[str, list[float]] = field(default_factory=lambda: {"t": []})
    info: dict[str, Any] = field(default_factory=dict)
    weights: np.ndarray | None = None
    extras: dict[str, list[np.ndarray]] = field(default_factory=dict)

    # ------------------------------------------------------------------ building
    def add_state(self, t: float, state: np.ndarray, extras: dict[str, np.ndarray] | None = None) -> None:
        self.times = np.append(self.times, t)
        self.states.append(np.array(state, copy=True))
        for name, value in (extras or {}).items():
            self.extras.setdefault(name, []).append(np.array(value, copy=True))

    def add_diagnostics(self, t: float, values: dict[str, float]) -> None:
        series = self.diagnostics
        n = len(series["t"])
        for key, value in values.items():
            series.setdefault(key, [float("nan")] * n).append(float(value))
        series["t"].append(float(t))
        for key in series:
            if len(series[key]) < n + 1:
                series[key].append(float("nan"))

    # ------------------------------------------------------------------ access
    def __getitem__(self, name: str) -> np.ndarray:
        """A diagnostic time series as an array (``"t"`` gives its times)."""
        if name not in self.diagnostics:
            raise KeyError(f"no diagnostic {name!r}; available: {sorted(self.diagnostics)}")
        return np.asarray(self.diagnostics[name], dtype=float)

    @property
    def final(self) -> np.ndarray:
        """The last saved state."""
        return self.states[-1]

    @property
    def interrupted(self) -> bool:
        return bool(self.info.get("interrupted", False))

    def fit_exponential_rate(self, name: str, window: tuple[float, float] | None = None,
                             full: bool = False, drift_tol: float = 0.05) -> float | RateFit:
        """Fit ``y(t) ≈ C e^{−rate t}`` to diagnostic ``name`` by least squares on ``log y``.

        Parameters
        ----------
        name : str
            Diagnostic, e.g. ``"kl"``.
        window : (t0, t1), optional
            Time window of the fit.  Default: the asymptotic regime — the samples after ``log y`` has
            covered half of its total decrease, above the round-off floor ``1e-12·y(0)``.
        full : bool
            Return a :class:`RateFit` (rate, prefactor, window, R², number of points, rates of the
            window's two halves) instead of the rate.
        drift_tol : float
            If the rates fitted to the first and the second half of the window differ by more than
            this fraction of the rate, the window is pre-asymptotic (a faster mode has not decayed yet,
            and the rate is not the asymptotic one): a :class:`PreAsymptoticFitWarning` says so and
            suggests running longer or moving the window.

        Returns
        -------
        float or RateFit
            The rate (units: 1/time), or the whole fit with ``full=True``.
        """
        import warnings

        t, y = self["t"], self[name]
        ok = np.isfinite(y) & (y > 0)
        if window is None:
            y0 = y[ok][0] if ok.any() else np.nan
            sel = ok & (y >= 1e-12 * y0)
            if sel.any():
                last = np.log(y[sel][-1])
                sel &= np.log(np.where(ok, y, 1.0)) <= 0.5 * (np.log(y0) + last)
        else:
            sel = ok & (t >= window[0]) & (t <= window[1])
        if sel.sum() < 3:
            raise ValueError(f"fewer than 3 positive samples of {name!r} in the fit window; run longer or save more often")
        ts, logy = t[sel], np.log(y[sel])
        slope, intercept = np.polyfit(ts, logy, 1)
        resid = logy - (slope * ts + intercept)
        ss_tot = np.sum((logy - logy.mean()) ** 2)
        r2 = 1 - np.sum(resid**2) / ss_tot if ss_tot > 0 else 1.0
        half = ts.size // 2
        halves = tuple(float(-np.polyfit(ts[s], logy[s], 1)[0]) if ts[s].size >= 3 else float("nan")
                       for s in (slice(0, half + 1), slice(half, None)))
        fit = RateFit(float(-slope), float(np.exp(intercept)), (float(ts[0]), float(ts[-1])), float(r2),
                      int(sel.sum()), halves, drift_tol)
        if fit.pre_asymptotic:
            warnings.warn(
                f"the fit of {name!r} on t in [{fit.window[0]:.4g}, {fit.window[1]:.4g}] looks pre-asymptotic: its "
                f"halves decay at rates {halves[0]:.4g} and {halves[1]:.4g} (differ by {fit.drift:.0%} > "
                f"{drift_tol:.0%}), so rate {fit.rate:.4g} is not yet the asymptotic rate; run longer or fit a "
                "later window", PreAsymptoticFitWarning, stacklevel=2)
        return fit if full else fit.rate

    # ------------------------------------------------------------------ I/O
    def save(self, path: str | Path) -> Path:
        """Write to ``.npz`` (default) or ``.h5``/``.hdf5`` (needs h5py: ``pip install 'fieldflow[io]'``).

        The file carries a SHA-256 checksum of its arrays, which :meth:`load` verifies.
        """
        path = writable_path(path, "path")
        path.parent.mkdir(parents=True, exist_ok=True)
        states = np.stack(self.states) if self.states else np.zeros((0,))
        arrays = {f"diag_{k}": np.asarray(v, dtype=float) for k, v in self.diagnostics.items()}
        arrays.update({f"extra_{k}": np.stack(v) for k, v in self.extras.items()})
        if self.weights is not None:
            arrays["weights"] = np.asarray(self.weights)
        arrays.update(times=np.asarray(self.times, dtype=float), states=states)
        info = json.dumps(self.info, default=str)
        arrays["info"] = np.array(info)
        arrays["checksum"] = np.array(_file_checksum(arrays))
        if path.suffix in (".h5", ".hdf5"):
            h5py = optional_import("h5py")
            with h5py.File(path, "w") as f:
                for k, v in arrays.items():
                    if k not in ("info", "checksum"):
                        f[k] = v
                f.attrs["info"] = info
                f.attrs["checksum"] = str(arrays["checksum"])
            return path
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Trajectory":
        """Read a trajectory written by :meth:`save`.

        Raises
        ------
        ValueError
            No file at ``path``, or a file that is not a trajectory written by :meth:`save` (unreadable, missing
            entries, inconsistent lengths) or fails its checksum; the message names the file and what is wrong.
        """
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"no trajectory file at {path}" + (" (it is a folder)" if path.is_dir() else "")
                             + "; pass the path Trajectory.save returned")
        try:
            data, info, stored = _read(path)
            if stored is not None and _file_checksum({**data, "info": np.array(info)}) != stored:
                raise _NotATrajectory("its arrays fail their SHA-256 checksum (the file was damaged after writing)")
            try:
                info = json.loads(info)
            except ValueError as exc:
                raise _NotATrajectory(f"its 'info' is not valid JSON ({exc})") from None
            missing = [k for k in ("times", "states", "diag_t") if k not in data]
            if missing or not isinstance(info, dict):
                raise _NotATrajectory(f"it lacks {missing or ['info']}")
            times, states = np.asarray(data["times"], dtype=float), data["states"]
            states = list(states) if states.ndim > 1 else []
            if len(states) != times.size:
                raise _NotATrajectory(f"it holds {len(states)} states but {times.size} save times")
        except _NotATrajectory as exc:
            raise ValueError(f"{path} is not a fieldflow trajectory: {exc}; write it with Trajectory.save") from None
        diagnostics = {k[5:]: list(map(float, v)) for k, v in data.items() if k.startswith("diag_")}
        extras = {k[6:]: list(v) for k, v in data.items() if k.startswith("extra_")}
        return cls(times, states, diagnostics, info, data.get("weights"), extras)
    def to_xarray(self) -> Any:
        """An ``xarray.Dataset``: ``density(time, x0, ...)`` (particle systems: ``particles(time, particle, ...)``
        and ``weights(particle)``) plus each diagnostic over ``t``."""
        xr = optional_import("xarray")
        data: dict[str, Any] = {}
        coords: dict[str, Any] = {"time": self.times, "t": self["t"]}
        if self.states and self.weights is not None:
            arr = np.stack(self.states)
            data["particles"] = (["time", "particle"] + [f"component{i}" for i in range(arr.ndim - 2)], arr)
            data["weights"] = (["particle"], self.weights)
        elif self.states:
            arr = np.stack(self.states)
            dims = ["time"] + [f"x{i}" for i in range(arr.ndim - 1)]
            axes = self.info.get("axes")
            if axes:
                for i, ax in enumerate(axes):
                    coords[f"x{i}"] = np.asarray(ax)
            data["density"] = (dims, arr)
        for k in self.diagnostics:
            if k != "t":
                data[k] = (["t"], self[k])
        return xr.Dataset(data, coords=coords, attrs={k: str(v) for k, v in self.info.items() if k != "axes"})

    # ------------------------------------------------------------------ plots
    def plot(self, names: Sequence[str] | str = ("kl",), ax: Any = None, logy: bool = True,
             path: str | Path | None = None, **kwargs: Any) -> Any:
        """Plot diagnostics against time (semilog by default) and return the matplotlib ``Figure``.

        Axes are labelled with the quantities' names (:data:`DIAGNOSTIC_LABELS`, e.g. ``"kl"`` →
        ``KL(ρ‖ρ∞)``); ``path`` saves the figure there (PNG, PDF, … by suffix).  In a script, either pass
        ``path=`` or call ``matplotlib.pyplot.show()`` to see it.  ``ax`` draws into an existing axes;
        other keywords go to ``Axes.plot``.
        """
        from ..plotting import plot_series, save_figure

        if isinstance(names, str):
            names = [names]
        labels = {n: DIAGNOSTIC_LABELS.get(n, n) for n in names}
        ax = plot_series(self["t"], {labels[n]: self[n] for n in names}, ax=ax, logy=logy, **kwargs)
        ax.set_ylabel(", ".join(labels.values()))
        fig = ax.figure
        if path is not None:
            save_figure(fig, path, close=False)
        return fig

    def __repr__(self) -> str:
        """One line: number and shape of the states, time span, diagnostics, stepper and steps."""
        shape = tuple(self.states[0].shape) if self.states else ()
        span = f"t in [{self.times[0]:.4g}, {self.times[-1]:.4g}]" if len(self.times) else "no states"
        names = [k for k in self.diagnostics if k != "t"]
        diag = f"{len(self.diagnostics['t'])} samples of {', '.join(names[:6])}{', ...' if len(names) > 6 else ''}"
        info = ", ".join(f"{k}={self.info[k]}" for k in ("method", "steps", "status") if k in self.info)
        return f"Trajectory({len(self.states)} states of shape {shape}, {span}; diagnostics: {diag}" + \
            (f"; {info})" if info else ")")


class _NotATrajectory(Exception):
    """What is wrong with a trajectory file (turned into one ``ValueError`` naming the file)."""


def _file_checksum(arrays: dict[str, np.ndarray]) -> str:
    """The checksum of a trajectory file's arrays (every entry but the checksum itself, by name)."""
    names = sorted(k for k in arrays if k != "checksum")
    return checksum(np.array(names), *(np.asarray(arrays[k]) for k in names))


def _read(path: Path) -> tuple[dict[str, np.ndarray], str, str | None]:
    """The arrays, the JSON ``info`` and the stored checksum (``None`` in files written before checksums)."""
    import zipfile
    import zlib

    try:
        if path.suffix in (".h5", ".hdf5"):
            h5py = optional_import("h5py")
            with h5py.File(path, "r") as f:
                data = {k: np.asarray(f[k]) for k in f.keys()}
                info, stored = f.attrs.get("info"), f.attrs.get("checksum")
        else:
            with np.load(path, allow_pickle=False) as f:
                data = {k: f[k] for k in f.files}
            info, stored = data.pop("info", None), data.pop("checksum", None)
    except ImportError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, KeyError) as exc:
        raise _NotATrajectory(f"it is not a readable {path.suffix or 'npz'} file ({type(exc).__name__}: {exc})") from None
    if info is None:
        raise _NotATrajectory("it has no 'info' entry")
    return data, str(info), None if stored is None else str(stored)


#: Readable names of the diagnostics the equations report (used for axis labels and legends).
DIAGNOSTIC_LABELS = {
    "kl": "KL(ρ‖ρ∞)",
    "fisher": "relative Fisher information I(ρ‖ρ∞)",
    "dissipation": "dissipation −dF/dt",
    "free_energy": "free energy F(ρ)",
    "mass": "mass ∫ρ dx",
    "entropy": "entropy H = ∫f log f dv",
    "energy": "kinetic energy ½∫|v|²f dv",
    "r1": "order parameter r₁",
    "r2": "order parameter r₂",
}
