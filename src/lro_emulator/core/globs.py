"""``*`` wildcards (AIP-160 filter values, fault names) matched in linear time.

A wildcard pattern compiled to a regular expression (``a.*a.*b``) backtracks: against a long name that nearly
matches, each ``*`` multiplies the work, and ten of them froze the emulator for minutes. A glob whose only
special character is ``*`` needs no backtracking: the text before the first ``*`` must start it, the text after the
last must end it, and each piece between is found leftmost after the one before (taking the leftmost occurrence
never loses a match that a later one would give).
"""

from __future__ import annotations

__all__ = ["Glob"]


class Glob:
    """A pattern whose ``*`` matches any run of characters (``/`` included); everything else is literal."""

    __slots__ = ("_parts",)

    def __init__(self, parts: list[str]) -> None:
        """``parts`` are the literal pieces between the wildcards (``"a*b"`` is ``["a", "b"]``)."""
        self._parts = tuple(parts)

    @classmethod
    def of(cls, text: str) -> Glob:
        """The glob of ``text``, every ``*`` in it a wildcard."""
        return cls(text.split("*"))

    def fullmatch(self, text: str) -> bool:
        """Whether the whole of ``text`` matches: O(len(text)) pieces of ``str.find``, whatever the pattern."""
        parts = self._parts
        if len(parts) == 1:
            return text == parts[0]
        first, last = parts[0], parts[-1]
        if len(text) < len(first) + len(last) or not text.startswith(first) or not text.endswith(last):
            return False
        position, end = len(first), len(text) - len(last)
        for part in parts[1:-1]:
            if not part:
                continue
            found = text.find(part, position, end)
            if found < 0:
                return False
            position = found + len(part)
        return True

    def __repr__(self) -> str:
        return f"Glob({'*'.join(self._parts)!r})"
