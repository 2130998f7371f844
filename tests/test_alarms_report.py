"""An `alarms:` section end to end: a store seeded with the demo estate and its alarms, `reportgen run`
against the stand-in, and the PDF's table read back and compared with the history the stand-in holds."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from pypdf import PdfReader

from reportgen.cli import EXIT_OK, main
from reportgen.local import BackgroundStandIn
from reportgen.local.seed import ALARMS, seed
from reportgen.local.store import MetricStore

DAYS = 3


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundStandIn]:
    path = tmp_path_factory.mktemp("estate") / "estate.sqlite"
    now = datetime.now(UTC)
    store = MetricStore(str(path))
    seed(store, now - timedelta(days=DAYS), now, published=now.timestamp())
    store.close()
    with BackgroundStandIn(workers=1, data=str(path)) as standin:
        yield standin


def history_alarm_episodes(endpoint_url: str, start: datetime, end: datetime) -> Counter[str]:
    """How often each alarm went into ALARM in [start, end), from DescribeAlarmHistory asked directly."""
    client = boto3.client("cloudwatch", endpoint_url=endpoint_url, region_name="eu-central-1",
                          aws_access_key_id="direct", aws_secret_access_key="x")
    went: Counter[str] = Counter()
    for page in client.get_paginator("describe_alarm_history").paginate(
            HistoryItemType="StateUpdate", StartDate=start, EndDate=end):
        for item in page["AlarmHistoryItems"]:
            if "to ALARM" in item["HistorySummary"]:
                went[item["AlarmName"]] += 1
    return went


def test_the_alarms_table_holds_the_history_the_stand_in_keeps(estate: BackgroundStandIn, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "alarms.yaml"
    spec.write_text("""\
report: alarms
title: Alarms
timezone: UTC
period: {start: -P2D}
aws: {region: eu-central-1, profile: ops}
sections:
  - title: What went off
    widgets:
      - alarms: true
      - title: Web CPU against its alarm
        metrics: [[AWS/EC2, CPUUtilization, AutoScalingGroupName, prod-web-asg, {stat: Maximum}]]
        annotations: {alarms: ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:prod-web-cpu-high"]}
""")
    code = main(["run", str(spec), "--out", str(tmp_path), "-q", "--no-deliver", "--endpoint-url", estate.endpoint_url])
    assert code == EXIT_OK, capsys.readouterr().err
    (pdf,) = tmp_path.glob("alarms-*.pdf")
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(pdf).pages)
    table = text[text.index("Alarms that went off"):]
    # Each alarm is one row: its name, when it last went off, how long, how many times, and the reason.
    rows = dict(re.findall(r"(\S+) \w{3} \d\d \w{3} \d\d:\d\d \d+ (?:h \d\d )?min(?:, still in ALARM)? (\d+) "
                           r"Threshold Crossed", table))
    names = {str(params["AlarmName"]) for params in ALARMS}
    assert rows and set(rows) <= names
    end = datetime.now(UTC)
    went = history_alarm_episodes(estate.endpoint_url, end - timedelta(days=2, minutes=10), end)
    for name, times in rows.items():
        # An episode that began before the period counts too, so the table may say one more.
        assert went[name] <= int(times) <= went[name] + 1, (name, times, went)
    assert {name for name, count in went.items() if count} <= set(rows)

