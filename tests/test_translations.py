"""The translated chapters stay in step with the English ones (tools/translate.py, locales/).

- A published chapter's catalog is complete: every block of the English notebook has a
  translation, none fuzzy, none that loses code, links or table cells.
- notebooks/<lang>/ is exactly what ``make zh`` would write, byte for byte.
- A translated notebook has the English notebook's cells, code (comments aside) and outputs.
- The hygiene rules hold in Chinese too: one title, the chapter anatomy, no test talk, no more
  figures or words than the source calls for, and none of the terms the glossary rules out.
- The tool itself: extraction loses nothing, changed English turns fuzzy, new English appears
  untranslated (on a small notebook of its own, in a temporary folder).
"""

from __future__ import annotations

import html
import importlib.util
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("translate", ROOT / "tools" / "translate.py")
t = importlib.util.module_from_spec(_spec)
sys.modules["translate"] = t  # dataclasses look their module up by name
_spec.loader.exec_module(t)

LANG = t.LANG
SHIPPED = t.shipped(LANG)
ENGLISH = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def source(cell) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# --- the published chapters ---------------------------------------------------------------------


def test_shipped_list_names_english_chapters():
    assert SHIPPED, f"locales/{LANG}/shipped.txt lists no chapter"
    missing = [c for c in SHIPPED if not (ROOT / "notebooks" / f"{c}.ipynb").exists()]
    assert not missing, f"shipped.txt lists chapters that have no English notebook: {missing}"


@pytest.mark.parametrize("chapter", SHIPPED)
def test_catalog_of_a_shipped_chapter_is_complete(chapter):
    """Every block of the *current* English notebook is translated, none fuzzy or broken."""
    _, problems = t.translate_notebook(chapter, LANG)
    lines = problems.lines(chapter)
    assert not lines, (
        f"{len(lines)} problem(s) in locales/{LANG}/LC_MESSAGES/{chapter}.po; run make translations, "
        "translate, then make zh:\n  " + "\n  ".join(lines[:15])
    )


def test_zh_notebooks_are_exactly_what_make_zh_writes():
    folder = ROOT / "notebooks" / LANG
    present = sorted(p.stem for p in folder.glob("*.ipynb"))
    assert present == sorted(SHIPPED), f"notebooks/{LANG}/ should hold the shipped chapters only; run make zh"
    for chapter in SHIPPED:
        nb, problems = t.translate_notebook(chapter, LANG)
        if problems:
            pytest.fail(f"{chapter}: the catalog is incomplete (see test_catalog_of_a_shipped_chapter...)")
        built = t.notebook_bytes(nb)
        assert (folder / f"{chapter}.ipynb").read_bytes() == built, (
            f"notebooks/{LANG}/{chapter}.ipynb is out of date: run make zh"
        )


def test_make_zh_would_change_nothing():
    """Notebooks, the scripts link and the compiled catalogs (figures.mo, alts.mo) are all up to date."""
    assert t.build(LANG, check_only=True) == 0, "run make zh"


def test_scripts_are_reached_through_a_relative_symbolic_link():
    """Cells run scripts/... relative to the notebook's folder; notebooks/<lang>/scripts -> ../scripts."""
    link = ROOT / "notebooks" / LANG / "scripts"
    assert link.is_symlink(), f"{link.relative_to(ROOT)} should be a symbolic link (run make zh)"
    assert str(link.readlink()) == "../scripts"
    assert link.resolve() == (ROOT / "notebooks" / "scripts").resolve()
    assert sorted(p.name for p in link.iterdir()) == sorted(
        p.name for p in (ROOT / "notebooks/scripts").iterdir()
    )


def without_alt(outputs: list[dict]) -> list[dict]:
    """Outputs with the figures' text alternatives (translated) left out.

    A figure from ipc_helpers.draw carries its alt three times: in the PNG's metadata, in its HTML
    copy (<img alt="...">) and as its plain text. The copies become a placeholder only where they
    hold exactly that output's alt, so a copy the build did not translate still differs.
    """
    outputs = json.loads(json.dumps(outputs))
    for output in outputs:
        alt = output.get("metadata", {}).get("image/png", {}).get("alt")
        data = output.get("data", {})
        for kind in ("text/plain", "text/html"):  # a stored notebook may split them into lines
            if isinstance(data.get(kind), list):
                data[kind] = "".join(data[kind])
        if isinstance(alt, str):
            if data.get("text/plain") == alt:
                data["text/plain"] = "<alt>"
            if isinstance(data.get("text/html"), str):
                data["text/html"] = data["text/html"].replace(f'alt="{html.escape(alt)}"', 'alt="<alt>"')
        for meta in output.get("metadata", {}).values():
            if isinstance(meta, dict):
                meta.pop("alt", None)
    return outputs


