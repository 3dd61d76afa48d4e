"""Unit tests for ipc_helpers.widgets: lazy ipywidgets import, the fixed-read explorer."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from ipc_helpers.encoding import fixed_read_report
from ipc_helpers.widgets import fixed_read_html

VOLATILE_PID = re.compile(r"(?i)\bpid\b[\s:=#\[]{0,3}\d{2,}")  # as the notebook hygiene test


@pytest.mark.parametrize("module", ["ipc_helpers", "ipc_helpers.widgets"])
def test_importing_does_not_import_ipywidgets(module):
    code = f"import sys, {module}; print('ipywidgets' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_html_has_one_box_per_byte_coloured_by_fate():
    page = fixed_read_html(7, 22)
    assert page.count('class="got"') == 22
    assert page.count('class="lost"') == 2
    assert page.count('title="byte ') == 24
    page = fixed_read_html(5, 22)
    assert page.count('class="got"') == 22 and 'class="lost"' not in page


def test_html_contains_the_report_and_no_pid_the_hygiene_test_rejects():
    import html

    for digits in range(1, 8):
        for size in (1, 10, 22, 32):
            page = fixed_read_html(digits, size)
            assert html.escape(fixed_read_report(digits, size)) in page
            assert not VOLATILE_PID.search(page)


def test_explorer_builds_and_follows_the_sliders():
    pytest.importorskip("ipywidgets")
    from ipc_helpers.widgets import fixed_read_explorer

    box = fixed_read_explorer()
    assert "ipc-fixed-read" in box._dom_classes
    row, result = box.children
    digits, size = row.children
    assert (digits.description, digits.value, digits.min, digits.max) == ("PID digits", 7, 1, 7)
    assert (size.description, size.value) == ("read size", 22)
    assert "ipc-fixed-read-digits" in digits._dom_classes
    assert "ipc-fixed-read-size" in size._dom_classes
    assert "ipc-fixed-read-result" in result._dom_classes
    assert result.value == fixed_read_html(7, 22)

    digits.value = 5
    assert result.value == fixed_read_html(5, 22)
    size.value = 10
    assert result.value == fixed_read_html(5, 10)
    assert not VOLATILE_PID.search(repr(box))
