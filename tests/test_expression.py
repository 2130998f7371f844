"""Metric math checked before sending: `reportgen validate` finds a bad expression at its FILE:LINE, with the
expression and a did-you-mean, in a spec's widgets and in `file:` widgets alike; the parser needs no numpy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reportgen.errors import SpecError
from reportgen.expression import FUNCTIONS, ExpressionError, check_all
from reportgen.spec import load_spec

# Lines 1-8; the expression row under test is line 9, another expression row line 10.
HEAD = """report: t
title: T
sections:
  - title: S
    widgets:
      - metrics:
          - [AWS/Lambda, Invocations, FunctionName, checkout, {id: requests}]
          - [., Errors, ., ., {id: errors, visible: false}]
"""


def spec_with(text: str) -> str:
    return HEAD + f"          - [{{expression: {json.dumps(text)}, id: e1}}]\n" \
                  "          - [{expression: errors * 2, id: e2}]\n"


def load(tmp_path: Path, text: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    load_spec(path)


# Every function of CloudWatch's "Using metric math" page, as its examples use them, and then some.
GOOD = [
    "100 * errors / requests",
    "e2 / 2 + errors",  # another expression, by its id
    "SUM(METRICS()) / SUM(requests) * 100",
    "AVG([errors, requests]) + MIN(METRICS()) + MAX(METRICS()) + STDDEV(METRICS())",
    "ABS(errors - requests) + CEIL(errors) + FLOOR(errors) + SQRT(errors) + LOG(errors) + LOG10(errors)",
    "ANOMALY_DETECTION_BAND(requests)", "ANOMALY_DETECTION_BAND(requests, 4)",
    "DATAPOINT_COUNT(METRICS())", "SUM(errors) / DATAPOINT_COUNT(errors)",
    "DIFF(errors) + DIFF_TIME(errors) + RATE(errors) + RUNNING_SUM(errors)",
    "FILL(errors, 0)", "FILL(METRICS(), REPEAT)", "FILL(METRICS(), LINEAR)", "FILL(errors, MIN(errors))",
    "FILL(METRICS(), requests)",
    "IF(FIRST(SORT(METRICS(), AVG, DESC)) > 100, 1, 0)", "LAST(ANOMALY_DETECTION_BAND(requests))",
    "IF(errors, requests)", "IF(errors > 0 AND requests >= 10 || errors != 0, requests, errors)",
    "errors / METRIC_COUNT(METRICS())", "SUM(METRICS('err'))", 'SUM([METRICS("4xx"), METRICS("5xx")])',
    "MINUTE(requests)", "IF(DAY(requests) < 6, requests)", "IF(MONTH(requests) == 4, requests)",
    "HOUR(requests) + DATE(requests) + YEAR(requests) + EPOCH(requests)",
    "requests / PERIOD(requests)", "REMOVE_EMPTY(METRICS())",
    "SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"', 'Average', 300)",
    "SERVICE_QUOTA(requests)",
    "SLICE(SORT(METRICS(), SUM, DESC), 0, 10)", "SLICE(SORT(METRICS(), AVG, ASC), 5)",
    "SORT(METRICS(), AVG, DESC, 10)", "SORT(METRICS(), MAX, ASC)", "SORT(METRICS(), STDDEV, DESC)",
    "TIME_SERIES(MAX(requests))", "TIME_SERIES(5 * AVG(requests))", "TIME_SERIES(10)",
    "CONCAT([errors, requests])", "CONCAT(errors, METRICS())",
    "INSIGHT_RULE_METRIC('my-rule', 'UniqueContributors')",
    'LAMBDA("AmazonOpenSearchDataSource", "MyDomain", "some-query")',
    'LAMBDA("MyCustomDataSource", true, "fuzzy", 99.9)',
    "FILL(LAMBDA('MyFunction:MyAlias'), 0)",
    "DB_PERF_INSIGHTS('RDS', 'db-ABCDEFGHIJKLMNOPQRSTUVWXY1', 'db.load.avg')",
]


@pytest.mark.parametrize("text", GOOD)
def test_good_expressions_validate(tmp_path: Path, text: str) -> None:
    load(tmp_path, spec_with(text))


@pytest.mark.parametrize(("text", "message"), [
    ("AVERAGE(requests)", "Unsupported function AVERAGE in expression of e1; did you mean `AVG`?"),
    ("avg(requests)", "Unsupported function avg in expression of e1; did you mean `AVG`?"),
    ("errors / requets", "Unknown metric id 'requets' in expression of e1; did you mean `requests`?"),
    ("e3 * 2", "Unknown metric id 'e3' in expression of e1"),  # nothing near enough to suggest
    ("errors + REPEAT", "Unknown metric id 'REPEAT' in expression of e1"),
    ("SUM(errors, requests)", "SUM: too many positional arguments, in expression of e1"),
    ("FILL(errors)", "FILL: missing a required argument: 'filler', in expression of e1"),
    ("LAMBDA()", "LAMBDA: missing a required argument: 'function', in expression of e1"),
    ("FILL(errors, ZERO)", "FILL: 'filler' must be a number, a time series, REPEAT or LINEAR, not the keyword ZERO, "
                           "in expression of e1"),
    ("SORT(METRICS(), AVERAGE, DESC)", "SORT: 'function' must be AVG, MIN, MAX, SUM or STDDEV, not the keyword "
                                       "AVERAGE, in expression of e1; did you mean `AVG`?"),
    ("SORT(METRICS(), SUM, DOWN)", "SORT: 'order' must be ASC or DESC, not the keyword DOWN, in expression of e1"),
    ("SLICE(METRICS(), '1')", "SLICE: 'start' must be a number, not a string, in expression of e1"),
    ("AVG(5)", "AVG: 'values' must be a time series or an array of time series, not a number, in expression of e1"),
    ("TIME_SERIES('5')", "TIME_SERIES: 'value' must be a number, not a string, in expression of e1"),
    ("SEARCH('x', Average)", "SEARCH: 'stat' must be a string, not the keyword Average, in expression of e1"),
    ("errors +", "the expression of e1 ends too early"),
    ("(errors + requests", "the expression of e1 ends too early; expected ')'"),
    ("errors % 2", "unexpected '%' at position 8 in expression of e1"),
    ("", "the expression of e1 is empty"),
    ("42", "the expression of e1 names no metric: refer to another row by its id"),
    ("'text' * errors", "a string can only be a function's argument, in expression of e1"),
    ("e1 * 2", "expressions refer to each other in a cycle: e1 → e1"),
])
def test_bad_expressions_are_spec_errors_at_their_row(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        load(tmp_path, spec_with(text))
    assert caught.value.file == tmp_path / "spec.yaml" and caught.value.line == 9
    assert caught.value.message == f"metric row 3 (`{text}`): {message}"


def test_the_error_points_at_the_expression_of_a_block_style_row_and_names_a_row_without_id(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(HEAD + "          - - label: Error rate\n"
                           "              expression: errors / requests\n"
                           "          - - label: Broken\n"
                           "              expression: errors / 100 * AVERAGE(requests)\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == (
        f"{path}:12: metric row 4 (`errors / 100 * AVERAGE(requests)`): Unsupported function AVERAGE "
        "in expression of metric row 4; did you mean `AVG`?")


def test_a_cycle_points_at_the_row_where_it_closes(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(HEAD + "          - [{expression: e2 + 1, id: e1}]\n"
                           "          - [{expression: e1 * errors, id: e2}]\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert (caught.value.line, caught.value.message) == (
        9, "metric row 3 (`e2 + 1`): expressions refer to each other in a cycle: e1 → e2 → e1")


def test_an_id_used_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(HEAD + "          - [{expression: errors * 2, id: errors}]\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert (caught.value.line, caught.value.message) == (
        9, "metric row 3: id `errors` is already the id of metric row 2; ids must be unique in a widget")


def test_a_long_expression_is_shortened_in_the_message(tmp_path: Path) -> None:
    text = "errors + " * 10 + "BOGUS(errors)"
    with pytest.raises(SpecError) as caught:
        load(tmp_path, spec_with(text))
    assert caught.value.message.startswith(f"metric row 3 (`{text[:57]}...`): Unsupported function BOGUS")


def test_a_widget_file_is_checked_and_the_error_points_at_its_file_line(tmp_path: Path) -> None:
    (tmp_path / "widgets").mkdir()
    (tmp_path / "widgets" / "w.json").write_text(json.dumps({"metrics": [
        ["AWS/Lambda", "Errors", {"id": "errors"}],
        [{"expression": "SORT(METRICS(), SUM, DESC, 3)", "id": "top"}],
        [{"expression": "FILL(top, REPAET)", "id": "filled"}],
    ]}), encoding="utf-8")
    path = tmp_path / "spec.yaml"
    path.write_text("report: t\ntitle: T\nsections:\n  - title: S\n    widgets:\n"
                    "      - file: widgets/w.json\n", encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == (
        f"{path}:6: in widgets/w.json: metric row 3 (`FILL(top, REPAET)`): FILL: 'filler' must be a number, "
        "a time series, REPEAT or LINEAR, not the keyword REPAET, in expression of filled; did you mean `REPEAT`?")


def test_check_all_orders_the_expressions_after_those_they_name() -> None:
    trees = check_all({"a": "b + c", "b": "c * 2", "c": "m1"}, {"m1"})
    assert list(trees) == ["c", "b", "a"]
    with pytest.raises(ExpressionError) as caught:
        check_all({"a": "m1", "b": "FOO(a)"}, {"m1"})
    assert caught.value.culprit == "b"


def test_every_documented_function_is_known() -> None:
    # The function names of CloudWatch's "Using metric math" page (and SQRT, which CloudWatch also takes).
    documented = {
        "ABS", "ANOMALY_DETECTION_BAND", "AVG", "CEIL", "CONCAT", "DATAPOINT_COUNT", "DB_PERF_INSIGHTS", "DIFF",
        "DIFF_TIME", "FILL", "FIRST", "LAST", "FLOOR", "IF", "INSIGHT_RULE_METRIC", "LAMBDA", "LOG", "LOG10", "MAX",
        "METRIC_COUNT", "METRICS", "MIN", "MINUTE", "HOUR", "DAY", "DATE", "MONTH", "YEAR", "EPOCH", "PERIOD",
        "RATE", "REMOVE_EMPTY", "RUNNING_SUM", "SEARCH", "SERVICE_QUOTA", "SLICE", "SORT", "STDDEV", "SUM",
        "TIME_SERIES",
    }
    assert documented <= set(FUNCTIONS) and set(FUNCTIONS) - documented == {"SQRT"}


def test_the_parser_and_the_spec_checks_need_no_numpy() -> None:
    # The main package's dependencies do not include numpy: validation must not pull it in.
    code = ("import sys, reportgen.expression, reportgen.specschema; "
            "assert 'numpy' not in sys.modules, 'numpy was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
