"""One run: every widget of every report fetched at once, each report's PDF built as soon as it is complete.

Reports that share an AWS account and region share a client and a rate limiter. PDFs are built in worker
processes, since reportlab is CPU-bound and would otherwise stall the event loop that paces requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import gc
import multiprocessing
import os
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from reportgen import worker
from reportgen.alarmreport import AlarmsResult, fetch_alarms
from reportgen.assemble import write_pdf
from reportgen.aws import WidgetImageClient, open_clients
from reportgen.csvout import write_csv
from reportgen.errors import SpecError, WidgetFailure
from reportgen.expand import expand, needs_expanding
from reportgen.fanout import FanOut
from reportgen.fetch import fetch_widget
from reportgen.metricdata import fetch_numbers
from reportgen.model import (
    DEFAULT_POLICY,
    DEFAULT_RATE_LIMIT,
    AlarmsItem,
    AwsTarget,
    ClientKey,
    ReportPlan,
    RetryPolicy,
    Section,
    WidgetRequest,
    WidgetResult,
)
from reportgen.plan import make_plan
from reportgen.progress import Progress
from reportgen.ratelimit import AccountLimits, StrictRateLimiter, collecting_between_departures, max_in_any_window

MAX_POOL_CONNECTIONS = 100  # per client; at 20 requests/s that allows 5 s of latency before queueing


@dataclass(frozen=True)
class ReportOutcome:
    plan: ReportPlan
    results: tuple[WidgetResult, ...]
    path: Path
    error: str | None = None  # why the PDF could not be written; a previous file at `path` is untouched
    problems: tuple[str, ...] = ()  # content that could not be had: a dashboard, the values of a repeat

    @property
    def failed(self) -> int:
        """Widgets that could not be drawn, and sections whose content could not be had."""
        return sum(not r.ok for r in self.results) + len(self.problems)


@dataclass
class RunSummary:
    reports: list[ReportOutcome] = field(default_factory=list)
    seconds: float = 0.0
    requests: int = 0            # attempts sent, retries included
    max_in_any_second: int = 0   # the most requests of one account that left in any one second
    paced_rate: float = 0.0      # requests per second from a limiter's second turn to its last (the busiest)
    rate_limit: float = 0.0      # the tightest limit in force

    @property
    def widgets(self) -> int:
        return sum(len(o.results) for o in self.reports)

    @property
    def failed(self) -> int:
        return sum(o.failed for o in self.reports)

    @property
    def unwritten(self) -> int:
        return sum(o.error is not None for o in self.reports)

    @property
    def throttled(self) -> int:
        return sum(r.throttled for o in self.reports for r in o.results)

    def describe(self) -> str:
        unwritten = f" ({self.unwritten} not written)" if self.unwritten else ""
        return (f"{len(self.reports)} reports{unwritten}, {self.widgets} widgets, {self.failed} failed, "
                f"{self.throttled} throttled; {self.requests} requests in {self.seconds:.1f} s; "
                f"busiest account {self.paced_rate:.1f}/s, at most {self.max_in_any_second} in any second "
                f"(limit {self.rate_limit:g}/s)")


async def run_reports(
    plans: Sequence[ReportPlan],
    out_dir: Path,
    *,
    generated_at: datetime,
    endpoint_url: str | None = None,
    local: bool = False,
    policy: RetryPolicy = DEFAULT_POLICY,
    progress: Progress | None = None,
    executor: Executor | None = None,
    csv: bool = False,
) -> RunSummary:
    """Fetch, assemble and write every report; a widget's failure is recorded, never raised.

    A widget with a table also gets its numbers (GetMetricData, through a limiter of its own per account, since
    that API has a quota of its own); ``csv`` writes them beside each PDF.

    A report none of whose widgets could be fetched is not written (a page of error boxes is no report,
    and it must not replace a good one from an earlier run); it counts as unwritten.
    """
    progress = progress or Progress(quiet=True)
    loop = asyncio.get_running_loop()
    started = loop.time()
    accounts = _Accounts(plans)
    own_pool: Executor | None = None
    summary = RunSummary()
    finished = False
    try:
        async with _open_for_the_run(accounts, endpoint_url=endpoint_url, local=local, timeout=policy.timeout
                                     ) as clients:
            accounts.clients = clients
            # Started now, not before the clients: starting workers takes the CPU the clients need.
            pool = executor if executor is not None else (own_pool := pdf_executor(len(plans)))

            async def one_report(plan: ReportPlan) -> ReportOutcome:
                problems: tuple[str, ...] = ()
                if needs_expanding(plan.spec):  # dashboards and repeats: what the report holds is decided now
                    expanded = await expand(plan.spec, lambda aws: (clients[ClientKey.of(aws)], accounts.limits(aws)),
                                            policy)
                    problems = expanded.problems
                    for line in expanded.notes:
                        progress.note(line)
                    for line in problems:
                        progress.warn(line)
                    try:
                        plan = make_plan(expanded.spec, plan.report_date, generated_at)
                    except SpecError as exc:
                        error = f"the report cannot be made from what its dashboards and repeats gave: {exc}"
                        progress.warn(f"{plan.spec.id}: {error}")
                        return ReportOutcome(plan, (), out_dir / plan.output_name, error=error, problems=problems)
                progress.report_started(plan)
                results, alarms = await asyncio.gather(
                    _fetch_report(plan, clients, accounts, fetchers, policy, progress, now=generated_at),
                    _fetch_alarms(plan, clients, accounts, policy))
                for (section, _), found in alarms.items():
                    if found.error is not None:
                        line = f"{plan.spec.id}: section {plan.spec.sections[section].title!r}: alarms: {found.error}"
                        problems += (line,)
                        progress.warn(line)
                path = out_dir / plan.output_name
                if not any(result.ok for result in results):
                    first = results[0].error if results else "; ".join(problems) or "the report has no widgets"
                    error = f"no widget could be fetched, so {path} was not written; first error: {first}"
                    progress.warn(f"{plan.spec.id}: {error}")
                    return ReportOutcome(plan, results, path, error=error, problems=problems)
                try:
                    warnings = await loop.run_in_executor(pool, functools.partial(
                        write_pdf, plan, results, path, generated_at=generated_at, alarms=alarms))
                    if csv and plan.spec.has_tables:
                        written = await asyncio.to_thread(write_csv, plan, results, path)
                        progress.note(f"{plan.spec.id}: numbers in {', '.join(str(p) for p in written)}")
                except Exception as exc:  # one report that cannot be written must not lose the others
                    progress.warn(f"{plan.spec.id}: could not write {path}: {exc}")
                    return ReportOutcome(plan, results, path, error=str(exc) or type(exc).__name__, problems=problems)
                for warning in warnings:
                    progress.warn(f"{plan.spec.id}: {warning}")
                progress.report_written(plan, str(path))
                return ReportOutcome(plan, _let_go_of_images(results), path, problems=problems)

            async with asyncio.TaskGroup() as workers:
                fetchers: FanOut[WidgetResult] = FanOut(workers, per_account=MAX_POOL_CONNECTIONS)
                async with asyncio.TaskGroup() as group:
                    tasks = [group.create_task(one_report(plan)) for plan in plans]
            _unreachable(clients, [task.result() for task in tasks], progress)
        finished = True
    finally:
        if own_pool is not None:
            # A finished run's workers are idle: they exit while the run goes on to mail and archive (waiting
            # for two interpreters to tear down cost a run 0.16 s). A run cut short waits for them, so that no
            # PDF is renamed into place after it has returned.
            own_pool.shutdown(wait=not finished, cancel_futures=True)
        progress.close()
    summary.reports = [task.result() for task in tasks]
    summary.seconds = loop.time() - started
    images = accounts.image_limiters()
    summary.requests = sum(len(limiter.granted) for limiter in images)
    summary.max_in_any_second = max((max_in_any_window(limiter.left) for limiter in images), default=0)
    summary.rate_limit = min((limiter.rate for limiter in images), default=0.0)
    summary.paced_rate = max((_paced_rate(limiter.granted) for limiter in images), default=0.0)
    return summary


@contextlib.asynccontextmanager
async def _open_for_the_run(accounts: _Accounts, *, endpoint_url: str | None, local: bool, timeout: float
                            ) -> AsyncIterator[Mapping[ClientKey, WidgetImageClient | WidgetFailure]]:
    """The run's clients, and the garbage collector kept to the moments requests leave (``ratelimit``) and off
    what the run holds throughout: its plans from the start (a full collection over a few thousand widgets'
    plans took 80 ms, as the first clients were being made), botocore's models and the clients once made."""
    with collecting_between_departures():
        async with open_clients(accounts.keys, endpoint_url=endpoint_url, local=local,
                                pool_sizes=accounts.pool_sizes, timeout=timeout) as clients:
            gc.freeze()
            yield clients


