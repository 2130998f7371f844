"""Reports whose content is decided at run time: repeats over given values and over what ListMetrics finds,
and sections taken from a dashboard, against the stand-in on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from pypdf import PdfReader

from reportgen.aws import open_clients
from reportgen.cli import EXIT_PARTIAL, main
from reportgen.errors import AwsError
from reportgen.expand import Expanded, expand, substitute
from reportgen.local import BackgroundStandIn
from reportgen.model import AwsTarget, ClientKey, RetryPolicy, TextItem, WidgetSpec
from reportgen.ratelimit import AccountLimits
from reportgen.spec import load_spec

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, timeout=10)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text("report: dynamic\ntitle: Dynamic\naws: {region: us-east-1, profile: dynamic}\n" + text)
    return path


@pytest.fixture
async def source(standin: BackgroundStandIn) -> AsyncIterator[Callable[[AwsTarget], Any]]:
    key = ClientKey("dynamic", "us-east-1")
    async with open_clients([key], endpoint_url=standin.endpoint_url, local=True) as clients:
        limits = AccountLimits()
        yield lambda aws: (clients[ClientKey.of(aws)], limits)


def cloudwatch(standin: BackgroundStandIn) -> Any:
    return boto3.client("cloudwatch", endpoint_url=standin.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="local-dynamic", aws_secret_access_key="x")


def test_substitute_replaces_the_variable_and_leaves_dynamic_labels() -> None:
    source = {"title": "CPU of ${host}", "metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "${host}",
                                                      {"label": "${host} ${AVG}"}]], "period": 300}
    assert substitute(source, "host", "i-1") == {
        "title": "CPU of i-1", "metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-1",
                                            {"label": "i-1 ${AVG}"}]], "period": 300}


async def test_a_section_repeated_over_values(tmp_path: Path, source: Any) -> None:
    spec = load_spec(write(tmp_path, """\
sections:
  - title: Host ${host}
    repeat: {values: [web-1, web-2], as: host}
    widgets:
      - text: Graphs of **${host}**.
      - title: CPU of ${host}
        metrics: [[AWS/EC2, CPUUtilization, InstanceId, "${host}"]]
"""))
    expanded = await expand(spec, source, FAST)
    assert [s.title for s in expanded.spec.sections] == ["Host web-1", "Host web-2"]
    assert [s.texts[0].text for s in expanded.spec.sections] == ["Graphs of **web-1**.", "Graphs of **web-2**."]
    widget = expanded.spec.sections[1].widgets[0]
    assert widget.title == "CPU of web-2" and widget.source["metrics"] == [["AWS/EC2", "CPUUtilization",
                                                                            "InstanceId", "web-2"]]
    assert expanded.problems == ()


async def test_a_widget_repeated_in_place_keeps_the_items_around_it(tmp_path: Path, source: Any) -> None:
    spec = load_spec(write(tmp_path, """\
sections:
  - title: S
    widgets:
      - title: first
        metrics: [[A, B]]
      - text: before the repeat
      - title: Queue ${value}
        repeat: [orders, events, audit]
        metrics: [[AWS/SQS, ApproximateAgeOfOldestMessage, QueueName, "${value}"]]
      - text: after it
      - title: last
        metrics: [[A, B]]
"""))
    (section,) = (await expand(spec, source, FAST)).spec.sections
    assert [w.title for w in section.widgets] == ["first", "Queue orders", "Queue events", "Queue audit", "last"]
    assert [(t.text, t.before) for t in section.texts] == [("before the repeat", 1), ("after it", 4)]
    assert all(w.repeat is None for w in section.widgets)


async def test_repeat_over_the_dimension_values_list_metrics_finds(tmp_path: Path, source: Any,
                                                                   standin: BackgroundStandIn) -> None:
    now = datetime.now(UTC) - timedelta(minutes=5)
    namespace = f"Test/Expand{tmp_path.name[-8:]}"
    cloudwatch(standin).put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": "Load", "Dimensions": [{"Name": "Host", "Value": host}, {"Name": "Pool", "Value": pool}],
         "Timestamp": now, "Value": 1.0}
        for host, pool in (("web-b", "web"), ("web-a", "web"), ("web-c", "web"), ("db-1", "web"), ("web-z", "batch"))])
    spec = load_spec(write(tmp_path, f"""\
