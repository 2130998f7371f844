"""The alarms that fired in a period, fetched from the stand-in over loopback with aiobotocore."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import boto3
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.config import Config

from reportgen.alarmreport import AlarmEpisode, AlarmsResult, fetch_alarms
from reportgen.aws import WidgetImageClient
from reportgen.errors import AwsError, CredentialsError
from reportgen.local import BackgroundStandIn
from reportgen.model import RetryPolicy
from reportgen.ratelimit import StrictRateLimiter

MINUTE = timedelta(minutes=1)
START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
HOUR = (START, START + timedelta(hours=1))
# One value a minute from START: over 80 in minutes 10-14, 20 and 30-39.
CPU = [90.0 if 10 <= minute < 15 or minute == 20 or 30 <= minute < 40 else 10.0 for minute in range(60)]
POLICY = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.005, timeout=10.0)


class Clock:
    def __init__(self) -> None:
        self.at = START

    def __call__(self) -> float:
        return self.at.timestamp()


class Throttled(WidgetImageClient):
    """CloudWatch turning the first ``times`` calls away, as it does an account over its rate."""

    def __init__(self, client: Any, times: int) -> None:
        super().__init__(client)
        self.times = times
        self.calls = 0

    async def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.times:
            raise AwsError("Rate exceeded", code="Throttling", status=400, retryable=True)
        return await super()._call(operation, params)


@pytest.fixture(scope="module")
def clocked() -> Iterator[tuple[BackgroundStandIn, Clock]]:
    clock = Clock()
    with BackgroundStandIn(workers=1, wall_clock=clock, synthetic=False) as standin:
        yield standin, clock


@pytest.fixture
def namespace() -> str:
    """A namespace, and alarm name prefix, of the test's own."""
    return f"Test/{uuid4().hex[:12]}"


@pytest.fixture
def put(clocked: tuple[BackgroundStandIn, Clock], namespace: str) -> Callable[..., None]:
    """``put(name, values, first=START, **alarm)``: ``values`` a minute apart from ``first`` as the namespace's
    metric ``name``, and an alarm named after it (1 of 1 minute over 80 unless ``alarm`` says otherwise) made
    just before ``first``. The clock is then an hour after START."""
    standin, clock = clocked
    client = boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=standin.endpoint_url,
                          aws_access_key_id="testing", aws_secret_access_key="testing",
                          config=Config(retries={"total_max_attempts": 1}))

    def make(name: str, values: list[float], first: datetime = START, **alarm: Any) -> None:
        clock.at = first - timedelta(seconds=30)
        client.put_metric_alarm(**{
            "AlarmName": f"{namespace}-{name}", "Namespace": namespace, "MetricName": name, "Statistic": "Average",
            "Period": 60, "EvaluationPeriods": 1, "Threshold": 80.0, "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching", **alarm})
        clock.at = max(first + len(values) * MINUTE - 2 * MINUTE, START)
        for chunk in range(0, len(values), 1000):
            client.put_metric_data(Namespace=namespace, MetricData=[
                {"MetricName": name, "Value": value, "Timestamp": first + index * MINUTE}
                for index, value in enumerate(values[chunk:chunk + 1000], chunk)])
        clock.at = START + timedelta(hours=1)

    return make


@pytest.fixture
def source(clocked: tuple[BackgroundStandIn, Clock]) -> Callable[..., Any]:
    """``async with source() as client``: an aiobotocore client of the clocked stand-in."""
    return lambda: AioSession().create_client(
        "cloudwatch", region_name="us-east-1", endpoint_url=clocked[0].endpoint_url, aws_access_key_id="testing",
        aws_secret_access_key="testing", config=AioConfig(retries={"total_max_attempts": 1}))


async def history(client: Any, alarm: str) -> list[dict[str, Any]]:
    """Every state change of ``alarm``, oldest first, as DescribeAlarmHistory holds them."""
    answer = await client.describe_alarm_history(AlarmName=alarm, HistoryItemType="StateUpdate",
                                                 ScanBy="TimestampAscending", MaxRecords=100)
    return list(answer["AlarmHistoryItems"])


