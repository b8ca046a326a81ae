"""The harness of ``test_concurrency.py``: scripted operations, their reference model, client threads and the checks.

``run_scenario`` scripts operations (``Script``, the reference model of each), then runs twelve client
threads (``Client`` over a ``RestClient`` or a ``GrpcClient``, each request recorded as an ``Obs``)
while a clock thread advances the virtual clock, paced by ``Pace`` (racing or lockstep). ``Verdict``
holds the finished ``Run`` against the model, one ``check_*`` method per property the tests prove
(the test module's docstring lists them). ``Progress`` and ``read_grpc_target_at_once`` serve the
focused races.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import json
import math
import random
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import grpc
import requests
from google.longrunning import operations_pb2, operations_pb2_grpc
from google.protobuf import duration_pb2, json_format

from lro_emulator import Emulator, OperationHandle, Starter, StartRequest
from lro_emulator.core.calls import POLL_RPCS  # internal: the model mirrors the core
from lro_emulator.core.timeline import CANCELLED_MESSAGE  # internal: the model mirrors the core

from .helpers import struct

JSON = dict[str, Any]
P = "projects/conc/locations/l1"
WIDGETS = "POST /v1/{parent=projects/*/locations/*}/widgets"
STEP = 2.0
ADVANCES = 60
HORIZON = STEP * ADVANCES
STATIC_OPERATIONS = 36
REST_THREADS = 9
GRPC_THREADS = 3
ACTIONS = 48
START_DELAY = 15.0
#: Real seconds the whole run may take before the test gives up on its threads (a guard, not a measure).
GUARD = 30.0
KINDS = ("succeed", "fail", "ignore", "refuse", "polls")
FILTERS: dict[str, Callable[[JSON], bool]] = {
    "": lambda doc: True,
    "done = true": lambda doc: doc.get("done", False),
    "done = false": lambda doc: not doc.get("done", False),
    'metadata.value.kind = "polls"': lambda doc: doc["metadata"]["value"]["kind"] == "polls",
    'metadata.value.stage = "1"': lambda doc: doc["metadata"]["value"]["stage"] == "1",
}
CHOICES = {"get": 34, "wait": 8, "walk": 16, "cancel": 14, "delete": 8, "start": 6}
ALLOWED = {
    "get": {"OK", "NOT_FOUND"},
    "wait": {"OK", "NOT_FOUND"},
    "list": {"OK"},
    "cancel": {"OK", "NOT_FOUND", "FAILED_PRECONDITION"},
    "delete": {"OK", "NOT_FOUND"},
    "start": {"OK"},
}
RPC = {"get": "GetOperation", "wait": "WaitOperation", "list": "ListOperations", "cancel": "CancelOperation",
       "delete": "DeleteOperation", "start": WIDGETS}
RANK = {"stage0": 0, "stage1": 1, "result": 2, "cancelled": 2}


# -- scripts and their reference model ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Script:
    """What one operation was scripted to do; times in seconds after the clock's start."""

    name: str
    kind: str  # succeed, fail, ignore, refuse, polls (static) or started (created by a start call)
    t1: float = math.inf  # metadata stage "0" -> "1"
    t2: float = math.inf  # the terminal step
    k: int = 0  # polls: the update fires after k polls ...
    n: int = 0  # ... and the result after n
    cancel_after: float = 0.0
    cancellable: bool = False
    deletable: bool = False

    @property
    def accepts_cancel(self) -> bool:
        return self.kind in ("succeed", "fail")

    def doc(self, phase: str) -> JSON:
        stage = {"stage0": "0", "stage1": "1", "result": "1", "cancelled": "cancelled"}[phase]
        document: JSON = {"name": self.name, "metadata": struct(kind=self.kind, stage=stage)}
        if phase == "result":
            document["done"] = True
            if self.kind == "fail":
                document["error"] = {"code": 10, "message": f"{self.name} failed"}
            else:
                document["response"] = struct(op=self.name)
        elif phase == "cancelled":
            document.update(done=True, error={"code": 1, "message": CANCELLED_MESSAGE})
        return document

    def timed_phase(self, instant: float) -> str:
        if instant >= self.t2:
            return "result"
        return "stage1" if instant >= self.t1 else "stage0"

    def timed_phases(self, start: float, end: float, *, closed: bool = True) -> set[str]:
        """The phases the clock alone gives at some instant in [start, end] (or [start, end))."""
        if start > end or (not closed and start >= end):
            return set()
        points = [start, *(t for t in (self.t1, self.t2) if start < t < end)]
        if closed:
            points.append(end)
        return {self.timed_phase(point) for point in points}

    def phases(self, start: float, end: float, cancel: tuple[float, float] | None, *, last: bool = False) -> set[str]:
        """Every phase served at some instant in [start, end], the first cancel taking effect in ``cancel``.

        A read at the very instant a cancel without delay is served may come before it or after it;
        the ``last`` read, after every call, comes after it.
        """
        timed = self.timed_phases(start, end)
        if cancel is None:
            return timed
        low, high = cancel
        found = {"cancelled"} if low < self.t2 and low <= end else set()
        if high >= self.t2:  # the first cancel may come too late to matter
            return found | timed
        return found | self.timed_phases(start, min(end, high), closed=not last or end < high)

    def poll_phases(self, polls: int) -> Counter[str]:
        """How many answers of each phase ``polls`` answered polls give (the (i+1)th sees i polls counted)."""
        before_update, before_result = min(self.k, polls), min(self.n, polls)
        return Counter({"stage0": before_update, "stage1": before_result - before_update,
                        "result": polls - before_result})

    def final_poll_phase(self, polls: int) -> str:
        return "result" if polls >= self.n else "stage1" if polls >= self.k else "stage0"


