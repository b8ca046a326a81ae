"""What stored operations cost CPython's cyclic garbage collector: the objects it tracks for each.

A full collection visits every tracked object, and CPython runs one whenever the objects that reached the oldest
generation have grown by a quarter: a store of a million operations is visited again and again while it fills and
while it is listed. So an operation keeps few container objects of its own (its record, and the dicts of its
payloads), and the handles `emu.operations` builds in bulk are built with the collector paused. These are counts, not
timings (``bench/run.py --million`` times it), with bounds loose enough for any CPython yet tight enough to catch an
operation growing a list, a dict or a cached document of its own again.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from werkzeug.test import Client

from lro_emulator import Emulator, OperationHandle
from lro_emulator.core import collector, state  # internal: the pause itself, and where emu.operations builds handles

from .helpers import struct

COUNT = 2000
# Dicts holding only atoms are not tracked: the metadata is two tracked dicts (the Struct and its "value"), the
# response one; the same payloads for every operation.
METADATA = struct(state="RUNNING", progress={"percent": 50})
RESPONSE = struct(name="workflows/w")


@pytest.fixture
def collector_on() -> Iterator[None]:
    """The collector enabled for the test, and as it was after (whatever the test left it as)."""
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def tracked_per_operation(script: Callable[[], None]) -> float:
    """How many more objects the collector tracks after ``script`` ran, per operation (COUNT of them)."""
    gc.collect()
    before = len(gc.get_objects())
    script()
    gc.collect()
    return (len(gc.get_objects()) - before) / COUNT


def list_all(http: Client, parent: str) -> int:
    listed, token = 0, ""
    while True:
        page = http.get(f"/v1/{parent}/operations", query_string={"pageSize": 1000, "pageToken": token}).get_json()
        listed += len(page.get("operations", []))
        token = page.get("nextPageToken", "")
        if not token:
            return listed


def add_finish_list(emu: Emulator, http: Client, metadata: Callable[[int], dict[str, Any]]) -> Callable[[], None]:
    """Add COUNT operations with ``metadata(i)``, finish them with RESPONSE, list them all and take their handles."""
    def script() -> None:
        for index in range(COUNT):
            emu.add_operation(metadata=metadata(index)).succeed(RESPONSE)
        assert list_all(http, emu.profile.default_parent) == COUNT
        assert len(emu.operations) == COUNT
    return script


def test_an_operation_whose_payloads_repeat_is_its_record_alone(lro_emulator: Emulator, http: Client) -> None:
    # Eleven before: the payloads' dicts of each operation, its history (a list and a Transition), the fired
    # step's tuples, a CancelPolicy, and a document cached for every operation listed.
    assert tracked_per_operation(add_finish_list(lro_emulator, http, lambda index: METADATA)) < 1.5


def test_an_operation_keeps_its_record_and_its_own_payloads_only(lro_emulator: Emulator, http: Client) -> None:
    def metadata(index: int) -> dict[str, Any]:
        return struct(state="RUNNING", progress={"percent": index})  # two tracked dicts of its own

    assert tracked_per_operation(add_finish_list(lro_emulator, http, metadata)) < 4.5


def test_handles_in_bulk_are_built_with_the_collector_paused(
    lro_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, collector_on: None
) -> None:
    enabled: list[bool] = []

    class Watched(OperationHandle):
        def __init__(self, *args: Any) -> None:
            enabled.append(gc.isenabled())
            super().__init__(*args)

    for _ in range(3):
        lro_emulator.add_operation()
    monkeypatch.setattr(state, "OperationHandle", Watched)
    monkeypatch.setattr(collector, "PAUSE_FROM", 3)
    assert len(lro_emulator.operations) == 3
    assert enabled == [False] * 3
    assert gc.isenabled()
    gc.disable()  # a caller's choice: kept
    assert len(lro_emulator.operations) == 3
    assert not gc.isenabled()
    gc.enable()
    monkeypatch.setattr(collector, "PAUSE_FROM", 4)  # a smaller batch leaves the collector alone
    enabled.clear()
    assert len(lro_emulator.operations) == 3
    assert enabled == [True] * 3


def test_overlapping_batches_leave_the_collector_as_the_first_found_it(collector_on: None) -> None:
    inside, release = threading.Event(), threading.Event()

    def batch() -> None:
        with collector.collector_paused(collector.PAUSE_FROM):
            inside.set()
            release.wait(10)

    other = threading.Thread(target=batch)
    other.start()
    try:
        assert inside.wait(10)
        with collector.collector_paused(collector.PAUSE_FROM):
            assert not gc.isenabled()
        assert not gc.isenabled()  # the batch that paused it is still being built
    finally:
        release.set()
        other.join(10)
    assert gc.isenabled()
