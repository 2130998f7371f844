"""Metric math syntax: the text of an ``expression`` row, parsed and checked, without evaluating anything.

An expression names other rows by ``id`` and combines numbers, time series and arrays of time series with
``+ - * / ^``, the comparisons ``== != < <= > >=`` and ``AND``/``&&``, ``OR``/``||``; with parentheses,
unary minus, array brackets ``[m1, m2]`` and CloudWatch's functions (``FUNCTIONS``, as data: the name, and
what each argument may be). Expressions may name other expressions in any order; a cycle is an error.

Both sides use this module: ``reportgen validate`` checks a spec's expressions before anything is sent,
and the stand-in (``reportgen.local.mathexpr``, which needs numpy) evaluates what it parses here. It is
pure Python, so the main package can import it. Nothing here calls ``eval``: the text goes through a small
tokenizer and a recursive-descent parser that know only the grammar in ``_Parser``.

What CloudWatch would refuse raises ``ExpressionError``, with a message naming the expression and the
culprit, and a did-you-mean for a misspelt function or id.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import NoReturn

from reportgen.schema import did_you_mean


class ExpressionError(ValueError):
    """An expression CloudWatch would refuse; the message names the expression and the problem.

    ``culprit`` is the name (as given to ``parse``/``check``) of the expression at fault, when one is.
    """

    def __init__(self, message: str, *, culprit: str | None = None) -> None:
        super().__init__(message)
        self.culprit = culprit


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
class Keyword:
    """A bare upper-case word (``REPEAT``, ``DESC``), or ``true``/``false``: a syntax node and, as a
    function's argument, a value."""

    word: str


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class Chain:
    """``first`` op₁ operand₁ op₂ operand₂ …, applied left to right, for operators of one precedence.

    A flat chain rather than nested pairs, so ``m1 + m2 + … + m500`` is no deeper than ``m1 + m2``.
    """

    first: Node
    rest: tuple[tuple[str, Node], ...]


@dataclass(frozen=True)
class ArrayOf:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Call:
    name: str
    arguments: tuple[Node, ...]


Node = Number | Text | Ref | Keyword | Negate | Chain | ArrayOf | Call

_TOKEN = re.compile(r"""
    \s*(?:
        (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_]\w*)
      | (?P<text>"[^"]*"|'[^']*')
      | (?P<symbol>==|!=|<=|>=|&&|\|\||[-+*/^(),<>\[\]])
    )""", re.VERBOSE | re.ASCII)

# Binary operators by precedence, loosest first; ^ binds tighter than all of them and unary minus.
_PRECEDENCE = {
    "OR": 0, "||": 0, "AND": 1, "&&": 1,
    "==": 2, "!=": 2, "<": 2, "<=": 2, ">": 2, ">=": 2,
    "+": 3, "-": 3, "*": 4, "/": 4,
}
_SPELLING = {"||": "OR", "&&": "AND"}
# An id as CloudWatch requires it; a row without one is named otherwise (``metric row 3``) in messages.
_ID = re.compile(r"[a-z]\w*", re.ASCII)
# LAMBDA's arguments may be booleans, written in lower case as in JSON.
_BOOLEANS = frozenset({"true", "false"})


def parse(text: str, *, where: str = "expression") -> Node:
    """The syntax tree of ``text``; ``where`` names the expression in error messages."""
    return _Parser(text, where).parse()


