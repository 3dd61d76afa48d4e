"""Make or refresh the learner's own copies of the chapters (``make workspace``).

``notebooks/`` is the reference: executed, stored with outputs, checked by the
tests.  Learners work in copies: outputs cleared, execution counts empty,
sources identical, with ``scripts/`` and the other files the chapters read
beside them (by default in ``workspace/``, which git ignores).  The released
assignments, when there are any, go to ``<dest>/assignments/``.

A copy is never overwritten once the learner has saved it.  The manifest
``<dest>/.workspace.json`` records the hash of every file as this tool wrote
it, so a later run can tell the two cases apart:

- the copy is still byte for byte what was written → it is refreshed when the
  tutorial's version has changed;
- the copy differs (the learner edited, ran and saved it) → it is kept as it
  is, and the run says so when a newer version is waiting.

Files that are new in the tutorial are added; an unedited copy of a file the
tutorial no longer has is removed, an edited one kept.  ``--reset 04`` gives
a fresh copy of chapter 04 and keeps the learner's under another name
(``04-....yours-1.ipynb``).

Usage:
    python tools/workspace.py [--dest DIR] [--lang zh_CN] [--reset NN] [--quiet]

Exit status 0, or 2 for a usage error (no such language, no chapter NN).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
RELEASE = ROOT / "docs" / "assignments" / "release"
MANIFEST = ".workspace.json"
# Never copied: editor and interpreter leftovers, and whatever is not a regular file
# (a FIFO a chapter left next to itself must not be opened: that would block).
SKIP_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}


class UsageError(Exception):
    """A wrong argument: unknown language, or no chapter matches --reset."""


def clear_outputs(raw: bytes) -> bytes:
    """A notebook as a learner should first see it: no outputs, no execution counts.

    Sources, cell ids, tags and other cell metadata stay as they are; widget
    state and timing metadata go.
    """
    nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    text = nbformat.writes(nb)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_files(lang: str | None) -> dict[str, bytes]:
    """What the learner's copy should hold: relative path -> bytes as written.

    The chapters of the language (``notebooks/`` or ``notebooks/<lang>/``) with
    their outputs cleared, every other regular file beside them (``scripts/``
    and the like; for a language without its own ``scripts/``, the shared
    one), and the released assignments under ``assignments/``.
    """
    base = NOTEBOOKS / lang if lang else NOTEBOOKS
    if not base.is_dir():
        raise UsageError(f"no chapters for language {lang!r}: notebooks/{lang}/ does not exist")
    files: dict[str, bytes] = {}

    def walk(top: Path, prefix: str, *, skip_dirs: set[str] = frozenset()) -> None:
        for dirpath, dirnames, filenames in os.walk(top):
            here = Path(dirpath)
            dirnames[:] = sorted(
                d for d in dirnames if d not in SKIP_NAMES and not (here == top and d in skip_dirs)
            )
            for name in sorted(filenames):
                path = here / name
                if name in SKIP_NAMES or not stat.S_ISREG(path.lstat().st_mode):
                    continue
                rel = prefix + path.relative_to(top).as_posix()
                data = path.read_bytes()
                files[rel] = clear_outputs(data) if name.endswith(".ipynb") else data

    # Other languages' chapters live in subfolders of notebooks/ named like zh_CN: not ours.
    other_langs = {p.name for p in NOTEBOOKS.iterdir() if p.is_dir() and _is_lang(p.name)}
    walk(base, "", skip_dirs=other_langs if not lang else set())
    own_scripts = (base / "scripts").is_dir() and not (
        base / "scripts"
    ).is_symlink()  # zh_CN/scripts -> ../scripts
    if lang and not own_scripts and (NOTEBOOKS / "scripts").is_dir():
        walk(NOTEBOOKS / "scripts", "scripts/")
    if RELEASE.is_dir():
        walk(RELEASE, "assignments/")
    return files


def _is_lang(name: str) -> bool:
    """Folder names like zh_CN or fr (a language edition), not scripts/ or data/."""
    head, _, tail = name.partition("_")
    return len(head) == 2 and head.islower() and (not tail or (len(tail) == 2 and tail.isupper()))


@dataclass
class Report:
    added: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    removed: list[str] = field(default_factory=list)
    reset: list[tuple[str, str]] = field(default_factory=list)  # (path, where the learner's copy went)
    unchanged: list[str] = field(default_factory=list)

    def lines(self, dest: Path) -> list[str]:
        out = [f"Your copies are in {_show(dest)}/ (notebooks/ stays the tutorial's reference)."]
        for what, names in [("added", self.added), ("refreshed", self.refreshed), ("removed", self.removed)]:
            for name in names:
                out.append(f"  {what + ':':11} {name}")
        for name, saved_as in self.reset:
            out.append(f"  {'reset:':11} {name}   (yours is now {saved_as})")
        for name, why in self.kept:
            out.append(f"  {'kept:':11} {name}   ({why})")
        if self.unchanged:
            out.append(f"  up to date: {len(self.unchanged)} file(s)")
        return out


def _show(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _mode(data: bytes) -> int:
    """A program (its first line is "#!...") stays executable, so ./script.py works; the rest 0o644."""
    return (0o755 if data.startswith(b"#!") else 0o644) & ~_umask()


def _write(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename, so a copy is never half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, _mode(data))
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _set_aside(path: Path) -> Path:
    """Rename the learner's copy to NAME.yours-N.ext (first free N) and return the new path."""
    n = 1
    while True:
        candidate = path.with_name(f"{path.stem}.yours-{n}{path.suffix}")
        if not os.path.lexists(candidate):
            os.rename(path, candidate)
            return candidate
        n += 1


