"""Security basics of the helpers.

- FIFOs the helpers create are owner-only (0o600), inside owner-only (0o700)
  directories owned by the user, whatever the umask.
- No code path runs a shell: no ``shell=True``, ``os.system``, ``os.popen``
  anywhere in the package, the tools, the tests' helpers or the notebooks,
  and strings a learner passes (paths, data, arguments) reach the child
  process verbatim, never through a shell.
- A symbolic link planted where a FIFO is expected is never followed for
  writing: not by ``make_fifo``, ``open_fifo``, ``launch_writer``, nor when
  the link is swapped in after the helper has checked the path.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
import support.fifo_tools as fifo_tools
from support import PeerError, launch_reader, launch_writer, open_fifo, run_script, temp_fifo

import ipc_helpers.fifo as fifo_module
from ipc_helpers import NotAFifoError, make_fifo, private_dir, read_all

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (not on Windows)")

ROOT = Path(__file__).resolve().parent.parent


# ==========================================================================
# Owner-only FIFOs in owner-only directories
# ==========================================================================


@pytest.fixture
def permissive_umask():
    old = os.umask(0)  # the worst case: nothing masked
    yield
    os.umask(old)


def assert_private(fifo: Path) -> None:
    st, dst = os.lstat(fifo), os.lstat(fifo.parent)
    assert stat.S_ISFIFO(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert stat.S_ISDIR(dst.st_mode) and stat.S_IMODE(dst.st_mode) == 0o700, oct(dst.st_mode)
    assert st.st_uid == dst.st_uid == os.geteuid()


def test_a_fifo_in_private_dir_is_owner_only_even_with_umask_0(permissive_umask):
    folder = private_dir()
    try:
        assert_private(make_fifo(folder / "my_pipe"))
        assert_private(make_fifo(folder / "second"))
    finally:
        shutil.rmtree(folder)


def test_make_fifo_default_mode_is_owner_only(tmp_path, permissive_umask):
    assert stat.S_IMODE(os.lstat(make_fifo(tmp_path / "f")).st_mode) == 0o600


def test_private_dirs_are_unpredictable_and_not_shared():
    a, b = private_dir(), private_dir()
    try:
        assert a != b and a.parent == b.parent
        assert len(a.name) > len(fifo_module.TEMP_PREFIX) + 4  # a random part
    finally:
        a.rmdir()
        b.rmdir()


# ==========================================================================
# No shell, anywhere
# ==========================================================================

SHELL_CALLS = {"system", "popen", "getoutput", "getstatusoutput", "spawnlp", "spawnvp"}


def python_sources() -> list[tuple[str, str]]:
    """(name, source) for every Python file and notebook code cell of the project."""
    found = []
    for folder in ["ipc_helpers", "tools", "tests", "benchmarks", "notebooks"]:
        for path in sorted((ROOT / folder).rglob("*.py")):
            found.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
        for path in sorted((ROOT / folder).rglob("*.ipynb")):
            if ".ipynb_checkpoints" in path.parts:
                continue
            nb = json.loads(path.read_text(encoding="utf-8"))
            for i, cell in enumerate(nb["cells"]):
                if cell["cell_type"] == "code":
                    src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                    # IPython syntax (!cmd, %magic) is not Python; a "!" line is a shell.
                    lines = src.splitlines()
                    assert not any(line.lstrip().startswith("!") for line in lines), (
                        f"{path.name} cell {i}: a '!' shell escape"
                    )
                    src = "\n".join("" if line.lstrip().startswith("%") else line for line in lines)
                    found.append((f"{path.relative_to(ROOT)} cell {i}", src))
    return found


def shell_uses(source: str) -> list[str]:
    problems = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        for kw in node.keywords:
            if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                problems.append(f"line {node.lineno}: shell={ast.unparse(kw.value)}")
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in SHELL_CALLS:
            problems.append(f"line {node.lineno}: {ast.unparse(func)}()")
    return problems


def test_the_shell_detector_detects():
    assert shell_uses("subprocess.run('ls', shell=True)")
    assert shell_uses("subprocess.Popen(cmd, shell=flag)")
    assert shell_uses("os.system('rm x')")
    assert shell_uses("from os import popen\npopen('x')")
    assert not shell_uses("subprocess.run(['ls'], shell=False, timeout=5)")


def test_no_shell_anywhere_in_code_or_notebooks():
    sources = python_sources()
    assert any(name.startswith("ipc_helpers/") for name, _ in sources)
    problems = [f"{name}: {p}" for name, src in sources for p in shell_uses(src)]
    assert problems == []


HOSTILE = ["; touch PWNED", "$(touch PWNED)", "`touch PWNED`", "a b | touch PWNED", "'\"&&touch PWNED"]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_strings_reach_children_verbatim(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    # As a FIFO name (inside a private directory) and as the data.
    with temp_fifo(name) as fifo:
        assert fifo.name == name
        with launch_writer(fifo, name) as writer:
            fd = open_fifo(fifo, "r", timeout=10)
            try:
                assert read_all(fd, timeout=10) == name.encode()
            finally:
                os.close(fd)
            assert writer.wait(10) == 0
        with launch_reader(fifo) as reader:
            fd = open_fifo(fifo, "w", timeout=10)
            os.write(fd, b"ok")
            os.close(fd)
            assert reader.wait(10) == 0 and reader.received == b"ok"
    # As arguments of a script.
    script = tmp_path / "args.py"
    script.write_text("import json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    with run_script(script, name, "x", cwd=tmp_path) as child:
        assert child.wait(10) == 0, child.stderr
        assert json.loads(child.stdout) == [name, "x"]
    assert not list(tmp_path.rglob("PWNED")) and not list(ROOT.glob("PWNED"))


def test_children_are_started_with_an_argument_list_and_no_shell(tmp_path, monkeypatch):
    calls = []
    real_popen = subprocess.Popen

    class Recorder(real_popen):  # type: ignore[misc, valid-type]
        def __init__(self, args, *a, **kw):
            calls.append((args, kw.get("shell", False)))
            super().__init__(args, *a, **kw)

    monkeypatch.setattr(subprocess, "Popen", Recorder)
    p = make_fifo(tmp_path / "f")
    script = tmp_path / "s.py"
    script.write_text("pass\n")
    with launch_writer(p, b"x", lifetime=5) as w, launch_reader(p, lifetime=5) as r, run_script(script) as s:
        assert w.wait(10) == r.wait(10) == s.wait(10) == 0
    assert len(calls) == 3
    for args, shell in calls:
        assert isinstance(args, list) and shell is False


# ==========================================================================
# Planted symbolic links are never followed for writing
# ==========================================================================


@pytest.fixture
def victim(tmp_path) -> Path:
    v = tmp_path / "victim.txt"
    v.write_bytes(b"precious")
    return v


def assert_untouched(victim: Path) -> None:
    assert victim.read_bytes() == b"precious"


def test_make_fifo_refuses_a_planted_symlink(tmp_path, victim):
    link = tmp_path / "my_pipe"
    os.symlink(victim, link)
    with pytest.raises(NotAFifoError, match="symbolic link"):
        make_fifo(link)
    assert os.path.islink(link) and not stat.S_ISFIFO(os.stat(victim).st_mode)
    assert_untouched(victim)


@pytest.mark.parametrize("timeout", [None, 2])
def test_open_fifo_for_writing_refuses_a_planted_symlink(tmp_path, victim, timeout):
    link = tmp_path / "my_pipe"
    os.symlink(victim, link)
    with pytest.raises(NotAFifoError):
        open_fifo(link, "w", timeout=timeout)
    assert_untouched(victim)


@pytest.mark.timeout(20)
def test_open_fifo_refuses_a_symlink_to_another_fifo(tmp_path):
    """Even a link to a real FIFO is refused: the writer would reach a pipe it did not choose."""
    other = make_fifo(tmp_path / "other")
    link = tmp_path / "my_pipe"
    os.symlink(other, link)
    with launch_reader(other, lifetime=5) as reader:
        with pytest.raises(NotAFifoError):
            open_fifo(link, "w", timeout=2)
        reader.kill()
    assert reader.received == b""


def test_open_fifo_refuses_a_symlink_swapped_in_after_the_check(tmp_path, victim, monkeypatch):
    """The race: the path is a FIFO when checked, a symlink when opened (O_NOFOLLOW stops it)."""
    link = tmp_path / "my_pipe"
    os.symlink(victim, link)
    monkeypatch.setattr(fifo_tools, "_require_fifo", lambda path: None)  # "the check passed"
    with pytest.raises(NotAFifoError):
        open_fifo(link, "w")
    with pytest.raises(NotAFifoError):
        open_fifo(link, "w", timeout=2)
    assert_untouched(victim)


@pytest.mark.timeout(20)
def test_launch_writer_refuses_a_planted_symlink(tmp_path, victim):
    link = tmp_path / "my_pipe"
    os.symlink(victim, link)
    with launch_writer(link, b"EVIL") as writer:
        assert writer.wait(10) == 1
    with pytest.raises(PeerError, match="not a FIFO"):
        writer.check()
    assert_untouched(victim)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("swap_in", ["symlink", "regular file"])
def test_launch_writer_refuses_a_swap_after_its_check(tmp_path, victim, swap_in):
    """The writer checks the path, then waits (delay_before_open); the FIFO is swapped meanwhile."""
    p = make_fifo(tmp_path / "my_pipe")
    with launch_writer(p, b"EVIL", delay_before_open=3) as writer:
        # A child checks its path within about 0.1 s of its start; if a very busy
        # machine delays it past the swap, its early check refuses instead: the
        # victim is safe either way, and the test never hangs.
        time.sleep(1)
        os.unlink(p)
        if swap_in == "symlink":
            os.symlink(victim, p)
        else:
            os.link(victim, p)  # the victim itself, under the FIFO's name
        status = writer.wait(10)
    assert_untouched(victim)
    assert status == 1, writer.stderr
    assert "not a FIFO" in writer.stderr
