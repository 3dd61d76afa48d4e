"""Unit tests for ipc_helpers.rendezvous (chapter 04): timelines, launch_steps, release_waiting_reader."""

from __future__ import annotations

import base64
import os
import signal
import threading
import time

import pytest

from ipc_helpers import ChildProcess, FifoTimeoutError, PeerError, make_fifo, rendezvous
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


def test_timeline_names_the_fifo_only_when_there_are_several():
    reader = [ev("open-start", 1, fifo="f", mode="r"), ev("opened", 2.01, fifo="f", mode="r")]
    me = [ev("open-start", 2), ev("opened", 2.01), ev("wrote", 3, bytes=2), ev("closed", 4)]
    assert timeline({"reader": reader, "writer": me}) == [
        " 1. [reader] opens the FIFO for reading: no writer yet, so it waits",
        " 2. [writer] opens the FIFO for writing: the reader is waiting, so both opens return",
        " 3. [writer] writes 2 bytes",
        " 4. [writer] closes its end",
        "who waited: the reader waited in open() for the writer",
    ]
    two = timeline({"A": [ev("open-start", 1, fifo="f", mode="r")], "B": [ev("close", 2, fifo="g")]})
    assert two[:2] == [
        " 1. [A] opens 'f' for reading: no writer yet, so it waits",
        " 2. [B] closes 'g'",
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


def test_timeline_of_a_real_rendezvous_with_this_process_as_partner(tmp_path):
    p = make_fifo(tmp_path / "f")
    me: list[dict] = []
    steps = [("open", "f", "w"), ("write", "f", "hello"), ("close", "f")]
    with launch_steps("writer", tmp_path, steps, after_blocked=os.getpid()) as writer:
        mark(me, "open-start")
        fd = os.open(p, os.O_RDONLY)  # the writer opens once our main thread sleeps here
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
    assert me[0]["t"] < writer.events[0]["t"]  # our open-start came first


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


def test_opposite_order_deadlocks_and_linux_shows_both_blocked_in_open(tmp_path):
    two_fifos(tmp_path)
    client_steps = [("open", "replies", "r"), ("open", "requests", "w")]
    with launch_steps("server", tmp_path, SERVER) as server:
        turns = {"after_blocked": server.pid, "take_turns": True}
        with launch_steps("client", tmp_path, client_steps, **turns) as client:
            assert server.wait_until_blocked("open", timeout=10) == "open"
            assert client.wait_until_blocked("open", timeout=10) == "open"
            with pytest.raises(FifoTimeoutError, match="still running after 0.2 s"):
                client.wait(timeout=0.2)
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


CLIENT = [
    ("open", "requests", "w"),
    ("open", "replies", "r"),
    ("write", "requests", "ping"),
    ("close", "requests"),
    ("read", "replies"),
    ("close", "replies"),
]

CONVERSATION = [
    " 1. [server] opens 'requests' for reading: no writer yet, so it waits",
    " 2. [client] opens 'requests' for writing: the server is waiting, so both opens return",
    " 3. [server] opens 'replies' for writing: no reader yet, so it waits",
    " 4. [client] opens 'replies' for reading: the server is waiting, so both opens return",
    " 5. [client] writes 4 bytes to 'requests'",
    " 6. [server] reads b'ping' from 'requests'",
    " 7. [client] closes 'requests'",
    " 8. [server] reads b'' from 'requests' (end of file: no writer left)",
    " 9. [server] writes 4 bytes to 'replies'",
    "10. [server] closes 'replies'",
    "11. [server] closes 'requests'",
    "12. [client] reads b'pong' from 'replies'",
    "13. [client] reads b'' from 'replies' (end of file: no writer left)",
    "14. [client] closes 'replies'",
    "who waited: the server waited in open() for the client ('requests')",
    "who waited: the server waited in open() for the client ('replies')",
]


def test_same_order_taking_turns_gives_the_same_timeline_every_time(tmp_path):
    two_fifos(tmp_path)
    for _ in range(3):
        with launch_steps("server", tmp_path, SERVER) as server:
            turns = {"after_blocked": server.pid, "take_turns": True}
            with launch_steps("client", tmp_path, CLIENT, **turns) as client:
                assert server.wait(20) == 0 and client.wait(20) == 0
        assert server.received_from("requests") == b"ping"
        assert client.received_from("replies") == b"pong"
        assert server.stderr == client.stderr == ""
        assert timeline({"server": server.events, "client": client.events}) == CONVERSATION
        # write/close are reported before the call, read after: cause comes before effect.
        t = {(e["event"], e.get("data")): e["t"] for e in server.events + client.events}
        assert t[("write", None)] < t[("read", base64.b64encode(b"ping").decode())]


# A partner that sleeps in a FIFO open() until someone opens the FIFO "a" for
# writing, and then sleeps in time.sleep (not a FIFO call) until it is killed.
OPEN_THEN_SLEEP = "import os, sys, time; fd = os.open(sys.argv[1], os.O_RDONLY); time.sleep(30)"


def open_starts(peer) -> int:
    return sum(e["event"] == "open-start" for e in peer.events)


def test_after_blocked_waits_until_the_partner_sleeps_in_a_fifo_call_or_exits(tmp_path):
    make_fifo(tmp_path / "f")
    with ChildProcess(["-c", "import time; time.sleep(30)"]) as partner:  # asleep, but not in a FIFO call
        with launch_steps("reader", tmp_path, [("open", "f", "r")], after_blocked=partner.pid) as child:
            with pytest.raises(FifoTimeoutError):
                child.wait_for_event("open-start", timeout=0.5)
            partner.kill()  # an exited partner counts as "can go no further" too
            child.wait_for_event("open-start", timeout=10)
            assert child.wait_until_blocked("open", timeout=10) == "open"


@pytest.mark.parametrize("take_turns", [True, False])
def test_take_turns_waits_for_the_partner_before_every_step(tmp_path, take_turns):
    make_fifo(tmp_path / "a")
    make_fifo(tmp_path / "b")
    steps = [("open", "a", "w"), ("open", "b", "r")]
    with ChildProcess(["-c", OPEN_THEN_SLEEP, str(tmp_path / "a")]) as partner:
        turns = {"after_blocked": partner.pid, "take_turns": take_turns}
        with launch_steps("client", tmp_path, steps, **turns) as child:
            child.wait_for_event("opened", timeout=10)  # step 1 done: the partner now runs time.sleep
            if take_turns:
                time.sleep(0.3)  # long enough for a step 2 that does not wait for its turn
                assert open_starts(child) == 1
                partner.kill()  # now it is our turn
            assert child.wait_until_blocked("open", timeout=10) == "open"  # in step 2 (no writer on b)
            assert open_starts(child) == 2


def test_a_turn_is_given_up_after_turn_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(rendezvous, "TURN_TIMEOUT", 0.3)
    make_fifo(tmp_path / "f")
    with ChildProcess(["-c", "import time; time.sleep(30)"]) as partner:
        start = time.monotonic()
        with launch_steps("reader", tmp_path, [("open", "f", "r")], after_blocked=partner.pid) as child:
            child.wait_for_event("open-start", timeout=10)
            assert time.monotonic() - start >= 0.3
            assert partner.running


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
    with launch_steps("reader", tmp_path, [("open", "f", "r")]) as child:  # no writer: never "opened"
        start = time.monotonic()
        with pytest.raises(FifoTimeoutError, match="did not report 'opened'"):
            child.wait_for_event("opened", timeout=0.5)
        assert time.monotonic() - start < 3


def test_wait_for_raises_peer_error_when_the_child_exits_first(tmp_path):
    with launch_steps("writer", tmp_path, [("bogus", "f")]) as child:
        with pytest.raises(PeerError, match="exited before 'open-start'") as info:
            # (3 s, not more: FifoPeer.wait_for_event may notice the exit only at its timeout)
            child.wait_for_event("open-start", timeout=3)
    assert info.value.returncode == 1
    assert "unknown step 'bogus'" in info.value.stderr


def test_sigint_raises_keyboard_interrupt_inside_a_blocked_open(tmp_path, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # as in a Jupyter kernel: tracebacks must stay plain text
    make_fifo(tmp_path / "f")
    with launch_steps("reader", tmp_path, [("open", "f", "r")]) as child:
        assert child.wait_until_blocked("open", timeout=10) == "open"
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
