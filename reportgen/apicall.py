"""One CloudWatch call the way every call of a run is made: its turn at the account's limiter for that API,
a timeout, and backoff retries for throttling and transient errors.

Widget images (``fetch``) and their numbers (``metricdata``) count their attempts for the run's summary;
the calls that decide what a report holds (dashboards, ListMetrics, alarms) go through here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from reportgen.errors import ReportgenError, TransientError, WidgetFailure, is_throttle
from reportgen.model import RetryPolicy
from reportgen.ratelimit import StrictRateLimiter, departing
from reportgen.retry import backoff

T = TypeVar("T")


class GaveUp(ReportgenError):
    """A call that failed for good: the last ``failure``, after ``attempts`` tries (a refusal takes one)."""

    def __init__(self, failure: WidgetFailure, attempts: int, *, operation: str | None = None) -> None:
        super().__init__(str(failure))
        self.failure, self.attempts, self.operation = failure, attempts, operation

    def __str__(self) -> str:
        tries = f" (after {self.attempts} attempts)" if self.attempts > 1 else ""
        return f"{self.operation + ': ' if self.operation else ''}{self.failure}{tries}"


@dataclass
class Tally:
    """What one call cost: attempts sent, and how many of them CloudWatch throttled (for the run's summary)."""

    attempts: int = 0
    throttled: int = 0


async def call(request: Callable[[], Awaitable[T]], limiter: StrictRateLimiter, policy: RetryPolicy, *,
               operation: str | None = None, tally: Tally | None = None) -> T:
    """``await request()`` until it answers, at most ``policy.attempts`` times; every attempt waits its turn at
    ``limiter``. Raises ``GaveUp`` (named ``operation`` in its message, when given) when it never does.
    ``tally``, when given, counts the attempts and the throttled ones."""
    tally = tally or Tally()
    retrying = backoff(attempts=policy.attempts, base_delay=policy.base_delay, max_delay=policy.max_delay,
                       retryable=lambda exc: isinstance(exc, WidgetFailure) and exc.retryable)
    try:
        async for attempt in retrying:
            with attempt:
                tally.attempts += 1
                await limiter.acquire()  # spaces out request starts; a slow answer need not hold up the next one
                try:
                    async with asyncio.timeout(policy.timeout):
                        with departing(limiter):
                            return await request()
                except TimeoutError as exc:
                    raise TransientError(f"no answer within {policy.timeout:g} s") from exc
                except WidgetFailure as failure:
                    tally.throttled += is_throttle(failure)
                    raise
    except WidgetFailure as failure:
        raise GaveUp(failure, tally.attempts, operation=operation) from failure
    raise AssertionError("unreachable: backoff re-raises the last failure")
