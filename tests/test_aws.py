"""botocore's errors mapped to reportgen's: the whole table, then the same errors produced on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    InvalidConfigError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    SSOTokenLoadError,
    TokenRetrievalError,
    UnauthorizedSSOTokenError,
)

from reportgen.aws import WidgetImageClient, is_loopback, open_clients, translate_error
from reportgen.errors import AwsError, CredentialsError, TransientError, WidgetFailure
from reportgen.local import BackgroundStandIn
from reportgen.model import ClientKey

WIDGET = '{"metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"]], "width": 300, "height": 200}'


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} happened"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "GetMetricWidgetImage")


@pytest.mark.parametrize("exc, kind, code, retryable", [
    (client_error("Throttling", 400), AwsError, "Throttling", True),
    (client_error("ThrottlingException", 400), AwsError, "ThrottlingException", True),
    (client_error("InternalServiceError", 500), AwsError, "InternalServiceError", True),
    (client_error("ServiceUnavailable", 503), AwsError, "ServiceUnavailable", True),
    (client_error("SomethingNew", 502), AwsError, "SomethingNew", True),
    (client_error("InvalidParameterValue", 400), AwsError, "InvalidParameterValue", False),
    (client_error("MissingParameter", 400), AwsError, "MissingParameter", False),
    (client_error("AccessDenied", 403), AwsError, "AccessDenied", False),
    (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), TransientError, None, True),
    (ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"), TransientError, None, True),
    (ReadTimeoutError(endpoint_url="http://127.0.0.1:1"), TransientError, None, True),
    (NoCredentialsError(), CredentialsError, None, False),
    (ProfileNotFound(profile="prod"), CredentialsError, None, False),
    (PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"), CredentialsError, None, False),
    (CredentialRetrievalError(provider="process", error_msg="exit 1"), CredentialsError, None, False),
    (TokenRetrievalError(provider="sso", error_msg="expired"), CredentialsError, None, False),
    (SSOTokenLoadError(error_msg="no token"), CredentialsError, None, False),
    (UnauthorizedSSOTokenError(), CredentialsError, None, False),
    (InvalidConfigError(error_msg="source_profile missing"), CredentialsError, None, False),
    (NoRegionError(), WidgetFailure, None, False),
])
def test_translate_error(exc: BaseException, kind: type[WidgetFailure], code: str | None, retryable: bool) -> None:
    failure = translate_error(exc)
    assert type(failure) is kind
    assert (failure.code, failure.retryable) == (code, retryable)


def test_translate_error_refuses_what_is_not_an_aws_error() -> None:
    with pytest.raises(TypeError):
        translate_error(ValueError("a bug"))


@pytest.mark.parametrize("url, expected", [
    ("http://127.0.0.1:4566", True), ("http://localhost:1", True), ("http://[::1]:80", True),
    ("https://monitoring.us-east-1.amazonaws.com", False), ("http://10.0.0.1", False),
])
def test_is_loopback(url: str, expected: bool) -> None:
    assert is_loopback(url) is expected


@contextlib.asynccontextmanager
async def one_client(endpoint_url: str, profile: str = "aws-tests",
                     timeout: float = 30.0) -> AsyncIterator[WidgetImageClient]:
    async with open_clients([ClientKey(profile, "us-east-1")], endpoint_url=endpoint_url, timeout=timeout) as clients:
        client = clients[ClientKey(profile, "us-east-1")]
        assert isinstance(client, WidgetImageClient)
        yield client


@pytest.mark.parametrize("code, status, retryable", [
    ("Throttling", 400, True), ("InternalServiceError", 500, True), ("ServiceUnavailable", 503, True),
    ("InvalidParameterValue", 400, False),
])
async def test_errors_on_the_wire(make_standin: Callable[..., BackgroundStandIn], code: str, status: int,
                                 retryable: bool) -> None:
    standin = make_standin()
    standin.add_fault(code, status=status, count=1)
    async with one_client(standin.endpoint_url) as client:
        with pytest.raises(AwsError) as caught:
            await client.get_widget_image(WIDGET)
        assert (caught.value.code, caught.value.status, caught.value.retryable) == (code, status, retryable)
        assert (await client.get_widget_image(WIDGET)).startswith(b"\x89PNG")  # the fault was used up


async def test_a_malformed_widget_is_invalid_parameter_value(standin: BackgroundStandIn) -> None:
    async with one_client(standin.endpoint_url) as client:
        with pytest.raises(AwsError) as caught:
            await client.get_widget_image('{"metrics": ')
        assert (caught.value.code, caught.value.retryable) == ("InvalidParameterValue", False)


async def test_connection_refused_is_transient() -> None:
    with socket.socket() as sock:  # a port that was just free and has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with one_client(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(TransientError):
            await client.get_widget_image(WIDGET)


async def test_a_server_that_never_answers_is_a_transient_timeout() -> None:
    accepted = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        accepted.set()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with one_client(f"http://127.0.0.1:{port}", timeout=0.3) as client:
            with pytest.raises(TransientError):
                await client.get_widget_image(WIDGET)
        assert accepted.is_set()
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_an_unknown_profile_fails_its_widgets_not_the_run() -> None:
    key = ClientKey("no-such-profile", "eu-west-1")
    async with open_clients([key], endpoint_url="https://monitoring.eu-west-1.amazonaws.com") as clients:
        failure = clients[key]
    assert isinstance(failure, CredentialsError) and "no-such-profile" in str(failure)


async def test_missing_credentials_fail_its_widgets_not_the_run() -> None:
    key = ClientKey(None, "eu-west-1")
    async with open_clients([key], endpoint_url="https://monitoring.eu-west-1.amazonaws.com") as clients:
        failure = clients[key]
    assert isinstance(failure, CredentialsError) and "Unable to locate credentials" in str(failure)


async def test_each_profile_reaches_the_standin_with_its_own_key(
        make_standin: Callable[..., BackgroundStandIn]) -> None:
    standin = make_standin()
    keys = [ClientKey("alpha", "us-east-1"), ClientKey("beta", "us-east-1")]
    async with open_clients(keys, endpoint_url=standin.endpoint_url) as clients:
        for key in keys:
            client = clients[key]
            assert isinstance(client, WidgetImageClient)
            await client.get_widget_image(WIDGET)
    assert set(standin.stats()["keys"]) == {"local-alpha", "local-beta"}


async def test_a_loopback_endpoint_uses_real_credentials_when_there_are_some(
        make_standin: Callable[..., BackgroundStandIn], monkeypatch: pytest.MonkeyPatch) -> None:
    # e.g. an SSH tunnel to CloudWatch on localhost: it must be signed with the real key
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIATUNNELEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    standin = make_standin()
    tunnel, local = ClientKey(None, "us-east-1"), ClientKey(None, "eu-west-1")
    async with open_clients([tunnel], endpoint_url=standin.endpoint_url) as clients:
        client = clients[tunnel]
        assert isinstance(client, WidgetImageClient)
        await client.get_widget_image(WIDGET)
    async with open_clients([local], endpoint_url=standin.endpoint_url, local=True) as clients:
        client = clients[local]
        assert isinstance(client, WidgetImageClient)
        await client.get_widget_image(WIDGET)
    assert set(standin.stats()["keys"]) == {"AKIATUNNELEXAMPLE", "local-default"}
