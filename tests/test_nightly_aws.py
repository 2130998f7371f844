"""The nightly job with an S3 archive and Amazon SES v2, through moto's server mode on loopback."""

from __future__ import annotations

import email.policy
import hashlib
import re
import urllib.request
from email import message_from_bytes
from pathlib import Path

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from reportgen.cli import EXIT_OK, EXIT_UNDELIVERED, main
from reportgen.local import BackgroundStandIn
from reportgen.manifest import SENT, Manifest

SPEC = """\
report: s3-report
title: Report kept in S3
timezone: UTC
aws: {profile: nightly-aws}
defaults: {width: 300, height: 200, period: 3600}
deliver:
  email:
    to: [ops@example.com]
    bcc: [audit@example.com]
sections:
  - title: Compute
    widgets:
      - metrics: [[AWS/EC2, CPUUtilization, InstanceId, i-1]]
"""

SITE = """\
email:
  from: reports@example.com
  transport: ses
  ses: {region: eu-west-1}
  max_attachment_mb: 0.001   # every PDF is too large: the mail links to the archived copy
  attempts: 1
archive:
  url: s3://reports-archive/nightly
  region: eu-west-1
"""


def test_s3_archive_and_ses_mail(standin: BackgroundStandIn, moto_aws: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3", region_name="eu-west-1")
    s3.create_bucket(Bucket="reports-archive", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    boto3.client("sesv2", region_name="eu-west-1").create_email_identity(EmailIdentity="reports@example.com")
    (tmp_path / "s3-report.yaml").write_text(SPEC)
    (tmp_path / "reportgen.yaml").write_text(SITE)

    assert main(["run", str(tmp_path), "--out", str(tmp_path / "out"), "--date", "2026-11-26",
                 "--endpoint-url", standin.endpoint_url]) == EXIT_OK

    key = "nightly/s3-report/2026/11/s3-report-2026-11-26"
    pdf = s3.get_object(Bucket="reports-archive", Key=f"{key}.pdf")["Body"].read()
    assert pdf == (tmp_path / "out" / "s3-report-2026-11-26.pdf").read_bytes()
    manifest = Manifest.from_json(s3.get_object(Bucket="reports-archive", Key=f"{key}.manifest.json")["Body"].read())
    assert manifest.sha256 == hashlib.sha256(pdf).hexdigest()
    assert manifest.archive_url == f"s3://reports-archive/{key}.pdf"
    (record,) = manifest.emails
    assert record.status == SENT and record.transport == "ses" and not record.attached

    (sent,) = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
    assert set(sent.destinations) == {"audit@example.com", "ops@example.com"}  # the blind copy: envelope only
    assert record.reply == sent.id
    message = message_from_bytes(sent.raw_data.encode(), policy=email.policy.default)
    assert message["Bcc"] is None and not list(message.iter_attachments())
    text = message.get_body(("plain",)).get_content()
    (link,) = re.findall(r"https?://\S+", text)
    with urllib.request.urlopen(link) as response:  # the presigned link really fetches the archived PDF
        assert response.read() == pdf


def test_an_ses_message_too_large_with_the_pdf_links_it_instead(
        standin: BackgroundStandIn, moto_aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reportgen import nightly

    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="reports-archive", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    boto3.client("sesv2", region_name="eu-west-1").create_email_identity(EmailIdentity="reports@example.com")
    (tmp_path / "s3-report.yaml").write_text(SPEC)
    (tmp_path / "reportgen.yaml").write_text(SITE.replace("max_attachment_mb: 0.001", "max_attachment_mb: 10"))
    # The PDF fits the attachment limit, but not with the rest of the message under SES's cap (made small here).
    monkeypatch.setattr(nightly, "SES_MAX_MESSAGE_MB", 0.001)
    assert main(["run", str(tmp_path), "--out", str(tmp_path / "out"), "--date", "2026-11-26",
                 "--endpoint-url", standin.endpoint_url]) == EXIT_OK
    (sent,) = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
    message = message_from_bytes(sent.raw_data.encode(), policy=email.policy.default)
    assert not list(message.iter_attachments())
    assert re.search(r"Download it: https?://\S+s3-report-2026-11-26\.pdf", message.get_body(("plain",)).get_content())


def test_a_mailer_that_cannot_be_had_still_archives_and_the_mail_waits(standin: BackgroundStandIn, moto_aws: str,
                                                                       tmp_path: Path) -> None:
    boto3.client("s3", region_name="eu-west-1").create_bucket(
        Bucket="reports-archive", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    (tmp_path / "s3-report.yaml").write_text(SPEC)
    (tmp_path / "reportgen.yaml").write_text(SITE.replace("ses: {region: eu-west-1}",
                                                          "ses: {region: eu-west-1, profile: no-such-profile}"))
    assert main(["run", str(tmp_path), "--out", str(tmp_path / "out"), "--date", "2026-11-26",
                 "--endpoint-url", standin.endpoint_url]) == EXIT_UNDELIVERED
    body = boto3.client("s3", region_name="eu-west-1").get_object(
        Bucket="reports-archive", Key="nightly/s3-report/2026/11/s3-report-2026-11-26.manifest.json")["Body"]
    (record,) = Manifest.from_json(body.read()).emails
    assert record.status == "failed" and record.error and "no-such-profile" in record.error
