"""The numbers behind a chart: GetMetricData over the same metrics, statistics, periods and math as its widget.

A widget's MetricWidget JSON (what GetMetricWidgetImage draws) becomes GetMetricData queries: each metric row a
``MetricStat`` with the row's statistic and period, each math row an ``Expression``, hidden rows queried but not
returned (math may use them). The answer is paged (``NextToken``), merged per series and summarised per series
(min, average, max, last, when the max happened). Like ``fetch``, every call waits its turn at the account's
limiter, is retried with backoff, and a widget whose numbers cannot be had gets ``WidgetNumbers(error=…)``:
the numbers never stop a report.

GetMetricData cannot reach another region in the same call, so a row in one is left out, with a note that says so.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any, Protocol

from reportgen import apicall, expression
from reportgen.apicall import GaveUp
from reportgen.errors import WidgetFailure
from reportgen.model import DEFAULT_PERIOD, RetryPolicy, SeriesData, SeriesStats, WidgetNumbers
from reportgen.periods import parse_time_expression, to_utc
from reportgen.ratelimit import StrictRateLimiter

DEFAULT_STAT = "Average"
DEFAULT_START, DEFAULT_END = "-PT3H", "P0D"  # CloudWatch's, for a widget that sets no range of its own


class MetricDataSource(Protocol):
    async def get_metric_data(self, **params: Any) -> dict[str, Any]: ...


# ---- widget → queries ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    """One row of ``metrics`` with the "." shorthand resolved: a metric (``strings``) or math (``expression``)."""

    position: int                # 1-based, as the console numbers rows
    strings: tuple[str, ...]     # [Namespace, MetricName, Dim1Name, Dim1Value, …]; empty for math
    options: Mapping[str, Any]

    @property
    def expression(self) -> str | None:
        return None if self.strings else str(self.options.get("expression", ""))

    @property
    def dimensions(self) -> tuple[tuple[str, str], ...]:
        return tuple(zip(self.strings[2::2], self.strings[3::2]))

    @property
    def default_label(self) -> str:
        """What the legend shows for a row without a ``label``: the metric's name, or the expression."""
        return self.strings[1] if self.strings else str(self.expression)


def metric_data_queries(widget: Mapping[str, Any], *, region: str | None = None,
                        now: datetime | None = None) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    """GetMetricData ``MetricDataQueries`` for the MetricWidget ``widget``, and notes on what they leave out.

    The queries ask for what the chart draws: each row's statistic and period (the row's own, else the widget's,
    else Average and 300 s; with ``setPeriodToTimeRange`` one period spanning the whole range), its math, its
    ``accountId`` (the row's or the widget's). Visible rows return data labelled as the legend labels them; hidden
    rows are queried for math alone. Rows without an ``id`` get one (``m3`` for the third row, ``e2`` for math)
    that no row of the widget uses. A row in a region other than the widget's (``region`` when the widget names
    none: the region the call goes to) is left out, as is math that needs it, each with a note. ``now`` is what
    relative times count from, needed only to span a range relative to it (default: the current time).

    Raise ``WidgetFailure`` if the rows cannot be read (a "." with nothing before it), or a range to span cannot.
    """
    rows = _rows(widget.get("metrics"))
    home = widget.get("region") or region
    elsewhere = {row.position: str(row.options["region"]) for row in rows
                 if row.options.get("region") and home and row.options["region"] != home}
    ids = _ids(rows)
    elsewhere.update(_needing(rows, ids, elsewhere))
    labels = _labels([row for row in rows if _visible(row)], widget)
    notes = []
    for row in rows:
        if row.position in elsewhere and _visible(row):
            where = "is in" if row.strings else "needs a metric in"
            notes.append(f"{labels[row.position]} {where} {elsewhere[row.position]}; its numbers are not shown")
    span = _range_period(widget, now) if widget.get("setPeriodToTimeRange") else None
    queries = [_query(row, ids[row.position], labels.get(row.position), widget, span)
               for row in rows if row.position not in elsewhere]
    return queries, tuple(notes)


