"""The course kit's documents: licences, citation, credit, and that the README names them."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")


def test_code_is_mit_and_text_is_cc_by_4():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    text = (ROOT / "LICENSE-text.md").read_text(encoding="utf-8")
    assert "Creative Commons Attribution 4.0 International Public License" in text
    assert "Section 8 – Interpretation." in text, "the legal code is there in full"


def test_readme_and_pyproject_name_both_licences():
    assert "(LICENSE)" in README and "(LICENSE-text.md)" in README and "(CITATION.cff)" in README
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"]["text"] == "MIT AND CC-BY-4.0"
    assert project["tool"]["setuptools"]["license-files"] == ["LICENSE", "LICENSE-text.md"]


def test_citation_file_credits_the_book():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["license"] == ["MIT", "CC-BY-4.0"]
    (book,) = cff["references"]
    assert book["authors"] == [{"family-names": "Palach", "given-names": "Jan"}] and book["year"] == 2014
    assert "Understanding IPC" in book["section"]


def test_readme_credit_says_what_is_taken_and_what_is_ours():
    credit = README.split("\n## Credits", 1)[1]
    for needed in [
        "Jan Palach",
        "Parallel Programming with",
        "Packt",
        "2014",
        "Understanding IPC",
        "Chinese",
    ]:
        assert needed in credit.replace("\n", " "), needed
    assert re.search(r"text and the code here are our own", credit.replace("\n", " "))
