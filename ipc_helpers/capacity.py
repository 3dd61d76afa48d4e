"""Helpers for chapter 07: how much a pipe holds, atomic writes, broken pipes.

Everything here works on a FIFO's file descriptors or runs a separate
process.  Nothing waits without a bound: every wait has a ``timeout`` and
raises :class:`~ipc_helpers.FifoTimeoutError` when it runs out.

The separate processes run two tiny programs, ``SET_SIZE_PROGRAM`` and
``RECORD_WRITER_PROGRAM`` below.  They use only the standard library, so
Python runs them with ``-I -S`` (no site-packages, no ``ipc_helpers``): each
starts in about 15 ms instead of 70, which adds up when a cell starts eight.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import FifoTimeoutError
from .fifo import bytes_waiting  # noqa: F401 - the package's one FIONREAD helper, used here by the notebook
from .procs import FifoPeer

StrPath = str | os.PathLike[str]

#: ``fcntl.F_GETPIPE_SZ`` / ``F_SETPIPE_SZ`` exist only on Linux (Python 3.10+).
HAS_PIPE_SIZE = hasattr(fcntl, "F_GETPIPE_SZ") and hasattr(fcntl, "F_SETPIPE_SZ")


# --------------------------------------------------------------------------
# Looking into a pipe
# --------------------------------------------------------------------------


@contextlib.contextmanager
def both_ends(path: StrPath) -> Iterator[tuple[int, int]]:
    """Open both ends of the FIFO at ``path`` in this process; yield ``(read_fd, write_fd)``.

    Never blocks: the read end is opened first with ``O_NONBLOCK`` (that
    always succeeds), then the write end with ``O_NONBLOCK`` (that succeeds
    because a reader now exists).  Both descriptors are non-blocking: a write
    into a full pipe raises ``BlockingIOError``, and so does a read from an
    empty one.  Both are closed when the block ends.
    """
    r = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        w = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except BaseException:
        os.close(r)
        raise
    try:
        yield r, w
    finally:
        os.close(w)
        os.close(r)


def pipe_size(fd: int) -> int | None:
    """The capacity in bytes of the pipe behind ``fd`` (Linux), or None where it cannot be asked."""
    if not HAS_PIPE_SIZE:
        return None
    return fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)


def set_pipe_size(fd: int, size: int) -> int:
    """Ask the kernel to make the pipe behind ``fd`` hold ``size`` bytes; return the size it chose.

    Linux only.  Never blocks.  The kernel rounds ``size`` up (to a
    power-of-two number of memory pages).

    Raises:
        PermissionError: (EPERM) ``size`` is above ``/proc/sys/fs/pipe-max-size``
            and the process lacks the CAP_SYS_RESOURCE capability.
        OSError: EBUSY if the pipe already holds more than ``size`` bytes.
        NotImplementedError: not on Linux.
    """
    if not HAS_PIPE_SIZE:
        raise NotImplementedError("F_SETPIPE_SZ exists only on Linux")
    return fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, size)


def fill(fd: int, chunk: bytes) -> int:
    """Write ``chunk`` into the non-blocking ``fd`` again and again until the pipe is full.

    Returns the number of bytes that went in.  Never blocks (``fd`` must be
    non-blocking): stops at the first ``BlockingIOError``.  A partial write
    (possible for chunks bigger than ``select.PIPE_BUF``) is counted.
    """
    if os.get_blocking(fd):
        raise ValueError("fill() needs a non-blocking descriptor (it would wait forever)")
    total = 0
    while True:
        try:
            total += os.write(fd, chunk)
        except BlockingIOError:
            return total


def wait_for_writes(writer: FifoPeer, count: int, *, timeout: float = 10) -> list[dict]:
    """Wait until the launched ``writer`` has reported ``count`` finished ``os.write`` calls.

    Returns its ``"wrote"`` events so far, in order: at least ``count``, more
    if it has done more.  Blocks until then (see
    :meth:`~ipc_helpers.FifoPeer.wait_for_event`).  Raises
    :class:`FifoTimeoutError` after ``timeout`` seconds, and
    :class:`PeerError` if the writer exits having reported fewer.
    """
    writer.wait_for_event("wrote", timeout, count=count)
    return [e for e in writer.events if e["event"] == "wrote"]


# --------------------------------------------------------------------------
# The pipe-max-size limit, seen by an ordinary (unprivileged) process
# --------------------------------------------------------------------------


def pipe_max_size() -> int | None:
    """The largest size an unprivileged process may ask for (``/proc/sys/fs/pipe-max-size``), or None."""
    try:
        with open("/proc/sys/fs/pipe-max-size") as f:
            return int(f.read())
    except OSError:
        return None


# The program set_size_as_unprivileged runs: python -I -S -c SET_SIZE_PROGRAM SIZE
SET_SIZE_PROGRAM = """
import errno, fcntl, os, sys
if os.geteuid() == 0:  # root may hold CAP_SYS_RESOURCE, which lifts the limit
    try:
        os.setgid(65534)
        os.setuid(65534)  # become "nobody": leaving uid 0 drops every capability
    except OSError:
        pass  # e.g. a user namespace without that id: try as we are