def _unreachable(clients: Mapping[ClientKey, WidgetImageClient | WidgetFailure], outcomes: Sequence[ReportOutcome],
                 progress: Progress) -> None:
    """One line per profile, role and region that could not be used, with the widgets it cost, rather than
    the same error once per widget."""
    for key, client in clients.items():
        if not isinstance(client, WidgetFailure):
            continue
        lost = [(outcome.plan.spec.id, result) for outcome in outcomes for result in outcome.results
                if result.attempts == 0 and ClientKey.of(result.request.aws or outcome.plan.spec.aws) == key]
        if lost:
            reports = sorted({report for report, _ in lost})
            progress.warn(f"{client}; {len(lost)} widget{'s' if len(lost) != 1 else ''} of "
                          f"{', '.join(reports)} not drawn")


class _Accounts:
    """The clients a run needs (one per profile, role and region its specs name) and the limiters of the
    accounts behind them: one set per account and region, shared by every client that reaches it."""

    def __init__(self, plans: Sequence[ReportPlan]) -> None:
        targets: dict[ClientKey, AwsTarget] = {}
        widgets: Counter[ClientKey] = Counter()
        for plan in plans:
            spec = plan.spec
            for target in (spec.aws, *(s.aws for s in spec.sections), *(w.aws for s in spec.sections
                                                                         for w in s.widgets)):
                if target is not None:
                    # The first report naming an account sets its rate: within a run one account has one budget.
                    targets.setdefault(ClientKey.of(target), dataclasses.replace(target,
                                                                                 rate_limit=spec.aws.rate_limit))
            for request in plan.widgets:
                widgets[ClientKey.of(request.aws or spec.aws)] += 1
        self.keys = list(targets)
        self._targets = targets
        # Enough connections for every request a client may have in flight, so none waits for one after its
        # turn at the limiter (that would bunch requests up on the wire).
        self.pool_sizes = {key: max(10, min(widgets[key], MAX_POOL_CONNECTIONS)) for key in targets}
        self._limits: dict[tuple[str | None, ...], AccountLimits] = {}
        self.clients: Mapping[ClientKey, WidgetImageClient | WidgetFailure] = {}

    def limits(self, target: AwsTarget) -> AccountLimits:
        """The limiters of the account ``target`` reaches, as STS named it when the client was made: two
        profiles (or roles) of one account share one budget. An account STS could not name is known by the
        profile and role that reach it."""
        key = ClientKey.of(target)
        client = self.clients.get(key)
        known = client.account if isinstance(client, WidgetImageClient) else None
        account = ("account", known, key.region) if known else ("profile", key.profile, key.role_arn, key.region)
        if account not in self._limits:
            rate = self._targets.get(key, target).rate_limit
            self._limits[account] = AccountLimits(rate / DEFAULT_RATE_LIMIT)
        return self._limits[account]

    def image_limiters(self) -> list[StrictRateLimiter]:
        return [limits["GetMetricWidgetImage"] for limits in self._limits.values()]