@pytest.mark.parametrize("chapter", SHIPPED)
def test_same_cells_code_and_outputs_as_the_english_chapter(chapter):
    en = load(ROOT / "notebooks" / f"{chapter}.ipynb")
    zh = load(ROOT / "notebooks" / LANG / f"{chapter}.ipynb")
    assert [c["cell_type"] for c in zh["cells"]] == [c["cell_type"] for c in en["cells"]]
    for n, (a, b) in enumerate(zip(en["cells"], zh["cells"], strict=True), start=1):
        assert a.get("id") == b.get("id") and a["metadata"] == b["metadata"], f"cell {n}"
        if a["cell_type"] != "code":
            continue
        assert t.strip_comments(source(a)) == t.strip_comments(source(b)), f"cell {n}: the code differs"
        assert a["execution_count"] == b["execution_count"], f"cell {n}"
        assert without_alt(a["outputs"]) == without_alt(b["outputs"]), (
            f"cell {n}: outputs differ from English"
        )
    assert {k: v for k, v in zh["metadata"].items() if k != "translation"} == en["metadata"]


@pytest.mark.parametrize("chapter", SHIPPED)
def test_a_translated_chapter_run_again_gives_its_figures_the_stored_alt(chapter, monkeypatch):
    """draw.show passes alt= through ipc_helpers.labels.alt (alts.mo, compiled by make zh).

    nbval compares a figure's HTML and plain-text copies of its alt: re-running a Chinese chapter
    must give each figure the translated alt its stored output carries, and English stays English.
    """
    from ipc_helpers import draw

    def alt(text: str) -> str:
        return draw.show(draw.figure(1, 1), text).alt

    en = load(ROOT / "notebooks" / f"{chapter}.ipynb")
    zh = load(ROOT / "notebooks" / LANG / f"{chapter}.ipynb")
    pairs = [
        (x["metadata"]["image/png"]["alt"], y["metadata"]["image/png"]["alt"], n)
        for n, (a, b) in enumerate(zip(en["cells"], zh["cells"], strict=True), start=1)
        for x, y in zip(a.get("outputs", []), b.get("outputs", []), strict=True)
        if "alt" in x.get("metadata", {}).get("image/png", {})
    ]
    monkeypatch.setenv("IPC_TUTORIAL_LANG", LANG)
    for english, stored, n in pairs:
        assert alt(english) == stored, f"cell {n}: the figure's alt when run again; run make zh"
    monkeypatch.setenv("IPC_TUTORIAL_LANG", "en")
    for english, _, n in pairs:
        assert alt(english) == english, f"cell {n}"


def zh_heading_ids(chapter: str) -> set[str]:
    text = "\n".join(markdown(load(ROOT / "notebooks" / LANG / f"{chapter}.ipynb")))
    return {t.anchor(h) for h in re.findall(r"^#{1,6} +(.+?) *$", text, flags=re.M)}


