"""Site-wide delivery settings: ``reportgen.yaml`` beside the specs (or ``--config FILE``).

It says how mail leaves (SMTP or Amazon SES) and where the archive is, for every report of a folder. It is
checked with the same tables and FILE:LINE errors as a spec. A password is never in it: only the name of the
environment variable that holds it.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportgen.errors import SpecError
from reportgen.model import (
    SES_MAX_MESSAGE_MB,
    ArchiveSettings,
    EmailSettings,
    ReportSpec,
    SesSettings,
    SiteConfig,
    SmtpSettings,
)
from reportgen.schema import Context, KeyPath, Schema, choice, integer, label, number, parsed_by, pattern, string
from reportgen.spec import SITE_CONFIG_STEM, read_yaml
from reportgen.specschema import address

_S3_URL = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/(?P<prefix>.*))?")


def _positive(ctx: Context, value: Any, path: KeyPath) -> None:
    number(ctx, value, path)
    if value <= 0:
        ctx.fail(f"`{label(path)}` must be above 0, not {value}", path)


def check_archive_url(value: str) -> str:
    """A folder or ``s3://bucket[/prefix]``; ``ValueError`` saying what is wrong otherwise."""
    if value.startswith("s3://"):
        match = _S3_URL.fullmatch(value)
        if match is None:
            raise ValueError(f"must be s3://BUCKET or s3://BUCKET/PREFIX with a valid bucket name, not `{value}`")
        from reportgen.archive import check_s3_prefix  # here: the archive module brings the AWS stack

        try:
            check_s3_prefix(match["prefix"] or "")
        except ValueError:  # keys are the prefix and more: `..` or `//` in it would put them elsewhere
            raise ValueError(f"must have a prefix without empty, `.` or `..` parts, not `{value}`") from None
    elif "://" in value:
        raise ValueError(f"must be a folder or s3://bucket/prefix, not `{value}`")
    elif not value.strip():
        raise ValueError("must name a folder or s3://bucket/prefix")
    return value


_NO_PASSWORD = ("a password never goes in a file: put it in an environment variable and name that variable "
                "with `password_env`")
_REGION = pattern(r"[a-z]{2,}(-[a-z]+)+-\d+", "an AWS region such as us-east-1")

SITE = Schema("reportgen.yaml", {
    "email": Schema("email", {
        "from": address,
        "transport": choice("smtp", "ses"),
        "smtp": Schema("smtp", {
            "host": string,
            "port": integer(1, 65535),
            "tls": choice("starttls", "implicit", "none"),
            "user": string,
            "password_env": pattern(r"[A-Za-z_][A-Za-z0-9_]*", "the name of an environment variable"),
            "rate_limit": _positive,
            "timeout": _positive,
        }, required=("host",), refused={key: _NO_PASSWORD for key in ("password", "pass", "secret")}),
        "ses": Schema("ses", {"region": _REGION, "profile": string, "rate_limit": _positive}),
        "max_attachment_mb": _positive,
        "attempts": integer(1, 20),
    }, required=("from",)),
    "archive": Schema("archive", {
        "url": parsed_by(check_archive_url),
        "keep_daily_days": integer(1, 36_500),
        "region": _REGION,
        "profile": string,
    }, required=("url",)),
})


def find_site_config(paths: Sequence[Path]) -> Path | None:
    """``reportgen.yaml`` (or ``.yml``) in the folder of the first spec path, if there is one."""
    if not paths:
        return None
    folder = paths[0] if paths[0].is_dir() else paths[0].parent
    for suffix in (".yaml", ".yml"):
        candidate = folder / f"{SITE_CONFIG_STEM}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def load_site_config(path: Path | None, *, default_archive: Path) -> SiteConfig:
    """The settings in ``path``, or the defaults (an archive in ``default_archive``, no e-mail) without one.

    A relative archive folder is read from the file's own folder, as a spec's ``file:`` is.
    """
    if path is None:
        return SiteConfig(path=None, archive=ArchiveSettings(url=local_folder(str(default_archive))))
    doc, ctx = read_yaml(path, "reportgen.yaml", "email:, archive:")
    SITE(ctx, doc, ())
    email = doc.get("email")
    settings = None
    if email is not None:
        transport = email.get("transport", "smtp")
        if transport == "smtp" and "smtp" not in email:
            ctx.fail("`transport: smtp` needs `smtp: {host: …}`", ("email",))
        smtp = email.get("smtp")
        if smtp is not None and "user" in smtp and "password_env" not in smtp:
            ctx.fail("`user` needs `password_env`, the environment variable that holds its password",
                     ("email", "smtp", "user"))
        if smtp is not None and "user" in smtp and smtp.get("tls") == "none" and not _loopback(smtp["host"]):
            ctx.fail(f"`tls: none` would send the password to {smtp['host']} in clear text; use starttls or "
                     "implicit (only a server on this machine may go without)", ("email", "smtp", "tls"))
        limit = email.get("max_attachment_mb", EmailSettings.max_attachment_mb)
        if transport == "ses" and limit > SES_MAX_MESSAGE_MB:
            ctx.fail(f"`max_attachment_mb` is {limit}, but SES takes messages of at most {SES_MAX_MESSAGE_MB} MB",
                     ("email", "max_attachment_mb"))
        settings = EmailSettings(
            sender=email["from"],
            transport=transport,
            smtp=SmtpSettings(**smtp) if smtp is not None else None,
            ses=SesSettings(**email.get("ses", {})),
            max_attachment_mb=float(limit),
            attempts=email.get("attempts", EmailSettings.attempts),
        )
    archive = dict(doc.get("archive", {"url": str(default_archive)}))
    if "archive" in doc:
        archive["url"] = local_folder(archive["url"], base=path.parent)
    else:
        archive["url"] = local_folder(archive["url"])
    return SiteConfig(path=path, archive=ArchiveSettings(**archive), email=settings)


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def local_folder(url: str, *, base: Path | None = None) -> str:
    """An archive URL as the archive takes it: s3://… as written, a folder as an absolute path (read from
    ``base`` when relative), since it is also what a mail tells its readers."""
    if url.startswith("s3://"):
        return url
    return os.path.abspath(Path(base or ".", os.path.expanduser(url)))


def check_specs_against(config: SiteConfig, specs: Sequence[ReportSpec]) -> None:
    """A spec that mails its report needs the site's e-mail settings; say where both are."""
    if config.email is not None:
        return
    for spec in specs:
        email = spec.deliver.email
        if email is not None:
            where = f"{config.path} has no `email:` section" if config.path else "there is no reportgen.yaml"
            raise SpecError(f"`deliver.email` needs the site's e-mail settings, but {where}; add "
                            "`email: {from: …, transport: smtp, smtp: {host: …}}` to reportgen.yaml beside the "
                            "specs (or pass --config FILE)", file=spec.path, line=email.line, key="email")

