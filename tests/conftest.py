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
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

_RUN_TMP = Path(tempfile.mkdtemp(prefix="ipc-test-run-"))
os.environ["TMPDIR"] = str(_RUN_TMP)
tempfile.tempdir = str(_RUN_TMP)


def pytest_configure(config: pytest.Config) -> None:
    if sys.platform != "linux" and hasattr(config.option, "nbval_lax"):
        config.option.nbval_lax = True


def pytest_collectstart(collector: pytest.Collector) -> None:
    if collector.path is None or collector.path.suffix != ".ipynb":
        return
    original_setup = collector.setup

    def setup() -> None:
        saved = os.environ.pop("PYTEST_CURRENT_TEST", None)
        try:
            original_setup()
        finally:
            if saved is not None:
                os.environ["PYTEST_CURRENT_TEST"] = saved

    collector.setup = setup


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leftovers = sorted(
        p.name
        for p in (_RUN_TMP.iterdir() if _RUN_TMP.exists() else [])
        if not p.name.startswith("pytest-of-")
    )
    shutil.rmtree(_RUN_TMP, ignore_errors=True)
    if leftovers:
        session.config._ipc_leftovers = leftovers  # type: ignore[attr-defined]
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    leftovers = getattr(config, "_ipc_leftovers", None)
    if leftovers:
        terminalreporter.section("left behind", red=True)
        terminalreporter.line(
            "These temporary files or directories were still there after the run: " + ", ".join(leftovers)
        )
