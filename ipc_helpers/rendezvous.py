"""Chapter 04 helpers: who waited for whom when a FIFO is opened.

Opening a FIFO is a rendezvous: an open for reading waits for a writer and an
open for writing waits for a reader.  This module makes that visible.

- :func:`mark` records an event of *this* process the same way the launched
  writers and readers record theirs: a dict with ``event`` and ``t`` (from
  ``time.monotonic()``, one clock for every process on the machine).
- :func:`print_timeline` prints events of several processes as numbered
  steps, in time order, and says who was waiting in ``open()`` for whom.  It
  prints the order only, never times, so its output is the same on every run
  as long as that order is fixed by cause and effect (see ``launch_steps``).
- :func:`release_waiting_reader` completes an open that a reader (for
  example a thread) is blocked in, by opening the write end for a moment.
- :func:`launch_steps` starts a small child process that opens and uses one
  or more FIFOs in a given order (for the two-FIFO deadlock).  It can wait
  for its turn: until Linux says that a partner process sleeps in a FIFO
  call (``/proc/PID/wchan``), so that the order of the two processes' steps
  is fixed by cause and effect, not by sleeping.

The child program is this module itself: ``python -m ipc_helpers.rendezvous SPEC``.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import signal
import sys
import time
from collections.abc import Iterable, Mapping

from .errors import FifoTimeoutError
from .procs import ChildProcess, FifoPeer, wait_until_blocked

# --------------------------------------------------------------------------
# Events and the timeline
# --------------------------------------------------------------------------


def mark(events: list[dict], event: str, **details: object) -> dict:
    """Append ``{"event": event, "t": time.monotonic(), **details}`` to ``events``.

    Use it in the notebook for the kernel's own steps, right before an action
    that can release another process (an open, a write, a close) and right
    after an observation (a read, an open that returned).  Never blocks.
    Returns the new event.
    """
    entry = {"event": event, "t": time.monotonic(), **details}
    events.append(entry)
    return entry


_MODE_WORD = {"r": "reading", "w": "writing"}
_OTHER = {"r": "w", "w": "r"}
_PEER_WORD = {"r": "writer", "w": "reader"}


def _mode_of(role: str, event: dict) -> str | None:
    if event.get("mode") in _MODE_WORD:
        return event["mode"]
    if "reader" in role:
        return "r"
    if "writer" in role:
        return "w"
    return None


def _data_of(event: dict) -> bytes:
    data = event.get("data", b"")
    if isinstance(data, str):  # launched processes send their bytes as base64 text
        return base64.b64decode(data)
    return bytes(data)


def timeline(sources: Mapping[str, Iterable[dict]]) -> list[str]:
    """The lines that :func:`print_timeline` prints (see there)."""
    items = sorted(
        ((e["t"], role, e) for role, events in sources.items() for e in events),
        key=lambda item: item[0],
    )
    # With a single FIFO, its name adds nothing: say "the FIFO" for every process.
    one_fifo = len({e.get("fifo") for _, _, e in items} - {None}) <= 1
    waiting: dict[tuple, list[str]] = {}  # (fifo, mode) -> roles blocked in open()
    holding: dict[tuple, set[str]] = {}  # (fifo, mode) -> roles that have that end open
    paired: set[tuple] = set()  # (role, fifo) whose open was completed by a partner
    who_waited: list[str] = []
    steps: list[str] = []
    for _, role, e in items:
        name, fifo, mode = e["event"], None if one_fifo else e.get("fifo"), _mode_of(role, e)
        where = f"'{fifo}'" if fifo else "the FIFO"
        if name == "open-start" and mode:
            partners = waiting.get((fifo, _OTHER[mode]), [])
            if partners:
                partner = partners.pop(0)
                paired.update({(partner, fifo), (role, fifo)})
                on = f" ({where})" if fifo else ""
                who_waited.append(f"the {partner} waited in open() for the {role}{on}")
                text = f"opens {where} for {_MODE_WORD[mode]}: the {partner} is waiting, so both opens return"
            elif holding.get((fifo, _OTHER[mode])):
                paired.add((role, fifo))
                text = f"opens {where} for {_MODE_WORD[mode]}: the other end is open, so it returns at once"
            else:
                waiting.setdefault((fifo, mode), []).append(role)
                text = f"opens {where} for {_MODE_WORD[mode]}: no {_PEER_WORD[mode]} yet, so it waits"
        elif name == "opened" and mode:
            holding.setdefault((fifo, mode), set()).add(role)
            if (role, fifo) in paired:
                paired.discard((role, fifo))
                continue  # already told: "both opens return"
            if role in waiting.get((fifo, mode), []):
                waiting[(fifo, mode)].remove(role)
            text = "open() returns"
        elif name in ("wrote", "write"):
            text = f"writes {e.get('bytes', 0)} bytes" + (f" to {where}" if fifo else "")
        elif name == "read":
            data = _data_of(e)
            source = f" from {where}" if fifo else ""
            text = f"reads {data!r}{source}" if data else f"reads b''{source} (end of file: no writer left)"
        elif name in ("closed", "close"):
            for (held, _), roles in holding.items():
                if held == fifo:
                    roles.discard(role)
            text = f"closes {where}" if fifo else "closes its end"
        elif name == "started":
            continue
        else:
            text = str(e.get("text", name))
        steps.append(f"[{role}] {text}")
    lines = [f"{i:2}. {step}" for i, step in enumerate(steps, 1)]
    lines += [f"who waited: {w}" for w in who_waited]
    for (fifo, mode), roles in waiting.items():
        for role in roles:
            where = f"'{fifo}'" if fifo else "the FIFO"
            lines.append(f"still blocked in open(): the {role} ({where}, for {_MODE_WORD[mode]})")
    return lines


def print_timeline(sources: Mapping[str, Iterable[dict]]) -> None:
    """Print the events of several processes as numbered steps in time order.

    ``sources`` maps a role (``"reader"``, ``"writer"``, ``"A"``...) to its
    events: ``FifoPeer.events`` of a launched process, or a list filled with
    :func:`mark`.  For an ``open-start`` the line says whether the open waits
    or completes a waiting partner; the ``opened`` that follows a completed
    rendezvous is not repeated.  The mode (reading/writing) comes from the
    event's ``mode`` or else from the role's name.  FIFOs are named only when
    the events involve more than one.  At the end it lists who waited for
    whom and who is still blocked in ``open()``.  Never blocks.

    Only the order is printed, never times.  The output is stable when every
    step whose order matters waits for its cause: an event reported after a
    blocking call returned, or a step taken only once the partner is blocked
    (``wait_until_blocked``, or ``launch_steps(..., after_blocked=pid)``).
    """
    for line in timeline(sources):
        print(line)


def release_waiting_reader(path: str | os.PathLike[str], timeout: float = 5.0) -> None:
    """Complete a blocked ``open(path, O_RDONLY)`` by opening the write end for a moment.

    A thread blocked in ``open()`` cannot be interrupted (signals are handled
    in the main thread); this is the clean way to free it.  Opening the write
    end with ``O_NONBLOCK`` fails with ENXIO until the reader is waiting, so
    this retries until it succeeds, then closes the descriptor at once: the
    released reader's next read returns ``b""`` (end of file).  Never blocks
    for longer than ``timeout`` seconds; raises :class:`FifoTimeoutError` if
    no reader was waiting by then.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            if time.monotonic() >= deadline:
                raise FifoTimeoutError(f"no reader was waiting within {timeout:g} s", path) from None
            time.sleep(0.02)
        else:
            os.close(fd)
            return


