"""The metric store itself: identity of metrics, units, transactions, dashboards, and a file that outlives
the stand-in."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reportgen.local import BackgroundStandIn
from reportgen.local.cli import main
from reportgen.local.store import Dashboard, MetricKey, MetricStore

CPU = MetricKey.of("AWS/EC2", "CPUUtilization", [("InstanceId", "i-1"), ("AutoScalingGroupName", "web")])


@pytest.fixture
def store() -> MetricStore:
    return MetricStore()


def test_a_metric_is_the_same_whatever_order_its_dimensions_come_in(store: MetricStore) -> None:
    assert CPU == MetricKey.of("AWS/EC2", "CPUUtilization", [("AutoScalingGroupName", "web"), ("InstanceId", "i-1")])
    store.add_values(CPU, "Percent", [60, 120], [1.0, 2.0], published=0.0)
    assert store.samples(MetricKey.of(CPU.namespace, CPU.name, reversed(CPU.dimensions)), 0, 200).value.tolist() == [
        1.0, 2.0]
    assert store.metrics() == [CPU]
    assert len(store.samples(MetricKey.of(CPU.namespace, CPU.name, CPU.dimensions[:1]), 0, 200)) == 0


def test_samples_keep_their_units_and_statistic_sets_their_summary(store: MetricStore) -> None:
    store.add_values(CPU, "Percent", [60], [3.0], [4.0], published=0.0)
    store.add_statistic_sets(CPU, "Count", [(120, 2.0, 5.0, 1.0, 4.0)], published=0.0)
    assert store.units(CPU, 0, 200) == ["Count", "Percent"]
    assert store.units(CPU, 100, 200) == ["Count"]
    everything = store.samples(CPU, 0, 200)
    assert [everything.count.tolist(), everything.sum.tolist(), everything.minimum.tolist(),
            everything.maximum.tolist()] == [[4.0, 2.0], [12.0, 5.0], [3.0, 1.0], [3.0, 4.0]]
    assert everything.value[0] == 3.0 and np.isnan(everything.value[1])
    assert store.samples(CPU, 0, 200, "Count").timestamps.tolist() == [120]


def test_a_failed_transaction_keeps_nothing(store: MetricStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.add_values(CPU, "Percent", [60], [1.0], published=0.0)
        raise RuntimeError("interrupted")
    assert store.metrics() == [] and len(store.samples(CPU, 0, 100)) == 0


def test_metrics_by_namespace_name_and_publication(store: MetricStore) -> None:
    other = MetricKey.of("Custom/App", "Orders")
    store.add_values(CPU, "Percent", [60], [1.0], published=100.0)
    store.add_values(other, "Count", [60], [1.0], published=200.0)
    assert store.metrics(namespace="Custom/App") == [other]
    assert store.metrics(name="CPUUtilization") == [CPU]
    assert store.metrics(published_since=150.0) == [other]


def test_dashboards_are_deleted_all_or_none(store: MetricStore) -> None:
    for name in ("a", "ab", "b"):
        store.put_dashboard(Dashboard(name, "{}", 1.0))
    assert [dashboard.name for dashboard in store.dashboards("a")] == ["a", "ab"]
    assert store.delete_dashboards(["a", "zz"]) == ["zz"]
    assert store.dashboard("a") == Dashboard("a", "{}", 1.0)
    assert store.delete_dashboards(["a", "b"]) == []
    assert [dashboard.name for dashboard in store.dashboards()] == ["ab"]


def test_a_data_file_outlives_the_stand_in(tmp_path: Path, boto3_cloudwatch: Callable[..., Any]) -> None:
    path = str(tmp_path / "metrics.db")
    moment = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    with BackgroundStandIn(workers=1, data=path) as first:
        boto3_cloudwatch(first.endpoint_url).put_metric_data(Namespace="Test/Kept", MetricData=[
            {"MetricName": "Beat", "Timestamp": moment, "Value": 7.0}])
    with BackgroundStandIn(workers=1, data=path) as second:
        answer = boto3_cloudwatch(second.endpoint_url).get_metric_statistics(
            Namespace="Test/Kept", MetricName="Beat", StartTime=moment, EndTime=moment + timedelta(minutes=1),
            Period=60, Statistics=["Sum"])
    assert [point["Sum"] for point in answer["Datapoints"]] == [7.0]


def test_serve_takes_a_data_file_and_can_leave_out_synthetic_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    usage = capsys.readouterr().out
    assert "--data PATH" in usage and "--no-synthetic" in usage


def test_serve_with_a_store_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "metrics.db"
    result = subprocess.run([sys.executable, "-m", "reportgen.local", "serve", "--workers", "1", "--data", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert f"ERROR cannot open the metric store {path}: unable to open database file" in result.stderr
    assert "Traceback" not in result.stderr
