"""Unit tests for ipc_helpers.book (chapters 03 and 06)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipc_helpers import FifoTimeoutError, PeerError, book, launch_writer, make_fifo
from ipc_helpers.book import (
    hide_pids,
    mkfifo_race,
    run_program,
    wait_for_path,
    wait_until_blocked_in_open,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (not on Windows)")
linux_only = pytest.mark.skipif(not os.path.exists("/proc/self/wchan"), reason="needs /proc/<pid>/wchan")


# --- mkfifo_race -------------------------------------------------------------


def test_book_style_in_lockstep_crashes_all_but_one(tmp_path):
    result = mkfifo_race(tmp_path / "p", processes=5, style="book", lockstep=True)
    assert result == {"created it": 1, "crashed (FileExistsError)": 4}
    assert (tmp_path / "p").is_fifo()


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("try-except", {"created it": 1, "reused the existing FIFO": 4}),
        ("make_fifo", {"make_fifo returned": 5}),
    ],
)
def test_race_free_styles_in_lockstep_all_succeed(tmp_path, style, expected):
    assert mkfifo_race(tmp_path / "p", processes=5, style=style, lockstep=True) == expected
    assert (tmp_path / "p").is_fifo()


@pytest.mark.parametrize("style", ["try-except", "make_fifo"])
def test_race_free_styles_never_crash_when_free(tmp_path, style):
    result = mkfifo_race(tmp_path / "p", processes=4, style=style, repeat=50)
    assert result == {"finished without error": 4}
    assert sorted(os.listdir(tmp_path)) == sorted(f"p.{i}" for i in range(50))


def test_book_style_crashes_for_real_within_a_few_rounds(tmp_path):
    crashed = 0
    for round_number in range(50):
        result = mkfifo_race(tmp_path / f"r{round_number}", processes=8, style="book", repeat=50)
        assert sum(result.values()) == 8
        assert set(result) <= {"finished without error", "crashed (FileExistsError)"}
        crashed = result["crashed (FileExistsError)"]
        if crashed:
            break
    assert crashed > 0


def test_book_style_sees_an_existing_fifo_and_does_nothing(tmp_path):
    make_fifo(tmp_path / "p")
    assert mkfifo_race(tmp_path / "p", processes=3, style="book") == {"found it, did nothing": 3}


def test_on_a_regular_file_the_book_style_goes_ahead_and_try_except_refuses(tmp_path):
    (tmp_path / "p").write_text("x")
    assert mkfifo_race(tmp_path / "p", processes=2, style="book") == {"found it, did nothing": 2}
    assert mkfifo_race(tmp_path / "p", processes=2, style="try-except") == {"crashed (FileExistsError)": 2}
    assert (tmp_path / "p").read_text() == "x"


def test_nothing_but_the_fifos_is_created(tmp_path):
    mkfifo_race(tmp_path / "p", processes=2, style="book", lockstep=True)
    assert os.listdir(tmp_path) == ["p"]
    mkfifo_race(tmp_path / "q", processes=2, style="try-except", repeat=3)
    assert sorted(os.listdir(tmp_path)) == ["p", "q.0", "q.1", "q.2"]


def test_many_racers_are_cheap_and_all_report(tmp_path):
    start = time.monotonic()
    result = mkfifo_race(tmp_path / "p", processes=32, style="book", lockstep=True)
    assert result == {"created it": 1, "crashed (FileExistsError)": 31}
    assert time.monotonic() - start < 10  # one Python start, then forks (about 0.05 s here)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="style"):
        mkfifo_race(tmp_path / "p", style="nope")
    with pytest.raises(ValueError, match="repeat"):
        mkfifo_race(tmp_path / "p", repeat=2, lockstep=True)
    with pytest.raises(ValueError, match="repeat"):
        mkfifo_race(tmp_path / "p", repeat=0)
    with pytest.raises(ValueError, match="processes"):
        mkfifo_race(tmp_path / "p", processes=0)
    assert os.listdir(tmp_path) == []


def test_missing_directory_is_an_error_not_a_hang(tmp_path):
    with pytest.raises(FileNotFoundError):
        mkfifo_race(tmp_path / "no" / "p", processes=2)


def test_racers_that_run_out_of_time_count_as_timed_out(tmp_path, monkeypatch):
    # A stand-in race program: one racer reports, two hang until their alarm kills them.
    hanging = """
