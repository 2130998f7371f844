"""Alarms in the stand-in: evaluation as AWS documents it, the API over loopback, the seeded estate's alarms,
and an alarm's threshold on a graph."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from botocore.exceptions import ClientError

from reportgen.local import BackgroundStandIn, alarms, render
from reportgen.local.operations import Operations
from reportgen.local.protocols import ServiceError
from reportgen.local.seed import ALARMS, seed
from reportgen.local.store import MetricStore
from reportgen.local.widget import parse_widget

TICK = 1_800_000_000  # a whole minute (and hour)
# A fixed week of seeded data, so the alarms that fire in it are always the same.
WEEK_END = datetime(2026, 11, 30, tzinfo=UTC)


# ---- evaluation: the tables of AWS's "How alarm state is evaluated when data is missing" ----------------------

def _evaluated(datapoints: str, m: int, n: int, missing: str, before: str) -> str:
    """The state after one evaluation of a 1-minute alarm whose range holds ``datapoints`` (oldest first; 0 not
    breaching, X breaching, - missing), starting from ``before``."""
    params = {"AlarmName": "table", "Namespace": "T", "MetricName": "m", "Statistic": "Average", "Period": 60,
              "EvaluationPeriods": n, "DatapointsToAlarm": m, "Threshold": 1.0,
              "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": missing}
    record, _ = alarms.put(params, None, TICK - 1)
    record = alarms.Record(record.alarm, alarms.State(before, "", None, TICK - 1, TICK - 1), TICK - 1)
    points = datapoints.split()
    first = TICK - 60 * len(points)
    starts = np.array([first + 60 * index for index, point in enumerate(points) if point != "-"], dtype=np.int64)
    values = np.array([{"0": 0.0, "X": 2.0}[point] for point in points if point != "-"])
    current, _ = alarms.evaluate(record, TICK, lambda start, end: (starts, values))
    return current.state.value


TABLE_3_OF_3 = [("0 - X - X", "OK", "OK", "OK", "OK"),
                ("0 - - - -", "OK", "OK", "OK", "OK"),
                ("- - - - -", "INSUFFICIENT_DATA", "retain", "ALARM", "OK"),
                ("0 X X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
                ("- - - - X", "INSUFFICIENT_DATA", "retain", "ALARM", "OK"),
                ("X - - - -", "ALARM", "retain", "ALARM", "OK")]
TABLE_2_OF_3 = [("0 - X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
                ("0 0 X 0 X", "ALARM", "ALARM", "ALARM", "ALARM"),
                ("0 - X - -", "OK", "OK", "ALARM", "OK"),
                ("- - - - 0", "OK", "OK", "ALARM", "OK"),
                ("- - - - X", "INSUFFICIENT_DATA", "retain", "ALARM", "OK")]


@pytest.mark.parametrize(("m", "row"), [(3, row) for row in TABLE_3_OF_3] + [(2, row) for row in TABLE_2_OF_3])
@pytest.mark.parametrize("before", ["OK", "ALARM"])
def test_missing_data_is_treated_as_aws_documents(m: int, row: tuple[str, ...], before: str) -> None:
    datapoints, *expected = row
    for missing, state in zip(("missing", "ignore", "breaching", "notBreaching"), expected):
        assert _evaluated(datapoints, m, 3, missing, before) == (before if state == "retain" else state), missing


# ---- the API over loopback ------------------------------------------------------------------------------------

class Clock:
    """The stand-in's wall clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at.timestamp()


START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
CPU = [10, 90, 91, 92, 10, 95, 96, 97, 98, 5]  # one value a minute from START: two stays over 80


@pytest.fixture(scope="module")
def clocked() -> Iterator[tuple[BackgroundStandIn, Clock]]:
    clock = Clock(START)
    with BackgroundStandIn(workers=1, wall_clock=clock, synthetic=False) as standin:
        yield standin, clock


@pytest.fixture
def api(clocked: tuple[BackgroundStandIn, Clock], boto3_cloudwatch: Callable[..., Any],
        namespace: str) -> Iterator[tuple[Any, Clock, str]]:
    """A client of the clocked stand-in, its clock at START, and a namespace whose ``cpu`` holds CPU."""
    standin, clock = clocked
    clock.at = START
    client = boto3_cloudwatch(standin.endpoint_url)
    client.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": "cpu", "Value": float(value), "Timestamp": START + timedelta(minutes=index)}
        for index, value in enumerate(CPU)])
    yield client, clock, namespace


