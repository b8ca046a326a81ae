"""The control plane under ``/_emulator/``, through the wire: each endpoint answers what its schema in
``control.schema.json`` describes and refuses bad requests with AIP-193 errors that change nothing; scenarios
load as JSON, YAML or curl's default form content type; the clock moves forward only; the call log pages with
``since`` and never holds the control plane's own calls (observers see them); and the control plane's Python
methods, which the REST app calls (internal: ``emu._control``, tested here only), answer the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from werkzeug.test import Client

from lro_emulator import Call, Code, Emulator, ScriptError, StatusError
from lro_emulator.rest.app import error_envelope  # internal: the envelope and schemas the wire answers with
from lro_emulator.wire.validation import load_schemas  # internal: the envelope and schemas the wire answers with

from .helpers import struct

JSON = dict[str, Any]
CONTROL = "/_emulator/v1"
RPCS = ["CancelOperation", "DeleteOperation", "GetOperation", "ListOperations", "WaitOperation"]
START = datetime(2030, 1, 1, tzinfo=timezone.utc)
NAME = "projects/p/operations/export-1"
META = "type.googleapis.com/acme.v1.ExportMetadata"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
SCHEMAS = load_schemas()
YAML_SCENARIO = """\
operations:
  - name: projects/p/operations/export-1
    metadata: {"@type": type.googleapis.com/acme.v1.ExportMetadata, state: PENDING}
    steps:
      - {at: 60s, metadata: {state: RUNNING}}
      - {at: 120s, done: true}
  - parent: projects/p
