"""Contract: Vertex AI's generated clients (google-cloud-aiplatform), over REST and gRPC, under the vertex profile.

The starting methods are declared from the client's own methods (``on_start(DatasetServiceClient.create_dataset)``)
and nothing is written by hand: the emulator reads the HTTP bindings, the gRPC method and the request, response
and metadata types from the generated client. Over REST the client polls ``/ui/...``, the binding its
Operations mixin lists first, which the vertex profile serves because the service publishes it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from datetime import timedelta

import grpc
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform_v1
from google.cloud.aiplatform_v1.services.dataset_service import transports
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2

from lro_emulator import Emulator, EmulatorFailure, OperationHandle, Scenario, ScenarioError, ScriptError, StartRequest

from .helpers import WALL_GUARD_SECONDS, wall

pytestmark = pytest.mark.lro_emulator(profile="vertex")

HOUR = 3600
PARENT = "projects/my-project/locations/us-central1"
Client = aiplatform_v1.DatasetServiceClient


@pytest.fixture(params=["rest", "grpc"])
def client(request: pytest.FixtureRequest, lro_emulator: Emulator) -> Iterator[Client]:
    """A DatasetServiceClient over REST or over a gRPC channel, pointed at the emulator."""
    if request.param == "rest":
        rest = Client(transport="rest", client_options={"api_endpoint": lro_emulator.url},
                      credentials=AnonymousCredentials())
        yield rest
        rest.transport.close()
    else:
        channel = grpc.insecure_channel(lro_emulator.grpc_target)
        yield Client(transport=transports.DatasetServiceGrpcTransport(channel=channel))
        channel.close()


def creates_in_an_hour(op: OperationHandle, request: StartRequest) -> None:
    """CreateDataset: the generic metadata at once, the Dataset the request described an hour later."""
    dataset = request.message["dataset"]
    op.update(metadata=aiplatform_v1.CreateDatasetOperationMetadata(
        generic_metadata=aiplatform_v1.GenericOperationMetadata(partial_failures=[])))
    op.succeed(aiplatform_v1.Dataset(name=f"{request.parent}/datasets/ds-1", display_name=dataset["displayName"],
                                     metadata_schema_uri=dataset["metadataSchemaUri"]), at=HOUR)


def new_dataset() -> aiplatform_v1.Dataset:
    return aiplatform_v1.Dataset(display_name="flowers", metadata_schema_uri="gs://schemas/image.yaml")


def test_create_dataset_returns_the_scripted_dataset_after_an_hour(lro_emulator: Emulator, client: Client) -> None:
    starter = lro_emulator.on_start(Client.create_dataset, script=creates_in_an_hour)
    started = wall()

    lro = client.create_dataset(parent=PARENT, dataset=new_dataset())
    result = lro.result(timeout=2 * HOUR)

    assert isinstance(result, aiplatform_v1.Dataset)
    assert (result.name, result.display_name) == (f"{PARENT}/datasets/ds-1", "flowers")
    assert isinstance(lro.metadata, aiplatform_v1.CreateDatasetOperationMetadata)
    op = starter.operations[0]
    assert op.name == f"{PARENT}/operations/op-1"
    assert lro_emulator.clock.now() - op.created >= timedelta(seconds=HOUR)
    assert wall() - started < WALL_GUARD_SECONDS
    polls = {call.path.split("/", 2)[1] for call in lro_emulator.calls if call.rpc == "GetOperation"}
    if client.transport.kind == "rest":
        assert polls == {"ui"}  # the first binding of the client's Operations mixin
    assert starter.method == "google.cloud.aiplatform.v1.DatasetService.CreateDataset"


def test_delete_dataset_returns_empty(lro_emulator: Emulator, client: Client) -> None:
    starter = lro_emulator.on_start(Client.delete_dataset, script=lambda op, request: op.succeed(at=60))

    lro = client.delete_dataset(name=f"{PARENT}/datasets/ds-1")

    assert lro.result(timeout=HOUR) == empty_pb2.Empty()
    # The request names the dataset; the operation goes under it, a collection Vertex AI lists operations of.
    assert starter.operations[0].name == f"{PARENT}/datasets/ds-1/operations/op-1"
    assert starter.requests[0].message == {"name": f"{PARENT}/datasets/ds-1"}


def test_a_failed_operation_raises_the_matching_api_core_exception(lro_emulator: Emulator, client: Client) -> None:
    lro_emulator.on_start(Client.create_dataset,
                          script=lambda op, request: op.fail("RESOURCE_EXHAUSTED", "quota", at=30))

    lro = client.create_dataset(parent=PARENT, dataset=new_dataset())

    with pytest.raises(exceptions.ResourceExhausted, match="quota"):
        lro.result(timeout=HOUR)


def test_the_clients_operations_mixin_works(lro_emulator: Emulator, client: Client) -> None:
    lro_emulator.on_start(Client.create_dataset, script=creates_in_an_hour)
    lro = client.create_dataset(parent=PARENT, dataset=new_dataset())
    name = lro.operation.name

    listed = client.list_operations(operations_pb2.ListOperationsRequest(name=PARENT))
    got = client.get_operation(operations_pb2.GetOperationRequest(name=name))
    waited = client.wait_operation(operations_pb2.WaitOperationRequest(name=name))
    if isinstance(waited, bytes):  # the generated gRPC transport declares no deserializer for WaitOperation
        waited = operations_pb2.Operation.FromString(waited)
    client.cancel_operation(operations_pb2.CancelOperationRequest(name=name))
    cancelled = client.get_operation(operations_pb2.GetOperationRequest(name=name))
    client.delete_operation(operations_pb2.DeleteOperationRequest(name=name))

    assert [op.name for op in listed.operations] == [name]
    assert (got.name, got.done) == (name, False)
    assert waited.name == name
    assert (cancelled.done, cancelled.error.code) == (True, 1)
    with pytest.raises(exceptions.NotFound):
        client.get_operation(operations_pb2.GetOperationRequest(name=name))
    assert {call.rpc for call in lro_emulator.calls} >= {
        "ListOperations", "GetOperation", "WaitOperation", "CancelOperation", "DeleteOperation"}


def test_the_script_that_gives_another_type_fails_the_start_at_its_line(lro_emulator: Emulator) -> None:
    def wrong(op: OperationHandle, request: StartRequest) -> None:
        op.succeed(aiplatform_v1.Model(name="m"), at=60)

    starter = lro_emulator.on_start(Client.create_dataset, script=wrong)
    client = Client(transport="rest", client_options={"api_endpoint": lro_emulator.url},
                    credentials=AnonymousCredentials())

    with pytest.raises(exceptions.InternalServerError, match=r"the script of .* raised ScriptError"):
        client.create_dataset(parent=PARENT, dataset=new_dataset())

    (problem,) = lro_emulator.problems
    assert isinstance(problem, ScriptError)
    assert str(problem) == ("google.cloud.aiplatform.v1.DatasetService.CreateDataset answers response of type "
                            "google.cloud.aiplatform.v1.Dataset, not google.cloud.aiplatform.v1.Model "
                            "(at /response/@type)")
    assert "wrong" in [frame.name for frame in traceback.extract_tb(problem.__traceback__)]
    assert starter.operations == []
    with pytest.raises(EmulatorFailure):
        lro_emulator.check()


@pytest.mark.parametrize(("call", "message"), [
    (lambda op: op.succeed(), "answers response of type google.cloud.aiplatform.v1.Dataset, not "
                              "google.protobuf.Empty (succeed() without a response answers google.protobuf.Empty)"),
    (lambda op: op.update(metadata=aiplatform_v1.DeleteOperationMetadata()),
     "answers metadata of type google.cloud.aiplatform.v1.CreateDatasetOperationMetadata, not "
     "google.cloud.aiplatform.v1.DeleteOperationMetadata"),
    (lambda op: op.on_cancel(metadata={"@type": "type.googleapis.com/google.protobuf.Struct", "value": {}}),
     "answers metadata of type google.cloud.aiplatform.v1.CreateDatasetOperationMetadata, not "
     "google.protobuf.Struct"),
])
def test_every_payload_of_another_type_is_a_script_error(
    lro_emulator: Emulator, call: Callable[[OperationHandle], object], message: str
) -> None:
    seen: list[ScriptError] = []

    def script(op: OperationHandle, request: StartRequest) -> None:
        with pytest.raises(ScriptError) as error:
            call(op)
        seen.append(error.value)
        op.succeed(aiplatform_v1.Dataset(name=f"{request.parent}/datasets/d"))  # the declared type goes

    lro_emulator.on_start(Client.create_dataset, script=script)
    Client(transport="rest", client_options={"api_endpoint": lro_emulator.url},
           credentials=AnonymousCredentials()).create_dataset(parent=PARENT, dataset=new_dataset())

    (error,) = seen
    assert message in str(error)


def test_an_operation_added_by_hand_takes_any_type(lro_emulator: Emulator) -> None:
    starter = lro_emulator.on_start(Client.create_dataset)

    lro_emulator.add_operation().succeed(aiplatform_v1.Model(name="m"))

    assert (starter.response_type, starter.metadata_type) == (
        "google.cloud.aiplatform.v1.Dataset", "google.cloud.aiplatform.v1.CreateDatasetOperationMetadata")


@pytest.mark.parametrize(("placeholder", "fault"), [
    ("{request.dataset.labels.env}", None),  # a map's key
    ("{request.dataset.metadata.schema.version}", None),  # inside a google.protobuf.Value: any path
    ("{request.dataset.createTime.seconds}", "request.dataset.createTime is a google.protobuf.Timestamp, a single "
                                             "value in JSON, so .seconds names nothing"),
    ("{request.dataset.savedQueries.name}", "request.dataset.savedQueries is a list, so .name names nothing; name an "
                                            "item: request.dataset.savedQueries[0]"),
])
def test_placeholders_follow_the_request_types_proto3_json(
    lro_emulator: Emulator, placeholder: str, fault: str | None
) -> None:
    scenario = Scenario.from_document({"starts": [{
        "method": "google.cloud.aiplatform.v1.DatasetService.CreateDataset",
        "operation": {"steps": [{"at": "1s", "response": {
            "@type": "type.googleapis.com/google.cloud.aiplatform.v1.Dataset", "displayName": placeholder}}]},
    }]})

    if fault is None:
        (starter,) = lro_emulator.load_scenario(scenario).starters
        Client(transport="rest", client_options={"api_endpoint": lro_emulator.url},
               credentials=AnonymousCredentials()).create_dataset(parent=PARENT, dataset=aiplatform_v1.Dataset(
                   display_name="d", metadata_schema_uri="gs://s", labels={"env": "prod"}))
        lro_emulator.clock.advance(1)
        shown = starter.operations[0].snapshot()["response"]["displayName"]
        assert shown == ("prod" if "labels" in placeholder else "")
    else:
        with pytest.raises(ScenarioError) as error:
            lro_emulator.load_scenario(scenario)
        assert fault in str(error.value)


@pytest.mark.lro_emulator(profile="generic")
def test_the_generic_profile_serves_the_ui_prefix_the_clients_poll(lro_emulator: Emulator) -> None:
    """The fixture's default profile stands for any service, Vertex AI's generated clients included."""
    lro_emulator.on_start(Client.create_dataset, script=creates_in_an_hour)
    client = Client(transport="rest", client_options={"api_endpoint": lro_emulator.url},
                    credentials=AnonymousCredentials())

    result = client.create_dataset(parent=PARENT, dataset=new_dataset()).result(timeout=2 * HOUR)

    assert result.name == f"{PARENT}/datasets/ds-1"
    assert {call.path.split("/", 2)[1] for call in lro_emulator.calls if call.rpc == "GetOperation"} == {"ui"}


def test_the_from_http_json_form_gets_and_cancels_only_under_published_versions(lro_emulator: Emulator) -> None:
    op = lro_emulator.add_operation()
    http = Client(transport="rest", client_options={"api_endpoint": lro_emulator.url},
                  credentials=AnonymousCredentials())._transport._session
    legacy = f"{lro_emulator.url}/v1/operations/{op.name}"

    answers = [http.get(legacy).status_code, http.post(f"{legacy}:cancel").status_code,
               http.post(f"{legacy}:wait").status_code, http.get(f"{lro_emulator.url}/v9/operations/{op.name}")
               .status_code]

    assert answers == [200, 200, 404, 404]


def test_a_binding_without_a_parent_creates_under_the_profiles_default(lro_emulator: Emulator) -> None:
    """CreateDataset's second binding, POST /v1/datasets, names no parent: the service decides where it goes."""
    starter = lro_emulator.on_start(Client.create_dataset, script=creates_in_an_hour)
    session = Client(transport="rest", client_options={"api_endpoint": lro_emulator.url},
                     credentials=AnonymousCredentials())._transport._session

    answer = session.post(f"{lro_emulator.url}/v1/datasets", json={"displayName": "d", "metadataSchemaUri": "gs://s"})

    assert answer.status_code == 200, answer.text
    assert starter.operations[0].name == f"{lro_emulator.profile.default_parent}/operations/op-1"
    assert starter.requests[0].message == {"dataset": {"displayName": "d", "metadataSchemaUri": "gs://s"}}
