"""Report specs: YAML files turned into validated, frozen ``ReportSpec`` objects.

One ``yaml.SafeLoader`` composes the text into a node graph, which gives the line of every key/item path, then
constructs the values from that graph, so every ``SpecError`` points at the line that holds the offending key or
value. The values are checked against ``specschema.SPEC``. A widget given as ``file:`` is read from JSON next to
the spec and checked with the same tables; its problems point at the ``file:`` line and name the JSON file. That
file must lie inside the spec's folder. Aliases are measured on the composed node graph before anything walks the
values, so a few nested anchors cannot make loading take minutes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import yaml

from reportgen.errors import SpecError
from reportgen.fonts import check_font
from reportgen.images import logo_problem
from reportgen.mail import envelope_recipients
from reportgen.model import (
    MAX_WIDGET_JSON_BYTES,
    AlarmsItem,
    AwsTarget,
    DashboardSource,
    Delivery,
    EmailDelivery,
    Layout,
    Period,
    Repeat,
    ReportSpec,
    Section,
    Summary,
    TextItem,
    WidgetSpec,
)
from reportgen.periods import parse_time_expression, to_utc
from reportgen.richtext import check_markdown
from reportgen.schedule import parse_schedule
from reportgen.schema import Context, KeyPath, describe
from reportgen.specschema import SPEC, WIDGET

# How many values aliases may add to a spec. Real specs stay far below it; nine nested anchors of nine
# aliases each would add hundreds of millions, which every check and the JSON would have to walk.
MAX_ALIASED_VALUES = 100_000

_FILE_WIDGET = WIDGET.refusing(file="a widget file holds one MetricWidget and cannot name another file")

# reportgen.yaml (or .yml) in a spec folder holds the site's delivery settings, not a report.
SITE_CONFIG_STEM = "reportgen"


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
    """Load specs from files and folders (a folder's ``*.yaml``/``*.yml`` but ``reportgen.yaml``, sorted, not
    recursive).

    A folder without specs, one that cannot be listed, and a report id used twice are errors; a file named
    twice is loaded once.
    """
    files = [file for path in paths for file in _spec_files(path)]
    specs: list[ReportSpec] = []
    owners: dict[str, Path] = {}
    loaded: set[str] = set()
    for file in files:
        # realpath, not Path.resolve: on Python 3.11 that raises RuntimeError for a symlink loop, which
        # should instead reach read_yaml and be reported as an unreadable spec.
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
            return [path]  # a file, or nothing: read_yaml says which
        found = sorted(p for p in path.iterdir()
                       if p.suffix in {".yaml", ".yml"} and p.stem != SITE_CONFIG_STEM and p.is_file())
    except OSError as exc:  # a folder that cannot be listed, an entry that cannot be looked at
        raise SpecError(f"cannot read: {exc.strerror or exc}", file=Path(exc.filename or path)) from exc
    if not found:
        raise SpecError("no report specs (*.yaml, *.yml) in this folder", file=path)
    return found


def _load(path: Path) -> tuple[ReportSpec, int | None]:
    """The spec in ``path`` and the line of its ``report`` id."""
    doc, ctx = read_yaml(path, "report spec", "report:, title:, sections:, …")
    SPEC(ctx, doc, ())
    timezone = doc.get("timezone", "UTC")
    period = doc.get("period", "yesterday")
    defaults = dict(doc.get("defaults", {}))
    # A `table: true|false` in the defaults is the report's own (a mapping there is CloudWatch's table view).
    table = bool(doc.get("table", defaults.pop("table") if isinstance(defaults.get("table"), bool) else False))
    aws = dict(doc.get("aws", {}))
    if "rate_limit" in aws:
        aws["rate_limit"] = float(aws["rate_limit"])
    report_aws = AwsTarget(**aws)
    sections = tuple(_section(ctx, defaults, section, s, table=table, aws=report_aws)
                     for s, section in enumerate(doc["sections"]))
    spec = ReportSpec(
        id=doc["report"],
        title=doc["title"],
        path=path,
        timezone=timezone,
        period=_period_of(ctx, period, ZoneInfo(timezone)),
        aws=report_aws,
        layout=_layout(ctx, doc.get("layout", {})),
        sections=sections,
        description=doc.get("description"),
        # A custom window can only come out empty from an absolute `start` (a relative one counts back from
        # the end), so plan errors point there.
        period_line=ctx.line(("period", "start") if isinstance(period, dict) else ("period",)),
        schedule=parse_schedule(doc.get("schedule", "daily")),
        deliver=_delivery(ctx, doc.get("deliver", {})),
        warnings=tuple(ctx.warnings),
        summary=_summary(doc.get("summary", False)),
    )
    if spec.summary is not None and not spec.has_tables:
        ctx.fail("`summary` compares the numbers of widgets with a table, and no widget has one; "
                 "add `table: true` to the report, a section or a widget", ("summary",))
    return spec, ctx.line(("report",))


def _section(ctx: Context, defaults: Mapping[str, Any], section: Mapping[str, Any], number: int, *,
             table: bool, aws: AwsTarget) -> Section:
    """A section's widgets and the `text:` and `alarms:` items between them, or the dashboard it shows.

    `table` and `aws` are the report's, which the section's own and then each widget's override.
    """
    here: KeyPath = ("sections", number)
    widgets: list[WidgetSpec] = []
    texts: list[TextItem] = []
    alarms: list[AlarmsItem] = []
    table = section.get("table", table)
    aws = _aws(aws, section.get("aws"))
    if ("dashboard" in section) == ("widgets" in section):
        ctx.fail("a section needs either `widgets` or a `dashboard` to take them from", here)
    if "variables" in section and "dashboard" not in section:
        ctx.fail("`variables` set a dashboard's variables; this section has no `dashboard`", here + ("variables",))
    for index, item in enumerate(section.get("widgets", [])):
        path: KeyPath = here + ("widgets", index)
        if "text" in item:
            for warning in check_markdown(item["text"]):
                ctx.warn(f"`text`: {warning}", path + ("text",))
            texts.append(TextItem(item["text"], before=len(widgets), line=ctx.line(path) or 0))
        elif "alarms" in item:
            chosen = item["alarms"] if isinstance(item["alarms"], dict) else {}
            alarms.append(AlarmsItem(before=len(widgets), prefix=chosen.get("prefix"),
                                     names=tuple(chosen.get("names", ())), state=chosen.get("state"),
                                     line=ctx.line(path) or 0))
        else:
            widgets.append(_widget(ctx, defaults, item, path, table=table, aws=aws))
    if "widgets" in section and not widgets and not alarms:
        ctx.fail("the section holds only `text:` items; it needs at least one widget", here + ("widgets",))
    dashboard = None
    if "dashboard" in section:
        dashboard = DashboardSource(section["dashboard"], tuple((name, str(value)) for name, value
                                                                in section.get("variables", {}).items()),
                                    line=ctx.line(here + ("dashboard",)) or 0, table=table,
                                    defaults=json.dumps(defaults, sort_keys=True))
    return Section(section["title"], tuple(widgets), columns=section.get("columns"), rows=section.get("rows"),
                   page_break_before=section.get("page_break") == "before", texts=tuple(texts),
                   alarms=tuple(alarms), dashboard=dashboard, aws=aws,
                   repeat=_repeat(ctx, section.get("repeat"), here + ("repeat",)), line=ctx.line(here) or 0)


def _aws(outer: AwsTarget, own: Mapping[str, Any] | None) -> AwsTarget:
    """A section's or widget's `aws`: what it sets, the rest from around it. A role belongs to the profile
    it is given with, so a new profile without a role drops the outer role."""
    if not own:
        return outer
    inherited = dataclasses.asdict(outer)
    if "profile" in own and "role_arn" not in own:
        inherited.update(role_arn=None, external_id=None, session_name=None)
    return AwsTarget(**{**inherited, **own})


def _repeat(ctx: Context, value: Any, path: KeyPath) -> Repeat | None:
    if value is None:
        return None
    line = ctx.line(path) or 0
    if isinstance(value, list):
        return Repeat(values=tuple(str(v) for v in value), line=line)
    name = value.get("as", "value")
    if "values" in value:
        return Repeat(name=name, values=tuple(str(v) for v in value["values"]), line=line)
    namespace, metric = value["metric"]
    return Repeat(name=name, namespace=namespace, metric=metric, dimension=value["dimension"],
                  dimensions=tuple((k, str(v)) for k, v in value.get("dimensions", {}).items()),
                  match=value.get("match"), limit=value.get("limit", Repeat.limit), line=line)


def _layout(ctx: Context, layout: Mapping[str, Any]) -> Layout:
    """The layout, its logo found and checked, and each font checked, relative to the spec's folder."""
    logo = None
    if "logo" in layout:
        logo = ctx.file.parent / layout["logo"]
        if (problem := logo_problem(logo)) is not None:
            ctx.fail(f"`logo`: {problem}", ("layout", "logo"))
    for index, entry in enumerate(layout.get("fonts", [])):
        if (problem := check_font(entry, base=ctx.file.parent)) is not None:
            ctx.fail(f"`fonts`: {problem}", ("layout", "fonts", index))
    return Layout(**{**layout, "logo": logo, "fonts": tuple(layout.get("fonts", []))})


