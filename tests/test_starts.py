"""Methods that start operations, ``emu.on_start(...)``: declarations are checked where they are made, and each
call of a declared method, over REST (path, query and body transcoded as google.api.http says) or over a real
gRPC channel, creates one operation, hands the script the same request on both transports, answers the
Operation, and is logged; a failing script creates nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import grpc
import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud.workflows_v1 import WorkflowsClient
from google.cloud.workflows_v1.services.workflows.transports import WorkflowsGrpcTransport
from google.cloud.workflows_v1.types import CreateWorkflowRequest, Workflow
from google.longrunning import operations_pb2
from google.protobuf import json_format
from grpc_status import rpc_status
from werkzeug.test import Client

from lro_emulator import (
    Code,
    Emulator,
    EmulatorFailure,
    OperationHandle,
    ScriptError,
    StaleHandle,
    Starter,
    StartRequest,
    StatusError,
)

from .helpers import struct

JSON = dict[str, Any]
PARENT = "projects/p/locations/l"
CREATE = "google.cloud.workflows.v1.Workflows/CreateWorkflow"
CREATE_RULE = "POST /v1/{parent=projects/*/locations/*}/workflows"
WORKFLOW = "type.googleapis.com/google.cloud.workflows.v1.Workflow"
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
TRANSPORTS = ("http", "grpc")


def record(seen: list[StartRequest]) -> Callable[[OperationHandle, StartRequest], None]:
    """A script that only remembers the requests it was handed."""

    def script(op: OperationHandle, request: StartRequest) -> None:
        seen.append(request)

    return script


def declare_create(emu: Emulator, script: Callable[[OperationHandle, StartRequest], object] | None = None) -> Starter:
    """CreateWorkflow as the Workflows API binds it, on both transports."""
    return emu.on_start(http=CREATE_RULE, body="workflow", grpc=CREATE, script=script)


def workflow_request(parent: str = PARENT, workflow_id: str = "wf-1") -> CreateWorkflowRequest:
    return CreateWorkflowRequest(
        parent=parent,
        workflow_id=workflow_id,
        workflow=Workflow(description="nightly", source_contents="main:\n  steps: []"),
    )


@dataclasses.dataclass(frozen=True)
class Answer:
    """What a client got back, whichever transport: the code's name and the Operation or the error."""

    code: str
    operation: JSON | None = None
    message: str = ""
    details: tuple[JSON, ...] = ()
    http_status: int | None = None

    def detail(self, type_url: str) -> JSON:
        return next(detail for detail in self.details if detail["@type"] == type_url)


def create_workflow(emu: Emulator, transport: str, request: CreateWorkflowRequest, routing: str = "") -> Answer:
    """Call CreateWorkflow as its client library would: REST over a real socket, or a real gRPC channel."""
    metadata = [("x-goog-request-params", routing)] if routing else []
    if transport == "http":
        params = {"workflowId": request.workflow_id} if request.workflow_id else {}
        body = json_format.MessageToDict(Workflow.pb(request.workflow))
        response = requests.post(f"{emu.url}/v1/{request.parent}/workflows", params=params, json=body,
                                 headers=dict(metadata), timeout=5)
        document = response.json()
        if response.status_code == 200:
            return Answer("OK", document, http_status=200)
        error = document["error"]
        return Answer(error["status"], None, error["message"], tuple(error["details"]), response.status_code)
    with grpc.insecure_channel(emu.grpc_target) as channel:
        call = channel.unary_unary(f"/{CREATE}", request_serializer=CreateWorkflowRequest.serialize,
                                   response_deserializer=operations_pb2.Operation.FromString)
        try:
            operation = call(request, metadata=metadata)
        except grpc.RpcError as error:
            return grpc_error(error)
    return Answer("OK", json_format.MessageToDict(operation))


def grpc_error(error: Any) -> Answer:
    status = rpc_status.from_call(error)
    details = tuple(json_format.MessageToDict(detail) for detail in status.details) if status else ()
    return Answer(error.code().name, None, error.details(), details)


def get_operation(emu: Emulator, transport: str, name: str) -> JSON:
    if transport == "http":
        response = requests.get(f"{emu.url}/v1/{name}", timeout=5)
        assert response.status_code == 200, response.text
        document: JSON = response.json()
        return document
    with grpc.insecure_channel(emu.grpc_target) as channel:
        call = channel.unary_unary("/google.longrunning.Operations/GetOperation",
                                   request_serializer=operations_pb2.GetOperationRequest.SerializeToString,
                                   response_deserializer=operations_pb2.Operation.FromString)
        return json_format.MessageToDict(call(operations_pb2.GetOperationRequest(name=name)))


def grpc_call_raw(emu: Emulator, method: str, raw: bytes) -> Answer:
    with grpc.insecure_channel(emu.grpc_target) as channel:
        call = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        try:
            call(raw)
        except grpc.RpcError as error:
            return grpc_error(error)
    return Answer("OK")


@contextlib.contextmanager
def workflows_client(emu: Emulator, transport: str) -> Iterator[WorkflowsClient]:
    """google-cloud-workflows' own client, over REST or gRPC, pointed at the emulator."""
    if transport == "http":
        with WorkflowsClient(transport="rest", credentials=AnonymousCredentials(),
                             client_options={"api_endpoint": emu.url}) as client:
            yield client
        return
    with grpc.insecure_channel(emu.grpc_target) as channel, \
            WorkflowsClient(transport=WorkflowsGrpcTransport(channel=channel)) as client:
        yield client


