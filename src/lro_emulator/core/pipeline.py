"""The one path every call takes, whatever its transport: admit, pick a fault, serve or fail, record, hold.

A transport reads its wire into a `Target` (which RPC, which operation, how to serve it) and hands it
here with an `Arrival` (where the call came from) and a `Link` (what its connection can tell and do).
What comes back is an `Outcome`: the result to send, or the failure to send instead, and the fault
whose effect the transport carries out on its own wire (a REST reset is a TCP RST, a gRPC malformed
answer is bytes no message decodes). Everything that can be decided without the wire is decided here.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ..wire.codes import Code
from ..wire.errors import StatusError
from ..wire.validation import SchemaViolation
from .calls import Call
from .faults import Effect, Fault

if TYPE_CHECKING:
    from .state import EmulatorState

__all__ = ["CLIENT_DEADLINE_KEY", "Arrival", "Link", "Outcome", "Target", "checked_failure", "emulator_bug",
           "kept_body", "run_call"]

T = TypeVar("T")

# The reason of the DEADLINE_EXCEEDED a delay beyond the client's deadline ends a call with.
DEADLINE_PASSED = "INJECTED_DELAY_PAST_DEADLINE"


# Arrival and Outcome are made for every call and only read after: not frozen, which would set each field through
# object.__setattr__ (microseconds a call).
@dataclasses.dataclass
class Arrival:
    """Where a call came from: its transport (``"http"`` or ``"grpc"``), method, path and headers.

    ``headers`` have lower-case names; ``query`` is the REST query string (it may carry an API key).
    """

    transport: str
    method: str
    path: str
    headers: Mapping[str, str]
    query: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Target(Generic[T]):
    """What a call asks for, as its transport read it.

    ``rpc`` is the method's name, ``serve`` does the work, and ``name`` is the operation (or, for
    ListOperations, the collection) the call names; ``locate`` reads it from the request instead,
    once the method is known to be served. An ``operations`` method is one of the Operations API,
    UNIMPLEMENTED where the profile lacks it whatever the request holds. A start creates the
    operation it names: ``names`` reads that name from what ``serve`` returned. A ``public`` call
    needs no credentials (discovery documents).
    """

    rpc: str
    serve: Callable[[], T]
    name: str | None = None
    locate: Callable[[], str | None] | None = None
    operations: bool = False
    names: Callable[[T], str | None] | None = None
    public: bool = False


#: Where a call served without a connection (a request answered in-process) carries when its client gives up, as a
#: ``time.monotonic()`` reading: past it, the client is as gone as one that hung up its connection.
CLIENT_DEADLINE_KEY = "lro_emulator.deadline"


class Link(Protocol):
    """The transport's side of one call: what its connection can tell and do."""

    #: Whether the wire can drop this one call's connection (REST can; a gRPC call shares its connection).
    can_drop: bool

    def gone(self, wait: float) -> bool:
        """Whether the client has hung up, waiting up to ``wait`` real seconds for it to do so."""

    def time_left(self) -> float | None:
        """Real seconds until the client gives up, when its call says (a gRPC deadline); None otherwise."""


@dataclasses.dataclass
class Outcome(Generic[T]):
    """How a call ended: its ``result``, or the ``failure`` to answer instead; the ``fault`` that fired.

    ``call`` is what the call log recorded. A ``respond`` fault's body replaces the result, and the
    effects that spoil an answer on the wire (reset, disconnect, malformed, truncate) are left to the
    transport; delays and hangs have already been held.
    """

    result: T | None
    failure: StatusError | None
    fault: Fault | None
    call: Call


def run_call(
    state: EmulatorState,
    arrival: Arrival,
    route: Callable[[], Target[T]],
    link: Link,
    *,
    body: Callable[[], Any] = lambda: None,
    failure_of: Callable[[Exception], StatusError | None] = lambda error: None,
) -> Outcome[T]:
    """Serve one call: read it (``route``), check credentials, pick its fault, serve or fail, record, hold.

    ``route`` raising `StatusError` fails the call with it; ``failure_of`` turns the transport's own
    exceptions into errors; any other exception is the emulator's bug (INTERNAL, and a problem that
    fails the test). ``body`` gives the request body for the call log once the call is served, as
    `kept_body` made it (a transport that reads the same request again may keep that once).
    """
    arrived = state.clock.now()
    rpc: str | None = None
    name: str | None = None
    fault: Fault | None = None
    result: T | None = None
    failure: StatusError | None = None
    try:
        target = route()
        rpc, name = target.rpc, target.name
        if target.operations:
            state.service.require(rpc)
        if target.locate is not None:
            name = target.locate()
        if state.auth is not None and not target.public:
            state.auth.check(rpc, arrival.headers, arrival.query)
        fault = state.faults.select(rpc, name, arrival.transport, arrived)
        if fault is None or fault.effect.serves:
            result = target.serve()
            if target.names is not None:
                name = target.names(result)
    except Exception as error:  # no call may end in a traceback or a bare 500
        failure = error if isinstance(error, StatusError) else failure_of(error) or emulator_bug(state, error)
    expired = False
    if fault is not None:
        failure, expired = _faulted(state, fault, link, failure)
    elif failure is not None:
        failure = checked_failure(state, failure)
    if fault is None and failure is None:  # most calls: no enum to read a name from
        status, code = 200, "OK"
    else:
        status, code_of = _status(fault, failure, link)
        code = code_of.name
    query = arrival.query
    call = Call(rpc, arrival.method, arrival.path, name, status, code, arrived, arrival.transport,
                _kept_headers(arrival.headers), _kept_headers(query) if query else {}, body(), fault)
    # Logged before any hold, so that a test sees the call as soon as its client gives up.
    state.calls._record(call)
    if fault is not None:
        fault._fired._record(call)  # not `fired`, which refuses once the test ended: a late call still counts
        if not expired:  # when the deadline passed, the clock has moved to it already
            _hold(state, fault, link)
    return Outcome(result, failure, fault, call)


