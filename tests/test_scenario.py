"""Scenario files, loaded in-process with ``emu.load_scenario``: every construct of the format (timed and
poll-counted steps, metadata merge and replacement, responses, errors, ``done: true``, cancel behaviour,
generated names, starting methods with their template timeline, profile and clock start) behaves on the wire
as the equivalent scripting does; loading is atomic (a scenario with any fault changes nothing at all);
faults are reported with the file, the line and the JSON pointer; and the marker's ``scenario=`` option
loads one for a test.
"""

from __future__ import annotations

import json
import re
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.cloud.workflows_v1.types import CreateWorkflowRequest, Workflow
from google.longrunning import operations_pb2
from google.protobuf import json_format
from werkzeug.test import Client

from lro_emulator import DEFAULT_START, Emulator, LoadedScenario, Scenario, ScenarioError

from .helpers import STRUCT, struct

JSON = dict[str, Any]
META = "type.googleapis.com/acme.v1.ExportMetadata"
OTHER_META = "type.googleapis.com/acme.v1.CopyMetadata"
RESULT = "type.googleapis.com/acme.v1.ExportResult"
EMPTY = "type.googleapis.com/google.protobuf.Empty"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
START = datetime(2030, 1, 1, tzinfo=timezone.utc)
NAME = "projects/p/operations/export-1"


def write(directory: Path, filename: str, text: str) -> Path:
    """A scenario file whose first line is the first line of ``text`` (dedented)."""
    path = directory / filename
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def get(http: Client, name: str) -> JSON:
    response = http.get(f"/v1/{name}")
    assert response.status_code == 200, response.get_data(as_text=True)
    document: JSON = response.json
    return document


def load_error(emu: Emulator, source: Any) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        emu.load_scenario(source)
    return caught.value


# -- every construct, end to end --------------------------------------------------------------------------------

TIMED_YAML = """
description: an export that runs two minutes
operations:
  - name: projects/p/operations/export-1
    metadata:
      "@type": type.googleapis.com/acme.v1.ExportMetadata
      state: PENDING
      progress: 0
    steps:
      - at: 1.5
        metadata: {progress: 10}
      - at: 90s
        metadata: {state: RUNNING, progress: 50}
      - at: "100.25s"
        metadata: {progress: 75}
      - at: 120
        metadata: {state: SUCCEEDED, progress: null}
        response:
          "@type": type.googleapis.com/acme.v1.ExportResult
          rows: 3
"""

TIMED_DOCUMENT: JSON = {
    "description": "an export that runs two minutes",
    "operations": [{
        "name": NAME,
        "metadata": {"@type": META, "state": "PENDING", "progress": 0},
        "steps": [
            {"at": 1.5, "metadata": {"progress": 10}},
            {"at": "90s", "metadata": {"state": "RUNNING", "progress": 50}},
            {"at": "100.25s", "metadata": {"progress": 75}},
            {"at": 120, "metadata": {"state": "SUCCEEDED", "progress": None},
             "response": {"@type": RESULT, "rows": 3}},
        ],
    }],
}


def timed_source(form: str, directory: Path) -> Any:
    if form == "yaml":
        return write(directory, "export.yaml", TIMED_YAML)
    if form == "json":
        return write(directory, "export.json", json.dumps(TIMED_DOCUMENT, indent=2))
    if form == "str-path":
        return str(write(directory, "export.yml", TIMED_YAML))
    return TIMED_DOCUMENT


@pytest.mark.parametrize("form", ["yaml", "json", "str-path", "dict"])
def test_timed_steps_fire_at_seconds_and_duration_strings(
    lro_emulator: Emulator, http: Client, tmp_path: Path, form: str
) -> None:
    loaded = lro_emulator.load_scenario(timed_source(form, tmp_path))

    assert isinstance(loaded, LoadedScenario)
    assert [op.name for op in loaded.operations] == [NAME]
    assert loaded.starters == []
    assert loaded.operations[0].created == START
    seen = [get(http, NAME)]
    for seconds in (1.4, 0.1, 88.5, 10.249, 0.001, 19.75):
        lro_emulator.clock.advance(seconds)
        seen.append(get(http, NAME))

    def metadata(**fields: Any) -> JSON:
        return {"name": NAME, "metadata": {"@type": META, **fields}}

    assert seen == [
        metadata(state="PENDING", progress=0),
        metadata(state="PENDING", progress=0),
        metadata(state="PENDING", progress=10),
        metadata(state="RUNNING", progress=50),
        metadata(state="RUNNING", progress=50),
        metadata(state="RUNNING", progress=75),
        {**metadata(state="SUCCEEDED"), "done": True, "response": {"@type": RESULT, "rows": 3}},
    ]
    assert lro_emulator.clock.now() - START == timedelta(seconds=120)


