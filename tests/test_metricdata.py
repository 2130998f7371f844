"""The numbers behind a chart: widget JSON → GetMetricData queries (pure), and fetch_numbers against the stand-in.

The stand-in answers GetMetricData from its metric store only (synthetic data is for drawing), so this module
starts one on a store file written here: a value a minute for a week for eleven hosts, more than one page of
GetMetricData (100,800 datapoints) at a one-minute period.
"""

from __future__ import annotations

import asyncio
import json
import math
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from reportgen.aws import WidgetImageClient, open_clients
from reportgen.errors import AwsError, WidgetFailure
from reportgen.local import BackgroundStandIn
from reportgen.local.store import MetricKey, MetricStore
from reportgen.metricdata import fetch_numbers, metric_data_queries, series_stats, unit_of, window_of
from reportgen.model import ClientKey, RetryPolicy, SeriesData, SeriesStats
from reportgen.ratelimit import StrictRateLimiter

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def metric(namespace: str, name: str, *dimensions: tuple[str, str], period: int = 300, stat: str = "Average",
           label: str, visible: bool = True, **extra: Any) -> dict[str, Any]:
    return {"MetricStat": {"Metric": {"Namespace": namespace, "MetricName": name,
                                      "Dimensions": [{"Name": n, "Value": v} for n, v in dimensions]},
                           "Period": period, "Stat": stat},
            "Label": label, **extra, "ReturnData": visible}


# ---- widget → queries ------------------------------------------------------------------------------------------

QUERIES = {
    "shorthand rows, labels told apart by what differs": (
        {"metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"], [".", ".", ".", "i-2"],
                     ["...", "i-3", {"label": "third"}]]},
        [{"Id": "m1", **metric("AWS/EC2", "CPUUtilization", ("InstanceId", "i-1"), label="i-1 CPUUtilization")},
         {"Id": "m2", **metric("AWS/EC2", "CPUUtilization", ("InstanceId", "i-2"), label="i-2 CPUUtilization")},
         {"Id": "m3", **metric("AWS/EC2", "CPUUtilization", ("InstanceId", "i-3"), label="third")}],
    ),
    "hidden rows feed math": (
        {"period": 60, "metrics": [
            ["AWS/Lambda", "Errors", "FunctionName", "f", {"id": "errors", "visible": False, "stat": "Sum"}],
            [".", "Invocations", ".", ".", {"id": "inv", "visible": False, "stat": "Sum"}],
            [{"expression": "100 * errors / inv", "label": "Error rate", "id": "rate"}],
            [{"expression": "errors * 2"}]]},
        [{"Id": "errors", **metric("AWS/Lambda", "Errors", ("FunctionName", "f"), period=60, stat="Sum",
                                   label="Errors", visible=False)},
         {"Id": "inv", **metric("AWS/Lambda", "Invocations", ("FunctionName", "f"), period=60, stat="Sum",
                                label="Invocations", visible=False)},
         {"Id": "rate", "Expression": "100 * errors / inv", "Label": "Error rate", "ReturnData": True},
         {"Id": "e4", "Expression": "errors * 2", "ReturnData": True}],
    ),
    "per-row stat and period over the widget's": (
        {"stat": "Maximum", "period": 60, "metrics": [["App", "Latency", {"stat": "p99"}],
                                                      ["App", "Latency", {"period": 300}], ["App", "Latency"]]},
        [{"Id": "m1", **metric("App", "Latency", period=60, stat="p99", label="Latency p99 60s")},
         {"Id": "m2", **metric("App", "Latency", period=300, stat="Maximum", label="Latency Maximum 300s")},
         {"Id": "m3", **metric("App", "Latency", period=60, stat="Maximum", label="Latency Maximum 60s")}],
    ),
    "generated ids never take the widget's own": (
        {"metrics": [["App", "A"], ["App", "B", {"id": "m1"}], ["App", "C"], [{"expression": "m1 + m3", "id": "e5"}],
                     [{"expression": "m1", "label": "copy"}]]},
        [{"Id": "m2", **metric("App", "A", label="A")}, {"Id": "m1", **metric("App", "B", label="B")},
         {"Id": "m3", **metric("App", "C", label="C")},
         {"Id": "e5", "Expression": "m1 + m3", "ReturnData": True},
         {"Id": "e6", "Expression": "m1", "Label": "copy", "ReturnData": True}],
    ),
    "cross-account rows": (
        {"accountId": "111111111111", "metrics": [["App", "A"], ["App", "B", {"accountId": "222222222222"}]]},
        [{"Id": "m1", **metric("App", "A", label="A", AccountId="111111111111")},
         {"Id": "m2", **metric("App", "B", label="B", AccountId="222222222222")}],
    ),
    "setPeriodToTimeRange: one period over the range": (
        {"start": "2026-11-24T23:00:00Z", "end": "2026-11-25T23:00:30Z", "setPeriodToTimeRange": True,
         "metrics": [["App", "A", {"period": 60}]]},
        [{"Id": "m1", **metric("App", "A", period=86_460, label="A")}],
    ),
}


