"""Build the course website (``make site``): a static HTML book of the executed notebooks.

What it does, for each language whose sources are present:

1. **Stage** the sources into ``build/site/<lang>/src``: the chapters (every ``NN-*.ipynb`` in
   the language's notebook folder, so new and renamed chapters need no edit here), the landing
   page with a table of contents generated from those chapters, the instructor guide
   (``docs/instructors.md``, under the language's ``instructors-note.md`` when there is one, or
   a placeholder page while it is missing) and the licence page
   (``LICENSE``, ``LICENSE-text`` and ``CITATION.cff`` as they are in the repository).
2. **Build** with ``sphinx-build -W`` (warnings are errors) and ``docs/site/conf.py``: MyST-NB
   reads the stored outputs and never executes a notebook; Mermaid blocks are drawn in the
   browser by a local copy of mermaid.min.js.
3. **Assemble** ``build/site/html``: the main language at the top, any other in a sibling
   folder (``build/site/html/zh_CN/``), each page linking to its other-language twin.

Languages other than the main one may have fewer chapters (locales/zh_CN/shipped.txt lists the
Chinese ones). A page without a twin has a language switch to the other language's landing page,
saying so; the landing page of such a language lists the chapters it lacks (``{{untranslated}}``),
linked to the main language's pages. Links in the chapters' Markdown are made to work on the
site: to a chapter or the glossary, to its page; to a chapter of another language, to that page
of the other language's site (written ``site:../NN-name.html``, see docs/site/conf.py); to any
other file of the repository, to that file in the public repository.

The only download is mermaid.min.js, fetched once with ``npm pack`` of a pinned version whose
checksum is verified, into ``build/site-vendor/`` (git-ignored). With it there (and the ``site``
extra installed), the build works with no network at all.

Settings (environment variables, all optional):
  SITE_REPOSITORY_URL  the public repository (default: ``repository-code`` of CITATION.cff)
  SITE_BRANCH          its branch for launch links (default: main)
  SITE_BINDERHUB_URL   BinderHub for the launch button (default: https://mybinder.org)
  SITE_JUPYTERHUB_URL  a class's JupyterHub: adds an nbgitpuller launch button (default: none)

Usage: python tools/build_site.py [--notebooks DIR --pages DIR --out DIR --work DIR]
(the options build one language from other folders; the site tests use them on a fixture).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
SITE_DOCS = ROOT / "docs" / "site"
BUILD = ROOT / "build" / "site"
VENDOR = ROOT / "build" / "site-vendor"

# The Mermaid release JupyterLab 4.6 renders diagrams with, so that a diagram looks the same in
# JupyterLab and on the site. To change it: `npm view mermaid@X.Y.Z dist.integrity`.
MERMAID_VERSION = "11.16.1"
MERMAID_INTEGRITY = (
    "sha512-TQsq6u22fAn3rek5VOubrhKPo1g5hwC3FXUN9hiyupTckcYiGuuKGkNQrKYwGJkXUxZdojwRG46gsSCFZMDp4g=="
)

# Used when neither SITE_REPOSITORY_URL nor CITATION.cff names the public repository.
DEFAULT_REPOSITORY = "https://github.com/named-pipes-tutorial/named-pipes-in-python"

CHAPTER = re.compile(r"^\d\d-[A-Za-z0-9_.-]+\.ipynb$")
TOKEN = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class Language:
    code: str  # Sphinx language code
    label: str  # shown in the language switch
    notebooks: str  # chapter folder, relative to the repository
    subdir: str  # "" for the main language, else its folder under build/site/html
    widget_note: str  # shown where a notebook has an interactive widget
    missing_page: str  # in the switch to this language, from a page it does not have
    untranslated: str  # on this language's landing page, before the list of chapters it lacks

    @property
    def pages(self) -> Path:
        """Landing page, placeholders and licence page of this language."""
        return SITE_DOCS / self.code

    def present(self) -> bool:
        return (self.pages / "index.md").is_file() and bool(chapters(ROOT / self.notebooks))


LANGUAGES = [
    Language(
        code="en",
        label="English",
        notebooks="notebooks",
        subdir="",
        widget_note=(
            "An interactive widget appears here when the notebook runs: open the chapter in "
            "JupyterLab (the launch button at the top of the page, or make lab) to use it."
        ),
        missing_page=" (this page is not in English yet)",
        untranslated="These chapters are not in English yet:",
    ),
    # The Chinese edition (notebooks/zh_CN) is built as soon as docs/site/zh_CN/index.md exists,
    # with licence.md and instructors-placeholder.md beside it, translated.
    Language(
        code="zh_CN",
        label="简体中文",
        notebooks="notebooks/zh_CN",
        subdir="zh_CN",
        widget_note="这里是一个交互式控件:在 JupyterLab 中打开本章(页面顶部的启动按钮,或 make lab)即可使用。",
        missing_page="（本章尚未译成中文）",
        untranslated="以下各章正在翻译，暂时只有英文版：",
    ),
]


# ---------------------------------------------------------------- settings and launch links


def chapters(folder: Path) -> list[Path]:
    """The chapter notebooks of a folder (``NN-name.ipynb``), in order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and CHAPTER.match(p.name))