def phase_of(doc: JSON) -> str:
    if doc.get("done"):
        return "cancelled" if doc.get("error", {}).get("code") == 1 else "result"
    return f"stage{doc['metadata']['value']['stage']}"


def number(name: str) -> int:
    """The creation rank of a generated name (``.../operations/op-7`` is the 7th created)."""
    return int(name.rsplit("-", 1)[1])


def script_operations(emu: Emulator, rng: random.Random) -> tuple[dict[str, Script], dict[str, OperationHandle]]:
    scripts: dict[str, Script] = {}
    handles: dict[str, OperationHandle] = {}
    for index in range(STATIC_OPERATIONS):
        kind = KINDS[index % len(KINDS)]
        op = emu.add_operation(parent=P, metadata=struct(kind=kind, stage="0"))
        deletable = rng.random() < 0.3
        if kind == "polls":
            k = rng.randint(0, 4)
            n = k + rng.randint(0, 8)
            op.update(metadata=struct(kind=kind, stage="1"), after_polls=k)
            op.succeed(struct(op=op.name), after_polls=n)
            op.on_cancel("ignore")
            script = Script(op.name, kind, k=k, n=n, cancellable=True, deletable=deletable)
        else:
            t1 = rng.randint(0, 90)
            t2 = t1 + rng.randint(0, 40)
            op.update(metadata=struct(kind=kind, stage="1"), at=t1)
            if kind == "fail":
                op.fail("ABORTED", f"{op.name} failed", at=t2)
            else:
                op.succeed(struct(op=op.name), at=t2)
            after = 0.0
            cancellable = True
            if kind in ("succeed", "fail"):
                after = rng.choice([0.0, 0.0, 3.0, 20.0])
                op.on_cancel("accept", after=after, metadata=struct(kind=kind, stage="cancelled"))
                cancellable = rng.random() < 0.5
            else:
                op.on_cancel(kind)
            script = Script(op.name, kind, t1, t2, cancel_after=after, cancellable=cancellable, deletable=deletable)
        scripts[op.name] = script
        handles[op.name] = op
    return scripts, handles


