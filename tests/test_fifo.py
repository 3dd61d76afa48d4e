"""Unit tests for make_fifo, temp_fifo, Workspace, open_fifo and read_all."""

from __future__ import annotations

import errno
import os
import resource
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import support
from support import Workspace, launch_reader, launch_writer, open_fifo, path_kind, temp_fifo

import ipc_helpers
from ipc_helpers import FifoTimeoutError, NotAFifoError, make_fifo, read_all

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (not on Windows)")


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()


@pytest.fixture
def fds_unchanged():
    """Fail the test if it leaves a file descriptor open."""
    before = open_fds()
    yield
    # listdir itself opens one descriptor while it runs; compare after.
    assert open_fds() == before


# ---------------------------------------------------------------- make_fifo


@pytest.mark.parametrize("mode", [0o600, 0o620, 0o644, 0o666])
def test_make_fifo_mode_is_exact_despite_umask(tmp_path, mode):
    old = os.umask(0o077)
    try:
        p = make_fifo(tmp_path / "f", mode)
    finally:
        os.umask(old)
    st = os.lstat(p)
    assert stat.S_ISFIFO(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == mode
    assert isinstance(p, Path)


def test_make_fifo_returns_existing_fifo(tmp_path):
    p = make_fifo(tmp_path / "f")
    ino = os.lstat(p).st_ino
    assert make_fifo(p) == p
    assert os.lstat(p).st_ino == ino  # the same FIFO, not a new one


def test_make_fifo_accepts_str_path(tmp_path):
    p = make_fifo(str(tmp_path / "f"))
    assert p == tmp_path / "f" and p.is_fifo()


def test_make_fifo_refuses_regular_file_and_leaves_it_alone(tmp_path):
    f = tmp_path / "my_pipe"
    f.write_bytes(b"precious data")
    before = os.stat(f)
    with pytest.raises(NotAFifoError) as info:
        make_fifo(f)
    assert isinstance(info.value, FileExistsError)
    assert str(f) in str(info.value) and "regular file (13 bytes)" in str(info.value)
    assert info.value.filename == str(f)
    assert f.read_bytes() == b"precious data"
    assert os.stat(f).st_mtime_ns == before.st_mtime_ns


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda p: p.mkdir(), "a directory"),
        (lambda p: os.symlink("nowhere", p), "a dangling symbolic link to 'nowhere'"),
        (
            lambda p: (make_fifo(p.with_name("real")), os.symlink("real", p)),
            "a symbolic link to 'real' (a FIFO)",
        ),
    ],
    ids=["directory", "dangling-symlink", "symlink-to-fifo"],
)
def test_make_fifo_refuses_other_things(tmp_path, make, kind):
    p = tmp_path / "thing"
    make(p)
    before = os.lstat(p)
    with pytest.raises(NotAFifoError, match="not a FIFO") as info:
        make_fifo(p)
    assert info.value.kind == kind
    after = os.lstat(p)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)


def test_make_fifo_refuses_socket(tmp_path):
    p = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(p))
        with pytest.raises(NotAFifoError, match="Unix domain socket"):
            make_fifo(p)
    assert stat.S_ISSOCK(os.lstat(p).st_mode)


