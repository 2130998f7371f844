"""reportgen.yaml and a spec's `schedule:`/`deliver:`: checked like specs, with FILE:LINE errors and no secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from reportgen.config import check_specs_against, find_site_config, load_site_config
from reportgen.errors import SpecError
from reportgen.model import EmailDelivery, Schedule, SmtpSettings
from reportgen.spec import load_spec, load_specs

SPEC = """\
report: mailed
title: Mailed report
sections:
  - title: S
    widgets:
      - metrics: [[AWS/EC2, CPUUtilization]]
"""

SITE = """\
email:
  from: "Reports <reports@example.com>"
  transport: smtp
  smtp:
    host: smtp.example.com
    port: 587
    tls: starttls
    user: reports
    password_env: REPORTGEN_SMTP_PASSWORD
archive:
  url: archive
  keep_daily_days: 20
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_site_settings_load_into_typed_objects(tmp_path: Path) -> None:
    config = load_site_config(write(tmp_path, "reportgen.yaml", SITE), default_archive=tmp_path / "unused")
    assert config.email is not None
    assert config.email.sender == "Reports <reports@example.com>"
    assert config.email.smtp == SmtpSettings(host="smtp.example.com", port=587, tls="starttls", user="reports",
                                             password_env="REPORTGEN_SMTP_PASSWORD")
    # A relative archive folder is read from the file's folder, wherever the command runs.
    assert config.archive.url == str(tmp_path / "archive")
    assert config.archive.keep_daily_days == 20


def test_without_a_site_file_the_archive_is_beside_the_pdfs_and_nothing_is_mailed(tmp_path: Path) -> None:
    config = load_site_config(None, default_archive=tmp_path / "out" / "archive")
    assert config.email is None and config.archive.url == str(tmp_path / "out" / "archive")


def test_an_s3_archive_url_is_kept_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, "reportgen.yaml", "archive: {url: s3://reports-archive/nightly, region: eu-west-1}\n")
    config = load_site_config(path, default_archive=tmp_path)
    assert config.archive.url == "s3://reports-archive/nightly" and config.archive.region == "eu-west-1"


@pytest.mark.parametrize(("old", "new", "fragment", "line"), [
    ("    password_env: REPORTGEN_SMTP_PASSWORD\n", "    password: hunter2\n",
     "a password never goes in a file", 9),
    ("    tls: starttls\n", "    tls: startls\n", "did you mean `starttls`?", 7),
    ("  transport: smtp\n", "  transport: sendmail\n", "must be one of smtp, ses", 3),
    ("    port: 587\n", "    port: 70000\n", "between 1 and 65535", 6),
    ("    password_env: REPORTGEN_SMTP_PASSWORD\n", "", "`user` needs `password_env`", 8),
    ("    password_env: REPORTGEN_SMTP_PASSWORD\n", "    password_env: not a name\n",
     "the name of an environment variable", 9),
    ('  from: "Reports <reports@example.com>"\n', '  from: "reports@example.com\\nBcc: x@evil.example"\n',
     "`from`", 2),
    ("  url: archive\n", "  url: https://example.com/archive\n", "a folder or s3://bucket/prefix", 11),
    ("  url: archive\n", "  url: s3://A_Bucket\n", "valid bucket name", 11),
    ("  keep_daily_days: 20\n", "  keep_daily_days: 0\n", "between 1 and 36500", 12),
    ("  keep_daily_days: 20\n", "  keep_dayly_days: 20\n", "did you mean `keep_daily_days`?", 12),
    ("  transport: smtp\n  smtp:\n", "  transport: smtp\n  smpt:\n", "did you mean `smtp`?", 4),
    ("  transport: smtp\n", "  transport: ses\n  max_attachment_mb: 50\n", "SES takes messages of at most 40 MB", 4),
    ("    tls: starttls\n", "    tls: none\n", "would send the password to smtp.example.com in clear text", 7),
    ("  url: archive\n", "  url: s3://reports-archive/team-a/../team-b\n", "without empty, `.` or `..` parts", 11),
    ("  url: archive\n", "  url: s3://reports-archive/a//b\n", "without empty, `.` or `..` parts", 11),
])
def test_site_errors_name_the_line_and_the_key(tmp_path: Path, old: str, new: str, fragment: str, line: int) -> None:
    assert old in SITE
    path = write(tmp_path, "reportgen.yaml", SITE.replace(old, new))
    with pytest.raises(SpecError) as caught:
        load_site_config(path, default_archive=tmp_path)
    assert fragment in caught.value.message
    assert (caught.value.file, caught.value.line) == (path, line)
    assert "hunter2" not in str(caught.value)


def test_a_login_without_tls_is_only_for_a_server_on_this_machine(tmp_path: Path) -> None:
    local = SITE.replace("smtp.example.com", "127.0.0.1").replace("tls: starttls", "tls: none")
    config = load_site_config(write(tmp_path, "reportgen.yaml", local), default_archive=tmp_path)
    assert config.email is not None and config.email.smtp is not None and config.email.smtp.tls == "none"


