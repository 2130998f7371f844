"""``python -m reportgen.local serve|seed|mail`` (also ``reportgen local …``).

    serve [--port N] [--rate-limit 20] [--workers N] [--data PATH] [--no-synthetic] [-v] [--stop-on-eof]
          [--account KEY=ACCOUNT]… [--deny-role ARN]… [--require-external-id ARN=ID]… [--session-seconds N]
          [--latency MS[:JITTER_MS]] [--throttle-fraction F] [--error-fraction F] [--reset-fraction F]
          [--slow-body-fraction F] [--seed N] [--fast]
    seed --data PATH [--start ISO --end ISO | --days N]
    mail --dir DIR [--port N] [--stop-on-eof]

When the stand-in is ready it prints exactly one line to stdout, which launchers parse:

    reportgen-local listening on http://127.0.0.1:PORT

Everything else (logs) goes to stderr. SIGTERM and SIGINT stop it cleanly, and so does the end of its
standard input with ``--stop-on-eof``: a launcher that holds the stand-in's stdin open takes it down with
it however the launcher ends, even killed outright. ``--data`` keeps the metric store in a SQLite file
(default: in memory, gone when the stand-in stops); ``--no-synthetic`` draws metrics without stored data
as empty graphs.

The stand-in answers STS too (see ``reportgen.local.sts``): ``--account`` puts an access key in an account
(other keys get an account derived from the key), ``--deny-role`` makes AssumeRole refuse a role,
``--require-external-id`` makes it refuse a role without that ExternalId, and ``--session-seconds`` makes
every assumed-role session last N seconds, so a test can watch credentials expire.

It misbehaves on demand, as CloudWatch may on a bad night (see ``reportgen.local.chaos``), in
GetMetricWidgetImage and GetMetricData: ``--latency 300:100`` answers each request the rate limit admits
300 ± 100 ms late; of those requests, ``--throttle-fraction`` answers that share with Throttling,
``--error-fraction`` with a 500 or 503, ``--reset-fraction`` with half an answer and a connection reset, and
``--slow-body-fraction`` with an answer trickled a byte a second. ``--seed`` makes the draws repeatable (the
same requests get the same fates). ``--fast`` answers every valid widget with a PNG of its size drawn once,
so a benchmark measures the client, not the drawing.

``seed`` fills a store with the demo estate (see ``reportgen.local.seed``) over a window, by default the
7 days up to now, and prints one line saying what it wrote.

``mail`` is an SMTP server on 127.0.0.1 that keeps every message it gets as an ``.eml`` file in DIR (see
``reportgen.local.mailsink``). Like ``serve`` it prints one ready line,
``reportgen-local-mail listening on smtp://127.0.0.1:PORT``, logs one line per message to stderr, and stops
on SIGTERM, SIGINT or, with ``--stop-on-eof``, the end of its standard input.

Exit codes: 0 stopped by a signal or seeded, 1 cannot run (missing extra, port taken, store or mail folder
unusable, an account id or role ARN that is malformed), 2 bad arguments (chaos fractions that add up to more
than 1 among them).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import math
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reportgen.argtypes import positive_number
from reportgen.errors import ReportgenError, SetupError
from reportgen.model import DEFAULT_RATE_LIMIT
from reportgen.periods import to_utc, utc_iso
from reportgen.standin import READY_PREFIX


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "serve":
            _check_fractions(parser, args)
    except SystemExit as exc:  # --help and usage errors
        return int(exc.code or 0)
    if args.command == "seed":
        return _seed(args)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run: Coroutine[Any, Any, None]
    if args.command == "mail":
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's lines for every connection
        run = _mail(args.port, args.dir, stop_on_eof=args.stop_on_eof)
    else:
        logging.getLogger("aiohttp.access").setLevel(logging.INFO if args.verbose else logging.WARNING)
        options = {"accounts": dict(args.accounts), "denied_roles": args.denied_roles,
                   "required_external_ids": dict(args.external_ids), "session_seconds": args.session_seconds,
                   "latency_ms": args.latency[0], "jitter_ms": args.latency[1],
                   "throttle_fraction": args.throttle_fraction, "error_fraction": args.error_fraction,
                   "reset_fraction": args.reset_fraction, "slow_body_fraction": args.slow_body_fraction,
                   "seed": args.seed, "fast": args.fast}
        run = _serve(args.port, args.rate_limit, args.workers, data=args.data, synthetic=args.synthetic,
                     stop_on_eof=args.stop_on_eof, options=options)
    try:
        asyncio.run(run)
    except ReportgenError as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 1
    return 0


def _seed(args: argparse.Namespace) -> int:
    from reportgen.local.seed import seed, window
    from reportgen.local.store import MetricStore

    now = time.time()
    start, end = window(start=args.start, end=args.end, days=args.days, now=datetime.fromtimestamp(now, UTC))
    if start >= end:
        print(f"ERROR the window to seed is empty: --start {utc_iso(start)} is not before --end {utc_iso(end)}",
              file=sys.stderr)
        return 2
    try:
        store = MetricStore(args.data)
        try:
            seeded = seed(store, start, end, published=now)
        finally:
            store.close()
    except (sqlite3.Error, ValueError) as exc:
        print(f"ERROR {SetupError(f'cannot seed {args.data}: {exc}')}", file=sys.stderr)
        return 1
    print(f"seeded {seeded.metrics} metrics with {seeded.datapoints:,} datapoints from "
          f"{utc_iso(seeded.start)} to {utc_iso(seeded.end)} into {args.data}")
    return 0


class _StopAtEof(asyncio.Protocol):
    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop

    def connection_lost(self, exc: Exception | None) -> None:  # the launcher's end of the pipe closed
        self.stop.set()


@contextlib.asynccontextmanager
async def _stop_event(stop_on_eof: bool) -> AsyncIterator[asyncio.Event]:
    """An event set by SIGINT or SIGTERM and, with ``stop_on_eof``, by the end of standard input."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    stdin = (await loop.connect_read_pipe(lambda: _StopAtEof(stop), sys.stdin))[0] if stop_on_eof else None
    try:
        yield stop
    finally:
        if stdin is not None:
            stdin.close()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _serve(port: int, rate_limit: float, workers: int | None, *, data: str = ":memory:", synthetic: bool = True,
                 stop_on_eof: bool = False, options: Mapping[str, Any] | None = None) -> None:
    async with _stop_event(stop_on_eof) as stop:
        # Imported here, through the package, so a missing `local` extra becomes a one-line SetupError.
        from reportgen.local import create_app, running

        try:
            app = create_app(rate_limit=rate_limit, workers=workers, data=data, synthetic=synthetic, **(options or {}))
        except ValueError as exc:  # an account id or role ARN that STS cannot use
            raise SetupError(f"cannot serve STS as asked: {exc}") from None
        async with running(app, port) as url:
            # What is loaded by now (botocore's models, the store) lives as long as the server: kept out of the
            # collector's sight, a full collection takes a few milliseconds instead of tens, and arrivals are
            # stamped when they come, not after one.
            gc.freeze()
            print(f"{READY_PREFIX}{url}", flush=True)
            await stop.wait()
            logging.getLogger("reportgen.local").info("stopping")


