"""How the site shows the stored notebook outputs (read by myst-nb through ``nb_custom_formats``).

- Figures get their text alternative as the ``alt`` of the image. It comes from, in order:
  the output's own ``alt`` metadata (what ``IPython.display.Image(..., alt=...)`` or
  ``display(fig, metadata={"image/png": {"alt": "..."}})`` store), the cell metadata
  ``mystnb.image.alt`` (myst-nb's own), or the output's ``text/plain`` when that is more than
  matplotlib's ``<Figure size ...>`` placeholder. A figure with none of these is a build
  warning (and ``-W`` makes it an error): every figure needs a one-line text alternative.
- Widgets cannot run on a static page: a widget output is replaced by a short note
  (``site_widget_note``) that says where it runs.
- Cells whose source JupyterLab keeps collapsed (``jupyter.source_hidden``, e.g. worked
  solutions) are collapsed on the page too (myst-nb's ``hide-input``); likewise hidden outputs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import re

import nbformat
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
PLACEHOLDER = re.compile(r"^<(Figure|matplotlib\.\S+|IPython\.core\.display\.Image) .*>$")

# sha256 of an image output's bytes -> its text alternative ("" when it has none). myst-nb names
# the image file after the same hash, which is how the image node is found again.
_ALT_BY_HASH: dict[str, str] = {}
_WIDGET_NOTE = ["An interactive widget is shown here when the notebook runs in JupyterLab."]


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _alt_for(output, cell) -> str:
    for mime in IMAGE_TYPES:
        meta = output.get("metadata", {}).get(mime, {})
        if isinstance(meta, dict) and str(meta.get("alt", "")).strip():
            return str(meta["alt"]).strip()
    cell_alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "")
    if str(cell_alt).strip():
        return str(cell_alt).strip()
    plain = _text(output.get("data", {}).get("text/plain", "")).strip()
    if plain and not PLACEHOLDER.match(plain):
        return plain
    return ""


def read_notebook(text: str) -> nbformat.NotebookNode:
    """Read an .ipynb for the site (see the module docstring for what changes)."""
    nb = nbformat.reads(text, as_version=4)
    for cell in nb.cells:
        hidden = cell.get("metadata", {}).get("jupyter", {})
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if hidden.get("source_hidden") and "hide-input" not in tags:
            tags.append("hide-input")
        if hidden.get("outputs_hidden") and "hide-output" not in tags:
            tags.append("hide-output")
        for output in cell.get("outputs", []):
            data = output.get("data")
            if not data:
                continue
            if WIDGET_VIEW in data:
                note = html.escape(_WIDGET_NOTE[0])
                output["data"] = {"text/html": f'<p class="widget-note">{note}</p>'}
                output["metadata"] = {}
                continue
            for mime in IMAGE_TYPES:
                if mime in data:
                    try:
                        raw = base64.b64decode(_text(data[mime]))
                    except (binascii.Error, ValueError):
                        continue
                    _ALT_BY_HASH[hashlib.sha256(raw).hexdigest()] = _alt_for(output, cell)
    return nb


def apply_alt_text(app: Sphinx, doctree: nodes.document) -> None:
    for image in doctree.findall(nodes.image):
        name = image.get("uri", "").rsplit("/", 1)[-1].split(".", 1)[0]
        if name not in _ALT_BY_HASH:
            continue
        alt = _ALT_BY_HASH[name]
        if alt:
            image["alt"] = alt
        elif not image.get("alt"):
            LOGGER.warning(
                "a figure has no text alternative: store one with the output "
                "(display(fig, metadata={'image/png': {'alt': '...'}})) or in the cell metadata "
                "mystnb.image.alt",
                location=image,
                type="site",
                subtype="alt_text",
            )


def set_note(app: Sphinx) -> None:
    _WIDGET_NOTE[0] = app.config.site_widget_note or _WIDGET_NOTE[0]


def setup(app: Sphinx) -> dict:
    app.add_config_value("site_widget_note", "", "env", types=[str])
    app.connect("builder-inited", set_note)
    app.connect("doctree-read", apply_alt_text)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