def test_transport_smtp_needs_its_host(tmp_path: Path) -> None:
    path = write(tmp_path, "reportgen.yaml", "email: {from: reports@example.com}\n")
    with pytest.raises(SpecError, match=r"`transport: smtp` needs `smtp: \{host: …\}`"):
        load_site_config(path, default_archive=tmp_path)


def test_the_site_file_is_found_beside_the_specs_and_is_not_a_report(tmp_path: Path) -> None:
    write(tmp_path, "mailed.yaml", SPEC)
    site = write(tmp_path, "reportgen.yaml", SITE)
    assert find_site_config([tmp_path]) == site
    assert find_site_config([tmp_path / "mailed.yaml"]) == site
    assert [spec.id for spec in load_specs([tmp_path])] == ["mailed"]


DELIVER = """\
schedule: {weekly: friday}
deliver:
  email:
    to: ["Ops <ops@example.com>", dev@example.com]
    cc: lead@example.com
    bcc: [audit@example.com]
    subject: "{title} for {date}"
    body: "{failed} widgets failed in {period}."
    inline_chart: true
  archive: false
"""


def test_schedule_and_delivery_load_into_the_spec(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, "mailed.yaml", SPEC + DELIVER))
    assert spec.schedule == Schedule(kind="weekly", weekday=4)
    assert spec.deliver.archive is False
    assert spec.deliver.email == EmailDelivery(
        to=("Ops <ops@example.com>", "dev@example.com"), cc=("lead@example.com",), bcc=("audit@example.com",),
        subject="{title} for {date}", body="{failed} widgets failed in {period}.", inline_chart=True)
    assert spec.deliver.email.line == 9


def test_a_spec_without_schedule_or_delivery_is_daily_and_archived(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, "plain.yaml", SPEC))
    assert spec.schedule == Schedule() and spec.deliver.archive and spec.deliver.email is None


@pytest.mark.parametrize(("old", "new", "fragment", "line"), [
    ('    to: ["Ops <ops@example.com>", dev@example.com]\n',
     '    to: ["ops@example.com\\r\\nBcc: spy@evil.example"]\n', "`to[0]`", 10),
    ("    cc: lead@example.com\n", "    cc: lead.example.com\n", "`cc`", 11),
    ('    subject: "{title} for {date}"\n', '    subject: "{titel} for {date}"\n', "did you mean `title`?", 13),
    ('    subject: "{title} for {date}"\n', '    subject: "Report\\nBcc: spy@evil.example"\n', "`subject`", 13),
    ('    body: "{failed} widgets failed in {period}."\n', '    body: "{failed widgets"\n', "`body`", 14),
    ("schedule: {weekly: friday}\n", "schedule: {weekly: fryday}\n", "did you mean `friday`?", 7),
    ("schedule: {weekly: friday}\n", "schedule: hourly\n", "schedule", 7),
    ("  archive: false\n", "  archive: sometimes\n", "true or false", 16),
    ('    subject: "{title} for {date}"\n', f'    subject: "{"x" * 201}"\n', "at most 200 are taken", 13),
    ('    body: "{failed} widgets failed in {period}."\n', f'    body: "{"x" * 10_001}"\n', "at most 10,000", 14),
    ("    inline_chart: true\n", "    inline_chart: yes please\n", "true or false", 15),
])
def test_delivery_errors_name_the_line(tmp_path: Path, old: str, new: str, fragment: str, line: int) -> None:
    assert old in DELIVER
    path = write(tmp_path, "mailed.yaml", SPEC + DELIVER.replace(old, new))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert fragment in str(caught.value)
    assert (caught.value.file, caught.value.line) == (path, line)


def test_a_title_is_one_line_since_it_is_the_default_subject(tmp_path: Path) -> None:
    path = write(tmp_path, "mailed.yaml", SPEC.replace("title: Mailed report", 'title: "Daily\\nOps"'))
    with pytest.raises(SpecError, match="`title` contains a line break") as caught:
        load_spec(path)
    assert caught.value.line == 2


def test_a_spec_that_mails_needs_site_mail_settings(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, "mailed.yaml", SPEC + DELIVER))
    config = load_site_config(write(tmp_path, "reportgen.yaml", "archive: {url: kept}\n"), default_archive=tmp_path)
    with pytest.raises(SpecError) as caught:
        check_specs_against(config, [spec])
    assert caught.value.file == spec.path and caught.value.line == 9
    assert "has no `email:` section" in caught.value.message
    check_specs_against(load_site_config(write(tmp_path, "reportgen.yaml", SITE), default_archive=tmp_path), [spec])


def test_at_most_fifty_recipients(tmp_path: Path) -> None:
    many = ", ".join(f"user{n}@example.com" for n in range(51))
    path = write(tmp_path, "mailed.yaml", SPEC + DELIVER.replace("    cc: lead@example.com\n", f"    cc: [{many}]\n"))
    with pytest.raises(SpecError, match="to, cc and bcc: .*50") as caught:
        load_spec(path)
    assert caught.value.line == 9
