"""Concurrency: many clients at once, over real loopback sockets, while another thread moves the clock.

Twelve client threads (nine on REST, each with its own ``requests.Session``, three on gRPC, each with
its own channel and the raw ``google.longrunning`` stub) get, wait on (timeout 0, which never moves
the clock), walk paged lists of (with and without filters), cancel, delete and start operations, a
fixed number of actions each, chosen by a seeded ``random.Random``. Meanwhile a clock thread advances
the virtual clock a fixed number of fixed steps, alternately through ``emu.clock.advance`` and the
control plane's ``clock:advance``. In ``racing`` runs the clock moves while requests are in flight (it
is paced by the clients' progress, through a semaphore, so its moves spread over the run); in
``lockstep`` runs it moves only between rounds (``threading.Barrier``), so each request sees one known
instant and the reference model leaves nothing open.

Every request carries an ``x-request-id``; when the threads are done the test proves that:

- nothing failed: no 5xx, no code the method may not answer, no thread error, ``emu.problems`` empty;
- the call log holds exactly the calls the threads made: one entry per request id, with the rpc,
  name, transport and code the thread saw, so the counts per rpc and per name agree;
- each answer is a state the script allows at some instant between the clock readings taken around
  the request (a step at T is seen only once the clock reached T), and answers are linearizable in
  real time: once any thread received a state, a request sent later never sees an earlier stage, a
  different result, or a deleted operation; after an accepted cancel returns, the operation is done;
- a step after N polls fires on exactly the Nth poll across all threads and both transports, and
  ``op.polls`` equals the polls answered;
- each operation ends in one terminal state (one done transition in its history, at its scripted
  instant), equal to a reference model's computed from the scripts, the clock's final reading and the
  logged cancels and deletes (a cancel's serve instant lies between its logged arrival and the clock
  read after its answer; only a cancel in flight while the clock crossed a step leaves two outcomes);
- every paged walk lists operations in creation order without repeats, each matching its filter,
  missing none that existed before the walk, was never deleted and matched throughout;
- deleting most of a large collection (past the store's compaction of deleted entries) during paged
  walks makes no walk skip or repeat an operation.

The harness (the scripts and their reference model, the client threads, the checks) is in
``concurrency_harness.py``; this module holds the tests.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import threading
import traceback
from collections import Counter, defaultdict

import pytest
import requests

from lro_emulator import Emulator
from lro_emulator.core.calls import POLL_RPCS  # internal: the model mirrors the core

from .concurrency_harness import (
    GUARD,
    Client,
    Obs,
    P,
    Progress,
    RestClient,
    Run,
    Script,
    Verdict,
    number,
    open_client,
    phase_of,
    read_grpc_target_at_once,
    run_scenario,
    start_and_join,
)
from .helpers import struct

SEEDS = [("racing", seed) for seed in (1, 2, 3, 4)] + [("lockstep", seed) for seed in (5, 6)]


@pytest.mark.lro_emulator(virtual_time=False, grpc=True)
@pytest.mark.parametrize(("mode", "seed"), SEEDS, ids=[f"{mode}-{seed}" for mode, seed in SEEDS])
def test_concurrent_clients_and_a_moving_clock_agree_with_the_reference_model(
    lro_emulator: Emulator, mode: str, seed: int, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    run = run_scenario(lro_emulator, seed, lockstep=mode == "lockstep")
    verdict = Verdict(run)

    verdict.check_nothing_failed()
    verdict.check_call_log()
    verdict.check_clock()
    verdict.check_polls()
    verdict.check_steps_after_polls()
    verdict.check_deletes()
    verdict.check_starts()
    verdict.check_answers_fit_the_scripts()
    verdict.check_linearizable()
    verdict.check_walks()
    verdict.check_final_states()
    verdict.check_served_over_rest_as_modelled()

    assert lro_emulator.problems == []
    assert "Traceback" not in capfd.readouterr().err
    assert caplog.records == []


# -- focused races ----------------------------------------------------------------------------------------


POLL_SCRIPTS = [(0, 1), (5, 40), (17, 17), (60, 200)]
POLLERS = 16
POLLS_EACH = 30


@pytest.mark.lro_emulator(virtual_time=False, grpc=True)
def test_a_step_after_n_polls_fires_on_exactly_the_nth_poll_across_threads_and_transports(
    lro_emulator: Emulator,
) -> None:
    emu = lro_emulator
    scripts = []
    for k, n in POLL_SCRIPTS:
        op = emu.add_operation(parent=P, metadata=struct(kind="polls", stage="0"))
        op.update(metadata=struct(kind="polls", stage="1"), after_polls=k)
        op.succeed(struct(op=op.name), after_polls=n)
        scripts.append(Script(op.name, "polls", k=k, n=n))
    answers: dict[str, list[str]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    go = threading.Barrier(POLLERS, timeout=GUARD)
    target = emu.grpc_target

    def poller(number: int) -> None:
        seen: list[tuple[str, str]] = []
        try:
            with contextlib.ExitStack() as stack:
                client = open_client(stack, emu, target, over_grpc=number % 4 == 0)
                go.wait()
                for index in range(POLLS_EACH):
                    script = scripts[(number + index) % len(scripts)]
                    answer = client.call("wait" if index % 3 == 2 else "get", script.name, f"p{number}-{index}")
                    assert answer.code == "OK", answer
                    seen.append((script.name, phase_of(answer.docs[0])))
        except BaseException:
            go.abort()
            with lock:
                errors.append(traceback.format_exc())
        with lock:
            for name, phase in seen:
                answers[name].append(phase)

    threads = [threading.Thread(target=poller, args=(number,), daemon=True) for number in range(POLLERS)]
    start_and_join(threads)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == [], "\n".join(errors)

    each = POLLERS * POLLS_EACH // len(scripts)
    for script in scripts:
        assert Counter(answers[script.name]) == +script.poll_phases(each), (script.k, script.n)
        assert emu.operation(script.name).polls == each
        assert emu.calls.filter(rpc=POLL_RPCS, name=script.name, code="OK").call_count == each
    assert emu.calls.call_count == POLLERS * POLLS_EACH
    assert emu.problems == []


BULK = 2100
DELETERS = 7
WALKER_PAGE_SIZES = (30, 40, 50, 70)
WALKS_EACH = 4
DELETES_PER_PAGE = 10


@pytest.mark.lro_emulator(virtual_time=False, grpc=True)
def test_deleting_most_of_a_collection_during_paged_walks_skips_and_repeats_nothing(lro_emulator: Emulator) -> None:
    """Two thirds of 2100 operations are deleted (past the store's compaction of deleted entries, at 1024)
    while walkers page through the collection, one page per ten deletions, so walks span the deletions."""
    emu = lro_emulator
    names = [emu.add_operation(parent=P).name for _ in range(BULK)]
    kept = names[::3]
    doomed = [name for index, name in enumerate(names) if index % 3]
    random.Random(7).shuffle(doomed)
    shards = [doomed[index::DELETERS] for index in range(DELETERS)]
    walkers = len(WALKER_PAGE_SIZES)
    deletes: list[Obs] = []
    pages: list[Obs] = []
    errors: list[str] = []
    lock = threading.Lock()
    go = threading.Barrier(DELETERS + walkers, timeout=GUARD)
    progress = Progress(len(doomed))
    run = Run(emu, False, {}, {}, None, emu.clock.now())
    target = emu.grpc_target

    def worker(number: int) -> None:
        client: Client | None = None
        try:
            with contextlib.ExitStack() as stack:
                transport = open_client(stack, emu, target, over_grpc=number == DELETERS)
                client = Client(run, number, transport, random.Random(number))
                go.wait()
                if number < DELETERS:
                    for name in shards[number]:
                        client.request("delete", name)
                        progress.step()
                else:
                    gate = progress.gate(DELETES_PER_PAGE)
                    for walk in range(WALKS_EACH):
                        client.walk(f"t{number}-w{walk}", "", WALKER_PAGE_SIZES[number - DELETERS], gate)
        except BaseException:
            go.abort()
            progress.finish()
            with lock:
                errors.append(traceback.format_exc())
        finally:
            if client is not None:
                with lock:
                    (deletes if number < DELETERS else pages).extend(client.seen)

    threads = [threading.Thread(target=worker, args=(number,), daemon=True) for number in range(DELETERS + walkers)]
    start_and_join(threads)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == [], "\n".join(errors)

    assert [o.answer.code for o in deletes] == ["OK"] * len(doomed)
    assert all(o.answer.code == "OK" for o in pages)
    gone_at = {o.name: o.r1 for o in deletes}
    walks: dict[str | None, list[Obs]] = defaultdict(list)
    for page in sorted(pages, key=lambda o: o.r0):
        walks[page.walk].append(page)
        listed = [doc["name"] for doc in page.answer.docs]
        assert [name for name in listed if gone_at.get(name, math.inf) < page.r0] == [], page.rid
    assert len(walks) == walkers * WALKS_EACH
    for walk, walk_pages in walks.items():
        listed = [doc["name"] for page in walk_pages for doc in page.answer.docs]
        assert [number(name) for name in listed] == sorted({number(name) for name in listed}), walk
        assert set(kept) <= set(listed), (walk, sorted(set(kept) - set(listed), key=number)[:5])
    assert [op.name for op in emu.operations] == kept
    logged = Counter(call.rpc for call in emu.calls)
    assert logged == Counter({"DeleteOperation": len(doomed), "ListOperations": len(pages)})
    with requests.Session() as session:
        client = Client(run, 99, RestClient(emu.url, session), random.Random(0))
        client.walk("final", "", 1000)
    assert [doc["name"] for page in client.seen for doc in page.answer.docs] == kept
    assert emu.problems == []


ATTEMPTS = 20


def test_reading_grpc_target_first_from_several_threads_at_once_starts_one_server() -> None:
    """``emu.grpc_target`` starts gRPC on first use; threads that all use it first must share one server."""
    for attempt in range(ATTEMPTS):
        emu = Emulator()
        try:
            targets, errors = read_grpc_target_at_once(emu)
            served = emu.addresses().get("grpc")
        finally:
            emu.stop()
        assert errors == [], (attempt, errors)
        assert set(targets) == {served}, (attempt, sorted(set(targets)), served)
