"""MetricWidget JSON → a typed, validated ``Widget``, as GetMetricWidgetImage understands it.

Everything CloudWatch would refuse raises ``WidgetError`` with a message that names the offending key; the
server answers it as ``InvalidParameterValue``. Keys that real dashboard JSON carries but that do not change a
still image (``liveData``, ``table.stickySummary``) are checked for their type and otherwise ignored. A key no
one knows is ignored, as CloudWatch ignores it (real code sends ``"copilot": true``), unless it is a slip of a
known one, answered by the rule ``reportgen validate`` applies (``metrics[2]: `colour` is not a metric option;
did you mean `color`?``), so a typo does not silently draw the default. ``region``
defaults to the caller's, as CloudWatch's does, and picks the synthetic data drawn; ``accountId`` only feeds
the dynamic label ``${PROP('AccountId')}``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, TypeVar

from reportgen.local import aggregate, mathexpr
from reportgen.model import (
    DEFAULT_PERIOD,
    DEFAULT_WIDGET_HEIGHT,
    DEFAULT_WIDGET_WIDTH,
    MAX_METRICS_PER_WIDGET,
    MAX_WIDGET_JSON_BYTES,
    MAX_WIDGET_PIXELS,
    MIN_WIDGET_PIXELS,
    valid_period,
)
from reportgen.periods import parse_duration
from reportgen.schema import did_you_mean, near_miss

DEFAULT_START, DEFAULT_END = "-PT3H", "P0D"
DEFAULT_STAT = "Average"
VIEWS = ("timeSeries", "bar", "pie", "singleValue", "gauge", "table")
SUMMARY_COLUMNS = ("MIN", "MAX", "SUM", "AVG")

_USED_KEYS = frozenset({
    "metrics", "annotations", "start", "end", "width", "height", "legend", "period", "stat", "timezone",
    "title", "view", "yAxis", "stacked", "theme", "setPeriodToTimeRange", "sparkline", "region", "accountId",
    "singleValueFullPrecision", "trend", "labels", "table",
})
# Carried by dashboard JSON or callers' code; they do not change a still image.
_IGNORED_KEYS = frozenset({"liveData", "copilot"})
_METRIC_OPTIONS = frozenset({
    "id", "label", "color", "stat", "period", "yAxis", "visible", "region", "accountId", "expression",
})
_AXIS_KEYS = frozenset({"min", "max", "label", "showUnits"})
_TABLE_KEYS = frozenset({"layout", "showTimeSeriesData", "stickySummary", "summaryColumns"})
_HORIZONTAL_KEYS = frozenset({"value", "label", "color", "fill", "yAxis", "visible"})
_VERTICAL_KEYS = frozenset({"value", "label", "color", "fill", "visible"})

_ID = re.compile(r"^[a-z][A-Za-z0-9_]*$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_TIMEZONE = re.compile(r"^([+-])([01]\d|2[0-3])([0-5]\d)$")


class WidgetError(ValueError):
    """A MetricWidget that CloudWatch would refuse; the message names the key and the problem."""


@dataclass(frozen=True)
class MetricRow:
    """One row of ``metrics``, with the "." shorthand resolved and widget defaults applied.

    Math rows (``[{"expression": …}]``) have an ``expression`` and empty namespace and name.
    """

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str
    period: int
    label: str | None = None
    color: str | None = None
    y_axis: str = "left"
    visible: bool = True
    id: str | None = None
    expression: str | None = None
    region: str | None = None
    account_id: str | None = None

    @property
    def default_label(self) -> str:
        """What the legend shows when the row has no ``label``."""
        return self.expression if self.expression is not None else self.name

    @cached_property
    def statistic(self) -> aggregate.Statistic:
        """``stat`` parsed, once: what the row's data is computed as."""
        return aggregate.parse_statistic(self.stat)


@dataclass(frozen=True)
class YAxis:
    min: float | None = None
    max: float | None = None
    label: str | None = None
    show_units: bool = True


