"""Starting the local CloudWatch stand-in (``run --local``) and the local mail sink (``run --local-mail``) as
child processes for the length of a run.

It runs in its own process so that its chart rendering never competes with the pipeline's event loop,
and so that the pipeline reaches it exactly as it reaches AWS: over HTTP, through aiobotocore. A plain
``subprocess.Popen`` (waited on in threads) rather than an asyncio subprocess: the stand-in's render
workers may outlive it for a moment, and pipes they still hold must not keep an event loop waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable
from typing import IO, TypeVar

from reportgen.errors import SetupError

T = TypeVar("T")

# The one line each prints on stdout once it serves, followed by its URL; launchers wait for it.
READY_PREFIX = "reportgen-local listening on "
MAIL_READY_PREFIX = "reportgen-local-mail listening on "
_READY = re.compile(rb"^" + re.escape(READY_PREFIX.encode()) + rb"(http://127\.0\.0\.1:\d+)\s*$")
_MAIL_READY = re.compile(rb"^" + re.escape(MAIL_READY_PREFIX.encode()) + rb"smtp://127\.0\.0\.1:(\d+)\s*$")
STARTUP_TIMEOUT = 60.0  # seconds; a cold start imports matplotlib and starts render workers
STOP_TIMEOUT = 10.0     # seconds between asking it to stop and killing it


class LocalStandIn:
    """A running stand-in: its endpoint, and a way to run work that must stop if the stand-in dies."""

    def __init__(self, endpoint_url: str, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        self.endpoint_url = endpoint_url
        self._process = process
        self._log = log

    @property
    def pid(self) -> int:
        return self._process.pid

    async def supervise(self, work: Awaitable[T]) -> T:
        """Await ``work``; if the stand-in exits first, cancel it and raise ``SetupError``.

        Without this a crashed stand-in would turn every remaining widget into a connection error, and
        the run would overwrite good reports with pages of placeholders.
        """
        task = asyncio.ensure_future(work)
        exited = asyncio.ensure_future(asyncio.to_thread(self._process.wait))
        try:
            await asyncio.wait({task, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if task.done() and not task.cancelled():
            return task.result()
        raise SetupError(f"the local CloudWatch stand-in stopped during the run "
                         f"({_last_words(self._process, self._log)})")


@contextlib.asynccontextmanager
async def local_standin(*extra_args: str) -> AsyncIterator[LocalStandIn]:
    """Run ``python -m reportgen.local serve --port 0``; yield it once it listens, and stop it afterwards."""
    async with _local_process(["serve", *extra_args], _READY, "the local CloudWatch stand-in") as (url, process, log):
        yield LocalStandIn(url, process, log)


@contextlib.asynccontextmanager
async def local_mail_sink(folder: str) -> AsyncIterator[int]:
    """Run ``python -m reportgen.local mail --port 0 --dir FOLDER``; yield its SMTP port on 127.0.0.1."""
    async with _local_process(["mail", "--dir", folder], _MAIL_READY, "the local mail sink") as (port, _, _):
        yield int(port)


@contextlib.asynccontextmanager
async def _local_process(args: list[str], ready: re.Pattern[bytes], what: str
                         ) -> AsyncIterator[tuple[str, subprocess.Popen[bytes], IO[bytes]]]:
    """Start ``python -m reportgen.local ARGS --port 0 --stop-on-eof``; yield what its ready line announces."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "reportgen.local", *args[:1], "--port", "0", "--stop-on-eof", *args[1:]],
            # Its stdin stays open for as long as this process lives: if the run is killed outright, the
            # pipe closes and the child stops instead of serving on, orphaned.
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
        )
        assert process.stdout is not None
        try:
            try:
                line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), STARTUP_TIMEOUT)
            except TimeoutError:
                line = b""
            match = ready.match(line)
            if match is None:
                await asyncio.to_thread(_stop, process)
                raise SetupError(f"{what} did not start ({_last_words(process, log)})")
            yield match.group(1).decode(), process, log
        finally:
            await asyncio.to_thread(_stop, process)
            process.stdout.close()
            assert process.stdin is not None
            process.stdin.close()


def _last_words(process: subprocess.Popen[bytes], log: IO[bytes]) -> str:
    """Its exit status and the last line it logged, for error messages."""
    log.seek(0)
    lines = [line.strip() for line in log.read().decode(errors="replace").splitlines() if line.strip()]
    said = f"; it last logged: {lines[-1]}" if lines else ""
    return f"exit status {process.poll()}{said}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
