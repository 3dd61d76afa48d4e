"""Unit tests for ipc_helpers.book (chapters 03 and 06)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from ipc_helpers import launch_writer, make_fifo
from ipc_helpers.book import hide_pids, mkfifo_race, wait_for_path, wait_until_blocked_in_open

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
    for round_number in range(20):
        result = mkfifo_race(tmp_path / f"r{round_number}", processes=8, style="book", repeat=100)
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


def test_the_starting_line_fifos_are_removed(tmp_path):
    mkfifo_race(tmp_path / "p", processes=2, style="book", lockstep=True)
    assert os.listdir(tmp_path) == ["p"]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="style"):
        mkfifo_race(tmp_path / "p", style="nope")
    with pytest.raises(ValueError, match="repeat"):
        mkfifo_race(tmp_path / "p", repeat=2, lockstep=True)
    with pytest.raises(ValueError, match="repeat"):
        mkfifo_race(tmp_path / "p", repeat=0)
    assert os.listdir(tmp_path) == []


def test_missing_directory_is_an_error_not_a_hang(tmp_path):
    with pytest.raises(FileNotFoundError):
        mkfifo_race(tmp_path / "no" / "p", processes=2)


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
