"""Test machinery: what the tests need to make outputs reproducible and to prove claims under load.

Not reading for learners: `/proc/PID/wchan` polling (is a process asleep in a FIFO open, read or
write?), launched peers that record timed events, opening with a timeout, FIONREAD.  Tests import
these names from here (``from support import wait_until_blocked``), never from the chapters'
helper package, so the machinery can live in tests/ alone.
"""

from ipc_helpers.errors import FifoTimeoutError, PeerError, TruncatedMessageError
from ipc_helpers.fifo import Workspace, bytes_waiting, open_fifo, path_kind, temp_fifo
from ipc_helpers.procs import (
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
    "FifoTimeoutError",
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
