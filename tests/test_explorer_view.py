"""The explorer's picture (a pure function of the state) and its buttons (ipywidgets, no browser)."""

from __future__ import annotations

import html
import re
import sys
import xml.etree.ElementTree as ET
from urllib.parse import unquote

import pytest

from ipc_helpers.explorer import Call, FifoExplorer, Process, State
from ipc_helpers.explorer_view import EXPERIMENTS, STYLE, describe_lines, draw_html, draw_svg

SVG = "{http://www.w3.org/2000/svg}"


def process(name: str, kind: str, state: str, **more) -> Process:
    values = {"pid": 4321, "fd": 3 if kind in ("open", "blocked") else None, "flags": "O_WRONLY"}
    values |= {"waits_for": None, "sigpipe": "ignore", **more}
    role = "reader" if name.startswith("reader") else "writer"
    return Process(name=name, role=role, state=state, kind=kind, **values)


MID_SCENARIO = State(
    fifo="my_pipe",
    processes=(
        process(
            "reader",
            "blocked",
            "blocked in read()",
            flags="O_RDONLY",
            waits_for="data, or the last writer's close",
        ),
        process("writer 1", "idle", "closed", fd=None, flags=""),
        process("writer 2", "open", "open"),
    ),
    bytes=5000,
    capacity=65536,
    page=4096,
    calls=(
        Call("writer 1", "close(3)", "0"),
        Call("reader", "read(3, 100)", None),
        Call("writer 2", "write(3, b'x')", "EPIPE", True),
    ),
    closed=False,
)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # well-formed XML, or this raises


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_the_drawing_is_a_pure_function_of_the_state():
    assert draw_svg(MID_SCENARIO) == draw_svg(State(**MID_SCENARIO.__dict__))
    emptier = State(**{**MID_SCENARIO.__dict__, "bytes": 0})
    assert draw_svg(emptier) != draw_svg(MID_SCENARIO)
    assert MID_SCENARIO._repr_svg_() == draw_svg(MID_SCENARIO)


def test_screen_readers_get_a_title_a_description_and_a_hidden_list():
    root = parse(draw_svg(MID_SCENARIO))
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby").split()
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert (title.get("id"), desc.get("id")) == (title_id, desc_id)
    assert re.fullmatch(r"ipc-fx-[0-9a-f]{10}-t", title_id)  # from the picture's content: no counter
    assert title.text == "FIFO explorer: my_pipe"
    for line in (
        "reader blocked in read(): waits for data, or the last writer's close",
        "writer 1 closed",
        "writer 2 open, fd 3 O_WRONLY",
        "5000 bytes in the pipe",
        "writer 2: write(3, b'x') -> EPIPE",
    ):
        assert line in desc.text
    page = draw_html(MID_SCENARIO)
    hidden = re.search(r'<ul class="ipc-sr-only" style="([^"]*)">(.*)</ul>', page)
    assert "clip:rect(0,0,0,0)" in hidden.group(1) and "position:absolute" in hidden.group(1)
    assert hidden.group(2).count("<li>") == len(describe_lines(MID_SCENARIO)) == 5


def test_in_a_cell_the_picture_is_an_image_with_the_description_as_alt_text():
    page = MID_SCENARIO._repr_html_()
    img = re.fullmatch(
        r'<img class="ipc-fifo-img" alt="([^"]*)" style="[^"]*" src="data:image/svg\+xml,([^"]*)">', page
    )
    assert html.unescape(img.group(1)) == ". ".join(describe_lines(MID_SCENARIO))
    assert unquote(img.group(2)) == draw_svg(MID_SCENARIO)
    assert "pid [4321]" in img.group(2)  # readable, so the pid can be rewritten where outputs are compared


