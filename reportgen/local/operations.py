"""The CloudWatch operations answered from the metric store, and the data GetMetricWidgetImage draws.

    PutMetricData        values, ``Values``/``Counts``, statistic sets, units, timestamps, 1 s resolution
    GetMetricData        metric queries and math expressions (SEARCH included), labels, ``ScanBy``,
                         ``MaxDatapoints`` pages
    GetMetricStatistics  standard and extended statistics, by unit
    ListMetrics          by namespace, name, dimensions, ``RecentlyActive``; pages of 500
    PutDashboard, GetDashboard, ListDashboards, DeleteDashboards
    PutMetricAlarm       an alarm on a metric or on math (``alarms`` checks and evaluates it)
    DescribeAlarms       by names or prefix, state, type, action prefix; pages of ``MaxRecords`` (50)
    DescribeAlarmsForMetric, SetAlarmState, DeleteAlarms
    DescribeAlarmHistory by alarm, type, item type, dates, ``ScanBy``; pages of ``MaxRecords`` (100)

Each takes the parameters ``protocols`` decoded and returns the members of the operation's output, or
raises ``ServiceError`` as CloudWatch would. The API answers from stored data only; synthetic data is for
drawing (``widget_series``), so a query for a metric nobody stored returns no datapoints, as CloudWatch's
does. Periods start at ``StartTime`` rounded down the way CloudWatch rounds it (to the period below a
minute; else to the minute, or for older data to 5 minutes or the hour).

SEARCH looks through the metrics ListMetrics lists that had data in the past two weeks, as CloudWatch's
does, and gives each match's statistic over the query's window (``search`` has the syntax and labels).

Alarms are evaluated over the stored data when they are read (see ``alarms``): each operation on alarms
first brings the alarms it touches up to the present, and writes back their state and history.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from reportgen.local import aggregate, alarms, mathexpr, search, synthetic
from reportgen.local.aggregate import Statistic, parse_statistic
from reportgen.local.protocols import ServiceError
from reportgen.local.store import NO_UNIT, Dashboard, HistoryRow, MetricKey, MetricStore, StatisticSet
from reportgen.local.widget import MetricRow, Widget

MAX_DATUMS = 1000
MAX_VALUES = 150
MAX_QUERIES = 500
MAX_STATISTICS_POINTS = 1440
DEFAULT_MAX_DATAPOINTS = 100_800
LIST_METRICS_PAGE = 500
LIST_DASHBOARDS_PAGE = 1000
DESCRIBE_ALARMS_PAGE = 50
ALARM_HISTORY_PAGE = 100
PAST_LIMIT = 14 * 86_400   # PutMetricData takes timestamps up to two weeks old …
FUTURE_LIMIT = 2 * 3600    # … and up to two hours ahead
RECENTLY_ACTIVE = 3 * 3600
SEARCH_HISTORY = 14 * 86_400  # SEARCH finds the metrics with data in the past two weeks …
MAX_SEARCH_RESULTS = 500      # … and at most this many, as many as a graph can show
VALUE_LIMIT = 2.0 ** 360
_ID = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
_DASHBOARD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_WIDGET_TYPES = frozenset({"metric", "text", "log", "alarm", "explorer", "custom"})

Handler = Callable[[Mapping[str, Any]], Mapping[str, Any]]
Floats = npt.NDArray[np.float64]
T = TypeVar("T")


def _validation(message: str) -> ServiceError:
    return ServiceError("ValidationError", message)


def _invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValue", message)


@dataclass(frozen=True)
class _Query:
    """One of GetMetricData's queries, checked."""

    id: str
    label: str | None
    return_data: bool
    metric: MetricKey | None = None  # a metric query …
    statistic: Statistic | None = None
    period: int = 0
    unit: str | None = None
    expression: str | None = None    # … or an expression


