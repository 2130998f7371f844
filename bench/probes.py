"""What the benchmark watches in a run without touching reportgen's code: event-loop lag, the time each PDF
takes in its worker, and peak memory.

Kept free of reportgen's imports: PDF workers unpickle ``_timed`` from here, and should start as light as the
pipeline's own.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")


class LagMonitor:
    """While entered, sleeps ``interval`` seconds in a loop on the running event loop and records by how much
    each wake-up overshoots: how long anything else held the loop."""

    __slots__ = ("interval", "lags", "_task")

    def __init__(self, interval: float = 0.010) -> None:
        self.interval = interval
        self.lags: list[float] = []  # seconds late, one per wake-up
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LagMonitor:
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        traceback: TracebackType | None) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.lags.append(max(0.0, loop.time() - due))

    def percentile_ms(self, p: int) -> float:
        """The ``p``th percentile of the lags, in milliseconds."""
        return statistics.quantiles(self.lags, n=100, method="inclusive")[p - 1] * 1000

    def __repr__(self) -> str:
        return f"<LagMonitor interval={self.interval:g}s wake-ups={len(self.lags)}>"


class TimedExecutor(Executor):
    """Runs jobs on ``pool`` and keeps the wall-clock and CPU seconds each spent in its worker, so queueing and
    pickling are left out."""

    def __init__(self, pool: Executor) -> None:
        self._pool = pool
        self.timings: list[tuple[float, float]] = []  # (wall, cpu) seconds of every finished job

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        outer: Future[T] = Future()
        inner = self._pool.submit(_timed, fn, *args, **kwargs)

        def settle(done: Future[tuple[T, float, float]]) -> None:
            if outer.cancelled():  # its waiter gave up (the run was cancelled): nothing to hand over
                return
            if done.cancelled():
                outer.cancel()
            elif (error := done.exception()) is not None:
                outer.set_exception(error)
            else:
                result, wall, cpu = done.result()
                self.timings.append((wall, cpu))
                outer.set_result(result)

        inner.add_done_callback(settle)
        outer.add_done_callback(lambda done: done.cancelled() and inner.cancel())
        return outer

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def _timed(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> tuple[T, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def peak_rss_mb() -> float:
    """This process's peak resident memory plus that of its largest finished child (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024
