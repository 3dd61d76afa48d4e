"""The FIFO explorer's state object (ipc_helpers.explorer), driven through every action, no browser.

What it shows must be what Linux says: blocked calls are checked here independently in
/proc/PID/task/TID/wchan, byte counts and capacity against changes made from outside, exit
statuses against the signals that caused them.  And it must leave nothing behind: no process,
no FIFO, whatever way it ends (shutdown, ``with``, garbage collection, a kernel that dies).
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ipc_helpers.explorer as explorer_module
from ipc_helpers.explorer import ExplorerError, FifoExplorer
from ipc_helpers.explorer_view import EXPERIMENTS, run_step, set_up

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the explorer's reference is Linux"),
    pytest.mark.timeout(60),
]


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def gone_within(pids: list[int], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while any(alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def sleeping_in(pid: int) -> set[str]:
    """What the worker threads of ``pid`` sleep in, asked of Linux directly (not through the explorer)."""
    names = {"wait_for_partner": "open", "pipe_read": "read", "anon_pipe_read": "read"}
    names |= {"pipe_write": "write", "anon_pipe_write": "write"}
    found = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        if int(tid) != pid:  # the main thread waits for commands on its standard input
            found.add(names.get(Path(f"/proc/{pid}/task/{tid}/wchan").read_text(), "running or other"))
    return found


def pid(lab: FifoExplorer, name: str) -> int:
    return next(p.pid for p in lab.state().processes if p.name == name)


def proc(lab: FifoExplorer, name: str):
    return next(p for p in lab.state().processes if p.name == name)


@pytest.fixture
def lab():
    ex = FifoExplorer()
    pids, folder = [pid(ex, n) for n in ex.names], ex.fifo.parent
    try:
        yield ex
    finally:
        ex.shutdown()
        assert gone_within(pids), "a process outlived shutdown()"
        assert not folder.exists(), "the FIFO's folder outlived shutdown()"


def test_importing_does_not_import_ipywidgets():
    code = "import sys, ipc_helpers, ipc_helpers.explorer; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.strip() == "False"


def test_starts_one_reader_one_writer_and_a_private_fifo(lab):
    assert lab.names == ["reader", "writer 1"]
    assert stat.S_ISFIFO(lab.fifo.lstat().st_mode) and lab.fifo.name == "my_pipe"
    assert stat.S_IMODE(lab.fifo.lstat().st_mode) == 0o600
    assert stat.S_IMODE(lab.fifo.parent.stat().st_mode) == 0o700
    state = lab.state()
    assert [(p.state, p.kind, p.fd) for p in state.processes] == [("not open yet", "idle", None)] * 2
    assert all(alive(p.pid) for p in state.processes) and state.bytes is None and state.calls == ()
    assert repr(lab) == (
        "FIFO my_pipe: no process has it open\n"
        "  reader    not open yet\n"
        "  writer 1  not open yet"
    )


def test_the_rendezvous_blocked_open_is_what_linux_says(lab):
    call = lab.open("reader")
    assert repr(call) == 'reader: open("my_pipe", O_RDONLY) -> ...'
    reader = proc(lab, "reader")
    assert (reader.state, reader.kind, reader.waits_for) == (
        "blocked in open()",
        "blocked",
        "a writer to open the FIFO",
    )
    assert sleeping_in(reader.pid) == {"open"}
    assert repr(lab.open("writer 1")) == 'writer 1: open("my_pipe", O_WRONLY) -> fd 3'
    state = lab.state()
    assert [p.state for p in state.processes] == ["open", "open"]
    assert repr(state.calls[0]) == 'reader: open("my_pipe", O_RDONLY) -> fd 3'  # the blocked call returned
    assert (state.bytes, state.capacity, state.page) == (0, 65536, os.sysconf("SC_PAGE_SIZE"))


def test_writer_first_waits_for_a_reader(lab):
    lab.open("writer 1")
    assert proc(lab, "writer 1").waits_for == "a reader to open the FIFO"
    assert sleeping_in(pid(lab, "writer 1")) == {"open"}
    lab.open("reader")
    assert [p.kind for p in lab.state().processes] == ["open", "open"]


def test_several_writers_end_of_file_only_after_the_last_closes(lab):
    lab.add("writer")
    for name in ("reader", "writer 1", "writer 2"):
        lab.open(name)
    assert repr(lab.write("writer 1", "hi")) == "writer 1: write(3, b'hi') -> 2"
    assert lab.state().bytes == 2
    lab.close("writer 1")
    assert repr(lab.read("reader")) == "reader: read(3, 100) -> b'hi'"
    call = lab.read("reader")  # writer 2 is still there: the read blocks, in the reader process
    assert call.result is None and proc(lab, "reader").state == "blocked in read()"
    assert sleeping_in(pid(lab, "reader")) == {"read"}
    with pytest.raises(ExplorerError, match=r"cannot read: the reader is in read\(\)"):
        lab.read("reader")
    lab.close("writer 2")
    assert repr(lab.state().calls[-2]) == "reader: read(3, 100) -> b'' (end of file)"
    assert proc(lab, "reader").state == "open"


def test_a_blocked_read_gets_the_next_write(lab):
    lab.open("reader")
    lab.open("writer 1")
    lab.read("reader", 5)
    assert proc(lab, "reader").kind == "blocked"
    lab.write("writer 1", "hello world")
    assert repr(lab.state().calls[-2]) == "reader: read(3, 5) -> b'hello'"
    assert lab.state().bytes == 6  # the rest waits in the pipe


def test_non_blocking_read_switches_the_descriptor_with_fcntl(lab):
    lab.open("reader")
    lab.open("writer 1")
    assert repr(lab.read("reader", nonblock=True)) == "reader: read(3, 100) -> EAGAIN"
    # as os.set_blocking(3, False) does: the flags it has, and O_NONBLOCK; the access mode stays
    assert repr(lab.state().calls[-2]) == "reader: fcntl(3, F_SETFL, flags | O_NONBLOCK) -> 0"
    assert proc(lab, "reader").flags == "O_RDONLY|O_NONBLOCK"
    assert repr(lab.read("reader", nonblock=True)) == "reader: read(3, 100) -> EAGAIN"  # no second fcntl
    assert [c.text.split("(")[0] for c in lab.state().calls[-3:]] == ["fcntl", "read", "read"]
    lab.read("reader")  # blocking again: fcntl back, then the read blocks
    assert repr(lab.state().calls[-2]) == "reader: fcntl(3, F_SETFL, flags & ~O_NONBLOCK) -> 0"
    assert proc(lab, "reader").flags == "O_RDONLY"
    assert proc(lab, "reader").state == "blocked in read()"


def test_o_nonblock_on_open_enxio_and_the_first_empty_read(lab):
    call = lab.open("writer 1", nonblock=True)
    assert repr(call) == 'writer 1: open("my_pipe", O_WRONLY|O_NONBLOCK) -> ENXIO' and call.error
    assert proc(lab, "writer 1").state == "not open yet"
    assert lab.open("reader", nonblock=True).result == "fd 3"  # no waiting
    assert lab.read("reader", nonblock=True).result == "b'' (no writer yet)"  # not an end of file
    assert lab.poll("reader").result == "nothing"  # and no POLLHUP before the first writer
    lab.open("writer 1")
    assert lab.read("reader", nonblock=True).result == "EAGAIN"
    lab.close("writer 1")  # a writer came and went: now b'' is an end of file
    assert lab.read("reader", nonblock=True).result == "b'' (end of file)"
    lab.close("reader")  # nobody holds the FIFO: the pipe is gone, and with it its writers' past
    lab.open("reader", nonblock=True)
    assert lab.read("reader", nonblock=True).result == "b'' (no writer yet)"


def test_o_rdwr_never_waits_and_never_sees_end_of_file(lab):
    assert repr(lab.open("reader", rdwr=True)) == 'reader: open("my_pipe", O_RDWR) -> fd 3'
    assert repr(lab.open("writer 1", rdwr=True)) == 'writer 1: open("my_pipe", O_RDWR) -> fd 3'
    lab.write("writer 1", "x")
    lab.close("writer 1")
    assert lab.read("reader", nonblock=True).result == "b'x'"
    assert lab.read("reader", nonblock=True).result == "EAGAIN"  # not b'': the reader is a writer too
    assert lab.poll("reader").result == "nothing"


def test_pollhup_is_sticky_until_a_writer_opens(lab):
    lab.open("reader", nonblock=True)
    lab.open("writer 1")
    assert lab.poll("writer 1").result == "POLLOUT"
    lab.write("writer 1", "bye")
    lab.close("writer 1")
    assert [lab.poll("reader").result, lab.read("reader").result] == ["POLLIN|POLLHUP", "b'bye'"]
    for _ in range(3):
        assert lab.poll("reader").result == "POLLHUP"
        assert lab.read("reader", nonblock=True).result == "b'' (end of file)"
    lab.open("writer 1")
    assert lab.poll("reader").result == "nothing"
    lab.close("reader")
    assert lab.poll("writer 1").result == "POLLOUT|POLLERR"  # no reader left


def test_a_full_pipe_blocks_the_writer_and_a_read_releases_it(lab):
    lab.open("reader")
    lab.open("writer 1")
    assert lab.write("writer 1", b"x" * 100_000).result is None
    state = lab.state()
    assert (state.bytes, proc(lab, "writer 1").waits_for) == (65536, "room in the pipe")
    assert sleeping_in(pid(lab, "writer 1")) == {"write"}
    assert lab.read("reader", 4096).result == "b'xxxxxxxxxx'... (4096 bytes)"
    assert lab.state().bytes == 65536 and proc(lab, "writer 1").kind == "blocked"  # refilled at once
    lab.read("reader", 65536)
    assert repr(lab.state().calls[-3]) == "writer 1: write(3, <100000 bytes>) -> 100000"
    assert lab.state().bytes == 100_000 - 4096 - 65536


def test_the_reader_leaves_python_writer_gets_partial_count_c_writer_dies(lab):
    """Issue 10 item 9: SIGPIPE comes during the blocked write itself."""
    c_writer = lab.add("writer", sigpipe="default")
    for name in ("reader", "writer 1", c_writer):
        lab.open(name)
    lab.write("writer 1", b"x" * 100_000)
    lab.write(c_writer, "0123456789")
    assert proc(lab, c_writer).kind == "blocked"
    c_pid = pid(lab, c_writer)
    assert repr(lab.exit("reader")) == "reader: exit(0) -> status 0"
    calls = {c.who: c for c in lab.state().calls}
    assert calls["writer 1"].result == "65536 (of 100000)"
    assert calls[c_writer].result == "never returned: killed by SIGPIPE" and calls[c_writer].error
    assert proc(lab, c_writer).state == "killed by SIGPIPE" and not alive(c_pid)
    assert proc(lab, "reader").state == "exited with status 0"
    assert lab.write("writer 1", "more").result == "EPIPE"
    assert lab.state().bytes == 65536  # unread bytes stay while a writer has the FIFO open


def test_a_c_like_writer_with_no_reader_dies_at_once(lab):
    c_writer = lab.add("writer", sigpipe="default")
    lab.open("reader")
    lab.open(c_writer)
    lab.close("reader")
    assert lab.write(c_writer, "x").result == "never returned: killed by SIGPIPE"


def test_add_and_remove_writers_even_while_blocked(lab):
    assert [lab.add("writer"), lab.add("writer")] == ["writer 2", "writer 3"]
    lab.open("writer 3")
    blocked = pid(lab, "writer 3")
    lab.remove("writer 3")
    assert lab.names == ["reader", "writer 1", "writer 2"] and gone_within([blocked])
    assert lab.add("writer") == "writer 4" and lab.add("reader") == "reader 2"
    assert lab.add("writer 3") == "writer 3" and lab.add("writer") == "writer 5"  # a name, as in a cell
    with pytest.raises(ExplorerError, match="^writer 2 is already there$"):  # the cell run again
        lab.add("writer 2")
    assert len(lab.names) == 7
    lab.reset(writers=2)
    assert lab.names == ["reader", "writer 1", "writer 2"] and lab.state().calls == ()


def test_refused_actions_say_why(lab):
    assert lab.why_not("reader", "read") == "the reader does not have the FIFO open"
    assert lab.why_not("reader", "write") == "a reader does not write here"
    assert lab.why_not("writer 1", "read") == "a writer does not read here"
    assert lab.why_not("nobody", "open") == "there is no process 'nobody'"
    with pytest.raises(ExplorerError, match="^cannot close: writer 1 does not have the FIFO open$"):
        lab.close("writer 1")
    lab.open("writer 1")
    with pytest.raises(ExplorerError) as refused:  # the cell run again
        lab.open("writer 1")
    # In Jupyter: one line, not a traceback
    assert refused.value._render_traceback_() == [
        "ExplorerError: cannot open: writer 1 is in open(): it can do nothing else until that returns."
        " (Lost? reset() starts afresh.)"
    ]
    lab.open("reader")
    with pytest.raises(ExplorerError, match="^cannot open: the reader already has the FIFO open$"):
        lab.open("reader")
    lab.read("reader")
    assert lab.why_not("reader", "close").startswith("the reader is in read(): it can do nothing else")
    assert lab.why_not("reader", "exit") is None
    lab.exit("reader")
    assert lab.why_not("reader", "open") == "the reader has exited"
    assert lab.why_not("reader", "remove") is None
    with pytest.raises(ValueError):
        lab.add("listener")


def test_no_action_blocks_the_caller(lab):
    lab.add("writer")
    start = time.monotonic()
    lab.open("writer 1")  # blocks in the writer process
    lab.open("reader")
    lab.read("reader")  # blocks in the reader process
    lab.write("writer 1", b"y" * 200_000)  # the reader takes some, then the writer blocks
    lab.open("writer 2")
    lab.exit("writer 1")
    assert time.monotonic() - start < 3


def test_byte_count_and_capacity_are_observed_not_assumed(lab):
    lab.open("reader")
    lab.open("writer 1")
    lab.write("writer 1", "12345")
    outsider = os.open(lab.fifo, os.O_WRONLY | os.O_NONBLOCK)  # changes the pipe behind the explorer
    try:
        os.write(outsider, b"67")
        fcntl.fcntl(outsider, fcntl.F_SETPIPE_SZ, 16384)
        lab.poll("reader")  # any action asks a process again
        state = lab.state()
        assert (state.bytes, state.capacity) == (7, 16384)
        assert "7 bytes in the pipe, capacity 16384 (4 pages of 4096)" in repr(state)
    finally:
        os.close(outsider)


def test_without_wchan_a_call_is_never_called_blocked(lab, monkeypatch):
    monkeypatch.setattr(explorer_module, "WCHAN", "/nonexistent/{pid}/{tid}")
    start = time.monotonic()
    lab.open("reader")
    assert time.monotonic() - start < 3
    reader = proc(lab, "reader")
    assert (reader.state, reader.kind, reader.waits_for) == ("opening", "busy", None)


def test_a_call_whose_thread_has_ended_is_not_taken_for_settled(monkeypatch):
    """A writer killed by SIGPIPE loses its thread before its exit is reaped: wait for the exit."""
    p = explorer_module._Proc("writer 2", "writer", "default")
    p.pid = os.getpid()
    p.call = {"op": "write", "thread": 2**22 + 1, "seen": 0, "since": time.monotonic() - 10}  # > pid_max
    assert not p.asleep()
    monkeypatch.setattr(explorer_module, "WCHAN", "/nonexistent/{pid}/{tid}")  # a system without wchan
    assert p.asleep()


def test_interrupting_the_kernel_does_not_reach_the_processes(lab):
    assert all(os.getsid(p) != os.getsid(0) for p in map(lambda n: pid(lab, n), lab.names))
    lab.open("reader")
    os.kill(pid(lab, "reader"), signal.SIGINT)  # even sent to it directly, it is ignored
    assert lab.open("writer 1").result == "fd 3"


@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=[e[0][:30] for e in EXPERIMENTS])
def test_every_guided_experiment_shows_its_answer(lab, experiment):
    set_up(lab, experiment)
    for step in experiment[4].split(";"):
        run_step(lab, step)
    state = lab.state()
    shown = repr(state) + "\n" + "\n".join(map(repr, state.calls))
    for expected in experiment[6]:
        assert expected in shown, f"{experiment[0]}: {expected!r} not in\n{shown}"


def test_shutdown_ends_everything_even_while_blocked_and_twice():
    lab = FifoExplorer(writers=2)
    lab.open("writer 1")
    lab.open("reader", nonblock=True)
    lab.write("writer 1", b"z" * 100_000)
    pids, folder = [pid(lab, n) for n in lab.names], lab.fifo.parent
    lab.shutdown()
    lab.shutdown()
    assert gone_within(pids) and not folder.exists()
    assert repr(lab.state()) == "FIFO my_pipe: the explorer is shut down (processes ended, FIFO removed)"
    assert lab.why_not("reader", "open") == "the explorer is shut down"
    with pytest.raises(ExplorerError):
        lab.add("writer")
    lab.reset()  # starts again: a new folder and FIFO, fresh processes
    try:
        assert not lab.closed and lab.fifo.parent != folder and stat.S_ISFIFO(lab.fifo.lstat().st_mode)
        assert lab.names == ["reader", "writer 1"] and all(alive(pid(lab, n)) for n in lab.names)
        lab.open("reader", nonblock=True)
        assert lab.open("writer 1").result == "fd 3"
    finally:
        lab.shutdown()
    assert not lab.fifo.parent.exists()


def test_a_new_explorer_of_the_same_name_ends_the_previous_one():
    """Setup run again: the previous explorer's processes end; another name is left alone."""
    first, other = FifoExplorer(), FifoExplorer("your_pipe")
    pids = [pid(first, n) for n in first.names]
    second = FifoExplorer()
    try:
        assert first.closed and gone_within(pids) and not first.fifo.parent.exists()
        assert not other.closed and not second.closed and second.fifo.exists()
    finally:
        for lab in (first, second, other):
            lab.shutdown()


