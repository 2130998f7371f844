"""CloudWatch's statistics over a period's samples, checked against numpy on known data."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pytest

from reportgen.local.aggregate import Periods, Samples, ValueTables, by_period, compute, parse_statistic

Floats = npt.NDArray[np.float64]
RNG = np.random.default_rng(20261126)
# 100 latencies: a lognormal body with a few slow outliers; 100 makes every percent a whole sample.
LATENCIES = np.round(np.concatenate([RNG.lognormal(3, 0.5, 96), [400.0, 650.0, 900.0, 1500.0]]), 3)
RNG.shuffle(LATENCIES)


def samples(values: Floats, counts: Floats | None = None, *, start: int = 0, step: int = 1) -> Samples:
    """One row per value (``counts`` copies of it), ``step`` seconds apart from ``start``."""
    counts = np.ones(len(values)) if counts is None else counts
    timestamps = start + step * np.arange(len(values), dtype=np.int64)
    return Samples(timestamps, counts, values * counts, values.copy(), values.copy(), values.copy())


def one_period(statistic: str, values: Floats, counts: Floats | None = None) -> float:
    result = compute(parse_statistic(statistic), by_period(samples(values, counts), 0, 10 ** 9))
    assert result.shape == (1,)
    return float(result[0])


def ordered(x: Floats) -> Floats:
    return np.sort(x)


def nearest_rank(q: float) -> Callable[[Floats], float]:
    return lambda x: float(np.percentile(x, q, method="inverted_cdf"))


def inside(low: float, high: float) -> Callable[[Floats], Floats]:
    return lambda x: x[(x > low) & (x <= high)]


AGAINST_NUMPY: dict[str, Callable[[Floats], float]] = {
    "SampleCount": lambda x: float(len(x)),
    "Sum": lambda x: float(x.sum()),
    "Average": lambda x: float(x.mean()),
    "Minimum": lambda x: float(x.min()),
    "Maximum": lambda x: float(x.max()),
    **{f"p{q}": nearest_rank(float(q))
       for q in ("0", "1", "10", "25", "50", "75", "90", "95", "99", "99.5", "99.9", "100", "33.33")},
    "TM(10%:90%)": lambda x: float(ordered(x)[10:90].mean()),
    "tm90": lambda x: float(ordered(x)[:90].mean()),
    "TM(:95%)": lambda x: float(ordered(x)[:95].mean()),
    "TM(5%:)": lambda x: float(ordered(x)[5:].mean()),
    "IQM": lambda x: float(ordered(x)[25:75].mean()),
    "TM(20:40)": lambda x: float(inside(20, 40)(x).mean()),
    "TS(10%:90%)": lambda x: float(ordered(x)[10:90].sum()),
    "ts99": lambda x: float(ordered(x)[:99].sum()),
    "TC(10%:90%)": lambda x: 80.0,
    "tc90": lambda x: 90.0,
    "TC(20:40)": lambda x: float(len(inside(20, 40)(x))),
    "TS(:30)": lambda x: float(inside(-math.inf, 30)(x).sum()),
    # Winsorized: the trimmed tails take the value at the edge of what is kept.
    "WM(10%:90%)": lambda x: float(np.clip(x, ordered(x)[10], ordered(x)[89]).mean()),
    "wm98": lambda x: float(np.clip(x, None, ordered(x)[97]).mean()),
    "WM(15:60)": lambda x: float(np.clip(x, 15, 60).mean()),
    "PR(:30)": lambda x: float(100 * np.mean(x <= 30)),
    "PR(20:40)": lambda x: float(100 * np.mean((x > 20) & (x <= 40))),
    "PR(100:)": lambda x: float(100 * np.mean(x > 100)),
}


@pytest.mark.parametrize("statistic", AGAINST_NUMPY, ids=AGAINST_NUMPY.keys())
def test_statistics_agree_with_numpy(statistic: str) -> None:
    assert one_period(statistic, LATENCIES) == pytest.approx(AGAINST_NUMPY[statistic](LATENCIES), rel=1e-12)


def test_a_percent_cut_inside_a_sample_counts_part_of_it() -> None:
    # 10 samples, TM(15%:85%): keep mass 1.5 … 8.5, i.e. half of the 2nd and 9th smallest.
    x = np.arange(1.0, 11.0)
    weights = np.array([0, 0.5, 1, 1, 1, 1, 1, 1, 0.5, 0])
    assert one_period("TC(15%:85%)", x) == pytest.approx(7.0)
    assert one_period("TS(15%:85%)", x) == pytest.approx(float(x @ weights))
    assert one_period("TM(15%:85%)", x) == pytest.approx(float(np.average(x, weights=weights)))


def test_counts_weigh_like_repeated_values() -> None:
    values, counts = np.array([5.0, 1.0, 9.0, 3.0]), np.array([3.0, 10.0, 1.0, 6.0])
    expanded = np.repeat(values, counts.astype(int))
    for statistic in ("SampleCount", "Sum", "Average", "p50", "p90", "p95", "TM(10%:90%)", "WM(10%:90%)", "PR(:3)"):
        expected = one_period(statistic, expanded)
        assert one_period(statistic, values, counts) == pytest.approx(expected, rel=1e-12), statistic


def test_periods_group_from_the_start_and_skip_empty_ones() -> None:
    # Values 0 … 9 a minute apart from t=30, with a 10-minute gap after the fifth; 5-minute periods from t=0.
    timestamps = np.array([30, 90, 150, 210, 270, 930, 990, 1050, 1110, 1170, 1230], dtype=np.int64)
    x = np.arange(11.0)
    periods = by_period(Samples(timestamps, np.ones(11), x, x, x, x), 0, 300)
    assert periods.starts.tolist() == [0, 900, 1200]
    assert [compute(parse_statistic(name), periods).tolist() for name in ("Sum", "Maximum", "SampleCount")] == [
        [10.0, 35.0, 10.0], [4.0, 9.0, 10.0], [5.0, 5.0, 1.0]]


def test_summary_only_statistic_sets_have_no_value_statistics() -> None:
    # A statistic set of 4 samples between 1 and 7: its sum and extremes are known, its samples are not.
    rows = Samples(np.array([0, 1]), np.array([4.0, 1.0]), np.array([16.0, 2.0]), np.array([1.0, 2.0]),
                   np.array([7.0, 2.0]), np.array([math.nan, 2.0]))
    periods = by_period(rows, 0, 60)
    assert [compute(parse_statistic(name), periods).tolist() for name in ("SampleCount", "Average", "Maximum")] == [
        [5.0], [3.6], [7.0]]
    assert math.isnan(compute(parse_statistic("p50"), periods)[0])


def test_negative_values_have_no_value_statistics() -> None:
    assert math.isnan(one_period("p50", np.array([-1.0, 2.0, 3.0])))
    assert one_period("Average", np.array([-1.0, 2.0, 5.0])) == 2.0


def test_a_trimmed_mean_of_nothing_is_no_value_and_counts_zero() -> None:
    x = np.array([1.0, 2.0, 3.0])
    assert math.isnan(one_period("TM(10:20)", x))
    assert (one_period("TC(10:20)", x), one_period("TS(10:20)", x), one_period("PR(10:20)", x)) == (0.0, 0.0, 0.0)


def uneven_periods(seed: int) -> Samples:
    """A day of rows at random seconds, with bursts, so 5-minute periods hold from 1 to hundreds of
    samples; values with ties (one decimal), fractional counts, and a few periods that have a statistic
    set or a negative value."""
    rng = np.random.default_rng(seed)
    timestamps = np.sort(np.concatenate([rng.integers(0, 86_400, 3000), rng.integers(40_000, 40_600, 1500),
                                         rng.integers(70_000, 70_020, 200)]))
    values = np.round(rng.lognormal(3, 0.7, len(timestamps)), 1)
    counts = rng.choice([1.0, 1.0, 2.0, 0.5, 0.1, 2.7], len(timestamps))
    values[rng.choice(len(values), 5)] = math.nan
    values[rng.choice(len(values), 5)] = -1.0
    return Samples(timestamps.astype(np.int64), counts, np.nan_to_num(values) * counts, values, values, values)


def percentile_by_definition(percent: str, values: Floats, counts: Floats) -> float:
    """The nearest rank as first written, one period at a time: sort stably, sum the weights, and take the
    first value whose running weight reaches the percentage of the total (an exact fraction, then rounded)."""
    if np.isnan(values).any() or (values < 0).any():
        return math.nan
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(counts[order])
    rank = float(Fraction(percent) * Fraction(float(cumulative[-1])) / 100)
    return float(values[order][min(int(np.searchsorted(cumulative, rank, "left")), len(values) - 1)])


def each_period(rows: Samples, period: int) -> list[Samples]:
    index = rows.timestamps // period
    return [rows.between(int(first) * period, (int(first) + 1) * period) for first in np.unique(index)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_of_all_periods_at_once_are_those_of_the_definition(seed: int) -> None:
    rows = uneven_periods(seed)
    periods = by_period(rows, 0, 300)
    for percent in ("0", "1", "10", "33.33", "50", "90", "99", "99.9", "100"):
        expected = [percentile_by_definition(percent, part.value, part.count) for part in each_period(rows, 300)]
        assert np.array_equal(compute(parse_statistic(f"p{percent}"), periods), expected, equal_nan=True), percent


@pytest.mark.parametrize("statistic", ["p90", "TM(10%:90%)", "WM(5%:95%)", "TS(20:40)", "TC(:30)", "PR(10:50)",
                                       "IQM", "Average", "Sum", "Maximum"])
def test_a_period_among_many_has_the_statistic_it_has_alone(statistic: str) -> None:
    # Periods of other sizes share tables, padded: that must change no period's answer, by a single bit.
    rows = uneven_periods(4)
    together = compute(parse_statistic(statistic), by_period(rows, 0, 300))
    alone = [compute(parse_statistic(statistic), by_period(part, int(part.timestamps[0]), 10 ** 9))[0]
             for part in each_period(rows, 300)]
    assert np.array_equal(together, alone, equal_nan=True)


def test_periods_given_as_sorted_lists_have_the_same_statistics() -> None:
    rows = uneven_periods(5)
    grouped = by_period(rows, 0, 300)
    listed = []
    for part in each_period(rows, 300):
        order = np.argsort(part.value, kind="stable")
        usable = not (np.isnan(part.value).any() or (part.value < 0).any())
        listed.append((part.value[order], part.count[order]) if usable else None)
    as_lists = Periods(grouped.starts, grouped.count, grouped.sum, grouped.minimum, grouped.maximum,
                       ValueTables.of(listed))
    for statistic in ("p50", "p99", "TM(10%:90%)", "PR(:30)"):
        assert np.array_equal(compute(parse_statistic(statistic), as_lists),
                              compute(parse_statistic(statistic), grouped), equal_nan=True), statistic


@pytest.mark.parametrize(("text", "unit"), [
    ("SampleCount", "Count"), ("TC(10%:90%)", "Count"), ("tc90", "Count"), ("PR(:300)", "Percent"),
    ("Average", None), ("Sum", None), ("p99", None), ("TS(10%:90%)", None), ("IQM", None),
])
def test_counts_and_ranks_have_units_of_their_own(text: str, unit: str | None) -> None:
    assert parse_statistic(text).unit == unit


@pytest.mark.parametrize(("text", "message"), [
    ("Avg", "is not a statistic"),
    ("p101", "is not a statistic"),
    ("TM(:)", "has no bounds"),
    ("TM(10%:abc)", "'abc' is not a bound"),
    ("TM(10%:120%)", "not a percentage from 0% to 100%"),
    ("TM(90%:10%)", "lower bound is above the upper bound"),
    ("PR(10%:90%)", "bounds of a percentile rank are values"),
])
def test_bad_statistics_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_statistic(text)
