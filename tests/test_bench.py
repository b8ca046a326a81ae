"""The benchmark command runs: ``bench/run.py --quick`` exits 0 and prints a table row with numbers for each
of the seven benchmarks, and a machine line. The targets are not asserted: timings are not tests.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parent.parent / "bench" / "run.py"

pytestmark = pytest.mark.skipif(not RUN.exists(), reason="the benchmarks ship in the sdist's repository only")


@pytest.fixture(scope="module")
def quick_run() -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(RUN), "--quick"], capture_output=True, text=True, timeout=120,
                          check=False)


def table_rows(output: str) -> dict[int, list[str]]:
    rows: dict[int, list[str]] = {}
    for line in output.splitlines():
        match = re.match(r"^([1-7])  (.*)$", line)
        if match:
            rows.setdefault(int(match.group(1)), []).append(match.group(2))
    return rows


def test_quick_run_exits_zero_and_names_the_machine(quick_run: subprocess.CompletedProcess[str]) -> None:
    assert quick_run.returncode == 0, quick_run.stdout + quick_run.stderr
    assert re.search(r"^machine: .+, \d+ cores", quick_run.stdout, re.MULTILINE), quick_run.stdout
    assert re.search(r"^python: \S+ \d+\.\d+", quick_run.stdout, re.MULTILINE), quick_run.stdout


@pytest.mark.parametrize("bench", [1, 2, 3, 4, 5, 6, 7])
def test_every_benchmark_has_a_measured_row(quick_run: subprocess.CompletedProcess[str], bench: int) -> None:
    rows = table_rows(quick_run.stdout).get(bench, [])
    assert rows, quick_run.stdout
    assert not any("ERROR" in row for row in rows), quick_run.stdout
    assert all(re.search(r"\d", row) for row in rows), rows
    assert any(re.search(r"(PASS|MISS)$", row) for row in rows), rows


def test_only_runs_the_chosen_benchmarks() -> None:
    done = subprocess.run([sys.executable, str(RUN), "--quick", "--only", "2"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(table_rows(done.stdout)) == {2}, done.stdout


def test_an_unknown_benchmark_number_is_a_usage_error() -> None:
    done = subprocess.run([sys.executable, str(RUN), "--only", "8"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2
    assert "numbered 1 to 7" in done.stderr
