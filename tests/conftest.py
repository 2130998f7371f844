"""Fixtures shared by the whole suite: an isolated AWS environment and the local stand-in."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import looptime

import pytest

from reportgen.local import BackgroundStandIn

T = TypeVar("T")


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


@pytest.fixture
def on_fake_clock() -> Iterator[Callable[[Coroutine[Any, Any, T]], T]]:
    """Runs a coroutine on an event loop whose clock jumps ahead whenever every task waits (looptime):
    sleeps, timeouts and rate limits take no real time and their timings are exact."""
    loop = looptime.new_event_loop()
    try:
        yield loop.run_until_complete
    finally:
        loop.close()


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
