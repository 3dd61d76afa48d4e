"""Opening a FIFO with a timeout, FIONREAD, and throw-away FIFOs: machinery for the tests.

The chapters teach these with the system calls themselves (``O_NONBLOCK`` and
``poll`` for a time limit, ``fcntl.ioctl(fd, termios.FIONREAD, ...)``); the
tests need them ready-made and hardened, so they live here, not in
``ipc_helpers``.
"""

from __future__ import annotations

import array
import contextlib
import errno
import os
import select
import shutil
import stat
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

from ipc_helpers.errors import FifoTimeoutError, NotAFifoError
from ipc_helpers.fifo import TEMP_PREFIX, _describe, make_fifo

StrPath = str | os.PathLike[str]


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


