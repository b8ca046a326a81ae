"""Contract: google-api-core's four real Operations clients, and Operation futures over them, against the emulator.

Each scenario is written once and runs with the REST and gRPC clients, sync and async
(``tests/clients.py``), over real loopback sockets to the session's servers. Time is virtual (the
fixture's default), so operations that take an hour of virtual time finish at once.
"""

from __future__ import annotations

import concurrent.futures
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from google.api_core import exceptions
from google.protobuf import empty_pb2, struct_pb2

from lro_emulator import Code, Emulator

from .clients import KINDS, REST_KINDS, SYNC_KINDS, OperationsClientUnderTest, open_client
from .helpers import WALL_GUARD_SECONDS, struct, wall

pytestmark = pytest.mark.asyncio

HOUR = 3600


def _clients_fixture(kinds: tuple[str, ...], doc: str) -> Any:
    @pytest_asyncio.fixture(params=kinds)
    async def fixture(
        request: pytest.FixtureRequest, lro_emulator: Emulator
    ) -> AsyncIterator[OperationsClientUnderTest]:
        client = await open_client(request.param, lro_emulator)
        yield client
        await client.close()

    fixture.__doc__ = doc
    return fixture


ops = _clients_fixture(KINDS, "Each of google-api-core's Operations clients in turn, pointed at the emulator.")
sync_ops = _clients_fixture(SYNC_KINDS, "The sync clients, for the sync futures' default polling.")
rest_ops = _clients_fixture(REST_KINDS, "The REST clients, the only ones with a page_size.")


# -- the four methods ---------------------------------------------------------------------------------


