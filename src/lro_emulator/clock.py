"""The emulator's clock: virtual time that moves only when told to."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from .protojson import parse_timestamp, to_timedelta

__all__ = ["VirtualClock"]

Listener = Callable[[datetime], None]


class VirtualClock:
    """Virtual UTC time. It never moves by itself and never moves backwards.

    Everything time-dependent in the emulator (scripted transitions, wait, the call log) reads this
    clock. Listeners are told of every move, which is how frozen time in the test process follows it.
    """

    def __init__(self, start: datetime | str) -> None:
        self._now = parse_timestamp(start)
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []

    def now(self) -> datetime:
        """The current virtual time, an aware UTC `datetime`."""
        return self._now

    def advance(self, delta: float | timedelta) -> datetime:
        """Move forward by seconds or a `timedelta`; return the new time."""
        step = to_timedelta(delta, what="clock.advance()")
        if step < timedelta(0):
            raise ValueError(f"the clock only moves forward; advance({delta!r}) would move it back")
        with self._lock:
            return self._move(self.after(step))

    def after(self, delta: timedelta) -> datetime:
        """The instant ``delta`` from now; `ValueError` past the last representable instant (year 9999)."""
        try:
            return self._now + delta
        except OverflowError:
            raise ValueError(
                f"{delta.total_seconds():g}s from {self._now.isoformat()} is past the end of the calendar (year 9999)"
            ) from None

    def set(self, when: datetime | str) -> datetime:
        """Move to an absolute time, which must not be earlier than now; return it."""
        target = parse_timestamp(when)
        with self._lock:
            if target < self._now:
                raise ValueError(
                    f"the clock only moves forward: it is {self._now.isoformat()}, "
                    f"cannot set it to {target.isoformat()}"
                )
            return self._move(target)

    def advance_to(self, when: datetime) -> datetime:
        """Move to ``when`` if it is later than now (never backwards, never an error)."""
        with self._lock:
            return self._move(when) if when > self._now else self._now

    def restart(self, start: datetime | str) -> datetime:
        """Start over at ``start``, even if that is earlier (only `Emulator.reset` should do this)."""
        target = parse_timestamp(start)
        with self._lock:
            return self._move(target)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(now)`` after every move; returns a function that unsubscribes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    @property
    def lock(self) -> threading.RLock:
        """Held while the clock moves; the store holds it too so that a read sees one instant."""
        return self._lock

    def _move(self, target: datetime) -> datetime:
        self._now = target
        for listener in list(self._listeners):
            listener(target)
        return target

    def __repr__(self) -> str:
        return f"VirtualClock({self._now.isoformat()})"
