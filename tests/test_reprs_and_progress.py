"""Result objects print as one short line with their key numbers; progress bars are named by the case they run."""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest

import fieldflow as ff
from fieldflow.core.sweep import case_progress, sweep
from fieldflow.mckean_vlasov import (bifurcation_diagram, critical_coupling, free_energy_landscape,
                                     linearized_spectrum, stationary_states)
from fieldflow.mckean_vlasov.gap_map import kuramoto_daido_gap_map
from fieldflow.mckean_vlasov.interactions import kuramoto_daido
from fieldflow.polchinski import MonteCarloEstimate


def _one_line(obj) -> str:
    text = repr(obj)
    assert "\n" not in text and len(text) < 400, text
    assert "array(" not in text and "..." not in text.replace(", ...]", ""), text  # no NumPy dump
    return text


@pytest.fixture(scope="module")
def W():
    return kuramoto_daido(0.8)


def test_stationary_states_print_their_coupling_moments_free_energy_and_stability(W):
    uniform, ordered = stationary_states(W, 1.0)
    assert _one_line(uniform).startswith("StationaryState(K=1, uniform, free_energy=-0.918938533")
    text = _one_line(ordered)
    assert f"{ordered.moments[0]:.6g}" in text and "stable" in text and "unstable" not in text and "n=256" in text


def test_critical_coupling_and_spectrum_print_the_numbers_that_matter(W):
    c = critical_coupling(W)
    assert re.search(r"K_c=0\.94178485\d+ ± [\d.]+e-\d+, discontinuous, K_sharp=1,", _one_line(c))
    sp = linearized_spectrum(W, 1.0, modes=32, count=5)
    text = _one_line(sp)
    assert f"spectral_gap={sp.spectral_gap:.8g}" in text and "zero_mode=0" in text and "converged" in text


def test_bifurcation_diagram_lists_folds_and_bifurcation_points_and_its_branches_are_short(W):
    d = bifurcation_diagram(W, (0.6, 1.6), spectra=False)
    text = _one_line(d)
    assert "folds at K = 0.931017" in text and "bifurcation points at K = 1, 1.25" in text
    assert "K_c=0.9417848538 (discontinuous)" in text
    assert _one_line(d.branches[0]) == "Branch(uniform, 101 points, K ∈ [0.6, 1.6], stable at 41 of 101, range → range)"
    ordered = _one_line(d.branches[1])  # spectra=False: only the uniform branch's stability is known (closed form)
    assert ordered.startswith("Branch(ordered, ") and "stability not computed" in ordered


def test_gap_map_and_landscape_summarise_their_arrays(W):
    gm = kuramoto_daido_gap_map([0.0, 0.5], [0.5, 2.0], executor="serial")
    assert re.fullmatch(r"GapMap\(2 m × 2 K over m ∈ \[0, 0\.5\], K ∈ \[0\.5, 2\]: gap ∈ \[.+\], 0 unconverged\)",
                        _one_line(gm))
    L = free_energy_landscape(W, 1.0, np.linspace(-1, 1, 11), np.linspace(-1, 1, 11))
    assert "11 × 11 points" in _one_line(L) and "(2 stable)" in repr(L)


def test_monte_carlo_estimate_of_an_array_prints_its_shape_and_range():
    est = MonteCarloEstimate(np.linspace(0.0, 1.0, 500), np.full(500, 0.01), 1000)
    assert _one_line(est) == "MonteCarloEstimate(values of shape (500,) in [0, 1], errors up to 0.01, 1000 samples)"
    assert repr(MonteCarloEstimate(0.5, 0.02, 10)) == "MonteCarloEstimate(0.5 ± 0.02, 10 samples)"


# ------------------------------------------------------------------------------------------- progress bars
def test_evolve_names_its_bar_by_the_label_and_by_the_class_without_one(capsys):
    grid = ff.Grid.box(n=32, extent=4.0)
    pde = ff.FokkerPlanck(grid, ff.potentials.Quadratic(0.5))
    rho0 = ff.densities.gaussian(grid, mean=1.0, cov=0.5)
    ff.evolve(pde, rho0, 0.1, progress=True, label="convex case, n = 32")
    assert "convex case, n = 32" in capsys.readouterr().err
    ff.evolve(pde, rho0, 0.1, progress=True)
    assert "FokkerPlanck" in capsys.readouterr().err


def test_case_progress_counts_the_cases_and_is_silent_off_a_terminal(capsys):
    assert list(case_progress(range(3), "three cases", enabled=True)) == [0, 1, 2]
    assert re.search(r"three cases: 100%.*3/3", capsys.readouterr().err)
    assert list(case_progress(range(3), "three cases")) == [0, 1, 2]  # pytest's stderr is no terminal
    assert capsys.readouterr().err == ""


def test_a_labelled_sweep_shows_its_cases_on_a_terminal_and_returns_the_results_in_order(capsys, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    params = [3, -1, 2, -5]
    assert sweep(abs, params, executor="serial", label="abs of four") == [3, 1, 2, 5]
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with ThreadPoolExecutor(2) as pool:
        assert sweep(abs, params, executor=pool, chunks=3, label="abs of four") == [3, 1, 2, 5]
    assert re.search(r"abs of four: 100%.*4/4", capsys.readouterr().err)
