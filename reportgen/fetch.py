"""Fetching one widget image: rate limit, timeout, retries with backoff, and a result that never raises.

Every attempt, first or retried, waits its turn at the account's limiter, so retries cannot push the
account over CloudWatch's quota. A widget that still fails becomes a ``WidgetResult`` carrying the error,
which the PDF draws as a placeholder; the rest of the report goes on.
"""

from __future__ import annotations

from typing import Protocol

from reportgen import apicall
from reportgen.errors import WidgetFailure
from reportgen.model import RetryPolicy as RetryPolicy  # kept in model, so the CLI need not import tenacity
from reportgen.model import WidgetRequest, WidgetResult
from reportgen.ratelimit import StrictRateLimiter

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageSource(Protocol):
    async def get_widget_image(self, metric_widget: str) -> bytes: ...


async def fetch_widget(request: WidgetRequest, source: ImageSource | WidgetFailure,
                       limiter: StrictRateLimiter, policy: RetryPolicy) -> WidgetResult:
    """Get one widget's PNG, or the failure that explains why not. Never raises a ``WidgetFailure``."""
    if isinstance(source, WidgetFailure):  # no client for this account (e.g. an unknown profile)
        return _failed(request, source, attempts=0, throttled=0)
    tally = apicall.Tally()
    try:
        png = await apicall.call(lambda: _image(request, source), limiter, policy, tally=tally)
    except apicall.GaveUp as gave_up:
        return _failed(request, gave_up.failure, attempts=tally.attempts, throttled=tally.throttled)
    return WidgetResult(request, png=png, attempts=tally.attempts, throttled=tally.throttled)


async def _image(request: WidgetRequest, source: ImageSource) -> bytes:
    png = await source.get_widget_image(request.metric_widget)
    if not png.startswith(PNG_SIGNATURE):
        raise WidgetFailure("CloudWatch answered with something that is not a PNG image")
    return png


def _failed(request: WidgetRequest, failure: WidgetFailure, *, attempts: int, throttled: int) -> WidgetResult:
    tries = f" (after {attempts} attempts)" if attempts > 1 else ""
    return WidgetResult(request, error=f"{failure}{tries}", error_code=failure.code,
                        attempts=attempts, throttled=throttled)
