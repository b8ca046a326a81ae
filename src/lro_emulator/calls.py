"""The call log: every request the emulator answered, in unittest.mock's words."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, overload

__all__ = ["Call", "CallList"]


@dataclasses.dataclass(frozen=True)
class Call:
    """One request as the emulator saw it.

    ``rpc`` is the Operations method (``"GetOperation"``, ...) or None for a request that matched no
    route; ``status`` is the HTTP status answered and ``code`` the ``google.rpc.Code`` name;
    ``time`` the virtual instant the request arrived.
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


class CallList:
    """A thread-safe, append-only list of `Call` with ``called``, ``call_count``, ``last`` and ``filter``."""

    def __init__(self, calls: list[Call] | None = None, *, listener: Callable[[Call], None] | None = None) -> None:
        self._calls: list[Call] = list(calls or [])
        self._lock = threading.Lock()
        self._listener = listener

    def record(self, call: Call) -> None:
        """Append a call (transports do this; tests read) and tell the listener, if any."""
        with self._lock:
            self._calls.append(call)
        if self._listener is not None:
            self._listener(call)

    def filter(self, *, rpc: str | None = None, name: str | None = None, status: int | None = None) -> CallList:
        """The calls matching every given attribute, as a new `CallList`."""
        with self._lock:
            calls = list(self._calls)
        return CallList([
            call for call in calls
            if (rpc is None or call.rpc == rpc)
            and (name is None or call.name == name)
            and (status is None or call.status == status)
        ])

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
