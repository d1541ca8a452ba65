"""Spectral gap of the linearised McKean–Vlasov operator L_q at the free-energy minimiser (Kuramoto–Daido).

For ``W = cos θ + m cos 2θ`` and the minimiser ``q`` of ``F_K``, ``gap(L_q)`` is the decay rate of
small perturbations (modulo rotation).  The linear-stability theorem of Mun–Rosenzweig (OT summer
school 2025) asserts, for ``K > 1`` and ``0 < m ≤ 8.568e-4`` (``1.590e-4`` in another statement), that
the spectrum of ``L_q`` is pure point in ``(−∞, 0]``, ``0`` is simple with eigenvector ``q'``, and
``gap(L_q) ≥ C(K, m) > 0``.  This study measures the gap where the theorem applies and far beyond it.
Outputs (every table with a ``.json`` sidecar: units, meanings, run metadata):

* ``gap_vs_K.csv`` / ``gap_vs_K.png`` — ``gap(L_q)`` against ``K`` for the Kuramoto model and several
  ``m`` (the theorem's two values, ``m`` up to 2), and the theorem's ``m`` relative to Kuramoto;
* ``gap_map.csv`` / ``gap_map.png`` — ``gap`` over ``(m, K)`` (via the sweep layer) with ``K_c(m)``,
  ``K = 1``, ``m_*`` and the theorem's region;
* ``eigenfunctions.png`` — ``q`` and the first eigenfunctions of ``L_q`` for three states;
* ``relaxation.csv`` / ``relaxation.png`` — the time-domain cross-check: fitted decay rates of the
  linearised and nonlinear flows against the gap;
* ``kuramoto_gaps.csv`` — the Kuramoto gap at ``K = 1.5, 2, 3`` at two resolutions;
* ``findings.json`` — the findings below, each with its tolerance and verdict.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.sweep import case_progress, sweep
from ..mckean_vlasov import free_energy_minimizer, kuramoto_daido_m_star, linearized_spectrum, relaxation_rate
from ..mckean_vlasov.gap_map import kuramoto_daido_gap_map, minimizer_gaps
from ..mckean_vlasov.interactions import kuramoto, kuramoto_daido
from ..plotting import colorbar, data_norm, legend_outside, save_figure, subplots
from . import _report as report

TITLE = "Spectral gap of L_q for the Kuramoto–Daido minimiser: gap(K), the (m, K) gap map, eigenfunctions"
DEFAULT = True
EXPECTED_SECONDS = (30, 240)

#: the theorem's two thresholds on m
THEOREM_MS = (1.590e-4, 8.568e-4)
#: m of the gap(K) curves besides Kuramoto and the theorem's (m_* is added at run time)
CURVE_MS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
#: a computed gap below this is a zero of the gap (K_c, pitchforks): the spectra agree to rtol 1e-8 at two
#: resolutions, so smaller values are not resolved
ZERO_GAP = 1e-9
#: the spectrum's agreement between two resolutions (minimizer_gaps' rtol) bounds the error of a gap
SPECTRUM_RTOL = 1e-8
#: fitted decay rate vs gap: the next mode's e^{−(λ₂−λ₁)t} on the fit window, ETDRK4's O(dt⁴) and, nonlinear,
#: the O(amplitude = 3e-4) relative correction
RATE_RTOL = 1e-3
#: the zero mode is q' to the eigensolver's accuracy
ZERO_MODE_TOL = 1e-8

CURVE_COLUMNS = {
    "m": ("", "coefficient of cos 2θ in W = cos θ + m cos 2θ"),
    "K": ("", "coupling strength"),
    "gap": ("1/time", "spectral gap of L_q at the free-energy minimiser q"),
    "r1": ("", "∫cos θ q of the minimiser (0: uniform)"),
    "r2": ("", "∫cos 2θ q of the minimiser"),
    "K_c": ("", "critical coupling of this m"),
}
MAP_COLUMNS = {k: CURVE_COLUMNS[k] for k in ("m", "K", "gap", "r1", "r2")}
RELAXATION_COLUMNS = {
    "case": ("", "interaction and coupling"),
    "gap": ("1/time", "spectral gap of L_q"),
    "linear_rate": ("1/time", "fitted decay rate of ‖L_q u‖ along ∂_t u = L_q u"),
    "nonlinear_rate": ("1/time", "half the fitted decay rate of the dissipation, full equation from q + 3e-4 u_0"),
    "linear_rel_err": ("", "linear_rate / gap − 1"),
    "nonlinear_rel_err": ("", "nonlinear_rate / gap − 1"),
}
KURAMOTO_COLUMNS = {
    "K": ("", "coupling strength"),
    "gap_96": ("1/time", "gap of L_q at the Kuramoto minimiser, 96 Fourier modes (checked at 120)"),
    "gap_48": ("1/time", "the same at 48 modes (checked at 60)"),
    "r": ("", "order parameter |∫e^{iθ} q| of the minimiser"),
}


def _curve(args: tuple[float, tuple[float, ...]]) -> dict:
    m, Ks = args
    return minimizer_gaps(kuramoto_daido(m), Ks, modes=40)


def uniform_gap(m: float | np.ndarray, K: np.ndarray) -> np.ndarray:
    """Gap of ``L_q`` at the uniform state: ``min_k k²(1 − K c_k)/2`` with ``c_1 = 1``, ``c_2 = m``, ``c_k = 0``
    beyond (the eigenvalues ``k²(K c_k − 1)/2`` of the linearised equation)."""
    K = np.asarray(K, dtype=float)
    return np.minimum(np.minimum(0.5 * (1 - K), 2 * (1 - m * K)), 4.5)


def _label(m: float, m_star: float) -> str:
    return f"m = m* = {m:.5g}" if m == m_star else f"m = {m:g}"


def run(out: Path, quick: bool = True) -> dict[str, str]:
    """The gap curves, the gap map, eigenfunctions, the time-domain check and the Kuramoto table."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    m_star, _ = kuramoto_daido_m_star()
    n_K, n_map = (60, 40) if quick else (300, 200)
    info = report.RunInfo.create("spectral_gap", quick, K_values=n_K, map_size=n_map, modes=40, rtol=SPECTRUM_RTOL,
                                 m_star=m_star)
    findings: list[report.Finding] = []

    # ---------------------------------------------------------------- gap against K
    report.announce("spectral_gap", f"gap(L_q) against K for {3 + len(CURVE_MS) + 1} values of m")
    Ks = np.linspace(0.05, 3.0, n_K)
    ms = (0.0,) + THEOREM_MS + tuple(sorted(CURVE_MS + (m_star,)))
    curves = sweep(_curve, [(m, tuple(Ks)) for m in ms], chunks=len(ms), label="gap(K), one m per case")
    rows = []
    for m, c in zip(ms, curves):
        r = np.asarray(c["moments"])
        for j, K in enumerate(c["K"]):
            rows.append({"m": m, "K": K, "gap": c["gap"][j], "r1": r[j, 0], "r2": r[j, 1] if r.shape[1] > 1 else 0.0,
                         "K_c": float(c["K_c"])})
    report.write_table(out / "gap_vs_K.csv", rows, CURVE_COLUMNS, info)
    kuramoto_curve = curves[0]
    _plot_curves(out / "gap_vs_K.png", ms, curves, m_star)

    above = Ks > 1.05
    for m, c in zip(ms[1:3], curves[1:3]):
        least = int(np.nanargmin(np.where(above, c["gap"], np.nan)))
        findings.append(report.check(
            f"least gap(L_q) over K ∈ [1.05, 3], m = {m:g} (theorem's regime)", float(c["gap"][least]),
            bool(c["gap"][least] > 0), reference="> 0 (theorem: gap ≥ C(K, m) > 0 for K > 1)", unit="1/time",
            note=f"at K = {c['K'][least]:.3g}, where the gap closes towards the continuous transition at K = 1"))
        change = np.abs(c["gap"][above] / kuramoto_curve["gap"][above] - 1)
        # first-order perturbation: the potential −2K W*q changes by 2Km r₂ cos 2θ, |r₂| ≤ 1, relative to O(1)
        findings.append(report.bound(
            f"max |gap / gap(Kuramoto) − 1| over K ∈ [1.05, 3], m = {m:g}", float(change.max()), 2 * m * Ks[-1],
            kind="≤", against="2mK_max: first-order size of the change 2Km r₂ cos 2θ of the potential",
            note=f"largest at K = {Ks[above][int(np.argmax(change))]:.3g}"))
    far = curves[ms.index(2.0)]
    window = (far["K"] >= 2.0) & (far["gap"] > ZERO_GAP)
    slope, intercept = np.polyfit(far["K"][window], np.log(far["gap"][window]), 1)
    resid = np.log(far["gap"][window]) - (slope * far["K"][window] + intercept)
    r2 = 1 - np.sum(resid**2) / np.sum((np.log(far["gap"][window]) - np.log(far["gap"][window]).mean()) ** 2)
    findings.append(report.check(
        "d log gap / dK on K ∈ [2, 3], m = 2", float(slope), bool(slope < 0 and r2 > report.MIN_R_SQUARED),
        reference=f"< 0 with R² > {report.MIN_R_SQUARED} (gap ∝ e^{{−cK}}: Kramers rate between the wells at 0 and π)",
        unit="1/coupling", note=f"R² = {r2:.4f}; gap {far['gap'][window][0]:.2e} → {far['gap'][window][-1]:.2e}"))

    # ---------------------------------------------------------------- the gap map
    report.announce("spectral_gap", f"gap map, {n_map}×{n_map} values of (m, K)")
    gm_ms = np.linspace(0.0, 2.0, n_map)
    gm_Ks = np.linspace(0.05, 3.0, n_map)
    gmap = kuramoto_daido_gap_map(gm_ms, gm_Ks, label="gap map, one m per case")
    report.write_table(out / "gap_map.csv", [
        {"m": m, "K": K, "gap": gmap.gap[i, j], "r1": gmap.r1[i, j], "r2": gmap.r2[i, j]}
        for i, m in enumerate(gm_ms) for j, K in enumerate(gm_Ks)], MAP_COLUMNS, info)
    _plot_map(out / "gap_map.png", gmap, m_star)
    ordered = (gmap.r1**2 + gmap.r2**2 > 0) & np.isfinite(gmap.gap)
    i, j = np.unravel_index(np.argmin(np.where(ordered, gmap.gap, np.inf)), gmap.gap.shape)
    findings.append(report.check(
        "least gap(L_q) at an ordered minimiser of the (m, K) map", float(gmap.gap[i, j]), bool(gmap.gap[i, j] > 0),
        reference="> 0 (the minimiser is never degenerate off the transition lines)", unit="1/time",
        note=f"at m = {gm_ms[i]:.3g}, K = {gm_Ks[j]:.3g}; the gap decays like e^(−cK) for m ≳ 1/4"))
    findings.append(report.check("unconverged spectra in the gap map", int(np.isnan(gmap.gap).sum()),
                                 bool(np.isnan(gmap.gap).sum() == 0),
                                 reference=f"0 of {gmap.gap.size} (two resolutions agree to {SPECTRUM_RTOL:.0e})"))
    # the map (like the curves) takes the closed form at uniform minimisers: check it against the spectrum
    uniform_cases = ((0.0, 0.5), (1.0, 0.7), (2.0, 0.4))
    errors = [abs(linearized_spectrum(kuramoto_daido(m), K, modes=32, count=4).spectral_gap - float(uniform_gap(m, K)))
              for m, K in uniform_cases]
    findings.append(report.bound(
        "max |gap − min_k k²(1 − K c_k)/2| at uniform minimisers, computed spectrum", float(max(errors)),
        SPECTRUM_RTOL, kind="≤", against="the spectrum's resolution tolerance", unit="1/time",
        note="(m, K) = " + ", ".join(f"({m:g}, {K:g})" for m, K in uniform_cases)
             + "; the closed form the map and the curves use below K_c"))

    # ---------------------------------------------------------------- eigenfunctions
    report.announce("spectral_gap", "eigenfunctions of L_q for three states")
    cases = [(kuramoto(), 2.0, "Kuramoto, K = 2"), (kuramoto_daido(1.2), 1.2, "m = 1.2, K = 1.2"),
             (kuramoto_daido(2.0), 1.5, "m = 2, K = 1.5")]
    findings += _plot_eigenfunctions(out / "eigenfunctions.png", cases)

    # ---------------------------------------------------------------- time-domain cross-check
    report.announce("spectral_gap", "time-domain check: linearised and nonlinear relaxation")
    rows = []
    for W, K, title in case_progress(cases[:2], "spectral_gap: relaxation runs"):
        st = free_energy_minimizer(W, K, n=128)
        gap = linearized_spectrum(W, K, st, modes=32, count=4).spectral_gap
        lin = relaxation_rate(W, K, st, t_end=12.0, window=(6.0, 12.0))
        non = relaxation_rate(W, K, st, nonlinear=True, amplitude=3e-4, t_end=12.0, window=(6.0, 12.0))
        rows.append({"case": title, "gap": gap, "linear_rate": lin.rate, "nonlinear_rate": non.rate,
                     "linear_rel_err": lin.rate / gap - 1, "nonlinear_rel_err": non.rate / gap - 1})
        findings.append(report.fitted_rate(f"decay rate of the linearised flow, {title}", lin, gap, against="gap(L_q)",
                                           rtol=RATE_RTOL))
        findings.append(report.fitted_rate(f"decay rate of the nonlinear flow (amplitude 3e-4), {title}", non, gap,
                                           against="gap(L_q)", rtol=RATE_RTOL))
    report.write_table(out / "relaxation.csv", rows, RELAXATION_COLUMNS, info)
    _plot_relaxation(out / "relaxation.png", rows)

    # ---------------------------------------------------------------- the Kuramoto table
    report.announce("spectral_gap", "Kuramoto gaps at K = 1.5, 2, 3 (48 and 96 modes)")
    rows = []
    for K in case_progress((1.5, 2.0, 3.0), "spectral_gap: Kuramoto gaps"):
        coarse = linearized_spectrum(kuramoto(), K, modes=48, count=4)
        fine = linearized_spectrum(kuramoto(), K, modes=96, count=4)
        rows.append({"K": K, "gap_96": fine.spectral_gap, "gap_48": coarse.spectral_gap,
                     "r": free_energy_minimizer(kuramoto(), K).r})
        findings.append(report.compare(f"gap(L_q), Kuramoto K = {K:g}, 96 modes", fine.spectral_gap,
                                       coarse.spectral_gap, against="48 modes", rtol=1e-9, unit="1/time",
                                       note=f"gap = {fine.spectral_gap:.10f} (96 modes)"))
    report.write_table(out / "kuramoto_gaps.csv", rows, KURAMOTO_COLUMNS, info)
    return report.finish(out, findings, info)


