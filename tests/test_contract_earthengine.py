"""Contract: Earth Engine's own client, ``earthengine-api``, against the emulator's earthengine profile.

``ee.Initialize`` builds its client from the discovery document the emulator serves and loads the
algorithm list; then ``ee.data`` lists (in pages of 500), gets and cancels operations, ``ee.batch.Task``
reads their ``metadata.state`` as the virtual clock moves, and ``ee.cli.utils.wait_for_task`` waits an
hour-long export out in well under a second of wall time. Every test may reach 127.0.0.1 only: any
other host fails fast, which ``ee.Initialize`` must (and does) survive.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import ee
import ee.cli.utils
import pytest

from lro_emulator import Emulator, OperationHandle

from .helpers import WALL_GUARD_SECONDS, wall

pytestmark = [pytest.mark.lro_emulator(profile="earthengine"), pytest.mark.usefixtures("loopback_only")]

PROJECT = "my-project"
PARENT = f"projects/{PROJECT}"
METADATA_TYPE = "type.googleapis.com/google.earthengine.v1.OperationMetadata"
HOUR = timedelta(hours=1)


def timestamp(instant: datetime) -> str:
    """RFC 3339 with ``Z``, as Earth Engine writes its metadata times."""
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def export_task(emu: Emulator, task_id: str, *, description: str = "export") -> OperationHandle:
    """An hour-long Earth Engine export as the service reports it: PENDING, RUNNING from 60 s, SUCCEEDED at 1 h."""
    created = emu.clock.now()
    runs_from, ends_at = timedelta(seconds=60), HOUR
    op = emu.add_operation(f"{PARENT}/operations/{task_id}", {
        "@type": METADATA_TYPE,
        "state": "PENDING",
        "description": description,
        "type": "EXPORT_IMAGE",
        "priority": 100,
        "createTime": timestamp(created),
        "updateTime": timestamp(created),
    })
    op.update(at=runs_from, metadata={
        "state": "RUNNING",
        "startTime": timestamp(created + runs_from),
        "updateTime": timestamp(created + runs_from),
        "attempt": 1,
    })
    return op.succeed(at=ends_at, metadata={
        "state": "SUCCEEDED",
        "endTime": timestamp(created + ends_at),
        "updateTime": timestamp(created + ends_at),
        "progress": 1,
        "destinationUris": [f"https://drive.google.com/#folders/{task_id}"],
    })


@pytest.fixture
def fresh_ee(loopback_only: list[str]) -> Iterator[None]:
    """ee's process-wide state, reset before and after the test so no test sees another's."""
    ee.Reset()
    yield
    ee.Reset()


@pytest.fixture
def earth_engine(lro_emulator: Emulator, fresh_ee: None) -> Emulator:
    """ee initialized against the emulator, as a user would: no credentials, the emulator's URL, a project."""
    ee.Initialize(credentials=None, url=lro_emulator.url, project=PROJECT)
    return lro_emulator


def test_initialize_builds_the_client_from_the_emulator_alone(
    lro_emulator: Emulator, fresh_ee: None, loopback_only: list[str]
) -> None:
    ee.Initialize(credentials=None, url=lro_emulator.url, project=PROJECT)

    assert [(call.rpc, call.path, call.status) for call in lro_emulator.calls] == [
        ("GetDiscoveryDocument", "/$discovery/rest", 200),
        ("GetDiscoveryDocument", "/$discovery/rest", 200),
        ("ListAlgorithms", f"/v1/{PARENT}/algorithms", 200),
    ]
    assert lro_emulator.calls[0].query == {"version": "v1", "prettyPrint": "false"}
    assert "storage.googleapis.com" in loopback_only  # the deprecated-assets catalogue, whose failure ee swallows
    assert ee.data.is_initialized()
    graph = ee.Number(1).add(2).serialize()
    assert '"functionName": "Number.add"' in graph


@pytest.mark.lro_emulator(profile="generic")
def test_initialize_against_the_generic_profile_says_to_start_the_earthengine_one(
    lro_emulator: Emulator, fresh_ee: None
) -> None:
    with pytest.raises(ee.EEException) as raised:
        ee.Initialize(credentials=None, url=lro_emulator.url, project=PROJECT)

    message = str(raised.value)
    assert "this emulator runs the generic profile, which is not Earth Engine" in message
    assert "@pytest.mark.lro_emulator(profile='earthengine')" in message
    assert "`lro-emulator serve --profile earthengine`" in message
    assert [(call.rpc, call.code) for call in lro_emulator.calls][-1] == ("ListAlgorithms", "NOT_FOUND")


def test_list_operations_pages_through_more_than_500(earth_engine: Emulator) -> None:
    running = {"@type": METADATA_TYPE, "state": "RUNNING"}
    names = [earth_engine.add_operation(f"{PARENT}/operations/TASK{i:04d}", running).name for i in range(1201)]
    earth_engine.add_operation(parent="projects/someone-else")

    operations = ee.data.listOperations()

    assert [operation["name"] for operation in operations] == names
    lists = earth_engine.calls.filter(rpc="ListOperations")
    assert [(call.path, call.query.get("pageSize")) for call in lists] == [(f"/v1/{PARENT}/operations", "500")] * 3
    assert [bool(call.query.get("pageToken")) for call in lists] == [False, True, True]


