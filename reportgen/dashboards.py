"""CloudWatch dashboards as report content: a dashboard body's widgets in reading order, ready to draw.

A dashboard body (what GetDashboard returns; CloudWatch's "Dashboard Body Structure and Syntax") lays widgets on
a grid 24 columns wide. ``parse_dashboard`` turns one into what a report section holds: the metric widgets as
MetricWidget JSON for GetMetricWidgetImage, sized from the grid, with the dashboard's variables resolved; the
text widgets between them; and the widgets no image can be had for, named so the report can say what it left
out. ``dashboard_spec`` writes the same as a report spec for people to edit. Nothing here calls AWS.

Variables are applied as the console applies them: a ``property`` variable sets every value of the dimension of
that name in metric rows, and every JSON property of that name (``region``); a ``pattern`` variable replaces
what its regular expression matches in every string of the widgets, text included.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

import yaml

from reportgen.errors import ReportgenError, SpecError, UsageError
from reportgen.model import MAX_WIDGET_PIXELS, REPORT_ID
from reportgen.schema import Context, describe, did_you_mean
from reportgen.spec import title_from, widget_json
from reportgen.specschema import MAX_TITLE, WIDGET

GRID_COLUMNS = 24
DEFAULT_GRID_SIZE = 6  # width and height of a widget that gives none, as the body structure documents
# AWS documents the grid in units only, never in pixels. One unit is drawn as 50 px both ways: a full-width
# widget is 1200 px wide (well inside the image API's 2000), and equal units keep each widget's shape.
GRID_UNIT_PIXELS = 50
MAX_GRID_HEIGHT = 1000  # units; the body structure's limit

# The report's period and zone decide what every chart shows, and a report is a still image.
_REPORT_DECIDES = ("start", "end", "timezone", "liveData", "width", "height")

_NO_IMAGE = {
    "log": "Logs Insights widgets have no image API",
    "alarm": "alarm status widgets have no image API",
    "explorer": "metrics explorer widgets pick their metrics by resource tag in the browser; no image API draws them",
    "custom": "custom widgets are drawn by a Lambda function in the browser; no image API draws them",
}
_NO_METRICS = "it has no `metrics` (a graph of alarms alone has no image API)"

FIRST_VALUE = "__FIRST"  # a defaultValue: the first value the variable's metric search finds

_NO_VARIABLES: Mapping[str, str] = MappingProxyType({})

# The first line of a text widget that is a `#` or `##` heading: it starts a section in an imported spec.
_HEADING = re.compile(r" {0,3}#{1,2}[ \t]+(?P<title>\S.*?)(?:[ \t]+#+)?[ \t]*")

# Keys first in an imported widget, in this order, so a person reads what it shows before how; the rest follow
# as the dashboard wrote them, and the size last.
_KEY_ORDER = ("title", "view", "stacked", "region", "stat", "period", "metrics")


class DashboardError(ReportgenError):
    """A dashboard body that cannot be used at all: not JSON, no widgets, a widget without a type …"""

    def __init__(self, message: str, *, dashboard: str, widget: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.dashboard = dashboard
        self.widget = widget  # index in the body's `widgets`, when one widget is at fault

    def __str__(self) -> str:
        where = f"dashboard `{self.dashboard}`"
        if self.widget is not None:
            where += f", widget {self.widget + 1}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class DashboardWidget:
    title: str                           # properties.title, else what the spec loader would call it
    source: dict[str, Any]               # MetricWidget JSON: variables resolved, no start/end/timezone/liveData,
                                         # width/height in pixels from the grid
    grid: tuple[int, int, int, int]      # x, y, width, height in grid units, as placed on the dashboard


@dataclass(frozen=True)
class DashboardText:
    markdown: str
    before: int  # index of the metric widget it precedes in reading order; len(widgets) at the end


@dataclass(frozen=True)
class Undrawable:
    title: str
    type: str    # the widget's type: "log", "alarm", "explorer", "custom", or "metric" when that cannot be drawn
    reason: str  # one line


@dataclass(frozen=True)
class DashboardContent:
    widgets: tuple[DashboardWidget, ...]  # metric widgets in reading order: by y, then x
    texts: tuple[DashboardText, ...]
    undrawable: tuple[Undrawable, ...]
    variables: dict[str, str]             # each variable's id (else its property or pattern) → the value used
    warnings: tuple[str, ...]             # e.g. a variable without a value, whose pattern is left as written


def parse_dashboard(name: str, body: str | Mapping[str, Any], *, variables: Mapping[str, str] = _NO_VARIABLES,
                    default_region: str | None = None) -> DashboardContent:
    """The report content of dashboard ``name``: its metric widgets in reading order, the text between them, and
    what cannot be drawn, with its variables resolved (``variables`` by id or property/pattern, else each one's
    default, else its first listed value). A metric widget without a region gets ``default_region``.

    Raise ``DashboardError`` for a body that cannot be read at all; anything less is an ``Undrawable`` or a
    warning.
    """
    read = _read(name, body, variables, default_region)
    widgets: list[DashboardWidget] = []
    texts: list[DashboardText] = []
    for item in read.items:
        if isinstance(item, DashboardWidget):
            widgets.append(item)
        elif isinstance(item, str):
            texts.append(DashboardText(item, before=len(widgets)))
    return DashboardContent(widgets=tuple(widgets), texts=tuple(texts),
                            undrawable=tuple(item for item in read.items if isinstance(item, Undrawable)),
                            variables=read.variables, warnings=read.warnings)


def dashboard_spec(name: str, body: str | Mapping[str, Any], *, report_id: str | None = None,
                   region: str | None = None, profile: str | None = None) -> str:
    """The YAML text of a report spec drawing dashboard ``name`` as it stands, for a person to edit.

    The report id is ``report_id``, else derived from the name. A text widget whose first line is a ``#`` or
    ``##`` heading starts a section of that title (a heading with no drawable widget under it stays a ``text:``
    item); the rest of the text, and every other text widget, is a ``text:`` item. Widgets that cannot be drawn
    are comments where they stood. ``reportgen.spec.load_spec`` loads the text, and its widgets' sources equal
    ``parse_dashboard(name, body, default_region=region)``'s.

    Raise ``DashboardError`` for an unusable body or one with nothing to draw, ``UsageError`` for a bad
    ``report_id``.
    """
    if report_id is not None and not REPORT_ID.fullmatch(report_id):
        raise UsageError(f"report id `{report_id}` must be 1-64 lowercase letters, digits and '-', starting with "
                         "a letter")
    read = _read(name, body, _NO_VARIABLES, region)
    aws = {key: value for key, value in (("region", region), ("profile", profile)) if value}
    head: dict[str, Any] = {"report": report_id or _report_id(name), "title": name[:MAX_TITLE]}
    if aws:
        head["aws"] = aws
    notes = [f"A report spec written by `reportgen import-dashboard` from the CloudWatch dashboard `{name}`. "
             "The widgets are copies, as the dashboard was at import: edit them freely. The report's period, not "
             "the dashboard's time range, decides what each chart shows.",
             *(f"Variable `{key}` was resolved to `{value}`." for key, value in read.variables.items()),
             *(f"Warning: {warning}" for warning in read.warnings),
             "Widgets reportgen cannot draw are named in comments where they stood."]
    lines = [*(f"# {line}" for note in notes for line in _wrapped(note)), _dump(head).rstrip(), "sections:"]
    for title, items in _sections(name, read.items):
        lines.append(_dump([{"title": title}]).rstrip())
        lines.append("  widgets:")
        for item in items:
            if isinstance(item, Undrawable):
                lines.append("  # " + _one_line(f'not drawn: {item.type} widget "{item.title}": {item.reason}'))
            else:
                entry = {"text": item} if isinstance(item, str) else _readable(item.source)
                lines.extend("  " + line for line in _dump([entry]).splitlines())
    return "\n".join(lines) + "\n"


def _report_id(name: str) -> str:
    """A report id for dashboard ``name``: lowercase, runs of anything but letters and digits as ``-``, at most
    64 characters, starting with a letter (``dashboard-`` is put in front of a name that does not)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not slug[:1].isalpha():
        slug = f"dashboard-{slug}".rstrip("-")
    return slug[:64].rstrip("-")


