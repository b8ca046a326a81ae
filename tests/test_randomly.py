"""Beside pytest-randomly, which reseeds ``random`` in its own runtest hooks, the fixture's seed still decides the
client's jitter: the same hour-long test polls the same number of times on every run, whatever randomly's seed."""

from __future__ import annotations

import re

# The inner runs' libraries, imported before any pytester run (see test_readme.py for why).
import google.api_core.operation
import google.api_core.operations_v1  # noqa: F401
import pytest

HOUR_LONG_TEST = '''
from google.api_core import operation, operations_v1
from google.api_core.operations_v1.transports.rest import OperationsRestTransport
from google.auth.credentials import AnonymousCredentials
from google.protobuf import struct_pb2


def test_an_hour_long_operation(lro_emulator):
    transport = OperationsRestTransport(host=lro_emulator.url, credentials=AnonymousCredentials())
    client = operations_v1.AbstractOperationsClient(transport=transport)
    op = lro_emulator.add_operation().succeed({"@type": "type.googleapis.com/google.protobuf.Struct",
                                              "value": {}}, at=3600)

    operation.from_gapic(client.get_operation(op.name), client, struct_pb2.Struct).result(timeout=7200)

    print(f"POLLS={op.polls}")
'''


def polls_with_randomly(pytester: pytest.Pytester, seed: int) -> int:
    result = pytester.runpytest_subprocess("-p", "randomly", f"--randomly-seed={seed}", "-s", "-p",
                                           "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert f"Using --randomly-seed={seed}" in result.stdout.str()  # randomly was on, with this seed
    return int(re.search(r"POLLS=(\d+)", result.stdout.str()).group(1))  # type: ignore[union-attr]


def test_the_same_hour_polls_the_same_times_whatever_randomly_seeds(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_ADDOPTS")
    pytester.makepyfile(test_hour=HOUR_LONG_TEST)

    polls = [polls_with_randomly(pytester, seed) for seed in (1, 2, 3)]

    assert polls[0] > 100  # api-core's default polling over a virtual hour
    assert polls == [polls[0]] * 3
