"""How slow is the notebook part of ``make test``, compared with what it cannot avoid?

The floor: nbval must start (and stop) one kernel per chapter, whatever the
chapter does.  This script measures

- **floor**: ``pytest --nbval`` on N notebooks that each hold a single cell
  importing ``ipc_helpers`` (N = the number of chapters), in one session;
- **notebooks**: ``pytest --nbval`` on ``notebooks/``, exactly as ``make test``
  runs them (same flags, same conftest), warm (after one untimed run);

and prints both, their ratio (target: at most 2x), and each notebook's time
against the per-chapter floor, so the slow chapters stand out.  Both are
measured as the sum of pytest's per-test durations (kernel start and stop
included, pytest's own start-up excluded) and as wall-clock time.

This is a benchmark, not a test: run it by hand on a quiet machine.

Usage: .venv/bin/python benchmarks/suite_speed.py [--runs 1] [--no-warmup]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBVAL_FLAGS = [
    "--nbval",
    "--nbval-current-env",
    "--nbval-sanitize-with",
    str(ROOT / "tests/nbval_sanitize.cfg"),
    "--nbval-cell-timeout=60",
]
TARGET = 2.0


def empty_notebook() -> dict:
    return {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 1,
                "id": "only-cell",
                "metadata": {},
                "outputs": [],
                "source": ["import ipc_helpers"],
            }
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def run_pytest(paths: list[str], cwd: Path) -> tuple[float, dict[str, float], str]:
    """Run nbval on ``paths``; return wall time, per-notebook test time, and the summary line."""
    with tempfile.TemporaryDirectory(prefix="suite-speed-") as tmp:
        xml = Path(tmp) / "report.xml"
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
        env["TMPDIR"] = tmp
        start = time.monotonic()
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                *NBVAL_FLAGS,
                "-p",
                "no:cacheprovider",
                f"--junitxml={xml}",
                *paths,
            ],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=3600,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        wall = time.monotonic() - start
        per_notebook: dict[str, float] = defaultdict(float)
        if xml.exists():
            for case in ET.parse(xml).getroot().iter("testcase"):
                # classname: "notebooks.04-opening-and-blocking.ipynb" or "00-a.ipynb"
                name = case.get("classname", "?").removesuffix(".ipynb").rsplit(".", 1)[-1]
                per_notebook[name] += float(case.get("time", 0))
    last = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else out.stderr[-300:]
    if out.returncode != 0:
        print(f"warning: pytest exited with {out.returncode}: {last}", file=sys.stderr)
    return wall, dict(per_notebook), last


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="timed runs of each (the best is kept)")
    parser.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up run")
    args = parser.parse_args(argv)

    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    if not notebooks:
        print("no notebooks")
        return 1
    rel = [str(p.relative_to(ROOT)) for p in notebooks]

    with tempfile.TemporaryDirectory(prefix="suite-speed-floor-") as floor_dir:
        for p in notebooks:
            (Path(floor_dir) / p.name).write_text(json.dumps(empty_notebook()), encoding="utf-8")
        floor_paths = [str(Path(floor_dir) / p.name) for p in notebooks]
        if not args.no_warmup:
            print("warming up (one untimed run of each) ...", flush=True)
            run_pytest(floor_paths, Path(floor_dir))
            run_pytest(rel, ROOT)
        floors, reals = [], []
        for i in range(args.runs):
            print(f"timed run {i + 1}/{args.runs} ...", flush=True)
            floors.append(run_pytest(floor_paths, Path(floor_dir)))
            reals.append(run_pytest(rel, ROOT))

    floor = min(floors, key=lambda r: sum(r[1].values()))
    real = min(reals, key=lambda r: sum(r[1].values()))
    floor_sum, real_sum = sum(floor[1].values()), sum(real[1].values())
    per_chapter_floor = floor_sum / len(notebooks)

    print()
    print(f"{'notebook':40} {'time':>8} {'x floor':>8}")
    for name in sorted(real[1]):
        t = real[1][name]
        print(f"{name:40} {t:7.1f}s {t / per_chapter_floor:7.1f}x")
    print()
    print(
        f"floor     ({len(notebooks)} one-cell notebooks): "
        f"{floor_sum:6.1f} s in tests, {floor[0]:6.1f} s wall"
    )
    print(f"notebooks ({len(notebooks)} chapters, warm):  {real_sum:6.1f} s in tests, {real[0]:6.1f} s wall")
    print(f"  last line: {real[2]}")
    ratio = real_sum / floor_sum
    wall_ratio = real[0] / floor[0]
    verdict = "within" if ratio <= TARGET else "ABOVE"
    print(f"ratio: {ratio:.2f}x (wall clock {wall_ratio:.2f}x); target at most {TARGET:g}x: {verdict} target")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
