"""Unit tests for the test machinery (tests/support): launch_writer, launch_reader, ChildProcess."""

from __future__ import annotations

import os
import signal
import time

import pytest
from helpers import alive
from support import (
    ChildProcess,
    PeerError,
    blocked_in,
    launch_reader,
    launch_writer,
    open_fifo,
    run_script,
    wait_until_blocked,
)

from ipc_helpers import FifoTimeoutError, make_fifo, read_all

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (not on Windows)")


def read_from(path, timeout=10) -> bytes:
    fd = open_fifo(path, "r", timeout=timeout)
    try:
        return read_all(fd, timeout=timeout)
    finally:
        os.close(fd)


def test_writer_sends_str_as_utf8_and_exits_zero(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, "Hello 你好") as w:
        assert isinstance(w.pid, int) and w.pid != os.getpid()
        assert read_from(p) == "Hello 你好".encode()
        assert w.wait(10) == 0
        assert w.stderr == ""
        assert [e["event"] for e in w.events] == ["started", "open-start", "opened", "wrote", "closed"]


def test_writer_sends_bytes_unchanged(tmp_path):
    data = bytes(range(256)) * 1000
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, data) as w:
        assert read_from(p) == data
        assert w.wait(10) == 0


def test_writer_blocks_in_open_until_a_reader_comes(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, b"x") as w:
        w.wait_for_event("open-start", timeout=20)
        time.sleep(0.5)
        assert w.running
        assert read_from(p) == b"x"
        assert w.wait(10) == 0
        ev = {e["event"]: e["t"] for e in w.events}
        assert ev["opened"] - ev["open-start"] >= 0.4


def test_writer_parts_and_pause(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, b"abcdef", parts=[2, 4], pause=0.2) as w:
        assert read_from(p) == b"abcdef"
        w.wait(10)
        wrote = [e for e in w.events if e["event"] == "wrote"]
        assert [e["bytes"] for e in wrote] == [2, 4]
        assert wrote[1]["t"] - wrote[0]["t"] >= 0.15


linux_wchan = pytest.mark.skipif(
    not os.path.exists("/proc/self/wchan"), reason="needs /proc/PID/wchan (Linux)"
)


@linux_wchan
def test_wait_until_blocked_names_open_read_and_write(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, b"x" * 100_000) as w:
        assert w.wait_until_blocked("open", timeout=20) == "open"
        assert blocked_in(w.pid) == "open"
        fd = open_fifo(p, "r", timeout=10)
        try:
            assert "write" in w.wait_until_blocked("write", timeout=20)  # 100000 > the 64 KiB pipe
            assert len(read_all(fd, timeout=10)) == 100_000
        finally:
            os.close(fd)
        assert w.wait(10) == 0
    with launch_reader(p) as r:
        fd = open_fifo(p, "w", timeout=10)
        try:
            assert "read" in r.wait_until_blocked(timeout=20)  # any call: it is in read()
        finally:
            os.close(fd)
        assert r.wait(10) == 0
    assert blocked_in(r.pid) is None  # gone


@linux_wchan
def test_wait_until_blocked_is_not_fooled_by_sleep_or_exit(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, b"x", delay_before_open=30) as w:  # asleep, but not in a FIFO call
        w.wait_for_event("started", timeout=20)
        assert wait_until_blocked(w.pid, timeout=0.3) is None
        with pytest.raises(FifoTimeoutError, match="not blocked in open"):
            w.wait_until_blocked("open", timeout=0.3)
        w.kill()
        with pytest.raises(PeerError, match="exited before it blocked"):
            w.wait_until_blocked("open", timeout=5)
    assert wait_until_blocked(w.pid, "open", timeout=5) is None


class _SlowOutput:
    """A child's stdout that hands each chunk over only after 50 ms: a busy machine, exaggerated."""

    def __init__(self, stream):
        self.stream = stream

    def read1(self, size):
        chunk = self.stream.read1(size)
        time.sleep(0.05 if chunk else 0)
        return chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stream.close()


class _SlowReadingChild(ChildProcess):
    def _drain(self, name):
        if name == "stdout":
            self._popen.stdout = _SlowOutput(self._popen.stdout)
        super()._drain(name)


