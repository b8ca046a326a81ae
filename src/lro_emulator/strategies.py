"""Hypothesis strategies of operation timelines, each with the outcome a correct client must end with.

``from lro_emulator.strategies import timelines`` (it needs hypothesis: ``pip install 'lro-emulator[hypothesis]'``).
A drawn `Timeline` scripts one operation (its metadata updates, its result, how it answers a cancel, and transient
faults on its polls) with `Timeline.apply`, or on a fresh emulator with `Timeline.play`; `Timeline.outcome` says what
the client must end with, and `Timeline.to_scenario` writes it as a scenario file, so that a failure hypothesis found
becomes a regression test. ``import lro_emulator`` never imports this module (nor hypothesis): users import it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from hypothesis import currently_in_test_context, note
from hypothesis import strategies as st

from .core.faults import FaultBuilder
from .core.handle import OperationHandle
from .core.timeline import CANCELLED_MESSAGE
from .wire.codes import Code, parse_code
from .wire.errors import ScriptError
from .wire.proto3_json import JSON

if TYPE_CHECKING:
    from .core.state import EmulatorState
    from .emulator import Emulator

__all__ = ["CANCEL_POLICIES", "OPERATION_ERROR_CODES", "STRUCT", "CancelPolicy", "Outcome", "PollFault",
           "Timeline", "TimelineStep", "fresh", "timelines"]

#: The type of the default payloads: a google.protobuf.Struct packed in an Any (its fields under ``value``).
STRUCT = "type.googleapis.com/google.protobuf.Struct"
#: The codes Google's services finish a failed operation with (CANCELLED is a cancel's, drawn by `CANCEL_POLICIES`).
OPERATION_ERROR_CODES = ("INVALID_ARGUMENT", "FAILED_PRECONDITION", "NOT_FOUND", "ALREADY_EXISTS",
                         "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "ABORTED", "OUT_OF_RANGE", "INTERNAL",
                         "UNAVAILABLE", "DEADLINE_EXCEEDED", "UNKNOWN", "DATA_LOSS")
#: How CancelOperation may be answered: at once, after a virtual delay, not at all, or refused.
CANCEL_POLICIES = ("accept", "delayed", "ignore", "refuse")
#: The triggers a timeline's steps may use: virtual time after creation, or the number of polls answered.
TRIGGERS = ("time", "polls")
_DETAIL_DOMAIN = "example.googleapis.com"


@dataclasses.dataclass(frozen=True)
class TimelineStep:
    """One scripted step: a metadata update, or the result (``response`` or ``error``) that ends the operation.

    It fires ``at`` seconds after the operation was created, or once ``after_polls`` polls were answered.
    """

    at: float | None = None
    after_polls: int | None = None
    metadata: JSON | None = None
    response: JSON | None = None
    error: JSON | None = None

    @property
    def kind(self) -> str:
        """``"update"``, ``"response"`` or ``"error"``."""
        return "response" if self.response is not None else "error" if self.error is not None else "update"

    def __repr__(self) -> str:
        when = f"at={self.at:g}" if self.at is not None else f"after_polls={self.after_polls}"
        what = {"update": self.metadata, "response": self.response, "error": self.error}[self.kind]
        return f"{self.kind}({when}, {json.dumps(what, sort_keys=True)})"


@dataclasses.dataclass(frozen=True)
class CancelPolicy:
    """How the operation answers CancelOperation: ``mode`` ``accept`` (done CANCELLED ``after`` seconds, unless it
    finished first), ``ignore`` (answers ``{}``, changes nothing) or ``refuse`` (the call fails with ``code``)."""

    mode: str = "accept"
    after: float = 0
    code: str = "FAILED_PRECONDITION"

    def __repr__(self) -> str:
        if self.mode == "accept":
            return f"cancel=accept(after={self.after:g})"
        return f"cancel={self.mode}" + (f"({self.code})" if self.mode == "refuse" else "")


@dataclasses.dataclass(frozen=True)
class PollFault:
    """A transient fault on the ``nth`` GetOperation of the operation: an ``error`` code, or a ``delay`` in seconds
    (the poll is served, and answered that much later on the virtual clock)."""

    nth: int
    error: str | None = None
    delay: float | None = None

    def __repr__(self) -> str:
        return f"poll {self.nth}: " + (self.error if self.error is not None else f"delay {self.delay:g}s")


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a correct client ends with: ``kind`` ``"response"``, ``"error"`` or ``"cancelled"``; ``value`` the
    response (an Any as proto3 JSON) or the ``google.rpc.Status`` (JSON: ``code`` a number, ``message``,
    ``details``); ``done_at`` the virtual offset after creation at which it is final (None when the timeline counts
    polls: then ``done_after_polls`` is the number of polls answered before the one that sees it)."""

    kind: str
    value: JSON
    done_at: timedelta | None
    done_after_polls: int | None = None

    @property
    def code(self) -> Code | None:
        """The error's code (CANCELLED for a cancel), or None for a response."""
        return None if self.kind == "response" else Code(self.value["code"])


