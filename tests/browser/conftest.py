"""Fixtures for the browser test: one JupyterLab server and one headless Chromium per run.

The server serves a temporary copy of notebooks/ (scripts/ included), so running
cells in the page can never change the repository's notebooks; a check at the end
proves that not even the copy was saved. Server, kernels and browser are stopped by process
id in the fixtures' teardown, which runs also when a test fails.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _jlab import (
    MISSING_CHROMIUM,
    NOTEBOOKS,
    SCREENSHOTS,
    Chromium,
    JupyterLab,
    find_chromium,
    pids_with_arg,
)


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*.ipynb"))
        if ".ipynb_checkpoints" not in p.parts
    }


# Stop functions of what this run started, newest last. Each is safe to call twice.
_STOPS: list[Callable[[], object]] = []


def _quietly(close: Callable[[], object]) -> None:
    try:
        close()
    except Exception:  # best effort; the processes are stopped by pid in any case
        pass


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # After an interrupt, pytest tears session fixtures down only after every sessionfinish hook,
    # that is after the shared check for leftovers (tests/conftest.py): stop everything first.
    while _STOPS:
        _quietly(_STOPS.pop())


def pytest_configure(config: pytest.Config) -> None:
    # CI cancels a job with SIGTERM. Turn it into KeyboardInterrupt, so that the fixtures' teardown
    # still stops JupyterLab and Chromium (they run in their own process groups and would survive).
    def terminate(signum, frame):
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, terminate)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    return path


@pytest.fixture(scope="session")
def work_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ipc-browser-"))
    _STOPS.append(lambda: shutil.rmtree(path, ignore_errors=True))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    return SCREENSHOTS


@pytest.fixture(scope="session")
def lab(work_dir: Path) -> Iterator[JupyterLab]:
    root = work_dir / "notebooks"
    shutil.copytree(NOTEBOOKS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    before = _fingerprint(root)
    server = JupyterLab(root_dir=root, home=work_dir)
    _STOPS.append(server.stop)
    try:
        server.start()
        yield server
    finally:
        server.stop()
    leftovers = server.kernel_processes()
    assert not leftovers, f"kernel processes still running after JupyterLab stopped: {leftovers}"
    # The server only ever sees the copy; and the page must not have saved the copy either.
    changed = sorted(k for k, v in _fingerprint(root).items() if before.get(k) != v)
    assert not changed, f"JupyterLab saved notebooks during the run (it must never save): {changed}"


@pytest.fixture(scope="session")
def browser(chromium_path: str, work_dir: Path):
    from playwright.sync_api import sync_playwright

    chromium = Chromium(chromium_path, work_dir / "chromium-profile")
    _STOPS.append(chromium.stop)
    # Playwright's driver keeps its temporary files in TMPDIR: give it the run's work folder.
    tmp = work_dir / "playwright-tmp"
    tmp.mkdir()
    saved, os.environ["TMPDIR"] = os.environ.get("TMPDIR"), str(tmp)
    try:
        pw = sync_playwright().start()
    finally:
        if saved is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved
    _STOPS.append(pw.stop)
    try:
        endpoint = chromium.start()
        connected = pw.chromium.connect_over_cdp(endpoint)
        yield connected
        _quietly(connected.close)
    finally:
        # After an interrupt the Playwright connection may already be gone: what matters is
        # that the processes end, and chromium.stop() does that by process id.
        _quietly(pw.stop)
        chromium.stop()
    left = pids_with_arg(str(chromium.profile_dir))
    assert not left, f"Chromium processes still running after the run: {left}"


@pytest.fixture(scope="session")
def browser_context(browser):
    """One browser context for the whole run: JupyterLab's scripts are loaded once, then cached.

    Every notebook still gets its own page, workspace and kernel.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    _quietly(context.close)
