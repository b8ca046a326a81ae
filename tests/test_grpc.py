"""The gRPC transport: what only gRPC has, and what it must share with REST.

Calls go through the raw ``google.longrunning`` stub (and raw byte calls) over a real loopback
channel, and errors are read from the ``grpc-status-details-bin`` trailer as a client library would.
It proves that WaitOperation moves the virtual clock; that every failure is a gRPC status carrying a
``google.rpc.Status`` with an ErrorInfo (and a BadRequest where a field is at fault); that REST and
gRPC serve one store, one clock and one call log; that once gRPC serves, every scripted payload must
pack into registered protobuf messages (until the next reset), while message objects arrive as the
same messages; and that the server starts once, binds loopback and stops with the emulator.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import grpc
import pytest
import requests
from google.cloud.workflows_v1.types import Workflow
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import any_pb2, duration_pb2, empty_pb2, json_format, struct_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from lro_emulator import Emulator, ScriptError

from .helpers import STRUCT, Stub, struct

SERVICE = "/google.longrunning.Operations"
RPCS = ("GetOperation", "ListOperations", "CancelOperation", "DeleteOperation", "WaitOperation")
UNREGISTERED = {"@type": "type.googleapis.com/example.v1.Unknown", "state": "RUNNING"}
T = "type.googleapis.com/"


def failure(call: Callable[[], object]) -> Any:
    """The grpc.RpcError (also a grpc.Call: code, details, trailers) that ``call`` raises."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def status_of(error: Any) -> status_pb2.Status:
    status = rpc_status.from_call(error)
    assert status is not None, "no google.rpc.Status in the trailing metadata"
    return status


def detail(error: Any, kind: type[Message]) -> Any:
    """The one detail of type ``kind`` in the error's google.rpc.Status."""
    found = []
    for packed in status_of(error).details:
        if packed.Is(kind.DESCRIPTOR):
            message = kind()
            packed.Unpack(message)
            found.append(message)
    assert len(found) == 1, f"expected one {kind.DESCRIPTOR.full_name} among {status_of(error).details}"
    return found[0]


def unpacked(packed: any_pb2.Any, kind: type[Message]) -> Any:
    message = kind()
    assert packed.Unpack(message), f"{packed.type_url} is not a {kind.DESCRIPTOR.full_name}"
    return message


def struct_message(**fields: Any) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(fields)
    return message


def rest_get(emu: Emulator, name: str) -> requests.Response:
    return requests.get(f"{emu.url}/v1/{name}", timeout=10)


# -- WaitOperation ------------------------------------------------------------------------------------

WAITS = [
    pytest.param(duration_pb2.Duration(seconds=300), 100, True, 100, id="done-before-the-timeout"),
    pytest.param(None, 30, True, 30, id="done-within-the-default-timeout"),
    pytest.param(duration_pb2.Duration(seconds=10), 100, False, 10, id="not-done-at-the-timeout"),
    pytest.param(None, 100, False, 60, id="not-done-at-the-default-60s"),
    pytest.param(duration_pb2.Duration(seconds=1, nanos=500_000_000), 100, False, 1.5, id="fractional-timeout"),
    pytest.param(duration_pb2.Duration(), 100, False, 0, id="zero-timeout-answers-at-once"),
    pytest.param(duration_pb2.Duration(seconds=10 * 86400), None, False, 86400, id="capped-at-a-virtual-day"),
]


@pytest.mark.parametrize(("timeout", "succeeds_at", "done", "elapsed"), WAITS)
def test_wait_moves_the_virtual_clock_to_completion_or_the_timeout(
    lro_emulator: Emulator, stub: Stub, timeout: duration_pb2.Duration | None, succeeds_at: int | None,
    done: bool, elapsed: float,
) -> None:
    op = lro_emulator.add_operation(metadata=struct(state="RUNNING"))
    if succeeds_at is not None:
        op.succeed(struct_message(rows=3), at=succeeds_at)
    request = operations_pb2.WaitOperationRequest(name=op.name)
    if timeout is not None:
        request.timeout.CopyFrom(timeout)

    answer = stub.WaitOperation(request)

    assert (answer.name, answer.done) == (op.name, done)
    assert lro_emulator.clock.now() - op.created == timedelta(seconds=elapsed)
    if done:
        assert unpacked(answer.response, struct_pb2.Struct) == struct_message(rows=3)
    else:
        assert answer.WhichOneof("result") is None
        assert unpacked(answer.metadata, struct_pb2.Struct) == struct_message(state="RUNNING")
    assert op.polls == 1


