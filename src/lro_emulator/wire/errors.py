"""Exceptions of the core: errors answered to clients, and errors raised at the user's scripting line; and the
"(did you mean 'vertex'?)" their messages add for a misspelt name.

A suggestion is made only when one known name is close (`difflib.get_close_matches` at its default cutoff), so a
word that resembles nothing gets the message alone, never a guess that would mislead.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .codes import Code, parse_code
from .protobuf import json_of

__all__ = ["ERROR_DOMAIN", "EmulatorFailure", "LroEmulatorError", "NotServing", "OperationNotFound", "ScriptError",
           "StaleHandle", "StatusError", "closest", "did_you_mean"]

#: The ``ErrorInfo.domain`` of every error the emulator itself raises (AIP-193 asks for one on every error).
ERROR_DOMAIN = "lro-emulator"


class LroEmulatorError(Exception):
    """The base of every exception lro-emulator raises: ``except LroEmulatorError`` catches any of ours.

    A failure that should fail the test (`EmulatorFailure`) is an `AssertionError` too, as pytest expects.
    """


class NotServing(LroEmulatorError, RuntimeError):
    """An address was asked of a server that is not started (``emu.url`` before ``emu.start()``)."""


class StaleHandle(LroEmulatorError, RuntimeError):
    """A handle used after the test it belongs to ended, or after a reset replaced the state it scripts.

    Operation handles, starters, faults and the emulator the pytest fixture gives a test work only during that
    test; the message names the test (or says "before the last reset" outside pytest). A `RuntimeError`, not a
    `ScriptError`: nothing is wrong with the call's arguments, the object is used at the wrong time, and an
    ``except ScriptError`` meant for a bad payload must not swallow it.
    """


class OperationNotFound(LroEmulatorError, KeyError):
    """``emu.operation(name)`` for a name the emulator does not hold; the message names those it does."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class StatusError(LroEmulatorError):
    """A failed RPC: what the core answers instead of a result.

    Transports turn it into an AIP-193 envelope (REST) or a gRPC status. ``reason`` becomes the
    ``google.rpc.ErrorInfo`` that AIP-193 asks every error to carry; ``details`` are further
    ``google.rpc`` detail messages in proto3 JSON (each with ``@type``).
    """

    def __init__(
        self,
        code: Code | str | int,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        details: Sequence[Mapping[str, Any] | Any] = (),
    ) -> None:
        # Checked here, where a test raising one from a start script would see the fault.
        rpc_code = parse_code(code)
        if rpc_code is Code.OK:
            raise ScriptError("a StatusError needs an error code, not OK")
        if not isinstance(message, str) or (reason is not None and not isinstance(reason, str)):
            raise TypeError("a StatusError's message and reason must be strings")
        if metadata and not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError(f"a StatusError's metadata maps strings to strings, got {metadata!r}")
        super().__init__(message)
        self.code = rpc_code
        self.message = message
        self.reason = reason or rpc_code.name
        self.metadata = dict(metadata or {})
        self.extra_details = [_detail(json_of(detail)) for detail in details]

    def __reduce__(self) -> tuple[Any, ...]:
        # Its constructor takes keywords, which pickle and copy do not pass: a test may send one to another process.
        return _rebuilt, (self.code, self.message, self.reason, self.metadata, self.extra_details)

    @property
    def details(self) -> list[dict[str, Any]]:
        """The ``details`` list: an ``ErrorInfo`` first, then any others."""
        info: dict[str, Any] = {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": self.reason,
            "domain": ERROR_DOMAIN,
        }
        if self.metadata:
            info["metadata"] = dict(self.metadata)
        return [info, *self.extra_details]

    def envelope(self) -> dict[str, Any]:
        """The AIP-193 body of the error: HTTP status in ``code``, the code's name in ``status``."""
        return {"error": {"code": self.code.http_status, "message": self.message, "status": self.code.name,
                          "details": self.details}}

    @classmethod
    def bad_request(cls, message: str, *, field: str, reason: str = "INVALID_ARGUMENT") -> StatusError:
        """An INVALID_ARGUMENT naming the offending request field in a ``google.rpc.BadRequest``."""
        violation = {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": field, "description": message}],
        }
        return cls(Code.INVALID_ARGUMENT, message, reason=reason, details=[violation])

    def __repr__(self) -> str:
        return f"StatusError({self.code.name}, {self.message!r})"


def _detail(detail: object) -> dict[str, Any]:
    if not isinstance(detail, Mapping) or not isinstance(detail.get("@type"), str):
        raise TypeError(f"a StatusError detail is a google.rpc message or its JSON with @type, got {detail!r}")
    return dict(detail)


def _rebuilt(
    code: Code, message: str, reason: str, metadata: dict[str, str], details: list[dict[str, Any]]
) -> StatusError:
    return StatusError(code, message, reason=reason, metadata=metadata, details=details)


class ScriptError(LroEmulatorError, ValueError):
    """A scripting call that cannot be honoured, raised at the line that made it.

    ``pointer`` is the JSON pointer (RFC 6901) of the fault inside the Operation the call would
    have produced, or ``""`` when the fault is not inside a document (e.g. a transition after done).
    """

    def __init__(self, message: str, *, pointer: str = "") -> None:
        super().__init__(f"{message} (at {pointer})" if pointer else message)
        self.pointer = pointer


class EmulatorFailure(LroEmulatorError, AssertionError):
    """Raised in the test when the emulator answered something it should not have.

    ``problems`` holds each schema violation of a response, and each failure of the emulator itself
    (answered to the client as INTERNAL). An `AssertionError`, so pytest reports it as a failure.
    """

    def __init__(self, problems: Sequence[Exception]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {type(p).__name__}: {p}" for p in self.problems)
        super().__init__(f"the emulator answered {len(self.problems)} response(s) wrongly:\n{lines}")


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The one of ``choices`` closest to ``word``, or None when none is close enough to be what was meant."""
    found = difflib.get_close_matches(word, list(choices), n=1)
    return found[0] if found else None


def did_you_mean(words: str | Sequence[str], choices: Iterable[str], *, show: Callable[[str], str] = repr) -> str:
    """A message's tail naming what was meant, to append as it is: ``" (did you mean 'x'?)"`` for one misspelt
    word, ``" (did you mean 'x' for 'a', 'y' for 'b'?)"`` for several (those with a close choice other than
    themselves); ``""`` when no word is close to a choice. ``show`` writes each name (`repr`: quoted)."""
    listed = [words] if isinstance(words, str) else list(words)
    known = list(choices)
    pairs = [(word, found) for word in listed if (found := closest(word, known)) not in (None, word)]
    if not pairs:
        return ""
    if len(listed) == 1:
        return f" (did you mean {show(pairs[0][1])}?)"
    return f" (did you mean {', '.join(f'{show(found)} for {show(word)}' for word, found in pairs)}?)"