@pytest.mark.parametrize("chapter", SHIPPED)
def test_links_in_a_chinese_chapter_lead_somewhere(chapter):
    """Relative links name existing files; #heading links name a heading of the (translated) target."""
    folder = ROOT / "notebooks" / LANG
    text = "\n".join(markdown(load(folder / f"{chapter}.ipynb")))
    for target in t.links(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue
        path, _, frag = target.partition("#")
        assert not path or (folder / path).exists(), f"{target}: no such file"
        if frag and (not path or (folder / path).parent == folder):
            ids = zh_heading_ids(Path(path).stem if path else chapter)
            assert frag in ids, f"{target}: no heading with that id"


# --- hygiene in Chinese ---------------------------------------------------------------------------

# The chapter anatomy's headings and their fixed translations (notebooks/glossary.md, "Chapter headings").
# The side sections are named so that the learner metrics recognise them (深入, 延伸阅读, 复习题).
ANATOMY = {
    "**What you will learn**": "**你将学到**",
    "**What you need**": "**你需要**",
    "**Time**": "**用时**",
    "## Summary": "## 小结",
    "## Key points": "## 要点",
    "## Review questions": "## 复习题",
    "## What's next": "## 下一步",
    "## Further reading": "## 延伸阅读",
    "## Going deeper": "## 深入一步",
    "## Setup": "## 准备工作",
    "## Clean up": "## 清理",
}
TEST_TALK_ZH = re.compile(
    r"\bnbval\b|\bCI\b|sanitiz|存储的输出|保存的输出|每次运行|每一次运行|确定性|测试(?:套件|框架|不比较|会比较)|"
    r"输出(?:都|总是)?(?:相同|一样|稳定)"
)
CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")
WORD = re.compile(r"[A-Za-z0-9_']+|[\u4e00-\u9fff]")  # as ../shared/tools/learner_metrics.py counts
SIDE = re.compile(
    r"^#{2,3}\s.*(going deeper|optional|appendix|further reading|review questions|深入|延伸阅读|复习题)",
    re.I | re.M,
)
HEAD2 = re.compile(r"^#{1,2}\s", re.M)


def markdown(nb: dict) -> list[str]:
    return [source(c) for c in nb["cells"] if c["cell_type"] == "markdown"]


def main_path_words(nb: dict) -> int:
    words, side = 0, False
    for text in markdown(nb):
        if HEAD2.search(text) or SIDE.search(text):
            side = bool(SIDE.search(text))
        if not side:
            words += len(WORD.findall(text))
    return words


def figures(nb: dict) -> int:
    n = sum(text.count("```mermaid") + len(re.findall(r"!\[|<img\b|<svg\b", text)) for text in markdown(nb))
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            n += any(k in out.get("data", {}) for k in ("image/png", "image/svg+xml"))
    return n


@pytest.mark.parametrize("chapter", SHIPPED)
def test_chinese_chapter_anatomy_and_no_test_talk(chapter):
    en = load(ROOT / "notebooks" / f"{chapter}.ipynb")
    zh = load(ROOT / "notebooks" / LANG / f"{chapter}.ipynb")
    text = "\n".join(markdown(zh))
    assert source(zh["cells"][0]).startswith("# ") and len(re.findall(r"^# ", text, flags=re.M)) == 1
    english = "\n".join(markdown(en))
    for heading, chinese in ANATOMY.items():
        if re.search(rf"^{re.escape(heading)}", english, flags=re.M):
            assert re.search(rf"^{re.escape(chinese)}", text, flags=re.M), (
                f"{heading!r} should read {chinese!r}"
            )
    found = TEST_TALK_ZH.findall(text)
    assert not found, f"test talk in the Chinese chapter: {found}"
    prose = re.sub(r"`[^`]*`|\]\([^)]*\)", "", text)
    assert len(CJK_CHAR.findall(prose)) > len(re.findall(r"[A-Za-z]+", prose)), "mostly untranslated?"


@pytest.mark.parametrize("chapter", SHIPPED)
def test_chinese_chapter_metrics_match_the_english(chapter):
    """Figures as in English; words within what a faithful translation takes (Chinese counts characters)."""
    en = load(ROOT / "notebooks" / f"{chapter}.ipynb")
    zh = load(ROOT / "notebooks" / LANG / f"{chapter}.ipynb")
    assert figures(zh) == figures(en)
    if 1 <= int(chapter[:2]) <= 98:  # the chapters the learner metrics measure
        assert figures(zh) >= 1
    # One English word takes about 1.5-1.8 Chinese characters; 2.2 leaves room, padding does not fit.
    assert main_path_words(zh) <= 2.2 * main_path_words(en) + 40, (main_path_words(zh), main_path_words(en))


def avoided_terms() -> list[str]:
    """The terms notebooks/glossary.md says not to use (its "不用" column), e.g. the source translation's."""
    text = (ROOT / "notebooks" / "glossary.md").read_text(encoding="utf-8")
    table = text.split("\n## 术语", 1)[1].split("\n## ", 1)[0]
    rows = [r.split("|")[1:-1] for r in table.splitlines() if r.startswith("|")]
    header = [h.strip() for h in rows[0]]
    column = next(i for i, h in enumerate(header) if h.startswith("不用"))
    terms = []
    for row in rows[2:]:
        terms += [
            w.strip() for w in re.split(r"[、,，]", row[column].split("（")[0]) if w.strip() not in ("", "—")
        ]
    return terms


def test_the_glossary_rules_out_the_source_translations_slips():
    assert {"进程间通讯", "寻址空间"} <= set(avoided_terms())


def test_no_ruled_out_term_in_a_translation():
    terms = avoided_terms()
    hits = []
    for path in sorted((ROOT / "locales" / LANG / "LC_MESSAGES").glob("*.po")):
        for msg in list(t.load_catalog(path))[1:]:
            hits += [(path.name, term, msg.string) for term in terms if msg.string and term in msg.string]
    assert not hits, "terms the glossary rules out:\n" + "\n".join(
        f"{a}: {b!r} in {c[:80]!r}" for a, b, c in hits
    )


# --- the tool -------------------------------------------------------------------------------------

_MD = MarkdownIt("commonmark").enable("table")


def rebuilt(cell) -> str:
    return "".join(p if isinstance(p, str) else p.render(p.msgid) for p in t.cell_pieces(cell))


@pytest.mark.parametrize("path", ENGLISH, ids=[p.name for p in ENGLISH])
def test_extraction_loses_nothing(path):
    """Putting the English text back into the frames gives the same code and the same rendered Markdown."""
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            assert rebuilt(cell) == cell.source
        elif cell.cell_type == "markdown":
            norm = lambda s: re.sub(r"\s+", " ", _MD.render(s))  # noqa: E731
            assert norm(rebuilt(cell)) == norm(cell.source)


def units(pieces) -> list[tuple[str, str]]:
    return [(p.kind, p.msgid) for p in pieces if isinstance(p, t.Unit)]


def test_markdown_blocks_are_the_units():
    text = (
        "## A heading\n\nA paragraph wrapped\nover two lines.\n\n- item one\n  continues\n- item two\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "<details><summary>Answer</summary>\n\nThe answer.\n\n</details>\n\n"
        "```mermaid\nsequenceDiagram\n  W->>R: hello\n```\n\n```python\nx = 1  # not translated\n```\n\n---\n"
    )
    assert units(t.split_markdown(text)) == [
        ("heading", "A heading"),
        ("paragraph", "A paragraph wrapped over two lines."),
        ("list item", "item one continues"),
        ("list item", "item two"),
        ("table", "| a | b |\n|---|---|\n| 1 | 2 |"),
        ("html", "<details><summary>Answer</summary>"),
        ("paragraph", "The answer."),
        ("mermaid", "sequenceDiagram\n  W->>R: hello"),
    ]
    zh = {"A heading": "标题", "item one continues": "第一项", "The answer.": "答案。"}
    out = "".join(
        p if isinstance(p, str) else p.render(zh.get(p.msgid, p.msgid)) for p in t.split_markdown(text)
    )
    assert out.startswith("## 标题\n\n") and "- 第一项\n- item two\n" in out and "\nThe answer" not in out
    assert out.endswith("```python\nx = 1  # not translated\n```\n\n---\n")


def test_nested_list_items_keep_their_indentation():
    pieces = t.split_markdown("1. first\n\n   ```python\n   x = 1\n   ```\n2. second\n")
    first = pieces[0]
    assert first.msgid == "first\n\n```python\nx = 1\n```" and not first.wrap
    assert first.render("第一\n\n```python\nx = 1\n```") == "1. 第一\n\n   ```python\n   x = 1\n   ```\n"


def test_code_comments_are_units_and_directives_stay():
    code = (
        "# NBVAL_IGNORE_OUTPUT\n# Why: versions differ.\n"
        "# Start the writer first:\n# it waits for a reader.\n"
        "w = start()  # the writer\ns = '# not a comment'  # noqa: E501\n"
    )
    assert units(t.split_code(code)) == [
        ("comment", "versions differ."),
        ("comment", "Start the writer first:\nit waits for a reader."),
        ("comment", "the writer"),
    ]
    zh = {
        "versions differ.": "版本不同。",
        "Start the writer first:\nit waits for a reader.": "先启动写入进程。",
    }
    out = "".join(
        p if isinstance(p, str) else p.render(zh.get(p.msgid, "写入进程")) for p in t.split_code(code)
    )
    assert out == (
        "# NBVAL_IGNORE_OUTPUT\n# Why: 版本不同。\n# 先启动写入进程。\n"
        "w = start()  # 写入进程\ns = '# not a comment'  # noqa: E501\n"
    )
    assert t.strip_comments(out) == t.strip_comments(code)


def test_figure_alt_texts_are_units_and_are_translated():
    cell = nbformat.v4.new_code_cell("draw.timeline(lanes, alt='Writer waits for the reader.')")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"image/png": "iVBOR", "text/plain": "<IPython.core.display.Image object>"},
            metadata={"image/png": {"alt": "Writer waits for the reader."}},
        )
    ]
    [(meta, unit)] = t.output_alts(cell)
    assert (unit.kind, unit.msgid) == ("alt", "Writer waits for the reader.") and meta is cell.outputs[
        0
    ].metadata["image/png"]


