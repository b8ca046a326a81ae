"""The tutorial, followed literally in a fresh virtual environment: its install line, its test file, its command.

The README's quick start is the same three steps (this test checks it says the same), so one fresh environment
proves both. Slow by nature (a new venv, and pip resolving google-api-core from the index): one test, a minute or
so, most of it pip.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]
TUTORIAL = (ROOT / "docs" / "tutorial" / "first-test.md").read_text()
README = (ROOT / "README.md").read_text()


def _section(text: str, heading: str) -> str:
    found = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert found is not None, f"no section {heading!r}"
    return found.group(1)


def _block(text: str, language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)
    assert found is not None, f"no {language} block"
    return found.group(1)


INSTALL = _block(_section(TUTORIAL, "Install"), "sh")
TEST_FILE = _block(_section(TUTORIAL, "Write the test"), "python")
RUN = _block(_section(TUTORIAL, "Run it"), "sh")


def test_the_readme_quick_start_is_the_tutorials_first_test() -> None:
    quick_start = _section(README, "Quick start")

    assert _block(quick_start, "sh") == INSTALL
    assert _block(quick_start, "python") == TEST_FILE
    assert f"run `{RUN.strip()}`" in quick_start


def test_the_tutorial_passes_as_written_in_a_fresh_venv(tmp_path: pathlib.Path) -> None:
    # The tutorial's folder: a checkout of lro-emulator at ./lro-emulator (this one), and the test file it names.
    (tmp_path / "lro-emulator").symlink_to(ROOT, target_is_directory=True)
    name = re.match(r"# file: (\S+)\n", TEST_FILE)
    assert name is not None
    (tmp_path / name.group(1)).write_text(TEST_FILE)
    # A user's shell: none of this suite's pytest or virtual-environment settings leak into it.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST_", "PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE"))}
    script = f"set -e\n{INSTALL}\n{RUN}"

    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=900, check=False)

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    # "1 passed, 1 warning" on Python 3.10: google-api-core's notice that the version is past its end of life.
    assert re.search(r"^=+ 1 passed(, \d+ warnings?)? in [\d.]+s =+$", result.stdout, flags=re.M), result.stdout[-2000:]
