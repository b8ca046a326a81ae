"""Where operations live: by name, in one stable order, and by parent for listing."""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from ..wire.errors import ScriptError
from .timeline import OperationRecord

__all__ = ["OperationStore"]

# Compact the order lists once this many deleted records are left in them.
_COMPACT_AT = 1024
#: How many distinct payload texts `OperationStore.parsed` remembers before it starts over, and the longest it keeps
#: (at most a megabyte of text, and what it parses to).
_PARSED = 256
_PARSED_SIZE = 4096


class OperationStore:
    """Operations in creation order. Not locked itself: the emulator holds its state lock around it.

    The order is the order of creation; it is what ListOperations pages through, so it never changes
    for the operations that remain.
    """

    def __init__(self) -> None:
        self._by_name: dict[str, OperationRecord] = {}
        self._order: list[OperationRecord] = []
        self._by_parent: dict[str, list[OperationRecord]] = {}
        self._seq = 0
        self._generated = 0
        self._tombstones = 0
        self._parsed: dict[str, Any] = {}

    def next_seq(self) -> int:
        """A fresh sequence number (operations and steps share one counter, so their order is total)."""
        self._seq += 1
        return self._seq

    def new_name(self, parent: str) -> str:
        """The next generated name under ``parent``: ``{parent}/operations/op-{n}``, deterministic per store."""
        while True:
            self._generated += 1
            prefix = f"{parent}/operations" if parent else "operations"
            name = f"{prefix}/op-{self._generated}"
            if name not in self._by_name:
                return name

    def add(self, name: str, created: datetime, metadata: dict[str, Any] | None) -> OperationRecord:
        """Create an operation; `ScriptError` if the name is taken."""
        if name in self._by_name:
            raise ScriptError(f"an operation named {name!r} already exists; names are unique")
        record = OperationRecord(name, self.next_seq(), created, metadata)
        self._by_name[name] = record
        self._order.append(record)
        self._by_parent.setdefault(record.parent, []).append(record)
        return record

    def parsed(self, text: str) -> Any:
        """``json.loads(text)``, the same object for the same text: a test that scripts one payload for a million
        operations stores it once, not a million dicts (each one more object for the cyclic GC to walk).

        Callers must not change what they get; nothing in the emulator changes a payload in place (merging
        metadata builds a new dict). Safe without the state lock (payloads are checked before it is taken): two
        threads at once at worst parse one text twice.
        """
        found = self._parsed.get(text)
        if found is None:
            found = json.loads(text)
            if len(text) <= _PARSED_SIZE:
                if len(self._parsed) >= _PARSED:
                    self._parsed.clear()
                self._parsed[text] = found
        return found

    def checkpoint(self) -> tuple[int, int, int]:
        """A mark to `rollback` to: what a failed start must leave exactly as it was."""
        return self._seq, self._generated, len(self._order)

    def rollback(self, mark: tuple[int, int, int]) -> None:
        """Forget every operation created since ``mark`` and rewind name generation, as if none had been.

        Sequence numbers are not rewound: steps scripted meanwhile on other operations keep theirs,
        and a gap in the numbering is invisible.
        """
        _, generated, length = mark
        for record in self._order[length:]:
            record.deleted = True  # a handle kept from the failed start can no longer be scripted
            self._by_name.pop(record.name, None)
            self._by_parent[record.parent].remove(record)
            if not self._by_parent[record.parent]:
                del self._by_parent[record.parent]
        del self._order[length:]
        self._generated = generated

    def find(self, name: str) -> OperationRecord | None:
        """The live (not deleted) operation of that name, if any."""
        return self._by_name.get(name)

    def delete(self, record: OperationRecord) -> None:
        """Forget an operation; later lookups do not find it."""
        del self._by_name[record.name]
        record.deleted = True
        self._tombstones += 1
        if self._tombstones >= _COMPACT_AT and self._tombstones * 2 >= len(self._order):
            self._compact()

    def names(self) -> list[str]:
        """Every live name, in creation order."""
        return list(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __iter__(self) -> Iterator[OperationRecord]:
        return iter(list(self._by_name.values()))

    def scan(self, parent: str, after: int, *, wildcards: bool = True) -> Iterator[OperationRecord]:
        """Live operations listed under ``parent`` with a sequence number above ``after``, in order.

        With ``wildcards``, a ``-`` segment in the parent matches any (AIP-159 cross-collection reads).
        """
        if wildcards and "-" in parent.split("/"):
            # Any segment at all, not NAME_SEGMENT: stored parents were judged when their operations were created.
            pattern = re.compile("/".join("[^/]+" if seg == "-" else re.escape(seg) for seg in parent.split("/")))
            candidates = self._order
            matches: Callable[[OperationRecord], bool] = lambda r: pattern.fullmatch(r.parent) is not None  # noqa: E731
        else:
            candidates = self._by_parent.get(parent, [])
            matches = _always
        start = bisect.bisect_right(candidates, after, key=_seq_of)
        for index in range(start, len(candidates)):  # not a slice: a page would copy the rest of the list
            record = candidates[index]
            if not record.deleted and matches(record):
                yield record

    def _compact(self) -> None:
        self._order = [r for r in self._order if not r.deleted]
        by_parent = {parent: [r for r in records if not r.deleted] for parent, records in self._by_parent.items()}
        self._by_parent = {parent: live for parent, live in by_parent.items() if live}
        self._tombstones = 0


def _seq_of(record: OperationRecord) -> int:
    return record.seq


def _always(record: OperationRecord) -> bool:
    return True
