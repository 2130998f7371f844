"""Synthetic data: deterministic per point, plausible per metric."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from reportgen.local.synthetic import MAX_POINTS, effective_period, series
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


def test_error_counts_are_small_integers_with_rare_bursts() -> None:
    values = series(row("HTTPCode_Target_5XX_Count", "Sum", namespace="AWS/ApplicationELB"), WEEK, END).values
    assert np.array_equal(values, np.round(values)) and values.min() == 0
    assert np.median(values) <= 1 and values.max() >= 5


STATS = ("Minimum", "p10", "p50", "Average", "p90", "p99", "Maximum")


def ordered(*arrays: np.ndarray) -> bool:
    """Each array ≤ the next at every point, give or take rounding (the mean of equal values)."""
    return all(np.all(lower <= upper + 1e-9 * np.abs(upper)) for lower, upper in zip(arrays, arrays[1:]))


@pytest.mark.parametrize("period", [60, 300, 3600, 86_400])
@pytest.mark.parametrize(("namespace", "name"), [
    ("AWS/ApplicationELB", "TargetResponseTime"), ("AWS/EC2", "CPUUtilization"), ("AWS/Lambda", "Errors"),
    ("AWS/ApplicationELB", "HealthyHostCount"), ("AWS/Route53", "HealthCheckPercentageHealthy"),
    ("AWS/Billing", "EstimatedCharges"), ("AWS/RDS", "FreeStorageSpace"),
])
def test_statistics_are_consistent_at_every_point(namespace: str, name: str, period: int) -> None:
    start = END - timedelta(days=30 if period == 86_400 else 2)
    data = {stat: series(row(name, stat, period, namespace), start, END).values
            for stat in (*STATS, "Sum", "SampleCount")}
    lowest, *percentiles, highest = (data[stat] for stat in ("Minimum", "p10", "p50", "p90", "p99", "Maximum"))
    assert ordered(lowest, data["Average"], highest)
    assert ordered(lowest, *percentiles, highest)
    assert np.all(data["SampleCount"] == max(period / 60, 1))
    assert np.allclose(data["Sum"], data["Average"] * data["SampleCount"], rtol=1e-9, atol=0.5)  # whole counts round


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
