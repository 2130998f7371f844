"""The unattended job: render the reports of a run, archive them, mail them, and record it all in the archive.

The archive is the record of delivery. Each report and date gets a manifest beside its PDF, written after the
PDF is archived and again around each mail: ``sending`` with the Message-ID before the message goes out,
``sent`` or ``failed`` after. So a rerun, here or on another machine, knows what still needs doing:

- a scheduled run (``--due``) skips a report and date that was archived and mailed, mails the archived PDF
  again when its mail failed (or the run died mid-send: the same Message-ID, so mail clients see one message),
  and renders the rest;
- an explicit run renders every report again and replaces its archived files, but mails only what has not
  been mailed (``--resend`` mails on purpose, under a new Message-ID).

Nothing is mailed whose manifest could not be written first: without that record a rerun would mail it twice.
One report's failure to archive or mail never stops the others; the run ends with exit status 4.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.message import EmailMessage

from reportgen import __version__
from reportgen.archive import Archive, ArchiveError
from reportgen.errors import ReportgenError
from reportgen.jobs import Job
from reportgen.mail import MailContent, build_message, message_id, message_size
from reportgen.mailer import DeliveryError, Mailer, open_mailer
from reportgen.manifest import FAILED, SENDING, SENT, MailRecord, Manifest
from reportgen.model import MB, SES_MAX_MESSAGE_MB, EmailDelivery, EmailSettings, ReportPlan, ReportSpec, TimeWindow
from reportgen.pipeline import ReportOutcome, RunSummary
from reportgen.plan import make_plan
from reportgen.progress import Progress
from reportgen.retry import backoff
from reportgen.schedule import next_due

# The record that a mail went out is written with a few tries: without it, the next run would mail again.
RECORD_ATTEMPTS = 4
RECORD_RETRY_DELAY = 0.5  # seconds before the first retry, doubling


@dataclass(frozen=True)
class DeliveryOptions:
    keep_daily_days: int
    email: EmailSettings | None     # None: no report of the run may ask for mail (checked before)
    resend: bool = False            # mail again on purpose
    scheduled: bool = False         # --due: a report and date already delivered is not made again
    transport_label: str | None = None  # how the manifest names the transport, when not email.transport


@dataclass
class JobOutcome:
    job: Job
    action: str                     # rendered | redelivered | skipped | not written
    manifest: Manifest | None = None
    problems: list[str] = field(default_factory=list)  # what failed to be archived or mailed, one line each
    mailed: bool = False            # a message went out in this run

    @property
    def failed_widgets(self) -> int:
        return int(self.manifest.widgets.get("failed", 0)) if self.manifest and self.action != "skipped" else 0


@dataclass
class NightlySummary:
    outcomes: list[JobOutcome]
    render: RunSummary | None
    problems: list[str] = field(default_factory=list)  # the archive's upkeep (snapshots, retention) that failed

    @property
    def unwritten(self) -> int:
        return sum(o.action == "not written" for o in self.outcomes)

    @property
    def undelivered(self) -> int:
        return sum(bool(o.problems) for o in self.outcomes) + len(self.problems)

    @property
    def failed_widgets(self) -> int:
        return sum(o.failed_widgets for o in self.outcomes)

    @property
    def mails_sent(self) -> int:
        return sum(o.mailed for o in self.outcomes)

    def describe(self) -> str:
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.action] = counts.get(outcome.action, 0) + 1
        made = ", ".join(f"{n} {action}" for action, n in counts.items()) or "nothing to do"
        line = f"{len(self.outcomes)} report-dates: {made}; {self.mails_sent} mailed"
        if self.undelivered:
            line += f", {self.undelivered} not delivered"
        if self.render is not None:
            line += f"\n{self.render.describe()}"
        return line


async def delivery_state(archive: Archive, spec: ReportSpec, day: date,
                         first_days: dict[str, date | None]) -> bool | None:
    """Whether the archive records ``spec``'s report of ``day`` as delivered; None if the report first ran
    after ``day`` (or never), so that a new report does not make up for nights before it existed.

    ``first_days`` keeps each report's first day across calls: finding it lists all of the report's files.
    """
    try:
        if spec.id not in first_days:
            first_days[spec.id] = await archive.first_day(spec.id)
        first = first_days[spec.id]
        if first is None or day < first:
            return None
        manifest = await archive.read_manifest(spec.id, day)
    except ArchiveError:
        return None  # an archive that cannot be read cannot say a night was missed; the run will say it
    return manifest is not None and _complete(spec, manifest)


async def run_nightly(
    jobs: Sequence[Job],
    options: DeliveryOptions,
    *,
    archive: Archive,
    render: Callable[[list[ReportPlan]], Awaitable[RunSummary]],
    today: Callable[[ReportSpec], date],
    progress: Progress,
    now: datetime,
) -> NightlySummary:
    """Do every job: render (through ``render``), archive, mail, snapshot and prune.

    ``today(spec)`` is the date retention and snapshots count from for each report.
    """
    async with _mailer(jobs, options) as mailer:
        # Read at once: on S3 each is a request, and a night's run may hold many report-dates.
        records = await asyncio.gather(*(archive.read_manifest(job.spec.id, job.day) for job in jobs),
                                       return_exceptions=True)
        previous: dict[tuple[str, date], Manifest | None] = {}
        render_jobs: list[Job] = []
        outcomes: dict[tuple[str, date], JobOutcome] = {}
        for job, record in zip(jobs, records):
            if isinstance(record, ArchiveError):
                # Without its record nobody can tell whether this report was mailed: leave it to a person.
                outcomes[job.key] = JobOutcome(job, "not done", problems=[f"its record cannot be read: {record}"])
                progress.warn(f"{job.name}: not made or mailed, since its record cannot be read ({record}); "
                              "repair or remove that file and run again")
                continue
            if isinstance(record, BaseException):
                raise record
            manifest = previous[job.key] = record
            if options.scheduled and manifest is not None and not options.resend and _complete(job.spec, manifest):
                progress.note(f"{job.name}: already delivered ({_mail_state(manifest)}); nothing to do")
                outcomes[job.key] = JobOutcome(job, "skipped", manifest)
            elif options.scheduled and manifest is not None and manifest.archived and job.spec.deliver.archive:
                outcomes[job.key] = JobOutcome(job, "redelivered", manifest)  # the archived PDF, mailed again
            else:
                render_jobs.append(job)
        redeliver = [o.job for o in outcomes.values() if o.action == "redelivered"]
        archived = await asyncio.gather(*(_archived_pdf(archive, outcomes[job.key], progress) for job in redeliver))
        render_jobs += [job for job, pdf in zip(redeliver, archived) if pdf is None]
        summary = None
        render_seconds = 0.0
        rendered: list[tuple[Job, ReportOutcome]] = []
        if render_jobs:
            started = time.monotonic()
            summary = await render([make_plan(job.spec, job.day, now) for job in render_jobs])
            render_seconds = time.monotonic() - started
            rendered = list(zip(render_jobs, summary.reports))
        deliver = _Deliverer(archive, mailer, options, progress, now)
        for job in render_jobs:
            outcomes[job.key] = JobOutcome(job, "rendered")
        async with asyncio.TaskGroup() as group:
            for job, outcome in rendered:
                group.create_task(deliver.guarded(outcomes[job.key], deliver.rendered(
                    outcomes[job.key], outcome, previous[job.key], render_seconds)))
            for job, pdf in zip(redeliver, archived):
                if pdf is not None:
                    group.create_task(deliver.guarded(outcomes[job.key], deliver.redeliver(outcomes[job.key], pdf)))
        specs = {job.spec.id: job.spec for job in jobs}
        problems: list[str] = []
        for report, spec in specs.items():
            if spec.deliver.archive:
                mine = [o for o in outcomes.values() if o.job.spec.id == report]
                problems += await _snapshots_and_retention(archive, spec, mine, today(spec), options.keep_daily_days,
                                                           progress, now)
    return NightlySummary([outcomes[job.key] for job in jobs], summary, problems)


@contextlib.asynccontextmanager
async def _mailer(jobs: Sequence[Job], options: DeliveryOptions) -> AsyncIterator[Mailer | ReportgenError | None]:
    """The run's mailer; or, if it cannot be had (an SES profile that does not exist), why: the reports are
    still made and archived, and their mails recorded as failed, so that the next run sends them."""
    if options.email is None or not any(job.spec.deliver.email for job in jobs):
        yield None
        return
    stack = contextlib.AsyncExitStack()
    try:
        mailer = await stack.enter_async_context(open_mailer(options.email))
    except ReportgenError as exc:
        yield exc
        return
    async with stack:
        yield mailer


def _complete(spec: ReportSpec, manifest: Manifest) -> bool:
    """Whether the archive records this report and date as made, kept (until retention pruned it) and mailed as
    its spec asks."""
    if not manifest.made or (spec.deliver.archive and not manifest.archived and manifest.pruned is None):
        return False
    return spec.deliver.email is None or manifest.mailed


def _mail_state(manifest: Manifest) -> str:
    if not manifest.emails:
        return "archived" if manifest.archive_url else "made"
    last = manifest.emails[-1]
    return f"mailed {last.time} as {last.message_id}" if last.status == SENT else f"mail {last.status}"


async def _archived_pdf(archive: Archive, outcome: JobOutcome, progress: Progress) -> bytes | None:
    assert outcome.manifest is not None
    try:
        return await archive.read_pdf(outcome.manifest)
    except ArchiveError as exc:
        progress.warn(f"{outcome.job.name}: the archived PDF cannot be used ({exc}); making the report again")
        outcome.action = "rendered"
        return None


class _Deliverer:
    """Archives a report and mails it, recording each step in its manifest."""

    def __init__(self, archive: Archive, mailer: Mailer | ReportgenError | None, options: DeliveryOptions,
                 progress: Progress, now: datetime) -> None:
        self.archive = archive
        self.mailer = mailer
        self.options = options
        self.progress = progress
        self.now = now

    async def guarded(self, result: JobOutcome, work: Awaitable[None]) -> None:
        """Run one report's delivery; whatever goes wrong there is its problem alone, not the others'."""
        try:
            await work
        except Exception as exc:  # a bug in one report's delivery must not lose the rest of the night
            result.problems.append(f"{type(exc).__name__}: {exc}")
            self.progress.warn(f"{result.job.name}: delivery stopped by an unexpected error: "
                               f"{type(exc).__name__}: {exc}")

    async def rendered(self, result: JobOutcome, outcome: ReportOutcome, previous: Manifest | None,
                       render_seconds: float) -> None:
        job = result.job
        plan = outcome.plan
        failures = [{"title": r.request.title, "error": r.error or ""} for r in outcome.results if not r.ok]
        base = Manifest(
            report=job.spec.id, date=job.day.isoformat(), title=job.spec.title,
            period={"start": plan.window.start.isoformat(), "end": plan.window.end.isoformat(),
                    "timezone": plan.window.timezone},
            file=None,
            widgets={"total": len(outcome.results), "failed": len(failures),
                     "retried": sum(r.attempts > 1 for r in outcome.results), "failures": failures},
            throttled=sum(r.throttled for r in outcome.results),
            emails=previous.emails if previous else (),
            generated_at=self.now.astimezone(UTC).isoformat(timespec="seconds"),
            reportgen_version=__version__,
            timings={"render_s": round(render_seconds, 3)},
        )
        if outcome.error is not None:
            result.action = "not written"
            if previous is not None and previous.file is not None:
                return  # keep the record of the good report an earlier run made
            result.manifest = replace(base, error=outcome.error)
            await self._record(result)
            return
        pdf = await asyncio.to_thread(outcome.path.read_bytes)
        manifest = replace(base, file=outcome.path.name, bytes=len(pdf), sha256=hashlib.sha256(pdf).hexdigest())
        result.manifest = manifest
        first_chart = next((r.png for r in outcome.results if r.png is not None), None)
        if job.spec.deliver.archive:
            started = time.monotonic()
            try:
                location = await self.archive.write_pdf(job.spec.id, job.day, pdf)
            except ArchiveError as exc:
                result.problems.append(f"not archived: {exc}")
                self.progress.warn(f"{job.name}: not archived: {exc}")
            else:
                seconds = round(time.monotonic() - started, 3)
                result.manifest = replace(manifest, archive_url=location,
                                          timings={**manifest.timings, "archive_s": seconds})
                self.progress.note(f"{job.name}: archived -> {location}")
        await self._mail(result, pdf, first_chart, plan.window)

    async def redeliver(self, result: JobOutcome, pdf: bytes) -> None:
        assert result.manifest is not None
        period = result.manifest.period
        window = TimeWindow(datetime.fromisoformat(period["start"]), datetime.fromisoformat(period["end"]),
                            period["timezone"])
        await self._mail(result, pdf, None, window)

    async def _record(self, result: JobOutcome, *, attempts: int = 1) -> bool:
        assert result.manifest is not None
        try:
            async for attempt in backoff(attempts=attempts, base_delay=RECORD_RETRY_DELAY, max_delay=5.0,
                                         retryable=lambda exc: isinstance(exc, ArchiveError)):
                with attempt:
                    await self.archive.write_manifest(result.manifest)
        except ArchiveError as exc:
            result.problems.append(f"the manifest could not be written: {exc}")
            self.progress.warn(f"{result.job.name}: the manifest could not be written: {exc}")
            return False
        return True

    async def _mail(self, result: JobOutcome, pdf: bytes, first_chart: bytes | None, window: TimeWindow) -> None:
        job, manifest = result.job, result.manifest
        assert manifest is not None
        delivery = job.spec.deliver.email
        wanted = delivery is not None and (self.options.resend or not manifest.mailed)
        if delivery is not None and not wanted:
            self.progress.note(f"{job.name}: not mailed again ({_mail_state(manifest)}); --resend sends it again")
        if not await self._record(result):
            if wanted:
                result.problems.append("not mailed, so that a rerun cannot mail it twice")
            return
        if delivery is None or not wanted:
            return
        assert self.mailer is not None and self.options.email is not None
        settings = self.options.email
        transport = self.options.transport_label or settings.transport
        last = manifest.emails[-1] if manifest.emails else None
        if last is not None and last.status != SENT and not self.options.resend:
            mid = last.message_id  # the same message, tried again: clients that got it already see one
        else:
            generation = len({record.message_id for record in manifest.emails}) + 1
            mid = message_id(job.spec.id, job.day.isoformat(), generation, settings.sender)
        link = await self.archive.link(job.spec.id, job.day) if manifest.archive_url else None
        failures = tuple((f["title"], f["error"]) for f in manifest.widgets.get("failures", []))
        content = MailContent(
            title=job.spec.title, report=job.spec.id, date=job.day.isoformat(), period=window.label(),
            widgets_total=int(manifest.widgets.get("total", 0)), failures=failures,
            archive_location=manifest.archive_url, archive_link=link, pdf_name=manifest.file or "", pdf=pdf,
            first_chart=first_chart if delivery.inline_chart else None,
        )
        message, attached = self._message(delivery, content, mid)
        record = MailRecord(message_id=mid, transport=transport, to=delivery.to, cc=delivery.cc, bcc=delivery.bcc,
                            status=SENDING, time=_stamp(), attached=attached,
                            resend=self.options.resend and last is not None, pdf_sha256=manifest.sha256)
        started = time.monotonic()
        failure = self._unsendable(attached, link)  # recorded as failed, unsent, so the next run tries again
        receipt = None
        if failure is None:
            result.manifest = manifest.with_mail(record)  # "sending": a rerun from here resends this Message-ID
            if not await self._record(result):
                result.problems.append("not mailed, so that a rerun cannot mail it twice")
                return
            assert self.mailer is not None and not isinstance(self.mailer, ReportgenError)
            try:
                receipt = await self.mailer.send(message, list(delivery.recipients))
            except DeliveryError as exc:
                failure = exc
        if receipt is None:
            assert failure is not None
            record = replace(record, status=FAILED, error=str(failure), reply=failure.reply,
                             attempts=failure.attempts, time=_stamp())
            result.problems.append(f"mail failed: {failure}")
            self.progress.warn(f"{job.name}: mail failed: {failure}; the PDF is kept and the next run sends it")
        else:
            record = replace(record, status=SENT, reply=receipt.reply, attempts=receipt.attempts, time=_stamp(),
                             refused=receipt.refused)
            result.mailed = True
            if receipt.refused:  # the others have it: sending again would give them a second copy
                refused = ", ".join(receipt.refused)
                result.problems.append(f"the mail server refused {refused}")
                self.progress.warn(f"{job.name}: the mail server refused {refused}; the others got the report")
        assert result.manifest is not None
        manifest = result.manifest.with_mail(record)
        result.manifest = replace(manifest, timings={**manifest.timings,
                                                     "mail_s": round(time.monotonic() - started, 3)})
        # First, and tried harder: the shorter the time between the server's yes and this record, the better.
        await self._record(result, attempts=RECORD_ATTEMPTS)
        if result.mailed:
            note = "" if attached else " (PDF linked, too large to attach)"
            self.progress.note(f"{job.name}: mailed to {len(delivery.recipients)} recipient"
                               f"{'s' if len(delivery.recipients) != 1 else ''}{note}, {mid}")

    def _message(self, delivery: EmailDelivery, content: MailContent, mid: str) -> tuple[EmailMessage, bool]:
        """The message, with the PDF attached if it fits, and if the whole message fits the transport."""
        assert self.options.email is not None
        settings = self.options.email
        message, attached = build_message(delivery, settings.sender, content, message_id=mid,
                                          max_attachment_bytes=int(settings.max_attachment_mb * MB),
                                          date=datetime.now(UTC))
        if attached and settings.transport == "ses" and message_size(message) > SES_MAX_MESSAGE_MB * MB:
            # The text, the HTML and an inline chart come on top of the attachment: link the PDF instead.
            message, attached = build_message(delivery, settings.sender, content, message_id=mid,
                                              max_attachment_bytes=0, date=datetime.now(UTC))
        return message, attached

    def _unsendable(self, attached: bool, link: str | None) -> DeliveryError | None:
        """Why this mail must not go out now, though the mail server may be fine."""
        if isinstance(self.mailer, ReportgenError):
            return DeliveryError(f"no mail could be sent: {self.mailer}", retryable=True)
        if not attached and link is None:
            # Sent, it would say "not attached, not archived" and count as delivered: nobody would get the PDF.
            return DeliveryError("the PDF is too large to attach and could not be archived to link to",
                                 retryable=True)
        return None


def _stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


async def _snapshots_and_retention(archive: Archive, spec: ReportSpec, outcomes: list[JobOutcome], today: date,
                                   keep_daily_days: int, progress: Progress, now: datetime) -> list[str]:
    """Snapshot months that are over, and a month whose last due date was just archived; prune old dailies.
    Returns what failed."""
    try:
        months = {(o.job.day.year, o.job.day.month) for o in outcomes
                  if o.manifest is not None and o.manifest.archive_url and _last_in_month(spec, o.job.day)}
        for year, month in sorted(months):
            if await archive.snapshot_month(spec.id, year, month, now=now):
                progress.note(f"{spec.id}: snapshot of {year}-{month:02d} kept")
        pruned = await archive.prune(spec.id, today, keep_daily_days, now=now)
        if pruned:
            progress.note(f"{spec.id}: pruned {len(pruned)} files older than {keep_daily_days} days")
    except ArchiveError as exc:
        progress.warn(f"{spec.id}: snapshots and retention: {exc}")
        return [f"{spec.id}: snapshots and retention: {exc}"]
    return []


def _last_in_month(spec: ReportSpec, day: date) -> bool:
    following = next_due(spec.schedule, day)
    return following is None or (following.year, following.month) != (day.year, day.month)

