"""Shared test setup for the unit tests and the nbval notebook run.

- Every run gets its own temporary directory (TMPDIR), inherited by notebook
  kernels and their children, so two runs at once never meet, and whatever a
  run leaves behind can be found and reported (see ``pytest_sessionfinish``).
- Notebook kernels start without PYTEST_CURRENT_TEST, so that output written
  straight to file descriptors 1 and 2 reaches the cell as it does in
  JupyterLab (ipykernel turns that capture off when it sees the variable).
- Outside Linux, notebooks run in nbval's lax mode: Linux is the reference
  platform whose outputs are stored (PIPE_BUF, pipe capacity and error texts
  differ elsewhere).

Nothing left behind: after all tests and notebooks, the run fails (exit
status 1, with a "left behind" section that says what) if any of these
remain:

- anything in the run's temporary directory, such as an ``ipc-tutorial-*``
  directory or a FIFO made by ``ipc_helpers`` (pytest's own ``tmp_path``
  folders excepted);
- a FIFO in the checkout that was not there when the run started;
- a process started by the run: a child of the test process (zombies
  included) or any process that inherited this run's ``IPC_TEST_RUN`` marker
  (grandchildren whose parent died, kernels and what they started);
- a file descriptor of the test process that was not open when the run
  started (Linux and macOS, where ``/dev/fd`` lists them), except those the
  test machinery keeps on purpose (see ``harness_fds``).

Leftover processes are killed after they are reported.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A test run started in the background by a non-interactive shell (as a CI job
# may be) inherits SIGINT *ignored*, and every child would too: then Ctrl-C
# cannot interrupt anything, and the Ctrl-C tests (and nbval's interrupt of a
# cell that runs too long) could not work.  Give the run what a terminal gives.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

_RUN_TMP = Path(tempfile.mkdtemp(prefix="ipc-test-run-"))
os.environ["TMPDIR"] = str(_RUN_TMP)
tempfile.tempdir = str(_RUN_TMP)
# Inherited by every process this run starts, directly or not: how leftovers are found.
RUN_MARKER = f"IPC_TEST_RUN={_RUN_TMP.name}"
os.environ["IPC_TEST_RUN"] = _RUN_TMP.name

_FD_DIR = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"


def open_fds() -> dict[int, str]:
    """The test process's open descriptors, each with what it refers to."""
    try:
        names = os.listdir(_FD_DIR)
    except OSError:
        return {}
    fds = {}
    for name in names:
        try:
            fds[int(name)] = os.readlink(f"{_FD_DIR}/{name}")
        except OSError:  # the descriptor listdir itself used, now closed
            continue
    return fds


FONT_FILES = (".ttf", ".otf", ".ttc")


def harness_fds() -> set[int]:
    """Descriptors the test machinery keeps on purpose, not leaks of the code under test.

    jupyter_core keeps one asyncio event loop per thread for the life of the
    process (its epoll descriptor and self-pipe sockets), and nbval opens
    ``/dev/null`` for every kernel's stderr and never closes it; pytest's
    logging plugin holds ``/dev/null`` too.  matplotlib keeps each font file
    it has used open for the life of the process (its font cache).
    """
    import asyncio
    import gc

    fds = {fd for fd, what in open_fds().items() if what == os.devnull or what.endswith(FONT_FILES)}
    for obj in gc.get_objects():
        if isinstance(obj, asyncio.AbstractEventLoop) and not obj.is_closed():
            for attr in ("_selector", "_ssock", "_csock"):
                try:
                    fds.add(getattr(obj, attr).fileno())
                except (AttributeError, OSError, ValueError):
                    continue
    return fds


def repo_fifos() -> set[str]:
    """FIFOs inside the checkout (virtual environments and .git skipped)."""
    found = set()
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in ("build", "node_modules")]
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                if stat.S_ISFIFO(os.lstat(path).st_mode):
                    found.add(os.path.relpath(path, ROOT))
            except OSError:
                continue
    return found


def run_processes() -> dict[int, str]:
    """Processes started by this run and still there: pid -> short description."""
    me = os.getpid()
    found: dict[int, str] = {}
    if not os.path.isdir("/proc"):
        return found
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat_line = f.read().decode("utf-8", "replace")
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses
            comm = stat_line[stat_line.index("(") + 1 : stat_line.rindex(")")]
            state, ppid = stat_line[stat_line.rindex(")") + 2 :].split()[:2]
            child = int(ppid) == me
            marked = False
            if not child:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    marked = RUN_MARKER.encode() in f.read().split(b"\0")
        except (OSError, ValueError):  # gone, or not ours to read
            continue
        if child or marked:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
            except OSError:
                cmd = ""
            what = "zombie (exited, never reaped)" if state == "Z" else (cmd[:120] or comm)
            found[pid] = f"{'child' if child else 'descendant'} {comm!r}: {what}"
    return found


