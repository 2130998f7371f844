"""Property: whatever a spec file holds, ``reportgen validate FILE`` answers ok (exit 0) or one line naming the
file and line of the problem (exit 2); never a traceback.

Hypothesis writes two kinds of file. Most are a valid spec with one change: a key dropped, a value replaced by
a random one or by the same value as another type, or a period, time zone, layout or metric row drawn from what
users write and what they get wrong. The rest are random YAML: any shape of mappings, lists and scalars; nulls,
booleans, huge numbers, very long strings and deep nesting; text in any script (RTL, CJK, emoji), with NUL and
lone surrogates written as YAML escapes; and files that are not UTF-8 at all.

An error without a line (``error: FILE: …``) is right only for a file that cannot be read as a YAML mapping
as a whole; anything wrong inside a mapping has a line.

What the fuzzing found is pinned by the tests at the end: a character yaml refuses and a lone surrogate in a
widget made a traceback, and an error quoting a newline, a carriage return or an escape sequence was not one
printable line.

``REPORTGEN_FUZZ_EXAMPLES`` sets the number of examples (default 150).
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reportgen.cli import EXIT_BAD_INPUT, EXIT_OK, main

EXAMPLES = int(os.environ.get("REPORTGEN_FUZZ_EXAMPLES", "150"))

VALID: dict[str, Any] = {
    "report": "fuzz-report",
    "title": "Fuzzed report",
    "description": "What a fuzzer wrote.",
    "timezone": "Europe/Berlin",
    "period": "yesterday",
    "schedule": "daily",
    "aws": {"region": "eu-central-1", "rate_limit": 20},
    "layout": {"page": "A4", "orientation": "landscape", "columns": 2, "footer": "Internal"},
    "defaults": {"width": 600, "height": 300, "period": 300, "stat": "Average"},
    "table": True,
    "summary": {"threshold": 25},
    "sections": [
        {"title": "Compute", "widgets": [
            {"text": "The web tier runs on **three instances**."},
            {"title": "CPU", "caption": "Above 80 % pages someone.",
             "metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"],
                         [".", ".", ".", "i-2", {"stat": "Maximum", "color": "#d62728"}]],
             "annotations": {"horizontal": [{"value": 80, "label": "Warning"}]}},
            {"title": "Math", "span": "full",
             "metrics": [["AWS/EC2", "CPUUtilization", {"id": "m1", "visible": False}],
                         [{"expression": "m1 * 2", "id": "e1", "label": "Doubled"}]]},
        ]},
        {"title": "Queues", "page_break": "before", "columns": 1, "widgets": [
            {"title": "Depth", "view": "bar", "stacked": True,
             "metrics": [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "orders"]]},
        ]},
    ],
}

# Text as people (and copy-paste) write it.
SCRIPTS = ["", " ", "CPU", "שלום עולם", "مرحبا بالعالم", "請求數 エラー率 응답 시간", "🔥🚀👍🏽",
           "e\u0301", "\u202eRTL override", "a\0b", "\ud800", "\udfff lone", "\ufeffBOM", "tab\there", "line\nbreak",
           "${value}", "{title}", "%s %d",
           "'quoted'", '"double"', "- dash", "key: value", "#not a comment", "&anchor", "*alias", "!!python/object"]
TEXT = st.one_of(st.sampled_from(SCRIPTS), st.text(max_size=30),
                 st.integers(200, 2000).map(lambda n: "long " * n))
SCALARS = st.one_of(st.none(), st.booleans(), TEXT, st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                    st.sampled_from([0, -1, 1, 2, 5, 2001, 10**40]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                      st.dictionaries(TEXT, inner, max_size=5)), max_leaves=20)

PERIODS = st.one_of(
    st.sampled_from(["yesterday", "today", "previous_week", "previous_month", "last_24h", "last_7d", "last_30d",
                     "tomorrow", "Yesterday", "", "P1D", "-PT3H"]),
    st.fixed_dictionaries({}, optional={
        "start": st.sampled_from(["2026-11-01T00:00", "2026-11-01T00:00+05:30", "-PT3H", "-P7D", "-P400D", "P1D",
                                  "2026-13-01T00:00", "2026-02-30", "1969-12-31T23:59", "now", ""]) | TEXT,
        "end": st.sampled_from(["2026-11-02T00:00", "2026-11-01T00:00Z", "-PT1H", "PT0S", "2099-01-01T00:00",
                                "2026-10-01T00:00"]) | TEXT}),
    VALUES)
TIMEZONES = st.one_of(st.sampled_from(["UTC", "Europe/Berlin", "Asia/Tokyo", "America/St_Johns", "Pacific/Chatham",
                                       "Asia/Kathmandu", "Etc/GMT+12", "Europe/berlin", "CET", "+0530", "UTC+5",
                                       "Local", "", "../../etc/passwd", "Europe/", "/etc/localtime", "Mars/Olympus"]),
                      VALUES)
LAYOUTS = st.fixed_dictionaries({}, optional={
    "page": st.sampled_from(["A4", "A3", "Letter", "Legal", "a4", "A5", ""]) | VALUES,
    "orientation": st.sampled_from(["landscape", "portrait", "sideways"]) | VALUES,
    "columns": st.integers(-2, 6) | VALUES,
    "rows": st.integers(-1, 5) | VALUES,
    "colums": st.integers(1, 4),
    "contents": VALUES,
    "footer": TEXT,
    "logo": st.sampled_from(["logo.svg", "missing.png", "../outside.png", "/etc/hostname", ""]),
})
OPTIONS = st.fixed_dictionaries({}, optional={
    "id": st.sampled_from(["m1", "e1", "M1", "1m", "", "m-1"]) | TEXT,
    "stat": st.sampled_from(["Average", "p99", "p100", "TM(10%:90%)", "Avg"]) | TEXT,
    "label": TEXT, "color": st.sampled_from(["#d62728", "red", "#12345", "#gggggg"]) | TEXT,
    "period": st.sampled_from([1, 60, 61, 0, -300]) | VALUES, "yAxis": st.sampled_from(["left", "right", "up"]),
    "visible": VALUES, "expression": st.sampled_from(["m1*2", "AVERAGE(m1)", "SEARCH('{AWS/EC2} x', 'Average', 300)",
                                                     "m1 +", "FILL(m1, 0)", "e1"]) | TEXT,
})
ROWS = st.one_of(
    st.tuples(st.sampled_from(["AWS/EC2", ".", "", "Custom/App"]) | TEXT, st.sampled_from(["CPUUtilization", "."])
              | TEXT, st.lists(TEXT, max_size=6)).map(lambda row: [row[0], row[1], *row[2]]),
    st.tuples(st.lists(TEXT, max_size=4), OPTIONS).map(lambda row: [*row[0], row[1]]),
    st.lists(OPTIONS, min_size=1, max_size=2),
    VALUES)
WIDGETS = st.fixed_dictionaries({"metrics": st.lists(ROWS, max_size=5) | VALUES}, optional={
    "title": TEXT, "view": st.sampled_from(["timeSeries", "bar", "pie", "singleValue", "table", "map"]),
    "width": st.integers(-1, 2100) | VALUES, "height": st.integers(0, 2001), "stakced": st.booleans(),
    "span": st.sampled_from(["full", 1, 3, 0]) | VALUES, "table": VALUES, "start": TEXT, "timezone": TIMEZONES,
    "annotations": VALUES, "yAxis": VALUES, "period": VALUES, "someUnknownKey": VALUES})

# Where a generated value goes in the valid spec, besides anywhere at random.
FIELDS: list[tuple[tuple[str | int, ...], st.SearchStrategy[Any]]] = [
    (("period",), PERIODS), (("timezone",), TIMEZONES), (("layout",), LAYOUTS),
    (("sections", 0, "widgets", 1), WIDGETS), (("sections", 1, "widgets", 0, "metrics", 0), ROWS),
    (("sections", 0, "widgets", 2, "metrics"), st.lists(ROWS, max_size=4)),
    (("schedule",), st.sampled_from(["daily", {"weekly": "monday"}, {"weekly": "funday"}, {"monthly": 31},
                                     {"monthly": "last"}, {"monthly": 0}, {"cron": "30 6 * * 1-5"},
                                     {"cron": "61 * * * *"}, "hourly"]) | VALUES),
    (("sections", 0, "widgets", 1, "title"), st.just("more than CloudWatch's 100 KB " * 4000)),
    (("report",), st.sampled_from(["ok-id", "Not_OK", "", "a" * 300, "-"]) | TEXT),
]


def paths(value: Any, here: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every key and item path in a document, the root's children first."""
    items: Any = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield (*here, key)
        yield from paths(child, (*here, key))


