"""The canonical ``google.rpc.Code`` values and their HTTP mapping (AIP-193)."""

from __future__ import annotations

import enum

__all__ = ["Code", "parse_code"]


class Code(enum.IntEnum):
    """A ``google.rpc.Code``; ``http_status`` gives the status REST clients see."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16

    @property
    def http_status(self) -> int:
        """The HTTP status Google's REST frontends answer with for this code."""
        return _HTTP_STATUS[self]

    @classmethod
    def of_http_status(cls, status: int) -> Code:
        """The code a client infers from an HTTP status: the first code Google answers it for, else UNKNOWN."""
        return next((code for code in cls if code.http_status == status), cls.UNKNOWN)


_HTTP_STATUS = {
    Code.OK: 200,
    Code.CANCELLED: 499,
    Code.UNKNOWN: 500,
    Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400,
    Code.ABORTED: 409,
    Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500,
    Code.UNAVAILABLE: 503,
    Code.DATA_LOSS: 500,
    Code.UNAUTHENTICATED: 401,
}


def parse_code(value: object) -> Code:
    """Accept a code as a `Code`, its number, or its name (any case); raise `ValueError` otherwise."""
    if isinstance(value, Code):
        return value
    if isinstance(value, bool):
        # bool is an int subclass; True would silently mean CANCELLED.
        raise ValueError(f"a status code must be a name or a number, not {value!r}")
    if isinstance(value, int):
        try:
            return Code(value)
        except ValueError:
            raise ValueError(f"{value} is not a google.rpc.Code number (0 to 16)") from None
    if isinstance(value, str):
        try:
            return Code[value.strip().upper()]
        except KeyError:
            names = ", ".join(code.name for code in Code)
            raise ValueError(f"{value!r} is not a google.rpc.Code name; use one of {names}") from None
    raise ValueError(f"a status code must be a name or a number, not {type(value).__name__}")