async def test_get_answers_the_scripted_state_as_time_passes(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    op = lro_emulator.add_operation(metadata=struct(state="PENDING"))
    op.update(at=30, metadata=struct(state="RUNNING"))

    first = await ops.get(op.name)
    lro_emulator.clock.advance(30)
    second = await ops.get(op.name)

    assert (first.name, first.done) == (op.name, False)
    metadata = struct_pb2.Struct()
    first.metadata.Unpack(metadata)
    assert metadata["state"] == "PENDING"
    second.metadata.Unpack(metadata)
    assert metadata["state"] == "RUNNING"
    assert [(call.rpc, call.transport) for call in lro_emulator.calls] == [("GetOperation", ops.transport)] * 2


async def test_list_pages_through_every_operation_once(lro_emulator: Emulator, ops: OperationsClientUnderTest) -> None:
    # api-core's gRPC clients send no page_size, so this uses the default page size, 50.
    names = [lro_emulator.add_operation(parent="projects/p/locations/l").name for _ in range(120)]
    lro_emulator.add_operation(parent="projects/p/locations/elsewhere")

    pages = await ops.pages("projects/p/locations/l")

    assert pages == [names[0:50], names[50:100], names[100:120]]
    assert lro_emulator.calls.filter(rpc="ListOperations").call_count == 3


async def test_list_pages_through_a_filter(lro_emulator: Emulator, ops: OperationsClientUnderTest) -> None:
    made = [lro_emulator.add_operation(parent="projects/p/locations/l") for _ in range(130)]
    for op in made[::2]:
        op.succeed()
    done = [op.name for op in made[::2]]

    pages = await ops.pages("projects/p/locations/l", "done=true")

    assert pages == [done[0:50], done[50:65]]


async def test_list_honours_the_page_size(lro_emulator: Emulator, rest_ops: OperationsClientUnderTest) -> None:
    names = [lro_emulator.add_operation(parent="projects/p/locations/l").name for _ in range(5)]

    pages = await rest_ops.pages("projects/p/locations/l", page_size=2)

    assert pages == [names[0:2], names[2:4], names[4:5]]


async def test_list_filters_on_done_error_and_metadata(lro_emulator: Emulator, ops: OperationsClientUnderTest) -> None:
    running = lro_emulator.add_operation(metadata=struct(state="RUNNING"))
    finished = lro_emulator.add_operation(metadata=struct(state="SUCCEEDED")).succeed()
    failed = lro_emulator.add_operation(metadata=struct(state="FAILED")).fail("NOT_FOUND", "gone")
    parent = lro_emulator.profile.default_parent

    assert await ops.names(parent, "done=true") == [finished.name, failed.name]
    assert await ops.names(parent, 'metadata.value.state="RUNNING"') == [running.name]
    assert await ops.names(parent, "error.code=NOT_FOUND OR -done:true") == [running.name, failed.name]


async def test_a_bad_filter_is_invalid_argument(lro_emulator: Emulator, ops: OperationsClientUnderTest) -> None:
    with pytest.raises(ops.expected_error(Code.INVALID_ARGUMENT), match=r"unknown field|not a field|allowed") as raised:
        await ops.names(lro_emulator.profile.default_parent, "colour=red")

    assert raised.value.reason == "INVALID_FILTER"
    assert raised.value.domain == "lro-emulator"


async def test_an_unknown_name_is_not_found_with_error_info(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    op = lro_emulator.add_operation(parent="projects/p/locations/l")

    with pytest.raises(exceptions.NotFound, match="did you mean") as raised:
        await ops.get(op.name + "x")

    assert (raised.value.reason, raised.value.domain) == ("OPERATION_NOT_FOUND", "lro-emulator")
    assert lro_emulator.calls.last.code == "NOT_FOUND"


async def test_cancel_makes_the_operation_done_with_cancelled(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    op = lro_emulator.add_operation()

    await ops.cancel(op.name)
    answer = await ops.get(op.name)

    assert answer.done
    assert (answer.error.code, answer.error.message) == (1, "The operation was cancelled.")


async def test_a_refused_cancel_raises_in_the_client(lro_emulator: Emulator, ops: OperationsClientUnderTest) -> None:
    op = lro_emulator.add_operation().on_cancel("refuse", code="FAILED_PRECONDITION", message="too late")

    # Over REST the class comes from the HTTP status alone (400: BadRequest); over gRPC from the code.
    with pytest.raises(ops.expected_error(Code.FAILED_PRECONDITION), match="too late") as raised:
        await ops.cancel(op.name)

    assert raised.value.reason == "CANCEL_REFUSED"
    assert not op.done


async def test_delete_forgets_the_operation_without_cancelling_it(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    op = lro_emulator.add_operation()

    await ops.delete(op.name)

    with pytest.raises(exceptions.NotFound, match="not found"):
        await ops.get(op.name)
    assert not op.done
    assert [t.kind for t in op.history] == ["created"]


@pytest.mark.lro_emulator(profile="cancel-get-list")
async def test_a_method_the_profile_lacks_is_not_implemented(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    op = lro_emulator.add_operation("projects/p/operations/op-1")

    with pytest.raises(exceptions.MethodNotImplemented, match="DeleteOperation is not offered"):
        await ops.delete(op.name)
    assert (await ops.get(op.name)).name == op.name


# -- futures on hour-long operations ---------------------------------------------------------------------


async def test_future_returns_the_response_of_an_hour_long_operation(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    op = lro_emulator.add_operation(metadata=struct(state="RUNNING"))
    op.succeed(struct(rows=1000), at=HOUR, metadata=struct(state="SUCCEEDED"))
    started = wall()

    future = await ops.future(op.name, struct_pb2.Struct, struct_pb2.Struct)
    # google-api-core's default polling gives up after 900 s, so an hour-long wait needs a longer timeout;
    # the backoff stays the default.
    result = await future.result(timeout=2 * HOUR)

    assert dict(result) == {"rows": 1000}
    assert dict(future.metadata) == {"state": "SUCCEEDED"}
    assert lro_emulator.clock.now() - op.created >= timedelta(seconds=HOUR)
    polls = lro_emulator.calls.filter(rpc="GetOperation", name=op.name)
    assert op.polls == polls.call_count > 50  # the backoff is capped well below an hour: many polls
    assert wall() - started < WALL_GUARD_SECONDS


@pytest.mark.parametrize(
    "code",
    [Code.NOT_FOUND, Code.RESOURCE_EXHAUSTED, Code.INVALID_ARGUMENT, Code.FAILED_PRECONDITION, Code.UNAVAILABLE,
     Code.PERMISSION_DENIED, Code.INTERNAL],
)
async def test_future_raises_the_error_of_an_hour_long_failed_operation(
    lro_emulator: Emulator, ops: OperationsClientUnderTest, code: Code
) -> None:
    op = lro_emulator.add_operation().fail(code, "it went wrong", at=HOUR)
    started = wall()
    future = await ops.future(op.name, struct_pb2.Struct)

    with pytest.raises(exceptions.GoogleAPICallError, match="it went wrong") as raised:
        await future.result(timeout=2 * HOUR)

    # Sync futures map the code to its class; async futures raise the base class with the Status in errors.
    assert type(raised.value) is ops.future_error(code)
    assert raised.value.errors[0].code == code
    assert lro_emulator.clock.now() - op.created >= timedelta(seconds=HOUR)
    assert wall() - started < WALL_GUARD_SECONDS


async def test_future_cancel_of_an_hour_long_operation_reports_cancelled(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    op = lro_emulator.add_operation().succeed(at=HOUR)
    future = await ops.future(op.name, struct_pb2.Struct)

    assert await future.cancel() is True
    assert await future.cancelled() is True
    with pytest.raises(exceptions.GoogleAPICallError) as raised:
        await future.result(timeout=2 * HOUR)
    assert type(raised.value) is ops.future_error(Code.CANCELLED)
    assert raised.value.errors[0].code == Code.CANCELLED
    assert [c.rpc for c in lro_emulator.calls][1:3] == ["GetOperation", "CancelOperation"]


async def test_a_delayed_cancel_finishes_cancelled_after_the_delay(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    op = lro_emulator.add_operation().succeed(at=HOUR).on_cancel(after=HOUR / 2)
    started = wall()
    future = await ops.future(op.name, struct_pb2.Struct)

    await future.cancel()
    with pytest.raises(exceptions.GoogleAPICallError) as raised:
        await future.result(timeout=2 * HOUR)

    assert raised.value.errors[0].code == Code.CANCELLED
    cancelled_at = next(t.time for t in op.history if t.kind == "cancel")
    assert cancelled_at - op.created == timedelta(seconds=HOUR / 2)
    assert wall() - started < WALL_GUARD_SECONDS


async def test_an_ignored_cancel_lets_the_operation_succeed(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    op = lro_emulator.add_operation().succeed(struct(ok=True), at=HOUR).on_cancel("ignore")
    future = await ops.future(op.name, struct_pb2.Struct)

    await future.cancel()

    assert dict(await future.result(timeout=2 * HOUR)) == {"ok": True}
    assert await future.cancelled() is False


async def test_an_empty_response_unpacks_as_empty(lro_emulator: Emulator, ops: OperationsClientUnderTest) -> None:
    op = lro_emulator.add_operation().succeed(after_polls=2)
    future = await ops.future(op.name, empty_pb2.Empty)

    assert await future.result(timeout=60) == empty_pb2.Empty()
    assert op.polls == 3  # the first get, then polls until the one after the second


async def test_poll_counts_and_instants_repeat_exactly(lro_emulator: Emulator, ops: OperationsClientUnderTest) -> None:
    # The fixture seeds the jitter once per test; here one test runs twice, so it seeds each run itself.
    async def run() -> list[timedelta]:
        lro_emulator.reset()
        if ops.transport == "grpc":
            lro_emulator.start_grpc()
        random.seed(1234)
        op = lro_emulator.add_operation().succeed(struct(), at=HOUR)
        await (await ops.future(op.name, struct_pb2.Struct)).result(timeout=2 * HOUR)
        return [c.time - op.created for c in lro_emulator.calls.filter(rpc="GetOperation")]

    first = await run()
    assert len(first) > 50
    assert await run() == first


async def test_sync_default_polling_times_out_an_hour_long_operation_at_900_virtual_seconds(
    lro_emulator: Emulator, sync_ops: OperationsClientUnderTest
) -> None:
    op = lro_emulator.add_operation().succeed(at=HOUR)
    future = await sync_ops.future(op.name, struct_pb2.Struct)

    # concurrent.futures.TimeoutError: the builtin TimeoutError from Python 3.11 on, a class of its own on 3.10.
    with pytest.raises(concurrent.futures.TimeoutError, match="900"):
        future.inner.result()

    elapsed = lro_emulator.clock.now() - op.created
    assert timedelta(seconds=880) <= elapsed <= timedelta(seconds=920)
    assert not op.done
