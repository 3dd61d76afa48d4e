"""The FIFO explorer's picture, its guided experiments and its buttons.

:func:`draw_svg` draws a :class:`~ipc_helpers.explorer.State` and nothing else (a pure function):
writers on the left, the pipe in the middle with its buffer filling page by page, readers on the
right, an arrow for what each process waits for (dashed while it is blocked), and the last
system calls.  Colours are from the Okabe-Ito palette (safe for colour-blind readers), and every
state is also written out.  The SVG has a ``<title>`` and a ``<desc>`` for screen readers;
:func:`draw_html` adds a visually hidden list.  :func:`explorer_ui` puts buttons around it
(ipywidgets is imported only there).  :data:`EXPERIMENTS`: predict, click, compare.
"""

from __future__ import annotations

import hashlib
import html
from typing import Any
from urllib.parse import quote

# kind -> fill, stroke, dashes: tints of Okabe-Ito blue, yellow, orange/vermillion, and greys
STYLE = {
    "idle": ("#FFFFFF", "#999999", "2 3"),
    "open": ("#DDF0FB", "#0072B2", ""),
    "busy": ("#FBF6C4", "#8C7E00", ""),
    "blocked": ("#FCE6B8", "#D55E00", "7 4"),
    "exited": ("#EEEEEE", "#777777", ""),
    "killed": ("#F6D3C0", "#D55E00", ""),
}
KEY = {"idle": "no FIFO open", "open": "open", "busy": "in a call", "blocked": "blocked (dashed)"}
KEY |= {"exited": "exited", "killed": "killed"}
W, BOX_W, BOX_H, GAP, TOP, PIPE_X, PIPE_W, PIPE_H = 880, 230, 66, 14, 56, 320, 240, 54
SR_ONLY = "position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap"


def _el(tag: str, text: str | None = None, **attrs: Any) -> str:
    """One SVG element; ``class_`` -> class, ``font_size`` -> font-size; text is escaped."""
    attributes = "".join(f' {k.rstrip("_").replace("_", "-")}="{v}"' for k, v in attrs.items() if v != "")
    return f"<{tag}{attributes}/>" if text is None else f"<{tag}{attributes}>{html.escape(text)}</{tag}>"


def _text(x: float, y: float, text: str, size: int = 13, **attrs: Any) -> str:
    return _el("text", text, x=f"{x:g}", y=f"{y:g}", font_size=size, **attrs)


def _rect(x: float, y: float, width: float, height: float, fill: str, stroke: str, **more: Any) -> str:
    size = {"x": f"{x:.1f}", "y": f"{y:g}", "width": f"{width:.1f}", "height": height}
    return _el("rect", **size, fill=fill, stroke=stroke, **more)


def describe_lines(state: Any) -> list[str]:
    """The picture in words, one fact per line: what a screen reader reads."""
    calls = ["last system calls, oldest first: " + "; ".join(map(repr, state.calls))] * bool(state.calls)
    return [" ".join(line.split()) for line in repr(state).splitlines()] + calls


