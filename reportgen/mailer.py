"""Sending a built message: over SMTP (aiosmtplib) or through Amazon SES v2 (aiobotocore).

Both transports share one retry loop: every attempt, first or retried, waits its turn at the transport's
rate limiter; transient failures (no connection, a timeout, an SMTP 4xx reply, SES throttling or a 5xx) are
tried again after an exponential backoff with jitter; permanent ones (an SMTP 5xx reply such as 550 or 535,
SES's MessageRejected or AccessDenied) end the delivery at once. The libraries' errors become a
``DeliveryError`` in one function per transport.

The SMTP password is read from the environment variable the settings name, when the mailer opens; it never
appears in an error or a receipt: messages name the variable, a refused login keeps only the reply's codes
(servers have been seen to quote the AUTH exchange), and every other reply is cleared of the password and of
the base64 forms AUTH PLAIN and AUTH LOGIN send it in.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import os
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Protocol

import aiosmtplib
from aiosmtplib.auth import auth_login_encode, auth_plain_encode

from reportgen.errors import AwsError, ReportgenError
from reportgen.mail import envelope_address, envelope_recipients
from reportgen.model import MB, SES_MAX_MESSAGE_MB, EmailSettings, SesSettings, SmtpSettings
from reportgen.ratelimit import StrictRateLimiter
from reportgen.retry import backoff

if TYPE_CHECKING:
    from botocore.exceptions import BotoCoreError, ClientError

SES_MAX_MESSAGE_BYTES = SES_MAX_MESSAGE_MB * MB
SES_TIMEOUT = 60.0  # seconds for one SendEmail call
DEFAULT_BASE_DELAY = 2.0  # seconds before the first retry; doubles on each retry after it
DEFAULT_MAX_DELAY = 60.0  # seconds; no single wait is longer
_REDACTED = "********"
_ENHANCED_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}(?=\s|$)")  # RFC 3463's code after the reply code


class DeliveryError(ReportgenError):
    """A message that did not reach the mail server or SES.

    ``retryable`` says whether trying again later may help; ``reply`` is the server's answer when it gave
    one (e.g. ``550 5.1.1 <bob@example.com>: Recipient address rejected``); ``attempts`` counts the
    attempts made, and the message says so when there was more than one.
    """

    def __init__(self, message: str, *, retryable: bool, reply: str | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.reply = reply
        self.attempts = attempts

    def __str__(self) -> str:
        return f"{self.message} (after {self.attempts} attempts)" if self.attempts > 1 else self.message


@dataclass(frozen=True)
class Receipt:
    """A message the server accepted."""

    reply: str                   # the server's answer: "250 2.0.0 Ok: queued as 4XkT2" or SES's MessageId
    attempts: int
    refused: tuple[str, ...] = ()  # recipients an SMTP server refused while taking the message for the others,
                                   # each as "bob@example.com: 550 5.1.1 …"; a retry would duplicate it for those


class Mailer(Protocol):
    name: str  # "smtp" | "ses"

    async def send(self, message: EmailMessage, recipients: Sequence[str]) -> Receipt:
        """Deliver ``message`` to ``recipients`` (to, cc and bcc alike: the envelope), or raise ``DeliveryError``."""
        ...


@contextlib.asynccontextmanager
async def open_mailer(settings: EmailSettings, *, environ: Mapping[str, str] = os.environ,
                      base_delay: float = DEFAULT_BASE_DELAY,
                      max_delay: float = DEFAULT_MAX_DELAY) -> AsyncIterator[Mailer]:
    """The mailer for ``settings.transport``, for the duration of a run.

    Retry ``n`` (from 0) waits ``base_delay * 2**n`` plus up to ``base_delay`` of jitter, at most
    ``max_delay``; ``settings.attempts`` counts the first attempt too. Raises ``DeliveryError`` (not
    retryable) when the settings cannot work: no ``smtp`` section, a password variable that is not set,
    an AWS profile that does not exist.
    """
    retry = _Retry(attempts=settings.attempts, base_delay=base_delay, max_delay=max_delay)
    if settings.transport == "smtp":
        if settings.smtp is None:
            raise DeliveryError("e-mail transport `smtp` needs an `smtp` section with at least `host`",
                                retryable=False)
        yield SmtpMailer(settings.smtp, _password(settings.smtp, environ), retry)
    elif settings.transport == "ses":
        async with _ses_client(settings.ses) as client:
            yield SesMailer(client, settings.ses, retry)
    else:
        raise DeliveryError(f"unknown e-mail transport `{settings.transport}`; use `smtp` or `ses`", retryable=False)


class _Retry:
    """The retry loop both transports share: rate limit, backoff, and the attempt count on the outcome."""

    def __init__(self, *, attempts: int, base_delay: float, max_delay: float) -> None:
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay

    async def __call__(self, limiter: StrictRateLimiter,
                       send_once: Callable[[], Awaitable[tuple[str, tuple[str, ...]]]]) -> Receipt:
        """Call ``send_once`` until it returns (reply, refused recipients) or fails for good."""
        count = 0
        retrying = backoff(attempts=self.attempts, base_delay=self.base_delay, max_delay=self.max_delay,
                           retryable=lambda exc: isinstance(exc, DeliveryError) and exc.retryable)
        try:
            async for attempt in retrying:
                with attempt:
                    count += 1
                    await limiter.acquire()
                    await limiter.depart()  # the hard limit, checked as the message goes out
                    reply, refused = await send_once()
        except DeliveryError as error:
            error.attempts = count
            raise
        return Receipt(reply, count, refused)


def _envelope(message: EmailMessage, recipients: Sequence[str]) -> tuple[str, list[str]]:
    """The envelope sender (the From address) and recipients as bare addresses in the headers' form (an
    IDNA domain: servers without SMTPUTF8 refuse anything else), each recipient once."""
    if "From" not in message:
        raise DeliveryError("the message has no From address", retryable=False)
    try:
        sender = envelope_address(str(message["From"]))
        addresses = envelope_recipients(recipients)
    except ValueError as exc:
        raise DeliveryError(f"the message cannot be sent: {exc}", retryable=False) from None
    if not addresses:
        raise DeliveryError("the message has no recipients", retryable=False)
    return sender, addresses


# --- SMTP ------------------------------------------------------------------------------------------------


def _password(settings: SmtpSettings, environ: Mapping[str, str]) -> str | None:
    if settings.user is None:
        return None
    where = f"smtp {settings.host}:{settings.port}"
    if settings.password_env is None:
        raise DeliveryError(f"{where}: `user` is set but `password_env` is not; name the environment variable "
                            "that holds the password", retryable=False)
    password = environ.get(settings.password_env)
    if not password:
        raise DeliveryError(f"{where}: the environment variable {settings.password_env}, which should hold the "
                            f"password of {settings.user}, is not set", retryable=False)
    return password


class SmtpMailer:
    """Sends each message over a connection of its own: STARTTLS, implicit TLS or plain, and a login when
    a user is set. Certificates are checked against the system's trust store (OpenSSL's default paths,
    which honour ``SSL_CERT_FILE``)."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings, password: str | None, retry: _Retry) -> None:
        self.settings = settings
        self._password = password
        self._secrets = _secrets(settings.user, password)
        self._retry = retry
        self._limiter = StrictRateLimiter(settings.rate_limit)
        self.where = f"smtp {settings.host}:{settings.port}"

    async def send(self, message: EmailMessage, recipients: Sequence[str]) -> Receipt:
        sender, addresses = _envelope(message, recipients)
        return await self._retry(self._limiter, lambda: self._attempt(message, sender, addresses))

    async def _attempt(self, message: EmailMessage, sender: str, recipients: list[str]) -> tuple[str, tuple[str, ...]]:
        settings = self.settings
        try:
            async with asyncio.timeout(settings.timeout):  # the whole attempt, not each command
                refused, reply = await aiosmtplib.send(
                    message, sender=sender, recipients=recipients, hostname=settings.host, port=settings.port,
                    use_tls=settings.tls == "implicit", start_tls=settings.tls == "starttls",
                    username=settings.user, password=self._password, timeout=settings.timeout)
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as exc:
            # Not chained: aiosmtplib's exception may quote a server reply that echoes the password.
            error = smtp_error(exc, self.where, settings.timeout)
            raise DeliveryError(self._redact(error.message), retryable=error.retryable,
                                reply=error.reply and self._redact(error.reply)) from None
        # DATA answers 250 or raises; aiosmtplib passes on only the text after the code.
        return self._redact(f"250 {reply}"), tuple(self._redact(f"{address}: {response.code} {response.message}")
                                                   for address, response in refused.items())

    def _redact(self, text: str) -> str:
        return self._secrets.sub(_REDACTED, text) if self._secrets else text

    def __repr__(self) -> str:
        return f"<SmtpMailer {self.where} tls={self.settings.tls} user={self.settings.user}>"


