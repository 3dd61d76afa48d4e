"""Bytes on the wire: the book's fixed 22-byte read, and how to look at bytes.

The book's writer sends ``"Hello from pid [%d]" % os.getpid()`` and its
reader takes ``os.read(fd, 22)``.  That message is 17 bytes plus the digits
of the process id, so 22 bytes fit exactly a 5-digit PID such as the book's
61017.  :func:`fixed_read` works out what such a read returns for any PID,
without a pipe, so you can explore it (chapter 05 drives it with a slider);
the notebook shows the same thing happening with a real writer process.

:func:`wait_until_taken` lets a writer wait, without guessing with
``time.sleep``, until its reader has taken every byte it sent: chapter 05
uses it so that each write is seen by the reader on its own.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass

from .errors import FifoTimeoutError
from .fifo import bytes_waiting
from .procs import _state, wait_until_blocked  # _state: the process state from /proc

#: The message the book's writer sends, before the PID is filled in.
BOOK_FORMAT = b"Hello from pid [%d]"

#: How many bytes the book's reader asks for with ``os.read(fd, 22)``.
BOOK_READ_SIZE = 22

#: One example process id for each number of digits.  5 digits is the book's
#: own writer; 4194303 is the largest PID a 64-bit Linux can hand out.
EXAMPLE_PIDS = {1: 7, 2: 42, 3: 815, 4: 1234, 5: 61017, 6: 123456, 7: 4194303}


def book_message(pid: int) -> bytes:
    """The bytes the book's writer sends when its process id is ``pid``."""
    return BOOK_FORMAT % pid


def show_parts(data: bytes) -> str:
    """``repr`` of ``data`` with every run of digits shown as its own piece.

    ``show_parts(b"Hello from pid [61017]")`` gives
    ``b'Hello from pid [' + b'61017' + b']'``, so you can count at a glance how
    many digits of a PID arrived.  ``b""`` gives ``b''``.
    """
    pieces = [p for p in re.split(rb"(\d+)", data) if p]
    return " + ".join(repr(p) for p in pieces) or repr(b"")


@dataclass(frozen=True)
class FixedRead:
    """What one ``os.read(fd, read_size)`` returns when ``message`` waits in the pipe.

    ``received`` is what the read returns, ``lost`` what stays in the pipe:
    the book's reader closes the FIFO after its one read, and the kernel
    throws those bytes away once nobody has the FIFO open.
    """

    pid: int
    read_size: int
    message: bytes
    received: bytes
    lost: bytes

    @property
    def truncated(self) -> bool:
        """True when the read did not return the whole message."""
        return bool(self.lost)


def fixed_read(pid: int, read_size: int = BOOK_READ_SIZE) -> FixedRead:
    """Work out what the book's reader gets from a writer whose PID is ``pid``.

    Assumes what happens in the book: the writer's whole message is in the
    pipe (a single write of at most ``PIPE_BUF`` bytes arrives in one piece),
    and the reader makes one read.  A read returns at most ``read_size``
    bytes, and never more than are there.  Pure computation: opens nothing,
    never blocks.  Raises ``ValueError`` if ``read_size`` is not positive.
    """
    if read_size < 1:
        raise ValueError(f"read_size must be at least 1, not {read_size}")
    message = book_message(pid)
    return FixedRead(pid, read_size, message, message[:read_size], message[read_size:])


def fixed_read_report(pid_digits: int = 7, read_size: int = BOOK_READ_SIZE) -> str:
    """Three lines saying what ``os.read(fd, read_size)`` does to the book's message.

    The writer's PID has ``pid_digits`` digits (1 to 7; see
    :data:`EXAMPLE_PIDS`).  This is the text the chapter 05 widget shows.
    Raises ``KeyError`` for a number of digits outside 1..7.
    """
    r = fixed_read(EXAMPLE_PIDS[pid_digits], read_size)
    if r.lost:
        fate = f"left in the pipe and lost: {_count(r.lost)}: {show_parts(r.lost)}"
    else:
        fate = "left in the pipe: nothing, the whole message arrived"
    return "\n".join(
        [
            f"the writer sends {_count(r.message)}: {show_parts(r.message)}",
            f"os.read(fd, {read_size}) returns {_count(r.received)}: {show_parts(r.received)}",
            fate,
        ]
    )


def _count(data: bytes) -> str:
    return f"{len(data)} byte{'' if len(data) == 1 else 's'}"


def wait_until_taken(fd: int, reader_pid: int, *, timeout: float = 10) -> str:
    """Wait until the reader has taken every byte in the pipe, and then waits for more or is gone.

    ``fd`` is our end of the pipe (usually the write end; either end works),
    ``reader_pid`` the process (on Linux also: the thread, by its
    ``native_id``) that reads from it.  First waits until no
    byte is left in the pipe (:func:`bytes_waiting`, checked every
    millisecond), then until Linux says that the reader sleeps in ``read()``
    again (see :func:`ipc_helpers.wait_until_blocked`), or has exited.  So
    whatever you write next reaches the reader in a read of its own.

    Returns ``"read"`` (the reader waits in ``read()`` for more) or
    ``"exited"`` (it has exited, so its end of the pipe is closed; bytes it
    left behind do not count).  Blocks at most ``timeout`` seconds, then
    raises :class:`~ipc_helpers.FifoTimeoutError`.  Where the system cannot
    say where a process sleeps (macOS), it waits half a second instead and
    answers ``"read"``.
    """
    deadline = time.monotonic() + timeout
    while bytes_waiting(fd) and not _exited(reader_pid):
        if time.monotonic() >= deadline:
            raise FifoTimeoutError(f"the reader did not take the bytes in the pipe within {timeout:g} s")
        time.sleep(0.001)
    if wait_until_blocked(reader_pid, "read", timeout=max(0.0, deadline - time.monotonic())) is not None:
        return "read"
    if _exited(reader_pid):
        return "exited"
    raise FifoTimeoutError(f"the reader did not wait in read() again within {timeout:g} s")


def _exited(pid: int) -> bool:
    """Has process ``pid`` exited (a zombie, or gone)?  ``False`` where there is no /proc: we cannot tell."""
    return os.path.exists("/proc/self/stat") and _state(pid) in (None, "Z", "X")