def find_glossary(notebooks: Path) -> Path | None:
    """The bilingual glossary the chapters link to: beside them, or one folder up (notebooks/zh_CN)."""
    candidates = (notebooks / "glossary.md", notebooks.parent / "glossary.md")
    return next((g for g in candidates if g.is_file()), None)


def page_names(notebooks: Path) -> list[str]:
    """The pages a language's site has (its chapters and the pages every language has)."""
    glossary = ["glossary"] if find_glossary(notebooks) is not None else []
    return ["index", *(nb.stem for nb in chapters(notebooks)), *glossary, "instructors", "licence", "search"]


def markdown_title(text: str) -> str | None:
    """The text of the first level-1 heading (``# Title``) of Markdown, outside code blocks."""
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and line.startswith("# "):
            return line[2:].strip()
    return None


def notebook_title(path: Path) -> str:
    """The title of a notebook (its first level-1 heading), or its file name."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            title = markdown_title("".join(cell.get("source", [])))
            if title:
                return title
    return path.stem


def repo_path(folder: Path, root: Path = ROOT) -> str:
    """A folder's path inside the repository (for launch links), or its bare name when outside."""
    try:
        return folder.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return folder.name


def citation_repository(root: Path = ROOT) -> str | None:
    """``repository-code`` from CITATION.cff, when the file names one."""
    cff = root / "CITATION.cff"
    if not cff.is_file():
        return None
    match = re.search(r"^repository-code:\s*[\"']?([^\"'\s#]+)", cff.read_text(encoding="utf-8"), re.M)
    return match.group(1).rstrip("/") if match else None


def settings(env: dict[str, str] | None = None, root: Path = ROOT) -> dict[str, str]:
    env = dict(os.environ if env is None else env)
    repo = (env.get("SITE_REPOSITORY_URL") or citation_repository(root) or DEFAULT_REPOSITORY).rstrip("/")
    if repo.endswith(".git"):
        repo = repo[:-4]
    return {
        "repository_url": repo,
        "branch": env.get("SITE_BRANCH") or "main",
        "binderhub_url": (env.get("SITE_BINDERHUB_URL") or "https://mybinder.org").rstrip("/"),
        "jupyterhub_url": (env.get("SITE_JUPYTERHUB_URL") or "").rstrip("/"),
    }


def repo_parts(repository_url: str) -> tuple[str, str, str]:
    """(host, owner, name) of a repository URL such as https://github.com/owner/name."""
    parts = urlsplit(repository_url)
    path = [p for p in parts.path.split("/") if p]
    if parts.scheme != "https" or not parts.netloc or len(path) != 2:
        raise ValueError(f"not a repository URL of the form https://host/owner/name: {repository_url!r}")
    return parts.netloc, path[0], path[1]


def binder_link(conf: dict[str, str], path_in_repo: str) -> str:
    """Binder: open ``path_in_repo`` in JupyterLab (the format sphinx-book-theme uses)."""
    host, owner, name = repo_parts(conf["repository_url"])
    if host == "github.com":
        spec = f"gh/{owner}/{name}/{conf['branch']}"
    else:
        spec = f"git/{quote(conf['repository_url'], safe='')}/{conf['branch']}"
    return f"{conf['binderhub_url']}/v2/{spec}?urlpath=lab/tree/{path_in_repo}"


def nbgitpuller_link(hub: str, conf: dict[str, str], path_in_repo: str) -> str:
    """A JupyterHub link that clones (or updates) the repository for the user, then opens a file."""
    _, _, name = repo_parts(conf["repository_url"])
    query = urlencode(
        {
            "repo": conf["repository_url"],
            "urlpath": f"lab/tree/{name}/{path_in_repo}",
            "branch": conf["branch"],
        },
        safe="/",
    )
    return f"{hub}/hub/user-redirect/git-pull?{query}"


# ---------------------------------------------------------------- staging


