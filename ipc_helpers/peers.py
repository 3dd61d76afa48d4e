"""The other end of the FIFO: a small script, run as a separate process.

A FIFO connects two processes, so a notebook needs a second one.  The
programs for that second process are short scripts in ``notebooks/scripts/``
(``writer.py``, ``reader.py``, the book's two programs, the servers), meant
to be read.  These functions start one of them with :mod:`subprocess` and
give back the :class:`subprocess.Popen` object, so everything you know about
``Popen`` works: ``.pid``, ``.wait(timeout=...)``, ``.communicate(timeout=...)``,
``.poll()`` and ``.returncode``::

    writer = start_writer(fifo, "hello", delay=1)
    fd = os.open(fifo, os.O_RDONLY)          # waits until the writer opens
    ...
    out, err = writer.communicate(timeout=10)

Every script ends itself after a minute at most (``signal.alarm``), so a
forgotten peer cannot live forever.  Used in a ``with`` block, a peer that is
still running when the block ends (an error, Ctrl-C) is killed and reaped.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import weakref
from pathlib import Path

StrPath = str | os.PathLike[str]

#: The scripts that ship with the tutorial (next to the chapter notebooks).
SCRIPTS = Path(__file__).resolve().parent.parent / "notebooks" / "scripts"

_RUNNING: weakref.WeakSet[Peer] = weakref.WeakSet()


def find_script(name: StrPath) -> Path:
    """The script ``name``: a path as given, else ``scripts/NAME`` here, else the tutorial's copy.

    A learner's own copy of the chapters (with its own ``scripts/`` folder)
    therefore runs the learner's copy of a script.  Raises
    ``FileNotFoundError`` when there is no such script.
    """
    for candidate in (Path(name), Path("scripts") / name, SCRIPTS / name):
        if candidate.is_file():
            return candidate.resolve()
    raise FileNotFoundError(f"no script {os.fspath(name)!r} in ./scripts or {SCRIPTS}")


class Peer(subprocess.Popen):
    """A script running as a separate process, its output captured as text.

    A :class:`subprocess.Popen` with ``stdin`` at ``/dev/null`` and
    ``stdout``/``stderr`` captured (``text=True``).  Nothing here blocks
    except the ``Popen`` methods that say so (``wait``, ``communicate``).
    Leaving a ``with`` block kills the process if it is still running (after
    up to ``grace`` seconds when the block ended normally) and reaps it.
    """

    grace = 10.0

    def __init__(self, script: StrPath, *args: object) -> None:
        self.script = find_script(script)
        super().__init__(
            # -u: print at once; -S: the scripts need only the standard library,
            # and skipping the installed packages makes them start faster.
            [sys.executable, "-u", "-S", str(self.script), *map(_arg, args)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # Python 3.13 colours tracebacks when a Jupyter kernel sets FORCE_COLOR:
            # a learner should read plain text.
            env={**os.environ, "PYTHON_COLORS": "0", "NO_COLOR": "1"},
        )
        _RUNNING.add(self)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self.poll() is None:
            try:
                if exc_type is not None:
                    raise subprocess.TimeoutExpired(self.args, 0)
                self.wait(timeout=self.grace)
            except (subprocess.TimeoutExpired, KeyboardInterrupt):
                self.kill()
        super().__exit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        state = "running" if self.poll() is None else f"exited with status {self.returncode}"
        return f"<Peer {self.script.name} pid [{self.pid}] {state}>"


def _arg(value: object) -> str:
    """A command-line argument: a path as its path, bytes decoded from UTF-8, anything else as str()."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return os.fspath(value) if isinstance(value, os.PathLike) else str(value)


def start_peer(script: StrPath, *args: object) -> Peer:
    """Start ``python SCRIPT ARGS...`` (see :func:`find_script`) and return at once.

    Never blocks.  Raises ``FileNotFoundError`` if there is no such script.
    """
    return Peer(script, *args)


def start_writer(
    fifo: StrPath,
    *messages: str | bytes,
    delay: float = 0.0,
    pause: float = 0.0,
    hold: float = 0.0,
    nonblock: bool = False,
    clock: bool = False,
) -> Peer:
    """Start ``scripts/writer.py``: open ``fifo`` for writing, write each message, close.

    The writer waits ``delay`` seconds, then opens the FIFO (its ``open()``
    waits for a reader, unless ``nonblock``), writes the messages with
    ``pause`` seconds between them, keeps the FIFO open ``hold`` seconds more
    and closes it.  It prints a line for each step, such as
    ``writer pid [9372]: wrote 5 bytes``; with ``clock``, each line also gives
    the step's ``time.monotonic()`` reading (``writer pid [9372] at 8123.456 s:
    wrote 5 bytes``), which :func:`ipc_helpers.draw.timeline` can draw.
    Returns at once; never blocks.
    """
    options = ["--nonblock"] * nonblock + ["--clock"] * clock
    return Peer("writer.py", fifo, *messages, "--delay", delay, "--pause", pause, "--hold", hold, *options)


def start_reader(fifo: StrPath, *, delay: float = 0.0, size: int = 65536, clock: bool = False) -> Peer:
    """Start ``scripts/reader.py``: open ``fifo`` for reading and read until end of file.

    The reader waits ``delay`` seconds, opens the FIFO (waiting for a
    writer), calls ``os.read(fd, size)`` until it returns ``b''`` and closes it.
    It prints a line for each read (with ``clock``, with the time of each
    step, as :func:`start_writer` does).  Returns at once; never blocks.
    """
    return Peer("reader.py", fifo, "--delay", delay, "--size", size, *["--clock"] * clock)


@atexit.register
def _stop_all() -> None:
    """When the kernel or interpreter exits: no peer outlives it."""
    for peer in list(_RUNNING):
        if peer.poll() is None:
            peer.kill()
            peer.wait()
