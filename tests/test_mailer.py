"""Delivering over real servers on loopback: aiosmtpd with STARTTLS, implicit TLS and logins, and SES v2 in moto."""

from __future__ import annotations

import ssl
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Literal

import aiosmtplib
import mailservers
import pytest
from aiobotocore.session import AioSession
from mailservers import PASSWORD, USER, Authenticator, FlakySink, LocalCA, RefusingSink, b64, login_forms
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from reportgen import mailer
from reportgen.local.mailsink import MailSink
from reportgen.mail import MAX_RECIPIENTS, MailContent, build_message, message_id
from reportgen.mailer import DeliveryError, Receipt, open_mailer
from reportgen.model import MB, EmailDelivery, EmailSettings, SesSettings, SmtpSettings

start_sink, tls, trust_test_ca = mailservers.start_sink, mailservers.tls, mailservers.trust_test_ca  # fixtures
refused_port, silent_port = mailservers.refused_port, mailservers.silent_port

SENDER = "Reportgen <reportgen@example.com>"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"
DELIVERY = EmailDelivery(to=("Ops <ops@example.com>",), cc=("lead@example.com",), bcc=("audit@example.com",))
ENVELOPE = ("ops@example.com", "lead@example.com", "audit@example.com")
ENV = {"SMTP_PASSWORD": PASSWORD}
FAST = {"base_delay": 0.01, "max_delay": 0.05}  # backoff small enough for tests, still exponential

StartSink = Callable[..., Awaitable[MailSink]]
Echo = Literal["password", "auth-line"] | None


def report_message(delivery: EmailDelivery = DELIVERY, sender: str = SENDER) -> EmailMessage:
    content = MailContent(title="Daily operations", report="daily-ops", date="2026-12-02", period="yesterday",
                          widgets_total=3, failures=(), archive_location=None, archive_link=None,
                          pdf_name="daily-ops-2026-12-02.pdf", pdf=PDF)
    message, attached = build_message(delivery, sender, content, max_attachment_bytes=10 * MB,
                                      message_id=message_id("daily-ops", "2026-12-02", 1, sender),
                                      date=datetime(2026, 12, 3, 6, tzinfo=UTC))
    assert attached
    return message


def smtp_settings(port: int, *, tls: str = "none", user: str | None = None, attempts: int = 3,
                  **smtp: Any) -> EmailSettings:
    smtp.setdefault("rate_limit", 100.0)
    return EmailSettings(sender=SENDER, transport="smtp", attempts=attempts,
                         smtp=SmtpSettings(host="127.0.0.1", port=port, tls=tls, user=user,
                                           password_env="SMTP_PASSWORD" if user else None, **smtp))


async def send(settings: EmailSettings, environ: dict[str, str] = ENV) -> Receipt:
    async with open_mailer(settings, environ=environ, **FAST) as sending:
        assert sending.name == settings.transport
        return await sending.send(report_message(), DELIVERY.recipients)


async def failure(settings: EmailSettings, environ: dict[str, str] = ENV) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await send(settings, environ)
    error = caught.value
    shown = "".join(traceback.format_exception(error)) + repr(error) + (error.reply or "")
    for secret in environ.values():
        assert not any(form in shown for form in login_forms(secret))
    return error


def assert_delivered(sink: MailSink, *, tls: bool, authenticated: bool) -> None:
    (received,) = sink.received
    assert received.sender == "reportgen@example.com"
    assert received.recipients == ENVELOPE  # bcc in the envelope ...
    assert (received.tls, received.authenticated) == (tls, authenticated)
    message = received.message
    assert "Bcc" not in message and b"audit@example.com" not in received.data  # ... and nowhere else
    assert message["Message-ID"] == "<daily-ops.2026-12-02.1@example.com>"
    (pdf,) = message.iter_attachments()
    assert (pdf.get_filename(), pdf.get_content()) == ("daily-ops-2026-12-02.pdf", PDF)


@pytest.mark.usefixtures("trust_test_ca")
async def test_starttls_with_a_required_login(start_sink: StartSink, tls: LocalCA) -> None:
    sink = await start_sink(tls_context=tls.server_context, require_starttls=True, auth_required=True,
                            authenticator=Authenticator())
    receipt = await send(smtp_settings(sink.port, tls="starttls", user=USER))
    assert receipt == Receipt("250 2.0.0 Ok: kept", attempts=1)
    assert_delivered(sink, tls=True, authenticated=True)


