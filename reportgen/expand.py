"""What a report holds when the spec decides it at run time: a dashboard's widgets, and sections or widgets
repeated once per value (given, or the dimension values ListMetrics finds).

``expand`` turns such a spec into a plain one before its plan is made. A dashboard or a ListMetrics call
that fails does not lose the report: the section says what went wrong in its place, and the run counts it
as a problem (exit 3), like a widget that could not be drawn.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from reportgen import apicall
from reportgen.apicall import GaveUp
from reportgen.dashboards import DashboardError, parse_dashboard
from reportgen.errors import WidgetFailure
from reportgen.model import (
    AlarmsItem,
    AwsTarget,
    Repeat,
    ReportSpec,
    RetryPolicy,
    Section,
    TextItem,
    WidgetSpec,
)
from reportgen.ratelimit import AccountLimits

T = TypeVar("T")
Item = WidgetSpec | TextItem | AlarmsItem


class ContentSource(Protocol):
    async def get_dashboard(self, name: str) -> str: ...
    async def list_metrics(self, **params: Any) -> dict[str, Any]: ...


# The client of an account (or why there is none) and its limiters, for a section's or widget's `aws`.
SourceFor = Callable[[AwsTarget], tuple[ContentSource | WidgetFailure, AccountLimits]]


@dataclass(frozen=True)
class Expanded:
    spec: ReportSpec
    problems: tuple[str, ...] = ()  # one line each, for the log: what could not be resolved, and why
    notes: tuple[str, ...] = ()     # what was left out on purpose, e.g. values past a repeat's `limit`


def needs_expanding(spec: ReportSpec) -> bool:
    return any(section.dashboard or section.repeat or any(w.repeat for w in section.widgets)
               for section in spec.sections)


async def expand(spec: ReportSpec, source_for: SourceFor, policy: RetryPolicy) -> Expanded:
    """``spec`` with every dashboard section filled in and every repeat unrolled, in order."""
    work = _Expansion(spec, source_for, policy)
    sections: list[Section] = []
    for section in spec.sections:
        for each in await work.repeated_section(section):
            sections.append(await work.filled(each))
    return Expanded(dataclasses.replace(spec, sections=tuple(sections)), tuple(work.problems), tuple(work.notes))


def substitute(value: Any, name: str, replacement: str) -> Any:
    """``value`` with ``${name}`` replaced in every string it holds (mapping keys stay as written). CloudWatch's
    own dynamic labels (``${AVG}``, ``${PROP('Dim.InstanceId')}``) are left alone."""
    token = "${" + name + "}"
    if isinstance(value, str):
        return value.replace(token, replacement)
    if isinstance(value, Mapping):
        return {key: substitute(item, name, replacement) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(substitute(item, name, replacement) for item in value)
    return value


def items_of(section: Section) -> list[Item]:
    """The section's widgets, texts and alarms items in the order the spec gives them."""
    items: list[Item] = []
    for index, widget in enumerate(section.widgets):
        items += [text for text in section.texts if text.before == index]
        items += [alarms for alarms in section.alarms if alarms.before == index]
        items.append(widget)
    end = len(section.widgets)
    items += [text for text in section.texts if text.before >= end]
    items += [alarms for alarms in section.alarms if alarms.before >= end]
    return items


def with_items(section: Section, items: Sequence[Item]) -> Section:
    """``section`` holding ``items``, in that order."""
    widgets: list[WidgetSpec] = []
    texts: list[TextItem] = []
    alarms: list[AlarmsItem] = []
    for item in items:
        if isinstance(item, WidgetSpec):
            widgets.append(item)
        elif isinstance(item, TextItem):
            texts.append(dataclasses.replace(item, before=len(widgets)))
        else:
            alarms.append(dataclasses.replace(item, before=len(widgets)))
    return dataclasses.replace(section, widgets=tuple(widgets), texts=tuple(texts), alarms=tuple(alarms))


