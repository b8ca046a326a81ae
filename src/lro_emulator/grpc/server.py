"""The gRPC transport: ``google.longrunning.Operations`` and the declared starting methods over grpcio.

Like the REST transport it translates and holds no state: each call reads the emulator's current
state, calls the same service, and records the call in the same log. Messages come from
googleapis-common-protos; errors are gRPC status codes with a ``google.rpc.Status`` (an ErrorInfo
and any other details) in the trailing metadata, where google-api-core reads them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent import futures
from datetime import timedelta
from typing import Any

import grpc
from google.longrunning import operations_pb2
from google.protobuf import any_pb2, empty_pb2, json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import status_pb2
from grpc_status import rpc_status

from ..core.calls import Call
from ..core.faults import Effect, Fault
from ..core.starts import StartRequest
from ..core.state import EmulatorState
from ..wire.codes import Code
from ..wire.errors import RpcError
from ..wire.profiles import RPCS
from ..wire.protobuf import pack_problem, register_common_types

__all__ = ["OPERATIONS_SERVICE", "GrpcServer"]

#: The full name of the Operations service, as in gRPC method paths.
OPERATIONS_SERVICE = "google.longrunning.Operations"

# Text limits that keep a status, sent twice (grpc-message and grpc-status-details-bin), under grpcio's 8 KiB.
_TEXT_LIMIT = 1000
_DETAIL_TEXT_LIMIT = 500

# The reason of the DEADLINE_EXCEEDED a delay beyond the client's deadline ends a call with.
_DEADLINE_PASSED = "INJECTED_DELAY_PAST_DEADLINE"

_REQUESTS: dict[str, type[Message]] = {
    "GetOperation": operations_pb2.GetOperationRequest,
    "ListOperations": operations_pb2.ListOperationsRequest,
    "CancelOperation": operations_pb2.CancelOperationRequest,
    "DeleteOperation": operations_pb2.DeleteOperationRequest,
    "WaitOperation": operations_pb2.WaitOperationRequest,
}


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
        if self._server is None:
            raise RuntimeError("the gRPC server is not started")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{host}:{self._bound}"

    def start(self) -> None:
        """Bind and start serving; idempotent."""
        if self._server is not None:
            return
        # No port sharing: a second emulator must never receive this one's calls.
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16, thread_name_prefix="lro-emulator-grpc"),
                             handlers=[self._handler], options=[("grpc.so_reuseport", 0)])
        self._bound = server.add_insecure_port(f"{self._host}:{self._port}")
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

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method: str = handler_call_details.method

        def behaviour(raw: bytes, context: grpc.ServicerContext) -> bytes:
            return self._serve(method, raw, context)

        # Bytes in and out: a request that does not decode is answered by us, not by grpcio.
        return grpc.unary_unary_rpc_method_handler(behaviour)

    def _serve(self, method: str, raw: bytes, context: grpc.ServicerContext) -> bytes:
        state = self._state()
        arrived = state.clock.now()
        headers = {key.lower(): value if isinstance(value, str) else value.hex()
                   for key, value in context.invocation_metadata()}
        rpc: str | None = None
        name: str | None = None
        body: dict[str, Any] | None = None
        failure: RpcError | None = None
        fault: Fault | None = None
        payload = b""
        try:
            service, _, short = method.lstrip("/").rpartition("/")
            starter = state.starts.by_grpc_method(method)
            if service == OPERATIONS_SERVICE and short in RPCS:
                rpc = short
                # A method the service lacks is UNIMPLEMENTED whatever the request holds.
                state.service.require(rpc)
                request = _decode(_REQUESTS[rpc], raw)
                body = _as_json(request)
                name = state.call_name(request.name)
                fault = _admit(state, rpc, name, headers)
                if fault is None or fault.effect.serves:
                    payload = self._call(state, rpc, request).SerializeToString()
            elif starter is not None:
                rpc = starter.rpc
                request = _decode(starter.request_type, raw)
                body = _as_json(request)
                if body is None:
                    raise RpcError.bad_request(f"the request is not a valid {request.DESCRIPTOR.full_name}: a value "
                                               "is out of range for its type", field="request")
                fault = _admit(state, rpc, None, headers)
                if fault is None or fault.effect.serves:
                    document = state.start(starter, StartRequest("grpc", rpc, body, headers=headers))
                    name = document["name"]
                    payload = _message(state, document, operations_pb2.Operation).SerializeToString()
            else:
                declared = "".join(f", {m}" for m in state.starts.grpc_methods())
                raise RpcError(
                    Code.UNIMPLEMENTED,
                    f"{method} is not served here; this emulator serves {OPERATIONS_SERVICE}/"
                    f"{{{','.join(RPCS)}}}{declared}; declare a method that starts operations with "
                    "emu.on_start(grpc=...)",
                    reason="METHOD_NOT_FOUND",
                )
        except Exception as error:  # no call may end in a traceback or a bare UNKNOWN
            failure = error if isinstance(error, RpcError) else _emulator_bug(state, error)
        if fault is not None:
            failure, payload = _spoil(state, fault, context, failure, payload)
        code = Code.OK if failure is None else failure.code
        call = Call(rpc=rpc, method="POST", path=method, name=name, status=code.http_status, code=code.name,
                    time=arrived, transport="grpc", headers=headers, body=body, fault=fault)
        # Logged before any hold, so that a test sees the call as soon as its client gives up.
        state.calls.record(call)
        if fault is not None:
            fault.fired.record(call)
            expired = failure is not None and failure.reason == _DEADLINE_PASSED
            if not expired:  # when the deadline passed, the clock has moved to it already
                _hold(state, fault, context)
        if failure is not None:
            context.abort_with_status(rpc_status.to_status(_status(state, failure)))
        return payload

    @staticmethod
    def _call(state: EmulatorState, rpc: str, request: Any) -> Message:
        service = state.service
        if rpc == "GetOperation":
            return _message(state, service.get_operation(request.name), operations_pb2.Operation)
        if rpc == "ListOperations":
            document = service.list_operations(
                request.name,
                filter_text=request.filter,
                page_size_requested=request.page_size,
                page_token=request.page_token,
                return_partial_success=request.return_partial_success,
            )
            return _message(state, document, operations_pb2.ListOperationsResponse)
        if rpc == "CancelOperation":
            service.cancel_operation(request.name)
            return empty_pb2.Empty()
        if rpc == "DeleteOperation":
            service.delete_operation(request.name)
            return empty_pb2.Empty()
        timeout = _timeout(request.timeout) if request.HasField("timeout") else None
        return _message(state, service.wait_operation(request.name, timeout), operations_pb2.Operation)


def _admit(state: EmulatorState, rpc: str, name: str | None, headers: dict[str, str]) -> Fault | None:
    """Check the caller's credentials (when required), then pick the fault that fires on this call, if any."""
    if state.auth is not None:
        state.auth.check(rpc, headers, {})
    return state.faults.select(rpc, name, "grpc", state.clock.now())


