"""Loading report specs: every error names FILE:LINE and the key; the shipped examples load cleanly."""

from __future__ import annotations

import json
import os
import pickle
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reportgen.errors import SpecError
from reportgen.model import MAX_WIDGET_JSON_BYTES, AwsTarget, Layout, Period
from reportgen.spec import load_spec, load_specs

HEAD = "report: t\ntitle: T\n"                        # lines 1-2
BODY = "sections:\n  - title: S\n    widgets:\n"      # three lines; the first widget follows
ROW = "      - metrics: [[AWS/EC2, CPUUtilization]]\n"


def spec(top: str = "", widget: str = ROW) -> str:
    """A minimal valid spec with ``top`` inserted at line 3 and ``widget`` as the only widget."""
    return HEAD + top + BODY + widget


def widget(*lines: str) -> str:
    """A widget item at line N (N = 6 + lines in ``top``) with its keys on the following lines."""
    return "      - " + "\n        ".join(lines) + "\n"


WriteSpec = Callable[..., Path]


@pytest.fixture
def write_spec(tmp_path: Path) -> WriteSpec:
    def write(text: str, name: str = "spec.yaml", folder: Path = tmp_path) -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path
    return write


def many_rows(count: int) -> str:
    return "metrics:\n" + "".join(f"          - [AWS/EC2, CPUUtilization, InstanceId, i-{n:017x}]\n"
                                  for n in range(count))