@dataclass(frozen=True)
class HorizontalAnnotation:
    """A line at ``value``, shaded ``above``/``below``; a band when ``band_value`` is set."""

    value: float
    label: str | None = None
    color: str | None = None
    fill: str = "none"
    y_axis: str = "left"
    band_value: float | None = None
    band_label: str | None = None


@dataclass(frozen=True)
class VerticalAnnotation:
    """A line at instant ``value``, shaded ``before``/``after``; a band when ``band_value`` is set."""

    value: datetime
    label: str | None = None
    color: str | None = None
    fill: str = "none"
    band_value: datetime | None = None
    band_label: str | None = None


_Annotation = TypeVar("_Annotation", HorizontalAnnotation, VerticalAnnotation)


@dataclass(frozen=True)
class Table:
    """How ``view: table`` lays out its numbers: a row per metric (``horizontal``) or per time (``vertical``),
    the points themselves unless ``show_points`` is false, and the window's ``summary`` (MIN, MAX, SUM, AVG)."""

    layout: str = "horizontal"
    show_points: bool = True
    summary: tuple[str, ...] = ()


@dataclass(frozen=True)
class Widget:
    """A validated MetricWidget; ``start``/``end`` are aware UTC instants, ``utc_offset`` the display zone."""

    metrics: tuple[MetricRow, ...]
    start: datetime
    end: datetime
    utc_offset: timedelta = timedelta(0)
    width: int = DEFAULT_WIDGET_WIDTH
    height: int = DEFAULT_WIDGET_HEIGHT
    title: str | None = None
    view: str = "timeSeries"
    stacked: bool = False
    legend: str = "bottom"
    left: YAxis = YAxis()
    right: YAxis = YAxis()
    horizontal: tuple[HorizontalAnnotation, ...] = ()
    vertical: tuple[VerticalAnnotation, ...] = ()
    theme: str = "light"
    period_to_time_range: bool = False
    sparkline: bool = False
    region: str | None = None
    account_id: str | None = None
    full_precision: bool = False  # singleValue: every digit that fits instead of 3 significant ones
    trend: bool = False           # singleValue: an arrow for the change since the previous point
    pie_labels: bool = False      # pie: each slice's share written on it (``labels.visible``)
    table: Table = Table()
    alarms: tuple[str, ...] = ()  # ARNs of alarms whose thresholds are drawn (``annotations.alarms``)