def render_template(text: str, values: dict[str, str], name: str) -> str:
    def sub(match: re.Match) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"{name}: unknown placeholder {{{{{key}}}}}")
        return values[key]

    return TOKEN.sub(sub, text)


LINK = re.compile(r"(\]\(|^\[[^\]]+\]:\s*)(<?)([^)\s>]+)(>?)", re.M)


def rewrite_links(text: str, source: Path, staged: dict[Path, str], conf: dict[str, str], root: Path) -> str:
    """Make the relative links of a repository Markdown file work on the site.

    A link to a staged file (a chapter, the licence files) points to its page; a link to any
    other file of the repository points to that file in the public repository.
    """

    def sub(match: re.Match) -> str:
        lead, open_, target, close = match.groups()
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith(("#", "/")):
            return match.group(0)
        path, hash_, anchor = target.partition("#")
        resolved = (source.parent / path).resolve()
        if resolved in staged:
            new = staged[resolved] + (hash_ + anchor if anchor else "")
        else:
            try:
                rel = resolved.relative_to(root.resolve())
            except ValueError:
                return match.group(0)
            kind = "tree" if resolved.is_dir() else "blob"
            new = f"{conf['repository_url']}/{kind}/{conf['branch']}/{rel.as_posix()}" + (
                hash_ + anchor if anchor else ""
            )
        return f"{lead}{open_}{new}{close}"

    return LINK.sub(sub, text)


def notebook_with_site_links(
    nb_path: Path, staged: dict[Path, str], conf: dict[str, str], root: Path
) -> bytes:
    """The notebook with the relative links of its Markdown cells made to work on the site
    (:func:`rewrite_links`); its own bytes when no link changes."""
    data = nb_path.read_bytes()
    nb = json.loads(data)
    changed = False
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        text = "".join(cell.get("source", []))
        new = rewrite_links(text, nb_path, staged, conf, root)
        if new != text:
            cell["source"] = new
            changed = True
    return (json.dumps(nb, indent=1, ensure_ascii=False) + "\n").encode() if changed else data


