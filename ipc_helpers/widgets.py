"""Interactive controls for the notebooks (ipywidgets).

ipywidgets is imported inside the functions that build widgets, never when
this module is imported, so ``import ipc_helpers`` (and even
``import ipc_helpers.widgets``) works without it.  What a widget shows is
computed by ordinary functions in other modules (for example
:func:`ipc_helpers.encoding.fixed_read_report`), which the notebooks also
call in plain cells so that the tests can check their output.

CSS classes (for styling and for browser tests):

- ``fixed_read_explorer()``: the outer box ``ipc-fixed-read``; its sliders
  ``ipc-fixed-read-digits`` ("PID digits") and ``ipc-fixed-read-size``
  ("read size"); the result (an HTML widget) ``ipc-fixed-read-result``.
"""

from __future__ import annotations

import html
from typing import Any

from .encoding import BOOK_READ_SIZE, EXAMPLE_PIDS, fixed_read, fixed_read_report

_STYLE = (
    "<style>"
    ".ipc-bytes{display:flex;flex-wrap:wrap;gap:2px;font-family:monospace;margin:4px 0}"
    ".ipc-bytes span{display:inline-block;min-width:1.2em;padding:2px 1px;text-align:center;"
    "border:1px solid #999;border-radius:2px}"
    ".ipc-bytes .got{background:#c8e6c9}"
    ".ipc-bytes .lost{background:#ffcdd2;text-decoration:line-through}"
    "</style>"
)


def fixed_read_html(pid_digits: int = 7, read_size: int = BOOK_READ_SIZE) -> str:
    """The HTML the fixed-read explorer shows: one box per byte, then the report.

    Bytes that ``os.read(fd, read_size)`` returns are green; bytes left in the
    pipe (and lost when the reader closes) are red and struck through.  Each
    byte is its own element, with its position as a tooltip.  Pure function.
    """
    r = fixed_read(EXAMPLE_PIDS[pid_digits], read_size)
    boxes = "".join(
        f'<span class="{"got" if i < len(r.received) else "lost"}" title="byte {i}">'
        f"{html.escape(chr(b)) if chr(b) != ' ' else '&nbsp;'}</span>"
        for i, b in enumerate(r.message)
    )
    report = html.escape(fixed_read_report(pid_digits, read_size))
    return f'{_STYLE}<div class="ipc-bytes">{boxes}</div><pre>{report}</pre>'


def fixed_read_explorer(pid_digits: int = 7, read_size: int = BOOK_READ_SIZE) -> Any:
    """Build the chapter 05 explorer: what does the book's ``os.read(fd, 22)`` return?

    Two sliders, "PID digits" (1 to 7) and "read size" (1 to 32 bytes), and
    an HTML view updated whenever a slider moves (see :func:`fixed_read_html`).
    Returns the outer ``ipywidgets.VBox``; display it as a cell's last
    expression.  Builds widgets only: opens no pipe, starts no process.
    Raises ``ImportError`` if ipywidgets is not installed.
    """
    import ipywidgets as widgets

    digits = widgets.IntSlider(value=pid_digits, min=1, max=7, description="PID digits")
    size = widgets.IntSlider(value=read_size, min=1, max=32, description="read size")
    result = widgets.HTML(value=fixed_read_html(pid_digits, read_size))
    digits.add_class("ipc-fixed-read-digits")
    size.add_class("ipc-fixed-read-size")
    result.add_class("ipc-fixed-read-result")

    def update(_change: object = None) -> None:
        result.value = fixed_read_html(digits.value, size.value)

    digits.observe(update, names="value")
    size.observe(update, names="value")
    box = widgets.VBox([widgets.HBox([digits, size]), result])
    box.add_class("ipc-fixed-read")
    return box
