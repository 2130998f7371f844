"""Addresses, subjects and templates checked; the message parsed back as a mail client would read it."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest

from reportgen.mail import (
    MAX_RECIPIENTS,
    MB,
    MailContent,
    base64_size,
    build_message,
    check_address,
    check_header_text,
    check_template,
    envelope_address,
    envelope_recipients,
    fill_template,
    message_id,
    message_size,
)
from reportgen.model import EmailDelivery

SENDER = "Reportgen <reportgen@reportgen.example.com>"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SENT_AT = datetime(2026, 12, 3, 6, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("ops@example.com", "ops@example.com"),
    ("  ops@example.com\t", "ops@example.com"),
    ("Ops Team <ops@example.com>", "Ops Team <ops@example.com>"),
    ('"Smith, Jane" <jane@example.com>', '"Smith, Jane" <jane@example.com>'),
    ("Jörg Müller <jm@example.com>", "Jörg Müller <jm@example.com>"),
    ("x@bücher.example", "x@xn--bcher-kva.example"),
    ("ops+reports@mail.example.co.uk", "ops+reports@mail.example.co.uk"),
])
def test_good_addresses_come_back_normalised(text: str, expected: str) -> None:
    assert check_address(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "an e-mail address is empty"),
    ("   ", "an e-mail address is empty"),
    ("a@example.com\r\nBcc: evil@example.com", "line break or control character (U+000D"),
    ("a@example.com\nBcc: evil@example.com", "line break or control character (U+000A"),
    ("Ops\x00 <a@example.com>", "line break or control character (U+0000"),
    ("a@example.com\u2028Bcc: evil@example.com", "U+2028"),
    ("ops.example.com", "it has no @"),
    ("a@example.com, b@example.com", "holds 2 addresses; give each as its own list item"),
    ("a@example.com; b@example.com", "is not a valid e-mail address"),
    ("Team: a@example.com;", "is not one e-mail address"),
    ("jörg@example.com", "non-ASCII characters before the @"),
    ("a@", "is not an e-mail address"),
    ("@example.com", "is not a valid e-mail address"),
    ("a@@example.com", "is not a valid e-mail address"),
    ("a b@example.com", "is not a valid e-mail address"),
    ("a@exa mple.com", "is not a valid e-mail address"),
    ("a@-example.com", "is not a domain name"),
    ("a@example..com", "is not a valid e-mail address"),
])
def test_bad_addresses_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_address(text)
    assert message in str(caught.value)


def domain(length: int) -> str:
    """A valid domain name of ``length`` characters, in labels of at most 63."""
    labels = ["d" * 62] * (length // 63) + ["d" * (length % 63 or 1)]
    return ".".join(labels)[:length - 4] + ".com"


LONGEST_WITH_NAME = "N" * (320 - len(" <a@example.com>")) + " <a@example.com>"
LONGEST_ADDR_SPEC = "a" * 64 + "@" + domain(254 - 65)


@pytest.mark.parametrize(("text", "length"), [(LONGEST_WITH_NAME, 320), ("a" * 64 + "@example.com", 76),
                                            (LONGEST_ADDR_SPEC, 254)], ids=["with-name", "local-part", "addr-spec"])
def test_addresses_as_long_as_allowed_pass(text: str, length: int) -> None:
    assert len(text) == length and check_address(text) == text


@pytest.mark.parametrize(("text", "message"), [
    ("a@example.com" + "," * 100_000, "is 100013 characters long; an e-mail address with its name may have at most"),
    ("N" + LONGEST_WITH_NAME, "is 321 characters long; an e-mail address with its name may have at most 320"),
    ("a" * 65 + "@example.com", "has 65 characters before the @; at most 64 are allowed"),
    (LONGEST_ADDR_SPEC + "m", "is 255 characters long without its name; at most 254 are allowed"),
    ("a@" + domain(200) + "\r\nBcc: evil@example.com", "contains a line break or control character (U+000D"),
    ("a@" + "ü" * 70 + ".example", "is not a domain name"),
])
def test_long_addresses_are_refused_and_quoted_short(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_address(text)
    assert message in str(caught.value)
    quoted = re.findall(r"'[^']*'", str(caught.value))
    assert quoted and all(len(q) <= 62 and q.endswith("…'") for q in quoted), "at most 60 characters, then …"


def test_envelope_address_is_the_bare_address_in_the_headers_form() -> None:
    assert envelope_address(" Jörg Müller <jm@bücher.example> ") == "jm@xn--bcher-kva.example"
    assert envelope_address('"a b"@example.com') == '"a b"@example.com'
    with pytest.raises(ValueError, match="non-ASCII characters before the @"):
        envelope_address("jörg@example.com")


def test_envelope_recipients_are_counted_once_each_up_to_the_cap() -> None:
    many = [f"r{n}@example.com" for n in range(MAX_RECIPIENTS)]
    assert envelope_recipients(many + ["R0 <r0@example.com>", "x <r1@example.com>"]) == many
    assert envelope_recipients(["a@bücher.example", "a@xn--bcher-kva.example"]) == ["a@xn--bcher-kva.example"]
    with pytest.raises(ValueError) as caught:
        envelope_recipients([*many, "one-more@example.com"])
    assert str(caught.value) == ("the mail has 51 different recipients in to, cc and bcc together; at most 50 are "
                                 "allowed (SES refuses more in one message): send it to a mailing list instead")


@pytest.mark.parametrize("text", ["Daily report – {date}", "Tägliche Übersicht – 日本語", ""])
def test_one_line_header_text_passes(text: str) -> None:
    check_header_text(text, "the subject")


@pytest.mark.parametrize(("text", "code"), [
    ("Report\r\nBcc: evil@example.com", "U+000D"), ("Report\nX-Evil: 1", "U+000A"), ("Report\x1b[31m", "U+001B"),
    ("Report\x85next", "U+0085"), ("Report\u2029", "U+2029"), ("Tab\there", "U+0009"),
])
def test_header_text_with_a_line_break_or_control_character_is_refused(text: str, code: str) -> None:
    prefix = f"the subject contains a line break or control character ({code} at"
    with pytest.raises(ValueError, match=f"^{re.escape(prefix)}"):
        check_header_text(text, "the subject")


@pytest.mark.parametrize("text", [
    "{title} – {date}", "{report} {period}: {failed} failed", "no placeholders", "literal {{braces}}", "",
])
def test_good_templates_pass(text: str) -> None:
    check_template(text, "`subject`")


@pytest.mark.parametrize(("text", "message"), [
    ("{titel} – {date}", "`subject`: `{titel}` is not a placeholder; did you mean `title`? (the placeholders are "
                         "{title}, {report}, {date}, {period}, {failed})"),
    ("{DATE}", "`{DATE}` is not a placeholder; did you mean `date`?"),
    ("{recipient}", "`{recipient}` is not a placeholder (the placeholders are"),
    ("{}", "`{}` needs a name"),
    ("{0}", "`{0}` is not a placeholder"),
    ("{date:%Y}", "`{date:%Y}` has a format; write the placeholder alone, as `{date}`"),
    ("{title!r}", "`{title!r}` has a format"),
    ("{title.__class__}", "`{title.__class__}` is not a placeholder"),
    ("{title[0]}", "`{title[0]}` is not a placeholder"),
    ("{title", "has an unbalanced brace"),
    ("title}", "has an unbalanced brace"),
])
def test_bad_templates_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_template(text, "`subject`")
    assert message in str(caught.value)


def test_fill_template_keeps_braces_in_values_and_checks_the_template() -> None:
    values = {"title": "Costs {EUR}", "report": "r", "date": "2026-12-02", "period": "p", "failed": "0"}
    assert fill_template("{title} – {date} {{x}}", values) == "Costs {EUR} – 2026-12-02 {x}"
    with pytest.raises(ValueError, match="is not a placeholder"):
        fill_template("{title.upper}", values)


def test_message_id_is_deterministic_and_carries_the_senders_domain() -> None:
    first = message_id("daily-ops", "2026-12-02", 1, SENDER)
    assert first == "<daily-ops.2026-12-02.1@reportgen.example.com>"
    assert message_id("daily-ops", "2026-12-02", 1, SENDER) == first
    assert message_id("daily-ops", "2026-12-02", 2, SENDER) != first
    assert message_id("daily-ops", "2026-12-03", 1, SENDER) != first
    idna = message_id("daily-ops", "2026-12-02", 1, "r@bücher.example")
    assert idna == "<daily-ops.2026-12-02.1@xn--bcher-kva.example>"


@pytest.mark.parametrize("n", [0, 1, 2, 3, 56, 57, 58, 1000, 14_200_000])
def test_base64_size_is_what_the_email_package_produces(n: int) -> None:
    part = EmailMessage(policy=email.policy.SMTP)
    part.set_content(bytes(n), "application", "pdf")
    body = part.get_payload()
    assert base64_size(n) == len(body) + body.count("\n")  # each line ends in CRLF on the wire


def content(**changes: Any) -> MailContent:
    values: dict[str, Any] = dict(
        title="Daily operations", report="daily-ops", date="2026-12-02",
        period="Wed 02 Dec 2026 00:00 – Thu 03 Dec 2026 00:00 (Europe/Berlin, UTC+01:00)",
        widgets_total=6, failures=(("CPU <by instance>", "InvalidParameterValue: bad & wrong"),),
        archive_location="s3://reports/daily-ops/2026/12/daily-ops-2026-12-02.pdf",
        archive_link="https://reports.s3.amazonaws.com/daily-ops-2026-12-02.pdf?X-Amz-Signature=ab&X-Amz-Expires=604800",
        pdf_name="daily-ops-2026-12-02.pdf", pdf=PDF)
    values.update(changes)
    return MailContent(**values)


def delivery(**changes: Any) -> EmailDelivery:
    values: dict[str, Any] = dict(to=("Ops Team <ops@example.com>", "lead@example.com"), cc=("cc@example.com",),
                                  bcc=("audit@example.com",))
    values.update(changes)
    return EmailDelivery(**values)


def build(mail: EmailDelivery | None = None, report: MailContent | None = None, *,
          limit: int = 10 * MB) -> tuple[EmailMessage, bool]:
    """Build, serialise as it goes on the wire, and parse back as a mail client would."""
    report = report or content()
    built, attached = build_message(mail or delivery(), SENDER, report, max_attachment_bytes=limit, date=SENT_AT,
                                    message_id=message_id(report.report, report.date, 1, SENDER))
    raw = built.as_bytes()
    assert b"\r\n" in raw and all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed, attached


def texts(message: EmailMessage) -> tuple[str, str]:
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def test_headers_have_no_bcc_and_mark_the_mail_as_automatic() -> None:
    message, attached = build()
    assert attached
    assert message["From"] == SENDER
    assert message["To"] == "Ops Team <ops@example.com>, lead@example.com"
    assert message["Cc"] == "cc@example.com"
    assert "Bcc" not in message and b"audit@example.com" not in message.as_bytes()
    assert message["Subject"] == "Daily operations – 2026-12-02"
    assert message["Date"] == "Thu, 03 Dec 2026 06:00:05 +0000"
    assert message["Message-ID"] == "<daily-ops.2026-12-02.1@reportgen.example.com>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Reportgen-Report"] == "daily-ops 2026-12-02"


def test_structure_is_alternative_text_and_html_then_the_pdf() -> None:
    message, _ = build()
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/pdf"]
    (pdf,) = message.iter_attachments()
    assert pdf.get_filename() == "daily-ops-2026-12-02.pdf"
    assert pdf.get_content_disposition() == "attachment"
    assert pdf.get_content() == PDF


def test_both_parts_summarise_the_report() -> None:
    plain, html = texts(build(delivery(body="Good morning.\nThe {report} numbers for {date}: {failed} failed."))[0])
    for text in (plain, html):
        assert "Daily operations" in text
        assert "Wed 02 Dec 2026 00:00 – Thu 03 Dec 2026 00:00 (Europe/Berlin, UTC+01:00)" in text
        assert "5 widgets rendered, 1 failed" in text
        assert "s3://reports/daily-ops/2026/12/daily-ops-2026-12-02.pdf" in text
        assert "The report is attached as daily-ops-2026-12-02.pdf." in text
    assert "Good morning.\nThe daily-ops numbers for 2026-12-02: 1 failed." in plain
    assert "  - CPU <by instance>: InvalidParameterValue: bad & wrong" in plain
    assert "Good morning.<br>The daily-ops numbers for 2026-12-02: 1 failed." in html
    assert "<b>CPU &lt;by instance&gt;</b>: InvalidParameterValue: bad &amp; wrong" in html
    assert "<by instance>" not in html


def test_html_is_self_contained() -> None:
    _, html = texts(build()[0])
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "no external resources"
    assert "<style" not in html and "<script" not in html  # inline styles only, as Gmail and Outlook want


def test_a_clean_run_says_so() -> None:
    plain, html = texts(build(report=content(failures=(), widgets_total=1))[0])
    assert "1 widget rendered, 0 failed." in plain and "  - " not in plain
    assert "1 widget rendered, 0 failed" in html and "<ul" not in html


def test_inline_chart_is_a_related_part_referenced_by_cid() -> None:
    message, _ = build(delivery(inline_chart=True), content(first_chart=PNG))
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png",
        "application/pdf"]
    image = next(part for part in message.walk() if part.get_content_type() == "image/png")
    assert image.get_content() == PNG
    cid = image["Content-ID"].strip("<>")
    assert cid == "chart.daily-ops.2026-12-02.1@reportgen.example.com"
    assert f'src="cid:{cid}"' in texts(message)[1]
    assert [a.get_filename() for a in message.iter_attachments()] == ["daily-ops-2026-12-02.pdf"]


@pytest.mark.parametrize(("inline_chart", "first_chart"), [(False, PNG), (True, None)])
def test_no_inline_chart_unless_asked_for_and_available(inline_chart: bool, first_chart: bytes | None) -> None:
    message, _ = build(delivery(inline_chart=inline_chart), content(first_chart=first_chart))
    assert "image/png" not in [part.get_content_type() for part in message.walk()]
    assert "cid:" not in texts(message)[1]


def test_a_pdf_too_large_is_linked_not_attached() -> None:
    big = content(pdf=bytes(11 * MB))
    message, attached = build(report=big)
    assert not attached
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/alternative", "text/plain", "text/html"]
    plain, html = texts(message)
    note = "The PDF is 15.1 MB as an attachment, over the 10 MB limit for attachments, so it is not attached."
    assert note in plain and note in html
    assert f"Download it: {big.archive_link}" in plain
    link = big.archive_link or ""
    assert f'<a href="{link.replace("&", "&amp;")}"' in html


def test_the_limit_is_measured_after_base64() -> None:
    size = 3 * MB
    assert build(report=content(pdf=bytes(size)), limit=base64_size(size))[1]
    assert not build(report=content(pdf=bytes(size)), limit=base64_size(size) - 1)[1]


def test_an_oversized_pdf_without_a_link_says_where_to_look() -> None:
    plain, html = texts(build(report=content(pdf=bytes(2000), archive_link=None), limit=1000)[0])
    assert "There is no download link for it; see the archived copy." in plain
    assert "Archived copy: s3://reports/daily-ops/2026/12/daily-ops-2026-12-02.pdf" in plain
    plain, _ = texts(build(report=content(pdf=bytes(2000), archive_link=None, archive_location=None), limit=1000)[0])
    assert "There is no download link for it, and it was not archived." in plain
    assert "Archived copy" not in plain


def test_a_local_path_as_link_is_shown_not_linked() -> None:
    report = content(pdf=bytes(2000), archive_link="/srv/reports/daily-ops-2026-12-02.pdf")
    _, html = texts(build(report=report, limit=1000)[0])
    assert "<code" in html and "/srv/reports/daily-ops-2026-12-02.pdf" in html and "<a href" not in html


def test_non_ascii_title_subject_and_names_are_encoded_and_read_back() -> None:
    title = "Tägliche Übersicht – 日本語"
    mail = delivery(to=("Jörg Müller <jm@example.com>",), cc=(), subject="{title}: {failed} Fehler")
    report = content(title=title, failures=(("Größe", "Fehler ü"),), pdf_name="übersicht.pdf")
    message, _ = build(mail, report)
    raw = message.as_bytes()
    assert raw.isascii(), "headers are RFC 2047 words and bodies quoted-printable or base64"
    assert message["Subject"] == f"{title}: 1 Fehler"
    assert message["To"] == "Jörg Müller <jm@example.com>"
    plain, html = texts(message)
    assert title in plain and title in html and "Größe: Fehler ü" in plain
    assert next(message.iter_attachments()).get_filename() == "übersicht.pdf"


@pytest.mark.parametrize("field", ["to", "cc"])
def test_an_injected_recipient_is_refused_when_building(field: str) -> None:
    with pytest.raises(ValueError, match="line break or control character"):
        build(delivery(**{field: ("a@example.com\r\nBcc: evil@example.com",)}))


def test_a_title_with_a_line_break_cannot_reach_the_subject() -> None:
    with pytest.raises(ValueError, match="^the subject contains a line break"):
        build(report=content(title="Daily\r\nBcc: evil@example.com"))


def test_small_sizes_read_in_kilobytes_and_a_local_copy_is_named_once() -> None:
    path = "/srv/reports/daily-ops-2026-12-02.pdf"
    report = content(pdf=bytes(20_000), archive_link=path, archive_location=path)
    plain, _ = texts(build(report=report, limit=10 * 1024)[0])
    assert "The PDF is 26.7 KB as an attachment, over the 10 KB limit for attachments" in plain
    assert plain.count(path) == 1 and "Download it" not in plain


def test_message_size_is_the_whole_message_on_the_wire() -> None:
    built, _ = build_message(delivery(), SENDER, content(pdf=bytes(100_000)), max_attachment_bytes=10 * MB,
                             date=SENT_AT, message_id=message_id("daily-ops", "2026-12-02", 1, SENDER))
    wire = built.as_bytes(policy=email.policy.SMTP)
    assert message_size(built) == len(wire) > base64_size(100_000)
    plain = EmailMessage()  # a message of the default policy, whose lines end in LF, is measured in CRLF too
    plain.set_content("one\ntwo\n")
    lf = plain.as_bytes()
    assert b"\r\n" not in lf and message_size(plain) == len(lf) + lf.count(b"\n")
