"""The archive on a local folder and on S3 (moto on loopback): layout, snapshots, retention and verification.

The shared behaviour runs against both stores through one parametrized fixture; a few tests are about one
store only (presigned links, S3 checksums and errors, temporary files of the local store).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import urllib.request
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.session import AioSession
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from reportgen.archive import (
    Archive,
    ArchiveEntry,
    ArchiveError,
    LocalStore,
    S3Store,
    _s3_errors,
    check_s3_prefix,
    open_archive,
)
from reportgen.manifest import FAILED, SENT, MailRecord, Manifest
from reportgen.model import ArchiveSettings

REPORT = "daily-ops"
BUCKET, PREFIX = "reports-archive", "nightly"
TODAY = date(2026, 12, 3)
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
PRUNED_NOW, PRUNED_LATER = "2026-12-03T02:00:00+00:00", "2026-12-04T02:00:00+00:00"  # NOW and LATER as recorded


# --- helpers ------------------------------------------------------------------------------------------------


def fake_pdf(day: date, edition: int = 1, report: str = REPORT) -> bytes:
    return f"%PDF-1.7\n% {report} {day} edition {edition}\n%%EOF\n".encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def short(data: bytes) -> str:
    """How problem lines abbreviate the sha256 of ``data``."""
    return sha256(data)[:12] + "…"


def sent_mail(day: date) -> MailRecord:
    return MailRecord(message_id=f"<{day}.{REPORT}@reportgen.test>", transport="smtp",
                      to=("ops@example.com", "sre@example.com"), cc=("lead@example.com",), status=SENT,
                      reply="250 2.0.0 queued", time=f"{day}T06:00:00+00:00", attempts=1)


def make_manifest(day: date, pdf: bytes | None, *, report: str = REPORT, emails: tuple[MailRecord, ...] | None = None,
                  widgets_failed: int = 0) -> Manifest:
    return Manifest(
        report=report, date=day.isoformat(), title="Daily operations",
        period={"start": f"{day}T00:00:00+01:00", "end": f"{day + timedelta(days=1)}T00:00:00+01:00",
                "timezone": "Europe/Berlin"},
        file=f"{report}-{day}.pdf" if pdf is not None else None,
        bytes=len(pdf) if pdf is not None else 0, sha256=sha256(pdf) if pdf is not None else None,
        widgets={"total": 6, "failed": widgets_failed, "retried": 0, "failures": []},
        emails=(sent_mail(day),) if emails is None else emails,
        archive_url=f"{report}/{day:%Y/%m}/{report}-{day}.pdf" if pdf is not None else None,
        error=None if pdf is not None else "every widget failed")


async def publish(archive: Archive, day: date, *, edition: int = 1, report: str = REPORT,
                  **options: Any) -> Manifest:
    """What a nightly run leaves for ``report`` and ``day``: the PDF, then its manifest."""
    pdf = fake_pdf(day, edition, report)
    await archive.write_pdf(report, day, pdf)
    manifest = make_manifest(day, pdf, report=report, **options)
    await archive.write_manifest(manifest)
    return manifest


def dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def publish_days(archive: Archive, *spans: tuple[date, date]) -> None:
    await asyncio.gather(*(publish(archive, day) for first, last in spans for day in dates(first, last)))


def daily(day: date, suffix: str = "pdf") -> str:
    return f"{REPORT}/{day:%Y/%m}/{REPORT}-{day}.{suffix}"


def snapshot_doc(year: int, month: int) -> str:
    return f"{REPORT}/{year}/{month:02d}/snapshot/{REPORT}-{year}-{month:02d}.snapshot.json"


def snapshot_copy(day: date) -> str:
    return f"{REPORT}/{day:%Y/%m}/snapshot/{REPORT}-{day}.pdf"


async def read_json(archive: Archive, key: str) -> Any:
    data = await archive.store.get(key)
    assert data is not None, key
    return json.loads(data)


async def flip_a_byte(archive: Archive, key: str) -> bytes:
    data = await archive.store.get(key)
    assert data is not None, key
    tampered = data[:-2] + bytes([data[-2] ^ 0x01]) + data[-1:]
    await archive.store.put(key, tampered)
    return tampered


def make_bucket(endpoint: str, name: str) -> None:
    # Straight to moto's REST API: an S3 client takes longer to build than the bucket does to make.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{name}", method="PUT")).close()


@pytest.fixture(params=["local", "s3"])
async def archive(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Archive]:
    """An empty archive in a temporary folder, or in a fresh bucket on moto under a prefix."""
    if request.param == "local":
        settings = ArchiveSettings(url=str(tmp_path / "archive"))
    else:
        make_bucket(request.getfixturevalue("moto_aws"), BUCKET)
        settings = ArchiveSettings(url=f"s3://{BUCKET}/{PREFIX}", region="us-east-1")
    async with open_archive(settings) as opened:
        yield opened


def expected_location(archive: Archive, key: str) -> str:
    store = archive.store
    if isinstance(store, LocalStore):
        return str(store.root.joinpath(*key.split("/")))
    return f"s3://{BUCKET}/{PREFIX}/{key}"


only_s3 = pytest.mark.parametrize("archive", ["s3"], indirect=True)
only_local = pytest.mark.parametrize("archive", ["local"], indirect=True)


# --- layout and records ---------------------------------------------------------------------------------


async def test_layout_names_each_file_by_report_and_date(archive: Archive) -> None:
    day = date(2026, 11, 30)
    location = await archive.write_pdf(REPORT, day, fake_pdf(day))
    await archive.write_manifest(make_manifest(day, fake_pdf(day)))

    assert await archive.store.keys() == ["daily-ops/2026/11/daily-ops-2026-11-30.manifest.json",
                                          "daily-ops/2026/11/daily-ops-2026-11-30.pdf"]
    assert archive.pdf_key(REPORT, date(2027, 1, 5)) == "daily-ops/2027/01/daily-ops-2027-01-05.pdf"
    assert archive.manifest_key(REPORT, date(2027, 1, 5)) == "daily-ops/2027/01/daily-ops-2027-01-05.manifest.json"
    assert location == archive.location(REPORT, day) == expected_location(archive, daily(day))
    assert await archive.store.get(daily(day)) == fake_pdf(day)


async def test_rerunning_a_date_replaces_its_files(archive: Archive) -> None:
    day = date(2026, 11, 2)
    await publish(archive, day, edition=1)
    second = await publish(archive, day, edition=2, emails=())

    assert await archive.store.keys(f"{REPORT}/") == [daily(day, "manifest.json"), daily(day)]
    assert await archive.read_manifest(REPORT, day) == second
    assert await archive.read_pdf(second) == fake_pdf(day, 2)


async def test_manifest_round_trip(archive: Archive) -> None:
    day = date(2026, 11, 2)
    failed = MailRecord(message_id="<first@reportgen.test>", transport="ses", to=("ops@example.com",),
                        bcc=("audit@example.com",), status=FAILED, error="MessageRejected: address is not verified",
                        attempts=5, attached=False)
    manifest = make_manifest(day, fake_pdf(day), emails=(failed, sent_mail(day)), widgets_failed=2)

    await archive.write_manifest(manifest)

    assert await archive.read_manifest(REPORT, day) == manifest
    assert await archive.read_manifest(REPORT, day + timedelta(days=1)) is None
    assert await archive.read_manifest("weekly-cost", day) is None


@only_local  # the checks are the archive's, the same over any store; verify() meets one on S3
@pytest.mark.parametrize("content, reason", [
    (b'{"report": "daily-ops", "date": "2026-11-02"', "unreadable manifest: not valid JSON"),
    (b'{"version": 99}', "unreadable manifest: not a reportgen manifest of version 1"),
    (make_manifest(date(2026, 11, 1), b"%PDF-").to_json(), "holds the manifest of daily-ops 2026-11-01"),
])
async def test_an_unreadable_manifest_is_an_archive_error(archive: Archive, content: bytes, reason: str) -> None:
    day = date(2026, 11, 2)
    await archive.store.put(archive.manifest_key(REPORT, day), content)

    with pytest.raises(ArchiveError) as caught:
        await archive.read_manifest(REPORT, day)
    assert str(caught.value).startswith(f"{expected_location(archive, daily(day, 'manifest.json'))}: {reason}")


async def test_read_pdf_refuses_a_corrupted_or_missing_pdf(archive: Archive) -> None:
    day = date(2026, 11, 2)
    manifest = await publish(archive, day)
    where = expected_location(archive, daily(day))

    tampered = await flip_a_byte(archive, daily(day))
    with pytest.raises(ArchiveError, match=r"sha256 mismatch \(manifest ") as caught:
        await archive.read_pdf(manifest)
    assert str(caught.value) == f"{where}: sha256 mismatch (manifest {short(fake_pdf(day))}, file {short(tampered)})"

    await archive.store.delete(daily(day))
    with pytest.raises(ArchiveError, match="missing, though its manifest records it"):
        await archive.read_pdf(manifest)
    with pytest.raises(ArchiveError, match=r"the manifest records no PDF \(every widget failed\)"):
        await archive.read_pdf(make_manifest(day, None))


@only_local
@pytest.mark.parametrize("report", ["", "Daily", "daily_ops", "-daily", "7days", "daily.ops", "daily/ops", "..",
                                    "../daily", "daily\n", "d" * 65])
async def test_bad_report_ids_are_refused(archive: Archive, report: str) -> None:
    day = date(2026, 11, 2)
    with pytest.raises(ValueError, match="not a report id"):
        archive.pdf_key(report, day)
    with pytest.raises(ValueError, match="not a report id"):
        await archive.write_pdf(report, day, fake_pdf(day))
    with pytest.raises(ValueError, match="not a report id"):
        await archive.prune(report, TODAY, 35, now=NOW)
    with pytest.raises(ValueError, match="not a report id"):
        await archive.entries(report)
    assert await archive.store.keys() == []


@only_local
async def test_bad_dates_are_refused(archive: Archive) -> None:
    with pytest.raises(ValueError, match="not a report date"):
        archive.pdf_key(REPORT, datetime(2026, 11, 2, 6, 0))
    for text in ("2026-11-2", "20261102", "../../../etc/passwd", "2026-11-02T06:00"):
        manifest = Manifest(report=REPORT, date=text, title="t", period={}, file=None)
        with pytest.raises(ValueError, match="not a report date"):
            await archive.write_manifest(manifest)
        with pytest.raises(ValueError, match="not a report date"):
            await archive.read_pdf(manifest)
    with pytest.raises(ValueError):
        await archive.snapshot_month(REPORT, 2026, 13, now=NOW)
    with pytest.raises(ValueError, match="time zone"):
        await archive.snapshot_month(REPORT, 2026, 11, now=datetime(2026, 12, 3))
    with pytest.raises(ValueError, match="negative"):
        await archive.prune(REPORT, TODAY, -1, now=NOW)
    assert await archive.store.keys() == []


@pytest.mark.parametrize("kind", ["local", "s3"])
@pytest.mark.parametrize("key", ["", "/etc/passwd", "../outside.pdf", "a/../../outside.pdf", "a//b.pdf", "a/./b",
                                 "a\\..\\b", "a/b/"])
async def test_stores_refuse_keys_that_leave_the_root(tmp_path: Path, kind: str, key: str) -> None:
    # Checked before anything is sent: the S3 store here has no client at all.
    store = LocalStore(tmp_path / "archive" / "inner") if kind == "local" else S3Store(None, BUCKET, PREFIX)
    with pytest.raises(ValueError, match="not an archive key"):
        await store.put(key, b"x")
    with pytest.raises(ValueError, match="not an archive key"):
        await store.get(key)
    with pytest.raises(ValueError, match="not an archive key"):
        await store.delete(key)
    with pytest.raises(ValueError, match="not an archive key"):
        await store.keys("../")
    assert not (tmp_path / "archive").exists()


# --- snapshots ------------------------------------------------------------------------------------------


# A report made on Mondays and Thursdays: the last report of September and October is not the month's last day.
TWICE_WEEKLY = [day for day in dates(date(2026, 9, 1), TODAY) if day.weekday() in (0, 3)]
LAST_OF_MONTH = [date(2026, 9, 28), date(2026, 10, 29), date(2026, 11, 30)]


async def test_closed_months_get_a_snapshot_of_their_last_report(archive: Archive) -> None:
    await asyncio.gather(*(publish(archive, day) for day in TWICE_WEEKLY))

    written = await archive.snapshot_closed_months(REPORT, TODAY, now=NOW)

    assert written == [expected_location(archive, snapshot_doc(2026, m)) for m in (9, 10, 11)]
    assert [k for k in await archive.store.keys() if "/snapshot/" in k] == [
        key for last in LAST_OF_MONTH for key in (snapshot_copy(last), snapshot_doc(2026, last.month))]
    for last in LAST_OF_MONTH:
        assert await archive.store.get(snapshot_copy(last)) == fake_pdf(last)

    doc = await read_json(archive, snapshot_doc(2026, 11))
    assert (doc["report"], doc["month"], doc["kept"], doc["made_at"]) == (
        REPORT, "2026-11", "daily-ops-2026-11-30.pdf", "2026-12-03T02:00:00+00:00")
    names = [f["name"] for f in doc["files"]]
    assert names == sorted(f"daily-ops-{day}.{suffix}" for day in TWICE_WEEKLY if day.month == 11
                           for suffix in ("pdf", "manifest.json"))
    day = date(2026, 11, 2)
    manifest_json = make_manifest(day, fake_pdf(day)).to_json()
    by_name = {f["name"]: f for f in doc["files"]}
    assert by_name["daily-ops-2026-11-02.pdf"] == {
        "name": "daily-ops-2026-11-02.pdf", "bytes": len(fake_pdf(day)), "sha256": sha256(fake_pdf(day)),
        "date": "2026-11-02", "widgets_failed": 0,
        "emails": [{"message_id": "<2026-11-02.daily-ops@reportgen.test>", "status": "sent",
                    "to": ["ops@example.com", "sre@example.com"], "cc": ["lead@example.com"], "bcc": [],
                    "error": None}],
    }
    assert by_name["daily-ops-2026-11-02.manifest.json"] == {
        "name": "daily-ops-2026-11-02.manifest.json", "bytes": len(manifest_json), "sha256": sha256(manifest_json)}

    keys = await archive.store.keys()
    docs = [await archive.store.get(snapshot_doc(2026, m)) for m in (9, 10, 11)]
    assert await archive.snapshot_closed_months(REPORT, TODAY, now=LATER) == []
    assert await archive.store.keys() == keys
    assert [await archive.store.get(snapshot_doc(2026, m)) for m in (9, 10, 11)] == docs  # made_at unchanged


async def test_a_rebuilt_date_rebuilds_its_month_snapshot(archive: Archive) -> None:
    await publish_days(archive, (date(2026, 10, 30), date(2026, 10, 31)), (date(2026, 11, 14), date(2026, 11, 16)),
                       (date(2026, 11, 29), date(2026, 12, 1)))
    await archive.snapshot_closed_months(REPORT, TODAY, now=NOW)
    october = await archive.store.get(snapshot_doc(2026, 10))

    await publish(archive, date(2026, 11, 15), edition=2)
    assert await archive.snapshot_closed_months(REPORT, TODAY, now=LATER) == [
        expected_location(archive, snapshot_doc(2026, 11))]
    doc = await read_json(archive, snapshot_doc(2026, 11))
    listed = {f["name"]: f["sha256"] for f in doc["files"]}
    assert listed["daily-ops-2026-11-15.pdf"] == sha256(fake_pdf(date(2026, 11, 15), 2))
    assert (doc["made_at"], doc["kept"]) == ("2026-12-04T02:00:00+00:00", "daily-ops-2026-11-30.pdf")
    assert await archive.store.get(snapshot_doc(2026, 10)) == october

    await publish(archive, date(2026, 11, 30), edition=2)  # the kept report itself, made again
    assert len(await archive.snapshot_closed_months(REPORT, TODAY, now=LATER)) == 1
    assert await archive.store.get(snapshot_copy(date(2026, 11, 30))) == fake_pdf(date(2026, 11, 30), 2)
    assert await archive.verify() == []


async def test_a_late_last_day_takes_over_the_snapshot(archive: Archive) -> None:
    await publish_days(archive, (date(2026, 10, 28), date(2026, 10, 30)))
    assert await archive.snapshot_month(REPORT, 2026, 10, now=NOW)

    await publish(archive, date(2026, 10, 31))  # a missed date, run later
    assert await archive.snapshot_month(REPORT, 2026, 10, now=LATER)

    assert [k for k in await archive.store.keys() if "/snapshot/" in k] == [
        snapshot_copy(date(2026, 10, 31)), snapshot_doc(2026, 10)]
    assert (await read_json(archive, snapshot_doc(2026, 10)))["kept"] == "daily-ops-2026-10-31.pdf"
    assert not await archive.snapshot_month(REPORT, 2026, 10, now=LATER)


@only_local
async def test_a_month_without_a_pdf_gets_no_snapshot(archive: Archive) -> None:
    day = date(2026, 8, 31)
    await archive.write_manifest(make_manifest(day, None, emails=()))

    assert not await archive.snapshot_month(REPORT, 2026, 8, now=NOW)
    assert await archive.snapshot_closed_months(REPORT, TODAY, now=NOW) == []
    assert not await archive.snapshot_month(REPORT, 2026, 7, now=NOW)  # nothing at all
    assert await archive.store.keys() == [daily(day, "manifest.json")]


# --- retention --------------------------------------------------------------------------------------------

STRAYS = [
    "notes.txt",
    "daily-ops/2026/09/notes.txt",
    "daily-ops/2026/09/daily-ops-2026-09-01.pdf.bak",
    "daily-ops/2026/09/weekly-cost-2026-09-01.pdf",
    "daily-ops/2026/09/daily-ops-2026-9-02.pdf",
    "daily-ops/2026/10/daily-ops-2026-09-30.pdf",        # a date filed in the wrong month
    "daily-ops/2026/09/old/daily-ops-2026-09-03.pdf",
    "daily-ops/2026/09/snapshot/notes.txt",
]


async def test_prune_deletes_only_old_dailies_of_snapshotted_months(archive: Archive) -> None:
    # Around each edge: the months' ends, and 2026-10-29 (today - 35 days).
    spans = [(date(2026, 9, 29), date(2026, 10, 2)), (date(2026, 10, 27), date(2026, 11, 2)),
             (date(2026, 11, 29), date(2026, 12, 3))]
    await publish_days(archive, *spans)
    await archive.write_manifest(make_manifest(date(2026, 8, 31), None, emails=()))  # August: no PDF, no snapshot
    for key in STRAYS:
        await archive.store.put(key, b"not the archive's")

    deleted = await archive.prune(REPORT, TODAY, 35, now=NOW)

    # The PDFs before 2026-10-29 (today - 35 days); snapshots were made first, and every manifest stays.
    published = [day for first, last in spans for day in dates(first, last)]
    assert deleted == [daily(day) for day in published if day < date(2026, 10, 29)]
    remaining = await archive.store.keys()
    assert set(STRAYS) <= set(remaining)
    assert {daily(day, "manifest.json") for day in published + [date(2026, 8, 31)]} <= set(remaining)
    assert {snapshot_doc(2026, m) for m in (9, 10, 11)} <= set(remaining)
    month_ends = [date(2026, 9, 30), date(2026, 10, 31), date(2026, 11, 30)]
    assert {snapshot_copy(d) for d in month_ends} <= set(remaining)
    assert daily(date(2026, 10, 29)) in remaining

    # Keeping no days at all empties the closed months with a snapshot, never August (no snapshot) nor the
    # current month, though the run that archived its last due date may have snapshotted it already.
    assert await archive.snapshot_month(REPORT, 2026, 12, now=NOW)
    deleted = await archive.prune(REPORT, TODAY, 0, now=NOW)
    assert deleted == [daily(day) for day in published if date(2026, 10, 29) <= day < date(2026, 12, 1)]
    assert await archive.store.keys() == sorted(
        STRAYS + [daily(day, "manifest.json") for day in published + [date(2026, 8, 31)]]
        + [key for end in month_ends + [TODAY] for key in (snapshot_doc(2026, end.month), snapshot_copy(end))]
        + [daily(day) for day in dates(date(2026, 12, 1), TODAY)])
    assert await archive.prune(REPORT, TODAY, 0, now=NOW) == []

    # The snapshots still list what the pruned months held, with the manifests as prune rewrote them.
    september = await read_json(archive, snapshot_doc(2026, 9))
    assert [f["name"] for f in september["files"]] == [
        "daily-ops-2026-09-29.manifest.json", "daily-ops-2026-09-29.pdf",
        "daily-ops-2026-09-30.manifest.json", "daily-ops-2026-09-30.pdf"]
    rewritten = await archive.store.get(daily(date(2026, 9, 30), "manifest.json"))
    assert rewritten is not None and september["files"][2]["sha256"] == sha256(rewritten)
    assert await archive.snapshot_closed_months(REPORT, TODAY, now=LATER) == []
    assert await archive.verify() == []


async def test_a_rerun_in_a_pruned_month_keeps_the_snapshot_record(archive: Archive) -> None:
    await publish_days(archive, (date(2026, 9, 27), date(2026, 9, 30)))
    await archive.prune(REPORT, TODAY, 0, now=NOW)
    assert await archive.store.keys() == [daily(day, "manifest.json") for day in dates(date(2026, 9, 27),
                                                                                       date(2026, 9, 30))] + [
        snapshot_copy(date(2026, 9, 30)), snapshot_doc(2026, 9)]

    await publish(archive, date(2026, 9, 28), edition=2)
    assert await archive.snapshot_closed_months(REPORT, TODAY, now=LATER) == [
        expected_location(archive, snapshot_doc(2026, 9))]

    doc = await read_json(archive, snapshot_doc(2026, 9))
    assert doc["kept"] == "daily-ops-2026-09-30.pdf"  # still the month's last report, though its daily is gone
    listed = {f["name"]: f["sha256"] for f in doc["files"]}
    assert len(listed) == 8
    assert listed["daily-ops-2026-09-28.pdf"] == sha256(fake_pdf(date(2026, 9, 28), 2))
    rerun = await archive.read_manifest(REPORT, date(2026, 9, 28))
    assert rerun is not None and rerun.archived and rerun.pruned is None  # the rerun's record is fresh
    assert listed["daily-ops-2026-09-29.pdf"] == sha256(fake_pdf(date(2026, 9, 29)))
    assert await archive.store.get(snapshot_copy(date(2026, 9, 30))) == fake_pdf(date(2026, 9, 30))
    assert await archive.verify() == []


@only_local  # the rules are the archive's; the prune test above runs over both stores
async def test_a_pruned_date_keeps_its_record_of_delivery(archive: Archive) -> None:
    await publish_days(archive, (date(2026, 9, 28), date(2026, 9, 30)), (date(2026, 10, 29), date(2026, 10, 29)))
    published = await archive.read_manifest(REPORT, date(2026, 9, 29))
    assert published is not None

    assert await archive.prune(REPORT, TODAY, 35, now=NOW) == [daily(day) for day in dates(date(2026, 9, 28),
                                                                                            date(2026, 9, 30))]

    pruned = await archive.read_manifest(REPORT, date(2026, 9, 29))
    assert pruned == replace(published, pruned=PRUNED_NOW)
    assert pruned.made and pruned.mailed and not pruned.archived
    assert await archive.first_day(REPORT) == date(2026, 9, 28)
    with pytest.raises(ArchiveError) as caught:
        await archive.read_pdf(pruned)
    assert str(caught.value) == f"{expected_location(archive, daily(pruned.day))}: pruned by retention at {PRUNED_NOW}"
    listed = {entry.date: entry for entry in await archive.entries(REPORT) if not entry.snapshot}
    assert listed[date(2026, 9, 29)] == ArchiveEntry(REPORT, date(2026, 9, 29), None, published.bytes,
                                                     published.sha256, "sent to 3", 0, pruned=PRUNED_NOW)
    assert listed[date(2026, 10, 29)].location == expected_location(archive, daily(date(2026, 10, 29)))
    assert listed[date(2026, 10, 29)].pruned is None
    assert await archive.verify() == []


@only_local
async def test_a_prune_cut_short_is_finished_by_the_next(archive: Archive) -> None:
    first = await publish(archive, date(2026, 9, 29))
    await publish(archive, date(2026, 9, 30))
    await archive.snapshot_month(REPORT, 2026, 9, now=NOW)
    # Killed after rewriting the first manifest, before deleting its PDF: the PDF left over is no problem;
    # the snapshot is behind the manifest until the next prune rebuilds it.
    await archive.write_manifest(replace(first, pruned=PRUNED_NOW))
    rewritten = await archive.store.get(daily(date(2026, 9, 29), "manifest.json"))
    assert rewritten is not None
    assert await archive.verify() == [f"{daily(date(2026, 9, 29), 'manifest.json')}: sha256 mismatch "
                                      f"(snapshot {short(first.to_json())}, file {short(rewritten)})"]

    assert await archive.prune(REPORT, TODAY, 35, now=LATER) == [daily(date(2026, 9, 29)), daily(date(2026, 9, 30))]

    assert [(m.date, m.pruned) for day in (date(2026, 9, 29), date(2026, 9, 30))
            if (m := await archive.read_manifest(REPORT, day)) is not None] == [
        ("2026-09-29", PRUNED_NOW), ("2026-09-30", PRUNED_LATER)]
    assert await archive.verify() == []


@only_local
async def test_prune_stops_at_an_unreadable_manifest_before_deleting_anything(archive: Archive) -> None:
    await publish_days(archive, (date(2026, 9, 29), date(2026, 9, 30)))
    await archive.store.put(daily(date(2026, 9, 30), "manifest.json"), b'{"version": 1, "report": 7}')

    with pytest.raises(ArchiveError) as caught:
        await archive.prune(REPORT, TODAY, 35, now=NOW)

    assert str(caught.value) == (f"{expected_location(archive, daily(date(2026, 9, 30), 'manifest.json'))}: "
                                 "unreadable manifest: `report` must be a string, not 7")
    assert {daily(date(2026, 9, 29)), daily(date(2026, 9, 30))} <= set(await archive.store.keys())
    unchanged = await archive.read_manifest(REPORT, date(2026, 9, 29))
    assert unchanged is not None and unchanged.pruned is None


# --- history, listing and verification ----------------------------------------------------------------------


@only_local  # which files count is the archive's rule, the same over any store
async def test_has_history(archive: Archive) -> None:
    day = date(2026, 10, 31)
    assert not await archive.has_history(REPORT)
    await archive.write_pdf(REPORT, day, fake_pdf(day))
    assert not await archive.has_history(REPORT)  # a PDF is not a record of a run
    await archive.write_manifest(make_manifest(day, fake_pdf(day)))
    assert await archive.has_history(REPORT)
    assert not await archive.has_history("daily")  # a report whose id is a prefix of another's

    await archive.prune(REPORT, TODAY, 0, now=NOW)
    assert await archive.store.keys(f"{REPORT}/2026/10/daily") == [daily(day, "manifest.json")]
    assert await archive.has_history(REPORT)  # the manifest outlives its PDF


@only_local
async def test_first_day_is_the_first_date_with_a_manifest(archive: Archive) -> None:
    # A report first run on 2026-10-20: its October snapshot says nothing about the nights before.
    await publish_days(archive, (date(2026, 10, 20), date(2026, 10, 31)))
    await archive.snapshot_closed_months(REPORT, TODAY, now=NOW)
    assert await archive.first_day(REPORT) == date(2026, 10, 20)

    await archive.prune(REPORT, TODAY, 0, now=NOW)
    assert await archive.first_day(REPORT) == date(2026, 10, 20)
    assert await archive.first_day("weekly-cost") is None


async def test_entries_list_reports_with_their_delivery(archive: Archive) -> None:
    failed = MailRecord(message_id="<x@reportgen.test>", transport="smtp", to=("ops@example.com",), status=FAILED,
                        error="SMTP 550: mailbox unavailable")
    m31 = await publish(archive, date(2026, 10, 31))
    m1 = await publish(archive, date(2026, 11, 1), emails=(failed,))
    m2 = await publish(archive, date(2026, 11, 2), emails=(), widgets_failed=2)
    await archive.write_manifest(make_manifest(date(2026, 11, 3), None, emails=()))
    weekly = await publish(archive, date(2026, 11, 2), report="weekly-cost")
    await archive.snapshot_closed_months(REPORT, date(2026, 11, 3), now=NOW)

    def entry(m: Manifest, mail: str, widgets_failed: int = 0, *, snapshot: bool = False) -> ArchiveEntry:
        key = snapshot_copy(m.day) if snapshot else archive.pdf_key(m.report, m.day)
        return ArchiveEntry(m.report, m.day, expected_location(archive, key), m.bytes, m.sha256, mail,
                            widgets_failed, snapshot)

    ours = [
        entry(m31, "sent to 3"),
        entry(m31, "sent to 3", snapshot=True),
        entry(m1, "failed: SMTP 550: mailbox unavailable"),
        entry(m2, "not mailed", 2),
        ArchiveEntry(REPORT, date(2026, 11, 3), None, 0, None, "not mailed", 0),
    ]
    assert await archive.entries(REPORT) == ours
    assert await archive.entries() == ours + [entry(weekly, "sent to 3")]
    assert await archive.entries("monthly-bill") == []


async def test_verify_finds_what_differs_from_the_records(archive: Archive) -> None:
    await publish_days(archive, (date(2026, 10, 29), date(2026, 11, 4)))
    await archive.snapshot_closed_months(REPORT, date(2026, 11, 4), now=NOW)
    assert await archive.verify() == []

    flipped = await flip_a_byte(archive, daily(date(2026, 11, 2)))
    await archive.store.delete(daily(date(2026, 11, 1)))
    await archive.write_pdf(REPORT, date(2026, 11, 5), fake_pdf(date(2026, 11, 5)))
    tampered_copy = await flip_a_byte(archive, snapshot_copy(date(2026, 10, 31)))
    tampered_daily = await flip_a_byte(archive, daily(date(2026, 10, 30)))
    await archive.store.put(daily(date(2026, 11, 3), "manifest.json"), b"{truncated")

    problems = await archive.verify()

    with pytest.raises(ValueError) as why:
        Manifest.from_json(b"{truncated")
    nov2, nov1, oct31, oct30 = (fake_pdf(date(2026, 11, 2)), fake_pdf(date(2026, 11, 1)),
                                fake_pdf(date(2026, 10, 31)), fake_pdf(date(2026, 10, 30)))
    expected = [
        f"daily-ops/2026/10/daily-ops-2026-10-30.pdf: sha256 mismatch (manifest {short(oct30)}, "
        f"file {short(tampered_daily)})",
        f"daily-ops/2026/10/snapshot/daily-ops-2026-10-31.pdf: sha256 mismatch (snapshot {short(oct31)}, "
        f"file {short(tampered_copy)})",
        f"daily-ops/2026/10/daily-ops-2026-10-30.pdf: sha256 mismatch (snapshot {short(oct30)}, "
        f"file {short(tampered_daily)})",
        f"daily-ops/2026/11/daily-ops-2026-11-01.pdf: missing (manifest records sha256 {short(nov1)})",
        f"daily-ops/2026/11/daily-ops-2026-11-02.pdf: sha256 mismatch (manifest {short(nov2)}, "
        f"file {short(flipped)})",
        "daily-ops/2026/11/daily-ops-2026-11-05.pdf: no manifest",
        f"daily-ops/2026/11/daily-ops-2026-11-03.manifest.json: unreadable manifest: {why.value}",
    ]
    assert sorted(problems) == sorted(expected)


@only_local  # the checks are the archive's, the same over any store
@pytest.mark.parametrize("change, reason", [
    (lambda doc: doc["files"].append({"name": "../../../../etc/passwd", "bytes": 1, "sha256": "0" * 64}),
     "it lists '../../../../etc/passwd', not a daily file of this month"),
    (lambda doc: doc["files"].append({"name": "daily-ops-2026-09-30.pdf", "bytes": 1, "sha256": "0" * 64,
                                      "date": "2026-09-30"}),
     "it lists 'daily-ops-2026-09-30.pdf', not a daily file of this month"),
    (lambda doc: doc.update(kept="daily-ops-2026-10-31.manifest.json"),
     "it keeps 'daily-ops-2026-10-31.manifest.json', which it does not list as a PDF"),
    (lambda doc: doc.update(month="2026-11"), "it is the snapshot of daily-ops 2026-11"),
    (lambda doc: doc.pop("files"), "a snapshot key is missing or unknown: 'files'"),
    (lambda doc: doc["files"][0].update(name=7), "it lists 7, not a daily file of this month"),
    (lambda doc: doc["files"][0].update(sha256=None), "it gives daily-ops-2026-10-30.manifest.json the sha256 None"),
])
async def test_a_snapshot_document_is_checked_before_it_is_used(archive: Archive, change: Callable[[Any], object],
                                                                reason: str) -> None:
    await publish_days(archive, (date(2026, 10, 30), date(2026, 10, 31)))
    await archive.snapshot_month(REPORT, 2026, 10, now=NOW)
    doc = await read_json(archive, snapshot_doc(2026, 10))
    change(doc)
    await archive.store.put(snapshot_doc(2026, 10), json.dumps(doc).encode())

    assert await archive.verify() == [f"{snapshot_doc(2026, 10)}: unreadable snapshot: {reason}"]
    with pytest.raises(ArchiveError, match="unreadable snapshot"):
        await archive.entries()
    with pytest.raises(ArchiveError, match="unreadable snapshot"):
        await archive.prune(REPORT, TODAY, 0, now=NOW)  # stops before deleting anything
    assert daily(date(2026, 10, 30)) in await archive.store.keys()


@only_local
async def test_a_manifest_of_the_wrong_shape_is_an_archive_error(archive: Archive) -> None:
    day = date(2026, 11, 2)
    data = json.loads(make_manifest(day, fake_pdf(day)).to_json())
    data["widgets"] = []
    await archive.store.put(daily(day, "manifest.json"), json.dumps(data).encode())
    where = expected_location(archive, daily(day, "manifest.json"))

    with pytest.raises(ArchiveError) as caught:
        await archive.entries()
    assert str(caught.value) == f"{where}: unreadable manifest: `widgets` must be an object, not []"
    assert await archive.verify() == [
        f"{daily(day, 'manifest.json')}: unreadable manifest: `widgets` must be an object, not []"]


# --- S3 only ----------------------------------------------------------------------------------------------


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
        return body


@only_s3
async def test_s3_link_is_a_presigned_url_that_downloads_the_pdf(archive: Archive) -> None:
    day = date(2026, 11, 2)
    await archive.write_pdf(REPORT, day, fake_pdf(day))

    link = await archive.link(REPORT, day)

    assert f"/{BUCKET}/{PREFIX}/{daily(day)}?" in link
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in link and "X-Amz-Expires=604800" in link
    assert await asyncio.to_thread(download, link) == fake_pdf(day)


@only_s3
async def test_s3_objects_carry_their_sha256(archive: Archive) -> None:
    day = date(2026, 11, 2)
    manifest = await publish(archive, day)

    async with AioSession().create_client("s3", region_name="us-east-1") as client:
        head = await client.head_object(Bucket=BUCKET, Key=f"{PREFIX}/{daily(day)}", ChecksumMode="ENABLED")
        meta = await client.head_object(Bucket=BUCKET, Key=f"{PREFIX}/{daily(day, 'manifest.json')}")
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(fake_pdf(day)).digest()).decode()
    assert head["Metadata"] == {"sha256": manifest.sha256}
    assert head["ContentType"] == "application/pdf"
    assert meta["ContentType"] == "application/json"


async def test_s3_url_gives_bucket_and_prefix(moto_aws: str) -> None:
    make_bucket(moto_aws, BUCKET)
    for edition, (url, prefix) in enumerate([(f"s3://{BUCKET}/team/ops", "team/ops/"),
                                             (f"s3://{BUCKET}/nightly/", "nightly/"), (f"s3://{BUCKET}", "")]):
        day = date(2026, 11, 2) + timedelta(days=edition)
        async with open_archive(ArchiveSettings(url=url, region="us-east-1")) as archive:
            assert await archive.write_pdf(REPORT, day, fake_pdf(day)) == f"s3://{BUCKET}/{prefix}{daily(day)}"
            assert await archive.store.keys(f"{REPORT}/") == [daily(day)]  # the other prefixes' files are not its
            assert await archive.store.get(daily(day)) == fake_pdf(day)


@pytest.mark.parametrize("prefix", ["a//b", "/nightly", "nightly//", "//", "nightly/./x", ".", "nightly/..",
                                    "../other", "team\\ops"])
async def test_s3_prefix_with_empty_or_dot_names_or_backslashes_is_refused(prefix: str) -> None:
    # Refused before any client is made: neither moto nor credentials are needed.
    reason = f"not an S3 prefix: {prefix!r}"
    with pytest.raises(ValueError) as caught:
        check_s3_prefix(prefix)
    assert str(caught.value).startswith(reason)
    with pytest.raises(ValueError, match="not an S3 prefix"):
        S3Store(None, BUCKET, prefix)
    with pytest.raises(ValueError, match="not an S3 prefix"):
        async with open_archive(ArchiveSettings(url=f"s3://{BUCKET}/{prefix}", region="us-east-1")):
            pass


@pytest.mark.parametrize("prefix, kept", [("", ""), ("nightly", "nightly"), ("nightly/", "nightly"),
                                          ("team/ops", "team/ops"), ("team/ops/", "team/ops"),
                                          ("team/v1.2/..ops", "team/v1.2/..ops")])
def test_s3_prefix_of_names_is_accepted(prefix: str, kept: str) -> None:
    check_s3_prefix(prefix)
    assert S3Store(None, BUCKET, prefix).prefix == kept


async def test_s3_errors_name_the_bucket(moto_aws: str) -> None:
    day = date(2026, 11, 2)
    operations: list[Callable[[Archive], Coroutine[Any, Any, object]]] = [
        lambda a: a.write_pdf(REPORT, day, fake_pdf(day)),
        lambda a: a.read_manifest(REPORT, day),
        lambda a: a.has_history(REPORT),
        lambda a: a.store.delete(daily(day)),
        lambda a: a.verify(),
    ]
    async with open_archive(ArchiveSettings(url="s3://no-such-bucket/nightly", region="us-east-1")) as archive:
        for operation in operations:
            with pytest.raises(ArchiveError) as caught:
                await operation(archive)
            assert caught.value.code == "NoSuchBucket"
            assert str(caught.value).startswith("s3://no-such-bucket/nightly/")
            assert "NoSuchBucket: The specified bucket does not exist" in str(caught.value)


async def test_an_unknown_profile_is_an_archive_error() -> None:
    settings = ArchiveSettings(url=f"s3://{BUCKET}/{PREFIX}", region="eu-west-1", profile="no-such-profile")
    with pytest.raises(ArchiveError) as caught:
        async with open_archive(settings):
            pass
    assert str(caught.value) == (f"s3://{BUCKET}/{PREFIX}: cannot open an S3 client: "
                                 "The config profile (no-such-profile) could not be found")


@pytest.mark.parametrize("exc, code, message", [
    (ClientError({"Error": {"Code": "NoSuchBucket", "Message": "The specified bucket does not exist"}}, "PutObject"),
     "NoSuchBucket", "cannot write: NoSuchBucket: The specified bucket does not exist"),
    (ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject"),
     "AccessDenied", "cannot write: AccessDenied: Access Denied"),
    (ClientError({"Error": {"Code": "BadDigest", "Message": "The SHA256 you specified did not match"}}, "PutObject"),
     "BadDigest", "cannot write: BadDigest: The SHA256 you specified did not match"),
    (EndpointConnectionError(endpoint_url="https://s3.eu-west-1.amazonaws.com"), None,
     'cannot write: Could not connect to the endpoint URL: "https://s3.eu-west-1.amazonaws.com"'),
    (NoCredentialsError(), None, "cannot write: Unable to locate credentials"),
])
def test_botocore_errors_become_archive_errors(exc: Exception, code: str | None, message: str) -> None:
    with pytest.raises(ArchiveError) as caught, _s3_errors("write", "s3://reports-archive/nightly/x.pdf"):
        raise exc
    assert (caught.value.code, str(caught.value)) == (code, f"s3://reports-archive/nightly/x.pdf: {message}")
    assert caught.value.__cause__ is exc


# --- local only -------------------------------------------------------------------------------------------


@only_local
async def test_local_writes_leave_no_temporary_files(archive: Archive) -> None:
    await publish_days(archive, (date(2026, 10, 30), date(2026, 11, 1)))
    await publish(archive, date(2026, 11, 1), edition=2)
    await archive.snapshot_closed_months(REPORT, TODAY, now=NOW)
    assert isinstance(archive.store, LocalStore)
    root = archive.store.root

    on_disk = sorted(Path(folder, name).relative_to(root).as_posix()
                     for folder, _, names in os.walk(root) for name in names)
    assert on_disk == await archive.store.keys()
    assert not [name for name in on_disk if name.rpartition("/")[2].startswith(".")]

    # What a crash in the middle of a write leaves behind is not an archive file.
    leftover = root / "daily-ops/2026/11/.daily-ops-2026-11-02.pdf.k2j4h1.tmp"
    leftover.write_bytes(b"%PDF-half")
    assert await archive.store.keys() == on_disk
    assert await archive.verify() == []


@only_local
async def test_local_folder_is_made_by_the_first_write(archive: Archive) -> None:
    assert isinstance(archive.store, LocalStore)
    root = archive.store.root
    assert await archive.entries() == [] and await archive.verify() == []
    assert not root.exists()

    day = date(2026, 11, 2)
    assert await archive.write_pdf(REPORT, day, fake_pdf(day)) == str(root / daily(day))
    assert await archive.link(REPORT, day) == str(root / daily(day))
    assert (root / daily(day)).read_bytes() == fake_pdf(day)


async def test_local_write_failure_names_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "archive"
    blocker.write_text("a file where the archive folder should be")
    day = date(2026, 11, 2)
    async with open_archive(ArchiveSettings(url=str(blocker))) as archive:
        with pytest.raises(ArchiveError) as caught:
            await archive.write_pdf(REPORT, day, fake_pdf(day))
    assert str(caught.value) == f"{blocker / daily(day)}: cannot write: Not a directory"