# --- reading a body --------------------------------------------------------------------------------------

_Item = DashboardWidget | Undrawable | str  # a text widget is its markdown


@dataclass(frozen=True)
class _Read:
    items: list[_Item]  # in reading order
    variables: dict[str, str]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class _Variable:
    key: str     # its id, else its property or pattern: how a spec and messages name it
    kind: str    # "property" | "pattern"
    target: str  # the property's name, or the regular expression
    value: str


def _read(name: str, body: str | Mapping[str, Any], given: Mapping[str, str], default_region: str | None) -> _Read:
    """The body's widgets in reading order as items, its variables as resolved, and the warnings."""
    document = _document(name, body)
    warnings: list[str] = []
    variables = _variables(document.get("variables"), given, warnings)
    substitute = _Substitution(variables)
    items: list[_Item] = []
    for grid, widget in _placed(name, document["widgets"]):
        properties = substitute(widget.get("properties", {}))
        kind = widget["type"]
        if kind == "text":
            markdown = properties.get("markdown")
            if isinstance(markdown, str) and markdown.strip():
                items.append(markdown)
        elif kind == "metric":
            items.append(_metric_widget(name, properties, grid, default_region))
        else:
            items.append(Undrawable(_title(properties, kind), kind,
                                    _NO_IMAGE.get(kind, f"`{kind}` widgets have no image API")))
    return _Read(items, {variable.key: variable.value for variable in variables}, tuple(warnings))


