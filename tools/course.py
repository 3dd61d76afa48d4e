"""The nbgrader side of the course kit: release the assignments, autograde submissions.

``python tools/course.py release`` (``make assignments``) runs ``nbgrader
generate_assignment`` for every assignment in ``docs/assignments/source/``
and writes the learners' versions to ``docs/assignments/release/``: solutions
replaced by ``raise NotImplementedError()``, hidden tests removed.  The
release is committed, so that learners without nbgrader find the assignments
in their own copies (``make workspace``).

Everything runs in one process through nbgrader's Python API (importing
nbgrader takes seconds; each ``nbgrader`` command would pay it again).
Needs the ``course`` extra: ``pip install -e ".[course]"``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "docs" / "assignments"


def assignments(course: Path = COURSE) -> list[str]:
    """The assignment names, in order (folders of ``source/``)."""
    return sorted(p.name for p in (course / "source").iterdir() if p.is_dir() and not p.name.startswith("."))


def api(course: Path, db: Path):
    """An NbGraderAPI for the course folder ``course`` (its nbgrader_config.py), gradebook ``db``."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    # nbgrader runs alembic (its database migrations) as a program: it must be on PATH.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    config = Config(PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config())
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.db_url = f"sqlite:///{db}"
    return NbGraderAPI(config=config)


def release(course: Path = COURSE, db: Path | None = None) -> list[str]:
    """Generate every assignment's release; return the names. Raises RuntimeError on an nbgrader error."""
    db = db or course / "gradebook.db"
    grader = api(course, db)
    names = assignments(course)
    for name in names:
        result = grader.generate_assignment(name, force=True)
        if not result["success"]:
            raise RuntimeError(
                f"nbgrader generate_assignment {name} failed:\n{result['log']}\n{result['error']}"
            )
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "release", help="nbgrader generate_assignment for every assignment -> docs/assignments/release/"
    )
    args = parser.parse_args(argv)
    if args.command == "release":
        try:
            import nbgrader  # noqa: F401
        except ImportError:
            print('make assignments needs nbgrader: pip install -e ".[course]"', file=sys.stderr)
            return 2
        shutil.rmtree(COURSE / "release", ignore_errors=True)
        names = release()
        for name in names:
            print(f"released {name} -> {(COURSE / 'release' / name).relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
