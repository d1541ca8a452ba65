"""Every even stationary branch ``K ↦ q_K`` of ``q ∝ exp(2K W*q)``: pseudo-arclength continuation, folds, bifurcations.

A centred (even) stationary state is fixed by its moments ``x_k = ∫ cos(kθ) q`` for the modes ``k`` of
``W = Σ c_k cos kθ``: it solves ``f(x, K) = x − ⟨cos kθ⟩_{2K c∘x} = 0``
(:class:`~fieldflow.mckean_vlasov.self_consistency.SelfConsistency`).  Its solution set in ``y = (x, K)`` is a
union of curves, traced here.

**Pseudo-arclength continuation.**  From a point ``y`` with unit tangent ``t`` (``[f_x f_K] t = 0``, oriented
along the previous one) the predictor ``y + h t`` is corrected by Newton's method on
``f(y) = 0, tᵀ(y − y_pred) = 0``, whose Jacobian ``[[f_x, f_K], [tᵀ]]`` is regular at folds, where
``f_x`` alone is singular.  The step ``h`` adapts (halved on failure or a turn of more than ~18°,
grown when Newton converges in ≤ 3 iterations, at most ``h_max``).

**The uniform state's bifurcations** are exact: at ``x = 0``, ``f_x = I − K C`` and ``f_K = 0``, so the
kernel of ``[f_x f_K]`` is two-dimensional exactly at ``K = 1/c_k`` (``c_k > 0``), with the new branch
leaving along ``e_k``.

**Folds** (``t_K`` changes sign) are located by the minimally extended system: ``f = 0`` and ``g = 0``,
where ``g`` is the last component of the solution of the bordered system
``[[f_x, b], [cᵀ, 0]] (v, g) = (0, 1)`` (``b, c`` the singular vectors of ``f_x`` at the start) and
vanishes exactly when ``f_x`` is singular; its gradient ``−wᵀ ∂_y(f_x) v`` (``w`` from the transposed
system) uses the third cumulants, so Newton converges quadratically.

**Branch points** off a branch (``det [[f_x, f_K], [tᵀ]]`` changes sign while ``t_K`` does not) are located
by Brent's method on the arclength of the step; the new branch leaves along the direction of the
two-dimensional kernel of ``[f_x f_K]`` orthogonal to the current tangent.  Both directions are
followed, except those that a rotation keeping the branch point even maps to a direction already
followed (the pitchforks of an O(2)-symmetric problem): a direction is traced once up to the shifts
``θ → θ + π/s``, which act on the moments as ``x_k ↦ (−1)^{k/s} x_k``.

**Completeness.**  Besides the branches connected to the uniform state's bifurcations in the range,
Newton's method from a box of starting moments at a few ``K`` finds states on branches not connected
within the range; each that lies on no traced branch starts a new one.

**Stability** of each point is the number of positive eigenvalues of the linearised operator ``L_q``
(:func:`~fieldflow.mckean_vlasov.linearized_spectrum`; the rotation's zero mode excluded), closed-form on
the uniform branch; the leading eigenvalues are kept.  ``L_q = −AH`` with ``A`` positive definite, so this
count is also the number of negative directions of the free-energy Hessian.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy.optimize import brentq

from ..core.validation import boolean, integer, real_number
from .interactions import Fourier
from .self_consistency import SelfConsistency

__all__ = ["Branch", "SpecialPoint", "BifurcationDiagram", "bifurcation_diagram", "resolution", "spectral_fold"]

#: corrected points satisfy max|f| below this
_TOL = 1e-14
#: two directions are the same when their unit vectors agree to this (cosine of the angle)
_SAME_DIRECTION = 0.98
#: two located branch points are the same when their (x, K) agree to this: a branch point is fixed
#: only to round-off/σ_min along the kernel, ~1e-8 at a pitchfork
_SAME_POINT = 1e-6
#: eigenvalues of L_q with |λ| below this count as zero (neither stable nor unstable)
_ZERO_EIGENVALUE = 1e-9


@dataclass
class SpecialPoint:
    """A fold or a bifurcation point on the branches.

    Attributes
    ----------
    kind : {"fold", "bifurcation"}
    K : float
        Coupling at the point.
    moments : ndarray
        Signed ``x_k = ∫ cos(kθ) q`` for the modes of ``W``.
    order_parameters : ndarray
        ``|z_k|``, ``k = 1..max(2, max_mode)``.
    delta_free_energy : float
        ``F − F(uniform)``.
    mode : int or None
        For a bifurcation of the uniform state, the mode ``k`` (``K = 1/c_k``); else ``None``.
    """

    kind: str
    K: float
    moments: np.ndarray
    order_parameters: np.ndarray
    delta_free_energy: float
    mode: int | None = None
    directions: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def r1(self) -> float:
        return float(self.order_parameters[0])

    @property
    def r2(self) -> float:
        return float(self.order_parameters[1])


@dataclass
class Branch:
    """One traced curve of stationary states, point by point.

    Attributes
    ----------
    K : ndarray (S,)
        Couplings.
    moments : ndarray (S, M)
        Signed ``x_k = ∫ cos(kθ) q`` for the modes of ``W``.
    order_parameters : ndarray (S, max(2, max_mode))
        ``r_k = |∫ e^{ikθ} q|``.
    delta_free_energy : ndarray (S,)
        ``F(q) − F(uniform)``, ``F(uniform) = −½ log 2π``.
    unstable : ndarray of int (S,)
        Number of positive eigenvalues of ``L_q`` (the zero mode excluded); ``−1`` where the spectrum
        did not converge.
    eigenvalues : ndarray (S, count)
        Leading eigenvalues of ``L_q`` without the zero mode, decreasing (NaN-padded).
    uniform : bool
        The uniform branch ``x = 0``.
    start, end : str
        How the branch begins and ends: ``"bifurcation"``, ``"branch point"``, ``"seed"``, ``"range"``,
        ``"joined"`` (it reached a branch point whose continuation was already traced) or ``"stalled"``.
    """

    K: np.ndarray
    moments: np.ndarray
    order_parameters: np.ndarray
    delta_free_energy: np.ndarray
    unstable: np.ndarray
    eigenvalues: np.ndarray
    uniform: bool = False
    start: str = ""
    end: str = ""

    @property
    def r1(self) -> np.ndarray:
        return self.order_parameters[:, 0]

    @property
    def r2(self) -> np.ndarray:
        return self.order_parameters[:, 1]

    @property
    def free_energy(self) -> np.ndarray:
        """``F(q) = ½∫q log q − (K/2)∫q(W*q)``."""
        return self.delta_free_energy - 0.5 * math.log(2 * math.pi)

    @property
    def stable(self) -> np.ndarray:
        """Linearly stable points: no positive eigenvalue of ``L_q``."""
        return self.unstable == 0

    def __len__(self) -> int:
        return self.K.size

    def __repr__(self) -> str:
        kind = "uniform" if self.uniform else "ordered"
        K = f"K ∈ [{self.K.min():.6g}, {self.K.max():.6g}]" if len(self) else "empty"
        known = int(np.sum(self.unstable >= 0))
        stability = f"stable at {int(np.sum(self.stable))} of {known}" if known else "stability not computed"
        return f"Branch({kind}, {len(self)} points, {K}, {stability}, {self.start or '?'} → {self.end or '?'})"


@dataclass
class BifurcationDiagram:
    """All even stationary branches of ``(W, K)`` for ``K`` in ``K_range``, with folds and bifurcation points.

    Attributes
    ----------
    W : Fourier
    K_range : (float, float)
    branches : list of Branch
        The uniform branch first.
    folds, bifurcations : list of SpecialPoint
    K_c : float
        Critical coupling from the free energies along the branches: the least ``K`` at which some
        stationary state has ``F < F(uniform)`` (a tie located by Newton's method on
        ``f = 0, ΔF = 0``, a fold, or a bifurcation point of the uniform state); NaN if none in range.
    kind : {"continuous", "discontinuous", "below range", ""}
        ``"continuous"`` when ``K_c`` is a bifurcation point of the uniform state; ``"below range"`` when a
        branch already has ``F < F(uniform)`` at ``K0`` (then ``K_c = K0`` is only an upper bound); ``""``
        with ``K_c = NaN`` when no state beats the uniform one in the range.
    n : int
        Quadrature nodes.
    """

    W: Fourier
    K_range: tuple[float, float]
    branches: list[Branch]
    folds: list[SpecialPoint]
    bifurcations: list[SpecialPoint]
    K_c: float = math.nan
    kind: str = ""
    n: int = 0

    def __repr__(self) -> str:
        def at(points: list[SpecialPoint]) -> str:
            return f" at K = {', '.join(f'{p.K:.6g}' for p in points)}" if points else ""

        return (f"BifurcationDiagram(W={self.W!r}, K ∈ [{self.K_range[0]:g}, {self.K_range[1]:g}]: "
                f"{len(self.branches)} branches ({sum(len(b) for b in self.branches)} points), "
                f"folds{at(self.folds) or ': none'}, bifurcation points{at(self.bifurcations) or ': none'}, "
                f"K_c={self.K_c:.10g} ({self.kind or 'none in range'}))")

    def rows(self) -> list[dict[str, Any]]:
        """One dict per point (branch index, K, r1, r2, ΔF, number of unstable eigenvalues, top eigenvalue)."""
        out = []
        for b, br in enumerate(self.branches):
            for i in range(len(br)):
                out.append({"branch": b, "K": float(br.K[i]), "r1": float(br.r1[i]), "r2": float(br.r2[i]),
                            "delta_free_energy": float(br.delta_free_energy[i]), "unstable": int(br.unstable[i]),
                            "top_eigenvalue": float(br.eigenvalues[i, 0])})
        return out

    def plot(self, ax: Any = None, order: int = 1, legend: bool = True) -> Any:
        """``r_order`` against ``K``: stable branches solid, unstable dashed, folds and bifurcation points marked.

        Returns the axes.  Points whose spectrum did not converge are left out.
        """
        from ..plotting import pyplot

        if ax is None:
            _, ax = pyplot().subplots(figsize=(6, 4))
        colours = {0: "tab:blue", 1: "tab:red", 2: "tab:orange"}
        seen: set[str] = set()
        for br in self.branches:
            y = br.order_parameters[:, order - 1]
            for idx in _runs(br.unstable):
                index = int(br.unstable[idx[0]])
                if index < 0:
                    continue
                label = "stable" if index == 0 else f"unstable ({index} positive eigenvalue{'s' * (index > 1)})"
                ax.plot(br.K[idx], y[idx], ls="-" if index == 0 else "--", lw=1.6 if index == 0 else 1.1,
                        color=colours.get(index, "tab:purple"), label=None if label in seen else label)
                seen.add(label)
        if self.folds:
            ax.plot([p.K for p in self.folds], [p.order_parameters[order - 1] for p in self.folds], "kD", ms=5,
                    label="fold")
        if self.bifurcations:
            ax.plot([p.K for p in self.bifurcations], [p.order_parameters[order - 1] for p in self.bifurcations],
                    "o", mfc="white", mec="k", ms=6, label="bifurcation point")
        if math.isfinite(self.K_c):
            ax.axvline(self.K_c, color="0.5", ls=":", lw=1, label=f"$K_c$ = {self.K_c:.6f} ({self.kind})")
        ax.set_xlabel("coupling $K$")
        ax.set_ylabel(f"$r_{order} = |\\int e^{{{order if order > 1 else ''}i\\theta}} q|$")
        ax.set_xlim(*self.K_range)
        if legend:
            ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
        return ax


def _runs(values: np.ndarray) -> list[np.ndarray]:
    """Index runs of equal ``values``, each extended by one point so that consecutive runs join."""
    cuts = np.flatnonzero(np.diff(values)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [values.size]])
    return [np.arange(s, min(e + 1, values.size)) for s, e in zip(starts, ends)]


# ---------------------------------------------------------------------------- symmetry


class _Symmetry:
    """The shifts ``θ → θ + π/s`` that map every even state to an even state: ``x_k ↦ (−1)^{k/s} x_k``.

    Such a shift maps ``cos kθ`` to ``±cos kθ`` for the multiples ``k`` of ``s`` only, so it acts on the
    whole even system when ``s`` divides every mode of ``W`` (``s = 1``, the shift by ``π``, for
    Kuramoto–Daido).  A shift that only acts on a subspace (``θ → θ + π/2`` on the ``π``-periodic states)
    is not a symmetry of the even system: it maps the ``cos θ`` perturbations of such a state to
    ``sin θ`` ones, so the two images of a ``π``-periodic branch have different branch points in it.
    """

    def __init__(self, modes: Sequence[int]):
        self.modes = np.array(modes)
        g = int(np.gcd.reduce(self.modes))
        self.signs = [np.append((-1.0) ** (self.modes // s), 1.0) for s in range(1, g + 1) if g % s == 0]

    def images(self, *vectors: np.ndarray) -> list[tuple[np.ndarray, ...]]:
        """``vectors`` (each ``(x, K)``) and their images under each shift."""
        return [vectors] + [tuple(sign * v for v in vectors) for sign in self.signs]


# ---------------------------------------------------------------------------- the tracer


class _Tracer:
    def __init__(self, system: SelfConsistency, K_range: tuple[float, float], h_max: float, max_points: int):
        self.sys, self.K0, self.K1 = system, K_range[0], K_range[1]
        self.P = system.size
        self.h_max, self.max_points = h_max, max_points
        self.sym = _Symmetry(system.W.modes)
        self.special: list[SpecialPoint] = []
        self.queue: list[tuple[SpecialPoint, np.ndarray]] = []

    # ------------------------------------------------------------------ local solves
    def _aug(self, y: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f, J, fK = self.sys.jacobian(y[:-1], y[-1])
        return f, np.vstack([np.column_stack([J, fK]), t])

    def correct(self, y_pred: np.ndarray, t: np.ndarray, iterations: int = 12) -> tuple[np.ndarray | None, int]:
        """Newton on ``f(y) = 0, tᵀ(y − y_pred) = 0``; ``(None, iterations)`` on failure.

        The steps are least-squares solutions with singular values below ``1e-12`` of the largest
        dropped, so that next to a branch point (where the Jacobian is singular) round-off is not
        amplified along the kernel.
        """
        y, best, best_res = y_pred.copy(), None, math.inf
        for it in range(1, iterations + 1):
            f, A = self._aug(y, t)
            step = np.linalg.lstsq(A, np.append(f, t @ (y - y_pred)), rcond=1e-12)[0]
            y = y - step
            if not (np.all(np.abs(y[:-1]) < 1) and y[-1] > 0 and np.all(np.isfinite(y))):
                break
            res = float(np.max(np.abs(self.sys.residual(y[:-1], y[-1]))))
            if res < best_res:
                best, best_res = y.copy(), res
            if res < _TOL and (np.max(np.abs(step)) < 1e-13 or res < 1e-15):
                return y, it
        # next to a branch point the kernel direction is fixed only to round-off/σ_min: take the best iterate
        return (best, iterations) if best_res < _TOL else (None, iterations)

    def tangent(self, y: np.ndarray, t_prev: np.ndarray) -> np.ndarray:
        """Unit tangent at ``y`` oriented along ``t_prev``."""
        _, A = self._aug(y, t_prev)
        t = np.linalg.solve(A, np.eye(self.P + 1)[-1])
        return t / np.linalg.norm(t)

    def test_function(self, y: np.ndarray, t: np.ndarray) -> float:
        """``det [[f_x, f_K], [tᵀ]]``: changes sign at simple branch points, not at folds."""
        return float(np.linalg.det(self._aug(y, t)[1]))

    def natural(self, x: np.ndarray, K: float) -> np.ndarray | None:
        """Newton at fixed ``K`` from ``x``."""
        x, res, _ = self.sys.newton(x, K, iterations=30)
        return x[0] if res[0] < _TOL else None

    # ------------------------------------------------------------------ special points
    def locate_fold(self, y0: np.ndarray) -> np.ndarray | None:
        """Newton on the minimally extended system ``f = 0, g = 0`` from ``y0``."""
        P = self.P
        _, J, _ = self.sys.jacobian(y0[:-1], y0[-1])
        U, _, Vt = np.linalg.svd(J)
        b, c = U[:, -1], Vt[-1]
        y = y0.copy()
        e = np.eye(P + 1)[-1]
        for _ in range(30):
            f, J, fK = self.sys.jacobian(y[:-1], y[-1])
            B = np.block([[J, b[:, None]], [c[None, :], np.zeros((1, 1))]])
            vg = np.linalg.solve(B, e)
            w = np.linalg.solve(B.T, e)[:P]
            grad_g = -w @ self.sys.jacobian_derivative(y[:-1], y[-1], vg[:P])
            step = np.linalg.solve(np.vstack([np.column_stack([J, fK]), grad_g]), np.append(f, vg[P]))
            y = y - step
            if np.max(np.abs(step)) < 1e-14:
                break
        ok = np.max(np.abs(self.sys.residual(y[:-1], y[-1]))) < _TOL and np.linalg.norm(y - y0) < 0.5
        return y if ok else None

    def locate_branch_point(self, y: np.ndarray, t: np.ndarray, s_end: float, d0: float) -> np.ndarray | None:
        """Brent's method on ``s ↦ det`` at the corrected ``y + s t`` (constraint ``tᵀ(z − y) = s``)."""

        def point(s: float) -> np.ndarray:
            z, _ = self.correct(y + s * t, t)
            if z is None:
                raise _NoConvergence
            return z

        def det(s: float) -> float:
            if s <= 0:
                return d0
            z = point(s)
            return self.test_function(z, self.tangent(z, t))

        try:
            s_star = brentq(det, 0.0, s_end, xtol=1e-15, rtol=1e-15, maxiter=200)
            return point(s_star)
        except (_NoConvergence, ValueError, np.linalg.LinAlgError):
            return None

    def special_point(self, kind: str, y: np.ndarray, mode: int | None = None) -> SpecialPoint:
        x, K = y[:-1], y[-1]
        kmax = max(2, self.sys.W.max_mode)
        return SpecialPoint(kind, float(K), x.copy(), self.sys.order_parameters(x, K, kmax),
                            float(self.sys.delta_free_energy(x, K)), mode)

    def known(self, y: np.ndarray, t: np.ndarray | None = None) -> tuple[SpecialPoint | None, np.ndarray | None]:
        """The registered bifurcation point equal to an image of ``y``, and ``t`` mapped to its coordinates."""
        for p in self.special:
            if p.kind != "bifurcation":
                continue
            ref = np.append(p.moments, p.K)
            for image in self.sym.images(y, *(() if t is None else (t,))):
                if np.max(np.abs(image[0] - ref)) < _SAME_POINT:
                    return p, (None if t is None else image[1])
        return None, None

    def followed(self, p: SpecialPoint, d: np.ndarray) -> bool:
        """Whether direction ``d`` at ``p`` (or an image under a shift fixing ``p``) was already followed."""
        y = np.append(p.moments, p.K)
        for image in self.sym.images(y, d):
            if np.max(np.abs(image[0] - y)) < _SAME_POINT and any(image[1] @ e > _SAME_DIRECTION for e in p.directions):
                return True
        return False

    # ------------------------------------------------------------------ one branch
    def trace(self, y0: np.ndarray, d: np.ndarray, start: str, h0: float = 0.01) -> dict[str, Any]:
        """Follow the branch leaving ``y0`` along ``d`` until it leaves the range, joins a traced branch or stalls."""
        pts = [y0.copy()]
        y, t = y0.copy(), d / np.linalg.norm(d)
        h = min(h0, self.h_max)
        det_prev: float | None = None
        end = "stalled"
        while len(pts) < self.max_points:
            y_new, iters = self.correct(y + h * t, t)
            t_new = self.tangent(y_new, t) if y_new is not None else None
            if y_new is None or t_new @ t < 0.95:
                h /= 2
                if h < 1e-9:
                    break
                continue
            # the range
            if not self.K0 <= y_new[-1] <= self.K1:
                Kb = self.K0 if y_new[-1] < self.K0 else self.K1
                lam = (Kb - y[-1]) / (y_new[-1] - y[-1])
                x = self.natural(y[:-1] + lam * (y_new[:-1] - y[:-1]), Kb)
                if x is not None:
                    pts.append(np.append(x, Kb))
                end = "range"
                break
            det_new = self.test_function(y_new, t_new)
            if det_prev is not None and t_new[-1] * t[-1] < 0:  # fold (not on the first step: a pitchfork's
                # new branch leaves with t_K = 0)
                s = abs(t[-1]) / (abs(t[-1]) + abs(t_new[-1]))
                guess, _ = self.correct(y + s * h * t, t)
                yf = self.locate_fold(guess if guess is not None else y_new)
                if yf is not None:
                    fold = self.special_point("fold", yf)
                    self.special.append(fold)
                    pts.append(yf)
            elif det_prev is not None and det_new * det_prev < 0:  # branch point
                yb = self.locate_branch_point(y, t, float(t @ (y_new - y)), det_prev)
                if yb is not None:
                    stop = self.branch_point(yb, t)
                    pts.append(yb)
                    if stop:
                        end = "joined"
                        break
            pts.append(y_new)
            y, t, det_prev = y_new, t_new, det_new
            h = min(self.h_max, 1.5 * h) if iters <= 3 else (0.7 * h if iters >= 6 else h)
        else:
            raise ValueError(f"a branch used all max_points = {self.max_points} points at K = {y[-1]:.6g} before "
                             f"leaving K_range = ({self.K0:g}, {self.K1:g}) with steps of at most h_max = "
                             f"{self.h_max:.3g}: the diagram would be incomplete; raise max_points or h_max")
        return {"points": np.array(pts), "start": start, "end": end}

    def branch_point(self, yb: np.ndarray, t: np.ndarray) -> bool:
        """Register the branch point ``yb`` reached along ``t``; queue its new directions; whether to stop here."""
        p, t_p = self.known(yb, t)
        if p is None:
            p = self.special_point("bifurcation", yb)
            self.special.append(p)
            t_p = t
            _, J, fK = self.sys.jacobian(yb[:-1], yb[-1])
            kernel = np.linalg.svd(np.column_stack([J, fK]))[2][-2:]  # orthonormal rows spanning the 2D kernel
            a, b = kernel @ t
            new = kernel.T @ np.array([-b, a])  # the kernel direction orthogonal to the current tangent
            new /= np.linalg.norm(new)
            self.queue += [(p, new), (p, -new)]
        if not self.followed(p, -t_p):
            p.directions.append(-t_p)
        if self.followed(p, t_p):
            return True
        p.directions.append(t_p)
        return False