def start_widget(op: OperationHandle, request: StartRequest) -> None:
    op.update(metadata=struct(kind="started", stage="0"))
    op.succeed(struct(op=op.name), at=START_DELAY, metadata=struct(kind="started", stage="1"))


# -- clients ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Answer:
    code: str  # the google.rpc.Code name
    status: int  # the HTTP status (REST), 0 over gRPC
    docs: list[JSON]
    token: str = ""


class RestClient:
    transport = "http"

    def __init__(self, url: str, session: requests.Session) -> None:
        self.url = url
        self.session = session

    def call(self, action: str, name: str, rid: str, filter_text: str = "", size: int = 0, token: str = "") -> Answer:
        headers = {"x-request-id": rid}
        base = f"{self.url}/v1/{name}"
        if action == "get":
            response = self.session.get(base, headers=headers, timeout=10)
        elif action == "wait":
            response = self.session.post(f"{base}:wait", json={"timeout": "0s"}, headers=headers, timeout=10)
        elif action == "cancel":
            response = self.session.post(f"{base}:cancel", json={}, headers=headers, timeout=10)
        elif action == "delete":
            response = self.session.delete(base, headers=headers, timeout=10)
        elif action == "start":
            response = self.session.post(f"{base}/widgets", json={"displayName": rid}, headers=headers, timeout=10)
        else:
            params: dict[str, Any] = {"pageSize": size}
            if filter_text:
                params["filter"] = filter_text
            if token:
                params["pageToken"] = token
            response = self.session.get(f"{base}/operations", params=params, headers=headers, timeout=10)
        body = response.json()
        if response.status_code != 200:
            return Answer(body["error"]["status"], response.status_code, [])
        if action == "list":
            return Answer("OK", 200, body.get("operations", []), body.get("nextPageToken", ""))
        return Answer("OK", 200, [] if action in ("cancel", "delete") else [body])


class GrpcClient:
    transport = "grpc"

    def __init__(self, channel: grpc.Channel) -> None:
        self.stub = operations_pb2_grpc.OperationsStub(channel)

    def call(self, action: str, name: str, rid: str, filter_text: str = "", size: int = 0, token: str = "") -> Answer:
        options: Any = {"metadata": (("x-request-id", rid),), "timeout": 10}
        stub = self.stub
        try:
            if action == "get":
                reply: Any = stub.GetOperation(operations_pb2.GetOperationRequest(name=name), **options)
            elif action == "wait":
                request = operations_pb2.WaitOperationRequest(name=name, timeout=duration_pb2.Duration(seconds=0))
                reply = stub.WaitOperation(request, **options)
            elif action == "cancel":
                reply = stub.CancelOperation(operations_pb2.CancelOperationRequest(name=name), **options)
            elif action == "delete":
                reply = stub.DeleteOperation(operations_pb2.DeleteOperationRequest(name=name), **options)
            else:
                request = operations_pb2.ListOperationsRequest(name=name, filter=filter_text, page_size=size,
                                                               page_token=token)
                reply = stub.ListOperations(request, **options)
        except grpc.RpcError as error:
            return Answer(error.code().name, 0, [])
        if action == "list":
            return Answer("OK", 0, [json_format.MessageToDict(op) for op in reply.operations], reply.next_page_token)
        return Answer("OK", 0, [] if action in ("cancel", "delete") else [json_format.MessageToDict(reply)])


# -- one run -------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Obs:
    """One request as its thread saw it: real times (perf_counter) and clock readings (s) around it."""

    thread: int
    action: str
    name: str  # the operation, or the collection for list and start
    rid: str
    transport: str
    r0: float
    r1: float
    c0: float
    c1: float
    answer: Answer
    walk: str | None = None
    filter_text: str = ""

    @property
    def logged_name(self) -> str:
        return self.answer.docs[0]["name"] if self.action == "start" else self.name


@dataclasses.dataclass
class Run:
    emu: Emulator
    lockstep: bool
    scripts: dict[str, Script]
    handles: dict[str, OperationHandle]
    starter: Starter | None
    t0: datetime
    observations: list[Obs] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def clock(self) -> float:
        return (self.emu.clock.now() - self.t0).total_seconds()


