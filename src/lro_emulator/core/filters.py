"""AIP-160 filters for ListOperations, parsed once into a predicate over proto3 JSON Operations.

A recursive-descent parser over characters, without a separate lexer: words follow different
rules in field paths (``.`` separates names) and in values (``.`` belongs to ``0.5``).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..wire.codes import parse_code
from ..wire.errors import LroEmulatorError
from .globs import Glob

__all__ = ["FilterError", "compile_filter"]

Predicate = Callable[[Mapping[str, Any]], bool]

MAX_LENGTH = 4096
MAX_DEPTH = 64
_KEYWORDS = ("AND", "OR", "NOT")
_COMPARATORS = ("<=", ">=", "!=", "=", "<", ">", ":")  # two-character ones first
_ORDERING = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
# A value runs up to a space or a character the grammar uses; in a field path "." also ends a name.
_VALUE = re.compile(r"[^\s()\"',=!<>:]*")
_NAME = re.compile(r"[^\s()\"',=!<>:.]*")
_FIELDS = "name, done, error (with :*), error.code, error.message, metadata (with :*), metadata.<path>"
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_DURATION = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+))s", re.ASCII)
_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)", re.ASCII)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "*": "*"}


class FilterError(LroEmulatorError, ValueError):
    """Bad filter: the message says what is wrong and where, ``position`` is the character offset.

    ``position`` is None when the fault is the filter as a whole (e.g. its length).
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


@functools.lru_cache(maxsize=4096)  # values repeat across operations (createTime, "30s", "3")
def _timestamp(text: str) -> datetime | None:
    match = _TIMESTAMP.fullmatch(text)
    if not match:
        return None
    base, fraction, offset = match.groups()
    # Python 3.10's fromisoformat takes neither "Z" nor fractions other than 3 or 6 digits.
    fraction = (fraction or "").ljust(6, "0")[:6]
    offset = "+00:00" if offset in "Zz" else offset
    try:
        return datetime.fromisoformat(f"{base.replace('t', 'T')}.{fraction}{offset}")
    except ValueError:  # shaped right but out of range, e.g. month 13
        return None


@functools.lru_cache(maxsize=4096)
def _duration(text: str) -> Decimal | None:
    match = _DURATION.fullmatch(text)
    return Decimal(match.group(1)) if match else None


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None  # bool is an int, but true is not 1 here
    if isinstance(value, str) and not _NUMBER.fullmatch(value):  # int64 arrives as a JSON string
        return None
    number = Decimal(repr(value) if isinstance(value, float) else value)  # repr: 0.1 stays 0.1
    return number if number.is_finite() else None  # NaN would raise on ordering


@dataclass(frozen=True)
class _Literal:
    text: str
    quoted: bool
    pattern: Glob | None  # set when the value holds an unescaped * wildcard
    boolean: bool | None
    number: Decimal | None
    duration: Decimal | None
    timestamp: datetime | None


def _literal(text: str, quoted: bool, wild_parts: list[str] | None) -> _Literal:
    # Quotes force text, except for the well-known types proto JSON itself writes as strings.
    pattern = None
    if wild_parts is not None and len(wild_parts) > 1:
        pattern = Glob(wild_parts)
    boolean = {"true": True, "false": False}.get(text) if not quoted else None
    number = Decimal(text) if not quoted and _NUMBER.fullmatch(text) else None
    return _Literal(text, quoted, pattern, boolean, number, _duration(text), _timestamp(text))


def _coerce(value: object, lit: _Literal) -> tuple[Any, Any] | None:
    """The pair to compare, in the richest type both sides share; None when they share none."""
    if isinstance(value, bool):
        return (value, lit.boolean) if lit.boolean is not None else None
    if isinstance(value, str):
        if lit.timestamp is not None and (instant := _timestamp(value)) is not None:
            return instant, lit.timestamp
        if lit.duration is not None and (span := _duration(value)) is not None:
            return span, lit.duration
    if lit.number is not None and (number := _number(value)) is not None:
        return number, lit.number
    return (value, lit.text) if isinstance(value, str) else None


def _equals(value: object, lit: _Literal) -> bool | None:
    pair = _coerce(value, lit)
    if pair is None:
        return None
    if lit.pattern is not None and isinstance(pair[0], str):
        return lit.pattern.fullmatch(pair[0])
    return bool(pair[0] == pair[1])