def draw_svg(state: Any) -> str:
    """The picture of ``state`` as an SVG document.  The same state always gives the same SVG."""
    # Ids for aria-labelledby and the arrow head: the same for the same picture (also in another run).
    uid = "ipc-fx-" + hashlib.sha256("\n".join(describe_lines(state)).encode()).hexdigest()[:10]
    sides = {r: [p for p in state.processes if p.role == r] for r in ("writer", "reader")}
    rows = max(1, *map(len, sides.values()))
    mid = TOP + (rows * (BOX_H + GAP) - GAP) / 2
    calls_y = TOP + rows * (BOX_H + GAP) + 30
    height = calls_y + 22 * max(len(state.calls), 1) + 50
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="ipc-fifo-svg" role="img" width="100%" '
        f'viewBox="0 0 {W} {height:g}" style="max-width:{W}px" font-family="sans-serif" '
        f'aria-labelledby="{uid}-t {uid}-d">',
        _el("title", f"FIFO explorer: {state.fifo}", id=f"{uid}-t"),
        _el("desc", ". ".join(describe_lines(state)), id=f"{uid}-d"),
        f'<defs><marker id="{uid}-a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>',
        _text(10, 22, "writers", 15, font_weight="bold"),
        _text(W - 10, 22, "readers", 15, font_weight="bold", text_anchor="end"),
        _text(PIPE_X + PIPE_W / 2, 22, f"FIFO {state.fifo}", 15, font_weight="bold", text_anchor="middle"),
        *_pipe(state, mid),
    ]
    for role, x in (("writer", 10), ("reader", W - 10 - BOX_W)):
        n = len(sides[role])
        for i, p in enumerate(sides[role]):  # arrows meet the pipe's end side by side
            end = mid + min(14, 44 / max(n - 1, 1)) * (i - (n - 1) / 2)
            out += _box(p, x, TOP + i * (BOX_H + GAP), end, uid)
    out.append(_text(10, calls_y, "last system calls (oldest first)", 14, font_weight="bold"))
    for i, call in enumerate(state.calls):
        y, red = calls_y + 22 * (i + 1), "#D55E00" if call.error else ""
        out.append(_text(10, y, call.who, fill="#555555"))
        out.append(_text(95, y, call.text, font_family="monospace"))
        result = "-> " + ("... (not returned)" if call.result is None else call.result)
        out.append(_text(430, y, result, font_family="monospace", fill=red, font_weight="bold" * bool(red)))
    if not state.calls:
        out.append(_text(10, calls_y + 22, "none yet", fill="#555555"))
    x = 48
    out.append(_text(10, height - 12, "key:", 12, fill="#555555"))
    for kind, words in KEY.items():
        fill, stroke, dash = STYLE[kind]
        out.append(_rect(x, height - 23, 18, 14, fill, stroke, rx=3, stroke_width=2, stroke_dasharray=dash))
        out.append(_text(x + 24, height - 12, words, 12))
        x += 34 + 7 * len(words)
    return "\n".join(out + ["</svg>"])


def _pipe(state: Any, mid: float) -> list[str]:
    y, centre = mid - PIPE_H / 2, PIPE_X + PIPE_W / 2
    dash = "6 4" * (state.bytes is None)
    out = [
        '<g class="ipc-pipe">',
        _rect(PIPE_X, y, PIPE_W, PIPE_H, "#F4F8FB", "#0072B2", rx=10, stroke_dasharray=dash),
    ]
    if state.bytes is None:
        gone = "shut down: the FIFO is removed" if state.closed else "no pipe: nobody has it open"
        out.append(_text(centre, mid + 5, gone, 12, text_anchor="middle"))
        label = "the kernel frees the buffer when the last end closes"
    else:
        pages = state.capacity // state.page if state.capacity else 1
        size = state.page if state.capacity else max(state.bytes, 1)
        cell = (PIPE_W - 8) / pages
        for i in range(pages):  # one cell per page, filled as far as the bytes reach
            filled = min(max(state.bytes - i * size, 0), size) / size
            x = PIPE_X + 4 + i * cell
            out.append(_rect(x, y + 6, cell - 1, PIPE_H - 12, "#FFFFFF", "#B8CCDA"))
            if filled:
                fill = _rect(x, y + 6, (cell - 1) * filled, PIPE_H - 12, "#0072B2", "", class_="ipc-fill")
                out.append(fill)
        label = f"{state.bytes} bytes in the pipe"
        if state.capacity:
            label = f"{state.bytes} of {state.capacity} bytes: {pages} pages of {state.page}"
    out.append(_text(centre, y + PIPE_H + 20, label, 12, text_anchor="middle", class_="ipc-pipe-label"))
    out.append(_text(centre, y - 10, "bytes flow this way →", 11, fill="#555555", text_anchor="middle"))
    return out + ["</g>"]