def cpu_alarm(namespace: str, **overrides: Any) -> dict[str, Any]:
    return {"AlarmName": f"{namespace}-cpu", "Namespace": namespace, "MetricName": "cpu", "Statistic": "Average",
            "Period": 60, "EvaluationPeriods": 3, "Threshold": 80.0, "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching", "AlarmDescription": "CPU above 80", **overrides}


def test_an_alarm_is_evaluated_over_the_stored_data_and_writes_history_as_cloudwatch_does(
        api: tuple[Any, Clock, str]) -> None:
    client, clock, namespace = api
    client.put_metric_alarm(**cpu_alarm(namespace))
    (created,) = client.describe_alarms(AlarmNames=[f"{namespace}-cpu"])["MetricAlarms"]
    assert (created["StateValue"], created["StateReason"]) == ("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation")
    clock.at = START + timedelta(minutes=20)
    history = client.describe_alarm_history(AlarmName=f"{namespace}-cpu", HistoryItemType="StateUpdate",
                                            ScanBy="TimestampAscending")["AlarmHistoryItems"]
    assert [(item["Timestamp"] - START, item["HistorySummary"]) for item in history] == [
        (timedelta(minutes=1), "Alarm updated from INSUFFICIENT_DATA to OK"),
        (timedelta(minutes=4), "Alarm updated from OK to ALARM"),
        (timedelta(minutes=5), "Alarm updated from ALARM to OK"),
        (timedelta(minutes=8), "Alarm updated from OK to ALARM"),
        (timedelta(minutes=10), "Alarm updated from ALARM to OK")]
    data = json.loads(history[1]["HistoryData"])
    at = START.strftime("%d/%m/%y %H")
    assert data["newState"]["stateReason"] == (
        f"Threshold Crossed: 3 out of the last 3 datapoints [92.0 ({at}:03:00), 91.0 ({at}:02:00), 90.0 ({at}:01:00)] "
        "were greater than the threshold (80.0) (minimum 3 datapoints for OK -> ALARM transition).")
    assert data["version"] == "1.0" and data["oldState"]["stateValue"] == "OK"
    assert data["newState"]["stateReasonData"]["recentDatapoints"] == [90.0, 91.0, 92.0]
    assert data["newState"]["stateReasonData"]["evaluatedDatapoints"][0] == {
        "timestamp": (START + timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%S.000+0000"), "value": 92.0}
    (now,) = client.describe_alarms(AlarmNamePrefix=namespace, StateValue="OK")["MetricAlarms"]
    assert now["StateReason"].startswith("Threshold Crossed: 1 out of the last 3 datapoints [5.0 ")
    assert client.describe_alarms(AlarmNamePrefix=namespace, StateValue="ALARM")["MetricAlarms"] == []
    configuration = client.describe_alarm_history(AlarmName=f"{namespace}-cpu",
                                                  HistoryItemType="ConfigurationUpdate")["AlarmHistoryItems"]
    assert [item["HistorySummary"] for item in configuration] == [f'Alarm "{namespace}-cpu" created']


def test_set_alarm_state_holds_until_the_next_evaluation(api: tuple[Any, Clock, str]) -> None:
    client, clock, namespace = api
    client.put_metric_alarm(**cpu_alarm(namespace))
    clock.at = START + timedelta(minutes=30, seconds=10)
    client.set_alarm_state(AlarmName=f"{namespace}-cpu", StateValue="ALARM", StateReason="testing the pager")
    (held,) = client.describe_alarms(AlarmNames=[f"{namespace}-cpu"])["MetricAlarms"]
    assert (held["StateValue"], held["StateReason"]) == ("ALARM", "testing the pager")
    clock.at = START + timedelta(minutes=31)
    newest = client.describe_alarm_history(AlarmName=f"{namespace}-cpu", MaxRecords=2)["AlarmHistoryItems"]
    assert [item["HistorySummary"] for item in newest] == ["Alarm updated from ALARM to OK",
                                                          "Alarm updated from OK to ALARM"]
    assert newest[0]["Timestamp"] == START + timedelta(minutes=31)


def test_alarms_page_filter_and_go(api: tuple[Any, Clock, str]) -> None:
    client, _, namespace = api
    for name in ("b", "a", "c"):
        client.put_metric_alarm(**cpu_alarm(namespace, AlarmName=f"{namespace}-{name}"))
    names, token = [], None
    while True:
        more = {"NextToken": token} if token else {}
        page = client.describe_alarms(AlarmNamePrefix=namespace, MaxRecords=2, **more)
        names += [alarm["AlarmName"] for alarm in page["MetricAlarms"]]
        token = page.get("NextToken")
        if not token:
            break
    assert names == [f"{namespace}-{name}" for name in "abc"]
    found = client.describe_alarms_for_metric(Namespace=namespace, MetricName="cpu")["MetricAlarms"]
    assert len(found) == 3
    assert client.describe_alarms(AlarmNamePrefix=namespace, AlarmTypes=["CompositeAlarm"])["MetricAlarms"] == []
    with pytest.raises(ClientError) as missing:
        client.delete_alarms(AlarmNames=[f"{namespace}-a", f"{namespace}-nope"])
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
    client.delete_alarms(AlarmNames=[f"{namespace}-a", f"{namespace}-b"])
    assert [alarm["AlarmName"] for alarm in client.describe_alarms(AlarmNamePrefix=namespace)["MetricAlarms"]] == [
        f"{namespace}-c"]
    assert client.describe_alarm_history(AlarmName=f"{namespace}-a")["AlarmHistoryItems"] == []


def test_an_alarm_on_math_watches_its_result(api: tuple[Any, Clock, str]) -> None:
    client, clock, namespace = api
    client.put_metric_alarm(
        AlarmName=f"{namespace}-math", EvaluationPeriods=1, Threshold=150.0, ComparisonOperator="GreaterThanThreshold",
        Metrics=[{"Id": "m1", "ReturnData": False, "MetricStat": {
                     "Metric": {"Namespace": namespace, "MetricName": "cpu"}, "Period": 60, "Stat": "Average"}},
                 {"Id": "e1", "Expression": "m1 * 2", "Label": "double"}])
    clock.at = START + timedelta(minutes=20)
    history = client.describe_alarm_history(AlarmName=f"{namespace}-math", HistoryItemType="StateUpdate",
                                            ScanBy="TimestampAscending")["AlarmHistoryItems"]
    into = [item["Timestamp"] - START for item in history if item["HistorySummary"].endswith("to ALARM")]
    assert into == [timedelta(minutes=2), timedelta(minutes=6)]


@pytest.mark.parametrize(("change", "code", "words"), [
    ({"DatapointsToAlarm": 4}, "ValidationError", "DatapointsToAlarm (4) must be less than or equal to"),
    ({"Period": 90}, "ValidationError", "Period must be 10, 20, 30 or a multiple of 60, not 90"),
    ({"Period": 3000, "EvaluationPeriods": 30}, "ValidationError", "at most one day"),
    ({"ExtendedStatistic": "p99"}, "InvalidParameterCombination", "Exactly one of the parameters Statistic and"),
    ({"TreatMissingData": "sometimes"}, "ValidationError", "TreatMissingData must be one of"),
    ({"Metrics": [{"Id": "e1", "Expression": "1"}]}, "InvalidParameterCombination", "Metrics and MetricName"),
    ({"ComparisonOperator": "GreaterThanUpperThreshold"}, "ValidationError", "anomaly detection"),
])
def test_put_metric_alarm_refuses_what_cloudwatch_refuses(api: tuple[Any, Clock, str], change: dict[str, Any],
                                                          code: str, words: str) -> None:
    client, _, namespace = api
    with pytest.raises(ClientError) as refused:
        client.put_metric_alarm(**cpu_alarm(namespace, **change))
    assert refused.value.response["Error"]["Code"] == code
    assert words in refused.value.response["Error"]["Message"]
    assert client.describe_alarms(AlarmNamePrefix=namespace)["MetricAlarms"] == []


# ---- the seeded estate ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def seeded_week() -> Operations:
    store = MetricStore()
    seed(store, WEEK_END - timedelta(days=7), WEEK_END, published=WEEK_END.timestamp())
    return Operations(store, clock=WEEK_END.timestamp, synthetic=False)


def test_in_the_seeded_week_alarms_fire_recover_and_flap(seeded_week: Operations) -> None:
    listed = seeded_week.describe_alarms({})["MetricAlarms"]
    assert sorted(alarm["AlarmName"] for alarm in listed) == sorted(params["AlarmName"] for params in ALARMS)
    fired = {}
    for params in ALARMS:
        items = seeded_week.describe_alarm_history({"AlarmName": params["AlarmName"], "HistoryItemType": "StateUpdate",
                                                    "ScanBy": "TimestampAscending"})["AlarmHistoryItems"]
        assert all(WEEK_END - timedelta(days=7) < item["Timestamp"] <= WEEK_END for item in items)
        fired[params["AlarmName"]] = sum(item["HistorySummary"].endswith("to ALARM") for item in items)
        recovered = sum(item["HistorySummary"] == "Alarm updated from ALARM to OK" for item in items)
        assert recovered >= fired[params["AlarmName"]] - 1
    assert sum(count > 0 for count in fired.values()) >= 4, fired
    assert max(fired.values()) >= 3, fired  # some flap


# ---- the threshold on a graph ---------------------------------------------------------------------------------

def test_an_alarm_annotation_draws_the_threshold_as_the_console_labels_it(seeded_week: Operations) -> None:
    widget = parse_widget(json.dumps({
        "metrics": [["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", "prod-web-asg"]], "start": "-PT6H",
        "end": WEEK_END.isoformat(), "width": 300, "height": 200}), now=WEEK_END)
    (alarm,) = seeded_week.describe_alarms({"AlarmNames": ["prod-web-cpu-high"]})["MetricAlarms"]
    drawn = seeded_week.with_alarms(widget, [alarm["AlarmArn"]])
    (line,) = drawn.horizontal
    assert (line.value, line.label, line.color, line.fill) == (
        70.0, "CPUUtilization > 70.0 for 3 datapoints within 3 minutes", alarms.ALARM_COLOR, "above")
    assert drawn.metrics == widget.metrics
    assert render.render_png(drawn) != render.render_png(widget)
    alone = seeded_week.with_alarms(replace(widget, metrics=()), [alarm["AlarmArn"]])
    assert [(row.namespace, row.name, row.dimensions, row.stat, row.period) for row in alone.metrics] == [
        ("AWS/EC2", "CPUUtilization", (("AutoScalingGroupName", "prod-web-asg"),), "Maximum", 60)]
    with pytest.raises(ServiceError, match="no alarm named 'gone'"):
        seeded_week.with_alarms(widget, ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:gone"])


def test_get_metric_widget_image_draws_the_alarms_a_widget_names(api: tuple[Any, Clock, str]) -> None:
    # Over the wire: the threshold changes the picture, an alarm alone brings its metric, an unknown one is refused.
    client, clock, namespace = api
    client.put_metric_alarm(**cpu_alarm(namespace))
    (alarm,) = client.describe_alarms(AlarmNames=[f"{namespace}-cpu"])["MetricAlarms"]
    base = {"start": START.isoformat(), "end": (START + timedelta(minutes=len(CPU))).isoformat(),
            "width": 300, "height": 200}
    plain = {**base, "metrics": [[namespace, "cpu"]]}

    def image(widget: dict[str, Any]) -> bytes:
        return bytes(client.get_metric_widget_image(MetricWidget=json.dumps(widget))["MetricWidgetImage"])

    with_threshold = image({**plain, "annotations": {"alarms": [alarm["AlarmArn"]]}})
    assert with_threshold != image(plain)
    assert image({**base, "annotations": {"alarms": [alarm["AlarmArn"]]}}).startswith(b"\x89PNG")
    with pytest.raises(ClientError) as caught:
        image({**plain, "annotations": {"alarms": [alarm["AlarmArn"].replace("-cpu", "-gone")]}})
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "no alarm named" in caught.value.response["Error"]["Message"]
