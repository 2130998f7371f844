"""CloudWatch's search expressions, the first argument of ``SEARCH('{AWS/EC2,InstanceId} CPUUtilization', …)``.

    query   := [schema [","]] [terms]
    schema  := "{" name ("," name)* "}"        the namespace, then dimension names; a name with spaces or
                                               other characters than letters and digits is "double-quoted"
    terms   := and ("OR" and)*
    and     := unary (["AND"] unary)*          juxtaposition is AND
    unary   := "NOT" unary | "(" terms ")" | property "=" value | word
    value   := "(" terms ")" | word            every word of a parenthesized value is about the property
    word    := bare | "quoted"                 in quotes, \\" \\\\ \\( \\) stand for " \\ ( )

Boolean operators are upper case; a property is ``Namespace``, ``MetricName`` or a dimension name.

What matches, as AWS's "CloudWatch search expression syntax" describes it:

- A schema matches the metrics of exactly that namespace whose dimension names are exactly those listed:
  ``{AWS/EC2}`` finds the metrics without dimensions, ``{AWS/EC2,InstanceId}`` those with just InstanceId.
- A term without a property looks at the namespace, the metric name, and every dimension's name and value;
  with a property, at the namespace, the metric name or that dimension's value alone.
- A "quoted" term matches a whole string exactly, case and all.
- A bare term matches by tokens. A string's tokens are its runs of letters and digits split where camel
  case and digits begin (``Network-Errors2`` → ``Network`` ``Errors`` ``2``), plus its letters and digits
  run together in lower case (``networkerrors2``). A term is split the same way, and matches when its
  tokens appear in a row among the string's, or when its letters and digits are that last, whole token.
  A term's token compares in any case when its run of letters and digits has only that one token
  (``count``, ``COUNT``, ``network/errors``), exactly when the run holds several (``CustomCount`` and
  ``Count1`` find ``CustomCount1``; ``count1`` and ``couNT`` do not).

A query is checked when it is parsed: what is wrong raises ``mathexpr.ExpressionError`` naming the query.

Where the search runs: ``operations`` answers SEARCH from the metric store (``mathexpr.Search``). A render
worker cannot reach the store, so the server looks up beforehand what a widget's math will ask, with a
``Recorder``, and hands the worker the ``Answers``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from reportgen.local.mathexpr import ExpressionError, Search, TimeSeries
from reportgen.local.store import MetricKey

MAX_LENGTH = 1024  # characters in a query, as CloudWatch allows
NAMESPACE, METRIC_NAME = "Namespace", "MetricName"

_WORD = re.compile(r"[^\W_]+")  # a run of letters and digits
# The tokens of a run: capitals before a capitalized word (SDB|Failure), a capitalized or lower-case word,
# digits, and letters outside ASCII, which have no camel case here.
_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+|[^\W\d_A-Za-z]+")
# Query tokens: parentheses, "=", a quoted word (backslash escapes), a bare word.
_LEXEME = re.compile(r'\s*(?:(?P<symbol>[()=])|(?P<quoted>"(?:[^"\\]|\\.)*")|(?P<bare>[^\s()="]+))', re.DOTALL)
_SCHEMA_NAME = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,{}"]+))\s*([,}])', re.DOTALL)
_UNESCAPE = re.compile(r"\\(.)", re.DOTALL)
_OPERATORS = frozenset({"AND", "OR", "NOT"})


@dataclass(frozen=True)
class Term:
    """A word to find: in ``field`` (a property) or anywhere when None; ``exact`` when it was quoted."""

    field: str | None
    text: str
    exact: bool

    def matches(self, metric: MetricKey) -> bool:
        if self.exact:
            return any(candidate == self.text for candidate in _candidates(metric, self.field))
        return any(_partial(self._split, self._joined, candidate) for candidate in _candidates(metric, self.field))

    @cached_property
    def _split(self) -> list[tuple[str, bool]]:
        return _term_tokens(self.text)

    @cached_property
    def _joined(self) -> str:
        return _whole(self.text)


@dataclass(frozen=True)
class Not:
    operand: Node

    def matches(self, metric: MetricKey) -> bool:
        return not self.operand.matches(metric)


@dataclass(frozen=True)
class AllOf:
    operands: tuple[Node, ...]

    def matches(self, metric: MetricKey) -> bool:
        return all(operand.matches(metric) for operand in self.operands)


@dataclass(frozen=True)
class AnyOf:
    operands: tuple[Node, ...]

    def matches(self, metric: MetricKey) -> bool:
        return any(operand.matches(metric) for operand in self.operands)


Node = Term | Not | AllOf | AnyOf


@dataclass(frozen=True)
class Query:
    """A parsed search expression: the schema (a namespace and the exact set of dimension names), the
    terms, or both."""

    text: str
    namespace: str | None = None
    dimensions: frozenset[str] = frozenset()
    terms: Node | None = None

    def matches(self, metric: MetricKey) -> bool:
        if self.namespace is not None and (
                metric.namespace != self.namespace or {name for name, _ in metric.dimensions} != self.dimensions):
            return False
        return self.terms is None or self.terms.matches(metric)


def parse(text: str) -> Query:
    """The query ``text`` says; ``ExpressionError`` if it is not a valid search expression."""
    if len(text) > MAX_LENGTH:
        raise _error(text, f"it is {len(text)} characters long; a search expression has at most {MAX_LENGTH}")
    rest = text.lstrip()
    namespace, dimensions = None, frozenset[str]()
    if rest.startswith("{"):
        names, rest = _schema(text, rest)
        namespace, dimensions = names[0], frozenset(names[1:])
        rest = rest.lstrip().removeprefix(",")
    terms = _Parser(text, rest).parse()
    if namespace is None and terms is None:
        raise _error(text, "it is empty: give a metric schema like {AWS/EC2,InstanceId}, search terms, or both")
    return Query(text, namespace, dimensions, terms)


def labels(metrics: Sequence[MetricKey]) -> list[str]:
    """What tells each of a search's results apart, as CloudWatch labels them: the values of the dimensions
    that differ among them, then the metric name and the namespace where those differ (``i-1``, ``i-2`` for
    one metric of two instances); the metric name for a result alone or one nothing else sets apart."""
    dimension_names = sorted({name for metric in metrics for name, _ in metric.dimensions})
    values = [dict(metric.dimensions) for metric in metrics]
    varying = [name for name in dimension_names if len({found.get(name) for found in values}) > 1]
    names_vary = len({metric.name for metric in metrics}) > 1
    namespaces_vary = len({metric.namespace for metric in metrics}) > 1
    result = []
    for metric, found in zip(metrics, values):
        parts = [found[name] for name in varying if name in found]
        parts += [metric.name] if names_vary else []
        parts += [metric.namespace] if namespaces_vary else []
        result.append(" ".join(parts) or metric.name)
    return result


# SEARCH's arguments: the search expression, the statistic, the period.
Question = tuple[str, str, int]


@dataclass(frozen=True)
class Answers:
    """SEARCH's answers looked up beforehand: a ``mathexpr.Search`` that needs no store, for a render worker."""

    found: Mapping[Question, tuple[TimeSeries, ...]]

    def __call__(self, expression: str, stat: str, period: int) -> Sequence[TimeSeries]:
        try:
            return self.found[expression, stat, period]
        except KeyError:
            raise LookupError(f"SEARCH({expression!r}, {stat!r}, {period}) was not looked up before drawing") from None


