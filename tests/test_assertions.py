"""The polling assertions on the call log, as a test of a real client uses them.

``emu.calls`` (a `CallList`) and ``op.calls`` (an `OperationCalls`) pass when the calls were made
as expected and fail otherwise with an `AssertionError` that says what was expected, what
happened, and lists the calls (relative time, RPC, transport, answer, fault). The calls come from
google-api-core's real REST and gRPC Operations clients over loopback, or from plain requests
where a test needs an exact sequence at exact virtual instants (``time.sleep`` moves the clock
under the fixture).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import google.oauth2.credentials
import grpc
import pytest
import requests
from google.api_core import exceptions, operation, operations_v1
from google.api_core.operations_v1 import AbstractOperationsClient
from google.api_core.operations_v1.transports.rest import OperationsRestTransport
from google.auth.credentials import AnonymousCredentials, Credentials
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import duration_pb2, struct_pb2

from lro_emulator import CallList, Emulator, OperationCalls, OperationHandle

from .helpers import get_status, struct

FAULT_2ND_GET = "fault 1: error UNAVAILABLE on GetOperation {name}, call 2 only"


def _rest_client(emu: Emulator, credentials: Credentials | None = None) -> tuple[Any, Callable[[], None]]:
    transport = OperationsRestTransport(host=emu.url, credentials=credentials or AnonymousCredentials())
    return AbstractOperationsClient(transport=transport), transport._session.close


@pytest.fixture
def rest_ops(lro_emulator: Emulator) -> Iterator[Any]:
    """google-api-core's REST Operations client over loopback, its session closed afterwards."""
    client, close = _rest_client(lro_emulator)
    yield client
    close()


def _at(emu: Emulator, op: OperationHandle, seconds: float) -> None:
    """Move the virtual clock to ``seconds`` after the operation's creation (a virtual sleep)."""
    time.sleep(seconds - (emu.clock.now() - op.created).total_seconds())


def _cancel(emu: Emulator, name: str) -> int:
    return requests.post(f"{emu.url}/v1/{name}:cancel", timeout=10).status_code


def _wait(emu: Emulator, name: str, timeout: str) -> int:
    return requests.post(f"{emu.url}/v1/{name}:wait", json={"timeout": timeout}, timeout=10).status_code


def _listed(message: str) -> list[str]:
    """The numbered call lines of an assertion message, without their numbers."""
    return [line[len("  123. "):] for line in message.splitlines() if re.match(r"^  [ \d]{2}\d\. ", line)]


def _failure(check: Callable[[], None]) -> str:
    with pytest.raises(AssertionError) as failure:
        check()
    return str(failure.value)


# -- one scripted history: created at +10 s on the clock, polled at +1, +3 (fault) and +7, cancelled at +7.5 --


@pytest.fixture
def polled(lro_emulator: Emulator) -> OperationHandle:
    """An operation created 10 s after the clock started, then polled and cancelled at known instants."""
    emu = lro_emulator
    time.sleep(10)
    op = emu.add_operation()
    emu.fault(rpc="GetOperation", name=op.name, nth=2).error("UNAVAILABLE")
    for second, expected in ((1, 200), (3, 503), (7, 200)):
        _at(emu, op, second)
        assert get_status(emu, op.name) == expected
    assert get_status(emu, "projects/test-project/locations/global/operations") == 200
    _at(emu, op, 7.5)
    assert _cancel(emu, op.name) == 200
    return op


def _lines(name: str) -> dict[str, str]:
    """The exact listing lines of the ``polled`` history, times from the operation's creation."""
    return {
        "get1": "       +1s  GetOperation     http  200 OK",
        "get2": f"       +3s  GetOperation     http  503 UNAVAILABLE  [{FAULT_2ND_GET.format(name=name)}]",
        "get3": "       +7s  GetOperation     http  200 OK",
        "cancel": "     +7.5s  CancelOperation  http  200 OK",
    }


def test_a_scripted_sequence_reads_back_exactly(lro_emulator: Emulator, polled: OperationHandle) -> None:
    calls = polled.calls

    assert isinstance(calls, OperationCalls)
    assert calls.poll_times == [1.0, 3.0, 7.0]
    assert calls.poll_intervals == [2.0, 4.0]
    assert [(call.rpc, call.code) for call in calls.polls] == [
        ("GetOperation", "OK"), ("GetOperation", "UNAVAILABLE"), ("GetOperation", "OK")]
    assert [call.rpc for call in calls] == ["GetOperation"] * 3 + ["CancelOperation"]
    listing = [f"  {number:>3}. {line}" for number, line in enumerate(_lines(polled.name).values(), 1)]
    assert calls.format().splitlines() == listing
    assert polled.polls == 2  # answered polls: the faulted one was not served
    assert lro_emulator.calls.call_count == 5
    assert lro_emulator.calls.filter(rpc="ListOperations").last.name == "projects/test-project/locations/global"


