"""Real CloudWatch clients made to speak one protocol: botocore picks the protocol from its service model, so
a data path holding a copy of the CloudWatch model whose ``protocols`` lists only one makes it use that one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.config import Config
from botocore.loaders import create_loader

PROTOCOLS = ("json", "query", "smithy-rpc-v2-cbor")


def data_path_for(protocol: str, directory: Path) -> Path:
    """A botocore data path under ``directory`` whose CloudWatch model speaks only ``protocol``."""
    model = create_loader().load_service_model("cloudwatch", "service-2")
    model["metadata"] = {**model["metadata"], "protocol": protocol, "protocols": [protocol]}
    target = directory / protocol / "cloudwatch" / model["metadata"]["apiVersion"] / "service-2.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(model))
    return directory / protocol


def boto3_client(endpoint_url: str, protocol: str, directory: Path, access_key: str = "testing",
                 **config: Any) -> Any:
    """A boto3 CloudWatch client for ``endpoint_url`` that speaks ``protocol``."""
    session = botocore.session.get_session()
    session.set_config_variable("data_path", str(data_path_for(protocol, directory)))
    config.setdefault("retries", {"total_max_attempts": 1})
    return boto3.Session(botocore_session=session).client(
        "cloudwatch", region_name="us-east-1", endpoint_url=endpoint_url, aws_access_key_id=access_key,
        aws_secret_access_key="testing", config=Config(**config))


def aio_client(endpoint_url: str, protocol: str, directory: Path, access_key: str = "testing", **config: Any) -> Any:
    """An aiobotocore CloudWatch client for ``endpoint_url`` that speaks ``protocol``: ``async with`` it."""
    session = AioSession()
    session.set_config_variable("data_path", str(data_path_for(protocol, directory)))
    config.setdefault("retries", {"total_max_attempts": 1})
    return session.create_client(
        "cloudwatch", region_name="us-east-1", endpoint_url=endpoint_url, aws_access_key_id=access_key,
        aws_secret_access_key="testing", config=AioConfig(**config))