def matches_reset(rel: str, wanted: str) -> bool:
    """--reset 04, 04-opening-and-blocking, 04-opening-and-blocking.ipynb or a full relative path."""
    name = rel.rsplit("/", 1)[-1]
    return (
        rel == wanted
        or name == wanted
        or name == wanted + ".ipynb"
        or (rel.count("/") == 0 and name.endswith(".ipynb") and name.startswith(wanted.rstrip("-") + "-"))
    )


def sync(dest: Path, lang: str | None = None, reset: list[str] | None = None) -> Report:
    """Bring the copies in ``dest`` up to date without losing anything the learner saved."""
    wanted = source_files(lang)
    reset = reset or []
    for r in reset:
        if not any(matches_reset(rel, r) for rel in wanted):
            chapters = sorted(
                rel.split("-", 1)[0] for rel in wanted if "/" not in rel and rel.endswith(".ipynb")
            )
            raise UsageError(f"--reset {r}: no such chapter (chapters: {', '.join(chapters)})")
    dest.mkdir(parents=True, exist_ok=True)
    manifest_path = dest / MANIFEST
    try:
        written: dict[str, str] = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
    except (FileNotFoundError, ValueError, KeyError):
        written = {}
    report = Report()
    new_manifest: dict[str, str] = {}

    for rel, data in wanted.items():
        path = dest / rel
        fresh = digest(data)
        if not os.path.lexists(path):
            _write(path, data)
            report.added.append(rel)
            new_manifest[rel] = fresh
            continue
        current = digest(path.read_bytes()) if path.is_file() and not path.is_symlink() else None
        if any(matches_reset(rel, r) for r in reset):
            if current == fresh:
                report.unchanged.append(rel)
            else:
                saved = _set_aside(path)
                _write(path, data)
                report.reset.append((rel, saved.relative_to(dest).as_posix()))
            new_manifest[rel] = fresh
        elif current == fresh:
            if data.startswith(b"#!") and not os.access(path, os.X_OK):
                os.chmod(path, _mode(data))  # a copy made before programs kept their executable bit
            report.unchanged.append(rel)
            new_manifest[rel] = fresh
        elif current is not None and current == written.get(rel):
            _write(path, data)  # untouched since we wrote it: the tutorial's newer version
            report.refreshed.append(rel)
            new_manifest[rel] = fresh
        else:
            hint = (
                f"make workspace RESET={_reset_name(rel)}"
                if rel.endswith(".ipynb")
                else "delete it to get it back"
            )
            report.kept.append((rel, f"you changed it; the tutorial's version differs: {hint}"))
            if rel in written:
                new_manifest[rel] = written[rel]

    for rel, was in written.items():
        if rel in wanted:
            continue
        path = dest / rel
        if not path.is_file() or path.is_symlink():
            continue
        if digest(path.read_bytes()) == was:
            path.unlink()
            report.removed.append(rel + "   (no longer part of the tutorial)")
        else:
            report.kept.append((rel, "you changed it; the tutorial no longer has this file"))

    _write(manifest_path, (json.dumps({"files": new_manifest}, indent=1, sort_keys=True) + "\n").encode())
    return report


def _reset_name(rel: str) -> str:
    name = rel.rsplit("/", 1)[-1]
    return name.split("-", 1)[0] if "/" not in rel else rel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dest", type=Path, help="where the copies go (default: workspace/, or workspace/LANG/)"
    )
    parser.add_argument("--lang", help="a language edition, such as zh_CN (chapters in notebooks/LANG/)")
    parser.add_argument(
        "--reset",
        action="append",
        default=[],
        metavar="NN",
        help="a fresh copy of chapter NN (yours is kept as NN-....yours-1.ipynb); may be repeated",
    )
    parser.add_argument("--quiet", action="store_true", help="print only what changed")
    args = parser.parse_args(argv)
    dest = args.dest or (ROOT / "workspace" / args.lang if args.lang else ROOT / "workspace")
    reset = [part for r in args.reset for part in r.replace(",", " ").split()]
    try:
        report = sync(dest, lang=args.lang, reset=reset)
    except UsageError as e:
        print(f"make workspace: {e}", file=sys.stderr)
        return 2
    lines = report.lines(dest)
    if args.quiet:
        lines = [line for line in lines[1:] if not line.startswith("  up to date")]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