def _spoil(
    state: EmulatorState, fault: Fault, context: grpc.ServicerContext, failure: RpcError | None, payload: bytes
) -> tuple[RpcError | None, bytes]:
    """What a fault makes of a call's outcome on gRPC: ``(error to end the call with, or None; bytes to send)``.

    A call cannot drop its own connection here, so ``reset`` and ``disconnect`` end it UNAVAILABLE,
    which is how a gRPC client reports a lost connection.
    """
    effect = fault.effect
    if effect is Effect.ERROR:
        return fault.error, b""
    if effect is Effect.RESET:
        return RpcError(Code.UNAVAILABLE, "Connection reset by peer (injected by lro-emulator before the call was "
                        "served)", reason="INJECTED_FAULT"), b""
    if effect is Effect.DISCONNECT:
        return RpcError(Code.UNAVAILABLE, "Socket closed (injected by lro-emulator after the call was served)",
                        reason="INJECTED_FAULT"), b""
    if effect is Effect.DELAY:
        assert fault.delay is not None
        remaining = context.time_remaining()  # real seconds left of the client's deadline; grpcio keeps real time
        if state.pacing is None and remaining is not None and remaining < fault.delay.total_seconds():
            # The client gives up at its deadline, before the answer comes: what its own timer would report.
            state.pass_time(timedelta(seconds=remaining), gone=lambda: False)
            return RpcError(Code.DEADLINE_EXCEEDED, f"Deadline Exceeded (lro-emulator delayed the answer by "
                            f"{fault.delay.total_seconds():g}s; the call's deadline was {remaining:.3g}s away)",
                            reason=_DEADLINE_PASSED), b""
    if failure is not None:
        return failure, b""
    if effect is Effect.MALFORMED:
        return None, b"\x0f" + payload  # wire type 7 does not exist: no message decodes it
    if effect is Effect.TRUNCATE:
        return None, payload[:-1] if payload else b"\x08"  # the last field loses its last byte
    return None, payload