def _box(p: Any, x: float, y: float, mid: float, uid: str) -> list[str]:
    """A process as a box, and its arrow to the pipe (drawn the way the bytes flow)."""
    fill, stroke, dash = STYLE[p.kind]
    blocked = p.kind == "blocked"
    detail = f"fd {p.fd}  {p.flags}" if p.fd is not None else ""
    detail = f"waits for {p.waits_for}" if p.waits_for else detail
    out = [
        f'<g class="ipc-proc ipc-{p.kind}" data-name="{html.escape(p.name)}">',
        _rect(x, y, BOX_W, BOX_H, fill, stroke, rx=6, stroke_width=2 + blocked, stroke_dasharray=dash),
        _text(x + 10, y + 19, p.name + " (C-like)" * (p.sigpipe == "default"), 14, font_weight="bold"),
        _text(x + BOX_W - 10, y + 19, f"pid [{p.pid}]" * bool(p.pid), 11, fill="#555555", text_anchor="end"),
        _text(x + 10, y + 39, p.state, class_="ipc-state"),
        _text(x + 10, y + 57, detail or {"killed": "died inside its system call"}.get(p.kind, ""), 11),
        "</g>",
    ]
    if p.kind in ("open", "busy") and p.fd is not None or blocked:
        (x1, y1), (x2, y2) = (x + BOX_W, y + BOX_H / 2), (PIPE_X, mid)  # from the box to the pipe
        if p.role == "reader":
            (x1, y1), (x2, y2) = (PIPE_X + PIPE_W, mid), (x, y + BOX_H / 2)  # from the pipe to the box
        ends = {"x1": f"{x1 + 3:g}", "y1": y1, "x2": f"{x2 - 4:g}", "y2": y2}
        colour = stroke if blocked else "#444444"
        line = _el("line", class_="ipc-arrow", stroke=colour, stroke_width=2.5, stroke_dasharray=dash, **ends)
        out.append(line[:-2] + f' marker-end="url(#{uid}-a)">')
        if p.waits_for:  # a tooltip on the arrow
            out.append(_el("title", f"{p.name} waits for {p.waits_for}"))
        out.append("</line>")
    return out


def draw_img(state: Any) -> str:
    """The SVG as an ``<img>`` whose ``alt`` is the picture in words (what Jupyter shows in a cell).

    Percent-encoded, not base64, so the text in it stays readable (and its pids rewritable).
    """
    source = quote(draw_svg(state), safe=" <>[]/=:;,.'()!*@+$?-_~")
    alt = html.escape(". ".join(describe_lines(state)))
    style = f"max-width:{W}px;width:100%"
    return f'<img class="ipc-fifo-img" alt="{alt}" style="{style}" src="data:image/svg+xml,{source}">'


def draw_html(state: Any) -> str:
    """The SVG plus the same facts as a visually hidden list, for screen readers."""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in describe_lines(state))
    hidden = f'<ul class="ipc-sr-only" style="{SR_ONLY}">{items}</ul>'
    return f'<div class="ipc-fifo-view">{draw_svg(state)}{hidden}</div>'


# Guided experiments: (title, writers, setup, predict, steps, answer, expected).  Steps are
# "action: process[: option]" separated by ";"; an option is nonblock, rdwr, data, or a byte count;
# "C-like" adds a C-like writer.  The unit tests run the steps and find each expected text in the
# calls or the state: the answers are what really happens.
EXPERIMENTS = [
    (
        "End of file only after the last writer closes",
        2,
        "open: reader; open: writer 1; open: writer 2; write: writer 1: hi",
        "Writer 1 closes. What do the reader's next two reads return?",
        "close: writer 1; read: reader; read: reader; close: writer 2",
        "The first read returns b'hi': data outlives its writer. The second read blocks, because writer 2 "
        "still has the FIFO open and more data could come. Only when writer 2 closes does that read "
        "return b'', end of file.",
        ("-> b'hi'", "read(3, 100) -> b'' (end of file)"),
    ),
    (
        "POLLHUP stays set",
        1,
        "open: reader: nonblock; open: writer 1; write: writer 1: bye; close: writer 1",
        "The only writer wrote b'bye' and closed. What does poll report now, after the reader has read "
        "everything, and once a writer opens again?",
        "poll: reader; read: reader; poll: reader; read: reader; poll: reader; open: writer 1; poll: reader",
        "POLLIN|POLLHUP (data, and no writer), then POLLHUP alone, again and again, even after read "
        "returned b'': a loop around poll would spin. Only a new writer clears it: poll reports nothing.",
        ("-> POLLIN|POLLHUP", "-> POLLHUP", "-> nothing"),
    ),
    (
        "O_NONBLOCK on open: ENXIO, and the first b''",
        1,
        "",
        "Nobody has the FIFO open. Writer 1 opens with O_NONBLOCK; then the reader opens with O_NONBLOCK "
        "and reads. What happens? And once a writer is there?",
        "open: writer 1: nonblock; open: reader: nonblock; read: reader: nonblock; open: writer 1; "
        "read: reader: nonblock",
        "The writer's open fails with ENXIO: no reader. The reader's open returns at once, and its read "
        "returns b'' although no writer has ever come: not a real end of file. With a writer there, the "
        "same read fails with EAGAIN: empty, but more may come.",
        ("-> ENXIO", "read(3, 100) -> b'' (end of file)", "-> EAGAIN"),
    ),
    (
        "The reader leaves while writers wait: a partial count, or death by SIGPIPE",
        1,
        "C-like; open: reader; open: writer 1; open: writer 2; write: writer 1: 100000; write: writer 2: 10",
        "Both writers are blocked in write(): writer 1 (Python) with 100000 bytes, writer 2 (C-like) "
        "with 10. The reader exits. What happens to each?",
        "exit: reader",
        "Both get SIGPIPE inside the very write they are blocked in. Python ignores SIGPIPE, so writer 1's "
        "write returns the partial count 65536 (its next write would fail with EPIPE). Writer 2 keeps the "
        "default action, as a C program does: it dies inside write() and never learns what it wrote.",
        ("-> 65536 (of 100000)", "killed by SIGPIPE"),
    ),
    (
        "O_RDWR: a reader that never sees end of file",
        1,
        "open: reader: rdwr; open: writer 1; write: writer 1: x; close: writer 1",
        "The reader opened with O_RDWR (without waiting). The only writer wrote b'x' and closed. What do "
        "two reads without waiting return, and what does poll report?",
        "read: reader: nonblock; read: reader: nonblock; poll: reader",
        "b'x', then EAGAIN instead of b'', and no POLLHUP: the reader is a writer too, so a writer is "
        "always there. A server can use this to outlive its clients (Linux only: POSIX leaves it undefined).",
        ("-> b'x'", "-> EAGAIN", "-> nothing"),
    ),
]


