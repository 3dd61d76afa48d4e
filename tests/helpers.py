"""Small helpers shared by the test modules (pytest puts this folder on sys.path)."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while process ``pid`` exists, zombies included (so False means: exited *and* reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