def _hold(state: EmulatorState, fault: Fault, context: grpc.ServicerContext) -> None:
    """Hold the answer as a delay or a hang says; grpcio ends the call itself if the client's deadline passes."""
    if fault.effect is Effect.DELAY:
        assert fault.delay is not None
        state.pass_time(fault.delay, gone=lambda: not context.is_active())
    elif fault.effect is Effect.HANG:
        ended = threading.Event()
        if context.add_callback(ended.set):  # called when the client cancels or its deadline passes
            ended.wait(fault.hang_limit)


def _decode(kind: Any, raw: bytes) -> Message:
    try:
        message: Message = kind.FromString(raw)
    except (DecodeError, ValueError) as error:
        name = kind.DESCRIPTOR.full_name
        raise RpcError.bad_request(f"the request is not a valid {name}: {error}", field="request") from None
    return message


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
        raise RpcError.bad_request(f"timeout is not a valid Duration (seconds={seconds}, nanos={nanos})",
                                   field="timeout")
    return timedelta(seconds=seconds, microseconds=nanos / 1000)


def _message(state: EmulatorState, document: dict[str, Any], kind: type[Message]) -> Message:
    """The protobuf message of a served JSON document; INTERNAL (and a test failure) if it cannot pack."""
    message = kind()
    try:
        json_format.ParseDict(document, message)
    except json_format.ParseError:
        operations = document.get("operations", [document]) if kind is not operations_pb2.Operation else [document]
        reasons = [f"{op.get('name')!r}: {problem}" for op in operations if (problem := pack_problem(op))]
        error = RuntimeError(f"cannot serve over gRPC: {'; '.join(reasons) or document}")
        state.problems.append(error)
        raise RpcError(Code.INTERNAL, str(error), reason="UNPACKABLE_PAYLOAD") from None
    return message


def _emulator_bug(state: EmulatorState, error: Exception) -> RpcError:
    state.problems.append(error)  # answered INTERNAL, and it fails the test
    return RpcError(Code.INTERNAL, f"the emulator failed on this call: {error!r}", reason="EMULATOR_BUG")


def _status(state: EmulatorState, error: RpcError) -> status_pb2.Status:
    """The google.rpc.Status of an error, its details packed as ``Any`` and its text clipped to fit a trailer.

    grpcio refuses trailing metadata over 8 KiB, and a message may echo a request's long filter or
    name. Details that cannot be packed (a test's own RpcError naming an unregistered type) are the
    test's bug: recorded, and the call is answered INTERNAL with no details.
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
    return status_pb2.Status(code=int(error.code), message=_clip(error.message), details=details)


def _clip(text: str, limit: int = _TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clipped(value: Any) -> Any:
    if isinstance(value, str):
        return _clip(value, _DETAIL_TEXT_LIMIT)
    if isinstance(value, dict):
        return {key: _clipped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_clipped(item) for item in value]
    return value
