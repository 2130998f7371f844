"""A local SMTP server that accepts every message and keeps it: ``reportgen local mail``, and tests.

Each message becomes an ``.eml`` file of its own, written atomically and never over another one, so a
message that arrives twice shows up as two files: the point of the sink is to make duplicates visible. That
holds for sinks in other processes writing to the same folder too: a file is written under a temporary name
and then linked to its final name, which fails, rather than replace a file, when the name is taken.
Files are named ``<YYYYMMDD-HHMMSS>-<n>-<label>.eml`` (UTC time of arrival, a running number, and the
report and date from ``X-Reportgen-Report`` or else the Message-ID), so ``ls`` lists them in order.

aiosmtpd's ``Controller`` runs the server in a thread of its own and cannot pick a free port; here the
server runs on the caller's event loop, created with the loop's ``create_server`` and aiosmtpd's protocol.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
import os
import re
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from reportgen.errors import SetupError
from reportgen.files import write_atomic
from reportgen.standin import MAIL_READY_PREFIX as MAIL_READY_PREFIX  # the ready line's start, for launchers

HOST = "127.0.0.1"

log = logging.getLogger("reportgen.local.mail")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_LABEL_LENGTH = 80


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Received:
    """One message as the sink got it: the envelope, the bytes, and where they were kept."""

    sender: str
    recipients: tuple[str, ...]
    data: bytes
    path: Path | None     # the .eml file, None when the sink keeps messages in memory only
    tls: bool             # whether it came over TLS (implicit or after STARTTLS)
    authenticated: bool   # whether the client logged in

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class MailSink:
    """An SMTP server on 127.0.0.1 that accepts every message, keeps it in ``received`` and, given a
    ``directory``, writes it there as an ``.eml`` file.

        async with MailSink(tmp_path) as sink:
            await aiosmtplib.send(message, hostname="127.0.0.1", port=sink.port)
        assert len(sink.received) == 1

    ``port=0`` picks a free port. ``implicit_tls`` makes it speak TLS from the first byte (as on port 465);
    ``clock`` gives the (aware) time of arrival that file names start with. Other keyword arguments go to
    aiosmtpd's ``SMTP`` (``tls_context`` for STARTTLS, ``authenticator``, ``auth_required``, …).
    Subclasses can override aiosmtpd's ``handle_*`` hooks.
    """

    def __init__(self, directory: Path | None = None, *, port: int = 0, implicit_tls: ssl.SSLContext | None = None,
                 clock: Callable[[], datetime] = _utc_now, **smtp_options: Any) -> None:
        self.directory = directory
        self.port = port
        self.received: list[Received] = []
        self.connections = 0  # SMTP sessions opened, whatever became of them
        self._implicit_tls = implicit_tls
        self._clock = clock
        self._smtp_options = {"hostname": "reportgen-local-mail", "data_size_limit": None, **smtp_options}
        self._server: asyncio.Server | None = None
        self._number = 0
        self._numbering = threading.Lock()  # files are written in worker threads, several at a time

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    async def start(self) -> None:
        """Listen; ``port`` is the real port afterwards. Raises ``SetupError`` if the port is taken."""
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(self._session, HOST, self.port, ssl=self._implicit_tls)
        except OSError as exc:
            raise SetupError(f"cannot listen on {HOST}:{self.port}: {exc.strerror or exc}") from None
        self.port = self._server.sockets[0].getsockname()[1]

    def _session(self) -> SMTP:
        self.connections += 1
        return SMTP(self, loop=asyncio.get_running_loop(), **self._smtp_options)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> MailSink:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None:
        await self.stop()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """aiosmtpd's hook for a complete message: keep it, and answer with the file it went to."""
        data = envelope.original_content or b""
        headers = BytesHeaderParser(policy=email.policy.default).parsebytes(data)
        path = await asyncio.to_thread(self._write, data, _label(headers)) if self.directory is not None else None
        transport = server.transport
        received = Received(
            sender=envelope.mail_from or "",
            recipients=tuple(envelope.rcpt_tos),
            data=data,
            path=path,
            tls=transport is not None and transport.get_extra_info("sslcontext") is not None,
            authenticated=bool(session.authenticated),
        )
        self.received.append(received)
        log.info("from %s to %s: %r -> %s", received.sender or "<>", ", ".join(received.recipients),
                 str(headers.get("Subject", "")), path.name if path else "(kept in memory)")
        return f"250 2.0.0 Ok: kept as {path.name}" if path else "250 2.0.0 Ok: kept"

    def _write(self, data: bytes, label: str) -> Path:
        assert self.directory is not None
        stamp = self._clock().astimezone(UTC).strftime("%Y%m%d-%H%M%S")
        incoming = self.directory / f".incoming-{uuid.uuid4().hex}.eml"
        write_atomic(incoming, data)
        try:
            while True:  # the number runs on past names taken, by a previous run or by another sink right now
                with self._numbering:
                    self._number += 1
                    path = self.directory / f"{stamp}-{self._number}-{label}.eml"
                try:
                    os.link(incoming, path)  # unlike a rename, never replaces a file
                except FileExistsError:
                    continue
                return path
        finally:
            incoming.unlink()

    def __repr__(self) -> str:
        return f"<MailSink {self.url} received={len(self.received)}>"


def _label(headers: Message) -> str:
    """``daily-ops-2026-12-02`` from ``X-Reportgen-Report``, else the Message-ID made safe for a file name."""
    raw = {name.lower(): value for name, value in headers.raw_items()}  # as written, even if malformed
    text = raw.get("x-reportgen-report") or raw.get("message-id") or ""
    return _UNSAFE.sub("-", text).strip("-._")[:_LABEL_LENGTH] or "message"
