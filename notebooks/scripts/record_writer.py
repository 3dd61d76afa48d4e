#!/usr/bin/env python3
"""Write COUNT records of SIZE bytes into a FIFO, each record one letter repeated, one os.write each.

usage: record_writer.py FIFO LETTER SIZE COUNT

Several of these, each with its own letter, show how writes from different
processes mix in one FIFO: a reader sees which letters arrive next to which.
"""

import os
import signal
import stat
import sys

signal.alarm(60)  # whatever happens, this process is gone after a minute

fifo, letter, size, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
record = letter.encode("ascii") * size
fd = os.open(fifo, os.O_WRONLY | os.O_NOFOLLOW)  # waits until a reader opens the FIFO
if not stat.S_ISFIFO(os.fstat(fd).st_mode):
    sys.exit(f"record_writer {letter}: {fifo!r} is not a FIFO; leaving it alone")
print(f"{letter}: opened", flush=True)
try:
    for _ in range(count):
        os.write(fd, record)  # one write per record; blocks while the pipe is full
except BrokenPipeError:
    sys.exit(f"record_writer {letter}: the reader has gone (BrokenPipeError)")
finally:
    os.close(fd)