# -- declarations ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        pytest.param("/v1/things", "http= must be 'METHOD /path'", id="no-method"),
        pytest.param("POST", "http= must be 'METHOD /path'", id="no-path"),
        pytest.param(42, "http= must be 'METHOD /path'", id="not-text"),
        pytest.param("FETCH /v1/things", "'FETCH' is not one of GET, POST, PUT, PATCH, DELETE", id="unknown-method"),
        pytest.param("POST v1/things", "'v1/things' must start with '/'", id="no-leading-slash"),
        pytest.param("POST /v1/{parent=projects/*/things", "unbalanced braces", id="unclosed-brace"),
        pytest.param("POST /v1/parent}/things", "unbalanced braces", id="stray-closing-brace"),
        pytest.param("POST /v1/{parent={name}}/things", "nested braces", id="nested-braces"),
        pytest.param("POST /v1//things", "'/v1//things' has an empty segment", id="empty-segment"),
        pytest.param("POST /v1/things/", "has an empty segment", id="trailing-slash"),
        pytest.param("POST /v1/{1parent}/things", "'1parent' in '/v1/{1parent}/things' is not a request field path",
                     id="bad-field-path"),
        pytest.param("POST /v1/{parent.}/things", "'parent.' in", id="field-path-trailing-dot"),
        pytest.param("POST /v1/th!ngs", "'th!ngs' in the path template '/v1/th!ngs' is not '*', '**' or a literal",
                     id="bad-literal"),
        pytest.param("POST /v1/{name=projects/x y}", "'x y'", id="bad-literal-in-variable"),
        pytest.param("POST /v1/{a}/{a}", "binds 'a' twice", id="duplicate-variable"),
        pytest.param("POST /v1/{name=**}:", "custom verb ''", id="empty-verb"),
        pytest.param("POST /v1/{name=**}:do!", "custom verb 'do!'", id="bad-verb"),
    ],
)
def test_a_bad_http_rule_is_refused_where_it_is_declared(lro_emulator: Emulator, rule: Any, fragment: str) -> None:
    with pytest.raises(ScriptError, match=re.escape(fragment)):
        lro_emulator.on_start(http=rule)


@pytest.mark.parametrize(
    ("declaration", "fragment"),
    [
        pytest.param({}, "on_start() needs the method that starts operations: a generated client's method or its "
                     "full name, or http=, grpc= or both", id="neither-http-nor-grpc"),
        pytest.param({"script": lambda op, request: None}, "or http=, grpc= or both", id="only-a-script"),
        pytest.param({"grpc": "CreateWorkflow"}, "grpc= must be a full method name", id="grpc-bare-method"),
        pytest.param({"grpc": "Workflows/CreateWorkflow"}, "grpc= must be a full method name", id="grpc-no-package"),
        pytest.param({"grpc": "google.cloud.workflows.v1.Workflows.CreateWorkflow"}, "got 'google.cloud.",
                     id="grpc-no-slash"),
        pytest.param({"grpc": "google.cloud.workflows.v1.Workflows/"}, "grpc= must be", id="grpc-no-method"),
        pytest.param({"grpc": "a.B/C/D"}, "grpc= must be", id="grpc-two-slashes"),
        pytest.param({"grpc": 42}, "grpc= must be", id="grpc-not-text"),
        pytest.param({"grpc": "example.v1.Things/StartThing"},
                     "no message type example.v1.StartThingRequest is registered", id="default-type-unregistered"),
        pytest.param({"grpc": CREATE, "request_type": "example.v1.Nothing"},
                     "no message type example.v1.Nothing is registered", id="request-type-unregistered"),
        pytest.param({"grpc": CREATE, "request_type": dict},
                     "request_type= must be a protobuf or proto-plus message class", id="request-type-not-message"),
        pytest.param({"grpc": CREATE, "request_type": CreateWorkflowRequest()},
                     "request_type= must be a protobuf or proto-plus message class", id="request-type-instance"),
        pytest.param({"grpc": CREATE, "body": "workflow"}, "body= describes the REST binding; give http= with it",
                     id="body-without-http"),
        pytest.param({"grpc": "google.longrunning.Operations/GetOperation"},
                     "is the Operations API the emulator itself serves", id="grpc-operations-method"),
        pytest.param({"http": CREATE_RULE, "body": "work flow"}, "body= must be '*', a request field name, or None",
                     id="bad-body-field"),
        pytest.param({"http": CREATE_RULE, "script": 42}, "script= must be a callable", id="script-not-callable"),
        pytest.param({"http": CREATE_RULE, "parent": 42}, "parent= must be a request field name or a callable",
                     id="parent-not-a-field"),
    ],
)
def test_a_bad_declaration_is_refused_with_what_to_change(
    lro_emulator: Emulator, declaration: JSON, fragment: str
) -> None:
    with pytest.raises(ScriptError, match=re.escape(fragment)):
        lro_emulator.on_start(**declaration)


