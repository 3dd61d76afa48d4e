"""Helpers and small programs for chapter 08: servers and two-way conversations.

The programs in this module run as separate processes, started by the
``launch_*`` helpers (never by hand in a notebook cell)::

    python -I -S servers.py echo-server REQUESTS REPLIES
    python -I -S servers.py seqnum-server SERVER_FIFO MODE REQUESTS
    python -I -S servers.py seqnum-client SERVER_FIFO COUNT MODE

The programs use only the standard library, so this file runs as a plain
script, without site-packages (``-S``) and without importing the
``ipc_helpers`` package: each program starts in about 20 ms instead of 70,
which adds up when a cell starts six of them.  (``-I`` keeps this folder off
``sys.path``.)  That is also why :func:`read_exactly` and the 4-byte length
prefix of ``ipc_helpers.framing`` are repeated here.

Every program prints what it does on standard output, one ``[role] ...``
line per step, so the notebook can show it afterwards.  None of them ever
prints a process id or a path.  Each one is killed by ``SIGALRM`` after
``LIFETIME`` seconds, whatever happens.

The sequence-number server follows the design of *The Linux Programming
Interface*, listings 44-6 to 44-8: one well-known FIFO for requests, and one
FIFO per client for its reply.  A request is 8 bytes (``REQUEST``: the
client's id, which is its process id, and how many numbers it wants), far
below ``PIPE_BUF``, so requests from many clients never mix.  The reply is
4 bytes (``REPLY``): the first of the numbers.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import struct
import sys

if __name__ != "__main__":  # only the launchers need the package; the programs do not
    from .procs import ChildProcess

StrPath = str | os.PathLike[str]

REQUEST = struct.Struct("!II")  # client id, how many numbers
REPLY = struct.Struct("!I")  # the first number
HEADER = struct.Struct("!I")  # the length prefix of a message, as in ipc_helpers.framing
LIFETIME = 60  # seconds: no program of this module lives longer


def poll_names(events: list[tuple[int, int]]) -> str:
    """What ``poll()`` returned, in words: ``"POLLIN|POLLHUP"``, or ``"nothing (timed out)"``."""
    if not events:
        return "nothing (timed out)"
    names = ["POLLIN", "POLLPRI", "POLLOUT", "POLLERR", "POLLHUP", "POLLNVAL"]
    mask = 0
    for _, flags in events:
        mask |= flags
    return "|".join(n for n in names if mask & getattr(select, n)) or str(mask)


def client_fifo(server_fifo: StrPath, client_id: int) -> str:
    """Where the client with ``client_id`` expects its reply: next to the server's FIFO."""
    return os.path.join(os.path.dirname(os.fspath(server_fifo)), f"client-{client_id}")


# --------------------------------------------------------------------------
# Starting the programs
# --------------------------------------------------------------------------


def _launch(role: str, *args: str) -> ChildProcess:
    child = ChildProcess(["-I", "-S", os.path.abspath(__file__), *args])  # see the module's docstring
    child._role = role
    return child


def launch_echo_server(requests: StrPath, replies: StrPath) -> ChildProcess:
    """Start a server that answers each message on ``requests`` with one on ``replies``.

    The server opens ``requests`` for reading first, then ``replies`` for
    writing (both blocking opens), so a client must open them in the same
    order.  Each message is a length-prefixed frame (``ipc_helpers.framing``);
    the answer to ``text`` is ``"echo #n: TEXT"`` (upper case).  At end of
    file on ``requests`` it closes ``replies`` and exits with status 0.
    Returns at once; use the result in a ``with`` block.
    """
    return _launch("echo server", "echo-server", os.fspath(requests), os.fspath(replies))


def launch_seqnum_server(server_fifo: StrPath, *, requests: int, mode: str = "safe") -> ChildProcess:
    """Start a sequence-number server on the existing FIFO ``server_fifo``.

    It keeps a writer of its own open on ``server_fifo`` (so it never sees
    end of file), handles ``requests`` requests, then exits with status 0.
    ``mode`` says how it opens a client's FIFO to reply:

    - ``"naive"``: a blocking ``os.open(O_WRONLY)``, as in TLPI's listing.
      If the client is gone, this open never returns and the server is stuck.
    - ``"safe"``: ``O_WRONLY | O_NONBLOCK``; if no client is reading (``ENXIO``)
      or its FIFO is gone (``ENOENT``), it skips that request and goes on.

    Returns at once; use the result in a ``with`` block.
    """
    if mode not in ("naive", "safe"):
        raise ValueError(f"mode must be 'naive' or 'safe', not {mode!r}")
    return _launch("seqnum server", "seqnum-server", os.fspath(server_fifo), mode, str(requests))


def launch_seqnum_client(server_fifo: StrPath, count: int, *, mode: str = "safe") -> ChildProcess:
    """Start a client that asks the server at ``server_fifo`` for ``count`` numbers.

    It creates its own FIFO (see :func:`client_fifo`), sends one request and
    prints ``got N`` (the first number) when the reply arrives.  ``mode``:

    - ``"safe"``: opens its FIFO for reading (non-blocking) *before* sending,
      so a ``"safe"`` server always finds it; waits for the reply with ``poll``.
    - ``"naive"``: TLPI's order: sends, then opens its FIFO (a blocking open).
    - ``"late"``: TLPI's order too, but surely too late: after sending it
      keeps its end of ``server_fifo`` open and waits until no reader is left
      (``poll`` reports ``POLLERR``: the server has exited), and only then
      opens its FIFO, where it waits for a reply that can never come.
    - ``"vanish"``: sends its request and exits at once, without opening or
      removing its FIFO: a client that crashed.

    Waiting clients block until they get a reply (or their lifetime ends).
    Returns at once; use the result in a ``with`` block.
    """
    if mode not in ("safe", "naive", "late", "vanish"):
        raise ValueError(f"unknown client mode {mode!r}")
    return _launch("seqnum client", "seqnum-client", os.fspath(server_fifo), str(count), mode)


