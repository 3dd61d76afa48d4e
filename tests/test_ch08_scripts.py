"""The sequence-number server and clients of chapter 08 (notebooks/scripts/seqnum_*.py, bad_client.py).

What the chapter shows, proved under any load: the naive server serves honest clients and freezes
on one that crashed (Linux says where it sleeps: in open()); half a request misreads the next one
and every one after; the safe server skips a crashed client (ENXIO), drops half a request after its
deadline and is in step again, but a cheat that keeps the stream shifted starves honest clients; the
client refuses a non-FIFO or another user's FIFO at its reply path, untouched.  Every script refuses
a server path that is not a FIFO of ours, says so in one line, and ends itself.

Causes, not sleeps: a test waits for the line a peer prints, for a peer to exit, or for Linux to
say the peer sleeps in open() or read() (tests/support.py).
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import os
import re
import signal
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from support import wait_until_blocked

from ipc_helpers import start_peer
from ipc_helpers.peers import SCRIPTS

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux: poll on FIFOs, /proc/PID/wchan")

NAIVE, SAFE = "seqnum_server.py", "seqnum_server_safe.py"
REQUEST = struct.Struct("!II")
GOT = re.compile(r"client pid \[(\d+)\]: got (\d+)(?: to (\d+))?\n")
ENXIO_TEXT, ENOENT_TEXT = os.strerror(errno.ENXIO), os.strerror(errno.ENOENT)


@pytest.fixture
def seqnum(tmp_path):
    path = tmp_path / "seqnum"
    os.mkfifo(path, 0o600)
    return path


@contextlib.contextmanager
def server(script, fifo, *args):
    """A running server, once it has said it is ready; killed at the end if still running."""
    with start_peer(script, fifo, *args) as peer:
        try:
            assert peer.stdout.readline() == f"server pid [{peer.pid}]: ready, reading 'seqnum'\n"
            yield peer
        finally:
            if peer.poll() is None:
                peer.kill()


def ask(fifo, n=1, timeout=None):
    """Run one client to its end: (exit status, stdout, stderr)."""
    args = [fifo, n] + (["--timeout", timeout] if timeout is not None else [])
    with start_peer("seqnum_client.py", *args) as client:
        out, err = client.communicate(timeout=30)
    return client.returncode, out, err


def bad(fifo, *option):
    """Run bad_client.py until it has crashed; return its pid and line."""
    with start_peer("bad_client.py", fifo, *option) as peer:
        out, err = peer.communicate(timeout=30)
    assert peer.returncode == -signal.SIGKILL, err
    return peer.pid, out


def line_with(peer, text, timeout=20):
    """Read the peer's lines until one contains text; return the lines read.

    A peer that never prints it is killed after ``timeout`` seconds, which ends the reading.
    """
    lines = []
    killer = threading.Timer(timeout, peer.kill)
    killer.start()
    try:
        for line in peer.stdout:
            lines.append(line)
            if text in line:
                return lines
    finally:
        killer.cancel()
    raise AssertionError(f"no line with {text!r} within {timeout} s: {lines}")


def got(out):
    m = GOT.fullmatch(out)
    assert m, out
    first = int(m.group(2))
    return range(first, int(m.group(3) or first) + 1)


@pytest.mark.parametrize("script", [NAIVE, SAFE])
def test_clients_one_after_another_get_consecutive_numbers(seqnum, script):
    with server(script, seqnum, 3) as srv:
        results = [ask(seqnum, n) for n in (3, 1, 4)]
        assert srv.wait(timeout=30) == 0
        log = srv.stdout.read()
    assert [got(out) for _, out, _ in results] == [range(0, 3), range(3, 4), range(4, 8)]
    for status, out, err in results:
        pid = GOT.fullmatch(out).group(1)
        assert status == 0 and err == ""
        assert f"sent {got(out)[0]} to pid [{pid}]" in log
    assert list(seqnum.parent.iterdir()) == [seqnum], "each client removed its FIFO"


@pytest.mark.parametrize("script", [NAIVE, SAFE])
def test_many_clients_at_once_get_numbers_nobody_else_gets(seqnum, script):
    wanted = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]
    with server(script, seqnum, len(wanted)) as srv:
        clients = [start_peer("seqnum_client.py", seqnum, n, "--timeout", 20) for n in wanted]
        try:
            outs = [c.communicate(timeout=30)[0] for c in clients]
        finally:
            for c in clients:
                with c:
                    pass
        assert srv.wait(timeout=30) == 0
    numbers = sorted(x for out in outs for x in got(out))
    assert numbers == list(range(sum(wanted)))
    assert sorted(len(got(out)) for out in outs) == sorted(wanted)


def test_the_naive_server_freezes_on_a_client_that_crashed(seqnum):
    with server(NAIVE, seqnum) as srv:
        pid, out = bad(seqnum)
        assert out == f"bad client pid [{pid}]: sent a request for 2 and crashed\n"
        assert srv.stdout.readline() == f"server pid [{srv.pid}]: request from pid [{pid}] for 2\n"
        assert wait_until_blocked(srv.pid, "open") == "open", "the server waits in open() of its FIFO"
        status, out, err = ask(seqnum, 1, timeout=1)
        assert (status, out) == (1, "") and err.endswith(": no reply within 1.0 s\n")
        assert wait_until_blocked(srv.pid, "open") == "open", "still there: it never read the next request"
        assert (seqnum.parent / f"client-{pid}").exists(), "the crashed client left its FIFO"


def test_the_safe_server_skips_a_client_that_crashed(seqnum):
    with server(SAFE, seqnum, 2) as srv:
        pid, _ = bad(seqnum)
        status, out, err = ask(seqnum, 1, timeout=10)
        assert status == 0 and got(out) == range(0, 1), err
        assert srv.wait(timeout=30) == 0
        log = srv.stdout.read()
    assert f"cannot open client-{pid}: {ENXIO_TEXT}; request skipped\n" in log


def test_half_a_request_misreads_the_next_and_every_later_one(seqnum):
    with server(NAIVE, seqnum) as srv:
        pid, out = bad(seqnum, "--half")
        assert out == f"bad client pid [{pid}]: wrote 4 of the 8 bytes and crashed\n"
        first = ask(seqnum, 3, timeout=1)
        assert first[0] == 1 and first[2].endswith(": no reply within 1.0 s\n")
        assert line_with(srv, "cannot open client-3") == [
            f"server pid [{srv.pid}]: request from pid [3] for 2\n",
            f"server pid [{srv.pid}]: cannot open client-3: {ENOENT_TEXT}; request skipped\n",
        ]
        # Now the pipe starts with the rest of the first client's request: the next one is misread too.
        assert wait_until_blocked(srv.pid, "read") == "read"
        second = ask(seqnum, 1, timeout=1)
        assert second[0] == 1 and second[2].endswith(": no reply within 1.0 s\n")
        pid_of_first = re.match(r"client pid \[(\d+)\]", first[2]).group(1)
        assert line_with(srv, "cannot open client-1:")[0] == (
            f"server pid [{srv.pid}]: request from pid [1] for {pid_of_first}\n"
        ), "the first client's pid, read as a count"


def test_the_safe_server_drops_half_a_request_and_serves_the_next(seqnum):
    with server(SAFE, seqnum, 2) as srv:
        bad(seqnum, "--half")
        assert line_with(srv, "dropped") == [
            f"server pid [{srv.pid}]: dropped 4 bytes of an incomplete request\n"
        ]
        status, out, err = ask(seqnum, 3, timeout=10)
        assert status == 0 and got(out) == range(0, 3), err


def test_the_safe_server_is_back_in_step_when_the_next_request_came_too_soon(seqnum):
    """A request right behind half a request is misread and refused; the rest is dropped; then all is well."""
    with server(SAFE, seqnum, 3) as srv:
        w = os.open(seqnum, os.O_WRONLY)
        try:
            os.write(w, REQUEST.pack(2, 999_999)[:4])  # half a request...
            os.write(w, REQUEST.pack(3, os.getpid()))  # ...and at once a whole one
        finally:
            os.close(w)
        assert line_with(srv, "dropped") == [
            f"server pid [{srv.pid}]: request from pid [3] for 2\n",
            f"server pid [{srv.pid}]: cannot open client-3: {ENOENT_TEXT}; request skipped\n",
            f"server pid [{srv.pid}]: dropped 4 bytes of an incomplete request\n",
        ]
        status, out, err = ask(seqnum, 1, timeout=10)
        assert status == 0 and got(out) == range(0, 1), err


def test_a_cheat_that_keeps_the_stream_shifted_starves_honest_clients(seqnum):
    with server(SAFE, seqnum) as srv:
        with start_peer("bad_client.py", seqnum, "--shift") as cheat:
            assert cheat.stdout.readline().endswith(": wrote 4 of the 8 bytes and goes on writing\n")
            for _ in range(2):
                status, out, err = ask(seqnum, 1, timeout=1)
                assert (status, out) == (1, "") and err.endswith(": no reply within 1.0 s\n")
            cheat.kill()
        lines = line_with(srv, "dropped")
        assert not any("sent" in line for line in lines), lines
        # Asleep in read() means in step again: while out of step, 4 bytes always wait in the
        # server's hands and it sleeps in poll() (the deadline), never in read().
        assert wait_until_blocked(srv.pid, "read") == "read"
        status, out, err = ask(seqnum, 1, timeout=10)
        assert status == 0 and got(out) == range(0, 1), err


def nothing_written(fd):
    """No byte waits in the FIFO: end of file (a writer came and went) or nothing yet."""
    try:
        return os.read(fd, 100) == b""
    except BlockingIOError:
        return True


def start_client_and_plant(seqnum, plant):
    """Start a client, plant something at its reply path while it waits for a server, let it go on."""
    with start_peer("seqnum_client.py", seqnum) as client:
        planted = seqnum.parent / f"client-{client.pid}"
        plant(planted)
        fd = os.open(seqnum, os.O_RDONLY | os.O_NONBLOCK)  # a server's read end: the client's open returns
        try:
            out, err = client.communicate(timeout=30)
            assert nothing_written(fd), "the client sent no request"
        finally:
            os.close(fd)
    return client, planted, out, err


def test_the_client_refuses_a_regular_file_at_its_reply_path(seqnum):
    forged = struct.pack("!I", 256)
    client, planted, out, err = start_client_and_plant(seqnum, lambda p: p.write_bytes(forged))
    assert client.returncode == 1 and out == ""
    me = f"client pid [{client.pid}]"
    assert err == f"{me}: client-{client.pid} exists and is not a FIFO; leaving it alone\n"
    assert planted.read_bytes() == forged


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a FIFO to another user")
def test_the_client_refuses_a_fifo_of_another_user_at_its_reply_path(seqnum):
    def plant(path):
        os.mkfifo(path, 0o666)
        os.chown(path, 65534, 65534)  # nobody

    client, planted, out, err = start_client_and_plant(seqnum, plant)
    assert client.returncode == 1 and out == ""
    assert err == (f"client pid [{client.pid}]: client-{client.pid} is a FIFO of another user (uid 65534); "
                   "leaving it alone\n")
    st = os.lstat(planted)
    assert planted.is_fifo() and st.st_uid == 65534, "left as it was"


def test_the_client_accepts_its_own_fifo_left_from_before(seqnum):
    """A FIFO of ours at the reply path (a crashed client with the same pid) is used, then removed."""
    with start_peer("seqnum_client.py", seqnum, 2) as client:  # waits in open(): no server yet
        planted = seqnum.parent / f"client-{client.pid}"
        os.mkfifo(planted, 0o600)
        with server(SAFE, seqnum, 1):
            out, err = client.communicate(timeout=30)
    assert client.returncode == 0 and got(out) == range(0, 2), err
    assert not planted.exists()


@pytest.mark.parametrize("argv", [
    [NAIVE], [SAFE], ["seqnum_client.py"], ["bad_client.py"], ["bad_client.py", "--half"],
])
def test_scripts_refuse_a_server_path_that_is_not_a_fifo(tmp_path, argv):
    victim = tmp_path / "seqnum"
    victim.write_text("keep me")
    with start_peer(argv[0], victim, *argv[1:]) as peer:
        out, err = peer.communicate(timeout=30)
    assert peer.returncode == 1
    pattern = r"[a-z ]+ pid \[\d+\]: '?seqnum'? (exists and )?is not a FIFO( of ours)?; leaving it alone\n"
    assert re.fullmatch(pattern, err), err
    assert victim.read_text() == "keep me"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a FIFO to another user")
@pytest.mark.parametrize("argv", [[NAIVE], [SAFE], ["seqnum_client.py"]])
def test_servers_and_client_refuse_a_server_fifo_of_another_user(tmp_path, argv):
    fifo = tmp_path / "seqnum"
    os.mkfifo(fifo, 0o666)
    os.chown(fifo, 65534, 65534)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so that a client's open returns
    try:
        with start_peer(argv[0], fifo) as peer:
            out, err = peer.communicate(timeout=30)
        assert peer.returncode == 1 and err.endswith("; leaving it alone\n"), err
        assert nothing_written(reader)
    finally:
        os.close(reader)
    assert os.lstat(fifo).st_uid == 65534


@pytest.mark.parametrize("script", [NAIVE, SAFE, "seqnum_client.py", "bad_client.py"])
def test_a_missing_server_fifo_is_a_one_line_error(tmp_path, script):
    with start_peer(script, tmp_path / "seqnum") as peer:
        out, err = peer.communicate(timeout=30)
    assert peer.returncode == 1
    assert re.fullmatch(rf"[a-z ]+ pid \[{peer.pid}\]: {ENOENT_TEXT}: seqnum\n", err), err


@pytest.mark.parametrize("script", [NAIVE, SAFE, "seqnum_client.py", "bad_client.py"])
def test_help_explains_and_creates_nothing(tmp_path, script):
    result = subprocess.run([sys.executable, SCRIPTS / script, "--help"], capture_output=True, text=True,
                            timeout=30, cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("usage:") and "fifo" in result.stdout
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("script", [NAIVE, SAFE, "seqnum_client.py", "bad_client.py"])
def test_scripts_end_themselves(seqnum, script):
    """Nobody comes: each waits (in read() or open()) until its alarm rings (60 s; 1 s here)."""
    code = (
        "import runpy, signal, sys; real = signal.alarm; signal.alarm = lambda s: real(1); "
        f"sys.argv = ['{script}', {os.fspath(seqnum)!r}]; runpy.run_path({os.fspath(SCRIPTS / script)!r})"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
    try:
        assert child.wait(timeout=10) == -signal.SIGALRM
    finally:
        child.kill()
        child.wait()


def test_every_script_is_executable_with_a_shebang():
    for script in (NAIVE, SAFE, "seqnum_client.py", "bad_client.py"):
        path = Path(SCRIPTS / script)
        assert path.read_text().startswith("#!/usr/bin/env python3\n")
        assert os.access(path, os.X_OK)


def test_the_two_servers_differ_only_in_the_two_fixes():
    """The chapter reads the diff: keep it to O_NONBLOCK and the deadline (plus the docstring)."""
    naive = (SCRIPTS / NAIVE).read_text().splitlines()
    safe = (SCRIPTS / SAFE).read_text().splitlines()
    added = [line[1:] for line in difflib.unified_diff(naive, safe, n=0) if line.startswith("+")][1:]
    docstring = ("usage:", "Two changes", "a request")
    code = [line for line in added if line.strip() and not line.startswith(docstring)]
    assert any("os.O_NONBLOCK" in line for line in code)
    assert any("poller.poll(500)" in line for line in code)
    assert len(code) <= 16, code  # a diff a learner reads in a minute