def _test(value: object, comparator: str, lit: _Literal) -> bool:
    if comparator == ":":
        if isinstance(value, Mapping):  # a map has the key
            if lit.pattern is not None:
                return any(isinstance(key, str) and lit.pattern.fullmatch(key) for key in value)
            return lit.text in value
        if isinstance(value, list):  # a repeated field contains the value
            return any(_equals(item, lit) for item in value)
        comparator = "="  # on a scalar, "has" is equality (so done:true works)
    if comparator in ("=", "!="):
        equal = _equals(value, lit)
        # None (type mismatch) matches neither way: metadata is schemaless, so no compile error.
        return equal is not None and equal == (comparator == "=")
    pair = _coerce(value, lit)
    if pair is None or isinstance(pair[0], bool):  # no order on booleans
        return False
    return bool(_ORDERING[comparator](pair[0], pair[1]))


def _restriction(path: tuple[str, ...], comparator: str, lit: _Literal) -> Predicate:
    presence = comparator == ":" and lit.text == "*" and not lit.quoted
    # An unfinished Operation omits done: it reads as false, but is not "present" for done:*.
    default = False if path == ("done",) and not presence else None

    def predicate(op: Mapping[str, Any]) -> bool:
        value: Any = op
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
            if value is None:  # an unset field matches nothing, not even with !=
                return default is not None and _test(default, comparator, lit)
        return presence or _test(value, comparator, lit)

    return predicate


