"""Re-run notebooks in place, the same way every time (``make execute``).

Equivalent to JupyterLab's "Restart Kernel and Run All Cells": a fresh kernel
from this environment, cells run in order, execution counts 1..n.  It stores
no widget state and no timing metadata, so the stored notebook holds only
what nbval compares.  Cells tagged ``raises-exception`` may fail; any other
error stops with a message.

Usage: python tools/execute_notebooks.py [notebooks/NN-name.ipynb ...]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,
        record_timing=False,
    )
    client.execute()
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    print(f"executed {path.relative_to(ROOT)}")


def main(argv: list[str]) -> int:
    # Make the kernel see what nbval's kernel sees (see tests/conftest.py).
    os.environ.pop("PYTEST_CURRENT_TEST", None)
    paths = [Path(a).resolve() for a in argv] or sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    for path in paths:
        execute(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
