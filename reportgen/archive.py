"""The archive: every report PDF with its manifest, in a local folder or in S3, and a snapshot of each month.

Layout, the same in both stores (``<report>`` is the report id, the month folder is the report date's)::

    <report>/<YYYY>/<MM>/<report>-<YYYY-MM-DD>.pdf
    <report>/<YYYY>/<MM>/<report>-<YYYY-MM-DD>.manifest.json
    <report>/<YYYY>/<MM>/snapshot/<report>-<YYYY-MM-DD>.pdf            the month's last report, kept for good
    <report>/<YYYY>/<MM>/snapshot/<report>-<YYYY-MM>.snapshot.json     what the month held, file by file

Daily PDFs are pruned after ``keep_daily_days``, but only in a month whose snapshot is written; their
manifests stay, marked ``pruned``, as the record of what was made and delivered, and snapshots are never
pruned. Only files whose keys match this layout exactly are ever deleted, so anything else kept in the
archive's folder or bucket is left alone.

The layout lives in ``Archive`` alone; a store (``LocalStore``, ``S3Store``) only moves bytes under keys.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import mimetypes
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import BotoCoreError, ClientError

from reportgen.errors import ReportgenError
from reportgen.files import write_atomic
from reportgen.manifest import FAILED, SENT, MailRecord, Manifest
from reportgen.model import REPORT_ID, ArchiveSettings

_SHA256 = re.compile(r"[0-9a-f]{64}")
S3_SCHEME = "s3://"
LINK_SECONDS = 7 * 24 * 3600  # the longest a SigV4 presigned URL can live
SNAPSHOT_VERSION = 1
_IN_FLIGHT = 8  # requests at once: fewer than botocore's default pool of 10 connections


class ArchiveError(ReportgenError):
    """The archive could not be read or written, or holds something other than its records say.

    Prints as ``LOCATION: message``, where the location is a file path or ``s3://bucket/key``;
    ``code`` is the S3 error code (``NoSuchBucket``, ``AccessDenied``…) when S3 gave one.
    """

    def __init__(self, message: str, *, location: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.code = code

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


# --- stores: bytes under '/'-separated keys ---------------------------------------------------------------


class ArchiveStore(Protocol):
    """Where the archive's bytes live. Keys are '/'-separated paths relative to the archive's root."""

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing what was there: whole or not at all."""

    async def get(self, key: str) -> bytes | None:
        """The bytes under ``key``; None when there are none."""

    async def keys(self, prefix: str = "") -> list[str]:
        """Every key that starts with ``prefix``, sorted."""

    async def delete(self, key: str) -> None:
        """Remove ``key``; a key that is already absent is fine."""

    def location(self, key: str) -> str:
        """Where ``key`` is, for people: a file path or ``s3://bucket/prefix/key``."""

    async def link(self, key: str) -> str:
        """What a mail can point a reader to: the file path, or a presigned URL valid for 7 days."""


def _is_path(text: str) -> bool:
    """Whether ``text`` is names separated by '/', none of them empty, '.' or '..', with no backslash or NUL."""
    return bool(text) and "\\" not in text and "\0" not in text and not {"", ".", ".."} & set(text.split("/"))


def _check_key(key: str) -> str:
    # Keys come from report ids and file names; none may climb out of the archive's root.
    if not _is_path(key):
        raise ValueError(f"not an archive key: {key!r}")
    return key


def check_s3_prefix(prefix: str) -> None:
    """Accept the prefix of an ``s3://bucket/prefix`` archive URL: empty, or names separated by '/' with at
    most a trailing '/'; ``ValueError`` saying why for any other (an empty, '.' or '..' name, a backslash)."""
    # S3 takes such keys literally, but URL paths, other tools and S3-compatible stores resolve them.
    if prefix and not _is_path(prefix.removesuffix("/")):
        raise ValueError(f"not an S3 prefix: {prefix!r} (names separated by '/', none empty, '.' or '..', "
                         "and no backslash)")


def _check_prefix(prefix: str) -> str:
    # A prefix is the beginning of a key: fine when some key could start with it.
    if prefix:
        _check_key(prefix + "_")
    return prefix


