"""The stand-in's metric alarms: what PutMetricAlarm accepts, how an alarm is evaluated, and its history.

An alarm watches one metric's statistic, or the one result of metric math (``Metrics``), per period, and
compares each period's value with a threshold. It is evaluated over the STORED data every minute (every
period, for a period under a minute), looking at the last ``EvaluationPeriods + 2`` complete periods (its
evaluation range, 5 periods for 3, as in AWS's examples):

* with at least ``EvaluationPeriods`` (N) datapoints in the range, the most recent N of them decide: ALARM
  if ``DatapointsToAlarm`` (M) of them breach, else OK;
* with fewer, ``TreatMissingData`` fills the gap: ``breaching`` and ``notBreaching`` fill it with as few
  datapoints of that kind as make N; ``missing`` and ``ignore`` go to ALARM when M of the datapoints there
  breach, to OK when one of them does not, and otherwise ``ignore`` keeps the state while ``missing`` goes to
  INSUFFICIENT_DATA (to ALARM if the oldest period of the range breaches). Alarms on ``AWS/DynamoDB`` always
  ignore missing data.

These rules give every row of the tables in AWS's "How alarm state is evaluated when data is missing". The
evaluation is lazy: an alarm is brought up to date when it is read (``evaluate``), tick by tick from where it
was left, so each tick sees the data stored when it is read, as if every datapoint had arrived on time; once
written, history is not rewritten, as CloudWatch's is not. ``SetAlarmState`` holds until the next tick.

State changes are written as CloudWatch writes them: ``StateReason`` "Threshold Crossed: 3 out of the last 3
datapoints [91.2 (03/12/26 01:05:00), …] were greater than the threshold (80.0) (minimum 3 datapoints for
OK -> ALARM transition).", ``StateReasonData`` and ``HistoryData`` JSON with the evaluated datapoints.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from reportgen.local.aggregate import parse_statistic
from reportgen.local.protocols import ServiceError
from reportgen.local.store import AlarmRow, HistoryRow, MetricKey
from reportgen.local.widget import HorizontalAnnotation, MetricRow

ACCOUNT_ID = "123456789012"  # the account the stand-in pretends to be, in ARNs
REGION = "us-east-1"         # the region in alarm ARNs; an ARN's region is not used to find its alarm
HISTORY_RETENTION = 30 * 86_400  # CloudWatch keeps alarm history for 30 days
CREATED_REASON = "Unchecked: Initial alarm creation"
ALARM_COLOR = "#d13212"  # the console's alarm red
MAX_ALARM_METRICS = 10   # metrics one alarm's math may use
_EXTRA_PERIODS = 2       # the evaluation range: N periods and this many more
_OK, _ALARM, _INSUFFICIENT, _RETAIN = 0, 1, 2, -1
_STATES = {_OK: "OK", _ALARM: "ALARM", _INSUFFICIENT: "INSUFFICIENT_DATA"}
_MISSING_TREATMENTS = ("breaching", "notBreaching", "ignore", "missing")
# ComparisonOperator → (test, how a reason says it, how a graph's legend says it)
_COMPARISONS: dict[str, tuple[Callable[[Any, Any], Any], str, str]] = {
    "GreaterThanThreshold": (operator.gt, "greater than", ">"),
    "GreaterThanOrEqualToThreshold": (operator.ge, "greater than or equal to", ">="),
    "LessThanThreshold": (operator.lt, "less than", "<"),
    "LessThanOrEqualToThreshold": (operator.le, "less than or equal to", "<="),
}
_SINGLE_METRIC = ("MetricName", "Namespace", "Dimensions", "Period", "Unit", "Statistic", "ExtendedStatistic")
# MetricAlarm members DescribeAlarms echoes from PutMetricAlarm's parameters, with defaults for those not given.
_ECHOED = ("AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
           "MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Dimensions", "Period", "Unit",
           "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
           "EvaluateLowSampleCountPercentile", "Metrics")
_DEFAULTS = {"ActionsEnabled": True, "OKActions": [], "AlarmActions": [], "InsufficientDataActions": [],
             "Dimensions": []}

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
# What an alarm watches over [start, end): the periods that have a value, (period starts, values).
Values = Callable[[int, int], tuple[Ints, Floats]]


def _validation(message: str) -> ServiceError:
    return ServiceError("ValidationError", message)


@dataclass(frozen=True)
class Alarm:
    """A metric alarm's configuration: PutMetricAlarm's parameters, checked, and when it was made and changed."""

    params: Mapping[str, Any]
    created: float  # epoch seconds
    updated: float

    @classmethod
    def of(cls, params: Mapping[str, Any], *, created: float, updated: float) -> Alarm:
        """Check PutMetricAlarm's parameters as CloudWatch does; raise ``ServiceError`` for what it refuses.
        Math (``Metrics``) is checked for shape here and for meaning by whoever evaluates it."""
        params = {key: value for key, value in params.items() if key != "Tags"}  # tags are not the alarm's
        if not params["AlarmName"].isascii():
            raise _validation("Alarm names must contain only ASCII characters.")
        for unsupported in ("ThresholdMetricId", "EvaluationCriteria", "EvaluationInterval"):
            if unsupported in params:
                raise _validation(f"{unsupported}: anomaly detection, Metrics Insights and PromQL alarms are not "
                                  "supported by the local stand-in; use a static Threshold.")
        for name in ("EvaluationPeriods", "ComparisonOperator", "Threshold"):
            if name not in params:
                raise ServiceError("MissingParameter", f"The parameter {name} is required.")
        if params["ComparisonOperator"] not in _COMPARISONS:
            raise _validation(f"ComparisonOperator {params['ComparisonOperator']} is only for anomaly detection "
                              "alarms, which the local stand-in does not support.")
        if not math.isfinite(params["Threshold"]):
            raise ServiceError("InvalidParameterValue", "The parameter Threshold must be a finite number.")
        if params.get("TreatMissingData", "missing") not in _MISSING_TREATMENTS:
            raise _validation(f"TreatMissingData must be one of {', '.join(_MISSING_TREATMENTS)}, not "
                              f"{params['TreatMissingData']}.")
        if params.get("EvaluateLowSampleCountPercentile", "evaluate") not in ("evaluate", "ignore"):
            raise _validation("EvaluateLowSampleCountPercentile must be evaluate or ignore.")
        alarm = cls(params, created, updated)
        if "Metrics" in params:
            _check_math(params)
        else:
            _check_metric(params)
        if alarm.datapoints_to_alarm > alarm.evaluation_periods:
            raise _validation(f"DatapointsToAlarm ({alarm.datapoints_to_alarm}) must be less than or equal to "
                              f"EvaluationPeriods ({alarm.evaluation_periods}).")
        span, limit = alarm.evaluation_periods * alarm.period, 86_400 if alarm.period < 3600 else 604_800
        if span > limit:
            raise _validation(f"EvaluationPeriods × Period is {span} s: an alarm evaluates at most one day of data, "
                              "or seven days when its period is an hour or longer.")
        return alarm

    @property
    def name(self) -> str:
        return str(self.params["AlarmName"])

    @property
    def arn(self) -> str:
        return f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{self.name}"

    @property
    def metric(self) -> MetricKey | None:
        """The one metric watched, or None for math."""
        if "Metrics" in self.params:
            return None
        return MetricKey.of(self.params["Namespace"], self.params["MetricName"],
                            ((item["Name"], item["Value"]) for item in self.params.get("Dimensions", [])))

    @property
    def statistic(self) -> str | None:
        return self.params.get("Statistic") or self.params.get("ExtendedStatistic")

    @property
    def period(self) -> int:
        if "Metrics" in self.params:
            return int(next(item["MetricStat"]["Period"] for item in self.params["Metrics"] if "MetricStat" in item))
        return int(self.params["Period"])

    @property
    def evaluation_periods(self) -> int:
        return int(self.params["EvaluationPeriods"])

    @property
    def datapoints_to_alarm(self) -> int:
        return int(self.params.get("DatapointsToAlarm", self.evaluation_periods))

    @property
    def threshold(self) -> float:
        return float(self.params["Threshold"])

    @property
    def missing_data(self) -> str:
        """How missing data is treated: as asked, except that AWS/DynamoDB alarms always ignore it."""
        if self.metric is not None and self.metric.namespace == "AWS/DynamoDB":
            return "ignore"
        return str(self.params.get("TreatMissingData", "missing"))

    def breaches(self, values: Floats) -> npt.NDArray[np.bool_]:
        test = _COMPARISONS[self.params["ComparisonOperator"]][0]
        with np.errstate(invalid="ignore"):
            return np.asarray(test(values, self.threshold), dtype=bool)

    def configuration(self) -> dict[str, Any]:
        """The alarm's settings as DescribeAlarms lists them (no state)."""
        described = {key: self.params.get(key, _DEFAULTS.get(key)) for key in _ECHOED}
        return {"AlarmArn": self.arn, **{key: value for key, value in described.items() if value is not None},
                "AlarmConfigurationUpdatedTimestamp": _instant(self.updated)}

    def annotation(self) -> HorizontalAnnotation:
        """The alarm's threshold as a graph draws it: a red line labelled as the console labels it
        (``CPUUtilization > 80 for 3 datapoints within 15 minutes``), the side that alarms shaded."""
        _, _, symbol = _COMPARISONS[self.params["ComparisonOperator"]]
        watched = self.params.get("MetricName") or next(
            item.get("Label") or item.get("Expression") or item["Id"] for item in self.params["Metrics"]
            if item.get("ReturnData", True))
        window = self.evaluation_periods * self.period
        within = f"{window // 60} minutes" if window % 60 == 0 else f"{window} seconds"
        label = (f"{watched} {symbol} {_number(self.threshold)} for {self.datapoints_to_alarm} datapoints "
                 f"within {within}")
        return HorizontalAnnotation(self.threshold, label, ALARM_COLOR, "above" if symbol.startswith(">") else "below")

    def rows(self) -> tuple[MetricRow, ...]:
        """What the alarm watches as a graph's rows: its metric, or its math with only the result shown."""
        metric = self.metric
        if metric is not None:
            return (MetricRow(metric.namespace, metric.name, metric.dimensions, str(self.statistic), self.period),)
        rows = []
        for item in self.params["Metrics"]:
            common = {"label": item.get("Label"), "id": item["Id"], "visible": bool(item.get("ReturnData", True))}
            if "MetricStat" in item:
                stat = item["MetricStat"]
                watched = MetricKey.of(stat["Metric"]["Namespace"], stat["Metric"]["MetricName"],
                                       ((each["Name"], each["Value"]) for each in stat["Metric"].get("Dimensions", [])))
                rows.append(MetricRow(watched.namespace, watched.name, watched.dimensions, stat["Stat"], stat["Period"],
                                      **common))
            else:
                rows.append(MetricRow("", "", (), "Average", self.period, expression=item["Expression"], **common))
        return tuple(rows)


