"""Length-prefixed messages through a byte stream, for the load and fault tests.

4 bytes with the length (big-endian), then the bytes: :func:`frame`,
:func:`send_frame`, :func:`recv_frame`, :func:`split_frames`.  Chapter 05
writes the same recipe out in its cells.
"""

from __future__ import annotations

import os
import struct

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
