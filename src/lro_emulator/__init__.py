"""lro-emulator: Google's long-running Operations API, scripted, on a virtual clock.

The public surface is re-exported here; everything else is internal.
"""

from importlib.metadata import PackageNotFoundError, version

from .calls import Call, CallList
from .clock import VirtualClock
from .codes import Code
from .emulator import DEFAULT_START, Emulator
from .errors import EmulatorFailure, RpcError, ScriptError
from .profiles import PROFILES, Profile
from .scenario import LoadedScenario, Scenario, ScenarioError
from .schemas import SchemaViolation
from .scripting import Operation
from .starts import Starter, StartRequest
from .timecontrol import TimeBackdrop, VirtualTime

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
