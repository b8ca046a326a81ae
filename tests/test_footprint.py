"""What stored operations cost CPython's cyclic garbage collector: the objects it tracks for each.

A full collection visits every tracked object, and CPython runs one whenever the objects that reached the oldest
generation have grown by a quarter: a store of a million operations is visited again and again while it fills and
while it is listed. So an operation keeps few container objects of its own (its record, and the dicts of its
payloads), and `emu.operations` makes each handle only when it is read. These are counts, not
timings (``bench/run.py --million`` times it), with bounds loose enough for any CPython yet tight enough to catch an
operation growing a list, a dict or a cached document of its own again.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from werkzeug.test import Client

from lro_emulator import Emulator

from .helpers import struct

COUNT = 2000
# Dicts holding only atoms are not tracked: the metadata is two tracked dicts (the Struct and its "value"), the
# response one; the same payloads for every operation.
METADATA = struct(state="RUNNING", progress={"percent": 50})
RESPONSE = struct(name="workflows/w")


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


def test_reading_emu_operations_makes_no_object_per_operation(lro_emulator: Emulator) -> None:
    for _ in range(COUNT):
        lro_emulator.add_operation()
    kept: list[Any] = []
    # A list of handles made at once was one more tracked object per operation (2001 more for 2000).
    assert tracked_per_operation(lambda: kept.append(lro_emulator.operations)) < 0.01
    assert len(kept[0]) == COUNT
    names = [operation.name for operation in kept[0]]  # each handle is made as it is read, and freed after
    assert names == [f"{lro_emulator.profile.default_parent}/operations/op-{i}" for i in range(1, COUNT + 1)]


IMPORTED_FROZEN = """
import gc
import freezegun

with freezegun.freeze_time("2030-01-01"):
    from lro_emulator import Emulator  # the emulator's modules first imported while time is frozen
    emu = Emulator()
    record = emu.add_operation()._record
    print(type(record.created).__name__, gc.is_tracked(record.created))
"""


def test_an_emulator_first_imported_under_freezegun_keeps_genuine_datetimes() -> None:
    # freezegun replaces datetime.datetime itself while it runs: a module imported meanwhile builds FakeDatetimes
    # from its `datetime`, which the collector tracks, one more object per instant an operation keeps.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    shown = subprocess.run([sys.executable, "-c", IMPORTED_FROZEN], capture_output=True, text=True, env=env,
                           timeout=120, check=True)
    assert shown.stdout.split() == ["datetime", "False"]
