"""Spectral gap of the free-energy minimiser along the coupling ``K``, and the Kuramoto–Daido gap map over ``(m, K)``.

For one interaction ``W`` and an increasing list of couplings, :func:`minimizer_gaps` returns the
spectral gap of ``L_q`` at the minimiser ``q`` of ``F_K``:

* for ``K ≤ K_c`` (:func:`~fieldflow.mckean_vlasov.critical_coupling`) the minimiser is uniform and
  the gap is the closed form ``min_n ½n²(1 − K c_n)`` (see :func:`~fieldflow.mckean_vlasov.uniform_eigenvalues`);
* above ``K_c`` the non-uniform stationary states are followed by **continuation in K**: the
  locally stable centred states at the largest ``K`` (Newton from the fully concentrated state and
  from the ``k``-cluster states of each mode ``k`` of ``W``) are continued downwards by Newton's
  method on the moment equations ``r_k = ⟨cos kθ⟩_{2K c r}``
  (:func:`~fieldflow.mckean_vlasov.stationary.self_consistency_residual`), each warm-started from its
  value at the previous ``K``; a branch is dropped at its fold (Newton fails or jumps).  At each
  ``K`` the branch of least free energy ``F = (K/2)Σ c_k r_k² − ½ log Z`` is the candidate; if none
  beats the uniform state, or the candidate is linearly unstable (a minimiser cannot be: the
  continuation jumped at a pitchfork or missed a branch born inside the range),
  :func:`~fieldflow.mckean_vlasov.free_energy_minimizer` is called and its state followed from there.

:func:`kuramoto_daido_gap_map` runs one column ``m`` per task over a :mod:`fieldflow.core.sweep`
executor (process pool by default, or a Dask client).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..core.grids import Grid
from .linearized import linearized_spectrum, uniform_eigenvalues

__all__ = ["GapMap", "minimizer_gaps", "kuramoto_daido_gap_map"]


def _moments_state(W: Any, K: float, r: np.ndarray, grid: Grid) -> np.ndarray:
    """``q = e^{2K W*q}/Z`` on ``grid`` for a centred state with moments ``r_k = ∫cos(kθ) q``, ``k ∈ W.modes``."""
    theta = np.asarray(grid.axes[0])
    expo = sum(2 * K * W.coefficient(k) * rk * np.cos(k * theta) for k, rk in zip(W.modes, r))
    q = np.exp(expo - expo.max())
    return q / (q.sum() * grid.spacing[0])


def _free_energy(W: Any, K: float, r: np.ndarray, grid: Grid) -> float:
    """``F = ½∫q log q − (K/2)∫q W*q = (K/2) Σ c_k r_k² − ½ log Z`` for the exponential-family state."""
    theta = np.asarray(grid.axes[0])
    c = np.array([W.coefficient(k) for k in W.modes])
    expo = sum(2 * K * ck * rk * np.cos(k * theta) for k, ck, rk in zip(W.modes, c, r))
    top = expo.max()
    logZ = top + math.log(np.exp(expo - top).sum() * grid.spacing[0])
    return 0.5 * K * float(c @ (r * r)) - 0.5 * logZ


def _newton(W: Any, K: float, r: np.ndarray, n: int, tol: float = 1e-13, iterations: int = 30) -> np.ndarray | None:
    """Newton's method for ``r = ⟨cos⟩_{2Kcr}`` from ``r`` (finite-difference Jacobian); ``None`` if it fails."""
    from .stationary import self_consistency_residual

    M, h = r.size, 1e-7
    for _ in range(iterations):
        res = self_consistency_residual(W, K, r, n=n)
        if np.max(np.abs(res)) < tol:
            return r
        probes = r[None, :] + h * np.eye(M)
        J = (self_consistency_residual(W, K, probes, n=n) - res[None, :]).T / h
        try:
            r = r - np.linalg.solve(J, res)
        except np.linalg.LinAlgError:
            return None
        if not np.all(np.abs(r) <= 1):
            return None
    return r if np.max(np.abs(self_consistency_residual(W, K, r, n=n))) < 1e3 * tol else None


