"""Report periods and CloudWatch time expressions, resolved to concrete instants.

Calendar periods (``today``, ``yesterday``, ``previous_week``, ``previous_month``) run between local
midnights in the report's time zone, so a day that changes to or from summer time is 23 or 25 hours long.
Rolling periods (``last_24h``, ``last_7d``, ``last_30d``) are exact elapsed time ending at the anchor: the
run's "now", or the end of the report date when that comes first. All arithmetic on instants is done in UTC,
because Python compares and subtracts datetimes that share a tzinfo by wall clock, not by instant.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from reportgen.model import Period, TimeWindow

# ISO 8601 durations as CloudWatch takes them for a widget's start/end: an optional sign, then weeks,
# days, hours, minutes and seconds, each possibly fractional ("-PT3H", "P7D", "-PT0.5H", "P0D").
# Years and months are refused: they have no fixed length.
_DURATION = re.compile(
    r"^(?P<sign>[+-])?P(?!$)(?:(?P<weeks>\d+(?:\.\d+)?)W)?(?:(?P<days>\d+(?:\.\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """Parse a signed ISO 8601 duration such as ``-PT3H`` or ``P7D``; raise ``ValueError`` otherwise."""
    match = _DURATION.match(text.strip().upper())
    if match is None:
        raise ValueError(f"not an ISO 8601 duration: {text!r} (expected e.g. -PT3H or -P7D)")
    parts = {name: float(value) for name, value in match.groupdict().items() if name != "sign" and value}
    delta = timedelta(**parts)
    return -delta if match.group("sign") == "-" else delta


def parse_time_expression(text: str) -> datetime | timedelta:
    """Parse an ISO 8601 date/time (naive or with an offset) or a signed duration such as ``-PT3H``.

    Raise ``ValueError`` naming both accepted forms when ``text`` is neither.
    """
    stripped = text.strip()
    if stripped[:1] in {"P", "p", "+", "-"}:
        return parse_duration(stripped)
    try:
        return datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an ISO 8601 date/time (2026-11-25T06:00:00+01:00) nor a duration (-PT3H)"
        ) from None


def to_utc(moment: datetime, zone: tzinfo) -> datetime:
    """``moment`` as an aware UTC datetime; a naive one is wall-clock time in ``zone`` (a report's zone)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def utc_iso(moment: datetime) -> str:
    """An aware datetime as CloudWatch takes an absolute time: UTC, to the second, e.g. ``2026-11-25T05:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant (in UTC) a local calendar day begins; a midnight skipped by DST maps to the jump."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _today(day: date, zone: ZoneInfo, anchor: datetime) -> tuple[datetime, datetime]:
    return _midnight(day, zone), anchor


def _yesterday(day: date, zone: ZoneInfo, anchor: datetime) -> tuple[datetime, datetime]:
    return _midnight(day - timedelta(days=1), zone), _midnight(day, zone)


def _previous_week(day: date, zone: ZoneInfo, anchor: datetime) -> tuple[datetime, datetime]:
    monday = day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    return _midnight(monday - timedelta(weeks=1), zone), _midnight(monday, zone)


def _previous_month(day: date, zone: ZoneInfo, anchor: datetime) -> tuple[datetime, datetime]:
    first = day.replace(day=1)
    previous_first = (first - timedelta(days=1)).replace(day=1)
    return _midnight(previous_first, zone), _midnight(first, zone)


def _rolling(length: timedelta) -> Callable[[date, ZoneInfo, datetime], tuple[datetime, datetime]]:
    def window(day: date, zone: ZoneInfo, anchor: datetime) -> tuple[datetime, datetime]:
        return anchor - length, anchor

    return window


# Each keyword maps (report date, zone, anchor in UTC) to its [start, end) in UTC.
_KEYWORDS: dict[str, Callable[[date, ZoneInfo, datetime], tuple[datetime, datetime]]] = {
    "yesterday": _yesterday,
    "today": _today,
    "last_24h": _rolling(timedelta(hours=24)),
    "last_7d": _rolling(timedelta(days=7)),
    "last_30d": _rolling(timedelta(days=30)),
    "previous_week": _previous_week,
    "previous_month": _previous_month,
}
PERIOD_KEYWORDS: tuple[str, ...] = tuple(_KEYWORDS)


def _instant(text: str, zone: ZoneInfo, base: datetime) -> datetime:
    """A custom period bound in UTC: absolute (naive means local to ``zone``) or a duration added to ``base``."""
    value = parse_time_expression(text)
    if isinstance(value, timedelta):
        return base + value
    return to_utc(value, zone)


def resolve_window(period: Period, timezone: str, report_date: date, now: datetime) -> TimeWindow:
    """Resolve ``period`` for the report dated ``report_date`` in ``timezone``, at instant ``now``.

    ``now`` must be timezone-aware. The anchor is ``min(now, end of report_date)``: a nightly run ends at
    "now", a run for a past date ends at that day's end.

    A custom period's ``end`` is an ISO 8601 date/time (naive means local to ``timezone``), a duration
    counted from the anchor (``-PT1H``: an hour before it), or absent (the anchor). Its ``start`` is a
    date/time, or a duration counted back from that resolved ``end``: ``{start: -P1D, end: 2026-01-01T00:00}``
    is the day before New Year, ``{start: -P1D, end: -P1D}`` the 24 hours before the last 24.

    Raise ``ValueError`` for an unknown keyword, an unparsable bound, or a window that would be empty (start
    not before end).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be a timezone-aware datetime")
    zone = ZoneInfo(timezone)
    anchor = min(now.astimezone(UTC), _midnight(report_date + timedelta(days=1), zone))
    if period.keyword is not None:
        if period.keyword not in _KEYWORDS:
            raise ValueError(f"unknown period {period.keyword!r}; expected one of {', '.join(PERIOD_KEYWORDS)}")
        start, end = _KEYWORDS[period.keyword](report_date, zone, anchor)
    else:
        if period.start is None:
            raise ValueError("a custom period needs a `start`")
        end = anchor if period.end is None else _instant(period.end, zone, anchor)
        start = _instant(period.start, zone, end)
    if start >= end:
        raise ValueError(f"the period is empty: it starts at {utc_iso(start)} but ends at {utc_iso(end)} (UTC)")
    return TimeWindow(start=start.astimezone(zone), end=end.astimezone(zone), timezone=timezone)


def default_report_date(timezone: str, now: datetime) -> date:
    """Today's date in ``timezone`` at the aware instant ``now``: the date a nightly run reports on."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be a timezone-aware datetime")
    return now.astimezone(ZoneInfo(timezone)).date()


def utc_offset_hhmm(moment: datetime) -> str:
    """The UTC offset of an aware datetime as CloudWatch's widget ``timezone`` wants it, e.g. ``+0100``."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("a naive datetime has no UTC offset")
    minutes = round(offset.total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{minutes:02d}"
