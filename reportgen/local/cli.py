"""``python -m reportgen.local serve [--port N] [--rate-limit 20] [--workers N] [-v]``.

When the stand-in is ready it prints exactly one line to stdout, which launchers parse:

    reportgen-local listening on http://127.0.0.1:PORT

Everything else (logs) goes to stderr. SIGTERM and SIGINT stop it cleanly, and so does the end of its
standard input with ``--stop-on-eof``: a launcher that holds the stand-in's stdin open takes it down with
it however the launcher ends, even killed outright.
Exit codes: 0 stopped by a signal, 1 cannot run (missing extra, port taken), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

from reportgen.errors import ReportgenError
from reportgen.model import DEFAULT_RATE_LIMIT

READY_LINE = "reportgen-local listening on {url}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help and usage errors
        return int(exc.code or 0)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        asyncio.run(_serve(args.port, args.rate_limit, args.workers, stop_on_eof=args.stop_on_eof))
    except ReportgenError as exc:
        print(f"ERROR {exc}", file=sys.stderr)
        return 1
    return 0


async def _serve(port: int, rate_limit: float, workers: int | None, *, stop_on_eof: bool = False) -> None:
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

    async with running(create_app(rate_limit=rate_limit, workers=workers), port) as url:
        print(READY_LINE.format(url=url), flush=True)
        await stop.wait()
        logging.getLogger("reportgen.local").info("stopping")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reportgen.local",
                                     description="A local stand-in for Amazon CloudWatch's GetMetricWidgetImage.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve on 127.0.0.1 until SIGTERM or Ctrl-C")
    serve.add_argument("--port", type=_port, default=0, help="TCP port; 0 (the default) picks a free one")
    serve.add_argument("--rate-limit", type=_positive, default=DEFAULT_RATE_LIMIT, metavar="N",
                       help="requests per second allowed per access key (default: %(default)g, as CloudWatch)")
    serve.add_argument("--workers", type=_count, default=None, metavar="N",
                       help=f"render processes (default: one per CPU, here {os.cpu_count()})")
    serve.add_argument("-v", "--verbose", action="store_true", help="log every request to stderr")
    serve.add_argument("--stop-on-eof", action="store_true",
                       help="also stop when standard input ends (for launchers that own the stand-in)")
    return parser


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


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value