def _seeds(W: Any) -> list[np.ndarray]:
    """Concentrated starting moments: one cluster (``r_k ≈ 1``) and ``k``-cluster states (``r_j ≈ [k | j]``)."""
    seeds = [np.full(len(W.modes), 0.98)]
    for k in W.modes:
        if W.coefficient(k) > 0 and k > 1:
            seeds.append(np.array([0.98 if j % k == 0 else 0.0 for j in W.modes]))
    return seeds


def _uniform_gap(W: Any, K: float) -> float:
    return float(-uniform_eigenvalues(W, K, max(W.modes) + 1).max())


def _gap(W: Any, K: float, r: np.ndarray, grid: Grid, modes: int, rtol: float) -> float:
    """Spectral gap at the state with moments ``r`` (NaN if the spectrum did not converge)."""
    try:
        return linearized_spectrum(W, K, _moments_state(W, K, r, grid), modes=modes, rtol=rtol, count=4,
                                   vectors=False).spectral_gap
    except ValueError:
        return float("nan")


def minimizer_gaps(W: Any, Ks: Sequence[float], modes: int = 40, rtol: float = 1e-8,
                   n: int | None = None) -> dict[str, np.ndarray]:
    """Spectral gap of ``L_q`` at the free-energy minimiser ``q`` for each ``K`` (see the module docstring).

    Parameters
    ----------
    W : fieldflow.mckean_vlasov.interactions.Fourier
    Ks : sequence of float
        Couplings (> 0), any order.
    modes : int
        Fourier modes ``N`` of the spectra (checked against ``N + N/4``; unconverged → NaN).
    rtol : float
        Agreement required between the two resolutions.
    n : int, optional
        Grid points of the states (default :func:`~fieldflow.mckean_vlasov.default_resolution` at
        ``max(Ks)``).

    Returns
    -------
    dict
        ``"K"``, ``"gap"``, ``"moments"`` (shape ``(len(Ks), len(W.modes))``, zeros when uniform),
        ``"K_c"`` (a 0-d array).
    """
    from .phase import critical_coupling
    from .stationary import default_resolution, free_energy_minimizer

    Ks = np.asarray(Ks, dtype=float)
    if Ks.ndim != 1 or Ks.size == 0 or not np.all(np.isfinite(Ks)) or np.any(Ks <= 0):
        raise ValueError(f"Ks must be a non-empty 1D list of positive couplings, got {Ks!r}")
    order = np.argsort(Ks)
    Kmax = float(Ks[order[-1]])
    n = int(n or default_resolution(W, Kmax))
    grid = Grid.torus(n)
    K_c = critical_coupling(W).K_c
    gaps = np.full(Ks.size, np.nan)
    moments = np.zeros((Ks.size, len(W.modes)))
    # branches of stable non-uniform states, continued downwards from K_max
    branches: list[np.ndarray] = []
    if Kmax > K_c:
        for seed in _seeds(W):
            r = _newton(W, Kmax, seed, n)
            if r is not None and not any(np.max(np.abs(r - b)) < 1e-7 for b in branches):
                branches.append(r)
    F_uniform = -0.5 * math.log(2 * math.pi)
    for i in order[::-1]:
        K = float(Ks[i])
        if K <= K_c:
            gaps[i] = _uniform_gap(W, K)
            continue
        alive: list[np.ndarray] = []
        for r in branches:
            new = _newton(W, K, r, n)
            if (new is not None and np.max(np.abs(new - r)) < 0.2 and np.max(np.abs(new)) > 1e-6
                    and not any(np.max(np.abs(new - a)) < 1e-7 for a in alive)):
                alive.append(new)
        branches = alive
        energies = [_free_energy(W, K, r, grid) for r in branches]
        r = branches[int(np.argmin(energies))] if energies and min(energies) < F_uniform else None
        gap = _gap(W, K, r, grid, modes, rtol) if r is not None else -np.inf
        if not gap > -1e-9:
            # the continued branches missed the minimiser (a branch born inside the K range, or a
            # jump at a pitchfork): ask the global search, and follow its state from here on
            r = np.asarray(free_energy_minimizer(W, K, n=n).moments, dtype=float)
            branches.append(r)
            gap = _gap(W, K, r, grid, modes, rtol)
        moments[i], gaps[i] = r, gap
    return {"K": Ks, "gap": gaps, "moments": moments, "K_c": np.asarray(K_c)}


