"""The nightly job end to end: the stand-in renders, a real SMTP server receives, the archive records.

Everything runs through ``reportgen.cli.main`` as cron would run it, against servers on loopback.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from nightly_helpers import ThreadedSink, free_port, manifest_of, write_reports

from reportgen.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNDELIVERED, EXIT_UNEXPECTED, main
from reportgen.local import BackgroundStandIn
from reportgen.manifest import FAILED, SENT


@pytest.fixture
def sink() -> ThreadedSink:
    with ThreadedSink() as running:
        yield running


def run(specs: Path, standin: BackgroundStandIn, tmp_path: Path, *args: str) -> int:
    return main(["run", str(specs), "--out", str(tmp_path / "out"), "--endpoint-url", standin.endpoint_url, *args])


def test_one_run_renders_archives_mails_and_records_it(standin: BackgroundStandIn, sink: ThreadedSink,
                                                       tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    specs = write_reports(tmp_path / "specs", port=sink.port)
    assert run(specs, standin, tmp_path, "--date", "2026-11-26") == EXIT_OK
    archive = specs / "archive"
    pdf = archive / "nightly-ops" / "2026" / "11" / "nightly-ops-2026-11-26.pdf"
    assert pdf.read_bytes() == (tmp_path / "out" / "nightly-ops-2026-11-26.pdf").read_bytes()

    (mail,) = sink.received
    assert sorted(mail.recipients) == ["audit@example.com", "lead@example.com", "ops@example.com"]
    message = mail.message
    assert message["To"] == "Ops <ops@example.com>" and message["Cc"] == "lead@example.com"
    assert message["Bcc"] is None  # the blind copy is in the envelope only
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "nightly-ops-2026-11-26.pdf"
    assert attachment.get_content() == pdf.read_bytes()

    manifest = manifest_of(archive, "nightly-ops", "2026-11-26")
    assert manifest.sha256 == hashlib.sha256(pdf.read_bytes()).hexdigest() and manifest.bytes == pdf.stat().st_size
    assert manifest.period == {"start": "2026-11-25T00:00:00+00:00", "end": "2026-11-26T00:00:00+00:00",
                               "timezone": "UTC"}
    assert manifest.widgets["total"] == 1 and manifest.widgets["failed"] == 0
    (record,) = manifest.emails
    assert record.status == SENT and record.message_id == message["Message-ID"]
    assert record.reply is not None and record.reply.startswith("250")
    assert record.bcc == ("audit@example.com",) and record.transport == "smtp"
    assert manifest.archive_url == str(pdf)
    out = capsys.readouterr()
    assert "nightly-ops 2026-11-26: mailed to 3 recipients" in out.err
    assert f"archive: {archive}" in out.out


def test_a_rerun_mails_nothing_twice_and_resend_mails_on_purpose(standin: BackgroundStandIn, sink: ThreadedSink,
                                                                  tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    specs = write_reports(tmp_path / "specs", port=sink.port)
    for _ in range(2):
        assert run(specs, standin, tmp_path, "--date", "2026-11-26") == EXIT_OK
        assert run(specs, standin, tmp_path, "--date", "2026-11-26", "--due") == EXIT_OK
    assert len(sink.received) == 1
    assert "not mailed again" in capsys.readouterr().err
    assert run(specs, standin, tmp_path, "--date", "2026-11-26", "--resend") == EXIT_OK
    first, second = sink.received
    assert first.message["Message-ID"] != second.message["Message-ID"]  # a new message, not a retry
    records = manifest_of(specs / "archive", "nightly-ops", "2026-11-26").emails
    assert [(r.status, r.resend) for r in records] == [(SENT, False), (SENT, True)]


def test_a_mail_server_that_is_down_loses_nothing_and_the_next_run_mails_once(
        standin: BackgroundStandIn, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()  # nothing listens there yet
    specs = write_reports(tmp_path / "specs", port=port)
    assert run(specs, standin, tmp_path, "--date", "2026-11-26", "--due") == EXIT_UNDELIVERED
    archive = specs / "archive"
    manifest = manifest_of(archive, "nightly-ops", "2026-11-26")
    assert manifest.archive_url and Path(manifest.archive_url).is_file()
    (record,) = manifest.emails
    assert record.status == FAILED and record.error and "127.0.0.1" in record.error
    err = capsys.readouterr().err
    assert "nightly-ops 2026-11-26: mail failed:" in err and "the next run sends it" in err

    with ThreadedSink(port) as sink:
        # The next night's run catches the missed mail up, from the archived PDF, with the same Message-ID.
        assert run(specs, standin, tmp_path, "--date", "2026-11-27", "--due") == EXIT_OK
        assert sorted(sink.by_report()) == ["nightly-ops 2026-11-26", "nightly-ops 2026-11-27"]
        late = next(m for m in sink.received if m.message["X-Reportgen-Report"] == "nightly-ops 2026-11-26")
        assert late.message["Message-ID"] == record.message_id
        (attachment,) = list(late.message.iter_attachments())
        assert attachment.get_content() == Path(manifest.archive_url).read_bytes()
        assert run(specs, standin, tmp_path, "--date", "2026-11-27", "--due") == EXIT_OK
        assert len(sink.received) == 2
    assert "already delivered" in capsys.readouterr().err


def test_a_report_that_mails_without_site_mail_settings_is_bad_input(standin: BackgroundStandIn, tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    specs = write_reports(tmp_path / "specs", port=1)
    (specs / "reportgen.yaml").write_text("archive: {url: archive}\n")
    assert run(specs, standin, tmp_path) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "nightly-ops.yaml:9: `deliver.email` needs the site's e-mail settings" in err
    assert not (tmp_path / "out").exists()


def test_no_deliver_only_writes_the_pdf(standin: BackgroundStandIn, sink: ThreadedSink, tmp_path: Path) -> None:
    specs = write_reports(tmp_path / "specs", port=sink.port)
    assert run(specs, standin, tmp_path, "--date", "2026-11-26", "--no-deliver") == EXIT_OK
    assert (tmp_path / "out" / "nightly-ops-2026-11-26.pdf").is_file()
    assert not (specs / "archive").exists() and not sink.received


def test_backfill_renders_each_date_as_that_night(standin: BackgroundStandIn, sink: ThreadedSink,
                                                  tmp_path: Path) -> None:
    # Retention counts from today: keep these old dates long enough to look at them.
    specs = write_reports(tmp_path / "specs", port=sink.port, timezone="Europe/Berlin", keep=3650)
    assert run(specs, standin, tmp_path, "--from", "2026-10-25", "--to", "2026-10-27") == EXIT_OK
    lengths = {}
    for day in ("2026-10-25", "2026-10-26", "2026-10-27"):
        assert (tmp_path / "out" / f"nightly-ops-{day}.pdf").is_file()
        period = manifest_of(specs / "archive", "nightly-ops", day).period
        lengths[day] = datetime.fromisoformat(period["end"]) - datetime.fromisoformat(period["start"])
    # The report of the 26th covers the 25th, the day Berlin's clocks went back: 25 hours.
    assert lengths == {"2026-10-25": timedelta(hours=24), "2026-10-26": timedelta(hours=25),
                       "2026-10-27": timedelta(hours=24)}
    assert sorted(sink.by_report().values()) == [1, 1, 1]


def test_due_over_a_calendar_with_missed_nights_and_snapshots(standin: BackgroundStandIn, sink: ThreadedSink,
                                                               tmp_path: Path) -> None:
    specs = write_reports(tmp_path / "specs", port=sink.port, timezone="Europe/Berlin",
                          reports={"cal-daily": "daily", "cal-weekly": "{weekly: monday}",
                                   "cal-monthly": "{monthly: 1}", "cal-weekdays": "'0 7 * * 1-5'"})
    nights = ["2026-10-24", "2026-10-25", "2026-10-26",  # the machine is down from the 27th to the 30th
              "2026-10-31", "2026-11-01", "2026-11-02"]
    for night in nights:
        assert run(specs, standin, tmp_path, "--due", "--date", night) == EXIT_OK, night
    mailed = sink.by_report()
    assert set(mailed.values()) == {1}  # nothing twice
    expected = {f"cal-daily 2026-10-{d}" for d in range(24, 32)} | {"cal-daily 2026-11-01", "cal-daily 2026-11-02"}
    expected -= {"cal-daily 2026-10-27"}  # four nights back from the 31st: beyond --catch-up 3
    expected |= {"cal-weekly 2026-10-26", "cal-weekly 2026-11-02", "cal-monthly 2026-11-01"}
    expected |= {f"cal-weekdays 2026-10-{d}" for d in (26, 28, 29, 30)} | {"cal-weekdays 2026-11-02"}
    assert set(mailed) == expected
    archive = specs / "archive"
    # October is over for the daily report: its snapshot keeps the 31st. The monthly report's November is
    # complete as soon as its one report is made.
    assert (archive / "cal-daily/2026/10/snapshot/cal-daily-2026-10-31.pdf").is_file()
    assert (archive / "cal-daily/2026/10/snapshot/cal-daily-2026-10.snapshot.json").is_file()
    assert not (archive / "cal-daily/2026/11/snapshot").exists()
    assert (archive / "cal-monthly/2026/11/snapshot/cal-monthly-2026-11-01.pdf").is_file()


def test_the_archive_commands_list_and_verify(standin: BackgroundStandIn, sink: ThreadedSink, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    specs = write_reports(tmp_path / "specs", port=sink.port)
    assert run(specs, standin, tmp_path, "--date", "2026-11-26") == EXIT_OK
    capsys.readouterr()
    assert main(["archive", "list", str(specs)]) == EXIT_OK
    listing = capsys.readouterr().out
    assert "nightly-ops" in listing and "2026-11-26" in listing
    assert main(["archive", "verify", str(specs)]) == EXIT_OK
    pdf = specs / "archive/nightly-ops/2026/11/nightly-ops-2026-11-26.pdf"
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pdf.write_bytes(bytes(data))
    assert main(["archive", "verify", str(specs)]) == EXIT_UNEXPECTED
    assert "nightly-ops-2026-11-26.pdf" in capsys.readouterr().out


def test_local_mail_keeps_each_message_as_an_eml_file(standin: BackgroundStandIn, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    specs = write_reports(tmp_path / "specs", port=1)  # --local-mail replaces the configured server
    mail = tmp_path / "mail"
    assert run(specs, standin, tmp_path, "--date", "2026-11-26", "--local-mail", str(mail)) == EXIT_OK
    (eml,) = mail.glob("*.eml")
    assert eml.name.endswith("-nightly-ops-2026-11-26.eml")
    assert b"Subject: Report nightly-ops" in eml.read_bytes()
    assert f"mail kept in {mail}" in capsys.readouterr().out


def test_archive_false_keeps_only_the_record(standin: BackgroundStandIn, sink: ThreadedSink, tmp_path: Path) -> None:
    specs = write_reports(tmp_path / "specs", port=sink.port)
    spec = specs / "nightly-ops.yaml"
    spec.write_text(spec.read_text().replace("    bcc: [audit@example.com]\n", "    bcc: [audit@example.com]\n"
                                             "  archive: false\n"))
    for _ in range(2):
        assert run(specs, standin, tmp_path, "--date", "2026-11-26", "--due") == EXIT_OK
    assert len(sink.received) == 1
    manifest = manifest_of(specs / "archive", "nightly-ops", "2026-11-26")
    assert manifest.mailed and manifest.sha256 and manifest.archive_url is None
    assert not list((specs / "archive").rglob("*.pdf"))
    assert main(["archive", "verify", str(specs)]) == EXIT_OK


def test_failed_widgets_are_named_in_the_mail_and_a_report_with_none_is_made_again(
        make_standin: Callable[..., BackgroundStandIn], sink: ThreadedSink, tmp_path: Path) -> None:
    specs = write_reports(tmp_path / "specs", port=sink.port)
    broken = make_standin()
    broken.add_fault("InvalidParameterValue", status=400, count=-1, match_title="CPU")
    assert run(specs, broken, tmp_path, "--date", "2026-11-26", "--due", "--attempts", "1") == EXIT_UNEXPECTED
    manifest = manifest_of(specs / "archive", "nightly-ops", "2026-11-26")
    assert manifest.file is None and manifest.error and "InvalidParameterValue" in manifest.error
    assert not sink.received  # no PDF, no mail

    healthy = make_standin()
    assert run(specs, healthy, tmp_path, "--date", "2026-11-27", "--due") == EXIT_OK
    assert sorted(sink.by_report()) == ["nightly-ops 2026-11-26", "nightly-ops 2026-11-27"]  # caught up


def test_an_unreadable_record_is_left_to_a_person_and_nothing_is_mailed(standin: BackgroundStandIn,
                                                                       sink: ThreadedSink, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    specs = write_reports(tmp_path / "specs", port=sink.port)
    assert run(specs, standin, tmp_path, "--date", "2026-11-26") == EXIT_OK
    record = specs / "archive/nightly-ops/2026/11/nightly-ops-2026-11-26.manifest.json"
    record.write_text("{ not json")
    assert run(specs, standin, tmp_path, "--date", "2026-11-26", "--due", "--resend") == EXIT_UNDELIVERED
    assert len(sink.received) == 1 and record.read_text() == "{ not json"
    assert "its record cannot be read" in capsys.readouterr().err


def test_a_record_from_a_newer_reportgen_is_read_and_respected(standin: BackgroundStandIn, sink: ThreadedSink,
                                                                tmp_path: Path) -> None:
    specs = write_reports(tmp_path / "specs", port=sink.port)
    assert run(specs, standin, tmp_path, "--date", "2026-11-26") == EXIT_OK
    record = specs / "archive/nightly-ops/2026/11/nightly-ops-2026-11-26.manifest.json"
    record.write_text(record.read_text().replace('"report":', '"added_by_a_later_version": [1, 2],\n  "report":'))
    assert run(specs, standin, tmp_path, "--date", "2026-11-26", "--due") == EXIT_OK
    assert len(sink.received) == 1


def test_a_password_variable_that_is_not_set_stops_the_run_before_it_renders(
        standin: BackgroundStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    specs = write_reports(tmp_path / "specs", port=1)
    site = specs / "reportgen.yaml"
    site.write_text(site.read_text().replace("tls: none}", "tls: none, user: reports, password_env: NIGHTLY_PW}"))
    monkeypatch.delenv("NIGHTLY_PW", raising=False)
    assert run(specs, standin, tmp_path) == EXIT_BAD_INPUT
    assert "environment variable NIGHTLY_PW" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_local_mail_is_a_rehearsal_that_leaves_the_real_archive_alone(standin: BackgroundStandIn,
                                                                      sink: ThreadedSink, tmp_path: Path) -> None:
    specs = write_reports(tmp_path / "specs", port=sink.port)
    assert run(specs, standin, tmp_path, "--date", "2026-11-26", "--local-mail", str(tmp_path / "mail")) == EXIT_OK
    assert not (specs / "archive").exists()
    rehearsal = manifest_of(tmp_path / "out" / "archive", "nightly-ops", "2026-11-26")
    assert rehearsal.emails[-1].transport == "local"
    assert run(specs, standin, tmp_path, "--date", "2026-11-26", "--due") == EXIT_OK
    assert len(sink.received) == 1  # the real run still mails it


def test_retention_keeps_the_record_so_a_pruned_date_is_never_mailed_again(standin: BackgroundStandIn,
                                                                            sink: ThreadedSink,
                                                                            tmp_path: Path) -> None:
    specs = write_reports(tmp_path / "specs", port=sink.port, keep=1)
    for night in ("2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"):
        assert run(specs, standin, tmp_path, "--due", "--date", night) == EXIT_OK
    november = specs / "archive/nightly-ops/2026/11"
    assert not list(november.glob("*.pdf"))  # pruned: November is over and has its snapshot
    assert manifest_of(specs / "archive", "nightly-ops", "2026-11-29").pruned
    assert (november / "snapshot/nightly-ops-2026-11-30.pdf").is_file()
    # A later catch-up and an explicit backfill over the pruned dates mail nothing again.
    assert run(specs, standin, tmp_path, "--due", "--date", "2026-12-02", "--catch-up", "5") == EXIT_OK
    assert run(specs, standin, tmp_path, "--from", "2026-11-28", "--to", "2026-11-30") == EXIT_OK
    assert set(sink.by_report().values()) == {1} and len(sink.received) == 5
    assert main(["archive", "verify", str(specs)]) == EXIT_OK
