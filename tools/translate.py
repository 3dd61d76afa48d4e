"""Translated editions of the chapters, kept in step with the English notebooks by gettext catalogs.

The English notebooks in ``notebooks/`` are the source. What a translator translates is extracted
from them into one gettext catalog per chapter and language; the translated notebooks are built
from the English notebooks and the catalogs, never edited by hand.

What is translated (one catalog entry, a *unit*, each):

- in Markdown cells, each block: a heading, a paragraph, a list item, a table, a block quote, an
  HTML block with text in it (such as ``<details><summary>Answer</summary>``), and a Mermaid
  diagram (the whole diagram: labels and messages are translated, names and arrows kept).
  Paragraphs and simple list items are unwrapped to one line, so re-wrapping the English does not
  disturb the translation, and the translation is written as one line (a line break between two
  Chinese characters would show as a space);
- in code cells, comments: a run of comment-only lines, or a comment after code. Code itself,
  outputs, execution counts and the comments that tools read (``# NBVAL_...``, ``# noqa``) stay as
  they are. After ``# Why:`` only the reason is translated;
- in outputs, the text alternative of a figure (``alt`` in the output's metadata, and its HTML and
  plain-text copies); the picture itself is copied (see ipc_helpers/labels.py for words drawn in
  figures). ``build`` also compiles the published chapters' alts into ``alts.mo``: ``draw.show``
  looks the English ``alt=`` up there, so a translated chapter run again shows the stored alt.

Links in the translated Markdown are rewritten so that they work from ``notebooks/<lang>/``: a
chapter that is published in the language is linked in it, any other relative target (an English
chapter, an image, the README) gets ``../`` in front. Cells that run ``scripts/...`` find the
scripts through the symbolic link ``notebooks/<lang>/scripts -> ../scripts``.

Commands (``python tools/translate.py COMMAND``; the make target in brackets):

  update [--start NN]  [make translations]  write locales/templates/<chapter>.pot from the English
                       notebooks and merge each template into locales/<lang>/LC_MESSAGES/<chapter>.po:
                       changed English marks its entry fuzzy (the old translation kept for reference),
                       new English appears untranslated. --start NN adds the catalog of chapter NN.
  build [--check]      [make zh]  build notebooks/<lang>/<chapter>.ipynb for every chapter listed in
                       locales/<lang>/shipped.txt; refuses while an entry is missing, fuzzy or broken.
                       --check writes nothing and exits 1 when a file would change.
  status               [make zh-status]  per chapter: entries translated, fuzzy, untranslated.
  preview NN           [make zh-preview CHAPTER=NN]  build one chapter into build/<lang>/, English
                       where the translation is missing, to read a translation in progress.
"""

from __future__ import annotations

import argparse
import ast
import copy
import functools
import html
import io
import re
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import denormalize, normalize, read_po, write_po
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LOCALES = ROOT / "locales"
TEMPLATES = LOCALES / "templates"
LANG = "zh_CN"
PROJECT = "ipc-tutorial"
TEAM = {"zh_CN": "Simplified Chinese (简体中文), see notebooks/glossary.md"}
COMMON = "common"  # the catalog of text the build adds to every chapter (the language banner)
FIGURES = "figures"  # words drawn in figures: label("...") calls in ipc_helpers (see ipc_helpers/labels.py)
ALTS = "alts"  # figures' text alternatives of the published chapters, compiled for ipc_helpers.labels.alt
BANNER = "[English version]({english}) · [Glossary]({glossary})"

WIDTH = 100  # PO lines
CHAPTER = re.compile(r"\d\d-[a-z0-9]+(?:-[a-z0-9]+)*")
_MD = MarkdownIt("commonmark").enable("table")

# What a translator is told about each kind of entry (first "#." line in the catalog).
NOTES = {
    "heading": "heading",
    "paragraph": "paragraph",
    "list item": "list item",
    "table": "table: keep the | separators, the number of rows and columns, and the |---| line",
    "quote": "block quote",
    "html": "HTML block: translate the text, keep the tags",
    "mermaid": (
        "Mermaid diagram: translate labels and messages; keep the diagram type, the names before "
        "'as', node ids and arrows"
    ),
    "alt": "text alternative of a figure (read by screen readers): one sentence",
    "comment": "code comment: keep it short (ruff counts a Chinese character as two columns, 110 per line)",
}


# --- units: what is translated, and how a translation is put back -------------------------------


