"""Metric math: the expression rows of a widget (``{"expression": "100 * errors / requests", "id": "rate"}``).

An expression names other rows by ``id`` and combines them with ``+ - * /``, parentheses, unary minus and
numbers. A series meets a number at every point, and a series meets a series point by point on the
timestamps both have. A point that comes out undefined or infinite (a division by zero) is left out of
the result: a gap, as CloudWatch leaves one. Expressions may name other expressions in any order; a
cycle is an error.

Functions come from a table, name → callable, so CloudWatch's function list can be added without
touching the parser: a call is checked against the table and the callable's signature when the widget
is validated, and the callable gets the evaluated arguments (numbers, strings, ``TimeSeries``) when it is
drawn. The arithmetic subset has none yet.

What CloudWatch would refuse raises ``ExpressionError``, with a message naming the expression and the
culprit. Nothing here calls ``eval``: the text goes through a small tokenizer and a recursive-descent
parser that know only the grammar above.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import numpy as np
import numpy.typing as npt


class ExpressionError(ValueError):
    """An expression CloudWatch would refuse; the message names the expression and the problem."""


class Points(Protocol):
    """What a referenced row provides: epoch-second timestamps and their values."""

    @property
    def timestamps(self) -> npt.NDArray[np.int64]: ...

    @property
    def values(self) -> npt.NDArray[np.float64]: ...


@dataclass(frozen=True)
class TimeSeries:
    """An evaluated series: epoch-second timestamps, ascending, and a value at each."""

    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]


Value = float | str | TimeSeries
Function = Callable[..., Value]

# CloudWatch's metric math functions, by the name an expression calls them with.
FUNCTIONS: Mapping[str, Function] = {}

# A bound on nesting, so a hostile "((((…" is refused instead of exhausting the parser's stack.
MAX_DEPTH = 100


# ---- syntax ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Ref:
    id: str


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class Binary:
    operator: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    name: str
    arguments: tuple[Node, ...]


Node = Number | Text | Ref | Negate | Binary | Call

_TOKEN = re.compile(r"""
    \s*(?:
        (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_]\w*)
      | (?P<text>"[^"]*"|'[^']*')
      | (?P<symbol>[-+*/(),])
    )""", re.VERBOSE | re.ASCII)


def parse(text: str, *, where: str = "expression") -> Node:
    """The syntax tree of ``text``; ``where`` names the expression in error messages."""
    return _Parser(text, where).parse()


class _Parser:
    """Recursive descent over the grammar, lowest precedence first.

    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := ("-" | "+") unary | primary
    primary := number | string | name "(" [sum ("," sum)*] ")" | name | "(" sum ")"
    """

    def __init__(self, text: str, where: str) -> None:
        self.text, self.where = text, where
        self.tokens = list(self._tokenize())
        self.position = 0  # index into tokens
        self.depth = 0

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError(f"the expression of {self.where} is empty")
        node = self._sum()
        if self.position < len(self.tokens):
            self._unexpected()
        return node

    def _tokenize(self) -> Iterator[tuple[str, str, int]]:
        """(kind, text, offset) for each token."""
        offset = 0
        while offset < len(self.text):
            match = _TOKEN.match(self.text, offset)
            if match is None or match.lastgroup is None:  # a stray character, or only spaces left
                rest = self.text[offset:].lstrip()
                if not rest:
                    return
                column = len(self.text) - len(rest)
                raise ExpressionError(f"unexpected {rest[0]!r} at position {column + 1} in expression of {self.where}")
            yield match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup)
            offset = match.end()

    def _peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str, int]:
        if self.position >= len(self.tokens):
            raise ExpressionError(f"the expression of {self.where} ends too early")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def _expect(self, symbol: str) -> None:
        if self._peek() != symbol:
            if self.position >= len(self.tokens):
                raise ExpressionError(f"the expression of {self.where} ends too early; expected {symbol!r}")
            self._unexpected()
        self.position += 1

    def _unexpected(self) -> NoReturn:
        _, text, offset = self.tokens[self.position]
        raise ExpressionError(f"unexpected {text!r} at position {offset + 1} in expression of {self.where}")

    def _nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"the expression of {self.where} is nested more than {MAX_DEPTH} deep")

    def _sum(self) -> Node:
        node = self._product()
        while self._peek() in ("+", "-"):
            operator = self._take()[1]
            node = Binary(operator, node, self._product())
        return node

    def _product(self) -> Node:
        node = self._unary()
        while self._peek() in ("*", "/"):
            operator = self._take()[1]
            node = Binary(operator, node, self._unary())
        return node

    def _unary(self) -> Node:
        if self._peek() in ("-", "+"):
            operator = self._take()[1]
            self._nested()
            operand = self._unary()
            self.depth -= 1
            return Negate(operand) if operator == "-" else operand
        return self._primary()

    def _primary(self) -> Node:
        kind, text, _ = self._take()
        if kind == "number":
            return Number(float(text))
        if kind == "text":
            return Text(text[1:-1])
        if kind == "name":
            if self._peek() != "(":
                return Ref(text)
            self.position += 1
            self._nested()
            arguments: list[Node] = []
            if self._peek() != ")":
                arguments.append(self._sum())
                while self._peek() == ",":
                    self.position += 1
                    arguments.append(self._sum())
            self._expect(")")
            self.depth -= 1
            return Call(text, tuple(arguments))
        if text == "(":
            self._nested()
            node = self._sum()
            self._expect(")")
            self.depth -= 1
            return node
        self.position -= 1
        self._unexpected()


# ---- checking and evaluating ----------------------------------------------------------------------------


class Program:
    """A widget's expressions, checked against the ids they may name, ready to evaluate.

    ``expressions`` are (name, text) pairs: the name is the row's id, or any other label for a row
    without one (such a row cannot be referred to). ``metric_ids`` are the ids of the rows that carry
    data. Construction raises ``ExpressionError`` for bad syntax, an unknown id or function, a call that
    does not fit its function, an expression that names no data, and a cycle.
    """

    def __init__(self, expressions: Sequence[tuple[str, str]], metric_ids: Collection[str], *,
                 functions: Mapping[str, Function] = FUNCTIONS) -> None:
        self._functions = functions
        self._trees = {name: parse(text, where=name) for name, text in expressions}
        self._names = [name for name, _ in expressions]
        for name, tree in self._trees.items():
            self._check(tree, name, metric_ids, argument=False)
            if not any(isinstance(node, Ref | Call) for node in _walk(tree)):
                raise ExpressionError(f"the expression of {name} names no metric: "
                                      "refer to another row by its id")
        self._order = _dependency_order(self._trees)

    def evaluate(self, metrics: Mapping[str, Points]) -> list[TimeSeries]:
        """One result per expression, in the order given; ``metrics`` has the data of each metric id."""
        results: dict[str, TimeSeries] = {}

        def lookup(name: str) -> TimeSeries:
            if name in results:
                return results[name]
            return TimeSeries(metrics[name].timestamps, metrics[name].values)

        for name in self._order:
            value = _evaluate(self._trees[name], lookup, self._functions)
            if not isinstance(value, TimeSeries):  # only a function could make it so
                raise ExpressionError(f"the expression of {name} does not give a time series")
            defined = np.isfinite(value.values)
            results[name] = TimeSeries(value.timestamps[defined], value.values[defined])
        return [results[name] for name in self._names]

    def _check(self, node: Node, name: str, metric_ids: Collection[str], *, argument: bool) -> None:
        match node:
            case Ref(id=ref) if ref not in metric_ids and ref not in self._trees:
                raise ExpressionError(f"Unknown metric id {ref!r} in expression of {name}")
            case Text() if not argument:
                raise ExpressionError(f"a string can only be a function's argument, in expression of {name}")
            case Negate(operand=operand):
                self._check(operand, name, metric_ids, argument=False)
            case Binary(left=left, right=right):
                self._check(left, name, metric_ids, argument=False)
                self._check(right, name, metric_ids, argument=False)
            case Call(name=function, arguments=arguments):
                if function not in self._functions:
                    raise ExpressionError(f"Unsupported function {function} in expression of {name}")
                try:
                    inspect.signature(self._functions[function]).bind(*arguments)
                except TypeError as exc:
                    raise ExpressionError(f"{function}: {exc}, in expression of {name}") from None
                for item in arguments:
                    self._check(item, name, metric_ids, argument=True)


def _walk(node: Node) -> Iterator[Node]:
    yield node
    match node:
        case Negate(operand=operand):
            yield from _walk(operand)
        case Binary(left=left, right=right):
            yield from _walk(left)
            yield from _walk(right)
        case Call(arguments=arguments):
            for item in arguments:
                yield from _walk(item)


def _dependency_order(trees: Mapping[str, Node]) -> list[str]:
    """The expressions in an order where each comes after those it names; a cycle raises."""
    order: list[str] = []
    path: list[str] = []  # the expressions being visited, outermost first

    def visit(name: str) -> None:
        if name in order:
            return
        if name in path:
            cycle = " → ".join([*path[path.index(name):], name])
            raise ExpressionError(f"expressions refer to each other in a cycle: {cycle}")
        path.append(name)
        for node in _walk(trees[name]):
            if isinstance(node, Ref) and node.id in trees:
                visit(node.id)
        path.pop()
        order.append(name)

    for name in trees:
        visit(name)
    return order


def _evaluate(node: Node, lookup: Callable[[str], TimeSeries], functions: Mapping[str, Function]) -> Value:
    match node:
        case Number(value=number):
            return number
        case Text(value=text):
            return text
        case Ref(id=ref):
            return lookup(ref)
        case Negate(operand=operand):
            return _combine(np.subtract, 0.0, _evaluate(operand, lookup, functions))
        case Binary(operator=operator, left=left, right=right):
            return _combine(_OPERATORS[operator], _evaluate(left, lookup, functions),
                            _evaluate(right, lookup, functions))
        case Call(name=function, arguments=arguments):
            return functions[function](*(_evaluate(item, lookup, functions) for item in arguments))
    raise AssertionError(f"not a syntax node: {node!r}")


_OPERATORS: dict[str, Callable[..., Any]] = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide,
}


def _combine(operator: Callable[..., Any], left: Value, right: Value) -> Value:
    """``left`` ⊕ ``right``: number with number, series with number at every point, series with series
    on the timestamps both have. Undefined and infinite results (x / 0, overflow) stay NaN and inf here;
    ``Program.evaluate`` leaves them out."""
    if isinstance(left, str) or isinstance(right, str):  # only a function could hand one over
        raise ExpressionError("a string cannot take part in arithmetic")
    operands: tuple[Any, Any]
    if isinstance(left, TimeSeries) and isinstance(right, TimeSeries):
        timestamps, mine, theirs = np.intersect1d(left.timestamps, right.timestamps, assume_unique=True,
                                                  return_indices=True)
        operands = (left.values[mine], right.values[theirs])
    elif isinstance(left, TimeSeries):
        timestamps, operands = left.timestamps, (left.values, right)
    elif isinstance(right, TimeSeries):
        timestamps, operands = right.timestamps, (left, right.values)
    else:
        with np.errstate(all="ignore"):
            return float(operator(left, right))
    with np.errstate(all="ignore"):
        return TimeSeries(timestamps, np.asarray(operator(*operands), dtype=np.float64))
