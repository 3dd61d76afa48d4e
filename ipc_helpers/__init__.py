"""Small, readable helpers for the named-pipes tutorial.

What the chapters use (the system calls themselves are written out in the
cells; these helpers do only what is not the lesson):

- :func:`private_dir`: a private temporary directory for the chapter's FIFOs;
- :func:`make_fifo` and :class:`NotAFifoError`: create a FIFO, or accept one
  of ours, and refuse anything else (chapter 03 builds this recipe);
- :func:`start_writer`, :func:`start_reader`, :func:`start_peer`: run the
  other end, a script from ``notebooks/scripts/``, as a separate process;
- :func:`read_all`: read until end of file;
- :mod:`ipc_helpers.draw`: pictures drawn from what really happened.

Importing this package has no side effects: it opens nothing, starts nothing
and imports neither ipywidgets nor matplotlib.  Every helper says in its
docstring what can block and what it raises.

(Older helpers below are being retired as the chapters are rewritten.)

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

from . import draw
from .errors import FifoTimeoutError, NotAFifoError, PeerError, TruncatedMessageError
from .fifo import Workspace, bytes_waiting, make_fifo, open_fifo, path_kind, private_dir, read_all, temp_fifo
from .peers import Peer, start_peer, start_reader, start_writer
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
    "Peer",
    "PeerError",
    "Workspace",
    "blocked_in",
    "bytes_waiting",
    "launch_reader",
    "launch_writer",
    "make_fifo",
    "open_fifo",
    "draw",
    "path_kind",
    "private_dir",
    "read_all",
    "run_script",
    "running_children",
    "start_peer",
    "start_reader",
    "start_writer",
    "temp_fifo",
    "TruncatedMessageError",
    "wait_until_blocked",
]
