"""Trying again: exponential backoff with jitter, the one retry loop of widgets, mails and archive records.

Retry n (from 0) waits ``base_delay * 2**n`` plus a random jitter of up to ``base_delay``, at most
``max_delay``: the floor gives a busy service time to recover, the jitter keeps things that failed together
from retrying together.
"""

from __future__ import annotations

from collections.abc import Callable

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter


def backoff(*, attempts: int, base_delay: float, max_delay: float,
            retryable: Callable[[BaseException], bool]) -> AsyncRetrying:
    """``async for attempt in backoff(...): with attempt: ...``: up to ``attempts`` tries in all, another only
    after an exception that ``retryable`` accepts; the last exception is raised as it was."""
    return AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=base_delay, max=max_delay, jitter=base_delay),
        retry=retry_if_exception(retryable),
        reraise=True,
    )