@pytest.mark.usefixtures("trust_test_ca")
async def test_implicit_tls_with_a_login(start_sink: StartSink, tls: LocalCA) -> None:
    # aiosmtpd cannot tell implicit TLS from plain text, so it is told not to insist on TLS for AUTH.
    sink = await start_sink(implicit_tls=tls.server_context, auth_require_tls=False, authenticator=Authenticator())
    assert (await send(smtp_settings(sink.port, tls="implicit", user=USER))).attempts == 1
    assert_delivered(sink, tls=True, authenticated=True)


async def test_plain_smtp_without_a_login(start_sink: StartSink) -> None:
    sink = await start_sink()
    assert (await send(smtp_settings(sink.port))).reply.startswith("250 ")
    assert_delivered(sink, tls=False, authenticated=False)


@pytest.mark.usefixtures("trust_test_ca")
@pytest.mark.parametrize(("echo", "mechanism"), [(None, "PLAIN"), ("password", "PLAIN"), ("auth-line", "PLAIN"),
                                                 ("auth-line", "LOGIN")],
                         ids=["plain-refusal", "echoes-password", "echoes-auth-plain", "echoes-auth-login"])
async def test_a_wrong_password_fails_at_once_and_is_never_shown(start_sink: StartSink, tls: LocalCA,
                                                                 echo: Echo, mechanism: str) -> None:
    sink = await start_sink(tls_context=tls.server_context, require_starttls=True, auth_required=True,
                            authenticator=Authenticator(echo=echo),
                            auth_exclude_mechanism=[other for other in ("PLAIN", "LOGIN") if other != mechanism])
    wrong = {"SMTP_PASSWORD": PASSWORD + "-but-wrong"}
    error = await failure(smtp_settings(sink.port, tls="starttls", user=USER, attempts=5), wrong)
    assert not error.retryable and error.attempts == 1 and sink.connections == 1
    assert str(error) == f"smtp 127.0.0.1:{sink.port}: the server refused the login: 535 5.7.8"
    assert error.reply == "535 5.7.8"  # the codes only: the server's text may quote the login
    assert sink.received == []


async def test_every_reply_is_cleared_of_the_password_and_its_base64_forms(start_sink: StartSink) -> None:
    quoted = (f"554 5.7.1 Rejected: {PASSWORD} AUTH PLAIN {b64(chr(0) + USER + chr(0) + PASSWORD)} AUTH LOGIN "
              f"{b64(USER).rstrip('=')} {b64(PASSWORD)}")  # a server may drop the padding
    sink = await start_sink(FlakySink, failures=1, reply=quoted, auth_require_tls=False,
                            authenticator=Authenticator())
    error = await failure(smtp_settings(sink.port, user=USER))
    assert sink.data_commands == 1 and not error.retryable
    assert error.reply == "554 5.7.1 Rejected: ******** AUTH PLAIN ******** AUTH LOGIN ******** ********"
    assert str(error) == f"smtp 127.0.0.1:{sink.port}: the server refused the message: {error.reply}"


async def test_a_missing_password_variable_is_named_and_nothing_is_sent(start_sink: StartSink) -> None:
    sink = await start_sink()
    error = await failure(smtp_settings(sink.port, user=USER), environ={"OTHER": PASSWORD})
    assert not error.retryable
    assert str(error) == (f"smtp 127.0.0.1:{sink.port}: the environment variable SMTP_PASSWORD, which should hold "
                          f"the password of {USER}, is not set")
    assert sink.connections == 0


async def test_temporary_refusals_are_retried_until_accepted(start_sink: StartSink) -> None:
    sink = await start_sink(FlakySink, failures=2)
    started = time.monotonic()
    receipt = await send(smtp_settings(sink.port, attempts=5, rate_limit=10.0))
    assert receipt.attempts == 3 and receipt.reply == "250 2.0.0 Ok: kept"
    assert sink.data_commands == 3 and sink.connections == 3
    assert_delivered(sink, tls=False, authenticated=False)
    assert time.monotonic() - started >= 2 / 10 * 0.9, "each attempt waits its turn at the rate limiter"


