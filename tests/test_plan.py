"""The request plan: the exact MetricWidget JSON sent per widget, on fixed dates."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from reportgen.errors import SpecError
from reportgen.model import MAX_WIDGET_JSON_BYTES, ReportSpec
from reportgen.plan import make_plan
from reportgen.spec import load_spec, load_specs, widget_json

NIGHTLY = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)  # 02:30 in Berlin, the cron run for 26 Nov


@pytest.fixture
def make_spec(tmp_path: Path) -> Callable[[str], ReportSpec]:
    def make(text: str) -> ReportSpec:
        path = tmp_path / "spec.yaml"
        path.write_text(text, encoding="utf-8")
        return load_spec(path)
    return make


def sent(plan_widget_json: str) -> dict[str, Any]:
    return json.loads(plan_widget_json)


DAILY = """\
report: daily
title: Daily
timezone: Europe/Berlin
period: yesterday
sections:
  - title: Compute
    widgets:
      - title: CPU
        metrics: [[AWS/EC2, CPUUtilization, InstanceId, i-1]]
      - metrics: [[AWS/Lambda, Errors, FunctionName, f]]
        width: 1000
  - title: Own range
    widgets:
      - title: Last 3 hours
        start: -PT3H
        timezone: "+0000"
        metrics: [[AWS/SQS, ApproximateAgeOfOldestMessage, QueueName, q]]