@linux_wchan
def test_wait_until_blocked_returns_with_all_output_printed_before(tmp_path):
    p = make_fifo(tmp_path / "f")
    program = "import os, sys; print('x' * 300_000, flush=True); os.open(sys.argv[1], os.O_RDONLY)"
    with _SlowReadingChild(["-c", program, str(p)]) as child:
        assert child.wait_until_blocked("open", timeout=20) == "open"
        assert len(child.stdout) == 300_001  # nothing still on its way through the pipe


def test_wait_until_blocked_without_wchan_gives_it_half_a_second(monkeypatch):
    import support.procs as procs

    monkeypatch.setattr(procs, "_wchan_works", lambda: False)  # as on macOS
    start = time.monotonic()
    assert wait_until_blocked(os.getpid(), "read", timeout=5) == "read"
    assert wait_until_blocked(os.getpid(), timeout=5) == "unknown"
    assert 0.9 <= time.monotonic() - start < 5


def test_writer_wait_until_read_splits_the_reads(tmp_path):
    p = make_fifo(tmp_path / "f")
    with (
        launch_reader(p, delay_before_read=0.3) as r,  # a slow reader: without waiting, the parts would merge
        launch_writer(p, b"aaaabbbbcc", parts=[4, 4, 2], wait_until_read=True) as w,
    ):
        assert w.wait(10) == 0
        assert r.wait(10) == 0
    assert r.reads == [b"aaaa", b"bbbb", b"cc", b""]


def test_reader_wait_for_bytes_gets_them_in_one_read(tmp_path):
    p = make_fifo(tmp_path / "f")
    with (
        launch_reader(p, wait_for_bytes=10) as r,
        launch_writer(p, b"aaaabbbbcc", parts=[4, 4, 2], pause=0.05) as w,
    ):
        assert w.wait(10) == 0
        assert r.wait(10) == 0
    assert r.reads == [b"aaaabbbbcc", b""]
    # a writer that leaves with fewer bytes does not keep the reader waiting
    with launch_reader(p, wait_for_bytes=10) as r, launch_writer(p, b"abc") as w:
        assert w.wait(10) == 0
        assert r.wait(10) == 0
    assert r.reads == [b"abc", b""]


def test_wait_for_event_notices_an_early_exit_at_once(tmp_path):
    # The outputs reach end of file a moment before the child can be reaped:
    # the wait must not sleep through its whole timeout because of that.
    for _ in range(5):
        with launch_writer(tmp_path / "missing", b"x") as w:  # exits at once: no such FIFO
            start = time.monotonic()
            with pytest.raises(PeerError, match="exited before 'opened'"):
                w.wait_for_event("opened", timeout=30)
            assert time.monotonic() - start < 5
        assert w.returncode == 1


def test_wait_for_event_count(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, b"abc", parts=[1, 1, 1]) as w:
        assert read_from(p) == b"abc"
        third = w.wait_for_event("wrote", count=3, timeout=10)
        assert third == [e for e in w.events if e["event"] == "wrote"][2]
        with pytest.raises(PeerError, match="exited before 'wrote' #4"):
            w.wait_for_event("wrote", count=4, timeout=10)


def test_writer_parts_must_add_up(tmp_path):
    with pytest.raises(ValueError, match="add up"):
        launch_writer(tmp_path / "f", b"abc", parts=[1, 1])


def test_context_manager_kills_and_reaps_a_waiting_writer(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, b"never read") as w:
        pid = w.pid
        time.sleep(0.2)
    assert w.returncode == -signal.SIGKILL
    assert not alive(pid)  # reaped: not even a zombie is left


def test_wait_timeout_raises_and_child_keeps_running(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, b"x") as w:
        with pytest.raises(FifoTimeoutError, match="still running after 0.2 s"):
            w.wait(0.2)
        assert w.running
        assert read_from(p) == b"x"
        assert w.wait(10) == 0


def test_writer_refuses_regular_file(tmp_path):
    f = tmp_path / "my_pipe"
    f.write_text("stale text, keep")
    with launch_writer(f, b"Hello") as w:
        assert w.wait(10) == 1
        assert "is not a FIFO" in w.stderr
        with pytest.raises(PeerError, match="exit status 1"):
            w.check()
    assert f.read_text() == "stale text, keep"


def test_writer_like_the_book_overwrites_a_regular_file(tmp_path):
    """require_fifo=False reproduces the book's bug: no blocking, stale bytes overwritten."""
    f = tmp_path / "my_pipe"
    f.write_text("stale text, keep")
    with launch_writer(f, b"Hello", require_fifo=False) as w:
        assert w.wait(10) == 0
    assert f.read_text() == "Hello text, keep"


