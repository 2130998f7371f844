"""The typed objects the pipeline passes along: spec → plan → results.

Everything after ``spec.load_spec`` works on these, never on raw YAML. They are frozen and picklable,
so a plan and its results can be handed to a worker process that builds the PDF.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# CloudWatch's documented limits for one GetMetricWidgetImage call.
MAX_METRICS_PER_WIDGET = 100
MAX_WIDGET_JSON_BYTES = 100 * 1024
MIN_WIDGET_PIXELS, MAX_WIDGET_PIXELS = 1, 2000
DEFAULT_WIDGET_WIDTH, DEFAULT_WIDGET_HEIGHT = 600, 400
DEFAULT_RATE_LIMIT = 20.0  # GetMetricWidgetImage requests per second, per account and region
DEFAULT_PERIOD = 300       # seconds per datapoint when a widget or metric sets none
# A report id names files, archive keys and mail headers: nothing in it can escape a folder or a header.
REPORT_ID = re.compile(r"[a-z][a-z0-9-]{0,63}")
MB = 1024 * 1024           # what "MB" means in mail sizes and in `max_attachment_mb`
SES_MAX_MESSAGE_MB = 40    # SES v2 takes raw messages of at most 40 MB, attachments (base64) included


def valid_period(seconds: int, *, allow_20: bool = False) -> bool:
    """Whether CloudWatch takes ``seconds`` as a period: 1, 5, 10, 30 or a multiple of 60.

    ``allow_20`` also admits 20, which the metric-data APIs take for high-resolution metrics.
    """
    high_resolution = (1, 5, 10, 20, 30) if allow_20 else (1, 5, 10, 30)
    return seconds > 0 and (seconds in high_resolution or seconds % 60 == 0)


@dataclass(frozen=True)
class Layout:
    page: str = "A4"               # A4 | A3 | Letter | Legal
    orientation: str = "landscape"  # landscape | portrait
    columns: int = 2               # 1..4 widgets side by side
    rows: int | None = None        # at most this many rows of widgets on a page; None: as many as fit
    logo: Path | None = None       # a PNG, JPEG or SVG on the cover, beside the title
    footer: str | None = None      # a line at the foot of every page, e.g. "Confidential"
    contents: bool | None = None   # a table of contents; None: when there are more than CONTENTS_AFTER sections
    fonts: tuple[str, ...] = ()    # font files (relative to the spec) or family names tried before installed ones


CONTENTS_AFTER = 3  # sections; a report with more gets a table of contents unless `contents: false`


@dataclass(frozen=True)
class AwsTarget:
    """Where widgets are fetched from: a profile (or the default credential chain), a region, and optionally a
    role assumed with STS. A report sets one; a section or a widget may set its own."""

    region: str = "us-east-1"
    profile: str | None = None
    rate_limit: float = DEFAULT_RATE_LIMIT
    role_arn: str | None = None
    external_id: str | None = None   # what the role's trust policy may ask of whoever assumes it
    session_name: str | None = None  # shown in CloudTrail; default "reportgen"


@dataclass(frozen=True)
class ClientKey:
    """Reports with the same key share one client and one rate limit.

    AWS's quota is per account and region; reportgen knows profiles, not accounts, so two profiles of one
    account each get the full rate (lower ``aws.rate_limit`` in their specs if that matters).
    """

    profile: str | None
    region: str
    role_arn: str | None = None
    external_id: str | None = field(default=None, repr=False)
    session_name: str | None = None

    @classmethod
    def of(cls, target: AwsTarget) -> ClientKey:
        return cls(target.profile, target.region, target.role_arn, target.external_id, target.session_name)

    def __str__(self) -> str:
        role = f" as {self.role_arn}" if self.role_arn else ""
        return f"{self.profile or 'default'}{role}@{self.region}"


@dataclass(frozen=True)
class Period:
    """A report period as written: a keyword, or a start/end pair (ISO 8601 datetimes or durations)."""

    keyword: str | None = "yesterday"
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class WidgetSpec:
    title: str
    source: Mapping[str, Any]  # MetricWidget JSON, report defaults merged in, no start/end added yet
    line: int                  # spec line that declares the widget, for messages
    file: Path | None = None   # the JSON file it was read from, when given as `file:`
    span: int | None = 1       # columns the widget takes in its row; None: the whole row
    caption: str | None = None  # a line or two under the chart
    table: bool = False        # the numbers behind the chart in a table under it (GetMetricData)
    aws: AwsTarget | None = None  # its own account, region or role; None: the section's (or the report's)
    repeat: Repeat | None = None  # drawn once per value, `${name}` replaced in its strings


@dataclass(frozen=True)
class Repeat:
    """Values to draw a section or widget once for each: a list, or a dimension's values that ListMetrics
    finds for a metric (optionally with other dimensions fixed, matching a glob, at most ``limit``)."""

    name: str = "value"                   # `${name}` is replaced by each value
    values: tuple[str, ...] = ()
    namespace: str | None = None          # ListMetrics: the metric …
    metric: str | None = None
    dimension: str | None = None          # … and the dimension whose values are repeated over
    dimensions: tuple[tuple[str, str], ...] = ()  # other dimensions the metric must have
    match: str | None = None              # a glob the values must match, e.g. "i-0*"
    limit: int = 20
    line: int = 0


@dataclass(frozen=True)
class AlarmsItem:
    """The alarms that went off in the report's period, listed between a section's widgets."""

    before: int                           # the index of the widget it precedes
    prefix: str | None = None             # alarm names starting with this
    names: tuple[str, ...] = ()           # or these alarms
    state: str | None = None              # only alarms in this state now (ALARM, OK, INSUFFICIENT_DATA)
    line: int = 0


@dataclass(frozen=True)
class DashboardSource:
    """A section whose content is a CloudWatch dashboard's, read with GetDashboard at run time."""

    name: str
    variables: tuple[tuple[str, str], ...] = ()  # dashboard variables the spec sets, by id or property
    line: int = 0
    table: bool = False   # the section's `table`, for the widgets the dashboard brings
    defaults: str = "{}"  # the spec's `defaults` as JSON, merged under each dashboard widget


