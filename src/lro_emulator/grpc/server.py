"""The gRPC transport: ``google.longrunning.Operations`` and the declared starting methods over grpcio.

Like the REST transport it translates and holds no state: each call reads the emulator's current
state, calls the same service, and records the call in the same log. What it remembers between
calls (each served Operation as protobuf bytes, each polled request as read) is kept by that state,
so a reset forgets it. Messages come from googleapis-common-protos; errors are gRPC status codes
with a ``google.rpc.Status`` (an ErrorInfo and any other details) in the trailing metadata, where
google-api-core reads them.
"""

from __future__ import annotations

import functools
import operator
import threading
from collections.abc import Callable, Mapping
from concurrent import futures
from datetime import timedelta
from typing import Any

import grpc
from google.longrunning import operations_pb2
from google.protobuf import any_pb2, empty_pb2, json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2
from grpc_status import rpc_status

from ..core.faults import Effect
from ..core.pipeline import Arrival, Target, kept_body, run_call
from ..core.starts import StartRequest
from ..core.state import ENCODING_CACHE_BYTES, EmulatorState
from ..wire.addresses import authority, local_address, started
from ..wire.codes import Code
from ..wire.errors import StatusError
from ..wire.profiles import RPCS
from ..wire.protobuf import pack_problem, parse_into, register_common_types

__all__ = ["OPERATIONS_SERVICE", "GrpcServer"]

#: The full name of the Operations service, as in gRPC method paths.
OPERATIONS_SERVICE = "google.longrunning.Operations"

# Limits that keep a status under the 8 KiB of trailing metadata a grpcio client accepts. Its message goes out
# twice: percent-encoded in grpc-message (a byte outside printable ASCII, or a "%", takes three: an emoji twelve),
# and in grpc-status-details-bin, the packed google.rpc.Status in base64 (four bytes for every three).
_MESSAGE_LIMIT = 1000  # bytes of grpc-message, as encoded
_DETAIL_TEXT_LIMIT = 500  # UTF-8 bytes of each text inside a detail
_STATUS_LIMIT = 4096  # bytes of the packed Status, message included: 5,464 in base64, 6.5 KiB with grpc-message

#: What CancelOperation and DeleteOperation answer: a serialized google.protobuf.Empty.
_EMPTY: bytes = empty_pb2.Empty().SerializeToString()

_REQUESTS: dict[str, type[Message]] = {
    "GetOperation": operations_pb2.GetOperationRequest,
    "ListOperations": operations_pb2.ListOperationsRequest,
    "CancelOperation": operations_pb2.CancelOperationRequest,
    "DeleteOperation": operations_pb2.DeleteOperationRequest,
    "WaitOperation": operations_pb2.WaitOperationRequest,
}


#: Calls served at once; more wait in grpcio's queue.
_WORKERS = 64

#: The longest request the request cache keeps (its size and the encoding cache's limits are the core's, as REST's).
_REQUEST_CACHE_BYTES = 2048


