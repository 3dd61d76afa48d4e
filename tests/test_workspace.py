"""The learner's copies (tools/workspace.py, ``make workspace``): clean, never overwritten once edited."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))

_spec = importlib.util.spec_from_file_location("workspace", ROOT / "tools" / "workspace.py")
workspace = importlib.util.module_from_spec(_spec)
sys.modules["workspace"] = workspace
_spec.loader.exec_module(workspace)


@pytest.fixture
def upstream(tmp_path, monkeypatch):
    """A private copy of notebooks/ (and no release) that a test may change as the tutorial would."""
    src = tmp_path / "notebooks"
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "my_pipe")
    shutil.copytree(ROOT / "notebooks", src, symlinks=True, ignore=ignore)  # zh_CN/scripts stays a link
    monkeypatch.setattr(workspace, "NOTEBOOKS", src)
    monkeypatch.setattr(workspace, "RELEASE", tmp_path / "no-release")
    return src


def sources(path: Path) -> list[tuple[str, str, str]]:
    nb = nbformat.read(path, as_version=4)
    return [(c.get("id", ""), c.cell_type, c.source) for c in nb.cells]


def edit(path: Path) -> bytes:
    """Change a copy as a learner would (a new cell, saved), and return its bytes."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("print('my own experiment')"))
    nbformat.write(nb, path)
    return path.read_bytes()