def run_step(lab: Any, step: str) -> Any:
    """Do one experiment step (see :data:`EXPERIMENTS`) on ``lab``; return what the action returns."""
    action, name, *option = [part.strip() for part in step.split(":")]
    kwargs: dict[str, Any] = {o: True for o in option if o in ("nonblock", "rdwr")}
    if action == "write":
        kwargs["data"] = b"x" * int(option[0]) if option[0].isdigit() else option[0]
    return getattr(lab, action)(name, **kwargs)


def set_up(lab: Any, experiment: tuple) -> None:
    """Start the experiment's processes afresh and make its setup calls."""
    lab.reset(writers=experiment[1])
    for step in filter(None, experiment[2].split(";")):
        lab.add("writer", sigpipe="default") if step == "C-like" else run_step(lab, step)


def _experiment_html(e: tuple) -> str:
    """Predict, click (the buttons of the steps, in order), compare (collapsed)."""
    clicks = []
    for step in e[4].split(";"):
        action, name, *option = [part.strip() for part in step.split(":")]
        label = f"O_{option[0].upper()} + {action}" if option else action
        label = "read (no wait)" if action == "read" and option else label
        clicks.append(f"<b>{label}</b> on {html.escape(name)}")
    return (
        f"<b>Predict.</b> {html.escape(e[3])}<br><b>Click.</b> {', then '.join(clicks)}.<details>"
        f"<summary><b>Compare</b> (open after clicking)</summary>{html.escape(e[5])}</details>"
    )