@dataclass(frozen=True)
class TextItem:
    """Commentary in markdown between a section's widgets."""

    text: str
    before: int  # the index of the widget it precedes in its section; len(widgets) at the section's end
    line: int


@dataclass(frozen=True)
class Section:
    title: str
    widgets: tuple[WidgetSpec, ...]
    columns: int | None = None       # overrides the layout's `columns` for this section
    rows: int | None = None          # overrides the layout's `rows` for this section
    page_break_before: bool = False  # the section starts on a new page
    texts: tuple[TextItem, ...] = ()  # in order
    alarms: tuple[AlarmsItem, ...] = ()
    dashboard: DashboardSource | None = None  # the widgets and texts come from it at run time
    repeat: Repeat | None = None     # the section is drawn once per value
    aws: AwsTarget | None = None     # its own account, region or role for all its widgets
    line: int = 0


@dataclass(frozen=True)
class Summary:
    """A page of what changed: each tabled series against the period of the same length before."""

    threshold: float = 20.0  # percent: a change at least this large (up or down) is flagged at the top


@dataclass(frozen=True)
class Schedule:
    """When a report is due, as local dates in its time zone (see ``reportgen.schedule``)."""

    kind: str = "daily"          # daily | weekly | monthly | cron
    weekday: int | None = None   # weekly: 0 = Monday … 6 = Sunday
    day: int | None = None       # monthly: 1..31 (a month too short for it is due on its last day)
    last_day: bool = False       # monthly: `last`
    cron: str | None = None      # cron: the five-field expression, in wall-clock time of the report's zone


@dataclass(frozen=True)
class EmailDelivery:
    """Who gets a report by mail, and what the message says (``{title}``-style placeholders)."""

    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    subject: str = "{title} – {date}"
    body: str | None = None      # a paragraph above the summary; None: the summary alone
    inline_chart: bool = False   # the first chart in the HTML part, so a mail preview shows a graph
    line: int | None = field(default=None, compare=False)  # where the spec says `email:`, for messages

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc + self.bcc


@dataclass(frozen=True)
class Delivery:
    email: EmailDelivery | None = None
    archive: bool = True


@dataclass(frozen=True)
class ReportSpec:
    id: str                      # lowercase letters, digits and '-'; names the output files
    title: str
    path: Path                   # the YAML file
    timezone: str                # IANA name, already checked to exist
    period: Period
    aws: AwsTarget
    layout: Layout
    sections: tuple[Section, ...]
    description: str | None = None
    period_line: int | None = None  # where the period is written (its `start` if custom), for plan errors
    schedule: Schedule = Schedule()
    deliver: Delivery = Delivery()
    warnings: tuple[str, ...] = ()  # ``FILE:LINE: message`` for what loaded but deserves a word (unknown keys)
    summary: Summary | None = None

    @property
    def has_tables(self) -> bool:
        return any(widget.table for section in self.sections for widget in section.widgets)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def widget_count(self) -> int:
        return sum(len(s.widgets) for s in self.sections)


@dataclass(frozen=True)
class TimeWindow:
    """A report period resolved to instants; ``start`` and ``end`` are aware datetimes in ``timezone``."""

    start: datetime
    end: datetime
    timezone: str

    def label(self) -> str:
        """Human text for the PDF, e.g. ``Wed 25 Nov 2026 00:00 – Thu 26 Nov 2026 00:00 (Europe/Berlin, UTC+01:00)``."""
        fmt = "%a %d %b %Y %H:%M"
        offset = self.end.strftime("%z")
        utc = f"UTC{offset[:3]}:{offset[3:]}"
        return f"{self.start:{fmt}} – {self.end:{fmt}} ({self.timezone}, {utc})"


@dataclass(frozen=True)
class WidgetRequest:
    """One GetMetricWidgetImage call: the exact JSON text sent, and where its image goes in the report."""

    report_id: str
    section: int        # index into the report's sections
    index: int          # position within the section
    title: str
    metric_widget: str  # JSON text, with absolute start/end and timezone filled in
    width: int          # pixels
    height: int
    aws: AwsTarget | None = None  # where it is fetched, when not the report's own


