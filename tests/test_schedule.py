"""Report schedules on fixed dates: weekdays, short months, cron's day rules, DST days and every error message."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reportgen.model import Schedule
from reportgen.schedule import describe, due_dates, is_due, next_due, parse_schedule, previous_due

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def cron(expression: str) -> Schedule:
    return parse_schedule(expression)


def days(year: int, month: int, *numbers: int) -> list[date]:
    return [date(year, month, number) for number in numbers]


def month_of(year: int, month: int) -> tuple[date, date]:
    following = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, 1), following - timedelta(days=1)


# --- parsing ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("daily", Schedule()),
    ("  daily ", Schedule()),
    ({"monthly": 1}, Schedule(kind="monthly", day=1)),
    ({"monthly": 31}, Schedule(kind="monthly", day=31)),
    ({"monthly": "last"}, Schedule(kind="monthly", last_day=True)),
    ({"monthly": "Last"}, Schedule(kind="monthly", last_day=True)),
    ("30 6 * * 1-5", Schedule(kind="cron", cron="30 6 * * 1-5")),
    ("  30  6 * *\t1-5 ", Schedule(kind="cron", cron="30 6 * * 1-5")),
    ("0 6 * * MON-FRI", Schedule(kind="cron", cron="0 6 * * MON-FRI")),
    ("@daily", Schedule(kind="cron", cron="@daily")),
    ("@Weekly", Schedule(kind="cron", cron="@weekly")),
])
def test_parse_accepts_each_form(value, expected):
    assert parse_schedule(value) == expected


@pytest.mark.parametrize("index", range(7))
@pytest.mark.parametrize("spell", [str.lower, str.upper, str.title, lambda name: name[:3],
                                   lambda name: name[:3].upper()])
def test_weekly_takes_every_weekday_by_name_or_abbreviation_in_any_case(index, spell):
    schedule = parse_schedule({"weekly": spell(WEEKDAYS[index])})
    assert schedule == Schedule(kind="weekly", weekday=index)
    # 2026-06-01 is a Monday: the fortnight from it holds each weekday twice, a week apart.
    first = date(2026, 6, 1) + timedelta(days=index)
    assert due_dates(schedule, date(2026, 6, 1), date(2026, 6, 14)) == [first, first + timedelta(weeks=1)]
    assert first.strftime("%A").lower() == WEEKDAYS[index]


SHAPES = "a schedule is `daily`, {weekly: DAY}, {monthly: N|last} or a cron expression"
FIVE = "is not a five-field cron expression (minute hour day-of-month month day-of-week)"


@pytest.mark.parametrize(("value", "message"), [
    ("dialy", f"{SHAPES}, not `dialy`; did you mean `daily`?"),
    ("Daily", f"{SHAPES}, not `Daily`; did you mean `daily`?"),
    ("weekly", f"{SHAPES}, not `weekly`"),
    ("", f'{SHAPES}, not a string ("")'),
    (42, f"{SHAPES}, not 42"),
    (None, f"{SHAPES}, not empty (null)"),
    (["daily"], f"{SHAPES}, not a list"),
    ({}, f"{SHAPES}, not a mapping"),
    ({"weekly": "monday", "monthly": 1}, f"{SHAPES}, not a mapping"),
    ({"weakly": "monday"}, f"{SHAPES}, not `{{weakly: …}}`; did you mean `weekly`?"),
    ({"Monthly": 1}, f"{SHAPES}, not `{{Monthly: …}}`; did you mean `monthly`?"),
    ({"weekly": "mondya"}, "`weekly` must be a weekday (monday … sunday), not `mondya`; did you mean `monday`?"),
    ({"weekly": "thurs"}, "`weekly` must be a weekday (monday … sunday), not `thurs`; did you mean `thursday`?"),
    ({"weekly": "every"}, "`weekly` must be a weekday (monday … sunday), not `every`"),
    ({"weekly": 1}, "`weekly` must be a weekday (monday … sunday), not 1"),
    ({"weekly": None}, "`weekly` must be a weekday (monday … sunday), not empty (null)"),
    ({"monthly": 0}, "`monthly` must be a day of the month 1-31 or `last`, not 0"),
    ({"monthly": 32}, "`monthly` must be a day of the month 1-31 or `last`, not 32"),
    ({"monthly": -1}, "`monthly` must be a day of the month 1-31 or `last`, not -1"),
    ({"monthly": "lats"}, "`monthly` must be a day of the month 1-31 or `last`, not `lats`; did you mean `last`?"),
    ({"monthly": "15"}, "`monthly` must be a day of the month 1-31 or `last`, not `15`"),
    ({"monthly": True}, "`monthly` must be a day of the month 1-31 or `last`, not a boolean (true)"),
    ({"monthly": 1.5}, "`monthly` must be a day of the month 1-31 or `last`, not a number (1.5)"),
    ("0 6 * *", f"`0 6 * *` {FIVE}: it has 4 fields"),
    ("0 0 6 * * *", f"`0 0 6 * * *` {FIVE}: it has 6 fields (seconds and years are not supported)"),
    ("0 0 6 * * * 2027", f"`0 0 6 * * * 2027` {FIVE}: it has 7 fields (seconds and years are not supported)"),
    ("@reboot", f"`@reboot` {FIVE} or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"),
    ("@dialy", f"`@dialy` {FIVE} or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"
               "; did you mean `@daily`?"),
    ("61 6 * * *", "`61 6 * * *` is not a valid cron expression: the minute field `61` is not valid; "
                   "it takes 0-59, ranges, lists and steps"),
    ("*/0 6 * * *", "`*/0 6 * * *` is not a valid cron expression: the minute field `*/0` is not valid; "
                    "it takes 0-59, ranges, lists and steps"),
    ("0 24 * * *", "`0 24 * * *` is not a valid cron expression: the hour field `24` is not valid; "
                   "it takes 0-23, ranges, lists and steps"),
    ("0 6 0 * *", "`0 6 0 * *` is not a valid cron expression: the day-of-month field `0` is not valid; "
                  "it takes 1-31 or L, ranges, lists and steps"),
    ("0 6 * 13 *", "`0 6 * 13 *` is not a valid cron expression: the month field `13` is not valid; "
                   "it takes 1-12 or jan-dec, ranges, lists and steps"),
    ("0 6 * * mon-fry", "`0 6 * * mon-fry` is not a valid cron expression: the day-of-week field `mon-fry` is not "
                        "valid; it takes 0-7 or sun-sat, ranges, lists and steps"),
    ("R 6 * * *", "`R 6 * * *` is not a usable cron expression: the minute field `R` is random or hashed, so the "
                  "dates it picks would change from run to run"),
    ("0 6 H(1-28) * *", "`0 6 H(1-28) * *` is not a usable cron expression: the day-of-month field `H(1-28)` is "
                        "random or hashed, so the dates it picks would change from run to run"),
    ("0 0 30 2 *", "`0 0 30 2 *` never fires: no calendar date matches its day-of-month, month and day-of-week"),
])
def test_parse_refuses_with_a_message_that_says_what_is_wrong(value, message):
    with pytest.raises(ValueError) as caught:
        parse_schedule(value)
    assert str(caught.value) == message


def test_a_schedule_parse_did_not_make_is_refused_rather_than_never_due():
    broken = Schedule(kind="weekly")  # no weekday
    for use in (lambda: is_due(broken, date(2026, 1, 1)), lambda: describe(broken)):
        with pytest.raises(ValueError, match="not a usable schedule"):
            use()


# --- calendar schedules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "year", "month", "due"), [
    # February in a leap year (2028), in common years (2026, 2100) and 30- and 31-day months.
    (1, 2028, 2, 1), (15, 2028, 2, 15), (29, 2028, 2, 29), (30, 2028, 2, 29), (31, 2028, 2, 29), ("last", 2028, 2, 29),
    (1, 2026, 2, 1), (15, 2026, 2, 15), (29, 2026, 2, 28), (30, 2026, 2, 28), (31, 2026, 2, 28), ("last", 2026, 2, 28),
    (28, 2100, 2, 28), (29, 2100, 2, 28), ("last", 2100, 2, 28),
    (1, 2026, 4, 1), (15, 2026, 4, 15), (30, 2026, 4, 30), (31, 2026, 4, 30), ("last", 2026, 4, 30),
    (31, 2026, 1, 31), ("last", 2026, 1, 31), (30, 2026, 1, 30), (31, 2026, 12, 31),
])
def test_monthly_is_due_once_a_month_and_on_the_last_day_when_the_month_is_too_short(value, year, month, due):
    schedule = parse_schedule({"monthly": value})
    first, last = month_of(year, month)
    assert due_dates(schedule, first, last) == [date(year, month, due)]
    assert is_due(schedule, date(year, month, due))


def test_daily_is_due_every_day_including_the_ends_of_the_range():
    assert due_dates(Schedule(), date(2026, 12, 30), date(2027, 1, 2)) == [
        date(2026, 12, 30), date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 2)]
    assert due_dates(Schedule(), date(2026, 1, 2), date(2026, 1, 1)) == []


# --- cron ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("expression", "year", "month", "due"), [
    # January 2026 starts on a Thursday; its Fridays are the 2nd, 9th, 16th, 23rd and 30th.
    ("30 6 * * 1-5", 2026, 1, [1, 2, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 19, 20, 21, 22, 23, 26, 27, 28, 29, 30]),
    ("0 6 * * sat,sun", 2026, 1, [3, 4, 10, 11, 17, 18, 24, 25, 31]),
    ("0 0 * * 0", 2026, 1, [4, 11, 18, 25]),
    ("0 0 * * 7", 2026, 1, [4, 11, 18, 25]),               # 7 is Sunday too
    ("0 0 */10 * *", 2026, 1, [1, 11, 21, 31]),
    ("0 0 1-31/15 * *", 2026, 1, [1, 16, 31]),
    ("0 0 1,15,28 * *", 2026, 2, [1, 15, 28]),
    ("0 0 L * *", 2028, 2, [29]),
    ("0 12 1 jan,jul *", 2026, 7, [1]),
    ("0 12 1 jan,jul *", 2026, 6, []),
    ("0 0 13 * 5", 2026, 1, [2, 9, 13, 16, 23, 30]),     # day-of-month OR day-of-week: the 13th and the Fridays
    ("0 0 13 * *", 2026, 1, [13]),
    ("0 0 * * 5", 2026, 1, [2, 9, 16, 23, 30]),
    ("0 0 31 * 1", 2026, 2, [2, 9, 16, 23]),              # no 31st in February: the Mondays alone
    ("0 0 * * 5#2", 2026, 1, [9]),                       # croniter's nth weekday
    ("0 0 * 2 *", 2026, 1, []),
    ("0 0 29 2 *", 2028, 2, [29]),
    ("@monthly", 2026, 3, [1]),
    ("0 0 * * *", 2026, 2, list(range(1, 29))),           # fires at the first instant of each day
    ("59 23 * * *", 2026, 2, list(range(1, 29))),         # and at the last minute of each day
    ("*/5 * * * *", 2026, 2, list(range(1, 29))),         # many firings a day are still one date
])
def test_cron_is_due_on_the_dates_it_fires(expression, year, month, due):
    schedule = cron(expression)
    first, last = month_of(year, month)
    assert due_dates(schedule, first, last) == days(year, month, *due)
    for day in (first + timedelta(days=offset) for offset in range((last - first).days + 1)):
        assert is_due(schedule, day) == (day.day in due)


def _wall_time_is(kind: str, wall: datetime, zone: ZoneInfo) -> bool:
    """Whether ``wall`` is skipped (``gap``) or happens twice (``overlap``) in ``zone``."""
    if kind == "gap":
        return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall
    return wall.replace(tzinfo=zone, fold=0).utcoffset() != wall.replace(tzinfo=zone, fold=1).utcoffset()


@pytest.mark.parametrize(("zone", "day", "expression", "kind"), [
    ("Europe/Berlin", date(2026, 3, 29), "30 2 * * *", "gap"),         # 02:00 → 03:00
    ("Europe/Berlin", date(2026, 10, 25), "30 2 * * *", "overlap"),    # 03:00 → 02:00
    ("America/New_York", date(2026, 3, 8), "30 2 * * *", "gap"),       # 02:00 → 03:00
    ("America/New_York", date(2026, 11, 1), "30 1 * * *", "overlap"),  # 02:00 → 01:00
])
def test_cron_on_dst_days_keeps_the_date_once_though_its_time_is_skipped_or_repeated(zone, day, expression, kind):
    minute, hour = (int(part) for part in expression.split()[:2])
    assert _wall_time_is(kind, datetime(day.year, day.month, day.day, hour, minute), ZoneInfo(zone))
    around = [day - timedelta(days=1), day, day + timedelta(days=1)]
    assert due_dates(cron(expression), around[0], around[-1]) == around
    only_that_day = cron(f"{minute} {hour} {day.day} {day.month} *")
    assert due_dates(only_that_day, date(day.year, 1, 1), date(day.year, 12, 31)) == [day]
    assert previous_due(only_that_day, day + timedelta(days=1)) == day
    assert next_due(only_that_day, day - timedelta(days=1)) == day


# --- previous and next ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "day", "previous", "following"), [
    ("daily", date(2027, 1, 1), date(2026, 12, 31), date(2027, 1, 2)),
    ({"weekly": "monday"}, date(2027, 1, 1), date(2026, 12, 28), date(2027, 1, 4)),
    ({"weekly": "monday"}, date(2026, 12, 28), date(2026, 12, 21), date(2027, 1, 4)),  # strictly before/after
    ({"monthly": 1}, date(2026, 1, 1), date(2025, 12, 1), date(2026, 2, 1)),
    ({"monthly": 31}, date(2026, 3, 1), date(2026, 2, 28), date(2026, 3, 31)),
    ({"monthly": 31}, date(2026, 4, 30), date(2026, 3, 31), date(2026, 5, 31)),
    ({"monthly": 30}, date(2028, 3, 1), date(2028, 2, 29), date(2028, 3, 30)),
    ({"monthly": "last"}, date(2024, 3, 1), date(2024, 2, 29), date(2024, 3, 31)),
    ({"monthly": "last"}, date(2026, 12, 31), date(2026, 11, 30), date(2027, 1, 31)),
    ("0 0 1 1 *", date(2026, 6, 1), date(2026, 1, 1), date(2027, 1, 1)),
    ("0 0 1 1 *", date(2027, 1, 1), date(2026, 1, 1), date(2028, 1, 1)),
    ("0 0 * * *", date(2026, 3, 1), date(2026, 2, 28), date(2026, 3, 2)),   # fires at the first instant
    ("59 23 * * 0", date(2027, 1, 4), date(2027, 1, 3), date(2027, 1, 10)),  # fires at the last minute
    ("30 6 * * 1-5", date(2027, 1, 2), date(2027, 1, 1), date(2027, 1, 4)),
    ("0 0 13 * 5", date(2026, 2, 28), date(2026, 2, 27), date(2026, 3, 6)),
])
def test_previous_and_next_due_cross_month_and_year_ends(value, day, previous, following):
    schedule = parse_schedule(value)
    assert previous_due(schedule, day) == previous
    assert next_due(schedule, day) == following


@pytest.mark.parametrize(("value", "search", "day", "within", "expected"), [
    ("0 0 29 2 *", next_due, date(2028, 3, 1), 400, None),
    ("0 0 29 2 *", next_due, date(2028, 3, 1), 1500, date(2032, 2, 29)),
    ("0 0 29 2 *", previous_due, date(2028, 2, 28), 400, None),
    ("0 0 29 2 *", previous_due, date(2028, 2, 28), 1500, date(2024, 2, 29)),
    ({"monthly": 1}, next_due, date(2026, 1, 1), 30, None),
    ({"monthly": 1}, next_due, date(2026, 1, 1), 31, date(2026, 2, 1)),
    ({"monthly": 1}, previous_due, date(2026, 3, 1), 27, None),
    ({"monthly": 1}, previous_due, date(2026, 3, 1), 28, date(2026, 2, 1)),
])
def test_next_and_previous_due_look_at_most_within_days_away(value, search, day, within, expected):
    assert search(parse_schedule(value), day, within_days=within) == expected


@pytest.mark.parametrize("value", [
    "daily", {"weekly": "wed"}, {"monthly": 31}, {"monthly": "last"}, "30 6 * * 1-5", "0 0 13 * 5", "0 9 1-7 * 1",
])
def test_the_functions_agree_with_each_other_over_a_year(value):
    schedule = parse_schedule(value)
    year = [date(2028, 1, 1) + timedelta(days=offset) for offset in range(366)]
    due = due_dates(schedule, year[0], year[-1])
    assert due == [day for day in year if is_due(schedule, day)]
    chained = [due[0]]
    while (following := next_due(schedule, chained[-1])) is not None and following <= year[-1]:
        chained.append(following)
    assert chained == due
    assert [previous_due(schedule, day) for day in due[1:]] == due[:-1]


# --- description and import ----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "text"), [
    ("daily", "daily"),
    ({"weekly": "mon"}, "weekly on Monday"),
    ({"weekly": "SUNDAY"}, "weekly on Sunday"),
    ({"monthly": 1}, "monthly on the 1st"),
    ({"monthly": 2}, "monthly on the 2nd"),
    ({"monthly": 3}, "monthly on the 3rd"),
    ({"monthly": 11}, "monthly on the 11th"),
    ({"monthly": 12}, "monthly on the 12th"),
    ({"monthly": 13}, "monthly on the 13th"),
    ({"monthly": 22}, "monthly on the 22nd"),
    ({"monthly": 28}, "monthly on the 28th"),
    ({"monthly": 31}, "monthly on the 31st (the last day in shorter months)"),
    ({"monthly": "last"}, "monthly on the last day"),
    ("30 6 * * 1-5", "cron `30 6 * * 1-5`"),
    ("@DAILY", "cron `@daily`"),
])
def test_describe(value, text):
    assert describe(parse_schedule(value)) == text


def test_importing_croniter_emits_no_warning():
    # In this process croniter is imported already, so a warning at import time would go unseen here.
    result = subprocess.run([sys.executable, "-W", "error", "-c", "import reportgen.schedule"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
