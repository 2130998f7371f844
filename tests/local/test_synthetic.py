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


def test_statistics_are_ordered() -> None:
    values = {stat: series(row("Latency", stat), WEEK, END).values
              for stat in ("Minimum", "Average", "p50", "p99", "Maximum")}
    assert np.all(values["Minimum"] <= values["Average"]) and np.all(values["Average"] <= values["Maximum"])
    assert values["p50"].mean() < values["p99"].mean()
    assert np.all(series(row("CPUUtilization", "SampleCount", period=600), WEEK, END).values == 10)


def test_long_windows_are_drawn_with_a_coarser_period() -> None:
    year = END - timedelta(days=365)
    assert effective_period(60, year, END) == 6 * 3600
    assert len(series(row("CPUUtilization", period=60), year, END).values) <= MAX_POINTS
    assert effective_period(300, WEEK, END) == 300


def test_nodata_metrics_have_no_points() -> None:
    data = series(row("NoDataAtAll"), WEEK, END)
    assert len(data.timestamps) == len(data.values) == 0