ERRORS = [
    # --- the file as a whole
    pytest.param("", "the report spec is empty", 1, id="empty"),
    pytest.param("# nothing here\n", "the report spec is empty", 1, id="only-comments"),
    pytest.param("- a\n- b\n", "must be a mapping (report:, title:, sections:, …), not a list", 1, id="top-list"),
    pytest.param("report: t\n  title: x\n", "invalid YAML: mapping values are not allowed here", 2, id="yaml-indent"),
    pytest.param("report: t\ntitle: [unclosed\nsections: []\n",
                 "invalid YAML: while parsing a flow sequence: expected ',' or ']', but got ':'", 3,
                 id="yaml-unclosed"),
    pytest.param("report: t\ntitle: x\nperiod:\n  start: 2026-02-30\n",
                 "invalid YAML: '2026-02-30' is not a valid timestamp: day is out of range for month", 4,
                 id="impossible-date"),
    pytest.param("report: t\ntitle: !!int twelve\n", "invalid YAML: 'twelve' is not a valid int", 2,
                 id="explicit-tag-mismatch"),
    pytest.param("report: !!python/object/apply:os.system ['echo pwned']\n",
                 "could not determine a constructor", 1, id="python-tag-refused"),
    pytest.param(HEAD + "title: U\n" + BODY + ROW, "`title` appears twice in the same mapping (first on line 2)", 3,
                 id="duplicate-key"),
    # --- top level
    pytest.param(spec("titel: x\n"), "`titel` is not a report spec key; did you mean `title`?", 3, id="unknown-top"),
    pytest.param(spec("1: x\n"), "`1` is not a report spec key", 3, id="non-string-key"),
    pytest.param("title: T\n" + BODY + ROW, "the report spec needs `report`", 1, id="missing-report"),
    pytest.param("report: t\n" + BODY + ROW, "the report spec needs `title`", 1, id="missing-title"),
    pytest.param(HEAD, "the report spec needs `sections`", 1, id="missing-sections"),
    pytest.param("report: Daily_Ops\ntitle: T\n" + BODY + ROW, "`report` must be 1-64 lowercase letters", 1,
                 id="bad-id"),
    pytest.param("report: 1st\ntitle: T\n" + BODY + ROW, "starting with a letter", 1, id="id-digit-first"),
    pytest.param(f"report: {'a' * 65}\ntitle: T\n" + BODY + ROW, "1-64 lowercase", 1, id="id-too-long"),
    pytest.param("report: t\ntitle: 2026\n" + BODY + ROW, "`title` must be a string, not an integer (2026)", 2,
                 id="title-number"),
    pytest.param(spec("description: [a, b]\n"), "`description` must be a string, not a list", 3, id="description"),
    pytest.param(spec("timezone: Europe/Berln\n"),
                 "`Europe/Berln` is not a known IANA time zone; did you mean `Europe/Berlin`?", 3, id="timezone"),
    pytest.param(spec("timezone: localtime\n"), "`localtime` is not a known IANA time zone", 3,
                 id="timezone-not-portable"),
    pytest.param(spec("timezone: 1\n"), "`timezone` must be a string, not an integer (1)", 3, id="timezone-type"),
    # --- period
    pytest.param(spec("period: yesturday\n"), "`yesturday` is not a report period; use one of yesterday, today",
                 3, id="period-keyword"),
    pytest.param(spec("period: yesturday\n"), "did you mean `yesterday`?", 3, id="period-did-you-mean"),
    pytest.param(spec("period: 7\n"), "`period` must be a period keyword or a {start: …, end: …} mapping, "
                 "not an integer (7)", 3, id="period-type"),
    pytest.param(spec("period: {start: last tuesday}\n"), "`start`: 'last tuesday' is neither an ISO 8601 date/time",
                 3, id="period-start-unparsable"),
    pytest.param(spec("period:\n  start: -P1D\n  end: -P1M\n"), "not an ISO 8601 duration", 5,
                 id="period-months-refused"),
    pytest.param(spec("period:\n  start: 2026-11-02T00:00:00\n  end: 2026-11-01T00:00:00\n"),
                 "the period's `start` (2026-11-02T00:00:00) must be before its `end` (2026-11-01T00:00:00)", 4,
                 id="period-start-after-end"),
    pytest.param(spec("period: {start: '2026-11-01T10:00:00+01:00', end: '2026-11-01T09:00:00Z'}\n"),
                 "must be before its `end`", 3, id="period-equal-instants"),
    pytest.param(spec("period: {end: -PT1H}\n"), "the period needs `start`", 3, id="period-missing-start"),
    pytest.param(spec("period:\n  end: 2026-01-01T00:00\n  start: P1D\n"),
                 "the period's `start` (P1D) counts back from its `end` and must be a negative duration", 5,
                 id="period-start-positive-duration"),
    pytest.param(spec("period: {start: -P1D, ende: -PT1H}\n"), "`ende` is not a period key; did you mean `end`?", 3,
                 id="period-unknown-key"),
    # --- aws and layout
    pytest.param(spec("aws:\n  region: us-east-1\n  profil: x\n"),
                 "`profil` is not an aws key; did you mean `profile`?", 5, id="aws-unknown"),
    pytest.param(spec("aws:\n"), "`aws` must be a mapping of aws keys, not empty (null)", 3, id="aws-null"),
    pytest.param(spec("aws: {region: us-east1}\n"), "`region` must be an AWS region such as us-east-1, not `us-east1`",
                 3, id="aws-region"),
    pytest.param(spec("aws: {rate_limit: true}\n"), "`rate_limit` must be a number, not a boolean (true)", 3,
                 id="rate-limit-bool"),
    pytest.param(spec("aws: {rate_limit: '20'}\n"), "`rate_limit` must be a number, not a string (\"20\")", 3,
                 id="rate-limit-string"),
    pytest.param(spec("aws: {rate_limit: 0}\n"), "must be above 0 and at most 1000", 3, id="rate-limit-zero"),
    pytest.param(spec("aws: {rate_limit: 1001}\n"), "must be above 0 and at most 1000", 3, id="rate-limit-high"),
    pytest.param(spec("aws: {rate_limit: .nan}\n"), "`rate_limit` must be a number, not nan", 3, id="rate-limit-nan"),
    pytest.param(spec("layout:\n  page: A4\n  colums: 2\n"), "`colums` is not a layout key; did you mean `columns`?",
                 5, id="layout-unknown"),
    pytest.param(spec("layout: {columns: 5}\n"), "`columns` must be between 1 and 4, not 5", 3, id="columns-range"),
    pytest.param(spec("layout: {columns: '2'}\n"), "`columns` must be an integer, not a string (\"2\")", 3,
                 id="columns-string"),
    pytest.param(spec("layout: {columns: 1.5}\n"), "`columns` must be an integer, not a number (1.5)", 3,
                 id="columns-float"),
    pytest.param(spec("layout: {page: a4}\n"),
                 "`page` must be one of A4, A3, Letter, Legal, not `a4`; did you mean `A4`?", 3, id="page"),
    pytest.param(spec("layout: {orientation: landscap}\n"), "did you mean `landscape`?", 3, id="orientation"),
    # --- sections
    pytest.param(HEAD + "sections: []\n", "`sections` needs at least 1 item", 3, id="sections-empty"),
    pytest.param(HEAD + "sections:\n  title: S\n", "`sections` must be a list, not a mapping", 3,
                 id="sections-mapping"),
    pytest.param(HEAD + "sections:\n  - widgets:\n" + ROW, "the section needs `title`", 4, id="section-title"),
    pytest.param(HEAD + "sections:\n  - title: S\n", "a section needs either `widgets` or a `dashboard`", 4,
                 id="section-widgets"),
    pytest.param(HEAD + "sections:\n  - title: S\n    colums: 2\n    widgets:\n" + ROW,
                 "`colums` is not a section key", 5, id="section-unknown"),
    pytest.param(HEAD + "sections:\n  - title: S\n    widgets: []\n", "`widgets` needs at least 1 item", 5,
                 id="widgets-empty"),
    # --- widgets
    pytest.param(spec(widget=widget("title: CPU")), "the widget needs `metrics`", 6, id="widget-no-metrics"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "stakced: true")),
                 "`stakced` is not a widget key; did you mean `stacked`?", 7, id="widget-unknown"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "yaxis: {}")), "did you mean `yAxis`?", 7,
                 id="widget-key-case"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "width: 0")), "`width` must be between 1 and 2000, not 0",
                 7, id="width-zero"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "width: 2001")), "between 1 and 2000, not 2001", 7,
                 id="width-big"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "width: 900.5")),
                 "`width` must be an integer, not a number (900.5)", 7, id="width-float"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "height: true")),
                 "`height` must be an integer, not a boolean (true)", 7, id="height-bool"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "view: line")),
                 "`view` must be one of timeSeries, bar, pie, singleValue, gauge, table, not `line`", 7, id="view"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "view: timeseries")), "did you mean `timeSeries`?", 7,
                 id="view-case"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "period: 45")),
                 "`period` must be 1, 5, 10, 30 or a multiple of 60 seconds, not 45", 7, id="widget-period"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "period: 0")), "multiple of 60 seconds, not 0", 7,
                 id="widget-period-zero"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "period: '300'")),
                 "`period` must be an integer number of seconds, not a string", 7, id="widget-period-string"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "stat: 95")), "`stat` must be a string, not an integer",
                 7, id="stat-number"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "liveData: 'yes'")), "`liveData` must be true or false",
                 7, id="bool-string"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "theme: black")), "`theme` must be one of light, dark", 7,
                 id="theme"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "timezone: '+1:00'")),
                 "`timezone` must be a UTC offset such as +0100 or -0500, or Local, not `+1:00`", 7,
                 id="widget-timezone"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "start: yesterday")), "neither an ISO 8601", 7,
                 id="widget-start"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "region: Frankfurt")), "must be an AWS region", 7,
                 id="widget-region"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "legend: {positon: right}")),
                 "`positon` is not a legend key; did you mean `position`?", 7, id="legend-key"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "legend: {position: left}")),
                 "`position` must be one of bottom, right, hidden, not `left`", 7, id="legend-position"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "yAxis:", "  left:", "    lable: x")),
                 "`lable` is not an axis key; did you mean `label`?", 9, id="yaxis-key"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "yAxis: {right: {max: high}}")),
                 "`max` must be a number, not a string", 7, id="yaxis-max"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "yAxis: {lfet: {}}")),
                 "`lfet` is not a yAxis key; did you mean `left`?",
                 7, id="yaxis-side"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "labels: {visble: true}")),
                 "`visble` is not a labels key; did you mean `visible`?", 7, id="labels"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "table: {summaryColumns: [MAX, 1]}")),
                 "`summaryColumns[1]` must be a string, not an integer (1)", 7, id="table-columns"),
    # --- annotations
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "annotations: {horizantal: []}")),
                 "`horizantal` is not an annotations key; did you mean `horizontal`?", 7, id="annotations-key"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "annotations:", "  horizontal:", "    - {label: x}")),
                 "the annotation needs `value`", 9, id="annotation-value-missing"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "annotations:", "  horizontal:", "    - {value: '80'}")),
                 "`value` must be a number, not a string", 9, id="annotation-value-type"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "annotations:", "  horizontal:",
                                    "    - {value: 80, colour: red}")),
                 "`colour` is not an annotation key; did you mean `color`?", 9, id="annotation-key"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "annotations:", "  horizontal:",
                                    "    - {value: 80, color: red}")),
                 "`color` must be a #rrggbb colour, not `red`", 9, id="annotation-color"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "annotations:", "  vertical:",
                                    "    - {value: '2026-11-25T12:00:00Z', fill: above}")),
                 "`fill` must be one of before, after, none, not `above`", 9, id="vertical-fill"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "annotations:", "  vertical:", "    - {value: -PT1H}")),
                 "`value` must be an ISO 8601 date/time, not the duration `-PT1H`", 9, id="vertical-duration"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "annotations:", "  horizontal:",
                                    "    - [{value: 1}, {value: 2}, {value: 3}]")),
                 "`horizontal[0]` is a band and needs exactly two annotations, not 3", 9, id="band-size"),
    pytest.param(spec(widget=widget("metrics: [[A, B]]", "annotations: {alarms: arn}")),
                 "`alarms` must be a list", 7, id="alarms"),
    # --- metric rows
    pytest.param(spec(widget=widget("metrics: []")), "`metrics` is empty", 6, id="metrics-empty"),
    pytest.param(spec(widget=widget("metrics: AWS/EC2")), "`metrics` must be a list of metric rows, not a string",
                 6, id="metrics-string"),
    pytest.param(spec(widget=widget(many_rows(101))), "`metrics` has 101 rows; CloudWatch draws at most 100", 6,
                 id="metrics-over-100"),
    pytest.param(spec(widget=widget("metrics:", "  - {expression: SUM(METRICS()), id: e1}")),
                 "metric row 1 must be a list, not a mapping; write a math expression as [{expression: …, id: …}]", 7,
                 id="row-dict"),
    pytest.param(spec(widget=widget("metrics:", "  - AWS/EC2")),
                 "metric row 1 must be a list, not a string (\"AWS/EC2\")", 7, id="row-string"),
    pytest.param(spec(widget=widget("metrics: [[AWS/EC2, CPUUtilization, Port, 443]]")),
                 "metric row 1: element 4 must be a string, not an integer (443); quote it", 6, id="row-number"),
    pytest.param(spec(widget=widget("metrics: [[AWS/EC2, CPUUtilization, InstanceId]]")),
                 "metric row 1 must be [Namespace, MetricName, DimensionName, DimensionValue, …]; it has 3 names", 6,
                 id="row-odd"),
    pytest.param(spec(widget=widget("metrics: [[AWS/EC2]]")), "it has 1 name", 6, id="row-one-name"),
    pytest.param(spec(widget=widget("metrics: [['.', CPUUtilization]]")),
                 "metric row 1: `.` repeats the previous row, but this is the first row", 6, id="row-first-dot"),
    pytest.param(spec(widget=widget("metrics:", "  - [AWS/EC2, CPUUtilization]",
                                    "  - ['.', NetworkIn, {colour: '#ff0000'}]")),
                 "`colour` is not a metric option key; did you mean `color`?", 8, id="option-unknown"),
    pytest.param(spec(widget=widget("metrics: [[A, B, {color: red}]]")), "`color` must be a #rrggbb colour", 6,
                 id="option-color"),
    pytest.param(spec(widget=widget("metrics: [[A, B, {stat: 99}]]")), "`stat` must be a string", 6,
                 id="option-stat"),
    pytest.param(spec(widget=widget("metrics: [[A, B, {period: 45}]]")), "multiple of 60 seconds, not 45", 6,
                 id="option-period"),
    pytest.param(spec(widget=widget("metrics: [[A, B, {yAxis: middle}]]")),
                 "`yAxis` must be one of left, right, not `middle`", 6, id="option-yaxis"),
    pytest.param(spec(widget=widget("metrics: [[A, B, {id: E1}]]")), "`id` must be a lowercase letter followed by",
                 6, id="option-id"),
    pytest.param(spec(widget=widget("metrics: [[A, B, {visible: 0}]]")), "`visible` must be true or false", 6,
                 id="option-visible"),
    pytest.param(spec(widget=widget("metrics: [[A, B, {expression: 'm1 * 2'}]]")),
                 "metric row 1: an `expression` goes in a row of its own", 6, id="expression-with-names"),
    pytest.param(spec(widget=widget("metrics: [[{id: e1, label: x}]]")), "metric row 1 has no metric", 6,
                 id="expression-missing"),
    pytest.param(spec(widget=widget("metrics: [[]]")), "metric row 1 has no metric", 6, id="row-empty"),
    pytest.param(spec(widget=widget("metrics:", "  - [AWS/EC2, CPUUtilization]", "  - [AWS/EC2, CPUUtilization, 7]")),
                 "metric row 2: element 3 must be a string", 8, id="row-line-of-element"),
    # --- defaults
    pytest.param(spec("defaults: {widht: 900}\n"), "`widht` is not a widget key; did you mean `width`?", 3,
                 id="defaults-unknown"),
    pytest.param(spec("defaults: {file: w.json}\n"), "`file` cannot be used here: a `file:` belongs to one widget", 3,
                 id="defaults-file"),
    pytest.param(spec("defaults:\n  height: 5000\n"), "`height` must be between 1 and 2000, not 5000", 4,
                 id="defaults-height"),
    pytest.param(spec(widget=widget(f"title: {'x' * MAX_WIDGET_JSON_BYTES}", "metrics: [[A, B]]")),
                 "the widget's JSON is 102,", 6, id="json-over-100kb"),
]


