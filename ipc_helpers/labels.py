"""Words drawn in figures, in the language of the chapter that draws them.

A drawing function passes each word it draws through ``label`` and draws inside
``matplotlib.rc_context(rc())``::

    ax.set_xlabel(label("time (ms)"))

In a chapter under ``notebooks/zh_CN/`` (the kernel runs in the notebook's folder) the word comes
from the translators' catalog ``locales/zh_CN/LC_MESSAGES/figures.po`` (compiled by ``make zh``),
and ``rc()`` picks a font that has Chinese characters. Anywhere else, or for a word not yet
translated, or without a font that has Chinese characters, the English word is drawn.
``IPC_TUTORIAL_LANG=zh_CN`` (or ``en``) overrides the folder.
"""

from __future__ import annotations

import functools
import gettext
import os
from pathlib import Path

LOCALES = Path(__file__).resolve().parent.parent / "locales"
# Fonts with Chinese characters on Debian/Ubuntu (fonts-noto-cjk), macOS and Windows, in that order.
CJK_FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "DejaVu Sans"]


def _folder_language() -> str:
    """IPC_TUTORIAL_LANG, else the name of the notebook's folder if it has a catalog, else "en"."""
    lang = os.environ.get("IPC_TUTORIAL_LANG") or Path.cwd().name
    return "en" if lang == "en" or not (LOCALES / lang / "LC_MESSAGES").is_dir() else lang


def language() -> str:
    """The language of the words drawn in figures: the notebook's (see _folder_language).

    English too when no font for the language is installed: matplotlib would draw empty boxes
    and warn about each missing glyph.
    """
    lang = _folder_language()
    return lang if lang == "en" or _font_installed() else "en"


@functools.cache
def _font_installed() -> bool:
    from matplotlib import font_manager

    for name in CJK_FONTS[:-1]:
        try:
            font_manager.findfont(name, fallback_to_default=False)
            return True
        except ValueError:
            continue
    return False


def label(text: str) -> str:
    """``text`` in the current language (``text`` itself when there is no translation)."""
    return _translate("figures", language(), text)


def alt(text: str) -> str:
    """A figure's text alternative in the notebook's language (no font needed: it is read, not drawn).

    The translations are the chapters' own (``alts.mo``, compiled by ``make zh`` from the figure
    alt entries of the published chapters' catalogs), so a translated chapter, run again, gives its
    figures the alt its stored outputs carry. ``text`` itself when there is no translation.
    """
    return _translate("alts", _folder_language(), text)


def _translate(catalog: str, lang: str, text: str) -> str:
    if lang == "en":
        return text
    return gettext.translation(catalog, LOCALES, languages=[lang], fallback=True).gettext(text)


def rc() -> dict:
    """matplotlib settings for the current language (fonts that have its characters); {} for English."""
    return {} if language() == "en" else {"font.sans-serif": CJK_FONTS, "axes.unicode_minus": False}
