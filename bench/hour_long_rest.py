"""Wall time of hour-long operations driven by google-api-core's REST client and default polling.

Run: ``python bench/hour_long_rest.py`` (with the package and its test extras installed).
Prints, for an operation that succeeds, one that fails and one that is cancelled after an hour of
virtual time, the wall time of ``future.result()`` and the number of polls, best of five runs.
"""

from __future__ import annotations

from collections.abc import Callable

import freezegun.api
from google.api_core import exceptions, operation
from google.api_core.operations_v1 import AbstractOperationsClient
from google.api_core.operations_v1.transports.rest import OperationsRestTransport
from google.auth.credentials import AnonymousCredentials
from google.protobuf import struct_pb2

from lro_emulator import Emulator, VirtualTime

STRUCT = "type.googleapis.com/google.protobuf.Struct"
HOUR = 3600
RUNS = 5


def scenario_succeeds(emu: Emulator, client: AbstractOperationsClient) -> int:
    op = emu.add_operation().succeed({"@type": STRUCT, "value": {"rows": 1}}, at=HOUR)
    operation.from_gapic(client.get_operation(op.name), client, struct_pb2.Struct).result(timeout=2 * HOUR)
    return op.polls


def scenario_fails(emu: Emulator, client: AbstractOperationsClient) -> int:
    op = emu.add_operation().fail("NOT_FOUND", "gone", at=HOUR)
    try:
        operation.from_gapic(client.get_operation(op.name), client, struct_pb2.Struct).result(timeout=2 * HOUR)
    except exceptions.NotFound:
        return op.polls
    raise AssertionError("the failure did not surface")


def scenario_cancelled(emu: Emulator, client: AbstractOperationsClient) -> int:
    op = emu.add_operation().succeed(at=2 * HOUR).on_cancel(after=HOUR)
    future = operation.from_gapic(client.get_operation(op.name), client, struct_pb2.Struct)
    future.cancel()
    try:
        future.result(timeout=3 * HOUR)
    except exceptions.Cancelled:
        assert future.cancelled()
        return op.polls
    raise AssertionError("the cancellation did not surface")


def measure(emu: Emulator, client: AbstractOperationsClient, run: Callable[..., int]) -> tuple[float, int]:
    best, polls = float("inf"), 0
    for _ in range(RUNS):
        emu.reset()
        with VirtualTime(emu.clock, seed=0):
            # perf_counter is frozen inside VirtualTime; the real one is read through freezegun.
            started = freezegun.api.real_perf_counter()
            polls = run(emu, client)
            best = min(best, freezegun.api.real_perf_counter() - started)
    return best, polls


def main() -> None:
    with Emulator() as emu:
        transport = OperationsRestTransport(host=emu.url, credentials=AnonymousCredentials())
        client = AbstractOperationsClient(transport=transport)
        print(f"{'scenario (1 h virtual)':<24} {'wall s':>8} {'polls':>6}   target: < 1 s")
        for name, run in (("succeeds", scenario_succeeds), ("fails NOT_FOUND", scenario_fails),
                          ("cancelled (1 h delay)", scenario_cancelled)):
            seconds, polls = measure(emu, client, run)
            print(f"{name:<24} {seconds:>8.3f} {polls:>6}")


if __name__ == "__main__":
    main()
