"""Random sequences of calls against the emulator over loopback HTTP agree with a small reference model.

A hypothesis state machine drives the emulator and a model of the Operations API (plain Python, below, written from
the docs' rules) side by side: operations scripted through the control plane (pending, metadata steps, results at
a virtual time or after N polls, on-cancel behaviours) and the Python API (batches, results, metadata and cancel
behaviours on existing operations), clock moves and sets, get, paged and filtered lists with operations added between
pages, cancel, delete and wait with timeouts. After every step: done never reverts, a done operation holds exactly
its scripted result (or CANCELLED after an accepted cancel), deleted stays deleted, every operation's state and poll
count equal the model's, the call log holds every Operations call made, in order, with its rpc, name and status; each
finished listing returned every operation once, in creation order, and exactly the matching ones among those whose
match held still. Operations in the machine start with metadata when they merge keys into it; timelines that may
merge keys into unset metadata are checked by a property test of their own: refused when scripted exactly when
the merge would fire onto nothing, served without a fault otherwise; the last tests pin down the cases it found.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from lro_emulator import Emulator, ScriptError

from .helpers import STRUCT, merge_metadata

JSON = dict[str, Any]
CONTROL = "/_emulator/v1"
START = datetime(2030, 1, 1, tzinfo=timezone.utc)
PARENTS = ("projects/test-project/locations/global", "projects/test-project/locations/us-central1")
EVERY_PARENT = "projects/test-project/locations/-"
GHOST = f"{PARENTS[1]}/operations/ghost"
PROGRESS = "type.googleapis.com/lro.test.v1.Progress"
SUMMARY = "type.googleapis.com/lro.test.v1.Summary"
RESULT = "type.googleapis.com/lro.test.v1.Result"
EMPTY = {"@type": "type.googleapis.com/google.protobuf.Empty"}
ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
CODES = {"CANCELLED": 1, "NOT_FOUND": 5, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8, "FAILED_PRECONDITION": 9,
         "ABORTED": 10, "OUT_OF_RANGE": 11, "INTERNAL": 13}
NAMES = {number: name for name, number in CODES.items()}
HTTP_STATUS = {"OK": 200, "NOT_FOUND": 404, "PERMISSION_DENIED": 403, "FAILED_PRECONDITION": 400, "ABORTED": 409,
               "OUT_OF_RANGE": 400, "INVALID_ARGUMENT": 400}
CANCELLED = {"code": 1, "message": "The operation was cancelled."}
DEFAULT_WAIT_MS = 60_000
MAX_WAIT_MS = 86_400_000
DEFAULT_PAGE_SIZE = 50
GRID_MS = 250

FILTERS: dict[str, Callable[[JSON], bool]] = {
    "": lambda op: True,
    "done = true": lambda op: op.get("done") is True,
    "done = false": lambda op: "done" not in op,
    "error.code = 1": lambda op: op.get("error", {}).get("code") == 1,
    "error.code = NOT_FOUND": lambda op: op.get("error", {}).get("code") == 5,
    "error:*": lambda op: "error" in op,
    "done = true AND error.code != 1": lambda op: "error" in op and op["error"]["code"] != 1,
    'metadata.state = "RUNNING"': lambda op: (op.get("metadata") or {}).get("state") == "RUNNING",
    "metadata.percent >= 50": lambda op: (op.get("metadata") or {}).get("percent", -1) >= 50,
    'name = "*/m-*"': lambda op: "/m-" in op["name"],
}


# -- the reference model ------------------------------------------------------------------------------


def duration_ms(value: int | float | str) -> int:
    """Milliseconds of a scenario duration: seconds as a number, or a proto3 Duration string."""
    if isinstance(value, str):
        value = float(value.removesuffix("s"))
    return round(value * 1000)


def duration_text(ms: int) -> str:
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms // 1000}.{ms % 1000:03d}s"


def status_of(error: JSON) -> JSON:
    """The google.rpc.Status a scripted error is served as: numeric code, message and details when given."""
    code = error["code"]
    status: JSON = {"code": CODES[code] if isinstance(code, str) else code}
    if error.get("message"):
        status["message"] = error["message"]
    if error.get("details"):
        status["details"] = copy.deepcopy(error["details"])
    return status


def result_of(step: JSON) -> tuple[str, JSON] | None:
    """What a scenario step finishes the operation with: an error, a response, Empty for ``done`` alone, or None."""
    if "error" in step:
        return "error", status_of(step["error"])
    if "response" in step:
        return "response", copy.deepcopy(step["response"])
    if step.get("done"):
        return "response", dict(EMPTY)
    return None


def untyped_merge(spec: JSON) -> bool:
    """Whether a step of ``spec`` would merge keys into metadata that has no ``@type`` when it fires.

    The steps of such specs use one kind of trigger (or none), so they fire in a known order: by time (or poll
    count; no trigger is at creation), metadata before a result at the same instant, then as listed; none after done.
    """
    def firing(indexed: tuple[int, JSON]) -> tuple[int, bool, int]:
        index, step = indexed
        return duration_ms(step.get("at", step.get("afterPolls", 0))), result_of(step) is not None, index

    metadata = spec.get("metadata")
    for _, step in sorted(enumerate(spec.get("steps", [])), key=firing):
        update = step.get("metadata")
        if update is not None and "@type" not in update and metadata is None:
            return True
        metadata = merge_metadata(metadata, update)
        if result_of(step) is not None:
            return False
    return False


@dataclasses.dataclass
class Step:
    seq: int
    metadata: JSON | None = None
    result: tuple[str, JSON] | None = None
    due: int | None = None  # ms after the clock's start
    after_polls: int | None = None


@dataclasses.dataclass
class CancelPolicy:
    mode: str = "accept"
    after: int = 0
    code: str = "FAILED_PRECONDITION"
    message: str = "The operation cannot be cancelled."
    metadata: JSON | None = None


@dataclasses.dataclass
class ModelOperation:
    name: str
    seq: int
    created: int
    metadata: JSON | None
    result: tuple[str, JSON] | None = None
    polls: int = 0
    steps: list[Step] = dataclasses.field(default_factory=list)
    cancel: CancelPolicy = dataclasses.field(default_factory=CancelPolicy)
    cancel_requested: bool = False
    deleted: bool = False

    @property
    def parent(self) -> str:
        return self.name.rpartition("/operations/")[0]

    @property
    def done(self) -> bool:
        return self.result is not None

    def render(self) -> JSON:
        document: JSON = {"name": self.name}
        if self.metadata is not None:
            document["metadata"] = self.metadata
        if self.result is not None:
            document["done"] = True
            document[self.result[0]] = self.result[1]
        return document

    def schedule(self, step: Step, now: int) -> None:
        """A step whose poll count was already reached is due at once."""
        if step.after_polls is not None and step.after_polls <= self.polls:
            step.due, step.after_polls = now, None
        self.steps.append(step)

    def settle(self, now: int) -> None:
        due = [step for step in self.steps if step.due is not None and step.due <= now]
        self._fire(sorted(due, key=lambda step: (step.due, step.result is not None, step.seq)))

    def poll(self) -> None:
        self.polls += 1
        reached = [step for step in self.steps if step.after_polls is not None and step.after_polls <= self.polls]
        self._fire(sorted(reached, key=lambda step: (step.after_polls, step.result is not None, step.seq)))

    def next_due(self) -> int | None:
        return min((step.due for step in self.steps if step.due is not None), default=None)

    def _fire(self, steps: list[Step]) -> None:
        for step in steps:
            if self.done:
                return
            self.steps.remove(step)
            self.metadata = merge_metadata(self.metadata, step.metadata)
            if step.result is not None:
                self.result = step.result
                self.steps.clear()


class Model:
    """The Operations service as the docs describe it, on a clock counted in milliseconds from its start."""

    def __init__(self) -> None:
        self.now = 0
        self.operations: dict[str, ModelOperation] = {}
        self._seq = itertools.count(1)

    def live(self) -> list[ModelOperation]:
        return sorted((op for op in self.operations.values() if not op.deleted), key=lambda op: op.seq)

    def find(self, name: str) -> ModelOperation | None:
        op = self.operations.get(name)
        return None if op is None or op.deleted else op

    def next_seq(self) -> int:
        return next(self._seq)

    def advance_to(self, when: int) -> None:
        assert when >= self.now
        self.now = when
        for op in self.live():
            op.settle(when)

    def create(self, name: str, spec: JSON) -> ModelOperation:
        op = ModelOperation(name, self.next_seq(), self.now, copy.deepcopy(spec.get("metadata")))
        self.operations[name] = op
        for raw in spec.get("steps", []):
            step = Step(self.next_seq(), copy.deepcopy(raw.get("metadata")), result_of(raw))
            if "afterPolls" in raw:
                step.after_polls = raw["afterPolls"]
            else:
                step.due = self.now + duration_ms(raw.get("at", 0))
            op.schedule(step, self.now)
        cancel = spec.get("cancel")
        if cancel is not None:
            code = cancel.get("code", "FAILED_PRECONDITION")
            op.cancel = CancelPolicy(cancel.get("mode", "accept"), duration_ms(cancel.get("after", 0)),
                                     NAMES[code] if isinstance(code, int) else code,
                                     cancel.get("message", CancelPolicy.message), copy.deepcopy(cancel.get("metadata")))
        op.settle(self.now)
        return op

    def list_page(self, parent: str, text: str, size: int, after: int) -> tuple[list[ModelOperation], bool]:
        matches = [op for op in self.live()
                   if op.seq > after and covers(parent, op) and FILTERS[text](op.render())]
        limit = size or DEFAULT_PAGE_SIZE
        return matches[:limit], len(matches) > limit

    def cancel(self, op: ModelOperation) -> str:
        """The code CancelOperation answers; an accepted cancel becomes done with CANCELLED after its delay."""
        if op.done or op.cancel.mode == "ignore":
            return "OK"
        if op.cancel.mode == "refuse":
            return op.cancel.code
        if not op.cancel_requested:
            op.cancel_requested = True
            op.steps.append(Step(self.next_seq(), copy.deepcopy(op.cancel.metadata), ("error", dict(CANCELLED)),
                                 due=self.now + op.cancel.after))
            op.settle(self.now)
        return "OK"

    def wait(self, op: ModelOperation, timeout: int | None) -> JSON:
        """Moves the clock to each next step of ``op`` until it is done, or to the deadline; counts a poll."""
        deadline = self.now + min(DEFAULT_WAIT_MS if timeout is None else timeout, MAX_WAIT_MS)
        while not op.done:
            due = op.next_due()
            if due is None or due > deadline:
                self.advance_to(deadline)
                break
            self.advance_to(due)
        document = op.render()
        op.poll()
        return document


def covers(parent: str, op: ModelOperation) -> bool:
    return op.parent == parent or (parent == EVERY_PARENT and op.parent in PARENTS)


# -- strategies ---------------------------------------------------------------------------------------

states = st.sampled_from(["PENDING", "RUNNING", "FINISHING"])
percents = st.sampled_from([0, 49, 50, 51, 100])
merges = st.fixed_dictionaries({}, optional={
    "state": states, "percent": percents, "stage": st.one_of(st.none(), st.sampled_from(["copy", "index"])),
}).filter(bool)
replacements = st.one_of(
    st.fixed_dictionaries({"@type": st.just(SUMMARY), "state": states, "items": st.integers(0, 9)}),
    st.fixed_dictionaries({"@type": st.just(PROGRESS), "state": states, "percent": percents}),
)
initial_metadata = st.fixed_dictionaries({"@type": st.just(PROGRESS), "state": st.just("PENDING"),
                                          "percent": percents}, optional={"stage": st.just("copy")})
codes = st.sampled_from(sorted(CODES)).flatmap(lambda name: st.sampled_from([name, CODES[name]]))
errors = st.fixed_dictionaries({"code": codes}, optional={
    "message": st.sampled_from(["Quota exceeded.", "The export failed."]),
    "details": st.just([{"@type": ERROR_INFO, "reason": "QUOTA_EXCEEDED", "domain": "example.com",
                         "metadata": {"zone": "a"}}]),
})
responses = st.one_of(
    st.fixed_dictionaries({"@type": st.just(RESULT), "rows": st.integers(0, 1000)}),
    st.fixed_dictionaries({"@type": st.just(STRUCT), "value": st.fixed_dictionaries({"rows": st.integers(0, 9),
                                                                                     "ok": st.booleans()})}),
)
results = st.one_of(
    st.fixed_dictionaries({"response": responses}, optional={"done": st.just(True)}),
    st.just({"done": True}),
    st.fixed_dictionaries({"error": errors}, optional={"done": st.just(True)}),
)
grid_ms = st.integers(0, 480).map(lambda n: n * GRID_MS)
listed_parents = st.sampled_from([*PARENTS, EVERY_PARENT])
filters = st.sampled_from(["", "done = false", "metadata.percent >= 50"]) | st.sampled_from(sorted(FILTERS))


@st.composite
def durations(draw: st.DrawFn, ms: int) -> int | float | str:
    """One JSON form of ``ms``: a Duration string, or seconds as a number."""
    forms: list[int | float | str] = [duration_text(ms), ms / 1000]
    if ms % 1000 == 0:
        forms.append(ms // 1000)
    return draw(st.sampled_from(forms))


@st.composite
def operation_specs(draw: st.DrawFn, untyped_start: bool) -> JSON:
    """A scenario operation: metadata, up to three metadata steps, maybe a result, maybe a cancel behaviour.

    Steps of one operation use one kind of trigger (``at`` or ``afterPolls``, or none: at creation), except that a
    pending operation that starts with metadata may mix them. Metadata steps come no later than the result.
    Unless ``untyped_start``, an operation that scripts metadata steps starts with metadata.
    """
    drawn = draw(st.none() | results)
    result = None if drawn is None else {**drawn}
    updates = draw(st.lists(merges | replacements, max_size=3))
    with_metadata = draw(st.booleans()) if untyped_start or not updates else True
    if result is not None and draw(st.integers(0, 3)) == 0:
        result["metadata"] = draw(merges | replacements if with_metadata or untyped_start else replacements)
    spec: JSON = {}
    if with_metadata:
        spec["metadata"] = draw(initial_metadata)
    kinds = ["at", "afterPolls", "none"]
    mixed = result is None and with_metadata
    kind = draw(st.sampled_from(kinds))
    last = None if result is None else 0 if kind == "none" else draw(grid_ms if kind == "at" else st.integers(0, 5))

    def trigger(step: JSON, terminal: bool) -> JSON:
        step_kind = draw(st.sampled_from(kinds)) if mixed else kind
        if step_kind != "none" and not terminal and draw(st.integers(0, 4)) == 0:
            step_kind = "none"
        if step_kind == "at":
            ms = last if terminal else draw(grid_ms if last is None else st.integers(0, last // GRID_MS).map(
                lambda n: n * GRID_MS))
            step["at"] = draw(durations(ms))
        elif step_kind == "afterPolls":
            step["afterPolls"] = last if terminal else draw(st.integers(0, 5 if last is None else last))
        return step

    steps = [trigger({"metadata": update}, False) for update in updates]
    if result is not None:
        steps.append(trigger(result, True))
    if steps:
        steps = draw(st.permutations(steps))
        if result is not None and not last:
            # Scripted in list order: a result due at creation has fired before the steps listed after it.
            steps.remove(result)
            steps.append(result)
        spec["steps"] = steps
    cancel = draw(st.one_of(
        st.none(),
        st.just({}),
        st.fixed_dictionaries({"mode": st.just("accept")}, optional={
            "after": st.integers(0, 240).map(lambda n: n * GRID_MS).flatmap(durations),
            "metadata": merges if with_metadata else replacements,
        }),
        st.just({"mode": "ignore"}),
        st.fixed_dictionaries({
            "mode": st.just("refuse"),
            "code": st.sampled_from(["FAILED_PRECONDITION", "ABORTED", 7, 11]),
            "message": st.sampled_from(["Exports cannot be cancelled.", "Too late."]),
        }),
    ))
    if cancel is not None:
        spec["cancel"] = cancel
    return spec


typed_specs = operation_specs(untyped_start=False)


# -- the machine --------------------------------------------------------------------------------------


@dataclasses.dataclass
class Listing:
    """A paged listing in progress: where it resumes, what it listed, and each operation's match at every step."""

    parent: str
    filter: str
    size: int
    after: int = 0
    token: str | None = None
    listed: list[str] = dataclasses.field(default_factory=list)
    matches: dict[str, set[bool | None]] = dataclasses.field(default_factory=dict)