_FDS_AT_START: dict[int, str] = {}
_FIFOS_AT_START: set[str] = set()


def pytest_sessionstart(session: pytest.Session) -> None:
    # After every plugin is configured (faulthandler, capture keep descriptors open).
    global _FDS_AT_START, _FIFOS_AT_START
    _FDS_AT_START = open_fds()
    _FIFOS_AT_START = repo_fifos()


def pytest_configure(config: pytest.Config) -> None:
    config._ipc_reports = []  # type: ignore[attr-defined]  # lines for the summary (see report())
    if sys.platform != "linux" and hasattr(config.option, "nbval_lax"):
        config.option.nbval_lax = True


def report(config: pytest.Config, line: str) -> None:
    """Add a line to the "reliability" section of the terminal summary (e.g. a throughput)."""
    getattr(config, "_ipc_reports", []).append(line)


@pytest.fixture
def ipc_report(request):
    """A function that adds a line to the "reliability" section of the summary."""
    return lambda line: report(request.config, line)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    # The background runs of test_concurrency.py start now, so that they overlap
    # the rest of the run; its test, which collects their results, goes last.
    late = [item for item in items if item.path.name == "test_concurrency.py"]
    if late:
        items[:] = [item for item in items if item not in late] + late
        config._ipc_background = late[0].module  # type: ignore[attr-defined]
        late[0].module.start_background()
    # A cell tagged "linux-only" uses what only Linux has (F_GETPIPE_SZ, /proc/sys/fs/...):
    # elsewhere it is skipped, and the chapter's prose says so.
    if sys.platform != "linux":
        for item in items:
            cell = getattr(item, "cell", None)
            if isinstance(cell, dict) and "linux-only" in cell.get("metadata", {}).get("tags", []):
                item.add_marker(pytest.mark.skip(reason="a cell tagged linux-only"))
    # Global hook: a notebook's collector is not under tests/, so the
    # path-scoped collection hooks of this conftest never see it.
    wrapped = set()
    for item in items:
        parent = item.parent
        if parent is None or item.path.suffix != ".ipynb" or id(parent) in wrapped:
            continue
        wrapped.add(id(parent))
        _start_kernel_without_pytest_marker(parent)


def _start_kernel_without_pytest_marker(collector) -> None:
    original_setup = collector.setup

    def setup() -> None:
        saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
        try:
            original_setup()
        finally:
            if saved is not None:
                os.environ["PYTEST_CURRENT_TEST"] = saved

    collector.setup = setup


def _find_leftovers() -> list[str]:
    problems = []
    # Processes may need a moment to exit after a kill, and descriptors to close.
    deadline = time.monotonic() + 3
    while True:
        procs = run_processes()
        harness = harness_fds()
        fds = {
            fd: what for fd, what in open_fds().items() if _FDS_AT_START.get(fd) != what and fd not in harness
        }
        if not procs and not fds or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    tmp = sorted(
        p.name
        for p in (_RUN_TMP.iterdir() if _RUN_TMP.exists() else [])
        if not p.name.startswith("pytest-of-")
    )
    problems += [f"temporary file or directory: $TMPDIR/{name}" for name in tmp]
    problems += [f"FIFO in the checkout: {name}" for name in sorted(repo_fifos() - _FIFOS_AT_START)]
    problems += [f"process {pid}: {what}" for pid, what in sorted(procs.items())]
    problems += [f"open file descriptor {fd} -> {what}" for fd, what in sorted(fds.items())]
    for pid in procs:  # clean up after reporting
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid in procs:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    return problems


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    background = getattr(session.config, "_ipc_background", None)
    if background is not None:  # the run stopped before their test: stop them
        background.stop_background(timeout=0)
    leftovers = _find_leftovers()
    shutil.rmtree(_RUN_TMP, ignore_errors=True)
    if leftovers:
        session.config._ipc_leftovers = leftovers  # type: ignore[attr-defined]
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    reports = getattr(config, "_ipc_reports", None)
    if reports:
        terminalreporter.section("reliability")
        for line in reports:
            terminalreporter.line(line)
    leftovers = getattr(config, "_ipc_leftovers", None)
    if leftovers:
        terminalreporter.section("left behind", red=True)
        terminalreporter.line(
            "FAILED: the run left these behind after all tests and notebooks "
            "(the exit status is 1 even if every test passed):",
            red=True,
        )
        for line in leftovers:
            terminalreporter.line(f"  - {line}", red=True)
