"""A class at once: --hub-load students run chapters 04-08 in their own servers at the same time.

All cells must pass as nbval would judge them; after the chapters each kernel
sends messages between the book's two programs many times (and one large one
of its own) and checks that each reader got exactly its own writer's bytes;
nothing may be left behind.  Reports, per student, the wall time and the peak
memory of everything the student ran (server, kernels, the programs they
started): the numbers an instructor needs to size a server.
"""

from __future__ import annotations

import statistics
import time

import hubkit
import pytest
import remote

CHAPTERS = ("04", "05", "06", "07", "08")

# Runs in each student's kernel after chapter 08 (working directory: the learner copies).
CROSS_TALK = r"""
import os, shutil, subprocess, sys, tempfile

me = os.environ.get("JUPYTERHUB_USER", "?")
folder = tempfile.mkdtemp(prefix="ipc-tutorial-")       # private (0700), in /tmp
fifo = os.path.join(folder, "my_pipe")
try:
    for _ in range(__PAIRS__):                           # the book's programs, writer first
        writer = subprocess.Popen([sys.executable, "scripts/write_to_named_pipe.py", fifo])
        reader = subprocess.run([sys.executable, "scripts/read_from_named_pipe.py", fifo],
                                capture_output=True, text=True, timeout=120)
        assert writer.wait(120) == 0 and reader.returncode == 0, reader.stderr
        got = reader.stdout.rstrip("\n")
        assert got.endswith(f"received a message => Hello from pid [{writer.pid}]"), got
    message = (me + "|").encode() * 40_000               # larger than a pipe's 64 KiB
    code = "import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY); os.write(fd, sys.stdin.buffer.read())"
    writer = subprocess.Popen([sys.executable, "-c", code, fifo], stdin=subprocess.PIPE)
    fd = os.open(fifo, os.O_RDONLY)
    writer.stdin.write(message)
    writer.stdin.close()
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    assert writer.wait(120) == 0
    assert b"".join(chunks) == message, "a reader got bytes that were not its writer's"
finally:
    shutil.rmtree(folder)
print(f"{me}: __PAIRS__ messages and {len(message)} bytes, each reader got exactly its writer's bytes")
"""
PAIRS = 20


def test_a_class_runs_chapters_04_to_08_at_once(classroom, ipc_report):
    if classroom.load == 0:
        pytest.skip("no load test: give --hub-load N (make test-hub LOAD=N)")
    students = classroom.students[: classroom.load]
    with hubkit.MemorySampler(students) as sampler:
        began = time.monotonic()
        classroom.start_servers(students)
        spawn = time.monotonic() - began
        time.sleep(5)  # let the servers settle
        now = hubkit.memory_now({s.uid for s in students})
        idle = {s.name: now[s.uid][1] for s in students}  # servers up, no kernel yet
        code = CROSS_TALK.replace("__PAIRS__", str(PAIRS))
        began = time.monotonic()
        results = classroom.run_chapters(students, CHAPTERS, cell_timeout=900, extra_cells=lambda s: (code,))
        wall = time.monotonic() - began
    failures = [
        f"{name} {nb.notebook} cell {cell.index}: {cell.error}"
        for name, notebooks in results.items()
        for nb in notebooks
        for cell in nb.cells
        if cell.error
    ]
    assert not failures, "\n".join(failures)
    for name, notebooks in results.items():
        said = remote.stream_text(notebooks[-1].cells[-1].outputs)
        assert said.startswith(f"{name}: {PAIRS} messages"), said
    left = {s.name: classroom.left_in_server(s) for s in students}
    assert not any(left.values()), f"left behind: {left}"

    mib = 1024 * 1024
    per_student = {name: notebooks[-1].finished - notebooks[0].started for name, notebooks in results.items()}
    pss = [s.peak_pss / mib for s in students]
    rss = [s.peak_rss / mib for s in students]
    cells = sum(len(nb.cells) for nb in next(iter(results.values())))
    ipc_report(
        f"hub load: {len(students)} students, chapters {CHAPTERS[0]}-{CHAPTERS[-1]} ({cells} cells each) "
        f"+ cross-talk check, at once, on {_cpus()} CPUs"
    )
    ipc_report(
        f"hub load: {len(students)} servers started in {spawn:.0f} s; all chapters done in {wall:.0f} s"
    )
    times = list(per_student.values())
    ipc_report(
        f"hub load: wall time per student: median {statistics.median(times):.0f} s, max {max(times):.0f} s"
    )
    ipc_report(
        f"hub load: peak memory per student (server + kernels + programs): PSS median "
        f"{statistics.median(pss):.0f} MiB, max {max(pss):.0f} MiB; "
        f"RSS median {statistics.median(rss):.0f} MiB, max {max(rss):.0f} MiB"
    )
    ipc_report(
        f"hub load: idle server alone (PSS): median {statistics.median(idle.values()) / mib:.0f} MiB; "
        f"all students together at the peak: {sampler.peak_total_pss / mib:.0f} MiB"
    )


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))
