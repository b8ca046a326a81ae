"""Proto3 JSON primitives: Duration, Timestamp, and field-name spelling.

Kept separate from the transports because the core parses durations (wait timeouts,
scenario steps) and timestamps (the clock's start) too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "JSON",
    "camel_case",
    "escape_pointer",
    "format_duration",
    "format_timestamp",
    "json_pointer",
    "json_problems",
    "parse_duration",
    "parse_timestamp",
    "pointer_tokens",
    "to_timedelta",
]

#: A JSON object as Python holds it: what every message, request and answer is in the emulator.
JSON = dict[str, Any]

# Proto3 JSON: decimal seconds with an "s" suffix and at most nine fractional digits.
_DURATION = re.compile(r"(-)?([0-9]+)(?:\.([0-9]{1,9}))?s")  # used with fullmatch: ASCII digits only
# google.protobuf.Duration's documented range: about 10,000 years.
_MAX_DURATION_SECONDS = 315_576_000_000
# timedelta cannot hold the full proto range; longer durations are refused with a clear message.
_MAX_TIMEDELTA_SECONDS = int(timedelta.max.total_seconds())


def parse_duration(text: str) -> timedelta:
    """Parse a proto3 JSON Duration (``"3s"``, ``"1.5s"``); raise `ValueError` saying what a valid one looks like.

    Precision below a microsecond is dropped: the virtual clock counts microseconds.
    """
    if not isinstance(text, str):
        raise ValueError(f"a duration must be a string such as \"3.5s\", not {type(text).__name__}")
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: write decimal seconds with an 's' suffix, such as \"30s\" or \"1.5s\""
        )
    sign, whole, fraction = match.groups()
    seconds = Decimal(f"{whole}.{fraction or '0'}")
    if seconds > _MAX_DURATION_SECONDS:
        raise ValueError(f"{text!r} is longer than the largest duration, {_MAX_DURATION_SECONDS}s")
    if seconds > _MAX_TIMEDELTA_SECONDS:
        raise ValueError(f"{text!r} is longer than the emulator's clock can represent")
    delta = timedelta(seconds=float(seconds))
    return -delta if sign else delta


def to_timedelta(value: object, *, what: str = "a duration") -> timedelta:
    """Accept seconds (int, float, Decimal), a `timedelta`, or a Duration string; raise `ValueError` otherwise."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"{what} must be seconds or a timedelta, not {value!r}")
    if isinstance(value, (int, float, Decimal)):
        try:
            return timedelta(seconds=float(value))
        except (OverflowError, InvalidOperation, ValueError):
            raise ValueError(f"{what} of {value!r} seconds is out of range") from None
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError(f"{what} must be seconds or a timedelta, not {type(value).__name__}")


#: A genuine `datetime` (an instance: freezegun replaces the class wherever a module names it, never an instance),
#: for `parse_timestamp` to answer genuine datetimes too. Made from the genuine class, found by its name: this module
#: may be first imported while freezegun runs, when ``datetime`` here is its FakeDatetime (a subclass).
_GENUINE: type[datetime] = next(kind for kind in datetime.__mro__
                                if (kind.__module__, kind.__name__) == ("datetime", "datetime"))
_EPOCH = _GENUINE(1970, 1, 1, tzinfo=timezone.utc)
#: The fraction of a second in a timestamp (RFC 3339 says '.'; Python 3.11's fromisoformat also takes ',').
_FRACTION = re.compile(r"[.,](\d+)", re.ASCII)


