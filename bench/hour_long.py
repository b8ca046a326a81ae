"""Wall time of hour-long operations driven by real clients' futures with their default polling.

Run: ``python bench/hour_long.py`` (with the package and its test extras installed).

For each client (google-api-core's Operations clients over REST and gRPC, sync and async, and the
generated google-cloud-workflows client on its three transports) and for an operation that
succeeds, one that fails and one cancelled with a delay, all after an hour of virtual time, it
prints the wall time of waiting on the future (best of five runs), the polls it took, and the
ratio against the alternative, really waiting the hour. Target: under 1 s each.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import freezegun.api
import grpc
from google.api_core import exceptions, operation, operation_async, operations_v1
from google.auth.aio.credentials import AnonymousCredentials as AsyncAnonymousCredentials
from google.auth.credentials import AnonymousCredentials
from google.cloud import workflows_v1
from google.cloud.workflows_v1.services.workflows import transports
from google.cloud.workflows_v1.types import workflows

from lro_emulator import Emulator, OperationHandle, VirtualTime

HOUR = 3600
RUNS = 5
PARENT = "projects/p/locations/l"


async def maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def script_succeeds(op: OperationHandle) -> None:
    op.succeed(workflows.Workflow(name="w"), at=HOUR)


def script_fails(op: OperationHandle) -> None:
    op.fail("NOT_FOUND", "gone", at=HOUR)


def script_cancelled(op: OperationHandle) -> None:
    op.succeed(workflows.Workflow(name="w"), at=2 * HOUR).on_cancel(after=HOUR)


SCENARIOS: dict[str, Callable[[OperationHandle], None]] = {
    "succeeds": script_succeeds, "fails": script_fails, "cancelled": script_cancelled,
}


async def wait(future: Any, cancel: bool) -> None:
    if cancel:
        await maybe(future.cancel())
    with contextlib.suppress(exceptions.GoogleAPICallError):  # the failing scenarios end so
        await maybe(future.result(timeout=3 * HOUR))


def operations_client(kind: str, emu: Emulator) -> Callable[[str, bool], Awaitable[None]]:
    """A runner that waits on the future of an existing operation through one api-core client."""
    if kind == "rest":
        from google.api_core.operations_v1.transports.rest import OperationsRestTransport

        client: Any = operations_v1.AbstractOperationsClient(
            transport=OperationsRestTransport(host=emu.url, credentials=AnonymousCredentials()))
    elif kind == "rest-async":
        from google.api_core.operations_v1.transports.rest_asyncio import AsyncOperationsRestTransport

        client = operations_v1.AsyncOperationsRestClient(
            transport=AsyncOperationsRestTransport(host=emu.url, credentials=AsyncAnonymousCredentials()))
    elif kind == "grpc":
        client = operations_v1.OperationsClient(grpc.insecure_channel(emu.grpc_target))
    else:
        client = operations_v1.OperationsAsyncClient(grpc.aio.insecure_channel(emu.grpc_target))
    module = operation_async if kind.endswith("async") else operation

    async def run(name: str, cancel: bool) -> None:
        first = await maybe(client.get_operation(name))
        await wait(module.from_gapic(first, client, workflows.Workflow), cancel)

    return run


def workflows_client(kind: str, emu: Emulator) -> Callable[[str, bool], Awaitable[None]]:
    """A runner that calls create_workflow (served by on_start) and waits on its future."""
    if kind == "workflows-rest":
        client: Any = workflows_v1.WorkflowsClient(
            transport="rest", client_options={"api_endpoint": emu.url}, credentials=AnonymousCredentials())
    elif kind == "workflows-grpc":
        client = workflows_v1.WorkflowsClient(
            transport=transports.WorkflowsGrpcTransport(channel=grpc.insecure_channel(emu.grpc_target)))
    else:
        client = workflows_v1.WorkflowsAsyncClient(
            transport=transports.WorkflowsGrpcAsyncIOTransport(channel=grpc.aio.insecure_channel(emu.grpc_target)))

    async def run(name: str, cancel: bool) -> None:
        lro = await maybe(client.create_workflow(parent=PARENT, workflow=workflows.Workflow(), workflow_id="w"))
        await wait(lro, cancel)

    return run


CLIENTS = {
    "api-core rest": ("rest", operations_client),
    "api-core grpc": ("grpc", operations_client),
    "api-core rest async": ("rest-async", operations_client),
    "api-core grpc async": ("grpc-async", operations_client),
    "workflows rest": ("workflows-rest", workflows_client),
    "workflows grpc": ("workflows-grpc", workflows_client),
    "workflows grpc async": ("workflows-grpc-async", workflows_client),
}


async def measure(emu: Emulator, label: str, scenario: str) -> tuple[float, int]:
    kind, make = CLIENTS[label]
    script = SCENARIOS[scenario]
    best, polls = float("inf"), 0
    for _ in range(RUNS):
        emu.reset()
        with VirtualTime(emu.clock, seed=0):
            run = make(kind, emu)  # after reset: grpc_target marks the new state as served over gRPC
            if kind.startswith("workflows"):
                starter = emu.on_start(grpc="google.cloud.workflows.v1.Workflows/CreateWorkflow",
                                       http="POST /v1/{parent=projects/*/locations/*}/workflows", body="workflow",
                                       script=lambda op, request: script(op))
                name = ""
            else:
                op = emu.add_operation()
                script(op)
                name = op.name
            # perf_counter is frozen inside VirtualTime; the real one is read through freezegun.
            started = freezegun.api.real_perf_counter()
            await run(name, scenario == "cancelled")
            best = min(best, freezegun.api.real_perf_counter() - started)
            polls = (starter.operations[0] if kind.startswith("workflows") else op).polls
    return best, polls


async def main() -> None:
    with Emulator() as emu:
        print(f"{'client':<22} {'scenario (1 h virtual)':<24} {'wall s':>7} {'polls':>6} {'x real time':>12}"
              "   target: < 1 s")
        for label in CLIENTS:
            for scenario in SCENARIOS:
                seconds, polls = await measure(emu, label, scenario)
                print(f"{label:<22} {scenario:<24} {seconds:>7.3f} {polls:>6} {HOUR / seconds:>12,.0f}")


if __name__ == "__main__":
    asyncio.run(main())