@dataclass
class GapMap:
    """Spectral gap of the free-energy minimiser over the Kuramoto–Daido ``(m, K)`` plane.

    Attributes
    ----------
    ms, Ks : ndarray
        The axes.
    gap : ndarray, shape (len(ms), len(Ks))
        ``gap(L_q)`` at the minimiser (NaN where the spectrum did not converge).
    r1, r2 : ndarray, shape (len(ms), len(Ks))
        Moments ``∫cos θ q`` and ``∫cos 2θ q`` of the minimiser (0 at the uniform state).
    K_c : ndarray, shape (len(ms),)
        Critical couplings.
    """

    ms: np.ndarray
    Ks: np.ndarray
    gap: np.ndarray
    r1: np.ndarray
    r2: np.ndarray
    K_c: np.ndarray

    def __repr__(self) -> str:
        finite = self.gap[np.isfinite(self.gap)]
        span = f"gap ∈ [{finite.min():.3g}, {finite.max():.3g}]" if finite.size else "no converged gap"
        return (f"GapMap({self.ms.size} m × {self.Ks.size} K over m ∈ [{self.ms.min():g}, {self.ms.max():g}], "
                f"K ∈ [{self.Ks.min():g}, {self.Ks.max():g}]: {span}, {int(np.isnan(self.gap).sum())} unconverged)")


def _column(args: tuple[float, tuple[float, ...], int, float]) -> dict[str, np.ndarray]:
    from .interactions import kuramoto_daido

    m, Ks, modes, rtol = args
    W = kuramoto_daido(m)
    out = minimizer_gaps(W, Ks, modes=modes, rtol=rtol)
    r = np.zeros((len(Ks), 2))
    for j, k in enumerate(W.modes):
        r[:, k - 1] = out["moments"][:, j]
    out["r"] = r
    return out


def kuramoto_daido_gap_map(ms: Sequence[float], Ks: Sequence[float], *, modes: int = 40, rtol: float = 1e-8,
                           executor: Any = None, max_workers: int | None = None, label: str | None = None) -> GapMap:
    """:func:`minimizer_gaps` of ``W = cos θ + m cos 2θ`` for each ``m`` (one task per ``m``).

    ``executor``/``max_workers``/``label`` (a progress bar over the ``m``) as in :func:`fieldflow.core.sweep.sweep`
    (default: a process pool, no bar).
    """
    from ..core.sweep import sweep

    ms = np.asarray(ms, dtype=float)
    Ks = np.asarray(Ks, dtype=float)
    if ms.ndim != 1 or ms.size == 0 or not np.all(np.isfinite(ms)) or np.any(ms < 0):
        raise ValueError(f"ms must be a non-empty 1D list of m >= 0, got {ms!r}")
    cols = sweep(_column, [(float(m), tuple(Ks), modes, rtol) for m in ms], executor=executor,
                 max_workers=max_workers, chunks=len(ms), label=label)
    return GapMap(ms=ms, Ks=Ks, gap=np.stack([c["gap"] for c in cols]), r1=np.stack([c["r"][:, 0] for c in cols]),
                  r2=np.stack([c["r"][:, 1] for c in cols]), K_c=np.array([float(c["K_c"]) for c in cols]))
