"""Unit tests for ipc_helpers.rendezvous (chapter 04): timelines, launch_steps, release_waiting_reader."""

from __future__ import annotations

import base64
import os
import signal
import threading
import time

import pytest

from ipc_helpers import FifoTimeoutError, PeerError, launch_writer, make_fifo, open_fifo
from ipc_helpers.rendezvous import launch_steps, mark, release_waiting_reader, timeline

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (not on Windows)")


def ev(event: str, t: float, **details) -> dict:
    return {"event": event, "t": t, **details}


# --------------------------------------------------------------------------
# mark and timeline (no processes)
# --------------------------------------------------------------------------


def test_mark_appends_an_event_on_the_monotonic_clock():
    events: list[dict] = []
    before = time.monotonic()
    entry = mark(events, "read", data=b"x")
    assert events == [entry]
    assert entry["event"] == "read" and entry["data"] == b"x"
    assert before <= entry["t"] <= time.monotonic()


def test_timeline_reader_first():
    reader = [ev("open-start", 1), ev("opened", 2.01), ev("read", 3, data=b"hi"), ev("read", 4, data=b"")]
    writer = [ev("started", 0), ev("open-start", 2), ev("opened", 2.0), ev("wrote", 2.5, bytes=2)]
    writer.append(ev("closed", 2.6))
    assert timeline({"reader": reader, "writer": writer}) == [
        " 1. [reader] opens the FIFO for reading: no writer yet, so it waits",
        " 2. [writer] opens the FIFO for writing: the reader is waiting, so both opens return",
        " 3. [writer] writes 2 bytes",
        " 4. [writer] closes its end",
        " 5. [reader] reads b'hi'",
        " 6. [reader] reads b'' (end of file: no writer left)",
        "who waited: the reader waited in open() for the writer",
    ]


def test_timeline_writer_first_and_order_of_sources_does_not_matter():
    writer = [ev("open-start", 1), ev("opened", 2.01)]
    reader = [ev("open-start", 2), ev("opened", 2.01)]
    lines = timeline({"reader": reader, "writer": writer})
    assert lines == timeline({"writer": writer, "reader": reader})
    assert lines[0].endswith("[writer] opens the FIFO for writing: no reader yet, so it waits")
    assert lines[-1] == "who waited: the writer waited in open() for the reader"


def test_timeline_decodes_base64_data_of_launched_processes():
    data = base64.b64encode("你好".encode()).decode("ascii")
    lines = timeline({"reader": [ev("read", 1, data=data)]})
    assert lines == [" 1. [reader] reads " + repr("你好".encode())]


def test_timeline_open_while_other_end_is_held_returns_at_once():
    writer = [ev("open-start", 1), ev("opened", 2.001)]
    reader = [ev("open-start", 2), ev("opened", 2.001), ev("closed", 3)]
    later = [ev("open-start", 4), ev("opened", 4.001)]
    lines = timeline({"writer": writer, "reader": reader, "second reader": later})
    assert lines[3] == (
        " 4. [second reader] opens the FIFO for reading: the other end is open, so it returns at once"
    )
    assert len(lines) == 5  # 3 opens, 1 close, who waited: the second reader's "opened" is not repeated


def test_timeline_lists_who_is_still_blocked_with_fifo_names():
    a = [ev("open-start", 1, fifo="requests", mode="r")]
    b = [ev("open-start", 2, fifo="replies", mode="r")]
    assert timeline({"A": a, "B": b}) == [
        " 1. [A] opens 'requests' for reading: no writer yet, so it waits",
        " 2. [B] opens 'replies' for reading: no writer yet, so it waits",
        "still blocked in open(): the A ('requests', for reading)",
        "still blocked in open(): the B ('replies', for reading)",
    ]


def test_timeline_open_released_by_someone_not_in_the_timeline():
    lines = timeline({"reader": [ev("open-start", 1), ev("opened", 2)]})
    assert lines == [
        " 1. [reader] opens the FIFO for reading: no writer yet, so it waits",
        " 2. [reader] open() returns",
    ]


# --------------------------------------------------------------------------
# With real processes
# --------------------------------------------------------------------------


def test_timeline_of_a_real_rendezvous(tmp_path):
    p = make_fifo(tmp_path / "f")
    me: list[dict] = []
    with launch_writer(p, "hello", delay_before_open=0.5) as writer:
        mark(me, "open-start")
        fd = open_fifo(p, "r", timeout=10)
        mark(me, "opened")
        try:
            writer.wait(10)
            mark(me, "read", data=os.read(fd, 100))
        finally:
            os.close(fd)
    lines = timeline({"reader": me, "writer": writer.events})
    assert lines[0] == " 1. [reader] opens the FIFO for reading: no writer yet, so it waits"
    assert lines[1].startswith(" 2. [writer] opens the FIFO for writing: the reader is waiting")
    assert lines[-2] == " 5. [reader] reads b'hello'"


def two_fifos(tmp_path):
    make_fifo(tmp_path / "requests")
    make_fifo(tmp_path / "replies")


