"""Time-domain measurement of the spectral gap: relax a perturbation of a stationary state and fit the rate.

For a stationary ``q`` and a generic mean-zero perturbation ``u_0``,

* the **linearised** flow ``∂t u = L_q u`` (:class:`~fieldflow.mckean_vlasov.linearized_pde.LinearizedMcKeanVlasov`)
  gives ``L_q u(t) = Σ_j λ_j e^{λ_j t} ⟨u_0, u_j⟩ u_j``: the zero mode drops out, so
  ``‖L_q u(t)‖ ∝ e^{−gap·t}`` once the faster modes have decayed;
* the **nonlinear** flow from ``q + ε u_0`` (:class:`~fieldflow.McKeanVlasov`) approaches a
  rotated copy of ``q``; its dissipation ``−dF/dt = ∫ |½q' − Kq(W'*q)|²/q`` is quadratic in the
  distance and decays like ``e^{−2·gap·t}``, up to relative corrections ``O(ε e^{−gap·t})``.

Both are integrated with ETDRK4, whose fixed points are exact and whose decay-rate error is
``O(dt⁴)``; the rate is a least-squares fit of ``log`` of the diagnostic over ``window``.
"""

from __future__ import annotations

import math
from typing import Any

from ..core.trajectory import RateFit

__all__ = ["relaxation_rate", "default_perturbation"]


def default_perturbation(q: Any, grid: Any) -> Any:
    """A generic mean-zero perturbation ``u_0 = q (v − ∫q v)``, ``v = cos θ + ½ sin 2θ + 0.3 cos(3θ + 0.4)``.

    It has components along every low mode of both parities, and ``q + ε u_0 > 0`` for ``ε < 1/4``.
    """
    xp = grid.xp
    theta = grid.axes[0]
    v = xp.cos(theta) + 0.5 * xp.sin(2 * theta) + 0.3 * xp.cos(3 * theta + 0.4)
    return q * (v - grid.integrate(q * v))


def relaxation_rate(
    W: Any,
    K: float,
    state: Any,
    *,
    nonlinear: bool = False,
    perturbation: Any = None,
    amplitude: float = 1e-4,
    t_end: float = 16.0,
    window: tuple[float, float] | None = None,
    dt: float = 0.05,
    fft: str | None = None,
) -> RateFit:
    """The decay rate of a perturbation of the stationary ``state``, fitted in the time domain.

    Parameters
    ----------
    W, K
        Interaction and coupling.
    state : StationaryState
        The stationary density (``.q`` on ``.grid``).
    nonlinear : bool
        ``False``: evolve ``∂t u = L_q u`` and fit ``‖L_q u‖``.  ``True``: evolve the full
        McKean–Vlasov equation from ``q + amplitude·u_0`` and fit half the rate of the dissipation.
    perturbation : array, optional
        ``u_0`` (mean zero); default :func:`default_perturbation`.
    amplitude : float
        ``ε`` of the nonlinear run.
    t_end, window, dt
        Final time, fit window (default ``(t_end/2, t_end)``) and fixed ETDRK4 step.
    fft : str or None
        FFT provider of the solvers (default: the fastest installed, which runs these short
        transforms on one thread).

    Returns
    -------
    RateFit
        ``rate`` is the measured spectral gap (1/time); ``r_squared`` the quality of the fit.
    """
    from ..core.evolve import evolve
    from .linearized_pde import LinearizedMcKeanVlasov
    from .pde import McKeanVlasov

    if not (hasattr(state, "q") and hasattr(state, "grid")):
        raise ValueError("state must be a stationary state with .q and .grid (e.g. from stationary_states)")
    grid, q = state.grid, state.q
    if not (math.isfinite(t_end) and t_end > 0):
        raise ValueError(f"t_end must be positive, got {t_end!r}")
    window = window or (t_end / 2, t_end)
    u0 = default_perturbation(q, grid) if perturbation is None else grid.asarray(perturbation)
    options = dict(method="etdrk4", dt=dt, adaptive=False, save_every=dt, progress=False)
    if not nonlinear:
        traj = evolve(LinearizedMcKeanVlasov(grid, W, K, q, fft=fft), u0, t_end, **options)
        return traj.fit_exponential_rate("rhs_norm", window=window, full=True)
    if not 0 < amplitude < 0.25:
        raise ValueError(f"amplitude must be in (0, 0.25) so that q + amplitude·u0 stays positive, got {amplitude!r}")
    traj = evolve(McKeanVlasov(grid, W, K, fft=fft), q + amplitude * u0, t_end, **options)
    fit = traj.fit_exponential_rate("dissipation", window=window, full=True)
    return RateFit(fit.rate / 2, math.sqrt(fit.prefactor), fit.window, fit.r_squared, fit.points)

