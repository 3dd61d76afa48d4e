"""A private folder, a FIFO made safely, and a read until end of file.

- :func:`private_dir`: a new folder only you can use, removed when Python exits;
- :func:`make_fifo`: the race-free recipe of chapter 03 (``os.mkfifo`` first,
  then ``os.lstat``: accept only a FIFO of ours, leave anything else alone);
- :func:`read_all`: ``os.read`` until end of file, with an optional timeout.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import mmap
import os
import select
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .errors import FifoTimeoutError, NotAFifoError

#: Every temporary directory made by this package starts with this prefix.
TEMP_PREFIX = "ipc-tutorial-"

#: How much ``read_all`` asks the kernel for at a time (the default capacity
#: of a Linux pipe, so one read can empty a full pipe).
READ_SIZE = 64 * 1024

StrPath = str | os.PathLike[str]


# --------------------------------------------------------------------------
# What is at a path?
# --------------------------------------------------------------------------


def _describe(path: StrPath, mode: int, size: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISREG(mode):
        return f"a regular file ({size} byte{'s' if size != 1 else ''})"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISLNK(mode):
        target = os.readlink(path)
        try:
            st = os.stat(path)  # what the link points to
        except OSError:
            return f"a dangling symbolic link to '{target}'"
        return f"a symbolic link to '{target}' ({_describe(target, st.st_mode, st.st_size)})"
    if stat.S_ISSOCK(mode):
        return "a Unix domain socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "something that is not a FIFO"


# --------------------------------------------------------------------------
# Creating FIFOs
# --------------------------------------------------------------------------


def private_dir() -> Path:
    """A new, empty directory only you can use (mode 0o700), for this notebook's FIFOs.

    It is made under the system's temporary directory with a name like
    ``/tmp/ipc-tutorial-k2j8x1``, and removed with everything in it when
    Python exits (remove it sooner with ``shutil.rmtree``).  Never blocks.
    """
    path = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))  # mkdtemp: mode 0o700, unpredictable name
    atexit.register(shutil.rmtree, path, True)
    return path


def make_fifo(path: StrPath, mode: int = 0o600) -> Path:
    """Create a FIFO at ``path`` with permissions exactly ``mode``, or accept our own FIFO there.

    Race-free: ``os.mkfifo`` is tried first and an existing FIFO is accepted
    afterwards, so many processes may call this at once on one path and all
    succeed.  (Checking ``os.path.exists`` first, as the book does, is a race.)
    The mode is set only when the FIFO is created: an existing FIFO of ours is
    accepted as it is.

    Returns the path.  Never blocks.

    Raises:
        NotAFifoError: something else is at ``path`` (a regular file, a
            directory, a socket, any symbolic link), or a FIFO that belongs to
            another user (who could read what we write, or write to us).  It is
            left untouched.
        FileNotFoundError: the parent directory does not exist.
        PermissionError, OSError: the file system refuses FIFOs here (for
            example ``/proc``, ``/sys`` or a read-only mount).
    """
    path = Path(path)
    for _ in range(100):  # only a path that keeps vanishing and reappearing loops
        try:
            os.mkfifo(path, mode)
        except FileExistsError:
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue  # removed between the two calls: try to create it again
            if not stat.S_ISFIFO(st.st_mode):
                raise NotAFifoError(path, _describe(path, st.st_mode, st.st_size)) from None
            if st.st_uid != os.geteuid():
                raise NotAFifoError(path, f"a FIFO of another user (uid {st.st_uid})") from None
            return path
        except OSError as exc:
            raise _explain_mkfifo_error(exc, path) from None
        try:
            os.chmod(path, mode)  # mkfifo applied the umask; set the exact mode asked for
        except FileNotFoundError:
            continue  # removed by someone else in between: create it again
        return path
    raise FileExistsError(errno.EEXIST, "path keeps changing; gave up", os.fspath(path))


def _explain_mkfifo_error(exc: OSError, path: Path) -> OSError:
    """The same kind of error, with the path and a hint a learner can act on."""
    # os.mkfifo's own errors do not even name the path.
    if isinstance(exc, FileNotFoundError) and not path.parent.exists():
        message = f"cannot create a FIFO: the directory '{path.parent}' does not exist"
    elif exc.errno in (errno.ENOENT, errno.EPERM, errno.EROFS, errno.EACCES, errno.ENOTSUP, errno.EOPNOTSUPP):
        message = (
            f"{exc.strerror}: this directory cannot hold a FIFO (read-only, no permission, "
            "or a file system without FIFOs such as /proc, /sys or a Windows drive under WSL); "
            "use a directory on a local file system, for example one from tempfile.mkdtemp()"
        )
    else:
        message = exc.strerror or str(exc)
    return type(exc)(exc.errno, message, os.fspath(path))


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def read_all(fd: int, *, timeout: float | None = None) -> bytes:
    """Read from ``fd`` until end of file, that is until every writer has closed.

    Without ``timeout`` this blocks as long as a writer keeps the FIFO open.
    With ``timeout`` (seconds, counted from the call) it raises
    :class:`FifoTimeoutError` if end of file has not arrived in time; the bytes
    read so far are on the exception as ``partial``.  The descriptor is not
    closed (the caller opened it, the caller closes it), and its blocking mode
    and the pipe's capacity are left as they were.
    """
    wait = None if timeout is None else _readable_before(fd, time.monotonic() + timeout)
    # Each read lands in one small buffer that stays in the CPU cache, so the
    # kernel's copy (made while it holds the pipe's lock, which a writer on
    # another CPU is waiting for) is short; _Received then keeps the bytes.
    buffer = bytearray(READ_SIZE)
    view = memoryview(buffer)
    received = _Received()
    try:
        while True:
            if wait is not None and not wait():
                partial = received.getvalue()
                raise FifoTimeoutError(
                    f"end of file did not arrive within {timeout:g} s ({len(partial)} bytes received so far)",
                    partial=partial,
                )
            count = os.readv(fd, [buffer])
            if not count:
                return received.getvalue()
            received.add(view[:count])
    finally:
        received.close()
        view.release()


def _readable_before(fd: int, deadline: float) -> Callable[[], bool]:
    """A function that waits until ``fd`` has data or end of file, or ``deadline`` passes.

    It returns False once the deadline has passed.
    """
    poller = select.poll()  # every system with os.mkfifo has poll()
    poller.register(fd, select.POLLIN)  # POLLHUP (end of file) is always reported

    def wait() -> bool:
        remaining = deadline - time.monotonic()
        return remaining > 0 and bool(poller.poll(remaining * 1000))

    return wait


#: ``read_all`` keeps the first MiB in a bytearray; beyond that it copies into
#: 8 MiB pieces of fresh memory and joins them once at the end.
_FIRST = 1 << 20
_PIECE = 8 << 20


class _Received:
    """The bytes ``read_all`` has received so far.

    Why pieces: every 4 KiB page of newly used memory costs a page fault, and
    for a large transfer those faults take more time than copying the bytes.
    The pieces are anonymous memory maps for which Linux is asked to use 2 MiB
    pages (``MADV_HUGEPAGE``) and to fill in all pages at once
    (``MADV_POPULATE_WRITE``), so the copies into them fault rarely, if ever.
    Measured with ``benchmarks/read_all_throughput.py``: about twice the
    reader's CPU efficiency of a plain ``bytearray`` loop, on one CPU or two.
    """

    def __init__(self) -> None:
        self.first = bytearray()
        self.pieces: list[memoryview] = []
        self.used = 0  # bytes used in the last piece

    def add(self, data: memoryview) -> None:
        if not self.pieces and len(self.first) + len(data) <= _FIRST:
            self.first += data
            return
        while data:
            if not self.pieces or self.used == _PIECE:
                self.pieces.append(memoryview(_new_piece()))
                self.used = 0
            count = min(_PIECE - self.used, len(data))
            self.pieces[-1][self.used : self.used + count] = data[:count]
            self.used += count
            data = data[count:]

    def getvalue(self) -> bytes:
        if not self.pieces:
            return bytes(self.first)
        return b"".join([self.first, *self.pieces[:-1], self.pieces[-1][: self.used]])

    def close(self) -> None:
        """Give the pieces' memory back now, not when the garbage collector runs."""
        for view in self.pieces:
            piece = view.obj
            view.release()
            if isinstance(piece, mmap.mmap):
                piece.close()
        self.pieces.clear()


def _new_piece() -> mmap.mmap | bytearray:
    try:
        piece = mmap.mmap(-1, _PIECE, flags=mmap.MAP_PRIVATE)
    except (AttributeError, OSError):  # pragma: no cover - no anonymous private maps here
        return bytearray(_PIECE)
    if hasattr(mmap, "MADV_HUGEPAGE"):  # Linux
        # 23 is MADV_POPULATE_WRITE (Linux 5.14), which Python's mmap does not name.  Without huge
        # pages it still saves a fault per 4 KiB page; an older kernel just refuses it.
        for advice in (mmap.MADV_HUGEPAGE, getattr(mmap, "MADV_POPULATE_WRITE", 23)):
            with contextlib.suppress(OSError):
                piece.madvise(advice)
    return piece