# ---------------------------------------------------------------------------- figures


def _plot_curves(path: Path, ms: tuple[float, ...], curves: list[dict], m_star: float) -> None:
    fig, (ax, ax_log, ax_rel) = subplots(1, 3, figsize=(14, 4.6))
    for k, (m, c) in enumerate(zip(ms, curves)):
        if m in THEOREM_MS:
            continue
        label = "m = 0 (Kuramoto; the theorem's m coincide)" if m == 0 else _label(m, m_star)
        gap = np.asarray(c["gap"], dtype=float)
        ax.plot(c["K"], gap, color=f"C{k}", label=label)
        ax_log.plot(c["K"], np.where(gap > ZERO_GAP, gap, np.nan), color=f"C{k}")
    for ax_ in (ax, ax_log):
        ax_.axvline(1.0, color="0.6", ls=":", lw=0.8)
        ax_.set_xlabel("coupling K")
    ax.set_ylabel("gap(L_q) at the minimiser (1/time)")
    ax.set_title("gap(L_q) against K (below K_c: the uniform state)")
    ax_log.set_yscale("log")
    ax_log.set_ylabel("gap(L_q) (1/time, log scale)")
    ax_log.set_title(f"log scale (zeros of the gap, < {ZERO_GAP:.0e}, left out)")
    legend_outside(ax, where="below", ncol=2)
    base = np.asarray(curves[0]["gap"], dtype=float)
    for k, (m, c) in enumerate(zip(ms, curves)):
        if m not in THEOREM_MS:
            continue
        keep = base > ZERO_GAP
        rel = np.abs(np.asarray(c["gap"])[keep] / base[keep] - 1)
        K = np.asarray(c["K"])[keep]
        keep = rel > 0
        ax_rel.semilogy(K[keep], rel[keep], color=f"C{k}", label=f"m = {m:g}")
    ax_rel.axvline(1.0, color="0.6", ls=":", lw=0.8)
    ax_rel.set_xlabel("coupling K")
    ax_rel.set_ylabel("|gap / gap(Kuramoto) − 1|")
    ax_rel.set_title("the theorem's m against Kuramoto")
    legend_outside(ax_rel, where="below")
    save_figure(fig, path)


