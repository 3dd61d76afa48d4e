"""Unit tests for ipc_helpers.encoding: the book's fixed 22-byte read."""

from __future__ import annotations

import os
import re
import time

import pytest

from ipc_helpers import FifoTimeoutError, blocked_in, launch_reader, launch_writer, make_fifo, open_fifo
from ipc_helpers.encoding import (
    BOOK_READ_SIZE,
    EXAMPLE_PIDS,
    book_message,
    bytes_waiting,
    fixed_read,
    fixed_read_report,
    show_parts,
    wait_until_taken,
)

VOLATILE_PID = re.compile(r"(?i)\bpid\b[\s:=#\[]{0,3}\d{2,}")  # what the notebook hygiene test rejects


def test_book_message_is_17_bytes_plus_the_digits():
    for digits, pid in EXAMPLE_PIDS.items():
        assert len(str(pid)) == digits
        assert len(book_message(pid)) == 17 + digits
    assert book_message(61017) == b"Hello from pid [61017]"
    assert BOOK_READ_SIZE == len(book_message(61017)) == 22


def test_fixed_read_fits_five_digits_exactly():
    r = fixed_read(61017)
    assert r.received == b"Hello from pid [61017]"
    assert r.lost == b""
    assert not r.truncated


def test_fixed_read_cuts_a_seven_digit_pid():
    r = fixed_read(4194303)
    assert r.message == b"Hello from pid [4194303]"
    assert r.received == b"Hello from pid [419430"
    assert r.lost == b"3]"
    assert r.truncated


def test_fixed_read_short_message_and_other_sizes():
    assert fixed_read(1234).received == b"Hello from pid [1234]"
    assert fixed_read(4194303, 24).lost == b""
    assert fixed_read(4194303, 1).received == b"H"
    with pytest.raises(ValueError):
        fixed_read(1, 0)


def test_show_parts_separates_digits():
    assert show_parts(b"Hello from pid [61017]") == "b'Hello from pid [' + b'61017' + b']'"
    assert show_parts(b"Hello from") == "b'Hello from'"
    assert show_parts(b"") == "b''"


def test_report_never_shows_a_pid_the_way_the_hygiene_test_rejects():
    for digits in EXAMPLE_PIDS:
        for size in range(1, 33):
            assert not VOLATILE_PID.search(fixed_read_report(digits, size))


def test_report_for_the_book_case_and_a_seven_digit_pid():
    assert "nothing" in fixed_read_report(5, 22)
    report = fixed_read_report(7, 22).splitlines()
    assert report == [
        "the writer sends 24 bytes: b'Hello from pid [' + b'4194303' + b']'",
        "os.read(fd, 22) returns 22 bytes: b'Hello from pid [' + b'419430'",
        "left in the pipe and lost: 2 bytes: b'3' + b']'",
    ]
    assert "1 byte:" in fixed_read_report(6, 22)
    with pytest.raises(KeyError):
        fixed_read_report(8)


@pytest.mark.parametrize("pid", [61017, 123456, 4194303])
def test_a_real_writer_and_the_books_read_agree_with_fixed_read(tmp_path, pid):
    p = make_fifo(tmp_path / "f")
    with launch_writer(p, book_message(pid)) as w:
        fd = open_fifo(p, "r", timeout=10)
        try:
            data = os.read(fd, BOOK_READ_SIZE)
            assert w.wait(10) == 0  # the writer never notices
            left = bytes_waiting(fd)
        finally:
            os.close(fd)
    expected = fixed_read(pid)
    assert data == expected.received
    assert left == len(expected.lost)


# --- wait_until_taken: wait for the reader, not for the clock ------------------


def test_wait_until_taken_returns_once_the_reader_has_read_and_waits_again(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_reader(p) as reader:
        fd = open_fifo(p, "w", timeout=10)
        try:
            for part in [b"one;", b"two;", b"three;"]:
                os.write(fd, part)
                assert wait_until_taken(fd, reader.pid, timeout=10) == "read"
                assert bytes_waiting(fd) == 0  # the reader took every byte...
                assert blocked_in(reader.pid) == "read"  # ...and sleeps in read() for more
        finally:
            os.close(fd)
        reader.check(timeout=10)
    assert reader.reads == [b"one;", b"two;", b"three;", b""]  # so every write was a read of its own


def test_wait_until_taken_with_nothing_written_waits_for_the_reader_to_reach_read(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_reader(p) as reader:
        fd = open_fifo(p, "w", timeout=10)  # returns as soon as the reader has opened, before it reads
        try:
            assert wait_until_taken(fd, reader.pid, timeout=10) == "read"
            assert blocked_in(reader.pid) == "read"
        finally:
            os.close(fd)
        reader.check(timeout=10)


def test_wait_until_taken_says_exited_when_the_reader_read_once_and_left(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_reader(p, read_once=True, read_size=3) as reader:
        fd = open_fifo(p, "w", timeout=10)
        try:
            os.write(fd, b"Hello")  # the reader takes 3 bytes and exits: 2 stay in the pipe
            assert wait_until_taken(fd, reader.pid, timeout=10) == "exited"
            with pytest.raises(BrokenPipeError):
                os.write(fd, b"more")
        finally:
            os.close(fd)
        reader.check(timeout=10)
    assert reader.reads == [b"Hel"]


def test_wait_until_taken_times_out_when_the_reader_does_not_read(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_reader(p, delay_before_read=30) as reader:  # opens, then sleeps: never reads in time
        fd = open_fifo(p, "w", timeout=10)
        try:
            os.write(fd, b"unread")
            start = time.monotonic()
            with pytest.raises(FifoTimeoutError, match="did not take the bytes"):
                wait_until_taken(fd, reader.pid, timeout=0.2)
            assert time.monotonic() - start < 5
            assert bytes_waiting(fd) == 6
        finally:
            os.close(fd)


def test_wait_until_taken_times_out_when_the_reader_never_reads_again(tmp_path):
    p = make_fifo(tmp_path / "f")
    with launch_reader(p, read_once=True, hold_open=30) as reader:  # reads once, then sleeps holding it open
        fd = open_fifo(p, "w", timeout=10)
        try:
            os.write(fd, b"x")
            reader.wait_for_event("read", timeout=10)  # it took the byte...
            with pytest.raises(FifoTimeoutError, match=r"did not wait in read\(\) again"):
                wait_until_taken(fd, reader.pid, timeout=0.3)  # ...but it never reads again
            assert bytes_waiting(fd) == 0
        finally:
            os.close(fd)