async def test_temporary_refusals_past_the_attempts_are_a_retryable_error(start_sink: StartSink) -> None:
    sink = await start_sink(FlakySink, failures=10)
    error = await failure(smtp_settings(sink.port, attempts=2))
    assert error.retryable and error.attempts == 2 and sink.data_commands == 2
    assert str(error) == (f"smtp 127.0.0.1:{sink.port}: the server refused the message: 451 4.3.0 Temporary local "
                          "problem, try again later (after 2 attempts)")


async def test_nothing_listening_is_retried_then_a_retryable_error(refused_port: int) -> None:
    error = await failure(smtp_settings(refused_port, attempts=4))
    assert error.retryable and error.attempts == 4
    assert str(error) == f"smtp 127.0.0.1:{refused_port}: connection refused (after 4 attempts)"


async def test_a_server_that_never_answers_times_out(silent_port: int) -> None:
    error = await failure(smtp_settings(silent_port, attempts=2, timeout=0.2))
    assert error.retryable
    assert str(error) == f"smtp 127.0.0.1:{silent_port}: no answer within 0.2 s (after 2 attempts)"


async def test_a_refused_recipient_fails_at_once(start_sink: StartSink) -> None:
    sink = await start_sink(RefusingSink, unknown={"bob@example.com"})
    async with open_mailer(smtp_settings(sink.port, attempts=5), **FAST) as sending:
        with pytest.raises(DeliveryError) as caught:
            await sending.send(report_message(), ["Bob <bob@example.com>"])
    assert not caught.value.retryable and caught.value.attempts == 1 and sink.connections == 1
    assert str(caught.value) == (f"smtp 127.0.0.1:{sink.port}: the server refused the recipient bob@example.com: "
                                 "550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown")


async def test_recipients_refused_while_others_get_the_message_are_in_the_receipt(start_sink: StartSink) -> None:
    sink = await start_sink(RefusingSink, unknown={"lead@example.com"})
    receipt = await send(smtp_settings(sink.port, attempts=5))
    assert receipt.attempts == 1  # sent again, the others would get it twice
    assert receipt.refused == ("lead@example.com: 550 5.1.1 <lead@example.com>: Recipient address rejected: "
                               "User unknown",)
    assert sink.received[0].recipients == ("ops@example.com", "audit@example.com")


async def test_an_untrusted_certificate_is_a_permanent_error(start_sink: StartSink, tls: LocalCA) -> None:
    sink = await start_sink(tls_context=tls.server_context, require_starttls=True)
    error = await failure(smtp_settings(sink.port, tls="starttls", attempts=3))
    assert not error.retryable and error.attempts == 1
    assert str(error).startswith(f"smtp 127.0.0.1:{sink.port}: the server's TLS certificate is not trusted: ")


async def test_starttls_asked_of_a_server_without_it_is_a_permanent_error(start_sink: StartSink) -> None:
    sink = await start_sink()
    error = await failure(smtp_settings(sink.port, tls="starttls", attempts=3))
    assert not error.retryable and error.attempts == 1
    assert str(error) == f"smtp 127.0.0.1:{sink.port}: SMTP STARTTLS extension not supported by server."