# -- errors as gRPC status ----------------------------------------------------------------------------

PARENT = "projects/test-project/locations/global"


def _wait(timeout: duration_pb2.Duration) -> Callable[[Stub, str], object]:
    return lambda stub, name: stub.WaitOperation(operations_pb2.WaitOperationRequest(name=name, timeout=timeout))


ERRORS = [
    pytest.param(
        lambda stub, name: stub.GetOperation(operations_pb2.GetOperationRequest(name=f"{PARENT}/operations/missing")),
        grpc.StatusCode.NOT_FOUND, "OPERATION_NOT_FOUND", None, id="get-of-an-unknown-name",
    ),
    pytest.param(
        lambda stub, name: stub.CancelOperation(operations_pb2.CancelOperationRequest(name=f"{PARENT}/operations/no")),
        grpc.StatusCode.NOT_FOUND, "OPERATION_NOT_FOUND", None, id="cancel-of-an-unknown-name",
    ),
    pytest.param(
        lambda stub, name: stub.ListOperations(operations_pb2.ListOperationsRequest(name=PARENT, filter="done=")),
        grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FILTER", "filter", id="list-with-a-bad-filter",
    ),
    pytest.param(
        lambda stub, name: stub.CancelOperation(operations_pb2.CancelOperationRequest(name=name)),
        grpc.StatusCode.FAILED_PRECONDITION, "CANCEL_REFUSED", None, id="refused-cancel",
    ),
    pytest.param(_wait(duration_pb2.Duration(seconds=-1)), grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT",
                 "timeout", id="wait-with-a-negative-timeout"),
    pytest.param(_wait(duration_pb2.Duration(seconds=1, nanos=1_000_000_000)), grpc.StatusCode.INVALID_ARGUMENT,
                 "INVALID_ARGUMENT", "timeout", id="wait-with-nanos-out-of-range"),
    pytest.param(_wait(duration_pb2.Duration(seconds=1, nanos=-1)), grpc.StatusCode.INVALID_ARGUMENT,
                 "INVALID_ARGUMENT", "timeout", id="wait-with-mixed-signs"),
]


@pytest.mark.parametrize(("call", "code", "reason", "field"), ERRORS)
def test_errors_are_grpc_status_with_error_info_in_the_trailer(
    lro_emulator: Emulator, stub: Stub, call: Callable[[Stub, str], object], code: grpc.StatusCode, reason: str,
    field: str | None,
) -> None:
    op = lro_emulator.add_operation().on_cancel("refuse", code="FAILED_PRECONDITION")
    before = op.snapshot()

    error = failure(lambda: call(stub, op.name))

    assert error.code() is code
    status = status_of(error)
    assert (status.code, status.message) == (code.value[0], error.details())
    info = detail(error, error_details_pb2.ErrorInfo)
    assert (info.domain, info.reason) == ("lro-emulator", reason)
    if field is None:
        assert not any(packed.Is(error_details_pb2.BadRequest.DESCRIPTOR) for packed in status.details)
    else:
        violations = detail(error, error_details_pb2.BadRequest).field_violations
        assert [violation.field for violation in violations] == [field]
    assert (lro_emulator.calls.last.transport, lro_emulator.calls.last.code) == ("grpc", code.name)
    assert op.snapshot() == before
    assert lro_emulator.clock.now() == op.created


def test_not_found_names_the_operation_in_error_info_metadata(lro_emulator: Emulator, stub: Stub) -> None:
    name = f"{PARENT}/operations/op-1x"
    lro_emulator.add_operation()

    error = failure(lambda: stub.GetOperation(operations_pb2.GetOperationRequest(name=name)))

    assert error.code() is grpc.StatusCode.NOT_FOUND
    assert detail(error, error_details_pb2.ErrorInfo).metadata["name"] == name
    assert f"did you mean '{PARENT}/operations/op-1'?" in error.details()