@dataclass
class Unit:
    """One catalog entry's text in a cell, and the frame it is put back into."""

    kind: str
    msgid: str
    prefix: str = ""  # put before the first line of the translation
    indent: str = ""  # put before every further line
    suffix: str = "\n"  # after the last line
    line_prefix: str = ""  # before every line (block quotes, comment runs)
    wrap: bool = False  # one line in the source, so one line in the translation

    def render(self, text: str) -> str:
        out = []
        for i, line in enumerate(text.split("\n")):
            if self.line_prefix:  # block quotes and comment runs: every line carries its mark
                lead = self.prefix if i == 0 else self.indent
                out.append((lead + self.line_prefix + line).rstrip())
            else:
                out.append((self.prefix if i == 0 else (self.indent if line else "")) + line)
        return "\n".join(out) + self.suffix


Piece = str | Unit


def unwrap(lines: list[str]) -> str:
    """Join a paragraph's source lines into one line (hard breaks kept)."""
    text = ""
    for i, line in enumerate(lines):
        hard = line.endswith("  ") or line.endswith("\\")
        text += line.strip() if not hard else line.lstrip()
        if i < len(lines) - 1:
            text += "\n" if hard else " "
    return text


def _visible(html_text: str) -> bool:
    return bool(re.sub(r"<!--.*?-->|<[^>]*>|\s", "", html_text, flags=re.S))


def _simple(tokens: list, start: int) -> bool:
    """True when the container opened at tokens[start] holds exactly one paragraph."""
    inner, depth, i = [], 0, start
    while True:
        t = tokens[i]
        depth += t.nesting
        if i > start and depth == 0:
            break
        if i > start:
            inner.append(t.type)
        i += 1
    return inner == ["paragraph_open", "inline", "paragraph_close"]


def split_markdown(text: str) -> list[Piece]:
    """A Markdown cell as verbatim text and units; joining the pieces (units as msgid) re-makes the cell."""
    tokens = _MD.parse(text)
    lines = text.splitlines(keepends=True)
    blocks: list[tuple[int, int, str, int]] = []  # (first line, end line, kind, token index)
    for i, t in enumerate(tokens):
        if t.level == 0 and t.map and t.nesting >= 0:
            kind = {
                "heading_open": "heading",
                "paragraph_open": "paragraph",
                "table_open": "table",
                "blockquote_open": "quote",
                "html_block": "html",
                "fence": "mermaid" if t.info.strip() == "mermaid" else None,
            }.get(t.type)
            if kind:
                blocks.append((t.map[0], t.map[1], kind, i))
        elif t.type == "list_item_open" and t.level == 1:
            blocks.append((t.map[0], t.map[1], "list item", i))
    pieces: list[Piece] = []
    cursor = 0
    for start, end, kind, index in blocks:
        while end > start and not lines[end - 1].strip():
            end -= 1
        block = lines[start:end]
        if start < cursor or not block:
            continue
        pieces.append("".join(lines[cursor:start]))
        unit = _unit(kind, [line.rstrip("\n") for line in block], tokens, index)
        if unit is None or not unit.msgid.strip():
            pieces.append("".join(block))
        else:
            if not block[-1].endswith("\n"):
                unit.suffix = unit.suffix[:-1] if unit.suffix.endswith("\n") else unit.suffix
            pieces.append(unit)
        cursor = end
    pieces.append("".join(lines[cursor:]))
    return [p for p in pieces if p != ""]


def _unit(kind: str, block: list[str], tokens: list, index: int) -> Unit | None:
    if kind == "heading":
        m = re.fullmatch(r"(\s{0,3}#{1,6}[ \t]+)(.*?)(?:[ \t]+#+[ \t]*)?", block[0])
        if m is None or len(block) != 1:  # a setext heading: text lines, then the underline
            return Unit("heading", unwrap(block[:-1]), suffix="\n" + block[-1] + "\n", wrap=True)
        return Unit("heading", m.group(2).strip(), prefix=m.group(1), wrap=True)
    if kind == "paragraph":
        return Unit("paragraph", unwrap(block), wrap=True)
    if kind in ("table", "html"):
        if kind == "html" and not _visible("\n".join(block)):
            return None
        return Unit(kind, "\n".join(block))
    if kind == "mermaid":
        if len(block) < 2 or not block[-1].strip().startswith(("```", "~~~")):
            return None
        return Unit(
            "mermaid",
            "\n".join(block[1:-1]),
            prefix=block[0] + "\n",
            indent="",
            suffix="\n" + block[-1] + "\n",
        )
    if kind == "quote":
        inner = [re.sub(r"^\s{0,3}> ?", "", line) for line in block]
        simple = _simple(tokens, index)
        return Unit("quote", unwrap(inner) if simple else "\n".join(inner), line_prefix="> ", wrap=simple)
    if kind == "list item":
        m = re.match(r"\s*(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$)", block[0])
        if m is None:
            return None
        marker = m.group(0) if m.group(0) != m.group(0).rstrip() else m.group(0) + " "
        width = len(marker)
        content = [block[0][len(m.group(0)) :]] + [
            line[width:] if line.startswith(" " * width) else line.lstrip() for line in block[1:]
        ]
        simple = _simple(tokens, index)
        msgid = unwrap(content) if simple else "\n".join(content)
        return Unit("list item", msgid, prefix=marker, indent=" " * width, wrap=simple)
    return None


