"""A gallery of what the stand-in draws: one PNG per MetricWidget feature, and a contact sheet of them all.

    python -m reportgen.local.gallery OUT_DIR        (``make gallery`` writes out/gallery/)

Each exhibit is MetricWidget JSON as GetMetricWidgetImage takes it, drawn at a fixed "now" so every run
gives the same pictures. ``OUT_DIR/<name>.png`` holds each picture and ``OUT_DIR/contact-sheet.pdf`` shows
them all with what each demonstrates: put it beside the console to judge the likeness. An exhibit that
cannot be drawn is reported on stderr, shown as a box on the sheet, and makes the exit status 1.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from reportgen.assemble import draw_size
from reportgen.files import write_atomic
from reportgen.local.operations import Operations
from reportgen.local.render import render_png
from reportgen.local.seed import seed
from reportgen.local.store import MetricStore
from reportgen.local.widget import parse_widget

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
SHEET = "contact-sheet.pdf"

_CPU = ["AWS/EC2", "CPUUtilization", "InstanceId", "i-0a1b2c3d"]
_ALB = ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/web/1a2b"]
_LATENCY = ["AWS/ApiGateway", "Latency", "ApiName", "orders"]
_DAY = {"start": "2026-11-25T00:00:00Z", "end": "2026-11-26T00:00:00Z"}
_NODATA = ["Custom/App", "NoDataYet", "Service", "checkout"]
_SEEDED_LATENCY = ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", "app/prod-web/50dc6c495c0c9188"]


@dataclass(frozen=True)
class Exhibit:
    """One picture: ``name`` names its PNG, ``caption`` says what to look for, ``widget`` is the MetricWidget."""

    name: str
    caption: str
    widget: dict[str, Any]
    stored: bool = False  # drawn from a store seeded with ``local seed``'s estate, as ``serve --data`` would


EXHIBITS: tuple[Exhibit, ...] = (
    Exhibit("defaults", "Only `metrics`: 600×400, the last three hours, Average every 5 minutes, legend below.",
            {"metrics": [_CPU]}),
    Exhibit("time-absolute", "Absolute ISO 8601 `start`/`end`: one UTC day, ticks every 3 hours.",
            {"title": "One day", **_DAY, "metrics": [_CPU, ["...", "i-0e5f6a7b"]]}),
    Exhibit("time-relative", "`start: -PT1.5H` (fractional hours) and `end: P0D` (now).",
            {"title": "Last 90 minutes", "start": "-PT1.5H", "end": "P0D", "period": 60, "metrics": [_CPU]}),
    Exhibit("time-week", "`start: -P7D`: day ticks; the daily rhythm of a web tier.",
            {"title": "Last week", "start": "-P7D", "period": 3600, "metrics": [_ALB, ["...", "app/api/3c4d"]]}),
    Exhibit("period-widened", "30 days at `period: 60` would be 43,200 points: widened to 15 minutes, as CloudWatch "
            "does.", {"title": "30 days, period 60", "start": "-P30D", "period": 60, "metrics": [_CPU]}),
    Exhibit("period-1s", "High resolution: `period: 1` over two minutes; ticks in seconds.",
            {"title": "Two minutes at 1 s", "start": "2026-11-26T11:58:00Z", "end": "2026-11-26T12:00:00Z",
             "period": 1, "metrics": [["Custom/App", "QueueDepth", "Queue", "orders"]]}),
    Exhibit("size-small", "250×150: a small widget keeps its title, ticks and legend apart.",
            {"title": "Small", "width": 250, "height": 150, "metrics": [_CPU, ["...", "i-0e5f6a7b"]]}),
    Exhibit("size-tiny", "120×60: below 160×100 only the data is drawn.",
            {"title": "Tiny", "width": 120, "height": 60, "metrics": [_CPU]}),
    Exhibit("size-wide", "1200×300 over two days: more ticks, one legend row.",
            {"title": "Wide", "width": 1200, "height": 300, "start": "-P2D",
             "metrics": [_ALB, ["...", "app/api/3c4d"]]}),
    Exhibit("legend-bottom", "Twelve rows: the legend wraps below, colours cycle through the ten-colour palette.",
            {"title": "Twelve instances", "metrics": [_CPU] + [["...", f"i-{n:08x}"] for n in range(11)]}),
    Exhibit("legend-right", "`legend.position: right`.",
            {"title": "Legend right", "legend": {"position": "right"},
             "metrics": [_CPU, ["...", "i-0e5f6a7b"], ["...", "i-09c8d7e6"]]}),
    Exhibit("legend-hidden", "`legend.position: hidden`; the warning triangle moves to the corner for the row "
            "without data.", {"title": "Legend hidden", "legend": {"position": "hidden"}, "metrics": [_CPU, _NODATA]}),
    Exhibit("stacked", "`stacked: true`: areas summed in row order.",
            {"title": "Requests, stacked", "stacked": True, "stat": "Sum",
             "metrics": [_ALB, ["...", "app/api/3c4d"], ["...", "app/admin/5e6f"]]}),
    Exhibit("stats-percentiles", "Per-row `stat`: Minimum, p50, Average, p90, p99 and Maximum, in that order "
            "from the bottom.",
            {"title": "Latency statistics", "metrics": [
                [*_LATENCY, {"stat": "Maximum"}], [*_LATENCY, {"stat": "p99"}], [*_LATENCY, {"stat": "p90"}],
                [*_LATENCY, {"stat": "Average"}], [*_LATENCY, {"stat": "p50"}], [*_LATENCY, {"stat": "Minimum"}]]}),
    Exhibit("stats-bounded", "Trimmed and winsorized means, IQM, p99.9, each computed from the spread of the "
            "synthetic minutes' values: four separate lines close together far under p99.9, from the top "
            "WM(5%:95%), TM(10%:90%), IQM and tm90 (which keeps the low tail).",
            {"title": "Bounded statistics", "metrics": [
                [*_LATENCY, {"stat": "p99.9"}], [*_LATENCY, {"stat": "TM(10%:90%)"}], [*_LATENCY, {"stat": "tm90"}],
                [*_LATENCY, {"stat": "WM(5%:95%)"}], [*_LATENCY, {"stat": "IQM"}]]}),
    Exhibit("stats-sum-count", "Sum on the left axis, SampleCount on the right.",
            {"title": "Sum and SampleCount", "metrics": [[*_ALB, {"stat": "Sum"}],
                                                          [*_ALB, {"stat": "SampleCount", "yAxis": "right"}]]}),
    Exhibit("theme-dark", "`theme: dark`, with an annotation and the legend on the right.",
            {"title": "Dark theme", "theme": "dark", "legend": {"position": "right"},
             "metrics": [_CPU, ["...", "i-0e5f6a7b"]],
             "annotations": {"horizontal": [{"value": 80, "label": "busy", "fill": "above"}]}}),
    Exhibit("timezone-india", "`timezone: +0530`: the axis shows local time, 14:30–17:30 for 09:00–12:00 UTC.",
            {"title": "+0530", "timezone": "+0530", "metrics": [_CPU]}),
    Exhibit("timezone-pacific", "`timezone: -0800` over three UTC days: dates change at local midnight.",
            {"title": "-0800", "timezone": "-0800", "start": "2026-11-23T00:00:00Z", "end": "2026-11-26T00:00:00Z",
             "metrics": [_ALB]}),
    Exhibit("title-long", "A title longer than the widget is cut short with an ellipsis.",
            {"title": "Requests per load balancer in the production account, all regions, last three hours "
                      "(a title that does not fit)", "metrics": [_ALB]}),
    Exhibit("view-bar", "`view: bar`: each row's latest value.",
            {"title": "Bar", "view": "bar", "metrics": [_ALB, ["...", "app/api/3c4d"], ["...", "app/admin/5e6f"]]}),
    Exhibit("view-bar-range", "`view: bar` with `setPeriodToTimeRange` and Sum: totals over the window.",
            {"title": "Requests today", "view": "bar", "setPeriodToTimeRange": True, "stat": "Sum", **_DAY,
             "metrics": [_ALB, ["...", "app/api/3c4d"], ["...", "app/admin/5e6f"]]}),
    Exhibit("view-pie", "`view: pie`: shares, values in the legend.",
            {"title": "Pie", "view": "pie", "metrics": [_ALB, ["...", "app/api/3c4d"], ["...", "app/admin/5e6f"]]}),
    Exhibit("view-pie-labels", "`view: pie` with `labels.visible`: labels and shares on the chart.",
            {"title": "Pie with labels", "view": "pie", "labels": {"visible": True}, "legend": {"position": "hidden"},
             "setPeriodToTimeRange": True, "stat": "Sum",
             "metrics": [_ALB, ["...", "app/api/3c4d"], ["...", "app/admin/5e6f"]]}),
    Exhibit("view-single", "`view: singleValue`: latest values, one size for all, with units.",
            {"title": "Single values", "view": "singleValue",
             "metrics": [_ALB, _CPU, ["AWS/EC2", "NetworkIn", "InstanceId", "i-0a1b2c3d"]]}),
    Exhibit("view-single-sparkline", "`sparkline: true`: the window's shape under each value.",
            {"title": "With sparklines", "view": "singleValue", "sparkline": True, "height": 200,
             "metrics": [_ALB, _CPU, [*_LATENCY, {"stat": "p99"}]]}),
    Exhibit("view-single-trend", "`trend` (arrow for the last change) and `singleValueFullPrecision`.",
            {"title": "Trend, full precision", "view": "singleValue", "trend": True, "singleValueFullPrecision": True,
             "height": 160, "metrics": [_ALB, _CPU]}),
    Exhibit("view-gauge", "`view: gauge` on `yAxis.left` 0–100.",
            {"title": "Gauge", "view": "gauge", "yAxis": {"left": {"min": 0, "max": 100}}, "metrics": [_CPU]}),
    Exhibit("view-gauge-several", "Several gauges share the widget.",
            {"title": "Gauges", "view": "gauge", "yAxis": {"left": {"min": 0, "max": 100}}, "height": 220,
             "metrics": [_CPU, ["...", "i-0e5f6a7b"], ["...", "i-09c8d7e6"]]}),
    Exhibit("view-table", "`view: table`: a row per metric, the latest points that fit, the `summaryColumns`; "
            "annotations tint the cells they cover.",
            {"title": "Table", "view": "table", "period": 900, "metrics": [_CPU, ["...", "i-0e5f6a7b"],
                                                                         ["...", "i-09c8d7e6"]],
             "table": {"summaryColumns": ["MIN", "MAX", "AVG"]},
             "annotations": {"horizontal": [{"value": 45, "fill": "above", "color": "#d62728"},
                                            {"value": 30, "fill": "below", "color": "#2ca02c"}]}}),
    Exhibit("view-table-vertical", "`table.layout: vertical` without the points (`showTimeSeriesData: false`).",
            {"title": "Table, vertical, summary only", "view": "table", "height": 200,
             "table": {"layout": "vertical", "showTimeSeriesData": False,
                       "summaryColumns": ["MIN", "MAX", "SUM", "AVG"]},
             "metrics": [_ALB, ["...", "app/api/3c4d"], ["...", "app/admin/5e6f"]]}),
    Exhibit("yaxis-left", "`yAxis.left` min 0, max 200 and a `label`.",
            {"title": "Fixed left axis", "yAxis": {"left": {"min": 0, "max": 200, "label": "CPU %"}},
             "metrics": [_CPU]}),
    Exhibit("yaxis-right", "A row on the right axis; `showUnits: false` on the left, a `label` on the right.",
            {"title": "Two axes", "yAxis": {"left": {"showUnits": False}, "right": {"label": "Response time"}},
             "metrics": [_ALB, ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", "app/web/1a2b",
                                {"yAxis": "right"}]]}),
    Exhibit("dimensions", "Three dimension pairs, `.` in every position and `...`; the legend names the differences.",
            {"title": "Dimensions and shorthand", "metrics": [
                ["AWS/ApiGateway", "Count", "ApiName", "orders", "Stage", "prod", "Method", "GET"],
                [".", ".", ".", ".", ".", ".", ".", "POST"],
                ["...", "DELETE"],
                [".", "4XXError", ".", ".", ".", ".", ".", "GET", {"yAxis": "right"}]]}),
    Exhibit("row-options", "Row options: `color`, `label`, `stat`, `period`, a hidden row (`visible: false`).",
            {"title": "Row options", "metrics": [
                [*_CPU, {"color": "#000000", "label": "black, 1-minute Maximum", "stat": "Maximum", "period": 60}],
                ["...", "i-0e5f6a7b", {"label": "hidden", "visible": False}],
                ["...", "i-09c8d7e6", {"label": "second colour of the palette"}]]}),
    Exhibit("dynamic-labels", "Dynamic labels: ${PROP('Dim.InstanceId')}, ${AVG}, ${MAX}, ${MAX_TIME}, "
            "${DATAPOINT_COUNT}, ${PROP('Stat')}, ${LABEL}.",
            {"title": "Dynamic labels", "legend": {"position": "bottom"}, "metrics": [
                [*_CPU, {"label": "${PROP('Dim.InstanceId')}: avg ${AVG}, max ${MAX} at ${MAX_TIME}"}],
                ["...", "i-0e5f6a7b", {"label": "${LABEL} ${PROP('Stat')} over ${DATAPOINT_COUNT} points "
                                                "(${PROP('Period')} s)"}]]}),
    Exhibit("math", "The structure page's example: p50 and Average of one metric, and the expression (m1+m2)/2.",
            {"title": "Metric math", "metrics": [
                ["AWS/ApiGateway", "Latency", "ApiName", "orders",
                 {"id": "m1", "stat": "p50", "label": "Median value", "color": "#dddddd"}],
                [".", ".", ".", ".", {"id": "m2", "stat": "Average", "label": "Average value", "color": "#cccccc"}],
                [{"expression": "(m1+m2)/2", "id": "e1", "label": "Half way between average and median",
                  "color": "#000000"}]]}),
    Exhibit("math-hidden-inputs", "An error rate from two hidden rows; its unit is none, so the axis has no title.",
            {"title": "5XX rate (%)", **_DAY, "metrics": [
                [{"expression": "100 * errors / requests", "label": "5XX rate", "id": "rate"}],
                ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", "app/web/1a2b",
                 {"id": "errors", "stat": "Sum", "visible": False}],
                [".", "RequestCount", ".", ".", {"id": "requests", "stat": "Sum", "visible": False}]]}),
    Exhibit("math-metrics-sum", "`SUM(METRICS())`: the total of the three load balancers above their own lines.",
            {"title": "Total requests", "stat": "Sum", "metrics": [
                [{"expression": "SUM(METRICS())", "label": "All load balancers", "id": "total"}],
                [*_ALB, {"id": "web"}], ["...", "app/api/3c4d", {"id": "api"}],
                ["...", "app/admin/5e6f", {"id": "admin"}]]}),
    Exhibit("math-if-fill", "`IF(cpu > 41, requests)` (black, drawn last) has no points while the CPU is lower: "
            "its line breaks there, and a point alone between two gaps is a dot. Under it `FILL` fills the gaps "
            "with 1000, the last value before (`REPEAT`), a straight line (`LINEAR`).",
            {"title": "IF and FILL", "metrics": [
                [*_CPU, {"id": "cpu", "visible": False}], [*_ALB, {"id": "requests", "visible": False}],
                [{"expression": "FILL(busy, 1000)", "label": "FILL(busy, 1000)", "id": "value"}],
                [{"expression": "FILL(busy, REPEAT)", "label": "FILL(busy, REPEAT)", "id": "repeat"}],
                [{"expression": "FILL(busy, LINEAR)", "label": "FILL(busy, LINEAR)", "id": "linear"}],
                [{"expression": "IF(cpu > 41, requests)", "label": "IF(cpu > 41, requests)", "id": "busy",
                  "color": "#000000"}]]}),
    Exhibit("math-rate-running-sum", "`RUNNING_SUM` of the requests, and its `RATE` of change per second on the "
            "right axis: the requests per second again.",
            {"title": "RUNNING_SUM and RATE", "stat": "Sum", "metrics": [
                [*_ALB, {"id": "requests", "visible": False}],
                [{"expression": "RUNNING_SUM(requests)", "label": "requests so far", "id": "total"}],
                [{"expression": "RATE(total)", "label": "RATE(total)", "id": "rate", "yAxis": "right"}]]}),
    Exhibit("math-anomaly-band", "`ANOMALY_DETECTION_BAND(m1, 2)`: a shaded band two deviations wide.",
            {"title": "Anomaly detection band", "start": "-P2D", "period": 900, "metrics": [
                [*_ALB, {"id": "m1"}],
                [{"expression": "ANOMALY_DETECTION_BAND(m1, 2)", "label": "expected", "id": "band"}]]}),
    Exhibit("stored-search", "Stored data (`local seed`): `SEARCH` finds every instance's CPUUtilization in the "
            "store and draws one line each.", {"title": "SEARCH over the store", "metrics": [
                [{"expression": "SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"', 'Average', 300)",
                  "id": "cpu"}]]}, stored=True),
    Exhibit("stored-percentiles", "Stored data: p50, p90, p99 and TM(10%:90%) of the load balancer's seeded "
            "response times, computed from the stored samples.", {"title": "Response time from the store", "metrics": [
                [*_SEEDED_LATENCY, {"stat": "p99"}], [*_SEEDED_LATENCY, {"stat": "p90"}],
                [*_SEEDED_LATENCY, {"stat": "TM(10%:90%)"}], [*_SEEDED_LATENCY, {"stat": "p50"}]]}, stored=True),
    Exhibit("annotations-horizontal", "Horizontal annotations: a line with `fill: above`, one with `fill: below`, a "
            "band; labels and colours.",
            {"title": "Horizontal annotations", "metrics": [_CPU], "annotations": {"horizontal": [
                {"value": 80, "label": "critical", "fill": "above"},
                {"value": 10, "label": "idle", "fill": "below", "color": "#7f7f7f"},
                [{"value": 30, "label": "normal from", "color": "#2ca02c"}, {"value": 60, "label": "normal to"}]]}}),
    Exhibit("annotations-right-axis", "The structure page's annotation examples, scaled to this metric: "
            "`Critical range` shaded above, and a band, both on the right axis.",
            {"title": "Annotations on the right axis", "metrics": [
                _ALB, ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", "app/web/1a2b", {"yAxis": "right"}]],
             "annotations": {"horizontal": [
                 {"visible": True, "color": "#9467bd", "label": "Critical range", "value": 0.3, "fill": "above",
                  "yAxis": "right"},
                 [{"label": "Band top", "value": 0.2, "color": "#2ca02c", "yAxis": "right"},
                  {"value": 0.15, "label": "Band bottom"}]]}}),
    Exhibit("annotations-vertical", "Vertical annotations: a line with `fill: after` and a band, with labels.",
            {"title": "Vertical annotations", "metrics": [_ALB], "annotations": {"vertical": [
                {"color": "#9467bd", "label": "Bug fix deployed", "value": "2026-11-26T11:00:00Z", "fill": "after"},
                [{"label": "Band start", "value": "2026-11-26T09:40:00Z", "color": "#ff7f0e"},
                 {"value": "2026-11-26T10:10:00Z", "label": "Band end"}]]}}),
    Exhibit("annotations-grow-axis", "A visible annotation at 250 grows the y range; a hidden one at 1000 does not.",
            {"title": "Annotations stretch the axis", "metrics": [_CPU], "annotations": {"horizontal": [
                {"value": 250, "label": "quota"}, {"value": 1000, "label": "hidden", "visible": False}]}}),
    Exhibit("missing-data", "A row without data points: the orange warning triangle after its legend entry.",
            {"title": "One row has no data", "metrics": [_CPU, _NODATA]}),
    Exhibit("no-data", "Nothing has data: \"No data available.\" instead of an error.",
            {"title": "No data", "metrics": [_NODATA]}),
    Exhibit("no-data-single", "`view: singleValue` with nothing to show.",
            {"title": "No data (single value)", "view": "singleValue", "height": 160, "metrics": [_NODATA]}),
    Exhibit("hundred-metrics", "100 rows, the most a widget takes: the legend shows what fits and counts the rest.",
            {"title": "100 metrics", "height": 500, "metrics": [_CPU] + [["...", f"i-{n:08x}"] for n in range(99)]}),
    Exhibit("doc-disk-read-bytes", "The structure page's row examples: DiskReadBytes of three instances on the "
            "right axis, with `.`.",
            {"title": "DiskReadBytes", "metrics": [
                ["AWS/EC2", "DiskReadBytes", "InstanceId", "i-01234567890123456", {"yAxis": "right"}],
                [".", ".", ".", "i-abc", {"yAxis": "right"}], [".", ".", ".", "i-123", {"yAxis": "right"}]]}),
)


def render_exhibit(exhibit: Exhibit) -> bytes:
    """The exhibit's PNG, drawn as the stand-in would draw it at ``NOW``."""
    widget = parse_widget(json.dumps(exhibit.widget), now=NOW)
    if not exhibit.stored:
        return render_png(widget)
    operations = _seeded()
    return render_png(widget, operations.widget_series(widget), search=operations.widget_search(widget))