def test_a_translated_alt_reaches_the_figures_html_and_plain_text_copies():
    from ipc_helpers import draw

    bundle, metadata = draw.Picture(b"\x89PNG", "Writer waits.")._repr_mimebundle_()
    cell = nbformat.v4.new_code_cell("draw.timeline(lanes, alt='Writer waits.')")
    cell.outputs = [nbformat.v4.new_output("display_data", data=bundle, metadata=metadata)]
    cell.outputs[0].metadata["image/png"]["alt"] = "写入进程在等待 <读取进程> & \"x\"。"
    t.sync_picture_alts(cell)
    data = cell.outputs[0].data
    assert data["text/html"] == (
        f'<img src="data:image/png;base64,{bundle["image/png"]}" '
        'alt="写入进程在等待 &lt;读取进程&gt; &amp; &quot;x&quot;。">'
    )
    assert data["text/plain"] == "写入进程在等待 <读取进程> & \"x\"。"


def test_cells_with_ipython_syntax_keep_their_code():
    code = "!ls scripts  # not translated: a shell command\n# list the scripts\n%time x = 1\n"
    assert units(t.split_code(code)) == [("comment", "list the scripts")]


def test_links_are_rewritten_for_the_language_folder():
    text = (
        "[a](01-x.ipynb) [b](00-y.ipynb#Setup) ![c](images/p.png) [d](../README.md) "
        "[e](https://x.org/a) `[f](02-z.ipynb)`"
    )
    assert t.rewrite_links(text, {"00-y"}) == (
        "[a](../01-x.ipynb) [b](00-y.ipynb#Setup) ![c](../images/p.png) [d](../../README.zh-CN.md) "
        "[e](https://x.org/a) `[f](02-z.ipynb)`"
    )