def _rows(metrics: Any) -> list[_Row]:
    """The widget's rows, "." and a leading "..." resolved against the metric row before, as CloudWatch does."""
    if not isinstance(metrics, list) or not metrics:
        raise WidgetFailure("the widget has no `metrics` to fetch numbers for")
    rows: list[_Row] = []
    previous: list[str] = []
    for position, raw in enumerate(metrics, 1):
        where = f"metrics[{position - 1}]"
        if not isinstance(raw, list) or not raw:
            raise WidgetFailure(f"`{where}` must be a non-empty list like [Namespace, MetricName, …, {{options}}]")
        options = raw[-1] if isinstance(raw[-1], dict) else {}
        strings = raw[:-1] if isinstance(raw[-1], dict) else raw
        if not strings:
            if not options.get("expression"):
                raise WidgetFailure(f"`{where}` has neither a metric nor an `expression`")
            rows.append(_Row(position, (), options))
            continue
        previous = _resolve(strings, previous, where)
        rows.append(_Row(position, tuple(previous), options))
    return rows


def _resolve(strings: list[Any], previous: list[str], where: str) -> list[str]:
    """Expand a leading "..." (the previous row's values up to where these take over, aligned at the end) and
    each "." (the previous row's value at that position)."""
    if strings[0] == "...":
        kept = len(previous) - (len(strings) - 1)
        if kept < 2:
            raise WidgetFailure(f"`{where}` starts with \"...\" but the metric row before has too few values")
        strings = [*previous[:kept], *strings[1:]]
    resolved = []
    for position, item in enumerate(strings):
        if item == ".":
            if position >= len(previous):
                raise WidgetFailure(f"`{where}[{position}]` is \".\" but the metric row before has no value there")
            item = previous[position]
        resolved.append(str(item))
    if len(resolved) < 2 or len(resolved) % 2:
        raise WidgetFailure(f"`{where}` must be [Namespace, MetricName, DimensionName, DimensionValue, …]")
    return resolved


def _visible(row: _Row) -> bool:
    return row.options.get("visible", True) is not False


def _label(row: _Row) -> str:
    return str(row.options.get("label") or row.default_label)


def _ids(rows: Sequence[_Row]) -> dict[int, str]:
    """Each row's query id: its own, else ``m<n>``/``e<n>`` from its position on, skipping any id already used."""
    taken = {str(row.options["id"]) for row in rows if row.options.get("id")}
    ids = {}
    for row in rows:
        if row.options.get("id"):
            ids[row.position] = str(row.options["id"])
            continue
        prefix = "m" if row.strings else "e"
        ids[row.position] = next(f"{prefix}{n}" for n in count(row.position) if f"{prefix}{n}" not in taken)
        taken.add(ids[row.position])
    return ids


def _needing(rows: Sequence[_Row], ids: Mapping[int, str], elsewhere: Mapping[int, str]) -> dict[int, str]:
    """The math rows that use a row left out (directly or through other math), each with that row's region.

    An expression that does not parse is sent as written: CloudWatch's answer says what is wrong with it.
    """
    uses = {}
    for row in rows:
        if row.expression is not None:
            try:
                tree = expression.parse(row.expression)
            except expression.ExpressionError:
                continue
            uses[row.position] = {node.id for node in expression.walk(tree) if isinstance(node, expression.Ref)}
    missing = {ids[position]: region for position, region in elsewhere.items()}
    found: dict[int, str] = {}
    while True:  # math may use math in any order: repeat until nothing more is found
        more = {position: missing[used] for position, names in uses.items() if position not in found
                for used in names if used in missing}
        if not more:
            return found
        found.update(more)
        missing.update({ids[position]: region for position, region in more.items()})


def _labels(shown: Sequence[_Row], widget: Mapping[str, Any]) -> dict[int, str]:
    """The legend's label of each shown row: its own, else the default one; rows that would share a default label
    also show the dimension values, statistic and period that tell them apart (``i-2 CPUUtilization p99 60s``)."""
    groups: dict[str, list[_Row]] = {}
    for row in shown:
        if not row.options.get("label"):
            groups.setdefault(row.default_label, []).append(row)
    labels = {}
    for row in shown:
        same = [] if row.options.get("label") else groups[row.default_label]
        if len(same) < 2:
            labels[row.position] = _label(row)
            continue
        shared = set.intersection(*(set(other.dimensions) for other in same))
        parts = [value for name, value in row.dimensions if (name, value) not in shared]
        parts.append(row.default_label)
        if len({_stat(other, widget) for other in same}) > 1:
            parts.append(_stat(row, widget))
        if len({_period(other, widget) for other in same}) > 1:
            parts.append(f"{_period(row, widget)}s")
        labels[row.position] = " ".join(parts)
    return labels