@pytest.mark.parametrize(
    "check",
    [
        lambda calls: calls.assert_polled(),
        lambda calls: calls.assert_polled(3),
        lambda calls: calls.assert_polled_at(1, 3, 7),
        lambda calls: calls.assert_polled_at(1.0000001, 3, 7),
        lambda calls: calls.assert_polled_at(1.1, 3, 7, tolerance=0.2),
        lambda calls: calls.assert_poll_intervals([2, 4]),
        lambda calls: calls.assert_poll_intervals(at_least=2),
        lambda calls: calls.assert_poll_intervals(at_most=4),
        lambda calls: calls.assert_poll_intervals(at_least=[1.5, 3.5], at_most=[2, 4]),
        lambda calls: calls.assert_poll_intervals([2, 4], at_least=1, at_most=5),
        lambda calls: calls.assert_cancelled(),
        lambda calls: calls.assert_cancelled(at=7.5),
        lambda calls: calls.assert_called(),
        lambda calls: calls.assert_call_count(4),
        lambda calls: calls.assert_any_call(rpc="GetOperation", code="UNAVAILABLE", status=503),
        lambda calls: calls.filter(rpc="DeleteOperation").assert_not_called(),
        lambda calls: calls.filter(rpc="CancelOperation").assert_called_once(),
    ],
    ids=["polled", "polled-3", "polled-at", "polled-at-within-tolerance", "polled-at-wide-tolerance",
         "intervals", "intervals-at-least", "intervals-at-most", "intervals-per-interval-bounds",
         "intervals-and-bounds", "cancelled", "cancelled-at", "called", "call-count", "any-call",
         "not-deleted", "cancel-once"],
)
def test_operation_assertions_pass_on_what_happened(
    polled: OperationHandle, check: Callable[[OperationCalls], None]
) -> None:
    check(polled.calls)


@pytest.mark.parametrize(
    ("check", "said", "listed"),
    [
        (lambda calls: calls.assert_polled(2),
         "expected operation {name!r} to be polled 2 times; it was polled 3 times.",
         ["get1", "get2", "get3"]),
        (lambda calls: calls.assert_not_polled(),
         "expected operation {name!r} not to be polled; it was polled 3 times.",
         ["get1", "get2", "get3"]),
        (lambda calls: calls.assert_waited(),
         "expected WaitOperation of operation {name!r} to be called; it was never called.", []),
        (lambda calls: calls.assert_deleted(),
         "expected operation {name!r} to be deleted (DeleteOperation answered OK); it was not.",
         ["get1", "get2", "get3", "cancel"]),
        (lambda calls: calls.assert_cancelled(at=7),
         "expected operation {name!r} to be cancelled at +7s; it was cancelled at +7.5s.",
         ["get1", "get2", "get3", "cancel"]),
        (lambda calls: calls.assert_not_cancelled(),
         "expected CancelOperation of operation {name!r} not to be called; it was called once.", ["cancel"]),
        (lambda calls: calls.assert_not_called(),
         "expected operation {name!r} not to be called; it was called 4 times.",
         ["get1", "get2", "get3", "cancel"]),
        (lambda calls: calls.filter(rpc="GetOperation").assert_called_once(),
         "expected GetOperation of operation {name!r} to be called once; it was called 3 times.",
         ["get1", "get2", "get3"]),
        (lambda calls: calls.assert_any_call(rpc="CancelOperation", code="FAILED_PRECONDITION"),
         "expected a call of operation {name!r} with rpc='CancelOperation', code='FAILED_PRECONDITION'; "
         "none was made.", ["get1", "get2", "get3", "cancel"]),
    ],
    ids=["polled-2", "not-polled", "waited", "deleted", "cancelled-at", "not-cancelled", "not-called",
         "gets-once", "any-call"],
)
def test_operation_assertions_fail_saying_what_was_expected_and_listing_the_calls(
    polled: OperationHandle, check: Callable[[OperationCalls], None], said: str, listed: list[str]
) -> None:
    message = _failure(lambda: check(polled.calls))

    first, _, listing = message.partition("\n")
    assert first == said.format(name=polled.name)
    assert listing.startswith("Calls of ")
    lines = _lines(polled.name)
    assert _listed(message) == [lines[key] for key in listed]
    if not listed:
        assert listing.endswith("\n  (no calls)")


