"""No secret leaves a run: AWS keys, the session token and the SMTP password appear nowhere a run writes.

One nightly run, as a user who turned logging up to DEBUG would run it (``logging.basicConfig`` before
``reportgen.cli.main``, in a process of its own), with recognisable random secrets in its environment: AWS keys
and a session token, and the SMTP password in the variable reportgen.yaml's ``password_env`` names. It assumes a
role with an external id, meets a role it may not assume, throttling and a mail server that refuses the first
login quoting the password and the AUTH line, and puts the login into its reply to every message. Then
everything the run wrote is searched: stdout and stderr (the DEBUG log among them), the PDFs in --out and the
archive (their text too), the manifests, and the mail as it arrived (every MIME part decoded, the attached PDF's
text too). No secret, nor the base64 forms a login sends it in, may appear.
"""

from __future__ import annotations

import email
import email.policy
import io
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from mailservers import USER, b64
from nightly_helpers import ThreadedSink
from pypdf import PdfReader

from reportgen.cli import EXIT_UNDELIVERED
from reportgen.local import BackgroundStandIn
from reportgen.local.mailsink import MailSink

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/reports-reader"
DENIED_ROLE = f"arn:aws:iam::{ACCOUNT}:role/not-for-reports"
DAY = "2026-11-26"
PASSWORD_VARIABLE = "SECRETS_TEST_SMTP_PASSWORD"

SPEC = """\
report: {report}
title: Report {report}
period: yesterday
schedule: daily
aws: {aws}
table: true
defaults: {{width: 300, height: 200, period: 3600}}
deliver:
  email:
    to: ["Ops <ops@example.com>"]
    inline_chart: true
sections:
  - title: Compute
    widgets:
      - title: CPU
        metrics: [[AWS/EC2, CPUUtilization, InstanceId, i-1]]
      - title: Throttled at first
        metrics: [[AWS/EC2, NetworkIn, InstanceId, i-1]]
      - title: Behind a role it may not assume
        aws: {{role_arn: "{denied}"}}
        metrics: [[AWS/EC2, NetworkOut, InstanceId, i-1]]
"""

SITE = """\
email:
  from: "Reports <reports@example.com>"
  transport: smtp
  smtp: {{host: 127.0.0.1, port: {port}, tls: none, user: {user}, password_env: {variable}}}
  attempts: 2
archive:
  url: archive
"""

# The run, with logging at DEBUG for every logger reportgen leaves alone, on its stderr.
DEBUG_RUN = """
import logging, sys
logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
from reportgen.cli import main
sys.exit(main(sys.argv[1:]))
"""


def forms(secret: str) -> set[str]:
    """A secret, and its base64 with and without padding."""
    encoded = b64(secret)
    return {secret, encoded, encoded.rstrip("=")}