def _document(name: str, body: str | Mapping[str, Any]) -> Mapping[str, Any]:
    """The body as a mapping whose `widgets` is a non-empty list of mappings, each with a type."""
    def fail(message: str, widget: int | None = None) -> NoReturn:
        raise DashboardError(message, dashboard=name, widget=widget)

    document: Any = body
    if isinstance(body, str):
        try:
            document = json.loads(body)
        except json.JSONDecodeError as exc:
            fail(f"the body is not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}")
    if not isinstance(document, Mapping):
        fail(f"the body must be a JSON object with a `widgets` list, not {describe(document)}")
    widgets = document.get("widgets")
    if not isinstance(widgets, list):
        fail("the body has no `widgets` list" if widgets is None else
             f"the body's `widgets` must be a list, not {describe(widgets)}")
    if not widgets:
        fail("the dashboard has no widgets")
    for index, widget in enumerate(widgets):
        if not isinstance(widget, Mapping):
            fail(f"a widget must be an object, not {describe(widget)}", index)
        if not isinstance(widget.get("type"), str):
            fail("the widget has no `type` (metric, text, log, alarm, explorer or custom)", index)
        if not isinstance(widget.get("properties", {}), Mapping):
            fail(f"the widget's `properties` must be an object, not {describe(widget['properties'])}", index)
    return document


def _placed(name: str, widgets: Sequence[Mapping[str, Any]]) -> list[tuple[tuple[int, int, int, int],
                                                                          Mapping[str, Any]]]:
    """Each widget with its grid place (x, y, width, height), in reading order: by y, then x, then as listed.

    A widget without `x` and `y` goes where CloudWatch puts it: beside the one listed before it, or at the
    start of the next row if it does not fit there.
    """
    placed = []
    x = y = row_bottom = 0
    for index, widget in enumerate(widgets):
        width = _unit(name, index, widget, "width", 1, GRID_COLUMNS)
        height = _unit(name, index, widget, "height", 1, MAX_GRID_HEIGHT)
        if "x" in widget and "y" in widget:
            x, y = _unit(name, index, widget, "x", 0, GRID_COLUMNS - 1), _unit(name, index, widget, "y", 0, None)
        elif x + width > GRID_COLUMNS:
            x, y = 0, row_bottom
        placed.append((y, x, index, (x, y, width, height), widget))
        x, row_bottom = x + width, max(row_bottom, y + height)
    return [(grid, widget) for *_, grid, widget in sorted(placed, key=lambda entry: entry[:3])]


def _unit(name: str, index: int, widget: Mapping[str, Any], key: str, low: int, high: int | None) -> int:
    """A grid coordinate or size of the widget (width and height default to 6 units)."""
    value = widget.get(key, DEFAULT_GRID_SIZE)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        allowed = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise DashboardError(f"`{key}` must be a whole number {allowed}, not {describe(value)}",
                             dashboard=name, widget=index)
    return value


