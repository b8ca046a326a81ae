"""Races and abandoned calls (the adversarial suite): waits whose client has gone, loads against each other and
against resets, calls in flight across a reset.

Each test drives the race to the point where it once lost state or held a thread, by a barrier, an observer or
a listener (never by sleeping), and states the bound the emulator now keeps.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime

import grpc
import pytest
import requests
from google.longrunning import operations_pb2, operations_pb2_grpc
from werkzeug.test import Client

from lro_emulator import Emulator

from ..helpers import until

NAME = "projects/p/operations/slow"


def _wait_request(url: str) -> tuple[str, int, bytes]:
    """The host and port of ``url``, and the bytes of a day-long WaitOperation of `NAME` sent there."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    body = json.dumps({"timeout": "86400s"}).encode()
    request = (f"POST /v1/{NAME}:wait HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    return host, int(port), request


@contextlib.contextmanager
def _real_time_emulator() -> Iterator[tuple[Emulator, threading.Event]]:
    """An emulator whose clock follows real time, holding `NAME`, and an event set once a wait blocks in it."""
    with Emulator(speed=1) as emu:
        emu.add_operation(NAME)
        in_flight = threading.Event()
        main = threading.current_thread()
        # A paced wait catches the clock up with real time as it waits: a move from a serving thread says it blocks.
        emu.clock.subscribe(lambda now: None if threading.current_thread() is main else in_flight.set())
        yield emu, in_flight


# -- abandoned waits -------------------------------------------------------------------------------------------

ABANDONED = 1000


@pytest.fixture
def paced() -> Iterator[Emulator]:
    """A standalone-style emulator whose clock moves only when told: WaitOperation blocks in real time."""
    with Emulator(manual=True) as emu:
        emu.add_operation(NAME)
        yield emu


def _threads() -> int:
    return threading.active_count()


def test_waits_whose_clients_hang_up_leave_every_rest_thread_free(paced: Emulator) -> None:
    host, port, request = _wait_request(paced.url)
    before = _threads()
    for _ in range(ABANDONED // 50):  # in batches, below any connection cap
        connections = [socket.create_connection((host, port), timeout=10) for _ in range(50)]
        for connection in connections:
            connection.sendall(request)
        for connection in connections:
            connection.close()

    assert until(lambda: _threads() <= before + 2), f"{_threads() - before} threads still held"
    assert requests.get(f"{paced.url}/v1/{NAME}", timeout=10).status_code == 200


def test_a_wait_whose_client_sent_more_before_hanging_up_ends_too() -> None:
    with _real_time_emulator() as (emu, in_flight):
        host, port, request = _wait_request(emu.url)
        before = _threads()
        with socket.create_connection((host, port), timeout=10) as connection:
            connection.sendall(request)
            assert in_flight.wait(timeout=20)
            # A pipelined byte the server has not read: the hang-up behind it must still be seen.
            connection.sendall(b"G")

        assert until(lambda: _threads() <= before), f"{_threads() - before} threads still held"


def test_waits_whose_clients_give_up_leave_the_grpc_pool_free(paced: Emulator) -> None:
    with grpc.insecure_channel(paced.grpc_target) as channel:
        stub = operations_pb2_grpc.OperationsStub(channel)
        wait = operations_pb2.WaitOperationRequest(name=NAME)
        wait.timeout.FromSeconds(86400)
        calls = [stub.WaitOperation.future(wait, timeout=0.05) for _ in range(ABANDONED)]
        codes = {call.exception().code() for call in calls}  # each blocks until its call has ended

        answer = stub.GetOperation(operations_pb2.GetOperationRequest(name=NAME), timeout=10)

    assert codes == {grpc.StatusCode.DEADLINE_EXCEEDED}
    assert answer.name == NAME


# -- concurrent loads ------------------------------------------------------------------------------------------

LOADERS, EACH, ROUNDS = 4, 300, 30


def _scenario(loader: int) -> dict[str, object]:
    # A clock start of its own: the first load after a reset switches the emulator to it.
    return {"start": "2031-01-01T00:00:00Z",
            "operations": [{"name": f"projects/p/operations/l{loader}-{index}"} for index in range(EACH)]}


def _load_together(load: Callable[[int], object]) -> None:
    barrier = threading.Barrier(LOADERS)
    errors: list[BaseException] = []

    def run(loader: int) -> None:
        barrier.wait(timeout=30)
        try:
            load(loader)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(loader,)) for loader in range(LOADERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors


def test_loads_right_after_a_reset_are_all_kept() -> None:
    emu = Emulator()
    kept = []
    for _ in range(ROUNDS):
        emu.reset()
        _load_together(lambda loader: emu.load_scenario(_scenario(loader)))
        kept.append(len(emu.operations))

    assert kept == [LOADERS * EACH] * ROUNDS


def test_loads_over_the_control_plane_are_all_kept() -> None:
    with Emulator() as emu:
        kept = []
        for _ in range(ROUNDS // 3):
            assert requests.post(f"{emu.url}/_emulator/v1:reset", json={}, timeout=10).status_code == 200

            def load(loader: int) -> None:
                answer = requests.post(f"{emu.url}/_emulator/v1/scenario:load", json=_scenario(loader), timeout=30)
                assert answer.status_code == 200, answer.text

            _load_together(load)
            kept.append(len(emu.operations))

    assert kept == [LOADERS * EACH] * (ROUNDS // 3)


# -- calls in flight across a reset ------------------------------------------------------------------------------


# Own emulators, not the fixture's: an observer or a clock listener stays for the emulator's life.


def test_a_delay_held_across_a_reset_does_not_move_the_new_clock() -> None:
    lro_emulator = Emulator()
    op = lro_emulator.add_operation(NAME)
    lro_emulator.fault(rpc="GetOperation").delay(3600)
    lro_emulator.observe(lambda call: lro_emulator.reset() if call.rpc == "GetOperation" else None)
    start = lro_emulator.clock.now()

    answer = Client(lro_emulator.wsgi_app).get(f"/v1/{op.name}")  # logged (and the reset made) before the hour

    assert answer.status_code == 200  # served before the reset; the hold is cut short
    assert lro_emulator.clock.now() == start
    assert list(lro_emulator.calls) == []


def test_a_wait_across_a_reset_ends_without_moving_the_new_clock() -> None:
    lro_emulator = Emulator()
    op = lro_emulator.add_operation(NAME)
    op.update(metadata={"@type": "type.googleapis.com/google.protobuf.Empty"}, at=60).succeed(at=120)
    start = lro_emulator.clock.now()
    resets: list[datetime] = []

    def reset_once(now: datetime) -> None:  # the wait's first move of the clock: it is in flight
        if not resets:
            resets.append(now)
            lro_emulator.reset()

    lro_emulator.clock.subscribe(reset_once)
    answer = Client(lro_emulator.wsgi_app).post(f"/v1/{op.name}:wait", json={})

    assert lro_emulator.clock.now() == start
    assert (answer.status_code, answer.get_json()["error"]["status"]) == (409, "ABORTED")
    assert "reset" in answer.get_json()["error"]["message"]
    assert list(lro_emulator.calls) == []


def test_a_blocked_rest_wait_ends_at_a_reset() -> None:
    with _real_time_emulator() as (emu, in_flight):
        answers: list[requests.Response] = []
        waiter = threading.Thread(target=lambda: answers.append(
            requests.post(f"{emu.url}/v1/{NAME}:wait", json={"timeout": "3600s"}, timeout=60)))
        waiter.start()
        assert in_flight.wait(timeout=20)
        started = time.monotonic()

        emu.reset()
        waiter.join(timeout=30)

        assert time.monotonic() - started < 10
        assert answers[0].status_code == 409, answers[0].text
        assert list(emu.calls.filter(rpc="WaitOperation")) == []


def test_grpc_listings_at_once_over_one_shared_payload_all_pack() -> None:
    """Operations scripted with one payload share one parsed dict (`OperationStore.parsed`). protobuf's
    ``json_format.ParseDict`` takes ``@type`` out of an ``Any`` it converts and puts it back after: given that
    shared dict, a listing encoding it on one thread hid the type from a listing of the same operations on another,
    which then failed INTERNAL (UNPACKABLE_PAYLOAD) and recorded a problem."""
    info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "R", "domain": "d",
            "metadata": {f"k{n}": "v" for n in range(200)}}  # a map: converting it is most of the encoding
    with Emulator() as emu:
        for n in range(50):
            emu.add_operation(f"projects/p/operations/op-{n}", metadata=info)
        channel = grpc.insecure_channel(emu.grpc_target)
        stub = operations_pb2_grpc.OperationsStub(channel)
        request = operations_pb2.ListOperationsRequest(name="projects/p", page_size=50)
        start = threading.Barrier(2)
        failures: list[BaseException] = []

        def list_repeatedly() -> None:
            start.wait()
            for _ in range(30):
                try:
                    stub.ListOperations(request, timeout=60)
                except grpc.RpcError as error:
                    failures.append(error)
                    return

        threads = [threading.Thread(target=list_repeatedly) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        channel.close()
        assert not any(thread.is_alive() for thread in threads)
        assert failures == []
        assert emu.problems == []