def test_each_process_is_a_box_with_its_state_in_words_and_its_pid():
    root = parse(draw_svg(MID_SCENARIO))
    boxes = {g.get("data-name"): g for g in root.iter(f"{SVG}g") if "ipc-proc" in g.get("class", "")}
    assert list(boxes) == ["writer 1", "writer 2", "reader"]  # writers drawn first, on the left
    assert "ipc-blocked" in boxes["reader"].get("class") and "ipc-idle" in boxes["writer 1"].get("class")
    reader = texts(boxes["reader"])
    assert reader == [
        "reader",
        "pid [4321]",
        "blocked in read()",
        "waits for data, or the last writer's close",
    ]
    assert (
        boxes["reader"].find(f"{SVG}rect").get("stroke-dasharray") == "7 4"
    )  # blocked: dashed, not only colour
    assert boxes["writer 2"].find(f"{SVG}rect").get("stroke-dasharray") is None
    xs = {name: float(g.find(f"{SVG}rect").get("x")) for name, g in boxes.items()}
    assert xs["writer 1"] == xs["writer 2"] < 320 < xs["reader"]


def test_arrows_show_the_flow_and_what_a_blocked_process_waits_for():
    root = parse(draw_svg(MID_SCENARIO))
    arrows = [line for line in root.iter(f"{SVG}line") if line.get("class") == "ipc-arrow"]
    assert len(arrows) == 2  # writer 2 and the reader have the FIFO open; not the closed writer 1
    assert not any(a.get("stroke-dasharray") for a in arrows)  # solid: the way the bytes flow
    # dashed: from the blocked reader to what it waits for, writer 2 (its write or its close)
    waits = [w for w in root.iter(f"{SVG}path") if w.get("class") == "ipc-wait"]
    assert [(w.get("data-from"), w.get("data-to"), w.get("stroke-dasharray")) for w in waits] == [
        ("reader", "writer 2", "7 4")
    ]
    assert waits[0].find(f"{SVG}title").text == "reader waits for writer 2: a write, or its close"
    points = re.findall(r"([\d.]+),[\d.]+", waits[0].get("d"))
    assert float(points[0]) > 600 and float(points[-1]) < 260  # from the reader (right) to writer 2
    uid = root.get("aria-labelledby").split()[0][:-2]
    assert all(a.get("marker-end") == f"url(#{uid}-a)" for a in arrows + waits)
    waits_for = "a writer to open the FIFO"
    opening = process("reader", "blocked", "blocked in open()", fd=None, waits_for=waits_for)
    root = parse(draw_svg(State(**{**MID_SCENARIO.__dict__, "processes": (opening,)})))
    arrows = [line for line in root.iter(f"{SVG}line") if line.get("class") == "ipc-arrow"]
    assert [(a.get("stroke-dasharray"), a.find(f"{SVG}title").text) for a in arrows] == [
        ("7 4", "reader waits for a writer to open the FIFO")
    ]


def test_the_key_explains_boxes_and_both_arrows():
    root = parse(draw_svg(MID_SCENARIO))
    key = [line for line in root.iter(f"{SVG}line") if line.get("class") == "ipc-key-arrow"]
    assert [bool(k.get("stroke-dasharray")) for k in key] == [False, True]
    shown = texts(root)
    assert "has the FIFO open (bytes flow this way)" in shown
    assert "blocked: waits for what it points at" in shown


def test_the_pipe_fills_page_by_page():
    root = parse(draw_svg(MID_SCENARIO))
    pipe = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "ipc-pipe")
    fills = [r for r in pipe.iter(f"{SVG}rect") if r.get("class") == "ipc-fill"]
    assert len(fills) == 2  # 5000 bytes: one full page of 4096 and 904 bytes of the next
    assert float(fills[1].get("width")) == pytest.approx(float(fills[0].get("width")) * 904 / 4096, abs=0.1)
    assert "5000 of 65536 bytes: 16 pages of 4096" in texts(pipe)
    full = parse(draw_svg(State(**{**MID_SCENARIO.__dict__, "bytes": 65536})))
    assert sum(r.get("class") == "ipc-fill" for r in full.iter(f"{SVG}rect")) == 16
    none = parse(draw_svg(State(**{**MID_SCENARIO.__dict__, "bytes": None, "capacity": None})))
    assert "no process has it open" in texts(none)
    few = parse(draw_svg(State(**{**MID_SCENARIO.__dict__, "bytes": 2})))
    assert [float(r.get("width")) for r in few.iter(f"{SVG}rect") if r.get("class") == "ipc-fill"] == [2]