def change_upstream(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source += "\n\nA sentence the tutorial added later."
    nbformat.write(nb, path)


def test_copies_have_no_outputs_and_the_same_sources(tmp_path):
    dest = tmp_path / "ws"
    report = workspace.sync(dest)
    copies = sorted(dest.glob("*.ipynb"))
    assert [p.name for p in copies] == [p.name for p in CHAPTERS]
    assert sorted(report.added) == sorted(
        p.relative_to(dest).as_posix()
        for p in dest.rglob("*")
        if p.is_file() and p.name != workspace.MANIFEST
    )
    for copy in copies:
        nb = nbformat.read(copy, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, copy.name
            assert "execution" not in cell.metadata
        assert "widgets" not in nb.metadata
        assert sources(copy) == sources(ROOT / "notebooks" / copy.name), copy.name
    for script in (ROOT / "notebooks" / "scripts").glob("*.py"):
        copy = dest / "scripts" / script.name
        assert copy.read_bytes() == script.read_bytes()
        # A program stays a program: chapter 06 runs ./write_to_named_pipe.py in a terminal.
        assert os.access(copy, os.X_OK) == os.access(script, os.X_OK), copy.name
    released = sorted((ROOT / "docs" / "assignments" / "release").glob("*/*.ipynb"))
    assert released, "the learners' copies include the graded assignments"
    for nb in released:
        copy = dest / "assignments" / nb.parent.name / nb.name
        assert sources(copy) == sources(nb), copy


def test_stored_outputs_exist_to_be_cleared():
    """The check above means something only if the reference notebooks do have outputs."""
    assert any(
        cell.outputs
        for path in CHAPTERS
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "code"
    )


def test_an_edited_chapter_is_kept_byte_for_byte_and_an_unedited_one_refreshed(upstream, tmp_path):
    dest = tmp_path / "ws"
    workspace.sync(dest)
    first, second = sorted(upstream.glob("0[1-9]-*.ipynb"))[:2]
    mine = edit(dest / first.name)
    change_upstream(first)
    change_upstream(second)
    report = workspace.sync(dest)
    assert (dest / first.name).read_bytes() == mine
    assert [name for name, _ in report.kept] == [first.name]
    assert "RESET=" + first.name[:2] in dict(report.kept)[first.name]
    assert report.refreshed == [second.name]
    assert sources(dest / second.name) == sources(second)
    # And again: still kept, nothing else touched.
    report = workspace.sync(dest)
    assert (dest / first.name).read_bytes() == mine
    assert report.refreshed == [] and report.added == []


def test_an_edited_script_is_kept_and_a_deleted_copy_comes_back(upstream, tmp_path):
    dest = tmp_path / "ws"
    workspace.sync(dest)
    script = sorted((dest / "scripts").glob("*.py"))[0]
    script.write_text("# my version\n")
    (dest / CHAPTERS[0].name).unlink()
    report = workspace.sync(dest)
    assert script.read_text() == "# my version\n"
    assert report.added == [CHAPTERS[0].name]


def test_reset_gives_a_fresh_copy_and_keeps_the_old_one(upstream, tmp_path):
    dest = tmp_path / "ws"
    workspace.sync(dest)
    chapter = sorted(upstream.glob("0[1-9]-*.ipynb"))[0]
    number = chapter.name[:2]
    mine = edit(dest / chapter.name)
    report = workspace.sync(dest, reset=[number])
    saved = dest / chapter.name.replace(".ipynb", ".yours-1.ipynb")
    assert report.reset == [(chapter.name, saved.name)]
    assert saved.read_bytes() == mine
    assert (dest / chapter.name).read_bytes() == workspace.clear_outputs(chapter.read_bytes())
    # A second reset keeps both earlier versions.
    edit(dest / chapter.name)
    workspace.sync(dest, reset=[chapter.stem])
    assert saved.read_bytes() == mine and (dest / chapter.name.replace(".ipynb", ".yours-2.ipynb")).exists()
    # The set-aside copies are the learner's: later runs leave them alone.
    workspace.sync(dest)
    assert saved.read_bytes() == mine


def test_reset_of_an_unknown_chapter_is_a_clear_error(tmp_path):
    with pytest.raises(workspace.UsageError, match="no such chapter"):
        workspace.sync(tmp_path / "ws", reset=["42"])
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools/workspace.py"), "--dest", str(tmp_path / "ws"), "--reset", "42"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "no such chapter" in done.stderr


def test_a_chapter_gone_upstream_is_removed_only_if_unedited(upstream, tmp_path):
    """A renumbered chapter (09-fifo-explorer becoming 10-...) must not leave a stale copy, nor lose work."""
    dest = tmp_path / "ws"
    workspace.sync(dest)
    a, b = sorted(upstream.glob("0[1-9]-*.ipynb"))[:2]
    mine = edit(dest / b.name)
    a.rename(a.with_name("42-renamed.ipynb"))
    b.unlink()
    report = workspace.sync(dest)
    assert not (dest / a.name).exists() and (dest / "42-renamed.ipynb").exists()
    assert (dest / b.name).read_bytes() == mine
    assert any(name == b.name and "no longer" in why for name, why in report.kept)


def test_lang_takes_its_own_chapters_and_the_shared_scripts(upstream, tmp_path):
    zh = upstream / "zh_CN"
    if not zh.exists():  # as make zh leaves it: the chapters, and scripts as a link to the shared ones
        zh.mkdir()
        (zh / "scripts").symlink_to("../scripts", target_is_directory=True)
    shutil.copy(CHAPTERS[0], zh / CHAPTERS[0].name)
    report = workspace.sync(tmp_path / "zh", lang="zh_CN")
    assert sorted(report.added) == sorted(
        [p.name for p in zh.glob("*.ipynb")] + [f"scripts/{p.name}" for p in (upstream / "scripts").iterdir()]
    )
    assert not (tmp_path / "zh" / "scripts").is_symlink()  # the learner gets real copies
    # The default edition does not pick up the other language's folder.
    report = workspace.sync(tmp_path / "en")
    assert not any(rel.startswith("zh_CN/") for rel in report.added)
    with pytest.raises(workspace.UsageError, match="no chapters for language"):
        workspace.sync(tmp_path / "xx", lang="fr")


def test_the_command_says_what_it_did(tmp_path):
    def run(*args):
        return subprocess.run(
            [sys.executable, str(ROOT / "tools/workspace.py"), "--dest", str(tmp_path / "ws"), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout

    out = run()
    assert f"added:      {CHAPTERS[0].name}" in out
    assert (
        f"up to date: {len(json.loads((tmp_path / 'ws' / workspace.MANIFEST).read_text())['files'])} file(s)"
        in run()
    )


def test_workspace_is_git_ignored_and_make_lab_opens_it():
    assert "workspace/" in (ROOT / ".gitignore").read_text().splitlines()
    makefile = (ROOT / "Makefile").read_text()
    assert "lab: workspace\n" in makefile
    assert "jupyter lab $(WORKSPACE)/" in makefile


@pytest.mark.timeout(600)
def test_every_copy_runs_top_to_bottom_in_a_fresh_kernel(tmp_path):
    """What a learner does first: open a copy and Run All. Errors only where a cell is tagged for them."""
    from nbclient import NotebookClient

    dest = tmp_path / "ws"
    workspace.sync(dest)
    os.environ.pop("PYTEST_CURRENT_TEST", None)  # the kernel sees what JupyterLab's sees (tests/conftest.py)
    failures = []
    for copy in sorted(dest.glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(copy, as_version=4)
        client = NotebookClient(
            nb,
            timeout=60,
            kernel_name="python3",
            resources={"metadata": {"path": str(dest)}},
            record_timing=False,
        )
        try:
            client.execute()
        except Exception as e:  # noqa: BLE001 - report every chapter, not only the first
            failures.append(f"{copy.name}: {type(e).__name__}: {str(e)[-500:]}")
    assert not failures, "\n".join(failures)


def test_a_copy_made_without_the_executable_bit_gets_it_back(tmp_path):
    dest = tmp_path / "ws"
    workspace.sync(dest)
    program = dest / "scripts" / "write_to_named_pipe.py"
    os.chmod(program, 0o644)  # as copies made by an earlier version of this tool were
    workspace.sync(dest)
    assert os.access(program, os.X_OK)