@pytest.mark.parametrize(("text", "fragment", "line"), ERRORS)
def test_spec_errors_name_the_line_and_the_key(write_spec: WriteSpec, text: str, fragment: str, line: int) -> None:
    path = write_spec(text)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    error = caught.value
    assert fragment in error.message
    assert (error.file, error.line) == (path, line)
    assert str(error).startswith(f"{path}:{line}: ")


def test_error_knows_the_offending_key(write_spec: WriteSpec) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(write_spec(spec("layout:\n  colums: 2\n")))
    assert caught.value.key == "colums"


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read the report spec: No such file or directory"):
        load_spec(tmp_path / "missing.yaml")
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("title: Übersicht\n".encode("latin-1"))
    with pytest.raises(SpecError, match="not UTF-8 text"):
        load_spec(latin1)


def test_a_valid_spec_becomes_frozen_typed_objects(write_spec: WriteSpec) -> None:
    path = write_spec("""\
report: daily-ops
title: Daily
description: All about yesterday
timezone: Europe/Berlin
period: {start: 2026-11-20T08:00:00, end: -PT1H}
aws: {region: eu-central-1, profile: prod, rate_limit: 5}
layout: {page: Letter, orientation: portrait, columns: 1}
defaults: {width: 900, height: 450, stat: Average}
sections:
  - title: Compute
    widgets:
      - title: CPU
        metrics:
          - [AWS/EC2, CPUUtilization, InstanceId, i-1, {stat: Maximum, color: "#d62728"}]
          - [".", ".", ".", i-2]
        height: 300
      - metrics: [[AWS/Lambda, Errors, FunctionName, f]]
""")
    spec_ = load_spec(path)
    assert (spec_.id, spec_.title, spec_.description, spec_.path) == ("daily-ops", "Daily", "All about yesterday", path)
    assert spec_.timezone == "Europe/Berlin"
    assert spec_.period == Period(keyword=None, start="2026-11-20T08:00:00", end="-PT1H")  # YAML timestamp → text
    assert spec_.period_line == 5
    assert spec_.aws == AwsTarget(region="eu-central-1", profile="prod", rate_limit=5.0)
    assert isinstance(spec_.aws.rate_limit, float)
    assert spec_.layout == Layout(page="Letter", orientation="portrait", columns=1)
    [section] = spec_.sections
    first, second = section.widgets
    assert (first.title, first.line, first.file) == ("CPU", 12, None)
    assert first.source == {
        "width": 900, "height": 300, "stat": "Average", "title": "CPU",
        "metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-1", {"stat": "Maximum", "color": "#d62728"}],
                    [".", ".", ".", "i-2"]],
    }
    assert type(first.source) is dict and "start" not in first.source
    # An untitled widget is named after its first metric rather than refused.
    assert (second.title, second.line) == ("Errors", 17)
    assert "title" not in second.source
    assert pickle.loads(pickle.dumps(spec_)) == spec_