# Comments that tools read stay as they are.
DIRECTIVE = re.compile(r"^#\s*(?:NBVAL_\w+|noqa\b|type:|fmt:|ruff:|pragma\b|pylint:|isort:|!)")


def _comments(source: str) -> list[tuple[int, int]]:
    """(line index, column) of every comment in a code cell.

    Cells with IPython syntax (``%magic``, ``!command``), which the tokenizer of each Python
    version treats differently, get their comment-only lines only.
    """
    if not re.search(r"^\s*[%!]", source, flags=re.M):
        try:
            return [
                (tok.start[0] - 1, tok.start[1])
                for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT
            ]
        except (tokenize.TokenError, SyntaxError):
            pass
    lines = source.splitlines()
    return [
        (i, len(line) - len(line.lstrip())) for i, line in enumerate(lines) if line.lstrip().startswith("#")
    ]


def split_code(source: str) -> list[Piece]:
    """A code cell as verbatim code and comment units."""
    lines = source.splitlines(keepends=True)
    found = dict(_comments(source))
    pieces: list[Piece] = []
    run: list[int] = []

    def flush() -> None:
        if not run:
            return
        first = lines[run[0]]
        col = found[run[0]]
        texts = [re.sub(r"^#\s?", "", lines[i][col:].rstrip("\n")) for i in run]
        pieces.append(
            Unit(
                "comment",
                "\n".join(t.rstrip() for t in texts),
                prefix=first[:col],
                indent=first[:col],
                line_prefix="# ",
                suffix="\n" if lines[run[-1]].endswith("\n") else "",
            )
        )
        run.clear()

    for i, line in enumerate(lines):
        col = found.get(i)
        comment = line[col:].rstrip("\n") if col is not None else ""
        letters = re.search(r"[^\W\d_]", comment)
        if col is None or DIRECTIVE.match(comment) or not letters:
            flush()
            pieces.append(line)
            continue
        full_line = not line[:col].strip()
        why = re.match(r"#\s*Why:\s*", comment)
        if full_line and not why and run and found[run[-1]] == col and run[-1] == i - 1:
            run.append(i)
            continue
        flush()
        if full_line and not why:
            run.append(i)
            continue
        lead = line[:col] + (why.group(0) if why else "# ")
        text = comment[len(why.group(0)) :] if why else re.sub(r"^#\s?", "", comment)
        ending = "\n" if line.endswith("\n") else ""
        pieces.append(Unit("comment", text.rstrip(), prefix=lead, suffix=ending, wrap=True))
    flush()
    return pieces


def strip_comments(source: str) -> str:
    """The code of a cell without its comments and comment-only lines (what must match across languages)."""
    lines = source.splitlines()
    for i, col in _comments(source):
        lines[i] = lines[i][:col].rstrip()
    return "\n".join(line for line in lines if line.strip())


def output_alts(cell) -> list[tuple[dict, Unit]]:
    """The text alternatives of a cell's figures: ``alt`` in output metadata, as IPython's Image keeps it."""
    found = []
    for output in cell.get("outputs", []):
        for meta in output.get("metadata", {}).values():
            if isinstance(meta, dict) and isinstance(meta.get("alt"), str) and meta["alt"].strip():
                found.append((meta, Unit("alt", meta["alt"], suffix="", wrap=True)))
    return found


def sync_picture_alts(cell) -> None:
    """Give a figure's HTML copy and plain-text fallback (ipc_helpers.draw.Picture) its PNG's alt."""
    for output in cell.get("outputs", []):
        alt = output.get("metadata", {}).get("image/png", {}).get("alt")
        data = output.get("data", {})
        if isinstance(alt, str) and isinstance(data.get("text/html"), str):
            attribute = f'alt="{html.escape(alt)}"'
            data["text/html"] = re.sub(r'alt="[^"]*"', attribute.replace("\\", "\\\\"), data["text/html"])
            data["text/plain"] = alt


