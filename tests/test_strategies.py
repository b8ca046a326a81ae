"""lro_emulator.strategies: drawn timelines catch naive waiters, shrink small, and a real client meets each outcome.

Three deliberately naive waiters (small polling loops over ``requests``) must each be caught within 200 examples,
and hypothesis must shrink the failure to a timeline of at most two steps. google-api-core's real operation
futures, over REST and gRPC, sync and async, must end with every drawn timeline's outcome. Every timeline written
as a scenario file must validate and, loaded into a fresh emulator, end the same way.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from google.api_core import exceptions, operation, operation_async, retry, retry_async
from google.api_core.future import async_future
from google.api_core.retry import if_exception_type
from google.protobuf import json_format, struct_pb2
from google.rpc import error_details_pb2  # noqa: F401  (registers ErrorInfo, RetryInfo, ... for json_format)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lro_emulator import Emulator, ScriptError
from lro_emulator.strategies import Outcome, Timeline, timelines

from .clients import KINDS, OperationsClientUnderTest, open_client
from .helpers import wall

#: Without the explain phase, which reruns a failure under coverage tracing for lines to blame: slow, and the
#: shrunk timeline is the explanation here.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)
#: The suite's hypothesis settings: the same examples on every run, no example database, no deadline (each test
#: bounds its own wall time).
EXAMPLES = settings(max_examples=200, derandomize=True, database=None, deadline=None, phases=PHASES,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
#: The transient poll faults drawn for the clients: what Google's frontends answer a poll that did not get through.
POLL_FAULTS = ("UNAVAILABLE", "DEADLINE_EXCEEDED", 2.0)
#: What the 200 examples of one client may take, in wall seconds: a guard against real sleeping (one real poll
#: interval of a drawn timeline would pass it), generous for a loaded CI machine. Alone on the development machine
#: each client takes 3.6 to 9.8 s (the property-tests guide reports it).
WALL_BUDGET = 60.0


class WaiterGaveUp(Exception):
    """A naive waiter stopped before the operation was done."""


def _poll(emu: Emulator, name: str) -> requests.Response:
    return requests.get(f"{emu.url}/v1/{name}", timeout=10)


def backoff() -> Iterator[float]:
    """Seconds between polls: 1, 2, 4, ... up to 5 minutes, as clients back off (virtual seconds under the fixture)."""
    delay = 1.0
    while True:
        yield delay
        delay = min(2 * delay, 300.0)


def correct_waiter(emu: Emulator, name: str) -> tuple[str, Any]:
    """Poll until done, retrying transient errors, and keep the error whole."""
    for delay in backoff():
        answer = _poll(emu, name)
        if answer.status_code not in (503, 504):
            document = answer.json()
            if document.get("done", False):
                return ("response", document["response"]) if "response" in document else ("error", document["error"])
        time.sleep(delay)  # virtual: the fixture's clock moves instead
    raise AssertionError("unreachable")


def waiter_needing_done(emu: Emulator, name: str) -> tuple[str, Any]:
    """Naive: reads a missing ``done`` (proto3 JSON's way of writing false) as a broken answer."""
    for delay in backoff():
        answer = _poll(emu, name)
        if answer.status_code not in (503, 504):
            document = answer.json()
            if "done" not in document:
                raise WaiterGaveUp(f"no done in {document}")
            if document["done"]:
                return ("response", document["response"]) if "response" in document else ("error", document["error"])
        time.sleep(delay)
    raise AssertionError("unreachable")

def waiter_giving_up_on_unavailable(emu: Emulator, name: str) -> tuple[str, Any]:
    """Naive: the first UNAVAILABLE poll ends the wait."""
    for delay in backoff():
        answer = _poll(emu, name)
        if answer.status_code == 503:
            raise WaiterGaveUp("the service is unavailable")
        if answer.status_code != 504:
            document = answer.json()
            if document.get("done", False):
                return ("response", document["response"]) if "response" in document else ("error", document["error"])
        time.sleep(delay)
    raise AssertionError("unreachable")


def waiter_dropping_details(emu: Emulator, name: str) -> tuple[str, Any]:
    """Naive: keeps the error's code and message and drops its details."""
    kind, value = correct_waiter(emu, name)
    if kind == "error":
        value = {key: value[key] for key in ("code", "message") if key in value}
    return kind, value


def expected(outcome: Outcome) -> tuple[str, Any]:
    return outcome.kind, outcome.value


def falsified(emu: Emulator, waiter: Callable[[Emulator, str], tuple[str, Any]], strategy: Any) -> tuple[
        BaseException, Timeline, int]:
    """Run a @given test of ``waiter`` over ``strategy``: the error hypothesis raised, the timeline of the example
    it reported (the shrunk one, which it runs last), and the examples it ran."""
    played: list[Timeline] = []

    @EXAMPLES
    @given(timeline=strategy)
    def waits_for_the_outcome(timeline: Timeline) -> None:
        played.append(timeline)
        op = timeline.play(emu)
        assert waiter(emu, op.name) == expected(timeline.outcome)

    with pytest.raises(Exception) as raised:  # noqa: PT011  (whatever the waiter raised, hypothesis re-raises)
        waits_for_the_outcome()
    return raised.value, played[-1], len(played)


@pytest.mark.parametrize(
    ("waiter", "strategy"),
    [
        pytest.param(waiter_needing_done, timelines(), id="missing-done"),
        pytest.param(waiter_giving_up_on_unavailable, timelines(faults=POLL_FAULTS), id="first-unavailable"),
        pytest.param(waiter_dropping_details, timelines(), id="error-without-details"),
    ],
)
def test_a_naive_waiter_is_caught_and_shrunk_to_two_steps(
    lro_emulator: Emulator, waiter: Callable[[Emulator, str], tuple[str, Any]], strategy: Any
) -> None:
    error, shrunk, runs = falsified(lro_emulator, waiter, strategy)

    assert runs <= 200 + 100  # found within the 200 examples; the rest are shrinking
    assert len(shrunk.steps) <= 2, shrunk
    assert len(shrunk.faults) <= 1, shrunk
    # hypothesis's report of the falsifying example shows the drawn timeline (play() notes it).
    notes = "\n".join(getattr(error, "__notes__", []))
    assert f"lro-emulator timeline: {shrunk!r}" in notes
    # The shrunk example fails the naive waiter and not the correct one.
    op = shrunk.play(lro_emulator)
    assert correct_waiter(lro_emulator, op.name) == expected(shrunk.outcome)
    op = shrunk.play(lro_emulator)
    with pytest.raises((AssertionError, WaiterGaveUp)):
        assert waiter(lro_emulator, op.name) == expected(shrunk.outcome)


def test_the_shrunk_timelines_are_the_smallest_that_break_each_waiter(lro_emulator: Emulator) -> None:
    _, pending_first, _ = falsified(lro_emulator, waiter_needing_done, timelines())
    _, unavailable, _ = falsified(lro_emulator, waiter_giving_up_on_unavailable, timelines(faults=POLL_FAULTS))
    _, detailed, _ = falsified(lro_emulator, waiter_dropping_details, timelines())

    assert [step.kind for step in pending_first.steps] == ["response"]
    assert pending_first.steps[0].at == 1
    assert not pending_first.faults
    assert [step.kind for step in unavailable.steps] == ["response"]
    assert [fault.error for fault in unavailable.faults] == ["UNAVAILABLE"]
    assert [step.kind for step in detailed.steps] == ["error"]
    assert len(detailed.steps[0].error["details"]) == 1  # type: ignore[index]


def test_the_correct_polling_loop_passes(lro_emulator: Emulator) -> None:
    runs = []

    @EXAMPLES
    @given(timeline=timelines(faults=POLL_FAULTS, trigger="either"))
    def waits_for_the_outcome(timeline: Timeline) -> None:
        runs.append(timeline)
        op = timeline.play(lro_emulator)
        assert correct_waiter(lro_emulator, op.name) == expected(timeline.outcome)
        if timeline.outcome.done_at is not None:
            assert lro_emulator.clock.now() - op.created >= timeline.outcome.done_at

    waits_for_the_outcome()
    assert len(runs) == 200
    assert any(t.faults for t in runs)
    assert any(t.outcome.kind == "error" for t in runs)


def _status(error: exceptions.GoogleAPICallError) -> Any:
    [status] = error.errors
    return json_format.MessageToDict(status)


def _response(result: Any) -> Any:
    return {"@type": "type.googleapis.com/google.protobuf.Struct", "value": json_format.MessageToDict(result)}


def _same_json(left: Any, right: Any) -> bool:
    """Equal once numbers are compared as the floats a Struct holds."""
    def floats(value: Any) -> Any:
        return json.loads(json.dumps(value), parse_int=float)
    return bool(floats(left) == floats(right))


#: The poll errors a correct client retries: UNAVAILABLE, and DEADLINE_EXCEEDED (DeadlineExceeded over gRPC; over
#: REST its HTTP 504 reads as GatewayTimeout, DeadlineExceeded's base). google-api-core's sync gRPC client retries
#: both by default; its REST and async clients retry UNAVAILABLE only, so the waiter says so, as an application must.
TRANSIENT = (exceptions.ServiceUnavailable, exceptions.GatewayTimeout)


async def _api_core_waiter(client: OperationsClientUnderTest, name: str) -> tuple[str, Any]:
    """google-api-core's operation future over ``client``, retrying transient poll errors: the correct waiter."""
    transient = if_exception_type(*TRANSIENT)
    if client.is_async:
        first = await client.client.get_operation(name, retry=retry_async.AsyncRetry(predicate=transient))
        # The future's polling retry: not done yet, or a transient error on a poll.
        polling = retry_async.AsyncRetry(
            predicate=lambda error: async_future.RETRY_PREDICATE(error) or transient(error))
        future: Any = operation_async.from_gapic(first, client.client, struct_pb2.Struct,
                                                 metadata_type=struct_pb2.Struct, retry=polling)
    else:
        first = client.client.get_operation(name, retry=retry.Retry(predicate=transient))
        future = operation.from_gapic(first, client.client, struct_pb2.Struct, metadata_type=struct_pb2.Struct)
    try:
        if client.is_async:
            result = await future.result(timeout=2 * 3600)  # the default polling gives up after 900 s
        else:
            result = future.result(timeout=2 * 3600, retry=retry.Retry(predicate=transient))
    except exceptions.GoogleAPICallError as error:
        return "error", _status(error)
    return "response", _response(result)


@pytest.mark.parametrize("kind", KINDS)
def test_google_api_core_futures_end_with_every_outcome(lro_emulator: Emulator, kind: str) -> None:
    ran: list[Timeline] = []
    # One loop and one client for every example: the async clients' channels and sessions belong to their loop.
    loop = asyncio.new_event_loop()
    client = loop.run_until_complete(open_client(kind, lro_emulator))

    # Operations of up to 900 s: google-api-core's default polling gives up there (an hour is tested in
    # test_contract_operations_clients.py), and each poll over REST costs about a millisecond of real time.
    @EXAMPLES
    @given(timeline=timelines(faults=POLL_FAULTS, trigger="either", max_seconds=900))
    def ends_with_the_outcome(timeline: Timeline) -> None:
        ran.append(timeline)
        op = timeline.play(lro_emulator)
        got = loop.run_until_complete(_api_core_waiter(client, op.name))
        outcome = timeline.outcome
        assert got[0] == outcome.kind, (got, outcome)
        assert _same_json(got[1], outcome.value), (got[1], outcome.value)
        if outcome.done_at is not None:
            assert lro_emulator.clock.now() - op.created >= outcome.done_at

    try:
        started = wall()
        ends_with_the_outcome()
        seconds = wall() - started
    finally:
        loop.run_until_complete(client.close())
        loop.close()

    assert len(ran) == 200
    assert {t.outcome.kind for t in ran} == {"response", "error"}
    assert {t.trigger for t in ran} == {"time", "polls"}
    assert {fault.error for t in ran for fault in t.faults} == {"UNAVAILABLE", "DEADLINE_EXCEEDED", None}
    print(f"{kind}: 200 examples in {seconds:.2f} s")
    assert seconds < WALL_BUDGET


@EXAMPLES
@given(timeline=timelines(faults=POLL_FAULTS))
def test_given_with_the_fixture_and_fresh_state_per_example(lro_emulator: Emulator, timeline: Timeline) -> None:
    op = timeline.play(lro_emulator)  # a fresh state: no operation, call or fault of an earlier example

    assert lro_emulator.operations == [op]
    assert lro_emulator.calls.call_count == 0
    assert lro_emulator.clock.now() == op.created
    assert correct_waiter(lro_emulator, op.name) == expected(timeline.outcome)


def test_a_timeline_becomes_a_scenario_that_validates_and_ends_the_same(tmp_path: pathlib.Path) -> None:
    checked = []

    @settings(max_examples=40, derandomize=True, database=None, deadline=None)
    @given(timeline=timelines(faults=POLL_FAULTS, trigger="either"))
    def round_trip(timeline: Timeline) -> None:
        path = tmp_path / f"timeline-{len(checked)}.yaml"
        document = timeline.to_scenario(path, name="projects/p/operations/found")
        assert json.loads(json.dumps(document)) == document
        validated = subprocess.run([sys.executable, "-m", "lro_emulator.cli", "validate", str(path)],
                                   capture_output=True, text=True, check=False) if not checked else None
        if validated is not None:
            assert validated.returncode == 0, validated.stdout + validated.stderr
        with Emulator() as emu:
            emu.load_scenario(path)
            got = correct_waiter_in_process(emu, "projects/p/operations/found")
        assert got == expected(timeline.outcome)
        checked.append(timeline)

    round_trip()
    assert len(checked) == 40


def correct_waiter_in_process(emu: Emulator, name: str) -> tuple[str, Any]:
    """The correct loop, moving the emulator's clock itself (outside the fixture nothing makes sleep virtual)."""
    for delay in backoff():
        answer = _poll(emu, name)
        if answer.status_code not in (503, 504):
            document = answer.json()
            if document.get("done", False):
                if "response" in document:
                    return "response", document["response"]
                return "error", document["error"]
        emu.clock.advance(delay)
    raise AssertionError("unreachable")


def test_outcome_after_cancel_matches_the_emulator(lro_emulator: Emulator) -> None:
    @EXAMPLES
    @given(timeline=timelines(trigger="time", max_seconds=100), cancel_at=st.integers(0, 120))
    def cancels(timeline: Timeline, cancel_at: int) -> None:
        op = timeline.play(lro_emulator)
        lro_emulator.clock.advance(cancel_at)
        requests.post(f"{lro_emulator.url}/v1/{op.name}:cancel", json={}, timeout=10)
        lro_emulator.clock.advance(400)
        outcome = timeline.outcome_after_cancel(at=cancel_at)
        snapshot = op.snapshot()
        assert snapshot["done"] is True
        kind = "response" if "response" in snapshot else "error"
        value = snapshot[kind]
        assert (("cancelled" if kind == "error" and value["code"] == 1 else kind), value) == (outcome.kind,
                                                                                             outcome.value)

    cancels()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"error_codes": ["NOPE"]}, "error_codes"),
        ({"error_codes": ["OK"]}, "OK is not an error code"),
        ({"trigger": "sometimes"}, "trigger"),
        ({"cancel": ["maybe"]}, "cancel"),
        ({"faults": [-1.0]}, "delay must be positive"),
        ({"max_seconds": -1}, "max_seconds"),
        ({"responses": 3}, "responses"),
    ],
)
def test_mistaken_arguments_are_script_errors(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ScriptError, match=message):
        timelines(**arguments)


