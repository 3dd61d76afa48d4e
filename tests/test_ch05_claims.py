"""Chapter 05's claims, proven by cause and effect (and so under load too), and its script send_frames.py.

The framing functions are taken from the chapter's own cells, so these tests check the code the
learner reads.
"""

from __future__ import annotations

import codecs
import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from support import bytes_waiting, wait_until_blocked

from ipc_helpers import draw, start_peer, start_reader, start_writer
from ipc_helpers.peers import SCRIPTS

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "notebooks" / "05-bytes-and-encoding.ipynb"

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Linux is the reference for these claims")


def notebook_functions(*names: str) -> dict:
    """The functions ``names`` exactly as chapter 05 defines them in its cells."""
    cells = json.loads(CHAPTER.read_text(encoding="utf-8"))["cells"]
    namespace: dict = {"os": os, "struct": struct}
    for name in names:
        (source,) = [
            src
            for src in ("".join(c["source"]) for c in cells if c["cell_type"] == "code")
            if f"def {name}(" in src
        ]
        exec(source.split("\n\n\n")[0], namespace)  # the definition, without the cell's demo line
    return namespace


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "my_pipe"
    os.mkfifo(path)
    return path


def test_the_books_write_line_raises_before_writing():
    r, w = os.pipe()
    try:
        message = "Hello from pid [%d]"
        with pytest.raises(TypeError, match=r"^%d format: a real number is required, not str$"):
            os.write(w, (message % str(os.getpid())))
        assert bytes_waiting(r) == 0, "nothing was written"
        with pytest.raises(TypeError, match=r"a bytes-like object is required, not 'str'"):
            os.write(w, "Hello %s" % str(os.getpid()))  # noqa: UP031 - the translator's version
    finally:
        os.close(r)
        os.close(w)


def test_the_books_reader_line_prints_the_bytes_repr_from_the_books_writer(fifo):
    with start_peer("write_to_named_pipe.py", fifo) as writer:
        fd = os.open(fifo, os.O_RDONLY)
        data = os.read(fd, 100)
        os.close(fd)
        writer.communicate(timeout=10)
    line = "I pid [%d] received a message => %s" % (os.getpid(), data)  # noqa: UP031
    assert line == f"I pid [{os.getpid()}] received a message => b'Hello from pid [{writer.pid}]'"


def test_a_22_byte_read_cuts_a_7_digit_pid_and_the_rest_is_lost_when_all_close(fifo):
    message = b"Hello from pid [%d]" % 4194303
    with start_writer(fifo, message) as writer:
        fd = os.open(fifo, os.O_RDONLY)
        writer.communicate(timeout=10)  # written, closed, exited: all 24 bytes are in the pipe
        assert os.read(fd, 22) == b"Hello from pid [419430"
        assert bytes_waiting(fd) == 2
        os.close(fd)  # the last descriptor: the pipe and its 2 bytes are gone
    r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    w = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    try:
        assert bytes_waiting(r) == 0
    finally:
        os.close(w)
        os.close(r)


def test_three_writes_read_late_come_back_as_the_notebook_says(fifo):
    with start_writer(fifo, "first;", "second;", "third;") as writer:
        fd = os.open(fifo, os.O_RDONLY)
        out, _ = writer.communicate(timeout=10)
        reads = [os.read(fd, 10), os.read(fd, 100), os.read(fd, 100)]
        os.close(fd)
    assert reads == [b"first;seco", b"nd;third;", b""]
    assert [line.split(": ", 1)[1] for line in out.splitlines()][2:5] == [
        "wrote 6 bytes",
        "wrote 7 bytes",
        "wrote 6 bytes",
    ]