def _caused(exc: BaseException, cause: BaseException) -> BaseException:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(("exc", "retryable", "message"), [
    (aiosmtplib.SMTPConnectResponseError(421, "4.3.2 Service shutting down"), True,
     "the server answered: 421 4.3.2 Service shutting down"),
    (aiosmtplib.SMTPHeloError(554, "5.7.1 Go away"), False, "the server answered: 554 5.7.1 Go away"),
    (aiosmtplib.SMTPAuthenticationError(454, "4.7.0 Temporary authentication failure"), True,
     "the server refused the login: 454 4.7.0"),
    (aiosmtplib.SMTPAuthenticationError(535, "5.7.8 Authentication failed for AUTH PLAIN "
                                             "AHJlcG9ydHNAZXhhbXBsZS5jb20AaHVudGVyMi1zZWNyZXQ="), False,
     "the server refused the login: 535 5.7.8"),
    (aiosmtplib.SMTPAuthenticationError(535, "Authentication failed for aHVudGVyMi1zZWNyZXQ="), False,
     "the server refused the login: 535"),
    (aiosmtplib.SMTPSenderRefused(553, "5.7.1 Sender address rejected", "r@example.com"), False,
     "the server refused the sender r@example.com: 553 5.7.1 Sender address rejected"),
    (aiosmtplib.SMTPDataError(552, "5.3.4 Message size exceeds fixed limit"), False,
     "the server refused the message: 552 5.3.4 Message size exceeds fixed limit"),
    (aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(450, "4.2.0 Greylisted", "a@example.com"),
                                       aiosmtplib.SMTPRecipientRefused(550, "5.1.1 Unknown", "b@example.com")]),
     True, "the server refused all 2 recipients: a@example.com: 450 4.2.0 Greylisted; "
           "b@example.com: 550 5.1.1 Unknown"),
    (aiosmtplib.SMTPConnectTimeoutError("Timed out connecting"), True, "no answer within 60 s"),
    (aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response"), True, "no answer within 60 s"),
    (TimeoutError(), True, "no answer within 60 s"),
    (_caused(aiosmtplib.SMTPConnectError("Error connecting"), ConnectionRefusedError(111, "Connect call failed")),
     True, "connection refused"),
    (aiosmtplib.SMTPServerDisconnected("Connection lost"), True, "connection failed: Connection lost"),
    (ConnectionResetError(104, "Connection reset by peer"), True,
     "connection failed: [Errno 104] Connection reset by peer"),
    (_caused(aiosmtplib.SMTPConnectError("Error connecting"), ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER]")),
     False, "TLS failed ([SSL: WRONG_VERSION_NUMBER]); is `tls` right for this port?"),
    (aiosmtplib.SMTPNotSupported("SMTP STARTTLS extension not supported by server."), False,
     "SMTP STARTTLS extension not supported by server."),
    (aiosmtplib.SMTPException("The SMTP AUTH extension is not supported by this server."), False,
     "The SMTP AUTH extension is not supported by this server."),
])
def test_every_smtp_failure_is_mapped(exc: BaseException, retryable: bool, message: str) -> None:
    error = mailer.smtp_error(exc, "smtp mail.example.com:587", 60.0)
    assert (error.retryable, str(error)) == (retryable, f"smtp mail.example.com:587: {message}")


async def test_the_envelope_carries_the_addresses_as_the_headers_do(start_sink: StartSink) -> None:
    sink = await start_sink()
    delivery = EmailDelivery(to=("Jörg <jm@bücher.example>", "ops@example.com"), bcc=("jm@bücher.example",))
    async with open_mailer(smtp_settings(sink.port), **FAST) as sending:
        await sending.send(report_message(delivery, "Reportgen <reportgen@bücher.example>"), delivery.recipients)
    (received,) = sink.received
    assert received.sender == "reportgen@xn--bcher-kva.example"  # IDNA: no SMTPUTF8 needed
    assert received.recipients == ("jm@xn--bcher-kva.example", "ops@example.com")
    assert received.message["To"] == "Jörg <jm@xn--bcher-kva.example>, ops@example.com"


@pytest.mark.parametrize(("recipients", "message"), [
    ([f"r{n}@example.com" for n in range(MAX_RECIPIENTS + 1)],
     f"the mail has {MAX_RECIPIENTS + 1} different recipients in to, cc and bcc together; at most {MAX_RECIPIENTS} "
     "are allowed (SES refuses more in one message): send it to a mailing list instead"),
    (["ops@example.com", "jörg@example.com"],
     "'jörg@example.com' has non-ASCII characters before the @, which many mail servers (and SES) cannot deliver"),
])
async def test_recipients_that_cannot_work_fail_before_connecting(start_sink: StartSink, recipients: list[str],
                                                                  message: str) -> None:
    sink = await start_sink()
    async with open_mailer(smtp_settings(sink.port), **FAST) as sending:
        with pytest.raises(DeliveryError) as caught:
            await sending.send(report_message(), recipients)
    assert not caught.value.retryable and sink.connections == 0
    assert str(caught.value) == f"the message cannot be sent: {message}"


async def test_fifty_recipients_named_more_than_once_are_sent_once_each(start_sink: StartSink) -> None:
    sink = await start_sink()
    recipients = [f"r{n}@example.com" for n in range(MAX_RECIPIENTS)]
    async with open_mailer(smtp_settings(sink.port), **FAST) as sending:
        await sending.send(report_message(), recipients + [f"R <{recipients[0]}>"])
    assert sink.received[0].recipients == tuple(recipients)