def _rows(message: str) -> dict[int, tuple[bool, str]]:
    """The comparison table of an instants/intervals failure: row number -> (marked with >, the row's text)."""
    rows = {}
    for line in message.splitlines():
        found = re.match(r"^  (> |  )([ \d]{2}\d)\. +(.*)$", line)
        if found:
            rows[int(found.group(2))] = (found.group(1) == "> ", found.group(3))
    return rows


@pytest.mark.parametrize(
    ("check", "counts", "marked", "row_texts"),
    [
        (lambda calls: calls.assert_polled_at(1, 3),
         "3 actual, 2 expected", {3}, {3: "7   expected no interval here"}),
        (lambda calls: calls.assert_polled_at(1, 3, 7, 9),
         "3 actual, 4 expected", {4}, {4: "(none)   expected 9"}),
        (lambda calls: calls.assert_polled_at(1, 4, 7),
         "3 actual, 3 expected", {2}, {2: "3   expected 4", 1: "1   expected 1"}),
        (lambda calls: calls.assert_polled_at(),
         "3 actual, 0 expected", {1, 2, 3}, {1: "1   expected no interval here"}),
    ],
    ids=["too-many-polls", "too-few-polls", "wrong-instant", "none-expected"],
)
def test_assert_polled_at_marks_each_differing_row(
    polled: OperationHandle,
    check: Callable[[OperationCalls], None],
    counts: str,
    marked: set[int],
    row_texts: dict[int, str],
) -> None:
    message = _failure(lambda: check(polled.calls))

    assert message.startswith(f"poll instants (s after creation) of operation {polled.name!r} differ from what was "
                              f"expected (> marks each difference; {counts}):\n")
    rows = _rows(message)
    assert {number for number, (wrong, _) in rows.items() if wrong} == marked
    for number, text in row_texts.items():
        assert rows[number][1].rstrip(".") == text
    assert _listed(message) == list(_lines(polled.name).values())


@pytest.mark.parametrize(
    ("intervals", "check", "counts", "marked"),
    [
        ([1, 2, 4], lambda calls: calls.assert_poll_intervals([1, 2]), "3 actual, 2 expected", {3}),
        ([1, 2], lambda calls: calls.assert_poll_intervals([1, 2, 4]), "2 actual, 3 expected", {3}),
        ([1, 2, 4], lambda calls: calls.assert_poll_intervals([1, 3, 4]), "3 actual, 3 expected", {2}),
        ([1, 2, 4], lambda calls: calls.assert_poll_intervals([2, 2, 2]), "3 actual, 3 expected", {1, 3}),
        ([1, 2, 4], lambda calls: calls.assert_poll_intervals(at_least=1.5), "3 actual, any number expected", {1}),
        ([1, 2, 4], lambda calls: calls.assert_poll_intervals(at_most=3), "3 actual, any number expected", {3}),
        ([1, 2, 4], lambda calls: calls.assert_poll_intervals(at_most=[1, 1.5, 4]),
         "3 actual, any number expected", {2}),
        ([1, 2, 4], lambda calls: calls.assert_poll_intervals(at_least=[1, 2, 4.5]),
         "3 actual, any number expected", {3}),
        ([1, 2, 4], lambda calls: calls.assert_poll_intervals([1, 2, 4], at_most=2), "3 actual, 3 expected", {3}),
        ([1], lambda calls: calls.assert_poll_intervals(at_least=[1, 1]), "1 actual, any number expected", set()),
    ],
    ids=["too-many", "too-few", "one-wrong", "two-wrong", "below-at-least", "above-at-most",
         "above-a-per-interval-bound", "below-a-per-interval-bound", "right-values-above-a-bound",
         "fewer-intervals-than-bounds"],
)
def test_assert_poll_intervals_marks_each_differing_row(
    lro_emulator: Emulator,
    intervals: list[float],
    check: Callable[[OperationCalls], None],
    counts: str,
    marked: set[int],
) -> None:
    op = lro_emulator.add_operation()
    get_status(lro_emulator, op.name)
    for interval in intervals:
        time.sleep(interval)
        get_status(lro_emulator, op.name)
    assert op.calls.poll_intervals == intervals

    if not marked:
        check(op.calls)
        return
    message = _failure(lambda: check(op.calls))

    assert message.startswith(f"intervals between polls (s) of operation {op.name!r} differ from what was expected "
                              f"(> marks each difference; {counts}):\n")
    assert {number for number, (wrong, _) in _rows(message).items() if wrong} == marked
    assert len(_listed(message)) == len(intervals) + 1