"""


def test_every_widget_becomes_one_request_in_order(make_spec):
    plan = make_plan(make_spec(DAILY), date(2026, 11, 26), NIGHTLY)
    assert [(w.report_id, w.section, w.index, w.title) for w in plan.widgets] == [
        ("daily", 0, 0, "CPU"), ("daily", 0, 1, "Errors"), ("daily", 1, 0, "Last 3 hours")]
    assert plan.output_name == "daily-2026-11-26.pdf"
    assert plan.window.label() == "Wed 25 Nov 2026 00:00 – Thu 26 Nov 2026 00:00 (Europe/Berlin, UTC+01:00)"


def test_window_start_end_and_offset_are_filled_in(make_spec):
    cpu = make_plan(make_spec(DAILY), date(2026, 11, 26), NIGHTLY).widgets[0]
    assert sent(cpu.metric_widget) == {
        "start": "2026-11-24T23:00:00Z",
        "end": "2026-11-25T23:00:00Z",
        "timezone": "+0100",
        "width": 600,
        "height": 400,
        "title": "CPU",
        "metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"]],
    }
    assert (cpu.width, cpu.height) == (600, 400)


def test_json_is_compact(make_spec):
    text = make_plan(make_spec(DAILY), date(2026, 11, 26), NIGHTLY).widgets[0].metric_widget
    assert text == json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
    assert ": " not in text and ", " not in text


def test_derived_title_and_explicit_width_are_sent(make_spec):
    errors = make_plan(make_spec(DAILY), date(2026, 11, 26), NIGHTLY).widgets[1]
    body = sent(errors.metric_widget)
    assert (body["title"], body["width"], body["height"]) == ("Errors", 1000, 400)
    assert (errors.width, errors.height) == (1000, 400)


def test_a_widget_with_its_own_range_and_timezone_keeps_them(make_spec):
    own = sent(make_plan(make_spec(DAILY), date(2026, 11, 26), NIGHTLY).widgets[2].metric_widget)
    assert own["start"] == "-PT3H" and "end" not in own
    assert own["timezone"] == "+0000"


@pytest.mark.parametrize(("written", "offset"), [
    ("Local", "+0100"), ("local", "+0100"), ("browser", "+0100"),  # the report's zone: Berlin in November
    ("UTC", "+0000"), ("-0530", "-0530"),
])
def test_a_timezone_word_is_sent_as_the_offset_it_stands_for(make_spec, written, offset):
    spec = make_spec(DAILY.replace('timezone: "+0000"', f'timezone: "{written}"'))
    summer = make_plan(spec, date(2026, 7, 15), NIGHTLY)
    plan = make_plan(spec, date(2026, 11, 26), NIGHTLY)
    assert sent(plan.widgets[2].metric_widget)["timezone"] == offset
    if written.lower() in ("local", "browser"):
        assert sent(summer.widgets[2].metric_widget)["timezone"] == "+0200"  # the offset of that report's window


@pytest.mark.parametrize(("day", "start", "end", "offset"), [
    (date(2026, 7, 15), "2026-07-13T22:00:00Z", "2026-07-14T22:00:00Z", "+0200"),
    # The day summer time ends is 25 hours; CloudWatch gets the offset in force at the window's end.
    (date(2026, 10, 26), "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", "+0100"),
    (date(2026, 3, 30), "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", "+0200"),
])
def test_dst_days(make_spec, day, start, end, offset):
    body = sent(make_plan(make_spec(DAILY), day, NIGHTLY).widgets[0].metric_widget)
    assert (body["start"], body["end"], body["timezone"]) == (start, end, offset)


def test_defaults_size_the_widgets(make_spec):
    spec = make_spec(DAILY.replace("sections:", "defaults: {width: 900, height: 450}\nsections:", 1))
    requests = make_plan(spec, date(2026, 11, 26), NIGHTLY).widgets
    assert [(w.width, w.height) for w in requests] == [(900, 450), (1000, 450), (900, 450)]


def test_rolling_window_ends_now_to_the_second(make_spec):
    spec = make_spec(DAILY.replace("period: yesterday", "period: last_24h"))
    body = sent(make_plan(spec, date(2026, 11, 26), datetime(2026, 11, 26, 1, 30, 27, 999999, tzinfo=UTC))
                .widgets[0].metric_widget)
    assert (body["start"], body["end"]) == ("2026-11-25T01:30:27Z", "2026-11-26T01:30:27Z")


@pytest.mark.parametrize(("period", "line"), [
    ("period: {start: '2026-11-27T00:00', end: -PT1H}", 4),
    ("period:\n  end: -PT1H\n  start: '2026-11-27T00:00'", 6),  # the line of the `start` that is too late
    ("period: today", 4),  # the report date, 27 Nov, has not begun
])
def test_an_unresolvable_period_is_a_spec_error_at_its_line(make_spec, period, line):
    spec = make_spec(DAILY.replace("period: yesterday", period))
    with pytest.raises(SpecError, match="`period`: the period is empty") as caught:
        make_plan(spec, date(2026, 11, 27), NIGHTLY)
    assert (caught.value.file, caught.value.line, caught.value.key) == (spec.path, line, "period")
    assert str(caught.value).startswith(f"{spec.path}:{line}: `period`: ")


@pytest.mark.parametrize(("own", "expected"), [
    # Naive date/times mean the report's local time, as under `period:`, and are sent as UTC.
    ({"start": "2026-11-20T08:00"}, {"start": "2026-11-20T07:00:00Z"}),
    ({"start": "2026-07-20T08:00:00", "end": "2026-07-21"}, {"start": "2026-07-20T06:00:00Z",
                                                            "end": "2026-07-20T22:00:00Z"}),
    # An offset, or a duration (which CloudWatch counts from now), is sent as written.
    ({"start": "2026-11-20T08:00:00+05:30", "end": "2026-11-20T18:00:00Z"},
     {"start": "2026-11-20T08:00:00+05:30", "end": "2026-11-20T18:00:00Z"}),
    ({"start": "-PT3H", "end": "2026-11-20T18:00"}, {"start": "-PT3H", "end": "2026-11-20T17:00:00Z"}),
])
def test_a_widgets_own_naive_times_are_local_to_the_report(make_spec, own, expected):
    range_keys = "".join(f"        {key}: '{value}'\n" for key, value in own.items())
    spec = make_spec(DAILY.replace("        metrics: [[AWS/EC2", range_keys + "        metrics: [[AWS/EC2", 1))
    body = sent(make_plan(spec, date(2026, 11, 26), NIGHTLY).widgets[0].metric_widget)
    assert {key: body.get(key) for key in ("start", "end")} == {"start": None, "end": None, **expected}
    assert body["timezone"] == "+0100"  # the report's offset, as for any widget


def test_json_that_outgrows_100_kb_once_filled_in_is_refused_with_the_widget_line(make_spec):
    template = DAILY.replace("title: CPU", "title: {title}")
    spec = make_spec(template.format(title="x"))
    loaded_size = len(widget_json(spec.sections[0].widgets[0].source, file=spec.path, line=None).encode())
    # Just under the limit when loaded; the window, offset and size the plan adds push it over.
    spec = make_spec(template.format(title="x" * (MAX_WIDGET_JSON_BYTES - loaded_size - 20)))
    with pytest.raises(SpecError, match="CloudWatch accepts at most 102,400") as caught:
        make_plan(spec, date(2026, 11, 26), NIGHTLY)
    assert caught.value.line == 8


def test_plans_are_picklable(make_spec):
    plan = make_plan(make_spec(DAILY), date(2026, 11, 26), NIGHTLY)
    assert pickle.loads(pickle.dumps(plan)) == plan


def test_the_shipped_examples_plan_cleanly(examples_dir: Path) -> None:
    for spec in load_specs([examples_dir]):
        plan = make_plan(spec, date(2026, 11, 26), NIGHTLY)
        assert len(plan.widgets) == spec.widget_count
        for request in plan.widgets:
            body = sent(request.metric_widget)
            assert {"start", "end", "timezone", "title", "width", "height", "metrics"} <= set(body)
            assert len(request.metric_widget.encode()) < MAX_WIDGET_JSON_BYTES
    weekly = make_plan(load_spec(examples_dir / "weekly-service-review.yaml"), date(2026, 11, 23), NIGHTLY)
    assert weekly.window.label() == "Mon 16 Nov 2026 00:00 – Mon 23 Nov 2026 00:00 (America/New_York, UTC-05:00)"