def _check_metric(params: Mapping[str, Any]) -> None:
    for name in ("MetricName", "Namespace", "Period"):
        if name not in params:
            raise ServiceError("MissingParameter", f"The parameter {name} is required for an alarm on a metric; "
                                                   "give MetricName, Namespace and Period, or Metrics.")
    if ("Statistic" in params) == ("ExtendedStatistic" in params):
        raise ServiceError("InvalidParameterCombination",
                           "Exactly one of the parameters Statistic and ExtendedStatistic must be specified.")
    if "ExtendedStatistic" in params:
        try:
            statistic = parse_statistic(params["ExtendedStatistic"])
        except ValueError as exc:
            raise _validation(f"The value {params['ExtendedStatistic']} for parameter ExtendedStatistic is not "
                              f"supported: {exc}") from None
        if not statistic.needs_values:
            raise _validation(f"ExtendedStatistic must be a percentile or trimmed statistic such as p99; use "
                              f"Statistic for {params['ExtendedStatistic']}.")
    _check_period(params["Period"], "Period")


def _check_math(params: Mapping[str, Any]) -> None:
    given = [name for name in _SINGLE_METRIC if name in params]
    if given:
        raise ServiceError("InvalidParameterCombination",
                           f"The parameters Metrics and {given[0]} are mutually exclusive and you have specified both.")
    queries = params["Metrics"]
    if sum(bool(item.get("ReturnData", True)) for item in queries) != 1:
        raise _validation("Metrics list must contain exactly one metric matching the ReturnData parameter")
    stats = [item["MetricStat"] for item in queries if "MetricStat" in item]
    if not stats:
        raise _validation("Metrics list must contain at least one MetricStat for the alarm to watch.")
    if len(stats) > MAX_ALARM_METRICS:
        raise _validation(f"An alarm's math may use at most {MAX_ALARM_METRICS} metrics, not {len(stats)}.")
    periods = {stat["Period"] for stat in stats}
    if len(periods) > 1:
        raise _validation(f"Every metric of an alarm's math must use the same period, not {sorted(periods)}.")
    _check_period(stats[0]["Period"], "Metrics.member.N.MetricStat.Period")


