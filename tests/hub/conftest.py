"""Fixtures for ``make test-hub``: a classroom of real Unix students on one real JupyterHub.

The session fixture ``classroom`` sweeps away what an earlier crashed run may
have left (users ``ipcstuNN``, their processes, homes and files in /tmp, a hub
or proxy), creates the students, copies the learner notebooks into their homes,
starts the hub and the students' servers, and at the end removes all of it and
checks that nothing is left.  The same cleanup runs when a test fails, on
Ctrl-C and on SIGTERM or SIGHUP (both turned into KeyboardInterrupt).

Options (the Makefile passes them; see ``make help``):
  --hub-venv DIR         the environment the hub and the students' servers run in
  --hub-proxy FILE       configurable-http-proxy, installed locally with npm
  --hub-students N       students who run chapters 04 and 06 and the isolation tests (default 3)
  --hub-load N           students in the load test, chapters 04-08 at once (default 0: no load test)
  --hub-extra-config F   Python appended to the generated jupyterhub_config.py
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import hubkit
import pytest
import remote

NOTEBOOKS = hubkit.ROOT / "notebooks"

# What to stop, newest last; each is safe to call twice.
_STOPS: list[Callable[[], object]] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hub", "the classroom test (make test-hub)")
    group.addoption("--hub-venv", default=os.environ.get("HUB_VENV", ""), help="the hub's environment")
    group.addoption("--hub-proxy", default="", help="path of configurable-http-proxy")
    group.addoption("--hub-students", type=int, default=3, help="students in the class tests (>= 2)")
    group.addoption("--hub-load", type=int, default=0, help="students in the load test (0: skip it)")
    group.addoption("--hub-extra-config", default="", help="a file appended to jupyterhub_config.py")


def pytest_configure(config: pytest.Config) -> None:
    # CI cancels with SIGTERM, a closed terminal sends SIGHUP: make both run the cleanup.
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # After Ctrl-C pytest tears fixtures down only after the sessionfinish hooks: clean up first.
    while _STOPS:
        _STOPS.pop()()


def chapter(number: str) -> Path:
    """The reference notebook whose name starts with ``number-`` (whatever the chapter is called now)."""
    found = sorted(NOTEBOOKS.glob(f"{number}-*.ipynb"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected one notebooks/{number}-*.ipynb, found {[p.name for p in found]}")
    return found[0]


def make_learner_copies(dest: Path, python: str) -> None:
    """Learner copies by the course kit's tools/workspace.py (outputs cleared, scripts/ included)."""
    tool = hubkit.ROOT / "tools" / "workspace.py"
    done = subprocess.run(
        [python, str(tool), "--dest", str(dest)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"tools/workspace.py failed:\n{done.stdout}\n{done.stderr}")


def _socket_fds() -> set[int]:
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                found.add(int(name))
        except OSError:
            continue
    return found


class Classroom:
    """The students, the hub, and the learner copies in every student's home."""

    def __init__(self, config: pytest.Config) -> None:
        opt = config.getoption
        self.venv = Path(opt("--hub-venv")).absolute()
        self.proxy = Path(opt("--hub-proxy")).absolute()
        self.count = opt("--hub-students")
        self.load = opt("--hub-load")
        extra = opt("--hub-extra-config")
        self.extra_config = Path(extra).read_text(encoding="utf-8") if extra else ""
        self.state = self.venv.parent / "state"
        self.lock = hubkit.RunLock()
        self.students: list[hubkit.Student] = []
        self.hub: hubkit.Hub | None = None
        self.running: set[str] = set()
        self.closed = False
        self.swept: list[str] = []

    # -- setting up --------------------------------------------------------

    def check_environment(self) -> None:
        python = Path(hubkit.python_in(self.venv))
        if not python.exists():
            raise RuntimeError(f"no hub environment at {self.venv}: run the tests with make test-hub")
        real = python.resolve()
        if str(real).startswith("/root/") or str(self.venv).startswith("/root/"):
            raise RuntimeError(
                f"the hub's environment uses {real}, under /root: students cannot read it "
                "(Permission denied). Build it from a system Python, e.g. HUB_PYTHON=/usr/bin/python3"
            )
        if not os.access(self.proxy, os.X_OK):
            raise RuntimeError(f"configurable-http-proxy not found at {self.proxy}: run make test-hub")

    def open(self) -> None:
        self.check_environment()
        self.lock.acquire()
        self.swept = hubkit.sweep(self.state)
        total = max(self.count, self.load)
        names = [hubkit.student_name(i + 1) for i in range(total)]
        for name in names:
            self.students.append(hubkit.create_student(name))
        self.hub = hubkit.Hub(self.venv, self.proxy, self.state, names, self.extra_config)
        learner = self.state / "learner-copies"
        make_learner_copies(learner, hubkit.python_in(self.venv))
        for student in self.students:
            hubkit.install_workspace(student, learner)
        self.hub.start()
        for student in self.students:
            self.hub.add_user(student)
        self.start_servers(self.students[: self.count])

    def start_servers(self, students: list[hubkit.Student]) -> None:
        """Start the servers of those not running yet, all at once, and wait until all are ready."""
        todo = [s for s in students if s.name not in self.running]
        for student in todo:
            self.hub.start_server(student)
            self.running.add(student.name)
        for student in todo:
            self.hub.wait_ready(student)

    def server_pid(self, student: hubkit.Student) -> int:
        model = self.hub.api("GET", f"/hub/api/users/{student.name}")
        return model["servers"][""]["state"]["pid"]

    # -- running chapters ----------------------------------------------------

    def run_chapters(
        self,
        students: list[hubkit.Student],
        numbers: tuple[str, ...],
        *,
        cell_timeout: float,
        extra_cells: Callable[[hubkit.Student], tuple[str, ...]] | None = None,
    ) -> dict[str, list[remote.NotebookResult]]:
        """Every student runs the chapters one after the other; all students at the same time."""

        async def one(student: hubkit.Student) -> list[remote.NotebookResult]:
            results = []
            for i, number in enumerate(numbers):
                reference = chapter(number)
                extra = extra_cells(student) if extra_cells and i == len(numbers) - 1 else ()
                results.append(
                    await remote.run_notebook(
                        self.hub.url,
                        student.name,
                        student.token,
                        f"{student.workspace.name}/{reference.name}",
                        reference,
                        cell_timeout=cell_timeout,
                        extra_cells=extra,
                    )
                )
            return results

        async def everyone():
            outcomes = await asyncio.gather(*(one(s) for s in students), return_exceptions=True)
            return dict(zip((s.name for s in students), outcomes, strict=True))

        sockets_before = _socket_fds()
        try:
            outcomes = asyncio.run(everyone())
        except BaseException:  # Ctrl-C: the event loop is gone, its connections still open
            for fd in _socket_fds() - sockets_before:
                os.close(fd)
            raise
        for name, outcome in outcomes.items():
            if isinstance(outcome, BaseException):
                raise AssertionError(f"{name}: the run failed: {outcome!r}") from outcome
        return outcomes  # type: ignore[return-value]

    def left_in_server(self, student: hubkit.Student) -> list[str]:
        """What a student's chapters left behind: kernels, processes besides the server, files in /tmp."""
        problems = []
        kernels = self.hub.api("GET", f"/user/{student.name}/api/kernels", token=student.token)
        problems += [f"kernel {k['id']} still running" for k in kernels]  # type: ignore[union-attr]
        server = self.server_pid(student)
        deadline = time.monotonic() + 10  # a kernel that was just shut down may take a moment
        while True:
            others = [p for p in hubkit.processes_of({student.uid}) if p != server]
            if not others or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        problems += [f"process {p}: {hubkit.describe(p)}" for p in others]
        problems += [f"file in a shared temporary directory: {p}" for p in hubkit.files_of({student.uid})]
        return problems

    # -- tearing down --------------------------------------------------------

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.hub is not None:
                try:
                    self.hub.stop_servers([s for s in self.students if s.name in self.running])
                except Exception:  # the hub may be gone already; the sweep below ends the rest
                    pass
                self.hub.stop()
        finally:
            hubkit.sweep(self.state)
            self.lock.release()


@pytest.fixture(scope="session")
def classroom(request: pytest.FixtureRequest):
    reason = hubkit.require_root()
    if reason:
        pytest.skip(reason)
    if request.config.getoption("--hub-students") < 2:
        raise pytest.UsageError("--hub-students must be at least 2 (the isolation tests need two students)")
    room = Classroom(request.config)
    _STOPS.append(room.close)
    try:
        room.open()
        reports = getattr(request.config, "_ipc_reports", [])  # the summary's "reliability" section
        reports += [f"hub: removed, left by an earlier run: {what}" for what in room.swept]
        yield room
    finally:
        room.close()
    left = hubkit.leftovers(room.state)
    assert not left, "left behind after the hub test:\n" + "\n".join(left)


@pytest.fixture(scope="session")
def students(classroom) -> list[hubkit.Student]:
    """The class of --hub-students students, servers running."""
    return classroom.students[: classroom.count]


@pytest.fixture(scope="session")
def hub(classroom) -> hubkit.Hub:
    return classroom.hub


@pytest.fixture(scope="session")
def hub_python(classroom) -> str:
    return hubkit.python_in(classroom.venv)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"hub test: {config.getoption('--hub-students')} students, load test with "
        f"{config.getoption('--hub-load') or 'no'} students, environment {config.getoption('--hub-venv')}"
    ]