def _plot_map(path: Path, gmap, m_star: float) -> None:
    fig, ax = subplots(figsize=(7.5, 5.6))
    gap = np.where(gmap.gap > ZERO_GAP, gmap.gap, np.nan)
    mesh = ax.pcolormesh(gmap.ms, gmap.Ks, gap.T, shading="auto", norm=data_norm(gap, log=True))
    colorbar(fig, mesh, ax, "gap(L_q) at the minimiser (1/time)")
    ax.plot(gmap.ms, gmap.K_c, color="w", lw=1.5, label="K_c(m)")
    ax.axhline(1.0, color="w", ls=":", lw=1, label="K = 1")
    ax.axvline(m_star, color="r", ls="--", lw=1, label=f"m* = {m_star:.5f}")
    ax.plot([0, 0], [1.0, gmap.Ks[-1]], color="tab:orange", lw=5, solid_capstyle="butt",
            label="theorem: 0 < m ≤ 8.568e-4, K > 1 (left edge)")
    ax.set_xlim(gmap.ms[0], gmap.ms[-1])
    ax.set_ylim(gmap.Ks[0], gmap.Ks[-1])
    ax.set_xlabel("m in W = cos θ + m cos 2θ")
    ax.set_ylabel("coupling K")
    ax.set_title(f"gap(L_q) over (m, K), {gmap.ms.size}×{gmap.Ks.size}; white: zero or unconverged")
    legend_outside(ax, where="below")
    save_figure(fig, path)


