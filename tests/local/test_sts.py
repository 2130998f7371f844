"""The stand-in's STS, and CloudWatch's rate limits kept per account, through real boto3 and aiobotocore clients."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest
from aiobotocore.session import AioSession
from botocore.config import Config
from botocore.exceptions import ClientError

from reportgen.local import BackgroundStandIn, create_app
from reportgen.local.cli import main
from reportgen.local.sts import derived_account
from reportgen.local.widget import Widget
from reportgen.standin import READY_PREFIX

from .helpers import widget_json

SHARED = "123456789012"
ROLE = "arn:aws:iam::210987654321:role/reporting/reader"
DENIED = "arn:aws:iam::210987654321:role/admin"
GUARDED = "arn:aws:iam::333333333333:role/partner"
EXTERNAL_ID = "partner-7f3a"
STS_NS = {"sts": "https://sts.amazonaws.com/doc/2011-06-15/"}


class WallClock:
    """The stand-in's wall clock, moved by the test; it starts at the real time, as botocore's refresh logic
    compares expiry times with that."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def flat_png(widget: Widget, *data: Any, **search: Any) -> bytes:
    """A renderer that draws nothing, so throttling tests spend no time drawing (module level: workers import it)."""
    return b"\x89PNG"


@pytest.fixture(scope="module")
def wall_clock() -> WallClock:
    return WallClock()


@pytest.fixture(scope="module")
def sts_standin(wall_clock: WallClock) -> Iterator[BackgroundStandIn]:
    """A stand-in whose STS knows two keys of one account, a denied role and a role that needs an external id."""
    with BackgroundStandIn(workers=1, wall_clock=wall_clock, accounts={"local-a": SHARED, "local-b": SHARED},
                           denied_roles=[DENIED], required_external_ids={GUARDED: EXTERNAL_ID}) as running:
        yield running


def sts_client(endpoint_url: str, access_key: str, secret: str = "testing", token: str | None = None) -> Any:
    return boto3.client("sts", region_name="us-east-1", endpoint_url=endpoint_url, aws_access_key_id=access_key,
                        aws_secret_access_key=secret, aws_session_token=token,
                        config=Config(retries={"total_max_attempts": 1}))


def aio_sts(endpoint_url: str, access_key: str) -> Any:
    return AioSession().create_client("sts", region_name="us-east-1", endpoint_url=endpoint_url,
                                      aws_access_key_id=access_key, aws_secret_access_key="testing")


