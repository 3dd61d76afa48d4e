"""Every page of the course website in headless Chromium: what a reader sees.

For each page of the built site (``make site``: the English pages and the Chinese edition in
zh_CN/) and of a small fixture book, opened both over http (a local server) and from file://, the
test checks:

- the page loads, with no console error and no request leaving the machine (anything but the
  local server, file:, data: and blob: is blocked and reported; launch buttons are links, and
  are never followed);
- every image has loaded (``naturalWidth > 0``), and every figure from a notebook output has a
  text alternative (its ``alt``);
- every Mermaid diagram has been drawn as SVG by the local mermaid.min.js, without mermaid's
  error picture;
- a chapter page has the notebook's title, every code cell, every cell's outputs, as many
  diagrams and figures as the notebook, a note in place of each widget, previous/next links to
  its neighbours, every chapter in the sidebar, and launch links (Binder; JupyterHub when the
  site is built with one) that are well-formed and point to this chapter's notebook in the
  repository;
- the landing page says what you learn and who it is for, shows ``make lab`` and ``make test``,
  links to Binder and to every chapter, the instructor guide and the licence;
- the licence page shows the repository's licence files; the instructor guide is there;
- every link of the page (content, sidebar, buttons, language switch) leads to a file of the
  site, and to an element of that page when it names one (``#anchor``);
- with more than one language, the language switch is visible and leads to this page's twin in
  the other language, or, where the other language lacks the page (a chapter not yet
  translated), to that language's landing page, saying so; clicking it goes both ways;
- on a Chinese page, the Chinese characters of the title are drawn by a font that has them
  (Chromium's own account of the fonts it used), not as empty boxes;
- the Chinese landing page links to the English pages of the chapters not yet translated.

One screenshot per page goes to screenshots/site/ (fixture pages: screenshots/site/fixture/),
plus one scrolled to the first diagram or figure of a page that has one; Chinese pages go to
screenshots/site/zh_CN/. Fixture chapter 02 is
broken on purpose: a test checks that each of its defects is reported, so none of these checks
can pass vacuously.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import build_site
import pytest
from _jlab import png_summary
from _site import BROKEN, FIXTURE_NOTEBOOKS, ROOT, ZH_NOTEBOOKS, Site

MODES = ["http", "file"]
# A page takes seconds; the first test to use the fixture book also builds it (5-30 s on a busy
# 2-core machine), and so does the alt-text test: more than pytest's default 60 s per test.
BUILDS_A_BOOK = pytest.mark.timeout(300)
LOAD_TIMEOUT = 30_000  # ms
DIAGRAM_TIMEOUT = 60_000  # ms: mermaid.min.js is 3.5 MB of JavaScript; a busy 2-core machine is slow
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")

# Read in the page; only reads, never changes anything.
INSPECT_JS = r"""() => {
  const text = (el) => el ? el.textContent.replace(/[#¶\s]+$/u, "").trim() : null;
  const main = document.querySelector("main") || document.body;
  return {
    title: text(main.querySelector("h1")),
    headings: [...main.querySelectorAll("h2")].map(text),
    codeCells: [...main.querySelectorAll("div.cell div.cell_input pre")].map((pre) => pre.textContent),
    outputCells: [...main.querySelectorAll("div.cell div.cell_output")].map((o) => o.textContent),
    pres: [...main.querySelectorAll("pre")].map((pre) => pre.textContent),
    mermaidState: document.documentElement.dataset.mermaid || null,
    diagrams: [...main.querySelectorAll("pre.mermaid")].map((pre) => {
      const svg = pre.querySelector("svg");
      return {
        svg: !!svg,
        error: !!pre.querySelector('svg[aria-roledescription="error"], .error-icon, .error-text')
               || /Syntax error/i.test(pre.textContent),
        width: svg ? svg.getBoundingClientRect().width : 0,
      };
    }),
    images: [...document.images].map((img) => ({
      src: img.getAttribute("src"),
      alt: img.getAttribute("alt"),
      complete: img.complete,
      naturalWidth: img.naturalWidth,
      output: !!img.closest(".cell_output"),
    })),
    widgetNotes: main.querySelectorAll("p.widget-note").length,
    launch: [...document.querySelectorAll(".dropdown-launch-buttons a")].map((a) => ({
      text: a.textContent.trim(), href: a.href })),
    links: [...main.querySelectorAll("a[href]")].map((a) => ({
      text: a.textContent.trim(), href: a.getAttribute("href") })),
    prev: document.querySelector("a.left-prev")?.getAttribute("href") || null,
    next: document.querySelector("a.right-next")?.getAttribute("href") || null,
    nav: [...document.querySelectorAll("nav.bd-docs-nav a.reference.internal")]
      .map((a) => a.getAttribute("href")),
    allLinks: [...document.querySelectorAll("a[href]")].map((a) => a.href),
    switch: [...document.querySelectorAll("nav.site-language-switch")].map((nav) => {
      const box = nav.getBoundingClientRect();
      return {
        visible: box.width > 0 && box.height > 0 && getComputedStyle(nav).visibility === "visible",
        current: nav.querySelector(".site-language.current")?.getAttribute("lang") || null,
        links: [...nav.querySelectorAll("a[href]")].map((a) => ({
          lang: a.getAttribute("hreflang"), text: a.textContent.trim(), href: a.href,
          missing: a.classList.contains("missing") })),
      };
    }),
  };
}"""

TITLE = "article.bd-article h1"  # the page's visible title (the theme keeps another, hidden h1)
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def page_names(notebooks: Path, broken: set[str] = frozenset()) -> list[str]:
    """Landing page, chapters, glossary (when there is one), instructor guide, licence, search."""
    return [name for name in build_site.page_names(notebooks) if name not in broken]


CASES = (
    [("real", name, mode) for name in page_names(ROOT / "notebooks") for mode in MODES]
    + [("zh", name, mode) for name in page_names(ZH_NOTEBOOKS) for mode in MODES]
    + [("fixture", name, mode) for name in page_names(FIXTURE_NOTEBOOKS, {BROKEN}) for mode in MODES]
)


# ------------------------------------------------------------------ what the notebook holds


def notebook_facts(path: Path) -> dict:
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    markdown = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    outputs = [o for c in code for o in c.get("outputs", [])]
    return {
        "title": build_site.notebook_title(path),
        "code": ["".join(c["source"]) for c in code],
        "with_output": sum(1 for c in code if c.get("outputs")),
        "diagrams": sum(len(re.findall(r"^\s*```mermaid\s*$", m, re.M)) for m in markdown),
        "figures": sum(1 for o in outputs if any(t in o.get("data", {}) for t in IMAGE_TYPES)),
        "widgets": sum(1 for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})),
    }


# ------------------------------------------------------------------ visiting a page


def visit(context, site: Site, docname: str, mode: str, shots: Path | None) -> dict:
    """Open one page, wait for its diagrams, read it; screenshot it when ``shots`` is given."""
    page = context.new_page()
    requests: list[str] = []
    blocked: list[str] = []
    console: list[str] = []

    def local(url: str) -> bool:
        return url.startswith(("file://", "data:", "blob:", "about:")) or url.startswith(site.base_url + "/")

    def route(r) -> None:
        if local(r.request.url):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("request", lambda req: requests.append(req.url))
    page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda err: console.append(f"uncaught exception: {err}"))
    try:
        response = page.goto(site.url(docname, mode), wait_until="load", timeout=LOAD_TIMEOUT)
        has_diagrams = page.locator("pre.mermaid").count() > 0
        if has_diagrams:
            page.wait_for_function("() => document.documentElement.dataset.mermaid", timeout=DIAGRAM_TIMEOUT)
        facts = page.evaluate(INSPECT_JS)
        facts["status"] = response.status if response is not None and mode == "http" else None
        if site.settings["language"] != "en":
            facts["title_fonts"] = rendered_fonts(page, mark_first_chinese(page))
        if shots is not None:
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"{docname}.png"))
            facts["shots"] = [shots / f"{docname}.png"]
            figure = page.locator("pre.mermaid, div.cell_output img").first
            if figure.count():
                figure.scroll_into_view_if_needed()
                page.screenshot(path=str(shots / f"{docname}--figure.png"))
                facts["shots"].append(shots / f"{docname}--figure.png")
    finally:
        page.close()
    facts["external"] = sorted({u for u in requests if not local(u)} | set(blocked))
    facts["console"] = console
    return facts


# Marks the page's first heading, paragraph or list item whose own text has Chinese characters.
MARK_CHINESE_JS = r"""() => {
  const own = (el) => [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.data).join("");
  const el = [...document.querySelectorAll("main :is(h1, h2, h3, p, li, a)")].find(
    (e) => /[\u3400-\u9fff]/u.test(own(e)) && e.getBoundingClientRect().width > 0);
  if (!el) return false;
  el.dataset.cjkProbe = "1";
  return true;
}"""


def mark_first_chinese(page) -> str:
    """A selector of the first visible text of the page in Chinese ("" when it has none)."""
    return "[data-cjk-probe]" if page.evaluate(MARK_CHINESE_JS) else ""


def rendered_fonts(page, selector: str) -> dict:
    """The text of the first element matching ``selector`` and the fonts Chromium drew it with:
    ``{"text": ..., "fonts": [{"familyName": ..., "glyphCount": ...}, ...]}`` (DevTools protocol,
    CSS.getPlatformFontsForNode: the fonts really used, fallbacks included)."""
    if not selector:
        return {"text": "", "fonts": []}
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        if not node:
            return {"text": "", "fonts": []}
        text = page.locator(selector).first.text_content() or ""
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]  # its own text
        return {"text": text, "fonts": fonts}
    finally:
        cdp.detach()


@functools.cache
def families_with(chars: str) -> frozenset[str]:
    """The installed font families that have every one of ``chars`` (fontconfig's fc-list)."""
    charset = " ".join(f"{ord(c):x}" for c in sorted(set(chars)))
    out = subprocess.run(
        ["fc-list", f":charset={charset}", "family"], capture_output=True, text=True, timeout=60
    ).stdout
    return frozenset(name.strip() for line in out.splitlines() for name in line.split(","))


def cjk_problems(facts: dict) -> list[str]:
    """Chinese characters (of the page's first Chinese text) not drawn by a font that has them:
    they would show as empty boxes."""
    drawn = facts.get("title_fonts")
    if drawn is None:
        return []
    chars = "".join(CJK.findall(drawn["text"]))
    if not chars:
        return [f"cjk: no Chinese text on the page ({drawn['text']!r})"]
    having = families_with(chars)
    glyphs = sum(f["glyphCount"] for f in drawn["fonts"] if f["familyName"] in having)
    if glyphs < len(chars):
        used = ", ".join(f"{f['familyName']} ({f['glyphCount']} glyphs)" for f in drawn["fonts"])
        return [
            f"cjk: the {len(chars)} Chinese characters of {drawn['text']!r} are drawn with {used}; "
            f"fonts that have them: {sorted(having) or 'none installed (fonts-noto-cjk)'}"
        ]
    return []


@functools.cache
def _ids(path: Path) -> frozenset[str]:
    return frozenset(re.findall(r'\sid="([^"]+)"', path.read_text(encoding="utf-8", errors="replace")))


def link_problems(site: Site, facts: dict) -> list[str]:
    """Links of the page that lead to no file of the site, or to no element of the page they name."""
    problems = []
    for href in sorted(set(facts["allLinks"])):
        target = site.file_for(href)
        if target is None:
            continue  # another site (launch buttons, the repository, documentation)
        if not target.is_file():
            problems.append(f"link: {href} leads nowhere (no file {target})")
            continue
        fragment = unquote(urlsplit(href).fragment)
        if fragment and target.suffix == ".html" and fragment not in _ids(target):
            problems.append(f"link: {href}: {target.name} has no element with id {fragment!r}")
    return problems


def switch_problems(site: Site, docname: str, facts: dict) -> list[str]:
    """The language switch: visible, one link per other language, to this page's twin or home."""
    others = [lang for lang in site.settings["languages"] if lang["code"] != site.settings["language"]]
    if not others:
        return ["switch: a language switch on a one-language site"] if facts["switch"] else []
    if len(facts["switch"]) != 1 or not facts["switch"][0]["visible"]:
        return [f"switch: no visible language switch ({len(facts['switch'])} found)"]
    switch = facts["switch"][0]
    problems = []
    if switch["current"] != site.settings["language"].replace("_", "-"):
        problems.append(f"switch: marks {switch['current']!r} as the current language")
    for lang in others:
        code = lang["code"].replace("_", "-")
        links = [link for link in switch["links"] if link["lang"] == code]
        if len(links) != 1:
            problems.append(f"switch: {len(links)} links to {code}")
            continue
        link = links[0]
        home = (site.html / lang["href"]).resolve()
        twin = home / f"{docname}.html"
        want = twin if twin.is_file() else home / "index.html"
        target = site.file_for(link["href"])
        if target is None or target.resolve() != want:
            problems.append(f"switch: the {code} link leads to {link['href']}, expected {want}")
        if not twin.is_file() and not (link["missing"] and lang["missing"].strip() in link["text"]):
            problems.append(f"switch: the {code} link goes home without saying the page is missing there")
    return problems


def untranslated_problems(site: Site, facts: dict) -> list[str]:
    """The landing page of a second language links to the main language's chapters it lacks."""
    main = next(lang for lang in site.settings["languages"] if lang["code"] == site.settings["main_language"])
    home = (site.html / main["href"]).resolve()
    here = {p["docname"] for p in site.pages if p["kind"] == "chapter"}
    problems = []
    for page in sorted(home.glob("[0-9][0-9]-*.html")):
        if page.stem in here:
            continue
        if not any(site.file_for(href) == page for href in facts["allLinks"] if "#" not in href):
            problems.append(f"nav: the landing page does not link to {page.stem}, not translated yet")
    return problems


# ------------------------------------------------------------------ what a page must show


def launch_link_problems(kind: str, href: str, settings: dict, source: str) -> list[str]:
    """Problems of one launch link (Binder or JupyterHub) that should open ``source`` (repo path)."""
    problems = []
    parts = urlsplit(href)
    query = parse_qs(parts.query)
    host, owner, name = build_site.repo_parts(settings["repository_url"])
    if kind == "Binder":
        binder = urlsplit(settings["binderhub_url"])
        if parts.scheme != "https" or parts.netloc != binder.netloc:
            problems.append(
                f"launch: Binder link goes to {parts.scheme}://{parts.netloc}, not {binder.netloc}"
            )
        want = f"/v2/gh/{owner}/{name}/{settings['branch']}" if host == "github.com" else None
        if want and parts.path != want:
            problems.append(f"launch: Binder path {parts.path!r}, expected {want!r}")
        if query.get("urlpath") != [f"lab/tree/{source}"]:
            problems.append(f"launch: Binder urlpath {query.get('urlpath')}, expected lab/tree/{source}")
    else:
        hub = urlsplit(settings["jupyterhub_url"])
        if parts.scheme != "https" or parts.netloc != hub.netloc:
            problems.append(f"launch: JupyterHub link goes to {parts.netloc}, not {hub.netloc}")
        if parts.path != "/hub/user-redirect/git-pull":
            problems.append(
                f"launch: JupyterHub path {parts.path!r} is not nbgitpuller's /hub/user-redirect/git-pull"
            )
        expected = {
            "repo": [settings["repository_url"]],
            "branch": [settings["branch"]],
            "urlpath": [f"lab/tree/{name}/{source}"],
        }
        if query != expected:
            problems.append(f"launch: nbgitpuller query {query}, expected {expected}")
    if not (ROOT / source).is_file():
        problems.append(f"launch: the link opens {source}, which is not a file of the repository")
    return problems


def common_problems(facts: dict) -> list[str]:
    problems = []
    if facts["status"] not in (None, 200):
        problems.append(f"http: status {facts['status']}")
    problems += [f"network: a request left the machine: {url}" for url in facts["external"]]
    problems += [f"console: {text}" for text in facts["console"]]
    if not facts["title"]:
        problems.append("content: the page has no title (h1)")
    for img in facts["images"]:
        if not img["complete"] or img["naturalWidth"] == 0:
            problems.append(f"image: {img['src']} did not load (naturalWidth {img['naturalWidth']})")
        name = (img["src"] or "").rsplit("/", 1)[-1]
        if img["output"] and (
            not (img["alt"] or "").strip() or img["alt"] == name or img["alt"] == img["src"]
        ):
            problems.append(f"alt: the figure {img['src']} has no text alternative")
    for i, diagram in enumerate(facts["diagrams"], 1):
        if diagram["error"]:
            problems.append(f"mermaid: diagram {i} shows mermaid's error picture")
        elif not diagram["svg"]:
            problems.append(f"mermaid: diagram {i} was not drawn (no SVG)")
        elif diagram["width"] < 20:
            problems.append(f"mermaid: diagram {i} is drawn {diagram['width']:.0f} px wide")
    if facts["diagrams"] and facts["mermaidState"] != "done":
        problems.append(f"mermaid: rendering ended with state {facts['mermaidState']!r}")
    return problems


def chapter_problems(site: Site, docname: str, facts: dict) -> list[str]:
    problems = []
    path = site.notebooks / f"{docname}.ipynb"
    nb = notebook_facts(path)
    if facts["title"] != nb["title"]:
        problems.append(f"content: title {facts['title']!r}, notebook says {nb['title']!r}")
    shown = [c.strip() for c in facts["codeCells"]]
    if shown != [c.strip() for c in nb["code"]]:
        problems.append(
            f"content: {len(shown)} code cells shown, the notebook has {len(nb['code'])} (or they differ)"
        )
    if len(facts["outputCells"]) != nb["with_output"]:
        problems.append(
            f"content: {len(facts['outputCells'])} cells show outputs, {nb['with_output']} have outputs"
        )
    if len(facts["diagrams"]) != nb["diagrams"]:
        problems.append(
            f"mermaid: {len(facts['diagrams'])} diagrams on the page, {nb['diagrams']} in the notebook"
        )
    figures = [img for img in facts["images"] if img["output"]]
    if len(figures) != nb["figures"]:
        problems.append(f"image: {len(figures)} figures on the page, {nb['figures']} in the notebook")
    if facts["widgetNotes"] != nb["widgets"]:
        problems.append(
            f"content: {facts['widgetNotes']} widget notes, {nb['widgets']} widgets in the notebook"
        )

    source = f"{site.settings['path_to_docs']}/{docname}.ipynb"
    kinds = {link["text"]: link["href"] for link in facts["launch"]}
    wanted = ["Binder"] + (["JupyterHub"] if site.settings["jupyterhub_url"] else [])
    for kind in wanted:
        if kind not in kinds:
            problems.append(f"launch: no {kind} launch link (found {sorted(kinds)})")
        else:
            problems += launch_link_problems(kind, kinds[kind], site.settings, source)

    chapters = [p["docname"] for p in site.pages if p["kind"] == "chapter"]
    order = [p["docname"] for p in site.pages]  # landing, chapters, glossary, instructors, licence
    i = order.index(docname)
    want_prev = f"{order[i - 1]}.html"
    want_next = f"{order[i + 1]}.html"
    if facts["prev"] != want_prev or facts["next"] != want_next:
        problems.append(
            f"nav: previous/next are {facts['prev']}/{facts['next']}, expected {want_prev}/{want_next}"
        )
    missing = [c for c in chapters if c != docname and f"{c}.html" not in facts["nav"]]  # this page: "#"
    if missing:
        problems.append(f"nav: the sidebar lacks {missing}")
    return problems


def landing_problems(site: Site, facts: dict) -> list[str]:
    problems = []
    landing = next(p for p in site.pages if p["kind"] == "landing")
    if facts["title"] != landing["title"]:
        problems.append(f"content: title {facts['title']!r}, expected {landing['title']!r}")
    if site.settings["language"] == "en":
        for heading in ("What you will learn", "Who it is for"):
            if heading not in facts["headings"]:
                problems.append(f"content: no section {heading!r} (sections: {facts['headings']})")
    if not any("make lab" in pre and "make test" in pre for pre in facts["pres"]):
        problems.append("content: the two commands make lab and make test are not shown")
    chapters = [p for p in site.pages if p["kind"] == "chapter"]
    hrefs = {link["href"] for link in facts["links"]}
    for target in [*(f"{c['docname']}.html" for c in chapters), "instructors.html", "licence.html"]:
        if target not in hrefs:
            problems.append(f"nav: the landing page does not link to {target}")
    binder = [
        link["href"]
        for link in facts["links"]
        if link["href"].startswith(site.settings["binderhub_url"] + "/")
    ]
    if not binder:
        problems.append("launch: no Binder link on the landing page")
    for href in binder:
        problems += launch_link_problems("Binder", href, site.settings, chapters[0]["source"])
    return problems


def page_problems(site: Site, docname: str, facts: dict) -> list[str]:
    problems = common_problems(facts) + link_problems(site, facts) + switch_problems(site, docname, facts)
    problems += cjk_problems(facts)
    kind = next((p["kind"] for p in site.pages if p["docname"] == docname), "generated")
    if kind == "chapter":
        problems += chapter_problems(site, docname, facts)
    elif kind == "landing":
        problems += landing_problems(site, facts)
        if site.settings["language"] != site.settings["main_language"]:
            problems += untranslated_problems(site, facts)
    elif docname == "licence":
        for name in ("LICENSE", "LICENSE-text.md"):
            licence = ROOT / name
            first = (
                licence.read_text(encoding="utf-8").strip().splitlines()[0]
                if licence.is_file()
                else f"{name} is not"
            )
            if not any(first.strip() in pre for pre in facts["pres"]):
                problems.append(f"content: the licence page does not show {first!r} ({name})")
    elif docname == "instructors":
        guide = ROOT / "docs" / "instructors.md"
        if guide.is_file():
            want = build_site.markdown_title(guide.read_text(encoding="utf-8"))
            if facts["title"] != want:
                problems.append(
                    f"content: instructor guide titled {facts['title']!r}, docs/instructors.md says {want!r}"
                )
    return problems


# ------------------------------------------------------------------ the tests


@pytest.mark.parametrize("site_name", ["real", "zh"])
def test_the_site_has_a_page_for_every_chapter(site_name: str, request):
    site: Site = request.getfixturevalue(f"{site_name}_site")
    built = [p["docname"] for p in site.pages if p["kind"] == "chapter"]
    present = [p.stem for p in build_site.chapters(site.notebooks)]
    assert built == present, f"build/site is older than {site.notebooks}: run make site (make test-site does)"
    for name in page_names(site.notebooks):
        assert (site.html / f"{name}.html").is_file(), f"{name}.html was not built"


def click_switch(page, lang: str) -> None:
    with page.expect_navigation(wait_until="load", timeout=LOAD_TIMEOUT):
        page.locator(f'nav.site-language-switch a[hreflang="{lang}"]').click()


def test_the_language_switch_goes_to_the_same_chapter_and_back(
    real_site: Site, zh_site: Site, site_context, screenshots
):
    """Click the switch: English chapter -> its Chinese twin -> the English chapter again; and from a
    chapter not translated yet, to the Chinese landing page (never a missing page)."""
    english = [p.stem for p in build_site.chapters(real_site.notebooks)]
    chinese = [p.stem for p in build_site.chapters(zh_site.notebooks)]
    both = [name for name in english if name in chinese]
    only_english = [name for name in english if name not in chinese]
    assert both, "no chapter is in both languages"
    page = site_context.new_page()
    try:
        for name in (both[0], both[-1]):
            page.goto(real_site.url(name, "http"), wait_until="load", timeout=LOAD_TIMEOUT)
            click_switch(page, "zh-CN")
            assert page.url == zh_site.url(name, "http")
            title = page.locator(TITLE).first.inner_text().rstrip("#").strip()
            assert title == build_site.notebook_title(zh_site.notebooks / f"{name}.ipynb")
            assert CJK.search(title), title
            click_switch(page, "en")
            assert page.url == real_site.url(name, "http")
            title = page.locator(TITLE).first.inner_text().rstrip("#").strip()
            assert title == build_site.notebook_title(real_site.notebooks / f"{name}.ipynb")
        for name in only_english:
            page.goto(real_site.url(name, "http"), wait_until="load", timeout=LOAD_TIMEOUT)
            link = page.locator('nav.site-language-switch a[hreflang="zh-CN"]')
            assert "尚未" in link.inner_text(), link.inner_text()
            with page.expect_navigation(wait_until="load", timeout=LOAD_TIMEOUT) as nav:
                link.click()
            assert nav.value is not None and nav.value.status == 200
            assert page.url == zh_site.url("index", "http")
            shot = zh_site.screenshot_dir() / f"switch-from-{name}.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot))
    finally:
        page.close()


def test_the_font_check_sees_characters_no_font_has(site_context):
    """cjk_problems is not vacuous: a title in characters no installed font has (CJK Extension G,
    which Noto CJK lacks) is reported; the same title in common characters is not."""
    page = site_context.new_page()
    try:
        for text, fails in (("\U00030000\U00030001 命名管道", True), ("命名管道", False)):
            page.set_content(f'<html lang="zh-CN"><article class="bd-article"><h1>{text}</h1></article>')
            problems = cjk_problems({"title_fonts": rendered_fonts(page, TITLE)})
            assert bool(problems) == fails, (text, problems)
    finally:
        page.close()


@BUILDS_A_BOOK
@pytest.mark.parametrize(("site_name", "docname", "mode"), CASES, ids=[f"{s}-{d}-{m}" for s, d, m in CASES])
def test_page(site_name: str, docname: str, mode: str, request, site_context, screenshots):
    site: Site = request.getfixturevalue(f"{site_name}_site")
    shots = site.screenshot_dir() if mode == "http" else None
    facts = visit(site_context, site, docname, mode, shots)
    problems = page_problems(site, docname, facts)
    assert not problems, f"{site.url(docname, mode)}:\n  " + "\n  ".join(problems)
    for shot in facts.get("shots", []):
        width, height, colours = png_summary(shot)
        assert (width, height) == (1280, 900) and colours > 4, f"{shot.name} looks blank ({colours} colours)"


@BUILDS_A_BOOK
def test_fixture_proves_diagrams_figures_and_both_launch_links(fixture_site: Site, site_context):
    """The fixture chapter has what the checks look for, so test_page's pass on it means something."""
    facts = visit(site_context, fixture_site, "01-fixture-figures", "file", None)
    assert len(facts["diagrams"]) == 2 and all(d["svg"] and not d["error"] for d in facts["diagrams"])
    figures = [img for img in facts["images"] if img["output"]]
    assert [img["alt"] for img in figures] == [
        "Bar chart of three reads: 5, 11 and 3 bytes",  # from the output's metadata
        "Two bars of equal height: each writer wrote 4096 bytes",  # from the cell's mystnb metadata
        "Timeline: the writer waits in open() from 0.0 s until the reader opens at 0.2 s",  # its text/plain
    ]
    assert all(img["naturalWidth"] == 320 for img in figures)
    assert sorted(link["text"] for link in facts["launch"]) == ["Binder", "JupyterHub"]
    assert facts["widgetNotes"] == 1


@BUILDS_A_BOOK
def test_broken_page_is_reported(fixture_site: Site, site_context):
    """Fixture chapter 02 is broken on purpose: each of its defects must be reported."""
    facts = visit(site_context, fixture_site, BROKEN, "http", None)
    problems = "\n".join(page_problems(fixture_site, BROKEN, facts))
    expected = {
        "a diagram with a syntax error": r"mermaid: diagram 1 shows mermaid's error picture",
        "a request to another site": r"network: a request left the machine: https://example\.invalid/pixel\.png",
        "a console error": r"console: fixture: a deliberate console error",
        "a figure whose file is missing": r"image: _images/\w+\.png did not load",
    }
    missing = [what for what, pattern in expected.items() if not re.search(pattern, problems)]
    assert not missing, f"not reported: {missing}\nreported:\n{problems}"


@BUILDS_A_BOOK
def test_link_check_reports_missing_pages_and_anchors(fixture_site: Site):
    page = fixture_site.url("01-fixture-figures", "http")
    ok = [page, page + "#", fixture_site.url("index", "http"), "https://example.org/"]
    assert link_problems(fixture_site, {"allLinks": ok}) == []
    bad = [fixture_site.url("03-no-such-chapter", "http"), page + "#no-such-section"]
    problems = link_problems(fixture_site, {"allLinks": bad})
    assert len(problems) == 2, problems
    assert "leads nowhere" in problems[1] and "no element with id 'no-such-section'" in problems[0], problems


@BUILDS_A_BOOK
def test_launch_link_check_rejects_malformed_links(fixture_site: Site):
    settings = fixture_site.settings
    source = "tests/site/fixture/notebooks/01-fixture-figures.ipynb"
    good = build_site.binder_link(settings, source)
    assert launch_link_problems("Binder", good, settings, source) == []
    assert launch_link_problems("Binder", good.replace("lab/tree/", "tree/"), settings, source)
    assert launch_link_problems("Binder", good, settings, "notebooks/no-such-chapter.ipynb")
    hub = build_site.nbgitpuller_link(settings["jupyterhub_url"], settings, source)
    assert launch_link_problems("JupyterHub", hub, settings, source) == []
    assert launch_link_problems("JupyterHub", hub.replace("git-pull", "git-push"), settings, source)
    assert launch_link_problems("JupyterHub", hub.replace("branch=main", "branch=dev"), settings, source)


@BUILDS_A_BOOK
def test_a_figure_without_text_alternative_fails_the_build(tmp_path: Path):
    nb = json.loads((FIXTURE_NOTEBOOKS / f"{BROKEN}.ipynb").read_text(encoding="utf-8"))
    figure = next(c for c in nb["cells"] if c["cell_type"] == "code" and c.get("outputs"))
    figure["metadata"].pop("mystnb")
    nb["cells"] = [nb["cells"][0], figure]
    chapters = tmp_path / "notebooks"
    chapters.mkdir()
    (chapters / "01-no-alt.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "build_site.py"),
            "--notebooks",
            str(chapters),
            "--work",
            str(tmp_path / "w"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode != 0
    assert "a figure has no text alternative" in result.stdout + result.stderr
