"""The metric store's API over loopback, through real clients speaking AWS JSON 1.0 and query.

Each test works in a namespace of its own on the session's stand-in. Datapoints are put at whole hours a few
hours back: PutMetricData takes only the past two weeks, and recent data is what CloudWatch rounds StartTime
to the minute for.
"""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import aiohttp
import pytest
from botocore.exceptions import ClientError

from reportgen.local import BackgroundStandIn, synthetic
from reportgen.local.protocols import XML_NAMESPACE
from reportgen.local.widget import MetricRow

from .protocol_clients import NS, PROTOCOLS

MINUTE = timedelta(minutes=1)


def base_time() -> datetime:
    """A whole hour, two to three hours ago."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)


BASE = base_time()


@pytest.fixture(params=PROTOCOLS)
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client_for(boto3_cloudwatch: Callable[..., Any], protocol: str) -> Callable[..., Any]:
    """Factory: ``client_for(endpoint_url, **config)``, a boto3 client speaking this test's protocol."""
    return partial(boto3_cloudwatch, protocol=protocol)


@pytest.fixture
def cloudwatch(standin: BackgroundStandIn, client_for: Callable[..., Any]) -> Any:
    return client_for(standin.endpoint_url)


def dims(**pairs: str) -> list[dict[str, str]]:
    return [{"Name": name, "Value": value} for name, value in pairs.items()]


def metric_stat(namespace: str, name: str, stat: str, period: int, dimensions: list[dict[str, str]] | None = None,
                **extra: Any) -> dict[str, Any]:
    metric = {"Namespace": namespace, "MetricName": name, "Dimensions": dimensions or []}
    return {"MetricStat": {"Metric": metric, "Period": period, "Stat": stat, **extra}}


def series(result: dict[str, Any]) -> list[tuple[datetime, float]]:
    return [(moment.astimezone(UTC), value) for moment, value in zip(result["Timestamps"], result["Values"])]


# ---- PutMetricData → GetMetricData ------------------------------------------------------------------------------


def test_values_round_trip_through_get_metric_data(cloudwatch: Any, namespace: str) -> None:
    # 0, 1, … 9 at one-minute steps; dimensions given in one order and asked for in the other.
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": "Jobs", "Dimensions": dims(Queue="q1", Host="h1"), "Timestamp": BASE + i * MINUTE,
         "Value": float(i), "Unit": "Count"} for i in range(10)])
    where = dims(Host="h1", Queue="q1")
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {"Id": "total", **metric_stat(namespace, "Jobs", "Sum", 300, where)},
            {"Id": "mean", **metric_stat(namespace, "Jobs", "Average", 300, where), "Label": "mean jobs"},
            {"Id": "n", **metric_stat(namespace, "Jobs", "SampleCount", 300, where), "ReturnData": False},
            {"Id": "p80", **metric_stat(namespace, "Jobs", "p80", 300, where)},
            {"Id": "check", "Expression": "total / n"},
        ],
        StartTime=BASE, EndTime=BASE + timedelta(hours=1), ScanBy="TimestampAscending")
    results = {result["Id"]: result for result in answer["MetricDataResults"]}
    first, second = BASE, BASE + 5 * MINUTE
    assert list(results) == ["total", "mean", "p80", "check"]  # ReturnData false leaves n out
    assert series(results["total"]) == [(first, 10.0), (second, 35.0)]
    assert series(results["mean"]) == [(first, 2.0), (second, 7.0)]
    assert series(results["p80"]) == [(first, 3.0), (second, 8.0)]  # the 4th of 5 values: nearest rank
    assert series(results["check"]) == [(first, 2.0), (second, 7.0)]
    assert [results[key]["Label"] for key in results] == ["Jobs", "mean jobs", "Jobs", "check"]
    assert all(result["StatusCode"] == "Complete" for result in results.values())

    newest_first = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "total", **metric_stat(namespace, "Jobs", "Sum", 300, where)}],
        StartTime=BASE, EndTime=BASE + timedelta(hours=1))
    assert series(newest_first["MetricDataResults"][0]) == [(second, 35.0), (first, 10.0)]