class Operations:
    """The store-backed operations. ``clock`` gives the wall-clock time in epoch seconds; ``synthetic``
    says whether a widget row without stored data is drawn from synthetic data (else it is empty)."""

    def __init__(self, store: MetricStore, *, clock: Callable[[], float] = time.time, synthetic: bool = True) -> None:
        self.store = store
        self.clock = clock
        self.synthetic = synthetic
        self.handlers: Mapping[str, Handler] = {
            "PutMetricData": self.put_metric_data,
            "GetMetricData": self.get_metric_data,
            "GetMetricStatistics": self.get_metric_statistics,
            "ListMetrics": self.list_metrics,
            "PutDashboard": self.put_dashboard,
            "GetDashboard": self.get_dashboard,
            "ListDashboards": self.list_dashboards,
            "DeleteDashboards": self.delete_dashboards,
            "PutMetricAlarm": self.put_metric_alarm,
            "DescribeAlarms": self.describe_alarms,
            "DescribeAlarmsForMetric": self.describe_alarms_for_metric,
            "DescribeAlarmHistory": self.describe_alarm_history,
            "SetAlarmState": self.set_alarm_state,
            "DeleteAlarms": self.delete_alarms,
        }

    # ---- PutMetricData ------------------------------------------------------------------------------------

    def put_metric_data(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        datums = [(f"MetricData.member.{n}", datum) for n, datum in enumerate(params.get("MetricData", []), 1)]
        for n, entity in enumerate(params.get("EntityMetricData", []), 1):
            datums += [(f"EntityMetricData.member.{n}.MetricData.member.{m}", datum)
                       for m, datum in enumerate(entity.get("MetricData", []), 1)]
        if not datums:
            raise ServiceError("MissingParameter", "The parameter MetricData is required.")
        if len(datums) > MAX_DATUMS:
            raise _invalid(f"The collection MetricData must not have more than {MAX_DATUMS} items.")
        now = self.clock()
        batches: dict[tuple[MetricKey, str], _Batch] = {}
        problems: list[str] = []  # CloudWatch reports every bad value at once, a line each
        for path, datum in datums:
            try:
                _add_datum(batches, params["Namespace"], datum, path, now)
            except _DatumProblem as problem:
                problems.append(str(problem))
        if problems:
            raise _invalid("\n".join(problems))
        with self.store.transaction():
            for (metric, unit), batch in batches.items():
                if batch.values:
                    timestamps, values, counts = zip(*batch.values)
                    self.store.add_values(metric, unit, timestamps, values, counts, published=now)
                if batch.sets:
                    self.store.add_statistic_sets(metric, unit, batch.sets, published=now)
        return {}

    # ---- GetMetricData ------------------------------------------------------------------------------------

    def get_metric_data(self, params: Mapping[str, Any], *, region: str | None = None) -> Mapping[str, Any]:
        """GetMetricData over the store; a metric without stored data in the window is answered, when synthetic
        data is on, with the synthetic data a widget of it draws in ``region`` (the caller's), so a report's
        table holds the numbers of the chart above it."""
        start, end = _window(params, _validation)
        queries = _queries(params["MetricDataQueries"])
        maximum = params.get("MaxDatapoints", DEFAULT_MAX_DATAPOINTS)
        if maximum < 1:
            raise _validation("The parameter MaxDatapoints must be at least 1.")
        reader = WindowReader(self.store, start, end, self.clock())
        fill = partial(_synthetic, start=start, end=end, region=region) if self.synthetic else None
        results: list[tuple[_Query, str, mathexpr.TimeSeries]] = []
        for query, found in _answers(queries, reader, fill):
            if query.return_data:
                results += [(query, _label(query, series, found), series)
                            for series in ((found,) if isinstance(found, mathexpr.TimeSeries) else found)]
        return _page(results, params, maximum, descending=params.get("ScanBy", "TimestampDescending")
                     == "TimestampDescending")

    # ---- GetMetricStatistics ------------------------------------------------------------------------------

    def get_metric_statistics(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        start, end = _window(params, _invalid)
        period = params["Period"]
        if not _valid_period(period, allow_20=False):
            raise _invalid("The parameter Period must be 1, 5, 10, 30, 60, or a multiple of 60.")
        standard, extended = params.get("Statistics", []), params.get("ExtendedStatistics", [])
        if standard and extended:
            raise ServiceError("InvalidParameterCombination", "The parameters Statistics and ExtendedStatistics "
                                                              "are mutually exclusive and you have specified both.")
        if not standard and not extended:
            raise ServiceError("MissingParameter",
                               "At least one of the parameters Statistics and ExtendedStatistics must be specified.")
        statistics = [parse_statistic(name) for name in standard]
        for n, name in enumerate(extended, 1):
            try:
                statistic = parse_statistic(name)
            except ValueError as exc:
                raise _invalid(f"The parameter ExtendedStatistics.member.{n} is not a valid statistic: {exc}") from None
            if not statistic.needs_values:
                raise _invalid(f"The parameter ExtendedStatistics.member.{n} must be an extended statistic such as "
                               f"p99 or TM(10%:90%); use Statistics for {name}.")
            statistics.append(statistic)
        reader = WindowReader(self.store, start, end, self.clock())
        first = _aligned(start, period, reader.now)
        requested = math.ceil((end - first) / period)
        if requested > MAX_STATISTICS_POINTS:
            raise ServiceError("InvalidParameterCombination",
                               f"You have requested up to {requested:,} datapoints, which exceeds the limit of "
                               f"{MAX_STATISTICS_POINTS:,}. You may reduce the datapoints requested by increasing "
                               "Period, or decreasing the time range.")
        metric = _metric_key(params)
        unit = params.get("Unit")
        datapoints = []
        for each_unit in [unit] if unit is not None else self.store.units(metric, first, end):
            periods = reader.periods(metric, period, each_unit)
            values = {statistic.text: aggregate.compute(statistic, periods) for statistic in statistics}
            for index, moment in enumerate(periods.starts):
                point: dict[str, Any] = {"Timestamp": datetime.fromtimestamp(int(moment), UTC), "Unit": each_unit}
                known = {name: float(column[index]) for name, column in values.items() if not math.isnan(column[index])}
                if not known:
                    continue
                if extended:
                    point["ExtendedStatistics"] = known
                else:
                    point.update(known)
                datapoints.append(point)
        datapoints.sort(key=lambda point: (point["Timestamp"], point["Unit"]))
        return {"Label": params["MetricName"], "Datapoints": datapoints}

    # ---- ListMetrics --------------------------------------------------------------------------------------

    def list_metrics(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        since = self.clock() - RECENTLY_ACTIVE if params.get("RecentlyActive") == "PT3H" else None
        filters = [(item["Name"], item.get("Value")) for item in params.get("Dimensions", [])]
        found = [metric for metric in self.store.metrics(namespace=params.get("Namespace"),
                                                         name=params.get("MetricName"), published_since=since)
                 if all(any(name == wanted and (value is None or have == value) for name, have in metric.dimensions)
                        for wanted, value in filters)]
        page, more = _paged(found, params, "ListMetrics", LIST_METRICS_PAGE)
        return {"Metrics": [
            {"Namespace": metric.namespace, "MetricName": metric.name,
             "Dimensions": [{"Name": name, "Value": value} for name, value in metric.dimensions]}
            for metric in page], **more}

    # ---- dashboards ---------------------------------------------------------------------------------------

    def put_dashboard(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        name = _dashboard_name(params["DashboardName"], "DashboardName")
        messages = _dashboard_problems(params["DashboardBody"])
        if messages:
            listing = "; ".join(f"{message['DataPath']}: {message['Message']}" for message in messages)
            raise ServiceError("InvalidParameterInput",
                               f"The dashboard body is invalid, there are {len(messages)} validation errors: {listing}",
                               fields={"dashboardValidationMessages": messages})
        self.store.put_dashboard(Dashboard(name, params["DashboardBody"], self.clock()))
        return {"DashboardValidationMessages": []}

    def get_dashboard(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        dashboard = self.store.dashboard(params["DashboardName"])
        if dashboard is None:
            raise _not_found([params["DashboardName"]])
        return {"DashboardArn": _arn(dashboard.name), "DashboardBody": dashboard.body, "DashboardName": dashboard.name}

    def list_dashboards(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        found = self.store.dashboards(params.get("DashboardNamePrefix", ""))
        page, more = _paged(found, params, "ListDashboards", LIST_DASHBOARDS_PAGE)
        return {"DashboardEntries": [
            {"DashboardName": dashboard.name, "DashboardArn": _arn(dashboard.name),
             "LastModified": datetime.fromtimestamp(dashboard.modified, UTC), "Size": dashboard.size}
            for dashboard in page], **more}

    def delete_dashboards(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        names = params["DashboardNames"]
        if not names:
            raise ServiceError("MissingParameter", "The parameter DashboardNames is required.")
        missing = self.store.delete_dashboards(names)
        if missing:
            raise _not_found(missing)
        return {}

    # ---- alarms -------------------------------------------------------------------------------------------

    def put_metric_alarm(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        now = self.clock()
        existing = self._current_alarms(names=[params["AlarmName"]])
        record, item = alarms.put(params, existing[0] if existing else None, now)
        if record.alarm.metric is None:
            self._watched(record.alarm)(math.floor(now) - 3600, math.floor(now))  # math that cannot run fails here
        self._keep_alarm(record, [item])
        return {}

    def describe_alarms(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        names, prefix = params.get("AlarmNames") or None, params.get("AlarmNamePrefix")
        if names and prefix is not None:
            raise ServiceError("InvalidParameterCombination", "The parameters AlarmNames and AlarmNamePrefix are "
                                                              "mutually exclusive and you have specified both.")
        # The stand-in has metric alarms only: composite ones, and their children and parents, are none.
        composite = "ChildrenOfAlarmName" in params or "ParentsOfAlarmName" in params
        wanted = "MetricAlarm" in params.get("AlarmTypes", ["MetricAlarm"]) and not composite
        records = self._current_alarms(prefix=prefix or "", names=names) if wanted else []
        state, action = params.get("StateValue"), params.get("ActionPrefix")
        found = [record for record in records if (state is None or record.state.value == state) and (
            action is None or any(arn.startswith(action) for key in ("OKActions", "AlarmActions",
                                                                       "InsufficientDataActions")
                                  for arn in record.alarm.params.get(key, [])))]
        page, more = _paged(found, params, "DescribeAlarms", params.get("MaxRecords", DESCRIBE_ALARMS_PAGE))
        return {"MetricAlarms": [record.described() for record in page], "CompositeAlarms": [], **more}

    def describe_alarms_for_metric(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        return {"MetricAlarms": [record.described() for record in self._current_alarms()
                                 if alarms.matches_metric(record.alarm, params)]}

    def describe_alarm_history(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        name = params.get("AlarmName")
        self._current_alarms(names=None if name is None else [name])
        rows: list[HistoryRow] = []
        if "MetricAlarm" in params.get("AlarmTypes", ["MetricAlarm"]):
            start, end = (params[key].timestamp() if key in params else None for key in ("StartDate", "EndDate"))
            rows = self.store.alarm_history(alarm=name, kind=params.get("HistoryItemType"), start=start, end=end,
                                            descending=params.get("ScanBy") != "TimestampAscending")
        page, more = _paged(rows, params, "DescribeAlarmHistory", params.get("MaxRecords", ALARM_HISTORY_PAGE))
        return {"AlarmHistoryItems": [alarms.history_item(row) for row in page], **more}

    def set_alarm_state(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        found = self._current_alarms(names=[params["AlarmName"]])
        if not found:
            raise _no_alarms([params["AlarmName"]])
        record, item = alarms.set_state(found[0], params["StateValue"], params["StateReason"],
                                        params.get("StateReasonData"), self.clock())
        self._keep_alarm(record, [item])
        return {}

    def delete_alarms(self, params: Mapping[str, Any]) -> Mapping[str, Any]:
        missing = self.store.delete_alarms(params["AlarmNames"])
        if missing:
            raise _no_alarms(missing)
        return {}

    def with_alarms(self, widget: Widget, arns: Sequence[str]) -> Widget:
        """``widget`` with the thresholds of the alarms in its ``annotations.alarms`` (ARNs) as horizontal
        annotations, as CloudWatch draws them; a widget without metrics of its own shows the alarm's."""
        names = [alarms.name_of(arn) for arn in arns]
        found = {record.alarm.name: record.alarm for record in self._current_alarms(names=names)}
        missing = [name for name in names if name not in found]
        if missing:
            raise _invalid(f"MetricWidget: annotations.alarms: no alarm named {missing[0]!r}")
        shown = [found[name] for name in names]
        rows = widget.metrics or tuple(row for alarm in shown for row in alarm.rows())
        return replace(widget, metrics=rows,
                       horizontal=widget.horizontal + tuple(alarm.annotation() for alarm in shown))

    def _current_alarms(self, *, prefix: str = "", names: Sequence[str] | None = None) -> list[alarms.Record]:
        """The alarms asked for, sorted by name, each evaluated up to now; their new state and history are
        stored, and history older than CloudWatch keeps is forgotten."""
        now = self.clock()
        records, history, changed = [], [], []
        for row in self.store.alarms(prefix=prefix, names=names):
            record = alarms.Record.from_row(row)
            current, items = alarms.evaluate(record, now, self._watched(record.alarm))
            records.append(current)
            if current is not record:
                changed.append(current)
                history += items
        with self.store.transaction():
            for record in changed:
                self.store.put_alarm(record.to_row())
            self.store.add_alarm_history(history)
            self.store.forget_alarm_history(now - alarms.HISTORY_RETENTION)
        return records

    def _keep_alarm(self, record: alarms.Record, history: Sequence[HistoryRow]) -> None:
        with self.store.transaction():
            self.store.put_alarm(record.to_row())
            self.store.add_alarm_history(history)

    def _watched(self, alarm: alarms.Alarm) -> alarms.Values:
        """What ``alarm`` watches over a window, from the stored data only."""
        queries = _queries(alarm.params["Metrics"]) if alarm.metric is None else [
            _Query("m1", None, True, alarm.metric, parse_statistic(str(alarm.statistic)), alarm.period,
                   alarm.params.get("Unit"))]

        def values(start: int, end: int) -> tuple[npt.NDArray[np.int64], Floats]:
            reader = WindowReader(self.store, start, end, self.clock())
            for query, found in _answers(queries, reader):
                if query.return_data:
                    if not isinstance(found, mathexpr.TimeSeries):
                        raise _validation(f"The alarm's expression {query.id} gives several time series; an alarm "
                                          "watches one.")
                    return found.timestamps, found.values
            raise AssertionError("an alarm has one query that returns data")  # checked by alarms.Alarm.of

        return values

    # ---- what a widget draws ------------------------------------------------------------------------------

    def widget_reader(self, widget: Widget) -> WindowReader:
        """The stored metrics over ``widget``'s time range, for ``widget_series`` and its SEARCH expressions to
        share."""
        start, end = math.floor(widget.start.timestamp()), math.ceil(widget.end.timestamp())
        return WindowReader(self.store, start, end, self.clock())

    def widget_series(self, widget: Widget,
                      reader: WindowReader | None = None) -> tuple[synthetic.Series | None, ...] | None:
        """Per row of ``widget``, the data to draw instead of synthetic data: the stored series of a metric
        row with datapoints in the window; an empty series for one without, when synthetic data is off;
        None for an expression row and for a row left to synthetic data. None when no row needs anything.
        ``reader`` is ``widget_reader(widget)``, made here if not given.
        """
        if reader is None:
            reader = self.widget_reader(widget)
        fetched: list[synthetic.Series | None] = []
        for row in widget.metrics:
            if row.expression is not None:
                fetched.append(None)
                continue
            statistic = row.statistic
            metric = MetricKey.of(row.namespace, row.name, row.dimensions)
            period = synthetic.effective_period(row.period, widget.start, widget.end)
            timestamps, values = reader.series(metric, statistic, period)
            if not len(timestamps) and self.synthetic:
                fetched.append(None)
                continue
            fetched.append(synthetic.Series(timestamps, values, reader.unit(metric, statistic)))
        return tuple(fetched) if any(series is not None for series in fetched) else None

    def widget_search(self, widget: Widget) -> mathexpr.Search:
        """SEARCH over the stored metrics for ``widget``'s time range, as ``widget_series`` reads them."""
        return self.widget_reader(widget).search


class WindowReader:
    """Stored metrics over one window: a metric's periods are made once whatever statistics are asked of them,
    and its unit is looked up once."""

    def __init__(self, store: MetricStore, start: int, end: int, now: float) -> None:
        self.store, self.start, self.end, self.now = store, start, end, now
        self._periods: dict[tuple[MetricKey, int, str | None], aggregate.Periods] = {}
        self._units: dict[MetricKey, str | None] = {}

    def periods(self, metric: MetricKey, period: int, unit: str | None = None) -> aggregate.Periods:
        """``metric``'s samples (of one ``unit``, or of any) by period, from the window's start rounded down
        as CloudWatch rounds it."""
        key = (metric, period, unit)
        if key not in self._periods:
            first = _aligned(self.start, period, self.now)
            self._periods[key] = aggregate.by_period(self.store.samples(metric, first, self.end, unit), first, period)
        return self._periods[key]

    def series(self, metric: MetricKey, statistic: Statistic, period: int,
               unit: str | None = None) -> tuple[npt.NDArray[np.int64], Floats]:
        """``statistic`` of ``metric`` per period over the window: the periods that have a value."""
        periods = self.periods(metric, period, unit)
        values = aggregate.compute(statistic, periods)
        known = ~np.isnan(values)
        return periods.starts[known], values[known]

    def unit(self, metric: MetricKey, statistic: Statistic) -> str | None:
        """The unit of ``statistic`` of ``metric``: the statistic's own, else the one unit the metric has in
        the window (None if it has several, or none, or CloudWatch's "None")."""
        if statistic.unit is not None:
            return statistic.unit
        if metric not in self._units:
            units = self.store.units(metric, self.start, self.end)
            self._units[metric] = units[0] if len(units) == 1 and units[0] != NO_UNIT else None
        return self._units[metric]

    def search(self, expression: str, stat: str, period: int) -> list[mathexpr.TimeSeries]:
        """SEARCH(expression, stat, period) over the window: a ``mathexpr.Search``. The matches, in ListMetrics'
        order, each labelled by what sets it apart; an empty series for one without data in the window."""
        query = search.parse(expression)
        try:
            statistic = parse_statistic(stat)
        except ValueError as exc:
            raise mathexpr.ExpressionError(f"SEARCH: {exc}") from None
        if not _valid_period(period, allow_20=True):
            raise mathexpr.ExpressionError(f"SEARCH: the period must be 1, 5, 10, 20, 30, 60, or a multiple of 60, "
                                           f"not {period}")
        metrics = [metric for metric in self.store.metrics(namespace=query.namespace,
                                                           published_since=self.now - SEARCH_HISTORY)
                   if query.matches(metric)][:MAX_SEARCH_RESULTS]
        return [mathexpr.TimeSeries(*self.series(metric, statistic, period), period, label)
                for metric, label in zip(metrics, search.labels(metrics))]


# ---- PutMetricData's datums -----------------------------------------------------------------------------------


class _DatumProblem(Exception):
    """A bad value in one datum; PutMetricData reports them all together."""


@dataclass
class _Batch:
    """What one PutMetricData call stores for a metric in one unit."""

    values: list[tuple[int, float, float]] = field(default_factory=list)  # (timestamp, value, count)
    sets: list[StatisticSet] = field(default_factory=list)


def _add_datum(batches: dict[tuple[MetricKey, str], _Batch], namespace: str, datum: Mapping[str, Any], path: str,
               now: float) -> None:
    """Check one MetricDatum and add what it holds to ``batches``."""
    given = [name for name in ("Value", "StatisticValues", "Values") if name in datum]
    if len(given) > 1:
        raise ServiceError("InvalidParameterCombination",
                           f"The parameters {path}.{given[0]} and {path}.{given[1]} are mutually exclusive and "
                           "you have specified both.")
    if not given:
        raise ServiceError("MissingParameter", f"At least one of the parameters {path}.Value, "
                                               f"{path}.StatisticValues and {path}.Values must be specified.")
    if "Counts" in datum and "Values" not in datum:
        raise ServiceError("InvalidParameterCombination", f"The parameter {path}.Counts needs {path}.Values.")
    resolution = datum.get("StorageResolution", 60)
    if resolution not in (1, 60):
        raise _DatumProblem(f"The parameter {path}.StorageResolution must be 1 or 60.")
    moment = datum["Timestamp"].timestamp() if "Timestamp" in datum else now
    if moment < now - PAST_LIMIT:
        raise _DatumProblem(f"The parameter {path}.Timestamp must specify a time within the past two weeks.")
    if moment > now + FUTURE_LIMIT:
        raise _DatumProblem(f"The parameter {path}.Timestamp must specify a time no more than two hours in the future.")
    timestamp = math.floor(moment) // resolution * resolution  # a standard-resolution point keeps its minute
    dimensions = [(item["Name"], item["Value"]) for item in datum.get("Dimensions", [])]
    names = [name for name, _ in dimensions]
    if len(set(names)) < len(names):
        raise _DatumProblem(f"The collection {path}.Dimensions must not name a dimension twice.")
    batch = batches.setdefault((MetricKey.of(namespace, datum["MetricName"], dimensions),
                                datum.get("Unit", NO_UNIT)), _Batch())
    if "Value" in datum:
        batch.values.append((timestamp, _value(datum["Value"], f"{path}.Value"), 1.0))
    elif "Values" in datum:
        values = [_value(value, f"{path}.Values.member.{n}") for n, value in enumerate(datum["Values"], 1)]
        counts = datum.get("Counts", [1.0] * len(values))
        if len(values) > MAX_VALUES:
            raise _DatumProblem(f"The collection {path}.Values must not have more than {MAX_VALUES} items.")
        if len(counts) != len(values):
            raise _DatumProblem(f"The parameters {path}.Values and {path}.Counts must be of the same size.")
        for n, count in enumerate(counts, 1):
            if not math.isfinite(count) or count < 0:
                raise _DatumProblem(f"The value {_text(count)} for parameter {path}.Counts.member.{n} is invalid.")
        batch.values += [(timestamp, value, count) for value, count in zip(values, counts) if count > 0]
    else:
        where = f"{path}.StatisticValues"
        count, total, low, high = (_value(datum["StatisticValues"][name], f"{where}.{name}")
                                   for name in ("SampleCount", "Sum", "Minimum", "Maximum"))
        if count <= 0:
            raise _DatumProblem(f"The parameter {where}.SampleCount must be greater than 0.")
        if low > high:
            raise _DatumProblem(f"The parameter {where}.Minimum must not be greater than {where}.Maximum.")
        if low == high and math.isclose(total, low * count, rel_tol=1e-12, abs_tol=1e-300):
            batch.values.append((timestamp, low, count))  # copies of one value: percentiles stay possible
        else:
            batch.sets.append((timestamp, count, total, low, high))


def _value(value: float, path: str) -> float:
    if not math.isfinite(value) or abs(value) > VALUE_LIMIT:
        raise _DatumProblem(f"The value {_text(value)} for parameter {path} is invalid.")
    return value


def _text(value: float) -> str:
    return {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}.get(repr(value), repr(value))


# ---- GetMetricData's queries and pages ------------------------------------------------------------------------


def _synthetic(query: _Query, *, start: int, end: int,
               region: str | None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The synthetic data a widget row of ``query``'s metric draws over [start, end)."""
    metric, statistic = query.metric, query.statistic
    assert metric is not None and statistic is not None
    row = MetricRow(metric.namespace, metric.name, metric.dimensions, statistic.text, query.period)
    data = synthetic.series(row, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), region)
    return data.timestamps, data.values


def _queries(items: Sequence[Mapping[str, Any]]) -> list[_Query]:
    if not items:
        raise _validation("The parameter MetricDataQueries must contain at least one query.")
    if len(items) > MAX_QUERIES:
        raise _validation(f"The collection MetricDataQueries must not have more than {MAX_QUERIES} items.")
    queries: list[_Query] = []
    for n, item in enumerate(items, 1):
        path = f"MetricDataQueries.member.{n}"
        query_id = item["Id"]
        if not _ID.match(query_id):
            raise _validation(f"The value {query_id} for parameter {path}.Id is invalid: an id starts with a "
                              "lowercase letter, followed by letters, digits and underscores.")
        if any(query.id == query_id for query in queries):
            raise _validation(f"The value {query_id} for parameter {path}.Id is used by another query; ids must "
                              "be unique.")
        common = {"id": query_id, "label": item.get("Label"), "return_data": item.get("ReturnData", True)}
        if ("MetricStat" in item) == ("Expression" in item):
            raise _validation(f"Exactly one of {path}.MetricStat and {path}.Expression must be specified.")
        if "Expression" in item:
            queries.append(_Query(**common, expression=item["Expression"], period=item.get("Period", 0)))
            continue
        stat = item["MetricStat"]
        if not _valid_period(stat["Period"], allow_20=True):
            raise _validation(f"The parameter {path}.MetricStat.Period must be 1, 5, 10, 20, 30, 60, "
                              "or a multiple of 60.")
        try:
            statistic = parse_statistic(stat["Stat"])
        except ValueError:
            raise _validation(f"The value for parameter {path}.MetricStat.Stat is not a valid statistic.") from None
        metric = stat["Metric"]
        for name in ("Namespace", "MetricName"):
            if name not in metric:
                raise ServiceError("MissingParameter", f"The parameter {path}.MetricStat.Metric.{name} is required.")
        queries.append(_Query(**common, metric=_metric_key(metric),
                              statistic=statistic, period=stat["Period"], unit=stat.get("Unit")))
    return queries


def _answers(queries: Sequence[_Query], reader: WindowReader, fill: Callable[[_Query], tuple[npt.NDArray[np.int64],
             Floats]] | None = None) -> list[tuple[_Query, mathexpr.Result]]:
    """Each query with its result over the reader's window, in query order: a metric query's stored series (or,
    when it has none, ``fill``'s), an expression's value."""
    data: dict[str, mathexpr.TimeSeries] = {}
    for query in queries:
        if query.metric is not None and query.statistic is not None:
            timestamps, values = reader.series(query.metric, query.statistic, query.period, query.unit)
            if not len(timestamps) and fill is not None:
                timestamps, values = fill(query)
            data[query.id] = mathexpr.TimeSeries(timestamps, values, query.period, query.id)
    evaluated = iter(_expressions(queries, data, reader.start, reader.end, reader.search))
    return [(query, data[query.id] if query.expression is None else next(evaluated)) for query in queries]


def _expressions(queries: Sequence[_Query], data: Mapping[str, mathexpr.TimeSeries], start: int,
                 end: int, searching: mathexpr.Search) -> list[mathexpr.Result]:
    """Each expression's result (a series, or an array of them), in query order."""
    expressions = [(query.id, query.expression) for query in queries if query.expression is not None]
    if not expressions:
        return []
    periods = [query.period for query in queries if query.period]
    window = mathexpr.Window(start, end, min(periods) if periods else mathexpr.DEFAULT_PERIOD)
    try:
        program = mathexpr.Program(expressions, set(data))
        return program.results(data, window=window, search=searching)
    except mathexpr.ExpressionError as exc:
        raise _validation(str(exc)) from None


def _label(query: _Query, series: mathexpr.TimeSeries, result: mathexpr.Result) -> str:
    """A query's label: its own; else the metric's name, or for an expression its id (for an array, such as
    SEARCH's, each series' own label)."""
    if query.label is not None:
        return query.label
    if query.metric is not None:
        return query.metric.name
    return series.label if not isinstance(result, mathexpr.TimeSeries) and series.label else query.id


def _page(results: Sequence[tuple[_Query, str, mathexpr.TimeSeries]], params: Mapping[str, Any], maximum: int, *,
          descending: bool) -> dict[str, Any]:
    """One page of GetMetricData's answer: ``maximum`` datapoints from where the token says, counted over the
    results in order. A result with more to come is ``PartialData``; one with no datapoints is on the first page."""
    offset = _offset(params, "GetMetricData")
    out, position = [], 0
    for query, label, series in results:
        timestamps, values = series.timestamps, series.values
        if descending:
            timestamps, values = timestamps[::-1], values[::-1]
        size = len(timestamps)
        begin, stop = max(offset - position, 0), min(offset + maximum - position, size)
        if begin < stop or (size == 0 and offset == 0):
            out.append({"Id": query.id, "Label": label,
                        "Timestamps": [datetime.fromtimestamp(int(t), UTC) for t in timestamps[begin:stop]],
                        "Values": [float(v) for v in values[begin:stop]],
                        "StatusCode": "Complete" if stop >= size else "PartialData", "Messages": []})
        position += size
    result: dict[str, Any] = {"MetricDataResults": out, "Messages": []}
    if offset + maximum < position:
        result["NextToken"] = _token(params, "GetMetricData", offset + maximum)
    return result


# ---- shared -------------------------------------------------------------------------------------------------------


def _window(params: Mapping[str, Any], error: Callable[[str], ServiceError]) -> tuple[int, int]:
    start, end = params["StartTime"].timestamp(), params["EndTime"].timestamp()
    if start >= end:
        raise error("The parameter StartTime must be less than the parameter EndTime.")
    return math.floor(start), math.ceil(end)


def _aligned(start: int, period: int, now: float) -> int:
    """``start`` rounded down as CloudWatch rounds StartTime: to the period below a minute, else to the
    minute, or to 5 minutes when 15 to 63 days old, or to the hour when older."""
    age = now - start
    step = period if period < 60 else 60 if age < 15 * 86_400 else 300 if age < 63 * 86_400 else 3600
    return start // step * step


def _valid_period(period: int, *, allow_20: bool) -> bool:
    return period in (1, 5, 10, 30) or (allow_20 and period == 20) or (period >= 60 and period % 60 == 0)


def _metric_key(metric: Mapping[str, Any]) -> MetricKey:
    return MetricKey.of(metric["Namespace"], metric["MetricName"],
                        ((item["Name"], item["Value"]) for item in metric.get("Dimensions", [])))


def _fingerprint(params: Mapping[str, Any]) -> str:
    """What identifies a paged request: its parameters but the token."""
    text = json.dumps({key: value for key, value in params.items() if key != "NextToken"}, sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _token(params: Mapping[str, Any], operation: str, offset: int) -> str:
    document = json.dumps({"operation": operation, "offset": offset, "request": _fingerprint(params)})
    return base64.urlsafe_b64encode(document.encode()).decode()


def _paged(items: Sequence[T], params: Mapping[str, Any], operation: str,
           size: int) -> tuple[Sequence[T], dict[str, str]]:
    """The page of ``items`` the request's token asks for (the first if none), ``size`` long at most; and
    ``{"NextToken": …}`` if more follow, else nothing."""
    offset = _offset(params, operation)
    more = {"NextToken": _token(params, operation, offset + size)} if offset + size < len(items) else {}
    return items[offset:offset + size], more


def _offset(params: Mapping[str, Any], operation: str) -> int:
    """Where a page starts: 0, or what a token from the same request says."""
    token = params.get("NextToken")
    if token is None:
        return 0
    try:
        document = json.loads(base64.urlsafe_b64decode(token.encode()))
        if (document["operation"], document["request"]) == (operation, _fingerprint(params)):
            return int(document["offset"])
    except (ValueError, KeyError, TypeError):
        pass
    raise ServiceError("InvalidNextToken", "The NextToken is invalid or does not belong to this request.")


def _dashboard_name(name: str, path: str) -> str:
    if not _DASHBOARD_NAME.match(name):
        raise _invalid(f"The value {name} for parameter {path} is invalid: a dashboard name has 1 to 255 letters, "
                       "digits, dashes (-) and underscores (_).")
    return name


def _dashboard_problems(body: str) -> list[dict[str, str]]:
    """What CloudWatch's dashboard validation would say about ``body``: DataPath and Message pairs."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        return [{"DataPath": "", "Message": f"The dashboard body is not valid JSON: {exc}"}]
    if not isinstance(document, dict):
        return [{"DataPath": "", "Message": "Should be an object"}]
    widgets = document.get("widgets")
    if not isinstance(widgets, list):
        return [{"DataPath": "/widgets", "Message": "Should have required property 'widgets', a list"}]
    problems = []
    for index, widget in enumerate(widgets):
        where = f"/widgets/{index}"
        if not isinstance(widget, dict):
            problems.append({"DataPath": where, "Message": "Should be an object"})
            continue
        kind = widget.get("type")
        if kind not in _WIDGET_TYPES:
            problems.append({"DataPath": f"{where}/type",
                             "Message": f"Should be one of {', '.join(sorted(_WIDGET_TYPES))}"})
        if "properties" in widget and not isinstance(widget["properties"], dict):
            problems.append({"DataPath": f"{where}/properties", "Message": "Should be an object"})
        for key in ("x", "y", "width", "height"):
            value = widget.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                problems.append({"DataPath": f"{where}/{key}", "Message": "Should be a whole number, at least 0"})
    return problems


def _arn(name: str) -> str:
    return f"arn:aws:cloudwatch::{alarms.ACCOUNT_ID}:dashboard/{name}"


def _no_alarms(names: Sequence[str]) -> ServiceError:
    which = f"Alarm {names[0]} does not exist" if len(names) == 1 else f"Alarms {', '.join(names)} do not exist"
    return ServiceError("ResourceNotFound", which, status=404)


def _not_found(names: Iterable[str]) -> ServiceError:
    names = list(names)
    which = f"Dashboard {names[0]} does not exist" if len(names) == 1 else \
        f"Dashboards {', '.join(names)} do not exist"
    return ServiceError("ResourceNotFound", which, status=404)
