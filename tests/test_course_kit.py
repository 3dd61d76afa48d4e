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


GUIDE = (ROOT / "docs" / "instructors.md").read_text(encoding="utf-8")


def assignment_points() -> dict[str, float]:
    """Assignment number -> its points, summed from the nbgrader metadata of the source notebooks."""
    import nbformat

    points = {}
    for path in sorted((ROOT / "docs" / "assignments" / "source").glob("*/*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        total = sum(c.metadata["nbgrader"].get("points", 0) for c in cells if c.metadata["nbgrader"]["grade"])
        points[str(int(path.parent.name[:2]))] = total
    return points


def test_readme_and_guide_give_each_assignment_its_real_points():
    points = assignment_points()
    assert len(points) == 5
    for text, where in [(README, "README"), (GUIDE, "instructor guide")]:
        table = dict(re.findall(r"^\| (\d)\. [^|]+\|(?:[^|]*\|)*? (\d+) \|", text, flags=re.MULTILINE))
        assert {k: float(v) for k, v in table.items()} == points, f"{where}: {table} vs {points}"


def test_guide_names_the_python_the_outputs_were_made_with():
    import json

    versions = {
        json.loads(p.read_text(encoding="utf-8"))["metadata"]["language_info"]["version"]
        for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")
    }
    for version in versions:
        assert f"CPython {version}" in GUIDE, f"the stored outputs were made on Python {version}: say so"


def test_readme_is_for_learners_and_teachers_and_tests_are_in_contributing():
    assert "(docs/instructors.md)" in README and "(CONTRIBUTING.md)" in README
    assert "## What the tests check" not in README
    assert "## What the tests check" in (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert "mybinder.org/v2/gh/" in README and "urlpath=lab/tree/workspace" in README


def test_constraints_pin_every_dependency_for_each_python_they_cover():
    """make test installs with constraints.txt: each Python section pins every package pyproject names."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {
        re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower().replace("_", "-")
        for r in project["dependencies"]
        + [r for extra in project["optional-dependencies"].values() for r in extra]
    }
    sections: dict[str, set[str]] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = re.fullmatch(r'([A-Za-z0-9_.-]+)==[^ ;]+ ; python_version == "(3\.\d+)"', line)
        assert m, f"not an exact pin for one Python: {line!r}"
        sections.setdefault(m.group(2), set()).add(m.group(1).lower().replace("_", "-"))
    assert "3.11" in sections, "no pins for the Python CI uses"
    for version, names in sections.items():
        assert not wanted - names, f"Python {version}: not pinned: {sorted(wanted - names)}"
    makefile = (ROOT / "Makefile").read_text()
    assert (
        '-e ".[test]" $(PIP_C)' in makefile
        and "PIP_C  := $(if $(wildcard $(CONSTRAINTS)),-c $(CONSTRAINTS))" in makefile
    )



def chapter_facts(folder: Path, time_word: str, minutes_re: str) -> dict[str, tuple[str, int]]:
    """Chapter number -> (title, minutes), from the first cell of each chapter in ``folder``."""
    import json

    facts = {}
    for path in sorted(folder.glob("[0-9][0-9]-*.ipynb")):
        first = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
        title = first.splitlines()[0].removeprefix("# ")
        time_line = next(line for line in first.splitlines() if line.startswith(f"**{time_word}**"))
        facts[path.name[:2]] = (title, int(re.search(minutes_re, time_line).group(1)))
    return facts


@pytest.mark.parametrize(
    "readme, folder, time_word, minutes_re, unit",
    [
        ("README.md", "notebooks", "Time", r"(\d+) minutes", "min"),
        ("README.zh-CN.md", "notebooks/zh_CN", "用时", r"(\d+) 分钟", "分钟"),
    ],
)
def test_readme_rows_give_each_chapter_its_own_title_and_time(readme, folder, time_word, minutes_re, unit):
    text = (ROOT / readme).read_text(encoding="utf-8")
    row = rf"^\| \[((\d\d) — [^]]+)\]\({folder}/\d\d-[^)]+\) \|[^|]+\| (\d+) {unit} \|$"
    rows = {m.group(2): (m.group(1), int(m.group(3))) for m in re.finditer(row, text, re.M)}
    for number, facts in chapter_facts(ROOT / folder, time_word, minutes_re).items():
        assert number in rows, f"{readme}: no row for chapter {number} of {folder}"
        assert rows[number] == facts, f"{readme}: the row says {rows[number]}, the chapter {facts}"


def test_guide_gives_each_chapter_its_own_time_and_has_no_drafts():
    per_chapter = GUIDE.split("\n## Per chapter", 1)[1]
    sections = {s[:2]: s for s in re.split(r"^### (?=\d\d — )", per_chapter, flags=re.M)[1:]}
    for number, (_, minutes) in chapter_facts(ROOT / "notebooks", "Time", r"(\d+) minutes").items():
        assert number in sections, f"the guide has no section for chapter {number}"
        if "notes to come" not in sections[number].splitlines()[0]:
            said = re.search(r"^\*\*Time\*\*: (\d+) minutes", sections[number], re.M)
            assert said and int(said.group(1)) == minutes, f"guide, {number}: chapter says {minutes}"
        plan = re.search(rf"\[{number}\]\(\.\./notebooks/{number}-[^)]+\) [^(|]+\((\d+)\)", GUIDE)
        assert plan and int(plan.group(1)) == minutes, f"course plan, {number}: chapter says {minutes}"
    assert not re.search(r"\bTODO\b|\bDRAFT\b", GUIDE), "the instructor guide still has a TODO or DRAFT"