@pytest.mark.lro_emulator(profile="cancel-get-list")
@pytest.mark.parametrize(("rpc", "request_message", "http_method", "suffix"), [
    pytest.param("DeleteOperation", operations_pb2.DeleteOperationRequest, "DELETE", "", id="delete"),
    pytest.param("WaitOperation", operations_pb2.WaitOperationRequest, "POST", ":wait", id="wait"),
])
def test_both_transports_honour_the_profile(
    lro_emulator: Emulator, stub: Stub, rpc: str, request_message: type[Message], http_method: str, suffix: str,
) -> None:
    op = lro_emulator.add_operation("projects/p/operations/export-1")

    error = failure(lambda: getattr(stub, rpc)(request_message(name=op.name)))
    over_rest = requests.request(http_method, f"{lro_emulator.url}/v1/{op.name}{suffix}", timeout=10)

    assert error.code() is grpc.StatusCode.UNIMPLEMENTED
    assert detail(error, error_details_pb2.ErrorInfo).reason == "METHOD_NOT_OFFERED"
    assert "cancel-get-list" in error.details()
    assert (over_rest.status_code, over_rest.json()["error"]["status"]) == (501, "UNIMPLEMENTED")
    assert [(call.transport, call.rpc, call.code) for call in lro_emulator.calls] == [
        ("grpc", rpc, "UNIMPLEMENTED"), ("http", rpc, "UNIMPLEMENTED"),
    ]
    assert rest_get(lro_emulator, op.name).status_code == 200


@pytest.mark.lro_emulator(profile="cancel-get-list")
@pytest.mark.parametrize("rpc", ["DeleteOperation", "WaitOperation"])
def test_a_method_the_profile_lacks_is_unimplemented_whatever_the_request_holds(
    lro_emulator: Emulator, grpc_channel: grpc.Channel, rpc: str
) -> None:
    error = failure(lambda: grpc_channel.unary_unary(f"{SERVICE}/{rpc}")(b"\xff\xff"))

    assert error.code() is grpc.StatusCode.UNIMPLEMENTED
    assert lro_emulator.problems == []


@pytest.mark.parametrize("rpc", RPCS)
def test_bytes_that_are_not_the_request_message_are_invalid_argument(
    lro_emulator: Emulator, grpc_channel: grpc.Channel, rpc: str
) -> None:
    error = failure(lambda: grpc_channel.unary_unary(f"{SERVICE}/{rpc}")(b"\xff\xff"))

    assert error.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert f"google.longrunning.{rpc}Request" in error.details()
    assert [v.field for v in detail(error, error_details_pb2.BadRequest).field_violations] == ["request"]
    assert detail(error, error_details_pb2.ErrorInfo).domain == "lro-emulator"
    call = lro_emulator.calls.last
    assert (call.transport, call.rpc, call.code, call.status) == ("grpc", rpc, "INVALID_ARGUMENT", 400)


@pytest.mark.parametrize("path", [f"{SERVICE}/Nope", "/some.Other/Method"])
def test_an_unknown_method_is_unimplemented_and_says_what_is_served(
    lro_emulator: Emulator, grpc_channel: grpc.Channel, path: str
) -> None:
    error = failure(lambda: grpc_channel.unary_unary(path)(b""))

    assert error.code() is grpc.StatusCode.UNIMPLEMENTED
    assert path in error.details()
    assert "google.longrunning.Operations" in error.details()
    assert all(rpc in error.details() for rpc in RPCS)
    assert "on_start(grpc=" in error.details()
    assert detail(error, error_details_pb2.ErrorInfo).reason == "METHOD_NOT_FOUND"
    call = lro_emulator.calls.last
    assert (call.transport, call.path, call.rpc, call.code, call.status) == ("grpc", path, None, "UNIMPLEMENTED", 501)


def test_non_ascii_survives_in_the_status_details(lro_emulator: Emulator, stub: Stub) -> None:
    name = "projects/café/locations/global/operations/résumé-✓"
    refusal = "Opération refusée — déjà en cours ✓"
    op = lro_emulator.add_operation().on_cancel("refuse", code="FAILED_PRECONDITION", message=refusal)

    missing = failure(lambda: stub.GetOperation(operations_pb2.GetOperationRequest(name=name)))
    refused = failure(lambda: stub.CancelOperation(operations_pb2.CancelOperationRequest(name=op.name)))

    assert name in missing.details()
    assert status_of(missing).message == missing.details()
    assert detail(missing, error_details_pb2.ErrorInfo).metadata["name"] == name
    assert lro_emulator.calls[0].name == name
    assert refused.details() == refusal
    assert status_of(refused).message == refusal


