"""Run the other end of a FIFO in a separate process.

A FIFO connects two processes, so a notebook needs a second one.  These
helpers start it with ``subprocess`` (never a fork of the kernel, never a
shell), capture everything it prints, and make sure it is gone at the end::

    with launch_writer(fifo, "Hello") as writer:
        fd = open_fifo(fifo, "r", timeout=5)
        ...
    # here the writer has exited, or has been killed, and has been reaped
"""

from __future__ import annotations

import base64
import functools
import json
import os
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

from ipc_helpers.errors import FifoTimeoutError

from .errors import PeerError

_CHILD = str(Path(__file__).with_name("_child.py"))
_STARTED: weakref.WeakSet[ChildProcess] = weakref.WeakSet()


def child_environment() -> dict[str, str]:
    """The environment for child Python processes: ours, without coloured output.

    Jupyter kernels set FORCE_COLOR, and from Python 3.13 on a child would then
    print its tracebacks with terminal colour codes; a learner should see plain
    text, the same on every Python version.
    """
    return {**os.environ, "PYTHON_COLORS": "0", "NO_COLOR": "1"}


# Where Linux says a process sleeps (the kernel function in /proc/PID/wchan)
# while a FIFO makes it wait, and which call that is.  The names changed over
# the years: pipe_wait (for both) before Linux 5.5, then pipe_read and
# pipe_write, and anon_pipe_read and anon_pipe_write in recent kernels.
_FIFO_WAITS = {
    "wait_for_partner": "open",
    "pipe_read": "read",
    "anon_pipe_read": "read",
    "pipe_write": "write",
    "anon_pipe_write": "write",
    "pipe_wait": "read or write",
}


def blocked_in(pid: int) -> str | None:
    """The FIFO call that process ``pid`` is asleep in right now, or ``None``.

    Returns ``"open"`` (waiting for the other end), ``"read"`` (the pipe is
    empty) or ``"write"`` (the pipe is full); ``"read or write"`` on kernels
    older than 5.5.  Linux names the kernel function a sleeping process waits
    in, in ``/proc/PID/wchan``; this translates it.  Returns ``None`` if the
    process is running, sleeps for another reason, has exited, or the system
    does not say (macOS).  Never blocks, never raises.
    """
    try:
        return _FIFO_WAITS.get(Path(f"/proc/{pid}/wchan").read_text())
    except OSError:
        return None


