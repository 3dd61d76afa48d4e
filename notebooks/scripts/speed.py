"""Measure how fast messages move between two processes (chapter 09, benchmarks/ipc_compare.py).

Chapter 09 imports it (``from scripts import speed``); read it to see how each mechanism is set up.

:func:`measure` starts a measuring process, which starts a writer and a reader pinned to CPUs
``cpus=(writer's, reader's)``, exchanging messages of exactly ``size`` bytes (one send, one receive;
the first byte says if more follow) for ``seconds`` per size: :func:`throughput` sends flat out,
:func:`round_trips` times each echo.  A process that fails, or is silent for ``TIMEOUT`` s, is killed.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import resource
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from multiprocessing import shared_memory
from typing import Any

MECHANISMS = ("FIFO", "pipe", "Unix socket", "TCP", "Queue", "shared memory")
TIMEOUT = 30.0


class _Fd:
    """A FIFO (by its path), or anything with a file descriptor: a pipe, a socket."""

    def __init__(self, size: int, send: Any = None, recv: Any = None) -> None:
        self.size, self.send_to, self.recv_from = size, send, recv

    def open(self) -> None:
        self.buffer, end = bytearray(self.size), self.send_to or self.recv_from
        mode = os.O_WRONLY if self.send_to else os.O_RDONLY
        self.fd = os.open(end, mode) if isinstance(end, str) else end.fileno()

    def send(self, message: bytes) -> None:
        view = memoryview(message)
        while view:  # a write can be cut short (by a signal, or a full socket buffer): send the rest
            view = view[os.write(self.fd, view) :]

    def recv(self) -> memoryview:
        view, got = memoryview(self.buffer), 0
        while got < self.size:  # a byte stream has no message boundaries: read until all is here
            count = os.readv(self.fd, [view[got:]])
            if not count:
                raise EOFError("the other process closed its end")
            got += count
        return view


class _Queue(_Fd):
    def open(self) -> None: ...  # nothing to open: the queue came with the process

    def send(self, message: bytes) -> None:
        self.send_to.put(message, timeout=TIMEOUT)

    def recv(self) -> bytes:
        return self.recv_from.get(timeout=TIMEOUT)


class _Shared(_Fd):
    """A ring of message slots in shared memory, with the synchronisation you build yourself."""

    def open(self) -> None:
        self.buffer, self.next = bytearray(self.size), 0
        self.slot = shared_memory.SharedMemory(self.send_to or self.recv_from)

    def _next(self, semaphore: Any) -> slice:  # wait for 'full' (a message) or 'empty' (a free slot)
        _take(semaphore, self.spin)  # then the slot to use: each side walks round the ring
        start, self.next = self.next * self.size, (self.next + 1) % self.slots
        return slice(start, start + self.size)

    def send(self, message: bytes) -> None:
        self.slot.buf[self._next(self.empty)] = message
        self.full.release()

    def recv(self) -> memoryview:
        self.buffer[:] = self.slot.buf[self._next(self.full)]  # the reader's own copy, as with the others
        self.empty.release()
        return memoryview(self.buffer)


def _take(semaphore: Any, spin: bool) -> None:  # with the other process on another CPU, ask a while first
    for _ in range(2000 if spin else 0):
        if semaphore.acquire(False):
            return
    if not semaphore.acquire(timeout=TIMEOUT):
        raise TimeoutError("the other process stopped answering")


def _channel(mechanism: str, size: int, ctx: Any, tmp: str, cleanup: list, spin: bool) -> tuple[Any, Any]:
    """A one-way channel for messages of ``size`` bytes: (the sending end, the receiving end)."""
    if mechanism == "FIFO":
        path = tempfile.mktemp(dir=tmp)  # a new name in our own private directory
        os.mkfifo(path, 0o600)
        return _Fd(size, send=path), _Fd(size, recv=path)
    if mechanism == "pipe":
        r, w = ctx.Pipe(duplex=False)  # os.pipe(), wrapped so that multiprocessing hands it over
        cleanup += [r.close, w.close]
        return _Fd(size, send=w), _Fd(size, recv=r)
    if mechanism in ("Unix socket", "TCP"):
        if mechanism == "Unix socket":
            a, b = socket.socketpair()
        else:
            with socket.create_server(("127.0.0.1", 0)) as server:
                a, b = socket.create_connection(server.getsockname()), server.accept()[0]
            for s in (a, b):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # send small messages at once
        cleanup += [a.close, b.close]
        return _Fd(size, send=a), _Fd(size, recv=b)  # a socket is a file descriptor too
    if mechanism == "Queue":
        queue = ctx.Queue(maxsize=max(2, 65536 // size))  # put() waits when it holds 64 KiB, as a pipe
        cleanup.append(queue.close)
        return _Queue(size, send=queue), _Queue(size, recv=queue)
    if mechanism == "shared memory":
        slots = max(2, 65536 // size)  # room for 64 KiB, as in a pipe
        ring = shared_memory.SharedMemory(create=True, size=slots * size)
        cleanup += [ring.unlink, ring.close]
        a, b = _Shared(size, send=ring.name), _Shared(size, recv=ring.name)
        a.slots, a.full, a.empty = b.slots, b.full, b.empty = slots, ctx.Semaphore(0), ctx.Semaphore(slots)
        a.spin = b.spin = spin
        return a, b
    raise ValueError(f"unknown mechanism {mechanism!r}; choose from {', '.join(MECHANISMS)}")


def _writer(channels: list, seconds: float) -> list[float]:
    cpu_seconds = []
    for out in channels:
        out.open()
        sent, message, deadline, cpu = 0, b"\1" * out.size, time.perf_counter() + seconds, time.process_time()
        while sent < 2 or time.perf_counter() < deadline:  # two at least, however late its turn comes
            out.send(message)
            sent += 1
        out.send(b"\0" * out.size)
        cpu_seconds.append(time.process_time() - cpu)
    return cpu_seconds


def _reader(channels: list) -> list[tuple[int, float, float]]:
    done = []  # per channel: bytes received, seconds on the clock, seconds of CPU time
    for into in channels:
        into.open()
        into.recv()  # the first message starts the clocks
        count, start, cpu = 0, time.perf_counter(), time.process_time()
        while into.recv()[0]:
            count += 1
        done.append((count * into.size, time.perf_counter() - start, time.process_time() - cpu))
    return done


def _client(channels: list, seconds: float) -> list[list[float]]:
    all_times = []
    for out, back in channels:
        out.open()  # the way there first, as the server does: two FIFOs open without deadlock
        back.open()
        message, times, deadline = b"\1" * out.size, [], time.perf_counter() + seconds
        while time.perf_counter() < deadline or len(times) < 30:
            start = time.perf_counter()
            out.send(message)
            back.recv()
            times.append(time.perf_counter() - start)
        out.send(b"\0" * out.size)
        all_times.append(times[10:])  # the first round trips only warm the caches up
    return all_times


def _server(channels: list) -> None:
    for into, reply in channels:
        into.open()
        reply.open()
        while (message := into.recv())[0]:
            reply.send(message)


def _child(job: Any, results: Any, cpu: int, *args: Any) -> None:
    try:
        if hasattr(os, "sched_setaffinity"):  # Linux
            os.sched_setaffinity(0, {cpu})  # this process runs on that CPU only
        results.send((job.__name__, job(*args)))
    except BaseException as exc:  # sent to the parent, which raises it
        results.send(("error", f"{job.__name__[1:]}: {type(exc).__name__}: {exc}"))


def _run(mechanism: str, sizes: list, cpus: tuple, two_way: bool, seconds: float) -> dict:
    ctx = mp.get_context("fork")  # safe in the measuring process, which has a single thread
    cleanup, processes, tmp = [], [], tempfile.mkdtemp(prefix="ipc-tutorial-")
    try:
        there = [_channel(mechanism, size, ctx, tmp, cleanup, cpus[0] != cpus[1]) for size in sizes]
        if two_way:
            back = [_channel(mechanism, size, ctx, tmp, cleanup, cpus[0] != cpus[1]) for size in sizes]
            client = [(a, d) for (a, _), (_, d) in zip(there, back, strict=True)]
            server = [(b, c) for (_, b), (c, _) in zip(there, back, strict=True)]
            jobs = [(_client, client, seconds), (_server, server)]
        else:
            jobs = [(_writer, [a for a, _ in there], seconds), (_reader, [b for _, b in there])]
        pipes = [ctx.Pipe(duplex=False) for _ in jobs]  # one each: a large result is not one atomic write
        cleanup += [end.close for pipe in pipes for end in pipe]
        for (job, *args), cpu, (_, result_end) in zip(jobs, cpus, pipes, strict=True):
            processes.append(ctx.Process(target=_child, args=(job, result_end, cpu, *args), daemon=True))
            processes[-1].start()
        got, limit = {}, TIMEOUT + seconds * len(sizes)
        for results, _ in pipes:  # each process reports when it is done
            if not results.poll(limit):
                codes = [p.exitcode for p in processes]  # None: still running
                raise TimeoutError(f"{mechanism}: no result in {limit:g} s; exit codes {codes}")
            name, value = results.recv()
            if name == "error":
                raise RuntimeError(f"{mechanism}: {value}")
            got[name] = value
        return got
    finally:
        for process in processes:
            process.kill()  # all have reported (or one failed): nothing is left to do
            process.join()
        for step in reversed(cleanup):
            step()
        shutil.rmtree(tmp)


def throughput(mechanism: str, sizes: list, *, cpus: tuple, seconds: float = 0.02, clock="wall") -> dict:
    """``{size: bytes per second}``; ``clock="cpu"``: per second of the two processes' CPU time."""
    if mechanism == "dd":  # the same FIFO between two dd processes
        return dd_fifo(sizes, cpus=cpus, seconds=seconds, clock=clock)
    got = _run(mechanism, sizes, cpus, False, seconds)
    both = zip(sizes, got["_reader"], got["_writer"], strict=True)
    return {size: n / (wall if clock == "wall" else cpu + writer) for size, (n, wall, cpu), writer in both}


