"""Real CloudWatch clients pointed at a stand-in; the stand-ins themselves come from the suite's conftest."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any
from uuid import uuid4

import boto3
import botocore.session
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.config import Config

from .protocol_clients import write_data_path


@pytest.fixture(scope="session")
def data_path(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``data_path(protocol)``: a botocore data path whose CloudWatch model speaks only ``protocol``, written
    once for the session, before any client reads it."""
    directory = tmp_path_factory.mktemp("botocore-data")

    @cache
    def of(protocol: str) -> Path:
        return write_data_path(protocol, directory)

    return of


@pytest.fixture
def aio_cloudwatch(data_path: Callable[[str], Path]) -> Callable[..., Any]:
    """Factory: ``async with aio_cloudwatch(url, access_key="testing", protocol=None, **config) as client``;
    ``protocol`` makes it speak that one rather than the one botocore prefers."""

    def make(endpoint_url: str, access_key: str = "testing", *, protocol: str | None = None, **config: Any) -> Any:
        session = AioSession()
        if protocol is not None:
            session.set_config_variable("data_path", str(data_path(protocol)))
        config.setdefault("retries", {"total_max_attempts": 1})
        return session.create_client(
            "cloudwatch", region_name="us-east-1", endpoint_url=endpoint_url, aws_access_key_id=access_key,
            aws_secret_access_key="testing", config=AioConfig(**config))

    return make


@pytest.fixture
def boto3_cloudwatch(data_path: Callable[[str], Path]) -> Callable[..., Any]:
    """Factory: a synchronous boto3 CloudWatch client for ``endpoint_url``; ``protocol=`` as for
    ``aio_cloudwatch``."""

    def make(endpoint_url: str, access_key: str = "testing", region: str = "us-east-1", *,
             protocol: str | None = None, **config: Any) -> Any:
        if protocol is None:
            client = boto3.client  # the default session's: making a session for each client takes 0.1 s
        else:
            session = botocore.session.get_session()
            session.set_config_variable("data_path", str(data_path(protocol)))
            client = boto3.Session(botocore_session=session).client
        config.setdefault("retries", {"total_max_attempts": 1})
        return client(
            "cloudwatch", region_name=region, endpoint_url=endpoint_url, aws_access_key_id=access_key,
            aws_secret_access_key="testing", config=Config(**config))

    return make


@pytest.fixture
def namespace() -> str:
    """A namespace of the test's own, so tests on the session's stand-in keep their metrics apart."""
    return f"Test/{uuid4().hex[:12]}"
