"""The FIFO explorer: real processes around one FIFO, one system call per action.

:class:`FifoExplorer` makes a FIFO in a private folder and starts processes around it
(``notebooks/scripts/explorer_child.py``).  Each action makes one of them do one system call and returns that
:class:`Call`, such as ``read(3, 100) -> b'hello'``; :func:`explorer_ui` adds buttons.  All shown
is observed: a call is *blocked* only once Linux says its thread sleeps in it
(``/proc/PID/task/TID/wchan``); bytes in the pipe come from ``ioctl(FIONREAD)``, the capacity from
``fcntl(F_GETPIPE_SZ)``, exit statuses from ``waitpid``.  The notebook's process never blocks.
Nothing is left behind: ``shutdown()``, ``with``, garbage collection and interpreter exit (the
Jupyter kernel stops or restarts) end the processes and remove the FIFO; if the Jupyter kernel
dies, they see end of file on their standard input, remove the FIFO and exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .explorer_view import draw_img, draw_svg, explorer_ui
from .peers import SCRIPTS

__all__ = ["FifoExplorer", "explorer_ui"]

CHILD = str(SCRIPTS / "explorer_child.py")  # each process of the picture runs this program
TIMEOUT = 5.0  # s: the most an action waits for the processes; they answer in milliseconds
WCHAN = "/proc/{pid}/task/{tid}/wchan"  # where Linux names the kernel function a thread sleeps in
# Where Linux says a thread sleeps (/proc/.../wchan) while a FIFO makes it wait, by call.
_WAITS = {"wait_for_partner": "open", "pipe_read": "read", "anon_pipe_read": "read"}
_WAITS |= {"pipe_write": "write", "anon_pipe_write": "write", "pipe_wait": "read write"}
_WAITS_FOR = {"open reader": "a writer to open the FIFO", "open writer": "a reader to open the FIFO"}
_WAITS_FOR |= {"read reader": "data, or the last writer's close", "write writer": "room in the pipe"}
_LIVE: weakref.WeakValueDictionary[str, FifoExplorer] = weakref.WeakValueDictionary()  # FIFO name -> explorer


class ExplorerError(RuntimeError):
    """An action that makes no sense now (the message says why), or a process that does not answer."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this one line instead of a traceback
        return [f"ExplorerError: {self}. (Lost? reset() starts afresh.)"]


@dataclass(frozen=True, repr=False)
class Call:
    """One system call: who made it, the call, and its result (``None``: not returned yet)."""

    who: str
    text: str
    result: str | None
    error: bool = False

    def __repr__(self) -> str:
        return f"{self.who}: {self.text} -> {'...' if self.result is None else self.result}"


# One process as observed.  kind: idle, open, busy (in a call), blocked, exited, killed.
Process = namedtuple("Process", "name role pid state kind fd flags waits_for sigpipe")


@dataclass(frozen=True, repr=False)
class State:
    """A snapshot: the processes, the pipe (``bytes``/``capacity`` ``None``: no pipe), last calls.

    ``repr(state)`` describes it in words; in Jupyter it draws itself as SVG.
    """

    fifo: str
    processes: tuple[Process, ...]
    bytes: int | None
    capacity: int | None
    page: int
    calls: tuple[Call, ...]
    closed: bool

    def __repr__(self) -> str:
        if self.closed:
            return f"FIFO {self.fifo}: the explorer is shut down (processes ended, FIFO removed)"
        pipe = "no process has it open"
        if self.bytes is not None:
            pipe = f"{self.bytes} bytes in the pipe"
        if self.capacity:
            pipe += f", capacity {self.capacity} ({self.capacity // self.page} pages of {self.page})"
        lines = [f"FIFO {self.fifo}: {pipe}"]
        for p in self.processes:
            more = f": waits for {p.waits_for}" if p.waits_for else f", fd {p.fd} {p.flags}" if p.fd else ""
            lines.append(f"  {p.name + ' (C-like)' * (p.sigpipe == 'default'):<9} {p.state}{more}")
        return "\n".join(lines)

    def _repr_svg_(self) -> str:
        return draw_svg(self)

    def _repr_html_(self) -> str:  # what JupyterLab shows: the SVG in an <img> with alt text
        return draw_img(self)