class Recorder:
    """A ``mathexpr.Search`` that asks ``search`` and keeps what it answers, for ``answers``."""

    def __init__(self, search: Search) -> None:
        self._search = search
        self._found: dict[Question, tuple[TimeSeries, ...]] = {}

    def __call__(self, expression: str, stat: str, period: int) -> Sequence[TimeSeries]:
        question = (expression, stat, period)
        if question not in self._found:
            self._found[question] = tuple(self._search(*question))
        return self._found[question]

    @property
    def answers(self) -> Answers:
        return Answers(dict(self._found))

    def __repr__(self) -> str:
        return f"<Recorder questions={len(self._found)}>"


# ---- the schema and the terms ---------------------------------------------------------------------------


def _error(text: str, problem: str) -> ExpressionError:
    shown = text if len(text) <= 80 else f"{text[:77]}…"
    return ExpressionError(f"SEARCH('{shown}'): {problem}")


def _schema(text: str, rest: str) -> tuple[list[str], str]:
    """The names between ``rest``'s opening brace and its closing one, and what follows it."""
    names: list[str] = []
    position = 1
    while True:
        match = _SCHEMA_NAME.match(rest, position)
        if match is None:
            raise _error(text, "the metric schema must be {Namespace, DimensionName, …} with names separated by "
                               "commas and a closing brace; quote a name that has spaces or other characters")
        quoted, bare, end = match.groups()
        names.append(_UNESCAPE.sub(r"\1", quoted) if quoted is not None else bare)
        position = match.end()
        if end == "}":
            break
    if not names[0]:
        raise _error(text, "the metric schema must start with a namespace")
    return names, rest[position:]


