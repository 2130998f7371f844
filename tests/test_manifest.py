"""The manifest's JSON: round trips, what an older reportgen tolerates in a newer record, and what it refuses."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from reportgen.manifest import FAILED, SENDING, SENT, MailRecord, Manifest

MAIL = MailRecord(message_id="<2026-11-02.daily-ops@reportgen.test>", transport="smtp", to=("ops@example.com",),
                  cc=("lead@example.com",), bcc=("audit@example.com",), status=SENT, reply="250 2.0.0 queued",
                  time="2026-11-03T06:00:00+00:00", attempts=2, pdf_sha256="ab" * 32, refused=("gone@example.com",))
MANIFEST = Manifest(
    report="daily-ops", date="2026-11-02", title="Daily operations",
    period={"start": "2026-11-02T00:00:00+01:00", "end": "2026-11-03T00:00:00+01:00", "timezone": "Europe/Berlin"},
    file="daily-ops-2026-11-02.pdf", bytes=48213, sha256="ab" * 32,
    widgets={"total": 6, "failed": 1, "retried": 2, "failures": [{"title": "CPU", "error": "Throttling"}]},
    throttled=3, emails=(replace(MAIL, status=FAILED, error="SMTP 451", message_id="<first@reportgen.test>"), MAIL),
    archive_url="daily-ops/2026/11/daily-ops-2026-11-02.pdf", timings={"render": 1.25, "mail": 2},
    generated_at="2026-11-03T05:59:58+00:00", reportgen_version="0.9.0")


def as_json() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(MANIFEST.to_json())
    return loaded


def test_round_trip() -> None:
    assert Manifest.from_json(MANIFEST.to_json()) == MANIFEST
    pruned = replace(MANIFEST, pruned="2027-01-08T02:00:00+00:00")
    assert Manifest.from_json(pruned.to_json().decode()) == pruned
    assert as_json()["pruned"] is None


def test_unknown_keys_of_a_newer_reportgen_are_dropped() -> None:
    data = as_json()
    data["signature"] = {"alg": "ed25519", "value": "…"}
    data["emails"][1]["dkim"] = True
    data["emails"][1]["to"] = ["ops@example.com"]

    assert Manifest.from_json(json.dumps(data)) == MANIFEST


def test_pruned_is_made_but_no_longer_archived() -> None:
    assert MANIFEST.made and MANIFEST.archived and MANIFEST.mailed
    pruned = replace(MANIFEST, pruned="2027-01-08T02:00:00+00:00")
    assert pruned.made and pruned.mailed and not pruned.archived
    unarchived = replace(MANIFEST, archive_url=None)  # a report with `archive: false`
    assert unarchived.made and not unarchived.archived
    failed = replace(MANIFEST, file=None, bytes=0, sha256=None, archive_url=None, error="every widget failed")
    assert not failed.made and not failed.archived


def change(data: Any, path: str, value: Any) -> None:
    """Set (or, given ``...``, remove) the value at a dotted path such as ``emails.1.to``."""
    *parents, last = path.split(".")
    for part in parents:
        data = data[int(part)] if isinstance(data, list) else data[part]
    if value is ...:
        del data[last]
    elif isinstance(data, list):
        data[int(last)] = value
    else:
        data[last] = value


@pytest.mark.parametrize("path, value, reason", [
    ("report", 7, "`report` must be a string, not 7"),
    ("date", None, "`date` must be a string, not null"),
    ("title", ..., "`title` is missing"),
    ("period", ["2026-11-02"], '`period` must be an object, not ["2026-11-02"]'),
    ("period.start", 1762038000, "`period.start` must be a string, not 1762038000"),
    ("file", 3, "`file` must be a string or null, not 3"),
    ("bytes", "48213", '`bytes` must be an integer, not "48213"'),
    ("bytes", True, "`bytes` must be an integer, not true"),
    ("sha256", ["ab"], '`sha256` must be a string or null, not ["ab"]'),
    ("widgets", [], "`widgets` must be an object, not []"),
    ("widgets.failed", "1", '`widgets.failed` must be an integer, not "1"'),
    ("throttled", 1.5, "`throttled` must be an integer, not 1.5"),
    ("emails", {}, "`emails` must be a list, not {}"),
    ("emails.0", "<first@reportgen.test>", '`emails[0]` must be an object, not "<first@reportgen.test>"'),
    ("emails.1.message_id", ..., "`emails[1].message_id` is missing"),
    ("emails.1.to", "ops@example.com", '`emails[1].to` must be a list, not "ops@example.com"'),
    ("emails.1.cc.0", None, "`emails[1].cc[0]` must be a string, not null"),
    ("emails.1.attached", "yes", '`emails[1].attached` must be true or false, not "yes"'),
    ("emails.1.attempts", "2", '`emails[1].attempts` must be an integer, not "2"'),
    ("emails.1.error", 451, "`emails[1].error` must be a string or null, not 451"),
    ("archive_url", {"s3": "x"}, '`archive_url` must be a string or null, not {"s3": "x"}'),
    ("timings", [1.25], "`timings` must be an object, not [1.25]"),
    ("timings.render", "fast", '`timings.render` must be a number, not "fast"'),
    ("generated_at", 0, "`generated_at` must be a string or null, not 0"),
    ("pruned", True, "`pruned` must be a string or null, not true"),
    ("reportgen_version", None, "`reportgen_version` must be a string, not null"),
    ("version", 2, "not a reportgen manifest of version 1"),
    ("version", "1", "not a reportgen manifest of version 1"),
    ("version", ..., "not a reportgen manifest of version 1"),
])
def test_a_field_of_the_wrong_type_is_a_value_error(path: str, value: Any, reason: str) -> None:
    data = as_json()
    change(data, path, value)
    with pytest.raises(ValueError) as caught:
        Manifest.from_json(json.dumps(data))
    assert str(caught.value) == reason


@pytest.mark.parametrize("text, reason", [
    (b'{"report": "daily-ops"', "not valid JSON: "),
    (b"\xff\xfe", "not valid JSON: "),
    (b'["daily-ops"]', "not a reportgen manifest of version 1"),
    (b"null", "not a reportgen manifest of version 1"),
])
def test_what_is_not_a_manifest_is_a_value_error(text: bytes, reason: str) -> None:
    with pytest.raises(ValueError) as caught:
        Manifest.from_json(text)
    assert str(caught.value).startswith(reason)


def test_a_long_wrong_value_is_shortened() -> None:
    data = as_json()
    data["title"] = ["x" * 200]
    with pytest.raises(ValueError) as caught:
        Manifest.from_json(json.dumps(data))
    assert str(caught.value) == '`title` must be a string, not ["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…'


def test_with_mail_replaces_the_record_of_the_same_message() -> None:
    sending = replace(MAIL, message_id="<new@reportgen.test>", status=SENDING)
    manifest = MANIFEST.with_mail(sending)
    assert manifest.emails == MANIFEST.emails + (sending,) and not manifest.mailed
    assert manifest.with_mail(replace(sending, status=SENT)).emails[-1].status == SENT
    assert len(manifest.with_mail(replace(sending, status=SENT)).emails) == 3