def test_one_write_larger_than_the_pipe_arrives_in_several_reads(fifo):
    with start_writer(fifo, "x" * 100_000) as writer:
        fd = os.open(fifo, os.O_RDONLY)
        sizes = []
        while chunk := os.read(fd, 1_000_000):
            sizes.append(len(chunk))
        os.close(fd)
        writer.communicate(timeout=10)
    assert sum(sizes) == 100_000 and len(sizes) > 1
    assert max(sizes) <= 65536 * (os.sysconf("SC_PAGE_SIZE") // 4096), "at most the pipe's capacity"


def test_end_of_file_waits_for_every_writer(fifo):
    with start_writer(fifo, "from the writer") as writer:
        fd = os.open(fifo, os.O_RDONLY)
        w = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        writer.communicate(timeout=10)
    try:
        assert os.read(fd, 100) == b"from the writer"
        os.set_blocking(fd, False)
        with pytest.raises(BlockingIOError):
            os.read(fd, 100)
        os.close(w)
        assert os.read(fd, 100) == b""
    finally:
        os.close(fd)


def test_a_blocking_read_with_a_writer_left_waits_in_the_kernel(fifo):
    w = None
    with start_reader(fifo) as reader:
        w = os.open(fifo, os.O_WRONLY)  # the reader is there: returns at once
        try:
            os.write(w, b"x")
            assert wait_until_blocked(reader.pid, "read") == "read", "empty pipe, a writer left: it waits"
        finally:
            os.close(w)
        out, _ = reader.communicate(timeout=10)
    assert out.splitlines()[-2].endswith("read b'': end of file")


def test_split_characters_and_the_incremental_decoder(fifo):
    with start_writer(fifo, "你好，命名管道"):
        fd = os.open(fifo, os.O_RDONLY)
        chunks = []
        while chunk := os.read(fd, 4):
            chunks.append(chunk)
        os.close(fd)
    assert [len(c) for c in chunks] == [4, 4, 4, 4, 4, 1], "one write of 21 bytes, read 4 at a time"
    with pytest.raises(UnicodeDecodeError, match="unexpected end of data"):
        "".join(c.decode() for c in chunks)
    decoder = codecs.getincrementaldecoder("utf-8")()
    assert "".join(decoder.decode(c) for c in chunks) + decoder.decode(b"", final=True) == "你好，命名管道"
    assert "\ufffd" in "".join(c.decode(errors="replace") for c in chunks), "replace corrupts silently"


def test_read_message_from_the_notebook_with_short_reads_from_send_frames(fifo):
    f = notebook_functions("read_exactly", "read_message")
    sizes = []

    def counting_read(fd, n):
        data = os.read(fd, n)
        sizes.append((n, len(data)))
        return data

    f["os"] = type("os_with_counted_reads", (), {"read": staticmethod(counting_read)})
    messages = ["Hello", "你好，命名管道", "", "line 1\nline 2"]
    with start_peer("send_frames.py", fifo, *messages, "--piece", 3, "--pause", 0.05) as sender:
        fd = os.open(fifo, os.O_RDONLY)
        got = []
        while (message := f["read_message"](fd)) is not None:
            got.append(message.decode())
        os.close(fd)
        out, _ = sender.communicate(timeout=10)
    assert got == messages
    assert out == f"sender pid [{sender.pid}]: sent 4 messages, 55 bytes, in 19 writes\n"
    assert any(0 < got < n for n, got in sizes), "some reads were short: the loop was needed"
    assert sizes[-1][1] == 0, "it ended with end of file"


def test_read_message_tells_a_cut_message_from_a_clean_end():
    f = notebook_functions("read_exactly", "read_message", "frame")
    for stream, error in [
        (f["frame"](b"ok"), None),
        (f["frame"](bytes(1000))[:24], "message cut short: 20 of 1000 bytes"),
        (f["frame"](b"ok") + b"\x00\x00", "end of file inside a length"),
    ]:
        r, w = os.pipe()
        os.write(w, stream)
        os.close(w)
        try:
            if error is None:
                assert f["read_message"](r) == b"ok" and f["read_message"](r) is None
            else:
                with pytest.raises(EOFError, match=error):
                    while f["read_message"](r) is not None:
                        pass
        finally:
            os.close(r)


def test_a_text_file_writer_sends_nothing_until_close(fifo):
    """Cause and effect: after write(), the reader sleeps in read() and the pipe is empty."""
    with start_reader(fifo) as reader:
        with open(fifo, "w", encoding="utf-8") as f:
            f.write("line 1\n")
            assert wait_until_blocked(reader.pid, "read") == "read"
            assert bytes_waiting(f.fileno()) == 0, "line 1 is still in the file object's buffer"
            f.write("line 2\n")
        out, _ = reader.communicate(timeout=10)
    reads = [line.split(": ", 1)[1] for line in out.splitlines() if ": read" in line]
    assert reads == ["read 14 bytes: b'line 1\\nline 2\\n'", "read b'': end of file"]


def test_line_buffering_sends_each_line_at_once(fifo):
    with start_reader(fifo) as reader:
        with open(fifo, "w", encoding="utf-8", buffering=1) as f:
            f.write("line 1\n")
            assert wait_until_blocked(reader.pid, "read") == "read"
            while bytes_waiting(f.fileno()):  # the reader is about to take it
                wait_until_blocked(reader.pid, "read")
            f.write("line 2\n")
        out, _ = reader.communicate(timeout=10)
    assert "read 7 bytes: b'line 1\\n'" in out


def test_open_for_writing_without_a_fifo_creates_a_regular_file(tmp_path):
    path = tmp_path / "my_pipe"
    with open(path, "w", encoding="utf-8") as f:  # does not wait: nothing to meet
        f.write("Hello\n")
    assert path.is_file() and not path.is_fifo()
    with pytest.raises(FileNotFoundError):
        os.open(tmp_path / "other_pipe", os.O_WRONLY)


# --- scripts/send_frames.py ----------------------------------------------------------------------


def test_send_frames_writes_length_prefixed_utf8(fifo):
    with start_peer("send_frames.py", fifo, "Hello", "你好", "") as sender:
        fd = os.open(fifo, os.O_RDONLY)
        data = b"".join(iter(lambda: os.read(fd, 100), b""))
        os.close(fd)
        out, _ = sender.communicate(timeout=10)
    hello = "你好".encode()
    assert data == struct.pack("!I", 5) + b"Hello" + struct.pack("!I", len(hello)) + hello + struct.pack(
        "!I", 0
    )
    assert out.endswith("sent 3 messages, 23 bytes, in 1 writes\n")


def test_send_frames_refuses_a_regular_file_and_leaves_it(tmp_path):
    victim = tmp_path / "notes.txt"
    victim.write_text("keep me")
    with start_peer("send_frames.py", victim, "overwrite?") as peer:
        out, err = peer.communicate(timeout=10)
    assert (
        peer.returncode == 1
        and err.strip() == f"sender pid [{peer.pid}]: 'notes.txt' is not a FIFO; leaving it alone"
    )
    assert victim.read_text() == "keep me"


def test_send_frames_explains_a_reader_that_leaves(fifo):
    with start_peer("send_frames.py", fifo, "a" * 100, "--piece", 10, "--pause", 0.2) as sender:
        fd = os.open(fifo, os.O_RDONLY)
        assert os.read(fd, 100)  # the first piece
        os.close(fd)  # gone before the next one
        out, err = sender.communicate(timeout=10)
    assert sender.returncode == 1 and err.strip().endswith(
        "the reader has gone (BrokenPipeError); nothing more can be written"
    )


def test_send_frames_ends_itself(fifo):
    """A sender nobody meets is gone when its alarm rings (60 s; shortened to 1 s here)."""
    code = (
        "import runpy, signal, sys; real = signal.alarm; signal.alarm = lambda s: real(1); "
        f"sys.argv = ['send_frames.py', {os.fspath(fifo)!r}, 'x']; "
        f"runpy.run_path({os.fspath(SCRIPTS / 'send_frames.py')!r})"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
    try:
        assert child.wait(timeout=10) == -signal.SIGALRM
    finally:
        child.kill()
        child.wait()


# --- the chapter's pictures ----------------------------------------------------------------------


def test_chunks_and_frames_are_pngs_with_their_text_alternative():
    for image, alt in [
        (draw.chunks({"writes": [b"ab", b"cd"], "reads": [b"abc", b"d"]}, alt="two rows"), "two rows"),
        (draw.frames(struct.pack("!I", 5) + b"Hello" + struct.pack("!I", 0), alt="frames"), "frames"),
        (draw.frames(struct.pack("!I", 1000) + bytes(20), alt="cut"), "cut"),  # a cut stream is drawn too
    ]:
        assert image.data.startswith(b"\x89PNG")
        assert image._repr_mimebundle_()[1] == {"image/png": {"alt": alt}}