starts:
  - http: POST /v1/{parent=projects/*}/exports
    operation: {steps: [{at: 10, done: true}]}
"""


def url(emu: Emulator, path: str) -> str:
    return f"{emu.url}{CONTROL}{path}"


def answer(response: requests.Response | Any, schema: str) -> JSON:
    """The 200 answer, checked against its schema."""
    status = getattr(response, "status_code", None)
    body = response.json() if isinstance(response, requests.Response) else response.json
    assert status == 200, body
    SCHEMAS.validate(schema, body)
    document: JSON = body
    return document


def failure(response: requests.Response | Any, http_status: int, status: str) -> JSON:
    """The AIP-193 error of a refused call, checked against the envelope's schema."""
    body = response.json() if isinstance(response, requests.Response) else response.json
    assert response.status_code == http_status, body
    SCHEMAS.validate("error-envelope", body)
    error: JSON = body["error"]
    assert (error["code"], error["status"]) == (http_status, status)
    return error


def violations(error: JSON) -> list[tuple[str, str]]:
    return [(v["field"], v["description"]) for detail in error["details"] if detail["@type"] == BAD_REQUEST
            for v in detail["fieldViolations"]]


def reason(error: JSON) -> str:
    value: str = error["details"][0]["reason"]
    return value


def status_without_grpc(document: JSON) -> JSON:
    """The status minus the gRPC address, which the shared server has once any earlier test started gRPC."""
    return {key: value for key, value in document.items() if key != "grpc"}


def everything(emu: Emulator) -> JSON:
    """What a failed control call must leave as it was."""
    return {
        "operations": [op.snapshot() for op in emu.operations],
        "calls": list(emu.calls),
        "clock": emu.clock.now(),
        "profile": emu.profile.name,
        "starts": [starter.rpc for starter in emu.starters],
    }


# -- status ---------------------------------------------------------------------------------------------------------


def test_status_describes_a_fresh_emulator(lro_emulator: Emulator) -> None:
    status = answer(requests.get(url(lro_emulator, ""), timeout=5), "control#/$defs/emulator")

    assert status_without_grpc(status) == {
        "profile": "generic", "rpcs": RPCS, "time": "2030-01-01T00:00:00Z", "clock": {"mode": "virtual"},
        "operations": 0, "calls": 0, "http": lro_emulator.url,
    }


def test_status_counts_operations_and_api_calls_but_not_control_calls(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.add_operation()
    requests.get(f"{lro_emulator.url}/v1/{NAME}", timeout=5)
    for _ in range(3):
        requests.get(url(lro_emulator, ""), timeout=5)
    requests.post(url(lro_emulator, "/clock:advance"), json={"duration": "2.5s"}, timeout=5)

    status = answer(requests.get(url(lro_emulator, ""), timeout=5), "control#/$defs/emulator")

    assert (status["operations"], status["calls"], status["time"]) == (2, 1, "2030-01-01T00:00:02.500000Z")
    assert [call.rpc for call in lro_emulator.calls] == ["GetOperation"]


@pytest.mark.lro_emulator(profile="cancel-get-list", start="2031-05-06T07:08:09Z", grpc=True)
def test_status_shows_the_profile_start_and_grpc_address(lro_emulator: Emulator) -> None:
    status = answer(requests.get(url(lro_emulator, ""), timeout=5), "control#/$defs/emulator")

    assert status == {
        "profile": "cancel-get-list", "rpcs": ["CancelOperation", "GetOperation", "ListOperations"],
        "time": "2031-05-06T07:08:09Z", "clock": {"mode": "virtual"}, "operations": 0, "calls": 0,
        "http": lro_emulator.url, "grpc": lro_emulator.grpc_target,
    }


def test_status_has_no_grpc_address_until_grpc_serves() -> None:
    with Emulator() as emu:
        status = answer(requests.get(url(emu, ""), timeout=5), "control#/$defs/emulator")
        served_at = emu.url

    assert "grpc" not in status
    assert status["http"] == served_at


def test_status_takes_no_query_parameters(lro_emulator: Emulator) -> None:
    error = failure(requests.get(url(lro_emulator, "?verbose=1"), timeout=5), 400, "INVALID_ARGUMENT")

    assert violations(error) == [
        ("verbose", "unknown query parameter 'verbose'; this method accepts no parameters besides the standard ones")]


# -- operations ------------------------------------------------------------------------------------------------------


def test_create_operation_answers_the_operation_and_follows_its_timeline(lro_emulator: Emulator) -> None:
    body = {
        "name": NAME,
        "metadata": {"@type": META, "state": "PENDING"},
        "steps": [{"at": "60s", "metadata": {"state": "RUNNING"}}, {"at": 120, "response": struct(rows=3)}],
        "cancel": {"mode": "refuse", "code": "FAILED_PRECONDITION", "message": "no"},
    }

    created = answer(requests.post(url(lro_emulator, "/operations"), json=body, timeout=5), "operation")
    lro_emulator.clock.advance(60)
    running = requests.get(f"{lro_emulator.url}/v1/{NAME}", timeout=5).json()
    lro_emulator.clock.advance(60)
    done = requests.get(f"{lro_emulator.url}/v1/{NAME}", timeout=5).json()
    refused = requests.post(f"{lro_emulator.url}/v1/{NAME}:cancel", timeout=5)

    assert created == {"name": NAME, "metadata": {"@type": META, "state": "PENDING"}}
    assert running == {"name": NAME, "metadata": {"@type": META, "state": "RUNNING"}}
    assert done == {"name": NAME, "metadata": {"@type": META, "state": "RUNNING"}, "done": True,
                    "response": struct(rows=3)}
    assert refused.status_code == 200
    assert lro_emulator.operation(NAME).created == START
    assert [call.rpc for call in lro_emulator.calls] == ["GetOperation", "GetOperation", "CancelOperation"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param({}, {"name": "projects/test-project/locations/global/operations/op-1"}, id="empty-body"),
        pytest.param({"parent": "projects/q"}, {"name": "projects/q/operations/op-1"}, id="parent"),
        pytest.param({"steps": [{"done": True}]},
                     {"name": "projects/test-project/locations/global/operations/op-1", "done": True,
                      "response": {"@type": "type.googleapis.com/google.protobuf.Empty"}}, id="done-now"),
    ],
)
def test_create_operation_generates_a_name(lro_emulator: Emulator, body: JSON, expected: JSON) -> None:
    created = answer(requests.post(url(lro_emulator, "/operations"), json=body, timeout=5), "operation")

    assert created == expected
    assert [op.name for op in lro_emulator.operations] == [expected["name"]]


def test_create_operation_with_an_empty_body_uses_the_default_parent(lro_emulator: Emulator, http: Client) -> None:
    created = answer(http.post(f"{CONTROL}/operations", content_type="application/json"), "operation")

    assert created == {"name": "projects/test-project/locations/global/operations/op-1"}


@pytest.mark.parametrize(
    ("body", "field", "description"),
    [
        pytest.param({"name": "projects/p/operations/taken"}, "/name",
                     "an operation named 'projects/p/operations/taken' already exists in the emulator",
                     id="name-taken"),
        pytest.param({"name": "projects/p/operations/x", "parent": "projects/p"}, "body",
                     "Give an operation a `name` or a `parent`, not both.", id="name-and-parent"),
        pytest.param({"steps": [{"at": 10, "done": True}, {"at": 20, "metadata": {"a": 1}}]}, "/steps/1",
                     "update at 20s comes after the operation is done (succeed at 10s)", id="step-after-done"),
        pytest.param({"metadata": {"@type": "nope"}}, "/metadata/@type", "'nope' is malformed", id="bad-type-url"),
        pytest.param({"colour": "red"}, "body", "Unevaluated properties are not allowed ('colour' was unexpected)",
                     id="unknown-field"),
        pytest.param({"steps": [{"at": -1, "done": True}]}, "/steps/0/at", "A virtual duration", id="negative-at"),
    ],
)
def test_create_operation_refuses_a_faulty_operation_and_creates_nothing(
    lro_emulator: Emulator, body: JSON, field: str, description: str
) -> None:
    lro_emulator.add_operation("projects/p/operations/taken")
    before = everything(lro_emulator)

    error = failure(requests.post(url(lro_emulator, "/operations"), json=body, timeout=5), 400, "INVALID_ARGUMENT")

    assert reason(error) == "INVALID_SCENARIO"
    [(reported_field, reported)] = violations(error)
    assert reported_field == field
    assert reported.startswith(description)
    assert error["message"].startswith(f"the operation was not loaded: {field if field != 'body' else '/'}: ")
    assert everything(lro_emulator) == before


# -- scenarios -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/yaml", "application/x-yaml", "text/yaml", "application/yaml; charset=utf-8"],
)
def test_load_scenario_reads_yaml(lro_emulator: Emulator, content_type: str) -> None:
    response = requests.post(url(lro_emulator, "/scenario:load"), data=YAML_SCENARIO.encode(),
                             headers={"Content-Type": content_type}, timeout=5)

    loaded = answer(response, "control#/$defs/loadScenarioResponse")

    assert loaded == {"operations": [NAME, "projects/p/operations/op-1"],
                      "starts": ["POST /v1/{parent=projects/*}/exports"]}
    started = requests.post(f"{lro_emulator.url}/v1/projects/p/exports", json={}, timeout=5).json()
    assert started == {"name": "projects/p/operations/op-2"}
    lro_emulator.clock.advance(60)
    assert lro_emulator.operation(NAME).snapshot() == {"name": NAME, "metadata": {"@type": META, "state": "RUNNING"}}


def test_a_form_is_refused_as_a_web_page_could_post_one(lro_emulator: Emulator) -> None:
    response = requests.post(url(lro_emulator, "/scenario:load"), data={"operations": "[]"}, timeout=5)

    error = failure(response, 400, "INVALID_ARGUMENT")

    assert response.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert violations(error) == [("body", "the request body must be application/json or application/yaml, got "
                                          "'application/x-www-form-urlencoded'")]


def test_load_scenario_reads_json(lro_emulator: Emulator) -> None:
    document = {"profile": "generic", "operations": [{"name": NAME}], "starts": [
        {"http": "POST /v1/{parent=projects/*}/exports", "body": None}]}

    loaded = answer(requests.post(url(lro_emulator, "/scenario:load"), json=document, timeout=5),
                    "control#/$defs/loadScenarioResponse")

    assert loaded == {"operations": [NAME], "starts": ["POST /v1/{parent=projects/*}/exports"]}


def test_load_scenario_of_nothing_loads_nothing(lro_emulator: Emulator, http: Client) -> None:
    loaded = answer(http.post(f"{CONTROL}/scenario:load", json={}), "control#/$defs/loadScenarioResponse")

    assert loaded == {"operations": [], "starts": []}


def test_load_scenario_switches_a_fresh_emulator_to_its_profile_and_start(lro_emulator: Emulator) -> None:
    document = {"profile": "earthengine", "start": "2031-02-03T04:05:06Z",
                "operations": [{"name": "projects/ee/operations/x"}]}

    answer(requests.post(url(lro_emulator, "/scenario:load"), json=document, timeout=5),
           "control#/$defs/loadScenarioResponse")
    status = answer(requests.get(url(lro_emulator, ""), timeout=5), "control#/$defs/emulator")

    assert (status["profile"], status["time"], status["operations"]) == ("earthengine", "2031-02-03T04:05:06Z", 1)


def test_load_scenario_refuses_another_profile_on_an_emulator_in_use(lro_emulator: Emulator) -> None:
    requests.get(f"{lro_emulator.url}/v1/{NAME}", timeout=5)
    before = everything(lro_emulator)

    error = failure(requests.post(url(lro_emulator, "/scenario:load"), json={"profile": "vertex"}, timeout=5),
                    400, "INVALID_ARGUMENT")

    assert reason(error) == "INVALID_SCENARIO"
    [(field, description)] = violations(error)
    assert field == "/profile"
    assert "load it first after a reset" in description
    assert everything(lro_emulator) == before


def test_a_yaml_scenario_with_faults_is_refused_with_their_lines(lro_emulator: Emulator) -> None:
    text = YAML_SCENARIO.replace("      - {at: 120s, done: true}\n",
                                 "      - {at: 120s, done: true}\n      - {at: soon, done: true}\n")
    text += "colour: red\n"
    before = everything(lro_emulator)

    response = requests.post(url(lro_emulator, "/scenario:load"), data=text,
                             headers={"Content-Type": "application/yaml"}, timeout=5)

    error = failure(response, 400, "INVALID_ARGUMENT")
    assert reason(error) == "INVALID_SCENARIO"
    assert violations(error) == [
        ("body", "line 12: Additional properties are not allowed ('colour' was unexpected)"),
        ("/operations/0/steps/2/at", 'line 7: A virtual duration: seconds as a number (90, 1.5) or a proto3 JSON '
                                     'Duration string ("90s", "1.5s"). Never negative, and at most 315576000000 '
                                     'seconds (10,000 years).'),
    ]
    assert error["message"] == ("the scenario was not loaded: line 12: /: Additional properties are not allowed "
                                "('colour' was unexpected) (and 1 more fault(s); see the details)")
    assert everything(lro_emulator) == before


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        pytest.param(b"operations: [", "line 1: while parsing a flow node", id="unclosed-flow"),
        pytest.param(b"- just\n- a list\n", "line 1: a scenario is an object", id="list"),
        pytest.param(b"description: .nan\n", "line 1: nan is not a JSON number", id="nan"),
        pytest.param(b"start: 2030-01-01\n", "line 1: '2030-01-01' is malformed", id="unquoted-date"),
    ],
)
def test_a_yaml_body_that_is_no_scenario_is_refused(lro_emulator: Emulator, body: bytes, fragment: str) -> None:
    response = requests.post(url(lro_emulator, "/scenario:load"), data=body,
                             headers={"Content-Type": "application/yaml"}, timeout=5)

    error = failure(response, 400, "INVALID_ARGUMENT")

    assert reason(error) == "INVALID_SCENARIO"
    assert violations(error)[0][1].startswith(fragment)
    assert lro_emulator.operations == []


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        pytest.param("text/plain", "the request body must be application/json or application/yaml, got 'text/plain'",
                     id="text-plain"),
        pytest.param("application/xml", "the request body must be application/json or application/yaml, got "
                                        "'application/xml'", id="xml"),
    ],
)
def test_load_scenario_refuses_other_content_types(lro_emulator: Emulator, content_type: str, message: str) -> None:
    response = requests.post(url(lro_emulator, "/scenario:load"), data=YAML_SCENARIO,
                             headers={"Content-Type": content_type}, timeout=5)

    error = failure(response, 400, "INVALID_ARGUMENT")

    assert violations(error) == [("body", message)]
    assert lro_emulator.operations == []


def test_a_json_body_that_is_not_json_is_refused(lro_emulator: Emulator) -> None:
    response = requests.post(url(lro_emulator, "/scenario:load"), data=YAML_SCENARIO,
                             headers={"Content-Type": "application/json"}, timeout=5)

    error = failure(response, 400, "INVALID_ARGUMENT")

    assert violations(error)[0][0] == "body"
    assert error["message"].startswith("Invalid JSON payload received. ")
    assert lro_emulator.operations == []


# -- the clock -------------------------------------------------------------------------------------------------------


def test_get_clock_reads_the_virtual_clock(lro_emulator: Emulator) -> None:
    lro_emulator.clock.advance(0.25)

    clock = answer(requests.get(url(lro_emulator, "/clock"), timeout=5), "control#/$defs/clock")

    assert clock == {"time": "2030-01-01T00:00:00.250000Z"}


@pytest.mark.parametrize(
    ("duration", "time"),
    [
        pytest.param("90s", "2030-01-01T00:01:30Z", id="duration-string"),
        pytest.param("1.5s", "2030-01-01T00:00:01.500000Z", id="fractional-string"),
        pytest.param(90, "2030-01-01T00:01:30Z", id="integer"),
        pytest.param(0.75, "2030-01-01T00:00:00.750000Z", id="float"),
        pytest.param(0, "2030-01-01T00:00:00Z", id="zero"),
        pytest.param("86400s", "2030-01-02T00:00:00Z", id="a-day"),
    ],
)
def test_advance_moves_the_clock_forward(lro_emulator: Emulator, duration: Any, time: str) -> None:
    moved = answer(requests.post(url(lro_emulator, "/clock:advance"), json={"duration": duration}, timeout=5),
                   "control#/$defs/clock")

    assert moved == {"time": time}
    assert answer(requests.get(url(lro_emulator, "/clock"), timeout=5), "control#/$defs/clock") == {"time": time}
    assert lro_emulator.calls.call_count == 0


def test_advance_fires_the_steps_it_passes(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME).succeed(at=60)

    requests.post(url(lro_emulator, "/clock:advance"), json={"duration": "59.999s"}, timeout=5)
    before = requests.get(f"{lro_emulator.url}/v1/{NAME}", timeout=5).json()
    requests.post(url(lro_emulator, "/clock:advance"), json={"duration": "0.001s"}, timeout=5)
    after = requests.get(f"{lro_emulator.url}/v1/{NAME}", timeout=5).json()

    assert before == {"name": NAME}
    assert after["done"] is True


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        pytest.param({}, "body", "'duration' is a required property", id="missing"),
        pytest.param({"duration": -1}, "duration", "A virtual duration", id="negative"),
        pytest.param({"duration": "-1s"}, "duration", "", id="negative-string"),
        pytest.param({"duration": "soon"}, "duration", "", id="garbage"),
        pytest.param({"duration": "90m"}, "duration", "", id="minutes"),
        pytest.param({"duration": "90"}, "duration", "", id="number-as-text"),
        pytest.param({"duration": True}, "duration", "A virtual duration", id="boolean"),
        pytest.param({"duration": None}, "duration", "", id="null"),
        pytest.param({"duration": [90]}, "duration", "", id="list"),
        pytest.param({"duration": 1e300}, "duration", "A virtual duration", id="huge"),
        pytest.param({"duration": "90s", "when": "now"}, "body",
                     "Additional properties are not allowed ('when' was unexpected)", id="unknown-field"),
    ],
)
def test_advance_refuses_a_bad_duration_and_leaves_the_clock(
    lro_emulator: Emulator, body: JSON, field: str, message: str
) -> None:
    error = failure(requests.post(url(lro_emulator, "/clock:advance"), json=body, timeout=5), 400, "INVALID_ARGUMENT")

    [(reported_field, description)] = violations(error)
    assert reported_field == field
    assert description.startswith(message)
    assert error["message"] == description
    assert lro_emulator.clock.now() == START


def test_advance_to_the_end_of_the_calendar_is_refused(lro_emulator: Emulator) -> None:
    error = failure(requests.post(url(lro_emulator, "/clock:advance"), json={"duration": "315000000000s"},
                                  timeout=5), 400, "INVALID_ARGUMENT")

    assert violations(error)[0][0] == "duration"
    assert lro_emulator.clock.now() == START


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        pytest.param("2030-01-01T01:00:00Z", "2030-01-01T01:00:00Z", id="utc"),
        pytest.param("2030-01-01T03:00:00+02:00", "2030-01-01T01:00:00Z", id="offset"),
        pytest.param("2030-01-01T00:00:00Z", "2030-01-01T00:00:00Z", id="now-is-not-backwards"),
        pytest.param("2031-01-01T00:00:00.5Z", "2031-01-01T00:00:00.500000Z", id="fraction"),
        # Any number of digits, on every Python: 3.10's fromisoformat alone takes only 3 or 6 (nanoseconds are cut).
        pytest.param("2031-01-01T00:00:00.25+01:00", "2030-12-31T23:00:00.250000Z", id="fraction-and-offset"),
        pytest.param("2031-01-01T00:00:00.1234567Z", "2031-01-01T00:00:00.123456Z", id="seven-digits"),
        pytest.param("2031-01-01T00:00:00.123456789Z", "2031-01-01T00:00:00.123456Z", id="nanoseconds"),
    ],
)
def test_set_moves_the_clock_to_an_instant(lro_emulator: Emulator, time: str, expected: str) -> None:
    moved = answer(requests.post(url(lro_emulator, "/clock:set"), json={"time": time}, timeout=5),
                   "control#/$defs/clock")

    assert moved == {"time": expected}
    assert datetime.now(timezone.utc) == lro_emulator.clock.now()


def test_set_refuses_to_move_the_clock_back(lro_emulator: Emulator) -> None:
    lro_emulator.clock.advance(60)

    error = failure(requests.post(url(lro_emulator, "/clock:set"), json={"time": "2030-01-01T00:00:59Z"}, timeout=5),
                    400, "FAILED_PRECONDITION")

    assert reason(error) == "CLOCK_MOVES_FORWARD"
    assert error["message"] == ("the clock only moves forward: it is 2030-01-01T00:01:00+00:00, cannot set it to "
                                "2030-01-01T00:00:59+00:00")
    assert lro_emulator.clock.now() == START + timedelta(seconds=60)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({}, "body", id="missing"),
        pytest.param({"time": "tomorrow"}, "time", id="garbage"),
        pytest.param({"time": "2030-01-01T00:00:00"}, "time", id="no-zone"),
        pytest.param({"time": "2030-01-01"}, "time", id="date-only"),
        pytest.param({"time": 1893456000}, "time", id="epoch-seconds"),
        pytest.param({"time": "2030-02-30T00:00:00Z"}, "time", id="impossible-date"),
        pytest.param({"time": "2031-01-01T00:00:00Z", "zone": "UTC"}, "body", id="unknown-field"),
    ],
)
def test_set_refuses_what_is_not_a_timestamp(lro_emulator: Emulator, body: JSON, field: str) -> None:
    error = failure(requests.post(url(lro_emulator, "/clock:set"), json=body, timeout=5), 400, "INVALID_ARGUMENT")

    assert [f for f, _ in violations(error)] == [field]
    assert lro_emulator.clock.now() == START


# -- the call log ----------------------------------------------------------------------------------------------------


def test_calls_lists_the_api_calls_with_since_paging(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME)
    base = lro_emulator.url
    requests.get(f"{base}/v1/{NAME}", params={"alt": "json"}, headers={"X-Goog-Api-Client": "t/1"}, timeout=5)
    lro_emulator.clock.advance(30)
    requests.post(f"{base}/v1/{NAME}:cancel", json={"name": NAME}, timeout=5)
    requests.get(url(lro_emulator, ""), timeout=5)
    requests.get(f"{base}/v1/projects/p/operations", params={"pageSize": "2"}, timeout=5)
    requests.get(f"{base}/v1/projects/p/operations/missing", timeout=5)

    everything_logged = answer(requests.get(url(lro_emulator, "/calls"), timeout=5), "control#/$defs/listCallsResponse")
    from_two = answer(requests.get(url(lro_emulator, "/calls"), params={"since": 2}, timeout=5),
                      "control#/$defs/listCallsResponse")
    from_next = answer(requests.get(url(lro_emulator, "/calls"), params={"since": everything_logged["next"]},
                                    timeout=5), "control#/$defs/listCallsResponse")
    beyond = answer(requests.get(url(lro_emulator, "/calls"), params={"since": 99}, timeout=5),
                    "control#/$defs/listCallsResponse")

    calls = everything_logged["calls"]
    assert everything_logged["next"] == 4
    assert [(c["rpc"], c["method"], c["path"], c["status"], c["code"], c["time"])
            for c in calls] == [
        ("GetOperation", "GET", f"/v1/{NAME}", 200, "OK", "2030-01-01T00:00:00Z"),
        ("CancelOperation", "POST", f"/v1/{NAME}:cancel", 200, "OK", "2030-01-01T00:00:30Z"),
        ("ListOperations", "GET", "/v1/projects/p/operations", 200, "OK", "2030-01-01T00:00:30Z"),
        ("GetOperation", "GET", "/v1/projects/p/operations/missing", 404, "NOT_FOUND", "2030-01-01T00:00:30Z"),
    ]
    assert [c["transport"] for c in calls] == ["http"] * 4
    assert [c.get("name") for c in calls] == [NAME, NAME, "projects/p", "projects/p/operations/missing"]
    assert calls[0]["query"] == {"alt": "json"}
    assert calls[0]["headers"]["x-goog-api-client"] == "t/1"
    assert calls[0]["headers"]["host"] == lro_emulator.url.removeprefix("http://")
    assert calls[1]["body"] == {"name": NAME}
    assert "body" not in calls[0]
    assert calls[2]["query"] == {"pageSize": "2"}
    assert from_two == {"calls": calls[2:], "next": 4}
    assert from_next == {"next": 4}
    assert beyond == {"next": 4}
    assert len(lro_emulator.calls) == 4


def test_calls_of_a_fresh_emulator_is_empty(lro_emulator: Emulator, http: Client) -> None:
    assert answer(http.get(f"{CONTROL}/calls"), "control#/$defs/listCallsResponse") == {"next": 0}


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        pytest.param("since=-1", "since", "since must be 0 or more, got -1", id="negative"),
        pytest.param("since=x", "since", "since must be an integer, got 'x'", id="garbage"),
        pytest.param("since=1.5", "since", "since must be an integer, got '1.5'", id="fraction"),
        pytest.param("since=1&since=2", "since", "query parameter 'since' was given more than once", id="twice"),
        pytest.param("until=3", "until", "unknown query parameter 'until'; this method accepts since", id="unknown"),
    ],
)
def test_calls_refuses_a_bad_query(lro_emulator: Emulator, http: Client, query: str, field: str, message: str) -> None:
    error = failure(http.get(f"{CONTROL}/calls?{query}"), 400, "INVALID_ARGUMENT")

    assert violations(error) == [(field, message)]


def test_control_calls_are_never_in_the_call_log(lro_emulator: Emulator, http: Client) -> None:
    http.get(CONTROL)
    http.get(f"{CONTROL}/clock")
    http.post(f"{CONTROL}/clock:advance", json={"duration": 1})
    http.post(f"{CONTROL}/clock:advance", json={"duration": -1})
    http.post(f"{CONTROL}/clock:set", json={"time": "2030-01-01T00:00:05Z"})
    http.post(f"{CONTROL}/operations", json={"name": NAME})
    http.post(f"{CONTROL}/scenario:load", json={"operations": [{}]})
    http.get(f"{CONTROL}/calls")
    http.get("/_emulator/openapi.json")

    assert lro_emulator.calls.call_count == 0
    assert http.get(f"{CONTROL}/calls").json == {"next": 0}


# -- reset -----------------------------------------------------------------------------------------------------------


def test_reset_forgets_everything_and_restarts_the_clock(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.on_start(http="POST /v1/{parent=projects/*}/exports")
    requests.get(f"{lro_emulator.url}/v1/{NAME}", timeout=5)
    lro_emulator.clock.advance(3600)

    status = answer(requests.post(url(lro_emulator, ":reset"), json={}, timeout=5), "control#/$defs/emulator")

    assert status_without_grpc(status) == {
        "profile": "generic", "rpcs": RPCS, "time": "2030-01-01T00:00:00Z", "clock": {"mode": "virtual"},
        "operations": 0, "calls": 0, "http": lro_emulator.url,
    }
    assert lro_emulator.operations == []
    assert lro_emulator.starters == []
    assert requests.post(f"{lro_emulator.url}/v1/projects/p/exports", json={}, timeout=5).status_code == 404


def test_reset_switches_profile_and_start(lro_emulator: Emulator) -> None:
    lro_emulator.add_operation(NAME)

    status = answer(requests.post(url(lro_emulator, ":reset"), json={"profile": "vertex",
                                                                    "start": "2040-01-01T02:00:00+02:00"}, timeout=5),
                    "control#/$defs/emulator")

    assert (status["profile"], status["time"], status["operations"]) == ("vertex", "2040-01-01T00:00:00Z", 0)
    assert lro_emulator.profile.name == "vertex"
    assert lro_emulator.clock.now() == datetime(2040, 1, 1, tzinfo=timezone.utc)
    assert datetime.now(timezone.utc) == datetime(2040, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"profile": "cloud-run"}, "profile", id="unknown-profile"),
        pytest.param({"profile": 3}, "profile", id="profile-not-text"),
        pytest.param({"start": "yesterday"}, "start", id="garbage-start"),
        pytest.param({"start": "2030-02-30T00:00:00Z"}, "start", id="impossible-start"),
        pytest.param({"seed": 1}, "body", id="unknown-field"),
    ],
)
def test_reset_refuses_a_bad_request_and_resets_nothing(lro_emulator: Emulator, body: JSON, field: str) -> None:
    lro_emulator.add_operation(NAME)
    lro_emulator.clock.advance(5)
    before = everything(lro_emulator)

    error = failure(requests.post(url(lro_emulator, ":reset"), json=body, timeout=5), 400, "INVALID_ARGUMENT")

    assert [f for f, _ in violations(error)] == [field]
    assert everything(lro_emulator) == before


# -- content types and bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/merge-patch+json"],
)
def test_json_bodies_are_accepted_under_json_content_types(
    lro_emulator: Emulator, http: Client, content_type: str
) -> None:
    moved = answer(http.post(f"{CONTROL}/clock:advance", data=b'{"duration": "7s"}',
                             headers={"Content-Type": content_type}),
                   "control#/$defs/clock")

    assert moved == {"time": "2030-01-01T00:00:07Z"}


@pytest.mark.parametrize("content_type", ["text/plain", "application/yaml", "multipart/form-data; boundary=x",
                                          "application/x-www-form-urlencoded"])
def test_other_content_types_are_refused_for_json_endpoints(
    lro_emulator: Emulator, http: Client, content_type: str
) -> None:
    error = failure(http.post(f"{CONTROL}/clock:advance", data=b'{"duration": "7s"}',
                              headers={"Content-Type": content_type}), 400, "INVALID_ARGUMENT")

    mimetype = content_type.split(";")[0]
    assert violations(error) == [("body", f"the request body must be application/json, got {mimetype!r}")]
    assert lro_emulator.clock.now() == START


def test_a_body_without_a_content_type_is_refused(lro_emulator: Emulator, http: Client) -> None:
    error = failure(http.post(f"{CONTROL}/clock:advance", data=b'{"duration": "7s"}'), 400, "INVALID_ARGUMENT")

    assert violations(error) == [("body", "the request body must be application/json, even an empty one (with "
                                          "curl: --json '{}'); the request gave no Content-Type")]
    assert lro_emulator.clock.now() == START


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        pytest.param(b"{", "Invalid JSON payload received. Expecting property name", id="truncated"),
        pytest.param(b"[1]", "Invalid JSON payload received. Expected an object, got an array", id="list"),
        pytest.param(b'"90s"', "Invalid JSON payload received. Expected an object, got a string", id="string"),
        pytest.param(b'{"duration": NaN}', "Invalid JSON payload received. NaN is not valid JSON", id="nan"),
        pytest.param(b"\xff\xfe", "Invalid JSON payload received.", id="not-utf-8"),
        pytest.param(b"[" * 100_000, "Invalid JSON payload received.", id="deep"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(
    lro_emulator: Emulator, http: Client, data: bytes, fragment: str
) -> None:
    error = failure(http.post(f"{CONTROL}/clock:advance", data=data, headers={"Content-Type": "application/json"}),
                    400, "INVALID_ARGUMENT")

    assert error["message"].startswith(fragment)
    assert violations(error)[0][0] == "body"
    assert lro_emulator.clock.now() == START


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        pytest.param("DELETE", CONTROL, "GET", id="status"),
        pytest.param("GET", f"{CONTROL}/clock:advance", "POST", id="advance"),
        pytest.param("PUT", f"{CONTROL}/calls", "GET", id="calls"),
    ],
)
def test_a_wrong_method_on_a_control_route_is_refused(
    lro_emulator: Emulator, http: Client, method: str, path: str, allowed: str
) -> None:
    error = failure(http.open(path, method=method), 404, "NOT_FOUND")

    assert error["message"] == f"{method} is not a method of {path}; it accepts {allowed}"
    assert lro_emulator.clock.now() == START


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", f"{CONTROL}/clocks", id="unknown-path"),
        pytest.param("POST", f"{CONTROL}/clock:rewind", id="unknown-verb"),
        pytest.param("DELETE", CONTROL, id="wrong-method"),
    ],
)
def test_a_miss_under_the_control_prefix_is_not_a_call_of_the_client(
    lro_emulator: Emulator, http: Client, method: str, path: str
) -> None:
    failure(http.open(path, method=method), 404, "NOT_FOUND")

    assert lro_emulator.calls.call_count == 0
    loaded = http.post(f"{CONTROL}/scenario:load", json={"profile": "vertex"})
    assert loaded.status_code == 200, loaded.json
    assert lro_emulator.profile.name == "vertex"


# -- observers and the Python face ---------------------------------------------------------------------------------


def test_observers_see_control_plane_requests_that_the_call_log_leaves_out() -> None:
    seen: list[Call] = []
    with Emulator() as emu:
        emu.observe(seen.append)
        emu.add_operation(NAME)
        requests.get(url(emu, ""), timeout=5)
        requests.post(url(emu, "/clock:advance"), json={"duration": -1}, timeout=5)
        requests.get(f"{emu.url}/v1/{NAME}", timeout=5)
        requests.post(url(emu, "/clock:advance"), json={"duration": "5s"}, timeout=5)
        logged = list(emu.calls)

    assert [(c.rpc, c.method, c.path, c.status, c.code) for c in seen] == [
        ("GetEmulator", "GET", CONTROL, 200, "OK"),
        ("AdvanceClock", "POST", f"{CONTROL}/clock:advance", 400, "INVALID_ARGUMENT"),
        ("GetOperation", "GET", f"/v1/{NAME}", 200, "OK"),
        ("AdvanceClock", "POST", f"{CONTROL}/clock:advance", 200, "OK"),
    ]
    assert [c.time for c in seen] == [START, START, START, START + timedelta(seconds=5)]
    assert logged == [seen[2]]


def test_the_python_control_methods_answer_what_the_wire_answers(lro_emulator: Emulator) -> None:
    control = lro_emulator._control  # internal: the object the REST app serves the control plane with
    requests.get(f"{lro_emulator.url}/v1/{NAME}", timeout=5)

    pairs = [
        (control.status({}), requests.get(url(lro_emulator, ""), timeout=5).json()),
        (control.clock({}), requests.get(url(lro_emulator, "/clock"), timeout=5).json()),
        (control.calls({"since": 0}), requests.get(url(lro_emulator, "/calls?since=0"), timeout=5).json()),
        (control.openapi(lro_emulator.url + "/", {}),
         requests.get(f"{lro_emulator.url}/_emulator/openapi.json", timeout=5).json()),
    ]
    created = control.create_operation({"name": NAME, "metadata": struct(a=1)})
    over_wire = requests.post(url(lro_emulator, "/operations"), json={"parent": "projects/p"}, timeout=5).json()
    loaded = control.load_scenario("operations:\n  - parent: projects/q\n")
    advanced = control.advance({"duration": "10s"})
    set_to = control.set_time({"time": "2030-01-01T00:01:00Z"})

    for in_python, on_the_wire in pairs:
        assert in_python == on_the_wire
    assert created == {"name": NAME, "metadata": struct(a=1)}
    assert over_wire == {"name": "projects/p/operations/op-1"}
    assert loaded == {"operations": ["projects/q/operations/op-2"], "starts": []}
    assert advanced == {"time": "2030-01-01T00:00:10Z"}
    assert set_to == {"time": "2030-01-01T00:01:00Z"}
    assert control.reset({"profile": "vertex"})["profile"] == "vertex"
    assert lro_emulator.profile.name == "vertex"


@pytest.mark.parametrize(
    ("call", "path", "body"),
    [
        pytest.param(lambda c: c.advance({"duration": -1}), "/clock:advance", {"duration": -1}, id="advance"),
        pytest.param(lambda c: c.set_time({"time": "2029-01-01T00:00:00Z"}), "/clock:set",
                     {"time": "2029-01-01T00:00:00Z"}, id="set-backwards"),
        pytest.param(lambda c: c.reset({"profile": "x"}), ":reset", {"profile": "x"}, id="reset"),
        pytest.param(lambda c: c.create_operation({"colour": 1}), "/operations", {"colour": 1}, id="create"),
        pytest.param(lambda c: c.load_scenario({"profile": 1}), "/scenario:load", {"profile": 1}, id="load"),
    ],
)
def test_the_python_control_methods_raise_the_error_the_wire_answers(
    lro_emulator: Emulator, call: Any, path: str, body: JSON
) -> None:
    with pytest.raises(StatusError) as raised:
        call(lro_emulator._control)  # internal, as above
    on_the_wire = requests.post(url(lro_emulator, path), json=body, timeout=5)

    assert error_envelope(raised.value) == on_the_wire.json()
    assert raised.value.code.http_status == on_the_wire.status_code
    assert raised.value.code in (Code.INVALID_ARGUMENT, Code.FAILED_PRECONDITION)


# -- paths the emulator keeps for itself -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    ["POST /_emulator/v1/things", "GET /_emulator/v1", "POST /_emulator/v1/operations",
     "GET /$discovery/rest", "GET /$discovery/things", "GET /discovery/v1/apis/{api}/v1/rest"],
)
def test_a_start_cannot_bind_a_path_the_emulator_keeps(lro_emulator: Emulator, rule: str) -> None:
    with pytest.raises(ScriptError, match="under a path the emulator reserves for itself"):
        lro_emulator.on_start(http=rule)

    assert lro_emulator.starters == []
    assert answer(requests.get(url(lro_emulator, ""), timeout=5), "control#/$defs/emulator")["operations"] == 0
