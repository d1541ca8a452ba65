"""What a person meets first: Trajectory.plot/repr, fits that say when they are pre-asymptotic, the README's
ten lines, potentials that take their dimension from the grid, and clear errors and warnings for bad input."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import fieldflow as ff
from fieldflow import plotting
from fieldflow.core.trajectory import PreAsymptoticFitWarning, Trajectory
from fieldflow.core.validation import RenormalisedDensityWarning
from fieldflow.potentials import DoubleWell, GaussianMixture, Quadratic

ROOT = Path(__file__).resolve().parents[1]


def _mixture_run(t_end: float) -> tuple[Trajectory, float]:
    grid = ff.Grid.box(n=128, extent=6.0)
    pde = ff.FokkerPlanck(grid, GaussianMixture(means=[-1.5, 1.5], cov=0.5))
    traj = ff.evolve(pde, ff.densities.gaussian(grid, mean=2.5, cov=0.2), t_end, save_every=t_end / 100,
                     rtol=1e-8, atol=1e-12, progress=False)
    return traj, 2 * pde.spectral_gap()


def test_a_pre_asymptotic_fit_warns_and_an_asymptotic_one_does_not():
    # KL of the mixture relaxes at 2·gap only once the faster modes are gone: to t = 5 the default window
    # still contains them (the fit is 11 % high although R² = 0.9996), to t = 30 it does not
    short, two_gap = _mixture_run(5.0)
    with pytest.warns(PreAsymptoticFitWarning, match="pre-asymptotic"):
        fit = short.fit_exponential_rate("kl", full=True)
    assert fit.r_squared > 0.999 and fit.rate > 1.05 * two_gap and fit.pre_asymptotic
    long, _ = _mixture_run(30.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PreAsymptoticFitWarning)
        fit = long.fit_exponential_rate("kl", full=True)
    assert abs(fit.rate / two_gap - 1) < 1e-3 and fit.drift < 1e-2
    assert "PRE-ASYMPTOTIC" not in repr(fit) and f"{fit.rate:.6g}" in repr(fit)


def test_fit_halves_recover_two_known_rates():
    t = np.linspace(0, 10, 201)
    traj = Trajectory(diagnostics={"t": list(t), "y": list(np.exp(-t) + np.exp(-3 * t))})
    with pytest.warns(PreAsymptoticFitWarning):
        fit = traj.fit_exponential_rate("y", window=(0.0, 2.0), full=True)
    assert fit.half_rates[0] > fit.half_rates[1] > 1.0
    late = traj.fit_exponential_rate("y", window=(6.0, 10.0), full=True)
    assert abs(late.rate - 1.0) < 1e-3 and not late.pre_asymptotic


def test_plot_returns_a_labelled_figure_and_saves_it(tmp_path):
    traj, _ = _mixture_run(2.0)
    fig = traj.plot(["kl", "fisher"], path=tmp_path / "kl.png")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time t" and "KL(ρ‖ρ∞)" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["KL(ρ‖ρ∞)", "relative Fisher information I(ρ‖ρ∞)"]
    assert (tmp_path / "kl.png").stat().st_size > 5000
    assert [p for p in plotting.figure_problems(fig) if "legend" not in p] == []


def test_trajectory_repr_is_one_short_line():
    traj, _ = _mixture_run(1.0)
    text = repr(traj)
    assert "\n" not in text and len(text) < 300 and "states of shape (128,)" in text and "kl" in text


def test_readme_ten_lines_run_as_written(tmp_path):
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Ten lines\n\n```python\n(.*?)```", text, re.S).group(1)
    assert len([line for line in block.splitlines() if line.strip()]) == 10
    env = {"MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-W", "error::UserWarning", "-c", block], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rate, two_gap = map(float, re.search(r"RateFit\(rate=([\d.]+).*2·gap = ([\d.]+)", out.stdout).groups())
    assert abs(rate / two_gap - 1) < 1e-3
    assert (tmp_path / "double_well.png").stat().st_size > 5000 and (tmp_path / "double_well.npz").exists()


@pytest.mark.parametrize("V", [Quadratic(1.0), DoubleWell(barrier=1.0, separation=1.5)])
def test_potentials_take_their_dimension_from_the_grid(V):
    for dim in (1, 2, 3):
        grid = ff.Grid.box(n=8, extent=3.0, dim=dim)
        values = V.on_grid(grid)
        assert values.shape == grid.shape
        x = np.asarray(grid.points)
        expected = (0.5 * np.sum(x**2, -1) if isinstance(V, Quadratic)
                    else ((x[..., 0] / 1.5) ** 2 - 1) ** 2 + 0.5 * np.sum(x[..., 1:] ** 2, -1))
        np.testing.assert_allclose(values, expected, rtol=1e-14)
        h = 1e-6  # the gradient against central differences, in every dimension
        e = np.eye(dim)[0] * h
        np.testing.assert_allclose(V.gradient(x)[..., 0], (V.value(x + e) - V.value(x - e)) / (2 * h), atol=1e-6)


def test_a_fixed_dimension_says_how_to_change_it():
    grid2 = ff.Grid.box(n=8, extent=3.0, dim=2)
    with pytest.raises(ValueError, match=r"defined in 3D but got points of dimension 2.*dim=2"):
        Quadratic(1.0, dim=3).on_grid(grid2)
    with pytest.raises(ValueError, match="mean has 2 entries but the potential is 3-dimensional"):
        Quadratic(1.0, mean=[0.0, 0.0], dim=3)
    with pytest.raises(ValueError, match=r"length-2 vector for this 2D grid, got \[1, 2, 3\]"):
        ff.densities.gaussian(grid2, mean=[1, 2, 3])
    assert repr(Quadratic(2.0)) == "Quadratic(mean=0.0, cov=2.0, any dimension)"
    assert Quadratic(2.0).hessian_lower_bound == 0.5


def test_renormalising_a_density_warns_once_with_the_mass():
    grid = ff.Grid.box(n=32, extent=5.0)
    pde = ff.FokkerPlanck(grid, Quadratic(1.0))
    rho = ff.densities.gaussian(grid)
    with pytest.warns(RenormalisedDensityWarning, match="mass 2, not 1"):
        traj = ff.evolve(pde, 2 * rho, 0.01, progress=False)
    assert abs(traj["mass"][0] - 1) < 1e-12
    with warnings.catch_warnings():
        warnings.simplefilter("error", RenormalisedDensityWarning)
        ff.evolve(pde, rho, 0.01, progress=False)  # a normalised density: silent
        ff.densities.normalize(grid, 2 * rho)  # normalising is what normalize is for: silent
