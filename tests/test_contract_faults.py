"""Contract: injected faults, seen through google-api-core's real Operations clients over loopback.

Each fault is checked by what the real client raises (or rides out) and by the emulator's call
log, over REST (``AbstractOperationsClient`` on ``OperationsRestTransport``) and gRPC
(``OperationsClient`` on a channel), and for retries and poll intervals the async clients too:

- two transient UNAVAILABLE polls are retried inside ``get_operation`` and the result arrives;
- UNAVAILABLE that outlasts the per-call retry deadline surfaces as ``RetryError`` (and, through a
  future, as the ``TimeoutError`` the future makes of it);
- a delayed or hung poll trips the client's per-call timeout (gRPC: ``DeadlineExceeded``; REST:
  requests' ``ReadTimeout``);
- malformed and truncated bodies are the client's parse error, dropped connections its connection
  errors, and a cancel is applied or not as the fault says;
- the intervals between polls are exactly the client's backoff replayed from the seeded jitter;
- required credentials are accepted or refused as each client reports it;
- a probabilistic fault fires on the same calls on every run with the same seed.

Time is virtual (the fixture's default), so hour-long operations and retry deadlines pass at once.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import random
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import grpc
import pytest
import pytest_asyncio
import requests
from google.api_core import exceptions, operation, operations_v1
from google.api_core.future import polling
from google.api_core.operations_v1.transports.rest import OperationsRestTransport
from google.api_core.retry import exponential_sleep_generator
from google.auth import credentials as auth_credentials
from google.auth import exceptions as auth_exceptions
from google.oauth2 import credentials as oauth2_credentials
from google.protobuf import json_format, struct_pb2

from lro_emulator import Emulator, OperationHandle

from .clients import SYNC_KINDS, OperationsClientUnderTest, open_client
from .helpers import WALL_GUARD_SECONDS, struct, wall

HOUR = 3600
#: Each client's default per-call Retry of get_operation: (initial, maximum, multiplier, deadline).
#: Both retry ServiceUnavailable (gRPC also DeadlineExceeded); the REST ones give up after 10 s, the gRPC ones 600 s.
PER_CALL_RETRY = {"http": (0.5, 10.0, 2.0, 10.0), "grpc": (0.1, 60.0, 1.3, 600.0)}
#: The sync future's default polling (``polling.DEFAULT_POLLING``): initial, maximum, multiplier.
DEFAULT_POLLING = (1.0, 20.0, 1.5)


def _sync_client(kind: str, emulator: Emulator, credentials: Any = None) -> OperationsClientUnderTest:
    if kind == "rest":
        transport = OperationsRestTransport(
            host=emulator.url, credentials=credentials or auth_credentials.AnonymousCredentials())
        return OperationsClientUnderTest(kind, operations_v1.AbstractOperationsClient(transport=transport),
                                         [transport._session.close])
    channel = grpc.insecure_channel(emulator.grpc_target)
    return OperationsClientUnderTest(kind, operations_v1.OperationsClient(channel), [channel.close])


def _close(client: OperationsClientUnderTest) -> None:
    for closer in reversed(client.closers):
        closer()


@pytest.fixture(params=SYNC_KINDS)
def ops(request: pytest.FixtureRequest, lro_emulator: Emulator) -> Iterator[OperationsClientUnderTest]:
    """google-api-core's sync REST and gRPC Operations clients in turn, pointed at the emulator."""
    client = _sync_client(request.param, lro_emulator)
    yield client
    _close(client)


@pytest_asyncio.fixture
async def async_ops(request: pytest.FixtureRequest, lro_emulator: Emulator) -> AsyncIterator[OperationsClientUnderTest]:
    """The async client named by the test's indirect parameter, behind tests/clients.py's interface."""
    client = await open_client(request.param, lro_emulator)
    yield client
    await client.close()


