"""The numbers in the PDF: a table under a chart, and the summary page of what changed.

The numbers come from ``reportgen.metricdata`` (GetMetricData over the widget's own queries); this module
only turns them into rows, measures them and draws them. A table's height depends on its row count alone,
so the layout can reserve its room before anything is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from reportlab.lib.colors import Color, HexColor
from reportlab.platypus import Flowable

from reportgen.fonts import FontChain
from reportgen.model import SeriesStats, WidgetNumbers

ROW = 10.5             # pt per table row
SIZE = 7.0             # pt, the table's font size
MAX_ROWS = 10          # series shown under a chart; the rest are counted in a last row (all are in the CSV)
PADDING = 4.0          # pt between the chart and its table

_INK = HexColor("#1E293B")
_MUTED = HexColor("#64748B")
_RULE = HexColor("#CBD5E1")
_STRIPE = HexColor("#F1F5F9")
_FLAG = HexColor("#B54708")  # a change past the threshold; amber either way, since a rise is not always bad


def format_number(value: float | None) -> str:
    """A table cell: four significant digits at most, thousands grouped, no exponent unless tiny or huge."""
    if value is None or math.isnan(value):
        return "–"
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if magnitude >= 1e15 or magnitude < 1e-4:
        return f"{value:.3g}"
    if magnitude >= 1000:
        return f"{value:,.0f}"
    decimals = max(0, 3 - math.floor(math.log10(magnitude)))
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_change(percent: float | None) -> str:
    if percent is None:
        return "–"
    if abs(percent) >= 10_000:
        return f"{percent:+.3g} %"
    text = f"{percent:+.0f} %" if abs(percent) >= 9.95 else f"{percent:+.1f} %"
    return "0.0 %" if text in ("+0.0 %", "-0.0 %") else text  # no sign on what rounds to no change


def change(now: float | None, before: float | None) -> float | None:
    """The change from ``before`` to ``now`` in percent of ``before``; None when it has no meaning."""
    if now is None or before is None or before == 0:
        return None
    return (now - before) / abs(before) * 100


def table_height(numbers: WidgetNumbers | None) -> float:
    """The room a widget's table takes under its chart (a header and its rows, or a one-line note)."""
    if numbers is None:
        return 0.0
    if numbers.error is not None or not numbers.stats:
        return PADDING + ROW
    shown = min(len(numbers.stats), MAX_ROWS) + (len(numbers.stats) > MAX_ROWS)
    return PADDING + ROW * (1 + shown) + ROW * bool(numbers.notes)


@dataclass(frozen=True)
class _Column:
    title: str
    cell: Callable[[SeriesStats], str]
    optional: bool = False  # left out when the table is too narrow for every column


def _columns(zone: tzinfo, long_window: bool) -> list[_Column]:
    stamp = "%d %b %H:%M" if long_window else "%H:%M"
    return [
        _Column("Unit", lambda s: s.unit or "", optional=True),
        _Column("Min", lambda s: format_number(s.minimum)),
        _Column("Average", lambda s: format_number(s.average)),
        _Column("Max", lambda s: format_number(s.maximum)),
        _Column("Last", lambda s: format_number(s.last)),
        _Column("Max at", lambda s: f"{s.max_at.astimezone(zone):{stamp}}" if s.max_at else "–", optional=True),
    ]


class NumbersTable(Flowable):
    """The numbers behind one chart: a row per series with min, average, max, last and when the max was.

    Each number column is as wide as its widest cell; the series labels take the rest, cut with an ellipsis
    when they must be. A table too narrow for that drops its unit and "max at" columns.
    """

    _GAP = 8.0  # pt between columns

    def __init__(self, numbers: WidgetNumbers, width: float, fonts: FontChain, *, zone: tzinfo,
                 long_window: bool) -> None:
        super().__init__()
        self.numbers, self.width, self.fonts = numbers, width, fonts
        self.height = table_height(numbers)
        self.columns = _columns(zone, long_window)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.width, self.height

    def _layout(self, rows: list[list[str]]) -> tuple[list[int], list[float]]:
        """Which columns to show and how wide each is, the label column first."""
        def needed(index: int) -> float:
            return max(self.fonts.width(row[index], SIZE, bold=n == 0) for n, row in enumerate(rows)) + self._GAP

        shown = list(range(1, len(rows[0])))
        widths = {index: needed(index) for index in shown}
        if self.width - sum(widths.values()) < self.width * 0.25:
            shown = [index for index in shown if not self.columns[index - 1].optional]
        label = self.width - sum(widths[index] for index in shown)
        return shown, [label] + [widths[index] for index in shown]

    def draw(self) -> None:
        canv, fonts, numbers = self.canv, self.fonts, self.numbers
        canv.saveState()
        y = self.height - PADDING
        if numbers.error is not None or not numbers.stats:
            text = f"Numbers unavailable: {numbers.error}" if numbers.error else "No series had data in the period."
            canv.setFillColor(_MUTED)
            fonts.draw(canv, 0, y - ROW + 3, fonts.shorten(text, SIZE, self.width), SIZE)
            canv.restoreState()
            return
        shown_stats = numbers.stats[:MAX_ROWS]
        rows = [["Series"] + [column.title for column in self.columns]]
        rows += [[s.label] + [column.cell(s) for column in self.columns] for s in shown_stats]
        shown, widths = self._layout(rows)
        hidden = len(numbers.stats) - len(shown_stats)
        canv.setStrokeColor(_RULE)
        canv.setLineWidth(0.5)
        for number, cells in enumerate(rows):
            top = y - number * ROW
            header = number == 0
            if number and number % 2 == 0:
                canv.setFillColor(_STRIPE)
                canv.rect(0, top - ROW, self.width, ROW, stroke=0, fill=1)
            canv.setFillColor(_MUTED if header else _INK)
            baseline = top - ROW + 3
            fonts.draw(canv, 2, baseline, fonts.shorten(cells[0], SIZE, widths[0] - 6, bold=header), SIZE,
                       bold=header)
            right = widths[0]
            for index, width in zip(shown, widths[1:]):
                right += width
                fonts.draw(canv, right - 2, baseline, cells[index], SIZE, bold=header, align="right")
            if header:
                canv.line(0, top - ROW, self.width, top - ROW)
        y -= ROW * len(rows)
        canv.setFillColor(_MUTED)
        if hidden:
            fonts.draw(canv, 2, y - ROW + 3, f"… and {hidden} more series (all are in the CSV export)", SIZE)
            y -= ROW
        if numbers.notes:
            fonts.draw(canv, 2, y - ROW + 3, fonts.shorten("; ".join(numbers.notes), SIZE, self.width - 4), SIZE)
        canv.restoreState()


