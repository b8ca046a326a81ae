"""Contract: google-api-core's real REST operations client and Operation futures against the emulator.

Everything here goes over a real loopback socket to the session's server; nothing of the client is
mocked. Time is virtual (the fixture's default), so hour-long operations finish at once.
"""

from __future__ import annotations

import concurrent.futures
import random
from datetime import timedelta
from typing import Any

import freezegun.api
import pytest
from google.api_core import exceptions, operation
from google.protobuf import empty_pb2, struct_pb2

from lro_emulator import Emulator

from .conftest import struct

HOUR = 3600
# A generous guard against real sleeping (ten times the one-second target); speed itself is benchmarked.
WALL_GUARD_SECONDS = 10.0


def wall() -> float:
    """Real time, even under frozen time: freezegun keeps the genuine function on its own module."""
    return float(freezegun.api.real_perf_counter())


def future_of(client: Any, name: str) -> operation.Operation:
    return operation.from_gapic(
        client.get_operation(name), client, struct_pb2.Struct, metadata_type=struct_pb2.Struct
    )


def test_get_answers_the_scripted_state_as_time_passes(lro_emulator: Emulator, rest_client: Any) -> None:
    op = lro_emulator.add_operation(metadata=struct(state="PENDING"))
    op.update(at=30, metadata=struct(state="RUNNING"))

    first = rest_client.get_operation(op.name)
    lro_emulator.clock.advance(30)
    second = rest_client.get_operation(op.name)

    assert (first.name, first.done) == (op.name, False)
    metadata = struct_pb2.Struct()
    first.metadata.Unpack(metadata)
    assert metadata["state"] == "PENDING"
    second.metadata.Unpack(metadata)
    assert metadata["state"] == "RUNNING"
    assert [call.rpc for call in lro_emulator.calls] == ["GetOperation", "GetOperation"]


def test_list_pages_through_every_operation_once(lro_emulator: Emulator, rest_client: Any) -> None:
    names = [lro_emulator.add_operation(parent="projects/p/locations/l").name for _ in range(5)]
    lro_emulator.add_operation(parent="projects/p/locations/elsewhere")

    pager = rest_client.list_operations("projects/p/locations/l", "", page_size=2)
    pages = [[op.name for op in page.operations] for page in pager.pages]

    assert pages == [names[0:2], names[2:4], names[4:5]]
    assert lro_emulator.calls.filter(rpc="ListOperations").call_count == 3


def test_list_filters_on_done_and_metadata(lro_emulator: Emulator, rest_client: Any) -> None:
    running = lro_emulator.add_operation(metadata=struct(state="RUNNING"))
    finished = lro_emulator.add_operation(metadata=struct(state="SUCCEEDED")).succeed()
    failed = lro_emulator.add_operation(metadata=struct(state="FAILED")).fail("NOT_FOUND", "gone")
    parent = lro_emulator.profile.default_parent

    def names(filter_: str) -> list[str]:
        return [op.name for op in rest_client.list_operations(parent, filter_)]

    assert names("done=true") == [finished.name, failed.name]
    assert names('metadata.value.state="RUNNING"') == [running.name]
    assert names("error.code=NOT_FOUND OR -done:true") == [running.name, failed.name]


def test_bad_filter_surfaces_as_bad_request(lro_emulator: Emulator, rest_client: Any) -> None:
    with pytest.raises(exceptions.BadRequest, match=r"unknown field|not a field|allowed"):
        list(rest_client.list_operations(lro_emulator.profile.default_parent, "colour=red"))


def test_cancel_makes_the_operation_done_with_cancelled(lro_emulator: Emulator, rest_client: Any) -> None:
    op = lro_emulator.add_operation()

    rest_client.cancel_operation(op.name)
    answer = rest_client.get_operation(op.name)

    assert answer.done
    assert (answer.error.code, answer.error.message) == (1, "The operation was cancelled.")


def test_delete_forgets_the_operation_without_cancelling_it(lro_emulator: Emulator, rest_client: Any) -> None:
    op = lro_emulator.add_operation()

    rest_client.delete_operation(op.name)

    with pytest.raises(exceptions.NotFound, match="not found"):
        rest_client.get_operation(op.name)
    assert not op.done
    assert [t.kind for t in op.history] == ["created"]


def test_future_returns_the_response_of_an_hour_long_operation(lro_emulator: Emulator, rest_client: Any) -> None:
    op = lro_emulator.add_operation(metadata=struct(state="RUNNING"))
    op.succeed(struct(rows=1000), at=HOUR, metadata=struct(state="SUCCEEDED"))
    started = wall()

    future = future_of(rest_client, op.name)
    # google-api-core's default polling gives up after 900 s, so an hour-long wait needs a longer timeout;
    # the backoff (1 s, x1.5, up to 20 s, full jitter) stays the default.
    result = future.result(timeout=2 * HOUR)

    assert dict(result) == {"rows": 1000}
    assert dict(future.metadata) == {"state": "SUCCEEDED"}
    assert lro_emulator.clock.now() - op.created >= timedelta(seconds=HOUR)
    polls = lro_emulator.calls.filter(rpc="GetOperation", name=op.name)
    assert op.polls == polls.call_count > 100  # backoff capped at 20 s with jitter: hundreds of polls
    assert wall() - started < WALL_GUARD_SECONDS