def replayed_sleeps(
    seed: int, *backoffs: tuple[float, float, float], until: float, first: int = 0
) -> tuple[list[float], Any]:
    """The sleeps of google-api-core's backoff under ``random.seed(seed)``, until they add up to ``until``.

    Replays the client's own generator on the global ``random`` (restored after). With two backoffs,
    the first gives the ``first`` sleeps (a per-call Retry's) and the second the rest (the polling's).
    Returns the generator's state after the last draw too, so that a test can check that nothing
    else drew meanwhile.
    """
    saved = random.getstate()
    try:
        random.seed(seed)
        sleeps: list[float] = []
        if first:
            retrying = exponential_sleep_generator(*backoffs[0])
            sleeps.extend(next(retrying) for _ in range(first))
        generator = exponential_sleep_generator(*backoffs[-1])
        while sum(sleeps) < until:
            sleeps.append(next(generator))
        return sleeps, random.getstate()
    finally:
        random.setstate(saved)


def run_future(client: Any, emulator: Emulator, done_at: float, **result_options: Any) -> OperationHandle:
    """A from_gapic future on an operation that succeeds at ``done_at``, run to its result; returns the op handle."""
    op = emulator.add_operation(metadata=struct(state="RUNNING"))
    op.succeed(struct(rows=done_at), at=done_at)
    future = operation.from_gapic(client.get_operation(op.name), client, struct_pb2.Struct)
    assert dict(future.result(**result_options)) == {"rows": done_at}
    return op


# -- 1. transient UNAVAILABLE is retried ------------------------------------------------------------------