def _stat(row: _Row, widget: Mapping[str, Any]) -> str:
    return str(row.options.get("stat", widget.get("stat", DEFAULT_STAT)))


def _period(row: _Row, widget: Mapping[str, Any]) -> int:
    return int(row.options.get("period", widget.get("period", DEFAULT_PERIOD)))


def _query(row: _Row, query_id: str, label: str | None, widget: Mapping[str, Any],
           span: int | None) -> dict[str, Any]:
    query: dict[str, Any] = {"Id": query_id}
    if row.expression is not None:
        query["Expression"] = row.expression
        if row.options.get("label"):  # else CloudWatch labels each series (SEARCH gives several)
            query["Label"] = str(row.options["label"])
    else:
        query["MetricStat"] = {
            "Metric": {"Namespace": row.strings[0], "MetricName": row.strings[1],
                       "Dimensions": [{"Name": name, "Value": value} for name, value in row.dimensions]},
            "Period": span or _period(row, widget),
            "Stat": _stat(row, widget),
        }
        query["Label"] = label or _label(row)
        account = row.options.get("accountId") or widget.get("accountId")
        if account:
            query["AccountId"] = str(account)
    query["ReturnData"] = _visible(row)
    return query


def _range_period(widget: Mapping[str, Any], now: datetime | None) -> int:
    """``setPeriodToTimeRange``: one period over the whole range, in whole minutes as CloudWatch takes them."""
    start, end = window_of(widget, now=now or datetime.now(UTC))
    return max(60, math.ceil((end - start).total_seconds() / 60) * 60)


def window_of(widget: Mapping[str, Any], *, now: datetime) -> tuple[datetime, datetime]:
    """The widget's time range as aware UTC instants, read as CloudWatch reads it.

    ``start``/``end`` are ISO 8601 times (naive means UTC) or durations (``-PT3H``; unsigned counts back too, a
    ``+`` forward). A duration ``end`` counts from ``now``; a duration ``start`` from an absolute ``end``, else
    from ``now``. Unset, the range is the three hours up to ``now``. Raise ``WidgetFailure`` for a time that
    cannot be read or a range that is empty.
    """
    end_text = str(widget.get("end", DEFAULT_END))
    end_value = _parse(end_text, "end")
    end = _instant(end_value, end_text, now)
    start_text = str(widget.get("start", DEFAULT_START))
    start = _instant(_parse(start_text, "start"), start_text, now if isinstance(end_value, timedelta) else end)
    if start >= end:
        raise WidgetFailure(f"the widget's range is empty: `start` ({start:%Y-%m-%dT%H:%M:%SZ}) is not before "
                            f"`end` ({end:%Y-%m-%dT%H:%M:%SZ})")
    return start, end


def _parse(text: str, key: str) -> datetime | timedelta:
    try:
        return parse_time_expression(text)
    except ValueError as exc:
        raise WidgetFailure(f"`{key}`: {exc}") from None


def _instant(value: datetime | timedelta, text: str, base: datetime) -> datetime:
    if isinstance(value, datetime):
        return to_utc(value, UTC)
    forward = text.strip().startswith("+")
    return (base + abs(value) if forward else base - abs(value)).astimezone(UTC)


# ---- answers → series and their numbers ----------------------------------------------------------------------


def series_stats(series: SeriesData) -> SeriesStats:
    """Min, mean, max, the value at the latest timestamp, and the first time the max was reached, over the
    series' datapoints (oldest first, as ``SeriesData`` keeps them); every number None when it has none."""
    values = series.values
    if not values:
        return SeriesStats(series.id, series.label, series.unit, None, None, None, None, None, 0)
    maximum = max(values)
    return SeriesStats(id=series.id, label=series.label, unit=series.unit, minimum=min(values),
                       average=statistics.fmean(values), maximum=maximum, last=values[-1],
                       max_at=series.timestamps[values.index(maximum)], points=len(values))


@dataclass
class _Merged:
    """One series gathered over the pages of an answer."""

    id: str
    label: str
    points: list[tuple[datetime, float]]
    status: str = "Complete"




