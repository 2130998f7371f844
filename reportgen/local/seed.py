"""A demo estate for the metric store: the production stack the example report specs describe.

EC2 instances and their Auto Scaling group, an Application Load Balancer and its target group, Lambda
functions, two RDS instances, a DynamoDB table, SQS queues (one a dead-letter queue) and an API Gateway
stage, with the names the specs in ``report_specs/`` use. Each metric gets a datapoint a minute over the
window, made by the synthetic generator, so the store draws what the stand-in draws without it: a
minute's value is the synthetic one-minute average (for counts, the minute's count). The web Auto Scaling
group's CPUUtilization is made of its instances' datapoints, as EC2's group metrics are, so its Maximum is
the busiest instance. A latency metric publishes its minute as a hundred requests, ``Values``/``Counts`` at
the synthetic minute's percentiles (20 at its 10th percentile, 20 at its 30th, … 2 at its 99th), so its
percentiles spread as a latency's do.

The estate's alarms (``ALARMS``) watch that data as a team would: the web group's busiest instance, the load
balancer's 5XX responses, the age of the orders queue's oldest message, the payment webhook's errors, the
database's CPU and the p99 response time. Their thresholds sit where the synthetic data's incidents cross
them: in a week, the web CPU, queue age and Lambda errors alarms each go off a few times (the 5XX and errors
ones flap, a few minutes apart), the database and latency ones now and then. They count as made at the
window's start, so their history covers it; they are evaluated when first read (see ``alarms``). The on-call
dashboard (``DASHBOARDS``) shows the web tier, with the CPU alarm's threshold on its graph.

Seeding replaces what the store held for these metrics in the window, and the alarms and their history, so
running it twice changes nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from reportgen.local import alarms, synthetic
from reportgen.local.store import NO_UNIT, Dashboard, MetricKey, MetricStore
from reportgen.local.widget import MetricRow

MINUTE = 60
# Minutes per synthetic call: as many as it returns at a one-minute period.
_CHUNK = synthetic.MAX_POINTS * MINUTE
_SPREAD_UNITS = frozenset({"Seconds", "Milliseconds", "Microseconds"})
# A minute of latency as 100 samples: (percentile of the synthetic minute, how many samples take its value),
# each value standing for the band of the distribution around its percentile.
_SPREAD = (("p10", 20), ("p30", 20), ("p50", 20), ("p70", 20), ("p85", 10), ("p92.5", 5), ("p96.5", 3), ("p99", 2))
_WEB_GROUP = ("AutoScalingGroupName", "prod-web-asg")
_WEB_INSTANCES = ("i-0123456789abcdef0", "i-0fedcba9876543210")  # web-1 and web-2 in the example specs

_LB = ("LoadBalancer", "app/prod-web/50dc6c495c0c9188")
_TG = ("TargetGroup", "targetgroup/prod-web/73e2d6bc24d8a067")
_API = (("ApiName", "orders-api"), ("Stage", "prod"))


def _estate() -> Iterator[MetricKey]:
    for instance in (*_WEB_INSTANCES, "i-0a1b2c3d4e5f67890"):
        for name in ("CPUUtilization", "NetworkIn", "NetworkOut", "StatusCheckFailed"):
            yield MetricKey.of("AWS/EC2", name, [("InstanceId", instance)])
    for name in ("CPUUtilization", "StatusCheckFailed_Instance", "StatusCheckFailed_System"):
        yield MetricKey.of("AWS/EC2", name, [_WEB_GROUP])
    for name in ("RequestCount", "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "TargetResponseTime"):
        yield MetricKey.of("AWS/ApplicationELB", name, [_LB])
    for name in ("HealthyHostCount", "UnHealthyHostCount"):
        yield MetricKey.of("AWS/ApplicationELB", name, [_TG, _LB])
    for function in ("orders-api", "payment-webhook", "orders-handler", "order-events-consumer"):
        for name in ("Invocations", "Errors", "Throttles", "Duration"):
            yield MetricKey.of("AWS/Lambda", name, [("FunctionName", function)])
    for name in ("ConcurrentExecutions", "UnreservedConcurrentExecutions"):
        yield MetricKey.of("AWS/Lambda", name)
    for database in ("prod-db-1", "prod-db-2"):
        for name in ("CPUUtilization", "DatabaseConnections", "FreeStorageSpace", "ReadLatency", "WriteLatency"):
            yield MetricKey.of("AWS/RDS", name, [("DBInstanceIdentifier", database)])
    for name in ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", "ReadThrottleEvents",
                 "WriteThrottleEvents"):
        yield MetricKey.of("AWS/DynamoDB", name, [("TableName", "orders")])
    for operation in ("GetItem", "Query", "PutItem"):
        yield MetricKey.of("AWS/DynamoDB", "SuccessfulRequestLatency", [("TableName", "orders"),
                                                                         ("Operation", operation)])
    for queue in ("orders-queue", "orders-dlq"):
        for name in ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage", "NumberOfMessagesSent",
                     "NumberOfMessagesReceived", "NumberOfMessagesDeleted"):
            yield MetricKey.of("AWS/SQS", name, [("QueueName", queue)])
    for name in ("Count", "4XXError", "5XXError", "Latency", "IntegrationLatency"):
        yield MetricKey.of("AWS/ApiGateway", name, _API)


ESTATE: tuple[MetricKey, ...] = tuple(_estate())


def _alarm(name: str, description: str, metric: MetricKey, statistic: str, period: int, threshold: float,
           comparison: str, evaluation_periods: int, datapoints_to_alarm: int | None = None,
           missing: str = "missing") -> dict[str, Any]:
    """PutMetricAlarm's parameters for an alarm of the estate."""
    params: dict[str, Any] = {
        "AlarmName": name, "AlarmDescription": description, "Namespace": metric.namespace,
        "MetricName": metric.name, "Dimensions": [{"Name": key, "Value": value} for key, value in metric.dimensions],
        "Statistic" if statistic[0].isupper() else "ExtendedStatistic": statistic, "Period": period,
        "Threshold": threshold, "ComparisonOperator": comparison, "EvaluationPeriods": evaluation_periods,
        "TreatMissingData": missing}
    if datapoints_to_alarm is not None:
        params["DatapointsToAlarm"] = datapoints_to_alarm
    return params


