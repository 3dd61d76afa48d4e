"""The program that :func:`ipc_helpers.launch_writer` and ``launch_reader`` run.

It runs as a separate Python process (``python _child.py SPEC``), uses only
the standard library and does exactly what the book's programs do: a
blocking ``os.open`` of the FIFO, then ``os.write`` or ``os.read``, then
``os.close``.  ``SPEC`` is a JSON object with the options; a writer reads the
bytes to send from its standard input.

It reports what it did as JSON lines on standard output, one per event, with
the time from ``time.monotonic()`` (the same clock in every process), so the
parent can print a timeline of who waited for whom.  Problems go to standard
error as one readable line, with exit status 1 (not a FIFO) or 2 (broken pipe).
"""

import array
import base64
import errno
import fcntl
import json
import os
import select
import signal
import stat
import sys
import termios
import time


def event(name, **details):
    print(json.dumps({"event": name, "t": time.monotonic(), **details}), flush=True)


def fail(message, status):
    print(message, file=sys.stderr, flush=True)
    sys.exit(status)


def bytes_in_pipe(fd):
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count, True)  # either end of a pipe can ask
    return count[0]


def wait_for_pipe(fd, done):
    """Check the pipe every millisecond until ``done(bytes in the pipe)`` (at most the lifetime)."""
    while not done(bytes_in_pipe(fd)):
        time.sleep(0.001)


def writers_gone(fd):
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return any(mask & select.POLLHUP for _, mask in poller.poll(0))


def open_fifo(spec, flags):
    path = spec["path"]
    if spec.get("require_fifo", True):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            fail(f"{spec['role']}: no such FIFO: {path}", 1)
        if not stat.S_ISFIFO(st.st_mode):
            fail(f"{spec['role']}: {path} is not a FIFO; refusing to touch it", 1)
    time.sleep(spec.get("delay_before_open", 0))
    event("open-start")
    if not spec.get("require_fifo", True):
        fd = os.open(path, flags)  # like the book: whatever is there
    else:
        # The path may have been swapped since the check above: never follow
        # a symbolic link, and make sure that what was opened is a FIFO.
        try:
            fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0))  # blocks until the other end opens
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            fail(f"{spec['role']}: {path} is not a FIFO (a symbolic link); refusing to touch it", 1)
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.close(fd)
            fail(f"{spec['role']}: {path} is not a FIFO; refusing to touch it", 1)
    event("opened")
    return fd


def run_writer(spec):
    data = sys.stdin.buffer.read()
    parts = spec.get("parts") or [len(data)]
    fd = open_fifo(spec, os.O_WRONLY)
    time.sleep(spec.get("delay_before_write", 0))
    sent = 0
    try:
        for i, size in enumerate(parts):
            if i:
                time.sleep(spec.get("pause", 0))
                if spec.get("wait_until_read"):  # the reader has taken every byte so far
                    wait_for_pipe(fd, lambda waiting: waiting == 0)
            view = memoryview(data)[sent : sent + size]
            while view:  # a blocking write to a pipe sends everything; loop anyway
                n = os.write(fd, view)
                view = view[n:]
                sent += n
            event("wrote", bytes=size)
    except BrokenPipeError:
        event("broken-pipe", sent=sent)
        fail(
            f"writer: the reader closed the FIFO after {sent} of {len(data)} bytes "
            "(BrokenPipeError: nobody is left to read)",
            2,
        )
    time.sleep(spec.get("hold_open", 0))
    os.close(fd)
    event("closed")


def run_reader(spec):
    fd = open_fifo(spec, os.O_RDONLY)
    time.sleep(spec.get("delay_before_read", 0))
    wanted = spec.get("wait_for_bytes", 0)
    if wanted:  # let that much pile up before the first read
        wait_for_pipe(fd, lambda waiting: waiting >= wanted or writers_gone(fd))
    size = spec.get("read_size", 65536)
    while True:
        chunk = os.read(fd, size)
        event("read", data=base64.b64encode(chunk).decode("ascii"))
        if not chunk or spec.get("read_once"):
            break
    time.sleep(spec.get("hold_open", 0))
    os.close(fd)
    event("closed")


def main():
    spec = json.loads(sys.argv[1])
    # Safety net: whatever happens to the parent, never outlive the lifetime.
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(max(1, int(spec.get("lifetime", 60))))
    event("started", pid=os.getpid())
    {"writer": run_writer, "reader": run_reader}[spec["role"]](spec)


if __name__ == "__main__":
    main()
