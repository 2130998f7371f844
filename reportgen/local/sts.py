"""STS for the stand-in: which account an access key belongs to, roles assumed, and session credentials
that expire.

CloudWatch's quotas are per account and region, so the stand-in throttles per account, and reportgen keys its
own limiters by what GetCallerIdentity answers. An STS client reaches this on the stand-in's one endpoint
(``endpoint_url`` on the client, or ``AWS_ENDPOINT_URL_STS``); a request is STS's when it is signed for
service ``sts`` (every botocore STS call that needs credentials is) or names ``Version=2011-06-15`` in its URL.
It speaks the query protocol along botocore's ``sts`` model, in STS's XML namespace:

    GetCallerIdentity  → UserId, Account, Arn: ``arn:aws:iam::<account>:user/<name>`` for a long-term
                         key, ``arn:aws:sts::<account>:assumed-role/<role name>/<session name>`` for a session
    AssumeRole         → Credentials (an ``ASIA…`` key, secret, session token, Expiration) and AssumedRoleUser;
                         the new key belongs to the account in RoleArn (``arn:aws:iam::<account>:role/<name>``)

A long-term key belongs to the account it is mapped to, else to 12 digits derived from the key (its sha256),
so ``local-prod`` and ``local-staging`` are different accounts unless mapped to one. Session credentials
last DurationSeconds (900 to 43200, default 3600; 3600 at most when a session assumes a role), or
``session_seconds`` whatever was asked, so tests can see them expire; used later, CloudWatch and STS answer
``ExpiredToken``. Errors are STS's: a malformed role ARN, session name or duration is a ``ValidationError``;
a denied role, or one assumed without the external id it requires, is ``AccessDenied`` (403). STS calls are
not throttled. Session tokens are handed out but not checked on use.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reportgen.local import protocols
from reportgen.local.protocols import ANONYMOUS, Call, Reply, ServiceError

API_VERSION = "2011-06-15"
SIGNING_NAME = "sts"
PROTOCOL = protocols.QueryProtocol(protocols.Service("sts", "Security Token Service"))

DEFAULT_DURATION = 3600
MAX_DURATION = 43200
MAX_CHAINED_DURATION = 3600  # a session assuming another role gets at most an hour, as in AWS

_ACCOUNT = re.compile(r"\d{12}")
# arn:aws:iam::123456789012:role/path/name; the partition may be aws-cn, aws-us-gov, …
_ROLE_ARN = re.compile(r"arn:(aws[a-z-]*):iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})")
_SESSION_NAME = r"[\w+=,.@-]*"
# The reader names bad input in CloudWatch's words; STS calls all of it a ValidationError.
_INPUT_ERRORS = frozenset({"MissingParameter", "InvalidParameterValue"})
_MALFORMED = "(malformed)"  # what stats count a request under when it names no action STS has


def is_request(headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
    """Whether a request to the stand-in is meant for STS: signed for it, or naming its API version."""
    return protocols.signing_service(headers, query) == SIGNING_NAME or query.get("Version") == API_VERSION


def check_account(text: str) -> str:
    """``text`` if it is an account id (12 digits); ``ValueError`` otherwise."""
    if not _ACCOUNT.fullmatch(text):
        raise ValueError(f"{text!r} is not an AWS account id (12 digits, like 123456789012)")
    return text


def derived_account(access_key: str) -> str:
    """The account of a key nobody mapped: 12 digits of its sha256, the same every run."""
    return str(int.from_bytes(hashlib.sha256(access_key.encode()).digest(), "big"))[:12]


@dataclass(frozen=True)
class Role:
    """An IAM role, from its ARN."""

    arn: str
    partition: str
    account: str
    name: str

    @classmethod
    def parse(cls, arn: str) -> Role:
        """The role ``arn`` names; ``ValueError`` if it is not a role ARN."""
        match = _ROLE_ARN.fullmatch(arn)
        if match is None:
            raise ValueError(f"{arn!r} is not a role ARN (arn:aws:iam::<12-digit account>:role/<name>)")
        return cls(arn, *match.groups())


@dataclass(frozen=True)
class Identity:
    """Who an access key is: its account, ARN and user id, and for session credentials when they expire
    (epoch seconds of the stand-in's wall clock)."""

    account: str
    arn: str
    user_id: str
    expires: float | None = None


class SecurityTokenService:
    """The stand-in's STS: identities of access keys, the sessions it handed out, and its API.

    ``accounts`` maps access keys to accounts; ``denied_roles`` are role ARNs AssumeRole refuses;
    ``required_external_ids`` maps role ARNs to the ExternalId each requires; ``session_seconds``, when given,
    is how long every session lasts. ``wall_clock`` (epoch seconds) decides expiry. ``ValueError`` names an
    account id or role ARN that is malformed.
    """

    def __init__(self, *, accounts: Mapping[str, str] | None = None, denied_roles: Collection[str] = (),
                 required_external_ids: Mapping[str, str] | None = None, session_seconds: float | None = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        if session_seconds is not None and not session_seconds > 0:
            raise ValueError(f"session_seconds must be positive, got {session_seconds!r}")
        self._accounts = {key: check_account(account) for key, account in (accounts or {}).items()}
        self._denied = frozenset(Role.parse(arn).arn for arn in denied_roles)
        self._external_ids = {Role.parse(arn).arn: external_id
                              for arn, external_id in (required_external_ids or {}).items()}
        self._session_seconds = session_seconds
        self._wall_clock = wall_clock
        self._sessions: dict[str, Identity] = {}  # by the access key handed out
        self._requests: Counter[str] = Counter()  # by action
        self._errors: Counter[str] = Counter()

    def identity(self, access_key: str) -> Identity:
        """Who ``access_key`` is, expired or not."""
        session = self._sessions.get(access_key)
        if session is not None:
            return session
        account = self._accounts.get(access_key) or derived_account(access_key)
        return Identity(account, f"arn:aws:iam::{account}:user/{_user_name(access_key)}",
                        _unique_id("AIDA", access_key))

    def authenticate(self, access_key: str) -> Identity:
        """Who ``access_key`` is; ``ServiceError`` ExpiredToken if its session has ended."""
        identity = self.identity(access_key)
        if identity.expires is not None and self._wall_clock() >= identity.expires:
            raise ServiceError("ExpiredToken", "The security token included in the request is expired")
        return identity

    def answer(self, access_key: str, headers: Mapping[str, str], query: Mapping[str, str], body: bytes,
               request_id: str) -> Reply:
        """Answer one STS request signed with ``access_key``."""
        action = _MALFORMED
        try:
            call = _decode(headers, query, body)
            action = call.operation
            result = self._call(access_key, call)
        except ServiceError as error:
            self._errors[action] += 1
            return PROTOCOL.encode_error(error, request_id)
        finally:
            self._requests[action] += 1
        return PROTOCOL.encode_result(call.operation, result, request_id)

    def stats(self) -> dict[str, dict[str, int]]:
        """Requests and error answers per action: ``{"AssumeRole": {"requests": 3, "errors": 1}}``."""
        return {action: {"requests": count, "errors": self._errors[action]} for action, count in self._requests.items()}

    def _call(self, access_key: str, call: Call) -> Mapping[str, Any]:
        if access_key == ANONYMOUS:
            raise ServiceError("MissingAuthenticationToken", "Request is missing Authentication Token", status=403)
        caller = self.authenticate(access_key)
        if call.operation == "GetCallerIdentity":
            return {"UserId": caller.user_id, "Account": caller.account, "Arn": caller.arn}
        if call.operation == "AssumeRole":
            return self._assume_role(caller, call.params)
        raise ServiceError("InvalidAction", f"{call.operation!r} is not an operation this stand-in's STS supports; "
                                            "it answers AssumeRole and GetCallerIdentity")

    def _assume_role(self, caller: Identity, params: Mapping[str, Any]) -> Mapping[str, Any]:
        try:
            role = Role.parse(params["RoleArn"])
        except ValueError as exc:
            raise ServiceError("ValidationError", f"Request ARN is invalid: {exc}") from None
        session_name = params["RoleSessionName"]
        if not re.fullmatch(_SESSION_NAME, session_name):
            raise _constraint(session_name, "roleSessionName", f"satisfy regular expression pattern: {_SESSION_NAME}")
        duration = params.get("DurationSeconds", DEFAULT_DURATION)
        if duration > MAX_DURATION:
            raise _constraint(duration, "durationSeconds", f"have value less than or equal to {MAX_DURATION}")
        if caller.expires is not None and duration > MAX_CHAINED_DURATION:
            raise ServiceError("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit "
                                                  "for roles assumed by role chaining.")
        required = self._external_ids.get(role.arn)
        if role.arn in self._denied or (required is not None and params.get("ExternalId") != required):
            raise ServiceError("AccessDenied", f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on "
                                               f"resource: {role.arn}", status=403)
        expires = self._wall_clock() + (self._session_seconds or duration)
        access_key = f"ASIA{secrets.token_hex(8).upper()}"
        role_user_id = f"{_unique_id('AROA', role.arn)}:{session_name}"
        arn = f"arn:{role.partition}:sts::{role.account}:assumed-role/{role.name}/{session_name}"
        self._sessions[access_key] = Identity(role.account, arn, role_user_id, expires)
        return {
            "Credentials": {"AccessKeyId": access_key, "SecretAccessKey": secrets.token_urlsafe(30),
                            "SessionToken": secrets.token_urlsafe(96),
                            "Expiration": datetime.fromtimestamp(expires, UTC)},
            "AssumedRoleUser": {"AssumedRoleId": role_user_id, "Arn": arn},
        }


def _decode(headers: Mapping[str, str], query: Mapping[str, str], body: bytes) -> Call:
    try:
        return PROTOCOL.decode(headers, query, body)
    except ServiceError as error:
        if error.code not in _INPUT_ERRORS:
            raise
        raise ServiceError("ValidationError", error.message) from None


def _constraint(value: object, member: str, rule: str) -> ServiceError:
    """A ValidationError in STS's words."""
    return ServiceError("ValidationError", f"1 validation error detected: Value '{value}' at '{member}' failed to "
                                           f"satisfy constraint: Member must {rule}")


def _user_name(access_key: str) -> str:
    """The IAM user a long-term key belongs to: a local key (``local-<profile>``) names its profile's user; any
    other key a user named after its hash. AWS names the user, never the key, in an ARN, and the error messages
    that quote it end up in logs."""
    if access_key.startswith("local-"):
        return access_key
    return "user-" + hashlib.sha256(access_key.encode()).hexdigest()[:10]


def _unique_id(prefix: str, name: str) -> str:
    """An IAM-style unique id (``AIDA…`` for a user, ``AROA…`` for a role), the same for the same name."""
    return prefix + hashlib.sha256(name.encode()).hexdigest()[:17].upper()
