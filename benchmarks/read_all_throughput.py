"""How fast is read_all?  Stream 256 MiB through a FIFO three ways, side by side.

1. ``read_all(fd)`` from ipc_helpers;
2. a plain loop of 64 KiB ``os.read`` calls joined into one ``bytes`` (the
   same result type, written the obvious way);
3. ``cat FIFO > /dev/null``: the practical ceiling for moving the bytes at all.

The writer is the same separate Python process each time, sending 1 MiB
``os.write`` calls.  The pipe keeps its default capacity (nothing calls
F_SETPIPE_SZ).  Each method runs ``--rounds`` times, interleaved, and the
median is reported together with the ratios.  Run it on a quiet machine:
the spread between rounds is printed so that noise is visible.

Usage:  .venv/bin/python benchmarks/read_all_throughput.py [--mib 256] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from ipc_helpers import open_fifo, read_all, temp_fifo

WRITER = """
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
block = b"x" * (1 << 20)
for _ in range(int(sys.argv[2])):
    os.write(fd, block)
os.close(fd)
"""


def start_writer(fifo, mib: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(fifo), str(mib)])


def plain_loop(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def time_python_reader(fifo, mib: int, reader) -> float:
    writer = start_writer(fifo, mib)
    try:
        fd = open_fifo(fifo, "r", timeout=30)
        try:
            start = time.perf_counter()
            data = reader(fd)
            elapsed = time.perf_counter() - start
        finally:
            os.close(fd)
        assert len(data) == mib << 20, len(data)
        assert writer.wait(60) == 0
        return elapsed
    finally:
        writer.kill()
        writer.wait()


def time_cat(fifo, mib: int) -> float:
    writer = start_writer(fifo, mib)
    try:
        start = time.perf_counter()
        with open(os.devnull, "wb") as sink:
            subprocess.run(["cat", str(fifo)], stdout=sink, check=True, timeout=120)
        elapsed = time.perf_counter() - start
        assert writer.wait(60) == 0
        return elapsed
    finally:
        writer.kill()
        writer.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    results: dict[str, list[float]] = {"read_all": [], "plain os.read loop": [], "cat > /dev/null": []}
    runs = {
        "read_all": lambda fifo: time_python_reader(fifo, args.mib, read_all),
        "plain os.read loop": lambda fifo: time_python_reader(fifo, args.mib, plain_loop),
        "cat > /dev/null": lambda fifo: time_cat(fifo, args.mib),
    }
    names = list(runs)
    with temp_fifo() as fifo:
        for round_ in range(args.rounds):
            # Rotate the order so that no method always runs first (or right after another).
            for name in names[round_ % 3 :] + names[: round_ % 3]:
                results[name].append(runs[name](fifo))

    median = {name: statistics.median(times) for name, times in results.items()}
    print(f"{args.mib} MiB through a FIFO, median of {args.rounds} rounds (Python {sys.version.split()[0]})")
    for name, seconds in median.items():
        spread = ", ".join(f"{args.mib / t:.0f}" for t in results[name])
        print(f"  {name:<20} {args.mib / seconds:8.0f} MiB/s   (rounds: {spread})")
    ratio_loop = median["plain os.read loop"] / median["read_all"]
    ratio_cat = median["cat > /dev/null"] / median["read_all"]
    print(f"read_all / plain loop: {ratio_loop:.2f}x   (target >= 0.90x)")
    print(f"read_all / cat:        {ratio_cat:.2f}x")


if __name__ == "__main__":
    main()
