"""lro-emulator: Google's long-running Operations API, scripted, on a virtual clock.

The public surface is re-exported here; everything else is internal.
"""

from importlib.metadata import PackageNotFoundError, version

from .core.calls import Call, CallList
from .core.clock import VirtualClock
from .core.handle import Operation
from .core.scenario import LoadedScenario, Scenario, ScenarioError
from .core.starts import Starter, StartRequest
from .emulator import DEFAULT_START, Emulator
from .virtual_time import TimeBackdrop, VirtualTime
from .wire.codes import Code
from .wire.errors import EmulatorFailure, RpcError, ScriptError
from .wire.profiles import PROFILES, Profile
from .wire.validation import SchemaViolation

try:
    __version__ = version("lro-emulator")
except PackageNotFoundError:  # pragma: no cover - only when imported from an uninstalled tree
    __version__ = "0+unknown"

__all__ = [
    "DEFAULT_START",
    "PROFILES",
    "Call",
    "CallList",
    "Code",
    "Emulator",
    "EmulatorFailure",
    "LoadedScenario",
    "Operation",
    "Profile",
    "RpcError",
    "Scenario",
    "ScenarioError",
    "SchemaViolation",
    "ScriptError",
    "StartRequest",
    "Starter",
    "TimeBackdrop",
    "VirtualClock",
    "VirtualTime",
    "__version__",
]
