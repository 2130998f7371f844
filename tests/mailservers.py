"""SMTP servers on loopback for the mail tests: reportgen's ``MailSink`` (aiosmtpd on the test's event loop)
with a throwaway CA's certificate for STARTTLS and implicit TLS, a login, and injected refusals.

Test modules import the fixtures they use from here (``from tests.mailservers import start_sink, tls``).
"""

from __future__ import annotations

import base64
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from reportgen.local.mailsink import MailSink

USER = "reports"
PASSWORD = "Pa55-w0rd-that-must-never-show"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def login_forms(password: str) -> tuple[str, ...]:
    """What must never show of a login with ``USER`` and ``password``: the password, and the base64 that
    AUTH PLAIN (``\\0user\\0password``) and AUTH LOGIN (user, then password) send on the wire."""
    return password, b64(f"\0{USER}\0{password}"), b64(USER), b64(password)


@dataclass(frozen=True)
class LocalCA:
    server_context: ssl.SSLContext  # the server's side, with a certificate for 127.0.0.1 and localhost
    ca_file: Path                   # the CA's certificate, for a client's trust store


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return LocalCA(context, ca_file)


@pytest.fixture
def trust_test_ca(tls: LocalCA, monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients trust the test CA the way a user would point OpenSSL at a private CA: ``SSL_CERT_FILE``."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tls.ca_file))


class Authenticator:
    """aiosmtpd authenticator for ``USER``/``PASSWORD``. ``echo`` makes its refusal quote, as careless
    servers do, the password tried or the AUTH line the client sent (its base64: ``\\0user\\0password``
    for PLAIN, the password for LOGIN)."""

    def __init__(self, *, echo: Literal["password", "auth-line"] | None = None) -> None:
        self.echo = echo

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                 auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        user, tried = auth_data.login.decode(), auth_data.password.decode()
        if (user, tried) == (USER, PASSWORD):
            return AuthResult(success=True)
        message = "535 5.7.8 Authentication credentials invalid"
        if self.echo == "password":
            message += f" for {tried!r}"
        elif self.echo == "auth-line":
            sent = f"\0{user}\0{tried}" if mechanism == "PLAIN" else tried
            message += f" for AUTH {mechanism} {b64(sent)}"
        return AuthResult(success=False, handled=False, message=message)


class FlakySink(MailSink):
    """Answers DATA with ``reply`` (a ``451 4.3.0``) the first ``failures`` times, then keeps the message."""

    def __init__(self, *args: Any, failures: int, reply: str = "451 4.3.0 Temporary local problem, try again later",
                 **options: Any) -> None:
        super().__init__(*args, **options)
        self.failures = failures
        self.reply = reply
        self.data_commands = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_commands += 1
        if self.data_commands <= self.failures:
            return self.reply
        return await super().handle_DATA(server, session, envelope)


class RefusingSink(MailSink):
    """Refuses the recipients in ``unknown`` with ``550 5.1.1``, as a server does for a mailbox it lacks."""

    def __init__(self, *args: Any, unknown: set[str], **options: Any) -> None:
        super().__init__(*args, **options)
        self.unknown = unknown

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.unknown:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"


@pytest.fixture
async def start_sink() -> AsyncIterator[Callable[..., Awaitable[MailSink]]]:
    """Factory: ``await start_sink(kind=MailSink, **options)`` starts a sink on a free port, stopped after the test."""
    sinks: list[MailSink] = []

    async def start(kind: type[MailSink] = MailSink, *args: Any, **options: Any) -> MailSink:
        sink = kind(*args, **options)
        await sink.start()
        sinks.append(sink)
        return sink

    yield start
    for sink in sinks:
        await sink.stop()


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port where nothing listens: bound for the test, so no one else takes it, but not listening."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that takes connections and never says a word (no SMTP greeting)."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(8)
        yield listening.getsockname()[1]
