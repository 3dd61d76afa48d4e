#!/usr/bin/env python3
"""Read a FIFO until end of file: the other end for the chapters.

usage: reader.py FIFO [--delay S] [--size N] [--once] [--hold S] [--clock]

Waits DELAY seconds, opens FIFO for reading (which waits until a writer has
it open), calls os.read(fd, SIZE) until it returns b'' (end of file: every
writer has closed), or only once with --once, keeps the FIFO open HOLD
seconds more and closes it.  It prints one line for each read (with --clock,
each line also gives the time.monotonic() reading of that step).
"""

import argparse
import os
import signal
import stat
import sys
import time

signal.alarm(60)  # whatever happens, this process is gone after a minute

parser = argparse.ArgumentParser(description="Read a FIFO until end of file.")
parser.add_argument("fifo", help="path of an existing FIFO")
parser.add_argument("--delay", type=float, default=0, help="seconds to wait before opening")
parser.add_argument("--size", type=int, default=65536, help="bytes to ask for in each os.read()")
parser.add_argument("--once", action="store_true", help="read only once")
parser.add_argument("--hold", type=float, default=0, help="seconds to keep the FIFO open at the end")
parser.add_argument("--clock", action="store_true", help="give the time of each step")
args = parser.parse_args()

me = f"reader pid [{os.getpid()}]"
name = os.path.basename(args.fifo)


def say(text):
    # time.monotonic() is one clock for every process on the machine: lines of
    # several processes with --clock can be put on one timeline.
    when = f" at {time.monotonic():.3f} s" if args.clock else ""
    print(f"{me}{when}: {text}", flush=True)


time.sleep(args.delay)
say(f"opening {name!r} for reading")
start = time.monotonic()
try:
    fd = os.open(args.fifo, os.O_RDONLY | os.O_NOFOLLOW)  # waits here until a writer opens the FIFO
except OSError as e:
    sys.exit(f"{me}: cannot open {name!r}: {e.strerror}")
if not stat.S_ISFIFO(os.fstat(fd).st_mode):
    sys.exit(f"{me}: {name!r} is not a FIFO; leaving it alone")
say(f"open() returned after {time.monotonic() - start:.2f} s")
try:
    while True:
        data = os.read(fd, args.size)
        if not data:
            say("read b'': end of file")
            break
        shown = repr(data[:40]) + ("..." if len(data) > 40 else "")
        say(f"read {len(data)} bytes: {shown}")
        if args.once:
            break
    time.sleep(args.hold)
finally:
    os.close(fd)
say("closed")