def parse_timestamp(value: object) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or an offset) or take an aware `datetime`; always returns UTC.

    A naive `datetime` is taken to be UTC, as freezegun does.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if text[-1:] in ("Z", "z"):
            text = text[:-1] + "+00:00"
        # Python 3.10's fromisoformat takes only 3 or 6 digits of fraction; 3.11 takes any number and keeps the
        # microseconds: six digits, padded or cut, read the same on both.
        text = _FRACTION.sub(lambda digits: "." + digits[1].ljust(6, "0")[:6], text, count=1)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{value!r} is not an RFC 3339 timestamp such as \"2030-01-01T00:00:00Z\""
            ) from None
        if moment.tzinfo is None:
            raise ValueError(f"{value!r} has no time zone: end it with 'Z' or an offset such as '+02:00'")
    else:
        raise ValueError(f"a timestamp must be an RFC 3339 string or a datetime, not {type(value).__name__}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    # Under freezegun, this module's ``datetime`` may be its FakeDatetime, a Python class whose instances the cyclic
    # GC tracks; the clock's instants are all derived from this one, and each operation keeps some. The epoch plus a
    # timedelta is a genuine datetime (and equal, exactly, to the moment).
    return _EPOCH + (moment.astimezone(timezone.utc) - _EPOCH)


def camel_case(name: str) -> str:
    """``page_size`` -> ``pageSize``: proto3 JSON accepts both spellings on input."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def format_duration(delta: timedelta) -> str:
    """``delta`` as a proto3 JSON Duration string: ``"90s"``, ``"1.5s"``, ``"-0.25s"`` (exact, never rounded)."""
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    sign, micros = ("-" if micros < 0 else ""), abs(micros)
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{sign}{seconds}" + (f".{fraction:06d}".rstrip("0") if fraction else "") + "s"


def format_timestamp(moment: datetime) -> str:
    """An aware `datetime` as proto3 JSON writes a Timestamp: RFC 3339 in UTC with ``Z``."""
    text = moment.astimezone(timezone.utc).isoformat()
    return text.removesuffix("+00:00") + "Z"


def escape_pointer(token: str | int) -> str:
    """``token`` as one JSON pointer token (RFC 6901): ``~`` as ``~0``, ``/`` as ``~1``.

    ``~`` goes first, or the ``~`` of each ``~1`` just written would be escaped again.
    """
    return str(token).replace("~", "~0").replace("/", "~1")


def json_pointer(*parts: str | int) -> str:
    """The JSON pointer of the value at ``parts`` (keys and list indexes): ``json_pointer("a/b", 0) == "/a~1b/0"``.

    No parts is the whole document, ``""``; append a pointer to a parent's to reach further in.
    """
    return "".join("/" + escape_pointer(part) for part in parts)


def pointer_tokens(pointer: str) -> list[str]:
    """The keys and indexes (as text) a JSON pointer walks, unescaped: the inverse of `json_pointer`.

    `ValueError` when ``pointer`` is neither empty nor starts with ``/``.
    """
    if not pointer:
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"{pointer!r} is not a JSON pointer: it must be empty or start with '/'")
    # ``~1`` first: ``~01`` is the key ``~1``, which the other order would read as ``/``.
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


#: Integers of more bits than this (about 4,200 digits) cannot be written in decimal by default (Python's limit is
#: 4,300 digits); no value of a scenario needs one.
_MAX_INT_BITS = 14_000


def json_problems(value: object, pointer: str = "") -> Iterator[tuple[str, str]]:
    """``(JSON pointer, message)`` for each part of ``value`` with no JSON form: non-text keys, dates, binary,
    sets, NaN and infinities (what YAML or Python can hold and JSON cannot).
    """
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                yield pointer, f"the key {key!r} is not text; quote it (JSON keys are strings)"
                continue
            yield from json_problems(item, pointer + json_pointer(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_problems(item, pointer + json_pointer(index))
    elif isinstance(value, float) and not math.isfinite(value):
        yield pointer, f"{value} is not a JSON number"
    elif isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:  # str() of it would raise ValueError
        yield pointer, f"a whole number of {value.bit_length():,} bits is too large; write at most 4,000 digits"
    elif not (value is None or isinstance(value, (str, int, float, bool))):
        yield pointer, f"a {type(value).__name__} has no JSON form; write it as text"
