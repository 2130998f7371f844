"""The stand-in misbehaving on demand, answering fast, and counting arrivals, through real botocore clients.

Every test here is bounded: a few hundred requests at most, each stand-in private and stopped at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import boto3
import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError
from PIL import Image

from reportgen.local import BackgroundStandIn
from reportgen.local.chaos import HOUR, Arrivals, Chaos, Decision, Outcome
from reportgen.local.cli import main
from reportgen.standin import READY_PREFIX

from .helpers import widget_json
from .protocol_clients import botocore_request

ACCOUNT = "111122223333"
SMALL = widget_json(width=60, height=40)


class FakeClock:
    """A clock the test sets: the stand-in's rate limits and arrival counts read it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def outcome_of(call: Callable[[], Any]) -> str:
    """What a client saw of one call: "ok", the error code and HTTP status, or the botocore exception's name."""
    try:
        call()
    except ClientError as error:
        return f"{error.response['Error']['Code']} {error.response['ResponseMetadata']['HTTPStatusCode']}"
    except (ConnectionClosedError, ReadTimeoutError) as error:
        return type(error).__name__
    return "ok"


# What a client sees of each outcome the model draws.
SEEN = {Outcome.ANSWER: {"ok"}, Outcome.THROTTLED: {"Throttling 400"},
        Outcome.ERROR: {"InternalServiceError 500", "ServiceUnavailable 503"},
        Outcome.RESET: {"ConnectionClosedError"}, Outcome.SLOW: {"ReadTimeoutError"}}


# ---- the draws, without a server ---------------------------------------------------------------------------


def test_each_outcome_gets_its_share_and_a_seed_repeats_the_sequence() -> None:
    settings = {"throttle_fraction": 0.3, "error_fraction": 0.1, "reset_fraction": 0.05, "slow_body_fraction": 0.05}
    model = Chaos(**settings, seed=7)
    drawn = [model.decide() for _ in range(4000)]
    shares = {outcome: sum(d.outcome is outcome for d in drawn) / len(drawn) for outcome in Outcome}
    expected = {Outcome.THROTTLED: 0.3, Outcome.ERROR: 0.1, Outcome.RESET: 0.05, Outcome.SLOW: 0.05,
                Outcome.ANSWER: 0.5}
    assert all(abs(shares[outcome] - share) < 0.03 for outcome, share in expected.items()), shares
    statuses = [d.error.status for d in drawn if d.outcome is Outcome.ERROR and d.error is not None]
    assert abs(statuses.count(500) - statuses.count(503)) < 0.2 * len(statuses)
    assert model.counts == {outcome.value: sum(d.outcome is outcome for d in drawn)
                            for outcome in Outcome if outcome is not Outcome.ANSWER}
    again = Chaos(**settings, seed=7)
    assert [fate(again.decide()) for _ in range(4000)] == [fate(d) for d in drawn]
    other = Chaos(**settings, seed=8)
    assert [other.decide().outcome for _ in range(100)] != [d.outcome for d in drawn[:100]]


def fate(decision: Decision) -> tuple[Outcome, float, int | None]:
    return decision.outcome, decision.delay, None if decision.error is None else decision.error.status


def test_delays_lie_within_the_jitter_and_a_steady_latency_leaves_the_outcomes_alone() -> None:
    calm, steady, jittery = (Chaos(**latency, throttle_fraction=0.5, seed=3)
                             for latency in ({}, {"latency_ms": 200}, {"latency_ms": 300, "jitter_ms": 100}))
    plain, late, shaken = ([chaos.decide() for _ in range(500)] for chaos in (calm, steady, jittery))
    assert {d.delay for d in plain} == {0.0} and {d.delay for d in late} == {0.2}
    assert [d.outcome for d in plain] == [d.outcome for d in late]  # a latency without jitter takes no draw
    assert all(0.2 <= d.delay <= 0.4 for d in shaken) and len({round(d.delay, 3) for d in shaken}) > 100


