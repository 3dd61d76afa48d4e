"""The FIFO explorer's picture, its guided experiments and its buttons.

:func:`draw_svg` draws a :class:`~ipc_helpers.explorer.State` and nothing else (a pure function):
writers on the left, the pipe in the middle filling page by page, readers on the right; a solid
arrow from each process that has the FIFO open, a dashed one from a blocked process to what it
waits for; the last system calls.  Okabe-Ito colours (colour-blind safe), every state also in
words, a ``<title>`` and ``<desc>``; :func:`draw_html` adds a visually hidden list for screen
readers.  :func:`explorer_ui` puts buttons around it.  :data:`EXPERIMENTS`: predict, click, compare.
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
ARROWS = {"": "has the FIFO open (bytes flow this way)", "7 4": "blocked: waits for what it points at"}
CALLS = "last system calls, in the order they were made (a result shows once its call returns)"
W, BOX_W, BOX_H, GAP, TOP, PIPE_X, PIPE_W, PIPE_H = 880, 230, 58, 10, 56, 320, 240, 54
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
    calls = [f"{CALLS}: " + "; ".join(map(repr, state.calls))] * bool(state.calls)
    return [" ".join(line.split()) for line in repr(state).splitlines()] + calls


def draw_svg(state: Any) -> str:
    """The picture of ``state`` as an SVG document.  The same state always gives the same SVG."""
    # Ids for aria-labelledby and the arrow head: the same for the same picture (also in another run).
    uid = "ipc-fx-" + hashlib.sha256("\n".join(describe_lines(state)).encode()).hexdigest()[:10]
    sides = {r: [p for p in state.processes if p.role == r] for r in ("writer", "reader")}
    rows = max(1, *map(len, sides.values()))
    mid = TOP + (rows * (BOX_H + GAP) - GAP) / 2
    calls_y = TOP + rows * (BOX_H + GAP) + 30
    height = calls_y + 20 * max(len(state.calls), 1) + 70
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
    where = {}
    for role, x in (("writer", 10), ("reader", W - 10 - BOX_W)):
        n = len(sides[role])
        for i, p in enumerate(sides[role]):  # arrows meet the pipe's end side by side
            end = mid + min(14, 44 / max(n - 1, 1)) * (i - (n - 1) / 2)
            where[p.name] = (x + BOX_W * (role == "writer"), TOP + i * (BOX_H + GAP) + 12)
            out += _box(p, x, TOP + i * (BOX_H + GAP), end, uid)
    out += _waits(state, where, uid)
    out.append(_text(10, calls_y, CALLS, 14, font_weight="bold"))
    for i, call in enumerate(state.calls):
        y, red = calls_y + 20 * (i + 1), "#D55E00" if call.error else ""
        out.append(_text(10, y, call.who, fill="#555555"))
        out.append(_text(95, y, call.text, font_family="monospace"))
        result = "-> " + ("... (not returned)" if call.result is None else call.result)
        out.append(_text(430, y, result, font_family="monospace", fill=red, font_weight="bold" * bool(red)))
    if not state.calls:
        out.append(_text(10, calls_y + 20, "none yet", fill="#555555"))
    x = 48
    out.append(_text(10, height - 34, "key:", 12, fill="#555555"))
    for kind, words in KEY.items():
        fill, stroke, dash = STYLE[kind]
        out.append(_rect(x, height - 45, 18, 14, fill, stroke, rx=3, stroke_width=2, stroke_dasharray=dash))
        out.append(_text(x + 24, height - 34, words, 12))
        x += 34 + 7 * len(words)
    for x, (dash, words) in zip((48, 420), ARROWS.items(), strict=True):  # arrows: a second line
        ends = {"x1": x, "y1": height - 16, "x2": x + 30, "y2": height - 16, "stroke_dasharray": dash}
        colour = STYLE["blocked"][1] if dash else "#444444"
        line = _el("line", class_="ipc-key-arrow", stroke=colour, stroke_width=2.5, **ends)
        out += [line[:-2] + f' marker-end="url(#{uid}-a)"/>', _text(x + 38, height - 12, words, 12)]
    return "\n".join(out + ["</svg>"])


def _pipe(state: Any, mid: float) -> list[str]:
    y, centre = mid - PIPE_H / 2, PIPE_X + PIPE_W / 2
    dash = "6 4" * (state.bytes is None)
    out = [
        '<g class="ipc-pipe">',
        _rect(PIPE_X, y, PIPE_W, PIPE_H, "#F4F8FB", "#0072B2", rx=10, stroke_dasharray=dash),
    ]
    if state.bytes is None:
        gone = "shut down: the FIFO is removed" if state.closed else "no process has it open"
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
            if filled:  # at least 2 wide: a few bytes stay visible
                width = max((cell - 1) * filled, 2)
                out.append(_rect(x, y + 6, width, PIPE_H - 12, "#0072B2", "", class_="ipc-fill"))
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
        _text(x + 10, y + 18, p.name + " (C-like)" * (p.sigpipe == "default"), 14, font_weight="bold"),
        _text(x + BOX_W - 10, y + 18, f"pid [{p.pid}]" * bool(p.pid), 11, fill="#555555", text_anchor="end"),
        _text(x + 10, y + 36, p.state, class_="ipc-state"),
        _text(x + 10, y + 51, detail or {"killed": "died inside its system call"}.get(p.kind, ""), 11),
        "</g>",
    ]
    if p.fd is not None or blocked:  # solid: the way bytes flow; dashed: blocked in open()
        box = (x + BOX_W, y + BOX_H / 2) if p.role == "writer" else (x, y + BOX_H / 2)  # the sides that
        pipe = (PIPE_X, mid) if p.role == "writer" else (PIPE_X + PIPE_W, mid)  # face each other
        (x1, y1), (x2, y2) = (pipe, box) if p.role == "reader" and p.fd is not None else (box, pipe)
        ends = {"x1": f"{x1 + 3:g}", "y1": y1, "x2": f"{x2 - 4:g}", "y2": y2}
        dash, colour = ("7 4", stroke) if p.fd is None else ("", "#444444")
        line = _el("line", class_="ipc-arrow", stroke=colour, stroke_width=2.5, stroke_dasharray=dash, **ends)
        out.append(line[:-2] + f' marker-end="url(#{uid}-a)">')
        if p.fd is None:  # a tooltip on the arrow
            out.append(_el("title", f"{p.name} waits for {p.waits_for}"))
        out.append("</line>")
    return out


def _waits(state: Any, where: dict[str, tuple[float, float]], uid: str) -> list[str]:
    """A dashed arc, over the pipe, from a process blocked in read() or write() to each process on
    the other side that has the FIFO open: that one's write (or read), or its close, ends the wait."""
    out = []
    for p in state.processes:
        for q in [q for q in state.processes if q.role != p.role and q.fd is not None]:
            if p.kind != "blocked" or p.fd is None:
                break
            (x1, y1), (x2, y2) = where[p.name], where[q.name]
            top, bend = min(y1, y2) - 40, 90 if x1 < x2 else -90
            what = "a write" if p.role == "reader" else "a read"
            out += [
                f'<path class="ipc-wait" data-from="{p.name}" data-to="{q.name}" fill="none" '
                f'stroke="#D55E00" stroke-width="2.5" stroke-dasharray="7 4" marker-end="url(#{uid}-a)" '
                f'd="M{x1:g},{y1:g} C{x1 + bend:g},{top:g} {x2 - bend:g},{top:g} {x2:g},{y2:g}">',
                _el("title", f"{p.name} waits for {q.name}: {what}, or its close"),
                "</path>",
            ]
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
# calls or the state: the answers are what really happens.  Titles name no result.
EXPERIMENTS = [
    ("Two writers, one reader", 2,
        "open: reader; open: writer 1; open: writer 2; write: writer 1: hi",
        "Writer 1 closes. What do the reader's next two reads return?",
        "close: writer 1; read: reader; read: reader; close: writer 2",
        "b'hi' (data outlives its writer), then the read blocks: writer 2 could still write. It "
        "returns b'', end of file, only when writer 2, the last writer, closes.",
        ("-> b'hi'", "read(3, 100) -> b'' (end of file)"),
    ), ("poll after the only writer closes", 1,
        "open: reader: nonblock; open: writer 1; write: writer 1: bye; close: writer 1",
        "Writer 1 wrote b'bye' and closed. What does poll report now, after the reader has read "
        "everything, and once a writer opens again?",
        "poll: reader; read: reader; poll: reader; read: reader; poll: reader; open: writer 1; poll: reader",
        "POLLIN|POLLHUP (data, no writer), then POLLHUP alone, again and again, while read returns "
        "b'' at once: a poll loop would spin. A new writer clears it: nothing.",
        ("-> POLLIN|POLLHUP", "-> POLLHUP", "-> nothing"),
    ), ("O_NONBLOCK on open", 1, "",
        "Nobody has the FIFO open. Writer 1 opens with O_NONBLOCK; then the reader does, and reads "
        "without waiting. What happens? And once a writer is there?",
        "open: writer 1: nonblock; open: reader: nonblock; read: reader: nonblock; open: writer 1; "
        "read: reader: nonblock",
        "ENXIO: no reader. The reader's open returns at once; its read returns b'' although no writer "
        "has come yet (not end of file). With a writer there: EAGAIN, empty but more may come.",
        ("-> ENXIO", "read(3, 100) -> b'' (no writer yet)", "-> EAGAIN"),
    ), ("The reader leaves two blocked writers", 1,
        "C-like; open: reader; open: writer 1; open: writer 2; write: writer 1: 100000; write: writer 2: 10",
        "Writer 1 (Python) is blocked writing 100000 bytes, writer 2 (C-like) writing 10. The reader "
        "exits. What happens to each writer?",
        "exit: reader",
        "Both get SIGPIPE inside the write they are blocked in. Python ignores it: writer 1's write "
        "returns 65536, what went in, and its next write fails with EPIPE. Writer 2 dies in write().",
        ("-> 65536 (of 100000)", "killed by SIGPIPE"),
    ), ("O_RDWR on the reader's side", 1,
        "open: reader: rdwr; open: writer 1; write: writer 1: x; close: writer 1",
        "The reader opened with O_RDWR. The only writer wrote b'x' and closed. What do two reads "
        "without waiting return, and what does poll report?",
        "read: reader: nonblock; read: reader: nonblock; poll: reader",
        "b'x', then EAGAIN, not b'', and no POLLHUP: the reader holds a write end itself (Linux only).",
        ("-> b'x'", "-> EAGAIN", "-> nothing"),
    ),
]
# What each button does: its tooltip (a row's after the process's name) while it can be clicked.
TIPS = {
    "open": "os.open() the FIFO (O_RDONLY or O_WRONLY), with the options pressed to its right",
    "nonblock": "press, then click open: the open gets O_NONBLOCK",
    "rdwr": "press, then click open: the open uses O_RDWR (read and write)",
    "read": "os.read(fd, n), n as set in 'read n' below",
    "read-nb": "os.read(fd, n) with O_NONBLOCK set on the descriptor first",
    "write": "os.write(fd, data), the data as set below",
    "poll": "poll() the descriptor with timeout 0: the events now",
    "close": "os.close(fd)",
    "exit": "the process exits, even in a call; the kernel closes its descriptor",
    "remove": "end the process if it runs and take its row away (the FIFO stays)",
    "add-writer": "start one more writer process",
    "add-c-writer": "a writer that keeps SIGPIPE's default action, as a C program does",
    "add-reader": "start one more reader process",
    "experiment-setup": "fresh processes, options off, and this experiment's first calls",
    "reset": "end every process; start a reader and a writer (the FIFO stays)",
}
SHUT = "<b>This explorer is shut down</b>: its processes have ended. <b>start afresh</b> starts new ones."
# Shown only once the widget has lost its Jupyter kernel (ipywidgets marks it disconnected).
STALE = (
    "<style>.ipc-stale{display:none}.jupyter-widgets-disconnected .ipc-stale{display:block}</style>"
    '<p class="ipc-stale" style="border:2px solid #D55E00;padding:4px 8px"><b>This explorer has stopped</b>: '
    "its Jupyter kernel was restarted or shut down, and its processes are gone. The picture is the "
    "last one drawn and the buttons do nothing. Run the cell again for a new explorer.</p>"
)


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