@dataclass(frozen=True)
class ReportPlan:
    spec: ReportSpec
    report_date: date
    window: TimeWindow
    widgets: tuple[WidgetRequest, ...]

    @property
    def output_name(self) -> str:
        return f"{self.spec.id}-{self.report_date.isoformat()}.pdf"


# --- site-wide delivery settings (reportgen.yaml) -------------------------------------------------------


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    tls: str = "starttls"          # starttls | implicit | none
    user: str | None = None
    password_env: str | None = None  # the environment variable that holds the password; never the password
    rate_limit: float = 5.0        # messages per second
    timeout: float = 60.0          # seconds for one attempt


@dataclass(frozen=True)
class SesSettings:
    region: str = "us-east-1"
    profile: str | None = None
    rate_limit: float = 1.0        # messages per second: SES's sandbox rate; raise it to your account's


@dataclass(frozen=True)
class EmailSettings:
    sender: str                    # `from:` in reportgen.yaml
    transport: str = "smtp"        # smtp | ses
    smtp: SmtpSettings | None = None
    ses: SesSettings = SesSettings()
    max_attachment_mb: float = 10.0  # measured after base64; a larger PDF is linked, not attached
    attempts: int = 5              # per message, the first included


@dataclass(frozen=True)
class ArchiveSettings:
    url: str                       # a folder, or s3://bucket/prefix
    keep_daily_days: int = 35      # daily files older than this are pruned; monthly snapshots never are
    region: str | None = None      # S3 only
    profile: str | None = None     # S3 only


@dataclass(frozen=True)
class SiteConfig:
    path: Path | None              # the reportgen.yaml it came from, None for the defaults
    archive: ArchiveSettings
    email: EmailSettings | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try for one widget.

    Retry n (from 0) waits ``base_delay * 2**n`` plus a random jitter of up to ``base_delay``, at most
    ``max_delay``: the floor gives a throttled account time to recover, the jitter keeps widgets that
    failed together from retrying together.
    """

    attempts: int = 6         # in all, the first one included
    base_delay: float = 0.5   # seconds before the first retry; doubles on each retry after it
    max_delay: float = 20.0   # seconds; no single wait is longer
    timeout: float = 30.0     # seconds for one attempt, not counting the wait for the rate limiter


DEFAULT_POLICY = RetryPolicy()


DEFAULT_METRIC_DATA_RATE = 50.0  # GetMetricData requests per second, per account and region: a quota of its own
# Each API's quota in requests per second, per account and region (CloudWatch's service quotas page). A report's
# `aws.rate_limit` below GetMetricWidgetImage's 20 scales them all down alike (a shared account, a shard).
API_QUOTAS: dict[str, float] = {
    "GetMetricWidgetImage": DEFAULT_RATE_LIMIT, "GetMetricData": DEFAULT_METRIC_DATA_RATE, "ListMetrics": 25.0,
    "GetDashboard": 10.0, "DescribeAlarms": 9.0, "DescribeAlarmHistory": 3.0,
}


@dataclass(frozen=True)
class SeriesData:
    """One series GetMetricData returned for a widget: its label and its datapoints, oldest first."""

    id: str                            # the query's Id (a SEARCH gives several series one Id)
    label: str
    timestamps: tuple[datetime, ...]   # aware, UTC, ascending
    values: tuple[float, ...]
    unit: str | None = None            # e.g. "Percent"; None when not known


@dataclass(frozen=True)
class SeriesStats:
    """What a table row says about one series over one window; the numbers are None without datapoints."""

    id: str
    label: str
    unit: str | None
    minimum: float | None
    average: float | None              # the mean of the datapoints' values
    maximum: float | None
    last: float | None
    max_at: datetime | None            # aware, UTC: the first datapoint that reached the maximum
    points: int


@dataclass(frozen=True)
class WidgetNumbers:
    """The numbers behind one widget: its visible series over the report's period (and, for the summary,
    the period of the same length before it), in the widget's order."""

    series: tuple[SeriesData, ...] = ()
    stats: tuple[SeriesStats, ...] = ()
    previous: tuple[SeriesStats, ...] | None = None  # None unless asked for; matched to ``stats`` by id and label
    error: str | None = None           # why there are no numbers (the chart may still be there)
    notes: tuple[str, ...] = ()        # what the numbers leave out, e.g. a row in another region


@dataclass(frozen=True)
class WidgetResult:
    """What became of one widget: a PNG, or the error that is drawn in its place. Once the PNG is in its PDF the
    run lets go of it (``png`` is None again) and the result stays ``ok``."""

    request: WidgetRequest
    png: bytes | None = None
    error: str | None = None       # one line for the placeholder box, e.g. "InvalidParameterValue: …"
    error_code: str | None = None  # AWS error code when CloudWatch answered, else None
    attempts: int = 1
    throttled: int = 0             # attempts answered with Throttling
    numbers: WidgetNumbers | None = None  # the table's numbers, when the widget asks for a table

    @property
    def ok(self) -> bool:
        return self.error is None
