"""`Emulator`: one emulated Operations service, its state, and the transports that serve it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

from .calls import CallList
from .clock import VirtualClock
from .errors import EmulatorFailure
from .profiles import Profile
from .rest import RestApp
from .schemas import load_schemas
from .scripting import Operation
from .server import HttpServer
from .state import EmulatorState

__all__ = ["DEFAULT_START", "Emulator"]

#: Where the virtual clock starts unless told otherwise: fixed, so every run sees the same instants.
DEFAULT_START = "2030-01-01T00:00:00Z"


class Emulator:
    """A scriptable ``google.longrunning.Operations`` service on a virtual clock.

    Use it as a context manager (or `start`/`stop`); it serves REST on ``127.0.0.1`` at a free
    port unless given one. `reset` gives it fresh state without restarting the server.
    """

    def __init__(
        self,
        start: datetime | str = DEFAULT_START,
        profile: str | Profile = "generic",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._schemas = load_schemas()
        self._start = start
        self._profile = profile
        # One clock for the emulator's life: whatever follows it (frozen time) survives a reset.
        self._clock = VirtualClock(start)
        self._state = EmulatorState(clock=self._clock, profile=profile, schemas=self._schemas)
        self._app = RestApp(lambda: self._state)
        self._http = HttpServer(self._app, host, port)

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Start serving (idempotent); returns the emulator."""
        self._http.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        self._http.stop()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def reset(self, *, start: datetime | str | None = None, profile: str | Profile | None = None) -> None:
        """Forget every operation and call and restart the clock (at ``start``, or where it first started)."""
        state = EmulatorState(
            clock=self._clock, profile=self._profile if profile is None else profile, schemas=self._schemas
        )
        self._clock.restart(self._start if start is None else start)
        self._state = state

    # -- addresses -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The REST endpoint, ``http://127.0.0.1:PORT`` (the emulator must be started)."""
        return self._http.url

    @property
    def wsgi_app(self) -> RestApp:
        """The WSGI application, for ``werkzeug.test.Client`` tests without sockets."""
        return self._app

    # -- state -----------------------------------------------------------------------------------------

    @property
    def clock(self) -> VirtualClock:
        """The virtual clock: ``now()``, ``advance(seconds)``, ``set(when)``."""
        return self._state.clock

    @property
    def calls(self) -> CallList:
        """Every request answered since the last reset, in order."""
        return self._state.calls

    @property
    def profile(self) -> Profile:
        """The service profile in force."""
        return self._state.profile

    @property
    def problems(self) -> list[Exception]:
        """Responses that violated their schema and failures of the emulator itself, since the last reset."""
        return list(self._state.problems)

    @property
    def state(self) -> EmulatorState:
        """The current state (replaced by `reset`)."""
        return self._state

    def check(self) -> None:
        """Raise `EmulatorFailure` for responses that went wrong since the last check (the fixture calls this)."""
        __tracebackhide__ = True
        state = self._state
        new = state.problems[state.reported:]
        state.reported = len(state.problems)
        if new:
            raise EmulatorFailure(new)

    # -- scripting -----------------------------------------------------------------------------------

    def add_operation(
        self, name: str | None = None, metadata: Mapping[str, Any] | None = None, *, parent: str | None = None
    ) -> Operation:
        """Create a pending operation and return its handle.

        Without ``name``, one is generated under ``parent`` (or the profile's default parent):
        ``{parent}/operations/op-1``, ``op-2``, ... in order, the same on every run.
        """
        __tracebackhide__ = True
        return self._state.add_operation(name, metadata, parent=parent)

    def operation(self, name: str) -> Operation:
        """The handle of an existing operation."""
        return self._state.operation(name)

    @property
    def operations(self) -> list[Operation]:
        """Handles of every live operation, in creation order."""
        return self._state.operations()

    def __repr__(self) -> str:
        where = self.url if self._http.running else "not started"
        return f"<Emulator {self.profile.name} {where} at {self.clock.now().isoformat()}>"