@dataclasses.dataclass(frozen=True)
class Timeline:
    """A drawn timeline of one operation: ``steps`` (updates, then the result, in firing order), its ``cancel``
    policy and the transient ``faults`` on its polls. Its ``repr`` is what hypothesis prints for a failing example.
    """

    steps: tuple[TimelineStep, ...]
    cancel: CancelPolicy = CancelPolicy()
    faults: tuple[PollFault, ...] = ()

    @property
    def trigger(self) -> str:
        """``"time"`` or ``"polls"``: what the steps fire on."""
        return "polls" if self.steps and self.steps[-1].after_polls is not None else "time"

    @property
    def result(self) -> TimelineStep:
        """The step that ends the operation (the last)."""
        return self.steps[-1]

    @property
    def outcome(self) -> Outcome:
        """What a correct client that does not cancel ends with."""
        result = self.result
        value = result.response if result.response is not None else result.error
        assert value is not None  # a drawn or checked timeline always ends with a result
        done_at = None if result.at is None else timedelta(seconds=result.at)
        return Outcome(result.kind, value, done_at, result.after_polls)

    def outcome_after_cancel(self, *, at: float | None = None, polls: int | None = None) -> Outcome:
        """What a correct client ends with when it cancels: ``at`` seconds after creation (a timeline on time), or
        once ``polls`` polls were answered (a timeline counting polls). An ignored or refused cancel, or one that
        comes after the result (or whose delay outlasts it), leaves `outcome`."""
        outcome = self.outcome
        if self.cancel.mode != "accept":
            return outcome
        if self.trigger == "time":
            if at is None:
                raise ScriptError("outcome_after_cancel(): this timeline fires on time; give at=, the seconds after "
                                  "creation the cancel was answered")
            cancelled_at = at + self.cancel.after
            assert outcome.done_at is not None
            if timedelta(seconds=cancelled_at) >= outcome.done_at:
                return outcome
            return Outcome("cancelled", _cancelled(), timedelta(seconds=cancelled_at))
        if polls is None:
            raise ScriptError("outcome_after_cancel(): this timeline counts polls; give polls=, the polls answered "
                              "before the cancel")
        assert outcome.done_after_polls is not None
        if polls > outcome.done_after_polls:
            return outcome
        return Outcome("cancelled", _cancelled(), None, polls)

    def apply(self, operation: OperationHandle) -> OperationHandle:
        """Script the timeline on ``operation`` (a pending operation of the emulator in force): its steps, its
        cancel policy and its poll faults (aimed at the operation's GetOperation calls). Returns the handle."""
        __tracebackhide__ = True
        if currently_in_test_context():
            note(f"lro-emulator timeline: {self!r}")  # printed with the falsifying example
        for step in self.steps:
            when: dict[str, Any] = ({"at": step.at} if step.at is not None else {"after_polls": step.after_polls})
            if step.response is not None:
                operation.succeed(step.response, metadata=step.metadata, **when)
            elif step.error is not None:
                error = step.error
                operation.fail(error["code"], error.get("message", ""), details=error.get("details", ()),
                               metadata=step.metadata, **when)
            else:
                assert step.metadata is not None
                operation.update(metadata=step.metadata, **when)
        operation.on_cancel(self.cancel.mode, after=self.cancel.after, code=self.cancel.code)
        # The handle's state holds the fault plan emu.fault() adds to; a handle has no public way to reach it.
        state = cast("EmulatorState", operation._state)
        for fault in self.faults:
            builder = FaultBuilder(state.faults, state.clock.now(), state.check_error, rpc="GetOperation",
                                   name=operation.name, nth=fault.nth)
            if fault.error is not None:
                builder.error(fault.error)
            else:
                assert fault.delay is not None
                builder.delay(fault.delay)
        return operation

    def play(self, emulator: Emulator, name: str | None = None) -> OperationHandle:
        """`fresh` state on ``emulator``, then a new operation (``name``, or a generated one) with this timeline."""
        __tracebackhide__ = True
        fresh(emulator)
        return self.apply(emulator.add_operation(name))

    def to_scenario(self, path: str | os.PathLike[str] | None = None, *, name: str | None = None) -> JSON:
        """The timeline as a scenario document (one operation, named ``name`` or generated, and its faults); with
        ``path``, also written there, as YAML (``.yaml``, ``.yml``) or JSON (anything else)."""
        steps: list[JSON] = []
        for step in self.steps:
            document: JSON = {"at": step.at} if step.at is not None else {"afterPolls": step.after_polls}
            if step.metadata is not None:
                document["metadata"] = step.metadata
            if step.response is not None:
                document["response"] = step.response
            if step.error is not None:
                document["error"] = step.error
            steps.append(document)
        cancel: JSON = {"mode": self.cancel.mode}
        if self.cancel.mode == "accept" and self.cancel.after:
            cancel["after"] = self.cancel.after
        if self.cancel.mode == "refuse":
            cancel["code"] = self.cancel.code
        operation: JSON = {"steps": steps, "cancel": cancel}
        if name is not None:
            operation = {"name": name, **operation}
        scenario: JSON = {"operations": [operation]}
        faults: list[JSON] = []
        for fault in self.faults:
            aim: JSON = {"rpc": "GetOperation", "nth": fault.nth}
            if name is not None:
                aim["name"] = name
            effect: JSON = {"error": {"code": fault.error}} if fault.error is not None else {"delay": fault.delay}
            faults.append({**aim, **effect})
        if faults:
            scenario["faults"] = faults
        if path is not None:
            target = pathlib.Path(path)
            if target.suffix in (".yaml", ".yml"):
                import yaml  # a dependency of the package: scenario files are read with it

                text = "# A timeline drawn by lro_emulator.strategies.timelines()\n" + yaml.safe_dump(
                    scenario, sort_keys=False)
            else:
                text = json.dumps(scenario, indent=2) + "\n"
            target.write_text(text)
        return scenario

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """For hypothesis's report of a failing example, which pretty-prints arguments rather than repr them."""
        printer.text(repr(self))

    def __repr__(self) -> str:
        parts = [repr(step) for step in self.steps]
        if self.cancel != CancelPolicy():
            parts.append(repr(self.cancel))
        parts += [repr(fault) for fault in self.faults]
        return f"Timeline({', '.join(parts)})"


