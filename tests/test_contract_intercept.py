"""Contract: code that builds its clients the ordinary way reaches the emulator through interception.

The functions under "code under test" are written as production code is: default endpoints, default credentials,
nothing that names the emulator. The tests run them in a process with no Google credentials and no project
configured, where every host but the loopback is refused (so nothing could reach Google), under
``@pytest.mark.lro_emulator(intercept=True)``: Vertex AI's generated client over REST and gRPC, Workflows' sync and
async clients, googleapiclient's ``build()``, Earth Engine's ``ee.Initialize()`` and ``google.auth.default()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ee
import ee.cli.utils
import google.auth
import google.auth.exceptions
import pytest
from google.cloud import aiplatform_v1, workflows_v1
from googleapiclient import discovery

from lro_emulator import Emulator, OperationHandle, StartRequest

from .helpers import WALL_GUARD_SECONDS, wall

pytestmark = [pytest.mark.lro_emulator(intercept=True), pytest.mark.usefixtures("no_google_credentials")]

HOUR = 3600
PARENT = "projects/my-project/locations/us-central1"


# -- code under test: what a user's module holds, unchanged for the test ------------------------------------


def create_flowers_dataset(transport: str) -> aiplatform_v1.Dataset:
    """Create a dataset and wait for it, as an application does."""
    client = aiplatform_v1.DatasetServiceClient(transport=transport)
    dataset = aiplatform_v1.Dataset(display_name="flowers", metadata_schema_uri="gs://schemas/image.yaml")
    return client.create_dataset(parent=PARENT, dataset=dataset).result(timeout=2 * HOUR)


def deploy_workflow(transport: str) -> workflows_v1.Workflow:
    client = workflows_v1.WorkflowsClient(transport=transport)
    workflow = workflows_v1.Workflow(source_contents="main: {steps: []}")
    return client.create_workflow(parent=PARENT, workflow=workflow, workflow_id="nightly").result(timeout=2 * HOUR)


async def deploy_workflow_async() -> workflows_v1.Workflow:
    client = workflows_v1.WorkflowsAsyncClient()
    workflow = workflows_v1.Workflow(source_contents="main: {steps: []}")
    lro = await client.create_workflow(parent=PARENT, workflow=workflow, workflow_id="nightly")
    return await lro.result(timeout=2 * HOUR)


def vertex_operations(name: str) -> tuple[list[str], dict[str, Any]]:
    """List a location's operations and get one, with googleapiclient's Vertex AI service."""
    operations = discovery.build("aiplatform", "v1").projects().locations().operations()
    listed = operations.list(name=PARENT).execute()
    return [op["name"] for op in listed.get("operations", [])], operations.get(name=name).execute()


def vertex_operation_from_fetched_document(name: str) -> dict[str, Any]:
    """The same service built from the discovery document fetched from Google rather than the one shipped."""
    service = discovery.build("aiplatform", "v1", static_discovery=False)
    return service.projects().locations().operations().get(name=name).execute()


def export_and_wait(task_id: str) -> None:
    ee.Initialize()
    ee.cli.utils.wait_for_task(task_id, timeout=2 * HOUR, log_progress=False)


def current_project() -> str | None:
    return google.auth.default()[1]


@pytest.fixture(autouse=True)
def nothing_leaves(loopback_only: list[str]) -> Iterator[None]:
    """After each test: no host beyond the loopback was looked up or connected to (Earth Engine's catalogue of
    deprecated assets, on storage.googleapis.com, is refused by the interception itself, before any lookup)."""
    yield
    assert loopback_only == []


# -- the tests -------------------------------------------------------------------------------------------


def builds_in_an_hour(op: OperationHandle, request: StartRequest) -> None:
    dataset = request.message["dataset"]
    op.succeed(aiplatform_v1.Dataset(name=f"{request.parent}/datasets/ds-1", display_name=dataset["displayName"]),
               at=HOUR)


@pytest.mark.lro_emulator(profile="vertex")
@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_vertex_ai_client_with_defaults_creates_a_dataset_after_an_hour(lro_emulator: Emulator,
                                                                      transport: str) -> None:
    starter = lro_emulator.on_start(aiplatform_v1.DatasetServiceClient.create_dataset, script=builds_in_an_hour)
    started = wall()

    dataset = create_flowers_dataset(transport)

    assert (dataset.name, dataset.display_name) == (f"{PARENT}/datasets/ds-1", "flowers")
    assert wall() - started < WALL_GUARD_SECONDS
    op = starter.operations[0]
    assert (lro_emulator.clock.now() - op.created).total_seconds() >= HOUR
    op.calls.assert_polled()
    assert {call.transport for call in lro_emulator.calls} == {"http" if transport == "rest" else "grpc"}


def deploys_in_an_hour(op: OperationHandle, request: StartRequest) -> None:
    op.succeed(workflows_v1.Workflow(name=f"{request.parent}/workflows/nightly", state="ACTIVE"), at=HOUR)


@pytest.mark.parametrize("transport", ["grpc", "rest"])
def test_workflows_client_with_defaults_deploys_after_an_hour(lro_emulator: Emulator, transport: str) -> None:
    starter = lro_emulator.on_start(workflows_v1.WorkflowsClient.create_workflow, script=deploys_in_an_hour)

    workflow = deploy_workflow(transport)

    assert workflow.name == f"{PARENT}/workflows/nightly"
    assert workflow.state == workflows_v1.Workflow.State.ACTIVE
    assert starter.requests[0].message["workflowId"] == "nightly"


@pytest.mark.asyncio
async def test_workflows_async_client_with_defaults_deploys_after_an_hour(lro_emulator: Emulator) -> None:
    starter = lro_emulator.on_start(workflows_v1.WorkflowsClient.create_workflow, script=deploys_in_an_hour)

    workflow = await deploy_workflow_async()

    assert workflow.name == f"{PARENT}/workflows/nightly"
    assert starter.requests[0].transport == "grpc"


@pytest.mark.lro_emulator(profile="vertex")
def test_googleapiclient_build_with_defaults_lists_and_gets_operations(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation(parent=PARENT, metadata=None)
    op.succeed(at=60)
    lro_emulator.add_operation(parent="projects/someone-else/locations/us-central1")

    names, got = vertex_operations(op.name)

    assert names == [op.name]
    assert (got["name"], got.get("done", False)) == (op.name, False)
    assert [call.rpc for call in lro_emulator.calls] == ["ListOperations", "GetOperation"]


@pytest.mark.lro_emulator(profile="vertex")
def test_googleapiclient_build_fetching_its_document_gets_the_emulators(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation(parent=PARENT)

    got = vertex_operation_from_fetched_document(op.name)

    assert got["name"] == op.name
    document, get = lro_emulator.calls
    assert (document.rpc, get.rpc) == ("GetDiscoveryDocument", "GetOperation")


@pytest.mark.lro_emulator(profile="earthengine", project="my-project")
def test_earth_engine_initialize_with_defaults_then_waits_an_hour_long_task(lro_emulator: Emulator) -> None:
    ee.Reset()
    op = lro_emulator.add_operation("projects/my-project/operations/EXPORT1", {
        "@type": "type.googleapis.com/google.earthengine.v1.OperationMetadata", "state": "RUNNING"})
    op.succeed(at=HOUR, metadata={"state": "SUCCEEDED"})
    started = wall()
    try:
        export_and_wait("EXPORT1")
    finally:
        ee.Reset()

    assert op.snapshot()["done"] is True
    assert wall() - started < WALL_GUARD_SECONDS
    rpcs = [call.rpc for call in lro_emulator.calls]
    assert rpcs[:2] == ["GetDiscoveryDocument", "GetDiscoveryDocument"]
    assert rpcs.count("GetOperation") >= 2


@pytest.mark.lro_emulator(project="analytics-prod")
def test_google_auth_default_returns_the_configured_project(lro_emulator: Emulator) -> None:
    assert current_project() == "analytics-prod"


def test_google_auth_default_returns_test_project_by_default(lro_emulator: Emulator) -> None:
    credentials, project = google.auth.default()

    assert project == "test-project"
    assert credentials.quota_project_id == "test-project"
    headers: dict[str, str] = {}
    credentials.before_request(None, "GET", "https://aiplatform.googleapis.com/", headers)
    assert headers == {}  # anonymous: no Authorization header to leak or to require


def test_this_process_has_no_credentials_of_its_own() -> None:
    """Without interception the same environment has none: what the tests above prove is interception's doing."""
    with pytest.raises(google.auth.exceptions.DefaultCredentialsError):
        google.auth.default()
