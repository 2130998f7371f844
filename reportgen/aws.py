"""The one seam between reportgen and AWS: CloudWatch clients, and botocore's errors mapped to ours.

The pipeline owns rate limiting, retries and timeouts, so botocore's own retries are turned off here:
a retry inside botocore would not pass through the pipeline's rate limiter.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    HTTPClientError,
    InvalidConfigError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from reportgen.errors import THROTTLING_CODES, AwsError, CredentialsError, TransientError, WidgetFailure
from reportgen.model import ClientKey

# Error codes worth another attempt, besides the throttling ones.
TRANSIENT_CODES = frozenset({"InternalServiceError", "InternalServiceFault", "InternalFailure",
                             "ServiceUnavailable", "RequestTimeout", "RequestTimeoutException"})
# botocore's ways of saying a profile or its credentials cannot be used (SSOError covers an expired login).
_CREDENTIAL_ERRORS = (NoCredentialsError, PartialCredentialsError, ProfileNotFound, CredentialRetrievalError,
                      TokenRetrievalError, SSOError, InvalidConfigError)

# Credentials the local stand-in accepts; it checks no signatures, but botocore insists on signing.
LOCAL_SECRET = "reportgen-local-secret"


def translate_error(exc: BaseException) -> WidgetFailure:
    """Map an exception raised by aiobotocore to reportgen's own error (the only place that does)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "Unknown")
        message = str(error.get("Message") or exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        retryable = code in THROTTLING_CODES or code in TRANSIENT_CODES or (status is not None and status >= 500)
        return AwsError(message, code=code, status=status, retryable=retryable)
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return TransientError(str(exc))
    if isinstance(exc, _CREDENTIAL_ERRORS):
        return CredentialsError(f"no usable AWS credentials: {exc}")
    if isinstance(exc, BotoCoreError):
        return WidgetFailure(str(exc))
    raise TypeError(f"not an AWS client error: {exc!r}") from exc


class WidgetImageClient:
    """Fetches one rendered widget, or the numbers behind one: a thin wrapper so the pipeline sees bytes or
    answers, or a ``WidgetFailure``."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def get_widget_image(self, metric_widget: str) -> bytes:
        try:
            response = await self._client.get_metric_widget_image(MetricWidget=metric_widget, OutputFormat="png")
        except (BotoCoreError, ClientError) as exc:
            raise translate_error(exc) from exc
        return bytes(response["MetricWidgetImage"])

    async def get_metric_data(self, **params: Any) -> dict[str, Any]:
        """One GetMetricData call (one page) with botocore's parameters, e.g. ``MetricDataQueries``, ``NextToken``."""
        return await self._call("get_metric_data", params)

    async def list_metrics(self, **params: Any) -> dict[str, Any]:
        """One ListMetrics page: ``Namespace``, ``MetricName``, ``Dimensions`` filters, ``NextToken``."""
        return await self._call("list_metrics", params)

    async def get_dashboard(self, name: str) -> str:
        """A dashboard's body (JSON text); ``ResourceNotFound`` when there is no such dashboard."""
        return str((await self._call("get_dashboard", {"DashboardName": name}))["DashboardBody"])

    async def describe_alarms(self, **params: Any) -> dict[str, Any]:
        return await self._call("describe_alarms", params)

    async def describe_alarm_history(self, **params: Any) -> dict[str, Any]:
        return await self._call("describe_alarm_history", params)

    async def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            response: dict[str, Any] = await getattr(self._client, operation)(**params)
        except (BotoCoreError, ClientError) as exc:
            raise translate_error(exc) from exc
        return response


def is_loopback(endpoint_url: str) -> bool:
    host = urlsplit(endpoint_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.asynccontextmanager
async def open_clients(
    keys: Iterable[ClientKey],
    *,
    endpoint_url: str | None = None,
    local: bool = False,
    pool_sizes: dict[ClientKey, int] | None = None,
    timeout: float = 30.0,
) -> AsyncIterator[dict[ClientKey, WidgetImageClient | WidgetFailure]]:
    """Open one CloudWatch client per key, for the duration of a run.

    Credentials come from botocore's standard chain (environment, profile, SSO, instance role). ``local``
    (the stand-in) uses a made-up key per profile instead, so the stand-in throttles each profile as AWS
    would each account; another loopback endpoint falls back to those only when the chain has none.
    A key whose client cannot be made (unknown profile, expired SSO login) maps to the failure that every
    widget of it gets, so other reports still run.
    """
    clients: dict[ClientKey, WidgetImageClient | WidgetFailure] = {}
    async with contextlib.AsyncExitStack() as stack:
        for key in dict.fromkeys(keys):
            config = AioConfig(
                retries={"total_max_attempts": 1, "mode": "standard"},
                max_pool_connections=(pool_sizes or {}).get(key, 10),
                connect_timeout=min(timeout, 10.0),
                read_timeout=timeout,
            )
            try:
                client = await _create_client(key, endpoint_url, config, local=local)
                clients[key] = WidgetImageClient(await stack.enter_async_context(client))
            except BotoCoreError as exc:
                clients[key] = translate_error(exc)
        yield clients


async def _create_client(key: ClientKey, endpoint_url: str | None, config: AioConfig, *, local: bool) -> Any:
    if not local:
        session = AioSession(profile=key.profile)
        # A loopback endpoint may be a tunnel to AWS (needs the profile's credentials) or a stand-in, where
        # a spec's production profile need not exist: use the profile when it works, else a local key.
        loopback = endpoint_url is not None and is_loopback(endpoint_url)
        try:
            credentials = await session.get_credentials()
        except _CREDENTIAL_ERRORS:
            if not loopback:
                raise
            credentials = None
        if credentials is not None:
            return session.create_client("cloudwatch", region_name=key.region, endpoint_url=endpoint_url,
                                         config=config)
        if not loopback:
            raise NoCredentialsError()
    return AioSession().create_client(
        "cloudwatch", region_name=key.region, endpoint_url=endpoint_url, config=config,
        aws_access_key_id=f"local-{key.profile or 'default'}", aws_secret_access_key=LOCAL_SECRET)
