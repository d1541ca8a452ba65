"""Moments of weighted particles ``f ≈ Σ_i w_i δ(v − v_i)``: what every Landau particle method reports."""

from __future__ import annotations

from typing import Any

from ..core.backend import namespace_of

__all__ = ["particle_moments"]


def particle_moments(v: Any, w: Any) -> dict[str, float]:
    """``mass = Σ w``, ``energy = Σ w|v|²``, and per axis ``a`` the ``momentum_a = Σ w v_a`` and the temperature
    ``temperature_a = Σ w (v_a − u_a)²/mass`` about the mean velocity ``u = momentum/mass``.

    ``v``: velocities ``(N, d)``; ``w``: weights ``(N,)`` (NumPy or CuPy; the values come back as floats).
    """
    xp = namespace_of(v)
    out = {"mass": float(xp.sum(w)), "energy": float(xp.sum(w * xp.sum(v * v, axis=1)))}
    mass = out["mass"]
    for a in range(v.shape[1]):
        p = float(xp.sum(w * v[:, a]))
        out[f"momentum_{a}"] = p
        out[f"temperature_{a}"] = float(xp.sum(w * (v[:, a] - p / mass) ** 2)) / mass
    return out