def _faulted(
    state: EmulatorState, fault: Fault, link: Link, failure: StatusError | None
) -> tuple[StatusError | None, bool]:
    """What a fault makes of a call's failure: ``(the failure to answer, whether the client's deadline passed)``."""
    effect = fault.effect
    if effect is Effect.ERROR:
        assert fault.error is not None
        return checked_failure(state, fault.error), False
    if effect is Effect.RESPOND:
        return None, False
    if effect is Effect.RESET:
        return StatusError(Code.UNAVAILABLE, "Connection reset by peer (injected by lro-emulator before the call was "
                        "served)", reason="INJECTED_FAULT"), False
    if effect is Effect.DISCONNECT and not link.can_drop:
        # A call that cannot drop its own connection ends the way a client reports a lost one.
        return StatusError(Code.UNAVAILABLE, "Socket closed (injected by lro-emulator after the call was served)",
                        reason="INJECTED_FAULT"), False
    if effect is Effect.DELAY:
        assert fault.delay is not None
        remaining = link.time_left()
        if state.pacing is None and remaining is not None and remaining < fault.delay.total_seconds():
            # The client gives up at its deadline, before the answer comes: what its own timer would report.
            state.pass_time(timedelta(seconds=remaining), gone=lambda: False)
            return StatusError(Code.DEADLINE_EXCEEDED, f"Deadline Exceeded (lro-emulator delayed the answer by "
                            f"{fault.delay.total_seconds():g}s; the call's deadline was {remaining:.3g}s away)",
                            reason=DEADLINE_PASSED), True
    return (None if failure is None else checked_failure(state, failure)), False


def _status(fault: Fault | None, failure: StatusError | None, link: Link) -> tuple[int, Code]:
    """The HTTP status and code the call log records for a call."""
    if fault is not None and fault.effect is Effect.RESET and link.can_drop:
        return 0, Code.UNAVAILABLE  # the connection dropped before any answer; a client reads it as unavailable
    if fault is not None and fault.effect is Effect.RESPOND:
        return fault.status, Code.OK if fault.status < 300 else Code.of_http_status(fault.status)
    if failure is not None:
        return failure.code.http_status, failure.code
    return 200, Code.OK


def _hold(state: EmulatorState, fault: Fault, link: Link) -> None:
    """Hold the answer as a delay or a hang says (the connection stays open meanwhile)."""
    if fault.effect is Effect.DELAY:
        assert fault.delay is not None
        state.pass_time(fault.delay, gone=lambda: link.gone(0))
    elif fault.effect is Effect.HANG:
        link.gone(fault.hang_limit)


#: What the call log keeps of a request: header (and query parameter) values up to this many characters, this many
#: of them, and a body whose JSON is up to this many characters. A call stays a few kilobytes however it was sent.
KEPT_VALUE_CHARS = 1024
KEPT_HEADERS = 64
KEPT_BODY_CHARS = 16384


def _kept_headers(values: Mapping[str, str]) -> dict[str, str]:
    kept: dict[str, str] = {}
    if not values:
        return kept
    items = values.items() if len(values) <= KEPT_HEADERS else list(values.items())[:KEPT_HEADERS]
    for key, value in items:
        text = value if type(value) is str else str(value)
        kept[key] = text if len(text) <= KEPT_VALUE_CHARS else text[:KEPT_VALUE_CHARS] + f"... ({len(text):,} chars)"
    return kept


def kept_body(body: Any) -> Any:
    """A request body as the call log keeps it: valid JSON (no infinities), and a marker in place of a large one."""
    if body is None:
        return None
    try:
        text = json.dumps(body, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):  # 1e400 reads as infinity, which JSON cannot write
        body = _json_safe(body)
        text = json.dumps(body, separators=(",", ":"))
    if len(text) > KEPT_BODY_CHARS:
        return f"(a body of {len(text):,} characters, not kept)"
    return body


def _json_safe(value: Any) -> Any:
    """``value`` with each non-finite number written as a string (``"Infinity"``), as JSON can carry it."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value


def checked_failure(state: EmulatorState, failure: StatusError) -> StatusError:
    """The failure as it goes out: itself, or INTERNAL if its AIP-193 envelope would violate the schema."""
    try:
        state.schemas.validate("error-envelope", failure.envelope())
    except SchemaViolation as violation:
        state.problems.append(violation)
        return StatusError(Code.INTERNAL, "the emulator produced an invalid error envelope",
                        reason="RESPONSE_SCHEMA_VIOLATION")
    return failure


def emulator_bug(state: EmulatorState, error: Exception) -> StatusError:
    """A failure of the emulator itself: INTERNAL to the client, and a problem that fails the test."""
    state.problems.append(error)
    return StatusError(Code.INTERNAL, f"the emulator failed on this call: {error!r}", reason="EMULATOR_BUG")
