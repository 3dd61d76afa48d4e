"""What the site test knows about a built site (shared by conftest.py and test_site.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SCREENSHOTS = ROOT / "screenshots" / "site"
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
    base_url: str = ""
    broken: set[str] = field(default_factory=set)  # pages with defects on purpose

    def url(self, docname: str, mode: str) -> str:
        if mode == "file":
            return (self.html / f"{docname}.html").as_uri()
        return f"{self.base_url}/{docname}.html"

    def screenshot_dir(self) -> Path:
        return SCREENSHOTS if self.name == "real" else SCREENSHOTS / self.name


def manifest(path: Path) -> dict:
    """The first (main-language) entry of a manifest written by tools/build_site.py."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return data[0] if isinstance(data, list) else data