def test_writer_missing_path(tmp_path):
    with launch_writer(tmp_path / "nope", b"x") as w:
        assert w.wait(10) == 1
        assert "no such FIFO" in w.stderr
    assert not (tmp_path / "nope").exists()


def test_writer_reports_broken_pipe(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, b"a" * 10, parts=[5, 5], pause=0.5) as w:
        fd = open_fifo(p, "r", timeout=10)
        assert os.read(fd, 5) == b"aaaaa"
        os.close(fd)  # the reader goes away before the second part
        assert w.wait(10) == 2
        assert "BrokenPipeError" in w.stderr and "after 5 of 10 bytes" in w.stderr
        with pytest.raises(PeerError, match="reader closed the FIFO"):
            w.check()


def test_crashing_child_stderr_reaches_caller(tmp_path):
    script = tmp_path / "crash.py"
    script.write_text("raise SystemExit('something went wrong: 42')\n")
    with run_script(script) as child:
        assert child.wait(10) == 1
        assert "something went wrong: 42" in child.stderr
        with pytest.raises(PeerError, match="something went wrong: 42"):
            child.check()


def test_run_script_cwd_and_args(tmp_path):
    script = tmp_path / "echo.py"
    script.write_text("import os, sys\nprint(os.getcwd(), *sys.argv[1:])\n")
    with run_script(script, "a b", "c", cwd=tmp_path) as child:
        assert child.wait(10) == 0
        assert child.stdout == f"{tmp_path} a b c\n"


def test_run_script_site_false_skips_site(tmp_path):
    script = tmp_path / "flags.py"
    script.write_text("import sys\nprint(sys.flags.no_site)\n")
    with run_script(script) as default, run_script(script, site=False) as bare:
        assert default.wait(10) == 0 and bare.wait(10) == 0
    assert (default.stdout, bare.stdout) == ("0\n", "1\n")


def test_reader_reads_until_eof(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_reader(p, read_size=4) as r, launch_writer(p, b"0123456789") as w:
        assert r.wait(10) == 0 and w.wait(10) == 0
        assert r.received == b"0123456789"
        assert r.reads[-1] == b""
        assert all(len(chunk) <= 4 for chunk in r.reads)


def test_reader_read_once_like_the_book(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_reader(p, read_size=22, read_once=True) as r:
        fd = open_fifo(p, "w", timeout=10)
        os.write(fd, b"Hello from pid [4194303]")
        os.close(fd)
        assert r.wait(10) == 0
        assert r.received == b"Hello from pid [419430"


def test_reader_output_larger_than_a_pipe_does_not_stall(tmp_path):
    """The reader reports every byte on its stdout; the parent must keep draining it."""
    data = os.urandom(300_000)
    p = make_fifo(tmp_path / "f")
    with launch_reader(p) as r, launch_writer(p, data) as w:
        assert w.wait(20) == 0  # waiting on the writer first must not deadlock
        assert r.wait(20) == 0
        assert r.received == data


def test_wait_for_event(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, b"x") as w:
        event = w.wait_for_event("open-start", timeout=20)
        assert event["event"] == "open-start" and "opened" not in [e["event"] for e in w.events]
        with pytest.raises(FifoTimeoutError, match="did not report 'opened'"):
            w.wait_for_event("opened", timeout=0.3)
    with launch_writer(tmp_path / "missing", b"x") as w:
        with pytest.raises(PeerError, match="exited before 'opened'"):
            w.wait_for_event("opened", timeout=20)


def test_lifetime_bounds_a_forgotten_child(tmp_path):
    p = make_fifo(tmp_path / "f")
    w = launch_writer(p, b"x", lifetime=1)
    try:
        assert w.wait(10) == -signal.SIGALRM
    finally:
        w.kill()


def test_no_shell_anywhere():
    import pathlib

    import ipc_helpers

    for source in pathlib.Path(ipc_helpers.__file__).parent.glob("*.py"):
        text = source.read_text()
        assert "shell=True" not in text and "os.system" not in text, source


def test_child_tracebacks_are_plain_text_even_when_color_is_forced(tmp_path, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # what a Jupyter kernel sets
    script = tmp_path / "boom.py"
    script.write_text("raise ValueError('boom')\n")
    with run_script(script) as child:
        assert child.wait(10) == 1
    assert "\x1b[" not in child.stderr
    assert child.stderr.strip().splitlines()[-1] == "ValueError: boom"
