"""lro-emulator: Google's long-running Operations API, scripted, on a virtual clock.

The public surface is re-exported here, every type that a public signature names among it;
everything else is internal and may change without notice.

Each name is imported on first use (PEP 562): the pytest plugin imports this package in every pytest run of an
environment that has it installed, used or not, and the emulator's modules (werkzeug's routing, jsonschema,
freezegun) cost a third of a second to import. ``import lro_emulator`` costs almost nothing; the first use of a
name imports what it needs.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

#: The package's version, the one place it is written (pyproject.toml reads it from here): reading the installed
#: metadata instead cost 43 ms at import.
__version__ = "0.1.0"

if TYPE_CHECKING:
    from .core.calls import Call, CallList, FaultOnCall, OperationCalls
    from .core.clock import Pacing, VirtualClock
    from .core.faults import Effect, Fault, FaultBuilder
    from .core.handle import OperationHandle, OperationList, Payload, Seconds
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

#: Where each public name is defined, relative to this package.
_EXPORTS = {
    "Call": ".core.calls",
    "CallList": ".core.calls",
    "FaultOnCall": ".core.calls",
    "OperationCalls": ".core.calls",
    "Pacing": ".core.clock",
    "VirtualClock": ".core.clock",
    "Effect": ".core.faults",
    "Fault": ".core.faults",
    "FaultBuilder": ".core.faults",
    "OperationHandle": ".core.handle",
    "OperationList": ".core.handle",
    "Payload": ".core.handle",
    "Seconds": ".core.handle",
    "LoadedScenario": ".core.scenario",
    "Scenario": ".core.scenario",
    "ScenarioError": ".core.scenario",
    "ScenarioProblem": ".core.scenario",
    "HttpRule": ".core.starts",
    "ParentOf": ".core.starts",
    "Script": ".core.starts",
    "Starter": ".core.starts",
    "StartRequest": ".core.starts",
    "Transition": ".core.timeline",
    "DEFAULT_START": ".emulator",
    "Emulator": ".emulator",
    "WsgiApp": ".emulator",
    "Interception": ".intercept",
    "TimeBackdrop": ".virtual_time",
    "VirtualTime": ".virtual_time",
    "Code": ".wire.codes",
    "EmulatorFailure": ".wire.errors",
    "LroEmulatorError": ".wire.errors",
    "NotServing": ".wire.errors",
    "OperationNotFound": ".wire.errors",
    "ScriptError": ".wire.errors",
    "StaleHandle": ".wire.errors",
    "StatusError": ".wire.errors",
    "PROFILES": ".wire.profiles",
    "Profile": ".wire.profiles",
    "SchemaViolation": ".wire.validation",
}

#: Old names kept for a while: each clashed with a client library's own (google-api-core's
#: ``Operation``, grpc's ``RpcError``), which tests import side by side with ours.
_DEPRECATED = {"Operation": "OperationHandle", "RpcError": "StatusError"}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value  # the next lookup finds it without coming here
        return value
    if name in _DEPRECATED:
        new = _DEPRECATED[name]
        warnings.warn(f"lro_emulator.{name} is renamed {new}; the old name will go in a later release",
                      DeprecationWarning, stacklevel=2)
        return __getattr__(new)
    raise AttributeError(f"module 'lro_emulator' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(globals()))


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
    "OperationList",
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