def test_default_polling_times_out_an_hour_long_operation_at_900_virtual_seconds(
    lro_emulator: Emulator, rest_client: Any
) -> None:
    op = lro_emulator.add_operation().succeed(at=HOUR)

    with pytest.raises(concurrent.futures.TimeoutError, match="900"):
        future_of(rest_client, op.name).result()

    elapsed = lro_emulator.clock.now() - op.created
    assert timedelta(seconds=880) <= elapsed <= timedelta(seconds=920)
    assert not op.done


@pytest.mark.parametrize(
    ("code", "exception"),
    [
        ("NOT_FOUND", exceptions.NotFound),
        ("RESOURCE_EXHAUSTED", exceptions.ResourceExhausted),
        ("INVALID_ARGUMENT", exceptions.InvalidArgument),
        ("FAILED_PRECONDITION", exceptions.FailedPrecondition),
        ("UNAVAILABLE", exceptions.ServiceUnavailable),
        ("PERMISSION_DENIED", exceptions.PermissionDenied),
        (13, exceptions.InternalServerError),
    ],
)
def test_future_raises_the_exception_matching_the_code(
    lro_emulator: Emulator, rest_client: Any, code: str | int, exception: type[Exception]
) -> None:
    op = lro_emulator.add_operation().fail(code, "it went wrong", at=HOUR)
    started = wall()

    with pytest.raises(exception, match="it went wrong") as raised:
        future_of(rest_client, op.name).result(timeout=2 * HOUR)

    assert type(raised.value) is exception
    assert wall() - started < WALL_GUARD_SECONDS


def test_future_cancel_reports_cancelled(lro_emulator: Emulator, rest_client: Any) -> None:
    op = lro_emulator.add_operation().succeed(at=HOUR)
    future = future_of(rest_client, op.name)

    assert future.cancel() is True
    assert future.cancelled() is True
    with pytest.raises(exceptions.Cancelled):
        future.result(timeout=2 * HOUR)
    assert [c.rpc for c in lro_emulator.calls][1:3] == ["GetOperation", "CancelOperation"]


def test_future_of_delayed_cancel_finishes_cancelled_after_the_delay(
    lro_emulator: Emulator, rest_client: Any
) -> None:
    op = lro_emulator.add_operation().succeed(at=HOUR).on_cancel(after=120)
    future = future_of(rest_client, op.name)

    future.cancel()
    with pytest.raises(exceptions.Cancelled):
        future.result(timeout=2 * HOUR)

    cancelled_at = next(t.time for t in op.history if t.kind == "cancel")
    assert cancelled_at - op.created == timedelta(seconds=120)


def test_an_ignored_cancel_lets_the_operation_succeed(lro_emulator: Emulator, rest_client: Any) -> None:
    op = lro_emulator.add_operation().succeed(struct(ok=True), at=HOUR).on_cancel("ignore")
    future = future_of(rest_client, op.name)

    future.cancel()

    assert dict(future.result(timeout=2 * HOUR)) == {"ok": True}
    assert future.cancelled() is False


def test_a_refused_cancel_raises_in_the_client(lro_emulator: Emulator, rest_client: Any) -> None:
    op = lro_emulator.add_operation().on_cancel("refuse", code="FAILED_PRECONDITION", message="too late")

    # Over REST the exception class comes from the HTTP status alone: FAILED_PRECONDITION is a 400.
    with pytest.raises(exceptions.BadRequest, match="too late") as raised:
        rest_client.cancel_operation(op.name)
    assert raised.value.response.json()["error"]["status"] == "FAILED_PRECONDITION"
    assert not op.done


def test_empty_response_unpacks_as_empty(lro_emulator: Emulator, rest_client: Any) -> None:
    op = lro_emulator.add_operation().succeed(after_polls=2)
    future = operation.from_gapic(rest_client.get_operation(op.name), rest_client, empty_pb2.Empty)

    assert future.result(timeout=60) == empty_pb2.Empty()
    assert op.polls == 3  # the first get, then polls until the one after the second


def test_poll_counts_and_instants_repeat_exactly(lro_emulator: Emulator, rest_client: Any) -> None:
    # The fixture seeds the jitter once per test; here one test runs twice, so it seeds each run itself.
    def run() -> list[timedelta]:
        lro_emulator.reset()
        random.seed(1234)
        op = lro_emulator.add_operation().succeed(struct(), at=HOUR)
        future_of(rest_client, op.name).result(timeout=2 * HOUR)
        return [c.time - op.created for c in lro_emulator.calls.filter(rpc="GetOperation")]

    first = run()
    assert len(first) > 100
    assert run() == first


@pytest.mark.lro_emulator(profile="cancel-get-list")
def test_a_method_the_profile_lacks_is_not_implemented(lro_emulator: Emulator, rest_client: Any) -> None:
    op = lro_emulator.add_operation("projects/p/operations/op-1")

    with pytest.raises(exceptions.MethodNotImplemented, match="DeleteOperation is not offered"):
        rest_client.delete_operation(op.name)
    assert rest_client.get_operation(op.name).name == op.name
