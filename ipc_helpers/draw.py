"""Pictures for the chapters, drawn with matplotlib from what really happened.

Each function takes values a cell has measured or recorded (times from
``time.monotonic()``, byte counts, ...) and returns a picture that Jupyter
shows under the cell, with a one-line text alternative (``alt``) for screen
readers.  The drawing is the only thing these functions do: no function here
opens, reads or waits for anything.

matplotlib is imported only when a picture is drawn.  Every word a picture
draws, its own (axis labels, keys) and those a chapter passes (lane and row
names, titles), goes through :func:`labels.label`: a chapter run in
``notebooks/zh_CN/`` draws them in Chinese (see ipc_helpers/labels.py).
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .labels import alt as alt_in_language
from .labels import label, rc

#: Colours that stay distinct for colour-blind readers (Okabe and Ito).
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def figure(width: float = 7.0, height: float = 2.5) -> Any:
    """A new matplotlib ``Figure`` (not shown until passed to :func:`show`)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


class Picture:
    """A PNG that Jupyter displays under a cell, with ``alt`` as its text alternative.

    It is offered as ``image/png`` with ``alt`` in the output's metadata (as
    IPython's ``Image(..., alt=...)`` does; nbconvert and the website use it),
    as an HTML ``<img alt=...>`` of the same PNG (JupyterLab ignores the
    metadata's ``alt``, so screen readers get the text from this copy), and as
    ``text/plain``: the ``alt`` itself, for front ends that show no pictures.
    """

    def __init__(self, png: bytes, alt: str) -> None:
        self.data = png
        self.alt = alt

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> tuple[dict, dict]:
        b64 = base64.b64encode(self.data).decode("ascii")
        tag = f'<img src="data:image/png;base64,{b64}" alt="{html.escape(self.alt)}">'
        bundle = {"image/png": b64, "text/html": tag, "text/plain": self.alt}
        return bundle, {"image/png": {"alt": self.alt}}


def show(fig: Any, alt: str) -> Picture:
    """The figure as a PNG image that Jupyter displays, with ``alt`` as its text alternative.

    In a translated chapter the alt is the chapter's translation of it (:func:`labels.alt`), and
    the figure is drawn with fonts that have the language's characters (:func:`labels.rc`).
    """
    from matplotlib import rc_context

    buffer = io.BytesIO()
    with rc_context(rc()):
        fig.savefig(buffer, format="png", metadata={"Software": None})
    return Picture(_small_png(buffer.getvalue()), alt_in_language(alt))


def _small_png(png: bytes) -> bytes:
    """The same picture in at most 256 colours: a third of the bytes, no visible difference for
    flat-coloured plots; notebooks, the site and the Chinese copies carry every figure."""
    from PIL import Image  # matplotlib's own dependency

    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    buffer = io.BytesIO()
    image.save(buffer, format="png", optimize=True)
    return buffer.getvalue()


