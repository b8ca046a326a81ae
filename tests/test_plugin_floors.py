"""Beside a pytest older than the plugin needs, the plugin stays off instead of breaking every run."""

from __future__ import annotations

import os
import pathlib
import subprocess
import venv

import pytest

import lro_emulator
from lro_emulator.plugin import unmet_floors  # internal: the guard is checked directly, beside a real old pytest


@pytest.mark.parametrize(("pytest_version", "pluggy_version", "missing"), [
    ("7.4.4", "1.0.0", "pytest 8.0 or later and pluggy 1.3 or later"),
    ("8.0.0", "1.2.0", "pluggy 1.3 or later"),
    ("7.0.0rc1", "1.5.0", "pytest 8.0 or later"),
])
def test_versions_below_the_floors_are_named(pytest_version: str, pluggy_version: str, missing: str) -> None:
    reason = unmet_floors(pytest_version, pluggy_version)

    assert reason == (f"lro-emulator's pytest plugin is off: it needs {missing}, and this environment has pytest "
                      f"{pytest_version} with pluggy {pluggy_version}")


@pytest.mark.parametrize(("pytest_version", "pluggy_version"), [
    ("8.0.0", "1.3.0"), ("8.1.0rc2", "1.4.0"), ("9.2.0", "1.6.0"), ("10.0", "2.0.dev1+g1234"),
])
def test_versions_at_or_above_the_floors_run_the_plugin(pytest_version: str, pluggy_version: str) -> None:
    assert unmet_floors(pytest_version, pluggy_version) is None


def test_an_environment_with_pytest_7_runs_its_tests_and_says_the_plugin_is_off(tmp_path: pathlib.Path) -> None:
    """pytest 7.4 with pluggy 1.0, where the plugin's hook wrappers crashed every run at import."""
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                "pytest==7.4.4", "pluggy==1.0.0"], capture_output=True, text=True, timeout=300,
                               check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # The package as an install makes it: importable, with its pytest11 entry point, and nothing else beside it.
    site = pathlib.Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                       capture_output=True, text=True, check=True).stdout.strip())
    (site / "lro_emulator").symlink_to(pathlib.Path(lro_emulator.__file__).parent)
    info = site / "lro_emulator-0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lro-emulator\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text("[pytest11]\nlro_emulator = lro_emulator.plugin\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_users.py").write_text(
        "import pytest\n\n"
        "def test_plain():\n    assert True\n\n"
        "@pytest.mark.lro_emulator(profile='vertex')\n"
        "def test_with_the_fixture(lro_emulator):\n    pass\n")
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "PYTHON"))}

    run = subprocess.run([str(python), "-m", "pytest", "--strict-markers", "-p", "no:cacheprovider", "-rf"],
                         cwd=project, capture_output=True, text=True, timeout=120, check=False, env=environ)

    assert "1 passed, 1 error" in run.stdout, run.stdout + run.stderr
    reason = ("lro-emulator's pytest plugin is off: it needs pytest 8.0 or later and pluggy 1.3 or later, and this "
              "environment has pytest 7.4.4 with pluggy 1.0.0")
    assert run.stdout.count(reason) == 2  # in the header, and as the fixture's failure
    assert "ERROR at setup of test_with_the_fixture" in run.stdout