def test_a_refused_declaration_declares_nothing(lro_emulator: Emulator, http: Client) -> None:
    with pytest.raises(ScriptError, match="grpc= must be"):
        lro_emulator.on_start(http=CREATE_RULE, grpc="not a method")

    assert http.post(f"/v1/{PARENT}/workflows", json={}).status_code == 404
    lro_emulator.on_start(http=CREATE_RULE)
    assert http.post(f"/v1/{PARENT}/workflows", json={}).status_code == 200


@pytest.mark.parametrize(
    ("first", "second", "fragment"),
    [
        pytest.param({"http": CREATE_RULE}, {"http": CREATE_RULE}, f"{CREATE_RULE} already starts operations",
                     id="same-rule"),
        pytest.param({"http": CREATE_RULE}, {"http": CREATE_RULE.replace("POST", "post")}, "already starts",
                     id="same-rule-lower-case-method"),
        pytest.param({"grpc": CREATE}, {"grpc": CREATE, "http": "POST /v2/{parent=**}/workflows"},
                     f"/{CREATE} already starts operations", id="same-grpc-method"),
        pytest.param({"grpc": CREATE}, {"grpc": f"/{CREATE}"}, "already starts", id="same-grpc-method-with-slash"),
    ],
)
def test_a_method_is_declared_once(
    lro_emulator: Emulator, http: Client, first: JSON, second: JSON, fragment: str
) -> None:
    seen: list[StartRequest] = []
    lro_emulator.on_start(**first, script=record(seen))

    with pytest.raises(ScriptError, match=re.escape(fragment) + ".*declare it once"):
        lro_emulator.on_start(**second, script=lambda op, request: op.succeed())

    if "http" in first:
        assert http.post(f"/v1/{PARENT}/workflows", json={}).status_code == 200
        assert len(seen) == 1
    assert http.post("/v2/projects/p/workflows", json={"parent": PARENT}).status_code == 404


# -- REST -----------------------------------------------------------------------------------------------------


def test_rest_start_transcodes_path_query_and_body_field(lro_emulator: Emulator, http: Client) -> None:
    seen: list[StartRequest] = []
    starter = lro_emulator.on_start(http=CREATE_RULE, body="workflow", script=record(seen))

    response = http.post(
        f"/v1/{PARENT}/workflows",
        query_string="workflow_id=wf-1&request_options.request_id=r-7&alt=json&prettyPrint=false&$.xgafv=2",
        json={"description": "nightly", "source_contents": "main: {}", "labels": {"team_name": "data"}},
        headers={"X-Goog-Request-Params": f"parent={PARENT}"},
    )

    assert response.status_code == 200, response.json
    (request,) = seen
    assert request.transport == "http"
    assert request.method == CREATE_RULE
    assert request.parent == PARENT
    assert dict(request.message) == {
        "parent": PARENT,
        "workflowId": "wf-1",
        "requestOptions": {"requestId": "r-7"},
        "workflow": {"description": "nightly", "sourceContents": "main: {}", "labels": {"team_name": "data"}},
    }
    assert request.headers["x-goog-request-params"] == f"parent={PARENT}"
    (op,) = starter.operations
    assert op.name == f"{PARENT}/operations/op-1"
    assert response.json == op.snapshot() == {"name": op.name}
    assert starter.requests == [request]


def test_rest_start_with_the_whole_request_as_body(lro_emulator: Emulator, http: Client) -> None:
    seen: list[StartRequest] = []
    lro_emulator.on_start(http="POST /v1/{parent=projects/*/locations/*}/datasets:import", script=record(seen))

    response = http.post(f"/v1/{PARENT}/datasets:import",
                         json={"input_config": {"gcsSource": {"uris": ["gs://b/x"]}}, "parent": "ignored/by/path"})

    assert response.status_code == 200, response.json
    assert dict(seen[0].message) == {"parent": PARENT, "inputConfig": {"gcsSource": {"uris": ["gs://b/x"]}}}
    assert response.json["name"] == f"{PARENT}/operations/op-1"


def test_rest_start_binds_a_nested_field_and_computes_the_parent(lro_emulator: Emulator, http: Client) -> None:
    seen: list[StartRequest] = []
    starter = lro_emulator.on_start(
        http="PATCH /v1/{workflow.name=projects/*/locations/*/workflows/*}",
        body="workflow",
        parent=lambda request: request.message["workflow"]["name"].rsplit("/workflows/", 1)[0],
        script=record(seen),
    )

    response = http.patch(f"/v1/{PARENT}/workflows/wf-1", query_string="updateMask=description",
                          json={"description": "weekly"})

    assert response.status_code == 200, response.json
    assert dict(seen[0].message) == {
        "updateMask": "description",
        "workflow": {"description": "weekly", "name": f"{PARENT}/workflows/wf-1"},
    }
    assert seen[0].parent == PARENT
    assert starter.operations[0].name == f"{PARENT}/operations/op-1"


def test_rest_start_with_a_double_wildcard(lro_emulator: Emulator, http: Client) -> None:
    seen: list[StartRequest] = []
    lro_emulator.on_start(http="POST /v1/{parent=projects/*/**}/batches", body="batch", script=record(seen))

    response = http.post("/v1/projects/p/locations/l/clusters/c/batches", json={"size": 3})

    assert response.status_code == 200, response.json
    assert dict(seen[0].message) == {"parent": "projects/p/locations/l/clusters/c", "batch": {"size": 3}}
    assert response.json["name"] == "projects/p/locations/l/clusters/c/operations/op-1"
    assert http.post("/v1/projects/p/batches", json={}).status_code == 404


