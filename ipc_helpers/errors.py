"""The exceptions that ``ipc_helpers`` raises on purpose.

Both are subclasses of built-in exceptions, so code that already catches
``FileExistsError`` or ``TimeoutError`` keeps working.
"""

from __future__ import annotations

import errno
import os


class NotAFifoError(FileExistsError):
    """Something that is not a FIFO sits where a FIFO was expected.

    Raised by :func:`make_fifo` and :func:`open_fifo`; also for a FIFO that
    belongs to another user.  The thing in the way is
    never modified: not opened for writing, not truncated, not removed.

    Attributes: ``filename`` (the path) and ``kind`` (what is there, in words,
    for example ``"a regular file (31 bytes)"``).
    """

    def __init__(self, path: str | os.PathLike[str], kind: str) -> None:
        self.kind = kind
        message = f"not a FIFO: there is {kind} at this path"
        super().__init__(errno.EEXIST, message, os.fspath(path))

    def __str__(self) -> str:
        what = "not one of yours" if self.kind.startswith("a FIFO") else "not a FIFO (named pipe)"
        return f"'{self.filename}' is {self.kind}, {what}; it was left untouched"


class FifoTimeoutError(TimeoutError):
    """A FIFO operation did not finish within its timeout.

    Attributes: ``filename`` (the FIFO's path, or ``None`` when only a file
    descriptor was known) and ``partial`` (the bytes received before the time
    ran out; ``b""`` for operations that do not read).
    """

    def __init__(
        self,
        message: str,
        path: str | os.PathLike[str] | None = None,
        partial: bytes = b"",
    ) -> None:
        self.partial = partial
        if path is None:
            super().__init__(errno.ETIMEDOUT, message)
        else:
            super().__init__(errno.ETIMEDOUT, message, os.fspath(path))

    def __str__(self) -> str:
        # TimeoutError's default text starts with "[Errno 110]", a number that
        # differs between platforms and means nothing to a learner.
        where = f": '{self.filename}'" if self.filename is not None else ""
        return f"{self.strerror}{where}"


class PeerError(RuntimeError):
    """A helper process on the other end of a FIFO failed.

    Raised when a launched writer or reader exits with an error, for example
    because the process on the other end went away (a broken pipe) or because
    its path was not a FIFO.  ``returncode`` and ``stderr`` say what happened.
    """

    def __init__(self, message: str, returncode: int | None, stderr: str) -> None:
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(message)


class TruncatedMessageError(EOFError):
    """End of file arrived in the middle of a framed message.

    The writer promised (in the frame's header) more bytes than arrived: it
    died or closed the FIFO mid-message.  ``expected`` and ``received`` are
    the byte counts; ``partial`` holds the bytes that did arrive.
    """

    def __init__(self, expected: int, partial: bytes) -> None:
        self.expected = expected
        self.received = len(partial)
        self.partial = partial
        super().__init__(
            f"the message was cut short: its header announced {expected} bytes, "
            f"but end of file came after {len(partial)} (the writer closed or died mid-message)"
        )
