"""Compare a FIFO with the other IPC mechanisms on this machine: tables on stdout, plots in files.

The same measurements as chapter 09 (``notebooks/scripts/speed.py``), with more sizes, rounds and time:

- one-way throughput (MiB/s and messages/s) of a FIFO, an anonymous pipe, a Unix socket pair,
  TCP on 127.0.0.1, ``multiprocessing.Queue`` and shared memory (a ring of slots and two
  semaphores), for message sizes from 64 B to 1 MiB; ``dd`` to ``dd`` and ``dd`` to ``cat``
  through a FIFO as the kernel path without Python;
- round-trip time (median and 99th percentile) for each mechanism;
- both placements: writer and reader pinned to one CPU, and to two different CPUs.

Every figure is the median of ``--rounds`` rounds; each round measures every mechanism in turn,
so a disturbance on the machine spreads over all of them.  On one CPU the tables also give the
throughput by CPU time (the bytes divided by the CPU time the two processes used), which a busy
machine disturbs much less than the wall clock.

Usage:  .venv/bin/python benchmarks/ipc_compare.py [--quick] [--out DIR] [--rounds N] [--seconds S]
Writes  DIR/throughput-one-cpu.png, throughput-two-cpus, round-trips, placement, python-vs-dd
        (each .png and .svg), results.md (the tables) and results.json (every round).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ipc_helpers import draw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "notebooks"))  # as chapter 09 imports it, from its own folder
from scripts import speed  # noqa: E402

MIB = 2**20


def dd_to_cat(cpus: tuple, mib: int) -> float:
    """MiB/s from ``dd bs=64K`` through a FIFO to ``cat``, pinned with taskset."""
    tmp = tempfile.mkdtemp(prefix="ipc-tutorial-")
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo, 0o600)
    try:
        with subprocess.Popen(["taskset", "-c", str(cpus[1]), "cat", fifo], stdout=subprocess.DEVNULL) as cat:
            start = time.perf_counter()
            dd = ["dd", "if=/dev/zero", f"of={fifo}", "bs=64K", f"count={16 * mib}", "status=none"]
            subprocess.run(["taskset", "-c", str(cpus[0]), *dd], check=True, timeout=120)
            cat.wait(timeout=120)
            return mib / (time.perf_counter() - start)
    finally:
        shutil.rmtree(tmp)


def table(title: str, rows: dict, sizes: list, unit: str, fmt: str = "{:,.1f}") -> str:
    """A Markdown table: one row per name, one column per size."""
    lines = [f"**{title}** ({unit})", "", "| | " + " | ".join(draw.size_label(s) for s in sizes) + " |"]
    lines.append("|---|" + "---:|" * len(sizes))
    for name, by_size in rows.items():
        lines.append(f"| {name} | " + " | ".join(fmt.format(by_size[s]) for s in sizes) + " |")
    return "\n".join(lines)


def save(fig, out: Path, name: str, formats: list[str]) -> None:
    for fmt in formats:
        fig.savefig(out / f"{name}.{fmt}", metadata={"Software": None} if fmt == "png" else None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes, rounds and seconds (about 20 s)")
    parser.add_argument("--rounds", type=int, help="rounds per figure (default 5, quick 3)")
    parser.add_argument("--seconds", type=float, help="seconds of sending per size (default 0.1, quick 0.02)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "ipc-compare", help="where the plots go")
    parser.add_argument("--formats", default="png,svg", help="image formats (default png,svg)")
    args = parser.parse_args()
    if not hasattr(os, "sched_setaffinity") or not shutil.which("taskset"):
        print("needs Linux (os.sched_setaffinity) and taskset")
        return 2
    rounds = args.rounds or (3 if args.quick else 5)
    seconds = args.seconds or (0.02 if args.quick else 0.1)
    sizes = [64, 65536, MIB] if args.quick else [64, 100, 256, 1024, 4096, 16384, 65536, 262144, MIB]
    trip_sizes = [64] if args.quick else [64, 100, 4096, 65536]
    cpus = sorted(os.sched_getaffinity(0))
    placements = {"one CPU": (cpus[0], cpus[0]), "two CPUs": (cpus[0], cpus[-1])}
    if len(cpus) == 1:
        print("only one CPU available: 'two CPUs' is the same CPU here")
    names = [*speed.MECHANISMS, "dd"]
    args.out.mkdir(parents=True, exist_ok=True)
    raw: dict = {"rounds": rounds, "seconds": seconds, "cpus": cpus, "python": sys.version.split()[0]}
    report = [
        f"# IPC comparison: Linux {os.uname().release}, {len(cpus)} CPUs, Python {raw['python']}",
        f"Medians of {rounds} rounds, {seconds:g} s of sending per size and round. "
        "Placement: writer and reader pinned with os.sched_setaffinity / taskset.",
    ]

    def step(what: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)

    results: dict = {}
    for place, where in placements.items():
        clocks = ["wall", "cpu"] if where[0] == where[1] else ["wall"]
        for clock in clocks:
            step(f"throughput, {place}, {clock} clock")
            runs = speed.measure(
                "throughput", names, sizes, rounds=rounds, cpus=where, seconds=seconds, clock=clock
            )
            results[place, clock] = {
                n: {s: statistics.median(v) for s, v in r.items()} for n, r in runs.items()
            }
            raw[f"throughput {place} {clock}"] = {
                n: {str(s): v for s, v in r.items()} for n, r in runs.items()
            }
            label = "" if clock == "wall" else ", by CPU time"
            mib_s = {n: {s: v / MIB for s, v in r.items()} for n, r in results[place, clock].items()}
            msg_s = {n: {s: v / s for s, v in r.items()} for n, r in results[place, clock].items()}
            report += ["", table(f"Throughput, {place}{label}", mib_s, sizes, "MiB/s")]
            report += [
                "",
                table(f"Messages per second, {place}{label}", msg_s, sizes, "messages/s", "{:,.0f}"),
            ]
        step(f"dd to cat, {place}")
        cat = [dd_to_cat(where, 64 if args.quick else 256) for _ in range(rounds)]
        raw[f"dd to cat {place}"] = cat
        report += [
            "",
            f"dd (bs=64K) through a FIFO to cat, {place}: {statistics.median(cat):,.0f} MiB/s (median)",
        ]

    trips: dict = {}
    for place, where in placements.items():
        step(f"round trips, {place}")
        runs = speed.measure(
            "round_trips", speed.MECHANISMS, trip_sizes, rounds=rounds, cpus=where, seconds=seconds
        )
        raw[f"round trips {place}"] = {n: {str(s): v for s, v in r.items()} for n, r in runs.items()}
        pooled = {n: {s: [t for one in v for t in one] for s, v in r.items()} for n, r in runs.items()}
        median = {n: {s: statistics.median(t) * 1e6 for s, t in r.items()} for n, r in pooled.items()}
        p99 = {
            n: {s: statistics.quantiles(t, n=100)[98] * 1e6 for s, t in r.items()} for n, r in pooled.items()
        }
        per_s = {n: {s: 1e6 / v for s, v in r.items()} for n, r in median.items()}
        trips[place] = {n: {"median": median[n][trip_sizes[0]], "p99": p99[n][trip_sizes[0]]} for n in median}
        report += ["", table(f"Round trip, median, {place}", median, trip_sizes, "µs")]
        report += ["", table(f"Round trip, 99th percentile, {place}", p99, trip_sizes, "µs")]
        report += [
            "",
            table(f"Round trips per second (1 / median), {place}", per_s, trip_sizes, "1/s", "{:,.0f}"),
        ]

    step("plots")
    formats = args.formats.split(",")
    plotted = [s for s in sizes if s & (s - 1) == 0]  # powers of two: 100 B (for ipc-bench) would crowd 64 B
    for place in placements:
        series = {n: {s: r[s] / MIB for s in plotted} for n, r in results[place, "wall"].items()}
        title = f"One-way throughput, writer and reader on {place}"
        fig = draw.lines(
            series,
            xlabel="message size",
            ylabel="MiB/s",
            title=title,
            xticklabel=draw.size_label,
            reference="dd",
        )
        save(fig, args.out, f"throughput-{place.replace(' ', '-').lower()}", formats)
    title = f"{trip_sizes[0]}-byte round trips, client and server on two CPUs"
    save(
        draw.bars(trips["two CPUs"], ylabel="µs (log scale)", title=title, log=True),
        args.out,
        "round-trips",
        formats,
    )
    big = 65536
    bars = {n: {p: results[p, "wall"][n][big] / MIB for p in placements} for n in names}
    title = "64 KiB messages: writer and reader on one CPU, or on two"
    save(draw.bars(bars, ylabel="MiB/s", title=title), args.out, "placement", formats)
    series = {
        label: {s: results["one CPU", "cpu"][n][s] / MIB for s in plotted}
        for n, label in [("FIFO", "Python to Python"), ("dd", "dd to dd")]
    }
    title = "Through a FIFO on one CPU (by CPU time): Python against dd"
    fig = draw.lines(series, xlabel="block size", ylabel="MiB/s", title=title, xticklabel=draw.size_label)
    save(fig, args.out, "python-vs-dd", formats)

    text = "\n".join(report) + "\n"
    print(text)
    (args.out / "results.md").write_text(text, encoding="utf-8")
    (args.out / "results.json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    print(f"plots, results.md and results.json in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