def cell_pieces(cell) -> list[Piece]:
    if cell.cell_type == "markdown":
        return split_markdown(cell.source)
    if cell.cell_type == "code":
        return split_code(cell.source)
    return [cell.source]


# --- catalogs -----------------------------------------------------------------------------------


def chapters() -> list[str]:
    return sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]-*.ipynb") if CHAPTER.fullmatch(p.stem))


def read_notebook(chapter: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{chapter}.ipynb", as_version=4)


def template(chapter: str, nb: nbformat.NotebookNode | None = None) -> Catalog:
    """The catalog template of a chapter: every unit of its English notebook, in order."""
    nb = nb if nb is not None else read_notebook(chapter)
    cat = _catalog(chapter)
    for n, cell in enumerate(nb.cells, start=1):
        for piece in cell_pieces(cell) + [unit for _, unit in output_alts(cell)]:
            if isinstance(piece, Unit):
                where = (f"notebooks/{chapter}.ipynb", n)
                if piece.msgid in cat:
                    cat[piece.msgid].locations.append(where)
                else:
                    cat.add(piece.msgid, locations=[where], auto_comments=[NOTES[piece.kind]])
    return cat


def common_template() -> Catalog:
    cat = _catalog(COMMON)
    cat.add(
        BANNER,
        locations=[("tools/translate.py", 1)],
        auto_comments=["added under the title of every translated chapter; keep {english} and {glossary}"],
    )
    return cat


def figures_template() -> Catalog:
    """The words figures draw, looked up at run time by ipc_helpers.labels.label().

    Every ``label("...")`` in ipc_helpers, and every string written straight into a ``draw.*(...)``
    call in an English chapter (lane names, event labels, titles; not ``alt=``, which is translated
    in the stored output), or named in the cell and passed by that name (``title = "..."``).
    """
    cat = _catalog(FIGURES)

    def add(text: str, where: tuple[str, int]) -> None:
        if not text.strip():
            return
        if text in cat:
            cat[text].locations.append(where)
        else:
            cat.add(text, locations=[where], auto_comments=["a word drawn in a figure: keep it short"])

    for path in sorted((ROOT / "ipc_helpers").rglob("*.py")):
        with path.open("rb") as f:
            for lineno, text, _, _ in extract("python", f, keywords={"label": None}):
                add(text, (str(path.relative_to(ROOT)), lineno))
    for chapter in chapters():
        for n, cell in enumerate(read_notebook(chapter).cells, start=1):
            if cell.cell_type != "code" or "draw." not in cell.source:
                continue
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            # a string the cell names first (title = "...") and then passes: draw.lines(..., title=title)
            named = {
                a.targets[0].id: a.value.value
                for a in ast.walk(tree)
                if isinstance(a, ast.Assign)
                and len(a.targets) == 1
                and isinstance(a.targets[0], ast.Name)
                and isinstance(a.value, ast.Constant)
                and isinstance(a.value.value, str)
            }
            for call in ast.walk(tree):
                func = getattr(call, "func", None)
                if not (isinstance(func, ast.Attribute) and getattr(func.value, "id", None) == "draw"):
                    continue
                for arg in [*call.args, *(k.value for k in call.keywords if k.arg != "alt")]:
                    parts = {id(c) for f in ast.walk(arg) if isinstance(f, ast.JoinedStr) for c in f.values}
                    for node in ast.walk(arg):  # whole strings only: not the pieces of an f-string
                        if (
                            isinstance(node, ast.Constant)
                            and isinstance(node.value, str)
                            and id(node) not in parts
                        ):
                            add(node.value, (f"notebooks/{chapter}.ipynb", n))
                        elif isinstance(node, ast.Name) and node.id in named:
                            add(named[node.id], (f"notebooks/{chapter}.ipynb", n))
    return cat


def _catalog(name: str, lang: str | None = None) -> Catalog:
    return Catalog(
        locale=lang,
        project=PROJECT,
        version="1",
        msgid_bugs_address="the issue tracker of this project",
        last_translator="see git log",
        language_team=TEAM.get(lang or "", "") or "",
        header_comment=_header(name),
        fuzzy=False,
    )


def _header(name: str) -> str:
    return (
        f"# Translations of {name} (Named pipes in Python, the {PROJECT} notebooks).\n"
        "# Made by tools/translate.py from the English notebooks; translate with any PO editor,\n"
        "# then run make zh. Glossary: notebooks/glossary.md.\n"
        "#"
    )


def po_path(name: str, lang: str = LANG) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{name}.po"


def pot_path(name: str) -> Path:
    return TEMPLATES / f"{name}.pot"


def load_catalog(path: Path) -> Catalog:
    with path.open("rb") as f:
        cat = read_po(f, abort_invalid=True)
    # Babel writes a fuzzy entry's old English as "#| msgid ..." but reads it back as a comment.
    for msg in list(cat) + list(cat.obsolete.values()):
        old = [c[2:] for c in msg.user_comments if c.startswith("| ")]
        if old and old[0].startswith("msgid "):
            msg.user_comments = [c for c in msg.user_comments if not c.startswith("| ")]
            msg.previous_id = [denormalize("\n".join([old[0][len("msgid ") :], *old[1:]]))]
    return cat


def _po_bytes(cat: Catalog) -> bytes:
    """The catalog as a PO file; a fuzzy entry shows the English it was translated from (#| msgid)."""
    buf = io.BytesIO()
    # Babel's own include_previous re-wraps "#| msgid" like free text, breaking long strings: add them here.
    write_po(buf, cat, width=WIDTH, ignore_obsolete=False)
    text = buf.getvalue().decode("utf-8")
    blocks = text.rstrip("\n").split("\n\n")
    messages = list(cat) + list(cat.obsolete.values())
    if len(blocks) != len(messages):
        raise RuntimeError("unexpected PO layout from Babel")
    for i, msg in enumerate(messages):
        if msg.fuzzy and msg.previous_id and i:
            lines = blocks[i].split("\n")
            at = next(n for n, line in enumerate(lines) if line.startswith(("msgid ", "#~ msgid ")))
            lines.insert(at, "#| msgid " + normalize(msg.previous_id[0], prefix="#| ", width=WIDTH))
            blocks[i] = "\n".join(lines)
    return ("\n\n".join(blocks) + text[len(text.rstrip("\n")) :]).encode("utf-8")


def write_if_changed(path: Path, cat: Catalog) -> bool:
    """Write a catalog; keep the file (and its dates) when nothing but the dates would change."""
    if path.exists():
        old, new = load_catalog(path), (cat.creation_date, cat.revision_date)
        cat.creation_date = old.creation_date
        if not cat.locale:  # a template
            cat.revision_date = old.revision_date
        if _po_bytes(cat) == path.read_bytes():
            return False
        if not cat.locale:
            cat.creation_date, cat.revision_date = new
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_po_bytes(cat))
    return True


