"""The limiter on a real event loop, with its second shortened to a tenth (``per=0.1``) so tests are quick.

What is asserted holds however late the loop runs: the limit on the wire, the least spacing of turns, the most
a run can be paced at. How close to the rate a run gets is for ``make bench`` to measure.
"""

import asyncio
import gc
import time

import pytest

from reportgen.ratelimit import (
    DEFAULT_MARGIN,
    OPENING_ALLOWANCE,
    StrictRateLimiter,
    collecting_between_departures,
    departing,
    max_in_any_window,
    on_departure,
)

PER = 0.1  # the limiter's "second"


async def _go_out(limiter: StrictRateLimiter, n: int, *, leave: bool = True) -> list[float]:
    """``n`` requests wanting their turn at once, each going straight out once it has it (``leave``): the loop
    time each left (or, without ``leave``, got its turn)."""
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        if leave:
            await limiter.depart()
        times.append(loop.time())

    async with asyncio.TaskGroup() as group:
        for _ in range(n):
            group.create_task(one())
    return sorted(times)


async def test_never_more_than_rate_on_the_wire_in_any_second() -> None:
    limiter = StrictRateLimiter(20, per=PER)
    checked = await _go_out(limiter, 100)
    assert max_in_any_window(checked, PER) <= 20
    assert len(limiter.left) == 100 and max_in_any_window(limiter.left, PER) <= 20  # as they were written


async def test_requests_bunched_on_their_way_out_are_held_to_the_limit() -> None:
    # Sixty requests get their turns one after another, then are held up before the wire (a stalled event
    # loop, connections being opened) and all try to leave at once: without the check, sixty in an instant.
    limiter = StrictRateLimiter(20, per=PER)
    for _ in range(60):
        await limiter.acquire()
    loop = asyncio.get_running_loop()

    async def leave() -> float:
        await limiter.depart()
        return loop.time()

    left = sorted(await asyncio.gather(*(leave() for _ in range(60))))
    assert max_in_any_window(left, PER) <= 20
    assert limiter.held >= 40  # all but the first second's worth waited
    assert left[-1] - left[0] < 3 * PER * 1.1  # and only as long as the limit asks


async def test_the_first_second_leaves_room_for_opening_connections() -> None:
    limiter = StrictRateLimiter(20, per=PER)
    left = [await _go_out(limiter, 1) for _ in range(21)]
    assert left[20][0] - left[0][0] >= PER * (1 + OPENING_ALLOWANCE)


async def test_turns_are_evenly_spaced_just_under_the_rate() -> None:
    turns = await _go_out(StrictRateLimiter(20, per=PER, margin=0.03), 61, leave=False)
    spacing = PER / (20 * 0.97)
    gaps = [b - a for a, b in zip(turns, turns[1:])]
    # A turn may come early by a fifth of the spacing to make up for one that came late, never sooner...
    assert min(gaps) >= 0.8 * spacing * 0.999
    # ...so the run as a whole is never paced over the rate less its margin.
    assert turns[-1] - turns[0] >= (60 - 0.2) * spacing * 0.999


async def test_no_burst_after_an_idle_spell() -> None:
    limiter = StrictRateLimiter(20, per=PER)
    first = await _go_out(limiter, 20)
    await asyncio.sleep(3 * PER)  # idle: a leaky bucket of capacity 20 would refill
    second = await _go_out(limiter, 40)
    assert max_in_any_window(second, PER) <= 20
    assert max_in_any_window(first + second, PER) <= 20


async def test_slow_limits_let_one_request_out_per_interval() -> None:
    limiter = StrictRateLimiter(0.5, per=PER)  # one request in two tenths
    left = await _go_out(limiter, 4)
    assert all(b - a >= 2 * PER * (1 + DEFAULT_MARGIN) * 0.999 for a, b in zip(left, left[1:]))


async def test_records_every_turn_and_departure_for_the_run_summary() -> None:
    limiter = StrictRateLimiter(50, per=PER)
    left = await _go_out(limiter, 12)
    assert len(limiter.granted) == len(limiter.left) == 12
    assert limiter.granted[0] <= left[0] <= limiter.left[0] and limiter.left == sorted(limiter.left)
    assert "granted=12" in repr(limiter)
    assert limiter.rate == pytest.approx(500)  # per second


async def test_the_check_on_the_wire_is_made_for_the_limiter_of_the_call() -> None:
    limiter = StrictRateLimiter(20)
    await on_departure(request=None)  # outside a call: nothing to check, nothing counted
    assert limiter.left == []
    with departing(limiter):
        await on_departure(request=None)
    await on_departure(request=None)
    await asyncio.sleep(0)  # a departure is counted at the next turn of the loop, as the request is written
    assert len(limiter.left) == 1


async def test_a_departure_counts_when_the_request_is_written_not_when_it_is_checked() -> None:
    # aiohttp writes a request from a task of its own, a turn after botocore's before-send; whatever else that
    # turn holds (here 30 ms of work) makes it leave later, and the count must follow it there.
    limiter = StrictRateLimiter(20, per=PER)
    loop = asyncio.get_running_loop()

    async def write() -> float:
        return loop.time()

    await limiter.acquire()
    await limiter.depart()
    checked = loop.time()
    time.sleep(0.03)  # the rest of the turn: work of other tasks
    written = await asyncio.create_task(write())
    assert checked + 0.03 <= limiter.left[0] <= written


async def test_a_turn_that_stalls_past_the_window_lets_no_request_out_beside_those_it_holds() -> None:
    # Twenty requests leave in one turn of the loop, which then stalls for longer than the window before a
    # twenty-first tries to leave in it: all twenty-one would be written together, at the next turn.
    limiter = StrictRateLimiter(20, per=PER)
    for _ in range(20):
        await limiter.depart()  # never waits: all in this turn
    time.sleep(PER * 1.5)  # the stall: work of other tasks in the same turn
    await limiter.depart()
    assert limiter.held == 1
    assert max_in_any_window(limiter.left, PER) <= 20


async def test_while_requests_are_paced_the_collector_runs_only_as_one_is_about_to_leave() -> None:
    # A collection between a request's count and its write would make it leave later than counted.
    collections: list[int] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    limiter = StrictRateLimiter(20, per=PER)
    gc.callbacks.append(record)
    try:
        with collecting_between_departures():
            assert not gc.isenabled()
            alive = [[] for _ in range(3 * gc.get_threshold()[0])]  # well past the young generation's threshold
            assert collections == []
            await limiter.acquire()
            await limiter.depart()
            assert len(collections) == 1
        assert gc.isenabled()
    finally:
        gc.callbacks.remove(record)
    assert len(alive) > 0


@pytest.mark.parametrize("rate, per, margin", [(0, 1, 0.03), (-1, 1, 0.03), (20, 0, 0.03), (20, 1, 1.0),
                                               (20, 1, -0.1)])
async def test_rejects_nonsense_settings(rate: float, per: float, margin: float) -> None:
    with pytest.raises(ValueError):
        StrictRateLimiter(rate, per=per, margin=margin)


@pytest.mark.parametrize("times, expected", [
    ([], 0),
    ([0.0], 1),
    ([0.0, 0.5, 0.999], 3),
    ([0.0, 0.5, 1.0], 2),         # the window is half-open: [t, t + 1)
    ([0.0, 0.1, 0.2, 1.15, 1.16, 1.17, 1.18], 5),  # [0.2, 1.2)
])
def test_max_in_any_window(times: list[float], expected: int) -> None:
    assert max_in_any_window(times) == expected
