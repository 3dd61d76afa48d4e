"""Unit tests for ipc_helpers.framing: length-prefixed and newline-delimited messages."""

from __future__ import annotations

import os
import threading

import pytest

from ipc_helpers import TruncatedMessageError, launch_writer, make_fifo, open_fifo
from ipc_helpers.encoding import wait_until_taken
from ipc_helpers.framing import (
    HEADER,
    LineSplitter,
    UnterminatedLineError,
    encode_line,
    frame,
    read_exactly,
    recv_frame,
    recv_lines,
    send_frame,
    send_line,
    split_frames,
)


@pytest.fixture
def pipe():
    r, w = os.pipe()
    fds = {"r": r, "w": w}
    yield fds
    for fd in fds.values():
        if fd is not None:
            os.close(fd)


def close_writer(fds):
    os.close(fds["w"])
    fds["w"] = None


# --- length prefix -----------------------------------------------------------


def test_frame_is_big_endian_length_then_payload():
    assert frame(b"Hello") == b"\x00\x00\x00\x05Hello"
    assert frame(b"") == b"\x00\x00\x00\x00"
    assert HEADER.size == 4


def test_send_and_recv_frames_round_trip_any_bytes(pipe):
    messages = [b"Hello", "你好，命名管道".encode(), b"line 1\nline 2\n", b"", bytes(range(256))]
    for m in messages:
        send_frame(pipe["w"], m)
    close_writer(pipe)
    got = []
    while (m := recv_frame(pipe["r"])) is not None:
        got.append(m)
    assert got == messages


def test_recv_frame_loops_over_short_reads(tmp_path):
    data = frame(b"abcdefghij") + frame(b"xyz")
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, data, parts=[1, 2, 5, len(data) - 8], wait_until_read=True) as w:
        fd = open_fifo(p, "r", timeout=10)
        try:
            assert recv_frame(fd) == b"abcdefghij"
            assert recv_frame(fd) == b"xyz"
            assert recv_frame(fd) is None
        finally:
            os.close(fd)
        assert w.wait(10) == 0


def test_recv_frame_raises_on_cut_payload(pipe):
    os.write(pipe["w"], frame(bytes(1000))[:24])
    close_writer(pipe)
    with pytest.raises(TruncatedMessageError) as info:
        recv_frame(pipe["r"])
    assert (info.value.expected, info.value.received) == (1000, 20)
    assert info.value.partial == bytes(20)
    assert isinstance(info.value, EOFError)


def test_recv_frame_raises_on_cut_header(pipe):
    os.write(pipe["w"], b"\x00\x00")
    close_writer(pipe)
    with pytest.raises(TruncatedMessageError) as info:
        recv_frame(pipe["r"])
    assert (info.value.expected, info.value.received) == (4, 2)


def test_read_exactly_returns_short_only_at_eof(pipe):
    os.write(pipe["w"], b"abc")
    assert read_exactly(pipe["r"], 2) == b"ab"
    close_writer(pipe)
    assert read_exactly(pipe["r"], 5) == b"c"
    assert read_exactly(pipe["r"], 5) == b""


def test_split_frames():
    assert split_frames(frame(b"a") + frame(b"") + frame(b"bc")) == [b"a", b"", b"bc"]
    assert split_frames(b"") == []
    with pytest.raises(TruncatedMessageError):
        split_frames(frame(b"abc")[:-1])
    with pytest.raises(TruncatedMessageError):
        split_frames(frame(b"a") + b"\x00")


# --- newline delimiter ---------------------------------------------------------


def test_encode_line_adds_newline_and_encodes_utf8():
    assert encode_line("你好") == "你好\n".encode()
    assert encode_line(b"raw") == b"raw\n"
    assert encode_line("") == b"\n"


def test_encode_line_refuses_a_newline_inside():
    with pytest.raises(ValueError, match="newline"):
        encode_line("two\nlines")
    with pytest.raises(ValueError):
        encode_line(b"a\nb")


def test_line_splitter_reassembles_lines_cut_anywhere():
    data = b"".join(encode_line(m) for m in ["你好，命名管道", "second", "", "third"])
    for size in [1, 2, 3, 5, 7, 100]:
        splitter = LineSplitter()
        lines = []
        for i in range(0, len(data), size):
            lines += splitter.feed(data[i : i + size])
        splitter.finish()
        assert [line.decode() for line in lines] == ["你好，命名管道", "second", "", "third"]
        assert splitter.pending == b""


def test_line_splitter_finish_raises_on_unterminated_line():
    splitter = LineSplitter()
    assert splitter.feed(b"complete\npartial") == [b"complete"]
    assert splitter.pending == b"partial"
    with pytest.raises(TruncatedMessageError) as info:
        splitter.finish()
    assert isinstance(info.value, UnterminatedLineError)
    assert info.value.partial == b"partial"
    assert info.value.received == 7
    assert info.value.expected is None
    assert "7 bytes" in str(info.value)


def test_send_line_and_recv_lines_through_a_pipe(pipe):
    for m in ["one", "二", "three"]:
        send_line(pipe["w"], m)
    close_writer(pipe)
    assert list(recv_lines(pipe["r"], read_size=2)) == [b"one", "二".encode(), b"three"]


def test_recv_lines_raises_after_the_complete_lines(pipe):
    os.write(pipe["w"], b"a\nb\ncut")
    close_writer(pipe)
    got = []
    with pytest.raises(UnterminatedLineError):
        for line in recv_lines(pipe["r"]):
            got.append(line)
    assert got == [b"a", b"b"]


def test_recv_lines_through_a_fifo_with_writes_cut_mid_line(tmp_path):
    data = b"".join(encode_line(m) for m in ["你好，命名管道", "second message", "third"])
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, data, parts=[5, 9, len(data) - 14], wait_until_read=True) as w:
        fd = open_fifo(p, "r", timeout=10)
        try:
            lines = [line.decode() for line in recv_lines(fd, read_size=8)]
        finally:
            os.close(fd)
        assert w.wait(10) == 0
    assert lines == ["你好，命名管道", "second message", "third"]


def test_recv_lines_blocks_while_a_writer_is_open(pipe):
    got: list[bytes] = []
    t = threading.Thread(target=lambda: got.extend(recv_lines(pipe["r"])), daemon=True)
    t.start()
    send_line(pipe["w"], "first")
    # The thread took the line and sleeps in read() again (Linux names where: /proc/TID/wchan).
    assert wait_until_taken(pipe["w"], t.native_id, timeout=10) == "read"
    assert t.is_alive()  # still waiting: the writer has not closed
    assert got == [b"first"]
    close_writer(pipe)
    t.join(10)
    assert not t.is_alive()
    assert got == [b"first"]
