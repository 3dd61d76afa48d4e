"""A real JupyterHub with real Unix students on this machine, for ``make test-hub``.

Everything the hub test creates is marked, so that it can be found and removed
again, also after a crashed or interrupted run (:func:`sweep`):

- Unix users named ``ipcstuNN`` whose comment (GECOS field) is :data:`MARK`,
  with their homes; never any other user;
- processes running as those users (single-user servers, kernels, the
  programs the chapters start), and processes carrying the environment
  variable :data:`HUB_ENV_MARK` (the hub and its proxy);
- files those users left in ``/tmp``, ``/var/tmp`` and ``/dev/shm``;
- the hub's state directory (database, cookie secret, logs, config).

Processes are ended by process id, never by name.  The module needs root and
Linux; it uses only the standard library and tornado (a JupyterHub dependency).
"""

from __future__ import annotations

import fcntl
import grp
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from http.cookiejar import Cookie, CookieJar
from pathlib import Path

#: Every test user's name is this prefix and a number: ipcstu01, ipcstu02, ...
PREFIX = "ipcstu"
#: The comment field of every test user: a user without it is never touched.
MARK = "ipc-tutorial hub test student"
#: Set in the environment of the hub (and so of its proxy): how leftovers are found.
HUB_ENV_MARK = "IPCSTU_HUB_RUN"
#: One hub test at a time on a machine.
LOCK_FILE = "/run/lock/ipcstu-hub.lock"
#: Shared places where a student's program may leave files.
SHARED_TMP = ("/tmp", "/var/tmp", "/dev/shm")

ROOT = Path(__file__).resolve().parents[2]
NAME_RE = re.compile(rf"{PREFIX}\d{{2,3}}")


def student_name(i: int) -> str:
    return f"{PREFIX}{i:02d}"


# --------------------------------------------------------------------------
# Finding and removing what a run made (also an earlier, crashed run)
# --------------------------------------------------------------------------


def our_users() -> list[pwd.struct_passwd]:
    """The test's Unix users: the name pattern *and* the comment must match."""
    return [p for p in pwd.getpwall() if NAME_RE.fullmatch(p.pw_name) and p.pw_gecos == MARK]


def _proc_uid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Uid:"):
                    return int(line.split()[1])  # the real uid
    except (OSError, ValueError):
        return None
    return None


