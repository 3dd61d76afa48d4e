"""Run a notebook in a student's own Jupyter server, through the hub, and check it as nbval does.

The notebook is read from the student's home through the Contents API; a
session (a kernel whose working directory is the notebook's folder) is started
through the Sessions API; every code cell is sent over the kernel's websocket as
an ``execute_request``; the outputs are collected from the iopub channel the way
nbval collects them.  The comparison with the reference notebook in
``notebooks/`` uses nbval's own functions: the same sanitize rules
(tests/nbval_sanitize.cfg), streams coalesced, the same skipped keys (images,
tracebacks, metadata, execution counts, widget model ids), and nbval's cell
markers (``nbval-skip``, ``nbval-ignore-output``, ``raises-exception``).

The harness knows nothing about what a chapter contains: it runs whatever cells
the notebook has.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from jupyter_server.services.kernels.connection.base import deserialize_binary_message
from nbval.plugin import (
    coalesce_streams,
    find_comment_markers,
    find_metadata_tags,
    get_sanitize_patterns,
    transform_streams_for_comparison,
)
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

ROOT = Path(__file__).resolve().parents[2]
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"

# The keys nbval leaves out of the comparison (nbval 0.11, without --nbdime).
SKIP_COMPARE = (
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
)


def sanitize_patterns() -> list[tuple[str, str]]:
    return get_sanitize_patterns(SANITIZE.read_text(encoding="utf-8"))


def cell_options(cell) -> dict[str, bool]:
    """nbval's options for a cell: check (compare outputs), check_exception, skip."""
    options = {"check": True, "check_exception": False, "skip": False}
    options.update(find_comment_markers(cell.source))
    options.update(find_metadata_tags(cell.metadata))
    return options


def _flatten(outputs, patterns) -> dict[str, list]:
    """nbval's comparison form: every key (and every MIME type of 'data') to its values, sanitized."""
    flat: dict[str, list] = defaultdict(list)

    def clean(value):
        if isinstance(value, str):
            for regex, replace in patterns:
                value = re.sub(regex, replace, value)
        return value

    for output in transform_streams_for_comparison(outputs):
        for key, value in output.items():
            if key in SKIP_COMPARE:
                continue
            if key == "data":
                for mime, content in value.items():
                    if mime not in SKIP_COMPARE:
                        flat[mime].append(clean(content))
            else:
                flat[key].append(clean(value))
    return flat


def compare_outputs(test, ref, patterns) -> str | None:
    """None when the outputs agree as nbval would judge; otherwise what differs."""
    got, want = _flatten(test, patterns), _flatten(ref, patterns)
    if set(got) != set(want):
        return f"output fields differ: expected {sorted(want)}, got {sorted(got)}"
    for key, values in want.items():
        if got[key] != values:
            return f"{key!r} differs:\n--- expected\n{_show(values)}\n--- got\n{_show(got[key])}"
    return None


def _show(values: list) -> str:
    return "\n".join(v if isinstance(v, str) else json.dumps(v)[:500] for v in values)


@dataclass
class CellResult:
    index: int
    source: str
    outputs: list
    seconds: float
    error: str | None = None  # why the cell failed (exception, timeout, differing output)


@dataclass
class NotebookResult:
    student: str
    notebook: str
    started: float
    finished: float = 0.0
    cells: list[CellResult] = field(default_factory=list)

    @property
    def failures(self) -> list[CellResult]:
        return [c for c in self.cells if c.error]

    @property
    def seconds(self) -> float:
        return self.finished - self.started


