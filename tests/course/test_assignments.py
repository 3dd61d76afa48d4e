"""The nbgrader round trip of the course kit (make test-course; needs the `course` extra).

In a private copy of docs/assignments/, for every assignment:

- `nbgrader generate_assignment` gives exactly the committed release (docs/assignments/release/);
- autograding the source notebook (the solutions) gives full marks;
- autograding the untouched release gives 0;
- each typical wrong answer (tests/course/wrong_answers.py) loses exactly the grade cells it must.

Every submission is graded with real FIFOs and processes, each test bounded in time
(ipc_grading); a wrong answer that blocks costs its points and a few seconds, never the run.
"""

from __future__ import annotations

import filecmp
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader", reason='the course tests need nbgrader: pip install -e ".[course]"')

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "docs" / "assignments"
sys.path.insert(0, str(Path(__file__).parent))
from wrong_answers import WRONG_ANSWERS  # noqa: E402

_spec = importlib.util.spec_from_file_location("course_tool", ROOT / "tools" / "course.py")
course_tool = importlib.util.module_from_spec(_spec)
sys.modules["course_tool"] = course_tool
_spec.loader.exec_module(course_tool)

NAMES = course_tool.assignments()
# Autograding runs every notebook in a fresh kernel; on a busy two-core machine one assignment
# with its wrong answers takes minutes. Each test inside a notebook is bounded on its own.
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A private course folder: config and sources copied, assignments generated into its release/."""
    root = tmp_path_factory.mktemp("course")
    shutil.copy(COURSE / "nbgrader_config.py", root)
    shutil.copytree(COURSE / "source", root / "source")
    course_tool.release(root, db=gradebook(root))
    yield root
    gradebook(root).unlink(missing_ok=True)


def gradebook(root: Path) -> Path:
    """The gradebook, in /dev/shm where there is one: sqlite commits are slow on a busy disk."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm / f"ipc-course-{root.name}-{os.getpid()}.db"
    return root / "gradebook.db"


def test_every_assignment_is_tested():
    assert NAMES and set(WRONG_ANSWERS) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_committed_release_is_what_nbgrader_generates(course, name):
    fresh, committed = course / "release" / name, COURSE / "release" / name
    cmp = filecmp.dircmp(fresh, committed)
    assert not (cmp.left_only or cmp.right_only), f"files differ: {cmp.left_only} vs {cmp.right_only}"
    for nb in fresh.glob("*.ipynb"):
        assert nb.read_bytes() == (committed / nb.name).read_bytes(), f"{name}: run make assignments"


def submit(course: Path, name: str, student: str, notebook: nbformat.NotebookNode) -> None:
    folder = course / "submitted" / student / name
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / f"{name}.ipynb")


def with_answers(source: Path, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The source notebook with some solution cells replaced by other answers."""
    nb = nbformat.read(source, as_version=4)
    by_id = {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in nb.cells}
    for cell_id, text in answers.items():
        assert by_id[cell_id].metadata["nbgrader"]["solution"], cell_id
        by_id[cell_id].source = text.strip("\n")
    return nb


def scores(course: Path, name: str, student: str) -> dict[str, tuple[float, float]]:
    """grade cell -> (score, max score) for one autograded submission."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{gradebook(course)}") as gb:
        sub = gb.find_submission_notebook(name, name, student)
        return {g.name: (g.score, g.max_score) for g in sub.grades}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", NAMES)
def test_autograding(course, name):
    source = course / "source" / name / f"{name}.ipynb"
    students = {"solution": nbformat.read(source, as_version=4)}
    students["untouched"] = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
    for i, (answers, _) in enumerate(WRONG_ANSWERS[name].values()):
        students[f"wrong-{i}"] = with_answers(source, answers)
    grader = course_tool.api(course, gradebook(course))
    for student, nb in students.items():
        submit(course, name, student, nb)
        result = grader.autograde(name, student, force=True, create=True)
        assert result["success"], f"{student}: {result['log'][-3000:]}{result['error']}"

    full = scores(course, name, "solution")
    lost = {cell: s for cell, s in full.items() if s[0] != s[1]}
    assert not lost, f"the solutions lose points: {lost}\n{feedback(course, name, 'solution')}"
    untouched = scores(course, name, "untouched")
    assert sum(s for s, _ in untouched.values()) == 0, f"the untouched release scores: {untouched}"
    report = [f"{name}: {sum(m for _, m in full.values()):g} points"]
    for i, (variant, (_, must_lose)) in enumerate(WRONG_ANSWERS[name].items()):
        got = scores(course, name, f"wrong-{i}")
        zero = {cell for cell, (s, m) in got.items() if s == 0}
        partial = {cell for cell, (s, m) in got.items() if 0 < s < m}
        assert zero == must_lose and not partial, (
            f"{variant!r}: lost {sorted(zero)}, expected to lose exactly {sorted(must_lose)}\n"
            f"{feedback(course, name, f'wrong-{i}')}"
        )
        kept = sum(s for s, _ in got.values())
        report.append(f"  {variant}: {kept:g} (loses {', '.join(sorted(must_lose))})")
    print("\n".join(report))


def feedback(course: Path, name: str, student: str) -> str:
    """The test cells' errors in an autograded notebook, for a failure message."""
    path = course / "autograded" / student / name / f"{name}.ipynb"
    if not path.exists():
        return ""
    lines = []
    for cell in nbformat.read(path, as_version=4).cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
                lines.append(f"{grade_id}: {out['ename']}: {out['evalue'][:300]}")
    return "\n".join(lines)


def test_release_is_json_that_learners_can_open():
    for nb in COURSE.glob("release/*/*.ipynb"):
        json.loads(nb.read_text(encoding="utf-8"))
