"""The fonts the stand-in draws text with: DejaVu Sans, then installed fonts for the scripts it lacks.

matplotlib (3.6 and later) takes a list of families and draws each glyph with the first family that has it,
so titles and labels in Chinese, Japanese or Korean come out as CloudWatch draws them when a font for them is
installed (the README names the Debian/Ubuntu packages). The chain is built from what matplotlib's font
manager finds, in a fixed order, so the same machine always draws the same pixels. A character no font in the
chain has is drawn as a box by matplotlib; ``missing`` names such characters, and the renderer logs each once.
"""

from __future__ import annotations

import logging
from functools import cache

from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

PRIMARY = "DejaVu Sans"
# Families that cover scripts DejaVu lacks, most complete first: Noto CJK and Droid Sans Fallback have Chinese,
# Japanese and Korean; WenQuanYi Chinese, IPA Japanese, Nanum Korean; Noto Sans and its siblings others.
FALLBACKS = (
    "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK KR", "Droid Sans Fallback",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "IPAGothic", "IPAPGothic", "NanumGothic", "Noto Sans",
    "Noto Sans Symbols", "Noto Sans Symbols2",
)  # no colour emoji font: Agg cannot draw its bitmap glyphs

_log = logging.getLogger(__name__)
_reported: set[str] = set()  # characters already logged as undrawable, so each is logged once per process


def family_chain() -> list[str]:
    """``DejaVu Sans``, then each of ``FALLBACKS`` that matplotlib's font manager finds installed, in order."""
    return [name for name, _ in _chain()]


def missing(text: str) -> str:
    """The characters of ``text`` (whitespace aside) that no font of the chain has, each once, in order."""
    maps = _charmaps()
    return "".join(dict.fromkeys(
        char for char in text if not char.isspace() and not any(ord(char) in cmap for cmap in maps)))


def report_missing(text: str) -> None:
    """Log, once per character, the characters of ``text`` that will be drawn as boxes."""
    new = "".join(char for char in missing(text) if char not in _reported)
    if new:
        _reported.update(new)
        _log.warning("no installed font can draw %s (drawn as boxes); install a font for them, e.g. "
                     "fonts-noto-cjk for Chinese, Japanese and Korean", " ".join(new))


@cache
def _chain() -> tuple[tuple[str, str], ...]:
    """(family, file) for the chain: the file matplotlib would pick for the family's regular style."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    chain = []
    # A family with no "normal" weight (WenQuanYi Zen Hei is "medium") makes findfont log a line about it,
    # here and again when drawing: matplotlib then takes the nearest weight, which is what we want.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    for name in (PRIMARY, *FALLBACKS):
        if name in installed:
            chain.append((name, font_manager.findfont(font_manager.FontProperties(family=name),
                                                      fallback_to_default=False)))
    return tuple(chain)


@cache
def _charmaps() -> tuple[frozenset[int], ...]:
    return tuple(frozenset(FT2Font(path).get_charmap()) for _, path in _chain())
