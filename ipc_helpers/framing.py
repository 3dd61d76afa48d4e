"""Several messages through one byte stream: framing.

A FIFO carries bytes, not messages: two writes may arrive as one read, one
write may arrive as several reads.  To send more than one message, the writer
marks where each ends, and the reader uses those marks.  Two common ways:

- a **length prefix**: 4 bytes with the length (big-endian), then the bytes;
- a **delimiter**: each message ends with ``b"\\n"`` (so it cannot contain one).

Length prefix: :func:`frame`, :func:`send_frame`, :func:`recv_frame`,
:func:`split_frames`.  Newline delimiter: :func:`encode_line`,
:func:`send_line`, :func:`recv_lines`, :class:`LineSplitter`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator

from .errors import TruncatedMessageError

HEADER = struct.Struct("!I")  # 4-byte unsigned length, network (big-endian) order


def frame(payload: bytes) -> bytes:
    """The bytes that carry ``payload`` as one length-prefixed message."""
    return HEADER.pack(len(payload)) + payload


def send_frame(fd: int, payload: bytes) -> None:
    """Write one length-prefixed message with a single ``os.write`` call.

    A single write of at most ``select.PIPE_BUF`` bytes (header included)
    cannot interleave with other writers' writes.  Blocks while the pipe is
    full.  Raises ``BrokenPipeError`` when no reader is left.
    """
    data = frame(payload)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_exactly(fd: int, n: int) -> bytes:
    """Read exactly ``n`` bytes, looping over short reads.

    Blocks until they arrive.  Returns fewer (possibly ``b""``) only at end
    of file; the caller decides whether that is an error.
    """
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def recv_frame(fd: int) -> bytes | None:
    """Read one length-prefixed message; ``None`` at a clean end of file.

    Blocks until a whole message (or end of file) arrives.
    Raises :class:`TruncatedMessageError` if end of file comes mid-message.
    """
    header = read_exactly(fd, HEADER.size)
    if not header:
        return None
    if len(header) < HEADER.size:
        raise TruncatedMessageError(HEADER.size, header)
    (length,) = HEADER.unpack(header)
    payload = read_exactly(fd, length)
    if len(payload) < length:
        raise TruncatedMessageError(length, payload)
    return payload


def split_frames(data: bytes) -> list[bytes]:
    """Split bytes that hold whole length-prefixed messages back into messages.

    Raises :class:`TruncatedMessageError` if the last message is incomplete.
    """
    messages, pos = [], 0
    while pos < len(data):
        if pos + HEADER.size > len(data):
            raise TruncatedMessageError(HEADER.size, data[pos:])
        (length,) = HEADER.unpack_from(data, pos)
        pos += HEADER.size
        if pos + length > len(data):
            raise TruncatedMessageError(length, data[pos:])
        messages.append(data[pos : pos + length])
        pos += length
    return messages


# --------------------------------------------------------------------------
# Newline-delimited messages
# --------------------------------------------------------------------------

NEWLINE = b"\n"


class UnterminatedLineError(TruncatedMessageError):
    """End of file arrived in the middle of a line: bytes without the closing newline.

    A subclass of :class:`TruncatedMessageError`, so one ``except`` catches
    both kinds of cut-short message.  ``partial`` holds the bytes of the
    unfinished line; ``expected`` is ``None`` (a line does not announce its
    length).
    """

    def __init__(self, partial: bytes) -> None:
        EOFError.__init__(
            self,
            f"the message was cut short: end of file came after {len(partial)} bytes "
            "of a line without its closing newline (the writer closed or died mid-message)",
        )
        self.expected = None
        self.received = len(partial)
        self.partial = partial


def encode_line(message: str | bytes) -> bytes:
    """The bytes that carry ``message`` as one line: UTF-8 text plus ``b"\\n"``.

    Raises ``ValueError`` if the message contains a newline itself (the
    reader would see two messages).
    """
    data = message.encode("utf-8") if isinstance(message, str) else bytes(message)
    if NEWLINE in data:
        raise ValueError("a newline-delimited message cannot contain a newline; use length prefixes")
    return data + NEWLINE


def send_line(fd: int, message: str | bytes) -> None:
    """Write one newline-terminated message (see :func:`encode_line`).

    Like :func:`send_frame`: one ``os.write`` call for the whole line, so a
    line of at most ``select.PIPE_BUF`` bytes does not interleave with other
    writers.  Blocks while the pipe is full.  Raises ``BrokenPipeError`` when
    no reader is left, ``ValueError`` as :func:`encode_line`.
    """
    view = memoryview(encode_line(message))
    while view:
        view = view[os.write(fd, view) :]


class LineSplitter:
    """Turn the chunks of a byte stream back into lines, wherever the chunks were cut.

    Give it every chunk you read, in order, with :meth:`feed`; it returns
    the lines completed so far (without their ``b"\\n"``) and keeps the
    unfinished rest.  Call :meth:`finish` at end of file.  Never blocks:
    it does no I/O itself.
    """

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add ``chunk``; return the lines it completed (possibly none)."""
        self._pending += chunk
        *lines, rest = bytes(self._pending).split(NEWLINE)
        self._pending = bytearray(rest)
        return lines

    @property
    def pending(self) -> bytes:
        """The bytes of the line not finished yet."""
        return bytes(self._pending)

    def finish(self) -> None:
        """Declare end of file.  Raises :class:`UnterminatedLineError` if a line is unfinished."""
        if self._pending:
            raise UnterminatedLineError(self.pending)


def recv_lines(fd: int, read_size: int = 4096) -> Iterator[bytes]:
    """Yield each newline-terminated message from ``fd`` (without the newline).

    Reads with ``os.read(fd, read_size)`` until end of file, so it blocks
    while a writer keeps the FIFO open and sends nothing.  Raises
    :class:`UnterminatedLineError` if end of file comes in the middle of a line.
    """
    splitter = LineSplitter()
    while chunk := os.read(fd, read_size):
        yield from splitter.feed(chunk)
    splitter.finish()
