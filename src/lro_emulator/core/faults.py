"""Fault injection: which calls go wrong, and how, independent of any transport.

A `Fault` is aimed (by RPC, operation name or pattern, transport) and selects among the calls it
is aimed at (the nth, the first k, those in a virtual time window, or a seeded share of them).
The core decides *whether* a call is faulted; the transports carry out *what* happens on their
wire (an error status, a held answer, a dropped connection, a garbled body).
"""

from __future__ import annotations

import dataclasses
import enum
import random
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ..wire.codes import Code, parse_code
from ..wire.errors import ScriptError, StaleHandle, StatusError
from ..wire.proto3_json import JSON, format_timestamp, json_problems, parse_timestamp, to_timedelta
from .calls import CallList
from .globs import Glob
from .tenure import Tenure

__all__ = ["Effect", "Fault", "FaultPlan"]

TRANSPORTS = ("http", "grpc")
# Statuses whose responses carry no body.
_BODILESS = frozenset({204, 205, 304})
#: How long, in real seconds, a ``hang`` holds an answer for a client that never gives up.
DEFAULT_HANG_LIMIT = 10.0


class Effect(str, enum.Enum):
    """What a fault does to a call it fires on."""

    ERROR = "error"  #: answer an error status (with details) instead of serving the call
    DELAY = "delay"  #: serve the call, and answer it later on the virtual clock
    HANG = "hang"  #: serve the call, and hold the answer in real time until the client gives up
    RESET = "reset"  #: drop the connection before the call is served
    DISCONNECT = "disconnect"  #: serve the call, and drop the connection halfway through the answer
    MALFORMED = "malformed"  #: serve the call, and answer a body that does not parse
    TRUNCATE = "truncate"  #: serve the call, and answer a body cut short
    RESPOND = "respond"  #: answer the given JSON document as it is, unvalidated, instead of serving the call

    @property
    def serves(self) -> bool:
        """Whether the call is served (and may change the state) before the fault spoils its answer."""
        return self not in (Effect.ERROR, Effect.RESET, Effect.RESPOND)


@dataclasses.dataclass(eq=False)
class Fault:
    """One scripted fault and the calls it fired on (``fired``, a `CallList`).

    Create faults with ``emu.fault(...)`` followed by an effect (``.error(...)``, ``.delay(...)``, ...)
    or in a scenario file's ``faults`` list. ``fired`` and ``matched`` work only during the test that scripted
    it (until the next reset, outside pytest), then raise `StaleHandle`; what it is aimed at stays readable.
    """

    number: int
    effect: Effect
    rpc: str | None = None
    name: str | None = None
    transport: str | None = None  # "http" or "grpc"
    nth: int | None = None
    first: int | None = None
    during: tuple[datetime, datetime] | None = None
    probability: float | None = None
    seed: str = "0"
    error: StatusError | None = None
    delay: timedelta | None = None
    hang_limit: float = DEFAULT_HANG_LIMIT
    body: Any = None
    status: int = 200

    def __post_init__(self) -> None:
        self._pattern = None if self.name is None else _name_pattern(self.name)
        self._random = random.Random(self.seed)
        self._matched = 0
        # Kept private so that reading them goes through the check below; the call pipeline records here.
        self._fired = CallList()
        #: The tenure of the state it is scripted in (`FaultPlan.add` gives it); a fault of no plan never ends.
        self._tenure = Tenure()

    @property
    def matched(self) -> int:
        """How many calls it was aimed at so far (whether it fired on them or not)."""
        self._live()
        return self._matched

    @property
    def fired(self) -> CallList:
        """The calls it fired on, in order."""
        self._live()
        return self._fired

    def _live(self) -> None:
        __tracebackhide__ = True
        if self._tenure.ended is not None:
            raise StaleHandle(self._tenure.message(f"fault {self.number}"))

    def aims_at(self, rpc: str | None, name: str | None, transport: str) -> bool:
        """Whether a call of ``rpc`` naming ``name`` over ``transport`` is one this fault is aimed at."""
        if self.rpc is not None and rpc != self.rpc:
            return False
        if self.transport is not None and transport != self.transport:
            return False
        if self._pattern is not None and (name is None or not self._pattern.fullmatch(name)):
            return False
        return rpc is not None  # requests that match no route are answered by the router, never faulted

    def _selects(self, now: datetime) -> bool:
        """Count one more aimed call and say whether the fault fires on it (draws its dice either way)."""
        self._matched += 1
        if self.probability is not None:
            # Drawn for every aimed call, so each fault's draws depend on its own seed and calls only.
            return self._random.random() < self.probability
        if self.nth is not None:
            return self._matched == self.nth
        if self.first is not None:
            return self._matched <= self.first
        if self.during is not None:
            return self.during[0] <= now < self.during[1]
        return True

    @property
    def validated(self) -> bool:
        """Whether the answers it spoils are still checked against the schemas: all but ``respond()``'s."""
        return self.effect is not Effect.RESPOND

    def describe(self) -> str:
        """``fault 1: error UNAVAILABLE on GetOperation projects/p/operations/*, first 2 calls``."""
        what = self.effect.value
        if self.error is not None:
            what += f" {self.error.code.name}"
        elif self.delay is not None:
            what += f" {self.delay.total_seconds():g}s"
        elif self.effect is Effect.RESPOND:
            what += f" {self.status} (unvalidated)"
        aim = " ".join(part for part in (self.rpc or "any RPC", self.name, self.transport and f"over {self.transport}")
                       if part)
        return f"fault {self.number}: {what} on {aim}, {self._selection()}"

    def _selection(self) -> str:
        if self.probability is not None:
            return f"probability {self.probability:g} (seed {self.seed!r})"
        if self.nth is not None:
            return f"call {self.nth} only"
        if self.first is not None:
            return f"first {self.first} call{'s' if self.first != 1 else ''}"
        if self.during is not None:
            return f"calls from {format_timestamp(self.during[0])} to {format_timestamp(self.during[1])}"
        return "every call"

    def __repr__(self) -> str:
        return f"<{self.describe()}; fired {len(self._fired)} of {self._matched}>"


