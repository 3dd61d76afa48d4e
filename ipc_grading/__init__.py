"""Bounded test tools for the graded assignments (docs/assignments/).

The assignments' test cells run the learner's code against real FIFOs and real
processes.  Every call here has a time limit, so that an answer which blocks
forever costs its points instead of hanging the notebook or the grader:

- :func:`call_bounded` runs a learner's function in a thread and stops waiting
  after ``timeout`` seconds; it then completes any FIFO ``open()`` the thread
  is stuck in and raises an exception inside it, so the thread ends;
- :func:`spawn` starts a program (the learner's or a test peer) as a separate
  process, and :func:`reap` ends and reaps it (also on errors);
- :func:`start_writer` is a test peer that writes given pieces to a FIFO,
  with pauses between them.

Everything is made in a private temporary directory (:func:`private_dir`),
removed at the end.  Only the standard library is used.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Outcome",
    "call_bounded",
    "cpu_seconds",
    "private_dir",
    "process_state",
    "reap",
    "spawn",
    "start_writer",
    "unblock",
    "wait_for",
]


@contextlib.contextmanager
def private_dir() -> Iterator[Path]:
    """A new directory only we can use (mode 0700), removed with everything in it at the end."""
    path = Path(tempfile.mkdtemp(prefix="ipc-grading-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class Outcome:
    """What a bounded call did: ``kind`` is "returned", "raised" or "blocked" (did not finish in time)."""

    kind: str
    value: object = None
    seconds: float = 0.0

    def __str__(self) -> str:
        if self.kind == "returned":
            return f"returned {self.value!r}"
        if self.kind == "raised":
            return f"raised {type(self.value).__name__}: {self.value}"
        return f"did not finish within {self.seconds:.1f} s (it waits for something that never comes)"


class _Stop(BaseException):
    """Raised in a learner's thread that ran out of time (a BaseException: `except Exception` misses it)."""


def unblock(fifo: str | os.PathLike) -> None:
    """Complete any ``open()`` of ``fifo`` that another thread is stuck in, by opening the other end.

    Never blocks: both opens are non-blocking, and whatever they open is closed
    at once (a stuck reader then reads end of file; a stuck writer's next write
    fails with BrokenPipeError).
    """
    for flags in (os.O_RDONLY | os.O_NONBLOCK, os.O_WRONLY | os.O_NONBLOCK):
        try:
            os.close(os.open(fifo, flags))
        except OSError:
            pass


def call_bounded(
    fn: Callable[..., object],
    *args: object,
    timeout: float,
    fifos: tuple[str | os.PathLike, ...] = (),
    peers: tuple[subprocess.Popen, ...] = (),
) -> Outcome:
    """Run ``fn(*args)`` in a thread; give up on it after ``timeout`` seconds.

    When time is up, the thread is freed: the ``peers`` (processes the test
    started) are killed, so reads of their FIFOs end; any ``open()`` of one of
    ``fifos`` is completed (:func:`unblock`); and an exception is raised in the
    thread, which ends a busy loop.  Returns an :class:`Outcome`; never raises
    what ``fn`` raised.
    """
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["value"] = fn(*args)
        except _Stop:
            pass
        except BaseException as exc:  # noqa: BLE001 - the learner's exception is the result
            result["error"] = exc

    thread = threading.Thread(target=run, name="graded-call", daemon=True)
    start = time.monotonic()
    thread.start()
    thread.join(timeout)
    seconds = time.monotonic() - start
    if not thread.is_alive():
        if "error" in result:
            return Outcome("raised", result["error"], seconds)
        return Outcome("returned", result.get("value"), seconds)
    deadline = time.monotonic() + 5
    while thread.is_alive() and time.monotonic() < deadline:
        for peer in peers:
            reap(peer)
        for fifo in fifos:
            unblock(fifo)
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_Stop))
        thread.join(0.05)
    return Outcome("blocked", None, seconds)


_WRITER = r"""
import os, signal, sys, time
path, pause, hold, delay = sys.argv[1:]
signal.alarm(int(float(hold)) + 30)  # never outlive the test
pieces = [bytes.fromhex(line) for line in sys.stdin.read().split()]
time.sleep(float(delay))
fd = os.open(path, os.O_WRONLY)
for i, piece in enumerate(pieces):
    if i:
        time.sleep(float(pause))
    os.write(fd, piece)
time.sleep(float(hold))
os.close(fd)
"""


def start_writer(
    fifo: str | os.PathLike, *pieces: bytes, delay: float = 0.0, pause: float = 0.0, hold: float = 0.0
) -> subprocess.Popen:
    """A separate process that waits ``delay`` s, opens ``fifo`` for writing, writes each piece.

    It sleeps ``pause`` s between pieces and keeps the FIFO open ``hold`` s
    after the last one, then closes it and exits (within ``hold + 30`` s in
    any case).  The pieces reach it through its standard input (they may be
    too big for a command line).  :func:`reap` it when done.
    """
    args = [os.fspath(fifo), str(pause), str(hold), str(delay)]
    proc = spawn([sys.executable, "-I", "-S", "-c", _WRITER, *args], stdin=subprocess.PIPE)
    data = "\n".join(p.hex() for p in pieces) + "\n"
    stdin, proc.stdin = proc.stdin, None  # only the thread below uses it (communicate() leaves it alone)

    def feed() -> None:
        try:
            stdin.write(data)
        except OSError:  # killed before it read them all
            pass
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    threading.Thread(target=feed, name="writer-input", daemon=True).start()
    return proc


def spawn(argv: list[str], **kwargs: object) -> subprocess.Popen:
    """Start a program with stdin from /dev/null and its output captured as text."""
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen(argv, text=True, **kwargs)


def reap(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> tuple[str, str]:
    """Send ``sig`` if ``proc`` still runs, wait for it (5 s at most) and return its (stdout, stderr)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=5)
    return out or "", err or ""


def wait_for(predicate: Callable[[], object], timeout: float, step: float = 0.01) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` s have passed; return whether it became true."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux: /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_state(pid: int) -> str:
    """The process's scheduler state letter (Linux: /proc/PID/stat): "R" running or runnable, "S" asleep, ...

    A process busy in a loop is "R" whenever you look, however loaded the machine is (it waits for
    a CPU, not for an event); one that waits in read() or open() is "S".
    """
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]
