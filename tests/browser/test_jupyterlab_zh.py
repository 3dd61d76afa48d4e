"""The Chinese edition as a learner who runs ``make lab-zh`` sees it, in headless Chromium.

JupyterLab is started as ``make lab-zh`` starts it: the language pack installed (the ``zh``
extra) and made the default by ``locales/zh_CN/jupyterlab-settings/overrides.json``
(``--LabApp.app_settings_dir``), nothing set in a user's settings. It serves a copy of the
project's notebooks/ (the ``zh_CN/scripts`` symbolic link kept as a link). Every chapter listed in
``locales/zh_CN/shipped.txt`` is checked (a listed chapter without its notebook fails); for each:

- the interface is Chinese (menu bar), and Run All from the Chinese "运行" menu runs every cell
  with no error output;
- the chapter's title renders as the catalog says, and Chinese text is drawn with real glyphs,
  not empty boxes (a font with Chinese characters is installed: Debian's fonts-noto-cjk);
- every Mermaid diagram is drawn without a syntax error, in Chinese: each run of Chinese characters
  in the diagram's labels and messages is in the drawn picture's text (its title and description
  aside), and the picture's text alternative is the translated ``accTitle``; every output image
  (matplotlib figures) has loaded, is not blank and has a text alternative;
- the links to the English chapter and to the glossary lead to files the server has;
- in the FIFO explorer's chapter, the explorer with buttons works after Run All, as in English:
  it draws its three processes, and a click on the reader's open shows it blocked in open();
- screenshots: screenshots/zh_CN-<chapter>.png (the top of the chapter), ...-outputs.png,
  ...-mermaid-<n>.png for each diagram, and ...-explorer.png for the explorer.

Each chapter is bounded in time: opening (OPEN_TIMEOUT), Run All (RUN_TIMEOUT), drawing the
pictures (RENDER_TIMEOUT), as in test_jupyterlab.py.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from _jlab import NOTEBOOKS, JupyterLab, png_summary
from test_jupyterlab import (
    CLICK_TIMEOUT,
    EXPLORER,
    EXPLORER_CELLS_JS,
    OPEN_TIMEOUT,
    PICTURES_JS,
    RENDER_TIMEOUT,
    RUN_TIMEOUT,
    ExplorerPage,
    NotebookPage,
    wait_until,
)

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "locales" / "zh_CN" / "jupyterlab-settings"
SHIPPED = ROOT / "locales" / "zh_CN" / "shipped.txt"


def shipped_chapters() -> list[str]:
    """The notebook names of the chapters published in Chinese (shipped.txt, one name a line)."""
    if not SHIPPED.exists():
        return []
    names = [line.split("#")[0].strip() for line in SHIPPED.read_text(encoding="utf-8").splitlines()]
    return [f"{name}.ipynb" for name in names if name]


CHAPTERS = shipped_chapters()
CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
MERMAID_BLOCK = re.compile(r"^```mermaid\n(.*?)^```", re.M | re.S)

# Each Mermaid diagram as drawn: JupyterLab 4 draws it as an <img> whose src is the SVG (a data URL);
# the text of its labels and messages is read from that SVG (title and description left out).
MERMAID_TEXT_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-RenderedMermaid')].map((m) => {
  const img = m.querySelector('img');
  let svg = m.querySelector('svg');
  if (!svg && img && img.src.startsWith('data:image/svg+xml')) {
    const comma = img.src.indexOf(',');
    const head = img.src.slice(0, comma), body = img.src.slice(comma + 1);
    const markup = head.endsWith(';base64')
      ? new TextDecoder().decode(Uint8Array.from(atob(body), (c) => c.charCodeAt(0)))
      : decodeURIComponent(body);
    const doc = new DOMParser().parseFromString(markup, 'image/svg+xml');
    svg = doc.querySelector('parsererror') ? null : doc.documentElement;
  }
  return {
    alt: img ? (img.getAttribute('alt') || '') : '',
    labels: svg ? [...svg.querySelectorAll('text, foreignObject')].map((e) => e.textContent) : null,
  };
})"""

# Draws a string in the font of the rendered Markdown; the pixels tell a glyph from a missing-glyph box.
GLYPHS_JS = """(texts) => {
  const node = document.querySelector('.jp-Notebook .jp-RenderedMarkdown p') || document.body;
  const font = getComputedStyle(node).font;
  return texts.map((t) => {
    const c = document.createElement('canvas');
    c.width = 64; c.height = 64;
    const g = c.getContext('2d');
    g.font = font.replace(/\\d+(\\.\\d+)?px/, '40px');
    g.fillStyle = '#000';
    g.fillText(t, 4, 48);
    return c.toDataURL();
  });
}"""


