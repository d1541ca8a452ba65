"""The `fieldflow` command: listing and running studies, with a summary on disk."""

from __future__ import annotations

import pytest

from fieldflow import cli, studies


def test_every_study_follows_the_contract():
    found = studies.available()
    assert "fokker_planck_lsi" in found
    for name, module in found.items():
        assert isinstance(module.TITLE, str) and module.TITLE
        assert isinstance(module.DEFAULT, bool)
        assert callable(module.run)


def test_list_studies(capsys):
    cli.main(["studies"])
    assert "fokker_planck_lsi" in capsys.readouterr().out


def test_run_a_study_writes_figures_table_and_summary(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "fokker_planck_lsi", "--out", str(tmp_path)])
    assert exit_info.value.code == 0
    out = tmp_path / "fokker_planck_lsi"
    assert (out / "kl_decay.png").stat().st_size > 10_000
    assert (out / "rates.csv").read_text().count("\n") == 4
    summary = (tmp_path / "summary.txt").read_text()
    assert "fokker_planck_lsi [ok" in summary and "fitted rate" in summary


def test_unknown_study_is_refused():
    with pytest.raises(ValueError, match="no study"):
        studies.load("does_not_exist")


def test_evolve_function_is_not_shadowed_by_its_module():
    import importlib

    import fieldflow as ff

    importlib.import_module("fieldflow.core.evolve")
    with pytest.warns(DeprecationWarning, match="fieldflow.core.evolve"):
        importlib.import_module("fieldflow.evolve")  # the 0.1 path of the module
    assert callable(ff.evolve) and ff.evolve.__module__ == "fieldflow.core.evolve"
