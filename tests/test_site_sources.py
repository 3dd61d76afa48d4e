"""The course website's sources (tools/build_site.py), without building: standard library only.

The build and every page are checked in a browser by ``make test-site``; these run in ``make test``
and check what decides the site's contents: which chapters it has (found by name, so new and
renamed chapters need no edit), placeholder pages until the instructor guide and licence files
exist, links of repository documents rewritten for the site, and the launch links.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import build_site  # noqa: E402

PAGES = ROOT / "docs" / "site" / "en"
CONF = {
    "repository_url": "https://github.com/someone/named-pipes",
    "branch": "main",
    "binderhub_url": "https://mybinder.org",
    "jupyterhub_url": "",
}


def notebook(path: Path, title: str) -> None:
    cell = {"cell_type": "markdown", "id": "t", "metadata": {}, "source": [f"# {title}\n", "\n", "Text."]}
    path.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def toctree_entries(index: str, caption: str) -> list[str]:
    block = index.split(f":caption: {caption}\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line and not line.startswith(":")]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "notebooks" / "scripts").mkdir(parents=True)
    (tmp_path / "notebooks" / "scripts" / "writer.py").write_text("print('hi')\n")
    for name, title in [("00-setup-check", "00 — Setup"), ("09-fifo-explorer", "09 — Explorer")]:
        notebook(tmp_path / "notebooks" / f"{name}.ipynb", title)
    notebook(tmp_path / "notebooks" / "scratch.ipynb", "not a chapter")
    return tmp_path


def test_chapters_are_the_numbered_notebooks_in_order(repo: Path):
    notebook(repo / "notebooks" / "10-later.ipynb", "10")
    notebook(repo / "notebooks" / "1-bad-number.ipynb", "1")
    names = [p.name for p in build_site.chapters(repo / "notebooks")]
    assert names == ["00-setup-check.ipynb", "09-fifo-explorer.ipynb", "10-later.ipynb"]


def test_table_of_contents_follows_the_chapters_present(repo: Path, tmp_path: Path):
    src = tmp_path / "src"
    pages = build_site.stage(repo / "notebooks", PAGES, src, CONF, root=repo)
    index = (src / "index.md").read_text()
    assert toctree_entries(index, "Chapters") == ["00-setup-check", "09-fifo-explorer"]
    assert toctree_entries(index, "For teachers") == ["instructors", "licence"]
    assert [p["title"] for p in pages if p["kind"] == "chapter"] == ["00 — Setup", "09 — Explorer"]
    assert (src / "scripts" / "writer.py").is_file()

    # Issue 10's renumbering: 09 becomes 10, a new 09 appears. No edit anywhere but the notebooks.
    (repo / "notebooks" / "09-fifo-explorer.ipynb").rename(repo / "notebooks" / "10-fifo-explorer.ipynb")
    notebook(repo / "notebooks" / "09-how-fast-is-a-fifo.ipynb", "09 — How fast")
    build_site.stage(repo / "notebooks", PAGES, src, CONF, root=repo)
    index = (src / "index.md").read_text()
    assert toctree_entries(index, "Chapters") == [
        "00-setup-check",
        "09-how-fast-is-a-fifo",
        "10-fifo-explorer",
    ]
    assert sorted(p.name for p in src.glob("*.ipynb")) == [
        "00-setup-check.ipynb",
        "09-how-fast-is-a-fifo.ipynb",
        "10-fifo-explorer.ipynb",
    ], "the old 09 must not stay in the staged sources"
    assert "{{" not in index


def test_placeholders_until_the_course_kit_files_exist(repo: Path, tmp_path: Path):
    src = tmp_path / "src"
    pages = build_site.stage(repo / "notebooks", PAGES, src, CONF, root=repo)
    assert (src / "instructors.md").read_text() == (PAGES / "instructors-placeholder.md").read_text()
    assert "LICENSE is not in the repository yet" in (src / "_licence" / "LICENSE").read_text()
    assert next(p for p in pages if p["docname"] == "instructors")["source"] == "(placeholder)"

    (repo / "docs").mkdir()
    (repo / "docs" / "instructors.md").write_text(
        "# Teaching with this tutorial\n\nSee [04](../notebooks/00-setup-check.ipynb).\n"
    )
    (repo / "LICENSE").write_text("MIT License\n\nCopyright ...\n")
    (repo / "LICENSE-text").write_text("Attribution 4.0 International\n")
    (repo / "CITATION.cff").write_text("cff-version: 1.2.0\nrepository-code: https://github.com/x/y\n")
    pages = build_site.stage(repo / "notebooks", PAGES, src, CONF, root=repo)
    assert (src / "instructors.md").read_text().startswith("# Teaching with this tutorial")
    assert "[04](00-setup-check.ipynb)" in (src / "instructors.md").read_text()
    for name in ("LICENSE", "LICENSE-text", "CITATION.cff"):
        assert (src / "_licence" / name).read_bytes() == (repo / name).read_bytes()
    assert next(p for p in pages if p["docname"] == "instructors")["source"] == "docs/instructors.md"


def test_links_in_repository_documents_work_on_the_site(repo: Path):
    (repo / "docs").mkdir()
    (repo / "tools").mkdir()
    guide = repo / "docs" / "instructors.md"
    staged = {(repo / "notebooks" / "00-setup-check.ipynb").resolve(): "00-setup-check.ipynb"}
    staged[(repo / "LICENSE").resolve()] = "licence.md"
    text = (
        "[a](../notebooks/00-setup-check.ipynb#the-rendezvous) [b](../LICENSE) [c](../tools/) "
        "[d](../README.md) [e](https://example.org/x) [f](#local) [g](mailto:t@example.org)\n"
        "[ref]: ../notebooks/00-setup-check.ipynb\n"
    )
    out = build_site.rewrite_links(text, guide, staged, CONF, repo)
    assert "[a](00-setup-check.ipynb#the-rendezvous)" in out
    assert "[b](licence.md)" in out
    assert "[c](https://github.com/someone/named-pipes/tree/main/tools)" in out
    assert "[d](https://github.com/someone/named-pipes/blob/main/README.md)" in out
    assert "[e](https://example.org/x) [f](#local) [g](mailto:t@example.org)" in out
    assert "[ref]: 00-setup-check.ipynb" in out


def test_repository_comes_from_the_environment_or_citation_file(tmp_path: Path):
    assert build_site.settings({}, root=tmp_path)["repository_url"] == build_site.DEFAULT_REPOSITORY
    (tmp_path / "CITATION.cff").write_text('title: x\nrepository-code: "https://github.com/owner/repo.git"\n')
    conf = build_site.settings({}, root=tmp_path)
    assert conf["repository_url"] == "https://github.com/owner/repo"
    assert conf["binderhub_url"] == "https://mybinder.org" and conf["jupyterhub_url"] == ""
    conf = build_site.settings(
        {"SITE_REPOSITORY_URL": "https://gitlab.com/a/b/", "SITE_JUPYTERHUB_URL": "https://hub.example.edu/"},
        root=tmp_path,
    )
    assert conf["repository_url"] == "https://gitlab.com/a/b"
    assert conf["jupyterhub_url"] == "https://hub.example.edu"


def test_launch_links_are_well_formed():
    binder = urlsplit(build_site.binder_link(CONF, "notebooks/04-x.ipynb"))
    assert (binder.scheme, binder.netloc, binder.path) == (
        "https",
        "mybinder.org",
        "/v2/gh/someone/named-pipes/main",
    )
    assert parse_qs(binder.query) == {"urlpath": ["lab/tree/notebooks/04-x.ipynb"]}

    hub = urlsplit(build_site.nbgitpuller_link("https://hub.example.edu", CONF, "notebooks/04-x.ipynb"))
    assert (hub.netloc, hub.path) == ("hub.example.edu", "/hub/user-redirect/git-pull")
    assert parse_qs(hub.query) == {
        "repo": ["https://github.com/someone/named-pipes"],
        "urlpath": ["lab/tree/named-pipes/notebooks/04-x.ipynb"],
        "branch": ["main"],
    }
    other = build_site.binder_link({**CONF, "repository_url": "https://git.example.org/a/b"}, "n/x.ipynb")
    assert "/v2/git/https%3A%2F%2Fgit.example.org%2Fa%2Fb/main?" in other
    with pytest.raises(ValueError):
        build_site.repo_parts("https://github.com/only-owner")


def test_the_real_sources_stage_without_leftover_placeholders(tmp_path: Path):
    pages = build_site.stage(ROOT / "notebooks", PAGES, tmp_path / "src", build_site.settings({}), root=ROOT)
    index = (tmp_path / "src" / "index.md").read_text()
    assert "{{" not in index and "make lab" in index and "make test" in index
    chapters = [p["docname"] for p in pages if p["kind"] == "chapter"]
    assert chapters == [p.stem for p in build_site.chapters(ROOT / "notebooks")]
    assert toctree_entries(index, "Chapters") == chapters