def _join(preds: list[Predicate], combine: Callable[[Iterable[bool]], bool]) -> Predicate:
    return preds[0] if len(preds) == 1 else lambda op: combine(p(op) for p in preds)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.pos, self.depth = text, 0, 0

    def fail(self, what: str, pos: int | None = None, hint: str = "") -> FilterError:
        pos = self.pos if pos is None else pos
        return FilterError(f"filter: {what} at offset {pos} in {self.text!r}{hint}", pos)

    def peek(self) -> str:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def word(self, pattern: re.Pattern[str]) -> str:
        match = pattern.match(self.text, self.pos)
        assert match is not None  # both patterns accept the empty word
        self.pos = match.end()
        return match.group()

    def keyword(self, name: str) -> bool:
        self.peek()
        start = self.pos
        if self.word(_NAME) == name:
            return True
        self.pos = start
        return False

    def expression(self) -> Predicate:
        # AND and juxtaposition both join factors, and both bind looser than OR:
        # "a OR b c" is "(a OR b) AND c". One flat loop covers expression and sequence.
        preds = [self.factor()]
        while self.keyword("AND") or self.peek() not in ("", ")"):
            preds.append(self.factor())
        return _join(preds, all)

    def factor(self) -> Predicate:
        preds = [self.term()]
        while self.keyword("OR"):
            preds.append(self.term())
        return _join(preds, any)

    def term(self) -> Predicate:
        negate = self.keyword("NOT")
        if not negate and self.peek() == "-":
            self.pos, negate = self.pos + 1, True
        pred = self.simple()
        return (lambda op: not pred(op)) if negate else pred

    def simple(self) -> Predicate:
        if self.peek() != "(":
            return self.restriction()
        start = self.pos
        self.depth += 1
        if self.depth > MAX_DEPTH:  # a clear error, well before Python's recursion limit
            raise self.fail(f"parentheses nested deeper than {MAX_DEPTH}")
        self.pos += 1
        if self.peek() == ")":
            raise self.fail("empty parentheses", start)
        pred = self.expression()
        if self.peek() != ")":
            raise self.fail(f'"(" at offset {start} is never closed: expected ")"')
        self.pos += 1
        self.depth -= 1
        return pred

    def string(self) -> tuple[str, list[str]]:
        """A quoted string: its text, and its pieces between unescaped * wildcards."""
        start, quote = self.pos, self.text[self.pos]
        self.pos += 1
        parts: list[str] = []
        chars: list[str] = []
        while self.pos < len(self.text) and self.text[self.pos] != quote:
            ch = self.text[self.pos]
            if ch == "*":
                parts.append("".join(chars))
                chars = []
            elif ch == "\\":
                escaped = self.text[self.pos + 1 : self.pos + 2]
                if escaped not in _ESCAPES:
                    raise self.fail(f"unknown escape \\{escaped} in a string")
                chars.append(_ESCAPES[escaped])  # so \* is a literal star, not a wildcard
                self.pos += 1
            else:
                chars.append(ch)
            self.pos += 1
        if self.pos >= len(self.text):
            raise self.fail(f"unterminated string (opened with {quote})", start)
        self.pos += 1
        parts.append("".join(chars))
        return "*".join(parts), parts

    def restriction(self) -> Predicate:
        start = self.pos
        path = [self.segment(first=True)]
        while self.text.startswith(".", self.pos):
            self.pos += 1
            path.append(self.segment(first=False))
        shown = ".".join(path)
        if self.pos < len(self.text) and self.text[self.pos] == "(":
            raise self.fail(f'function calls like "{shown}(...)" are not supported by this service', start)
        self.peek()
        comparator = next((c for c in _COMPARATORS if self.text.startswith(c, self.pos)), None)
        if comparator is None:
            if self.peek() == "!":
                raise self.fail('expected "!="')
            hint = (
                "; bare values are not supported by this service: write field=value"
                " (the keywords AND, OR, NOT are upper case)"
            )
            raise self.fail(f'"{shown}" has no comparator', start, hint)
        self.pos += len(comparator)
        lit = self.check(tuple(path), comparator, self.value(comparator), start)
        return _restriction(tuple(path), comparator, lit)

    def segment(self, first: bool) -> str:
        ch = self.text[self.pos : self.pos + 1]  # no whitespace skipped: "a. b" is not a path
        if ch in ("'", '"'):
            return self.string()[0]
        start = self.pos
        name = self.word(_NAME)
        if first and name in _KEYWORDS:  # after a dot a keyword is a plain name (AIP-160 "field")
            raise self.fail(f"expected a field name, found the keyword {name}", start)
        if not name:
            hint = "; quote values that contain it, such as timestamps" if ch == ":" else ""
            raise self.fail(f'unexpected "{ch}"' if ch else "expected a field name", hint=hint)
        return name

    def value(self, comparator: str) -> _Literal:
        ch = self.peek()
        if ch in ("'", '"'):
            text, parts = self.string()
            return _literal(text, True, parts)
        start = self.pos
        text = self.word(_VALUE)
        if not text or text in _KEYWORDS:
            hint = f"; {text} is a keyword, quote it to mean the word" if text else ""
            raise self.fail(f'expected a value after "{comparator}"', start, hint)
        return _literal(text, False, text.split("*"))

    def check(self, path: tuple[str, ...], comparator: str, lit: _Literal, pos: int) -> _Literal:
        """Static checks for the Operation's own fields; metadata is schemaless and unchecked."""
        field = ".".join(path)
        presence = comparator == ":" and lit.text == "*" and not lit.quoted
        if field not in ("name", "done", "error", "error.code", "error.message", "metadata"):
            if path[0] != "metadata":
                raise self.fail(f'unknown field "{field}"', pos, f"; filterable fields are {_FIELDS}")
        elif field in ("error", "metadata") and not presence:
            raise self.fail(f'"{field}" can only be tested for presence ("{field}:*")', pos)
        elif field == "done" and not presence and (comparator in _ORDERING or lit.boolean is None):
            shown = f"{comparator}{lit.text!r}" if lit.quoted else f"{comparator}{lit.text}"
            raise self.fail(f"done is a boolean: use =, != or : with true or false, not {shown}", pos)
        elif field == "error.code" and not presence:
            try:  # a name becomes its number, so error.code=NOT_FOUND compares exactly as =5 does
                code = lit.text if re.fullmatch(r"[+-]?[0-9]+", lit.text) else str(int(parse_code(lit.text)))
            except ValueError:
                raise self.fail(
                    f"error.code takes an integer or a code name, not {lit.text!r}", pos
                ) from None
            return _literal(code, False, None)
        return lit


def compile_filter(text: str | None) -> Predicate:
    """Parse an AIP-160 filter once into a predicate over Operations in proto3 JSON form.

    ``None``, ``""`` or whitespace-only filters match everything. Raise `FilterError` for bad
    syntax, unknown fields and type mismatches on the Operation's own fields.
    """
    if text is None or not text.strip():
        return lambda op: True
    if len(text) > MAX_LENGTH:
        raise FilterError(f"filter: {len(text)} characters is longer than the {MAX_LENGTH} allowed")
    parser = _Parser(text)
    pred = parser.expression()
    if parser.peek():
        raise parser.fail(f'unexpected "{parser.text[parser.pos]}"')
    return pred
