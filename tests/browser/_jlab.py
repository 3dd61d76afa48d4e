"""Start and stop a JupyterLab server and a headless Chromium for the browser test.

Both run as child processes in their own session (process group), so that
``stop()`` can end them and everything they started (kernels, renderer
processes) by process id, also when a check has failed. Nothing here talks to
the network beyond 127.0.0.1, and no browser is downloaded: Chromium is the one
installed on the machine (Debian's ``chromium`` package).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# IPC_BROWSER_NOTEBOOKS=/some/dir runs the same checks on other notebooks (used to prove that a
# deliberately broken widget fails the test, without touching the chapters).
NOTEBOOKS = Path(os.environ.get("IPC_BROWSER_NOTEBOOKS") or ROOT / "notebooks").resolve()
SCREENSHOTS = ROOT / "screenshots"

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # needed as root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
]

MISSING_CHROMIUM = (
    "The browser test needs Chromium and did not find it (looked at $CHROMIUM, /usr/bin/chromium and "
    "chromium on PATH). On Debian/Ubuntu: sudo apt-get install chromium. Elsewhere: "
    "CHROMIUM=/path/to/chromium make test-browser. (make test does not need a browser.)"
)


def find_chromium() -> str | None:
    """The Chromium executable to use, or None when there is none."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pids_with_arg(fragment: str) -> list[int]:
    """Process ids whose command line contains ``fragment`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fragment in cmdline:
            found.append(int(entry.name))
    return found


def _stop_group(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM the process group led by ``proc``, then SIGKILL what is left after ``grace`` s."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # children that outlived the leader
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def _kill_pids(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class JupyterLab:
    """A JupyterLab server on a free localhost port with a random token, isolated in ``home``.

    ``home`` holds its own Jupyter config, data and runtime directories, so no user
    setting or saved workspace changes what the test sees.
    """

    def __init__(self, root_dir: Path, home: Path, extra_args: list[str] | None = None) -> None:
        self.root_dir = root_dir
        self.home = home
        self.extra_args = list(extra_args or [])  # more command-line options for jupyterlab
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "jupyterlab.log"
        self.runtime_dir = home / "runtime"
        self.proc: subprocess.Popen | None = None
        self.kernel_ids_seen: set[str] = set()

    def _write_settings(self, config_dir: Path) -> None:
        settings = config_dir / "lab" / "user-settings" / "@jupyterlab"
        files = {
            # No news or update toasts over the page.
            "apputils-extension/notification.jupyterlab-settings": {
                "fetchNews": "false",
                "checkForUpdates": False,
            },
            # Render every cell fully, so the DOM holds all outputs and screenshots show them.
            "notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
            # Never write to the notebooks (they are a temporary copy anyway).
            "docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        }
        for rel, value in files.items():
            path = settings / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))

    def start(self, timeout: float = 90) -> None:
        config_dir = self.home / "config"
        self._write_settings(config_dir)
        env = dict(os.environ)
        env.pop("PYTEST_CURRENT_TEST", None)  # kernels behave as in a learner's JupyterLab
        env.update(
            JUPYTER_CONFIG_DIR=str(config_dir),
            JUPYTER_DATA_DIR=str(self.home / "data"),
            JUPYTER_RUNTIME_DIR=str(self.runtime_dir),
            IPYTHONDIR=str(self.home / "ipython"),
            JUPYTER_PLATFORM_DIRS="1",
        )
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",  # no calls to PyPI
        ]
        if os.geteuid() == 0:  # CI containers run as root
            cmd.append("--allow-root")
        cmd += self.extra_args
        log = open(self.log_path, "wb")  # closed below: the child has its own copy
        try:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.root_dir,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.3)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def api(self, method: str, path: str, timeout: float = 10):
        """Call the server's REST API; returns the decoded JSON body (or None)."""
        req = urllib.request.Request(
            self.base + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # localhost only
            body = resp.read()
        return json.loads(body) if body else None

    def lab_url(self, workspace: str, path: str) -> str:
        return f"{self.base}/lab/workspaces/{workspace}/tree/{path}?token={self.token}"

    def kernels(self) -> list[dict]:
        kernels = self.api("GET", "/api/kernels")
        self.kernel_ids_seen.update(k["id"] for k in kernels)
        return kernels

    def shutdown_all_kernels(self, timeout: float = 20) -> list[str]:
        """Shut down every session and kernel; return the ids of kernels that were still running."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        running = [k["id"] for k in self.kernels()]
        for kernel_id in running:
            try:
                self.api("DELETE", f"/api/kernels/{kernel_id}")
            except urllib.error.HTTPError as e:
                if e.code != 404:
                    raise
        deadline = time.monotonic() + timeout
        while self.kernels() and time.monotonic() < deadline:
            time.sleep(0.3)
        return running

    def kernel_processes(self) -> list[int]:
        """Pids of kernel processes started by this server (their connection file is in our runtime dir)."""
        return pids_with_arg(str(self.runtime_dir))

    def stop(self) -> None:
        """Stop the server and everything it started, by process id. Safe to call twice."""
        if self.proc is None:
            return
        try:
            if self.proc.poll() is None:
                try:
                    self.shutdown_all_kernels(timeout=10)
                except (OSError, urllib.error.URLError, ValueError):
                    pass
        finally:
            _stop_group(self.proc, grace=15)
            self.proc = None
            _kill_pids(self.kernel_processes())


class Chromium:
    """Headless Chromium started by us (so we know its pid), driven over the DevTools protocol."""

    def __init__(self, executable: str, profile_dir: Path) -> None:
        self.executable = executable
        self.profile_dir = profile_dir
        self.proc: subprocess.Popen | None = None
        self.log_path = profile_dir.parent / "chromium.log"

    def start(self, timeout: float = 30) -> str:
        """Start the browser; return the http://127.0.0.1:PORT endpoint for ``connect_over_cdp``."""
        self.profile_dir.mkdir(parents=True)
        cmd = [
            self.executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={self.profile_dir}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ]
        log = open(self.log_path, "wb")
        try:
            # Chromium's own temporary files go to a folder removed with the rest of the run.
            tmp = self.profile_dir.parent / "chromium-tmp"
            tmp.mkdir(exist_ok=True)
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "TMPDIR": str(tmp)},
                start_new_session=True,
            )
        finally:
            log.close()
        port_file = self.profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"Chromium ({self.executable}) exited with code {self.proc.returncode}:\n"
                    + self.log_path.read_text(errors="replace")[-3000:]
                )
            try:
                port = int(port_file.read_text().split()[0])
                return f"http://127.0.0.1:{port}"
            except (OSError, ValueError, IndexError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"Chromium did not open its DevTools port within {timeout:.0f} s")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the browser and its helper processes, by process id. Safe to call twice."""
        if self.proc is None:
            return
        _stop_group(self.proc, grace=5)
        self.proc = None
        # Helpers that left the group (e.g. the zygote) still carry our profile dir in their argv.
        _kill_pids(pids_with_arg(str(self.profile_dir)))


def png_summary(path: Path) -> tuple[int, int, int]:
    """(width, height, number of distinct pixel values) of an 8-bit RGB(A) PNG, standard library only.

    Raises ValueError when the file is not such a PNG.
    """
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path.name}: not a PNG file")
    pos, idat, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]:
            raise ValueError(f"{path.name}: bad CRC in a {kind!r} chunk")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    if header is None or not idat:
        raise ValueError(f"{path.name}: no IHDR or no image data")
    width, height, depth, color, _, _, interlace = header
    if depth != 8 or color not in (2, 6) or interlace:
        raise ValueError(f"{path.name}: unexpected PNG format (depth {depth}, colour type {color})")
    bpp = 4 if color == 6 else 3
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    if len(raw) != height * (stride + 1):
        raise ValueError(f"{path.name}: image data has the wrong size")
    colors: set[bytes] = set()
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        ftype = raw[start]
        row = bytearray(raw[start + 1 : start + 1 + stride])
        if ftype == 1:  # Sub
            for i in range(bpp, stride):
                row[i] = (row[i] + row[i - bpp]) & 0xFF
        elif ftype == 2:  # Up
            row = bytearray((a + b) & 0xFF for a, b in zip(row, prev, strict=True))
        elif ftype == 3:  # Average
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif ftype == 4:  # Paeth
            for i in range(stride):
                a = row[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                row[i] = (row[i] + pred) & 0xFF
        elif ftype != 0:
            raise ValueError(f"{path.name}: unknown PNG filter {ftype}")
        if len(colors) < 4096 and y % 4 == 0:  # a sample is enough to tell "blank" from "not blank"
            colors.update(bytes(row[i : i + bpp]) for i in range(0, stride, bpp * 2))
        prev = row
    return width, height, len(colors)
