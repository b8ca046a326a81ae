"""Docs that run: every Python example in the README and in docs/ is executed here.

A page's Python block that defines tests runs as a user's test file under pytest; any other Python block runs as a
script. A YAML block starting with ``# file: NAME`` is a scenario file the examples load, written beside them.
"""

from __future__ import annotations

import argparse
import gc
import json
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import warnings

# The examples' libraries are imported before any pytester run: pytester forgets the modules first imported inside
# a run, and a library re-imported in a later run mixes new classes with old ones (requests' CookieJar) or, for
# grpcio's extension module, crashes the interpreter.
import ee  # noqa: F401
import google.api_core.operations_v1
import google.cloud.aiplatform_v1
import google.cloud.workflows_v1  # noqa: F401
import googleapiclient.discovery  # noqa: F401
import grpc  # noqa: F401
import hypothesis  # noqa: F401
import pytest
import requests  # noqa: F401

import lro_emulator
from lro_emulator import cli

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = {page: page.read_text() for page in [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]}


def _name(page: pathlib.Path) -> str:
    return page.relative_to(ROOT).as_posix()


def _blocks(language: str) -> list[tuple[str, str]]:
    return [(_name(page), block) for page, text in PAGES.items()
            for block in re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)]


BLOCKS = _blocks("python")
TEST_BLOCKS = [(page, block) for page, block in BLOCKS if "def test_" in block]
SCRIPT_BLOCKS = [(page, block) for page, block in BLOCKS if "def test_" not in block]
FILES = dict(re.findall(r"```yaml\n# file: (\S+)\n(.*?)```", "".join(PAGES.values()), flags=re.DOTALL))
SCENARIOS_PAGE = PAGES[DOCS / "how-to" / "scenarios.md"]
VALIDATE_OUTPUT = re.search(r"```text\n(scenario export\.yaml has .*?)```", SCENARIOS_PAGE, flags=re.DOTALL)
REPORT = re.search(r"```text\n(lro-emulator: .*?)```", PAGES[DOCS / "how-to" / "failure-reports.md"], flags=re.DOTALL)


def _test_id(page: str, block: str) -> str:
    name = re.search(r"def (test_\w+)", block)
    assert name is not None
    return f"{page}::{name.group(1)}"


def test_the_docs_have_examples_of_both_kinds_on_many_pages() -> None:
    assert len({page for page, _ in TEST_BLOCKS}) >= 15
    assert len(SCRIPT_BLOCKS) >= 1
    assert "README.md" in {page for page, _ in TEST_BLOCKS}


@pytest.mark.parametrize(("page", "block"), TEST_BLOCKS, ids=[_test_id(*pair) for pair in TEST_BLOCKS])
def test_a_docs_test_passes_as_a_users_test(pytester: pytest.Pytester, page: str, block: str) -> None:
    pytester.makepyfile(test_readme_example=block)
    for name, text in FILES.items():
        pytester.path.joinpath(name).write_text(f"# file: {name}\n{text}")
    # A user's project with pytest-asyncio sets this, or pytest-asyncio warns (an error under -W error).
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    _collect_garbage()  # what earlier tests in this process left is theirs, not the example's

    result = pytester.runpytest("--strict-markers", "-W", "error")

    result.assert_outcomes(passed=block.count("def test_"))
    left = _collect_garbage()
    assert not left, f"the example left {left} (users copy examples: close what they open)"


def _collect_garbage() -> list[str]:
    """Run the collector, and say what it found that complained (an unclosed socket's ResourceWarning, say).

    The example runs in this process under ``-W error``, where garbage that other tests left, reached by the
    collector in the middle of the example's run, would fail the example for what it did not do. So the garbage is
    collected before the run, unjudged, and after it, judged: what complains then, the example left.
    """
    found: list[str] = []
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: found.append(f"{unraisable.exc_value!r} ({unraisable.object!r})")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)  # a warning in __del__ reaches the hook
            gc.collect()
    finally:
        sys.unraisablehook = hook
    return found


@pytest.mark.parametrize(("page", "block"), SCRIPT_BLOCKS, ids=[page for page, _ in SCRIPT_BLOCKS])
def test_a_docs_script_runs(page: str, block: str) -> None:
    exec(compile(block, str(ROOT / page), "exec"), {"__name__": "docs_example"})


def test_the_docs_scenario_files_are_used_by_an_example() -> None:
    assert "export.yaml" in FILES
    assert any('scenario="export.yaml"' in block for _, block in TEST_BLOCKS)


