"""The ``reportgen`` command: ``run``, ``validate``, ``archive`` and ``local``.

``main(argv) -> int`` is what tests call. Expected failures print one ``error: …`` line on stderr and map
to the documented exit codes; only a bug prints a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from reportgen import __version__
from reportgen.argtypes import positive_number
from reportgen.config import (
    check_archive_url,
    check_specs_against,
    find_site_config,
    load_site_config,
    local_folder,
)
from reportgen.errors import ReportgenError, SpecError, UsageError, WidgetFailure
from reportgen.files import sweep_stale_temp_files, write_atomic
from reportgen.jobs import Job, Shard, dates_for, select_jobs, shard_jobs
from reportgen.model import (
    REPORT_ID,
    ArchiveSettings,
    ClientKey,
    EmailSettings,
    ReportPlan,
    ReportSpec,
    RetryPolicy,
    SiteConfig,
    SmtpSettings,
)
from reportgen.periods import default_report_date
from reportgen.plan import make_plan
from reportgen.progress import Progress
from reportgen.schedule import describe as describe_schedule
from reportgen.schedule import is_due
from reportgen.spec import load_specs

if TYPE_CHECKING:
    from reportgen.archive import Archive
    from reportgen.nightly import NightlySummary
    from reportgen.pipeline import RunSummary

EXIT_OK = 0           # every report complete
EXIT_UNEXPECTED = 1   # a bug, or an environment that cannot run (missing extra, stand-in would not start)
EXIT_BAD_INPUT = 2    # bad spec or arguments: nothing was rendered
EXIT_PARTIAL = 3      # PDFs written, but some widgets are placeholders
EXIT_UNDELIVERED = 4  # PDFs written, but some could not be archived or mailed (the manifest says why)
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_TERMINATED = 143   # SIGTERM, e.g. a scheduler's time limit

DEFAULT_SPECS = Path("report_specs")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["local"]:
        return _local(args[1:])
    parser = _parser()
    options = parser.parse_args(args)
    # botocore logs some failures (an expired SSO login) with a traceback, which reportgen reports itself, and at
    # DEBUG every request's headers, credentials among them: every command that reaches AWS keeps it quiet.
    for name in ("botocore", "aiobotocore"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    with _errors_to_exit_codes() as outcome:
        outcome.code = options.handler(options)
    return outcome.code


class _Outcome:
    code = EXIT_UNEXPECTED


@contextlib.contextmanager
def _errors_to_exit_codes() -> Iterator[_Outcome]:
    outcome = _Outcome()
    try:
        yield outcome
    except (SpecError, UsageError) as exc:
        _error(str(exc))
        outcome.code = EXIT_BAD_INPUT
    except ReportgenError as exc:
        _error(str(exc))
        outcome.code = EXIT_UNEXPECTED
    except KeyboardInterrupt:
        _error("interrupted; no partial report was left behind")
        outcome.code = EXIT_INTERRUPTED


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reportgen", description="Turn CloudWatch graphs into PDF reports.")
    parser.add_argument("--version", action="version", version=f"reportgen {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="render, archive and mail reports", description=(
        "Render every widget of every spec to PNG through CloudWatch's GetMetricWidgetImage, write one PDF per "
        "report and date, archive it and mail it as the specs and reportgen.yaml say. Exit status: 0 all "
        "complete, 2 bad input, 3 some widgets failed, 4 some report not archived or mailed, 1 other errors."))
    run.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                     help=f"spec files or folders of them (default: {DEFAULT_SPECS}/)")
    run.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="where PDFs go (default: out/)")
    run.add_argument("--csv", action="store_true",
                     help="beside each PDF with tables, write their numbers (NAME.csv) and series (NAME.series.csv)")
    when = run.add_mutually_exclusive_group()
    when.add_argument("--date", type=_report_date, metavar="YYYY-MM-DD",
                      help="report date (default: today in each report's time zone)")
    when.add_argument("--from", dest="first", type=_report_date, metavar="YYYY-MM-DD",
                      help="backfill: every date from this one to --to, each as it would have been made that night")
    run.add_argument("--to", dest="last", type=_report_date, metavar="YYYY-MM-DD", help="last date of a backfill")
    run.add_argument("--due", action="store_true",
                     help="only reports whose schedule is due on the date, and missed earlier ones (see --catch-up)")
    run.add_argument("--catch-up", type=int, choices=range(0, 367), default=3, metavar="DAYS",
                     help="with --due: also make due dates of the last DAYS days that were never delivered "
                          "(default: %(default)s)")
    run.add_argument("--config", type=Path, metavar="FILE",
                     help="site settings for mail and archive (default: reportgen.yaml beside the specs)")
    run.add_argument("--archive", type=_archive_url, metavar="DIR|s3://BUCKET/PREFIX",
                     help="the archive, instead of reportgen.yaml's")
    deliver = run.add_mutually_exclusive_group()
    deliver.add_argument("--no-deliver", action="store_true", help="only write PDFs to --out: no archive, no mail")
    deliver.add_argument("--resend", action="store_true", help="mail reports again even when already mailed")
    run.add_argument("--shard", type=_shard, metavar="K/N",
                     help="do the K-th of N disjoint parts of the work (split by account and region)")
    run.add_argument("--local-mail", type=Path, metavar="DIR",
                     help="send mail to a local SMTP sink started for the run, which keeps each message in DIR")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--endpoint-url", type=_endpoint_url, metavar="URL",
                       help="a CloudWatch endpoint, e.g. a running stand-in")
    where.add_argument("--local", action="store_true", help="start the local CloudWatch stand-in for this run")
    where.add_argument("--local-data", type=_metric_store, metavar="FILE",
                       help="like --local, drawing the metrics stored in FILE (see `reportgen local seed`)")
    run.add_argument("--timeout", type=positive_number, default=RetryPolicy.timeout, metavar="SECONDS",
                     help="time limit for one request (default: %(default)s)")
    run.add_argument("--attempts", type=int, choices=range(1, 21), default=RetryPolicy.attempts, metavar="N",
                     help="attempts per widget, retries included (default: %(default)s)")
    run.add_argument("-q", "--quiet", action="store_true", help="print only failures")
    run.set_defaults(handler=_run)

    validate = commands.add_parser("validate", help="check specs without rendering",
                                   description="Check specs; print FILE:LINE: message and exit 2 on the first error.")
    validate.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    validate.add_argument("--config", type=Path, metavar="FILE",
                          help="site settings to check (default: reportgen.yaml beside the specs)")
    validate.set_defaults(handler=_validate)

    archive = commands.add_parser("archive", help="list or verify the archive")
    archive_commands = archive.add_subparsers(title="archive commands", required=True, metavar="COMMAND")
    for name, handler, text in (("list", _archive_list, "what the archive holds, report by report"),
                                ("verify", _archive_verify, "recompute every checksum against the manifests; "
                                                            "exit 1 on any mismatch or missing file")):
        command = archive_commands.add_parser(name, help=text, description=text)
        command.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                             help=f"the spec folder whose reportgen.yaml names the archive (default: {DEFAULT_SPECS}/)")
        command.add_argument("--config", type=Path, metavar="FILE", help="site settings naming the archive")
        command.add_argument("--archive", type=_archive_url, metavar="DIR|s3://BUCKET/PREFIX",
                             help="the archive itself")
        if name == "list":
            command.add_argument("--report", type=_report_id, metavar="ID", help="only this report")
        command.set_defaults(handler=handler)

    imported = commands.add_parser(
        "import-dashboard", help="write a report spec from a CloudWatch dashboard",
        description="Read a dashboard with GetDashboard and write a report spec with its widgets, text and "
                    "variables, to edit and keep. Widgets the image API cannot draw are listed as comments.")
    imported.add_argument("name", metavar="NAME", help="the dashboard's name")
    imported.add_argument("--out", type=Path, metavar="FILE", help="where the spec goes (default: standard output); "
                                                                 "an existing file is not overwritten")
    imported.add_argument("--profile", metavar="PROFILE", help="AWS profile (default: the credential chain's)")
    imported.add_argument("--region", default="us-east-1", metavar="REGION", help="default: %(default)s")
    source = imported.add_mutually_exclusive_group()
    source.add_argument("--endpoint-url", type=_endpoint_url, metavar="URL", help="a CloudWatch endpoint")
    source.add_argument("--local-data", type=_metric_store, metavar="FILE",
                        help="the stand-in, with the dashboards and metrics stored in FILE")
    imported.set_defaults(handler=_import_dashboard)

    commands.add_parser("local", help="the local CloudWatch stand-in and mail sink (reportgen local --help)")
    return parser


def _import_dashboard(options: argparse.Namespace) -> int:
    from reportgen.dashboards import dashboard_spec

    if options.out is not None and options.out.exists():
        raise UsageError(f"{options.out} exists; choose another --out or remove it first")
    body = asyncio.run(_dashboard_body(options))
    text = dashboard_spec(options.name, body, region=options.region, profile=options.profile)
    if options.out is None:
        sys.stdout.write(text)
    else:
        write_atomic(options.out, text.encode())
        print(f"{options.out}: a report spec from the dashboard {options.name}; check it with "
              f"`reportgen validate {options.out}`")
    return EXIT_OK


async def _dashboard_body(options: argparse.Namespace) -> str:
    from reportgen.aws import open_clients
    from reportgen.standin import local_standin

    key = ClientKey(options.profile, options.region)

    async def read(endpoint_url: str | None, local: bool) -> str:
        async with open_clients([key], endpoint_url=endpoint_url, local=local) as clients:
            client = clients[key]
            if isinstance(client, WidgetFailure):
                raise client
            return await client.get_dashboard(options.name)

    try:
        if options.local_data is None:
            return await read(options.endpoint_url, False)
        async with local_standin("--data", str(options.local_data)) as standin:
            return await read(standin.endpoint_url, True)
    except WidgetFailure as failure:
        raise UsageError(f"dashboard {options.name}: {failure}") from None


def _report_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def _report_id(text: str) -> str:
    if REPORT_ID.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a report id (lowercase letters, digits and '-')")
    return text


def _archive_url(text: str) -> str:
    try:
        return check_archive_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--archive {exc}") from None


def _shard(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _endpoint_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
    return text


def _metric_store(text: str) -> Path:
    path = Path(text)
    if not path.is_file():  # the stand-in would make an empty store, and every graph would be synthetic
        raise argparse.ArgumentTypeError(f"no metric store at {text!r}; make one with "
                                         f"`reportgen local seed --data {text}`")
    return path


def _output_folder(out: Path) -> None:
    """Make sure the PDFs can be written before a single request is sent."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot use {out} as the output folder: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write to the output folder {out}")