def fresh(emulator: Emulator) -> Emulator:
    """Give ``emulator`` fresh state for the next hypothesis example, and return it.

    As ``emulator.reset()``, except that what the test's marker set stays: the profile, where the clock starts, the
    seed of probabilistic faults, the credentials required, and payloads that must pack for gRPC. Handles of the
    earlier example raise `StaleHandle` from then on.
    """
    __tracebackhide__ = True
    # Internals of the emulator, read once: reset() alone would restart at the emulator's own profile and start,
    # not at those the lro_emulator marker chose for this test.
    state = emulator._current()
    emulator.reset(start=emulator._origin, profile=state.profile, seed=state.faults.seed)
    now = emulator._current()
    now.auth = state.auth
    now.typed = state.typed
    return emulator


def _cancelled() -> JSON:
    return {"code": int(Code.CANCELLED), "message": CANCELLED_MESSAGE}


def _structs() -> st.SearchStrategy[JSON]:
    """Small Structs: a few well-known keys, whose values change type (a key may vanish from one to the next)."""
    values = st.one_of(st.sampled_from(["PENDING", "RUNNING", "DONE"]), st.integers(0, 100), st.booleans())
    fields = st.dictionaries(st.sampled_from(["state", "progress", "stage"]), values, max_size=3)
    return st.builds(lambda value: {"@type": STRUCT, "value": value}, fields)


