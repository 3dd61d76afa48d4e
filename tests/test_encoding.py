"""Unit tests for ipc_helpers.encoding: the book's fixed 22-byte read."""

from __future__ import annotations

import os
import re

import pytest

from ipc_helpers import launch_writer, make_fifo, open_fifo
from ipc_helpers.encoding import (
    BOOK_READ_SIZE,
    EXAMPLE_PIDS,
    book_message,
    bytes_waiting,
    fixed_read,
    fixed_read_report,
    show_parts,
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