def _load(paths: Sequence[Path]) -> list[ReportSpec]:
    """The specs, each of their warnings (a widget key sent to CloudWatch unchecked) printed as a line."""
    specs = load_specs(list(paths) or [DEFAULT_SPECS])
    for spec in specs:
        for warning in spec.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return specs


def _validate(options: argparse.Namespace) -> int:
    specs = _load(options.paths)
    config_path = options.config or find_site_config(list(options.paths) or [DEFAULT_SPECS])
    config = load_site_config(config_path, default_archive=Path("out", "archive"))
    check_specs_against(config, specs)
    if config_path is not None:
        print(f"{config_path}: ok (archive {config.archive.url}"
              + (f", mail from {config.email.sender} by {config.email.transport})" if config.email else ")"))
    now = datetime.now(UTC)
    for spec in specs:
        make_plan(spec, default_report_date(spec.timezone, now), now)  # the final JSON has limits too
        print(f"{spec.path}: ok ({spec.id}, {len(spec.sections)} sections, {spec.widget_count} widgets, "
              f"{describe_schedule(spec.schedule)})")
    return EXIT_OK


def _site_config(options: argparse.Namespace) -> SiteConfig:
    """reportgen.yaml (or --config), with --archive overriding its archive; default archive: OUT/archive."""
    path = options.config
    if path is None:
        path = find_site_config(list(options.paths) or [DEFAULT_SPECS])
    elif not path.is_file():
        raise UsageError(f"no site settings at {path}")
    out = getattr(options, "out", Path("out"))
    config = load_site_config(path, default_archive=out / "archive")
    if options.archive:
        config = SiteConfig(config.path, ArchiveSettings(url=local_folder(options.archive),
                                                         region=config.archive.region,
                                                         profile=config.archive.profile,
                                                         keep_daily_days=config.archive.keep_daily_days),
                            config.email)
    return config