SERVER = [
    ("open", "requests", "r"),
    ("open", "replies", "w"),
    ("read", "requests"),
    ("write", "replies", "pong"),
    ("close", "replies"),
    ("close", "requests"),
]


def test_opposite_order_deadlocks_and_the_bounded_wait_sees_it(tmp_path):
    two_fifos(tmp_path)
    client_steps = [("open", "replies", "r"), ("open", "requests", "w")]
    with launch_steps("server", tmp_path, SERVER) as server:
        server.wait_for_event("open-start", timeout=10)
        with launch_steps("client", tmp_path, client_steps) as client:
            with pytest.raises(FifoTimeoutError, match="still running after 2 s"):
                client.wait(timeout=2)
            assert server.running and client.running
    assert server.returncode == client.returncode == -signal.SIGKILL
    # The events written before the kill are still there.
    assert [e["event"] for e in server.events] == ["open-start"]
    assert [e["event"] for e in client.events] == ["open-start"]
    lines = timeline({"server": server.events, "client": client.events})
    assert lines[-2:] == [
        "still blocked in open(): the server ('requests', for reading)",
        "still blocked in open(): the client ('replies', for reading)",
    ]


def test_same_order_completes_the_conversation(tmp_path):
    two_fifos(tmp_path)
    client_steps = [
        ("open", "requests", "w"),
        ("open", "replies", "r"),
        ("write", "requests", "ping"),
        ("close", "requests"),
        ("read", "replies"),
        ("close", "replies"),
    ]
    with (
        launch_steps("server", tmp_path, SERVER) as server,
        launch_steps("client", tmp_path, client_steps, pause=0.1) as client,
    ):
        assert server.wait(20) == 0 and client.wait(20) == 0
    assert server.received_from("requests") == b"ping"
    assert client.received_from("replies") == b"pong"
    assert server.stderr == client.stderr == ""
    # write/close are reported before the call, read after: cause comes before effect.
    t = {(e["event"], e.get("data")): e["t"] for e in server.events + client.events}
    assert t[("write", None)] < t[("read", base64.b64encode(b"ping").decode())]


def test_wait_for_returns_the_event_and_keeps_it_in_events(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_steps("reader", tmp_path, [("open", "f", "r")]) as child:
        e = child.wait_for_event("open-start", timeout=10)
        assert e["fifo"] == "f" and e["mode"] == "r"
        assert child.running
        release_waiting_reader(p, timeout=5)
        assert child.wait(10) == 0
    assert [e["event"] for e in child.events] == ["open-start", "opened"]


def test_wait_for_times_out(tmp_path):
    make_fifo(tmp_path / "f")
    with launch_steps("reader", tmp_path, [("open", "f", "r")], delay_before_start=5) as child:
        start = time.monotonic()
        with pytest.raises(FifoTimeoutError, match="did not report 'opened'"):
            child.wait_for_event("opened", timeout=0.5)
        assert time.monotonic() - start < 3


def test_wait_for_raises_peer_error_when_the_child_exits_first(tmp_path):
    with launch_steps("writer", tmp_path, [("bogus", "f")]) as child:
        with pytest.raises(PeerError, match="exited before 'open-start'") as info:
            child.wait_for_event("open-start", timeout=10)
    assert info.value.returncode == 1
    assert "unknown step 'bogus'" in info.value.stderr


def test_sigint_raises_keyboard_interrupt_inside_a_blocked_open(tmp_path, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # as in a Jupyter kernel: tracebacks must stay plain text
    make_fifo(tmp_path / "f")
    with launch_steps("reader", tmp_path, [("open", "f", "r")]) as child:
        child.wait_for_event("open-start", timeout=10)
        time.sleep(0.3)
        os.kill(child.pid, signal.SIGINT)
        assert child.wait(10) == -signal.SIGINT
    assert child.stderr.strip().splitlines()[-1] == "KeyboardInterrupt"
    assert "os.open(" in child.stderr


def test_lifetime_ends_a_child_blocked_forever(tmp_path):
    make_fifo(tmp_path / "f")
    with launch_steps("reader", tmp_path, [("open", "f", "r")], lifetime=1) as child:
        assert child.wait(10) == -signal.SIGALRM


def test_release_waiting_reader_frees_a_thread_blocked_in_open(tmp_path):
    p = make_fifo(tmp_path / "f")
    got = {}

    def reader():
        fd = os.open(p, os.O_RDONLY)
        try:
            got["read"] = os.read(fd, 10)
        finally:
            os.close(fd)

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    release_waiting_reader(p, timeout=5)  # retries ENXIO until the thread is in open()
    t.join(5)
    assert not t.is_alive()
    assert got["read"] == b""


def test_release_waiting_reader_times_out_when_nobody_waits(tmp_path):
    p = make_fifo(tmp_path / "f")
    start = time.monotonic()
    with pytest.raises(FifoTimeoutError, match="no reader was waiting within 0.3 s"):
        release_waiting_reader(p, timeout=0.3)
    assert time.monotonic() - start < 2


def test_release_waiting_reader_passes_other_errors_on(tmp_path):
    with pytest.raises(FileNotFoundError):
        release_waiting_reader(tmp_path / "missing", timeout=0.3)
