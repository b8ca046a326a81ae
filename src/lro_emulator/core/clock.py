"""The emulator's clock: virtual time that moves only when told to."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from ..wire.errors import ScriptError
from ..wire.proto3_json import format_duration, parse_timestamp, to_timedelta

__all__ = ["Pacing", "VirtualClock"]

Listener = Callable[[datetime], None]


class VirtualClock:
    """Virtual UTC time. It never moves by itself and never moves backwards.

    Everything time-dependent in the emulator (scripted transitions, wait, the call log) reads this
    clock. Listeners are told of every move, which is how frozen time in the test process follows it.
    """

    def __init__(self, start: datetime | str) -> None:
        self._now = parse_timestamp(start)
        self._lock = threading.RLock()
        self._moved = threading.Condition(self._lock)
        self._listeners: list[Listener] = []
        self._epoch = 0

    def now(self) -> datetime:
        """The current virtual time, an aware UTC `datetime`."""
        return self._now

    def advance(self, delta: float | timedelta) -> datetime:
        """Move forward by seconds or a `timedelta`; return the new time."""
        step = to_timedelta(delta, what="clock.advance()")
        if step < timedelta(0):
            raise ScriptError(f"the clock only moves forward; advance({delta!r}) would move it back")
        with self._lock:
            return self._move(self.after(step))

    def after(self, delta: timedelta) -> datetime:
        """The instant ``delta`` from now; `ScriptError` (a `ValueError`) past the calendar's end (year 9999)."""
        try:
            return self._now + delta
        except OverflowError:
            raise ScriptError(
                f"{format_duration(delta)} from {self._now.isoformat()} is past the end of the calendar (year 9999)"
            ) from None

    def set(self, when: datetime | str) -> datetime:
        """Move to an absolute time, which must not be earlier than now; return it."""
        target = parse_timestamp(when)
        with self._lock:
            if target < self._now:
                raise ScriptError(
                    f"the clock only moves forward: it is {self._now.isoformat()}, "
                    f"cannot set it to {target.isoformat()}"
                )
            return self._move(target)

    def advance_to(self, when: datetime) -> datetime:
        """Move to ``when`` if it is later than now (never backwards, never an error)."""
        with self._lock:
            return self._move(when) if when > self._now else self._now

    def restart(self, start: datetime | str) -> datetime:
        """Start over at ``start``, even if that is earlier, in a new `epoch` (only `Emulator.reset` should do this)."""
        target = parse_timestamp(start)
        with self._lock:
            self._epoch += 1
            return self._move(target)

    @property
    def epoch(self) -> int:
        """How many times the clock has started over: a call that began in an earlier epoch must not move it."""
        return self._epoch

    def subscribe(self, listener: Callable[[datetime], None]) -> Callable[[], None]:
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

    def wait_for_move(self, seconds: float) -> None:
        """Block until the clock moves or ``seconds`` of real time pass; the caller must hold `lock`.

        The lock is released while waiting, so other threads can move the clock.
        """
        self._moved.wait(max(seconds, 0.0))

    def _move(self, target: datetime) -> datetime:
        self._now = target
        for listener in list(self._listeners):
            listener(target)
        self._moved.notify_all()
        return target

    def __repr__(self) -> str:
        return f"VirtualClock({self._now.isoformat()})"


class Pacing:
    """How the clock moves by itself outside tests: with real time, ``speed`` virtual seconds per real second.

    ``speed=None`` is manual: nothing but explicit moves (the control plane) changes the clock, and
    WaitOperation waits for them instead of moving the clock. Without a `Pacing` at all (tests), the
    clock is purely virtual and a wait moves it to the next scripted step. `sync` catches the clock
    up with real time; the emulator calls it before serving each request, so the clock moves lazily,
    and a move made meanwhile (the control plane advancing it) is kept and paced on from.
    """

    def __init__(self, clock: VirtualClock, speed: float | None) -> None:
        if speed is not None and (isinstance(speed, bool) or not isinstance(speed, (int, float)) or not speed > 0
                                  or speed == float("inf")):
            raise ValueError(f"speed must be a positive number of virtual seconds per real second, not {speed!r}")
        self.clock = clock
        self.speed = None if speed is None else float(speed)
        # Kept on the object: freezegun rewrites module-level aliases of the time functions.
        self._monotonic = time.monotonic
        self._last = self._monotonic()

    @property
    def mode(self) -> str:
        """``"real"`` (paced by real time) or ``"manual"``."""
        return "manual" if self.speed is None else "real"

    def monotonic(self) -> float:
        """Real monotonic time, in seconds."""
        return self._monotonic()

    def sync(self) -> None:
        """Advance the clock by the real time passed since the last sync, times the speed."""
        if self.speed is None:
            return
        with self.clock.lock:
            now = self._monotonic()
            elapsed, self._last = now - self._last, now
            if elapsed > 0:
                with contextlib.suppress(ValueError):  # the end of the calendar: the clock stays there
                    self.clock.advance(elapsed * self.speed)

    def real_seconds(self, virtual: timedelta) -> float | None:
        """How much real time ``virtual`` takes to pass by itself (None: never, in manual mode)."""
        if self.speed is None:
            return None
        return max(virtual.total_seconds(), 0.0) / self.speed
