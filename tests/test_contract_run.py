"""Contract: Cloud Run's generated Python client (google-cloud-run), with a start declared in a scenario by full name.

The scenario names ``google.cloud.run.v2.Services.CreateService`` and nothing else about it: the emulator finds the
method in the client library the generated clients' naming places it in, and reads its binding, gRPC method and
types there. Its timeline names each service after the request (``{request.serviceId}``), so two calls create two
services, over REST and over gRPC alike.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2
from google.cloud.run_v2.services.services import transports

from lro_emulator import Emulator, Scenario

PARENT = "projects/my-project/locations/us-central1"
SCENARIO = """\
starts:
  - method: google.cloud.run.v2.Services.CreateService
    operation:
      metadata: {"@type": type.googleapis.com/google.cloud.run.v2.Service, name: "{name}"}
      steps:
        - at: 600s
          response:
            "@type": type.googleapis.com/google.cloud.run.v2.Service
            name: "{request.parent}/services/{request.serviceId}"
            uri: "https://{request.serviceId}-{{hash}}.run.app"
            description: "{request.service.description}"
"""


@pytest.fixture(params=["rest", "grpc"])
def client(request: pytest.FixtureRequest, lro_emulator: Emulator) -> Iterator[run_v2.ServicesClient]:
    if request.param == "rest":
        rest = run_v2.ServicesClient(transport="rest", client_options={"api_endpoint": lro_emulator.url},
                                     credentials=AnonymousCredentials())
        yield rest
        rest.transport.close()
    else:
        channel = grpc.insecure_channel(lro_emulator.grpc_target)
        yield run_v2.ServicesClient(transport=transports.ServicesGrpcTransport(channel=channel))
        channel.close()


def test_each_service_is_named_after_its_request(lro_emulator: Emulator, client: run_v2.ServicesClient) -> None:
    (starter,) = lro_emulator.load_scenario(Scenario.from_text(SCENARIO)).starters

    first = client.create_service(parent=PARENT, service_id="hello", service=run_v2.Service(description="first"))
    second = client.create_service(parent=PARENT, service_id="world", service=run_v2.Service())

    services = [first.result(timeout=3600), second.result(timeout=3600)]
    assert [(s.name, s.uri, s.description) for s in services] == [
        (f"{PARENT}/services/hello", "https://hello-{hash}.run.app", "first"),
        (f"{PARENT}/services/world", "https://world-{hash}.run.app", ""),
    ]
    assert isinstance(first.metadata, run_v2.Service)
    assert first.metadata.name == starter.operations[0].name
    assert starter.method == "google.cloud.run.v2.Services.CreateService"
    assert starter.http is not None
    assert starter.http.text == "POST /v2/{parent=projects/*/locations/*}/services"