def _state(pid: int) -> str | None:
    """The one-letter state in /proc/PID/stat ("R" running, "S" sleeping, "Z" exited...), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return None


@functools.cache
def _wchan_works() -> bool:
    """Does this system name the function a sleeping process waits in?

    Asked once, with a thread of our own that is surely asleep (on a lock);
    a system without /proc, or one that shows "0" or a bare address, cannot
    tell us where a process sleeps.
    """
    if not Path("/proc/self/wchan").exists():
        return False
    gate = threading.Lock()
    gate.acquire()
    sleeper = threading.Thread(target=gate.acquire, daemon=True, name="wchan-check")
    sleeper.start()
    try:
        wchan = Path(f"/proc/self/task/{sleeper.native_id}/wchan")
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            name = wchan.read_text()
            if name not in ("", "0"):
                return not name.isdigit()
            time.sleep(0.001)
        return False
    except OSError:
        return False
    finally:
        gate.release()
        sleeper.join()


def wait_until_blocked(pid: int, call: str | None = None, *, timeout: float = 10) -> str | None:
    """Wait until process ``pid`` really sleeps in a FIFO call, not just about to make it.

    ``call`` is ``"open"``, ``"read"`` or ``"write"`` (``None``: any of them);
    see :func:`blocked_in`.  This is how a notebook knows, without guessing
    with ``time.sleep``, that the other process is waiting for its partner.
    Checks every millisecond; blocks at most ``timeout`` seconds.  Returns
    the call it found the process in, or ``None`` after ``timeout`` or once the
    process has exited.  Where the system does not say (macOS), it sleeps
    half a second instead and returns ``call`` (or ``"unknown"``).  Never raises.
    """
    if not _wchan_works():
        time.sleep(0.5)  # no way to ask: give it time to get there
        return call or "unknown"
    deadline = time.monotonic() + timeout
    seen = 0
    while True:
        where = blocked_in(pid)
        if where is not None and (call is None or call in where.split(" or ")):
            # Seen twice, a millisecond apart: a process that only waits a few
            # microseconds for a pipe's lock shows the same names for a moment.
            seen += 1
            if seen == 2:
                return where
        else:
            seen = 0
        if _state(pid) in (None, "Z", "X") or time.monotonic() >= deadline:
            return None  # exited, or not blocked in time
        time.sleep(0.001)


def running_children() -> int:
    """How many processes started by these helpers are still running (for clean-up checks)."""
    return sum(1 for child in list(_STARTED) if child.running)


class ChildProcess:
    """A running Python child process whose output is captured.

    ``pid`` is its process id.  ``stdout`` and ``stderr`` hold what it has
    printed so far (text); two small threads keep reading them, so a child
    that prints a lot can never stall on a full output pipe.  After
    :meth:`wait` returns, ``returncode`` is set and the output is complete.
    Use it as a context manager: leaving the block kills the child if it is
    still running and reaps it.
    """

    def __init__(self, argv: list[str], *, input: bytes = b"", cwd: str | os.PathLike[str] | None = None):
        self.args = argv
        self._popen = subprocess.Popen(
            [sys.executable, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=child_environment(),
        )
        self.pid: int = self._popen.pid
        _STARTED.add(self)
        self.returncode: int | None = None
        self._output = {"stdout": bytearray(), "stderr": bytearray()}
        self._changed = threading.Condition()
        self._ended: set[str] = set()  # outputs that have reached end of file
        self._drains = [
            threading.Thread(target=self._drain, args=(name,), daemon=True, name=f"drain-{name}")
            for name in self._output
        ]
        for thread in self._drains:
            thread.start()
        try:
            # The child reads all of its standard input before doing anything
            # else, so this returns as soon as the child has started.
            self._popen.stdin.write(input)
        except BrokenPipeError:  # the child died at once; wait() will say why
            pass
        finally:
            try:
                self._popen.stdin.close()
            except BrokenPipeError:
                pass

    def _drain(self, name: str) -> None:
        stream = self._popen.stdout if name == "stdout" else self._popen.stderr
        with stream:
            while chunk := stream.read1(65536):
                with self._changed:
                    self._output[name] += chunk
                    self._changed.notify_all()
        with self._changed:  # end of output: the child has exited (or closed it)
            self._ended.add(name)
            self._changed.notify_all()

    @property
    def stdout(self) -> str:
        """What the child has written to its standard output so far."""
        return self._output["stdout"].decode("utf-8", "replace")

    @property
    def stderr(self) -> str:
        """What the child has written to its standard error so far."""
        return self._output["stderr"].decode("utf-8", "replace")

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to exit and return its exit status.

        A negative status ``-N`` means it was killed by signal ``N``.
        Raises :class:`FifoTimeoutError` if it is still running after
        ``timeout`` seconds (the child keeps running; see :meth:`kill`).
        """
        if self.returncode is None:
            try:
                status = self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                raise FifoTimeoutError(
                    f"the {self._role} process was still running after {timeout:g} s"
                ) from None
            for thread in self._drains:
                thread.join(5)  # the pipes close when the child exits
            self.returncode = status
        return self.returncode

    def kill(self) -> None:
        """Kill the child if it is still running, and reap it."""
        if self._popen.poll() is None:
            self._popen.kill()
        self.wait()

    @property
    def running(self) -> bool:
        """True while the child has not exited."""
        return self.returncode is None and self._popen.poll() is None

    def wait_until_blocked(self, call: str | None = None, timeout: float = 10) -> str:
        """Block until the child sleeps in a FIFO ``call`` ("open", "read", "write"; None: any).

        See :func:`wait_until_blocked`.  Returns the call it is blocked in;
        by then ``stdout`` (and ``events``) hold everything the child printed
        before it blocked.  Raises :class:`PeerError` if the child exits first,
        and :class:`FifoTimeoutError` after ``timeout`` seconds.
        """
        where = wait_until_blocked(self.pid, call, timeout=timeout)
        if where is not None:
            # The child prints nothing while it sleeps.  Once each output thread
            # sleeps in read() on its (so: empty) pipe, all it printed is here.
            for thread in self._drains if _wchan_works() else []:
                if thread.is_alive() and thread.native_id is not None:
                    wait_until_blocked(thread.native_id, "read", timeout=timeout)
            return where
        wanted = f"in {call}()" if call else "in a FIFO call"
        if not self.running:
            self.wait()
            message = f"the {self._role} process exited before it blocked {wanted}"
            raise PeerError(message, self.returncode, self.stderr)
        raise FifoTimeoutError(f"the {self._role} process was not blocked {wanted} within {timeout:g} s")

    def check(self, timeout: float | None = None) -> None:
        """Wait, and raise :class:`PeerError` with the child's stderr if it failed."""
        status = self.wait(timeout)
        if status != 0:
            why = self.stderr.strip().splitlines()[-1] if self.stderr.strip() else "no message"
            raise PeerError(
                f"the {self._role} process failed (exit status {status}): {why}", status, self.stderr
            )

    _role = "child"

    def __enter__(self) -> ChildProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()

    def __del__(self) -> None:  # last resort: never leave a zombie behind
        popen = getattr(self, "_popen", None)
        if popen is not None and popen.poll() is None:
            popen.kill()
            popen.wait()


