#!/usr/bin/env python3
"""A sequence-number server, as in The Linux Programming Interface (listing 44-7).

usage: seqnum_server.py SERVER_FIFO [COUNT]

Reads requests of 8 bytes (how many numbers, the client's pid) from
SERVER_FIFO and answers each with the first of those numbers (4 bytes) on
the client's own FIFO, client-PID, next to SERVER_FIFO.  Stops after COUNT
requests (0, the default: no limit; in any case after a minute).
"""

import argparse
import os
import signal
import stat
import struct
import sys

signal.alarm(60)  # whatever happens, this process is gone after a minute
REQUEST = struct.Struct("!II")  # how many numbers, the client's pid: 8 bytes
REPLY = struct.Struct("!I")  # the first of the numbers: 4 bytes

parser = argparse.ArgumentParser(description="Hand out sequence numbers.")
parser.add_argument("fifo", help="the server's FIFO (it must exist)")
parser.add_argument("count", type=int, nargs="?", default=0, help="requests to serve (0: no limit)")
args = parser.parse_args()
me = f"server pid [{os.getpid()}]"


def say(text):
    print(f"{me}: {text}", flush=True)


def ours(fd):
    """Is this descriptor a FIFO that belongs to us?"""
    st = os.fstat(fd)
    return stat.S_ISFIFO(st.st_mode) and st.st_uid == os.geteuid()


def read_request(fd):
    """Read one request: all 8 bytes, however many reads that takes."""
    data = os.read(fd, REQUEST.size)  # waits for the first bytes
    while len(data) < REQUEST.size:
        data += os.read(fd, REQUEST.size - len(data))  # waits for the rest
    return REQUEST.unpack(data)


def serve(requests):
    number = served = 0
    while args.count == 0 or served < args.count:
        served += 1
        count, pid = read_request(requests)
        say(f"request from pid [{pid}] for {count}")
        name = f"client-{pid}"
        try:
            fd = os.open(os.path.join(os.path.dirname(args.fifo), name),
                         os.O_WRONLY | os.O_NOFOLLOW)  # waits until the client reads
        except OSError as e:
            say(f"cannot open {name}: {e.strerror}; request skipped")
            continue
        try:
            if ours(fd):
                os.write(fd, REPLY.pack(number))
                say(f"sent {number} to pid [{pid}]")
                number += count
            else:
                say(f"{name} is not a FIFO of ours; request skipped")
        except BrokenPipeError:
            say(f"pid [{pid}] left before the reply; request skipped")
        finally:
            os.close(fd)


try:
    requests = os.open(args.fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)  # never waits
    if not ours(requests):
        sys.exit(f"{me}: {os.path.basename(args.fifo)!r} is not a FIFO of ours; leaving it alone")
    dummy = os.open(args.fifo, os.O_WRONLY)  # a writer of our own: no end of file between clients
    os.set_blocking(requests, True)
    say(f"ready, reading {os.path.basename(args.fifo)!r}")
    serve(requests)
except OSError as e:
    sys.exit(f"{me}: {e.strerror}: {os.path.basename(e.filename or args.fifo)}")
