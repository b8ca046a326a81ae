"""Every scenario in ``examples/`` is valid, loads what it declares, and plays out as written for real clients.

The files are found by a glob, so a new example is tested without touching this file. For each one:
``lro-emulator validate`` passes; ``emu.load_scenario`` adopts its profile and start and creates the
operations it names; each operation's timeline, walked step by step through google-api-core's REST
``AbstractOperationsClient`` over loopback under virtual time, shows every step's metadata at its
instant (or poll) and not before, cancels as its ``cancel`` says, and ends as the file scripts
(response, error, or CANCELLED), which the client's Operation future reports too. The services' own
clients, ``googleapiclient`` built from the discovery document the emulator serves, get and list the
operations of the earthengine, vertex and cancel-get-list examples. Every ``starts`` entry is called
with ``requests`` and its operation follows the template timeline.

The metadata and response types of the examples belong to client libraries this suite does not
install (Earth Engine's, Vertex AI's, AI Platform's, Dialogflow's); a client can only parse an ``Any``
whose type its process knows, so `register_service_types` registers those messages, with the real
protos' field names, as importing the libraries would. An example field the message lacks makes the
client's parse fail: the examples must use the services' real fields.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httplib2
import pytest
import requests
import yaml
from google.api_core import exceptions, operation, operations_v1
from google.api_core.operations_v1.transports.rest import OperationsRestTransport
from google.auth.credentials import AnonymousCredentials
from google.longrunning import operations_pb2
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool, empty_pb2, json_format, message_factory
from google.protobuf.message import Message
from googleapiclient import discovery

from lro_emulator import Code, Emulator
from lro_emulator.wire.proto3_json import parse_timestamp  # internal: timestamps as the wire spells them

from .helpers import console_script, merge_metadata

EXAMPLES_DIR = pathlib.Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(p for p in EXAMPLES_DIR.glob("*") if p.suffix in {".yaml", ".yml", ".json"})
# Profiles whose real service publishes a discovery document that googleapiclient builds a client from.
DISCOVERY_PROFILES = ("earthengine", "vertex", "cancel-get-list")
EMPTY = "type.googleapis.com/google.protobuf.Empty"
JSON = dict[str, Any]


def read_example(path: pathlib.Path) -> JSON:
    """The example as plain data, read independently of the emulator's own reader."""
    text = path.read_text(encoding="utf-8")
    document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    assert isinstance(document, dict), path
    return document


def example_params(profiles: tuple[str, ...] | None = None) -> list[Any]:
    """The examples (optionally of some profiles only) as test parameters named by file."""
    return [pytest.param(path, id=path.name) for path in EXAMPLES
            if profiles is None or read_example(path).get("profile", "generic") in profiles]


def operation_params(profiles: tuple[str, ...] | None = None) -> list[Any]:
    """Each operation of each example, as (file, index)."""
    return [pytest.param(path, index, id=f"{path.name}-{spec.get('name', spec.get('parent', ''))}-{index}")
            for path in EXAMPLES
            if profiles is None or read_example(path).get("profile", "generic") in profiles
            for index, spec in enumerate(read_example(path).get("operations", []))]


def collection_params(profiles: tuple[str, ...]) -> list[Any]:
    """Each collection the named operations of an example (of those profiles) are in, as (file, parent)."""
    params = []
    for path in EXAMPLES:
        document = read_example(path)
        if document.get("profile", "generic") not in profiles:
            continue
        names = [spec["name"] for spec in document.get("operations", []) if "name" in spec]
        params += [pytest.param(path, parent, id=f"{path.name}-{parent}")
                   for parent in dict.fromkeys(parent_of(name) for name in names)]
    return params


def start_params() -> list[Any]:
    """Each ``starts`` entry with an http rule, as (file, index)."""
    return [pytest.param(path, index, id=f"{path.name}-{spec['http']}")
            for path in EXAMPLES
            for index, spec in enumerate(read_example(path).get("starts", [])) if "http" in spec]


# -- the services' message types ---------------------------------------------------------------------------

