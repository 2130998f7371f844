"""Synthetic data: deterministic per point, plausible per metric."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from reportgen.local.aggregate import Periods, ValueTables, compute, parse_statistic
from reportgen.local.synthetic import MAX_POINTS, _trimmed, effective_period, series
from reportgen.local.widget import MetricRow

END = datetime(2026, 11, 26, tzinfo=UTC)
WEEK = END - timedelta(days=7)


def row(name: str, stat: str = "Average", period: int = 300, namespace: str = "AWS/EC2",
        dimensions: tuple[tuple[str, str], ...] = (("InstanceId", "i-1"),)) -> MetricRow:
    return MetricRow(namespace, name, dimensions, stat, period)


def test_points_sit_on_period_boundaries_inside_the_window() -> None:
    data = series(row("CPUUtilization", period=300), END - timedelta(minutes=61), END)
    assert data.timestamps[0] == END.timestamp() - 3600 and data.timestamps[-1] == END.timestamp() - 300
    assert np.all(np.diff(data.timestamps) == 300) and len(data.values) == 12


def test_a_point_has_the_same_value_in_every_window() -> None:
    day = series(row("Latency", "p99"), END - timedelta(days=1), END)
    hour = series(row("Latency", "p99"), END - timedelta(hours=1), END)
    assert np.array_equal(day.values[-12:], hour.values)


@pytest.mark.parametrize("change", [
    {"name": "NetworkIn"}, {"stat": "Maximum"}, {"namespace": "Custom/App"}, {"dimensions": (("InstanceId", "i-2"),)},
])
def test_every_part_of_the_key_changes_the_data(change: dict[str, object]) -> None:
    base = {"name": "CPUUtilization"}
    first = series(row(**base), WEEK, END).values  # type: ignore[arg-type]
    second = series(row(**{**base, **change}), WEEK, END).values  # type: ignore[arg-type]
    assert not np.array_equal(first, second)


@pytest.mark.parametrize(("namespace", "name", "stat"), [
    ("AWS/EC2", "CPUUtilization", "Average"),
    ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum"),  # a family: its seed is shared with RequestCount
    ("AWS/ApiGateway", "Latency", "TM(10%:90%)"),
    ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum"),  # a dead-letter queue, known by its QueueName
])
def test_dimension_pairs_name_the_metric_in_any_order(namespace: str, name: str, stat: str) -> None:
    """CloudWatch identifies a metric by its set of dimensions: written in any order, it has the same data."""
    pairs = (("QueueName", "orders-dlq"), ("AutoScalingGroupName", "web"), ("InstanceId", "i-1"))
    drawn = {series(row(name, stat, namespace=namespace, dimensions=order), WEEK, END).values.tobytes()
             for order in (pairs, pairs[::-1], pairs[1:] + pairs[:1])}
    assert len(drawn) == 1
    assert series(row(name, stat, namespace=namespace, dimensions=pairs[:2]), WEEK, END).values.tobytes() not in drawn


@pytest.mark.parametrize(("name", "stat", "unit", "low", "high"), [
    ("CPUUtilization", "Average", "Percent", 1, 100),
    ("CPUUtilization", "Maximum", "Percent", 1, 100),
    ("TargetResponseTime", "Average", "Seconds", 0.01, 5),
    ("Duration", "p99", "Milliseconds", 10, 5000),
    ("DatabaseConnections", "Average", "Count", 1, 200),
    ("FreeStorageSpace", "Minimum", "Bytes", 5e10, 5e11),
    ("RequestCount", "Sum", "Count", 100, 100_000),
    ("SomethingUnheardOf", "Average", None, 1, 500),
])
def test_values_are_plausible_for_the_metric(name: str, stat: str, unit: str | None, low: float, high: float) -> None:
    data = series(row(name, stat), WEEK, END)
    assert data.unit == unit
    assert low <= data.values.min() and data.values.max() <= high


@pytest.mark.parametrize(("stat", "unit"), [("TC(:0.5)", "Count"), ("PR(:0.5)", "Percent"), ("TS(:0.5)", "Seconds"),
                                          ("TM(10%:90%)", "Seconds"), ("WM(:0.5)", "Seconds")])
def test_trimmed_counts_are_counts_and_ranks_are_percentages(stat: str, unit: str) -> None:
    assert series(row("TargetResponseTime", stat, namespace="AWS/ApplicationELB"), WEEK, END).unit == unit


def test_error_counts_are_small_integers_with_rare_bursts() -> None:
    values = series(row("HTTPCode_Target_5XX_Count", "Sum", namespace="AWS/ApplicationELB"), WEEK, END).values
    assert np.array_equal(values, np.round(values)) and values.min() == 0
    assert np.median(values) <= 1 and values.max() >= 5


STATS = ("Minimum", "p10", "p50", "Average", "p90", "p99", "Maximum")


def ordered(*arrays: np.ndarray) -> bool:
    """Each array ≤ the next at every point, give or take rounding (the mean of equal values)."""
    return all(np.all(lower <= upper + 1e-9 * np.abs(upper)) for lower, upper in zip(arrays, arrays[1:]))


# Every kind of shape: skewed and narrow spreads, whole numbers, complements, a ceiling, a held value.
SHAPES = pytest.mark.parametrize(("namespace", "name"), [
    ("AWS/ApplicationELB", "TargetResponseTime"), ("AWS/EC2", "CPUUtilization"), ("AWS/Lambda", "Errors"),
    ("AWS/ApplicationELB", "HealthyHostCount"), ("AWS/Route53", "HealthCheckPercentageHealthy"),
    ("AWS/Billing", "EstimatedCharges"), ("AWS/RDS", "FreeStorageSpace"), ("AWS/Lambda", "Invocations"),
])
PERIODS = pytest.mark.parametrize("period", [60, 300, 3600, 86_400])


def statistics(namespace: str, name: str, period: int, *stats: str) -> dict[str, np.ndarray]:
    start = END - timedelta(days=30 if period == 86_400 else 2)
    return {stat: series(row(name, stat, period, namespace), start, END).values for stat in stats}


@PERIODS
@SHAPES
def test_statistics_are_consistent_at_every_point(namespace: str, name: str, period: int) -> None:
    data = statistics(namespace, name, period, *STATS, "Sum", "SampleCount")
    lowest, *percentiles, highest = (data[stat] for stat in ("Minimum", "p10", "p50", "p90", "p99", "Maximum"))
    assert ordered(lowest, data["Average"], highest)
    assert ordered(lowest, *percentiles, highest)
    assert np.all(data["SampleCount"] == max(period / 60, 1))
    assert np.allclose(data["Sum"], data["Average"] * data["SampleCount"], rtol=1e-9, atol=0.5)  # whole counts round


@PERIODS
@SHAPES
def test_trimmed_and_winsorized_means_sit_between_their_percentiles(namespace: str, name: str, period: int) -> None:
    data = statistics(namespace, name, period, "Minimum", "p10", "p25", "p75", "p90", "Maximum", "Average",
                      "TM(10%:90%)", "WM(10%:90%)", "IQM", "TM(25%:75%)", "TM(0%:100%)", "WM(0%:100%)", "tm90")
    lowest, p10, p25, p75, p90, highest = (data[s] for s in ("Minimum", "p10", "p25", "p75", "p90", "Maximum"))
    assert ordered(lowest, p10, data["TM(10%:90%)"], p90, highest)
    assert ordered(lowest, p10, data["WM(10%:90%)"], p90, highest)
    assert ordered(p25, data["IQM"], p75) and np.array_equal(data["IQM"], data["TM(25%:75%)"])
    assert ordered(lowest, data["tm90"], p90)
    assert np.allclose(data["TM(0%:100%)"], data["Average"], rtol=1e-9, atol=1e-12)
    assert np.allclose(data["WM(0%:100%)"], data["Average"], rtol=1e-9, atol=1e-12)


@PERIODS
@SHAPES
def test_trimmed_counts_sums_and_ranks_agree(namespace: str, name: str, period: int) -> None:
    typical = float(np.median(statistics(namespace, name, period, "Average")["Average"]))
    for bounds in ("10%:90%", "5%:", f":{typical:.6g}", f"{typical:.6g}:", f"{typical / 2:.6g}:{typical * 2:.6g}"):
        data = statistics(namespace, name, period, "SampleCount", *(f"{kind}({bounds})" for kind in ("TM", "TC", "TS")))
        count, mean, kept, total = data.values()
        assert np.all((0 <= kept) & (kept <= count + 1e-9))
        assert np.array_equal(np.isnan(mean), kept == 0)  # a trimmed mean of nothing is undefined
        assert np.allclose(total, np.where(kept > 0, mean * kept, 0), rtol=1e-9, atol=1e-9)
        if "%" in bounds:
            share = (0.8 if bounds == "10%:90%" else 0.95)
            assert np.allclose(kept, share * count, rtol=1e-9)
        else:  # a percentile rank is the share of samples a trimmed count keeps
            rank = statistics(namespace, name, period, f"PR({bounds})")[f"PR({bounds})"]
            assert np.all((0 <= rank) & (rank <= 100)) and np.allclose(rank, 100 * kept / count, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("namespace", "name"), [("AWS/ApplicationELB", "TargetResponseTime"),
                                                 ("AWS/EC2", "CPUUtilization"), ("AWS/Lambda", "Invocations")])
def test_trimmed_mean_narrows_toward_the_median(namespace: str, name: str) -> None:
    p50 = statistics(namespace, name, 300, "p50")["p50"]  # five minutes a point: whole numbers have a middle one
    gaps = [np.abs(statistics(namespace, name, 300, f"TM({a}%:{100 - a}%)")[f"TM({a}%:{100 - a}%)"] - p50).mean()
            for a in (0, 10, 25, 40, 49.9)]
    assert gaps == sorted(gaps, reverse=True) and gaps[0] > 0
    assert gaps[-1] <= 1e-3 * np.abs(p50).mean()


def test_value_bounds_beyond_every_sample_keep_all_or_nothing() -> None:
    data = statistics("AWS/ApplicationELB", "TargetResponseTime", 300, "Maximum", "PR(:1000)", "PR(1000:)",
                      "TC(1000:)", "TS(1000:)", "TM(1000:)", "WM(1000:)", "TM(:1000)", "Average")
    assert data["Maximum"].max() < 1000
    assert np.all(data["PR(:1000)"] == 100) and np.all(data["PR(1000:)"] == 0)
    assert np.all(data["TC(1000:)"] == 0) and np.all(data["TS(1000:)"] == 0) and np.isnan(data["TM(1000:)"]).all()
    assert np.all(data["WM(1000:)"] == 1000)  # as in CloudWatch, every sample is lifted to the bound
    assert np.allclose(data["TM(:1000)"], data["Average"], rtol=1e-9)


def test_whole_number_bounded_statistics_count_whole_minutes() -> None:
    """Healthy hosts are 4 − unhealthy ones; TC(:3) counts the minutes in which a host was down."""
    group = (("TargetGroup", "targetgroup/web/1"), ("LoadBalancer", "app/web/2"))
    healthy = {stat: series(row("HealthyHostCount", stat, 300, "AWS/ApplicationELB", group), WEEK, END).values
               for stat in ("Minimum", "PR(:3)", "TC(:3)", "TM(:3)")}
    down = healthy["Minimum"] <= 3
    assert down.any() and np.array_equal(healthy["TC(:3)"] > 0, down)
    assert np.array_equal(healthy["TC(:3)"], np.round(healthy["TC(:3)"]))
    assert np.array_equal(healthy["PR(:3)"], 100 * healthy["TC(:3)"] / 5)
    assert ordered(healthy["Minimum"][down], healthy["TM(:3)"][down], np.full(down.sum(), 3.0))
    assert np.isnan(healthy["TM(:3)"][~down]).all()


@pytest.mark.parametrize("stat", ["TM(10%:90%)", "WM(5%:95%)", "IQM", "TC(:0.2)", "TS(0.05:0.2)", "PR(:0.2)"])
def test_bounded_statistics_are_deterministic(stat: str) -> None:
    day = series(row("TargetResponseTime", stat, namespace="AWS/ApplicationELB"), END - timedelta(days=1), END)
    hour = series(row("TargetResponseTime", stat, namespace="AWS/ApplicationELB"), END - timedelta(hours=1), END)
    assert np.array_equal(day.values[-12:], hour.values, equal_nan=True)


@pytest.mark.parametrize("stat", ["TM(10%:90%)", "IQM", "tm99", "TM(40:200)", "TM(:50)", "WM(5%:95%)", "WM(50:100)",
                                  "WM(:80)", "TC(10%:90%)", "TC(:50)", "TS(10%:90%)", "TS(:50)", "PR(50:100)"])
def test_closed_forms_match_cloudwatchs_statistics_of_lognormal_samples(stat: str) -> None:
    """The closed forms mean what aggregate computes on stored samples: here, a million drawn from one minute."""
    sigma, mean = 0.6, 70.0
    values = np.sort(mean * np.exp(sigma * np.random.default_rng(7).standard_normal(1_000_000) - sigma ** 2 / 2))
    stored = Periods(starts=np.zeros(1, np.int64), count=np.array([values.size * 1.0]), sum=np.array([values.sum()]),
                     minimum=values[:1], maximum=values[-1:],
                     values=ValueTables.of([(values, np.ones_like(values))]))
    statistic = parse_statistic(stat)
    minute = np.array([[mean]])
    kept, trimmed, winsorized = _trimmed(sigma, statistic, minute, minute * 1e-6, minute * 1e6)
    closed = {"TM": trimmed, "WM": winsorized, "TC": kept * values.size, "TS": trimmed * kept * values.size,
              "PR": 100 * kept}[statistic.kind]
    assert closed[0] == pytest.approx(compute(statistic, stored)[0], rel=5e-3)


def test_statistics_are_ordered() -> None:
    values = {stat: series(row("Latency", stat), WEEK, END).values for stat in STATS}
    assert values["p50"].mean() < values["Average"].mean() < values["p99"].mean()  # latency is skewed right
    assert np.all(series(row("CPUUtilization", "SampleCount", period=600), WEEK, END).values == 10)


def test_whole_number_metrics_are_whole_at_every_statistic_but_the_average() -> None:
    for stat in ("Sum", "Maximum", "Minimum", "p90"):
        values = series(row("Invocations", stat, namespace="AWS/Lambda"), WEEK, END).values
        assert np.array_equal(values, np.round(values))


def hourly(name: str, namespace: str, stat: str = "Sum", period: int = 3600,
           dimensions: tuple[tuple[str, str], ...] = (("FunctionName", "orders-handler"),)) -> np.ndarray:
    return series(row(name, stat, period, namespace, dimensions), WEEK, END).values


def test_api_gateway_latency_is_milliseconds_with_p99_above_p50() -> None:
    api = (("ApiName", "orders-api"), ("Stage", "prod"))
    p50, p99 = (hourly("Latency", "AWS/ApiGateway", stat, dimensions=api) for stat in ("p50", "p99"))
    integration = hourly("IntegrationLatency", "AWS/ApiGateway", "p99", dimensions=api)
    assert series(row("Latency", namespace="AWS/ApiGateway"), WEEK, END).unit == "Milliseconds"
    assert 10 < np.median(p50) < 200 and 50 < np.median(p99) < 1000
    assert np.all(p50 < p99) and np.median(integration) < np.median(p99)


def test_lambda_error_rate_is_a_fraction_of_a_percent_of_thousands_of_invocations() -> None:
    errors, invocations = hourly("Errors", "AWS/Lambda"), hourly("Invocations", "AWS/Lambda")
    assert 1000 <= np.median(invocations) <= 10_000
    assert 0.1 <= np.median(100 * errors / invocations) <= 1


@pytest.mark.parametrize(("namespace", "name", "stat"), [
    ("AWS/DynamoDB", "ReadThrottleEvents", "Sum"), ("AWS/DynamoDB", "ThrottledRequests", "Sum"),
    ("AWS/ApplicationELB", "UnHealthyHostCount", "Maximum"), ("AWS/EC2", "StatusCheckFailed_System", "Maximum"),
    ("AWS/Lambda", "Throttles", "Sum"),
])
def test_trouble_counts_are_mostly_zero(namespace: str, name: str, stat: str) -> None:
    values = series(row(name, stat, 300, namespace), WEEK, END).values
    assert np.mean(values == 0) > 0.8 and values.max() >= 1


def test_healthy_hosts_are_few_and_steady_and_dip_when_one_is_unhealthy() -> None:
    group = (("TargetGroup", "targetgroup/web/1"), ("LoadBalancer", "app/web/2"))
    healthy = series(row("HealthyHostCount", "Minimum", 300, "AWS/ApplicationELB", group), WEEK, END).values
    unhealthy = series(row("UnHealthyHostCount", "Maximum", 300, "AWS/ApplicationELB", group), WEEK, END).values
    assert np.mean(healthy == 4) > 0.9 and healthy.min() < 4
    assert np.array_equal(healthy, 4 - unhealthy)


def test_route53_health_is_near_100_with_rare_dips() -> None:
    values = series(row("HealthCheckPercentageHealthy", "Minimum", 3600, "AWS/Route53"), WEEK, END).values
    assert np.median(values) > 99 and values.max() <= 100 and 50 < values.min() < 99


def test_rds_read_latency_is_a_few_milliseconds_in_seconds() -> None:
    data = series(row("ReadLatency", namespace="AWS/RDS"), WEEK, END)
    assert data.unit == "Seconds" and 0.001 <= np.median(data.values) <= 0.005


def test_free_storage_drains_slowly() -> None:
    values = series(row("FreeStorageSpace", "Minimum", 86_400, "AWS/RDS"), END - timedelta(days=60), END).values
    assert np.sum(np.diff(values) > 0) <= 2  # it only grows back when the 30-day cycle starts afresh


def test_estimated_charges_climb_through_the_month_and_start_again_on_the_first() -> None:
    start = datetime(2026, 10, 15, tzinfo=UTC)
    data = series(row("EstimatedCharges", "Maximum", 21_600, "AWS/Billing", (("Currency", "USD"),)),
                  start, start + timedelta(days=31))
    first = int(np.searchsorted(data.timestamps, datetime(2026, 11, 1, tzinfo=UTC).timestamp()))
    october, november = data.values[:first], data.values[first:]
    assert np.all(np.diff(october) >= 0) and np.all(np.diff(november) >= 0)
    assert november[0] == 0 and 1000 < october[-1] < 20_000
    assert np.array_equal(data.values, np.round(data.values, 2))  # dollars and cents


def test_long_windows_are_drawn_with_a_coarser_period() -> None:
    year = END - timedelta(days=365)
    assert effective_period(60, year, END) == 6 * 3600
    assert len(series(row("CPUUtilization", period=60), year, END).values) <= MAX_POINTS
    assert effective_period(300, WEEK, END) == 300


def test_nodata_metrics_have_no_points() -> None:
    data = series(row("NoDataAtAll"), WEEK, END)
    assert len(data.timestamps) == len(data.values) == 0
