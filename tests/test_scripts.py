"""The book's two programs (notebooks/scripts), run the way a learner runs them.

Every program runs as a real process (list argv, never a shell), with a
timeout, in a directory of its own under pytest's ``tmp_path``.  The contract:

- an optional argument names the FIFO; the default is ``my_pipe`` in the
  current directory;
- whichever program starts first creates the FIFO (race-free) and waits;
- the writer sends ``Hello from pid [<its pid>]``; the reader prints
  ``I pid [<its pid>] received a message => <everything it read>``;
- anything that is not a FIFO in the way: one line on stderr, exit status 1,
  nothing changed; broken pipe and Ctrl-C: one line, no traceback.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import launch_writer, open_fifo, wait_until_blocked

from ipc_helpers import make_fifo, read_all

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (not on Windows)")
linux_only = pytest.mark.skipif(not os.path.exists("/proc/self/wchan"), reason="needs /proc/<pid>/wchan")

SCRIPTS = Path(__file__).resolve().parent.parent / "notebooks" / "scripts"
WRITER = SCRIPTS / "write_to_named_pipe.py"
READER = SCRIPTS / "read_from_named_pipe.py"
TIMEOUT = 20
MINIMAL_WRITER = SCRIPTS / "minimal_writer.py"
MINIMAL_READER = SCRIPTS / "minimal_reader.py"
MESSAGE = re.compile(r"I pid \[(\d+)\] received a message => (.*)\n", re.DOTALL)


@contextlib.contextmanager
def started(script: Path, *args: str, cwd: Path, env: dict | None = None):
    """Start ``python script args...``; on leaving, kill it if still running and reap it."""
    proc = subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, out.decode("utf-8"), err.decode("utf-8")


def run(script: Path, *args: str, cwd: Path) -> tuple[int, str, str]:
    with started(script, *args, cwd=cwd) as proc:
        return finish(proc)


def wait_for_path(path: Path, timeout: float) -> bool:
    """Wait until something exists at ``path`` (the program has created its FIFO)."""
    deadline = time.monotonic() + timeout
    while not os.path.lexists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def wait_until_blocked_in_open(pid: int, timeout: float) -> bool:
    return wait_until_blocked(pid, "open", timeout=timeout) is not None


def parse(stdout: str) -> tuple[int, str]:
    match = MESSAGE.fullmatch(stdout)
    assert match, f"unexpected reader output: {stdout[:200]!r}"
    return int(match.group(1)), match.group(2)


def snapshot(directory: Path) -> dict[str, tuple]:
    """What is in a directory, in enough detail to see any change."""
    result = {}
    for entry in sorted(directory.iterdir()):
        st = entry.lstat()
        content = entry.read_bytes() if entry.is_file() and not entry.is_symlink() else None
        target = os.readlink(entry) if entry.is_symlink() else None
        result[entry.name] = (st.st_mode, st.st_ino, st.st_mtime_ns, content, target)
    return result


# --- the two orders --------------------------------------------------------------


@pytest.mark.parametrize("first", ["writer", "reader"])
def test_default_name_in_the_current_directory_in_either_order(tmp_path, first):
    scripts = [WRITER, READER] if first == "writer" else [READER, WRITER]
    with started(scripts[0], cwd=tmp_path) as one:
        assert wait_for_path(tmp_path / "my_pipe", TIMEOUT)
        assert (tmp_path / "my_pipe").is_fifo()
        assert one.poll() is None  # it waits for the other side
        with started(scripts[1], cwd=tmp_path) as two:
            results = {first: finish(one), "second": finish(two)}
    writer_proc, reader_proc = (one, two) if first == "writer" else (two, one)
    writer_result, reader_result = (
        (results[first], results["second"]) if first == "writer" else (results["second"], results[first])
    )
    assert writer_result == (0, "", "")
    status, out, err = reader_result
    assert (status, err) == (0, "")
    pid, message = parse(out)
    assert pid == reader_proc.pid
    assert message == f"Hello from pid [{writer_proc.pid}]"
    assert os.listdir(tmp_path) == ["my_pipe"]  # the FIFO stays; nothing else was made
    assert stat_mode(tmp_path / "my_pipe") == 0o600


def stat_mode(path: Path) -> int:
    return path.lstat().st_mode & 0o777


@pytest.mark.parametrize(
    "name",
    [
        "with space/my pipe",
        "名前/命名管道",
        "-leading-dash",
        "--help",
        "deep/" + "/".join(["d" * 50] * 40) + "/" + "n" * 200,
    ],
    ids=["spaces", "non-ascii", "leading-dash", "looks-like-an-option", "long-path"],
)
@pytest.mark.parametrize("first", ["writer", "reader"])
def test_explicit_awkward_paths(tmp_path, name, first):
    fifo = tmp_path / name
    fifo.parent.mkdir(parents=True, exist_ok=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The first program gets a path relative to its own directory, the second an absolute one.
    relative = os.path.relpath(fifo, tmp_path)
    order = [WRITER, READER] if first == "writer" else [READER, WRITER]
    # "--" ends the options: a name that starts with "-" is then a name, as with any command.
    with started(order[0], "--", relative, cwd=tmp_path) as one:
        assert wait_for_path(fifo, TIMEOUT)
        with started(order[1], "--", str(fifo), cwd=elsewhere) as two:
            r1, r2 = finish(one), finish(two)
    (w_proc, w_res), (r_proc, r_res) = sorted(
        [(one, r1), (two, r2)], key=lambda item: item[0].args[1] != str(WRITER)
    )
    assert w_res == (0, "", "")
    assert r_res[0] == 0 and r_res[2] == ""
    assert parse(r_res[1]) == (r_proc.pid, f"Hello from pid [{w_proc.pid}]")
    assert fifo.is_fifo()
    assert os.listdir(elsewhere) == []


# --- the other end is a shell tool -------------------------------------------------


def test_cat_reads_the_writers_message(tmp_path):
    with started(WRITER, cwd=tmp_path) as writer:
        assert wait_for_path(tmp_path / "my_pipe", TIMEOUT)
        cat = subprocess.run(
            ["cat", "my_pipe"], cwd=tmp_path, capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL
        )
        assert finish(writer) == (0, "", "")
    assert cat.returncode == 0
    assert cat.stdout == f"Hello from pid [{writer.pid}]".encode()


def feed_reader(tmp_path: Path, argv: list[str], env: dict | None = None) -> tuple[tuple[int, str, str], int]:
    """Start the reader, then run ``argv`` with its stdout going into the FIFO."""
    fifo = tmp_path / "my_pipe"
    with started(READER, cwd=tmp_path, env=env) as reader:
        assert wait_for_path(fifo, TIMEOUT)
        fd = open_fifo(fifo, "w", timeout=TIMEOUT)  # the reader is waiting: returns at once
        try:
            tool = subprocess.run(
                argv, stdout=fd, stderr=subprocess.PIPE, timeout=TIMEOUT, stdin=subprocess.DEVNULL
            )
        finally:
            os.close(fd)
        assert tool.returncode == 0, tool.stderr
        return finish(reader), reader.pid


def test_a_large_base64_message_from_a_shell_tool_arrives_whole(tmp_path):
    noise = tmp_path / "noise.bin"
    noise.write_bytes(os.urandom(300_000))
    expected = subprocess.run(
        ["base64", str(noise)], capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL
    ).stdout.decode()
    assert len(expected) > 400_000  # far more than a pipe holds (64 KiB)
    (status, out, err), pid = feed_reader(tmp_path, ["base64", str(noise)])
    assert (status, err) == (0, "")
    assert parse(out) == (pid, expected)


@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])
def test_non_ascii_text_from_cat_arrives_whole_under_any_locale(tmp_path, locale):
    text = "你好，命名管道！ Grüße, ça va? 🙂\n" * 5000  # multi-byte characters across read boundaries
    source = tmp_path / "text.txt"
    source.write_text(text, encoding="utf-8")
    env = {**os.environ, "LC_ALL": locale}
    env.pop("PYTHONIOENCODING", None)
    env.pop("PYTHONUTF8", None)
    (status, out, err), pid = feed_reader(tmp_path, ["cat", str(source)], env=env)
    assert (status, err) == (0, "")
    assert parse(out) == (pid, text)


def test_the_reader_reads_past_22_bytes_and_across_pauses(tmp_path):
    fifo = tmp_path / "my_pipe"
    with started(READER, cwd=tmp_path) as reader:
        assert wait_for_path(fifo, TIMEOUT)
        with launch_writer(fifo, b"Hello from pid [1234567] and more", parts=[6, 27], pause=0.3) as writer:
            writer.check(TIMEOUT)
        status, out, err = finish(reader)
    assert (status, err) == (0, "")
    assert parse(out) == (reader.pid, "Hello from pid [1234567] and more")


def test_the_writer_message_read_with_ipc_helpers(tmp_path):
    fifo = make_fifo(tmp_path / "f")
    with started(WRITER, str(fifo), cwd=tmp_path) as writer:
        fd = open_fifo(fifo, "r", timeout=TIMEOUT)
        try:
            data = read_all(fd, timeout=TIMEOUT)
        finally:
            os.close(fd)
        assert finish(writer) == (0, "", "")
    assert data == f"Hello from pid [{writer.pid}]".encode()


# --- things in the way -------------------------------------------------------------


def make_obstacle(kind: str, path: Path) -> None:
    if kind == "regular file":
        path.write_bytes(b"precious notes\n")
    elif kind == "empty regular file":
        path.write_bytes(b"")
    elif kind == "directory":
        path.mkdir()
        (path / "inside.txt").write_text("keep me")
    elif kind == "dangling symlink":
        os.symlink("nowhere", path)
    elif kind == "symlink to a FIFO":
        make_fifo(path.with_name("real_fifo"))
        os.symlink("real_fifo", path)
    elif kind == "symlink to a file":
        path.with_name("target.txt").write_text("target")
        os.symlink("target.txt", path)


OBSTACLES = [
    "regular file",
    "empty regular file",
    "directory",
    "dangling symlink",
    "symlink to a FIFO",
    "symlink to a file",
]


@pytest.mark.parametrize("kind", OBSTACLES)
@pytest.mark.parametrize("script", [WRITER, READER], ids=["writer", "reader"])
@pytest.mark.parametrize("use_default_name", [True, False], ids=["default-name", "argument"])
def test_something_in_the_way_is_refused_and_left_alone(tmp_path, kind, script, use_default_name):
    make_obstacle(kind, tmp_path / "my_pipe")
    before = snapshot(tmp_path)
    inside_before = snapshot(tmp_path / "my_pipe") if kind == "directory" else None
    args = [] if use_default_name else [str(tmp_path / "my_pipe")]
    status, out, err = run(script, *args, cwd=tmp_path)
    assert status == 1
    assert out == ""
    assert len(err.splitlines()) == 1 and err.endswith("\n"), err
    assert "not a FIFO" in err and "Traceback" not in err
    assert err.startswith(f"{script.name}: ")
    assert snapshot(tmp_path) == before
    if inside_before is not None:
        assert snapshot(tmp_path / "my_pipe") == inside_before


@pytest.mark.parametrize("script", [WRITER, READER], ids=["writer", "reader"])
def test_a_missing_directory_is_one_line_and_exit_1(tmp_path, script):
    status, out, err = run(script, "no/such/dir/my_pipe", cwd=tmp_path)
    assert (status, out) == (1, "")
    assert err == f"{script.name}: cannot use 'no/such/dir/my_pipe': No such file or directory\n"
    assert os.listdir(tmp_path) == []


# --- interruptions -----------------------------------------------------------------


@linux_only
@pytest.mark.parametrize("script", [WRITER, READER], ids=["writer", "reader"])
def test_ctrl_c_while_waiting_is_one_line_and_status_130(tmp_path, script):
    with started(script, cwd=tmp_path) as proc:
        assert wait_until_blocked_in_open(proc.pid, TIMEOUT)
        proc.send_signal(signal.SIGINT)
        assert finish(proc) == (130, "", f"{script.name}: interrupted (Ctrl-C)\n")


BROKEN_PIPE = (
    "write_to_named_pipe.py: the reader closed 'my_pipe' before the message was sent (broken pipe)\n"
)


@linux_only
def test_a_broken_pipe_is_one_line_and_status_1(tmp_path):
    """The reader opens and closes at once; usually before the writer writes."""
    broken = 0
    for attempt in range(20):
        directory = tmp_path / str(attempt)
        directory.mkdir()
        with started(WRITER, cwd=directory) as writer:
            assert wait_until_blocked_in_open(writer.pid, TIMEOUT)
            os.close(os.open(directory / "my_pipe", os.O_RDONLY))
            result = finish(writer)
        # The writer either won the race (its message was thrown away) or got a broken pipe.
        assert result in [(0, "", ""), (1, "", BROKEN_PIPE)]
        if result[0] == 1:
            broken += 1
            if broken >= 3:
                break
    assert broken >= 1


# --- many at once ------------------------------------------------------------------


def test_pairs_started_together_never_crash_on_the_create_race(tmp_path):
    """Reader and writer start at the same moment; both try to create my_pipe."""
    for batch in range(6):
        procs = []
        with contextlib.ExitStack() as stack:
            for i in range(5):
                directory = tmp_path / f"{batch}-{i}"
                directory.mkdir()
                scripts = [WRITER, READER] if i % 2 else [READER, WRITER]
                pair = [stack.enter_context(started(s, cwd=directory)) for s in scripts]
                procs.append(pair if scripts[0] is WRITER else pair[::-1])
            for writer, reader in procs:
                assert finish(writer) == (0, "", "")
                status, out, err = finish(reader)
                assert (status, err) == (0, "")
                assert parse(out) == (reader.pid, f"Hello from pid [{writer.pid}]")


def test_a_crowd_of_readers_and_writers_on_one_name(tmp_path):
    """8 writers and 8 readers start at once on one missing FIFO: nobody crashes.

    Which reader gets which messages is up to the scheduler.  Programs left
    waiting at the end (a reader after the last writer, a writer after the last
    reader) are released by this test acting as a brief partner.
    """
    fifo = tmp_path / "my_pipe"
    with contextlib.ExitStack() as stack:
        procs = [
            (role, stack.enter_context(started(script, cwd=tmp_path)))
            for _ in range(8)
            for role, script in [("writer", WRITER), ("reader", READER)]
        ]
        assert wait_for_path(fifo, TIMEOUT)
        deadline = time.monotonic() + TIMEOUT
        while any(p.poll() is None for _, p in procs):
            assert time.monotonic() < deadline, "programs still running"
            time.sleep(0.2)
            if time.monotonic() < deadline - TIMEOUT + 2:
                continue  # give them 2 s to pair up on their own
            with contextlib.suppress(OSError):  # ENXIO: no reader is waiting right now
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a writer waiting in open() gets going
            time.sleep(0.05)
            os.close(rfd)
        received = ""
        for role, proc in procs:
            status, out, err = finish(proc)
            assert "Traceback" not in err and "FileExistsError" not in err
            if role == "reader":
                assert (status, err) == (0, "")
                received += parse(out)[1]
            else:
                # 0, or a broken pipe if its reader went away just as it connected.
                assert status == 0 or (status == 1 and "broken pipe" in err), err
    assert fifo.is_fifo() and os.listdir(tmp_path) == ["my_pipe"]
    assert 1 <= received.count("Hello from pid [") <= 8


# --- the programs themselves -------------------------------------------------------


@pytest.mark.parametrize("script", [WRITER, READER], ids=["writer", "reader"])
def test_standard_library_only_and_short(script):
    tree = ast.parse(script.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names)
    assert "ipc_helpers" not in imported
    assert len(script.read_text(encoding="utf-8").splitlines()) < 80


@pytest.mark.parametrize("script", [MINIMAL_WRITER, MINIMAL_READER], ids=["writer", "reader"])
def test_the_minimal_programs_are_minimal(script):
    lines = script.read_text(encoding="utf-8").splitlines()[2:]  # after the shebang and the docstring
    code = [line for line in lines if line and not line.startswith("import")]
    assert len(code) <= 8


# --- command-line tools (issue 10, item 10) ----------------------------------------


@pytest.mark.parametrize("script", [WRITER, READER], ids=["writer", "reader"])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_names_the_fifo_argument_and_creates_nothing(tmp_path, script, flag):
    status, out, err = run(script, flag, cwd=tmp_path)
    assert (status, err) == (0, "")
    assert out.startswith(f"usage: {script.name} [-h] [fifo]")
    assert "the FIFO (default: my_pipe here)" in out
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("script", [WRITER, READER], ids=["writer", "reader"])
def test_a_second_argument_is_a_usage_error_and_creates_nothing(tmp_path, script):
    status, out, err = run(script, "one", "two", cwd=tmp_path)
    assert (status, out) == (2, "")
    assert err.splitlines()[-1] == f"{script.name}: error: unrecognized arguments: two"
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("script", [WRITER, READER, MINIMAL_WRITER, MINIMAL_READER],
                         ids=["writer", "reader", "minimal-writer", "minimal-reader"])
def test_runs_as_a_command_with_its_shebang(tmp_path, script):
    assert script.read_text(encoding="utf-8").startswith("#!/usr/bin/env python3\n")
    assert os.access(script, os.X_OK), "executable bit (git keeps it: mode 100755)"
    listed = subprocess.run(["git", "ls-files", "-s", script.name], cwd=SCRIPTS, capture_output=True,
                            text=True, timeout=TIMEOUT)
    assert listed.stdout.startswith("100755"), listed.stdout
    if script in (WRITER, READER):  # no "python" in front: the shebang finds python3
        done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=TIMEOUT,
                              cwd=tmp_path)
        assert done.returncode == 0 and done.stdout.startswith("usage:")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to plant a FIFO of another user")
@pytest.mark.parametrize("script", [WRITER, READER], ids=["writer", "reader"])
def test_a_fifo_of_another_user_is_refused_and_nothing_is_sent(tmp_path, script):
    os.chmod(tmp_path, 0o1777)  # like /tmp: anyone may create names here
    fifo = tmp_path / "my_pipe"
    os.mkfifo(fifo)
    os.chmod(fifo, 0o666)
    os.chown(fifo, 65534, 65534)  # planted by "nobody"
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the planter listening
    try:
        status, out, err = run(script, cwd=tmp_path)
        assert os.read(rfd, 100) == b"", "nothing was sent into another user's FIFO"
    finally:
        os.close(rfd)
    assert (status, out) == (1, "")
    assert err == f"{script.name}: 'my_pipe' is a FIFO of another user (uid 65534); left it untouched\n"
    assert os.lstat(fifo).st_uid == 65534


def test_the_minimal_pair_sends_one_message_once(tmp_path):
    fifo = tmp_path / "my_pipe"
    with started(MINIMAL_WRITER, str(fifo), cwd=tmp_path) as writer:
        assert wait_for_path(fifo, TIMEOUT)
        status, out, err = run(MINIMAL_READER, str(fifo), cwd=tmp_path)
        assert finish(writer) == (0, "", "")
    assert (status, err) == (0, "")
    assert parse(out) == (int(out.split("[")[1].split("]")[0]), f"Hello from pid [{writer.pid}]")
    # The minimal writer does not accept an existing FIFO: os.mkfifo fails.
    status, out, err = run(MINIMAL_WRITER, str(fifo), cwd=tmp_path)
    assert status == 1 and "FileExistsError" in err
