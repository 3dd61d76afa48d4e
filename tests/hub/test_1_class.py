"""Students work through the hub: each runs chapters 04 and 06 in their own server, all at once."""

from __future__ import annotations

import time

CHAPTERS = ("04", "06")


def _failures(results) -> list[str]:
    lines = []
    for name, notebooks in results.items():
        for nb in notebooks:
            for cell in nb.failures:
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                lines.append(f"{name} {nb.notebook} code cell {cell.index} ({first[:60]!r}): {cell.error}")
    return lines


def test_students_run_chapters_through_their_servers(classroom, students, ipc_report):
    began = time.monotonic()
    results = classroom.run_chapters(students, CHAPTERS, cell_timeout=300)
    wall = time.monotonic() - began
    assert not _failures(results), "\n".join(_failures(results))
    for name, notebooks in results.items():
        cells = sum(len(nb.cells) for nb in notebooks)
        assert cells > 0
        seconds = ", ".join(f"{nb.notebook[:2]} {nb.seconds:.1f} s" for nb in notebooks)
        ipc_report(f"hub: {name} ran {cells} cells of chapters {'+'.join(CHAPTERS)} ({seconds})")
    ipc_report(f"hub: {len(students)} students at once: {wall:.1f} s wall time")
    problems = {s.name: classroom.left_in_server(s) for s in students}
    assert not any(problems.values()), f"left behind in the students' servers: {problems}"
