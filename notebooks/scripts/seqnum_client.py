#!/usr/bin/env python3
"""Ask the sequence-number server for N numbers (after TLPI's listing 44-8, made safe).

usage: seqnum_client.py SERVER_FIFO [N] [--timeout S]

Opens SERVER_FIFO for writing (waiting for a server), creates its own FIFO
client-PID next to it and opens it for reading *before* it sends its request,
so that the server always finds a reader.  Waits at most S seconds (default 5)
for the 4-byte reply, prints the numbers it got, and removes its FIFO.
"""

import argparse
import os
import select
import signal
import stat
import struct
import sys

signal.alarm(60)  # whatever happens, this process is gone after a minute
REQUEST = struct.Struct("!II")  # how many numbers, our pid: 8 bytes
REPLY = struct.Struct("!I")  # the first of the numbers: 4 bytes

parser = argparse.ArgumentParser(description="Ask the sequence-number server for numbers.")
parser.add_argument("fifo", help="the server's FIFO")
parser.add_argument("n", type=int, nargs="?", default=1, help="how many numbers (default 1)")
parser.add_argument("--timeout", type=float, default=5, help="seconds to wait for the reply")
args = parser.parse_args()
if args.n < 1:
    parser.error("N must be at least 1")
me = f"client pid [{os.getpid()}]"
name = f"client-{os.getpid()}"
own = os.path.join(os.path.dirname(args.fifo), name)


def check(st, what):
    """Accept only a FIFO that belongs to us; anything else is refused and left untouched."""
    if not stat.S_ISFIFO(st.st_mode):
        sys.exit(f"{me}: {what} exists and is not a FIFO; leaving it alone")
    if st.st_uid != os.geteuid():
        sys.exit(f"{me}: {what} is a FIFO of another user (uid {st.st_uid}); leaving it alone")


def ask(server, reply):
    os.write(server, REQUEST.pack(args.n, os.getpid()))  # one write of 8 bytes: never mixed
    os.close(server)
    poller = select.poll()
    poller.register(reply, select.POLLIN)
    if not poller.poll(int(args.timeout * 1000)):  # Linux: waits for the server to write
        sys.exit(f"{me}: no reply within {args.timeout:.1f} s")
    data = os.read(reply, REPLY.size)
    if len(data) < REPLY.size:
        sys.exit(f"{me}: the server closed {name} without a reply")
    first = REPLY.unpack(data)[0]
    print(f"{me}: got {first}" + (f" to {first + args.n - 1}" if args.n > 1 else ""), flush=True)


try:
    server = os.open(args.fifo, os.O_WRONLY | os.O_NOFOLLOW)  # waits for a server to read
    check(os.fstat(server), os.path.basename(args.fifo))
    try:
        os.mkfifo(own, 0o600)
    except FileExistsError:
        check(os.lstat(own), name)  # left by an earlier client with our pid? Only if it is ours
    reply = os.open(own, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)  # never waits
    check(os.fstat(reply), name)
    try:
        ask(server, reply)
    finally:
        os.close(reply)
        os.unlink(own)
except OSError as e:
    sys.exit(f"{me}: {e.strerror}: {os.path.basename(e.filename or args.fifo)}")