def retyped(value: Any) -> list[Any]:
    """The same value as other YAML types."""
    return [str(value), [value], {"value": value}, None, True, 42, 1.5, ""]


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    doc = copy.deepcopy(VALID)
    if draw(st.booleans()):  # a field with what users write there
        path, strategy = draw(st.sampled_from(FIELDS))
        change = "replace"
    else:
        path, strategy = draw(st.sampled_from(list(paths(doc)))), VALUES
        change = draw(st.sampled_from(["drop", "replace", "retype"]))
    *parents, last = path
    parent = doc
    for key in parents:
        parent = parent[key]
    if change == "drop":
        del parent[last]
    elif change == "retype":
        parent[last] = draw(st.sampled_from(retyped(parent[last])))
    else:
        parent[last] = draw(strategy)
    return dump(doc, draw)


def dump(doc: Any, draw: st.DrawFn) -> str:
    # allow_unicode=False writes every non-ASCII character, NUL and lone surrogates included, as an escape.
    return yaml.safe_dump(doc, allow_unicode=draw(st.booleans()), sort_keys=False, width=draw(st.integers(20, 200)),
                          default_flow_style=draw(st.sampled_from([False, None, True])))


@st.composite
def random_documents(draw: st.DrawFn) -> str:
    return dump(draw(VALUES | st.dictionaries(st.sampled_from([*VALID, "sections", "widgets", "colums"]) | TEXT,
                                              VALUES, max_size=6)), draw)