def _metric_widget(name: str, properties: Mapping[str, Any], grid: tuple[int, int, int, int],
                   default_region: str | None) -> DashboardWidget | Undrawable:
    if not properties.get("metrics"):
        return Undrawable(_title(properties, "metric"), "metric", _NO_METRICS)
    source = {key: value for key, value in properties.items() if key not in _REPORT_DECIDES}
    if default_region is not None:
        source.setdefault("region", default_region)
    source["width"], source["height"] = _pixels(grid[2], grid[3])
    try:  # what a spec's widget must pass, so an imported spec loads and a bad widget fails alone
        WIDGET(Context(Path(name), {}), source, ())
        widget_json(source, file=Path(name), line=None)
    except SpecError as exc:
        return Undrawable(_title(properties, "metric"), "metric", exc.message)
    return DashboardWidget(source.get("title") or title_from(source["metrics"]), source, grid)


def _pixels(width: int, height: int) -> tuple[int, int]:
    """A widget's grid size in pixels, scaled down as a whole if a side would pass the image API's limit."""
    wide, high = width * GRID_UNIT_PIXELS, height * GRID_UNIT_PIXELS
    scale = min(1.0, MAX_WIDGET_PIXELS / max(wide, high))
    return max(1, round(wide * scale)), max(1, round(high * scale))


def _title(properties: Mapping[str, Any], kind: str) -> str:
    title = properties.get("title")
    return title if isinstance(title, str) and title.strip() else f"untitled {kind} widget"


# --- variables -------------------------------------------------------------------------------------------


def _variables(declared: Any, given: Mapping[str, str], warnings: list[str]) -> list[_Variable]:
    """The body's variables that have a value: ``given``'s (by id, or by property or pattern), else the
    default, else the first listed value. The others, and names in ``given`` that match none, are warned about."""
    resolved: list[_Variable] = []
    keys: list[str] = []
    names: set[str] = set()  # every declared variable's key and target, for matching ``given``
    for number, variable in enumerate(declared if isinstance(declared, list) else [], start=1):
        described = _described(variable)
        if described is None:
            warnings.append(f"variable {number} is neither a `property` nor a `pattern` variable; it is ignored")
            continue
        key, kind, target = described
        keys.append(key)
        names |= {key, target}
        value = given.get(key, given.get(target)) or _default(variable)
        if value is None:
            search = " (only a metric search, which reportgen does not run, lists them)" if "search" in variable else ""
            warnings.append(f"variable `{key}` has no value{search}; its {kind} `{target}` is left as written "
                            "(a `dashboard:` section can set it under `variables:`)")
        elif kind == "pattern" and (problem := _regex_problem(target)) is not None:
            warnings.append(f"variable `{key}`: its pattern `{target}` is not a regular expression reportgen can "
                            f"use ({problem}); it is left as written")
        else:
            resolved.append(_Variable(key, kind, target, value))
    for name in given:
        if name not in names:
            warnings.append(f"`variables` names `{name}`, which the dashboard does not define"
                            + (did_you_mean(name, keys) if keys else "; it defines no variables"))
    return resolved


def _described(variable: Any) -> tuple[str, str, str] | None:
    """A declared variable's key (its id, else its target), kind and target (the property or the pattern)."""
    if not isinstance(variable, Mapping) or variable.get("type") not in ("property", "pattern"):
        return None
    kind: str = variable["type"]
    target = variable.get(kind)
    if not isinstance(target, str) or not target:
        return None
    key = variable.get("id")
    return (key if isinstance(key, str) and key else target), kind, target


def _default(variable: Mapping[str, Any]) -> str | None:
    default = variable.get("defaultValue")
    if isinstance(default, (str, int, float)) and not isinstance(default, bool) and default != FIRST_VALUE:
        return str(default)
    listed = variable.get("values")
    first = listed[0] if isinstance(listed, list) and listed else None
    value = first.get("value") if isinstance(first, Mapping) else None
    return value if isinstance(value, str) else None


def _regex_problem(pattern: str) -> str | None:
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    return None