@cache
def _seeded() -> Operations:
    """The seeded estate's last day before ``NOW``, in memory: enough for every stored exhibit's window."""
    store = MetricStore()
    seed(store, NOW - timedelta(days=1), NOW, published=NOW.timestamp())
    return Operations(store, clock=NOW.timestamp)


def contact_sheet(pictures: Sequence[tuple[Exhibit, bytes | str]]) -> bytes:
    """A4 pages of the pictures, two to a row, each over its name and caption; a str is a failure to show."""
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader, simpleSplit
    from reportlab.pdfgen.canvas import Canvas

    rl_config.useA85 = 0
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    canvas.setTitle("reportgen stand-in gallery")
    page_width, page_height = (float(side) for side in A4)
    margin, gutter, columns, most = 36.0, 14.0, 3, 150.0
    width = (page_width - 2 * margin - gutter * (columns - 1)) / columns

    def header() -> float:
        canvas.setFont("Helvetica-Bold", 13)
        canvas.drawString(margin, page_height - margin - 10, "reportgen local stand-in: MetricWidget gallery")
        canvas.setFont("Helvetica", 8)
        canvas.drawRightString(page_width - margin, page_height - margin - 10,
                               f"{len(pictures)} widgets drawn at {NOW:%Y-%m-%d %H:%M} UTC")
        return page_height - margin - 28

    top = header()
    for start in range(0, len(pictures), columns):
        row = pictures[start:start + columns]
        cells = []
        for exhibit, picture in row:
            if isinstance(picture, bytes):
                reader = ImageReader(io.BytesIO(picture))
                pixels_wide, pixels_high = reader.getSize()
                size = draw_size(pixels_wide, pixels_high, width, most)
            else:
                reader, size = None, (width, 60.0)
            caption = simpleSplit(exhibit.caption, "Helvetica", 7, width)
            cells.append((exhibit, picture, reader, size, caption))
        height = max(size[1] + 14 + 9 * len(caption) for _, _, _, size, caption in cells)
        if top - height < margin:
            canvas.showPage()
            top = header()
        for column, (exhibit, picture, reader, size, caption) in enumerate(cells):
            left = margin + column * (width + gutter)
            image_bottom = top - size[1]
            if reader is not None:
                canvas.drawImage(reader, left, image_bottom, *size)
                canvas.setStrokeColorRGB(0.8, 0.82, 0.85)
                canvas.rect(left, image_bottom, *size, stroke=1, fill=0)
            else:
                canvas.setStrokeColorRGB(0.85, 0.2, 0.2)
                canvas.rect(left, image_bottom, *size, stroke=1, fill=0)
                canvas.setFont("Helvetica", 7)
                for number, line in enumerate(simpleSplit(str(picture), "Helvetica", 7, width - 8)[:6]):
                    canvas.drawString(left + 4, top - 12 - 9 * number, line)
            canvas.setFillColorRGB(0, 0, 0)
            canvas.setFont("Helvetica-Bold", 8)
            canvas.drawString(left, image_bottom - 11, f"{exhibit.name}.png")
            canvas.setFont("Helvetica", 7)
            for number, line in enumerate(caption):
                canvas.drawString(left, image_bottom - 21 - 9 * number, line)
        top -= height + gutter
    canvas.save()
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    """Render every exhibit into the output folder, then the contact sheet; 1 if any exhibit failed."""
    parser = argparse.ArgumentParser(prog="python -m reportgen.local.gallery", description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, metavar="OUT_DIR",
                        help="folder for the PNGs and contact-sheet.pdf (created if missing)")
    out: Path = parser.parse_args(argv).out
    pictures: list[tuple[Exhibit, bytes | str]] = []
    for exhibit in EXHIBITS:
        try:
            png = render_exhibit(exhibit)
        except Exception as exc:  # the gallery shows every failure instead of stopping at the first
            print(f"ERROR {exhibit.name}: {exc}", file=sys.stderr)
            pictures.append((exhibit, f"{type(exc).__name__}: {exc}"))
            continue
        write_atomic(out / f"{exhibit.name}.png", png)
        pictures.append((exhibit, png))
    write_atomic(out / SHEET, contact_sheet(pictures))
    failed = sum(isinstance(picture, str) for _, picture in pictures)
    print(f"{len(pictures) - failed} pictures and {SHEET} in {out}" + (f"; {failed} failed" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
