"""How a chart looks: the palette, the light and dark themes, and the sizes in points and pixels."""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.transforms import IdentityTransform

DPI = 100
# CloudWatch's default palette, in the order it gives colours to rows.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
# The console's marker for a metric that has missing data in the window: an orange warning triangle.
WARNING = "#ff9900"
TITLE_PT, SMALL_PT = 9.5, 7.5
PAD = 8      # px around the edges
SWATCH = 9   # px, the legend's colour squares
MARK = 11    # px, the width of the warning triangle
ROW = 15     # px per legend row
_PIXELS = IdentityTransform()  # Agg's display coordinates: pixels, origin bottom-left


@dataclass(frozen=True)
class _Theme:
    background: str
    text: str
    muted: str
    grid: str
    axis: str
    annotation: str


THEMES = {
    "light": _Theme("#ffffff", "#16191f", "#545b64", "#e9ebed", "#aab7b8", "#d62728"),
    "dark": _Theme("#1b1f24", "#d5dbdb", "#9ba7b6", "#2f353d", "#5f6b7a", "#ff6b6b"),
}