async def _fetch_report(plan: ReportPlan, clients: Mapping[ClientKey, WidgetImageClient | WidgetFailure],
                        accounts: _Accounts, fetchers: FanOut[WidgetResult], policy: RetryPolicy, progress: Progress, *,
                        now: datetime) -> tuple[WidgetResult, ...]:
    async def one_widget(request: WidgetRequest, aws: AwsTarget, limits: AccountLimits) -> WidgetResult:
        client = clients[ClientKey.of(aws)]
        if not plan.spec.sections[request.section].widgets[request.index].table:
            result = await fetch_widget(request, client, limits["GetMetricWidgetImage"], policy)
        else:  # the image and its numbers at once; each waits its turn at its own API's limiter
            result, numbers = await asyncio.gather(
                fetch_widget(request, client, limits["GetMetricWidgetImage"], policy),
                fetch_numbers(request.metric_widget, client, limits["GetMetricData"], policy, now=now,
                              previous=plan.spec.summary is not None, region=aws.region))
            result = dataclasses.replace(result, numbers=numbers)
            if numbers.error is not None:
                progress.warn(f"{plan.spec.id}: {request.title}: no numbers for its table: {numbers.error}")
        progress.widget_done(plan, result)
        return result

    fetched = []
    for request in plan.widgets:
        aws = request.aws or plan.spec.aws
        limits = accounts.limits(aws)
        fetched.append(fetchers.submit(limits, functools.partial(one_widget, request, aws, limits)))
    return tuple(await asyncio.gather(*fetched))


