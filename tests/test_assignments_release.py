"""The committed release of the graded assignments gives nothing away (fast; no nbgrader needed).

The full nbgrader round trip (release up to date, full marks, zero, wrong answers) is in
tests/course/ and runs with make test-course.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "docs" / "assignments"
SOURCES = sorted(COURSE.glob("source/*/*.ipynb"))
ids = [p.parent.name for p in SOURCES]


def regions(text: str, begin: str, end: str) -> list[str]:
    return re.findall(rf"^[ \t]*### {begin}\n(.*?)^[ \t]*### {end}", text, flags=re.MULTILINE | re.DOTALL)


def telling_lines(block: str) -> set[str]:
    """Lines of a solution or hidden test that would give it away (not blank, not just a keyword)."""
    return {line.strip() for line in block.splitlines() if len(line.strip()) >= 16}


def test_there_are_assignments():
    assert len(SOURCES) >= 5


@pytest.mark.parametrize("source", SOURCES, ids=ids)
def test_release_has_no_solution_and_no_hidden_test(source):
    release = COURSE / "release" / source.parent.name / source.name
    assert release.exists(), "run make assignments"
    released = release.read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"):
        assert marker not in released
    src_nb = nbformat.read(source, as_version=4)
    rel_nb = nbformat.read(release, as_version=4)
    rel_code = "\n".join(c.source for c in rel_nb.cells)
    solutions = [b for c in src_nb.cells for b in regions(c.source, "BEGIN SOLUTION", "END SOLUTION")]
    hidden = [b for c in src_nb.cells for b in regions(c.source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")]
    assert solutions and len(solutions) == sum(c.metadata["nbgrader"]["solution"] for c in src_nb.cells)
    outside = "\n".join(
        re.sub(
            r"### BEGIN (SOLUTION|HIDDEN TESTS)\n.*?### END (SOLUTION|HIDDEN TESTS)",
            "",
            c.source,
            flags=re.DOTALL,
        )
        for c in src_nb.cells
    )
    visible_elsewhere = {line.strip() for line in outside.splitlines()}
    for line in set().union(*(telling_lines(b) for b in solutions + hidden)) - visible_elsewhere:
        assert line not in rel_code, f"the release shows a line of a solution or hidden test: {line!r}"
    for cell in rel_nb.cells:
        if cell.metadata["nbgrader"]["solution"]:
            assert "raise NotImplementedError()" in cell.source


@pytest.mark.parametrize("source", SOURCES, ids=ids)
def test_release_holds_only_the_notebook(source):
    files = sorted(p.name for p in (COURSE / "release" / source.parent.name).iterdir())
    assert files == [source.name], "a program saved next to a source notebook must never be released"


@pytest.mark.parametrize("source", SOURCES, ids=ids)
def test_every_test_cell_is_graded_and_every_answer_cell_is_open(source):
    nb = nbformat.read(source, as_version=4)
    points = 0
    for cell in nb.cells:
        meta = cell.metadata["nbgrader"]
        if meta["grade"]:
            assert cell.cell_type == "code" and meta["locked"] and meta["points"] > 0
            points += meta["points"]
        if meta["solution"]:
            assert not meta["locked"] and "### BEGIN SOLUTION" in cell.source
    intro = nb.cells[0].source
    assert f"**Points** {points:g}." in intro, f"the introduction must announce {points:g} points"
