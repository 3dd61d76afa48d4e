"""Small, readable helpers for the named-pipes tutorial.

Importing this package has no side effects: it opens nothing, starts nothing
and does not import ipywidgets.  Every helper says in its docstring what can
block and what it raises.

- :func:`make_fifo`, :func:`temp_fifo`, :class:`Workspace`: create FIFOs safely.
- :func:`open_fifo`, :func:`read_all`: open and read with an optional timeout.
- :func:`launch_writer`, :func:`launch_reader`, :func:`run_script`: the other
  end of the FIFO, in a separate process; :func:`wait_until_blocked` and
  :func:`blocked_in` ask Linux whether it is waiting in open, read or write.
- :class:`NotAFifoError`, :class:`FifoTimeoutError`, :class:`PeerError`,
  :class:`TruncatedMessageError`.
- Modules for single chapters: ``framing`` (messages in a byte stream),
  ``show`` (stable printing), ``checks`` (the setup check).
"""

from .errors import FifoTimeoutError, NotAFifoError, PeerError, TruncatedMessageError
from .fifo import Workspace, bytes_waiting, make_fifo, open_fifo, path_kind, read_all, temp_fifo
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
    "FifoTimeoutError",
    "NotAFifoError",
    "PeerError",
    "Workspace",
    "blocked_in",
    "bytes_waiting",
    "launch_reader",
    "launch_writer",
    "make_fifo",
    "open_fifo",
    "path_kind",
    "read_all",
    "run_script",
    "running_children",
    "temp_fifo",
    "TruncatedMessageError",
    "wait_until_blocked",
]
