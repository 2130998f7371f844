"""The report e-mail: checked addresses and templates, and the MIME message built from them (stdlib only).

Every piece of text that ends up in a header is checked for line breaks and control characters first, so a
recipient list or a subject cannot smuggle in headers of its own ("header injection"). Addresses must have
an ASCII local part: SES and many relays do not take SMTPUTF8, and a report that silently goes nowhere is
worse than a spec error. A non-ASCII domain is fine; it is written in its IDNA (``xn--``) form, which every
server understands. Display names may be any text; they are encoded as RFC 2047 words. Lengths are checked
before anything else (320 characters with the name, 254 for the address, 64 before the @): the e-mail
parser takes quadratic time on long input, and a message quotes at most the first 60 characters.

One message goes to at most ``MAX_RECIPIENTS`` addresses (to, cc and bcc together): SES refuses more, and a
list that long belongs in a mailing list, which also lets people leave it without a change to the spec.

The message is ``multipart/mixed``: a ``multipart/alternative`` with the same summary as text and as HTML
(the HTML wrapped with the first chart in a ``multipart/related`` when asked for), then the PDF, unless it
would make the message too large, in which case both parts say so and link to the archived copy.
"""

from __future__ import annotations

import email.policy
import html
import re
import string
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address, Group
from email.message import EmailMessage
from email.utils import format_datetime

from reportgen.model import MB, EmailDelivery
from reportgen.schema import did_you_mean

TEMPLATE_FIELDS = ("title", "report", "date", "period", "failed")
MAX_RECIPIENTS = 50  # different addresses per message, to, cc and bcc together; SES refuses more

# Unicode categories that must never reach a header: controls (CR, LF, NUL, NEL, …) and the line and
# paragraph separators that some mail software takes for line breaks.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                     r"|\[[0-9A-Fa-f:.]+\]")
_LINE_LENGTH = 76  # base64 characters per line in MIME bodies, each line ending in CRLF
_MAX_ADDRESS = 320   # characters of an address with its display name (64 + 1 + 255, the usual cap)
_MAX_ADDR_SPEC = 254  # RFC 5321's 256-character path, less its angle brackets
_MAX_LOCAL_PART = 64  # RFC 5321
_SHOWN = 60          # characters of an address quoted in a message


def check_header_text(text: str, what: str) -> None:
    """Raise ``ValueError`` if ``text`` holds a line break or another control character.

    ``what`` names the text in the message, e.g. ``"subject"``.
    """
    for position, char in enumerate(text):
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise ValueError(f"{what} contains a line break or control character (U+{ord(char):04X} at position "
                             f"{position + 1}); it must be one line of text (header injection?)")


def check_address(text: str) -> str:
    """Check one address, optionally with a display name, and return it normalised.

    ``"Ops Team <ops@example.com>"`` stays as it is, ``" ops@EXAMPLE.com "`` becomes ``"ops@EXAMPLE.com"``,
    ``"x@bücher.de"`` becomes ``"x@xn--bcher-kva.de"``. Raises ``ValueError`` with a message that quotes
    (the start of) the address for an empty text, a text over 320 characters, a line break or control
    character, a missing ``@``, more than one address, a non-ASCII local part, an address over 254
    characters or a local part over 64, or anything else the e-mail parser finds wrong.
    """
    return str(_parse_address(text))


def envelope_address(text: str) -> str:
    """The bare address of ``text`` as the SMTP envelope carries it, in the form the headers carry:
    ``"Ops <ops@bücher.de>"`` gives ``"ops@xn--bcher-kva.de"``. Raises ``ValueError`` as ``check_address``."""
    return _parse_address(text).addr_spec


def envelope_recipients(recipients: Iterable[str]) -> list[str]:
    """The different bare addresses of ``recipients`` (to, cc and bcc together), in order, as
    ``envelope_address`` gives them.

    Raises ``ValueError`` for an address ``check_address`` refuses, and for more than ``MAX_RECIPIENTS``
    different addresses: check a spec's delivery with it before a night's run finds out.
    """
    addresses = list(dict.fromkeys(envelope_address(recipient) for recipient in recipients))
    if len(addresses) > MAX_RECIPIENTS:
        raise ValueError(f"the mail has {len(addresses)} different recipients in to, cc and bcc together; at most "
                         f"{MAX_RECIPIENTS} are allowed (SES refuses more in one message): send it to a mailing list "
                         "instead")
    return addresses


