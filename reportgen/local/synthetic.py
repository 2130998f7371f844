"""Deterministic, plausible data for any metric row.

Each value is a pure function of (namespace, metric name, dimensions, stat, period, timestamp), the
dimensions taken as a set, as CloudWatch identifies a metric: the same point has the same value in every
window that contains it, so the same request always draws the same image.

The data is made the way CloudWatch keeps it: a metric has a value each minute, and a point of a longer
period aggregates the minutes in it. Average is their mean and Sum the mean times the number of minutes
(SampleCount). Within a minute the values spread lognormally about its mean v, X = v·exp(σZ − σ²/2), and
reach from 2–3σ below it to 2.5–3.5σ above: Maximum and Minimum are the extremes reached within the
point's minutes, and a percentile is the mean of the minutes' own percentiles, kept within their reach.

The statistics that keep the samples between two bounds (CloudWatch's TM, TC, TS, WM, PR and IQM, as
``aggregate`` computes them on stored data) follow from the same distribution in closed form. A bound
cuts each minute at a z-score: a percentage a at Φ⁻¹(a), a value x at (ln(x/v) + σ²/2)/σ, and a value
beyond the minute's reach keeps or drops that whole tail; a missing bound leaves its end open. Between
cuts z_a < z_b lie Φ(z_b) − Φ(z_a) of the minute's samples, and E[X; within] = v·(Φ(z_b − σ) − Φ(z_a − σ)).
TC is the kept share times SampleCount and PR that share in percent; TM is the kept sum over the kept
count (each minute's part kept between its values at the cuts, as its percentiles are), NaN where nothing
is kept; TS = TM × TC; WM adds the tails at the cuts' values (for a value bound, the bound itself). With
percentage bounds every minute keeps b − a of its samples, so TM(a%:b%) is the mean of the minutes'
(Φ(z_b − σ) − Φ(z_a − σ))·v/(b − a).

For whole-number metrics (events, hosts, messages) the minute values are the samples: a percentile is
the percentile of the minute values, and the bounded statistics are computed on them as CloudWatch
computes them on stored data.

So at every point Minimum ≤ pNN ≤ Maximum, percentiles rise with NN, Minimum ≤ Average ≤ Maximum,
p_a ≤ TM(a%:b%) ≤ p_b and p_a ≤ WM(a%:b%) ≤ p_b, TM(0%:100%) = WM(0%:100%) = Average, IQM = TM(25%:75%),
TM(a%:b%) narrows to p50 as a and b close in on 50, 0 ≤ PR ≤ 100, TC ≤ SampleCount and TS = TM × TC.
A period longer than an hour samples 60 evenly spaced minutes.

A table matches the row's namespace, metric name and dimensions to a shape: its unit, level, daily and
weekly rhythm, drift, noise, incidents and spread (latency in milliseconds for API Gateway and in seconds
for a load balancer, host counts that are small and steady, billing that climbs through the month, …).
Metrics of one family (a load balancer's requests and its errors) share their rhythm and incidents, so
the math that combines them gives plausible ratios. A metric whose name starts with ``NoData`` has no data
points, so callers can test CloudWatch's empty graph.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from reportgen.local.aggregate import Bound, Floats, Periods, Statistic, ValueTables, compute
from reportgen.local.widget import MetricRow

# Graphs stay readable and fast up to this many points (a week at 5 minutes fits); like the console's
# automatic period, a longer window is drawn with the next coarser of these periods.
MAX_POINTS = 2880
_COARSER_PERIODS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86_400)
_MINUTES_PER_POINT = 60  # at most; a longer period samples this many of its minutes
_DAY = 86_400
# Its data is seeded as if no region were given, so a widget drawn outside a request (the gallery, a test)
# shows what a client of this region sees.
BASE_REGION = "us-east-1"
_WANDER_KNOT = 7_200  # seconds between the random knots of the slow wander
_DRAIN_DAYS = 30


@dataclass(frozen=True)
class _Shape:
    unit: str | None
    level: float          # typical value of one minute (for counts: events per minute)
    daily: float = 0.0    # relative amplitude of the daily cycle
    wander: float = 0.1   # relative amplitude of slow random drift
    jitter: float = 0.05  # relative minute-to-minute noise
    spikes: float = 0.0   # chance that an episode is an incident …
    spike_size: float = 3.0  # … which multiplies the value by 1 + spike_size × (0.5 … 1.5)
    episode: int = 300    # seconds an incident lasts
    sigma: float = 0.3    # spread of the values within a minute (lognormal σ): sets Maximum, Minimum, pNN
    ceiling: float | None = None
    drain: float = 0.0    # relative fall over a 30-day cycle that then starts afresh (storage filling up)
    whole: bool = False   # whole numbers each minute: events, hosts, messages
    holds: int = 1        # seconds a value holds before it changes (a gauge that seldom moves, billing)
    weekend: float = 1.0  # factor on Saturdays and Sundays (UTC)
    variety: float = 0.4  # how far one series' level strays from another's, relative
    family: str | None = None  # same family and dimensions: shared rhythm, drift, incidents and rounding
    complement: float | None = None  # drawn as complement − the shape: full but for dips (healthy hosts)
    month_to_date: bool = False  # a running total since the 1st of the month


# Mostly no errors; now and then an incident fails a few percent of the requests for a quarter of an hour.
_ERRORS = _Shape("Count", 0.03, daily=0.5, wander=0.5, jitter=0.3, spikes=0.001, spike_size=1500, episode=900,
                 whole=True)
_UNHEALTHY_HOSTS = _Shape("Count", 0.002, wander=0, jitter=0, spikes=0.004, spike_size=500, episode=900,
                          whole=True, variety=0, family="hosts")
_API_LATENCY = _Shape("Milliseconds", 70, daily=0.25, wander=0.2, jitter=0.1, spikes=0.004, spike_size=1.5,
                      episode=900, sigma=0.6, variety=0.15, family="api-latency")
_LAMBDA = _Shape("Count", 30, daily=0.6, wander=0.15, jitter=0.1, whole=True, weekend=0.7, family="lambda")
_ALB = _Shape("Count", 1200, daily=0.6, wander=0.15, jitter=0.05, whole=True, weekend=0.7, family="alb")
_API = replace(_ALB, level=800, family="api")
_RDS_LATENCY = _Shape("Seconds", 0.0015, daily=0.2, wander=0.25, jitter=0.2, spikes=0.003, spike_size=3, sigma=0.4)
# AWS updates estimated charges several times a day.
_BILLING = _Shape(None, 6500, sigma=0, holds=6 * 3600, variety=0.1, month_to_date=True)
_CONCURRENCY = _Shape("Count", 60, daily=0.6, wander=0.2, jitter=0.1, spikes=0.003, spike_size=1.5, whole=True,
                      weekend=0.7, family="concurrency")
_SQS_MESSAGES = _Shape("Count", 600, daily=0.6, wander=0.15, jitter=0.04, whole=True, weekend=0.8, family="sqs")
_CAPACITY = _Shape("Count", 2400, daily=0.6, wander=0.15, jitter=0.08, weekend=0.75, family="capacity")

# Matched against "Namespace/MetricName Dim=Value …"; the first match wins, so specific rows go first
# ("HTTPCode_Target_5XX_Count" is an error count before it is a count).
_SHAPES: tuple[tuple[re.Pattern[str], _Shape], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), shape) for pattern, shape in (
    # A status check is 0 or 1 each minute, and fails now and then.
    (r"StatusCheckFailed", _Shape("Count", 0.0004, wander=0.5, jitter=0.3, whole=True, ceiling=1, variety=0.2)),
    # The share of Route 53's checkers that see the endpoint healthy: 100 but for rare dips.
    (r"/HealthCheckPercentageHealthy", _Shape("Percent", 0.03, wander=0.5, jitter=1.0, spikes=0.002,
                                              spike_size=150, episode=900, sigma=0.2, complement=100)),
    # Four hosts behind the target group; now and then one fails its checks for a while.
    (r"/UnHealthyHostCount", _UNHEALTHY_HOSTS),
    (r"/HealthyHostCount", replace(_UNHEALTHY_HOSTS, complement=4)),
    (r"^AWS/ApplicationELB/RequestCount", _ALB),
    (r"^AWS/ApplicationELB/HTTPCode_Target_5XX", replace(_ERRORS, level=0.015, spike_size=5000, family="alb")),
    (r"^AWS/ApplicationELB/HTTPCode_ELB_5XX", replace(_ERRORS, level=0.01, spikes=0.0005, family="alb")),
    (r"^AWS/ApiGateway/Count", _API),
    (r"^AWS/ApiGateway/4XX", _Shape("Count", 1.5, daily=0.6, wander=0.3, jitter=0.2, whole=True, weekend=0.7,
                                    family="api")),
    (r"^AWS/ApiGateway/5XX", replace(_ERRORS, family="api")),
    (r"^AWS/ApiGateway/Latency", _API_LATENCY),
    (r"^AWS/ApiGateway/IntegrationLatency", replace(_API_LATENCY, level=55)),
    # Thousands of invocations an hour, a fraction of a percent of them errors, throttles rarer still.
    (r"^AWS/Lambda/Invocations", _LAMBDA),
    (r"^AWS/Lambda/Errors", replace(_LAMBDA, level=0.05, jitter=0.3, spikes=0.003, spike_size=15, episode=900)),
    (r"^AWS/Lambda/Throttles", replace(_LAMBDA, level=0.01, jitter=0.5, spikes=0.003, spike_size=400,
                                       episode=900)),
    (r"^AWS/Lambda/ConcurrentExecutions", _CONCURRENCY),
    (r"^AWS/Lambda/UnreservedConcurrentExecutions", replace(_CONCURRENCY, level=35)),
    (r"^AWS/DynamoDB/ConsumedReadCapacityUnits", _CAPACITY),
    (r"^AWS/DynamoDB/ConsumedWriteCapacityUnits", replace(_CAPACITY, level=800)),
    (r"^AWS/DynamoDB/SuccessfulRequestLatency", _Shape("Milliseconds", 6, daily=0.1, wander=0.2, jitter=0.15,
                                                       spikes=0.003, spike_size=3, sigma=0.5, variety=0.5)),
    (r"^AWS/RDS/ReadLatency", _RDS_LATENCY),
    (r"^AWS/RDS/WriteLatency", replace(_RDS_LATENCY, level=0.003)),
    (r"^AWS/SQS/ApproximateAgeOfOldestMessage", _Shape("Seconds", 20, daily=0.3, wander=0.5, jitter=0.3,
                                                        spikes=0.004, spike_size=12, episode=1800, whole=True)),
    # A dead-letter queue holds a few messages for hours, until someone redrives them.
    (r"^AWS/SQS/ApproximateNumberOfMessages.* QueueName=\S*(dlq|dead)", _Shape("Count", 2, wander=1.0, jitter=0,
                                                                              whole=True, holds=4 * 3600)),
    (r"^AWS/SQS/NumberOfMessagesSent", _SQS_MESSAGES),
    (r"^AWS/SQS/NumberOfMessagesReceived", replace(_SQS_MESSAGES, level=612)),
    (r"^AWS/SQS/NumberOfMessagesDeleted", replace(_SQS_MESSAGES, level=594)),
    (r"^AWS/CloudFront/Requests", _Shape("Count", 400, daily=0.6, wander=0.15, jitter=0.06, whole=True, weekend=0.8,
                                         family="cloudfront")),
    (r"^AWS/CloudFront/BytesDownloaded", _Shape("Bytes", 2.4e7, daily=0.6, wander=0.15, jitter=0.1, weekend=0.8,
                                                family="cloudfront")),
    # The account's total, and each service's share of it.
    (r"^AWS/Billing/EstimatedCharges .*ServiceName=", replace(_BILLING, level=1100, variety=0.6)),
    (r"^AWS/Billing/EstimatedCharges", _BILLING),
    (r"throttl", _Shape("Count", 0.004, wander=0.5, jitter=0.5, spikes=0.003, spike_size=400, episode=900,
                        whole=True)),
    (r"5xx|4xx|error|fault|fail|deadletter|rejected", _ERRORS),
    (r"free|available", _Shape("Bytes", 2.5e11, wander=0.002, jitter=0.0005, sigma=0.001, drain=0.3)),
    (r"latency|responsetime", _Shape("Seconds", 0.12, daily=0.3, wander=0.2, jitter=0.15, spikes=0.003,
                                     spike_size=1.5, episode=900, sigma=0.6)),
    (r"duration", _Shape("Milliseconds", 180, daily=0.2, wander=0.2, jitter=0.15, spikes=0.003, spike_size=2,
                         episode=900, sigma=0.5)),
    (r"cpu|utilization|percent|memory", _Shape("Percent", 32, daily=0.55, wander=0.25, jitter=0.08, spikes=0.002,
                                               spike_size=0.6, sigma=0.08, ceiling=100)),
    (r"approximate|queue|depth|backlog", _Shape("Count", 25, daily=0.4, wander=0.5, jitter=0.25, spikes=0.004,
                                                spike_size=6, episode=1800, whole=True)),
    (r"connections", _Shape("Count", 40, daily=0.4, wander=0.2, jitter=0.08, whole=True)),
    (r"count|invocations|requests|messages|hits|executions", _Shape("Count", 1200, daily=0.6, wander=0.15,
                                                                    jitter=0.05, whole=True, weekend=0.7)),
    (r"bytes|network|throughput", _Shape("Bytes", 5e7, daily=0.6, wander=0.2, jitter=0.1, weekend=0.8)),
    (r"iops|ops", _Shape("Count/Second", 300, daily=0.5, wander=0.2, jitter=0.1)),
))
_GENERIC = _Shape(None, 50, daily=0.3, wander=0.2, jitter=0.1)
_NORMAL = NormalDist()
_ERFC = np.frompyfunc(math.erfc, 1, 1)
_BOUNDED = ("TM", "WM", "TC", "TS", "PR")  # the statistics that keep the samples between two bounds


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


def grid(period: int, start: datetime, end: datetime) -> npt.NDArray[np.int64]:
    """The multiples of ``period`` seconds in [start, end), in epoch seconds: where a row has its points."""
    first = math.ceil(start.timestamp() / period) * period
    return np.arange(first, end.timestamp(), period, dtype=np.int64)


def series(row: MetricRow, start: datetime, end: datetime, region: str | None = None) -> Series:
    """Data points for ``row`` at each (effective) period boundary in [start, end), in ``region``: each
    region has its own data, ``BASE_REGION``'s (and no region's) being the same."""
    shape = _shape_for(row)
    if row.name.lower().startswith("nodata"):
        return Series(np.empty(0, np.int64), np.empty(0, np.float64), shape.unit)
    period = effective_period(row.period, start, end)
    timestamps = grid(period, start, end)
    unit = row.statistic.unit or shape.unit
    return Series(timestamps, _values(shape, row, row.statistic, timestamps, period, region), unit)


def _shape_for(row: MetricRow) -> _Shape:
    key = f"{row.namespace}/{row.name}" + "".join(f" {name}={value}" for name, value in _dimensions(row))
    return next((shape for pattern, shape in _SHAPES if pattern.search(key)), _GENERIC)


def _dimensions(row: MetricRow) -> tuple[tuple[str, str], ...]:
    """The row's dimension pairs sorted by name, as ``store.MetricKey.of`` orders them: CloudWatch names a
    metric by its set of dimensions, so the order they are written in must not change its data."""
    return tuple(sorted(row.dimensions))


def _values(shape: _Shape, row: MetricRow, statistic: Statistic, t: npt.NDArray[np.int64],
            period: int, region: str | None) -> npt.NDArray[np.float64]:
    samples = max(period / 60, 1.0)  # one value a minute, as most AWS metrics publish
    if statistic.kind == "SampleCount":
        return np.full(len(t), samples)
    per_point = max(1, min(period // 60, _MINUTES_PER_POINT))
    minutes = t[:, None] + (period // per_point) * np.arange(per_point)  # points × sampled minutes
    dimensions = repr(_dimensions(row))
    if region not in (None, BASE_REGION):
        dimensions += f" in {region}"
    shared = _seed(row.namespace, shape.family or row.name, dimensions)  # rhythm, drift, incidents, rounding
    own = _seed(row.namespace, row.name, dimensions)                    # noise and spread
    values = _minute_values(shape, shared, own, minutes)
    if statistic.kind in _BOUNDED:
        return _bounded(shape, statistic, values, own, minutes, samples)
    if shape.complement is None:
        return _aggregate(shape, statistic, values, own, minutes, samples)
    # The statistics of complement − x are complement − the mirrored statistics of x.
    top = shape.complement * (samples if statistic.kind == "Sum" else 1)
    return top - _aggregate(shape, _mirrored(statistic, shape.complement), values, own, minutes, samples)


def _minute_values(shape: _Shape, shared: int, own: int, t: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Each minute's value: the level, shaped by the day, drift, noise and incidents."""
    t = t - t % shape.holds
    if shape.month_to_date:
        return _month_to_date(shape, shared, t)
    scale = 1 + shape.variety * (2 * _unit(shared, 1) - 1)  # each series gets its own level …
    phase = _unit(shared, 2) * 0.15                           # … and a slightly shifted day
    days = t / _DAY
    cycle = np.sin(2 * np.pi * (days - 0.375 + phase))  # peaks mid-afternoon UTC
    weekday = (t // _DAY + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    level = shape.level * scale * (1 - shape.drain * ((days / _DRAIN_DAYS + phase) % 1.0))
    shaped = shape.daily * cycle + shape.wander * _wander(shared, t) + shape.jitter * _noise(own, t)
    values = level * (1 + shaped)
    values = np.where(weekday >= 5, values * shape.weekend, values)
    episode = t // shape.episode
    spiking = _uniform(shared ^ 0x5B1E, episode) < shape.spikes
    values = np.where(spiking, values * (1 + shape.spike_size * (0.5 + _uniform(shared ^ 0x5B1F, episode))), values)
    values = np.clip(values, 0.0, shape.ceiling)
    # Stochastic rounding keeps small counts mostly 0 and 1 while preserving their mean.
    return np.floor(values + _uniform(shared ^ 0xD0, t)) if shape.whole else values


def _aggregate(shape: _Shape, statistic: Statistic, minutes: Floats, own: int, t: npt.NDArray[np.int64],
               samples: float) -> Floats:
    """``statistic`` (a basic one or a percentile) of each row of ``minutes`` (a point's sampled minute
    values, taken at times ``t``)."""
    if statistic.kind == "Sum":
        total = np.asarray(minutes.mean(axis=1) * samples)
        return np.round(total) if shape.whole else total
    if statistic.kind == "Average":
        return np.asarray(minutes.mean(axis=1))
    low, high = _reach(shape, minutes, own, t)
    if statistic.kind != "p":
        return np.asarray(high.max(axis=1) if statistic.kind == "Maximum" else low.min(axis=1))
    assert statistic.high is not None
    q = float(statistic.high.value) / 100
    if shape.whole:
        return np.asarray(np.quantile(minutes, q, axis=1, method="inverted_cdf"))
    return np.asarray(_at(shape.sigma, _z_of(q), minutes, low, high).mean(axis=1))


def _reach(shape: _Shape, minutes: Floats, own: int, t: npt.NDArray[np.int64]) -> tuple[Floats, Floats]:
    """The lowest and highest value each minute reaches: for a whole-number metric its value; else within
    the minute the values spread lognormally around its mean, and reach 2 to 3σ below and 2.5 to 3.5σ above."""
    if shape.whole:
        return minutes, minutes
    sigma, shift = shape.sigma, shape.sigma ** 2 / 2
    high = np.minimum(minutes * np.exp(sigma * (2.5 + _uniform(own ^ 0xC1, t)) - shift),
                      shape.ceiling if shape.ceiling is not None else np.inf)
    low = minutes * np.exp(-sigma * (2.0 + _uniform(own ^ 0xC2, t)) - shift)
    return low, high


def _bounded(shape: _Shape, statistic: Statistic, minutes: Floats, own: int, t: npt.NDArray[np.int64],
             samples: float) -> Floats:
    """TM, WM, TC, TS or PR of each row of ``minutes``."""
    if shape.whole:  # the minute values are the samples: compute it as CloudWatch does
        values = minutes if shape.complement is None else shape.complement - minutes
        return compute(statistic, _periods(values, t[:, 0], samples))
    mirror = shape.complement
    kept, mean, winsorized = _trimmed(shape.sigma, statistic if mirror is None else _mirrored(statistic, mirror),
                                      minutes, *_reach(shape, minutes, own, t))
    if mirror is not None:  # complement − x keeps the samples the mirrored bounds keep of x
        mean, winsorized = mirror - mean, mirror - winsorized
    match statistic.kind:
        case "TC":
            return kept * samples
        case "PR":
            return 100 * kept
        case "TM":
            return mean
        case "WM":
            return winsorized
    return np.where(kept > 0, mean * kept * samples, 0.0)  # TS


def _trimmed(sigma: float, statistic: Statistic, v: Floats, low: Floats, high: Floats) -> tuple[Floats, Floats, Floats]:
    """Per point: the fraction of its samples within the bounds, their mean, and the winsorized mean.

    Each minute's values are X = v·exp(σZ − σ²/2) for its mean ``v``, reaching from ``low`` to ``high``.
    A bound cuts a minute at a z-score; one beyond the minute's reach keeps or drops that whole tail.
    """
    z_low, cut_low = _cut(statistic.low, sigma, v, low, high, upper=False)
    z_high, cut_high = _cut(statistic.high, sigma, v, low, high, upper=True)
    below = _phi(z_low)
    within = np.broadcast_to(np.maximum(_phi(z_high) - below, 0.0), v.shape)  # percent bounds: alike in each
    above = 1 - np.maximum(_phi(z_high), below)
    part = v * np.maximum(_phi(z_high - sigma) - _phi(z_low - sigma), 0.0)  # E[X; within the bounds]
    # A minute's trimmed mean stays between its values at the cuts, as its percentiles stay within its reach …
    means = np.clip(np.divide(part, within, out=v.copy(), where=within > 0),
                    np.clip(cut_low, low, high), np.clip(cut_high, low, high))
    kept = within.sum(axis=1)
    with np.errstate(invalid="ignore"):
        mean = (within * means).sum(axis=1) / kept  # NaN where nothing is kept, as in CloudWatch
    # … and its winsorized mean between its reach clipped to the cuts.
    winsorized = np.clip(part + _tail(below, cut_low) + _tail(above, cut_high),
                         np.clip(low, cut_low, cut_high), np.clip(high, cut_low, cut_high))
    return kept / v.shape[1], mean, winsorized.mean(axis=1)


def _cut(bound: Bound | None, sigma: float, v: Floats, low: Floats, high: Floats, *,
         upper: bool) -> tuple[float | Floats, Floats]:
    """Where ``bound`` cuts each minute: the z-score of its lognormal values, and the value the samples
    beyond the cut take when winsorized (for a percentage, the minute's percentile; else the bound)."""
    if bound is None:
        return (math.inf, np.full_like(v, math.inf)) if upper else (-math.inf, np.full_like(v, -math.inf))
    if bound.percent:
        z = _z_of(float(bound.value) / 100)
        return z, _at(sigma, z, v, low, high)
    x = float(bound.value)
    inside = (low <= x) & (x < high)  # so v > 0 and σ > 0 there
    ratio = np.divide(x, v, out=np.ones_like(v), where=inside)
    z_inside = (np.log(ratio) + sigma ** 2 / 2) / (sigma or 1.0)
    return np.where(inside, z_inside, np.where(x < low, -math.inf, math.inf)), np.full_like(v, x)


def _tail(share: Floats, value: Floats) -> Floats:
    """``share`` × ``value``: what a winsorized tail adds to the mean (nothing beyond an open end)."""
    return np.multiply(share, value, out=np.zeros_like(value), where=share > 0)


def _at(sigma: float, z: float | Floats, v: Floats, low: Floats, high: Floats) -> Floats:
    """Each minute's value at z-score ``z``, within its reach."""
    return np.clip(v * np.exp(sigma * np.clip(z, -40.0, 40.0) - sigma ** 2 / 2), low, high)


def _phi(z: float | Floats) -> Floats:
    """The standard normal CDF, elementwise."""
    return np.asarray(_ERFC(-np.asarray(z) / math.sqrt(2)), dtype=np.float64) / 2


def _z_of(fraction: float) -> float:
    """The z-score below which ``fraction`` of a normal distribution lies."""
    return -math.inf if fraction <= 0 else math.inf if fraction >= 1 else _NORMAL.inv_cdf(fraction)


def _periods(values: Floats, starts: npt.NDArray[np.int64], samples: float) -> Periods:
    """Each row of ``values`` as a period of samples, each sampled minute standing for its share of them."""
    ordered = np.sort(values, axis=1)
    weights = np.full(values.shape[1], samples / values.shape[1])
    return Periods(starts=starts, count=np.full(len(values), samples), sum=ordered @ weights,
                   minimum=ordered[:, 0], maximum=ordered[:, -1],
                   values=ValueTables.of([(row, weights) for row in ordered]))


def _mirrored(statistic: Statistic, top: float) -> Statistic:
    """The statistic of x from which ``statistic`` of top − x follows: for a bounded one, the statistic
    that keeps the same samples of x (a percentage a of top − x is 100 − a of x, a value v is top − v)."""
    if statistic.kind in ("Maximum", "Minimum"):
        kind = "Minimum" if statistic.kind == "Maximum" else "Maximum"
        return Statistic(kind, kind)
    if statistic.kind == "p":
        return replace(statistic, high=_flipped(statistic.high, top))
    if statistic.kind in _BOUNDED:
        return replace(statistic, low=_flipped(statistic.high, top), high=_flipped(statistic.low, top))
    return statistic


def _flipped(bound: Bound | None, top: float) -> Bound | None:
    if bound is None:
        return None
    return Bound((100 if bound.percent else Fraction(top)) - bound.value, bound.percent)


def _month_to_date(shape: _Shape, key: int, t: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Charges since the 1st (UTC): rising at a weekly rhythm, back to 0 on the 1st."""
    month = t.astype("datetime64[s]").astype("datetime64[M]")
    start = month.astype("datetime64[s]").astype(np.int64)
    end = (month + 1).astype("datetime64[s]").astype(np.int64)
    scale = 1 + shape.variety * (2 * _unit(key, 1) - 1)
    bill = shape.level * scale * (0.9 + 0.2 * _uniform(key ^ 0xB1, month.astype(np.int64)))  # the month's total
    return np.round(bill * _spend(key, start, t) / _spend(key, start, end), 2)


def _spend(key: int, start: npt.NDArray[np.int64], until: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Spend from ``start`` to ``until`` at a rate of 1 ± 0.25 over the week, in days: the integral in closed
    form, so the running total can only rise."""
    omega, phase = 2 * np.pi / 7, 2 * np.pi * _unit(key, 3)
    a, b = start / _DAY, until / _DAY
    return np.asarray((b - a) - 0.25 / omega * (np.cos(omega * b + phase) - np.cos(omega * a + phase)))


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
