"""Unit tests for ipc_helpers.capacity (chapter 07)."""

from __future__ import annotations

import errno
import os
import select
import shutil
import sys

import pytest

from ipc_helpers import FifoTimeoutError, PeerError, launch_writer, make_fifo, open_fifo, read_all
from ipc_helpers.capacity import (
    HAS_PIPE_SIZE,
    RECORD_WRITER_PROGRAM,
    SET_SIZE_PROGRAM,
    RecordWriters,
    both_ends,
    bytes_waiting,
    check_records,
    fill,
    pipe_size,
    reader_leaves_early,
    run_lengths,
    set_pipe_size,
    set_size_as_unprivileged,
    signal_name,
    wait_for_writes,
)
from ipc_helpers.framing import read_exactly

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (not on Windows)")
linux_only = pytest.mark.skipif(not HAS_PIPE_SIZE, reason="F_GETPIPE_SZ is Linux-only")


@pytest.fixture
def fifo(tmp_path):
    return make_fifo(tmp_path / "f")


def test_both_ends_opens_without_blocking_and_closes(fifo):
    with both_ends(fifo) as (r, w):
        assert not os.get_blocking(r) and not os.get_blocking(w)
        os.write(w, b"abc")
        assert os.read(r, 10) == b"abc"
    for fd in (r, w):
        with pytest.raises(OSError):
            os.fstat(fd)


def test_fill_stops_at_a_full_pipe_and_counts_bytes(fifo):
    with both_ends(fifo) as (r, w):
        n = fill(w, b"x" * 1000)
        assert n > 0 and bytes_waiting(r) == n
        with pytest.raises(BlockingIOError):
            os.write(w, b"x" * 1000)


def test_fill_refuses_a_blocking_descriptor(fifo):
    with both_ends(fifo) as (r, w):
        os.set_blocking(w, True)
        with pytest.raises(ValueError):
            fill(w, b"x")


def test_bytes_waiting_counts_unread_bytes(fifo):
    with both_ends(fifo) as (r, w):
        assert bytes_waiting(r) == 0
        os.write(w, b"12345")
        assert bytes_waiting(r) == 5
        os.read(r, 2)
        assert bytes_waiting(r) == 3


@linux_only
def test_pipe_size_default_and_rounding(fifo):
    with both_ends(fifo) as (r, w):
        assert pipe_size(r) == 65536
        assert fill(w, b"x") == 65536
    with both_ends(fifo) as (r, w):
        assert set_pipe_size(w, 1) == os.sysconf("SC_PAGE_SIZE")
        assert set_pipe_size(w, 10000) == 16384
        assert set_pipe_size(w, 100000) == 131072
        assert pipe_size(r) == 131072


@linux_only
def test_set_pipe_size_refuses_to_shrink_below_content(fifo):
    with both_ends(fifo) as (r, w):
        os.write(w, b"y" * 30000)
        with pytest.raises(OSError) as info:
            set_pipe_size(w, 4096)
        assert info.value.errno == errno.EBUSY
        assert bytes_waiting(r) == 30000


@linux_only
def test_unprivileged_limit():
    with open("/proc/sys/fs/pipe-max-size") as f:
        limit = int(f.read())
    assert set_size_as_unprivileged(limit) == str(limit)
    assert set_size_as_unprivileged(limit + 1) == "EPERM"


@linux_only
def test_a_writer_on_a_full_pipe_returns_one_write_per_chunk_read(fifo):
    # What chapter 07, section 3 shows: 4 chunks of 16 KiB fill the pipe, then one per read.
    chunk = 16384
    with launch_writer(fifo, b"w" * (6 * chunk), parts=[chunk] * 6) as writer:
        fd = open_fifo(fifo, "r", timeout=10)
        try:
            assert writer.wait_until_blocked("write") == "write"
            assert bytes_waiting(fd) == 4 * chunk
            assert len(wait_for_writes(writer, 4)) == 4
            for done in (5, 6):
                read_exactly(fd, chunk)
                assert len(wait_for_writes(writer, done)) == done
                assert bytes_waiting(fd) == 4 * chunk  # full again
            assert len(read_all(fd, timeout=10)) == 4 * chunk
        finally:
            os.close(fd)
        writer.check(timeout=10)
    assert [e["bytes"] for e in wait_for_writes(writer, 6)] == [chunk] * 6


