"""What the site test knows about a built site (shared by conftest.py and test_site.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCREENSHOTS = ROOT / "screenshots" / "site"
ZH_NOTEBOOKS = ROOT / "notebooks" / "zh_CN"
FIXTURE_NOTEBOOKS = HERE / "fixture" / "notebooks"
FIXTURE_HUB = "https://hub.example.edu"
BROKEN = "02-fixture-broken"


@dataclass
class Site:
    """One built site: where its HTML is, what it was built from, and how it is served."""

    name: str
    html: Path
    notebooks: Path
    settings: dict
    pages: list[dict]
    base_url: str = ""  # where html is served: origin + the language's folder ("/zh_CN")
    broken: set[str] = field(default_factory=set)  # pages with defects on purpose
    served: Path | None = None  # the folder the local web server serves (every language's pages)
    origin: str = ""  # the web server's address

    def url(self, docname: str, mode: str) -> str:
        if mode == "file":
            return (self.html / f"{docname}.html").as_uri()
        return f"{self.base_url}/{docname}.html"

    def screenshot_dir(self) -> Path:
        return SCREENSHOTS if self.name == "real" else SCREENSHOTS / self.name

    def file_for(self, url: str) -> Path | None:
        """The file a link of a page leads to (file: or this site's server), None for other sites."""
        parts = urlsplit(url)
        if parts.scheme == "file":
            return Path(unquote(parts.path))
        if self.origin and url.startswith(self.origin + "/") and self.served is not None:
            path = unquote(parts.path).lstrip("/")
            target = self.served / path
            return target / "index.html" if not path or path.endswith("/") else target
        return None


def manifest(path: Path, language: str | None = None) -> dict:
    """One language's entry of a manifest written by tools/build_site.py (the main one by default)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        data = [data]
    if language is None:
        return data[0]
    found = [entry for entry in data if entry["language"] == language]
    if not found:
        raise LookupError(f"{path} has no {language} site: run make site")
    return found[0]
