"""The alarms that fired in a report's period: DescribeAlarms to find them, DescribeAlarmHistory for when.

An alarm's history is a list of state changes; each stay in ALARM is an ``AlarmEpisode`` from the change into
ALARM to the change out of it. An episode that overlaps the period is listed with its real start, even when
that is before the period, and without an end when it lasted past the period. An alarm with more than one
episode flapped. Like ``fetch`` and ``metricdata``, every call waits its turn at the account's limiter and is
retried with backoff, every page is followed, and AWS trouble becomes ``AlarmsResult(error=…)``, never an
exception: the alarms never stop a report.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from reportgen import apicall
from reportgen.apicall import GaveUp
from reportgen.errors import WidgetFailure
from reportgen.model import RetryPolicy
from reportgen.ratelimit import StrictRateLimiter

ALARM = "ALARM"


class AlarmSource(Protocol):
    async def describe_alarms(self, **params: Any) -> dict[str, Any]: ...
    async def describe_alarm_history(self, **params: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class AlarmEpisode:
    """One stay in ALARM."""

    alarm: str
    started: datetime          # aware UTC
    ended: datetime | None     # None: still in ALARM at the period's end
    reason: str                # the stateReason when it went to ALARM


@dataclass(frozen=True)
class AlarmSummary:
    alarm: str
    description: str | None
    episodes: tuple[AlarmEpisode, ...]  # newest first

    @property
    def flapping(self) -> bool:
        return len(self.episodes) > 1


@dataclass(frozen=True)
class AlarmsResult:
    alarms: tuple[AlarmSummary, ...]  # newest first (by latest episode start)
    error: str | None = None


async def fetch_alarms(source: AlarmSource | WidgetFailure, limiter: StrictRateLimiter, policy: RetryPolicy, *,
                       start: datetime, end: datetime, prefix: str | None = None, state: str | None = None,
                       names: Sequence[str] = ()) -> AlarmsResult:
    """The alarms (named, or with names starting with ``prefix``; all if neither) that were in ALARM at some
    time in [start, end), each with its episodes, newest first. ``state`` keeps only the alarms in that state
    now. Never raises for AWS trouble: that becomes ``AlarmsResult(error=…)``."""
    if isinstance(source, WidgetFailure):  # no client for this account (e.g. an unknown profile)
        return AlarmsResult((), error=str(source))
    calls = _Calls(limiter, policy)
    filters = {key: value for key, value in (("AlarmNames", list(names)), ("AlarmNamePrefix", prefix),
                                             ("StateValue", state)) if value}
    summaries = []
    try:
        async for alarm in calls.pages(source.describe_alarms, "MetricAlarms", filters):
            name = str(alarm["AlarmName"])
            changes = []  # newest first, back to the last one before the period
            history = calls.pages(source.describe_alarm_history, "AlarmHistoryItems", {
                "AlarmName": name, "HistoryItemType": "StateUpdate", "EndDate": end, "ScanBy": "TimestampDescending"})
            async with contextlib.aclosing(history):
                async for item in history:
                    changes.append(item)
                    if _utc(item["Timestamp"]) < start:  # the state the period began in is known
                        break
            episodes = _episodes(name, changes[::-1], start, end)
            if episodes:
                summaries.append(AlarmSummary(name, alarm.get("AlarmDescription"), episodes))
    except GaveUp as exc:
        return AlarmsResult((), error=str(exc))
    summaries.sort(key=lambda summary: summary.episodes[0].started, reverse=True)
    return AlarmsResult(tuple(summaries))


def _episodes(alarm: str, changes: Sequence[dict[str, Any]], start: datetime,
              end: datetime) -> tuple[AlarmEpisode, ...]:
    """The stays in ALARM that overlap [start, end), newest first, from state changes oldest first."""
    episodes: list[AlarmEpisode] = []
    opened: tuple[datetime, str] | None = None
    for change in changes:
        moment = _utc(change["Timestamp"])
        if moment >= end:  # EndDate includes its own instant
            break
        new = json.loads(change["HistoryData"])["newState"]
        if new["stateValue"] == ALARM and opened is None:
            opened = (moment, str(new.get("stateReason", "")))
        elif new["stateValue"] != ALARM and opened is not None:
            episodes.append(AlarmEpisode(alarm, opened[0], moment, opened[1]))
            opened = None
    if opened is not None:
        episodes.append(AlarmEpisode(alarm, opened[0], None, opened[1]))
    return tuple(episode for episode in reversed(episodes) if episode.ended is None or episode.ended > start)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)




class _Calls:
    """Paced, retried calls, and their pages."""

    def __init__(self, limiter: StrictRateLimiter, policy: RetryPolicy) -> None:
        self.limiter, self.policy = limiter, policy

    async def pages(self, call: Callable[..., Awaitable[dict[str, Any]]], key: str,
                    params: dict[str, Any]) -> AsyncGenerator[dict[str, Any], None]:
        """Each item of ``key`` in every page of ``call``'s answer, following NextToken."""
        token = None
        while True:
            answer = await self.call(call, {**params, **({"NextToken": token} if token else {})})
            for item in answer.get(key, []):
                yield item
            token = answer.get("NextToken")
            if not token:
                return

    async def call(self, call: Callable[..., Awaitable[dict[str, Any]]], params: dict[str, Any]) -> dict[str, Any]:
        operation = "".join(part.title() for part in call.__name__.split("_"))
        return await apicall.call(lambda: call(**params), self.limiter, self.policy, operation=operation)