class KernelClient:
    """A kernel in a student's server, driven over its websocket (Jupyter messaging protocol 5.3)."""

    def __init__(self, hub_url: str, user: str, token: str) -> None:
        self.base = f"{hub_url}/user/{user}"
        self.user = user
        self.headers = {"Authorization": f"token {token}"}
        self.http = AsyncHTTPClient()
        self.session_id = uuid.uuid4().hex
        self.ws = None
        self.kernel_id = ""
        self.jupyter_session = ""
        self._queue: dict[str, asyncio.Queue] = defaultdict(asyncio.Queue)
        self._reader: asyncio.Task | None = None

    async def rest(self, method: str, path: str, body: object = None, timeout: float = 120) -> object:
        request = HTTPRequest(
            self.base + path,
            method=method,
            headers={**self.headers, "Content-Type": "application/json"},
            body=None if body is None else json.dumps(body),
            request_timeout=timeout,
            allow_nonstandard_methods=True,
        )
        response = await self.http.fetch(request)
        return json.loads(response.body) if response.body else None

    async def read_notebook(self, path: str):
        model = await self.rest("GET", f"/api/contents/{path}?content=1&type=notebook")
        return nbformat.from_dict(model["content"])  # type: ignore[index]

    async def start(self, path: str, timeout: float = 300) -> None:
        """Start a kernel for the notebook at ``path`` (its folder becomes the working directory)."""
        model = await self.rest(
            "POST",
            "/api/sessions",
            {"path": path, "name": Path(path).name, "type": "notebook", "kernel": {"name": "python3"}},
            timeout=timeout,
        )
        self.jupyter_session = model["id"]  # type: ignore[index]
        self.kernel_id = model["kernel"]["id"]  # type: ignore[index]
        url = self.base.replace("http://", "ws://", 1) + f"/api/kernels/{self.kernel_id}/channels"
        request = HTTPRequest(
            f"{url}?session_id={self.session_id}", headers=self.headers, request_timeout=timeout
        )
        self.ws = await websocket_connect(request, max_message_size=256 * 1024 * 1024)
        self._reader = asyncio.ensure_future(self._read())
        deadline = time.monotonic() + timeout
        while True:  # the kernel answers kernel_info once it is up
            msg_id = self.send("kernel_info_request", {})
            try:
                await self._until(msg_id, "shell", "kernel_info_reply", timeout=min(10, timeout))
                return
            except asyncio.TimeoutError:
                if time.monotonic() > deadline:
                    raise

    async def _read(self) -> None:
        while True:
            raw = await self.ws.read_message()
            if raw is None:
                for q in list(self._queue.values()):
                    q.put_nowait(None)
                return
            msg = deserialize_binary_message(raw) if isinstance(raw, bytes) else json.loads(raw)
            parent = msg.get("parent_header", {}).get("msg_id", "")
            self._queue[parent].put_nowait(msg)

    def send(self, msg_type: str, content: dict, channel: str = "shell") -> str:
        msg_id = uuid.uuid4().hex
        header = {
            "msg_id": msg_id,
            "msg_type": msg_type,
            "username": self.user,
            "session": self.session_id,
            "date": datetime.now(timezone.utc).isoformat(),
            "version": "5.3",
        }
        message = {
            "header": header,
            "parent_header": {},
            "metadata": {},
            "content": content,
            "channel": channel,
        }
        self.ws.write_message(json.dumps(message))
        return msg_id

    async def _until(self, msg_id: str, channel: str, msg_type: str, timeout: float) -> dict:
        queue = self._queue[msg_id]
        deadline = time.monotonic() + timeout
        while True:
            msg = await asyncio.wait_for(queue.get(), max(0.01, deadline - time.monotonic()))
            if msg is None:
                raise ConnectionError("the kernel's websocket closed")
            if msg.get("channel") == channel and msg["header"]["msg_type"] == msg_type:
                return msg

    async def execute(self, code: str, timeout: float) -> tuple[list, dict]:
        """Run ``code``; return (outputs as in a notebook, execute_reply content). Raises TimeoutError."""
        msg_id = self.send(
            "execute_request",
            {"code": code, "silent": False, "store_history": True, "user_expressions": {},
             "allow_stdin": False, "stop_on_error": True},
        )  # fmt: skip
        queue = self._queue[msg_id]
        outputs: list = []
        reply = None
        idle = False
        deadline = time.monotonic() + timeout
        while not (idle and reply is not None):
            msg = await asyncio.wait_for(queue.get(), max(0.01, deadline - time.monotonic()))
            if msg is None:
                raise ConnectionError("the kernel's websocket closed during the cell")
            kind, content, channel = msg["header"]["msg_type"], msg["content"], msg.get("channel")
            if channel == "shell" and kind == "execute_reply":
                reply = content
            elif channel != "iopub":
                continue
            elif kind == "status":
                idle = content["execution_state"] == "idle"
            elif kind == "stream":
                outputs.append(nbformat.v4.new_output("stream", name=content["name"], text=content["text"]))
            elif kind in ("display_data", "execute_result"):
                out = nbformat.v4.new_output(kind, data=content["data"], metadata=content.get("metadata", {}))
                if kind == "execute_result":
                    out.execution_count = content.get("execution_count")
                outputs.append(out)
            elif kind == "error":
                outputs.append(
                    nbformat.v4.new_output(
                        "error",
                        ename=content["ename"],
                        evalue=content["evalue"],
                        traceback=content["traceback"],
                    )
                )
        self._queue.pop(msg_id, None)
        return outputs, reply

    async def interrupt(self) -> None:
        try:
            await self.rest("POST", f"/api/kernels/{self.kernel_id}/interrupt")
        except (HTTPClientError, OSError):
            pass

    async def shutdown(self) -> None:
        """Close the websocket and shut the kernel down (the session goes with it)."""
        if self.ws is not None:
            self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
        if self.jupyter_session:
            try:
                await self.rest("DELETE", f"/api/sessions/{self.jupyter_session}")
            except (HTTPClientError, OSError):
                pass