def _details() -> st.SearchStrategy[JSON]:
    """One detail message of those Google's services attach to errors."""
    error_info = st.builds(lambda reason: {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                                           "domain": _DETAIL_DOMAIN},
                           st.sampled_from(["QUOTA_EXCEEDED", "RESOURCE_MISSING", "BACKEND_FAILED"]))
    retry_info = st.builds(lambda seconds: {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                            "retryDelay": f"{seconds}s"}, st.integers(0, 60))
    localized = st.builds(lambda text: {"@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                                        "locale": "en-US", "message": text},
                          st.sampled_from(["The job failed.", "Try again later."]))
    return st.one_of(error_info, retry_info, localized)


def _strategy(value: Any, what: str) -> st.SearchStrategy[Any]:
    """``value`` itself when it is a strategy, else a strategy that always gives it."""
    if isinstance(value, st.SearchStrategy):
        return value
    if value is not None and not isinstance(value, Mapping):
        raise ScriptError(f"timelines({what}=...) takes a hypothesis strategy or a JSON object (an Any with "
                          f"@type); got {type(value).__name__}")
    return st.just(value)


def _codes(codes: Sequence[str | int | Code], what: str) -> tuple[str, ...]:
    names = []
    for code in codes:
        try:
            parsed = parse_code(code)
        except ValueError as error:
            raise ScriptError(f"timelines({what}=...): {error}") from None
        if parsed is Code.OK:
            raise ScriptError(f"timelines({what}=...): OK is not an error code")
        names.append(parsed.name)
    return tuple(names)


def timelines(
    *,
    responses: st.SearchStrategy[Any] | Mapping[str, Any] | None = None,
    metadata: st.SearchStrategy[Any] | Mapping[str, Any] | None = None,
    error_codes: Sequence[str | int | Code] = OPERATION_ERROR_CODES,
    error_details: bool = True,
    trigger: str = "time",
    max_seconds: int = 3600,
    max_polls: int = 10,
    max_updates: int = 3,
    cancel: Sequence[str] = CANCEL_POLICIES,
    max_cancel_delay: int = 60,
    faults: Sequence[str | int | Code | float | timedelta] = (),
    max_faults: int = 3,
) -> st.SearchStrategy[Timeline]:
    """A strategy of operation timelines valid under the emulator's schemas, each ending with a result.

    ``responses`` and ``metadata``: a strategy (or one fixed value) of the Any payloads (default: small Structs).
    ``error_codes``: the codes a failed operation may end with (none: it always succeeds); ``error_details``:
    whether errors carry details (ErrorInfo, RetryInfo, LocalizedMessage). ``trigger``: ``"time"`` (steps at whole
    virtual seconds up to ``max_seconds`` after creation), ``"polls"`` (after up to ``max_polls`` polls) or
    ``"either"``. ``max_updates`` metadata updates come before the result. ``cancel``: the policies to draw from
    (`CANCEL_POLICIES`; ``"delayed"`` accepts after up to ``max_cancel_delay`` seconds). ``faults``: the transient
    faults a poll may meet, error codes (``"UNAVAILABLE"``) or delays (seconds, or a `timedelta`), up to
    ``max_faults`` of them on distinct polls among the first ``max_polls``.

    Examples shrink toward one step (a response at once), the first cancel policy given, and no faults.
    """
    response_strategy = _strategy(responses, "responses") if responses is not None else _structs()
    metadata_strategy = _strategy(metadata, "metadata") if metadata is not None else _structs()
    codes = _codes(error_codes, "error_codes")
    if trigger not in (*TRIGGERS, "either"):
        raise ScriptError(f"timelines(trigger=...) takes 'time', 'polls' or 'either'; got {trigger!r}")
    for limit, what in ((max_seconds, "max_seconds"), (max_polls, "max_polls"), (max_updates, "max_updates"),
                        (max_cancel_delay, "max_cancel_delay"), (max_faults, "max_faults")):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ScriptError(f"timelines({what}=...) takes a whole number, 0 or more; got {limit!r}")
    unknown = [mode for mode in cancel if mode not in CANCEL_POLICIES]
    if unknown or not cancel:
        raise ScriptError(f"timelines(cancel=...) takes some of {', '.join(CANCEL_POLICIES)}; got {list(cancel)!r}")
    effects: list[PollFault] = []
    for fault in faults:
        if isinstance(fault, (timedelta, float)):
            seconds = fault.total_seconds() if isinstance(fault, timedelta) else fault
            if seconds <= 0:
                raise ScriptError(f"timelines(faults=...): a delay must be positive, got {fault!r}")
            effects.append(PollFault(0, delay=seconds))
        else:
            effects.append(PollFault(0, error=_codes([fault], "faults")[0]))
    if effects and max_polls < 1:
        raise ScriptError("timelines(faults=...) needs max_polls of 1 or more: faults fall on the first max_polls")

    def result(draw: st.DrawFn, when: dict[str, Any], final_metadata: JSON | None) -> TimelineStep:
        # Listed first, so examples shrink toward success.
        if not codes or not draw(st.booleans()):
            return TimelineStep(**when, metadata=final_metadata, response=draw(response_strategy))
        status: JSON = {"code": int(Code[draw(st.sampled_from(codes))])}
        message = draw(st.sampled_from(["", "The operation failed."]))
        if message:
            status["message"] = message
        if error_details:
            details = draw(st.lists(_details(), max_size=2, unique_by=lambda detail: detail["@type"]))
            if details:
                status["details"] = details
        return TimelineStep(**when, metadata=final_metadata, error=status)

    @st.composite
    def build(draw: st.DrawFn) -> Timeline:
        on_polls = trigger == "polls" or (trigger == "either" and draw(st.booleans()))
        limit = max_polls if on_polls else max_seconds
        updates = sorted(draw(st.lists(st.integers(0, limit), max_size=max_updates)))
        end = draw(st.integers(updates[-1] if updates else 0, limit))
        key = "after_polls" if on_polls else "at"
        when_of: dict[str, Any] = {}
        steps = []
        for when in updates:
            when_of[key] = when
            steps.append(TimelineStep(**when_of, metadata=draw(metadata_strategy)))
        final_metadata = draw(st.none() | metadata_strategy)
        steps.append(result(draw, {key: end}, final_metadata))
        mode = draw(st.sampled_from(list(cancel)))
        if mode == "delayed":
            # A timeline counting polls cannot say whether a delayed cancel lands before its result: at once there.
            after = 0 if on_polls else draw(st.integers(1, max(1, max_cancel_delay)))
            policy = CancelPolicy("accept", after)
        elif mode == "refuse":
            policy = CancelPolicy("refuse", code=draw(st.sampled_from(["FAILED_PRECONDITION", "UNIMPLEMENTED"])))
        else:
            policy = CancelPolicy(mode)
        drawn: tuple[PollFault, ...] = ()
        if effects:
            chosen = draw(st.lists(st.tuples(st.integers(1, max_polls), st.sampled_from(effects)),
                                   max_size=max_faults, unique_by=lambda pair: pair[0]))
            drawn = tuple(sorted((dataclasses.replace(effect, nth=nth) for nth, effect in chosen),
                                 key=lambda fault: fault.nth))
        return Timeline(tuple(steps), policy, drawn)

    return build()