def test_values_counts_and_statistic_sets(cloudwatch: Any, namespace: str) -> None:
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        # Samples 1, 2, 3, 3.
        {"MetricName": "Latency", "Timestamp": BASE, "Values": [1.0, 2.0, 3.0], "Counts": [1.0, 1.0, 2.0]},
        # Three samples of 5: copies of one value, so percentiles still work.
        {"MetricName": "Latency", "Timestamp": BASE + MINUTE,
         "StatisticValues": {"SampleCount": 3, "Sum": 15, "Minimum": 5, "Maximum": 5}},
        # Next period: a set whose samples are unknown.
        {"MetricName": "Latency", "Timestamp": BASE + 5 * MINUTE,
         "StatisticValues": {"SampleCount": 4, "Sum": 10, "Minimum": 1, "Maximum": 4}},
    ])

    def stat(name: str) -> list[tuple[datetime, float]]:
        answer = cloudwatch.get_metric_data(
            MetricDataQueries=[{"Id": "m", **metric_stat(namespace, "Latency", name, 300)}],
            StartTime=BASE, EndTime=BASE + timedelta(minutes=10), ScanBy="TimestampAscending")
        return series(answer["MetricDataResults"][0])

    later = BASE + 5 * MINUTE
    assert stat("SampleCount") == [(BASE, 7.0), (later, 4.0)]
    assert stat("Sum") == [(BASE, 24.0), (later, 10.0)]
    assert stat("Minimum") == [(BASE, 1.0), (later, 1.0)]
    assert stat("Maximum") == [(BASE, 5.0), (later, 4.0)]
    # Samples 1, 2, 3, 3, 5, 5, 5: the 4th of 7 is the median; the second period has no percentiles.
    assert stat("p50") == [(BASE, 3.0)]
    assert stat("TM(:50%)") == [(BASE, pytest.approx((1 + 2 + 3 + 0.5 * 3) / 3.5))]


def test_get_metric_statistics_standard_and_extended(cloudwatch: Any, namespace: str) -> None:
    values = [4.0, 8.0, 15.0, 16.0, 23.0, 42.0]
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": "Size", "Timestamp": BASE + i * MINUTE, "Value": value, "Unit": "Bytes"}
        for i, value in enumerate(values)])
    common = {"Namespace": namespace, "MetricName": "Size", "StartTime": BASE, "EndTime": BASE + timedelta(hours=1),
              "Period": 3600}
    standard = cloudwatch.get_metric_statistics(**common, Statistics=["SampleCount", "Average", "Sum", "Minimum",
                                                                      "Maximum"])
    assert standard["Label"] == "Size"
    [point] = standard["Datapoints"]
    assert point["Timestamp"].astimezone(UTC) == BASE
    assert {key: point[key] for key in ("SampleCount", "Average", "Sum", "Minimum", "Maximum", "Unit")} == {
        "SampleCount": 6.0, "Average": 18.0, "Sum": 108.0, "Minimum": 4.0, "Maximum": 42.0, "Unit": "Bytes"}
    extended = cloudwatch.get_metric_statistics(**common, ExtendedStatistics=["p50", "p99.9", "IQM", "PR(:15)",
                                                                              "TC(10:20)", "WM(:50%)"])
    [point] = extended["Datapoints"]
    assert point["ExtendedStatistics"] == {
        "p50": 15.0, "p99.9": 42.0, "IQM": pytest.approx((0.5 * 8 + 15 + 16 + 0.5 * 23) / 3), "PR(:15)": 50.0,
        "TC(10:20)": 2.0, "WM(:50%)": pytest.approx((4 + 8 + 15 + 3 * 15) / 6)}
    assert "Average" not in point


def test_units_are_kept_apart(cloudwatch: Any, namespace: str) -> None:
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": "Work", "Timestamp": BASE, "Value": 2.0, "Unit": "Seconds"},
        {"MetricName": "Work", "Timestamp": BASE, "Value": 500.0, "Unit": "Milliseconds"},
        {"MetricName": "Work", "Timestamp": BASE, "Value": 7.0}])
    common = {"Namespace": namespace, "MetricName": "Work", "StartTime": BASE, "EndTime": BASE + timedelta(hours=1),
              "Period": 60, "Statistics": ["Sum"]}
    by_unit = cloudwatch.get_metric_statistics(**common)["Datapoints"]
    assert sorted((point["Unit"], point["Sum"]) for point in by_unit) == [
        ("Milliseconds", 500.0), ("None", 7.0), ("Seconds", 2.0)]
    assert [point["Sum"] for point in cloudwatch.get_metric_statistics(**common, Unit="Seconds")["Datapoints"]] == [2.0]
    assert cloudwatch.get_metric_statistics(**common, Unit="Bytes")["Datapoints"] == []
    everything = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "all", **metric_stat(namespace, "Work", "Sum", 60)},
                           {"Id": "ms", **metric_stat(namespace, "Work", "Sum", 60, Unit="Milliseconds")}],
        StartTime=BASE, EndTime=BASE + timedelta(hours=1))["MetricDataResults"]
    assert [result["Values"] for result in everything] == [[509.0], [500.0]]