class _Proc:
    """The explorer's record of one process."""

    def __init__(self, name: str, role: str, sigpipe: str) -> None:
        self.name, self.role, self.sigpipe, self.flags, self.ever_open = name, role, sigpipe, "", False
        self.popen: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None
        self.fd: int | None = None
        self.status: int | None = None  # exit status, once reaped
        self.call: dict[str, Any] | None = None  # the call in progress

    def send(self, command: dict[str, Any]) -> None:
        assert self.popen is not None and self.popen.stdin is not None
        with contextlib.suppress(OSError, ValueError):  # it has exited: its "exited" event says so
            self.popen.stdin.write(json.dumps(command).encode() + b"\n")
            self.popen.stdin.flush()

    def asleep(self) -> bool:
        """Seen asleep in its call twice, a millisecond apart (a moment's wait for a lock looks alike).

        Where the system does not say (no /proc/PID/task/TID/wchan, as on macOS), give up looking
        after half a second: the call then shows as "in read()", not returned, never as blocked.
        """
        call = self.call
        if call is None or call["thread"] is None:
            return False
        try:
            where = Path(WCHAN.format(pid=self.pid, tid=call["thread"])).read_text()
        except OSError:  # the thread has ended (its result is on the way), or the system does not say
            ours = Path(WCHAN.format(pid=os.getpid(), tid=threading.get_native_id()))
            return not ours.exists() and time.monotonic() - call["since"] > 0.5
        call["seen"] = call["seen"] + 1 if call["op"] in _WAITS.get(where, "").split() else 0
        return call["seen"] >= 2


def _pump(popen: subprocess.Popen[bytes], proc: _Proc, events: queue.Queue) -> None:
    """Thread: turn the process's output lines into events, then report its exit status."""
    assert popen.stdout is not None
    for line in popen.stdout:
        events.put((proc, json.loads(line)))
    events.put((proc, {"event": "exited", "status": popen.wait()}))


def _end_all(popens: list[subprocess.Popen[bytes]], threads: list[threading.Thread], folder: str) -> None:
    """End every process (politely, then by force), join their threads, remove the FIFO's folder."""
    for popen in popens:
        with contextlib.suppress(OSError):
            popen.stdin.close()  # type: ignore[union-attr]  # end of file: the process exits
    for popen in popens:
        try:
            popen.wait(timeout=3)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
    for thread in threads:
        thread.join(timeout=3)
    for popen in popens:
        popen.stdout.close()  # type: ignore[union-attr]
    shutil.rmtree(folder, ignore_errors=True)


