"""Shared fixtures of the project's own tests (the `lro_emulator` fixture itself comes from the plugin).

Plain helpers are in ``helpers.py``: test modules import from there, never from this file.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import grpc
import httplib2
import pytest
from werkzeug.test import Client

from lro_emulator import Emulator

from .helpers import Stub

pytest_plugins = ("pytester",)


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester, with pytest-randomly (installed for test_randomly.py) off in the runs it starts, as it is in this
    one: its shuffled order and reseeded generator are what that test is about, not the others'. (pytester clears
    PYTEST_ADDOPTS when it is made, so it is set after.)"""
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:randomly")
    return pytester


@pytest.fixture
def http(lro_emulator: Emulator) -> Client:
    """A socket-free client of the emulator's WSGI app (werkzeug's test client)."""
    return Client(lro_emulator.wsgi_app)


@pytest.fixture
def rest_client(lro_emulator: Emulator) -> Any:
    """google-api-core's real REST operations client, pointed at the emulator over loopback."""
    from google.api_core.operations_v1 import AbstractOperationsClient
    from google.api_core.operations_v1.transports.rest import OperationsRestTransport
    from google.auth.credentials import AnonymousCredentials

    # The scheme must be inside host: google-api-core's REST transport ignores url_scheme.
    transport = OperationsRestTransport(host=lro_emulator.url, credentials=AnonymousCredentials())
    return AbstractOperationsClient(transport=transport)


@pytest.fixture
def grpc_channel(lro_emulator: Emulator) -> Iterator[grpc.Channel]:
    """An insecure loopback channel to the emulator's gRPC server, closed afterwards."""
    with grpc.insecure_channel(lro_emulator.grpc_target) as channel:
        yield channel


@pytest.fixture
def stub(grpc_channel: grpc.Channel) -> Stub:
    """The raw ``google.longrunning`` Operations stub, on the test's ``grpc_channel``."""
    return Stub(grpc_channel)


@pytest.fixture
def users_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A user's project with pytest-asyncio installed (so its loop scope is set), run as if from a fresh shell."""
    for variable in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(variable, raising=False)  # this suite may itself run under xdist
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:randomly")  # as the pytester fixture says
    # Without this setting pytest-asyncio warns at start-up (an error under -W error).
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


@pytest.fixture
def httplib2_http() -> Iterator[httplib2.Http]:
    """The transport googleapiclient sends through, closed after the test."""
    transport = httplib2.Http()
    yield transport
    transport.close()


#: The hosts a test guarded by `loopback_only` may reach.
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make every host but the loopback fail fast (no test reaches Google); returns the hosts that were refused."""
    refused: list[str] = []
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in LOOPBACK:
            refused.append(name)
            raise socket.gaierror(socket.EAI_NONAME, f"this test may reach 127.0.0.1 only, not {name}")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            refused.append(address[0])
            raise OSError(f"this test may reach 127.0.0.1 only, not {address[0]}")
        real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return refused


@pytest.fixture
def no_google_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """A process with no Google credentials and no project configured, as on a fresh CI machine.

    No ``GOOGLE_APPLICATION_CREDENTIALS``, an empty gcloud and Earth Engine configuration, and no probe of the GCE
    metadata server (which would take seconds to time out off Google's cloud).
    """
    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT",
                 "GOOGLE_CLOUD_QUOTA_PROJECT", "EE_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    # google-auth reads NO_GCE_CHECK when it is imported, long before this fixture: its module flag is set instead.
    from google.auth.compute_engine import _metadata  # internal: the flag NO_GCE_CHECK sets at import

    monkeypatch.setattr(_metadata, "_NO_GCE_CHECK", True)