ALARMS: tuple[dict[str, Any], ...] = (
    _alarm("prod-web-cpu-high", "The busiest web instance is above 70 % CPU for 3 minutes",
           MetricKey.of("AWS/EC2", "CPUUtilization", [_WEB_GROUP]), "Maximum", 60, 70.0, "GreaterThanThreshold", 3),
    _alarm("prod-web-target-5xx", "The web targets answer with 5XX errors",
           MetricKey.of("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", [_LB]), "Sum", 300, 1.0,
           "GreaterThanThreshold", 1, missing="notBreaching"),
    _alarm("orders-queue-backlog", "Orders wait 45 s or more in the queue",
           MetricKey.of("AWS/SQS", "ApproximateAgeOfOldestMessage", [("QueueName", "orders-queue")]), "Maximum", 300,
           45.0, "GreaterThanOrEqualToThreshold", 3, 2),
    _alarm("payment-webhook-errors", "The payment webhook fails 3 times or more in 5 minutes",
           MetricKey.of("AWS/Lambda", "Errors", [("FunctionName", "payment-webhook")]), "Sum", 300, 3.0,
           "GreaterThanOrEqualToThreshold", 1, missing="notBreaching"),
    _alarm("prod-db-1-cpu-high", "The primary database is above 85 % CPU for 3 minutes",
           MetricKey.of("AWS/RDS", "CPUUtilization", [("DBInstanceIdentifier", "prod-db-1")]), "Average", 60, 85.0,
           "GreaterThanThreshold", 3),
    _alarm("prod-web-latency-p99", "The slowest 1 % of requests take over a second for 10 minutes",
           MetricKey.of("AWS/ApplicationELB", "TargetResponseTime", [_LB]), "p99", 300, 1.0, "GreaterThanThreshold", 2),
)


@dataclass(frozen=True)
class Seeded:
    """What ``seed`` wrote."""

    metrics: int
    datapoints: int
    start: datetime
    end: datetime
    alarms: int = 0


def _alarm_arn(name: str) -> str:
    return f"arn:aws:cloudwatch:{alarms.REGION}:{alarms.ACCOUNT_ID}:alarm:{name}"


