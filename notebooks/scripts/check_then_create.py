#!/usr/bin/env python3
"""Create a FIFO the book's way, slowed down: look, wait for Enter, then create.

usage: check_then_create.py PATH [--safe]

It looks whether PATH exists (os.path.exists), says what it saw, and waits
for a line on standard input (press Enter in a terminal).  Then it acts on
what it saw: nothing there, so os.mkfifo(PATH).  The wait holds open the gap
between looking and creating, so a second copy started meanwhile sees the same
"nothing there": the race that is usually a few microseconds wide, every time.

With --safe it follows the recipe of chapter 03 instead: after Enter it calls
os.mkfifo first and, if the name is taken, accepts it only if os.lstat says
it is a FIFO.
"""

import argparse
import os
import signal
import stat
import sys

signal.alarm(60)  # whatever happens, this process is gone after a minute

parser = argparse.ArgumentParser(description="Create a FIFO: look, then create (the book), or --safe.")
parser.add_argument("path", help="where the FIFO should be")
parser.add_argument("--safe", action="store_true", help="create first, then look (race-free)")
args = parser.parse_args()

me = f"pid [{os.getpid()}]"
name = os.path.basename(args.path)

if not args.safe:
    exists = os.path.exists(args.path)
    print(f"{me}: os.path.exists({name!r}) -> {exists}", flush=True)
    sys.stdin.readline()  # the gap between looking and creating
    if not exists:
        os.mkfifo(args.path)  # the book's line: crashes if another process was faster
        print(f"{me}: created {name!r}")
    else:
        print(f"{me}: {name!r} exists, nothing to do")
else:
    print(f"{me}: ready to create {name!r}", flush=True)
    sys.stdin.readline()
    try:
        os.mkfifo(args.path, 0o600)
        print(f"{me}: created {name!r}")
    except FileExistsError:
        if not stat.S_ISFIFO(os.lstat(args.path).st_mode):  # lstat: a link is not followed
            sys.exit(f"{me}: {name!r} exists and is not a FIFO; left it alone")
        print(f"{me}: {name!r} was already there, a FIFO: using it")