def test_get_operation_sees_the_scripted_state_as_the_clock_moves(earth_engine: Emulator) -> None:
    op = export_task(earth_engine, "ABC")
    states = []
    for offset in (0, 60, 3599, 3600):
        earth_engine.clock.advance(offset - (earth_engine.clock.now() - op.created).total_seconds())
        operation = ee.data.getOperation(op.name)
        states.append((operation["metadata"]["state"], operation.get("done", False)))

    assert states == [("PENDING", False), ("RUNNING", False), ("RUNNING", False), ("SUCCEEDED", True)]
    assert operation["metadata"]["destinationUris"] == ["https://drive.google.com/#folders/ABC"]
    assert earth_engine.calls.filter(rpc="GetOperation").call_count == 4


def test_get_operation_of_an_unknown_name_raises_ee_exception(earth_engine: Emulator) -> None:
    export_task(earth_engine, "REAL")

    with pytest.raises(ee.EEException, match="not found"):
        ee.data.getOperation(f"{PARENT}/operations/MISSING")

    assert earth_engine.calls.last.status == 404


def test_cancel_operation_sends_an_empty_body_and_the_task_ends_cancelled(earth_engine: Emulator) -> None:
    op = export_task(earth_engine, "CANCELME").on_cancel("accept", after=5, metadata={"state": "CANCELLED"})
    earth_engine.clock.advance(60)

    ee.data.cancelOperation(op.name)
    just_after = ee.data.getOperation(op.name)
    earth_engine.clock.advance(5)
    later = ee.data.getOperation(op.name)

    call = earth_engine.calls.filter(rpc="CancelOperation").last
    assert (call.method, call.path, call.body) == ("POST", f"/v1/{op.name}:cancel", {})
    assert (just_after["metadata"]["state"], just_after.get("done", False)) == ("RUNNING", False)
    assert (later["metadata"]["state"], later["done"], later["error"]["code"]) == ("CANCELLED", True, 1)


def test_task_list_and_status_follow_metadata_state_on_the_virtual_clock(earth_engine: Emulator) -> None:
    export_task(earth_engine, "FIRST", description="first export")
    failing = earth_engine.add_operation(f"{PARENT}/operations/SECOND", {
        "@type": METADATA_TYPE, "state": "PENDING", "description": "second export", "type": "EXPORT_FEATURES",
    })
    failing.update(at=30, metadata={"state": "RUNNING"})
    failing.fail("INVALID_ARGUMENT", "Band 'B9' not found.", at=120, metadata={"state": "FAILED"})

    def states() -> list[tuple[str, str]]:
        return [(task.id, task.state) for task in ee.batch.Task.list()]

    at_start = states()
    earth_engine.clock.advance(60)
    running = states()
    earth_engine.clock.advance(60)
    one_failed = states()
    earth_engine.clock.advance(3600)
    tasks = ee.batch.Task.list()

    assert at_start == [("FIRST", "READY"), ("SECOND", "READY")]
    assert running == [("FIRST", "RUNNING"), ("SECOND", "RUNNING")]
    assert one_failed == [("FIRST", "RUNNING"), ("SECOND", "FAILED")]
    first, second = tasks
    assert (first.task_type, first.config, first.name) == ("EXPORT_IMAGE", {"description": "first export"},
                                                          f"{PARENT}/operations/FIRST")
    assert first.status()["state"] == ee.batch.Task.State.COMPLETED
    assert not first.active()
    assert second.status()["state"] == ee.batch.Task.State.FAILED
    assert second.status()["error_message"] == "Band 'B9' not found."


def test_task_cancel_moves_the_task_to_cancelled(earth_engine: Emulator) -> None:
    export_task(earth_engine, "STOPPABLE").on_cancel("accept", metadata={"state": "CANCELLED"})
    earth_engine.clock.advance(90)
    (task,) = ee.batch.Task.list()

    assert task.active()
    task.cancel()

    assert task.status()["state"] == ee.batch.Task.State.CANCELLED
    assert not task.active()


def test_wait_for_task_completes_an_hour_long_task_in_well_under_a_second(
    earth_engine: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    op = export_task(earth_engine, "HOURLONG")

    started = wall()
    ee.cli.utils.wait_for_task("HOURLONG", timeout=2 * HOUR.total_seconds())
    elapsed = wall() - started

    assert elapsed < WALL_GUARD_SECONDS
    assert op.done
    assert earth_engine.clock.now() - op.created == HOUR  # ee polls every 10 s until the state is final
    assert op.polls == 361
    output = capsys.readouterr().out
    assert "Current state for task HOURLONG: RUNNING" in output
    assert "Task HOURLONG ended at state: SUCCEEDED after 3600.00 seconds" in output


def test_wait_for_task_raises_the_tasks_error_when_it_fails(
    earth_engine: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    op = earth_engine.add_operation(f"{PARENT}/operations/DOOMED", {"@type": METADATA_TYPE, "state": "RUNNING"})
    op.fail("RESOURCE_EXHAUSTED", "Export too large.", at=600, metadata={"state": "FAILED"})

    with pytest.raises(ee.EEException, match=r"Error: Export too large\."):
        ee.cli.utils.wait_for_task("DOOMED", timeout=HOUR.total_seconds(), log_progress=False)

    assert "Task DOOMED ended at state: FAILED after 600.00 seconds" in capsys.readouterr().out