# The on-call team's dashboard of the web tier, as the console saves it: a heading, graphs in a 24-wide grid
# (one with its alarm's threshold), and widgets a report cannot draw (a Logs Insights query, alarm status).
DASHBOARDS: dict[str, dict[str, Any]] = {
    "prod-web-overview": {
        "start": "-PT3H",
        "widgets": [
            {"type": "text", "x": 0, "y": 0, "width": 24, "height": 2, "properties": {
                "markdown": "## Web tier\nThe production web stack behind **prod-web**: CPU of the Auto Scaling "
                            "group, traffic and errors at the load balancer. Runbook: "
                            "[web tier](https://wiki.example.com/runbooks/web)."}},
            {"type": "metric", "x": 0, "y": 2, "width": 12, "height": 6, "properties": {
                "title": "Web CPU (busiest instance)", "view": "timeSeries", "region": "eu-central-1",
                "stat": "Maximum", "period": 300,
                "metrics": [["AWS/EC2", "CPUUtilization", *_WEB_GROUP]],
                "annotations": {"alarms": [_alarm_arn("prod-web-cpu-high")]},
                "yAxis": {"left": {"min": 0, "max": 100}}}},
            {"type": "metric", "x": 12, "y": 2, "width": 12, "height": 6, "properties": {
                "title": "Requests and target 5XX", "view": "timeSeries", "region": "eu-central-1",
                "stat": "Sum", "period": 300,
                "metrics": [["AWS/ApplicationELB", "RequestCount", *_LB, {"label": "Requests"}],
                            [".", "HTTPCode_Target_5XX_Count", ".", ".", {"label": "Target 5XX", "yAxis": "right",
                                                                          "color": "#d62728"}]]}},
            {"type": "log", "x": 0, "y": 8, "width": 12, "height": 6, "properties": {
                "title": "Slowest requests", "region": "eu-central-1", "view": "table",
                "query": "SOURCE '/aws/alb/prod-web' | sort duration desc | limit 20"}},
            {"type": "alarm", "x": 12, "y": 8, "width": 12, "height": 6, "properties": {
                "title": "Web alarms", "alarms": [_alarm_arn("prod-web-cpu-high"),
                                                  _alarm_arn("prod-web-target-5xx")]}},
        ],
    },
}


def seed(store: MetricStore, start: datetime, end: datetime, *, published: float) -> Seeded:
    """Fill ``store`` with the estate's data for the whole minutes in [start, end), and its alarms made at the
    start; ``published`` is when the data counts as having arrived (epoch seconds), for ListMetrics'
    RecentlyActive."""
    first = math.ceil(start.timestamp() / MINUTE) * MINUTE
    stop = math.ceil(end.timestamp() / MINUTE) * MINUTE
    if first >= stop:
        raise ValueError(f"the window {start:%Y-%m-%dT%H:%M:%SZ} to {end:%Y-%m-%dT%H:%M:%SZ} holds no whole minute")
    datapoints = 0
    with store.transaction():
        for metric in ESTATE:
            store.delete(metric, first, stop)
            for chunk in range(first, stop, _CHUNK):
                datapoints += _add_minutes(store, metric, chunk, min(chunk + _CHUNK, stop), published)
        names = [params["AlarmName"] for params in ALARMS]
        store.delete_alarms([row.name for row in store.alarms(names=names)])
        for params in ALARMS:
            record, created = alarms.put(params, None, first)
            store.put_alarm(record.to_row())
            store.add_alarm_history([created])
        for name, body in DASHBOARDS.items():
            store.put_dashboard(Dashboard(name, json.dumps(body), published))
    return Seeded(len(ESTATE), datapoints, datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(stop, UTC),
                  len(ALARMS))


def _add_minutes(store: MetricStore, metric: MetricKey, start: int, end: int, published: float) -> int:
    """Store the metric's datapoints for the minutes in [start, end); return how many."""
    row = MetricRow(metric.namespace, metric.name, metric.dimensions, "Average", MINUTE)
    window = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    average = synthetic.series(row, *window)
    unit = average.unit or NO_UNIT
    timestamps, values, counts = average.timestamps, average.values, np.ones(len(average.values))
    if metric.dimensions == (_WEB_GROUP,) and metric.name == "CPUUtilization":
        # The group's metric aggregates its instances' datapoints, as EC2's does: its Maximum is the
        # busiest instance and its Average their mean.
        members = [synthetic.series(replace(row, dimensions=(("InstanceId", instance),)), *window).values
                   for instance in _WEB_INSTANCES]
        timestamps, values = np.repeat(timestamps, len(members)), np.stack(members, axis=1).ravel()
        counts = np.ones(len(values))
    elif unit in _SPREAD_UNITS:
        spread = np.stack([synthetic.series(replace(row, stat=stat), *window).values for stat, _ in _SPREAD], axis=1)
        if (spread != spread[:, :1]).any():
            timestamps, values = np.repeat(timestamps, len(_SPREAD)), spread.ravel()
            counts = np.tile([float(count) for _, count in _SPREAD], len(average.values))
    store.add_values(metric, unit, timestamps.tolist(), values.tolist(), counts.tolist(), published=published)
    return len(values)


def window(*, start: datetime | None, end: datetime | None, days: float | None, now: datetime) -> tuple[datetime,
                                                                                                        datetime]:
    """The seeding window from the command line's options: ``days`` up to ``end`` (default now), or
    ``start`` to ``end``."""
    end = end or now
    if start is None:
        start = end - timedelta(days=days if days is not None else 7)
    return start, end