class FifoExplorer:
    """One FIFO and real processes around it, driven one system call at a time.

    Starts ``readers`` processes (``reader``, ``reader 2``...) and ``writers`` (``writer 1``...).
    Each action takes a process name and returns the :class:`Call` once everything has settled.
    An action that makes no sense now raises :class:`ExplorerError` with the reason
    (:meth:`why_not`).  Use it in a ``with`` block, or call :meth:`shutdown`; a new explorer with
    the same ``name`` shuts this one down.  ``lifetime``: a process that gets no command for this
    many seconds ends itself.
    """

    def __init__(self, name: str = "my_pipe", *, readers: int = 1, writers: int = 1, lifetime: int = 3600):
        self.lifetime, self.closed = lifetime, True  # until reset() below makes the FIFO
        self._lock = threading.RLock()
        self._events: queue.Queue[tuple[_Proc, dict[str, Any]]] = queue.Queue()
        self._procs: dict[str, _Proc] = {}
        self._calls: list[list[Any]] = []  # [who, text, result, error], oldest first
        self._pipe: dict[str, Any] = {"bytes": None, "capacity": None}
        self._listeners: list[Callable[[], None]] = []
        self._writer_came = False  # has a writer opened the pipe since it was made? (b'' is EOF)
        self.fifo = Path(name)
        if (previous := _LIVE.get(name)) is not None:  # the same cell run again: the previous one goes
            previous.shutdown()
        _LIVE[name] = self
        try:
            self.reset(readers, writers)
        except BaseException:
            self.shutdown()
            raise

    # -- looking ----------------------------------------------------------------------------

    def state(self) -> State:
        """Apply what the processes reported meanwhile (never waits) and return a snapshot."""
        with self._lock:
            self._drain()
            procs = tuple(map(self._view, self._procs.values()))
            calls = tuple(Call(*c) for c in self._calls[-8:])
            size, page = self._pipe["capacity"], os.sysconf("SC_PAGE_SIZE")
            return State(self.fifo.name, procs, self._pipe["bytes"], size, page, calls, self.closed)

    def __repr__(self) -> str:
        return repr(self.state())

    def _repr_svg_(self) -> str:
        return draw_svg(self.state())

    def _repr_html_(self) -> str:
        return draw_img(self.state())

    @property
    def names(self) -> list[str]:
        """The names of the processes, in the order they were added."""
        return list(self._procs)

    def why_not(self, name: str, action: str) -> str | None:
        """Why ``name`` cannot ``action`` (open read write poll close exit remove) now; None if it can."""
        with self._lock:
            self._drain()
            p, who = self._procs.get(name), _who(name)
            if self.closed or p is None:
                return "the explorer is shut down" if self.closed else f"there is no process {name!r}"
            if action == "remove":
                return None
            if p.status is not None:
                return f"{who} has exited"
            if p.call is not None and action != "exit":
                return f"{who} is in {p.call['op']}(): it can do nothing else until that returns"
            if action == "open" and p.fd is not None:
                return f"{who} already has the FIFO open"
            if {"read": "writer", "write": "reader"}.get(action) == p.role:
                return f"a {p.role} does not {action} here"
            if action not in ("open", "exit") and p.fd is None:
                return f"{who} does not have the FIFO open"
            return None

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every action (the widgets redraw this way)."""
        self._listeners.append(callback)

    # -- the actions ------------------------------------------------------------------------

    def open(self, name: str, *, nonblock: bool = False, rdwr: bool = False) -> Call:
        """``os.open(fifo, O_RDONLY)`` (a reader), ``O_WRONLY`` (a writer) or ``O_RDWR``.

        Blocks the process (not you) until the other end is open, unless ``nonblock``
        (``O_NONBLOCK``: a writer with no reader then fails with ``ENXIO``).  Linux never blocks
        an ``O_RDWR`` open (POSIX leaves it undefined).
        """
        role = self._procs[name].role if name in self._procs else "reader"
        flags = "O_RDWR" if rdwr else "O_RDONLY" if role == "reader" else "O_WRONLY"
        flags += "|O_NONBLOCK" if nonblock else ""
        return self._do(name, "open", f'open("{self.fifo.name}", {flags})', flags=flags)

    def read(self, name: str, n: int = 100, nonblock: bool = False) -> Call:
        """``os.read(fd, n)``: waits while the pipe is empty and a writer has it open.

        ``nonblock`` switches the descriptor to ``O_NONBLOCK`` first, and a blocking read switches
        it back, as ``os.set_blocking(fd, False/True)`` does: ``fcntl(fd, F_SETFL, flags | O_NONBLOCK)``.
        """
        p = self._check(name, "read")
        if ("O_NONBLOCK" in p.flags) != nonblock:
            flags, change = p.flags.split("|")[0] + "|O_NONBLOCK" * nonblock, "| " if nonblock else "& ~"
            text = f"fcntl({p.fd}, F_SETFL, flags {change}O_NONBLOCK)"  # as os.set_blocking() does
            self._do(name, "setfl", text, nonblock=nonblock, flags=flags)
        return self._do(name, "read", f"read({p.fd}, {n})", n=n)

    def write(self, name: str, data: bytes | str) -> Call:
        """One ``os.write(fd, data)`` (``str``: UTF-8): waits while the pipe is full (unless O_NONBLOCK)."""
        payload = data.encode() if isinstance(data, str) else bytes(data)
        shown = repr(payload) if len(payload) <= 20 else f"<{len(payload)} bytes>"
        fd = self._check(name, "write").fd
        return self._do(name, "write", f"write({fd}, {shown})", data=payload.hex(), size=len(payload))

    def poll(self, name: str) -> Call:
        """``poll()`` the descriptor (POLLIN for a reader, POLLOUT for a writer), timeout 0: events now."""
        p = self._check(name, "poll")
        return self._do(name, "poll", f"poll([{p.fd}: {'POLLIN' if p.role == 'reader' else 'POLLOUT'}], 0)")

    def close(self, name: str) -> Call:
        """``os.close(fd)``: the process lets go of its end of the FIFO."""
        return self._do(name, "close", f"close({self._check(name, 'close').fd})")

    def exit(self, name: str) -> Call:
        """The process exits (``os._exit(0)``), even while blocked; the kernel closes its descriptor."""
        return self._do(name, "exit", "exit(0)")

    def add(self, who: str = "writer", sigpipe: str = "ignore") -> str:
        """Start one more process and return its name: ``"writer"`` or ``"reader"`` (numbered in
        turn), or a name such as ``"writer 2"`` (ExplorerError if there is one of that name).

        ``sigpipe="default"`` makes it behave as a C program: a write with no reader kills it
        with ``SIGPIPE`` instead of failing with ``EPIPE`` (Python ignores ``SIGPIPE``).
        """
        role, _, number = who.partition(" ")
        if role not in ("reader", "writer") or number and not number.isdigit():
            raise ValueError(f"who: 'reader', 'writer', or such as 'writer 2'; not {who!r}")
        if sigpipe not in ("ignore", "default"):
            raise ValueError(f"sigpipe: 'ignore' or 'default'; not {sigpipe!r}")
        with self._lock:
            if self.closed:
                raise ExplorerError("the explorer is shut down")
            n = int(number) if number else self._numbers[role] + 1
            name = f"{role} {n}" if role == "writer" or n > 1 else role
            if name in self._procs:
                raise ExplorerError(f"{_who(name)} is already there")
            self._numbers[role] = max(self._numbers[role], n)
            p = _Proc(name, role, sigpipe)
            # -I -S: standard library only (a fast start).  A session of its own: a signal to the
            # Jupyter kernel's process group (Interrupt) does not reach it.
            argv = [sys.executable, "-I", "-S", CHILD, str(self.fifo), role, sigpipe, str(self.lifetime)]
            pipe = subprocess.PIPE
            p.popen = subprocess.Popen(argv, stdin=pipe, stdout=pipe, start_new_session=True)
            self._popens.append(p.popen)
            self._threads.append(threading.Thread(target=_pump, args=(p.popen, p, self._events), daemon=True))
            self._threads[-1].start()
            self._procs[p.name] = p
            self._until(lambda: p.pid is not None or p.status is not None, f"{_who(p.name)} did not start")
            self._finish()
            return p.name

    def remove(self, name: str) -> None:
        """End the process if it runs, and take it out of the picture."""
        with self._lock:
            if self._check(name, "remove").status is None:
                self.exit(name)
            del self._procs[name]
            self._finish()

    def reset(self, readers: int = 1, writers: int = 1) -> State:
        """End every process, forget the calls, and start fresh ones; the FIFO stays (or is made anew)."""
        with self._lock:
            if self.closed:  # made, or shut down: a new folder and FIFO
                self._procs, self._popens, self._threads, self.closed = {}, [], [], False
                folder = tempfile.mkdtemp(prefix="ipc-tutorial-")  # private: mode 0700
                self.fifo = Path(folder) / self.fifo.name
                os.mkfifo(self.fifo, 0o600)
                # The finalizer must not refer to self, or self would never be collected.
                self._finalizer = weakref.finalize(self, _end_all, self._popens, self._threads, folder)
            for name in list(self._procs):
                self.remove(name)
            self._calls.clear()
            self._numbers = {"reader": 0, "writer": 0}
            for role, count in (("reader", readers), ("writer", writers)):
                for _ in range(count):
                    self.add(role)
            return self.state()

    def shutdown(self) -> None:
        """End every process and remove the FIFO and its folder.  Safe to call twice."""
        with self._lock:
            if not self.closed:
                self.closed = True
                self._finalizer()
                self._pipe = {"bytes": None, "capacity": None}
                self._changed()

    def __enter__(self) -> FifoExplorer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    # -- how an action is done ----------------------------------------------------------------

    def _check(self, name: str, action: str) -> _Proc:
        reason = self.why_not(name, action)
        if reason is not None:
            raise ExplorerError(f"cannot {action}: {reason}")
        return self._procs[name]

    def _do(self, name: str, op: str, text: str, **args: Any) -> Call:
        """Send ``op`` to process ``name``, log it as ``text``, wait until all settled, return the call."""
        with self._lock:
            p = self._check(name, {"setfl": "read"}.get(op, op))
            self._look_again()  # what was seen before this action is old news
            record = [name, text, None, False]
            self._calls = self._calls[-199:] + [record]
            p.call = {"op": op, "record": record, "thread": None, "seen": 0, "args": args}
            p.send({"op": op, **args})
            # First its own call returns or sleeps; only then look at the others, which it may have
            # released (and they others in turn): until nothing moves.
            self._until(lambda: p.call is None or p.asleep(), f"{_who(name)} did not answer")
            self._until(lambda: all([q.asleep() for q in self._procs.values() if q.call]), "no settling")
            self._finish()
            return Call(*record)

    def _until(self, done: Callable[[], bool], fail: str) -> None:
        """Apply events until ``done()``, looking every millisecond; ExplorerError after TIMEOUT s."""
        deadline = time.monotonic() + TIMEOUT
        self._drain()
        while not done():
            if time.monotonic() > deadline:
                raise ExplorerError(f"{fail} within {TIMEOUT:g} s")
            try:
                moved = self._apply(*self._events.get(timeout=0.001))
            except queue.Empty:
                continue
            if self._drain() or moved:  # a call started or ended: look at every process again
                self._look_again()

    def _look_again(self) -> None:
        """Forget who was seen asleep: a call counts as blocked only once seen asleep again."""
        for p in self._procs.values():
            if p.call is not None:
                p.call["seen"] = 0

    def _drain(self) -> bool:
        """Apply the events that have arrived; True if a call started or ended meanwhile."""
        moved = False
        while True:
            try:
                moved = self._apply(*self._events.get_nowait()) or moved
            except queue.Empty:
                return moved

    def _finish(self) -> None:
        """Ask one process that has the FIFO open for the byte count; tell the listeners."""
        self._pipe = {"bytes": None, "capacity": None, "asked": True}
        if not any(p.fd is not None or p.call for p in self._procs.values()):
            self._writer_came = False  # nobody holds the FIFO, nor is opening it: the pipe is gone
        for p in self._procs.values():
            if p.fd is not None and p.status is None:
                p.send({"op": "status"})
                self._until(lambda p=p: "asked" not in self._pipe or p.status is not None, "no status")
                break
        self._changed()

    def _changed(self) -> None:
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):  # a broken display must not break the explorer
                listener()

    def _apply(self, p: _Proc, m: dict[str, Any]) -> bool:
        """Update the record of ``p`` with one event it reported; True if a call started or ended."""
        event, call = m["event"], p.call
        if event == "ready":
            p.pid = m["pid"]
        elif event == "status":
            self._pipe = {"bytes": m["bytes"], "capacity": m["capacity"]}
        elif event == "start" and call:
            call["thread"], call["since"] = m["thread"], time.monotonic()
        elif event == "done" and call:
            p.call, error = None, m.get("error")
            result = error or self._result(p, call["op"], call["args"], m)
            call["record"][2:] = [result, bool(error)]
        elif event == "exited":
            p.status, p.fd, p.call = m["status"], None, None
            if call:
                ok = call["op"] == "exit"
                said = f"status {p.status}" if ok else f"never returned: {self._ended(p)}"
                call["record"][2:] = [said, not ok]
        return event in ("start", "done", "exited")

    def _result(self, p: _Proc, op: str, args: dict[str, Any], m: dict[str, Any]) -> str:
        if op in ("open", "setfl"):
            p.flags, p.ever_open = args["flags"], True
            p.fd = m.get("fd", p.fd)
            self._writer_came |= op == "open" and "O_RDONLY" not in p.flags
            return f"fd {p.fd}" if op == "open" else "0"
        if op == "read":
            data = bytes.fromhex(m["data"])
            if not m["size"]:  # no writer now: end of file only if one had come (else not yet)
                return "b'' (end of file)" if self._writer_came else "b'' (no writer yet)"
            return repr(data) if m["size"] <= 20 else f"{data[:10]!r}... ({m['size']} bytes)"
        if op == "write":
            return str(m["count"]) + ("" if m["count"] == args["size"] else f" (of {args['size']})")
        if op == "close":
            p.fd, p.flags = None, ""
            return "0"
        return m["events"]

    @staticmethod
    def _ended(p: _Proc) -> str:
        if p.status is not None and p.status < 0:
            return f"killed by {signal.Signals(-p.status).name}"
        return f"exited with status {p.status}"

    def _view(self, p: _Proc) -> Process:
        state, kind, waits, op = "starting", "busy", None, p.call and p.call["op"]
        if p.status is not None:
            state, kind = self._ended(p), "killed" if p.status < 0 else "exited"
        elif op in ("open", "read", "write") and p.call["seen"] >= 2:  # type: ignore[index]
            state, kind, waits = f"blocked in {op}()", "blocked", _WAITS_FOR[f"{op} {p.role}"]
        elif op in ("open", "read", "write"):
            state = "opening" if op == "open" else f"in {op}()"
        elif p.fd is not None:
            state, kind = "open", "open"
        elif p.pid is not None:
            state, kind = ("closed" if p.ever_open else "not open yet"), "idle"
        return Process(p.name, p.role, p.pid, state, kind, p.fd, p.flags, waits, p.sigpipe)


def _who(name: str) -> str:
    """A process's name in a sentence: "writer 1", "reader 2", but "the reader"."""
    return name if name[-1].isdigit() else f"the {name}"
