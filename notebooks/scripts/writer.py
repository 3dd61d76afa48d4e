#!/usr/bin/env python3
"""Write messages into a FIFO, then close it: the other end for the chapters.

usage: writer.py FIFO [MESSAGE ...] [--delay S] [--pause S] [--hold S] [--nonblock] [--clock]

Waits DELAY seconds, opens FIFO for writing (which waits until a reader has
it open, unless --nonblock), writes each MESSAGE as UTF-8 with PAUSE seconds
between them, keeps the FIFO open HOLD seconds more, closes it and exits.
It says what it does, one line per step, on standard output (with --clock,
each line also gives the time.monotonic() reading of that step).
"""

import argparse
import os
import signal
import stat
import sys
import time

signal.alarm(60)  # whatever happens, this process is gone after a minute

parser = argparse.ArgumentParser(description="Write messages into a FIFO.")
parser.add_argument("fifo", help="path of an existing FIFO")
parser.add_argument("messages", nargs="*", help="text to write, one os.write() per message")
parser.add_argument("--delay", type=float, default=0, help="seconds to wait before opening")
parser.add_argument("--pause", type=float, default=0, help="seconds between two messages")
parser.add_argument("--hold", type=float, default=0, help="seconds to keep the FIFO open at the end")
parser.add_argument("--nonblock", action="store_true", help="open with O_NONBLOCK")
parser.add_argument("--clock", action="store_true", help="give the time of each step")
args = parser.parse_args()

me = f"writer pid [{os.getpid()}]"
name = os.path.basename(args.fifo)


def say(text):
    # time.monotonic() is one clock for every process on the machine: lines of
    # several processes with --clock can be put on one timeline.
    when = f" at {time.monotonic():.3f} s" if args.clock else ""
    print(f"{me}{when}: {text}", flush=True)


time.sleep(args.delay)
flags = os.O_WRONLY | os.O_NOFOLLOW | (os.O_NONBLOCK if args.nonblock else 0)
say(f"opening {name!r} for writing")
start = time.monotonic()
try:
    fd = os.open(args.fifo, flags)  # waits here until a reader opens the FIFO
except OSError as e:
    sys.exit(f"{me}: cannot open {name!r}: {e.strerror}")
if not stat.S_ISFIFO(os.fstat(fd).st_mode):
    sys.exit(f"{me}: {name!r} is not a FIFO; leaving it alone")
say(f"open() returned after {time.monotonic() - start:.2f} s")
try:
    for i, message in enumerate(args.messages):
        if i:
            time.sleep(args.pause)
        n = os.write(fd, message.encode("utf-8"))
        say(f"wrote {n} bytes")
    time.sleep(args.hold)
except BrokenPipeError:
    sys.exit(f"{me}: the reader has gone (BrokenPipeError); nothing more can be written")
finally:
    os.close(fd)
say("closed")