def test_wait_for_writes_times_out_while_the_writer_waits_in_open(fifo):
    with launch_writer(fifo, "never sent") as writer:  # nobody opens the read end
        with pytest.raises(FifoTimeoutError):
            wait_for_writes(writer, 1, timeout=0.2)
        assert writer.running


def test_wait_for_writes_raises_peer_error_when_the_writer_exits_first(fifo):
    with launch_writer(fifo, "one part") as writer:
        fd = open_fifo(fifo, "r", timeout=10)
        try:
            with pytest.raises(PeerError):
                wait_for_writes(writer, 2, timeout=10)  # it makes only one write
        finally:
            os.close(fd)
    assert writer.returncode == 0


def test_run_lengths():
    assert run_lengths(b"") == []
    assert run_lengths(b"AABCC") == [2, 1, 2]
    assert run_lengths(b"\n\n]]\\^^^--x") == [2, 2, 1, 3, 2, 1]  # bytes special in a regex class
    assert run_lengths(b"Z" * 100000) == [100000]


def test_check_records_finds_whole_and_broken_records():
    whole = b"A" * 8 + b"B" * 4 + b"A" * 4
    assert check_records(whole, 4) == check_records(whole, 4)
    r = check_records(whole, 4)
    assert (r.records, r.broken, r.switches) == (4, 0, 2)
    broken = b"A" * 2 + b"B" * 4 + b"A" * 2
    r = check_records(broken, 4)
    assert (r.records, r.broken, r.switches) == (2, 2, 2)
    assert check_records(b"", 4).broken == 0


def _run_writers(fifo, size, count, writers=3):
    with RecordWriters(fifo, writers=writers, size=size, count=count) as team:
        fd = open_fifo(fifo, "r", timeout=10)
        try:
            team.go(timeout=20)
            data = read_all(fd, timeout=40)
        finally:
            os.close(fd)
        assert team.wait(timeout=10) == [0] * writers
    return data


def test_record_writers_small_records_never_break(fifo):
    data = _run_writers(fifo, select.PIPE_BUF, 50)
    assert len(data) == 3 * 50 * select.PIPE_BUF
    assert sorted(set(data)) == [ord("A"), ord("B"), ord("C")]
    assert check_records(data, select.PIPE_BUF).broken == 0


def test_record_writers_huge_records_break_within_a_few_rounds(fifo):
    assert any(check_records(_run_writers(fifo, 100000, 10, writers=4), 100000).broken for _ in range(5))


def test_child_programs_use_only_the_standard_library():
    # They run with -I -S (no site-packages): an import of ipc_helpers would fail there.
    for program in (SET_SIZE_PROGRAM, RECORD_WRITER_PROGRAM):
        assert "ipc_helpers" not in program
        compile(program, "<program>", "exec")


def test_record_writers_go_times_out_without_a_reader(fifo):
    with RecordWriters(fifo, writers=2, size=16, count=1) as team:
        with pytest.raises(FifoTimeoutError):
            team.go(timeout=0.2)  # nobody opened the read end: the writers wait in open()
    # leaving the block killed and reaped them


@pytest.mark.skipif(shutil.which("yes") is None, reason="needs the yes program")
def test_yes_dies_of_sigpipe_unless_signals_stay_ignored(fifo):
    result = reader_leaves_early(["yes"], fifo, take=5)
    assert result.received == b"y\ny\ny" and result.returncode == -13 and result.stderr == ""
    result = reader_leaves_early(["yes"], fifo, take=5, restore_signals=False)
    assert result.returncode == 1 and "Broken pipe" in result.stderr


def test_python_child_gets_broken_pipe_error(fifo):
    argv = [sys.executable, "-c", "import os\nwhile True:\n    os.write(1, b'y\\n')"]
    result = reader_leaves_early(argv, fifo, take=3)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("BrokenPipeError")


def test_reader_leaves_early_times_out_and_kills(fifo):
    # sleep never writes and never exits by itself
    with pytest.raises(FifoTimeoutError):
        reader_leaves_early([sys.executable, "-c", "import time; time.sleep(30)"], fifo, take=1, timeout=0.2)


def test_signal_name():
    assert signal_name(-13) == "killed by SIGPIPE"
    assert signal_name(1) == "exit status 1"
    assert signal_name(0) == "exit status 0"
