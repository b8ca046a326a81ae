"""Methods that start operations: ``emu.on_start(http=..., grpc=..., script=...)``, independent of transport.

A test declares which REST route and/or gRPC method of *its* service starts an operation. Each call
of it creates a new operation under the request's parent, runs the script on the operation's handle
and the request, and answers the Operation. Both transports hand the request over in one shape: the
proto3 JSON of the request message, as HTTP transcoding (AIP-127) defines it, so one script serves
both.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..wire.errors import ScriptError
from ..wire.proto3_json import JSON
from ..wire.routes import TEMPLATE_SEGMENT

if TYPE_CHECKING:
    from .handle import OperationHandle

__all__ = ["HTTP_METHODS", "HttpRule", "StartRequest", "StartTable", "Starter", "parse_grpc_method"]


#: The HTTP methods a google.api.http rule can bind.
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_FIELD_PATH = re.compile(rf"{_IDENT}(?:\.{_IDENT})*")
_LITERAL = re.compile(r"[A-Za-z0-9_.~\-$]+")
_GRPC_METHOD = re.compile(rf"/?((?:{_IDENT}\.)*{_IDENT})\.({_IDENT})/({_IDENT})")


@dataclasses.dataclass(frozen=True)
class HttpRule:
    """A google.api.http binding such as ``POST /v1/{parent=projects/*/locations/*}/workflows``.

    ``variables`` are the request fields bound by the path, in order; ``body`` is the request field
    the body fills (``"*"`` for the whole request, None when the method takes no body).
    """

    method: str
    template: str
    variables: tuple[str, ...]
    body: str | None
    regex: re.Pattern[str]

    @classmethod
    def parse(cls, text: str, body: str | None = "*") -> HttpRule:
        """Parse ``"METHOD /path/template"``; `ScriptError` says what is wrong with it."""
        if not isinstance(text, str) or " " not in text.strip():
            raise ScriptError(f"http= must be 'METHOD /path', e.g. 'POST /v1/{{parent=projects/*}}/things'; "
                              f"got {text!r}")
        method, template = text.strip().split(None, 1)
        method = method.upper()
        if method not in HTTP_METHODS:
            raise ScriptError(f"http= method {method!r} is not one of {', '.join(HTTP_METHODS)}")
        if body is not None and body != "*" and not _FIELD_PATH.fullmatch(body):
            raise ScriptError(f"body= must be '*', a request field name, or None; got {body!r}")
        if method in ("GET", "DELETE") and body is not None:
            body = None  # google.api.http: GET and DELETE carry no body
        pattern, variables = _compile_template(template)
        return cls(method, template, tuple(variables), body, re.compile(pattern))

    @property
    def text(self) -> str:
        """The rule as declared: ``METHOD /template``."""
        return f"{self.method} {self.template}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The bound variables when ``method`` and ``path`` match, else None."""
        if method != self.method:
            return None
        found = self.regex.fullmatch(path)
        if found is None:
            return None
        return {field: found.group(f"v{index}") for index, field in enumerate(self.variables)}


def _compile_template(template: str) -> tuple[str, list[str]]:
    """The regular expression of a path template (``/seg/{field=pattern}/...:verb``) and its fields."""
    if not template.startswith("/"):
        raise ScriptError(f"the path template {template!r} must start with '/'")
    verb = ""
    body = template
    # A custom verb follows the last colon outside braces.
    depth = 0
    for index in range(len(template) - 1, -1, -1):
        char = template[index]
        if char == "}":
            depth += 1
        elif char == "{":
            depth -= 1
        elif char == ":" and depth == 0:
            body, verb = template[:index], template[index + 1:]
            if not _LITERAL.fullmatch(verb):
                raise ScriptError(f"the custom verb {verb!r} of {template!r} is not a literal")
            break
    pieces: list[str] = []
    variables: list[str] = []
    for segment in _split_segments(body[1:], template):
        if segment.startswith("{"):
            if not segment.endswith("}"):
                raise ScriptError(f"unbalanced braces in the path template {template!r}")
            field, _, inner = segment[1:-1].partition("=")
            if not _FIELD_PATH.fullmatch(field):
                raise ScriptError(f"{field!r} in {template!r} is not a request field path")
            if field in variables:
                raise ScriptError(f"the path template {template!r} binds {field!r} twice")
            sub = [_segment_regex(s, template) for s in (inner or "*").split("/")]
            pieces.append(f"(?P<v{len(variables)}>{'/'.join(sub)})")
            variables.append(field)
        else:
            pieces.append(_segment_regex(segment, template))
    pattern = "/" + "/".join(pieces) + (":" + re.escape(verb) if verb else "")
    return pattern, variables


def _split_segments(text: str, template: str) -> list[str]:
    """Split on slashes outside braces."""
    segments, current, depth = [], "", 0
    for char in text:
        if char == "{":
            depth += 1
            if depth > 1:
                raise ScriptError(f"nested braces in the path template {template!r}")
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise ScriptError(f"unbalanced braces in the path template {template!r}")
        if char == "/" and depth == 0:
            segments.append(current)
            current = ""
        else:
            current += char
    if depth:
        raise ScriptError(f"unbalanced braces in the path template {template!r}")
    segments.append(current)
    if any(not segment for segment in segments):
        raise ScriptError(f"the path template {template!r} has an empty segment")
    return segments


def _segment_regex(segment: str, template: str) -> str:
    if segment == "*":
        return TEMPLATE_SEGMENT
    if segment == "**":
        return rf"{TEMPLATE_SEGMENT}(?:/{TEMPLATE_SEGMENT})*"
    if not _LITERAL.fullmatch(segment):
        raise ScriptError(f"{segment!r} in the path template {template!r} is not '*', '**' or a literal")
    return re.escape(segment)


def parse_grpc_method(text: str) -> tuple[str, str]:
    """``"pkg.Service/Method"`` (a leading slash allowed) as ``("/pkg.Service/Method", "pkg.MethodRequest")``.

    The second item is the request type AIP-131..136 name by convention, the default when the
    test does not name one.
    """
    found = _GRPC_METHOD.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise ScriptError(f"grpc= must be a full method name like 'google.cloud.workflows.v1.Workflows/CreateWorkflow';"
                          f" got {text!r}")
    package, service, method = found.groups()
    return f"/{package}.{service}/{method}", f"{package}.{method}Request"


@dataclasses.dataclass(frozen=True)
class StartRequest:
    """A call that starts an operation, as the script sees it.

    ``message`` is the request message in proto3 JSON (camelCase field names), the same on both
    transports: over REST, the path variables, the query parameters (as strings) and the body under
    the rule's ``body`` field; over gRPC, the decoded request. ``parent`` is where the operation was
    created; ``headers`` are the HTTP headers or gRPC metadata, lower-cased.
    """

    transport: str
    method: str
    message: Mapping[str, Any]
    parent: str = ""
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)


Script = Callable[["OperationHandle", StartRequest], object]
ParentOf = Callable[[StartRequest], str]


@dataclasses.dataclass(eq=False)
class Starter:
    """One declared starting method. ``operations`` and ``requests`` hold what each call created and sent."""

    http: HttpRule | None
    grpc_method: str | None
    request_type: Any
    script: Script | None
    parent: str | ParentOf = "parent"
    operations: list[OperationHandle] = dataclasses.field(default_factory=list)
    requests: list[StartRequest] = dataclasses.field(default_factory=list)

    @property
    def rpc(self) -> str:
        """How the call log names calls of this method: the gRPC method when declared, else the HTTP rule."""
        if self.grpc_method is not None:
            return self.grpc_method.lstrip("/")
        assert self.http is not None
        return self.http.text

    def parent_of(self, request: StartRequest) -> object:
        """The parent the request names: the ``parent`` field (or the one ``parent=`` names), or what it computes."""
        if callable(self.parent):
            return self.parent(request)
        value: Any = request.message
        for part in self.parent.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        return value


class StartTable:
    """The starting methods declared on one emulator state, looked up by HTTP request or gRPC method."""

    def __init__(self) -> None:
        self._starters: list[Starter] = []

    def add(self, starter: Starter) -> None:
        """Declare ``starter``; `ScriptError` if its route or method is already declared."""
        for other in self._starters:
            if starter.http is not None and other.http is not None and starter.http.text == other.http.text:
                raise ScriptError(f"{starter.http.text} already starts operations; declare it once")
            if starter.grpc_method is not None and starter.grpc_method == other.grpc_method:
                raise ScriptError(f"{starter.grpc_method} already starts operations; declare it once")
        self._starters.append(starter)

    def checkpoint(self) -> int:
        """A mark to `rollback` to."""
        return len(self._starters)

    def rollback(self, mark: int) -> None:
        """Forget the starters declared since ``mark``."""
        del self._starters[mark:]

    def copy(self) -> StartTable:
        """A table with the same declarations (a scratch table for checking a scenario)."""
        table = StartTable()
        table._starters = list(self._starters)
        return table

    def __iter__(self) -> Iterator[Starter]:
        return iter(list(self._starters))

    def __len__(self) -> int:
        return len(self._starters)

    def match_http(self, method: str, path: str) -> tuple[Starter, dict[str, str]] | None:
        """The starter whose rule matches, with the variables the path binds."""
        for starter in self._starters:
            if starter.http is not None:
                variables = starter.http.match(method, path)
                if variables is not None:
                    return starter, variables
        return None

    def by_grpc_method(self, method: str) -> Starter | None:
        """The starter of a gRPC method path (``/pkg.Service/Method``)."""
        return next((s for s in self._starters if s.grpc_method == method), None)

    def http_rules(self) -> list[str]:
        """Every declared HTTP rule, for error messages."""
        return [s.http.text for s in self._starters if s.http is not None]

    def grpc_methods(self) -> list[str]:
        """Every declared gRPC method, for error messages."""
        return [s.grpc_method for s in self._starters if s.grpc_method is not None]


def set_field(message: JSON, path: str, value: Any) -> None:
    """Set a dotted field path in a JSON message, creating the messages on the way."""
    *heads, last = path.split(".")
    for head in heads:
        inner = message.get(head)
        if not isinstance(inner, dict):
            inner = message[head] = {}
        message = inner
    message[last] = value