def numbers_received(client: ChildProcess, count: int) -> range:
    """The numbers a finished client got: ``range(first, first + count)``.

    Raises ``ValueError`` if its output has no ``got N`` line.
    """
    for line in client.stdout.splitlines():
        if line.startswith("got "):
            first = int(line.split()[1])
            return range(first, first + count)
    raise ValueError("the client got no reply")


# --------------------------------------------------------------------------
# The programs
# --------------------------------------------------------------------------


def say(line: str) -> None:
    print(line, flush=True)  # flush at once: the output must survive a kill


def read_exactly(fd: int, n: int) -> bytes:
    """Read ``n`` bytes, looping over short reads (as ``ipc_helpers.framing.read_exactly``).

    Blocks until they arrive; returns fewer (maybe ``b""``) only at end of file.
    """
    data = b""
    while len(data) < n and (chunk := os.read(fd, n - len(data))):
        data += chunk
    return data


def echo_server(requests: str, replies: str) -> None:
    say("[server] opening the request FIFO for reading")
    req = os.open(requests, os.O_RDONLY)  # waits for a client to open it for writing
    say("[server] opening the reply FIFO for writing")
    rep = os.open(replies, os.O_WRONLY)  # waits for the client to open it for reading
    say("[server] both FIFOs open: ready")
    n = 0
    while len(header := read_exactly(req, HEADER.size)) == HEADER.size:  # a message, not end of file
        message = read_exactly(req, HEADER.unpack(header)[0])
        n += 1
        answer = f"echo #{n}: {message.decode('utf-8').upper()}".encode()
        os.write(rep, HEADER.pack(len(answer)) + answer)  # one write: header and text together
    say(f"[server] end of file on the request FIFO after {n} messages: closing and exiting")
    os.close(rep)
    os.close(req)


def seqnum_server(server_fifo: str, mode: str, requests: int) -> None:
    r = os.open(server_fifo, os.O_RDONLY | os.O_NONBLOCK)  # never blocks
    dummy = os.open(server_fifo, os.O_WRONLY)  # our own writer: we never see end of file
    os.set_blocking(r, True)  # safe now: a writer (we) is connected
    say(f"[server] ready ({mode})")
    next_number = 0
    for _ in range(requests):
        client_id, count = REQUEST.unpack(read_exactly(r, REQUEST.size))  # waits for a request
        say(f"[server] request for {count} number(s)")
        path = client_fifo(server_fifo, client_id)
        if mode == "naive":
            say("[server] opening the client's FIFO to reply")
            fd = os.open(path, os.O_WRONLY)  # waits until the client opens it: maybe forever
        else:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno not in (errno.ENXIO, errno.ENOENT):
                    raise
                say(f"[server] the client is gone ({errno.errorcode[exc.errno]}): request skipped")
                continue
        try:
            os.write(fd, REPLY.pack(next_number))  # 4 bytes: fits, even without blocking
        except BrokenPipeError:  # the client left between our open and our write
            say("[server] the client left before the reply (EPIPE): request skipped")
            continue
        finally:
            os.close(fd)
        say(f"[server] replied with {count} number(s)")
        next_number += count
    os.close(dummy)
    os.close(r)
    say("[server] done")


def seqnum_client(server_fifo: str, count: int, mode: str) -> None:
    own = client_fifo(server_fifo, os.getpid())
    try:
        os.mkfifo(own, 0o600)  # before the request: the server must find it (TLPI does the same)
    except FileExistsError:
        pass  # left behind by a crashed client that had the same process id: use it
    reader = None
    try:
        if mode == "safe":
            reader = os.open(own, os.O_RDONLY | os.O_NONBLOCK)  # hold the read end from the start
        srv = os.open(server_fifo, os.O_WRONLY)  # the server holds the read end
        os.write(srv, REQUEST.pack(os.getpid(), count))  # 8 bytes: one atomic write
        if mode == "vanish":
            say("[client] sent a request, then vanished")
            os._exit(0)  # no clean-up at all, like a crash: the FIFO stays, never opened
        if mode == "late":  # surely too late: wait until the server has exited
            until_gone = select.poll()
            until_gone.register(srv, 0)  # a write end reports POLLERR once no reader is left
            until_gone.poll()
        os.close(srv)
        if reader is None:
            reader = os.open(own, os.O_RDONLY)  # waits for the server to open it for writing
        else:
            poller = select.poll()
            poller.register(reader, select.POLLIN)
            poller.poll()  # Linux: no POLLHUP before the first writer, so this waits for the server
            os.set_blocking(reader, True)
        reply = read_exactly(reader, REPLY.size)
        if len(reply) < REPLY.size:
            say("[client] the server closed without replying")
            sys.exit(1)
        say(f"got {REPLY.unpack(reply)[0]}")
    finally:
        if reader is not None:
            os.close(reader)
        os.unlink(own)


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(LIFETIME)  # a safety net: never outlive a forgotten notebook
    command, *args = argv
    if command == "echo-server":
        echo_server(args[0], args[1])
    elif command == "seqnum-server":
        seqnum_server(args[0], args[1], int(args[2]))
    elif command == "seqnum-client":
        seqnum_client(args[0], int(args[1]), args[2])
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