_SCALARS = {"string": 9, "double": 1, "int32": 5, "int64": 3, "bool": 8, "bytes": 12}
# package -> (dependencies, {message: [(field, number, type, repeated)]}, {enum: [values]})
_SERVICE_PROTOS: dict[str, tuple[list[str], dict[str, list[tuple[str, int, str, bool]]], dict[str, list[str]]]] = {
    "google.earthengine.v1": (
        ["google/protobuf/timestamp.proto"],
        {"OperationMetadata": [
            ("state", 1, "enum:State", False), ("description", 2, "string", False), ("type", 3, "string", False),
            ("priority", 4, "int32", False), ("create_time", 5, ".google.protobuf.Timestamp", False),
            ("update_time", 6, ".google.protobuf.Timestamp", False),
            ("start_time", 7, ".google.protobuf.Timestamp", False),
            ("end_time", 8, ".google.protobuf.Timestamp", False), ("progress", 9, "double", False),
            ("attempt", 11, "int32", False), ("script_uri", 12, "string", False),
            ("destination_uris", 13, "string", True), ("batch_eecu_usage_seconds", 15, "double", False),
        ]},
        {"State": ["STATE_UNSPECIFIED", "PENDING", "RUNNING", "CANCELLING", "SUCCEEDED", "CANCELLED", "FAILED"]},
    ),
    "google.cloud.aiplatform.v1": (
        ["google/protobuf/timestamp.proto", "google/rpc/status.proto"],
        {
            "GenericOperationMetadata": [
                ("partial_failures", 1, ".google.rpc.Status", True),
                ("create_time", 2, ".google.protobuf.Timestamp", False),
                ("update_time", 3, ".google.protobuf.Timestamp", False),
            ],
            "DeployModelOperationMetadata": [
                ("generic_metadata", 1, "GenericOperationMetadata", False),
                ("deployment_stage", 2, "enum:DeploymentStage", False),
            ],
            "DeployedModel": [("id", 1, "string", False), ("model", 2, "string", False),
                              ("display_name", 3, "string", False), ("model_version_id", 18, "string", False)],
            "DeployModelResponse": [("deployed_model", 1, "DeployedModel", False)],
            "ImportDataOperationMetadata": [("generic_metadata", 1, "GenericOperationMetadata", False)],
            "ImportDataResponse": [],
            "UploadModelOperationMetadata": [("generic_metadata", 1, "GenericOperationMetadata", False)],
            "UploadModelResponse": [("model", 1, "string", False), ("model_version_id", 2, "string", False)],
        },
        {"DeploymentStage": ["DEPLOYMENT_STAGE_UNSPECIFIED", "STARTING_MODEL_SERVER", "FINISHING_UP",
                             "STARTING_DEPLOYMENT", "PREPARING_MODEL", "CREATING_SERVING_CLUSTER",
                             "ADDING_NODES_TO_CLUSTER", "GETTING_CONTAINER_IMAGE", "DEPLOYMENT_TERMINATED"]},
    ),
    "google.cloud.ml.v1": (
        ["google/protobuf/timestamp.proto"],
        {
            "Version": [("name", 1, "string", False), ("description", 2, "string", False),
                        ("is_default", 3, "bool", False), ("deployment_uri", 4, "string", False),
                        ("create_time", 5, ".google.protobuf.Timestamp", False),
                        ("runtime_version", 8, "string", False), ("state", 13, "enum:VersionState", False)],
            "OperationMetadata": [
                ("create_time", 1, ".google.protobuf.Timestamp", False),
                ("start_time", 2, ".google.protobuf.Timestamp", False),
                ("end_time", 3, ".google.protobuf.Timestamp", False),
                ("is_cancellation_requested", 4, "bool", False), ("operation_type", 5, "enum:OperationType", False),
                ("model_name", 6, "string", False), ("version", 7, "Version", False),
                ("project_number", 8, "int64", False),
            ],
        },
        {"VersionState": ["UNKNOWN", "READY", "CREATING", "FAILED", "DELETING", "UPDATING"],
         "OperationType": ["OPERATION_TYPE_UNSPECIFIED", "CREATE_VERSION", "DELETE_VERSION", "DELETE_MODEL",
                           "UPDATE_MODEL", "UPDATE_VERSION", "UPDATE_CONFIG"]},
    ),
    "google.cloud.dialogflow.v2": (
        [],
        {"ExportAgentResponse": [("agent_uri", 1, "string", False), ("agent_content", 2, "bytes", False)]},
        {},
    ),
}