class FaultPlan:
    """The faults of one emulator state, in the order they were scripted. Thread-safe."""

    def __init__(self, seed: object = 0, tenure: Tenure | None = None) -> None:
        self.seed = seed
        #: The tenure of the state the plan belongs to, which each fault and builder of it shares.
        self.tenure = Tenure() if tenure is None else tenure
        #: Whether REST calls are answered in-process (an interception): then there is no connection for a fault
        #: to drop or hold, and faults that need one are refused where they are scripted.
        self.in_process = False
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Keep ``fault`` (numbered in order from 1); a `ScriptError` if it needs a connection REST calls lack."""
        __tracebackhide__ = True
        with self._lock:  # the check and the add are one step against `answer_in_process`
            if self.in_process:
                refuse_connection_faults([fault])
            fault.number = len(self._faults) + 1
            fault._tenure = self.tenure
            self._faults.append(fault)
        return fault

    def answer_in_process(self, on: bool) -> None:
        """Say whether REST calls are answered in-process from now on; turning it on is a `ScriptError` (and
        changes nothing) if a fault already scripted needs a connection."""
        __tracebackhide__ = True
        with self._lock:
            if on:
                refuse_connection_faults(self._faults)
            self.in_process = on

    def checkpoint(self) -> int:
        """A mark to `rollback` to (a scenario that fails to load leaves no fault behind)."""
        return len(self._faults)

    def rollback(self, mark: int) -> None:
        """Forget the faults added since ``mark``."""
        with self._lock:
            del self._faults[mark:]

    def next_number(self) -> int:
        """The number the next fault will get."""
        return len(self._faults) + 1

    def select(self, rpc: str | None, name: str | None, transport: str, now: datetime) -> Fault | None:
        """The fault that fires on this call, if any: the first scripted among those that select it.

        Every fault aimed at the call counts it (and rolls its dice), whether or not an earlier
        fault fires, so that one fault's selection never depends on another's.
        """
        if not self._faults:
            return None  # most calls, with no fault scripted: no lock to take (a fault scripted meanwhile is later)
        chosen: Fault | None = None
        with self._lock:
            for fault in self._faults:
                if fault.aims_at(rpc, name, transport) and fault._selects(now) and chosen is None:
                    chosen = fault
        return chosen

    def __iter__(self) -> Any:
        with self._lock:
            return iter(list(self._faults))

    def __len__(self) -> int:
        return len(self._faults)


#: The effects that act on the connection itself, which a call answered in-process does not have.
CONNECTION_EFFECTS = frozenset({Effect.HANG, Effect.RESET, Effect.DISCONNECT})


def refuse_connection_faults(faults: Iterable[Fault]) -> None:
    """Raise `ScriptError` for the first fault that would drop or hold a REST connection: REST calls are being
    answered in-process, where there is none."""
    __tracebackhide__ = True
    for fault in faults:
        if fault.effect in CONNECTION_EFFECTS and fault.transport != "grpc":
            raise ScriptError(f"{fault.effect.value}() acts on the connection, and REST calls are answered "
                              "in-process while the emulator intercepts Google's hosts (there is no connection to "
                              f"{'hold' if fault.effect is Effect.HANG else 'drop'}); aim it at transport='grpc', "
                              "or test it over the socket: point the client at emu.url without intercepting")


class FaultBuilder:
    """The aim of a fault being scripted; one of its methods says what the fault does and adds it.

    Returned by ``emu.fault(...)``; each effect method returns the `Fault`, whose ``fired`` lists
    the calls it fired on. After the test that made it (the next reset, outside pytest), each raises `StaleHandle`.
    """

    def __init__(
        self, plan: FaultPlan, clock_now: datetime, check_error: Callable[[StatusError], None], **aim: Any
    ) -> None:
        __tracebackhide__ = True
        self._plan = plan
        self._check_error = check_error
        self._aim = _checked_aim(clock_now, plan.seed, plan.next_number(), **aim)

    def error(
        self, code: str | int | Code = Code.UNAVAILABLE, message: str | None = None, *,
        details: Sequence[Mapping[str, Any] | Any] = (), retry_delay: float | timedelta | None = None,
    ) -> Fault:
        """Answer an error instead of serving the call (nothing changes): ``code``, ``message`` and detail messages.

        ``retry_delay`` adds a ``google.rpc.RetryInfo`` saying how long the client should wait.
        """
        __tracebackhide__ = True
        self._live()
        try:
            extra = list(details)
            if retry_delay is not None:
                seconds = to_timedelta(retry_delay, what="retry_delay").total_seconds()
                if seconds < 0:
                    raise ValueError(f"retry_delay must not be negative, got {retry_delay!r}")
                extra.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{seconds:g}s"})
            failure = StatusError(code, message if message is not None else _default_message(code),
                               reason="INJECTED_FAULT", details=extra)
        except (TypeError, ValueError) as error:
            raise ScriptError(f"error(): {error}") from None
        self._check_error(failure)  # the answer it makes must be a valid envelope (and pack, once gRPC serves)
        return self._add(Effect.ERROR, error=failure)

    def delay(self, seconds: float | timedelta | str) -> Fault:
        """Serve the call, and answer ``seconds`` later on the virtual clock (in real time on a paced server).

        Over gRPC, whose clients send their deadline, a deadline shorter than the delay ends the
        call DEADLINE_EXCEEDED once it passes, as the client's own timer would.
        """
        __tracebackhide__ = True
        self._live()
        try:
            delay = to_timedelta(seconds, what="delay()")
        except ValueError as error:
            raise ScriptError(str(error)) from None
        if delay <= timedelta(0):
            raise ScriptError(f"delay() needs a positive duration, got {seconds!r}")
        return self._add(Effect.DELAY, delay=delay)

    def hang(self, limit: float = DEFAULT_HANG_LIMIT) -> Fault:
        """Serve the call, and hold the answer in real time until the client gives up (at most ``limit`` seconds).

        This is how a client's per-call timeout is tested over REST, whose clients keep their
        timeout to themselves: the client's own timer fires, for real.
        """
        __tracebackhide__ = True
        self._live()
        if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not 0 < limit <= 3600:
            raise ScriptError(f"hang(limit=) is real seconds, more than 0 and at most 3600; got {limit!r}")
        return self._add(Effect.HANG, hang_limit=float(limit))

    def reset(self) -> Fault:
        """Drop the connection before the call is served (over gRPC: UNAVAILABLE, as a lost connection reads)."""
        return self._add(Effect.RESET)

    def disconnect(self) -> Fault:
        """Serve the call, and close the connection halfway through the answer (over gRPC: UNAVAILABLE)."""
        return self._add(Effect.DISCONNECT)

    def malformed(self) -> Fault:
        """Serve the call, and answer a body that does not parse (JSON with a syntax error; bytes no message takes)."""
        return self._add(Effect.MALFORMED)

    def truncate(self) -> Fault:
        """Serve the call, and answer a body cut short (a complete HTTP response holding half the JSON)."""
        return self._add(Effect.TRUNCATE)

    def respond(self, body: Any, *, status: int = 200) -> Fault:
        """Answer ``body`` (any JSON value) with ``status``, unvalidated, instead of serving the call. REST only.

        The one place where the emulator sends what its schemas forbid, on purpose: the call log
        marks such calls (``call.validated`` is False).
        """
        __tracebackhide__ = True
        self._live()
        if self._aim.get("transport") == "grpc":
            raise ScriptError("respond() sends a JSON body, which gRPC does not carry; over gRPC use malformed(), "
                              "truncate() or error()")
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise ScriptError(f"respond(status=) must be an HTTP status from 200 to 599, got {status!r}")
        if status in _BODILESS:
            raise ScriptError(f"respond(status={status}) cannot carry a body (HTTP forbids one), so the client would "
                              "never see it; choose another status")
        problem = next(json_problems(body), None)
        if problem is not None:
            raise ScriptError(f"respond() body has no JSON form: {problem[0] or '/'}: {problem[1]}")
        return self._add(Effect.RESPOND, body=body, status=status, transport="http")

    def _live(self) -> None:
        """`StaleHandle` once the builder's test has ended (before its arguments are checked, which is moot then)."""
        __tracebackhide__ = True
        self._plan.tenure.check("this FaultBuilder")

    def _add(self, effect: Effect, **fields: Any) -> Fault:
        __tracebackhide__ = True
        self._live()
        aim = dict(self._aim)
        aim.update(fields)
        return self._plan.add(Fault(number=0, effect=effect, **aim))


