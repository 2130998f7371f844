"""Report specs: YAML files turned into validated, frozen ``ReportSpec`` objects.

Values come from ``yaml.safe_load``; line numbers come from ``yaml.compose`` of the same text, recorded per
key/item path, so every ``SpecError`` points at the line that holds the offending key or value. Checks are
written as a small table of allowed keys per mapping (``_Schema``) built from reusable value checks; the first
problem found is raised. A widget given as ``file:`` is read from JSON next to the spec and checked with the
same tables; its problems point at the ``file:`` line and name the JSON file. That file must lie inside the
spec's folder. Aliases are measured on the composed node graph before anything walks the values, so a few
nested anchors cannot make loading take minutes.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, available_timezones

import yaml

from reportgen.errors import SpecError
from reportgen.model import (
    MAX_METRICS_PER_WIDGET,
    MAX_WIDGET_JSON_BYTES,
    MAX_WIDGET_PIXELS,
    MIN_WIDGET_PIXELS,
    AwsTarget,
    Layout,
    Period,
    ReportSpec,
    Section,
    WidgetSpec,
)
from reportgen.periods import PERIOD_KEYWORDS, parse_time_expression

_Path = tuple[str | int, ...]  # keys and list indices from the document root

# How many values aliases may add to a spec. Real specs stay far below it; nine nested anchors of nine
# aliases each would add hundreds of millions, which every check and the JSON would have to walk.
MAX_ALIASED_VALUES = 100_000


# --- where things are: line numbers and error construction -------------------------------------------


@dataclass(frozen=True)
class _Context:
    """The file being checked and the line of every key/item path in it."""

    file: Path
    lines: Mapping[_Path, int]
    fixed_line: int | None = None  # content of a widget JSON file: every problem points at its `file:` line
    origin: str | None = None      # that JSON file as written in the spec, to prefix messages with

    def line(self, path: _Path) -> int | None:
        if self.fixed_line is not None:
            return self.fixed_line
        # Keys that came in through a YAML merge (`<<`) or a non-string key have no entry: use the parent's.
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def fail(self, message: str, path: _Path) -> NoReturn:
        keys = [part for part in path if isinstance(part, str)]
        if self.origin is not None:
            message = f"in {self.origin}: {message}"
        raise SpecError(message, file=self.file, line=self.line(path), key=keys[-1] if keys else None)

    def for_json_file(self, origin: str, file_line: int | None) -> _Context:
        return _Context(self.file, {}, fixed_line=file_line, origin=origin)


def _line_map(root: yaml.Node, file: Path) -> dict[_Path, int]:
    """Record the 1-based line of every mapping key and sequence item; reject duplicate keys."""
    lines: dict[_Path, int] = {(): root.start_mark.line + 1}
    seen: set[int] = set()  # aliases share nodes: walk each once (also stops recursive aliases)

    def walk(node: yaml.Node, path: _Path) -> None:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key, line = key_node.value, key_node.start_mark.line + 1
                if key in first:
                    raise SpecError(f"`{key}` appears twice in the same mapping (first on line {first[key]})",
                                    file=file, line=line, key=key)
                first[key] = lines[path + (key,)] = line
                walk(value_node, path + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines[path + (index,)] = item.start_mark.line + 1
                walk(item, path + (index,))

    walk(root, ())
    return lines


def _check_aliases(root: yaml.Node, file: Path) -> None:
    """Refuse aliases that add more than ``MAX_ALIASED_VALUES`` values, or that refer to their own anchor.

    The composed graph holds an aliased node once; its expanded size is counted once and added again at each
    alias, so this takes time in proportion to the text, not to the expansion.
    """
    sizes: dict[int, int] = {}  # id(node) → values in it once aliases are expanded, the node included
    open_nodes: set[int] = set()  # being counted: reaching one again means an alias inside its own anchor
    added = 0

    def size(node: yaml.Node) -> int:
        nonlocal added
        line = node.start_mark.line + 1  # an anchored node starts at its anchor
        if id(node) in sizes:  # a second visit is an alias
            added += sizes[id(node)]
            if added > MAX_ALIASED_VALUES:
                raise SpecError(f"aliases to the value anchored here expand the spec by more than "
                                f"{MAX_ALIASED_VALUES:,} values", file=file, line=line)
            return sizes[id(node)]
        if id(node) in open_nodes:
            raise SpecError("the value anchored here contains an alias to itself", file=file, line=line)
        open_nodes.add(id(node))
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        sizes[id(node)] = 1 + sum(size(child) for child in children)
        open_nodes.remove(id(node))
        return sizes[id(node)]

    size(root)


def _label(path: _Path) -> str:
    """How a message names the value at ``path``: its key, with list positions, e.g. ``horizontal[1]``."""
    indices = ""
    for part in reversed(path):
        if isinstance(part, str):
            return f"{part}{indices}"
        indices = f"[{part}]{indices}"
    return f"item{indices}"


def _did_you_mean(word: object, choices: Sequence[str]) -> str:
    """``; did you mean `x`?`` for the closest choice, ignoring case, or an empty string."""
    by_lower = {choice.lower(): choice for choice in choices}
    match = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1)
    return f"; did you mean `{by_lower[match[0]]}`?" if match else ""


def _describe(value: object) -> str:
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})" if math.isfinite(value) else str(value)
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f'a string ("{shown}")'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


# --- value checks: each is called as check(ctx, value, path) and raises through ctx.fail ---------------

_Check = Callable[[_Context, Any, _Path], None]


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # YAML true is an int to Python


def _is_number(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))  # NaN and infinity would not survive as JSON


def _expect(ctx: _Context, value: object, path: _Path, ok: bool, expected: str) -> None:
    if not ok:
        ctx.fail(f"`{_label(path)}` must be {expected}, not {_describe(value)}", path)


def _string(ctx: _Context, value: Any, path: _Path) -> None:
    _expect(ctx, value, path, isinstance(value, str), "a string")


def _boolean(ctx: _Context, value: Any, path: _Path) -> None:
    _expect(ctx, value, path, isinstance(value, bool), "true or false")


def _integer(low: int, high: int) -> _Check:
    def check(ctx: _Context, value: Any, path: _Path) -> None:
        _expect(ctx, value, path, _is_integer(value), "an integer")
        if not low <= value <= high:
            ctx.fail(f"`{_label(path)}` must be between {low} and {high}, not {value}", path)
    return check


def _number(ctx: _Context, value: Any, path: _Path) -> None:
    _expect(ctx, value, path, _is_number(value), "a number")


def _choice(*options: str) -> _Check:
    def check(ctx: _Context, value: Any, path: _Path) -> None:
        _string(ctx, value, path)
        if value not in options:
            ctx.fail(f"`{_label(path)}` must be one of {', '.join(options)}, not `{value}`"
                     + _did_you_mean(value, options), path)
    return check


def _pattern(regex: str, expected: str) -> _Check:
    compiled = re.compile(regex)

    def check(ctx: _Context, value: Any, path: _Path) -> None:
        _string(ctx, value, path)
        if compiled.fullmatch(value) is None:
            ctx.fail(f"`{_label(path)}` must be {expected}, not `{value}`", path)
    return check


def _list_of(item: _Check, *, min_items: int = 0) -> _Check:
    def check(ctx: _Context, value: Any, path: _Path) -> None:
        _expect(ctx, value, path, isinstance(value, list), "a list")
        if len(value) < min_items:
            ctx.fail(f"`{_label(path)}` needs at least {min_items} item{'s' if min_items > 1 else ''}", path)
        for index, element in enumerate(value):
            item(ctx, element, path + (index,))
    return check


def _period_seconds(ctx: _Context, value: Any, path: _Path) -> None:
    _expect(ctx, value, path, _is_integer(value), "an integer number of seconds")
    if value <= 0 or (value not in (1, 5, 10, 30) and value % 60):
        ctx.fail(f"`{_label(path)}` must be 1, 5, 10, 30 or a multiple of 60 seconds, not {value}", path)


def _time_expression(ctx: _Context, value: Any, path: _Path) -> None:
    _string(ctx, value, path)
    try:
        parse_time_expression(value)
    except ValueError as exc:
        ctx.fail(f"`{_label(path)}`: {exc}", path)


def _timezone_name(ctx: _Context, value: Any, path: _Path) -> None:
    _string(ctx, value, path)
    if value not in _time_zones():
        ctx.fail(f"`{value}` is not a known IANA time zone" + _did_you_mean(value, sorted(_time_zones())), path)


@functools.cache
def _time_zones() -> frozenset[str]:
    # Scans the zone database once (~50 ms). "localtime" is whatever zone the host is set to: a spec
    # naming it would change meaning from machine to machine.
    return frozenset(available_timezones()) - {"localtime", "posixrules"}


@dataclass(frozen=True)
class _Schema:
    """The keys a mapping may hold, the check for each value, and which keys it needs."""

    noun: str                       # "`x` is not a <noun> key", "the <noun> needs `x`"
    keys: Mapping[str, _Check]
    required: tuple[str, ...] = ()
    refused: Mapping[str, str] = field(default_factory=dict)  # known elsewhere, wrong here: key → why

    def __call__(self, ctx: _Context, value: Any, path: _Path) -> None:
        _expect(ctx, value, path, isinstance(value, dict), f"a mapping of {self.noun} keys")
        for key, item in value.items():
            if key in self.refused:
                ctx.fail(f"`{key}` cannot be used here: {self.refused[key]}", path + (key,))
            if key not in self.keys:
                article = "an" if self.noun[0] in "aeiou" else "a"
                ctx.fail(f"`{key}` is not {article} {self.noun} key" + _did_you_mean(key, list(self.keys)),
                         path + (str(key),))  # the line map knows keys as written, e.g. "1" for 1
            self.keys[key](ctx, item, path + (key,))
        for key in self.required:
            if key not in value:
                ctx.fail(f"the {self.noun} needs `{key}`", path)

    def extended(self, **more: _Check) -> _Schema:
        return _Schema(self.noun, {**self.keys, **more}, self.required, self.refused)

    def refusing(self, **why: str) -> _Schema:
        return _Schema(self.noun, self.keys, self.required, why)


def _either(first: _Check, second: _Check, test: Callable[[Any], bool]) -> _Check:
    """``first`` for values that pass ``test`` (e.g. a list), otherwise ``second``."""
    def check(ctx: _Context, value: Any, path: _Path) -> None:
        (first if test(value) else second)(ctx, value, path)
    return check


# --- the MetricWidget, as GetMetricWidgetImage and dashboard "Source" JSON write it --------------------

_COLOR = _pattern(r"#[0-9a-fA-F]{6}", "a #rrggbb colour")
_REGION = _pattern(r"[a-z]{2,}(-[a-z]+)+-\d+", "an AWS region such as us-east-1")
_AXIS_SIDE = _choice("left", "right")

_METRIC_OPTIONS = _Schema("metric option", {
    "id": _pattern(r"[a-z][a-zA-Z0-9_]*", "a lowercase letter followed by letters, digits or _"),
    "label": _string,
    "color": _COLOR,
    "stat": _string,
    "period": _period_seconds,
    "yAxis": _AXIS_SIDE,
    "visible": _boolean,
    "region": _REGION,
    "accountId": _string,
    "expression": _string,
})

_AXIS = _Schema("axis", {"min": _number, "max": _number, "label": _string, "showUnits": _boolean})


def _annotation_list(value_check: _Check, fills: tuple[str, ...]) -> _Check:
    """Annotations of one direction: each a mapping, or a band of two mappings (from, to)."""
    single = _Schema("annotation", {
        "value": value_check, "label": _string, "color": _COLOR, "fill": _choice(*fills),
        "yAxis": _AXIS_SIDE, "visible": _boolean,
    }, required=("value",))

    def band(ctx: _Context, value: Any, path: _Path) -> None:
        if len(value) != 2:
            ctx.fail(f"`{_label(path)}` is a band and needs exactly two annotations, not {len(value)}", path)
        _list_of(single)(ctx, value, path)

    return _list_of(_either(band, single, lambda value: isinstance(value, list)))


def _timestamp(ctx: _Context, value: Any, path: _Path) -> None:
    _time_expression(ctx, value, path)
    if not isinstance(parse_time_expression(value), datetime):
        ctx.fail(f"`{_label(path)}` must be an ISO 8601 date/time, not the duration `{value}`", path)


def _metrics(ctx: _Context, value: Any, path: _Path) -> None:
    _expect(ctx, value, path, isinstance(value, list), "a list of metric rows")
    if not value:
        ctx.fail("`metrics` is empty; a widget needs at least one metric row", path)
    if len(value) > MAX_METRICS_PER_WIDGET:
        ctx.fail(f"`metrics` has {len(value)} rows; CloudWatch draws at most {MAX_METRICS_PER_WIDGET} per widget",
                 path)
    for index, row in enumerate(value):
        _metric_row(ctx, row, path + (index,), index)


def _metric_row(ctx: _Context, row: Any, path: _Path, index: int) -> None:
    """``[Namespace, MetricName, DimName, DimValue, …, {options}]``, or ``[{expression: …, id: …}]``."""
    number = f"metric row {index + 1}"
    if not isinstance(row, list):
        hint = "; write a math expression as [{expression: …, id: …}]" if isinstance(row, dict) else ""
        ctx.fail(f"{number} must be a list, not {_describe(row)}{hint}", path)
    names, options = (row[:-1], row[-1]) if row and isinstance(row[-1], dict) else (row, None)
    for position, name in enumerate(names):
        if not isinstance(name, str):
            hint = "; quote it" if isinstance(name, (int, float)) else ""
            ctx.fail(f"{number}: element {position + 1} must be a string, not {_describe(name)}{hint}",
                     path + (position,))
    if options is not None:
        _METRIC_OPTIONS(ctx, options, path + (len(row) - 1,))
    if not names:
        if options is None or "expression" not in options:
            ctx.fail(f"{number} has no metric: give [Namespace, MetricName, …] or [{{expression: …}}]", path)
        return
    if options is not None and "expression" in options:
        ctx.fail(f"{number}: an `expression` goes in a row of its own, [{{expression: …, id: …}}]",
                 path + (len(row) - 1,))
    if index == 0 and names[0] in {".", "..."}:
        ctx.fail(f"{number}: `{names[0]}` repeats the previous row, but this is the first row", path)
    # Namespace and MetricName, then name/value pairs; "..." stands for any number of leading values.
    if names[0] != "..." and (len(names) < 2 or len(names) % 2):
        ctx.fail(f"{number} must be [Namespace, MetricName, DimensionName, DimensionValue, …]; "
                 f"it has {len(names)} name{'s' if len(names) > 1 else ''}", path)


_WIDGET = _Schema("widget", {
    "metrics": _metrics,
    "annotations": _Schema("annotations", {
        "horizontal": _annotation_list(_number, ("above", "below", "none")),
        "vertical": _annotation_list(_timestamp, ("before", "after", "none")),
        "alarms": _list_of(_string),
    }),
    "start": _time_expression,
    "end": _time_expression,
    "width": _integer(MIN_WIDGET_PIXELS, MAX_WIDGET_PIXELS),
    "height": _integer(MIN_WIDGET_PIXELS, MAX_WIDGET_PIXELS),
    "legend": _Schema("legend", {"position": _choice("bottom", "right", "hidden")}),
    "liveData": _boolean,
    "period": _period_seconds,
    "region": _REGION,
    "stacked": _boolean,
    "stat": _string,
    "theme": _choice("light", "dark"),
    "timezone": _pattern(r"[+-](0\d|1[0-4])[0-5]\d", "a UTC offset such as +0100 or -0500"),
    "title": _string,
    "view": _choice("timeSeries", "bar", "pie", "singleValue", "gauge"),
    "yAxis": _Schema("yAxis", {"left": _AXIS, "right": _AXIS}),
    "setPeriodToTimeRange": _boolean,
    "sparkline": _boolean,
    "accountId": _string,
    "singleValueFullPrecision": _boolean,
    "trend": _boolean,
    "labels": _Schema("labels", {"visible": _boolean}),
    "table": _Schema("table", {
        "layout": _choice("horizontal", "vertical"),
        "showTimeSeriesData": _boolean,
        "stickySummary": _boolean,
        "summaryColumns": _list_of(_string),
    }),
})


# --- the report spec around the widgets ----------------------------------------------------------------


def _rate_limit(ctx: _Context, value: Any, path: _Path) -> None:
    _number(ctx, value, path)
    if not 0 < value <= 1000:
        ctx.fail(f"`rate_limit` must be above 0 and at most 1000 requests per second, not {value}", path)


def _period(ctx: _Context, value: Any, path: _Path) -> None:
    if isinstance(value, dict):
        _Schema("period", {"start": _time_expression, "end": _time_expression}, required=("start",))(
            ctx, value, path)
    elif isinstance(value, str):
        if value not in PERIOD_KEYWORDS:
            ctx.fail(f"`{value}` is not a report period; use one of {', '.join(PERIOD_KEYWORDS)} "
                     f"or {{start: …, end: …}}" + _did_you_mean(value, PERIOD_KEYWORDS), path)
    else:
        _expect(ctx, value, path, False, "a period keyword or a {start: …, end: …} mapping")


_SPEC = _Schema("report spec", {
    "report": _pattern(r"[a-z][a-z0-9-]{0,63}",
                       "1-64 lowercase letters, digits and '-', starting with a letter (it names the PDF)"),
    "title": _string,
    "description": _string,
    "timezone": _timezone_name,
    "period": _period,
    "aws": _Schema("aws", {"region": _REGION, "profile": _string, "rate_limit": _rate_limit}),
    "layout": _Schema("layout", {
        "page": _choice("A4", "A3", "Letter", "Legal"),
        "orientation": _choice("landscape", "portrait"),
        "columns": _integer(1, 4),
    }),
    "defaults": _WIDGET.refusing(file="a `file:` belongs to one widget, not to the defaults"),
    "sections": _list_of(_Schema("section", {
        "title": _string,
        "widgets": _list_of(_WIDGET.extended(file=_string), min_items=1),
    }, required=("title", "widgets")), min_items=1),
}, required=("report", "title", "sections"))


# --- loading -------------------------------------------------------------------------------------------


def widget_json(source: Mapping[str, Any], *, file: Path, line: int | None) -> str:
    """Serialise a MetricWidget compactly, as it is sent; ``SpecError`` if CloudWatch's 100 KB limit is exceeded."""
    text = json.dumps(source, separators=(",", ":"), ensure_ascii=False)
    size = len(text.encode())
    if size > MAX_WIDGET_JSON_BYTES:
        raise SpecError(f"the widget's JSON is {size:,} bytes; CloudWatch accepts at most "
                        f"{MAX_WIDGET_JSON_BYTES:,} (100 KB)", file=file, line=line)
    return text