@pytest.mark.parametrize(("settings", "message"), [
    ({"latency_ms": -1}, "latency must be at least 0 ms"),
    ({"latency_ms": 100, "jitter_ms": 200}, "latency must be at least 0 ms and at least its jitter, got 100:200"),
    ({"throttle_fraction": 1.5}, "the throttle fraction must be from 0 to 1, got 1.5"),
    ({"slow_body_fraction": -0.1}, "the slow body fraction must be from 0 to 1"),
    ({"throttle_fraction": 0.6, "reset_fraction": 0.5}, "add up to 1.1, more than 1"),
])
def test_settings_out_of_range_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Chaos(**settings)
    assert message in str(caught.value)


def test_arrival_counts_keep_the_last_hour_only() -> None:
    clock = FakeClock()
    arrivals = Arrivals("GetMetricWidgetImage", clock=clock)
    for second in range(0, 2 * HOUR, 7):
        clock.now = 1000.0 + second + 0.5
        arrivals.record("k", "a", admitted=True)
    document = arrivals.to_json()
    last = (2 * HOUR - 1) // 7 * 7
    assert document["first_second"] == last - HOUR + 1
    assert len(document["keys"]["k"]["per_second"]) == HOUR
    assert sum(document["accounts"]["a"]["per_second"]) == len(range(last - HOUR + 1, last + 1, 7))
    assert document["keys"]["k"]["max_in_any_second"] == 1


# ---- each knob, as botocore sees it --------------------------------------------------------------------------


def test_throttling_at_one_answers_every_image_with_throttling_and_leaves_other_calls_alone(
        make_standin: Callable[..., BackgroundStandIn], boto3_cloudwatch: Callable[..., Any]) -> None:
    # The frozen clock puts every request in one second, so the limit of 3 refuses the fourth.
    standin = make_standin(throttle_fraction=1.0, rate_limit=3, clock=lambda: 0.0, fast=True)
    client = boto3_cloudwatch(standin.endpoint_url, "ops")
    with pytest.raises(ClientError) as caught:
        client.get_metric_widget_image(MetricWidget=SMALL)
    assert (caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"],
            caught.value.response["ResponseMetadata"]["HTTPStatusCode"]) == ("Throttling", "Rate exceeded", 400)
    assert [outcome_of(lambda: client.get_metric_widget_image(MetricWidget=SMALL)) for _ in range(3)] == [
        "Throttling 400"] * 3
    assert outcome_of(lambda: client.get_metric_data(
        MetricDataQueries=[{"Id": "m", "Expression": "TIME_SERIES(1)"}], StartTime=0, EndTime=600)) == "Throttling 400"
    # Not the operations outside the quota, STS, or the control endpoints.
    assert client.list_metrics()["Metrics"] == []
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=standin.endpoint_url,
                       aws_access_key_id="ops", aws_secret_access_key="testing")
    assert sts.get_caller_identity()["Arn"]
    stats = standin.stats()
    # Throttled by chaos, the first three counted toward the limit as real requests do: the fourth was refused.
    assert stats["chaos"] == {"throttled": 4, "errors": 0, "resets": 0, "slow": 0, "trickling": 0}
    assert (stats["requests"], stats["served"], stats["throttled"], stats["errors"]) == (6, 1, 1, 4)
    arrived = standin.arrivals()["keys"]["ops"]
    assert (arrived["max_in_any_second"], arrived["admitted_max_in_any_second"]) == (4, 3)


def test_errors_at_one_are_500s_and_503s(make_standin: Callable[..., BackgroundStandIn],
                                         boto3_cloudwatch: Callable[..., Any]) -> None:
    standin = make_standin(error_fraction=1.0, rate_limit=1000, fast=True)
    client = boto3_cloudwatch(standin.endpoint_url)
    seen = [outcome_of(lambda: client.get_metric_widget_image(MetricWidget=SMALL)) for _ in range(20)]
    assert set(seen) == {"InternalServiceError 500", "ServiceUnavailable 503"}
    assert standin.stats()["chaos"]["errors"] == 20