# --------------------------------------------------------------------------
# A child process that opens FIFOs in a given order
# --------------------------------------------------------------------------


class StepPeer(FifoPeer):
    """A process started by :func:`launch_steps`.

    Like :class:`~ipc_helpers.FifoPeer`: use it in a ``with`` block;
    ``events`` lists what it has done so far (also after it was killed while
    blocked), ``wait_for_event("open-start")`` waits for one event and
    ``wait_until_blocked("open")`` until it sleeps in a FIFO call.
    :meth:`received_from` gives what it read from one FIFO.
    """

    def __init__(self, role: str, spec: dict) -> None:
        self._role = role
        ChildProcess.__init__(self, ["-m", "ipc_helpers.rendezvous", json.dumps(spec)])

    def received_from(self, fifo: str) -> bytes:
        """Everything the process has read from the FIFO named ``fifo``."""
        reads = [e for e in self.events if e["event"] == "read" and e.get("fifo") == fifo]
        return b"".join(_data_of(e) for e in reads)


#: How long a launched process waits for its turn at most (seconds); then it
#: goes ahead anyway, so that a partner that never blocks cannot hang it.
TURN_TIMEOUT = 10.0


def launch_steps(
    role: str,
    directory: str | os.PathLike[str],
    steps: list[tuple],
    *,
    after_blocked: int | None = None,
    take_turns: bool = False,
    lifetime: float = 60,
) -> StepPeer:
    """Start a process that works through ``steps`` on FIFOs in ``directory``.

    Each step is a tuple: ``("open", name, "r" or "w")`` is a *blocking*
    ``os.open`` (it waits for the other end, as in the book); ``("write",
    name, text)``; ``("read", name)`` reads until end of file; ``("close",
    name)``.  It reports each step as an event with the FIFO's name (not its
    path): ``open-start``, ``write`` and ``close`` just *before* the call,
    ``opened`` and ``read`` just after, so the printed order respects cause
    and effect.

    ``after_blocked`` is the pid of a partner process (``os.getpid()`` for
    this notebook, whose main thread must then make the call).  Before its
    first step, and with ``take_turns=True`` before *every* step, the
    process waits until Linux says the partner sleeps in an ``open()``,
    ``read()`` or ``write()`` of a FIFO or pipe, or has exited (see
    :func:`~ipc_helpers.wait_until_blocked`; where Linux cannot say, as on
    macOS, it waits half a second instead).  The partner has then gone as
    far as it can on its own, so the order of the two processes' steps is
    fixed by cause and effect.  A wait for a turn never lasts longer than
    :data:`TURN_TIMEOUT` seconds (then the process goes ahead anyway).

    Returns at once.  The process is gone after ``lifetime`` seconds
    whatever happens; SIGINT makes it raise ``KeyboardInterrupt`` wherever it
    is (also inside a blocked ``os.open``).
    """
    spec = {
        "dir": os.fspath(directory),
        "steps": [list(s) for s in steps],
        "after_blocked": after_blocked,
        "take_turns": take_turns,
        "turn_timeout": TURN_TIMEOUT,
        "lifetime": lifetime,
    }
    return StepPeer(role, spec)