class FifoPeer(ChildProcess):
    """A launched writer or reader (see :func:`launch_writer`, :func:`launch_reader`).

    After :meth:`wait`: ``events`` is the list of what it did, each a dict
    with ``event`` (``"started"``, ``"open-start"``, ``"opened"``, ``"wrote"``,
    ``"read"``, ``"closed"``, ...) and ``t`` (a ``time.monotonic()`` time,
    comparable with the parent's); ``received`` is what a reader read.
    """

    def __init__(self, role: str, spec: dict, input: bytes = b""):
        self._role = role
        # -S: the child needs only the standard library, and skipping the site
        # packages (with their start-up hooks) makes it start three times faster.
        super().__init__(["-S", _CHILD, json.dumps({"role": role, **spec})], input=input)

    @property
    def events(self) -> list[dict]:
        complete_lines = self.stdout.split("\n")[:-1]
        return [json.loads(line) for line in complete_lines if line.startswith("{")]

    def wait_for_event(self, name: str, timeout: float = 10, *, count: int = 1) -> dict:
        """Block until the process has reported event ``name`` (for example
        ``"open-start"``) ``count`` times, and return the ``count``-th.
        Raises :class:`FifoTimeoutError` after ``timeout`` seconds, or
        :class:`PeerError` if the process exited without reporting it.
        """

        def found() -> dict | None:
            matching = [e for e in self.events if e["event"] == name]
            return matching[count - 1] if len(matching) >= count else None

        def ended() -> bool:
            # Both outputs at end of file: the child is exiting (it may not be
            # waitable yet, and nothing will notify us again).
            return len(self._ended) == 2 or self._popen.poll() is not None

        deadline = time.monotonic() + timeout
        with self._changed:
            self._changed.wait_for(lambda: found() is not None or ended(), timeout)
        event = found()
        if event is not None:
            return event
        what = f"'{name}'" if count == 1 else f"'{name}' #{count}"
        if len(self._ended) == 2:
            try:
                self._popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass  # it closed its output but lives on: a timeout, below
        if self._popen.poll() is not None:
            self.wait()
            raise PeerError(f"the {self._role} process exited before {what}", self.returncode, self.stderr)
        raise FifoTimeoutError(f"the {self._role} process did not report {what} within {timeout:g} s")

    @property
    def received(self) -> bytes:
        return b"".join(base64.b64decode(e["data"]) for e in self.events if e["event"] == "read")

    @property
    def reads(self) -> list[bytes]:
        """What each ``os.read`` call returned, in order (the last is ``b""`` at end of file)."""
        return [base64.b64decode(e["data"]) for e in self.events if e["event"] == "read"]


