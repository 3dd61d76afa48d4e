"""Chapter 03's claims about creating FIFOs, and its script scripts/check_then_create.py.

The chapter shows the book's check-then-create race with two copies of the script, each
holding the gap between looking and creating open until it is told to go on (a line on
its standard input).  These tests check that this demonstration cannot come out any other
way, whatever the load, and that the race is real without the pause: processes started
together, running the book's two lines at full speed, crash now and then, while the
chapter's recipe never does.
"""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (not on Windows)")

SCRIPT = Path(__file__).resolve().parent.parent / "notebooks" / "scripts" / "check_then_create.py"
TIMEOUT = 20


def start_racers(path: Path, count: int, *options: str) -> list[subprocess.Popen]:
    """Start COUNT copies, and return once every one has looked (printed its first line)."""
    racers = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT), str(path), *options],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    for racer in racers:
        assert racer.stdout.readline(), "the script ended before it looked"
    return racers


def release(racers: list[subprocess.Popen]) -> list[tuple[int, str, str]]:
    """Press Enter for each, one after the other; (status, stdout, stderr) of each."""
    results = []
    for racer in racers:
        out, err = racer.communicate("\n", timeout=TIMEOUT)
        results.append((racer.returncode, out, err))
    return results


@pytest.mark.parametrize("count", [2, 4])
def test_the_book_way_crashes_all_but_one_once_all_have_looked(tmp_path, count):
    racers = start_racers(tmp_path / "race", count)
    results = release(racers)
    created = [r for r in results if r[0] == 0 and "created 'race'" in r[1]]
    crashed = [
        r for r in results if r[0] == 1 and r[2].strip().endswith("FileExistsError: [Errno 17] File exists")
    ]
    assert len(created) == 1 and len(crashed) == count - 1, results
    assert (tmp_path / "race").is_fifo()


@pytest.mark.parametrize("count", [2, 4])
def test_the_recipe_never_crashes_once_all_are_ready(tmp_path, count):
    racers = start_racers(tmp_path / "race", count, "--safe")
    results = release(racers)
    assert all(status == 0 and not err for status, _, err in results), results
    outs = [out for _, out, _ in results]
    assert sum("created 'race'" in out for out in outs) == 1
    assert sum("was already there, a FIFO: using it" in out for out in outs) == count - 1


@pytest.mark.parametrize("kind", ["regular file", "dangling link", "link to a FIFO"])
def test_the_recipe_refuses_what_is_not_a_fifo_and_leaves_it(tmp_path, kind):
    path = tmp_path / "my_pipe"
    if kind == "regular file":
        path.write_text("keep me")
    elif kind == "dangling link":
        path.symlink_to("no-such-target")
    else:
        os.mkfifo(tmp_path / "real")
        path.symlink_to(tmp_path / "real")
    before = os.lstat(path)
    [status, out, err] = release(start_racers(path, 1, "--safe"))[0]
    assert status == 1 and err.strip().endswith("exists and is not a FIFO; left it alone"), (out, err)
    after = os.lstat(path)
    assert (after.st_mode, after.st_ino, after.st_size) == (before.st_mode, before.st_ino, before.st_size)
    if kind == "regular file":
        assert path.read_text() == "keep me"


# The book's two lines and the recipe at full speed, with no pause: RACERS processes are
# forked by one small program, line up behind a pipe (end of file arrives when the last one
# has closed its copy of the write end, which wakes all of them at once), then each creates
# ROUNDS FIFOs one after the other.  A racer stops at its first crash.
FREE_RUNNING = textwrap.dedent("""
    import os, stat, sys
    directory, style, racers, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    gate = os.pipe()

    def create(path):
        if style == "book":
            if not os.path.exists(path):
                os.mkfifo(path)
        else:
            try:
                os.mkfifo(path, 0o600)
            except FileExistsError:
                if not stat.S_ISFIFO(os.lstat(path).st_mode):
                    raise

    for _ in range(racers):
        if os.fork() == 0:
            os.close(gate[1])
            os.read(gate[0], 1)  # end of file once every racer has arrived
            try:
                for n in range(rounds):
                    create(os.path.join(directory, f"fifo-{n}"))
            except FileExistsError:
                os._exit(1)
            os._exit(0)
    os.close(gate[0])
    os.close(gate[1])
    crashed = 0
    for _ in range(racers):
        crashed += os.waitstatus_to_exitcode(os.wait()[1]) != 0
    print(crashed)
""")


def free_race(directory: Path, style: str, racers: int = 8, rounds: int = 50) -> int:
    """How many of RACERS processes crashed creating ROUNDS FIFOs each in DIRECTORY."""
    directory.mkdir()
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", FREE_RUNNING, str(directory), style, str(racers), str(rounds)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def test_the_book_way_crashes_without_any_pause(tmp_path):
    """The gap is microseconds wide, yet processes started together fall into it."""
    for attempt in range(50):
        if free_race(tmp_path / f"round-{attempt}", "book"):
            return
    pytest.fail("50 rounds of 8 processes x 50 FIFOs each, the book's way, and not one crash")


def test_the_recipe_never_crashes_without_any_pause(tmp_path):
    for attempt in range(10):
        assert free_race(tmp_path / f"round-{attempt}", "recipe") == 0


def test_the_script_ends_itself(tmp_path):
    """A racer nobody releases is gone when its alarm rings (60 s; shortened to 1 s here)."""
    code = (
        "import runpy, signal, sys; real = signal.alarm; signal.alarm = lambda s: real(1); "
        f"sys.argv = ['check_then_create.py', {str(tmp_path / 'p')!r}]; runpy.run_path({str(SCRIPT)!r})"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        assert child.wait(timeout=10) == -signal.SIGALRM
    finally:
        child.kill()
        child.wait()
        child.stdin.close()


def test_the_script_is_standard_library_only_and_short():
    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert imported <= set(sys.stdlib_module_names) and "ipc_helpers" not in imported
    assert len(SCRIPT.read_text(encoding="utf-8").splitlines()) < 70
    assert os.access(SCRIPT, os.X_OK) and SCRIPT.read_text().startswith("#!/usr/bin/env python3\n")
