"""The small core the chapters use: private_dir, make_fifo's owner check, the peers, draw."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers import alive

from ipc_helpers import NotAFifoError, draw, make_fifo, private_dir, start_peer, start_reader, start_writer
from ipc_helpers.peers import SCRIPTS, find_script

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=30, **kwargs
    )


def test_private_dir_is_owner_only_and_removed_at_exit():
    result = run_python("""
        import os
        from ipc_helpers import private_dir, make_fifo
        d = private_dir()
        make_fifo(d / "f")
        print(d, oct(os.stat(d).st_mode & 0o777))
    """)
    path, mode = result.stdout.split()
    assert mode == "0o700"
    assert Path(path).name.startswith("ipc-tutorial-")
    assert not Path(path).exists(), "removed, FIFO and all, when Python exited"


def test_private_dir_gives_a_new_directory_each_time():
    a, b = private_dir(), private_dir()
    try:
        assert a != b and not any(a.iterdir())
    finally:
        for d in (a, b):
            d.rmdir()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a FIFO to another user")
def test_make_fifo_refuses_a_fifo_of_another_user_and_leaves_it(tmp_path):
    fifo = tmp_path / "planted"
    os.mkfifo(fifo)
    os.chmod(fifo, 0o666)
    os.chown(fifo, 65534, 65534)  # nobody
    with pytest.raises(NotAFifoError, match=r"a FIFO of another user \(uid 65534\), not one of yours"):
        make_fifo(fifo)
    st = os.lstat(fifo)
    assert stat.S_ISFIFO(st.st_mode) and st.st_uid == 65534 and st.st_mode & 0o777 == 0o666


def test_make_fifo_accepts_our_own_fifo_as_it_is(tmp_path):
    fifo = tmp_path / "ours"
    os.mkfifo(fifo, 0o644)
    assert make_fifo(fifo) == fifo
    assert os.lstat(fifo).st_mode & 0o777 == 0o644 & ~_umask(), "the mode is set only on creation"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_writer_waits_for_a_reader_then_writes_each_message(tmp_path):
    fifo = make_fifo(tmp_path / "p")
    with start_writer(fifo, "hello", "world") as writer:
        time.sleep(0.2)
        assert writer.poll() is None, "without a reader the writer waits in open()"
        fd = os.open(fifo, os.O_RDONLY)
        try:
            data = b"".join(iter(lambda: os.read(fd, 100), b""))
        finally:
            os.close(fd)
        out, err = writer.communicate(timeout=10)
    assert data == b"helloworld"
    assert writer.returncode == 0 and err == ""
    lines = [line.split(": ", 1)[1] for line in out.splitlines()]
    assert lines[0] == "opening 'p' for writing" and lines[-3:] == [
        "wrote 5 bytes",
        "wrote 5 bytes",
        "closed",
    ]
    assert out.startswith(f"writer pid [{writer.pid}]: ")


def test_writer_delay_makes_the_readers_open_wait(tmp_path):
    fifo = make_fifo(tmp_path / "p")
    with start_writer(fifo, "x", delay=0.5) as writer:
        start = time.monotonic()
        fd = os.open(fifo, os.O_RDONLY)
        waited = time.monotonic() - start
        os.close(fd)
        writer.communicate(timeout=10)
    assert 0.4 < waited < 5


def test_writer_nonblock_without_reader_fails_with_enxio(tmp_path):
    fifo = make_fifo(tmp_path / "p")
    with start_writer(fifo, "x", nonblock=True) as writer:
        out, err = writer.communicate(timeout=10)
    assert writer.returncode == 1
    assert err.strip() == f"writer pid [{writer.pid}]: cannot open 'p': No such device or address"


def test_writer_explains_a_broken_pipe_in_one_line(tmp_path):
    fifo = make_fifo(tmp_path / "p")
    with start_writer(fifo, "first", "second", pause=0.5) as writer:
        fd = os.open(fifo, os.O_RDONLY)
        assert os.read(fd, 100) == b"first"
        os.close(fd)  # gone before the second message
        out, err = writer.communicate(timeout=10)
    assert writer.returncode == 1
    assert err.strip().endswith("the reader has gone (BrokenPipeError); nothing more can be written")
    assert len(err.strip().splitlines()) == 1


def test_reader_reads_until_end_of_file(tmp_path):
    fifo = make_fifo(tmp_path / "p")
    with start_reader(fifo, size=3) as reader:
        fd = os.open(fifo, os.O_WRONLY)
        os.write(fd, b"abcdefg")
        os.close(fd)
        out, err = reader.communicate(timeout=10)
    reads = [line.split(": ", 1)[1] for line in out.splitlines()][2:]
    assert reads == [
        "read 3 bytes: b'abc'",
        "read 3 bytes: b'def'",
        "read 1 bytes: b'g'",
        "read b'': end of file",
        "closed",
    ]


@pytest.mark.parametrize("script", ["writer.py", "reader.py"])
def test_scripts_refuse_a_regular_file_and_leave_it(tmp_path, script):
    victim = tmp_path / "notes.txt"
    victim.write_text("keep me")
    with start_peer(script, victim) as peer:
        out, err = peer.communicate(timeout=10)
    assert peer.returncode == 1 and "is not a FIFO; leaving it alone" in err
    assert victim.read_text() == "keep me"


@pytest.mark.parametrize("script", ["writer.py", "reader.py"])
def test_scripts_end_themselves(tmp_path, script):
    """A peer nobody meets is gone when its alarm rings (60 s; shortened to 1 s here)."""
    fifo = make_fifo(tmp_path / "p")
    code = (
        "import runpy, signal, sys; real = signal.alarm; signal.alarm = lambda s: real(1); "
        f"sys.argv = ['{script}', {os.fspath(fifo)!r}]; runpy.run_path({os.fspath(SCRIPTS / script)!r})"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
    try:
        assert child.wait(timeout=10) == -signal.SIGALRM
    finally:
        child.kill()
        child.wait()


def test_peer_with_block_kills_and_reaps_on_an_error(tmp_path):
    fifo = make_fifo(tmp_path / "p")
    with pytest.raises(RuntimeError), start_writer(fifo, "never read") as writer:
        raise RuntimeError("a cell failed")
    assert writer.returncode == -signal.SIGKILL
    assert not alive(writer.pid)


def test_no_peer_outlives_the_python_that_started_it(tmp_path):
    fifo = make_fifo(tmp_path / "p")
    result = run_python(f"""
        from ipc_helpers import start_writer
        print(start_writer({os.fspath(fifo)!r}, "x").pid)   # waits in open() for a reader that never comes
    """)
    pid = int(result.stdout)
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(pid)


def test_find_script_prefers_the_learners_copy(tmp_path, monkeypatch):
    (tmp_path / "scripts").mkdir()
    mine = tmp_path / "scripts" / "writer.py"
    mine.write_text("print('my own writer')\n")
    monkeypatch.chdir(tmp_path)
    assert find_script("writer.py") == mine
    monkeypatch.chdir(ROOT)
    assert find_script("writer.py") == (SCRIPTS / "writer.py").resolve()
    with pytest.raises(FileNotFoundError):
        find_script("no-such-script.py")


def test_timeline_is_a_png_with_its_text_alternative():
    image = draw.timeline(
        {"reader": [(10.0, "open()"), (12.0, "returns")], "writer": [(12.0, "open()")]},
        waits={"reader": [(10.0, 12.0)]},
        alt="the reader waits 2 s",
    )
    bundle, metadata = image._repr_mimebundle_()
    assert image.data.startswith(b"\x89PNG") and metadata == {"image/png": {"alt": "the reader waits 2 s"}}
    png = bundle["image/png"]
    assert bundle["text/html"] == f'<img src="data:image/png;base64,{png}" alt="the reader waits 2 s">'
    assert bundle["text/plain"] == "the reader waits 2 s", "JupyterLab shows the HTML copy, with its alt"


def test_import_does_not_load_matplotlib_or_ipywidgets():
    result = run_python(
        "import sys, ipc_helpers; print('matplotlib' in sys.modules, 'ipywidgets' in sys.modules)"
    )
    assert result.stdout.split() == ["False", "False"]


def test_clock_adds_the_monotonic_time_of_each_step(tmp_path):
    fifo = make_fifo(tmp_path / "p")
    with start_reader(fifo, clock=True) as reader, start_writer(fifo, "hi", clock=True) as writer:
        before = time.monotonic()
        writer_out, _ = writer.communicate(timeout=10)
        reader_out, _ = reader.communicate(timeout=10)
    for peer, out in ((writer, writer_out), (reader, reader_out)):
        times = [float(line.split(" at ")[1].split(" s: ")[0]) for line in out.splitlines()]
        assert all(line.startswith(f"{peer.script.stem} pid [{peer.pid}] at ") for line in out.splitlines())
        assert times == sorted(times) and before - 10 < times[0] and times[-1] < time.monotonic() + 0.001
    assert writer_out.splitlines()[-2].endswith(" s: wrote 2 bytes")


def test_timeline_draws_a_peers_clock_output_as_its_steps():
    output = "writer pid [7] at 12.000 s: opening 'p' for writing\nwriter pid [7] at 12.500 s: closed\n"
    assert draw._steps(output) == [(12.0, "opening 'p' for writing"), (12.5, "closed")]
    image = draw.timeline({"reader": [(11.0, "open()")], "writer": output}, alt="two lanes")
    assert image.data.startswith(b"\x89PNG")
    near = draw._labels([(0.0, "a"), (0.01, "b"), (0.02, "c"), (5.0, "d")], near=0.1)
    assert [(t, text.count("\n")) for t, text in near] == [(0.0, 2), (5.0, 0)], "close labels are stacked"


def test_timeline_lists_the_steps_of_near_events_top_down_in_time_order():
    events = [(1.0, "opening"), (1.001, "opened"), (1.002, "closed"), (3.0, "alone")]
    assert draw._labels(events, near=0.1) == [
        (1.0, "1. opening\n2. opened\n3. closed"),  # one label on the first dot, read top to bottom
        (3.0, "alone"),
    ]