def test_the_calls_are_listed_with_errors_marked():
    root = parse(draw_svg(MID_SCENARIO))
    shown = texts(root)
    assert ["writer 2", "write(3, b'x')", "-> EPIPE"] == shown[
        shown.index("-> EPIPE") - 2 : shown.index("-> EPIPE") + 1
    ]
    assert "-> ... (not returned)" in shown
    epipe = next(t for t in root.iter(f"{SVG}text") if t.text == "-> EPIPE")
    assert epipe.get("font-weight") == "bold" and epipe.get("fill") == "#D55E00"


def test_colours_come_from_the_colour_blind_safe_palette():
    okabe_ito = {"#0072B2", "#D55E00", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#CC79A7"}
    allowed = okabe_ito | {fill for fill, _stroke, _dash in STYLE.values()} | {"#8C7E00"}
    allowed |= {
        "#FFFFFF",
        "#000000",
        "#444444",
        "#555555",
        "#777777",
        "#999999",
        "#EEEEEE",
        "#F4F8FB",
        "#B8CCDA",
    }
    used = set(re.findall(r'(?:fill|stroke)="(#[0-9A-Fa-f]{6})"', draw_svg(MID_SCENARIO)))
    assert used and used <= allowed, used - allowed
    assert len({stroke for _fill, stroke, _dash in STYLE.values()}) >= 4


# --------------------------------------------------------------------------------------------
# The buttons
# --------------------------------------------------------------------------------------------

ipywidgets = pytest.importorskip("ipywidgets")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="drives real processes")


def find(box, css: str) -> list:
    found = [box] if css in getattr(box, "_dom_classes", ()) else []
    for child in getattr(box, "children", ()):
        found += find(child, css)
    return found


def click(box, row: str, css: str) -> None:
    find(find(box, f"ipc-row-{row.replace(' ', '-')}")[0], css)[0].click()


@pytest.fixture
def ui():
    from ipc_helpers.explorer import explorer_ui

    box = explorer_ui(FifoExplorer())
    try:
        yield box
    finally:
        box.explorer.shutdown()


@linux_only
def test_another_explorer_in_the_same_state_draws_the_same_picture():
    pictures = []
    for _ in range(2):  # no counter, no address in the picture
        with FifoExplorer() as lab:
            pictures.append(re.sub(r"pid \[\d+\]", "pid", lab._repr_html_()))
    assert pictures[0] == pictures[1]


@linux_only
def test_the_rows_buttons_and_picture(ui):
    assert "ipc-explorer" in ui._dom_classes
    view = find(ui, "ipc-explorer-view")[0]
    assert view.value.startswith('<div class="ipc-fifo-view"><svg') and "ipc-sr-only" in view.value
    reader, writer = find(ui, "ipc-row-reader")[0], find(ui, "ipc-row-writer-1")[0]
    labels = [c.description for c in reader.children[1:]]
    assert labels == [
        "open",
        "O_NONBLOCK",
        "O_RDWR",
        "read",
        "read (no wait)",
        "poll",
        "close",
        "exit",
        "remove",
    ]
    assert [c.description for c in writer.children[1:]][3] == "write"
    enabled = [c.description for c in reader.children[1:] if not c.disabled]
    assert enabled == ["open", "O_NONBLOCK", "O_RDWR", "exit", "remove"]
    assert find(reader, "ipc-read")[0].tooltip == "the reader does not have the FIFO open"
    tip = find(reader, "ipc-open")[0].tooltip  # an enabled button says what it does
    assert tip.startswith("reader: os.open() the FIFO")
    assert "the FIFO stays" in find(reader, "ipc-remove")[0].tooltip


@linux_only
def test_clicking_two_writers_and_a_blocked_reader(ui):
    lab = ui.explorer
    find(ui, "ipc-add-writer")[0].click()
    for row in ("reader", "writer 1", "writer 2"):
        click(ui, row, "ipc-open")
    click(ui, "writer 1", "ipc-write")  # "hello"
    click(ui, "reader", "ipc-read")
    click(ui, "reader", "ipc-read")
    view = find(ui, "ipc-explorer-view")[0].value
    assert 'data-name="reader"' in view and "blocked in read()" in view and "-&gt; b&#x27;hello&#x27;" in view
    reader = find(ui, "ipc-row-reader")[0]
    assert [c.description for c in reader.children[1:] if not c.disabled] == ["exit", "remove"]
    click(ui, "writer 1", "ipc-close")
    click(ui, "writer 2", "ipc-close")
    assert "read(3, 100) -&gt; b&#x27;&#x27; (end of file)" in find(ui, "ipc-explorer-view")[0].value
    assert [p.state for p in lab.state().processes] == ["open", "closed", "closed"]


