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
    store.add_values(CPU, "Percent", [60], [1.0], published=0.0)
    with pytest.raises(RuntimeError), store.transaction():
        store.add_values(CPU, "Percent", [120], [2.0], published=0.0)
        assert store.samples(CPU, 0, 200).value.tolist() == [1.0, 2.0]  # read inside: its own writes
        raise RuntimeError("interrupted")
    assert store.samples(CPU, 0, 200).value.tolist() == [1.0]


def test_a_metric_made_in_a_failed_transaction_is_forgotten(store: MetricStore) -> None:
    # Its id is free again after the rollback, and the next new metric takes it.
    with pytest.raises(RuntimeError), store.transaction():
        store.add_values(CPU, "Percent", [60], [1.0], published=0.0)
        raise RuntimeError("interrupted")
    store.add_values(MetricKey.of("AWS/EC2", "NetworkIn"), "Bytes", [60], [5.0], published=0.0)
    assert len(store.samples(CPU, 0, 200)) == 0 and store.units(CPU, 0, 200) == []


def values(store: MetricStore, start: int, end: int) -> list[float]:
    return store.samples(CPU, start, end).value.tolist()


def test_reads_from_memory_see_every_write(store: MetricStore) -> None:
    store.add_values(CPU, "Percent", [60, 120, 180], [1.0, 2.0, 3.0], published=0.0)
    assert values(store, 0, 600) == [1.0, 2.0, 3.0]
    store.add_values(CPU, "Percent", [120], [9.0], published=0.0)
    assert values(store, 0, 600) == [1.0, 2.0, 9.0, 3.0]
    store.add_statistic_sets(CPU, "Percent", [(180, 2.0, 5.0, 1.0, 4.0)], published=0.0)
    assert store.samples(CPU, 0, 600).count.tolist() == [1.0, 1.0, 1.0, 1.0, 2.0]
    store.delete(CPU, 100, 200)
    assert values(store, 0, 600) == [1.0]


def test_a_read_window_grows_and_moves_without_changing_what_is_read() -> None:
    cached, fresh = MetricStore(), MetricStore(cache_rows=0)
    for each in (cached, fresh):
        each.add_values(CPU, "Percent", list(range(0, 6000, 60)), [float(n) for n in range(100)], published=0.0)
        each.add_values(CPU, "Count", [300, 3000], [-1.0, -2.0], published=0.0)
    for start, end in [(1000, 2000), (500, 1500), (1500, 4000), (0, 6000), (1200, 1300), (5990, 9000),
                       (20_000, 30_000), (0, 60)]:
        got, expected = cached.samples(CPU, start, end), fresh.samples(CPU, start, end)
        assert got.timestamps.tolist() == expected.timestamps.tolist(), (start, end)
        assert got.value.tolist() == expected.value.tolist(), (start, end)
        assert not got.value.flags.writeable  # views of what the store holds
    assert "cached=1/2000000" in repr(cached) and "cached=0/0" in repr(fresh)  # only the last window


def test_the_rows_held_in_memory_stay_within_the_limit() -> None:
    store = MetricStore(cache_rows=250)
    metrics = [MetricKey.of("Test/Cache", f"m{n}") for n in range(3)]
    for metric in metrics:
        store.add_values(metric, "Count", list(range(100)), [1.0] * 100, published=0.0)
    for metric in [*metrics, *metrics]:
        assert store.samples(metric, 0, 100).count.sum() == 100.0
        assert "cached=100/250" in repr(store) or "cached=200/250" in repr(store)


def test_another_connection_sees_only_committed_writes(tmp_path: Path) -> None:
    path = str(tmp_path / "metrics.db")
    reader, writer = MetricStore(path), MetricStore(path)
    writer.add_values(CPU, "Percent", [60], [1.0], published=0.0)
    assert values(reader, 0, 600) == [1.0]
    with writer.transaction():
        writer.add_values(CPU, "Percent", [120], [2.0], published=0.0)
        assert values(reader, 0, 600) == [1.0]
    assert values(reader, 0, 600) == [1.0, 2.0]
    writer.delete(CPU, 0, 100)
    assert values(reader, 0, 600) == [2.0]


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
