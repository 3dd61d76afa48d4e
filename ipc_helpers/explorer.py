"""The FIFO explorer of chapter 09: drive a reader and a writer one step at a time.

:class:`FifoExplorer` creates a FIFO in a private directory and starts two
long-lived child processes, the *reader* and the *writer*.  Each one waits for
commands and does one thing per command (``open``, ``write``, ``read``,
``close``), so you can watch, step by step, who waits for whom, how
many bytes sit in the pipe and what a read returns.  :func:`explorer_ui` puts
buttons on top of the same object (ipywidgets is imported only there).

How the pieces talk
-------------------
Each child is this very file run as a script, ``python -I -S explorer.py
reader PATH LIFETIME`` (list argv, no shell).  It needs only a few modules of
the standard library, so it does not import the ``ipc_helpers`` package, nor
even ``site``: it starts in a few hundredths of a second.  That is why the file
begins with the child side; a child never gets past the line
``if __name__ == "__main__"``, and the imports of the kernel side come after it.

A child reads one command per line on its standard input::

    open | write <hex bytes> | read <n> | close | status | exit

and answers with JSON lines on its standard output, one per event, for example
``{"event": "open-start", "thread": 4711, "pipe": null}`` and, later,
``{"event": "opened", "pipe": 0}``.  ``pipe`` is the number of bytes in the
pipe, measured with ``ioctl(FIONREAD)`` on the child's descriptor (``null``
when it has none or the system cannot tell).  A blocking ``open()`` or
``write()`` runs in a thread of the child, so the child keeps answering while
it is blocked.  The reader's descriptor is non-blocking once it is open: a read
of an empty pipe reports "would block" instead of waiting.

How an action knows that it is finished
---------------------------------------
No action sleeps for a guessed time.  It returns once its outcome is known:

- the child has reported how its call ended (``opened``, ``open-failed``,
  ``wrote``, ``broken-pipe``, ``read``, ``would-block``, ``closed``), or
- the call has to wait, and Linux confirms it: the child reports the id of the
  thread that makes the call, and the explorer reads ``/proc/TID/wchan``, the
  kernel function that thread sleeps in (``wait_for_partner`` in ``open()``;
  ``pipe_write``, or ``anon_pipe_write`` in recent kernels, in a ``write()`` to
  a full pipe), with :func:`ipc_helpers.procs.wait_until_blocked`.

Last, it asks one open end for the byte count: the events of the two children
can arrive in either order, and only this last answer is sure to be up to
date.  So the state an action returns is the same on every run, however busy
the machine is.  In the kernel, one thread per child turns its output lines into
events in a queue; the explorer applies them to its state whenever you call
one of its methods.  Nothing is left behind: :meth:`FifoExplorer.close`, a
``with`` block, garbage collection and interpreter exit all end both processes
and remove the FIFO.  A child also exits by itself when the kernel goes away
(its standard input reaches end of file; it then removes the FIFO too) or
after ``lifetime`` seconds without a command.
"""

# The imports of the kernel side follow the child side, on purpose (see above).
# ruff: noqa: E402

from __future__ import annotations

import errno
import json
import os
import signal
import sys
import threading
import time

READER, WRITER = "reader", "writer"

#: The states of one end, as shown in the lines ``reader: ...`` and ``writer: ...``.
NOT_STARTED, WAITING, OPEN, CLOSED = "not started", "waiting in open", "open", "closed"

#: The actions, by name; :meth:`FifoExplorer.why_not` takes these names.
ACTIONS = ("open_reader", "open_writer", "write", "read", "close_reader", "close_writer")

#: How long (seconds) an action waits at most for a child to react.  It only
#: matters when something is wrong: the children answer within milliseconds.
ANSWER_TIMEOUT = 5.0


# --------------------------------------------------------------------------
# The child side: one end of the FIFO, driven by commands on stdin
# --------------------------------------------------------------------------


def bytes_in_pipe(fd: int) -> int | None:
    """How many bytes sit in the pipe behind ``fd`` (``ioctl(FIONREAD)``), or ``None`` if unknown.

    Works on either end of a pipe or FIFO.  Never blocks and never raises: a
    closed descriptor, or a system without ``FIONREAD``, gives ``None``.  It
    does what :func:`ipc_helpers.fifo.bytes_waiting` does; it is written out
    here because the child processes do not import the package.
    """
    try:
        import array
        import fcntl
        import termios
    except ImportError:  # pragma: no cover - Windows
        return None
    if not hasattr(termios, "FIONREAD"):  # pragma: no cover
        return None
    count = array.array("i", [0])
    try:
        fcntl.ioctl(fd, termios.FIONREAD, count, True)
    except OSError:
        return None
    return count[0]