class _Substitution:
    """Applies resolved variables to a widget's properties, giving a changed copy."""

    __slots__ = ("patterns", "properties")

    def __init__(self, variables: Sequence[_Variable]) -> None:
        # A replacement's backslashes escaped, so the value is put in as written.
        self.patterns = [(re.compile(v.target), v.value.replace("\\", "\\\\")) for v in variables
                         if v.kind == "pattern"]
        self.properties = {v.target: v.value for v in variables if v.kind == "property"}

    def __call__(self, properties: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._walk(properties)
        if self.properties and isinstance(result.get("metrics"), list):
            _set_dimensions(result["metrics"], self.properties)
        return result

    def _walk(self, node: Any) -> Any:
        if isinstance(node, Mapping):
            return {key: self.properties[key] if key in self.properties and isinstance(value, str)
                    else self._walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self._walk(item) for item in node]
        if isinstance(node, str):
            for regex, value in self.patterns:
                node = regex.sub(value, node)
        return node


def _set_dimensions(rows: list[Any], values: Mapping[str, str]) -> None:
    """Set, in place, every value of a dimension named in ``values`` in metric rows.

    A row is ``[Namespace, MetricName, Name, Value, …, {options}]``; ``"."`` repeats the previous row's entry at
    its position and a leading ``"..."`` all the previous row's entries before the ones given, so each row's
    names are read against the previous row as resolved.
    """
    previous: list[Any] = []
    for row in rows:
        if not isinstance(row, list):
            continue
        names = row[:-1] if row and isinstance(row[-1], Mapping) else row
        if not names:  # a math row
            continue
        if names[0] == "...":
            kept = max(len(previous) - (len(names) - 1), 0)
            resolved = previous[:kept] + names[1:]
            first, offset = 1, kept - 1  # resolved position p is the row's p - offset
        else:
            resolved = [previous[p] if name == "." and p < len(previous) else name for p, name in enumerate(names)]
            first, offset = 0, 0
        for p in range(2, len(resolved) - 1, 2):
            if resolved[p] in values:
                resolved[p + 1] = values[resolved[p]]
                position = p + 1 - offset
                # A "." that repeats the value just set stays, as the dashboard wrote it.
                if position >= first and not (row[position] == "." and previous[p + 1:p + 2] == [resolved[p + 1]]):
                    row[position] = resolved[p + 1]
        previous = resolved


# --- writing a spec --------------------------------------------------------------------------------------


def _sections(name: str, items: Sequence[_Item]) -> list[tuple[str, list[_Item]]]:
    """The items split into sections at heading text widgets; a part without a drawable widget joins the
    section before it (or, at the start, the one after it) with its heading kept as text."""
    parts: list[tuple[str | None, list[_Item]]] = [(None, [])]
    for item in items:
        first, _, rest = item.strip().partition("\n") if isinstance(item, str) else ("", "", "")
        if (heading := _HEADING.fullmatch(first)) is None:
            parts[-1][1].append(item)
        else:
            parts.append((heading["title"], [rest.strip()] if rest.strip() else []))
    sections: list[tuple[str, list[_Item]]] = []
    waiting: list[_Item] = []  # leading parts without a widget, for the first section that has one
    for title, part in parts:
        if any(isinstance(item, DashboardWidget) for item in part):
            sections.append((title or name, waiting + part))
            waiting = []
        else:
            kept = part if title is None else [f"## {title}", *part]  # the heading stays, as text
            (sections[-1][1] if sections else waiting).extend(kept)
    if not sections:
        raise DashboardError("no widget can be drawn (only text, or widgets without an image API)", dashboard=name)
    return sections


def _readable(source: Mapping[str, Any]) -> dict[str, Any]:
    """``source`` with its keys in reading order: what it shows first, its size last."""
    first = {key: source[key] for key in _KEY_ORDER if key in source}
    rest = {key: value for key, value in source.items() if key not in first and key not in ("width", "height")}
    return {**first, **rest, "width": source["width"], "height": source["height"]}


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, writing a list of scalars, perhaps ending in a mapping of scalars, on one line: a
    metric row reads as ``[AWS/EC2, CPUUtilization, InstanceId, i-0abc, {stat: Maximum}]``. All else is in
    blocks."""

    def represent_list(self, data: Any) -> yaml.SequenceNode:
        node = super().represent_list(data)
        *names, last = data or [None]
        node.flow_style = all(map(_scalar, names)) and (
            _scalar(last) or bool(names) and isinstance(last, dict) and all(map(_scalar, last.values())))
        return node


_Dumper.add_representer(list, _Dumper.represent_list)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float))


def _dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     width=118)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _wrapped(note: str) -> list[str]:
    """A comment's lines: a name or an id is never split."""
    return textwrap.wrap(_one_line(note), 116, break_long_words=False, break_on_hyphens=False)