def test_high_resolution_keeps_seconds_and_standard_resolution_keeps_minutes(cloudwatch: Any, namespace: str) -> None:
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": name, "Timestamp": BASE + timedelta(seconds=second), "Value": 1.0,
         "StorageResolution": resolution}
        for name, resolution in (("Fine", 1), ("Coarse", 60)) for second in range(0, 20, 2)])

    def sums(name: str, period: int) -> list[tuple[datetime, float]]:
        answer = cloudwatch.get_metric_data(
            MetricDataQueries=[{"Id": "m", **metric_stat(namespace, name, "Sum", period)}],
            StartTime=BASE, EndTime=BASE + MINUTE, ScanBy="TimestampAscending")
        return series(answer["MetricDataResults"][0])

    assert sums("Fine", 10) == [(BASE, 5.0), (BASE + timedelta(seconds=10), 5.0)]
    assert sums("Fine", 1)[:2] == [(BASE, 1.0), (BASE + timedelta(seconds=2), 1.0)]
    assert sums("Coarse", 10) == [(BASE, 10.0)]


def test_start_time_is_rounded_down_to_the_minute(cloudwatch: Any, namespace: str) -> None:
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": "M", "Timestamp": BASE + i * MINUTE, "Value": 1.0} for i in range(10)])
    answer = cloudwatch.get_metric_statistics(Namespace=namespace, MetricName="M", Statistics=["Sum"], Period=300,
                                              StartTime=BASE + timedelta(seconds=42), EndTime=BASE + 10 * MINUTE)
    assert [(point["Timestamp"].astimezone(UTC), point["Sum"]) for point in answer["Datapoints"]] == [
        (BASE, 5.0), (BASE + 5 * MINUTE, 5.0)]


def test_a_metric_nobody_stored_is_answered_with_the_data_its_widget_draws(cloudwatch: Any, namespace: str) -> None:
    # A report's table must hold the numbers of the chart above it, and the stand-in draws a metric without
    # stored data from synthetic data: GetMetricData answers with the same points.
    dimensions = [("InstanceId", "i-1")]
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "m", **metric_stat(namespace, "CPUUtilization", "Maximum", 60,
                                                     [{"Name": n, "Value": v} for n, v in dimensions])}],
        StartTime=BASE, EndTime=BASE + timedelta(hours=1), ScanBy="TimestampAscending")
    drawn = synthetic.series(MetricRow(namespace, "CPUUtilization", tuple(dimensions), "Maximum", 60),
                             BASE, BASE + timedelta(hours=1), "us-east-1")
    (result,) = answer["MetricDataResults"]
    assert len(result["Values"]) == 60
    assert series(result) == [(datetime.fromtimestamp(int(t), UTC), float(v))
                              for t, v in zip(drawn.timestamps, drawn.values)]
    # GetMetricStatistics reads the store alone: tests of stored data rely on it.
    assert cloudwatch.get_metric_statistics(Namespace=namespace, MetricName="Nothing", Statistics=["Sum"], Period=60,
                                            StartTime=BASE, EndTime=BASE + MINUTE)["Datapoints"] == []


def test_a_metric_without_data_has_no_datapoints(cloudwatch: Any, namespace: str) -> None:
    # Metric names that start with "NoData" have no synthetic data either: how a test asks for an empty series.
    query = {"Id": "m", **metric_stat(namespace, "NoDataHere", "Sum", 60)}
    answer = cloudwatch.get_metric_data(MetricDataQueries=[query], StartTime=BASE, EndTime=BASE + timedelta(hours=1))
    assert answer["MetricDataResults"] == [
        {"Id": "m", "Label": "NoDataHere", "Timestamps": [], "Values": [], "StatusCode": "Complete", "Messages": []}]


def test_reads_while_others_put_see_every_put_before_them(standin: BackgroundStandIn,
                                                          client_for: Callable[..., Any], namespace: str) -> None:
    # Four writers put 1.0 twenty times each into one hour while a reader sums it over and over: no sum may
    # be below the one before (nothing read is staler than what was read already), and the last is all.
    def put(client: Any) -> None:
        for n in range(20):
            client.put_metric_data(Namespace=namespace, MetricData=[
                {"MetricName": "Hits", "Timestamp": BASE + n * MINUTE, "Value": 1.0}])

    def total() -> float:
        answer = reader.get_metric_statistics(Namespace=namespace, MetricName="Hits", StartTime=BASE,
                                              EndTime=BASE + timedelta(hours=1), Period=3600, Statistics=["Sum"])
        return sum(point["Sum"] for point in answer["Datapoints"])

    reader, writers = client_for(standin.endpoint_url), [client_for(standin.endpoint_url) for _ in range(4)]
    with ThreadPoolExecutor(len(writers)) as pool:
        puts = [pool.submit(put, writer) for writer in writers]
        sums = [total()]
        while not all(done.done() for done in puts):
            sums.append(total())
        for done in puts:
            done.result()
    sums.append(total())
    assert sums == sorted(sums) and sums[-1] == 80.0


