"""One process of the FIFO explorer (chapter 10): it makes the system calls it is told to make.

Each reader and writer in the explorer's picture is this program, started by ``ipc_helpers.explorer``:
``python -I -S explorer_child.py FIFO ROLE SIGPIPE LIFETIME``.  One JSON command per line on
standard input (``{"op": "read", "n": 100}``; open, setfl, read, write, poll, close, status,
exit).  A system call runs in a worker thread, which says ``start`` (with its thread id, for
``/proc/PID/task/TID/wchan``), then ``done`` with the result or the errno name.  The main thread
stays free for ``status`` (``ioctl(FIONREAD)``, ``fcntl(F_GETPIPE_SZ)``) and ``exit`` (ends a
blocked call too).  At end of file on standard input (the Jupyter kernel has gone) it removes
the FIFO and its folder, and exits.
"""

import array
import contextlib
import errno
import fcntl
import json
import os
import select
import signal
import sys
import termios
import threading

POLL_NAMES = [(getattr(select, n), n) for n in ("POLLIN", "POLLOUT", "POLLERR", "POLLHUP", "POLLNVAL")]
fd = None
lock = threading.Lock()


def say(event: str, **details: object) -> None:
    with lock:  # the main thread and a worker may both speak
        sys.stdout.write(json.dumps({"event": event, **details}) + "\n")
        sys.stdout.flush()


def status() -> dict:
    if fd is None:
        return {"bytes": None, "capacity": None}
    count = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, count, True)
    size = getattr(fcntl, "F_GETPIPE_SZ", None)  # Linux only
    return {"bytes": count[0], "capacity": None if size is None else fcntl.fcntl(fd, size)}


def call(command: dict, path: str, role: str) -> dict:
    """Make one system call; return what to report."""
    global fd
    op = command["op"]
    if op == "open":
        fd = os.open(path, sum(getattr(os, name) for name in command["flags"].split("|")))  # distinct bits
        return {"fd": fd}
    assert fd is not None
    if op == "setfl":
        os.set_blocking(fd, not command["nonblock"])  # fcntl(fd, F_SETFL, ...)
        return {}
    if op == "read":
        data = os.read(fd, command["n"])  # waits on an empty pipe while a writer has it, unless O_NONBLOCK
        return {"size": len(data), "data": data[:24].hex()}
    if op == "write":
        return {"count": os.write(fd, bytes.fromhex(command["data"]))}  # waits while the pipe is full
    if op == "poll":
        poller = select.poll()
        poller.register(fd, select.POLLIN if role == "reader" else select.POLLOUT)
        mask = sum(events for _fd, events in poller.poll(0))  # timeout 0: look, never wait
        return {"events": "|".join(name for bit, name in POLL_NAMES if mask & bit) or "nothing"}
    closing, fd = fd, None
    os.close(closing)
    return {}


def work(command: dict, path: str, role: str) -> None:
    """Worker thread: say that the call starts, make it, say how it ended."""
    say("start", thread=threading.get_native_id())
    try:
        result = call(command, path, role)
    except OSError as exc:
        result = {"error": errno.errorcode.get(exc.errno or 0, str(exc.errno))}
    say("done", **result)


def main(path: str, role: str, sigpipe: str, lifetime: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupting the Jupyter kernel must not end us
    if sigpipe == "default":  # as a C program: a write with no reader kills the process
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.alarm(lifetime)  # safety net: no command for `lifetime` seconds -> SIGALRM ends us
    say("ready", pid=os.getpid())
    for line in sys.stdin:
        signal.alarm(lifetime)
        command = json.loads(line)
        if command["op"] == "exit":
            os._exit(0)  # ends a blocked worker too; the kernel closes our descriptor
        elif command["op"] == "status":
            say("status", **status())
        else:
            threading.Thread(target=work, args=(command, path, role), daemon=True).start()
    with contextlib.suppress(OSError):  # end of file: the Jupyter kernel has gone; remove the FIFO ourselves
        os.unlink(path)
        os.rmdir(os.path.dirname(path))
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