def round_trips(mechanism: str, sizes: list, *, cpus: tuple, seconds: float = 0.02) -> dict:
    """``{size: [seconds, ...]}``, one per round trip: send a message, wait for its echo."""
    return dict(zip(sizes, _run(mechanism, sizes, cpus, True, seconds)["_client"], strict=True))


def dd_fifo(sizes: list, *, cpus: tuple, seconds: float = 0.02, clock: str = "wall") -> dict:
    """Like :func:`throughput`, from ``dd`` to ``dd`` through a FIFO, each pinned with ``taskset``."""
    rates, tmp = {}, tempfile.mkdtemp(prefix="ipc-tutorial-")
    fifo, env = os.path.join(tmp, "fifo"), {**os.environ, "LC_ALL": "C"}
    os.mkfifo(fifo, 0o600)
    pin = [["taskset", "-c", str(cpu)] if shutil.which("taskset") else [] for cpu in cpus]
    try:
        for size in sizes:
            count = max(8, int(seconds * min(400_000, 2e9 / size)))  # blocks for `seconds` at 2 GB/s
            reader = [*pin[1], "dd", f"if={fifo}", "of=/dev/null", f"bs={size}"]
            writer = [*pin[0], "dd", "if=/dev/zero", f"of={fifo}", f"bs={size}", f"count={count}"]
            start = resource.getrusage(resource.RUSAGE_CHILDREN)  # CPU time of our ended children
            with subprocess.Popen(reader, stderr=subprocess.PIPE, env=env) as dd:
                subprocess.run([*writer, "status=none"], check=True, timeout=TIMEOUT)
                report = dd.communicate(timeout=TIMEOUT)[1].decode()
            end = resource.getrusage(resource.RUSAGE_CHILDREN)  # now with both dd
            found = re.search(r"(\d+) bytes.*?(?:copied, |transferred in )([\d.e-]+) s", report)
            if not found:
                raise RuntimeError(f"could not read dd's report: {report!r}")
            cpu = end.ru_utime + end.ru_stime - start.ru_utime - start.ru_stime
            rates[size] = int(found[1]) / (float(found[2]) if clock == "wall" else cpu)
    finally:
        shutil.rmtree(tmp)
    return rates


