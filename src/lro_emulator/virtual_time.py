"""Virtual time for the client code under test: frozen at the emulator's clock, moved by sleeping.

freezegun freezes ``time.time``, ``monotonic``, ``datetime.now`` and friends but does not patch
``time.sleep``, so a polling loop under frozen time would sleep for real against a deadline that
never comes. Here ``time.sleep`` and ``asyncio.sleep`` advance the emulator's clock instead, and
frozen time follows the clock on every move (including moves made by WaitOperation in the server
thread). The event loop keeps real time (freezegun's ``real_asyncio``), so it still runs callbacks
and I/O; a virtual ``asyncio.sleep`` yields to it once. grpcio keeps real time as well: it turns
timeouts into absolute deadlines with ``time.time()``, which a frozen clock in the past would
expire at once. The global ``random`` generator is seeded so that client jitter, and so poll
counts, repeat exactly.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, SupportsIndex

import freezegun.api
from freezegun import freeze_time

from .core.clock import VirtualClock

__all__ = ["SeededRandom", "TimeBackdrop", "VirtualTime"]

# Modules that keep real time even under virtual time (see the module docstring). freezegun compares module names by
# prefix: "grpc." is grpc's submodules exactly (its package module reads no time), where "grpc" would also give real
# time to a user's grpc_utils. hypothesis times its phases, deadlines and health checks with time.perf_counter: on the
# virtual clock an example that polls for an hour would count as an hour, and shrinking (300 s at most) would stop
# after the first step.
_REAL_TIME_MODULES = ["grpc.", "_pytest.timing", "hypothesis."]


class SeededRandom:
    """A context manager: the global `random` generator is seeded inside it and restored after."""

    def __init__(self, seed: int | float | str | bytes | None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, float, str, bytes))):
            raise TypeError(f"seed must be an int, float, str, bytes or None, not {type(seed).__name__}")
        self._seed = seed
        self._saved: Any = None

    def __enter__(self) -> SeededRandom:
        if self._seed is not None:
            self._saved = random.getstate()
            random.seed(self._seed)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._saved is not None:
            random.setstate(self._saved)
            self._saved = None


class TimeBackdrop:
    """freezegun's patches, installed once and left in place between uses of `VirtualTime`, showing real time.

    freezegun's outermost ``start()`` rewrites every loaded module that holds a time function of its
    own (``from time import monotonic``), and to find them it lists every module's attributes:
    several milliseconds per test in a suite that has imported a few hundred modules. Nested
    freezers skip that scan. While installed, the backdrop is two freezers: the outermost, which does
    the scan once, and above it a transparent one that ignores every module, so freezegun hands every
    caller of the ``time`` functions the genuine ones. ``datetime.now()`` alone does not ask freezegun
    whom to ignore: it ticks with real time from the instant of installing, in UTC. A `VirtualTime`
    given the backdrop nests above both and enters in microseconds. Remove the backdrop before code
    that must see the genuine ``datetime`` runs; the pytest plugin does so before every test that does
    not use virtual time, and at the end of the session.
    """

    def __init__(self) -> None:
        self._freezers: list[Any] = []
        self._factories: list[Any] = []

    @property
    def installed(self) -> bool:
        """Whether freezegun's patches are in place."""
        return bool(self._freezers)

    def install(self) -> None:
        """Put freezegun's patches in place (idempotent): the one slow step, done once.

        Not while another freezer runs (a test's own ``freeze_time``): freezegun stops freezers from
        the top of one stack, so the backdrop only ever starts at the bottom of it.
        """
        if self._freezers or freezegun.api.freeze_factories:
            return
        now = datetime.now(timezone.utc)
        for ignore in (_REAL_TIME_MODULES, [""]):  # every module name starts with ""
            freezer = freeze_time(now, tick=True, real_asyncio=True, ignore=ignore)
            self._factories.append(freezer.start())
            self._freezers.append(freezer)

    def remove(self) -> None:
        """Take freezegun's patches out again (idempotent).

        While a freezer started after the backdrop still runs (a module's ``freeze_time``, say), the
        backdrop stays: that freezer is on top of freezegun's stack and stops first; a later call removes it.
        """
        top = freezegun.api.freeze_factories[-len(self._factories):] if self._factories else []
        if not self._freezers or len(top) != len(self._factories) or any(
                mine is not theirs for mine, theirs in zip(self._factories, top, strict=True)):
            return
        while self._freezers:
            self._freezers.pop().stop()
        self._factories.clear()


class VirtualTime:
    """A context manager: inside it, the process's clock is the emulator's (and ``random`` is seeded).

    Given a `TimeBackdrop`, it installs the backdrop if needed and nests inside it, leaving it
    installed on exit, so that entering again costs microseconds instead of freezegun's module scan.
    """

    def __init__(self, clock: VirtualClock, *, seed: int | None = 0, backdrop: TimeBackdrop | None = None) -> None:
        self._clock = clock
        self._backdrop = backdrop
        self._random = SeededRandom(seed)
        self._freezer: Any = None
        self._unsubscribe: Any = None
        # The genuine functions, kept on the object (freezegun rewrites module-level aliases) and kept after
        # exit: code that did `from time import sleep` while time was virtual still holds our functions,
        # which then pass through to these.
        self._real_sleep: Any = time.sleep
        self._real_async_sleep: Any = asyncio.sleep
        self._active = False

    def __enter__(self) -> VirtualTime:
        try:
            self._random.__enter__()
            if self._backdrop is not None:
                self._backdrop.install()
            # real_asyncio keeps the event loop on real monotonic time, so it still schedules callbacks.
            # grpc keeps real time for its deadlines; pytest's own timing (--durations) and hypothesis's stay real too.
            self._freezer = freeze_time(self._clock.now(), real_asyncio=True, ignore=_REAL_TIME_MODULES)
            factory = self._freezer.start()
            self._unsubscribe = self._clock.subscribe(factory.move_to)
            self._real_sleep, self._real_async_sleep = time.sleep, asyncio.sleep
            time.sleep = self.sleep
            asyncio.sleep = self.async_sleep
            self._active = True
        except BaseException:
            # Half-entered virtual time would leave the process frozen for every later test.
            self.__exit__(None, None, None)
            raise
        return self

    def sleep(self, seconds: float | SupportsIndex) -> None:
        """Advance the emulator's clock by ``seconds`` instead of sleeping (a real sleep once exited)."""
        if not self._active:
            self._real_sleep(seconds)
            return
        delay = float(seconds)
        if delay < 0:
            raise ValueError("sleep length must be non-negative")
        self._clock.advance(delay)

    async def async_sleep(self, delay: float, result: Any = None) -> Any:
        """Advance the emulator's clock by ``delay`` (as ``asyncio.sleep`` does, negative means 0), then yield once.

        An infinite delay waits, for real, until cancelled, as ``asyncio.sleep(math.inf)`` does; once
        exited, this is the real ``asyncio.sleep``.
        """
        if not self._active or not math.isfinite(delay):
            return await self._real_async_sleep(delay, result)
        if delay > 0:
            self._clock.advance(float(delay))
        return await self._real_async_sleep(0, result)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._active:
            asyncio.sleep = self._real_async_sleep
            time.sleep = self._real_sleep
            self._active = False
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._freezer is not None:
            self._freezer.stop()
            self._freezer = None
        self._random.__exit__()