async def test_a_reset_is_a_connection_error_to_both_clients(
        make_standin: Callable[..., BackgroundStandIn], boto3_cloudwatch: Callable[..., Any],
        aio_cloudwatch: Callable[..., Any]) -> None:
    standin = make_standin(reset_fraction=1.0, fast=True)
    await both_clients_raise(ConnectionClosedError, standin.endpoint_url, boto3_cloudwatch, aio_cloudwatch)
    # On the wire: the status line, the headers and part of the body, then a reset.
    with raw_request(standin.endpoint_url, SMALL) as connection:
        received, ending = read_all(connection)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
                 .split(b":")[1])
    assert 0 < len(body) < length and ending == "reset"
    assert standin.stats()["chaos"]["resets"] == 3


async def test_a_slow_body_times_the_client_out_and_the_stand_in_stops_trickling(
        make_standin: Callable[..., BackgroundStandIn], aio_cloudwatch: Callable[..., Any],
        boto3_cloudwatch: Callable[..., Any]) -> None:
    standin = make_standin(slow_body_fraction=1.0, fast=True)
    await both_clients_raise(ReadTimeoutError, standin.endpoint_url, boto3_cloudwatch, aio_cloudwatch,
                             read_timeout=0.3)
    assert standin.stats()["chaos"]["slow"] == 2
    # The clients have hung up; the stand-in sees it at its next byte, a second on at most.
    deadline = time.monotonic() + 5
    while standin.stats()["chaos"]["trickling"] and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert standin.stats()["chaos"]["trickling"] == 0


def test_a_stand_in_that_stops_resets_the_bodies_it_is_trickling() -> None:
    # aiohttp waits up to a minute for open requests when it stops; a trickle must not hold it that long.
    with contextlib.ExitStack() as running:
        standin = running.enter_context(BackgroundStandIn(workers=1, slow_body_fraction=1.0, fast=True))
        with raw_request(standin.endpoint_url, SMALL) as connection:
            first = connection.recv(65536)  # the status line, the headers and the first byte: it is trickling
            assert first.startswith(b"HTTP/1.1 200 ") and standin.stats()["chaos"]["trickling"] == 1
            stopping = time.monotonic()
            running.close()
            assert time.monotonic() - stopping < 5
            assert read_all(connection)[1] == "reset"


# ---- about 30 %, the same for the same seed ---------------------------------------------------------------


@pytest.mark.parametrize("knob", ["throttle_fraction", "error_fraction", "reset_fraction"])
def test_a_fraction_of_a_hundred_requests_follows_the_seeded_draws(
        make_standin: Callable[..., BackgroundStandIn], boto3_cloudwatch: Callable[..., Any], knob: str) -> None:
    standin = make_standin(**{knob: 0.3}, seed=42, rate_limit=1000, fast=True)
    client = boto3_cloudwatch(standin.endpoint_url)
    seen = [outcome_of(lambda: client.get_metric_widget_image(MetricWidget=SMALL)) for _ in range(100)]
    model = Chaos(**{knob: 0.3}, seed=42)
    expected = [model.decide().outcome for _ in range(100)]
    assert all(outcome in SEEN[drawn] for outcome, drawn in zip(seen, expected, strict=True))
    assert 20 <= sum(outcome != "ok" for outcome in seen) <= 40


def test_two_runs_with_one_seed_see_the_same_outcomes(make_standin: Callable[..., BackgroundStandIn],
                                                      boto3_cloudwatch: Callable[..., Any]) -> None:
    settings = {"throttle_fraction": 0.3, "error_fraction": 0.1, "reset_fraction": 0.1, "seed": 5,
                "rate_limit": 1000, "fast": True}
    runs = []
    for standin in (make_standin(**settings), make_standin(**settings)):
        client = boto3_cloudwatch(standin.endpoint_url)
        runs.append([outcome_of(partial(client.get_metric_widget_image, MetricWidget=SMALL)) for _ in range(100)])
    assert runs[0] == runs[1]
    assert {"ok", "Throttling 400", "ConnectionClosedError"} <= set(runs[0])