# -- one store, one clock, one call log -----------------------------------------------------------------

def test_an_operation_started_and_waited_over_rest_is_seen_over_grpc(lro_emulator: Emulator, stub: Stub) -> None:
    lro_emulator.on_start(http="POST /v1/{parent=projects/*/locations/*}/jobs",
                          script=lambda op, request: op.succeed(struct_message(rows=7), at=90))

    started = requests.post(f"{lro_emulator.url}/v1/projects/p/locations/l/jobs", json={}, timeout=10).json()
    waited = requests.post(f"{lro_emulator.url}/v1/{started['name']}:wait", json={"timeout": "120s"}, timeout=10)
    seen = stub.GetOperation(operations_pb2.GetOperationRequest(name=started["name"]))

    assert started == {"name": "projects/p/locations/l/operations/op-1"}
    assert waited.json()["done"] is True
    assert (seen.name, seen.done) == (started["name"], True)
    assert unpacked(seen.response, struct_pb2.Struct) == struct_message(rows=7)
    began = lro_emulator.calls[0].time
    assert [(c.transport, c.rpc, (c.time - began).total_seconds()) for c in lro_emulator.calls] == [
        ("http", "POST /v1/{parent=projects/*/locations/*}/jobs", 0), ("http", "WaitOperation", 0),
        ("grpc", "GetOperation", 90),
    ]


def test_grpc_wait_cancel_and_delete_are_seen_over_rest(lro_emulator: Emulator, stub: Stub) -> None:
    waited = lro_emulator.add_operation().succeed(struct(rows=1), at=45)
    cancelled = lro_emulator.add_operation(metadata=struct(state="RUNNING"))
    deleted = lro_emulator.add_operation().succeed()

    stub.WaitOperation(operations_pb2.WaitOperationRequest(name=waited.name))
    stub.CancelOperation(operations_pb2.CancelOperationRequest(name=cancelled.name))
    stub.DeleteOperation(operations_pb2.DeleteOperationRequest(name=deleted.name))

    assert rest_get(lro_emulator, waited.name).json() == {
        "name": waited.name, "done": True, "response": struct(rows=1)
    }
    assert rest_get(lro_emulator, cancelled.name).json()["error"]["code"] == 1
    gone = rest_get(lro_emulator, deleted.name)
    assert (gone.status_code, gone.json()["error"]["status"]) == (404, "NOT_FOUND")
    assert lro_emulator.clock.now() - waited.created == timedelta(seconds=45)
    assert lro_emulator.calls[-1].time == lro_emulator.clock.now()


def test_rest_cancel_and_delete_are_seen_over_grpc(lro_emulator: Emulator, stub: Stub) -> None:
    cancelled = lro_emulator.add_operation()
    deleted = lro_emulator.add_operation()

    requests.post(f"{lro_emulator.url}/v1/{cancelled.name}:cancel", timeout=10).raise_for_status()
    requests.delete(f"{lro_emulator.url}/v1/{deleted.name}", timeout=10).raise_for_status()
    seen = stub.GetOperation(operations_pb2.GetOperationRequest(name=cancelled.name))
    error = failure(lambda: stub.GetOperation(operations_pb2.GetOperationRequest(name=deleted.name)))

    assert (seen.done, seen.error.code) == (True, 1)
    assert error.code() is grpc.StatusCode.NOT_FOUND
    assert [o.name for o in lro_emulator.operations] == [cancelled.name]


def test_polls_read_once_are_logged_each_as_their_own(lro_emulator: Emulator, stub: Stub) -> None:
    # The same request bytes and metadata are read once and remembered; each call's log entry is still its own.
    op = lro_emulator.add_operation()
    metadata = [("x-goog-request-params", f"name={op.name}")]
    for _ in range(2):
        stub.GetOperation(operations_pb2.GetOperationRequest(name=op.name), metadata=metadata)
    first, second = lro_emulator.calls
    first.headers["x-goog-request-params"] = "changed by the test"  # type: ignore[index]
    first.body["name"] = "changed by the test"
    stub.GetOperation(operations_pb2.GetOperationRequest(name=op.name), metadata=metadata)

    third = lro_emulator.calls[2]
    for call in (second, third):
        assert call.headers["x-goog-request-params"] == f"name={op.name}"
        assert call.body == {"name": op.name}
    assert op.polls == 3


