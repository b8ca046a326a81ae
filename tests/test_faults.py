"""Fault injection as the emulator promises it, on its own wire.

Which calls a fault selects (the nth, the first k, a window on the virtual clock, seeded dice, every
call), which calls it is aimed at (RPC, name or pattern, transport, a declared start), and what each
effect does: over REST, seen by ``requests`` and by raw sockets where the bytes matter (an AIP-193
envelope, a clock moved by a delay, an answer held until the client's own timeout, a reset, a body
cut off mid-way, JSON that does not parse, a body sent unvalidated); over gRPC, seen by a raw
``google.longrunning`` stub (the status and its ``google.rpc.Status``, UNAVAILABLE for lost
connections, INTERNAL for bytes that do not decode, DEADLINE_EXCEEDED for a delay past the deadline).
Effects that serve the call change the store, the others change nothing. A paced emulator holds a
delayed answer in real time and notices a client that gave up. Bad scripting is a `ScriptError`
that adds nothing; scenario files carry faults (and refuse bad ones with file, line and pointer);
the call log and the control plane show which calls were faulted, and control calls never are.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from google.longrunning import operations_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from werkzeug.test import Client

from lro_emulator import (
    Code,
    Emulator,
    EmulatorFailure,
    Fault,
    FaultBuilder,
    ScenarioError,
    ScriptError,
    StaleHandle,
    StatusError,
)

from .helpers import Stub, struct

NAME = "projects/p/operations/export-1"
OTHER = "projects/p/operations/export-2"
START = datetime(2030, 1, 1, tzinfo=timezone.utc)
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
UNREGISTERED = {"@type": "type.googleapis.com/example.v1.Unknown", "state": "RUNNING"}
GUARD = 10.0

REST_CALLS = {
    "GetOperation": ("GET", "/v1/{name}"),
    "ListOperations": ("GET", "/v1/projects/p/operations"),
    "WaitOperation": ("POST", "/v1/{name}:wait?timeout=0s"),
    "CancelOperation": ("POST", "/v1/{name}:cancel"),
    "DeleteOperation": ("DELETE", "/v1/{name}"),
}

#: One way to script each effect, with whether the call is served before the effect spoils its answer.
EFFECTS: dict[str, tuple[Callable[[FaultBuilder], Fault], bool]] = {
    "error": (lambda builder: builder.error(), False),
    "reset": (lambda builder: builder.reset(), False),
    "respond": (lambda builder: builder.respond({}), False),
    "delay": (lambda builder: builder.delay(5), True),
    "disconnect": (lambda builder: builder.disconnect(), True),
    "malformed": (lambda builder: builder.malformed(), True),
    "truncate": (lambda builder: builder.truncate(), True),
}


def url(emu: Emulator, name: str = NAME) -> str:
    return f"{emu.url}/v1/{name}"


def rest_call(http: Client, rpc: str, name: str = NAME) -> int:
    """One call of ``rpc`` through werkzeug's test client; the HTTP status."""
    method, path = REST_CALLS[rpc]
    return http.open(path.format(name=name), method=method).status_code


def grpc_call(stub: Stub, rpc: str, name: str = NAME, timeout: float | None = GUARD) -> grpc.StatusCode:
    """One call of ``rpc`` through the raw stub; the status code it ended with."""
    if rpc == "ListOperations":
        request: Message = operations_pb2.ListOperationsRequest(name=name)
    else:
        request = getattr(operations_pb2, f"{rpc}Request")(name=name)
    try:
        getattr(stub, rpc)(request, timeout=timeout)
    except grpc.RpcError as error:
        code: grpc.StatusCode = error.code()
        return code
    return grpc.StatusCode.OK


def grpc_failure(call: Callable[[], object]) -> Any:
    """The grpc.RpcError (a grpc.Call too: code, details, trailers) that ``call`` raises."""
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def details_of(error: Any, kind: type[Message]) -> list[Any]:
    status = rpc_status.from_call(error)
    assert status is not None, "no google.rpc.Status in the trailing metadata"
    found = []
    for packed in status.details:
        if packed.Is(kind.DESCRIPTOR):
            message = kind()
            packed.Unpack(message)
            found.append(message)
    return found


def faulted(emu: Emulator, fault: Fault) -> list[int]:
    """Indices, in the call log, of the calls ``fault`` fired on."""
    return [index for index, call in enumerate(emu.calls) if call.fault is fault]


def raw_exchange(emu: Emulator, request: bytes) -> tuple[bytes, OSError | None]:
    """Send ``request`` on a fresh connection and read until EOF: the bytes received, and the error that ended it."""
    host, port = emu.url.removeprefix("http://").rsplit(":", 1)
    received = b""
    with socket.create_connection((host, int(port)), timeout=GUARD) as sock:
        sock.sendall(request)
        try:
            for _ in range(10_000):
                chunk = sock.recv(65536)
                if not chunk:
                    return received, None
                received += chunk
        except OSError as error:
            return received, error
    raise AssertionError(f"the connection never ended; received {received!r}")