def update(lang: str = LANG, start: list[str] | None = None) -> list[str]:
    """Refresh the templates of every started chapter and merge them into the catalogs."""
    start = start or []
    figures = figures_template()
    names = {p.stem for p in (LOCALES / lang / "LC_MESSAGES").glob("*.po")} | set(start) | {COMMON}
    names |= {FIGURES} if len(figures) else set()
    changed = []
    for name in sorted(names):
        if name not in (COMMON, FIGURES) and name not in chapters():
            raise SystemExit(f"no English chapter notebooks/{name}.ipynb")
        pot = common_template() if name == COMMON else figures if name == FIGURES else template(name)
        if write_if_changed(pot_path(name), pot):
            changed.append(str(pot_path(name).relative_to(ROOT)))
        path = po_path(name, lang)
        if path.exists():
            cat = load_catalog(path)
            previous = {m.id: m.previous_id for m in cat if m.previous_id}
            cat.update(load_catalog(pot_path(name)), update_header_comment=True)
            for msg in cat:  # still fuzzy from an earlier run: keep showing the old English
                if msg.fuzzy and not msg.previous_id and msg.id in previous:
                    msg.previous_id = previous[msg.id]
        else:
            cat = _catalog(name, lang)
            cat.update(load_catalog(pot_path(name)), update_header_comment=True)
            cat.revision_date = cat.creation_date
        if write_if_changed(path, cat):
            changed.append(str(path.relative_to(ROOT)))
    return changed


def shipped(lang: str = LANG) -> list[str]:
    """The chapters published in a language: locales/<lang>/shipped.txt, one name a line."""
    path = LOCALES / lang / "shipped.txt"
    if not path.exists():
        return []
    names = [line.split("#")[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [n for n in names if n]


@dataclass
class Problems:
    missing: list[str] = field(default_factory=list)
    fuzzy: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.fuzzy or self.broken)

    def lines(self, chapter: str) -> list[str]:
        out = [f"{chapter}: untranslated: {short(m)}" for m in self.missing]
        out += [f"{chapter}: fuzzy (the English changed): {short(m)}" for m in self.fuzzy]
        out += [f"{chapter}: {b}" for b in self.broken]
        return out


def short(text: str, n: int = 90) -> str:
    text = text.replace("\n", " ")
    return repr(text if len(text) <= n else text[: n - 1] + "…")


# --- checks on one translation ------------------------------------------------------------------

CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|\b(?:href|src)=\"([^\"]+)\"")
CJK = r"[\u3400-\u9fff\uf900-\ufaff]"