def test_rest_start_with_a_custom_verb_and_no_body(lro_emulator: Emulator, http: Client) -> None:
    seen: list[StartRequest] = []
    lro_emulator.on_start(http="POST /v1/{name=projects/*/locations/*/workflows/*}:execute", body=None,
                          parent="name", script=record(seen))
    path = f"/v1/{PARENT}/workflows/wf-1:execute"

    refused = http.post(path, json={"argument": "{}"})
    served = http.post(path, query_string="call_log_level=LOG_ALL_CALLS")

    assert refused.status_code == 400
    assert refused.json["error"]["status"] == "INVALID_ARGUMENT"
    assert "takes no request body" in refused.json["error"]["message"]
    assert served.status_code == 200, served.json
    assert served.json == {"name": f"{PARENT}/workflows/wf-1/operations/op-1"}
    assert [dict(request.message) for request in seen] == [
        {"name": f"{PARENT}/workflows/wf-1", "callLogLevel": "LOG_ALL_CALLS"}
    ]
    assert http.post(f"/v1/{PARENT}/workflows/wf-1:run").status_code == 404


def test_rest_start_refuses_a_repeated_singular_query_parameter(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.on_start(http=CREATE_RULE, body="workflow")

    response = http.post(f"/v1/{PARENT}/workflows", query_string="workflowId=a&workflowId=b", json={})

    assert response.status_code == 400
    assert "'workflowId' was given more than once" in response.json["error"]["message"]
    assert lro_emulator.operations == []


def test_rest_start_refuses_a_body_that_is_not_a_json_object(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.on_start(http=CREATE_RULE, body="workflow")

    response = http.post(f"/v1/{PARENT}/workflows", data=b"[1]", content_type="application/json")

    assert response.status_code == 400
    assert response.json["error"]["status"] == "INVALID_ARGUMENT"
    assert lro_emulator.operations == []


def test_start_calls_are_logged_under_the_rule_or_the_grpc_method(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.on_start(http="POST /v1/{parent=projects/*/locations/*}/jobs", body="job")
    declare_create(lro_emulator)

    http.post(f"/v1/{PARENT}/jobs", json={"kind": "x"})
    http.post(f"/v1/{PARENT}/workflows", query_string="workflowId=wf-1", json={})

    jobs, workflows = lro_emulator.calls
    assert (jobs.rpc, jobs.method, jobs.path, jobs.name, jobs.status, jobs.code, jobs.transport) == (
        "POST /v1/{parent=projects/*/locations/*}/jobs", "POST", f"/v1/{PARENT}/jobs",
        f"{PARENT}/operations/op-1", 200, "OK", "http",
    )
    assert jobs.body == {"kind": "x"}
    assert (workflows.rpc, workflows.name, dict(workflows.query)) == (
        CREATE, f"{PARENT}/operations/op-2", {"workflowId": "wf-1"}
    )
    assert lro_emulator.calls.filter(rpc=CREATE).call_count == 1


def test_unmatched_routes_still_404_naming_the_declared_rules(lro_emulator: Emulator, http: Client) -> None:
    declare_create(lro_emulator)
    lro_emulator.on_start(http="POST /v1/{name=projects/*/locations/*/workflows/*}:execute", body=None,
                          parent="name")

    wrong_method = http.get(f"/v1/{PARENT}/workflows")
    wrong_path = http.post("/v1/projects/p/workflows", json={})

    for response in (wrong_method, wrong_path):
        assert response.status_code == 404
        error = response.json["error"]
        assert error["status"] == "NOT_FOUND"
        assert CREATE_RULE in error["message"]
        assert "POST /v1/{name=projects/*/locations/*/workflows/*}:execute" in error["message"]
        assert error["details"][0]["reason"] == "ROUTE_NOT_FOUND"
    assert lro_emulator.calls.last.rpc is None


def test_operations_routes_serve_started_operations(lro_emulator: Emulator, http: Client) -> None:
    declare_create(lro_emulator, script=lambda op, request: op.update(metadata=struct(state="ACTIVE")))
    lro_emulator.add_operation(parent=PARENT)
    started = http.post(f"/v1/{PARENT}/workflows", json={}).json

    listed = http.get(f"/v1/{PARENT}/operations").json
    fetched = http.get(f"/v1/{started['name']}").json
    cancelled = http.post(f"/v1/{started['name']}:cancel", json={})

    assert started["name"] == f"{PARENT}/operations/op-2"
    assert [op["name"] for op in listed["operations"]] == [f"{PARENT}/operations/op-1", started["name"]]
    assert fetched == started == {"name": started["name"], "metadata": struct(state="ACTIVE")}
    assert cancelled.status_code == 200
    assert [call.rpc for call in lro_emulator.calls] == [CREATE, "ListOperations", "GetOperation", "CancelOperation"]


# -- one scenario, both transports ------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_create_workflow_scenario_is_the_same_on_both_transports(lro_emulator: Emulator, transport: str) -> None:
    seen: list[StartRequest] = []

    def script(op: OperationHandle, request: StartRequest) -> None:
        seen.append(request)
        workflow = {"@type": WORKFLOW, **request.message["workflow"],
                    "name": f"{request.parent}/workflows/{request.message['workflowId']}"}
        op.update(metadata=struct(state="CREATING")).succeed(workflow, at=3600)

    starter = declare_create(lro_emulator, script)

    answer = create_workflow(lro_emulator, transport, workflow_request(), routing=f"parent={PARENT}")

    assert answer.code == "OK", answer
    (request,) = seen
    assert request.transport == transport
    assert request.method == (CREATE_RULE if transport == "http" else CREATE)
    assert request.parent == PARENT
    assert dict(request.message) == {
        "parent": PARENT,
        "workflowId": "wf-1",
        "workflow": {"description": "nightly", "sourceContents": "main:\n  steps: []"},
    }
    assert request.headers["x-goog-request-params"] == f"parent={PARENT}"
    (op,) = starter.operations
    assert answer.operation == op.snapshot() == {
        "name": f"{PARENT}/operations/op-1", "metadata": struct(state="CREATING")
    }
    call = lro_emulator.calls.last
    assert (call.rpc, call.name, call.transport, call.code) == (CREATE, op.name, transport, "OK")

    assert "done" not in get_operation(lro_emulator, transport, op.name)
    lro_emulator.clock.advance(3600)
    finished = get_operation(lro_emulator, transport, op.name)

    assert finished["done"] is True
    assert finished["response"] == {
        "@type": WORKFLOW, "name": f"{PARENT}/workflows/wf-1", "description": "nightly",
        "sourceContents": "main:\n  steps: []",
    }
    assert op.polls == 2
    assert op.done


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_workflows_client_library_creates_and_waits_for_the_result(lro_emulator: Emulator, transport: str) -> None:
    seen: list[StartRequest] = []

    def script(op: OperationHandle, request: StartRequest) -> None:
        seen.append(request)
        op.succeed(Workflow(name=f"{request.parent}/workflows/{request.message['workflowId']}", revision_id="000001"),
                   at=120)

    declare_create(lro_emulator, script)

    with workflows_client(lro_emulator, transport) as client:
        future = client.create_workflow(parent=PARENT, workflow_id="wf-1",
                                        workflow=Workflow(description="nightly", labels={"team_name": "data"}))
        result = future.result(timeout=600)

    assert future.operation.name == f"{PARENT}/operations/op-1"
    assert (result.name, result.revision_id) == (f"{PARENT}/workflows/wf-1", "000001")
    assert dict(seen[0].message) == {
        "parent": PARENT,
        "workflowId": "wf-1",
        "workflow": {"description": "nightly", "labels": {"team_name": "data"}},
    }
    assert seen[0].headers["x-goog-request-params"] == f"parent={PARENT}"
    operation = lro_emulator.operation(future.operation.name)
    assert operation.done
    assert lro_emulator.clock.now() - operation.created >= timedelta(seconds=120)
    assert lro_emulator.calls.filter(rpc="GetOperation").call_count >= 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_enum_field_reaches_the_script_by_name_on_both_transports(lro_emulator: Emulator, transport: str) -> None:
    seen: list[StartRequest] = []
    declare_create(lro_emulator, record(seen))

    with workflows_client(lro_emulator, transport) as client:
        client.create_workflow(parent=PARENT, workflow_id="wf-1",
                               workflow=Workflow(call_log_level=Workflow.CallLogLevel.LOG_ERRORS_ONLY))

    assert seen[0].message["workflow"] == {"callLogLevel": "LOG_ERRORS_ONLY"}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_script_raising_an_rpc_error_answers_it_and_creates_nothing(
    lro_emulator: Emulator, transport: str
) -> None:
    def script(op: OperationHandle, request: StartRequest) -> None:
        op.succeed()
        if request.message["workflowId"] == "taken":
            raise StatusError(Code.ALREADY_EXISTS, "workflow taken already exists")

    starter = declare_create(lro_emulator, script)

    refused = create_workflow(lro_emulator, transport, workflow_request(workflow_id="taken"))
    served = create_workflow(lro_emulator, transport, workflow_request(workflow_id="free"))

    assert refused.code == "ALREADY_EXISTS"
    assert refused.message == "workflow taken already exists"
    assert refused.detail(ERROR_INFO)["domain"] == "lro-emulator"
    if transport == "http":
        assert refused.http_status == 409
    assert served.operation is not None
    assert served.operation["name"] == f"{PARENT}/operations/op-1"
    assert [op.name for op in lro_emulator.operations] == [f"{PARENT}/operations/op-1"]
    assert [request.message["workflowId"] for request in starter.requests] == ["free"]
    assert [call.code for call in lro_emulator.calls] == ["ALREADY_EXISTS", "OK"]
    assert lro_emulator.calls[0].name is None
    assert lro_emulator.calls[0].rpc == CREATE
    assert lro_emulator.problems == []


def test_the_handle_of_an_operation_whose_start_failed_cannot_be_scripted(
    lro_emulator: Emulator, http: Client
) -> None:
    handles: list[OperationHandle] = []

    def script(op: OperationHandle, request: StartRequest) -> None:
        handles.append(op)
        raise StatusError(Code.ALREADY_EXISTS, "taken")

    lro_emulator.on_start(http=CREATE_RULE, script=script)
    assert http.post(f"/v1/{PARENT}/workflows", json={}).status_code == 409

    with pytest.raises(ScriptError):
        handles[0].succeed()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("script", "problem"),
    [
        pytest.param(lambda op, request: 1 / 0, ZeroDivisionError, id="exception"),
        pytest.param(lambda op, request: op.succeed(at=-5), ScriptError, id="bad-scripting-call"),
        pytest.param(lambda op, request: op.update(metadata=[1]), ScriptError, id="bad-payload"),
    ],
)
def test_a_script_that_breaks_answers_internal_and_fails_the_test(
    lro_emulator: Emulator, transport: str, script: Callable[[OperationHandle, StartRequest], object],
    problem: type[Exception],
) -> None:
    starter = declare_create(lro_emulator, script)

    answer = create_workflow(lro_emulator, transport, workflow_request())

    assert answer.code == "INTERNAL"
    assert f"the script of {CREATE} raised {problem.__name__}" in answer.message
    assert answer.detail(ERROR_INFO)["reason"] == "START_SCRIPT_FAILED"
    assert lro_emulator.operations == []
    assert starter.operations == []
    assert starter.requests == []
    assert [type(error) for error in lro_emulator.problems] == [problem]
    with pytest.raises(EmulatorFailure) as failure:
        lro_emulator.check()
    assert failure.value.problems == lro_emulator.problems


def test_a_script_that_breaks_fails_a_plain_emulator_check() -> None:
    with Emulator() as emu:
        emu.on_start(http=CREATE_RULE, script=lambda op, request: op.fail("OK"))
        response = Client(emu.wsgi_app).post(f"/v1/{PARENT}/workflows", json={})

        assert response.status_code == 500
        assert response.json["error"]["status"] == "INTERNAL"
        assert [type(error) for error in emu.problems] == [ScriptError]
        with pytest.raises(EmulatorFailure, match="fail\\(\\) needs an error code"):
            emu.check()
        emu.check()


def test_a_grpc_request_without_a_parent_is_invalid(lro_emulator: Emulator) -> None:
    declare_create(lro_emulator)

    answer = create_workflow(lro_emulator, "grpc", workflow_request(parent=""))

    assert answer.code == "INVALID_ARGUMENT"
    assert "the request has no parent field" in answer.message
    assert answer.detail(BAD_REQUEST)["fieldViolations"][0]["field"] == "parent"
    assert answer.detail(ERROR_INFO)["reason"] == "INVALID_PARENT"
    assert lro_emulator.operations == []


def test_a_rest_request_without_a_parent_is_invalid(lro_emulator: Emulator) -> None:
    lro_emulator.on_start(http="POST /v1/workflows", body="workflow")

    response = requests.post(f"{lro_emulator.url}/v1/workflows", params={"workflowId": "wf-1"}, json={}, timeout=5)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["status"], error["details"][0]["reason"]) == ("INVALID_ARGUMENT", "INVALID_PARENT")
    assert "the request has no parent field" in error["message"]
    assert error["details"][1]["fieldViolations"][0]["field"] == "parent"
    assert lro_emulator.operations == []


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("parent", "problem"),
    [
        pytest.param(lambda request: request.message["location"], KeyError, id="raises"),
        pytest.param(lambda request: None, TypeError, id="returns-none"),
    ],
)
def test_a_parent_callable_that_fails_answers_internal_naming_the_method(
    lro_emulator: Emulator, transport: str, parent: Any, problem: type[Exception]
) -> None:
    lro_emulator.on_start(http=CREATE_RULE, body="workflow", grpc=CREATE, parent=parent)

    answer = create_workflow(lro_emulator, transport, workflow_request())

    assert answer.code == "INTERNAL"
    assert [type(error) for error in lro_emulator.problems] == [problem]
    assert lro_emulator.operations == []
    with pytest.raises(EmulatorFailure):
        lro_emulator.check()
    assert CREATE in answer.message


