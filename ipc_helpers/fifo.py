"""A private folder, a FIFO made safely, and a read until end of file.

- :func:`private_dir`: a new folder only you can use, removed when Python exits;
- :func:`make_fifo`: the race-free recipe of chapter 03 (``os.mkfifo`` first,
  then ``os.lstat``: accept only a FIFO of ours, leave anything else alone);
- :func:`read_all`: ``os.read`` until end of file, with an optional timeout.
"""

from __future__ import annotations

import atexit
import errno
import os
import selectors
import shutil
import stat
import tempfile
import time
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
    chunks: list[bytes] = []
    if timeout is None:
        while chunk := os.read(fd, READ_SIZE):
            chunks.append(chunk)
        return b"".join(chunks)

    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                received = b"".join(chunks)
                raise FifoTimeoutError(
                    f"end of file did not arrive within {timeout:g} s "
                    f"({len(received)} bytes received so far)",
                    partial=received,
                )
            chunk = os.read(fd, READ_SIZE)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
