"""Real CloudWatch clients pointed at a stand-in; the stand-ins themselves come from the suite's conftest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.config import Config


@pytest.fixture
def aio_cloudwatch() -> Callable[..., Any]:
    """Factory: ``async with aio_cloudwatch(url, access_key="testing", **config) as client``."""

    def make(endpoint_url: str, access_key: str = "testing", **config: Any) -> Any:
        config.setdefault("retries", {"total_max_attempts": 1})
        return AioSession().create_client(
            "cloudwatch", region_name="us-east-1", endpoint_url=endpoint_url, aws_access_key_id=access_key,
            aws_secret_access_key="testing", config=AioConfig(**config))

    return make


@pytest.fixture
def boto3_cloudwatch() -> Callable[..., Any]:
    """Factory: a synchronous boto3 CloudWatch client for ``endpoint_url``."""

    def make(endpoint_url: str, access_key: str = "testing", region: str = "us-east-1", **config: Any) -> Any:
        config.setdefault("retries", {"total_max_attempts": 1})
        return boto3.client("cloudwatch", region_name=region, endpoint_url=endpoint_url,
                            aws_access_key_id=access_key, aws_secret_access_key="testing", config=Config(**config))

    return make
