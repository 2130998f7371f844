"""The stand-in misbehaving on demand, answering fast on demand, and counting arrivals where CloudWatch would:
what proving a client under load and faults needs.

    Chaos        for each admitted request, one seeded draw: answer, throttle, fail (500/503), reset the
                 connection mid-response or trickle the body; and how late to answer
    FastImages   one drawn PNG per width × height, answered from then on without drawing
    Arrivals     requests per access key and per account in every second, and in the busiest 1 s, as the
                 service counts them: on arrival, throttled or not
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import math
import random
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiohttp import web

from reportgen.local.faults import service_error
from reportgen.local.protocols import Reply, ServiceError
from reportgen.local.throttle import SlidingWindowLimiter

SLOW_BODY_INTERVAL = 1.0  # seconds between the bytes of a trickled body: past any client's per-read timeout
HOUR = 3600  # seconds of per-second arrival counts kept


class Outcome(enum.Enum):
    """What happens to one admitted request; the values name its count in the stats."""

    ANSWER = "answered"
    THROTTLED = "throttled"
    ERROR = "errors"
    RESET = "resets"
    SLOW = "slow"


@dataclass(frozen=True, slots=True)
class Decision:
    """One request's fate: its outcome, seconds to wait before answering, and the error to answer (for
    THROTTLED and ERROR)."""

    outcome: Outcome
    delay: float = 0.0
    error: ServiceError | None = None

    @property
    def on_the_wire(self) -> bool:
        """Whether the answer is computed as usual but delivered broken (see ``Chaos.deliver``)."""
        return self.outcome in (Outcome.RESET, Outcome.SLOW)


CALM = Decision(Outcome.ANSWER)


class Chaos:
    """Seeded misbehaviour: the same ``seed`` gives the same decisions for the same sequence of requests.

    The four fractions are shares of one uniform draw laid side by side, so each is exactly that share of
    the requests in the long run and they must add up to at most 1; errors split evenly between
    InternalServiceError (500) and ServiceUnavailable (503). Each answer waits ``latency_ms`` ±
    ``jitter_ms`` (uniform), whatever its outcome. ``ValueError`` names a setting out of range.
    """

    __slots__ = ("latency", "jitter", "seed", "fractions", "_bands", "_split", "_random", "_closing", "_trickling",
                 "counts")

    def __init__(self, *, latency_ms: float = 0.0, jitter_ms: float = 0.0, throttle_fraction: float = 0.0,
                 error_fraction: float = 0.0, reset_fraction: float = 0.0, slow_body_fraction: float = 0.0,
                 seed: int = 0) -> None:
        if not (math.isfinite(latency_ms) and 0 <= jitter_ms <= latency_ms):
            raise ValueError(f"latency must be at least 0 ms and at least its jitter, got {latency_ms:g}:{jitter_ms:g}")
        names = {"throttle": throttle_fraction, "error": error_fraction, "reset": reset_fraction,
                 "slow body": slow_body_fraction}
        for name, fraction in names.items():
            if not 0 <= fraction <= 1:
                raise ValueError(f"the {name} fraction must be from 0 to 1, got {fraction!r}")
        if sum(names.values()) > 1:
            raise ValueError(f"the throttle, error, reset and slow body fractions add up to {sum(names.values()):g}, "
                             "more than 1")
        self.latency = latency_ms / 1000
        self.jitter = jitter_ms / 1000
        self.fractions = dict(zip((Outcome.THROTTLED, Outcome.ERROR, Outcome.RESET, Outcome.SLOW), names.values()))
        # A draw below a band's bound, and not below the one before, has that band's outcome.
        self._bands = tuple(zip(itertools.accumulate(self.fractions.values()), self.fractions))
        self._split = throttle_fraction + error_fraction / 2  # errors below it are 500s, the rest 503s
        self.seed = seed
        self._random = random.Random(seed)
        self._closing = asyncio.Event()
        self._trickling = 0
        self.counts = dict.fromkeys((outcome.value for outcome in Outcome if outcome is not Outcome.ANSWER), 0)

    def decide(self) -> Decision:
        """The next request's fate: one draw for its outcome, then one for its delay if there is jitter."""
        draw = self._random.random()
        outcome = next((outcome for bound, outcome in self._bands if draw < bound), Outcome.ANSWER)
        delay = self._random.uniform(self.latency - self.jitter, self.latency + self.jitter) if self.jitter \
            else self.latency
        if outcome is Outcome.ANSWER:
            return Decision(outcome, delay)
        self.counts[outcome.value] += 1
        error = None
        if outcome is Outcome.THROTTLED:
            error = service_error("Throttling")
        elif outcome is Outcome.ERROR:
            error = service_error("InternalServiceError" if draw < self._split else "ServiceUnavailable")
        return Decision(outcome, delay, error)

    async def deliver(self, request: web.Request, reply: Reply, outcome: Outcome) -> web.StreamResponse:
        """Send ``reply`` broken as ``outcome`` says. RESET: the status line, the headers and half the body,
        then a connection reset. SLOW: the headers, then a byte every ``SLOW_BODY_INTERVAL`` seconds until
        the body is whole or the client goes away; a body still trickling when the stand-in stops is reset."""
        stream = web.StreamResponse(status=reply.status, headers={"Content-Type": reply.content_type,
                                                                  **reply.headers})
        stream.content_length = len(reply.body)
        await stream.prepare(request)
        try:
            if outcome is Outcome.RESET:
                await stream.write(reply.body[:len(reply.body) // 2])
            elif await self._trickle(stream, reply.body):
                return stream
        except ConnectionResetError:  # the client went away: nothing left to break
            return stream
        _reset(request)
        return stream

    async def _trickle(self, stream: web.StreamResponse, body: bytes) -> bool:
        """Write ``body`` a byte at a time; whether it was all written before the stand-in began to stop."""
        self._trickling += 1
        try:
            for index in range(len(body)):
                if index and await self._closing_within(SLOW_BODY_INTERVAL):
                    return False
                await stream.write(body[index:index + 1])
            return True
        finally:
            self._trickling -= 1

    async def _closing_within(self, seconds: float) -> bool:
        """Wait ``seconds``, or less if the stand-in begins to stop; whether it did."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._closing.wait()
        return self._closing.is_set()

    def close(self) -> None:
        """End every trickling body now (with a reset): the server waits for open requests when it stops."""
        self._closing.set()

    def stats(self) -> dict[str, int]:
        """Requests given each outcome but a plain answer so far, and bodies trickling now."""
        return {**self.counts, "trickling": self._trickling}

    @property
    def calm(self) -> bool:
        """Whether every request is answered as usual, at once."""
        return not (self.latency or any(self.fractions.values()))

    def __repr__(self) -> str:
        shares = " ".join(f"{outcome.value}={share:g}" for outcome, share in self.fractions.items() if share)
        return (f"<Chaos latency={self.latency * 1000:g}±{self.jitter * 1000:g}ms {shares or 'no faults'} "
                f"seed={self.seed} so far={self.stats()}>")


def _reset(request: web.Request) -> None:
    """Drop the connection with a TCP reset. A plain close would end a short body with a FIN, which botocore
    takes for the end of a complete answer: it does not hold the body to its Content-Length."""
    transport = request.transport
    if transport is None:  # already gone
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class FastImages:
    """PNGs by size: the first request for a width × height has ``draw`` make one, later ones get it at once.

    Concurrent first requests for a size share one drawing; a drawing that fails is forgotten, so the next
    request tries again. At most ``limit`` sizes are kept, the oldest dropped first.
    """

    __slots__ = ("_draw", "_limit", "_drawn")

    def __init__(self, draw: Callable[[int, int], Awaitable[bytes]], *, limit: int = 64) -> None:
        self._draw = draw
        self._limit = limit
        self._drawn: dict[tuple[int, int], asyncio.Future[bytes]] = {}

    async def png(self, width: int, height: int) -> bytes:
        size = (width, height)
        drawing = self._drawn.get(size)
        if drawing is None:
            if len(self._drawn) >= self._limit:
                del self._drawn[next(iter(self._drawn))]
            drawing = self._drawn[size] = asyncio.ensure_future(self._draw(width, height))
            drawing.add_done_callback(partial(self._forget_failure, size))
        # Shielded: one waiter going away must not cancel the drawing the others wait for.
        return await asyncio.shield(drawing)

    def _forget_failure(self, size: tuple[int, int], drawing: asyncio.Future[bytes]) -> None:
        if (drawing.cancelled() or drawing.exception() is not None) and self._drawn.get(size) is drawing:
            del self._drawn[size]

    def __repr__(self) -> str:
        return f"<FastImages sizes={sorted(self._drawn)}>"


class _Tally:
    """One group's arrivals (access keys, or accounts) by name: counts per whole second, the last ``HOUR`` of
    them, and the most within any 1 s, of all arrivals and of those admitted."""

    __slots__ = ("_seconds", "_arrived", "_admitted")

    def __init__(self, clock: Callable[[], float]) -> None:
        # Per name: {second since the first arrival: requests}, oldest first since seconds only grow.
        self._seconds: dict[str, dict[int, int]] = {}
        # Limiters that never refuse keep the busiest window for us.
        self._arrived = SlidingWindowLimiter(math.inf, clock=clock)
        self._admitted = SlidingWindowLimiter(math.inf, clock=clock)

    def record(self, name: str, second: int, *, admitted: bool) -> None:
        seconds = self._seconds.setdefault(name, {})
        seconds[second] = seconds.get(second, 0) + 1
        while (oldest := next(iter(seconds))) <= second - HOUR:
            del seconds[oldest]
        self._arrived.try_acquire(name)
        if admitted:
            self._admitted.try_acquire(name)

    def admitted_peak(self, name: str) -> int:
        return self._admitted.peak(name)

    def to_json(self, first: int, last: int) -> dict[str, dict[str, Any]]:
        return {name: {"per_second": [seconds.get(second, 0) for second in range(first, last + 1)],
                       "max_in_any_second": self._arrived.peak(name),
                       "admitted_max_in_any_second": self._admitted.peak(name)}
                for name, seconds in self._seconds.items()}


class Arrivals:
    """Arrivals of one operation, counted as the service counts them for its quota: every request that
    arrives, throttled or not, by access key and by account.

    Seconds are whole seconds of ``clock`` (default: the running event loop's) since the first arrival;
    every key's and account's counts run over the same seconds, up to the latest arrival, at most the last
    ``HOUR`` of them.
    """

    __slots__ = ("operation", "keys", "accounts", "_clock", "_origin", "_last")

    def __init__(self, operation: str, *, clock: Callable[[], float] | None = None) -> None:
        self.operation = operation
        self._clock = clock or (lambda: asyncio.get_running_loop().time())
        self.keys = _Tally(self._clock)
        self.accounts = _Tally(self._clock)
        self._origin: float | None = None
        self._last = 0

    def record(self, key: str, account: str, *, admitted: bool) -> None:
        """Count a request of ``key``, of ``account``, arriving now; ``admitted`` if the rate limit let it in."""
        now = self._clock()
        if self._origin is None:
            self._origin = now
        second = max(math.floor(now - self._origin), self._last)  # a clock never runs back, a fake one may
        self._last = second
        self.keys.record(key, second, admitted=admitted)
        self.accounts.record(account, second, admitted=admitted)

    def to_json(self) -> dict[str, Any]:
        """The ``/_reportgen/arrivals`` document: ``per_second[i]`` counts second ``first_second + i``."""
        first = max(self._last - HOUR + 1, 0)
        return {"operation": self.operation, "first_second": first,
                "keys": self.keys.to_json(first, self._last), "accounts": self.accounts.to_json(first, self._last)}

    def __repr__(self) -> str:
        return f"<Arrivals {self.operation} seconds={self._last + 1 if self._origin is not None else 0}>"
