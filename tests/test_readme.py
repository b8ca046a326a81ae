"""Docs that run: every Python example in the README is executed here."""

from __future__ import annotations

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
TEST_BLOCKS = [block for block in BLOCKS if "def test_" in block]
SCRIPT_BLOCKS = [block for block in BLOCKS if "def test_" not in block]


def test_the_readme_has_examples_of_both_kinds() -> None:
    assert len(TEST_BLOCKS) >= 3
    assert len(SCRIPT_BLOCKS) >= 1


@pytest.mark.parametrize("block", TEST_BLOCKS, ids=[re.search(r"def (test_\w+)", b).group(1) for b in TEST_BLOCKS])  # type: ignore[union-attr]
def test_a_readme_test_passes_as_a_users_test(pytester: pytest.Pytester, block: str) -> None:
    pytester.makepyfile(test_readme_example=block)
    # A user's project with pytest-asyncio sets this, or pytest-asyncio warns (an error under -W error).
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")

    result = pytester.runpytest("--strict-markers", "-W", "error")

    result.assert_outcomes(passed=block.count("def test_"))


@pytest.mark.parametrize("block", SCRIPT_BLOCKS)
def test_a_readme_script_runs(block: str) -> None:
    exec(compile(block, str(README), "exec"), {"__name__": "readme_example"})
