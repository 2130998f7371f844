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
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt

BASIC = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"^p(100|\d{1,2}(?:\.\d{1,10})?)$")
_SHORT = re.compile(r"^(tm|wm|tc|ts)(100|\d{1,2}(?:\.\d{1,10})?)$")
_RANGED = re.compile(r"^(TM|WM|TC|TS|PR)\(([^():]*):([^():]*)\)$")
_BOUND = re.compile(r"^(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(%?)$")

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

    def __len__(self) -> int:
        return len(self.timestamps)


@dataclass(frozen=True)
class Periods:
    """Samples grouped into periods of ``period`` seconds from ``start``; only periods holding samples."""

    starts: npt.NDArray[np.int64]  # each period's first second
    count: Floats
    sum: Floats
    minimum: Floats
    maximum: Floats
    # Per period: its samples' values ascending, with their weights; None where a value statistic is
    # unavailable (a summary-only statistic set, or a negative value).
    values: Sequence[tuple[Floats, Floats] | None]


def by_period(samples: Samples, start: int, period: int) -> Periods:
    """Group ``samples`` (all at or after ``start``) into periods."""
    if not len(samples):
        nothing = np.empty(0)
        return Periods(np.empty(0, np.int64), nothing, nothing, nothing, nothing, [])
    index = (samples.timestamps - start) // period
    first = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])  # where each period's rows begin
    bounds = np.r_[first, len(index)]
    values: list[tuple[Floats, Floats] | None] = []
    for begin, end in zip(bounds[:-1], bounds[1:]):
        value, weight = samples.value[begin:end], samples.count[begin:end]
        if np.isnan(value).any() or (value < 0).any():
            values.append(None)
            continue
        order = np.argsort(value, kind="stable")
        values.append((value[order], weight[order]))
    return Periods(
        starts=start + index[first] * period,
        count=np.add.reduceat(samples.count, first),
        sum=np.add.reduceat(samples.sum, first),
        minimum=np.minimum.reduceat(samples.minimum, first),
        maximum=np.maximum.reduceat(samples.maximum, first),
        values=values,
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
    return np.array([math.nan if sample is None else _of_values(statistic, *sample) for sample in periods.values],
                    dtype=np.float64)


def _of_values(statistic: Statistic, values: Floats, weights: Floats) -> float:
    cumulative = np.cumsum(weights)
    total = float(cumulative[-1])
    if total <= 0:
        return math.nan
    if statistic.kind == "p":
        assert statistic.high is not None
        rank = _mass(statistic.high, total, values, cumulative)
        return float(values[min(int(np.searchsorted(cumulative, rank, "left")), len(values) - 1)])
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
        return float(bound.value * Fraction(total) / 100)
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
