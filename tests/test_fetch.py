"""Retries, timeouts and outcomes of one widget, through the pipeline's own seam (a plain image source).

The wire path is covered against the real stand-in in test_pipeline.py; here the clock is fake
(looptime), so backoff waits and timeouts cost no real time.
"""

import asyncio
from collections.abc import Callable

import pytest

from reportgen.aws import WidgetImageClient, open_clients
from reportgen.errors import AwsError, CredentialsError, TransientError
from reportgen.fetch import PNG_SIGNATURE, RetryPolicy, fetch_widget
from reportgen.local import BackgroundStandIn
from reportgen.model import ClientKey, WidgetRequest, WidgetResult
from reportgen.progress import SPEC_FAULT_CODES
from reportgen.ratelimit import StrictRateLimiter

PNG = PNG_SIGNATURE + b"rest of a png"
REQUEST = WidgetRequest(report_id="r", section=0, index=0, title="CPU", metric_widget="{}", width=600, height=400)
POLICY = RetryPolicy(attempts=5, base_delay=0.5, max_delay=8.0, timeout=10.0)
SLOT = 1 / (20 * 0.97)  # the most one limiter turn can add to a wait
EPS = 1e-9              # loop times are floats


class ScriptedSource:
    """Answers each call with the next scripted outcome: bytes, an exception, or 'hang'."""

    def __init__(self, *script: bytes | Exception | str) -> None:
        self.script = list(script)
        self.calls: list[float] = []

    async def get_widget_image(self, metric_widget: str) -> bytes:
        self.calls.append(asyncio.get_running_loop().time())
        outcome = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if outcome == "hang":
            await asyncio.Event().wait()
        if isinstance(outcome, Exception):
            raise outcome
        assert isinstance(outcome, bytes)
        return outcome


def throttling() -> AwsError:
    return AwsError("Rate exceeded", code="Throttling", status=400, retryable=True)


async def fetch(source: ScriptedSource, policy: RetryPolicy = POLICY) -> tuple[WidgetResult, StrictRateLimiter]:
    limiter = StrictRateLimiter(20)
    return await fetch_widget(REQUEST, source, limiter, policy), limiter


@pytest.mark.looptime
async def test_throttling_is_retried_until_it_succeeds() -> None:
    source = ScriptedSource(throttling(), throttling(), PNG)
    result, limiter = await fetch(source)
    assert result.ok and result.png == PNG
    assert (result.attempts, result.throttled) == (3, 2)
    assert len(limiter.granted) == 3  # every attempt waited its turn at the limiter


@pytest.mark.looptime
async def test_backoff_doubles_from_the_base_delay_with_jitter_on_top() -> None:
    error = AwsError("boom", code="InternalServiceError", status=500, retryable=True)
    source = ScriptedSource(error)
    result, _ = await fetch(source)
    waits = [b - a for a, b in zip(source.calls, source.calls[1:])]
    floors = [min(POLICY.max_delay, POLICY.base_delay * 2 ** n) for n in range(len(waits))]
    assert len(source.calls) == POLICY.attempts
    for wait, floor in zip(waits, floors):
        # at least the exponential floor; at most that, the jitter, and one limiter slot
        assert floor - EPS <= wait <= min(POLICY.max_delay, floor + POLICY.base_delay) + SLOT + EPS
    assert result.error == "InternalServiceError: boom (after 5 attempts)"
    assert result.error_code == "InternalServiceError"


@pytest.mark.looptime
async def test_waits_never_exceed_the_maximum() -> None:
    source = ScriptedSource(TransientError("reset"))
    await fetch(source, RetryPolicy(attempts=8, base_delay=1.0, max_delay=3.0))
    waits = [b - a for a, b in zip(source.calls, source.calls[1:])]
    assert max(waits) <= 3.0 + SLOT + EPS
    assert waits[-1] >= 3.0 - EPS  # the floor has reached the cap


@pytest.mark.looptime
async def test_a_client_error_is_not_retried() -> None:
    source = ScriptedSource(AwsError("bad JSON", code="InvalidParameterValue", status=400))
    result, _ = await fetch(source)
    assert not result.ok
    assert (result.attempts, result.error) == (1, "InvalidParameterValue: bad JSON")


@pytest.mark.parametrize("code", sorted(SPEC_FAULT_CODES))
async def test_a_widget_cloudwatch_refuses_on_the_wire_is_asked_for_once(
        make_standin: Callable[..., BackgroundStandIn], code: str) -> None:
    standin = make_standin()
    message = "The parameter MetricWidget.view must be one of timeSeries, bar, pie."
    standin.add_fault(code, status=400, message=message, count=-1)
    key = ClientKey("fetch-tests", "us-east-1")
    async with open_clients([key], endpoint_url=standin.endpoint_url) as clients:
        client = clients[key]
        assert isinstance(client, WidgetImageClient)
        result = await fetch_widget(REQUEST, client, StrictRateLimiter(20), RetryPolicy(attempts=6, base_delay=0))
    assert (result.attempts, result.error_code, result.error) == (1, code, f"{code}: {message}")


@pytest.mark.looptime
async def test_a_hung_request_times_out_and_is_retried() -> None:
    source = ScriptedSource("hang", PNG)
    loop = asyncio.get_running_loop()
    start = loop.time()
    result, _ = await fetch(source)
    assert result.ok and result.attempts == 2
    assert source.calls[0] - start < 0.1
    assert source.calls[1] - source.calls[0] >= POLICY.timeout


@pytest.mark.looptime
async def test_connection_errors_are_retried_then_reported() -> None:
    source = ScriptedSource(TransientError("Could not connect to the endpoint URL"))
    result, _ = await fetch(source, RetryPolicy(attempts=3, base_delay=0.1))
    assert (result.attempts, result.error) == (3, "Could not connect to the endpoint URL (after 3 attempts)")


@pytest.mark.looptime
async def test_an_answer_that_is_not_a_png_fails_the_widget() -> None:
    result, _ = await fetch(ScriptedSource(b"<html>oops</html>"))
    assert (result.attempts, result.error) == (1, "CloudWatch answered with something that is not a PNG image")


async def test_a_widget_without_a_client_fails_without_a_request() -> None:
    failure = CredentialsError("The config profile (prod) could not be found")
    limiter = StrictRateLimiter(20)
    result = await fetch_widget(REQUEST, failure, limiter, POLICY)
    assert (result.ok, result.attempts, result.error) == (False, 0, "The config profile (prod) could not be found")
    assert not limiter.granted