def links(text: str) -> list[str]:
    return sorted(a or b for a, b in LINK.findall(CODE_SPAN.sub("", text)))


def check(unit: Unit, text: str) -> list[str]:
    """What is wrong with a translation of a unit (empty when nothing)."""
    problems = []
    if unit.wrap and "\n" in text:
        problems.append("write it on one line (a line break between Chinese characters shows as a space)")
    spans = {s for _, s in CODE_SPAN.findall(unit.msgid)}
    lost = sorted(s for s in spans if s not in {t for _, t in CODE_SPAN.findall(text)})
    if lost and unit.kind != "comment":
        problems.append(f"code lost: {', '.join('`' + s + '`' for s in lost)}")
    if links(unit.msgid) != links(text):
        problems.append(f"links differ: {links(unit.msgid)} in English, {links(text)} here")
    if unit.kind == "table":
        shape = [line.count("|") for line in unit.msgid.split("\n")]
        if [line.count("|") for line in text.split("\n")] != shape:
            problems.append("the table's rows or columns differ from the English")
    if unit.kind == "mermaid":
        first = unit.msgid.split("\n")[0].strip()
        if text.split("\n")[0].strip() != first:
            problems.append(f"the diagram must start with {first!r}")
    if unit.kind != "mermaid" and re.search(CJK + r"[,.;:?!](?:\s|$)", CODE_SPAN.sub("", text)):
        problems.append("use full-width punctuation after Chinese text (，。；：？！)")
    pairs = CODE_SPAN.sub("", text).count("**") // 2  # the '**' outside code
    if unit.kind != "mermaid" and _MD.render(text).count("<strong>") < pairs:
        # CommonMark cannot close "**" between full-width punctuation and a character ("：**预").
        problems.append("a '**' pair does not render as bold: put a space after the closing '**'")
    return [f"{p}: {short(unit.msgid, 60)}" for p in problems]


def lookup(cat: Catalog, unit: Unit, problems: Problems, fallback: bool = False) -> str:
    msg = cat.get(unit.msgid) if cat is not None else None
    if msg is None or not msg.string:
        if not fallback:
            problems.missing.append(unit.msgid)
        return unit.msgid
    if msg.fuzzy:
        if not fallback:
            problems.fuzzy.append(unit.msgid)
        return unit.msgid
    found = check(unit, msg.string)
    problems.broken.extend(found)
    return unit.msgid if found and fallback else msg.string


# --- building a translated notebook -------------------------------------------------------------


def anchor(heading: str) -> str:
    """The id JupyterLab gives a heading: its rendered text, spaces turned into "-"."""
    return html.unescape(re.sub(r"<[^>]+>", "", _MD.renderInline(heading))).strip().replace(" ", "-")


def heading_ids(chapter: str, lang: str = LANG) -> dict[str, str]:
    """English heading id -> translated heading id, for a chapter's translated headings."""
    path = po_path(chapter, lang)
    cat = load_catalog(path) if path.exists() else None
    ids = {}
    for cell in read_notebook(chapter).cells:
        for unit in cell_pieces(cell) if cell.cell_type == "markdown" else []:
            msg = cat.get(unit.msgid) if cat is not None and isinstance(unit, Unit) else None
            if unit.kind == "heading" and msg is not None and msg.string and not msg.fuzzy:
                ids[anchor(unit.msgid)] = anchor(msg.string)
    return ids


