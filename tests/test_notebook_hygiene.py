"""Every stored notebook is clean, complete and honest about its outputs."""

from __future__ import annotations

import json
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


VOLATILE = [
    (r"/home/|/Users/|/root/", "an absolute home path"),
    (r"/tmp/|/var/folders/", "an absolute temporary path"),
    (r"\bpid[ =:]*\[?\d{2,}", "a raw process id"),
    (r"0x[0-9a-f]{8,}", "a memory address"),
]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_no_volatile_text_in_outputs(path):
    for cell in code_cells(load(path)):
        for output in cell["outputs"]:
            text = output_text(output)
            for pattern, what in VOLATILE:
                assert not re.search(pattern, text), f"{what} in an output: {text[:300]!r}"


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
        "## Summary",
        "## What's next",
        "## Further reading",
    ]:
        assert heading in markdown, f"missing {heading!r}"


def test_every_notebook_is_in_the_readme_chapter_table_and_back():
    linked = set(re.findall(r"\]\(notebooks/(\d\d-[^)]+\.ipynb)\)", README))
    assert linked == {p.name for p in NOTEBOOKS}


def test_output_markers_are_real_and_say_why():
    """nbval only sees a marker alone on its comment line; the next line says why."""
    for path in NOTEBOOKS:
        for cell in code_cells(load(path)):
            lines = [line.strip() for line in source(cell).splitlines()]
            for i, line in enumerate(lines):
                if re.search(r"NBVAL_(IGNORE_OUTPUT|SKIP|RAISES_EXCEPTION|CHECK_OUTPUT)", line):
                    assert re.fullmatch(r"# NBVAL_[A-Z_]+", line), f"{path.name}: nbval ignores {line!r}"
                    if "RAISES" not in line:
                        assert i + 1 < len(lines) and lines[i + 1].startswith("# Why:"), (
                            f"{path.name}: {line} without a '# Why:' line after it"
                        )
                    assert "NBVAL_SKIP" not in line, f"{path.name}: skipped cells hide failures"