class Pace:
    """Couples the clock thread to the clients: a semaphore (racing) or a barrier per round (lockstep)."""

    def __init__(self, lockstep: bool, clients: int) -> None:
        self.lockstep = lockstep
        self.rounds = ADVANCES + 1
        self.barrier = threading.Barrier(clients + 1, timeout=GUARD)
        self.progress = threading.Semaphore(0)
        self.per_advance = clients * ACTIONS // self.rounds

    def rounds_before(self, action: int) -> int:
        return action * self.rounds // ACTIONS

    def client(self, actions: range, act: Callable[[int], None]) -> None:
        done_rounds = 0
        for action in actions:
            if self.lockstep:
                while done_rounds < self.rounds_before(action):
                    self.barrier.wait()
                    self.barrier.wait()
                    done_rounds += 1
            act(action)
            self.progress.release()
        while self.lockstep and done_rounds < ADVANCES:
            self.barrier.wait()
            self.barrier.wait()
            done_rounds += 1

    def before_advance(self) -> bool:
        if self.lockstep:
            self.barrier.wait()
            return True
        return all(self.progress.acquire(timeout=GUARD) for _ in range(self.per_advance))

    def after_advance(self) -> None:
        if self.lockstep:
            self.barrier.wait()

    def abort(self) -> None:
        self.barrier.abort()
        self.progress.release(10**6)


class Client:
    """One client thread: its transport, its random choices, what it saw."""

    def __init__(self, run: Run, number: int, client: RestClient | GrpcClient, rng: random.Random) -> None:
        self.run = run
        self.number = number
        self.client = client
        self.rng = rng
        self.seen: list[Obs] = []
        self.started: list[str] = []
        self.requests = itertools.count(1)
        scripts = list(run.scripts.values())
        self.static = [s.name for s in scripts]
        self.cancellable = [s.name for s in scripts if s.cancellable]
        self.deletable = [s.name for s in scripts if s.deletable]

    def request(self, action: str, name: str, walk: str | None = None, filter_text: str = "", size: int = 0,
                token: str = "") -> Obs:
        rid = f"t{self.number}-{next(self.requests)}"
        r0, c0 = time.perf_counter(), self.run.clock()
        answer = self.client.call(action, name, rid, filter_text, size, token)
        c1, r1 = self.run.clock(), time.perf_counter()
        obs = Obs(self.number, action, name, rid, self.client.transport, r0, r1, c0, c1, answer, walk, filter_text)
        self.seen.append(obs)
        return obs

    def act(self, index: int) -> None:
        rng = self.rng
        action = rng.choices(list(CHOICES), weights=list(CHOICES.values()))[0]
        if action == "start" and self.client.transport == "grpc":
            action = "get"
        if action in ("get", "wait"):
            own = self.started and rng.random() < 0.25
            self.request(action, rng.choice(self.started if own else self.static))
        elif action == "cancel":
            self.request("cancel", rng.choice(self.cancellable))
        elif action == "delete":
            self.request("delete", rng.choice(self.deletable))
        elif action == "start":
            obs = self.request("start", P)
            if obs.answer.code == "OK":
                self.started.append(obs.answer.docs[0]["name"])
        else:
            self.walk(f"t{self.number}-w{index}", rng.choice(list(FILTERS)), rng.randint(1, 10))

    def walk(self, walk: str, filter_text: str, size: int, before_page: Callable[[], None] | None = None) -> None:
        token = ""
        for _ in range(STATIC_OPERATIONS + REST_THREADS * ACTIONS + 2):
            if before_page is not None:
                before_page()
            obs = self.request("list", P, walk, filter_text, size, token)
            if obs.answer.code != "OK" or not obs.answer.token:
                return
            token = obs.answer.token
        raise AssertionError(f"walk {walk} did not end")


