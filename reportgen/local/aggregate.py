"""CloudWatch's statistics: their names parsed, and their values computed over each period's samples.

A period's samples are weighted values: a value published with a count of 3 is three samples. Values
come from ``Value``, ``Values``/``Counts``, and statistic sets that describe copies of one value
(``Minimum == Maximum`` and ``Sum == Minimum × SampleCount``); other statistic sets carry only their
summary, which is enough for SampleCount, Sum, Average, Minimum and Maximum.

The value statistics, as CloudWatch defines them, treat the sorted samples of a period as a stretch of
"mass" (total weight N) and take part of it:

* ``pNN``: the smallest value whose cumulative weight reaches NN % of N (the nearest rank, numpy's
  ``inverted_cdf``).
* ``TM(a:b)`` trimmed mean, ``TS`` trimmed sum, ``TC`` trimmed count of the samples between the
  bounds. A percent bound cuts the mass at that fraction of N, so a cut may fall inside a sample, which
  then counts in part: that is why CloudWatch says a trimmed count can be fractional. An absolute bound
  keeps the values above the lower bound and at or below the upper one. ``tm90`` is ``TM(:90%)``, and
  ``IQM`` is ``TM(25%:75%)``.
* ``WM(a:b)`` winsorized mean: the mean after the samples below the kept part take the value at its
  lower edge and those above it the value at its upper edge (for an absolute bound, the bound).
* ``PR(a:b)`` percentile rank: the percentage of samples above ``a`` and at or below ``b``.

The value statistics are unavailable (NaN) for a period that holds a summary-only statistic set or a
negative value, as in CloudWatch.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import partial

import numpy as np
import numpy.typing as npt

BASIC = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"^p(100|\d{1,2}(?:\.\d{1,10})?)$")
_SHORT = re.compile(r"^(tm|wm|tc|ts)(100|\d{1,2}(?:\.\d{1,10})?)$")
_RANGED = re.compile(r"^(TM|WM|TC|TS|PR)\(([^():]*):([^():]*)\)$")
_BOUND = re.compile(r"^(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(%?)$")
_UNITS = {"SampleCount": "Count", "TC": "Count", "PR": "Percent"}  # counts of samples, a share of them

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Bound:
    """One end of a trimmed range: a percentage of the samples, or a value."""

    value: Fraction
    percent: bool


@dataclass(frozen=True)
class Statistic:
    """A parsed statistic. ``kind`` is a basic statistic's name, ``p``, or TM, WM, TC, TS, PR."""

    text: str
    kind: str
    low: Bound | None = None
    high: Bound | None = None  # for ``p``: the percentile, as a percent bound

    @property
    def needs_values(self) -> bool:
        """Whether it needs the samples themselves rather than a period's summary."""
        return self.kind not in BASIC

    @property
    def unit(self) -> str | None:
        """The unit its values are in whatever the metric's ("Count" or "Percent"); None: the metric's."""
        return _UNITS.get(self.kind)


def parse_statistic(text: str) -> Statistic:
    """Parse a statistic name (``Average``, ``p99.9``, ``tm90``, ``TM(10%:90%)``, ``PR(:300)``, ``IQM``…).

    Raises ``ValueError`` naming what is wrong.
    """
    if text in BASIC:
        return Statistic(text, text)
    if text == "IQM":
        return Statistic(text, "TM", Bound(Fraction(25), True), Bound(Fraction(75), True))
    if match := _PERCENTILE.match(text):
        return Statistic(text, "p", None, Bound(Fraction(match.group(1)), True))
    if match := _SHORT.match(text):
        return Statistic(text, match.group(1).upper(), None, Bound(Fraction(match.group(2)), True))
    match = _RANGED.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a statistic: expected SampleCount, Average, Sum, Minimum, Maximum, "
                         "pNN, pNN.N, tmNN, wmNN, tcNN, tsNN, IQM or TM/WM/TC/TS/PR(low:high)")
    kind, low, high = match.group(1), _bound(match.group(2), text), _bound(match.group(3), text)
    if low is None and high is None:
        raise ValueError(f"{text!r} has no bounds: give a lower, an upper bound or both, like {kind}(10%:90%)")
    if kind == "PR" and any(bound is not None and bound.percent for bound in (low, high)):
        raise ValueError(f"{text!r}: the bounds of a percentile rank are values, not percentages")
    if low is not None and high is not None and low.percent == high.percent and low.value > high.value:
        raise ValueError(f"{text!r}: the lower bound is above the upper bound")
    return Statistic(text, kind, low, high)


def _bound(text: str, statistic: str) -> Bound | None:
    text = text.strip()
    if not text:
        return None
    match = _BOUND.match(text)
    if match is None:
        raise ValueError(f"{statistic!r}: {text!r} is not a bound (a number, or a percentage like 90%)")
    bound = Bound(Fraction(match.group(1)), bool(match.group(2)))
    if bound.percent and not 0 <= bound.value <= 100:
        raise ValueError(f"{statistic!r}: {text!r} is not a percentage from 0% to 100%")
    return bound


