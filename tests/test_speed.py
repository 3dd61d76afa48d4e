"""notebooks/scripts/speed.py (chapter 09's measurements) and the drawing helpers it uses.

Speeds depend on the machine and its load, so these tests check what holds on any machine: every
mechanism delivers, the results have the documented shape, failures explain themselves in one
line, and nothing is left behind (tests/conftest.py checks files, processes and descriptors after
the run; one test checks /dev/shm).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ipc_helpers import draw

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
sys.path.insert(0, str(NOTEBOOKS))  # chapter 09 imports it the same way, from its own folder
from scripts import speed  # noqa: E402

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (not on Windows)")

CPUS = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
ONE_CPU, TWO_CPUS = (CPUS[0], CPUS[0]), (CPUS[0], CPUS[-1])


@pytest.mark.parametrize("clock", ["wall", "cpu"])
def test_every_mechanism_and_dd_deliver_at_every_size(clock):
    names, sizes = [*speed.MECHANISMS, "dd"], [64, 65536, 1 << 20]
    runs = speed.measure("throughput", names, sizes, rounds=1, cpus=ONE_CPU, seconds=0.005, clock=clock)
    assert list(runs) == names
    for name, by_size in runs.items():
        assert list(by_size) == sizes
        for size, rates in by_size.items():
            assert len(rates) == 1 and rates[0] > 0, (name, size, rates)


def test_round_trips_are_timed_one_by_one_on_two_cpus():
    runs = speed.measure("round_trips", speed.MECHANISMS, [64, 4096], rounds=1, cpus=TWO_CPUS, seconds=0.005)
    for name, by_size in runs.items():
        for size, (times,) in by_size.items():
            # at least 30 round trips, minus the 10 that only warm the caches up
            assert len(times) >= 20 and all(0 < t < 5 for t in times), (name, size, len(times))


BIG_RESULT = """
from scripts import speed

def _client(channels, seconds, measured=speed._client):  # the real client, with a far larger result
    return [times * 300 for times in measured(channels, seconds)]

speed._client = _client
for _ in range(8):
    times = speed._run("pipe", [64], (0, 0), True, 0.005)["_client"][0]
    assert len(times) >= 20 * 300, len(times)
"""


def test_results_larger_than_a_pipe_write_arrive_whole():
    """A client's thousands of round-trip times make a result far larger than PIPE_BUF; with one
    result pipe shared by both processes, the server's report could land inside the client's and
    garble both (seen with the full benchmark as UnpicklingError).  Each process now has its own
    pipe.  The result is made large on purpose, so the test does not depend on the machine's speed."""
    check = subprocess.run(
        [sys.executable, "-c", BIG_RESULT], capture_output=True, text=True, timeout=120, cwd=NOTEBOOKS
    )
    errors = [line for line in check.stderr.splitlines() if "Error" in line]
    assert check.returncode == 0, errors[-1:] or check.stderr


def test_a_writer_that_gets_its_turn_late_still_sends_data():
    """seconds=0: the deadline has passed before the first send.  The writer must still send data
    before its last message, or the reader, which starts its clock at the first message, would wait
    for ever (seen under load with TCP and 1 MiB messages)."""
    runs = speed.measure("throughput", ["TCP", "FIFO"], [1 << 20], rounds=3, cpus=ONE_CPU, seconds=0)
    assert all(rate > 0 for by_size in runs.values() for rate in by_size[1 << 20])


def test_a_failure_in_the_measuring_process_explains_itself_in_one_line():
    with pytest.raises(RuntimeError) as info:
        speed.measure("throughput", ["carrier pigeon"], [64], rounds=1, cpus=ONE_CPU)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("measuring: ValueError: unknown mechanism 'carrier pigeon'; choose from FIFO")


def test_on_one_cpu_a_fifo_and_a_pipe_move_about_the_same_per_cpu_second():
    """Once open they are the same kernel object; chapter 09 relies on this, measured by CPU time and
    compared by the fastest round (a busy machine can slow a round down, never speed it up)."""
    runs = speed.measure("throughput", ["FIFO", "pipe"], [65536], rounds=3, cpus=ONE_CPU, clock="cpu")
    ratio = max(runs["FIFO"][65536]) / max(runs["pipe"][65536])
    assert 0.5 <= ratio <= 2, ratio


LEAK_CHECK = """
import os, sys
from scripts import speed
before = set(os.listdir("/dev/shm"))
one, two = (int(sys.argv[1]),) * 2, (int(sys.argv[1]), int(sys.argv[2]))
for name in ["shared memory", "Queue"]:
    assert all(speed.throughput(name, [64, 65536], cpus=two, seconds=0.005).values())
    assert all(speed.round_trips(name, [64], cpus=one, seconds=0.005).values())
    left = set(os.listdir("/dev/shm")) - before
    assert not left, f"{name} left {left} in /dev/shm"
"""


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="POSIX shared memory lives in /dev/shm")
def test_shared_memory_and_queues_are_removed_at_once():
    """Checked inside the process that measures, before it exits: at its exit, multiprocessing's
    resource tracker would remove a leaked segment with a warning that nobody sees."""
    check = subprocess.run(
        [sys.executable, "-c", LEAK_CHECK, str(TWO_CPUS[0]), str(TWO_CPUS[1])],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=NOTEBOOKS,
    )
    errors = [line for line in check.stderr.splitlines() if "Error" in line]
    assert check.returncode == 0, errors[-1:] or check.stderr
    assert "leaked" not in check.stderr, check.stderr


def test_size_label():
    assert [draw.size_label(s) for s in [64, 100, 1024, 4096, 65536, 1 << 20, 3 << 20]] == [
        "64 B",
        "100 B",
        "1 KiB",
        "4 KiB",
        "64 KiB",
        "1 MiB",
        "3 MiB",
    ]


def test_lines_draws_one_line_per_series_on_log_axes():
    fig = draw.lines(
        {"FIFO": {64: 1.0, 65536: 900.0}, "pipe": {64: 1.1, 65536: 950.0}},
        xlabel="message size",
        ylabel="MiB/s",
        title="t",
        xticklabel=draw.size_label,
    )
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.get_lines()] == ["FIFO", "pipe"]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["64 B", "64 KiB"]
    fig = draw.lines({"FIFO": {64: 1.0}, "dd": {64: 2.0}}, xlabel="x", ylabel="y", title="t", reference="dd")
    fifo, dd = fig.axes[0].get_lines()
    assert (dd.get_linestyle(), dd.get_color()) == ("--", "#000000") and fifo.get_linestyle() == "-"


def test_bars_draws_a_group_per_key_and_a_colour_per_label():
    fig = draw.bars(
        {"FIFO": {"median": 20.0, "p99": 90.0}, "TCP": {"median": 50.0, "p99": 400.0}}, ylabel="µs", title="t"
    )
    (ax,) = fig.axes
    assert len(ax.containers) == 2  # median, p99
    assert [len(c) for c in ax.containers] == [2, 2]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["FIFO", "TCP"]
