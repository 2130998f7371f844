"""SEARCH over the metric store: GetMetricData and GetMetricWidgetImage find the stored metrics a search
expression matches and give each one's statistic over the window, labelled as CloudWatch labels them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError

from reportgen.local import BackgroundStandIn
from reportgen.local.mathexpr import TimeSeries
from reportgen.local.operations import MAX_SEARCH_RESULTS, SEARCH_HISTORY
from reportgen.local.render import render_png
from reportgen.local.search import Answers
from reportgen.local.widget import parse_widget

from .protocol_clients import iso

START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
END = START + timedelta(hours=1)
MINUTE = timedelta(minutes=1)
INSTANCES = {"i-1": 10.0, "i-2": 20.0, "i-3": 30.0}  # each instance's level; minute m adds m


@pytest.fixture
def client(standin: BackgroundStandIn, boto3_cloudwatch: Callable[..., Any], namespace: str) -> Any:
    """A client of the session's stand-in, its namespace holding CPU of three instances over START's first
    10 minutes, one instance's network, and CPU by instance type (which {ns,InstanceId} must not find)."""
    cloudwatch = boto3_cloudwatch(standin.endpoint_url)
    data = [datum("CPUUtilization", level + m, m, InstanceId=instance) for instance, level in INSTANCES.items()
            for m in range(10)]
    data += [datum("NetworkIn", 1000.0, m, InstanceId="i-1") for m in range(10)]
    data += [datum("CPUUtilization", 50.0, m, InstanceType="t3.micro") for m in range(10)]
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)
    return cloudwatch


def datum(name: str, value: float, minute: int, **dimensions: str) -> dict[str, Any]:
    return {"MetricName": name, "Value": value, "Timestamp": START + minute * MINUTE, "Unit": "Percent",
            "Dimensions": [{"Name": key, "Value": item} for key, item in dimensions.items()]}


def results(answer: dict[str, Any]) -> list[tuple[str, str, list[float]]]:
    return [(result["Id"], result["Label"], result["Values"]) for result in answer["MetricDataResults"]]


def test_get_metric_data_searches_the_stored_metrics(client: Any, namespace: str) -> None:
    cpu = f"SEARCH('{{{namespace},InstanceId}} MetricName=\"CPUUtilization\"', 'Average', 300)"
    answer = client.get_metric_data(MetricDataQueries=[
        {"Id": "cpu", "Expression": cpu},
        {"Id": "total", "Expression": "SUM(cpu)"},
        {"Id": "one", "Expression": f"SEARCH('{{{namespace},InstanceId}} InstanceId=\"i-2\" CPU', 'Maximum', 600)"},
        {"Id": "both", "Expression": f"SEARCH('{{{namespace},InstanceId}} i-1', 'SampleCount', 3600)"},
    ], StartTime=START, EndTime=END, ScanBy="TimestampAscending")
    # Averages of minutes 0-4 and 5-9: level + 2 and level + 7.
    assert results(answer) == [
        ("cpu", "i-1", [12.0, 17.0]), ("cpu", "i-2", [22.0, 27.0]), ("cpu", "i-3", [32.0, 37.0]),
        ("total", "total", [66.0, 81.0]),
        ("one", "CPUUtilization", [29.0]),
        ("both", "CPUUtilization", [10.0]), ("both", "NetworkIn", [10.0])]


def test_a_search_finds_what_its_terms_say(client: Any, namespace: str) -> None:
    def labels(search: str) -> list[str]:
        answer = client.get_metric_data(MetricDataQueries=[
            {"Id": "s", "Expression": f"SEARCH('{search}', 'Average', 3600)"}], StartTime=START, EndTime=END)
        return [label for _, label, _ in results(answer)]

    assert labels(f'Namespace="{namespace}" NOT InstanceId="i-2"') == [
        "i-1 CPUUtilization", "i-3 CPUUtilization", "t3.micro CPUUtilization", "i-1 NetworkIn"]
    assert labels(f'{{{namespace},InstanceType}} micro') == ["CPUUtilization"]
    assert labels(f'{{{namespace}}} CPUUtilization') == []  # no metric of that namespace lacks dimensions
    assert labels(f'Namespace="{namespace}" (Network OR (CPU AND i-3))') == ["i-3 CPUUtilization", "i-1 NetworkIn"]