def _check_period(period: int, path: str) -> None:
    if period not in (10, 20, 30) and period % 60:
        raise _validation(f"{path} must be 10, 20, 30 or a multiple of 60, not {period}.")


@dataclass(frozen=True)
class State:
    """An alarm's state: its value, why, and when it was last set and last changed value (epoch seconds)."""

    value: str
    reason: str
    reason_data: str | None
    updated: float
    transitioned: float

    def described(self) -> dict[str, Any]:
        return {"StateValue": self.value, "StateReason": self.reason,
                **({"StateReasonData": self.reason_data} if self.reason_data is not None else {}),
                "StateUpdatedTimestamp": _instant(self.updated),
                "StateTransitionedTimestamp": _instant(self.transitioned)}

    def history_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {"stateValue": self.value, "stateReason": self.reason}
        if self.reason_data is not None:
            document["stateReasonData"] = json.loads(self.reason_data)
        return document


@dataclass(frozen=True)
class Record:
    """An alarm as the store keeps it: configuration, state, and how far it has been evaluated."""

    alarm: Alarm
    state: State
    evaluated: float  # epoch seconds: the ticks up to here have been run

    @classmethod
    def from_row(cls, row: AlarmRow) -> Record:
        config, state = json.loads(row.config), json.loads(row.state)
        return cls(Alarm(config["params"], config["created"], config["updated"]), State(**state), row.evaluated)

    def to_row(self) -> AlarmRow:
        config = {"params": self.alarm.params, "created": self.alarm.created, "updated": self.alarm.updated}
        return AlarmRow(self.alarm.name, json.dumps(config), json.dumps(vars(self.state)), self.evaluated)

    def described(self) -> dict[str, Any]:
        """The alarm as DescribeAlarms lists it."""
        return {**self.alarm.configuration(), **self.state.described()}


