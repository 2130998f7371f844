"""The one seam between reportgen and AWS: CloudWatch clients, and botocore's errors mapped to ours.

The pipeline owns rate limiting, retries and timeouts, so botocore's own retries are turned off here:
a retry inside botocore would not pass through the pipeline's rate limiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.credentials import AioAssumeRoleCredentialFetcher, AioDeferredRefreshableCredentials
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
from reportgen.ratelimit import on_departure

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
    answers, or a ``WidgetFailure``.

    ``account`` is the AWS account the client reaches, as STS says (None when it could not be asked): quotas
    are per account and region, so clients of one account share their limiters.
    """

    def __init__(self, client: Any, *, account: str | None = None) -> None:
        self._client = client
        self.account = account

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
    """Open one CloudWatch client per key, for the duration of a run, and learn the account each reaches.

    Credentials come from botocore's standard chain (environment, profile, SSO, instance role). ``local``
    (the stand-in) uses a made-up key per profile instead (``local-<profile>``); another loopback endpoint falls
    back to those only when the chain has none. A key with a ``role_arn`` assumes that role with STS from
    those credentials, and renews them before they expire, however long the run. STS is asked at
    ``endpoint_url`` when that is the stand-in (or a loopback endpoint), else where botocore's settings say
    (``AWS_ENDPOINT_URL_STS``, the config file), else at AWS.

    A key whose client cannot be made (unknown profile, expired SSO login, a role that cannot be assumed)
    maps to the failure that every widget of it gets, so other reports still run.
    """
    clients: dict[ClientKey, WidgetImageClient | WidgetFailure] = {}
    sts_endpoint = (endpoint_url if endpoint_url is not None and (local or is_loopback(endpoint_url))
                    and not os.environ.get("AWS_ENDPOINT_URL_STS") else None)
    unique = list(dict.fromkeys(keys))
    configs = {key: AioConfig(
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=(pool_sizes or {}).get(key, 10),
        connect_timeout=min(timeout, 10.0),
        read_timeout=timeout,
    ) for key in unique}

    loaders: dict[Any, Any] = {}

    async def session_of(key: ClientKey) -> tuple[AioSession, str | None] | WidgetFailure:
        try:
            return await _session(key, endpoint_url, sts_endpoint, configs[key], local=local, loaders=loaders)
        except (BotoCoreError, ClientError) as exc:
            return _unusable(key, translate_error(exc))

    # Credentials, roles and GetCallerIdentity of every account at once: one after another they cost a run with
    # many accounts seconds before its first request.
    sessions = await asyncio.gather(*(session_of(key) for key in unique))
    # Plain HTTP (the stand-in) needs no certificates: without this, botocore loads them for a client's first
    # request, after that request has passed the limiter, and it reaches the wire late.
    verify = False if endpoint_url is not None and urlsplit(endpoint_url).scheme == "http" else None
    async with contextlib.AsyncExitStack() as stack:
        for key, made in zip(unique, sessions):
            if isinstance(made, WidgetFailure):
                clients[key] = made
                continue
            session, account = made
            try:
                client = session.create_client("cloudwatch", region_name=key.region, endpoint_url=endpoint_url,
                                               config=configs[key], verify=verify)
                opened = await stack.enter_async_context(client)
                # Each request's last check against its account's limit, as it goes on the wire.
                opened.meta.events.register("before-send.cloudwatch", on_departure)
                clients[key] = WidgetImageClient(opened, account=account)
            except (BotoCoreError, ClientError) as exc:
                clients[key] = _unusable(key, translate_error(exc))
        yield clients


# What STS answers when a role cannot be assumed from the credentials at hand.
_ROLE_REFUSALS = frozenset({"AccessDenied", "ExpiredToken", "InvalidClientTokenId", "RegionDisabledException",
                            "ValidationError"})


def _sharing(session: AioSession, loaders: dict[Any, Any]) -> AioSession:
    """``session``, reading service models through the loader of ``loaders`` for its data path (a session of a
    profile that does not exist is left as it is: asking for its credentials says what is wrong)."""
    try:
        path = session.get_config_variable("data_path")
    except BotoCoreError:
        return session
    if path in loaders:
        session.register_component("data_loader", loaders[path])
    else:
        loaders[path] = session.get_component("data_loader")
    return session


def _unusable(key: ClientKey, failure: WidgetFailure) -> WidgetFailure:
    """``failure`` as one line that names the profile, role and region it is about."""
    if not isinstance(failure, CredentialsError) and failure.code not in _ROLE_REFUSALS:
        return failure
    role = f" assuming {key.role_arn}" if key.role_arn else ""
    return CredentialsError(f"profile {key.profile or 'default'}{role} in {key.region}: {failure}")


async def _session(key: ClientKey, endpoint_url: str | None, sts_endpoint: str | None, config: AioConfig, *,
                   local: bool, loaders: dict[Any, Any]) -> tuple[AioSession, str | None]:
    """A session whose credentials reach ``key``'s account, and that account's id when it can be known.
    ``loaders`` (by data path) are shared by every session of a run: each would otherwise read and parse
    CloudWatch's and STS's models again, about 0.1 s of the event loop per account before the first request."""
    session = _sharing(AioSession() if local else AioSession(profile=key.profile), loaders)
    if not local:
        # A loopback endpoint may be a tunnel to AWS (needs the profile's credentials) or a stand-in, where
        # a spec's production profile need not exist: use the profile when it works, else a local key.
        loopback = endpoint_url is not None and is_loopback(endpoint_url)
        try:
            credentials = await session.get_credentials()
        except _CREDENTIAL_ERRORS:
            if not loopback:
                raise
            credentials = None
        if credentials is None:
            if not loopback:
                raise NoCredentialsError()
            local = True
            session = _sharing(AioSession(), loaders)
    if local:
        session.set_credentials(f"local-{key.profile or 'default'}", LOCAL_SECRET)

    def sts(service: str, **kwargs: Any) -> Any:
        return session.create_client(service, region_name=key.region, endpoint_url=sts_endpoint, config=config,
                                     **kwargs)

    if key.role_arn is not None:
        extra = {"RoleSessionName": key.session_name or "reportgen",
                 **({"ExternalId": key.external_id} if key.external_id else {})}
        fetcher = AioAssumeRoleCredentialFetcher(sts, await session.get_credentials(), key.role_arn,
                                                 extra_args=extra)
        assumed = AioDeferredRefreshableCredentials(refresh_using=fetcher.fetch_credentials, method="assume-role")
        await assumed.get_frozen_credentials()  # now, so a refusal is one line for the account, not one per widget
        # botocore has no public way to give a session refreshable credentials; it reads this attribute.
        session._credentials = assumed
        return session, key.role_arn.split(":")[4]
    try:
        async with sts("sts") as client:
            identity = await client.get_caller_identity()
        return session, str(identity["Account"])
    except (BotoCoreError, ClientError):
        return session, None  # the account stays unknown: its profile stands for it