def session_keys(credentials: dict[str, Any]) -> dict[str, str]:
    """AssumeRole's credentials as a client's keyword arguments."""
    return {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"]}


def described(error: ClientError) -> tuple[str, int, str]:
    """An error answer's code, HTTP status and message."""
    response = error.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def error_of(call: Callable[[], Any]) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return described(caught.value)


def identity(response: dict[str, Any]) -> tuple[str, str, str]:
    return response["UserId"], response["Account"], response["Arn"]


async def test_a_plain_key_is_a_user_of_its_mapped_or_derived_account(sts_standin: BackgroundStandIn) -> None:
    url = sts_standin.endpoint_url
    async with aio_sts(url, "local-prod") as prod, aio_sts(url, "local-a") as mapped:
        prod_identity = await prod.get_caller_identity()
        mapped_identity = await mapped.get_caller_identity()
    assert (prod_identity["Account"], prod_identity["Arn"]) == (
        derived_account("local-prod"), f"arn:aws:iam::{derived_account('local-prod')}:user/local-prod")
    assert prod_identity["UserId"].startswith("AIDA")
    assert (mapped_identity["Account"], mapped_identity["Arn"]) == (SHARED, f"arn:aws:iam::{SHARED}:user/local-a")
    # boto3 sees the same: the map puts two keys in one account, derivation keeps unmapped ones apart.
    accounts = {key: sts_client(url, key).get_caller_identity()["Account"]
                for key in ("local-a", "local-b", "local-prod", "local-staging")}
    assert accounts["local-a"] == accounts["local-b"] == SHARED
    assert len({accounts["local-prod"], accounts["local-staging"], SHARED}) == 3
    assert all(len(account) == 12 and account.isdigit() for account in accounts.values())
    assert sts_client(url, "local-prod").get_caller_identity()["UserId"] == prod_identity["UserId"]


async def test_assumed_role_credentials_belong_to_the_roles_account(sts_standin: BackgroundStandIn,
                                                                     wall_clock: WallClock) -> None:
    async with aio_sts(sts_standin.endpoint_url, "local-a") as client:
        assumed = await client.assume_role(RoleArn=ROLE, RoleSessionName="nightly-report", DurationSeconds=900)
    credentials = assumed["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA") and len(credentials["AccessKeyId"]) == 20
    assert credentials["Expiration"] == datetime.fromtimestamp(wall_clock.now + 900, UTC)
    arn = "arn:aws:sts::210987654321:assumed-role/reader/nightly-report"
    assert assumed["AssumedRoleUser"]["Arn"] == arn
    session = boto3.client("sts", region_name="us-east-1", endpoint_url=sts_standin.endpoint_url,
                           **session_keys(credentials))
    user_id, account, caller_arn = identity(session.get_caller_identity())
    assert (account, caller_arn) == ("210987654321", arn)
    assert user_id == assumed["AssumedRoleUser"]["AssumedRoleId"] and user_id.endswith(":nightly-report")
    # Without DurationSeconds a session lasts an hour.
    default = sts_client(sts_standin.endpoint_url, "local-b").assume_role(RoleArn=ROLE, RoleSessionName="s2")
    assert default["Credentials"]["Expiration"] == datetime.fromtimestamp(wall_clock.now + 3600, UTC)


USER_A = f"arn:aws:iam::{SHARED}:user/local-a"


@pytest.mark.parametrize(("params", "expected"), [
    ({"RoleArn": DENIED}, ("AccessDenied", 403, f"User: {USER_A} is not authorized to perform: sts:AssumeRole on "
                                                f"resource: {DENIED}")),
    ({"RoleArn": GUARDED}, ("AccessDenied", 403, f"User: {USER_A} is not authorized to perform: sts:AssumeRole on "
                                                 f"resource: {GUARDED}")),
    ({"RoleArn": GUARDED, "ExternalId": "partner-0000"}, (
        "AccessDenied", 403, f"User: {USER_A} is not authorized to perform: sts:AssumeRole on resource: {GUARDED}")),
    ({"RoleArn": "arn:aws:iam::12345:role/reader"}, (
        "ValidationError", 400, "Request ARN is invalid: 'arn:aws:iam::12345:role/reader' is not a role ARN "
                                "(arn:aws:iam::<12-digit account>:role/<name>)")),
    ({"RoleArn": "arn:aws:iam::210987654321:user/reader"}, (
        "ValidationError", 400, "Request ARN is invalid: 'arn:aws:iam::210987654321:user/reader' is not a role ARN "
                                "(arn:aws:iam::<12-digit account>:role/<name>)")),
    ({"RoleArn": ROLE, "RoleSessionName": "two words"}, (
        "ValidationError", 400, "1 validation error detected: Value 'two words' at 'roleSessionName' failed to "
                                r"satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*")),
    ({"RoleArn": ROLE, "DurationSeconds": 43201}, (
        "ValidationError", 400, "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy "
                                "constraint: Member must have value less than or equal to 43200")),
], ids=["denied", "external-id-missing", "external-id-wrong", "account-not-12-digits", "not-a-role", "session-name",
        "too-long"])
def test_assume_role_refusals_are_stss(sts_standin: BackgroundStandIn, params: dict[str, Any],
                                       expected: tuple[str, int, str]) -> None:
    client = sts_client(sts_standin.endpoint_url, "local-a")
    assert error_of(lambda: client.assume_role(**{"RoleSessionName": "nightly", **params})) == expected


def test_the_right_external_id_opens_a_guarded_role(sts_standin: BackgroundStandIn) -> None:
    client = sts_client(sts_standin.endpoint_url, "local-a")
    assumed = client.assume_role(RoleArn=GUARDED, RoleSessionName="nightly", ExternalId=EXTERNAL_ID)
    assert assumed["AssumedRoleUser"]["Arn"] == "arn:aws:sts::333333333333:assumed-role/partner/nightly"


def test_a_session_may_assume_another_role_for_an_hour_at_most(sts_standin: BackgroundStandIn) -> None:
    first = sts_client(sts_standin.endpoint_url, "local-a").assume_role(RoleArn=ROLE, RoleSessionName="hop-1")
    chained = boto3.client("sts", region_name="us-east-1", endpoint_url=sts_standin.endpoint_url,
                           **session_keys(first["Credentials"]))
    assert error_of(lambda: chained.assume_role(RoleArn=GUARDED, RoleSessionName="hop-2", ExternalId=EXTERNAL_ID,
                                                DurationSeconds=3601)) == (
        "ValidationError", 400,
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
    second = chained.assume_role(RoleArn=GUARDED, RoleSessionName="hop-2", ExternalId=EXTERNAL_ID)
    assert second["AssumedRoleUser"]["Arn"] == "arn:aws:sts::333333333333:assumed-role/partner/hop-2"


async def test_sts_is_told_apart_from_cloudwatchs_query_protocol(sts_standin: BackgroundStandIn,
                                                                  boto3_cloudwatch: Callable[..., Any]) -> None:
    # Both speak query on one endpoint: a CloudWatch query call signed with assumed-role keys stays CloudWatch's.
    assumed = sts_client(sts_standin.endpoint_url, "local-b").assume_role(RoleArn=ROLE, RoleSessionName="query")
    keys = session_keys(assumed["Credentials"])
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=sts_standin.endpoint_url,
                              config=Config(retries={"total_max_attempts": 1}), **keys)
    assert cloudwatch.list_metrics(Namespace="Test/sts")["Metrics"] == []
    query = boto3_cloudwatch(sts_standin.endpoint_url, "local-b", protocol="query")
    assert query.list_metrics(Namespace="Test/sts")["Metrics"] == []
    # Unsigned, STS is known by its version, and answers in its own namespace.
    async with aiohttp.ClientSession(sts_standin.endpoint_url) as http:
        async with http.get("/", params={"Action": "GetCallerIdentity", "Version": "2011-06-15"}) as response:
            error = ET.fromstring(await response.read())
    assert response.status == 403
    assert error.findtext("sts:Error/sts:Code", namespaces=STS_NS) == "MissingAuthenticationToken"
    stats = sts_standin.stats()
    assert stats["keys"][keys["aws_access_key_id"]]["served"] == 1
    assert stats["sts"]["GetCallerIdentity"]["errors"] >= 1


async def test_keys_of_one_account_share_its_budget_and_accounts_have_their_own(
        make_standin: Callable[..., BackgroundStandIn], aio_cloudwatch: Callable[..., Any]) -> None:
    # A frozen clock puts every request in the same second however slowly this machine runs them.
    standin = make_standin(clock=lambda: 0.0, renderer=flat_png, accounts={"team-1": SHARED, "team-2": SHARED})
    keys = ("team-1", "team-2", "solo-1", "solo-2")  # the solo keys get accounts of their own
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(aio_cloudwatch(standin.endpoint_url, key, max_pool_connections=20))
                   for key in keys]
        results = await asyncio.gather(*(
            client.get_metric_widget_image(MetricWidget=widget_json(width=60, height=40))
            for client in clients for _ in range(20)), return_exceptions=True)
    served = [isinstance(result, dict) for result in results]
    assert [sum(served[index * 20:(index + 1) * 20]) for index in range(2, 4)] == [20, 20]
    assert sum(served[:40]) == 20  # each of team-1 and team-2 alone would have had all 20
    assert {described(result)[:2] for result in results if isinstance(result, ClientError)} == {("Throttling", 400)}
    stats = standin.stats()
    assert stats["accounts"][SHARED] == {
        "requests": 40, "served": 20, "throttled": 20, "errors": 0, "max_in_any_second": 20,
        "max_in_any_second_by_operation": {"GetMetricWidgetImage": 20, "GetMetricData": 0},
        "keys": ["team-1", "team-2"]}
    for key in ("solo-1", "solo-2"):
        assert stats["accounts"][derived_account(key)]["served"] == 20
        assert stats["accounts"][derived_account(key)]["keys"] == [key]
    assert sum(stats["keys"][key]["max_in_any_second"] for key in ("team-1", "team-2")) == 20
    assert (stats["served"], stats["throttled"], stats["max_in_any_second"]) == (60, 20, 20)