@pytest.mark.parametrize(("widget", "expected"), QUERIES.values(), ids=QUERIES.keys())
def test_queries_ask_for_what_the_chart_draws(widget: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    assert metric_data_queries(widget, now=NOW) == (expected, ())


def test_a_row_in_another_region_and_the_math_on_it_are_left_out_with_a_note() -> None:
    widget = {"region": "us-east-1", "metrics": [
        ["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"],
        [".", ".", ".", "i-9", {"region": "eu-west-1", "id": "far"}],
        [{"expression": "far * 100", "id": "pct", "label": "Far %"}],
        [{"expression": "pct + 1", "id": "more", "visible": False}],  # through other math; hidden: no note
        [{"expression": "m1 + 1", "label": "Near"}],
        [".", ".", ".", "i-2", {"region": "us-east-1"}],  # the widget's own region: kept
    ]}
    queries, notes = metric_data_queries(widget)
    assert [query["Id"] for query in queries] == ["m1", "e5", "m6"]
    assert notes == ("i-9 CPUUtilization is in eu-west-1; its numbers are not shown",
                     "Far % needs a metric in eu-west-1; its numbers are not shown")


def test_without_a_widget_region_the_callers_region_decides() -> None:
    widget = {"metrics": [["App", "A", {"region": "eu-west-1"}], ["App", "B"]]}
    assert [query["Id"] for query in metric_data_queries(widget)[0]] == ["m1", "m2"]
    queries, notes = metric_data_queries(widget, region="us-east-1")
    assert [query["Id"] for query in queries] == ["m2"]
    assert notes == ("A is in eu-west-1; its numbers are not shown",)


@pytest.mark.parametrize(("metrics", "message"), [
    (None, "the widget has no `metrics`"),
    ([[".", "CPUUtilization"]], "`metrics[0][0]` is \".\" but the metric row before has no value there"),
    ([["App", "A"], ["...", "x"]], "`metrics[1]` starts with \"...\" but the metric row before has too few"),
    ([["App"]], "`metrics[0]` must be [Namespace, MetricName, DimensionName, DimensionValue, …]"),
    ([[{"label": "nothing"}]], "`metrics[0]` has neither a metric nor an `expression`"),
])
def test_rows_that_cannot_be_read_are_widget_failures(metrics: Any, message: str) -> None:
    with pytest.raises(WidgetFailure, match="^" + message.replace("[", r"\[").replace(".", r"\.")):
        metric_data_queries({"metrics": metrics})


WINDOWS = {
    "absolute, with offsets": ({"start": "2026-11-25T00:00:00Z", "end": "2026-11-25T06:00:00+01:00"},
                               (datetime(2026, 11, 25, 0, tzinfo=UTC), datetime(2026, 11, 25, 5, tzinfo=UTC))),
    "naive means UTC": ({"start": "2026-11-25T00:00:00", "end": "2026-11-25T01:00:00"},
                        (datetime(2026, 11, 25, 0, tzinfo=UTC), datetime(2026, 11, 25, 1, tzinfo=UTC))),
    "unset: three hours to now": ({}, (NOW - timedelta(hours=3), NOW)),
    "duration start counts back from an absolute end": (
        {"start": "-P1D", "end": "2026-11-20T00:00:00Z"},
        (datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC))),
    "both durations count from now": ({"start": "-PT6H", "end": "-PT1H"},
                                      (NOW - timedelta(hours=6), NOW - timedelta(hours=1))),
    "an unsigned duration counts back too": ({"start": "PT2H"}, (NOW - timedelta(hours=2), NOW)),
}


@pytest.mark.parametrize(("widget", "expected"), WINDOWS.values(), ids=WINDOWS.keys())
def test_window_of(widget: dict[str, Any], expected: tuple[datetime, datetime]) -> None:
    assert window_of(widget, now=NOW) == expected


