"""Every stored notebook is clean, complete and honest about its outputs."""

from __future__ import annotations

import getpass
import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
README = (ROOT / "README.md").read_text(encoding="utf-8")


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def output_text(output: dict) -> str:
    parts = []
    if "text" in output:
        parts.append("".join(output["text"]) if isinstance(output["text"], list) else output["text"])
    for key in ("ename", "evalue"):
        if key in output:
            parts.append(output[key])
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/"):
            parts.append("".join(value) if isinstance(value, list) else value)
    return "\n".join(parts)


ids = [p.name for p in NOTEBOOKS]


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_name_is_numbered_slug(path):
    assert re.fullmatch(r"\d\d-[a-z0-9]+(-[a-z0-9]+)*\.ipynb", path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_execution_counts_are_1_to_n(path):
    counts = [c["execution_count"] for c in code_cells(load(path))]
    assert counts == list(range(1, len(counts) + 1)), "re-run with make execute (Restart & Run All)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_results_carry_their_cells_execution_count(path):
    for cell in code_cells(load(path)):
        for output in cell["outputs"]:
            if output["output_type"] == "execute_result":
                assert output["execution_count"] == cell["execution_count"], source(cell)[:200]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_saved_widget_state(path):
    nb = load(path)
    assert "widgets" not in nb["metadata"]
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            assert "application/vnd.jupyter.widget-state+json" not in output.get("data", {})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_errors_only_in_cells_tagged_raises_exception(path):
    for cell in code_cells(load(path)):
        has_error = any(o["output_type"] == "error" for o in cell["outputs"])
        tagged = "raises-exception" in cell["metadata"].get("tags", [])
        if has_error:
            assert tagged, f"untagged error in cell:\n{source(cell)[:200]}"
        if tagged:
            assert has_error, f"cell tagged raises-exception raises nothing:\n{source(cell)[:200]}"


def _user_names() -> set[str]:
    """This machine's user names, as they could leak into an output."""
    names = {os.environ.get(v, "") for v in ("USER", "LOGNAME", "USERNAME")}
    try:
        names.add(getpass.getuser())
    except (KeyError, OSError):  # no user name for this uid (containers)
        pass
    return {n for n in names if len(n) >= 3}


VOLATILE = [
    (r"/home/|/Users/|/root/|~/", "an absolute home path"),
    (r"/tmp/|/var/folders/|/var/tmp/|/private/var/", "an absolute temporary path"),
    (re.escape(str(ROOT)), "the absolute path of this checkout"),
    (r"(?i)\bpid\b[\s:=#\[]{0,3}\d{2,}|\bprocess (id )?\d{3,}", "a raw process id"),
    (r"0x[0-9a-f]{8,}", "a memory address"),
] + [
    (rf"(?i)(?<![\w-]){re.escape(name)}(?![\w-])", f"the user name {name!r}")
    for name in sorted(_user_names())
]


def volatile(text: str) -> list[str]:
    return [what for pattern, what in VOLATILE if re.search(pattern, text)]


def test_volatile_patterns_catch_what_they_should():
    assert volatile("Hello from pid [4194303]") and volatile("PID: 1234") and volatile("process 48213 exited")
    assert volatile("'/tmp/ipc-tutorial-x/my_pipe'") and volatile("/home/ann/x") and volatile(str(ROOT / "x"))
    assert volatile("<object at 0x7f3a2c1b9e80>")
    assert not volatile("pid [<PID>] 22 bytes, PIPE_BUF: 4096, 2 processes")
    assert not volatile(sanitize("writer pid [9372] opened '/tmp/ipc-tutorial-k2j8x1/my_pipe'"))
    for name in _user_names():
        assert volatile(f"owner: {name}") and not volatile(f"owner: {name}x")


def sanitize(text: str) -> str:
    """Apply the rules of tests/nbval_sanitize.cfg, as nbval does before it compares."""
    from nbval.plugin import get_sanitize_patterns

    for regex, replace in get_sanitize_patterns((ROOT / "tests/nbval_sanitize.cfg").read_text()):
        text = re.sub(regex, replace, text)
    return text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_volatile_text_in_outputs_is_covered_by_a_sanitize_rule(path):
    """Outputs may show real process ids and temporary paths, as a learner sees them; but once the
    sanitize rules have run, no home or temporary path, user name, process id or address is left,
    so that nothing in an output differs between one run and the next."""
    for cell in code_cells(load(path)):
        for output in cell["outputs"]:
            text = sanitize(output_text(output))
            found = volatile(text)
            assert not found, f"{found[0]} in an output, not covered by a sanitize rule: {text[:300]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_every_plot_has_a_text_alternative(path):
    """A picture output carries a one-line "alt": in its metadata (as ipc_helpers.draw.show sets it)
    or on the <img> of its HTML copy, which is what JupyterLab shows (the explorer's drawing)."""
    for cell in code_cells(load(path)):
        for output in cell["outputs"]:
            html = "".join(output.get("data", {}).get("text/html", ""))
            shown = re.match(r'\s*<img [^>]*\balt="([^"]*)"', html)
            for mime in output.get("data", {}):
                if mime.startswith("image/"):
                    alt = output.get("metadata", {}).get(mime, {}).get("alt", "")
                    alt = alt or (shown[1] if shown else "")
                    assert alt.strip() and "\n" not in alt, (
                        f"a plot without alt text in:\n{source(cell)[:200]}"
                    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_kernelspec_is_python3(path):
    assert load(path)["metadata"]["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_first_code_cell_imports_ipc_helpers(path):
    first = source(code_cells(load(path))[0])
    assert re.search(r"^(from ipc_helpers\b|import ipc_helpers\b)", first, flags=re.MULTILINE)
    assert "sys.path" not in first


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_sys_path_tricks(path):
    for cell in code_cells(load(path)):
        assert "sys.path" not in source(cell)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_output_over_100_kb(path):
    for cell in code_cells(load(path)):
        size = len(json.dumps(cell["outputs"]))
        assert size < 100_000, f"{size} bytes of output in cell:\n{source(cell)[:200]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_chapter_anatomy(path):
    nb = load(path)
    markdown = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    h1 = re.findall(r"^# ", markdown, flags=re.MULTILINE)
    assert len(h1) == 1, "exactly one H1 title"
    assert source(nb["cells"][0]).startswith("# "), "the title comes first"
    for heading in [
        "What you will learn",
        "What you need",
        "Time",
        "## What's next",
        "## Further reading",
    ]:
        assert heading in markdown, f"missing {heading!r}"
    assert "## Key points" in markdown or "## Summary" in markdown, "missing '## Key points'"


def chapter_table_rows() -> list[str]:
    """The data rows of the table in the README's "Chapters" section."""
    section = README.split("\n## Chapters", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [row for row in rows[2:]]  # skip the header and the |---| line


# Renumbering in progress: README rows for chapters that have not landed yet -> the notebook each
# replaces (None if it is new). A planned row is accepted only while its notebook is missing, and
# the notebook it replaces counts as listed only until then. Remove an entry once it has landed
# (a test below fails until you do). See CONTRIBUTING.md, "The chapter table".
PLANNED: dict[str, str | None] = {}


def listed_and_existing() -> tuple[set[str], set[str]]:
    """(notebooks the README links to, notebooks that exist), with the renumbering's planned rows applied."""
    linked = set(re.findall(r"\]\(notebooks/(\d\d-[^)]+\.ipynb)\)", README))
    names = {p.name for p in NOTEBOOKS}
    for new, old in PLANNED.items():
        if new not in names:
            linked.discard(new)  # not landed yet: its row may wait for it
            if old in names:
                linked.add(old)  # the chapter it replaces is still here under its old name
    return linked, names


def test_every_notebook_is_in_the_readme_chapter_table_and_back():
    linked, names = listed_and_existing()
    assert not names - linked, f"notebooks missing from the README chapter table: {sorted(names - linked)}"
    assert not linked - names, f"README links to notebooks that do not exist: {sorted(linked - names)}"


def test_planned_chapters_are_still_pending():
    names = {p.name for p in NOTEBOOKS}
    for new, old in PLANNED.items():
        assert f"](notebooks/{new})" in README, f"{new} is planned but has no README row"
        assert not (new in names and (old is None or old not in names)), (
            f"{new} has landed: remove it from PLANNED in tests/test_notebook_hygiene.py"
        )


ROW = r"\| \[(\d\d) — [^]]+\]\(notebooks/((\d\d)-[^)]+\.ipynb)\) \| [^|]+ \| [^|]*\d+ min \|"


def test_every_chapter_table_row_has_a_notebook():
    rows = chapter_table_rows()
    assert rows, "no chapter table in the README"
    names = {p.name for p in NOTEBOOKS} | {new for new in PLANNED if new not in {p.name for p in NOTEBOOKS}}
    for row in rows:
        m = re.fullmatch(ROW, row)
        assert m, f"a chapter row not like | [NN — Title](notebooks/NN-slug.ipynb) | ... | N min |: {row}"
        assert m.group(2) in names, f"a chapter row without its notebook: {row}"
        assert m.group(1) == m.group(3), f"the number in the title and the file differ: {row}"
    listed = [re.search(r"notebooks/([^)]+)", row).group(1) for row in rows]
    assert listed == sorted(listed) and len(set(listed)) == len(listed), "rows out of order or repeated"


def test_cells_whose_output_differs_by_machine_are_tagged_with_a_reason():
    """A cell whose output cannot be compared (speeds, versions, a live widget) carries nbval's tag
    "nbval-ignore-output" and, in its metadata, "ignore_output_because"; learners see neither. No
    marker comments in the code a learner reads, and no cell skipped (skipping hides failures)."""
    for path in NOTEBOOKS:
        for cell in code_cells(load(path)):
            assert not re.search(r"NBVAL_[A-Z]", source(cell)), (
                f"{path.name}: a '# NBVAL_...' comment in a cell; tag the cell instead:\n{source(cell)[:120]}"
            )
            tags = cell.get("metadata", {}).get("tags", [])
            assert not [t for t in tags if t.startswith("nbval-skip")], f"{path.name}: skipped cell"
            if "nbval-ignore-output" in tags:
                because = cell["metadata"].get("ignore_output_because", "")
                assert because.strip(), f"{path.name}: output ignored without a reason:\n{source(cell)[:120]}"


EVERY_LANGUAGE = NOTEBOOKS + sorted((ROOT / "notebooks" / "zh_CN").glob("*.ipynb"))


@pytest.mark.parametrize("path", EVERY_LANGUAGE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_inline_code_renders_as_code(path):
    """A line that starts an HTML block (an answer's <details> right under a list item's question) is
    shown as raw HTML up to the next blank line: `backticks` there reach the learner as backticks.
    Such lines use <code>...</code>; everywhere else Markdown's backticks render."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    for cell in load(path)["cells"]:
        if cell["cell_type"] == "markdown":
            shown = re.sub(r"<code>.*?</code>", "", md.render(source(cell)), flags=re.S)
            raw = re.findall(r"`[^`\n]+`", shown)
            assert not raw, f"{path.name}: {raw[0]} is shown with its backticks, in:\n{source(cell)[:200]}"
