"""Chapter 04's claims, proven by cause and effect (and so under load too), and its script pingpong.py.

The notebook shows each claim once, with real processes and short sleeps that make waits
visible; these tests check that what it prints does not depend on those sleeps, by asking Linux
where a process waits (``/proc/PID/wchan``, via tests/support.py) instead of sleeping.
"""

from __future__ import annotations

import errno
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from support import blocked_in, wait_until_blocked

from ipc_helpers import start_peer, start_reader, start_writer
from ipc_helpers.peers import SCRIPTS

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "notebooks" / "04-opening-and-blocking.ipynb"

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux is the reference for these claims")


def notebook_function(name: str):
    """The function ``name`` exactly as chapter 04 defines it in a cell."""
    cells = json.loads(CHAPTER.read_text(encoding="utf-8"))["cells"]
    (source,) = [
        "".join(c["source"])
        for c in cells
        if c["cell_type"] == "code" and f"def {name}(" in "".join(c["source"])
    ]
    namespace = {"os": os, "select": select, "time": time}
    exec(source, namespace)
    return namespace[name]


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "meeting_point"
    os.mkfifo(path)
    return path


def test_reader_open_waits_in_the_kernel_until_a_writer_opens(fifo):
    with start_reader(fifo) as reader:
        assert wait_until_blocked(reader.pid, "open") == "open"
        time.sleep(0.2)
        assert blocked_in(reader.pid) == "open", "still waiting: nobody has opened for writing"
        fd = os.open(fifo, os.O_WRONLY)  # a reader is waiting: returns at once
        os.close(fd)
        out, _ = reader.communicate(timeout=10)
    assert out.splitlines()[-2:] == [
        f"reader pid [{reader.pid}]: read b'': end of file",
        f"reader pid [{reader.pid}]: closed",
    ]


def test_writer_open_waits_in_the_kernel_until_a_reader_opens(fifo):
    with start_writer(fifo, "hello") as writer:
        assert wait_until_blocked(writer.pid, "open") == "open"
        fd = os.open(fifo, os.O_RDONLY)
        try:
            assert b"".join(iter(lambda: os.read(fd, 100), b"")) == b"hello"
        finally:
            os.close(fd)
        writer.communicate(timeout=10)
    assert writer.returncode == 0


def test_clock_lines_of_a_writer_and_the_readers_times_line_up(fifo):
    """The timeline's premise: time.monotonic() in two processes is one clock."""
    with start_writer(fifo, "hello", delay=0.3, clock=True) as writer:
        before = time.monotonic()
        fd = os.open(fifo, os.O_RDONLY)
        opened = time.monotonic()
        os.close(fd)
        out, _ = writer.communicate(timeout=10)
    first = float(out.splitlines()[0].split(" at ")[1].split(" s:")[0])  # "opening ..." just before open()
    assert before - 0.0005 < first <= opened + 0.0005  # printed with 3 decimals: rounded by up to 0.5 ms


def test_nonblocking_writer_without_reader_gets_plain_oserror_enxio(fifo):
    with pytest.raises(OSError) as caught:
        os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    assert type(caught.value) is OSError and caught.value.errno == errno.ENXIO


def test_set_blocking_then_read_returns_eof_at_once_before_any_writer(fifo):
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        os.set_blocking(fd, True)
        start = time.monotonic()
        assert os.read(fd, 100) == b""
        assert time.monotonic() - start < 1
    finally:
        os.close(fd)


def test_poll_reports_nothing_before_the_first_writer_even_when_a_writer_only_opens(fifo):
    """Linux suppresses POLLHUP until a writer has been seen; a writer that opens without
    writing brings no POLLIN either; its close then brings POLLHUP (end of file)."""
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        assert poller.poll(100) == []
        w = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        assert poller.poll(100) == [], "a writer, but no bytes yet"
        os.close(w)
        assert poller.poll(100) == [(fd, select.POLLHUP)], "the writer came and went"
    finally:
        os.close(fd)


def test_open_for_reading_from_the_notebook_waits_for_a_late_writer(fifo):
    open_for_reading = notebook_function("open_for_reading")
    with start_writer(fifo, "Hello from the writer", delay=0.3) as writer:
        start = time.monotonic()
        fd = open_for_reading(fifo, timeout=10)
        try:
            assert time.monotonic() - start > 0.25, "it waited for the writer"
            assert os.get_blocking(fd)
            assert b"".join(iter(lambda: os.read(fd, 100), b"")) == b"Hello from the writer"
        finally:
            os.close(fd)
        writer.communicate(timeout=10)


def test_open_for_reading_from_the_notebook_times_out_and_closes_its_descriptor(fifo):
    open_for_reading = notebook_function("open_for_reading")
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(TimeoutError, match=r"no writer within 0.1 s"):
        open_for_reading(fifo, timeout=0.1)
    assert set(os.listdir("/proc/self/fd")) <= before
    with pytest.raises(OSError) as caught:  # and no reader was left behind
        os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    assert caught.value.errno == errno.ENXIO


@pytest.mark.parametrize("when", ["in open()", "as soon as it says so"])
def test_sigint_ends_a_reader_blocked_in_open_with_keyboardinterrupt(fifo, when):
    """The notebook's output (last stderr line, status -2) is the same whether the signal arrives
    while the reader sleeps in open() or just after it printed its first line."""
    with start_reader(fifo) as reader:
        first = reader.stdout.readline()
        if when == "in open()":
            assert wait_until_blocked(reader.pid, "open") == "open"
        os.kill(reader.pid, signal.SIGINT)
        out, err = reader.communicate(timeout=10)
    assert first == f"reader pid [{reader.pid}]: opening 'meeting_point' for reading\n"
    assert err.splitlines()[-1] == "KeyboardInterrupt" and reader.returncode == -signal.SIGINT
    if when == "in open()":
        source_lines = [line for line in err.splitlines() if line.strip(" ^~")]  # no caret lines (3.11+)
        assert "os.open(" in source_lines[-2], "raised inside os.open"