class _End:
    """One end of the FIFO inside a child process.

    The main thread reads the commands and answers each at once.  ``open()``
    and ``write()`` may block, so each runs in a worker thread, which reports
    first that it starts (with its thread id, so that the kernel can ask Linux
    where it sleeps) and then how the call ended.
    """

    def __init__(self, role: str, path: str) -> None:
        self.role, self.path = role, path
        self.fd: int | None = None
        self.opening = self.writing = self.give_up = False
        self.worker: threading.Thread | None = None
        self.lock = threading.Lock()

    def say(self, event: str, **details: object) -> None:
        """Write one event as a JSON line; ``pipe`` (the byte count) is added unless given."""
        details.setdefault("pipe", None if self.fd is None else bytes_in_pipe(self.fd))
        line = json.dumps({"event": event, **details})
        with self.lock:  # the main thread and a worker may both speak
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def handle(self, command: str, argument: str) -> None:
        if command == "status":
            self.say("status")
        elif command == "open":
            self.open()
        elif command == "write" and self.role == WRITER:
            self.write(bytes.fromhex(argument))
        elif command == "read" and self.role == READER:
            self.read(int(argument))
        elif command == "close":
            self.close()
        else:
            self.say("error", message=f"the {self.role} does not understand {command!r}")

    def open(self) -> None:
        if self.fd is not None or self.opening:
            return self.say("error", message="already open or opening")
        self.opening, self.give_up = True, False
        self.worker = threading.Thread(target=self._open, daemon=True)
        self.worker.start()

    def _open(self) -> None:
        flags = os.O_RDONLY if self.role == READER else os.O_WRONLY
        self.say("open-start", thread=threading.get_native_id())
        try:
            fd = os.open(self.path, flags)  # blocks until the other end is opened
        except OSError as exc:
            self.opening = False
            name = errno.errorcode.get(exc.errno, str(exc.errno))
            return self.say("open-failed", message=f"open() failed: {name}")
        if self.give_up:
            os.close(fd)
            self.opening = False
            return
        if self.role == READER:
            os.set_blocking(fd, False)  # from now on a read never waits
        self.fd, self.opening = fd, False
        self.say("opened")

    def write(self, data: bytes) -> None:
        if self.fd is None or self.opening or self.writing:
            return self.say("error", message="not open, or busy")
        self.writing = True
        self.worker = threading.Thread(target=self._write, args=(self.fd, data), daemon=True)
        self.worker.start()

    def _write(self, fd: int, data: bytes) -> None:
        self.say("write-start", bytes=len(data), thread=threading.get_native_id())
        sent = 0
        try:
            while sent < len(data):
                sent += os.write(fd, data[sent:])  # blocks while the pipe is full
        except BrokenPipeError:
            self.writing = False
            self.say("broken-pipe", sent=sent, bytes=len(data))
        else:
            self.writing = False
            self.say("wrote", bytes=len(data))

    def read(self, n: int) -> None:
        if self.fd is None:
            return self.say("error", message="not open")
        try:
            data = os.read(self.fd, n)
        except BlockingIOError:
            return self.say("would-block", n=n)
        self.say("read", n=n, data=data.hex())

    def close(self) -> None:
        if self.writing:
            return self.say("error", message="blocked in write(); cannot close now")
        gave_up = False
        if self.opening and self.worker is not None:
            self.give_up = True
            self._release_own_open()
            gave_up = self.fd is None
        if self.fd is None:
            return self.say("closed", gave_up=gave_up)
        fd, self.fd = self.fd, None
        left = bytes_in_pipe(fd)
        os.close(fd)
        self.say("closed", gave_up=False, pipe=left)

    def _release_own_open(self) -> None:
        """A thread blocked in open() cannot be cancelled: open the other end briefly instead."""
        other = os.O_WRONLY if self.role == READER else os.O_RDONLY
        assert self.worker is not None
        helper = None
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while self.worker.is_alive() and time.monotonic() < deadline:
            if helper is None:
                try:
                    helper = os.open(self.path, other | os.O_NONBLOCK)
                except OSError as exc:  # ENXIO: our reader's open() has not started yet
                    if exc.errno != errno.ENXIO:
                        break
            self.worker.join(0.05)
        if helper is not None:
            os.close(helper)

    def leave(self, parent_gone: bool) -> None:
        """Exit the process; if the kernel vanished, remove the FIFO it left behind."""
        if parent_gone:
            try:
                os.unlink(self.path)
                directory = os.path.dirname(self.path)
                if os.path.basename(directory).startswith("ipc-tutorial-"):
                    os.rmdir(directory)
            except OSError:
                pass
        os._exit(0)  # also ends a thread still blocked in open() or write()