class ChinesePage(NotebookPage):
    RUN_MENU, RUN_ALL = "运行", "运行所有单元格"


@pytest.fixture(scope="module")
def lab_zh(work_dir: Path, browser_context):
    root = work_dir / "zh-project"
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
    shutil.copytree(NOTEBOOKS, root / "notebooks", symlinks=True, ignore=ignore)
    server = JupyterLab(root, work_dir / "zh-home", extra_args=[f"--LabApp.app_settings_dir={SETTINGS}"])
    try:
        server.start()
        # A new server's first page load is the slow one (nothing cached yet for its address; seen over
        # 90 s on a loaded 2-core machine): load the interface once before the timed checks.
        page = browser_context.new_page()
        try:
            page.goto(server.lab_url("warmup", ""), wait_until="domcontentloaded", timeout=240_000)
            page.locator(".lm-MenuBar-item").first.wait_for(timeout=240_000)
        finally:
            page.close()
        yield server
    finally:
        server.stop()


def test_every_shipped_chapter_has_its_chinese_notebook():
    assert CHAPTERS, f"{SHIPPED.relative_to(ROOT)} lists no chapter"
    missing = [name for name in CHAPTERS if not (NOTEBOOKS / "zh_CN" / name).exists()]
    assert not missing, f"shipped.txt lists chapters without notebooks/zh_CN/<name> (make zh): {missing}"


def mermaid_sources(cells: list[dict]) -> list[str]:
    """The Mermaid diagrams of a notebook's Markdown cells, in order."""
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return MERMAID_BLOCK.findall(text)


def check_pictures_in_chinese(nb: NotebookPage, cells: list[dict]) -> list[str]:
    """Every diagram drawn, without error and in Chinese; every output image loaded, not blank, with alt."""
    sources = mermaid_sources(cells)
    found: dict = {}

    def drawn() -> bool:
        found.update(nb.page.evaluate(PICTURES_JS))
        shown = found["mermaid"]
        return len(shown) >= len(sources) and all(m["drawn"] or m["error"] for m in shown)

    wait_until(drawn, RENDER_TIMEOUT)
    problems = []
    if len(found["mermaid"]) != len(sources):
        return [f"{len(sources)} Mermaid blocks in the notebook, {len(found['mermaid'])} rendered"]
    texts = nb.page.evaluate(MERMAID_TEXT_JS)
    for i, (source, m, t) in enumerate(zip(sources, found["mermaid"], texts, strict=True), start=1):
        if m["error"] or not m["drawn"]:
            problems.append(f"Mermaid diagram {i} is not drawn ({m['text']!r})")
            continue
        if t["labels"] is None:
            problems.append(f"Mermaid diagram {i}: its picture is not an SVG this test can read")
            continue
        source = re.sub(r"^\s*accDescr\s*\{.*?\}", "", source, flags=re.M | re.S)  # a description block
        lines = [line.strip() for line in source.splitlines()]
        drawn_text = re.sub(r"\s+", "", "".join(t["labels"]))
        # Labels and messages: not the title and description (checked below), not %% comments.
        wanted = [w for line in lines if not line.startswith(("acc", "%%")) for w in CJK_RUN.findall(line)]
        if not wanted:
            problems.append(f"Mermaid diagram {i}: no Chinese in its labels (untranslated?)")
        lost = [w for w in dict.fromkeys(wanted) if w not in drawn_text]
        if lost:
            problems.append(f"Mermaid diagram {i}: not drawn in the picture: {lost}")
        title = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("accTitle:")), None)
        if title is not None and t["alt"].strip() != title:
            problems.append(f"Mermaid diagram {i}: its text alternative is {t['alt']!r}, not {title!r}")
    for i, image in enumerate(found["images"], start=1):
        if not image["loaded"] or image["colours"] < 3:
            problems.append(f"output image {i} is {'blank' if image['loaded'] else 'not loaded'}")
        if not (image["alt"] or "").strip():
            problems.append(f"output image {i} has no text alternative (alt)")
    return problems


