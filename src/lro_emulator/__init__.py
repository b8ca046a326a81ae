"""lro-emulator: Google's long-running Operations API, scripted, on a virtual clock.

The public surface is re-exported here, every type that a public signature names among it;
everything else is internal and may change without notice.
"""

from __future__ import annotations

import warnings
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .core.calls import Call, CallList, FaultOnCall, OperationCalls
from .core.clock import Pacing, VirtualClock
from .core.faults import Effect, Fault, FaultBuilder
from .core.handle import OperationHandle, Payload, Seconds
from .core.scenario import LoadedScenario, Scenario, ScenarioError, ScenarioProblem
from .core.starts import HttpRule, ParentOf, Script, Starter, StartRequest
from .core.timeline import Transition
from .emulator import DEFAULT_START, Emulator, WsgiApp
from .intercept import Interception
from .virtual_time import TimeBackdrop, VirtualTime
from .wire.codes import Code
from .wire.errors import (
    EmulatorFailure,
    LroEmulatorError,
    NotServing,
    OperationNotFound,
    ScriptError,
    StaleHandle,
    StatusError,
)
from .wire.profiles import PROFILES, Profile
from .wire.validation import SchemaViolation

try:
    __version__ = version("lro-emulator")
except PackageNotFoundError:  # pragma: no cover - only when imported from an uninstalled tree
    __version__ = "0+unknown"

#: Old names kept for a while: each clashed with a client library's own (google-api-core's
#: ``Operation``, grpc's ``RpcError``), which tests import side by side with ours.
_DEPRECATED = {"Operation": ("OperationHandle", OperationHandle), "RpcError": ("StatusError", StatusError)}


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        new, value = _DEPRECATED[name]
        warnings.warn(f"lro_emulator.{name} is renamed {new}; the old name will go in a later release",
                      DeprecationWarning, stacklevel=2)
        return value
    raise AttributeError(f"module 'lro_emulator' has no attribute {name!r}")


__all__ = [
    "DEFAULT_START",
    "PROFILES",
    "Call",
    "CallList",
    "Code",
    "Effect",
    "Emulator",
    "EmulatorFailure",
    "Fault",
    "FaultBuilder",
    "FaultOnCall",
    "HttpRule",
    "Interception",
    "LoadedScenario",
    "LroEmulatorError",
    "NotServing",
    "OperationCalls",
    "OperationHandle",
    "OperationNotFound",
    "Pacing",
    "ParentOf",
    "Payload",
    "Profile",
    "Scenario",
    "ScenarioError",
    "ScenarioProblem",
    "SchemaViolation",
    "Script",
    "ScriptError",
    "Seconds",
    "StaleHandle",
    "StartRequest",
    "Starter",
    "StatusError",
    "TimeBackdrop",
    "Transition",
    "VirtualClock",
    "VirtualTime",
    "WsgiApp",
    "__version__",
]
