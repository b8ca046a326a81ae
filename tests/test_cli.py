"""The ``lro-emulator`` console script, run as a person would: a subprocess answering over loopback."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sysconfig
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

DEMO = "projects/demo/locations/global/operations"


def console_script() -> str:
    """The installed script: beside this interpreter (a venv need not be activated), or on PATH."""
    found = shutil.which("lro-emulator", path=sysconfig.get_path("scripts")) or shutil.which("lro-emulator")
    assert found, "the lro-emulator console script is not installed"
    return found


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The console script serving on free ports; the first line it prints, as it was printed."""
    extra = list(getattr(request, "param", []))
    process = subprocess.Popen(
        [console_script(), "--port", "0", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    watchdog = threading.Timer(30, process.kill)  # a hung server must not hang the suite
    watchdog.start()
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"serving on (http://127\.0\.0\.1:\d+)", first)
        assert match, f"unexpected first line: {first!r} (stderr: {process.stderr.read() if process.stderr else ''})"
        yield process, first
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        watchdog.cancel()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def fetch(url: str, method: str = "GET") -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=10) as response:
        return json.loads(response.read())


def url_of(first_line: str) -> str:
    found = re.search(r"serving on (http://127\.0\.0\.1:\d+)", first_line)
    assert found is not None
    return found.group(1)


def test_serve_runs_the_demo_until_interrupted(served: tuple[subprocess.Popen[str], str]) -> None:
    process, first = served
    url = url_of(first)

    listed = fetch(f"{url}/v1/{DEMO.rsplit('/', 1)[0]}/operations")
    polls = [fetch(f"{url}/v1/{DEMO}/training") for _ in range(4)]
    waited = fetch(f"{url}/v1/{DEMO}/hour-long:wait?timeout=3600s", method="POST")
    process.send_signal(signal.SIGINT)

    assert [op["name"].rsplit("/", 1)[1] for op in listed["operations"]] == [
        "export-done", "training", "quota-failed", "hour-long", "cancel-me"
    ]
    assert [p["metadata"]["value"]["state"] for p in polls] == ["PENDING", "RUNNING", "RUNNING", "SUCCEEDED"]
    assert waited["response"]["value"] == {"rows": 1000}
    assert process.wait(timeout=10) == 0


def test_a_bad_option_is_a_clear_error() -> None:
    result = subprocess.run([console_script(), "--start", "yesterday", "--port", "0"], capture_output=True, text=True,
                            timeout=30)

    assert result.returncode == 2
    assert "not an RFC 3339 timestamp" in result.stderr


@pytest.mark.parametrize("served", [["--grpc-port", "0"]], indirect=True)
def test_serve_answers_grpc_too_from_the_same_state(served: tuple[subprocess.Popen[str], str]) -> None:
    import grpc
    from google.longrunning import operations_pb2, operations_pb2_grpc
    from google.protobuf import duration_pb2

    process, first = served
    target = re.search(r"and gRPC on (127\.0\.0\.1:\d+)", first)
    assert target is not None, first

    with grpc.insecure_channel(target.group(1)) as channel:
        stub = operations_pb2_grpc.OperationsStub(channel)
        hour = duration_pb2.Duration(seconds=3600)
        request = operations_pb2.WaitOperationRequest(name=f"{DEMO}/hour-long", timeout=hour)
        waited = stub.WaitOperation(request, timeout=10)
    over_rest = fetch(f"{url_of(first)}/v1/{DEMO}/hour-long")
    process.send_signal(signal.SIGINT)

    assert waited.done
    assert over_rest["done"] is True  # the wait over gRPC moved the clock REST answers from
    assert process.wait(timeout=10) == 0