def rewrite_links(text: str, published: set[str], ids=lambda chapter: {}, here: str = "") -> str:
    """Make relative link targets work from notebooks/<lang>/; ``#heading`` anchors follow the translation.

    ``ids(chapter)`` maps a chapter's English heading ids to its translated ones; ``here`` is the
    chapter being translated (for links to its own headings).
    """

    def target(t: str) -> str:
        if t.startswith("#"):
            return "#" + ids(here).get(t[1:], t[1:]) if here else t
        if re.match(r"[a-z][a-z0-9+.-]*:|/", t, flags=re.I):
            return t
        path, _, frag = t.partition("#")
        stem = Path(path).stem
        if CHAPTER.fullmatch(stem) and "/" not in path and stem in published:
            return path + ("#" + ids(stem).get(frag, frag) if frag else "")
        if path == "../README.md":
            path = "../README.zh-CN.md"
        return "../" + path + ("#" + frag if frag else "")

    def fix(m: re.Match) -> str:
        whole, t = m.group(0), m.group(1) or m.group(2)
        return whole.replace(t, target(t), 1)

    out, last = [], 0
    for span in CODE_SPAN.finditer(text):  # never inside code
        out.append(LINK.sub(fix, text[last : span.start()]))
        out.append(span.group(0))
        last = span.end()
    out.append(LINK.sub(fix, text[last:]))
    return "".join(out)


def translate_notebook(
    chapter: str, lang: str = LANG, fallback: bool = False, published: set[str] | None = None
) -> tuple[nbformat.NotebookNode, Problems]:
    """The translated notebook of a chapter, and what is missing or wrong in its catalog."""
    en = read_notebook(chapter)
    path = po_path(chapter, lang)
    cat = load_catalog(path) if path.exists() else None
    common = load_catalog(po_path(COMMON, lang)) if po_path(COMMON, lang).exists() else None
    published = set(shipped(lang)) if published is None else published
    problems = Problems()
    ids = functools.cache(lambda name: heading_ids(name, lang))
    nb = copy.deepcopy(en)
    for cell in nb.cells:
        pieces = cell_pieces(cell)
        text = "".join(
            p if isinstance(p, str) else p.render(lookup(cat, p, problems, fallback)) for p in pieces
        )
        if cell.cell_type == "markdown":
            text = rewrite_links(text, published, ids, chapter)
        cell.source = text
        for meta, unit in output_alts(cell):
            meta["alt"] = lookup(cat, unit, problems, fallback)
        sync_picture_alts(cell)
    banner = Unit("paragraph", BANNER, wrap=True)
    line = lookup(common, banner, problems, fallback).format(
        english=f"../{chapter}.ipynb", glossary="../glossary.md"
    )
    first = nb.cells[0]  # the banner goes right under the title
    title, sep, rest = first.source.partition("\n")
    first.source = (
        title + "\n\n" + line + ("\n" + rest if sep and rest.strip() else "\n")
        if title.startswith("# ")
        else (first.source.rstrip("\n") + "\n\n" + line)
    )
    nb.metadata["translation"] = {"language": lang, "source": f"../{chapter}.ipynb"}
    return nb, problems


def notebook_bytes(nb: nbformat.NotebookNode) -> bytes:
    """The file nbformat.write would write (as make execute does for the English notebooks)."""
    text = nbformat.writes(nb)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def build(lang: str = LANG, check_only: bool = False) -> int:
    out_dir = NOTEBOOKS / lang
    wanted = shipped(lang)
    failures, stale = [], []
    for chapter in wanted:
        if chapter not in chapters():
            failures.append(
                f"{chapter}: listed in locales/{lang}/shipped.txt, but notebooks/{chapter}.ipynb is missing"
            )
            continue
        nb, problems = translate_notebook(chapter, lang)
        if problems:
            failures += problems.lines(chapter)
            continue
        target = out_dir / f"{chapter}.ipynb"
        data = notebook_bytes(nb)
        if not target.exists() or target.read_bytes() != data:
            stale.append(str(target.relative_to(ROOT)))
            if not check_only:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
    extra = sorted(p for p in out_dir.glob("*.ipynb") if p.stem not in wanted) if out_dir.exists() else []
    for path in extra:
        stale.append(f"{path.relative_to(ROOT)} (not in shipped.txt)")
        if not check_only:
            path.unlink()
    po = po_path(FIGURES, lang)
    if po.exists():  # the figure labels, compiled for the standard library's gettext
        buf = io.BytesIO()
        write_mo(buf, load_catalog(po))
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != buf.getvalue():
            stale.append(str(mo.relative_to(ROOT)))
            if not check_only:
                mo.write_bytes(buf.getvalue())
    if wanted:  # the figures' alts, so that a translated chapter, run again, draws them with the stored alt
        data = alts_mo(wanted, lang)
        mo = po_path(ALTS, lang).with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != data:
            stale.append(str(mo.relative_to(ROOT)))
            if not check_only:
                mo.write_bytes(data)
    link = out_dir / "scripts"
    if wanted and not link.is_symlink():
        stale.append(f"{link.relative_to(ROOT)} (symbolic link to ../scripts)")
        if not check_only:
            link.symlink_to(Path("..") / "scripts", target_is_directory=True)
    for line in failures:
        print(line, file=sys.stderr)
    if failures:
        print(
            f"\n{len(failures)} problem(s): translate with a PO editor in locales/{lang}/LC_MESSAGES/ "
            "(a fuzzy entry: check the translation against the new English, then remove the fuzzy flag), "
            "or take the chapter out of shipped.txt.",
            file=sys.stderr,
        )
        return 1
    for name in stale:
        print(("out of date: " if check_only else "wrote ") + name)
    return 1 if (check_only and stale) else 0