def load_spec(path: Path) -> ReportSpec:
    """Read and check one report spec; raise ``SpecError`` naming the file and line of the first problem."""
    return _load(path)[0]


def load_specs(paths: Sequence[Path]) -> list[ReportSpec]:
    """Load specs from files and folders (a folder's ``*.yaml``/``*.yml``, sorted, not recursive).

    A folder without specs, one that cannot be listed, and a report id used twice are errors; a file named
    twice is loaded once.
    """
    files = [file for path in paths for file in _spec_files(path)]
    specs: list[ReportSpec] = []
    owners: dict[str, Path] = {}
    loaded: set[str] = set()
    for file in files:
        # realpath, not Path.resolve: on Python 3.11 that raises RuntimeError for a symlink loop, which
        # should instead reach _parse and be reported as an unreadable spec.
        real = os.path.realpath(file)
        if real in loaded:
            continue
        loaded.add(real)
        spec, id_line = _load(file)
        if spec.id in owners:
            raise SpecError(f"report id `{spec.id}` is already used by {owners[spec.id]}",
                            file=file, line=id_line, key="report")
        owners[spec.id] = file
        specs.append(spec)
    return specs


def _spec_files(path: Path) -> list[Path]:
    """``path`` itself, or the ``*.yaml``/``*.yml`` files in the folder it names, sorted, not recursive."""
    try:
        if not path.is_dir():
            return [path]  # a file, or nothing: _parse says which
        found = sorted(p for p in path.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
    except OSError as exc:  # a folder that cannot be listed, an entry that cannot be looked at
        raise SpecError(f"cannot read: {exc.strerror or exc}", file=Path(exc.filename or path)) from exc
    if not found:
        raise SpecError("no report specs (*.yaml, *.yml) in this folder", file=path)
    return found


def _load(path: Path) -> tuple[ReportSpec, int | None]:
    """The spec in ``path`` and the line of its ``report`` id."""
    doc, ctx = _parse(path)
    _SPEC(ctx, doc, ())
    timezone = doc.get("timezone", "UTC")
    period = doc.get("period", "yesterday")
    defaults = doc.get("defaults", {})
    sections = tuple(
        Section(section["title"], tuple(
            _widget(ctx, defaults, widget, ("sections", s, "widgets", w))
            for w, widget in enumerate(section["widgets"])
        ))
        for s, section in enumerate(doc["sections"])
    )
    aws = dict(doc.get("aws", {}))
    if "rate_limit" in aws:
        aws["rate_limit"] = float(aws["rate_limit"])
    spec = ReportSpec(
        id=doc["report"],
        title=doc["title"],
        path=path,
        timezone=timezone,
        period=_period_of(ctx, period, ZoneInfo(timezone)),
        aws=AwsTarget(**aws),
        layout=Layout(**doc.get("layout", {})),
        sections=sections,
        description=doc.get("description"),
        # A custom window can only come out empty from an absolute `start` (a relative one counts back from
        # the end), so plan errors point there.
        period_line=ctx.line(("period", "start") if isinstance(period, dict) else ("period",)),
    )
    return spec, ctx.line(("report",))


def _parse(path: Path) -> tuple[Any, _Context]:
    """The document's values (dates and times as ISO text) and its line map."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read the spec: {exc.strerror or exc}", file=path) from exc
    except UnicodeDecodeError as exc:
        raise SpecError(f"the spec is not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is not None:
            _check_aliases(root, path)  # before _plain and the checks walk every repetition
        doc = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = ": ".join(part for part in (exc.context, exc.problem) if part)
        raise SpecError(f"invalid YAML: {problem}", file=path,
                        line=mark.line + 1 if mark else None) from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", file=path) from exc
    except RecursionError:  # PyYAML composes recursively; thousands of nested brackets exhaust the stack
        raise SpecError("the spec nests too deeply to read", file=path) from None
    if root is None:
        raise SpecError("the spec is empty", file=path, line=1)
    ctx = _Context(path, _line_map(root, path))
    if not isinstance(doc, dict):
        ctx.fail(f"a report spec must be a mapping (report:, title:, sections:, …), not {_describe(doc)}", ())
    return _plain(doc), ctx


def _plain(value: Any) -> Any:
    """Unquoted YAML timestamps become ISO 8601 text, as they would be in JSON."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _period_of(ctx: _Context, value: str | dict[str, str], zone: ZoneInfo) -> Period:
    if isinstance(value, str):
        return Period(keyword=value)
    start, end = (parse_time_expression(value[k]) if k in value else None for k in ("start", "end"))
    if isinstance(start, timedelta) and start >= timedelta(0):
        ctx.fail(f"the period's `start` ({value['start']}) counts back from its `end` and must be a negative "
                 "duration, such as -P1D", ("period", "start"))
    if isinstance(start, datetime) and isinstance(end, datetime):
        # Naive bounds are wall-clock times in the report's zone; compare them as instants.
        first, last = (t if t.tzinfo else t.replace(tzinfo=zone) for t in (start, end))
        if first.astimezone(UTC) >= last.astimezone(UTC):
            ctx.fail(f"the period's `start` ({value['start']}) must be before its `end` ({value['end']})",
                     ("period", "start"))
    return Period(keyword=None, start=value["start"], end=value.get("end"))


def _widget(ctx: _Context, defaults: Mapping[str, Any], widget: Mapping[str, Any], path: _Path) -> WidgetSpec:
    """Merge defaults < widget file < widget keys, then check what only the whole widget can show."""
    line = ctx.line(path)
    own = {key: value for key, value in widget.items() if key != "file"}
    file = ctx.file.parent / widget["file"] if "file" in widget else None
    from_file = {} if file is None else _read_widget_file(
        ctx.for_json_file(widget["file"], ctx.line(path + ("file",))),
        _inside_spec_folder(ctx, widget["file"], path))
    source = {**defaults, **from_file, **own}
    if "metrics" not in source:
        if file is not None:
            ctx.fail(f"neither `{widget['file']}` nor the widget's YAML gives `metrics`", path + ("file",))
        ctx.fail("the widget needs `metrics` (or a `file:` that holds them)", path)
    widget_json(source, file=ctx.file, line=line)
    return WidgetSpec(title=source.get("title") or _title_from(source["metrics"]), source=source,
                      line=line or 0, file=file)


def _inside_spec_folder(ctx: _Context, name: str, path: _Path) -> Path:
    """Where the widget's ``file: name`` really is, refused unless that is inside the spec's folder.

    A spec names the files it belongs with; reaching elsewhere (``/etc/passwd``, ``../../secret.json``, a
    symlink out) would let a spec read, and send to CloudWatch, any file the process can read.
    """
    if Path(name).is_absolute():
        ctx.fail(f"`file` must be a path relative to the spec's folder, not `{name}`", path + ("file",))
    folder = os.path.realpath(ctx.file.parent)
    target = Path(os.path.realpath(Path(folder, name)))
    if not target.is_relative_to(folder):
        ctx.fail(f"`file` must stay inside the spec's folder, but `{name}` leads to {target}", path + ("file",))
    return target


def _read_widget_file(ctx: _Context, file: Path) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else f"not UTF-8 text ({exc.reason})"
        ctx.fail(f"cannot read the widget file: {reason or exc}", ())

    def refuse_constant(name: str) -> NoReturn:
        raise ValueError(f"{name} is not valid JSON")

    try:
        content = json.loads(text, parse_constant=refuse_constant)
    except json.JSONDecodeError as exc:
        ctx.fail(f"not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}", ())
    except ValueError as exc:
        ctx.fail(f"not valid JSON: {exc}", ())
    if not isinstance(content, dict):
        ctx.fail(f"a widget file must hold a JSON object (a MetricWidget), not {_describe(content)}", ())
    _WIDGET(ctx, content, ())
    return content


def _title_from(metrics: list[list[Any]]) -> str:
    """A title for an untitled widget: its first metric's name, or its first expression's label."""
    row = metrics[0]
    options = row[-1] if isinstance(row[-1], dict) else {}
    names = [part for part in row if isinstance(part, str)]
    if names:  # the first row is [Namespace, MetricName, …]; _metric_row made sure
        return names[1]
    return str(options.get("label") or options["expression"])
