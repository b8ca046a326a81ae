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

from ..wire.errors import ScriptError, StaleHandle
from ..wire.http_rules import HttpRule, RuleIndex
from ..wire.proto3_json import JSON
from .tenure import Tenure

if TYPE_CHECKING:
    from .handle import OperationHandle

__all__ = ["HttpRule", "StartRequest", "StartTable", "Starter", "parse_grpc_method"]


_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_GRPC_METHOD = re.compile(rf"/?((?:{_IDENT}\.)*{_IDENT})\.({_IDENT})/({_IDENT})")


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


#: What each started operation gets: called with its handle and the start request, it scripts the operation.
Script = Callable[["OperationHandle", StartRequest], object]
#: Where a started operation lives: called with the start request, it returns the parent of its name.
ParentOf = Callable[[StartRequest], str]


@dataclasses.dataclass(eq=False)
class Starter:
    """One declared starting method. ``operations`` and ``requests`` hold what each call created and sent.

    Those two work only during the test that declared it (until the next reset, outside pytest), then raise
    `StaleHandle`; what it declares (``http``, ``method``, the types) stays readable.

    ``http`` is its main HTTP binding and ``bindings`` every one (the main first, then the additional
    bindings its google.api.http rule lists). ``method`` is its full name when it was declared from the
    method itself; ``response_type`` and ``metadata_type`` are the full names of the messages its
    operations answer, when the method declares them (a script giving another type is a `ScriptError`).
    """

    http: HttpRule | None
    grpc_method: str | None
    request_type: Any
    script: Script | None
    parent: str | ParentOf = "parent"
    bindings: tuple[HttpRule, ...] = ()
    method: str | None = None
    response_type: str | None = None
    metadata_type: str | None = None
    #: Whether ``parent`` names a resource, and the operation goes under its nearest collection the profile lists.
    nearest_collection: bool = False
    #: Checks, with the emulator's state, that what the script will serve packs for gRPC (a scenario's start plays
    #: its one timeline); called when gRPC starts serving. None: the script is code, checked as it runs.
    check_types: Callable[[Any], None] | None = None

    def __post_init__(self) -> None:
        if not self.bindings and self.http is not None:
            self.bindings = (self.http,)
        elif self.bindings and self.http is None:
            self.http = self.bindings[0]
        self._operations: list[OperationHandle] = []
        self._requests: list[StartRequest] = []
        #: The tenure of the state it is declared in (`StartTable.add` gives it); a starter of no state never ends.
        self._tenure = Tenure()

    @property
    def operations(self) -> list[OperationHandle]:
        """The operations its calls created, in order."""
        self._live()
        return self._operations

    @property
    def requests(self) -> list[StartRequest]:
        """The requests of its calls, in order."""
        self._live()
        return self._requests

    def _served(self, operation: OperationHandle, request: StartRequest) -> None:
        """Record a call that created ``operation`` (the state does, as it answers the call)."""
        self._operations.append(operation)
        self._requests.append(request)

    def _live(self) -> None:
        __tracebackhide__ = True
        if self._tenure.ended is not None:
            raise StaleHandle(self._tenure.message(f"the Starter of {self.rpc}"))

    @property
    def rpc(self) -> str:
        """How the call log names calls of this method: its full gRPC name when known, else the HTTP rule."""
        if self.method is not None:
            return "/".join(self.method.rsplit(".", 1))
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

    def __init__(self, tenure: Tenure | None = None) -> None:
        #: The tenure of the state the table belongs to, which each starter declared here shares.
        self._tenure = Tenure() if tenure is None else tenure
        self._starters: list[Starter] = []
        # Replaced whole whenever a start is added or forgotten (the state's lock held), never changed in place:
        # a request routed meanwhile reads the old index or the new one.
        self._index: RuleIndex[Starter] = RuleIndex(())

    def add(self, starter: Starter) -> None:
        """Declare ``starter``; `ScriptError` if one of its routes or its method is already declared."""
        for other in self._starters:
            taken = {rule.text for rule in other.bindings}
            for rule in starter.bindings:
                if rule.text in taken:
                    raise ScriptError(f"{rule.text} already starts operations; declare it once")
            if starter.grpc_method is not None and starter.grpc_method == other.grpc_method:
                raise ScriptError(f"{starter.grpc_method} already starts operations; declare it once")
        starter._tenure = self._tenure
        self._starters.append(starter)
        self._reindex()

    def checkpoint(self) -> int:
        """A mark to `rollback` to."""
        return len(self._starters)

    def rollback(self, mark: int) -> None:
        """Forget the starters declared since ``mark``."""
        del self._starters[mark:]
        self._reindex()

    def _reindex(self) -> None:
        self._index = RuleIndex((rule, starter) for starter in self._starters for rule in starter.bindings)

    def copy(self) -> StartTable:
        """A table with the same declarations (a scratch table for checking a scenario)."""
        table = StartTable(self._tenure)
        table._starters = list(self._starters)
        table._reindex()
        return table

    def __iter__(self) -> Iterator[Starter]:
        return iter(list(self._starters))

    def __len__(self) -> int:
        return len(self._starters)

    def match_http(self, method: str, path: str) -> tuple[Starter, HttpRule, dict[str, str]] | None:
        """The starter one of whose rules matches, the rule, and the variables the path binds."""
        found = self._index.match(method, path)
        if found is None:
            return None
        rule, starter, variables = found
        return starter, rule, variables

    def by_grpc_method(self, method: str) -> Starter | None:
        """The starter of a gRPC method path (``/pkg.Service/Method``)."""
        return next((s for s in self._starters if s.grpc_method == method), None)

    def http_rules(self) -> list[str]:
        """Every declared HTTP rule, for error messages."""
        return [rule.text for starter in self._starters for rule in starter.bindings]

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
