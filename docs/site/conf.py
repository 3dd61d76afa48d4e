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
