"""Create, open and read FIFOs safely from inside a Jupyter kernel.

A plain ``os.open(fifo, os.O_RDONLY)`` waits until some other process opens
the FIFO for writing.  In a notebook that wait freezes the kernel.  These
helpers behave like the system calls they wrap, but they can be given a
timeout, they refuse paths that are not FIFOs, and they never leave a
descriptor open when they fail.
"""

from __future__ import annotations

import array
import atexit
import contextlib
import errno
import mmap
import os
import select
import selectors
import shutil
import stat
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator
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


def path_kind(path: StrPath) -> str:
    """Describe in words what is at ``path``, without following symlinks.

    Returns for example ``"a FIFO"``, ``"a regular file (31 bytes)"``,
    ``"a directory"`` or ``"a dangling symbolic link to 'x'"``; ``"nothing"``
    when the path does not exist.  Never opens anything, never blocks.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "nothing"
    return _describe(path, st.st_mode, st.st_size)


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
            pointed = path_kind(os.path.join(os.path.dirname(path), target))
        except OSError:
            pointed = "nothing"
        if pointed == "nothing":
            return f"a dangling symbolic link to '{target}'"
        return f"a symbolic link to '{target}' ({pointed})"
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


class Workspace:
    """A fresh private directory (mode 0o700) for FIFOs and other files.

    Everything in it is removed by :meth:`cleanup`, by leaving a ``with``
    block, when the object is garbage-collected, or when Python exits.
    Use it when a FIFO must live across several notebook cells::

        ws = Workspace()
        fifo = ws.fifo("my_pipe")
        ...
        ws.cleanup()
    """

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.path, True)

    def fifo(self, name: str = "my_pipe", mode: int = 0o600) -> Path:
        """Create (or reuse) the FIFO ``name`` inside the workspace; see :func:`make_fifo`."""
        return make_fifo(self.path / name, mode)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def cleanup(self) -> None:
        """Remove the directory and everything in it.  Safe to call twice."""
        self._finalizer()

    @property
    def removed(self) -> bool:
        """True once the directory has been removed."""
        return not self._finalizer.alive

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cleanup()

    def __repr__(self) -> str:
        state = "removed" if self.removed else "live"
        return f"<Workspace {state}>"


@contextlib.contextmanager
def temp_fifo(name: str = "my_pipe", mode: int = 0o600) -> Iterator[Path]:
    """Yield the path of a new FIFO inside a fresh private directory.

    The directory is owner-only (0o700) and the FIFO has permissions ``mode``.
    Both are removed when the ``with`` block ends, also after an exception or
    Ctrl-C (``KeyboardInterrupt``)::

        with temp_fifo() as fifo:
            ...
    """
    with Workspace() as ws:
        yield ws.fifo(name, mode)


# --------------------------------------------------------------------------
# Opening FIFOs
# --------------------------------------------------------------------------

_OPEN_FLAGS = {"r": os.O_RDONLY, "w": os.O_WRONLY}
_PEER = {"r": "writing", "w": "reading"}


def open_fifo(path: StrPath, mode: str, *, timeout: float | None = None) -> int:
    """Open the FIFO at ``path`` for reading (``"r"``) or writing (``"w"``).

    Blocks like ``os.open``: an open for reading waits until some process
    opens the FIFO for writing, and the other way round.  Returns a *blocking*
    file descriptor; close it with ``os.close``.

    With ``timeout`` (seconds) the wait is bounded.  The wait sleeps in the
    kernel (it does not poll), and Ctrl-C interrupts it.

    Raises:
        ValueError: ``mode`` is not ``"r"`` or ``"w"``.
        FileNotFoundError: nothing at ``path`` (a file is never created).
        NotAFifoError: ``path`` is not a FIFO (a regular file, a directory,
            ``/dev/null``, a socket, any symbolic link).  Raised at once,
            without blocking and without writing anything.
        FifoTimeoutError: nobody opened the other end within ``timeout``.
            No descriptor is left open.
    """
    if mode not in _OPEN_FLAGS:
        raise ValueError(f"mode must be 'r' (read) or 'w' (write), not {mode!r}")
    _require_fifo(path)
    flags = _OPEN_FLAGS[mode] | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    if timeout is None:
        return _checked_open(path, flags)
    return _open_with_timeout(path, flags, mode, timeout)


def _require_fifo(path: StrPath) -> None:
    st = os.lstat(path)  # FileNotFoundError when missing: we never create files
    if not stat.S_ISFIFO(st.st_mode):
        raise NotAFifoError(path, _describe(path, st.st_mode, st.st_size))


def _checked_open(path: StrPath, flags: int) -> int:
    """``os.open`` that refuses whatever replaced the FIFO after the check."""
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO):
            raise NotAFifoError(path, path_kind(path)) from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISFIFO(st.st_mode):  # swapped between lstat and open
        os.close(fd)
        raise NotAFifoError(path, _describe(path, st.st_mode, st.st_size))
    return fd


def _open_with_timeout(path: StrPath, flags: int, mode: str, timeout: float) -> int:
    # A helper thread does the blocking open, so the wait happens in the
    # kernel.  If time runs out we open the other end ourselves for a moment:
    # that completes the helper's open, and we then close both descriptors.
    result: dict[str, object] = {}
    done = threading.Event()

    def opener() -> None:
        try:
            result["fd"] = _checked_open(path, flags)
        except BaseException as exc:  # handed to the caller below
            result["error"] = exc
        finally:
            done.set()

    thread = threading.Thread(target=opener, name="open_fifo", daemon=True)
    thread.start()
    try:
        finished = done.wait(timeout)
    except BaseException:  # Ctrl-C while waiting: release the thread, close everything
        fd = _release(path, mode, thread, result)
        if fd is not None:
            os.close(fd)
        raise
    if not finished:
        fd = _release(path, mode, thread, result)
        if fd is not None:  # the real peer arrived at the very last moment
            return fd
        raise FifoTimeoutError(f"nobody opened the FIFO for {_PEER[mode]} within {timeout:g} s", path)
    thread.join()
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["fd"]  # type: ignore[return-value]


def _release(path: StrPath, mode: str, thread: threading.Thread, result: dict) -> int | None:
    """Complete the helper thread's open with a throw-away peer.

    Returns the thread's descriptor if a real peer is connected to it, and
    otherwise closes it and returns None.
    """
    other = os.O_WRONLY if mode == "r" else os.O_RDONLY
    peer = None
    for _ in range(50):
        try:
            peer = os.open(path, other | os.O_NONBLOCK | os.O_CLOEXEC)
            break
        except OSError:  # ENXIO: the helper is not counted as a reader yet
            if not thread.is_alive():
                break
            time.sleep(0.01)
    thread.join(5)
    if peer is not None:
        os.close(peer)
    fd = result.get("fd")
    if not isinstance(fd, int):
        return None
    if _peer_connected(fd, mode):
        return fd
    os.close(fd)
    return None


def _peer_connected(fd: int, mode: str) -> bool:
    """Does a process other than our throw-away peer hold the other end?"""
    if not hasattr(select, "poll"):
        return False
    poller = select.poll()
    poller.register(fd, 0)  # POLLHUP and POLLERR are reported even when not asked for
    events = poller.poll(0)
    mask = events[0][1] if events else 0
    if mode == "r":
        # No writer left: POLLHUP.  Data from a real writer waiting: POLLIN.
        return bool(mask & select.POLLIN) or not mask & select.POLLHUP
    return not mask & select.POLLERR  # no reader left: POLLERR


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


def bytes_waiting(fd: int) -> int | None:
    """How many bytes sit in the pipe behind ``fd`` (either end), written but not yet read.

    Asks the kernel with ``ioctl(fd, FIONREAD)`` (Linux and macOS).  Reads
    nothing and never blocks.  ``os.stat`` cannot tell you this: a FIFO's size
    in the file system is always 0.  Returns ``None`` where the system has no
    ``FIONREAD`` (Windows).  Raises ``OSError`` if ``fd`` is not open.
    """
    try:
        import fcntl
        import termios
    except ImportError:  # pragma: no cover - Windows
        return None
    if not hasattr(termios, "FIONREAD"):  # pragma: no cover
        return None
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count, True)
    return count[0]


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

    It returns False once the deadline has passed.  ``select.poll`` costs about
    half as much per call as a selector, which matters once per read.
    """
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)  # POLLHUP (end of file) is always reported
        poll = poller.poll
    else:  # pragma: no cover - systems without poll(); SelectSelector holds no descriptor
        selector = selectors.SelectSelector()
        selector.register(fd, selectors.EVENT_READ)

        def poll(milliseconds: float) -> list:
            return selector.select(milliseconds / 1000)

    def wait() -> bool:
        remaining = deadline - time.monotonic()
        return remaining > 0 and bool(poll(remaining * 1000))

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