def raw_get(emu: Emulator, name: str = NAME) -> tuple[bytes, OSError | None]:
    return raw_exchange(emu, f"GET /v1/{name} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())


def split_response(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, separator, body = raw.partition(b"\r\n\r\n")
    assert separator, f"no end of headers in {raw!r}"
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {key.strip().lower(): value.strip() for key, _, value in (line.partition(":") for line in lines)}
    return status_line, headers, body


def handler_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """werkzeug's request threads started since ``before`` was taken."""
    return [thread for thread in threading.enumerate()
            if thread not in before and "process_request_thread" in thread.name]


# -- selection ---------------------------------------------------------------------------------------------


def test_nth_fires_on_that_call_only(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation(NAME)
    fault = lro_emulator.fault(rpc="GetOperation", nth=3).error()

    statuses = [rest_call(http, "GetOperation") for _ in range(5)]

    assert statuses == [200, 200, 503, 200, 200]
    assert list(fault.fired) == [lro_emulator.calls[2]]
    assert fault.fired[0].fault is fault
    assert fault.matched == 5


def test_first_fires_on_the_first_k_calls(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation(NAME)
    fault = lro_emulator.fault(rpc="GetOperation", first=2).error()

    statuses = [rest_call(http, "GetOperation") for _ in range(4)]

    assert statuses == [503, 503, 200, 200]
    assert faulted(lro_emulator, fault) == [0, 1]
    assert list(fault.fired) == list(lro_emulator.calls)[:2]


def test_no_selection_fires_on_every_call(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation(NAME)
    fault = lro_emulator.fault(rpc="GetOperation").error()

    statuses = [rest_call(http, "GetOperation") for _ in range(4)]

    assert statuses == [503] * 4
    assert len(fault.fired) == fault.matched == 4


WINDOWS = [
    pytest.param((10, 20), id="seconds-from-now"),
    pytest.param((10.0, 20.0), id="float-seconds"),
    pytest.param((timedelta(seconds=10), timedelta(seconds=20)), id="timedeltas"),
    pytest.param(("10s", "20s"), id="duration-strings"),
    pytest.param(("2030-01-01T00:01:50Z", "2030-01-01T00:02:00Z"), id="rfc3339"),
    pytest.param(("2030-01-01T01:01:50+01:00", "2030-01-01T01:02:00+01:00"), id="rfc3339-with-offset"),
    pytest.param((START + timedelta(seconds=110), START + timedelta(seconds=120)), id="datetimes"),
]


@pytest.mark.parametrize("window", WINDOWS)
def test_during_selects_calls_in_the_window_from_inclusive_to_exclusive(
    lro_emulator: Emulator, http: Client, window: tuple[Any, Any]
) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.clock.advance(100)  # "from now" is when the fault is scripted: the window is [+110s, +120s)
    fault = lro_emulator.fault(rpc="GetOperation", during=window).error()
    offsets = [0, 9.999999, 10, 15, 19.999999, 20, 30]

    statuses = []
    for offset in offsets:
        lro_emulator.clock.set(START + timedelta(seconds=100 + offset))
        statuses.append(rest_call(http, "GetOperation"))

    assert statuses == [200, 200, 503, 503, 503, 200, 200]
    assert [call.time - START for call in fault.fired] == [timedelta(seconds=s) for s in (110, 115, 119.999999)]
    assert fault.matched == len(offsets)


def probability_draws(
    emu: Emulator, http: Client, emulator_seed: object, fault_seed: str | None = None, count: int = 40
) -> list[int]:
    """After ``emu.reset(seed=emulator_seed)``: which of ``count`` polls a fault of probability 0.5 fired on."""
    emu.reset(seed=emulator_seed)
    emu.add_operation(NAME)
    fault = emu.fault(rpc="GetOperation", probability=0.5, seed=fault_seed).error()
    for _ in range(count):
        rest_call(http, "GetOperation")
    assert fault.matched == count
    return faulted(emu, fault)


def test_the_same_seed_faults_the_same_calls(lro_emulator: Emulator, http: Client) -> None:
    first = probability_draws(lro_emulator, http, 7)
    again = probability_draws(lro_emulator, http, 7)

    assert first == again
    assert 0 < len(first) < 40


def test_another_emulator_seed_faults_other_calls(lro_emulator: Emulator, http: Client) -> None:
    assert probability_draws(lro_emulator, http, 1) != probability_draws(lro_emulator, http, 2)


def test_a_faults_own_seed_ignores_the_emulator_seed(lro_emulator: Emulator, http: Client) -> None:
    under_1 = probability_draws(lro_emulator, http, 1, "mine")
    under_2 = probability_draws(lro_emulator, http, 2, "mine")

    assert under_1 == under_2
    assert under_1 != probability_draws(lro_emulator, http, 1, "yours")


@pytest.mark.lro_emulator(seed=11)
def test_the_marker_seed_is_the_emulator_seed(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation(NAME)
    fault = lro_emulator.fault(rpc="GetOperation", probability=0.5).error()
    for _ in range(40):
        rest_call(http, "GetOperation")
    under_marker = faulted(lro_emulator, fault)

    assert under_marker == probability_draws(lro_emulator, http, 11)
    assert under_marker != probability_draws(lro_emulator, http, 0)


def test_each_fault_number_rolls_its_own_dice(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.add_operation(OTHER)
    one = lro_emulator.fault(name=NAME, probability=0.5).error()
    two = lro_emulator.fault(name=OTHER, probability=0.5).error()
    for _ in range(40):
        rest_call(http, "GetOperation", NAME)
        rest_call(http, "GetOperation", OTHER)
    drawn_one = [index // 2 for index in faulted(lro_emulator, one)]
    drawn_two = [index // 2 for index in faulted(lro_emulator, two)]

    lro_emulator.reset()
    lro_emulator.add_operation(OTHER)
    lro_emulator.fault(name=NAME, probability=0.5).error()
    alone = lro_emulator.fault(name=OTHER, probability=0.5).error()
    for _ in range(40):
        rest_call(http, "GetOperation", OTHER)

    assert drawn_one != drawn_two, "faults 1 and 2 drew the same dice"
    assert faulted(lro_emulator, alone) == drawn_two, "fault 2's draws depended on fault 1's calls"


def test_a_fault_behind_a_firing_one_still_rolls_its_dice(lro_emulator: Emulator, http: Client) -> None:
    alone = set(probability_draws(lro_emulator, http, 0, "behind"))

    lro_emulator.reset()
    lro_emulator.add_operation(NAME)
    front = lro_emulator.fault(rpc="GetOperation", probability=0.5).error("UNAVAILABLE")
    behind = lro_emulator.fault(rpc="GetOperation", probability=0.5, seed="behind").error("INTERNAL")
    for _ in range(40):
        rest_call(http, "GetOperation")

    assert behind.matched == front.matched == 40
    assert faulted(lro_emulator, behind) == sorted(alone - set(faulted(lro_emulator, front)))
    assert set(faulted(lro_emulator, front)) & alone, "the check needs calls both faults selected"


@pytest.mark.parametrize(("probability", "fired"), [(0, 0), (0.0, 0), (1, 30), (1.0, 30)])
def test_probability_zero_never_fires_and_one_always_does(
    lro_emulator: Emulator, http: Client, probability: float, fired: int
) -> None:
    lro_emulator.add_operation(NAME)
    fault = lro_emulator.fault(rpc="GetOperation", probability=probability).error()

    statuses = [rest_call(http, "GetOperation") for _ in range(30)]

    assert len(fault.fired) == fired
    assert statuses.count(503) == fired
    assert fault.matched == 30


# -- aim ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("aimed", list(REST_CALLS))
def test_rpc_aims_at_that_method_only(lro_emulator: Emulator, http: Client, aimed: str) -> None:
    lro_emulator.add_operation(NAME)
    fault = lro_emulator.fault(rpc=aimed).error()

    statuses = {rpc: rest_call(http, rpc) for rpc in REST_CALLS}

    assert {rpc for rpc, status in statuses.items() if status == 503} == {aimed}
    assert [call.rpc for call in fault.fired] == [aimed]
    assert fault.matched == 1


OPERATION_NAMES = [
    "projects/p/operations/op-1",
    "projects/p/operations/op-10",
    "projects/q/operations/op-1",
    "projects/p/operations/export-1",
]

PATTERNS = [
    pytest.param("projects/p/operations/op-1", {"projects/p/operations/op-1"}, id="exact"),
    pytest.param("projects/p/operations/op-*", {"projects/p/operations/op-1", "projects/p/operations/op-10"},
                 id="star-at-the-end"),
    pytest.param("projects/*/op-1", {"projects/p/operations/op-1", "projects/q/operations/op-1"},
                 id="star-spans-slashes"),
    pytest.param("*-1", {"projects/p/operations/op-1", "projects/q/operations/op-1", "projects/p/operations/export-1"},
                 id="star-at-the-start"),
    pytest.param("*", set(OPERATION_NAMES), id="star-alone"),
    pytest.param("projects/p/*/op-1*", {"projects/p/operations/op-1", "projects/p/operations/op-10"},
                 id="two-stars"),
    pytest.param("projects/p/operations/op.1", set(), id="dot-is-literal"),
    pytest.param("projects/p/operations/op-[0-9]", set(), id="brackets-are-literal"),
    pytest.param("projects/p/operations", set(), id="a-prefix-is-not-a-match"),
]


@pytest.mark.parametrize(("pattern", "hit"), PATTERNS)
def test_name_aims_at_operations_exactly_or_by_star_pattern(
    lro_emulator: Emulator, http: Client, pattern: str, hit: set[str]
) -> None:
    for name in OPERATION_NAMES:
        lro_emulator.add_operation(name)
    fault = lro_emulator.fault(name=pattern).error()

    statuses = {name: rest_call(http, "GetOperation", name) for name in OPERATION_NAMES}

    assert {name for name, status in statuses.items() if status == 503} == hit
    assert {call.name for call in fault.fired} == hit


def test_list_operations_is_aimed_at_by_its_collection(lro_emulator: Emulator, http: Client, stub: Stub) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.add_operation("projects/q/operations/op-1")
    by_collection = lro_emulator.fault(rpc="ListOperations", name="projects/p").error()
    by_operations = lro_emulator.fault(rpc="ListOperations", name="projects/p/operations/*").error("INTERNAL")

    assert http.get("/v1/projects/p/operations").status_code == 503
    assert http.get("/v1/projects/q/operations").status_code == 200
    assert grpc_call(stub, "ListOperations", "projects/p") == grpc.StatusCode.UNAVAILABLE
    assert grpc_call(stub, "ListOperations", "projects/q") == grpc.StatusCode.OK
    assert rest_call(http, "GetOperation") == 200

    assert [(call.name, call.transport) for call in by_collection.fired] == [("projects/p", "http"),
                                                                             ("projects/p", "grpc")]
    assert by_operations.matched == 0


@pytest.mark.parametrize(("aimed", "other"), [("http", "grpc"), ("grpc", "http")])
def test_a_transport_aimed_fault_neither_fires_on_nor_counts_the_other_transport(
    lro_emulator: Emulator, http: Client, stub: Stub, aimed: str, other: str
) -> None:
    lro_emulator.add_operation(NAME)
    fault = lro_emulator.fault(rpc="GetOperation", transport=aimed, nth=2).error()

    def ok(transport: str) -> bool:
        if transport == "http":
            return rest_call(http, "GetOperation") == 200
        return grpc_call(stub, "GetOperation") == grpc.StatusCode.OK

    assert [ok(other) for _ in range(3)] == [True, True, True]
    assert fault.matched == 0
    assert [ok(aimed) for _ in range(3)] == [True, False, True]
    assert [call.transport for call in fault.fired] == [aimed]
    assert fault.matched == 3


def test_the_first_scripted_fault_fires_and_every_aimed_fault_counts(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation(NAME)
    second_call = lro_emulator.fault(rpc="GetOperation", nth=2).error("UNAVAILABLE")
    every_call = lro_emulator.fault(rpc="GetOperation").error("INTERNAL")
    third_call = lro_emulator.fault(rpc="GetOperation", nth=3).error("ABORTED")

    statuses = [rest_call(http, "GetOperation") for _ in range(4)]

    assert statuses == [500, 503, 500, 500]
    assert faulted(lro_emulator, second_call) == [1]
    assert faulted(lro_emulator, every_call) == [0, 2, 3]
    assert list(third_call.fired) == []
    assert second_call.matched == every_call.matched == third_call.matched == 4


def test_a_later_nth_counts_the_calls_an_earlier_fault_fired_on(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.fault(rpc="GetOperation", first=2).error("UNAVAILABLE")
    third = lro_emulator.fault(rpc="GetOperation", nth=3).error("INTERNAL")

    assert [rest_call(http, "GetOperation") for _ in range(4)] == [503, 503, 500, 200]
    assert faulted(lro_emulator, third) == [2]


def test_faults_are_listed_in_order_and_forgotten_on_reset(lro_emulator: Emulator, http: Client) -> None:
    first = lro_emulator.fault(rpc="GetOperation").error()
    second = lro_emulator.fault(rpc="ListOperations").reset()
    assert lro_emulator.faults == [first, second]
    assert (first.number, second.number) == (1, 2)

    lro_emulator.reset()
    lro_emulator.add_operation(NAME)

    assert lro_emulator.faults == []
    assert rest_call(http, "GetOperation") == 200
    assert rest_call(http, "ListOperations") == 200
    for forgotten in (first, second):  # the calls above never reached them; what they counted is gone with them
        with pytest.raises(StaleHandle, match=r"fault \d belongs to the emulator's state in test .* before the last"):
            _ = forgotten.matched
    assert lro_emulator.fault().error().number == 1


# -- effects over REST -------------------------------------------------------------------------------------

ERRORS = [
    pytest.param({}, 503, "UNAVAILABLE", "injected fault: UNAVAILABLE", id="default"),
    pytest.param({"code": "RESOURCE_EXHAUSTED", "message": "quota"}, 429, "RESOURCE_EXHAUSTED", "quota", id="name"),
    pytest.param({"code": 13, "message": "boom"}, 500, "INTERNAL", "boom", id="number"),
    pytest.param({"code": Code.DEADLINE_EXCEEDED}, 504, "DEADLINE_EXCEEDED", "injected fault: DEADLINE_EXCEEDED",
                 id="enum"),
    pytest.param({"code": "NOT_FOUND", "message": "gone"}, 404, "NOT_FOUND", "gone", id="not-found"),
]


@pytest.mark.parametrize(("arguments", "status", "code", "message"), ERRORS)
def test_error_answers_an_aip193_envelope_with_error_info(
    lro_emulator: Emulator, arguments: dict[str, Any], status: int, code: str, message: str
) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.fault(rpc="GetOperation").error(**arguments)

    response = requests.get(url(lro_emulator), timeout=GUARD)

    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"error": {
        "code": status,
        "message": message,
        "status": code,
        "details": [{"@type": ERROR_INFO, "reason": "INJECTED_FAULT", "domain": "lro-emulator"}],
    }}
    [call] = lro_emulator.calls
    assert (call.status, call.code) == (status, code)


@pytest.mark.parametrize(("retry_delay", "shown"), [(1.5, "1.5s"), (2, "2s"), (timedelta(minutes=1), "60s"),
                                                    ("0.25s", "0.25s")])
def test_error_retry_delay_adds_retry_info(lro_emulator: Emulator, retry_delay: Any, shown: str) -> None:
    lro_emulator.add_operation(NAME)
    help_link = {"@type": "type.googleapis.com/google.rpc.Help",
                 "links": [{"description": "status page", "url": "https://status.example.com"}]}
    lro_emulator.fault().error("UNAVAILABLE", "backend restarting", details=[help_link], retry_delay=retry_delay)

    body = requests.get(url(lro_emulator), timeout=GUARD).json()

    assert body["error"]["details"] == [
        {"@type": ERROR_INFO, "reason": "INJECTED_FAULT", "domain": "lro-emulator"},
        help_link,
        {"@type": RETRY_INFO, "retryDelay": shown},
    ]
    assert lro_emulator.problems == []


@pytest.mark.parametrize(("delay", "seconds"), [(30, 30), (1.5, 1.5), ("90s", 90), (timedelta(minutes=2), 120)])
def test_delay_moves_the_virtual_clock_before_the_answer(lro_emulator: Emulator, delay: Any, seconds: float) -> None:
    op = lro_emulator.add_operation(NAME)
    fault = lro_emulator.fault(rpc="GetOperation").delay(delay)
    before = lro_emulator.clock.now()

    response = requests.get(url(lro_emulator), timeout=GUARD)

    assert response.status_code == 200
    assert response.json()["name"] == op.name
    assert lro_emulator.clock.now() - before == timedelta(seconds=seconds)
    [call] = lro_emulator.calls
    assert call.fault is fault
    assert call.time == before


def test_hang_holds_the_answer_until_the_clients_timeout_and_logs_the_call_first(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME)
    fault = lro_emulator.fault(rpc="GetOperation").hang()
    before = set(threading.enumerate())

    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(url(lro_emulator), timeout=0.2)

    [call] = lro_emulator.calls
    assert (call.rpc, call.status, call.fault) == ("GetOperation", 200, fault)
    for thread in handler_threads(before):
        thread.join(GUARD / 2)  # the hang's limit is 10 s: only a hang-up noticed ends it sooner
        assert not thread.is_alive(), "the hung answer was still held after the client hung up"


def test_hang_gives_the_answer_after_its_limit(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation(NAME)
    lro_emulator.fault(rpc="GetOperation", nth=1).hang(limit=0.3)

    response = requests.get(url(lro_emulator), timeout=GUARD)

    assert response.status_code == 200
    assert response.json()["name"] == op.name


def test_reset_drops_the_connection_with_no_bytes(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME)
    fault = lro_emulator.fault(rpc="GetOperation").reset()

    received, error = raw_get(lro_emulator)

    assert received == b""
    assert isinstance(error, ConnectionResetError), f"expected ECONNRESET, the connection ended with {error!r}"
    [call] = lro_emulator.calls
    assert (call.status, call.code, call.fault) == (0, "UNAVAILABLE", fault)


def test_reset_reaches_requests_as_a_connection_error(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.fault(rpc="GetOperation").reset()

    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        requests.get(url(lro_emulator), timeout=GUARD)

    assert "reset" in str(caught.value).lower()
    assert lro_emulator.calls.call_count == 1


def test_disconnect_promises_more_body_than_it_sends_then_closes(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME, metadata=struct(state="RUNNING", rows=12345))
    lro_emulator.fault(rpc="GetOperation", nth=2).disconnect()
    whole = requests.get(url(lro_emulator), timeout=GUARD).content

    received, error = raw_get(lro_emulator)

    assert error is None, f"expected an orderly close (EOF), got {error!r}"
    status_line, headers, body = split_response(received)
    assert status_line.split(" ", 2)[1] == "200"
    assert int(headers["content-length"]) == len(whole)
    assert 0 < len(body) < len(whole)
    assert whole.startswith(body)


def test_disconnect_reaches_requests_as_an_incomplete_read(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.fault(rpc="GetOperation").disconnect()

    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        requests.get(url(lro_emulator), timeout=GUARD)


def test_malformed_answers_200_with_json_that_does_not_parse(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME, metadata=struct(state="RUNNING"))
    fault = lro_emulator.fault(rpc="GetOperation").malformed()

    response = requests.get(url(lro_emulator), timeout=GUARD)

    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content)
    with pytest.raises(ValueError, match=r"."):
        json.loads(response.content)
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()
    assert lro_emulator.calls.last.fault is fault


def test_truncate_answers_a_complete_response_holding_a_prefix_of_the_json(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME, metadata=struct(state="RUNNING", rows=12345))
    lro_emulator.fault(rpc="GetOperation", nth=2).truncate()
    whole = requests.get(url(lro_emulator), timeout=GUARD).content

    received, error = raw_get(lro_emulator)

    assert error is None
    status_line, headers, body = split_response(received)
    assert status_line.split(" ", 2)[1] == "200"
    assert int(headers["content-length"]) == len(body), "the response itself must be complete"
    assert 0 < len(body) < len(whole)
    assert whole.startswith(body)
    with pytest.raises(ValueError, match=r"."):
        json.loads(body)


RESPONSES = [
    pytest.param({"name": 5, "done": "yes", "surprise": [1, 2]}, 200, "OK", id="schema-violating-operation"),
    pytest.param(["not", "an", "operation"], 200, "OK", id="a-list"),
    pytest.param("just text", 200, "OK", id="a-string"),
    pytest.param(None, 200, "OK", id="null"),
    pytest.param({"error": "not an envelope"}, 503, "UNAVAILABLE", id="a-bad-envelope-with-503"),
    pytest.param({}, 418, None, id="an-unusual-status"),
]


@pytest.mark.parametrize(("body", "status", "code"), RESPONSES)
def test_respond_sends_exactly_the_body_unvalidated(
    lro_emulator: Emulator, body: Any, status: int, code: str | None
) -> None:
    lro_emulator.add_operation(NAME)
    fault = lro_emulator.fault(rpc="GetOperation").respond(body, status=status)

    response = requests.get(url(lro_emulator), timeout=GUARD)

    assert response.status_code == status
    assert response.json() == body
    [call] = lro_emulator.calls
    assert call.fault is fault
    assert call.validated is False
    assert call.status == status
    if code is not None:
        assert call.code == code
    assert lro_emulator.problems == []


def test_unfaulted_and_other_effects_are_validated(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.fault(rpc="GetOperation", nth=2).error()

    rest_call(http, "GetOperation")
    rest_call(http, "GetOperation")

    assert [call.validated for call in lro_emulator.calls] == [True, True]


@pytest.mark.parametrize("rpc", ["CancelOperation", "DeleteOperation"])
@pytest.mark.parametrize("effect", list(EFFECTS))
def test_only_effects_that_serve_the_call_change_the_store(lro_emulator: Emulator, rpc: str, effect: str) -> None:
    op = lro_emulator.add_operation(NAME, metadata=struct(state="RUNNING"))
    script, serves = EFFECTS[effect]
    script(lro_emulator.fault(rpc=rpc))
    method, path = REST_CALLS[rpc]

    try:
        requests.request(method, lro_emulator.url + path.format(name=NAME), timeout=GUARD)
    except requests.exceptions.RequestException:
        assert effect in ("reset", "disconnect")

    assert lro_emulator.calls.call_count == 1
    if rpc == "CancelOperation":
        assert op.done is serves
    else:
        assert (NAME not in [operation.name for operation in lro_emulator.operations]) is serves


def test_a_start_method_is_faulted_by_its_rpc(lro_emulator: Emulator) -> None:
    starter = lro_emulator.on_start(http="POST /v1/{parent=projects/*/locations/*}/workflows", body="workflow")
    fault = lro_emulator.fault(rpc=starter.rpc, first=1).error("RESOURCE_EXHAUSTED")
    by_name = lro_emulator.fault(rpc=starter.rpc, name="*").error("INTERNAL")
    start = f"{lro_emulator.url}/v1/projects/p/locations/l/workflows"

    refused = requests.post(start, json={"name": "w"}, timeout=GUARD)
    served = requests.post(start, json={"name": "w"}, timeout=GUARD)

    assert refused.status_code == 429
    assert served.status_code == 200
    assert [operation.name for operation in starter.operations] == [served.json()["name"]]
    assert [call.rpc for call in fault.fired] == ["POST /v1/{parent=projects/*/locations/*}/workflows"]
    assert by_name.matched == 0, "start calls have no name, so a name pattern never aims at them"


def test_a_served_effect_on_a_start_creates_the_operation(lro_emulator: Emulator) -> None:
    starter = lro_emulator.on_start(http="POST /v1/{parent=projects/*/locations/*}/workflows", body="workflow")
    lro_emulator.fault(rpc=starter.rpc).malformed()

    response = requests.post(f"{lro_emulator.url}/v1/projects/p/locations/l/workflows", json={}, timeout=GUARD)

    assert response.status_code == 200
    assert len(starter.operations) == 1
    assert lro_emulator.calls.last.name == starter.operations[0].name


# -- effects over gRPC -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        pytest.param({}, grpc.StatusCode.UNAVAILABLE, "injected fault: UNAVAILABLE", id="default"),
        pytest.param({"code": "RESOURCE_EXHAUSTED", "message": "quota"}, grpc.StatusCode.RESOURCE_EXHAUSTED, "quota",
                     id="name"),
        pytest.param({"code": 10, "message": "try again"}, grpc.StatusCode.ABORTED, "try again", id="number"),
    ],
)
def test_grpc_error_carries_status_error_info_and_retry_info(
    lro_emulator: Emulator, stub: Stub, arguments: dict[str, Any], code: grpc.StatusCode, message: str
) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.fault(rpc="GetOperation").error(**arguments, retry_delay=2.5)

    error = grpc_failure(lambda: stub.GetOperation(operations_pb2.GetOperationRequest(name=NAME), timeout=GUARD))

    assert error.code() == code
    assert error.details() == message
    status = rpc_status.from_call(error)
    assert status is not None
    assert status.code == code.value[0]
    [info] = details_of(error, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain) == ("INJECTED_FAULT", "lro-emulator")
    [retry] = details_of(error, error_details_pb2.RetryInfo)
    assert retry.retry_delay.ToTimedelta() == timedelta(seconds=2.5)
    assert lro_emulator.calls.last.code == code.name


GRPC_EFFECTS = [
    pytest.param("reset", grpc.StatusCode.UNAVAILABLE, False, id="reset"),
    pytest.param("disconnect", grpc.StatusCode.UNAVAILABLE, True, id="disconnect"),
    pytest.param("malformed", grpc.StatusCode.INTERNAL, True, id="malformed"),
    pytest.param("truncate", grpc.StatusCode.INTERNAL, True, id="truncate"),
    pytest.param("error", grpc.StatusCode.UNAVAILABLE, False, id="error"),
]


@pytest.mark.parametrize("rpc", ["GetOperation", "CancelOperation"])
@pytest.mark.parametrize(("effect", "code", "serves"), GRPC_EFFECTS)
def test_grpc_effects_end_the_call_as_a_client_would_see_it(
    lro_emulator: Emulator, stub: Stub, rpc: str, effect: str, code: grpc.StatusCode, serves: bool
) -> None:
    op = lro_emulator.add_operation(NAME, metadata=struct(state="RUNNING"))
    script, _ = EFFECTS[effect]
    fault = script(lro_emulator.fault(rpc=rpc))

    assert grpc_call(stub, rpc) == code

    [call] = lro_emulator.calls
    assert (call.transport, call.fault) == ("grpc", fault)
    assert op.done is (serves and rpc == "CancelOperation")


def test_grpc_malformed_is_the_clients_deserialization_failure(lro_emulator: Emulator, stub: Stub) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.fault(rpc="GetOperation").malformed()

    error = grpc_failure(lambda: stub.GetOperation(operations_pb2.GetOperationRequest(name=NAME), timeout=GUARD))

    assert error.code() == grpc.StatusCode.INTERNAL
    assert "deserializ" in error.details().lower()


def test_grpc_delay_past_the_deadline_ends_deadline_exceeded_with_the_clock_at_the_deadline(
    lro_emulator: Emulator, stub: Stub
) -> None:
    lro_emulator.add_operation(NAME)
    fault = lro_emulator.fault(rpc="GetOperation").delay(60)
    before = lro_emulator.clock.now()

    assert grpc_call(stub, "GetOperation", timeout=2) == grpc.StatusCode.DEADLINE_EXCEEDED

    moved = (lro_emulator.clock.now() - before).total_seconds()
    assert 1.0 < moved < 2.25, f"the clock moved {moved}s for a 2s deadline"
    [call] = lro_emulator.calls
    assert (call.code, call.fault) == ("DEADLINE_EXCEEDED", fault)


def test_grpc_delay_within_the_deadline_moves_the_clock_by_the_delay(lro_emulator: Emulator, stub: Stub) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.fault(rpc="GetOperation").delay(45)
    before = lro_emulator.clock.now()

    assert grpc_call(stub, "GetOperation", timeout=None) == grpc.StatusCode.OK

    assert lro_emulator.clock.now() - before == timedelta(seconds=45)


def test_grpc_hang_holds_until_the_deadline(lro_emulator: Emulator, stub: Stub) -> None:
    lro_emulator.add_operation(NAME)
    fault = lro_emulator.fault(rpc="GetOperation").hang()

    assert grpc_call(stub, "GetOperation", timeout=0.3) == grpc.StatusCode.DEADLINE_EXCEEDED

    [call] = lro_emulator.calls
    assert call.fault is fault


# -- a paced emulator --------------------------------------------------------------------------------------


@pytest.fixture
def paced() -> Iterator[Emulator]:
    emulator = Emulator(speed=3600).start()
    try:
        yield emulator
    finally:
        emulator.stop()


def test_a_paced_emulator_holds_a_delayed_answer_in_real_time(paced: Emulator) -> None:
    op = paced.add_operation(NAME)
    paced.fault(rpc="GetOperation").delay(3600)
    before = paced.clock.now()
    started = time.monotonic()

    response = requests.get(url(paced), timeout=GUARD + 5)

    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response.json()["name"] == op.name
    assert 0.5 < elapsed < GUARD, f"a 3600 s delay at speed 3600 took {elapsed:.2f} real s"
    assert paced.clock.now() - before >= timedelta(seconds=3600)


def test_a_paced_emulator_notices_a_client_that_gave_up(paced: Emulator) -> None:
    paced.add_operation(NAME)
    paced.fault(rpc="GetOperation").delay(36000)  # ten real seconds at speed 3600
    before = set(threading.enumerate())

    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(url(paced), timeout=0.3)

    assert paced.calls.call_count == 1
    for thread in handler_threads(before):
        thread.join(GUARD / 2)
        assert not thread.is_alive(), "the delayed answer was still held after the client hung up"


def test_a_paced_hold_does_not_hold_other_calls(paced: Emulator) -> None:
    paced.add_operation(NAME)
    paced.add_operation(OTHER)
    paced.fault(name=NAME).delay(2 * 3600)  # two real seconds at speed 3600
    arrived = threading.Event()
    paced.observe(lambda call: arrived.set() if call.name == NAME else None)
    answers: list[int] = []
    held = threading.Thread(target=lambda: answers.append(requests.get(url(paced), timeout=GUARD).status_code))
    held.start()
    try:
        assert arrived.wait(GUARD), "the held call never arrived"

        other = requests.get(url(paced, OTHER), timeout=GUARD)

        assert other.status_code == 200
        assert held.is_alive(), "the other call was answered only after the held one"
    finally:
        held.join(GUARD)
    assert answers == [200]


# -- scripting errors --------------------------------------------------------------------------------------

AIM_ERRORS = [
    pytest.param({"nth": 1, "first": 2}, r"selects calls one way: give one of nth=, first=, during=, probability=, "
                 r"not nth and first", id="nth-and-first"),
    pytest.param({"first": 1, "probability": 0.5}, r"not first and probability", id="first-and-probability"),
    pytest.param({"during": (1, 2), "nth": 1}, r"not nth and during", id="nth-and-during"),
    pytest.param({"nth": 0}, r"fault\(nth=\) counts calls from 1; got 0", id="nth-0"),
    pytest.param({"first": -1}, r"fault\(first=\) counts calls from 1; got -1", id="first-negative"),
    pytest.param({"nth": True}, r"fault\(nth=\) counts calls from 1; got True", id="nth-bool"),
    pytest.param({"nth": 2.0}, r"fault\(nth=\) counts calls from 1; got 2.0", id="nth-float"),
    pytest.param({"probability": 1.5}, r"fault\(probability=\) must be a number from 0 to 1, got 1.5", id="p-1.5"),
    pytest.param({"probability": -0.1}, r"from 0 to 1, got -0.1", id="p-negative"),
    pytest.param({"probability": "0.5"}, r"from 0 to 1, got '0.5'", id="p-string"),
    pytest.param({"probability": True}, r"from 0 to 1, got True", id="p-bool"),
    pytest.param({"transport": "https"}, r"fault\(transport=\) must be 'http' or 'grpc', got 'https'", id="https"),
    pytest.param({"transport": "REST"}, r"must be 'http' or 'grpc', got 'REST'", id="rest"),
    pytest.param({"rpc": ""}, r"fault\(rpc=\) must be a non-empty string, got ''", id="rpc-empty"),
    pytest.param({"name": 5}, r"fault\(name=\) must be a non-empty string, got 5", id="name-number"),
    pytest.param({"during": (10,)}, r"fault\(during=\) is a pair \(from, to\), got \(10,\)", id="during-one"),
    pytest.param({"during": 10}, r"fault\(during=\) is a pair \(from, to\), got 10", id="during-number"),
    pytest.param({"during": (20, 10)}, r"fault\(during=\) must end after it starts, got \(20, 10\)",
                 id="during-backwards"),
    pytest.param({"during": (10, 10)}, r"must end after it starts", id="during-empty"),
    pytest.param({"during": ("soon", 10)}, r"fault\(during=\): 'soon' is not an RFC 3339 timestamp", id="during-text"),
    pytest.param({"during": ("2030-02-30T00:00:00Z", "2030-03-01T00:00:00Z")},
                 r"'2030-02-30T00:00:00Z' is not an RFC 3339 timestamp", id="during-impossible-date"),
    pytest.param({"seed": 1.5}, r"fault\(seed=\) must be an int or a string, got 1.5", id="seed-float"),
]


@pytest.mark.parametrize(("aim", "message"), AIM_ERRORS)
def test_a_bad_aim_is_a_script_error_that_adds_no_fault(
    lro_emulator: Emulator, aim: dict[str, Any], message: str
) -> None:
    with pytest.raises(ScriptError, match=message):
        lro_emulator.fault(**aim)

    assert lro_emulator.faults == []


EFFECT_ERRORS = [
    pytest.param({}, lambda b: b.delay(-1), r"delay\(\) needs a positive duration, got -1", id="delay-negative"),
    pytest.param({}, lambda b: b.delay(0), r"delay\(\) needs a positive duration, got 0", id="delay-zero"),
    pytest.param({}, lambda b: b.delay("soon"), r"'soon' is not a duration", id="delay-text"),
    pytest.param({}, lambda b: b.delay(float("nan")), r"delay\(\) of nan seconds is out of range", id="delay-nan"),
    pytest.param({}, lambda b: b.hang(limit=0), r"hang\(limit=\) is real seconds, more than 0 and at most 3600; got 0",
                 id="hang-0"),
    pytest.param({}, lambda b: b.hang(limit=3601), r"at most 3600; got 3601", id="hang-too-long"),
    pytest.param({}, lambda b: b.hang(limit=True), r"at most 3600; got True", id="hang-bool"),
    pytest.param({}, lambda b: b.respond({}, status=100), r"respond\(status=\) must be an HTTP status from 200 to 599, "
                 r"got 100", id="respond-100"),
    pytest.param({}, lambda b: b.respond({}, status=600), r"got 600", id="respond-600"),
    pytest.param({}, lambda b: b.respond({}, status=True), r"got True", id="respond-status-bool"),
    pytest.param({}, lambda b: b.respond({"a": 1}, status=204), r"204", id="respond-body-with-204"),
    pytest.param({}, lambda b: b.respond({"a": 1}, status=304), r"304", id="respond-body-with-304"),
    pytest.param({"transport": "grpc"}, lambda b: b.respond({}), r"respond\(\) sends a JSON body, which gRPC does not "
                 r"carry", id="respond-over-grpc"),
    pytest.param({}, lambda b: b.respond({1, 2}), r"respond\(\) body has no JSON form: /: a set has no JSON form",
                 id="respond-set"),
    pytest.param({}, lambda b: b.respond({"a": [{1}]}), r"no JSON form: /a/0: a set", id="respond-nested-set"),
    pytest.param({}, lambda b: b.respond({"n": float("nan")}), r"/n: nan is not a JSON number", id="respond-nan"),
    pytest.param({}, lambda b: b.respond({1: "x"}), r"/: the key 1 is not text", id="respond-int-key"),
    pytest.param({}, lambda b: b.error(code="OK"), r"error\(\): a StatusError needs an error code, not OK",
                 id="error-ok"),
    pytest.param({}, lambda b: b.error(code=0), r"not OK", id="error-0"),
    pytest.param({}, lambda b: b.error(code="NOPE"), r"error\(\): 'NOPE' is not a google.rpc.Code name",
                 id="error-unknown-name"),
    pytest.param({}, lambda b: b.error(code=99), r"99 is not a google.rpc.Code number", id="error-unknown-number"),
    pytest.param({}, lambda b: b.error(message=5), r"message and reason must be strings", id="error-message"),
    pytest.param({}, lambda b: b.error(retry_delay="soon"), r"'soon' is not a duration", id="retry-delay-text"),
    pytest.param({}, lambda b: b.error(retry_delay=-1), r"retry_delay", id="retry-delay-negative"),
    pytest.param({}, lambda b: b.error(details=["x"]), r"detail is a google.rpc message or its JSON with @type",
                 id="detail-string"),
    pytest.param({}, lambda b: b.error(details=[{"@type": RETRY_INFO, "retryDelay": "soon"}]), r"retryDelay",
                 id="detail-invalid-retry-info"),
]


@pytest.mark.parametrize(("aim", "effect", "message"), EFFECT_ERRORS)
def test_a_bad_effect_is_a_script_error_that_adds_no_fault(
    lro_emulator: Emulator, aim: dict[str, Any], effect: Callable[[FaultBuilder], Fault], message: str
) -> None:
    builder = lro_emulator.fault(**aim)

    with pytest.raises(ScriptError, match=message):
        effect(builder)

    assert lro_emulator.faults == []


def test_once_grpc_serves_an_error_detail_must_pack(lro_emulator: Emulator) -> None:
    assert lro_emulator.grpc_target

    with pytest.raises(ScriptError, match=r"example\.v1\.Unknown"):
        lro_emulator.fault().error(details=[UNREGISTERED])

    assert lro_emulator.faults == []


def test_an_invalid_error_envelope_keeps_its_http_status_and_code_in_agreement(lro_emulator: Emulator) -> None:
    def refuse(operation: Any, request: Any) -> None:
        raise StatusError("UNAVAILABLE", "later", details=[{"@type": RETRY_INFO, "retryDelay": "soon"}])

    lro_emulator.on_start(http="POST /v1/{parent=projects/*/locations/*}/workflows", script=refuse)

    response = requests.post(f"{lro_emulator.url}/v1/projects/p/locations/l/workflows", json={}, timeout=GUARD)

    with pytest.raises(EmulatorFailure):  # the test's own bad detail is recorded; consumed here
        lro_emulator.check()
    assert response.json()["error"]["code"] == response.status_code, (
        f"HTTP {response.status_code} carries an envelope saying {response.json()['error']['code']}")


# -- scenario files ----------------------------------------------------------------------------------------

FAULTY_SCENARIO = """\
operations:
  - name: projects/p/operations/export-1
    metadata: {"@type": type.googleapis.com/google.protobuf.Struct, value: {state: RUNNING}}
faults:
  - rpc: GetOperation
    name: projects/p/operations/export-*
    first: 1
    error: {code: UNAVAILABLE, message: backend restarting, retryDelay: 2s}
  - rpc: CancelOperation
    respond: {body: {surprise: true}, status: 200}
  - rpc: ListOperations
    transport: http
    during: [0s, "2030-01-01T00:01:00Z"]
    delay: 30s
  - rpc: DeleteOperation
    nth: 2
    reset: true
auth:
  token: [good]
"""


def test_a_scenarios_faults_and_auth_load_and_fire(lro_emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "flaky.yaml"
    path.write_text(FAULTY_SCENARIO)

    loaded = lro_emulator.load_scenario(path)

    assert loaded.faults == lro_emulator.faults
    assert [fault.effect.value for fault in loaded.faults] == ["error", "respond", "delay", "reset"]
    token = {"Authorization": "Bearer good"}
    assert requests.get(url(lro_emulator), timeout=GUARD).status_code == 401
    flaky = requests.get(url(lro_emulator), headers=token, timeout=GUARD)
    assert flaky.status_code == 503
    assert flaky.json()["error"]["message"] == "backend restarting"
    assert {"@type": RETRY_INFO, "retryDelay": "2s"} in flaky.json()["error"]["details"]
    assert requests.get(url(lro_emulator), headers=token, timeout=GUARD).status_code == 200
    cancelled = requests.post(f"{url(lro_emulator)}:cancel", headers=token, timeout=GUARD)
    assert (cancelled.status_code, cancelled.json()) == (200, {"surprise": True})
    before = lro_emulator.clock.now()
    assert requests.get(f"{lro_emulator.url}/v1/projects/p/operations", headers=token, timeout=GUARD).ok
    assert lro_emulator.clock.now() - before == timedelta(seconds=30)
    assert [len(fault.fired) for fault in loaded.faults] == [1, 1, 1, 0]
    assert lro_emulator.calls[0].code == "UNAUTHENTICATED"
    assert lro_emulator.calls[0].fault is None


BAD_FAULTS = [
    pytest.param("  - rpc: GetOperation\n    nth: 1\n    first: 2\n    reset: true\n", "/faults/1", 0,
                 "selects calls one way", id="two-selectors"),
    pytest.param("  - rpc: GetOperation\n    reset: true\n    malformed: true\n", "/faults/1", 0,
                 "exactly one effect", id="two-effects"),
    pytest.param("  - rpc: GetOperation\n    first: 1\n", "/faults/1", 0, "exactly one effect", id="no-effect"),
    pytest.param("  - rpc: GetOperation\n    delay: soon\n", "/faults/1/delay", 1, "duration", id="bad-duration"),
    pytest.param("  - rpc: GetOperation\n    error: {code: UNAVAILABLE, retryDelay: -2s}\n",
                 "/faults/1/error/retryDelay", 1, "duration", id="negative-retry-delay"),
    pytest.param("  - rpc: GetOperation\n    during: [20s, 10s]\n    reset: true\n", "/faults/1", 0,
                 "must end after it starts", id="backwards-window"),
    pytest.param("  - transport: grpc\n    respond: {body: {}}\n", "/faults/1", 0, "gRPC does not carry",
                 id="respond-over-grpc"),
]


@pytest.mark.parametrize(("fault", "pointer", "line_in_fault", "message"), BAD_FAULTS)
def test_a_bad_fault_in_a_scenario_is_reported_where_it_is_and_loads_nothing(
    lro_emulator: Emulator, http: Client, tmp_path: Path, fault: str, pointer: str, line_in_fault: int, message: str
) -> None:
    text = ("operations:\n  - name: projects/p/operations/export-1\n"
            "faults:\n  - rpc: GetOperation\n    reset: true\n" + fault + "auth: {token: good}\n")
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    line = 6 + line_in_fault  # the bad fault starts on line 6

    with pytest.raises(ScenarioError) as caught:
        lro_emulator.load_scenario(path)

    [problem] = caught.value.problems
    assert (problem.pointer, problem.line) == (pointer, line)
    assert message in problem.message
    assert f"{path}:{line}: {pointer}: " in str(caught.value)
    assert lro_emulator.faults == []
    assert lro_emulator.operations == []
    assert http.get("/v1/projects/p/operations").status_code == 200, "the scenario's auth was applied"


def test_the_control_plane_loads_faults_and_lists_faulted_calls(lro_emulator: Emulator) -> None:
    scenario = {
        "operations": [{"name": NAME}],
        "faults": [
            {"rpc": "GetOperation", "nth": 1, "respond": {"body": {"name": 7}}},
            {"rpc": "GetOperation", "nth": 2, "error": {"code": "UNAVAILABLE"}},
        ],
    }
    loaded = requests.post(f"{lro_emulator.url}/_emulator/v1/scenario:load", json=scenario, timeout=GUARD)
    assert loaded.status_code == 200, loaded.text

    statuses = [requests.get(url(lro_emulator), timeout=GUARD).status_code for _ in range(3)]
    listing = requests.get(f"{lro_emulator.url}/_emulator/v1/calls", timeout=GUARD).json()

    assert statuses == [200, 503, 200]
    calls = listing["calls"]
    assert [(call.get("fault"), call.get("validated")) for call in calls] == [
        ("fault 1: respond 200 (unvalidated) on GetOperation over http, call 1 only", False),
        ("fault 2: error UNAVAILABLE on GetOperation, call 2 only", True),
        (None, None),
    ]


# -- the call log ------------------------------------------------------------------------------------------


def test_control_plane_calls_are_never_faulted(lro_emulator: Emulator) -> None:
    every = lro_emulator.fault().error("INTERNAL")
    control = f"{lro_emulator.url}/_emulator/v1"

    answers = [
        requests.get(f"{control}/clock", timeout=GUARD),
        requests.post(f"{control}/clock:advance", json={"duration": "5s"}, timeout=GUARD),
        requests.post(f"{control}/operations", json={"name": NAME}, timeout=GUARD),
        requests.get(f"{control}/calls", timeout=GUARD),
        requests.get(control, timeout=GUARD),
    ]

    assert [answer.status_code for answer in answers] == [200] * len(answers)
    assert every.matched == 0
    assert lro_emulator.calls.call_count == 0


def test_requests_that_match_no_route_are_never_faulted(lro_emulator: Emulator, http: Client) -> None:
    every = lro_emulator.fault().error("INTERNAL")

    response = http.get("/v1/projects/p/nothing-here")

    assert response.status_code == 404
    assert response.get_json()["error"]["details"][0]["reason"] == "ROUTE_NOT_FOUND"
    assert every.matched == 0


def test_the_call_log_line_names_the_fault(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation(NAME)
    fault = lro_emulator.fault(rpc="GetOperation", name="projects/p/operations/*", first=2).error()

    rest_call(http, "GetOperation")

    call = lro_emulator.calls.last
    assert call.fault is fault
    assert call.line(START).endswith(
        "503 UNAVAILABLE  [fault 1: error UNAVAILABLE on GetOperation projects/p/operations/*, first 2 calls]")
    assert lro_emulator.calls.filter(faulted=True).call_count == 1