def _shown(text: str) -> str:
    """``text`` quoted for a message: at most 60 characters, the last of them "…" when it is cut."""
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…")


def _parse_address(text: str) -> Address:
    stripped = text.strip()
    if not stripped:
        raise ValueError("an e-mail address is empty")
    shown = _shown(stripped)
    if len(stripped) > _MAX_ADDRESS:  # before parsing, which is quadratic in the length on some input
        raise ValueError(f"{shown} is {len(stripped)} characters long; an e-mail address with its name may have "
                         f"at most {_MAX_ADDRESS}")
    check_header_text(stripped, f"the e-mail address {shown}")
    if "@" not in stripped:
        raise ValueError(f"{shown} is not an e-mail address: it has no @")
    try:
        header = email.policy.default.header_factory("to", stripped)  # an AddressHeader
    except Exception:  # the parser fails on some malformed input (e.g. "a@") instead of noting a defect
        raise ValueError(f"{shown} is not an e-mail address") from None
    addresses: tuple[Address, ...] = header.addresses
    groups: tuple[Group, ...] = header.groups
    if len(addresses) > 1:
        raise ValueError(f"{shown} holds {len(addresses)} addresses; give each as its own list item")
    if any(group.display_name is not None for group in groups) or not addresses:
        raise ValueError(f"{shown} is not one e-mail address")
    address = addresses[0]
    if any(not char.isascii() for char in address.username):
        raise ValueError(f"{shown} has non-ASCII characters before the @, which many mail servers "
                         "(and SES) cannot deliver")
    if header.defects or not address.username or not address.domain:
        raise ValueError(f"{shown} is not a valid e-mail address")
    if len(address.username) > _MAX_LOCAL_PART:
        raise ValueError(f"{shown} has {len(address.username)} characters before the @; at most "
                         f"{_MAX_LOCAL_PART} are allowed")
    normalised = Address(display_name=address.display_name, username=address.username,
                         domain=_ascii_domain(address.domain, shown))
    if len(normalised.addr_spec) > _MAX_ADDR_SPEC:
        raise ValueError(f"{shown} is {len(normalised.addr_spec)} characters long without its name; at most "
                         f"{_MAX_ADDR_SPEC} are allowed")
    return normalised


def _ascii_domain(domain: str, shown: str) -> str:
    try:
        ascii_domain = domain if domain.isascii() else domain.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_domain = ""
    if not _DOMAIN.fullmatch(ascii_domain):
        raise ValueError(f"{shown} is not a valid e-mail address: {_shown(domain)} is not a domain name")
    return ascii_domain


def check_template(text: str, what: str) -> None:
    """Raise ``ValueError`` unless ``text`` uses only ``{title}``-style placeholders of ``TEMPLATE_FIELDS``.

    Refused: unknown names (with the nearest valid one suggested), ``{}``, format specs and conversions
    (``{date:%Y}``, ``{title!r}``), attribute or index access (``{title.upper}``), unbalanced braces.
    Literal braces are written doubled: ``{{`` and ``}}``.
    """
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(text)
                  if name is not None]
    except ValueError as exc:
        raise ValueError(f"{what} has an unbalanced brace ({exc}); write a literal brace as {{{{ or }}}}") from None
    known = ", ".join(f"{{{name}}}" for name in TEMPLATE_FIELDS)
    for name, spec, conversion in fields:
        written = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if not name:
            raise ValueError(f"{what}: `{written}` needs a name; the placeholders are {known}")
        if spec or conversion:
            raise ValueError(f"{what}: `{written}` has a format; write the placeholder alone, as `{{{name}}}`")
        if not name.isidentifier():
            raise ValueError(f"{what}: `{written}` is not a placeholder; the placeholders are {known}")
        if name not in TEMPLATE_FIELDS:
            raise ValueError(f"{what}: `{written}` is not a placeholder{did_you_mean(name, TEMPLATE_FIELDS)} "
                             f"(the placeholders are {known})")


