"""Blocked pair sums of the Landau particle methods for a general velocity field, and their adjoints.

For particles ``v_i`` with pair weights ``p_j`` and a field ``u`` known at the particles through its values
``u_i`` and symmetric Jacobians ``H_i = ∇u(v_i)`` (``z_ij = v_i − v_j``, ``y_ij = u_i − u_j``, ``c = C|z|^γ``):

.. math::

    V_i &= \\sum_j p_j A(z_{ij})\\,y_{ij},\\qquad A(z) = c\\,(|z|^2 I - z\\otimes z),\\\\
    J_i &= \\nabla V(v_i) = \\sum_j p_j\\big[\\partial A(z_{ij})[y_{ij}] + A(z_{ij})H_i\\big],\\qquad
    \\partial A(z)[y] = c\\big[(γ+2)\\,y z^T - γ\\,(z\\cdot y)\\,z z^T/|z|^2 - (z\\cdot y) I - z y^T\\big],\\\\
    D_i &= \\operatorname{tr} J_i = \\nabla\\cdot V(v_i) = \\sum_j p_j\\big[b(z_{ij})\\cdot y_{ij} + A(z_{ij}):H_i\\big],
    \\qquad b = \\nabla\\cdot A = -(d-1)\\,c\\,z,

(``∇`` acts on ``v_i`` with the other particles held: the Jacobian of the mean-field velocity), and the
vector–Jacobian product of the scalar ``S = Σ_i a_i·V_i + Σ_i q_i Γ_i:J_i`` with respect to ``v``, ``u`` and
``H`` (``Γ_i = I`` gives ``Σ_i q_i D_i``).  The self pair ``j = i`` contributes nothing (``y_ii = 0``).

Structure: ``A(z) = A(−z)`` and ``y_ji = −y_ij``, so ``Σ_i w_i V_i = 0`` exactly whenever ``p`` is
proportional to ``w`` on each group (pairwise antisymmetry: momentum), and ``Σ_i w_i v_i·V_i =
½Σ_ij w_i p_j z_ij·A(z_ij)y_ij = 0`` (``A(z)z = 0``: energy, for the continuous flow).

Cost ``O(N² d²)`` per call, in row blocks of ``O(block·N)`` memory.  **Random batches** (Jin–Li–Liu): with
``groups`` (:func:`random_batches`) the sums run only over the members of each particle's batch, with the pair
weights ``p_j = w_j (N − 1)/(n_B − 1)`` — an unbiased estimate of the full sum for any weights, conditional on
the batch size, at cost ``O(N n_B d²)``; ``w_i p_j`` stays symmetric inside a batch, so momentum is still exact.

This module knows the kernel and nothing about where ``u`` comes from: the JKO method
(:mod:`~fieldflow.landau.jko`) pulls ``∂S/∂u``, ``∂S/∂H`` back through its basis, and the blob and score methods'
:func:`~fieldflow.landau.particles.landau_velocity` is ``V`` with ``u = −F`` (``D`` with ``H = −∇F``) — the one
implementation of the Landau pair sum (except the ``O(N)`` moment expansion of Maxwell molecules).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..core.backend import block_rows, namespace_of

__all__ = ["pair_flow", "pair_flow_vjp", "pair_flow_features", "random_batches", "Groups"]

#: a partition of the particles: ``(indices, pair-weight factor)`` per group; ``None`` means all pairs
Groups = Sequence[tuple[Any, float]] | None


def _block(n: int, width: int, xp: Any = None, budget: int = 250_000) -> int:
    """Rows per block so that ``width`` temporaries of shape ``(block, n)`` stay small: cache-sized (``budget``
    numbers) on NumPy, large enough on a GPU that kernel launches do not dominate (:func:`block_rows`)."""
    return block_rows(n, 8 * width, xp, 8 * budget)


def random_batches(n: int, size: int, rng: np.random.Generator) -> list[tuple[np.ndarray, float]]:
    """A random partition of ``n`` particles into ``n // size`` batches of ``size`` or ``size + 1`` members.

    Each batch comes with the factor ``(n − 1)/(n_B − 1)`` that makes the within-batch pair sum with weights
    ``factor · w_j`` an unbiased estimate of the full pair sum (given the batch size, every other particle is
    in ``i``'s batch with probability ``(n_B − 1)/(n − 1)``).
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 2 <= size <= n:
        raise ValueError(f"batch size must be an integer in [2, N={n}], got {size!r}")
    parts = np.array_split(rng.permutation(n), n // size)
    return [(np.sort(p), (n - 1) / (len(p) - 1)) for p in parts]


def _geometry(vb: Any, v: Any, gamma: float, C: float, inverse: bool = True) -> tuple[list[Any], Any, Any, Any]:
    """Offsets ``z_a`` (``d`` arrays ``(B, N)``), ``ρ = |z|²``, ``c = C ρ^{γ/2}`` and ``1/ρ`` (both 0 at ``z = 0``;
    ``1/ρ`` is ``None`` unless ``inverse``)."""
    xp = namespace_of(v)
    d = v.shape[1]
    z = [vb[:, a:a + 1] - v[None, :, a] for a in range(d)]
    rho = sum(za * za for za in z)
    zero = rho == 0
    safe = xp.where(zero, 1.0, rho)
    if gamma == 0.0:
        c = xp.where(zero, 0.0, C)
    elif gamma == -3.0:
        c = xp.where(zero, 0.0, C / (safe * xp.sqrt(safe)))
    else:
        c = xp.where(zero, 0.0, C * safe ** (gamma / 2))
    inv = xp.where(zero, 0.0, 1.0 / safe) if inverse else None
    return z, rho, c, inv


def _groups(n: int, w: Any, groups: Groups) -> list[tuple[Any, Any]]:
    """``(indices or None, pair weights)`` per group."""
    if groups is None:
        return [(None, w)]
    return [(idx, w[idx] * factor) for idx, factor in groups]


# ============================================================================ forward


def pair_flow(v: Any, w: Any, u: Any, H: Any, gamma: float, C: float, jacobian: str | None = "trace",
              groups: Groups = None, block: int | None = None) -> tuple[Any, Any, Any]:
    """``V``, ``Ā`` and either ``D = ∇·V`` (``jacobian="trace"``, shape ``(N,)``) or ``J = ∇V`` (``"full"``, ``(N, d, d)``).

    ``Ā_i = Σ_j p_j A(z_ij)`` (``(N, d, d)``) is returned because the adjoint needs it.  ``w``: the particle
    weights (pair weights ``p = w``, or ``factor · w`` inside each of ``groups``).  ``jacobian=None``: the velocity
    alone, ``(V, None, None)`` (``H`` is not used and may be ``None``).
    """
    if jacobian not in ("trace", "full", None):
        raise ValueError(f"jacobian must be 'trace', 'full' or None, got {jacobian!r}")
    xp = namespace_of(v)
    n, d = v.shape
    V = xp.zeros((n, d))
    Abar = None if jacobian is None else xp.zeros((n, d, d))
    out = None if jacobian is None else xp.zeros(n) if jacobian == "trace" else xp.zeros((n, d, d))
    for idx, p in _groups(n, w, groups):
        vg, ug, Hg = (v, u, H) if idx is None else (v[idx], u[idx], None if H is None else H[idx])
        res = _flow_dense(vg, p, ug, Hg, gamma, C, jacobian, block)
        if idx is None:
            V, Abar, out = res
        elif jacobian is None:
            V[idx] = res[0]
        else:
            V[idx], Abar[idx], out[idx] = res
    return V, Abar, out


def _flow_dense(v: Any, p: Any, u: Any, H: Any, gamma: float, C: float, jacobian: str | None,
                block: int | None) -> tuple[Any, Any, Any]:
    xp = namespace_of(v)
    n, d = v.shape
    block = block or _block(n, 4 if jacobian is None else 3 * d + 4, xp)
    V = xp.empty((n, d))
    Abar = None if jacobian is None else xp.empty((n, d, d))
    out = None if jacobian is None else xp.empty(n) if jacobian == "trace" else xp.empty((n, d, d))
    eye = xp.eye(d)
    for s in range(0, n, block):
        sl = slice(s, s + block)
        # V_i = Σ_j p_j c_ij(|z|² y − z(z·y)) = u_i S0_i − Σ_j crho_ij u_j − (v_i St_i − Σ_j t_ij v_j): matrix products
        if jacobian is None:  # one power per pair, C ρ^{(γ+2)/2} = c ρ; inline (through a helper function the same
            # operations measured 1.5× slower on NumPy: the block temporaries were re-allocated at every block)
            z = [v[sl, a:a + 1] - v[None, :, a] for a in range(d)]
            rho = sum(za * za for za in z)
            zero = rho == 0
            safe = xp.where(zero, 1.0, rho)
            if gamma == 0.0:
                crho = C * rho * p[None, :]
            elif gamma == -3.0:
                crho = xp.where(zero, 0.0, C / xp.sqrt(safe)) * p[None, :]
            else:
                crho = xp.where(zero, 0.0, C * safe ** ((gamma + 2) / 2)) * p[None, :]
            t = crho * (sum(za * (u[sl, a:a + 1] - u[None, :, a]) for a, za in enumerate(z)) / safe)
            V[sl] = u[sl] * xp.sum(crho, axis=1)[:, None] - crho @ u - (v[sl] * xp.sum(t, axis=1)[:, None] - t @ v)
            continue
        z, rho, c, inv = _geometry(v[sl], v, gamma, C, inverse=jacobian == "full")
        cp = c * p[None, :]
        y = [u[sl, a:a + 1] - u[None, :, a] for a in range(d)]
        zy = sum(za * ya for za, ya in zip(z, y))
        t = cp * zy
        crho = cp * rho
        S0, St = xp.sum(crho, axis=1), xp.sum(t, axis=1)
        V[sl] = u[sl] * S0[:, None] - crho @ u - (v[sl] * St[:, None] - t @ v)
        for a in range(d):
            for b in range(a, d):
                m = xp.sum(cp * z[a] * z[b], axis=1)
                Abar[sl, a, b] = (S0 if a == b else 0.0) - m
                Abar[sl, b, a] = Abar[sl, a, b]
        AH = xp.einsum("iab,ibc->iac", Abar[sl], H[sl])
        if jacobian == "trace":
            out[sl] = -(d - 1) * St + xp.einsum("iaa->i", AH)
            continue
        tz = t * inv
        for a in range(d):
            for b in range(d):
                yz = xp.sum(cp * y[a] * z[b], axis=1)
                zy_ab = xp.sum(cp * z[a] * y[b], axis=1)
                zz = xp.sum(tz * z[a] * z[b], axis=1)
                out[sl, a, b] = (gamma + 2) * yz - gamma * zz - zy_ab
        out[sl] += -St[:, None, None] * eye + AH
    return V, Abar, out


def pair_flow_features(v: Any, w: Any, G: Any, gamma: float, C: float, groups: Groups = None,
                       block: int | None = None) -> Any:
    """``W_ik = Σ_j p_j A(z_ij)(G_ik − G_jk)`` for a batch of fields ``G`` of shape ``(N, K, d)``; shape ``(N, K, d)``.

    The velocity of every basis field at once (``V`` of :func:`pair_flow` is ``Σ_k θ_k W_k``), as
    ``W_i = Ā_i G_i − Σ_b (p_j A_ab(z_ij))_{ij} G_b``: ``d²`` products of ``(B, N)`` pair-weight blocks with ``(N, K)``.
    """
    xp = namespace_of(v)
    n, K, d = G.shape
    W = xp.zeros((n, K, d))
    for idx, p in _groups(n, w, groups):
        vg, Gg = (v, G) if idx is None else (v[idx], G[idx])
        columns = [xp.ascontiguousarray(Gg[:, :, b]) for b in range(d)]
        m = vg.shape[0]
        Wg = xp.empty((m, K, d))
        blk = block or _block(m, d * d + 3, xp)
        for s in range(0, m, blk):
            sl = slice(s, s + blk)
            z, rho, c, _ = _geometry(vg[sl], vg, gamma, C, inverse=False)
            cp = c * p[None, :]
            pair = [[None] * d for _ in range(d)]
            for a in range(d):
                for b in range(a, d):
                    pair[a][b] = pair[b][a] = (cp * rho if a == b else 0.0) - cp * z[a] * z[b]
            sums = [[xp.sum(pair[a][b], axis=1)[:, None] for b in range(d)] for a in range(d)]
            for a in range(d):
                Wg[sl, :, a] = sum(Gg[sl, :, b] * sums[a][b] - pair[a][b] @ columns[b] for b in range(d))
        if idx is None:
            W = Wg
        else:
            W[idx] = Wg
    return W


# ============================================================================ adjoint


def pair_flow_vjp(v: Any, w: Any, u: Any, H: Any, gamma: float, C: float, a: Any = None, q: Any = None,
                  Gamma: Any = None, groups: Groups = None, need_v: bool = True,
                  block: int | None = None) -> tuple[Any, Any, Any]:
    """Gradients ``(∂S/∂v, ∂S/∂u, ∂S/∂H)`` of ``S = Σ_i a_i·V_i + Σ_i q_i Γ_i:J_i`` (module docstring).

    ``a``: ``(N, d)`` or ``None`` (no ``V`` term); ``q``: ``(N,)`` or ``None`` (no ``J`` term); ``Gamma``:
    ``(N, d, d)``, or ``None`` for ``Γ_i = I`` (then the ``J`` term is ``Σ q_i D_i``).  ``∂S/∂v`` is the explicit
    dependence through the offsets ``z`` (``u`` and ``H`` held), ``None`` unless ``need_v``.

    Derivation: for the pair ``(i, j)`` with weight ``p_j`` the ``a`` term is ``a_i·A(z)y``, odd under
    ``(z, y) → (−z, −y)``, and the ``q`` term ``q_i[y·κ(z, Γ_i) + A(z):X_i]`` with ``X_i = sym(Γ_i H_i)`` and
    ``κ(z, Γ) = c[(γ+2)Γz − Γᵀz − (γ zᵀΓz/|z|² + tr Γ) z]`` (so ``Γ:∂A(z)[y] = y·κ``), even; collecting the
    two places where particle ``k`` enters gives ``∂S/∂u_k = Σ_j A(z_kj)α_kj + Σ_j [p_j q_k κ(z_kj, Γ_k) +
    p_k q_j κ(z_kj, Γ_j)]`` with ``α_kj = p_j a_k − p_k a_j``, ``∂S/∂H_k = q_k sym(Ā_k Γ_k)``, and the ``z``
    derivatives below (checked against finite differences in the tests).
    """
    xp = namespace_of(v)
    n, d = v.shape
    gv = xp.zeros((n, d)) if need_v else None
    gu = xp.zeros((n, d))
    gH = xp.zeros((n, d, d))
    for idx, p in _groups(n, w, groups):
        sub = (lambda x: x) if idx is None else (lambda x: None if x is None else x[idx])
        res = _vjp_dense(sub(v), p, sub(u), sub(H), gamma, C, sub(a), sub(q), sub(Gamma), need_v, block)
        if idx is None:
            gv, gu, gH = res
        else:
            if need_v:
                gv[idx] = res[0]
            gu[idx], gH[idx] = res[1], res[2]
    return gv, gu, gH


def _sym(X: Any) -> Any:
    return 0.5 * (X + X.swapaxes(-1, -2))


def _contract(M: Any, z: list[Any], rows: bool) -> list[Any]:
    """``(M z)_a = Σ_b M_ab z_b`` as ``(B, N)`` arrays; ``M`` per row particle (``rows``) or per column particle."""
    d = len(z)
    if rows:
        return [sum(M[:, a, b, None] * z[b] for b in range(d)) for a in range(d)]
    return [sum(M[None, :, a, b] * z[b] for b in range(d)) for a in range(d)]


def _vjp_dense(v: Any, p: Any, u: Any, H: Any, gamma: float, C: float, a: Any, q: Any, Gamma: Any,
               need_v: bool, block: int | None) -> tuple[Any, Any, Any]:
    xp = namespace_of(v)
    n, d = v.shape
    g = gamma
    gv = xp.zeros((n, d)) if need_v else None
    gu = xp.zeros((n, d))
    gH = xp.zeros((n, d, d))
    X = None
    if q is not None:
        X = H if Gamma is None else _sym(xp.einsum("iab,ibc->iac", Gamma, H))
        trX = xp.einsum("iaa->i", X)
        if Gamma is not None:
            trG = xp.einsum("iaa->i", Gamma)
    block = block or _block(n, (6 if Gamma is None else 14) * d + 8, xp)
    for s in range(0, n, block):
        sl = slice(s, s + block)
        z, rho, c, inv = _geometry(v[sl], v, gamma, C)
        y = [u[sl, k:k + 1] - u[None, :, k] for k in range(d)]
        zy = sum(za * ya for za, ya in zip(z, y))
        pk, pj = p[sl, None], p[None, :]
        if a is not None:
            al = [pj * a[sl, k:k + 1] - pk * a[None, :, k] for k in range(d)]
            az = sum(x * zk for x, zk in zip(al, z))
            caz = c * az
            crho = c * rho
            for k in range(d):
                gu[sl, k] += xp.sum(crho * al[k] - caz * z[k], axis=1)
            if need_v:
                ay = sum(x * yk for x, yk in zip(al, y))
                coef = c * ((g + 2) * ay - g * zy * az * inv)
                czy = c * zy
                for k in range(d):
                    gv[sl, k] += xp.sum(coef * z[k] - czy * al[k] - caz * y[k], axis=1)
        if q is None:
            continue
        cp = c * pj
        # Ā_k = Σ_j p_j A(z_kj), for ∂S/∂H_k = q_k sym(Ā_k Γ_k)
        Abar = xp.empty((z[0].shape[0], d, d))
        S0 = xp.sum(cp * rho, axis=1)
        for i in range(d):
            for j in range(i, d):
                Abar[:, i, j] = (S0 if i == j else 0.0) - xp.sum(cp * z[i] * z[j], axis=1)
                Abar[:, j, i] = Abar[:, i, j]
        wk = cp * q[sl, None]          # p_j q_k c: the row particle's coefficients
        wj = c * pk * q[None, :]       # p_k q_j c: the column particle's coefficients
        if Gamma is None:
            gH[sl] = q[sl, None, None] * Abar
            om = wk + wj
            for k in range(d):
                gu[sl, k] += -(d - 1) * xp.sum(om * z[k], axis=1)
            if not need_v:
                continue
            Xk, Xj = _contract(X[sl], z, True), _contract(X, z, False)
            zXk = sum(zk * x for zk, x in zip(z, Xk))
            zXj = sum(zk * x for zk, x in zip(z, Xj))
            radial = ((g + 2) * (wk * trX[sl, None] + wj * trX[None, :]) - g * inv * (wk * zXk + wj * zXj)
                      - (d - 1) * g * om * zy * inv)
            for k in range(d):
                gv[sl, k] += xp.sum(radial * z[k] - (d - 1) * om * y[k] - 2 * (wk * Xk[k] + wj * Xj[k]), axis=1)
            continue
        Gk = Gamma[sl]
        gH[sl] = q[sl, None, None] * _sym(xp.einsum("iab,ibc->iac", Abar, Gk))
        for side, (weight, rows) in enumerate(((wk, True), (wj, False))):
            M = Gk if rows else Gamma
            Mt = M.swapaxes(-1, -2)
            Gz, Gtz = _contract(M, z, rows), _contract(Mt, z, rows)
            zGz = sum(zk * x for zk, x in zip(z, Gz))
            tr = trG[sl, None] if rows else trG[None, :]
            # κ(z, Γ) (without c, which is in ``weight``)
            lin = (g * zGz * inv + tr)
            for k in range(d):
                gu[sl, k] += xp.sum(weight * ((g + 2) * Gz[k] - Gtz[k] - lin * z[k]), axis=1)
            if not need_v:
                continue
            Gy, Gty = _contract(M, y, rows), _contract(Mt, y, rows)
            yGz = sum(yk * x for yk, x in zip(y, Gz))
            zGy = sum(zk * x for zk, x in zip(z, Gy))
            XX = X[sl] if rows else X
            Xz = _contract(XX, z, rows)
            zXz = sum(zk * x for zk, x in zip(z, Xz))
            trXs = trX[sl, None] if rows else trX[None, :]
            # ∂_z[y·κ(z,Γ)] = (γ/ρ) c z [yᵀΓ̃z − γ(z·y)(zᵀΓz)/ρ − trΓ (z·y)]
            #               + c[Γ̃ᵀy − γ((zᵀΓz)/ρ y + (z·y)(Γ+Γᵀ)z/ρ − 2(z·y)(zᵀΓz) z/ρ²) − trΓ y],  Γ̃ = (γ+2)Γ − Γᵀ
            # ∂_z[A(z):X] = c[(γ+2) trX z − γ (zᵀXz) z/ρ − 2Xz]
            scal = (g * inv * ((g + 2) * yGz - zGy - g * zy * zGz * inv - tr * zy)
                    + 2 * g * zy * zGz * inv * inv + (g + 2) * trXs - g * zXz * inv)
            for k in range(d):
                vec = ((g + 2) * Gty[k] - Gy[k] - g * zGz * inv * y[k] - g * zy * inv * (Gz[k] + Gtz[k])
                       - tr * y[k] - 2 * Xz[k])
                gv[sl, k] += xp.sum(weight * (scal * z[k] + vec), axis=1)
    return gv, gu, gH
