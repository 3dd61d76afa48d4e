"""Reliability: what happens when a peer dies, when Ctrl-C arrives, and under load.

Fault injection against ``ipc_helpers`` (the happy paths and simple failures
are in test_fifo.py and test_procs.py; this file adds the nasty ones):

- a writer killed with SIGKILL in the middle of a framed message: the reader
  gets :class:`TruncatedMessageError` at once, never a silent success or a hang;
- a reader that dies: the writing side gets ``BrokenPipeError`` (or a
  :class:`PeerError` for a launched writer), and the caller lives on;
- Ctrl-C (a real SIGINT) while ``open_fifo`` or ``read_all`` waits: the
  ``KeyboardInterrupt`` reaches the caller and no descriptor, FIFO, thread or
  process is left behind;
- a launched peer that crashes: its traceback reaches the caller;
- places that cannot hold a FIFO: clear errors that name the path.

And a load test: eight writer processes, 2,000 messages each, through one FIFO.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib

import pytest
from helpers import alive
from support import PeerError, TruncatedMessageError, launch_reader, launch_writer, open_fifo
from support.framing import HEADER, frame, recv_frame, send_frame

from ipc_helpers import make_fifo

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (not on Windows)")

PIPE_BUF = getattr(select, "PIPE_BUF", 512)


def wait_readable(fd: int, timeout: float = 10) -> None:
    ready, _, _ = select.select([fd], [], [], timeout)
    assert ready, f"nothing to read within {timeout} s"


# ==========================================================================
# A writer killed with SIGKILL in the middle of a message
# ==========================================================================


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "first_part, expected, received",
    [(HEADER.size + 300, 1000, 300), (2, HEADER.size, 2), (HEADER.size, 1000, 0)],
    ids=["mid-payload", "mid-header", "after-header"],
)
def test_writer_killed_mid_message_gives_truncated_error(tmp_path, first_part, expected, received):
    p = make_fifo(tmp_path / "f")
    data = frame(b"m" * 1000)
    with launch_writer(p, data, parts=[first_part, len(data) - first_part], pause=30) as writer:
        fd = open_fifo(p, "r", timeout=10)
        try:
            wait_readable(fd)  # the first part (one atomic write) has arrived
            os.kill(writer.pid, signal.SIGKILL)
            start = time.monotonic()
            with pytest.raises(TruncatedMessageError) as info:
                recv_frame(fd)
            assert time.monotonic() - start < 5  # end of file came with the death, no hang
        finally:
            os.close(fd)
        assert writer.wait(10) == -signal.SIGKILL
        with pytest.raises(PeerError, match="exit status -9"):
            writer.check()
    assert (info.value.expected, info.value.received) == (expected, received)
    assert isinstance(info.value, EOFError)
    assert f"announced {expected} bytes" in str(info.value)


@pytest.mark.timeout(20)
def test_writer_killed_between_messages_is_a_clean_end(tmp_path):
    """The opposite case: whole messages then death is not an error, only a clean end of file."""
    p = make_fifo(tmp_path / "f")
    data = frame(b"one") + frame(b"two")
    with launch_writer(p, data, parts=[len(data), 0], pause=30) as writer:
        fd = open_fifo(p, "r", timeout=10)
        try:
            wait_readable(fd)
            os.kill(writer.pid, signal.SIGKILL)
            assert [recv_frame(fd), recv_frame(fd), recv_frame(fd)] == [b"one", b"two", None]
        finally:
            os.close(fd)


# ==========================================================================
# A reader that dies
# ==========================================================================


@pytest.mark.timeout(20)
def test_reader_dies_writer_in_this_process_gets_broken_pipe(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_reader(p, read_once=True, read_size=4096) as reader:
        fd = open_fifo(p, "w", timeout=10)
        try:
            send_frame(fd, b"first")
            assert reader.wait(10) == 0  # it read once and went away
            with pytest.raises(BrokenPipeError):
                send_frame(fd, b"second")
            with pytest.raises(BrokenPipeError):  # and again: the caller is still fine
                send_frame(fd, b"third")
        finally:
            os.close(fd)
    assert reader.received == frame(b"first")


@pytest.mark.timeout(20)
def test_reader_killed_while_writer_blocks_on_a_full_pipe(tmp_path):
    """The writer is stuck in os.write (the pipe is full); SIGKILL the reader: EPIPE, not a hang."""
    p = make_fifo(tmp_path / "f")
    with launch_reader(p, delay_before_read=30) as reader:
        fd = open_fifo(p, "w", timeout=10)
        killer = threading.Timer(0.5, os.kill, (reader.pid, signal.SIGKILL))
        killer.start()
        try:
            start = time.monotonic()
            with pytest.raises(BrokenPipeError):
                send_frame(fd, b"x" * (1024 * 1024))  # far more than a pipe holds
            assert 0.4 < time.monotonic() - start < 10
        finally:
            killer.join()
            os.close(fd)
        assert reader.wait(10) == -signal.SIGKILL


@pytest.mark.timeout(20)
def test_reader_dies_launched_writer_reports_it(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, b"z" * 200_000) as writer:
        fd = open_fifo(p, "r", timeout=10)
        wait_readable(fd)
        os.read(fd, 100)
        os.close(fd)  # the reader dies with most of the data unread
        assert writer.wait(10) == 2
    with pytest.raises(PeerError, match=r"exit status 2\): writer: the reader closed the FIFO after"):
        writer.check()
    assert "BrokenPipeError" in writer.stderr


# ==========================================================================
# Ctrl-C while waiting
# ==========================================================================

# Runs in a child process that the test interrupts with a real SIGINT, so that
# whatever the interrupt leaves behind cannot hide in the test process.
CTRL_C_CHILD = r"""
import json, os, sys, threading
sys.path.insert(0, os.environ["IPC_TESTS_DIR"])  # the test machinery in tests/support
from support import launch_writer, open_fifo, temp_fifo
from ipc_helpers import read_all

