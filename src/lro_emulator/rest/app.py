"""The REST transport: werkzeug routes from the route table, proto3 JSON in and out, AIP-193 errors.

It translates and holds no state: every request reads the emulator's current state, calls the
service, and records the call there.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Request

from ..core.calls import Call
from ..core.faults import Effect
from ..core.pipeline import CLIENT_DEADLINE_KEY, Arrival, Target, checked_failure, emulator_bug, kept_body, run_call
from ..core.starts import Starter, StartRequest, set_field
from ..core.state import ENCODING_CACHE_BYTES, EmulatorState
from ..wire.codes import Code
from ..wire.errors import LroEmulatorError, StatusError
from ..wire.http_rules import HttpRule
from ..wire.proto3_json import JSON, camel_case, parse_duration
from ..wire.protobuf import canonical_json
from ..wire.routes import (
    ALL_ROUTES,
    CONTROL_PREFIX,
    CONTROL_ROUTES,
    CONVERTER_PATTERNS,
    ROUTES,
    STANDARD_QUERY_PARAMETERS,
)
from .discovery import algorithms, discovery_document
from .origins import foreign_request
from .reading import (
    BODY_KEY,
    body_bytes,
    control_body,
    headers_of,
    path_keeping_encoded_slashes,
    read_body,
    read_query,
)

if TYPE_CHECKING:
    from .control import ControlPlane

__all__ = ["MAX_BODY_BYTES", "MAX_PATH_LENGTH", "RestApp", "error_envelope"]

#: Request bodies larger than this are refused before they are read.
MAX_BODY_BYTES = 1 << 20
#: Paths longer than this are refused before they are routed: room for the longest name (1,024), a version and a verb.
MAX_PATH_LENGTH = 2048


def _converter(pattern: str) -> type[BaseConverter]:
    # Operation names span several path segments, so the converter matches across slashes.
    return type("Converter", (BaseConverter,), {"regex": pattern, "part_isolating": False})


URL_MAP = Map(
    [Rule(route.rule, methods=[route.method], endpoint=route.endpoint) for route in ALL_ROUTES],
    converters={name: _converter(pattern) for name, pattern in CONVERTER_PATTERNS.items()},
    strict_slashes=False,
    merge_slashes=False,
)
_RPC_OF = {route.endpoint: route.rpc for route in ALL_ROUTES}
_TYPES = {"string": str, "duration": str, "integer": int, "count": int, "boolean": bool}
_QUERY = {route.endpoint: {name: _TYPES[kind] for name, kind in route.query} for route in ALL_ROUTES}
_OPERATIONS_ENDPOINTS = frozenset(route.endpoint for route in ROUTES)
_CONTROL_ENDPOINTS = frozenset(route.endpoint for route in CONTROL_ROUTES)
_REASONS = {status.value: status.phrase for status in HTTPStatus}
#: The longest path the route cache keeps (its size and the encoding cache's limits are the core's, shared by gRPC).
_MATCH_CACHE_PATH = 2048


class DroppedConnection(LroEmulatorError, ConnectionResetError):
    """Raised to drop the client's connection instead of finishing its answer (the server carries it out).

    ``reset=True`` aborts it (a TCP RST); ``reset=False`` closes it (a FIN), e.g. after part of a body.
    """

    def __init__(self, *, reset: bool) -> None:
        super().__init__("connection reset by the emulator" if reset else "connection closed by the emulator")
        self.reset = reset


def error_envelope(error: StatusError) -> JSON:
    """The AIP-193 body of an error: HTTP status in ``code``, the code's name in ``status``."""
    return error.envelope()