@pytest.mark.lro_emulator(profile="vertex")
def test_a_parent_the_profile_does_not_serve_is_invalid(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.on_start(http="POST /v1/{parent=projects/*}/jobs", body="job")

    response = http.post("/v1/projects/p/jobs", json={})

    assert response.status_code == 400
    error = response.json["error"]
    assert "'projects/p' is not a collection of the vertex profile" in error["message"]
    assert "projects/*/locations/*" in error["message"]
    assert error["details"][1]["fieldViolations"][0]["field"] == "parent"
    assert lro_emulator.calls.last.code == "INVALID_ARGUMENT"


def test_a_wildcard_parent_is_invalid(lro_emulator: Emulator, http: Client) -> None:
    lro_emulator.on_start(http=CREATE_RULE, body="workflow")

    response = http.post("/v1/projects/-/locations/l/workflows", json={})

    assert response.status_code == 400
    assert "'projects/-/locations/l' is not a collection" in response.json["error"]["message"]


@pytest.mark.parametrize(
    ("parent", "body", "field", "created"),
    [
        pytest.param("location", {"location": PARENT}, None, f"{PARENT}/operations/op-1", id="field-given"),
        pytest.param("location", {"parent": PARENT}, "location", None, id="field-missing"),
        pytest.param("spec.home", {"spec": {"home": "projects/q"}}, None, "projects/q/operations/op-1",
                     id="dotted-field-given"),
        pytest.param("spec.home", {"spec": "projects/q"}, "spec.home", None, id="dotted-field-not-a-message"),
        pytest.param(lambda request: f"projects/{request.message['project']}", {"project": "z"}, None,
                     "projects/z/operations/op-1", id="callable"),
        pytest.param(lambda request: "projects//x", {}, "parent", None, id="callable-returns-bad-name"),
    ],
)
def test_parent_names_another_field_or_is_computed(
    lro_emulator: Emulator, http: Client, parent: Any, body: JSON, field: str | None, created: str | None
) -> None:
    starter = lro_emulator.on_start(http="POST /v1/things:start", parent=parent)

    response = http.post("/v1/things:start", json=body)

    if field is None:
        assert response.status_code == 200, response.json
        assert response.json["name"] == created
        assert starter.requests[0].parent == created.rsplit("/operations/", 1)[0]
    else:
        assert response.status_code == 400
        assert response.json["error"]["details"][1]["fieldViolations"][0]["field"] == field
        assert starter.operations == []


# -- gRPC -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "request_type",
    [
        pytest.param(CreateWorkflowRequest, id="proto-plus-class"),
        pytest.param(CreateWorkflowRequest.pb(), id="protobuf-class"),
        pytest.param("google.cloud.workflows.v1.CreateWorkflowRequest", id="full-name"),
    ],
)
def test_grpc_request_type_decodes_the_request(lro_emulator: Emulator, request_type: Any) -> None:
    seen: list[StartRequest] = []
    method = "example.workflows.v1.Deployer/Deploy"
    lro_emulator.on_start(grpc=method, request_type=request_type, script=record(seen))

    with grpc.insecure_channel(lro_emulator.grpc_target) as channel:
        call = channel.unary_unary(f"/{method}", request_serializer=CreateWorkflowRequest.serialize,
                                   response_deserializer=operations_pb2.Operation.FromString)
        operation = call(workflow_request(workflow_id="wf-9"))

    assert operation.name == f"{PARENT}/operations/op-1"
    assert dict(seen[0].message)["workflowId"] == "wf-9"
    assert seen[0].method == method
    assert lro_emulator.calls.last.rpc == method
    assert lro_emulator.calls.last.path == f"/{method}"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\xff", id="corrupt-wire-format"),
        pytest.param(b"\x0a\x05ab", id="truncated-field"),
        pytest.param(b"\x0a\x02\xff\xfe", id="string-not-utf8"),
    ],
)
def test_grpc_bytes_that_do_not_decode_are_invalid_argument(lro_emulator: Emulator, raw: bytes) -> None:
    starter = declare_create(lro_emulator)

    answer = grpc_call_raw(lro_emulator, f"/{CREATE}", raw)

    assert answer.code == "INVALID_ARGUMENT"
    assert "the request is not a valid google.cloud.workflows.v1.CreateWorkflowRequest" in answer.message
    assert answer.detail(BAD_REQUEST)["fieldViolations"][0]["field"] == "request"
    assert starter.operations == []
    assert (lro_emulator.calls.last.rpc, lro_emulator.calls.last.code) == (CREATE, "INVALID_ARGUMENT")
    assert create_workflow(lro_emulator, "grpc", workflow_request()).operation == {
        "name": f"{PARENT}/operations/op-1"
    }


