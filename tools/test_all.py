"""Run the whole test suite on every supported Python found here (``make test-all``).

For each of Python 3.10, 3.11, 3.12 and 3.13 that it finds, on PATH
(``python3.12``) or through pyenv (``$(pyenv root)/versions/3.12.*``), it

1. creates the virtual environment ``.venv-3.12`` (again if it was made with
   another interpreter) and installs the project with its test extra into it
   (again when pyproject.toml is newer than the last install);
2. runs what ``make test`` runs: ruff, then pytest with strict nbval on every
   notebook (tests/conftest.py switches nbval to lax mode automatically
   outside Linux);
3. prints one summary line, and keeps the full output in ``.venv-3.12/test-all.log``.

Versions run one after the other (the notebooks are timing-sensitive; do not
overload the machine).  The exit status is 0 only if every version found
passed and at least one was found.

Usage: python tools/test_all.py [--versions 3.11,3.13] [-- extra pytest arguments]
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ["3.10", "3.11", "3.12", "3.13"]
NBVAL_FLAGS = [
    "--nbval",
    "--nbval-current-env",
    "--nbval-sanitize-with",
    "tests/nbval_sanitize.cfg",
    "--nbval-cell-timeout=60",
]
RUFF_PATHS = ["ipc_helpers", "tests", "tools", "benchmarks", "notebooks", "docs/assignments"]  # as make test
# tests/test_project.py reads pyproject.toml with tomllib, which is new in 3.11.
EXTRA_BEFORE_311 = ["tomli"]


def version_of(python: str) -> str | None:
    """'3.12' for a working interpreter, else None."""
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def pyenv_root() -> Path | None:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    if shutil.which("pyenv"):
        out = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
        )
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


def find_python(version: str) -> str | None:
    """An interpreter for ``version`` (e.g. '3.12'): PATH first, then pyenv (newest patch)."""
    candidates = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    root = pyenv_root()
    if root is not None:

        def patch(p: str) -> int:
            m = re.search(rf"/{re.escape(version)}\.(\d+)/", p)
            return int(m.group(1)) if m else -1

        found = glob.glob(str(root / "versions" / f"{version}.*" / "bin" / f"python{version}"))
        candidates += sorted((p for p in found if patch(p) >= 0), key=patch, reverse=True)
    for python in candidates:  # a pyenv shim may exist and still refuse to run
        if version_of(python) == version:
            return python
    return None


def ensure_venv(version: str, python: str, log) -> Path:
    venv = ROOT / f".venv-{version}"
    vpython = venv / "bin" / "python"
    want = subprocess.run(
        [python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True, timeout=30
    ).stdout
    have = ""
    if vpython.exists():
        have = subprocess.run(
            [str(vpython), "-c", "import sys; print(sys.version)"], capture_output=True, text=True, timeout=30
        ).stdout
    if want != have:
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True, stdout=log, stderr=log, timeout=300)
    stamp = venv / ".installed"
    pyproject = ROOT / "pyproject.toml"
    if not stamp.exists() or stamp.stat().st_mtime < pyproject.stat().st_mtime:
        extra = EXTRA_BEFORE_311 if tuple(map(int, version.split("."))) < (3, 11) else []
        subprocess.run(
            [str(vpython), "-m", "pip", "install", "--quiet", "-e", ".[test]", *extra],
            check=True,
            cwd=ROOT,
            stdout=log,
            stderr=log,
            timeout=1800,
        )
        stamp.touch()
    return venv


def summary_of(output: str) -> str:
    """pytest's last line, e.g. '250 passed, 2 skipped in 190.12s'."""
    for line in reversed(output.splitlines()):
        m = re.fullmatch(r"=+ (.+ in [\d.]+s(?: \([\d:]+\))?) =+", line.strip())
        if m:
            return m.group(1)
    return "no pytest summary (see the log)"


def run_version(version: str, pytest_args: list[str]) -> tuple[bool, str]:
    python = find_python(version)
    if python is None:
        return True, f"Python {version}: not found (skipped)"
    venv = ROOT / f".venv-{version}"
    venv.mkdir(exist_ok=True)
    log_path = venv / "test-all.log"
    start = time.monotonic()
    with open(log_path, "w", encoding="utf-8") as log:
        try:
            venv = ensure_venv(version, python, log)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            return False, f"Python {version}: FAILED to set up .venv-{version} ({exc}); see {log_path}"
        exact = version_of_full(venv / "bin" / "python")
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}

        def run_logged(argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
            done = subprocess.run(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            log.write(done.stdout + done.stderr)
            log.flush()
            return done

        ruff = run_logged([str(venv / "bin" / "ruff"), "check", *RUFF_PATHS], 300)
        tests = run_logged([str(venv / "bin" / "python"), "-m", "pytest", *NBVAL_FLAGS, *pytest_args], 3600)
    ok = ruff.returncode == 0 and tests.returncode == 0
    mode = "strict nbval" if sys.platform == "linux" else "lax nbval"
    parts = [
        f"Python {exact}:",
        "ok    " if ok else "FAILED",
        summary_of(tests.stdout),
        f"| ruff {'ok' if ruff.returncode == 0 else 'FAILED'} | {mode}",
        f"| exit {tests.returncode} | {time.monotonic() - start:.0f} s wall",
        f"| log: {log_path.relative_to(ROOT)}",
    ]
    if "left behind" in tests.stdout:
        parts.insert(3, "| LEFT BEHIND")
    return ok, " ".join(parts)


def version_of_full(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", default=",".join(VERSIONS), help="comma-separated, e.g. 3.11,3.13")
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for pytest (after --)")
    args = parser.parse_args(argv)
    results = []
    for version in args.versions.split(","):
        ok, line = run_version(version.strip(), args.pytest_args)
        print(line, flush=True)
        results.append((ok, line))
    ran = [r for r in results if "not found" not in r[1]]
    if not ran:
        print("no supported Python found (3.10 to 3.13 on PATH or through pyenv)")
        return 1
    return 0 if all(ok for ok, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
