"""Small, readable helpers for the named-pipes tutorial.

The system calls are written out in the chapters' cells; these helpers do only
what is not the lesson:

- :func:`private_dir`: a private temporary folder for a chapter's FIFOs;
- :func:`make_fifo` and :class:`NotAFifoError`: create a FIFO, or accept one
  of ours, and refuse anything else (chapter 03 builds this recipe);
- :func:`start_writer`, :func:`start_reader`, :func:`start_peer`: run the
  other end, a script from ``notebooks/scripts/``, as a separate process
  (a :class:`Peer`, which is a ``subprocess.Popen``);
- :func:`read_all` and :class:`FifoTimeoutError`: read until end of file;
- :mod:`ipc_helpers.draw`: pictures drawn from what really happened
  (:mod:`ipc_helpers.labels` translates their words);
- :mod:`ipc_helpers.explorer`: the FIFO explorer of chapter 10;
- :mod:`ipc_helpers.checks`: what chapter 00 checks.

Importing this package has no side effects: it opens nothing, starts nothing
and imports neither ipywidgets nor matplotlib.  Every helper says in its
docstring what can block and what it raises.
"""

from . import draw
from .errors import FifoTimeoutError, NotAFifoError
from .fifo import make_fifo, private_dir, read_all
from .peers import Peer, start_peer, start_reader, start_writer

__all__ = [
    "FifoTimeoutError",
    "NotAFifoError",
    "Peer",
    "draw",
    "make_fifo",
    "private_dir",
    "read_all",
    "start_peer",
    "start_reader",
    "start_writer",
]