sections:
  - title: Load
    widgets:
      - title: Load of ${{value}}
        repeat: {{metric: [{namespace}, Load], dimension: Host, dimensions: {{Pool: web}}, match: "web-*", limit: 2}}
        metrics: [[{namespace}, Load, Host, "${{value}}", Pool, web]]
"""))
    expanded = await expand(spec, source, FAST)
    assert [w.title for w in expanded.spec.sections[0].widgets] == ["Load of web-a", "Load of web-b"]
    assert expanded.notes == (f"dynamic: widget 'Load of ${{value}}': 1 more Host values of {namespace} Load left "
                              "out by `limit: 2`",)


async def test_a_repeat_whose_values_cannot_be_listed_says_so_in_its_place(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, """\
sections:
  - title: S
    widgets:
      - title: W ${value}
        repeat: {metric: [AWS/EC2, CPUUtilization], dimension: InstanceId}
        metrics: [[AWS/EC2, CPUUtilization, InstanceId, "${value}"]]
"""))
    denied = AwsError("User is not authorized to perform cloudwatch:ListMetrics", code="AccessDenied")
    expanded = await expand(spec, lambda aws: (denied, AccountLimits()), FAST)
    (section,) = expanded.spec.sections
    assert section.widgets == () and "could not be listed: AccessDenied" in section.texts[0].text
    assert expanded.problems == ("dynamic: widget 'W ${value}': ListMetrics failed: AccessDenied: User is not "
                                 "authorized to perform cloudwatch:ListMetrics",)


def test_repeat_and_dashboard_keys_are_checked_at_load(tmp_path: Path) -> None:
    from reportgen.errors import SpecError

    for text, message in [
        ("sections:\n  - title: S\n    repeat: {metric: [A, B]}\n    widgets: [{metrics: [[A, B]]}]\n",
         "needs the `dimension`"),
        ("sections:\n  - title: S\n    repeat: {values: [a], metric: [A, B], dimension: D}\n"
         "    widgets: [{metrics: [[A, B]]}]\n", "either `values"),
        ("sections:\n  - title: S\n    dashboard: ops\n    widgets: [{metrics: [[A, B]]}]\n", "either `widgets`"),
        ("sections:\n  - title: S\n    variables: {a: b}\n    widgets: [{metrics: [[A, B]]}]\n", "has no `dashboard`"),
        ("sections:\n  - title: S\n    dashboard: has space\n", "a dashboard name"),
        ("sections:\n  - title: S\n    aws: {rate_limit: 5}\n    dashboard: ops\n", "the rate limit is the account"),
        ("sections:\n  - title: S\n    aws: {role_arn: nope}\n    dashboard: ops\n", "an IAM role ARN"),
    ]:
        with pytest.raises(SpecError, match=message):
            load_spec(write(tmp_path, text))


def test_section_and_widget_aws_inherit_from_the_report(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, """\
sections:
  - title: S
    aws: {region: eu-west-1, role_arn: "arn:aws:iam::123456789012:role/Reader", external_id: x-42}
    widgets:
      - metrics: [[A, B]]
      - metrics: [[A, B]]
        aws: {profile: other}
