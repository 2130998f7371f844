"""Deterministic, plausible data for any metric row.

Each value is a pure function of (namespace, metric name, dimensions, stat, timestamp): the same point
has the same value in every window that contains it, so the same request always draws the same image.
The metric name picks a shape (CPU percent with a daily cycle, latency in seconds with spikes, error
counts that are mostly zero with rare bursts, free storage slowly draining, …); the dimensions give each
series its own level and phase. A metric whose name starts with ``NoData`` has no data points, so
callers can test CloudWatch's empty graph.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from reportgen.local.widget import MetricRow

# Graphs stay readable and fast up to this many points (a week at 5 minutes fits); like the console's
# automatic period, a longer window is drawn with the next coarser of these periods.
MAX_POINTS = 2880
_COARSER_PERIODS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86_400)
_DAY = 86_400
_WANDER_KNOT = 7_200  # seconds between the random knots of the slow wander
_DRAIN_DAYS = 30


@dataclass(frozen=True)
class _Shape:
    unit: str | None
    level: float         # typical Average (for counts: events per minute)
    daily: float = 0.0   # relative amplitude of the daily cycle
    wander: float = 0.1  # relative amplitude of slow random drift
    jitter: float = 0.05  # relative point-to-point noise
    spikes: float = 0.0  # chance of a spike per point
    spike_size: float = 3.0  # a spike multiplies the value by 1 + spike_size × (0.5 … 1.5)
    spread: float = 0.3  # how far Maximum and Minimum stray from Average, relative
    ceiling: float | None = None
    drain: float = 0.0   # relative fall over a 30-day cycle that then starts afresh (storage filling up)
    count: bool = False  # events: Sum scales with the period and comes out whole
    weekend: float = 1.0  # factor on Saturdays and Sundays


# First match wins: "HTTPCode_Target_5XX_Count" is an error count before it is a count.
_SHAPES: tuple[tuple[re.Pattern[str], _Shape], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), shape) for pattern, shape in (
    (r"5xx|4xx|error|fault|throttl|fail|deadletter|rejected",
     _Shape("Count", 0.08, daily=0.5, wander=0.5, jitter=0.3, spikes=0.01, spike_size=30, spread=1.0, count=True)),
    (r"free|available", _Shape("Bytes", 2.5e11, wander=0.002, jitter=0.0005, spread=0.001, drain=0.3)),
    (r"latency|responsetime",
     _Shape("Seconds", 0.12, daily=0.3, wander=0.2, jitter=0.15, spikes=0.03, spike_size=5, spread=1.5)),
    (r"duration",
     _Shape("Milliseconds", 180, daily=0.2, wander=0.2, jitter=0.2, spikes=0.02, spike_size=4, spread=1.2)),
    (r"cpu|utilization|percent|memory",
     _Shape("Percent", 32, daily=0.55, wander=0.25, jitter=0.08, spikes=0.005, spike_size=0.6, ceiling=100)),
    (r"approximate|queue|depth|backlog", _Shape("Count", 20, wander=0.6, jitter=0.2, spikes=0.02, spike_size=6)),
    (r"connections", _Shape("Count", 40, daily=0.4, wander=0.2, jitter=0.08, spread=0.4)),
    (r"count|invocations|requests|messages|hits|executions",
     _Shape("Count", 1200, daily=0.6, wander=0.15, jitter=0.05, count=True, weekend=0.7)),
    (r"bytes|network|throughput", _Shape("Bytes", 5e7, daily=0.6, wander=0.2, jitter=0.1, weekend=0.8)),
    (r"iops|ops", _Shape("Count/Second", 300, daily=0.5, wander=0.2, jitter=0.1)),
))
_GENERIC = _Shape(None, 50, daily=0.3, wander=0.2, jitter=0.1)
_PERCENTILE = re.compile(r"^(?:p|tm|wm|tc|ts)(\d+(?:\.\d+)?)$", re.IGNORECASE)


@dataclass(frozen=True)
class Series:
    """One row's data: epoch-second timestamps, values, and the unit the metric is published in."""

    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    unit: str | None


def effective_period(period: int, start: datetime, end: datetime) -> int:
    """``period``, or a coarser round one when the window would need more than MAX_POINTS."""
    span = (end - start).total_seconds()
    if span / period <= MAX_POINTS:
        return period
    needed = span / MAX_POINTS
    return next((p for p in _COARSER_PERIODS if p >= needed), math.ceil(needed / 86_400) * 86_400)