@pytest.mark.lro_emulator(seed=3)
def test_two_unavailable_polls_are_retried_by_get_operation_and_the_hour_long_result_arrives(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    """The future's polling Retry retries only "not done yet"; the UNAVAILABLE polls are retried inside
    get_operation by the client's default per-call Retry, which retries ServiceUnavailable over REST
    (0.5 s initial, x2) and over gRPC (0.1 s initial, x1.3), so no retry= is given.
    """
    op = lro_emulator.add_operation(metadata=struct(state="RUNNING"))
    op.succeed(struct(rows=1000), at=HOUR)
    started = wall()
    future = operation.from_gapic(ops.client.get_operation(op.name), ops.client, struct_pb2.Struct)
    fault = lro_emulator.fault(rpc="GetOperation", name=op.name, first=2).error("UNAVAILABLE")

    result = future.result(timeout=2 * HOUR)

    assert dict(result) == {"rows": 1000}
    assert len(fault.fired) == 2
    polls = op.calls.polls
    assert fault.matched == polls.call_count - 1  # every poll after the first get
    assert [call.code for call in polls[:4]] == ["OK", "UNAVAILABLE", "UNAVAILABLE", "OK"]
    assert [call.fault for call in polls[1:3]] == [fault, fault]
    polls.filter(faulted=True).assert_call_count(2)
    assert all(call.code == "OK" for call in polls[3:])
    assert polls[-1].time - op.created >= timedelta(seconds=HOUR)
    initial, maximum, multiplier, _ = PER_CALL_RETRY[ops.transport]
    # The first future poll comes at once; the two retries wait at most the per-call Retry's first two delays.
    op.calls.assert_poll_intervals(at_most=[0.0, initial, initial * multiplier])
    # Exactly: two sleeps of the per-call Retry, then the polling backoff, all from the fixture's seeded jitter.
    sleeps, _ = replayed_sleeps(3, (initial, maximum, multiplier), DEFAULT_POLLING, until=HOUR, first=2)
    op.calls.assert_poll_intervals([0.0, *sleeps])
    assert wall() - started < WALL_GUARD_SECONDS


@pytest.mark.asyncio
@pytest.mark.parametrize("async_ops", ["rest-async"], indirect=True)
async def test_the_async_rest_session_rides_out_two_unavailable_polls_itself(
    lro_emulator: Emulator, async_ops: OperationsClientUnderTest
) -> None:
    """google-auth's AsyncAuthorizedSession retries a 503 itself (3 attempts, 1 s then 2 s, +-10 % jitter),
    before google-api-core sees any error: two faulted polls never reach the future.
    """
    op = lro_emulator.add_operation().succeed(struct(rows=1000), at=HOUR)
    started = wall()
    future = await async_ops.future(op.name, struct_pb2.Struct)
    fault = lro_emulator.fault(rpc="GetOperation", name=op.name, first=2).error("UNAVAILABLE")

    result = await future.result(timeout=2 * HOUR)

    assert dict(result) == {"rows": 1000}
    assert len(fault.fired) == 2
    assert [call.code for call in op.calls.polls[:4]] == ["OK", "UNAVAILABLE", "UNAVAILABLE", "OK"]
    op.calls.assert_poll_intervals(at_least=[0.0, 0.9, 1.8], at_most=[0.0, 1.1, 2.2])
    assert wall() - started < WALL_GUARD_SECONDS


@pytest.mark.asyncio
@pytest.mark.parametrize("async_ops", ["grpc-async"], indirect=True)
async def test_an_async_grpc_future_fails_on_the_first_unavailable_poll(
    lro_emulator: Emulator, async_ops: OperationsClientUnderTest
) -> None:
    """Async futures call get_operation with their own retry (async_future.DEFAULT_RETRY), which retries
    429, 500 and 502 but not 503, and poll with the same predicate: UNAVAILABLE ends the future at once.
    """
    op = lro_emulator.add_operation().succeed(at=HOUR)
    future = await async_ops.future(op.name, struct_pb2.Struct)
    fault = lro_emulator.fault(rpc="GetOperation", name=op.name, first=2).error("UNAVAILABLE")

    with pytest.raises(exceptions.ServiceUnavailable, match="injected fault: UNAVAILABLE") as raised:
        await future.result(timeout=2 * HOUR)

    assert raised.value.reason == "INJECTED_FAULT"
    assert len(fault.fired) == 1
    assert [call.code for call in op.calls.polls] == ["OK", "UNAVAILABLE"]
    assert not op.done


# -- 2. a fault that outlasts the retry deadline ------------------------------------------------------------


def test_unavailable_outlasting_the_per_call_retry_deadline_raises_retry_error(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    op = lro_emulator.add_operation()
    *_, deadline = PER_CALL_RETRY[ops.transport]
    started = lro_emulator.clock.now()
    fault = lro_emulator.fault(rpc="GetOperation", during=(0, 2 * deadline)).error("UNAVAILABLE")

    with pytest.raises(exceptions.RetryError, match=re.escape(f"Timeout of {deadline:.1f}s exceeded")) as raised:
        ops.client.get_operation(op.name)

    assert type(raised.value.cause) is exceptions.ServiceUnavailable
    assert raised.value.__cause__ is raised.value.cause
    assert raised.value.cause.reason == "INJECTED_FAULT"
    polls = op.calls.polls
    assert polls.call_count >= 2  # retried before giving up
    assert len(fault.fired) == polls.call_count
    polls.filter(faulted=False).assert_not_called()
    # The Retry gives up when its next sleep would pass the deadline, without sleeping it.
    assert lro_emulator.clock.now() - started <= timedelta(seconds=deadline)


def test_a_future_whose_poll_outlasts_the_retry_deadline_raises_timeout_error(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    """The future turns the RetryError of get_operation into concurrent.futures.TimeoutError naming its own
    polling timeout (7200 s here), although only the per-call deadline passed: the RetryError is its context.
    """
    op = lro_emulator.add_operation().succeed(at=HOUR)
    future = operation.from_gapic(ops.client.get_operation(op.name), ops.client, struct_pb2.Struct)
    *_, deadline = PER_CALL_RETRY[ops.transport]
    started = lro_emulator.clock.now()
    lro_emulator.fault(rpc="GetOperation", name=op.name).error("UNAVAILABLE")

    with pytest.raises(concurrent.futures.TimeoutError, match="designated timeout of 7200 seconds") as raised:
        future.result(timeout=2 * HOUR)

    retry_error = raised.value.__context__
    assert type(retry_error) is exceptions.RetryError
    assert type(retry_error.cause) is exceptions.ServiceUnavailable
    assert lro_emulator.clock.now() - started <= timedelta(seconds=deadline)
    assert not op.done
    assert all(call.code == "UNAVAILABLE" for call in op.calls.polls[1:])


def test_a_grpc_delay_past_every_deadline_ends_in_retry_error_from_deadline_exceeded(lro_emulator: Emulator) -> None:
    """gRPC's default per-call Retry also retries DeadlineExceeded, within the same 600 s as its timeout."""
    op = lro_emulator.add_operation()
    client = _sync_client("grpc", lro_emulator)
    started = lro_emulator.clock.now()
    fault = lro_emulator.fault(rpc="GetOperation").delay(700)
    try:
        with pytest.raises(exceptions.RetryError, match=r"Timeout of 600\.0s exceeded") as raised:
            client.client.get_operation(op.name)
    finally:
        _close(client)

    assert type(raised.value.cause) is exceptions.DeadlineExceeded
    assert len(fault.fired) == 1
    assert fault.fired.last.code == "DEADLINE_EXCEEDED"
    # The call's deadline was the whole 600 s: the clock moved to it, not by the 700 s delay.
    assert timedelta(seconds=590) <= lro_emulator.clock.now() - started <= timedelta(seconds=601)


# -- 3. per-call timeouts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "delay", "timeout", "error", "moved"),
    [
        # gRPC sends its deadline: the emulator ends the call DEADLINE_EXCEEDED when it would pass.
        # grpc-timeout travels rounded, so the server's deadline may be a few ms past the client's.
        ("grpc", 30, 5, exceptions.DeadlineExceeded, (4.0, 6.0)),
        ("grpc", 3, 5, None, (3.0, 3.0)),
        # requests keeps its timeout to itself, in real time: a virtual delay never trips it.
        ("rest", 30, 5, None, (30.0, 30.0)),
    ],
    ids=["grpc-delay-past-deadline", "grpc-delay-within-deadline", "rest-delay"],
)
def test_a_delayed_poll_moves_the_clock_and_trips_only_a_grpc_deadline(
    lro_emulator: Emulator, kind: str, delay: float, timeout: float, error: type[Exception] | None,
    moved: tuple[float, float],
) -> None:
    op = lro_emulator.add_operation()
    client = _sync_client(kind, lro_emulator)
    fault = lro_emulator.fault(rpc="GetOperation").delay(delay)
    before, started = lro_emulator.clock.now(), wall()
    try:
        if error is None:
            assert client.client.get_operation(op.name, timeout=timeout, retry=None).name == op.name
        else:
            with pytest.raises(error, match="Deadline Exceeded"):
                client.client.get_operation(op.name, timeout=timeout, retry=None)
    finally:
        _close(client)

    elapsed = (lro_emulator.clock.now() - before).total_seconds()
    assert moved[0] <= elapsed <= moved[1]
    assert len(fault.fired) == 1
    assert wall() - started < WALL_GUARD_SECONDS


@pytest.mark.parametrize(
    ("kind", "limit", "timeout", "options", "error", "message"),
    [
        # gRPC's default per-call Retry retries DeadlineExceeded, so it is switched off to see one call; the
        # message is grpcio's own, not the emulator's.
        ("grpc", 10.0, 0.3, {"retry": None}, exceptions.DeadlineExceeded, "^504 Deadline Exceeded$"),
        # REST's default per-call Retry retries only ServiceUnavailable: requests' timeout is not retried.
        ("rest", 10.0, 0.3, {}, requests.exceptions.ReadTimeout, r"read timeout=0\.3"),
        # A hang that ends before the client's timeout is an answer that came late.
        ("grpc", 0.2, 5.0, {"retry": None}, None, None),
        ("rest", 0.2, 5.0, {}, None, None),
    ],
    ids=["grpc-timeout", "rest-timeout", "grpc-late-answer", "rest-late-answer"],
)
def test_a_hung_poll_trips_the_clients_own_timer(
    lro_emulator: Emulator, kind: str, limit: float, timeout: float, options: dict[str, Any],
    error: type[Exception] | None, message: str | None,
) -> None:
    op = lro_emulator.add_operation()
    client = _sync_client(kind, lro_emulator)
    fault = lro_emulator.fault(rpc="GetOperation").hang(limit=limit)
    before, started = lro_emulator.clock.now(), wall()
    try:
        if error is None:
            assert client.client.get_operation(op.name, timeout=timeout, **options).name == op.name
        else:
            with pytest.raises(error, match=message) as raised:
                client.client.get_operation(op.name, timeout=timeout, **options)
            assert type(raised.value) is error
    finally:
        _close(client)

    op.calls.assert_polled(times=1)
    assert len(fault.fired) == 1
    assert lro_emulator.clock.now() == before  # a hang holds in real time only
    assert wall() - started < WALL_GUARD_SECONDS


# -- 4. broken answers ----------------------------------------------------------------------------------------

BROKEN_ANSWERS = {
    # effect: {transport: (exception raised, its message, (status, code) in the call log)}
    "malformed": {"http": (json_format.ParseError, "Failed to load JSON", (200, "OK")),
                  "grpc": (exceptions.InternalServerError, "Exception deserializing response!", (200, "OK"))},
    "truncate": {"http": (json_format.ParseError, "Failed to load JSON", (200, "OK")),
                 "grpc": (exceptions.InternalServerError, "Exception deserializing response!", (200, "OK"))},
    "reset": {"http": (requests.exceptions.ConnectionError, "Connection aborted", (0, "UNAVAILABLE")),
              "grpc": (exceptions.ServiceUnavailable, "Connection reset by peer", (503, "UNAVAILABLE"))},
    "disconnect": {"http": (requests.exceptions.ChunkedEncodingError, "IncompleteRead", (200, "OK")),
                   "grpc": (exceptions.ServiceUnavailable, "Socket closed", (503, "UNAVAILABLE"))},
}


@pytest.mark.parametrize("effect", BROKEN_ANSWERS)
def test_a_broken_answer_surfaces_as_the_clients_own_error(
    lro_emulator: Emulator, ops: OperationsClientUnderTest, effect: str
) -> None:
    op = lro_emulator.add_operation(metadata=struct(state="RUNNING"))
    fault = getattr(lro_emulator.fault(rpc="GetOperation", name=op.name), effect)()
    error, message, logged = BROKEN_ANSWERS[effect][ops.transport]

    with pytest.raises(error, match=message) as raised:
        ops.client.get_operation(op.name, retry=None)

    assert type(raised.value) is error
    if effect == "reset" and ops.transport == "http":
        assert isinstance(raised.value.args[0].args[1], ConnectionResetError)
    fault.fired.assert_called_once()
    assert (fault.fired.last.status, fault.fired.last.code) == logged


def test_an_unvalidated_rest_answer_with_an_unknown_field_is_the_clients_parse_error(
    lro_emulator: Emulator,
) -> None:
    op = lro_emulator.add_operation()
    client = _sync_client("rest", lro_emulator)
    fault = lro_emulator.fault(rpc="GetOperation").respond({"name": op.name, "done": False, "colour": "red"})
    try:
        with pytest.raises(json_format.ParseError, match="colour"):
            client.client.get_operation(op.name, retry=None)
    finally:
        _close(client)

    assert fault.fired.last.validated is False
    assert lro_emulator.problems == []  # sent on purpose: not a schema violation of the emulator


@pytest.mark.parametrize(
    ("effect", "rest_error", "applied"),
    [
        ("disconnect", requests.exceptions.ChunkedEncodingError, True),
        ("reset", requests.exceptions.ConnectionError, False),
        ("error", exceptions.ServiceUnavailable, False),
    ],
)
def test_a_cancel_is_applied_only_when_the_fault_comes_after_serving_it(
    lro_emulator: Emulator, ops: OperationsClientUnderTest, effect: str, rest_error: type[Exception], applied: bool
) -> None:
    op = lro_emulator.add_operation(metadata=struct(state="RUNNING"))
    before = op.snapshot()
    getattr(lro_emulator.fault(rpc="CancelOperation"), effect)()
    expected = rest_error if ops.transport == "http" else exceptions.ServiceUnavailable

    with pytest.raises(expected) as raised:
        ops.client.cancel_operation(op.name, retry=None)

    assert type(raised.value) is expected
    assert op.done is applied
    if applied:
        assert op.snapshot()["error"] == {"code": 1, "message": "The operation was cancelled."}
    else:
        assert op.snapshot() == before
    lro_emulator.calls.filter(rpc="CancelOperation").assert_called_once()


# -- 5. poll intervals are the client's backoff, seeded -------------------------------------------------------


@pytest.mark.parametrize(
    "seed", [pytest.param(seed, marks=pytest.mark.lro_emulator(seed=seed), id=f"seed={seed}") for seed in (7, 8)]
)
def test_poll_intervals_are_the_default_backoff_replayed_from_the_markers_seed(
    lro_emulator: Emulator, ops: OperationsClientUnderTest, seed: int
) -> None:
    op = run_future(ops.client, lro_emulator, 120)

    sleeps, state_after = replayed_sleeps(seed, DEFAULT_POLLING, until=120)
    # The first get builds the future, whose first poll follows at once; then one sleep before each poll.
    op.calls.assert_poll_intervals([0.0, *sleeps])
    assert op.calls.poll_times[-1] >= 120 > op.calls.poll_times[-2]
    # Nothing but the future's backoff drew from the global generator during the run.
    assert random.getstate() == state_after


def test_the_same_seed_repeats_the_intervals_and_another_seed_changes_them(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    def intervals(seed: int) -> list[float]:
        lro_emulator.reset()
        random.seed(seed)
        return run_future(ops.client, lro_emulator, 120).calls.poll_intervals

    first = intervals(7)

    assert intervals(7) == first
    assert intervals(8) != first
    assert first == pytest.approx([0.0, *replayed_sleeps(7, DEFAULT_POLLING, until=120)[0]], abs=1e-6)


@pytest.mark.lro_emulator(seed=21)
def test_a_custom_polling_retry_sets_the_intervals(lro_emulator: Emulator, ops: OperationsClientUnderTest) -> None:
    custom = polling.DEFAULT_POLLING.with_delay(initial=2.0, maximum=8.0, multiplier=2.0)

    op = run_future(ops.client, lro_emulator, 120, polling=custom)

    intervals = op.calls.poll_intervals
    bounds = [0.0, 2.0, 4.0] + [8.0] * (len(intervals) - 3)
    op.calls.assert_poll_intervals(at_most=bounds, at_least=0.0)
    assert len(intervals) > 120 / 8  # full jitter: more polls than the cap alone would need
    op.calls.assert_poll_intervals([0.0, *replayed_sleeps(21, (2.0, 8.0, 2.0), until=120)[0]])


@pytest.mark.asyncio
@pytest.mark.lro_emulator(seed=7)
@pytest.mark.parametrize("async_ops", ["rest-async", "grpc-async"], indirect=True)
async def test_async_poll_intervals_are_the_async_futures_backoff_replayed(
    lro_emulator: Emulator, async_ops: OperationsClientUnderTest
) -> None:
    """Async futures poll with async_future.DEFAULT_RETRY: AsyncRetry's defaults, 1 s initial, 60 s max, x2."""
    op = lro_emulator.add_operation().succeed(struct(rows=1), at=120)

    future = await async_ops.future(op.name, struct_pb2.Struct)
    assert dict(await future.result(timeout=600)) == {"rows": 1}

    sleeps, state_after = replayed_sleeps(7, (1.0, 60.0, 2.0), until=120)
    op.calls.assert_poll_intervals([0.0, *sleeps])
    assert random.getstate() == state_after


# -- 6. credentials -------------------------------------------------------------------------------------------

AUTH = {"token": ["t", "denied"], "forbidden": "denied"}


@pytest.mark.lro_emulator(auth=AUTH)
@pytest.mark.parametrize(
    ("credentials", "error", "answered"),
    [
        (oauth2_credentials.Credentials(token="t"), None, "200 OK"),
        # A 401 makes google-auth's session refresh the credentials, which anonymous ones cannot.
        (auth_credentials.AnonymousCredentials(), auth_exceptions.InvalidOperation, "401 UNAUTHENTICATED"),
        # A bare token has no refresh token to refresh it with.
        (oauth2_credentials.Credentials(token="stale"), auth_exceptions.RefreshError, "401 UNAUTHENTICATED"),
        # Over REST the class comes from the HTTP status: 403 is Forbidden (PermissionDenied's base class).
        (oauth2_credentials.Credentials(token="denied"), exceptions.Forbidden, "403 PERMISSION_DENIED"),
    ],
    ids=["token", "anonymous", "unknown-token", "forbidden-token"],
)
def test_rest_credentials_are_accepted_or_refused_as_google_auth_reports_it(
    lro_emulator: Emulator, credentials: Any, error: type[Exception] | None, answered: str
) -> None:
    op = lro_emulator.add_operation()
    client = _sync_client("rest", lro_emulator, credentials)
    try:
        if error is None:
            assert client.client.get_operation(op.name).name == op.name
        else:
            with pytest.raises(error) as raised:
                client.client.get_operation(op.name)
            assert type(raised.value) is error
    finally:
        _close(client)

    lro_emulator.calls.assert_call_count(1)  # a refresh that fails sends nothing more
    call = lro_emulator.calls.last
    assert f"{call.status} {call.code}" == answered
    token = credentials.token  # None for anonymous credentials
    assert call.headers.get("authorization") == (None if token is None else f"Bearer {token}")


@pytest.mark.lro_emulator(auth=AUTH)
def test_rest_permission_denied_carries_the_emulators_reason(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()
    client = _sync_client("rest", lro_emulator, oauth2_credentials.Credentials(token="denied"))
    try:
        with pytest.raises(exceptions.Forbidden, match="does not have permission to call GetOperation") as raised:
            client.client.get_operation(op.name)
    finally:
        _close(client)

    assert (raised.value.reason, raised.value.domain) == ("IAM_PERMISSION_DENIED", "lro-emulator")


@pytest.mark.lro_emulator(auth=AUTH)
@pytest.mark.parametrize(
    ("authorization", "error", "reason"),
    [
        ("Bearer t", None, None),
        (None, exceptions.Unauthenticated, "CREDENTIALS_MISSING"),
        ("Basic dDp0", exceptions.Unauthenticated, "ACCESS_TOKEN_TYPE_UNSUPPORTED"),
        ("Bearer stale", exceptions.Unauthenticated, "ACCESS_TOKEN_INVALID"),
        ("Bearer denied", exceptions.PermissionDenied, "IAM_PERMISSION_DENIED"),
    ],
    ids=["token", "none", "not-bearer", "unknown-token", "forbidden-token"],
)
def test_grpc_authorization_metadata_is_accepted_or_refused(
    lro_emulator: Emulator, authorization: str | None, error: type[exceptions.GoogleAPICallError] | None,
    reason: str | None,
) -> None:
    op = lro_emulator.add_operation()
    metadata = [] if authorization is None else [("authorization", authorization)]
    client = _sync_client("grpc", lro_emulator)
    try:
        if error is None:
            assert client.client.get_operation(op.name, metadata=metadata).name == op.name
        else:
            with pytest.raises(error) as raised:
                client.client.get_operation(op.name, metadata=metadata, retry=None)
            assert type(raised.value) is error
            assert (raised.value.reason, raised.value.domain) == (reason, "lro-emulator")
    finally:
        _close(client)

    lro_emulator.calls.assert_call_count(1)
    assert lro_emulator.calls.last.headers.get("authorization") == authorization


# -- 7. seeded probability faults -----------------------------------------------------------------------------

CALLS = 24


def faulted_polls(emulator: Emulator, client: OperationsClientUnderTest, **aim: Any) -> list[int]:
    """Script a probability-0.5 UNAVAILABLE fault, poll CALLS times, and return the indices the client saw fail.

    The emulator's log must agree: exactly those calls carry the fault, and the fault counted every call.
    """
    op = emulator.add_operation()
    fault = emulator.fault(rpc="GetOperation", probability=0.5, **aim).error("UNAVAILABLE")
    failed = []
    for index in range(CALLS):
        try:
            client.client.get_operation(op.name, retry=None)
        except exceptions.ServiceUnavailable:
            failed.append(index)
    assert [index for index, call in enumerate(op.calls) if call.fault is fault] == failed
    assert fault.matched == CALLS
    return failed


def dice_hits(seed: str) -> list[int]:
    """The calls a probability-0.5 fault whose dice are ``random.Random(seed)`` fires on."""
    dice = random.Random(seed)
    return [index for index in range(CALLS) if dice.random() < 0.5]


@pytest.mark.lro_emulator(seed=5)
def test_a_probability_fault_fires_on_the_same_calls_with_the_same_seed(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    first = faulted_polls(lro_emulator, ops)  # under the marker's seed
    lro_emulator.reset(seed=5)
    again = faulted_polls(lro_emulator, ops)
    lro_emulator.reset(seed=6)
    other = faulted_polls(lro_emulator, ops)

    assert 0 < len(first) < CALLS
    assert again == first
    assert other != first
    # The dice of fault 1 are seeded "{emulator seed}/1".
    assert (first, other) == (dice_hits("5/1"), dice_hits("6/1"))


def test_a_probability_fault_with_its_own_seed_ignores_the_emulators_seed(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    lro_emulator.reset(seed=1)
    first = faulted_polls(lro_emulator, ops, seed="mine")
    lro_emulator.reset(seed=2)
    second = faulted_polls(lro_emulator, ops, seed="mine")

    assert first == second == dice_hits("mine")


@pytest.mark.lro_emulator(seed=5)
def test_a_probability_faults_dice_roll_on_calls_an_earlier_fault_took(
    lro_emulator: Emulator, ops: OperationsClientUnderTest
) -> None:
    op = lro_emulator.add_operation()
    earlier = lro_emulator.fault(rpc="GetOperation", first=3).error("INTERNAL")
    dice_fault = lro_emulator.fault(rpc="GetOperation", probability=0.5).error("UNAVAILABLE")
    for _ in range(CALLS):
        with contextlib.suppress(exceptions.InternalServerError, exceptions.ServiceUnavailable):
            ops.client.get_operation(op.name, retry=None)

    hits = dice_hits("5/2")
    assert [call.fault for call in lro_emulator.calls[:3]] == [earlier] * 3
    assert [index for index, call in enumerate(lro_emulator.calls) if call.fault is dice_fault] == [
        index for index in hits if index >= 3]
    assert (earlier.matched, dice_fault.matched) == (CALLS, CALLS)