class RestApp:
    """The WSGI application of the emulated REST surface."""

    def __init__(
        self, state: Callable[[], EmulatorState], control: ControlPlane | None = None, *, local_only: bool = True
    ) -> None:
        self._state = state
        self._control = control
        # Served on loopback only: requests a web page elsewhere sends are refused (see `origins`).
        self._local_only = local_only
        self._control_handlers: dict[str, Callable[[Request], JSON]] = {}
        if control is not None:
            self._control_handlers = {
                "control_status": lambda request: control.status(read_query(request, {})),
                "control_openapi": lambda request: control.openapi(_root_url(request), read_query(request, {})),
                "control_create": lambda request: control.create_operation(control_body(request)),
                "control_load": lambda request: control.load_scenario(control_body(request, text_ok=True)),
                "control_clock": lambda request: control.clock(read_query(request, {})),
                "control_advance": lambda request: control.advance(control_body(request)),
                "control_set": lambda request: control.set_time(control_body(request)),
                "control_calls": lambda request: control.calls(read_query(request, _QUERY["control_calls"])),
                "control_reset": lambda request: control.reset(control_body(request)),
            }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self._local_only:
            refusal = foreign_request(environ)
            if refusal is not None:  # before anything runs: nothing such a request asks for may happen
                return _respond(environ, start_response, refusal.envelope(), refusal.code.http_status)
        kept = path_keeping_encoded_slashes(environ)
        if kept is not None:
            environ["PATH_INFO"] = kept
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        if request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/"):
            # The test harness's own calls: answered, never logged as calls of the client under test.
            return self._control_call(environ, start_response, request)
        state = self._state()
        query = dict(request.args.items()) if environ.get("QUERY_STRING") else {}
        arrival = Arrival("http", request.method, request.path, headers_of(environ), query)
        outcome = run_call(state, arrival, lambda: self._route(state, request), _SocketLink(environ),
                           body=lambda: kept_body(environ.get(BODY_KEY)),
                           failure_of=lambda error: _http_failure(state, request, error))
        fault, failure = outcome.fault, outcome.failure
        status = outcome.call.status
        if fault is not None and fault.effect is Effect.RESPOND:
            return _spoiled(environ, start_response, fault.body, status, fault.effect)
        document = outcome.result if failure is None else failure.envelope()
        if fault is None:
            return _respond_bytes(environ, start_response, self._encoded(state, document), status)
        return _spoiled(environ, start_response, document, status, fault.effect)

    def _route(self, state: EmulatorState, request: Request) -> Target[Any]:
        """What the request asks for: an Operations method, a declared start, or a document of ours."""
        if request.method == "HEAD":
            # werkzeug serves HEAD on GET routes; the API has no HEAD, and it must not count as a poll.
            raise MethodNotAllowed(valid_methods=["GET", "POST", "DELETE"])
        if len(request.path) > MAX_PATH_LENGTH:  # before any pattern runs: matching a path costs more than its length
            raise StatusError.bad_request(f"the path is {len(request.path):,} characters long; the emulator routes "
                                          f"paths of at most {MAX_PATH_LENGTH:,}", field="name")
        try:
            endpoint, args = self._match(state, request.environ)
        except (NotFound, MethodNotAllowed) as miss:
            found = state.starts.match_http(request.method, request.path)
            if found is None:
                raise miss from None
            starter, rule, variables = found
            return Target(starter.rpc, lambda: self._start(state, request, starter, rule, variables),
                          names=lambda document: document["name"])
        rpc = _RPC_OF[endpoint]
        handler = getattr(self, f"on_{endpoint}")
        target: Target[Any] = Target(rpc, lambda: handler(state, request, **args),
                                     public=rpc == "GetDiscoveryDocument")
        if endpoint in _OPERATIONS_ENDPOINTS:
            target.operations = True
            target.name = state.call_name(args.get("name") if rpc != "ListOperations" else args.get("parent", ""))
        return target

    @staticmethod
    def _encoded(state: EmulatorState, document: Any) -> bytes:
        """``document`` as compact JSON bytes; an Operation served again unchanged is encoded once.

        The service hands out the same rendered object until the operation's state changes (and
        nobody mutates it), so its identity is a key; the object is kept beside its bytes so that
        the identity cannot be reused while remembered.
        """
        encodings = state.memos["rest.encodings"]
        found = encodings.get(id(document))
        if found is not None and found[0] is document:
            return bytes(found[1])
        payload = json.dumps(document, separators=(",", ":")).encode()
        # Operations only (other answers are built anew), and not the rare huge one.
        if isinstance(document, dict) and "name" in document and len(payload) <= ENCODING_CACHE_BYTES:
            encodings.put(id(document), (document, payload))
        return payload

    @staticmethod
    def _match(state: EmulatorState, environ: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The endpoint and arguments of the request's route; NotFound or MethodNotAllowed if none.

        A profile that publishes its bindings is served at exactly those paths; the generic profile at
        the route table's (any version). The service's documents and the control plane are the route table's.
        """
        # Matching costs more than the rest of a poll together, and a polling client asks for the same path
        # hundreds of times: successful matches are remembered, for the state's life.
        matched = state.memos["rest.routes"]
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        key = (method, path)
        found = matched.get(key)
        if found is None:
            # PATH_INFO holds the path's UTF-8 bytes as latin-1 characters (WSGI); werkzeug's matcher decodes too.
            decoded = path.encode("latin-1").decode("utf-8", "replace")
            found = _published_route(state, method, decoded)
            if found is None:
                try:
                    endpoint, args = URL_MAP.bind_to_environ(environ).match()
                    if endpoint in _OPERATIONS_ENDPOINTS and not _served_off_the_published(state, endpoint, args):
                        raise NotFound()
                except (NotFound, MethodNotAllowed):
                    allowed = [] if state.profile.routes is None else state.profile.routes.methods_matching(decoded)
                    if allowed:
                        raise MethodNotAllowed(valid_methods=allowed) from None
                    raise
                found = (str(endpoint), dict(args))
            if len(path) <= _MATCH_CACHE_PATH:  # a very long path is rarely polled twice
                matched.put(key, found)
        return found[0], dict(found[1])

    def _control_call(
        self, environ: dict[str, Any], start_response: Callable[..., Any], request: Request
    ) -> Iterable[bytes]:
        """Serve a request under the control prefix; it is reported to observers, never logged as a call."""
        state = self._state()
        rpc = None
        try:
            if self._control is None:
                raise StatusError(Code.UNIMPLEMENTED, "this application has no control plane",
                                  reason="NO_CONTROL_PLANE")
            self._control.admit(request.headers.get("Authorization"))
            if request.method == "HEAD":
                raise MethodNotAllowed(valid_methods=["GET", "POST"])
            try:
                endpoint, _ = self._match(state, environ)
                if endpoint not in _CONTROL_ENDPOINTS:
                    raise NotFound()
            except NotFound:
                routes = "; ".join(f"{route.method} {route.template}" for route in CONTROL_ROUTES)
                raise StatusError(Code.NOT_FOUND, f"the control plane has no {request.method} {request.path}; "
                                               f"its routes are: {routes}", reason="ROUTE_NOT_FOUND") from None
            rpc = _RPC_OF[endpoint]
            document, status, code = self._control_handlers[endpoint](request), 200, Code.OK
        except Exception as error:
            failure = checked_failure(state, _http_failure(state, request, error) or emulator_bug(state, error))
            document, status, code = failure.envelope(), failure.code.http_status, failure.code
        if self._control is not None:
            self._control.report(Call(rpc=rpc, method=request.method, path=request.path, name=None,
                                      status=status, code=code.name, time=state.clock.now()))
        return _respond(environ, start_response, document, status)

    # -- handlers: (state, request, **route args) -> response document ------------------------------

    def on_get(self, state: EmulatorState, request: Request, version: str, name: str) -> JSON:
        read_query(request, {})
        return state.service.get_operation(name)

    def on_list(self, state: EmulatorState, request: Request, version: str, parent: str) -> JSON:
        return _list(state, parent, read_query(request, _QUERY["list"]))

    def on_list_global(self, state: EmulatorState, request: Request, version: str) -> JSON:
        query = read_query(request, _QUERY["list_global"])
        # Vertex's discovery document declares a `name` parameter on the global list; it can only be empty.
        if query.get("name"):
            raise StatusError.bad_request(f"GET /{version}/operations lists the global collection, so name must be "
                                       f"empty, not {query['name']!r}; list a collection at "
                                       f"/{version}/{{name}}/operations", field="name")
        return _list(state, "", query)

    def on_cancel(self, state: EmulatorState, request: Request, version: str, name: str) -> JSON:
        read_query(request, {})
        read_body(state, request, "cancel-operation-request", name)
        return state.service.cancel_operation(name)

    def on_delete(self, state: EmulatorState, request: Request, version: str, name: str) -> JSON:
        read_query(request, {})
        return state.service.delete_operation(name)

    def on_wait(self, state: EmulatorState, request: Request, version: str, name: str) -> JSON:
        # Earth Engine sends the timeout in the body, Vertex AI in the query: accept either, not both.
        query = read_query(request, _QUERY["wait"])
        body = read_body(state, request, "wait-operation-request", name)
        if "timeout" in query and "timeout" in body:
            raise StatusError.bad_request("timeout was given both in the query and in the body; give it once",
                                       field="timeout")
        text = body.get("timeout", query.get("timeout"))
        try:
            timeout = None if text is None else parse_duration(text)
        except ValueError as error:
            raise StatusError.bad_request(f"timeout: {error}", field="timeout") from None
        return state.service.wait_operation(name, timeout, gone=lambda: _client_gone(request.environ, 0))

    def on_discovery(self, state: EmulatorState, request: Request) -> JSON:
        query = read_query(request, _QUERY["discovery"])
        return discovery_document(state.profile, _root_url(request), query.get("version", "v1"))

    def on_discovery_v1(self, state: EmulatorState, request: Request, api: str, version: str) -> JSON:
        read_query(request, {})
        return discovery_document(state.profile, _root_url(request), version, api)

    def on_algorithms(self, state: EmulatorState, request: Request, version: str, project: str) -> JSON:
        read_query(request, _QUERY["algorithms"])
        return algorithms(state.profile, project)

    @staticmethod
    def _start(
        state: EmulatorState, request: Request, starter: Starter, rule: HttpRule, variables: Mapping[str, str]
    ) -> JSON:
        """A declared starting method: the request message transcoded from path, query and body (AIP-127)."""
        message: JSON = {}
        body = read_body(state, request, None, None) if rule.body is not None else None
        if rule.body is None and body_bytes(request).strip():
            raise StatusError.bad_request(f"{rule.text} takes no request body", field="body")
        if rule.body == "*" and body:
            message.update(body)
        for key in request.args:
            if key in STANDARD_QUERY_PARAMETERS:
                continue
            values = request.args.getlist(key)
            if len(values) > 1:
                raise StatusError.bad_request(f"query parameter {key!r} was given more than once", field=key)
            set_field(message, ".".join(camel_case(part) for part in key.split(".")), values[0])
        body_field = rule.body_field
        if body_field not in (None, "*") and body:
            set_field(message, body_field, body)
        for field, value in zip(rule.fields, variables.values(), strict=True):
            set_field(message, field, value)
        if starter.request_type is not None:
            # REST clients send enums as numbers (enum-encoding=int); the script sees what gRPC would give.
            try:
                message = canonical_json(starter.request_type, message)
            except ValueError as error:
                kind = starter.request_type.DESCRIPTOR.full_name
                raise StatusError.bad_request(f"the request is not a valid {kind}: {error}", field="body") from None
        headers = {key.lower(): value for key, value in request.headers.items()}
        return state.start(starter, StartRequest("http", rule.text, message, headers=headers))

class _SocketLink:
    """A REST call's connection: its own, so a fault can drop it; the client sends no deadline."""

    can_drop = True

    def __init__(self, environ: dict[str, Any]) -> None:
        self._environ = environ

    def gone(self, wait: float) -> bool:
        return _client_gone(self._environ, wait)

    def time_left(self) -> float | None:
        return None


def _http_failure(state: EmulatorState, request: Request, error: Exception) -> StatusError | None:
    """An error of the request's own, as the AIP-193 error a person can act on; None for anything else."""
    if isinstance(error, StatusError):
        return error
    if isinstance(error, HTTPException):
        return _routing_error(state, request, error)
    return None


def _routing_error(state: EmulatorState, request: Request, error: HTTPException) -> StatusError:
    """Routing and protocol failures, as AIP-193 errors a person can act on."""
    if isinstance(error, MethodNotAllowed):
        allowed = ", ".join(sorted(m for m in error.valid_methods or () if m not in ("HEAD", "OPTIONS")))
        return StatusError(Code.NOT_FOUND,
                        f"{request.method} is not a method of {request.path}; it accepts {allowed}",
                        reason="METHOD_NOT_FOUND")
    if isinstance(error, RequestEntityTooLarge):
        return StatusError.bad_request(f"the request body is larger than {MAX_BODY_BYTES} bytes", field="body")
    if isinstance(error, NotFound):
        return StatusError(Code.NOT_FOUND,
                           f"no Operations method is served at {request.method} {request.path}; "
                           f"{_served_routes(state)}", reason="ROUTE_NOT_FOUND")
    return StatusError(Code.INVALID_ARGUMENT, f"the request could not be read: {error.description}",
                    reason="BAD_REQUEST")


#: The endpoint of each Operations RPC when a profile's published binding routes it (ListOperations: with a parent).
_ENDPOINT_OF = {route.rpc: route.endpoint for route in ROUTES if route.endpoint != "list_global"}


def _published_route(state: EmulatorState, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The endpoint and arguments of the binding the profile publishes for ``method`` and ``path``, if any."""
    routes = state.profile.routes
    if routes is None:
        return None
    found = routes.match(method, path)
    if found is None:
        return None
    _, rpc, variables = found
    args: dict[str, Any] = {"version": path.split("/", 2)[1]}
    if rpc != "ListOperations":
        return _ENDPOINT_OF[rpc], {**args, "name": variables["name"]}
    if "name" in variables:
        return "list", {**args, "parent": variables["name"]}
    return "list_global", args


def _served_routes(state: EmulatorState) -> str:
    """What the emulator serves, for a 404: the routes, or a few of the profile's published bindings."""
    starts = state.starts.http_rules()
    declared = f"; declared starting methods: {'; '.join(starts)}" if starts else ""
    profile = state.profile
    if profile.bindings is None:
        routes = "; ".join([f"{route.method} {route.template}" for route in ROUTES] + starts)
        return f"routes are: {routes}"
    examples = "; ".join(texts[0] for texts in profile.bindings.values())
    count = sum(len(texts) for texts in profile.bindings.values())
    return (f"the {profile.name} profile serves the {count} bindings its service publishes, such as {examples}"
            f"{declared}")


def _served_off_the_published(state: EmulatorState, endpoint: str, args: Mapping[str, Any]) -> bool:
    """Whether a route-table route the profile does not publish is still answered (`Profile.answers_unpublished`)."""
    parent = args.get("parent", "" if endpoint == "list_global" else None)
    return state.profile.answers_unpublished(_RPC_OF[endpoint], args["version"], name=args.get("name"), parent=parent)


def _list(state: EmulatorState, parent: str, query: Mapping[str, Any]) -> JSON:
    return state.service.list_operations(
        parent,
        filter_text=query.get("filter", ""),
        page_size_requested=query.get("pageSize"),
        page_token=query.get("pageToken", ""),
        return_partial_success=query.get("returnPartialSuccess", False),
    )


def _respond(
    environ: dict[str, Any], start_response: Callable[..., Any], document: Any, status: int
) -> Iterable[bytes]:
    return _respond_bytes(environ, start_response, json.dumps(document, separators=(",", ":")).encode(), status)


def _spoiled(
    environ: dict[str, Any], start_response: Callable[..., Any], document: Any, status: int, effect: Effect
) -> Iterable[bytes]:
    """The answer as a fault spoils it on the wire: dropped, cut off, garbled, or (for the rest) as it is."""
    if effect is Effect.RESET:
        raise DroppedConnection(reset=True)
    payload = json.dumps(document, separators=(",", ":")).encode()
    if effect is Effect.MALFORMED:
        # A trailing comma: no JSON parser takes it.
        payload = payload[:-1] + b",}" if payload.endswith(b"}") else payload + b"}"
    elif effect is Effect.TRUNCATE:
        payload = payload[: len(payload) // 2]
    elif effect is Effect.DISCONNECT:
        # Content-Length promises the whole body; half of it is sent, then the connection closes.
        write = start_response(f"{status} {_REASONS.get(status, 'Status')}", [
            ("Content-Type", "application/json; charset=UTF-8"), ("Content-Length", str(len(payload)))])
        write(payload[: len(payload) // 2])
        raise DroppedConnection(reset=False)
    return _respond_bytes(environ, start_response, payload, status)


def _respond_bytes(
    environ: dict[str, Any], start_response: Callable[..., Any], payload: bytes, status: int
) -> Iterable[bytes]:
    start_response(f"{status} {_REASONS.get(status, 'Status')}", [
        ("Content-Type", "application/json; charset=UTF-8"), ("Content-Length", str(len(payload)))])
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [payload]


def _client_gone(environ: dict[str, Any], wait: float) -> bool:
    """Whether the client closed its connection, waiting up to ``wait`` real seconds for it to do so.

    poll() keeps real time, which a client's socket timeout uses too, whatever the virtual clock says; unlike
    select(), it takes descriptors numbered past 1024 (a server with many connections open has them).
    """
    connection = environ.get("werkzeug.socket")
    if connection is None:  # not served from a socket (werkzeug's test client, an in-process call)
        # An in-process call's client gives up when its own timeout passes, as one over a socket hangs up then.
        deadline = environ.get(CLIENT_DEADLINE_KEY)
        if deadline is None:
            return False
        left = float(deadline) - time.monotonic()
        if left > 0 and wait > 0:
            time.sleep(min(left, wait))
            left = float(deadline) - time.monotonic()
        return left <= 0
    try:
        hang_up = getattr(select, "POLLRDHUP", None)
        if hang_up is not None:
            # Linux reports the client's FIN itself, even behind bytes it sent first that nobody has read (a client
            # that pipelined a byte before hanging up, or that is still there): nothing but a hang-up wakes this.
            poller = select.poll()
            poller.register(connection, hang_up | select.POLLHUP | select.POLLERR)
            return bool(poller.poll(max(wait, 0.0) * 1000))
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(connection, select.POLLIN | select.POLLHUP | select.POLLERR)
            readable = bool(poller.poll(max(wait, 0.0) * 1000))
        else:  # Windows has no poll(), and no 1024 limit on select()
            readable = bool(select.select([connection], [], [], wait)[0])
        return readable and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _root_url(request: Request) -> str:
    """The address the client reached the emulator at, with a trailing slash (a discovery ``rootUrl``)."""
    return request.host_url
