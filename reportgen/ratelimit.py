"""A strict request-rate limit for one CloudWatch account and region, and a record of what it let through.

CloudWatch allows GetMetricWidgetImage 20 times per second. aiolimiter's ``AsyncLimiter(20, 1)`` is a
leaky bucket of capacity 20: after an idle spell it lets a burst of 20 through and then one every 50 ms,
about 39 in the first second. We give the bucket a capacity of just over one request instead, so requests get
their turns evenly spaced at a small margin under the rate: the fraction over one lets a turn given late (timers
fire late, the woken task runs later still) be followed by the next that much sooner, so lateness does not add
up over thousands of requests and cost the rate.

Even spacing at the limiter is not yet even spacing on the wire: a request whose turn has come can still be
held up on its way out (the event loop busy with a garbage collection, a burst of new tasks, a starved CPU)
and then leave together with the next ones. So each request also passes a second check as it goes on the
wire (``depart``, called from botocore's ``before-send`` event): no more than ``rate`` requests leave in any
one second (plus the margin), counted at the moment they really leave. It never waits while requests flow as
paced; after a stall it holds back the request that would make a second too full, so what a stall bunches
up on the wire cannot push the server's count over the limit.

aiohttp writes a request from a task of its own, a turn of the event loop after botocore's ``before-send``, and
the rest of that turn (other requests' answers, a report handed to its PDF worker) can take milliseconds: a
departure is counted at the next turn, just before that write (until then, as leaving now). A garbage
collection between the count and the write would make the request leave later still (one over botocore's
models took 150 ms, a young one up to 10), and the server would meet it together with the next second's
first. So while a run paces requests (``collecting_between_departures``), the collector runs only as a
request is about to be counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import math
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

from aiolimiter import AsyncLimiter

from reportgen.model import API_QUOTAS

# Paced at 1 % under the rate, twenty requests span 10 ms more than a second: lateness between the wire and
# the server's count up to that is absorbed. It costs 1 % of the rate.
DEFAULT_MARGIN = 0.01

# The bucket's capacity, in requests: a turn may come up to a fifth of the spacing early to make up for one
# that came late.
_CAPACITY = 1.2

# The first requests of a run open their connections after they leave our hands (TCP, and TLS to AWS), and
# the server opens its side: they reach it later than they leave, by more than the margin. The first second's
# departures count as this much of a second later.
OPENING_ALLOWANCE = 0.05

# The limiter of the call the current task is making, for the check on the wire (botocore's events carry no
# context of ours).
_departing: contextvars.ContextVar[StrictRateLimiter | None] = contextvars.ContextVar("departing", default=None)


class StrictRateLimiter:
    """Gives requests their turns evenly spaced just under ``rate`` in ``per`` seconds (default one), and lets at
    most ``rate`` of them onto the wire in any ``per`` seconds.

    ``await limiter.acquire()`` before each attempt, retries included; ``depart`` is awaited as the request
    goes out (``departing`` arranges it for calls made through botocore). Create it inside the running event
    loop; it keeps the loop time of every turn and departure so a run can report what it achieved.
    """

    __slots__ = ("rate", "_bucket", "_loop", "granted", "left", "_window", "_opening", "_burst", "_departed",
                 "_counted", "held")

    def __init__(self, rate: float, *, per: float = 1.0, margin: float = DEFAULT_MARGIN) -> None:
        if rate <= 0 or per <= 0:
            raise ValueError(f"rate and per must be positive, not {rate!r} and {per!r}")
        if not 0 <= margin < 1:
            raise ValueError(f"margin must be in [0, 1), not {margin!r}")
        self.rate = rate / per  # per second
        self._bucket = AsyncLimiter(_CAPACITY, _CAPACITY * per / (rate * (1 - margin)))
        self._loop = asyncio.get_running_loop()
        self.granted: list[float] = []  # loop times of every acquisition, oldest first
        self.left: list[float] = []     # loop times of every departure, oldest first
        # At most ``_burst`` departures in any ``_window`` seconds: ``rate`` in ``per`` (one in ``per / rate``
        # when that is longer), with the margin: about the span of as many paced requests, so ``depart``
        # waits only when requests leave closer together than they were paced.
        self._window = (1 + margin) * per * max(1.0, 1 / rate)
        self._opening = OPENING_ALLOWANCE * per
        self._burst = max(1, math.floor(rate))
        self._departed: deque[list[float]] = deque(maxlen=self._burst)  # when each left, as a list to correct
        self._counted = 0
        self.held = 0  # departures ``depart`` had to hold back

    async def acquire(self) -> None:
        """Wait for this request's turn. Waiters are served in the order they arrived."""
        await self._bucket.acquire()
        self.granted.append(self._loop.time())

    async def depart(self) -> None:
        """Wait until a request whose turn has come may go on the wire without making any one second hold more
        than ``rate`` of them, and count it as leaving now."""
        departed, held = self._departed, False
        # (A microsecond's tolerance: a clock that advances by exactly the time slept may land a rounding
        # error short of the deadline, for ever.)
        while len(departed) == self._burst and (wait := self._since(departed[0]) + self._window
                                                - self._loop.time()) > 1e-6:
            held = True
            await asyncio.sleep(wait)
        self.held += held
        _collect_if_due()
        self._counted += 1
        late = self._opening if self._counted <= self._burst else 0.0
        # Counted at the next turn of the loop, when it is written: aiohttp writes a request from a task of its
        # own, which runs after whatever else this turn holds. Until then it counts as leaving now.
        departure = [math.nan]
        departed.append(departure)
        self._loop.call_soon(self._written, departure, late)

    def _since(self, departure: list[float]) -> float:
        """When ``departure`` counts as having left: now, if it has not been written yet (a turn that stalls
        past the window must not let the next request out beside it)."""
        return self._loop.time() if math.isnan(departure[0]) else departure[0]

    def _written(self, departure: list[float], late: float) -> None:
        now = self._loop.time()
        departure[0] = now + late
        self.left.append(now)

    def __repr__(self) -> str:
        return f"<StrictRateLimiter rate={self.rate}/s granted={len(self.granted)}>"


