"""Which reports to make for which dates: schedules, backfills, missed nights, and shards of the work.

A job is one report for one report date. ``--due`` keeps the dates a report's schedule picks; ``--from/--to``
makes a range of dates, each rendered as it would have been on that night; catch-up adds the earlier due
dates of the last few days that the archive holds no delivery for (the machine was down, the job failed).
``--shard K/N`` gives each of N workers a disjoint part, split by AWS account and region so that no account is
asked for more than its rate: an account whose work is spread over several shards has its rate divided.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from reportgen.model import ClientKey, ReportSpec
from reportgen.schedule import is_due


@dataclass(frozen=True)
class Job:
    spec: ReportSpec
    day: date
    catch_up: bool = False  # an earlier due date that was missed

    @property
    def key(self) -> tuple[str, date]:
        """Unique within a run: report ids are unique, and a report's dates are too."""
        return self.spec.id, self.day

    @property
    def name(self) -> str:
        return f"{self.spec.id} {self.day.isoformat()}"


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as people count
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``K/N`` with 1 ≤ K ≤ N; ``ValueError`` otherwise."""
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise ValueError(f"--shard takes K/N, such as 1/4, not {text!r}") from None
        if not 1 <= index <= count:
            raise ValueError(f"--shard {text}: K must be between 1 and N")
        return cls(index, count)


def dates_for(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def select_jobs(
    specs: Sequence[ReportSpec],
    dates: Callable[[ReportSpec], list[date]],
    *,
    due_only: bool,
    catch_up_days: int,
    delivered: Callable[[ReportSpec, date], Awaitable[bool | None]],
) -> list[Job]:
    """The jobs of a run, in spec order and date order.

    ``dates(spec)`` gives each report's dates; ``delivered(spec, day)`` says whether the archive holds a
    complete delivery (True), an incomplete one (False), or nothing of that report ever (None: a new report
    has no missed nights). Catch-up looks back ``catch_up_days`` before each report's earliest date.
    """
    jobs: list[Job] = []
    for spec in specs:
        days = dates(spec)
        own = [day for day in days if not due_only or is_due(spec.schedule, day)]
        if due_only and catch_up_days and days:
            first = min(days)
            earlier = [day for day in dates_for(first - timedelta(days=catch_up_days), first - timedelta(days=1))
                       if is_due(spec.schedule, day)]
            for day in earlier:
                if await delivered(spec, day) is False:
                    jobs.append(Job(spec, day, catch_up=True))
        jobs.extend(Job(spec, day) for day in own)
    return jobs


def shard_jobs(jobs: Sequence[Job], shard: Shard, specs: Sequence[ReportSpec]) -> list[Job]:
    """This shard's part of ``jobs``: the same answer on every worker, decided by the specs alone.

    The specs, not the jobs, decide who does what: jobs depend on what each worker found in the archive when
    it started (catch-up), which may differ from worker to worker; the specs do not. With at least as many
    accounts as shards, each account goes whole to one shard (the busiest accounts first, by widgets, each to
    the least loaded shard). With fewer, each account gets a block of shards of its own, its report dates
    spread over them by a hash, and its rate divided by their number, so together they never exceed it.
    """
    if shard.count == 1:
        return list(jobs)
    weight: dict[ClientKey, int] = defaultdict(int)
    for spec in specs:
        weight[ClientKey.of(spec.aws)] += spec.widget_count
    keys = sorted(weight, key=lambda key: (-weight[key], str(key)))
    blocks: dict[ClientKey, range] = {}  # the shards (0-based) that share each account
    if len(keys) >= shard.count:
        loads = [0] * shard.count
        for key in keys:
            owner = loads.index(min(loads))
            loads[owner] += weight[key]
            blocks[key] = range(owner, owner + 1)
    else:
        base, extra = divmod(shard.count, len(keys))
        start = 0
        for position, key in enumerate(keys):
            size = base + (position < extra)
            blocks[key] = range(start, start + size)
            start += size
    mine: list[Job] = []
    for job in jobs:
        block = blocks[ClientKey.of(job.spec.aws)]
        # crc32, not hash(): the same on every worker, whatever PYTHONHASHSEED is.
        if block[zlib.crc32(job.name.encode()) % len(block)] == shard.index - 1:
            if len(block) > 1:
                job = replace(job, spec=replace(job.spec, aws=replace(job.spec.aws,
                                                                      rate_limit=job.spec.aws.rate_limit / len(block))))
            mine.append(job)
    return mine