def _service_file(package: str) -> descriptor_pb2.FileDescriptorProto:
    dependencies, messages, enums = _SERVICE_PROTOS[package]
    proto = descriptor_pb2.FileDescriptorProto(
        name=f"lro_emulator_tests/{package.replace('.', '/')}/examples.proto", package=package, syntax="proto3",
        dependency=dependencies,
    )
    for enum, values in enums.items():
        # The real protos' value numbers differ; proto3 JSON names the values, so only the names matter.
        proto.enum_type.add(name=enum, value=[descriptor_pb2.EnumValueDescriptorProto(name=value, number=number)
                                              for number, value in enumerate(values)])
    for message, fields in messages.items():
        described = proto.message_type.add(name=message)
        for field, number, kind, repeated in fields:
            entry = described.field.add(name=field, number=number, label=3 if repeated else 1)
            if kind in _SCALARS:
                entry.type = _SCALARS[kind]
            elif kind.startswith("enum:"):
                entry.type, entry.type_name = 14, f".{package}.{kind[5:]}"
            else:
                entry.type = 11
                entry.type_name = kind if kind.startswith(".") else f".{package}.{kind}"
    return proto


def register_service_types() -> None:
    """Register the examples' service messages in this process, unless their real libraries already did."""
    from google.protobuf import struct_pb2, timestamp_pb2  # noqa: F401  (dependencies and the Struct the examples use)
    from google.rpc import error_details_pb2, status_pb2  # noqa: F401

    pool = descriptor_pool.Default()
    for package, (_, messages, _) in _SERVICE_PROTOS.items():
        try:
            pool.FindMessageTypeByName(f"{package}.{next(iter(messages))}")
        except KeyError:
            pool.AddSerializedFile(_service_file(package).SerializeToString())


def message_class(type_url: str) -> Any:
    """The registered class of an ``@type``."""
    register_service_types()
    return message_factory.GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(type_url.split("/")[-1]))


def unpacked(value: any_pb2.Any | JSON) -> Message:
    """An Any (a message, or its proto3 JSON) as the message it packs, for comparison field by field."""
    if isinstance(value, dict):
        value = json_format.ParseDict(value, any_pb2.Any())
    message: Message = message_class(value.type_url)()
    assert value.Unpack(message), value.type_url
    return message


# -- what a file scripts -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Expected:
    """The Operation a client should see at some point of a timeline, as the file scripts it."""

    metadata: JSON | None
    done: bool = False
    response: JSON | None = None
    error: JSON | None = None  # {"code": int, "message": str, "details": [...]}

    def after(self, step: JSON) -> Expected:
        """The state once ``step`` fired: its metadata merged (or replaced, with ``@type``), done if it finishes."""
        state = dataclasses.replace(self, metadata=merge_metadata(self.metadata, step.get("metadata")))
        if "error" in step:
            error = step["error"]
            code = error["code"] if isinstance(error["code"], int) else int(Code[error["code"]])
            state.done, state.error = True, {"code": code, "message": error.get("message", ""),
                                             "details": error.get("details", [])}
        elif "response" in step or step.get("done"):
            state.done, state.response = True, step.get("response", {"@type": EMPTY})
        return state


def finishes(step: JSON) -> bool:
    """Whether a step makes the operation done."""
    return "response" in step or "error" in step or bool(step.get("done"))


def fires_at_creation(step: JSON) -> bool:
    """A step with neither trigger fires when the operation is created, and so does ``at: 0``."""
    if "afterPolls" in step:
        return False
    return "at" not in step or seconds(step["at"]) == 0


def seconds(duration: float | str) -> float:
    """A scenario duration (a number, or ``"90s"``) in seconds."""
    return float(duration[:-1]) if isinstance(duration, str) else float(duration)


def parent_of(name: str) -> str:
    """The collection an operation name is listed under."""
    return name.rsplit("/operations/", 1)[0] if "/operations/" in name else ""


# -- driving a timeline through the REST client ------------------------------------------------------------