def test_the_call_log_records_grpc_calls(lro_emulator: Emulator, stub: Stub) -> None:
    op = lro_emulator.add_operation().succeed(at=20)
    lro_emulator.clock.advance(5)

    stub.GetOperation(operations_pb2.GetOperationRequest(name=op.name),
                      metadata=[("x-goog-request-params", f"name={op.name}"), ("x-trace-bin", b"\x01\xfe")])
    stub.WaitOperation(operations_pb2.WaitOperationRequest(name=op.name, timeout=duration_pb2.Duration(seconds=30)))
    failure(lambda: stub.DeleteOperation(operations_pb2.DeleteOperationRequest(name=f"{op.name}-gone")))

    get, wait, delete = lro_emulator.calls
    assert (get.transport, get.path, get.rpc, get.name, get.status, get.code) == (
        "grpc", f"{SERVICE}/GetOperation", "GetOperation", op.name, 200, "OK"
    )
    assert get.body == {"name": op.name}
    assert get.headers["x-goog-request-params"] == f"name={op.name}"
    assert get.headers["x-trace-bin"] == "01fe"
    assert get.headers["user-agent"].startswith("grpc-python/")
    assert all(key == key.lower() for key in get.headers)
    assert get.time - op.created == timedelta(seconds=5)
    assert (wait.path, wait.rpc, wait.code, wait.body) == (
        f"{SERVICE}/WaitOperation", "WaitOperation", "OK", {"name": op.name, "timeout": "30s"}
    )
    assert (delete.rpc, delete.name, delete.status, delete.code, delete.body) == (
        "DeleteOperation", f"{op.name}-gone", 404, "NOT_FOUND", {"name": f"{op.name}-gone"}
    )
    assert delete.time - op.created == timedelta(seconds=20)
    assert lro_emulator.calls.filter(rpc="GetOperation").call_count == 1


# -- payloads must pack into registered messages once gRPC serves --------------------------------------

def _grpc_by_target(emu: Emulator) -> None:
    assert emu.grpc_target


GRPC_STARTS = [
    pytest.param(_grpc_by_target, id="grpc_target"),
    pytest.param(lambda emu: None, id="marker", marks=pytest.mark.lro_emulator(grpc=True)),
]

UNPACKABLE_LINES = [
    pytest.param(lambda emu, op: op.succeed(UNREGISTERED), id="succeed"),
    pytest.param(lambda emu, op: op.update(metadata=UNREGISTERED, at=10), id="update"),
    pytest.param(lambda emu, op: op.fail("ABORTED", "x", details=[UNREGISTERED]), id="fail-details"),
    pytest.param(lambda emu, op: op.succeed(metadata=UNREGISTERED), id="succeed-metadata"),
    pytest.param(lambda emu, op: op.on_cancel(metadata=UNREGISTERED), id="on_cancel-metadata"),
    pytest.param(lambda emu, op: emu.add_operation(metadata=UNREGISTERED), id="add_operation"),
]


@pytest.mark.parametrize("start", GRPC_STARTS)
@pytest.mark.parametrize("line", UNPACKABLE_LINES)
def test_an_unregistered_type_is_refused_at_the_scripting_line(
    lro_emulator: Emulator, start: Callable[[Emulator], None], line: Callable[[Emulator, Any], object]
) -> None:
    start(lro_emulator)
    op = lro_emulator.add_operation(metadata=struct(state="RUNNING"))
    before = [o.snapshot() for o in lro_emulator.operations]

    with pytest.raises(ScriptError) as raised:
        line(lro_emulator, op)

    message = str(raised.value)
    assert "type.googleapis.com/example.v1.Unknown" in message
    assert "not a message type this process has registered" in message
    assert "import the module that defines it" in message
    assert [o.snapshot() for o in lro_emulator.operations] == before
    with grpc.insecure_channel(lro_emulator.grpc_target) as channel:
        cancelled = operations_pb2_grpc.OperationsStub(channel).CancelOperation(
            operations_pb2.CancelOperationRequest(name=op.name))
    assert cancelled == empty_pb2.Empty()
    assert lro_emulator.problems == []


