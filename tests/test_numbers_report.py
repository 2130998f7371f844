"""The numbers behind each chart, end to end: `reportgen run --csv` against the stand-in, the PDF's table and
summary and the CSV files read back, and compared with what the stand-in's GetMetricData answers when asked
the same question directly."""

from __future__ import annotations

import csv
import re
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from pypdf import PdfReader

from reportgen.cli import EXIT_OK, main
from reportgen.local import BackgroundStandIn
from reportgen.numbertables import change, format_change, format_number

ZONE = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 25, tzinfo=ZONE)  # the report date is the 26th and the period `yesterday`
END = datetime(2026, 11, 26, tzinfo=ZONE)

SPEC = """\
report: numbers
title: Numbers
timezone: Europe/Berlin
period: yesterday
aws: {region: us-east-1, profile: numbers}
table: true
summary: true
deliver: {archive: false}
sections:
  - title: Compute
    widgets:
      - title: CPU
        period: 300
        stat: Average
        metrics:
          - [AWS/EC2, CPUUtilization, InstanceId, i-1, {id: m1, label: web-1}]
          - [{expression: "m1 * 2", id: e1, label: doubled}]
      - title: Requests
        stat: Sum
        metrics:
          - [AWS/ApplicationELB, RequestCount, LoadBalancer, app/web/1, {label: requests}]
"""


def asked_directly(endpoint_url: str, start: datetime, end: datetime) -> dict[str, tuple[list[datetime], list[float]]]:
    """The series of the spec's widgets, from a GetMetricData call of our own."""
    client = boto3.client("cloudwatch", endpoint_url=endpoint_url, region_name="us-east-1",
                          aws_access_key_id="direct", aws_secret_access_key="direct")
    metric = {"Namespace": "AWS/EC2", "MetricName": "CPUUtilization", "Dimensions": [{"Name": "InstanceId",
                                                                                     "Value": "i-1"}]}
    requests = {"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount",
                "Dimensions": [{"Name": "LoadBalancer", "Value": "app/web/1"}]}
    answer = client.get_metric_data(StartTime=start, EndTime=end, ScanBy="TimestampAscending", MetricDataQueries=[
        {"Id": "m1", "MetricStat": {"Metric": metric, "Period": 300, "Stat": "Average"}},
        {"Id": "e1", "Expression": "m1 * 2"},
        {"Id": "r", "MetricStat": {"Metric": requests, "Period": 300, "Stat": "Sum"}},
    ])
    return {result["Id"]: (result["Timestamps"], result["Values"]) for result in answer["MetricDataResults"]}


def table_row(label: str, unit: str, timestamps: list[datetime], values: list[float]) -> str:
    top = max(values)
    at = timestamps[values.index(top)].astimezone(ZONE)
    cells = [min(values), statistics.fmean(values), top, values[-1]]
    return " ".join([label, unit, *(format_number(v) for v in cells), f"{at:%H:%M}"]).replace("  ", " ")


@pytest.fixture
def run(tmp_path: Path, standin: BackgroundStandIn) -> tuple[Path, str]:
    spec = tmp_path / "numbers.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    assert main(["run", str(spec), "--date", "2026-11-26", "--out", str(out), "--csv", "-q", "--no-deliver",
                 "--endpoint-url", standin.endpoint_url]) == EXIT_OK
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(out / "numbers-2026-11-26.pdf").pages)
    return out, text


def test_the_tables_hold_what_get_metric_data_answers(run: tuple[Path, str], standin: BackgroundStandIn) -> None:
    _, text = run
    series = asked_directly(standin.endpoint_url, START, END)
    timestamps, values = series["m1"]
    assert len(values) == 288  # a day of five-minute points
    assert table_row("web-1", "Percent", timestamps, values) in text
    assert table_row("doubled", "", *series["e1"]) in text  # math has no unit
    assert table_row("requests", "Count", *series["r"]) in text


def test_the_summary_compares_with_the_day_before(run: tuple[Path, str], standin: BackgroundStandIn) -> None:
    _, text = run
    now, before = asked_directly(standin.endpoint_url, START, END), asked_directly(
        standin.endpoint_url, START - timedelta(days=1), START)
    summary = text[text.index("All series"):text.index("Compute")]
    for label, key in (("web-1", "m1"), ("requests", "r")):
        average, previous = statistics.fmean(now[key][1]), statistics.fmean(before[key][1])
        top, previous_top = max(now[key][1]), max(before[key][1])
        row = " ".join([format_number(average), format_number(previous), format_change(change(average, previous)),
                        format_number(top), format_number(previous_top), format_change(change(top, previous_top))])
        assert f"{label} {row}" in summary


def test_csv_beside_the_pdf(run: tuple[Path, str], standin: BackgroundStandIn) -> None:
    out, _ = run
    series = asked_directly(standin.endpoint_url, START, END)
    with (out / "numbers-2026-11-26.csv").open(encoding="utf-8-sig", newline="") as file:
        rows = {row["series"]: row for row in csv.DictReader(file)}
    assert set(rows) == {"web-1", "doubled", "requests"}
    assert float(rows["web-1"]["average"]) == pytest.approx(statistics.fmean(series["m1"][1]), rel=1e-12)
    assert float(rows["requests"]["max"]) == max(series["r"][1])
    assert rows["web-1"]["section"] == "Compute" and rows["web-1"]["widget"] == "CPU"
    with (out / "numbers-2026-11-26.series.csv").open(encoding="utf-8-sig", newline="") as file:
        table: list[dict[str, Any]] = list(csv.DictReader(file))
    assert len(table) == 288
    first = datetime.fromisoformat(table[0]["timestamp"])
    assert first == START and first.utcoffset() == timedelta(hours=1)  # in the report's zone
    column = next(name for name in table[0] if name.endswith("web-1"))
    assert [float(row[column]) for row in table] == pytest.approx(series["m1"][1], rel=1e-12)
    assert re.fullmatch(r"Compute / CPU / web-1", column)
    assert series["m1"][0][0] == START.astimezone(UTC)