def timeline(
    lanes: Mapping[str, Iterable[tuple[float, str]] | str],
    *,
    waits: Mapping[str, Iterable[tuple[float, float]]] | None = None,
    alt: str,
    title: str | None = None,
) -> Any:
    """Draw what each process did, one lane per process, on one time axis.

    ``lanes`` maps a process's name (``"reader"``) to its events, each a
    ``(time.monotonic() time, label)`` pair, or to the output of a peer
    started with ``clock=True`` (lines such as ``writer pid [9372] at
    8123.456 s: wrote 5 bytes``, whose steps become the events); ``waits``
    maps a name to the ``(start, end)`` intervals it spent blocked, drawn as
    bars.  Times are shown in seconds from the earliest event.
    ``time.monotonic()`` is one clock for every process on the machine, so
    times recorded by different processes line up.  Events of one lane
    closer together than the eye can tell apart share one label: their
    steps listed top to bottom in the order they happened, numbered.
    """
    lanes = {name: _steps(ev) if isinstance(ev, str) else sorted(ev) for name, ev in lanes.items()}
    waits = {name: list(spans) for name, spans in (waits or {}).items()}
    times = [t for events in lanes.values() for t, _ in events]
    times += [t for spans in waits.values() for span in spans for t in span]
    t0, t1 = min(times), max(times)
    length = max(t1 - t0, 0.1)
    near = length * 0.12  # events closer than this (in seconds) share a label
    labels = {name: _labels(events, near) for name, events in lanes.items()}
    heights = {n: 1.0 + 0.28 * max((text.count("\n") for _, text in labels[n]), default=0) for n in lanes}
    fig = figure(7.5, 0.7 + 0.75 * sum(heights.values()))
    ax = fig.add_subplot()
    y = 0.0
    ticks = []
    for index, name in reversed(list(enumerate(lanes))):  # the first lane on top
        colour = COLOURS[index % len(COLOURS)]
        for start, end in waits.get(name, []):
            ax.barh(y, end - start, left=start - t0, height=0.35, color=colour, alpha=0.25)
            middle = (start + end) / 2 - t0
            ax.text(middle, y - 0.3, label("waiting"), ha="center", va="top", fontsize=8, color=colour)
        for t, _ in lanes[name]:
            ax.plot(t - t0, y, "o", color=colour)
        for t, text in labels[name]:
            where = (t - t0) / length  # near an edge, the label grows inwards
            ha = "left" if where < 0.15 else "right" if where > 0.85 else "center"
            ax.annotate(text, (t - t0, y), xytext=(0, 8), textcoords="offset points", ha=ha, va="bottom",
                        multialignment="left", fontsize=8)
        ticks.append(y)
        y += heights[name]
    ax.set_yticks(ticks, [label(name) for name in reversed(lanes)])
    ax.set_ylim(-0.7, y - 0.2)
    ax.set_xlim(-0.05 * length, (t1 - t0) * 1.05 + 0.1)
    ax.set_xlabel(label("seconds"))
    ax.spines[["top", "right", "left"]].set_visible(False)
    if title:
        ax.set_title(label(title), fontsize=10)
    return show(fig, alt)


def _labels(events: list[tuple[float, str]], near: float) -> list[tuple[float, str]]:
    """One ``(time, text)`` label per group of near events (sorted), at the group's first time.

    A lone event keeps its label; a group lists its steps top to bottom in
    time order, numbered, so a stack on one dot reads like the peer's output.
    """
    groups: list[list[tuple[float, str]]] = []
    for i, event in enumerate(events):
        if i and event[0] - events[i - 1][0] < near:  # near the previous event: the same group
            groups[-1].append(event)
        else:
            groups.append([event])
    labels = []
    for group in groups:
        numbered = [f"{i}. {label}" for i, (_, label) in enumerate(group, 1)]
        labels.append((group[0][0], group[0][1] if len(group) == 1 else "\n".join(numbered)))
    return labels


_STEP = re.compile(r"^.*? at (\d+\.\d+) s: (.*)$", re.MULTILINE)


def _steps(output: str) -> list[tuple[float, str]]:
    """``(time, step)`` for each line of a peer's ``clock=True`` output, in order."""
    return [(float(t), step) for t, step in _STEP.findall(output)]


# --- chapter 05 ---


def chunks(rows: Mapping[str, Iterable[bytes]], *, alt: str) -> Any:
    """Draw rows of byte chunks side by side on one byte axis, each chunk a box with its bytes.

    ``rows`` maps a name (``"3 os.write calls"``) to the chunks in order, for
    instance what a writer wrote and what each ``os.read`` returned: where
    the boxes of two rows do not line up, the reads did not keep the writes'
    boundaries.
    """
    rows = {name: [bytes(c) for c in row] for name, row in rows.items()}
    fig = figure(7.5, 0.6 + 0.7 * len(rows))
    ax = fig.add_subplot()
    for index, row in enumerate(rows.values()):  # two light colours alternate along a row
        boxes = [(chunk, _shown(chunk), COLOURS[(index + i) % 2 * 4]) for i, chunk in enumerate(row)]
        _boxes(ax, len(rows) - 1 - index, boxes)
    _byte_axis(ax, [label(name) for name in rows], max((sum(map(len, r)) for r in rows.values()), default=1))
    return show(fig, alt)


def frames(stream: bytes, *, alt: str) -> Any:
    """Draw a stream of length-prefixed messages: each 4-byte big-endian length, then its payload.

    The stream is read as a reader would (4 bytes, then as many as they
    say); a cut-off last message is drawn as far as it goes.
    """
    segments = []
    offset = 0
    while offset < len(stream):
        header = stream[offset : offset + 4]
        n = int.from_bytes(header, "big")
        length = label("length {n}").format(n=n)
        segments.append((header, " ".join(f"{b:02x}" for b in header) + f"\n{length}", COLOURS[1]))
        payload = stream[offset + 4 : offset + 4 + n]
        if payload:
            segments.append((payload, _shown(payload), COLOURS[4]))
        offset += len(header) + len(payload)
    fig = figure(7.5, 1.3)
    ax = fig.add_subplot()
    _boxes(ax, 0, segments)
    _byte_axis(ax, [label("the stream")], len(stream))
    return show(fig, alt)


