"""Unit tests for ipc_helpers.landscape (chapters 01 and 02)."""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import time
from multiprocessing import shared_memory

import pytest

from ipc_helpers import landscape, launch_writer, make_fifo, open_fifo
from ipc_helpers.landscape import (
    add_to_ledger,
    bytes_waiting,
    describe_fd,
    ledger_of_new_child,
    open_descriptors,
    send_messages,
    stop,
    write_into_shared_memory,
)

LINUX = sys.platform == "linux"
spawn = multiprocessing.get_context("spawn")


@pytest.fixture(autouse=True, scope="module")
def stop_resource_tracker():
    """Spawned children and shared memory start multiprocessing's resource tracker.

    It is a helper process that would live until pytest exits, and the run
    reports any process left behind.  Stop it after this module (a private
    API, used only here; multiprocessing starts a new one when needed).
    """
    yield
    from multiprocessing import resource_tracker

    resource_tracker._resource_tracker._stop()


# -- workers, run in spawned children ---------------------------------------


def test_child_has_its_own_ledger():
    landscape.ledger.clear()
    landscape.ledger.append("parent")
    try:
        assert ledger_of_new_child(spawn, "child", timeout=30) == ["child"]
        assert landscape.ledger == ["parent"]
    finally:
        landscape.ledger.clear()


def test_add_to_ledger_in_this_process_sends_and_closes():
    landscape.ledger.clear()
    receive, send = multiprocessing.Pipe(duplex=False)
    try:
        add_to_ledger("here", send)
        assert send.closed
        assert receive.recv() == ["here"]
        assert landscape.ledger == ["here"]
    finally:
        receive.close()
        landscape.ledger.clear()


def test_ledger_of_new_child_raises_eoferror_when_no_answer_can_come():
    class Dying:
        """A context whose Process runs a target that sends nothing."""

        Pipe = staticmethod(spawn.Pipe)

        @staticmethod
        def Process(target, args):  # noqa: N802 - mirrors the multiprocessing API
            return spawn.Process(target=os.getpid)  # exits at once, closes its copy of the pipe

    with pytest.raises(EOFError):
        ledger_of_new_child(Dying(), "x", timeout=30)


def test_write_into_shared_memory_from_a_child():
    block = shared_memory.SharedMemory(create=True, size=32)
    try:
        block.buf[:] = b"\xff" * block.size  # old content must be overwritten with zeros
        child = spawn.Process(target=write_into_shared_memory, args=(block.name, "你好"))
        child.start()
        assert stop(child, 30) == 0
        assert bytes(block.buf[:6]).decode("utf-8") == "你好"
        assert bytes(block.buf[6:]) == bytes(block.size - 6)
    finally:
        block.close()
        block.unlink()


def test_write_into_shared_memory_refuses_text_that_does_not_fit():
    block = shared_memory.SharedMemory(create=True, size=8)
    try:
        with pytest.raises(ValueError, match="do not fit"):
            write_into_shared_memory(block.name, "x" * (block.size + 1))
    finally:
        block.close()
        block.unlink()


def test_write_into_shared_memory_unknown_name():
    with pytest.raises(FileNotFoundError):
        write_into_shared_memory(f"ipc_tutorial_missing_{os.getpid()}", "x")


def test_send_messages_keeps_each_message_whole():
    q = spawn.Queue()
    child = spawn.Process(target=send_messages, args=(q, ["a", {"n": 2}, b"c"]))
    child.start()
    try:
        assert [q.get(timeout=30) for _ in range(3)] == ["a", {"n": 2}, b"c"]
        with pytest.raises(queue.Empty):
            q.get(timeout=0.2)
    finally:
        assert stop(child, 30) == 0
        q.close()
        q.join_thread()


def test_stop_kills_a_process_that_does_not_end():
    child = spawn.Process(target=time.sleep, args=(60,))
    child.start()
    started = time.monotonic()
    assert stop(child, 0.5) == -9
    assert not child.is_alive()
    assert time.monotonic() - started < 20


# -- descriptors ----------------------------------------------------------------


@pytest.mark.skipif(not LINUX, reason="/proc/self/fd is Linux-only")
def test_open_descriptors_sees_a_new_descriptor_and_its_close():
    r, w = os.pipe()
    try:
        fds = open_descriptors()
        assert {0, 1, 2, r, w} <= fds
    finally:
        os.close(r)
        os.close(w)


def test_open_descriptors_is_none_without_proc(monkeypatch):
    monkeypatch.setattr(landscape, "_FD_DIR", "/nonexistent/fd")
    assert open_descriptors() is None
    assert describe_fd(0) is None


@pytest.mark.skipif(not LINUX, reason="/proc/self/fd is Linux-only")
def test_describe_fd_pipe_file_and_fifo(tmp_path):
    r, w = os.pipe()
    try:
        assert describe_fd(r).startswith("pipe:[")
        assert describe_fd(r) == describe_fd(w)  # both ends: one pipe object
    finally:
        os.close(r)
        os.close(w)
    path = tmp_path / "file.txt"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        assert describe_fd(fd) == str(path)
    finally:
        os.close(fd)
    fifo = make_fifo(tmp_path / "f")
    with launch_writer(fifo, b"x") as writer:
        fd = open_fifo(fifo, "r", timeout=10)
        try:
            assert describe_fd(fd) == str(fifo)
        finally:
            os.close(fd)
        writer.wait(10)


def test_bytes_waiting_counts_unread_bytes_without_reading_them():
    r, w = os.pipe()
    try:
        assert bytes_waiting(r) == 0
        os.write(w, b"12345")
        assert bytes_waiting(r) == 5
        assert bytes_waiting(r) == 5  # looking does not consume
        assert os.read(r, 2) == b"12"
        assert bytes_waiting(r) == 3
    finally:
        os.close(r)
        os.close(w)