import os, signal, sys, time
lifetime = int(sys.argv[4])
for i in range(3):
    if os.fork() == 0:
        signal.alarm(lifetime)
        if i == 0:
            os.write(1, b"created it\\n")
        else:
            time.sleep(60)
        os._exit(0)
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
"""
    monkeypatch.setattr(book, "RACE_PROGRAM", hanging)
    start = time.monotonic()
    assert mkfifo_race(tmp_path / "p", processes=3, timeout=0.5) == {"created it": 1, "timed out": 2}
    assert 0.9 <= time.monotonic() - start < 10  # the racers' alarm: 0.5 s rounded up to 1 s


def test_a_race_program_that_hangs_is_killed(tmp_path, monkeypatch):
    monkeypatch.setattr(book, "RACE_PROGRAM", "import time; time.sleep(60)")
    start = time.monotonic()
    assert mkfifo_race(tmp_path / "p", processes=2, timeout=0.5) == {"timed out": 2}
    assert time.monotonic() - start < 10


def test_a_failing_race_program_raises(tmp_path, monkeypatch):
    monkeypatch.setattr(book, "RACE_PROGRAM", "import sys; sys.exit('boom: it broke')")
    with pytest.raises(RuntimeError, match="boom: it broke"):
        mkfifo_race(tmp_path / "p", processes=2)


# --- waiting -------------------------------------------------------------------


def test_wait_for_path(tmp_path):
    os.symlink("nowhere", tmp_path / "link")
    assert wait_for_path(tmp_path / "link", timeout=1)
    start = time.monotonic()
    assert not wait_for_path(tmp_path / "missing", timeout=0.3)
    assert 0.25 <= time.monotonic() - start < 5


@linux_only
def test_wait_until_blocked_in_open_sees_a_waiting_writer(tmp_path):
    fifo = make_fifo(tmp_path / "f")
    with launch_writer(fifo, b"x") as writer:
        assert wait_until_blocked_in_open(writer.pid, timeout=20)


@linux_only
def test_wait_until_blocked_in_open_is_false_for_other_sleeps_and_for_the_dead():
    argv = [sys.executable, "-c", "import time; time.sleep(30)"]
    sleeper = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    try:
        start = time.monotonic()
        assert not wait_until_blocked_in_open(sleeper.pid, timeout=0.5)
        assert time.monotonic() - start < 5
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not wait_until_blocked_in_open(sleeper.pid, timeout=5)


# --- run_program -----------------------------------------------------------------

SCRIPTS = Path(__file__).resolve().parent.parent / "notebooks" / "scripts"


def test_run_program_starts_python_without_site_in_the_given_directory(tmp_path):
    script = tmp_path / "where.py"
    script.write_text("import os, sys\nprint(sys.flags.no_site, os.getcwd())\n")
    with run_program(script, cwd=tmp_path) as program:
        assert program.wait(timeout=20) == 0
    assert program.stdout.split() == ["1", str(tmp_path.resolve())]


def test_run_program_passes_arguments_and_captures_stderr(tmp_path):
    with run_program(SCRIPTS / "read_from_named_pipe.py", "/", cwd=tmp_path) as program:
        assert program.wait(timeout=20) == 1
    assert program.stdout == ""
    assert program.stderr == (
        "read_from_named_pipe.py: '/' exists and is not a FIFO (named pipe); left it untouched\n"
    )


@linux_only
def test_run_program_names_the_script_in_errors(tmp_path):
    with run_program(SCRIPTS / "write_to_named_pipe.py", cwd=tmp_path) as writer:
        assert writer.wait_until_blocked("open", timeout=20) == "open"
        with pytest.raises(FifoTimeoutError, match="write_to_named_pipe.py process was not blocked in read"):
            writer.wait_until_blocked("read", timeout=0.1)
    with run_program(tmp_path / "missing.py", cwd=tmp_path) as broken:
        with pytest.raises(PeerError, match="missing.py process exited before it blocked"):
            broken.wait_until_blocked(timeout=20)


# --- hide_pids -----------------------------------------------------------------


def test_hide_pids_replaces_roles():
    line = "I pid [4242] received a message => Hello from pid [17]"
    assert hide_pids(line, reader=4242, writer=17) == (
        "I pid [<reader pid>] received a message => Hello from pid [<writer pid>]"
    )
    assert hide_pids("Hello from pid [5]", first_writer=5) == "Hello from pid [<first writer pid>]"
    assert hide_pids("no numbers here", reader=1) == "no numbers here"


def test_hide_pids_rejects_a_pid_of_nobody_known():
    with pytest.raises(ValueError, match="99"):
        hide_pids("I pid [4242] received a message => Hello from pid [99]", reader=4242, writer=17)
