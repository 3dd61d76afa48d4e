"""Chapter 08's claims about a FIFO that outlives its writers, checked with the kernel directly.

End of file repeats at once once the last writer has left, and a new writer can still come; poll
reports a sticky POLLHUP that a connected writer (a dummy, or O_RDWR) clears; fixed-size requests of
8 bytes fit PIPE_BUF.  Waits are caused, not slept: a writer that has exited has surely written.
"""

from __future__ import annotations

import os
import select
import struct
import subprocess
import sys
import textwrap
import time

import pytest

from ipc_helpers import start_writer

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux's poll semantics for FIFOs")


def test_end_of_file_comes_at_once_and_again_but_a_new_writer_still_gets_through(tmp_path):
    fifo = tmp_path / "inbox"
    os.mkfifo(fifo)
    with start_writer(fifo, "request from A") as writer:
        fd = os.open(fifo, os.O_RDONLY)
        try:
            assert os.read(fd, 100) == b"request from A"
            assert writer.wait(timeout=10) == 0
            start = time.monotonic()
            assert [os.read(fd, 100) for _ in range(100)] == [b""] * 100
            assert time.monotonic() - start < 1, "a read after end of file must not wait"
            with start_writer(fifo, "request from B") as late:  # a reader exists: its open returns
                assert late.wait(timeout=10) == 0
            assert os.read(fd, 100) == b"request from B"
        finally:
            os.close(fd)


def test_closing_and_reopening_serves_writer_after_writer(tmp_path):
    fifo = tmp_path / "inbox"
    os.mkfifo(fifo)
    sessions = []
    for name in "ABC":
        with start_writer(fifo, f"request from {name}") as writer:
            fd = os.open(fifo, os.O_RDONLY)
            session = b""
            while data := os.read(fd, 100):
                session += data
            sessions.append(session)
            os.close(fd)
            assert writer.wait(timeout=10) == 0
    assert sessions == [b"request from A", b"request from B", b"request from C"]


def poll_once(poller, timeout_ms):
    events = poller.poll(timeout_ms)
    mask = 0
    for _, bits in events:
        mask |= bits
    return mask


def test_pollhup_only_after_a_writer_then_sticky_so_a_poll_loop_spins(tmp_path):
    fifo = tmp_path / "inbox"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        assert poll_once(poller, 0) == 0, "no POLLHUP before the FIFO has seen a writer"
        with start_writer(fifo, "hello") as writer:
            assert writer.wait(timeout=10) == 0
        assert poll_once(poller, 1000) == select.POLLIN | select.POLLHUP
        assert os.read(fd, 100) == b"hello"
        start = time.monotonic()
        masks = {poll_once(poller, 1000) for _ in range(1000)}
        assert masks == {select.POLLHUP}
        assert time.monotonic() - start < 1, "1000 polls allowed to wait 1 s each must all return at once"
        assert os.read(fd, 100) == b""
        assert select.select([fd], [], [], 1.0)[0] == [fd], "select calls it readable too"
    finally:
        os.close(fd)


def test_a_connected_writer_clears_pollhup_and_a_dummy_writer_lets_poll_wait(tmp_path):
    fifo = tmp_path / "inbox"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # a writer came and left
        assert poll_once(poller, 0) == select.POLLHUP
        dummy = os.open(fifo, os.O_WRONLY)  # does not wait: we are a reader
        try:
            start = time.monotonic()
            assert poll_once(poller, 300) == 0
            assert time.monotonic() - start >= 0.25, "poll waited its timeout"
            with start_writer(fifo, "request from B") as writer:
                assert poll_once(poller, 10_000) == select.POLLIN
                assert os.read(fd, 100) == b"request from B"
                assert writer.wait(timeout=10) == 0
            assert poll_once(poller, 300) == 0, "after the client left: no POLLHUP while the dummy stays"
        finally:
            os.close(dummy)
        assert poll_once(poller, 0) == select.POLLHUP, "the dummy was the last writer"
        assert os.read(fd, 100) == b""
    finally:
        os.close(fd)


def test_o_rdwr_opens_without_a_partner_and_never_sees_end_of_file(tmp_path):
    fifo = tmp_path / "inbox"
    os.mkfifo(fifo)
    code = f"""
        import os, select
        fd = os.open({os.fspath(fifo)!r}, os.O_RDWR)   # no other process has the FIFO open
        p = select.poll(); p.register(fd, select.POLLIN)
        print(p.poll(0))
    """
    # In a child with a timeout: a blocking open would hang the test otherwise.
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=10)
    assert result.stdout == "[]\n", result.stderr
    fd = os.open(fifo, os.O_RDWR)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        with start_writer(fifo, "request from C") as writer:
            assert writer.wait(timeout=10) == 0
        assert poll_once(poller, 1000) == select.POLLIN
        assert os.read(fd, 100) == b"request from C"
        assert poll_once(poller, 200) == 0
    finally:
        os.close(fd)


def test_the_request_format_of_the_chapter():
    request = struct.Struct("!II")
    assert request.size == 8 <= select.PIPE_BUF
    assert request.pack(3, 4242) == b"\x00\x00\x00\x03\x00\x00\x10\x92"
    assert struct.pack("!I", 256) == b"\x00\x00\x01\x00"
    # Half a request (a count of 2) followed by a request for 3 reads as: count 2, pid 3.
    assert request.unpack(request.pack(2, 999)[:4] + request.pack(3, 1234)[:4]) == (2, 3)