def _experiment_html(e: tuple) -> tuple[str, str]:
    """Predict and click (the buttons of the steps, in order); compare (collapsed)."""
    clicks = []
    for step in e[4].split(";"):
        action, name, *option = [part.strip() for part in step.split(":")]
        label = f"O_{option[0].upper()} + {action}" if option else action
        label = "read (no wait)" if action == "read" and option else label
        clicks.append(f"<b>{label}</b> on {html.escape(name)}")
    compare = f"<details><summary><b>Compare</b> (open after clicking)</summary>{html.escape(e[5])}</details>"
    return f"<b>Predict.</b> {html.escape(e[3])}<br><b>Click.</b> {', then '.join(clicks)}.", compare


def explorer_ui(lab: Any) -> Any:
    """Buttons around a :class:`~ipc_helpers.explorer.FifoExplorer`.

    Returns an ipywidgets ``VBox`` (class ``ipc-explorer``; ``box.explorer`` is the explorer).  CSS
    classes (the DOM contract): ``ipc-explorer-view`` (the picture, :func:`draw_html`); a row per
    process, ``ipc-row-<name>`` (spaces as ``-``), with ``ipc-`` + each key of :data:`TIPS` (the
    toggles ``ipc-nonblock``/``ipc-rdwr`` reset after each open); the other keys of TIPS, and
    ``ipc-write-data``, ``ipc-write-amount``, ``ipc-read-size``, ``ipc-experiment``,
    ``ipc-experiment-text``, ``ipc-experiment-answer``, ``ipc-message``, ``ipc-stale``.
    """
    import ipywidgets as w

    from .explorer import ExplorerError

    def widget(kind: Any, css: str, width: str = "auto", **kw: Any) -> Any:
        made = kind(layout=w.Layout(width=width), **kw)
        made.add_class(css)
        return made

    parts = ("explorer-view", "message", "experiment-text", "experiment-answer")
    view, message, text, answer = [widget(w.HTML, f"ipc-{c}") for c in parts]
    data = widget(w.Text, "ipc-write-data", "16em", value="hello", description="write data")
    amounts = [("as typed", 0), ("100000 bytes", 100000)]
    amount = widget(w.Dropdown, "ipc-write-amount", "9em", options=amounts)
    size = widget(w.Dropdown, "ipc-read-size", "11em", options=[1, 5, 100, 4096, 65536], value=100)
    size.description, titles = "read n", [(e[0], i) for i, e in enumerate(EXPERIMENTS)]
    choose = widget(w.Dropdown, "ipc-experiment", "24em", options=titles)
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

        made = widget(w.Button, css, description=label, tooltip=TIPS.get(css[4:], ""))
        made.on_click(click)
        return made

    def payload() -> bytes:
        typed = data.value.encode()
        return ((typed or b"x") * amount.value)[: amount.value] if amount.value else typed

    def pressed(change: Any) -> None:  # a pressed option is blue with a check mark, not just darker
        change.owner.button_style, change.owner.icon = ("info", "check") if change.new else ("", "")

    def untoggle(names: Any = None) -> None:
        for name in built if names is None else names:
            built[name][1]["nonblock"].value = built[name][1]["rdwr"].value = False

    def opened(name: str, ops: dict[str, Any]) -> None:
        try:
            lab.open(name, nonblock=ops["nonblock"].value, rdwr=ops["rdwr"].value)
        finally:
            untoggle([name])  # the options were for this open

    def row(name: str, role: str) -> tuple[Any, dict[str, Any]]:
        ops = {"open": button("ipc-open", "open", lambda: opened(name, ops))}  # then its options
        for o in ("nonblock", "rdwr"):
            ops[o] = widget(w.ToggleButton, f"ipc-{o}", description=f"O_{o.upper()}")
            ops[o].observe(pressed, "value")
        if role == "reader":
            ops["read"] = button("ipc-read", "read", lambda: lab.read(name, size.value))
            ops["read-nb"] = button("ipc-read-nb", "read (no wait)", lambda: lab.read(name, size.value, True))
        else:
            ops["write"] = button("ipc-write", "write", lambda: lab.write(name, payload()))
        for op in ("poll", "close", "exit", "remove"):
            ops[op] = button(f"ipc-{op}", op, lambda op=op: getattr(lab, op)(name))
        label = widget(w.HTML, "ipc-name", "5.5em", value=f"<b>{html.escape(name)}</b>")
        box = w.HBox([label, *ops.values()])
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
                control.disabled, control.tooltip = reason is not None, reason or f"{name}: {TIPS[op]}"
        for control in extra[:3]:  # set up and start afresh also start again after a shutdown
            control.disabled = lab.closed
        if lab.closed:
            message.value = SHUT

    def chosen(_change: Any = None) -> None:
        text.value, answer.value = _experiment_html(EXPERIMENTS[choose.value])

    extra = [
        button("ipc-add-writer", "add a writer", lambda: lab.add("writer")),
        button("ipc-add-c-writer", "add a C-like writer", lambda: lab.add(sigpipe="default")),
        button("ipc-add-reader", "add a reader", lambda: lab.add("reader")),
        button(
            "ipc-experiment-setup", "set up", lambda: (untoggle(), set_up(lab, EXPERIMENTS[choose.value]))
        ),
        button("ipc-reset", "start afresh", lambda: (untoggle(), lab.reset())),
    ]
    choose.observe(chosen, "value")
    chosen()
    lab.on_change(render)
    render()
    head = w.HBox([w.HTML("<b>Experiment:</b>&nbsp;"), choose, extra[3], extra[4]])
    controls = w.HBox(extra[:3] + [data, amount, size], layout=w.Layout(flex_flow="row wrap"))
    stale = widget(w.HTML, "ipc-stale-note", value=STALE)
    box = w.VBox([stale, head, text, controls, rows, message, view, answer])
    box.add_class("ipc-explorer")
    box.explorer = lab
    return box