def check_explorer_works(nb: ChinesePage, shot: Path) -> None:
    """The explorer with buttons, after Run All of the Chinese copy: drawn, alive, and it answers a click."""
    cells = nb.page.evaluate(EXPLORER_CELLS_JS)
    assert cells, "no element with the class ipc-explorer after Run All"
    ex = ExplorerPage(nb, cells[0])
    start = wait_until(ex.picture, CLICK_TIMEOUT)
    assert start and list(start["procs"]) == ["writer 1", "writer 2", "reader"], start
    assert {p["kind"] for p in start["procs"].values()} == {"idle"}, start
    p = ex.click("reader", "ipc-open", lambda p: p["procs"]["reader"]["kind"] == "blocked", "open (reader)")
    assert p["procs"]["reader"]["texts"][2] == "blocked in open()", p
    nb.page.evaluate("(b) => b.scrollIntoView({block: 'start'})", ex.box.element_handle())
    nb.page.wait_for_timeout(300)
    nb.page.screenshot(path=str(shot))
    assert png_summary(shot)[2] >= 16, f"{shot.name} is blank"


@pytest.mark.timeout(OPEN_TIMEOUT + RUN_TIMEOUT + RENDER_TIMEOUT + 150)
@pytest.mark.parametrize("name", CHAPTERS)
def test_chinese_chapter_in_a_chinese_jupyterlab(lab_zh, browser_context, screenshots, name):
    path = f"notebooks/zh_CN/{name}"
    if not (NOTEBOOKS / "zh_CN" / name).exists():
        pytest.fail(f"no {path} (make zh)", pytrace=False)
    nb = ChinesePage(lab_zh, browser_context, path)
    try:
        nb.open()
        menus = [m.strip() for m in nb.page.locator(".lm-MenuBar-item").all_inner_texts()]
        assert "运行" in menus and "内核" in menus and "Run" not in menus, (
            f"the menu bar is not Chinese: {menus}"
        )
        st = nb.run_all()
        problems = nb.check_cells(st)
        assert not problems, "\n".join(problems)

        cells = json.loads((NOTEBOOKS / "zh_CN" / name).read_text(encoding="utf-8"))["cells"]
        title = "".join(cells[0]["source"]).splitlines()[0].removeprefix("# ")
        shown = nb.page.locator(".jp-Notebook .jp-RenderedMarkdown h1").first.inner_text()
        assert shown.strip() == title

        problems = check_pictures_in_chinese(nb, cells)
        assert not problems, "\n".join(problems)
        for i, diagram in enumerate(nb.page.locator(".jp-Notebook .jp-RenderedMermaid").all(), start=1):
            shot = screenshots / f"zh_CN-{Path(name).stem}-mermaid-{i}.png"
            diagram.screenshot(path=str(shot))
            assert png_summary(shot)[2] >= 16, f"{shot.name} is blank"

        box, a, b = nb.page.evaluate(GLYPHS_JS, ["\u0378", "管", "道"])  # U+0378 is unassigned
        assert len({box, a, b}) == 3, (
            "Chinese characters are drawn as boxes: install a CJK font (fonts-noto-cjk)"
        )

        hrefs = nb.page.locator(".jp-Notebook .jp-RenderedMarkdown a").evaluate_all(
            "(links) => links.map((a) => a.getAttribute('href'))"
        )
        # JupyterLab shows a relative link resolved against the notebook's folder, as /files/<path>.
        for target in [f"notebooks/{name}", "notebooks/glossary.md"]:
            assert any(f"/files/{target}?" in h for h in hrefs), f"no link to {target}: {hrefs}"
            assert lab_zh.api("GET", f"/api/contents/{target}?content=0")["type"] in ("file", "notebook")

        if name == EXPLORER:
            check_explorer_works(nb, screenshots / f"zh_CN-{Path(name).stem}-explorer.png")

        nb.page.locator(".jp-Notebook .jp-Cell").first.scroll_into_view_if_needed()
        nb.page.wait_for_timeout(500)
        shot = screenshots / f"zh_CN-{Path(name).stem}.png"
        nb.page.screenshot(path=str(shot))
        assert png_summary(shot)[2] >= 16, f"{shot.name} is blank"
        # And the cells with translated comments and real outputs, further down.
        outputs = nb.page.locator(".jp-Notebook .jp-OutputArea-output")
        outputs.nth(max(outputs.count() - 2, 0)).scroll_into_view_if_needed()
        nb.page.wait_for_timeout(500)
        shot = screenshots / f"zh_CN-{Path(name).stem}-outputs.png"
        nb.page.screenshot(path=str(shot))
        assert png_summary(shot)[2] >= 16, f"{shot.name} is blank"
    finally:
        nb.close()
