"""What the setup-check notebook (00) looks at: can this machine run the tutorial?"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _major(version: str | None) -> int | None:
    return int(version.split(".")[0]) if version else None


def setup_checks() -> list[tuple[str, bool]]:
    """Each requirement of the tutorial, as (what is needed, is it met)."""
    return [
        ("Python 3.10 or newer", sys.version_info >= (3, 10)),
        ("os.mkfifo exists (Linux, macOS, WSL; not native Windows)", hasattr(os, "mkfifo")),
        ("JupyterLab 4", _major(_version("jupyterlab")) == 4),
        ("ipywidgets 8", _major(_version("ipywidgets")) == 8),
        ("ipc_helpers installed as a package", _version("ipc-helpers") is not None),
    ]


def print_setup_checks() -> bool:
    """Print one line per requirement and return True when all are met."""
    checks = setup_checks()
    for what, ok in checks:
        print(f"{'ok     ' if ok else 'MISSING'}  {what}")
    return all(ok for _, ok in checks)


def versions() -> dict[str, str | None]:
    """Exact versions, for bug reports."""
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "jupyterlab": _version("jupyterlab"),
        "ipywidgets": _version("ipywidgets"),
        "ipykernel": _version("ipykernel"),
        "nbval": _version("nbval"),
    }