async def fetch_numbers(metric_widget: str, source: MetricDataSource | WidgetFailure, limiter: StrictRateLimiter,
                        policy: RetryPolicy, *, now: datetime, previous: bool = False,
                        region: str | None = None) -> WidgetNumbers:
    """The numbers behind the widget whose MetricWidget JSON is ``metric_widget``, over its range (relative times
    counted from ``now``); with ``previous``, also over the range of the same length just before it.

    ``region`` is the region ``source`` calls, for a widget that names none (see ``metric_data_queries``). Every
    call waits its turn at ``limiter`` and is retried as ``policy`` says; all pages are followed. Never raises for
    a bad widget or AWS trouble: that becomes ``WidgetNumbers(error=…)``.
    """
    if isinstance(source, WidgetFailure):  # no client for this account (e.g. an unknown profile)
        return WidgetNumbers(error=str(source))
    try:
        widget = json.loads(metric_widget)
    except ValueError as exc:  # json.JSONDecodeError
        return WidgetNumbers(error=f"the widget is not valid JSON: {exc}")
    if not isinstance(widget, dict):
        return WidgetNumbers(error="the widget is not a JSON object")
    notes: tuple[str, ...] = ()
    try:
        queries, notes = metric_data_queries(widget, region=region, now=now)
        if not any(query["ReturnData"] for query in queries):
            return WidgetNumbers(notes=notes)
        start, end = window_of(widget, now=now)
        fetching = _Fetch(source, limiter, policy, queries, widget.get("timezone"))
        series, found = await fetching.series(start, end)
        before = None
        if previous:
            earlier, found_before = await fetching.series(start - (end - start), start)
            before = tuple(series_stats(each) for each in earlier)
            found += tuple(f"previous period: {note}" for note in found_before)
    except (WidgetFailure, GaveUp) as exc:
        return WidgetNumbers(error=str(exc), notes=notes)
    return WidgetNumbers(series=series, stats=tuple(series_stats(each) for each in series), previous=before,
                         notes=tuple(dict.fromkeys(notes + found)))


class _Fetch:
    """GetMetricData for one widget's queries: any window, every page, each call paced and retried."""

    def __init__(self, source: MetricDataSource, limiter: StrictRateLimiter, policy: RetryPolicy,
                 queries: list[dict[str, Any]], timezone: Any) -> None:
        self.source, self.limiter, self.policy, self.queries = source, limiter, policy, queries
        # Dynamic labels (${MAX_TIME}) are written in the widget's zone, as the chart writes them.
        self.label_options = {"LabelOptions": {"Timezone": timezone}} if isinstance(timezone, str) else {}
        self.order = {query["Id"]: index for index, query in enumerate(queries)}
        self.units = {query["Id"]: unit_of(stat["Metric"]["Namespace"], stat["Metric"]["MetricName"], stat["Stat"])
                      for query in queries if (stat := query.get("MetricStat"))}
        # CloudWatch labels an unlabelled expression by its id; the legend shows the expression.
        self.expressions = {query["Id"]: query["Expression"] for query in queries
                            if "Expression" in query and "Label" not in query}

    async def series(self, start: datetime, end: datetime) -> tuple[tuple[SeriesData, ...], tuple[str, ...]]:
        """The returned series over [start, end) in query order, and what CloudWatch said about them."""
        params = {"MetricDataQueries": self.queries, "StartTime": start, "EndTime": end,
                  "ScanBy": "TimestampAscending", **self.label_options}
        merged: dict[tuple[str, str], _Merged] = {}
        notes: list[str] = []
        token = None
        while True:
            answer = await self._call({**params, **({"NextToken": token} if token else {})})
            for result in answer.get("MetricDataResults", []):
                label = self._label(result)
                series = merged.setdefault((result["Id"], label), _Merged(result["Id"], label, []))
                series.points += zip((to_utc(t, UTC) for t in result.get("Timestamps", [])),
                                     (float(v) for v in result.get("Values", [])))
                series.status = result.get("StatusCode", "Complete")
                notes += (f"{label}: {_said(message)}" for message in result.get("Messages", []))
            notes += (_said(message) for message in answer.get("Messages", []))
            token = answer.get("NextToken")
            if not token:
                break
        notes += (f"{series.label}: CloudWatch's data is {series.status}; its numbers may be incomplete"
                  for series in merged.values() if series.status != "Complete")
        ordered = sorted(merged.values(), key=lambda series: self.order.get(series.id, len(self.order)))
        return tuple(self._data(series) for series in ordered), tuple(dict.fromkeys(notes))

    def _label(self, result: Mapping[str, Any]) -> str:
        label = str(result.get("Label") or result["Id"])
        return self.expressions.get(result["Id"], label) if label == result["Id"] else label

    def _data(self, series: _Merged) -> SeriesData:
        points = sorted(series.points, key=lambda point: point[0])  # pages may interleave; the model promises order
        return SeriesData(id=series.id, label=series.label, timestamps=tuple(t for t, _ in points),
                          values=tuple(v for _, v in points), unit=self.units.get(series.id))

    async def _call(self, params: dict[str, Any]) -> dict[str, Any]:
        return await apicall.call(lambda: self.source.get_metric_data(**params), self.limiter, self.policy)


