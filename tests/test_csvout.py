"""The CSV files beside a PDF: parsed back with the csv module, times in the report's zone, every timestamp."""

from __future__ import annotations

import codecs
import csv
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from reportgen.csvout import write_csv
from reportgen.metricdata import series_stats
from reportgen.model import (
    AwsTarget,
    Layout,
    Period,
    ReportPlan,
    ReportSpec,
    Section,
    SeriesData,
    SeriesStats,
    TimeWindow,
    WidgetNumbers,
    WidgetRequest,
    WidgetResult,
    WidgetSpec,
)

# Berlin leaves summer time at 01:00 UTC on 25 October 2026: 02:30 happens twice, at +02:00 and at +01:00.
T0 = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
STEP = timedelta(hours=1)
ZONE = "Europe/Berlin"
WEB_1 = 'web-1, "primary"'  # a comma and quotes: RFC 4180 quoting


def plan() -> ReportPlan:
    sections = (Section("Compute – EC2", (WidgetSpec("CPU", {}, 10), WidgetSpec("Network", {}, 20))),
                Section("Queues", (WidgetSpec("Depth", {}, 30), WidgetSpec("Age", {}, 40))))
    spec = ReportSpec(id="ops", title="Ops", path=Path("ops.yaml"), timezone=ZONE, period=Period(), aws=AwsTarget(),
                      layout=Layout(), sections=sections)
    widgets = tuple(WidgetRequest("ops", s, i, widget.title, "{}", 600, 400)
                    for s, section in enumerate(sections) for i, widget in enumerate(section.widgets))
    return ReportPlan(spec, date(2026, 10, 25), TimeWindow(T0, T0 + 4 * STEP, ZONE), widgets)


def series(query_id: str, label: str, hours: list[int], values: list[float], unit: str | None = None) -> SeriesData:
    return SeriesData(query_id, label, tuple(T0 + n * STEP for n in hours), tuple(values), unit)


def numbers(*all_series: SeriesData, previous: tuple[SeriesStats, ...] | None = None) -> WidgetNumbers:
    return WidgetNumbers(series=all_series, stats=tuple(map(series_stats, all_series)), previous=previous)


CPU = (series("m1", WEB_1, [0, 1, 2], [0.1 + 0.2, 1234567.0, 5e-07], "Percent"),
       series("m2", "web-2", [1, 2, 3], [10.0, 20.0, 30.0], "Percent"))
DEPTH = series("m1", "orders", [2, 4], [3.0, 1.0], "Count")


def results(*, previous: tuple[SeriesStats, ...] | None = None) -> list[WidgetResult]:
    cpu, network, depth, age = plan().widgets
    return [WidgetResult(cpu, png=b"png", numbers=numbers(*CPU)),
            WidgetResult(network, png=b"png"),  # no table asked for
            WidgetResult(depth, png=b"png", numbers=numbers(DEPTH, previous=previous)),
            WidgetResult(age, png=b"png", numbers=WidgetNumbers(error="Throttling: Rate exceeded"))]


def read(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)  # so Excel reads it as UTF-8
    assert b"\r\n" in data  # RFC 4180 line ends
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))


def test_the_table_has_a_row_per_series_in_full_precision_and_the_reports_zone(tmp_path: Path) -> None:
    table, series_file = write_csv(plan(), results(), tmp_path / "ops-2026-10-25.pdf")
    assert (table, series_file) == (tmp_path / "ops-2026-10-25.csv", tmp_path / "ops-2026-10-25.series.csv")
    assert read(table) == [
        ["section", "widget", "series", "unit", "min", "average", "max", "last", "max_at", "points"],
        ["Compute – EC2", "CPU", WEB_1, "Percent", "5e-07", repr(math.fsum(CPU[0].values) / 3),
         "1234567.0", "5e-07", "2026-10-25T02:30:00+02:00", "3"],
        ["Compute – EC2", "CPU", "web-2", "Percent", "10.0", "20.0", "30.0", "30.0", "2026-10-25T03:30:00+01:00", "3"],
        ["Queues", "Depth", "orders", "Count", "1.0", "2.0", "3.0", "1.0", "2026-10-25T02:30:00+01:00", "2"],
    ]


def test_the_series_file_has_every_timestamp_once_and_gaps_left_empty(tmp_path: Path) -> None:
    _, series_file = write_csv(plan(), results(), tmp_path / "ops.pdf")
    assert read(series_file) == [
        ["timestamp", f"Compute – EC2 / CPU / {WEB_1}", "Compute – EC2 / CPU / web-2", "Queues / Depth / orders"],
        ["2026-10-25T01:30:00+02:00", "0.30000000000000004", "", ""],
        ["2026-10-25T02:30:00+02:00", "1234567.0", "10.0", ""],
        ["2026-10-25T02:30:00+01:00", "5e-07", "20.0", "3.0"],
        ["2026-10-25T03:30:00+01:00", "", "30.0", ""],
        ["2026-10-25T04:30:00+01:00", "", "", "1.0"],
    ]


@pytest.mark.parametrize(("previous", "columns"), [
    (series("m1", "orders", [0], [1.6]), ["1.6", "1.6", repr((2.0 - 1.6) / 1.6 * 100)]),
    (series("m1", "orders", [0], [-4.0]), ["-4.0", "-4.0", "150.0"]),
    (series("m1", "orders", [0], [0.0]), ["0.0", "0.0", ""]),           # no percentage of nothing
    (series("m1", "orders", [], []), ["", "", ""]),                   # no datapoints then
    (series("m9", "other", [0], [1.0]), ["", "", ""]),                # no match by id and label
])
def test_the_previous_period_and_the_change_of_the_average(tmp_path: Path, previous: SeriesData,
                                                          columns: list[str]) -> None:
    table, _ = write_csv(plan(), results(previous=(series_stats(previous),)), tmp_path / "ops.pdf")
    header, cpu_1, cpu_2, depth = read(table)
    assert header[-3:] == ["previous_average", "previous_max", "change_percent"]
    assert depth[-3:] == columns
    assert cpu_1[-3:] == cpu_2[-3:] == ["", "", ""]  # its widget has no previous numbers


def test_a_report_without_numbers_writes_headers_only(tmp_path: Path) -> None:
    cpu = plan().widgets[0]
    table, series_file = write_csv(plan(), [WidgetResult(cpu, png=b"png")], tmp_path / "ops.pdf")
    assert read(table) == [["section", "widget", "series", "unit", "min", "average", "max", "last", "max_at",
                            "points"]]
    assert read(series_file) == [["timestamp"]]