def _secrets(user: str | None, password: str | None) -> re.Pattern[str] | None:
    """What a server reply may quote of a login: the password itself, and what AUTH PLAIN and AUTH LOGIN
    send, as aiosmtplib encodes it (base64 padding optional, servers drop it); longest first, so a PLAIN
    string goes whole."""
    if not user or not password:
        return None
    encoded = [form.decode("ascii").rstrip("=") for form in (auth_plain_encode(user, password),
                                                              *auth_login_encode(user, password))]
    forms = [(password, re.escape(password)), *((form, re.escape(form) + "=*") for form in encoded)]
    return re.compile("|".join(pattern for _, pattern in sorted(forms, key=lambda form: -len(form[0]))))


def smtp_error(exc: BaseException, where: str, timeout: float) -> DeliveryError:
    """Map an exception of one aiosmtplib attempt to a ``DeliveryError`` (the only place that does).

    A 4xx reply, a timeout and a lost or refused connection are worth another attempt; a 5xx reply, an
    untrusted certificate and a missing server feature (STARTTLS, AUTH) are not. A refused login keeps only
    the reply code and enhanced status code (``535 5.7.8``), never the server's text.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refusals = exc.recipients
        who = f"the recipient {refusals[0].recipient}" if len(refusals) == 1 else f"all {len(refusals)} recipients"
        replies = "; ".join(f"{r.code} {r.message}" if len(refusals) == 1 else f"{r.recipient}: {r.code} {r.message}"
                            for r in refusals)
        return DeliveryError(f"{where}: the server refused {who}: {replies}", reply=replies,
                             retryable=any(_temporary(r.code) for r in refusals))
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        reply = f"{exc.code} {exc.message}"
        if isinstance(exc, aiosmtplib.SMTPAuthenticationError):  # the codes alone: the text may quote the AUTH line
            status = _ENHANCED_STATUS.match(exc.message)
            reply = f"{exc.code} {status.group()}" if status else str(exc.code)
        return DeliveryError(f"{where}: {_refusal(exc)}: {reply}", reply=reply, retryable=_temporary(exc.code))
    causes = list(_chain(exc))
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return DeliveryError(f"{where}: the server's TLS certificate is not trusted: {cause.verify_message}",
                                 retryable=False)
        if isinstance(cause, ssl.SSLError):
            reason = getattr(cause, "reason", None) or cause  # set on the errors OpenSSL raises
            return DeliveryError(f"{where}: TLS failed ({reason}); is `tls` right for this port?", retryable=False)
    if any(isinstance(cause, TimeoutError) for cause in causes):
        return DeliveryError(f"{where}: no answer within {timeout:g} s", retryable=True)
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return DeliveryError(f"{where}: connection refused", retryable=True)
    if isinstance(exc, (aiosmtplib.SMTPServerDisconnected, OSError)):  # SMTPConnectError is an OSError too
        return DeliveryError(f"{where}: connection failed: {_text(exc)}", retryable=True)
    return DeliveryError(f"{where}: {_text(exc)}", retryable=False)  # STARTTLS or AUTH not offered, bad address


def _temporary(code: int) -> bool:
    return 400 <= code < 500


def _refusal(exc: aiosmtplib.SMTPResponseException) -> str:
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return "the server refused the login"
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):
        return f"the server refused the sender {exc.sender}"
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return "the server refused the message"
    return "the server answered"


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    while exc is not None:
        yield exc
        exc = exc.__cause__


def _text(exc: BaseException) -> str:
    return exc.message if isinstance(exc, aiosmtplib.SMTPException) else str(exc) or type(exc).__name__


# --- SES -------------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _ses_client(settings: SesSettings) -> AsyncIterator[Any]:
    # Imported here: the AWS stack is slow to import and an SMTP-only setup never needs it.
    from aiobotocore.config import AioConfig
    from aiobotocore.session import AioSession
    from botocore.exceptions import BotoCoreError

    # botocore's own retries would not pass through the limiter: one attempt per call, the loop retries.
    config = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=min(SES_TIMEOUT, 10),
                       read_timeout=SES_TIMEOUT)
    async with contextlib.AsyncExitStack() as stack:
        try:
            client = await stack.enter_async_context(
                AioSession(profile=settings.profile).create_client("sesv2", region_name=settings.region,
                                                                   config=config))
        except BotoCoreError as exc:  # e.g. a profile that does not exist
            raise ses_error(exc, f"ses {settings.region}") from exc
        yield client


class SesMailer:
    """Sends raw MIME messages with SES v2's SendEmail; the Destination is the envelope only, the headers
    come from the message, so Bcc recipients stay invisible."""

    name = "ses"

    def __init__(self, client: Any, settings: SesSettings, retry: _Retry) -> None:
        self.settings = settings
        self._client = client
        self._retry = retry
        self._limiter = StrictRateLimiter(settings.rate_limit)
        self.where = f"ses {settings.region}"

    async def send(self, message: EmailMessage, recipients: Sequence[str]) -> Receipt:
        sender, addresses = _envelope(message, recipients)
        raw = message.as_bytes(policy=email.policy.SMTP)
        if len(raw) > SES_MAX_MESSAGE_BYTES:
            raise DeliveryError(f"{self.where}: the message is {len(raw) / MB:.1f} MB, over SES's limit "
                                f"of {SES_MAX_MESSAGE_BYTES / MB:g} MB", retryable=False)
        return await self._retry(self._limiter, lambda: self._attempt(raw, sender, addresses))

    async def _attempt(self, raw: bytes, sender: str, recipients: list[str]) -> tuple[str, tuple[str, ...]]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = await self._client.send_email(FromEmailAddress=sender, Destination={"ToAddresses": recipients},
                                                     Content={"Raw": {"Data": raw}})
        except (BotoCoreError, ClientError) as exc:
            raise ses_error(exc, self.where) from exc
        return str(response["MessageId"]), ()

    def __repr__(self) -> str:
        return f"<SesMailer {self.where} profile={self.settings.profile}>"


def ses_error(exc: BotoCoreError | ClientError, where: str) -> DeliveryError:
    """Map an aiobotocore error of one SendEmail call to a ``DeliveryError``, through ``reportgen.aws``'s
    mapping: throttling, 5xx and lost connections are retryable; MessageRejected, AccessDenied, a sending
    pause or missing credentials are not."""
    from reportgen.aws import translate_error

    failure = translate_error(exc)
    return DeliveryError(f"{where}: {failure}", retryable=failure.retryable,
                         reply=str(failure) if isinstance(failure, AwsError) else None)