def _summary(value: bool | Mapping[str, Any]) -> Summary | None:
    if value is False:
        return None
    return Summary() if value is True else Summary(float(value.get("threshold", Summary.threshold)))


def _delivery(ctx: Context, deliver: Mapping[str, Any]) -> Delivery:
    email = deliver.get("email")
    if email is None:
        return Delivery(archive=deliver.get("archive", True))

    def addresses(key: str) -> tuple[str, ...]:
        value = email.get(key, [])
        return tuple(value) if isinstance(value, list) else (value,)

    if not addresses("to"):
        ctx.fail("`to` needs at least one address", ("deliver", "email", "to"))
    try:
        envelope_recipients(addresses("to") + addresses("cc") + addresses("bcc"))
    except ValueError as exc:  # too many: SES refuses more than 50, and a long list belongs in a mailing list
        ctx.fail(f"to, cc and bcc: {exc}", ("deliver", "email"))
    extra = {key: email[key] for key in ("subject", "body", "inline_chart") if key in email}
    return Delivery(
        email=EmailDelivery(to=addresses("to"), cc=addresses("cc"), bcc=addresses("bcc"),
                            line=ctx.line(("deliver", "email")), **extra),
        archive=deliver.get("archive", True),
    )


class _SpecLoader(yaml.SafeLoader):
    """PyYAML's safe loader, with a value it cannot make (``2026-02-30``, ``!!int abc``) a YAML error at its line
    instead of the bare ValueError that PyYAML's constructors raise."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            kind = node.tag.rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(None, None, f"{node.value!r} is not a valid {kind}: {exc}",
                                                    node.start_mark) from exc


def read_yaml(path: Path, what: str, keys: str) -> tuple[dict[str, Any], Context]:
    """A YAML file's mapping (dates and times as ISO text) and its line map; ``SpecError`` naming the line.

    ``what`` names the document in messages ("report spec"), ``keys`` hints at what its mapping holds.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise SpecError(f"cannot read the {what}: {exc.strerror or exc}", file=path) from exc
    except UnicodeDecodeError as exc:
        raise SpecError(f"the {what} is not UTF-8 text ({exc.reason} at byte {exc.start})", file=path) from exc
    # yaml.safe_load's own steps, paused between composing and constructing, so the text is parsed once.
    try:
        loader = _SpecLoader(text)  # it refuses control characters at once, before any node
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise SpecError(f"invalid YAML: {exc.reason} (character #x{exc.character:04x})", file=path, line=line) from None
    try:
        root = loader.get_single_node()
        if root is None:
            raise SpecError(f"the {what} is empty", file=path, line=1)
        _check_aliases(root, path)  # before construction, _plain and the checks walk every repetition
        # Before construction too: it merges `<<` keys into the mapping nodes, which would look like duplicates.
        ctx = Context(path, _line_map(root, path))
        doc = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = ": ".join(part for part in (exc.context, exc.problem) if part)
        raise SpecError(f"invalid YAML: {problem}", file=path,
                        line=mark.line + 1 if mark else None) from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", file=path) from exc
    except RecursionError:  # PyYAML composes recursively; thousands of nested brackets exhaust the stack
        raise SpecError(f"the {what} nests too deeply to read", file=path) from None
    finally:
        loader.dispose()
    if not isinstance(doc, dict):
        ctx.fail(f"a {what} must be a mapping ({keys}), not {describe(doc)}", ())
    _refuse_surrogates(ctx, doc, ())
    return _plain(doc), ctx


