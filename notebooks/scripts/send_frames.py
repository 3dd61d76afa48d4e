#!/usr/bin/env python3
"""Send messages through a FIFO, each with its length in front: the writer for chapter 05's framing.

usage: send_frames.py FIFO [MESSAGE ...] [--piece N] [--pause S]

Each MESSAGE is encoded as UTF-8 and framed: 4 bytes with its length
(struct.pack("!I", n): unsigned, big-endian), then the bytes themselves.
The whole stream is written N bytes at a time (default: all at once), with
PAUSE seconds between two writes, so that a reader's os.read calls come back
short and cut through lengths and characters.  Opening the FIFO waits for a
reader.  Prints one line when done.
"""

import argparse
import os
import signal
import stat
import struct
import sys
import time

signal.alarm(60)  # whatever happens, this process is gone after a minute

parser = argparse.ArgumentParser(description="Send length-prefixed messages through a FIFO.")
parser.add_argument("fifo", help="path of an existing FIFO")
parser.add_argument("messages", nargs="*", help="text of each message")
parser.add_argument("--piece", type=int, default=0, help="bytes per os.write (default: all)")
parser.add_argument("--pause", type=float, default=0, help="seconds between two writes")
args = parser.parse_args()

me = f"sender pid [{os.getpid()}]"
stream = b""
for message in args.messages:
    payload = message.encode("utf-8")
    stream += struct.pack("!I", len(payload)) + payload  # the frame: length, then payload

try:
    fd = os.open(args.fifo, os.O_WRONLY | os.O_NOFOLLOW)  # waits here until a reader opens
except OSError as e:
    sys.exit(f"{me}: cannot open {os.path.basename(args.fifo)!r}: {e.strerror}")
try:
    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        sys.exit(f"{me}: {os.path.basename(args.fifo)!r} is not a FIFO; leaving it alone")
    piece = args.piece or len(stream) or 1
    writes = 0
    for start in range(0, len(stream), piece):
        if writes:
            time.sleep(args.pause)
        os.write(fd, stream[start : start + piece])
        writes += 1
except BrokenPipeError:
    sys.exit(f"{me}: the reader has gone (BrokenPipeError); nothing more can be written")
finally:
    os.close(fd)
print(f"{me}: sent {len(args.messages)} messages, {len(stream)} bytes, in {writes} writes", flush=True)