class GrpcServer:
    """Serves the emulator over gRPC on ``host:port`` (port 0: a free one), from grpcio's thread pool."""

    def __init__(self, state: Callable[[], EmulatorState], host: str = "127.0.0.1", port: int = 0) -> None:
        register_common_types()
        self._handler = _Handler(state)
        self._host = host
        self._port = port
        self._server: grpc.Server | None = None
        self._bound = 0

    @property
    def running(self) -> bool:
        """Whether the server is accepting calls."""
        return self._server is not None

    @property
    def target(self) -> str:
        """``host:port``, what ``grpc.insecure_channel`` takes."""
        started(self._server, "gRPC server")
        return authority(local_address(self._host), self._bound)

    def start(self) -> None:
        """Bind and start serving; idempotent."""
        if self._server is not None:
            return
        # No port sharing: a second emulator must never receive this one's calls.
        # A paced WaitOperation or a hang holds a worker while it blocks; with 16, sixteen of them starved every
        # other call. Threads are started only as calls need them.
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="lro-emulator-grpc"),
                             handlers=[self._handler], options=[("grpc.so_reuseport", 0)])
        self._bound = server.add_insecure_port(authority(self._host, self._port))  # an IPv6 address in brackets
        server.start()
        self._server = server

    def stop(self) -> None:
        """Stop serving at once (calls in flight are cancelled) and release the port; idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace=None).wait()


class _Handler(grpc.GenericRpcHandler):  # type: ignore[misc]  # grpcio ships no type hints
    """Every method path lands here, so an unknown one gets an UNIMPLEMENTED that says what is served."""

    def __init__(self, state: Callable[[], EmulatorState]) -> None:
        self._state = state
        # grpcio asks for every call's handler; the Operations methods' are made once (they hold no state).
        self._operations = {path: self._handler_of(path) for path in (f"/{OPERATIONS_SERVICE}/{rpc}" for rpc in RPCS)}

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method: str = handler_call_details.method
        return self._operations.get(method) or self._handler_of(method)

    def _handler_of(self, method: str) -> grpc.RpcMethodHandler:
        service, _, short = method.lstrip("/").rpartition("/")
        rpc = short if service == OPERATIONS_SERVICE and short in RPCS else None
        # Bytes in and out: a request that does not decode is answered by us, not by grpcio.
        return grpc.unary_unary_rpc_method_handler(functools.partial(self._serve, method, rpc))

    def _serve(self, method: str, rpc: str | None, raw: bytes, context: grpc.ServicerContext) -> bytes:
        """Serve one call of ``method``; ``rpc`` is its Operations method's name, None for any other method."""
        state = self._state()
        headers = _headers(state, context.invocation_metadata())
        read: list[Any] = [None]  # the request as proto3 JSON, as the call log keeps it, once decoded
        link = _CallLink(context)
        # Partials rather than lambdas: each call makes them, and calling a partial costs no Python frame.
        outcome = run_call(state, Arrival("grpc", "POST", method, headers),
                           functools.partial(self._route, state, method, rpc, raw, headers, read, link), link,
                           body=functools.partial(operator.getitem, read, 0))
        fault, failure = outcome.fault, outcome.failure
        if failure is not None:
            context.abort_with_status(rpc_status.to_status(_status(state, failure)))
        payload = outcome.result or b""
        if fault is not None and fault.effect is Effect.MALFORMED:
            return b"\x0f" + payload  # wire type 7 does not exist: no message decodes it
        if fault is not None and fault.effect is Effect.TRUNCATE:
            return payload[:-1] if payload else b"\x08"  # the last field loses its last byte
        return payload

    def _route(
        self, state: EmulatorState, method: str, short: str | None, raw: bytes, headers: Mapping[str, str],
        read: list[Any], link: _CallLink
    ) -> Target[bytes]:
        """What the call asks for: an Operations method or a declared start; UNIMPLEMENTED for anything else."""
        if short is not None:
            requests = state.memos["grpc.requests"]
            found: _Read | None = requests.get((short, raw))
            if found is not None:  # the same bytes again: a poll
                body = found.body
                read[0] = dict(body) if type(body) is dict else body  # the log's own copy (its values are scalars)
                if found.target is not None:
                    return found.target
                return Target(short, lambda: self._call(state, short, found.message, link),
                              name=state.call_name(found.message.name), operations=True)
            decoded: list[Any] = []

            def locate() -> str | None:
                message = _decode(_REQUESTS[short], raw)
                fresh = _Read(state, short, message)
                if len(raw) <= _REQUEST_CACHE_BYTES:
                    requests.put((short, raw), fresh)
                decoded.append(message)
                read[0] = dict(fresh.body) if type(fresh.body) is dict else fresh.body
                return state.call_name(message.name)

            return Target(short, lambda: self._call(state, short, decoded[0], link), locate=locate, operations=True)
        starter = state.starts.by_grpc_method(method)
        if starter is None:
            declared = "".join(f", {m}" for m in state.starts.grpc_methods())
            raise StatusError(
                Code.UNIMPLEMENTED,
                f"{method} is not served here; this emulator serves {OPERATIONS_SERVICE}/"
                f"{{{','.join(RPCS)}}}{declared}; declare a method that starts operations with "
                "emu.on_start(grpc=...)",
                reason="METHOD_NOT_FOUND",
            )
        request: list[dict[str, Any]] = []

        def decode() -> None:
            message = _decode(starter.request_type, raw)
            body = _as_json(message)
            read[0] = kept_body(body)
            if body is None:
                raise StatusError.bad_request(f"the request is not a valid {message.DESCRIPTOR.full_name}: a value "
                                              "is out of range for its type", field="request")
            request.append(body)

        created: list[str] = []

        def start() -> bytes:
            document = state.start(starter, StartRequest("grpc", starter.rpc, request[0], headers=dict(headers)))
            created.append(document["name"])
            return _encoded_operation(state, document)

        # A start names no operation until it creates one; locating it only decodes the request.
        return Target(starter.rpc, start, locate=decode, names=lambda _: created[0] if created else None)

    @staticmethod
    def _call(state: EmulatorState, rpc: str, request: Any, link: _CallLink | None) -> bytes:
        """The serialized answer of an Operations method."""
        service = state.service
        if rpc == "GetOperation":
            return _encoded_operation(state, service.get_operation(request.name))
        if rpc == "ListOperations":
            document = service.list_operations(
                request.name,
                filter_text=request.filter,
                page_size_requested=request.page_size,
                page_token=request.page_token,
                return_partial_success=request.return_partial_success,
            )
            listed: bytes = _message(state, document, operations_pb2.ListOperationsResponse).SerializeToString()
            return listed
        if rpc == "CancelOperation":
            service.cancel_operation(request.name)
            return _EMPTY
        if rpc == "DeleteOperation":
            service.delete_operation(request.name)
            return _EMPTY
        assert link is not None  # a WaitOperation's `_Read` keeps no target: each call brings its own link
        timeout = _timeout(request.timeout) if request.HasField("timeout") else None
        wait = service.wait_operation(request.name, timeout, gone=lambda: link.gone(0))
        return _encoded_operation(state, wait)


