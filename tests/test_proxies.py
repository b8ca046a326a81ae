"""Proxies: a CI machine whose environment sends HTTP through a proxy (``HTTP_PROXY``) still reaches the emulator.

requests, google-auth's sessions and grpcio all read the proxy settings from the environment, and none of them
skips a proxy for 127.0.0.1 unless ``NO_PROXY`` says so. The proxy here is a dead port: any request sent to it
fails, so every answer below came from the emulator directly.
"""

from __future__ import annotations

import os

# Imported in real time: imported under the fixture's frozen 2030, google-api-core warns that this Python's support
# has ended (a FutureWarning, which the suite makes an error).
import google.api_core.operations_v1  # noqa: F401
import grpc
import pytest
import requests
from google.longrunning import operations_pb2, operations_pb2_grpc

from lro_emulator import Emulator

DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens there
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "grpc_proxy")
NO_PROXY_VARIABLES = ("NO_PROXY", "no_proxy", "no_grpc_proxy")


@pytest.fixture
def behind_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in PROXY_VARIABLES:
        monkeypatch.setenv(variable, DEAD_PROXY)


def test_the_proxy_is_dead(behind_a_proxy: None) -> None:
    # The premise: a request that goes through the proxy fails, whatever it asks for.
    with pytest.raises(requests.exceptions.ProxyError):
        requests.get("http://192.0.2.1/", timeout=10)


@pytest.mark.usefixtures("behind_a_proxy")
def test_requests_reach_the_emulator_past_the_proxy(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()

    answer = requests.get(f"{lro_emulator.url}/v1/{op.name}", timeout=10)

    assert answer.json() == {"name": op.name}


@pytest.mark.usefixtures("behind_a_proxy")
def test_google_api_core_reaches_the_emulator_past_the_proxy(lro_emulator: Emulator, rest_client: object) -> None:
    op = lro_emulator.add_operation()

    got = rest_client.get_operation(op.name)  # type: ignore[attr-defined]

    assert got.name == op.name


@pytest.mark.usefixtures("behind_a_proxy")
def test_grpc_reaches_the_emulator_past_the_proxy(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()

    with grpc.insecure_channel(lro_emulator.grpc_target) as channel:
        got = operations_pb2_grpc.OperationsStub(channel).GetOperation(
            operations_pb2.GetOperationRequest(name=op.name), timeout=10)

    assert got.name == op.name


def test_the_settings_come_back_as_they_were(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "intranet.example")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("no_grpc_proxy", "")
    emu = Emulator()

    with emu.bypass_proxies():
        inside = {variable: os.environ.get(variable) for variable in NO_PROXY_VARIABLES}
    after = {variable: os.environ.get(variable) for variable in NO_PROXY_VARIABLES}

    assert inside == {"NO_PROXY": "intranet.example,127.0.0.1,localhost,::1",
                      "no_proxy": "127.0.0.1,localhost,::1",
                      "no_grpc_proxy": "127.0.0.1,localhost,::1"}
    assert after == {"NO_PROXY": "intranet.example", "no_proxy": None, "no_grpc_proxy": ""}