def _has_env_mark(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return any(item.startswith(HUB_ENV_MARK.encode() + b"=") for item in f.read().split(b"\0"))
    except OSError:
        return False


def _pids() -> Iterator[int]:
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me:
            yield int(entry)


def processes_of(uids: set[int]) -> list[int]:
    """Process ids whose real uid is one of ``uids``."""
    return [pid for pid in _pids() if _proc_uid(pid) in uids]


def hub_processes() -> list[int]:
    """The hub and its proxy (they carry :data:`HUB_ENV_MARK`), from any run."""
    return [pid for pid in _pids() if _has_env_mark(pid)]


def describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()[:150]
    except OSError:
        return "?"


def kill_pids(find, *, grace: float = 5.0) -> None:
    """SIGTERM what ``find()`` returns, wait up to ``grace`` s, then SIGKILL until none is left."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        pids = find()
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while find() and time.monotonic() < deadline:
            time.sleep(0.1)
    left = find()
    if left:
        raise RuntimeError(f"could not end processes: {[(p, describe(p)) for p in left]}")


def files_of(uids: set[int]) -> list[Path]:
    """Entries directly in the shared temporary directories that belong to ``uids``."""
    found = []
    for top in SHARED_TMP:
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid in uids:
                    found.append(Path(entry.path))
            except OSError:
                continue
    return found


def remove_path(path: Path) -> None:
    """Remove a file, FIFO, symlink or directory tree without following symlinks."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_students(users: list[pwd.struct_passwd]) -> None:
    """End the students' processes, remove their files in /tmp, then the users and their homes."""
    uids = {u.pw_uid for u in users}
    if not uids:
        return
    kill_pids(lambda: processes_of(uids), grace=3.0)
    for path in files_of(uids):
        remove_path(path)
    for user in users:
        subprocess.run(["userdel", "--remove", user.pw_name], capture_output=True, check=False)
        if os.path.lexists(user.pw_dir) and NAME_RE.fullmatch(Path(user.pw_dir).name):
            shutil.rmtree(user.pw_dir, ignore_errors=True)  # userdel refused (e.g. a mail spool)
        try:  # the user's own group, if userdel left it
            if grp.getgrnam(user.pw_name).gr_gid == user.pw_gid:
                subprocess.run(["groupdel", user.pw_name], capture_output=True, check=False)
        except KeyError:
            pass


def leftovers(state_dir: Path | None = None) -> list[str]:
    """What a run would have left behind, in words (empty: nothing)."""
    users = our_users()
    uids = {u.pw_uid for u in users}
    found = [f"user {u.pw_name} (home {u.pw_dir})" for u in users]
    found += [f"home {p}" for p in Path("/home").glob(f"{PREFIX}*")]
    found += [f"process {pid} of a student: {describe(pid)}" for pid in processes_of(uids)] if uids else []
    found += [f"hub process {pid}: {describe(pid)}" for pid in hub_processes()]
    found += [f"file of a student: {p}" for p in files_of(uids)] if uids else []
    if state_dir is not None and state_dir.exists():
        found.append(f"hub state directory {state_dir}")
    return found


def sweep(state_dir: Path | None = None) -> list[str]:
    """Remove everything a hub test run (this one or a crashed earlier one) made. Returns what it found."""
    found = leftovers(state_dir)
    kill_pids(hub_processes)
    remove_students(our_users())
    for home in Path("/home").glob(f"{PREFIX}*"):
        if NAME_RE.fullmatch(home.name):
            try:
                pwd.getpwnam(home.name)
            except KeyError:  # the user is gone: an orphaned home of ours
                shutil.rmtree(home, ignore_errors=True)
    if state_dir is not None:
        shutil.rmtree(state_dir, ignore_errors=True)
    return found


class RunLock:
    """An exclusive lock: one hub test per machine at a time (two would share users and ports)."""

    def __init__(self) -> None:
        self.fd: int | None = None

    def acquire(self) -> None:
        self.fd = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = None
            raise RuntimeError(f"another hub test holds {LOCK_FILE}; run one at a time") from None

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# --------------------------------------------------------------------------
# Students
# --------------------------------------------------------------------------


@dataclass
class Student:
    name: str
    uid: int
    gid: int
    home: Path
    token: str = ""  # an API token of this student's own, made through the Hub's REST API
    peak_rss: int = 0  # bytes: the largest sum of RSS over the student's processes seen
    peak_pss: int = 0  # bytes: the same for PSS (shared pages split among their users)

    @property
    def workspace(self) -> Path:
        return self.home / "ipc-tutorial"

    def run(
        self,
        argv: list[str],
        *,
        umask: int = 0o022,
        cwd: str | os.PathLike[str] | None = None,
        timeout: float = 60,
        input: str | None = None,
    ) -> subprocess.CompletedProcess:
        """Run ``argv`` as this student (real uid, gid, no extra groups), capture its output."""
        return subprocess.run(
            argv,
            user=self.uid,
            group=self.gid,
            extra_groups=[],
            umask=umask,
            cwd=cwd or self.home,
            env=self.env(),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, argv: list[str], *, umask: int = 0o022, cwd=None) -> subprocess.Popen:
        """Start ``argv`` as this student, with pipes for stdin, stdout and stderr."""
        return subprocess.Popen(
            argv,
            user=self.uid,
            group=self.gid,
            extra_groups=[],
            umask=umask,
            cwd=cwd or self.home,
            env=self.env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def env(self) -> dict[str, str]:
        return {
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
            "PATH": os.environ.get("IPC_HUB_PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
        }


def create_student(name: str) -> Student:
    """A new Unix user with a private (0700) home, marked as ours."""
    home = Path("/home") / name
    subprocess.run(
        ["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash",
         "--comment", MARK, "--user-group", name],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    # A class server must keep homes private: Debian's useradd makes them 0755 (world-readable).
    os.chmod(home, 0o700)
    pw = pwd.getpwnam(name)
    return Student(name=name, uid=pw.pw_uid, gid=pw.pw_gid, home=home)


def install_workspace(student: Student, source: Path) -> None:
    """Copy the learner copies (made once by tools/workspace.py) into the student's home, as theirs."""
    dest = student.workspace
    shutil.copytree(source, dest, symlinks=True)
    for dirpath, dirnames, filenames in os.walk(dest):
        os.lchown(dirpath, student.uid, student.gid)
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), student.uid, student.gid)


# --------------------------------------------------------------------------
# Memory per student
# --------------------------------------------------------------------------


def _memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in bytes; (0, 0) if it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            rss = pss = 0
            for line in f:
                if line.startswith(b"Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith(b"Pss:"):
                    pss = int(line.split()[1]) * 1024
            return rss, pss
    except (OSError, ValueError):
        return 0, 0


def memory_now(uids: set[int]) -> dict[int, tuple[int, int]]:
    """(RSS, PSS) in bytes summed over each uid's processes, right now."""
    totals: dict[int, tuple[int, int]] = {uid: (0, 0) for uid in uids}
    for pid in _pids():
        uid = _proc_uid(pid)
        if uid in totals:
            r, p = _memory(pid)
            totals[uid] = (totals[uid][0] + r, totals[uid][1] + p)
    return totals


class MemorySampler:
    """Samples, every ``interval`` s, the memory of each student's processes (server, kernels,
    the programs they start) and keeps each student's peak."""

    def __init__(self, students: list[Student], interval: float = 0.25) -> None:
        self.students = {s.uid: s for s in students}
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self.peak_total_pss = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            now = memory_now(set(self.students))
            for uid, student in self.students.items():
                student.peak_rss = max(student.peak_rss, now[uid][0])
                student.peak_pss = max(student.peak_pss, now[uid][1])
            self.peak_total_pss = max(self.peak_total_pss, sum(p for _, p in now.values()))
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


# --------------------------------------------------------------------------
# The hub
# --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONFIG = """\
# Generated by tests/hub/hubkit.py for one test run; removed at its end.
c = get_config()  # noqa: F821

# Loopback only: the proxy (public side and API), the hub and every single-user server.
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.pid_file = {state!r} + "/proxy.pid"
c.JupyterHub.pid_file = {state!r} + "/jupyterhub.pid"
c.JupyterHub.db_url = "sqlite:///" + {state!r} + "/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = {state!r} + "/cookie_secret"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# Each student is a Unix user; the hub (root) starts their servers as them.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.ip = "127.0.0.1"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {{"PATH": {path!r}}}
c.Spawner.start_timeout = 600
c.Spawner.http_timeout = 600
c.JupyterHub.concurrent_spawn_limit = 200

# A password for the students (JupyterHub >= 5); the test drives the REST API as a service.
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {password!r}
c.Authenticator.allowed_users = set({students!r})
c.JupyterHub.services = [{{"name": "ipc-hub-test", "api_token": {service_token!r}}}]
c.JupyterHub.load_roles = [{{"name": "admin", "services": ["ipc-hub-test"]}}]
"""


class HTTPError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status
        self.body = body


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Hub:
    """One JupyterHub process (with its proxy) started as root for a test run."""

    def __init__(self, venv: Path, proxy: Path, state: Path, students: list[str], extra_config: str = ""):
        self.venv = venv
        self.proxy = proxy
        self.state = state
        self.port = free_port()
        self.password = secrets.token_urlsafe(12)
        self.service_token = secrets.token_hex(32)
        self.path = f"{venv}/bin:/usr/local/bin:/usr/bin:/bin"
        config = CONFIG.format(
            port=self.port,
            hub_port=free_port(),
            api_port=free_port(),
            proxy=str(proxy),
            state=str(state),
            singleuser=f"{venv}/bin/jupyterhub-singleuser",
            path=self.path,
            password=self.password,
            students=sorted(students),
            service_token=self.service_token,
        )
        if extra_config:
            config += "\n# Extra configuration given to the test (--hub-extra-config)\n" + extra_config
        state.mkdir(mode=0o700, parents=True, exist_ok=False)
        (state / "jupyterhub_config.py").write_text(config, encoding="utf-8")
        self.log_path = state / "hub.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        env = {
            "PATH": self.path,
            "LANG": "C.UTF-8",
            HUB_ENV_MARK: self.state.name,
            "IPC_HUB_PATH": self.path,
        }
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [f"{self.venv}/bin/jupyterhub", "-f", str(self.state / "jupyterhub_config.py")],
                cwd=self.state,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"jupyterhub exited with status {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                self.api("GET", "/hub/api/")
                return
            except (OSError, HTTPError):
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"jupyterhub did not answer within {timeout} s:\n{self.log_tail()}"
                    ) from None
                time.sleep(0.25)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop the hub: it stops the students' servers and its proxy; then anything left is ended."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        kill_pids(hub_processes)

    # -- HTTP ------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        cookies: CookieJar | None = None,
        form: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> tuple[int, Message, bytes]:
        """One HTTP request through the proxy, redirects not followed. Returns (status, headers, body)."""
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        if token:
            hdrs["Authorization"] = f"token {token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        handlers: list = [_NoRedirect()]
        if cookies is not None:
            handlers.append(urllib.request.HTTPCookieProcessor(cookies))
        opener = urllib.request.build_opener(*handlers)
        try:
            with opener.open(req, timeout=timeout) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()

    def api(self, method: str, path: str, body: object = None, *, token: str | None = None) -> object:
        """A REST call (as the test's admin service unless ``token`` is given); JSON in, JSON out."""
        status, _, data = self.request(method, path, body, token=token or self.service_token)
        if status >= 400:
            raise HTTPError(status, data.decode(errors="replace"))
        return json.loads(data) if data else None

    # -- users and servers -------------------------------------------------

    def add_user(self, student: Student) -> None:
        """Register the student with the hub and give them an API token of their own."""
        try:
            self.api("POST", f"/hub/api/users/{student.name}")
        except HTTPError as exc:
            if exc.status != 409:  # 409: the hub already made it (allowed_users) at its start
                raise
        reply = self.api(
            "POST", f"/hub/api/users/{student.name}/tokens", {"note": "hub test", "expires_in": 7200}
        )
        student.token = reply["token"]  # type: ignore[index]

    def start_server(self, student: Student) -> None:
        """Ask the hub to start the student's single-user server (returns before it is ready)."""
        self.api("POST", f"/hub/api/users/{student.name}/server")

    def wait_ready(self, student: Student, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while True:
            model = self.api("GET", f"/hub/api/users/{student.name}")
            server = model.get("servers", {}).get("")  # type: ignore[union-attr]
            if server and server.get("ready"):
                return
            if not model.get("pending") and not server:  # type: ignore[union-attr]
                raise RuntimeError(f"the server of {student.name} failed to start:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server of {student.name} was not ready within {timeout} s")
            time.sleep(0.5)

    def stop_servers(self, students: list[Student], timeout: float = 120) -> None:
        """Ask the hub to stop these students' servers, all at once, and wait until they are gone."""
        for student in students:
            try:
                self.api("DELETE", f"/hub/api/users/{student.name}/server")
            except HTTPError:
                pass
        deadline = time.monotonic() + timeout
        for student in students:
            while time.monotonic() < deadline:
                model = self.api("GET", f"/hub/api/users/{student.name}")
                if not model.get("servers") and not model.get("pending"):  # type: ignore[union-attr]
                    break
                time.sleep(0.25)

    def login(self, name: str, password: str) -> tuple[int, CookieJar, str]:
        """Log in through the login form, as a browser does. Returns (status, cookies, Location)."""
        jar = CookieJar()
        status, _, page = self.request("GET", "/hub/login", cookies=jar)
        if status != 200:
            raise HTTPError(status, page.decode(errors="replace"))
        xsrf = next((c.value for c in jar if c.name == "_xsrf"), "")
        status, headers, _ = self.request(
            "POST",
            "/hub/login?next=",
            form={"username": name, "password": password, "_xsrf": xsrf},
            cookies=jar,
        )
        return status, jar, headers.get("Location", "")

    def follow(self, path: str, jar: CookieJar, limit: int = 10, trace=None) -> tuple[int, str]:
        """GET ``path`` with a browser's cookies, following redirects. Returns (status, last path)."""
        for _ in range(limit):
            status, headers, _ = self.request("GET", path, cookies=jar)
            location = headers.get("Location")
            if trace is not None:
                trace.append((status, path, location, headers.get("Set-Cookie"), [c.name for c in jar]))
            if status not in (301, 302, 303, 307, 308) or not location:
                return status, path
            parsed = urllib.parse.urlsplit(location)
            path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        return status, path


def copy_cookie(jar: CookieJar, old_name: str, new_name: str, new_path: str) -> CookieJar:
    """A jar holding cookie ``old_name``'s value under ``new_name`` for ``new_path`` (a forged cookie)."""
    source = next(c for c in jar if c.name == old_name)
    forged = CookieJar()
    forged.set_cookie(
        Cookie(0, new_name, source.value, None, False, source.domain, source.domain_specified,
               source.domain_initial_dot, new_path, True, False, None, False, None, None, {})
    )  # fmt: skip
    return forged


def python_in(venv: Path) -> str:
    return f"{venv}/bin/python"


def require_root() -> str | None:
    """Why the hub test cannot run here, or None."""
    if sys.platform != "linux":
        return "the hub test needs Linux"
    if os.geteuid() != 0:
        return (
            "the hub test creates Unix users and starts servers as them, so it needs root "
            "(CI runs as root); run it with sudo: sudo make test-hub"
        )
    return None


if __name__ == "__main__":  # make test-hub-clean
    if len(sys.argv) != 3 or sys.argv[1] != "--sweep":
        sys.exit("usage: hubkit.py --sweep STATE_DIR")
    if os.geteuid() != 0:
        sys.exit("hubkit.py --sweep needs root")
    removed = sweep(Path(sys.argv[2]))
    print("removed:" if removed else "nothing to remove", *removed, sep="\n  ")
