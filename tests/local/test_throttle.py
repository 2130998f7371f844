"""The per-key sliding-window limiter, driven by a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from reportgen.local.throttle import SlidingWindowLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_admits_rate_requests_then_refuses(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(20, clock=clock)
    assert [limiter.try_acquire("a") for _ in range(25)] == [True] * 20 + [False] * 5


def test_capacity_returns_exactly_one_window_after_each_admission(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(2, clock=clock)
    assert limiter.try_acquire("a")
    clock.now += 0.4
    assert limiter.try_acquire("a")
    clock.now += 0.5  # 0.9 s after the first
    assert not limiter.try_acquire("a")
    clock.now += 0.1  # the first has left the window
    assert limiter.try_acquire("a")
    assert not limiter.try_acquire("a")
    clock.now += 0.4  # now the second has left too
    assert limiter.try_acquire("a")


def test_refused_requests_take_no_capacity(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(1, clock=clock)
    assert limiter.try_acquire("a")
    for _ in range(10):
        clock.now += 0.09
        assert not limiter.try_acquire("a")
    clock.now += 0.1  # 1.0 s after the only admission, however many refusals came in between
    assert limiter.try_acquire("a")


def test_keys_are_limited_separately(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(3, clock=clock)
    assert [limiter.try_acquire(key) for key in "aaabbbab"] == [True] * 6 + [False, False]


def test_peak_is_the_busiest_window_per_key_and_overall(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(5, clock=clock)
    for _ in range(3):
        limiter.try_acquire("a")
        clock.now += 0.3
    limiter.try_acquire("a")  # 0.9 s after the first: four in one window
    clock.now += 5
    limiter.try_acquire("b")
    assert (limiter.peak("a"), limiter.peak("b"), limiter.peak("c"), limiter.peak()) == (4, 1, 0, 4)
    assert repr(limiter) == "<SlidingWindowLimiter rate=5/1s in-window={'b': 1} peak=4>"


def test_fractional_rate_rounds_up(clock: FakeClock) -> None:
    limiter = SlidingWindowLimiter(2.5, clock=clock)
    assert [limiter.try_acquire("a") for _ in range(4)] == [True, True, True, False]


@pytest.mark.parametrize("rate", [0, -1])
def test_rate_must_be_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        SlidingWindowLimiter(rate)


@pytest.mark.looptime
async def test_defaults_to_the_event_loop_clock() -> None:
    limiter = SlidingWindowLimiter(2)
    assert limiter.try_acquire("a") and limiter.try_acquire("a")
    assert not limiter.try_acquire("a")
    await asyncio.sleep(1)  # fake time: looptime moves the loop's clock, nothing waits
    assert limiter.try_acquire("a")
