"""The handle a test scripts an operation through: ``update``, ``succeed``, ``fail``, ``on_cancel``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, overload

from ..wire.codes import Code, parse_code
from ..wire.errors import ScriptError, StaleHandle
from ..wire.proto3_json import JSON, to_timedelta
from ..wire.protobuf import json_of
from ..wire.validation import SchemaViolation
from .calls import OperationCalls
from .timeline import CancelMode, CancelPolicy, OperationRecord, Step, StepKind, Transition, cancel_step

if TYPE_CHECKING:
    from ..wire.validation import Schemas
    from .calls import CallList
    from .clock import VirtualClock
    from .store import OperationStore
    from .tenure import Tenure

__all__ = ["EMPTY_RESPONSE", "Host", "OperationHandle", "OperationList"]

#: What a successful operation answers when the test gives no response (google.protobuf.Empty).
EMPTY_RESPONSE = {"@type": "type.googleapis.com/google.protobuf.Empty"}

#: A virtual duration: seconds (int or float) or a `datetime.timedelta`.
Seconds = float | int | timedelta
#: A JSON object, or a protobuf or proto-plus message (packed as an ``Any``: its fields plus ``@type``).
Payload = Mapping[str, Any] | Any


class Host(Protocol):
    """What a handle needs of the state that holds its operation (`EmulatorState` is one)."""

    clock: VirtualClock
    calls: CallList
    schemas: Schemas
    store: OperationStore
    #: Whether served payloads must pack into protobuf messages (once gRPC serves).
    typed: bool
    #: How long the state's handles may be used (until its test ends or a reset replaces it).
    tenure: Tenure

    def check_packs(self, document: dict[str, Any], name: str) -> None:
        """`ScriptError` unless the Operation ``document`` packs into protobuf messages."""


class OperationHandle:
    """A scripted operation. Every method returns the handle, so steps chain.

    Times (``at=``) are seconds or a `timedelta` after the operation was created, on the virtual
    clock; ``after_polls=n`` instead fires the step once ``n`` polls (Get or Wait) were answered.
    With neither, the step fires at the current instant. A step that would arrive after the
    operation is done, or a payload that violates the schema, raises `ScriptError` here, with the
    JSON pointer of the fault inside the Operation.

    A handle works only during the test that made it (until the emulator is next reset, outside pytest):
    afterwards everything but its ``name`` and ``created`` raises `StaleHandle`.
    """

    def __init__(self, state: Host, record: OperationRecord) -> None:
        self._state = state
        self._record = record

    @property
    def name(self) -> str:
        """The operation's resource name."""
        return self._record.name

    @property
    def polls(self) -> int:
        """How many polls (GetOperation and WaitOperation answers) the operation has had."""
        self._live()
        return self._record.polls

    @property
    def done(self) -> bool:
        """Whether the operation is done as of the clock's current time."""
        self._live()
        with self._state.clock.lock:
            self._record.settle(self._state.clock.now())
            return self._record.done

    @property
    def created(self) -> datetime:
        """The virtual instant the operation was created."""
        return self._record.created

    @property
    def calls(self) -> OperationCalls:
        """The calls that named this operation, with polling assertions (``op.calls.assert_polled(3)``)."""
        self._live()
        # A call before the operation existed (a 404 for its name, an earlier one of the same name) is not its call.
        mine = [call for call in self._state.calls if call.name == self.name and call.time >= self.created]
        return OperationCalls(mine, name=self.name, created=self.created)

    @property
    def history(self) -> list[Transition]:
        """The transitions that have fired so far, with their virtual instants."""
        self._live()
        with self._state.clock.lock:
            self._record.settle(self._state.clock.now())
            return list(self._record.history)

    def update(
        self, *, metadata: Payload, at: Seconds | None = None, after_polls: int | None = None
    ) -> OperationHandle:
        """Change metadata (merged key by key; a key set to None is removed)."""
        __tracebackhide__ = True
        self._live()
        return self._script(StepKind.UPDATE, at, after_polls, metadata=metadata)

    def succeed(
        self,
        response: Payload | None = None,
        *,
        at: Seconds | None = None,
        after_polls: int | None = None,
        metadata: Payload | None = None,
    ) -> OperationHandle:
        """Become done with ``response`` (an Any with ``@type``; google.protobuf.Empty when omitted)."""
        __tracebackhide__ = True
        self._live()
        payload = self._payload("any", EMPTY_RESPONSE if response is None else response, "/response")
        self._check_declared("response", payload, "/response", given=response is not None)
        return self._script(StepKind.SUCCEED, at, after_polls, metadata=metadata, result=("response", payload))

    def fail(
        self,
        code: str | int | Code,
        message: str = "",
        *,
        details: Sequence[Payload] = (),
        at: Seconds | None = None,
        after_polls: int | None = None,
        metadata: Payload | None = None,
    ) -> OperationHandle:
        """Become done with an error: ``code`` by name or number, a message, and detail messages."""
        __tracebackhide__ = True
        self._live()
        try:
            rpc_code = parse_code(code)
        except ValueError as error:
            raise ScriptError(str(error), pointer="/error/code") from None
        if rpc_code is Code.OK:
            raise ScriptError("fail() needs an error code; use succeed() for an operation that succeeds",
                              pointer="/error/code")
        status: JSON = {"code": int(rpc_code)}
        if message:
            status["message"] = message
        if details:
            status["details"] = [json_of(detail) for detail in details]
        payload = self._payload("status", status, "/error")
        return self._script(StepKind.FAIL, at, after_polls, metadata=metadata, result=("error", payload))

    def on_cancel(
        self,
        mode: str = "accept",
        *,
        after: Seconds = 0,
        code: str | int | Code = Code.FAILED_PRECONDITION,
        message: str = "The operation cannot be cancelled.",
        metadata: Payload | None = None,
    ) -> OperationHandle:
        """How CancelOperation is answered.

        ``"accept"`` (the default): the operation becomes done with CANCELLED ``after`` a virtual
        delay (at once when 0), applying ``metadata`` then, unless it completes first.
        ``"ignore"``: the cancel answers ``{}`` and changes nothing. ``"refuse"``: the cancel call
        itself fails with ``code`` and ``message``.
        """
        __tracebackhide__ = True
        self._live()
        try:
            cancel_mode = CancelMode(mode)
        except ValueError:
            raise ScriptError(f"on_cancel mode must be one of accept, ignore, refuse; got {mode!r}") from None
        try:
            delay = to_timedelta(after, what="on_cancel(after=)")
            refuse_code = parse_code(code)
        except ValueError as error:
            raise ScriptError(str(error)) from None
        if delay < timedelta(0):
            raise ScriptError(f"on_cancel(after=) must not be negative, got {after!r}")
        if cancel_mode is CancelMode.REFUSE and refuse_code is Code.OK:
            raise ScriptError("a refused cancel needs an error code, not OK")
        cancel_metadata = None if metadata is None else checked_payload(self._state, None, metadata, "/metadata")
        if cancel_metadata is not None:
            self._check_declared("metadata", cancel_metadata, "/metadata")
        with self._state.clock.lock:
            self._live()  # again under the lock a reset takes: the policy never lands in a state it just retired
            self._check_preview(cancel_step(cancel_metadata))
            self._record.cancel_policy = CancelPolicy(cancel_mode, delay, refuse_code, message, cancel_metadata)
        return self

    def snapshot(self) -> JSON:
        """The Operation JSON exactly as GetOperation would serve it now (without counting a poll)."""
        self._live()
        with self._state.clock.lock:
            self._record.settle(self._state.clock.now())
            document: JSON = json.loads(json.dumps(self._record.render()))
            return document

    # -- internals -------------------------------------------------------------------------------

    def _live(self) -> None:
        """`StaleHandle` once the handle's test has ended or a reset replaced its state."""
        __tracebackhide__ = True
        tenure = self._state.tenure
        if tenure.ended is not None:
            raise StaleHandle(tenure.message(f"the OperationHandle of {self._record.name!r}"))

    def _payload(self, schema: str, value: Mapping[str, Any], pointer: str) -> JSON:
        """A private JSON copy of ``value``, checked against ``schema``; faults carry their pointer."""
        __tracebackhide__ = True
        return checked_payload(self._state, schema, value, pointer)

    def _check_declared(self, role: str, payload: JSON, pointer: str, *, given: bool = True) -> None:
        """`ScriptError` if the method that started the operation declares another type for this payload."""
        __tracebackhide__ = True
        declared = self._record.declared
        expected = None if declared is None else getattr(declared, role)
        kind = payload.get("@type")
        if declared is None or expected is None or (kind is None and role == "metadata"):
            return  # metadata without @type merges into metadata that has one; the merged Operation is checked
        got = kind.rsplit("/", 1)[-1] if isinstance(kind, str) else repr(kind)
        if got != expected:
            how = "" if given else " (succeed() without a response answers google.protobuf.Empty)"
            raise ScriptError(f"{declared.method} answers {role} of type {expected}, not {got}{how}",
                              pointer=f"{pointer}/@type")

    def _check_preview(self, step: Step) -> None:
        """The Operation as served once ``step`` fired must meet the schema; the fault's pointer is raised."""
        __tracebackhide__ = True
        for document in self._record.preview(step, self._state.clock.now()):
            try:
                self._state.schemas.validate("operation", document)
            except SchemaViolation as violation:
                raise ScriptError(str(violation), pointer=violation.pointer) from None
            if self._state.typed:
                self._state.check_packs(document, self._record.name)

    def _script(
        self,
        kind: StepKind,
        at: Seconds | None,
        after_polls: int | None,
        *,
        metadata: Mapping[str, Any] | None,
        result: tuple[str, JSON] | None = None,
    ) -> OperationHandle:
        __tracebackhide__ = True
        if at is not None and after_polls is not None:
            raise ScriptError(f"{kind.value}(): give at= or after_polls=, not both")
        # Metadata is merged key by key, so it is checked as part of the merged preview below.
        step_metadata = None if metadata is None else checked_payload(self._state, None, metadata, "/metadata")
        if step_metadata is not None:
            self._check_declared("metadata", step_metadata, "/metadata")
        with self._state.clock.lock:
            self._live()  # again under the lock a reset takes: the step never lands in a state it just retired
            record, clock = self._record, self._state.clock
            if record.deleted:
                raise ScriptError(f"operation {record.name!r} was deleted; it can no longer be scripted")
            record.settle(clock.now())
            due: datetime | None = None
            if after_polls is not None:
                if isinstance(after_polls, bool) or not isinstance(after_polls, int) or after_polls < 0:
                    raise ScriptError(f"after_polls must be a whole number of polls, 0 or more; got {after_polls!r}")
            else:
                try:
                    offset = clock.now() - record.created if at is None else to_timedelta(at, what="at=")
                except ValueError as error:
                    raise ScriptError(str(error)) from None
                if offset < timedelta(0):
                    raise ScriptError(f"at= is a time after the operation was created and cannot be negative ({at!r})")
                try:
                    due = record.created + offset
                except OverflowError:
                    raise ScriptError(f"at={at!r} is past the end of the calendar (year 9999)") from None
                if due < clock.now():
                    age = (clock.now() - record.created).total_seconds()
                    raise ScriptError(
                        f"at={offset.total_seconds():g}s is in the past: operation {record.name!r} is already {age:g}s "
                        "old and was served as it was then; omit at= to fire the step now"
                    )
            step = Step(kind, self._state.store.next_seq(), due=due, after_polls=after_polls,
                        metadata=step_metadata, result=result)
            record.check_can_add(step, clock.now())
            self._check_preview(step)
            record.add(step, clock.now())
            # A step due now fires now rather than at the next read (which would see the same): its objects are
            # freed at once, not kept until then (a million operations succeeded in a loop would keep them all).
            record.settle(clock.now())
        return self

    def __eq__(self, other: object) -> bool:
        """Handles are equal when they script the same operation of the same state (each read of
        ``emu.operations`` or ``emu.operation(name)`` makes a new handle)."""
        if not isinstance(other, OperationHandle):
            return NotImplemented
        return self._record is other._record and self._state is other._state

    def __hash__(self) -> int:
        return hash((id(self._state), id(self._record)))

    def __repr__(self) -> str:
        return f"<OperationHandle {self.name!r} done={self._record.done} polls={self._record.polls}>"