class _CallLink:
    """A gRPC call: it shares its connection, so a fault cannot drop it; its deadline is known."""

    can_drop = False

    def __init__(self, context: grpc.ServicerContext) -> None:
        self._context = context
        self._ended: threading.Event | None = None

    def gone(self, wait: float) -> bool:
        if wait <= 0:
            return not self._context.is_active()
        if self._ended is None:
            self._ended = threading.Event()
            if not self._context.add_callback(self._ended.set):  # called when the client cancels or its deadline passes
                return True  # the call has ended already
        return self._ended.wait(wait)

    def time_left(self) -> float | None:
        remaining: float | None = self._context.time_remaining()  # real seconds; grpcio keeps real time
        return remaining


def _headers(state: EmulatorState, metadata: tuple[tuple[str, str | bytes], ...]) -> Mapping[str, str]:
    """A call's metadata as headers (lower-case names, binary values in hex), read once for the same metadata.

    A client polls with the same metadata over and over. The mapping is shared by the calls that sent it: the
    pipeline only reads it (the call log keeps its own copy, as does a start's request).
    """
    memo = state.memos["grpc.headers"]
    found: Mapping[str, str] | None = memo.get(metadata)
    if found is None:
        found = {key.lower(): value if isinstance(value, str) else value.hex() for key, value in metadata}
        if sum(len(key) + len(value) for key, value in metadata) <= _REQUEST_CACHE_BYTES:
            memo.put(metadata, found)
    return found


def _decode(kind: Any, raw: bytes) -> Message:
    try:
        message: Message = kind.FromString(raw)
    except (DecodeError, ValueError) as error:
        name = kind.DESCRIPTOR.full_name
        raise StatusError.bad_request(f"the request is not a valid {name}: {error}", field="request") from None
    return message


class _Read:
    """An Operations request as read from its bytes, kept by the state for the same bytes again.

    A client polls with the same request bytes over and over, and reading them (the JSON above all)
    cost more than serving the answer. The message is only ever read, never changed; requests that
    do not decode are not remembered (each fails as the first did), nor are the rare long ones.
    ``body`` is the request as the call log keeps it (`kept_body`); ``target`` is the whole `Target`
    where serving needs nothing of the call itself (not a WaitOperation, which watches its client,
    nor an ``operations/``-prefixed name, whose logged form depends on the operations there are).
    """

    __slots__ = ("body", "message", "target")

    def __init__(self, state: EmulatorState, rpc: str, message: Any) -> None:
        self.message = message
        self.body = kept_body(_as_json(message))
        self.target: Target[bytes] | None = None
        if rpc != "WaitOperation" and not message.name.startswith("operations/"):
            serve = functools.partial(_Handler._call, state, rpc, message, None)
            self.target = Target(rpc, serve, name=message.name, operations=True)


def _as_json(message: Message) -> dict[str, Any] | None:
    """The request as proto3 JSON for the call log, or None when a value has no JSON form (an invalid Duration)."""
    try:
        document: dict[str, Any] = json_format.MessageToDict(message)
    except json_format.Error:
        return None
    return document


