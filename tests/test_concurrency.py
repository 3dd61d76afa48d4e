"""Concurrency and repetition: every notebook, twice in one kernel, and two copies at once.

For each notebook, one background process runs, at the same time:

- kernel A: the notebook from top to bottom, then again in the same kernel
  (what a learner does with "Run All" twice; a notebook must not trip over
  what its first run left, such as a FIFO or a closed descriptor);
- kernel B: a second copy of the same notebook, with ``LC_ALL=C``, started
  together with A (two copies at once must not collide on fixed names, and
  the output must not depend on the locale).

All three runs must execute without an unexpected error, and their outputs,
after the rules of ``tests/nbval_sanitize.cfg``, must equal the stored ones
(cells tagged ``nbval-ignore-output`` excepted), as nbval would require.

Cost: the background runs start when the tests are collected (see
``pytest_collection_modifyitems`` in conftest.py, which also moves this
test to the end of the run), so they overlap with the unit tests and the
nbval run of the notebooks, which makes the machine busy, as it is on a
teacher's laptop.  Two notebooks are worked on at a time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
WORKERS = 2

RUNNER = r"""
import asyncio, json, os, sys
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


async def run(path, passes, env):
    # A new kernel on a loaded machine sometimes dies before it answers (its TCP ports were
    # taken meanwhile): that is the harness, not the notebook, so start another, twice at most.
    for attempt in range(3):
        try:
            return await run_once(path, passes, env)
        except RuntimeError as exc:
            if "Kernel died before replying" not in str(exc) or attempt == 2:
                raise
            await asyncio.sleep(1)


async def run_once(path, passes, env):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": os.path.dirname(path)}}
    )
    results = []
    async with client.async_setup_kernel(env=env):
        for _ in range(passes):
            outputs = {}
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                try:
                    await client.async_execute_cell(cell, index)
                except CellExecutionError as exc:
                    outputs[index] = [{"output_type": "unexpected error", "text": str(exc)[-2000:]}]
                    results.append(outputs)
                    return results
                outputs[index] = cell.outputs
            results.append(outputs)
    return results


async def main(paths):
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    c_env = {**env, "LC_ALL": "C", "LANG": "C"}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                stored = json.load(f)  # compared with what was run, even if the file changes meanwhile
            twice, copy = await asyncio.gather(run(path, 2, env), run(path, 1, c_env))
            result = {"stored": stored, "twice": twice, "copy": copy}
        except Exception as exc:
            result = {"crash": f"{type(exc).__name__}: {exc}"}
        print(json.dumps({"path": path, **result}), flush=True)


asyncio.run(main(sys.argv[1:]))
"""

_background: list[subprocess.Popen] = []


def start_background() -> None:
    """Start the runs (called once, when the tests are collected)."""
    if _background or not NOTEBOOKS:
        return
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    for worker in range(WORKERS):
        paths = [str(p) for p in NOTEBOOKS[worker::WORKERS]]
        if paths:
            _background.append(
                subprocess.Popen(
                    [sys.executable, "-c", RUNNER, *paths],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                    cwd=ROOT,
                )
            )


def stop_background(timeout: float) -> dict[str, dict]:
    """Wait for the runs, reap them (killed if they overrun), return results by notebook."""
    results: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    try:
        for proc in _background:
            try:
                out, err = proc.communicate(timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                err = "timed out; " + err
            for line in out.splitlines():
                if line.startswith("{"):
                    result = json.loads(line)
                    results[Path(result["path"]).name] = result
            if proc.returncode != 0:
                results.setdefault("(runner)", {"crash": f"exit status {proc.returncode}: {err[-3000:]}"})
    finally:
        for proc in _background:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        _background.clear()
    return results


def _sanitize_rules() -> list[tuple[str, str]]:
    from nbval.plugin import get_sanitize_patterns

    return get_sanitize_patterns((ROOT / "tests/nbval_sanitize.cfg").read_text(encoding="ascii"))


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def comparable(outputs: list[dict], rules) -> list[tuple]:
    """What nbval compares, roughly: streams merged by name, text data, error name and value."""
    items: list[tuple] = []
    for out in outputs:
        kind = out["output_type"]
        if kind == "stream":
            if items and items[-1][:2] == ("stream", out["name"]):
                items[-1] = ("stream", out["name"], items[-1][2] + _text(out["text"]))
            else:
                items.append(("stream", out["name"], _text(out["text"])))
        elif kind in ("execute_result", "display_data"):
            data = out.get("data", {})
            items.append(("data", *(_text(data[m]) for m in sorted(data) if m.startswith("text/"))))
        elif kind == "error":
            items.append(("error", out["ename"], out["evalue"]))
        else:
            items.append((kind, _text(out.get("text", ""))))
    sanitized = []
    for item in items:
        fields = []
        for field in item:
            for regex, replace in rules:
                field = re.sub(regex, replace, field)
            fields.append(field)
        sanitized.append(tuple(fields))
    return sanitized


def ignored(cell: dict) -> bool:
    return "nbval-ignore-output" in cell.get("metadata", {}).get("tags", [])


def differences(path: Path, nb: dict, run: dict, label: str, rules) -> list[str]:
    problems = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        got = run.get(str(index))
        if got is None:
            problems.append(f"{path.name} [{label}]: cell {index} did not run")
            break
        if got and got[0]["output_type"] == "unexpected error":
            problems.append(f"{path.name} [{label}]: cell {index} failed:\n{got[0]['text']}")
            break
        if ignored(cell):
            continue
        want, have = comparable(cell["outputs"], rules), comparable(got, rules)
        if want != have:
            problems.append(
                f"{path.name} [{label}]: cell {index} output differs from the stored one\n"
                f"  source: {_text(cell['source'])[:160]!r}\n  stored: {want!r}\n  got:    {have!r}"
            )
    return problems


@pytest.mark.timeout(1200)
@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks")
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (not on Windows)")
@pytest.mark.skipif(sys.platform != "linux", reason="outputs are stored from Linux (lax mode elsewhere)")
def test_every_notebook_twice_in_one_kernel_and_two_copies_at_once():
    start_background()  # a no-op when the collection hook has started them already
    results = stop_background(timeout=1100)
    rules = _sanitize_rules()
    problems = []
    for name, result in sorted(results.items()):
        if "crash" in result:
            problems.append(f"{name}: the runner crashed: {result['crash']}")
    for path in NOTEBOOKS:
        result = results.get(path.name)
        if result is None:
            problems.append(f"{path.name}: no result")
            continue
        if "crash" in result:
            continue
        runs = [("first run", result["twice"][0])]
        if len(result["twice"]) > 1:
            runs.append(("second run in the same kernel", result["twice"][1]))
        else:
            problems.append(f"{path.name}: the second run in the same kernel did not happen")
        runs.append(("simultaneous copy, LC_ALL=C", result["copy"][0]))
        for label, run in runs:
            problems += differences(path, result["stored"], run, label, rules)
    assert not problems, "\n\n".join(problems)