# ---- latency ------------------------------------------------------------------------------------------------


async def test_latency_delays_each_answer_without_holding_up_the_others(
        make_standin: Callable[..., BackgroundStandIn], aio_cloudwatch: Callable[..., Any]) -> None:
    standin = make_standin(latency_ms=200, rate_limit=1000, fast=True)
    async with aio_cloudwatch(standin.endpoint_url, max_pool_connections=20) as client:
        await client.get_metric_widget_image(MetricWidget=SMALL)  # draws the size once, and connects
        started = time.monotonic()
        await client.get_metric_widget_image(MetricWidget=SMALL)
        assert time.monotonic() - started >= 0.2
        started = time.monotonic()
        answers = await asyncio.gather(*(client.get_metric_widget_image(MetricWidget=SMALL) for _ in range(20)))
        elapsed = time.monotonic() - started
    assert len(answers) == 20 and 0.2 <= elapsed < 1.5  # one after another they would take 4 s


# ---- fast mode ----------------------------------------------------------------------------------------------


async def test_fast_mode_draws_each_size_once_and_still_validates(
        make_standin: Callable[..., BackgroundStandIn], standin: BackgroundStandIn,
        aio_cloudwatch: Callable[..., Any]) -> None:
    fast = make_standin(fast=True, rate_limit=1000)
    sizes = [(320, 200)] * 12 + [(640, 300)] * 6 + [(1, 2000)]
    async with aio_cloudwatch(fast.endpoint_url, max_pool_connections=20) as client:
        answers = await asyncio.gather(*(client.get_metric_widget_image(
            MetricWidget=widget_json(width=width, height=height, title=f"chart {n}"))
            for n, (width, height) in enumerate(sizes)))
        with pytest.raises(ClientError) as caught:
            await client.get_metric_widget_image(MetricWidget=widget_json(width=0))
    assert [png_size(answer["MetricWidgetImage"]) for answer in answers] == sizes
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert fast.stats()["renders"] == 3  # one per size, however many asked at once
    # Drawing for real renders every request.
    before = standin.stats()["renders"]
    async with aio_cloudwatch(standin.endpoint_url, "fast-mode-comparison") as client:
        for _ in range(3):
            await client.get_metric_widget_image(MetricWidget=SMALL)
    assert standin.stats()["renders"] - before == 3


