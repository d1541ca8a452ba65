"""Generators ``L`` of densities on a grid (``∂t u = L u``): what they conserve, and their symmetrisation.

``conserves_mass``: whether ``1ᵀL = 0`` (no-flux finite volumes); ``restore_mass``: the correction that gives a
computed density the mass the exact flow keeps.  ``symmetrise``: under detailed balance,
``K = Π^{-1/2} L Π^{1/2}``.

A generator ``L`` with ``L_ij π_j = L_ji π_i`` for a positive measure ``π`` (detailed balance) is
self-adjoint in ``L²(1/π)``; with ``Π = diag π`` the similar matrix ``K = Π^{-1/2} L Π^{1/2}`` is
symmetric, so conjugate gradients (implicit steps) and the Lanczos process (exact exponential steps)
apply to it.  ``Π^{1/2}`` is scaled so that its largest entry is ``1``; a measure spanning more than
``e^{SYMMETRISABLE_RANGE}`` cannot be represented so in double precision and is refused.
"""

from __future__ import annotations

from typing import Any

from ..backend import to_numpy
from .stencil import sparse_module

__all__ = ["symmetrise", "SYMMETRISABLE_RANGE", "conserves_mass", "restore_mass"]

#: ``log π`` ranges beyond this (``π`` spanning more than ``e^{1300}``) cannot be symmetrised in double precision
SYMMETRISABLE_RANGE = 1300.0


def symmetrise(L: Any, log_pi: Any, xp: Any) -> tuple[Any, Any] | None:
    """``(K, Π^{1/2})`` with ``K = Π^{-1/2} L Π^{1/2}`` made exactly symmetric, or ``None`` when ``log π``
    spans more than :data:`SYMMETRISABLE_RANGE` (``Π^{1/2}`` scaled to a largest entry of ``1``)."""
    sp = sparse_module(xp)
    log_pi = xp.asarray(log_pi).ravel()
    top, bottom = (float(v) for v in to_numpy(xp.stack([xp.max(log_pi), xp.min(log_pi)])))  # one read
    if top - bottom > SYMMETRISABLE_RANGE:
        return None
    half = xp.exp(0.5 * (log_pi - top))
    K = sp.diags(1.0 / half) @ L @ sp.diags(half)
    return ((K + K.T) * 0.5).tocsr(), half  # symmetric up to round-off; exactly so for CG and Lanczos


def conserves_mass(L: Any, xp: Any) -> bool:
    """Whether ``1ᵀL = 0`` to round-off (``max |1ᵀL| ≤ 1e-12 max |L_ii|``; one host read)."""
    ones = xp.ones(L.shape[0])
    column_sums, scale = to_numpy(xp.stack([xp.max(xp.abs(ones @ L)), xp.max(xp.abs(L.diagonal()))]))
    return bool(column_sums <= 1e-12 * max(float(scale), 1e-300))


def restore_mass(x: Any, mass: Any, xp: Any) -> Any:
    """``x + (mass − Σx)·|x|/Σ|x|``: the sum made ``mass`` by a correction proportional to ``|x|`` (the size of
    ``Σx − mass``, keeping the sign of every cell; for ``x ≥ 0`` the factor ``mass/Σx``)."""
    size = xp.abs(x)
    total = xp.sum(size)
    return x + (mass - xp.sum(x)) * size / xp.where(total > 0, total, 1.0)