def test_make_fifo_missing_parent(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        make_fifo(tmp_path / "no" / "such" / "f")
    assert not (tmp_path / "no").exists()


@pytest.mark.skipif(sys.platform != "linux", reason="/proc and /sys are Linux")
@pytest.mark.parametrize(
    "where",
    [
        "/proc/ipc-tutorial-test",
        "/sys/ipc-tutorial-test",
        "/proc/self/ipc-tutorial-test",
        "/sys/kernel/ipc-tutorial-test",
    ],
)
def test_make_fifo_unusable_filesystems_give_clear_errors(where):
    with pytest.raises(OSError) as info:
        make_fifo(where)
    assert not isinstance(info.value, NotAFifoError)
    assert info.value.filename == where
    assert not os.path.lexists(where)
    if info.value.errno in (errno.EPERM, errno.EACCES, errno.EROFS):
        assert "cannot hold a FIFO" in str(info.value)


def test_make_fifo_readonly_directory(tmp_path):
    if os.geteuid() == 0 and sys.platform == "linux":
        # root ignores directory permissions unless CAP_DAC_OVERRIDE is dropped
        d = tmp_path / "ro"
        d.mkdir(mode=0o500)
        try:
            make_fifo(d / "f")
        except PermissionError as exc:
            assert "cannot hold a FIFO" in str(exc)
        else:
            pytest.skip("running as root with CAP_DAC_OVERRIDE: permissions are not enforced")
    else:
        d = tmp_path / "ro"
        d.mkdir(mode=0o500)
        with pytest.raises(PermissionError, match="cannot hold a FIFO"):
            make_fifo(d / "f")


RACE_SCRIPT = """
import sys, time
from ipc_helpers import make_fifo
start = float(sys.argv[2])
while time.time() < start:
    pass
make_fifo(sys.argv[1])
"""


def test_make_fifo_many_processes_at_once_all_succeed(tmp_path):
    for round_ in range(5):
        p = tmp_path / f"f{round_}"
        start = time.time() + 0.4
        procs = [
            subprocess.Popen([sys.executable, "-c", RACE_SCRIPT, str(p), str(start)], stderr=subprocess.PIPE)
            for _ in range(8)
        ]
        results = [(proc.wait(20), proc.stderr.read()) for proc in procs]
        for proc in procs:
            proc.stderr.close()
        assert results == [(0, b"")] * 8
        assert p.is_fifo()


def test_make_fifo_threads_race_with_removal(tmp_path):
    p = tmp_path / "f"
    errors: list[BaseException] = []

    def worker():
        for _ in range(200):
            try:
                make_fifo(p)
            except BaseException as exc:  # noqa: BLE001 - collected for the assert
                errors.append(exc)

    def remover():
        for _ in range(200):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass

    threads = [threading.Thread(target=worker) for _ in range(3)] + [threading.Thread(target=remover)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []


# ---------------------------------------------------------------- temp_fifo / Workspace


def test_temp_fifo_private_and_removed(tmp_path):
    with temp_fifo() as p:
        assert p.name == "my_pipe" and p.is_fifo()
        assert stat.S_IMODE(os.lstat(p).st_mode) == 0o600
        assert stat.S_IMODE(os.lstat(p.parent).st_mode) == 0o700
        assert p.parent.name.startswith("ipc-tutorial-")
        (p.parent / "extra").write_text("x")
    assert not p.parent.exists()


def test_temp_fifo_name_and_mode():
    with temp_fifo("other", 0o640) as p:
        assert p.name == "other"
        assert stat.S_IMODE(os.lstat(p).st_mode) == 0o640


def test_temp_fifo_removed_after_exception():
    with pytest.raises(RuntimeError):
        with temp_fifo() as p:
            raise RuntimeError("boom")
    assert not p.parent.exists()


def test_temp_fifo_removed_after_ctrl_c():
    with pytest.raises(KeyboardInterrupt):
        with temp_fifo() as p:
            raise KeyboardInterrupt
    assert not p.parent.exists()


def test_temp_fifo_two_at_once_are_distinct():
    with temp_fifo() as a, temp_fifo() as b:
        assert a != b and a.name == b.name


def test_workspace_cleanup_idempotent_and_on_gc():
    ws = Workspace()
    f = ws.fifo("a")
    assert f.is_fifo() and (ws / "a") == f
    ws.cleanup()
    ws.cleanup()
    assert ws.removed and not ws.path.exists()
    ws2 = Workspace()
    path = ws2.path
    del ws2
    assert not path.exists()


# ---------------------------------------------------------------- path_kind


def test_path_kind(tmp_path):
    assert path_kind(tmp_path / "none") == "nothing"
    assert path_kind(make_fifo(tmp_path / "f")) == "a FIFO"
    (tmp_path / "r").write_bytes(b"x")
    assert path_kind(tmp_path / "r") == "a regular file (1 byte)"
    assert path_kind("/dev/null") == "a character device"


# ---------------------------------------------------------------- open_fifo


def test_open_fifo_bad_mode(tmp_path):
    p = make_fifo(tmp_path / "f")
    for mode in ["rw", "rb", "", "R", 0]:
        with pytest.raises(ValueError, match="'r'"):
            open_fifo(p, mode)


def test_open_fifo_missing_path_never_creates(tmp_path, fds_unchanged):
    p = tmp_path / "missing"
    for mode in "rw":
        with pytest.raises(FileNotFoundError):
            open_fifo(p, mode, timeout=1)
        with pytest.raises(FileNotFoundError):
            open_fifo(p, mode)
    assert not os.path.lexists(p)


@pytest.mark.parametrize("mode", ["r", "w"])
@pytest.mark.parametrize("timeout", [None, 5])
def test_open_fifo_refuses_regular_file_untouched(tmp_path, mode, timeout, fds_unchanged):
    f = tmp_path / "my_pipe"
    f.write_bytes(b"keep me")
    mtime = os.stat(f).st_mtime_ns
    start = time.monotonic()
    with pytest.raises(NotAFifoError, match="regular file"):
        open_fifo(f, mode, timeout=timeout)
    assert time.monotonic() - start < 1
    assert f.read_bytes() == b"keep me" and os.stat(f).st_mtime_ns == mtime


@pytest.mark.parametrize("mode", ["r", "w"])
def test_open_fifo_refuses_directory_dev_null_and_symlinks(tmp_path, mode, fds_unchanged):
    make_fifo(tmp_path / "real")
    os.symlink("real", tmp_path / "link")
    os.symlink("gone", tmp_path / "dangling")
    for target in [tmp_path, "/dev/null", tmp_path / "link", tmp_path / "dangling"]:
        with pytest.raises(NotAFifoError):
            open_fifo(target, mode, timeout=5)
        with pytest.raises(NotAFifoError):
            open_fifo(target, mode)


@pytest.mark.parametrize("mode", ["r", "w"])
def test_open_fifo_timeout_leaves_nothing_open(tmp_path, mode, fds_unchanged):
    p = make_fifo(tmp_path / "f")
    start = time.monotonic()
    with pytest.raises(FifoTimeoutError) as info:
        open_fifo(p, mode, timeout=0.3)
    elapsed = time.monotonic() - start
    assert 0.3 <= elapsed < 2
    assert isinstance(info.value, TimeoutError)
    assert "nobody opened the FIFO for " + ("writing" if mode == "r" else "reading") in str(info.value)
    assert str(p) in str(info.value)
    time.sleep(0.05)  # the helper thread has finished
    assert [t for t in threading.enumerate() if t.name == "open_fifo"] == []


def test_open_fifo_timeout_zero(tmp_path, fds_unchanged):
    p = make_fifo(tmp_path / "f")
    with pytest.raises(FifoTimeoutError):
        open_fifo(p, "r", timeout=0)


@pytest.mark.parametrize("timeout", [None, 10])
def test_open_fifo_read_end_waits_for_writer_and_is_blocking(tmp_path, timeout):
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, b"hello", delay_before_open=0.3) as writer:
        start = time.monotonic()
        fd = open_fifo(p, "r", timeout=timeout)
        try:
            assert time.monotonic() - start >= 0.25
            assert os.get_blocking(fd)
            assert not os.get_inheritable(fd)
            assert read_all(fd, timeout=10) == b"hello"
        finally:
            os.close(fd)
        assert writer.wait(10) == 0


@pytest.mark.parametrize("timeout", [None, 10])
def test_open_fifo_write_end_waits_for_reader(tmp_path, timeout):
    p = make_fifo(tmp_path / "f")
    with launch_reader(p, delay_before_open=0.3) as reader:
        start = time.monotonic()
        fd = open_fifo(p, "w", timeout=timeout)
        assert time.monotonic() - start >= 0.25
        assert os.get_blocking(fd)
        os.write(fd, "grüß dich".encode())
        os.close(fd)
        assert reader.wait(10) == 0
        assert reader.received.decode() == "grüß dich"


def test_open_fifo_returns_when_writer_opens_before_writing(tmp_path):
    """Like os.open: the open completes when the writer opens, not when data arrives."""
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, b"late", delay_before_write=1.0) as writer:
        fd = open_fifo(p, "r", timeout=10)
        opened = time.monotonic()
        try:
            assert read_all(fd, timeout=10) == b"late"
        finally:
            os.close(fd)
        writer.wait(10)
        ev = {e["event"]: e["t"] for e in writer.events}
        assert opened < ev["wrote"]
        assert opened - ev["opened"] < 0.5


