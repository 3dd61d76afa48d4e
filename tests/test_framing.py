"""Unit tests for support.framing: the length-prefixed messages of the load and fault tests."""

from __future__ import annotations

import os

import pytest
from support import TruncatedMessageError, launch_writer, open_fifo
from support.framing import HEADER, frame, read_exactly, recv_frame, send_frame, split_frames

from ipc_helpers import make_fifo


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
