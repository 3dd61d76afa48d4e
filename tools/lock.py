"""Write constraints.txt: the exact version of every package installed in a venv (make lock).

Usage: python tools/lock.py VENV_PYTHON [constraints.txt]

Each pin carries the Python version it was made with (``; python_version == "3.11"``): pip
applies only the pins of the Python it installs for, so one file can hold a section per Python
(run ``make lock`` once with each, e.g. ``PYTHON=python3.12 make lock``). On a Python without a
section, ``make test`` installs the newest versions within pyproject.toml's ranges.
The sections of other Pythons are kept; the project itself, pip, setuptools and wheel are left out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

HEADER = """\
# Exact versions the tests passed with (make lock); make test installs with them (pip -c).
# One section per Python version (pip ignores the pins of other versions); all extras installed.
# make test-latest checks the newest versions that pyproject.toml's ranges allow.
"""
MARKER = re.compile(r'^(?P<pin>\S+==\S+)\s*;\s*python_version\s*==\s*"(?P<version>[\d.]+)"\s*$')


def frozen(python: str) -> tuple[str, list[str]]:
    """(major.minor of ``python``, its ``name==version`` lines)."""
    version = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    freeze = subprocess.run(
        [python, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True, check=True
    ).stdout
    return version, sorted((line for line in freeze.splitlines() if "==" in line), key=str.lower)


def merge(existing: str, version: str, pins: list[str]) -> str:
    """The constraints file with ``version``'s section replaced by ``pins``."""
    sections: dict[str, list[str]] = {}
    for line in existing.splitlines():
        m = MARKER.match(line)
        if m and m["version"] != version:
            sections.setdefault(m["version"], []).append(m["pin"])
    sections[version] = pins
    out = [HEADER]
    for v in sorted(sections, key=lambda s: tuple(int(x) for x in s.split("."))):
        out.append(f"\n# Python {v} ({os.uname().sysname} {os.uname().machine})\n")
        out.extend(f'{pin} ; python_version == "{v}"\n' for pin in sections[v])
    return "".join(out)


def main(argv: list[str]) -> int:
    python = argv[0] if argv else sys.executable
    path = Path(argv[1] if len(argv) > 1 else "constraints.txt")
    version, pins = frozen(python)
    existing = path.read_text() if path.exists() else ""
    path.write_text(merge(existing, version, pins))
    print(f"{path}: {len(pins)} exact versions for Python {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