def test_open_fifo_does_not_busy_poll(tmp_path):
    p = make_fifo(tmp_path / "f")
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.monotonic()
    with pytest.raises(FifoTimeoutError):
        open_fifo(p, "r", timeout=1.0)
    with pytest.raises(FifoTimeoutError):
        open_fifo(p, "w", timeout=1.0)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu / wall < 0.05, f"used {cpu:.3f} s of CPU in {wall:.2f} s"


def test_open_fifo_ctrl_c_while_waiting_leaves_nothing(tmp_path, fds_unchanged):
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals go to the main thread")
    import signal

    p = make_fifo(tmp_path / "f")

    def interrupt(*_):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    try:
        with pytest.raises(KeyboardInterrupt):
            open_fifo(p, "r", timeout=10)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    time.sleep(0.05)
    assert [t for t in threading.enumerate() if t.name == "open_fifo"] == []


# ---------------------------------------------------------------- read_all


def test_read_all_until_every_writer_closed(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, b"a" * 10, parts=[5, 5], pause=0.2, hold_open=0.3) as w:
        fd = open_fifo(p, "r", timeout=10)
        try:
            start = time.monotonic()
            assert read_all(fd) == b"a" * 10
            assert time.monotonic() - start >= 0.4  # waited for the close, not just the data
        finally:
            os.close(fd)
        assert w.wait(10) == 0