def assert_sees(op: operations_pb2.Operation, expected: Expected) -> None:
    """The Operation the client parsed is the one ``expected`` describes, message by message."""
    assert op.done == expected.done
    if expected.metadata is None:
        assert not op.HasField("metadata")
    else:
        assert unpacked(op.metadata) == unpacked(expected.metadata)
    result = op.WhichOneof("result")
    if expected.response is not None:
        assert result == "response"
        assert unpacked(op.response) == unpacked(expected.response)
    elif expected.error is not None:
        assert result == "error"
        assert (op.error.code, op.error.message) == (expected.error["code"], expected.error["message"])
        assert [unpacked(detail) for detail in op.error.details] == [unpacked(d) for d in expected.error["details"]]
    else:
        assert result is None


class TimelineWalk:
    """Walk one operation's timeline with a real client: observe before and after every step, cancel as scripted."""

    def __init__(self, client: Any, emu: Emulator, name: str, created: datetime) -> None:
        self.client = client
        self.emu = emu
        self.name = name
        self.created = created
        self.polls = 0

    def observe(self, expected: Expected) -> None:
        op = self.client.get_operation(self.name)
        self.polls += 1
        assert op.name == self.name
        assert_sees(op, expected)

    def sleep_until(self, offset: float) -> None:
        """Let virtual time pass (``time.sleep``, as a client waits) until ``offset`` seconds after creation."""
        remaining = (self.created + timedelta(seconds=offset) - self.emu.clock.now()).total_seconds()
        if remaining > 0:
            time.sleep(remaining)
        assert self.emu.clock.now() == self.created + timedelta(seconds=offset)

    def reach(self, step: JSON, before: Expected) -> None:
        """Bring the step about, checking on the way that it has not fired early."""
        if "afterPolls" in step:
            while self.polls < step["afterPolls"]:
                self.observe(before)
        elif "at" in step:
            due = seconds(step["at"])
            elapsed = (self.emu.clock.now() - self.created).total_seconds()
            if due - elapsed > 0.001:
                self.sleep_until(due - 0.001)
                self.observe(before)
            self.sleep_until(due)

    def cancel(self, cancel: JSON, before: Expected, terminal: JSON | None) -> Expected:
        """CancelOperation as the file's ``cancel`` answers it; the state it leaves."""
        mode = cancel.get("mode", "accept")
        if mode == "refuse":
            code = cancel.get("code", "FAILED_PRECONDITION")
            code = Code(code) if isinstance(code, int) else Code[code]
            with pytest.raises(exceptions.GoogleAPICallError) as refused:
                self.client.cancel_operation(self.name)
            assert type(refused.value) is type(exceptions.from_http_status(code.http_status, ""))
            assert refused.value.message.endswith(cancel.get("message", "The operation cannot be cancelled."))
            self.observe(before)
            return before
        assert self.client.cancel_operation(self.name) is None
        if mode == "ignore":
            self.observe(before)
            return before
        after = seconds(cancel.get("after", 0))
        takes_effect = (self.emu.clock.now() - self.created).total_seconds() + after
        if terminal is not None and "at" in terminal and seconds(terminal["at"]) <= takes_effect:
            return before  # the operation finishes before the cancel takes effect: the walk goes on
        if after:
            self.observe(before)
            self.sleep_until(takes_effect - 0.001)
            self.observe(before)
            self.sleep_until(takes_effect)
        cancelled = dataclasses.replace(before, metadata=merge_metadata(before.metadata, cancel.get("metadata")),
                                        done=True,
                                        error={"code": int(Code.CANCELLED), "message": "The operation was cancelled.",
                                               "details": []})
        self.observe(cancelled)
        return cancelled

    def play(self, timeline: JSON) -> Expected:
        """Every step in order (the cancel, if any, just before the step that would finish it); the final state."""
        expected = Expected(timeline.get("metadata"))
        steps = list(timeline.get("steps", []))
        for step in [s for s in steps if fires_at_creation(s)]:
            expected = expected.after(step)
        self.observe(expected)
        cancel = timeline.get("cancel")
        for step in [s for s in steps if not fires_at_creation(s)]:
            if cancel is not None and finishes(step):
                expected, cancel = self.cancel(cancel, expected, step), None
                if expected.done:
                    return expected
            self.reach(step, expected)
            expected = expected.after(step)
            self.observe(expected)
        if cancel is not None and not expected.done:
            expected = self.cancel(cancel, expected, None)
        return expected