def test_heading_anchors_follow_the_translated_headings():
    ids = {"00-y": {"1.-Setup": "1.-准备工作"}, "01-x": {"Clean-up": "清理"}}.get
    text = "[a](#1.-Setup) [b](00-y.ipynb#1.-Setup) [c](01-x.ipynb#Clean-up) [d](#Other)"
    assert t.rewrite_links(text, {"00-y"}, lambda c: ids(c, {}), here="00-y") == (
        "[a](#1.-准备工作) [b](00-y.ipynb#1.-准备工作) [c](../01-x.ipynb#Clean-up) [d](#Other)"
    )
    assert t.anchor("3. One `round` trip & more") == "3.-One-round-trip-&-more"


@pytest.mark.parametrize(
    "kind, msgid, text, problem",
    [
        ("paragraph", "Run `make`.", "运行 make。", "code lost"),
        ("paragraph", "See [01](01-x.ipynb).", "见第 01 章。", "links differ"),
        ("paragraph", "One sentence.", "第一行\n第二行", "one line"),
        ("paragraph", "A pipe.", "一个管道.", "full-width"),
        ("paragraph", "**Check.** Predict.", "**想一想。**先预测。", "does not render"),
        ("table", "| a | b |\n|---|---|", "| 甲 |\n|---|", "rows or columns"),
        ("mermaid", "sequenceDiagram\n  W->>R: hi", "时序图\n  W->>R: 你好", "must start with"),
    ],
)
def test_a_broken_translation_is_refused(kind, msgid, text, problem):
    unit = t.Unit(kind, msgid, wrap=kind == "paragraph")
    found = t.check(unit, text)
    assert found and problem in found[0]
    assert not t.check(unit, msgid)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project of one English chapter in a temporary folder, with the tool pointed at it."""
    (tmp_path / "notebooks" / "scripts").mkdir(parents=True)
    for name, value in [
        ("NOTEBOOKS", "notebooks"),
        ("LOCALES", "locales"),
        ("TEMPLATES", "locales/templates"),
    ]:
        monkeypatch.setattr(t, name, tmp_path / value)
    monkeypatch.setattr(t, "ROOT", tmp_path)

    def write(*paragraphs: str) -> None:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell("# 01 — Title\n\n" + "\n\n".join(paragraphs))]
        nbformat.write(nb, tmp_path / "notebooks" / "01-demo.ipynb")

    write("A FIFO is a file.", "Reads block.")
    t.update(LANG, ["01-demo"])
    po = t.po_path("01-demo")
    cat = t.load_catalog(po)
    for msg, zh in zip(list(cat)[1:], ["01 — 标题", "FIFO 是一个文件。", "读操作会阻塞。"], strict=True):
        msg.string = zh
    t.write_if_changed(po, cat)
    common = t.load_catalog(t.po_path(t.COMMON))
    common[t.BANNER].string = "[English]({english}) · [术语表]({glossary})"
    t.write_if_changed(t.po_path(t.COMMON), common)
    (tmp_path / "locales" / LANG / "shipped.txt").write_text("01-demo\n")
    return write


def test_changed_english_turns_fuzzy_and_new_english_appears_untranslated(project, capsys):
    assert t.build(LANG) == 0 and t.build(LANG, check_only=True) == 0
    project("A FIFO is a special file.", "Reads block.", "Capacity: 64 KiB on Linux.")
    # Before make translations: the changed and the new sentence have no translation.
    _, problems = t.translate_notebook("01-demo", LANG)
    assert problems.missing == ["A FIFO is a special file.", "Capacity: 64 KiB on Linux."]
    assert t.build(LANG, check_only=True) == 1
    assert t.update(LANG)  # make translations
    cat = t.load_catalog(t.po_path("01-demo"))
    changed, new = cat["A FIFO is a special file."], cat["Capacity: 64 KiB on Linux."]
    assert (
        changed.fuzzy
        and changed.string == "FIFO 是一个文件。"
        and changed.previous_id == ["A FIFO is a file."]
    )
    assert not new.string and not new.fuzzy
    assert "A FIFO is a file." not in cat  # kept only as obsolete (#~), for reference
    _, problems = t.translate_notebook("01-demo", LANG)
    assert problems.fuzzy == ["A FIFO is a special file."]
    assert problems.missing == ["Capacity: 64 KiB on Linux."]
    assert t.build(LANG) == 1
    assert "fuzzy (the English changed): 'A FIFO is a special file.'" in capsys.readouterr().err
    assert '#| msgid "A FIFO is a file."' in t.po_path("01-demo").read_text(encoding="utf-8")
    assert t.update(LANG) == []  # a second run changes nothing
    assert t.load_catalog(t.po_path("01-demo"))["A FIFO is a special file."].previous_id == [
        "A FIFO is a file."
    ]


def test_words_drawn_in_figures_get_a_catalog_that_make_zh_compiles(project, tmp_path):
    nb = nbformat.read(tmp_path / "notebooks" / "01-demo.ipynb", as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell('draw.timeline({"writer": [(t, "open")]}, title=f"{n} bytes", alt="A.")')
    )
    nbformat.write(nb, tmp_path / "notebooks" / "01-demo.ipynb")
    (tmp_path / "ipc_helpers").mkdir()
    (tmp_path / "ipc_helpers" / "draw.py").write_text('ax.set_xlabel(label("seconds"))\n')
    t.update(LANG)
    cat = t.load_catalog(t.po_path(t.FIGURES))
    assert [m.id for m in list(cat)[1:]] == ["seconds", "writer", "open"]  # not the alt text
    cat["writer"].string = "写入进程"
    t.write_if_changed(t.po_path(t.FIGURES), cat)
    t.build(LANG)
    mo = tmp_path / "locales" / LANG / "LC_MESSAGES" / "figures.mo"
    import gettext

    with mo.open("rb") as f:
        assert gettext.GNUTranslations(f).gettext("writer") == "写入进程"


def test_a_translated_chapter_run_again_shows_its_figures_alt_in_its_language(project, tmp_path, monkeypatch):
    """make zh compiles the chapters' alt translations (alts.mo); draw.show looks a figure's alt up
    there at run time, by the notebook's folder, with or without a font (an alt is text, not drawn)."""
    from ipc_helpers import draw, labels

    nb = nbformat.read(tmp_path / "notebooks" / "01-demo.ipynb", as_version=4)
    cell = nbformat.v4.new_code_cell('draw.timeline(lanes, alt="The writer waits.")')
    bundle, metadata = draw.Picture(b"\x89PNG", "The writer waits.")._repr_mimebundle_()
    cell.outputs = [nbformat.v4.new_output("display_data", data=bundle, metadata=metadata)]
    nb.cells.append(cell)
    nbformat.write(nb, tmp_path / "notebooks" / "01-demo.ipynb")
    t.update(LANG)
    cat = t.load_catalog(t.po_path("01-demo"))
    cat["The writer waits."].string = "写入进程在等待。"
    t.write_if_changed(t.po_path("01-demo"), cat)
    assert t.build(LANG) == 0 and t.build(LANG, check_only=True) == 0
    monkeypatch.setattr(labels, "LOCALES", tmp_path / "locales")
    monkeypatch.setattr(labels, "_font_installed", lambda: False)
    monkeypatch.delenv("IPC_TUTORIAL_LANG", raising=False)
    monkeypatch.chdir(tmp_path / "notebooks")
    assert draw.show(draw.figure(), "The writer waits.").alt == "The writer waits."
    monkeypatch.chdir(tmp_path / "notebooks" / LANG)
    picture = draw.show(draw.figure(), "The writer waits.")
    stored = nbformat.read(tmp_path / "notebooks" / LANG / "01-demo.ipynb", as_version=4)
    assert picture.alt == "写入进程在等待。" == stored.cells[-1].outputs[0].metadata["image/png"]["alt"]
    assert labels.alt("Not in any chapter.") == "Not in any chapter."


