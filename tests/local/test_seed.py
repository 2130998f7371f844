"""``reportgen local seed``: a demo estate in a store, drawn as the stand-in draws it without one."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reportgen.cli import main as reportgen_main
from reportgen.local import BackgroundStandIn, synthetic
from reportgen.local.aggregate import by_period, compute, parse_statistic
from reportgen.local.cli import main
from reportgen.local.seed import ESTATE, seed
from reportgen.local.store import MetricKey, MetricStore
from reportgen.local.widget import MetricRow

DAY_END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
DAY_START = DAY_END - timedelta(days=1)
ALB = MetricKey.of("AWS/ApplicationELB", "RequestCount", [("LoadBalancer", "app/prod-web/50dc6c495c0c9188")])
LATENCY = MetricKey.of("AWS/ApplicationELB", "TargetResponseTime", [("LoadBalancer", "app/prod-web/50dc6c495c0c9188")])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store seeded with the estate for the day up to an hour ago."""
    path = tmp_path_factory.mktemp("seed") / "estate.db"
    assert main(["seed", "--data", str(path), "--start", DAY_START.isoformat(), "--end", DAY_END.isoformat()]) == 0
    return path


def test_the_estate_covers_the_services_and_names_of_the_example_specs(examples_dir: Path) -> None:
    namespaces = {metric.namespace for metric in ESTATE}
    assert namespaces == {"AWS/EC2", "AWS/ApplicationELB", "AWS/Lambda", "AWS/RDS", "AWS/DynamoDB", "AWS/SQS",
                          "AWS/ApiGateway"}
    assert ALB in ESTATE and len(ESTATE) == len(set(ESTATE)) > 36
    specs = "".join(path.read_text() for path in examples_dir.rglob("*.*"))
    assert all(value in specs for metric in ESTATE for _, value in metric.dimensions
               if metric.namespace != "AWS/SQS")  # the specs have no queues


def test_seed_says_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "store.db"
    assert reportgen_main(["local", "seed", "--data", str(path), "--start", "2026-11-20T00:00:00Z",
                           "--end", "2026-11-20T02:00:00Z"]) == 0
    line = capsys.readouterr().out
    assert re.fullmatch(rf"seeded {len(ESTATE)} metrics with [\d,]+ datapoints from 2026-11-20T00:00:00Z to "
                        rf"2026-11-20T02:00:00Z into {re.escape(str(path))}\n", line), line


def test_counts_are_the_synthetic_counts(seeded: Path) -> None:
    # A count's minute is the synthetic minute; five of them sum to the synthetic five-minute Sum exactly.
    store = MetricStore(str(seeded))
    start = int(DAY_START.timestamp())
    periods = by_period(store.samples(ALB, start, int(DAY_END.timestamp())), start, 300)
    row = MetricRow(ALB.namespace, ALB.name, ALB.dimensions, "Sum", 300)
    expected = synthetic.series(row, DAY_START, DAY_END)
    assert periods.starts.tolist() == expected.timestamps.tolist()
    assert compute(parse_statistic("Sum"), periods).tolist() == expected.values.tolist()
    store.close()


def test_latency_percentiles_spread_like_the_synthetic_ones(seeded: Path) -> None:
    store = MetricStore(str(seeded))
    start = int(DAY_START.timestamp())
    periods = by_period(store.samples(LATENCY, start, int(DAY_END.timestamp())), start, 300)
    row = MetricRow(LATENCY.namespace, LATENCY.name, LATENCY.dimensions, "p50", 300)
    for stat in ("p50", "p90", "p99", "Average"):
        ours = compute(parse_statistic(stat), periods)
        theirs = synthetic.series(replace(row, stat=stat), DAY_START, DAY_END).values
        assert np.median(np.abs(ours / theirs - 1)) < 0.2, stat
    p50, p99 = (compute(parse_statistic(stat), periods) for stat in ("p50", "p99"))
    assert (p99 > p50).all()
    store.close()


def test_seeding_again_replaces_rather_than_adds(tmp_path: Path) -> None:
    store = MetricStore(str(tmp_path / "store.db"))
    start = DAY_END - timedelta(hours=2)
    first = seed(store, start, DAY_END, published=0.0)
    again = seed(store, start, DAY_END, published=0.0)
    assert first == again and first.datapoints > 120 * len(ESTATE)
    assert repr(store).endswith(f"metrics={len(ESTATE)} datapoints={first.datapoints}>")
    store.close()


def test_a_seeded_store_serves_the_api(seeded: Path, make_standin: Callable[..., BackgroundStandIn],
                                       boto3_cloudwatch: Callable[..., Any]) -> None:
    client = boto3_cloudwatch(make_standin(data=str(seeded)).endpoint_url)
    lambdas = client.list_metrics(Namespace="AWS/Lambda", MetricName="Duration")["Metrics"]
    assert sorted(metric["Dimensions"][0]["Value"] for metric in lambdas) == [
        "order-events-consumer", "orders-api", "orders-handler", "payment-webhook"]
    answer = client.get_metric_data(
        MetricDataQueries=[{"Id": "requests", "MetricStat": {"Metric": {
            "Namespace": ALB.namespace, "MetricName": ALB.name,
            "Dimensions": [{"Name": name, "Value": value} for name, value in ALB.dimensions]},
            "Period": 3600, "Stat": "Sum"}}],
        StartTime=DAY_START, EndTime=DAY_END)
    assert len(answer["MetricDataResults"][0]["Values"]) == 24


@pytest.mark.parametrize("argv", [
    ["seed"],
    ["seed", "--data", "x.db", "--start", "2026-11-20", "--days", "2"],
    ["seed", "--data", "x.db", "--start", "yesterday"],
    ["seed", "--data", "x.db", "--days", "0"],
    ["seed", "--data", "x.db", "--start", "2026-11-21", "--end", "2026-11-20"],
])
def test_bad_seed_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err


def test_a_store_that_cannot_be_opened_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seed", "--data", str(tmp_path / "missing" / "store.db"), "--days", "1"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"ERROR cannot seed {tmp_path / 'missing' / 'store.db'}: unable to open database file"]


def test_the_web_groups_cpu_is_made_of_its_instances(seeded: Path) -> None:
    store = MetricStore(str(seeded))
    start, end = int(DAY_START.timestamp()), int(DAY_END.timestamp())

    def statistic(metric: MetricKey, name: str) -> Any:
        return compute(parse_statistic(name), by_period(store.samples(metric, start, end), start, 300))

    group = MetricKey.of("AWS/EC2", "CPUUtilization", [("AutoScalingGroupName", "prod-web-asg")])
    web = [MetricKey.of("AWS/EC2", "CPUUtilization", [("InstanceId", instance)])
           for instance in ("i-0123456789abcdef0", "i-0fedcba9876543210")]
    assert np.allclose(statistic(group, "Maximum"), np.maximum(*(statistic(one, "Maximum") for one in web)))
    assert np.allclose(statistic(group, "Average"), np.mean([statistic(one, "Average") for one in web], axis=0))
    assert (statistic(group, "SampleCount") == 10).all()  # two instances, five minutes
    store.close()
