"""The numbers behind a report's tables as two CSV files beside its PDF, for people who want them in a spreadsheet.

    <stem>.csv          a row per series of each tabled widget: the table's columns, and the previous period's
                        when the report compares periods
    <stem>.series.csv   the datapoints themselves: a timestamp column, then a column per series

Both are UTF-8 with a byte-order mark: Excel, where these files mostly end up, reads a CSV without one in the
machine's legacy code page and garbles every non-ASCII label (an en dash, a CJK widget title); Python reads it
back with ``encoding="utf-8-sig"``. Quoting is RFC 4180 (the csv module's default dialect, CRLF line ends),
numbers are written in full (``repr``, no thousands separators) and times in ISO 8601 in the report's zone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from pathlib import Path

from reportgen.files import write_atomic
from reportgen.model import ReportPlan, SeriesStats, WidgetResult

ENCODING = "utf-8-sig"  # UTF-8 with a BOM; see the module docstring for why
TABLE_COLUMNS = ("section", "widget", "series", "unit", "min", "average", "max", "last", "max_at", "points")
PREVIOUS_COLUMNS = ("previous_average", "previous_max", "change_percent")


def write_csv(plan: ReportPlan, results: Sequence[WidgetResult], pdf_path: Path) -> tuple[Path, Path]:
    """Write ``<stem>.csv`` (a row per series) and ``<stem>.series.csv`` (every datapoint) beside ``pdf_path``,
    each atomically, for the widgets whose result has numbers, in ``results``' order; return both paths.

    The previous period's columns are there when any widget has previous numbers; a row without them leaves
    them empty, as it does ``change_percent`` (the average's change) when the previous average is 0.
    """
    zone = plan.spec.tz
    compare = any(result.numbers is not None and result.numbers.previous is not None for result in results)
    rows: list[list[str]] = []
    columns: list[tuple[str, dict[datetime, float]]] = []
    for result in results:
        numbers = result.numbers
        if numbers is None:
            continue
        section = plan.spec.sections[result.request.section].title
        before = {(stats.id, stats.label): stats for stats in numbers.previous or ()}
        for stats in numbers.stats:
            row = [section, result.request.title, stats.label, stats.unit or "",
                   *map(_number, (stats.minimum, stats.average, stats.maximum, stats.last)),
                   _time(stats.max_at, zone), str(stats.points)]
            if compare:
                row += _comparison(stats, before.get((stats.id, stats.label)))
            rows.append(row)
        columns += [(f"{section} / {result.request.title} / {series.label}",
                     dict(zip(series.timestamps, series.values))) for series in numbers.series]
    table_path = pdf_path.with_name(f"{pdf_path.stem}.csv")
    series_path = pdf_path.with_name(f"{pdf_path.stem}.series.csv")
    write_atomic(table_path, _csv([[*TABLE_COLUMNS, *(PREVIOUS_COLUMNS if compare else ())], *rows]))
    write_atomic(series_path, _csv(_series_rows(columns, zone)))
    return table_path, series_path


def _comparison(stats: SeriesStats, previous: SeriesStats | None) -> list[str]:
    if previous is None:
        return ["", "", ""]
    change = None
    if stats.average is not None and previous.average:  # no percentage of nothing
        change = (stats.average - previous.average) / abs(previous.average) * 100
    return [_number(previous.average), _number(previous.maximum), _number(change)]


def _series_rows(columns: Sequence[tuple[str, dict[datetime, float]]], zone: tzinfo) -> Iterable[list[str]]:
    """A header, then a row per timestamp that any series has, ascending; a series without a value there is empty."""
    yield ["timestamp", *(name for name, _ in columns)]
    for moment in sorted({moment for _, points in columns for moment in points}):
        yield [_time(moment, zone), *(_number(points.get(moment)) for _, points in columns)]


def _csv(rows: Iterable[Sequence[str]]) -> bytes:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode(ENCODING)


def _number(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def _time(moment: datetime | None, zone: tzinfo) -> str:
    return "" if moment is None else moment.astimezone(zone).isoformat()
