"""Errors of the test machinery: a launched peer that failed, a framed message cut short."""

from __future__ import annotations


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