# ---- paging ---------------------------------------------------------------------------------------------------------


def test_get_metric_data_pages_by_max_datapoints(cloudwatch: Any, namespace: str) -> None:
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": name, "Timestamp": BASE + i * MINUTE, "Value": float(i)} for name in ("A", "B")
        for i in range(10)])
    request = {"MetricDataQueries": [{"Id": name.lower(), **metric_stat(namespace, name, "Sum", 60)} for name in "AB"],
               "StartTime": BASE, "EndTime": BASE + timedelta(hours=1), "MaxDatapoints": 7,
               "ScanBy": "TimestampAscending"}
    pages, token = [], None
    while True:
        page = cloudwatch.get_metric_data(**request, **({"NextToken": token} if token else {}))
        pages.append([(result["Id"], len(result["Values"]), result["StatusCode"])
                      for result in page["MetricDataResults"]])
        token = page.get("NextToken")
        if token is None:
            break
    assert pages == [[("a", 7, "PartialData")], [("a", 3, "Complete"), ("b", 4, "PartialData")],
                     [("b", 6, "Complete")]]
    full = cloudwatch.get_paginator("get_metric_data").paginate(**request).build_full_result()
    values = [value for result in full["MetricDataResults"] if result["Id"] == "b" for value in result["Values"]]
    assert values == [float(i) for i in range(10)]

    first = cloudwatch.get_metric_data(**request)
    with pytest.raises(ClientError) as caught:  # a token belongs to the request it came from
        cloudwatch.get_metric_data(**{**request, "StartTime": BASE - MINUTE}, NextToken=first["NextToken"])
    assert caught.value.response["Error"]["Code"] == "InvalidNextToken"


def test_list_metrics_pages_of_500(cloudwatch: Any, namespace: str) -> None:
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": f"M{n:03d}", "Timestamp": BASE, "Value": 1.0} for n in range(501)])
    first = cloudwatch.list_metrics(Namespace=namespace)
    assert len(first["Metrics"]) == 500 and "NextToken" in first
    second = cloudwatch.list_metrics(Namespace=namespace, NextToken=first["NextToken"])
    assert [metric["MetricName"] for metric in second["Metrics"]] == ["M500"] and "NextToken" not in second
    everything = cloudwatch.get_paginator("list_metrics").paginate(Namespace=namespace).build_full_result()
    assert [metric["MetricName"] for metric in everything["Metrics"]] == [f"M{n:03d}" for n in range(501)]


# ---- ListMetrics ----------------------------------------------------------------------------------------------------


def test_list_metrics_filters(cloudwatch: Any, namespace: str) -> None:
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": "CPU", "Dimensions": dims(InstanceId="i-1"), "Value": 1.0},
        {"MetricName": "CPU", "Dimensions": dims(InstanceId="i-2"), "Value": 1.0},
        {"MetricName": "Memory", "Dimensions": dims(InstanceId="i-1", Host="h1"), "Value": 1.0},
        {"MetricName": "Disk", "Value": 1.0}])

    def names(**filters: Any) -> list[tuple[str, tuple[tuple[str, str], ...]]]:
        metrics = cloudwatch.list_metrics(Namespace=namespace, **filters)["Metrics"]
        assert all(metric["Namespace"] == namespace for metric in metrics)
        return [(metric["MetricName"], tuple((d["Name"], d["Value"]) for d in metric["Dimensions"]))
                for metric in metrics]

    assert names() == [("CPU", (("InstanceId", "i-1"),)), ("CPU", (("InstanceId", "i-2"),)), ("Disk", ()),
                       ("Memory", (("Host", "h1"), ("InstanceId", "i-1")))]
    assert [name for name, _ in names(MetricName="CPU")] == ["CPU", "CPU"]
    assert [name for name, _ in names(Dimensions=[{"Name": "InstanceId"}])] == ["CPU", "CPU", "Memory"]
    assert [name for name, _ in names(Dimensions=dims(InstanceId="i-1"))] == ["CPU", "Memory"]
    assert [name for name, _ in names(Dimensions=[*dims(InstanceId="i-1"), {"Name": "Host"}])] == ["Memory"]
    assert len(names(RecentlyActive="PT3H")) == 4
    assert cloudwatch.list_metrics(Namespace=f"{namespace}-other")["Metrics"] == []


