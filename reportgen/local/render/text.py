"""Text on a chart: fonts, measuring text in pixels, and how numbers are written."""

from __future__ import annotations

import math
from functools import cache, lru_cache

from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.font_manager import FontProperties

from reportgen.local import fonts
from reportgen.local.render.theme import DPI, SMALL_PT

_UNIT_SUFFIX = {"Percent": "%", "Seconds": "s", "Milliseconds": "ms", "Bytes": "B", "Count/Second": "/s"}
_RENDERER = RendererAgg(1, 1, DPI)  # for measuring text only; sizes depend on the font and dpi alone


def _measure(text: str, points: float = SMALL_PT, bold: bool = False) -> tuple[float, float]:
    """Width and height of ``text`` in pixels."""
    return _text_size(text, points, bold)  # every argument given, so one text has one cache entry


@lru_cache(maxsize=4096)
def _text_size(text: str, points: float, bold: bool) -> tuple[float, float]:
    width, height, _ = _RENDERER.get_text_width_height_descent(text, _font(points, bold), ismath=False)
    return width, height


@cache
def _font(points: float, bold: bool = False) -> FontProperties:
    # A list of families: matplotlib takes each glyph from the first that has it (Chinese, Japanese, Korean…).
    return FontProperties(family=fonts.family_chain(), size=points, weight="bold" if bold else "normal")


def _compact(value: float) -> str:
    """Three significant digits with an SI suffix, the way CloudWatch writes axis and single values:
    1234 → 1.23k, 2500000 → 2.5M, 0.00012 → 0.00012."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    rounded = float(f"{value:.3g}")  # round first, so 999999 becomes 1M rather than 1e+03k
    magnitude = abs(rounded)
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= scale:
            return f"{rounded / scale:.3g}{suffix}"
    decimals = max(0, 2 - math.floor(math.log10(magnitude)))
    return f"{rounded:.{decimals}f}".rstrip("0").rstrip(".") if decimals else f"{rounded:.0f}"


def _full(value: float) -> str:
    """Every digit worth showing (``singleValueFullPrecision``): 1,280.46 rather than 1.28k."""
    magnitude = abs(value)
    decimals = 0 if magnitude >= 1e5 or magnitude == 0 else max(0, 5 - math.floor(math.log10(magnitude)))
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if decimals else text


def _with_unit(value: float | None, unit: str | None, *, full: bool = False) -> str:
    return "—" if value is None else (_full if full else _compact)(value) + _UNIT_SUFFIX.get(unit or "", "")