@dataclass(frozen=True)
class Samples:
    """Stored rows of one metric, in time order: each a count of samples and their summary; ``value`` is
    the value every one of those samples has, or NaN for a summary-only statistic set."""

    timestamps: npt.NDArray[np.int64]
    count: Floats
    sum: Floats
    minimum: Floats
    maximum: Floats
    value: Floats

    @classmethod
    def empty(cls) -> Samples:
        nothing = np.empty(0)
        return cls(np.empty(0, np.int64), nothing, nothing, nothing, nothing, nothing)

    @classmethod
    def joined(cls, parts: Sequence[Samples]) -> Samples:
        """The rows of ``parts`` one after the other (so in time order if the parts follow each other)."""
        return cls(*(np.concatenate([getattr(part, name) for part in parts]) for name in _COLUMNS))

    def in_time_order(self) -> Samples:
        """These rows sorted by time; rows of one timestamp keep their order."""
        order = np.argsort(self.timestamps, kind="stable")
        return Samples(*(getattr(self, name)[order] for name in _COLUMNS))

    def between(self, start: int, end: int) -> Samples:
        """The rows in [start, end), as views of these."""
        first, stop = np.searchsorted(self.timestamps, (start, end))
        return Samples(*(getattr(self, name)[first:stop] for name in _COLUMNS))

    def __len__(self) -> int:
        return len(self.timestamps)


_COLUMNS = ("timestamps", "count", "sum", "minimum", "maximum", "value")


@dataclass(frozen=True)
class _Table:
    """Periods with similar numbers of samples, a row each: its values ascending (ties in time order), their
    weights and the running sum of the weights. A row shorter than the table is padded at its end with
    +inf of weight 0, so its running sum ends at the period's total."""

    periods: npt.NDArray[np.intp]  # which period each row is
    lengths: npt.NDArray[np.intp]  # how many samples it has
    values: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]
    cumulative: npt.NDArray[np.float64]


class ValueTables:
    """Every period's samples sorted by value, for the value statistics, sorted only when one is asked for.

    Sorting and summing a row per period in numpy, rather than a call per period, is what makes a week of
    percentiles cheap. Rows of 2^k to 2^(k+1)-1 samples share a table, so padding at most doubles the work.
    """

    __slots__ = ("_values", "_weights", "_bounds", "_available", "_tables")

    def __init__(self, values: Floats, weights: Floats, bounds: npt.NDArray[np.intp],
                 available: npt.NDArray[np.bool_]) -> None:
        """Period ``i``'s samples are ``values[bounds[i]:bounds[i + 1]]`` with their ``weights``; ``available``
        says, per period, whether value statistics can be computed."""
        self._values, self._weights, self._bounds, self._available = values, weights, bounds, available
        self._tables: list[_Table] | None = None

    @classmethod
    def of(cls, rows: Sequence[tuple[Floats, Floats] | None]) -> ValueTables:
        """``rows`` as value tables: each period's (values, weights), or None where unavailable."""
        present = [row for row in rows if row is not None]
        lengths = [0 if row is None else len(row[0]) for row in rows]
        return cls(np.concatenate([np.empty(0), *(values for values, _ in present)]),
                   np.concatenate([np.empty(0), *(weights for _, weights in present)]),
                   np.r_[0, np.cumsum(lengths, dtype=np.intp)], np.array([row is not None for row in rows], bool))

    def __len__(self) -> int:
        return len(self._available)

    def __repr__(self) -> str:
        return f"<ValueTables periods={len(self)} samples={len(self._values)} sorted={self._tables is not None}>"

    def each(self, of_table: Callable[[_Table], Floats]) -> Floats:
        """``of_table``'s answer for the rows of each table, per period; NaN where values are unavailable."""
        result = np.full(len(self), math.nan)
        for table in self._sorted():
            result[table.periods] = of_table(table)
        return result

    def _sorted(self) -> list[_Table]:
        if self._tables is None:
            lengths = np.diff(self._bounds)
            periods = np.flatnonzero(self._available & (lengths > 0))
            size_class = np.frexp(lengths[periods])[1]
            # Padding points past the samples, at a value above them all of weight 0.
            values, weights = np.r_[self._values, np.inf], np.r_[self._weights, 0.0]
            self._tables = []
            for each in np.unique(size_class):
                members = periods[size_class == each]
                size = lengths[members]
                column = np.arange(size.max())
                at = np.where(column < size[:, None], self._bounds[members, None] + column, len(self._values))
                # As each period's own stable sort would order them: ties keep their time order.
                at = np.take_along_axis(at, np.argsort(values[at], axis=1, kind="stable"), axis=1)
                row_weights = weights[at]
                self._tables.append(_Table(members, size, values[at], row_weights, np.cumsum(row_weights, axis=1)))
        return self._tables


@dataclass(frozen=True)
class Periods:
    """Samples grouped into periods of ``period`` seconds from ``start``; only periods holding samples."""

    starts: npt.NDArray[np.int64]  # each period's first second
    count: Floats
    sum: Floats
    minimum: Floats
    maximum: Floats
    # Per period: its samples' values with their weights, unless a value statistic is unavailable (a
    # summary-only statistic set, or a negative value). ``ValueTables.of`` makes them from a list.
    values: ValueTables