def test_recently_active_means_published_in_the_past_three_hours(
        make_standin: Callable[..., BackgroundStandIn], client_for: Callable[..., Any]) -> None:
    now = [datetime.now(UTC).timestamp()]
    cloudwatch = client_for(make_standin(wall_clock=lambda: now[0]).endpoint_url)
    cloudwatch.put_metric_data(Namespace="Test/Active", MetricData=[{"MetricName": "Old", "Value": 1.0}])
    now[0] += 2 * 3600
    cloudwatch.put_metric_data(Namespace="Test/Active", MetricData=[{"MetricName": "New", "Value": 1.0}])
    now[0] += 2 * 3600
    active = cloudwatch.list_metrics(RecentlyActive="PT3H")["Metrics"]
    assert [metric["MetricName"] for metric in active] == ["New"]
    assert len(cloudwatch.list_metrics()["Metrics"]) == 2


# ---- dashboards ---------------------------------------------------------------------------------------------------


def test_dashboards_put_get_list_delete(cloudwatch: Any, namespace: str) -> None:
    prefix = namespace.replace("/", "-")
    properties = {"metrics": [["AWS/EC2", "CPUUtilization"]], "region": "us-east-1"}
    body = json.dumps({"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
                                    "properties": properties}]})
    for name in ("ops", "costs"):
        assert cloudwatch.put_dashboard(DashboardName=f"{prefix}-{name}", DashboardBody=body)[
            "DashboardValidationMessages"] == []
    got = cloudwatch.get_dashboard(DashboardName=f"{prefix}-ops")
    assert (got["DashboardName"], got["DashboardBody"], got["DashboardArn"]) == (
        f"{prefix}-ops", body, f"arn:aws:cloudwatch::123456789012:dashboard/{prefix}-ops")
    entries = cloudwatch.list_dashboards(DashboardNamePrefix=prefix)["DashboardEntries"]
    assert [(entry["DashboardName"], entry["Size"]) for entry in entries] == [
        (f"{prefix}-costs", len(body)), (f"{prefix}-ops", len(body))]
    assert abs(entries[0]["LastModified"].timestamp() - datetime.now(UTC).timestamp()) < 60

    cloudwatch.put_dashboard(DashboardName=f"{prefix}-ops", DashboardBody='{"widgets": []}')  # replaces
    assert cloudwatch.get_dashboard(DashboardName=f"{prefix}-ops")["DashboardBody"] == '{"widgets": []}'

    with pytest.raises(ClientError) as caught:  # one missing: nothing is deleted
        cloudwatch.delete_dashboards(DashboardNames=[f"{prefix}-ops", f"{prefix}-nope"])
    assert (caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "ResourceNotFound", 404)
    assert len(cloudwatch.list_dashboards(DashboardNamePrefix=prefix)["DashboardEntries"]) == 2
    cloudwatch.delete_dashboards(DashboardNames=[f"{prefix}-ops", f"{prefix}-costs"])
    assert cloudwatch.list_dashboards(DashboardNamePrefix=prefix)["DashboardEntries"] == []
    with pytest.raises(ClientError) as caught:
        cloudwatch.get_dashboard(DashboardName=f"{prefix}-ops")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFound"
    assert caught.value.response["Error"]["Message"] == f"Dashboard {prefix}-ops does not exist"


def test_an_invalid_dashboard_body_says_where(cloudwatch: Any) -> None:
    body = json.dumps({"widgets": [{"type": "metric", "properties": {}}, {"type": "chart", "width": -1}]})
    with pytest.raises(ClientError) as caught:
        cloudwatch.put_dashboard(DashboardName="broken", DashboardBody=body)
    error = caught.value.response
    assert error["Error"]["Code"] == "InvalidParameterInput"
    assert "there are 2 validation errors" in error["Error"]["Message"]
    # The modeled error's own member, which botocore parses for both protocols.
    assert [message["DataPath"] for message in error["dashboardValidationMessages"]] == [
        "/widgets/1/type", "/widgets/1/width"]


# ---- errors -------------------------------------------------------------------------------------------------------