def _generated_at(now: datetime) -> datetime:
    """When a PDF says it was generated: now, or ``SOURCE_DATE_EPOCH`` (reproducible builds' convention), so
    that the same spec and images give a byte-identical PDF."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        return now
    try:
        return datetime.fromtimestamp(int(epoch), UTC)
    except (ValueError, OverflowError, OSError):
        raise UsageError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970, not {epoch!r}") from None


def _run(options: argparse.Namespace) -> int:
    specs = _load(options.paths)
    now = datetime.now(UTC)
    _generated_at(now)  # a bad SOURCE_DATE_EPOCH is bad input, found before anything is sent
    if (options.first is None) != (options.last is None):
        raise UsageError("--from and --to go together")
    if options.first is not None and options.first > options.last:
        raise UsageError(f"--from {options.first} is after --to {options.last}")

    def dates(spec: ReportSpec) -> list[date]:
        if options.first is not None:
            return dates_for(options.first, options.last)
        return [options.date or default_report_date(spec.timezone, now)]

    for spec in specs:  # every window is checked before a single request is sent
        for day in dates(spec):
            make_plan(spec, day, now)
    config = None if options.no_deliver else _site_config(options)
    if config is not None and options.local_mail is not None and options.archive is None:
        # A rehearsal: its records must not tell the real nightly run that a report was already mailed.
        config = SiteConfig(config.path, ArchiveSettings(url=local_folder(str(options.out / "archive")),
                                                         keep_daily_days=config.archive.keep_daily_days),
                            config.email)
    if config is not None and options.local_mail is None:
        check_specs_against(config, specs)
        _check_password(config, specs)
    _output_folder(options.out)
    sweep_stale_temp_files(options.out)  # what a run killed outright left half-written
    progress = Progress.for_stream(sys.stderr, quiet=options.quiet)
    policy = RetryPolicy(attempts=options.attempts, timeout=options.timeout)
    try:
        if config is None:
            plans = [make_plan(spec, day, now) for spec in specs for day in dates(spec)
                     if not options.due or is_due(spec.schedule, day)]
            summary = asyncio.run(_render_only(plans, options, policy, progress, now))
        else:
            nightly = asyncio.run(_nightly(specs, dates, config, options, policy, progress, now))
    except asyncio.CancelledError:  # SIGTERM, see _signals
        _error("terminated; no partial report was left behind")
        return EXIT_TERMINATED
    if config is None:
        if not options.quiet or summary.failed or summary.unwritten:
            print(summary.describe())
        if summary.unwritten:
            return EXIT_UNEXPECTED
        return EXIT_PARTIAL if summary.failed else EXIT_OK
    if not options.quiet or nightly.unwritten or nightly.undelivered or nightly.failed_widgets:
        print(nightly.describe())
        print(f"archive: {config.archive.url}" + (f"; mail kept in {options.local_mail}" if options.local_mail else ""))
    if nightly.unwritten:
        return EXIT_UNEXPECTED
    if nightly.undelivered:
        return EXIT_UNDELIVERED
    return EXIT_PARTIAL if nightly.failed_widgets else EXIT_OK


def _check_password(config: SiteConfig, specs: list[ReportSpec]) -> None:
    """A password variable that is not set fails the run before anything is rendered, not at the first mail."""
    smtp = config.email.smtp if config.email is not None and config.email.transport == "smtp" else None
    if smtp is None or smtp.password_env is None or not any(spec.deliver.email for spec in specs):
        return
    if not os.environ.get(smtp.password_env):
        raise UsageError(f"the SMTP password is to come from the environment variable {smtp.password_env} "
                         f"({config.path}), which is not set")


def _signals() -> None:
    # A scheduler's SIGTERM cancels the run like Ctrl-C does, so the stand-in and workers are stopped too.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)


@contextlib.asynccontextmanager
async def _renderer(options: argparse.Namespace, policy: RetryPolicy, progress: Progress, now: datetime
                    ) -> AsyncIterator[Callable[[list[ReportPlan]], Awaitable[RunSummary]]]:
    """What renders plans to PDFs in --out: the pipeline, against AWS, an endpoint or a local stand-in."""
    from reportgen.pipeline import run_reports  # aiobotocore is slow to import; validate does not need it
    from reportgen.standin import local_standin

    now = _generated_at(now)

    if not (options.local or options.local_data):
        async def remote(plans: list[ReportPlan]) -> RunSummary:
            return await run_reports(plans, options.out, generated_at=now, endpoint_url=options.endpoint_url,
                                     policy=policy, progress=progress, csv=options.csv)
        yield remote
        return
    data = ["--data", str(options.local_data)] if options.local_data else []
    async with local_standin(*data) as standin:
        async def local(plans: list[ReportPlan]) -> RunSummary:
            return await standin.supervise(run_reports(plans, options.out, generated_at=now, local=True,
                                                       endpoint_url=standin.endpoint_url, policy=policy,
                                                       progress=progress, csv=options.csv))
        yield local


async def _render_only(plans: list[ReportPlan], options: argparse.Namespace, policy: RetryPolicy,
                       progress: Progress, now: datetime) -> RunSummary:
    _signals()
    async with _renderer(options, policy, progress, now) as render:
        return await render(plans)


async def _nightly(specs: list[ReportSpec], dates: Callable[[ReportSpec], list[date]], config: SiteConfig,
                   options: argparse.Namespace, policy: RetryPolicy, progress: Progress,
                   now: datetime) -> NightlySummary:
    from reportgen.archive import open_archive
    from reportgen.nightly import DeliveryOptions, delivery_state, run_nightly
    from reportgen.standin import local_mail_sink

    _signals()
    async with contextlib.AsyncExitStack() as stack:
        archive: Archive = await stack.enter_async_context(open_archive(config.archive))

        first_days: dict[str, date | None] = {}

        async def delivered(spec: ReportSpec, day: date) -> bool | None:
            return await delivery_state(archive, spec, day, first_days)

        jobs: list[Job] = await select_jobs(specs, dates, due_only=options.due,
                                            catch_up_days=0 if options.first else options.catch_up,
                                            delivered=delivered)
        if options.shard is not None:
            jobs = shard_jobs(jobs, options.shard, specs)
        email = config.email
        if options.local_mail is not None and any(job.spec.deliver.email for job in jobs):
            port = await stack.enter_async_context(local_mail_sink(str(options.local_mail)))
            email = EmailSettings(sender=email.sender if email else "reportgen@localhost", transport="smtp",
                                  smtp=SmtpSettings(host="127.0.0.1", port=port, tls="none"),
                                  max_attachment_mb=email.max_attachment_mb if email else 10.0)
        delivery = DeliveryOptions(keep_daily_days=config.archive.keep_daily_days, email=email,
                                   resend=options.resend, scheduled=options.due,
                                   transport_label="local" if options.local_mail is not None else None)
        render = await stack.enter_async_context(_renderer(options, policy, progress, now))
        return await run_nightly(jobs, delivery, archive=archive, render=render, progress=progress, now=now,
                                 today=lambda spec: options.date or default_report_date(spec.timezone, now))
    raise AssertionError("unreachable")  # pragma: no cover - AsyncExitStack does not swallow exceptions


def _archive_settings(options: argparse.Namespace) -> ArchiveSettings:
    if options.archive is None and options.config is None and find_site_config(list(options.paths) or
                                                                                [DEFAULT_SPECS]) is None:
        raise UsageError("no archive named: pass --archive DIR|s3://BUCKET/PREFIX, --config FILE, or the spec "
                         "folder whose reportgen.yaml names it")
    return _site_config(options).archive


def _archive_list(options: argparse.Namespace) -> int:
    from reportgen.archive import ArchiveEntry, open_archive

    async def listing() -> list[ArchiveEntry]:
        async with open_archive(_archive_settings(options)) as archive:
            return await archive.entries(options.report)

    entries = asyncio.run(listing())
    if not entries:
        print("the archive holds no reports" + (f" of {options.report}" if options.report else ""))
    width = max((len(entry.report) for entry in entries), default=0)
    for entry in entries:
        kind = "snapshot" if entry.snapshot else "daily"
        size = f"{entry.bytes / 1024:,.0f} KB" if entry.location else "pruned" if entry.pruned else "no PDF"
        failed = f", {entry.widgets_failed} widgets failed" if entry.widgets_failed else ""
        print(f"{entry.report:<{width}}  {entry.date}  {kind:<8}  {size:>9}  {entry.mail}{failed}  "
              f"{entry.location or ''}".rstrip())
    return EXIT_OK


def _archive_verify(options: argparse.Namespace) -> int:
    from reportgen.archive import open_archive

    settings = _archive_settings(options)

    async def verify() -> list[str]:
        async with open_archive(settings) as archive:
            return await archive.verify()

    problems = asyncio.run(verify())
    for problem in problems:
        print(f"problem: {problem}")
    print(f"{settings.url}: {len(problems)} problem{'s' if len(problems) != 1 else ''}"
          if problems else f"{settings.url}: every file matches its manifest")
    return EXIT_UNEXPECTED if problems else EXIT_OK


def _local(args: list[str]) -> int:
    # Imported on demand: the pipeline never depends on the stand-in. Its own entry point turns a missing
    # `local` extra into a one-line error naming the install command.
    from reportgen.local.cli import main as local_main

    return local_main(args)
