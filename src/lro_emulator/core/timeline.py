"""One operation's state and its scripted future.

An operation is a record that moves forward through steps. A step fires at a virtual instant
(``at=``) or once a number of polls have been answered (``after_polls=``); firing applies metadata,
and a terminal step sets the result. State is settled lazily, whenever it is read, from the clock;
since the clock never moves back, lazy settling sees exactly what eager settling would.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..wire.codes import Code
from ..wire.errors import ScriptError, StatusError
from ..wire.proto3_json import JSON

__all__ = ["CANCELLED_MESSAGE", "CancelMode", "CancelPolicy", "OperationRecord", "Step", "Transition", "cancel_step"]

CANCELLED_MESSAGE = "The operation was cancelled."



class StepKind(str, enum.Enum):
    """What a step does when it fires."""

    UPDATE = "update"
    SUCCEED = "succeed"
    FAIL = "fail"
    CANCEL = "cancel"


@dataclasses.dataclass(frozen=True)
class Step:
    """A scripted change: fires at ``due`` (virtual time) or once ``after_polls`` polls were answered."""

    kind: StepKind
    seq: int
    due: datetime | None = None
    after_polls: int | None = None
    metadata: Mapping[str, Any] | None = None
    result: tuple[str, JSON] | None = None  # ("response", Any) or ("error", Status)

    @property
    def terminal(self) -> bool:
        """Whether firing this step makes the operation done."""
        return self.result is not None

    def describe(self, created: datetime) -> str:
        """``succeed at 60s`` / ``fail after 3 polls``: how a person would say when it fires."""
        if self.due is not None:
            return f"{self.kind.value} at {(self.due - created).total_seconds():g}s"
        return f"{self.kind.value} after {self.after_polls} poll{'s' if self.after_polls != 1 else ''}"


@dataclasses.dataclass(frozen=True)
class Transition:
    """A step that has fired, with the virtual instant it fired at (the timeline's history)."""

    time: datetime
    kind: str
    done: bool


class CancelMode(str, enum.Enum):
    """How an operation answers CancelOperation."""

    ACCEPT = "accept"
    IGNORE = "ignore"
    REFUSE = "refuse"


@dataclasses.dataclass(frozen=True)
class CancelPolicy:
    """Scripted answer to a cancel: accept (at once or ``after`` a virtual delay), ignore, or refuse."""

    mode: CancelMode = CancelMode.ACCEPT
    after: timedelta = timedelta(0)
    code: Code = Code.FAILED_PRECONDITION
    message: str = "The operation cannot be cancelled."
    metadata: Mapping[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class DeclaredTypes:
    """What the method that started an operation says its payloads are: full message names, None if unsaid."""

    method: str
    response: str | None
    metadata: str | None


#: The cancel policy of every operation none was scripted for: policies are frozen, so one serves them all.
_DEFAULT_CANCEL_POLICY = CancelPolicy()


class OperationRecord:
    """The state of one operation and its pending steps. Not thread-safe: the store locks around it.

    A store may hold a million of these, and CPython's cyclic GC walks every container object they keep on each
    full collection: a record is one such object, and holds no container of its own until one is needed.
    """

    __slots__ = ("_fired", "_rendered", "_result_field", "_result_value", "cancel_policy", "cancel_requested",
                 "created", "declared", "deleted", "metadata", "name", "pending", "polls", "seq", "validated")

    def __init__(self, name: str, seq: int, created: datetime, metadata: JSON | None) -> None:
        self.name = name
        self.seq = seq
        self.created = created
        self.metadata = metadata
        # The result as two fields, not the step's tuple: a tuple holding a dict is one more object for the GC.
        self._result_field: str | None = None  # "response" or "error"
        self._result_value: JSON | None = None
        self.polls = 0
        #: The steps scripted and not yet fired, in scripting order. A tuple, replaced on each change: the empty one
        #: is shared, and an operation rarely has more than a step or two.
        self.pending: tuple[Step, ...] = ()
        # The transitions after the creation, as (time, kind, done): tuples of atoms, which the GC stops tracking
        # (`Transition` objects are built when the history is read).
        self._fired: tuple[tuple[datetime, str, bool], ...] = ()
        self.cancel_policy = _DEFAULT_CANCEL_POLICY
        self.cancel_requested = False
        self.deleted = False
        self.validated = False  # the service checks each rendered state against the schema once
        #: The method that started it and the full names of the response and metadata types it declares.
        self.declared: DeclaredTypes | None = None
        self._rendered: JSON | None = None

    @property
    def done(self) -> bool:
        """Whether a terminal step has fired."""
        return self._result_field is not None

    @property
    def result(self) -> tuple[str, JSON] | None:
        """Once done, ``("response", Any)`` or ``("error", Status)``; None before."""
        field, value = self._result_field, self._result_value
        return None if field is None or value is None else (field, value)

    @property
    def history(self) -> list[Transition]:
        """The transitions that have fired, the creation first (a new list on each read)."""
        return [Transition(self.created, "created", False), *(Transition(*fired) for fired in self._fired)]

    @property
    def parent(self) -> str:
        """The collection the operation is listed under: everything before its ``operations/`` segment."""
        head, sep, _ = self.name.rpartition("/operations/")
        if sep:
            return head
        return ""  # the global form, "operations/{id}"

    # -- scripting -------------------------------------------------------------------------------

    def check_can_add(self, step: Step, now: datetime) -> None:
        """Raise `ScriptError` if ``step`` would arrive after the operation is done, or conflicts.

        The record must be settled to ``now`` first.
        """
        if self.done:
            fired = next(t for t in reversed(self.history) if t.done)
            raise ScriptError(
                f"operation {self.name!r} is already done (it became done at "
                f"{(fired.time - self.created).total_seconds():g}s); nothing scripted after that is ever seen"
            )
        terminal = next((s for s in self.pending if s.terminal and s.kind is not StepKind.CANCEL), None)
        if step.terminal and terminal is not None:
            raise ScriptError(
                f"operation {self.name!r} already has its result scripted ({terminal.describe(self.created)}); "
                "an operation becomes done once"
            )
        if step.terminal:
            for other in self.pending:
                if not other.terminal:
                    self._check_before(other, step, now)
        elif terminal is not None:
            self._check_before(step, terminal, now)

    def _check_before(self, earlier: Step, terminal: Step, now: datetime) -> None:
        created = self.created
        # A pending result is always in the future (the record was settled first), so a step that is
        # due already comes before it, whatever kind of trigger the result has.
        if (earlier.due is not None and earlier.due <= now) or (
            earlier.after_polls is not None and earlier.after_polls <= self.polls
        ):
            return
        if earlier.due is not None and terminal.due is not None:
            if earlier.due > terminal.due:
                raise ScriptError(
                    f"{earlier.describe(created)} comes after the operation is done ({terminal.describe(created)})"
                )
        elif earlier.after_polls is not None and terminal.after_polls is not None:
            if earlier.after_polls > terminal.after_polls:
                raise ScriptError(
                    f"{earlier.describe(created)} comes after the operation is done ({terminal.describe(created)})"
                )
        else:
            raise ScriptError(
                f"cannot tell whether {earlier.describe(created)} comes before {terminal.describe(created)}: "
                "script an operation's steps either all with at= or all with after_polls="
            )

    def add(self, step: Step, now: datetime) -> None:
        """Schedule ``step``; one whose poll count was already reached fires at the current instant."""
        if step.after_polls is not None and step.after_polls <= self.polls:
            step = dataclasses.replace(step, due=now, after_polls=None)
        self.pending = (*self.pending, step)

    def preview(self, step: Step, now: datetime | None = None) -> list[JSON]:
        """Every Operation the record could serve once ``step`` is scheduled (for validation at scripting time).

        Each pending step meets the metadata the steps before it in firing order left, so adding a step
        can change what later ones produce. A cancel step (no trigger) may fire at any moment: it is
        previewed on every state. ``now`` lets a step whose poll count was already reached fire now,
        as `add` will have it.
        """
        if step.due is None and step.after_polls is None:
            bases = [self.metadata] + [document.get("metadata") for document in self.states()]
            return [_render(self.name, _merge(base, step.metadata), step.result) for base in bases]
        if now is not None and step.after_polls is not None and step.after_polls <= self.polls:
            step = dataclasses.replace(step, due=now, after_polls=None)
        return self.states([step])

    def states(self, extra: list[Step] | None = None) -> list[JSON]:
        """Every Operation served after some pending step (or one of ``extra``) fires, in any possible order.

        Timed steps fire in time order and poll-triggered steps in poll order, but how the two chains
        interleave depends on when clients poll: every interleaving is walked (as a grid of how many of
        each have fired, keeping the distinct metadata each cell can hold).
        """
        steps = [*self.pending, *(extra or ())]
        timed = sorted((s for s in steps if s.due is not None), key=lambda s: (s.due, s.terminal, s.seq))
        polled = sorted((s for s in steps if s.due is None), key=lambda s: (s.after_polls or 0, s.terminal, s.seq))
        documents: dict[str, JSON] = {}
        cells: dict[tuple[int, int], dict[str, JSON | None]] = {(0, 0): {_key(self.metadata): self.metadata}}
        for fired_timed in range(len(timed) + 1):
            for fired_polled in range(len(polled) + 1):
                for metadata in cells.pop((fired_timed, fired_polled), {}).values():
                    for chain, index, following in ((timed, fired_timed, (fired_timed + 1, fired_polled)),
                                                    (polled, fired_polled, (fired_timed, fired_polled + 1))):
                        if index == len(chain):
                            continue
                        fired = chain[index]
                        merged = _merge(metadata, fired.metadata)
                        document = _render(self.name, merged, fired.result)
                        documents.setdefault(_key(document), document)
                        if not fired.terminal:  # nothing fires after the operation is done
                            cells.setdefault(following, {})[_key(merged)] = merged
        return list(documents.values())

    # -- the passing of time ---------------------------------------------------------------------

    def settle(self, now: datetime) -> None:
        """Fire every time-triggered step due at or before ``now``, in time order."""
        if not self.pending or self.done:
            return
        due = [s for s in self.pending if s.due is not None and s.due <= now]
        # Non-terminal steps fire before a terminal one at the same instant, then scripting order.
        for step in sorted(due, key=lambda s: (s.due, s.terminal, s.seq)):
            self._fire(step, step.due or now)
            if self.done:
                break

    def record_poll(self, now: datetime) -> None:
        """Count an answered poll and fire the steps that were waiting for it."""
        self.polls += 1
        if not self.pending or self.done:
            return
        due = [s for s in self.pending if s.after_polls is not None and s.after_polls <= self.polls]
        for step in sorted(due, key=lambda s: (s.after_polls, s.terminal, s.seq)):
            self._fire(step, now)
            if self.done:
                break

    def next_due(self) -> datetime | None:
        """The instant of the next time-triggered step, if any (what wait advances the clock to)."""
        if self.done:
            return None
        times = [s.due for s in self.pending if s.due is not None]
        return min(times) if times else None

    def _fire(self, step: Step, when: datetime) -> None:
        index = self.pending.index(step)
        self.pending = self.pending[:index] + self.pending[index + 1:]
        self.metadata = _merge(self.metadata, step.metadata)
        if step.result is not None:
            self._result_field, self._result_value = step.result
            # Whatever was still pending can no longer be seen: done never reverts.
            self.pending = ()
        self._fired = (*self._fired, (when, step.kind.value, self.done))
        self._rendered = None
        self.validated = False

    # -- cancel --------------------------------------------------------------------------------------

    def request_cancel(self, now: datetime, next_seq: int) -> None:
        """Apply the cancel policy: best effort, asynchronous, and a no-op once done."""
        if self.done:
            return
        policy = self.cancel_policy
        if policy.mode is CancelMode.REFUSE:
            raise StatusError(policy.code, policy.message, reason="CANCEL_REFUSED", metadata={"operation": self.name})
        if policy.mode is CancelMode.IGNORE or self.cancel_requested:
            return
        self.cancel_requested = True
        self.pending = (*self.pending, cancel_step(policy.metadata, seq=next_seq, due=now + policy.after))
        self.settle(now)

    # -- output ----------------------------------------------------------------------------------

    def render(self) -> JSON:
        """The Operation in proto3 JSON. Cached until the state changes; callers must not mutate it."""
        if self._rendered is None:
            self._rendered = _render(self.name, self.metadata, self.result)
        return self._rendered

    def render_uncached(self) -> JSON:
        """The Operation as `render` answers it, caching none that is not cached yet; callers must not mutate it.

        For listings: a cached document is one more object per operation for the cyclic GC to walk, worth it for an
        operation that is polled (its encoding is cached by identity too), not for every operation a listing reads.
        """
        rendered = self._rendered
        return _render(self.name, self.metadata, self.result) if rendered is None else rendered


def cancel_step(metadata: Mapping[str, Any] | None, *, seq: int = 0, due: datetime | None = None) -> Step:
    """The step an accepted cancel schedules: done with CANCELLED, applying the policy's metadata."""
    status = {"code": int(Code.CANCELLED), "message": CANCELLED_MESSAGE}
    return Step(StepKind.CANCEL, seq, due=due, metadata=metadata, result=("error", status))


def _key(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def _merge(base: JSON | None, update: Mapping[str, Any] | None) -> JSON | None:
    """Shallow merge of metadata; a key set to None is removed (null means unset in proto3 JSON).

    An update with an ``@type`` is a whole message and replaces the metadata: merging two messages
    would mix their types' fields, and a message cannot express "back to the default" (proto3 JSON
    leaves such fields out).
    """
    if update is None:
        return base
    merged = {} if "@type" in update else dict(base or {})
    for key, value in update.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _render(name: str, metadata: JSON | None, result: tuple[str, JSON] | None) -> JSON:
    document: JSON = {"name": name}
    if metadata is not None:
        document["metadata"] = metadata
    if result is not None:
        # proto3 JSON omits fields at their default, so a running operation has no "done" key.
        document["done"] = True
        document[result[0]] = result[1]
    return document