def assert_future_reports(client: Any, name: str, expected: Expected) -> None:
    """google-api-core's Operation future over the same client ends as the file says."""
    response_type = message_class(expected.response["@type"]) if expected.response else empty_pb2.Empty
    metadata_type = message_class(expected.metadata["@type"]) if expected.metadata else None
    future = operation.from_gapic(client.get_operation(name), client, response_type, metadata_type=metadata_type)
    assert future.done()
    assert future.metadata == (None if expected.metadata is None else unpacked(expected.metadata))
    if expected.response is not None:
        assert future.result(timeout=10) == unpacked(expected.response)
        assert not future.cancelled()
        return
    assert expected.error is not None
    with pytest.raises(exceptions.GoogleAPICallError) as failed:
        future.result(timeout=10)
    assert failed.value.grpc_status_code is not None
    assert failed.value.grpc_status_code.value[0] == expected.error["code"]
    assert failed.value.message == expected.error["message"]
    assert future.cancelled() == (expected.error["code"] == int(Code.CANCELLED))


# -- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture
def rest_operations(lro_emulator: Emulator) -> Iterator[Any]:
    """google-api-core's REST operations client over loopback, with the services' types registered."""
    register_service_types()
    # The scheme must be inside host: google-api-core's REST transport ignores url_scheme.
    transport = OperationsRestTransport(host=lro_emulator.url, credentials=AnonymousCredentials())
    yield operations_v1.AbstractOperationsClient(transport=transport)
    transport._session.close()


def discovery_client(emu: Emulator, http: httplib2.Http, version: str = "v1") -> Any:
    """The service's client as googleapiclient builds it from the document the emulator serves."""
    response, content = http.request(f"{emu.url}/$discovery/rest?version={version}")
    assert response.status == 200, content
    return discovery.build_from_document(json.loads(content), http=http)


def collection_of(client: Any, path: str) -> Any:
    """The discovery resource of a collection, named as Google's documents do: ``projects/p/locations/l``
    gives ``projects().locations()``, and the operations below it ``...operations()``."""
    resource = client
    for collection in path.split("/")[0::2] if path else []:
        resource = getattr(resource, collection)()
    return resource


# -- the directory -----------------------------------------------------------------------------------------


def test_the_examples_directory_has_an_example_of_each_profile() -> None:
    assert EXAMPLES, f"no scenario files in {EXAMPLES_DIR}"
    assert {read_example(path).get("profile", "generic") for path in EXAMPLES} == {
        "generic", "earthengine", "vertex", "cancel-get-list"}


@pytest.mark.parametrize("path", example_params())
def test_each_example_names_the_scenario_schema_and_describes_itself(path: pathlib.Path) -> None:
    document = read_example(path)
    if path.suffix == ".json":
        assert document["$schema"] == "../schemas/scenario.schema.json"
        assert (path.parent / document["$schema"]).resolve() == EXAMPLES_DIR.parent / "schemas/scenario.schema.json"
    else:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/scenario.schema.json"
    assert document["description"]


@pytest.mark.parametrize("path", example_params())
def test_validate_accepts_each_example(path: pathlib.Path) -> None:
    document = read_example(path)
    operations, starts = len(document.get("operations", [])), len(document.get("starts", []))

    result = subprocess.run([console_script(), "validate", str(path)], capture_output=True, text=True, timeout=60)

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (f"{path}: ok ({operations} operation{'s' if operations != 1 else ''}, "
                             f"{starts} starting method{'s' if starts != 1 else ''})\n")


@pytest.mark.parametrize("path", example_params())
def test_loading_each_example_creates_the_operations_it_declares(lro_emulator: Emulator, path: pathlib.Path) -> None:
    document = read_example(path)

    loaded = lro_emulator.load_scenario(path)

    assert lro_emulator.profile.name == document.get("profile", "generic")
    if "start" in document:
        assert lro_emulator.clock.now() == parse_timestamp(document["start"])
    declared = document.get("operations", [])
    assert len(loaded.operations) == len(declared)
    for handle, spec in zip(loaded.operations, declared, strict=True):
        if "name" in spec:
            assert handle.name == spec["name"]
        else:
            assert re.fullmatch(re.escape(spec["parent"]) + r"/operations/[^/]+", handle.name), handle.name
        assert handle.created == lro_emulator.clock.now()
    assert [op.name for op in lro_emulator.operations] == [op.name for op in loaded.operations]
    assert [starter.rpc for starter in loaded.starters] == [spec.get("grpc", spec.get("http"))
                                                            for spec in document.get("starts", [])]