async def test_expired_session_credentials_are_refused_and_a_refreshing_client_goes_on(
        make_standin: Callable[..., BackgroundStandIn], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = WallClock()
    standin = make_standin(wall_clock=clock, session_seconds=300)
    url = standin.endpoint_url
    assumed = sts_client(url, "local-ops").assume_role(RoleArn=ROLE, RoleSessionName="static")
    assert assumed["Credentials"]["Expiration"] == datetime.fromtimestamp(clock.now + 300, UTC)  # not an hour
    keys = session_keys(assumed["Credentials"])
    # botocore assumes the role itself for a profile that names one, through STS at AWS_ENDPOINT_URL_STS.
    config = tmp_path / "config"
    config.write_text(f"[profile ops]\naws_access_key_id = local-ops\naws_secret_access_key = testing\n\n"
                      f"[profile reader]\nrole_arn = {ROLE}\nsource_profile = ops\nrole_session_name = refreshing\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", url)
    async with (AioSession().create_client("cloudwatch", region_name="us-east-1", endpoint_url=url, **keys) as static,
                AioSession(profile="reader").create_client("cloudwatch", region_name="us-east-1",
                                                           endpoint_url=url) as refreshing):
        assert (await static.list_metrics())["Metrics"] == []
        assert (await refreshing.list_metrics())["Metrics"] == []
        clock.now += 301
        with pytest.raises(ClientError) as caught:
            await static.list_metrics()
        assert (await refreshing.list_metrics())["Metrics"] == []
    assert described(caught.value) == ("ExpiredToken", 400, "The security token included in the request is expired")
    expired_sts = boto3.client("sts", region_name="us-east-1", endpoint_url=url, **keys)
    assert error_of(expired_sts.get_caller_identity) == (
        "ExpiredToken", 400, "The security token included in the request is expired")
    stats = standin.stats()
    assert stats["keys"][keys["aws_access_key_id"]] == {
        "requests": 2, "served": 1, "throttled": 0, "errors": 1, "max_in_any_second": 0}
    refreshed = [key for key in stats["keys"] if key != keys["aws_access_key_id"]]
    assert len(refreshed) == 2 and all(stats["keys"][key]["served"] == 1 for key in refreshed)
    assert stats["accounts"]["210987654321"]["keys"] == sorted(stats["keys"])


def test_serve_takes_the_sts_options() -> None:
    argv = [sys.executable, "-m", "reportgen.local", "serve", "--workers", "1", "--stop-on-eof",
            "--account", f"local-a={SHARED}", "--deny-role", DENIED,
            "--require-external-id", f"{GUARDED}={EXTERNAL_ID}", "--session-seconds", "120"]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        assert process.stdin is not None and process.stdout is not None
        url = process.stdout.readline().removeprefix(READY_PREFIX).strip()  # blocks until it serves
        client = sts_client(url, "local-a")
        assert client.get_caller_identity()["Account"] == SHARED
        assert error_of(lambda: client.assume_role(RoleArn=DENIED, RoleSessionName="cli"))[0] == "AccessDenied"
        assert error_of(lambda: client.assume_role(RoleArn=GUARDED, RoleSessionName="cli"))[0] == "AccessDenied"
        before = time.time()
        expiration = client.assume_role(RoleArn=GUARDED, RoleSessionName="cli", ExternalId=EXTERNAL_ID)[
            "Credentials"]["Expiration"].timestamp()
        assert before + 120 <= expiration <= time.time() + 120
        process.stdin.close()
        assert process.wait(timeout=30) == 0


def test_a_malformed_account_is_one_line() -> None:
    result = subprocess.run([sys.executable, "-m", "reportgen.local", "serve", "--workers", "1",
                             "--account", "local-a=12345"], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        "ERROR cannot serve STS as asked: '12345' is not an AWS account id (12 digits, like 123456789012)"]


@pytest.mark.parametrize(("options", "message"), [
    ({"denied_roles": ["reader"]}, "'reader' is not a role ARN"),
    ({"required_external_ids": {"arn:aws:iam::1:role/x": "id"}}, "'arn:aws:iam::1:role/x' is not a role ARN"),
    ({"accounts": {"local-a": "acct"}}, "'acct' is not an AWS account id"),
])
def test_create_app_names_what_sts_cannot_use(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        create_app(**options)


@pytest.mark.parametrize("argv", [["--account", "local-a"], ["--require-external-id", f"{GUARDED}="],
                                  ["--session-seconds", "0"]])
def test_sts_options_that_do_not_parse_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", *argv]) == 2
    assert "usage:" in capsys.readouterr().err