class _Parser:
    """Recursive descent over the grammar in the module docstring; ``field`` is the property a parenthesized
    value is about, None outside one."""

    def __init__(self, text: str, terms: str) -> None:
        self.text = text
        self.tokens = list(self._lex(terms))
        self.position = 0

    def parse(self) -> Node | None:
        if not self.tokens:
            return None
        node = self._or(None)
        if self.position < len(self.tokens):
            raise _error(self.text, f"unexpected {self._describe()}")
        return node

    def _lex(self, terms: str) -> Iterator[tuple[str, str]]:
        position = 0
        while terms[position:].strip():
            match = _LEXEME.match(terms, position)
            if match is None or match.lastgroup is None:
                raise _error(self.text, "a double-quoted term is not closed")
            yield match.lastgroup, match.group(match.lastgroup)
            position = match.end()

    def _peek(self, offset: int = 0) -> tuple[str, str] | None:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def _describe(self) -> str:
        token = self._peek()
        return "end of the search expression" if token is None else repr(token[1])

    def _or(self, field: str | None) -> Node:
        operands = [self._and(field)]
        while self._peek() == ("bare", "OR"):
            self.position += 1
            operands.append(self._and(field))
        return operands[0] if len(operands) == 1 else AnyOf(tuple(operands))

    def _and(self, field: str | None) -> Node:
        operands = [self._unary(field)]
        while (token := self._peek()) is not None and token not in (("symbol", ")"), ("bare", "OR")):
            if token == ("bare", "AND"):
                self.position += 1
            operands.append(self._unary(field))
        return operands[0] if len(operands) == 1 else AllOf(tuple(operands))

    def _unary(self, field: str | None) -> Node:
        token = self._peek()
        if token == ("bare", "NOT"):
            self.position += 1
            return Not(self._unary(field))
        if token == ("symbol", "("):
            self.position += 1
            node = self._or(field)
            if self._peek() != ("symbol", ")"):
                raise _error(self.text, f"expected ')' before {self._describe()}")
            self.position += 1
            return node
        if token is None or token[0] == "symbol" or token[1] in _OPERATORS:
            raise _error(self.text, f"expected a search term before {self._describe()}")
        self.position += 1
        word = _word(token)
        if self._peek() != ("symbol", "="):
            return Term(field, word, token[0] == "quoted")
        if field is not None:
            raise _error(self.text, f"{word!r} is a property inside the value of the property {field!r}")
        self.position += 1
        value = self._peek()
        if value == ("symbol", "("):
            return self._unary(word)
        if value is None or value[0] == "symbol" or value[1] in _OPERATORS:
            raise _error(self.text, f"the property {word!r} needs a value after '=', not {self._describe()}")
        self.position += 1
        return Term(word, _word(value), value[0] == "quoted")


def _word(token: tuple[str, str]) -> str:
    kind, text = token
    return _UNESCAPE.sub(r"\1", text[1:-1]) if kind == "quoted" else text


# ---- matching -------------------------------------------------------------------------------------------


def _candidates(metric: MetricKey, field: str | None) -> list[str]:
    """The strings a term looks at: those of its property, or all of the metric's."""
    if field is None:
        return [metric.namespace, metric.name, *(part for pair in metric.dimensions for part in pair)]
    if field == NAMESPACE:
        return [metric.namespace]
    if field == METRIC_NAME:
        return [metric.name]
    return [value for name, value in metric.dimensions if name == field]


def _tokens(text: str) -> list[str]:
    return [token for word in _WORD.findall(text) for token in _CAMEL.findall(word)]


def _whole(text: str) -> str:
    return "".join(_WORD.findall(text)).lower()


def _term_tokens(text: str) -> list[tuple[str, bool]]:
    """A term's tokens, each with whether it compares in any case (alone in its run of letters and digits)."""
    found = []
    for word in _WORD.findall(text):
        tokens = _CAMEL.findall(word)
        found += [(token, len(tokens) == 1) for token in tokens]
    return found


def _partial(tokens: list[tuple[str, bool]], whole: str, candidate: str) -> bool:
    if whole and whole == _whole(candidate):
        return True
    have = _tokens(candidate)
    return bool(tokens) and any(
        all(found.lower() == token.lower() if any_case else found == token
            for (token, any_case), found in zip(tokens, have[start:start + len(tokens)]))
        for start in range(len(have) - len(tokens) + 1))
