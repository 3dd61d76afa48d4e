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
    others = [label for label in series if label != reference]
    for label, points in series.items():
        style = (
            ("s--", "#000000") if label == reference else ("o-", COLOURS[others.index(label) % len(COLOURS)])
        )
        ax.plot(list(points), list(points.values()), style[0], color=style[1], label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    if xticklabel is not None:
        xs = sorted({x for points in series.values() for x in points})
        ax.set_xticks(xs, [xticklabel(x) for x in xs])
        ax.minorticks_off()
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def bars(groups: Mapping[str, Mapping[str, float]], *, ylabel: str, title: str, log: bool = False) -> Any:
    """A ``Figure`` of grouped bars: ``{group: {label: value}}``, one colour per label, the value on top."""
    labels = list(next(iter(groups.values())))
    fig = figure(7, 3.2)
    ax = fig.add_subplot()
    width = 0.8 / len(labels)
    for i, label in enumerate(labels):
        xs = [g + (i - (len(labels) - 1) / 2) * width for g in range(len(groups))]
        heights = [values[label] for values in groups.values()]
        drawn = ax.bar(xs, heights, width, color=COLOURS[i % len(COLOURS)], label=label)
        ax.bar_label(drawn, fmt=lambda v: f"{v:,.0f}" if v >= 10 else f"{v:.2g}", fontsize=7)
    ax.set_xticks(range(len(groups)), list(groups), fontsize=8)
    ax.set_yscale("log" if log else "linear")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    return fig


def size_label(size: int) -> str:
    """A size in bytes as a tick label: 64 -> '64 B', 65536 -> '64 KiB', 1048576 -> '1 MiB'."""
    for unit, shift in (("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    return f"{size} B"
