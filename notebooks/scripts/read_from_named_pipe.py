"""Receive what comes through a named pipe: the book's reader, corrected for Python 3.

Usage:  python read_from_named_pipe.py [FIFO]

FIFO defaults to ``my_pipe`` in the current directory.  Like the book's
reader, it creates the FIFO if it is missing (race-free), so you may start it
before or after the writer.  It waits until a writer opens the FIFO, reads
until end of file (that is, until every writer has closed it) and prints

    I pid [<its pid>] received a message => <everything it read>

The bytes are decoded as UTF-8 (an invalid byte would be shown as U+FFFD).
If something that is not a FIFO is at that path (a regular file, a directory,
a symbolic link), or a FIFO of another user (planted in /tmp, say), it prints
one line on stderr, leaves the thing alone and
exits with status 1.  Ctrl-C ends it with one line on stderr (status 130).
Standard library only.
"""

import os
import stat
import sys

PROG = os.path.basename(sys.argv[0])


class NotAFifo(Exception):
    pass


class NotOurs(Exception):  # a FIFO that belongs to another user
    pass


def check(st, path):
    """Use only a FIFO that we own: another user's could be read, or fed, by them."""
    if not stat.S_ISFIFO(st.st_mode):
        raise NotAFifo(path)
    if st.st_uid != os.geteuid():
        raise NotOurs(st.st_uid)


def make_fifo(path):
    """Create the FIFO, or accept a FIFO of ours that is already there (race-free)."""
    try:
        os.mkfifo(path, 0o600)  # only the owner may read and write
    except FileExistsError:
        check(os.lstat(path), path)  # lstat: what is there, without following a symbolic link


def read_message(path):
    """Open the FIFO for reading (waits for a writer) and read until end of file."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)  # blocks until a writer opens
    with open(fd, "rb") as pipe:  # closes fd at the end of the block
        check(os.fstat(fd), path)  # still the FIFO we checked?
        data = pipe.read()  # loops over os.read until end of file
    return data.decode("utf-8", errors="replace")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "my_pipe"
    try:
        make_fifo(path)
        message = read_message(path)
    except NotAFifo:
        return f"{PROG}: {path!r} exists and is not a FIFO (named pipe); left it untouched"
    except NotOurs as exc:
        return f"{PROG}: {path!r} is a FIFO of another user (uid {exc}); not using it"
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    except OSError as exc:
        return f"{PROG}: cannot use {path!r}: {exc.strerror}"
    print(f"I pid [{os.getpid()}] received a message => {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