def open_client(stack: contextlib.ExitStack, emu: Emulator, target: str, over_grpc: bool) -> RestClient | GrpcClient:
    """A client of its own for one thread, closed with ``stack``."""
    if over_grpc:
        return GrpcClient(stack.enter_context(grpc.insecure_channel(target)))
    return RestClient(emu.url, stack.enter_context(requests.Session()))


def run_scenario(emu: Emulator, seed: int, lockstep: bool) -> Run:
    rng = random.Random(seed)
    scripts, handles = script_operations(emu, rng)
    starter = emu.on_start(http=WIDGETS, script=start_widget)
    run = Run(emu, lockstep, scripts, handles, starter, emu.clock.now())
    pace = Pace(lockstep, REST_THREADS + GRPC_THREADS)
    go = threading.Barrier(REST_THREADS + GRPC_THREADS + 1, timeout=GUARD)
    target = emu.grpc_target

    def fail(where: str) -> None:
        with run.lock:
            run.errors.append(f"{where}:\n{traceback.format_exc()}")
        go.abort()
        pace.abort()

    def client_thread(number: int) -> None:
        client: Client | None = None
        try:
            with contextlib.ExitStack() as stack:
                transport = open_client(stack, emu, target, over_grpc=number >= REST_THREADS)
                client = Client(run, number, transport, random.Random(f"{seed}/{number}"))
                go.wait()
                pace.client(range(ACTIONS), client.act)
        except BaseException:
            fail(f"client {number}")
        finally:
            if client is not None:
                with run.lock:
                    run.observations.extend(client.seen)

    def clock_thread() -> None:
        try:
            with requests.Session() as session:
                go.wait()
                for advance in range(ADVANCES):
                    if not pace.before_advance():
                        raise AssertionError("the clients stopped making progress")
                    if advance % 2:
                        emu.clock.advance(STEP)
                    else:
                        answer = session.post(f"{emu.url}/_emulator/v1/clock:advance",
                                              json={"duration": f"{STEP:g}s"}, timeout=10)
                        assert answer.status_code == 200, answer.text
                    pace.after_advance()
        except BaseException:
            fail("clock")

    threads = [threading.Thread(target=client_thread, args=(number,), daemon=True)
               for number in range(REST_THREADS + GRPC_THREADS)]
    threads.append(threading.Thread(target=clock_thread, daemon=True))
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + GUARD
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    hung = [thread.name for thread in threads if thread.is_alive()]
    if hung:
        pace.abort()
        go.abort()
    assert not hung, f"threads still running after {GUARD}s: {hung}"
    return run


# -- what the run must show ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class View:
    """What one request tells about one operation: a document, gone, done (some result) or not done."""

    obs: Obs
    kind: str  # doc, gone, done, running
    doc: JSON | None = None