async def test_episodes_are_the_stays_in_alarm_the_history_holds(put: Callable[..., None], source: Callable[..., Any],
                                                                namespace: str) -> None:
    put("cpu", CPU, AlarmDescription="CPU above 80")
    put("quiet", [10.0] * 60)
    async with source() as client:
        result = await fetch_alarms(WidgetImageClient(client), StrictRateLimiter(1000), POLICY, start=HOUR[0],
                                    end=HOUR[1], prefix=namespace)
        changes = await history(client, f"{namespace}-cpu")
    assert result.error is None
    (summary,) = result.alarms  # the quiet alarm never fired
    assert (summary.alarm, summary.description, summary.flapping) == (f"{namespace}-cpu", "CPU above 80", True)
    into = [(item["Timestamp"], json.loads(item["HistoryData"])["newState"]["stateReason"]) for item in changes
            if item["HistorySummary"].endswith("to ALARM")]
    out = [item["Timestamp"] for item in changes if item["HistorySummary"] == "Alarm updated from ALARM to OK"]
    assert summary.episodes == tuple(AlarmEpisode(summary.alarm, started, ended, reason)
                                     for (started, reason), ended in reversed(list(zip(into, out))))
    assert [(episode.started - START, episode.ended - episode.started) for episode in summary.episodes
            if episode.ended] == [(31 * MINUTE, 10 * MINUTE), (21 * MINUTE, MINUTE), (11 * MINUTE, 5 * MINUTE)]
    assert summary.episodes[0].reason.startswith("Threshold Crossed: 1 out of the last 1 datapoints [90.0 ")


async def test_an_episode_that_spans_an_edge_of_the_period_keeps_its_start_and_has_no_end_inside(
        put: Callable[..., None], source: Callable[..., Any], namespace: str) -> None:
    put("cpu", CPU)
    async with source() as client:
        result = await fetch_alarms(WidgetImageClient(client), StrictRateLimiter(1000), POLICY,
                                    start=START + 33 * MINUTE, end=START + 35 * MINUTE, names=[f"{namespace}-cpu"])
    (summary,) = result.alarms
    (episode,) = summary.episodes
    assert (episode.started, episode.ended, summary.flapping) == (START + 31 * MINUTE, None, False)


async def test_state_narrows_to_the_alarms_in_it_now(put: Callable[..., None], source: Callable[..., Any],
                                                     namespace: str) -> None:
    put("cpu", CPU)
    put("stuck", [90.0] * 60)
    async with source() as client:
        result = await fetch_alarms(WidgetImageClient(client), StrictRateLimiter(1000), POLICY, start=HOUR[0],
                                    end=HOUR[1], prefix=namespace, state="ALARM")
    (summary,) = result.alarms
    assert summary.alarm == f"{namespace}-stuck" and summary.episodes[0].ended is None


async def test_every_page_is_followed(put: Callable[..., None], source: Callable[..., Any], namespace: str) -> None:
    flapping = [90.0, 10.0] * 130  # a change every minute: pages of history
    put("flap", flapping, first=START - len(flapping) * MINUTE)
    for number in range(51):  # more alarms than one page of DescribeAlarms
        put(f"cpu{number:02d}", CPU)
    async with source() as client:
        result = await fetch_alarms(WidgetImageClient(client), StrictRateLimiter(1000), POLICY,
                                    start=START - len(flapping) * MINUTE, end=HOUR[1], prefix=namespace)
    episodes = {summary.alarm: len(summary.episodes) for summary in result.alarms}
    assert episodes == {f"{namespace}-flap": 130, **{f"{namespace}-cpu{number:02d}": 3 for number in range(51)}}
    assert result.alarms[0].episodes[0].started == START + 31 * MINUTE  # newest first


async def test_throttled_calls_are_retried_and_a_lasting_failure_is_an_error(
        put: Callable[..., None], source: Callable[..., Any], namespace: str) -> None:
    put("cpu", CPU)
    async with source() as client:
        limiter = StrictRateLimiter(1000)
        throttled = Throttled(client, times=2)
        result = await fetch_alarms(throttled, limiter, POLICY, start=HOUR[0], end=HOUR[1], prefix=namespace)
        assert [len(summary.episodes) for summary in result.alarms] == [3]
        assert throttled.calls == 4 and len(limiter.granted) == 4  # every attempt waits its turn
        failed = await fetch_alarms(Throttled(client, times=99), StrictRateLimiter(1000), POLICY, start=HOUR[0],
                                    end=HOUR[1], prefix=namespace)
    assert failed == AlarmsResult((), error="DescribeAlarms: Throttling: Rate exceeded (after 3 attempts)")


async def test_an_account_without_a_client_is_an_error() -> None:
    result = await fetch_alarms(CredentialsError("no usable AWS credentials: the profile prod is unknown"),
                                StrictRateLimiter(1000), POLICY, start=HOUR[0], end=HOUR[1])
    assert result == AlarmsResult((), error="no usable AWS credentials: the profile prod is unknown")
