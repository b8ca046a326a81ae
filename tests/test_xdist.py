"""A user's suite using the ``lro_emulator`` fixture passes under pytest-xdist (``-n 2``).

The suite scripts operations and drives real clients (google-api-core's REST ``AbstractOperationsClient``,
and its gRPC ``OperationsClient`` under the marker's ``grpc=True``), uses the marker's ``seed`` and
``profile``, and records per test which worker ran it, where its emulator served and what it saw. The
records show that both workers ran tests, that each worker had its own emulator (its own ports), and that
no test saw another's operations. A failing test run on a worker still gets the report section.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

TITLE = "lro-emulator: operations, calls and faults"
# This environment also has schemathesis and hypothesis installed, for the project's own suite; their pytest
# plugins cost every process of an xdist run (controller and workers) seconds to import and play no part here.
XDIST = ("-p", "xdist", "-n", "2", "-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "no:cacheprovider")

CONFTEST = '''
import json, os, pathlib
import pytest

RECORDS = pathlib.Path(__file__).parent / "records"


@pytest.fixture
def record(request, lro_emulator):
    """Write down which worker ran the test, where its emulator served and which operations it listed."""
    def write(listed, **extra):
        RECORDS.mkdir(exist_ok=True)
        document = {
            "test": request.node.nodeid,
            "worker": os.environ.get("PYTEST_XDIST_WORKER"),
            "http": lro_emulator.url,
            "created": sorted(op.name for op in lro_emulator.operations),
            "listed": sorted(listed),
            **extra,
        }
        (RECORDS / f"{request.node.name}.json").write_text(json.dumps(document))
    return write
'''

REST_TESTS = '''
import pytest
from google.api_core import operation
from google.api_core.operations_v1 import AbstractOperationsClient
from google.api_core.operations_v1.transports.rest import OperationsRestTransport
from google.auth.credentials import AnonymousCredentials
from google.protobuf import struct_pb2

STRUCT = "type.googleapis.com/google.protobuf.Struct"


@pytest.fixture
def client(lro_emulator):
    transport = OperationsRestTransport(host=lro_emulator.url, credentials=AnonymousCredentials())
    yield AbstractOperationsClient(transport=transport)
    transport._session.close()


@pytest.mark.parametrize("rows", [1, 2, 3, 4])
def test_an_export_finishes_after_ten_virtual_minutes(lro_emulator, client, record, rows):
    op = lro_emulator.add_operation(f"projects/p/operations/export-{rows}",
                                    metadata={"@type": STRUCT, "value": {"state": "RUNNING"}})
    op.succeed({"@type": STRUCT, "value": {"rows": rows}}, at=600)

    result = operation.from_gapic(client.get_operation(op.name), client, struct_pb2.Struct).result(timeout=1200)

    assert dict(result) == {"rows": rows}
    assert op.polls >= 2
    listed = [listed.name for listed in client.list_operations("projects/p", "")]
    assert listed == [op.name]
    record(listed)


def test_a_cancel_reaches_only_this_tests_operation(lro_emulator, client, record):
    op = lro_emulator.add_operation("projects/p/operations/cancel-me")
    op.on_cancel("accept")

    client.cancel_operation(op.name)

    assert client.get_operation(op.name).error.code == 1
    listed = [listed.name for listed in client.list_operations("projects/p", "")]
    assert listed == [op.name]
    record(listed)
'''

MARKER_TESTS = '''
import random
import pytest
from google.api_core.operations_v1 import AbstractOperationsClient
from google.api_core.operations_v1.transports.rest import OperationsRestTransport
from google.auth.credentials import AnonymousCredentials


@pytest.mark.lro_emulator(profile="earthengine", seed=7)
def test_the_marker_sets_profile_and_seed(lro_emulator, record):
    transport = OperationsRestTransport(host=lro_emulator.url, credentials=AnonymousCredentials())
    client = AbstractOperationsClient(transport=transport)
    try:
        assert random.random() == random.Random(7).random()
        op = lro_emulator.add_operation().succeed(at=5)
        assert op.name == "projects/test-project/operations/op-1"
        assert not client.get_operation(op.name).done
        listed = [listed.name for listed in client.list_operations("projects/test-project", "")]
    finally:
        transport._session.close()
    assert lro_emulator.profile.name == "earthengine"
    record(listed)


def test_a_fresh_emulator_state_in_every_test(lro_emulator, record):
    assert lro_emulator.operations == []
    assert lro_emulator.calls.call_count == 0
    assert lro_emulator.clock.now().isoformat() == "2030-01-01T00:00:00+00:00"
    record([])
'''

GRPC_TESTS = '''
import grpc
import pytest
from google.api_core import operation, operations_v1
from google.protobuf import struct_pb2

STRUCT = "type.googleapis.com/google.protobuf.Struct"


@pytest.mark.lro_emulator(grpc=True)
@pytest.mark.parametrize("minutes", [30, 90])
def test_a_grpc_client_polls_to_the_end(lro_emulator, record, minutes):
    op = lro_emulator.add_operation(f"projects/g/operations/job-{minutes}")
    op.succeed({"@type": STRUCT, "value": {"minutes": minutes}}, at=60 * minutes)

    with grpc.insecure_channel(lro_emulator.grpc_target) as channel:
        client = operations_v1.OperationsClient(channel)
        future = operation.from_gapic(client.get_operation(op.name), client, struct_pb2.Struct)
        result = future.result(timeout=3 * 3600)
        listed = [listed.name for listed in client.list_operations("projects/g", "")]

    assert dict(result) == {"minutes": minutes}
    assert listed == [op.name]
    assert lro_emulator.calls.filter(transport="grpc").call_count == op.polls + 1
    record(listed, grpc=lro_emulator.grpc_target)
'''

FAILING_TESTS = '''
def test_fails_with_an_operation_left_running(lro_emulator):
    op = lro_emulator.add_operation("projects/p/operations/left-running")
    assert op.done


def test_passes(lro_emulator):
    lro_emulator.add_operation("projects/p/operations/finished").succeed()
'''


def test_a_users_suite_passes_under_xdist_with_one_emulator_per_worker(users_project: pytest.Pytester) -> None:
    users_project.makeconftest(CONFTEST)
    users_project.makepyfile(test_rest=REST_TESTS, test_marker=MARKER_TESTS, test_grpc=GRPC_TESTS)

    result = users_project.runpytest_subprocess(*XDIST, "--strict-markers")

    result.assert_outcomes(passed=9)
    records = [json.loads(path.read_text()) for path in sorted((users_project.path / "records").glob("*.json"))]
    assert len(records) == 9
    servers: dict[str, set[str]] = defaultdict(set)
    for entry in records:
        servers[entry["worker"]].add(entry["http"])
    assert set(servers) == {"gw0", "gw1"}
    assert all(len(urls) == 1 for urls in servers.values())  # one emulator per worker, shared by its tests
    assert servers["gw0"] != servers["gw1"]  # each worker its own, on its own port
    for entry in records:
        assert entry["listed"] == entry["created"], entry  # nothing of any other test, on either worker
    created = [name for entry in records for name in entry["created"]]
    assert len(created) == len(set(created)) == 8
    grpc_servers: dict[str, set[str]] = defaultdict(set)
    for entry in records:
        if "grpc" in entry:
            grpc_servers[entry["worker"]].add(entry["grpc"])
    assert all(len(targets) == 1 for targets in grpc_servers.values())  # a worker's tests share its gRPC server
    targets = [target for targets in grpc_servers.values() for target in targets]
    assert len(targets) == len(set(targets)) >= 1
    assert all(target.startswith("127.0.0.1:") for target in targets)


def test_a_failing_test_on_a_worker_gets_the_report_section(users_project: pytest.Pytester) -> None:
    users_project.makepyfile(test_users=FAILING_TESTS)

    result = users_project.runpytest_subprocess(*XDIST)

    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert output.count(TITLE) == 1
    result.stdout.fnmatch_lines([
        "*_ test_fails_with_an_operation_left_running _*",
        "[[]gw?[]] *",
        "*assert False*",
        f"*- {TITLE} -*",
        "lro-emulator: generic profile; virtual clock 2030-01-01T00:00:00Z -> *",
        "projects/p/operations/left-running  (*",
    ])
    assert "projects/p/operations/finished" not in output