def _said(message: Mapping[str, Any]) -> str:
    """A CloudWatch ``MessageData`` as a line: its text, and its code when it has one."""
    code, value = message.get("Code"), message.get("Value") or ""
    return f"{value} ({code})" if code else str(value)


# ---- units ---------------------------------------------------------------------------------------------------


def _units(unit: str, *names: str) -> Iterator[tuple[str, str]]:
    return ((name, unit) for name in names)


# The units AWS documents for the metrics dashboards show most (each service's "CloudWatch metrics" page).
# GetMetricData returns none, so the table's unit column comes from here. Not listed: metrics AWS publishes
# without a unit, such as CloudFront's Requests and BytesDownloaded.
_UNITS: dict[str, dict[str, str]] = {
    "AWS/EC2": dict([
        *_units("Percent", "CPUUtilization"),
        *_units("Bytes", "NetworkIn", "NetworkOut", "DiskReadBytes", "DiskWriteBytes", "EBSReadBytes",
                "EBSWriteBytes"),
        *_units("Count", "NetworkPacketsIn", "NetworkPacketsOut", "DiskReadOps", "DiskWriteOps", "EBSReadOps",
                "EBSWriteOps", "StatusCheckFailed", "StatusCheckFailed_Instance", "StatusCheckFailed_System"),
    ]),
    "AWS/EBS": dict([
        *_units("Bytes", "VolumeReadBytes", "VolumeWriteBytes"),
        *_units("Count", "VolumeReadOps", "VolumeWriteOps", "VolumeQueueLength", "VolumeConsumedReadWriteOps"),
        *_units("Seconds", "VolumeTotalReadTime", "VolumeTotalWriteTime", "VolumeIdleTime"),
        *_units("Percent", "VolumeThroughputPercentage", "BurstBalance"),
    ]),
    "AWS/ELB": dict([
        *_units("Count", "RequestCount", "HealthyHostCount", "UnHealthyHostCount", "HTTPCode_Backend_2XX",
                "HTTPCode_Backend_3XX", "HTTPCode_Backend_4XX", "HTTPCode_Backend_5XX", "HTTPCode_ELB_4XX",
                "HTTPCode_ELB_5XX", "BackendConnectionErrors", "SurgeQueueLength", "SpilloverCount"),
        *_units("Seconds", "Latency"),
    ]),
    "AWS/ApplicationELB": dict([
        *_units("Count", "RequestCount", "RequestCountPerTarget", "HealthyHostCount", "UnHealthyHostCount",
                "HTTPCode_Target_2XX_Count", "HTTPCode_Target_3XX_Count", "HTTPCode_Target_4XX_Count",
                "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_3XX_Count", "HTTPCode_ELB_4XX_Count",
                "HTTPCode_ELB_5XX_Count", "ActiveConnectionCount", "NewConnectionCount", "RejectedConnectionCount",
                "TargetConnectionErrorCount"),
        *_units("Seconds", "TargetResponseTime"),
        *_units("Bytes", "ProcessedBytes"),
    ]),
    "AWS/NetworkELB": dict([
        *_units("Count", "ActiveFlowCount", "NewFlowCount", "HealthyHostCount", "UnHealthyHostCount",
                "TCP_Client_Reset_Count", "TCP_ELB_Reset_Count", "TCP_Target_Reset_Count"),
        *_units("Bytes", "ProcessedBytes"),
    ]),
    "AWS/Lambda": dict([
        *_units("Count", "Invocations", "Errors", "Throttles", "DeadLetterErrors", "ConcurrentExecutions",
                "UnreservedConcurrentExecutions", "ProvisionedConcurrentExecutions"),
        *_units("Milliseconds", "Duration", "IteratorAge"),
    ]),
    "AWS/RDS": dict([
        *_units("Percent", "CPUUtilization", "BurstBalance"),
        *_units("Count", "DatabaseConnections", "DiskQueueDepth"),
        *_units("Bytes", "FreeStorageSpace", "FreeableMemory", "SwapUsage"),
        *_units("Count/Second", "ReadIOPS", "WriteIOPS"),
        *_units("Seconds", "ReadLatency", "WriteLatency", "ReplicaLag"),
        *_units("Bytes/Second", "ReadThroughput", "WriteThroughput", "NetworkReceiveThroughput",
                "NetworkTransmitThroughput"),
    ]),
    "AWS/DynamoDB": dict([
        *_units("Count", "ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", "ProvisionedReadCapacityUnits",
                "ProvisionedWriteCapacityUnits", "ReadThrottleEvents", "WriteThrottleEvents", "ThrottledRequests",
                "UserErrors", "SystemErrors", "ConditionalCheckFailedRequests", "ReturnedItemCount"),
        *_units("Milliseconds", "SuccessfulRequestLatency", "ReplicationLatency"),
    ]),
    "AWS/SQS": dict([
        *_units("Count", "ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed", "NumberOfMessagesSent", "NumberOfMessagesReceived",
                "NumberOfMessagesDeleted", "NumberOfEmptyReceives"),
        *_units("Seconds", "ApproximateAgeOfOldestMessage"),
        *_units("Bytes", "SentMessageSize"),
    ]),
    "AWS/SNS": dict([
        *_units("Count", "NumberOfMessagesPublished", "NumberOfNotificationsDelivered", "NumberOfNotificationsFailed",
                "NumberOfNotificationsFilteredOut"),
        *_units("Bytes", "PublishSize"),
    ]),
    "AWS/ApiGateway": dict([
        *_units("Count", "Count", "4XXError", "5XXError", "CacheHitCount", "CacheMissCount"),
        *_units("Milliseconds", "Latency", "IntegrationLatency"),
    ]),
    "AWS/CloudFront": dict([
        *_units("Percent", "4xxErrorRate", "5xxErrorRate", "TotalErrorRate", "CacheHitRate"),
        *_units("Milliseconds", "OriginLatency"),
    ]),
    "AWS/ECS": dict(_units("Percent", "CPUUtilization", "MemoryUtilization", "CPUReservation", "MemoryReservation",
                           "GPUReservation")),
    "AWS/S3": dict([
        *_units("Bytes", "BucketSizeBytes", "BytesDownloaded", "BytesUploaded"),
        *_units("Count", "NumberOfObjects", "AllRequests", "GetRequests", "PutRequests", "DeleteRequests",
                "HeadRequests", "ListRequests", "4xxErrors", "5xxErrors"),
        *_units("Milliseconds", "FirstByteLatency", "TotalRequestLatency"),
    ]),
    "AWS/ElastiCache": dict([
        *_units("Percent", "CPUUtilization", "EngineCPUUtilization"),
        *_units("Bytes", "FreeableMemory", "SwapUsage", "NetworkBytesIn", "NetworkBytesOut", "BytesUsedForCache"),
        *_units("Count", "CacheHits", "CacheMisses", "CurrConnections", "NewConnections", "Evictions", "CurrItems"),
        *_units("Seconds", "ReplicationLag"),
    ]),
    "AWS/Kinesis": dict([
        *_units("Count", "IncomingRecords", "GetRecords.Records", "ReadProvisionedThroughputExceeded",
                "WriteProvisionedThroughputExceeded"),
        *_units("Bytes", "IncomingBytes", "GetRecords.Bytes"),
        *_units("Milliseconds", "GetRecords.IteratorAgeMilliseconds", "GetRecords.Latency", "PutRecord.Latency",
                "PutRecords.Latency"),
    ]),
}


def unit_of(namespace: str, metric_name: str, stat: str) -> str | None:
    """The unit CloudWatch documents for ``stat`` of the metric: ``Count`` for SampleCount, else the metric's own
    (``Percent`` for EC2's CPUUtilization); None for a metric not in the table."""
    if stat == "SampleCount":
        return "Count"
    return _UNITS.get(namespace, {}).get(metric_name)