def test_labels_follow_the_language_of_the_notebooks_folder(tmp_path, monkeypatch):
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo

    from ipc_helpers import labels

    cat = Catalog(locale=LANG)
    cat.add("reader", "读取进程")
    (tmp_path / "locales" / LANG / "LC_MESSAGES").mkdir(parents=True)
    with open(tmp_path / "locales" / LANG / "LC_MESSAGES" / "figures.mo", "wb") as f:
        write_mo(f, cat)
    monkeypatch.setattr(labels, "LOCALES", tmp_path / "locales")
    monkeypatch.setattr(labels, "_font_installed", lambda: True)
    monkeypatch.delenv("IPC_TUTORIAL_LANG", raising=False)
    (tmp_path / "notebooks" / LANG).mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "notebooks")
    assert labels.language() == "en" and labels.label("reader") == "reader"
    monkeypatch.chdir(tmp_path / "notebooks" / LANG)
    assert labels.language() == LANG and labels.label("reader") == "读取进程" and labels.label("x") == "x"
    assert "Noto Sans CJK SC" in labels.rc()["font.sans-serif"]
    monkeypatch.setattr(labels, "_font_installed", lambda: False)  # no font with Chinese characters
    assert labels.language() == "en" and labels.label("reader") == "reader"
    monkeypatch.setattr(labels, "_font_installed", lambda: True)
    monkeypatch.setenv("IPC_TUTORIAL_LANG", "en")
    assert labels.label("reader") == "reader" and labels.rc() == {}


