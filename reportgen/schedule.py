"""Report schedules: which local calendar dates, in the report's time zone, a report is due on.

A schedule picks dates, not instants: ``daily``, ``{weekly: monday}``, ``{monthly: 1}``, ``{monthly: last}`` or
a five-field cron expression. ``{monthly: 31}`` (or 29, 30) is due on the last day of a month too short for
it, as Grafana's report scheduler does, so a month is never skipped. A cron expression makes a date due when
it fires at least once during that date on the zone's wall clock; croniter evaluates it, with cron's rule that
a restricted day-of-month and a restricted day-of-week are alternatives (``0 0 13 * 5``: the 13th, and every
Friday).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from croniter import CroniterBadDateError, croniter

from reportgen.model import Schedule
from reportgen.schema import describe as describe_value
from reportgen.schema import did_you_mean, is_integer

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")  # date.weekday() order

_SHAPES = "a schedule is `daily`, {weekly: DAY}, {monthly: N|last} or a cron expression"

# Each cron field, with what it takes for messages.
_CRON_FIELDS = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31 or L"),
    ("month", "1-12 or jan-dec"),
    ("day-of-week", "0-7 or sun-sat"),
)
_FIVE_FIELDS = " ".join(name for name, _ in _CRON_FIELDS)
# The @-names that stand for a five-field expression; @reboot names no date and is left out on purpose.
_CRON_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
# croniter's random (R) and hashed (H) values: R changes on every evaluation, so one date could be due in one
# run and not in the next; H needs an id croniter is never given here.
_RANDOM_OR_HASHED = re.compile(r"[hr](\(\d+-\d+\))?(/\d+)?", re.IGNORECASE)
# Where the check that an expression fires at all starts looking; croniter looks 50 years ahead.
_FIRES_FROM = date(2000, 1, 1)


def parse_schedule(value: object) -> Schedule:
    """Turn a spec's ``schedule:`` value (already parsed from YAML) into a ``Schedule``.

    Accepts ``"daily"``; ``{"weekly": DAY}`` with a weekday name or its three-letter abbreviation, in any
    case; ``{"monthly": N}`` with N in 1..31, or ``{"monthly": "last"}``; a five-field cron expression or one
    of cron's @-names (``@daily``). Raise ``ValueError`` with a one-line message for anything else, including
    cron expressions with seconds or years, random or hashed values, or no date they could ever fire on.
    """
    if isinstance(value, str):
        text = " ".join(value.split())
        if text == "daily":
            return Schedule()
        if text.startswith("@") or len(text.split(" ")) > 1:
            return Schedule(kind="cron", cron=_cron(text))
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "weekly":
            return Schedule(kind="weekly", weekday=_weekday(argument))
        if key == "monthly":
            return _monthly(argument)
    raise ValueError(f"{_SHAPES}, not {_shown(value)}" + _shape_hint(value))


def is_due(schedule: Schedule, day: date) -> bool:
    """Whether the report is due on the local date ``day``."""
    return next(_walk(schedule, day, day, 1), None) is not None


def due_dates(schedule: Schedule, first: date, last: date) -> list[date]:
    """The due dates from ``first`` to ``last``, both included, in ascending order (empty if ``last < first``)."""
    return list(_walk(schedule, first, last, 1))


def previous_due(schedule: Schedule, before: date, *, within_days: int = 400) -> date | None:
    """The latest due date earlier than ``before``, looking back at most ``within_days`` days; else None."""
    return next(_walk(schedule, before - timedelta(days=1), before - timedelta(days=within_days), -1), None)


def next_due(schedule: Schedule, after: date, *, within_days: int = 400) -> date | None:
    """The earliest due date later than ``after``, looking ahead at most ``within_days`` days; else None."""
    return next(_walk(schedule, after + timedelta(days=1), after + timedelta(days=within_days), 1), None)


def describe(schedule: Schedule) -> str:
    """The schedule in words, e.g. ``weekly on Monday``, ``monthly on the 1st``, ``cron `30 6 * * 1-5```."""
    match schedule:
        case Schedule(kind="daily"):
            return "daily"
        case Schedule(kind="weekly", weekday=int(weekday)):
            return f"weekly on {_WEEKDAYS[weekday].title()}"
        case Schedule(kind="monthly", last_day=True):
            return "monthly on the last day"
        case Schedule(kind="monthly", day=int(day)):
            shorter = " (the last day in shorter months)" if day > 28 else ""
            return f"monthly on the {_ordinal(day)}{shorter}"
        case Schedule(kind="cron", cron=str(cron)):
            return f"cron `{cron}`"
    raise _unusable(schedule)


# --- parsing ---------------------------------------------------------------------------------------------


def _shown(value: object) -> str:
    """A bad value as a message quotes it: short plain values as written, anything else described."""
    if is_integer(value):
        return str(value)
    if isinstance(value, str) and value.strip():
        return f"`{value.strip()}`"
    if isinstance(value, dict) and len(value) == 1:
        return f"`{{{next(iter(value))}: …}}`"
    return describe_value(value)


def _shape_hint(value: object) -> str:
    if isinstance(value, dict) and len(value) == 1:
        return did_you_mean(next(iter(value)), ("weekly", "monthly"))
    return did_you_mean(value, ("daily",)) if isinstance(value, str) else ""


def _weekday(value: object) -> int:
    if isinstance(value, str):
        name = value.strip().lower()
        for index, weekday in enumerate(_WEEKDAYS):
            if name in (weekday, weekday[:3]):
                return index
    raise ValueError(f"`weekly` must be a weekday (monday … sunday), not {_shown(value)}"
                     + did_you_mean(value, _WEEKDAYS))


def _monthly(value: object) -> Schedule:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 31:  # YAML's true is an int too
        return Schedule(kind="monthly", day=value)
    if isinstance(value, str) and value.strip().lower() == "last":
        return Schedule(kind="monthly", last_day=True)
    raise ValueError(f"`monthly` must be a day of the month 1-31 or `last`, not {_shown(value)}"
                     + did_you_mean(value, ("last",)))


def _cron(text: str) -> str:
    """``text`` checked as a cron expression that fires on some date; @-names come back in lower case."""
    if text.startswith("@"):
        if text.lower() not in _CRON_ALIASES:
            raise ValueError(f"`{text}` is not a five-field cron expression ({_FIVE_FIELDS}) or one of "
                             + ", ".join(_CRON_ALIASES) + did_you_mean(text, _CRON_ALIASES))
        return text.lower()
    fields = text.split(" ")
    if len(fields) != len(_CRON_FIELDS):
        extra = " (seconds and years are not supported)" if len(fields) > len(_CRON_FIELDS) else ""
        raise ValueError(f"`{text}` is not a five-field cron expression ({_FIVE_FIELDS}): "
                         f"it has {len(fields)} fields{extra}")
    for (name, _), field in zip(_CRON_FIELDS, fields):
        if _RANDOM_OR_HASHED.fullmatch(field):
            raise ValueError(f"`{text}` is not a usable cron expression: the {name} field `{field}` is random or "
                             f"hashed, so the dates it picks would change from run to run")
    if not croniter.is_valid(text):
        raise ValueError(f"`{text}` is not a valid cron expression" + _bad_field(fields))
    if next(_cron_walk(text, _FIRES_FROM, date.max, 1), None) is None:
        raise ValueError(f"`{text}` never fires: no calendar date matches its day-of-month, month and day-of-week")
    return text


def _bad_field(fields: list[str]) -> str:
    """``: the <name> field `<x>` is not valid; …`` for the first field croniter refuses on its own, or ``""``."""
    for index, ((name, takes), field) in enumerate(zip(_CRON_FIELDS, fields)):
        alone = ["*"] * len(_CRON_FIELDS)
        alone[index] = field
        if not croniter.is_valid(" ".join(alone)):
            return f": the {name} field `{field}` is not valid; it takes {takes}, ranges, lists and steps"
    return ""


# --- evaluation ------------------------------------------------------------------------------------------


def _unusable(schedule: Schedule) -> ValueError:
    return ValueError(f"not a usable schedule: {schedule!r} (build schedules with parse_schedule)")


def _walk(schedule: Schedule, start: date, stop: date, step: int) -> Iterator[date]:
    """The due dates from ``start`` to ``stop`` (both included), walking forward (step 1) or back (step -1).

    Nothing is yielded when ``stop`` lies on the other side of ``start``.
    """
    if schedule.kind == "cron" and schedule.cron is not None:
        yield from _cron_walk(schedule.cron, start, stop, step)
        return
    day = start
    for _ in range((stop - start).days * step + 1):
        if _calendar_due(schedule, day):
            yield day
        day += timedelta(days=step)


def _calendar_due(schedule: Schedule, day: date) -> bool:
    match schedule:
        case Schedule(kind="daily"):
            return True
        case Schedule(kind="weekly", weekday=int(weekday)):
            return day.weekday() == weekday
        case Schedule(kind="monthly", last_day=True):
            return day.day == calendar.monthrange(day.year, day.month)[1]
        case Schedule(kind="monthly", day=int(wanted)):
            return day.day == min(wanted, calendar.monthrange(day.year, day.month)[1])
    raise _unusable(schedule)


def _cron_walk(cron: str, start: date, stop: date, step: int) -> Iterator[date]:
    # croniter is given naive datetimes: wall-clock time in no zone, so it never meets an hour that DST skips
    # or repeats. `30 2 * * *` therefore makes the spring-forward day due although 02:30 does not exist there
    # (evaluated in the zone, croniter would move or drop it), and a repeated 01:30 is still one date: the
    # schedule picks the date whose report is due, not the instant a job runs.
    forward = step > 0

    def outside(day: date) -> datetime:
        # croniter moves strictly past its current time: stand just outside ``day`` on the side we come from,
        # so a firing at 00:00 (forward) or at 23:59 (back) still counts for it.
        midnight = datetime.combine(day, time())
        return midnight - timedelta(seconds=1) if forward else midnight + timedelta(days=1)

    fires = croniter(cron, outside(start))
    while True:
        try:
            fire = fires.get_next(datetime) if forward else fires.get_prev(datetime)
        except CroniterBadDateError:  # no firing within croniter's horizon of 50 years
            return
        day = fire.date()
        if (day - stop).days * step > 0:
            return
        yield day
        # One firing makes the date due: skip the rest of it rather than step through `* * * * *` minute by minute.
        fires.set_current(outside(day + timedelta(days=step)), force=True)


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"
