#!/usr/bin/env python3
"""Send one message through a named pipe: the book's writer, corrected for Python 3.

Creates the FIFO if it is missing, waits until a reader opens it, sends
"Hello from pid [<its pid>]" and exits with status 0.  Something that is not
a FIFO of yours at that path (a regular file, a directory, a symbolic link,
another user's FIFO) is refused with one line on stderr and left untouched
(status 1); so are a broken pipe (1) and Ctrl-C (130).  Standard library only.
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


def write_message(path, message):
    """Open the FIFO for writing (waits for a reader), send the message, close."""
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)  # blocks until a reader opens
    try:
        check(os.fstat(fd))  # what we opened: replaced after our check?
        # One write of fewer than PIPE_BUF (4096) bytes: it goes in whole.
        os.write(fd, message.encode("utf-8"))
    finally:
        os.close(fd)


def main():
    parser = argparse.ArgumentParser(description="Send 'Hello from pid [N]' through a named pipe (FIFO).")
    parser.add_argument("fifo", nargs="?", default="my_pipe", help="the FIFO (default: my_pipe here)")
    path = parser.parse_args().fifo  # --help, or a second argument: usage, exit 0 or 2, nothing created
    try:
        make_fifo(path)
        write_message(path, f"Hello from pid [{os.getpid()}]")
    except NotOurFifo as why:
        return f"{PROG}: {path!r} {why}; left it untouched"
    except BrokenPipeError:
        return f"{PROG}: the reader closed {path!r} before the message was sent (broken pipe)"
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    except OSError as exc:
        return f"{PROG}: cannot use {path!r}: {exc.strerror}"
    return 0


if __name__ == "__main__":
    sys.exit(main())