def test_defaults_for_optional_keys(write_spec: WriteSpec) -> None:
    spec_ = load_spec(write_spec(spec()))
    assert (spec_.timezone, spec_.period, spec_.aws, spec_.layout) == ("UTC", Period(), AwsTarget(), Layout())
    assert spec_.description is None
    assert spec_.period_line == 1  # the default period belongs to the whole document


@pytest.mark.parametrize(("top", "line"), [
    ("period: today\n", 3),
    ("period: {start: -P1D}\n", 3),
    ("period:\n  end: -PT1H\n  start: 2026-11-01T00:00\n", 5),  # a custom period's `start`
])
def test_the_period_line_is_recorded_for_later_errors(write_spec: WriteSpec, top: str, line: int) -> None:
    assert load_spec(write_spec(spec(top))).period_line == line


def test_expression_only_first_row_names_the_widget(write_spec: WriteSpec) -> None:
    spec_ = load_spec(write_spec(spec(widget=widget(
        "metrics:", "  - [{expression: 'SEARCH(\"{AWS/EC2,InstanceId} CPUUtilization\", \"Average\")', "
        "label: All instances, id: e1}]"))))
    assert spec_.sections[0].widgets[0].title == "All instances"


def test_yaml_anchors_and_merge_keys_work(write_spec: WriteSpec) -> None:
    spec_ = load_spec(write_spec(HEAD + """\
sections:
  - title: S
    widgets:
      - &cpu
        title: CPU
        stat: Maximum
        metrics: [[AWS/EC2, CPUUtilization]]
      - <<: *cpu
        title: CPU average
        stat: Average
"""))
    titles = [(w.title, w.source["stat"]) for w in spec_.sections[0].widgets]
    assert titles == [("CPU", "Maximum"), ("CPU average", "Average")]