def fill_template(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its placeholders replaced by ``values``; checks ``text`` with ``check_template`` first.

    Braces inside the values are kept as they are.
    """
    check_template(text, "the template")
    return text.format_map(values)


@dataclass(frozen=True)
class MailContent:
    """What the message says about one report and date, and the PDF that goes with it."""

    title: str
    report: str                    # the report id
    date: str                      # the report date, YYYY-MM-DD
    period: str                    # human label of the report window
    widgets_total: int
    failures: tuple[tuple[str, str], ...]  # (widget title, error) of each failed widget
    archive_location: str | None   # where the archived copy is (path or s3://…), None when not archived
    archive_link: str | None       # a URL or path to download it (presigned for S3)
    pdf_name: str
    pdf: bytes
    first_chart: bytes | None = None  # PNG for an inline preview, when asked for

    def template_values(self) -> dict[str, str]:
        return {"title": self.title, "report": self.report, "date": self.date, "period": self.period,
                "failed": str(len(self.failures))}


def message_id(report: str, day: str, generation: int, sender: str) -> str:
    """The Message-ID of a report's mail for one date, e.g. ``<daily-ops.2026-12-02.1@reportgen.example.com>``.

    Deterministic, so a resend after a crash carries the same ID and mail clients can tell it is the same
    message; a deliberate resend uses the next ``generation``. The domain is the sender's.
    """
    return f"<{report}.{day}.{generation}@{_parse_address(sender).domain}>"


def base64_size(n: int) -> int:
    """Bytes that ``n`` bytes take once base64-encoded in a MIME body: lines of 76 characters plus CRLF."""
    chars = 4 * -(-n // 3)
    return chars + 2 * -(-chars // _LINE_LENGTH)


def message_size(message: EmailMessage) -> int:
    """Bytes ``message`` takes on the wire (lines ending in CRLF, attachments in base64), what SES and
    SMTP servers hold against their size limits: over one, rebuild it with the PDF linked."""
    return len(message.as_bytes(policy=email.policy.SMTP))


def build_message(delivery: EmailDelivery, sender: str, content: MailContent, *, message_id: str,
                  max_attachment_bytes: int, date: datetime) -> tuple[EmailMessage, bool]:
    """The message for ``delivery``, and whether the PDF is attached.

    Headers: From, To, Cc, Subject (the delivery's template, filled), Date (``date``, which must be aware),
    Message-ID, ``Auto-Submitted: auto-generated`` (so auto-responders stay quiet) and
    ``X-Reportgen-Report: <report> <date>``. There is never a Bcc header: Bcc recipients belong in the
    envelope only. The PDF is attached unless its base64 form is over ``max_attachment_bytes``; then the
    text says so and gives ``content.archive_link``. ``message_size`` tells what the whole message weighs.
    """
    values = content.template_values()
    subject = fill_template(delivery.subject, values)
    check_header_text(subject, "the subject")
    attached = base64_size(len(content.pdf)) <= max_attachment_bytes
    summary = _Summary(content, fill_template(delivery.body, values) if delivery.body else None,
                       attached=attached, max_attachment_bytes=max_attachment_bytes)
    chart_cid = (f"chart.{message_id.strip('<>')}"
                 if delivery.inline_chart and content.first_chart is not None else None)

    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = _parse_address(sender)
    message["To"] = [_parse_address(address) for address in delivery.to]
    if delivery.cc:
        message["Cc"] = [_parse_address(address) for address in delivery.cc]
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Reportgen-Report"] = f"{content.report} {content.date}"
    # Quoted-printable keeps the text 7-bit, whatever the relay supports, and readable where it is ASCII.
    message.set_content(summary.text(), cte="quoted-printable")
    message.add_alternative(summary.html(chart_cid), subtype="html", cte="quoted-printable")
    if chart_cid is not None:
        html_part = message.get_body(("html",))
        assert html_part is not None and content.first_chart is not None
        html_part.add_related(content.first_chart, "image", "png", cid=f"<{chart_cid}>", disposition="inline",
                              filename="chart.png")
    if attached:
        message.add_attachment(content.pdf, "application", "pdf", filename=content.pdf_name)
    return message, attached


def _size(size: float) -> str:
    """``14.2 MB``, ``10 MB``, ``52.3 KB``: three figures at most, in the unit that reads best."""
    return f"{size / MB:.3g} MB" if size >= MB else f"{size / 1024:.3g} KB"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class _Summary:
    """The sentences of the message, written once and set as plain text and as HTML."""

    def __init__(self, content: MailContent, body: str | None, *, attached: bool, max_attachment_bytes: int) -> None:
        self.content = content
        self.body = body
        failed = len(content.failures)
        self.status = f"{_plural(content.widgets_total - failed, 'widget')} rendered, {failed} failed"
        if attached:
            self.pdf_note = f"The report is attached as {content.pdf_name}."
        else:
            self.pdf_note = (f"The PDF is {_size(base64_size(len(content.pdf)))} as an attachment, over the "
                             f"{_size(max_attachment_bytes)} limit for attachments, so it is not attached.")
        # A local archive's link is its path: said once, as the archived copy.
        self.link = None if attached or content.archive_link == content.archive_location else content.archive_link
        if not attached and content.archive_link is None:
            self.pdf_note += " There is no download link for it" + (
                "; see the archived copy." if content.archive_location else ", and it was not archived.")
        self.footer = f"Sent automatically by reportgen for the report {content.report} of {content.date}."

    def text(self) -> str:
        content = self.content
        lines = [content.title, content.period, ""]
        if self.body:
            lines += [self.body, ""]
        lines.append(self.status + (":" if content.failures else "."))
        lines += [f"  - {title}: {error}" for title, error in content.failures]
        lines += ["", self.pdf_note]
        if self.link:
            lines.append(f"Download it: {self.link}")
        if content.archive_location:
            lines.append(f"Archived copy: {content.archive_location}")
        lines += ["", "-- ", self.footer]
        return "\n".join(lines) + "\n"

    def html(self, chart_cid: str | None) -> str:
        content = self.content
        esc = html.escape
        rows = [
            f'<h1 style="margin:0 0 4px;font-size:20px;line-height:26px;color:#1f2933;">{esc(content.title)}</h1>'
            f'<p style="margin:0;font-size:13px;line-height:18px;color:#52606d;">{esc(content.period)}</p>',
        ]
        if self.body:
            rows.append("".join(f'<p style="margin:0 0 10px;">{"<br>".join(map(esc, paragraph.splitlines()))}</p>'
                                for paragraph in re.split(r"\n\s*\n", self.body.strip())))
        colour = "#b42318" if content.failures else "#1a7f37"
        status = f'<p style="margin:0;font-weight:bold;color:{colour};">{esc(self.status)}</p>'
        if content.failures:
            status += ('<ul style="margin:6px 0 0;padding-left:20px;">'
                       + "".join(f'<li style="margin:0 0 4px;"><b>{esc(title)}</b>: {esc(error)}</li>'
                                 for title, error in content.failures)
                       + "</ul>")
        rows.append(status)
        if chart_cid is not None:
            rows.append(f'<img src="cid:{esc(chart_cid)}" alt="First chart of the report" width="552" '
                        'style="display:block;width:100%;max-width:552px;height:auto;border:1px solid #dde1e6;">')
        pdf = f'<p style="margin:0;">{esc(self.pdf_note)}</p>'
        if self.link:
            pdf += f'<p style="margin:6px 0 0;">Download it: {_html_link(self.link)}</p>'
        if content.archive_location:
            pdf += (f'<p style="margin:6px 0 0;color:#52606d;">Archived copy: '
                    f'<code style="font-size:12px;">{esc(content.archive_location)}</code></p>')
        rows.append(pdf)
        cells = "\n".join(f'<tr><td style="padding:12px 24px;">{row}</td></tr>' for row in rows)
        return (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(content.title)}</title></head>\n"
            '<body style="margin:0;padding:0;background:#f4f5f7;">\n'
            '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
            'style="background:#f4f5f7;"><tr><td align="center" style="padding:24px 12px;">\n'
            '<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0" '
            'style="width:100%;max-width:600px;background:#ffffff;border:1px solid #dde1e6;'
            'font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:20px;color:#1f2933;">\n'
            f"{cells}\n"
            f'<tr><td style="padding:12px 24px 16px;font-size:12px;color:#7b8794;border-top:1px solid #dde1e6;">'
            f"{esc(self.footer)}</td></tr>\n"
            "</table>\n</td></tr></table>\n</body></html>\n"
        )


def _html_link(link: str) -> str:
    # Only web links are clickable; a path on some machine is shown as text to copy.
    if link.startswith(("https://", "http://")):
        return f'<a href="{html.escape(link)}" style="color:#0b5cad;">{html.escape(link)}</a>'
    return f'<code style="font-size:12px;">{html.escape(link)}</code>'