def _plot_eigenfunctions(path: Path, cases: list) -> list[report.Finding]:
    fig, axes = subplots(1, 3, figsize=(14, 4.4), sharey=True)
    findings = []
    for ax, (W, K, title) in zip(axes, cases):
        sp = linearized_spectrum(W, K, modes=48, count=5)
        theta_grid = np.asarray(sp.grid.axes[0])
        half = theta_grid.size // 2  # plot on [−π, π) so that the cluster at θ = 0 is centred
        theta = np.roll(theta_grid, half)
        theta = np.where(theta >= np.pi, theta - 2 * np.pi, theta)
        ax.plot(theta, np.roll(sp.q, half) / np.abs(sp.q).max(), "k", lw=2, label="q / max q")
        for j, (lam, u) in enumerate(zip(sp.eigenvalues, sp.eigenfunctions)):
            tag = f"zero mode ∝ q' (λ = {lam:.1e})" if j == sp.zero_mode else f"λ = {lam:.4g}"
            ax.plot(theta, np.roll(u, half) / np.abs(u).max(), lw=1, label=tag)
        ax.set_title(f"{title}: gap {sp.spectral_gap:.4g}")
        ax.set_xlabel("θ")
        legend_outside(ax, where="below")
        # the zero mode against q' (spectral derivative), both of unit L² norm on the grid
        dq = np.real(np.fft.ifft(1j * np.fft.fftfreq(sp.q.size, 1.0 / sp.q.size) * np.fft.fft(sp.q)))
        u0 = sp.eigenfunctions[sp.zero_mode]
        cosine = abs(np.dot(u0, dq)) / (np.linalg.norm(u0) * np.linalg.norm(dq))
        findings.append(report.bound(f"zero mode of L_q against q', {title}: 1 − |cos angle|", float(1 - cosine),
                                     ZERO_MODE_TOL, kind="≤", against="eigensolver accuracy",
                                     note=f"its eigenvalue {sp.eigenvalues[sp.zero_mode]:.1e}"))
    axes[0].set_ylabel("q and eigenfunctions u_j of L_q (max |·| = 1)")
    save_figure(fig, path)
    return findings


def _plot_relaxation(path: Path, rows: list[dict]) -> None:
    fig, ax = subplots(figsize=(7.0, 4.0))
    names, errors = [], []
    for row in rows:
        for kind in ("linear", "nonlinear"):
            names.append(f"{row['case']}\n{kind}")
            errors.append(abs(row[f"{kind}_rel_err"]))
    ax.bar(names, errors, color=["C0", "C1"] * len(rows))
    ax.axhline(RATE_RTOL, color="r", ls="--", label=f"tolerance of the findings ({RATE_RTOL:.0e})")
    ax.set_yscale("log")
    ax.set_xlabel("case and flow")
    ax.set_ylabel("|fitted decay rate / gap − 1|")
    ax.set_title("time domain: perturbations of q decay at gap(L_q)")
    ax.tick_params(axis="x", labelsize=7)
    legend_outside(ax, where="below")
    save_figure(fig, path)
