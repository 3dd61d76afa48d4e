"""Kept apart: student B can do nothing to student A's FIFOs and files; A's programs refuse B's traps.

Real Unix users, real processes: every attempt below is a system call made by a
process running as the student (real and effective uid and gid, no extra
groups).  A is the first student, B the second.  Each test has a positive
control (the owner can, or the thing is still there), so that it cannot pass by
probing the wrong path.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
from pathlib import Path

import pytest

# Refused means one of these errors; anything else (success, a blocked open, ENXIO, which is
# only returned once permission was granted) means B got through.
REFUSED = {"EACCES", "EPERM"}

# What B tries on each path, one process per run; prints {path: {operation: result}}.
PROBE = r"""
import errno, json, os, signal, sys

class Blocked(Exception):
    pass

def alarm(signum, frame):
    raise Blocked()

signal.signal(signal.SIGALRM, alarm)
results = {}

def attempt(name, fn):
    signal.alarm(2)  # a blocking open that was allowed would wait for the other end
    try:
        fn()
        return "ok"
    except Blocked:
        return "blocked in open (allowed)"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))
    finally:
        signal.alarm(0)

def opener(path, flags):
    def run():
        os.close(os.open(path, flags | os.O_NOFOLLOW))
    return run

look_only = sys.argv[1] == "look"          # the owner's positive control: change nothing
for path in sys.argv[2:]:
    r = results[path] = {}
    r["list"] = attempt("list", lambda: os.listdir(path))
    r["open read, non-blocking"] = attempt("", opener(path, os.O_RDONLY | os.O_NONBLOCK))
    if look_only:
        continue
    r["open write, non-blocking"] = attempt("", opener(path, os.O_WRONLY | os.O_NONBLOCK))
    r["open read"] = attempt("", opener(path, os.O_RDONLY))
    r["open write"] = attempt("", opener(path, os.O_WRONLY))
    r["rename"] = attempt("", lambda: os.rename(path, path + ".renamed-by-B"))
    r["unlink"] = attempt("", lambda: os.unlink(path))
print(json.dumps(results))
"""

# A makes FIFOs and files with the tutorial's helpers, prints where, and keeps them until stdin closes.
HOLDER = r"""
import json, os, sys, tempfile
from pathlib import Path
import ipc_helpers
from ipc_helpers.fifo import Workspace, make_fifo, temp_fifo

home_dir, tmp_name = sys.argv[1], sys.argv[2]
ws = Workspace()                                 # a private directory in /tmp
made = {
    "Workspace directory in /tmp": str(ws.path),
    "Workspace.fifo in /tmp": str(ws.fifo("my_pipe")),
    "make_fifo directly in /tmp": str(make_fifo(Path(tempfile.gettempdir()) / tmp_name)),
    "make_fifo in the home's workspace": str(make_fifo(Path(home_dir) / "made_pipe")),
}
(ws.path / "notes.txt").write_text("A's notes")
made["file in a Workspace"] = str(ws.path / "notes.txt")
with temp_fifo() as t:
    made["temp_fifo"] = str(t)
    if hasattr(ipc_helpers, "private_dir"):      # the new core (issue 10)
        private = ipc_helpers.private_dir()
        made["private_dir"] = str(private)
        made["make_fifo in private_dir"] = str(make_fifo(private / "my_pipe"))
    print(json.dumps(made), flush=True)
    sys.stdin.read()                             # until the test is done with them