class OperationsMachine(RuleBasedStateMachine):
    def __init__(self, emu: Emulator, http: requests.Session) -> None:
        super().__init__()
        emu.reset()
        assert emu.clock.now() == START
        self.emu = emu
        self.http = http
        self.model = Model()
        self.names = itertools.count(1)
        self.expected_calls: list[tuple[str, str, str, int, str]] = []
        self.first_done: dict[str, JSON] = {}
        self.scripted: dict[str, tuple[str, JSON]] = {}
        self.cancel_accepted: set[str] = set()
        self.listings: list[Listing] = []

    # -- wire helpers --------------------------------------------------------------------------------

    def _call(self, rpc: str, method: str, path: str, name: str, code: str, **kwargs: Any) -> requests.Response:
        """One Operations call; asserts the status the model expects and notes the call the log must hold."""
        response = self.http.request(method, self.emu.url + path, timeout=10, **kwargs)
        status = HTTP_STATUS[code]
        assert response.status_code == status, (rpc, name, response.text)
        if code != "OK":
            error = response.json()["error"]
            assert (error["code"], error["status"]) == (status, code), error
        self.expected_calls.append((rpc, method, name, status, code))
        return response

    def _control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.emu.url + CONTROL + path, timeout=10, **kwargs)

    def _observe(self, document: JSON) -> None:
        """Done never reverts: every answer for an operation once seen done is that same done operation."""
        name = document["name"]
        if name in self.first_done:
            assert document == self.first_done[name], f"{name} reverted from {self.first_done[name]} to {document}"
        elif document.get("done"):
            self.first_done[name] = copy.deepcopy(document)

    def _pick(self, data: st.DataObject, candidates: list[str], label: str) -> str:
        return data.draw(st.sampled_from(candidates), label=label)

    def _any_name(self, data: st.DataObject) -> str:
        """An operation created so far (running, done or deleted, in that order of preference), or a ghost."""
        ops = self.model.operations.values()
        ranked = sorted(ops, key=lambda op: (op.deleted, op.done, op.seq))
        return self._pick(data, [*(op.name for op in ranked), GHOST], "name")

    # -- scripting -----------------------------------------------------------------------------------

    def _create(self, spec: JSON, parent: str, named: bool) -> None:
        body = dict(spec)
        if named:
            body["name"] = f"{parent}/operations/m-{next(self.names)}"
        else:
            body["parent"] = parent
        response = self._control("POST", "/operations", json=body)
        if untyped_merge(spec):
            assert response.status_code == 400, f"a merge onto unset metadata was accepted: {response.text}"
            assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
            return
        assert response.status_code == 200, response.text
        document = response.json()
        name = document["name"]
        if named:
            assert name == body["name"]
        else:
            assert name.startswith(f"{parent}/operations/"), name
            assert name not in self.model.operations, name
        op = self.model.create(name, spec)
        result = next((result_of(step) for step in spec.get("steps", []) if result_of(step)), None)
        if result is not None:
            self.scripted[name] = result
        self._observe(document)
        assert document == op.render()

    @initialize(operations=st.lists(st.tuples(typed_specs, st.sampled_from(PARENTS), st.booleans()), min_size=3,
                                    max_size=10),
                parent=listed_parents, text=filters, size=st.sampled_from([1, 2]))
    def create_operations_and_open_a_listing(
        self, operations: list[tuple[JSON, str, bool]], parent: str, text: str, size: int
    ) -> None:
        for spec, op_parent, named in operations:
            self._create(spec, op_parent, named)
        self.start_listing(parent, text, size)

    @rule(spec=typed_specs, parent=st.sampled_from(PARENTS), named=st.booleans())
    def create_operation(self, spec: JSON, parent: str, named: bool) -> None:
        self._create(spec, parent, named)

    @rule(parent=st.sampled_from(PARENTS), count=st.integers(8, 14), metadata=st.none() | initial_metadata)
    def create_a_batch_through_python(self, parent: str, count: int, metadata: JSON | None) -> None:
        """Names generated under the parent; enough operations that a default page (50) and a small one differ."""
        for _ in range(count):
            name = self.emu.add_operation(metadata=metadata, parent=parent).name
            assert name.startswith(f"{parent}/operations/"), name
            assert name not in self.model.operations, name
            self.model.create(name, {} if metadata is None else {"metadata": metadata})

    @precondition(lambda self: self.listings)
    @rule(data=st.data())
    def create_operations_while_listing(self, data: st.DataObject) -> None:
        listing = data.draw(st.sampled_from(self.listings), label="listing")
        parents = PARENTS if listing.parent == EVERY_PARENT else (listing.parent,)
        for _ in range(data.draw(st.integers(1, 3), label="count")):
            spec = data.draw(typed_specs, label="operation")
            self._create(spec, data.draw(st.sampled_from(parents), label="parent"), data.draw(st.booleans()))

    def _finishable(self) -> list[str]:
        """Running operations with nothing scripted but (maybe) an accepted cancel's step."""
        return [op.name for op in self.model.live()
                if not op.done and op.name not in self.scripted
                and all(step.result == ("error", CANCELLED) for step in op.steps)]

    @precondition(lambda self: self._finishable())
    @rule(data=st.data())
    def script_a_result_through_python(self, data: st.DataObject) -> None:
        op = self.model.operations[self._pick(data, self._finishable(), "name")]
        result = data.draw(results, label="result")
        when = data.draw(st.sampled_from(["now", "at", "after_polls"]), label="trigger")
        step = Step(self.model.next_seq(), result=result_of(result))
        trigger: JSON = {}
        if when == "at":
            ms = self.model.now - op.created + data.draw(grid_ms, label="later")
            trigger["at"], step.due = ms / 1000, op.created + ms
        elif when == "after_polls":
            trigger["after_polls"] = step.after_polls = data.draw(st.integers(0, 4), label="polls")
        else:
            step.due = self.model.now
        handle = self.emu.operation(op.name)
        if "error" in result:
            error = result["error"]
            handle.fail(error["code"], error.get("message", ""), details=error.get("details", ()), **trigger)
        else:
            handle.succeed(result.get("response"), **trigger)
        assert step.result is not None
        self.scripted[op.name] = step.result
        op.schedule(step, self.model.now)
        op.settle(self.model.now)

    @precondition(lambda self: any(not op.done for op in self.model.live()))
    @rule(data=st.data())
    def update_metadata_now_through_python(self, data: st.DataObject) -> None:
        op = self.model.operations[self._pick(data, [op.name for op in self.model.live() if not op.done], "name")]
        # A merge onto unset metadata must be refused; with metadata still to come in a pending step, see the
        # scripting test below.
        quiet = all(step.metadata is None for step in op.steps)
        update = data.draw(merges | replacements if op.metadata is not None or quiet else replacements,
                           label="metadata")
        handle = self.emu.operation(op.name)
        if "@type" not in update and op.metadata is None:
            with pytest.raises(ScriptError):
                handle.update(metadata=update)
            return
        handle.update(metadata=update)
        op.schedule(Step(self.model.next_seq(), metadata=update, due=self.model.now), self.model.now)
        op.settle(self.model.now)

    @precondition(lambda self: any(not op.done for op in self.model.live()))
    @rule(data=st.data(), mode=st.sampled_from(["accept", "ignore", "refuse"]))
    def change_the_cancel_behaviour_through_python(self, data: st.DataObject, mode: str) -> None:
        op = self.model.operations[self._pick(data, [op.name for op in self.model.live() if not op.done], "name")]
        policy = CancelPolicy(mode)
        options: JSON = {}
        if mode == "accept":
            policy.after = data.draw(st.integers(0, 240), label="after") * GRID_MS
            options["after"] = policy.after / 1000
            if data.draw(st.booleans(), label="with metadata"):
                policy.metadata = options["metadata"] = data.draw(
                    merges if op.metadata is not None else replacements, label="metadata")
        elif mode == "refuse":
            policy.code = options["code"] = data.draw(st.sampled_from(["ABORTED", "PERMISSION_DENIED"]), label="code")
            policy.message = options["message"] = "Not now."
        self.emu.operation(op.name).on_cancel(mode, **options)
        op.cancel = policy

    # -- the clock -----------------------------------------------------------------------------------

    @rule(ms=st.one_of(grid_ms, st.sampled_from([1, 3_600_000])))
    def advance_the_clock(self, ms: int) -> None:
        response = self._control("POST", "/clock:advance", json={"duration": duration_text(ms)})
        assert response.status_code == 200, response.text
        self.model.advance_to(self.model.now + ms)
        assert response.json() == {"time": self._timestamp(self.model.now)}

    @rule(ms=st.integers(-8, 240).map(lambda n: n * GRID_MS))
    def set_the_clock(self, ms: int) -> None:
        """The clock never moves back: setting it earlier is FAILED_PRECONDITION and changes nothing."""
        response = self._control("POST", "/clock:set", json={"time": self._timestamp(self.model.now + ms)})
        if ms < 0:
            assert response.status_code == 400, response.text
            assert response.json()["error"]["status"] == "FAILED_PRECONDITION"
            return
        assert response.status_code == 200, response.text
        self.model.advance_to(self.model.now + ms)
        assert response.json() == {"time": self._timestamp(self.model.now)}

    @staticmethod
    def _timestamp(ms: int) -> str:
        return (START + timedelta(milliseconds=ms)).isoformat().replace("+00:00", "Z")

    # -- the five RPCs -------------------------------------------------------------------------------

    @rule(data=st.data())
    def get(self, data: st.DataObject) -> None:
        name = self._any_name(data)
        op = self.model.find(name)
        response = self._call("GetOperation", "GET", f"/v1/{name}", name, "OK" if op else "NOT_FOUND")
        if op is not None:
            expected = op.render()
            op.poll()
            self._observe(response.json())
            assert response.json() == expected

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        name = self._any_name(data)
        op = self.model.find(name)
        body = data.draw(st.sampled_from([None, {}]), label="body")
        if op is None:
            self._call("CancelOperation", "POST", f"/v1/{name}:cancel", name, "NOT_FOUND", json=body)
            return
        accepted = not op.done and op.cancel.mode == "accept"
        code = self.model.cancel(op)
        response = self._call("CancelOperation", "POST", f"/v1/{name}:cancel", name, code, json=body)
        if code == "OK":
            assert response.json() == {}
        else:
            assert response.json()["error"]["message"] == op.cancel.message
        if accepted:
            self.cancel_accepted.add(name)

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        name = self._any_name(data)
        op = self.model.find(name)
        response = self._call("DeleteOperation", "DELETE", f"/v1/{name}", name, "OK" if op else "NOT_FOUND")
        if op is not None:
            op.deleted = True
            assert response.json() == {}

    @rule(data=st.data(), timeout=st.sampled_from([None, 0, 500, 2_000, 30_000, 90_000, 3_600_000, 172_800_000]),
          where=st.sampled_from(["body", "query"]))
    def wait(self, data: st.DataObject, timeout: int | None, where: str) -> None:
        name = self._any_name(data)
        op = self.model.find(name)
        options: JSON = {}
        if timeout is not None:
            options = {"json": {"timeout": duration_text(timeout)}} if where == "body" else {
                "params": {"timeout": duration_text(timeout)}}
        if op is None:
            self._call("WaitOperation", "POST", f"/v1/{name}:wait", name, "NOT_FOUND", **options)
            return
        expected = self.model.wait(op, timeout)
        response = self._call("WaitOperation", "POST", f"/v1/{name}:wait", name, "OK", **options)
        self._observe(response.json())
        assert response.json() == expected

    # -- listing -------------------------------------------------------------------------------------

    def _sample(self, listing: Listing) -> None:
        for op in self.model.operations.values():
            if covers(listing.parent, op):
                listing.matches.setdefault(op.name, set()).add(None if op.deleted else FILTERS[listing.filter](
                    op.render()))

    def _next_page(self, listing: Listing) -> None:
        expected, more = self.model.list_page(listing.parent, listing.filter, listing.size, listing.after)
        params: JSON = {}
        if listing.filter:
            params["filter"] = listing.filter
        if listing.size:
            params["pageSize"] = listing.size
        if listing.token:
            params["pageToken"] = listing.token
        response = self._call("ListOperations", "GET", f"/v1/{listing.parent}/operations", listing.parent, "OK",
                              params=params)
        page = response.json()
        for document in page.get("operations", []):
            self._observe(document)
        assert page.get("operations", []) == [op.render() for op in expected], listing
        assert ("nextPageToken" in page) == more, page.get("nextPageToken")
        assert set(page) <= {"operations", "nextPageToken"}
        listing.listed += [op.name for op in expected]
        listing.after = expected[-1].seq if expected else listing.after
        listing.token = page.get("nextPageToken")
        if listing.token is None:
            self._finish(listing)
        elif listing not in self.listings:
            self.listings.append(listing)

    def _finish(self, listing: Listing) -> None:
        """Each operation listed once; those whose match held still (and were never deleted) listed iff they match."""
        self._sample(listing)
        if listing in self.listings:
            self.listings.remove(listing)
        listed = listing.listed
        assert len(listed) == len(set(listed)), f"listed twice: {listed}"
        order = [self.model.operations[name].seq for name in listed]
        assert order == sorted(order), f"not in creation order: {listed}"
        steady = {name: values.pop() for name, values in listing.matches.items() if len(values) == 1}
        assert {name for name, match in steady.items() if match} <= set(listed), (listing, steady)
        assert not {name for name, match in steady.items() if match is not True} & set(listed), (listing, steady)

    @precondition(lambda self: len(self.listings) < 3)
    @rule(parent=listed_parents, text=filters, size=st.sampled_from([1, 2, 3, 5, 0]))
    def start_listing(self, parent: str, text: str, size: int) -> None:
        listing = Listing(parent, text, size)
        self._sample(listing)
        self._next_page(listing)

    @precondition(lambda self: self.listings)
    @rule(data=st.data())
    def continue_listing(self, data: st.DataObject) -> None:
        self._next_page(data.draw(st.sampled_from(self.listings), label="listing"))

    @precondition(lambda self: self.listings)
    @rule(data=st.data())
    def a_page_token_does_not_serve_another_filter(self, data: st.DataObject) -> None:
        listing = data.draw(st.sampled_from(self.listings), label="listing")
        other = data.draw(st.sampled_from([text for text in FILTERS if text != listing.filter]), label="filter")
        params = {"pageToken": listing.token, **({"filter": other} if other else {})}
        self._call("ListOperations", "GET", f"/v1/{listing.parent}/operations", listing.parent, "INVALID_ARGUMENT",
                   params=params)

    # -- after every step ----------------------------------------------------------------------------

    @invariant()
    def sample_open_listings(self) -> None:
        for listing in self.listings:
            self._sample(listing)

    @invariant()
    def every_operation_is_as_the_model_says(self) -> None:
        live = self.model.live()
        assert [handle.name for handle in self.emu.operations] == [op.name for op in live]
        for op in live:
            handle = self.emu.operation(op.name)
            snapshot = handle.snapshot()
            self._observe(snapshot)
            assert snapshot == op.render(), op.name
            assert handle.polls == op.polls, op.name

    @invariant()
    def a_done_operation_holds_its_scripted_result(self) -> None:
        for op in self.model.live():
            document = self.emu.operation(op.name).snapshot()
            if not document.get("done"):
                continue
            result = ("error", document["error"]) if "error" in document else ("response", document["response"])
            allowed = [self.scripted.get(op.name)]
            if op.name in self.cancel_accepted:
                allowed.append(("error", CANCELLED))
            assert result in allowed, (op.name, result, allowed)

    @invariant()
    def done_never_reverts(self) -> None:
        for name, document in self.first_done.items():
            if self.model.find(name) is not None:
                assert self.emu.operation(name).snapshot() == document

    @invariant()
    def deleted_stays_deleted(self) -> None:
        live = {handle.name for handle in self.emu.operations}
        for op in self.model.operations.values():
            if op.deleted:
                assert op.name not in live
                with pytest.raises(KeyError):
                    self.emu.operation(op.name)

    @invariant()
    def the_call_log_holds_every_call_in_order(self) -> None:
        logged = [(call.rpc, call.method, call.name, call.status, call.code) for call in self.emu.calls]
        assert logged == self.expected_calls

    @invariant()
    def the_clock_and_the_emulator_are_sound(self) -> None:
        assert self.emu.clock.now() == START + timedelta(milliseconds=self.model.now)
        assert self.emu.problems == []

    def teardown(self) -> None:
        """The control plane's view at the end: the same call log, clock and operation count."""
        response = self._control("GET", "/calls", params={"since": 0})
        assert response.status_code == 200, response.text
        log = response.json()
        logged = [(call.get("rpc"), call["method"], call.get("name"), call["status"], call["code"])
                  for call in log.get("calls", [])]
        assert logged == self.expected_calls
        assert log["next"] == len(self.expected_calls)
        status = self._control("GET", "").json()
        assert (status["time"], status["operations"]) == (self._timestamp(self.model.now), len(self.model.live()))


