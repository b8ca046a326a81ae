"""The module pytest loads for lro-emulator (its ``pytest11`` entry point): the plugin, where the pytest in use can
run it, and otherwise a notice in the run's header.

Every pytest run in an environment where the package is installed imports this module, whether its tests use the
emulator or not: it imports only pytest and pluggy to decide. The plugin itself (`conftest_plugin`) uses pytest 8's
hook wrappers (``hookimpl(wrapper=True)``), which older pluggy refuses at import: loaded there, it would crash
every run. Below the floors the plugin stays off, the header says why, the marker is still known (so
``--strict-markers`` runs pass), and a test asking for the fixture fails saying what to upgrade.
"""

from __future__ import annotations

import pluggy
import pytest

__all__ = ["FLOORS", "unmet_floors"]

#: The oldest versions the plugin runs on: pytest 8.0, and the pluggy pytest 8.0 itself requires.
FLOORS = {"pytest": (8, 0), "pluggy": (1, 3)}


def unmet_floors(pytest_version: str, pluggy_version: str) -> str | None:
    """Why the plugin cannot run beside these versions (a sentence naming what to upgrade), or None if it can."""
    found = {"pytest": pytest_version, "pluggy": pluggy_version}
    missing = [f"{name} {'.'.join(map(str, floor))} or later" for name, floor in FLOORS.items()
               if _release(found[name]) < floor]
    if not missing:
        return None
    return (f"lro-emulator's pytest plugin is off: it needs {' and '.join(missing)}, and this environment has "
            f"pytest {pytest_version} with pluggy {pluggy_version}")


def _release(version: str) -> tuple[int, ...]:
    """The leading numbers of a version (``"8.1.0rc2"`` is (8, 1, 0)), enough to compare with a floor."""
    numbers: list[int] = []
    for part in version.split("."):
        digits = ""
        for character in part:
            if not character.isdigit():
                break
            digits += character
        if not digits:
            break
        numbers.append(int(digits))
        if len(digits) < len(part):
            break
    return tuple(numbers)


_UNMET = unmet_floors(pytest.__version__, pluggy.__version__)

if _UNMET is None:
    from .conftest_plugin import *  # noqa: F403 - the plugin's hooks and fixtures, registered from this module
else:

    def pytest_configure(config: pytest.Config) -> None:
        """Keep the marker known, so that runs with ``--strict-markers`` still collect the user's tests."""
        config.addinivalue_line("markers", f"lro_emulator(...): options of the lro_emulator fixture ({_UNMET})")

    def pytest_report_header(config: pytest.Config) -> str:
        """Say in the run's header that the plugin is off, and why."""
        return str(_UNMET)

    @pytest.fixture(name="lro_emulator")
    def _lro_emulator_off() -> None:
        """The fixture where the plugin cannot run: the test fails, saying what to upgrade."""
        pytest.fail(str(_UNMET), pytrace=False)