@pytest.mark.usefixtures("trust_test_ca")
async def test_implicit_tls_to_a_plain_server_is_a_permanent_error(start_sink: StartSink) -> None:
    sink = await start_sink()
    error = await failure(smtp_settings(sink.port, tls="implicit", attempts=3))
    assert not error.retryable and error.attempts == 1
    assert str(error) == f"smtp 127.0.0.1:{sink.port}: TLS failed (WRONG_VERSION_NUMBER); is `tls` right for this port?"


@pytest.mark.parametrize(("settings", "message"), [
    (EmailSettings(sender=SENDER), "e-mail transport `smtp` needs an `smtp` section with at least `host`"),
    (EmailSettings(sender=SENDER, transport="pigeon"), "unknown e-mail transport `pigeon`; use `smtp` or `ses`"),
    (EmailSettings(sender=SENDER, smtp=SmtpSettings(host="127.0.0.1", user=USER)),
     "smtp 127.0.0.1:587: `user` is set but `password_env` is not; name the environment variable that holds the "
     "password"),
])
async def test_settings_that_cannot_work_fail_when_opening(settings: EmailSettings, message: str) -> None:
    with pytest.raises(DeliveryError) as caught:
        async with open_mailer(settings, environ=ENV):
            pass
    assert str(caught.value) == message and not caught.value.retryable


# --- SES v2 (moto) ----------------------------------------------------------------------------------------


def ses_settings(**ses: Any) -> EmailSettings:
    return EmailSettings(sender=SENDER, transport="ses", attempts=3, ses=SesSettings(region="eu-west-1", **ses))


async def verify_identity(address: str) -> None:
    async with AioSession().create_client("sesv2", region_name="eu-west-1") as client:
        await client.create_email_identity(EmailIdentity=address)


@pytest.mark.usefixtures("moto_aws")
async def test_ses_sends_the_raw_message_with_bcc_in_the_envelope_only() -> None:
    await verify_identity("reportgen@example.com")
    receipt = await send(ses_settings(rate_limit=100.0))
    (sent,) = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
    assert receipt == Receipt(sent.id, attempts=1)
    assert sent.source == "reportgen@example.com"
    assert "audit@example.com" in sent.destinations
    assert "audit@example.com" not in sent.raw_data and "Bcc" not in sent.raw_data
    assert "Message-ID: <daily-ops.2026-12-02.1@example.com>" in sent.raw_data


@pytest.mark.usefixtures("moto_aws")
async def test_ses_refuses_an_unverified_sender_at_once() -> None:
    error = await failure(ses_settings())
    assert not error.retryable and error.attempts == 1
    assert str(error) == ("ses eu-west-1: MessageRejected: Did not have authority to send from email "
                          "reportgen@example.com")
    assert error.reply == "MessageRejected: Did not have authority to send from email reportgen@example.com"


@pytest.mark.usefixtures("moto_aws")
async def test_ses_refuses_a_message_over_its_size_limit_before_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    await verify_identity("reportgen@example.com")
    monkeypatch.setattr(mailer, "SES_MAX_MESSAGE_BYTES", len(PDF))  # a 40 MB message would only be slower
    error = await failure(ses_settings())
    assert not error.retryable and str(error).startswith("ses eu-west-1: the message is 0.0 MB, over SES's limit")
    assert ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages == []


async def test_ses_unreachable_is_retryable(monkeypatch: pytest.MonkeyPatch, refused_port: int) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", f"http://127.0.0.1:{refused_port}")
    error = await failure(ses_settings(rate_limit=100.0))
    assert error.retryable and error.attempts == 3 and str(error).startswith("ses eu-west-1: ")


async def test_ses_with_a_profile_that_does_not_exist_fails_when_opening() -> None:
    with pytest.raises(DeliveryError) as caught:
        async with open_mailer(ses_settings(profile="nonexistent")):
            pass
    assert not caught.value.retryable
    assert str(caught.value) == ("ses eu-west-1: no usable AWS credentials: The config profile (nonexistent) "
                                 "could not be found")