def test_grpc_undeclared_method_is_unimplemented_naming_what_is_served(lro_emulator: Emulator) -> None:
    declare_create(lro_emulator)

    answer = grpc_call_raw(lro_emulator, "/google.cloud.workflows.v1.Workflows/DeleteWorkflow", b"")

    assert answer.code == "UNIMPLEMENTED"
    assert "/google.cloud.workflows.v1.Workflows/DeleteWorkflow is not served here" in answer.message
    assert f"/{CREATE}" in answer.message
    assert "google.longrunning.Operations/{GetOperation," in answer.message
    assert "emu.on_start(grpc=...)" in answer.message


def test_an_http_only_declaration_is_not_served_over_grpc(lro_emulator: Emulator) -> None:
    lro_emulator.on_start(http=CREATE_RULE, body="workflow")

    answer = create_workflow(lro_emulator, "grpc", workflow_request())

    assert answer.code == "UNIMPLEMENTED"
    assert lro_emulator.operations == []


# -- the declaration's life ------------------------------------------------------------------------------------


def test_reset_forgets_declared_methods(lro_emulator: Emulator) -> None:
    starter = declare_create(lro_emulator)
    assert create_workflow(lro_emulator, "http", workflow_request()).code == "OK"

    lro_emulator.reset()

    after_rest = create_workflow(lro_emulator, "http", workflow_request())
    after_grpc = create_workflow(lro_emulator, "grpc", workflow_request())
    assert after_rest.code == "NOT_FOUND"
    assert CREATE_RULE not in after_rest.message
    assert after_grpc.code == "UNIMPLEMENTED"
    assert f"}}, /{CREATE}" not in after_grpc.message
    with pytest.raises(StaleHandle, match=r"belongs to the emulator's state in test .* before the last reset"):
        _ = starter.operations
    assert starter.http is not None  # what it declares stays readable
    assert starter.http.text == CREATE_RULE
    declare_create(lro_emulator)
    assert create_workflow(lro_emulator, "http", workflow_request()).code == "OK"