def _write(path: Path, data: bytes, written: set[Path]) -> None:
    """Write only when the content changes, so that Sphinx rebuilds only what changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_bytes() != data:
        path.write_bytes(data)
    written.add(path.resolve())


def stage(
    notebooks: Path,
    pages: Path,
    src: Path,
    conf: dict[str, str],
    root: Path = ROOT,
    elsewhere: dict[Path, tuple[str, str]] | None = None,
    untranslated: str = "",
) -> list[dict[str, str]]:
    """Copy one language's sources into ``src`` (removing stale ones); return the page list.

    ``elsewhere`` maps the chapters of the other languages (resolved paths) to their pages'
    addresses from this language's pages (``site:../NN-name.html``) and titles; the main
    language's chapters missing here are listed on the landing page under ``untranslated``.
    """
    elsewhere = elsewhere or {}
    found = chapters(notebooks)
    if not found:
        raise SystemExit(f"no chapter notebooks (NN-name.ipynb) in {notebooks}")
    written: set[Path] = set()
    manifest: list[dict[str, str]] = []
    path_to_docs = repo_path(notebooks, root)

    # Where links in notebooks and repository documents should point on the site.
    staged: dict[Path, str] = {path: href for path, (href, _) in elsewhere.items()}
    staged.update({nb.resolve(): nb.name for nb in found})
    scripts = notebooks / "scripts"
    if scripts.is_dir():
        for f in sorted(scripts.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                _write(src / "scripts" / f.relative_to(scripts), f.read_bytes(), written)
                staged[f.resolve()] = (Path("scripts") / f.relative_to(scripts)).as_posix()
    for name in ("LICENSE", "LICENSE-text", "CITATION.cff"):
        present = next((root / n for n in (name, f"{name}.md") if (root / n).is_file()), None)
        data = present.read_bytes() if present else f"({name} is not in the repository yet.)\n".encode()
        _write(src / "_licence" / name, data, written)
        if present:
            staged[present.resolve()] = "licence.md"
    # The bilingual glossary the chapters link to (notebooks/glossary.md), next to the chapters.
    glossary = find_glossary(notebooks)
    if glossary is not None:
        _write(src / "glossary.md", glossary.read_bytes(), written)
        staged[glossary.resolve()] = "glossary.md"

    for nb in found:
        _write(src / nb.name, notebook_with_site_links(nb, staged, conf, root), written)
        manifest.append(
            {
                "docname": nb.stem,
                "kind": "chapter",
                "title": notebook_title(nb),
                "source": f"{path_to_docs}/{nb.name}",
            }
        )

    guide = root / "docs" / "instructors.md"
    if guide.is_file():
        text = rewrite_links(guide.read_text(encoding="utf-8"), guide, staged, conf, root)
        source = "docs/instructors.md"
        note = pages / "instructors-note.md"  # e.g. that the guide is not translated yet
        if note.is_file():
            title, _, rest = text.partition("\n")
            text = f"{title}\n\n{note.read_text(encoding='utf-8').strip()}\n{rest}"
    else:
        text = (pages / "instructors-placeholder.md").read_text(encoding="utf-8")
        source = "(placeholder)"
    _write(src / "instructors.md", text.encode(), written)
    _write(src / "licence.md", (pages / "licence.md").read_bytes(), written)

    here = {nb.name for nb in found}
    missing = {path.name: (href, title) for path, (href, title) in reversed(elsewhere.items())}
    missing = [entry for name, entry in sorted(missing.items()) if name not in here]
    listed = "\n".join(f"- [{title}]({href})" for href, title in missing)
    first = f"{path_to_docs}/{found[0].name}"
    values = {
        "repository_url": conf["repository_url"],
        "binder_url": binder_link(conf, first),
        "nbgitpuller_template": nbgitpuller_link("https://YOUR-HUB", conf, first),
        # the table of contents: the chapters present; the glossary under Reference
        "chapters": "\n".join(nb.stem for nb in found),
        "reference_pages": "glossary" if glossary is not None else "",
        "teacher_pages": "instructors\nlicence",
        # the main language's chapters this language does not have yet, linked to their pages
        "untranslated": f"{untranslated}\n\n{listed}\n" if missing else "",
    }
    index = render_template((pages / "index.md").read_text(encoding="utf-8"), values, str(pages / "index.md"))
    _write(src / "index.md", index.encode(), written)
    manifest.insert(
        0, {"docname": "index", "kind": "landing", "title": markdown_title(index) or "", "source": ""}
    )
    if glossary is not None:
        where = repo_path(glossary, root)
        manifest.append({"docname": "glossary", "kind": "page", "title": "", "source": where})
    manifest.append({"docname": "instructors", "kind": "page", "title": "", "source": source})
    manifest.append({"docname": "licence", "kind": "page", "title": "", "source": ""})

    for path in sorted(src.rglob("*"), reverse=True):  # stale sources: renamed or removed chapters
        if path.is_file() and path.resolve() not in written:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return manifest


# ---------------------------------------------------------------- mermaid.min.js


def mermaid_js() -> Path:
    return VENDOR / f"mermaid-{MERMAID_VERSION}" / "dist" / "mermaid.min.js"


def fetch_mermaid() -> Path:
    """The pinned mermaid.min.js, fetched with ``npm pack`` (checksum verified) when missing."""
    target = mermaid_js()
    if target.is_file():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("make site needs npm once, to fetch mermaid (Debian: apt-get install npm)")
    VENDOR.mkdir(parents=True, exist_ok=True)
    print(f"fetching mermaid {MERMAID_VERSION} with npm pack (once) into {VENDOR.relative_to(ROOT)}/")
    with tempfile.TemporaryDirectory(dir=VENDOR) as tmp:
        result = subprocess.run(
            [
                npm,
                "pack",
                f"mermaid@{MERMAID_VERSION}",
                "--pack-destination",
                tmp,
                "--ignore-scripts",
                "--silent",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
        )
        tarball = Path(tmp) / f"mermaid-{MERMAID_VERSION}.tgz"
        if result.returncode != 0 or not tarball.is_file():
            raise SystemExit(f"npm pack mermaid@{MERMAID_VERSION} failed:\n{result.stderr.strip()}")
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != MERMAID_INTEGRITY:
            raise SystemExit(
                f"mermaid-{MERMAID_VERSION}.tgz has checksum {digest}, expected {MERMAID_INTEGRITY}"
            )
        unpacked = Path(tmp) / "unpacked"
        wanted = {"package/dist/mermaid.min.js", "package/LICENSE", "package/package.json"}
        with tarfile.open(tarball) as tar:
            members = [m for m in tar.getmembers() if m.name in wanted and m.isfile()]
            if len(members) != len(wanted):
                raise SystemExit(f"mermaid-{MERMAID_VERSION}.tgz lacks one of {sorted(wanted)}")
            for member in members:
                out = unpacked / member.name.removeprefix("package/")
                out.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as f:  # type: ignore[union-attr]
                    out.write_bytes(f.read())
        final = target.parent.parent
        shutil.rmtree(final, ignore_errors=True)
        unpacked.rename(final)
    return target


# ---------------------------------------------------------------- build


def sphinx_build(src: Path, out: Path, doctrees: Path, site_settings: dict) -> None:
    settings_file = src.parent / "settings.json"
    settings_file.write_text(json.dumps(site_settings, indent=1, ensure_ascii=False), encoding="utf-8")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
    cmd += ["-c", str(SITE_DOCS), "-d", str(doctrees), str(src), str(out)]
    env = {**os.environ, "IPC_SITE_SETTINGS": str(settings_file), "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    result = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise SystemExit(f"sphinx-build failed (exit {result.returncode}); the messages above say where")


def build_language(
    lang: Language,
    languages: list[Language],
    work: Path,
    conf: dict[str, str],
    notebooks: Path | None = None,
    pages: Path | None = None,
) -> dict:
    notebooks = notebooks or ROOT / lang.notebooks
    pages = pages or lang.pages
    src = work / "src"
    main = next(x for x in languages if x.subdir == "")
    switch = []
    elsewhere: dict[Path, tuple[str, str]] = {}
    for other in languages:
        # Link from this language's root to the other's root.
        if other.code == lang.code:
            href = ""
        elif lang.subdir == "":
            href = f"{other.subdir}/"
        elif other.subdir == "":
            href = "../"
        else:
            href = f"../{other.subdir}/"
        folder = notebooks if other.code == lang.code else ROOT / other.notebooks
        switch.append(
            {
                "code": other.code,
                "label": other.label,
                "href": href,
                "pages": page_names(folder),  # the pages it has; from any other, the switch goes home
                "missing": other.missing_page,
            }
        )
        if other.code != lang.code:
            for nb in chapters(folder):  # the main language's first: its chapters are the ones listed
                elsewhere.setdefault(nb.resolve(), (f"site:{href}{nb.stem}.html", notebook_title(nb)))
    manifest = stage(notebooks, pages, src, conf, elsewhere=elsewhere, untranslated=lang.untranslated)
    site_settings = {
        **conf,
        "language": lang.code,
        "title": markdown_title((pages / "index.md").read_text(encoding="utf-8")) or "Named pipes in Python",
        "author": "the authors of this tutorial",
        "copyright": "the authors of this tutorial; see the Licence page",
        "path_to_docs": repo_path(notebooks),
        "mermaid_js": str(fetch_mermaid()),
        "widget_note": lang.widget_note,
        "languages": switch if len(languages) > 1 else [],
        "main_language": main.code,
    }
    started = time.monotonic()
    sphinx_build(src, work / "html", work / "doctrees", site_settings)
    result = {"language": lang.code, "subdir": lang.subdir, "pages": manifest, "settings": site_settings}
    (work / "manifest.json").write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"built {lang.label} ({len(manifest)} pages) in {time.monotonic() - started:.1f} s")
    return result


def assemble(built: list[tuple[Language, Path]], out: Path) -> None:
    """Copy each language's HTML into ``out`` (the main language at the top)."""
    tmp = out.with_name(out.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    for lang, html in sorted(built, key=lambda item: item[0].subdir):
        shutil.copytree(html, tmp / lang.subdir if lang.subdir else tmp, dirs_exist_ok=True)
    manifest = [json.loads((html.parent / "manifest.json").read_text(encoding="utf-8")) for _, html in built]
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    (out.parent / "manifest.json").write_text(
        json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--notebooks", type=Path, help="build one language from this chapter folder")
    parser.add_argument("--pages", type=Path, default=SITE_DOCS / "en", help="its landing and licence pages")
    parser.add_argument("--work", type=Path, help="staging and build folder (default build/site)")
    parser.add_argument("--out", type=Path, help="where the HTML goes (default build/site/html)")
    args = parser.parse_args(argv)
    conf = settings()
    work = (args.work or BUILD).resolve()
    out = (args.out or work / "html").resolve()
    if args.notebooks:
        lang = LANGUAGES[0]
        build_language(lang, [lang], work / lang.code, conf, args.notebooks.resolve(), args.pages.resolve())
        assemble([(lang, work / lang.code / "html")], out)
    else:
        languages = [lang for lang in LANGUAGES if lang.present()]
        built = []
        for lang in languages:
            build_language(lang, languages, work / lang.code, conf)
            built.append((lang, work / lang.code / "html"))
        assemble(built, out)
    try:
        shown = out.relative_to(Path.cwd())
    except ValueError:
        shown = out
    print(f"site: {shown}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