@linux_only
def test_options_no_wait_reads_and_poll_by_clicking(ui):
    toggle = find(find(ui, "ipc-row-reader")[0], "ipc-nonblock")[0]
    toggle.value = True
    assert (toggle.button_style, toggle.icon) == ("info", "check")  # visibly pressed, not just darker
    click(ui, "reader", "ipc-open")
    assert not toggle.value and toggle.button_style == ""  # the option was for that open
    click(ui, "reader", "ipc-read-nb")
    click(ui, "reader", "ipc-poll")
    calls = [repr(c) for c in ui.explorer.state().calls]
    assert calls == [
        'reader: open("my_pipe", O_RDONLY|O_NONBLOCK) -> fd 3',
        "reader: read(3, 100) -> b'' (no writer yet)",
        "reader: poll([3: POLLIN], 0) -> nothing",
    ]
    find(find(ui, "ipc-row-writer-1")[0], "ipc-rdwr")[0].value = True
    find(ui, "ipc-write-amount")[0].value = 100_000
    click(ui, "writer 1", "ipc-open")
    click(ui, "writer 1", "ipc-write")
    assert (
        ui.explorer.state().bytes == 65536 and "blocked in write()" in find(ui, "ipc-explorer-view")[0].value
    )


@linux_only
def test_a_refused_click_is_explained_and_the_experiments_set_up(ui):
    click(ui, "reader", "ipc-close")  # disabled in the page; called anyway, it explains
    assert (
        find(ui, "ipc-message")[0].value
        == "<b>refused:</b> cannot close: the reader does not have the FIFO open"
    )
    find(find(ui, "ipc-row-writer-1")[0], "ipc-rdwr")[0].value = True  # pressed, never used
    find(ui, "ipc-experiment")[0].value = 3
    assert "C-like" in find(ui, "ipc-experiment-text")[0].value
    assert "<details>" in find(ui, "ipc-experiment-answer")[0].value
    find(ui, "ipc-experiment-setup")[0].click()
    assert not any(t.value for t in find(ui, "ipc-rdwr") + find(ui, "ipc-nonblock"))  # no carry-over
    assert find(ui, "ipc-message")[0].value == ""
    assert [p.kind for p in ui.explorer.state().processes] == ["open", "blocked", "blocked"]
    assert len(find(ui, "ipc-write")) == 2 and "writer 2 (C-like)" in find(ui, "ipc-explorer-view")[0].value
    click(ui, "reader", "ipc-exit")
    assert "killed by SIGPIPE" in find(ui, "ipc-explorer-view")[0].value
    click(ui, "writer 2", "ipc-remove")
    assert not find(ui, "ipc-row-writer-2") and len(EXPERIMENTS) == len(find(ui, "ipc-experiment")[0].options)


@linux_only
def test_the_picture_follows_actions_from_code_and_shutdown_says_how_to_start_again(ui):
    ui.explorer.open("reader")
    assert "blocked in open()" in find(ui, "ipc-explorer-view")[0].value
    ui.explorer.shutdown()
    assert "the explorer is shut down" in find(ui, "ipc-explorer-view")[0].value
    assert "start afresh" in find(ui, "ipc-message")[0].value
    buttons = find(ui, "ipc-open") + find(ui, "ipc-add-writer")
    assert buttons and all(b.disabled for b in buttons)
    again = find(ui, "ipc-reset")[0]
    assert not again.disabled and not find(ui, "ipc-experiment-setup")[0].disabled
    again.click()
    assert find(ui, "ipc-message")[0].value == "" and not ui.explorer.closed
    click(ui, "reader", "ipc-open")
    assert "blocked in open()" in find(ui, "ipc-explorer-view")[0].value
