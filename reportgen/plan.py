"""The request plan: one GetMetricWidgetImage call per widget, with the report's time window filled in."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from reportgen.errors import SpecError
from reportgen.model import (
    DEFAULT_WIDGET_HEIGHT,
    DEFAULT_WIDGET_WIDTH,
    ReportPlan,
    ReportSpec,
    WidgetRequest,
)
from reportgen.periods import parse_time_expression, resolve_window, to_utc, utc_iso, utc_offset_hhmm
from reportgen.spec import widget_json
from reportgen.specschema import TIMEZONE_WORDS


def _own_range(source: Mapping[str, Any], zone: ZoneInfo) -> dict[str, str]:
    """A widget's own ``start``/``end``, naive date/times read in the report's zone and sent as UTC.

    CloudWatch takes a timestamp without an offset as UTC; under ``period:`` the same text means the report's
    local time, and a widget must not read it differently. Offsets and durations are sent as written.
    """
    own = {key: source[key] for key in ("start", "end") if key in source}
    for key, text in own.items():
        value = parse_time_expression(text)
        if isinstance(value, datetime) and value.tzinfo is None:
            own[key] = utc_iso(to_utc(value, zone))
    return own


def _own_timezone(source: Mapping[str, Any], report_offset: str) -> dict[str, str]:
    """A widget's own ``timezone`` as the offset CloudWatch takes: a word such as ``Local`` (what dashboards and
    IaC tools write) becomes the offset it stands for, the report's own for ``Local``; an offset stays."""
    if "timezone" not in source:
        return {}
    written = source["timezone"]
    word = written.lower()
    if word in TIMEZONE_WORDS:
        return {"timezone": TIMEZONE_WORDS[word] or report_offset}
    return {"timezone": written}


def make_plan(spec: ReportSpec, report_date: date, now: datetime) -> ReportPlan:
    """Resolve the report's window and build the exact MetricWidget JSON for every widget.

    Each widget gets the window as absolute UTC ``start``/``end`` unless it sets either itself (its range is
    then its own, naive date/times in it read in the report's zone as under ``period:``), the report zone's
    UTC offset at the window's end as ``timezone`` (also for a ``timezone`` word such as ``Local``), its
    ``title``, and ``width``/``height`` (600×400 when unset). Raise ``SpecError`` at the period's line if the
    period cannot be resolved (e.g. a custom period that ends before it starts) or at the widget's if its final
    JSON exceeds CloudWatch's 100 KB.
    """
    try:
        window = resolve_window(spec.period, spec.timezone, report_date, now)
    except ValueError as exc:
        raise SpecError(f"`period`: {exc}", file=spec.path, line=spec.period_line, key="period") from exc
    filled = {
        "start": utc_iso(window.start),
        "end": utc_iso(window.end),
        # CloudWatch takes one fixed offset; the end's is the one the report's last hours are read in.
        "timezone": utc_offset_hhmm(window.end),
    }
    requests = []
    for section_index, section in enumerate(spec.sections):
        for index, widget in enumerate(section.widgets):
            own_range = _own_range(widget.source, spec.tz)
            source = {
                **({"timezone": filled["timezone"]} if own_range else filled),
                "width": DEFAULT_WIDGET_WIDTH,
                "height": DEFAULT_WIDGET_HEIGHT,
                **widget.source,
                **own_range,
                **_own_timezone(widget.source, filled["timezone"]),
                "title": widget.title,  # the widget's own, or the one derived from its first metric
            }
            requests.append(WidgetRequest(
                report_id=spec.id,
                section=section_index,
                index=index,
                title=widget.title,
                metric_widget=widget_json(source, file=spec.path, line=widget.line),
                width=source["width"],
                height=source["height"],
                aws=widget.aws if widget.aws not in (None, spec.aws) else None,
            ))
    return ReportPlan(spec=spec, report_date=report_date, window=window, widgets=tuple(requests))