r, w = os.pipe()
try:
    print(fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, int(sys.argv[1])))
except OSError as exc:
    print(errno.errorcode[exc.errno])
"""


def set_size_as_unprivileged(size: int, *, timeout: float = 20) -> str:
    """Try ``F_SETPIPE_SZ`` with ``size`` in a separate process without privileges.

    Returns what happened, in a form that is the same on every machine: the
    new size as a number (``"1048576"``) or the error's name (``"EPERM"``).
    The child process gives up root (it switches to the "nobody" user id
    65534) if it runs as root, because root may hold CAP_SYS_RESOURCE, which
    lifts the limit.  Blocks until the child exits; raises
    :class:`FifoTimeoutError` after ``timeout`` seconds.
    """
    argv = [sys.executable, "-I", "-S", "-c", SET_SIZE_PROGRAM, str(size)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise FifoTimeoutError(f"the set-size process was still running after {timeout:g} s") from None
    if done.returncode != 0:
        raise RuntimeError(f"set-size child failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout.strip()


# --------------------------------------------------------------------------
# Many writers into one FIFO: are their records kept whole?
# --------------------------------------------------------------------------


# The program each writer of RecordWriters runs:
# python -I -S -c RECORD_WRITER_PROGRAM PATH LETTER SIZE COUNT LIFETIME
RECORD_WRITER_PROGRAM = """
import os, signal, sys
path, letter, size, count, lifetime = sys.argv[1:]
signal.signal(signal.SIGALRM, signal.SIG_DFL)
signal.alarm(int(lifetime))  # a safety net: never outlive the notebook
fd = os.open(path, os.O_WRONLY)  # blocks until a reader opens the FIFO
print("ready", flush=True)
sys.stdin.buffer.read()  # the start line: wait until the parent closes our stdin
record = letter.encode("ascii") * int(size)
for _ in range(int(count)):
    assert os.write(fd, record) == len(record)  # one write per record