class Secrets:
    def __init__(self) -> None:
        self.access_key = f"AKIA{secrets.token_hex(8).upper()}"
        self.secret_key = f"secret-{secrets.token_urlsafe(30)}"
        self.session_token = f"token-{secrets.token_urlsafe(120)}"
        self.password = f"smtp-{secrets.token_urlsafe(18)}"
        self.external_id = f"external-{secrets.token_hex(8)}"

    def environment(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_SESSION_TOKEN": self.session_token, PASSWORD_VARIABLE: self.password}

    def never_written(self) -> dict[str, str]:
        """Every form of every secret that must not appear, and what it is. (The access key id is no
        secret to AWS, whose error messages may quote it; it is checked on its own.)"""
        found = {form: name for name, secret in (("the AWS secret key", self.secret_key),
                                                 ("the AWS session token", self.session_token),
                                                 ("the role's external id", self.external_id),
                                                 ("the SMTP password", self.password))
                 for form in forms(secret)}
        for form in forms(f"\0{USER}\0{self.password}"):  # AUTH PLAIN's line
            found[form] = "the SMTP login (AUTH PLAIN)"
        return found


class RefuseFirstSession:
    """aiosmtpd authenticator: refuses every login of the first session (aiosmtplib tries each mechanism the
    server offers), quoting the password and the AUTH line as careless servers do; after that it accepts ``USER``
    with ``password``."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.refused: list[str] = []
        self._first: Session | None = None

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                 auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        user, tried = auth_data.login.decode(), auth_data.password.decode()
        self._first = self._first or session
        if session is self._first:
            self.refused.append(mechanism)
            sent = f"\0{user}\0{tried}" if mechanism == "PLAIN" else tried
            return AuthResult(success=False, handled=False,
                              message=f"535 5.7.8 Credentials {user}:{tried} (AUTH {mechanism} {b64(sent)}) refused")
        return AuthResult(success=(user, tried) == (USER, self.password))


class EchoingSink(MailSink):
    """Keeps each message in its folder, and answers DATA with the login (``password``) in the reply."""

    def __init__(self, *args: Any, password: str, **options: Any) -> None:
        super().__init__(*args, **options)
        self.password = password

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        return f"{reply} for {USER}:{self.password} ({b64(self.password)})"


class LoginSink(ThreadedSink):
    """``EchoingSink`` with a login and no TLS, served from a thread; messages kept in ``folder``."""

    def __init__(self, folder: Path, password: str) -> None:
        super().__init__()
        self.folder = folder
        self.authenticator = RefuseFirstSession(password)

    def start(self) -> LoginSink:
        self.folder.mkdir()
        self._sink = EchoingSink(self.folder, port=self.port, password=self.authenticator.password,
                                 authenticator=self.authenticator,
                                 auth_require_tls=False)
        self._sink.received = self.received
        self._call(self._sink.start())
        return self


def texts(path: Path) -> Iterator[str]:
    """What a file says, however it is encoded: its bytes, a PDF's text and metadata, a message's decoded parts."""
    data = path.read_bytes()
    yield data.decode("latin-1")
    if path.suffix == ".pdf":
        yield from pdf_texts(data)
    elif path.suffix == ".eml":
        message = email.message_from_bytes(data, policy=email.policy.default)
        for part in message.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                yield payload.decode("latin-1")
                if payload.startswith(b"%PDF"):
                    yield from pdf_texts(payload)


def pdf_texts(data: bytes) -> Iterator[str]:
    reader = PdfReader(io.BytesIO(data))
    yield repr(reader.metadata)
    for page in reader.pages:
        yield page.extract_text()


@pytest.mark.timeout(60)
def test_no_secret_appears_in_anything_a_debug_run_writes(make_standin: Any, tmp_path: Path) -> None:
    secret = Secrets()
    standin: BackgroundStandIn = make_standin(accounts={secret.access_key: ACCOUNT}, denied_roles=[DENIED_ROLE],
                                              required_external_ids={ROLE: secret.external_id})
    standin.add_fault("Throttling", count=2, match_title="Throttled")
    specs, out, mail = tmp_path / "specs", tmp_path / "out", tmp_path / "mail"
    specs.mkdir()
    for report, aws in (("with-role", f'{{role_arn: "{ROLE}", external_id: {secret.external_id}}}'),
                        ("with-keys", "{region: eu-central-1}")):
        (specs / f"{report}.yaml").write_text(SPEC.format(report=report, aws=aws, denied=DENIED_ROLE))
    with LoginSink(mail, secret.password) as sink:
        (specs / "reportgen.yaml").write_text(SITE.format(port=sink.port, user=USER, variable=PASSWORD_VARIABLE))
        run = subprocess.run([sys.executable, "-c", DEBUG_RUN, "run", str(specs), "--out", str(out), "--date", DAY,
                              "--endpoint-url", standin.endpoint_url, "--attempts", "4"],
                             env={**os.environ, **secret.environment()}, capture_output=True, timeout=60)

    stderr = run.stderr.decode()
    # It did meet what it was meant to: a refused login, a role it may not assume, throttling, DEBUG logging.
    assert run.returncode == EXIT_UNDELIVERED, stderr
    assert len(sink.authenticator.refused) >= 1 and len(sink.received) == 1, stderr
    assert "AccessDenied" in stderr and "535 5.7.8" in stderr and "DEBUG " in stderr, stderr
    assert " 2 throttled" in run.stdout.decode(), run.stdout
    manifests = "".join(path.read_text() for path in (specs / "archive").rglob("*.manifest.json"))
    assert "for reports:******** (********)" in manifests  # the server's echo reached reportgen, and was cleared
    written = {"stdout": run.stdout.decode("latin-1"), "stderr": stderr}
    files = [path for folder in (out, specs / "archive", mail) for path in sorted(folder.rglob("*")) if path.is_file()]
    assert {path.suffix for path in files} >= {".pdf", ".json", ".eml"}
    for path in files:
        for number, text in enumerate(texts(path)):
            written[f"{path.relative_to(tmp_path)} ({number})"] = text

    leaks = [f"{what} in {where}" for form, what in secret.never_written().items()
             for where, text in written.items() if form in text]
    assert not leaks
    # Not even the access key id, which is no secret but names the credentials.
    assert not [where for where, text in written.items() if secret.access_key in text]


@pytest.mark.parametrize("command", [["archive", "list", "--archive", "s3://reports/nightly"],
                                     ["import-dashboard", "prod-web-overview"]])
@pytest.mark.timeout(60)
def test_no_secret_appears_in_a_debug_log_of_the_other_commands_that_reach_aws(standin: BackgroundStandIn,
                                                                               command: list[str]) -> None:
    secret = Secrets()
    endpoint = ["--endpoint-url", standin.endpoint_url] if command[0] == "import-dashboard" else []
    finished = subprocess.run([sys.executable, "-c", DEBUG_RUN, *command, *endpoint],
                              env={**os.environ, **secret.environment(), "AWS_ENDPOINT_URL_S3": standin.endpoint_url},
                              capture_output=True, timeout=60)
    written = finished.stdout.decode("latin-1") + finished.stderr.decode("latin-1")
    assert "DEBUG " in written
    assert not [what for form, what in secret.never_written().items() if form in written]