# No explain phase: it replays a failing example many more times, each a series of HTTP round trips.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink]
SETTINGS = settings(database=None, deadline=None, derandomize=True, max_examples=60, stateful_step_count=50,
                    phases=PHASES, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


def test_random_call_sequences_agree_with_the_model(emulator: Emulator, session: requests.Session) -> None:
    run_state_machine_as_test(lambda: OperationsMachine(emulator, session), settings=SETTINGS)


@settings(database=None, deadline=None, derandomize=True, max_examples=120, phases=PHASES)
@given(spec=operation_specs(untyped_start=True), merge=merges)
def test_scripting_refuses_exactly_the_timelines_that_would_serve_metadata_without_a_type(
    emulator: Emulator, session: requests.Session, spec: JSON, merge: JSON
) -> None:
    """The docs: a payload that violates the schema raises where it is scripted; merging keys into unset metadata
    would serve metadata without ``@type``. Whether it does depends on the order the steps fire in, not the order
    they are listed in. Each accepted timeline is then polled through every step: no answer may fail.
    """
    emulator.reset()
    model = Model()
    name = f"{PARENTS[0]}/operations/timeline"
    response = session.post(f"{emulator.url}{CONTROL}/operations", json={"name": name, **spec}, timeout=10)
    if untyped_merge(spec):
        assert response.status_code == 400, f"a merge onto unset metadata was accepted: {response.text}"
        assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
        assert emulator.operations == []
        return
    assert response.status_code == 200, response.text
    op = model.create(name, spec)
    assert response.json() == op.render()
    if not op.done and op.metadata is None:
        with pytest.raises(ScriptError):
            emulator.operation(name).update(metadata=merge)
    for _ in range(7):
        answer = session.get(f"{emulator.url}/v1/{name}", timeout=10)
        expected = op.render()
        op.poll()
        assert (answer.status_code, answer.json()) == (200, expected)
        moved = session.post(f"{emulator.url}{CONTROL}/clock:advance", json={"duration": "20s"}, timeout=10)
        assert moved.status_code == 200, moved.text
        model.advance_to(model.now + 20_000)
    assert emulator.problems == []


UNTYPED_MERGES = [
    pytest.param([{"at": 60, "metadata": {"@type": SUMMARY, "items": 1}}, {"metadata": {"state": "RUNNING"}}],
                 None, id="a-merge-at-creation-before-a-replacement-at-60s-is-refused"),
    pytest.param([{"at": 10, "metadata": {"state": "RUNNING"}}, {"metadata": {"@type": SUMMARY, "items": 1}}],
                 {"@type": SUMMARY, "items": 1, "state": "RUNNING"},
                 id="a-merge-at-10s-after-a-replacement-at-creation-is-served"),
]


@pytest.mark.parametrize(("steps", "at_10s"), UNTYPED_MERGES)
def test_a_scenario_merge_is_checked_against_the_metadata_it_fires_onto(
    emulator: Emulator, session: requests.Session, steps: list[JSON], at_10s: JSON | None
) -> None:
    emulator.reset()
    name = f"{PARENTS[0]}/operations/timeline"
    response = session.post(f"{emulator.url}{CONTROL}/operations", json={"name": name, "steps": steps}, timeout=10)
    if at_10s is None:
        assert response.status_code == 400, response.text
        assert emulator.operations == []
        return
    assert response.status_code == 200, response.text
    emulator.clock.advance(10)
    answer = session.get(f"{emulator.url}/v1/{name}", timeout=10)
    assert (answer.status_code, answer.json()) == (200, {"name": name, "metadata": at_10s})


def test_a_merge_now_onto_unset_metadata_is_refused_though_a_replacement_is_pending(emulator: Emulator) -> None:
    emulator.reset()
    op = emulator.add_operation(f"{PARENTS[0]}/operations/timeline").update(metadata={"@type": SUMMARY}, at=60)
    with pytest.raises(ScriptError):
        op.update(metadata={"state": "RUNNING"})
    assert op.snapshot() == {"name": op.name}