class _Parser:
    """Recursive descent with precedence climbing for the binary operators.

    binary  := unary (operator binary)*          operators in ``_PRECEDENCE``, left to right
    unary   := ("-" | "+") unary | power
    power   := primary ["^" unary]               right to left: 2^3^2 is 2^9; -2^2 is -(2^2)
    primary := number | string | NAME "(" [binary ("," binary)*] ")" | id | KEYWORD
             | "[" [binary ("," binary)*] "]" | "(" binary ")"

    A name starts with a lower-case letter when it is an id (as CloudWatch requires) and with an upper-case
    one when it is a keyword: REPEAT, LINEAR, and the AND and OR operators; ``true`` and ``false`` are
    keywords too.
    """

    def __init__(self, text: str, where: str) -> None:
        self.text, self.where = text, where
        self.tokens = list(self._tokenize())
        self.position = 0  # index into tokens
        self.depth = 0

    def parse(self) -> Node:
        if not self.tokens:
            self._fail(f"the expression of {self.where} is empty")
        node = self._binary(0)
        if self.position < len(self.tokens):
            self._unexpected()
        return node

    def _fail(self, message: str) -> NoReturn:
        raise ExpressionError(message, culprit=self.where)

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
                self._fail(f"unexpected {rest[0]!r} at position {column + 1} in expression of {self.where}")
            yield match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup)
            offset = match.end()

    def _peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def _take(self) -> tuple[str, str, int]:
        if self.position >= len(self.tokens):
            self._fail(f"the expression of {self.where} ends too early")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def _expect(self, symbol: str) -> None:
        if self._peek() != symbol:
            if self.position >= len(self.tokens):
                self._fail(f"the expression of {self.where} ends too early; expected {symbol!r}")
            self._unexpected()
        self.position += 1

    def _unexpected(self) -> NoReturn:
        _, text, offset = self.tokens[self.position]
        self._fail(f"unexpected {text!r} at position {offset + 1} in expression of {self.where}")

    def _nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self._fail(f"the expression of {self.where} is nested more than {MAX_DEPTH} deep")

    def _precedence(self) -> int | None:
        token = self._peek()
        return _PRECEDENCE.get(token) if token is not None else None

    def _binary(self, minimum: int) -> Node:
        node = self._unary()
        while (level := self._precedence()) is not None and level >= minimum:
            rest: list[tuple[str, Node]] = []
            while self._precedence() == level:
                operator = self._take()[1]
                rest.append((_SPELLING.get(operator, operator), self._binary(level + 1)))
            node = Chain(node, tuple(rest))
        return node

    def _unary(self) -> Node:
        if self._peek() in ("-", "+"):
            operator = self._take()[1]
            self._nested()
            operand = self._unary()
            self.depth -= 1
            return Negate(operand) if operator == "-" else operand
        return self._power()

    def _power(self) -> Node:
        base = self._primary()
        if self._peek() != "^":
            return base
        self.position += 1
        self._nested()
        exponent = self._unary()
        self.depth -= 1
        return Chain(base, (("^", exponent),))

    def _primary(self) -> Node:
        kind, text, _ = self._take()
        if kind == "number":
            return Number(float(text))
        if kind == "text":
            return Text(text[1:-1])
        if kind == "name":
            if self._peek() == "(":
                self.position += 1
                return Call(text, self._list(")"))
            return Keyword(text) if text[0].isupper() or text in _BOOLEANS else Ref(text)
        if text == "[":
            return ArrayOf(self._list("]"))
        if text == "(":
            self._nested()
            node = self._binary(0)
            self._expect(")")
            self.depth -= 1
            return node
        self.position -= 1
        self._unexpected()

    def _list(self, closing: str) -> tuple[Node, ...]:
        """Comma-separated expressions up to ``closing``, whose opening has been taken."""
        self._nested()
        items: list[Node] = []
        if self._peek() != closing:
            items.append(self._binary(0))
            while self._peek() == ",":
                self.position += 1
                items.append(self._binary(0))
        self._expect(closing)
        self.depth -= 1
        return tuple(items)


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node inside it, depth first."""
    yield node
    match node:
        case Negate(operand=operand):
            yield from walk(operand)
        case Chain(first=first, rest=rest):
            yield from walk(first)
            for _, operand in rest:
                yield from walk(operand)
        case ArrayOf(items=items) | Call(arguments=items):
            for item in items:
                yield from walk(item)


# ---- the functions, as data -----------------------------------------------------------------------------

# What an argument may be, in the words of CloudWatch's function table: S, TS, TS[], a string, a keyword.
NUMBER, SERIES, ARRAY, STRING, KEYWORD = "a number", "a time series", "an array of time series", "a string", "a keyword"
ANYTHING = frozenset({NUMBER, SERIES, ARRAY, STRING, KEYWORD})


@dataclass(frozen=True)
class Parameter:
    """One argument of a function: its name (as messages say it), the kinds it takes, and the keywords it
    takes (none listed: any). ``repeated``: any number of arguments, none included (LAMBDA's optional ones)."""

    name: str
    takes: frozenset[str]
    keywords: tuple[str, ...] = ()
    optional: bool = False
    repeated: bool = False


@dataclass(frozen=True)
class Signature:
    """The parameters of a function, in order; optional ones after required ones, a repeated one last."""

    parameters: tuple[Parameter, ...]

    def problem(self, arguments: tuple[Node, ...]) -> tuple[str, str] | None:
        """What is wrong with a call with ``arguments``, as far as can be told without evaluating: too few
        or too many, or a literal of a kind the parameter does not take (``FILL(m1, ZERO)``). The problem,
        and a did-you-mean for a misspelt keyword (or an empty string); None if nothing is wrong."""
        required = [parameter for parameter in self.parameters if not (parameter.optional or parameter.repeated)]
        if len(arguments) < len(required):
            return f"missing a required argument: {required[len(arguments)].name!r}", ""
        repeated = bool(self.parameters) and self.parameters[-1].repeated
        if len(arguments) > len(self.parameters) and not repeated:
            return "too many positional arguments", ""
        for index, argument in enumerate(arguments):
            parameter = self.parameters[min(index, len(self.parameters) - 1)]
            if (given := _misfit(argument, parameter)) is not None:
                hint = did_you_mean(argument.word, parameter.keywords) if isinstance(argument, Keyword) else ""
                return f"{parameter.name!r} must be {_takes(parameter)}, not {given}", hint
        return None


def _misfit(argument: Node, parameter: Parameter) -> str | None:
    """How to name ``argument`` when it is a literal ``parameter`` does not take; None when it fits or
    cannot be told without evaluating."""
    match argument:
        case Number() if NUMBER not in parameter.takes:
            return NUMBER
        case Text() if STRING not in parameter.takes:
            return STRING
        case Keyword(word=word) if KEYWORD not in parameter.takes or (parameter.keywords
                                                                      and word not in parameter.keywords):
            return f"the keyword {word}"
    return None


def _takes(parameter: Parameter) -> str:
    """``a number, a time series, REPEAT or LINEAR``."""
    kinds = [kind for kind in (NUMBER, SERIES, ARRAY, STRING) if kind in parameter.takes]
    kinds += parameter.keywords or ([KEYWORD] if KEYWORD in parameter.takes else [])
    return ", ".join(kinds[:-1]) + " or " + kinds[-1] if len(kinds) > 1 else kinds[0]


def _parameter(name: str, *takes: str, keywords: tuple[str, ...] = (), optional: bool = False,
               repeated: bool = False) -> Parameter:
    kinds = frozenset(takes) | ({KEYWORD} if keywords else frozenset())
    return Parameter(name, kinds, keywords, optional, repeated)


_VALUES = _parameter("values", SERIES, ARRAY)
_ARRAY = _parameter("values", ARRAY)
_SCALAR_OR_SERIES = (NUMBER, SERIES)
_PER_SERIES = Signature((_VALUES,))
# SORT orders the series of an array by one of these, then ASC (lowest first) or DESC.
SORT_FUNCTIONS = ("AVG", "MIN", "MAX", "SUM", "STDDEV")
SORT_ORDERS = ("ASC", "DESC")

# CloudWatch's metric math functions (the "Using metric math" page), by the name an expression calls them
# with. The stand-in's implementations (reportgen.local.mathexpr.FUNCTIONS) have the same names and
# parameters; a test holds the two tables together.
FUNCTIONS: Mapping[str, Signature] = {
    "ABS": _PER_SERIES,
    "ANOMALY_DETECTION_BAND": Signature((_parameter("values", SERIES),
                                         _parameter("stddevs", NUMBER, optional=True))),
    "AVG": _PER_SERIES,
    "CEIL": _PER_SERIES,
    "CONCAT": Signature((_VALUES, _parameter("more", SERIES, ARRAY, repeated=True))),
    "DATAPOINT_COUNT": _PER_SERIES,
    "DATE": _PER_SERIES,
    "DAY": _PER_SERIES,
    "DB_PERF_INSIGHTS": Signature((_parameter("service", STRING), _parameter("resource", STRING),
                                   _parameter("metric", STRING))),
    "DIFF": _PER_SERIES,
    "DIFF_TIME": _PER_SERIES,
    "EPOCH": _PER_SERIES,
    "FILL": Signature((_VALUES, _parameter("filler", *_SCALAR_OR_SERIES, keywords=("REPEAT", "LINEAR")))),
    "FIRST": Signature((_ARRAY,)),
    "FLOOR": _PER_SERIES,
    "HOUR": _PER_SERIES,
    "IF": Signature((_parameter("condition", *_SCALAR_OR_SERIES), _parameter("when_true", *_SCALAR_OR_SERIES),
                     _parameter("when_false", *_SCALAR_OR_SERIES, optional=True))),
    "INSIGHT_RULE_METRIC": Signature((_parameter("rule", STRING), _parameter("metric", STRING))),
    "LAMBDA": Signature((_parameter("function", STRING),
                         _parameter("arguments", NUMBER, STRING, keywords=("true", "false"), repeated=True))),
    "LAST": Signature((_ARRAY,)),
    "LOG": _PER_SERIES,
    "LOG10": _PER_SERIES,
    "MAX": _PER_SERIES,
    "METRIC_COUNT": Signature((_ARRAY,)),
    "METRICS": Signature((_parameter("text", STRING, optional=True),)),
    "MIN": _PER_SERIES,
    "MINUTE": _PER_SERIES,
    "MONTH": _PER_SERIES,
    "PERIOD": Signature((_parameter("series", SERIES),)),
    "RATE": _PER_SERIES,
    "REMOVE_EMPTY": Signature((_ARRAY,)),
    "RUNNING_SUM": _PER_SERIES,
    "SEARCH": Signature((_parameter("expression", STRING), _parameter("stat", STRING),
                         _parameter("period", NUMBER, optional=True))),
    "SERVICE_QUOTA": Signature((_parameter("usage", SERIES),)),
    "SQRT": _PER_SERIES,
    "SLICE": Signature((_ARRAY, _parameter("start", NUMBER), _parameter("end", NUMBER, optional=True))),
    "SORT": Signature((_ARRAY, _parameter("function", keywords=SORT_FUNCTIONS),
                       _parameter("order", keywords=SORT_ORDERS), _parameter("limit", NUMBER, optional=True))),
    "STDDEV": _PER_SERIES,
    "SUM": _PER_SERIES,
    "TIME_SERIES": Signature((_parameter("value", NUMBER),)),
    "YEAR": _PER_SERIES,
}


# ---- checking -------------------------------------------------------------------------------------------


def check(tree: Node, *, where: str, ids: Collection[str], functions: Mapping[str, Signature] = FUNCTIONS) -> None:
    """Raise ``ExpressionError`` unless ``tree`` names only ``ids`` and ``functions``, calls each function
    with arguments that fit its signature, uses strings and keywords only as arguments, and names at least
    one row or function (an expression of numbers alone gives no time series). ``where`` names the
    expression in messages."""
    if not any(isinstance(node, Ref | Call) for node in walk(tree)):
        raise ExpressionError(f"the expression of {where} names no metric: refer to another row by its id",
                              culprit=where)
    _check(tree, where, ids, functions, argument=False)


def _check(node: Node, where: str, ids: Collection[str], functions: Mapping[str, Signature], *,
           argument: bool) -> None:
    def fail(message: str) -> NoReturn:
        raise ExpressionError(message, culprit=where)

    match node:
        case Ref(id=ref) if ref not in ids:
            fail(f"Unknown metric id {ref!r} in expression of {where}"
                 + did_you_mean(ref, sorted(name for name in ids if _ID.fullmatch(name))))
        case Keyword(word=word) if not argument:
            fail(f"Unknown metric id {word!r} in expression of {where}")
        case Text() if not argument:
            fail(f"a string can only be a function's argument, in expression of {where}")
        case Negate(operand=operand):
            _check(operand, where, ids, functions, argument=False)
        case Chain(first=first, rest=rest):
            for operand in (first, *(operand for _, operand in rest)):
                _check(operand, where, ids, functions, argument=False)
        case ArrayOf(items=items):
            for item in items:
                _check(item, where, ids, functions, argument=False)
        case Call(name=function, arguments=arguments):
            if function not in functions:
                fail(f"Unsupported function {function} in expression of {where}"
                     + did_you_mean(function, sorted(functions)))
            if (problem := functions[function].problem(arguments)) is not None:
                fail(f"{function}: {problem[0]}, in expression of {where}{problem[1]}")
            for item in arguments:
                _check(item, where, ids, functions, argument=True)


def dependency_order(trees: Mapping[str, Node]) -> list[str]:
    """The expressions in an order where each comes after those it names; a cycle raises ``ExpressionError``
    whose culprit is the expression where the cycle was found to close."""
    order: list[str] = []
    path: list[str] = []  # the expressions being visited, outermost first

    def visit(name: str) -> None:
        if name in order:
            return
        if name in path:
            cycle = " → ".join([*path[path.index(name):], name])
            raise ExpressionError(f"expressions refer to each other in a cycle: {cycle}", culprit=name)
        path.append(name)
        for node in walk(trees[name]):
            if isinstance(node, Ref) and node.id in trees:
                visit(node.id)
        path.pop()
        order.append(name)

    for name in trees:
        visit(name)
    return order


def check_all(expressions: Mapping[str, str], ids: Collection[str], *,
              functions: Mapping[str, Signature] = FUNCTIONS) -> dict[str, Node]:
    """The syntax trees of a widget's ``expressions`` (name → text), each checked by ``check`` against
    ``ids`` (the ids of the metric rows; the names of the expressions count as ids too), in an order where
    each comes after those it names. Raises ``ExpressionError`` with the culprit's name."""
    known = {*ids, *expressions}
    trees = {name: parse(text, where=name) for name, text in expressions.items()}
    for name, tree in trees.items():
        check(tree, where=name, ids=known, functions=functions)
    return {name: trees[name] for name in dependency_order(trees)}
