"""Helpers for chapters 03 (creating FIFOs) and 06 (the book's two programs).

- :func:`mkfifo_race`: several processes create the same FIFO at the same
  instant, with the book's ``exists()``-then-``mkfifo`` code or a race-free one.
- :func:`wait_for_path`, :func:`wait_until_blocked_in_open`: wait, with a
  timeout, until another process has reached a known point.
- :func:`hide_pids`: print the book's messages without their changing PIDs.

Run as ``python -m ipc_helpers.book race-child ...`` this module is also the
small program that :func:`mkfifo_race` starts several times.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from .fifo import make_fifo
from .procs import wait_until_blocked

StrPath = str | os.PathLike[str]

#: The ways of creating a FIFO that :func:`mkfifo_race` can compare.
STYLES = {
    "book": "if not os.path.exists(path): os.mkfifo(path)",
    "try-except": "try: os.mkfifo(path) / except FileExistsError: accept it if lstat says FIFO",
    "make_fifo": "ipc_helpers.make_fifo(path)",
}


# --------------------------------------------------------------------------
# The create race, with real processes
# --------------------------------------------------------------------------


def mkfifo_race(
    path: StrPath,
    processes: int = 8,
    *,
    style: str = "book",
    repeat: int = 1,
    lockstep: bool = False,
    timeout: float = 30,
) -> Counter[str]:
    """Start ``processes`` processes that all create the FIFO ``path`` at once.

    Each process runs one of the :data:`STYLES` of creating a FIFO.  They are
    held at a starting line and released together, so their attempts overlap
    as much as the machine allows.  With ``repeat=N`` each process creates
    the FIFOs ``path.0`` ... ``path.N-1`` one after the other (the race gets
    N chances; a process stops at its first crash).  With ``lockstep=True``
    the interleaving is forced instead: every process stops right before its
    ``os.mkfifo`` call (for the book's style: after its ``exists()`` check)
    until all have got there, so the result is the same on every run.

    Returns how many processes ended which way, for example
    ``Counter({"crashed (FileExistsError)": 7, "created it": 1})``.  The
    other outcomes are ``"found it, did nothing"`` (the book's check saw the
    FIFO), ``"reused the existing FIFO"``, ``"make_fifo returned"``,
    ``"finished without error"`` (with ``repeat`` > 1) and
    ``"crashed (other error)"``.

    Blocks until every process has exited (at most ``timeout`` seconds, after
    which the rest are killed and reported as ``"timed out"``).  Raises
    ``ValueError`` for an unknown style, or ``repeat`` > 1 with ``lockstep``.
    The FIFOs that were created stay; the starting-line FIFOs are removed.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {sorted(STYLES)}, not {style!r}")
    if repeat < 1 or (lockstep and repeat != 1):
        raise ValueError("repeat must be at least 1, and exactly 1 with lockstep=True")
    path = Path(path)
    gates = [path.with_name(f".{path.name}.start"), path.with_name(f".{path.name}.go")]
    deadline = time.monotonic() + timeout
    children: list[subprocess.Popen] = []
    fds: list[int] = []
    try:
        # A starting line made of FIFOs: each child opens a gate for reading and
        # waits in os.read().  We hold the only write end; closing it gives every
        # child end of file at the same moment.
        for gate in gates:
            make_fifo(gate)
            fds.append(os.open(gate, os.O_RDONLY | os.O_NONBLOCK))  # so our write open cannot block
            fds.append(os.open(gate, os.O_WRONLY))
        targets = [str(path)] if repeat == 1 else [f"{path}.{i}" for i in range(repeat)]
        argv = [sys.executable, "-m", "ipc_helpers.book", "race-child", style, *map(str, gates)]
        argv += ["lockstep" if lockstep else "free", *targets]
        for _ in range(processes):
            children.append(
                subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "RACE_LIFETIME": str(max(1, int(timeout)))},
                )
            )
        for child in children:  # each says "ready" once it waits at the starting line
            child.stdout.readline()
        os.close(fds.pop(1))  # the first gate's write end: go!
        if lockstep:
            for child in children:  # "checked": it stands right before os.mkfifo
                child.stdout.readline()
            os.close(fds.pop())  # the second gate's write end: go on, everyone
        outcomes: Counter[str] = Counter()
        for child in children:
            try:
                out, err = child.communicate(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                outcomes["timed out"] += 1
                continue
            if child.returncode == 0:
                outcomes[out.strip() if repeat == 1 else "finished without error"] += 1
            elif "FileExistsError" in err:
                outcomes["crashed (FileExistsError)"] += 1
            else:
                outcomes["crashed (other error)"] += 1
        return outcomes
    finally:
        for fd in fds:
            os.close(fd)
        for child in children:
            if child.poll() is None:
                child.kill()
            child.communicate()
        for gate in gates:
            try:
                os.unlink(gate)
            except FileNotFoundError:
                pass


def _race_child(style: str, start: str, go: str, mode: str, *paths: str) -> None:
    """One racer.  Crashes with a traceback, as the book's program would."""
    signal.alarm(int(os.environ.get("RACE_LIFETIME", "30")))  # never outlive the parent's patience

    def wait_at(gate: str) -> None:
        fd = os.open(gate, os.O_RDONLY)  # does not block: the parent holds the write end
        print("ready" if gate == start else "checked", flush=True)
        os.read(fd, 1)  # blocks until the parent closes its write end
        os.close(fd)

    def lockstep() -> None:
        if mode == "lockstep":
            wait_at(go)

    wait_at(start)
    for path in paths:
        _create(style, path, lockstep)


def _create(style: str, path: str, lockstep) -> None:
    if style == "book":
        if not os.path.exists(path):
            lockstep()
            os.mkfifo(path)
            print("created it")
        else:
            lockstep()
            print("found it, did nothing")
    elif style == "try-except":
        lockstep()
        try:
            os.mkfifo(path)
            print("created it")
        except FileExistsError:
            if not stat.S_ISFIFO(os.lstat(path).st_mode):
                raise
            print("reused the existing FIFO")
    else:
        lockstep()
        make_fifo(path)
        print("make_fifo returned")


# --------------------------------------------------------------------------
# Waiting for another process, with a bound
# --------------------------------------------------------------------------


def wait_for_path(path: StrPath, timeout: float = 10) -> bool:
    """Wait until something exists at ``path`` (a symlink counts); True if it does in time.

    Polls every 10 ms; blocks at most ``timeout`` seconds.  Never raises.
    """
    deadline = time.monotonic() + timeout
    while not os.path.lexists(path):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def wait_until_blocked_in_open(pid: int, timeout: float = 10) -> bool:
    """True once process ``pid`` sleeps in the open() of a FIFO, waiting for its partner.

    False after ``timeout`` seconds or if the process has exited.  See
    :func:`ipc_helpers.procs.wait_until_blocked`, which asks Linux where the
    process sleeps.  Never raises.
    """
    return wait_until_blocked(pid, "open", timeout=timeout) is not None


# --------------------------------------------------------------------------
# The book's messages without their PIDs
# --------------------------------------------------------------------------

_PID = re.compile(r"pid \[(\d+)\]")


def hide_pids(text: str, **roles: int) -> str:
    """Replace each ``pid [N]`` in ``text`` by the role of process N.

    ``hide_pids(line, reader=reader.pid, writer=writer.pid)`` turns
    ``I pid [4242] received a message => Hello from pid [4240]`` into
    ``I pid [<reader pid>] received a message => Hello from pid [<writer pid>]``.
    PIDs change on every run; the roles do not.  Underscores in a role become
    spaces (``first_writer`` -> ``<first writer pid>``).

    This also checks the text: it raises ``ValueError`` if a PID in it belongs
    to none of the given roles.  Never blocks.
    """
    names = {pid: role.replace("_", " ") for role, pid in roles.items()}

    def replace(match: re.Match[str]) -> str:
        pid = int(match.group(1))
        if pid not in names:
            raise ValueError(f"pid {pid} in the text is none of the processes given ({roles})")
        return f"pid [<{names[pid]} pid>]"

    return _PID.sub(replace, text)


if __name__ == "__main__":
    if sys.argv[1:2] == ["race-child"]:
        _race_child(*sys.argv[2:])
    else:
        sys.exit("usage: python -m ipc_helpers.book race-child STYLE START GO lockstep|free PATH...")
