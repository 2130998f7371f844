"""The manifest: what reportgen made and delivered for one report and date, kept beside the PDF in the archive.

The archive is the record of delivery, so a rerun on another machine reads the same manifests: a report and
date whose mail was sent is not mailed again; one whose mail failed, or whose outcome is unknown because the
run died mid-send, is sent again. A mail is recorded as ``sending`` (with its Message-ID) before it goes out
and as ``sent`` or ``failed`` after, so a resend after a crash carries the same Message-ID and mail clients
can recognise it as the same message. Retention deletes an old PDF but never its manifest, which it marks
``pruned``: a date stays recorded as delivered for good.

No secret is ever written here: recipients and server replies, never passwords or keys.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import json
import types
import typing
from dataclasses import asdict, dataclass, field, replace
from typing import Any

MANIFEST_VERSION = 1

SENDING, SENT, FAILED = "sending", "sent", "failed"
_WIDGET_COUNTS = ("total", "failed", "retried")


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
    pruned: str | None = None       # ISO 8601 UTC: when retention deleted the PDF, keeping this record
    version: int = MANIFEST_VERSION

    @property
    def day(self) -> dt.date:
        return dt.date.fromisoformat(self.date)

    @property
    def made(self) -> bool:
        """Whether a PDF was made, whether or not the archive still keeps it."""
        return self.file is not None and self.sha256 is not None

    @property
    def archived(self) -> bool:
        """Whether the PDF is kept in the archive: not when the report has ``archive: false`` (the archive
        keeps only this record), nor once retention has pruned it."""
        return self.made and self.archive_url is not None and self.pruned is None

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
        """Read a manifest; ``ValueError`` naming the key if it is not one (broken JSON, another version, a key
        missing or of the wrong type). Keys it does not know are dropped: a newer reportgen may add some."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            raise ValueError(f"not a reportgen manifest of version {MANIFEST_VERSION}")
        manifest: Manifest = _typed(cls, data, "")
        for key in _WIDGET_COUNTS:  # what the archive and the nightly job count with
            if key in manifest.widgets:
                _typed(int, manifest.widgets[key], f"widgets.{key}")
        return manifest


# --- reading JSON into the typed records above --------------------------------------------------------------

_SCALARS: dict[Any, tuple[tuple[type, ...], str]] = {
    str: ((str,), "a string"), int: ((int,), "an integer"), float: ((int, float), "a number"),
    bool: ((bool,), "true or false"),
}


def _typed(hint: Any, value: Any, where: str, *, nullable: bool = False) -> Any:
    """``value`` from JSON as the type ``hint`` of the records above (lists become tuples, objects become
    records); ``ValueError`` naming the key at ``where`` when it is of another type."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is types.UnionType:  # X | None, the only unions of the records
        (inner,) = (arg for arg in args if arg is not type(None))
        return None if value is None else _typed(inner, value, where, nullable=True)
    if origin is tuple:  # tuple[X, ...]
        items = _expect(value, (list,), "a list", where, nullable)
        return tuple(_typed(args[0], item, f"{where}[{n}]") for n, item in enumerate(items))
    if origin is dict:  # dict[str, X]: JSON's keys are strings
        entries = _expect(value, (dict,), "an object", where, nullable)
        return {key: _typed(args[1], item, f"{where}.{key}") for key, item in entries.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _record(hint, _expect(value, (dict,), "an object", where, nullable), where)
    if hint is Any:
        return value
    return _expect(value, *_SCALARS[hint], where, nullable)


def _expect(value: Any, accepted: tuple[type, ...], described: str, where: str, nullable: bool) -> Any:
    # true and false are integers to Python, never to JSON
    if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
        shown = json.dumps(value, ensure_ascii=False)
        shown = shown if len(shown) <= 40 else shown[:40] + "…"
        raise ValueError(f"`{where}` must be {described}{' or null' if nullable else ''}, not {shown}")
    return value


def _record(cls: type[Any], data: dict[str, Any], where: str) -> Any:
    """The dataclass ``cls`` from the JSON object ``data``, dropping keys it does not know."""
    hints = typing.get_type_hints(cls)
    values = {}
    for known in dataclasses.fields(cls):
        key = f"{where}.{known.name}" if where else known.name
        if known.name in data:
            values[known.name] = _typed(hints[known.name], data[known.name], key)
        elif known.default is dataclasses.MISSING and known.default_factory is dataclasses.MISSING:
            raise ValueError(f"`{key}` is missing")
    return cls(**values)