os.unlink(made["make_fifo directly in /tmp"])
os.unlink(made["make_fifo in the home's workspace"])
ws.cleanup()
"""


def probe(student, paths: list[str], python: str, mode: str = "all") -> dict[str, dict[str, str]]:
    """Every operation on every path, as ``student``; mode "look" only lists and opens non-blocking."""
    done = student.run([python, "-I", "-c", PROBE, mode, *paths], timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def not_refused(results: dict[str, dict[str, str]], skip=()) -> list[str]:
    return [
        f"{path}: {op} -> {outcome}"
        for path, ops in results.items()
        for op, outcome in ops.items()
        if op not in skip and outcome not in REFUSED and not _harmless(op, outcome)
    ]


def _harmless(op: str, outcome: str) -> bool:
    # Listing something that is not a directory, or opening a directory for writing, fails
    # before any permission is checked: that says nothing about protection.
    return (op == "list" and outcome == "ENOTDIR") or (op.startswith("open write") and outcome == "EISDIR")


@pytest.fixture
def a_and_b(students):
    return students[0], students[1]


def test_homes_are_private(a_and_b, hub_python):
    a, b = a_and_b
    ws = a.workspace
    notebook = next(ws.glob("*.ipynb"))
    targets = [str(a.home), str(ws), str(notebook), str(ws / "scripts")]
    mine = probe(a, [str(ws)], hub_python, "look")  # positive control: the owner lists it
    assert mine[str(ws)]["list"] == "ok", mine
    got = not_refused(probe(b, targets, hub_python))
    assert not got, "student B got into student A's home:\n" + "\n".join(got)
    assert stat.S_IMODE(os.stat(a.home).st_mode) & 0o077 == 0, oct(os.stat(a.home).st_mode)
    assert notebook.exists() and (ws / "scripts").is_dir()


@pytest.mark.parametrize("umask", [0o000, 0o022], ids=["umask-000", "umask-022"])
def test_fifos_made_by_helpers_and_programs_are_closed_to_others(a_and_b, hub_python, umask):
    a, b = a_and_b
    tag = secrets.token_hex(4)
    book_fifo = f"/tmp/ipcstu-{tag}-book_pipe"
    writer = [hub_python, "-I", str(a.workspace / "scripts" / "write_to_named_pipe.py")]
    reader = [hub_python, "-I", str(a.workspace / "scripts" / "read_from_named_pipe.py")]
    processes = []
    try:
        holder = a.start(
            [hub_python, "-I", "-c", HOLDER, str(a.workspace), f"ipcstu-{tag}-made"], umask=umask
        )
        processes.append(holder)
        # The book's writer in the home (default name) and directly in /tmp; each waits in open().
        writers = {
            str(a.workspace / "my_pipe"): a.start(writer, umask=umask, cwd=a.workspace),
            book_fifo: a.start([*writer, book_fifo], umask=umask),
        }
        processes += writers.values()
        made = json.loads(holder.stdout.readline())
        made["the book's writer in the home (my_pipe)"] = str(a.workspace / "my_pipe")
        made["the book's writer directly in /tmp"] = book_fifo
        for path in made.values():
            _wait_for(Path(path))
        fifos = {what: p for what, p in made.items() if stat.S_ISFIFO(os.lstat(p).st_mode)}
        assert len(fifos) >= 6, made

        got = not_refused(probe(b, list(made.values()), hub_python))
        assert not got, "student B could use student A's FIFOs or files:\n" + "\n".join(got)
        for what, path in fifos.items():
            st = os.lstat(path)
            assert st.st_uid == a.uid, f"{what}: owned by uid {st.st_uid}"
            mode = stat.S_IMODE(st.st_mode)
            assert mode & 0o077 == 0, f"{what}: mode {mode:04o} (umask {umask:03o})"
        # Nothing was taken: A's own reader gets each writer's message, whole.
        for path, process in writers.items():
            received = a.run([*reader, path], cwd=a.workspace, timeout=30)
            assert process.wait(30) == 0, process.stderr.read()
            assert f"=> Hello from pid [{process.pid}]" in received.stdout, (received.stdout, received.stderr)
    finally:
        for process in processes:
            process.stdin.close()  # the holder removes what it made when its stdin closes
        for process in processes:
            try:
                process.wait(5)  # a writer still waiting in open() is killed
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
            process.stdout.close()
            process.stderr.close()
        for leftover in (a.workspace / "my_pipe", Path(book_fifo)):
            leftover.unlink(missing_ok=True)


def _wait_for(path: Path, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not os.path.lexists(path):
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.02)


# B's traps: B plants something where A's programs will look, and watches.
PLANTER = r"""
import json, os, signal, sys, threading
kind, path = sys.argv[1], sys.argv[2]
signal.alarm(60)
os.umask(0)
forged = b"forged by B\n"
if kind == "fifo (B reads)":                 # B waits on the read end for whatever A sends
    os.mkfifo(path, 0o666)
    r = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