what, timeout = sys.argv[1], (None if sys.argv[2] == "none" else float(sys.argv[2]))

def fds():
    return sorted(os.listdir("/proc/self/fd"))

report, peers = {}, []
fds_before = fds()
try:
    with temp_fifo() as fifo:
        report["dir"] = str(fifo.parent)
        if what in ("open-r", "open-w"):
            print("ready", flush=True)
            fd = open_fifo(fifo, what[-1], timeout=timeout)
            os.close(fd)
        else:  # read_all: a writer that sends a little, then nothing for a long time
            with launch_writer(fifo, b"abc" + b"d" * 5, parts=[3, 5], pause=50) as writer:
                report["writer"] = writer.pid
                peers.append(writer)
                fd = open_fifo(fifo, "r", timeout=10)
                try:
                    print("ready", flush=True)
                    read_all(fd, timeout=timeout)
                finally:
                    os.close(fd)
except KeyboardInterrupt:
    report["interrupted"] = True
report["writer_returncode"] = [peer.returncode for peer in peers]
report["fds_same"] = fds() == fds_before
report["threads"] = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
report["dir_exists"] = os.path.exists(report.get("dir", "/nonexistent"))
print(json.dumps(report), flush=True)
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors in /proc")
@pytest.mark.timeout(30)
@pytest.mark.parametrize("timeout", ["none", "20"], ids=["no-timeout", "timeout"])
@pytest.mark.parametrize("what", ["open-r", "open-w", "read_all"])
def test_ctrl_c_while_waiting_leaves_nothing_behind(what, timeout):
    child = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_CHILD, what, timeout],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline() == "ready\n", child.stderr.read()
        time.sleep(0.3)  # let it settle into the wait
        start = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=15)
        assert time.monotonic() - start < 5, "Ctrl-C took too long to take effect"
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, err
    report = json.loads(out)
    assert report["interrupted"] is True
    assert report["fds_same"] is True, "a descriptor was left open"
    assert report["threads"] == [], "a helper thread was left running"
    assert report["dir_exists"] is False, "the FIFO's directory was left behind"
    if what == "read_all":
        assert report["writer_returncode"] == [-signal.SIGKILL]  # killed and reaped by the with block
        assert not alive(report["writer"])