OLD = BASE - timedelta(days=15)
ERRORS: dict[str, tuple[str, dict[str, Any], str, str]] = {
    "value and values": ("put_metric_data", {"Namespace": "T", "MetricData": [
        {"MetricName": "M", "Value": 1.0, "Values": [1.0]}]}, "InvalidParameterCombination",
        "MetricData.member.1.Value and MetricData.member.1.Values are mutually exclusive"),
    "no value": ("put_metric_data", {"Namespace": "T", "MetricData": [{"MetricName": "M"}]}, "MissingParameter",
                 "MetricData.member.1.Value, MetricData.member.1.StatisticValues and"),
    "too old": ("put_metric_data", {"Namespace": "T", "MetricData": [
        {"MetricName": "M", "Value": 1.0}, {"MetricName": "M", "Value": 1.0, "Timestamp": OLD}]},
        "InvalidParameterValue",
        "The parameter MetricData.member.2.Timestamp must specify a time within the past two weeks."),
    "not a number": ("put_metric_data", {"Namespace": "T", "MetricData": [{"MetricName": "M", "Value": float("nan")}]},
                     "InvalidParameterValue", "The value NaN for parameter MetricData.member.1.Value is invalid."),
    "counts of another size": ("put_metric_data", {"Namespace": "T", "MetricData": [
        {"MetricName": "M", "Values": [1.0, 2.0], "Counts": [1.0]}]}, "InvalidParameterValue",
        "must be of the same size"),
    "bad unit": ("put_metric_data", {"Namespace": "T", "MetricData": [
        {"MetricName": "M", "Value": 1.0, "Unit": "Parsecs"}]},
                 "InvalidParameterValue", "MetricData.member.1.Unit must be a value in the set"),
    "no metric name": ("put_metric_data", {"Namespace": "T", "MetricData": [{"Value": 1.0}]}, "MissingParameter",
                       "The parameter MetricData.member.1.MetricName is required."),
    "resolution": ("put_metric_data", {"Namespace": "T", "MetricData": [
        {"MetricName": "M", "Value": 1.0, "StorageResolution": 5}]}, "InvalidParameterValue", "must be 1 or 60"),
    "bad id": ("get_metric_data", {"MetricDataQueries": [{"Id": "M1", **metric_stat("T", "M", "Sum", 60)}],
                                   "StartTime": BASE, "EndTime": BASE + MINUTE}, "ValidationError",
               "MetricDataQueries.member.1.Id is invalid"),
    "bad stat": ("get_metric_data", {"MetricDataQueries": [{"Id": "m", **metric_stat("T", "M", "Mean", 60)}],
                                     "StartTime": BASE, "EndTime": BASE + MINUTE}, "ValidationError",
                 "The value for parameter MetricDataQueries.member.1.MetricStat.Stat is not a valid statistic."),
    "bad period": ("get_metric_data", {"MetricDataQueries": [{"Id": "m", **metric_stat("T", "M", "Sum", 45)}],
                                       "StartTime": BASE, "EndTime": BASE + MINUTE}, "ValidationError",
                   "MetricStat.Period must be 1, 5, 10, 20, 30, 60, or a multiple of 60"),
    "backwards": ("get_metric_data", {"MetricDataQueries": [{"Id": "m", **metric_stat("T", "M", "Sum", 60)}],
                                      "StartTime": BASE, "EndTime": BASE}, "ValidationError",
                  "The parameter StartTime must be less than the parameter EndTime."),
    "unknown id": ("get_metric_data", {"MetricDataQueries": [{"Id": "e", "Expression": "m2 * 2"}],
                                       "StartTime": BASE, "EndTime": BASE + MINUTE}, "ValidationError", "'m2'"),
    "both kinds": ("get_metric_data", {"MetricDataQueries": [
        {"Id": "m", "Expression": "1", **metric_stat("T", "M", "Sum", 60)}], "StartTime": BASE,
        "EndTime": BASE + MINUTE}, "ValidationError", "Exactly one of MetricDataQueries.member.1.MetricStat and"),
    "both statistics": ("get_metric_statistics", {"Namespace": "T", "MetricName": "M", "StartTime": BASE,
                                                  "EndTime": BASE + MINUTE, "Period": 60, "Statistics": ["Sum"],
                                                  "ExtendedStatistics": ["p99"]},
                        "InvalidParameterCombination", "mutually exclusive"),
    "no statistics": ("get_metric_statistics", {"Namespace": "T", "MetricName": "M", "StartTime": BASE,
                                                "EndTime": BASE + MINUTE, "Period": 60},
                      "MissingParameter", "At least one of the parameters Statistics and ExtendedStatistics"),
    "1441 points": ("get_metric_statistics", {"Namespace": "T", "MetricName": "M", "StartTime": BASE,
                                              "EndTime": BASE + 1441 * MINUTE, "Period": 60, "Statistics": ["Sum"]},
                    "InvalidParameterCombination",
                    "You have requested up to 1,441 datapoints, which exceeds the limit"),
    "period 20": ("get_metric_statistics", {"Namespace": "T", "MetricName": "M", "StartTime": BASE,
                                            "EndTime": BASE + MINUTE, "Period": 20, "Statistics": ["Sum"]},
                  "InvalidParameterValue", "The parameter Period must be 1, 5, 10, 30, 60, or a multiple of 60."),
    "bad extended": ("get_metric_statistics", {"Namespace": "T", "MetricName": "M", "StartTime": BASE,
                                               "EndTime": BASE + MINUTE, "Period": 60, "ExtendedStatistics": ["p101"]},
                     "InvalidParameterValue", "ExtendedStatistics.member.1 is not a valid statistic"),
    "not recently": ("list_metrics", {"RecentlyActive": "PT1H"}, "InvalidParameterValue",
                     "The parameter RecentlyActive must be a value in the set [ PT3H ]."),
    "dashboard name": ("put_dashboard", {"DashboardName": "a b", "DashboardBody": "{}"}, "InvalidParameterValue",
                       "The value a b for parameter DashboardName is invalid"),
    "no dashboard": ("get_dashboard", {"DashboardName": "never-made"}, "ResourceNotFound",
                     "Dashboard never-made does not exist"),
}