@pytest.mark.parametrize(("widget", "message"), [
    ({"start": "yesterday"}, "`start`: 'yesterday' is neither an ISO 8601 date/time"),
    ({"start": "2026-11-25T00:00:00Z", "end": "2026-11-24T00:00:00Z"}, "the widget's range is empty"),
])
def test_window_of_refuses_what_it_cannot_read(widget: dict[str, Any], message: str) -> None:
    with pytest.raises(WidgetFailure, match=message):
        window_of(widget, now=NOW)


# ---- stats and units -------------------------------------------------------------------------------------------


def test_series_stats() -> None:
    times = tuple(NOW + timedelta(minutes=n) for n in range(4))
    series = SeriesData("m1", "CPU", times, (3.0, 7.0, 1.0, 7.0), "Percent")
    assert series_stats(series) == SeriesStats("m1", "CPU", "Percent", minimum=1.0, average=4.5, maximum=7.0,
                                               last=7.0, max_at=times[1], points=4)


def test_series_stats_without_datapoints_has_no_numbers() -> None:
    assert series_stats(SeriesData("m1", "CPU", (), ())) == SeriesStats("m1", "CPU", None, None, None, None, None,
                                                                        None, 0)


@pytest.mark.parametrize(("namespace", "name", "stat", "unit"), [
    ("AWS/EC2", "CPUUtilization", "Average", "Percent"),
    ("AWS/EC2", "CPUUtilization", "SampleCount", "Count"),
    ("AWS/Lambda", "Duration", "p99", "Milliseconds"),
    ("AWS/RDS", "ReadLatency", "Maximum", "Seconds"),
    ("AWS/ApplicationELB", "TargetResponseTime", "p95", "Seconds"),
    ("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", "Seconds"),
    ("Custom/App", "Orders", "Sum", None),
])
def test_unit_of(namespace: str, name: str, stat: str, unit: str | None) -> None:
    assert unit_of(namespace, name, stat) == unit


# ---- against the stand-in ----------------------------------------------------------------------------------------

NAMESPACE = "Test/Numbers"
HOSTS = [f"h{n}" for n in range(1, 12)]
DAYS = 7
POLICY = RetryPolicy(attempts=10, base_delay=0.05, max_delay=0.4, timeout=20.0)


