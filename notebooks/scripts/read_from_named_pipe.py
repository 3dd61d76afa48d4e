#!/usr/bin/env python3
"""Receive what comes through a named pipe: the book's reader, corrected for Python 3.

Like the book's reader, it creates the FIFO if it is missing (race-free), so
you may start it before or after the writer.  It waits until a writer opens
the FIFO, reads until end of file (until every writer has closed it) and
prints "I pid [<its pid>] received a message => <everything it read>".
Bytes that are not UTF-8 are shown as U+FFFD.  Something that is not a FIFO
of yours at that path is refused with one line on stderr and left untouched
(status 1); Ctrl-C ends it with one line (status 130).  Standard library only.
"""

import argparse
import os
import stat
import sys

PROG = os.path.basename(sys.argv[0])


class NotOurFifo(Exception):
    """Something that is not a FIFO of ours is at the path."""


def check(st):
    """Accept only a FIFO that belongs to us."""
    if not stat.S_ISFIFO(st.st_mode):
        raise NotOurFifo("exists and is not a FIFO (named pipe)")
    if st.st_uid != os.geteuid():
        raise NotOurFifo(f"is a FIFO of another user (uid {st.st_uid})")


def make_fifo(path):
    """Create the FIFO, or accept our FIFO that is already there (race-free)."""
    try:
        os.mkfifo(path, 0o600)  # only the owner may read and write
    except FileExistsError:
        check(os.lstat(path))  # lstat: look at the path itself, never follow a symbolic link


def read_message(path):
    """Open the FIFO for reading (waits for a writer) and read until end of file."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)  # blocks until a writer opens
    with open(fd, "rb") as pipe:  # closes fd at the end of the block
        check(os.fstat(fd))  # what we opened: replaced after our check?
        data = pipe.read()  # loops over os.read until end of file
    return data.decode("utf-8", errors="replace")


def main():
    parser = argparse.ArgumentParser(description="Print the message that comes through a named pipe (FIFO).")
    parser.add_argument("fifo", nargs="?", default="my_pipe", help="the FIFO (default: my_pipe here)")
    path = parser.parse_args().fifo  # --help, or a second argument: usage, exit 0 or 2, nothing created
    try:
        make_fifo(path)
        message = read_message(path)
    except NotOurFifo as why:
        return f"{PROG}: {path!r} {why}; left it untouched"
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    except OSError as exc:
        return f"{PROG}: cannot use {path!r}: {exc.strerror}"
    print(f"I pid [{os.getpid()}] received a message => {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
