"""Running the stand-in as a child process for `run --local`: start, failure to start, death mid-run."""

from __future__ import annotations

import asyncio
import os
import signal
from urllib.request import urlopen

import pytest

from reportgen.errors import SetupError
from reportgen.standin import local_standin


async def test_it_listens_on_loopback_until_the_block_ends() -> None:
    async with local_standin() as standin:
        assert standin.endpoint_url.startswith("http://127.0.0.1:")
        health = await asyncio.to_thread(urlopen, f"{standin.endpoint_url}/_reportgen/health")
        assert health.status == 200
        assert await standin.supervise(asyncio.sleep(0, result="done")) == "done"
        pid = standin.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped and reaped


async def test_a_standin_that_cannot_start_says_why() -> None:
    with pytest.raises(SetupError, match=r"did not start \(exit status 2; it last logged: .*--rate-limit"):
        async with local_standin("--rate-limit", "-1"):
            pytest.fail("should not get here")


async def test_work_stops_when_the_standin_dies() -> None:
    cancelled = asyncio.Event()

    async def work(pid: int) -> None:
        os.kill(pid, signal.SIGTERM)  # stopped from outside, mid-run
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    async with local_standin() as standin:
        with pytest.raises(SetupError, match=r"stopped during the run \(exit status"):
            await standin.supervise(work(standin.pid))
    assert cancelled.is_set()