@contextlib.contextmanager
def departing(limiter: StrictRateLimiter) -> Iterator[None]:
    """While in this block, requests the current task sends pass ``limiter.depart()`` on their way out."""
    token = _departing.set(limiter)
    try:
        yield
    finally:
        _departing.reset(token)


async def on_departure(**_: Any) -> None:
    """botocore's ``before-send`` handler: the check on the wire for the limiter of the call being made."""
    limiter = _departing.get()
    if limiter is not None:
        await limiter.depart()


class _Collections:
    """Who asked for garbage collections between departures, and the collector's state before the first did."""

    runs = 0
    was_enabled = False


@contextlib.contextmanager
def collecting_between_departures() -> Iterator[None]:
    """While in this block, the garbage collector runs only as a request is about to be counted leaving (the
    collection the interpreter would have made then), and never over what is alive as the block starts (a
    run's models, clients and plans, frozen: none of it becomes garbage while requests are paced). Blocks may
    overlap; the last to end restores the collector."""
    if _Collections.runs == 0:
        _Collections.was_enabled = gc.isenabled()
        gc.freeze()
        gc.disable()
    _Collections.runs += 1
    try:
        yield
    finally:
        _Collections.runs -= 1
        if _Collections.runs == 0:
            gc.unfreeze()
            if _Collections.was_enabled:
                gc.enable()


def _collect_if_due() -> None:
    """The collection the interpreter would make now, if it is due: the oldest generation past its threshold.
    (CPython also puts off the oldest until its survivors have grown by a quarter, which is not visible from
    here: it comes more often, over only what the run made, the rest being frozen.)"""
    if not _Collections.runs or not _Collections.was_enabled:
        return
    young, middle, old = gc.get_count()
    young_limit, middle_limit, old_limit = gc.get_threshold()
    if young_limit and young > young_limit:
        gc.collect(2 if old > old_limit else 1 if middle > middle_limit else 0)


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