def test_merged_keys_are_checked_too_and_point_at_the_merge(write_spec: WriteSpec) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(write_spec(HEAD + """\
base: &base {width: 5000}
sections:
  - title: S
    widgets:
      - <<: *base
        metrics: [[AWS/EC2, CPUUtilization]]
"""))
    assert "`base` is not a report spec key" in caught.value.message  # top-level anchors need a known home
    with pytest.raises(SpecError) as caught:
        load_spec(write_spec(HEAD + """\
defaults: &base {width: 900}
sections:
  - title: S
    widgets:
      - <<: *base
        width: 0
        metrics: [[AWS/EC2, CPUUtilization]]
"""))
    assert (caught.value.line, caught.value.message) == (8, "`width` must be between 1 and 2000, not 0")


# --- YAML aliases -----------------------------------------------------------------------------------------


def nested_aliases(levels: int) -> str:
    """A "billion laughs": each level lists nine aliases of the one before, so level n holds 9**n values."""
    names = "abcdefghijklmnopqrstuvwxyz"[:levels]
    lines = ["a: &a [" + ", ".join(["x"] * 9) + "]"]
    lines += [f"{name}: &{name} [" + ", ".join([f"*{below}"] * 9) + "]" for below, name in zip(names, names[1:])]
    return HEAD + "\n".join(lines) + "\n" + BODY + ROW


def test_an_alias_bomb_is_refused_at_once(write_spec: WriteSpec) -> None:
    path = write_spec(nested_aliases(9))
    started = time.perf_counter()
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert time.perf_counter() - started < 1
    # Aliases to `e` (line 7, 66,430 values expanded) on the next line push the total past the bound.
    assert str(caught.value) == (f"{path}:7: aliases to the value anchored here expand the spec by more than "
                                 "100,000 values")


def test_aliases_within_the_bound_go_on_to_the_usual_checks(write_spec: WriteSpec) -> None:
    # 74,718 values added by aliases: the checks still complain about the unknown key, not the aliases.
    with pytest.raises(SpecError, match="`a` is not a report spec key"):
        load_spec(write_spec(nested_aliases(5)))


