"""What a report spec and CloudWatch's MetricWidget may hold: ``Schema`` tables and the checks only they need.

``WIDGET`` is a MetricWidget as GetMetricWidgetImage and dashboard "Source" JSON write it, and alone checks the
JSON of a ``file:`` widget; ``SPEC`` is a whole report spec, whose widgets are ``WIDGET`` plus ``file:``.
The widget's tables are open: CloudWatch ignores keys it does not know, so one reportgen does not know either is
sent with a warning, while one a slip away from a known key (`stakced`) is an error.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import available_timezones

from reportgen import expression
from reportgen.expression import ExpressionError
from reportgen.mail import check_address, check_header_text, check_template
from reportgen.model import MAX_METRICS_PER_WIDGET, MAX_WIDGET_PIXELS, MIN_WIDGET_PIXELS, REPORT_ID, valid_period
from reportgen.periods import PERIOD_KEYWORDS, parse_time_expression
from reportgen.schedule import parse_schedule
from reportgen.schema import (
    Check,
    Context,
    KeyPath,
    Schema,
    boolean,
    choice,
    describe,
    did_you_mean,
    either,
    expect,
    integer,
    is_integer,
    label,
    list_of,
    number,
    parsed_by,
    pattern,
    string,
)


def _period_seconds(ctx: Context, value: Any, path: KeyPath) -> None:
    expect(ctx, value, path, is_integer(value), "an integer number of seconds")
    if not valid_period(value):
        ctx.fail(f"`{label(path)}` must be 1, 5, 10, 30 or a multiple of 60 seconds, not {value}", path)


def _parsed_time(ctx: Context, value: Any, path: KeyPath) -> datetime | timedelta:
    string(ctx, value, path)
    try:
        return parse_time_expression(value)
    except ValueError as exc:
        ctx.fail(f"`{label(path)}`: {exc}", path)


def _time_expression(ctx: Context, value: Any, path: KeyPath) -> None:
    _parsed_time(ctx, value, path)


# --- the MetricWidget, as GetMetricWidgetImage and dashboard "Source" JSON write it --------------------

_COLOR = pattern(r"#[0-9a-fA-F]{6}", "a #rrggbb colour")
_REGION = pattern(r"[a-z]{2,}(-[a-z]+)+-\d+", "an AWS region such as us-east-1")
_AXIS_SIDE = choice("left", "right")

_METRIC_OPTIONS = Schema("metric option", {
    "id": pattern(r"[a-z][a-zA-Z0-9_]*", "a lowercase letter followed by letters, digits or _"),
    "label": string,
    "color": _COLOR,
    "stat": string,
    "period": _period_seconds,
    "yAxis": _AXIS_SIDE,
    "visible": boolean,
    "region": _REGION,
    "accountId": string,
    "expression": string,
}, open=True)

_AXIS = Schema("axis", {"min": number, "max": number, "label": string, "showUnits": boolean}, open=True)


def _annotation_list(value_check: Check, fills: tuple[str, ...]) -> Check:
    """Annotations of one direction: each a mapping, or a band of two mappings (from, to)."""
    single = Schema("annotation", {
        "value": value_check, "label": string, "color": _COLOR, "fill": choice(*fills),
        "yAxis": _AXIS_SIDE, "visible": boolean,
    }, required=("value",), open=True)

    def band(ctx: Context, value: Any, path: KeyPath) -> None:
        if len(value) != 2:
            ctx.fail(f"`{label(path)}` is a band and needs exactly two annotations, not {len(value)}", path)
        list_of(single)(ctx, value, path)

    return list_of(either(band, single, lambda value: isinstance(value, list)))


def _timestamp(ctx: Context, value: Any, path: KeyPath) -> None:
    if not isinstance(_parsed_time(ctx, value, path), datetime):
        ctx.fail(f"`{label(path)}` must be an ISO 8601 date/time, not the duration `{value}`", path)


def _metrics(ctx: Context, value: Any, path: KeyPath) -> None:
    expect(ctx, value, path, isinstance(value, list), "a list of metric rows")
    if not value:
        ctx.fail("`metrics` is empty; a widget needs at least one metric row", path)
    if len(value) > MAX_METRICS_PER_WIDGET:
        ctx.fail(f"`metrics` has {len(value)} rows; CloudWatch draws at most {MAX_METRICS_PER_WIDGET} per widget",
                 path)
    for index, row in enumerate(value):
        _metric_row(ctx, row, path + (index,), index)
    _expressions(ctx, value, path)


def _expressions(ctx: Context, rows: list[Any], path: KeyPath) -> None:
    """Every math row's expression parses and calls CloudWatch's functions with fitting arguments, and names
    only ids that rows of this widget define; checked here so a typo is found now, not by a night's request.

    The rows have passed ``_metric_row``: the options of a row are its last element, and an `expression`
    is a string in a row of its own.
    """
    options = {index: row[-1] for index, row in enumerate(rows) if isinstance(row[-1], dict)}
    names: dict[int, str] = {}  # expression row → how the expression is named: its id, else its place
    ids: dict[str, int] = {}
    for index, option in options.items():
        if (row_id := option.get("id")) is not None:
            if row_id in ids:
                ctx.fail(f"metric row {index + 1}: id `{row_id}` is already the id of metric row {ids[row_id] + 1}; "
                         "ids must be unique in a widget", path + (index, len(rows[index]) - 1, "id"))
            ids[row_id] = index
        if "expression" in option:
            names[index] = row_id if row_id is not None else f"metric row {index + 1}"
    try:
        expression.check_all({name: options[index]["expression"] for index, name in names.items()}, ids)
    except ExpressionError as exc:
        index = next((index for index, name in names.items() if name == exc.culprit), min(names))
        text = options[index]["expression"]
        shown = text if len(text) <= 60 else text[:57] + "..."
        ctx.fail(f"metric row {index + 1} (`{shown}`): {exc}", path + (index, len(rows[index]) - 1, "expression"))


def _metric_row(ctx: Context, row: Any, path: KeyPath, index: int) -> None:
    """``[Namespace, MetricName, DimName, DimValue, …, {options}]``, or ``[{expression: …, id: …}]``."""
    row_label = f"metric row {index + 1}"
    if not isinstance(row, list):
        hint = "; write a math expression as [{expression: …, id: …}]" if isinstance(row, dict) else ""
        ctx.fail(f"{row_label} must be a list, not {describe(row)}{hint}", path)
    names, options = (row[:-1], row[-1]) if row and isinstance(row[-1], dict) else (row, None)
    for position, name in enumerate(names):
        if not isinstance(name, str):
            hint = "; quote it" if isinstance(name, (int, float)) else ""
            ctx.fail(f"{row_label}: element {position + 1} must be a string, not {describe(name)}{hint}",
                     path + (position,))
    if options is not None:
        _METRIC_OPTIONS(ctx, options, path + (len(row) - 1,))
    if not names:
        if options is None or "expression" not in options:
            ctx.fail(f"{row_label} has no metric: give [Namespace, MetricName, …] or [{{expression: …}}]", path)
        return
    if options is not None and "expression" in options:
        ctx.fail(f"{row_label}: an `expression` goes in a row of its own, [{{expression: …, id: …}}]",
                 path + (len(row) - 1,))
    if index == 0 and names[0] in {".", "..."}:
        ctx.fail(f"{row_label}: `{names[0]}` repeats the previous row, but this is the first row", path)
    # Namespace and MetricName, then name/value pairs; "..." stands for any number of leading values.
    if names[0] != "..." and (len(names) < 2 or len(names) % 2):
        ctx.fail(f"{row_label} must be [Namespace, MetricName, DimensionName, DimensionValue, …]; "
                 f"it has {len(names)} name{'s' if len(names) > 1 else ''}", path)


# Besides a UTC offset, ``timezone`` may be a word dashboards and IaC tools write: what each stands for, None
# being the report's own zone (a still image has no browser; its reader's zone is the report's).
TIMEZONE_WORDS: dict[str, str | None] = {"local": None, "browser": None, "utc": "+0000"}
_OFFSET = pattern(r"[+-](0\d|1[0-4])[0-5]\d", "a UTC offset such as +0100 or -0500, or Local")


def _timezone(ctx: Context, value: Any, path: KeyPath) -> None:
    if not (isinstance(value, str) and value.lower() in TIMEZONE_WORDS):
        _OFFSET(ctx, value, path)


WIDGET = Schema("widget", {
    "metrics": _metrics,
    "annotations": Schema("annotations", {
        "horizontal": _annotation_list(number, ("above", "below", "none")),
        "vertical": _annotation_list(_timestamp, ("before", "after", "none")),
        "alarms": list_of(string),
    }, open=True),
    "start": _time_expression,
    "end": _time_expression,
    "width": integer(MIN_WIDGET_PIXELS, MAX_WIDGET_PIXELS),
    "height": integer(MIN_WIDGET_PIXELS, MAX_WIDGET_PIXELS),
    "legend": Schema("legend", {"position": choice("bottom", "right", "hidden")}, open=True),
    "liveData": boolean,
    "period": _period_seconds,
    "region": _REGION,
    "stacked": boolean,
    "stat": string,
    "theme": choice("light", "dark"),
    "timezone": _timezone,
    "title": string,
    # gauge reads its range from yAxis.left.min/max, table its options from `table`, pie `labels`
    "view": choice("timeSeries", "bar", "pie", "singleValue", "gauge", "table"),
    "yAxis": Schema("yAxis", {"left": _AXIS, "right": _AXIS}, open=True),
    "setPeriodToTimeRange": boolean,
    "sparkline": boolean,
    "accountId": string,
    "singleValueFullPrecision": boolean,
    "trend": boolean,
    "labels": Schema("labels", {"visible": boolean}, open=True),
    # CloudWatch's table view options, or reportgen's own `table: true` (the numbers under the chart, not sent)
    "table": either(boolean, Schema("table", {
        "layout": choice("horizontal", "vertical"),
        "showTimeSeriesData": boolean,
        "stickySummary": boolean,
        "summaryColumns": list_of(choice("MIN", "MAX", "SUM", "AVG")),
    }, open=True), lambda value: isinstance(value, bool)),
    "copilot": boolean,  # written by code that calls GetMetricWidgetImage; CloudWatch takes it
}, open=True)


# --- the report spec around the widgets ----------------------------------------------------------------


def _timezone_name(ctx: Context, value: Any, path: KeyPath) -> None:
    string(ctx, value, path)
    if value not in _time_zones():
        ctx.fail(f"`{value}` is not a known IANA time zone" + did_you_mean(value, sorted(_time_zones())), path)


@functools.cache
def _time_zones() -> frozenset[str]:
    # Scans the zone database once (~50 ms). "localtime" is whatever zone the host is set to: a spec
    # naming it would change meaning from machine to machine.
    return frozenset(available_timezones()) - {"localtime", "posixrules"}


def _rate_limit(ctx: Context, value: Any, path: KeyPath) -> None:
    number(ctx, value, path)
    if not 0 < value <= 1000:
        ctx.fail(f"`rate_limit` must be above 0 and at most 1000 requests per second, not {value}", path)


_CUSTOM_PERIOD = Schema("period", {"start": _time_expression, "end": _time_expression}, required=("start",))


def _period(ctx: Context, value: Any, path: KeyPath) -> None:
    if isinstance(value, dict):
        _CUSTOM_PERIOD(ctx, value, path)
    elif isinstance(value, str):
        if value not in PERIOD_KEYWORDS:
            ctx.fail(f"`{value}` is not a report period; use one of {', '.join(PERIOD_KEYWORDS)} "
                     f"or {{start: …, end: …}}" + did_you_mean(value, PERIOD_KEYWORDS), path)
    else:
        expect(ctx, value, path, False, "a period keyword or a {start: …, end: …} mapping")


# One mail address, ``ops@example.com`` or ``Ops <ops@example.com>``; never a header injection.
address = parsed_by(check_address)


def _addresses(ctx: Context, value: Any, path: KeyPath) -> None:
    """One address, or a list of them."""
    if isinstance(value, list):
        list_of(address)(ctx, value, path)
    else:
        address(ctx, value, path)


MAX_TITLE = 200    # characters of a report title or mail subject: a subject line, not a page
MAX_BODY = 10_000  # characters of a mail's own paragraph, before its placeholders are filled

def _text(max_length: int, *, one_line: bool, template: bool = False) -> Check:
    """Text that may reach a mail: a header must be one line, and nothing may grow a message without bound."""
    def check(ctx: Context, value: Any, path: KeyPath) -> None:
        string(ctx, value, path)
        if len(value) > max_length:
            ctx.fail(f"`{label(path)}` is {len(value):,} characters long; at most {max_length:,} are taken", path)
        try:
            if one_line:
                check_header_text(value, f"`{label(path)}`")
            if template:
                check_template(value, f"`{label(path)}`")
        except ValueError as exc:
            ctx.fail(str(exc), path)
    return check


_EMAIL_DELIVERY = Schema("e-mail delivery", {
    "to": _addresses,
    "cc": _addresses,
    "bcc": _addresses,
    "subject": _text(MAX_TITLE, one_line=True, template=True),
    "body": _text(MAX_BODY, one_line=False, template=True),
    "inline_chart": boolean,
}, required=("to",))

MAX_ROWS = 20  # rows of widgets on one page: beyond this a chart is a sliver


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


MAX_CAPTION = 500   # characters under a chart: a caption, not an essay
MAX_TEXT = 4_000    # characters of one `text:` item: it must fit on a page whole
MAX_FOOTER = 120    # characters of the footer line


def _long_text(max_length: int) -> Check:
    def check(ctx: Context, value: Any, path: KeyPath) -> None:
        string(ctx, value, path)
        if len(value) > max_length:
            ctx.fail(f"`{label(path)}` is {len(value):,} characters long; at most {max_length:,} are taken", path)
    return check


_SPAN = either(choice("full"), integer(1, 4), _is_text)

# Where widgets are fetched: the report's `aws`, or a section's or widget's own (which cannot change the rate:
# the limit belongs to the account, whoever asks).
_ROLE_ARN = pattern(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}",
                    "an IAM role ARN such as arn:aws:iam::123456789012:role/ReportReader")
_AWS_KEYS: dict[str, Check] = {
    "region": _REGION, "profile": string, "role_arn": _ROLE_ARN,
    "external_id": pattern(r"[\w+=,.@:/-]{2,1224}", "2-1224 letters, digits and +=,.@:/-"),
    "session_name": pattern(r"[\w+=,.@-]{2,64}", "2-64 letters, digits and +=,.@-"),
}
_OWN_AWS = Schema("aws", _AWS_KEYS, refused={"rate_limit": "the rate limit is the account's; set it in the "
                                                            "report's own `aws`"})
_VARIABLE_NAME = pattern(r"[A-Za-z_][A-Za-z0-9_]{0,63}", "a name of letters, digits and _")


def _repeat(ctx: Context, value: Any, path: KeyPath) -> None:
    """`repeat: [a, b]`, `{values: […], as: name}`, or `{metric: [Namespace, MetricName], dimension: D, …}`."""
    if isinstance(value, list):
        list_of(_repeat_value, min_items=1)(ctx, value, path)
        return
    Schema("repeat", {
        "values": list_of(_repeat_value, min_items=1),
        "metric": _metric_name,
        "dimension": string,
        "dimensions": _string_map,
        "match": string,
        "limit": integer(1, 100),
        "as": _VARIABLE_NAME,
    })(ctx, value, path)
    if ("values" in value) == ("metric" in value):
        ctx.fail("`repeat` needs either `values: [...]` or `metric: [Namespace, MetricName]` with `dimension`", path)
    if "metric" in value and "dimension" not in value:
        ctx.fail("`repeat` over a metric needs the `dimension` whose values it repeats over", path)


def _repeat_value(ctx: Context, value: Any, path: KeyPath) -> None:
    expect(ctx, value, path, isinstance(value, (str, int)) and not isinstance(value, bool), "a text or a number")


def _metric_name(ctx: Context, value: Any, path: KeyPath) -> None:
    expect(ctx, value, path, isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value),
           "[Namespace, MetricName]")


def _string_map(ctx: Context, value: Any, path: KeyPath) -> None:
    expect(ctx, value, path, isinstance(value, dict), "a mapping of names to values")
    for key, item in value.items():
        expect(ctx, item, path + (key,), isinstance(item, (str, int)) and not isinstance(item, bool),
               "a text or a number")


_WIDGET_ITEM = WIDGET.extended(file=string, span=_SPAN, caption=_long_text(MAX_CAPTION), aws=_OWN_AWS,
                               repeat=_repeat)
_TEXT_ITEM = Schema("text item", {"text": _long_text(MAX_TEXT)}, required=("text",))
_ALARMS = Schema("alarms", {"prefix": string, "names": list_of(string, min_items=1),
                            "state": choice("ALARM", "OK", "INSUFFICIENT_DATA")})
_ALARMS_ITEM = Schema("alarms item", {"alarms": either(boolean, _ALARMS, lambda v: isinstance(v, bool))},
                      required=("alarms",))


def _section_item(ctx: Context, value: Any, path: KeyPath) -> None:
    """A widget, a `text:` item of commentary between widgets, or an `alarms:` item."""
    kind = next((key for key in ("text", "alarms") if isinstance(value, dict) and key in value), None)
    {"text": _TEXT_ITEM, "alarms": _ALARMS_ITEM}.get(kind or "", _WIDGET_ITEM)(ctx, value, path)


def _summary(ctx: Context, value: Any, path: KeyPath) -> None:
    if isinstance(value, bool):
        return
    expect(ctx, value, path, isinstance(value, dict), "true, false or {threshold: PERCENT}")
    Schema("summary", {"threshold": number})(ctx, value, path)
    if not 0 < value.get("threshold", 20) <= 10_000:
        ctx.fail(f"`summary.threshold` is a change in percent above 0, not {value['threshold']}",
                 path + ("threshold",))


SPEC = Schema("report spec", {
    "report": pattern(REPORT_ID.pattern,
                      "1-64 lowercase letters, digits and '-', starting with a letter (it names the PDF)"),
    "title": _text(MAX_TITLE, one_line=True),
    "description": string,
    "timezone": _timezone_name,
    "period": _period,
    "aws": Schema("aws", {**_AWS_KEYS, "rate_limit": _rate_limit}),
    "layout": Schema("layout", {
        "page": choice("A4", "A3", "Letter", "Legal"),
        "orientation": choice("landscape", "portrait"),
        "columns": integer(1, 4),
        "rows": integer(1, MAX_ROWS),
        "logo": string,
        "footer": _text(MAX_FOOTER, one_line=True),
        "contents": boolean,
        "fonts": list_of(string),
    }),
    "table": boolean,
    "summary": _summary,
    "schedule": parsed_by(parse_schedule, text=False, named=False),
    "deliver": Schema("deliver", {"email": _EMAIL_DELIVERY, "archive": boolean}),
    "defaults": WIDGET.refusing(file="a `file:` belongs to one widget, not to the defaults",
                                span="`span` belongs to one widget, not to the defaults",
                                caption="a `caption:` belongs to one widget, not to the defaults"),
    "sections": list_of(Schema("section", {
        "title": string,
        "columns": integer(1, 4),
        "rows": integer(1, MAX_ROWS),
        "page_break": choice("before"),
        "table": boolean,
        "widgets": list_of(_section_item, min_items=1),
        "dashboard": pattern(r"[A-Za-z0-9_-]{1,255}", "a dashboard name: letters, digits, - and _"),
        "variables": _string_map,
        "repeat": _repeat,
        "aws": _OWN_AWS,
    }, required=("title",)), min_items=1),
}, required=("report", "title", "sections"))