"""))
    section = spec.sections[0]
    assert section.aws == AwsTarget(region="eu-west-1", profile="dynamic",
                                    role_arn="arn:aws:iam::123456789012:role/Reader", external_id="x-42")
    assert section.widgets[0].aws == section.aws
    assert section.widgets[1].aws == AwsTarget(region="eu-west-1", profile="other")  # a new profile, no role


DASHBOARD = {
    "widgets": [
        {"type": "text", "x": 0, "y": 0, "width": 24, "height": 2, "properties": {"markdown": "# Orders\nThe API."}},
        {"type": "metric", "x": 12, "y": 2, "width": 12, "height": 6,
         "properties": {"title": "Right", "region": "us-east-1", "stat": "Sum", "period": 300,
                        "metrics": [["AWS/ApiGateway", "Count", "ApiName", "orders"]]}},
        {"type": "metric", "x": 0, "y": 2, "width": 12, "height": 6,
         "properties": {"title": "Left", "region": "us-east-1", "metrics": [["AWS/Lambda", "Errors"]]}},
        {"type": "log", "x": 0, "y": 8, "width": 24, "height": 6,
         "properties": {"title": "Errors by route", "query": "SOURCE '/aws/lambda/x' | stats count(*)",
                        "region": "us-east-1"}},
    ],
}


async def test_a_dashboard_section_takes_its_widgets_in_reading_order(tmp_path: Path, source: Any,
                                                                      standin: BackgroundStandIn) -> None:
    name = f"orders-{tmp_path.name[-8:]}"
    cloudwatch(standin).put_dashboard(DashboardName=name, DashboardBody=json.dumps(DASHBOARD))
    spec = load_spec(write(tmp_path, f"table: true\nsections:\n  - title: From the dashboard\n    dashboard: {name}\n"))
    expanded: Expanded = await expand(spec, source, FAST)
    (section,) = expanded.spec.sections
    assert [w.title for w in section.widgets] == ["Left", "Right"]
    assert all(isinstance(w, WidgetSpec) and w.table for w in section.widgets)
    texts = [t.text for t in section.texts]
    assert texts[0].startswith("# Orders") and "Errors by route" in texts[-1] and "log" in texts[-1]
    assert expanded.problems == ()


async def test_a_missing_dashboard_is_a_problem_of_its_section(tmp_path: Path, source: Any) -> None:
    spec = load_spec(write(tmp_path, "sections:\n  - title: Gone\n    dashboard: no-such-dashboard\n"))
    expanded = await expand(spec, source, FAST)
    (problem,) = expanded.problems
    assert problem.startswith("dynamic: section 'Gone': dashboard `no-such-dashboard` could not be read: ")
    assert "ResourceNotFound" in problem
    (section,) = expanded.spec.sections
    assert section.widgets == () and isinstance(section.texts[0], TextItem)


def test_run_with_a_dashboard_and_a_repeat(tmp_path: Path, standin: BackgroundStandIn,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    name = f"run-{tmp_path.name[-8:]}"
    cloudwatch(standin).put_dashboard(DashboardName=name, DashboardBody=json.dumps(DASHBOARD))
    spec = write(tmp_path, f"""\
sections:
  - title: Dashboard
    dashboard: {name}
  - title: Queue ${{value}}
    repeat: [orders, events]
    widgets:
      - title: Age of ${{value}}
        metrics: [[AWS/SQS, ApproximateAgeOfOldestMessage, QueueName, "${{value}}"]]
  - title: Missing
    dashboard: not-there
""")
    code = main(["run", str(spec), "--out", str(tmp_path), "-q", "--no-deliver", "--date", "2026-11-26",
                 "--endpoint-url", standin.endpoint_url])
    err = capsys.readouterr().err
    assert code == EXIT_PARTIAL, err  # the missing dashboard; everything else was drawn
    assert "dashboard `not-there` could not be read" in err
    reader = PdfReader(tmp_path / "dynamic-2026-11-26.pdf")
    titles = [entry.title for entry in reader.outline if not isinstance(entry, list)]
    assert titles == ["Contents", "Dashboard", "Queue orders", "Queue events", "Missing"]


def test_import_dashboard_writes_a_spec_that_loads(tmp_path: Path, standin: BackgroundStandIn,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    name = f"import-{tmp_path.name[-8:]}"
    cloudwatch(standin).put_dashboard(DashboardName=name, DashboardBody=json.dumps(DASHBOARD))
    out = tmp_path / "imported.yaml"
    args = ["import-dashboard", name, "--out", str(out), "--endpoint-url", standin.endpoint_url,
            "--profile", "dynamic"]
    assert main(args) == 0
    spec = load_spec(out)
    assert [w.title for s in spec.sections for w in s.widgets] == ["Left", "Right"]
    assert "Errors by route" in out.read_text()  # the log widget, listed as a comment
    assert main(args) == 2  # never overwrites
    assert "exists" in capsys.readouterr().err
    assert main(["import-dashboard", "no-such", "--endpoint-url", standin.endpoint_url]) == 2
    assert "dashboard no-such: ResourceNotFound" in capsys.readouterr().err
