"""How long a handle may be used: until its test ends, or a reset replaces the state it scripts."""

from __future__ import annotations

import enum

from ..wire.errors import StaleHandle

__all__ = ["Ending", "Tenure"]


class Ending(str, enum.Enum):
    """Why a tenure ended."""

    TEST_ENDED = "the test ended"  #: the test it was given to has ended (the pytest fixture's teardown)
    REPLACED = "replaced"  #: a reset (or a scenario that switched the profile) replaced the state


class Tenure:
    """The time during which the handles of one emulator state (or the emulator one test was given) may be used.

    It ends when the test it belongs to ends or when a reset replaces the state; from then on `check` raises
    `StaleHandle` naming the test. A handle that a thread or a module global kept past its test would otherwise
    script a state nobody serves any more, silently, or read one that never changes again. Handles call `check`
    before they act: one attribute read while the tenure lasts.
    """

    __slots__ = ("ended", "label")

    def __init__(self, label: str | None = None) -> None:
        #: The test this belongs to (the fixture gives its node id), or None outside pytest.
        self.label = label
        #: Why it ended, or None while it lasts.
        self.ended: Ending | None = None

    def end(self, why: Ending) -> None:
        """End it, keeping the first reason given (a test that ended is not "replaced" by the next one's reset)."""
        if self.ended is None:
            self.ended = why

    def check(self, subject: str, advice: str | None = None) -> None:
        """Nothing while it lasts; then `StaleHandle` saying whose ``subject`` (``"this OperationHandle"``) was.

        ``advice`` replaces the usual sentence on what to do instead.
        """
        __tracebackhide__ = True
        if self.ended is not None:
            raise StaleHandle(self.message(subject, advice))

    def message(self, subject: str, advice: str | None = None) -> str:
        """What `check` raises once the tenure has ended."""
        test = "a test" if self.label is None else f"test {self.label!r}"
        if self.ended is Ending.TEST_ENDED:
            return (f"{subject} belongs to {test}, which has ended; "
                    + (advice or "handles work only during their own test: end the threads that use one before "
                                 "its test returns, and keep none for a later test, which scripts its own"))
        whose = "" if self.label is None else f" in test {self.label!r}"
        return (f"{subject} belongs to the emulator's state{whose} before the last reset; "
                + (advice or "a reset replaces every operation, starting method and fault: script the new state "
                             "(emu.operation(name) finds its operations)"))

    def __repr__(self) -> str:
        return f"<Tenure {self.label or 'outside pytest'}: {self.ended.value if self.ended else 'lasting'}>"