def explorer_ui(lab: Any = None) -> Any:
    """Buttons around a :class:`~ipc_helpers.explorer.FifoExplorer` (a new one if ``None``).

    Returns an ipywidgets ``VBox`` (class ``ipc-explorer``; ``box.explorer`` is the explorer).  The
    picture is an ``HTML`` widget (``ipc-explorer-view``) showing :func:`draw_html`.  Each process has
    a row (``ipc-row-<name>``, spaces as ``-``) with the buttons ``ipc-open`` (toggles ``ipc-nonblock``,
    ``ipc-rdwr``), ``ipc-read``, ``ipc-read-nb``, ``ipc-write``, ``ipc-poll``, ``ipc-close``,
    ``ipc-exit``, ``ipc-remove``; a button that makes no sense now is disabled and its tooltip says
    why.  Also: ``ipc-add-writer``, ``ipc-add-c-writer``, ``ipc-add-reader``, ``ipc-write-data``,
    ``ipc-write-amount``, ``ipc-read-size``, ``ipc-experiment``, ``ipc-experiment-setup``,
    ``ipc-experiment-text``, and ``ipc-message`` for a refused click.  A click returns once the
    processes have settled (milliseconds).
    """
    import ipywidgets as w

    from .explorer import ExplorerError, FifoExplorer

    lab = lab if lab is not None else FifoExplorer()

    def widget(kind: Any, css: str, width: str = "auto", **kw: Any) -> Any:
        made = kind(layout=w.Layout(width=width), **kw)
        made.add_class(css)
        return made

    view, message, text = [
        widget(w.HTML, f"ipc-{c}") for c in ("explorer-view", "message", "experiment-text")
    ]
    data = widget(w.Text, "ipc-write-data", "16em", value="hello", description="write data")
    amounts = [("as typed", 0), ("100000 bytes", 100000)]
    amount = widget(w.Dropdown, "ipc-write-amount", "9em", options=amounts)
    size = widget(w.Dropdown, "ipc-read-size", "11em", options=[1, 5, 100, 4096, 65536], value=100)
    size.description, titles = "read n", [(e[0], i) for i, e in enumerate(EXPERIMENTS)]
    choose = widget(w.Dropdown, "ipc-experiment", "36em", options=titles)
    rows, built = w.VBox(), {}

    def button(css: str, label: str, do: Any) -> Any:
        def click(_button: Any) -> None:
            message.value = ""
            try:
                do()
            except ExplorerError as exc:
                message.value = f"<b>refused:</b> {html.escape(str(exc))}"
            except Exception as exc:  # a callback must never raise into the front end
                message.value = f"<b>{type(exc).__name__}:</b> {html.escape(str(exc))}"
            render()

        made = widget(w.Button, css, description=label)
        made.on_click(click)
        return made

    def payload() -> bytes:
        typed = data.value.encode()
        return ((typed or b"x") * amount.value)[: amount.value] if amount.value else typed

    def row(name: str, role: str) -> tuple[Any, dict[str, Any]]:
        flags = ("nonblock", "rdwr")
        ops = {o: widget(w.ToggleButton, f"ipc-{o}", description=f"O_{o.upper()}") for o in flags}
        ops["open"] = button("ipc-open", "open", lambda: lab.open(name, **{o: ops[o].value for o in flags}))
        if role == "reader":
            ops["read"] = button("ipc-read", "read", lambda: lab.read(name, size.value))
            ops["read-nb"] = button("ipc-read-nb", "read (no wait)", lambda: lab.read(name, size.value, True))
        else:
            ops["write"] = button("ipc-write", "write", lambda: lab.write(name, payload()))
        for op in ("poll", "close", "exit", "remove"):
            ops[op] = button(f"ipc-{op}", op, lambda op=op: getattr(lab, op)(name))
        label = widget(w.HTML, "ipc-name", "5.5em", value=f"<b>{html.escape(name)}</b>")
        order = ["open", "nonblock", "rdwr"] + [o for o in ops if o not in ("open", "nonblock", "rdwr")]
        box = w.HBox([label] + [ops[o] for o in order])
        box.add_class(f"ipc-row-{name.replace(' ', '-')}")
        return box, ops

    same = {"read-nb": "read", "nonblock": "open", "rdwr": "open"}  # these buttons ask as these actions

    def render() -> None:
        state = lab.state()
        view.value = draw_html(state)
        built.update({p.name: built.get(p.name) or row(p.name, p.role) for p in state.processes})
        rows.children = [built[n][0] for n in lab.names]
        for name in lab.names:
            for op, control in built[name][1].items():
                reason = lab.why_not(name, same.get(op, op))
                control.disabled, control.tooltip = reason is not None, reason or f"{op}: the {name} process"
        for control in extra:
            control.disabled = lab.closed

    extra = [
        button("ipc-add-writer", "add a writer", lambda: lab.add("writer")),
        button("ipc-add-c-writer", "add a C-like writer (SIGPIPE kills)", lambda: lab.add(sigpipe="default")),
        button("ipc-add-reader", "add a reader", lambda: lab.add("reader")),
        button("ipc-experiment-setup", "set up", lambda: set_up(lab, EXPERIMENTS[choose.value])),
    ]
    choose.observe(lambda _: setattr(text, "value", _experiment_html(EXPERIMENTS[choose.value])), "value")
    text.value = _experiment_html(EXPERIMENTS[0])
    lab.on_change(render)
    render()
    head = w.HBox([w.HTML("<b>Experiment:</b>&nbsp;"), choose, extra[3]])
    box = w.VBox([head, text, view, message, rows, w.HBox(extra[:3]), w.HBox([data, amount, size])])
    box.add_class("ipc-explorer")
    box.explorer = lab
    return box
