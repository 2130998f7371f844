"""A run's widget fetches, fanned out over a bounded number of workers per account.

Not a task per widget: thousands of tasks would make a run's memory grow with its widgets, and starting them all
in one turn of the event loop holds the run's first requests up on their way to the wire, where they then bunch
together. The limiter paces an account's requests anyway; what the workers bound is how many are in progress
at once: as many as the account's connections carry.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")

Job = tuple[Callable[[], Awaitable[T]], "asyncio.Future[T]"]


class FanOut(Generic[T]):
    """At most ``per_account`` jobs of one account in progress at once, the others waiting their turn in the
    order they were submitted. Workers are tasks of ``group``, started as jobs come (one per turn of the event
    loop) and ended when their account's queue is empty, so the group ends once every job is done.
    """

    __slots__ = ("_group", "_per_account", "_queues")

    def __init__(self, group: asyncio.TaskGroup, *, per_account: int) -> None:
        if per_account < 1:
            raise ValueError(f"per_account must be at least 1, not {per_account!r}")
        self._group = group
        self._per_account = per_account
        self._queues: dict[Hashable, _Queue[T]] = {}

    def submit(self, account: Hashable, job: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        """``job()``'s result, once a worker of ``account`` has run it. Cancelling the future before a worker
        takes the job means it never runs."""
        queue = self._queues.setdefault(account, _Queue())
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        queue.jobs.append((job, future))
        if not queue.starting:
            self._start_worker(queue)
        return future

    def in_progress(self, account: Hashable) -> int:
        """Workers of ``account`` running now."""
        queue = self._queues.get(account)
        return queue.workers if queue else 0

    def __repr__(self) -> str:
        return f"<FanOut per_account={self._per_account} accounts={len(self._queues)}>"

    def _start_worker(self, queue: _Queue[T]) -> None:
        if queue.workers < self._per_account:
            queue.workers += 1
            queue.starting = True
            self._group.create_task(self._work(queue))

    async def _work(self, queue: _Queue[T]) -> None:
        fresh = True
        try:
            while queue.jobs:
                job, future = queue.jobs.popleft()
                if fresh:
                    # The next worker starts as this one takes its first job, so an account's workers start
                    # one per turn of the event loop. Hundreds started in one turn would hold the loop, and the
                    # requests already on their way with it, long enough to bunch them up on the wire.
                    fresh = queue.starting = False
                    if queue.jobs:
                        self._start_worker(queue)
                if future.done():  # its waiter went away
                    continue
                try:
                    result = await job()
                except Exception as exc:  # a bug: what waits for this job raises it, the other jobs go on
                    if not future.done():
                        future.set_exception(exc)
                except BaseException:
                    future.cancel()
                    raise
                else:
                    if not future.done():
                        future.set_result(result)
        finally:
            queue.workers -= 1
            if fresh:  # ended (or was cancelled) before it took a job
                queue.starting = False


class _Queue(Generic[T]):
    __slots__ = ("jobs", "workers", "starting")

    def __init__(self) -> None:
        self.jobs: deque[Job[T]] = deque()
        self.workers = 0
        self.starting = False  # a worker has been started and has not yet taken its first job