# ==========================================================================
# A launched peer that crashes
# ==========================================================================


@pytest.mark.timeout(20)
@pytest.mark.parametrize("launch", [launch_writer, launch_reader], ids=["writer", "reader"])
def test_crashing_launched_peer_traceback_reaches_the_caller(tmp_path, launch):
    # A directory where the FIFO should be, with the safety check off: the
    # child's os.open (writer) or os.read (reader) raises IsADirectoryError.
    args = (tmp_path, b"data") if launch is launch_writer else (tmp_path,)
    with launch(*args, require_fifo=False) as peer:
        assert peer.wait(10) == 1
    assert "Traceback (most recent call last)" in peer.stderr
    assert "IsADirectoryError" in peer.stderr
    with pytest.raises(PeerError) as info:
        peer.check()
    assert "IsADirectoryError" in str(info.value)  # the last line of stderr is in the message
    assert info.value.returncode == 1 and info.value.stderr == peer.stderr


# ==========================================================================
# Places that cannot hold a FIFO
# ==========================================================================


def test_make_fifo_under_a_regular_file_names_the_path(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("x")
    with pytest.raises(NotADirectoryError) as info:
        make_fifo(f / "f")
    assert info.value.filename == str(f / "f")
    assert f.read_text() == "x"


@pytest.mark.parametrize("mode", ["r", "w"])
def test_open_fifo_in_a_missing_directory(tmp_path, mode):
    with pytest.raises(FileNotFoundError):
        open_fifo(tmp_path / "gone" / "f", mode, timeout=1)
    assert not (tmp_path / "gone").exists()


NOT_WRITABLE_CHILD = r"""
import os, sys
from ipc_helpers import make_fifo
os.setgroups([])
os.setgid(65534)
os.setuid(65534)  # from here on an ordinary user ('nobody'): permissions apply
try:
    make_fifo(sys.argv[1])
except PermissionError as exc:
    print("PermissionError", exc)
"""


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="drops root privileges")
def test_make_fifo_in_a_directory_without_write_permission_as_an_ordinary_user():
    """As root permissions are not enforced, so run the attempt as the user 'nobody'."""
    target = "/ipc-tutorial-test-fifo"  # the root directory: readable by all, writable by root only
    out = subprocess.run(
        [sys.executable, "-c", NOT_WRITABLE_CHILD, target],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        cwd="/",
    )
    assert out.stdout.startswith("PermissionError"), out.stderr
    assert "cannot hold a FIFO" in out.stdout and target in out.stdout
    assert not os.path.lexists(target)


# ==========================================================================
# Nothing lost under load
# ==========================================================================
#
# Design.  Eight writer processes share one FIFO and one reader.  A write of
# at most PIPE_BUF bytes to a pipe is atomic: it is never split and never
# interleaved with another process's write.  Larger writes may be split and
# interleaved with other writers' data (fifo(7), pipe(7)).  So every message,
# whatever its size, travels as one or more *chunks*, each sent as one
# length-prefixed frame (``send_frame``: a single ``os.write``) of at most
# PIPE_BUF bytes.  Each chunk carries (writer id, message number, chunk index,
# chunk count, message length, BLAKE2 digest of the whole message).  Chunks of
# different writers interleave freely; the chunks of one writer arrive in the
# order it wrote them.  The reader reassembles per writer and checks: each
# frame at most PIPE_BUF bytes; chunk indices and message numbers in sequence
# (nothing lost, nothing twice); each message's length and digest (nothing
# garbled); every message of every writer present exactly once at the end.
# ``check_stream`` is fed deliberately broken streams in the test below it,
# so the checker itself is known to catch loss, duplication and garbling.
#
# The writers open the FIFO, report "opened", and start only when the test
# says "go" on their stdin: otherwise a fast writer could finish and close
# before a slow one opens, and the reader would see end of file too early.