class _NoConvergence(Exception):
    pass


# ---------------------------------------------------------------------------- assembling the diagram


def _check_range(K_range: Any) -> tuple[float, float]:
    try:
        K0, K1 = (float(v) for v in K_range)
    except (TypeError, ValueError):
        raise ValueError(f"K_range must be a pair (K0, K1) of couplings, got {K_range!r}") from None
    if not (math.isfinite(K0) and math.isfinite(K1) and 0 < K0 < K1):
        raise ValueError(f"K_range must satisfy 0 < K0 < K1 (finite), got {K_range!r}")
    return K0, K1


def resolution(W: Fourier, K: float) -> int:
    """Trapezoidal nodes for every even state of ``(W, K')``, ``K' ≤ K``: the least power of two ``n`` at
    which the Fourier coefficients of the most concentrated exponential ``e^{2K Σ|c_k| cos kθ}`` are below
    ``1e-14`` of the mean beyond mode ``2n/5``.  The quadrature error of a moment ``⟨cos jθ⟩`` is the
    aliased coefficient of mode ``n − j``, and these coefficients decay super-geometrically, so it is
    far below round-off.

    A state is ``e^{Σ a_k cos kθ}/Z`` with ``|a_k| ≤ 2K|c_k|``; this is far below
    :func:`~fieldflow.mckean_vlasov.default_resolution` when the high modes of ``W`` are small.
    """
    n = 64
    while True:
        theta = 2 * np.pi * np.arange(n) / n
        e = 2 * K * sum(abs(c) * np.cos(k * theta) for k, c in W.coefficients.items() if k)
        qh = np.abs(np.fft.rfft(np.exp(e - e.max())))
        if np.max(qh[(2 * n) // 5 :]) < 1e-14 * qh[0] and n > 4 * W.max_mode:
            return n
        n *= 2


def _seed_moments(M: int) -> np.ndarray:
    """Starting moments for the multi-start search: a box for ``M ≤ 3``, random points otherwise."""
    if M <= 3:
        per_axis = {1: 21, 2: 15, 3: 7}[M]
        axes = [np.linspace(-0.95, 0.95, per_axis)] * M
        return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, M)
    return np.random.default_rng(0).uniform(-0.95, 0.95, size=(100, M))


def _on_branch(tracer: _Tracer, x: np.ndarray, K: float, curves: list[np.ndarray]) -> bool:
    """Whether the state ``(x, K)`` (or an image) lies on one of the traced ``curves``."""
    for pts in curves:
        Ks = pts[:, -1]
        for i in np.flatnonzero((Ks[:-1] - K) * (Ks[1:] - K) <= 0):
            lam = 0.0 if Ks[i + 1] == Ks[i] else (K - Ks[i]) / (Ks[i + 1] - Ks[i])
            guess = pts[i, :-1] + lam * (pts[i + 1, :-1] - pts[i, :-1])
            on = tracer.natural(guess, K)
            if on is None:
                continue
            for (image,) in tracer.sym.images(np.append(x, K)):
                if np.max(np.abs(image[:-1] - on)) < 1e-8:
                    return True
    return False


def _spectrum(system: SelfConsistency, x: np.ndarray, K: float, modes: int, count: int) -> tuple[np.ndarray, int]:
    """Leading eigenvalues of ``L_q`` without the zero mode (``count``, NaN-padded) and how many are positive."""
    from .linearized import linearized_spectrum

    q = system.density(x, K)
    out = np.full(count, np.nan)
    try:
        sp = linearized_spectrum(system.W, K, q, modes=modes, count=count + 1, vectors=False)
    except ValueError:
        return out, -1
    lam = np.delete(sp.eigenvalues, sp.zero_mode) if sp.zero_mode is not None else sp.eigenvalues
    lam = lam[:count]
    out[: lam.size] = lam
    return out, int(np.sum(lam > _ZERO_EIGENVALUE))


def _branch(system: SelfConsistency, pts: np.ndarray, start: str, end: str, modes: int, count: int,
            spectra: bool) -> Branch:
    x, K = pts[:, :-1], pts[:, -1]
    kmax = max(2, system.W.max_mode)
    eig = np.full((len(pts), count), np.nan)
    unstable = np.full(len(pts), -1)
    if spectra:
        for i in range(len(pts)):
            eig[i], unstable[i] = _spectrum(system, x[i], K[i], modes, count)
    return Branch(K=K.copy(), moments=x.copy(), order_parameters=system.order_parameters(x, K, kmax),
                  delta_free_energy=system.delta_free_energy(x, K), unstable=unstable, eigenvalues=eig,
                  start=start, end=end)


def _uniform_branch(W: Fourier, K_range: tuple[float, float], extra: list[float], count: int, M: int) -> Branch:
    from .linearized import uniform_eigenvalues

    K = np.unique(np.concatenate([np.linspace(*K_range, 101), extra]))
    lam = np.array([np.sort(uniform_eigenvalues(W, k, max(W.max_mode, count, 2)))[::-1][:count] for k in K])
    unstable = np.sum(lam > _ZERO_EIGENVALUE, axis=1)
    kmax = max(2, W.max_mode)
    return Branch(K=K, moments=np.zeros((K.size, M)), order_parameters=np.zeros((K.size, kmax)),
                  delta_free_energy=np.zeros(K.size), unstable=unstable, eigenvalues=lam, uniform=True,
                  start="range", end="range")


def _tie(system: SelfConsistency, y0: np.ndarray) -> np.ndarray | None:
    """Newton on ``f(x, K) = 0, ΔF(x, K) = 0`` (the state that ties with the uniform one) from ``y0``."""
    y = y0.copy()
    for _ in range(30):
        f, J, fK = system.jacobian(y[:-1], y[-1])
        g = float(system.delta_free_energy(y[:-1], y[-1]))
        A = np.vstack([np.column_stack([J, fK]), system.delta_free_energy_gradient(y[:-1], y[-1])])
        step = np.linalg.solve(A, np.append(f, g))
        y = y - step
        if np.max(np.abs(step)) < 1e-15:
            break
    ok = np.max(np.abs(system.residual(y[:-1], y[-1]))) < _TOL and np.linalg.norm(y - y0) < 0.2
    return y if ok else None


def _critical(system: SelfConsistency, curves: list[np.ndarray], specials: list[SpecialPoint],
              K0: float) -> tuple[float, str]:
    """Least ``K`` at which some branch has ``ΔF < 0``, and whether it is a bifurcation of the uniform state."""
    candidates: list[tuple[float, str]] = []
    floor = 1e-14
    for pts in curves:
        dF = system.delta_free_energy(pts[:, :-1], pts[:, -1])
        for i in np.flatnonzero(((dF[:-1] > floor) & (dF[1:] < -floor)) | ((dF[:-1] < -floor) & (dF[1:] > floor))):
            y = _tie(system, pts[i] + dF[i] / (dF[i] - dF[i + 1]) * (pts[i + 1] - pts[i]))
            if y is not None:
                candidates.append((float(y[-1]), "discontinuous"))
        for end, neighbour in ((0, 1), (-1, -2)):
            if len(pts) > 1 and np.max(np.abs(pts[end, :-1])) < 1e-10 and dF[neighbour] < -floor:
                candidates.append((float(pts[end, -1]), "continuous"))  # leaves the uniform state downhill
        at_K0 = (pts[:, -1] <= K0) & (dF < -floor)
        if np.any(at_K0):
            candidates.append((K0, "below range"))
    candidates += [(p.K, "discontinuous") for p in specials if p.kind == "fold" and p.delta_free_energy < -floor]
    if not candidates:
        return math.nan, ""
    K_c, kind = min(candidates)
    return K_c, kind


def bifurcation_diagram(W: Any, K_range: tuple[float, float], *, n: int | None = None, h_max: float = 0.02,
                        modes: int = 32, count: int = 6, seeds: int = 5, spectra: bool = True,
                        max_points: int = 2000) -> BifurcationDiagram:
    """Every even stationary branch of ``q ∝ exp(2K W*q)`` for ``K`` in ``K_range``, with stability, folds, bifurcations.

    Parameters
    ----------
    W : Fourier or callable
        The interaction ``W = Σ c_k cos kθ``, or an even function of ``θ`` (converted by
        :meth:`Fourier.from_function <fieldflow.mckean_vlasov.interactions.Fourier.from_function>`).
    K_range : (float, float)
        ``0 < K0 < K1``.
    n : int, optional
        Quadrature nodes (default :func:`resolution` at ``K1``).
    h_max : float
        Largest continuation step in ``(x, K)``.
    modes : int
        Fourier modes of the spectra of ``L_q`` (checked against ``modes + modes/4``).
    count : int
        Leading eigenvalues kept per point.
    seeds : int
        Couplings (equispaced in the range) at which Newton's method from a box of starting moments
        looks for branches not connected to the traced ones (0: none).
    spectra : bool
        Compute the spectrum of ``L_q`` at every point (``False``: ``unstable`` is −1 off the uniform branch).
    max_points : int
        Points per branch at most; a branch that needs more raises ``ValueError`` (never a silently
        truncated diagram).

    Returns
    -------
    BifurcationDiagram
    """
    if not isinstance(W, Fourier):
        if not callable(W):
            raise ValueError(f"W must be a Fourier interaction or an even function of θ, got {type(W).__name__}")
        W = Fourier.from_function(W)
    K0, K1 = _check_range(K_range)
    h_max = real_number(h_max, "h_max", positive=True, maximum=0.5, hint="the largest arclength step")
    modes = integer(modes, "modes", minimum=1, maximum=4096, hint="Fourier modes of the spectra of L_q")
    count = integer(count, "count", minimum=1, maximum=64, hint="eigenvalues reported per point")
    seeds = integer(seeds, "seeds", minimum=0, maximum=1000, hint="extra Newton seeds along K_range")
    spectra = boolean(spectra, "spectra")
    max_points = integer(max_points, "max_points", minimum=1, maximum=10**6)
    system = SelfConsistency(W, resolution(W, K1) if n is None else n)
    M = system.size
    tracer = _Tracer(system, (K0, K1), h_max, max_points)
    # the uniform state's bifurcation points, exact
    for j, k in enumerate(W.modes):
        c = W.coefficient(k)
        if c > 0 and K0 <= 1 / c <= K1:
            p = tracer.special_point("bifurcation", np.append(np.zeros(M), 1 / c), mode=k)
            eK = np.eye(M + 1)[-1]
            p.directions += [eK, -eK]
            tracer.special.append(p)
            tracer.queue += [(p, np.eye(M + 1)[j]), (p, -np.eye(M + 1)[j])]
    traces: list[dict[str, Any]] = []

    def drain() -> None:
        while tracer.queue:
            p, d = tracer.queue.pop(0)
            if tracer.followed(p, d):
                continue
            p.directions.append(d)
            traces.append(tracer.trace(np.append(p.moments, p.K), d, "bifurcation" if p.mode else "branch point"))

    drain()
    # states on branches not connected to the uniform state in the range
    for K in np.linspace(K0, K1, seeds + 2)[1:-1] if seeds else []:
        x, res, sigma = system.newton(_seed_moments(M), K)
        distinct: list[np.ndarray] = []
        for xi in x[(res < _TOL) & (np.abs(x).max(axis=1) > 1e-6) & (sigma > 1e-8)]:
            if not any(np.max(np.abs(image[:-1] - d)) < 1e-8 for d in distinct
                       for (image,) in tracer.sym.images(np.append(xi, K))):
                distinct.append(xi)
        for xi in distinct:
            if _on_branch(tracer, xi, K, [tr["points"] for tr in traces]):
                continue
            y = np.append(xi, K)
            t = tracer.tangent(y, np.eye(M + 1)[-1])
            for sign in (1.0, -1.0):
                traces.append(tracer.trace(y, sign * t, "seed"))
            drain()
    traces = [tr for tr in traces if len(tr["points"]) > 1]  # a start whose first step never converged
    curves = [tr["points"] for tr in traces]
    branches = [_branch(system, tr["points"], tr["start"], tr["end"], modes, count, spectra) for tr in traces]
    bif_K = [p.K for p in tracer.special if p.mode is not None]
    uniform = _uniform_branch(W, (K0, K1), bif_K, count, M)
    folds = [p for p in tracer.special if p.kind == "fold"]
    bifurcations = [p for p in tracer.special if p.kind == "bifurcation"]
    K_c, kind = _critical(system, curves, tracer.special, K0)
    return BifurcationDiagram(W=W, K_range=(K0, K1), branches=[uniform] + branches, folds=folds,
                              bifurcations=bifurcations, K_c=K_c, kind=kind, n=system.n)


def spectral_fold(W: Fourier, fold: SpecialPoint, width: float = 0.02, modes: int = 32,
                  n: int | None = None) -> tuple[float, np.ndarray]:
    """The fold located independently: where the leading non-zero eigenvalue of ``L_q`` crosses 0 along the branch.

    The branch through ``fold`` is parameterised by ``x_1`` (regular through a fold in ``K``): at fixed
    ``x_1`` the other moments and ``K`` solve the self-consistency equations
    (:func:`~fieldflow.mckean_vlasov.self_consistency_residual`, by ``scipy.optimize.fsolve``); the leading
    eigenvalue of ``L_q`` other than the zero mode (:func:`~fieldflow.mckean_vlasov.linearized_spectrum`)
    is a smooth function of ``x_1`` that changes sign at the fold, whose root in
    ``[x_1 − width, x_1 + width]`` Brent's method finds.  Neither the bordered system nor its
    derivatives enter.

    Returns
    -------
    (K, moments)
    """
    from scipy.optimize import fsolve

    from ..core.grids import Grid
    from .linearized import linearized_spectrum
    from .stationary import self_consistency_residual

    if not isinstance(W, Fourier):
        raise TypeError(f"W must be the Fourier interaction of the diagram, got {type(W).__name__}")
    if not isinstance(fold, SpecialPoint) or fold.kind != "fold":
        raise TypeError(f"fold must be a fold of a bifurcation diagram (a SpecialPoint of kind 'fold', from "
                        f"bifurcation_diagram(...).folds), got {fold!r}")
    x1 = float(fold.moments[0])
    width = real_number(width, "width", positive=True, maximum=0.5, hint="the half-width of the bracket in x_1")
    if not -1 < x1 - width < x1 + width < 1:
        raise ValueError(f"width = {width:g} takes x_1 = {x1:.4g} ± width outside the moment space (−1, 1); "
                         "pass a smaller width")
    modes = integer(modes, "modes", minimum=1, maximum=4096, hint="Fourier modes of the spectra of L_q")
    n = resolution(W, fold.K) if n is None else integer(n, "n", minimum=8, maximum=1 << 16,
                                                         hint="grid points on the circle")
    theta = np.asarray(Grid.torus(n).axes[0])
    guess = np.append(fold.moments[1:], fold.K)

    def branch(x1: float) -> np.ndarray:
        rest = fsolve(lambda v: self_consistency_residual(W, v[-1], np.append(x1, v[:-1]), n=n), guess,
                      xtol=1e-12)
        return np.append(x1, rest)

    def top(x1: float) -> float:
        y = branch(x1)
        e = 2 * y[-1] * sum(W.coefficient(k) * xk * np.cos(k * theta) for k, xk in zip(W.modes, y[:-1]))
        q = np.exp(e - e.max())
        q /= q.sum() * 2 * np.pi / n
        sp = linearized_spectrum(W, y[-1], q, modes=modes, count=4, vectors=False)
        return float(np.delete(sp.eigenvalues, sp.zero_mode)[0])

    low, high = top(x1 - width), top(x1 + width)
    if not (np.isfinite(low) and np.isfinite(high)) or low * high > 0:
        raise ValueError(f"the leading eigenvalue of L_q does not change sign on x_1 = {x1:.4g} ± width "
                         f"(width = {width:g}: {low:.3g} and {high:.3g}); the branch there is not near this fold — "
                         "pass a smaller width (a wide bracket can leave the branch), or the fold of this W")
    root = brentq(top, x1 - width, x1 + width, xtol=1e-14, rtol=1e-15)
    y = branch(root)
    return float(y[-1]), y[:-1]
