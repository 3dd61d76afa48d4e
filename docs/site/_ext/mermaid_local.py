"""Mermaid diagrams from a local copy of mermaid.min.js (no CDN, works from file:// and over http).

A ```mermaid fenced block in a notebook's Markdown (or a ``{mermaid}`` directive) becomes
``<pre class="mermaid">`` with the diagram's text; the page loads the plain (non-module) build
``mermaid.min.js``, copied from ``mermaid_js`` into ``_static/mermaid/``, and
``mermaid-init.js`` renders every ``pre.mermaid`` as SVG. ES-module loading, which
sphinxcontrib-mermaid uses, is refused by browsers for pages opened from file://; a classic
script is not.

Configuration: ``mermaid_js`` (path of mermaid.min.js; required when a page has a diagram).
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx
from sphinx.errors import ConfigError
from sphinx.transforms import SphinxTransform

STATIC = Path(__file__).parent / "static"


class mermaid(nodes.General, nodes.Element):  # noqa: N801 (docutils node names are lower case)
    """A diagram: its Mermaid source in ``node["code"]``."""


class MermaidDirective(Directive):
    has_content = True

    def run(self) -> list[nodes.Node]:
        return [mermaid(code="\n".join(self.content))]


class FencedMermaid(SphinxTransform):
    """Turn ```mermaid fenced blocks (literal blocks with language "mermaid") into diagrams.

    Runs before Sphinx would try, and fail, to highlight them as code.
    """

    default_priority = 200

    def apply(self) -> None:
        for block in list(self.document.findall(nodes.literal_block)):
            if block.get("language") == "mermaid":
                block.replace_self(mermaid(code=block.astext()))


def visit_mermaid_html(self, node: mermaid) -> None:
    self.body.append(f'<pre class="mermaid">\n{html.escape(node["code"])}\n</pre>\n')
    raise nodes.SkipNode


def visit_mermaid_other(self, node: mermaid) -> None:
    # Non-HTML builders show the diagram's source as a code block.
    self.visit_literal_block(nodes.literal_block(node["code"], node["code"]))
    raise nodes.SkipNode


def add_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Load mermaid only on pages that have a diagram."""
    if doctree is None or not any(True for _ in doctree.findall(mermaid)):
        return
    if not app.config.mermaid_js:
        raise ConfigError(
            f"{pagename} has a Mermaid diagram, but mermaid_js (path of mermaid.min.js) is not set"
        )
    app.add_js_file("mermaid/mermaid.min.js")
    app.add_js_file("mermaid/mermaid-init.js")


def copy_files(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    source = Path(app.config.mermaid_js) if app.config.mermaid_js else None
    if source is None:
        return
    if not source.is_file():
        raise ConfigError(f"mermaid_js: {source} does not exist (make site fetches it with npm)")
    target = Path(app.outdir) / "_static" / "mermaid"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target / "mermaid.min.js")
    licence = source.parent.parent / "LICENSE"
    if licence.is_file():
        shutil.copyfile(licence, target / "LICENSE.txt")
    shutil.copyfile(STATIC / "mermaid-init.js", target / "mermaid-init.js")


def setup(app: Sphinx) -> dict:
    app.add_config_value("mermaid_js", "", "html", types=[str])
    app.add_node(
        mermaid,
        html=(visit_mermaid_html, None),
        latex=(visit_mermaid_other, None),
        text=(visit_mermaid_other, None),
        man=(visit_mermaid_other, None),
        texinfo=(visit_mermaid_other, None),
    )
    app.add_directive("mermaid", MermaidDirective)
    app.add_transform(FencedMermaid)
    app.connect("html-page-context", add_scripts)
    app.connect("build-finished", copy_files)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