class _Expansion:
    def __init__(self, spec: ReportSpec, source_for: SourceFor, policy: RetryPolicy) -> None:
        self.spec, self.source_for, self.policy = spec, source_for, policy
        self.problems: list[str] = []
        self.notes: list[str] = []

    async def repeated_section(self, section: Section) -> list[Section]:
        if section.repeat is None:
            return [section]
        values, note = await self.values(section.repeat, section.aws or self.spec.aws, f"section {section.title!r}")
        if not values:
            return [with_items(dataclasses.replace(section, repeat=None), [self.note(note or "no values")])]
        name = section.repeat.name
        return [dataclasses.replace(section, title=substitute(section.title, name, value), repeat=None,
                                    widgets=tuple(self.substituted(w, name, value) for w in section.widgets),
                                    texts=tuple(dataclasses.replace(t, text=substitute(t.text, name, value))
                                                for t in section.texts))
                for value in values]

    async def filled(self, section: Section) -> Section:
        """A dashboard's content, then every repeated widget unrolled where it stands."""
        items = await self.dashboard_items(section) if section.dashboard is not None else items_of(section)
        unrolled: list[Item] = []
        for item in items:
            if not isinstance(item, WidgetSpec) or item.repeat is None:
                unrolled.append(item)
                continue
            values, note = await self.values(item.repeat, item.aws or section.aws or self.spec.aws,
                                             f"widget {item.title!r}")
            if not values:
                unrolled.append(self.note(note or "no values"))
            unrolled += [self.substituted(item, item.repeat.name, value) for value in values]
        return with_items(dataclasses.replace(section, dashboard=None), unrolled)

    def substituted(self, widget: WidgetSpec, name: str, value: str) -> WidgetSpec:
        source = substitute(dict(widget.source), name, value)
        return dataclasses.replace(widget, title=substitute(widget.title, name, value), source=source,
                                   caption=None if widget.caption is None else substitute(widget.caption, name, value),
                                   repeat=None)

    async def dashboard_items(self, section: Section) -> list[Item]:
        dashboard = section.dashboard
        assert dashboard is not None
        aws = section.aws or self.spec.aws
        source, limits = self.source_for(aws)
        try:
            body = await self.call(source, lambda s: s.get_dashboard(dashboard.name), limits, "GetDashboard")
            content = parse_dashboard(dashboard.name, body, variables=dict(dashboard.variables),
                                      default_region=aws.region)
        except (WidgetFailure, GaveUp, DashboardError) as exc:
            return [self.problem(f"dashboard `{dashboard.name}` could not be read: {exc}", section)]
        defaults = json.loads(dashboard.defaults)
        items: list[Item] = []
        for number, widget in enumerate(content.widgets):
            items += [TextItem(text.markdown, before=0, line=dashboard.line) for text in content.texts
                      if text.before == number]
            items.append(WidgetSpec(title=widget.title, source={**defaults, **widget.source}, line=dashboard.line,
                                    file=self.spec.path, table=dashboard.table, aws=section.aws))
        items += [TextItem(text.markdown, before=0, line=dashboard.line) for text in content.texts
                  if text.before >= len(content.widgets)]
        if content.undrawable:
            listed = "\n".join(f"- *{_md(widget.title)}* ({_md(widget.type)}): {_md(widget.reason)}"
                               for widget in content.undrawable)
            items.append(TextItem(f"Not drawn from the dashboard `{dashboard.name}`:\n\n{listed}", before=0,
                                  line=dashboard.line))
        if not any(isinstance(item, WidgetSpec) for item in items):
            items.append(self.note(f"the dashboard `{dashboard.name}` has no metric widgets"))
        return items

    async def values(self, repeat: Repeat, aws: AwsTarget, what: str) -> tuple[list[str], str | None]:
        """The values to repeat over, and a note on what was left out or why there are none."""
        if repeat.namespace is None:
            return list(repeat.values), None
        source, limits = self.source_for(aws)
        found: set[str] = set()
        params: dict[str, Any] = {
            "Namespace": repeat.namespace, "MetricName": repeat.metric,
            "Dimensions": [{"Name": repeat.dimension}] + [{"Name": n, "Value": v} for n, v in repeat.dimensions],
        }
        try:
            while True:
                page = await self.call(source, lambda s: s.list_metrics(**params), limits, "ListMetrics")
                for metric in page.get("Metrics", []):
                    found.update(d["Value"] for d in metric.get("Dimensions", []) if d.get("Name") == repeat.dimension)
                if not page.get("NextToken"):
                    break
                params["NextToken"] = page["NextToken"]
        except (WidgetFailure, GaveUp) as failure:
            self.problems.append(f"{self.spec.id}: {what}: ListMetrics failed: {failure}")
            return [], f"the values to repeat over could not be listed: {failure}"
        matching = sorted(v for v in found if repeat.match is None or fnmatch.fnmatchcase(v, repeat.match))
        chosen = matching[:repeat.limit]
        metric = f"{repeat.namespace} {repeat.metric}"
        if not chosen:
            return [], f"ListMetrics found no {repeat.dimension} of {metric}" + (
                f" matching `{repeat.match}`" if repeat.match else "")
        if len(matching) > len(chosen):
            self.notes.append(f"{self.spec.id}: {what}: {len(matching) - len(chosen)} more {repeat.dimension} "
                              f"values of {metric} left out by `limit: {repeat.limit}`")
        return chosen, None

    async def call(self, source: ContentSource | WidgetFailure, request: Callable[[ContentSource], Awaitable[T]],
                   limits: AccountLimits, api: str) -> T:
        if isinstance(source, WidgetFailure):
            raise source
        return await apicall.call(lambda: request(source), limits[api], self.policy)

    def problem(self, message: str, section: Section) -> TextItem:
        self.problems.append(f"{self.spec.id}: section {section.title!r}: {message}")
        return self.note(message)

    def note(self, message: str) -> TextItem:
        return TextItem(f"**Not shown:** {_md(message)}", before=0, line=0)


def _md(text: str) -> str:
    """``text`` safe inside markdown: its punctuation shown as written, not read as markup."""
    return "".join("\\" + char if char in "\\`*_[]<>#!|" else char for char in text)