def measure(what: str, names: Any, sizes: Any, *, rounds: int = 3, progress: bool = False, **kw: Any) -> dict:
    """``{name: {size: [each round's value]}}`` of ``what`` ("throughput" or "round_trips") with keywords
    ``kw``; each round measures every name in turn, so a disturbance spreads over all.  It all runs in
    a new process (``python speed.py REQUEST``) with a single thread, where ``fork`` is safe."""
    request = json.dumps(dict(what=what, names=list(names), sizes=list(sizes), rounds=rounds, kw=kw))
    steps, limit = rounds * len(names), 2 * TIMEOUT + kw.get("seconds", 0.02) * len(sizes)
    bar = None
    if progress:  # a progress bar in Jupyter
        from IPython.display import display
        from ipywidgets import IntProgress

        display(bar := IntProgress(value=0, max=steps, description="measuring"))
    command = [sys.executable, os.path.abspath(__file__), request]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0) as child:
        for _ in range(steps):  # one line per measurement, then the results
            if not select.select([child.stdout], [], [], limit)[0] or not child.stdout.readline():
                child.kill()  # silent for too long, or it ended early: its last words say why
                words = child.stderr.read().decode().splitlines() or ["no answer"]
                raise RuntimeError(f"measuring: {words[-1]}")
            if bar is not None:
                bar.value += 1
        results = json.loads(child.stdout.read())
    return {name: {int(size): v for size, v in by_size.items()} for name, by_size in results.items()}


if __name__ == "__main__":  # the measuring process started by measure()
    request = json.loads(sys.argv[1])
    what = {"throughput": throughput, "round_trips": round_trips}[request["what"]]
    names, sizes = request["names"], request["sizes"]
    results = {name: {size: [] for size in sizes} for name in names}
    for r in range(request["rounds"]):
        for name in names[r % len(names) :] + names[: r % len(names)]:  # each first once in a while
            for size, value in what(name, sizes, **request["kw"]).items():
                results[name][size].append(value)
            print("measured", name, flush=True)
    print(json.dumps(results))