def test_read_all_large_payload(tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, data) as w:
        fd = open_fifo(p, "r", timeout=10)
        try:
            assert read_all(fd, timeout=20) == data
        finally:
            os.close(fd)
        assert w.wait(10) == 0


def test_read_all_timeout_keeps_partial_data(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, b"first-second", parts=[6, 6], pause=5) as w:
        fd = open_fifo(p, "r", timeout=10)
        try:
            with pytest.raises(FifoTimeoutError) as info:
                read_all(fd, timeout=0.5)
        finally:
            os.close(fd)
        assert info.value.partial == b"first-"
        assert "6 bytes received so far" in str(info.value)
        w.kill()


def test_read_all_timeout_no_data(tmp_path, fds_unchanged):
    p = make_fifo(tmp_path / "f")
    # A writer that opens and then says nothing.
    with launch_writer(p, b"x", delay_before_write=30) as w:
        fd = open_fifo(p, "r", timeout=10)
        try:
            with pytest.raises(FifoTimeoutError) as info:
                read_all(fd, timeout=0.3)
            assert info.value.partial == b""
            assert os.get_blocking(fd)  # left as it was
        finally:
            os.close(fd)
        w.kill()


def test_read_all_on_anonymous_pipe():
    r, w = os.pipe()
    os.write(w, b"xyz")
    os.close(w)
    try:
        assert read_all(r, timeout=5) == b"xyz"
    finally:
        os.close(r)


def test_read_all_does_not_change_pipe_capacity(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("F_GETPIPE_SZ is Linux-only")
    r, w = os.pipe()
    try:
        before = fcntl.fcntl(r, fcntl.F_GETPIPE_SZ)
        os.write(w, b"abc")
        os.close(w)
        read_all(r, timeout=5)
        assert fcntl.fcntl(r, fcntl.F_GETPIPE_SZ) == before
    finally:
        os.close(r)


def _pipe_with_writer(data: bytes, *, keep_open: bool = False, seed: int = 1):
    """An anonymous pipe's read end, and a thread writing ``data`` in uneven pieces into it."""
    import random

    r, w = os.pipe()
    rng = random.Random(seed)

    def write() -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(w, view[: rng.choice([1, 100, 4096, 65536, 300_000])]) :]
        if not keep_open:
            os.close(w)

    thread = threading.Thread(target=write)
    thread.start()
    return r, w, thread