def alts_mo(chapters_: list[str], lang: str = LANG) -> bytes:
    """The translated figure alts of these chapters as a compiled catalog (ipc_helpers.labels.alt reads it).

    Its dates are those of the newest chapter catalog, so the same catalogs give the same bytes.
    """
    cat = _catalog(ALTS, lang)
    dates = []
    for chapter in chapters_:
        path = po_path(chapter, lang)
        if not path.exists():
            continue
        source = load_catalog(path)
        dates.append(source.revision_date)
        for cell in read_notebook(chapter).cells:
            for _, unit in output_alts(cell):
                msg = source.get(unit.msgid)
                if msg is not None and msg.string and not msg.fuzzy and unit.msgid not in cat:
                    cat.add(unit.msgid, msg.string)
    if dates:
        cat.creation_date = cat.revision_date = max(dates)
    buf = io.BytesIO()
    write_mo(buf, cat)
    return buf.getvalue()


def preview(chapter: str, lang: str = LANG) -> Path:
    nb, problems = translate_notebook(chapter, lang, fallback=True, published=set())
    out = ROOT / "build" / lang
    out.mkdir(parents=True, exist_ok=True)
    # build/<lang>/ mirrors notebooks/<lang>/: what the chapter runs and links to is one level up.
    for link, target in [
        (out / "scripts", NOTEBOOKS / "scripts"),
        (out.parent / "glossary.md", NOTEBOOKS / "glossary.md"),
        (out.parent / f"{chapter}.ipynb", NOTEBOOKS / f"{chapter}.ipynb"),
    ]:
        if not link.is_symlink():
            link.symlink_to(target)
    path = out / f"{chapter}.ipynb"
    path.write_bytes(notebook_bytes(nb))
    for line in problems.lines(chapter):
        print(line, file=sys.stderr)
    return path


def status(lang: str = LANG) -> list[tuple[str, int, int, int, bool]]:
    """(chapter, translated, fuzzy, untranslated, shipped) for every English chapter."""
    rows = []
    published = set(shipped(lang))
    for chapter in chapters():
        units = list(template(chapter))[1:]
        path = po_path(chapter, lang)
        cat = load_catalog(path) if path.exists() else None
        done = fuzzy = 0
        for m in units:
            msg = cat.get(m.id) if cat is not None else None
            if msg is not None and msg.string:
                fuzzy += msg.fuzzy
                done += not msg.fuzzy
        rows.append((chapter, done, fuzzy, len(units) - done - fuzzy, chapter in published))
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", default=LANG)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("update", help="refresh templates and catalogs (make translations)")
    up.add_argument("--start", nargs="*", default=[], metavar="NN", help="add the catalog of these chapters")
    bd = sub.add_parser("build", help="build the published chapters (make zh)")
    bd.add_argument("--check", action="store_true", help="write nothing; exit 1 when out of date")
    sub.add_parser("status", help="how far each chapter's translation is")
    pv = sub.add_parser("preview", help="one chapter into build/<lang>/, English where untranslated")
    pv.add_argument("chapter")
    args = parser.parse_args(argv)

    def chapter_name(n: str) -> str:
        hits = [c for c in chapters() if c == n or c.startswith(f"{n}-")]
        if len(hits) != 1:
            raise SystemExit(f"no single chapter matches {n!r}")
        return hits[0]

    if args.command == "update":
        for path in update(args.lang, [chapter_name(n) for n in args.start]):
            print("updated", path)
        return 0
    if args.command == "build":
        return build(args.lang, check_only=args.check)
    if args.command == "preview":
        print("wrote", preview(chapter_name(args.chapter), args.lang).relative_to(ROOT))
        return 0
    print(f"{'chapter':36s} {'done':>5s} {'fuzzy':>5s} {'todo':>5s}  published")
    for chapter, done, fuzzy, todo, pub in status(args.lang):
        print(f"{chapter:36s} {done:5d} {fuzzy:5d} {todo:5d}  {'yes' if pub else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
