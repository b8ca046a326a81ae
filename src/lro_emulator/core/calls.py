"""The call log: every request the emulator answered, with assertions in unittest.mock's words.

``emu.calls`` holds every call; ``op.calls`` those naming one operation, with assertions about how
it was polled (how often, when, at which intervals), cancelled, deleted and waited on. A failed
assertion shows the calls that were made next to what was expected.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, overload

__all__ = ["POLL_RPCS", "Call", "CallList", "FaultOnCall", "OperationCalls", "format_offset"]

#: The RPCs that read an operation's state: a client polls with them.
POLL_RPCS = ("GetOperation", "WaitOperation")
#: How many calls an assertion message lists before it elides the middle.
_SHOWN = 40


class FaultOnCall(Protocol):
    """What the call log knows of the fault that fired on a call: a `Fault` is one."""

    @property
    def validated(self) -> bool:
        """Whether the answers it spoils are still checked against the schemas."""

    def describe(self) -> str:
        """One line saying what the fault does and which calls it aims at."""


@dataclasses.dataclass(frozen=True, init=False)
class Call:
    """One request as the emulator saw it.

    ``rpc`` is the Operations method (``"GetOperation"``, ...) or None for a request that matched no
    route; ``status`` is the HTTP status answered (0 when the connection dropped before any) and
    ``code`` the ``google.rpc.Code`` name; ``time`` the virtual instant the request arrived;
    ``fault`` the `Fault` that fired on it, if one did.
    """

    rpc: str | None
    method: str
    path: str
    name: str | None
    status: int
    code: str
    time: datetime
    transport: str = "http"
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    query: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    body: Any = dataclasses.field(default=None, repr=False)
    fault: FaultOnCall | None = dataclasses.field(default=None, repr=False)

    def __init__(self, rpc: str | None, method: str, path: str, name: str | None, status: int, code: str,
                 time: datetime, transport: str = "http", headers: Mapping[str, str] | None = None,
                 query: Mapping[str, str] | None = None, body: Any = None, fault: FaultOnCall | None = None) -> None:
        # Every call served makes one: a frozen dataclass's own __init__ sets each field through object.__setattr__,
        # a third of what serving a poll costs. The fields above stay the definition (repr, ==, hash, replace).
        object.__setattr__(self, "__dict__", {
            "rpc": rpc, "method": method, "path": path, "name": name, "status": status, "code": code, "time": time,
            "transport": transport, "headers": {} if headers is None else headers,
            "query": {} if query is None else query, "body": body, "fault": fault})

    @property
    def validated(self) -> bool:
        """False for the one kind of answer the emulator does not check against its schemas: ``respond()``."""
        return self.fault is None or self.fault.validated

    def line(self, origin: datetime | None = None) -> str:
        """One line for a person: when (``+12.5s`` after ``origin``), what, which answer, which fault."""
        when = self.time.isoformat() if origin is None else "+" + format_offset((self.time - origin).total_seconds())
        what = self.rpc or f"{self.method} {self.path}"
        if self.status == 0:
            answer = "dropped"
        else:
            answer = self.code if self.transport == "grpc" else f"{self.status} {self.code}"
        text = f"{when:>10}  {what:<16} {self.transport:<4}  {answer}"
        if self.fault is not None:
            text += f"  [{self.fault.describe()}]"
        return text


class CallList:
    """A thread-safe, append-only list of `Call`: ``called``, ``call_count``, ``last``, ``filter`` and assertions."""

    def __init__(
        self,
        calls: list[Call] | None = None,
        *,
        listener: Callable[[Call], None] | None = None,
        label: str = "the emulator",
        origin: datetime | None = None,
        max_calls: int | None = None,
    ) -> None:
        self._calls: list[Call] = list(calls or [])
        self._lock = threading.Lock()
        self._listener = listener
        #: At most this many calls are kept (None: all); beyond it the oldest go, and `dropped` counts them.
        self.max_calls = max_calls
        self._dropped = 0
        #: Whose calls these are, for assertion messages ("operation 'x'", "GetOperation calls").
        self.label = label
        #: The instant call times are shown relative to (an operation's creation), if any.
        self.origin = origin

    def _record(self, call: Call) -> None:
        """Append a call (the call pipeline does this; tests read) and tell the listener, if any.

        Past `max_calls`, the oldest tenth is dropped at once (dropping one at a time would copy the list on every
        call), so a day-long server's log stays bounded.
        """
        with self._lock:
            self._calls.append(call)
            if self.max_calls is not None and len(self._calls) > self.max_calls:
                excess = len(self._calls) - self.max_calls + self.max_calls // 10
                del self._calls[:excess]
                self._dropped += excess
        if self._listener is not None:
            self._listener(call)

    @property
    def dropped(self) -> int:
        """How many of the oldest calls were dropped to keep the log within `max_calls`."""
        return self._dropped

    def filter(
        self,
        *,
        rpc: str | Sequence[str] | None = None,
        name: str | None = None,
        status: int | None = None,
        code: str | None = None,
        transport: str | None = None,
        faulted: bool | None = None,
    ) -> CallList:
        """The calls matching every given attribute, as a new `CallList` (``rpc`` may list several)."""
        rpcs = (rpc,) if isinstance(rpc, str) else rpc
        chosen = [
            call for call in self
            if (rpcs is None or call.rpc in rpcs)
            and (name is None or call.name == name)
            and (status is None or call.status == status)
            and (code is None or call.code == code)
            and (transport is None or call.transport == transport)
            and (faulted is None or (call.fault is not None) == faulted)
        ]
        criteria = [f"naming {name!r}" if name is not None else "",
                    f"answered {code or status}" if code is not None or status is not None else "",
                    f"over {transport}" if transport is not None else "",
                    {True: "that met a fault", False: "that met no fault", None: ""}[faulted]]
        what = " or ".join(rpcs) if rpcs else "calls"
        label = " ".join([what, *(part for part in criteria if part), "of", self.label])
        return CallList(chosen, label=label, origin=self.origin)

    # -- reading -------------------------------------------------------------------------------------

    @property
    def called(self) -> bool:
        """Whether any call was recorded."""
        return bool(self._calls)

    @property
    def call_count(self) -> int:
        """How many calls were recorded."""
        return len(self._calls)

    @property
    def last(self) -> Call:
        """The most recent call; `IndexError` when there is none."""
        with self._lock:
            if not self._calls:
                raise IndexError("no calls were recorded")
            return self._calls[-1]

    @property
    def times(self) -> list[datetime]:
        """The virtual instant each call arrived."""
        return [call.time for call in self]

    @property
    def intervals(self) -> list[float]:
        """Seconds between consecutive calls, on the virtual clock (one fewer than the calls)."""
        times = self.times
        return [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]

    def format(self) -> str:
        """The calls, one line each (the middle elided past 40), as assertion messages show them."""
        calls = list(self)
        if not calls:
            return "  (no calls)"
        lines = [f"  {index:>3}. {call.line(self.origin)}" for index, call in enumerate(calls, 1)]
        if len(lines) > _SHOWN:
            half = _SHOWN // 2
            lines = [*lines[:half], f"       ... {len(lines) - _SHOWN} more ...", *lines[-half:]]
        return "\n".join(lines)

    # -- assertions (unittest.mock's names) -----------------------------------------------------------

    def assert_called(self) -> None:
        """Fail unless at least one call was made."""
        __tracebackhide__ = True
        if not self.called:
            self._fail(f"expected {self.label} to be called; it was never called")

    def assert_not_called(self) -> None:
        """Fail if any call was made."""
        __tracebackhide__ = True
        if self.called:
            self._fail(f"expected {self.label} not to be called; it was called {_times(len(self))}")

    def assert_called_once(self) -> None:
        """Fail unless exactly one call was made."""
        __tracebackhide__ = True
        self.assert_call_count(1)

    def assert_call_count(self, count: int) -> None:
        """Fail unless exactly ``count`` calls were made."""
        __tracebackhide__ = True
        if len(self) != count:
            self._fail(f"expected {self.label} to be called {_times(count)}; it was called {_times(len(self))}")

    def assert_any_call(self, **attributes: Any) -> None:
        """Fail unless some call has every given attribute (``rpc="CancelOperation", name=...``)."""
        __tracebackhide__ = True
        unknown = set(attributes) - {field.name for field in dataclasses.fields(Call)}
        if unknown:
            raise TypeError(f"assert_any_call() got {sorted(unknown)}; a Call has "
                            f"{', '.join(field.name for field in dataclasses.fields(Call))}")
        if not any(all(getattr(call, key) == value for key, value in attributes.items()) for call in self):
            wanted = ", ".join(f"{key}={value!r}" for key, value in attributes.items())
            self._fail(f"expected a call of {self.label} with {wanted}; none was made")

    def assert_headers(self, expected: Mapping[str, str | re.Pattern[str] | Any]) -> None:
        """Fail unless every call carried each header: equal to a string, matching a compiled pattern
        (``re.compile(...)``, searched), or present at all when the value is ``...``.
        """
        __tracebackhide__ = True
        if not self.called:
            self._fail(f"expected calls of {self.label} with headers {sorted(expected)}; there were no calls")
        problems = []
        for index, call in enumerate(self, 1):
            for header, want in expected.items():
                got = call.headers.get(header.lower())
                if got is None:
                    problems.append(f"call {index} ({call.rpc}) has no {header} header")
                elif isinstance(want, re.Pattern):
                    if want.search(got) is None:
                        problems.append(f"call {index} ({call.rpc}) {header}: {got!r} does not match {want.pattern!r}")
                elif want is not Ellipsis and got != want:
                    problems.append(f"call {index} ({call.rpc}) {header}: {got!r} != {want!r}")
        if problems:
            shown = "\n".join(f"  {problem}" for problem in problems[:_SHOWN])
            more = f"\n  ... {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
            raise AssertionError(f"headers of {self.label} differ from what was expected:\n{shown}{more}")

    def _fail(self, message: str) -> None:
        __tracebackhide__ = True
        end = "" if message.endswith("\n") else ".\n"
        raise AssertionError(f"{message}{end}Calls of {self.label}:\n{self.format()}")

    # -- the list ------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        with self._lock:
            return iter(list(self._calls))

    @overload
    def __getitem__(self, index: int) -> Call: ...
    @overload
    def __getitem__(self, index: slice) -> list[Call]: ...
    def __getitem__(self, index: int | slice) -> Call | list[Call]:
        with self._lock:
            return self._calls[index]

    def __repr__(self) -> str:
        return f"CallList({self._calls!r})"


class OperationCalls(CallList):
    """The calls naming one operation (``op.calls``), times shown from its creation, with polling assertions.

    Polls are GetOperation and WaitOperation calls, whatever they were answered (a retried poll
    that met an injected fault is still a poll the client made).
    """

    def __init__(self, calls: list[Call], *, name: str, created: datetime) -> None:
        super().__init__(calls, label=f"operation {name!r}", origin=created)
        self.name = name
        self.created = created

    @property
    def polls(self) -> CallList:
        """The GetOperation and WaitOperation calls."""
        return self.filter(rpc=POLL_RPCS)

    @property
    def poll_times(self) -> list[float]:
        """When each poll arrived, in seconds after the operation was created."""
        return [(moment - self.created).total_seconds() for moment in self.polls.times]

    @property
    def poll_intervals(self) -> list[float]:
        """Seconds between consecutive polls: what a client's backoff produced."""
        return self.polls.intervals

    def assert_polled(self, times: int | None = None) -> None:
        """Fail unless the operation was polled (exactly ``times`` times, when given)."""
        __tracebackhide__ = True
        polls = self.polls
        if times is None and not polls.called:
            polls._fail(f"expected {self.label} to be polled; it was never polled")
        if times is not None and len(polls) != times:
            polls._fail(f"expected {self.label} to be polled {_times(times)}; it was polled {_times(len(polls))}")

    def assert_not_polled(self) -> None:
        """Fail if the operation was polled at all."""
        __tracebackhide__ = True
        polls = self.polls
        if polls.called:
            polls._fail(f"expected {self.label} not to be polled; it was polled {_times(len(polls))}")

    def assert_polled_at(self, *seconds: float, tolerance: float = 1e-6) -> None:
        """Fail unless the polls arrived exactly at these instants (seconds after creation), and no others."""
        __tracebackhide__ = True
        self._compare("poll instants (s after creation)", self.poll_times, list(seconds), None, None, tolerance)

    def assert_poll_intervals(
        self,
        expected: Sequence[float] | None = None,
        *,
        at_least: float | Sequence[float] | None = None,
        at_most: float | Sequence[float] | None = None,
        tolerance: float = 1e-6,
    ) -> None:
        """Fail unless the intervals between polls are as ``expected``, or within ``at_least``/``at_most``.

        Bounds are one number for every interval or one per interval: a client with exponential
        backoff and full jitter is checked with ``at_most=[1, 1.5, 2.25, ...]``.
        """
        __tracebackhide__ = True
        if expected is None and at_least is None and at_most is None:
            raise TypeError("assert_poll_intervals() needs expected intervals, at_least= or at_most=")
        self._compare("intervals between polls (s)", self.poll_intervals,
                      None if expected is None else list(expected), at_least, at_most, tolerance)

    def assert_cancelled(self, *, at: float | None = None) -> None:
        """Fail unless a CancelOperation for the operation was answered OK (at ``at`` s after creation, if given)."""
        __tracebackhide__ = True
        self._assert_done_by("CancelOperation", "cancelled", at)

    def assert_not_cancelled(self) -> None:
        """Fail if the client asked to cancel the operation at all."""
        __tracebackhide__ = True
        self.filter(rpc="CancelOperation").assert_not_called()

    def assert_deleted(self, *, at: float | None = None) -> None:
        """Fail unless a DeleteOperation for the operation was answered OK (at ``at`` s after creation, if given)."""
        __tracebackhide__ = True
        self._assert_done_by("DeleteOperation", "deleted", at)

    def assert_waited(self, times: int | None = None) -> None:
        """Fail unless the client called WaitOperation on the operation (exactly ``times`` times, when given)."""
        __tracebackhide__ = True
        waits = self.filter(rpc="WaitOperation")
        if times is None:
            waits.assert_called()
        else:
            waits.assert_call_count(times)

    def _assert_done_by(self, rpc: str, what: str, at: float | None) -> None:
        __tracebackhide__ = True
        answered = [call for call in self.filter(rpc=rpc) if call.code == "OK"]
        if not answered:
            self._fail(f"expected {self.label} to be {what} ({rpc} answered OK); it was not")
        if at is not None:
            instants = [(call.time - self.created).total_seconds() for call in answered]
            if not any(math.isclose(instant, at, abs_tol=1e-6) for instant in instants):
                shown = ", ".join(f"+{format_offset(instant)}" for instant in instants)
                self._fail(f"expected {self.label} to be {what} at +{format_offset(at)}; it was {what} at {shown}")

    def _compare(
        self,
        what: str,
        actual: list[float],
        expected: list[float] | None,
        at_least: float | Sequence[float] | None,
        at_most: float | Sequence[float] | None,
        tolerance: float,
    ) -> None:
        __tracebackhide__ = True
        count = len(actual) if expected is None else max(len(actual), len(expected))
        lows, highs = _bounds(at_least, count), _bounds(at_most, count)
        rows, wrong = [], False
        for index in range(count):
            got = actual[index] if index < len(actual) else None
            checks = []
            if expected is not None:
                want = expected[index] if index < len(expected) else None
                ok = got is not None and want is not None and math.isclose(got, want, abs_tol=tolerance)
                checks.append((ok, "no interval here" if want is None else _number(want)))
            low = None if lows is None else lows[index]
            high = None if highs is None else highs[index]
            if low is not None:
                checks.append((got is not None and got >= low - tolerance, f">= {_number(low)}"))
            if high is not None:
                checks.append((got is not None and got <= high + tolerance, f"<= {_number(high)}"))
            ok = all(passed for passed, _ in checks)
            wrong = wrong or not ok
            shown = "(none)" if got is None else _number(got)
            wanted = " and ".join(text for _, text in checks) or "anything (not bounded)"
            rows.append(f"  {'  ' if ok else '> '}{index + 1:>3}. {shown:>12}   expected {wanted}")
        if expected is not None and len(actual) != len(expected):
            wrong = True
        if wrong:
            table = "\n".join(rows) or "  (none)"
            self._fail(f"{what} of {self.label} differ from what was expected (> marks each difference; "
                       f"{len(actual)} actual, {'any number' if expected is None else len(expected)} expected):\n"
                       f"{table}\n")


def _bounds(value: float | Sequence[float] | None, count: int) -> list[float | None] | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return [float(value)] * count
    bounds: list[float | None] = [float(item) for item in value]
    if len(bounds) < count:
        bounds.extend([None] * (count - len(bounds)))  # intervals beyond the list are not bounded
    return bounds


def _number(value: float) -> str:
    """Seconds with enough digits to tell two values apart (microseconds, as the clock counts)."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def format_offset(seconds: float) -> str:
    """``12.5s``, ``2m30s``, ``1h0m5s``: a virtual duration as a person reads it."""
    sign = "-" if seconds < 0 else ""
    millis = round(abs(seconds) * 1000)  # milliseconds: what a person reads, and what tells two polls apart
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    has_secs = secs != "0"
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes or (hours and has_secs) else "",
             f"{secs}s" if has_secs or not (hours or minutes) else ""]
    return sign + "".join(parts)
