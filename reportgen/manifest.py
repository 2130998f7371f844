"""The manifest: what reportgen made and delivered for one report and date, kept beside the PDF in the archive.

The archive is the record of delivery, so a rerun on another machine reads the same manifests: a report and
date whose mail was sent is not mailed again; one whose mail failed, or whose outcome is unknown because the
run died mid-send, is sent again. A mail is recorded as ``sending`` (with its Message-ID) before it goes out
and as ``sent`` or ``failed`` after, so a resend after a crash carries the same Message-ID and mail clients
can recognise it as the same message.

No secret is ever written here: recipients and server replies, never passwords or keys.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

MANIFEST_VERSION = 1

SENDING, SENT, FAILED = "sending", "sent", "failed"
_ADDRESS_LISTS = ("to", "cc", "bcc", "refused")  # tuples in a record, lists in JSON


@dataclass(frozen=True)
class MailRecord:
    """One message of a report: to whom, through what, and what the server said."""

    message_id: str
    transport: str                  # smtp | ses | local
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    status: str = SENDING           # sending | sent | failed
    reply: str | None = None        # the server's answer (SMTP reply, SES MessageId)
    error: str | None = None        # why it failed
    time: str | None = None         # ISO 8601 UTC, when the status was last set
    attached: bool = True           # False: the PDF was linked, not attached (too large)
    attempts: int = 0
    resend: bool = False            # sent again on purpose (--resend)
    pdf_sha256: str | None = None   # the PDF this message carried or linked, which a later rerun may replace
    refused: tuple[str, ...] = ()   # recipients the server turned away while it took the message for the rest


@dataclass(frozen=True)
class Manifest:
    report: str
    date: str                       # the report date, YYYY-MM-DD
    title: str
    period: dict[str, str]          # start, end (ISO 8601 with offset), timezone
    file: str | None                # the PDF's name; None when no PDF could be made
    bytes: int = 0
    sha256: str | None = None
    widgets: dict[str, Any] = field(default_factory=dict)  # total, failed, retried, failures: [{title, error}]
    throttled: int = 0
    emails: tuple[MailRecord, ...] = ()
    archive_url: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    generated_at: str | None = None
    reportgen_version: str = ""
    error: str | None = None        # why no PDF was made, when file is None
    version: int = MANIFEST_VERSION

    @property
    def day(self) -> dt.date:
        return dt.date.fromisoformat(self.date)

    @property
    def archived(self) -> bool:
        """Whether the PDF is kept in the archive (a report with ``archive: false`` keeps only this record)."""
        return self.file is not None and self.sha256 is not None and self.archive_url is not None

    @property
    def mailed(self) -> bool:
        """Whether the latest message of this report and date reached the mail server."""
        return bool(self.emails) and self.emails[-1].status == SENT

    def with_mail(self, record: MailRecord) -> Manifest:
        """This manifest with ``record`` replacing the record of the same Message-ID, or added."""
        kept = tuple(r for r in self.emails if r.message_id != record.message_id)
        return replace(self, emails=kept + (record,))

    def to_json(self) -> builtins.bytes:
        data = asdict(self)
        return (json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode()

    @classmethod
    def from_json(cls, text: builtins.bytes | str) -> Manifest:
        """Read a manifest; ``ValueError`` if it is not one (broken JSON, missing keys, another version)."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            raise ValueError(f"not a reportgen manifest of version {MANIFEST_VERSION}")
        try:
            emails = tuple(MailRecord(**{**mail, **{key: tuple(mail.get(key, ())) for key in _ADDRESS_LISTS}})
                           for mail in data.pop("emails", []))
            return cls(**data, emails=emails)
        except (TypeError, KeyError) as exc:
            raise ValueError(f"a manifest key is missing or unknown: {exc}") from None