class LocalStore:
    """The archive in a folder, created on the first write. Files are written atomically (temp file +
    rename); hidden files, the temporary ones among them, are not keys."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*_check_key(key).split("/"))

    def location(self, key: str) -> str:
        return str(self._path(key))

    async def link(self, key: str) -> str:
        return self.location(key)

    async def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        with _os_errors("write", path):
            await asyncio.to_thread(write_atomic, path, data)

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        with _os_errors("read", path):
            try:
                return await asyncio.to_thread(path.read_bytes)
            except FileNotFoundError:
                return None

    async def keys(self, prefix: str = "") -> list[str]:
        with _os_errors("list", self.root):
            return await asyncio.to_thread(self._keys, _check_prefix(prefix))

    def _keys(self, prefix: str) -> list[str]:
        found = []
        # Walk only the folder the prefix is in, not the whole archive.
        for folder, dirs, names in os.walk(self.root.joinpath(*prefix.split("/")[:-1]), onerror=_raise_unless_gone):
            dirs[:] = [name for name in dirs if not name.startswith(".")]
            for name in names:
                if name.startswith("."):  # atomic_output's temporary files are hidden
                    continue
                key = Path(folder, name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(key)
        return sorted(found)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with _os_errors("delete", path):
            await asyncio.to_thread(path.unlink, missing_ok=True)


def _raise_unless_gone(exc: OSError) -> None:
    # os.walk skips unreadable folders silently; a folder not made yet (or just removed) is simply empty.
    if not isinstance(exc, FileNotFoundError):
        raise exc


@contextmanager
def _os_errors(action: str, path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise ArchiveError(f"cannot {action}: {exc.strerror or exc}", location=str(path)) from exc


class S3Store:
    """The archive in an S3 bucket, under ``prefix``, through one aiobotocore S3 client.

    Each object is sent with its SHA-256 as ``ChecksumSHA256`` (S3 refuses a body that does not match it)
    and as ``sha256`` metadata in hex, which is how manifests and ``sha256sum`` write it. S3 returns the
    checksum with the object, and botocore checks the body against it as it reads.
    """

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        check_s3_prefix(prefix)
        self._client = client
        self.bucket = bucket
        self.prefix = prefix.removesuffix("/")

    def __repr__(self) -> str:
        return f"S3Store({self.location('')!r})"

    def _object(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._object(key)}"

    async def put(self, key: str, data: bytes) -> None:
        where = self.location(_check_key(key))
        digest = hashlib.sha256(data)
        checksum = base64.b64encode(digest.digest()).decode()
        with _s3_errors("write", where):
            response = await self._client.put_object(
                Bucket=self.bucket, Key=self._object(key), Body=data,
                ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum, Metadata={"sha256": digest.hexdigest()},
                ContentType=mimetypes.guess_type(key)[0] or "application/octet-stream")
        stored = response.get("ChecksumSHA256")
        if stored is not None and stored != checksum:
            raise ArchiveError(f"S3 stored a different checksum (sent SHA-256 {checksum}, S3 has {stored})",
                               location=where)

    async def get(self, key: str) -> bytes | None:
        with _s3_errors("read", self.location(_check_key(key))):
            try:
                response = await self._client.get_object(Bucket=self.bucket, Key=self._object(key))
            except ClientError as exc:
                if _s3_code(exc) == "NoSuchKey":
                    return None
                raise
            async with response["Body"] as body:
                return bytes(await body.read())

    async def keys(self, prefix: str = "") -> list[str]:
        start = self._object(_check_prefix(prefix))
        skip = len(self._object(""))
        found: list[str] = []
        with _s3_errors("list", f"s3://{self.bucket}/{start}"):
            async for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                                       Prefix=start):
                found.extend(item["Key"][skip:] for item in page.get("Contents", ()))
        return sorted(found)

    async def delete(self, key: str) -> None:
        with _s3_errors("delete", self.location(_check_key(key))):
            await self._client.delete_object(Bucket=self.bucket, Key=self._object(key))

    async def link(self, key: str) -> str:
        with _s3_errors("sign a link", self.location(_check_key(key))):
            url: str = await self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self._object(key)}, ExpiresIn=LINK_SECONDS)
        return url


def _s3_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code") or "Unknown")


@contextmanager
def _s3_errors(action: str, where: str) -> Iterator[None]:
    """Turn botocore's errors into an ``ArchiveError`` naming the action and the s3:// location (the only
    place that does): ``cannot write: NoSuchBucket: The specified bucket does not exist``."""
    try:
        yield
    except ClientError as exc:
        code = _s3_code(exc)
        reason = exc.response.get("Error", {}).get("Message") or exc
        raise ArchiveError(f"cannot {action}: {code}: {reason}", location=where, code=code) from exc
    except BotoCoreError as exc:
        raise ArchiveError(f"cannot {action}: {exc}", location=where) from exc


@asynccontextmanager
async def open_archive(settings: ArchiveSettings) -> AsyncIterator[Archive]:
    """The archive at ``settings.url``: a folder (created on the first write), or ``s3://bucket[/prefix]``.

    S3 is reached with ``settings.profile`` and ``settings.region`` through botocore's usual chain, which
    also takes the endpoint from ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` (an S3-compatible store).
    """
    if not settings.url.startswith(S3_SCHEME):
        yield Archive(LocalStore(Path(settings.url)))
        return
    bucket, _, prefix = settings.url.removeprefix(S3_SCHEME).partition("/")
    if not bucket:
        raise ValueError(f"no bucket in the archive URL {settings.url!r}")
    check_s3_prefix(prefix)  # before a client is made for nothing
    async with AsyncExitStack() as stack:
        with _s3_errors("open an S3 client", settings.url):
            # botocore presigns S3 URLs with the retired signature version 2 unless told otherwise.
            client = await stack.enter_async_context(AioSession(profile=settings.profile).create_client(
                "s3", region_name=settings.region, config=AioConfig(signature_version="s3v4")))
        yield Archive(S3Store(client, bucket, prefix))


# --- the layout ---------------------------------------------------------------------------------------------

PDF, MANIFEST, SNAPSHOT_PDF, SNAPSHOT = "pdf", "manifest", "snapshot-pdf", "snapshot"
_DAILY = (PDF, MANIFEST)


def _month_dir(report: str, year: int, month: int) -> str:
    return f"{report}/{year:04d}/{month:02d}/"


def _daily_key(report: str, day: date, kind: str) -> str:
    suffix = ".pdf" if kind == PDF else ".manifest.json"
    return f"{_month_dir(report, day.year, day.month)}{report}-{day.isoformat()}{suffix}"


def _snapshot_pdf_key(report: str, day: date) -> str:
    return f"{_month_dir(report, day.year, day.month)}snapshot/{report}-{day.isoformat()}.pdf"


def _snapshot_key(report: str, year: int, month: int) -> str:
    return f"{_month_dir(report, year, month)}snapshot/{report}-{year:04d}-{month:02d}.snapshot.json"


@dataclass(frozen=True)
class _Key:
    """A key that is an archive file of the layout, exactly."""

    key: str
    report: str
    kind: str   # pdf | manifest | snapshot-pdf | snapshot
    day: date   # the report date; the first of the month for a snapshot document

    @property
    def month(self) -> tuple[int, int]:
        return self.day.year, self.day.month

    @property
    def name(self) -> str:
        return self.key.rpartition("/")[2]

    def beside(self, kind: str) -> _Key:
        """The daily file of ``kind`` (PDF or manifest) of this one's report and date."""
        return _Key(_daily_key(self.report, self.day, kind), self.report, kind, self.day)


_DATED = re.compile(r".*-(\d{4}-\d{2}-\d{2})(?:\.pdf|\.manifest\.json)")
_MONTHLY = re.compile(r".*-(\d{4})-(\d{2})\.snapshot\.json")


def _parse(key: str) -> _Key | None:
    """What ``key`` is in the layout, or None when it is not one of the archive's files.

    The key is rebuilt from what it seems to name and must come out identical, so the layout is written
    down once (in the ``_*_key`` functions) and a look-alike (wrong month folder, other report) never passes.
    """
    report = key.partition("/")[0]
    if not REPORT_ID.fullmatch(report):
        return None
    if dated := _DATED.fullmatch(key):
        try:
            day = date.fromisoformat(dated[1])
        except ValueError:
            return None
        kinds = {_daily_key(report, day, PDF): PDF, _daily_key(report, day, MANIFEST): MANIFEST,
                 _snapshot_pdf_key(report, day): SNAPSHOT_PDF}
        return _Key(key, report, kinds[key], day) if key in kinds else None
    if monthly := _MONTHLY.fullmatch(key):
        year, month = int(monthly[1]), int(monthly[2])
        if 1 <= year and 1 <= month <= 12 and key == _snapshot_key(report, year, month):
            return _Key(key, report, SNAPSHOT, date(year, month, 1))
    return None


def _checked_report(report: str) -> str:
    if not REPORT_ID.fullmatch(report):
        raise ValueError(f"not a report id: {report!r} (lowercase letters, digits and '-', at most 64)")
    return report


def _checked_day(day: date) -> date:
    if isinstance(day, datetime):  # a datetime is a date too, but would name files by its time
        raise ValueError(f"not a report date: {day!r}")
    return day


def _manifest_day(manifest: Manifest) -> date:
    try:
        day = date.fromisoformat(manifest.date)
    except (TypeError, ValueError):
        day = None
    if day is None or day.isoformat() != manifest.date:
        raise ValueError(f"not a report date: {manifest.date!r} (manifest of {manifest.report!r})")
    return day


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _mismatch(record: str, expected: str | None, actual: str) -> str:
    return f"sha256 mismatch ({record} {(expected or '')[:12]}…, file {actual[:12]}…)"


# --- the snapshot document ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mail:
    """One message of a report, as a snapshot keeps it: to whom, its Message-ID, and how it went."""

    message_id: str
    status: str
    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    error: str | None = None

    @classmethod
    def of(cls, record: MailRecord) -> _Mail:
        return cls(record.message_id, record.status, record.to, record.cc, record.bcc, record.error)


@dataclass(frozen=True)
class _Listed:
    """A daily file as the snapshot lists it; ``date``, ``emails`` and ``widgets_failed`` for PDFs only."""

    name: str
    bytes: int
    sha256: str
    date: str | None = None
    emails: tuple[_Mail, ...] | None = None  # None: no readable manifest beside the PDF
    widgets_failed: int | None = None


@dataclass(frozen=True)
class _Snapshot:
    report: str
    month: str                  # YYYY-MM
    made_at: str                # ISO 8601 UTC
    kept: str                   # the name of the daily PDF whose copy is in snapshot/
    files: tuple[_Listed, ...]  # by name; files pruned since are still listed
    version: int = SNAPSHOT_VERSION

    def to_json(self) -> bytes:
        data = {**asdict(self), "files": [{k: v for k, v in asdict(f).items() if v is not None} for f in self.files]}
        return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_json(cls, text: bytes) -> _Snapshot:
        """Read a snapshot document; ``ValueError`` if it is not one."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("version") != SNAPSHOT_VERSION:
                raise ValueError(f"not a reportgen snapshot of version {SNAPSHOT_VERSION}")
            files = tuple(_Listed(**{**entry, "emails": _mails(entry.get("emails"))}) for entry in data.pop("files"))
            return cls(**data, files=files)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
        except (TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"a snapshot key is missing or unknown: {exc}") from None

    def listed(self, name: str) -> _Listed | None:
        return next((f for f in self.files if f.name == name), None)

    @property
    def kept_day(self) -> date:
        """The date of the kept copy (``Archive._load_snapshot`` checks that the document lists it)."""
        kept = self.listed(self.kept)
        assert kept is not None and kept.date is not None
        return date.fromisoformat(kept.date)


def _mails(raw: Any) -> tuple[_Mail, ...] | None:
    if raw is None:
        return None
    return tuple(_Mail(**{**m, "to": tuple(m["to"]), "cc": tuple(m.get("cc", ())), "bcc": tuple(m.get("bcc", ()))})
                 for m in raw)


def _mail_summary(emails: tuple[_Mail, ...] | None) -> str:
    if emails is None:
        return "unknown (no readable manifest)"
    if not emails:
        return "not mailed"
    last = emails[-1]
    if last.status == SENT:
        return f"sent to {len(set(last.to + last.cc + last.bcc))}"
    if last.status == FAILED:
        return f"failed: {last.error or 'no reason recorded'}"
    return "sending, outcome unknown"


def _widgets_failed(manifest: Manifest) -> int:
    failed: int = manifest.widgets.get("failed", 0)  # Manifest.from_json checks that it is an int
    return failed


@dataclass(frozen=True)
class ArchiveEntry:
    """One report of the archive, as ``reportgen archive list`` shows it."""

    report: str
    date: date
    location: str | None  # None: the run made no PDF, or retention pruned it
    bytes: int
    sha256: str | None
    mail: str             # "sent to 3", "failed: …", "not mailed"
    widgets_failed: int
    snapshot: bool = False  # a month's kept copy, not a daily
    pruned: str | None = None  # ISO 8601 UTC: when retention deleted the daily PDF


# --- the archive ------------------------------------------------------------------------------------------


class Archive:
    """Reports and their manifests laid out over a store, with monthly snapshots and retention."""

    def __init__(self, store: ArchiveStore) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"Archive({self.store!r})"

    def pdf_key(self, report: str, day: date) -> str:
        return _daily_key(_checked_report(report), _checked_day(day), PDF)

    def manifest_key(self, report: str, day: date) -> str:
        return _daily_key(_checked_report(report), _checked_day(day), MANIFEST)

    def location(self, report: str, day: date) -> str:
        """Where the PDF of ``report`` and ``day`` is, for people."""
        return self.store.location(self.pdf_key(report, day))

    async def link(self, report: str, day: date) -> str:
        """What a mail can link to instead of attaching the PDF: a path, or a URL valid for 7 days."""
        return await self.store.link(self.pdf_key(report, day))

    async def read_manifest(self, report: str, day: date) -> Manifest | None:
        """The manifest of ``report`` and ``day``; None if there is none, ``ArchiveError`` if it is unreadable."""
        key = self.manifest_key(report, day)
        data = await self.store.get(key)
        return None if data is None else self._load_manifest(_Key(key, report, MANIFEST, day), data)

    async def write_pdf(self, report: str, day: date, pdf: bytes) -> str:
        """Store the PDF of ``report`` and ``day``, replacing one there; returns its location."""
        key = self.pdf_key(report, day)
        await self.store.put(key, pdf)
        return self.store.location(key)

    async def write_manifest(self, manifest: Manifest) -> None:
        """Store ``manifest`` beside its PDF, replacing the one there, whole or not at all."""
        await self.store.put(self.manifest_key(manifest.report, _manifest_day(manifest)), manifest.to_json())

    async def read_pdf(self, manifest: Manifest) -> bytes:
        """The archived PDF that ``manifest`` records; ``ArchiveError`` if it is missing or differs from it."""
        key = self.pdf_key(manifest.report, _manifest_day(manifest))
        where = self.store.location(key)
        if manifest.pruned is not None:
            raise ArchiveError(f"pruned by retention at {manifest.pruned}", location=where)
        if not manifest.archived:
            raise ArchiveError(f"the manifest records no PDF ({manifest.error or 'no reason given'})", location=where)
        data = await self.store.get(key)
        if data is None:
            raise ArchiveError("missing, though its manifest records it", location=where)
        if (actual := _sha256(data)) != manifest.sha256:
            raise ArchiveError(_mismatch("manifest", manifest.sha256, actual), location=where)
        return data

    async def has_history(self, report: str) -> bool:
        """Whether the archive holds any daily manifest of ``report``."""
        return await self.first_day(report) is not None

    async def first_day(self, report: str) -> date | None:
        """The earliest date the archive holds a daily manifest of ``report`` for, or None. Retention keeps
        every manifest, so this is the first date the report ran for: a missed night can only come after it."""
        days = [k.day for k in await self._files(f"{_checked_report(report)}/") if k.kind == MANIFEST]
        return min(days, default=None)

    async def _files(self, prefix: str) -> list[_Key]:
        return [parsed for key in await self.store.keys(prefix) if (parsed := _parse(key)) is not None]

    async def _read(self, files: list[_Key], keep: Callable[[_Key], bool]) -> dict[str, _Read]:
        """Size and sha256 of each of ``files`` that exists, by key, with the bytes of those ``keep`` picks;
        a few are read at once, and only the picked ones are held in memory."""
        async def read(key: _Key) -> _Read | None:
            data = await self.store.get(key.key)
            return None if data is None else _Read(len(data), _sha256(data), data if keep(key) else None)

        results = await _a_few_at_once(read(k) for k in files)
        return {k.key: result for k, result in zip(files, results) if result is not None}

    def _load_manifest(self, key: _Key, data: bytes) -> Manifest:
        try:
            manifest = Manifest.from_json(data)
        except ValueError as exc:
            raise ArchiveError(f"unreadable manifest: {exc}", location=self.store.location(key.key)) from None
        if (manifest.report, manifest.date) != (key.report, key.day.isoformat()):
            raise ArchiveError(f"holds the manifest of {manifest.report} {manifest.date}",
                               location=self.store.location(key.key))
        return manifest

    def _load_snapshot(self, key: _Key, data: bytes) -> _Snapshot:
        folder = _month_dir(key.report, *key.month)
        try:
            snapshot = _Snapshot.from_json(data)
            if (snapshot.report, snapshot.month) != (key.report, f"{key.day:%Y-%m}"):
                raise ValueError(f"it is the snapshot of {snapshot.report} {snapshot.month}")
            for entry in snapshot.files:  # names become keys: each must be a daily file of this month
                listed = _parse(f"{folder}{entry.name}")
                if listed is None or listed.kind not in _DAILY:
                    raise ValueError(f"it lists {entry.name!r}, not a daily file of this month")
                if entry.date != (listed.day.isoformat() if listed.kind == PDF else None):
                    raise ValueError(f"it gives {entry.name} the date {entry.date}")
                if not _SHA256.fullmatch(str(entry.sha256)):
                    raise ValueError(f"it gives {entry.name} the sha256 {entry.sha256!r}")
            if (kept := snapshot.listed(snapshot.kept)) is None or kept.date is None:
                raise ValueError(f"it keeps {snapshot.kept!r}, which it does not list as a PDF")
        except ValueError as exc:
            raise ArchiveError(f"unreadable snapshot: {exc}", location=self.store.location(key.key)) from None
        return snapshot

    async def snapshot_month(self, report: str, year: int, month: int, *, now: datetime) -> bool:
        """Make or rebuild the snapshot of ``report``'s month: a copy of its last PDF and a document listing
        every daily file (name, bytes, sha256; for PDFs the date and how each mail went).

        Returns False, writing nothing, when the month has no PDF or its snapshot already lists exactly
        its current files. Files pruned since the last snapshot stay listed as they were; a month whose last
        PDF was pruned keeps its snapshot copy.
        """
        first = date(year, month, 1)
        made_at = _utc(now)
        files = [k for k in await self._files(_month_dir(_checked_report(report), year, month)) if k.kind in _DAILY]
        if not (pdfs := [k for k in files if k.kind == PDF]):
            return False
        latest = max(pdfs, key=lambda k: k.day)
        reads = await self._read([k for k in files if k.kind == MANIFEST], keep=lambda k: True)
        # A PDF's size and hash come from its manifest where that records them, so a month is not read (or
        # downloaded from S3) again every night only to find its snapshot up to date; verify() compares them.
        for pdf in pdfs:
            if (recorded := self._recorded(pdf, reads)) is not None:
                reads[pdf.key] = recorded
        reads.update(await self._read([k for k in pdfs if k.key not in reads], keep=lambda k: k == latest))
        if latest.key not in reads:
            raise ArchiveError("vanished while its month's snapshot was being made",
                               location=self.store.location(latest.key))
        doc = _Key(_snapshot_key(report, year, month), report, SNAPSHOT, first)
        old_data = await self.store.get(doc.key)
        old = None if old_data is None else self._load_snapshot(doc, old_data)
        listed = {f.name: f for f in old.files} if old else {}
        listed.update((k.name, self._listed(k, reads)) for k in files if k.key in reads)
        # The month's last PDF may have been pruned since the old snapshot kept its copy.
        kept = old.kept if old is not None and old.kept_day > latest.day else latest.name
        snapshot = _Snapshot(report, f"{first:%Y-%m}", made_at, kept, tuple(listed[n] for n in sorted(listed)))
        if old is not None and replace(old, made_at=made_at) == snapshot:
            return False
        if kept == latest.name:
            copy = reads[latest.key].data or await self.store.get(latest.key)
            if copy is None:
                raise ArchiveError("vanished while its month's snapshot was being made",
                                   location=self.store.location(latest.key))
            await self.store.put(_snapshot_pdf_key(report, latest.day), copy)
        await self.store.put(doc.key, snapshot.to_json())
        if old is not None and old.kept != kept:  # the copy of a report that is no longer the month's last
            await self.store.delete(_snapshot_pdf_key(report, old.kept_day))
        return True

    def _recorded(self, pdf: _Key, reads: dict[str, _Read]) -> _Read | None:
        """A PDF's size and sha256 as its manifest (among ``reads``) records them, or None."""
        beside = reads.get(pdf.beside(MANIFEST).key)
        if beside is None or beside.data is None:
            return None
        try:
            manifest = Manifest.from_json(beside.data)
        except ValueError:
            return None
        if manifest.file != pdf.name or manifest.sha256 is None or not manifest.bytes:
            return None
        return _Read(manifest.bytes, manifest.sha256, None)

    def _listed(self, key: _Key, reads: dict[str, _Read]) -> _Listed:
        read = reads[key.key]
        entry = _Listed(key.name, read.size, read.sha256)
        if key.kind != PDF:
            return entry
        manifest_key = key.beside(MANIFEST)
        beside = reads.get(manifest_key.key)
        try:
            manifest = self._load_manifest(manifest_key, beside.data) if beside and beside.data else None
        except ArchiveError:  # verify() reports it; the snapshot records the PDF all the same
            manifest = None
        if manifest is None:
            return replace(entry, date=key.day.isoformat())
        return replace(entry, date=key.day.isoformat(), emails=tuple(_Mail.of(r) for r in manifest.emails),
                       widgets_failed=_widgets_failed(manifest))

    async def snapshot_closed_months(self, report: str, today: date, *, now: datetime) -> list[str]:
        """Snapshot every month of ``report`` before ``today``'s that has daily files; returns the locations
        of the snapshot documents written (none when every snapshot is up to date)."""
        months = sorted({k.month for k in await self._files(f"{_checked_report(report)}/")
                         if k.kind in _DAILY and k.month < (today.year, today.month)})
        return [self.store.location(_snapshot_key(report, year, month)) for year, month in months
                if await self.snapshot_month(report, year, month, now=now)]

    async def prune(self, report: str, today: date, keep_daily_days: int, *, now: datetime) -> list[str]:
        """Snapshot closed months, then delete the daily PDF of every date before ``today - keep_daily_days``
        in a month before ``today``'s whose snapshot exists; returns the keys deleted.

        Each such PDF's manifest stays, the record of what was made and mailed, rewritten with ``pruned`` set
        to ``now``, and its month's snapshot is rebuilt to list it so, all before any PDF goes: a prune cut
        short is finished by the next one. Nothing else is touched: not snapshots, not files outside the
        layout. A manifest of such a PDF that cannot be read is an ``ArchiveError`` before anything changes.
        """
        if keep_daily_days < 0:
            raise ValueError(f"keep_daily_days must not be negative, not {keep_daily_days}")
        pruned_at = _utc(now)
        await self.snapshot_closed_months(report, today, now=now)
        cutoff = today - timedelta(days=keep_daily_days)
        files = await self._files(f"{_checked_report(report)}/")
        snapshotted = {k.month for k in files if k.kind == SNAPSHOT}
        doomed = sorted((k for k in files if k.kind == PDF and k.day < cutoff and k.month in snapshotted
                         and k.month < (today.year, today.month)), key=lambda k: k.day)
        manifests = [k.beside(MANIFEST) for k in doomed]
        reads = await self._read(manifests, keep=lambda k: True)
        records = [self._load_manifest(k, reads[k.key].data or b"") for k in manifests if k.key in reads]
        # A PDF without a manifest has no record to keep; one marked pruned is left by a prune cut short.
        await _a_few_at_once(self.write_manifest(replace(manifest, pruned=pruned_at))
                             for manifest in records if manifest.pruned is None)
        for year, month in sorted({k.month for k in doomed}):
            await self.snapshot_month(report, year, month, now=now)
        await _a_few_at_once(self.store.delete(k.key) for k in doomed)
        return [k.key for k in doomed]

    async def entries(self, report: str | None = None) -> list[ArchiveEntry]:
        """Every report date of the archive (or of ``report``) with a manifest, and every month's kept copy,
        by report and date; ``ArchiveError`` names the first manifest that cannot be read."""
        records = [k for k in await self._files(f"{_checked_report(report)}/" if report is not None else "")
                   if k.kind in (MANIFEST, SNAPSHOT)]
        reads = await self._read(records, keep=lambda k: True)
        found = []
        for k in records:
            if (data := reads[k.key].data if k.key in reads else None) is None:
                continue
            if k.kind == MANIFEST:
                manifest = self._load_manifest(k, data)
                location = self.store.location(k.beside(PDF).key) if manifest.archived else None
                found.append(ArchiveEntry(k.report, k.day, location, manifest.bytes, manifest.sha256,
                                          _mail_summary(tuple(_Mail.of(r) for r in manifest.emails)),
                                          _widgets_failed(manifest), pruned=manifest.pruned))
            else:
                snapshot = self._load_snapshot(k, data)
                kept = snapshot.listed(snapshot.kept)
                assert kept is not None  # checked by _load_snapshot
                day = snapshot.kept_day
                found.append(ArchiveEntry(k.report, day, self.store.location(_snapshot_pdf_key(k.report, day)),
                                          kept.bytes, kept.sha256, _mail_summary(kept.emails),
                                          kept.widgets_failed or 0, snapshot=True))
        return sorted(found, key=lambda e: (e.report, e.date, e.snapshot))

    async def verify(self) -> list[str]:
        """Check every file of the archive against its records; one line per problem, none when all is well.

        A manifest whose PDF is missing or differs (unless it is marked pruned), a PDF without a manifest, an
        unreadable manifest or snapshot, and a snapshot whose kept copy or still-present dailies differ from
        what it lists.
        """
        files = await self._files("")
        reads = await self._read(files, keep=lambda k: k.kind in (MANIFEST, SNAPSHOT))
        problems: list[str] = []
        for k in files:
            if k.key not in reads:  # gone since it was listed
                continue
            if k.kind == PDF and k.beside(MANIFEST).key not in reads:
                problems.append(f"{k.key}: no manifest")
            elif k.kind == MANIFEST:
                problems += self._check_daily(k, reads)
            elif k.kind == SNAPSHOT:
                problems += self._check_snapshot(k, reads)
        return problems

    def _check_daily(self, key: _Key, reads: dict[str, _Read]) -> list[str]:
        try:
            manifest = self._load_manifest(key, reads[key.key].data or b"")
        except ArchiveError as exc:
            return [f"{key.key}: {exc.message}"]
        pdf = key.beside(PDF).key
        if manifest.pruned is not None:  # its PDF is gone, or left by a prune cut short for the next to delete
            return []
        if not manifest.archived:
            return [f"{pdf}: the manifest records no PDF"] if pdf in reads else []
        if pdf not in reads:
            return [f"{pdf}: missing (manifest records sha256 {(manifest.sha256 or '')[:12]}…)"]
        actual = reads[pdf].sha256
        return [f"{pdf}: {_mismatch('manifest', manifest.sha256, actual)}"] if actual != manifest.sha256 else []

    def _check_snapshot(self, key: _Key, reads: dict[str, _Read]) -> list[str]:
        try:
            snapshot = self._load_snapshot(key, reads[key.key].data or b"")
        except ArchiveError as exc:
            return [f"{key.key}: {exc.message}"]
        problems = []
        kept = snapshot.listed(snapshot.kept)
        assert kept is not None  # checked by _load_snapshot
        copy = _snapshot_pdf_key(key.report, snapshot.kept_day)
        if copy not in reads:
            problems.append(f"{copy}: missing (snapshot records sha256 {kept.sha256[:12]}…)")
        elif (actual := reads[copy].sha256) != kept.sha256:
            problems.append(f"{copy}: {_mismatch('snapshot', kept.sha256, actual)}")
        folder = _month_dir(key.report, *key.month)
        for entry in snapshot.files:  # a listed daily that is gone was pruned; one still here must match
            daily = reads.get(folder + entry.name)
            if daily is not None and daily.sha256 != entry.sha256:
                problems.append(f"{folder}{entry.name}: {_mismatch('snapshot', entry.sha256, daily.sha256)}")
        return problems


_T = TypeVar("_T")


async def _a_few_at_once(calls: Iterable[Awaitable[_T]]) -> list[_T]:
    """The results of ``calls``, in order, with at most ``_IN_FLIGHT`` running at once. Every call has ended
    before the first failure is raised, so none is left running behind it."""
    limit = asyncio.Semaphore(_IN_FLIGHT)

    async def one(call: Awaitable[_T]) -> _T:
        async with limit:
            return await call

    results = await asyncio.gather(*(one(call) for call in calls), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [result for result in results if not isinstance(result, BaseException)]


@dataclass(frozen=True)
class _Read:
    size: int
    sha256: str
    data: bytes | None  # None unless asked for


def _utc(now: datetime) -> str:
    if now.tzinfo is None:
        raise ValueError(f"now must carry a time zone, not {now!r}")
    return now.astimezone(UTC).isoformat(timespec="seconds")
