"""Docs that run: every Python example in the README is executed here."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess
import sysconfig

# The examples' libraries are imported before any pytester run: pytester forgets the modules first imported inside
# a run, and a library re-imported in a later run mixes new classes with old ones (requests' CookieJar) or, for
# grpcio's extension module, crashes the interpreter.
import google.api_core.operations_v1
import google.cloud.workflows_v1  # noqa: F401
import googleapiclient.discovery  # noqa: F401
import grpc  # noqa: F401
import hypothesis  # noqa: F401
import pytest
import requests  # noqa: F401

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
TEST_BLOCKS = [block for block in BLOCKS if "def test_" in block]
# Scenario files the examples load: a YAML block starting with "# file: NAME" is written beside the test as NAME.
FILES = dict(re.findall(r"```yaml\n# file: (\S+)\n(.*?)```", README.read_text(), flags=re.DOTALL))
VALIDATE_OUTPUT = re.search(r"```text\n(scenario export\.yaml has .*?)```", README.read_text(), flags=re.DOTALL)
SCRIPT_BLOCKS = [block for block in BLOCKS if "def test_" not in block]
REPORT = re.search(r"```text\n(lro-emulator: .*?)```", README.read_text(), flags=re.DOTALL)


def test_the_readme_has_examples_of_both_kinds() -> None:
    assert len(TEST_BLOCKS) >= 3
    assert len(SCRIPT_BLOCKS) >= 1


@pytest.mark.parametrize("block", TEST_BLOCKS, ids=[re.search(r"def (test_\w+)", b).group(1) for b in TEST_BLOCKS])  # type: ignore[union-attr]
def test_a_readme_test_passes_as_a_users_test(pytester: pytest.Pytester, block: str) -> None:
    pytester.makepyfile(test_readme_example=block)
    for name, text in FILES.items():
        pytester.path.joinpath(name).write_text(f"# file: {name}\n{text}")
    # A user's project with pytest-asyncio sets this, or pytest-asyncio warns (an error under -W error).
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")

    result = pytester.runpytest("--strict-markers", "-W", "error")

    result.assert_outcomes(passed=block.count("def test_"))


@pytest.mark.parametrize("block", SCRIPT_BLOCKS)
def test_a_readme_script_runs(block: str) -> None:
    exec(compile(block, str(README), "exec"), {"__name__": "readme_example"})


def test_the_readme_scenario_files_are_used_by_an_example() -> None:
    assert "export.yaml" in FILES
    assert any('scenario="export.yaml"' in block for block in TEST_BLOCKS)


def test_the_readme_shows_what_validate_prints_for_its_misspelt_scenario(tmp_path: pathlib.Path) -> None:
    assert VALIDATE_OUTPUT is not None
    misspelt = f"# file: export.yaml\n{FILES['export.yaml']}".replace("response:", "respnse:")
    tmp_path.joinpath("export.yaml").write_text(misspelt)
    script = shutil.which("lro-emulator", path=sysconfig.get_path("scripts")) or shutil.which("lro-emulator")
    assert script is not None

    result = subprocess.run([script, "validate", "export.yaml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, check=False)

    assert result.returncode == 1
    assert result.stderr == VALIDATE_OUTPUT.group(1)


def test_the_readme_shows_the_report_its_example_prints(pytester: pytest.Pytester) -> None:
    assert REPORT is not None
    [block] = [block for block in TEST_BLOCKS if "lro_emulator.describe()" in block]
    pytester.makepyfile(test_report_example=block)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")

    # In a process of its own: with "-W error", garbage that earlier tests in this process left for the collector
    # (a client's unclosed socket) would fail the example wherever the collector happened to run inside it.
    # Except Google's notice on importing google-api-core on a Python near or past its end of life (3.10), which
    # this project's own filterwarnings lets through too (pyproject.toml).
    result = pytester.runpytest_subprocess("-s", "-W", "error", "-W", "ignore:You are using a:FutureWarning")

    result.assert_outcomes(passed=1)
    assert REPORT.group(1) in result.stdout.str()