def parse_widget(text: str | bytes, *, now: datetime, region: str | None = None) -> Widget:
    """Parse and validate MetricWidget JSON; relative times count back from ``now`` (aware), and a widget
    without ``region`` shows ``region``'s metrics (the region the request was signed for)."""
    size = len(text.encode() if isinstance(text, str) else text)
    if size > MAX_WIDGET_JSON_BYTES:
        raise WidgetError(f"MetricWidget is {size} bytes; the limit is {MAX_WIDGET_JSON_BYTES} bytes (100 KB)")
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise WidgetError(f"MetricWidget is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise WidgetError(f"MetricWidget must be a JSON object, not {_kind(doc)}")
    if "properties" in doc and doc.get("metrics") is None:  # a whole dashboard widget, not its properties
        raise WidgetError("`properties` is not a MetricWidget key: "
                          "pass the contents of a dashboard widget's `properties`")
    _check_keys(doc, _USED_KEYS | _IGNORED_KEYS, "MetricWidget", "key")

    stat = _stat(doc.get("stat", DEFAULT_STAT), "stat")
    period = _period(doc.get("period", DEFAULT_PERIOD), "period")
    end = _instant(doc.get("end", DEFAULT_END), "end", now)
    # A duration `start` with an absolute `end` (CDK writes `-P7D` with a fixed end) counts back from that end.
    absolute_end = "end" in doc and not _is_duration(doc["end"])
    start = _instant(doc.get("start", DEFAULT_START), "start", end if absolute_end else now)
    if start >= end:
        raise WidgetError(f"`start` ({start:%Y-%m-%dT%H:%M:%SZ}) must be before `end` ({end:%Y-%m-%dT%H:%M:%SZ})")
    axes = _mapping(doc.get("yAxis", {}), "yAxis")
    _check_keys(axes, {"left", "right"}, "yAxis", "y-axis side")
    legend = _mapping(doc.get("legend", {}), "legend")
    _check_keys(legend, {"position"}, "legend", "key")
    labels = _mapping(doc.get("labels", {}), "labels")
    _check_keys(labels, {"visible"}, "labels", "key")
    _bool(doc.get("liveData", False), "liveData")
    annotations = _annotations(doc.get("annotations", {}), now)
    # A widget of alarms alone draws their metrics, as the console's alarm graphs do.
    metrics = () if annotations["alarms"] and doc.get("metrics") is None else _metrics(doc.get("metrics"), stat, period)
    return Widget(
        metrics=metrics,
        start=start,
        end=end,
        utc_offset=_timezone(doc.get("timezone", "+0000")),
        width=_pixels(doc.get("width", DEFAULT_WIDGET_WIDTH), "width"),
        height=_pixels(doc.get("height", DEFAULT_WIDGET_HEIGHT), "height"),
        title=_optional_str(doc.get("title"), "title"),
        view=_choice(doc.get("view", "timeSeries"), VIEWS, "view"),
        stacked=_bool(doc.get("stacked", False), "stacked"),
        legend=_choice(legend.get("position", "bottom"), ("bottom", "right", "hidden"), "legend.position"),
        left=_axis(axes.get("left", {}), "yAxis.left"),
        right=_axis(axes.get("right", {}), "yAxis.right"),
        **annotations,
        theme=_choice(doc.get("theme", "light"), ("light", "dark"), "theme"),
        period_to_time_range=_bool(doc.get("setPeriodToTimeRange", False), "setPeriodToTimeRange"),
        sparkline=_bool(doc.get("sparkline", False), "sparkline"),
        region=_optional_str(doc.get("region"), "region") or region,
        account_id=_optional_str(doc.get("accountId"), "accountId"),
        full_precision=_bool(doc.get("singleValueFullPrecision", False), "singleValueFullPrecision"),
        trend=_bool(doc.get("trend", False), "trend"),
        pie_labels=_bool(labels.get("visible", False), "labels.visible"),
        table=_table(doc.get("table", {})),
    )


def _metrics(value: Any, stat: str, period: int) -> tuple[MetricRow, ...]:
    if not isinstance(value, list) or not value:
        raise WidgetError("`metrics` is required: a list of 1 to 100 metric rows")
    if len(value) > MAX_METRICS_PER_WIDGET:
        raise WidgetError(f"`metrics` has {len(value)} rows; a widget can graph at most {MAX_METRICS_PER_WIDGET}")
    rows: list[MetricRow] = []
    previous: list[str] = []  # the last metric row's strings, after resolving "."
    for index, raw in enumerate(value):
        where = f"metrics[{index}]"
        if not isinstance(raw, list) or not raw:
            raise WidgetError(f"`{where}` must be a non-empty list like [Namespace, MetricName, …, {{options}}]")
        options = raw[-1] if isinstance(raw[-1], dict) else {}
        strings = raw[:-1] if isinstance(raw[-1], dict) else raw
        _check_keys(options, _METRIC_OPTIONS, where, "metric option")
        if not strings:
            rows.append(_math_row(options, where, stat, period))
            continue
        resolved = _resolve_shorthand(strings, previous, where)
        previous = resolved
        if "expression" in options:
            raise WidgetError(f"`{where}`: a row with an `expression` must not also name a metric")
        rows.append(MetricRow(
            namespace=resolved[0],
            name=resolved[1],
            dimensions=tuple(zip(resolved[2::2], resolved[3::2])),
            **_row_options(options, where, stat, period),
        ))
    _check_unique_ids(rows)
    math_program(rows)
    return tuple(rows)


def _resolve_shorthand(strings: list[Any], previous: list[str], where: str) -> list[str]:
    """Expand a leading "..." and each "." from the previous metric row.

    "." repeats the previous row's value at the same position. A leading "..." repeats the previous
    row's values up to where the given ones take over, aligned at the end: after
    ``["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"]``, ``["...", "i-2"]`` changes only the instance.
    """
    if strings and strings[0] == "...":
        kept = len(previous) - (len(strings) - 1)
        if kept < 2:
            raise WidgetError(f"`{where}` starts with \"...\" but the previous metric row has too few values to repeat")
        strings = [*previous[:kept], *strings[1:]]
    resolved: list[str] = []
    for position, item in enumerate(strings):
        if not isinstance(item, str) or not item:
            raise WidgetError(f"`{where}[{position}]` must be a non-empty string, not {_kind(item)}")
        if item == ".":
            if position >= len(previous):
                raise WidgetError(
                    f"`{where}[{position}]` is \".\" but the previous metric row has no value at position {position}"
                )
            item = previous[position]
        resolved.append(item)
    if len(resolved) < 2 or len(resolved) % 2:
        raise WidgetError(
            f"`{where}` must be [Namespace, MetricName, DimensionName, DimensionValue, …]: "
            f"got {len(resolved)} strings, expected an even number of at least 2"
        )
    return resolved


def _math_row(options: dict[str, Any], where: str, stat: str, period: int) -> MetricRow:
    expression = options.get("expression")
    if not isinstance(expression, str) or not expression.strip():
        raise WidgetError(f"`{where}` has no metric and no `expression`: "
                          f"give [Namespace, MetricName, …] or {{\"expression\": …}}")
    return MetricRow(namespace="", name="", dimensions=(), expression=expression,
                     **_row_options(options, where, stat, period))


def _row_options(options: dict[str, Any], where: str, stat: str, period: int) -> dict[str, Any]:
    row_id = _optional_str(options.get("id"), f"{where}.id")
    if row_id is not None and not _ID.match(row_id):
        raise WidgetError(
            f"`{where}.id` is {row_id!r}: an id starts with a lowercase letter, then letters, digits or _")
    color = _color(options.get("color"), f"{where}.color", "#1f77b4")
    return {
        "stat": _stat(options.get("stat", stat), f"{where}.stat"),
        "period": _period(options.get("period", period), f"{where}.period"),
        "label": _optional_str(options.get("label"), f"{where}.label"),
        "color": color,
        "y_axis": _choice(options.get("yAxis", "left"), ("left", "right"), f"{where}.yAxis"),
        "visible": _bool(options.get("visible", True), f"{where}.visible"),
        "id": row_id,
        "region": _optional_str(options.get("region"), f"{where}.region"),
        "account_id": _optional_str(options.get("accountId"), f"{where}.accountId"),
    }


def _check_unique_ids(rows: list[MetricRow]) -> None:
    seen: set[str] = set()
    for row in rows:
        if row.id is not None:
            if row.id in seen:
                raise WidgetError(f"metric id {row.id!r} is used by more than one row; ids must be unique")
            seen.add(row.id)


def math_program(rows: Sequence[MetricRow]) -> mathexpr.Program:
    """The rows' expressions, checked against the ids of the rows they name, ready to evaluate.

    The program gives one result per expression row, in row order. A row without an ``id`` is named by
    its place in messages (``metrics[2]``); nothing can refer to it.
    """
    expressions = [(row.id or f"metrics[{index}]", row.expression)
                   for index, row in enumerate(rows) if row.expression is not None]
    try:
        return mathexpr.Program(expressions, {row.id for row in rows if row.expression is None and row.id})
    except mathexpr.ExpressionError as exc:
        raise WidgetError(str(exc)) from None


def _annotations(value: Any, now: datetime) -> dict[str, Any]:
    annotations = _mapping(value, "annotations")
    _check_keys(annotations, {"horizontal", "vertical", "alarms"}, "annotations", "kind")
    arns = annotations.get("alarms", [])
    if not isinstance(arns, list) or not all(isinstance(arn, str) and arn for arn in arns):
        raise WidgetError("`annotations.alarms` must be a list of alarm ARNs")
    return {
        "alarms": tuple(arns),
        "horizontal": _annotation_list(annotations.get("horizontal", []), "annotations.horizontal",
                                       HorizontalAnnotation, _HORIZONTAL_KEYS, _number, ("above", "below", "none")),
        "vertical": _annotation_list(annotations.get("vertical", []), "annotations.vertical", VerticalAnnotation,
                                     _VERTICAL_KEYS, lambda text, where: _instant(text, where, now),
                                     ("before", "after", "none")),
    }


def _annotation_list(value: Any, where: str, kind: type[_Annotation], keys: frozenset[str],
                     parse_value: Callable[[Any, str], Any], fills: tuple[str, ...]) -> tuple[_Annotation, ...]:
    """One direction's annotations, those with ``visible: false`` left out: ``keys`` are the keys an edge may
    have (a ``yAxis`` among them is read too), ``parse_value`` reads a ``value`` and ``fills`` are the shadings."""
    parsed = []
    for index, item in enumerate(_list(value, where)):
        at = f"{where}[{index}]"
        first, second = _annotation_edges(item, at, keys)
        if not _bool(first.get("visible", True), f"{at}.visible"):
            continue
        fields = {
            "value": parse_value(first.get("value"), f"{at}.value"),
            "label": _optional_str(first.get("label"), f"{at}.label"),
            "color": _color(first.get("color"), f"{at}.color", "#d62728"),
            "fill": "band" if second else _choice(first.get("fill", "none"), fills, f"{at}.fill"),
        }
        if "yAxis" in keys:
            fields["y_axis"] = _choice(first.get("yAxis", "left"), ("left", "right"), f"{at}.yAxis")
        if second:
            fields["band_value"] = parse_value(second.get("value"), f"{at}[1].value")
            fields["band_label"] = _optional_str(second.get("label"), f"{at}[1].label")
        parsed.append(kind(**fields))
    return tuple(parsed)


def _annotation_edges(item: Any, where: str, keys: frozenset[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An annotation is an object, or a band: a list of two objects (the second may omit all but value)."""
    if isinstance(item, dict):
        edges = [item]
    elif isinstance(item, list) and len(item) == 2 and all(isinstance(edge, dict) for edge in item):
        edges = item
    else:
        raise WidgetError(f"`{where}` must be an object, or a list of two objects for a band")
    for number, edge in enumerate(edges):
        _check_keys(edge, keys, f"{where}[{number}]" if len(edges) == 2 else where, "annotation key")
    return edges[0], edges[1] if len(edges) == 2 else {}


def _color(value: Any, where: str, example: str) -> str | None:
    color = _optional_str(value, where)
    if color is not None and not _COLOR.match(color):
        raise WidgetError(f"`{where}` is {color!r}: expected a six-digit hex color like {example}")
    return color


def _axis(value: Any, where: str) -> YAxis:
    axis = _mapping(value, where)
    _check_keys(axis, _AXIS_KEYS, where, "y-axis key")
    low = _number(axis["min"], f"{where}.min") if "min" in axis else None
    high = _number(axis["max"], f"{where}.max") if "max" in axis else None
    if low is not None and high is not None and low >= high:
        raise WidgetError(f"`{where}.min` ({low:g}) must be less than `{where}.max` ({high:g})")
    return YAxis(min=low, max=high, label=_optional_str(axis.get("label"), f"{where}.label"),
                 show_units=_bool(axis.get("showUnits", True), f"{where}.showUnits"))


def _table(value: Any) -> Table:
    table = _mapping(value, "table")
    _check_keys(table, _TABLE_KEYS, "table", "table key")
    _bool(table.get("stickySummary", False), "table.stickySummary")  # scrolling does not apply to an image
    columns = _list(table.get("summaryColumns", []), "table.summaryColumns")
    return Table(
        layout=_choice(table.get("layout", "horizontal"), ("horizontal", "vertical"), "table.layout"),
        show_points=_bool(table.get("showTimeSeriesData", True), "table.showTimeSeriesData"),
        summary=tuple(_choice(column, SUMMARY_COLUMNS, f"table.summaryColumns[{index}]")
                      for index, column in enumerate(columns)),
    )


def _is_duration(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lstrip("+-")[:1].upper() == "P"


def _instant(value: Any, where: str, now: datetime) -> datetime:
    """An ISO 8601 instant (naive means UTC) or a duration relative to ``now``.

    A duration counts back from ``now`` whether or not it has a sign (``PT3H`` is ``-PT3H``, three hours
    ago; hours may be fractional, ``-PT0.5H``); only an explicit ``+`` counts forward.
    """
    if not isinstance(value, str) or not value.strip():
        raise WidgetError(f"`{where}` must be an ISO 8601 time like 2026-11-25T00:00:00Z or a duration like -PT3H")
    text = value.strip()
    if _is_duration(text):
        try:
            length = abs(parse_duration(text))
        except ValueError:
            raise WidgetError(f"`{where}` is {value!r}: not a duration like -PT3H, -P7D or P0D") from None
        return (now + length if text.startswith("+") else now - length).astimezone(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise WidgetError(f"`{where}` is {value!r}: not an ISO 8601 time like 2026-11-25T00:00:00Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _timezone(value: Any) -> timedelta:
    match = _TIMEZONE.match(value) if isinstance(value, str) else None
    if match is None:
        raise WidgetError(f"`timezone` is {value!r}: expected an offset like +0100 or -0530")
    sign, hours, minutes = match.groups()
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    return -offset if sign == "-" else offset


def _stat(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise WidgetError(f"`{where}` must be a statistic such as Average or p99, not {_kind(value)}")
    try:
        aggregate.parse_statistic(value)  # the grammar the metric store computes them by
    except ValueError as exc:
        raise WidgetError(f"`{where}`: {exc}") from None
    return value


def _period(value: Any, where: str) -> int:
    if not _is_int(value) or not valid_period(value):
        raise WidgetError(f"`{where}` is {value!r}: a period is 1, 5, 10, 30 or a multiple of 60 seconds")
    return int(value)


def _pixels(value: Any, where: str) -> int:
    if not _is_int(value) or not MIN_WIDGET_PIXELS <= value <= MAX_WIDGET_PIXELS:
        raise WidgetError(f"`{where}` is {value!r}: must be a whole number of pixels "
                          f"from {MIN_WIDGET_PIXELS} to {MAX_WIDGET_PIXELS}")
    return int(value)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WidgetError(f"`{where}` must be a number, not {_kind(value)}")
    return float(value)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise WidgetError(f"`{where}` must be true or false, not {_kind(value)}")
    return value


def _optional_str(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise WidgetError(f"`{where}` must be a string, not {_kind(value)}")
    return value


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        hint = did_you_mean(value, sorted(choices)) if isinstance(value, str) else ""
        raise WidgetError(f"`{where}` is {value!r}: expected one of {', '.join(choices)}{hint}")
    return str(value)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WidgetError(f"`{where}` must be an object, not {_kind(value)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise WidgetError(f"`{where}` must be a list, not {_kind(value)}")
    return value


def _check_keys(doc: dict[str, Any], known: frozenset[str] | set[str], where: str, what: str) -> None:
    """Refuse a key that is a slip of a known one; any other unknown key is ignored."""
    for key in doc:
        slip = None if key in known else near_miss(str(key), sorted(known))
        if slip is not None:
            raise WidgetError(f"`{where}`: `{key}` is not a {what}; did you mean `{slip}`?")


def _is_int(value: Any) -> bool:
    return not isinstance(value, bool) and (
        isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and value.is_integer())
    )


def _kind(value: Any) -> str:
    return "null" if value is None else {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), repr(value))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
