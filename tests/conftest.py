"""Fixtures shared by the whole suite: an isolated AWS environment and the local stand-in."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reportgen.local import BackgroundStandIn


@pytest.fixture(autouse=True)
def isolated_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads the machine's AWS config or asks an instance-metadata service for credentials."""
    empty = tmp_path_factory.getbasetemp() / "no-aws-config"
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session", autouse=True)
def _no_implicit_event_loop() -> None:
    # looptime 0.9 asks the policy for the current loop around every test; in a sync test that runs
    # before the first async one, that creates a loop nobody closes, and the ResourceWarning fails
    # the session. Marking the loop as explicitly unset makes the policy refuse instead of create.
    asyncio.set_event_loop(None)


@pytest.fixture(scope="session")
def standin() -> Iterator[BackgroundStandIn]:
    """One stand-in for the session; tests keep their counts apart by access key (profile)."""
    with BackgroundStandIn(workers=2) as running:
        yield running


@pytest.fixture
def make_standin() -> Iterator[Callable[..., BackgroundStandIn]]:
    """Factory for a private stand-in (its own faults, counts and clock), stopped after the test."""
    with contextlib.ExitStack() as stack:
        def make(**options: Any) -> BackgroundStandIn:
            options.setdefault("workers", 1)
            return stack.enter_context(BackgroundStandIn(**options))

        yield make


@pytest.fixture
def examples_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "report_specs"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto in server mode on loopback: real S3 and SES v2 HTTP APIs for aiobotocore to talk to."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{server._server.server_port}"
    finally:
        server.stop()


@pytest.fixture
def moto_aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """This test's AWS is moto, emptied first: credentials in the environment, and botocore's per-service
    endpoint variables pointing S3 and SES v2 at it (as a user would point them at any S3-compatible store)."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).close()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "moto-test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "moto-test-secret")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", moto_endpoint)
    return moto_endpoint
