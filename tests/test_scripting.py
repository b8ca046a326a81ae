"""Scripting operations: timelines on the virtual clock, after_polls, cancel policies, wait, and the
errors raised at the scripting line (with the JSON pointer of the fault)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from werkzeug.test import Client

from lro_emulator import Emulator, ScriptError

from .helpers import STRUCT, struct

OP = "projects/p/locations/l/operations/op-1"


def get(http: Client, name: str = OP) -> Any:
    return http.get(f"/v1/{name}").json


def wait(http: Client, name: str = OP, timeout: str | None = None) -> Any:
    body = {} if timeout is None else {"timeout": timeout}
    return http.post(f"/v1/{name}:wait", json=body).json


def test_a_new_operation_is_pending_with_its_metadata(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation(OP, struct(state="PENDING"))

    assert get(http) == {"name": OP, "metadata": struct(state="PENDING")}


def test_steps_fire_at_their_virtual_time(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP, struct(state="PENDING"))
    op.update(at=30, metadata={"value": {"state": "RUNNING"}})
    op.succeed(struct(rows=3), at=timedelta(minutes=1), metadata={"value": {"state": "DONE"}})

    lro_emulator.clock.advance(29.999)
    assert get(http)["metadata"] == struct(state="PENDING")
    lro_emulator.clock.advance(0.001)
    assert get(http)["metadata"] == struct(state="RUNNING")
    lro_emulator.clock.advance(30)
    assert get(http) == {"name": OP, "metadata": struct(state="DONE"), "done": True, "response": struct(rows=3)}
    assert [(t.kind, (t.time - op.created).total_seconds()) for t in op.history] == [
        ("created", 0), ("update", 30), ("succeed", 60)
    ]


def test_metadata_updates_merge_and_null_removes_a_key(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation(OP, {"@type": "type.example/x.Meta", "state": "A", "progress": 0.1})
    op.update(metadata={"progress": 0.5, "state": None})

    assert op.snapshot()["metadata"] == {"@type": "type.example/x.Meta", "progress": 0.5}


def test_after_polls_counts_answered_polls(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP).update(after_polls=1, metadata=struct(step=1)).succeed(after_polls=3)

    answers = [get(http) for _ in range(4)]

    assert [a.get("metadata") for a in answers] == [None, struct(step=1), struct(step=1), struct(step=1)]
    assert [a.get("done", False) for a in answers] == [False, False, False, True]
    assert answers[3]["response"] == {"@type": "type.googleapis.com/google.protobuf.Empty"}
    assert op.polls == 4


def test_head_is_not_a_method_and_not_a_poll(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP).succeed(after_polls=1)

    answer = http.head(f"/v1/{OP}")

    assert (answer.status_code, answer.data) == (404, b"")
    assert op.polls == 0
    assert "done" not in op.snapshot()


def test_listing_is_not_a_poll(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP).succeed(after_polls=1)

    http.get("/v1/projects/p/locations/l/operations")

    assert op.polls == 0
    assert "done" not in op.snapshot()


def test_a_step_without_a_time_fires_now(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation(OP)
    lro_emulator.clock.advance(10)

    op.fail("ABORTED", "conflict")

    assert op.snapshot()["error"] == {"code": 10, "message": "conflict"}
    assert op.history[-1].time - op.created == timedelta(seconds=10)


@pytest.mark.parametrize(("code", "number"), [("NOT_FOUND", 5), ("not_found", 5), (14, 14), ("UNAUTHENTICATED", 16)])
def test_fail_accepts_a_code_by_name_or_number(lro_emulator: Emulator, code: str | int, number: int) -> None:
    op = lro_emulator.add_operation(OP).fail(code, "boom")

    assert op.snapshot()["error"]["code"] == number


def test_fail_carries_details(lro_emulator: Emulator) -> None:
    retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}
    op = lro_emulator.add_operation(OP).fail("UNAVAILABLE", "later", details=[retry])

    assert op.snapshot()["error"] == {"code": 14, "message": "later", "details": [retry]}


def test_payloads_are_copied_when_scripted(lro_emulator: Emulator) -> None:
    metadata = struct(state="A")
    op = lro_emulator.add_operation(OP, metadata)

    metadata["value"]["state"] = "changed later"

    assert op.snapshot()["metadata"] == struct(state="A")


@pytest.mark.parametrize(
    ("script", "pointer", "fragment"),
    [
        (lambda op: op.update(metadata={"@type": 5}), "/metadata/@type", "not of type"),
        (lambda op: op.succeed({"value": 1}), "/response", "'@type' is a required property"),
        (lambda op: op.succeed({"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1.5"}),
         "/response/value", "malformed"),
        (lambda op: op.fail("UNAVAILABLE", details=[{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                                     "retryDelay": "soon"}]),
         "/error/details/0/retryDelay", "malformed"),
        (lambda op: op.fail("UNAVAILABLE", details=[{"reason": "no type"}]), "/error/details/0", "@type"),
        (lambda op: op.fail("TEAPOT"), "/error/code", "not a google.rpc.Code name"),
        (lambda op: op.fail(99), "/error/code", "0 to 16"),
        (lambda op: op.fail("OK"), "/error/code", "use succeed()"),
        (lambda op: op.update(metadata={"when": datetime(2030, 1, 1)}), "/metadata", "not JSON"),
        (lambda op: op.update(metadata={"x": float("nan")}), "/metadata", "not JSON"),
        (lambda op: op.update(metadata=["not", "an", "object"]), "/metadata", "expected a JSON object"),
    ],
    ids=["metadata-type", "response-untyped", "response-duration", "retry-delay", "detail-untyped",
         "unknown-code", "code-out-of-range", "ok-is-not-a-failure", "datetime", "nan", "list"],
)
def test_a_payload_fault_raises_at_the_scripting_line_with_its_pointer(
    lro_emulator: Emulator, script: Any, pointer: str, fragment: str
) -> None:
    op = lro_emulator.add_operation(OP, struct(state="A"))
    before = op.snapshot()

    with pytest.raises(ScriptError, match=fragment) as raised:
        script(op)

    assert raised.value.pointer == pointer
    assert op.snapshot() == before
    assert op.history[-1].kind == "created"


@pytest.mark.parametrize(
    ("script", "fragment"),
    [
        (lambda op: op.succeed(at=60).update(at=90, metadata=struct()), "comes after the operation is done"),
        (lambda op: op.update(at=90, metadata=struct()).succeed(at=60), "comes after the operation is done"),
        (lambda op: op.succeed(after_polls=2).update(after_polls=3, metadata=struct()), "comes after"),
        (lambda op: op.succeed(at=60).fail("ABORTED", at=30), "already has its result scripted"),
        (lambda op: op.succeed(at=60).update(after_polls=1, metadata=struct()), "cannot tell whether"),
        (lambda op: op.succeed().update(metadata=struct()), "already done"),
        (lambda op: op.succeed(at=10, after_polls=1), "not both"),
        (lambda op: op.succeed(at=-1), "cannot be negative"),
        (lambda op: op.succeed(after_polls=-1), "0 or more"),
        (lambda op: op.succeed(after_polls=1.5), "whole number"),
        (lambda op: op.succeed(at="soon"), "not a duration"),
        (lambda op: op.succeed(at=timedelta(days=3_000_000)), "past the end of the calendar"),
        (lambda op: op.on_cancel("maybe"), "accept, ignore, refuse"),
        (lambda op: op.on_cancel(after=-5), "must not be negative"),
        (lambda op: op.on_cancel("refuse", code="OK"), "needs an error code"),
    ],
    ids=["update-after-done", "done-before-update", "polls-after-done", "second-result", "mixed-triggers",
         "already-done", "both-triggers", "negative-at", "negative-polls", "fractional-polls", "bad-at",
         "past-year-9999",
         "bad-cancel-mode", "negative-cancel-delay", "refuse-with-ok"],
)
def test_a_transition_that_cannot_be_honoured_raises(lro_emulator: Emulator, script: Any, fragment: str) -> None:
    op = lro_emulator.add_operation(OP)

    with pytest.raises(ScriptError, match=fragment):
        script(op)


def test_a_step_due_now_comes_before_a_result_of_either_kind(lro_emulator: Emulator, http: Client) -> None:
    by_polls = lro_emulator.add_operation(OP).succeed(after_polls=3)
    by_time = lro_emulator.add_operation("projects/p/locations/l/operations/op-2").succeed(at=60)

    by_polls.update(metadata=struct(step="now"))
    by_time.update(after_polls=0, metadata=struct(step="now"))

    assert by_polls.snapshot()["metadata"] == by_time.snapshot()["metadata"] == struct(step="now")


def test_a_step_in_the_past_is_refused(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP)
    lro_emulator.clock.advance(100)
    served = get(http)

    with pytest.raises(ScriptError, match="already 100s old"):
        op.succeed(at=50)

    assert served == op.snapshot() == {"name": OP}


def test_a_script_error_leaves_earlier_steps_in_place(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation(OP).succeed(struct(ok=True), at=60)

    with pytest.raises(ScriptError):
        op.update(at=90, metadata=struct())
    lro_emulator.clock.advance(60)

    assert op.snapshot()["response"] == struct(ok=True)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"name": "projects/p/locations/l/op-1"}, "not an operation name"),
        ({"name": "projects/p/operations/"}, "not an operation name"),
        ({"name": "projects/p/operations/a:b"}, "not an operation name"),
        ({"name": 42}, "not an operation name"),
        ({"name": OP, "parent": "projects/p"}, "not both"),
        ({"parent": "projects/p/locations/-"}, "not a collection"),
        ({"metadata": {"state": "untyped"}}, "'@type' is a required property"),
    ],
)
def test_add_operation_refuses_what_the_service_could_not_have(
    lro_emulator: Emulator, kwargs: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ScriptError, match=fragment):
        lro_emulator.add_operation(**kwargs)
    assert lro_emulator.operations == []


def test_names_are_unique(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(OP)

    with pytest.raises(ScriptError, match="already exists"):
        lro_emulator.add_operation(OP)


def test_generated_names_are_deterministic_and_skip_taken_ones(lro_emulator: Emulator) -> None:
    parent = "projects/p/locations/l"
    lro_emulator.add_operation(f"{parent}/operations/op-2")

    names = [lro_emulator.add_operation(parent=parent).name for _ in range(3)]
    default = lro_emulator.add_operation().name
    lro_emulator.reset()

    assert names == [f"{parent}/operations/op-1", f"{parent}/operations/op-3", f"{parent}/operations/op-4"]
    assert default == "projects/test-project/locations/global/operations/op-5"
    assert lro_emulator.add_operation(parent=parent).name == f"{parent}/operations/op-1"


@pytest.mark.lro_emulator(profile="earthengine")
def test_profiles_generate_names_of_their_own_shape(lro_emulator: Emulator) -> None:
    assert lro_emulator.add_operation().name == "projects/test-project/operations/op-1"
    with pytest.raises(ScriptError, match=r"projects/\*/operations/\*\*"):
        lro_emulator.add_operation(OP)


# -- cancel ---------------------------------------------------------------------------------------


def test_cancel_of_a_done_operation_changes_nothing(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP).succeed(struct(ok=True))
    before = op.snapshot()

    answer = http.post(f"/v1/{OP}:cancel")

    assert (answer.status_code, answer.json) == (200, {})
    assert op.snapshot() == before


def test_cancel_of_a_done_operation_is_not_refused(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP).on_cancel("refuse").succeed()
    history = op.history

    answer = http.post(f"/v1/{OP}:cancel")

    assert (answer.status_code, answer.json) == (200, {})
    assert op.history == history


def test_delayed_cancel_loses_to_an_earlier_completion(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP).succeed(struct(ok=True), at=30).on_cancel(after=60)

    http.post(f"/v1/{OP}:cancel")
    lro_emulator.clock.advance(120)

    assert op.snapshot()["response"] == struct(ok=True)


def test_accepted_cancel_applies_its_metadata(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP, struct(state="RUNNING")).on_cancel(
        after=5, metadata={"value": {"state": "CANCELLED"}}
    )

    http.post(f"/v1/{OP}:cancel")
    assert "done" not in op.snapshot()
    lro_emulator.clock.advance(5)

    assert op.snapshot() == {
        "name": OP, "metadata": struct(state="CANCELLED"), "done": True,
        "error": {"code": 1, "message": "The operation was cancelled."},
    }


def test_a_second_cancel_does_not_restart_the_delay(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP).on_cancel(after=60)

    http.post(f"/v1/{OP}:cancel")
    lro_emulator.clock.advance(50)
    http.post(f"/v1/{OP}:cancel")
    lro_emulator.clock.advance(10)

    assert op.snapshot()["error"]["code"] == 1


# -- wait -------------------------------------------------------------------------------------------


def test_wait_moves_the_clock_to_completion(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP).update(at=100, metadata=struct(half=True)).succeed(struct(ok=1), at=200)

    answer = wait(http, timeout="3600s")

    assert answer["response"] == struct(ok=1)
    assert lro_emulator.clock.now() - op.created == timedelta(seconds=200)
    assert op.polls == 1


def test_wait_returns_at_the_timeout_when_not_done(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP).update(at=10, metadata=struct(p=1)).succeed(at=200)

    answer = wait(http, timeout="30.5s")

    assert answer == {"name": OP, "metadata": struct(p=1)}
    assert lro_emulator.clock.now() - op.created == timedelta(seconds=30.5)


def test_wait_without_timeout_waits_the_default_60_seconds(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP).succeed(after_polls=5)

    answer = wait(http)

    assert "done" not in answer
    assert lro_emulator.clock.now() - op.created == timedelta(seconds=60)


def test_one_wait_lasts_at_most_a_virtual_day(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP).succeed(at=timedelta(days=2))

    first = wait(http, timeout=f"{3 * 86400}s")
    second = wait(http, timeout=f"{3 * 86400}s")

    assert "done" not in first
    assert second["done"] is True
    assert lro_emulator.clock.now() - op.created == timedelta(days=2)


def test_wait_on_a_done_operation_returns_at_once(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation(OP).succeed()
    before = lro_emulator.clock.now()

    assert wait(http, timeout="600s")["done"] is True
    assert lro_emulator.clock.now() == before


def test_wait_timeout_in_the_query(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP).succeed(at=45)

    answer = http.post(f"/v1/{OP}:wait?timeout=30s")

    assert "done" not in answer.json
    assert lro_emulator.clock.now() - op.created == timedelta(seconds=30)


# -- clock and calls --------------------------------------------------------------------------------


def test_the_clock_is_aware_utc_and_only_moves_forward(lro_emulator: Emulator) -> None:
    clock = lro_emulator.clock
    assert clock.now() == datetime(2030, 1, 1, tzinfo=timezone.utc)

    assert clock.advance(timedelta(seconds=90)) == datetime(2030, 1, 1, 0, 1, 30, tzinfo=timezone.utc)
    assert clock.set("2030-01-01T02:00:00+01:00") == datetime(2030, 1, 1, 1, 0, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="only moves forward"):
        clock.set("2029-12-31T23:59:59Z")
    with pytest.raises(ValueError, match="past the end of the calendar"):
        clock.advance(timedelta(days=3_000_000))
    assert clock.now() == datetime(2030, 1, 1, 1, 0, tzinfo=timezone.utc)


@pytest.mark.lro_emulator(start="2031-06-01T12:00:00Z")
def test_the_marker_sets_the_start(lro_emulator: Emulator) -> None:
    assert lro_emulator.clock.now() == datetime(2031, 6, 1, 12, tzinfo=timezone.utc)


def test_calls_record_rpc_name_status_and_virtual_time(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation(OP).succeed(at=20)

    http.get(f"/v1/{OP}", headers={"x-goog-api-client": "gl-python/3.11"})
    http.post(f"/v1/{OP}:wait", json={"timeout": "60s"})
    http.get("/v1/projects/p/locations/l/operations/missing")

    calls = lro_emulator.calls
    assert [(c.rpc, c.name, c.status, c.code) for c in calls] == [
        ("GetOperation", OP, 200, "OK"),
        ("WaitOperation", OP, 200, "OK"),
        ("GetOperation", "projects/p/locations/l/operations/missing", 404, "NOT_FOUND"),
    ]
    assert [(c.time - calls[0].time).total_seconds() for c in calls] == [0, 0, 20]
    assert calls[0].headers["x-goog-api-client"] == "gl-python/3.11"
    assert calls[1].body == {"timeout": "60s"}
    assert calls.filter(rpc="GetOperation").call_count == 2
    assert calls.last.status == 404


def test_a_failed_call_still_records_its_body(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation(OP)

    http.post(f"/v1/{OP}:wait", json={"timeout": "soon"})

    assert (lro_emulator.calls.last.status, lro_emulator.calls.last.body) == (400, {"timeout": "soon"})


@pytest.mark.lro_emulator(profile="earthengine")
def test_a_dash_is_a_literal_parent_without_cross_collection_reads(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation("projects/p/operations/op-1")

    assert http.get("/v1/projects/-/operations").json == {}
    assert [op["name"] for op in http.get("/v1/projects/p/operations").json["operations"]] == [
        "projects/p/operations/op-1"
    ]


def test_not_found_names_the_near_misses(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.add_operation(OP)

    answer = http.get("/v1/projects/p/locations/l/operations/op-2")

    assert answer.status_code == 404
    assert f"did you mean '{OP}'" in answer.json["error"]["message"]


def test_snapshot_is_the_served_json(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(OP, {"@type": STRUCT, "value": {}}).fail("INTERNAL", "x", at=5)
    lro_emulator.clock.advance(5)

    assert op.snapshot() == get(http)


DURATION = "type.googleapis.com/google.protobuf.Duration"


def test_a_step_whose_poll_count_is_reached_is_checked_as_firing_now(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(metadata=struct(a=1))
    op.update(metadata={"@type": DURATION, "value": "1s"}, at=10)

    op.update(metadata={"value": {"x": 1}}, after_polls=0)  # fires now, on the Struct: a valid merge

    assert http.get(f"/v1/{op.name}").get_json()["metadata"] == struct(x=1)
    lro_emulator.clock.advance(10)
    assert http.get(f"/v1/{op.name}").get_json()["metadata"] == {"@type": DURATION, "value": "1s"}


def test_every_interleaving_of_timed_and_polled_steps_is_checked(lro_emulator: Emulator, http: Client) -> None:
    op = lro_emulator.add_operation(metadata=struct())
    op.update(metadata=struct(a=1), at=10)
    op.update(metadata={"@type": DURATION, "value": "1s"}, after_polls=2)

    # Polled once before 10 s and once between 10 s and 20 s, the merge at 20 s would land on the Duration.
    with pytest.raises(ScriptError, match=r"/metadata/value: \{'x': 1\} is not of type 'string'"):
        op.update(metadata={"value": {"x": 1}}, at=20)

    for _ in range(2):
        assert http.get(f"/v1/{op.name}").status_code == 200
        lro_emulator.clock.advance(15)
    assert http.get(f"/v1/{op.name}").get_json()["metadata"] == {"@type": DURATION, "value": "1s"}
    assert lro_emulator.problems == []
