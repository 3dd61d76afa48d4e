"""Chapter 00's requirement check (ipc_helpers.checks): one line per requirement, MISSING when unmet."""

from __future__ import annotations

from ipc_helpers import checks


def test_every_requirement_is_met_here(capsys):
    assert checks.print_setup_checks() is True
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(checks.setup_checks()) and all(line.startswith("ok ") for line in lines)


def test_an_unmet_requirement_is_marked_missing(monkeypatch, capsys):
    monkeypatch.delattr("os.mkfifo", raising=False)  # as on native Windows
    assert checks.print_setup_checks() is False
    out = capsys.readouterr().out
    assert "MISSING  os.mkfifo exists" in out
    assert out.count("MISSING") == 1


def test_versions_name_the_packages_a_bug_report_needs():
    found = checks.versions()
    assert {"platform", "python", "jupyterlab", "ipywidgets", "ipykernel", "nbval"} <= set(found)
    assert found["python"].count(".") == 2