def test_the_docs_show_what_validate_prints_for_their_misspelt_scenario(tmp_path: pathlib.Path) -> None:
    assert VALIDATE_OUTPUT is not None
    misspelt = f"# file: export.yaml\n{FILES['export.yaml']}".replace("response:", "respnse:")
    tmp_path.joinpath("export.yaml").write_text(misspelt)
    script = shutil.which("lro-emulator", path=sysconfig.get_path("scripts")) or shutil.which("lro-emulator")
    assert script is not None

    result = subprocess.run([script, "validate", "export.yaml"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, check=False)

    assert result.returncode == 1
    assert result.stderr == VALIDATE_OUTPUT.group(1)


def test_the_docs_show_the_report_their_example_prints(pytester: pytest.Pytester) -> None:
    assert REPORT is not None
    [block] = [block for _, block in TEST_BLOCKS if "lro_emulator.describe()" in block]
    pytester.makepyfile(test_report_example=block)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")

    # In a process of its own: with "-W error", garbage that earlier tests in this process left for the collector
    # (a client's unclosed socket) would fail the example wherever the collector happened to run inside it.
    # Except Google's notice on importing google-api-core on a Python near or past its end of life (3.10), which
    # this project's own filterwarnings lets through too (pyproject.toml).
    result = pytester.runpytest_subprocess("-s", "-W", "error", "-W", "ignore:You are using a:FutureWarning")

    result.assert_outcomes(passed=1)
    assert REPORT.group(1) in result.stdout.str()


def test_the_api_reference_documents_every_public_name() -> None:
    reference = PAGES[DOCS / "reference" / "api.md"]
    documented = set(re.findall(r"\.\. auto\w+:: lro_emulator(?:\.\w+)*\.(\w+)\n", reference))
    strategies = re.search(r"automodule:: lro_emulator\.strategies\n\s+:members: (.*)", reference)

    assert documented >= set(lro_emulator.__all__) - {"__version__"}
    assert strategies is not None
    assert set(strategies.group(1).split(", ")) == set(_strategies_all())


def _strategies_all() -> list[str]:
    from lro_emulator import strategies

    return list(strategies.__all__)


def _options(parser: argparse.ArgumentParser) -> dict[str, set[str]]:
    """Each command's long options, by command name ("" for the top level)."""
    found = {"": {o for action in parser._actions for o in action.option_strings if o.startswith("--")}}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                found[name] = {o for a in command._actions for o in a.option_strings if o.startswith("--")}
    return found


def test_the_cli_reference_names_every_command_and_option() -> None:
    reference = PAGES[DOCS / "reference" / "cli.md"]
    sections = dict(re.findall(r"^## `lro-emulator (\w+)[^`]*`\n(.*?)(?=^## |\Z)", reference, re.M | re.S))

    for command, options in _options(cli._parser()).items():
        text = reference if command == "" else sections[command]
        missing = {option for option in options - {"--help"} if f"`{option}" not in text}
        assert not missing, f"lro-emulator {command}: {sorted(missing)} not in docs/reference/cli.md"


def test_every_marker_option_is_in_the_fixture_reference() -> None:
    from lro_emulator import conftest_plugin

    reference = PAGES[DOCS / "reference" / "fixture.md"]
    rows = set(re.findall(r"^\| `(\w+)` \|", reference, flags=re.M))

    assert rows >= set(conftest_plugin._OPTIONS)


def test_the_readme_install_table_is_the_install_pages() -> None:
    def table(text: str) -> str:
        found = re.search(r"^\| your code uses.*?\n(?=\n)", text, flags=re.M | re.S)
        assert found is not None
        return found.group(0)

    readme = table(PAGES[ROOT / "README.md"]).replace("](docs/", "](")
    assert readme == table(PAGES[DOCS / "install.md"])


def test_the_control_plane_page_drives_a_server_with_curl_as_shown(tmp_path: pathlib.Path) -> None:
    """The page's shell session, run as written from a checkout, on a free port instead of 8089."""
    curl = shutil.which("curl")
    assert curl is not None, "curl is needed to run the control plane page's example"
    [session] = re.findall(r"```sh\n(.*?)```", PAGES[DOCS / "reference" / "control-plane.md"], flags=re.DOTALL)
    script = shutil.which("lro-emulator", path=sysconfig.get_path("scripts")) or shutil.which("lro-emulator")
    assert script is not None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    session = session.replace("8089", str(port)).replace("lro-emulator serve", f"{script} serve", 1)

    result = subprocess.run(["bash", "-c", f"set -e\n{session}wait"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, check=False)

    assert result.returncode in (0, 130, 143), result.stderr
    # curl prints each answer without a newline, between the server's own lines: read every JSON object in turn.
    answers, decoder, at = [], json.JSONDecoder(), result.stdout.find("{")
    while at >= 0:
        try:
            answer, end = decoder.raw_decode(result.stdout, at)
        except json.JSONDecodeError:
            end = at + 1
        else:
            answers.append(answer)
        at = result.stdout.find("{", end)
    assert {"time": "2030-01-01T01:00:00Z"} in answers
    [operation] = [a for a in answers if a.get("name") == "projects/my-project/operations/export-hour-long"]
    assert operation["done"] is True
    assert any(a.get("profile") == "vertex" for a in answers)
    assert any(a.get("operations") for a in answers if "profile" not in a)
    assert not (tmp_path / "ready.json").exists()
