"""Fetching one widget image: rate limit, timeout, retries with backoff, and a result that never raises.

Every attempt, first or retried, waits its turn at the account's limiter, so retries cannot push the
account over CloudWatch's quota. A widget that still fails becomes a ``WidgetResult`` carrying the error,
which the PDF draws as a placeholder; the rest of the report goes on.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from reportgen.errors import TransientError, WidgetFailure, is_throttle
from reportgen.model import RetryPolicy as RetryPolicy  # kept in model, so the CLI need not import tenacity
from reportgen.model import WidgetRequest, WidgetResult
from reportgen.ratelimit import StrictRateLimiter
from reportgen.retry import backoff

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageSource(Protocol):
    async def get_widget_image(self, metric_widget: str) -> bytes: ...


async def fetch_widget(request: WidgetRequest, source: ImageSource | WidgetFailure,
                       limiter: StrictRateLimiter, policy: RetryPolicy) -> WidgetResult:
    """Get one widget's PNG, or the failure that explains why not. Never raises a ``WidgetFailure``."""
    if isinstance(source, WidgetFailure):  # no client for this account (e.g. an unknown profile)
        return _failed(request, source, attempts=0, throttled=0)
    attempts = throttled = 0
    retrying = backoff(attempts=policy.attempts, base_delay=policy.base_delay, max_delay=policy.max_delay,
                       retryable=lambda exc: isinstance(exc, WidgetFailure) and exc.retryable)
    try:
        async for attempt in retrying:
            with attempt:
                attempts += 1
                try:
                    png = await _attempt(request, source, limiter, policy.timeout)
                except WidgetFailure as failure:
                    throttled += is_throttle(failure)
                    raise
    except WidgetFailure as failure:
        return _failed(request, failure, attempts=attempts, throttled=throttled)
    return WidgetResult(request, png=png, attempts=attempts, throttled=throttled)


async def _attempt(request: WidgetRequest, source: ImageSource, limiter: StrictRateLimiter,
                   timeout: float) -> bytes:
    await limiter.acquire()  # spaces out request starts; a slow answer need not hold up the next one
    try:
        async with asyncio.timeout(timeout):
            png = await source.get_widget_image(request.metric_widget)
    except TimeoutError as exc:
        raise TransientError(f"no answer within {timeout:g} s") from exc
    if not png.startswith(PNG_SIGNATURE):
        raise WidgetFailure("CloudWatch answered with something that is not a PNG image")
    return png


def _failed(request: WidgetRequest, failure: WidgetFailure, *, attempts: int, throttled: int) -> WidgetResult:
    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
    return WidgetResult(request, error=f"{failure}{tries}", error_code=failure.code,
                        attempts=attempts, throttled=throttled)
