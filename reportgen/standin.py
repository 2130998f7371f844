"""Starting the local CloudWatch stand-in as a child process for the length of a run (``run --local``).

It runs in its own process so that its chart rendering never competes with the pipeline's event loop,
and so that the pipeline reaches it exactly as it reaches AWS: over HTTP, through aiobotocore.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from collections import deque
from collections.abc import AsyncIterator

from reportgen.errors import SetupError

_READY = re.compile(rb"^reportgen-local listening on (http://127\.0\.0\.1:\d+)\s*$")
STARTUP_TIMEOUT = 60.0  # seconds; a cold start imports matplotlib and starts render workers


@contextlib.asynccontextmanager
async def local_standin(*extra_args: str) -> AsyncIterator[str]:
    """Run ``python -m reportgen.local serve --port 0`` and yield its endpoint URL; stop it afterwards."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reportgen.local", "serve", "--port", "0", *extra_args,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    # Keep the last lines of its log for the error message; draining also keeps the pipe from filling.
    log: deque[str] = deque(maxlen=20)
    drain = asyncio.create_task(_drain(process.stderr, log))
    try:
        try:
            async with asyncio.timeout(STARTUP_TIMEOUT):
                line = await process.stdout.readline()
        except TimeoutError:
            line = b""
        match = _READY.match(line)
        if match is None:
            await _stop(process)
            await drain
            detail = log[-1] if log else f"exit status {process.returncode}"
            raise SetupError(f"the local CloudWatch stand-in did not start: {detail}")
        yield match.group(1).decode()
    finally:
        await _stop(process)
        drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drain


async def _drain(stream: asyncio.StreamReader, log: deque[str]) -> None:
    async for raw in stream:
        log.append(raw.decode(errors="replace").rstrip())


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