#: How many handles the repr of an `OperationList` shows before it counts the rest.
_REPR_ITEMS = 20


class OperationList(Sequence[OperationHandle]):
    """What ``emu.operations`` answers: the operations that lived when it was read, in creation order, as a
    read-only sequence whose handles are made as they are read.

    A list of handles made at once would be one more object per operation for CPython's cyclic GC to walk: with a
    million operations, reading ``emu.operations`` would spend most of its time in the collector. This holds the
    operations themselves (one list), and each handle lives as long as the caller keeps it. Indexing, slicing
    (another `OperationList`), ``len``, iteration, ``in``, ``index``, ``count`` and ``reversed`` work as on a list, and
    ``+`` makes a list; it equals any list or tuple of equal handles (``emu.operations == []`` when there are none);
    ``list(emu.operations)`` makes a list. Its repr shows the first 20 handles and counts the rest.
    """

    __slots__ = ("_records", "_state")

    def __init__(self, state: Host, records: list[OperationRecord]) -> None:
        self._state = state
        self._records = records

    def __len__(self) -> int:
        return len(self._records)

    @overload
    def __getitem__(self, index: int) -> OperationHandle: ...

    @overload
    def __getitem__(self, index: slice) -> OperationList: ...

    def __getitem__(self, index: int | slice) -> OperationHandle | OperationList:
        if isinstance(index, slice):
            return OperationList(self._state, self._records[index])
        return OperationHandle(self._state, self._records[index])

    def __iter__(self) -> Iterator[OperationHandle]:
        state = self._state
        for record in self._records:
            yield OperationHandle(state, record)

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, OperationHandle):
            return False
        return value._state is self._state and any(record is value._record for record in self._records)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OperationList):
            return self._state is other._state and self._records == other._records
        if isinstance(other, (list, tuple)):
            if len(other) != len(self._records):
                return False
            return all(mine == theirs for mine, theirs in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable-looking and compared by content, as a list is

    def __add__(self, other: object) -> list[OperationHandle]:
        """A list of these handles, then ``other``'s items (as adding two lists makes a list)."""
        if not isinstance(other, (list, tuple, OperationList)):
            return NotImplemented
        return [*self, *other]

    def __radd__(self, other: object) -> list[OperationHandle]:
        if not isinstance(other, (list, tuple)):
            return NotImplemented
        return [*other, *self]

    def __repr__(self) -> str:
        # Bounded: a failing `assert emu.operations == []` over a million operations must not format them all.
        shown = ", ".join(repr(handle) for handle in self[:_REPR_ITEMS])
        more = len(self._records) - _REPR_ITEMS
        return f"OperationList([{shown}{f', ... {more:,} more' if more > 0 else ''}])"


def checked_payload(state: Host, schema: str | None, value: object, pointer: str) -> JSON:
    """Copy ``value`` through JSON (so later mutation by the test changes nothing) and check it.

    ``schema`` names the schema the value must meet on its own; None only requires a JSON object.
    A protobuf or proto-plus message becomes the proto3 JSON of an ``Any`` packing it. The copy may be one
    another operation holds already (`OperationStore.parsed`): payloads are never changed in place.
    """
    __tracebackhide__ = True
    value = json_of(value)
    try:
        copied = state.store.parsed(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as error:
        raise ScriptError(f"the payload is not JSON: {error}", pointer=pointer) from None
    if not isinstance(copied, dict):
        raise ScriptError(f"expected a JSON object, got {type(value).__name__}", pointer=pointer)
    if schema is not None:
        try:
            state.schemas.validate(schema, copied)
        except SchemaViolation as violation:
            raise ScriptError(str(violation), pointer=pointer + violation.pointer) from None
    return copied