class Verdict:
    """The reference model of a finished run, and the checks against it."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.emu = run.emu
        self.obs = sorted(run.observations, key=lambda o: (o.thread, o.r0))
        self.log = list(self.emu.calls)
        self.by_rid = {call.headers.get("x-request-id"): call for call in self.log}
        self.scripts = dict(run.scripts)
        self.handles = dict(run.handles)
        self.start_obs = {o.answer.docs[0]["name"]: o for o in self.obs
                          if o.action == "start" and o.answer.code == "OK"}
        for handle in run.starter.operations if run.starter is not None else []:
            created = (handle.created - run.t0).total_seconds()
            self.scripts[handle.name] = Script(handle.name, "started", t2=created + START_DELAY)
            self.handles[handle.name] = handle
        self.deleted = {o.name for o in self.obs if o.action == "delete" and o.answer.code == "OK"}
        self.polls = Counter(o.name for o in self.obs if o.action in ("get", "wait") and o.answer.code == "OK")
        self.views: dict[str, list[View]] = defaultdict(list)
        for o in self.obs:
            for name, view in self._views_of(o):
                self.views[name].append(view)

    @functools.cached_property
    def cancels(self) -> dict[str, tuple[float, float]]:
        """Per operation that accepts cancels and got one: the window its first cancel takes effect in.

        The first cancel served was served after the earliest logged arrival of the accepted cancels
        and before the clock reading after any of their answers; it takes effect its delay later.
        """
        windows = {}
        for name, script in self.scripts.items():
            accepted = [o for o in self.obs if o.action == "cancel" and o.name == name and o.answer.code == "OK"]
            if script.accepts_cancel and accepted:
                arrived = min(self._arrival(o) for o in accepted)
                answered = min(o.c1 for o in accepted)
                windows[name] = (arrived + script.cancel_after, answered + script.cancel_after)
        return windows

    def _arrival(self, obs: Obs) -> float:
        return (self.by_rid[obs.rid].time - self.run.t0).total_seconds()

    def _views_of(self, o: Obs) -> Iterator[tuple[str, View]]:
        code = o.answer.code
        if o.action in ("get", "wait", "start", "list") and code == "OK":
            for doc in o.answer.docs:
                yield doc["name"], View(o, "doc", doc)
        elif code == "NOT_FOUND" or (o.action == "delete" and code == "OK"):
            yield o.name, View(o, "gone")
        elif o.action == "cancel" and code == "FAILED_PRECONDITION":
            yield o.name, View(o, "running")
        elif o.action == "cancel" and self.scripts[o.name].accepts_cancel and self.scripts[o.name].cancel_after == 0:
            yield o.name, View(o, "done")  # an accepted cancel without delay finishes the operation at once

    # -- the checks -------------------------------------------------------------------------------------

    def check_nothing_failed(self) -> None:
        assert self.run.errors == [], "\n".join(self.run.errors)
        assert self.emu.problems == []
        unexpected = [o for o in self.obs if o.answer.code not in ALLOWED[o.action] or o.answer.status >= 500]
        assert unexpected == [], unexpected[:5]
        refused = [o for o in self.obs if o.answer.code == "FAILED_PRECONDITION" and o.name in self.scripts
                   and self.scripts[o.name].kind != "refuse"]
        assert refused == []
        assert all(call.status < 500 for call in self.log), [call for call in self.log if call.status >= 500]
        assert len(self.obs) >= (REST_THREADS + GRPC_THREADS) * ACTIONS
        if self.run.lockstep:
            assert [o for o in self.obs if o.c0 != o.c1] == [], "the clock moved during a lockstep round"

    def check_call_log(self) -> None:
        rids = [call.headers.get("x-request-id") for call in self.log]
        assert len(rids) == len(set(rids)), [rid for rid, count in Counter(rids).items() if count > 1]
        assert set(rids) == {o.rid for o in self.obs}
        assert self.run.starter is not None
        rpc = {**RPC, "start": self.run.starter.rpc}
        mismatched = []
        for o in self.obs:
            call = self.by_rid[o.rid]
            seen = (rpc[o.action], o.logged_name, o.transport, o.answer.code)
            if (call.rpc, call.name, call.transport, call.code) != seen or (
                o.transport == "http" and call.status != o.answer.status
            ):
                mismatched.append((o.rid, seen, call))
        assert mismatched == []
        assert Counter((c.rpc, c.name) for c in self.log) == Counter((rpc[o.action], o.logged_name) for o in self.obs)
        assert Counter(c.rpc for c in self.log) == Counter(rpc[o.action] for o in self.obs)

    def check_clock(self) -> None:
        assert self.run.clock() == HORIZON

    def check_polls(self) -> None:
        for name, handle in self.handles.items():
            logged = self.emu.calls.filter(rpc=POLL_RPCS, name=name, code="OK").call_count
            assert handle.polls == self.polls[name] == logged, name

    def check_steps_after_polls(self) -> None:
        for name, script in self.scripts.items():
            if script.kind != "polls":
                continue
            answers = [phase_of(o.answer.docs[0]) for o in self.obs
                       if o.action in ("get", "wait") and o.name == name and o.answer.code == "OK"]
            assert Counter(answers) == +script.poll_phases(len(answers)), (name, script.k, script.n)

    def check_deletes(self) -> None:
        twice = {name for name, count in Counter(o.name for o in self.obs
                                                 if o.action == "delete" and o.answer.code == "OK").items()
                 if count > 1}
        assert twice == set()
        assert [op.name for op in self.emu.operations] == [n for n in sorted(self.scripts, key=number)
                                                          if n not in self.deleted]
        for name, views in self.views.items():
            gone = [view for view in views if view.kind == "gone"]
            if name not in self.deleted:
                assert gone == [], name
                continue
            delete = next(o for o in self.obs if o.action == "delete" and o.name == name and o.answer.code == "OK")
            assert all(delete.r0 < view.obs.r1 for view in gone), name

    def check_answers_fit_the_scripts(self) -> None:
        """Each document is the script's state at an instant between the clock readings around its request."""
        for name, views in self.views.items():
            script = self.scripts[name]
            for view in views:
                if view.doc is None:
                    continue
                phase = phase_of(view.doc)
                assert view.doc == script.doc(phase), (view.obs.rid, view.doc)
                if script.kind != "polls":
                    allowed = script.phases(view.obs.c0, view.obs.c1, self.cancels.get(name))
                    assert phase in allowed, (view.obs, phase, allowed, script)
        for o in self.obs:
            refusing = self.scripts.get(o.name)
            if o.action == "cancel" and refusing is not None and refusing.kind == "refuse":
                if o.answer.code == "FAILED_PRECONDITION":
                    assert self._arrival(o) < refusing.t2, o
                elif o.answer.code == "OK":
                    assert o.c1 >= refusing.t2, o

    def check_linearizable(self) -> None:
        """Once a request was answered, one sent later never sees an earlier state, another result, or no deletion."""
        for name, views in self.views.items():
            by_end = sorted(views, key=lambda v: v.obs.r1)
            floor, result, gone, absorbed = -1, None, False, 0
            for view in sorted(views, key=lambda v: v.obs.r0):
                while absorbed < len(by_end) and by_end[absorbed].obs.r1 < view.obs.r0:
                    earlier = by_end[absorbed]
                    absorbed += 1
                    gone = gone or earlier.kind == "gone"
                    if earlier.kind == "done":
                        floor = max(floor, 2)
                    if earlier.doc is not None:
                        floor = max(floor, RANK[phase_of(earlier.doc)])
                        result = earlier.doc if earlier.doc.get("done") else result
                if gone:
                    assert view.kind == "gone", (name, view.obs)
                elif view.kind == "running":
                    assert floor < 2, (name, view.obs)
                elif view.doc is not None:
                    assert RANK[phase_of(view.doc)] >= floor, (name, view.obs, floor)
                    assert result is None or view.doc == result, (name, view.obs, result)
            results = {json.dumps(v.doc, sort_keys=True) for v in views if v.doc is not None and v.doc.get("done")}
            assert len(results) <= 1, (name, results)

    def check_final_states(self) -> None:
        """Each live operation holds the model's state (in lockstep runs the model allows exactly one)."""
        open_outcomes = 0
        for name, script in self.scripts.items():
            handle = self.handles[name]
            if name in self.deleted:
                continue
            if script.kind == "polls":
                allowed = {script.final_poll_phase(self.polls[name])}
            else:
                allowed = script.phases(HORIZON, HORIZON, self.cancels.get(name), last=True)
            open_outcomes += len(allowed) > 1
            snapshot = handle.snapshot()
            phase = phase_of(snapshot)
            assert phase in allowed, (name, phase, allowed, script, self.cancels.get(name))
            assert snapshot == script.doc(phase), name
            done = [t for t in handle.history if t.done]
            assert len(done) == (1 if snapshot.get("done") else 0), (name, handle.history)
            if done and script.kind != "polls":
                when = (done[0].time - self.run.t0).total_seconds()
                if phase == "result":
                    assert when == script.t2, (name, when, script)
                else:
                    low, high = self.cancels[name]
                    assert low <= when <= high, (name, when, script)
        if self.run.lockstep:
            assert open_outcomes == 0

    def check_walks(self) -> None:
        walks: dict[str, list[Obs]] = defaultdict(list)
        for o in self.obs:
            if o.walk is not None:
                walks[o.walk].append(o)
        assert walks
        for walk, pages in walks.items():
            docs = [doc for page in pages for doc in page.answer.docs]
            numbers = [number(doc["name"]) for doc in docs]
            assert numbers == sorted(set(numbers)), (walk, numbers)
            matches = FILTERS[pages[0].filter_text]
            assert all(matches(doc) for doc in docs), walk
            missing = self._required(pages) - {doc["name"] for doc in docs}
            assert missing == set(), (walk, pages[0].filter_text, missing)

    def _required(self, pages: list[Obs]) -> set[str]:
        """The operations a walk must list: present before it began, never deleted, matching throughout."""
        filter_text, begin, start, end = pages[0].filter_text, pages[0].r0, pages[0].c0, pages[-1].c1
        required = set()
        for name, script in self.scripts.items():
            if name in self.deleted or (name in self.start_obs and self.start_obs[name].r1 >= begin):
                continue
            cancel = self.cancels.get(name)
            timed = script.kind != "polls"
            always = {"": True, 'metadata.value.kind = "polls"': script.kind == "polls",
                      "done = true": timed and script.t2 <= start,
                      "done = false": timed and script.t2 > end and (cancel is None or cancel[0] > end)}
            if always.get(filter_text, False):
                required.add(name)
        return required

    def check_starts(self) -> None:
        assert self.run.starter is not None
        names = [handle.name for handle in self.run.starter.operations]
        assert sorted(names, key=number) == sorted(self.start_obs, key=number)
        first = STATIC_OPERATIONS + 1
        assert sorted(map(number, names)) == list(range(first, first + len(names)))
        for name, o in self.start_obs.items():
            created = (self.handles[name].created - self.run.t0).total_seconds()
            assert o.c0 <= created <= o.c1, (name, created, o)

    def check_served_over_rest_as_modelled(self) -> None:
        """Last (its calls come after the log checks): each operation over the wire is its snapshot, or gone."""
        with requests.Session() as session:
            for name in self.scripts:
                expected = None if name in self.deleted else self.handles[name].snapshot()
                response = session.get(f"{self.emu.url}/v1/{name}", timeout=10)
                if expected is None:
                    assert response.status_code == 404, name
                else:
                    assert response.status_code == 200, response.text
                    assert response.json() == expected


