"""Plain helpers shared by the project's own tests: import them (``from .helpers import struct``).

Fixtures live in ``conftest.py``, where pytest finds them; test modules import nothing from it, so
that the suite also collects under ``pytest --import-mode=importlib``.
"""

from __future__ import annotations

import copy
import shutil
import sysconfig
import threading
from collections.abc import Callable
from typing import Any

import freezegun.api
import requests
from google.longrunning import operations_pb2_grpc

from lro_emulator import Emulator

JSON = dict[str, Any]
STRUCT = "type.googleapis.com/google.protobuf.Struct"

# A generous guard against real sleeping (ten times the one-second target); speed itself is benchmarked.
WALL_GUARD_SECONDS = 10.0

#: The raw ``google.longrunning`` Operations stub (the ``stub`` fixture's type).
Stub = operations_pb2_grpc.OperationsStub


def struct(**fields: Any) -> dict[str, Any]:
    """A google.protobuf.Struct as an Any: the metadata/response type every client process knows."""
    return {"@type": STRUCT, "value": fields}


def wall() -> float:
    """Real time, even under frozen time: freezegun keeps the genuine function on its own module."""
    return float(freezegun.api.real_perf_counter())


def until(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    """Whether ``condition()`` holds within ``seconds`` of real time, checked every few milliseconds: for another
    thread's or process's progress, which a test has nothing else to wait on."""
    give_up = wall() + seconds
    while not condition():
        if wall() > give_up:
            return False
        threading.Event().wait(0.005)  # a real pause even under frozen time (time.sleep is virtual there)
    return True


def get_status(emu: Emulator, name: str) -> int:
    """The HTTP status of a plain REST GET of ``/v1/{name}`` (an operation or a collection)."""
    return requests.get(f"{emu.url}/v1/{name}", timeout=10).status_code


def merge_metadata(base: JSON | None, update: JSON | None) -> JSON | None:
    """Metadata after an update, as the scripting guide says: an update with ``@type`` replaces the whole; without,
    its top-level keys replace one by one and a key set to None is removed. Values are copied."""
    if update is None:
        return base
    merged = {} if "@type" in update else dict(base or {})
    for key, value in update.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def console_script() -> str:
    """The installed script: beside this interpreter (a venv need not be activated), or on PATH."""
    found = shutil.which("lro-emulator", path=sysconfig.get_path("scripts")) or shutil.which("lro-emulator")
    assert found, "the lro-emulator console script is not installed"
    return found
