"""Test machinery: what the tests need to make outcomes reproducible and to prove claims under load.

Not reading for learners (the chapters write the system calls out instead):

- ``procs``: launched writers and readers that report timed events, and
  ``wait_until_blocked`` / ``blocked_in``, which ask Linux (``/proc/PID/wchan``)
  whether a process sleeps in a FIFO ``open``, ``read`` or ``write``;
- ``fifo_tools``: opening a FIFO with a timeout, ``bytes_waiting`` (FIONREAD),
  throw-away FIFOs (``temp_fifo``, ``Workspace``);
- ``framing``: length-prefixed messages for the load and fault tests.

Tests import these names from here (``from support import wait_until_blocked``).
"""

from .errors import PeerError, TruncatedMessageError
from .fifo_tools import Workspace, bytes_waiting, open_fifo, path_kind, temp_fifo
from .procs import (
    ChildProcess,
    FifoPeer,
    blocked_in,
    launch_reader,
    launch_writer,
    run_script,
    running_children,
    wait_until_blocked,
)

__all__ = [
    "ChildProcess",
    "FifoPeer",
    "PeerError",
    "TruncatedMessageError",
    "Workspace",
    "blocked_in",
    "bytes_waiting",
    "launch_reader",
    "launch_writer",
    "open_fifo",
    "path_kind",
    "run_script",
    "running_children",
    "temp_fifo",
    "wait_until_blocked",
]
