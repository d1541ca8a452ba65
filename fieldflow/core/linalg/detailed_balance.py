"""Symmetrising a generator with detailed balance: ``K = Π^{-1/2} L Π^{1/2}``.

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

__all__ = ["symmetrise", "SYMMETRISABLE_RANGE"]

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