async def run_notebook(
    hub_url: str,
    user: str,
    token: str,
    path: str,
    reference: Path,
    *,
    cell_timeout: float = 120,
    extra_cells: tuple[str, ...] = (),
) -> NotebookResult:
    """Run the student's copy at ``path`` (relative to their home) cell by cell, as nbval runs a
    notebook, and compare each cell's outputs with those stored in ``reference``.

    ``extra_cells`` run after the notebook's own cells in the same kernel; they
    must succeed, and their outputs are returned, not compared.
    """
    result = NotebookResult(student=user, notebook=Path(path).name, started=time.monotonic())
    ref = nbformat.read(reference, as_version=4)
    patterns = sanitize_patterns()
    kernel = KernelClient(hub_url, user, token)
    try:
        mine = await kernel.read_notebook(path)
        ref_code = [c for c in ref.cells if c.cell_type == "code"]
        my_code = [c for c in mine.cells if c.cell_type == "code"]
        if [c.source for c in my_code] != [c.source for c in ref_code]:
            raise AssertionError(f"{user}'s copy of {path} does not have the reference notebook's code cells")
        await kernel.start(path)
        for index, (cell, ref_cell) in enumerate(zip(my_code, ref_code, strict=True)):
            options = cell_options(ref_cell)
            if options["skip"]:
                continue
            began = time.monotonic()
            error = None
            try:
                outputs, reply = await kernel.execute(cell.source, cell_timeout)
            except asyncio.TimeoutError:
                await kernel.interrupt()
                outputs, error = [], f"timed out after {cell_timeout} s"
            else:
                outputs = coalesce_streams(outputs)
                failed = reply.get("status") != "ok"
                if failed and not options["check_exception"]:
                    error = f"{reply.get('ename')}: {reply.get('evalue')}"
                elif options["check"] and ref_cell.get("execution_count") is not None:
                    error = compare_outputs(outputs, coalesce_streams(ref_cell.outputs), patterns)
            result.cells.append(CellResult(index, cell.source, outputs, time.monotonic() - began, error))
            if error and "timed out" in error:
                break
        for code in extra_cells:
            began = time.monotonic()
            outputs, reply = await kernel.execute(code, cell_timeout)
            error = None if reply.get("status") == "ok" else f"{reply.get('ename')}: {reply.get('evalue')}"
            result.cells.append(
                CellResult(-1, code, coalesce_streams(outputs), time.monotonic() - began, error)
            )
    finally:
        await kernel.shutdown()
        result.finished = time.monotonic()
    return result


def stream_text(outputs: list, name: str = "stdout") -> str:
    return "".join(
        o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == name
    )