# --- words drawn in figures ----------------------------------------------------------------------

# What the figures below are drawn from, as the chapters pass it: event labels (a program's own
# output, or a call), bytes and sizes, mechanism and placement names stay as they are in every language.
DRAWN_DATA = {"os.open()", "open() returns", "wrote 5 bytes", "FIFO", "one CPU", "64 B", "128 B"}


def drawn_lines(monkeypatch) -> dict[str, list[str]]:
    """Each line of text every drawing function of ipc_helpers.draw draws, called as the chapters do."""
    import matplotlib.text

    from ipc_helpers import draw

    figures = []
    show = draw.show
    monkeypatch.setattr(draw, "show", lambda fig, alt: (figures.append(fig), show(fig, alt))[1])
    reader, writer = "reader (this notebook)", "writer"
    calls = {
        "timeline": lambda: draw.timeline(
            {reader: [(0.0, "os.open()"), (2.0, "open() returns")], writer: [(2.0, "wrote 5 bytes")]},
            waits={reader: [(0.0, 2.0)]},
            alt="a",
        ),
        "chunks": lambda: draw.chunks(
            {"3 os.write calls": [b"a", b"b"], "2 os.read calls": [b"ab"]}, alt="a"
        ),
        "frames": lambda: draw.frames(b"\0\0\0\x02hi", alt="a"),
        "pages": lambda: draw.pages(100, alt="a"),
        "fill_level": lambda: draw.fill_level([(0.0, 65536), (1.0, 0)], capacity=65536, alt="a"),
        "strips": lambda: draw.strips(
            {"4096-byte records": (b"AB", 1), "100,000-byte records": (b"B", 1)}, alt="a"
        ),
        "lines": lambda: draw.show(
            draw.lines({"FIFO": {64: 1.0, 128: 2.0}, "dd to dd": {64: 2.0, 128: 3.0}}, xlabel="message size",
                       ylabel="MiB/s", title="One-way throughput, writer and reader on one CPU",
                       xticklabel=draw.size_label, reference="dd to dd"),
            alt="a",
        ),
        "bars": lambda: draw.show(
            draw.bars({"FIFO": {"one CPU": 10.0}}, ylabel="µs per round trip (log scale)",
                      title="64 KiB messages: writer and reader on one CPU, or on two"),
            alt="a",
        ),
    }  # fmt: skip
    lines = {}
    for name, call in calls.items():
        figures.clear()
        call()
        texts = [text.get_text() for fig in figures for text in fig.findobj(matplotlib.text.Text)]
        # tick labels: matplotlib's minus sign is a hyphen where rc() turns axes.unicode_minus off
        texts = [text.replace("\u2212", "-") for text in texts if not text.startswith("$")]  # $: mathtext
        lines[name] = [line.strip() for text in texts for line in text.split("\n") if line.strip()]
    return lines


