"""Chapter 07's claims, checked with the kernel directly: capacity, resizing, PIPE_BUF, SIGPIPE."""

from __future__ import annotations

import errno
import fcntl
import itertools
import os
import select
import signal
import subprocess
import sys

import pytest

from ipc_helpers import start_peer

linux = pytest.mark.skipif(sys.platform != "linux", reason="F_GETPIPE_SZ and F_SETPIPE_SZ are Linux-only")
four_k_pages = pytest.mark.skipif(os.sysconf("SC_PAGE_SIZE") != 4096, reason="numbers for 4 KiB pages")


def both_ends(path):
    r = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    w = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    return r, w


def fill(fd, size):
    written = 0
    try:
        while True:
            written += os.write(fd, b"x" * size)
    except BlockingIOError:
        return written


@linux
@four_k_pages
def test_capacity_and_the_page_rounding_of_small_writes(tmp_path):
    os.mkfifo(tmp_path / "f")
    r, w = both_ends(tmp_path / "f")
    try:
        assert fcntl.fcntl(w, fcntl.F_GETPIPE_SZ) == 65536
        assert fill(w, 1024) == 65536
        assert len(os.read(r, 100_000)) == 65536
        assert fill(w, 100) == 64000
        assert os.stat(tmp_path / "f").st_size == 0
    finally:
        os.close(w)
        os.close(r)


@linux
@four_k_pages
def test_resizing_rounds_up_refuses_to_lose_bytes_and_ends_with_the_pipe(tmp_path):
    os.mkfifo(tmp_path / "f")
    r, w = both_ends(tmp_path / "f")
    try:
        got = [fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, n) for n in (1, 10_000, 100_000)]
        assert got == [4096, 16384, 131072]
        os.write(w, b"y" * 30_000)
        with pytest.raises(OSError) as busy:
            fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
        assert busy.value.errno == errno.EBUSY
        assert len(os.read(r, 100_000)) == 30_000
    finally:
        os.close(w)
        os.close(r)
    r, w = both_ends(tmp_path / "f")
    try:
        assert fcntl.fcntl(w, fcntl.F_GETPIPE_SZ) == 65536, "a new pipe, the default size"
    finally:
        os.close(w)
        os.close(r)


def writers_at_once(fifo, size, count, letters="ABCD"):
    """As chapter 07's four_writers: returns the bytes received and the writers' exit statuses."""
    r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    writers = [start_peer("record_writer.py", fifo, letter, size, count) for letter in letters]
    try:
        for writer in writers:
            assert writer.stdout.readline() == f"{writer.args[-3]}: opened\n"
        os.set_blocking(r, True)
        data = b"".join(iter(lambda: os.read(r, 65536), b""))
    finally:
        os.close(r)
        for writer in writers:
            with writer:
                pass
    return data, [writer.returncode for writer in writers]


def cut_records(data, size):
    return sum(1 for _, group in itertools.groupby(data) if len(list(group)) % size)


@pytest.mark.parametrize("writers", ["ABCD", "ABCDEFGH"])
def test_writes_of_pipe_buf_bytes_are_never_cut(tmp_path, writers):
    os.mkfifo(tmp_path / "f")
    for _ in range(3):
        data, statuses = writers_at_once(tmp_path / "f", select.PIPE_BUF, 200, writers)
        assert statuses == [0] * len(writers)
        assert len(data) == len(writers) * 200 * select.PIPE_BUF
        assert cut_records(data, select.PIPE_BUF) == 0


def test_writes_larger_than_the_pipe_get_cut_by_other_writers(tmp_path):
    os.mkfifo(tmp_path / "f")
    for _ in range(5):  # mixing depends on timing: on a very busy machine one round may not mix
        data, statuses = writers_at_once(tmp_path / "f", 100_000, 10)
        assert statuses == [0] * 4 and len(data) == 4_000_000
        if cut_records(data, 100_000):
            return
    pytest.fail("no record larger than the pipe was ever cut in 5 rounds")


def test_record_writer_refuses_a_regular_file(tmp_path):
    victim = tmp_path / "notes"
    victim.write_text("keep me")
    with start_peer("record_writer.py", victim, "A", 10, 1) as writer:
        out, err = writer.communicate(timeout=10)
    assert writer.returncode == 1 and "is not a FIFO; leaving it alone" in err
    assert victim.read_text() == "keep me"


def reader_leaves(fifo, argv):
    r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    w = os.open(fifo, os.O_WRONLY)
    with subprocess.Popen(argv, stdout=w, stderr=subprocess.PIPE, text=True) as program:
        os.close(w)
        os.set_blocking(r, True)
        assert os.read(r, 2)
        os.close(r)
        err = program.communicate(timeout=10)[1]
    return program.returncode, err


def test_a_c_program_dies_of_sigpipe_and_python_gets_broken_pipe_error(tmp_path):
    os.mkfifo(tmp_path / "f")
    assert reader_leaves(tmp_path / "f", ["yes"]) == (-signal.SIGPIPE, "")
    python_yes = [sys.executable, "-c", "import os\nwhile True: os.write(1, b'y')"]
    status, err = reader_leaves(tmp_path / "f", python_yes)
    assert status == 1 and err.strip().splitlines()[-1] == "BrokenPipeError: [Errno 32] Broken pipe"


def test_unread_bytes_are_gone_when_the_last_descriptor_closes(tmp_path):
    os.mkfifo(tmp_path / "f")
    r, w = both_ends(tmp_path / "f")
    os.write(w, b"a message nobody reads")
    os.close(w)
    os.close(r)
    r = os.open(tmp_path / "f", os.O_RDONLY | os.O_NONBLOCK)
    try:
        assert os.read(r, 100) == b""
    finally:
        os.close(r)