# -- timelines through google-api-core ----------------------------------------------------------------------


@pytest.mark.parametrize(("path", "index"), operation_params())
def test_each_operation_plays_out_as_written_for_the_rest_client(
    lro_emulator: Emulator, rest_operations: Any, path: pathlib.Path, index: int
) -> None:
    spec = read_example(path)["operations"][index]
    handle = lro_emulator.load_scenario(path).operations[index]

    final = TimelineWalk(rest_operations, lro_emulator, handle.name, handle.created).play(spec)

    if final.done:
        assert_future_reports(rest_operations, handle.name, final)
    assert {call.rpc for call in lro_emulator.calls} <= {"GetOperation", "CancelOperation"}
    assert all(call.transport == "http" and call.name == handle.name for call in lro_emulator.calls)


@pytest.mark.parametrize(("path", "index"), start_params())
def test_each_starting_method_starts_operations_that_follow_its_template(
    lro_emulator: Emulator, rest_operations: Any, path: pathlib.Path, index: int
) -> None:
    spec = read_example(path)["starts"][index]
    method, template = spec["http"].split(" ", 1)
    lro_emulator.load_scenario(path)
    path_text = re.sub(r"\{(\w+)=([^}]*)\}", lambda m: m.group(2).replace("**", "a/b").replace("*", "sample"),
                       template)
    path_text = re.sub(r"\{(\w+)\}", "sample", path_text)
    parent = re.search(r"\{" + spec.get("parent", "parent") + r"=([^}]*)\}", template)
    assert parent is not None, "the examples' starts take the parent from the path"
    expected_parent = parent.group(1).replace("**", "a/b").replace("*", "sample")
    clock_at_call = lro_emulator.clock.now()

    answered = requests.request(method, f"{lro_emulator.url}{path_text}", json={"displayName": "nightly"},
                                timeout=10)

    assert answered.status_code == 200, answered.text
    started = answered.json()
    assert parent_of(started["name"]) == expected_parent
    assert started["metadata"] == spec["operation"]["metadata"]
    assert started.get("done", False) is False
    walk = TimelineWalk(rest_operations, lro_emulator, started["name"], clock_at_call)
    final = walk.play(spec["operation"])
    if final.done:
        assert_future_reports(rest_operations, started["name"], final)


# -- the services' own discovery clients ----------------------------------------------------------------------


@pytest.mark.parametrize(("path", "index"), operation_params(DISCOVERY_PROFILES))
def test_the_discovery_client_gets_each_operation_as_created(
    lro_emulator: Emulator, httplib2_http: httplib2.Http, path: pathlib.Path, index: int
) -> None:
    spec = read_example(path)["operations"][index]
    name = lro_emulator.load_scenario(path).operations[index].name
    client = discovery_client(lro_emulator, httplib2_http)
    expected = Expected(spec.get("metadata"))
    for step in spec.get("steps", []):
        if fires_at_creation(step):
            expected = expected.after(step)

    got = collection_of(client, parent_of(name)).operations().get(name=name).execute()

    assert got["name"] == name
    assert got.get("metadata") == expected.metadata
    assert got.get("done", False) is expected.done


@pytest.mark.parametrize(("path", "parent"), collection_params(DISCOVERY_PROFILES))
def test_the_discovery_client_lists_each_collection_of_the_example(
    lro_emulator: Emulator, httplib2_http: httplib2.Http, path: pathlib.Path, parent: str
) -> None:
    names = [op.name for op in lro_emulator.load_scenario(path).operations]
    operations = collection_of(discovery_client(lro_emulator, httplib2_http), parent).operations()

    listed: list[str] = []
    request = operations.list(name=parent, pageSize=2)
    for _ in range(20):
        page = request.execute()
        listed += [op["name"] for op in page.get("operations", [])]
        request = operations.list_next(request, page)
        if request is None:
            break

    assert request is None
    assert listed == [name for name in names if parent_of(name) == parent]
    assert listed