CHUNK = struct.Struct("!BIHHI16s")  # writer, message, index, count, length, digest
CHUNK_DATA = PIPE_BUF - HEADER.size - CHUNK.size
WRITERS, MESSAGES = 8, 2000


def size_of(writer: int, number: int) -> int:
    """The size of message ``number`` of ``writer``: mostly small, some well above PIPE_BUF."""
    h = zlib.crc32(f"{writer}/{number}".encode())
    r = h % 100
    if number < 6:  # the edges, early, for every writer
        return [0, 1, CHUNK_DATA, CHUNK_DATA + 1, 4096, 2 * CHUNK_DATA + 1][number]
    if r < 70:
        return h % 200
    if r < 90:
        return 200 + h % 3900
    return 4097 + h % 40000


def payload_of(writer: int, number: int) -> bytes:
    size = size_of(writer, number)
    seed = f"{writer}/{number}/".encode()
    return (seed * (size // len(seed) + 1))[:size]


def chunks_of(writer: int, number: int, data: bytes, limit: int) -> list[bytes]:
    digest = hashlib.blake2b(data, digest_size=16).digest()
    pieces = [data[i : i + limit] for i in range(0, len(data), limit)] or [b""]
    return [
        CHUNK.pack(writer, number, i, len(pieces), len(data), digest) + piece
        for i, piece in enumerate(pieces)
    ]


WRITER_SCRIPT = (
    "import hashlib, os, signal, struct, sys, zlib\n"
    "sys.path.insert(0, os.environ['IPC_TESTS_DIR'])  # the test machinery in tests/support\n"
    "from support.framing import send_frame\n"
    f"CHUNK = struct.Struct({CHUNK.format!r})\n"
    f"CHUNK_DATA = {CHUNK_DATA}\n"
    + inspect.getsource(size_of)
    + inspect.getsource(payload_of)
    + inspect.getsource(chunks_of)
    + """
path, writer, count, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
signal.alarm(120)  # never outlive a broken test
fd = os.open(path, os.O_WRONLY)  # the reader has opened already
print("opened", flush=True)
sys.stdin.readline()  # "go"
for number in range(count):
    for chunk in chunks_of(writer, number, payload_of(writer, number), limit):
        send_frame(fd, chunk)
os.close(fd)
"""
)


def check_stream(frames, writers: int, messages: int) -> tuple[int, list[str]]:
    """Reassemble chunks from ``frames`` (an iterable of frame payloads).

    Returns (whole messages received, problems).  No problems means every
    message of every writer arrived exactly once, in order, intact.
    """
    problems: list[str] = []
    next_number = [0] * writers
    partial: dict[int, tuple[int, int, list[bytes]]] = {}  # writer -> (number, next index, pieces)
    good = 0
    try:
        for payload in frames:
            if len(payload) + HEADER.size > PIPE_BUF:
                problems.append(f"a frame of {len(payload) + HEADER.size} bytes (over PIPE_BUF)")
            if len(payload) < CHUNK.size:
                problems.append(f"a frame too short to hold a chunk header ({len(payload)} bytes)")
                continue
            w, number, index, count, length, digest = CHUNK.unpack_from(payload)
            piece = payload[CHUNK.size :]
            if w >= writers:
                problems.append(f"a chunk from unknown writer {w}")
                continue
            expected_number, expected_index, pieces = partial.get(w, (next_number[w], 0, []))
            if (number, index) != (expected_number, expected_index):
                problems.append(
                    f"writer {w}: got message {number} chunk {index}, "
                    f"expected message {expected_number} chunk {expected_index}"
                )
                partial.pop(w, None)
                next_number[w] = number + 1 if index == count - 1 else number
                if index != 0:
                    continue
                expected_number, expected_index, pieces = number, 0, []
            pieces = [*pieces, piece]
            if index + 1 < count:
                partial[w] = (number, index + 1, pieces)
                continue
            partial.pop(w, None)
            next_number[w] = number + 1
            data = b"".join(pieces)
            if len(data) != length or length != size_of(w, number):
                problems.append(
                    f"writer {w} message {number}: {len(data)} bytes, expected {size_of(w, number)}"
                )
            elif hashlib.blake2b(data, digest_size=16).digest() != digest:
                problems.append(f"writer {w} message {number}: checksum mismatch (garbled)")
            else:
                good += 1
    except TruncatedMessageError as exc:
        problems.append(f"the stream ended mid-frame: {exc}")
    for w in range(writers):
        if w in partial:
            problems.append(f"writer {w}: message {partial[w][0]} incomplete at the end")
        if next_number[w] != messages:
            problems.append(f"writer {w}: {next_number[w]} messages of {messages} arrived")
    return good, problems


def frames_from(fd: int):
    while (payload := recv_frame(fd)) is not None:
        yield payload


@pytest.mark.timeout(60)
def test_eight_writers_nothing_lost_duplicated_or_garbled(tmp_path, ipc_report):
    p = make_fifo(tmp_path / "load")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER_SCRIPT, str(p), str(w), str(MESSAGES), str(CHUNK_DATA)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for w in range(WRITERS)
    ]
    fd = None
    try:
        fd = open_fifo(p, "r", timeout=30)
        for proc in procs:  # every writer holds the FIFO open before any writes
            assert proc.stdout.readline() == b"opened\n", proc.stderr.read().decode()
        start = time.monotonic()
        for proc in procs:
            proc.stdin.write(b"go\n")
            proc.stdin.close()
        good, problems = check_stream(frames_from(fd), WRITERS, MESSAGES)
        elapsed = time.monotonic() - start
        statuses = [proc.wait(30) for proc in procs]
    finally:
        if fd is not None:
            os.close(fd)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                stream.close()
    assert statuses == [0] * WRITERS
    assert problems == []
    assert good == WRITERS * MESSAGES
    sizes = [size_of(w, n) for w in range(WRITERS) for n in range(MESSAGES)]
    over = sum(s > PIPE_BUF for s in sizes)
    ipc_report(
        f"load test: {good} messages ({over} over PIPE_BUF, {sum(sizes) / 1e6:.1f} MB) "
        f"from {WRITERS} writers in {elapsed:.2f} s = {good / elapsed:,.0f} messages/s, "
        "none lost, duplicated or garbled"
    )


def test_load_checker_catches_loss_duplication_and_garbling():
    """The checker above is only worth something if it fails on broken streams."""
    writers, messages = 2, 5

    def stream(limit=CHUNK_DATA):
        return [
            c
            for n in range(messages)
            for w in range(writers)
            for c in chunks_of(w, n, payload_of(w, n), limit)
        ]

    good_stream = stream()
    assert check_stream(good_stream, writers, messages) == (writers * messages, [])
    assert any(len(chunks_of(w, 5, payload_of(w, 5), CHUNK_DATA)) > 1 for w in range(writers))

    lost = good_stream[:3] + good_stream[4:]
    duplicated = good_stream[:4] + good_stream[3:]
    garbled = list(good_stream)
    garbled[-1] = garbled[-1][:-1] + bytes([garbled[-1][-1] ^ 1])
    truncated_msg = good_stream[:-1]
    too_big = stream(limit=PIPE_BUF)  # chunks that do not fit one atomic write
    for broken in (lost, duplicated, garbled, truncated_msg, too_big):
        good, problems = check_stream(broken, writers, messages)
        assert problems, "a broken stream passed the check"

    # Two writers' bytes interleaved inside a frame (what a write > PIPE_BUF can do).
    def through_a_pipe(frames: list[bytes]):
        data = b"".join(frames)
        r, w = os.pipe()  # the whole stream fits in the pipe's buffer
        try:
            os.write(w, data)
            os.close(w)
            return check_stream(frames_from(r), writers, messages)
        finally:
            os.close(r)

    framed = [frame(c) for c in good_stream]
    assert through_a_pipe(framed) == (writers * messages, [])
    a, b = framed[2], framed[3]
    mixed = [*framed[:2], a[:10] + b + a[10:], *framed[4:]]
    assert through_a_pipe(mixed)[1]
