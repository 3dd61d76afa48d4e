"""Sphinx configuration of the course website, shared by every language.

Not run by hand: ``make site`` (tools/build_site.py) stages the sources of one language
(notebooks, landing page, instructor guide, licence) into build/site/<lang>/src and runs
``sphinx-build -W -c docs/site`` on them, passing what differs between builds (language,
repository, launch links, where mermaid.min.js is) in the JSON file named by IPC_SITE_SETTINGS.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from docutils import nodes

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

_settings_file = os.environ.get("IPC_SITE_SETTINGS")
if not _settings_file:
    raise RuntimeError(
        "docs/site/conf.py is used by `make site` (tools/build_site.py), which sets IPC_SITE_SETTINGS"
    )
SITE = json.loads(Path(_settings_file).read_text(encoding="utf-8"))

project = SITE["title"]
author = SITE["author"]
copyright = SITE["copyright"]
language = SITE["language"]

extensions = ["myst_nb", "mermaid_local", "notebook_outputs"]

# The stored, strictly checked outputs are what the site shows: never execute.
nb_execution_mode = "off"
nb_custom_formats = {".ipynb": ["notebook_outputs.read_notebook", {}, False]}
nb_merge_streams = True
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
# A link to a page of the site in another language: build_site.py writes it "site:../NN-name.html"
# (a relative address MyST would otherwise take for a missing document); the prefix goes below.
myst_url_schemes = {"http": None, "https": None, "mailto": None, "ftp": None, "site": None}
mermaid_js = SITE["mermaid_js"]
site_widget_note = SITE["widget_note"]

exclude_patterns = ["scripts", "_licence", "**/.ipynb_checkpoints"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["site.css"]
html_title = SITE["title"]
html_copy_source = True
html_use_index = False  # no index entries: an empty "Index" page would only be clutter
html_show_sourcelink = False
html_last_updated_fmt = None

html_theme = "sphinx_book_theme"
# default_mode: light or dark as the reader's system prefers (the theme logs an error when unset).
html_context = {"site_languages": SITE["languages"], "site_language": language, "default_mode": "auto"}
html_theme_options = {
    "repository_url": SITE["repository_url"],
    "repository_branch": SITE["branch"],
    "path_to_docs": SITE["path_to_docs"],
    "use_repository_button": True,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "home_page_in_toc": False,  # the site title above the navigation already leads home
    "show_navbar_depth": 1,
    "navigation_with_keys": False,
    "navbar_persistent": [],  # search is in the sidebar; no second search box in a header bar
    "launch_buttons": {
        "notebook_interface": "jupyterlab",
        "binderhub_url": SITE["binderhub_url"],
        "jupyterhub_url": SITE["jupyterhub_url"],
    },
    "article_header_end": ["article-header-buttons.html", "language-switch.html"],
    "footer_content_items": ["copyright.html", "extra-footer.html"],
}


def _site_links(app, doctree) -> None:
    """Turn ``site:ADDRESS`` links (see myst_url_schemes) into plain relative links."""
    for ref in doctree.findall(nodes.reference):
        if ref.get("refuri", "").startswith("site:"):
            ref["refuri"] = ref["refuri"].removeprefix("site:")


def _chinese_search():
    """Sphinx 9's Chinese search language with the name of the stemmer it really ships.

    Sphinx 9.0 writes ``window.Stemmer = ChineseStemmer`` into language_data.js, but the Chinese
    search uses the English stemmer (EnglishStemmer): the search page of the Chinese edition
    stopped with "ChineseStemmer is not defined" (sphinx-doc/sphinx#14229, fixed upstream by
    #14416). Drop this once the site's Sphinx has that fix.
    """
    from sphinx.search.zh import SearchChinese

    class Search(SearchChinese):
        language_name = "English"  # only names the stemmer's JavaScript class

    return Search


def setup(app) -> dict:
    app.connect("doctree-read", _site_links)
    if language.startswith("zh"):
        app.add_search_language(_chinese_search())
    return {"parallel_read_safe": True, "parallel_write_safe": True}
