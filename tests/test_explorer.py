"""Unit tests for the FIFO explorer of chapter 09 (ipc_helpers.explorer).

They drive the explorer through its methods and through its widgets
(``button.click()``, then the text of the state display), cover the click
sequences that block, the disabled buttons, and prove that nothing is left
behind: no child process, no FIFO.
"""

from __future__ import annotations

import gc
import html
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from ipc_helpers import FifoTimeoutError, blocked_in
from ipc_helpers.explorer import (
    ACTIONS,
    CLOSED,
    NOT_STARTED,
    OPEN,
    READER,
    WAITING,
    WRITER,
    ExplorerError,
    FifoExplorer,
    bytes_in_pipe,
    explorer_ui,
)

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (not on Windows)"),
    pytest.mark.timeout(60),
]

LINUX = sys.platform.startswith("linux")


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: fall back to kill(0)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def gone_within(pids, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def pids_of(lab: FifoExplorer) -> list[int]:
    return [p.pid for p in lab._procs.values()]


def sleeping_in(lab: FifoExplorer, role: str) -> set[str]:
    """The FIFO calls the worker threads of the child ``role`` sleep in right now, asked of Linux (/proc).

    The main thread, which reads commands from a pipe, is left out.
    """
    pid = lab._procs[role].pid
    workers = [int(tid) for tid in os.listdir(f"/proc/{pid}/task") if int(tid) != pid]
    return {call for call in map(blocked_in, workers) if call is not None}


@pytest.fixture
def lab():
    ex = FifoExplorer()
    pids, directory = pids_of(ex), ex.fifo.parent
    try:
        yield ex
    finally:
        ex.close()
        assert gone_within(pids), "a child process outlived close()"
        assert not directory.exists(), "the FIFO's directory outlived close()"


def both_open(lab: FifoExplorer) -> None:
    lab.open_reader()
    lab.open_writer()
    lab.wait_for(lambda s: s.reader == OPEN and s.writer == OPEN)


def fill_and_block(lab: FifoExplorer, size: int = 100_000) -> None:
    """Write more than the pipe holds into an empty pipe: the writer blocks."""
    lab.write(b"x" * size)
    state = lab.wait_for(lambda s: s.bytes_in_pipe == 65536 or not LINUX)
    assert state.writing == size
    assert state.waiting == "the writer, blocked in write() until the reader makes room"


# --------------------------------------------------------------------------
# The object
# --------------------------------------------------------------------------


def test_importing_the_package_does_not_import_ipywidgets():
    code = "import sys, ipc_helpers, ipc_helpers.explorer; print('ipywidgets' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_starts_with_two_idle_processes_and_a_fifo(lab):
    assert lab.fifo.is_fifo() and lab.fifo.name == "my_pipe"
    assert lab.alive_processes == 2
    assert lab.describe() == (
        "reader: not started\n"
        "writer: not started\n"
        "bytes in pipe: 0\n"
        "last write: nothing yet\n"
        "last read: nothing yet\n"
        "waiting: nobody"
    )


def test_the_notebook_scenario(lab):
    lab.open_reader()
    s = lab.wait_for(lambda s: s.reader == WAITING)
    assert s.writer == NOT_STARTED and s.waiting.startswith("the reader, in open()")
    if LINUX:  # it really waits: the main thread reads commands, the worker sleeps in open()
        assert sleeping_in(lab, READER) == {"open"}
    assert lab.state().reader == WAITING

    lab.open_writer()
    s = lab.wait_for(lambda s: s.reader == OPEN and s.writer == OPEN)
    assert s.waiting == "nobody"

    lab.write("hello")
    s = lab.wait_for(lambda s: s.writing is None and s.bytes_in_pipe in (5, None))
    assert s.last_write == "5 bytes written"
    assert "bytes in pipe: 5" in lab.describe() or not LINUX

    s = lab.read(100)
    assert s.last_read_data == b"hello" and s.last_read == "b'hello' (5 bytes)"
    assert lab.wait_for(lambda s: s.bytes_in_pipe in (0, None))

    s = lab.read(100)
    assert s.last_read_data is None and s.last_read.startswith("would block")

    lab.close_writer()
    s = lab.read(100)
    assert s.writer == CLOSED and s.last_read_data == b""
    assert s.last_read == "b'' (end of file: no writer has the FIFO open)"

    s = lab.close_reader()
    assert (s.reader, s.writer, s.bytes_in_pipe) == (CLOSED, CLOSED, 0)
    assert "last read: b'' (end of file" in lab.describe()


def test_writer_waits_in_open_until_a_reader_opens(lab):
    s = lab.open_writer()  # returns once the writer sleeps in open(): no wait_for needed
    assert s.writer == WAITING and s.waiting.startswith("the writer, in open()")
    if LINUX:
        assert sleeping_in(lab, WRITER) == {"open"}
    assert lab.state().writer == WAITING
    lab.open_reader()
    lab.wait_for(lambda s: s.reader == OPEN and s.writer == OPEN)


def test_actions_that_make_no_sense_are_refused_with_a_reason(lab):
    reasons = {a: lab.why_not(a) for a in ACTIONS}
    assert reasons["open_reader"] is None and reasons["open_writer"] is None
    assert reasons["write"] == "open the writer first"
    assert reasons["read"] == "open the reader first"
    assert reasons["close_reader"] == "the reader does not have the FIFO open"
    with pytest.raises(ExplorerError, match="cannot write: open the writer first"):
        lab.write("x")
    with pytest.raises(ExplorerError, match="cannot read: open the reader first"):
        lab.read()
    with pytest.raises(ValueError):
        lab.why_not("dance")

    lab.open_reader()
    lab.wait_for(lambda s: s.reader == WAITING)
    assert lab.why_not("open_reader") == "the reader is already waiting in open()"
    assert lab.why_not("read") == "the reader is still waiting in open(): open the writer"
    assert lab.why_not("close_reader") is None  # giving up is allowed
    lab.open_writer()
    lab.wait_for(lambda s: s.writer == OPEN)
    assert lab.why_not("open_writer") == "the writer already has the FIFO open"
    with pytest.raises(ExplorerError, match="nothing to write"):
        lab.write(b"")


@pytest.mark.skipif(not LINUX, reason="byte counts are Linux pipe behaviour")
def test_a_write_bigger_than_the_pipe_blocks_until_the_reader_reads(lab):
    both_open(lab)
    fill_and_block(lab)
    assert lab.why_not("close_writer").startswith("the writer is blocked in write()")
    assert lab.why_not("write") == "the writer is still blocked in its last write(): read to make room"
    assert sleeping_in(lab, WRITER) == {"write"}  # still blocked: nobody read
    assert lab.state().writing == 100_000
    s = lab.read(65536)
    assert len(s.last_read_data) == 65536
    assert len(repr(s)) < 300  # the 64 KiB of data stay out of the repr
    s = lab.wait_for(lambda s: s.writing is None and s.bytes_in_pipe == 100_000 - 65536)
    assert s.last_write == "100000 bytes written"
    assert lab.read(65536).last_read == "b'xxxxxxxxxxxxxxxxxxxx'... (34464 bytes)"


@pytest.mark.skipif(not LINUX, reason="byte counts are Linux pipe behaviour")
def test_closing_the_reader_while_the_writer_is_blocked_breaks_the_pipe(lab):
    both_open(lab)
    fill_and_block(lab)
    s = lab.close_reader()
    s = lab.wait_for(lambda s: s.writing is None)
    assert s.last_write == "BrokenPipeError after 65536 of 100000 bytes (no reader)"
    assert any("BrokenPipeError (EPIPE)" in line for line in lab.log)
    # the unread bytes stay while the writer holds the FIFO open ...
    assert lab.refresh().bytes_in_pipe == 65536
    # ... and are discarded when nobody has it open any more
    s = lab.close_writer()
    assert s.bytes_in_pipe == 0
    assert lab.log[-1] == "[kernel] nobody has the FIFO open any more: 65536 unread bytes are discarded"


@pytest.mark.skipif(not LINUX, reason="asks Linux where a thread sleeps (/proc/TID/wchan)")
def test_every_action_returns_with_its_outcome_without_waiting_for(lab):
    """No wait_for, no sleep: the state an action returns is final, and it is the kernel's truth."""
    t0 = time.monotonic()
    s = lab.open_reader()
    assert s.reader == WAITING and sleeping_in(lab, READER) == {"open"}
    s = lab.open_writer()
    assert (s.reader, s.writer, s.waiting) == (OPEN, OPEN, "nobody")
    assert sleeping_in(lab, READER) == sleeping_in(lab, WRITER) == set()
    s = lab.write(b"x" * 100_000)
    assert (s.writing, s.bytes_in_pipe, s.last_write) == (100_000, 65536, "in progress (100000 bytes)")
    assert sleeping_in(lab, WRITER) == {"write"}
    # Some room, not enough: the writer fills it and sleeps again before read() returns here.
    s = lab.read(4096)
    assert s.writing == 100_000 and sleeping_in(lab, WRITER) == {"write"}
    assert s.bytes_in_pipe == lab.refresh().bytes_in_pipe >= 65536 - 4096
    sent_so_far = 65536 + 4096
    s = lab.read(65536)
    assert len(s.last_read_data) == 65536
    assert (s.writing, s.last_write) == (None, "100000 bytes written")
    assert s.bytes_in_pipe == 100_000 - 4096 - 65536 and sent_so_far < 100_000
    s = lab.close_writer()
    assert (s.writer, s.bytes_in_pipe) == (CLOSED, 100_000 - 4096 - 65536)
    s = lab.read(65536)
    assert len(s.last_read_data) == 100_000 - 4096 - 65536
    assert lab.read(1).last_read_data == b""
    s = lab.close_reader()
    assert (s.reader, s.writer, s.bytes_in_pipe) == (CLOSED, CLOSED, 0)
    # 10 actions; each used to wait for 0.15 s of quiet at least (1.5 s together).
    assert time.monotonic() - t0 < 1.5


@pytest.mark.skipif(not LINUX, reason="byte counts are Linux pipe behaviour")
def test_the_byte_count_is_never_an_out_of_date_report(lab):
    """The reader counts right after its read, the writer right after its write: the last word wins."""
    both_open(lab)
    for _ in range(5):
        lab.write(b"y" * 100_000)
        s = lab.read(65536)
        assert (s.writing, s.bytes_in_pipe) == (None, 100_000 - 65536)
        assert lab.read(65536).bytes_in_pipe == 0


def test_the_child_program_needs_only_the_standard_library(tmp_path):
    """Each child runs explorer.py as a script with -I -S: it must not import ipc_helpers (or need site)."""
    import ipc_helpers.explorer as explorer

    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    child = subprocess.Popen(
        [sys.executable, "-I", "-S", explorer.__file__, "writer", str(fifo), "30"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,  # ipc_helpers cannot be imported from here (and -I ignores PYTHONPATH)
    )
    try:
        child.stdin.write(b"status\nopen\n")
        child.stdin.flush()
        events = [json.loads(child.stdout.readline()) for _ in range(3)]  # bounded by the test timeout
        assert [e["event"] for e in events] == ["ready", "status", "open-start"]
        assert isinstance(events[-1]["thread"], int)
        child.stdin.write(b"exit\n")
        child.stdin.flush()
        assert child.wait(10) == 0, child.stderr.read()
    finally:
        child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout, child.stderr):
            stream.close()


def test_writing_after_the_reader_closed_is_a_broken_pipe(lab):
    both_open(lab)
    lab.close_reader()
    s = lab.write("anyone?")
    s = lab.wait_for(lambda s: s.writing is None)
    assert s.last_write == "BrokenPipeError after 0 of 7 bytes (no reader)"
    assert s.writer == OPEN  # the write failed; the descriptor is still open


def test_data_waits_for_a_reader_that_reopens_while_the_writer_stays(lab):
    both_open(lab)
    lab.write("kept")
    lab.wait_for(lambda s: s.writing is None)
    lab.close_reader()
    lab.open_reader()  # the writer is there: returns at once
    s = lab.wait_for(lambda s: s.reader == OPEN)
    assert lab.read(100).last_read_data == b"kept"
    assert s.writer == OPEN


@pytest.mark.parametrize("role", ["reader", "writer"])
def test_giving_up_waiting_in_open(lab, role):
    getattr(lab, f"open_{role}")()
    lab.wait_for(lambda s: getattr(s, role) == WAITING)
    s = getattr(lab, f"close_{role}")()
    assert getattr(s, role) == CLOSED and s.waiting == "nobody"
    assert any("gave up waiting in open()" in line for line in lab.log)
    # and the end can open again, normally
    getattr(lab, f"open_{role}")()
    lab.wait_for(lambda s: getattr(s, role) == WAITING)
    lab.open_reader() if role == "writer" else lab.open_writer()
    lab.wait_for(lambda s: s.reader == OPEN and s.writer == OPEN)


def test_an_open_that_fails_is_reported_at_once(lab):
    lab.fifo.unlink()  # someone removed the FIFO: open() fails with ENOENT instead of waiting
    t0 = time.monotonic()
    s = lab.open_writer()
    assert time.monotonic() - t0 < 3  # not the 5 s an unanswered action would take
    assert s.writer == CLOSED and s.waiting == "nobody"
    assert lab.log[-1] == "[writer] open() failed: ENOENT"
    assert lab.why_not("open_writer") is None


def test_wait_for_is_bounded(lab):
    lab.open_reader()
    t0 = time.monotonic()
    with pytest.raises(FifoTimeoutError, match="reader: waiting in open"):
        lab.wait_for(lambda s: s.reader == OPEN, timeout=0.5)
    assert time.monotonic() - t0 < 3


def test_an_interrupt_of_the_kernel_does_not_stop_the_children(lab):
    for pid in pids_of(lab):
        os.kill(pid, signal.SIGINT)
    time.sleep(0.3)
    assert lab.alive_processes == 2
    both_open(lab)


def test_bytes_in_pipe_reads_either_end():
    r, w = os.pipe()
    try:
        os.write(w, b"abc")
        if LINUX:
            assert bytes_in_pipe(r) == 3 and bytes_in_pipe(w) == 3
    finally:
        os.close(r)
        os.close(w)
    assert bytes_in_pipe(r) is None  # a closed descriptor: unknown, no exception


# --------------------------------------------------------------------------
# Cleanup
# --------------------------------------------------------------------------


def test_close_ends_everything_even_while_blocked_and_is_idempotent():
    lab = FifoExplorer()
    pids, directory = pids_of(lab), lab.fifo.parent
    both_open(lab)
    fill_and_block(lab)  # the writer is stuck in write()
    lab.close()
    lab.close()
    assert gone_within(pids) and not directory.exists()
    assert lab.closed and lab.alive_processes == 0
    assert lab.describe().endswith("explorer: closed (both processes have ended, the FIFO is removed)")
    assert lab.why_not("open_reader") == "the explorer is closed"
    with pytest.raises(ExplorerError, match="explorer is closed"):
        lab.open_reader()


def test_with_block_cleans_up_even_with_a_waiting_open():
    with FifoExplorer() as lab:
        pids, directory = pids_of(lab), lab.fifo.parent
        lab.open_reader()
    assert gone_within(pids) and not directory.exists()


def test_garbage_collection_cleans_up():
    lab = FifoExplorer()
    pids, directory = pids_of(lab), lab.fifo.parent
    lab.open_writer()
    del lab
    gc.collect()
    assert gone_within(pids) and not directory.exists()


CREATE_AND_DIE = """
import json, os, signal, sys
from ipc_helpers.explorer import FifoExplorer
lab = FifoExplorer(lifetime={lifetime})
lab.open_reader()
print(json.dumps({{"pids": [p.pid for p in lab._procs.values()], "fifo": str(lab.fifo)}}), flush=True)
{ending}
"""


@pytest.mark.parametrize(
    "ending",
    ["os.kill(os.getpid(), signal.SIGKILL)", "sys.exit(0)"],
    ids=["killed", "exits-without-close"],
)
def test_a_vanished_kernel_leaves_no_process_and_no_fifo(ending, tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", CREATE_AND_DIE.format(lifetime=3600, ending=ending)],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    info = json.loads(out.stdout.splitlines()[0])
    assert gone_within(info["pids"]), "children outlived their kernel"
    deadline = time.monotonic() + 5
    while os.path.exists(info["fifo"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(os.path.dirname(info["fifo"]))


def test_children_have_a_lifetime_safety_net():
    lab = FifoExplorer(lifetime=2)
    try:
        pids = pids_of(lab)
        assert gone_within(pids, 10), "the alarm did not end the children"
        s = lab.wait_for(lambda s: lab.why_not("open_reader") is not None, timeout=5)
        assert lab.why_not("open_reader") == "the reader process has ended"
        assert s.reader == NOT_STARTED
        assert any("process ended (exit status -14)" in line for line in lab.log)  # SIGALRM
    finally:
        lab.close()


# --------------------------------------------------------------------------
# The widgets
# --------------------------------------------------------------------------

ipywidgets = pytest.importorskip("ipywidgets")


def find(box, css: str):
    stack = [box]
    while stack:
        widget = stack.pop()
        if css in widget._dom_classes:
            return widget
        stack.extend(getattr(widget, "children", ()))
    raise LookupError(css)


def text_of(widget) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", widget.value))


BUTTONS = [
    "ipc-open-reader",
    "ipc-open-writer",
    "ipc-write",
    "ipc-read",
    "ipc-close-reader",
    "ipc-close-writer",
]


def enabled(box) -> set[str]:
    return {css for css in BUTTONS if not find(box, css).disabled}


@pytest.fixture
def ui():
    box = explorer_ui()
    pids = pids_of(box.explorer)
    try:
        yield box
    finally:
        box.explorer.close()
        assert gone_within(pids)


def test_the_dom_contract(ui):
    assert "ipc-explorer" in ui._dom_classes
    for css in [*BUTTONS, "ipc-state", "ipc-log"]:
        find(ui, css)
    state = text_of(find(ui, "ipc-state"))
    for line in ["reader: not started", "writer: not started", "bytes in pipe: 0", "last read: nothing yet"]:
        assert line in state.splitlines()
    assert enabled(ui) == {"ipc-open-reader", "ipc-open-writer"}
    assert find(ui, "ipc-write").tooltip == "open the writer first"
    assert "write</b>: open the writer first" in find(ui, "ipc-hints").value


def test_clicking_through_the_scenario(ui):
    state, log = find(ui, "ipc-state"), find(ui, "ipc-log")
    find(ui, "ipc-open-reader").click()
    assert "reader: waiting in open" in text_of(state)
    assert enabled(ui) == {"ipc-open-writer", "ipc-close-reader"}
    assert "waits: no writer yet" in text_of(log)

    find(ui, "ipc-open-writer").click()
    assert {"reader: open", "writer: open"} <= set(text_of(state).splitlines())
    assert enabled(ui) == {"ipc-write", "ipc-read", "ipc-close-reader", "ipc-close-writer"}

    find(ui, "ipc-write-data").value = "hello"
    find(ui, "ipc-write").click()
    assert "bytes in pipe: 5" in text_of(state) or not LINUX
    assert "last write: 5 bytes written" in text_of(state)

    find(ui, "ipc-read").click()
    assert "last read: b'hello' (5 bytes)" in text_of(state)
    find(ui, "ipc-read").click()
    assert "last read: would block" in text_of(state)

    find(ui, "ipc-close-writer").click()
    find(ui, "ipc-read").click()
    assert "last read: b'' (end of file" in text_of(state)
    find(ui, "ipc-close-reader").click()
    assert {"reader: closed", "writer: closed"} <= set(text_of(state).splitlines())
    assert enabled(ui) == {"ipc-open-reader", "ipc-open-writer"}
    assert "[reader] close(): the reader no longer has the FIFO open" in text_of(log)


@pytest.mark.skipif(not LINUX, reason="byte counts are Linux pipe behaviour")
def test_clicking_a_blocking_write_then_closing_the_reader(ui):
    state, log = find(ui, "ipc-state"), find(ui, "ipc-log")
    find(ui, "ipc-open-reader").click()
    find(ui, "ipc-open-writer").click()
    find(ui, "ipc-write-amount").value = 100_000
    find(ui, "ipc-write").click()
    text = text_of(state)
    assert "waiting: the writer, blocked in write() until the reader makes room" in text
    assert "writer: open" in text.splitlines() and "bytes in pipe: 65536" in text
    assert enabled(ui) == {"ipc-read", "ipc-close-reader"}
    assert find(ui, "ipc-close-writer").tooltip.startswith("the writer is blocked in write()")

    find(ui, "ipc-close-reader").click()
    assert "BrokenPipeError (EPIPE)" in text_of(log)
    assert "last write: BrokenPipeError after 65536 of 100000 bytes (no reader)" in text_of(state)
    assert enabled(ui) == {"ipc-open-reader", "ipc-write", "ipc-close-writer"}


@pytest.mark.skipif(not LINUX, reason="byte counts are Linux pipe behaviour")
def test_the_display_follows_a_blocked_write_that_finishes_after_a_later_click(ui):
    state = find(ui, "ipc-state")
    find(ui, "ipc-open-reader").click()
    find(ui, "ipc-open-writer").click()
    find(ui, "ipc-write-amount").value = 100_000
    find(ui, "ipc-write").click()  # no refresh, no wait_for: the display is right after the click
    text = text_of(state)
    assert "bytes in pipe: 65536" in text and "last write: in progress (100000 bytes)" in text
    assert enabled(ui) == {"ipc-read", "ipc-close-reader"}
    find(ui, "ipc-read-size").value = 4096
    find(ui, "ipc-read").click()  # the writer moves on, then sleeps again
    text = text_of(state)
    assert "waiting: the writer, blocked in write() until the reader makes room" in text
    assert f"bytes in pipe: {ui.explorer.refresh().bytes_in_pipe}" in text
    find(ui, "ipc-read-size").value = 65536
    find(ui, "ipc-read").click()  # now the write finishes, and this click shows it
    text = text_of(state)
    assert "last write: 100000 bytes written" in text and "waiting: nobody" in text
    assert "bytes in pipe: 30368" in text  # 100000 - 4096 - 65536
    assert "[writer] write() returned: all 100000 bytes went into the pipe" in text_of(find(ui, "ipc-log"))
    assert enabled(ui) == {"ipc-write", "ipc-read", "ipc-close-reader", "ipc-close-writer"}


def test_clicking_a_disabled_button_explains_instead_of_failing(ui):
    find(ui, "ipc-read").click()  # a browser would not let you; Python's click() does
    assert "[explorer] cannot read: open the reader first" in text_of(find(ui, "ipc-log"))
    assert "reader: not started" in text_of(find(ui, "ipc-state"))


def test_closing_the_explorer_disables_the_widgets(ui):
    pids = pids_of(ui.explorer)
    ui.explorer.close()
    assert gone_within(pids)
    assert enabled(ui) == set() and find(ui, "ipc-refresh").disabled
    assert "explorer: closed" in text_of(find(ui, "ipc-state"))


def test_a_ui_over_an_existing_explorer_shows_its_state(lab):
    lab.open_reader()
    box = explorer_ui(lab)
    assert box.explorer is lab
    assert "reader: waiting in open" in text_of(find(box, "ipc-state"))
    lab.open_writer()  # driven from code: the widgets follow
    assert "writer: open" in text_of(find(box, "ipc-state")).splitlines()
    assert "open() returned" in text_of(find(box, "ipc-log"))
    assert enabled(box) == {"ipc-write", "ipc-read", "ipc-close-reader", "ipc-close-writer"}
