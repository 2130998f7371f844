"""One CloudWatch call the way every call of a run is made: its turn at the account's limiter for that API,
a timeout, and backoff retries for throttling and transient errors.

Widget images (``fetch``) and their numbers (``metricdata``) count their attempts for the run's summary;
the calls that decide what a report holds (dashboards, ListMetrics, alarms) go through here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from reportgen.errors import TransientError, WidgetFailure
from reportgen.model import RetryPolicy
from reportgen.ratelimit import StrictRateLimiter
from reportgen.retry import backoff

T = TypeVar("T")


async def call(request: Callable[[], Awaitable[T]], limiter: StrictRateLimiter, policy: RetryPolicy) -> T:
    """``await request()`` until it answers, at most ``policy.attempts`` times; every attempt waits its turn at
    ``limiter``. Raises the last ``WidgetFailure`` when it never does (a refusal is not retried)."""
    retrying = backoff(attempts=policy.attempts, base_delay=policy.base_delay, max_delay=policy.max_delay,
                       retryable=lambda exc: isinstance(exc, WidgetFailure) and exc.retryable)
    async for attempt in retrying:
        with attempt:
            await limiter.acquire()
            try:
                async with asyncio.timeout(policy.timeout):
                    return await request()
            except TimeoutError as exc:
                raise TransientError(f"no answer within {policy.timeout:g} s") from exc
    raise AssertionError("unreachable: backoff re-raises the last failure")