async def _mail(port: int, directory: Path, *, stop_on_eof: bool = False) -> None:
    async with _stop_event(stop_on_eof) as stop:
        try:
            from reportgen.local.mailsink import MAIL_READY_PREFIX, MailSink
        except ImportError as exc:
            if exc.name is None or exc.name.partition(".")[0] != "aiosmtpd":
                raise
            raise SetupError("the local mail sink needs aiosmtpd, which is not installed: "
                             "pip install 'reportgen[local]'") from None
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SetupError(f"cannot keep mail in {directory}: {exc.strerror or exc}") from None
        async with MailSink(directory, port=port) as sink:
            print(f"{MAIL_READY_PREFIX}{sink.url}", flush=True)
            await stop.wait()
            logging.getLogger("reportgen.local.mail").info("stopping; %d messages kept in %s",
                                                           len(sink.received), directory)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reportgen.local",
                                     description="A local stand-in for Amazon CloudWatch: GetMetricWidgetImage, "
                                                 "and a metric store behind PutMetricData, GetMetricData and more.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve on 127.0.0.1 until SIGTERM or Ctrl-C")
    serve.add_argument("--port", type=_port, default=0, help="TCP port; 0 (the default) picks a free one")
    serve.add_argument("--rate-limit", type=positive_number, default=DEFAULT_RATE_LIMIT, metavar="N",
                       help="requests per second allowed per access key (default: %(default)g, as CloudWatch)")
    serve.add_argument("--workers", type=_count, default=None, metavar="N",
                       help=f"render processes (default: one per CPU, here {os.cpu_count()})")
    serve.add_argument("--data", default=":memory:", metavar="PATH",
                       help="SQLite file of the metric store (default: in memory, gone when the stand-in stops)")
    serve.add_argument("--no-synthetic", dest="synthetic", action="store_false",
                       help="draw metrics that have no stored data as empty graphs, not with synthetic data")
    serve.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    serve.add_argument("--stop-on-eof", action="store_true",
                       help="also stop when standard input ends (for launchers that own the stand-in)")
    serve.add_argument("--account", dest="accounts", type=_pair, action="append", default=[], metavar="KEY=ACCOUNT",
                       help="put access key KEY in 12-digit ACCOUNT (repeatable; other keys get an account derived "
                            "from the key)")
    serve.add_argument("--deny-role", dest="denied_roles", action="append", default=[], metavar="ARN",
                       help="make AssumeRole of this role answer AccessDenied (repeatable)")
    serve.add_argument("--require-external-id", dest="external_ids", type=_pair, action="append", default=[],
                       metavar="ARN=ID", help="make AssumeRole of this role answer AccessDenied unless its ExternalId "
                                              "is ID (repeatable)")
    serve.add_argument("--session-seconds", type=positive_number, metavar="N",
                       help="every assumed-role session lasts N seconds, whatever it asks for (default: as asked, "
                            "900 to 43200)")
    chaos = serve.add_argument_group("chaos", "misbehave in GetMetricWidgetImage and GetMetricData, as CloudWatch "
                                              "may; each fraction is a share of the requests the rate limit admits")
    chaos.add_argument("--latency", type=_latency, default=(0.0, 0.0), metavar="MS[:JITTER_MS]",
                       help="answer each request MS milliseconds late, give or take JITTER_MS (e.g. 300:100)")
    chaos.add_argument("--throttle-fraction", type=_fraction, default=0.0, metavar="F",
                       help="answer this share with Throttling (400 Rate exceeded)")
    chaos.add_argument("--error-fraction", type=_fraction, default=0.0, metavar="F",
                       help="answer this share with InternalServiceError (500) or ServiceUnavailable (503), half each")
    chaos.add_argument("--reset-fraction", type=_fraction, default=0.0, metavar="F",
                       help="answer this share with the status, headers and half the body, then reset the connection")
    chaos.add_argument("--slow-body-fraction", type=_fraction, default=0.0, metavar="F",
                       help="answer this share with the headers, then a byte of the body a second")
    chaos.add_argument("--seed", type=int, default=0, metavar="N",
                       help="seed of the draws, so a run is repeatable (default: %(default)s)")
    chaos.add_argument("--fast", action="store_true",
                       help="answer every valid widget with a PNG of its size drawn once, instead of drawing it")
    seed = commands.add_parser("seed", help="fill a metric store with a demo estate (EC2, ALB, Lambda, RDS, "
                                            "DynamoDB, SQS, API Gateway)")
    seed.add_argument("--data", required=True, metavar="PATH", help="SQLite file of the metric store")
    seed.add_argument("--end", type=_instant, metavar="ISO", help="end of the window (default: now)")
    first = seed.add_mutually_exclusive_group()
    first.add_argument("--start", type=_instant, metavar="ISO", help="start of the window, e.g. 2026-11-01T00:00Z")
    first.add_argument("--days", type=positive_number, metavar="N", help="length of the window in days (default: 7)")
    mail = commands.add_parser("mail", help="an SMTP server on 127.0.0.1 that keeps every message as an .eml file")
    mail.add_argument("--dir", required=True, type=Path, metavar="DIR", help="folder for the .eml files")
    mail.add_argument("--port", type=_port, default=0, help="TCP port; 0 (the default) picks a free one")
    mail.add_argument("--stop-on-eof", action="store_true",
                      help="also stop when standard input ends (for launchers that own the sink)")
    return parser


def _instant(text: str) -> datetime:
    try:
        return to_utc(datetime.fromisoformat(text), UTC)  # a naive time is UTC, as in CloudWatch's API
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time like 2026-11-25T00:00:00Z") from None


def _check_fractions(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    # One draw decides among them, so their shares must fit in one whole.
    total = args.throttle_fraction + args.error_fraction + args.reset_fraction + args.slow_body_fraction
    if total > 1:
        parser.error(f"the chaos fractions add up to {total:g}, more than 1")


def _latency(text: str) -> tuple[float, float]:
    latency, _, jitter = text.partition(":")
    try:
        values = float(latency), float(jitter or 0)
    except ValueError:
        values = (math.nan, math.nan)
    if not (all(math.isfinite(value) for value in values) and 0 <= values[1] <= values[0]):
        raise argparse.ArgumentTypeError(f"{text!r} is not MS or MS:JITTER_MS, milliseconds with the jitter "
                                         "no more than the latency, e.g. 300:100")
    return values


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:  # nan too
        raise argparse.ArgumentTypeError(f"not a fraction from 0 to 1: {text!r}")
    return value


def _pair(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")  # the first '=': an external id may hold one, a key or ARN not
    if not (name and equals and value):
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (0-65535)")
    return port


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value