def test_an_alias_inside_its_own_anchor_is_refused(write_spec: WriteSpec) -> None:
    path = write_spec(HEAD + "sections: &s\n  - title: S\n    widgets: *s\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}:3: the value anchored here contains an alias to itself"


# --- widgets given as `file:` ------------------------------------------------------------------------------

# Keys CloudWatch documents or that dashboards, the console and IaC tools write: they load without a word.
KNOWN_WIDGET_KEYS = [
    "copilot: true", "liveData: true", "sparkline: true", "trend: true", "setPeriodToTimeRange: true",
    "singleValueFullPrecision: true", "accountId: '123456789012'", "region: eu-west-1", "stacked: false",
    "labels: {visible: true}", "legend: {position: hidden}", "theme: dark", "timezone: '-0530'",
    "table: {layout: vertical, showTimeSeriesData: false, stickySummary: true, summaryColumns: [MIN, MAX, SUM, AVG]}",
    "yAxis: {left: {min: 0, max: 100, label: ms, showUnits: false}, right: {min: 1}}",
    "annotations: {horizontal: [{value: 1, label: x, color: '#ff0000', fill: above, yAxis: right, visible: true}],"
    " alarms: ['arn:aws:cloudwatch:us-east-1:1:alarm:a']}",
    *(f"view: {view}" for view in ("timeSeries", "bar", "pie", "singleValue", "gauge", "table")),
    *(f"timezone: {word}" for word in ("Local", "local", "UTC", "browser")),
]


@pytest.mark.parametrize("key", KNOWN_WIDGET_KEYS)
def test_keys_cloudwatch_takes_load_silently(write_spec: WriteSpec, key: str) -> None:
    loaded = load_spec(write_spec(spec(widget=widget("metrics: [[A, B, {label: x, visible: false}]]", key))))
    assert loaded.warnings == ()


def test_an_unknown_widget_key_far_from_known_ones_is_sent_with_one_warning(write_spec: WriteSpec) -> None:
    path = write_spec(spec("defaults: {dashboardTag: ops}\n",
                           widget=widget("metrics: [[A, B, {unit: Percent}]]", "yAxis: {left: {scale: log}}")))
    loaded = load_spec(path)
    assert loaded.warnings == (
        f"{path}:3: `dashboardTag` is not a widget key reportgen knows; it is sent to CloudWatch as written",
        f"{path}:7: `unit` is not a metric option key reportgen knows; it is sent to CloudWatch as written",
        f"{path}:8: `scale` is not an axis key reportgen knows; it is sent to CloudWatch as written",
    )
    assert loaded.sections[0].widgets[0].source["dashboardTag"] == "ops"  # passed through, not dropped


def test_an_unknown_key_in_a_widget_file_warns_at_the_file_line(write_spec: WriteSpec, tmp_path: Path) -> None:
    write_widget(tmp_path, '{"metrics": [["A", "B"]], "annotationsVersion": 2}')
    path = write_spec(FILE_WIDGET)
    assert load_spec(path).warnings == (
        f"{path}:6: in widgets/w.json: `annotationsVersion` is not a widget key reportgen knows; "
        "it is sent to CloudWatch as written",)


@pytest.mark.parametrize(("key", "fragment"), [
    ("Stacked: true", "`Stacked` is not a widget key; did you mean `stacked`?"),     # case only
    ("trnd: true", "`trnd` is not a widget key; did you mean `trend`?"),             # one letter dropped
    ("sparklines: true", "`sparklines` is not a widget key; did you mean `sparkline`?"),
    ("lievData: true", "`lievData` is not a widget key; did you mean `liveData`?"),  # two letters swapped
    ("setPeriodToTimeRnage: true", "did you mean `setPeriodToTimeRange`?"),
])
def test_a_key_one_or_two_edits_from_a_known_one_is_a_slip(write_spec: WriteSpec, key: str, fragment: str) -> None:
    with pytest.raises(SpecError, match=fragment.replace("?", r"\?")) as caught:
        load_spec(write_spec(spec(widget=widget("metrics: [[A, B]]", key))))
    assert caught.value.line == 7


FILE_WIDGET = spec(widget=widget("file: widgets/w.json"))  # the `file:` key is on line 6


def write_widget(tmp_path: Path, text: str) -> None:
    (tmp_path / "widgets").mkdir(exist_ok=True)
    (tmp_path / "widgets" / "w.json").write_text(text, encoding="utf-8")


FILE_ERRORS = [
    pytest.param(None, "in widgets/w.json: cannot read the widget file: No such file or directory", id="missing"),
    pytest.param('{\n  "title": "x",\n  "metrics": [["A", "B"]]\n  "view": "bar"\n}',
                 "in widgets/w.json: not valid JSON: line 4 column 3: Expecting ',' delimiter", id="bad-json"),
    pytest.param('{"metrics": [["A", "B"]], "yAxis": {"left": {"max": NaN}}}', "NaN is not valid JSON", id="nan"),
    pytest.param('[["A", "B"]]', "a widget file must hold a JSON object (a MetricWidget), not a list", id="array"),
    pytest.param('{"metrics": [["A", "B"]], "stakced": true}',
                 "in widgets/w.json: `stakced` is not a widget key; did you mean `stacked`?", id="unknown-key"),
    pytest.param('{"metrics": [["A", "B", {"stat": 5}]]}', "`stat` must be a string, not an integer (5)",
                 id="bad-option"),
    pytest.param('{"title": "No metrics"}', "neither `widgets/w.json` nor the widget's YAML gives `metrics`",
                 id="no-metrics"),
    pytest.param('{"metrics": [["A", "B"]], "file": "other.json"}', "`file` cannot be used here: a widget file holds",
                 id="nested-file"),
]


@pytest.mark.parametrize(("content", "fragment"), FILE_ERRORS)
def test_widget_file_errors_point_at_the_file_line(write_spec: WriteSpec, tmp_path: Path,
                                                    content: str | None, fragment: str) -> None:
    if content is not None:
        write_widget(tmp_path, content)
    path = write_spec(FILE_WIDGET)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert fragment in caught.value.message
    assert (caught.value.file, caught.value.line) == (path, 6)


def test_widget_file_is_merged_between_defaults_and_the_widgets_own_keys(write_spec: WriteSpec,
                                                                         tmp_path: Path) -> None:
    write_widget(tmp_path, json.dumps({
        "title": "From the file", "stat": "Sum", "period": 300,
        "metrics": [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/x/1"]],
    }))
    spec_ = load_spec(write_spec(spec("defaults: {stat: Average, period: 60, width: 900}\n",
                                      widget=widget("file: widgets/w.json", "period: 3600"))))
    [item] = spec_.sections[0].widgets
    assert item.source == {
        "stat": "Sum", "period": 3600, "width": 900, "title": "From the file",
        "metrics": [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/x/1"]],
    }
    assert (item.title, item.file, item.line) == ("From the file", tmp_path / "widgets" / "w.json", 7)


@pytest.mark.parametrize(("name", "message"), [
    ("/etc/passwd", "`file` must be a path relative to the spec's folder, not `/etc/passwd`"),
    ("../outside.json", "`file` must stay inside the spec's folder, but `../outside.json` leads to {outside}"),
    ("widgets/../../outside.json", "but `widgets/../../outside.json` leads to {outside}"),
    ("widgets/link.json", "`file` must stay inside the spec's folder, but `widgets/link.json` leads to {outside}"),
])
def test_widget_file_must_stay_in_the_specs_folder(write_spec: WriteSpec, tmp_path: Path,
                                                   name: str, message: str) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text('{"metrics": [["A", "B"]]}', encoding="utf-8")  # a valid widget, so only the place is wrong
    folder = tmp_path / "specs"
    (folder / "widgets").mkdir(parents=True)
    (folder / "widgets" / "link.json").symlink_to(outside)
    path = write_spec(spec(widget=widget("title: W", f"file: {name}")), folder=folder)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert message.format(outside=outside) in caught.value.message
    assert (caught.value.file, caught.value.line, caught.value.key) == (path, 7, "file")


def test_widget_file_may_take_detours_and_symlinks_inside_the_folder(write_spec: WriteSpec, tmp_path: Path) -> None:
    write_widget(tmp_path, '{"metrics": [["A", "B"]]}')
    (tmp_path / "widgets" / "link.json").symlink_to("w.json")
    text = spec(widget=widget("file: widgets/../widgets/w.json") + widget("file: widgets/link.json"))
    assert [w.title for w in load_spec(write_spec(text)).sections[0].widgets] == ["B", "B"]


def test_widget_file_can_get_its_metrics_from_the_yaml(write_spec: WriteSpec, tmp_path: Path) -> None:
    write_widget(tmp_path, '{"view": "bar", "stat": "Sum"}')
    text = spec(widget=widget("file: widgets/w.json", "metrics: [[AWS/SQS, NumberOfMessagesSent]]"))
    spec_ = load_spec(write_spec(text))
    assert spec_.sections[0].widgets[0].title == "NumberOfMessagesSent"


# --- several files -----------------------------------------------------------------------------------------


def named(report_id: str) -> str:
    return f"report: {report_id}\ntitle: T\n" + BODY + ROW


def test_load_specs_reads_a_folders_yaml_and_yml_sorted_and_not_recursively(write_spec: WriteSpec,
                                                                            tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    write_spec(named("b"), "b.yml", folder)
    write_spec(named("a"), "a.yaml", folder)
    write_spec(named("nested"), "sub/c.yaml", folder)
    write_spec("not a spec", "notes.txt", folder)
    extra = write_spec(named("z"), "z.yaml")
    assert [s.id for s in load_specs([folder, extra])] == ["a", "b", "z"]


def test_load_specs_refuses_an_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no report specs") as caught:
        load_specs([tmp_path])
    assert caught.value.file == tmp_path


def test_a_path_that_cannot_even_be_looked_at_is_a_spec_error(tmp_path: Path) -> None:
    too_long = tmp_path / ("x" * 300)  # the system refuses the name (root included) before looking for it
    with pytest.raises(SpecError) as caught:
        load_specs([too_long])
    assert str(caught.value) == f"{too_long}: cannot read: File name too long"


def test_a_folder_entry_that_cannot_be_looked_at_is_a_spec_error(tmp_path: Path) -> None:
    # The folder's path is ~3,900 characters, so it can be listed, but an entry's full path is longer than
    # PATH_MAX (4,096): looking at it fails during the listing, as in an unreadable folder, even for root.
    folder = tmp_path
    while len(str(folder)) < 3900:
        folder /= "d" * min(250, 3900 - len(str(folder)))
    folder.mkdir(parents=True)
    entry = "s" * 250 + ".yaml"
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.close(os.open(entry, os.O_CREAT | os.O_WRONLY, dir_fd=handle))  # relative to the folder: no long path
    finally:
        os.close(handle)
    with pytest.raises(SpecError) as caught:
        load_specs([folder])
    assert str(caught.value) == f"{folder / entry}: cannot read: File name too long"


def test_a_symlink_loop_or_a_socket_is_an_unreadable_spec(tmp_path: Path) -> None:
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop.name)
    with pytest.raises(SpecError, match="cannot read the report spec: Too many levels of symbolic links") as caught:
        load_specs([loop])
    assert caught.value.file == loop
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "socket.yaml"))
        with pytest.raises(SpecError, match="cannot read the report spec: No such device or address"):
            load_specs([tmp_path / "socket.yaml"])


def test_duplicate_report_ids_name_both_files(write_spec: WriteSpec) -> None:
    first = write_spec(named("daily"), "one.yaml")
    second = write_spec("# the same id again\n" + named("daily"), "two.yaml")
    with pytest.raises(SpecError) as caught:
        load_specs([first, second])
    assert str(caught.value) == f"{second}:2: report id `daily` is already used by {first}"


def test_a_file_named_twice_is_loaded_once(write_spec: WriteSpec, tmp_path: Path) -> None:
    path = write_spec(named("daily"))
    assert [s.id for s in load_specs([path, tmp_path])] == ["daily"]


# --- the shipped examples ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["daily-ops.yaml", "weekly-service-review.yaml", "monthly-executive.yaml"])
def test_shipped_examples_load(examples_dir: Path, name: str) -> None:
    spec_ = load_spec(examples_dir / name)
    assert spec_.id == name.removesuffix(".yaml")
    assert spec_.widget_count >= 6
    assert len(spec_.sections) >= 3
    assert all(section.widgets for section in spec_.sections)


def test_shipped_examples_together(examples_dir: Path) -> None:
    specs = {s.id: s for s in load_specs([examples_dir])}
    assert set(specs) == {"daily-ops", "weekly-service-review", "monthly-executive", "tokyo-daily"}
    daily = specs["daily-ops"]
    assert (daily.period.keyword, daily.timezone) == ("yesterday", "Europe/Berlin")
    assert daily.layout == Layout(page="A4", orientation="landscape", columns=2, logo=examples_dir / "logo.svg",
                                  footer="Internal — Web Operations")
    # The examples show what a report can hold: tables, a summary, commentary, captions, spans, page breaks.
    assert daily.has_tables and daily.summary is not None and daily.summary.threshold == 25
    assert any(s.texts for s in daily.sections) and any(w.caption for s in daily.sections for w in s.widgets)
    assert any(w.span is None for s in daily.sections for w in s.widgets)
    assert specs["tokyo-daily"].title == "東京リージョン 日次運用レポート"
    assert any(w.file == examples_dir / "widgets" / "alb-latency.json" for s in daily.sections for w in s.widgets)
    weekly, monthly = specs["weekly-service-review"], specs["monthly-executive"]
    assert (weekly.period.keyword, weekly.timezone) == ("previous_week", "America/New_York")
    assert (monthly.period.keyword, monthly.timezone) == ("previous_month", "UTC")
    assert (monthly.layout.columns, monthly.layout.orientation) == (1, "portrait")
    billing = [w for s in monthly.sections for w in s.widgets if w.source["metrics"][0][0] == "AWS/Billing"]
    assert billing and all(w.source["region"] == "us-east-1" for w in billing)


def test_absurd_nesting_is_a_spec_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("report: deep\ntitle: Deep\nsections: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(SpecError, match="nests too deeply"):
        load_spec(path)


# --- what the PDF shows besides the charts: tables, summary, text items, captions, logo, fonts ---------------

TEXT = "      - text: Some **commentary**.\n"


@pytest.mark.parametrize(("text", "fragment", "line"), [
    pytest.param(spec("summary: true\n"), "`summary` compares the numbers of widgets with a table, and no widget", 3,
                 id="summary-without-tables"),
    pytest.param(spec("table: true\nsummary: {threshold: 0}\n"), "`summary.threshold` is a change in percent", 4,
                 id="summary-threshold"),
    pytest.param(spec("table: true\nsummary: {treshold: 5}\n"), "did you mean `threshold`", 4, id="summary-key"),
    pytest.param(spec("table: yes please\n"), "`table` must be true or false", 3, id="table-type"),
    pytest.param(spec(widget=widget("caption: [a, b]", "metrics: [[A, B]]")), "`caption` must be", 6,
                 id="caption-type"),
    pytest.param(spec(widget=widget(f"caption: {'x' * 501}", "metrics: [[A, B]]")),
                 "`caption` is 501 characters long; at most 500", 6, id="caption-long"),
    pytest.param(spec("defaults: {caption: x}\n"), "`caption` cannot be used here", 3, id="defaults-caption"),
    pytest.param(spec("defaults: {span: full}\n"), "`span` cannot be used here", 3, id="defaults-span"),
    pytest.param(spec(widget=TEXT), "the section holds only `text:` items; it needs at least one widget", 5,
                 id="text-only-section"),
    pytest.param(spec(widget="      - {text: a, metrics: [[A, B]]}\n"), "`metrics` is not a text item key", 6,
                 id="text-and-widget"),
    pytest.param(spec(widget=f"      - text: {'x' * 4001}\n" + ROW), "at most 4,000 are taken", 6, id="text-long"),
    pytest.param(spec("layout: {logo: nowhere.png}\n"), "`logo`: cannot read", 3, id="logo-missing"),
    pytest.param(spec("layout: {footer: \"a\\nb\"}\n"), "`footer`", 3, id="footer-newline"),
    pytest.param(spec("layout:\n  fonts: [nowhere.ttf]\n"), "`fonts`:", 4, id="font-missing"),
    pytest.param(spec("layout: {contents: often}\n"), "`contents` must be true or false", 3, id="contents-type"),
])
def test_report_feature_errors_name_the_line(write_spec: WriteSpec, text: str, fragment: str, line: int) -> None:
    path = write_spec(text)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert fragment in caught.value.message
    assert (caught.value.file, caught.value.line) == (path, line)


def test_table_true_is_reportgens_and_a_table_mapping_is_cloudwatchs(write_spec: WriteSpec) -> None:
    text = spec("table: true\n", widget=ROW + widget("table: false", "metrics: [[A, B]]")
                + widget("table: {layout: vertical}", "view: table", "metrics: [[A, B]]"))
    first, second, third = load_spec(write_spec(text)).sections[0].widgets
    assert (first.table, second.table, third.table) == (True, False, True)
    assert "table" not in first.source and "table" not in second.source  # not sent to CloudWatch
    assert third.source["table"] == {"layout": "vertical"}                # sent as written


def test_table_is_inherited_report_then_section_then_widget(write_spec: WriteSpec) -> None:
    text = (HEAD + "defaults: {table: true}\nsections:\n"
            "  - title: A\n    widgets:\n" + ROW +
            "  - title: B\n    table: false\n    widgets:\n" + ROW + widget("table: true", "metrics: [[A, B]]"))
    loaded = load_spec(write_spec(text))
    assert [[w.table for w in s.widgets] for s in loaded.sections] == [[True], [False, True]]
    assert loaded.has_tables and loaded.summary is None


def test_text_items_keep_their_place_among_the_widgets(write_spec: WriteSpec) -> None:
    text = spec("summary: {threshold: 12.5}\ntable: true\n", widget=TEXT + ROW + TEXT + ROW + TEXT)
    loaded = load_spec(write_spec(text))
    section = loaded.sections[0]
    assert len(section.widgets) == 2
    assert [(t.before, t.line) for t in section.texts] == [(0, 8), (1, 10), (2, 12)]
    assert loaded.summary is not None and loaded.summary.threshold == 12.5


def test_markdown_the_pdf_cannot_draw_is_a_warning(write_spec: WriteSpec) -> None:
    path = write_spec(spec(widget="      - text: \"![chart](x.png) and <b>html</b>\"\n" + ROW))
    warnings = load_spec(path).warnings
    assert any(w.startswith(f"{path}:6: ") and "images are not drawn" in w for w in warnings)
    assert any("raw HTML is not drawn" in w for w in warnings)


def test_logo_and_fonts_are_found_beside_the_spec(write_spec: WriteSpec, tmp_path: Path) -> None:
    from fontfactory import build_font
    from PIL import Image

    (tmp_path / "brand").mkdir()
    Image.new("RGB", (40, 20)).save(tmp_path / "brand" / "logo.png")
    build_font(tmp_path / "brand" / "font.ttf", "가")
    layout = load_spec(write_spec(spec("layout: {logo: brand/logo.png, fonts: [brand/font.ttf]}\n"))).layout
    assert layout.logo == tmp_path / "brand" / "logo.png" and layout.fonts == ("brand/font.ttf",)
    (tmp_path / "brand" / "bad.png").write_bytes(b"not an image")
    with pytest.raises(SpecError, match="is not a PNG, JPEG or SVG image"):
        load_spec(write_spec(spec("layout: {logo: brand/bad.png}\n")))


def test_file_names_in_any_script(write_spec: WriteSpec, tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (40, 20)).save(tmp_path / "ロゴ.png")
    (tmp_path / "ウィジェット.json").write_text('{"metrics": [["AWS/EC2", "CPUUtilization"]], "title": "CPU 使用率"}',
                                         encoding="utf-8")
    loaded = load_spec(write_spec(spec("layout: {logo: ロゴ.png}\n", widget="      - file: ウィジェット.json\n"),
                                  name="報告.yaml"))
    assert loaded.layout.logo == tmp_path / "ロゴ.png"
    assert loaded.sections[0].widgets[0].title == "CPU 使用率"


def test_the_estate_example_uses_a_dashboard_a_repeat_and_alarms(examples_dir: Path) -> None:
    spec = load_spec(examples_dir / "estate" / "incident-review.yaml")
    alarms, dashboard, per_instance = spec.sections
    assert alarms.alarms and any("alarms" in w.source.get("annotations", {}) for w in alarms.widgets)
    assert dashboard.dashboard is not None and dashboard.dashboard.name == "prod-web-overview"
    assert per_instance.repeat is not None and per_instance.repeat.dimension == "InstanceId"
