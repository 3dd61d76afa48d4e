"""The exercise self-checks pass good answers and catch the typical wrong ones."""

from __future__ import annotations

import codecs
import os
import select
import stat
import threading
import time

import pytest

from ipc_helpers import open_fifo, read_all
from ipc_helpers.exercises import (
    CHECK_THREAD,
    HINTS,
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
    assert "a race" in out  # 20 rounds of 8 threads catch the check-then-create window


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

    assert check_receive(good)
    assert not check_receive(book)
    capsys.readouterr()
    assert not check_receive(no_timeout)
    assert "with no writer, receive(path, 1) did not return within" in capsys.readouterr().out
    assert not check_receive(nonblocking_trap)


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
