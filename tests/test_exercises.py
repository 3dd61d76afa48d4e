"""The exercise self-checks pass good answers and catch the typical wrong ones."""

from __future__ import annotations

import codecs
import os
import select
import stat
import sys
import threading
import time

import pytest

from ipc_helpers import make_fifo, open_fifo, read_all
from ipc_helpers.exercises import (
    CHECK_THREAD,
    HINTS,
    NO_WRITER_TIMEOUT,
    check_decode_chunks,
    check_ensure_fifo,
    check_eof_prediction,
    check_is_fifo,
    check_nonblocking_predictions,
    check_pipe_buf_prediction,
    check_read_lines,
    check_receive,
    check_sticky_hup_prediction,
    hint,
)


def test_is_fifo(capsys):
    def good(path):
        try:
            return stat.S_ISFIFO(os.lstat(path).st_mode)
        except FileNotFoundError:
            return False

    def follows_links(path):
        return os.path.exists(path) and stat.S_ISFIFO(os.stat(path).st_mode)

    assert check_is_fifo(good)
    assert not check_is_fifo(follows_links)
    assert "link-to-fifo: returned True" in capsys.readouterr().out
    assert not check_is_fifo(lambda p: stat.S_ISFIFO(os.lstat(p).st_mode))  # crashes on "missing"

    def opens_it(path):  # opening a FIFO to look at it waits for a writer
        with open(path, "rb"):
            return True

    assert not check_is_fifo(opens_it)  # returns instead of hanging
    assert "did not return within" in capsys.readouterr().out
    time.sleep(0.2)
    assert not [t for t in threading.enumerate() if t.name == CHECK_THREAD]  # the stuck open was released


def test_ensure_fifo(capsys):
    def good(path, mode):
        try:
            os.mkfifo(path, mode)
        except FileExistsError:
            if not stat.S_ISFIFO(os.lstat(path).st_mode):
                raise
        else:
            os.chmod(path, mode)

    def book_style(path, mode):
        if not os.path.exists(path):
            os.mkfifo(path, mode)
            os.chmod(path, mode)

    assert check_ensure_fifo(good)
    assert not check_ensure_fifo(book_style)
    out = capsys.readouterr().out
    assert "regular file in the way was accepted" in out
    # The rival comes between the look and the mkfifo every time: no luck needed to catch it.
    assert "between your check and your os.mkfifo, and your function raised FileExistsError" in out

    def via_make_fifo(path, mode):  # os.mkfifo one level deeper: the rival still comes, and is handled
        make_fifo(path, mode)

    assert check_ensure_fifo(via_make_fifo)


def test_ensure_fifo_race_is_caught_every_time(capsys):
    def racy(path, mode):  # looks first, then creates: the book's race, with lstat instead of exists
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            os.mkfifo(path, mode)
            os.chmod(path, mode)
            return
        if not stat.S_ISFIFO(st.st_mode):
            raise FileExistsError(path)

    for _ in range(5):  # not once in a while: every time
        assert not check_ensure_fifo(racy)
        assert "That is the race of chapter 03" in capsys.readouterr().out
    assert sys.getprofile() is None  # the rival's hook stays in the check's own thread


def test_nonblocking_predictions():
    assert check_nonblocking_predictions(True, "ENXIO", b"")
    assert not check_nonblocking_predictions(False, "ENXIO", b"")
    assert not check_nonblocking_predictions(True, "ENOENT", b"")


def test_decode_chunks():
    def good(chunks):
        decoder = codecs.getincrementaldecoder("utf-8")()
        return "".join(decoder.decode(c) for c in chunks) + decoder.decode(b"", final=True)

    assert check_decode_chunks(good)
    assert not check_decode_chunks(lambda chunks: "".join(c.decode() for c in chunks))
    assert not check_decode_chunks(lambda chunks: "".join(c.decode(errors="replace") for c in chunks))


def _good_read_lines(fd):
    messages, buffer = [], bytearray()
    while chunk := os.read(fd, 65536):
        buffer += chunk
        *complete, rest = buffer.split(b"\n")
        messages.extend(bytes(line) for line in complete)
        buffer = bytearray(rest)
    if buffer:
        raise EOFError("cut short")
    return messages