def test_a_result_without_data_in_the_window_is_empty(client: Any, namespace: str) -> None:
    later = END + timedelta(hours=1)
    answer = client.get_metric_data(MetricDataQueries=[
        {"Id": "s", "Expression": f"SEARCH('{{{namespace},InstanceId}} NetworkIn', 'Sum', 60)"},
        {"Id": "kept", "Expression": "REMOVE_EMPTY(s)"}], StartTime=END, EndTime=later)
    assert results(answer) == [("s", "NetworkIn", [])]


SEARCH_ERRORS = {
    "syntax": ("SEARCH('{AWS/EC2', 'Average', 300)", "SEARCH('{AWS/EC2'): the metric schema must be"),
    "statistic": ("SEARCH('{AWS/EC2}', 'Mean', 300)", "SEARCH: 'Mean' is not a statistic"),
    "period": ("SEARCH('{AWS/EC2}', 'Average', 45)", "SEARCH: the period must be 1, 5, 10, 20, 30, 60"),
}


@pytest.mark.parametrize(("expression", "message"), SEARCH_ERRORS.values(), ids=SEARCH_ERRORS.keys())
def test_a_bad_search_is_refused(client: Any, expression: str, message: str) -> None:
    with pytest.raises(ClientError) as caught:
        client.get_metric_data(MetricDataQueries=[{"Id": "s", "Expression": expression}],
                               StartTime=START, EndTime=END)
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert message in caught.value.response["Error"]["Message"]
    widget = json.dumps({"metrics": [[{"expression": expression, "id": "s"}]], "start": iso(START), "end": iso(END)})
    with pytest.raises(ClientError) as caught:
        client.get_metric_widget_image(MetricWidget=widget)
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert message in caught.value.response["Error"]["Message"]


def test_a_widget_draws_what_its_search_finds(client: Any, namespace: str) -> None:
    search = f"{{{namespace},InstanceId}} CPUUtilization"
    text = json.dumps({"metrics": [[{"expression": f"SEARCH('{search}', 'Maximum', 60)", "id": "e1"}],
                                   [{"expression": "AVG(e1)", "id": "e2", "label": "mean"}]],
                       "start": iso(START), "end": iso(START + 15 * MINUTE), "width": 400, "height": 250})
    drawn = client.get_metric_widget_image(MetricWidget=text)["MetricWidgetImage"]
    minutes = int(START.timestamp()) + 60 * np.arange(10)
    expected = Answers({(search, "Maximum", 60): tuple(
        TimeSeries(minutes, level + np.arange(10.0), 60, instance) for instance, level in INSTANCES.items())})
    widget = parse_widget(text, now=END)
    assert drawn == render_png(widget, search=expected)
    assert drawn != render_png(widget)  # found nothing: "No data available"


def test_search_finds_metrics_with_data_in_the_past_two_weeks(
        make_standin: Callable[..., BackgroundStandIn], boto3_cloudwatch: Callable[..., Any]) -> None:
    now = [START.timestamp() + 3600]
    client = boto3_cloudwatch(make_standin(wall_clock=lambda: now[0]).endpoint_url)
    client.put_metric_data(Namespace="Old", MetricData=[datum("Jobs", 1.0, 0)])

    def found() -> int:
        answer = client.get_metric_data(MetricDataQueries=[{"Id": "s", "Expression": "SEARCH('{Old} Jobs', 'Sum')"}],
                                        StartTime=START - timedelta(days=20), EndTime=END)
        return len(answer["MetricDataResults"])

    assert found() == 1
    now[0] += SEARCH_HISTORY + 1
    assert found() == 0


def test_a_search_gives_at_most_500_series(client: Any, namespace: str) -> None:
    client.put_metric_data(Namespace=namespace, MetricData=[
        datum("Queue", 1.0, 0, QueueName=f"q{n:03}") for n in range(MAX_SEARCH_RESULTS + 1)])
    answer = client.get_metric_data(MetricDataQueries=[
        {"Id": "s", "Expression": f"SEARCH('{{{namespace},QueueName}}', 'Sum', 3600)"}], StartTime=START, EndTime=END)
    labels = [label for _, label, _ in results(answer)]
    assert len(labels) == MAX_SEARCH_RESULTS and labels[-1] == "q499"
