"""Report periods resolved on fixed dates: DST days, month and year ends, clamping to "now"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reportgen.model import Period
from reportgen.periods import (
    PERIOD_KEYWORDS,
    default_report_date,
    parse_duration,
    parse_time_expression,
    resolve_window,
    utc_offset_hhmm,
)

# A nightly run long after the report dates below, so "now" never clamps unless a test says so.
LATER = datetime(2030, 1, 1, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def elapsed(start: datetime, end: datetime) -> timedelta:
    # Subtracting datetimes that share a tzinfo gives wall-clock time, which is wrong across DST.
    return end.astimezone(UTC) - start.astimezone(UTC)


def window(keyword: str, zone: str, day: date, now: datetime = LATER) -> tuple[datetime, datetime]:
    resolved = resolve_window(Period(keyword=keyword), zone, day, now)
    assert resolved.start.tzinfo == ZoneInfo(zone) and resolved.end.tzinfo == ZoneInfo(zone)
    assert resolved.timezone == zone
    return resolved.start, resolved.end


@pytest.mark.parametrize(("zone", "day", "start", "end", "hours"), [
    # Europe/Berlin: summer time starts 29 Mar 2026 02:00 → 03:00 and ends 25 Oct 2026 03:00 → 02:00.
    ("Europe/Berlin", date(2026, 3, 30), "2026-03-28T23:00", "2026-03-29T22:00", 23),
    ("Europe/Berlin", date(2026, 10, 26), "2026-10-24T22:00", "2026-10-25T23:00", 25),
    ("Europe/Berlin", date(2026, 11, 26), "2026-11-24T23:00", "2026-11-25T23:00", 24),
    # America/New_York: 8 Mar 2026 and 1 Nov 2026.
    ("America/New_York", date(2026, 3, 9), "2026-03-08T05:00", "2026-03-09T04:00", 23),
    ("America/New_York", date(2026, 11, 2), "2026-11-01T04:00", "2026-11-02T05:00", 25),
    # America/Santiago skips midnight itself on 6 Sep 2026: that day begins at 01:00 local.
    ("America/Santiago", date(2026, 9, 7), "2026-09-06T04:00", "2026-09-07T03:00", 23),
])
def test_yesterday_spans_local_midnights_so_dst_days_are_23_or_25_hours(zone, day, start, end, hours):
    got_start, got_end = window("yesterday", zone, day)
    assert (got_start, got_end) == (utc(start), utc(end))
    assert elapsed(got_start, got_end) == timedelta(hours=hours)
    assert got_start.astimezone(ZoneInfo(zone)).date() == day - timedelta(days=1)


def test_window_bounds_show_the_real_local_wall_time():
    start, end = window("yesterday", "America/Santiago", date(2026, 9, 7))
    assert (start.hour, start.utcoffset()) == (1, timedelta(hours=-3))
    start, end = window("yesterday", "Europe/Berlin", date(2026, 3, 30))
    assert (start.isoformat(), end.isoformat()) == ("2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00")


@pytest.mark.parametrize(("day", "start", "end"), [
    (date(2026, 3, 31), "2026-02-01", "2026-03-01"),   # March 31 → February, 28 days
    (date(2028, 3, 31), "2028-02-01", "2028-03-01"),   # leap year: 29 days
    (date(2026, 3, 1), "2026-02-01", "2026-03-01"),    # the 1st reports the whole previous month
    (date(2027, 1, 15), "2026-12-01", "2027-01-01"),   # across the year boundary
    (date(2026, 12, 31), "2026-11-01", "2026-12-01"),
])
def test_previous_month(day, start, end):
    assert window("previous_month", "UTC", day) == (utc(start), utc(end))


def test_previous_month_in_a_zone_runs_between_local_midnights():
    start, end = window("previous_month", "Europe/Berlin", date(2026, 11, 2))  # October: DST ends inside
    assert (start, end) == (utc("2026-09-30T22:00"), utc("2026-10-31T23:00"))
    assert elapsed(start, end) == timedelta(days=31, hours=1)


@pytest.mark.parametrize(("day", "start", "end"), [
    (date(2026, 11, 25), "2026-11-16", "2026-11-23"),  # Wednesday
    (date(2026, 11, 23), "2026-11-16", "2026-11-23"),  # Monday: still the week before
    (date(2026, 11, 29), "2026-11-16", "2026-11-23"),  # Sunday ends the ISO week
    (date(2027, 1, 6), "2026-12-28", "2027-01-04"),    # across the year boundary
    (date(2027, 1, 1), "2026-12-21", "2026-12-28"),    # 1 Jan 2027 is in ISO week 2026-W53
])
def test_previous_week_is_the_iso_week_before_the_report_dates_week(day, start, end):
    got_start, got_end = window("previous_week", "UTC", day)
    assert (got_start, got_end) == (utc(start), utc(end))
    assert got_start.weekday() == 0


def test_previous_week_containing_the_dst_change_is_169_hours():
    start, end = window("previous_week", "Europe/Berlin", date(2026, 10, 28))
    assert (start.isoformat(), end.isoformat()) == ("2026-10-19T00:00:00+02:00", "2026-10-26T00:00:00+01:00")
    assert elapsed(start, end) == timedelta(hours=169)


def test_today_is_clamped_to_now():
    now = utc("2026-11-26T09:15")  # 10:15 in Berlin
    assert window("today", "Europe/Berlin", date(2026, 11, 26), now) == (utc("2026-11-25T23:00"), now)


def test_today_for_a_past_date_is_the_whole_day():
    assert window("today", "Europe/Berlin", date(2026, 11, 20), utc("2026-11-26T09:15")) == (
        utc("2026-11-19T23:00"), utc("2026-11-20T23:00"))


def test_today_for_a_date_that_has_not_begun_is_an_error():
    with pytest.raises(ValueError, match="the period is empty"):
        window("today", "Europe/Berlin", date(2026, 11, 27), utc("2026-11-26T09:15"))


@pytest.mark.parametrize(("keyword", "length"), [
    ("last_24h", timedelta(hours=24)),
    ("last_7d", timedelta(days=7)),
    ("last_30d", timedelta(days=30)),
])
def test_rolling_windows_end_now_on_a_nightly_run(keyword, length):
    now = utc("2026-11-26T01:30:27.123456")
    assert window(keyword, "Europe/Berlin", date(2026, 11, 26), now) == (now - length, now)


def test_rolling_windows_for_a_past_date_end_at_the_end_of_that_day():
    assert window("last_24h", "Europe/Berlin", date(2026, 11, 20), utc("2026-11-26T01:30")) == (
        utc("2026-11-19T23:00"), utc("2026-11-20T23:00"))


def test_rolling_windows_are_elapsed_time_even_across_dst():
    start, end = window("last_7d", "Europe/Berlin", date(2026, 10, 27), utc("2026-10-27T11:00"))
    assert elapsed(start, end) == timedelta(hours=168)
    # Wall-clock times differ by an hour because the clocks went back in between.
    assert (start.hour, end.hour) == (13, 12)


NIGHTLY = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)


def custom(start: str, end: str | None = None, *, zone: str = "Europe/Berlin",
           day: date = date(2026, 11, 26), now: datetime = NIGHTLY) -> tuple[datetime, datetime]:
    resolved = resolve_window(Period(keyword=None, start=start, end=end), zone, day, now)
    return resolved.start, resolved.end


def test_custom_absolute_naive_times_are_local_to_the_report_zone():
    assert custom("2026-11-20T08:00", "2026-11-20T18:00") == (utc("2026-11-20T07:00"), utc("2026-11-20T17:00"))


def test_custom_absolute_times_with_an_offset_keep_it():
    assert custom("2026-11-20T08:00:00Z", "2026-11-20T18:00:00-05:00") == (
        utc("2026-11-20T08:00"), utc("2026-11-20T23:00"))


def test_custom_date_only_means_local_midnight():
    assert custom("2026-11-01", "2026-11-02") == (utc("2026-10-31T23:00"), utc("2026-11-01T23:00"))


@pytest.mark.parametrize(("start", "end", "expected_start", "expected_end"), [
    # `end` is absent (the anchor, here NIGHTLY), a duration from the anchor, or a date/time.
    ("-PT3H", None, "2026-11-25T22:30", "2026-11-26T01:30"),
    ("2026-11-25T00:00", None, "2026-11-24T23:00", "2026-11-26T01:30"),
    ("2026-11-25T00:00", "-PT1H", "2026-11-24T23:00", "2026-11-26T00:30"),
    # A relative `start` counts back from the resolved `end`, whichever form that takes.
    ("-P2D", "-P1D", "2026-11-23T01:30", "2026-11-25T01:30"),
    ("-P1D", "2026-01-01T00:00", "2025-12-30T23:00", "2025-12-31T23:00"),  # the README's example
    ("-PT6H", "2026-11-20T12:00:00Z", "2026-11-20T06:00", "2026-11-20T12:00"),
    # Durations are elapsed time: the day before the 25-hour 25 Oct begins at 01:00 local.
    ("-P1D", "2026-10-26T00:00", "2026-10-24T23:00", "2026-10-25T23:00"),
])
def test_custom_bounds(start, end, expected_start, expected_end):
    assert custom(start, end) == (utc(expected_start), utc(expected_end))


def test_custom_durations_for_a_past_report_date_count_from_the_end_of_that_day():
    now = utc("2026-11-26T01:30")
    assert custom("-PT6H", day=date(2026, 11, 20), now=now) == (utc("2026-11-20T17:00"), utc("2026-11-20T23:00"))
    assert custom("-PT6H", "-PT1H", day=date(2026, 11, 20), now=now) == (
        utc("2026-11-20T16:00"), utc("2026-11-20T22:00"))


@pytest.mark.parametrize(("period", "message"), [
    (Period(keyword=None, start="2026-11-20T18:00", end="2026-11-20T08:00"), "the period is empty"),
    (Period(keyword=None, start="2026-11-27T00:00", end="-PT1H"), "the period is empty"),
    (Period(keyword=None, start="PT1H", end="2026-11-20T08:00"), "the period is empty"),
    (Period(keyword=None, start="last tuesday"), "neither an ISO 8601 date/time"),
    (Period(keyword=None, start="-P1M"), "not an ISO 8601 duration"),
    (Period(keyword=None), "needs a `start`"),
    (Period(keyword="yesterdays"), "unknown period 'yesterdays'"),
])
def test_bad_periods_raise_value_error(period, message):
    with pytest.raises(ValueError, match=message):
        resolve_window(period, "Europe/Berlin", date(2026, 11, 26), utc("2026-11-26T01:30"))


def test_now_must_be_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        resolve_window(Period(), "UTC", date(2026, 11, 26), datetime(2026, 11, 26, 1, 30))
    with pytest.raises(ValueError, match="timezone-aware"):
        default_report_date("UTC", datetime(2026, 11, 26, 1, 30))


def test_every_keyword_resolves():
    for keyword in PERIOD_KEYWORDS:
        start, end = window(keyword, "Asia/Kathmandu", date(2026, 11, 26), utc("2026-11-26T12:00"))
        assert start < end


@pytest.mark.parametrize(("zone", "expected"), [
    ("Europe/Berlin", date(2026, 11, 26)),
    ("UTC", date(2026, 11, 25)),
    ("America/New_York", date(2026, 11, 25)),
])
def test_default_report_date_is_today_in_the_report_zone(zone, expected):
    assert default_report_date(zone, utc("2026-11-25T23:30")) == expected


@pytest.mark.parametrize(("moment", "expected"), [
    (datetime(2026, 1, 15, tzinfo=ZoneInfo("Europe/Berlin")), "+0100"),
    (datetime(2026, 7, 15, tzinfo=ZoneInfo("Europe/Berlin")), "+0200"),
    (datetime(2026, 1, 15, tzinfo=ZoneInfo("America/New_York")), "-0500"),
    (datetime(2026, 1, 15, tzinfo=ZoneInfo("Asia/Kolkata")), "+0530"),
    (datetime(2026, 1, 15, tzinfo=ZoneInfo("Asia/Kathmandu")), "+0545"),
    (datetime(2026, 1, 15, tzinfo=ZoneInfo("America/St_Johns")), "-0330"),
    (datetime(2026, 1, 15, tzinfo=UTC), "+0000"),
])
def test_utc_offset_hhmm(moment, expected):
    assert utc_offset_hhmm(moment) == expected


def test_utc_offset_of_a_naive_datetime_is_an_error():
    with pytest.raises(ValueError, match="naive"):
        utc_offset_hhmm(datetime(2026, 1, 15))


@pytest.mark.parametrize(("text", "expected"), [
    ("-PT3H", timedelta(hours=-3)),
    ("P7D", timedelta(days=7)),
    ("-PT0.5H", timedelta(minutes=-30)),
    ("P1W2DT3H4M5S", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
    ("p0d", timedelta(0)),
])
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P", "PT", "-P1M", "P1Y", "3H", "-PT", ""])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError, match="not an ISO 8601 duration"):
        parse_duration(text)


def test_parse_time_expression_tells_datetimes_from_durations():
    assert parse_time_expression("-PT3H") == timedelta(hours=-3)
    assert parse_time_expression("2026-11-25T23:00:00Z") == utc("2026-11-25T23:00")
    assert parse_time_expression(" 2026-11-25 ") == datetime(2026, 11, 25)
    with pytest.raises(ValueError, match="neither"):
        parse_time_expression("tomorrow")
