"""Checks on the project's own files: environment files agree, the sanitize file parses."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _spec(requirement: str) -> str:
    """The version part of a requirement, without spaces or comments."""
    requirement = requirement.split("#")[0].strip()
    return requirement[len(_name(requirement)) :].replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["test"]
    return {_name(r): _spec(r) for r in reqs}


def conda_requirements(path: Path) -> dict[str, str]:
    deps: dict[str, str] = {}
    in_deps = False
    for line in path.read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        m = re.match(r"^  - (?!pip:)(\S.*)$", line)
        if in_deps and m:
            deps[_name(m.group(1))] = _spec(m.group(1))
    return deps


@pytest.mark.parametrize("env_file", ["environment.yml", "binder/environment.yml"])
def test_environment_files_match_pyproject(env_file):
    conda = conda_requirements(ROOT / env_file)
    conda.pop("python")
    conda.pop("pip")
    assert conda == pyproject_requirements()


def test_root_environment_installs_the_package_and_binder_postbuild_does():
    assert "      - -e ." in (ROOT / "environment.yml").read_text().splitlines()
    binder_lines = [line.split("#")[0] for line in (ROOT / "binder/environment.yml").read_text().splitlines()]
    assert not any("-e ." in line for line in binder_lines)
    assert "pip install --no-deps -e ." in (ROOT / "binder/postBuild").read_text()


def test_every_upper_pin_has_a_reason():
    for path in [ROOT / "pyproject.toml", ROOT / "environment.yml", ROOT / "binder/environment.yml"]:
        for line in path.read_text().splitlines():
            if re.search(r"<\s*\d", line.split("#")[0]):
                assert "#" in line, f"{path.name}: upper pin without a comment: {line.strip()}"


def test_sanitize_file_parses_into_every_rule():
    from nbval.plugin import get_sanitize_patterns

    raw = (ROOT / "tests/nbval_sanitize.cfg").read_bytes()
    assert raw.isascii(), "nbval 0.11 reads the sanitize file in the locale's encoding: keep it ASCII"
    assert b"\r" not in raw, "CRLF line endings break the patterns"
    text = raw.decode()
    sections = re.findall(r"^\[.+\]$", text, flags=re.MULTILINE)
    patterns = get_sanitize_patterns(text)
    assert len(patterns) == len(sections) >= 2
    for regex, _ in patterns:
        re.compile(regex)


def test_sanitize_rules_do_what_they_say():
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((ROOT / "tests/nbval_sanitize.cfg").read_text())

    def sanitize(s: str) -> str:
        for regex, replace in patterns:
            s = re.sub(regex, replace, s)
        return s

    assert sanitize("'/tmp/ipc-test-run-x1/ipc-tutorial-ab_9Z/my_pipe'") == "'<TMPDIR>/my_pipe'"
    assert sanitize("/private/var/folders/x/T/ipc-tutorial-q/f") == "<TMPDIR>/f"
    assert sanitize("I pid [61032] received a message => Hello from pid [4194303]") == (
        "I pid [<PID>] received a message => Hello from pid [<PID>]"
    )
    assert sanitize("writer pid 9372 and PID: 12") == "writer pid <PID> and PID: <PID>"
    assert sanitize("open() returned after 2.00 s, a read in 0.3 ms, 1.5s") == (
        "open() returned after <T> s, a read in <T> ms, <T> s"
    )
    assert sanitize("/proc says pipe:[4841263]") == "/proc says pipe:[<N>]"
    assert sanitize("64 CPUs, pid_max 65536: PIDs up to 5 digits") == (
        "<N> CPUs, pid_max <N>: PIDs up to <N> digits"
    )
    assert sanitize("cannot open client-48213: No such device") == "cannot open client-<PID>: No such device"
    assert (
        sanitize("5 sockets, 22 bytes, /tmp/other, 3 s, rapid 4")
        == "5 sockets, 22 bytes, /tmp/other, 3 s, rapid 4"
    )
