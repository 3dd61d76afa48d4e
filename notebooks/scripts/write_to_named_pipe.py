"""Send one message through a named pipe: the book's writer, corrected for Python 3.

Usage:  python write_to_named_pipe.py [FIFO]

FIFO defaults to ``my_pipe`` in the current directory.  The program creates
the FIFO if it is missing, waits until a reader opens it, sends
``Hello from pid [<its pid>]`` and exits with status 0.

If something that is not a FIFO is at that path (a regular file, a directory,
a symbolic link), or a FIFO of another user (planted in /tmp, say), it prints
one line on stderr, leaves the thing alone and
exits with status 1.  A broken pipe or Ctrl-C also ends it with one line on
stderr (status 1, or 130 for Ctrl-C).  Standard library only.
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


def write_message(path, message):
    """Open the FIFO for writing (waits for a reader), send the message, close."""
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW)  # blocks until a reader opens
    try:
        check(os.fstat(fd), path)  # still the FIFO we checked?
        # One write of fewer than PIPE_BUF (4096) bytes: it goes in whole.
        os.write(fd, message.encode("utf-8"))
    finally:
        os.close(fd)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "my_pipe"
    try:
        make_fifo(path)
        write_message(path, f"Hello from pid [{os.getpid()}]")
    except NotAFifo:
        return f"{PROG}: {path!r} exists and is not a FIFO (named pipe); left it untouched"
    except NotOurs as exc:
        return f"{PROG}: {path!r} is a FIFO of another user (uid {exc}); not using it"
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
