"""The embedded demo: a handful of operations that show each behaviour, for a person with curl."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .core.handle import OperationHandle
    from .emulator import Emulator

__all__ = ["DEMO_PARENT", "load_demo"]

DEMO_PARENT = "projects/demo/locations/global"
_STRUCT = "type.googleapis.com/google.protobuf.Struct"


def _metadata(state: str, progress: float) -> dict[str, object]:
    return {"@type": _STRUCT, "value": {"state": state, "progress": progress}}


def load_demo(emulator: Emulator) -> list[OperationHandle]:
    """Script the demo operations into ``emulator`` (generic profile) and return their handles."""
    name = f"{DEMO_PARENT}/operations/"
    return [
        emulator.add_operation(name + "export-done", _metadata("SUCCEEDED", 1.0)).succeed(
            {"@type": _STRUCT, "value": {"exported": 42}}
        ),
        emulator.add_operation(name + "training", _metadata("PENDING", 0.0))
        .update(after_polls=1, metadata=_metadata("RUNNING", 0.3))
        .update(after_polls=2, metadata=_metadata("RUNNING", 0.7))
        .succeed({"@type": _STRUCT, "value": {"accuracy": 0.93}}, after_polls=3,
                 metadata=_metadata("SUCCEEDED", 1.0)),
        emulator.add_operation(name + "quota-failed", _metadata("FAILED", 0.1)).fail(
            "RESOURCE_EXHAUSTED",
            "Quota exceeded for demo-quota.",
            details=[{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}],
        ),
        emulator.add_operation(name + "hour-long", _metadata("RUNNING", 0.0))
        .update(at=1800, metadata=_metadata("RUNNING", 0.5))
        .succeed({"@type": _STRUCT, "value": {"rows": 1000}}, at=3600, metadata=_metadata("SUCCEEDED", 1.0)),
        emulator.add_operation(name + "cancel-me", _metadata("RUNNING", 0.2)).on_cancel(
            after=10, metadata=_metadata("CANCELLED", 0.2)
        ),
    ]