def launch_writer(
    path: str | os.PathLike[str],
    data: bytes | str,
    *,
    delay_before_open: float = 0,
    delay_before_write: float = 0,
    parts: list[int] | None = None,
    pause: float = 0,
    wait_until_read: bool = False,
    hold_open: float = 0,
    require_fifo: bool = True,
    lifetime: float = 60,
) -> FifoPeer:
    """Start a process that writes ``data`` into the FIFO at ``path``.

    The process does what the book's writer does: a blocking
    ``os.open(path, os.O_WRONLY)`` (so it waits for a reader), ``os.write``,
    ``os.close``, then exits with status 0.  ``str`` data is encoded as UTF-8.
    Returns at once; the process runs on its own.

    Options: wait ``delay_before_open`` seconds before opening and
    ``delay_before_write`` after; send the data as several ``os.write`` calls
    of the sizes in ``parts``, ``pause`` seconds apart, or (with
    ``wait_until_read``) each one only once the reader has read every byte
    sent so far (the pipe is empty again); keep the FIFO open
    ``hold_open`` seconds after the last write.  With ``require_fifo`` (the
    default) it refuses, with exit status 1 and a message on stderr, a path
    that is not a FIFO.  If the reader goes away, it exits with status 2.
    Whatever happens, it is gone after ``lifetime`` seconds.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if parts is not None and sum(parts) != len(payload):
        raise ValueError(f"parts add up to {sum(parts)} bytes, but the data has {len(payload)}")
    spec = {
        "path": os.fspath(path),
        "delay_before_open": delay_before_open,
        "delay_before_write": delay_before_write,
        "parts": parts,
        "pause": pause,
        "wait_until_read": wait_until_read,
        "hold_open": hold_open,
        "require_fifo": require_fifo,
        "lifetime": lifetime,
    }
    return FifoPeer("writer", spec, input=payload)


def launch_reader(
    path: str | os.PathLike[str],
    *,
    read_size: int = 65536,
    read_once: bool = False,
    delay_before_open: float = 0,
    delay_before_read: float = 0,
    wait_for_bytes: int = 0,
    hold_open: float = 0,
    require_fifo: bool = True,
    lifetime: float = 60,
) -> FifoPeer:
    """Start a process that reads the FIFO at ``path`` the way the book's reader does.

    It does a blocking ``os.open(path, os.O_RDONLY)`` (so it waits for a
    writer), then ``os.read(fd, read_size)`` until end of file, or only once
    with ``read_once=True`` (like the book), then ``os.close``.  With
    ``wait_for_bytes``, it first waits until that many bytes are in the pipe,
    so that they can arrive in one read.  After
    :meth:`~FifoPeer.wait`, ``received`` holds the bytes and ``reads`` what each
    read returned.  The options work as for :func:`launch_writer`.
    """
    spec = {
        "path": os.fspath(path),
        "read_size": read_size,
        "read_once": read_once,
        "delay_before_open": delay_before_open,
        "delay_before_read": delay_before_read,
        "wait_for_bytes": wait_for_bytes,
        "hold_open": hold_open,
        "require_fifo": require_fifo,
        "lifetime": lifetime,
    }
    return FifoPeer("reader", spec)


def run_script(
    script: str | os.PathLike[str],
    *args: str,
    cwd: str | os.PathLike[str] | None = None,
    site: bool = True,
) -> ChildProcess:
    """Start ``python script args...`` in ``cwd`` with its output captured.

    Returns at once; call ``wait(timeout)`` and then read ``stdout`` and
    ``stderr``.  Used to run the book's two programs as unrelated processes.
    With ``site=False`` it runs ``python -S``: Python skips its ``site``
    module, which sets up the installed packages; a script that needs only
    the standard library starts about three times faster.
    """
    child = ChildProcess([*([] if site else ["-S"]), os.fspath(script), *args], cwd=cwd)
    child._role = Path(script).name
    return child