def test_an_interval_beyond_a_per_interval_bound_list_says_it_is_unbounded(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()
    for interval in (0, 1, 5, 5):
        time.sleep(interval)
        get_status(lro_emulator, op.name)

    message = _failure(lambda: op.calls.assert_poll_intervals(at_most=[0.5]))

    rows = _rows(message)
    assert [rows[number][0] for number in (1, 2, 3)] == [True, False, False]
    for number in (2, 3):  # only the first interval is bounded: the others' rows must still say what was expected
        assert re.search(r"expected \S", rows[number][1]), f"row {number} states no expectation: {rows[number][1]!r}"


def test_a_row_marked_different_shows_two_different_numbers(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()
    time.sleep(1000.25)
    get_status(lro_emulator, op.name)

    message = _failure(lambda: op.calls.assert_polled_at(1000.2501))

    wrong, text = _rows(message)[1]
    assert wrong
    shown, _, expected = text.rstrip(".").partition("   expected ")
    assert shown.strip() != expected.strip(), f"the row reads {text!r}: equal numbers marked as a difference"


def test_a_wrong_cancel_instant_is_told_apart_from_the_right_one(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()
    time.sleep(90.5)
    assert _cancel(lro_emulator, op.name) == 200

    first = _failure(lambda: op.calls.assert_cancelled(at=90)).splitlines()[0]

    said = re.fullmatch(r"expected .* to be cancelled at (\S+); it was cancelled at (\S+)\.", first)
    assert said is not None, first
    assert said.group(1) != said.group(2), f"{first!r} says the same instant twice"


def test_assert_poll_intervals_needs_something_to_compare(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()

    with pytest.raises(TypeError, match=r"needs expected intervals, at_least= or at_most="):
        op.calls.assert_poll_intervals()


def test_a_real_future_backs_off_within_its_configured_bounds(lro_emulator: Emulator, rest_ops: Any) -> None:
    op = lro_emulator.add_operation().succeed(struct(ok=True), at=60)
    future = operation.from_gapic(rest_ops.get_operation(op.name), rest_ops, struct_pb2.Struct)

    assert future.result(timeout=300)["ok"] is True

    ceilings = [0.0] + [min(1.0 * 1.5 ** n, 20.0) for n in range(len(op.calls.poll_intervals) - 1)]
    op.calls.assert_poll_intervals(at_least=0, at_most=ceilings)
    assert op.calls.poll_times[-1] >= 60
    assert op.calls.poll_times[-2] < 60
    assert all(call.transport == "http" and call.rpc == "GetOperation" for call in op.calls)
    message = _failure(lambda: op.calls.assert_poll_intervals(at_most=0.5))
    bumps = {number for number, (wrong, _) in _rows(message).items() if wrong}
    assert bumps == {n + 1 for n, interval in enumerate(op.calls.poll_intervals) if interval > 0.5}
    assert bumps


# -- cancel, delete and wait with real clients ------------------------------------------------------


def test_cancelled_and_deleted_at_their_instants_by_the_grpc_client(
    lro_emulator: Emulator, grpc_channel: grpc.Channel
) -> None:
    time.sleep(30)
    op = lro_emulator.add_operation()
    client = operations_v1.OperationsClient(grpc_channel)

    time.sleep(5)
    client.cancel_operation(op.name)
    time.sleep(1)
    client.delete_operation(op.name)

    op.calls.assert_cancelled(at=5)
    op.calls.assert_deleted(at=6)
    op.calls.assert_not_polled()
    assert [(call.rpc, call.transport) for call in op.calls] == [
        ("CancelOperation", "grpc"), ("DeleteOperation", "grpc")]
    message = _failure(lambda: op.calls.assert_deleted(at=5))
    assert message.splitlines()[0] == f"expected operation {op.name!r} to be deleted at +5s; it was deleted at +6s."
    assert _listed(message) == ["       +5s  CancelOperation  grpc  OK",
                                "       +6s  DeleteOperation  grpc  OK"]


def test_a_refused_cancel_is_not_a_cancel_but_was_still_asked(lro_emulator: Emulator, rest_ops: Any) -> None:
    op = lro_emulator.add_operation().on_cancel("refuse")
    time.sleep(2)

    with pytest.raises(exceptions.GoogleAPICallError, match="cannot be cancelled"):
        rest_ops.cancel_operation(op.name)

    assert not op.done
    refused = "       +2s  CancelOperation  http  400 FAILED_PRECONDITION"
    message = _failure(op.calls.assert_cancelled)
    assert message.splitlines()[0] == (f"expected operation {op.name!r} to be cancelled (CancelOperation answered OK); "
                                       "it was not.")
    assert _listed(message) == [refused]
    message = _failure(op.calls.assert_not_cancelled)
    assert _listed(message) == [refused]


def test_a_future_cancel_over_rest_is_a_cancel(lro_emulator: Emulator, rest_ops: Any) -> None:
    op = lro_emulator.add_operation()
    future = operation.from_gapic(rest_ops.get_operation(op.name), rest_ops, struct_pb2.Struct)
    time.sleep(4)

    assert future.cancel() is True

    op.calls.assert_cancelled(at=4)
    assert op.done
    assert [call.rpc for call in op.calls] == ["GetOperation", "GetOperation", "CancelOperation"]


def test_waits_over_rest_and_grpc_count_as_waits_and_polls(lro_emulator: Emulator, grpc_channel: grpc.Channel) -> None:
    op = lro_emulator.add_operation().succeed(at=3)
    op.calls.assert_not_polled()
    _failure(op.calls.assert_waited)

    assert _wait(lro_emulator, op.name, "10s") == 200
    time.sleep(1)
    stub = operations_pb2_grpc.OperationsStub(grpc_channel)
    request = operations_pb2.WaitOperationRequest(name=op.name, timeout=duration_pb2.Duration(seconds=5))
    answer = stub.WaitOperation(request)

    assert answer.done
    op.calls.assert_waited()
    op.calls.assert_waited(2)
    op.calls.assert_polled(2)
    assert [(call.rpc, call.transport) for call in op.calls.polls] == [
        ("WaitOperation", "http"), ("WaitOperation", "grpc")]
    assert op.calls.poll_times == [0.0, 4.0]  # each logged when it arrived; the first held the clock until +3 s
    message = _failure(lambda: op.calls.assert_waited(1))
    assert message.splitlines()[0] == (f"expected WaitOperation of operation {op.name!r} to be called once; "
                                       "it was called 2 times.")
    assert _listed(message) == ["       +0s  WaitOperation    http  200 OK",
                                "       +4s  WaitOperation    grpc  OK"]


# -- the emulator's whole call log ----------------------------------------------------------------


@pytest.fixture
def mixed(lro_emulator: Emulator, grpc_channel: grpc.Channel) -> tuple[Emulator, OperationHandle]:
    """Six calls over both transports: OK, faulted, unknown-name and collection calls."""
    emu = lro_emulator
    op = emu.add_operation()
    emu.fault(rpc="GetOperation", transport="http", nth=2).error("UNAVAILABLE")
    client = operations_v1.OperationsClient(grpc_channel)
    assert get_status(emu, op.name) == 200
    time.sleep(1)
    assert get_status(emu, op.name) == 503
    time.sleep(1)
    client.get_operation(op.name)
    assert get_status(emu, "projects/test-project/locations/global/operations") == 200
    time.sleep(2)
    assert get_status(emu, "projects/test-project/locations/global/operations/nope") == 404
    client.cancel_operation(op.name)
    return emu, op


@pytest.mark.parametrize(
    ("criteria", "chosen"),
    [
        ({}, [0, 1, 2, 3, 4, 5]),
        ({"rpc": "GetOperation"}, [0, 1, 2, 4]),
        ({"rpc": ["GetOperation", "ListOperations"]}, [0, 1, 2, 3, 4]),
        ({"rpc": ("CancelOperation",)}, [5]),
        ({"code": "NOT_FOUND"}, [4]),
        ({"code": "OK"}, [0, 2, 3, 5]),
        ({"status": 503}, [1]),
        ({"transport": "grpc"}, [2, 5]),
        ({"transport": "http"}, [0, 1, 3, 4]),
        ({"faulted": True}, [1]),
        ({"faulted": False}, [0, 2, 3, 4, 5]),
        ({"name": "OP"}, [0, 1, 2, 5]),
        ({"rpc": "GetOperation", "transport": "http", "faulted": False}, [0, 4]),
        ({"rpc": "DeleteOperation"}, []),
    ],
)
def test_filter_picks_the_calls_matching_every_criterion(
    mixed: tuple[Emulator, OperationHandle], criteria: dict[str, Any], chosen: list[int]
) -> None:
    emu, op = mixed
    if criteria.get("name") == "OP":
        criteria = {**criteria, "name": op.name}
    everything = list(emu.calls)

    picked = emu.calls.filter(**criteria)

    assert isinstance(picked, CallList)
    assert list(picked) == [everything[index] for index in chosen]
    assert picked.call_count == len(chosen)
    assert picked.called is bool(chosen)


def test_times_and_intervals_of_a_filtered_list(mixed: tuple[Emulator, OperationHandle]) -> None:
    emu, _ = mixed
    start = emu.calls[0].time

    gets = emu.calls.filter(rpc="GetOperation")

    assert [(moment - start).total_seconds() for moment in gets.times] == [0, 1, 2, 4]
    assert gets.intervals == [1, 1, 2]
    assert emu.calls.last.rpc == "CancelOperation"


def test_the_emulator_wide_listing_shows_each_call_with_its_instant_transport_answer_and_fault(
    mixed: tuple[Emulator, OperationHandle],
) -> None:
    emu, op = mixed
    fault = "[fault 1: error UNAVAILABLE on GetOperation over http, call 2 only]"

    message = _failure(lambda: emu.calls.filter(rpc=["GetOperation", "ListOperations"]).assert_call_count(2))

    assert message.splitlines()[0] == ("expected GetOperation or ListOperations of the emulator to be called 2 times; "
                                       "it was called 5 times.")
    assert message.splitlines()[1] == "Calls of GetOperation or ListOperations of the emulator:"
    assert _listed(message) == [
        "       +0s  GetOperation     http  200 OK",
        f"       +1s  GetOperation     http  503 UNAVAILABLE  {fault}",
        "       +2s  GetOperation     grpc  OK",
        "       +2s  ListOperations   http  200 OK",
        "       +4s  GetOperation     http  404 NOT_FOUND",
    ]
    assert emu.calls[1].line(op.created) == f"       +1s  GetOperation     http  503 UNAVAILABLE  {fault}"


@pytest.mark.parametrize(
    ("check", "said"),
    [
        (lambda calls: calls.filter(rpc="DeleteOperation").assert_called(),
         "expected DeleteOperation of the emulator to be called; it was never called."),
        (lambda calls: calls.filter(rpc="CancelOperation").assert_not_called(),
         "expected CancelOperation of the emulator not to be called; it was called once."),
        (lambda calls: calls.filter(code="NOT_FOUND").assert_call_count(2),
         "expected calls answered NOT_FOUND of the emulator to be called 2 times; it was called once."),
        (lambda calls: calls.assert_any_call(rpc="GetOperation", transport="grpc", code="UNAVAILABLE"),
         "expected a call of the emulator with rpc='GetOperation', transport='grpc', code='UNAVAILABLE'; "
         "none was made."),
    ],
    ids=["called", "not-called", "call-count", "any-call"],
)
def test_emulator_wide_assertions_fail_with_what_was_expected(
    mixed: tuple[Emulator, OperationHandle], check: Callable[[CallList], None], said: str
) -> None:
    emu, _ = mixed

    message = _failure(lambda: check(emu.calls))

    assert message.splitlines()[0] == said


@pytest.mark.parametrize(
    ("criteria", "word"),
    [
        ({"transport": "grpc"}, "grpc"),
        ({"faulted": True}, "fault"),
        ({"name": "projects/test-project/locations/global/operations/nope"}, "nope"),
    ],
    ids=["transport", "faulted", "name"],
)
def test_a_failure_of_a_filtered_list_names_what_it_was_filtered_by(
    mixed: tuple[Emulator, OperationHandle], criteria: dict[str, Any], word: str
) -> None:
    emu, _ = mixed

    first = _failure(lambda: emu.calls.filter(**criteria).assert_call_count(5)).splitlines()[0]

    # "expected calls of the emulator to be called 5 times; it was called 2 times" contradicts the
    # six calls the emulator saw: the message must say which calls it counted.
    assert word in first, first


def test_emulator_wide_assertions_pass_on_what_happened(mixed: tuple[Emulator, OperationHandle]) -> None:
    emu, op = mixed

    emu.calls.assert_called()
    emu.calls.assert_call_count(6)
    emu.calls.filter(rpc="ListOperations").assert_called_once()
    emu.calls.filter(rpc="DeleteOperation").assert_not_called()
    emu.calls.assert_any_call(rpc="CancelOperation", name=op.name, transport="grpc", code="OK")
    emu.calls.assert_any_call(status=404, name="projects/test-project/locations/global/operations/nope")


def test_assert_any_call_with_an_unknown_attribute_names_the_fields_of_a_call(lro_emulator: Emulator) -> None:
    with pytest.raises(TypeError) as error:
        lro_emulator.calls.assert_any_call(rpcs="GetOperation", answer=200)

    assert str(error.value) == ("assert_any_call() got ['answer', 'rpcs']; a Call has rpc, method, path, name, "
                                "status, code, time, transport, headers, query, body, fault")


def test_last_of_an_empty_log_is_an_index_error(lro_emulator: Emulator) -> None:
    with pytest.raises(IndexError, match="no calls were recorded"):
        _ = lro_emulator.calls.last


# -- headers --------------------------------------------------------------------------------------


def test_the_rest_client_sends_its_api_client_and_request_params_headers(lro_emulator: Emulator, rest_ops: Any) -> None:
    op = lro_emulator.add_operation()
    rest_ops.get_operation(op.name)
    rest_ops.cancel_operation(op.name)

    lro_emulator.calls.assert_headers({
        "x-goog-api-client": re.compile(r"^gl-python/\d+\.\d+\.\d+ rest/requests@\S+ gax/\S+"),
        "X-Goog-Request-Params": f"name={op.name}",
        "user-agent": ...,
    })
    assert lro_emulator.calls.call_count == 2


def test_the_grpc_client_sends_its_api_client_and_request_params_metadata(
    lro_emulator: Emulator, grpc_channel: grpc.Channel
) -> None:
    op = lro_emulator.add_operation()
    client = operations_v1.OperationsClient(grpc_channel)
    client.get_operation(op.name)
    client.delete_operation(op.name)

    lro_emulator.calls.assert_headers({
        "x-goog-api-client": re.compile(r"^gl-python/\S+ grpc/\S+ gax/\S+"),
        "x-goog-request-params": f"name={op.name}",
    })
    assert [call.transport for call in lro_emulator.calls] == ["grpc", "grpc"]


@pytest.mark.parametrize(
    ("expected", "problems"),
    [
        ({"x-goog-trace": ...}, ["call 1 (GetOperation) has no x-goog-trace header",
                                 "call 2 (ListOperations) has no x-goog-trace header",
                                 "call 3 (GetOperation) has no x-goog-trace header"]),
        ({"x-goog-api-client": ...}, ["call 3 (GetOperation) has no x-goog-api-client header"]),
        ({"x-goog-request-params": "name={op}"},
         ["call 2 (ListOperations) x-goog-request-params: 'name=projects/test-project/locations/global' != "
          "'name={op}'",
          "call 3 (GetOperation) has no x-goog-request-params header"]),
        ({"x-goog-api-client": "gl-python/0.0.0"},
         ["call 1 (GetOperation) x-goog-api-client: {client!r} != 'gl-python/0.0.0'",
          "call 2 (ListOperations) x-goog-api-client: {client!r} != 'gl-python/0.0.0'",
          "call 3 (GetOperation) has no x-goog-api-client header"]),
        ({"x-goog-api-client": re.compile(r"grpc/")},
         ["call 1 (GetOperation) x-goog-api-client: {client!r} does not match 'grpc/'",
          "call 2 (ListOperations) x-goog-api-client: {client!r} does not match 'grpc/'",
          "call 3 (GetOperation) has no x-goog-api-client header"]),
    ],
    ids=["missing-everywhere", "missing-on-one-call", "not-equal-on-one-call", "not-equal", "no-match"],
)
def test_a_header_assertion_names_each_call_and_header_that_differ(
    lro_emulator: Emulator, rest_ops: Any, expected: dict[str, Any], problems: list[str]
) -> None:
    op = lro_emulator.add_operation()
    rest_ops.get_operation(op.name)
    list(rest_ops.list_operations("projects/test-project/locations/global", ""))
    assert get_status(lro_emulator, op.name) == 200
    client = lro_emulator.calls[0].headers["x-goog-api-client"]
    expected = {header: want.format(op=op.name) if isinstance(want, str) else want for header, want in expected.items()}

    message = _failure(lambda: lro_emulator.calls.assert_headers(expected))

    assert message.splitlines() == ["headers of the emulator differ from what was expected:",
                                    *(f"  {problem.format(client=client, op=op.name)}" for problem in problems)]


def test_a_header_assertion_on_no_calls_fails(lro_emulator: Emulator) -> None:
    message = _failure(lambda: lro_emulator.calls.assert_headers({"authorization": ...}))

    assert message.splitlines()[0] == ("expected calls of the emulator with headers ['authorization']; "
                                       "there were no calls.")


def test_authorization_of_a_client_with_a_token_is_in_the_log(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()
    client, close = _rest_client(lro_emulator, google.oauth2.credentials.Credentials("token-1"))
    try:
        client.get_operation(op.name)
    finally:
        close()
    requests.get(f"{lro_emulator.url}/v1/{op.name}", headers={"Authorization": "Bearer token-2"}, timeout=10)

    op.calls.filter(transport="http").assert_headers({"authorization": re.compile(r"^Bearer token-\d$")})
    message = _failure(lambda: op.calls.assert_headers({"authorization": "Bearer token-1"}))
    assert message.splitlines() == [
        f"headers of operation {op.name!r} differ from what was expected:",
        "  call 2 (GetOperation) authorization: 'Bearer token-2' != 'Bearer token-1'",
    ]


def test_a_long_listing_elides_its_middle_and_says_how_many(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()
    for _ in range(45):
        time.sleep(1)
        get_status(lro_emulator, op.name)

    message = _failure(lambda: op.calls.assert_polled(1))
    problems = _failure(lambda: op.calls.assert_headers({"x-goog-api-client": ...})).splitlines()

    listed = _listed(message)
    assert [line.split()[0] for line in listed] == [f"+{second}s" for second in (*range(1, 21), *range(26, 46))]
    assert "       ... 5 more ..." in message.splitlines()
    assert len(problems) == 1 + 40 + 1
    assert problems[40] == "  call 40 (GetOperation) has no x-goog-api-client header"
    assert problems[-1] == "  ... 5 more"


# -- faulted polls and the names the log gives ---------------------------------------------------


def test_a_dropped_poll_and_a_delayed_poll_are_polls_and_their_lines_say_so(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()
    lro_emulator.fault(rpc="GetOperation", nth=1).reset()
    lro_emulator.fault(rpc="GetOperation", nth=2).delay(5)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{lro_emulator.url}/v1/{op.name}", timeout=10)

    assert get_status(lro_emulator, op.name) == 200

    op.calls.assert_polled(2)
    assert op.polls == 1
    assert op.calls.format().splitlines() == [
        "    1.        +0s  GetOperation     http  dropped  [fault 1: reset on GetOperation, call 1 only]",
        "    2.        +0s  GetOperation     http  200 OK  [fault 2: delay 5s on GetOperation, call 2 only]",
    ]
    assert op.calls[0].status == 0
    assert op.calls[0].code == "UNAVAILABLE"
    assert (lro_emulator.clock.now() - op.created).total_seconds() == 5  # logged on arrival, answered 5 s later




@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_a_poll_that_met_a_fault_is_still_a_poll(lro_emulator: Emulator, transport: str) -> None:
    op = lro_emulator.add_operation()
    fault = lro_emulator.fault(rpc="GetOperation", first=2).error("UNAVAILABLE")
    if transport == "http":
        client, close = _rest_client(lro_emulator)
    else:
        channel = grpc.insecure_channel(lro_emulator.grpc_target)
        client, close = operations_v1.OperationsClient(channel), channel.close
    try:
        assert client.get_operation(op.name).name == op.name  # the client retried UNAVAILABLE
    finally:
        close()

    op.calls.assert_polled(3)
    assert op.polls == 1
    assert [call.code for call in op.calls.polls] == ["UNAVAILABLE", "UNAVAILABLE", "OK"]
    assert list(op.calls.polls.filter(faulted=True)) == list(fault.fired)
    answer = "503 UNAVAILABLE" if transport == "http" else "UNAVAILABLE"  # gRPC has codes, not HTTP statuses
    assert op.calls.polls[0].line(op.created) == (
        f"       +0s  GetOperation     {transport}  {answer}  "
        "[fault 1: error UNAVAILABLE on GetOperation, first 2 calls]")
    assert op.calls.polls[2].fault is None


@pytest.mark.parametrize("earlier", ["unknown-name", "deleted-namesake"])
def test_calls_from_before_an_operation_existed_are_not_its_calls(lro_emulator: Emulator, earlier: str) -> None:
    name = "projects/test-project/locations/global/operations/reused"
    if earlier == "deleted-namesake":
        lro_emulator.add_operation(name=name)
        assert requests.delete(f"{lro_emulator.url}/v1/{name}", timeout=10).status_code == 200
    assert get_status(lro_emulator, name) == 404
    time.sleep(5)
    op = lro_emulator.add_operation(name=name)
    time.sleep(1)
    assert get_status(lro_emulator, name) == 200

    assert [call.rpc for call in op.calls] == ["GetOperation"], op.calls.format()  # no earlier 404, no old delete
    assert op.calls.poll_times == [1.0]
    assert "+-" not in op.calls.format()


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_the_log_names_an_operation_reached_as_operations_slash_name_by_its_name(
    lro_emulator: Emulator, transport: str
) -> None:
    op = lro_emulator.add_operation(name="projects/p/operations/x")
    if transport == "http":
        assert get_status(lro_emulator, "operations/projects/p/operations/x") == 200
    else:
        with grpc.insecure_channel(lro_emulator.grpc_target) as channel:
            operations_v1.OperationsClient(channel).get_operation("operations/projects/p/operations/x")

    op.calls.assert_called_once()
    op.calls.assert_polled(1)
    call = op.calls.last
    assert call.name == "projects/p/operations/x"
    if transport == "http":
        assert call.path == "/v1/operations/projects/p/operations/x"