def test_read_lines_sends_each_piece_in_a_read_of_its_own():
    reads: list[list[int]] = []  # per case, the size of each os.read

    def recording(fd):
        sizes = []
        reads.append(sizes)
        buffer = bytearray()
        while chunk := os.read(fd, 65536):
            sizes.append(len(chunk))
            buffer += chunk
        *complete, rest = buffer.split(b"\n")
        if rest:
            raise EOFError("cut short")
        return [bytes(line) for line in complete]

    assert check_read_lines(recording)
    # Exactly the parts each writer was given: no two pieces merged into one read, none split.
    assert reads == [[2, 6, 6], [5], [], [30000, 40017], [1, 5, 14], [9, 7]]


@pytest.mark.timeout(120)
def test_read_lines(capsys):
    assert check_read_lines(_good_read_lines)

    def one_read_per_message(fd):  # assumes one read = one message
        return [chunk.rstrip(b"\n") for chunk in iter(lambda: os.read(fd, 65536), b"")]

    assert not check_read_lines(one_read_per_message)

    stop = threading.Event()
    stolen = []

    def never_stops(fd):  # treats b'' as "no data yet" (until the test ends)
        while not stop.is_set():
            try:
                stolen.append(os.read(fd, 10))
            except OSError:
                pass

    try:
        assert not check_read_lines(never_stops, timeout=1)
        assert "did not return within" in capsys.readouterr().out
        # The stray thread must not read what later checks send through new descriptors.
        assert check_read_lines(_good_read_lines)
        stolen.clear()
        time.sleep(0.2)
        assert set(stolen) <= {b""}
    finally:
        stop.set()
        for t in threading.enumerate():
            if t.name.startswith("self-check"):
                t.join(10)


@pytest.mark.timeout(120)
def test_receive(capsys):
    def good(path, timeout):
        fd = open_fifo(path, "r", timeout=timeout)
        try:
            return read_all(fd, timeout=timeout).decode()
        finally:
            os.close(fd)

    def book(path, timeout):
        fd = open_fifo(path, "r", timeout=timeout)
        try:
            return os.read(fd, 22).decode()
        finally:
            os.close(fd)

    def no_timeout(path, timeout):  # a plain blocking open: waits for ever without a writer
        fd = os.open(path, os.O_RDONLY)
        try:
            return read_all(fd).decode()
        finally:
            os.close(fd)

    def nonblocking_trap(path, timeout):  # never waits, so it reads b'' before the writer comes
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            return os.read(fd, 1 << 20).decode()
        finally:
            os.close(fd)

    timeouts = []

    def spy(path, timeout):
        timeouts.append(timeout)
        return good(path, timeout)

    assert check_receive(spy)
    assert timeouts == [NO_WRITER_TIMEOUT, 10, 10, 10, 10]  # the case with no writer comes first
    assert not check_receive(book)
    assert "received 'Hello from pid [419430'" in capsys.readouterr().out  # 22 bytes
    assert not check_receive(no_timeout)
    out = capsys.readouterr().out
    assert f"with no writer, receive(path, {NO_WRITER_TIMEOUT:g}) did not return within" in out
    assert "All" not in out and "4 case(s) passed" in out  # with a writer, a plain open() works
    assert not check_receive(nonblocking_trap)
    assert "the b'' trap of chapter 04" in capsys.readouterr().out
    assert not [t for t in threading.enumerate() if t.name == CHECK_THREAD]


def test_predictions():
    assert check_pipe_buf_prediction(select.PIPE_BUF, 0)
    assert not check_pipe_buf_prediction(65536, 0)
    assert check_sticky_hup_prediction("POLLHUP", 3)
    assert not check_sticky_hup_prediction("POLLHUP", 1)
    assert check_eof_prediction(b"hello", b"")
    assert not check_eof_prediction(b"hello", b"hello")


def test_every_hint_prints(capsys):
    for name in HINTS:
        hint(name)
    assert capsys.readouterr().out.count("Hint (") == len(HINTS)