def _checked_aim(
    now: datetime,
    plan_seed: object,
    number: int,
    *,
    rpc: str | None = None,
    name: str | None = None,
    transport: str | None = None,
    nth: int | None = None,
    first: int | None = None,
    during: tuple[Any, Any] | None = None,
    probability: float | None = None,
    seed: object = None,
) -> JSON:
    """The aim of a fault, every argument checked; `ScriptError` naming the one at fault."""
    __tracebackhide__ = True
    for label, value in (("rpc", rpc), ("name", name)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ScriptError(f"fault({label}=) must be a non-empty string, got {value!r}")
    if transport is not None and transport not in TRANSPORTS:
        raise ScriptError(f"fault(transport=) must be 'http' or 'grpc', got {transport!r}")
    given = [label for label, value in (("nth", nth), ("first", first), ("during", during),
                                        ("probability", probability)) if value is not None]
    if len(given) > 1:
        raise ScriptError(f"fault() selects calls one way: give one of nth=, first=, during=, probability=, "
                          f"not {' and '.join(given)}")
    for label, count in (("nth", nth), ("first", first)):
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ScriptError(f"fault({label}=) counts calls from 1; got {count!r}")
    window = None
    if during is not None:
        window = _window(now, during)
    if probability is not None and (isinstance(probability, bool) or not isinstance(probability, (int, float))
                                    or not 0 <= probability <= 1):
        raise ScriptError(f"fault(probability=) must be a number from 0 to 1, got {probability!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, str))):
        raise ScriptError(f"fault(seed=) must be an int or a string, got {seed!r}")
    # Each fault's dice are its own: seeded by the emulator's seed and the fault's number, unless given.
    fault_seed = str(seed) if seed is not None else f"{plan_seed}/{number}"
    return {"rpc": rpc, "name": name, "transport": transport, "nth": nth, "first": first, "during": window,
            "probability": None if probability is None else float(probability), "seed": fault_seed}


def _window(now: datetime, during: object) -> tuple[datetime, datetime]:
    """``(from, to)``: seconds from now or instants (datetimes or RFC 3339); `ScriptError` otherwise."""
    __tracebackhide__ = True
    if not isinstance(during, (tuple, list)) or len(during) != 2:
        raise ScriptError(f"fault(during=) is a pair (from, to), got {during!r}")
    ends = []
    for end in during:
        try:
            if isinstance(end, (datetime, str)) and not _looks_like_duration(end):
                ends.append(parse_timestamp(end))
            else:
                ends.append(now + to_timedelta(end, what="fault(during=)"))
        except ValueError as error:
            raise ScriptError(f"fault(during=): {error}") from None
    if ends[1] <= ends[0]:
        raise ScriptError(f"fault(during=) must end after it starts, got {during!r}")
    return ends[0], ends[1]


def _looks_like_duration(value: object) -> bool:
    return isinstance(value, str) and value.endswith("s") and value.lstrip("-")[:1].isdigit() and "T" not in value


def _name_pattern(name: str) -> Glob:
    """``*`` matches any run of characters (``/`` included); everything else is literal (in linear time)."""
    return Glob.of(name)


def _default_message(code: str | int | Code) -> str:
    try:
        return f"injected fault: {parse_code(code).name}"
    except ValueError:
        return "injected fault"
