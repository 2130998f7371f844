"""Checking parsed values against tables of allowed keys, with errors that point at a line.

Checks are written as a small table of allowed keys per mapping (``Schema``) built from reusable value checks;
the first problem found is raised as a ``SpecError`` through ``Context.fail``, which knows the line of every
key/item path, and a misspelt key or choice is answered with the nearest valid one. An ``open`` schema (what
CloudWatch reads) lets through a key it does not know unless it is a near miss of one it does, and notes it in
``Context.warnings``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

from reportgen.errors import SpecError

KeyPath = tuple[str | int, ...]  # keys and list indices from the document root


# --- where things are: line numbers and error construction -------------------------------------------


@dataclass(frozen=True)
class Context:
    """The file being checked and the line of every key/item path in it."""

    file: Path
    lines: Mapping[KeyPath, int]
    fixed_line: int | None = None  # content of a widget JSON file: every problem points at its `file:` line
    origin: str | None = None      # that JSON file as written in the spec, to prefix messages with
    # ``FILE:LINE: message`` for each thing that passed but deserves a word; shared by ``for_json_file``'s.
    warnings: list[str] = field(default_factory=list, compare=False)

    def line(self, path: KeyPath) -> int | None:
        if self.fixed_line is not None:
            return self.fixed_line
        # Keys that came in through a YAML merge (`<<`) or a non-string key have no entry: use the parent's.
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def fail(self, message: str, path: KeyPath) -> NoReturn:
        raise self._error(message, path)

    def warn(self, message: str, path: KeyPath) -> None:
        self.warnings.append(str(self._error(message, path)))

    def for_json_file(self, origin: str, file_line: int | None) -> Context:
        return Context(self.file, {}, fixed_line=file_line, origin=origin, warnings=self.warnings)

    def _error(self, message: str, path: KeyPath) -> SpecError:
        keys = [part for part in path if isinstance(part, str)]
        if self.origin is not None:
            message = f"in {self.origin}: {message}"
        return SpecError(message, file=self.file, line=self.line(path), key=keys[-1] if keys else None)


def label(path: KeyPath) -> str:
    """How a message names the value at ``path``: its key, with list positions, e.g. ``horizontal[1]``."""
    indices = ""
    for part in reversed(path):
        if isinstance(part, str):
            return f"{part}{indices}"
        indices = f"[{part}]{indices}"
    return f"item{indices}"


def did_you_mean(word: object, choices: Sequence[str]) -> str:
    """``; did you mean `x`?`` for the closest choice, ignoring case, or an empty string."""
    by_lower = {choice.lower(): choice for choice in choices}
    match = difflib.get_close_matches(str(word).lower(), list(by_lower), n=1)
    return f"; did you mean `{by_lower[match[0]]}`?" if match else ""


def near_miss(word: str, choices: Sequence[str]) -> str | None:
    """The choice closest to ``word`` if it is at most two edits away (one for words of up to four letters,
    where two reach too many unrelated words), ignoring case; an edit adds, drops or changes a letter, or swaps
    two neighbours. ``None`` when no choice is that close."""
    allowed = 1 if len(word) <= 4 else 2
    distance, closest = min(((_edits(word.lower(), choice.lower()), choice) for choice in choices),
                            default=(allowed + 1, None))
    return closest if distance <= allowed else None


def _edits(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment): `stakced` is one edit from `stacked`."""
    # d[i][j]: edits between a[:i] and b[:j]
    d = [[i + j if i == 0 or j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def describe(value: object) -> str:
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

Check = Callable[[Context, Any, KeyPath], None]


def is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # YAML true is an int to Python


def _is_number(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))  # NaN and infinity would not survive as JSON


def expect(ctx: Context, value: object, path: KeyPath, ok: bool, expected: str) -> None:
    if not ok:
        ctx.fail(f"`{label(path)}` must be {expected}, not {describe(value)}", path)


def string(ctx: Context, value: Any, path: KeyPath) -> None:
    expect(ctx, value, path, isinstance(value, str), "a string")


def boolean(ctx: Context, value: Any, path: KeyPath) -> None:
    expect(ctx, value, path, isinstance(value, bool), "true or false")


def integer(low: int, high: int) -> Check:
    def check(ctx: Context, value: Any, path: KeyPath) -> None:
        expect(ctx, value, path, is_integer(value), "an integer")
        if not low <= value <= high:
            ctx.fail(f"`{label(path)}` must be between {low} and {high}, not {value}", path)
    return check


def number(ctx: Context, value: Any, path: KeyPath) -> None:
    expect(ctx, value, path, _is_number(value), "a number")


def choice(*options: str) -> Check:
    def check(ctx: Context, value: Any, path: KeyPath) -> None:
        string(ctx, value, path)
        if value not in options:
            ctx.fail(f"`{label(path)}` must be one of {', '.join(options)}, not `{value}`"
                     + did_you_mean(value, options), path)
    return check


def pattern(regex: str, expected: str) -> Check:
    compiled = re.compile(regex)

    def check(ctx: Context, value: Any, path: KeyPath) -> None:
        string(ctx, value, path)
        if compiled.fullmatch(value) is None:
            ctx.fail(f"`{label(path)}` must be {expected}, not `{value}`", path)
    return check


def list_of(item: Check, *, min_items: int = 0) -> Check:
    def check(ctx: Context, value: Any, path: KeyPath) -> None:
        expect(ctx, value, path, isinstance(value, list), "a list")
        if len(value) < min_items:
            ctx.fail(f"`{label(path)}` needs at least {min_items} item{'s' if min_items > 1 else ''}", path)
        for index, element in enumerate(value):
            item(ctx, element, path + (index,))
    return check


@dataclass(frozen=True)
class Schema:
    """The keys a mapping may hold, the check for each value, and which keys it needs."""

    noun: str                       # "`x` is not a <noun> key", "the <noun> needs `x`"
    keys: Mapping[str, Check]
    required: tuple[str, ...] = ()
    refused: Mapping[str, str] = field(default_factory=dict)  # known elsewhere, wrong here: key → why
    # CloudWatch ignores keys it does not know, and real widget JSON carries some: an open schema passes an
    # unknown key with a warning, unless it is a near miss of a known one (`stakced`), which is a slip.
    open: bool = False

    def __call__(self, ctx: Context, value: Any, path: KeyPath) -> None:
        expect(ctx, value, path, isinstance(value, dict), f"a mapping of {self.noun} keys")
        for key, item in value.items():
            if key in self.refused:
                ctx.fail(f"`{key}` cannot be used here: {self.refused[key]}", path + (key,))
            if key in self.keys:
                self.keys[key](ctx, item, path + (key,))
                continue
            where = path + (str(key),)  # the line map knows keys as written, e.g. "1" for 1
            slip = near_miss(str(key), list(self.keys))
            if self.open and slip is None:
                ctx.warn(f"`{key}` is not {self._a_noun} key reportgen knows; it is sent to CloudWatch as written",
                         where)
                continue
            hint = f"; did you mean `{slip}`?" if slip else did_you_mean(key, list(self.keys))
            ctx.fail(f"`{key}` is not {self._a_noun} key{hint}", where)
        for key in self.required:
            if key not in value:
                ctx.fail(f"the {self.noun} needs `{key}`", path)

    @property
    def _a_noun(self) -> str:
        return ("an " if self.noun[0] in "aeiou" else "a ") + self.noun

    def extended(self, **more: Check) -> Schema:
        return replace(self, keys={**self.keys, **more})

    def refusing(self, **why: str) -> Schema:
        return replace(self, refused=why)


def either(first: Check, second: Check, test: Callable[[Any], bool]) -> Check:
    """``first`` for values that pass ``test`` (e.g. a list), otherwise ``second``."""
    def check(ctx: Context, value: Any, path: KeyPath) -> None:
        (first if test(value) else second)(ctx, value, path)
    return check


def parsed_by(parse: Callable[[Any], object], *, text: bool = True, named: bool = True) -> Check:
    """A check made of a function that raises ``ValueError`` with a message, such as a parser.

    ``text``: the value must be a string first; ``named``: the message is prefixed with the key's name.
    """
    def check(ctx: Context, value: Any, path: KeyPath) -> None:
        if text:
            string(ctx, value, path)
        try:
            parse(value)
        except ValueError as exc:
            ctx.fail(f"`{label(path)}`: {exc}" if named else str(exc), path)
    return check