def test_a_handler_that_returns_lets_open_keep_waiting(fifo):
    """Going deeper: PEP 475 retries open() after a signal whose handler returns."""
    code = f"""
import os, signal
signal.signal(signal.SIGUSR1, lambda *a: print("handled", flush=True))
print("opening", flush=True)
fd = os.open({os.fspath(fifo)!r}, os.O_RDONLY)
print("opened", os.read(fd, 100), flush=True)
"""
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "opening\n"
        for _ in range(2):
            assert wait_until_blocked(child.pid, "open") == "open"
            os.kill(child.pid, signal.SIGUSR1)
            assert child.stdout.readline() == "handled\n"
        assert wait_until_blocked(child.pid, "open") == "open", "back in open() after the handler"
        fd = os.open(fifo, os.O_WRONLY)
        os.write(fd, b"late")
        os.close(fd)
        assert child.stdout.readline() == "opened b'late'\n"
        assert child.wait(timeout=10) == 0
    finally:
        child.kill()
        child.wait()
        child.stdout.close()


def test_a_thread_blocked_in_open_survives_interrupt_and_is_released_by_the_other_end(fifo):
    result = {}

    def blocked_reader():
        fd = os.open(fifo, os.O_RDONLY)
        try:
            result["first read"] = os.read(fd, 100)
        finally:
            os.close(fd)

    thread = threading.Thread(target=blocked_reader, daemon=True)
    thread.start()
    assert wait_until_blocked(thread.native_id, "open") == "open"
    previous = signal.signal(signal.SIGALRM, signal.default_int_handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        with pytest.raises(KeyboardInterrupt):
            time.sleep(5)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert blocked_in(thread.native_id) == "open", "the interrupt went to the main thread only"
    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # the review question's release
    thread.join(5)
    assert not thread.is_alive() and result == {"first read": b""}


def test_o_rdwr_never_waits_and_keeps_other_readers_from_end_of_file(fifo):
    fd = os.open(fifo, os.O_RDWR)  # returns at once on Linux
    try:
        with start_reader(fifo) as reader:
            assert wait_until_blocked(reader.pid, "read") == "read", "no end of file: we are a writer"
            os.close(fd)
            fd = None
            out, _ = reader.communicate(timeout=10)
        assert "read b'': end of file" in out
    finally:
        if fd is not None:
            os.close(fd)


# --- scripts/pingpong.py: the two-FIFO deadlock and its fix --------------------------------------


@pytest.fixture
def two_fifos(tmp_path):
    requests, replies = tmp_path / "requests", tmp_path / "replies"
    os.mkfifo(requests)
    os.mkfifo(replies)
    return requests, replies


def test_opposite_order_deadlocks_both_in_their_first_open(two_fifos):
    with (
        start_peer("pingpong.py", "server", *two_fifos) as server,
        start_peer("pingpong.py", "client", *two_fifos, "--first", "replies") as client,
    ):
        for peer in (server, client):
            assert wait_until_blocked(peer.pid, "open") == "open"
        time.sleep(0.3)
        assert blocked_in(server.pid) == blocked_in(client.pid) == "open", "neither can ever go on"
        server.kill()
        client.kill()
        outs = [server.communicate(timeout=10)[0], client.communicate(timeout=10)[0]]
    assert outs == [
        f"server pid [{server.pid}]: opening 'requests' for reading\n",
        f"client pid [{client.pid}]: opening 'replies' for reading\n",
    ]
    assert server.returncode == client.returncode == -signal.SIGKILL


@pytest.mark.parametrize("first", ["requests", "replies"])
def test_the_same_order_in_both_completes_the_conversation(two_fifos, first):
    with (
        start_peer("pingpong.py", "server", *two_fifos, "--first", first) as server,
        start_peer("pingpong.py", "client", *two_fifos, "--first", first) as client,
    ):
        server_out = server.communicate(timeout=10)[0]
        client_out = client.communicate(timeout=10)[0]
    assert server.returncode == client.returncode == 0
    assert server_out.splitlines()[-2:] == [
        f"server pid [{server.pid}]: received b'ping'",
        f"server pid [{server.pid}]: done",
    ]
    assert client_out.splitlines()[-2:] == [
        f"client pid [{client.pid}]: received b'pong'",
        f"client pid [{client.pid}]: done",
    ]


def test_pingpong_refuses_a_regular_file_and_leaves_it(tmp_path):
    victim = tmp_path / "notes.txt"
    victim.write_text("keep me")
    with start_peer("pingpong.py", "server", victim, tmp_path / "unused") as peer:
        out, err = peer.communicate(timeout=10)
    assert (
        peer.returncode == 1
        and err.strip() == f"server pid [{peer.pid}]: 'requests' is not a FIFO; leaving it alone"
    )
    assert victim.read_text() == "keep me"


def test_pingpong_ends_itself(two_fifos):
    """A side nobody meets is gone when its alarm rings (60 s; shortened to 1 s here)."""
    script = SCRIPTS / "pingpong.py"
    code = (
        "import runpy, signal, sys; real = signal.alarm; signal.alarm = lambda s: real(1); "
        f"sys.argv = ['pingpong.py', 'server', *{[os.fspath(p) for p in two_fifos]!r}]; "
        f"runpy.run_path({os.fspath(script)!r})"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
    try:
        assert child.wait(timeout=10) == -signal.SIGALRM
    finally:
        child.kill()
        child.wait()