def _template(msgid: str) -> re.Pattern:
    """A figure word as a pattern: ``length {n}`` matches ``length 5``."""
    parts = re.split(r"\{(\w+)\}", msgid)
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts)) + "$"
    )


def test_every_word_a_figure_draws_is_drawn_in_chinese_in_the_chinese_folder(monkeypatch):
    """ipc_helpers.draw passes every word it draws through labels.label: its own (axis labels, keys,
    titles of its own) and the chapters' (lane and row names, series, titles). A chapter run in
    notebooks/zh_CN/ draws, for every English word of figures.po, its translation, and no other
    English than the data it was given (a program's output, bytes, sizes)."""
    from ipc_helpers import labels

    cat = t.load_catalog(t.po_path(t.FIGURES, LANG))
    words = [(_template(m.id), m.string) for m in cat if m.id and m.string and not m.fuzzy]
    monkeypatch.setattr(labels, "_font_installed", lambda: True)  # the words are checked here, not glyphs
    monkeypatch.delenv("IPC_TUTORIAL_LANG", raising=False)
    monkeypatch.chdir(ROOT / "notebooks")
    english = drawn_lines(monkeypatch)
    monkeypatch.chdir(ROOT / "notebooks" / LANG)
    chinese = drawn_lines(monkeypatch)
    problems = []
    for name, lines in english.items():
        if len(lines) != len(chinese[name]):
            problems.append(f"draw.{name}: {len(lines)} lines of text in English, {len(chinese[name])} in zh")
            continue
        for en, zh in zip(lines, chinese[name], strict=True):
            match = next(((m, msgstr) for pattern, msgstr in words if (m := pattern.match(en))), None)
            want = match[1].format(**match[0].groupdict()) if match else en
            if zh != want:
                problems.append(f"draw.{name}: draws {zh!r} for {en!r}, expected {want!r}")
            elif not (match or en in DRAWN_DATA or en.startswith("b'")) and re.search(r"[A-Za-z]{3}", en):
                problems.append(f"draw.{name}: draws {en!r} in English (not passed through labels.label?)")
    assert not problems, "\n".join(problems)


def test_words_drawn_in_figures_of_published_chapters_are_translated():
    """figures.po: every word ipc_helpers.draw draws, and every word a published chapter passes it, has
    a translation (not fuzzy) that keeps the placeholders ({n}) the drawing fills in."""
    cat = t.load_catalog(t.po_path(t.FIGURES, LANG))
    published = {f"notebooks/{c}.ipynb" for c in SHIPPED}
    problems = []
    for msg in cat:
        if not msg.id or not any(f.startswith("ipc_helpers/") or f in published for f, _ in msg.locations):
            continue
        if not msg.string or msg.fuzzy:
            problems.append(f"{msg.id!r}: {'fuzzy' if msg.fuzzy else 'not translated'}")
        elif sorted(re.findall(r"\{\w+\}", msg.id)) != sorted(re.findall(r"\{\w+\}", msg.string)):
            problems.append(f"{msg.id!r}: the translation {msg.string!r} changes the placeholders")
    where = f"locales/{LANG}/LC_MESSAGES/figures.po (make translations, then make zh)"
    assert not problems, where + ":\n" + "\n".join(problems)