def test_with_block_and_garbage_collection_clean_up():
    with FifoExplorer() as lab:
        lab.open("reader")
        pids, folder = [pid(lab, n) for n in lab.names], lab.fifo.parent
    assert gone_within(pids) and not folder.exists()
    lab = FifoExplorer()
    lab.open("writer 1")
    pids, folder = [pid(lab, n) for n in lab.names], lab.fifo.parent
    del lab
    gc.collect()
    assert gone_within(pids) and not folder.exists()


KERNEL = """
import json, os, signal, sys
from ipc_helpers.explorer import FifoExplorer
lab = FifoExplorer(writers=2)
lab.open("reader")
print(json.dumps({{"pids": [p.pid for p in lab.state().processes], "fifo": str(lab.fifo)}}), flush=True)
{ending}
"""


@pytest.mark.parametrize(
    "ending", ["os.kill(os.getpid(), signal.SIGKILL)", "os.killpg(0, signal.SIGKILL)", "sys.exit(0)"]
)
def test_a_kernel_that_dies_leaves_no_process_and_no_fifo(ending, tmp_path):
    # start_new_session: killpg must not reach the test run itself
    out = subprocess.run(
        [sys.executable, "-c", KERNEL.format(ending=ending)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
        start_new_session=True,
    )
    info = json.loads(out.stdout.splitlines()[0])
    assert gone_within(info["pids"]), "processes outlived their kernel"
    deadline = time.monotonic() + 5
    while os.path.exists(os.path.dirname(info["fifo"])) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not os.path.exists(os.path.dirname(info["fifo"]))


def test_processes_end_themselves_after_their_lifetime():
    with FifoExplorer(lifetime=1) as lab:
        pids = [pid(lab, n) for n in lab.names]
        assert gone_within(pids, 10)
        deadline = time.monotonic() + 5  # the explorer learns it from waitpid, a moment later
        while any(p.kind != "killed" for p in lab.state().processes) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [p.state for p in lab.state().processes] == ["killed by SIGALRM"] * 2