def test_importing_the_package_or_its_plugin_imports_no_hypothesis() -> None:
    code = "import sys, lro_emulator, lro_emulator.plugin; lro_emulator.Emulator; print('hypothesis' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


FAILING_USER_TEST = '''
import requests
from hypothesis import HealthCheck, given, settings

from lro_emulator.strategies import timelines


@settings(derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(timeline=timelines(error_codes=[]))
def test_the_first_poll_is_done(lro_emulator, timeline):
    op = timeline.play(lro_emulator)
    assert requests.get(f"{lro_emulator.url}/v1/{op.name}", timeout=10).json()["done"]
'''


@pytest.mark.usefixtures("users_project")  # a user's project, run as from a fresh shell
def test_a_users_failing_example_reports_the_shrunk_timeline_and_the_emulator_section(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_user=FAILING_USER_TEST)

    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")

    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    # hypothesis's falsifying example, shrunk to one step: a response one second after creation.
    assert 'lro-emulator timeline: Timeline(response(at=1, {"@type": "type.googleapis.com/google.protobuf.Struct", ' \
           '"value": {}}))' in output
    # The emulator's report section shows the operation as that example scripted it.
    assert "lro-emulator: operations, calls and faults" in output
    assert "pending: succeed at +1s" in output
    assert "FailedHealthCheck" not in output


@pytest.mark.usefixtures("users_project")
def test_without_the_suppression_hypothesis_refuses_the_fixture(pytester: pytest.Pytester) -> None:
    """Why the documented pattern suppresses function_scoped_fixture: hypothesis judges the fixture by its scope."""
    pytester.makepyfile(test_user=FAILING_USER_TEST.replace(
        ", suppress_health_check=[HealthCheck.function_scoped_fixture]", ""))

    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider")

    result.assert_outcomes(failed=1)
    assert "uses a function-scoped fixture 'lro_emulator'" in result.stdout.str()