@pytest.mark.parametrize(("operation", "params", "code", "message"), ERRORS.values(), ids=ERRORS.keys())
def test_errors_have_cloudwatchs_codes(standin: BackgroundStandIn, client_for: Callable[..., Any], operation: str,
                                       params: dict[str, Any], code: str, message: str) -> None:
    # Without client-side validation botocore sends what we give it, missing members included.
    client = client_for(standin.endpoint_url, parameter_validation=False)
    with pytest.raises(ClientError) as caught:
        getattr(client, operation)(**params)
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == (
        code, 404 if code == "ResourceNotFound" else 400)
    assert message in error["Error"]["Message"]


def test_every_bad_datapoint_is_reported_at_once(cloudwatch: Any) -> None:
    with pytest.raises(ClientError) as caught:
        cloudwatch.put_metric_data(Namespace="T", MetricData=[
            {"MetricName": "M", "Value": 1.0, "Timestamp": OLD}, {"MetricName": "M", "Value": 1.0},
            {"MetricName": "M", "Value": 1.0, "Timestamp": BASE + timedelta(days=1)}])
    assert caught.value.response["Error"]["Message"].splitlines() == [
        "The parameter MetricData.member.1.Timestamp must specify a time within the past two weeks.",
        "The parameter MetricData.member.3.Timestamp must specify a time no more than two hours in the future."]


# ---- the query protocol by hand, and aiobotocore ---------------------------------------------------------------


async def test_raw_query_forms_round_trip(standin: BackgroundStandIn, namespace: str) -> None:
    stamp = BASE.strftime("%Y-%m-%dT%H:%M:%SZ")
    put = {"Action": "PutMetricData", "Version": "2010-08-01", "Namespace": namespace,
           "MetricData.member.1.MetricName": "Orders", "MetricData.member.1.Timestamp": stamp,
           "MetricData.member.1.Dimensions.member.1.Name": "Shop",
           "MetricData.member.1.Dimensions.member.1.Value": "eu",
           "MetricData.member.1.Values.member.1": "10", "MetricData.member.1.Values.member.2": "30",
           "MetricData.member.1.Counts.member.1": "3", "MetricData.member.1.Counts.member.2": "1",
           "MetricData.member.1.Unit": "Count"}
    get = {"Action": "GetMetricStatistics", "Version": "2010-08-01", "Namespace": namespace, "MetricName": "Orders",
           "Dimensions.member.1.Name": "Shop", "Dimensions.member.1.Value": "eu", "StartTime": stamp,
           "EndTime": (BASE + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), "Period": "3600",
           "Statistics.member.1": "Sum", "Statistics.member.2": "SampleCount"}
    async with aiohttp.ClientSession(standin.endpoint_url) as http:
        async with http.post("/", data=put) as response:
            assert response.status == 200
            document = ET.fromstring(await response.read())
        assert document.tag == f"{{{XML_NAMESPACE}}}PutMetricDataResponse"
        assert document.findtext("cw:ResponseMetadata/cw:RequestId", namespaces=NS)
        async with http.get("/", params=get) as response:
            assert response.status == 200
            document = ET.fromstring(await response.read())
    [point] = document.findall("cw:GetMetricStatisticsResult/cw:Datapoints/cw:member", NS)
    assert {child.tag.split("}")[1]: child.text for child in point} == {
        "Timestamp": stamp, "SampleCount": "4.0", "Sum": "60.0", "Unit": "Count"}
    assert document.findtext("cw:GetMetricStatisticsResult/cw:Label", namespaces=NS) == "Orders"