def _shown(chunk: bytes) -> str:
    """A chunk as Python shows bytes, shortened if long."""
    text = repr(chunk)
    return text if len(text) <= 24 else text[:20] + "...'"


def _boxes(ax: Any, y: float, boxes: list[tuple[bytes, str, str]]) -> None:
    """One row of ``(chunk, text, colour)`` boxes, side by side from byte 0."""
    start = 0
    fonts = ["monospace", "sans-serif"]  # sans-serif for what the monospace font lacks (长度 in Chinese)
    for chunk, text, colour in boxes:
        width = len(chunk)
        ax.barh(y, width, left=start, height=0.6, color=colour, alpha=0.35, edgecolor="black", linewidth=0.8)
        ax.text(start + width / 2, y, text, ha="center", va="center", fontsize=7, family=fonts)
        start += width


def _byte_axis(ax: Any, names: list[str], total: int) -> None:
    """A byte axis under rows named ``names`` (top to bottom, already in the chapter's language)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_yticks(range(len(names)), list(reversed(names)))
    ax.set_xlim(0, total)
    ax.set_ylim(-0.5, len(names) - 0.5)
    ax.set_xlabel(label("byte offset in the stream"))
    ax.spines[["top", "right", "left"]].set_visible(False)


# --- chapter 07 ---


def pages(write_size: int, *, page_size: int = 4096, count: int = 16, alt: str) -> Any:
    """The pipe's buffer as ``count`` pages, filled with writes of ``write_size`` bytes.

    A write that does not fit into what is left of a page starts a new page,
    so the end of each page may stay empty.  Top: one page in detail; bottom:
    all the pages of the pipe.
    """
    per_page = page_size // write_size
    unused = page_size - per_page * write_size
    fig = figure(7.5, 2.6)
    top, bottom = fig.subplots(2, 1, height_ratios=[1, 1])
    for i in range(per_page):
        top.barh(0, write_size, left=i * write_size, height=0.7, color=COLOURS[i % 2])
    top.barh(0, unused, left=per_page * write_size, height=0.7, color="white", edgecolor="black", hatch="///")
    top.set_xlim(0, page_size)
    one = label("one page of {page} bytes: {writes} writes of {size} bytes, "
                "{unused} bytes left empty (hatched)")
    top.set_title(one.format(page=page_size, writes=per_page, size=write_size, unused=unused), fontsize=9)
    for page in range(count):
        bottom.barh(0, page_size - unused, left=page * page_size, height=0.7, color=COLOURS[page % 2])
        bottom.barh(0, unused, left=(page + 1) * page_size - unused, height=0.7, color="white",
                    edgecolor="black", hatch="///")
    bottom.set_xlim(0, count * page_size)
    bottom.set_xticks([p * page_size for p in range(0, count + 1, 4)])
    total = count * per_page * write_size
    whole = label("the whole pipe: {count} pages, {total} bytes of data")
    bottom.set_title(whole.format(count=count, total=total), fontsize=9)
    for ax in (top, bottom):
        ax.set_yticks([])
        ax.spines[["top", "right", "left"]].set_visible(False)
    bottom.set_xlabel(label("bytes"))
    return show(fig, alt)


def fill_level(samples: Iterable[tuple[float, int]], *, capacity: int, alt: str) -> Any:
    """Bytes waiting in the pipe over time, from ``(time.monotonic(), bytes)`` samples."""
    samples = list(samples)
    t0 = samples[0][0]
    fig = figure(7.0, 2.6)
    ax = fig.add_subplot()
    times, counts = [t - t0 for t, _ in samples], [n for _, n in samples]
    ax.step(times, counts, where="post", color=COLOURS[0])
    ax.plot(times, counts, "o", color=COLOURS[0], markersize=4)
    ax.axhline(capacity, color=COLOURS[5], linestyle="--", linewidth=1)
    ax.text(0, capacity, " " + label("capacity"), va="bottom", fontsize=8, color=COLOURS[5])
    ax.set_ylim(0, capacity * 1.15)
    ax.set_xlabel(label("seconds"))
    ax.set_ylabel(label("bytes waiting"))
    ax.spines[["top", "right"]].set_visible(False)
    return show(fig, alt)


def strips(streams: Mapping[str, tuple[bytes, int]], *, records: int = 40, alt: str) -> Any:
    """What a reader received from several writers, one colour per writer, one strip per stream.

    ``streams`` maps a label to ``(data, record_size)``.  Each byte is a letter
    naming its writer (``A``, ``B``, ...); each strip shows the first
    ``records`` records' worth of bytes, with a thin line at every record
    boundary, so a colour change between two lines is a record cut by another
    writer.
    """
    from matplotlib.patches import Patch

    fig = figure(7.5, 0.6 + 0.8 * len(streams))
    ax = fig.add_subplot()
    letters = sorted({b for data, _ in streams.values() for b in data})
    colour = {b: COLOURS[i % len(COLOURS)] for i, b in enumerate(letters)}
    for row, (data, size) in enumerate(reversed(list(streams.values()))):
        start = 0
        for letter, run in itertools.groupby(data[: records * size]):  # one bar per run of one writer
            length = len(list(run))
            ax.barh(row, length / size, left=start / size, height=0.6, color=colour[letter], linewidth=0)
            start += length
        for boundary in range(1, records):
            ax.plot([boundary, boundary], [row - 0.3, row + 0.3], color="white", linewidth=0.8)
    ax.set_yticks(range(len(streams)), [label(name) for name in reversed(list(streams))])
    ax.set_xlim(0, records)
    ax.set_xlabel(
        label("the first {records} records, in the order received (white lines: record boundaries)").format(
            records=records
        )
    )
    handles = [Patch(color=colour[b], label=label("writer {name}").format(name=chr(b))) for b in letters]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(letters), fontsize=8, frameon=False)
    ax.spines[["top", "right", "left"]].set_visible(False)
    return show(fig, alt)


def lines(
    series: Mapping[str, Mapping[float, float]],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    xticklabel: Any = None,
    reference: str | None = None,
) -> Any:
    """A ``Figure`` with one line per ``{label: {x: y}}``, both axes logarithmic.

    ``xticklabel`` turns an x value into its tick's text (for example a size
    in bytes into ``"64 KiB"``); the ticks are then the x values themselves.
    The series named ``reference`` (a baseline, such as ``dd``) is drawn dashed and black.
    """
    fig = figure(7, 3.4)
    ax = fig.add_subplot()
    colours = dict(zip([name for name in series if name != reference], itertools.cycle(COLOURS)))
    for name, points in series.items():
        style, colour = ("s--", "#000000") if name == reference else ("o-", colours[name])
        ax.plot(list(points), list(points.values()), style, color=colour, label=label(name))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    if xticklabel is not None:
        xs = sorted({x for points in series.values() for x in points})
        ax.set_xticks(xs, [xticklabel(x) for x in xs])
        ax.minorticks_off()
    ax.set(xlabel=label(xlabel), ylabel=label(ylabel))
    ax.set_title(label(title), fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def bars(groups: Mapping[str, Mapping[str, float]], *, ylabel: str, title: str, log: bool = False) -> Any:
    """A ``Figure`` of grouped bars: ``{group: {label: value}}``, one colour per label, the value on top."""
    labels = list(next(iter(groups.values())))
    fig = figure(7, 3.2)
    ax = fig.add_subplot()
    width = 0.8 / len(labels)
    for i, name in enumerate(labels):
        xs = [g + (i - (len(labels) - 1) / 2) * width for g in range(len(groups))]
        heights = [values[name] for values in groups.values()]
        drawn = ax.bar(xs, heights, width, color=COLOURS[i % len(COLOURS)], label=label(name))
        ax.bar_label(drawn, fmt=lambda v: f"{v:,.0f}" if v >= 10 else f"{v:.2g}", fontsize=7)
    ax.set_xticks(range(len(groups)), [label(group) for group in groups], fontsize=8)
    ax.set_yscale("log" if log else "linear")
    ax.set_ylabel(label(ylabel))
    ax.set_title(label(title), fontsize=10)
    ax.legend(fontsize=8)
    return fig


def size_label(size: int) -> str:
    """A size in bytes as a tick label: 64 -> '64 B', 65536 -> '64 KiB', 1048576 -> '1 MiB'."""
    for unit, shift in (("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} B"