@pytest.mark.parametrize("timeout", [None, 30])
@pytest.mark.parametrize("size", [0, 1, 1 << 20, (1 << 20) + 1, 9 << 20, 17 * (1 << 20) + 12_345])
def test_read_all_returns_exactly_the_bytes_written(size, timeout):
    """Sizes on both sides of where read_all moves from its first MiB to 8 MiB pieces."""
    data = os.urandom(size)
    r, _, thread = _pipe_with_writer(data)
    try:
        result = read_all(r, timeout=timeout)
        assert type(result) is bytes and result == data
        os.fstat(r)  # still open
    finally:
        thread.join(10)
        os.close(r)


def test_read_all_timeout_keeps_partial_data_beyond_the_first_mib():
    data = os.urandom(10 * (1 << 20) + 3)
    r, w, thread = _pipe_with_writer(data, keep_open=True)
    try:
        with pytest.raises(FifoTimeoutError) as info:
            read_all(r, timeout=1)  # the writer never closes: end of file cannot come
        assert info.value.partial == data
        assert f"{len(data)} bytes received so far" in str(info.value)
    finally:
        thread.join(10)
        os.close(w)
        os.close(r)


def test_read_all_keeps_a_non_blocking_descriptor_non_blocking():
    data = os.urandom(3 << 20)
    r, _, thread = _pipe_with_writer(data)
    os.set_blocking(r, False)
    try:
        assert read_all(r, timeout=30) == data
        assert not os.get_blocking(r)
    finally:
        thread.join(10)
        os.close(r)


def test_read_all_without_timeout_on_an_empty_non_blocking_descriptor_raises_at_once():
    """Without a timeout read_all just reads; a non-blocking descriptor keeps its behaviour: an
    empty pipe with a writer still open is BlockingIOError at once, and the mode is unchanged."""
    r, w = os.pipe()
    os.set_blocking(r, False)
    try:
        with pytest.raises(BlockingIOError):
            read_all(r)
        assert not os.get_blocking(r)
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("ends", ["end of file", "timeout"])
def test_read_all_gives_its_memory_back(monkeypatch, ends):
    """The 8 MiB pieces are closed when read_all returns or raises, not left to the garbage collector."""
    from ipc_helpers import fifo

    made = []

    def recording_piece():
        made.append(real_new_piece())
        return made[-1]

    real_new_piece = fifo._new_piece
    monkeypatch.setattr(fifo, "_new_piece", recording_piece)
    r, w, thread = _pipe_with_writer(os.urandom(20 << 20), keep_open=ends == "timeout")
    try:
        if ends == "timeout":
            with pytest.raises(FifoTimeoutError):
                read_all(r, timeout=1)
        else:
            read_all(r)
    finally:
        thread.join(10)
        if ends == "timeout":
            os.close(w)
        os.close(r)
    assert len(made) == 3
    assert all(piece.closed for piece in made)


# ---------------------------------------------------------------- import hygiene


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="uses /proc")
def test_import_has_no_side_effects():
    code = (
        "import os, sys, threading; before = set(os.listdir('/proc/self/fd'));"
        "import ipc_helpers;"
        "after = set(os.listdir('/proc/self/fd'));"
        "assert 'ipywidgets' not in sys.modules, 'ipywidgets imported';"
        "assert threading.active_count() == 1;"
        "assert before == after, (before, after);"
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "ok", out.stderr


def test_exceptions_are_public_and_subclass_builtins():
    assert issubclass(ipc_helpers.NotAFifoError, FileExistsError)
    assert issubclass(ipc_helpers.FifoTimeoutError, TimeoutError)
    e = FifoTimeoutError("no peer", "/x")
    assert str(e) == "no peer: '/x'" and e.partial == b""


def test_bytes_waiting_counts_unread_bytes_on_either_end(tmp_path):
    if not hasattr(os, "O_NONBLOCK"):
        pytest.skip("POSIX only")
    p = make_fifo(tmp_path / "f")
    r = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    w = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
    try:
        assert support.bytes_waiting(r) == 0
        os.write(w, b"x" * 1234)
        assert support.bytes_waiting(r) == support.bytes_waiting(w) == 1234
        assert os.stat(p).st_size == 0  # the file system never sees the data
        os.read(r, 1000)
        assert support.bytes_waiting(r) == 234
    finally:
        os.close(r)
        os.close(w)
    with pytest.raises(OSError):
        support.bytes_waiting(r)
