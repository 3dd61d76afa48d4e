"""Unit tests for ipc_helpers.servers (chapter 08)."""

from __future__ import annotations

import contextlib
import errno
import os
import select
import subprocess
import sys
import time

import pytest

from ipc_helpers import FifoTimeoutError, framing, make_fifo, open_fifo, servers
from ipc_helpers.framing import recv_frame, send_frame
from ipc_helpers.servers import (
    HEADER,
    REPLY,
    REQUEST,
    client_fifo,
    launch_echo_server,
    launch_seqnum_client,
    launch_seqnum_server,
    numbers_received,
    poll_names,
    read_exactly,
)

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (not on Windows)")


def test_poll_names():
    assert poll_names([]) == "nothing (timed out)"
    assert poll_names([(3, select.POLLIN)]) == "POLLIN"
    assert poll_names([(3, select.POLLIN | select.POLLHUP)]) == "POLLIN|POLLHUP"
    assert poll_names([(3, select.POLLHUP), (4, select.POLLERR)]) == "POLLERR|POLLHUP"


def test_client_fifo_is_next_to_the_server_fifo(tmp_path):
    assert client_fifo(tmp_path / "seqnum", 42) == str(tmp_path / "client-42")


def test_message_formats_fit_in_pipe_buf():
    assert REQUEST.size == 8 and REPLY.size == 4
    assert REQUEST.size <= 512  # atomic even on macOS


def test_the_programs_speak_the_framing_of_chapter_05():
    assert HEADER.format == framing.HEADER.format
    assert HEADER.pack(3) + b"abc" == framing.frame(b"abc")


def test_read_exactly_loops_over_short_reads_and_stops_at_end_of_file():
    r, w = os.pipe()
    try:
        os.write(w, b"ab")
        os.write(w, b"cde")
        assert read_exactly(r, 4) == b"abcd"
        os.close(w)
        w = None
        assert read_exactly(r, 4) == b"e"  # end of file: fewer
        assert read_exactly(r, 4) == b""
    finally:
        os.close(r)
        if w is not None:
            os.close(w)


