"""Everything one emulated service holds: clock, store, call log, profile; replaced whole on reset."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ..wire.codes import Code
from ..wire.errors import OperationNotFound, ScriptError, StatusError
from ..wire.methods import MethodInfo, resolve_method
from ..wire.profiles import Profile, get_profile
from ..wire.protobuf import message_class, pack_problem
from ..wire.routes import RESERVED_PREFIXES
from ..wire.validation import Schemas, SchemaViolation
from .auth import AuthPolicy
from .calls import Call, CallList
from .clock import Pacing, VirtualClock
from .faults import FaultPlan
from .handle import OperationHandle, OperationList, Payload, checked_payload
from .operations import OperationsService
from .starts import HttpRule, ParentOf, Script, Starter, StartRequest, StartTable, parse_grpc_method
from .store import OperationStore
from .tenure import Tenure
from .timeline import DeclaredTypes, cancel_step

__all__ = ["CACHE_ENTRIES", "ENCODING_CACHE_BYTES", "BoundedCache", "EmulatorState"]

#: How many entries each transport memo holds before starting over, and the largest encoded Operation the transports'
#: encoding memos keep (the rare huge one is encoded anew each time rather than held).
CACHE_ENTRIES = 4096
ENCODING_CACHE_BYTES = 65536


class BoundedCache(dict[Any, Any]):
    """A memo of at most ``entries`` values, emptied when full (a poll's working set refills it at once).

    Read it with ``get`` (a dict's own: every poll reads two or three memos), write it with `put`.
    """

    def __init__(self, entries: int) -> None:
        super().__init__()
        self._entries = entries

    def put(self, key: Any, value: Any) -> None:
        """Remember ``value`` for ``key``."""
        if len(self) >= self._entries:
            self.clear()
        self[key] = value


class _Memos(dict[str, BoundedCache]):
    """Memos by name, each a `BoundedCache` of `CACHE_ENTRIES` made when first asked for.

    A dict with ``__missing__``: every call reads a memo or two, and finding one costs no Python frame.
    """

    def __missing__(self, name: str) -> BoundedCache:
        return self.setdefault(name, BoundedCache(CACHE_ENTRIES))


#: How many problems a state keeps; a server that keeps answering wrongly does not grow without bound.
MAX_PROBLEMS = 1000


class _BoundedList(list):  # type: ignore[type-arg]
    """A list that keeps its last ``limit`` items: `append` drops the oldest."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def append(self, item: object) -> None:
        super().append(item)
        if len(self) > self.limit:
            del self[: len(self) - self.limit]


class EmulatorState:
    """The mutable half of an emulator. Transports read it through the emulator and keep none of their own."""

    def __init__(
        self,
        *,
        clock: VirtualClock,
        profile: str | Profile,
        schemas: Schemas,
        pacing: Pacing | None = None,
        on_call: Callable[[Call], None] | None = None,
        seed: object = 0,
        max_calls: int | None = None,
        label: str | None = None,
    ) -> None:
        self.profile = get_profile(profile)
        #: How long its handles may be used: until the test ``label`` names ends, or a reset replaces the state.
        self.tenure = Tenure(label)
        self.clock = clock
        self.lock = self.clock.lock
        self.schemas = schemas
        self.store = OperationStore()
        self.calls = CallList(listener=on_call, max_calls=max_calls)
        #: Schema violations in responses and emulator failures: each must fail the test that caused it. Bounded
        #: like the call log: past `MAX_PROBLEMS` the oldest go (a test fails at its first anyway).
        self.problems: list[Exception] = _BoundedList(MAX_PROBLEMS)
        self.reported = 0  # how many of the problems `Emulator.check` has already raised
        self.starts = StartTable(self.tenure)
        #: The scripted faults; their dice are seeded from ``seed`` (the fixture's ``seed`` option).
        self.faults = FaultPlan(seed, self.tenure)
        #: The credentials calls must carry, or None when the emulator does not check (the default).
        self.auth: AuthPolicy | None = None
        self.pacing = pacing
        #: Whether scripted payloads must pack into protobuf messages (set once gRPC serves this state).
        self.typed = False
        # What the transports remember between calls (matched routes, encoded answers): built from this
        # state, so they go with it on reset.
        #: The transports' memos by name (``state.memos["rest.encodings"]``, made on first use), which live as
        #: long as this state: a reset forgets them.
        self.memos = _Memos()
        self.service = OperationsService(
            store=self.store,
            clock=self.clock,
            profile=self.profile,
            schemas=schemas,
            on_violation=self.problems.append,
            pacing=pacing,
        )

    @property
    def epoch(self) -> int:
        """The clock's epoch this state lives in (`VirtualClock.epoch`), set as the emulator takes the state on."""
        return self.service.epoch

    @epoch.setter
    def epoch(self, value: int) -> None:
        self.service.epoch = value

    @property
    def in_force(self) -> bool:
        """Whether this is still the emulator's state (no reset has started the clock over since it was taken on)."""
        return self.clock.epoch == self.service.epoch

    def add_operation(
        self, name: str | None = None, metadata: Payload | None = None, *, parent: str | None = None
    ) -> OperationHandle:
        """Create a pending operation (see `Emulator.add_operation`)."""
        __tracebackhide__ = True
        profile = self.profile
        if name is not None and parent is not None:
            raise ScriptError("give an operation name or a parent to generate one under, not both")
        if name is not None:
            if not isinstance(name, str) or not profile.accepts_name(name):
                raise ScriptError(
                    f"{name!r} is not an operation name the {profile.name} profile serves; "
                    f"use a name like {profile.spell_names()}",
                    pointer="/name",
                )
        else:
            collection = profile.default_parent if parent is None else parent
            problem = self.parent_problem(collection)
            if problem:
                raise ScriptError(problem, pointer="" if parent is None else "/parent")
        payload = None if metadata is None else checked_payload(self, "any", metadata, "/metadata")
        with self.lock:
            if self.typed and payload is not None:  # before a name is generated or the store holds it
                label = name or f"new under {collection}"
                self.check_packs({"name": label, "metadata": payload}, label)
            if name is None:
                name = self.store.new_name(collection)
            record = self.store.add(name, self.clock.now(), payload)
        return OperationHandle(self, record)

    def parent_problem(self, parent: object) -> str | None:
        """Why operations cannot be created under ``parent``, or None."""
        profile = self.profile
        wildcard = isinstance(parent, str) and "-" in parent.split("/")
        if not isinstance(parent, str) or not profile.accepts_parent(parent) or wildcard:
            return (f"{parent!r} is not a collection of the {profile.name} profile; "
                    f"use a parent like {profile.spell_parents()}")
        return None

    # -- starting methods ------------------------------------------------------------------------

    def start(self, starter: Starter, request: StartRequest) -> dict[str, Any]:
        """Serve one call of a starting method: a new operation, scripted; its Operation JSON.

        A script that raises `StatusError` makes the call fail with it; any other exception is a bug
        of the test, answered INTERNAL and recorded as a problem. Either way the operation is not
        created (what the script did to other operations or the clock stays done).
        """
        parent = self._parent_of(starter, request)
        field = starter.parent if isinstance(starter.parent, str) else "parent"
        if starter.nearest_collection and isinstance(parent, str):
            parent = self._nearest_collection(parent)
        if parent in (None, "") and starter.method is not None:
            # A binding of the service's own that binds no parent (Vertex AI's POST /v1/datasets): the service
            # decides where the operation goes, and the profile's default collection stands for it.
            parent = self.profile.default_parent
        if parent is None:
            raise StatusError.bad_request(f"the request has no {field} field: it names the collection the operation is "
                                       "created in", field=field, reason="INVALID_PARENT")
        problem = self.parent_problem(parent)
        if problem:
            raise StatusError.bad_request(f"the request's parent: {problem}", field=field, reason="INVALID_PARENT")
        assert isinstance(parent, str)  # parent_problem accepts strings only
        request = dataclasses.replace(request, parent=parent)
        with self.lock:
            mark = self.store.checkpoint()
            record = self.store.add(self.store.new_name(parent), self.clock.now(), None)
            if starter.method is not None:
                record.declared = DeclaredTypes(starter.method, starter.response_type, starter.metadata_type)
            operation = OperationHandle(self, record)
            try:
                if starter.script is not None:
                    starter.script(operation, request)
                record.settle(self.clock.now())
                document = self.service.render(record)
                if request.transport == "grpc" or self.typed:
                    self.check_packs(document, record.name)
            except StatusError:
                self.store.rollback(mark)
                raise
            except BaseException as error:  # pytest.fail() and sys.exit() in a script too: never a dead thread
                self.store.rollback(mark)
                raise self._test_bug(starter, "script", error) from None
            starter._served(operation, request)
        return document

    def _nearest_collection(self, resource: str) -> str:
        """The resource itself if the profile lists operations under it, else its nearest ancestor that it does."""
        segments = resource.split("/")
        for end in range(len(segments), 0, -1):
            candidate = "/".join(segments[:end])
            if self.profile.accepts_parent(candidate) and "-" not in segments[:end]:
                return candidate
        return resource  # nothing fits: the parent check names what would

    def _parent_of(self, starter: Starter, request: StartRequest) -> object:
        """The request's parent; a ``parent=`` callable that fails is the test's bug, like a failing script."""
        if not callable(starter.parent):
            return starter.parent_of(request)  # what the request holds there, if anything: the client's to get right
        try:
            value = starter.parent_of(request)
            if not isinstance(value, str):
                raise TypeError(f"it returned {value!r}, not a string")
        except BaseException as error:
            raise self._test_bug(starter, "parent=", error) from None
        return value

    def _test_bug(self, starter: Starter, what: str, error: BaseException) -> StatusError:
        """A failure of the test's own code while serving a start: INTERNAL, and a problem that fails the test."""
        self.problems.append(error if isinstance(error, Exception) else RuntimeError(repr(error)))
        return StatusError(Code.INTERNAL, f"the {what} of {starter.rpc} raised {error!r}", reason="START_SCRIPT_FAILED")

    def declare_start(
        self,
        method: object = None,
        *,
        http: str | None = None,
        grpc: str | None = None,
        script: Script | None = None,
        body: str | None = "*",
        request_type: str | type | None = None,
        parent: str | ParentOf | None = None,
    ) -> Starter:
        """Declare a method that starts operations (see `Emulator.on_start`)."""
        __tracebackhide__ = True
        if script is not None and not callable(script):
            raise ScriptError(f"script= must be a callable taking (operation, request), got {script!r}")
        if parent is not None and not (isinstance(parent, str) or callable(parent)):
            raise ScriptError(f"parent= must be a request field name or a callable, got {parent!r}")
        if method is not None:
            if http is not None or grpc is not None or request_type is not None or body != "*":
                raise ScriptError("give on_start() the method, or http=, grpc=, body= and request_type=, not both: "
                                  "the method's own definitions say all of those")
            starter = _declared_from(resolve_method(method), script, parent)
        else:
            starter = self._declared_by_hand(http, grpc, script, body, request_type, parent)
        for rule in starter.bindings:
            if rule.template.startswith(RESERVED_PREFIXES):
                raise ScriptError(f"{rule.text} is under a path the emulator reserves for itself "
                                  f"({', '.join(RESERVED_PREFIXES)}); choose your service's own path")
        with self.lock:
            self.starts.add(starter)
        return starter

    @staticmethod
    def _declared_by_hand(
        http: str | None, grpc: str | None, script: Script | None, body: str | None,
        request_type: str | type | None, parent: str | ParentOf | None,
    ) -> Starter:
        __tracebackhide__ = True
        if http is None and grpc is None:
            raise ScriptError("on_start() needs the method that starts operations: a generated client's method or "
                              "its full name, or http=, grpc= or both")
        rule = None if http is None else HttpRule.parse(http, body)
        method = request_class = None
        if grpc is not None:
            method, default_type = parse_grpc_method(grpc)
            if method.startswith("/google.longrunning.Operations/"):
                raise ScriptError(f"{grpc} is the Operations API the emulator itself serves; declare the method of "
                                  "your service that starts an operation")
            request_class = _request_class(default_type if request_type is None else request_type)
        elif request_type is not None:
            # REST only: the request type still reads the message as gRPC would (enums by name, typed fields).
            request_class = _request_class(request_type)
        if http is None and body != "*":
            raise ScriptError("body= describes the REST binding; give http= with it")
        return Starter(rule, method, request_class, script, "parent" if parent is None else parent)

    # -- what the transports ask ------------------------------------------------------------------

    def call_name(self, name: str | None) -> str | None:
        """The name a call is logged under: from_http_json clients say ``operations/{name}`` for ``name``.

        It resolves as the service's lookup does, so the log names the operation the call reached.
        """
        if name is None or not name.startswith("operations/"):
            return name
        inner = name[len("operations/"):]
        with self.lock:
            if self.store.find(name) is None and self.store.find(inner) is not None:
                return inner
        return name

    def pass_time(self, delay: timedelta, gone: Callable[[], bool]) -> None:
        """Let ``delay`` pass before an answer: at once on the virtual clock, or for real on a paced one.

        On a paced emulator the wait ends early when ``gone()`` says the client has hung up. A call that began
        before a reset holds nothing: the clock it would move is the new state's.
        """
        with self.lock:
            try:
                if not self.in_force:
                    return
                if self.pacing is None:
                    self.clock.advance(delay)
                    return
                target = self.clock.after(delay)
            except ValueError:  # within the delay of the end of the calendar: the answer goes out at once
                return
        real = self.pacing.real_seconds(delay)
        give_up = self.pacing.monotonic() + (delay.total_seconds() if real is None else real)
        with self.lock:
            while self.in_force and not gone():
                self.pacing.sync()
                left = give_up - self.pacing.monotonic()
                if self.clock.now() >= target or left <= 0:
                    return
                # Short waits, so that a client that hangs up is noticed soon.
                self.clock.wait_for_move(min(left, 0.05))

    # -- gRPC's needs ----------------------------------------------------------------------------

    def require_types(self) -> None:
        """From now on, scripted payloads must pack into protobuf messages; check those scripted so far."""
        with self.lock:
            if self.typed:
                return
            for record in self.store:
                self.check_packs(record.render(), record.name)
                for document in record.states():
                    self.check_packs(document, record.name)
                if record.cancel_policy.metadata is not None:
                    for document in record.preview(cancel_step(record.cancel_policy.metadata)):
                        self.check_packs(document, record.name)
            for fault in self.faults:
                if fault.error is not None:
                    self._check_error_packs(fault.error)
            for starter in self.starts:
                # A scenario's start plays the same template on each operation: checked now, not at the first call.
                if starter.check_types is not None:
                    starter.check_types(self)
            self.typed = True

    def check_error(self, error: StatusError) -> None:
        """`ScriptError` unless a scripted error answers a valid AIP-193 envelope (and, once gRPC serves, packs)."""
        __tracebackhide__ = True
        try:
            self.schemas.validate("error-envelope", error.envelope())
        except SchemaViolation as violation:
            raise ScriptError(f"the error would not be a valid answer: {violation.message}",
                              pointer=violation.pointer.removeprefix("/error")) from None
        if self.typed:
            self._check_error_packs(error)

    def _check_error_packs(self, error: StatusError) -> None:
        __tracebackhide__ = True
        status = {"code": int(error.code), "message": error.message, "details": error.details}
        problem = pack_problem({"name": "fault", "done": True, "error": status})
        if problem:
            raise ScriptError(f"the error cannot be sent over gRPC: {problem}")

    def check_packs(self, document: dict[str, Any], name: str) -> None:
        """`ScriptError` unless the Operation ``document`` packs into protobuf messages (what gRPC sends)."""
        __tracebackhide__ = True
        problem = pack_problem(document)
        if problem:
            raise ScriptError(f"operation {name!r} cannot be served over gRPC: {problem}")

    def operation(self, name: str) -> OperationHandle:
        """The handle of an existing operation; `OperationNotFound` (a `KeyError`) naming what exists otherwise."""
        with self.lock:
            record = self.store.find(name)
            if record is None:
                raise OperationNotFound(f"no operation named {name!r}; the emulator has {self.store.names()[:10]}")
            return OperationHandle(self, record)

    def operations(self) -> OperationList:
        """Handles of every live operation, in creation order (made as they are read)."""
        with self.lock:
            return OperationList(self, list(self.store))


def _declared_from(info: MethodInfo, script: Script | None, parent: str | ParentOf | None) -> Starter:
    """A starter from what the service declares about its method.

    Unless told, the operation is created under the request's ``parent``; a request without one (a delete, an
    update) names a resource instead (``name``, or the field its main binding binds), and the operation is created
    under the nearest collection of it that the profile lists.
    """
    __tracebackhide__ = True
    if info.full_name.startswith("google.longrunning.Operations."):
        raise ScriptError(f"{info.full_name} is the Operations API the emulator itself serves; declare the method of "
                          "your service that starts an operation")
    nearest = False
    if parent is None:
        fields = info.request_type.DESCRIPTOR.fields_by_name
        bound = info.bindings[0].fields[0] if info.bindings and info.bindings[0].fields else None
        parent = next((field for field in ("parent", "name") if field in fields), bound or "parent")
        nearest = parent != "parent"
    return Starter(None, info.grpc_path, info.request_type, script, parent, bindings=info.bindings,
                   method=info.full_name, response_type=info.response_type, metadata_type=info.metadata_type,
                   nearest_collection=nearest)


def _request_class(request_type: str | type) -> Any:
    """The protobuf class of a gRPC request, or `ScriptError` saying what to give instead."""
    __tracebackhide__ = True
    try:
        return message_class(request_type)
    except LookupError as error:
        raise ScriptError(str(error)) from None
