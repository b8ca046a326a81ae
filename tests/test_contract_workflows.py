"""Contract: a real generated client, google-cloud-workflows, end to end on REST, gRPC and gRPC asyncio.

The test declares that ``CreateWorkflow`` starts an operation, on its REST route and its gRPC method at
once; the client's own ``create_workflow(...)`` call is served by the emulator, and the client's
operation future polls the emulator until the scripted hour has passed, in well under a second. Each
scenario is written once and runs on every transport of the client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import workflows_v1
from google.cloud.workflows_v1.services.workflows import transports
from google.cloud.workflows_v1.types import workflows

from lro_emulator import Code, Emulator, OperationHandle, Starter, StartRequest, StatusError

from .helpers import WALL_GUARD_SECONDS, wall

pytestmark = pytest.mark.asyncio

HOUR = 3600
PARENT = "projects/my-project/locations/us-central1"
CREATE = {
    "http": "POST /v1/{parent=projects/*/locations/*}/workflows",
    "body": "workflow",
    "grpc": "google.cloud.workflows.v1.Workflows/CreateWorkflow",
}


class Workflows:
    """One kind of WorkflowsClient, its calls awaited alike."""

    def __init__(self, kind: str, client: Any, close: Callable[[], Any]) -> None:
        self.kind = kind
        self.client = client
        self._close = close

    @property
    def is_async(self) -> bool:
        return self.kind == "grpc-async"

    async def create(self, workflow_id: str, source: str) -> Any:
        """``create_workflow(...)``: the client's long-running operation."""
        call = self.client.create_workflow(
            parent=PARENT, workflow=workflows.Workflow(source_contents=source), workflow_id=workflow_id
        )
        return await call if self.is_async else call

    async def result(self, lro: Any, timeout: float) -> Any:
        value = lro.result(timeout=timeout)
        return await value if self.is_async else value

    async def cancel(self, lro: Any) -> None:
        value = lro.cancel()
        if self.is_async:
            await value

    def failure(self, code: Code) -> type[exceptions.GoogleAPICallError]:
        """What the client's future raises for an operation that failed with ``code``."""
        if self.is_async:
            return exceptions.GoogleAPICallError  # api-core's async futures do not map codes to classes
        return exceptions.exception_class_for_grpc_status(grpc.StatusCode[code.name])

    def start_failure(self, code: Code) -> type[exceptions.GoogleAPICallError]:
        """What the ``create_workflow`` call itself raises when answered ``code``."""
        if self.kind == "rest":
            return type(exceptions.from_http_status(code.http_status, ""))
        return exceptions.exception_class_for_grpc_status(grpc.StatusCode[code.name])

    async def close(self) -> None:
        value = self._close()
        if hasattr(value, "__await__"):
            await value


@pytest_asyncio.fixture(params=["rest", "grpc", "grpc-async"])
async def client(request: pytest.FixtureRequest, lro_emulator: Emulator) -> AsyncIterator[Workflows]:
    """A WorkflowsClient (REST or over a gRPC channel) or a WorkflowsAsyncClient, pointed at the emulator."""
    kind = request.param
    if kind == "rest":
        rest = workflows_v1.WorkflowsClient(
            transport="rest", client_options={"api_endpoint": lro_emulator.url}, credentials=AnonymousCredentials()
        )
        made = Workflows(kind, rest, rest.transport.close)
    elif kind == "grpc":
        channel = grpc.insecure_channel(lro_emulator.grpc_target)
        grpc_client = workflows_v1.WorkflowsClient(transport=transports.WorkflowsGrpcTransport(channel=channel))
        made = Workflows(kind, grpc_client, channel.close)
    else:
        aio_channel = grpc.aio.insecure_channel(lro_emulator.grpc_target)
        transport = transports.WorkflowsGrpcAsyncIOTransport(channel=aio_channel)
        made = Workflows(kind, workflows_v1.WorkflowsAsyncClient(transport=transport), aio_channel.close)
    yield made
    await made.close()


