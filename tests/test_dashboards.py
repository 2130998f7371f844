"""Dashboard bodies as report content: reading order, pixel sizes, variables, what cannot be drawn, and the
report spec written from a dashboard. The bodies in tests/dashboards are real ones (see SOURCES.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from reportgen.dashboards import (
    DashboardError,
    DashboardText,
    Undrawable,
    dashboard_spec,
    parse_dashboard,
)
from reportgen.errors import UsageError
from reportgen.local import BackgroundStandIn
from reportgen.spec import load_spec

BODIES = Path(__file__).parent / "dashboards"


def body(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((BODIES / f"{name}.json").read_text())
    return loaded


def metric(x: int, y: int, width: int = 6, height: int = 6, **properties: Any) -> dict[str, Any]:
    properties.setdefault("metrics", [["AWS/EC2", "CPUUtilization", "InstanceId", "i-0123456789abcdef0"]])
    return {"type": "metric", "x": x, "y": y, "width": width, "height": height, "properties": properties}


def text(x: int, y: int, markdown: str) -> dict[str, Any]:
    return {"type": "text", "x": x, "y": y, "width": 24, "height": 2, "properties": {"markdown": markdown}}


# --- reading order, sizes, text and what cannot be drawn ---------------------------------------------------


def test_widgets_come_in_reading_order_whatever_order_the_body_lists_them() -> None:
    content = parse_dashboard("lambda", body("sample-lambda-function-variable"))
    # listed as (0,0), (0,6), (12,0): the one to the right of the first comes before the one below it
    assert [(w.title, w.grid) for w in content.widgets] == [
        ("Lambda Function Metrics for ${FunctionName}", (0, 0, 12, 6)),
        ("Concurrent Executions for ${FunctionName}", (12, 0, 12, 6)),
        ("Duration for ${FunctionName}", (0, 6, 12, 6)),
    ]


def test_widgets_without_a_place_flow_left_to_right_and_wrap_at_24_columns() -> None:
    unplaced = [{key: value for key, value in metric(0, 0, 10, 4, title=name).items() if key not in ("x", "y")}
                for name in ("a", "b", "c")]
    content = parse_dashboard("flow", {"widgets": unplaced})
    assert [w.grid for w in content.widgets] == [(0, 0, 10, 4), (10, 0, 10, 4), (0, 4, 10, 4)]


@pytest.mark.parametrize(("width", "height", "pixels"), [
    (12, 6, (600, 300)),
    (6, 3, (300, 150)),
    (24, 6, (1200, 300)),
    (24, 100, (480, 2000)),  # 1200 × 5000 scaled as a whole to the image API's 2000
    (1, 1, (50, 50)),
])
def test_pixel_size_follows_the_grid(width: int, height: int, pixels: tuple[int, int]) -> None:
    content = parse_dashboard("sizes", {"widgets": [metric(0, 0, width, height)]})
    source = content.widgets[0].source
    assert (source["width"], source["height"]) == pixels


def test_text_widgets_sit_before_the_metric_widget_they_precede() -> None:
    content = parse_dashboard("cdk", body("cdk-alarm-and-dashboard"))
    assert [w.title for w in content.widgets] == [
        "More messages in queue with alarm annotation", "Current messages in queue", "Sent message size",
        "Sent message size with full precision"]
    assert content.texts == (DashboardText("# This is my dashboard", before=0), DashboardText("you like?", before=0))
    docs = parse_dashboard("docs", body("aws-docs-metric-and-text"))
    assert docs.texts == (DashboardText("Hello world", before=1),)  # below the only chart


def test_widgets_without_an_image_api_are_named_with_their_titles() -> None:
    content = parse_dashboard("cdk", body("cdk-alarm-and-dashboard"))
    assert [(u.type, u.title) for u in content.undrawable] == [
        ("metric", "Messages in queue"),  # alarm annotations only, no metrics
        ("alarm", "Firing alarms"),
        *(("log", f"Errors in my log group{suffix}")
          for suffix in ("", " - bar", " - line", " - stacked", " - pie", " - SQL", " - PPL")),
        ("custom", "My custom alarm"),
    ]
    assert content.undrawable[2].reason == "Logs Insights widgets have no image API"
    explorer = parse_dashboard("chaos", body("tf-chaos-asg-explorer"))
    assert [(u.type, u.title) for u in explorer.undrawable] == [("explorer", "Average ASG1 and ASG2")]
    assert [w.title for w in explorer.widgets] == ["ASG1 statistics", "ASG2 statistics"]


def test_a_metric_widget_reportgen_cannot_send_is_undrawable_with_the_reason() -> None:
    bad = metric(0, 0, title="Bad period", period=7)
    content = parse_dashboard("bad", {"widgets": [bad, metric(6, 0, title="Fine")]})
    assert [w.title for w in content.widgets] == ["Fine"]
    assert content.undrawable == (Undrawable("Bad period", "metric",
                                             "`period` must be 1, 5, 10, 30 or a multiple of 60 seconds, not 7"),)


def test_an_untitled_widget_is_named_like_the_spec_loader_names_it() -> None:
    content = parse_dashboard("untitled", {"widgets": [metric(0, 0)]})
    assert content.widgets[0].title == "CPUUtilization"
    assert "title" not in content.widgets[0].source


def test_the_report_decides_start_end_time_zone_and_live_data() -> None:
    widget = metric(0, 0, title="CPU", start="-PT3H", end="P0D", timezone="+0100", liveData=True, stat="Maximum")
    source = parse_dashboard("time", {"start": "-PT6H", "widgets": [widget]}).widgets[0].source
    assert source == {"title": "CPU", "stat": "Maximum", "metrics": widget["properties"]["metrics"],
                      "width": 300, "height": 300}
    docs = parse_dashboard("docs", body("aws-docs-metric-and-text")).widgets[0].source
    assert "liveData" not in docs and docs["legend"] == {"position": "right"}


def test_default_region_fills_only_widgets_without_one() -> None:
    content = parse_dashboard("regions", {"widgets": [metric(0, 0, title="a"), metric(6, 0, title="b",
                                                                                        region="eu-west-1")]},
                              default_region="ap-south-1")
    assert [w.source["region"] for w in content.widgets] == ["ap-south-1", "eu-west-1"]


# --- variables --------------------------------------------------------------------------------------------


def test_a_pattern_variable_takes_its_default_and_replaces_text_everywhere() -> None:
    content = parse_dashboard("vars", body("cdk-dashboard-variables"))
    assert content.texts[0].markdown == "The dashboard is showing us-east-1 region"
    assert content.variables == {"region3": "us-east-1"}


def test_a_property_variable_found_only_by_search_is_left_as_written_with_a_warning() -> None:
    content = parse_dashboard("vars", body("cdk-dashboard-variables"))
    assert content.widgets[0].source["metrics"][0][3] == "my-bucket"
    assert content.warnings == (
        "variable `BucketName` has no value (only a metric search, which reportgen does not run, lists them); its "
        "property `BucketName` is left as written (a `dashboard:` section can set it under `variables:`)",)


def test_spec_values_override_defaults_by_id_or_by_property() -> None:
    content = parse_dashboard("vars", body("cdk-dashboard-variables"),
                              variables={"region3": "us-west-2", "BucketName": "logs-archive"})
    assert content.texts[0].markdown == "The dashboard is showing us-west-2 region"
    row = content.widgets[0].source["metrics"][0]
    assert row[:6] == ["AWS/S3", "BucketSizeBytes", "BucketName", "logs-archive", "StorageType", "StandardStorage"]
    assert row[6]["label"] == "[BucketName: ${PROP('Dim.BucketName')}] BucketSizeBytes"  # a dynamic label stays
    assert content.variables == {"region3": "us-west-2", "BucketName": "logs-archive"}
    assert content.warnings == ()


def test_a_property_variable_sets_the_dimension_in_every_row_and_keeps_dot_rows() -> None:
    content = parse_dashboard("lambda", body("sample-lambda-function-variable"))  # no default: first value
    first = content.widgets[0]
    assert first.source["metrics"] == [["AWS/Lambda", "Invocations", "FunctionName", "orders-api-handler"],
                                       [".", "Errors", ".", "."], [".", "Throttles", ".", "."]]
    # a property variable changes dimension values and JSON properties, not text that happens to look alike
    assert first.title == "Lambda Function Metrics for ${FunctionName}"
    duration = parse_dashboard("lambda", body("sample-lambda-function-variable"),
                               variables={"FunctionName": "billing-worker"}).widgets[2]
    assert duration.source["metrics"] == [["AWS/Lambda", "Duration", "FunctionName", "billing-worker",
                                           {"stat": "Average"}]]


def test_a_property_variable_reads_dimension_names_through_dot_and_ellipsis_rows() -> None:
    rows = [["AWS/EC2", "CPUUtilization", "InstanceId", "i-1", {"id": "m1"}],
            [".", "NetworkIn", ".", "i-2"],                 # the name repeats; the value is its own
            ["...", "i-3"],                                  # everything but the last entry repeats
            ["AWS/EBS", "VolumeReadOps", "VolumeId", "vol-1"],
            [{"expression": "m1 * 2", "id": "e1"}]]
    variable = {"type": "property", "property": "InstanceId", "inputType": "input", "id": "host"}
    content = parse_dashboard("dots", {"variables": [variable], "widgets": [metric(0, 0, metrics=rows)]},
                              variables={"host": "i-9"})
    assert content.widgets[0].source["metrics"] == [
        ["AWS/EC2", "CPUUtilization", "InstanceId", "i-9", {"id": "m1"}], [".", "NetworkIn", ".", "i-9"],
        ["...", "i-9"],
        ["AWS/EBS", "VolumeReadOps", "VolumeId", "vol-1"], [{"expression": "m1 * 2", "id": "e1"}]]


def test_a_region_property_variable_sets_every_region_property() -> None:
    variable = {"type": "property", "property": "region", "inputType": "select", "id": "region",
                "values": [{"value": "eu-central-1", "label": "Frankfurt"}, {"value": "us-east-1"}]}
    rows = [["AWS/EC2", "CPUUtilization", {"region": "us-east-1"}]]
    content = parse_dashboard("region", {"variables": [variable],
                                         "widgets": [metric(0, 0, region="us-east-1", metrics=rows)]})
    source = content.widgets[0].source
    assert source["region"] == "eu-central-1" and source["metrics"][0][2] == {"region": "eu-central-1"}


def test_a_pattern_variable_replaces_in_titles_labels_and_rows_as_written() -> None:
    variable = {"type": "pattern", "pattern": r"env-[a-z]+", "inputType": "input", "id": "env",
                "defaultValue": "env-prod"}
    widget = metric(0, 0, title="Orders (env-dev)",
                    metrics=[["Shop", "Orders", "Stage", "env-dev", {"label": "orders env-dev"}]])
    content = parse_dashboard("pattern", {"variables": [variable], "widgets": [widget]},
                              variables={"env": r"env-\1-blue"})  # a backslash is not a group reference
    source = content.widgets[0].source
    assert source["title"] == r"Orders (env-\1-blue)"
    assert source["metrics"] == [["Shop", "Orders", "Stage", r"env-\1-blue", {"label": r"orders env-\1-blue"}]]


@pytest.mark.parametrize(("variable", "given", "warning"), [
    ({"type": "pattern", "pattern": "STAGE", "inputType": "input", "id": "stage"}, {},
     "variable `stage` has no value; its pattern `STAGE` is left as written (a `dashboard:` section can set it "
     "under `variables:`)"),
    ({"type": "pattern", "pattern": "(unclosed", "inputType": "input", "id": "bad", "defaultValue": "x"}, {},
     "variable `bad`: its pattern `(unclosed` is not a regular expression reportgen can use (missing ), "
     "unterminated subpattern at position 0); it is left as written"),
    ({"type": "dimension", "id": "odd"}, {}, "variable 1 is neither a `property` nor a `pattern` variable; it is "
     "ignored"),
    ({"type": "pattern", "pattern": "STAGE", "inputType": "input", "id": "stage", "defaultValue": "prod"},
     {"stgae": "dev"}, "`variables` names `stgae`, which the dashboard does not define; did you mean `stage`?"),
])
def test_variable_problems_are_warnings(variable: dict[str, Any], given: dict[str, str], warning: str) -> None:
    content = parse_dashboard("w", {"variables": [variable], "widgets": [metric(0, 0, title="STAGE")]},
                              variables=given)
    assert content.warnings == (warning,)


def test_a_variable_given_to_a_dashboard_without_variables_is_a_warning() -> None:
    content = parse_dashboard("plain", body("aws-docs-metric-and-text"), variables={"host": "i-1"})
    assert content.warnings == ("`variables` names `host`, which the dashboard does not define; it defines no "
                                "variables",)


# --- unusable bodies --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "message"), [
    ('{"widgets": [', "dashboard `ops`: the body is not valid JSON: line 1 column 14: Expecting value"),
    ("[]", "dashboard `ops`: the body must be a JSON object with a `widgets` list, not a list"),
    ({"start": "-PT6H"}, "dashboard `ops`: the body has no `widgets` list"),
    ({"widgets": {"a": 1}}, "dashboard `ops`: the body's `widgets` must be a list, not a mapping"),
    ({"widgets": []}, "dashboard `ops`: the dashboard has no widgets"),
    ({"widgets": ["metric"]}, 'dashboard `ops`, widget 1: a widget must be an object, not a string ("metric")'),
    ({"widgets": [{"properties": {}}]},
     "dashboard `ops`, widget 1: the widget has no `type` (metric, text, log, alarm, explorer or custom)"),
    ({"widgets": [{"type": "metric", "properties": []}]},
     "dashboard `ops`, widget 1: the widget's `properties` must be an object, not a list"),
    ({"widgets": [metric(0, 0), metric(0, 6, width=30)]},
     "dashboard `ops`, widget 2: `width` must be a whole number from 1 to 24, not an integer (30)"),
    ({"widgets": [metric(0, -1)]}, "dashboard `ops`, widget 1: `y` must be a whole number of at least 0, not an "
     "integer (-1)"),
])
def test_an_unusable_body_is_a_dashboard_error(given: Any, message: str) -> None:
    with pytest.raises(DashboardError) as caught:
        parse_dashboard("ops", given)
    assert str(caught.value) == message
    assert caught.value.dashboard == "ops"


# --- a report spec from a dashboard -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(path.stem for path in BODIES.glob("*.json")))
def test_an_imported_spec_loads_and_draws_the_same_widgets(name: str, tmp_path: Path) -> None:
    text_ = dashboard_spec(name, json.dumps(body(name)), region="eu-west-1", profile="ops")
    path = tmp_path / "imported.yaml"
    path.write_text(text_)
    spec = load_spec(path)
    loaded = [w for section in spec.sections for w in section.widgets]
    parsed = parse_dashboard(name, body(name), default_region="eu-west-1").widgets
    assert [w.source for w in loaded] == [w.source for w in parsed]
    assert [w.title for w in loaded] == [w.title for w in parsed]
    assert (spec.id, spec.title, spec.aws.region, spec.aws.profile) == (name, name, "eu-west-1", "ops")
    header = " ".join(line[2:] for line in text_.splitlines() if line.startswith("# "))
    assert header.startswith(f"A report spec written by `reportgen import-dashboard` from the CloudWatch "
                             f"dashboard `{name}`.")


def test_an_imported_spec_names_undrawable_widgets_where_they_stood(tmp_path: Path) -> None:
    text_ = dashboard_spec("cdk", body("cdk-alarm-and-dashboard"))
    lines = text_.splitlines()
    alarm = lines.index('  # not drawn: alarm widget "Firing alarms": alarm status widgets have no image API')
    assert lines[alarm + 1] == "  - title: More messages in queue with alarm annotation"
    path = tmp_path / "cdk.yaml"
    path.write_text(text_)
    spec = load_spec(path)
    assert [s.title for s in spec.sections] == ["This is my dashboard"]  # the heading text widget
    assert [t.text for t in spec.sections[0].texts] == ["you like?"]


def test_headings_start_sections_and_a_heading_without_charts_stays_text(tmp_path: Path) -> None:
    log = {"type": "log", "x": 0, "y": 5, "width": 24, "height": 6,
           "properties": {"title": "Errors", "query": "SOURCE 'app' | fields @message"}}
    widgets = [metric(0, 1, title="Before any heading"), text(0, 0, "Intro, not a heading"),
               text(0, 3, "# Service\nOwned by the **orders** team."), metric(0, 4, title="Orders"),
               text(0, 5, "## Errors"), log, text(0, 20, "## Latency ##"), metric(0, 21, title="p99")]
    path = tmp_path / "s.yaml"
    path.write_text(dashboard_spec("Orders_Service", {"widgets": widgets}))
    spec = load_spec(path)
    assert spec.id == "orders-service"
    assert [(s.title, [w.title for w in s.widgets], [(t.text, t.before) for t in s.texts]) for s in spec.sections] == [
        ("Orders_Service", ["Before any heading"], [("Intro, not a heading", 0)]),
        ("Service", ["Orders"], [("Owned by the **orders** team.", 0), ("## Errors", 1)]),
        ("Latency", ["p99"], []),
    ]
    assert '  # not drawn: log widget "Errors": Logs Insights widgets have no image API' in path.read_text()


def test_an_imported_spec_keeps_a_readable_key_order_and_one_line_rows() -> None:
    text_ = dashboard_spec("lambda", body("sample-lambda-function-variable"))
    assert ("  - title: Duration for ${FunctionName}\n    view: timeSeries\n    stacked: false\n"
            "    region: eu-west-1\n    period: 300\n    metrics:\n"
            "    - [AWS/Lambda, Duration, FunctionName, orders-api-handler, {stat: Average}]\n"
            "    width: 600\n    height: 300\n") in text_
    assert "# Variable `FunctionName` was resolved to `orders-api-handler`." in text_


@pytest.mark.parametrize(("name", "report_id"), [
    ("MyCustomDashboardName", "mycustomdashboardname"),
    ("prod_api-Latency__v2", "prod-api-latency-v2"),
    ("2024-capacity", "dashboard-2024-capacity"),
    ("x" * 100, "x" * 64),
])
def test_the_report_id_is_derived_from_the_name(name: str, report_id: str) -> None:
    assert f"\nreport: {report_id}\n" in dashboard_spec(name, body("aws-docs-metric-and-text"))


def test_a_given_report_id_must_be_valid() -> None:
    assert "\nreport: cpu\n" in dashboard_spec("docs", body("aws-docs-metric-and-text"), report_id="cpu")
    with pytest.raises(UsageError, match="report id `CPU` must be 1-64 lowercase letters"):
        dashboard_spec("docs", body("aws-docs-metric-and-text"), report_id="CPU")


def test_a_dashboard_with_nothing_to_draw_cannot_be_imported() -> None:
    only_logs = {"widgets": [text(0, 0, "# Logs"), {"type": "log", "properties": {"query": "fields @message"}}]}
    with pytest.raises(DashboardError, match="^dashboard `logs`: no widget can be drawn"):
        dashboard_spec("logs", only_logs)


# --- through the stand-in's GetDashboard ------------------------------------------------------------------


def test_a_body_read_back_with_get_dashboard_parses_the_same(standin: BackgroundStandIn) -> None:
    cloudwatch = boto3.client("cloudwatch", endpoint_url=standin.endpoint_url, region_name="us-east-1",
                              aws_access_key_id="local-dashboards", aws_secret_access_key="x")
    sent = body("cdk-alarm-and-dashboard")
    cloudwatch.put_dashboard(DashboardName="reportgen-dashboards-test", DashboardBody=json.dumps(sent))
    got = cloudwatch.get_dashboard(DashboardName="reportgen-dashboards-test")["DashboardBody"]
    assert parse_dashboard("reportgen-dashboards-test", got) == parse_dashboard("reportgen-dashboards-test", sent)