def test_starter_records_each_call_in_order(lro_emulator: Emulator) -> None:
    starter = declare_create(lro_emulator)

    for transport, workflow_id in (("http", "a"), ("grpc", "b"), ("http", "c")):
        assert create_workflow(lro_emulator, transport, workflow_request(workflow_id=workflow_id)).code == "OK"

    assert [op.name for op in starter.operations] == [f"{PARENT}/operations/op-{n}" for n in (1, 2, 3)]
    assert [(r.transport, r.message["workflowId"]) for r in starter.requests] == [
        ("http", "a"), ("grpc", "b"), ("http", "c")
    ]
    starter.operations[1].succeed(struct(ok=True))
    assert get_operation(lro_emulator, "http", f"{PARENT}/operations/op-2")["done"] is True
    assert not starter.operations[0].done


def test_a_start_creates_the_operation_at_the_virtual_now(lro_emulator: Emulator, http: Client) -> None:
    starter = lro_emulator.on_start(http=CREATE_RULE, body="workflow",
                                    script=lambda op, request: op.succeed(at=60))
    lro_emulator.clock.advance(500)

    http.post(f"/v1/{PARENT}/workflows", json={})
    lro_emulator.clock.advance(59)
    pending = http.get(f"/v1/{PARENT}/operations/op-1").json
    lro_emulator.clock.advance(1)
    finished = http.get(f"/v1/{PARENT}/operations/op-1").json

    (op,) = starter.operations
    assert op.created == lro_emulator.calls[0].time == lro_emulator.clock.now() - timedelta(seconds=60)
    assert "done" not in pending
    assert finished["done"] is True


