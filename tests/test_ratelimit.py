"""The limiter on a fake clock (looptime): loop time only advances when every task waits."""

import asyncio

import pytest

from reportgen.ratelimit import StrictRateLimiter, max_in_any_window


async def _acquire_all(limiter: StrictRateLimiter, n: int) -> list[float]:
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        times.append(loop.time())

    async with asyncio.TaskGroup() as group:
        for _ in range(n):
            group.create_task(one())
    return sorted(times)


@pytest.mark.looptime
async def test_never_more_than_rate_in_any_second() -> None:
    times = await _acquire_all(StrictRateLimiter(20), 200)
    assert max_in_any_window(times) == 20


@pytest.mark.looptime
async def test_requests_are_evenly_spaced_at_just_under_the_rate() -> None:
    times = await _acquire_all(StrictRateLimiter(20, margin=0.03), 101)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 1 / 20
    assert times[-1] - times[0] == pytest.approx(100 / (20 * 0.97), rel=1e-3)


@pytest.mark.looptime
async def test_no_burst_after_an_idle_spell() -> None:
    limiter = StrictRateLimiter(20)
    first = await _acquire_all(limiter, 20)
    await asyncio.sleep(30)  # idle on the fake clock: a leaky bucket of capacity 20 would refill
    second = await _acquire_all(limiter, 40)
    assert max_in_any_window(second) == 20
    assert max_in_any_window(first + second) == 20


@pytest.mark.looptime
async def test_records_every_grant_for_the_run_summary() -> None:
    limiter = StrictRateLimiter(5)
    times = await _acquire_all(limiter, 12)
    assert list(limiter.granted) == times
    assert "granted=12" in repr(limiter)


@pytest.mark.parametrize("rate, margin", [(0, 0.03), (-1, 0.03), (20, 1.0), (20, -0.1)])
async def test_rejects_nonsense_settings(rate: float, margin: float) -> None:
    with pytest.raises(ValueError):
        StrictRateLimiter(rate, margin=margin)


@pytest.mark.parametrize("times, expected", [
    ([], 0),
    ([0.0], 1),
    ([0.0, 0.5, 0.999], 3),
    ([0.0, 0.5, 1.0], 2),         # the window is half-open: [t, t + 1)
    ([0.0, 0.1, 0.2, 1.15, 1.16, 1.17, 1.18], 5),  # [0.2, 1.2)
])
def test_max_in_any_window(times: list[float], expected: int) -> None:
    assert max_in_any_window(times) == expected