def series(row: MetricRow, start: datetime, end: datetime) -> Series:
    """Data points for ``row`` at each (effective) period boundary in [start, end)."""
    shape = _shape_for(row)
    if row.name.lower().startswith("nodata"):
        return Series(np.empty(0, np.int64), np.empty(0, np.float64), shape.unit)
    period = effective_period(row.period, start, end)
    first = math.ceil(start.timestamp() / period) * period
    timestamps = np.arange(first, end.timestamp(), period, dtype=np.int64)
    unit = "Count" if row.stat == "SampleCount" else shape.unit
    return Series(timestamps, _values(shape, row, timestamps, period), unit)


def _shape_for(row: MetricRow) -> _Shape:
    name = row.name or ""
    return next((shape for pattern, shape in _SHAPES if pattern.search(name)), _GENERIC)


def _values(shape: _Shape, row: MetricRow, t: npt.NDArray[np.int64], period: int) -> npt.NDArray[np.float64]:
    series_key = _seed(row.namespace, row.name, repr(row.dimensions), row.expression or "")
    stat_key = _seed(str(series_key), row.stat)
    scale = 0.6 + 0.8 * _unit(series_key, 1)  # each series gets its own level …
    phase = _unit(series_key, 2) * 0.15        # … and a slightly shifted day

    days = t / _DAY
    cycle = np.sin(2 * np.pi * (days - 0.375 + phase))  # peaks mid-afternoon UTC
    weekday = (t // _DAY + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    level = shape.level * scale * (1 - shape.drain * ((days / _DRAIN_DAYS + phase) % 1.0))
    shaped = shape.daily * cycle + shape.wander * _wander(series_key, t) + shape.jitter * _noise(series_key, t)
    values = level * (1 + shaped)
    values = np.where(weekday >= 5, values * shape.weekend, values)
    spiking = _uniform(series_key ^ 0x5B1E, t) < shape.spikes
    values = np.where(spiking, values * (1 + shape.spike_size * (0.5 + _uniform(series_key ^ 0x5B1F, t))), values)
    values = np.maximum(values, 0.0)
    return _apply_stat(shape, row.stat, values, _uniform(stat_key, t), period)


def _apply_stat(shape: _Shape, stat: str, average: npt.NDArray[np.float64], u: npt.NDArray[np.float64],
                period: int) -> npt.NDArray[np.float64]:
    """Turn the per-point Average into ``stat``; ``u`` is uniform noise private to this stat."""
    samples = max(period / 60, 1.0)  # one datapoint a minute, as most AWS metrics publish
    percentile = _PERCENTILE.match(stat)
    whole = shape.count
    if stat == "Sum":
        values = average * samples
    elif stat == "SampleCount":
        values, whole = np.full_like(average, samples), True
    elif stat == "Maximum":
        values = average * (1 + shape.spread * (0.5 + 1.5 * u))
    elif stat == "Minimum":
        values = average * (1 - min(shape.spread, 0.9) * (0.3 + 0.7 * u))
    elif percentile:
        q = min(float(percentile.group(1)), 100.0) / 100
        values = average * (1 + shape.spread * (q ** 3 - 0.1) * (0.7 + 0.6 * u))
    else:  # Average and the rarer statistics (IQM, TM(…), PR(…)) sit near the mean
        values, whole = average, False
    if shape.ceiling is not None:
        values = np.minimum(values, shape.ceiling)
    if whole:
        # Stochastic rounding keeps small counts mostly 0 and 1 while preserving their mean.
        values = np.floor(values + u)
    return np.asarray(values, dtype=np.float64)


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest(), "little")


def _unit(seed: int, salt: int) -> float:
    return float(_uniform(seed, np.array([salt], dtype=np.int64))[0])


def _uniform(seed: int, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """A uniform [0, 1) value per key, a pure function of (seed, key): the splitmix64 finaliser."""
    x = keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(seed & 0xFFFFFFFFFFFFFFFF)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _noise(seed: int, t: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Roughly normal noise in about [-1.5, 1.5] (a sum of three uniforms)."""
    return (_uniform(seed ^ 0xA1, t) + _uniform(seed ^ 0xA2, t) + _uniform(seed ^ 0xA3, t) - 1.5)


def _wander(seed: int, t: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Slow drift in [-1, 1]: random knots every two hours, joined by smoothstep."""
    knot, offset = np.divmod(t, _WANDER_KNOT)
    here, there = _uniform(seed ^ 0xB7, knot), _uniform(seed ^ 0xB7, knot + 1)
    s = offset / _WANDER_KNOT
    s = s * s * (3 - 2 * s)
    return 2 * (here + (there - here) * s) - 1
