"""Pictures for the chapters, drawn with matplotlib from what really happened.

Each function takes values a cell has measured or recorded (times from
``time.monotonic()``, byte counts, ...) and returns a picture that Jupyter
shows under the cell, with a one-line text alternative (``alt``) for screen
readers.  The drawing is the only thing these functions do: no function here
opens, reads or waits for anything.

matplotlib is imported only when a picture is drawn.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

#: Colours that stay distinct for colour-blind readers (Okabe and Ito).
COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def figure(width: float = 7.0, height: float = 2.5) -> Any:
    """A new matplotlib ``Figure`` (not shown until passed to :func:`show`)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig


def show(fig: Any, alt: str) -> Any:
    """The figure as a PNG image that Jupyter displays, with ``alt`` as its text alternative."""
    from IPython.display import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return Image(buffer.getvalue(), alt=alt)


def timeline(
    lanes: Mapping[str, Iterable[tuple[float, str]]],
    *,
    waits: Mapping[str, Iterable[tuple[float, float]]] | None = None,
    alt: str,
    title: str | None = None,
) -> Any:
    """Draw what each process did, one lane per process, on one time axis.

    ``lanes`` maps a process's name (``"reader"``) to its events, each a
    ``(time.monotonic() time, label)`` pair; ``waits`` maps a name to the
    ``(start, end)`` intervals it spent blocked, drawn as bars.  Times are shown
    in seconds from the earliest event.  ``time.monotonic()`` is one clock for
    every process on the machine, so times recorded by different processes
    line up.
    """
    lanes = {name: list(events) for name, events in lanes.items()}
    waits = {name: list(spans) for name, spans in (waits or {}).items()}
    times = [t for events in lanes.values() for t, _ in events] + [
        t for s in waits.values() for span in s for t in span
    ]
    t0 = min(times)
    fig = figure(7.5, 0.9 + 0.8 * len(lanes))
    ax = fig.add_subplot()
    for row, (name, events) in enumerate(reversed(lanes.items())):
        colour = COLOURS[(len(lanes) - 1 - row) % len(COLOURS)]
        for start, end in waits.get(name, []):
            ax.barh(row, end - start, left=start - t0, height=0.35, color=colour, alpha=0.25)
            ax.text(
                (start + end) / 2 - t0, row - 0.32, "waiting", ha="center", va="top", fontsize=8, color=colour
            )
        for t, label in events:
            ax.plot(t - t0, row, "o", color=colour)
            ax.annotate(
                label, (t - t0, row), xytext=(0, 9), textcoords="offset points", ha="center", fontsize=8
            )
    ax.set_yticks(range(len(lanes)), list(reversed(lanes)))
    ax.set_ylim(-0.8, len(lanes) - 0.3)
    ax.set_xlabel("seconds")
    ax.spines[["top", "right", "left"]].set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    return show(fig, alt)


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
    top.set_title(f"one page of {page_size} bytes: {per_page} writes of {write_size} bytes, "
                  f"{unused} bytes left empty (hatched)", fontsize=9)
    for page in range(count):
        bottom.barh(0, page_size - unused, left=page * page_size, height=0.7, color=COLOURS[page % 2])
        bottom.barh(0, unused, left=(page + 1) * page_size - unused, height=0.7, color="white",
                    edgecolor="black", hatch="///")
    bottom.set_xlim(0, count * page_size)
    bottom.set_xticks([p * page_size for p in range(0, count + 1, 4)])
    total = count * per_page * write_size
    bottom.set_title(f"the whole pipe: {count} pages, {total} bytes of data", fontsize=9)
    for ax in (top, bottom):
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    bottom.set_xlabel("bytes")
    return show(fig, alt)


def fill_level(samples: Iterable[tuple[float, int]], *, capacity: int, alt: str) -> Any:
    """Bytes waiting in the pipe over time, from ``(time.monotonic(), bytes)`` samples."""
    samples = list(samples)
    t0 = samples[0][0]
    fig = figure(7.0, 2.6)
    ax = fig.add_subplot()
    ax.step([t - t0 for t, _ in samples], [n for _, n in samples], where="post", color=COLOURS[0])
    ax.plot([t - t0 for t, _ in samples], [n for _, n in samples], "o", color=COLOURS[0], markersize=4)
    ax.axhline(capacity, color=COLOURS[5], linestyle="--", linewidth=1)
    ax.text(0, capacity, " capacity", va="bottom", fontsize=8, color=COLOURS[5])
    ax.set_ylim(0, capacity * 1.15)
    ax.set_xlabel("seconds")
    ax.set_ylabel("bytes waiting")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return show(fig, alt)


def strips(streams: Mapping[str, bytes], *, alt: str) -> Any:
    """What a reader received from several writers, one colour per writer, one strip per stream.

    Each byte is a letter naming its writer (``A``, ``B``, ...); each strip
    shows the stream from left to right, so runs of one colour are bytes that
    one writer got in without another writer's bytes between them.
    """
    fig = figure(7.5, 0.5 + 0.7 * len(streams))
    ax = fig.add_subplot()
    letters = sorted({b for data in streams.values() for b in data})
    colour = {b: COLOURS[i % len(COLOURS)] for i, b in enumerate(letters)}
    for row, data in enumerate(reversed(list(streams.values()))):
        start = 0
        while start < len(data):
            end = start
            while end < len(data) and data[end] == data[start]:
                end += 1
            ax.barh(row, (end - start) / len(data), left=start / len(data), height=0.6,
                    color=colour[data[start]], linewidth=0)
            start = end
    ax.set_yticks(range(len(streams)), list(reversed(list(streams))))
    ax.set_xlim(0, 1)
    ax.set_xlabel("position in what the reader received (fraction of all bytes)")
    from matplotlib.patches import Patch

    handles = [Patch(color=colour[b], label=f"writer {chr(b)}") for b in letters]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=len(letters),
              fontsize=8, frameon=False)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return show(fig, alt)
