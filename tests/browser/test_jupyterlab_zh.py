"""The Chinese edition as a learner who runs ``make lab-zh`` sees it, in headless Chromium.

JupyterLab is started as ``make lab-zh`` starts it: the language pack installed (the ``zh``
extra) and made the default by ``locales/zh_CN/jupyterlab-settings/overrides.json``
(``--LabApp.app_settings_dir``), nothing set in a user's settings. It serves a copy of the
project's notebooks/ (the ``zh_CN/scripts`` symbolic link kept as a link). For each
Chinese chapter the test checks:

- the interface is Chinese (menu bar), and Run All from the Chinese "运行" menu runs every cell
  with no error output;
- the chapter's title renders as the catalog says, and Chinese text is drawn with real glyphs,
  not empty boxes (a font with Chinese characters is installed: Debian's fonts-noto-cjk);
- the links to the English chapter and to the glossary lead to files the server has;
- screenshots: screenshots/zh_CN-<chapter>.png (the top of the chapter) and ...-outputs.png.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from _jlab import NOTEBOOKS, JupyterLab, png_summary
from test_jupyterlab import OPEN_TIMEOUT, RUN_TIMEOUT, NotebookPage

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "locales" / "zh_CN" / "jupyterlab-settings"
CHAPTERS = sorted(p.name for p in (NOTEBOOKS / "zh_CN").glob("[0-9][0-9]-*.ipynb"))

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


def test_a_chinese_chapter_exists():
    assert CHAPTERS, "no notebooks/zh_CN/NN-*.ipynb (run make zh)"


@pytest.mark.timeout(OPEN_TIMEOUT + RUN_TIMEOUT + 120)
@pytest.mark.parametrize("name", CHAPTERS)
def test_chinese_chapter_in_a_chinese_jupyterlab(lab_zh, browser_context, screenshots, name):
    path = f"notebooks/zh_CN/{name}"
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

        nb.page.locator(".jp-Notebook .jp-Cell").first.scroll_into_view_if_needed()
        nb.page.wait_for_timeout(500)
        shot = screenshots / f"zh_CN-{Path(name).stem}.png"
        nb.page.screenshot(path=str(shot))
        assert png_summary(shot)[2] >= 16, f"{shot.name} is blank"
        # And the cells with translated comments and real outputs, further down.
        nb.page.locator(".jp-Notebook .jp-OutputArea-output").nth(-2).scroll_into_view_if_needed()
        nb.page.wait_for_timeout(500)
        shot = screenshots / f"zh_CN-{Path(name).stem}-outputs.png"
        nb.page.screenshot(path=str(shot))
        assert png_summary(shot)[2] >= 16, f"{shot.name} is blank"
    finally:
        nb.close()
