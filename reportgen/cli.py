"""The ``reportgen`` command: ``run``, ``validate`` and ``local``.

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
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from reportgen import __version__
from reportgen.argtypes import positive_number
from reportgen.errors import ReportgenError, SpecError, UsageError
from reportgen.model import ReportPlan, ReportSpec, RetryPolicy
from reportgen.periods import default_report_date
from reportgen.plan import make_plan
from reportgen.progress import Progress
from reportgen.spec import load_specs

if TYPE_CHECKING:
    from reportgen.pipeline import RunSummary

EXIT_OK = 0           # every report complete
EXIT_UNEXPECTED = 1   # a bug, or an environment that cannot run (missing extra, stand-in would not start)
EXIT_BAD_INPUT = 2    # bad spec or arguments: nothing was rendered
EXIT_PARTIAL = 3      # PDFs written, but some widgets are placeholders
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_TERMINATED = 143   # SIGTERM, e.g. a scheduler's time limit

DEFAULT_SPECS = Path("report_specs")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["local"]:
        return _local(args[1:])
    parser = _parser()
    options = parser.parse_args(args)
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

    run = commands.add_parser("run", help="render reports to PDF", description=(
        "Render every widget of every spec to PNG through CloudWatch's GetMetricWidgetImage and write one "
        "PDF per report. Exit status: 0 all complete, 2 bad input, 3 some widgets failed, 1 other errors."))
    run.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                     help=f"spec files or folders of them (default: {DEFAULT_SPECS}/)")
    run.add_argument("--out", type=Path, default=Path("out"), metavar="DIR", help="where PDFs go (default: out/)")
    run.add_argument("--date", type=_report_date, metavar="YYYY-MM-DD",
                     help="report date (default: today in each report's time zone)")
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
    validate.set_defaults(handler=_validate)

    commands.add_parser("local", help="the local CloudWatch stand-in (reportgen local serve --help)")
    return parser


def _report_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


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
    return load_specs(list(paths) or [DEFAULT_SPECS])


def _validate(options: argparse.Namespace) -> int:
    specs = _load(options.paths)
    now = datetime.now(UTC)
    for spec in specs:
        make_plan(spec, default_report_date(spec.timezone, now), now)  # the final JSON has limits too
        print(f"{spec.path}: ok ({spec.id}, {len(spec.sections)} sections, {spec.widget_count} widgets)")
    return EXIT_OK


def _run(options: argparse.Namespace) -> int:
    specs = _load(options.paths)
    now = datetime.now(UTC)
    plans = [make_plan(spec, options.date or default_report_date(spec.timezone, now), now) for spec in specs]
    _output_folder(options.out)
    # botocore logs some failures (an expired SSO login) with a traceback; reportgen reports them itself.
    for name in ("botocore", "aiobotocore"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    progress = Progress.for_stream(sys.stderr, quiet=options.quiet)
    policy = RetryPolicy(attempts=options.attempts, timeout=options.timeout)
    try:
        summary = asyncio.run(_run_async(plans, options, policy, progress, now))
    except asyncio.CancelledError:  # SIGTERM, see _run_async
        _error("terminated; no partial report was left behind")
        return EXIT_TERMINATED
    if not options.quiet or summary.failed or summary.unwritten:
        print(summary.describe())
    if summary.unwritten:
        return EXIT_UNEXPECTED
    return EXIT_PARTIAL if summary.failed else EXIT_OK


async def _run_async(plans: list[ReportPlan], options: argparse.Namespace, policy: RetryPolicy,
                     progress: Progress, now: datetime) -> RunSummary:
    from reportgen.pipeline import run_reports  # aiobotocore is slow to import; validate does not need it
    from reportgen.standin import local_standin

    # A scheduler's SIGTERM cancels the run like Ctrl-C does, so the stand-in and workers are stopped too.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    if not (options.local or options.local_data):
        return await run_reports(plans, options.out, generated_at=now, endpoint_url=options.endpoint_url,
                                 policy=policy, progress=progress)
    data = ["--data", str(options.local_data)] if options.local_data else []
    async with local_standin(*data) as standin:
        return await standin.supervise(run_reports(plans, options.out, generated_at=now, local=True,
                                                   endpoint_url=standin.endpoint_url, policy=policy,
                                                   progress=progress))


def _local(args: list[str]) -> int:
    # Imported on demand: the pipeline never depends on the stand-in. Its own entry point turns a missing
    # `local` extra into a one-line error naming the install command.
    from reportgen.local.cli import main as local_main

    return local_main(args)