def test_after_polls_steps_fire_once_that_many_polls_were_answered(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.load_scenario({"operations": [{
        "name": NAME,
        "metadata": {"@type": META, "state": "PENDING"},
        "steps": [
            {"afterPolls": 0, "metadata": {"attempt": 1}},
            {"afterPolls": 2, "metadata": {"state": "RUNNING"}},
            {"afterPolls": 3, "response": struct(ok=True)},
        ],
    }]})

    answers = [get(http, NAME) for _ in range(5)]

    assert answers == [
        {"name": NAME, "metadata": {"@type": META, "state": "PENDING", "attempt": 1}},
        {"name": NAME, "metadata": {"@type": META, "state": "PENDING", "attempt": 1}},
        {"name": NAME, "metadata": {"@type": META, "state": "RUNNING", "attempt": 1}},
        {"name": NAME, "metadata": {"@type": META, "state": "RUNNING", "attempt": 1}, "done": True,
         "response": struct(ok=True)},
        {"name": NAME, "metadata": {"@type": META, "state": "RUNNING", "attempt": 1}, "done": True,
         "response": struct(ok=True)},
    ]
    assert lro_emulator.clock.now() == START
    assert lro_emulator.operation(NAME).polls == 5


def test_metadata_without_type_merges_keys_and_with_type_replaces_the_message(
    lro_emulator: Emulator, http: Client, tmp_path: Path
) -> None:
    path = write(tmp_path, "merge.yaml", """
        operations:
          - name: projects/p/operations/export-1
            metadata: {"@type": type.googleapis.com/acme.v1.ExportMetadata, state: PENDING, owner: me, tries: 1}
            steps:
              - {at: 10, metadata: {state: RUNNING, owner: null}}
              - {at: 20, metadata: {"@type": type.googleapis.com/acme.v1.CopyMetadata, stage: 2}}
              - {at: 30, metadata: {bytes: "12"}}
              - {at: 40, metadata: {"@type": type.googleapis.com/google.protobuf.Struct, value: {phase: copy}}}
        """)
    lro_emulator.load_scenario(path)

    seen = []
    for _ in range(5):
        seen.append(get(http, NAME)["metadata"])
        lro_emulator.clock.advance(10)

    assert seen == [
        {"@type": META, "state": "PENDING", "owner": "me", "tries": 1},
        {"@type": META, "state": "RUNNING", "tries": 1},
        {"@type": OTHER_META, "stage": 2},
        {"@type": OTHER_META, "stage": 2, "bytes": "12"},
        struct(phase="copy"),
    ]


@pytest.mark.parametrize("code", ["NOT_FOUND", 5])
def test_an_error_step_fails_with_the_code_by_name_or_number_and_its_details(
    lro_emulator: Emulator, http: Client, tmp_path: Path, code: Any
) -> None:
    path = write(tmp_path, "fail.yaml", f"""
        operations:
          - name: projects/p/operations/export-1
            metadata: {{"@type": type.googleapis.com/acme.v1.ExportMetadata, state: RUNNING}}
            steps:
              - at: 30s
                metadata: {{state: FAILED}}
                error:
                  code: {code}
                  message: the table is gone
                  details:
                    - "@type": type.googleapis.com/google.rpc.ErrorInfo
                      reason: TABLE_DELETED
                      domain: acme.example.com
                      metadata: {{table: t1}}
                    - "@type": type.googleapis.com/google.rpc.RetryInfo
                      retryDelay: 5s
        """)
    lro_emulator.load_scenario(path)

    before = get(http, NAME)
    lro_emulator.clock.advance(30)

    assert before == {"name": NAME, "metadata": {"@type": META, "state": "RUNNING"}}
    assert get(http, NAME) == {
        "name": NAME,
        "metadata": {"@type": META, "state": "FAILED"},
        "done": True,
        "error": {
            "code": 5,
            "message": "the table is gone",
            "details": [
                {"@type": ERROR_INFO, "reason": "TABLE_DELETED", "domain": "acme.example.com",
                 "metadata": {"table": "t1"}},
                {"@type": RETRY_INFO, "retryDelay": "5s"},
            ],
        },
    }


def test_an_error_without_message_or_details_is_just_its_code(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.load_scenario({"operations": [{"name": NAME, "steps": [{"error": {"code": "UNAVAILABLE"}}]}]})

    assert get(http, NAME) == {"name": NAME, "done": True, "error": {"code": 14}}


def test_done_true_alone_ends_with_an_empty_response(lro_emulator: Emulator, http: Client, tmp_path: Path) -> None:
    path = write(tmp_path, "done.yaml", """
        operations:
          - name: projects/p/operations/export-1
            steps:
              - {at: 60, done: true}
          - name: projects/p/operations/export-2
            metadata: {"@type": type.googleapis.com/acme.v1.ExportMetadata, state: RUNNING}
            steps:
              - {at: 60, done: true, metadata: {state: DONE}}
        """)
    lro_emulator.load_scenario(path)

    running = [get(http, NAME), get(http, "projects/p/operations/export-2")]
    lro_emulator.clock.advance(60)

    assert running == [{"name": NAME}, {"name": "projects/p/operations/export-2",
                                        "metadata": {"@type": META, "state": "RUNNING"}}]
    assert get(http, NAME) == {"name": NAME, "done": True, "response": {"@type": EMPTY}}
    assert get(http, "projects/p/operations/export-2") == {
        "name": "projects/p/operations/export-2", "metadata": {"@type": META, "state": "DONE"},
        "done": True, "response": {"@type": EMPTY},
    }


def test_a_step_without_a_time_fires_at_creation(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.clock.advance(5)
    lro_emulator.load_scenario({"operations": [{"name": NAME, "steps": [{"metadata": struct(at="creation")}]}]})

    assert get(http, NAME) == {"name": NAME, "metadata": struct(at="creation")}
    assert lro_emulator.operation(NAME).created == START + timedelta(seconds=5)


# -- cancel --------------------------------------------------------------------------------------------------------


def cancel(http: Client, name: str = NAME) -> tuple[int, JSON]:
    response = http.post(f"/v1/{name}:cancel")
    return response.status_code, response.json


def test_cancel_is_accepted_at_once_by_default(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.load_scenario({"operations": [{"name": NAME, "steps": [{"at": 600, "done": True}]}]})

    assert cancel(http) == (200, {})
    assert get(http, NAME) == {
        "name": NAME, "done": True, "error": {"code": 1, "message": "The operation was cancelled."},
    }


def test_cancel_accepted_after_a_delay_applies_its_metadata_then(
    lro_emulator: Emulator, http: Client, tmp_path: Path
) -> None:
    path = write(tmp_path, "cancel.yaml", """
        operations:
          - name: projects/p/operations/export-1
            metadata: {"@type": type.googleapis.com/acme.v1.ExportMetadata, state: RUNNING}
            steps:
              - {at: 600, done: true}
            cancel:
              mode: accept
              after: 30s
              metadata: {state: CANCELLED}
        """)
    lro_emulator.load_scenario(path)
    lro_emulator.clock.advance(10)

    assert cancel(http) == (200, {})
    lro_emulator.clock.advance(29.999)
    assert get(http, NAME) == {"name": NAME, "metadata": {"@type": META, "state": "RUNNING"}}
    lro_emulator.clock.advance(0.001)
    assert get(http, NAME) == {
        "name": NAME, "metadata": {"@type": META, "state": "CANCELLED"}, "done": True,
        "error": {"code": 1, "message": "The operation was cancelled."},
    }


def test_an_ignored_cancel_answers_ok_and_changes_nothing(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.load_scenario({"operations": [{
        "name": NAME, "metadata": struct(n=1), "steps": [{"at": 60, "response": struct(n=2)}],
        "cancel": {"mode": "ignore"},
    }]})

    assert cancel(http) == (200, {})
    assert get(http, NAME) == {"name": NAME, "metadata": struct(n=1)}
    lro_emulator.clock.advance(60)
    assert get(http, NAME) == {"name": NAME, "metadata": struct(n=1), "done": True, "response": struct(n=2)}


@pytest.mark.parametrize(
    ("spec", "http_status", "status", "message"),
    [
        pytest.param({"mode": "refuse"}, 400, "FAILED_PRECONDITION", "The operation cannot be cancelled.",
                     id="default-code"),
        pytest.param({"mode": "refuse", "code": "PERMISSION_DENIED", "message": "exports cannot be stopped"}, 403,
                     "PERMISSION_DENIED", "exports cannot be stopped", id="code-by-name"),
        pytest.param({"mode": "refuse", "code": 10, "message": "busy"}, 409, "ABORTED", "busy", id="code-by-number"),
    ],
)
def test_a_refused_cancel_fails_with_the_scripted_code(
    lro_emulator: Emulator, http: Client, spec: JSON, http_status: int, status: str, message: str
) -> None:
    lro_emulator.load_scenario({"operations": [{"name": NAME, "cancel": spec}]})

    code, body = cancel(http)

    assert code == http_status
    assert body["error"]["status"] == status
    assert body["error"]["message"] == message
    assert body["error"]["details"][0]["reason"] == "CANCEL_REFUSED"
    assert get(http, NAME) == {"name": NAME}


# -- names ----------------------------------------------------------------------------------------------------------


def test_names_are_generated_under_the_parent_or_the_profiles_default(lro_emulator: Emulator, http: Client) -> None:
    loaded = lro_emulator.load_scenario({"operations": [
        {"parent": "projects/p/locations/l"},
        {},
        {"name": "projects/p/locations/l/operations/named"},
        {"parent": "projects/p/locations/l", "metadata": struct(third=True)},
    ]})

    names = [op.name for op in loaded.operations]
    listed = http.get("/v1/projects/p/locations/l/operations").json

    assert names == [
        "projects/p/locations/l/operations/op-1",
        "projects/test-project/locations/global/operations/op-2",
        "projects/p/locations/l/operations/named",
        "projects/p/locations/l/operations/op-3",
    ]
    assert listed == {"operations": [
        {"name": "projects/p/locations/l/operations/op-1"},
        {"name": "projects/p/locations/l/operations/named"},
        {"name": "projects/p/locations/l/operations/op-3", "metadata": struct(third=True)},
    ]}
    assert [op.name for op in lro_emulator.operations] == names


def test_the_default_parent_is_the_scenarios_profiles(lro_emulator: Emulator) -> None:
    loaded = lro_emulator.load_scenario({"profile": "earthengine", "operations": [{}, {"parent": "projects/ee"}]})

    assert [op.name for op in loaded.operations] == ["projects/test-project/operations/op-1",
                                                    "projects/ee/operations/op-2"]


# -- starting methods ---------------------------------------------------------------------------------------------

JOBS_RULE = "POST /v1/{parent=projects/*/locations/*}/jobs"


def test_an_http_start_gives_each_operation_it_creates_the_template_timeline(
    lro_emulator: Emulator, http: Client, tmp_path: Path
) -> None:
    path = write(tmp_path, "starts.yaml", """
        starts:
          - http: POST /v1/{parent=projects/*/locations/*}/jobs
            operation:
              metadata: {"@type": type.googleapis.com/acme.v1.ExportMetadata, state: QUEUED}
              steps:
                - {at: 30s, metadata: {state: RUNNING}}
                - {at: 60s, response: {"@type": type.googleapis.com/acme.v1.ExportResult, rows: 7}}
              cancel: {mode: refuse, code: FAILED_PRECONDITION, message: jobs run to the end}
        """)
    loaded = lro_emulator.load_scenario(path)
    first = http.post("/v1/projects/p/locations/l/jobs", json={"display": "a"})
    lro_emulator.clock.advance(10)
    second = http.post("/v1/projects/p/locations/l/jobs?jobId=j2", json={"display": "b"})
    lro_emulator.clock.advance(20)
    at_30s = [get(http, f"projects/p/locations/l/operations/op-{n}") for n in (1, 2)]
    refused = cancel(http, "projects/p/locations/l/operations/op-2")
    lro_emulator.clock.advance(30)
    at_60s = [get(http, f"projects/p/locations/l/operations/op-{n}") for n in (1, 2)]
    lro_emulator.clock.advance(10)

    assert loaded.operations == []
    [starter] = loaded.starters
    assert starter.rpc == JOBS_RULE
    assert (first.status_code, first.json) == (200, {"name": "projects/p/locations/l/operations/op-1",
                                                     "metadata": {"@type": META, "state": "QUEUED"}})
    assert (second.status_code, second.json) == (200, {"name": "projects/p/locations/l/operations/op-2",
                                                       "metadata": {"@type": META, "state": "QUEUED"}})
    assert at_30s == [
        {"name": "projects/p/locations/l/operations/op-1", "metadata": {"@type": META, "state": "RUNNING"}},
        {"name": "projects/p/locations/l/operations/op-2", "metadata": {"@type": META, "state": "QUEUED"}},
    ]
    assert refused[0] == 400
    assert refused[1]["error"]["message"] == "jobs run to the end"
    assert at_60s == [
        {"name": "projects/p/locations/l/operations/op-1", "metadata": {"@type": META, "state": "RUNNING"},
         "done": True, "response": {"@type": RESULT, "rows": 7}},
        {"name": "projects/p/locations/l/operations/op-2", "metadata": {"@type": META, "state": "RUNNING"}},
    ]
    assert get(http, "projects/p/locations/l/operations/op-2")["done"] is True
    assert [op.name for op in starter.operations] == ["projects/p/locations/l/operations/op-1",
                                                      "projects/p/locations/l/operations/op-2"]
    assert [dict(request.message) for request in starter.requests] == [
        {"display": "a", "parent": "projects/p/locations/l"},
        {"display": "b", "jobId": "j2", "parent": "projects/p/locations/l"},
    ]
    assert [call.rpc for call in lro_emulator.calls.filter(status=200)][:2] == [JOBS_RULE, JOBS_RULE]


def test_a_grpc_start_decodes_its_registered_request_type(lro_emulator: Emulator, http: Client) -> None:
    loaded = lro_emulator.load_scenario({"starts": [{
        "grpc": "google.cloud.workflows.v1.Workflows/CreateWorkflow",
        "http": "POST /v1/{parent=projects/*/locations/*}/workflows",
        "body": "workflow",
        "requestType": "google.cloud.workflows.v1.CreateWorkflowRequest",
        "operation": {"metadata": struct(state="CREATING"), "steps": [{"at": "45s", "done": True}]},
    }]})
    request = CreateWorkflowRequest(parent="projects/p/locations/l", workflow_id="wf-1",
                                    workflow=Workflow(description="nightly"))

    with grpc.insecure_channel(lro_emulator.grpc_target) as channel:
        create = channel.unary_unary("/google.cloud.workflows.v1.Workflows/CreateWorkflow",
                                     request_serializer=CreateWorkflowRequest.serialize,
                                     response_deserializer=operations_pb2.Operation.FromString)
        answer = json_format.MessageToDict(create(request))
    over_rest = http.post("/v1/projects/p/locations/l/workflows?workflowId=wf-2", json={"description": "weekly"})
    lro_emulator.clock.advance(45)

    [starter] = loaded.starters
    assert starter.rpc == "google.cloud.workflows.v1.Workflows/CreateWorkflow"
    assert answer == {"name": "projects/p/locations/l/operations/op-1", "metadata": struct(state="CREATING")}
    assert over_rest.json == {"name": "projects/p/locations/l/operations/op-2", "metadata": struct(state="CREATING")}
    assert [dict(r.message) for r in starter.requests] == [
        {"parent": "projects/p/locations/l", "workflowId": "wf-1", "workflow": {"description": "nightly"}},
        {"parent": "projects/p/locations/l", "workflowId": "wf-2", "workflow": {"description": "weekly"}},
    ]
    assert [r.transport for r in starter.requests] == ["grpc", "http"]
    assert get(http, "projects/p/locations/l/operations/op-1") == {
        "name": "projects/p/locations/l/operations/op-1", "metadata": struct(state="CREATING"),
        "done": True, "response": {"@type": EMPTY},
    }


# -- profile and clock start ------------------------------------------------------------------------------------


def test_a_fresh_emulator_switches_to_the_scenarios_profile_and_start(
    lro_emulator: Emulator, http: Client, tmp_path: Path
) -> None:
    path = write(tmp_path, "ee.yaml", """
        profile: earthengine
        start: 2031-06-01T12:00:00Z
        operations:
          - name: projects/ee/operations/export-1
            steps: [{at: 60, done: true}]
        """)

    loaded = lro_emulator.load_scenario(path)

    switched = datetime(2031, 6, 1, 12, tzinfo=timezone.utc)
    assert lro_emulator.profile.name == "earthengine"
    assert lro_emulator.clock.now() == switched
    assert datetime.now(timezone.utc) == switched
    assert loaded.operations[0].created == switched
    status = http.get("/_emulator/v1").json
    assert (status["profile"], status["time"], status["operations"]) == ("earthengine", "2031-06-01T12:00:00Z", 1)
    assert http.get("/v1/projects/ee/operations/export-1").json == {"name": "projects/ee/operations/export-1"}
    not_an_ee_collection = http.get("/v1/projects/ee/locations/l/operations")
    assert not_an_ee_collection.status_code == 404
    assert not_an_ee_collection.json["error"]["details"][0]["reason"] == "UNKNOWN_PARENT"


def used_by_an_operation(emu: Emulator, http: Client) -> None:
    emu.add_operation("projects/p/operations/earlier")


def used_by_a_call(emu: Emulator, http: Client) -> None:
    http.get("/v1/projects/p/operations/nothing")


def used_by_moving_the_clock(emu: Emulator, http: Client) -> None:
    emu.clock.advance(1)


def used_by_a_start(emu: Emulator, http: Client) -> None:
    emu.on_start(http="POST /v1/{parent=projects/*}/things")


@pytest.mark.parametrize("use", [used_by_an_operation, used_by_a_call, used_by_moving_the_clock, used_by_a_start])
@pytest.mark.parametrize(
    ("wanted", "pointer"),
    [
        pytest.param({"profile": "vertex"}, "/profile", id="profile"),
        pytest.param({"start": "2031-01-01T00:00:00Z"}, "/start", id="start"),
        pytest.param({"profile": "vertex", "start": "2031-01-01T00:00:00Z"}, "/profile", id="both"),
    ],
)
def test_an_emulator_in_use_refuses_another_profile_or_start_and_changes_nothing(
    lro_emulator: Emulator, http: Client, use: Any, wanted: JSON, pointer: str
) -> None:
    use(lro_emulator, http)
    before = observed(lro_emulator)

    error = load_error(lro_emulator, {**wanted, "operations": [{"name": "projects/p/operations/new"}]})

    assert [problem.pointer for problem in error.problems] == [pointer]
    assert "load it first after a reset" in error.problems[0].message
    assert "the generic profile from 2030-01-01T00:00:00Z" in error.problems[0].message
    assert observed(lro_emulator) == before


def test_an_emulator_in_use_loads_a_scenario_that_names_its_own_profile_and_start(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation("projects/p/operations/earlier")
    lro_emulator.clock.advance(7)

    loaded = lro_emulator.load_scenario({"profile": "generic", "start": DEFAULT_START,
                                         "operations": [{"name": "projects/p/operations/new"}]})

    assert [op.name for op in lro_emulator.operations] == ["projects/p/operations/earlier", "projects/p/operations/new"]
    assert loaded.operations[0].created == START + timedelta(seconds=7)


# -- atomicity -----------------------------------------------------------------------------------------------------

THINGS_RULE = "POST /v1/{parent=projects/*}/things"
VALID_PART = """
operations:
  - parent: projects/p
    metadata: {"@type": type.googleapis.com/google.protobuf.Struct, value: {from: scenario}}
  - name: projects/p/operations/fine
    steps: [{at: 5, done: true}]
"""
VALID_START = """
  - http: POST /v1/{parent=projects/*}/widgets
    operation: {steps: [{at: 1, done: true}]}
"""


def populate(emu: Emulator, http: Client) -> None:
    """An emulator in use: operations, a starting method, a call, and a moved clock."""
    emu.add_operation(metadata=struct(step=1)).succeed(struct(ok=True), at=100)
    emu.add_operation("projects/p/operations/existing").update(metadata=struct(step=2), at=50)
    emu.on_start(http=THINGS_RULE)
    assert http.get("/v1/projects/test-project/locations/global/operations/op-1").status_code == 200
    emu.clock.advance(10)


def observed(emu: Emulator) -> JSON:
    """Everything a scenario could change, as exact values."""
    operations = emu.operations
    return {
        "names": [op.name for op in operations],
        "snapshots": [op.snapshot() for op in operations],
        "polls": [op.polls for op in operations],
        "calls": list(emu.calls),
        "starts": [(starter.http, starter.grpc_method) for starter in emu.starters],
        "clock": emu.clock.now(),
        "profile": emu.profile.name,
        "problems": emu.problems,
    }


@pytest.mark.parametrize(
    ("extra_operation", "extra_start", "pointer", "fragment"),
    [
        pytest.param("  - name: projects/p/operations/late\n    steps: [{at: 3, colour: red, done: true}]\n", "",
                     "/operations/2/steps/0", "('colour' was unexpected)", id="schema-error-late-in-the-file"),
        pytest.param("  - name: projects/p/operations/existing\n", "", "/operations/2/name",
                     "already exists in the emulator", id="name-of-an-existing-operation"),
        pytest.param("  - name: projects/p/operations/fine\n", "", "/operations/2",
                     "an operation named 'projects/p/operations/fine' already exists", id="name-twice-in-the-file"),
        pytest.param("  - name: projects/p/operations/late\n"
                     "    steps: [{at: 3, done: true}, {at: 4, metadata: {a: 1}}]\n",
                     "", "/operations/2/steps/1", "comes after the operation is done", id="step-after-done"),
        pytest.param("  - name: projects/p/operations/late\n    metadata: {'@type': not-a-type-url}\n", "",
                     "/operations/2/metadata/@type", "'not-a-type-url' is malformed", id="bad-type-url"),
        pytest.param("  - name: projects/p/operations/late\n"
                     f"    metadata: {{'@type': {STRUCT}, value: {{}}, x: 1}}\n",
                     "", "/operations/2/metadata", "('x' was unexpected)", id="struct-with-stray-field"),
        pytest.param("", "  - http: FETCH /v1/{parent=projects/*}/gadgets\n", "/starts/1",
                     "'FETCH' is not one of GET, POST, PUT, PATCH, DELETE", id="bad-start-rule"),
        pytest.param("", "  - http: POST /_emulator/v1/gadgets\n", "/starts/1",
                     "under a path the emulator reserves for itself", id="start-under-the-control-plane"),
        pytest.param("", "  - http: GET /$discovery/gadgets\n", "/starts/1",
                     "under a path the emulator reserves for itself", id="start-under-discovery"),
        pytest.param("", f"  - http: {THINGS_RULE}\n", "/starts/1", "already starts operations",
                     id="start-declared-before"),
        pytest.param("", "  - http: POST /v1/{parent=projects/*}/widgets\n", "/starts/1", "already starts operations",
                     id="start-twice-in-the-file"),
        pytest.param("", "  - grpc: acme.v1.Gadgets/CreateGadget\n", "/starts/1",
                     "no message type acme.v1.CreateGadgetRequest is registered", id="start-with-unregistered-type"),
        pytest.param("", "  - http: POST /v1/{parent=projects/*}/gadgets\n"
                         "    operation: {steps: [{at: 3, done: true}, {at: 4, metadata: {a: 1}}]}\n",
                     "/starts/1/operation", "comes after the operation is done", id="start-template-step-after-done"),
    ],
)
def test_a_scenario_with_any_fault_loads_nothing(
    lro_emulator: Emulator, http: Client, tmp_path: Path,
    extra_operation: str, extra_start: str, pointer: str, fragment: str,
) -> None:
    populate(lro_emulator, http)
    path = tmp_path / "faulty.yaml"
    path.write_text(VALID_PART.lstrip("\n") + extra_operation + "starts:" + VALID_START + extra_start)
    before = observed(lro_emulator)

    error = load_error(lro_emulator, path)

    assert observed(lro_emulator) == before
    assert error.source == str(path)
    assert len(error.problems) == 1
    assert error.problems[0].pointer.startswith(pointer)
    assert fragment in error.problems[0].message
    assert lro_emulator.add_operation().name == "projects/test-project/locations/global/operations/op-2"
    assert http.post("/v1/projects/p/widgets").status_code == 404
    assert http.post("/v1/projects/p/things").status_code == 200


def test_the_valid_part_alone_loads(lro_emulator: Emulator, http: Client, tmp_path: Path) -> None:
    populate(lro_emulator, http)
    path = tmp_path / "valid.yaml"
    path.write_text(VALID_PART.lstrip("\n") + "starts:" + VALID_START)

    loaded = lro_emulator.load_scenario(path)

    assert [op.name for op in loaded.operations] == ["projects/p/operations/op-2", "projects/p/operations/fine"]
    assert [starter.rpc for starter in loaded.starters] == ["POST /v1/{parent=projects/*}/widgets"]
    assert [starter.rpc for starter in lro_emulator.starters] == [THINGS_RULE, "POST /v1/{parent=projects/*}/widgets"]
    assert loaded.operations[0].created == START + timedelta(seconds=10)


def test_a_payload_grpc_cannot_pack_loads_nothing_once_grpc_serves(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.start_grpc()
    populate(lro_emulator, http)
    before = observed(lro_emulator)

    error = load_error(lro_emulator, {"operations": [
        {"name": "projects/p/operations/fine", "metadata": struct(a=1)},
        {"name": "projects/p/operations/late", "steps": [{"at": 5, "response": {"@type": RESULT, "rows": 1}}]},
    ]})

    assert [problem.pointer for problem in error.problems] == ["/operations/1/steps/0"]
    assert "cannot be served over gRPC" in error.problems[0].message
    assert "acme.v1.ExportResult is not a message type this process has registered" in error.problems[0].message
    assert observed(lro_emulator) == before


def test_a_faulty_scenario_leaves_a_fresh_emulator_fresh_on_its_profile_and_clock(
    lro_emulator: Emulator, http: Client
) -> None:
    faulty = {"profile": "earthengine", "start": "2031-01-01T00:00:00Z",
              "operations": [{"name": "projects/e/operations/a"}, {"name": "not-an-ee-name/operations/b"}]}

    error = load_error(lro_emulator, faulty)

    assert [problem.pointer for problem in error.problems] == ["/operations/1/name"]
    assert "is not an operation name the earthengine profile serves" in error.problems[0].message
    assert lro_emulator.profile.name == "generic"
    assert lro_emulator.clock.now() == START
    assert datetime.now(timezone.utc) == START
    assert lro_emulator.operations == []
    assert len(lro_emulator.calls) == 0
    lro_emulator.load_scenario({"profile": "vertex", "start": "2032-01-01T00:00:00Z"})
    assert (lro_emulator.profile.name, lro_emulator.clock.now().year) == ("vertex", 2032)


# -- reporting -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("profle: vertex\n",
                     "Additional properties are not allowed ('profle' was unexpected) (did you mean 'profile'?)",
                     id="top-level"),
        pytest.param("operations:\n  - name: projects/p/operations/a\n    steps: [{at: 10, done: true, respone: {}}]\n",
                     "Additional properties are not allowed ('respone' was unexpected) (did you mean 'response'?)",
                     id="step"),
        pytest.param("operations:\n  - nmae: projects/p/operations/a\n",
                     "Unevaluated properties are not allowed ('nmae' was unexpected) (did you mean 'name'?)",
                     id="operation"),
        pytest.param("starts:\n  - http: POST /v1/{parent=projects/*}/widgets\n    operation: {stpes: []}\n",
                     "Unevaluated properties are not allowed ('stpes' was unexpected) (did you mean 'steps'?)",
                     id="start-template"),
        pytest.param("profile: vertx\n",
                     "'vertx' is not one of ['generic', 'earthengine', 'vertex', 'cancel-get-list'] "
                     "(did you mean 'vertex'?)", id="profile-name"),
    ],
)
def test_a_misspelt_key_or_name_names_the_closest_known_one(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as raised:
        Scenario.from_text(text, "typo.yaml")

    assert [problem.message for problem in raised.value.problems] == [message]


REPORTED = [
    pytest.param("""
        description: reporting
        operations:
          - name: projects/p/operations/a
            steps:
              - at: 10s
                metadata: {state: RUNNING}
                colour: blue
        """, 7, "/operations/0/steps/0", "Additional properties are not allowed ('colour' was unexpected)",
        id="unknown-key-line-7"),
    pytest.param("""
        operations:
          - name: projects/p/operations/a
            steps:
              - at: soon
                done: true
        """, 4, "/operations/0/steps/0/at", "A virtual duration: seconds as a number", id="bad-duration"),
    pytest.param("""
        operations:
          - name: projects/p/operations/a
            steps:
              - at: 10
                error:
                  message: no code
        """, 5, "/operations/0/steps/0/error", "'code' is a required property", id="missing-code"),
    pytest.param("""
        operations:
          - name: projects/p/operations/a

          - name: projects/p/operations/b
            steps:
              - at: 10
                done: true
              - at: 20
                metadata: {a: 1}
        """, 8, "/operations/1/steps/1", "update at 20s comes after the operation is done (succeed at 10s)",
        id="step-after-done"),
    pytest.param("""
        operations:
          - name: projects/p/operations/a
            steps:
              - at: 10
                afterPolls: 2
                done: true
        """, 4, "/operations/0/steps/0", "A step fires either `at` a time or `afterPolls` polls, not both.",
        id="at-and-after-polls"),
    pytest.param("""
        operations:
          - name: projects/p/operations/a
            steps:
              - at: 10
                response: {"@type": type.googleapis.com/google.protobuf.Empty}
                error: {code: 5}
        """, 4, "/operations/0/steps/0", "An operation is done with a `response` or an `error`, not both.",
        id="response-and-error"),
    pytest.param("""
        operations:
          - name: projects/p/operations/a
            metadata: {"@type": type.googleapis.com/acme.v1.Progress}
            steps:
              - afterPolls: 3
                done: true
              - at: 10
                metadata: {a: 1}
        """, 5, "/operations/0/steps/0", "cannot tell whether update at 10s comes before succeed after 3 polls",
        id="mixed-triggers"),
    pytest.param("""
        operations:
          - name: projects/p/operations/a
          - name: projects/p/operations/clash
        """, 3, "/operations/1/name", "an operation named 'projects/p/operations/clash' already exists",
        id="name-clash"),
    pytest.param("""
        description: starts
        starts:
          - grpc: acme.v1.Gadgets/CreateGadget
          - http: POST /_emulator/v1/things
            operation:
              steps: [{at: 5, done: true}]
        """, 3, "/starts/0", "no message type acme.v1.CreateGadgetRequest is registered", id="start-type"),
    pytest.param("""
        profile: cloud-run
        """, 1, "/profile", "'cloud-run' is not one of", id="unknown-profile"),
    pytest.param("""
        description: a date stays text
        start: 2030-01-01
        """, 2, "/start", "'2030-01-01' is malformed: An RFC 3339 timestamp", id="unquoted-date-start"),
    pytest.param("""
        start: 2030-02-30T00:00:00Z
        """, 1, "/start", "'2030-02-30T00:00:00Z' is not an RFC 3339 timestamp", id="impossible-date"),
    pytest.param("""
        operations:
          - name: projects/p/operations/a
            metadata:
              "@type": type.googleapis.com/acme.v1.Meta
              ratio: .nan
        """, 5, "/operations/0/metadata/ratio", "nan is not a JSON number", id="nan"),
    pytest.param("""
        description: !!binary aGVsbG8=
        """, 1, "/description", "a bytes has no JSON form; write it as text", id="binary"),
    pytest.param("""
        description: ok
        operations: !!set {a, b}
        """, 2, "/operations", "a set has no JSON form", id="set"),
    pytest.param("""
        description: keys
        1: one
        """, 1, "", "the key 1 is not text; quote it (JSON keys are strings)", id="non-string-key"),
    pytest.param("""
        operations:
          - name: projects/p/operations/a
            steps:
            - at: 1
              done: true
           bad: indentation
        """, 6, "", "expected <block end>, but found", id="yaml-syntax"),
    pytest.param("""
        - name: projects/p/operations/a
        - name: projects/p/operations/b
        """, 1, "", "a scenario is an object (a YAML mapping); this document is a list, not an object",
        id="list-at-top-level"),
]


@pytest.mark.parametrize(("text", "line", "pointer", "fragment"), REPORTED)
def test_a_fault_is_reported_with_the_file_line_and_pointer(
    lro_emulator: Emulator, tmp_path: Path, text: str, line: int, pointer: str, fragment: str
) -> None:
    lro_emulator.add_operation("projects/p/operations/clash")
    path = write(tmp_path, "scenario.yaml", text)

    error = load_error(lro_emulator, path)

    assert error.source == str(path)
    assert len(error.problems) == 1, error.problems
    [problem] = error.problems
    assert (problem.line, problem.pointer) == (line, pointer)
    assert fragment in problem.message
    assert str(error) == (f"scenario {path} has 1 fault, so nothing was loaded:\n"
                          f"  {path}:{line}: {pointer or '/'}: {problem.message}")
    assert [op.name for op in lro_emulator.operations] == ["projects/p/operations/clash"]


def test_a_fault_inside_a_start_template_is_reported_at_its_step(lro_emulator: Emulator, tmp_path: Path) -> None:
    path = write(tmp_path, "template.yaml", """
        starts:
          - http: POST /v1/{parent=projects/*}/widgets
            operation:
              steps:
                - at: 10
                  done: true
                - at: 20
                  metadata: {a: 1}
        """)

    error = load_error(lro_emulator, path)

    assert [(p.line, p.pointer) for p in error.problems] == [(7, "/starts/0/operation/steps/1")]
    assert "update at 20s comes after the operation is done" in error.problems[0].message


def test_an_unquoted_date_stays_text_where_text_is_expected(lro_emulator: Emulator, tmp_path: Path) -> None:
    path = write(tmp_path, "dates.yaml", """
        description: 2030-01-01
        start: 2031-01-01T00:00:00Z
        operations:
          - name: projects/p/operations/a
            metadata: {"@type": type.googleapis.com/acme.v1.Meta, day: 2030-01-02, at: 2030-01-02T03:04:05Z}
        """)

    scenario = Scenario.read(path)
    loaded = lro_emulator.load_scenario(scenario)

    assert scenario.document["description"] == "2030-01-01"
    assert scenario.start == datetime(2031, 1, 1, tzinfo=timezone.utc)
    assert loaded.operations[0].snapshot() == {"name": "projects/p/operations/a", "metadata": {
        "@type": "type.googleapis.com/acme.v1.Meta", "day": "2030-01-02", "at": "2030-01-02T03:04:05Z"}}


def test_a_date_tagged_explicitly_is_a_fault(tmp_path: Path) -> None:
    path = write(tmp_path, "tagged.yaml", """
        description: ok
        start: !!timestamp 2030-01-01T00:00:00Z
        """)

    with pytest.raises(ScenarioError) as caught:
        Scenario.read(path)

    assert [(p.line, p.pointer, p.message) for p in caught.value.problems] == [
        (2, "/start", "a datetime has no JSON form; write it as text")]


def test_a_json_syntax_error_gives_its_line(lro_emulator: Emulator, tmp_path: Path) -> None:
    path = write(tmp_path, "scenario.json", """
        {
          "operations": [
            {"name": "projects/p/operations/a"}
            {"name": "projects/p/operations/b"}
          ]
        }
        """)

    error = load_error(lro_emulator, path)

    [problem] = error.problems
    assert (problem.line, problem.pointer) == (4, "")
    assert "expected ',' or ']'" in problem.message
    assert str(error).startswith(f"scenario {path} has 1 fault, so nothing was loaded:\n  {path}:4: /: ")


def test_a_json_schema_fault_gives_its_line(lro_emulator: Emulator, tmp_path: Path) -> None:
    path = write(tmp_path, "scenario.json", """
        {
          "operations": [
            {"name": "projects/p/operations/a",
             "steps": [{"at": -5, "done": true}]}
          ]
        }
        """)

    error = load_error(lro_emulator, path)

    assert [(p.line, p.pointer) for p in error.problems] == [(4, "/operations/0/steps/0/at")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"", "a scenario is an object (a YAML mapping); this document is empty", id="empty"),
        pytest.param(b"# only a comment\n", "a scenario is an object (a YAML mapping); this document is empty",
                     id="only-a-comment"),
        pytest.param(b"description: \xff\xfe\n", "the file is not UTF-8 text", id="not-utf-8"),
    ],
)
def test_a_file_without_a_scenario_is_a_fault(
    lro_emulator: Emulator, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_bytes(content)

    error = load_error(lro_emulator, path)

    assert [(p.pointer, p.line) for p in error.problems] == [("", None)]
    assert error.problems[0].message.startswith(message)
    assert str(error).startswith(f"scenario {path} has 1 fault, so nothing was loaded:\n  {path}: /: {message}")


def test_a_missing_file_is_a_fault_naming_it(lro_emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    error = load_error(lro_emulator, path)

    assert error.source == str(path)
    assert [(p.pointer, p.line, p.message) for p in error.problems] == [
        ("", None, "cannot read the file: No such file or directory")]


@pytest.mark.parametrize(
    ("document", "pointer", "message"),
    [
        pytest.param({"description": float("nan")}, "/description", "nan is not a JSON number", id="nan"),
        pytest.param({"operations": [{"metadata": {"@type": STRUCT, "value": {"x": float("inf")}}}]},
                     "/operations/0/metadata/value/x", "inf is not a JSON number", id="infinity"),
        pytest.param({"operations": [{"metadata": {"@type": STRUCT, 3: "x"}}]}, "/operations/0/metadata",
                     "the key 3 is not text; quote it (JSON keys are strings)", id="non-string-key"),
        pytest.param({"start": START}, "/start", "a datetime has no JSON form; write it as text", id="datetime"),
        pytest.param({"description": b"bytes"}, "/description", "a bytes has no JSON form; write it as text",
                     id="bytes"),
    ],
)
def test_a_document_with_non_json_values_is_a_fault(
    lro_emulator: Emulator, document: JSON, pointer: str, message: str
) -> None:
    error = load_error(lro_emulator, document)

    assert [(p.pointer, p.line, p.message) for p in error.problems] == [(pointer, None, message)]
    assert error.source == "<scenario>"


@pytest.mark.parametrize("document", [[{"name": NAME}], "operations: []", 42], ids=["list", "text", "number"])
def test_a_document_that_is_not_an_object_is_a_fault(document: Any) -> None:
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_document(document)

    assert [(p.pointer, p.line) for p in caught.value.problems] == [("", None)]
    assert caught.value.problems[0].message == f"a scenario is an object, not {type(document).__name__}"


def test_more_than_twenty_schema_faults_are_capped_with_a_count_of_the_rest(
    lro_emulator: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("operations:\n" + "".join(f"  - {{name: projects/p/operations/o{n}, colour: red}}\n"
                                               for n in range(25)))

    error = load_error(lro_emulator, path)

    assert [(p.pointer, p.line) for p in error.problems] == [(f"/operations/{n}", n + 2) for n in range(20)]
    assert str(error).startswith(f"scenario {path} has 25 faults, so nothing was loaded:\n")
    assert str(error).endswith(f"{path}:21: /operations/19: Unevaluated properties are not allowed ('colour' was "
                               "unexpected)\n  ... and 5 more")


def test_more_than_twenty_non_json_values_are_capped_with_a_count_of_the_rest(
    lro_emulator: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("description: x\noperations:\n" + "".join(
        f"  - {{name: projects/p/operations/o{n}, metadata: {{'@type': {STRUCT}, value: {{x: .nan}}}}}}\n"
        for n in range(25)))

    error = load_error(lro_emulator, path)

    assert [(p.pointer, p.line) for p in error.problems] == [
        (f"/operations/{n}/metadata/value/x", n + 3) for n in range(20)]
    assert str(error).startswith(f"scenario {path} has 25 faults, so nothing was loaded:\n")
    assert str(error).endswith("\n  ... and 5 more")


# -- the marker ------------------------------------------------------------------------------------------------------

MARKER_SCENARIO = """
profile: earthengine
start: 2031-01-01T00:00:00Z
operations:
  - name: projects/ee/operations/export-1
    steps: [{at: 60s, done: true}]
"""


def test_the_marker_loads_a_scenario_relative_to_the_test_file(users_project: pytest.Pytester) -> None:
    suite = users_project.mkdir("suite")
    (suite / "scenarios").mkdir()
    (suite / "scenarios" / "export.yaml").write_text(MARKER_SCENARIO.lstrip())
    (suite / "test_export.py").write_text(textwrap.dedent('''
        import datetime
        import urllib.request, json
        import pytest

        @pytest.mark.lro_emulator(scenario="scenarios/export.yaml")
        def test_loaded(lro_emulator):
            assert lro_emulator.profile.name == "earthengine"
            assert lro_emulator.clock.now() == datetime.datetime(2031, 1, 1, tzinfo=datetime.timezone.utc)
            url = f"{lro_emulator.url}/v1/projects/ee/operations/export-1:wait"
            request = urllib.request.Request(url, data=b"{}", method="POST",
                                             headers={"content-type": "application/json"})
            with urllib.request.urlopen(request) as answer:
                assert json.load(answer)["done"] is True
            assert lro_emulator.clock.now().isoformat() == "2031-01-01T00:01:00+00:00"

        @pytest.mark.lro_emulator(scenario="scenarios/export.yaml", profile="earthengine",
                                  start="2031-01-01T00:00:00Z")
        def test_agreeing_marker(lro_emulator):
            assert [op.name for op in lro_emulator.operations] == ["projects/ee/operations/export-1"]

        def test_next_test_is_fresh(lro_emulator):
            assert lro_emulator.profile.name == "generic"
            assert lro_emulator.operations == []
    '''))

    result = users_project.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=3)


def test_the_marker_loads_a_scenario_document(users_project: pytest.Pytester) -> None:
    users_project.makepyfile('''
        import pytest

        DOCUMENT = {"profile": "vertex", "operations": [{"parent": "projects/v/locations/l",
                                                         "steps": [{"afterPolls": 1, "done": True}]}]}

        @pytest.mark.lro_emulator(scenario=DOCUMENT)
        def test_loaded(lro_emulator):
            [op] = lro_emulator.operations
            assert op.name == "projects/v/locations/l/operations/op-1"
            assert lro_emulator.profile.name == "vertex"
    ''')

    users_project.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("option", "shown"),
    [
        pytest.param('profile="vertex"', "@pytest.mark.lro_emulator(profile='vertex') disagrees with the scenario",
                     id="profile"),
        pytest.param('start="2030-01-01T00:00:00Z"',
                     "@pytest.mark.lro_emulator(start='2030-01-01T00:00:00Z') disagrees with the scenario", id="start"),
    ],
)
def test_a_marker_disagreeing_with_its_scenario_is_a_usage_error(
    users_project: pytest.Pytester, option: str, shown: str
) -> None:
    (users_project.path / "export.yaml").write_text(MARKER_SCENARIO.lstrip())
    users_project.makepyfile(f'''
        import pytest

        @pytest.mark.lro_emulator(scenario="export.yaml", {option})
        def test_never_runs(lro_emulator):
            raise AssertionError("the body ran")
    ''')

    result = users_project.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*UsageError: {shown}*"])
    result.stdout.no_fnmatch_line("*the body ran*")


def test_a_broken_marker_scenario_errors_the_test_at_setup(users_project: pytest.Pytester) -> None:
    (users_project.path / "broken.yaml").write_text(
        "operations:\n  - name: projects/p/operations/a\n    steps:\n      - {at: 1, colour: red, done: true}\n")
    users_project.makepyfile('''
        import pytest

        @pytest.mark.lro_emulator(scenario="broken.yaml")
        def test_never_runs(lro_emulator):
            raise AssertionError("the body ran")

        def test_others_still_run(lro_emulator):
            assert lro_emulator.operations == []
    ''')

    result = users_project.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=1, errors=1)
    path = users_project.path / "broken.yaml"
    result.stdout.fnmatch_lines([
        "*ERROR at setup of test_never_runs*",
        f"*{path}:4: /operations/0/steps/0: Additional properties are not allowed ('colour' was unexpected)*",
    ])
    result.stdout.no_fnmatch_line("*the body ran*")


def test_the_scenario_class_reads_a_file_without_an_emulator(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", MARKER_SCENARIO)

    scenario = Scenario.read(path)

    assert scenario.source == str(path)
    assert scenario.profile == "earthengine"
    assert scenario.start == datetime(2031, 1, 1, tzinfo=timezone.utc)
    assert scenario.document["operations"] == [{"name": "projects/ee/operations/export-1",
                                                "steps": [{"at": "60s", "done": True}]}]
    assert re.fullmatch(r"scenario \S+ has 1 fault, so nothing was loaded:\n  \S+: /x: why",
                        str(scenario.error("/x", "why")))
