"""Score matching with a model linear in its parameters: closed-form fits, sizes chosen by cross-validation.

The score ``s = ∇ log f`` of a density known only through weighted samples ``(v_i, w_i)`` is fitted by
Hyvärinen's implicit score matching, ``min_θ Σ_i w_i (|s_θ(v_i)|² + 2 ∇·s_θ(v_i))``, which equals
``E_f|s_θ − ∇log f|² − E_f|∇log f|²`` in expectation, so no density estimate is needed.  The model
``s_θ = ∇(θ·φ)`` is linear in ``θ``, with ``φ`` = linear and quadratic monomials plus Gaussian radial
basis functions; the loss is then the quadratic ``θᵀGθ + 2θᵀβ``, minimised in closed form by one
``M×M`` solve (ridge ``λ`` on the RBF part only).  Why this model: the quadratic part represents every
Gaussian exactly, the RBFs carry the non-Gaussian part, the fit is deterministic and needs no optimiser,
learning rate or framework, and costs ``O(N M² + M³)``.  The number of centres and the ridge are
chosen by K-fold cross-validation of the held-out score-matching loss (:func:`fit_score`).

Used by the score-based Landau particle method (:class:`fieldflow.landau.ScoreLandau`); it knows no
equation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .backend import namespace_of, single_threaded_blas, to_numpy

__all__ = ["ScoreModel", "fit_score", "centre_candidates", "ridge_candidates", "DEFAULT_CENTRES", "DEFAULT_RIDGES"]


#: numbers of centres tried by cross-validation when ``n_centres="cv"``
DEFAULT_CENTRES: tuple[int, ...] = (16, 32, 64, 128)
#: ridge parameters tried by cross-validation when ``ridge="cv"``: 1e-4 … 10 in half decades
DEFAULT_RIDGES: tuple[float, ...] = tuple(10.0 ** (k / 2) for k in range(-8, 3))  # 1e-4 … 10, half decades


@dataclass
class ScoreModel:
    """``s_θ(v) = ∇ (θ · φ(v))`` with ``φ`` = ``v_a``, ``v_a v_b`` (``a ≤ b``), ``exp(−|v − c_k|²/(2ℓ²))``.

    ``ridge`` is the relative ridge the fit used and ``cv_loss`` the cross-validated held-out score-matching
    loss of the selected ``(n_centres, ridge)`` (an estimate of ``E_f|s_θ|² + 2∇·s_θ = E_f|s_θ − ∇log f|² −
    E_f|∇log f|²``, per unit mass); ``None`` when no selection was made.
    """

    theta: Any
    centres: Any
    bandwidth: float
    ridge: float | None = None
    cv_loss: float | None = None

    @property
    def n_centres(self) -> int:
        """Number of RBF centres (Nyström points)."""
        return int(self.centres.shape[0])

    def __repr__(self) -> str:
        ridge = "none" if self.ridge is None else f"{self.ridge:.3g}"
        cv = "" if self.cv_loss is None else f", cv_loss={self.cv_loss:.4g}"
        return (f"ScoreModel({self.n_centres} centres in {self.centres.shape[1]}D, bandwidth={self.bandwidth:.4g}, "
                f"ridge={ridge}{cv}, {len(self.theta)} coefficients)")

    def _parts(self, v: Any) -> tuple[Any, Any, Any, Any]:
        xp = namespace_of(v)
        d = v.shape[1]
        nq = d * (d + 1) // 2
        lin, quad, rbf = self.theta[:d], self.theta[d:d + nq], self.theta[d + nq:]
        Q = xp.zeros((d, d))
        k = 0
        for a in range(d):
            for b in range(a, d):
                Q[a, b] += quad[k]
                Q[b, a] += quad[k]
                k += 1
        diff = v[:, None, :] - self.centres[None, :, :]
        phi = xp.exp(-xp.sum(diff * diff, axis=-1) / (2 * self.bandwidth**2)) * rbf[None, :]
        return lin, Q, diff, phi

    def __call__(self, v: Any) -> Any:
        """The score at ``v`` (shape ``(N, d)``)."""
        xp = namespace_of(v)
        lin, Q, diff, phi = self._parts(v)
        return lin[None, :] + v @ Q - xp.einsum("nk,nkd->nd", phi, diff) / self.bandwidth**2

    def hessian(self, v: Any) -> Any:
        """``∇s(v)`` (symmetric ``d×d`` per point)."""
        xp = namespace_of(v)
        _, Q, diff, phi = self._parts(v)
        ell2 = self.bandwidth**2
        eye = xp.eye(v.shape[1])
        outer = xp.einsum("nk,nkd,nke->nde", phi, diff, diff) / ell2**2
        return Q[None] + outer - xp.sum(phi, axis=1)[:, None, None] * eye / ell2


def _features(v: Any, centres: Any, bandwidth: float) -> tuple[Any, Any]:
    """Gradients ``∇φ_k(v_i)`` (shape ``(N, M, d)``) and Laplacians ``Δφ_k(v_i)`` (``(N, M)``) of the features."""
    xp = namespace_of(v)
    n, d = v.shape
    grads, laps = [], []
    eye = xp.eye(d)
    for a in range(d):  # linear
        grads.append(xp.broadcast_to(eye[a], (n, d)))
        laps.append(xp.zeros(n))
    for a in range(d):  # quadratic
        for b in range(a, d):
            grads.append(eye[a][None, :] * v[:, b:b + 1] + eye[b][None, :] * v[:, a:a + 1])
            laps.append(xp.full(n, 2.0 if a == b else 0.0))
    diff = v[:, None, :] - centres[None, :, :]
    r2 = xp.sum(diff * diff, axis=-1)
    ell2 = bandwidth**2
    g = xp.exp(-r2 / (2 * ell2))
    rbf_grad = -diff * (g / ell2)[..., None]
    rbf_lap = g * (r2 / ell2**2 - d / ell2)
    G = xp.concatenate([xp.stack(grads, axis=1), rbf_grad], axis=1)
    Lp = xp.concatenate([xp.stack(laps, axis=1), rbf_lap], axis=1)
    return G, Lp


def _normal_equations(G: Any, Lp: Any, w: Any) -> tuple[Any, Any]:
    """``Σ_i w_i ∇φ(v_i)∇φ(v_i)ᵀ`` (``M×M``, one matrix product) and ``Σ_i w_i Δφ(v_i)`` for the rows given."""
    xp = namespace_of(G)
    n, m, d = G.shape
    rows = xp.reshape(xp.transpose(G, (0, 2, 1)), (n * d, m))
    return (rows * xp.repeat(w, d)[:, None]).T @ rows, Lp.T @ w


def ridge_candidates(ridge: float | str | Sequence[float]) -> tuple[float, ...]:
    if isinstance(ridge, str):
        if ridge != "cv":
            raise ValueError(f"ridge must be a non-negative number, a sequence of candidates or 'cv', got {ridge!r}")
        return DEFAULT_RIDGES
    values = [ridge] if np.ndim(ridge) == 0 else list(ridge)
    if not values:
        raise ValueError("ridge is an empty sequence of candidates; pass a number, non-empty candidates or 'cv'")
    out: list[float] = []
    for value in values:
        value = float(value)
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"ridge must be non-negative and finite, got {value!r}")
        if value not in out:
            out.append(value)
    return tuple(out)


def centre_candidates(n_centres: int | Sequence[int], n: int) -> tuple[int, ...]:
    values = [n_centres] if np.ndim(n_centres) == 0 else list(n_centres)
    if not values:
        raise ValueError("n_centres is an empty sequence of candidates; pass an int or a non-empty sequence")
    out: list[int] = []
    for value in values:
        if isinstance(value, bool) or not float(value).is_integer() or value < 0:
            raise ValueError(f"n_centres must be non-negative integers, got {value!r}")
        m = min(int(value), n)
        if m not in out:
            out.append(m)
    return tuple(out)


def fit_score(v: Any, w: Any, n_centres: int | Sequence[int] = DEFAULT_CENTRES, bandwidth: float | None = None,
              ridge: float | str | Sequence[float] = "cv", seed: int | None = 0, folds: int = 5) -> ScoreModel:
    """Closed-form score matching of the linear-in-parameters model :class:`ScoreModel` to weighted particles.

    For given ``(M, λ)`` minimises ``L(θ) + λ c θ_rbfᵀθ_rbf`` with Hyvärinen's implicit score-matching loss
    ``L(θ) = Σ_i w̃_i (|s_θ(v_i)|² + 2∇·s_θ(v_i)) = θᵀGθ + 2θᵀβ`` (``w̃ = w/Σw``), which equals
    ``E_f|s_θ − ∇log f|² − E_f|∇log f|²`` in expectation: ``θ = −(G + λcR)^{-1}β`` with
    ``G = Σ_i w̃_i ∇φ(v_i)∇φ(v_i)ᵀ``, ``β = Σ_i w̃_i Δφ(v_i)``, ``R`` the identity on the RBF coefficients and
    ``c`` the mean RBF diagonal of ``G`` (so ``λ`` is relative).  Centres: the first ``M`` particles of one
    permutation drawn with ``seed`` (Nyström; nested in ``M``); ``bandwidth`` defaults to the per-axis standard
    deviation times ``2 M^{−1/(d+4)}`` (a Silverman-type width for the centre cloud).

    **Selection by cross-validation.**  With several candidates (``n_centres`` a sequence and/or ``ridge`` a
    sequence or ``"cv"`` = :data:`DEFAULT_RIDGES`), the particles are split into ``folds`` folds by a second
    permutation from ``seed`` (reproducible), and each candidate is scored by the held-out loss
    ``Σ_k L_k(θ_{−k})``, ``θ_{−k}`` fitted without fold ``k``.  Because ``L`` is, up to the constant
    ``−E_f|∇log f|²``, the expected squared score error, this held-out sum is an unbiased estimate of the
    generalisation error ``E_f|s_θ − ∇log f|²`` of the fit (minus that constant, for training sets of size
    ``(K−1)N/K``) — a proper CV criterion, although ``log f`` is unknown.  The loss is quadratic, so per
    candidate ``M`` the fold matrices ``G_k, β_k`` are formed once (``O(N M² d)``) and every ridge costs
    ``K`` solves of size ``M×M``: ``θ_{−k} = −(G − G_k + λ c m_k R)^{-1}(β − β_k)`` (``m_k`` the training mass
    fraction, so ``λ`` penalises the training *mean* loss as in the final fit), held-out loss
    ``θ_{−k}ᵀG_kθ_{−k} + 2θ_{−k}ᵀβ_k``.  The minimiser is refitted on all particles; its ridge and CV loss are
    stored on the returned model.

    Parameters
    ----------
    v, w : arrays ``(N, d)``, ``(N,)``
        Particle velocities and non-negative weights.
    n_centres : int or sequence of int
        Number of RBF centres, or candidates for it (each capped at ``N``).
    bandwidth : float, optional
        RBF width ``ℓ`` (velocity units); default as above, per candidate ``M``.
    ridge : float, sequence of float or ``"cv"``
        Relative ridge ``λ ≥ 0``, or candidates for it.
    seed : int or None
        Seed of the centre and fold permutations.
    folds : int
        Number of CV folds ``K ≥ 2`` (used only with more than one candidate); needs ``N ≥ K``.
    """
    if namespace_of(v).__name__ == "numpy":
        with single_threaded_blas():  # dozens of solves of size ≤ 150: threads only cost here
            return _fit_score(v, w, n_centres, bandwidth, ridge, seed, folds)
    return _fit_score(v, w, n_centres, bandwidth, ridge, seed, folds)


def _fit_score(v: Any, w: Any, n_centres: int | Sequence[int], bandwidth: float | None,
               ridge: float | str | Sequence[float], seed: int | None, folds: int) -> ScoreModel:
    """:func:`fit_score` in the caller's threading."""
    xp = namespace_of(v)
    n, d = v.shape
    ridges = ridge_candidates(ridge)
    sizes = centre_candidates(n_centres, n)
    select = len(ridges) * len(sizes) > 1
    if select and (isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2):
        raise ValueError(f"folds must be an integer ≥ 2 for cross-validation, got {folds!r}")
    if select and n < folds:
        raise ValueError(f"cross-validation with {folds} folds needs at least {folds} particles, got {n}; "
                         "pass fewer folds or a single n_centres and ridge")
    order, parts = _permutations(xp, n, seed, folds if select else 0)
    mass = xp.sum(w)
    wn = w / mass
    std = xp.sqrt(xp.sum(w[:, None] * (v - xp.sum(w[:, None] * v, 0) / mass) ** 2) / (mass * d))
    p0 = d + d * (d + 1) // 2
    candidates, losses = [], []
    for m in sizes:
        centres = v[order[:m]]
        ell = 2.0 * std * m ** (-1.0 / (d + 4)) if bandwidth is None else float(bandwidth)
        G, Lp = _features(v, centres, ell)
        blocks = [_normal_equations(G[p], Lp[p], wn[p]) for p in parts] if select else [_normal_equations(G, Lp, wn)]
        gram, beta = sum(g for g, _ in blocks), sum(b for _, b in blocks)
        scale = xp.mean(xp.diagonal(gram)[p0:]) if m else 0.0
        penalty = xp.diag(xp.concatenate([xp.zeros(p0), xp.ones(m) * scale]))
        if not select:
            return ScoreModel(-xp.linalg.solve(gram + ridges[0] * penalty, beta), centres, float(ell), ridge=ridges[0])
        candidates.append((centres, ell, gram, beta, penalty))
        losses += [_held_out_loss(xp, gram, beta, penalty, lam, blocks, [1.0 - xp.sum(wn[p]) for p in parts])
                   for lam in ridges]
    # the whole table of held-out losses (and the bandwidths) comes to the host in one read
    table = to_numpy(xp.stack([xp.asarray(x, dtype=float).reshape(()) for x in losses + [c[1] for c in candidates]]))
    best = int(np.argmin(table[: len(losses)]))  # the first minimum: smaller M, then smaller λ, wins ties
    k, lam = divmod(best, len(ridges))
    centres, _, gram, beta, penalty = candidates[k]
    return ScoreModel(-xp.linalg.solve(gram + ridges[lam] * penalty, beta), centres, float(table[len(losses) + k]),
                      ridge=ridges[lam], cv_loss=float(table[best]))


