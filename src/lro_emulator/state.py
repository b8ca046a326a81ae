"""Everything one emulated service holds: clock, store, call log, profile; replaced whole on reset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .calls import CallList
from .clock import VirtualClock
from .errors import ScriptError
from .profiles import Profile, get_profile
from .schemas import Schemas
from .scripting import Operation, checked_payload
from .service import OperationsService
from .store import OperationStore

__all__ = ["EmulatorState"]


class EmulatorState:
    """The mutable half of an emulator. Transports read it through the emulator and keep none of their own."""

    def __init__(self, *, clock: VirtualClock, profile: str | Profile, schemas: Schemas) -> None:
        self.profile = get_profile(profile)
        self.clock = clock
        self.lock = self.clock.lock
        self.schemas = schemas
        self.store = OperationStore()
        self.calls = CallList()
        #: Schema violations in responses and emulator failures: each must fail the test that caused it.
        self.problems: list[Exception] = []
        self.reported = 0  # how many of the problems `Emulator.check` has already raised
        self.service = OperationsService(
            store=self.store,
            clock=self.clock,
            profile=self.profile,
            schemas=schemas,
            on_violation=self.problems.append,
        )

    def add_operation(
        self, name: str | None = None, metadata: Mapping[str, Any] | None = None, *, parent: str | None = None
    ) -> Operation:
        """Create a pending operation (see `Emulator.add_operation`)."""
        __tracebackhide__ = True
        profile = self.profile
        if name is not None and parent is not None:
            raise ScriptError("give an operation name or a parent to generate one under, not both")
        if name is not None:
            if not isinstance(name, str) or not profile.accepts_name(name):
                raise ScriptError(
                    f"{name!r} is not an operation name the {profile.name} profile serves; "
                    f"use a name like {' or '.join(profile.name_patterns)}",
                    pointer="/name",
                )
        else:
            collection = profile.default_parent if parent is None else parent
            wildcard = isinstance(collection, str) and "-" in collection.split("/")
            if not isinstance(collection, str) or not profile.accepts_parent(collection) or wildcard:
                raise ScriptError(
                    f"{collection!r} is not a collection of the {profile.name} profile; "
                    f"use a parent like {' or '.join(profile.parent_patterns)}"
                )
        payload = None if metadata is None else checked_payload(self, "any", metadata, "/metadata")
        with self.lock:
            if name is None:
                name = self.store.new_name(collection)
            record = self.store.add(name, self.clock.now(), payload)
        return Operation(self, record)

    def operation(self, name: str) -> Operation:
        """The handle of an existing operation; `KeyError` naming what exists otherwise."""
        with self.lock:
            record = self.store.find(name)
            if record is None:
                raise KeyError(f"no operation named {name!r}; the emulator has {self.store.names()[:10]}")
            return Operation(self, record)

    def operations(self) -> list[Operation]:
        """Handles of every live operation, in creation order."""
        with self.lock:
            return [Operation(self, record) for record in self.store]