def _line_map(root: yaml.Node, file: Path) -> dict[KeyPath, int]:
    """Record the 1-based line of every mapping key and sequence item; reject duplicate keys."""
    lines: dict[KeyPath, int] = {(): root.start_mark.line + 1}
    seen: set[int] = set()  # aliases share nodes: walk each once (also stops recursive aliases)

    def walk(node: yaml.Node, path: KeyPath) -> None:
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


_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_surrogates(ctx: Context, value: Any, path: KeyPath) -> None:
    """A lone surrogate (YAML's ``"\\uD800"`` escape) is half of a character: no file, header or PDF can
    hold it, so it is refused here, at its line, rather than found by whatever writes it first."""
    items: Iterable[tuple[Any, Any]] = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    elif isinstance(value, str) and (found := _SURROGATE.search(value)):
        ctx.fail(f"the text holds U+{ord(found.group()):04X}, half of a character (a lone surrogate); write the "
                 "character itself, or its \\U escape", path)
    for key, item in items:
        if isinstance(key, str) and (found := _SURROGATE.search(key)):
            ctx.fail(f"a key holds U+{ord(found.group()):04X}, half of a character (a lone surrogate)", path)
        _refuse_surrogates(ctx, item, path + (key,))


def _plain(value: Any) -> Any:
    """Unquoted YAML timestamps become ISO 8601 text, as they would be in JSON."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _period_of(ctx: Context, value: str | dict[str, str], zone: ZoneInfo) -> Period:
    if isinstance(value, str):
        return Period(keyword=value)
    start, end = (parse_time_expression(value[k]) if k in value else None for k in ("start", "end"))
    if isinstance(start, timedelta) and start >= timedelta(0):
        ctx.fail(f"the period's `start` ({value['start']}) counts back from its `end` and must be a negative "
                 "duration, such as -P1D", ("period", "start"))
    # Compared as instants: naive bounds are wall-clock times in the report's zone.
    if isinstance(start, datetime) and isinstance(end, datetime) and to_utc(start, zone) >= to_utc(end, zone):
        ctx.fail(f"the period's `start` ({value['start']}) must be before its `end` ({value['end']})",
                 ("period", "start"))
    return Period(keyword=None, start=value["start"], end=value.get("end"))


def _widget(ctx: Context, defaults: Mapping[str, Any], widget: Mapping[str, Any], path: KeyPath, *,
            table: bool, aws: AwsTarget) -> WidgetSpec:
    """Merge defaults < widget file < widget keys, then check what only the whole widget can show."""
    line = ctx.line(path)
    # `file`, `span`, `caption`, `aws` and `repeat` are reportgen's, not CloudWatch's: they are not sent.
    own = {key: value for key, value in widget.items() if key not in ("file", "span", "caption", "aws", "repeat")}
    file = ctx.file.parent / widget["file"] if "file" in widget else None
    from_file = {} if file is None else _read_widget_file(
        ctx.for_json_file(widget["file"], ctx.line(path + ("file",))),
        _inside_spec_folder(ctx, widget["file"], path))
    source = {**defaults, **from_file, **own}
    # `table: true|false` is reportgen's numbers table; a mapping is CloudWatch's table view, and is sent.
    if isinstance(source.get("table"), bool):
        table = source.pop("table")
    if "metrics" not in source:
        if file is not None:
            ctx.fail(f"neither `{widget['file']}` nor the widget's YAML gives `metrics`", path + ("file",))
        ctx.fail("the widget needs `metrics` (or a `file:` that holds them)", path)
    widget_json(source, file=ctx.file, line=line)
    span = widget.get("span", 1)
    return WidgetSpec(title=source.get("title") or title_from(source["metrics"]), source=source,
                      line=line or 0, file=file, span=None if span == "full" else span,
                      caption=widget.get("caption"), table=table, aws=_aws(aws, widget.get("aws")),
                      repeat=_repeat(ctx, widget.get("repeat"), path + ("repeat",)))


def _inside_spec_folder(ctx: Context, name: str, path: KeyPath) -> Path:
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


def _read_widget_file(ctx: Context, file: Path) -> dict[str, Any]:
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
        ctx.fail(f"a widget file must hold a JSON object (a MetricWidget), not {describe(content)}", ())
    _FILE_WIDGET(ctx, content, ())
    return content


def title_from(metrics: list[list[Any]]) -> str:
    """A title for an untitled widget: its first metric's name, or its first expression's label."""
    row = metrics[0]
    options = row[-1] if isinstance(row[-1], dict) else {}
    names = [part for part in row if isinstance(part, str)]
    if names:  # the first row is [Namespace, MetricName, …]; the metric-row check in specschema made sure
        return names[1]
    return str(options.get("label") or options["expression"])
