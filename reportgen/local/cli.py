"""``python -m reportgen.local serve|seed`` (also ``reportgen local …``).

    serve [--port N] [--rate-limit 20] [--workers N] [--data PATH] [--no-synthetic] [-v] [--stop-on-eof]
    seed --data PATH [--start ISO --end ISO | --days N]

When the stand-in is ready it prints exactly one line to stdout, which launchers parse:

    reportgen-local listening on http://127.0.0.1:PORT

Everything else (logs) goes to stderr. SIGTERM and SIGINT stop it cleanly, and so does the end of its
standard input with ``--stop-on-eof``: a launcher that holds the stand-in's stdin open takes it down with
it however the launcher ends, even killed outright. ``--data`` keeps the metric store in a SQLite file
(default: in memory, gone when the stand-in stops); ``--no-synthetic`` draws metrics without stored data
as empty graphs.

``seed`` fills a store with the demo estate (see ``reportgen.local.seed``) over a window, by default the
7 days up to now, and prints one line saying what it wrote.
Exit codes: 0 stopped by a signal or seeded, 1 cannot run (missing extra, port taken, store unusable),
2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime

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
    except SystemExit as exc:  # --help and usage errors
        return int(exc.code or 0)
    if args.command == "seed":
        return _seed(args)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        asyncio.run(_serve(args.port, args.rate_limit, args.workers, data=args.data, synthetic=args.synthetic,
                           stop_on_eof=args.stop_on_eof))
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


async def _serve(port: int, rate_limit: float, workers: int | None, *, data: str = ":memory:", synthetic: bool = True,
                 stop_on_eof: bool = False) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if stop_on_eof:
        stdin = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
        eof = asyncio.create_task(stdin.read())  # b"" once the launcher's end of the pipe closes
        eof.add_done_callback(lambda _: stop.set())
    # Imported here, through the package, so a missing `local` extra becomes a one-line SetupError.
    from reportgen.local import create_app, running

    async with running(create_app(rate_limit=rate_limit, workers=workers, data=data, synthetic=synthetic),
                       port) as url:
        print(f"{READY_PREFIX}{url}", flush=True)
        await stop.wait()
        logging.getLogger("reportgen.local").info("stopping")


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
    seed = commands.add_parser("seed", help="fill a metric store with a demo estate (EC2, ALB, Lambda, RDS, "
                                            "DynamoDB, SQS, API Gateway)")
    seed.add_argument("--data", required=True, metavar="PATH", help="SQLite file of the metric store")
    seed.add_argument("--end", type=_instant, metavar="ISO", help="end of the window (default: now)")
    first = seed.add_mutually_exclusive_group()
    first.add_argument("--start", type=_instant, metavar="ISO", help="start of the window, e.g. 2026-11-01T00:00Z")
    first.add_argument("--days", type=positive_number, metavar="N", help="length of the window in days (default: 7)")
    return parser


def _instant(text: str) -> datetime:
    try:
        return to_utc(datetime.fromisoformat(text), UTC)  # a naive time is UTC, as in CloudWatch's API
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time like 2026-11-25T00:00:00Z") from None


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