def _held_out_loss(xp: Any, gram: Any, beta: Any, penalty: Any, lam: float, blocks: list, train: list) -> Any:
    """``Σ_k L_k(θ_{−k})`` for one ridge, as a 0-d array of the particles' namespace (no host read)."""
    loss = 0.0
    for (g_k, b_k), m_k in zip(blocks, train):
        theta = -xp.linalg.solve(gram - g_k + lam * m_k * penalty, beta - b_k)
        loss = loss + (theta @ (g_k @ theta) + 2 * (theta @ b_k))
    return loss


_PERMUTATIONS: dict[tuple, tuple[Any, list[Any]]] = {}


def _permutations(xp: Any, n: int, seed: int | None, folds: int) -> tuple[Any, list[Any]]:
    """The centre permutation and the fold index sets drawn with ``seed`` (NumPy's generator, so every backend
    gets the same ones), in ``xp``; cached per ``(xp, n, seed, folds)`` so refits upload nothing."""
    key = (xp, n, seed, folds)
    if seed is None or key not in _PERMUTATIONS:
        rng = np.random.default_rng(seed)
        order = xp.asarray(rng.permutation(n))
        parts = [xp.asarray(p) for p in np.array_split(rng.permutation(n), folds)] if folds else []
        if seed is None:
            return order, parts
        if len(_PERMUTATIONS) >= 16:
            _PERMUTATIONS.pop(next(iter(_PERMUTATIONS)))
        _PERMUTATIONS[key] = (order, parts)
    return _PERMUTATIONS[key]