def test_a_registered_type_with_an_unknown_field_is_refused(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation(metadata=struct(state="RUNNING"))
    assert lro_emulator.grpc_target

    with pytest.raises(ScriptError, match="nope") as raised:
        op.succeed({"@type": T + "google.rpc.ErrorInfo", "reason": "R", "nope": 1})

    assert "ErrorInfo" in str(raised.value)
    assert "done" not in op.snapshot()


PACKED_EARLIER = [
    pytest.param(lambda emu: emu.add_operation(metadata=UNREGISTERED), id="metadata-now"),
    pytest.param(lambda emu: emu.add_operation().succeed(UNREGISTERED, at=3600), id="a-step-due-later"),
    pytest.param(lambda emu: emu.add_operation().update(metadata=UNREGISTERED, after_polls=2), id="after-polls-step"),
    pytest.param(lambda emu: emu.add_operation().on_cancel(metadata=UNREGISTERED), id="cancel-metadata"),
]


@pytest.mark.parametrize("script", PACKED_EARLIER)
def test_an_unregistered_type_scripted_before_grpc_makes_grpc_target_raise(
    lro_emulator: Emulator, script: Callable[[Emulator], Any]
) -> None:
    op = script(lro_emulator)

    with pytest.raises(ScriptError) as raised:
        _ = lro_emulator.grpc_target

    assert op.name in str(raised.value)
    assert "type.googleapis.com/example.v1.Unknown" in str(raised.value)
    assert "import the module that defines it" in str(raised.value)


def test_reset_lifts_the_requirement_for_rest_only_use(lro_emulator: Emulator) -> None:
    target = lro_emulator.grpc_target
    with pytest.raises(ScriptError):
        lro_emulator.add_operation().succeed(UNREGISTERED)

    lro_emulator.reset()
    op = lro_emulator.add_operation(metadata=UNREGISTERED).succeed(UNREGISTERED)

    assert rest_get(lro_emulator, op.name).json() == {
        "name": op.name, "metadata": UNREGISTERED, "done": True, "response": UNREGISTERED
    }
    with pytest.raises(ScriptError, match=re.escape(op.name)):
        assert lro_emulator.grpc_target == target


WORKFLOW = Workflow(name="projects/p/locations/l/workflows/w", description="nightly", revision_id="000001-a1b")

MESSAGES = [
    pytest.param(
        lambda emu: emu.add_operation(metadata=struct_message(state="RUNNING", progress=0.5)),
        lambda operation: operation.metadata, struct_pb2.Struct, struct_message(state="RUNNING", progress=0.5),
        lambda document: document["metadata"],
        {"@type": STRUCT, "value": {"state": "RUNNING", "progress": 0.5}},
        id="protobuf-metadata-at-creation",
    ),
    pytest.param(
        lambda emu: emu.add_operation().update(metadata=duration_pb2.Duration(seconds=3, nanos=500_000_000)),
        lambda operation: operation.metadata, duration_pb2.Duration, duration_pb2.Duration(seconds=3, nanos=5 * 10**8),
        lambda document: document["metadata"],
        {"@type": T + "google.protobuf.Duration", "value": "3.500s"},
        id="protobuf-metadata-by-update",
    ),
    pytest.param(
        lambda emu: emu.add_operation().succeed(WORKFLOW),
        lambda operation: operation.response, Workflow.pb(), Workflow.pb(WORKFLOW),
        lambda document: document["response"],
        {"@type": T + "google.cloud.workflows.v1.Workflow", "name": WORKFLOW.name, "description": "nightly",
         "revisionId": "000001-a1b"},
        id="proto-plus-response",
    ),
    pytest.param(
        lambda emu: emu.add_operation().succeed(metadata=Workflow(name="w")),
        lambda operation: operation.metadata, Workflow.pb(), Workflow.pb(Workflow(name="w")),
        lambda document: document["metadata"],
        {"@type": T + "google.cloud.workflows.v1.Workflow", "name": "w"},
        id="proto-plus-metadata-with-succeed",
    ),
    pytest.param(
        lambda emu: emu.add_operation().fail("FAILED_PRECONDITION", "quota", details=[
            error_details_pb2.ErrorInfo(reason="QUOTA", domain="example.com", metadata={"zone": "z"})]),
        lambda operation: operation.error.details[0], error_details_pb2.ErrorInfo,
        error_details_pb2.ErrorInfo(reason="QUOTA", domain="example.com", metadata={"zone": "z"}),
        lambda document: document["error"]["details"][0],
        {"@type": T + "google.rpc.ErrorInfo", "reason": "QUOTA", "domain": "example.com", "metadata": {"zone": "z"}},
        id="protobuf-error-detail",
    ),
    pytest.param(
        lambda emu: emu.add_operation().succeed(),
        lambda operation: operation.response, empty_pb2.Empty, empty_pb2.Empty(),
        lambda document: document["response"],
        {"@type": T + "google.protobuf.Empty"},
        id="default-empty-response",
    ),
]


@pytest.mark.parametrize(("script", "field", "kind", "expected", "pointer", "expected_json"), MESSAGES)
def test_message_payloads_arrive_as_the_same_messages_over_grpc_and_as_json_over_rest(
    lro_emulator: Emulator, stub: Stub, script: Callable[[Emulator], Any], field: Callable[[Any], any_pb2.Any],
    kind: type[Message], expected: Message, pointer: Callable[[dict[str, Any]], Any], expected_json: dict[str, Any],
) -> None:
    op = script(lro_emulator)

    over_grpc = stub.GetOperation(operations_pb2.GetOperationRequest(name=op.name))
    over_rest = rest_get(lro_emulator, op.name).json()

    assert field(over_grpc).type_url == expected_json["@type"]
    assert unpacked(field(over_grpc), kind) == expected
    assert pointer(over_rest) == expected_json


def test_update_with_a_message_of_another_type_serves_that_message(lro_emulator: Emulator, stub: Stub) -> None:
    op = lro_emulator.add_operation(metadata=struct_message(state="RUNNING"))
    info = error_details_pb2.ErrorInfo(reason="R", domain="example.com")

    op.update(metadata=info)
    over_grpc = stub.GetOperation(operations_pb2.GetOperationRequest(name=op.name))

    assert unpacked(over_grpc.metadata, error_details_pb2.ErrorInfo) == info


# -- answers built once per served state ------------------------------------------------------------------


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the Operations the gRPC server converts from JSON to protobuf, one entry per conversion.

    Only conversions on other threads than the test's count: scripting checks that payloads pack on the test's own.
    """
    converted: list[str] = []
    parse = json_format.ParseDict
    test_thread = threading.get_ident()

    def counting(document: Any, message: Message, *args: Any, **kwargs: Any) -> Message:
        if isinstance(message, operations_pb2.Operation) and threading.get_ident() != test_thread:
            converted.append(document.get("name"))
        return parse(document, message, *args, **kwargs)

    monkeypatch.setattr(json_format, "ParseDict", counting)
    return converted


def test_an_operation_served_again_unchanged_is_converted_once_and_again_once_changed(
    lro_emulator: Emulator, stub: Stub, conversions: list[str]
) -> None:
    op = lro_emulator.add_operation(metadata=struct(state="RUNNING")).succeed(struct(state="DONE"), at=10)
    request = operations_pb2.GetOperationRequest(name=op.name)

    first, again = stub.GetOperation(request), stub.GetOperation(request)
    waited = stub.WaitOperation(operations_pb2.WaitOperationRequest(name=op.name, timeout=duration_pb2.Duration()))

    assert first == again == waited
    assert not first.done
    assert conversions == [op.name]
    assert op.polls == 3  # each call is still served: only the conversion is remembered

    lro_emulator.clock.advance(10)
    done = stub.GetOperation(request)
    assert done.done
    assert unpacked(done.response, struct_pb2.Struct) == struct_message(state="DONE")
    assert conversions == [op.name, op.name]
    assert stub.GetOperation(request) == done
    assert conversions == [op.name, op.name]

    lro_emulator.reset()  # the remembered answers are the state's
    again_op = lro_emulator.add_operation(op.name, metadata=struct(state="AGAIN"))
    assert unpacked(stub.GetOperation(request).metadata, struct_pb2.Struct) == struct_message(state="AGAIN")
    assert conversions == [op.name, op.name, again_op.name]


def test_a_huge_operation_is_converted_each_time_it_is_served(
    lro_emulator: Emulator, stub: Stub, conversions: list[str]
) -> None:
    op = lro_emulator.add_operation(metadata=struct(blob="x" * 70_000))
    request = operations_pb2.GetOperationRequest(name=op.name)

    assert stub.GetOperation(request) == stub.GetOperation(request)
    assert conversions == [op.name, op.name]


def test_faults_spoil_one_answer_and_leave_the_remembered_one_whole(
    lro_emulator: Emulator, grpc_channel: grpc.Channel, conversions: list[str]
) -> None:
    op = lro_emulator.add_operation(metadata=struct(state="RUNNING"))
    get = grpc_channel.unary_unary(f"{SERVICE}/GetOperation")
    request = operations_pb2.GetOperationRequest(name=op.name).SerializeToString()
    whole = get(request)

    lro_emulator.fault(rpc="GetOperation", nth=1).truncate()
    assert get(request) == whole[:-1]
    lro_emulator.fault(rpc="GetOperation", nth=1).malformed()
    assert get(request) == b"\x0f" + whole
    assert get(request) == whole
    assert operations_pb2.Operation.FromString(whole).name == op.name
    assert conversions == [op.name]


def test_each_logged_call_keeps_its_own_request_body(lro_emulator: Emulator, stub: Stub) -> None:
    op = lro_emulator.add_operation()
    request = operations_pb2.GetOperationRequest(name=op.name)
    stub.GetOperation(request)
    stub.GetOperation(request)

    first, second = lro_emulator.calls
    assert first.body == second.body == {"name": op.name}
    first.body["name"] = "changed by the test"
    stub.GetOperation(request)
    assert second.body == lro_emulator.calls.last.body == {"name": op.name}


# -- lifecycle --------------------------------------------------------------------------------------------

def test_start_grpc_is_idempotent_and_binds_loopback_only(lro_emulator: Emulator) -> None:
    target = lro_emulator.start_grpc()
    host, _, port = target.rpartition(":")

    assert lro_emulator.start_grpc() == target
    assert lro_emulator.grpc_target == target
    assert host == "127.0.0.1"
    with socket.create_connection((host, int(port)), timeout=5):
        pass
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.2", int(port)), timeout=5):
        pass


def test_stop_stops_grpc() -> None:
    with Emulator() as emu:
        target = emu.grpc_target
        op = emu.add_operation()
        with grpc.insecure_channel(target) as channel:
            answer = operations_pb2_grpc.OperationsStub(channel).GetOperation(
                operations_pb2.GetOperationRequest(name=op.name), timeout=10)
        assert answer.name == op.name

    with grpc.insecure_channel(target) as channel:
        error = failure(lambda: operations_pb2_grpc.OperationsStub(channel).GetOperation(
            operations_pb2.GetOperationRequest(name=op.name), timeout=10))
    assert error.code() is grpc.StatusCode.UNAVAILABLE
    emu.stop()


def test_a_rest_only_test_after_grpc_tests_still_accepts_unregistered_types(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation(metadata=UNREGISTERED).update(metadata={"state": "DONE"}, at=5)
    op.succeed(UNREGISTERED, at=5)
    lro_emulator.clock.advance(5)

    assert rest_get(lro_emulator, op.name).json() == {
        "name": op.name, "metadata": {**UNREGISTERED, "state": "DONE"}, "done": True, "response": UNREGISTERED
    }


@pytest.mark.parametrize(
    "request_of",
    [
        pytest.param(lambda: operations_pb2.ListOperationsRequest(name="projects/p", filter="x" * 4000 + "="),
                     id="longest-filter"),
        pytest.param(lambda: operations_pb2.GetOperationRequest(name="projects/p/operations/" + "n" * 4000),
                     id="very-long-name"),
    ],
)
def test_an_error_echoing_a_long_request_still_fits_its_trailer(
    lro_emulator: Emulator, stub: Stub, request_of: Callable[[], Message]
) -> None:
    lro_emulator.add_operation("projects/p/operations/" + "n" * 3999)  # a near miss the message would also name
    request = request_of()
    method = stub.ListOperations if isinstance(request, operations_pb2.ListOperationsRequest) else stub.GetOperation

    error = failure(lambda: method(request, timeout=10))

    assert error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)
    status = status_of(error)
    assert status.code == error.code().value[0]
    assert len(status.message) <= 1000
    assert detail(error, error_details_pb2.ErrorInfo).domain == "lro-emulator"


@pytest.mark.parametrize(("field", "value"), [("port", -1), ("grpc_port", 70000), ("grpc_port", True)])
def test_a_port_out_of_range_is_refused_when_the_emulator_is_made(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"{field} must be a TCP port number"):
        Emulator(**{field: value})