def test_the_programs_start_without_site_packages_or_the_package():
    # -I -S: no site-packages, so `import ipc_helpers` would fail; the file must run on its own.
    argv = [sys.executable, "-I", "-S", servers.__file__, "no-such-program"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert done.stderr.strip() == "unknown command 'no-such-program'"


def test_launchers_reject_unknown_modes(tmp_path):
    with pytest.raises(ValueError):
        launch_seqnum_server(tmp_path / "s", requests=1, mode="fast")
    with pytest.raises(ValueError):
        launch_seqnum_client(tmp_path / "s", 1, mode="polite")


def test_echo_server_answers_in_order_and_exits_at_eof(tmp_path):
    req, rep = make_fifo(tmp_path / "req"), make_fifo(tmp_path / "rep")
    with launch_echo_server(req, rep) as server:
        to_server = open_fifo(req, "w", timeout=10)
        from_server = open_fifo(rep, "r", timeout=10)
        try:
            for i, text in enumerate(["a", "bc", "你好"], 1):
                send_frame(to_server, text.encode())
                assert recv_frame(from_server).decode() == f"echo #{i}: {text.upper()}"
            os.close(to_server)
            to_server = None
            assert recv_frame(from_server) is None
        finally:
            os.close(from_server)
            if to_server is not None:
                os.close(to_server)
        assert server.wait(10) == 0
    assert "after 3 messages" in server.stdout


def test_echo_server_opened_in_the_wrong_order_times_out(tmp_path):
    req, rep = make_fifo(tmp_path / "req"), make_fifo(tmp_path / "rep")
    with launch_echo_server(req, rep) as server:
        assert server.wait_until_blocked("open") == "open"  # in its first open, of `req`
        with pytest.raises(FifoTimeoutError):
            open_fifo(rep, "r", timeout=0.2)
        assert server.running
    assert not server.running
    assert server.stdout == "[server] opening the request FIFO for reading\n"


def _serve(server_fifo, wanted, mode):
    with launch_seqnum_server(server_fifo, requests=len(wanted), mode=mode) as server:
        with contextlib.ExitStack() as stack:
            clients = [stack.enter_context(launch_seqnum_client(server_fifo, n, mode=mode)) for n in wanted]
            for client in clients:
                client.check(timeout=20)
        server.check(timeout=10)
    return [numbers_received(c, n) for c, n in zip(clients, wanted, strict=True)]


@pytest.mark.parametrize("mode", ["naive", "safe"])
def test_seqnum_numbers_are_unique_and_contiguous(tmp_path, mode):
    server_fifo = make_fifo(tmp_path / "seqnum")
    wanted = [2, 1, 3, 1]
    got = _serve(server_fifo, wanted, mode)
    numbers = sorted(n for r in got for n in r)
    assert numbers == list(range(sum(wanted)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seqnum"]  # clients removed their FIFOs


def test_naive_server_is_stuck_after_a_vanished_client(tmp_path):
    server_fifo = make_fifo(tmp_path / "seqnum")
    with launch_seqnum_server(server_fifo, requests=2, mode="naive") as server:
        with launch_seqnum_client(server_fifo, 1, mode="vanish") as ghost:
            assert ghost.wait(10) == 0
        with launch_seqnum_client(server_fifo, 1, mode="naive") as client:
            assert server.wait_until_blocked("open") == "open"  # the ghost's FIFO: forever
            assert client.wait_until_blocked("open") == "open"  # its own FIFO: forever too
            assert client.running
        assert server.running
    assert server.stdout.strip().splitlines()[-1] == "[server] opening the client's FIFO to reply"
    assert client.stdout == ""  # never got a number


def test_safe_server_skips_a_vanished_client_and_goes_on(tmp_path):
    server_fifo = make_fifo(tmp_path / "seqnum")
    with launch_seqnum_server(server_fifo, requests=2, mode="safe") as server:
        with launch_seqnum_client(server_fifo, 1, mode="vanish") as ghost:
            assert ghost.wait(10) == 0
        with launch_seqnum_client(server_fifo, 5) as client:
            client.check(timeout=10)
        assert server.wait(10) == 0
    assert numbers_received(client, 5) == range(0, 5)
    assert "(ENXIO): request skipped" in server.stdout


def test_safe_server_skips_a_client_whose_fifo_is_gone(tmp_path):
    server_fifo = make_fifo(tmp_path / "seqnum")
    with launch_seqnum_server(server_fifo, requests=1, mode="safe") as server:
        fd = open_fifo(server_fifo, "w", timeout=10)
        try:
            os.write(fd, REQUEST.pack(999_999, 1))  # no FIFO client-999999 exists
        finally:
            os.close(fd)
        assert server.wait(10) == 0
    assert "(ENOENT): request skipped" in server.stdout


def test_late_client_is_skipped_by_the_safe_server(tmp_path):
    server_fifo = make_fifo(tmp_path / "seqnum")
    with launch_seqnum_server(server_fifo, requests=1, mode="safe") as server:
        with launch_seqnum_client(server_fifo, 1, mode="late") as client:
            assert server.wait(10) == 0
            assert client.wait_until_blocked("open") == "open"  # a reply that never comes
        assert client.stdout == ""
    assert "(ENXIO): request skipped" in server.stdout


def test_late_client_opens_its_fifo_only_after_the_server_has_exited(tmp_path):
    server_fifo = make_fifo(tmp_path / "seqnum")
    with launch_seqnum_server(server_fifo, requests=2, mode="safe") as server:
        with launch_seqnum_client(server_fifo, 1, mode="late") as late:
            deadline = time.monotonic() + 10
            while "request skipped" not in server.stdout:  # the server has given up on it...
                assert time.monotonic() < deadline, server.stdout
                time.sleep(0.001)
            assert server.wait_until_blocked("read") == "read"  # ...and waits for request 2
            with pytest.raises(OSError) as info:  # no reader: the late client has not opened it yet
                os.open(client_fifo(server_fifo, late.pid), os.O_WRONLY | os.O_NONBLOCK)
            assert info.value.errno == errno.ENXIO
            with launch_seqnum_client(server_fifo, 1) as other:  # request 2: then the server exits
                other.check(timeout=10)
            assert server.wait(10) == 0
            assert late.wait_until_blocked("open") == "open"  # only now, too late
            assert late.stdout == ""
    assert numbers_received(other, 1) == range(0, 1)


def test_numbers_received_without_reply_raises():
    class Fake:
        stdout = "[client] the server closed without replying\n"

    with pytest.raises(ValueError):
        numbers_received(Fake(), 1)  # type: ignore[arg-type]