def _timeout(duration: Any) -> timedelta:
    """A google.protobuf.Duration as a timedelta; INVALID_ARGUMENT for one the proto forbids."""
    seconds, nanos = duration.seconds, duration.nanos
    mixed_signs = (seconds < 0 < nanos) or (nanos < 0 < seconds)
    if not -10**9 < nanos < 10**9 or mixed_signs or abs(seconds) > 315_576_000_000:
        raise StatusError.bad_request(f"timeout is not a valid Duration (seconds={seconds}, nanos={nanos})",
                                   field="timeout")
    return timedelta(seconds=seconds, microseconds=nanos / 1000)


def _encoded_operation(state: EmulatorState, document: dict[str, Any]) -> bytes:
    """The serialized ``google.longrunning.Operation`` of a served Operation document, converted once per document.

    The service hands out the same rendered object until the operation's state changes (and nobody
    mutates it), so its identity is a key, as for REST's encodings; the object is kept beside its
    bytes so that the identity cannot be reused while remembered. The cache is the state's: a reset
    forgets it. A document that does not pack is never remembered (each call that serves it fails
    as the first did), nor is the rare huge one.
    """
    encodings = state.memos["grpc.encodings"]
    found = encodings.get(id(document))
    if found is not None and found[0] is document:
        cached: bytes = found[1]
        return cached
    payload: bytes = _message(state, document, operations_pb2.Operation).SerializeToString()
    if len(payload) <= ENCODING_CACHE_BYTES:
        encodings.put(id(document), (document, payload))
    return payload


def _message(state: EmulatorState, document: dict[str, Any], kind: type[Message]) -> Message:
    """The protobuf message of a served JSON document; INTERNAL (and a test failure) if it cannot pack."""
    message = kind()
    try:
        parse_into(document, message)
    except json_format.ParseError:
        operations = document.get("operations", [document]) if kind is not operations_pb2.Operation else [document]
        reasons = [f"{op.get('name')!r}: {problem}" for op in operations if (problem := pack_problem(op))]
        error = RuntimeError(f"cannot serve over gRPC: {'; '.join(reasons) or document}")
        state.problems.append(error)
        raise StatusError(Code.INTERNAL, str(error), reason="UNPACKABLE_PAYLOAD") from None
    return message


def _status(state: EmulatorState, error: StatusError) -> status_pb2.Status:
    """The google.rpc.Status of an error, its details packed as ``Any`` and its text clipped to fit a trailer.

    grpcio refuses trailing metadata over 8 KiB, and a message may echo a request's long filter or
    name. Texts are clipped by the bytes they take on the wire, and a detail that still does not fit
    is left out (the ErrorInfo comes first: it is kept whenever it fits). Details that cannot be packed
    (a test's own StatusError naming an unregistered type) are the test's bug: recorded, and the call
    is answered INTERNAL with no details.
    """
    try:
        details = []
        for detail in error.details:
            packed = any_pb2.Any()
            json_format.ParseDict(_clipped(detail), packed)
            details.append(packed)
    except json_format.ParseError as problem:
        state.problems.append(RuntimeError(f"the error {error!r} cannot be sent over gRPC: {problem}"))
        text = _clip(f"the error cannot be sent over gRPC: {problem}")
        return status_pb2.Status(code=int(Code.INTERNAL), message=text)
    status = status_pb2.Status(code=int(error.code), message=_clip(error.message))
    for packed in details:
        status.details.append(packed)
        if status.ByteSize() > _STATUS_LIMIT:
            status.details.pop()  # one that does not fit is left out; a smaller one after it (a RetryInfo) may fit
    return status


def _percent_encoded_size(text: str) -> int:
    """The bytes ``text`` takes in grpc-message: UTF-8, with every byte outside 0x20-0x7E, and "%", as %XX."""
    return sum(1 if 0x20 <= byte <= 0x7E and byte != 0x25 else 3 for byte in text.encode("utf-8", "surrogatepass"))


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _clip(text: str, limit: int = _MESSAGE_LIMIT, size: Callable[[str], int] = _percent_encoded_size) -> str:
    """``text``, or as many of its first characters as fit ``limit`` bytes as ``size`` counts them, and "…"."""
    if size(text) <= limit:
        return text
    room = limit - size("…")
    kept = 0
    for character in text:
        room -= size(character)
        if room < 0:
            break
        kept += 1
    return text[:kept] + "…"


def _clipped(value: Any) -> Any:
    if isinstance(value, str):
        return _clip(value, _DETAIL_TEXT_LIMIT, _utf8_size)
    if isinstance(value, dict):
        return {key: _clipped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clipped(item) for item in value]
    return value