os.close(fd)
"""


class RecordWriters:
    """Several writer processes that each write ``count`` records of ``size`` bytes into one FIFO.

    Writer *i* fills each record with one letter (``A``, ``B``, ...), and sends
    each record with a single ``os.write`` call.  All writers first open the
    FIFO (a blocking open, so somebody must open it for reading), then wait
    at a start line until :meth:`go`, so that they really write at the same
    time.  Each writer is a small Python process of its own that runs
    ``RECORD_WRITER_PROGRAM``.  Use it as a context manager: leaving the
    block kills any writer still running and reaps them all::

        with RecordWriters(fifo, writers=4, size=4096, count=100) as writers:
            fd = open_fifo(fifo, "r", timeout=10)
            writers.go(timeout=10)
            data = read_all(fd, timeout=30)
            writers.wait(timeout=10)
    """

    def __init__(self, path: StrPath, *, writers: int, size: int, count: int, lifetime: float = 60):
        self.letters = [chr(ord("A") + i) for i in range(writers)]
        self.size = size
        self.count = count
        self._procs: list[subprocess.Popen] = []
        try:
            for letter in self.letters:
                argv = [sys.executable, "-I", "-S", "-c", RECORD_WRITER_PROGRAM]
                argv += [os.fspath(path), letter, str(size), str(count), str(max(1, int(lifetime)))]
                pipes = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
                self._procs.append(subprocess.Popen(argv, **pipes))
        except BaseException:
            self.kill()
            raise

    def go(self, *, timeout: float) -> None:
        """Wait until every writer has opened the FIFO, then let them all start writing.

        Blocks until each writer has said "ready" (it has opened the FIFO,
        so a reader must exist).  Raises :class:`FifoTimeoutError` if one is
        not ready after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        for proc in self._procs:
            assert proc.stdout is not None
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([proc.stdout], [], [], max(0, remaining))
            if not ready or proc.stdout.readline() != b"ready\n":
                raise FifoTimeoutError(f"a writer was not ready within {timeout:g} s")
        for proc in self._procs:  # closing stdin is the start signal
            if proc.stdin is not None:
                proc.stdin.close()
                proc.stdin = None

    def wait(self, *, timeout: float) -> list[int]:
        """Wait for every writer to exit; return their exit statuses (0 = all records written).

        Raises :class:`FifoTimeoutError` if one is still running after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        statuses = []
        for proc in self._procs:
            try:
                statuses.append(proc.wait(max(0.01, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                raise FifoTimeoutError(f"a writer was still running after {timeout:g} s") from None
        return statuses

    def kill(self) -> None:
        """Kill the writers that are still running and reap all of them."""
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
            if proc.stdin is not None:
                proc.stdin.close()
                proc.stdin = None
            proc.communicate()

    def __enter__(self) -> RecordWriters:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()


@dataclass
class RecordCheck:
    """What :func:`check_records` found in the bytes one reader received."""

    records: int  #: how many whole records the bytes could hold (total // size)
    broken: int  #: runs of one letter whose length is not a whole number of records
    switches: int  #: how often the letter changed: >0 means the writers took turns


def check_records(data: bytes, size: int) -> RecordCheck:
    """Check records written by :class:`RecordWriters`.

    A record that arrived in one piece leaves a run of its letter whose length
    is a whole multiple of ``size``.  If another writer's bytes landed in the
    middle of a record, the runs around them are not: each such run counts as
    broken.
    """
    runs = run_lengths(data)
    broken = sum(1 for n in runs if n % size)
    return RecordCheck(records=len(data) // size, broken=broken, switches=max(0, len(runs) - 1))


def run_lengths(data: bytes) -> list[int]:
    """The lengths of the runs of equal bytes in ``data``: ``b"AABCC"`` gives ``[2, 1, 2]``."""
    runs, start = [], 0
    while start < len(data):
        other = re.compile(b"[^" + re.escape(data[start : start + 1]) + b"]")  # any other byte
        found = other.search(data, start)  # a fast scan, even over megabytes
        end = found.start() if found else len(data)
        runs.append(end - start)
        start = end
    return runs


# --------------------------------------------------------------------------
# A program whose reader goes away
# --------------------------------------------------------------------------


@dataclass
class ToolResult:
    """How a program ended after its reader went away (see :func:`reader_leaves_early`)."""

    returncode: int  #: negative -N: killed by signal N
    stderr: str  #: what it printed on its standard error
    received: bytes  #: what the reader took before it closed


def reader_leaves_early(
    argv: list[str],
    path: StrPath,
    *,
    take: int = 5,
    restore_signals: bool = True,
    timeout: float = 10,
) -> ToolResult:
    """Run ``argv`` with its standard output going into the FIFO at ``path``; read ``take`` bytes; close.

    This process opens the FIFO's read end, starts the program with the write
    end as its standard output (so the program writes into the FIFO), reads
    ``take`` bytes, and closes the read end while the program is still
    writing.  The program runs with ``LC_ALL=C`` so its messages are in
    English, without colours in Python's tracebacks (``PYTHON_COLORS=0``,
    ``NO_COLOR=1``: ipykernel sets ``FORCE_COLOR=1`` for its children, and
    Python 3.13 then colours tracebacks), and with ``restore_signals``
    passed to ``subprocess``.

    Blocks until the program exits; it is killed (and this raises
    :class:`FifoTimeoutError`) if it is still running after ``timeout`` seconds.
    """
    r = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        w = os.open(path, os.O_WRONLY | os.O_CLOEXEC)  # does not block: we are a reader
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=w,
                stderr=subprocess.PIPE,
                restore_signals=restore_signals,
                env={**os.environ, "LC_ALL": "C", "PYTHON_COLORS": "0", "NO_COLOR": "1"},
            )
        finally:
            os.close(w)  # only the program holds the write end now
        try:
            os.set_blocking(r, True)  # safe: a writer (the program) is connected
            received = b""
            while len(received) < take:
                ready, _, _ = select.select([r], [], [], timeout)
                chunk = os.read(r, take - len(received)) if ready else b""
                if not chunk:
                    break
                received += chunk
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
    finally:
        os.close(r)  # the reader goes away
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise FifoTimeoutError(f"{argv[0]} was still running after {timeout:g} s") from None
    return ToolResult(proc.returncode, err.decode("utf-8", "replace"), received)


def signal_name(returncode: int) -> str:
    """``"killed by SIGPIPE"`` for -13, ``"exit status 1"`` for 1: a return code in words."""
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exit status {returncode}"