async def _fetch_alarms(plan: ReportPlan, clients: Mapping[ClientKey, WidgetImageClient | WidgetFailure],
                        accounts: _Accounts, policy: RetryPolicy) -> dict[tuple[int, int], AlarmsResult]:
    """The alarms of every `alarms:` item of the report, over its period, by (section, item)."""
    async def one(section: Section, item: AlarmsItem) -> AlarmsResult:
        aws = section.aws or plan.spec.aws
        # History is the stricter quota (3/s against DescribeAlarms' 9/s): one limiter at it paces both.
        return await fetch_alarms(clients[ClientKey.of(aws)], accounts.limits(aws)["DescribeAlarmHistory"], policy,
                                  start=plan.window.start, end=plan.window.end, prefix=item.prefix,
                                  state=item.state, names=item.names)

    places = [(number, place, section, item) for number, section in enumerate(plan.spec.sections)
              for place, item in enumerate(section.alarms)]
    found = await asyncio.gather(*(one(section, item) for _, _, section, item in places))
    return {(number, place): result for (number, place, _, _), result in zip(places, found)}


def _let_go_of_images(results: Sequence[WidgetResult]) -> tuple[WidgetResult, ...]:
    """``results`` once their PDF is written: without their PNGs, so a run's memory does not grow with its
    widgets, but for the first (a mail may show it inline)."""
    first = next((i for i, result in enumerate(results) if result.png is not None), None)
    return tuple(result if i == first or result.png is None else dataclasses.replace(result, png=None)
                 for i, result in enumerate(results))


def _paced_rate(granted: Sequence[float]) -> float:
    # From the second turn on: the bucket may give the second turn early (its capacity is over one), which in
    # a short run would show as a rate over the limit.
    paced = granted[1:]
    if len(paced) < 2 or paced[-1] == paced[0]:
        return 0.0
    return (len(paced) - 1) / (paced[-1] - paced[0])


def pdf_executor(reports: int) -> ProcessPoolExecutor:
    """Worker processes for PDF building. 'spawn', because forking a process that runs an event loop and
    a connection pool is unsafe."""
    workers = max(1, min(reports, os.cpu_count() or 1, 4))
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=worker.start)
    # Start every worker now, while the clients are made: started on demand, they would start when reports
    # finish, which in a run of several accounts is all at once, at the end.
    for _ in range(workers):
        pool.submit(worker.warm_up)
    return pool