# --- the summary page ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """One series of one widget, this period against the one before."""

    widget: str
    series: str
    average: float | None
    previous_average: float | None
    maximum: float | None
    previous_maximum: float | None

    @property
    def average_change(self) -> float | None:
        return change(self.average, self.previous_average)

    @property
    def maximum_change(self) -> float | None:
        return change(self.maximum, self.previous_maximum)

    def largest_change(self) -> float:
        return max((abs(c) for c in (self.average_change, self.maximum_change) if c is not None), default=0.0)


def comparisons(widgets: Sequence[tuple[str, WidgetNumbers]]) -> list[Comparison]:
    """Every series of every widget with numbers, matched to the same series the period before."""
    found = []
    for title, numbers in widgets:
        before = {(s.id, s.label): s for s in numbers.previous or ()}
        for stats in numbers.stats:
            old = before.get((stats.id, stats.label))
            found.append(Comparison(title, stats.label, stats.average, old.average if old else None,
                                    stats.maximum, old.maximum if old else None))
    return found


def flagged(rows: Sequence[Comparison], threshold: float) -> list[Comparison]:
    """The rows whose average or max moved by at least ``threshold`` percent, largest move first."""
    moved = [row for row in rows if row.largest_change() >= threshold]
    return sorted(moved, key=lambda row: -row.largest_change())


class SummaryTable(Flowable):
    """Rows of comparisons with a header; splits across pages between rows, repeating the header."""

    _HEADER = ("Widget", "Series", "Average", "before", "change", "Max", "before", "change")
    _SHARES = (2.2, 2.0, 1, 1, 0.9, 1, 1, 0.9)

    def __init__(self, rows: Sequence[Comparison], fonts: FontChain, *, threshold: float,
                 width: float = 0.0) -> None:
        super().__init__()
        self.rows, self.fonts, self.threshold, self.width = list(rows), fonts, threshold, width

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        self.height = ROW * 1.15 * (1 + len(self.rows))
        return self.width, self.height

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        fit = int(availHeight // (ROW * 1.15)) - 1  # rows under the repeated header
        if fit < 1 or fit >= len(self.rows):
            return []
        return [SummaryTable(self.rows[:fit], self.fonts, threshold=self.threshold, width=availWidth),
                SummaryTable(self.rows[fit:], self.fonts, threshold=self.threshold, width=availWidth)]

    def draw(self) -> None:
        canv, fonts = self.canv, self.fonts
        row = ROW * 1.15
        unit = self.width / sum(self._SHARES)
        edges = [0.0]
        for share in self._SHARES:
            edges.append(edges[-1] + share * unit)
        canv.saveState()
        canv.setStrokeColor(_RULE)
        canv.setLineWidth(0.5)
        for number, comparison in enumerate([None, *self.rows]):
            top = self.height - number * row
            baseline = top - row + 3.5
            if comparison is None:
                canv.setFillColor(_MUTED)
                for column, title in enumerate(self._HEADER):
                    if column < 2:
                        fonts.draw(canv, edges[column] + 2, baseline, title, SIZE + 0.5, bold=True)
                    else:
                        fonts.draw(canv, edges[column + 1] - 3, baseline, title, SIZE + 0.5, bold=True, align="right")
                canv.line(0, top - row, self.width, top - row)
                continue
            if number % 2 == 0:
                canv.setFillColor(_STRIPE)
                canv.rect(0, top - row, self.width, row, stroke=0, fill=1)
            canv.setFillColor(_INK)
            for column, text in enumerate((comparison.widget, comparison.series)):
                fonts.draw(canv, edges[column] + 2, baseline,
                           fonts.shorten(text, SIZE + 0.5, edges[column + 1] - edges[column] - 6), SIZE + 0.5)
            cells: list[tuple[str, Color | None]] = [
                (format_number(comparison.average), None),
                (format_number(comparison.previous_average), _MUTED),
                (format_change(comparison.average_change), self._tint(comparison.average_change)),
                (format_number(comparison.maximum), None),
                (format_number(comparison.previous_maximum), _MUTED),
                (format_change(comparison.maximum_change), self._tint(comparison.maximum_change)),
            ]
            for column, (text, color) in enumerate(cells, start=2):
                canv.setFillColor(color or _INK)
                fonts.draw(canv, edges[column + 1] - 3, baseline, text, SIZE + 0.5,
                           bold=color is _FLAG, align="right")
        canv.restoreState()

    def _tint(self, percent: float | None) -> Color | None:
        """Amber and bold for a change past the threshold, either way; plain otherwise."""
        return None if percent is None or abs(percent) < self.threshold else _FLAG


def long_window(start: datetime, end: datetime) -> bool:
    """Whether times in the tables need a date: the window is longer than a day."""
    return (end - start).total_seconds() > 86_400 + 3600  # a 25-hour DST day is still one day