async def test_aiobotocore_round_trip(standin: BackgroundStandIn, aio_cloudwatch: Callable[..., Any],
                                      namespace: str) -> None:
    async with aio_cloudwatch(standin.endpoint_url) as client:
        await client.put_metric_data(Namespace=namespace, MetricData=[
            {"MetricName": "Beat", "Timestamp": BASE + i * MINUTE, "Value": 1.0} for i in range(3)])
        answer = await client.get_metric_data(
            MetricDataQueries=[{"Id": "m", **metric_stat(namespace, "Beat", "SampleCount", 60)}],
            StartTime=BASE, EndTime=BASE + timedelta(hours=1), ScanBy="TimestampAscending")
    assert series(answer["MetricDataResults"][0]) == [(BASE + i * MINUTE, 1.0) for i in range(3)]


# ---- throttling -----------------------------------------------------------------------------------------------------


async def test_only_widget_images_are_rate_limited(make_standin: Callable[..., BackgroundStandIn],
                                                   aio_cloudwatch: Callable[..., Any]) -> None:
    # A frozen clock puts every request in the same second.
    standin = make_standin(clock=lambda: 0.0)
    tiny = json.dumps({"metrics": [["AWS/EC2", "CPUUtilization"]], "width": 60, "height": 40})
    async with aio_cloudwatch(standin.endpoint_url, "busy", max_pool_connections=30) as client:
        listed = await asyncio.gather(*(client.list_metrics() for _ in range(30)))
        assert len(listed) == 30
        images = await asyncio.gather(*(client.get_metric_widget_image(MetricWidget=tiny) for _ in range(20)))
        assert len(images) == 20
    form = {"Action": "GetMetricWidgetImage", "Version": "2010-08-01", "MetricWidget": tiny}
    async with aiohttp.ClientSession(standin.endpoint_url) as http:
        for _ in range(20):
            async with http.post("/", data=form) as response:
                assert response.status == 200
        async with http.post("/", data=form) as response:  # the query protocol names it in the body
            assert response.status == 400
            assert ET.fromstring(await response.read()).findtext("cw:Error/cw:Code", namespaces=NS) == "Throttling"
    stats = standin.stats()
    assert {key: stats["keys"][key]["throttled"] for key in ("busy", "anonymous")} == {"busy": 0, "anonymous": 1}
    assert stats["keys"]["busy"]["served"] == 50


async def test_get_metric_data_has_a_rate_limit_of_its_own(make_standin: Callable[..., BackgroundStandIn],
                                                           aio_cloudwatch: Callable[..., Any]) -> None:
    # CloudWatch's quota for GetMetricData is 50 a second, apart from GetMetricWidgetImage's 20. A frozen clock
    # puts every request in the same second.
    standin = make_standin(clock=lambda: 0.0)
    query = {"MetricDataQueries": [{"Id": "m", **metric_stat("Test/Quota", "Beat", "Sum", 60)}],
             "StartTime": BASE, "EndTime": BASE + timedelta(hours=1)}
    tiny = json.dumps({"metrics": [["AWS/EC2", "CPUUtilization"]], "width": 60, "height": 40})
    async with aio_cloudwatch(standin.endpoint_url, "busy", max_pool_connections=55) as client:
        answers = await asyncio.gather(*(client.get_metric_data(**query) for _ in range(55)), return_exceptions=True)
        images = await asyncio.gather(*(client.get_metric_widget_image(MetricWidget=tiny) for _ in range(20)))
    throttled = [answer for answer in answers if isinstance(answer, ClientError)]
    assert len(throttled) == 5 and sum(isinstance(answer, dict) for answer in answers) == 50
    for error in throttled:
        assert (error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"],
                error.response["Error"]["Message"]) == ("Throttling", 400, "Rate exceeded")
    assert len(images) == 20  # the image quota is untouched by the data calls
    form = {"Action": "GetMetricData", "Version": "2010-08-01", "StartTime": f"{BASE:%Y-%m-%dT%H:%M:%SZ}",
            "EndTime": f"{BASE + timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}",
            "MetricDataQueries.member.1.Id": "m",
            "MetricDataQueries.member.1.MetricStat.Metric.Namespace": "Test/Quota",
            "MetricDataQueries.member.1.MetricStat.Metric.MetricName": "Beat",
            "MetricDataQueries.member.1.MetricStat.Period": "60",
            "MetricDataQueries.member.1.MetricStat.Stat": "Sum"}
    async with aiohttp.ClientSession(standin.endpoint_url) as http:
        statuses = []
        for _ in range(51):  # the query protocol names the operation in the body only
            async with http.post("/", data=form) as response:
                statuses.append(response.status)
                last = await response.read()
    assert statuses == [200] * 50 + [400]
    assert ET.fromstring(last).findtext("cw:Error/cw:Code", namespaces=NS) == "Throttling"
    stats = standin.stats()
    assert {key: stats["keys"][key]["throttled"] for key in ("busy", "anonymous")} == {"busy": 5, "anonymous": 1}
