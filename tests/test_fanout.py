"""FanOut on a real event loop: how many jobs of an account run at once, in what order, and what becomes of
a job that raises or whose waiter goes away."""

from __future__ import annotations

import asyncio

import pytest

from reportgen.fanout import FanOut


class Gauge:
    """Counts jobs running now and the most that ever ran at once."""

    def __init__(self) -> None:
        self.now = self.most = 0
        self.started: list[str] = []
        self._changed = asyncio.Condition()

    async def running(self, n: int) -> None:
        """Return once ``n`` jobs are running."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.now == n)

    def job(self, name: str, hold: asyncio.Event | None = None, result: str | None = None):
        async def run() -> str:
            self.started.append(name)
            self.now += 1
            self.most = max(self.most, self.now)
            async with self._changed:
                self._changed.notify_all()
            try:
                if hold is not None:
                    await hold.wait()
                else:
                    await asyncio.sleep(0)
            finally:
                self.now -= 1
            return result or name
        return run


async def test_at_most_per_account_jobs_run_at_once_each_account_apart() -> None:
    gauges = {"a": Gauge(), "b": Gauge()}
    release = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        fan: FanOut[str] = FanOut(group, per_account=3)
        futures = [fan.submit(account, gauges[account].job(f"{account}{n}", hold=release))
                   for n in range(20) for account in gauges]
        await gauges["a"].running(3)
        await gauges["b"].running(3)
        assert fan.in_progress("a") == fan.in_progress("b") == 3  # workers, not a task per job
        release.set()
        results = await asyncio.gather(*futures)
    assert results == [f"{account}{n}" for n in range(20) for account in gauges]
    assert gauges["a"].most == gauges["b"].most == 3
    assert fan.in_progress("a") == fan.in_progress("b") == 0  # the workers ended with their queues


async def test_workers_start_one_per_turn_of_the_loop() -> None:
    # Hundreds of workers started in one turn would hold the loop for that long, and with it whatever requests
    # were on their way out: each worker starts the next as it takes its first job.
    gauge = Gauge()
    release = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        fan: FanOut[str] = FanOut(group, per_account=50)
        futures = [fan.submit("a", gauge.job(str(n), hold=release)) for n in range(200)]
        assert fan.in_progress("a") == 1
        await asyncio.sleep(0)  # one turn: the first worker took a job and started the second
        assert gauge.started == ["0"] and fan.in_progress("a") == 2
        await gauge.running(50)
        assert fan.in_progress("a") == 50
        release.set()
        await asyncio.gather(*futures)
    assert gauge.started == [str(n) for n in range(200)] and gauge.most == 50


async def test_jobs_start_in_the_order_they_were_submitted() -> None:
    gauge = Gauge()
    release = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        fan: FanOut[str] = FanOut(group, per_account=2)
        futures = [fan.submit("a", gauge.job(str(n), hold=release)) for n in range(6)]
        await gauge.running(2)
        assert gauge.started == ["0", "1"]  # both workers busy: the others wait their turn
        release.set()
        await asyncio.gather(*futures)
    assert gauge.started == [str(n) for n in range(6)]


async def test_a_job_that_raises_fails_its_own_future_only() -> None:
    async def broken() -> str:
        raise RuntimeError("a bug")

    gauge = Gauge()
    async with asyncio.TaskGroup() as group:
        fan: FanOut[str] = FanOut(group, per_account=1)
        first, failing, last = fan.submit("a", gauge.job("1")), fan.submit("a", broken), fan.submit("a", gauge.job("3"))
        assert await first == "1"
        with pytest.raises(RuntimeError, match="a bug"):
            await failing
        assert await last == "3"


async def test_a_job_whose_waiter_went_away_is_not_run() -> None:
    gauge = Gauge()
    release = asyncio.Event()
    async with asyncio.TaskGroup() as group:
        fan: FanOut[str] = FanOut(group, per_account=1)
        running = fan.submit("a", gauge.job("running", hold=release))
        abandoned = fan.submit("a", gauge.job("abandoned"))
        abandoned.cancel()
        release.set()
        assert await running == "running"
    assert gauge.started == ["running"]


async def test_cancelling_the_group_cancels_the_jobs_in_progress() -> None:
    gauge = Gauge()
    never = asyncio.Event()
    group_task: asyncio.Task[None]
    futures: list[asyncio.Future[str]] = []

    async def run() -> None:
        async with asyncio.TaskGroup() as group:
            fan: FanOut[str] = FanOut(group, per_account=2)
            futures.extend(fan.submit("a", gauge.job(str(n), hold=never)) for n in range(4))
            await never.wait()

    group_task = asyncio.create_task(run())
    await gauge.running(2)
    group_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await group_task
    assert gauge.now == 0
    assert all(future.cancelled() for future in futures[:2])  # those in progress; the rest never started
    assert gauge.started == ["0", "1"]


def test_rejects_an_account_without_workers() -> None:
    with pytest.raises(ValueError):
        FanOut(None, per_account=0)  # type: ignore[arg-type]
