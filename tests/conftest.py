"""Shared fixtures of the project's own tests (the `lro_emulator` fixture itself comes from the plugin)."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.test import Client

from lro_emulator import Emulator

pytest_plugins = ("pytester",)

STRUCT = "type.googleapis.com/google.protobuf.Struct"


def struct(**fields: Any) -> dict[str, Any]:
    """A google.protobuf.Struct as an Any: the metadata/response type every client process knows."""
    return {"@type": STRUCT, "value": fields}


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

    # The scheme must be inside host: the transport ignores url_scheme (wire-contract section 6).
    transport = OperationsRestTransport(host=lro_emulator.url, credentials=AnonymousCredentials())
    return AbstractOperationsClient(transport=transport)
