"""A strict request-rate limit for one CloudWatch account and region, and a record of what it let through.

CloudWatch allows GetMetricWidgetImage 20 times per second. aiolimiter's ``AsyncLimiter(20, 1)`` is a
leaky bucket of capacity 20: after an idle spell it lets a burst of 20 through and then one every 50 ms,
about 39 in the first second. To never exceed the limit in *any* one-second window we give the bucket a
capacity of one request, so consecutive requests are always at least ``1 / rate`` apart, and shave a small
margin off the rate so that jitter on the way to the server cannot push two of them closer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiolimiter import AsyncLimiter

from reportgen.model import API_QUOTAS

# 3 % of 50 ms is 1.5 ms of slack per request for scheduling and network jitter.
DEFAULT_MARGIN = 0.03


class StrictRateLimiter:
    """Lets at most ``rate`` acquisitions through in any window of one second, spaced evenly.

    ``await limiter.acquire()`` before each attempt, retries included. Create it inside the running event
    loop; it keeps the loop time of every acquisition so a run can report the rate it achieved.
    """

    __slots__ = ("rate", "_bucket", "_loop", "granted")

    def __init__(self, rate: float, *, margin: float = DEFAULT_MARGIN) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate!r}")
        if not 0 <= margin < 1:
            raise ValueError(f"margin must be in [0, 1), not {margin!r}")
        self.rate = rate
        self._bucket = AsyncLimiter(1, 1 / (rate * (1 - margin)))
        self._loop = asyncio.get_running_loop()
        self.granted: list[float] = []  # loop times of every acquisition, oldest first

    async def acquire(self) -> None:
        """Wait for this request's turn. Waiters are served in the order they arrived."""
        await self._bucket.acquire()
        self.granted.append(self._loop.time())

    def __repr__(self) -> str:
        return f"<StrictRateLimiter rate={self.rate}/s granted={len(self.granted)}>"


def max_in_any_window(times: Sequence[float], window: float = 1.0) -> int:
    """The most of ``times`` (sorted ascending) that fall in any half-open interval ``[t, t + window)``."""
    best = 0
    first = 0
    for last, t in enumerate(times):
        while t - times[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


class AccountLimits:
    """The strict limiters of one account and region: one per API, each at its own quota, made on first use.

    ``scale`` (a report's ``aws.rate_limit`` over 20) lowers every quota alike, for an account shared with other
    tools or split over shards. Create it inside the running event loop.
    """

    __slots__ = ("scale", "_limiters")

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self._limiters: dict[str, StrictRateLimiter] = {}

    def __getitem__(self, api: str) -> StrictRateLimiter:
        if api not in self._limiters:
            self._limiters[api] = StrictRateLimiter(API_QUOTAS[api] * self.scale)
        return self._limiters[api]

    def __repr__(self) -> str:
        return f"<AccountLimits scale={self.scale:g} {self._limiters}>"
