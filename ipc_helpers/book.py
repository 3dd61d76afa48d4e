"""Helpers for chapters 03 (creating FIFOs) and 06 (the book's two programs).

- :func:`mkfifo_race`: several processes create the same FIFO at the same
  instant, with the book's ``exists()``-then-``mkfifo`` code or a race-free one.
- :func:`run_program`: start one of the book's programs as a separate process.
- :func:`wait_for_path`, :func:`wait_until_blocked_in_open`: wait, with a
  timeout, until another process has reached a known point.
- :func:`hide_pids`: print the book's messages without their changing PIDs.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from .procs import ChildProcess, run_script, wait_until_blocked

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

#: The program that :func:`mkfifo_race` runs, as ``python -I -S -c RACE_PROGRAM``
#: (a bare Python: no environment variables, no site-packages, so it starts
#: quickly).  It forks the racers, so 16 racers cost little more than one;
#: forking is safe here because this small program runs no threads.  Each racer
#: reports its outcome as one line on standard output.
#:
#: A starting line is a pipe.  Every racer closes its own copy of the write end
#: and waits in ``os.read``; end of file comes only once no copy is left open,
#: that is when the last racer arrives, and it wakes all of them at once.
RACE_PROGRAM = r"""
import os
import signal
import stat
import sys

style, mode, processes, lifetime, package_root, *paths = sys.argv[1:]
if style == "make_fifo":
    sys.path.insert(0, package_root)
    from ipc_helpers.fifo import make_fifo


def line_up(gate):
    os.close(gate[1])  # this racer has arrived
    os.read(gate[0], 1)  # end of file once every racer has arrived


def create(path, pause):
    if style == "book":
        if not os.path.exists(path):
            pause()
            os.mkfifo(path)
            return "created it"
        pause()
        return "found it, did nothing"
    pause()
    if style == "make_fifo":
        make_fifo(path)
        return "make_fifo returned"
    try:
        os.mkfifo(path)
        return "created it"
    except FileExistsError:
        if not stat.S_ISFIFO(os.lstat(path).st_mode):
            raise
        return "reused the existing FIFO"


def race(start, checked):
    line_up(start)
    pause = (lambda: line_up(checked)) if mode == "lockstep" else (lambda: None)
    try:
        for path in paths:  # stop at the first crash
            outcome = create(path, pause)
    except FileExistsError:
        return "crashed (FileExistsError)"
    except Exception:
        return "crashed (other error)"
    return outcome if len(paths) == 1 else "finished without error"


start, checked = os.pipe(), os.pipe()
for _ in range(int(processes)):
    if os.fork() == 0:  # a racer
        signal.alarm(int(lifetime))  # killed (and counted as "timed out") if not done by then
        try:
            os.write(1, (race(start, checked) + "\n").encode())  # one short write: lines never mix
        finally:
            os._exit(0)
for fd in (*start, *checked):  # only the racers hold the starting lines now
    os.close(fd)
while True:  # reap every racer
    try:
        os.wait()
    except ChildProcessError:  # none left
        break
"""


def mkfifo_race(
    path: StrPath,
    processes: int = 8,
    *,
    style: str = "book",
    repeat: int = 1,
    lockstep: bool = False,
    timeout: float = 30,
) -> Counter[str]:
    """Let ``processes`` processes create the FIFO ``path`` at the same instant.

    Each process runs one of the :data:`STYLES` of creating a FIFO.  They
    wait at a starting line and are released together, so their attempts
    overlap as much as the machine allows.  With ``repeat=N`` each process
    creates the FIFOs ``path.0`` ... ``path.N-1`` one after the other (the
    race gets N chances; a process stops at its first crash).  With
    ``lockstep=True`` the interleaving is forced instead: every process stops
    right before its ``os.mkfifo`` call (for the book's style: after its
    ``exists()`` check) until all have got there, so the result is the same
    on every run.  The processes are forked by :data:`RACE_PROGRAM`.

    Returns how many processes ended which way, for example
    ``Counter({"crashed (FileExistsError)": 7, "created it": 1})``.  The
    other outcomes are ``"found it, did nothing"`` (the book's check saw the
    FIFO), ``"reused the existing FIFO"``, ``"make_fifo returned"``,
    ``"finished without error"`` (with ``repeat`` > 1) and
    ``"crashed (other error)"``.

    Blocks until every process has exited.  A process still running after
    ``timeout`` seconds (rounded up to whole seconds) is killed and counts
    as ``"timed out"``.  Creates nothing but the FIFOs.

    Raises ``ValueError`` for an unknown style, ``processes`` < 1, or
    ``repeat`` > 1 with ``lockstep``; ``FileNotFoundError`` if the
    directory does not exist; ``RuntimeError`` if the race program fails.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {sorted(STYLES)}, not {style!r}")
    if processes < 1 or repeat < 1 or (lockstep and repeat != 1):
        raise ValueError("processes and repeat must be at least 1, and repeat exactly 1 with lockstep=True")
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such directory", os.fspath(path.parent))
    targets = [str(path)] if repeat == 1 else [f"{path}.{i}" for i in range(repeat)]
    lifetime = max(1, math.ceil(timeout))
    package_root = str(Path(__file__).resolve().parent.parent)
    mode = "lockstep" if lockstep else "free"
    argv = [sys.executable, "-I", "-S", "-c", RACE_PROGRAM, style, mode, str(processes), str(lifetime)]
    program = subprocess.Popen(
        [*argv, package_root, *targets],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,  # its own process group: the program and all its racers
    )
    try:
        # The racers stop themselves after `lifetime`; the program then reaps them and exits.
        out, err = program.communicate(timeout=lifetime + 1)
    except BaseException as exc:  # it hangs after all, or Ctrl-C: kill the program and every racer
        with contextlib.suppress(ProcessLookupError):  # unless all have just exited
            os.killpg(program.pid, signal.SIGKILL)
        out, err = program.communicate()
        if not isinstance(exc, subprocess.TimeoutExpired):
            raise
    else:
        if program.returncode != 0:
            raise RuntimeError(f"the race program failed: {(err.strip() or 'no message').splitlines()[-1]}")
    outcomes = Counter(out.splitlines())
    missing = processes - sum(outcomes.values())
    if missing:
        outcomes["timed out"] += missing
    return outcomes


# --------------------------------------------------------------------------
# Running the book's two programs
# --------------------------------------------------------------------------


def run_program(script: StrPath, *args: str, cwd: StrPath | None = None) -> ChildProcess:
    """Start ``python -S script args...`` in ``cwd``, with its output captured.

    The same as :func:`ipc_helpers.run_script`, but the option ``-S`` skips
    Python's ``site`` module, which sets up the installed packages.  The
    book's programs use only the standard library, so they behave exactly
    the same, and start faster.  Returns at once (it never blocks); call
    ``wait(timeout)`` and then read ``stdout`` and ``stderr``.  Raises
    ``OSError`` only if Python itself cannot be started.
    """
    return run_script(script, *args, cwd=cwd, site=False)


# --------------------------------------------------------------------------
# Waiting for another process, with a bound
# --------------------------------------------------------------------------


def wait_for_path(path: StrPath, timeout: float = 10) -> bool:
    """Wait until something exists at ``path`` (a symlink counts); True if it does in time.

    Checks every millisecond; blocks at most ``timeout`` seconds.  Never raises.
    """
    deadline = time.monotonic() + timeout
    while not os.path.lexists(path):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.001)
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