def put(params: Mapping[str, Any], existing: Record | None, now: float) -> tuple[Record, HistoryRow]:
    """PutMetricAlarm: a new alarm starts in INSUFFICIENT_DATA and is evaluated from ``now``; an update keeps
    the state and where evaluation stands. Returns the record and its configuration history item."""
    if existing is None:
        alarm = Alarm.of(params, created=now, updated=now)
        record = Record(alarm, State("INSUFFICIENT_DATA", CREATED_REASON, None, now, now), now)
        data = {"version": "1.0", "type": "Create", "createdAlarm": _settings(alarm)}
        return record, HistoryRow(alarm.name, now, "ConfigurationUpdate", f'Alarm "{alarm.name}" created',
                                  json.dumps(data))
    alarm = Alarm.of(params, created=existing.alarm.created, updated=now)
    data = {"version": "1.0", "type": "Update", "originalAlarm": _settings(existing.alarm),
            "updatedAlarm": _settings(alarm)}
    return (replace(existing, alarm=alarm),
            HistoryRow(alarm.name, now, "ConfigurationUpdate", f'Alarm "{alarm.name}" updated', json.dumps(data)))


def _settings(alarm: Alarm) -> dict[str, Any]:
    return {key: value for key, value in alarm.configuration().items() if key != "AlarmConfigurationUpdatedTimestamp"}