elif kind == "fifo (B writes)":              # B offers A's reader a forged message
    os.mkfifo(path, 0o666)
    w = os.open(path, os.O_RDWR)              # Linux: a writer that needs no reader to open
    os.write(w, forged)
    threading.Timer(2, os.close, [w]).start()  # then end of file, for a reader that took it
elif kind == "regular file":
    with open(path, "w") as f:
        f.write("B's file\n")
    os.chmod(path, 0o666)
elif kind == "symbolic link":
    os.symlink("/dev/null", path)
print("ready", flush=True)
sys.stdin.readline()                          # A's programs run now
got = b""
if kind == "fifo (B reads)":
    while True:
        try:
            chunk = os.read(r, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        got += chunk
print(json.dumps({"received by B": got.decode("utf-8", "replace")}))
"""

A_MAKE_FIFO = r"""
import sys
from ipc_helpers.fifo import make_fifo
try:
    make_fifo(sys.argv[1])
except OSError as exc:
    sys.exit(f"{type(exc).__name__}: {exc}")
print("make_fifo accepted it")
"""


@pytest.mark.parametrize("kind", ["fifo (B reads)", "fifo (B writes)", "regular file", "symbolic link"])
@pytest.mark.parametrize("program", ["write_to_named_pipe.py", "read_from_named_pipe.py", "make_fifo"])
def test_a_trap_planted_by_b_in_tmp_is_refused(a_and_b, hub_python, kind, program):
    a, b = a_and_b
    path = f"/tmp/ipcstu-{secrets.token_hex(4)}-my_pipe"
    planter = b.start([hub_python, "-I", "-c", PLANTER, kind, path])
    try:
        assert planter.stdout.readline().strip() == "ready", planter.stderr.read()
        before = os.lstat(path)
        if program == "make_fifo":
            argv = [hub_python, "-I", "-c", A_MAKE_FIFO, path]
        else:
            argv = [hub_python, "-I", str(a.workspace / "scripts" / program), path]
        mine = a.run(argv, timeout=15)
        planter.stdin.write("go\n")
        planter.stdin.flush()
        report = json.loads(planter.stdout.readline())
        after = os.lstat(path)
    finally:
        if planter.poll() is None:
            planter.stdin.close()
            planter.wait(30)
        for stream in (planter.stdin, planter.stdout, planter.stderr):
            if not stream.closed:
                stream.close()
        if os.path.lexists(path):
            os.unlink(path)
    # First what matters most: nothing of A's reached B, nothing of B's reached A, B's thing untouched.
    assert report["received by B"] == "", f"A's program sent B: {report}"
    assert "forged" not in mine.stdout, f"A's program took B's message: {mine.stdout!r}"
    unchanged = (after.st_ino, after.st_uid, after.st_mode, after.st_size)
    assert unchanged == (before.st_ino, before.st_uid, before.st_mode, before.st_size), (
        "B's thing was changed"
    )
    # Then that A was told, in one line.
    errors = mine.stderr.strip().splitlines()
    assert mine.returncode == 1, (mine.returncode, mine.stdout, mine.stderr)
    assert len(errors) == 1 and path in errors[0] and "Traceback" not in mine.stderr, mine.stderr
    assert "another user" in errors[0] or "not a FIFO" in errors[0], errors[0]


def test_what_the_kernel_gives(ipc_report):
    """Not a protection test: records what this kernel enforces, for the instructor notes."""
    tmp = os.stat("/tmp")
    try:
        fifos = Path("/proc/sys/fs/protected_fifos").read_text().strip()
    except OSError:
        fifos = "unknown"
    ipc_report(f"hub: /tmp mode {stat.S_IMODE(tmp.st_mode):04o} (sticky: {bool(tmp.st_mode & stat.S_ISVTX)})")
    ipc_report(f"hub: fs.protected_fifos = {fifos} (it guards only O_CREAT opens; the programs check owners)")
    assert tmp.st_mode & stat.S_ISVTX, "/tmp is not sticky: any user could rename or delete others' FIFOs"
