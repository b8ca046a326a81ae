"""Interception: clients built the ordinary way (default endpoints, default credentials) reach the emulator.

While an `Interception` is active, requests to the hosts it answers for (``*.googleapis.com`` by default) are
served by the emulator: over requests and httplib2 in-process, by calling the REST app in the caller's thread;
over aiohttp and gRPC through the emulator's loopback ports; and ``google.auth.default()`` returns anonymous
credentials for a test project. Every other host is left alone. See `libraries` for what is patched, and how.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from types import TracebackType

from ..wire.errors import ScriptError
from .hosts import DEFAULT_HOSTS, HostMatcher
from .libraries import Redirect, patch_libraries

__all__ = ["DEFAULT_HOSTS", "DEFAULT_PROJECT", "HostMatcher", "Interception", "Redirect"]

#: Held while patching or restoring: the check that no other interception is in force and the patching after it
#: must be one step, or two threads entering at once could both patch and leave in the wrong order.
_PATCHING = threading.Lock()

#: The project ``google.auth.default()`` names while intercepting, unless told another.
DEFAULT_PROJECT = "test-project"


class Interception:
    """A context in which the client libraries' entry points send Google's hosts to one emulator.

    Made by ``Emulator.intercept()``. Entering patches every installed client library (see `patched`); leaving
    puts the genuine functions back, even when the block raised. One interception is active at a time in a
    process, since the patches are process-wide: they serve every thread. Entering a second is a `ScriptError`.
    """

    def __init__(
        self, redirect: Redirect, also: Callable[[], Iterable[contextlib.AbstractContextManager[object]]] = list
    ) -> None:
        """``also`` makes the contexts entered with the patches (and left after them), anew for each entry."""
        self._redirect = redirect
        self._also = also
        self._stack: contextlib.ExitStack | None = None
        #: What entering patched, as ``module.attribute`` (``requests.Session.get_adapter``, ...).
        self.patched: list[str] = []

    @property
    def hosts(self) -> tuple[str, ...]:
        """The host globs answered for."""
        return self._redirect.hosts.globs

    @property
    def project(self) -> str:
        """The project ``google.auth.default()`` returns."""
        return self._redirect.project

    def __enter__(self) -> Interception:
        __tracebackhide__ = True
        if self._stack is not None:
            raise ScriptError("this interception is already active; leave it before entering it again")
        stack = contextlib.ExitStack()
        with _PATCHING:
            try:
                self.patched = patch_libraries(stack, self._redirect)  # first: it refuses a second interception
                for context in self._also():
                    stack.enter_context(context)
            except BaseException:
                stack.close()
                raise
            self._redirect.active = True
            self._stack = stack
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with _PATCHING:
            self._redirect.active = False  # a replacement someone puts back later behaves as the genuine function
            stack, self._stack = self._stack, None
            if stack is not None:
                stack.close()

    def __repr__(self) -> str:
        state = "active" if self._stack is not None else "inactive"
        return f"<Interception {state} hosts={list(self.hosts)} project={self.project!r}>"