def set_state(record: Record, value: str, reason: str, reason_data: str | None, now: float) -> tuple[Record,
                                                                                                   HistoryRow]:
    """SetAlarmState: the state until the next evaluation, and its history item."""
    if reason_data is not None:
        try:
            json.loads(reason_data)
        except ValueError:
            raise ServiceError("InvalidFormat", "StateReasonData must be valid JSON.") from None
    transitioned = now if value != record.state.value else record.state.transitioned
    state = State(value, reason, reason_data, now, transitioned)
    return replace(record, state=state), _state_update(record.alarm.name, record.state, state)


def _state_update(name: str, old: State, new: State) -> HistoryRow:
    data = {"version": "1.0", "oldState": old.history_json(), "newState": new.history_json()}
    return HistoryRow(name, new.updated, "StateUpdate", f"Alarm updated from {old.value} to {new.value}",
                      json.dumps(data, separators=(",", ":")))


# ---- evaluation ------------------------------------------------------------------------------------------------


def evaluate(record: Record, now: float, values: Values) -> tuple[Record, list[HistoryRow]]:
    """Run the alarm's evaluations from where it was left up to ``now``: the record then, and a history item
    per change of state. ``values`` gives what the alarm watches."""
    alarm = record.alarm
    period = alarm.period
    step = min(period, 60)
    ticks = np.arange(math.floor(record.evaluated) // step * step + step, math.floor(now) + 1, step, dtype=np.int64)
    if not len(ticks):
        return record, []
    span = alarm.evaluation_periods + _EXTRA_PERIODS
    first = int(ticks[0]) // period - span  # index of the oldest period any tick looks at
    grid = np.full(int(ticks[-1]) // period - first, math.nan)
    starts, found = values(first * period, (int(ticks[-1]) // period) * period)
    slots = (starts // period - first).astype(np.intp)
    inside = (slots >= 0) & (slots < len(grid))
    grid[slots[inside]] = found[inside]
    windows = np.lib.stride_tricks.sliding_window_view(grid, span)[ticks // period - ticks[0] // period]
    outcomes = _outcomes(alarm, windows)
    state, history = record.state, []
    for index in np.flatnonzero(outcomes != _RETAIN):
        value = _STATES[int(outcomes[index])]
        if value == state.value:
            continue
        tick = int(ticks[index])
        reason, data = _reason(alarm, state.value, value, windows[index], tick)
        new = State(value, reason, json.dumps(data, separators=(",", ":")), tick, tick)
        history.append(_state_update(alarm.name, state, new))
        state = new
    return replace(record, state=state, evaluated=float(now)), history


def _outcomes(alarm: Alarm, windows: Floats) -> npt.NDArray[np.int64]:
    """Per evaluation range (a row, oldest period first, NaN where missing): the state it leads to, or
    ``_RETAIN``."""
    needed, wanted = alarm.evaluation_periods, alarm.datapoints_to_alarm
    present = ~np.isnan(windows)
    breach = alarm.breaches(windows) & present
    used = _evaluated(present, needed)
    breaching = (breach & used).sum(axis=1)
    fills = np.maximum(needed - present.sum(axis=1), 0)
    treatment = alarm.missing_data
    if treatment == "breaching":
        breaching = breaching + fills
    outcomes = np.where(breaching >= wanted, _ALARM, _OK)
    if treatment in ("missing", "ignore"):
        # Too few datapoints, all breaching but not enough of them: nothing says OK.
        stuck = (fills > 0) & (breaching < wanted) & ~(present & ~breach).any(axis=1)
        if treatment == "ignore":
            outcomes[stuck] = _RETAIN
        else:
            outcomes[stuck] = np.where(present[stuck, 0], _ALARM, _INSUFFICIENT)
    return outcomes


def _evaluated(present: npt.NDArray[np.bool_], needed: int) -> npt.NDArray[np.bool_]:
    """The datapoints an evaluation uses: the ``needed`` most recent ones present."""
    from_newest = np.cumsum(present[..., ::-1], axis=-1)[..., ::-1]
    return np.asarray(present & (from_newest <= needed), dtype=bool)


def _reason(alarm: Alarm, old: str, new: str, window: Floats, tick: int) -> tuple[str, dict[str, Any]]:
    """StateReason and StateReasonData of the change from ``old`` to ``new`` at ``tick``."""
    period, needed = alarm.period, alarm.evaluation_periods
    present = ~np.isnan(window)
    used = np.flatnonzero(_evaluated(present, needed))
    first = (tick // period - len(window)) * period  # the range's first period
    moments = [first + int(index) * period for index in used]
    points = [float(window[index]) for index in used]
    data: dict[str, Any] = {"version": "1.0", "queryDate": _reason_time(tick)}
    if moments:
        data["startDate"] = _reason_time(moments[0])
    if alarm.statistic is not None:
        data["statistic"] = alarm.statistic
    data.update(period=period, recentDatapoints=points, threshold=alarm.threshold,
                evaluatedDatapoints=[{"timestamp": _reason_time(moment), "value": value}
                                     for moment, value in zip(reversed(moments), reversed(points))])
    if new == "INSUFFICIENT_DATA":
        return f"Insufficient Data: {_count(needed, 'datapoint')} {_were(needed)} unknown.", data
    crossing = new == "ALARM"
    minimum = alarm.datapoints_to_alarm if crossing else needed - alarm.datapoints_to_alarm + 1
    tail = f"(minimum {_count(minimum, 'datapoint')} for {old} -> {new} transition)."
    fills = needed - len(points)
    treated = "Breaching" if alarm.missing_data == "breaching" else "NonBreaching"
    if not points:
        return (f"Threshold Crossed: no datapoints were received for {_count(needed, 'period')} and "
                f"{_count(fills, 'missing datapoint')} {_were(fills)} treated as [{treated}] {tail}"), data
    shown = [(moment, value) for moment, value in zip(moments, points)
             if bool(alarm.breaches(np.array([value]))[0]) == crossing][::-1]
    listing = ", ".join(f"{_number(value)} ({datetime.fromtimestamp(moment, UTC):%d/%m/%y %H:%M:%S})"
                        for moment, value in shown)
    _, words, _ = _COMPARISONS[alarm.params["ComparisonOperator"]]
    missing = f" and {_count(fills, 'missing datapoint')} {_were(fills)} treated as [{treated}]" if fills else ""
    return (f"Threshold Crossed: {len(shown)} out of the last {len(points)} datapoints [{listing}] {_were(len(shown))} "
            f"{'' if crossing else 'not '}{words} the threshold ({_number(alarm.threshold)}){missing} {tail}"), data


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _were(number: int) -> str:
    return "was" if number == 1 else "were"


def _number(value: float) -> str:
    """A number as CloudWatch's reasons write it: always with a decimal point (80.0, 0.025)."""
    return repr(float(value))


def _reason_time(moment: float) -> str:
    """The time format of StateReasonData: ``2026-12-03T01:05:00.000+0000``."""
    at = datetime.fromtimestamp(moment, UTC)
    return f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond // 1000:03d}+0000"


def _instant(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


# ---- reading -----------------------------------------------------------------------------------------------------


def name_of(arn: str) -> str:
    """The alarm name in an alarm ARN (``arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME``); a bare name as it is."""
    head, marker, name = arn.partition(":alarm:")
    return name if marker and head.startswith("arn:") else arn


def history_item(row: HistoryRow) -> dict[str, Any]:
    """A history row as DescribeAlarmHistory lists it."""
    return {"AlarmName": row.alarm, "AlarmType": "MetricAlarm", "Timestamp": _instant(row.timestamp),
            "HistoryItemType": row.kind, "HistorySummary": row.summary, "HistoryData": row.data}


def matches_metric(alarm: Alarm, params: Mapping[str, Any]) -> bool:
    """Whether ``alarm`` watches the metric DescribeAlarmsForMetric asks about (and its statistic, period and
    unit, when the request gives them)."""
    if alarm.metric is None:
        return False
    wanted = MetricKey.of(params["Namespace"], params["MetricName"],
                          ((item["Name"], item["Value"]) for item in params.get("Dimensions", [])))
    narrowing = ("Statistic", "ExtendedStatistic", "Period", "Unit")
    return alarm.metric == wanted and all(params[key] == alarm.params.get(key) for key in narrowing if key in params)