def stored_value(minute: int, host: int) -> float:
    """The value stored for ``HOSTS[host]`` in the week's ``minute``: exact in binary, often repeating its max."""
    return ((minute * 37 + host * 11) % 1000) / 8


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> tuple[datetime, datetime]:
    """The stored week: whole hours, ending an hour ago (within what the stand-in reads at a minute's grain)."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    return end - timedelta(days=DAYS), end


@pytest.fixture(scope="module")
def numbers_standin(tmp_path_factory: pytest.TempPathFactory,
                    week: tuple[datetime, datetime]) -> Iterator[BackgroundStandIn]:
    path = tmp_path_factory.mktemp("numbers") / "metrics.sqlite"
    store = MetricStore(str(path))
    first = int(week[0].timestamp())
    minutes = range(DAYS * 1440)
    with store.transaction():
        for host, name in enumerate(HOSTS):
            store.add_values(MetricKey.of(NAMESPACE, "Load", [("Host", name)]), "None",
                             [first + 60 * m for m in minutes], [stored_value(m, host) for m in minutes],
                             published=time.time())
    store.close()
    with BackgroundStandIn(workers=1, data=str(path)) as running:
        yield running


def by_hand(result: dict[str, Any]) -> tuple[list[datetime], list[float]]:
    return [t.astimezone(UTC) for t in result["Timestamps"]], [float(v) for v in result["Values"]]


def stats_by_hand(query_id: str, label: str, times: list[datetime], values: list[float]) -> SeriesStats:
    top = max(values)
    return SeriesStats(query_id, label, None, min(values), math.fsum(values) / len(values), top, values[-1],
                       times[values.index(top)], len(values))


async def direct(client: Any, queries: list[dict[str, Any]], start: datetime, end: datetime) -> dict[str, Any]:
    """GetMetricData straight through aiobotocore, every page."""
    results: dict[str, dict[str, Any]] = {}
    params: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end,
                              "ScanBy": "TimestampAscending"}
    while True:
        answer = await client.get_metric_data(**params)
        for result in answer["MetricDataResults"]:
            seen = results.setdefault(result["Id"], {**result, "Timestamps": [], "Values": []})
            seen["Timestamps"] += result["Timestamps"]
            seen["Values"] += result["Values"]
        if "NextToken" not in answer:
            return results
        params["NextToken"] = answer["NextToken"]


def widget_json(start: datetime, end: datetime, metrics: list[Any], **extra: Any) -> str:
    return json.dumps({"start": f"{start:%Y-%m-%dT%H:%M:%SZ}", "end": f"{end:%Y-%m-%dT%H:%M:%SZ}",
                       "timezone": "+0100", "region": "us-east-1", "metrics": metrics, **extra})


def raw_client(standin: BackgroundStandIn, profile: str) -> Any:
    """A plain aiobotocore client with the access key open_clients gives ``profile`` on the stand-in."""
    return AioSession().create_client(
        "cloudwatch", region_name="us-east-1", endpoint_url=standin.endpoint_url,
        aws_access_key_id=f"local-{profile}", aws_secret_access_key="testing",
        config=AioConfig(retries={"total_max_attempts": 1}))


async def test_numbers_equal_a_direct_get_metric_data_call_and_math_doubles_them(
        numbers_standin: BackgroundStandIn, week: tuple[datetime, datetime]) -> None:
    end = week[1]
    start = end - timedelta(hours=6)
    metrics = [
        [NAMESPACE, "Load", "Host", "h1", {"id": "m1"}],
        [".", ".", ".", "h2", {"stat": "Maximum", "period": 60, "accountId": "123456789012"}],
        ["...", "h3", {"visible": False, "id": "hidden"}],
        [{"expression": "m1 * 2", "label": "Twice h1", "id": "twice"}],
        [{"expression": "hidden - m1", "id": "diff"}],
    ]
    text = widget_json(start, end, metrics, period=300)
    queries, notes = metric_data_queries(json.loads(text))
    key = ClientKey("numbers-direct", "us-east-1")
    async with open_clients([key], endpoint_url=numbers_standin.endpoint_url, local=True) as clients:
        client = clients[key]
        assert isinstance(client, WidgetImageClient)
        numbers = await fetch_numbers(text, client, StrictRateLimiter(50), POLICY, now=datetime.now(UTC),
                                      previous=True)
    async with raw_client(numbers_standin, "numbers-direct") as raw:
        now_answer = await direct(raw, queries, start, end)
        before_answer = await direct(raw, queries, start - timedelta(hours=6), start)

    assert (numbers.error, numbers.notes, notes) == (None, (), ())
    labels = {"m1": "Load", "m2": "Load", "twice": "Twice h1", "diff": "hidden - m1"}
    assert [series.id for series in numbers.series] == list(labels) == list(now_answer)
    assert [stats.label for stats in numbers.stats] == [
        "h1 Load Average 300s", "h2 Load Maximum 60s", "Twice h1", "hidden - m1"]
    for answer, got in ((now_answer, numbers.stats), (before_answer, numbers.previous)):
        expected = [stats_by_hand(query_id, stats.label, *by_hand(answer[query_id]))
                    for query_id, stats in zip(answer, got)]
        assert list(got or ()) == expected
    m1, m2, twice, _ = numbers.stats
    assert (m1.points, m2.points) == (72, 360)  # six hours at 300 s and at 60 s
    assert (twice.minimum, twice.average, twice.maximum, twice.last) == tuple(
        2 * value for value in (m1.minimum, m1.average, m1.maximum, m1.last) if value is not None)
    assert (twice.max_at, twice.points) == (m1.max_at, m1.points)
    assert numbers.series[0].timestamps[0] == start and numbers.series[0].timestamps[-1] == end - timedelta(minutes=5)
    assert numbers.previous is not None and numbers.previous[0].max_at is not None
    assert start - timedelta(hours=6) <= numbers.previous[0].max_at < start


async def test_pages_are_followed_until_every_datapoint_is_in(
        numbers_standin: BackgroundStandIn, week: tuple[datetime, datetime]) -> None:
    # Eleven hosts × a week of minutes is 110,880 datapoints: more than GetMetricData's page of 100,800.
    start, end = week
    metrics = [[NAMESPACE, "Load", "Host", name, {"label": name}] for name in HOSTS]
    key = ClientKey("numbers-paging", "us-east-1")
    served = numbers_standin.stats()["keys"].get("local-numbers-paging", {}).get("served", 0)
    async with open_clients([key], endpoint_url=numbers_standin.endpoint_url, local=True) as clients:
        client = clients[key]
        assert isinstance(client, WidgetImageClient)
        numbers = await fetch_numbers(widget_json(start, end, metrics, period=60), client, StrictRateLimiter(50),
                                      POLICY, now=datetime.now(UTC))
    assert (numbers.error, numbers.notes) == (None, ())  # a series cut by a page is whole in the end
    assert numbers_standin.stats()["keys"]["local-numbers-paging"]["served"] - served == 2
    minutes = DAYS * 1440
    for host, (series, stats) in enumerate(zip(numbers.series, numbers.stats)):
        assert series.label == HOSTS[host]
        assert series.timestamps == tuple(start + timedelta(minutes=m) for m in range(minutes))
        assert series.values == tuple(stored_value(m, host) for m in range(minutes))
        top = max(series.values)
        assert (stats.points, stats.maximum, stats.max_at) == (minutes, top, series.timestamps[
            series.values.index(top)])
        assert stats.average == statistics.fmean(series.values)


async def test_throttled_calls_are_retried_until_every_widget_has_its_numbers(
        make_standin: Callable[..., BackgroundStandIn]) -> None:
    # The stand-in allows 4 GetMetricData calls a second; ten widgets asked at once through a looser limiter.
    standin = make_standin(metric_data_rate_limit=4)
    now = datetime.now(UTC)
    text = widget_json(now - timedelta(hours=3), now, [[NAMESPACE, "Load", "Host", "h1"]])
    key = ClientKey("numbers-throttled", "us-east-1")
    async with open_clients([key], endpoint_url=standin.endpoint_url, local=True) as clients:
        client = clients[key]
        assert isinstance(client, WidgetImageClient)
        limiter = StrictRateLimiter(50)
        results = await asyncio.gather(*(fetch_numbers(text, client, limiter, POLICY, now=now) for _ in range(10)))
    assert [numbers.error for numbers in results] == [None] * 10
    assert len({numbers.stats for numbers in results}) == 1 and results[0].stats[0].points > 0  # all alike
    counts = standin.stats()["keys"]["local-numbers-throttled"]
    assert counts["throttled"] > 0 and counts["served"] == 10
    assert len(limiter.granted) == counts["requests"]  # every attempt, retries too, waited its turn


async def test_an_expression_cloudwatch_refuses_is_an_error_not_an_exception(
        numbers_standin: BackgroundStandIn, week: tuple[datetime, datetime]) -> None:
    end = week[1]
    metrics = [[NAMESPACE, "Load", "Host", "h1", {"id": "m1"}], [{"expression": "NOSUCH(m1)", "id": "e1"}]]
    key = ClientKey("numbers-refused", "us-east-1")
    async with open_clients([key], endpoint_url=numbers_standin.endpoint_url, local=True) as clients:
        client = clients[key]
        assert isinstance(client, WidgetImageClient)
        numbers = await fetch_numbers(widget_json(end - timedelta(hours=1), end, metrics), client,
                                      StrictRateLimiter(50), POLICY, now=datetime.now(UTC))
    assert numbers.error is not None and numbers.error.startswith("ValidationError: ") and "NOSUCH" in numbers.error
    assert (numbers.series, numbers.stats) == ((), ())
    assert numbers_standin.stats()["keys"]["local-numbers-refused"]["requests"] == 1  # a refusal is not retried


async def test_a_missing_client_or_a_broken_widget_is_an_error() -> None:
    limiter = StrictRateLimiter(50)
    missing = AwsError("The config profile (prod) could not be found", code="ProfileNotFound")
    assert (await fetch_numbers("{}", missing, limiter, POLICY, now=NOW)).error == (
        "ProfileNotFound: The config profile (prod) could not be found")
    not_json = await fetch_numbers("{", _NoCalls(), limiter, POLICY, now=NOW)
    assert not_json.error is not None and not_json.error.startswith("the widget is not valid JSON")
    bad_row = await fetch_numbers('{"metrics": [[".", "X"]]}', _NoCalls(), limiter, POLICY, now=NOW)
    assert bad_row.error == "`metrics[0][0]` is \".\" but the metric row before has no value there"
    assert limiter.granted == []


class _NoCalls:
    async def get_metric_data(self, **params: Any) -> dict[str, Any]:
        raise AssertionError("no call was expected")