def _child_main(argv: list[str]) -> None:
    """Serve one end of the FIFO: ``argv`` is ``[role, path, lifetime]``.  Never returns."""
    role, path, lifetime = argv[0], argv[1], int(argv[2])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # "interrupt kernel" must not kill the explorer
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(lifetime)  # safety net: no command for `lifetime` seconds -> the process ends
    end = _End(role, path)
    end.say("ready")
    for raw in sys.stdin.buffer:
        signal.alarm(lifetime)
        command, _, argument = raw.decode("ascii", "replace").strip().partition(" ")
        if command == "exit":
            end.leave(parent_gone=False)
        try:
            end.handle(command, argument)
        except Exception as exc:  # report, keep serving
            end.say("error", message=f"{type(exc).__name__}: {exc}")
    end.leave(parent_gone=True)  # end of file: the kernel has gone away


if __name__ == "__main__":  # a child process; it ends inside (os._exit) and never reads on
    _child_main(sys.argv[1:])


# --------------------------------------------------------------------------
# The kernel side: FifoExplorer (a child process never gets here, so these
# imports, the package's own included, cost it nothing)
# --------------------------------------------------------------------------

import html
import queue
import subprocess
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FifoTimeoutError
from .fifo import Workspace
from .procs import wait_until_blocked

#: The program each child runs: this file, as a script.
_CHILD_PROGRAM = os.path.abspath(__file__)


class ExplorerError(RuntimeError):
    """An action that makes no sense in the current state, or a child that does not answer.

    The message says why, for example ``cannot write: open the writer first``.
    """


@dataclass(frozen=True)
class ExplorerState:
    """A snapshot of what the explorer knows.

    ``reader`` and ``writer`` are one of ``"not started"``, ``"waiting in
    open"``, ``"open"``, ``"closed"``.  ``writing`` is the size of a write that
    has not returned yet (the writer is blocked in ``write()``), else ``None``.
    ``bytes_in_pipe`` is ``None`` when the system cannot tell.
    ``last_read_data`` is the bytes the last read returned (``b""`` = end of
    file), or ``None`` if there was no read yet or it would have blocked.
    """

    reader: str
    writer: str
    writing: int | None
    bytes_in_pipe: int | None
    last_read: str
    last_read_data: bytes | None = field(repr=False)  # can be 64 KiB: keep the repr short
    last_write: str
    closed: bool

    @property
    def waiting(self) -> str:
        """Who is blocked in a system call right now, in words."""
        if self.reader == WAITING:
            return "the reader, in open() until a writer opens the FIFO"
        if self.writer == WAITING:
            return "the writer, in open() until a reader opens the FIFO"
        if self.writing is not None:
            return "the writer, blocked in write() until the reader makes room"
        return "nobody"


def describe_state(state: ExplorerState) -> str:
    """The text the explorer shows for ``state`` (one fact per line)."""
    pipe = "unknown" if state.bytes_in_pipe is None else str(state.bytes_in_pipe)
    lines = [
        f"reader: {state.reader}",
        f"writer: {state.writer}",
        f"bytes in pipe: {pipe}",
        f"last write: {state.last_write}",
        f"last read: {state.last_read}",
        f"waiting: {state.waiting}",
    ]
    if state.closed:
        lines.append("explorer: closed (both processes have ended, the FIFO is removed)")
    return "\n".join(lines)


def _show_bytes(data: bytes, limit: int = 20) -> str:
    """``b'hello' (5 bytes)``, cut after ``limit`` bytes so a big read stays one short line."""
    unit = "byte" if len(data) == 1 else "bytes"
    if len(data) <= limit:
        return f"{data!r} ({len(data)} {unit})"
    return f"{data[:limit]!r}... ({len(data)} {unit})"


