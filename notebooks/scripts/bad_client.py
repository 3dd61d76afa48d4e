#!/usr/bin/env python3
"""A client of the sequence-number server that goes wrong: it crashes, or it cheats.

usage: bad_client.py SERVER_FIFO [--half | --shift]

Like seqnum_client.py it first creates its FIFO client-PID, then sends a
request for 2 numbers and dies (SIGKILL, as in a crash), never opening or
removing its FIFO.  With --half it dies after writing only the first 4 bytes
of its request.  With --shift it writes those 4 bytes and then, instead of
dying, a whole request every 0.1 s until it is stopped.
"""

import argparse
import os
import signal
import stat
import struct
import sys
import time

signal.alarm(60)  # whatever happens, this process is gone after a minute
REQUEST = struct.Struct("!II")  # how many numbers, our pid: 8 bytes

parser = argparse.ArgumentParser(description="A client that crashes or cheats.")
parser.add_argument("fifo", help="the server's FIFO")
parser.add_argument("--half", action="store_true", help="crash halfway through the request")
parser.add_argument("--shift", action="store_true", help="write half a request, then whole ones")
args = parser.parse_args()
me = f"bad client pid [{os.getpid()}]"


def go_wrong(fd):
    request = REQUEST.pack(2, os.getpid())
    if not (args.half or args.shift):
        os.write(fd, request)
        print(f"{me}: sent a request for 2 and crashed", flush=True)
        return
    os.write(fd, request[:4])
    print(f"{me}: wrote 4 of the 8 bytes", "and goes on writing" if args.shift else "and crashed", flush=True)
    while args.shift:
        time.sleep(0.1)
        os.write(fd, request)  # whole requests now, but 4 bytes out of step


try:
    os.mkfifo(os.path.join(os.path.dirname(args.fifo), f"client-{os.getpid()}"), 0o600)
    fd = os.open(args.fifo, os.O_WRONLY | os.O_NOFOLLOW)  # waits for a server to read
    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        sys.exit(f"{me}: {os.path.basename(args.fifo)!r} is not a FIFO; leaving it alone")
    go_wrong(fd)
except OSError as e:
    sys.exit(f"{me}: {e.strerror}: {os.path.basename(e.filename or args.fifo)}")
os.kill(os.getpid(), signal.SIGKILL)  # a crash: no clean-up at all