# Deeper than Python's recursion limit is test_a_spec_nested_too_deeply_is_an_error: under hypothesis such an
# example takes a minute (its tracing of a RecursionError), not the 0.1 s it takes on its own.
NESTED = st.integers(1, 150).map(lambda depth: "sections: " + "[" * depth + "]" * depth + "\n")
RAW_TEXT = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["", "\n", "---\n", "--- \n...\n---\n", "report: a\nreport: b\n", "a: &x [*x]\n",
                     "a: !!python/object:os.system x\n", "? [complex, key]\n: value\n", "title: 'unterminated\n",
                     "\ttab: indent\n", "sections:\n- - - -\n", "report: x\n---\nreport: y\n",
                     "x: &a [1]\ny: [*a, *a, *a]\n" * 3, "<<: {report: merged}\n", "%YAML 1.1\n---\nreport: x\n"]),
    NESTED)

DOCUMENTS = st.one_of(mutated_specs(), mutated_specs(), mutated_specs(), random_documents(), RAW_TEXT)
# Mostly UTF-8; else lone surrogates kept as they are (which is not UTF-8), or bytes that are not UTF-8 at all.
ENCODINGS = st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8", "surrogatepass", "latin-1-bom"])


def encode(text: str, how: str) -> bytes:
    if how == "utf-8":
        return text.encode("utf-8", "backslashreplace")
    if how == "surrogatepass":
        return text.encode("utf-8", "surrogatepass")
    return b"\xff\xfe" + text.encode("latin-1", "replace")


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "fuzzed.yaml"


def whole_file_problem(data: bytes) -> bool:
    """Whether the file cannot be read as a YAML mapping at all, so no line can be blamed."""
    try:
        return not isinstance(yaml.safe_load(data.decode("utf-8")), dict)
    except (UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return True




@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.data_too_large])
@given(text=DOCUMENTS, encoding=ENCODINGS)
def test_validate_answers_ok_or_an_error_naming_the_file_never_a_traceback(spec_file: Path, text: str,
                                                                           encoding: str) -> None:
    data = encode(text, encoding)
    code, errors, said = validate(spec_file, data)
    assert "Traceback" not in errors, errors
    assert code in (EXIT_OK, EXIT_BAD_INPUT), (code, errors)
    starts = re.findall(r"^(error|warning): ", errors, re.MULTILINE)
    if code == EXIT_OK:
        assert "error" not in starts, errors
        assert said.startswith(f"{spec_file}: ok ("), said
        return
    assert starts.count("error") == 1, errors
    where = re.search(rf"^error: {re.escape(str(spec_file))}:(\d+:)? ", errors, re.MULTILINE)
    assert where is not None, errors
    assert where.group(1) is not None or whole_file_problem(data), errors


def validate(spec_file: Path, data: bytes) -> tuple[int, str, str]:
    """``reportgen validate`` on ``data``: its exit status, stderr and stdout."""
    spec_file.write_bytes(data)
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["validate", str(spec_file)])
    return code, stderr.getvalue(), stdout.getvalue()


@pytest.mark.parametrize("text", ["\x08", "title: a\x1bb\n", "report: x\x7f\n", "title: a\x00b\n"])
def test_a_control_character_is_an_error_not_a_traceback(spec_file: Path, text: str) -> None:
    code, errors, _ = validate(spec_file, text.encode())
    assert code == EXIT_BAD_INPUT
    assert errors.startswith(f"error: {spec_file}:1: "), errors


@pytest.mark.parametrize("text", ['period:\n  "line\\nbreak": 1\n', 'report: "a\\rb"\n',
                                  'report: "\\e[2Jcleared"\n'])
def test_an_error_is_one_line_of_printable_text(spec_file: Path, text: str) -> None:
    code, errors, _ = validate(spec_file, text.encode())
    assert code == EXIT_BAD_INPUT
    (line,) = errors.splitlines()
    assert line.isprintable(), line


@pytest.mark.parametrize("widget", ['{title: "\\uD800", metrics: [[A, B]]}', '{title: T, metrics: [[A, "\\uDC00"]]}',
                                    '{title: T, annotations: {"\\uD800": 1}, metrics: [[A, B]]}'])
def test_a_lone_surrogate_is_an_error_not_a_traceback(spec_file: Path, widget: str) -> None:
    text = f"report: r\ntitle: t\nsections: [{{title: S, widgets: [{widget}]}}]\n"
    code, errors, _ = validate(spec_file, text.encode())
    assert code == EXIT_BAD_INPUT
    assert errors.startswith(f"error: {spec_file}:3: "), errors


@pytest.mark.parametrize("depth", [200, 1000, 20_000])
def test_a_spec_nested_too_deeply_is_an_error(spec_file: Path, depth: int) -> None:
    code, errors, _ = validate(spec_file, f"sections: {'[' * depth}{']' * depth}\n".encode())
    assert code == EXIT_BAD_INPUT
    assert errors.startswith(f"error: {spec_file}:"), errors
