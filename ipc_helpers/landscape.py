"""Helpers for chapters 01 (the IPC landscape) and 02 (descriptors and named pipes).

Chapter 01 starts child processes with ``multiprocessing.get_context("spawn")``.
A spawned child is a fresh Python interpreter: it imports the function it must
run by name, so the functions below live in a module and not in the notebook.
Each one does one small job in the child and then returns, which ends the child.

Chapter 02 looks at file descriptors: :func:`open_descriptors`,
:func:`describe_fd` and :func:`bytes_waiting` answer questions that only
Linux can answer, and return ``None`` elsewhere so that a cell still runs.
"""

from __future__ import annotations

import os
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from multiprocessing.queues import Queue

from .fifo import bytes_waiting  # noqa: F401 - the package's one FIONREAD helper, used here by the notebook

#: A module-level list.  Every process that imports this module has its own
#: copy of it; chapter 01 uses it to show that processes do not share memory.
ledger: list[str] = []


# --------------------------------------------------------------------------
# Workers for chapter 01 (run in a spawned child process)
# --------------------------------------------------------------------------


def add_to_ledger(entry: str, report: Connection) -> None:
    """Append ``entry`` to this process's :data:`ledger` and send back what it holds.

    Runs in a child.  ``report`` is the sending end of a
    ``multiprocessing.Pipe``; the child sends one list through it and closes
    it.  Blocks only if nobody ever reads ``report`` and the list does not fit
    into the pipe (it always fits here).  Raises nothing on purpose.
    """
    ledger.append(entry)
    try:
        report.send(list(ledger))
    finally:
        report.close()


def write_into_shared_memory(name: str, text: str) -> None:
    """Attach to the shared-memory block called ``name`` and write ``text`` into it.

    Runs in a child.  ``text`` is stored as UTF-8 followed by zero bytes up to
    the end of the block.  Never blocks.  Raises ``FileNotFoundError`` if no
    block has that name and ``ValueError`` if the text does not fit.  The
    child only detaches (``close``); the creator of the block removes it
    (``unlink``).
    """
    block = shared_memory.SharedMemory(name=name)
    try:
        data = text.encode("utf-8")
        if len(data) > block.size:
            raise ValueError(f"{len(data)} bytes do not fit into {block.size}")
        block.buf[: len(data)] = data
        block.buf[len(data) :] = bytes(block.size - len(data))
    finally:
        block.close()


def send_messages(queue: Queue, messages: list[object]) -> None:
    """Put each of ``messages`` on ``queue``, one ``put`` per message.

    Runs in a child.  ``put`` does not wait for a reader: a background thread
    sends the objects, and the child waits for that thread before it exits.
    """
    for message in messages:
        queue.put(message)


# --------------------------------------------------------------------------
# Running them (in the notebook's process)
# --------------------------------------------------------------------------


def stop(process: BaseProcess, timeout: float = 30) -> int | None:
    """Wait up to ``timeout`` seconds for ``process`` to end, kill it if it has not, reap it.

    Returns its exit code: 0 for success, 1 if the worker raised, ``-N`` if
    it was killed by signal ``N`` (``-9`` when this function had to kill it).
    Blocks at most ``timeout`` seconds plus the moment a kill takes.
    """
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
    return process.exitcode


def ledger_of_new_child(context: BaseContext, entry: str, timeout: float = 30) -> list[str] | None:
    """Start a child that runs :func:`add_to_ledger` and return the child's ledger.

    The same steps as the first demo of chapter 01, in one function: a
    one-way ``Pipe`` for the answer, ``start``, wait at most ``timeout``
    seconds for the answer, then :func:`stop`.  Returns ``None`` if no answer
    came in time, and raises ``EOFError`` if the child ended without answering.
    Blocks at most about twice ``timeout``.
    """
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=add_to_ledger, args=(entry, send))
    child.start()
    send.close()  # only the child writes into the pipe now
    try:
        return receive.recv() if receive.poll(timeout) else None
    finally:
        receive.close()
        stop(child, timeout)


# --------------------------------------------------------------------------
# Descriptors (chapter 02)
# --------------------------------------------------------------------------

_FD_DIR = "/proc/self/fd"


def open_descriptors() -> set[int] | None:
    """The numbers of the file descriptors open in this process right now.

    Read from ``/proc/self/fd`` (Linux).  Returns ``None`` where that
    directory does not exist (macOS).  Never blocks, raises nothing.  The set
    may include the descriptor used to list the directory itself.
    """
    if not os.path.isdir(_FD_DIR):
        return None
    try:
        return {int(name) for name in os.listdir(_FD_DIR)}
    except OSError:
        return None


def describe_fd(fd: int) -> str | None:
    """What the kernel says descriptor ``fd`` refers to, or ``None`` if it cannot say.

    On Linux this is the target of ``/proc/self/fd/<fd>``: a path for a
    regular file or a FIFO, and ``pipe:[<inode>]`` for an anonymous pipe.
    Returns ``None`` on systems without ``/proc`` and for a descriptor that is
    not open.  Never blocks.
    """
    try:
        return os.readlink(f"{_FD_DIR}/{fd}")
    except OSError:
        return None