class FifoExplorer:
    """A FIFO with a reader process and a writer process that you drive step by step.

    Every action sends one command to a child and returns the new
    :class:`ExplorerState` as soon as the outcome is known (see the module
    docstring): the call has returned, or it waits, and Linux confirms that
    the child sleeps in it.  An ``open()`` or ``write()`` that waits shows up
    as ``"waiting in open"`` or as ``writing``, and ends when you act on the
    other end.  No action blocks the caller for long: usually a few
    milliseconds.  Actions that make no sense now (see :meth:`why_not`) raise
    :class:`ExplorerError`; so does a child that does not react within
    :data:`ANSWER_TIMEOUT` seconds.

    Use it in a ``with`` block, or call :meth:`close`::

        with FifoExplorer() as lab:
            lab.open_reader()            # the reader now waits in open()
            lab.open_writer()            # ... and both ends are open
            lab.write("hello")
            print(lab.read(100).last_read)   # b'hello' (5 bytes)

    Starting it blocks until both children are ready (a few hundredths of a
    second; at most ``startup`` s, else :class:`ExplorerError`).
    ``lifetime``: a child that receives no command for this many seconds exits
    by itself.
    """

    def __init__(self, name: str = "my_pipe", *, lifetime: int = 3600, startup: float = 20.0) -> None:
        self.log: list[str] = []
        self._events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._threads: list[threading.Thread] = []
        self._listeners: list[Callable[[], None]] = []
        self._state = {READER: NOT_STARTED, WRITER: NOT_STARTED}
        self._alive = {READER: True, WRITER: True}
        self._writing: int | None = None
        self._write_thread: int | None = None  # the writer's thread in write(), for wchan
        self._bytes: int | None = 0
        self._last_read, self._last_read_data = "nothing yet", None
        self._last_write = "nothing yet"
        self._closed = False
        self._ready: set[str] = set()
        self._workspace = Workspace()
        self.fifo: Path = self._workspace.fifo(name)
        # The finalizer must not refer to self, or self would never be collected.
        self._finalizer = weakref.finalize(self, _shutdown, self._procs, self._threads, self._workspace)
        try:
            for role in (READER, WRITER):
                self._start(role, lifetime)
            if not self._until(lambda: self._ready == {READER, WRITER}, startup):
                raise ExplorerError(f"the explorer's processes did not start within {startup:g} s")
        except BaseException:
            self.close()
            raise

    # -- starting and stopping ------------------------------------------------

    def _start(self, role: str, lifetime: int) -> None:
        # -I: ignore PYTHON* variables and the user's site-packages, and do not put the
        # script's folder on sys.path; -S: skip site (the child needs the standard library only).
        popen = subprocess.Popen(
            [sys.executable, "-I", "-S", _CHILD_PROGRAM, role, os.fspath(self.fifo), str(lifetime)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._procs[role] = popen
        thread = threading.Thread(target=_pump, args=(role, popen, self._events), daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self) -> None:
        """End both processes, remove the FIFO and its directory.  Safe to call twice.

        Blocks for at most a few seconds (a child that does not exit on
        request is killed); usually for a few milliseconds.
        """
        if not self._closed:
            self._closed = True
            self._finalizer()
            self._state = {READER: CLOSED, WRITER: CLOSED}
            self._writing, self._bytes = None, 0
            self._note("[explorer] closed: both processes have ended and the FIFO is removed")
            self._changed()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    @property
    def alive_processes(self) -> int:
        """How many of the two child processes are still running (0 after :meth:`close`)."""
        return sum(1 for p in self._procs.values() if p.poll() is None)

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every action, :meth:`wait_for`, :meth:`refresh` and :meth:`close`.

        The widgets use it, so that they also follow actions called from code.
        """
        self._listeners.append(callback)

    def _changed(self) -> ExplorerState:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception as exc:  # a broken display must not break the explorer
                self.note(f"a display callback failed: {type(exc).__name__}: {exc}")
        return self._snapshot()

    def __enter__(self) -> FifoExplorer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<FifoExplorer {'closed' if self._closed else 'live'}: {self.fifo.name}>"

    # -- what you can look at -------------------------------------------------

    def state(self) -> ExplorerState:
        """Apply the events that have arrived (never waits) and return a snapshot."""
        self._drain()
        return self._snapshot()

    def describe(self) -> str:
        """The current state as text, one fact per line (see :func:`describe_state`)."""
        return describe_state(self.state())

    def why_not(self, action: str) -> str | None:
        """Why ``action`` (one of :data:`ACTIONS`) makes no sense now, or ``None`` if it does."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
        if self._closed:
            return "the explorer is closed"
        self._drain()
        role = READER if action in ("open_reader", "read", "close_reader") else WRITER
        other = WRITER if role == READER else READER
        now = self._state[role]
        if not self._alive[role]:
            return f"the {role} process has ended"
        if action.startswith("open"):
            if now == WAITING:
                return f"the {role} is already waiting in open()"
            if now == OPEN:
                return f"the {role} already has the FIFO open"
            return None
        if action.startswith("close"):
            if now in (NOT_STARTED, CLOSED):
                return f"the {role} does not have the FIFO open"
            if role == WRITER and self._writing is not None:
                return (
                    "the writer is blocked in write() and cannot do anything else until it returns: "
                    "read to make room, or close the reader (broken pipe)"
                )
            return None
        # read or write
        if now in (NOT_STARTED, CLOSED):
            return f"open the {role} first"
        if now == WAITING:
            return f"the {role} is still waiting in open(): open the {other}"
        if role == WRITER and self._writing is not None:
            return "the writer is still blocked in its last write(): read to make room"
        return None

    def wait_for(self, predicate: Callable[[ExplorerState], bool], timeout: float = 10.0) -> ExplorerState:
        """Wait until ``predicate(state)`` is true and return that state.

        The actions already return with their outcome, so this is for what
        happens on its own, such as a child process that ends.  Each event
        from a child wakes it up; while none comes, it asks the open ends for
        the byte count every 0.2 s.  Blocks for at most ``timeout`` seconds,
        then raises :class:`~ipc_helpers.FifoTimeoutError` (the message shows
        the state at that moment).
        """
        if not self._until(lambda: predicate(self._snapshot()), timeout, ask_every=0.2):
            raise FifoTimeoutError(
                f"the explorer did not reach the expected state within {timeout:g} s; "
                f"it shows:\n{self.describe()}"
            )
        return self._changed()

    def refresh(self) -> ExplorerState:
        """Apply the events that have arrived, ask the open ends for the byte count, return the state.

        Blocks until the children have answered: a few milliseconds (at most
        :data:`ANSWER_TIMEOUT` s each).
        """
        self._drain()
        self._ask_status()
        return self._changed()

    # -- the actions -----------------------------------------------------------

    def open_reader(self) -> ExplorerState:
        """The reader calls ``os.open(fifo, O_RDONLY)``: it waits there until a writer opens.

        Returns once ``open()`` has returned, or once the reader sleeps in it.
        """
        return self._open(READER, "open_reader")

    def open_writer(self) -> ExplorerState:
        """The writer calls ``os.open(fifo, O_WRONLY)``: it waits there until a reader opens.

        Returns once ``open()`` has returned, or once the writer sleeps in it.
        """
        return self._open(WRITER, "open_writer")

    def write(self, data: bytes | str) -> ExplorerState:
        """The writer calls ``os.write`` until all of ``data`` is in the pipe (``str``: UTF-8).

        Returns once the write has ended (``last_write`` says how), or once
        the writer sleeps in ``write()`` because the pipe is full.  Then
        ``state().writing`` shows the blocked write, which finishes when the
        reader makes room, or fails with a broken pipe when the reader closes.
        """
        payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        if not payload:
            raise ExplorerError("cannot write: there is nothing to write (an empty write sends nothing)")
        self._check("write")
        self._command(WRITER, f"write {payload.hex()}", {"write-start"})
        self._settle_write()
        return self._finish()

    def read(self, n: int = 100) -> ExplorerState:
        """The reader calls ``os.read(fd, n)`` once, without blocking.

        ``last_read`` then shows the data, ``b''`` (end of file: no writer has
        the FIFO open) or "would block" (the pipe is empty, but a writer has it
        open: a blocking read would wait here).  If the writer was blocked in
        ``write()``, this returns only once that write has finished, or the
        writer sleeps in it again.
        """
        if n < 1:
            raise ExplorerError("cannot read: n must be at least 1")
        self._check("read")
        writer_was_blocked = self._writing is not None
        self._command(READER, f"read {int(n)}", {"read", "would-block"})
        if writer_was_blocked:
            # The pipe was full, so Linux woke the writer before this read() returned:
            # its write() goes on, and either finishes or fills the pipe and sleeps again.
            self._settle_write()
        return self._finish()

    def close_reader(self) -> ExplorerState:
        """The reader closes its end (or, while waiting in open, gives up waiting).

        If the writer is blocked in ``write()``, this returns once that write
        has failed with a broken pipe.
        """
        self._check("close_reader")
        self._command(READER, "close", {"closed"})
        # With no reader left, Linux wakes a writer blocked in write(), and its write() fails.
        self._until_or_fail(lambda: self._writing is None, "end its blocked write()")
        return self._finish()

    def close_writer(self) -> ExplorerState:
        """The writer closes its end (or, while waiting in open, gives up waiting)."""
        self._check("close_writer")
        self._command(WRITER, "close", {"closed"})
        return self._finish()

    # -- internals ---------------------------------------------------------------

    def _open(self, role: str, action: str) -> ExplorerState:
        self._check(action)
        other = WRITER if role == READER else READER
        partner = self._state[other] in (WAITING, OPEN) and self._alive[other]
        started = self._command(role, "open", {"open-start"})
        if started["event"] != "open-start":  # an error, already in the log
            return self._finish()
        if partner:  # open() returns at once, and releases the other end if it waits in open()
            self._until_or_fail(
                lambda: self._state[role] != WAITING and self._state[other] != WAITING,
                "finish the rendezvous in open()",
            )
        else:  # nobody at the other end: open() waits; make sure it really does before saying so
            self._wait_asleep(started["thread"], "open", lambda: self._state[role] != WAITING)
        return self._finish()

    def _settle_write(self) -> None:
        """Wait until the write in progress has ended, or until the writer sleeps in ``write()``."""
        if self._writing is not None and self._write_thread is not None:
            self._wait_asleep(self._write_thread, "write", lambda: self._writing is None)

    def _finish(self) -> ExplorerState:
        """End an action: ask an open end for the byte count, tell the listeners, return the state.

        The events of the two children can arrive in either order, so a byte
        count they carry may be out of date when it is applied (the reader
        counted before the writer wrote, say).  Once the action's outcome is
        known, nothing moves any more, and this last answer is up to date.
        """
        self._ask_status(self._open_roles()[:1])
        return self._changed()

    def _wait_asleep(self, thread: int, call: str, done: Callable[[], bool]) -> bool:
        """Wait until the child's ``thread`` sleeps in ``call`` (True), or until ``done()`` (False).

        This is how the explorer knows, without guessing with a timer, that
        an ``open()`` or ``write()`` really waits: Linux names the kernel
        function a sleeping thread waits in (``/proc/TID/wchan``), and
        :func:`ipc_helpers.procs.wait_until_blocked` checks it every
        millisecond.  (Where the system does not tell, it waits half a second
        instead.)  Raises :class:`ExplorerError` if neither happens within
        :data:`ANSWER_TIMEOUT` s.
        """
        if wait_until_blocked(thread, call, timeout=ANSWER_TIMEOUT) is not None:
            self._drain()
            if not done():
                return True
        # The thread has ended: its call returned or failed, and it said so before it ended.
        self._until_or_fail(done, f"return from {call}() or wait in it")
        return False

    def _until_or_fail(self, condition: Callable[[], bool], what: str) -> None:
        """Apply events until ``condition()``; raise ExplorerError after ANSWER_TIMEOUT s."""
        if not self._until(condition, ANSWER_TIMEOUT):
            raise ExplorerError(f"the explorer's processes did not {what} within {ANSWER_TIMEOUT:g} s")

    def _check(self, action: str) -> None:
        reason = self.why_not(action)
        if reason is not None:
            raise ExplorerError(f"cannot {action.replace('_', ' ')}: {reason}")

    def _send(self, role: str, line: str) -> None:
        popen = self._procs[role]
        try:
            assert popen.stdin is not None
            popen.stdin.write(line.encode("ascii") + b"\n")
            popen.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise ExplorerError(f"the {role} process has ended") from None

    def _command(self, role: str, line: str, answers: set[str]) -> dict[str, Any]:
        """Send one command and wait until the child answers it; return the answer."""
        self._send(role, line)
        answer = self._wait_event(role, answers | {"error", "exited"}, ANSWER_TIMEOUT)
        if answer is None:
            raise ExplorerError(f"the {role} process did not answer within {ANSWER_TIMEOUT:g} s")
        return answer

    def _ask_status(self, roles: list[str] | None = None) -> None:
        """Ask ``roles`` (default: every open end) for the byte count; wait for the answers."""
        for role in self._open_roles() if roles is None else roles:
            try:
                self._send(role, "status")
            except ExplorerError:
                continue
            self._wait_event(role, {"status", "exited"}, ANSWER_TIMEOUT)

    def _wait_event(self, role: str, names: set[str], timeout: float) -> dict[str, Any] | None:
        """Apply events until one from ``role`` named in ``names`` arrives and return it; None on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                who, message = self._events.get(timeout=remaining)
            except queue.Empty:
                return None
            self._apply(who, message)
            if who == role and message["event"] in names:
                return message

    def _until(self, condition: Callable[[], bool], timeout: float, ask_every: float | None = None) -> bool:
        """Apply events until ``condition()`` holds (True) or ``timeout`` s have passed (False).

        With ``ask_every``, ask the open ends for the byte count whenever no
        event came for that long.
        """
        deadline = time.monotonic() + timeout
        self._drain()
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                self._apply(*self._events.get(timeout=min(ask_every or remaining, remaining)))
            except queue.Empty:
                for role in self._open_roles() if ask_every else []:
                    try:
                        self._send(role, "status")  # the answer arrives as an event
                    except ExplorerError:
                        pass
        return True

    def _drain(self) -> None:
        while True:
            try:
                self._apply(*self._events.get_nowait())
            except queue.Empty:
                return

    def _open_roles(self) -> list[str]:
        if self._closed:
            return []
        return [r for r in (READER, WRITER) if self._state[r] == OPEN and self._alive[r]]

    def _note(self, line: str) -> None:
        self.log.append(line)

    def note(self, text: str) -> None:
        """Add a line from the explorer itself to the log (the widgets log refused clicks here)."""
        self._note(f"[explorer] {text}")

    def _snapshot(self) -> ExplorerState:
        return ExplorerState(
            reader=self._state[READER],
            writer=self._state[WRITER],
            writing=self._writing,
            bytes_in_pipe=self._bytes,
            last_read=self._last_read,
            last_read_data=self._last_read_data,
            last_write=self._last_write,
            closed=self._closed,
        )

    def _apply(self, role: str, message: dict[str, Any]) -> None:
        """Update the state and the log for one event from the child ``role``."""
        if self._closed:
            return
        event = message["event"]
        other = WRITER if role == READER else READER
        tag = f"[{role}]"
        if "pipe" in message and message["pipe"] is not None:
            self._bytes = message["pipe"]
        if event == "ready":
            self._ready.add(role)
        elif event == "open-start":
            self._state[role] = WAITING
            flag = "O_RDONLY" if role == READER else "O_WRONLY"
            if self._state[other] in (WAITING, OPEN):
                self._note(f"{tag} calls open({self.fifo.name}, {flag}); the {other} is there, so it returns")
            else:
                self._note(f"{tag} calls open({self.fifo.name}, {flag}) and waits: no {other} yet")
        elif event == "opened":
            self._state[role] = OPEN
            self._note(f"{tag} open() returned: the {role} has the FIFO open")
        elif event == "write-start":
            self._writing, self._write_thread = message["bytes"], message.get("thread")
            self._last_write = f"in progress ({message['bytes']} bytes)"
            self._note(f"{tag} calls write() with {message['bytes']} bytes")
        elif event == "wrote":
            self._writing = None
            self._last_write = f"{message['bytes']} bytes written"
            self._note(f"{tag} write() returned: all {message['bytes']} bytes went into the pipe")
        elif event == "broken-pipe":
            self._writing = None
            self._last_write = (
                f"BrokenPipeError after {message['sent']} of {message['bytes']} bytes (no reader)"
            )
            self._note(
                f"{tag} write() failed with BrokenPipeError (EPIPE): no reader has the FIFO open "
                f"({message['sent']} of {message['bytes']} bytes had gone into the pipe)"
            )
        elif event == "read":
            data = bytes.fromhex(message["data"])
            self._last_read_data = data
            if data:
                self._last_read = _show_bytes(data)
                self._note(f"{tag} read({message['n']}) returned {_show_bytes(data)}")
            else:
                self._last_read = "b'' (end of file: no writer has the FIFO open)"
                self._note(
                    f"{tag} read({message['n']}) returned b'': end of file, no writer has the FIFO open"
                )
        elif event == "would-block":
            self._last_read_data = None
            self._last_read = "would block (the pipe is empty, but a writer has the FIFO open)"
            self._note(
                f"{tag} read({message['n']}) raised BlockingIOError (EAGAIN): the pipe is empty but a "
                "writer has it open, so a blocking read would wait here"
            )
        elif event == "closed":
            self._state[role] = CLOSED
            if message.get("gave_up"):
                self._note(
                    f"{tag} gave up waiting in open(): a thread stuck in open() cannot be cancelled, so the "
                    f"{role} process opened the other end itself for a moment to release it, then closed both"
                )
            else:
                self._note(f"{tag} close(): the {role} no longer has the FIFO open")
        elif event == "open-failed":
            self._state[role] = CLOSED
            self._note(f"{tag} {message['message']}")
        elif event == "error":
            self._note(f"{tag} error: {message['message']}")
        elif event == "exited":
            self._alive[role] = False
            if self._state[role] in (WAITING, OPEN):
                self._state[role] = CLOSED
            if role == WRITER:
                self._writing = None
            why = f": {message['stderr']}" if message.get("stderr") else ""
            self._note(f"{tag} the {role} process ended (exit status {message['status']}){why}")
        # Once nobody has the FIFO open, the kernel frees the pipe and its contents.
        if not any(s == OPEN for s in self._state.values()) and self._bytes:
            self._note(
                f"[kernel] nobody has the FIFO open any more: {self._bytes} unread bytes are discarded"
            )
            self._bytes = 0


def _pump(role: str, popen: subprocess.Popen[bytes], events: queue.Queue) -> None:
    """Thread: turn the child's output lines into events, then report its exit."""
    assert popen.stdout is not None and popen.stderr is not None
    for line in popen.stdout:
        try:
            message = json.loads(line)
        except ValueError:
            message = {"event": "error", "message": line.decode("utf-8", "replace").strip()}
        events.put((role, message))
    stderr = popen.stderr.read().decode("utf-8", "replace").strip()
    try:
        status: int | None = popen.wait(timeout=5)
    except subprocess.TimeoutExpired:
        status = None
    last = stderr.splitlines()[-1] if stderr else ""
    events.put((role, {"event": "exited", "status": status, "stderr": last}))


def _shutdown(
    procs: dict[str, subprocess.Popen[bytes]], threads: list[threading.Thread], workspace: Any
) -> None:
    """End the children (politely, then by force), join their threads, remove the FIFO."""
    for popen in procs.values():
        try:
            assert popen.stdin is not None
            popen.stdin.write(b"exit\n")
            popen.stdin.close()
        except (OSError, ValueError):
            pass
    for popen in procs.values():
        try:
            popen.wait(timeout=3)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
    for thread in threads:
        thread.join(timeout=3)
    for popen in procs.values():
        for stream in (popen.stdout, popen.stderr):
            if stream is not None:
                stream.close()
    workspace.cleanup()


# --------------------------------------------------------------------------
# The widget layer
# --------------------------------------------------------------------------

_BUTTONS = [
    # action, label, CSS class, tooltip when enabled
    ("open_reader", "open reader", "ipc-open-reader", "os.open(fifo, O_RDONLY) in the reader process"),
    ("open_writer", "open writer", "ipc-open-writer", "os.open(fifo, O_WRONLY) in the writer process"),
    ("write", "write", "ipc-write", "os.write(fd, data) in the writer process"),
    ("read", "read", "ipc-read", "os.read(fd, n) in the reader process (never waits)"),
    ("close_reader", "close reader", "ipc-close-reader", "os.close(fd) in the reader process"),
    ("close_writer", "close writer", "ipc-close-writer", "os.close(fd) in the writer process"),
]


def explorer_ui(explorer: FifoExplorer | None = None) -> Any:
    """Build the explorer's widgets around ``explorer`` (a new one if ``None``) and return the box.

    The box has the CSS class ``ipc-explorer``; its buttons ``ipc-open-reader``,
    ``ipc-open-writer``, ``ipc-write``, ``ipc-read``, ``ipc-close-reader``,
    ``ipc-close-writer`` (plus ``ipc-refresh``); the state display
    ``ipc-state`` and the event log ``ipc-log``.  ``box.explorer`` is the
    explorer.  A click runs one action and then rewrites the widgets' values;
    nothing is printed.  Buttons that make no sense now are disabled, and the
    line under them says why.  A click returns as soon as the processes have
    reacted to it, usually within a few milliseconds.
    """
    import ipywidgets as widgets  # only here: importing ipc_helpers must not need ipywidgets

    ex = explorer if explorer is not None else FifoExplorer()
    narrow = {"layout": widgets.Layout(width="17em"), "style": {"description_width": "5.5em"}}
    data = widgets.Text(value="hello", description="data:", **narrow)
    data.add_class("ipc-write-data")
    amount = widgets.Dropdown(
        options=[
            ("as typed", 0),
            ("repeat to 4096 bytes", 4096),
            ("repeat to 65536 bytes", 65536),
            ("repeat to 100000 bytes", 100000),
        ],
        value=0,
        description="amount:",
        **narrow,
    )
    amount.add_class("ipc-write-amount")
    size = widgets.Dropdown(options=[1, 5, 100, 4096, 65536], value=100, description="read n:", **narrow)
    size.add_class("ipc-read-size")
    state = widgets.HTML()
    state.add_class("ipc-state")
    hints = widgets.HTML()
    hints.add_class("ipc-hints")
    log = widgets.HTML(layout=widgets.Layout(max_height="16em", overflow="auto"))
    log.add_class("ipc-log")

    def payload() -> bytes:
        text = data.value.encode("utf-8")
        if not amount.value or not text:
            return text  # an empty write is refused with a message in the log
        return (text * (amount.value // len(text) + 1))[: amount.value]

    calls: dict[str, Callable[[], object]] = {
        "open_reader": ex.open_reader,
        "open_writer": ex.open_writer,
        "write": lambda: ex.write(payload()),
        "read": lambda: ex.read(size.value),
        "close_reader": ex.close_reader,
        "close_writer": ex.close_writer,
    }
    buttons: dict[str, Any] = {}
    for action, label, css, tip in _BUTTONS:
        button = widgets.Button(description=label, tooltip=tip)
        button.add_class(css)
        buttons[action] = button
    refresh = widgets.Button(description="refresh", tooltip="look again (events that arrived meanwhile)")
    refresh.add_class("ipc-refresh")

    def render() -> None:
        state.value = f"<pre>{html.escape(ex.describe())}</pre>"
        reasons = []
        for action, label, _css, tip in _BUTTONS:
            reason = ex.why_not(action)
            buttons[action].disabled = reason is not None
            buttons[action].tooltip = reason or tip
            if reason is not None and not ex.closed:
                reasons.append(f"<b>{label}</b>: {html.escape(reason)}")
        refresh.disabled = ex.closed
        hints.value = "<small>" + "<br>".join(reasons) + "</small>" if reasons else ""
        lines = [f"{i}. {line}" for i, line in enumerate(ex.log, 1)][::-1][:200]
        log.value = "<b>event log</b> (newest first)<pre>" + html.escape("\n".join(lines)) + "</pre>"

    def handler(action: str | None) -> Callable[[Any], None]:
        def on_click(_button: Any) -> None:
            try:
                if action is None:
                    ex.refresh()
                else:
                    calls[action]()
            except ExplorerError as exc:
                ex.note(str(exc))
            except Exception as exc:  # a callback must never raise into the front end
                ex.note(f"unexpected {type(exc).__name__}: {exc}")
            render()

        return on_click

    for action, button in buttons.items():
        button.on_click(handler(action))
    refresh.on_click(handler(None))
    ex.on_change(render)
    render()

    row = widgets.HBox
    box = widgets.VBox(
        [
            row([buttons["open_reader"], buttons["read"], size, buttons["close_reader"]]),
            row([buttons["open_writer"], buttons["write"], data, amount, buttons["close_writer"]]),
            row([refresh]),
            hints,
            state,
            log,
        ]
    )
    box.add_class("ipc-explorer")
    box.explorer = ex
    return box