def _event(name: str, **details: object) -> None:
    print(json.dumps({"event": name, "t": time.monotonic(), **details}), flush=True)


def _run(spec: dict) -> None:
    """The child program (runs in the launched process)."""
    # Python's own SIGINT handler, set explicitly: a parent that ignores SIGINT
    # (a Jupyter kernel between cells does) would otherwise pass that on.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # Plain-text tracebacks: the parent reads our stderr as text, and Jupyter
    # kernels set FORCE_COLOR=1, which makes Python 3.13+ colour them.
    os.environ["PYTHON_COLORS"] = "0"
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(max(1, int(spec.get("lifetime", 60))))  # never outlive the lifetime
    fds: dict[str, int] = {}
    partner = spec.get("after_blocked")
    for i, (action, name, *args) in enumerate(spec["steps"]):
        if partner is not None and (i == 0 or spec.get("take_turns")):
            # Wait for our turn: until the partner sleeps in a FIFO call (or has exited).
            wait_until_blocked(partner, timeout=spec.get("turn_timeout", TURN_TIMEOUT))
        path = os.path.join(spec["dir"], name)
        if action == "open":
            mode = args[0]
            _event("open-start", fifo=name, mode=mode)
            flags = (os.O_RDONLY if mode == "r" else os.O_WRONLY) | getattr(os, "O_NOFOLLOW", 0)
            fds[name] = os.open(path, flags)  # blocks until the other end is opened
            _event("opened", fifo=name, mode=mode)
        elif action == "write":
            data = args[0].encode("utf-8")
            _event("write", fifo=name, bytes=len(data))
            os.write(fds[name], data)
        elif action == "read":
            while True:
                chunk = os.read(fds[name], 65536)
                _event("read", fifo=name, data=base64.b64encode(chunk).decode("ascii"))
                if not chunk:
                    break
        elif action == "close":
            _event("close", fifo=name)
            os.close(fds.pop(name))
        else:
            raise ValueError(f"unknown step {action!r}")


if __name__ == "__main__":
    _run(json.loads(sys.argv[1]))