# -- focused races --------------------------------------------------------------------------------------------


class Progress:
    """A count of steps other threads can wait on, instead of sleeping."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.count = 0
        self._changed = threading.Condition()

    def step(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def finish(self) -> None:
        with self._changed:
            self.count = self.total
            self._changed.notify_all()

    def gate(self, every: int) -> Callable[[], None]:
        """A wait for ``every`` more steps than at the previous wait (or for the last step)."""
        due = 0

        def wait() -> None:
            nonlocal due
            with self._changed:
                self._changed.wait_for(lambda: self.count >= min(due, self.total), timeout=GUARD)
                due = self.count + every

        return wait


def start_and_join(threads: list[threading.Thread]) -> None:
    """Start every thread, then wait for each at most ``GUARD`` seconds (the caller checks which are still alive)."""
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=GUARD)


STARTERS = 16


def read_grpc_target_at_once(emu: Emulator) -> tuple[list[str], list[str]]:
    """What ``STARTERS`` threads released together get from their first ``emu.grpc_target``: targets, errors."""
    go = threading.Barrier(STARTERS, timeout=GUARD)
    targets: list[str] = []
    errors: list[str] = []

    def read() -> None:
        try:
            go.wait()
            targets.append(emu.grpc_target)
        except BaseException as error:
            errors.append(repr(error))

    threads = [threading.Thread(target=read, daemon=True) for _ in range(STARTERS)]
    start_and_join(threads)
    return targets, errors
