"""How fast is read_all?  Stream data from dd through a FIFO into several readers, on one CPU and on two.

Readers compared (all return the same thing, one ``bytes`` object, except cat):

- ``read_all(fd)`` and ``read_all(fd, timeout=...)`` from ipc_helpers;
- the obvious loop: ``os.read(fd, 65536)`` appended to a ``bytearray``, then ``bytes(buf)``
  (the baseline every ratio is against);
- ``io.FileIO(fd, closefd=False).readall()`` from the standard library;
- ``cat FIFO > /dev/null``: moving the bytes without keeping them.

The writer is ``dd if=/dev/zero bs=1M``.  Where the two processes run changes the result several
times over (a FIFO between two CPUs costs wake-ups across cores and cache transfers), so every
measurement is pinned: the reader (this process, or cat) to one CPU, the writer to the same CPU or
to another one.  Each round runs every reader under both placements, in a new order; the
ratios are taken within a round (against the loop's time in that round) and the medians of the
rounds are printed, with every round's figure, so noise from other work on the machine is visible.
"CPU vs loop" compares the reader's own CPU time (time.process_time) instead, which a busy machine
disturbs far less than the wall clock; the target is on the wall clock.

Usage:  .venv/bin/python benchmarks/read_all_throughput.py [--mib 256] [--rounds 5] [--check]
        --check exits with status 1 if read_all (either form) is below 0.9x the loop anywhere.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from ipc_helpers import read_all

TARGET = 0.9


def bytearray_loop(fd: int) -> bytes:
    buf = bytearray()
    while chunk := os.read(fd, 65536):
        buf += chunk
    return bytes(buf)


def fileio_readall(fd: int) -> bytes:
    return io.FileIO(fd, closefd=False).readall()


READERS = {
    "read_all": read_all,
    "read_all(timeout=)": lambda fd: read_all(fd, timeout=600),
    "bytearray loop": bytearray_loop,
    "FileIO.readall": fileio_readall,
    "cat > /dev/null": None,  # a separate process, see run_once
}
BASELINE = "bytearray loop"


def start_pinned(command: list[str], cpu: int, **kwargs) -> subprocess.Popen:
    """Start ``command`` on ``cpu`` only: a child inherits its parent's CPU affinity at fork."""
    mine = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        return subprocess.Popen(command, **kwargs)
    finally:
        os.sched_setaffinity(0, mine)


def run_once(fifo: str, reader: str, mib: int, reader_cpu: int, writer_cpu: int) -> tuple[float, float]:
    """Seconds to move ``mib`` MiB from dd (on writer_cpu) to ``reader`` (on reader_cpu), and the
    CPU seconds the reader used for it (NaN for cat, a separate process)."""
    dd = ["dd", "if=/dev/zero", f"of={fifo}", "bs=1M", f"count={mib}", "status=none"]
    writer = start_pinned(dd, writer_cpu)
    try:
        if READERS[reader] is None:
            start = time.perf_counter()
            cat = start_pinned(["cat", fifo], reader_cpu, stdout=subprocess.DEVNULL)
            if cat.wait(timeout=300) != 0:
                raise RuntimeError("cat failed")
            elapsed, cpu = time.perf_counter() - start, math.nan
        else:
            fd = os.open(fifo, os.O_RDONLY)  # dd has been started: this open does not wait long
            try:
                start, cpu = time.perf_counter(), time.process_time()
                data = READERS[reader](fd)
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            finally:
                os.close(fd)
            if type(data) is not bytes or len(data) != mib << 20:
                raise RuntimeError(f"{reader} returned {type(data).__name__} of {len(data)} bytes")
            del data
        if writer.wait(timeout=60) != 0:
            raise RuntimeError("dd failed")
        return elapsed, cpu
    finally:
        writer.kill()
        writer.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256, help="MiB per transfer (default 256)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; medians are printed (default 5)")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if read_all < {TARGET}x the loop")
    args = parser.parse_args()
    if not hasattr(os, "sched_setaffinity") or not shutil.which("dd") or not shutil.which("cat"):
        print("needs Linux (os.sched_setaffinity), dd and cat")
        return 2

    cpus = sorted(os.sched_getaffinity(0))
    reader_cpu = cpus[0]
    placements = {"writer on the reader's CPU": cpus[0]}
    if len(cpus) > 1:
        placements["writer on another CPU"] = cpus[1]
    else:
        print("only one CPU available: the two-CPU placement is skipped")
    os.sched_setaffinity(0, {reader_cpu})

    names = list(READERS)
    seconds = {(p, r): [] for p in placements for r in names}  # per round: (wall clock, reader's CPU)
    tmp = tempfile.mkdtemp(prefix="ipc-tutorial-")
    fifo = os.path.join(tmp, "bench")
    os.mkfifo(fifo, 0o600)
    try:
        for round_ in range(args.rounds):
            for placement, writer_cpu in placements.items():
                # A new order every round: whichever reader runs right after another (cat, above all)
                # was seen to pay for it, so none may always follow the same one.
                order = random.Random(round_ * 2 + writer_cpu).sample(names, len(names))
                for reader in order:
                    seconds[placement, reader].append(
                        run_once(fifo, reader, args.mib, reader_cpu, writer_cpu)
                    )
            print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        shutil.rmtree(tmp)

    print(
        f"{args.mib} MiB from dd (bs=1M) through a FIFO, reader on CPU {reader_cpu}, "
        f"median of {args.rounds} rounds (Python {sys.version.split()[0]})"
    )
    below = []
    for placement, writer_cpu in placements.items():
        print(f"\n{placement} (CPU {writer_cpu})")
        print(
            f"  {'reader':<20} {'MiB/s':>7}  {'vs loop':>7}  {'CPU vs loop':>11}   per round: MiB/s (ratio)"
        )
        base = seconds[placement, BASELINE]
        for reader in names:
            times = [wall for wall, _ in seconds[placement, reader]]
            ratios = [b / t for (b, _), t in zip(base, times, strict=True)]
            ratio = statistics.median(ratios)
            # The reader's own CPU time per byte: what read_all controls, and what a busy machine
            # disturbs much less than the wall clock.
            cpu = statistics.median(
                b / c for (_, b), (_, c) in zip(base, seconds[placement, reader], strict=True)
            )
            rounds = ", ".join(f"{args.mib / t:.0f} ({r:.2f})" for t, r in zip(times, ratios, strict=True))
            speed = args.mib / statistics.median(times)
            cpu_text = "-" if math.isnan(cpu) else f"{cpu:.2f}x"
            print(f"  {reader:<20} {speed:7.0f}  {ratio:6.2f}x  {cpu_text:>11}   {rounds}")
            if reader.startswith("read_all") and ratio < TARGET:
                below.append(f"{reader}, {placement}: {ratio:.2f}x")
    print(f"\ntarget: read_all >= {TARGET}x the bytearray loop under both placements: ", end="")
    print("met" if not below else "NOT met (" + "; ".join(below) + ")")
    return 1 if below and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