def png_size(png: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.load()  # decodes it all: the PNG is whole and valid
    return image.size


# ---- arrivals -----------------------------------------------------------------------------------------------


def test_arrivals_are_counted_per_key_and_per_account_throttled_or_not(
        make_standin: Callable[..., BackgroundStandIn], boto3_cloudwatch: Callable[..., Any]) -> None:
    clock = FakeClock()
    standin = make_standin(clock=clock, rate_limit=4, accounts={"alice": ACCOUNT, "bob": ACCOUNT}, fast=True)
    alice, bob = (boto3_cloudwatch(standin.endpoint_url, key) for key in ("alice", "bob"))

    def send(client: Any, count: int) -> list[str]:
        return [outcome_of(lambda: client.get_metric_widget_image(MetricWidget=SMALL)) for _ in range(count)]

    assert send(alice, 3) + send(bob, 2) == ["ok"] * 4 + ["Throttling 400"]  # the account's 4 in a second
    clock.now += 0.6
    assert send(bob, 2) == ["Throttling 400"] * 2  # still within 1 s of the first four
    clock.now += 0.9
    assert send(alice, 1) == ["ok"]  # second 1, and the first four are more than 1 s ago
    arrivals = standin.arrivals()
    assert arrivals == {
        "operation": "GetMetricWidgetImage", "first_second": 0,
        "keys": {"alice": {"per_second": [3, 1], "max_in_any_second": 3, "admitted_max_in_any_second": 3},
                 "bob": {"per_second": [4, 0], "max_in_any_second": 4, "admitted_max_in_any_second": 1}},
        "accounts": {ACCOUNT: {"per_second": [7, 1], "max_in_any_second": 7, "admitted_max_in_any_second": 4}}}
    assert standin.arrivals("GetMetricData")["keys"] == {}
    stats = standin.stats()
    assert {key: stats["keys"][key]["max_in_any_second"] for key in ("alice", "bob")} == {"alice": 3, "bob": 1}
    assert stats["accounts"][ACCOUNT]["max_in_any_second"] == 4


async def test_arrivals_of_an_operation_not_counted_is_a_400(make_standin: Callable[..., BackgroundStandIn]) -> None:
    standin = make_standin()
    async with (aiohttp.ClientSession(standin.endpoint_url) as http,
                http.get("/_reportgen/arrivals", params={"operation": "ListMetrics"}) as response):
        assert response.status == 400
        assert "not 'ListMetrics'" in (await response.json())["error"]


# ---- the command line ---------------------------------------------------------------------------------------


def test_serve_takes_the_chaos_options(boto3_cloudwatch: Callable[..., Any]) -> None:
    argv = [sys.executable, "-m", "reportgen.local", "serve", "--workers", "1", "--stop-on-eof", "--fast",
            "--latency", "50:10", "--throttle-fraction", "1", "--seed", "3"]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        assert process.stdin is not None and process.stdout is not None
        url = process.stdout.readline().removeprefix(READY_PREFIX).strip()  # blocks until it serves
        client = boto3_cloudwatch(url, "cli")
        started = time.monotonic()
        assert outcome_of(lambda: client.get_metric_widget_image(MetricWidget=SMALL)) == "Throttling 400"
        assert time.monotonic() - started >= 0.04
        process.stdin.close()
        assert process.wait(timeout=30) == 0


@pytest.mark.parametrize(("argv", "message"), [
    (["--latency", "100:200"], "'100:200' is not MS or MS:JITTER_MS"),
    (["--latency", "fast"], "'fast' is not MS or MS:JITTER_MS"),
    (["--error-fraction", "1.5"], "not a fraction from 0 to 1: '1.5'"),
    (["--reset-fraction", "nan"], "not a fraction from 0 to 1: 'nan'"),
    (["--throttle-fraction", "0.6", "--slow-body-fraction", "0.5"], "the chaos fractions add up to 1.1, more than 1"),
])
def test_bad_chaos_options_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", *argv]) == 2
    assert message in capsys.readouterr().err


# ---- raw HTTP, to see what goes on the wire -----------------------------------------------------------------


async def both_clients_raise(error: type[Exception], endpoint_url: str, boto3_cloudwatch: Callable[..., Any],
                             aio_cloudwatch: Callable[..., Any], **options: Any) -> None:
    """A boto3 client and an aiobotocore one (made with ``options``) each see ``error`` for one image request."""
    with pytest.raises(error):
        await asyncio.to_thread(boto3_cloudwatch(endpoint_url, **options).get_metric_widget_image,
                                MetricWidget=SMALL)
    async with aio_cloudwatch(endpoint_url, **options) as client:
        with pytest.raises(error):
            await client.get_metric_widget_image(MetricWidget=SMALL)


def raw_request(endpoint_url: str, widget: str) -> socket.socket:
    """A connection that has sent one GetMetricWidgetImage request, as botocore would, and reads nothing yet."""
    request = botocore_request("json", "GetMetricWidgetImage", {"MetricWidget": widget})
    address = urlsplit(endpoint_url)
    headers = {**request["headers"], "Host": address.netloc, "Content-Length": str(len(request["body"]))}
    connection = socket.create_connection((address.hostname, address.port), timeout=10)
    connection.sendall(b"POST / HTTP/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
                       .encode() + b"\r\n" + request["body"])
    return connection


def read_all(connection: socket.socket) -> tuple[bytes, str]:
    """Everything the server sends, and how it ended: "eof" or "reset"."""
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
    except ConnectionResetError:
        return received, "reset"
    return received, "eof"

