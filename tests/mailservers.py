"""SMTP servers on loopback for the mail tests: reportgen's ``MailSink`` (aiosmtpd on the test's event loop)
with a throwaway CA's certificate for STARTTLS and implicit TLS, a login, and injected refusals.

Test modules import the fixtures they use from here (``from tests.mailservers import start_sink, tls``).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from reportgen.local.mailsink import MailSink

USER = "reports"
PASSWORD = "Pa55-w0rd-that-must-never-show"


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
    """aiosmtpd authenticator for ``USER``/``PASSWORD``; ``echo`` makes its refusal quote the password tried,
    as a careless server might."""

    def __init__(self, *, echo: bool = False) -> None:
        self.echo = echo

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                 auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
                USER.encode(), PASSWORD.encode()):
            return AuthResult(success=True)
        tried = auth_data.password.decode() if isinstance(auth_data, LoginPassword) else "?"
        message = f"535 5.7.8 Authentication credentials invalid{f' for {tried!r}' if self.echo else ''}"
        return AuthResult(success=False, handled=False, message=message)


class FlakySink(MailSink):
    """Answers DATA with ``451 4.3.0`` the first ``failures`` times, then keeps the message."""

    def __init__(self, *args: Any, failures: int, **options: Any) -> None:
        super().__init__(*args, **options)
        self.failures = failures
        self.data_commands = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_commands += 1
        if self.data_commands <= self.failures:
            return "451 4.3.0 Temporary local problem, try again later"
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
