"""Choosing the jobs of a run: due dates, catch-up of missed nights, and shards that never overrun an account."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from reportgen.jobs import Job, Shard, dates_for, select_jobs, shard_jobs
from reportgen.model import ClientKey, ReportSpec
from reportgen.spec import load_spec

SPEC = """\
report: {id}
title: T
schedule: {schedule}
aws: {{profile: {profile}, region: {region}, rate_limit: 20}}
sections:
  - title: S
    widgets:
{widgets}"""


def make_spec(folder: Path, report: str, *, schedule: str = "daily", profile: str = "p", region: str = "us-east-1",
              widgets: int = 1) -> ReportSpec:
    rows = "".join("      - metrics: [[AWS/EC2, CPUUtilization]]\n" for _ in range(widgets))
    path = folder / f"{report}.yaml"
    path.write_text(SPEC.format(id=report, schedule=schedule, profile=profile, region=region, widgets=rows))
    return load_spec(path)


@pytest.mark.parametrize(("text", "expected"), [("1/1", Shard(1, 1)), ("2/4", Shard(2, 4)), ("4/4", Shard(4, 4))])
def test_shard_parses_k_of_n(text: str, expected: Shard) -> None:
    assert Shard.parse(text) == expected


@pytest.mark.parametrize("text", ["0/4", "5/4", "1", "a/b", "1/0", "-1/3", "1/2/3"])
def test_shard_refuses_what_is_not_k_of_n(text: str) -> None:
    with pytest.raises(ValueError, match="--shard"):
        Shard.parse(text)


async def test_due_keeps_the_dates_a_schedule_picks(tmp_path: Path) -> None:
    daily = make_spec(tmp_path, "daily")
    monday = make_spec(tmp_path, "weekly", schedule="{weekly: monday}")
    first = make_spec(tmp_path, "monthly", schedule="{monthly: 1}")

    async def never_ran(spec: ReportSpec, day: date) -> bool | None:
        return None

    days = dates_for(date(2026, 11, 28), date(2026, 12, 2))  # Sat … Wed, across the 1st
    jobs = await select_jobs([daily, monday, first], lambda spec: days, due_only=True, catch_up_days=3,
                             delivered=never_ran)
    assert [(job.spec.id, job.day.isoformat()) for job in jobs] == [
        ("daily", "2026-11-28"), ("daily", "2026-11-29"), ("daily", "2026-11-30"), ("daily", "2026-12-01"),
        ("daily", "2026-12-02"), ("weekly", "2026-11-30"), ("monthly", "2026-12-01")]
    everything = await select_jobs([monday], lambda spec: days, due_only=False, catch_up_days=3, delivered=never_ran)
    assert len(everything) == 5


async def test_catch_up_adds_missed_due_dates_of_reports_that_have_run_before(tmp_path: Path) -> None:
    daily = make_spec(tmp_path, "daily")
    monday = make_spec(tmp_path, "weekly", schedule="{weekly: monday}")
    fresh = make_spec(tmp_path, "fresh")
    delivered = {date(2026, 12, 1)}  # the daily report of the 1st went out; the 30th and 2nd did not
    asked: list[tuple[str, date]] = []

    async def state(spec: ReportSpec, day: date) -> bool | None:
        asked.append((spec.id, day))
        if spec.id == "fresh":
            return None  # never ran: a new report has no missed nights
        return day in delivered

    jobs = await select_jobs([daily, monday, fresh], lambda spec: [date(2026, 12, 3)], due_only=True,
                             catch_up_days=3, delivered=state)
    assert [(job.spec.id, job.day.isoformat(), job.catch_up) for job in jobs] == [
        ("daily", "2026-11-30", True), ("daily", "2026-12-02", True), ("daily", "2026-12-03", False),
        ("weekly", "2026-11-30", True),  # Monday the 30th was missed; Thursday the 3rd is not due
        ("fresh", "2026-12-03", False)]
    # Only due dates within the window are looked up in the archive.
    assert ("weekly", date(2026, 12, 1)) not in asked and ("daily", date(2026, 11, 29)) not in asked
    none = await select_jobs([daily], lambda spec: [date(2026, 12, 3)], due_only=True, catch_up_days=0,
                             delivered=state)
    assert [job.day for job in none] == [date(2026, 12, 3)]


def _jobs(folder: Path, accounts: dict[tuple[str, str], int], reports_per_account: int = 3
          ) -> tuple[list[Job], list[ReportSpec]]:
    jobs, specs = [], []
    for (profile, region), widgets in accounts.items():
        for n in range(reports_per_account):
            spec = make_spec(folder, f"{profile}-{region}-{n}", profile=profile, region=region, widgets=widgets)
            specs.append(spec)
            jobs += [Job(spec, date(2026, 12, day)) for day in (1, 2)]
    return jobs, specs


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 7, 12])
def test_shards_are_disjoint_cover_everything_and_keep_each_account_within_its_rate(tmp_path: Path,
                                                                                     count: int) -> None:
    jobs, specs = _jobs(tmp_path, {("a", "us-east-1"): 4, ("b", "us-east-1"): 1, ("a", "eu-west-1"): 2})
    parts = [shard_jobs(jobs, Shard(k, count), specs) for k in range(1, count + 1)]
    seen = [(job.spec.id, job.day) for part in parts for job in part]
    assert sorted(seen) == sorted((job.spec.id, job.day) for job in jobs)  # every job once, in one shard
    rate_in_force: dict[ClientKey, float] = defaultdict(float)
    for part in parts:
        for key in {ClientKey.of(job.spec.aws) for job in part}:
            rates = {job.spec.aws.rate_limit for job in part if ClientKey.of(job.spec.aws) == key}
            assert len(rates) == 1
            rate_in_force[key] += rates.pop()
    # All shards running at once never ask one account for more than its 20/s.
    assert all(total <= 20 + 1e-9 for total in rate_in_force.values())
    assert len(rate_in_force) == 3
    if count <= 3:  # enough accounts to go round: each account whole in one shard, at its full rate
        assert all(total == 20 for total in rate_in_force.values())


def test_shards_balance_accounts_by_widgets(tmp_path: Path) -> None:
    jobs, specs = _jobs(tmp_path, {("big", "us-east-1"): 10, ("mid", "us-east-1"): 6, ("small", "us-east-1"): 5})
    first, second = (shard_jobs(jobs, Shard(k, 2), specs) for k in (1, 2))
    assert {job.spec.aws.profile for job in first} == {"big"}
    assert {job.spec.aws.profile for job in second} == {"mid", "small"}
    assert shard_jobs(jobs, Shard(1, 1), specs) == jobs


@pytest.mark.parametrize("count", [2, 3, 5, 8])
def test_workers_that_found_different_missed_nights_still_split_the_work_the_same_way(tmp_path: Path,
                                                                                      count: int) -> None:
    """Each worker reads the archive when it starts, so one may see a missed night another no longer sees."""
    jobs, specs = _jobs(tmp_path, {("a", "us-east-1"): 3, ("b", "us-east-1"): 2})
    late = [*jobs, *(Job(spec, date(2026, 11, 30), catch_up=True) for spec in specs)]
    for k in range(1, count + 1):
        early_part = {job.key for job in shard_jobs(late, Shard(k, count), specs)}
        late_part = {job.key for job in shard_jobs(jobs, Shard(k, count), specs)}
        assert late_part == early_part - {(spec.id, date(2026, 11, 30)) for spec in specs}