def by_period(samples: Samples, start: int, period: int) -> Periods:
    """Group ``samples`` (all at or after ``start``) into periods."""
    if not len(samples):
        nothing = np.empty(0)
        return Periods(np.empty(0, np.int64), nothing, nothing, nothing, nothing, ValueTables.of([]))
    index = (samples.timestamps - start) // period
    first = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])  # where each period's rows begin
    unavailable = np.logical_or.reduceat(np.isnan(samples.value) | (samples.value < 0), first)
    return Periods(
        starts=start + index[first] * period,
        count=np.add.reduceat(samples.count, first),
        sum=np.add.reduceat(samples.sum, first),
        minimum=np.minimum.reduceat(samples.minimum, first),
        maximum=np.maximum.reduceat(samples.maximum, first),
        values=ValueTables(samples.value, samples.count, np.r_[first, len(index)], ~unavailable),
    )


def compute(statistic: Statistic, periods: Periods) -> Floats:
    """``statistic`` of each period; NaN where it is unavailable or undefined (a trimmed mean of nothing)."""
    match statistic.kind:
        case "SampleCount":
            return periods.count.copy()
        case "Sum":
            return periods.sum.copy()
        case "Average":
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.asarray(periods.sum / periods.count, dtype=np.float64)
        case "Minimum":
            return periods.minimum.copy()
        case "Maximum":
            return periods.maximum.copy()
    if statistic.kind == "p":
        assert statistic.high is not None
        return periods.values.each(partial(_percentile, statistic.high))
    return periods.values.each(partial(_of_rows, statistic))


def _percentile(bound: Bound, table: _Table) -> Floats:
    """The smallest value of each row whose running weight reaches ``bound`` percent of the row's total."""
    total = table.cumulative[:, -1]
    rank = _percent_of(bound, total)
    # searchsorted(cumulative, rank, "left") in every row at once; padding, which sums to the total, is
    # never below the rank.
    index = np.minimum((table.cumulative < rank[:, None]).sum(axis=1), table.lengths - 1)
    return np.where(total > 0, table.values[np.arange(len(index)), index], math.nan)


def _percent_of(bound: Bound, totals: Floats) -> Floats:
    """``_share`` of each total; each distinct total (periods mostly share a few) is worked out once."""
    distinct, inverse = np.unique(totals, return_inverse=True)
    return np.array([_share(bound, float(total)) for total in distinct])[inverse]


def _share(bound: Bound, total: float) -> float:
    """``bound`` percent of ``total``, rounded once from the exact product."""
    return float(bound.value * Fraction(total) / 100)


def _of_rows(statistic: Statistic, table: _Table) -> Floats:
    return np.array([_of_values(statistic, table.values[row, :size], table.weights[row, :size],
                                table.cumulative[row, :size]) for row, size in enumerate(table.lengths)])


def _of_values(statistic: Statistic, values: Floats, weights: Floats, cumulative: Floats) -> float:
    """A trimmed statistic of one period's values (ascending) with their weights and running weights."""
    total = float(cumulative[-1])
    if total <= 0:
        return math.nan
    low = 0.0 if statistic.low is None else _mass(statistic.low, total, values, cumulative)
    high = total if statistic.high is None else _mass(statistic.high, total, values, cumulative)
    if high < low:
        high = low
    # The part of each sample's stretch of mass [previous, cumulative] that lies inside [low, high].
    kept = np.clip(np.minimum(cumulative, high) - np.maximum(cumulative - weights, low), 0.0, None)
    count = float(kept.sum())
    trimmed_sum = float(values @ kept)
    match statistic.kind:
        case "TC":
            return count
        case "TS":
            return trimmed_sum
        case "PR":
            return 100.0 * count / total
        case "TM":
            return trimmed_sum / count if count > 0 else math.nan
    # WM: what lies below the kept part counts at its lower edge, what lies above at its upper edge.
    below = _edge(statistic.low, values, cumulative, low, upper=False)
    above = _edge(statistic.high, values, cumulative, high, upper=True)
    return (trimmed_sum + low * below + (total - high) * above) / total


def _mass(bound: Bound, total: float, values: Floats, cumulative: Floats) -> float:
    """Where ``bound`` cuts the samples, as the weight below the cut."""
    if bound.percent:
        return _share(bound, total)
    below = int(np.searchsorted(values, float(bound.value), "right"))  # values at or below the bound
    return float(cumulative[below - 1]) if below else 0.0


def _edge(bound: Bound | None, values: Floats, cumulative: Floats, mass: float, *, upper: bool) -> float:
    if bound is None:
        return 0.0  # nothing lies beyond an open end
    if not bound.percent:
        return float(bound.value)
    # The sample just inside the cut: the first whose stretch ends past it (or, above, reaches it).
    index = int(np.searchsorted(cumulative, mass, "left" if upper else "right"))
    return float(values[min(index, len(values) - 1)])