# -- what a test's own code may do wrong inside a script -------------------------------------------------------


def _fails_the_test(op: OperationHandle, request: StartRequest) -> None:
    pytest.fail("a script gave up")


def _exits(op: OperationHandle, request: StartRequest) -> None:
    raise SystemExit(3)


def _refuses_with_ok(op: OperationHandle, request: StartRequest) -> None:
    raise StatusError(Code.OK, "not an error")


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("script", [_fails_the_test, _exits, _refuses_with_ok], ids=["pytest-fail", "exit", "ok"])
def test_a_script_that_escapes_with_anything_answers_internal_and_creates_nothing(
    lro_emulator: Emulator, transport: str, script: Callable[[OperationHandle, StartRequest], None]
) -> None:
    declare_create(lro_emulator, script)

    answer = create_workflow(lro_emulator, transport, workflow_request())

    assert answer.code == "INTERNAL"
    assert CREATE in answer.message
    assert lro_emulator.operations == []
    assert len(lro_emulator.problems) == 1
    with pytest.raises(EmulatorFailure):
        lro_emulator.check()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_refusal_may_carry_message_objects_as_details(lro_emulator: Emulator, transport: str) -> None:
    from google.protobuf import duration_pb2
    from google.rpc import error_details_pb2

    def busy(op: OperationHandle, request: StartRequest) -> None:
        retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=30))
        raise StatusError(Code.UNAVAILABLE, "try later", details=[retry])

    declare_create(lro_emulator, busy)

    answer = create_workflow(lro_emulator, transport, workflow_request())

    assert (answer.code, answer.message) == ("UNAVAILABLE", "try later")
    assert answer.detail("type.googleapis.com/google.rpc.RetryInfo")["retryDelay"] == "30s"
    assert lro_emulator.operations == []


def test_a_refusal_whose_details_cannot_be_packed_is_the_tests_bug_over_grpc(lro_emulator: Emulator) -> None:
    def refuse(op: OperationHandle, request: StartRequest) -> None:
        raise StatusError(Code.ABORTED, "busy", details=[{"@type": "type.googleapis.com/example.v1.Unknown", "a": 1}])

    declare_create(lro_emulator, refuse)

    answer = create_workflow(lro_emulator, "grpc", workflow_request())

    assert answer.code == "INTERNAL"
    assert "cannot be sent over gRPC" in answer.message
    assert "example.v1.Unknown" in str(lro_emulator.problems)
    with pytest.raises(EmulatorFailure):
        lro_emulator.check()


def test_an_unpackable_start_over_grpc_creates_nothing_even_on_an_untyped_state(lro_emulator: Emulator) -> None:
    target = lro_emulator.grpc_target
    lro_emulator.reset()  # the server keeps serving; the new state has not been asked to check types
    declare_create(lro_emulator, lambda op, request: op.update(metadata={"@type": "type.googleapis.com/x.Y"}))

    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(f"/{CREATE}", request_serializer=CreateWorkflowRequest.serialize,
                                   response_deserializer=operations_pb2.Operation.FromString)
        with pytest.raises(grpc.RpcError) as raised:
            call(workflow_request())

    assert raised.value.code() == grpc.StatusCode.INTERNAL
    assert "x.Y is not a message type this process has registered" in raised.value.details()
    assert lro_emulator.operations == []
    with pytest.raises(EmulatorFailure):
        lro_emulator.check()


def test_request_type_without_grpc_reads_a_rest_message_as_grpc_would(lro_emulator: Emulator, http: Client) -> None:
    seen: list[StartRequest] = []
    lro_emulator.on_start(http=CREATE_RULE, body="workflow", request_type=CreateWorkflowRequest, script=record(seen))

    # Google's REST clients send enums as numbers; 2 is LOG_ERRORS_ONLY.
    response = http.post(f"/v1/{PARENT}/workflows?workflowId=wf-1", json={"callLogLevel": 2})

    assert response.status_code == 200, response.json
    assert seen[0].message["workflow"] == {"callLogLevel": "LOG_ERRORS_ONLY"}