def deploys_in_an_hour(op: OperationHandle, request: StartRequest) -> None:
    """The script of a successful CreateWorkflow: progress metadata, then the Workflow the request described."""
    name = f"{request.parent}/workflows/{request.message['workflowId']}"
    op.update(metadata=workflows.OperationMetadata(target=name, verb="create", api_version="v1"))
    op.succeed(
        workflows.Workflow(name=name, state=workflows.Workflow.State.ACTIVE,
                           source_contents=request.message["workflow"]["sourceContents"]),
        at=HOUR,
    )


async def test_create_workflow_result_is_the_scripted_workflow_after_an_hour(
    lro_emulator: Emulator, client: Workflows
) -> None:
    starter = lro_emulator.on_start(**CREATE, script=deploys_in_an_hour)
    started = wall()

    lro = await client.create("hello", "main:\n  steps: []\n")
    result = await client.result(lro, timeout=2 * HOUR)

    assert isinstance(result, workflows.Workflow)
    assert result.name == f"{PARENT}/workflows/hello"
    assert result.state == workflows.Workflow.State.ACTIVE
    assert result.source_contents == "main:\n  steps: []\n"
    assert lro.metadata.target == f"{PARENT}/workflows/hello"
    op = starter.operations[0]
    assert op.name == f"{PARENT}/operations/op-1"
    assert lro_emulator.clock.now() - op.created >= timedelta(seconds=HOUR)
    assert op.polls > 50
    assert wall() - started < WALL_GUARD_SECONDS


async def test_the_script_sees_the_same_request_on_every_transport(
    lro_emulator: Emulator, client: Workflows
) -> None:
    starter = lro_emulator.on_start(**CREATE, script=deploys_in_an_hour)

    await client.create("hello", "main: {}")

    [request] = starter.requests
    assert request.message == {"parent": PARENT, "workflowId": "hello", "workflow": {"sourceContents": "main: {}"}}
    assert request.parent == PARENT
    assert request.transport == ("http" if client.kind == "rest" else "grpc")
    [call] = lro_emulator.calls
    assert (call.rpc, call.name, call.code) == (starter.rpc, starter.operations[0].name, "OK")


@pytest.mark.parametrize("code", [Code.INVALID_ARGUMENT, Code.RESOURCE_EXHAUSTED, Code.PERMISSION_DENIED])
async def test_a_failing_deployment_raises_the_matching_exception(
    lro_emulator: Emulator, client: Workflows, code: Code
) -> None:
    lro_emulator.on_start(**CREATE, script=lambda op, request: op.fail(code, "the workflow is broken", at=HOUR))
    started = wall()
    lro = await client.create("broken", "main: nope")

    with pytest.raises(exceptions.GoogleAPICallError, match="the workflow is broken") as raised:
        await client.result(lro, timeout=2 * HOUR)

    assert type(raised.value) is client.failure(code)
    assert raised.value.errors[0].code == code
    assert wall() - started < WALL_GUARD_SECONDS


async def test_a_cancelled_deployment_raises_cancelled(lro_emulator: Emulator, client: Workflows) -> None:
    starter = lro_emulator.on_start(
        **CREATE, script=lambda op, request: op.succeed(at=HOUR).on_cancel(after=HOUR / 4)
    )
    lro = await client.create("doomed", "main: {}")

    await client.cancel(lro)
    with pytest.raises(exceptions.GoogleAPICallError) as raised:
        await client.result(lro, timeout=2 * HOUR)

    assert type(raised.value) is client.failure(Code.CANCELLED)
    assert raised.value.errors[0].code == Code.CANCELLED
    op = starter.operations[0]
    assert next(t.time for t in op.history if t.kind == "cancel") - op.created == timedelta(seconds=HOUR / 4)


async def test_a_refused_start_raises_from_the_create_call_and_creates_nothing(
    lro_emulator: Emulator, client: Workflows
) -> None:
    def already_there(op: OperationHandle, request: StartRequest) -> None:
        raise StatusError(Code.ALREADY_EXISTS, f"workflow {request.message['workflowId']} already exists")

    starter: Starter = lro_emulator.on_start(**CREATE, script=already_there)

    with pytest.raises(client.start_failure(Code.ALREADY_EXISTS), match="workflow taken already exists"):
        await client.create("taken", "main: {}")

    assert lro_emulator.operations == []
    assert starter.operations == []
    assert lro_emulator.calls.last.code == "ALREADY_EXISTS"
