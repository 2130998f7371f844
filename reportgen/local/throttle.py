"""A sliding-window limiter per access key: CloudWatch's "N requests in any second", held exactly."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


class SlidingWindowLimiter:
    """Admit a key's request only if it was admitted fewer than ``rate`` times in the trailing ``window``.

    Unlike a leaky bucket this has no burst allowance: no window of ``window`` seconds ever holds more
    than ``rate`` admitted requests, which is what a client tuned for CloudWatch must live with.
    Refused requests take no capacity. ``clock`` returns seconds; by default it is the running event
    loop's clock, so tests can drive it with looptime or pass a fake.
    """

    __slots__ = ("rate", "window", "_clock", "_admitted", "_peak")

    def __init__(self, rate: float, *, window: float = 1.0, clock: Callable[[], float] | None = None) -> None:
        if rate <= 0 or window <= 0:
            raise ValueError(f"rate and window must be positive, got rate={rate!r} window={window!r}")
        self.rate = rate
        self.window = window
        self._clock = clock or _loop_time
        # Per key: the admission times still inside the window, oldest first.
        self._admitted: dict[str, deque[float]] = {}
        # Per key: the most admissions ever seen inside one window, i.e. the busiest second so far.
        self._peak: dict[str, int] = {}

    def try_acquire(self, key: str) -> bool:
        """Admit one request for ``key`` now, or refuse it (and record nothing)."""
        now = self._clock()
        times = self._admitted.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.rate:
            return False
        times.append(now)
        self._peak[key] = max(self._peak.get(key, 0), len(times))
        return True

    def peak(self, key: str | None = None) -> int:
        """Most requests admitted for ``key`` (or for any one key) within any ``window``-long span."""
        if key is not None:
            return self._peak.get(key, 0)
        return max(self._peak.values(), default=0)

    def __repr__(self) -> str:
        try:
            since = self._clock() - self.window
        except RuntimeError:  # the default clock outside a running loop
            since = float("-inf")
        busy = {key: n for key, times in self._admitted.items() if (n := sum(t > since for t in times))}
        return f"<SlidingWindowLimiter rate={self.rate:g}/{self.window:g}s in-window={busy} peak={self.peak()}>"
